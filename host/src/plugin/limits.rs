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
    /// Most plugin instances alive at once across the process (plugins × partitions); the
    /// pooling allocator reserves slots for this many.
    pub live_instances: u32,
    /// Most core module instances one component may contain. Toolchains that bundle a language
    /// runtime need many: a CPython component from `componentize-py --stub-wasi` has 38.
    pub core_instances_per_component: u32,
    /// Most linear memories one component may define.
    pub memories_per_component: u32,
    /// Most tables one component may define.
    pub tables_per_component: u32,
    /// Most elements one table may hold (interpreters keep every function in one table).
    pub table_elements: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            memory_bytes: 512 << 20,
            output_bytes: 128 << 20,
            log_bytes: 64 << 10,
            live_instances: 256,
            core_instances_per_component: 64,
            memories_per_component: 4,
            tables_per_component: 32,
            table_elements: 100_000,
        }
    }
}

/// Enforces the memory cap and remembers that it was hit, so a trap that follows can be
/// reported as what it is.
#[derive(Debug)]
pub(crate) struct MemoryGuard {
    pub(crate) limit_bytes: usize,
    pub(crate) table_elements: usize,
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
        Ok(desired <= self.table_elements)
    }
}
