//! What can go wrong with a plugin, one variant per cause, each naming the plugin.

/// A plugin failure. Traps, timeouts, memory caps, output caps and the plugin's own errors are
/// distinct (asking for a capability is not a failure: the sandbox answers that nothing is
/// there), so callers and reports can tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The bytes are not a component the engine can compile.
    #[error("plugin `{plugin}` could not be compiled: {reason}")]
    Compile { plugin: String, reason: String },
    /// The component does not export or import what the `opsloop:plugin` contract says.
    #[error("plugin `{plugin}` does not fit the opsloop:plugin@0.1.0 contract: {reason}")]
    Contract { plugin: String, reason: String },
    /// The component imports interfaces the host does not link (found before compiling).
    #[error(
        "plugin `{plugin}` imports what the host does not provide: {missing} (the host provides WASI 0.2 cli, clocks, filesystem, io, random and sockets, and opsloop:plugin 0.1; see docs/plugins.md)"
    )]
    MissingImports { plugin: String, missing: String },
    /// A call ran past its deadline and was interrupted.
    #[error("plugin `{plugin}` ran past its {limit_ms} ms deadline in `{call}` and was stopped")]
    Timeout { plugin: String, call: &'static str, limit_ms: u64 },
    /// The plugin tried to grow its memory past the cap.
    #[error("plugin `{plugin}` tried to use more than its {limit_bytes} byte memory cap in `{call}` and was stopped")]
    MemoryExceeded { plugin: String, call: &'static str, limit_bytes: usize },
    /// The plugin trapped (a panic, an abort, an out-of-bounds access...).
    #[error("plugin `{plugin}` trapped in `{call}`: {reason}")]
    Trap { plugin: String, call: &'static str, reason: String },
    /// The plugin returned more than its output cap.
    #[error("plugin `{plugin}` returned {size_bytes} bytes from `{call}`, over its {limit_bytes} byte output cap")]
    OutputTooLarge { plugin: String, call: &'static str, size_bytes: usize, limit_bytes: usize },
    /// The plugin wrote an annotation key it did not declare; its answer is refused whole.
    #[error(
        "plugin `{plugin}` wrote the annotation `{key}` in `{call}`, which it does not declare (it declares: {declared}); its answer was refused"
    )]
    Undeclared { plugin: String, call: &'static str, key: String, declared: String },
    /// The plugin reported an error of its own.
    #[error("plugin `{plugin}` reported an error in `{call}`: {message}")]
    Reported { plugin: String, call: &'static str, message: String },
    /// The plugin's answer breaks the contract (wrong lengths, bad indices).
    #[error("plugin `{plugin}` returned a malformed answer from `{call}`: {reason}")]
    Malformed { plugin: String, call: &'static str, reason: String },
    /// Reading or writing the compiled-artifact cache failed.
    #[error("plugin cache {path}: {source}")]
    Cache { path: std::path::PathBuf, source: std::io::Error },
    /// The engine itself could not be set up.
    #[error("plugin engine: {0}")]
    Engine(String),
}

impl PluginError {
    /// The plugin (its name, or the file it was loaded from) the error is about, if any.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            Self::Compile { plugin, .. }
            | Self::Contract { plugin, .. }
            | Self::MissingImports { plugin, .. }
            | Self::Timeout { plugin, .. }
            | Self::MemoryExceeded { plugin, .. }
            | Self::Trap { plugin, .. }
            | Self::OutputTooLarge { plugin, .. }
            | Self::Reported { plugin, .. }
            | Self::Undeclared { plugin, .. }
            | Self::Malformed { plugin, .. } => Some(plugin),
            Self::Cache { .. } | Self::Engine(_) => None,
        }
    }

    /// A short stable name for the kind of failure, for reports and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Compile { .. } => "compile",
            Self::Contract { .. } => "contract",
            Self::MissingImports { .. } => "imports",
            Self::Timeout { .. } => "timeout",
            Self::MemoryExceeded { .. } => "memory",
            Self::Trap { .. } => "trap",
            Self::OutputTooLarge { .. } => "output",
            Self::Reported { .. } => "reported",
            Self::Undeclared { .. } => "undeclared",
            Self::Malformed { .. } => "malformed",
            Self::Cache { .. } => "cache",
            Self::Engine(_) => "engine",
        }
    }

    /// Whether the instance that produced this error must be thrown away.
    pub fn poisons_instance(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::MemoryExceeded { .. } | Self::Trap { .. })
    }
}
