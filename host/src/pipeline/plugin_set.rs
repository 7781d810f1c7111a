//! The enabled plugins and their live instances, one per (plugin, partition); running them
//! over a batch in parallel and folding their answers back into the records.
//!
//! A batch is partitioned by source. Every (plugin, partition) pair is an independent job on
//! rayon: different plugins run side by side, and one plugin runs over several partitions at
//! once. A plugin that fails on a job is reported; the records are indexed all the same.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::columns::record_batch;
use super::findings::{RecordRef, StoredFinding};
use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::index::{PATTERN_MERGE, PatternMerge};
use crate::ingest::{BugReport, Record};
use crate::plugin::{
    AnnotationColumn, BUILTIN_PLUGINS, BatchOutput, LoadedPlugin, PluginError, PluginInstance, PluginRuntime,
    Report as WitReport,
};

/// A plugin that failed on some job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginFailure {
    pub plugin: String,
    /// The error kind: `timeout`, `memory`, `trap`, `output`, `reported`, ...
    pub kind: String,
    /// How many jobs failed this way.
    pub count: u64,
    /// The first failure's message.
    pub message: String,
}

/// What running the plugins over one batch produced, besides the annotations.
#[derive(Debug, Default)]
pub struct BatchAnalysis {
    pub findings: Vec<StoredFinding>,
    /// Patterns the pattern miner merged into others (its `pattern-merge` findings, which are
    /// not in `findings`): aliases for the index to keep ([`crate::index::LogIndex::record_pattern_merges`]).
    pub pattern_merges: Vec<PatternMerge>,
    pub failures: Vec<(String, PluginError)>,
    /// Every plugin call made: the plugin's name and how long the call took.
    pub calls: Vec<(String, std::time::Duration)>,
}

/// The enabled plugins, loaded.
pub struct PluginSet {
    runtime: PluginRuntime,
    plugins: Vec<Arc<LoadedPlugin>>,
    settings: Settings,
    state_dir: Option<PathBuf>,
    instances: HashMap<(usize, String), PluginInstance>,
    /// Plugins not called for now (`serve` suspends one that keeps timing out).
    paused: std::collections::BTreeSet<String>,
}

/// A name safe as a file name that still reads like the partition, made unique by a hash.
fn partition_file_name(partition: &str) -> String {
    let readable: String = partition
        .chars()
        .take(40)
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    let digest = Sha256::digest(partition.as_bytes());
    format!("{readable}-{:02x}{:02x}{:02x}{:02x}.state", digest[0], digest[1], digest[2], digest[3])
}

