//! The pipeline: batches of records through the enabled plugins (in parallel) into the index.
//!
//! In: [`ImportSource`]s and parse options. Out: indexed records with their annotations,
//! findings in the [`FindingStore`], and an [`ImportSummary`] (kept, rejected by reason,
//! plugin failures by kind, throughput).

mod analyze;
mod backtest;
mod checkpoint;
mod columns;
mod findings;
mod import;
mod plugin_set;
mod trial;

use std::path::PathBuf;

pub use analyze::{AnalyzeSummary, analyze};
pub use backtest::{BacktestOptions, BacktestReport, BacktestSide, ChangedValue, KeyDifference, backtest};
pub use checkpoint::{Checkpoints, FileCheckpoint, HEAD_BYTES};
pub use columns::record_batch;
pub use findings::{FindingStore, RecordRef, StoredEvidence, StoredFinding};
pub use import::{
    DEFAULT_BATCH_SIZE, DEFAULT_COMMIT_EVERY, ImportOptions, ImportSource, ImportSummary, InputReport, ProgressFn,
    REPORTS_PER_CALL, ReportImportSummary, import, import_reports, relabel_merged_groups, report_plugin_calls,
};
pub use plugin_set::{BatchAnalysis, PluginFailure, PluginSet, summarize_failures};
pub use trial::{CallTime, PluginTrial, RecordAnnotations, TrialBatch, TrialFinding};

/// What can stop an import (bad lines and failing plugins do not: they are counted).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    #[error("findings file {path}: {source}")]
    Findings { path: PathBuf, source: std::io::Error },
    #[error("saving plugin state: {0}")]
    PluginState(std::io::Error),
    /// A plugin failed under `import --strict`; nothing since the last commit was kept.
    #[error(
        "--strict: {0}; nothing read since the last commit was kept, so a run after the plugin is fixed imports it"
    )]
    PluginFailed(String),
    /// A scratch copy (`plugin backtest`) could not be made.
    #[error("scratch copy of the index: {0}")]
    Scratch(std::io::Error),
    /// The reader stopped because the consumer had failed (the consumer's error is reported).
    #[error("import stopped")]
    Stopped,
}
