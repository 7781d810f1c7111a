//! `opsloop plugin backtest`: a new version of a plugin and the installed one, run side by side
//! over the stored history, and what the new one would change.
//!
//! In: the data directory, the installed plugin and the candidate (both loaded), the
//! configuration the installed one runs with, and an optional start time. The index and the
//! report index are first copied into a scratch directory (hard links where the file system
//! allows: tantivy never rewrites a file in place) in a directory beside them that is removed
//! afterwards, and read there; the live index, the
//! plugins' saved state and the findings are not touched. Both plugins start from no state and
//! see the same batches, oldest record first, then every stored report.
//!
//! Out: a [`BacktestReport`]: per annotation key, how many records' values changed (with
//! examples); the findings only one of the two made; and each one's time per record.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::PipelineError;
use super::import::{DEFAULT_BATCH_SIZE, REPORTS_PER_CALL};
use super::trial::{CallTime, PluginTrial, RecordAnnotations, TrialBatch, TrialFinding};
use crate::index::{LogIndex, ReportIndex};
use crate::ingest::{BugReport, Record};
use crate::plugin::{LoadedPlugin, PluginError};

/// How much of a record's text an example shows.
const EXAMPLE_CHARS: usize = 160;

/// What to run the backtest over.
#[derive(Debug, Clone)]
pub struct BacktestOptions {
    /// Only records at or after this time (ms since the epoch); reports are all taken.
    pub since_ms: Option<i64>,
    /// Examples kept per annotation key and per list of findings.
    pub examples: usize,
}

impl Default for BacktestOptions {
    fn default() -> Self {
        Self { since_ms: None, examples: 5 }
    }
}

/// One side of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestSide {
    pub name: String,
    pub version: String,
    /// Microseconds per record in `process-logs` (0 when it consumes no logs).
    pub micros_per_record: f64,
    /// Microseconds per report in `process-reports`.
    pub micros_per_report: f64,
    pub calls: BTreeMap<&'static str, CallTime>,
    /// Failed calls, each naming the batch and why.
    pub errors: Vec<String>,
}

/// One record whose value of a key differs.
#[derive(Debug, Clone, Serialize)]
pub struct ChangedValue {
    /// `file:line` of a record, or `report ID`.
    pub at: String,
    pub text: String,
    pub installed: Option<String>,
    pub candidate: Option<String>,
}

/// How one annotation key's values differ.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyDifference {
    pub key: String,
    /// Records (or reports) whose value differs in any way.
    pub changed: u64,
    /// …of which only the candidate gives a value.
    pub added: u64,
    /// …of which only the installed version gives a value.
    pub removed: u64,
    /// Records with a value from either side.
    pub annotated: u64,
    pub examples: Vec<ChangedValue>,
}

/// What the candidate would change.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestReport {
    pub installed: BacktestSide,
    pub candidate: BacktestSide,
    pub records: u64,
    pub reports: u64,
    /// Every key either side declares, in name order (keys with no change included).
    pub keys: Vec<KeyDifference>,
    /// Findings the candidate makes that the installed version does not (same kind, summary
    /// and cited records).
    pub findings_added: Vec<TrialFinding>,
    pub findings_removed: Vec<TrialFinding>,
    /// Findings both make.
    pub findings_same: u64,
}

impl BacktestReport {
    /// Whether the candidate changes nothing the installed version produces.
    pub fn is_unchanged(&self) -> bool {
        self.keys.iter().all(|key| key.changed == 0)
            && self.findings_added.is_empty()
            && self.findings_removed.is_empty()
            && self.installed.errors.len() == self.candidate.errors.len()
    }
}

