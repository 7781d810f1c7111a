//! The import job: inputs are read into batches, each batch goes through the plugins, and the
//! records land in the index with their annotations; findings go to the finding store.
//!
//! Exactly once: every commit carries the checkpoints of the files read so far (see
//! [`Checkpoints`]), and plugin state is saved just before it, so an import killed at any
//! point and run again resumes where the last commit ended; a re-import reads only what a file
//! gained since.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::PipelineError;
use super::checkpoint::{Checkpoints, Resume};
use super::findings::{FindingStore, StoredFinding};
use super::plugin_set::{BatchAnalysis, PluginFailure, PluginSet, summarize_failures};
use crate::index::{LogIndex, LogWriter};
use crate::ingest::{Format, Input, ParseOptions, ReadPosition, Record, Rejections, Warnings, read_records};
use crate::plugin::PluginError;

/// Records handed to the plugins at a time.
pub const DEFAULT_BATCH_SIZE: usize = 16_384;

/// Records between commits (each commit is a durable resume point).
pub const DEFAULT_COMMIT_EVERY: usize = 500_000;

/// Indexing memory budget of an import.
const WRITER_BUDGET_BYTES: usize = 256 << 20;

/// What happened to one input.
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    pub name: String,
    pub records: u64,
    pub lines: u64,
    pub bytes: u64,
    pub format: Option<String>,
    /// What `--pattern` says to read the input the same way again, when the format learned a
    /// layout from it (`header`: `time=1+1 level=6`).
    pub layout: Option<String>,
    /// Lines already imported before and skipped this time.
    pub skipped_lines: u64,
    /// Why the input could not be read (its good lines before the failure are kept).
    pub error: Option<String>,
}

impl InputReport {
    /// An input that could not be read, and why.
    pub fn failed(name: String, skipped_lines: u64, error: String) -> Self {
        Self { name, records: 0, lines: 0, bytes: 0, format: None, layout: None, skipped_lines, error: Some(error) }
    }
}

/// The outcome of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    pub inputs: Vec<InputReport>,
    pub records: u64,
    pub rejections: Rejections,
    pub bytes: u64,
    pub elapsed: Duration,
    pub findings: u64,
    pub plugin_failures: Vec<PluginFailure>,
    /// Records deleted afterwards by the retention setting.
    pub expired: u64,
    /// Records that carried no time of their own and were stored at the import's time.
    pub undated: u64,
}

impl ImportSummary {
    /// Records per second over the whole import.
    pub fn records_per_second(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Input megabytes (10^6 bytes) per second.
    pub fn megabytes_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Whether some input could not be read at all or failed part-way.
    pub fn has_input_errors(&self) -> bool {
        self.inputs.iter().any(|input| input.error.is_some())
    }
}

/// Where an import reads from.
pub enum ImportSource {
    /// A file path, or `-` for stdin.
    Path(PathBuf),
    /// Bytes in memory, with the name they go by.
    Bytes { name: String, bytes: Vec<u8> },
}

/// How an import runs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub parse: ParseOptions,
    pub batch_size: usize,
    pub commit_every: usize,
    /// Stop at the first plugin failure (`import --strict`) and keep nothing read since the
    /// last commit, so a run after the plugin is fixed reads those records again and every
    /// stored record has been through every plugin.
    pub stop_on_plugin_failure: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            parse: ParseOptions::default(),
            batch_size: DEFAULT_BATCH_SIZE,
            commit_every: DEFAULT_COMMIT_EVERY,
            stop_on_plugin_failure: false,
        }
    }
}

/// Told after every batch: bytes read and records kept so far in this import.
pub type ProgressFn<'a> = &'a mut dyn FnMut(u64, u64);

struct Committer<'a> {
    writer: LogWriter,
    checkpoints: Checkpoints,
    plugins: &'a mut PluginSet,
    uncommitted: usize,
    /// Stands in for the time of a record without a timestamp.
    ingest_time_ms: i64,
    /// The batch the plugins annotated last, not yet handed to the index writer: its records
    /// are written while the plugins work on the next batch.
    pending: Vec<Record>,
}

