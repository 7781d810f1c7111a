//! The sandboxed WebAssembly plugin runtime (wasmtime, component model).
//!
//! In: component bytes (built-in, or `*.wasm` from a plugins directory) and batches of records
//! or reports in the columnar WIT form. Out: per-record annotations and findings, or a typed
//! [`PluginError`] that names the plugin and why it was stopped.
//!
//! [`PluginRuntime`] owns the one engine; [`LoadedPlugin`] is a compiled, linked plugin;
//! [`PluginInstance`] is a live instance for one partition of the data.

mod bindings;
mod builtin;
mod console;
mod error;
mod imports;
mod instance;
mod limits;
mod runtime;
mod sandbox;

pub use bindings::types::{
    AnnotationColumn, BatchOutput, Evidence, Finding, RecordBatch, RecordColumns, Report, TextColumn,
};
pub use builtin::{BUILTIN_PLUGINS, builtin_plugin};
pub use console::{LogTap, PluginLogLine};
pub use error::PluginError;
pub use imports::unprovided_imports;
pub use instance::PluginInstance;
pub use limits::PluginLimits;
pub use runtime::{ConfigKeyDescription, LoadedPlugin, PluginDescription, PluginRuntime};
