//! One live plugin instance for one partition of the data, with the state the host keeps for
//! it. Every call runs under the deadline, memory cap and output cap; an instance that traps,
//! times out or blows its memory is discarded, and the next call gets
//! a fresh one initialized from the last good state.
//!
//! The state is asked for (`snapshot`) when the host is about to save it, at a commit, not
//! after every call: a plugin with a large state (a pattern miner) would otherwise serialize
//! it once per batch.

use std::sync::Arc;

use wasmtime::{Store, Trap};

use super::bindings::{Plugin, types};
use super::error::PluginError;
use super::runtime::{LoadedPlugin, deadline_ticks};
use super::sandbox::PluginState;

/// A plugin instance for one partition.
pub struct PluginInstance {
    plugin: Arc<LoadedPlugin>,
    config: Vec<(String, String)>,
    state: Option<Vec<u8>>,
    live: Option<(Store<PluginState>, Plugin)>,
    /// Whether the live instance took calls since its state was last asked for.
    changed: bool,
    /// Instances created so far (1 + restarts after failures).
    pub instances_created: u64,
}

impl PluginInstance {
    /// An instance of `plugin` with the operator's `config`, resuming from `state`.
    pub fn new(plugin: Arc<LoadedPlugin>, config: Vec<(String, String)>, state: Option<Vec<u8>>) -> Self {
        Self { plugin, config, state, live: None, changed: false, instances_created: 0 }
    }

    /// The plugin this instance runs.
    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    /// The last state the plugin handed over.
    pub fn state(&self) -> Option<&[u8]> {
        self.state.as_deref()
    }

    /// Instantiates and initializes the plugin now rather than on the first batch.
    pub fn warm_up(&mut self) -> Result<(), PluginError> {
        self.ensure_live()
    }

    /// Analyzes a batch of records. On error the batch's output is lost, never the batch.
    pub fn process_logs(&mut self, batch: &types::RecordBatch) -> Result<types::BatchOutput, PluginError> {
        let expected = batch.len as usize;
        let output = self
            .call("process-logs", |store, plugin| plugin.opsloop_plugin_analyzer().call_process_logs(store, batch))?;
        self.check_output("process-logs", &output, expected)?;
        self.changed = true;
        Ok(output)
    }

    /// Analyzes a batch of bug reports.
    pub fn process_reports(&mut self, reports: &[types::Report]) -> Result<types::BatchOutput, PluginError> {
        let output = self.call("process-reports", |store, plugin| {
            plugin.opsloop_plugin_analyzer().call_process_reports(store, reports)
        })?;
        self.check_output("process-reports", &output, reports.len())?;
        self.changed = true;
        Ok(output)
    }

    /// Tells the plugin the input ended for now; returns what it concludes.
    pub fn finish(&mut self) -> Result<types::BatchOutput, PluginError> {
        let output = self.call("finish", |store, plugin| plugin.opsloop_plugin_analyzer().call_finish(store))?;
        self.check_output("finish", &output, 0)?;
        self.changed = true;
        Ok(output)
    }

    /// Asks the live instance for its state (if it took calls since the last time), so
    /// [`PluginInstance::state`] is current.
    pub fn take_snapshot(&mut self) -> Result<(), PluginError> {
        if !self.changed || self.live.is_none() {
            return Ok(());
        }
        self.changed = false;
        let limit = self.plugin.limits.output_bytes;
        let snapshot =
            self.call("snapshot", |store, plugin| plugin.opsloop_plugin_analyzer().call_snapshot(store).map(Ok))?;
        if let Some(bytes) = snapshot {
            if bytes.len() > limit {
                self.live = None;
                return Err(PluginError::OutputTooLarge {
                    plugin: self.plugin.name.to_string(),
                    call: "snapshot",
                    size_bytes: bytes.len(),
                    limit_bytes: limit,
                });
            }
            self.state = Some(bytes);
        }
        Ok(())
    }

    /// Makes sure an initialized instance is live.
    fn ensure_live(&mut self) -> Result<(), PluginError> {
        if self.live.is_some() {
            return Ok(());
        }
        let plugin = &self.plugin;
        let mut store =
            Store::new(&plugin.engine, PluginState::new(plugin.name.clone(), &plugin.limits, plugin.log_tap()));
        store.limiter(|state| &mut state.memory);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(deadline_ticks(plugin.limits.timeout_ms));
        store.data_mut().start_call();
        let instance = match plugin.pre.instantiate(&mut store) {
            Ok(instance) => instance,
            Err(error) => {
                return Err(classify(&plugin.name, &plugin.limits, "instantiate", &store, error));
            }
        };
        self.instances_created += 1;
        self.live = Some((store, instance));
        let config = self.config.clone();
        let state = self.state.clone();
        self.call_live("init", |store, plugin| {
            plugin.opsloop_plugin_analyzer().call_init(store, &config, state.as_deref())
        })
    }

