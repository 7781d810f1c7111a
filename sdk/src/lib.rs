//! Write an opsloop analyzer plugin: one [`Plugin`] impl plus one [`export_plugin!`] call.
//!
//! A plugin receives batches of log records ([`LogBatch`]) or bug reports ([`Report`]) and
//! returns per-record annotations and findings ([`Output`]). The same code compiles natively,
//! so it can be unit-tested with plain `cargo test`, and to a `wasm32-wasip2` component that
//! the opsloop host runs in a sandbox.
//!
//! ```
//! use opsloop_sdk::{Config, LogBatch, Output, Plugin, PluginError, PluginInfo};
//!
//! /// Tags every record whose message mentions a timeout.
//! #[derive(Default)]
//! struct TimeoutTagger {
//!     seen: u64,
//! }
//!
//! impl Plugin for TimeoutTagger {
//!     fn info() -> PluginInfo {
//!         opsloop_sdk::plugin_info("timeout-tagger", "0.1.0", "tags timeouts")
//!             .annotating(&["timeout"])
//!     }
//!
//!     fn init(_config: &Config, _state: Option<&[u8]>) -> Result<Self, PluginError> {
//!         Ok(Self::default())
//!     }
//!
//!     fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
//!         let mut output = Output::for_batch(batch);
//!         for record in batch.records() {
//!             if record.message.contains("timed out") {
//!                 self.seen += 1;
//!                 output.annotate(record.index, "timeout", "yes");
//!             }
//!         }
//!         Ok(output)
//!     }
//! }
//!
//! opsloop_sdk::export_plugin!(TimeoutTagger);
//!
//! // The same plugin, natively, as a unit test would run it:
//! let mut plugin = TimeoutTagger::init(&Config::default(), None).unwrap();
//! let batch = LogBatch::from_messages(["connect timed out", "all good"]);
//! let output = plugin.process_logs(&batch).unwrap();
//! assert_eq!(output.annotation(0, "timeout"), Some("yes"));
//! assert_eq!(output.annotation(1, "timeout"), None);
//! ```

#![warn(missing_docs)]

// The generated bindings name this crate by its public path, also from inside it.
extern crate self as opsloop_sdk;

mod batch;
mod config;
mod info;
pub mod mask;
mod output;
#[doc(hidden)]
pub mod runtime;

/// The bindings generated from `wit/` (the `opsloop:plugin` package).
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "opsloop_sdk::bindings",
        runtime_path: "opsloop_sdk::__wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

pub use batch::{LogBatch, LogRecord, NO_TIMESTAMP};
pub use bindings::opsloop::plugin::host::LogLevel;
pub use bindings::opsloop::plugin::types::{
    BatchOutput, ConfigKey, Evidence, Finding, Inputs, PluginError, PluginInfo, RecordBatch, RecordColumns, Report,
    TextColumn,
};
pub use config::Config;
pub use info::plugin_info;
pub use output::{ColumnId, Output};

/// An analyzer plugin. Implement it, then call [`export_plugin!`] with the type.
///
/// The host creates an instance with [`Plugin::init`], feeds it batches, and asks for a
/// [`Plugin::snapshot`] of its state, which it hands to the next instance (after a crash, or in
/// the next run).
pub trait Plugin: Sized + 'static {
    /// Describes the plugin: name, version, inputs, the record columns it wants, its config.
    fn info() -> PluginInfo;

    /// Builds an instance from the operator's configuration and previously saved state.
    fn init(config: &Config, state: Option<&[u8]>) -> Result<Self, PluginError>;

    /// Analyzes a batch of log records. The default does nothing.
    fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
        Ok(Output::for_batch(batch))
    }

    /// Analyzes a batch of bug reports. The default does nothing.
    fn process_reports(&mut self, reports: &[Report]) -> Result<Output, PluginError> {
        Ok(Output::with_len(reports.len()))
    }

    /// The input has ended for now: report what was waiting for more data (open sessions,
    /// a rate episode still running). Findings cannot cite batch positions here. The default
    /// reports nothing.
    fn finish(&mut self) -> Result<Output, PluginError> {
        Ok(Output::with_len(0))
    }

    /// State to keep for the next instance; `None` keeps nothing. The default keeps nothing.
    fn snapshot(&self) -> Option<Vec<u8>> {
        None
    }
}

/// 64-bit FNV-1a: a fixed, platform-independent hash for ids that must stay the same across
/// runs, builds and machines (pattern ids, group ids, feedback item ids).
pub fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Writes a line to the host's log, attributed to this plugin. Natively it goes to stderr.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    bindings::opsloop::plugin::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Exports a [`Plugin`] implementation as the component's `analyzer`.
///
/// On `wasm32` this generates the component exports; natively it expands to nothing, so the
/// plugin crate can also be used as a library in tests and benchmarks.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __OpsloopExport;

            impl $crate::bindings::exports::opsloop::plugin::analyzer::Guest for __OpsloopExport {
                fn describe() -> $crate::PluginInfo {
                    <$plugin as $crate::Plugin>::info()
                }
                fn init(
                    config: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                    state: ::std::option::Option<::std::vec::Vec<u8>>,
                ) -> ::std::result::Result<(), $crate::PluginError> {
                    $crate::runtime::init::<$plugin>(config, state)
                }
                fn process_logs(
                    batch: $crate::RecordBatch,
                ) -> ::std::result::Result<$crate::BatchOutput, $crate::PluginError> {
                    $crate::runtime::process_logs::<$plugin>(batch)
                }
                fn process_reports(
                    reports: ::std::vec::Vec<$crate::Report>,
                ) -> ::std::result::Result<$crate::BatchOutput, $crate::PluginError> {
                    $crate::runtime::process_reports::<$plugin>(reports)
                }
                fn finish() -> ::std::result::Result<$crate::BatchOutput, $crate::PluginError> {
                    $crate::runtime::finish::<$plugin>()
                }
                fn snapshot() -> ::std::option::Option<::std::vec::Vec<u8>> {
                    $crate::runtime::snapshot::<$plugin>()
                }
            }

            $crate::bindings::__export_plugin_world!(__OpsloopExport);
        };
    };
}