impl Committer<'_> {
    /// Runs the plugins over `batch` while the batch before it goes to the index writer, so
    /// the Wasm call and building the documents use both cores; `batch` is written by the
    /// next call or by [`Committer::commit`].
    fn analyze_and_write(&mut self, mut batch: Vec<Record>) -> (BatchAnalysis, Result<(), PipelineError>) {
        let previous = std::mem::take(&mut self.pending);
        let (plugins, writer, ingest_time_ms) = (&mut *self.plugins, &mut self.writer, self.ingest_time_ms);
        let (analysis, written) = rayon::join(
            || plugins.analyze(&mut batch),
            move || previous.iter().try_for_each(|record| writer.add(record, ingest_time_ms)),
        );
        self.pending = batch;
        (analysis, written.map_err(PipelineError::from))
    }

    /// Writes the pending batch, saves the plugins' state and commits: the plugins' state,
    /// the records and the checkpoints then describe the same point of every input.
    fn commit(&mut self) -> Result<(), PipelineError> {
        for record in std::mem::take(&mut self.pending) {
            self.writer.add(&record, self.ingest_time_ms)?;
        }
        self.plugins.save_state().map_err(PipelineError::PluginState)?;
        self.writer.commit_with_payload(&self.checkpoints.to_payload())?;
        self.uncommitted = 0;
        Ok(())
    }
}

/// The failures of one plugin call in words, for [`PipelineError::PluginFailed`].
fn plugin_failure_text(failures: &[(String, PluginError)]) -> String {
    let named: Vec<String> = failures.iter().map(|(_, error)| error.to_string()).collect();
    named.join("; ")
}

