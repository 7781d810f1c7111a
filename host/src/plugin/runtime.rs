//! One wasmtime engine for the process: it compiles components (or loads their precompiled
//! artifacts from the on-disk cache), links them once into an `InstancePre`, and keeps the
//! epoch ticking that enforces call deadlines.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

use super::bindings::{self, PluginPre};
use super::console::LogTap;
use super::error::PluginError;
use super::imports;
use super::limits::PluginLimits;
use super::sandbox::{self, PluginState};

/// How often the epoch advances; deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What a plugin says about itself, as the host keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginDescription {
    pub name: String,
    pub version: String,
    pub description: String,
    pub consumes_logs: bool,
    pub consumes_reports: bool,
    /// Record columns the plugin asked for: `timestamp`, `level`, `source`, `message`, `fields`.
    pub wants: Vec<&'static str>,
    pub annotates: Vec<String>,
    pub config: Vec<ConfigKeyDescription>,
}

/// One configuration key a plugin accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigKeyDescription {
    pub name: String,
    pub description: String,
    pub default: Option<String>,
}

/// A plugin compiled and linked, ready to be instantiated cheaply.
pub struct LoadedPlugin {
    pub(crate) description: PluginDescription,
    pub(crate) wanted: bindings::types::RecordColumns,
    pub(crate) pre: PluginPre<PluginState>,
    pub(crate) engine: Engine,
    pub(crate) limits: PluginLimits,
    pub(crate) name: Arc<str>,
    /// How often the plugin asked for a capability it does not have (answered: none), by name.
    pub(crate) asks: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
    /// Where its instances also keep their log lines, once something asked for them.
    log_tap: std::sync::OnceLock<LogTap>,
}

impl LoadedPlugin {
    /// Keeps the log lines of instances created from now on (host `log`, stdout, stderr) in
    /// the returned list, besides logging them, so a caller can show them.
    pub fn tap_logs(&self) -> LogTap {
        self.log_tap.get_or_init(LogTap::default).clone()
    }

    pub(crate) fn log_tap(&self) -> Option<LogTap> {
        self.log_tap.get().cloned()
    }

    /// Counts an ask for a capability the sandbox does not give; the first one is logged.
    pub(crate) fn note_ask(&self, capability: &'static str, call: &'static str) {
        let mut asks = self.asks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = asks.entry(capability).or_default();
        if *count == 0 {
            tracing::info!(
                plugin = %self.name,
                call,
                capability,
                "plugin asked for the {capability}; plugins have none, so it was told nothing is there (logged once)"
            );
        }
        *count += 1;
    }

