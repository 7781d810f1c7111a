//! Compiles the built-in plugins under `plugins/` to `wasm32-wasip2` components and writes
//! `builtin_plugins.rs` into `OUT_DIR`, which embeds them in the binary.
//!
//! The plugins are built by a nested cargo in its own target directory
//! (`target/wasm-plugins`), so it never waits on the outer build's lock.

#[path = "wasm_components.rs"]
mod wasm_components;

use std::env;
use std::path::PathBuf;

use wasm_components::build_components;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    let plugins_dir = workspace.join("plugins");
    for watched in ["plugins", "sdk", "wit"] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }

    let mut plugins: Vec<(String, String)> = Vec::new(); // (package name, plugin file stem)
    for entry in std::fs::read_dir(&plugins_dir).expect("read plugins/") {
        let dir = entry.expect("read plugins/ entry").path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest).expect("read plugin manifest");
        let package = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("name = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{}: no package name", manifest.display()))
            .to_string();
        let stem = dir.file_name().unwrap().to_string_lossy().into_owned();
        plugins.push((package, stem));
    }
    plugins.sort();

    let packages: Vec<&str> = plugins.iter().map(|(package, _)| package.as_str()).collect();
    let artifacts = build_components(&workspace, &packages);

    let mut source = String::from(
        "/// The built-in plugins: (file stem under plugins/, component bytes).\n\
         pub static BUILTIN_PLUGINS: &[(&str, &[u8])] = &[\n",
    );
    for ((_, stem), artifact) in plugins.iter().zip(artifacts) {
        source.push_str(&format!("    ({stem:?}, include_bytes!({:?})),\n", artifact.display()));
    }
    source.push_str("];\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("builtin_plugins.rs");
    std::fs::write(out, source).expect("write builtin_plugins.rs");
}
