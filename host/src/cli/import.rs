//! `opsloop import`: files (or stdin) through the pipeline into the index, then a summary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::Out;
use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::index::LogIndex;
use crate::ingest::{DEFAULT_MAX_LINE_BYTES, Format, ParseOptions};
use crate::pipeline::{
    DEFAULT_BATCH_SIZE, FindingStore, ImportSource, ImportSummary, PluginSet, import,
};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import; `-` reads stdin.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The source name for these records (default: the file name up to its first dot).
    #[arg(long)]
    pub source: Option<String>,
    /// How lines are laid out.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: Format,
    /// Records handed to the plugins at a time.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE)]
    pub batch_size: usize,
    /// Lines longer than this many bytes are rejected.
    #[arg(long, default_value_t = DEFAULT_MAX_LINE_BYTES)]
    pub max_line_bytes: usize,
    /// How to print the summary.
    #[arg(long, value_enum, default_value = "text")]
    pub summary: SummaryFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
}

pub fn run(
    data_dir: &DataDir,
    settings: &Settings,
    args: ImportArgs,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let summary = import_paths(data_dir, settings, &args)?;
    match args.summary {
        SummaryFormat::Text => print_summary(&summary, out)?,
        SummaryFormat::Json => out.line(summary_json(&summary).to_string())?,
    }
    Ok(if summary.has_input_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs an import as the command does, without printing.
pub fn import_paths(
    data_dir: &DataDir,
    settings: &Settings,
    args: &ImportArgs,
) -> anyhow::Result<ImportSummary> {
    let index = LogIndex::open(&data_dir.index_dir())?;
    let (mut plugins, load_errors) = PluginSet::load(data_dir, settings)?;
    for error in &load_errors {
        tracing::error!(kind = error.kind(), "{error}");
        eprintln!("warning: {error}");
    }
    let options = ParseOptions {
        format: args.format,
        source: args.source.clone(),
        max_line_bytes: args.max_line_bytes,
    };
    let sources = args.paths.iter().cloned().map(ImportSource::Path).collect();
    let findings = FindingStore::new(data_dir.findings_file());
    Ok(import(
        &index,
        &mut plugins,
        &findings,
        sources,
        &options,
        args.batch_size,
    )?)
}

fn summary_json(summary: &ImportSummary) -> serde_json::Value {
    let rejected: serde_json::Map<String, serde_json::Value> = summary
        .rejections
        .by_reason
        .iter()
        .map(|(reason, group)| {
            (
                reason.clone(),
                serde_json::json!({ "count": group.count, "examples": group.examples }),
            )
        })
        .collect();
    serde_json::json!({
        "records": summary.records,
        "rejected": summary.rejections.total(),
        "rejected_by_reason": rejected,
        "bytes": summary.bytes,
        "seconds": summary.elapsed.as_secs_f64(),
        "records_per_second": summary.records_per_second(),
        "megabytes_per_second": summary.megabytes_per_second(),
        "findings": summary.findings,
        "inputs": summary.inputs,
        "plugin_failures": summary.plugin_failures,
    })
}

/// Prints the human summary.
pub fn print_summary(summary: &ImportSummary, out: &mut Out) -> std::io::Result<()> {
    out.line(format!(
        "imported {} records from {} input(s), {:.1} MB in {:.2} s ({:.0} records/s, {:.1} MB/s)",
        summary.records,
        summary.inputs.len(),
        summary.bytes as f64 / 1e6,
        summary.elapsed.as_secs_f64(),
        summary.records_per_second(),
        summary.megabytes_per_second()
    ))?;
    for input in &summary.inputs {
        if let Some(error) = &input.error {
            out.line(format!("  failed  {}: {error}", input.name))?;
        }
    }
    let rejected = summary.rejections.total();
    if rejected > 0 {
        out.line(format!("rejected {rejected} line(s):"))?;
        for (reason, group) in &summary.rejections.by_reason {
            out.line(format!("  {:>8}  {reason}", group.count))?;
            for example in &group.examples {
                out.line(format!("            {example}"))?;
            }
        }
    }
    if summary.findings > 0 {
        out.line(format!("{} finding(s) recorded", summary.findings))?;
    }
    for failure in &summary.plugin_failures {
        out.line(format!(
            "plugin {} failed {} time(s) ({}); its records were indexed without its annotations: {}",
            failure.plugin, failure.count, failure.kind, failure.message
        ))?;
    }
    Ok(())
}