/// Runs `installed` and `candidate` over a scratch copy of `data_dir`'s stored history.
pub fn backtest(
    index_dir: &Path,
    reports_dir: &Path,
    installed: Arc<LoadedPlugin>,
    candidate: Arc<LoadedPlugin>,
    config: Vec<(String, String)>,
    options: &BacktestOptions,
) -> Result<BacktestReport, PipelineError> {
    // Beside the index, so hard links work (one file system) and nothing is copied in bulk.
    let scratch_parent = index_dir.parent().unwrap_or(Path::new("."));
    let scratch = tempfile::Builder::new().prefix(".backtest-").tempdir_in(scratch_parent).map_err(scratch_error)?;
    let mut comparison = Comparison::new(&installed, &candidate, options.examples);
    let mut sides = [PluginTrial::new(installed, config.clone()), PluginTrial::new(candidate, config)];
    for (side, trial) in sides.iter_mut().enumerate() {
        if let Err(error) = trial.start() {
            comparison.errors[side].push(format!("init: {error}"));
        }
    }
    let mut records = 0u64;
    let mut reports = 0u64;
    let consumes_logs = sides.iter().any(|trial| trial.plugin().description().consumes_logs);
    if consumes_logs && index_dir.join("meta.json").is_file() {
        let copy = scratch.path().join("index");
        copy_dir(index_dir, &copy).map_err(scratch_error)?;
        let index = LogIndex::open(&copy)?;
        index.for_each_batch_oldest_first(DEFAULT_BATCH_SIZE, |mut batch| {
            if let Some(since) = options.since_ms {
                batch.retain(|record| record.timestamp_ms.is_some_and(|time| time >= since));
            }
            if batch.is_empty() {
                return Ok::<(), PipelineError>(());
            }
            let first = records;
            records += batch.len() as u64;
            let answers = sides.each_mut().map(|trial| {
                if trial.plugin().description().consumes_logs { trial.logs(&batch) } else { Ok(TrialBatch::default()) }
            });
            comparison.batch(answers, batch.len(), first, |position| record_place(&batch[position]));
            Ok(())
        })?;
    }
    let consumes_reports = sides.iter().any(|trial| trial.plugin().description().consumes_reports);
    if consumes_reports && reports_dir.join("meta.json").is_file() {
        let copy = scratch.path().join("reports");
        copy_dir(reports_dir, &copy).map_err(scratch_error)?;
        let mut stored = ReportIndex::open(&copy)?.search("*", None)?;
        stored.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then_with(|| a.id.cmp(&b.id)));
        comparison.positions_are_reports();
        for chunk in stored.chunks(REPORTS_PER_CALL) {
            let first = reports;
            reports += chunk.len() as u64;
            let answers = sides.each_mut().map(|trial| {
                if trial.plugin().description().consumes_reports {
                    trial.reports(chunk)
                } else {
                    Ok(TrialBatch::default())
                }
            });
            comparison.batch(answers, chunk.len(), first, |position| report_place(&chunk[position]));
        }
    }
    let concluded = sides.each_mut().map(PluginTrial::finish);
    comparison.batch(concluded, 0, 0, |_| unreachable!("finish annotates nothing"));
    Ok(comparison.report(&sides, records, reports))
}

fn scratch_error(error: std::io::Error) -> PipelineError {
    PipelineError::Scratch(error)
}

/// Where a record is and what it says, for an example.
fn record_place(record: &Record) -> (String, String) {
    (format!("{}:{}", record.origin.file, record.origin.line), shorten(&record.message))
}