/// Imports `sources` into `index` through `plugins`.
pub fn import(
    index: &LogIndex,
    plugins: &mut PluginSet,
    findings: &FindingStore,
    sources: Vec<ImportSource>,
    options: &ImportOptions,
    progress: Option<ProgressFn<'_>>,
) -> Result<ImportSummary, PipelineError> {
    let started = Instant::now();
    let ingest_time_ms = chrono::Utc::now().timestamp_millis();
    let mut committer = Committer {
        writer: index.writer(WRITER_BUDGET_BYTES)?,
        checkpoints: Checkpoints::from_payload(index.commit_payload()?.as_deref()),
        plugins,
        uncommitted: 0,
        ingest_time_ms,
        pending: Vec::new(),
    };
    // Where files were read to as the import began: a file rotated under another name is
    // recognised by it even after its old path was read again in this import.
    let checkpoints_before = committer.checkpoints.clone();
    let mut summary = ImportSummary::default();
    let mut failures: Vec<(String, PluginError)> = Vec::new();
    let mut ignore_progress = |_: u64, _: u64| {};
    let progress: ProgressFn<'_> = progress.unwrap_or(&mut ignore_progress);
    let (mut bytes_done, mut records_done) = (0u64, 0u64);
    let mut undated = 0u64;
    for source in sources {
        // (input, checkpoint key and path, where to start); a failure keeps the input's name.
        let opened = match source {
            ImportSource::Bytes { name, bytes } => Ok((Input::from_bytes(&name, bytes), None, ReadPosition::default())),
            ImportSource::Path(path) if path.as_os_str() == "-" => {
                Input::open(&path).map(|input| (input, None, ReadPosition::default())).map_err(|e| (path, e))
            }
            ImportSource::Path(path) => match open_resumable(&path, &committer.checkpoints, &checkpoints_before) {
                Ok((input, tracked, resume)) => {
                    // The last line was read before its end was written: its record goes, and
                    // the line is read again whole (both land in the same commit).
                    if let Some(open) = &resume.reread {
                        committer.writer.delete_line(&open.file, open.line)?;
                    }
                    Ok((input, tracked, resume.position))
                }
                Err(error) => Err((path, error)),
            },
        };
        let (mut input, tracked, start) = match opened {
            Ok(opened) => opened,
            Err((path, error)) => {
                let name = path.display().to_string();
                tracing::info!(input = %name, %error, "input skipped");
                summary.inputs.push(InputReport::failed(name, 0, error.to_string()));
                continue;
            }
        };
        let name = input.name.clone();
        // A binary file is refused whole (its "lines" would be garbage records), unless the
        // format is forced to raw; a resumed file was judged when it was first read.
        if start.offset == 0 && options.parse.format != Format::Raw {
            if let Some(reason) = input.binary_reason() {
                tracing::info!(input = %name, %reason, "input refused");
                let error = format!("{reason}; not imported (`--format raw` imports it anyway)");
                summary.inputs.push(InputReport::failed(name, 0, error));
                continue;
            }
        }
        let mut rejections = Rejections::default();
        let mut findings_count = 0u64;
        let records_before = records_done;
        // Reading and parsing run on their own thread, a couple of batches ahead of the
        // plugins and the index writer (the channel is bounded, so memory stays bounded).
        let (sender, receiver) = std::sync::mpsc::sync_channel::<(Vec<crate::ingest::Record>, ReadPosition)>(2);
        let parse = &options.parse;
        let batch_size = options.batch_size;
        let result = std::thread::scope(|scope| {
            let reader = scope.spawn(move || {
                let mut rejections = Rejections::default();
                let read = read_records::<PipelineError>(
                    input,
                    parse,
                    batch_size,
                    start,
                    &mut rejections,
                    |batch, position| {
                        // A closed channel means the consumer stopped on an error it reports itself.
                        sender.send((batch, position)).map_err(|_| PipelineError::Stopped)
                    },
                );
                (read, rejections)
            });
            let mut consumed: Result<(), PipelineError> = Ok(());
            // The first line of the file's last record so far: what to read again when the
            // file ends mid-line (that line may have been joined to it as a continuation).
            let mut last_record_line = None;
            for (batch, position) in receiver.iter() {
                let step = (|| -> Result<(), PipelineError> {
                    let records = batch.len();
                    undated += batch.iter().filter(|record| record.timestamp_ms.is_none()).count() as u64;
                    last_record_line = batch.last().map(|record| record.origin.line).or(last_record_line);
                    if records > 0 {
                        let (analysis, written) = committer.analyze_and_write(batch);
                        if options.stop_on_plugin_failure && !analysis.failures.is_empty() {
                            return Err(PipelineError::PluginFailed(plugin_failure_text(&analysis.failures)));
                        }
                        failures.extend(analysis.failures);
                        findings.append(&analysis.findings).map_err(|source| PipelineError::Findings {
                            path: findings.path().to_path_buf(),
                            source,
                        })?;
                        index.record_pattern_merges(&analysis.pattern_merges)?;
                        findings_count += analysis.findings.len() as u64;
                        written?;
                    }
                    // An input nothing was kept from yet is read again from where it started
                    // next time: a user who imported it with the wrong --format or --pattern
                    // (every line rejected) retries with the right one.
                    let kept_some = records > 0 || records_done > records_before;
                    if let Some((key, path)) = tracked.as_ref().filter(|_| kept_some) {
                        committer.checkpoints.advance(key, path, &name, position, last_record_line)?;
                    }
                    committer.uncommitted += records;
                    records_done += records as u64;
                    bytes_done = bytes_done.max(position.offset.saturating_sub(start.offset));
                    progress(bytes_done, records_done);
                    if committer.uncommitted >= options.commit_every {
                        committer.commit()?;
                    }
                    Ok(())
                })();
                if let Err(error) = step {
                    consumed = Err(error);
                    break;
                }
            }
            drop(receiver);
            let (read, read_rejections) = reader.join().expect("the reader thread does not panic");
            rejections = read_rejections;
            match (consumed, read) {
                (Err(error), _) => Err(error),
                (Ok(()), read) => read,
            }
        });
        // Under --strict a plugin failure keeps nothing since the last commit: returning
        // without a commit drops the writer's uncommitted records and the plugins' new state.
        if let Err(PipelineError::PluginFailed(reason)) = result {
            return Err(PipelineError::PluginFailed(format!("{name}: {reason}")));
        }
        // Whatever was read is kept, also when the input failed part-way.
        committer.commit()?;
        summary.findings += findings_count;
        summary.rejections.merge(rejections);
        let report = match result {
            Ok(read) => {
                summary.records += read.records;
                summary.bytes += read.bytes;
                InputReport {
                    name,
                    records: read.records,
                    lines: read.lines,
                    bytes: read.bytes,
                    format: read.format.map(str::to_string),
                    layout: read.layout,
                    skipped_lines: start.line,
                    error: None,
                }
            }
            Err(PipelineError::Ingest(error)) => {
                tracing::info!(input = %name, %error, "input failed; lines read before the failure are kept");
                let kept = records_done - records_before;
                summary.records += kept;
                InputReport { records: kept, ..InputReport::failed(name, start.line, error.to_string()) }
            }
            Err(other) => return Err(other),
        };
        summary.inputs.push(report);
    }
    let concluded = committer.plugins.finish();
    if options.stop_on_plugin_failure && !concluded.failures.is_empty() {
        return Err(PipelineError::PluginFailed(plugin_failure_text(&concluded.failures)));
    }
    failures.extend(concluded.failures);
    findings
        .append(&concluded.findings)
        .map_err(|source| PipelineError::Findings { path: findings.path().to_path_buf(), source })?;
    index.record_pattern_merges(&concluded.pattern_merges)?;
    summary.findings += concluded.findings.len() as u64;
    summary.undated = undated;
    committer.commit()?;
    committer.writer.finish()?;
    index.refresh()?;
    summary.plugin_failures = summarize_failures(&failures);
    summary.elapsed = started.elapsed();
    Ok(summary)
}

