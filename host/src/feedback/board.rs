//! The feedback board as stored: built once when data changes, read many times, and changed
//! otherwise only by a person. Stored reports, patterns and findings flow in through
//! [`BoardStore::rebuild`]; `board.json` (the items as built) and `feedback.json` (each item's
//! status and evidence size, and people's actions) flow out. Reads ([`BoardStore::read`])
//! never write.
//!
//! Statuses follow data or a person, never a read:
//! - `new` when an item is first built;
//! - `ongoing` when its evidence grows after that, or when a person acknowledges it;
//! - `resolved` when a person resolves it;
//! - `regressed` when a resolved item's evidence grows again (until a person acknowledges or
//!   resolves it once more).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::items::{BuiltItems, FeedbackItem, ItemStatus, build_items};
use crate::config::FeedbackSettings;
use crate::data_dir::DataDir;
use crate::index::{LogIndex, ReportIndex};
use crate::pipeline::FindingStore;

/// Examples kept per pattern on the board.
const EXAMPLES_PER_PATTERN: usize = 3;

/// The items as last built, best first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Board {
    /// When it was built (ms since the epoch).
    pub built_ms: i64,
    pub items: Vec<FeedbackItem>,
    /// Links and merges refused while building, in words.
    #[serde(default)]
    pub refused: Vec<String>,
}

impl Board {
    pub fn item(&self, id: &str) -> Option<&FeedbackItem> {
        self.items.iter().find(|item| item.id == id)
    }
}

/// Which items a view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Everything but resolved items: the default view.
    Open,
    All,
    Only(ItemStatus),
}

impl StatusFilter {
    /// `all`, `open` or a status name; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "" | "open" => Some(StatusFilter::Open),
            "all" => Some(StatusFilter::All),
            "new" => Some(StatusFilter::Only(ItemStatus::New)),
            "ongoing" => Some(StatusFilter::Only(ItemStatus::Ongoing)),
            "resolved" => Some(StatusFilter::Only(ItemStatus::Resolved)),
            "regressed" => Some(StatusFilter::Only(ItemStatus::Regressed)),
            _ => None,
        }
    }

    pub fn shows(self, status: ItemStatus) -> bool {
        match self {
            StatusFilter::Open => status != ItemStatus::Resolved,
            StatusFilter::All => true,
            StatusFilter::Only(wanted) => status == wanted,
        }
    }
}

/// What is remembered about an item between builds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KnownItem {
    pub status: Option<ItemStatus>,
    /// The evidence size at the last build.
    #[serde(alias = "weight")]
    pub evidence_size: u64,
    /// The evidence size when it was last resolved.
    #[serde(alias = "resolved_weight")]
    pub resolved_size: Option<u64>,
}

/// Every item's status, by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedbackState {
    pub items: BTreeMap<String, KnownItem>,
}

/// A person's action on an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    Resolve,
}

impl FeedbackState {
    /// The item's status after a build that found `evidence_size` of evidence.
    fn record_build(&mut self, id: &str, evidence_size: u64) -> ItemStatus {
        let known = self.items.entry(id.to_string()).or_default();
        let grew = evidence_size > known.evidence_size;
        let status = match known.status {
            None => ItemStatus::New,
            Some(ItemStatus::New) if grew => ItemStatus::Ongoing,
            Some(ItemStatus::Resolved) if evidence_size > known.resolved_size.unwrap_or(u64::MAX) => {
                ItemStatus::Regressed
            }
            Some(status) => status,
        };
        known.status = Some(status);
        known.evidence_size = evidence_size;
        status
    }

    /// Applies a person's action; the new status, or `None` when the item is unknown.
    pub fn act(&mut self, id: &str, action: Action) -> Option<ItemStatus> {
        let known = self.items.get_mut(id)?;
        let status = match action {
            Action::Acknowledge => ItemStatus::Ongoing,
            Action::Resolve => {
                known.resolved_size = Some(known.evidence_size);
                ItemStatus::Resolved
            }
        };
        known.status = Some(status);
        Some(status)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> std::io::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|error| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {error}", path.display()))
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Writes through a temporary file and a rename, so a reader sees the old or the new file.
fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, serde_json::to_vec(value).map_err(std::io::Error::other)?)?;
    std::fs::rename(&temporary, path)
}

/// Where the board and the statuses live.
#[derive(Debug, Clone)]
pub struct BoardStore {
    board: PathBuf,
    state: PathBuf,
}

impl BoardStore {
    pub fn new(data_dir: &DataDir) -> Self {
        Self { board: data_dir.board_file(), state: data_dir.feedback_file() }
    }

    pub fn load_state(&self) -> std::io::Result<FeedbackState> {
        Ok(read_json(&self.state)?.unwrap_or_default())
    }

