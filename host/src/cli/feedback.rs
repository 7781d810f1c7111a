//! `opsloop feedback`: the report a product owner reads — feedback items by impact, as text,
//! Markdown, JSON (one object per item, schema in `docs/feedback-item.schema.json`) or CSV
//! that imports into Jira. `opsloop feedback resolve ID` marks an item resolved; it comes
//! back as `regressed` when its evidence grows again.

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use super::{Out, UsageError};
use crate::data_dir::DataDir;
use crate::feedback::{FeedbackItem, FeedbackStore, build_items};
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

fn lower(value: impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn impact_line(item: &FeedbackItem) -> String {
    let i = &item.impact;
    format!(
        "impact {:.2} = reports {} · reporters {} · sources {} · error volume {} · trend {:.0} · severity {:.2}",
        i.score, i.reports, i.reporters, i.sources, i.error_volume, i.trend, i.severity
    )
}

/// Builds the items from what is stored and updates their statuses.
pub fn current_items(data_dir: &DataDir) -> anyhow::Result<Vec<FeedbackItem>> {
    let logs = LogIndex::open(&data_dir.index_dir())?;
    let reports = ReportIndex::open(&data_dir.reports_dir())?;
    let findings = FindingStore::new(data_dir.findings_file()).read_all()?;
    let mut patterns = logs.patterns(None)?;
    logs.add_examples(&mut patterns, None, 3)?;
    let store = FeedbackStore::new(data_dir.feedback_file());
    let mut state = store.load()?;
    let items = build_items(&reports.search("*", None)?, &patterns, &findings, &mut state);
    store.save(&state)?;
    Ok(items)
}

pub fn run(data_dir: &DataDir, args: FeedbackArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let items = current_items(data_dir)?;
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
                if let Some(query) = &item.evidence.query {
                    out.line(format!("  opsloop search '{query}'"))?;
                }
            }
        }
        FeedbackFormat::Md => {
            out.line("# Feedback items\n")?;
            out.line("| id | kind | status | impact | title | reports | log records |")?;
            out.line("|---|---|---|---|---|---|---|")?;
            for item in &items {
                let records: u64 = item.evidence.patterns.iter().map(|p| p.records).sum();
                out.line(format!(
                    "| {} | {} | {} | {:.2} | {} | {} | {records} |",
                    item.id,
                    lower(item.kind),
                    lower(item.status),
                    item.impact.score,
                    item.title.replace('|', "\\|"),
                    item.evidence.reports.len()
                ))?;
            }
            for item in &items {
                out.line(format!("\n## {} {}\n\n{}\n\n{}", item.id, item.title, item.summary, impact_line(item)))?;
                if let Some(query) = &item.evidence.query {
                    out.line(format!("\nLogs: `opsloop search '{query}'`"))?;
                }
                if !item.evidence.reports.is_empty() {
                    out.line(format!("\nReports: {}", item.evidence.reports.join(", ")))?;
                }
            }
        }
        FeedbackFormat::Csv => {
            // Jira's CSV import maps these columns: Summary, Issue Type, Description, Priority, Labels.
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record([
                "Summary",
                "Issue Type",
                "Description",
                "Priority",
                "Labels",
                "External ID",
                "Status",
                "Impact",
            ])?;
            for item in &items {
                let issue_type = match lower(item.kind).as_str() {
                    "request" => "Story",
                    "incident" => "Task",
                    _ => "Bug",
                };
                let priority = match item.impact.score {
                    s if s >= 0.6 => "High",
                    s if s >= 0.3 => "Medium",
                    _ => "Low",
                };
                let description = format!(
                    "{}\n\n{}\n\nReports: {}\nLogs: {}",
                    item.summary,
                    impact_line(item),
                    item.evidence.reports.join(", "),
                    item.evidence.query.as_deref().unwrap_or("-")
                );
                writer.write_record([
                    item.title.as_str(),
                    issue_type,
                    &description,
                    priority,
                    &format!("opsloop {}", lower(item.kind)),
                    &item.id,
                    &lower(item.status),
                    &format!("{:.2}", item.impact.score),
                ])?;
            }
            out.line(String::from_utf8(writer.into_inner()?)?.trim_end())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
