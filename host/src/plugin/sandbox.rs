//! The sandbox one plugin instance lives in: its store data, a WASI context that grants nothing,
//! the host interface it may call, and the record of what it reached for and was denied.
//!
//! WASI is linked because a `wasm32-wasip2` std guest imports it even when unused, but the
//! context has no preopened directories, no environment, no arguments, no working directory,
//! no network, frozen clocks, and stdout/stderr going to the host log under the plugin's name
//! ([`super::console`]). A
//! plugin that asks for the directories, the environment, the arguments or the working
//! directory is answered: nothing is there (as a sandbox should look, and as language runtimes
//! such as CPython expect at start, instead of a trap). The ask is recorded, so the host
//! counts it and logs it once per plugin.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, ResourceAny, ResourceTable};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::{self, LogLevel};
use super::console::{Console, LogTap, Stream, tap_line};
use super::limits::{MemoryGuard, PluginLimits};

/// The WASI version whose interfaces the host shadows to record denials.
const WASI_VERSION: &str = "0.2.12";

/// A clock stuck at the Unix epoch: plugins see no real time unless granted it.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Everything the store of one plugin instance holds.
pub(crate) struct PluginState {
    plugin: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) memory: MemoryGuard,
    console: Console,
    /// Where log lines are also kept, if anything wants them.
    tap: Option<LogTap>,
    log_bytes_left: usize,
    log_lines_dropped: u64,
    log_limit: usize,
    /// The last error-level line the plugin logged (the SDK logs panics this way).
    last_error: Option<String>,
    /// The capabilities the plugin asked for during the current call (answered: none).
    pub(crate) asked_for: Vec<&'static str>,
}

impl PluginState {
    pub(crate) fn new(plugin: Arc<str>, limits: &PluginLimits, tap: Option<LogTap>) -> Self {
        let console = Console::new(plugin.clone(), limits.log_bytes, tap.clone());
        let wasi = WasiCtxBuilder::new()
            .stdout(console.stream(Stream::Stdout))
            .stderr(console.stream(Stream::Stderr))
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .build();
        Self {
            plugin,
            wasi,
            table: ResourceTable::new(),
            memory: MemoryGuard { limit_bytes: limits.memory_bytes, table_elements: limits.table_elements, hit: false },
            console,
            tap,
            log_bytes_left: limits.log_bytes,
            log_lines_dropped: 0,
            log_limit: limits.log_bytes,
            last_error: None,
            asked_for: Vec::new(),
        }
    }

    /// Clears what one call leaves behind, before the next.
    pub(crate) fn start_call(&mut self) {
        self.memory.hit = false;
        self.asked_for.clear();
        self.last_error = None;
        self.log_bytes_left = self.log_limit;
        self.log_lines_dropped = 0;
        self.console.start_call(self.log_limit);
    }

    /// Logs the lines the plugin left unfinished when a call ended.
    pub(crate) fn end_call(&self) {
        self.console.end_call();
    }

    /// The plugin's own last words: a panic message it logged, or the end of what it wrote to
    /// stdout and stderr.
    pub(crate) fn last_words(&self) -> Option<String> {
        if let Some(message) = &self.last_error {
            return Some(message.clone());
        }
        let text = self.console.tail()?;
        let tail_start = text.len().saturating_sub(2000);
        let tail_start = (tail_start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        Some(text[tail_start..].to_string())
    }

    fn asked(&mut self, capability: &'static str) {
        if !self.asked_for.contains(&capability) {
            self.asked_for.push(capability);
        }
    }

    pub(crate) fn log_lines_dropped(&self) -> u64 {
        self.log_lines_dropped + self.console.dropped()
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl bindings::types::Host for PluginState {}

impl bindings::opsloop::plugin::host::Host for PluginState {
    fn log(&mut self, level: LogLevel, message: String) {
        if matches!(level, LogLevel::Error) {
            self.last_error = Some(message.chars().take(4000).collect());
        }
        if message.len() > self.log_bytes_left {
            self.log_lines_dropped += 1;
            return;
        }
        self.log_bytes_left -= message.len();
        let plugin = &*self.plugin;
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            LogLevel::Info => tracing::info!(plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
        let level = match level {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        tap_line(self.tap.as_ref(), level, &message);
    }
}

/// Links WASI (empty context) and the host interface, then shadows the WASI calls that hand
/// out capabilities with versions that answer "nothing there" and record the ask.
pub(crate) fn link(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    bindings::Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |state| state)?;
    linker.allow_shadowing(true);

    let mut preopens = linker.instance(&format!("wasi:filesystem/preopens@{WASI_VERSION}"))?;
    preopens.func_wrap("get-directories", |mut store: StoreContextMut<'_, PluginState>, (): ()| {
        store.data_mut().asked("file system");
        Ok((Vec::<(ResourceAny, String)>::new(),))
    })?;

    let mut environment = linker.instance(&format!("wasi:cli/environment@{WASI_VERSION}"))?;
    environment.func_wrap("get-environment", |mut store: StoreContextMut<'_, PluginState>, (): ()| {
        store.data_mut().asked("environment");
        Ok((Vec::<(String, String)>::new(),))
    })?;
    environment.func_wrap("get-arguments", |mut store: StoreContextMut<'_, PluginState>, (): ()| {
        store.data_mut().asked("arguments");
        Ok((Vec::<String>::new(),))
    })?;
    environment.func_wrap("initial-cwd", |mut store: StoreContextMut<'_, PluginState>, (): ()| {
        store.data_mut().asked("working directory");
        Ok((None::<String>,))
    })?;
    linker.allow_shadowing(false);
    Ok(())
}