    /// The board as last built; `None` before the first build. Writes nothing.
    pub fn read(&self) -> std::io::Result<Option<Board>> {
        read_json(&self.board)
    }

    /// Builds the board from what is stored, moves statuses by the evidence, and saves both.
    pub fn rebuild(
        &self,
        logs: &LogIndex,
        reports: &ReportIndex,
        findings: &FindingStore,
        settings: &FeedbackSettings,
    ) -> anyhow::Result<Board> {
        let built = build_from(logs, reports, findings, settings)?;
        let mut state = self.load_state()?;
        let board = board_with_statuses(built, &mut state);
        write_json(&self.state, &state)?;
        write_json(&self.board, &board)?;
        Ok(board)
    }

    /// The board as last built or, before any build, as it would be built now (nothing is
    /// saved: a read never writes).
    pub fn read_or_preview(
        &self,
        logs: &LogIndex,
        reports: &ReportIndex,
        findings: &FindingStore,
        settings: &FeedbackSettings,
    ) -> anyhow::Result<Board> {
        if let Some(board) = self.read()? {
            return Ok(board);
        }
        let built = build_from(logs, reports, findings, settings)?;
        Ok(board_with_statuses(built, &mut self.load_state()?))
    }

    /// Applies a person's action to an item of `board` and saves it; the new status, or
    /// `None` when the board has no such item.
    pub fn act(&self, board: &mut Board, id: &str, action: Action) -> anyhow::Result<Option<ItemStatus>> {
        let Some(item) = board.items.iter_mut().find(|item| item.id == id) else { return Ok(None) };
        let mut state = self.load_state()?;
        if !state.items.contains_key(id) {
            state.record_build(id, item.evidence_size);
        }
        let status = state.act(id, action);
        if let Some(status) = status {
            item.status = status;
        }
        write_json(&self.state, &state)?;
        write_json(&self.board, &*board)?;
        Ok(status)
    }
}

fn build_from(
    logs: &LogIndex,
    reports: &ReportIndex,
    findings: &FindingStore,
    settings: &FeedbackSettings,
) -> anyhow::Result<BuiltItems> {
    let findings = findings.read_all()?;
    let mut patterns = logs.patterns(None)?;
    logs.add_examples(&mut patterns, None, EXAMPLES_PER_PATTERN)?;
    Ok(build_items(&reports.search("*", None)?, &patterns, &findings, &settings.component_sources))
}

fn board_with_statuses(built: BuiltItems, state: &mut FeedbackState) -> Board {
    let mut items = built.items;
    for item in &mut items {
        item.status = state.record_build(&item.id, item.evidence_size);
    }
    Board { built_ms: chrono::Utc::now().timestamp_millis(), items, refused: built.refused }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_move_with_evidence_and_people_only() {
        let mut state = FeedbackState::default();
        assert_eq!(state.record_build("FB-1", 10), ItemStatus::New);
        assert_eq!(state.record_build("FB-1", 10), ItemStatus::New, "a rebuild with nothing new");
        assert_eq!(state.record_build("FB-1", 11), ItemStatus::Ongoing, "new evidence");
        assert_eq!(state.act("FB-1", Action::Resolve), Some(ItemStatus::Resolved));
        assert_eq!(state.record_build("FB-1", 11), ItemStatus::Resolved);
        assert_eq!(state.record_build("FB-1", 12), ItemStatus::Regressed);
        assert_eq!(state.record_build("FB-1", 12), ItemStatus::Regressed);
        assert_eq!(state.act("FB-1", Action::Acknowledge), Some(ItemStatus::Ongoing));
        assert_eq!(state.record_build("FB-2", 1), ItemStatus::New);
        assert_eq!(state.act("FB-2", Action::Acknowledge), Some(ItemStatus::Ongoing));
        assert_eq!(state.act("FB-nope", Action::Acknowledge), None);
    }

    #[test]
    fn the_default_view_hides_resolved_items() {
        assert!(!StatusFilter::Open.shows(ItemStatus::Resolved));
        assert!(StatusFilter::Open.shows(ItemStatus::Regressed));
        assert!(StatusFilter::parse("all").unwrap().shows(ItemStatus::Resolved));
        assert_eq!(StatusFilter::parse("bogus"), None);
    }

    #[test]
    fn statuses_written_before_the_board_existed_still_read() {
        let old = r#"{"items":{"FB-1":{"status":"resolved","resolved_weight":4,"weight":4}}}"#;
        let state: FeedbackState = serde_json::from_str(old).unwrap();
        assert_eq!(state.items["FB-1"].resolved_size, Some(4));
    }
}
