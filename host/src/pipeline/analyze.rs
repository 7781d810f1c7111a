//! `opsloop analyze`: runs plugins again over what is already stored: a backfill after a
//! plugin was added, changed or configured anew.
//!
//! In: the data directory and which plugins (all enabled ones, or one by name). The chosen
//! plugins start over: their saved state and their findings are dropped. Every stored log
//! record is read oldest first, stripped of the chosen plugins' annotations, analyzed in
//! batches and written back; the old records are deleted in the same commit, which keeps the
//! file checkpoints, so the index changes all at once or not at all. Stored reports are
//! re-analyzed the same way and upserted. Out: an [`AnalyzeSummary`].
//!
//! It takes the index writer before anything else, so beside a running `opsloop serve` it
//! fails with nothing changed. Stopped midway, it leaves the index as it was, while the
//! chosen plugins' state and findings are already reset: running it again completes it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::import::{DEFAULT_BATCH_SIZE, analyze_and_store_reports, keep_findings};
use super::plugin_set::{PluginFailure, PluginSet, summarize_failures};
use super::{FindingStore, PipelineError};
use crate::index::{LogIndex, PatternMerge, ReportIndex};
use crate::ingest::Record;
use crate::plugin::PluginDescription;

/// Memory the index writer may use before it writes a segment.
const WRITER_BUDGET_BYTES: usize = 256 << 20;

/// What a re-analysis did.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeSummary {
    /// The plugins that ran again.
    pub plugins: Vec<String>,
    pub records: u64,
    pub reports: u64,
    pub findings: u64,
    pub plugin_failures: Vec<PluginFailure>,
    pub elapsed: Duration,
}

/// Runs the plugins of `plugins` that `only` names (all when `None`) over every stored record
/// and report. `plugins` is the loaded set; the others are dropped from it.
pub fn analyze(
    index: &LogIndex,
    reports: &ReportIndex,
    plugins: &mut PluginSet,
    findings: &FindingStore,
    only: Option<&str>,
) -> Result<AnalyzeSummary, PipelineError> {
    let started = Instant::now();
    let chosen = |name: &str| only.is_none_or(|only| only == name);
    let redo_logs = plugins.plugins().iter().any(|p| chosen(p.name()) && p.description().consumes_logs);
    // The writer first: if the index is busy (another process writes to it), nothing has
    // changed yet, not even the plugins' state or findings.
    let mut writer = if redo_logs { Some(index.writer(WRITER_BUDGET_BYTES)?) } else { None };
    plugins.start_over(chosen).map_err(PipelineError::PluginState)?;
    let chosen: BTreeSet<String> = plugins.plugins().iter().map(|plugin| plugin.name().to_string()).collect();
    findings
        .retain(|finding| !chosen.contains(&finding.plugin))
        .map_err(|source| PipelineError::Findings { path: findings.path().to_path_buf(), source })?;
    let mut summary = AnalyzeSummary { plugins: chosen.iter().cloned().collect(), ..AnalyzeSummary::default() };
    let mut failures = Vec::new();

    let log_keys = annotation_keys(plugins, |plugin| plugin.consumes_logs);
    let mut redone_merges = None;
    if let Some(writer) = writer.as_mut() {
        let mut merges = Vec::new();
        let mut renamed = Renamed::default();
        let payload = index.commit_payload()?;
        writer.delete_all()?;

        summary.records = index.for_each_batch_oldest_first(DEFAULT_BATCH_SIZE, |mut batch| {
            let before: Vec<Option<Arc<str>>> =
                batch.iter().map(|record| record.annotations.get("pattern").cloned()).collect();
            for record in &mut batch {
                record.annotations.retain(|key, _| !log_keys.iter().any(|redone| **redone == **key));
            }
            let analysis = plugins.analyze(&mut batch);
            failures.extend(analysis.failures);
            summary.findings += keep_findings(findings, &analysis.findings)?;
            merges.extend(analysis.pattern_merges);
            renamed.count(&batch, before);
            for record in &batch {
                writer.add(record, record.timestamp_ms.unwrap_or_default())?;
            }
            Ok::<(), PipelineError>(())
        })?;
        let concluded = plugins.finish();
        failures.extend(concluded.failures);
        summary.findings += keep_findings(findings, &concluded.findings)?;
        merges.extend(concluded.pattern_merges);
        writer.commit_with_payload(payload.as_deref().unwrap_or_default())?;
        redone_merges = Some((renamed.into_merges(), merges));
    }
    if let Some(writer) = writer {
        writer.finish()?;
        index.refresh()?;
    }
    // Every record was annotated again by a miner that started over: the ids records carried
    // before and no record carries now name what their records carry now, and this run's
    // merges take the place of the run before's.
    if let Some((renamed, merges)) = redone_merges.filter(|_| log_keys.iter().any(|key| key == "pattern")) {
        index.restart_pattern_merges(&renamed, &merges)?;
    }

    if plugins.plugins().iter().any(|plugin| plugin.description().consumes_reports) && !reports.is_empty() {
        let report_keys = annotation_keys(plugins, |plugin| plugin.consumes_reports);
        let mut stored = reports.search("*", None)?;
        stored.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then_with(|| a.id.cmp(&b.id)));
        for report in &mut stored {
            report.annotations.retain(|key, _| !report_keys.contains(key));
        }
        summary.findings += analyze_and_store_reports(reports, plugins, findings, &mut stored, &mut failures)?;
        summary.reports = stored.len() as u64;
    }
    plugins.save_state().map_err(PipelineError::PluginState)?;
    summary.plugin_failures = summarize_failures(&failures);
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// For each (source, pattern id a record carried before the run): the ids its records carry
/// after it, with how many, and their templates.
#[derive(Default)]
struct Renamed {
    counts: BTreeMap<(String, String), BTreeMap<String, u64>>,
    templates: BTreeMap<String, String>,
}

impl Renamed {
    fn count(&mut self, batch: &[Record], before: Vec<Option<Arc<str>>>) {
        for (record, old) in batch.iter().zip(before) {
            let (Some(old), Some(new)) = (old, record.annotations.get("pattern")) else { continue };
            if old == *new {
                continue;
            }
            let counts = self.counts.entry((record.source.clone(), old.to_string())).or_default();
            *counts.entry(new.to_string()).or_insert(0) += 1;
            if let Some(template) = record.annotations.get("template") {
                self.templates.insert(new.to_string(), template.to_string());
            }
        }
    }

    /// Each old id as a merge into the id most of its records carry now (an alias names one
    /// pattern: an old pattern the new run split goes with its larger part).
    fn into_merges(self) -> Vec<PatternMerge> {
        let templates = self.templates;
        self.counts
            .into_iter()
            .filter_map(|((source, from), counts)| {
                let (into, _) = counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))?;
                let template = templates.get(&into).cloned().unwrap_or_default();
                Some(PatternMerge { source, from, into, template })
            })
            .collect()
    }
}

/// The annotation keys of the plugins `consumes` picks (their values are replaced).
fn annotation_keys(plugins: &PluginSet, consumes: impl Fn(&PluginDescription) -> bool) -> Vec<String> {
    let picked = plugins.plugins().iter().filter(|plugin| consumes(plugin.description()));
    picked.flat_map(|plugin| plugin.description().annotates.clone()).collect()
}