type Resumable = (Input, Option<(String, PathBuf)>, Resume);

/// Opens a file at its checkpoint; a file that shrank below it is read from the start.
fn open_resumable(
    path: &std::path::Path,
    checkpoints: &Checkpoints,
    before: &Checkpoints,
) -> Result<Resumable, crate::ingest::IngestError> {
    let key = std::fs::canonicalize(path)
        .map_err(|source| crate::ingest::IngestError::Open { path: path.to_path_buf(), source })?
        .display()
        .to_string();
    let resume = checkpoints.resume(&key, path, before)?;
    let tracked = Some((key, path.to_path_buf()));
    match Input::open_at(path, resume.position.offset) {
        Ok(input) => Ok((input, tracked, resume)),
        Err(_) if resume.position.offset > 0 => Ok((Input::open(path)?, tracked, Resume::default())),
        Err(error) => Err(error),
    }
}

/// What importing reports produced.
#[derive(Debug, Clone, Default)]
pub struct ReportImportSummary {
    pub reports: u64,
    /// Rows and items not stored, by reason.
    pub rejections: Rejections,
    /// Reports stored with a problem (a date that could not be read), by kind.
    pub warnings: Warnings,
    pub inputs: Vec<InputReport>,
    pub findings: u64,
    pub plugin_failures: Vec<PluginFailure>,
    pub elapsed: Duration,
}

/// Applies the group merges a report plugin reported (`ticket-group-merge` findings: the
/// bridging report first, then one report of each group it joined) to the reports of the
/// batch and to those stored before: every report of a merged group takes the bridging
/// report's group. Returns the stored reports (not in the batch) that changed, to upsert.
pub fn relabel_merged_groups(
    index: &crate::index::ReportIndex,
    batch: &mut [crate::ingest::BugReport],
    findings: &[StoredFinding],
) -> Result<Vec<crate::ingest::BugReport>, PipelineError> {
    let group_in_batch = |batch: &[crate::ingest::BugReport], id: &str| {
        batch.iter().find(|report| report.id == id).and_then(|report| report.annotations.get("group").cloned())
    };
    let mut changed: BTreeMap<String, crate::ingest::BugReport> = BTreeMap::new();
    for finding in findings.iter().filter(|finding| finding.kind == "ticket-group-merge") {
        let Some((bridge, members)) = finding.evidence.reports.split_first() else { continue };
        let Some(survivor) = group_in_batch(batch, bridge) else { continue };
        for member in members {
            let stored_group = || -> Result<Option<String>, PipelineError> {
                let quoted = member.replace('\\', "\\\\").replace('"', "\\\"");
                let found = index.search(&format!("id:\"{quoted}\""), Some(1))?;
                Ok(found.into_iter().next().and_then(|report| report.annotations.get("group").cloned()))
            };
            let old = match changed.get(member).and_then(|report| report.annotations.get("group").cloned()) {
                Some(group) => Some(group),
                None => match group_in_batch(batch, member) {
                    Some(group) => Some(group),
                    None => stored_group()?,
                },
            };
            let Some(old) = old.filter(|old| *old != survivor) else { continue };
            for report in batch.iter_mut().filter(|r| r.annotations.get("group") == Some(&old)) {
                report.annotations.insert("group".into(), survivor.clone());
            }
            for report in changed.values_mut().filter(|r| r.annotations.get("group") == Some(&old)) {
                report.annotations.insert("group".into(), survivor.clone());
            }
            for mut report in index.search(&format!("annotations.group:\"{old}\""), None)? {
                if batch.iter().any(|r| r.id == report.id) {
                    continue;
                }
                report.annotations.insert("group".into(), survivor.clone());
                changed.insert(report.id.clone(), report);
            }
        }
    }
    Ok(changed.into_values().collect())
}

