//! One plugin run by itself over records or reports held in memory, outside any index: what
//! `opsloop plugin run` prints and what `opsloop plugin backtest` compares.
//!
//! In: a loaded plugin, its configuration, and batches of [`Record`]s or [`BugReport`]s. Out:
//! per batch, every record's annotations and the findings (their evidence re-pointed at
//! positions in the whole run), plus the time each kind of call took. A failing batch is an
//! error of that batch; the next batch gets a fresh instance, as in an import.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::columns::record_batch;
use crate::ingest::{BugReport, Record};
use crate::plugin::{BatchOutput, LoadedPlugin, PluginError, PluginInstance};

/// What one record (or report) was annotated with: key → value.
pub type RecordAnnotations = BTreeMap<String, String>;

/// A finding as a trial reports it, with evidence positions in the whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialFinding {
    pub kind: String,
    pub score: f64,
    pub summary: String,
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    /// Positions (0-based, across all batches) of the records or reports cited.
    pub records: Vec<u64>,
    pub reports: Vec<String>,
    pub counts: Vec<(String, u64)>,
    pub examples: Vec<String>,
    pub query: Option<String>,
}

/// The time one kind of call took, summed over the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallTime {
    pub calls: u64,
    /// Records or reports the calls were given.
    pub items: u64,
    #[serde(rename = "total_us", serialize_with = "as_micros")]
    pub total: Duration,
}

impl CallTime {
    /// Microseconds per record or report handed over (0 for calls that take none).
    pub fn micros_per_item(&self) -> f64 {
        if self.items == 0 { 0.0 } else { self.total.as_secs_f64() * 1e6 / self.items as f64 }
    }
}

fn as_micros<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_micros() as u64)
}

/// One batch's answer.
#[derive(Debug, Clone, Default)]
pub struct TrialBatch {
    /// One entry per record or report of the batch.
    pub annotations: Vec<RecordAnnotations>,
    pub findings: Vec<TrialFinding>,
}

/// One plugin instance fed batch after batch, timed.
pub struct PluginTrial {
    instance: PluginInstance,
    /// Records or reports handed over so far: the position of the next batch's first one.
    position: u64,
    /// Time by call name (`init`, `process-logs`, `process-reports`, `finish`).
    pub times: BTreeMap<&'static str, CallTime>,
}

/// The calls in the order a run makes them.
pub const CALL_ORDER: [&str; 4] = ["init", "process-logs", "process-reports", "finish"];

impl PluginTrial {
    /// The time of each call made, in [`CALL_ORDER`].
    pub fn times_in_order(&self) -> impl Iterator<Item = (&'static str, &CallTime)> {
        CALL_ORDER.into_iter().filter_map(|call| self.times.get(call).map(|time| (call, time)))
    }

    /// A fresh instance of `plugin` (no saved state) with `config`.
    pub fn new(plugin: Arc<LoadedPlugin>, config: Vec<(String, String)>) -> Self {
        Self { instance: PluginInstance::new(plugin, config, None), position: 0, times: BTreeMap::new() }
    }

    /// The plugin run.
    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        self.instance.plugin()
    }

    /// Starts the instance now, so `init`'s time and errors are its own.
    pub fn start(&mut self) -> Result<(), PluginError> {
        let started = Instant::now();
        let result = self.instance.warm_up();
        self.time("init", 0, started);
        result
    }

    /// Runs the plugin over `records` (one call).
    pub fn logs(&mut self, records: &[Record]) -> Result<TrialBatch, PluginError> {
        let indices: Vec<usize> = (0..records.len()).collect();
        let batch = record_batch(records, &indices, self.plugin().wanted_columns());
        let started = Instant::now();
        let result = self.instance.process_logs(&batch);
        self.time("process-logs", records.len(), started);
        self.answer(result, records.len())
    }

    /// Runs the plugin over `reports` (one call).
    pub fn reports(&mut self, reports: &[BugReport]) -> Result<TrialBatch, PluginError> {
        let wit: Vec<_> = reports.iter().map(super::plugin_set::to_wit_report).collect();
        let started = Instant::now();
        let result = self.instance.process_reports(&wit);
        self.time("process-reports", reports.len(), started);
        self.answer(result, reports.len())
    }

    /// Tells the plugin the input ended; returns what it concludes.
    pub fn finish(&mut self) -> Result<TrialBatch, PluginError> {
        let started = Instant::now();
        let result = self.instance.finish();
        self.time("finish", 0, started);
        self.answer(result, 0)
    }

    fn time(&mut self, call: &'static str, items: usize, started: Instant) {
        let time = self.times.entry(call).or_default();
        time.calls += 1;
        time.items += items as u64;
        time.total += started.elapsed();
    }

    fn answer(&mut self, result: Result<BatchOutput, PluginError>, len: usize) -> Result<TrialBatch, PluginError> {
        let offset = self.position;
        self.position += len as u64;
        Ok(unpack(&result?, len, offset))
    }
}

/// Turns a plugin's columnar answer into per-record maps and run-wide findings.
fn unpack(output: &BatchOutput, len: usize, offset: u64) -> TrialBatch {
    let mut annotations = vec![RecordAnnotations::new(); len];
    for column in &output.annotations {
        for (record, &value) in column.value_of.iter().enumerate().take(len) {
            if let Some(text) = column.dictionary.get(value as usize) {
                annotations[record].insert(column.key.clone(), text.clone());
            }
        }
    }
    let findings = output
        .findings
        .iter()
        .map(|finding| TrialFinding {
            kind: finding.kind.clone(),
            score: finding.score,
            summary: finding.summary.clone(),
            first_seen_ms: finding.first_seen,
            last_seen_ms: finding.last_seen,
            records: finding.evidence.records.iter().map(|&record| offset + u64::from(record)).collect(),
            reports: finding.evidence.reports.clone(),
            counts: finding.evidence.counts.clone(),
            examples: finding.evidence.examples.clone(),
            query: finding.evidence.query.clone(),
        })
        .collect();
    TrialBatch { annotations, findings }
}
