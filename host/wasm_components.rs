//! Builds workspace packages to `wasm32-wasip2` components with a nested cargo, for the build
//! scripts of the host (built-in plugins) and of the suite (hostile test plugins).
//!
//! The nested cargo uses its own target directory (`wasm-plugins` in the outer build's target
//! directory), so it never waits on the outer build's lock. The `wasm32-wasip2` target is
//! installed first when it is missing (`wasm_target.rs`).

#[path = "wasm_target.rs"]
mod wasm_target;

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `packages` for `wasm32-wasip2` with the `plugin` profile; returns each `.wasm` path.
pub fn build_components(workspace: &Path, packages: &[&str]) -> Vec<PathBuf> {
    let outer_target = env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace.join("target"));
    let outer_target = if outer_target.is_relative() { workspace.join(outer_target) } else { outer_target };
    let target_dir = outer_target.join("wasm-plugins");
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    match wasm_target::ensure(Path::new(&rustc), &target_dir) {
        Ok(None) => {}
        Ok(Some(note)) => println!("cargo:warning={note}"),
        Err(message) => panic!("{message}"),
    }
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--profile", "plugin", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir);
    for package in packages {
        command.args(["-p", package]);
    }
    // The outer build's flags are for the host, not for Wasm.
    for variable in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
    ] {
        command.env_remove(variable);
    }
    for (key, _) in env::vars() {
        if key.starts_with("CARGO_PROFILE_") || key.starts_with("CARGO_ENCODED_") {
            command.env_remove(key);
        }
    }
    let output = command.output().expect("run cargo to build the Wasm plugins");
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        panic!("building the Wasm plugins failed:\n{stderr}");
    }
    packages
        .iter()
        .map(|package| {
            let path =
                target_dir.join("wasm32-wasip2").join("plugin").join(format!("{}.wasm", package.replace('-', "_")));
            assert!(path.is_file(), "expected plugin component at {}", path.display());
            path
        })
        .collect()
}
