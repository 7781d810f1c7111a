//! Host-side bindings generated from `wit/` (the `opsloop:plugin@0.1.0` package).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
});

pub use self::opsloop::plugin::host::LogLevel;
pub use self::opsloop::plugin::types;