    /// How often the plugin asked for each capability it does not have.
    pub fn capability_asks(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.asks.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The plugin's self-description.
    pub fn description(&self) -> &PluginDescription {
        &self.description
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limits its calls run under.
    pub fn limits(&self) -> &PluginLimits {
        &self.limits
    }

    /// Which record columns the plugin asked for.
    pub fn wanted_columns(&self) -> bindings::types::RecordColumns {
        self.wanted
    }
}

/// The process-wide plugin engine.
pub struct PluginRuntime {
    engine: Engine,
    linker: Linker<PluginState>,
    limits: PluginLimits,
    cache_dir: Option<PathBuf>,
}

/// Feeds `Hash` output into SHA-256, to key cached artifacts by the engine's configuration.
struct DigestHasher<'a>(&'a mut Sha256);

impl Hasher for DigestHasher<'_> {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl PluginRuntime {
    /// An engine whose calls run under `limits`, caching compiled artifacts in `cache_dir`
    /// (none: compile every time).
    pub fn new(limits: PluginLimits, cache_dir: Option<PathBuf>) -> Result<Self, PluginError> {
        let engine_error = |error: wasmtime::Error| PluginError::Engine(format!("{error:#}"));
        let live = limits.live_instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        // Per-component maxima are what one plugin may contain; the totals are shared by all
        // live instances, most of which are small (one module, one memory, a few tables).
        pool.total_component_instances(live)
            .total_core_instances(live.saturating_mul(16).max(limits.core_instances_per_component))
            .max_core_instances_per_component(limits.core_instances_per_component)
            .max_memories_per_component(limits.memories_per_component)
            .total_memories(live.saturating_mul(2).max(limits.memories_per_component))
            .total_tables(live.saturating_mul(8).max(limits.tables_per_component))
            .max_tables_per_component(limits.tables_per_component)
            .table_elements(limits.table_elements)
            .max_memory_size(limits.memory_bytes)
            .total_stacks(live);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .cranelift_opt_level(wasmtime::OptLevel::Speed)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(engine_error)?;
        let mut linker = Linker::new(&engine);
        sandbox::link(&mut linker).map_err(engine_error)?;
        spawn_epoch_ticker(&engine);
        Ok(Self { engine, linker, limits, cache_dir })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &PluginLimits {
        &self.limits
    }

    /// The engine, for benchmarks that compare instantiation paths.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles `wasm` (or loads its cached artifact), links it, and asks the plugin to
    /// describe itself. `origin` names the plugin in errors until it has said its name.
    pub fn load(&self, origin: &str, wasm: &[u8]) -> Result<Arc<LoadedPlugin>, PluginError> {
        let component = self.compile(origin, wasm)?;
        self.link(origin, &component)
    }

    /// Compiles `wasm`, through the on-disk artifact cache when there is one. Before a compile
    /// its imports are read: one the host does not link is named before a long compile (a
    /// cached artifact passed that check when it was compiled, so loading it skips it).
    pub fn compile(&self, origin: &str, wasm: &[u8]) -> Result<Component, PluginError> {
        let compile_error = |error: wasmtime::Error| PluginError::Compile {
            plugin: origin.to_string(),
            reason: with_limit_hint(format!("{error:#}")),
        };
        let Some(cache_dir) = &self.cache_dir else {
            check_imports(origin, wasm)?;
            return Component::new(&self.engine, wasm).map_err(compile_error);
        };
        let path = cache_dir.join(format!("{}.cwasm", self.artifact_key(wasm)));
        if path.is_file() {
            // SAFETY: the cache directory holds only artifacts this engine configuration wrote,
            // named by the hash of their source and of the engine's compatibility settings.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(component) => return Ok(component),
                Err(error) => {
                    tracing::warn!(path = %path.display(), error = %error, "discarding unusable cached plugin artifact")
                }
            }
        }
        check_imports(origin, wasm)?;
        let artifact = self.engine.precompile_component(wasm).map_err(compile_error)?;
        write_atomically(&path, &artifact)?;
        // SAFETY: the artifact was produced by this engine just now.
        unsafe { Component::deserialize(&self.engine, &artifact) }.map_err(compile_error)
    }

