//! Helpers shared by the integration tests: paths of the test plugins built by the suite's
//! build script.

#![allow(dead_code)]

/// Paths of the test plugin components, one constant per `tests/plugins/<name>`.
pub mod test_plugins {
    include!(concat!(env!("OUT_DIR"), "/test_plugins.rs"));
}

/// The bytes of a test plugin component.
pub fn test_plugin(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("read test plugin {path}: {error}"))
}
