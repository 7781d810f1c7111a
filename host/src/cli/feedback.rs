//! `opsloop feedback`: the board a product owner reads — feedback items by impact, as text,
//! Markdown, JSON (one object per item, schema in `docs/feedback-item.schema.json`) or CSV
//! that imports into Jira. Reading prints the board as built after the last import; it never
//! changes it. `opsloop feedback ack ID` acknowledges an item (`ongoing`), `opsloop feedback
//! resolve ID` resolves it; a resolved item comes back as `regressed` when its evidence grows.

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use super::Out;
use crate::config::{FeedbackSettings, Settings};
use crate::data_dir::DataDir;
use crate::feedback::render::{self, lower};
use crate::feedback::{Action, Board, BoardStore, StatusFilter};
use crate::index::{LogIndex, ReportIndex};
use crate::pipeline::FindingStore;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FeedbackFormat {
    /// Readable text, one block per item.
    Text,
    /// A Markdown report: a table by impact, then each item's evidence.
    Md,
    /// One JSON object per item and line.
    Json,
    /// CSV for Jira's importer.
    Csv,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    /// Everything but resolved items.
    Open,
    /// Every item, resolved ones too.
    All,
    /// Items built from evidence nobody has acted on yet.
    New,
    /// Items acknowledged by a person, or whose evidence grew.
    Ongoing,
    /// Items a person resolved.
    Resolved,
    /// Resolved items whose evidence grew again.
    Regressed,
}

#[derive(Debug, Args)]
pub struct FeedbackArgs {
    /// How to print the board: text, md (Markdown), json (one object per item, see
    /// docs/feedback-item.schema.json) or csv (Jira's importer).
    #[arg(long, value_enum, default_value = "text")]
    pub format: FeedbackFormat,
    /// Which items to show; resolved items are hidden unless asked for.
    #[arg(long, value_enum, default_value = "open")]
    pub status: StatusArg,
    #[command(subcommand)]
    pub action: Option<FeedbackAction>,
}

#[derive(Debug, Subcommand)]
pub enum FeedbackAction {
    /// Acknowledges an item: it is `ongoing` from now on.
    Ack {
        /// The item's id, as the board shows it (`FB-1a2b3c4d`).
        id: String,
    },
    /// Resolves an item (it turns `regressed` if its evidence grows again).
    Resolve {
        /// The item's id, as the board shows it (`FB-1a2b3c4d`).
        id: String,
    },
}

/// Builds the board from what is stored and saves it with the statuses it moved: after data
/// changed (an import, `analyze`).
pub fn rebuild_board(data_dir: &DataDir, settings: &FeedbackSettings) -> anyhow::Result<Board> {
    let logs = LogIndex::open(&data_dir.index_dir())?;
    let reports = ReportIndex::open(&data_dir.reports_dir())?;
    let findings = FindingStore::new(data_dir.findings_file());
    BoardStore::new(data_dir).rebuild(&logs, &reports, &findings, settings)
}

/// The board as last built (or, in a data directory built before boards were kept, as it
/// would be built now); writes nothing.
pub fn read_board(data_dir: &DataDir, settings: &FeedbackSettings) -> anyhow::Result<Board> {
    let store = BoardStore::new(data_dir);
    if let Some(board) = store.read()? {
        return Ok(board);
    }
    let logs = LogIndex::open(&data_dir.index_dir())?;
    let reports = ReportIndex::open(&data_dir.reports_dir())?;
    let findings = FindingStore::new(data_dir.findings_file());
    store.read_or_preview(&logs, &reports, &findings, settings)
}

/// The writer memory asked for only to see whether a server holds the store.
const SERVE_CHECK_BUDGET: usize = 16 << 20;

/// Fails, saying what to do `instead`, when a running `serve` holds the data directory (it
/// holds the log index's writer): a change written beside it would not reach it.
pub fn refuse_while_served(data_dir: &DataDir, instead: &str) -> anyhow::Result<()> {
    let index = LogIndex::open(&data_dir.index_dir())?;
    if let Err(crate::index::IndexError::Busy { holder, .. }) = index.writer(SERVE_CHECK_BUDGET).map(drop) {
        anyhow::bail!(
            "the data directory is served by another opsloop process ({}); {instead}",
            holder.unwrap_or_else(|| "unknown".into())
        );
    }
    Ok(())
}

pub fn run(data_dir: &DataDir, settings: &Settings, args: FeedbackArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let mut board = read_board(data_dir, &settings.feedback)?;
    if let Some(action) = args.action {
        let (id, action, done, route) = match action {
            FeedbackAction::Ack { id } => (id, Action::Acknowledge, "acknowledged", "ack"),
            FeedbackAction::Resolve { id } => (id, Action::Resolve, "resolved", "resolve"),
        };
        let verb = if route == "ack" { "acknowledge" } else { "resolve" };
        // A running `serve` holds the board in memory and sends alerts on its changes: an
        // action written here would not reach it, and its next save would undo this one.
        refuse_while_served(
            data_dir,
            &format!(
                "{verb} {id} there instead: POST /api/feedback/{id}/{route} with an admin token, or the page's button"
            ),
        )?;
        let current = board.item(&id).map(|item| item.id.clone());
        return match BoardStore::new(data_dir).act(&mut board, &id, action)? {
            Some(status) => {
                let named = match current.filter(|current| *current != id) {
                    Some(current) => format!("{id} (now part of {current})"),
                    None => id.clone(),
                };
                out.line(format!("{named} {done}: now {}", lower(status)))?;
                Ok(ExitCode::SUCCESS)
            }
            None => {
                eprintln!("error: no feedback item `{id}` (see `opsloop feedback --status all`)");
                Ok(ExitCode::FAILURE)
            }
        };
    }
    let filter = match args.status {
        StatusArg::Open => StatusFilter::Open,
        StatusArg::All => StatusFilter::All,
        StatusArg::New => StatusFilter::Only(crate::feedback::ItemStatus::New),
        StatusArg::Ongoing => StatusFilter::Only(crate::feedback::ItemStatus::Ongoing),
        StatusArg::Resolved => StatusFilter::Only(crate::feedback::ItemStatus::Resolved),
        StatusArg::Regressed => StatusFilter::Only(crate::feedback::ItemStatus::Regressed),
    };
    let items: Vec<_> = board.items.into_iter().filter(|item| filter.shows(item.status)).collect();
    match args.format {
        FeedbackFormat::Json => {
            for item in &items {
                out.line(serde_json::to_string(item)?)?;
            }
        }
        FeedbackFormat::Text => {
            out.line(format!("{} feedback items, by impact", items.len()))?;
            if items.is_empty() {
                out.line("(none: import logs and reports, or see resolved items with `--status all`)")?;
            }
            for item in &items {
                out.line(format!("\n{}", render::text(item)))?;
            }
        }
        FeedbackFormat::Md => out.line(render::markdown(&items))?,
        FeedbackFormat::Csv => out.line(render::jira_csv(&items)?.trim_end())?,
    }
    Ok(ExitCode::SUCCESS)
}
