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
//! - `regressed` when a resolved item's evidence grows again with evidence dated after the
//!   newest it had when resolved (an archive of older lines imported later is not a
//!   recurrence), until a person acknowledges or resolves it once more.
//!
//! An item's id follows its anchor, which can change: a log-only anomaly becomes part of a
//! report group's item once a report quotes its pattern. The new item then carries on from the
//! item it replaced (the one gone from this build that shares a pattern or a report with it):
//! its status, evidence size and resolution when it had moved past `new`, so what a person did
//! is not lost, and the old id names the new item ([`KnownItem::replaced_by`]) for actions and
//! reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::episodes::clock;
use super::items::{BuiltItems, FeedbackItem, ItemStatus, build_items};
use crate::config::FeedbackSettings;
use crate::data_dir::DataDir;
use crate::index::{LogIndex, PatternAliases, ReportIndex};
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
    /// Ids of items no longer built, each with the item that took their evidence over.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replaced: BTreeMap<String, String>,
}

impl Board {
    /// The item with this id, or the one that replaced it.
    pub fn item(&self, id: &str) -> Option<&FeedbackItem> {
        let id = self.replaced.get(id).map_or(id, String::as_str);
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
    /// The newest evidence time at the last build (ms).
    #[serde(default)]
    pub last_seen_ms: Option<i64>,
    /// The newest evidence time when it was last resolved: only evidence after it regresses.
    #[serde(default)]
    pub resolved_last_seen_ms: Option<i64>,
    /// The item that took its evidence over when its id stopped being built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// Why evidence last moved its status (`ongoing` from `new`, or `regressed`), in words,
    /// until a person acts on it.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "regressed_because")]
    pub moved_because: Option<String>,
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
    /// The item's status after a build that found `evidence_size` of evidence, the newest of it
    /// dated `last_seen_ms`.
    fn record_build(&mut self, id: &str, evidence_size: u64, last_seen_ms: Option<i64>) -> ItemStatus {
        let known = self.items.entry(id.to_string()).or_default();
        let grew = evidence_size > known.evidence_size;
        let status = match known.status {
            None => ItemStatus::New,
            Some(ItemStatus::New) if grew => {
                let newest = last_seen_ms.map_or_else(String::new, |ms| format!(", the newest at {}", clock(ms)));
                known.moved_because = Some(format!(
                    "new evidence arrived after it was first recorded: {evidence_size} pieces, {} before{newest}",
                    known.evidence_size
                ));
                ItemStatus::Ongoing
            }
            Some(ItemStatus::Resolved)
                if evidence_size > known.resolved_size.unwrap_or(u64::MAX)
                    && last_seen_ms > known.resolved_last_seen_ms =>
            {
                // What regresses it is evidence newer than it had; the counts include any older
                // evidence imported since, which alone would not have.
                let newest = last_seen_ms.map_or_else(String::new, |ms| format!(" (the newest at {})", clock(ms)));
                let since = known
                    .resolved_last_seen_ms
                    .map_or_else(String::new, |ms| format!(" than the newest it had then ({})", clock(ms)));
                known.moved_because = Some(format!(
                    "evidence newer{since} arrived after it was resolved{newest}; {} pieces in all, {} then",
                    evidence_size,
                    known.resolved_size.unwrap_or_default()
                ));
                ItemStatus::Regressed
            }
            Some(status) => status,
        };
        known.status = Some(status);
        known.evidence_size = evidence_size;
        known.last_seen_ms = last_seen_ms;
        status
    }

    /// Where an id's item lives now: itself, or the item that replaced it (followed to the end).
    pub fn current_id<'a>(&'a self, id: &'a str) -> &'a str {
        let mut at = id;
        for _ in 0..self.items.len() {
            match self.items.get(at).and_then(|known| known.replaced_by.as_deref()) {
                Some(next) => at = next,
                None => break,
            }
        }
        at
    }

    /// Applies a person's action; the new status, or `None` when the item is unknown.
    pub fn act(&mut self, id: &str, action: Action) -> Option<ItemStatus> {
        let known = self.items.get_mut(id)?;
        let status = match action {
            Action::Acknowledge => ItemStatus::Ongoing,
            Action::Resolve => {
                known.resolved_size = Some(known.evidence_size);
                known.resolved_last_seen_ms = known.last_seen_ms;
                ItemStatus::Resolved
            }
        };
        known.status = Some(status);
        known.moved_because = None;
        Some(status)
    }

    /// Lets items built for the first time carry on from the items they replace: an item of the
    /// `previous` board not built this time that shares a pattern or a report with one. The one
    /// a person or evidence moved furthest (then the largest) lends its history, unless it was
    /// still `new`; every one of them is marked as replaced. A pattern the miner merged into
    /// another since is the one it stands for now.
    fn carry_over(&mut self, previous: &Board, items: &[FeedbackItem], aliases: &PatternAliases) {
        let built: BTreeSet<&str> = items.iter().map(|item| item.id.as_str()).collect();
        let evidence_keys = |item: &FeedbackItem| {
            let patterns = item.evidence.patterns.iter().flat_map(|p| {
                let now = aliases.successors(&p.pattern).into_iter().map(str::to_string);
                std::iter::once(p.pattern.clone()).chain(now).map(|id| ("pattern", id))
            });
            patterns.chain(item.evidence.reports.iter().map(|r| ("report", r.clone()))).collect::<Vec<_>>()
        };
        // The gone items by each piece of their evidence.
        let mut gone_by_key: BTreeMap<(&str, String), BTreeSet<&str>> = BTreeMap::new();
        for gone in previous.items.iter().filter(|item| !built.contains(item.id.as_str())) {
            for key in evidence_keys(gone) {
                gone_by_key.entry(key).or_default().insert(gone.id.as_str());
            }
        }
        if gone_by_key.is_empty() {
            return;
        }
        // What a person did or evidence moved wins; an untouched `new` item lends nothing (its
        // successor is as new as it was).
        let moved = |known: Option<&KnownItem>| match known.and_then(|known| known.status) {
            Some(ItemStatus::Regressed) => 4,
            Some(ItemStatus::Resolved) => 3,
            Some(ItemStatus::Ongoing) => 2,
            Some(ItemStatus::New) | None => 0,
        };
        for item in items {
            if self.items.contains_key(&item.id) {
                continue;
            }
            let replaced: BTreeSet<&str> =
                evidence_keys(item).iter().filter_map(|key| gone_by_key.get(key)).flatten().copied().collect();
            let lender = replaced
                .iter()
                .map(|id| (*id, self.items.get(*id)))
                .max_by_key(|(_, known)| (moved(*known), known.map_or(0, |known| known.evidence_size)));
            let inherited = lender.filter(|(_, known)| moved(*known) > 0).and_then(|(_, known)| known.cloned());
            if let Some(mut inherited) = inherited {
                inherited.replaced_by = None;
                self.items.insert(item.id.clone(), inherited);
            }
            for id in replaced {
                self.items.entry(id.to_string()).or_default().replaced_by = Some(item.id.clone());
            }
        }
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
        let board = board_with_statuses(built, &mut state, self.read()?.as_ref(), &logs.pattern_aliases());
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
        Ok(board_with_statuses(built, &mut self.load_state()?, None, &logs.pattern_aliases()))
    }

    /// Applies a person's action to an item of `board` and saves it; the new status, or
    /// `None` when the board has no such item.
    pub fn act(&self, board: &mut Board, id: &str, action: Action) -> anyhow::Result<Option<ItemStatus>> {
        let mut state = self.load_state()?;
        let id = state.current_id(id).to_string();
        let id = id.as_str();
        let Some(item) = board.items.iter_mut().find(|item| item.id == id) else { return Ok(None) };
        if !state.items.contains_key(id) {
            state.record_build(id, item.evidence_size, item.last_seen_ms);
        }
        let status = state.act(id, action);
        if let Some(status) = status {
            item.status = status;
            item.status_reason = None;
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
    // A finding names the patterns of its time; those merged since are named as they stand.
    let aliases = logs.pattern_aliases();
    let mut findings = findings.read_all()?;
    for finding in &mut findings {
        if let Some(query) = finding.evidence.query.as_mut() {
            *query = aliases.resolve_query(&finding.source, query);
        }
    }
    let mut patterns = logs.patterns(None)?;
    logs.add_examples(&mut patterns, None, EXAMPLES_PER_PATTERN)?;
    Ok(build_items(&reports.search("*", None)?, &patterns, &findings, &settings.component_sources))
}

/// The built items with their statuses; `previous` is the board they replace, whose items gone
/// from this build hand their history to their successors.
fn board_with_statuses(
    built: BuiltItems,
    state: &mut FeedbackState,
    previous: Option<&Board>,
    aliases: &PatternAliases,
) -> Board {
    let mut items = built.items;
    if let Some(previous) = previous {
        state.carry_over(previous, &items, aliases);
    }
    for item in &mut items {
        item.status = state.record_build(&item.id, item.evidence_size, item.last_seen_ms);
        item.status_reason = state.items.get(&item.id).and_then(|known| known.moved_because.clone());
    }
    let replaced = state
        .items
        .iter()
        .filter(|(_, known)| known.replaced_by.is_some())
        .map(|(id, _)| (id.clone(), state.current_id(id).to_string()))
        .collect();
    Board { built_ms: chrono::Utc::now().timestamp_millis(), items, refused: built.refused, replaced }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_move_with_evidence_and_people_only() {
        let mut state = FeedbackState::default();
        assert_eq!(state.record_build("FB-1", 10, Some(100)), ItemStatus::New);
        assert_eq!(state.record_build("FB-1", 10, Some(100)), ItemStatus::New, "a rebuild with nothing new");
        assert_eq!(state.record_build("FB-1", 11, Some(110)), ItemStatus::Ongoing, "new evidence");
        assert_eq!(
            state.items["FB-1"].moved_because.as_deref(),
            Some(
                "new evidence arrived after it was first recorded: 11 pieces, 10 before, the newest at 1970-01-01 00:00"
            )
        );
        assert_eq!(state.act("FB-1", Action::Resolve), Some(ItemStatus::Resolved));
        assert_eq!(state.record_build("FB-1", 11, Some(110)), ItemStatus::Resolved);
        assert_eq!(state.record_build("FB-1", 12, Some(90)), ItemStatus::Resolved, "older evidence imported late");
        assert_eq!(state.record_build("FB-1", 13, Some(120)), ItemStatus::Regressed);
        assert_eq!(
            state.items["FB-1"].moved_because.as_deref(),
            Some(
                "evidence newer than the newest it had then (1970-01-01 00:00) arrived after it was resolved (the newest at 1970-01-01 00:00); 13 pieces in all, 11 then"
            )
        );
        assert_eq!(state.record_build("FB-1", 13, Some(120)), ItemStatus::Regressed);
        assert_eq!(state.act("FB-1", Action::Acknowledge), Some(ItemStatus::Ongoing));
        assert_eq!(state.items["FB-1"].moved_because, None, "a person acted on it since");
        assert_eq!(state.record_build("FB-2", 1, None), ItemStatus::New);
        assert_eq!(state.act("FB-2", Action::Acknowledge), Some(ItemStatus::Ongoing));
        assert_eq!(state.act("FB-nope", Action::Acknowledge), None);
    }

    fn item(id: &str, patterns: &[&str], reports: &[&str], evidence_size: u64) -> FeedbackItem {
        let mut item: FeedbackItem = serde_json::from_value(serde_json::json!({
            "id": id, "title": id, "summary": "", "kind": "incident", "status": "new",
            "impact": {"score": 0.0, "reports": 0, "reporters": 0, "sources": 0, "error_volume": 0, "trend": 0.0, "severity": 0.0},
            "evidence": {"reports": [], "patterns": [], "findings": [], "query": null, "reports_query": null},
            "first_seen_ms": 0, "last_seen_ms": 100,
        }))
        .expect("an item");
        item.evidence.reports = reports.iter().map(|r| r.to_string()).collect();
        item.evidence.patterns = patterns
            .iter()
            .map(|p| super::super::items::PatternEvidence {
                pattern: p.to_string(),
                template: String::new(),
                records: 1,
                examples: Vec::new(),
            })
            .collect();
        item.evidence_size = evidence_size;
        item
    }

    #[test]
    fn an_item_that_replaces_another_carries_its_status_and_answers_to_its_id() {
        let mut state = FeedbackState::default();
        let previous = std::cell::RefCell::new(None::<Board>);
        let build = |state: &mut FeedbackState, items: Vec<FeedbackItem>| {
            let board = board_with_statuses(
                BuiltItems { items, refused: Vec::new() },
                state,
                previous.borrow().as_ref(),
                &PatternAliases::default(),
            );
            previous.replace(Some(board.clone()));
            board
        };
        let built = |state: &mut FeedbackState, items: Vec<FeedbackItem>| {
            build(state, items).items.into_iter().map(|item| (item.id, item.status)).collect::<Vec<_>>()
        };
        built(&mut state, vec![item("FB-anomaly", &["p1"], &[], 40), item("FB-other", &["p9"], &[], 5)]);
        assert_eq!(state.act("FB-anomaly", Action::Acknowledge), Some(ItemStatus::Ongoing));
        // A report quoting p1 arrives: the anomaly is now part of the report group's item.
        let after = built(&mut state, vec![item("FB-group", &["p1"], &["R1"], 41), item("FB-other", &["p9"], &[], 5)]);
        assert_eq!(after, [("FB-group".to_string(), ItemStatus::Ongoing), ("FB-other".to_string(), ItemStatus::New)]);
        assert_eq!(state.current_id("FB-anomaly"), "FB-group");
        let board = build(&mut state, vec![item("FB-group", &["p1"], &["R1"], 41)]);
        assert_eq!(board.item("FB-anomaly").map(|i| i.id.as_str()), Some("FB-group"));
        assert_eq!(state.current_id("FB-other"), "FB-other");
        // A successor of an item nobody touched starts new, and still answers to its id.
        built(&mut state, vec![item("FB-spike", &["p7"], &[], 30)]);
        let after = built(&mut state, vec![item("FB-reported", &["p7"], &["R3"], 31)]);
        assert_eq!(after, [("FB-reported".to_string(), ItemStatus::New)]);
        assert_eq!(state.current_id("FB-spike"), "FB-reported");
        // Unrelated new items start new.
        let after =
            built(&mut state, vec![item("FB-group", &["p1"], &["R1"], 41), item("FB-fresh", &["p5"], &["R7"], 3)]);
        assert_eq!(after[1], ("FB-fresh".to_string(), ItemStatus::New));
    }

    #[test]
    fn an_item_whose_pattern_was_merged_into_another_carries_on_as_that_patterns_item() {
        let mut state = FeedbackState::default();
        let items = vec![item("FB-old", &["p1"], &[], 40)];
        let first = board_with_statuses(
            BuiltItems { items, refused: Vec::new() },
            &mut state,
            None,
            &PatternAliases::default(),
        );
        assert_eq!(state.act("FB-old", Action::Resolve), Some(ItemStatus::Resolved));
        let merge = crate::index::PatternMerge {
            source: "app".into(),
            from: "p1".into(),
            into: "p2".into(),
            template: "user <*> logged in".into(),
        };
        let aliases = PatternAliases::from_merges(&[merge]);
        let items = vec![item("FB-new", &["p2"], &[], 40)];
        let board = board_with_statuses(BuiltItems { items, refused: Vec::new() }, &mut state, Some(&first), &aliases);
        assert_eq!(board.items[0].status, ItemStatus::Resolved, "nothing newer: the resolution holds");
        assert_eq!(state.current_id("FB-old"), "FB-new");
        let unfollowed = board_with_statuses(
            BuiltItems { items: vec![item("FB-other", &["p2"], &[], 40)], refused: Vec::new() },
            &mut FeedbackState::default(),
            Some(&first),
            &PatternAliases::default(),
        );
        assert_eq!(unfollowed.items[0].status, ItemStatus::New, "without the alias nothing links the two");
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
