//! What a component imports, read from its bytes before it is compiled, and which of those
//! imports the host does not provide: a toolchain's default features (componentize-js's
//! `wasi:http`) are named in milliseconds instead of failing after a 20-second compile.
//!
//! The host provides WASI 0.2 (any 0.2.x, as wasmtime matches minor versions) and the
//! `opsloop:plugin` 0.1 interfaces; `docs/plugins.md` lists them and what each one answers.

use wasmparser::{Encoding, Parser, Payload};

/// The interfaces a plugin may import, without their versions: WASI 0.2 as `wasmtime-wasi`
/// links it (capabilities answered "nothing there", see [`super::sandbox`]), and the host API.
pub const PROVIDED_INTERFACES: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:sockets/ip-name-lookup",
    "opsloop:plugin/types",
    "opsloop:plugin/host",
];

/// The version prefix of each provided package: imports at another major (or 0.x minor)
/// version are not linked.
const PROVIDED_VERSIONS: &[(&str, &str)] = &[("wasi:", "0.2."), ("opsloop:plugin/", "0.1.")];

/// Why a file's imports could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportsError {
    /// The file is a core WebAssembly module, not a component.
    CoreModule,
    /// The bytes are not WebAssembly.
    Unreadable(String),
}

/// The names a component imports at its top level, e.g. `wasi:cli/environment@0.2.3`.
pub fn component_imports(wasm: &[u8]) -> Result<Vec<String>, ImportsError> {
    let mut imports = Vec::new();
    // Nested modules and components start with their own `Version` and end with `End`.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|error| ImportsError::Unreadable(error.to_string()))?;
        match payload {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding == Encoding::Module {
                    return Err(ImportsError::CoreModule);
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 1 => {
                for import in section {
                    let import = import.map_err(|error| ImportsError::Unreadable(error.to_string()))?;
                    imports.push(import.name.0.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(imports)
}

/// Whether the host links an import of this name.
pub fn is_provided(import: &str) -> bool {
    let (interface, version) = import.split_once('@').unwrap_or((import, ""));
    PROVIDED_INTERFACES.contains(&interface)
        && PROVIDED_VERSIONS
            .iter()
            .find(|(package, _)| interface.starts_with(package))
            .is_some_and(|(_, prefix)| version.starts_with(prefix))
}

/// The imports of `wasm` the host does not provide, in the component's order.
pub fn unprovided_imports(wasm: &[u8]) -> Result<Vec<String>, ImportsError> {
    Ok(component_imports(wasm)?.into_iter().filter(|import| !is_provided(import)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_match_within_the_provided_minor() {
        assert!(is_provided("wasi:cli/environment@0.2.0"));
        assert!(is_provided("wasi:io/streams@0.2.12"));
        assert!(is_provided("opsloop:plugin/host@0.1.0"));
        assert!(!is_provided("wasi:http/types@0.2.0"));
        assert!(!is_provided("wasi:cli/environment@0.3.0"));
        assert!(!is_provided("wasi:cli/environment"));
        assert!(!is_provided("opsloop:plugin/host@0.2.0"));
    }

    #[test]
    fn a_core_module_is_named_as_one() {
        // The smallest core module: magic and version 1.
        let module = b"\0asm\x01\0\0\0";
        assert_eq!(component_imports(module), Err(ImportsError::CoreModule));
        assert!(matches!(component_imports(b"not wasm"), Err(ImportsError::Unreadable(_))));
    }
}
