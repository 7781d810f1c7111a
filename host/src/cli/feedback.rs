//! `opsloop feedback`: the report a product owner reads — feedback items by impact, as text,
//! Markdown, JSON (one object per item, schema in `docs/feedback-item.schema.json`) or CSV
//! that imports into Jira. `opsloop feedback resolve ID` marks an item resolved; it comes
//! back as `regressed` when its evidence grows again.

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use super::{Out, UsageError};
use crate::config::{FeedbackSettings, Settings};
use crate::data_dir::DataDir;
use crate::feedback::render::{self, impact_line, lower};
use crate::feedback::{FeedbackItem, FeedbackStore};
use crate::index::{LogIndex, ReportIndex};
use crate::pipeline::FindingStore;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FeedbackFormat {
    Text,
    Md,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct FeedbackArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: FeedbackFormat,
    #[command(subcommand)]
    pub action: Option<FeedbackAction>,
}

#[derive(Debug, Subcommand)]
pub enum FeedbackAction {
    /// Marks an item resolved (it turns `regressed` if its evidence grows again).
    Resolve { id: String },
}

fn time(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// Builds the items from what is stored and updates their statuses.
pub fn current_items(data_dir: &DataDir, settings: &FeedbackSettings) -> anyhow::Result<Vec<FeedbackItem>> {
    let logs = LogIndex::open(&data_dir.index_dir())?;
    let reports = ReportIndex::open(&data_dir.reports_dir())?;
    let findings = FindingStore::new(data_dir.findings_file());
    crate::feedback::current_items(&logs, &reports, &findings, &FeedbackStore::new(data_dir.feedback_file()), settings)
}

pub fn run(data_dir: &DataDir, settings: &Settings, args: FeedbackArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let items = current_items(data_dir, &settings.feedback)?;
    if let Some(FeedbackAction::Resolve { id }) = args.action {
        let store = FeedbackStore::new(data_dir.feedback_file());
        let mut state = store.load()?;
        if !state.resolve(&id) {
            return Err(UsageError(format!("no feedback item `{id}` (see `opsloop feedback`)")).into());
        }
        store.save(&state)?;
        out.line(format!("{id} resolved"))?;
        return Ok(ExitCode::SUCCESS);
    }
    match args.format {
        FeedbackFormat::Json => {
            for item in &items {
                out.line(serde_json::to_string(item)?)?;
            }
        }
        FeedbackFormat::Text => {
            out.line(format!("{} feedback items, by impact", items.len()))?;
            for item in &items {
                out.line(format!("\n{} [{} · {}] {}", item.id, lower(item.kind), lower(item.status), item.title))?;
                out.line(format!("  {}", impact_line(item)))?;
                out.line(format!("  {}", item.summary))?;
                out.line(format!("  seen {} – {}", time(item.first_seen_ms), time(item.last_seen_ms)))?;
                if !item.evidence.reports.is_empty() {
                    out.line(format!("  reports: {}", item.evidence.reports.join(", ")))?;
                }
                for pattern in &item.evidence.patterns {
                    out.line(format!(
                        "  logs: {} ({} records) e.g. {}",
                        pattern.template,
                        pattern.records,
                        pattern.examples.first().map_or("", String::as_str)
                    ))?;
                }
                for link in &item.evidence.links {
                    out.line(format!("  linked: {link}"))?;
                }
                if let Some(query) = &item.evidence.query {
                    out.line(format!("  opsloop search '{query}'"))?;
                }
            }
        }
        FeedbackFormat::Md => out.line(render::markdown(&items))?,
        FeedbackFormat::Csv => out.line(render::jira_csv(&items)?.trim_end())?,
    }
    Ok(ExitCode::SUCCESS)
}