/// Appends `found` to the finding store; returns how many.
pub(super) fn keep_findings(store: &FindingStore, found: &[StoredFinding]) -> Result<u64, PipelineError> {
    store.append(found).map_err(|source| PipelineError::Findings { path: store.path().to_path_buf(), source })?;
    Ok(found.len() as u64)
}

/// Most reports one plugin call is given. Grouping compares each new report with the reports
/// before it, so a call's work grows with its size, and every call runs under the plugin
/// deadline: a tracker export of any size is handed over in calls of this many.
pub const REPORTS_PER_CALL: usize = 1_000;

/// `reports` as the report plugins take them, whoever hands them over (an import, a backfill,
/// `serve`): oldest first (undated before dated), in calls of [`REPORTS_PER_CALL`], so a group
/// is founded by its oldest report whatever the input's order or size.
pub fn report_plugin_calls(
    reports: &mut [crate::ingest::BugReport],
) -> std::slice::ChunksMut<'_, crate::ingest::BugReport> {
    reports.sort_by_key(|report| report.created_ms);
    reports.chunks_mut(REPORTS_PER_CALL)
}

/// Runs the report plugins over `reports`, oldest first and [`REPORTS_PER_CALL`] at a time;
/// keeps their findings, applies the group merges they report (to reports stored by earlier
/// calls too), and upserts the reports; returns how many findings were kept.
pub(super) fn analyze_and_store_reports(
    index: &crate::index::ReportIndex,
    plugins: &mut PluginSet,
    findings: &FindingStore,
    reports: &mut [crate::ingest::BugReport],
    failures: &mut Vec<(String, PluginError)>,
) -> Result<u64, PipelineError> {
    let mut kept = 0;
    for call in report_plugin_calls(reports) {
        let analysis = plugins.analyze_reports(call);
        failures.extend(analysis.failures);
        kept += keep_findings(findings, &analysis.findings)?;
        let relabelled = relabel_merged_groups(index, call, &analysis.findings)?;
        index.upsert(call)?;
        index.upsert(&relabelled)?;
    }
    Ok(kept)
}

/// Imports bug reports from `paths` into `index` (replacing reports with the same id) through
/// the report plugins.
pub fn import_reports(
    index: &crate::index::ReportIndex,
    plugins: &mut PluginSet,
    findings: &FindingStore,
    paths: &[PathBuf],
    format: crate::ingest::ReportFormat,
) -> Result<ReportImportSummary, PipelineError> {
    let started = Instant::now();
    let mut summary = ReportImportSummary::default();
    let mut failures = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let (mut rejections, mut warnings) = (Rejections::default(), Warnings::default());
        let mut reports = match crate::ingest::read_reports(path, format, &mut rejections, &mut warnings) {
            Ok(reports) => reports,
            Err(error) => {
                tracing::info!(input = %name, %error, "input skipped");
                summary.inputs.push(InputReport::failed(name, 0, error.to_string()));
                summary.rejections.merge(rejections);
                summary.warnings.merge(warnings);
                continue;
            }
        };
        summary.findings += analyze_and_store_reports(index, plugins, findings, &mut reports, &mut failures)?;
        plugins.save_state().map_err(PipelineError::PluginState)?;
        summary.reports += reports.len() as u64;
        summary.inputs.push(InputReport {
            name,
            records: reports.len() as u64,
            lines: 0,
            bytes: 0,
            format: None,
            layout: None,
            skipped_lines: 0,
            error: None,
        });
        summary.rejections.merge(rejections);
        summary.warnings.merge(warnings);
    }
    summary.plugin_failures = summarize_failures(&failures);
    summary.elapsed = started.elapsed();
    Ok(summary)
}
