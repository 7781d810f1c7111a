//! `opsloop analyze [--plugin NAME]`: runs plugins again over the stored records and reports
//! (a backfill after adding or reconfiguring a plugin), and prints what it did.

use std::process::ExitCode;

use clap::Args;

use super::Out;
use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::index::{IndexError, LogIndex, ReportIndex};
use crate::pipeline::{FindingStore, PipelineError, PluginSet, analyze};

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Run only this plugin again (its state and findings start over); default: every enabled one.
    #[arg(long)]
    pub plugin: Option<String>,
}

pub fn run(data_dir: &DataDir, settings: &Settings, args: AnalyzeArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let (mut plugins, errors) = PluginSet::load(data_dir, settings)?;
    for error in &errors {
        tracing::warn!(%error, "plugin not loaded");
    }
    if let Some(name) = &args.plugin {
        if !plugins.plugins().iter().any(|plugin| plugin.name() == name) {
            let loaded: Vec<&str> = plugins.plugins().iter().map(|plugin| plugin.name()).collect();
            anyhow::bail!("no enabled plugin named `{name}` (loaded: {})", loaded.join(", "));
        }
    }
    let index = LogIndex::open(&data_dir.index_dir())?;
    let reports = ReportIndex::open(&data_dir.reports_dir())?;
    let findings = FindingStore::new(data_dir.findings_file());
    let summary = match analyze(&index, &reports, &mut plugins, &findings, args.plugin.as_deref()) {
        Err(error @ PipelineError::Index(IndexError::Busy { .. })) => {
            return Err(anyhow::Error::new(error).context("nothing was changed"));
        }
        other => other?,
    };
    super::feedback::rebuild_board(data_dir, &settings.feedback)?;
    out.line(format!(
        "analyzed {} records and {} reports with {} in {:.2} s: {} finding(s)",
        summary.records,
        summary.reports,
        summary.plugins.join(", "),
        summary.elapsed.as_secs_f64(),
        summary.findings
    ))?;
    for failure in &summary.plugin_failures {
        out.line(format!(
            "plugin {} failed {} time(s) ({}); its records were written without its annotations: {}",
            failure.plugin, failure.count, failure.kind, failure.message
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
