//! Helpers shared by the integration tests: paths of the hostile plugins built by the suite's
//! build script, and small constructors.

#![allow(dead_code)]

/// Paths of the hostile plugin components, one constant per `tests/plugins/<name>`.
pub mod hostile {
    include!(concat!(env!("OUT_DIR"), "/hostile_plugins.rs"));
}

/// The bytes of a hostile plugin component.
pub fn hostile_plugin(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("read hostile plugin {path}: {error}"))
}