    /// Runs `work` on a live instance under the limits and turns every failure into a
    /// [`PluginError`]; an instance that must not be trusted again is dropped.
    fn call<T>(
        &mut self,
        call: &'static str,
        work: impl FnOnce(&mut Store<PluginState>, &Plugin) -> wasmtime::Result<Result<T, types::PluginError>>,
    ) -> Result<T, PluginError> {
        self.ensure_live()?;
        self.call_live(call, work)
    }

    fn call_live<T>(
        &mut self,
        call: &'static str,
        work: impl FnOnce(&mut Store<PluginState>, &Plugin) -> wasmtime::Result<Result<T, types::PluginError>>,
    ) -> Result<T, PluginError> {
        let plugin = self.plugin.clone();
        let (store, instance) = self.live.as_mut().expect("a live instance");
        store.data_mut().start_call();
        store.set_epoch_deadline(deadline_ticks(plugin.limits.timeout_ms));
        let outcome = work(store, instance);
        store.data().end_call();
        let dropped = store.data().log_lines_dropped();
        if dropped > 0 {
            tracing::warn!(plugin = %plugin.name, call, dropped, "plugin log lines over the per-call cap were dropped");
        }
        for capability in std::mem::take(&mut store.data_mut().asked_for) {
            plugin.note_ask(capability, call);
        }
        let result = match outcome {
            Err(error) => Err(classify(&plugin.name, &plugin.limits, call, store, error)),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(reported)) => Err(PluginError::Reported {
                plugin: plugin.name.to_string(),
                call,
                message: describe_reported(&reported),
            }),
        };
        if let Err(error) = &result
            && error.poisons_instance()
        {
            self.live = None;
        }
        result
    }

    fn check_output(
        &mut self,
        call: &'static str,
        output: &types::BatchOutput,
        expected: usize,
    ) -> Result<(), PluginError> {
        let malformed = |reason: String| PluginError::Malformed { plugin: self.plugin.name.to_string(), call, reason };
        let mut size = 0usize;
        for column in &output.annotations {
            if column.value_of.len() != expected {
                return Err(malformed(format!(
                    "annotation `{}` has {} values for {expected} records",
                    column.key,
                    column.value_of.len()
                )));
            }
            let dictionary_len = column.dictionary.len() as u32;
            if let Some(bad) = column.value_of.iter().find(|&&v| v != u32::MAX && v >= dictionary_len) {
                return Err(malformed(format!(
                    "annotation `{}` points at value {bad} of a {dictionary_len}-value dictionary",
                    column.key
                )));
            }
            size += column.key.len() + column.value_of.len() * 4;
            size += column.dictionary.iter().map(String::len).sum::<usize>();
        }
        for finding in &output.findings {
            let evidence = &finding.evidence;
            size += finding.kind.len() + finding.summary.len() + 32;
            size += evidence.records.len() * 4;
            size += evidence.reports.iter().map(String::len).sum::<usize>();
            size += evidence.examples.iter().map(String::len).sum::<usize>();
            size += evidence.counts.iter().map(|(name, _)| name.len() + 8).sum::<usize>();
            size += evidence.query.as_ref().map_or(0, String::len);
            if let Some(&bad) = evidence.records.iter().find(|&&r| r as usize >= expected) {
                return Err(malformed(format!("a `{}` finding cites record {bad} of {expected}", finding.kind)));
            }
        }
        let limit = self.plugin.limits.output_bytes;
        if size > limit {
            self.live = None;
            return Err(PluginError::OutputTooLarge {
                plugin: self.plugin.name.to_string(),
                call,
                size_bytes: size,
                limit_bytes: limit,
            });
        }
        // Only keys it declared: a plugin cannot overwrite another's results (the key's owner
        // was settled at load).
        let declared = &self.plugin.description.annotates;
        if let Some(column) = output.annotations.iter().find(|column| !declared.contains(&column.key)) {
            return Err(PluginError::Undeclared {
                plugin: self.plugin.name.to_string(),
                call,
                key: column.key.clone(),
                declared: if declared.is_empty() { "nothing".into() } else { declared.join(", ") },
            });
        }
        Ok(())
    }
}

fn describe_reported(error: &types::PluginError) -> String {
    match error {
        types::PluginError::BadConfig(message) => format!("bad config: {message}"),
        types::PluginError::BadInput(message) => format!("bad input: {message}"),
        types::PluginError::Failed(message) => message.clone(),
    }
}

/// Names what stopped a call: the memory cap, the deadline, or a trap
/// (with the plugin's own last words when it left any).
fn classify(
    plugin: &str,
    limits: &super::PluginLimits,
    call: &'static str,
    store: &Store<PluginState>,
    error: wasmtime::Error,
) -> PluginError {
    let state = store.data();
    let plugin = plugin.to_string();
    if state.memory.hit {
        return PluginError::MemoryExceeded { plugin, call, limit_bytes: limits.memory_bytes };
    }
    if matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
        return PluginError::Timeout { plugin, call, limit_ms: limits.timeout_ms };
    }
    let trap = match error.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    let reason = match state.last_words() {
        Some(words) => format!("{words} ({trap})"),
        None => trap,
    };
    PluginError::Trap { plugin, call, reason }
}