    /// The cache key of `wasm`: SHA-256 over the engine's compatibility hash and the bytes.
    fn artifact_key(&self, wasm: &[u8]) -> String {
        let mut digest = Sha256::new();
        std::hash::Hash::hash(&self.engine.precompile_compatibility_hash(), &mut DigestHasher(&mut digest));
        digest.update(wasm);
        digest.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Links a compiled component into an `InstancePre` and reads its self-description.
    pub fn link(&self, origin: &str, component: &Component) -> Result<Arc<LoadedPlugin>, PluginError> {
        let contract_error =
            |error: wasmtime::Error| PluginError::Contract { plugin: origin.to_string(), reason: format!("{error:#}") };
        let instance_pre = self.linker.instantiate_pre(component).map_err(contract_error)?;
        let pre = PluginPre::new(instance_pre).map_err(contract_error)?;
        let origin_name: Arc<str> = Arc::from(origin);
        let mut store = Store::new(&self.engine, PluginState::new(origin_name, &self.limits, None));
        store.limiter(|state| &mut state.memory);
        store.set_epoch_deadline(deadline_ticks(self.limits.timeout_ms));
        store.epoch_deadline_trap();
        let plugin = pre.instantiate(&mut store).map_err(contract_error)?;
        let info = plugin.opsloop_plugin_analyzer().call_describe(&mut store).map_err(|error| PluginError::Trap {
            plugin: origin.to_string(),
            call: "describe",
            reason: format!("{error:#}"),
        })?;
        let description = describe(&info);
        if description.name.trim().is_empty() {
            return Err(PluginError::Contract {
                plugin: origin.to_string(),
                reason: "it describes itself with an empty name".into(),
            });
        }
        Ok(Arc::new(LoadedPlugin {
            name: Arc::from(description.name.as_str()),
            description,
            wanted: info.wants,
            pre,
            engine: self.engine.clone(),
            limits: self.limits.clone(),
            asks: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            log_tap: std::sync::OnceLock::new(),
        }))
    }
}

/// Refuses a component that imports what the host does not link, or that is not a component.
fn check_imports(origin: &str, wasm: &[u8]) -> Result<(), PluginError> {
    let compile_error = |reason: String| PluginError::Compile { plugin: origin.to_string(), reason };
    match imports::unprovided_imports(wasm) {
        Ok(missing) if missing.is_empty() => Ok(()),
        Ok(missing) => Err(PluginError::MissingImports { plugin: origin.to_string(), missing: missing.join(", ") }),
        Err(imports::ImportsError::CoreModule) => Err(compile_error(
            "it is a core WebAssembly module, not a component (build for the wasm32-wasip2 target, or wrap it with `wasm-tools component new`)".into(),
        )),
        Err(imports::ImportsError::Unreadable(reason)) => {
            Err(compile_error(format!("it is not a readable WebAssembly component: {reason}")))
        }
    }
}

/// Names the setting to raise when a component is larger than the instance pool allows.
fn with_limit_hint(reason: String) -> String {
    let setting = if !reason.contains("pooling allocator") {
        return reason;
    } else if reason.contains("core module instances") || reason.contains("core instances") {
        "core_instances_per_component"
    } else if reason.contains("memories") {
        "memories_per_component"
    } else if reason.contains("tables") {
        "tables_per_component"
    } else {
        return format!("{reason} (see [plugins.limits] in the configuration)");
    };
    format!("{reason} (raise [plugins.limits] {setting} in the configuration)")
}

/// Ticks for a deadline of `timeout_ms`, rounded up, plus one for the tick in progress.
pub(crate) fn deadline_ticks(timeout_ms: u64) -> u64 {
    timeout_ms.div_ceil(EPOCH_TICK.as_millis() as u64).max(1) + 1
}

fn describe(info: &bindings::types::PluginInfo) -> PluginDescription {
    use bindings::types::{Inputs, RecordColumns};
    let columns = [
        (RecordColumns::TIMESTAMP, "timestamp"),
        (RecordColumns::LEVEL, "level"),
        (RecordColumns::SOURCE, "source"),
        (RecordColumns::MESSAGE, "message"),
        (RecordColumns::FIELDS, "fields"),
    ];
    PluginDescription {
        name: info.name.clone(),
        version: info.version.clone(),
        description: info.description.clone(),
        consumes_logs: info.inputs.contains(Inputs::LOGS),
        consumes_reports: info.inputs.contains(Inputs::REPORTS),
        wants: columns.iter().filter(|(flag, _)| info.wants.contains(*flag)).map(|(_, name)| *name).collect(),
        annotates: info.annotates.clone(),
        config: info
            .config
            .iter()
            .map(|key| ConfigKeyDescription {
                name: key.name.clone(),
                description: key.description.clone(),
                default: key.default_value.clone(),
            })
            .collect(),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PluginError> {
    let cache_error = |source| PluginError::Cache { path: path.to_path_buf(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(cache_error)?;
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, bytes).map_err(cache_error)?;
    std::fs::rename(&temporary, path).map_err(cache_error)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("opsloop-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn the plugin epoch thread");
}
