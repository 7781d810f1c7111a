//! Compiles the test plugins under `tests/plugins/` (hostile ones and fixtures) to Wasm
//! components and writes a path constant per plugin, named after its folder, into
//! `OUT_DIR/test_plugins.rs` for the integration tests and benchmarks.

#[path = "host/wasm_components.rs"]
mod wasm_components;

use std::env;
use std::path::PathBuf;

fn main() {
    let workspace = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    for watched in ["tests/plugins", "sdk", "wit"] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }
    let mut names: Vec<String> = std::fs::read_dir(workspace.join("tests/plugins"))
        .expect("read tests/plugins/")
        .map(|entry| entry.expect("read tests/plugins/ entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let packages: Vec<String> = names
        .iter()
        .map(|name| {
            let manifest = workspace.join("tests/plugins").join(name).join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest).expect("read a test plugin manifest");
            text.lines()
                .find_map(|line| line.trim().strip_prefix("name = \"")?.strip_suffix('"').map(str::to_string))
                .unwrap_or_else(|| panic!("{}: no package name", manifest.display()))
        })
        .collect();
    let package_refs: Vec<&str> = packages.iter().map(String::as_str).collect();
    let artifacts = wasm_components::build_components(&workspace, &package_refs);
    let mut source = String::new();
    for (name, artifact) in names.iter().zip(artifacts) {
        let constant = name.to_uppercase().replace('-', "_");
        source.push_str(&format!("pub const {constant}: &str = {:?};\n", artifact.display()));
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("test_plugins.rs");
    std::fs::write(out, source).expect("write test_plugins.rs");
}
