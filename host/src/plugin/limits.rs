//! The limits every plugin call runs under, and the store-side guard that enforces the memory cap.

use serde::Deserialize;

/// Per-call limits. Defaults suit batches of tens of thousands of records.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginLimits {
    /// Wall-clock deadline of one call, in milliseconds.
    pub timeout_ms: u64,
    /// Largest linear memory one instance may have, in bytes.
    pub memory_bytes: usize,
    /// Largest answer one call may return, in bytes (annotation values, findings, state).
    pub output_bytes: usize,
    /// Most bytes of host log lines one call may write; the rest is dropped and counted.
    pub log_bytes: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self { timeout_ms: 10_000, memory_bytes: 512 << 20, output_bytes: 128 << 20, log_bytes: 64 << 10 }
    }
}

/// Enforces the memory cap and remembers that it was hit, so a trap that follows can be
/// reported as what it is.
#[derive(Debug)]
pub(crate) struct MemoryGuard {
    pub(crate) limit_bytes: usize,
    pub(crate) hit: bool,
}

impl wasmtime::ResourceLimiter for MemoryGuard {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit_bytes {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}