impl PluginSet {
    /// Loads the built-in plugins and every `*.wasm` in the plugins directory, minus the
    /// disabled ones. A plugin that fails to load is returned as an error beside the set.
    pub fn load(data_dir: &DataDir, settings: &Settings) -> Result<(Self, Vec<PluginError>), PluginError> {
        let runtime = PluginRuntime::new(settings.plugins.limits.clone(), Some(data_dir.plugin_cache_dir()))?;
        let mut set = Self {
            runtime,
            plugins: Vec::new(),
            settings: settings.clone(),
            state_dir: Some(data_dir.plugin_state_dir()),
            instances: HashMap::new(),
            paused: Default::default(),
        };
        let mut errors = Vec::new();
        let mut sources: Vec<(String, Vec<u8>)> =
            BUILTIN_PLUGINS.iter().map(|(stem, bytes)| (format!("built-in {stem}"), bytes.to_vec())).collect();
        let extra_dir = data_dir.plugins_dir(settings.plugins.dir.as_deref());
        match std::fs::read_dir(&extra_dir) {
            Ok(entries) => {
                let mut paths: Vec<PathBuf> = entries
                    .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                    .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
                    .collect();
                paths.sort();
                for path in paths {
                    match std::fs::read(&path) {
                        Ok(bytes) => sources.push((path.display().to_string(), bytes)),
                        Err(error) => errors.push(PluginError::Compile {
                            plugin: path.display().to_string(),
                            reason: format!("cannot read the file: {error}"),
                        }),
                    }
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                tracing::warn!(dir = %extra_dir.display(), %error, "cannot list the plugins directory")
            }
        }
        for (origin, bytes) in sources {
            match set.add(&origin, &bytes) {
                Ok(()) => {}
                Err(error) => errors.push(error),
            }
        }
        for doubt in set.config_doubts() {
            tracing::warn!("{doubt}");
        }
        Ok((set, errors))
    }

    /// The same set keeping its plugins' state in `dir` instead of the data directory's (a
    /// cluster indexer keeps one per partition, so the state moves with the partition).
    pub fn with_state_dir(mut self, dir: PathBuf) -> Self {
        self.instances.clear();
        self.state_dir = Some(dir);
        self
    }

    /// Drops the live instances of the partitions (sources) `forget` names, unsaved: the next
    /// call for one starts from its state file (a cluster indexer that lost a partition).
    pub fn forget_partitions(&mut self, forget: impl Fn(&str) -> bool) {
        self.instances.retain(|(_, partition), _| !forget(partition));
    }

    /// The file that holds `plugin`'s state for partition (source) `partition`, when states
    /// are kept.
    pub fn state_file(&self, plugin: &str, partition: &str) -> Option<PathBuf> {
        self.state_path(plugin, partition)
    }

    /// Plugin settings that reach no one: a `[plugins.config.NAME]` section for a plugin that
    /// is not loaded (a misspelt name), or a key the plugin does not take. Not errors: the
    /// plugins run with their defaults; said at load so the mistake is seen.
    pub fn config_doubts(&self) -> Vec<String> {
        let loaded: Vec<&str> = self.plugins.iter().map(|plugin| plugin.name()).collect();
        let mut doubts = Vec::new();
        for (section, pairs) in &self.settings.plugins.config {
            if self.settings.plugins.disabled.contains(section) {
                continue;
            }
            let Some(plugin) = self.plugins.iter().find(|plugin| plugin.name() == section) else {
                doubts.push(format!(
                    "[plugins.config.{section}]: no plugin named `{section}` is loaded (loaded: {}); its settings are not used",
                    loaded.join(", ")
                ));
                continue;
            };
            let takes: Vec<&str> = plugin.description().config.iter().map(|key| key.name.as_str()).collect();
            for key in pairs.keys().filter(|key| !takes.contains(&key.as_str())) {
                doubts.push(format!(
                    "[plugins.config.{section}] `{key}`: the plugin does not take this key (it takes: {}); it is not used",
                    if takes.is_empty() { "none".to_string() } else { takes.join(", ") }
                ));
            }
        }
        doubts
    }

    /// Keeps only the plugins `keep` accepts, and forgets their saved state: they start over
    /// (`opsloop analyze` re-runs them over everything stored).
    pub fn start_over(&mut self, keep: impl Fn(&str) -> bool) -> std::io::Result<()> {
        self.instances.clear();
        self.plugins.retain(|plugin| keep(plugin.name()));
        if let Some(dir) = &self.state_dir {
            for plugin in &self.plugins {
                match std::fs::remove_dir_all(dir.join(plugin.name())) {
                    Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// A set of exactly the given plugins, keeping no state on disk (for tests and benchmarks).
    pub fn from_plugins(runtime: PluginRuntime, plugins: Vec<Arc<LoadedPlugin>>) -> Self {
        Self {
            runtime,
            plugins,
            settings: Settings::default(),
            state_dir: None,
            instances: HashMap::new(),
            paused: Default::default(),
        }
    }

    /// Loads one more plugin, unless it is disabled or its name is taken.
    pub fn add(&mut self, origin: &str, wasm: &[u8]) -> Result<(), PluginError> {
        let plugin = self.runtime.load(origin, wasm)?;
        if self.settings.plugins.disabled.iter().any(|name| name == plugin.name()) {
            tracing::info!(plugin = plugin.name(), "plugin disabled by configuration");
            return Ok(());
        }
        if self.plugins.iter().any(|loaded| loaded.name() == plugin.name()) {
            return Err(PluginError::Contract {
                plugin: origin.to_string(),
                reason: format!("a plugin named `{}` is already loaded", plugin.name()),
            });
        }
        self.check_keys(origin, &plugin)?;
        self.plugins.push(plugin);
        Ok(())
    }

    /// An annotation key belongs to the first plugin that declared it (the built-in ones load
    /// first): a later plugin declaring it is refused, so it cannot overwrite another's results.
    fn check_keys(&self, origin: &str, plugin: &LoadedPlugin) -> Result<(), PluginError> {
        for key in &plugin.description().annotates {
            if let Some(owner) = self.plugins.iter().find(|loaded| {
                loaded.name() != plugin.name() && loaded.description().annotates.iter().any(|owned| owned == key)
            }) {
                return Err(PluginError::Contract {
                    plugin: origin.to_string(),
                    reason: format!(
                        "it declares the annotation `{key}`, which belongs to the plugin `{}`; declare a key of your own",
                        owner.name()
                    ),
                });
            }
        }
        Ok(())
    }

    /// Loads `wasm` and puts it in place of the loaded plugin of the same name (or beside the
    /// others when the name is new): the hot reload of a changed plugin file. The old version's
    /// state is saved first and its instances dropped, so the new one starts from that state.
    /// When `wasm` does not load, the old version stays and the error is returned.
    pub fn replace(&mut self, origin: &str, wasm: &[u8]) -> Result<String, PluginError> {
        let plugin = self.runtime.load(origin, wasm)?;
        let name = plugin.name().to_string();
        if self.settings.plugins.disabled.iter().any(|disabled| *disabled == name) {
            return Ok(name);
        }
        self.check_keys(origin, &plugin)?;
        match self.plugins.iter().position(|loaded| loaded.name() == name) {
            Some(index) => {
                self.save_state().map_err(|error| PluginError::Contract {
                    plugin: origin.to_string(),
                    reason: format!("cannot save the running version's state: {error}"),
                })?;
                self.instances.retain(|(plugin_index, _), _| *plugin_index != index);
                self.plugins[index] = plugin;
            }
            None => self.plugins.push(plugin),
        }
        Ok(name)
    }

    /// The loaded plugins.
    pub fn plugins(&self) -> &[Arc<LoadedPlugin>] {
        &self.plugins
    }

    /// Calls no plugin named in `names` until the next call of this; the others as before.
    pub fn pause_only<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        self.paused = names.into_iter().map(str::to_string).collect();
    }

    fn is_paused(&self, plugin_index: usize) -> bool {
        !self.paused.is_empty() && self.paused.contains(self.plugins[plugin_index].name())
    }

    /// Keeps only the plugin named `name`; false when there is none.
    pub fn retain_only(&mut self, name: &str) -> bool {
        self.plugins.retain(|plugin| plugin.name() == name);
        self.instances.clear();
        !self.plugins.is_empty()
    }

    fn state_path(&self, plugin: &str, partition: &str) -> Option<PathBuf> {
        self.state_dir.as_ref().map(|dir| dir.join(plugin).join(partition_file_name(partition)))
    }

    fn instance(&mut self, plugin_index: usize, partition: &str) -> PluginInstance {
        if let Some(instance) = self.instances.remove(&(plugin_index, partition.to_string())) {
            return instance;
        }
        let plugin = self.plugins[plugin_index].clone();
        let state = self.state_path(plugin.name(), partition).and_then(|path| std::fs::read(path).ok());
        let config = self.settings.plugin_config(plugin.name());
        PluginInstance::new(plugin, config, state)
    }

    /// Runs every log plugin over `records`, partitioned by source, and writes their
    /// annotations into the records.
    pub fn analyze(&mut self, records: &mut [Record]) -> BatchAnalysis {
        // Grouped by a borrowed source name: no string is copied per record.
        let mut by_source: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (index, record) in records.iter().enumerate() {
            by_source.entry(record.source.as_str()).or_default().push(index);
        }
        let partitions: Vec<(String, Vec<usize>)> =
            by_source.into_iter().map(|(source, indices)| (source.to_string(), indices)).collect();
        let mut jobs = Vec::new();
        for plugin_index in 0..self.plugins.len() {
            if !self.plugins[plugin_index].description().consumes_logs || self.is_paused(plugin_index) {
                continue;
            }
            for (partition, indices) in &partitions {
                jobs.push((plugin_index, partition.clone(), self.instance(plugin_index, partition), indices));
            }
        }
        let shared: &[Record] = records;
        let results: Vec<_> = jobs
            .into_par_iter()
            .map(|(plugin_index, partition, mut instance, indices)| {
                let started = std::time::Instant::now();
                let batch = record_batch(shared, indices, instance.plugin().wanted_columns());
                let result = instance.process_logs(&batch);
                (plugin_index, partition, instance, indices, result, started.elapsed())
            })
            .collect();
        let mut analysis = BatchAnalysis::default();
        let mut outputs = Vec::new();
        for (plugin_index, partition, instance, indices, result, took) in results {
            let plugin_name = self.plugins[plugin_index].name().to_string();
            analysis.calls.push((plugin_name.clone(), took));
            match result {
                Ok(output) => outputs.push((plugin_name, partition.clone(), indices, output)),
                Err(error) => {
                    tracing::warn!(plugin = %plugin_name, partition = %partition, kind = error.kind(), error = %error, "plugin failed on a batch; its records are indexed without its annotations");
                    analysis.failures.push((plugin_name, error));
                }
            }
            self.instances.insert((plugin_index, partition), instance);
        }
        for (plugin, partition, indices, output) in outputs {
            apply(records, &plugin, &partition, indices, output, &mut analysis.findings);
        }
        analysis.pattern_merges = self.take_pattern_merges(&mut analysis.findings);
        analysis
    }

    /// Moves the `pattern-merge` findings of the plugin that annotates `pattern` out of
    /// `findings`: they are aliases for the index to keep, not findings to show. Another
    /// plugin's finding of that kind stays an ordinary finding.
    fn take_pattern_merges(&self, findings: &mut Vec<StoredFinding>) -> Vec<PatternMerge> {
        let owner =
            self.plugins.iter().find(|plugin| plugin.description().annotates.iter().any(|key| key == "pattern"));
        let Some(owner) = owner.map(|plugin| plugin.name()) else { return Vec::new() };
        if !findings.iter().any(|finding| finding.kind == PATTERN_MERGE && finding.plugin == owner) {
            return Vec::new();
        }
        let mut merges = Vec::new();
        findings.retain(|finding| {
            if finding.kind != PATTERN_MERGE || finding.plugin != owner {
                return true;
            }
            let examples = &finding.evidence.examples;
            match (examples.first(), examples.get(1)) {
                (Some(from), Some(into)) if !from.is_empty() && !into.is_empty() && from != into => {
                    merges.push(PatternMerge {
                        source: finding.source.clone(),
                        from: from.clone(),
                        into: into.clone(),
                        template: examples.get(2).cloned().unwrap_or_default(),
                    });
                }
                _ => tracing::warn!(plugin = %owner, partition = %finding.source, "a pattern-merge finding without the two ids was dropped"),
            }
            false
        });
        merges
    }

    /// Runs every report plugin over `reports` (one partition, `reports`) and writes their
    /// annotations into the reports.
    pub fn analyze_reports(&mut self, reports: &mut [BugReport]) -> BatchAnalysis {
        const PARTITION: &str = "reports";
        let wit_reports: Vec<WitReport> = reports.iter().map(to_wit_report).collect();
        let mut analysis = BatchAnalysis::default();
        for plugin_index in 0..self.plugins.len() {
            if !self.plugins[plugin_index].description().consumes_reports || self.is_paused(plugin_index) {
                continue;
            }
            let mut instance = self.instance(plugin_index, PARTITION);
            let plugin_name = self.plugins[plugin_index].name().to_string();
            let started = std::time::Instant::now();
            let result = instance.process_reports(&wit_reports);
            analysis.calls.push((plugin_name.clone(), started.elapsed()));
            match result {
                Ok(output) => {
                    each_annotation(output.annotations, |position, key, value| {
                        reports[position].annotations.insert(key.to_string(), value.to_string());
                    });
                    for finding in output.findings {
                        let mut cited: Vec<String> = finding
                            .evidence
                            .records
                            .iter()
                            .filter_map(|&i| reports.get(i as usize))
                            .map(|r| r.id.clone())
                            .collect();
                        cited.extend(finding.evidence.reports.iter().cloned());
                        analysis.findings.push(StoredFinding::from_plugin(
                            &plugin_name,
                            PARTITION,
                            finding,
                            Vec::new(),
                            cited,
                        ));
                    }
                }
                Err(error) => {
                    tracing::warn!(plugin = %plugin_name, kind = error.kind(), error = %error, "plugin failed on reports; they are indexed without its annotations");
                    analysis.failures.push((plugin_name, error));
                }
            }
            self.instances.insert((plugin_index, PARTITION.to_string()), instance);
        }
        analysis
    }

    /// Tells every live instance that the input ended for now and collects what they conclude
    /// (sessions still open, episodes still running). Evidence here cites no batch positions.
    pub fn finish(&mut self) -> BatchAnalysis {
        let mut keys: Vec<(usize, String)> = self.instances.keys().cloned().collect();
        keys.sort();
        let mut analysis = BatchAnalysis::default();
        for key in keys {
            let Some(instance) = self.instances.get_mut(&key) else { continue };
            let plugin_name = self.plugins[key.0].name().to_string();
            match instance.finish() {
                Ok(output) => analysis.findings.extend(output.findings.into_iter().map(|finding| {
                    let reports = finding.evidence.reports.clone();
                    StoredFinding::from_plugin(&plugin_name, &key.1, finding, Vec::new(), reports)
                })),
                Err(error) => {
                    tracing::warn!(plugin = %plugin_name, partition = %key.1, kind = error.kind(), error = %error, "plugin failed to finish");
                    analysis.pattern_merges = self.take_pattern_merges(&mut analysis.findings);
                    analysis.failures.push((plugin_name, error));
                }
            }
        }
        analysis.pattern_merges = self.take_pattern_merges(&mut analysis.findings);
        analysis
    }

    /// Asks every live instance for its state and writes it to the data directory.
    pub fn save_state(&mut self) -> std::io::Result<()> {
        for ((plugin_index, partition), instance) in &mut self.instances {
            if let Err(error) = instance.take_snapshot() {
                let plugin = self.plugins[*plugin_index].name();
                tracing::warn!(%plugin, %partition, kind = error.kind(), %error, "plugin state not saved; the last saved state stays");
            }
        }
        for ((plugin_index, partition), instance) in &self.instances {
            let Some(state) = instance.state() else {
                continue;
            };
            let Some(path) = self.state_path(self.plugins[*plugin_index].name(), partition) else {
                continue;
            };
            write_file_atomically(&path, state)?;
        }
        Ok(())
    }
}

pub(crate) fn to_wit_report(report: &BugReport) -> WitReport {
    WitReport {
        id: report.id.clone(),
        title: report.title.clone(),
        body: report.body.clone(),
        created: report.created_ms,
        reporter: report.reporter.clone(),
        labels: report.labels.clone(),
        status: report.status.clone(),
        stack_trace: report.stack_trace.clone(),
        version: report.version.clone(),
        component: report.component.clone(),
    }
}

fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

/// Folds one plugin's answer for one partition back into the records.
fn apply(
    records: &mut [Record],
    plugin: &str,
    partition: &str,
    indices: &[usize],
    output: BatchOutput,
    findings: &mut Vec<StoredFinding>,
) {
    each_annotation(output.annotations, |position, key, value| {
        records[indices[position]].annotations.insert(key.clone(), value.clone());
    });
    for finding in output.findings {
        let cited = finding
            .evidence
            .records
            .iter()
            .map(|&position| {
                let origin = &records[indices[position as usize]].origin;
                RecordRef { file: origin.file.clone(), line: origin.line }
            })
            .collect();
        let reports = finding.evidence.reports.clone();
        findings.push(StoredFinding::from_plugin(plugin, partition, finding, cited, reports));
    }
}

/// Calls `set(position, key, value)` for every value a plugin's dictionary-encoded annotation
/// columns give a position of its batch. Each key and distinct value is made a shared string
/// once, so a record costs two reference counts, not two allocations.
fn each_annotation(columns: Vec<AnnotationColumn>, mut set: impl FnMut(usize, &Arc<str>, &Arc<str>)) {
    for column in columns {
        let key: Arc<str> = column.key.into();
        let dictionary: Vec<Arc<str>> = column.dictionary.into_iter().map(Arc::from).collect();
        for (position, &value_index) in column.value_of.iter().enumerate() {
            if let Some(value) = dictionary.get(value_index as usize) {
                set(position, &key, value);
            }
        }
    }
}

/// Folds per-job failures into one line per (plugin, kind).
pub fn summarize_failures(failures: &[(String, PluginError)]) -> Vec<PluginFailure> {
    let mut folded: BTreeMap<(String, String), PluginFailure> = BTreeMap::new();
    for (plugin, error) in failures {
        let kind = error.kind().to_string();
        folded
            .entry((plugin.clone(), kind.clone()))
            .and_modify(|failure| failure.count += 1)
            .or_insert_with(|| PluginFailure { plugin: plugin.clone(), kind, count: 1, message: error.to_string() });
    }
    folded.into_values().collect()
}