fn report_place(report: &BugReport) -> (String, String) {
    (format!("report {}", report.id), shorten(&report.title))
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(EXAMPLE_CHARS).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// The differences found so far.
struct Comparison {
    keys: BTreeMap<String, KeyDifference>,
    /// Findings by (kind, summary, cited records): how many each side made, and one of them.
    findings: BTreeMap<(String, String, Vec<u64>, Vec<String>), ([u64; 2], TrialFinding)>,
    errors: [Vec<String>; 2],
    examples: usize,
    /// What the positions of a batch count: records first, then reports.
    unit: &'static str,
}

impl Comparison {
    fn new(installed: &LoadedPlugin, candidate: &LoadedPlugin, examples: usize) -> Self {
        let mut keys = BTreeMap::new();
        for plugin in [installed, candidate] {
            for key in &plugin.description().annotates {
                keys.insert(key.clone(), KeyDifference { key: key.clone(), ..KeyDifference::default() });
            }
        }
        Self { keys, findings: BTreeMap::new(), errors: [Vec::new(), Vec::new()], examples, unit: "records" }
    }

    fn positions_are_reports(&mut self) {
        self.unit = "reports";
    }

    /// Folds in both sides' answers for a batch of `len` items starting at position `first`.
    fn batch(
        &mut self,
        answers: [Result<TrialBatch, PluginError>; 2],
        len: usize,
        first: u64,
        place: impl Fn(usize) -> (String, String),
    ) {
        let [installed, candidate] = answers.map(|answer| answer.map_err(|error| error.to_string()));
        let batch_name = if len == 0 {
            "finish".to_string()
        } else {
            format!("{} {}–{}", self.unit, first + 1, first + len as u64)
        };
        let mut outputs = [TrialBatch::default(), TrialBatch::default()];
        for (side, answer) in [installed, candidate].into_iter().enumerate() {
            match answer {
                Ok(output) => outputs[side] = output,
                Err(error) => self.errors[side].push(format!("{batch_name}: {error}")),
            }
        }
        let empty = RecordAnnotations::new();
        for position in 0..len {
            let before = outputs[0].annotations.get(position).unwrap_or(&empty);
            let after = outputs[1].annotations.get(position).unwrap_or(&empty);
            for (key, difference) in &mut self.keys {
                let (old, new) = (before.get(key), after.get(key));
                if old.is_some() || new.is_some() {
                    difference.annotated += 1;
                }
                if old == new {
                    continue;
                }
                difference.changed += 1;
                difference.added += u64::from(old.is_none());
                difference.removed += u64::from(new.is_none());
                if difference.examples.len() < self.examples {
                    let (at, text) = place(position);
                    difference.examples.push(ChangedValue {
                        at,
                        text,
                        installed: old.cloned(),
                        candidate: new.cloned(),
                    });
                }
            }
        }
        for (side, output) in outputs.into_iter().enumerate() {
            for finding in output.findings {
                let key =
                    (finding.kind.clone(), finding.summary.clone(), finding.records.clone(), finding.reports.clone());
                self.findings.entry(key).or_insert_with(|| ([0, 0], finding)).0[side] += 1;
            }
        }
    }

    fn report(self, sides: &[PluginTrial; 2], records: u64, reports: u64) -> BacktestReport {
        let mut findings_added = Vec::new();
        let mut findings_removed = Vec::new();
        let mut findings_same = 0;
        for ([installed, candidate], finding) in self.findings.into_values() {
            findings_same += installed.min(candidate);
            for _ in candidate..installed {
                findings_removed.push(finding.clone());
            }
            for _ in installed..candidate {
                findings_added.push(finding.clone());
            }
        }
        let [installed_errors, candidate_errors] = self.errors;
        BacktestReport {
            installed: side(&sides[0], installed_errors),
            candidate: side(&sides[1], candidate_errors),
            records,
            reports,
            keys: self.keys.into_values().collect(),
            findings_added,
            findings_removed,
            findings_same,
        }
    }
}

fn side(trial: &PluginTrial, errors: Vec<String>) -> BacktestSide {
    let description = trial.plugin().description();
    let per_item = |call: &str| trial.times.get(call).map_or(0.0, CallTime::micros_per_item);
    BacktestSide {
        name: description.name.clone(),
        version: description.version.clone(),
        micros_per_record: per_item("process-logs"),
        micros_per_report: per_item("process-reports"),
        calls: trial.times.clone(),
        errors,
    }
}

/// Copies the index files of `from` into `to` (made), hard-linking where it can. `meta.json`
/// comes first: the commit it names is what is read, and its segment files are immutable.
/// Lock files are left behind: a lock taken on a hard link would be the live index's lock.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    let link = |name: &std::ffi::OsStr| {
        let (source, target) = (from.join(name), to.join(name));
        if std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target)?;
        }
        Ok::<(), std::io::Error>(())
    };
    link("meta.json".as_ref())?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if text == "meta.json" || text.starts_with('.') || text.ends_with(".lock") || !entry.file_type()?.is_file() {
            continue;
        }
        match link(&name) {
            // Merged away by a live writer since the listing: the copied commit does not name it.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}
