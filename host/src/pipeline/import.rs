//! The import job: inputs are read into batches, each batch goes through the plugins, and the
//! records land in the index with their annotations; findings go to the finding store.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::PipelineError;
use super::findings::FindingStore;
use super::plugin_set::{PluginFailure, PluginSet, summarize_failures};
use crate::index::LogIndex;
use crate::ingest::{Format, Input, ParseOptions, Rejections, read_records};
use crate::plugin::PluginError;

/// Records handed to the plugins at a time.
pub const DEFAULT_BATCH_SIZE: usize = 16_384;

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
    /// Why the input could not be read (its good lines before the failure are kept).
    pub error: Option<String>,
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

/// Imports `sources` into `index` through `plugins`.
pub fn import(
    index: &LogIndex,
    plugins: &mut PluginSet,
    findings: &FindingStore,
    sources: Vec<ImportSource>,
    options: &ParseOptions,
    batch_size: usize,
) -> Result<ImportSummary, PipelineError> {
    let started = Instant::now();
    let ingest_time_ms = chrono::Utc::now().timestamp_millis();
    let mut writer = index.writer(WRITER_BUDGET_BYTES)?;
    let mut summary = ImportSummary::default();
    let mut failures: Vec<(String, PluginError)> = Vec::new();
    for source in sources {
        let input = match source {
            ImportSource::Bytes { name, bytes } => Input::from_bytes(&name, bytes),
            ImportSource::Path(path) => match Input::open(&path) {
                Ok(input) => input,
                Err(error) => {
                    tracing::error!(input = %path.display(), %error, "input skipped");
                    summary.inputs.push(InputReport {
                        name: path.display().to_string(),
                        records: 0,
                        lines: 0,
                        bytes: 0,
                        format: None,
                        error: Some(error.to_string()),
                    });
                    continue;
                }
            },
        };
        let name = input.name.clone();
        let mut rejections = Rejections::default();
        let mut findings_count = 0u64;
        let result = read_records::<PipelineError>(
            input,
            options,
            batch_size,
            &mut rejections,
            |mut batch| {
                let analysis = plugins.analyze(&mut batch);
                failures.extend(analysis.failures);
                findings
                    .append(&analysis.findings)
                    .map_err(|source| PipelineError::Findings {
                        path: findings.path().to_path_buf(),
                        source,
                    })?;
                findings_count += analysis.findings.len() as u64;
                for record in &batch {
                    writer.add(record, ingest_time_ms)?;
                }
                Ok(())
            },
        );
        // Whatever was read is kept, also when the input failed part-way.
        writer.commit()?;
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
                    format: read.format.map(format_name),
                    error: None,
                }
            }
            Err(PipelineError::Ingest(error)) => {
                tracing::error!(input = %name, %error, "input failed part-way; lines read before the failure are kept");
                InputReport {
                    name,
                    records: 0,
                    lines: 0,
                    bytes: 0,
                    format: None,
                    error: Some(error.to_string()),
                }
            }
            Err(other) => return Err(other),
        };
        summary.inputs.push(report);
    }
    writer.finish()?;
    plugins.save_state().map_err(PipelineError::PluginState)?;
    index.refresh()?;
    summary.plugin_failures = summarize_failures(&failures);
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn format_name(format: Format) -> String {
    match format {
        Format::Auto => "auto",
        Format::Raw => "raw",
        Format::Json => "json",
    }
    .to_string()
}
