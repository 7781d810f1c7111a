//! Feedback items: what a product owner plans with, built from report groups (the tickets
//! plugin's `group` annotation), the report↔log links [`super::links`] judges, and the anomaly
//! [`super::episodes`]. Stored reports, pattern statistics and findings flow in; ranked items
//! with their evidence in words, and the links refused, flow out.
//!
//! One item is one problem:
//! - a report group, with the log patterns its reports individually quote;
//! - report groups become one item only when their reports quote the same log pattern, or
//!   when a group with no link describes a linked group's symptom while its logs were seen
//!   ([`super::symptoms`]); the reason is stated, and never past [`MAX_GROUPS_PER_ITEM`] groups;
//! - a pattern quoted by reports of more than [`MAX_GROUPS_PER_PATTERN`] groups is too generic to
//!   be evidence of one problem — unless every quote was filed within [`INCIDENT_WINDOW_MS`], as
//!   reports of one incident are, and they are at most [`MAX_GROUPS_PER_INCIDENT`] groups — and
//!   its links are refused and reported;
//! - an anomaly episode joins the item that owns one of its patterns; else the item of
//!   episodes of its source that began within [`CO_OCCURRENCE_MS`] of that item's first (one
//!   attack or outage moves many patterns of a source at once: one problem, stated so), of
//!   patterns known before or of templates one word apart (`provider=stripe` / `provider=adyen`:
//!   one new message whose value the miner has not yet seen vary); else it is an item of its own.
//!
//! Items get a stable id (from their anchor: the oldest group, or the pattern), an impact
//! score with its components, and the size of their evidence; [`super::board`] gives them a
//! status.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::episodes::{Episode, episodes};
use super::links::{Link, LinkContext, choose_by_group, find_candidate_links};
use super::similar::ReportCorpus;
use super::split::{
    regroup_by_hindsight, reports_named, set_apart_earlier, source_starts, split_groups, unlike_their_set,
};
use super::symptoms::symptom_joins;
use crate::index::{HOUR_MS, PatternStats};
use crate::ingest::BugReport;
use crate::pipeline::StoredFinding;

/// A pattern quoted by reports of more groups than this is generic (its links are refused),
/// unless the quotes came together in time.
pub const MAX_GROUPS_PER_PATTERN: usize = 3;

/// Reports of one incident are filed within days of each other; a message quoted across a
/// longer span is quoted for many reasons.
pub const INCIDENT_WINDOW_MS: i64 = 7 * 24 * HOUR_MS;

/// Report groups one pattern may join when every quote was filed within [`INCIDENT_WINDOW_MS`].
pub const MAX_GROUPS_PER_INCIDENT: usize = 6;

/// Report groups one item may join through quoted patterns.
pub const MAX_GROUPS_PER_ITEM: usize = MAX_GROUPS_PER_INCIDENT;

/// Records a pattern that is only new (no rate anomaly, no report) needs to be an item of its
/// own: a message seen a few times is a line in the logs, not a backlog item. (The rate
/// detectors ask as much of a spike.)
pub const MIN_RECORDS_OF_A_NEW_PATTERN_ITEM: u64 = 10;

/// Anomaly episodes of one source that begin this close to the first of an item made of
/// episodes alone are one incident (an attack moves `Failed password`, `Invalid user`,
/// `Received disconnect`, … in the same minutes); measured from the item's first episode, so
/// a steady stream of episodes never chains into one item. Only episodes of patterns logged at
/// least [`KNOWN_BEFORE_MS`] before them join so: a message never logged before is a failure
/// of its own, whatever moves beside it.
pub const CO_OCCURRENCE_MS: i64 = 10 * 60_000;

/// How long before an episode its patterns must have been logged for it to join co-occurring
/// episodes ([`CO_OCCURRENCE_MS`]).
pub const KNOWN_BEFORE_MS: i64 = HOUR_MS;

/// What kind of work an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Bug,
    Incident,
    Regression,
    Request,
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    New,
    Ongoing,
    Resolved,
    Regressed,
}

/// The impact score and what it is made of (each component in 0..=1, and the raw numbers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    pub score: f64,
    pub reports: u64,
    /// Distinct known reporters.
    pub reporters: u64,
    /// Reports with no reporter.
    #[serde(default)]
    pub unknown_reporters: u64,
    pub sources: u64,
    /// Error-level log records of the linked patterns.
    pub error_volume: u64,
    /// How much the evidence is rising, 0..=1 (see [`trend`]): 1 when all of it is new, 0
    /// when it is flat or falling.
    pub trend: f64,
    /// The highest finding score, or 0.5 for error-level logs without a finding.
    pub severity: f64,
    /// Whether people's reports and the logs both show the problem (a stated link joins them).
    #[serde(default)]
    pub corroborated: bool,
}

/// A log pattern cited by an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternEvidence {
    pub pattern: String,
    pub template: String,
    pub records: u64,
    pub examples: Vec<String>,
}

/// Why an item exists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemEvidence {
    pub reports: Vec<String>,
    pub patterns: Vec<PatternEvidence>,
    /// Why the reports and the logs are one item: each link in words, with the text it matched.
    #[serde(default)]
    pub links: Vec<String>,
    /// The anomaly episodes of the item, each in words with its time span.
    pub findings: Vec<String>,
    /// A search that shows the log records (`opsloop search`), if any.
    pub query: Option<String>,
    /// A search that shows the reports (`opsloop search --reports`), if any.
    pub reports_query: Option<String>,
}

/// One backlog proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackItem {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub kind: ItemKind,
    pub status: ItemStatus,
    /// Why evidence moved its status, in words: the evidence that made a `new` item `ongoing`,
    /// or a resolved one `regressed` (absent when a person set it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub impact: Impact,
    pub evidence: ItemEvidence,
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    /// The log sources its patterns and episodes come from, sorted.
    #[serde(default)]
    pub sources: Vec<String>,
    /// How much evidence the item has (reports + log records + findings): new evidence is this
    /// growing.
    #[serde(default)]
    pub evidence_size: u64,
}

/// What one build of the board made: the items, best first, and the links it refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuiltItems {
    pub items: Vec<FeedbackItem>,
    /// Each refused link or merge in words.
    pub refused: Vec<String>,
}

/// A stable id from an item's anchor (32 bits of its stable hash).
fn item_id(anchor: &str) -> String {
    format!("FB-{:08x}", opsloop_sdk::stable_hash(anchor) >> 32)
}

fn is_error_level(level: &str) -> bool {
    ["ERROR", "FATAL", "CRITICAL", "SEVERE", "ERR"].iter().any(|l| level.eq_ignore_ascii_case(l))
}

/// The columns a tracker writes a report's type in: Jira's `Issue Type`, GitLab's and
/// GitHub's `type`, Bugzilla's `bug_severity` / `Severity` (where `enhancement` lives).
const TYPE_FIELDS: [&str; 6] = ["Issue Type", "issue_type", "type", "Type", "bug_severity", "Severity"];

/// Report types that ask for something new rather than report a fault.
const REQUEST_TYPES: [&str; 7] =
    ["story", "new feature", "feature", "improvement", "enhancement", "epic", "feature request"];

fn looks_like_request(reports: &[&BugReport]) -> bool {
    reports.iter().all(|report| {
        let title = report.title.to_ascii_lowercase();
        let labelled = report
            .labels
            .iter()
            .any(|l| ["enhancement", "feature", "request"].iter().any(|w| l.to_ascii_lowercase().contains(w)));
        let typed = TYPE_FIELDS.iter().filter_map(|name| report.fields.get(*name)?.as_str()).any(|kind| {
            let kind = kind.trim().to_ascii_lowercase();
            REQUEST_TYPES.contains(&kind.as_str())
        });
        labelled
            || typed
            || ["feature request", "add support", "please add", "would be nice", "allow "]
                .iter()
                .any(|w| title.contains(w))
    })
}

struct Draft {
    anchor: String,
    title: String,
    kind: ItemKind,
    /// (filed, id)
    reports: Vec<(Option<i64>, String)>,
    reporters: BTreeSet<String>,
    unknown_reporters: u64,
    patterns: BTreeSet<String>,
    episodes: Vec<Episode>,
    times: Vec<i64>,
    links: Vec<String>,
    corroborated: bool,
    /// Whether its reports are not one report group as the tickets plugin made it (a group was
    /// split, or several joined): they are then searched by id.
    split: bool,
    /// The patterns whose episodes began together with its first ([`CO_OCCURRENCE_MS`]),
    /// that one first; empty when none did.
    together: Vec<String>,
}

impl Draft {
    fn new(anchor: String, title: String, kind: ItemKind) -> Self {
        Self {
            anchor,
            title,
            kind,
            reports: Vec::new(),
            reporters: BTreeSet::new(),
            unknown_reporters: 0,
            patterns: BTreeSet::new(),
            episodes: Vec::new(),
            times: Vec::new(),
            links: Vec::new(),
            corroborated: false,
            split: false,
            together: Vec::new(),
        }
    }

    /// Adds a group's reports (in filing order).
    fn add_reports(&mut self, members: &[&BugReport]) {
        for report in members {
            self.reports.push((report.created_ms, report.id.clone()));
            match &report.reporter {
                Some(reporter) => {
                    self.reporters.insert(reporter.clone());
                }
                None => self.unknown_reporters += 1,
            }
            self.times.extend(report.created_ms);
        }
    }
}

/// How much `events` (time in ms, count) are rising as of `newest`, the newest time in the
/// whole store (not the clock: an import of last month's logs has its own "now"). The hours
/// from the first event to `newest` are cut in half; the trend is (newer − older) / (newer +
/// older), floored at 0. All events in one hour, that of `newest`, is all new: 1.
pub fn trend(events: &[(i64, u64)], newest: i64) -> f64 {
    let Some(first) = events.iter().map(|&(time, _)| time.div_euclid(HOUR_MS)).min() else { return 0.0 };
    let last = events.iter().map(|&(time, _)| time).fold(newest, i64::max).div_euclid(HOUR_MS);
    let hours = (last - first + 1) as f64;
    if hours < 2.0 {
        return 1.0;
    }
    let middle = first as f64 + hours / 2.0;
    let (mut newer, mut older) = (0u64, 0u64);
    for &(time, count) in events {
        if time.div_euclid(HOUR_MS) as f64 >= middle {
            newer += count;
        } else {
            older += count;
        }
    }
    let total = newer + older;
    if total == 0 { 0.0 } else { ((newer as f64 - older as f64) / total as f64).max(0.0) }
}

/// Report groups joined through shared quoted patterns: a union-find over group names that
/// refuses a union past [`MAX_GROUPS_PER_ITEM`].
struct GroupSets {
    parent: BTreeMap<String, String>,
    size: BTreeMap<String, usize>,
}

impl GroupSets {
    fn new<'a>(groups: impl Iterator<Item = &'a String>) -> Self {
        let parent: BTreeMap<String, String> = groups.map(|g| (g.clone(), g.clone())).collect();
        let size = parent.keys().map(|g| (g.clone(), 1)).collect();
        Self { parent, size }
    }

    fn root(&self, group: &str) -> String {
        let mut current = group.to_string();
        while self.parent[&current] != current {
            current = self.parent[&current].clone();
        }
        current
    }

    /// Adds a group of its own.
    fn add(&mut self, group: String) {
        self.size.insert(group.clone(), 1);
        self.parent.insert(group.clone(), group);
    }

    /// Joins the sets of `groups`; false (and nothing joined) when the result would be too big.
    fn join(&mut self, groups: &[&String]) -> bool {
        let roots: BTreeSet<String> = groups.iter().map(|g| self.root(g)).collect();
        let total: usize = roots.iter().map(|r| self.size[r]).sum();
        if total > MAX_GROUPS_PER_ITEM {
            return false;
        }
        let mut roots = roots.into_iter();
        let Some(first) = roots.next() else { return true };
        for other in roots {
            self.parent.insert(other.clone(), first.clone());
        }
        self.size.insert(first, total);
        true
    }
}

/// Builds the items from everything stored, best first, with the links refused.
/// `component_sources` names the log source of report components spelled unlike it.
pub fn build_items(
    reports: &[BugReport],
    patterns: &[PatternStats],
    findings: &[StoredFinding],
    component_sources: &BTreeMap<String, String>,
) -> BuiltItems {
    let pattern_by_id: BTreeMap<&str, &PatternStats> = patterns.iter().map(|p| (p.pattern.as_str(), p)).collect();
    let found = episodes(findings, &pattern_by_id);
    let mut refused = Vec::new();
    if found.all_variable_findings > 0 {
        refused.push(format!(
            "{} anomaly findings on patterns that are all variables (such as `<*> <*>`) are not evidence on their own",
            found.all_variable_findings
        ));
    }
    let mut context = LinkContext {
        component_sources: component_sources
            .iter()
            .map(|(component, source)| (component.trim().to_lowercase(), source.trim().to_lowercase()))
            .collect(),
        ..LinkContext::default()
    };
    for episode in &found.episodes {
        if let (Some(first), Some(last)) = (episode.first_ms, episode.last_ms) {
            for pattern in &episode.patterns {
                context.episodes.entry(pattern.clone()).or_default().push((first, last));
            }
        }
    }
    // Report groups, in filing order.
    let mut groups: BTreeMap<String, Vec<&BugReport>> = BTreeMap::new();
    let mut group_of: BTreeMap<&str, String> = BTreeMap::new();
    for report in reports {
        let group = report.annotations.get("group").cloned().unwrap_or_else(|| format!("report-{}", report.id));
        group_of.insert(report.id.as_str(), group.clone());
        groups.entry(group).or_default().push(report);
    }
    let report_refs: Vec<&BugReport> = reports.iter().collect();
    let links = choose_by_group(find_candidate_links(&report_refs, patterns, &context), &group_of);

    for members in groups.values_mut() {
        members.sort_by_key(|r| (r.created_ms, r.id.clone()));
    }
    // Each pattern's links by group; generic patterns are refused whole.
    let mut by_pattern: BTreeMap<&str, BTreeMap<String, Vec<&Link>>> = BTreeMap::new();
    for link in &links {
        let group = group_of[link.report.as_str()].clone();
        by_pattern.entry(link.pattern.as_str()).or_default().entry(group).or_default().push(link);
    }
    let template_of = |pattern: &str| pattern_by_id.get(pattern).map_or(pattern.to_string(), |p| p.template.clone());
    let filed: BTreeMap<&str, Option<i64>> = reports.iter().map(|r| (r.id.as_str(), r.created_ms)).collect();
    by_pattern.retain(|pattern, by_group| {
        if by_group.len() <= MAX_GROUPS_PER_PATTERN {
            return true;
        }
        let times: Option<Vec<i64>> = by_group.values().flatten().map(|link| filed[link.report.as_str()]).collect();
        let together = times.is_some_and(|times| {
            times.iter().max().zip(times.iter().min()).is_some_and(|(last, first)| last - first <= INCIDENT_WINDOW_MS)
        });
        if together && by_group.len() <= MAX_GROUPS_PER_INCIDENT {
            return true;
        }
        let reports: usize = by_group.values().map(Vec::len).sum();
        refused.push(format!(
            "log pattern `{}` is quoted by {reports} reports in {} groups filed {}: too generic to be evidence of one problem, not linked",
            template_of(pattern),
            by_group.len(),
            if together { "together" } else { "far apart" }
        ));
        false
    });
    // A group whose reports quote messages never seen together is split along its links.
    let standing: Vec<&Link> = by_pattern.values().flat_map(|by_group| by_group.values().flatten().copied()).collect();
    let linked_reports: BTreeSet<&str> = standing.iter().map(|link| link.report.as_str()).collect();
    let corpus = ReportCorpus::new(reports);
    let mut split = split_groups(groups, &standing, &pattern_by_id, &corpus);
    let source_starts = source_starts(patterns);
    set_apart_earlier(&mut split, &standing, &pattern_by_id, &source_starts);
    regroup_by_hindsight(&mut split, &standing, &pattern_by_id, &source_starts, &corpus);
    let mut groups = split.groups;
    let mut split_reasons = split.reasons;
    let mut group_of: BTreeMap<&str, String> = BTreeMap::new();
    for (group, members) in &groups {
        for report in members {
            group_of.insert(report.id.as_str(), group.clone());
        }
    }
    let mut by_pattern: BTreeMap<&str, BTreeMap<String, Vec<&Link>>> = BTreeMap::new();
    for link in standing {
        let group = group_of[link.report.as_str()].clone();
        by_pattern.entry(link.pattern.as_str()).or_default().entry(group).or_default().push(link);
    }
    // Groups quoting one pattern are one problem, strongest pattern first, within the cap.
    let mut sets = GroupSets::new(groups.keys());
    let strongest =
        |by_group: &BTreeMap<String, Vec<&Link>>| by_group.values().flatten().map(|l| l.strength).fold(0.0, f64::max);
    let mut shared: Vec<(&str, &BTreeMap<String, Vec<&Link>>)> =
        by_pattern.iter().filter(|(_, by_group)| by_group.len() > 1).map(|(p, g)| (*p, g)).collect();
    shared.sort_by(|a, b| strongest(b.1).total_cmp(&strongest(a.1)).then_with(|| a.0.cmp(b.0)));
    let mut merge_reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut not_joined: BTreeSet<&str> = BTreeSet::new();
    for (pattern, by_group) in shared {
        let names: Vec<&String> = by_group.keys().collect();
        if sets.join(&names) {
            let root = sets.root(names[0]);
            let reports: Vec<&str> = by_group.values().flatten().map(|l| l.report.as_str()).collect();
            merge_reasons.entry(root).or_default().push(format!(
                "reports {} in {} groups quote the same log message `{}`",
                reports.join(", "),
                names.len(),
                template_of(pattern)
            ));
        } else {
            not_joined.insert(pattern);
            refused.push(format!(
                "log pattern `{}` would join {} report groups into an item of more than {MAX_GROUPS_PER_ITEM}: kept with its strongest group only",
                template_of(pattern),
                names.len()
            ));
        }
    }
    // Of groups joined through a quoted message, the reports that quote nothing come along
    // only when they read like the joined reports as a whole.
    let mut joined: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for group in groups.keys() {
        joined.entry(sets.root(group)).or_default().push(group.as_str());
    }
    let joined: Vec<Vec<&str>> = joined.into_values().collect();
    let mut apart_by_group: BTreeMap<String, Vec<&BugReport>> = BTreeMap::new();
    for (group, report) in unlike_their_set(&joined, &groups, &linked_reports, &corpus) {
        apart_by_group.entry(group).or_default().push(report);
    }
    for (group, apart) in apart_by_group {
        let ids: Vec<&str> = apart.iter().map(|report| report.id.as_str()).collect();
        let reason = format!(
            "{} no log message and {} unlike the reports their group was joined with through a quoted message: set \
             apart",
            reports_named(&ids, &format!("of group {group} quotes"), &format!("of group {group} quote")),
            if ids.len() == 1 { "reads" } else { "read" },
        );
        groups.get_mut(&group).expect("a group of the set").retain(|member| !ids.contains(&member.id.as_str()));
        split_reasons
            .entry(group.clone())
            .and_modify(|known| *known = format!("{known}; {reason}"))
            .or_insert(reason.clone());
        for report in apart {
            let part = format!("{group}~{}", report.id);
            split_reasons.insert(part.clone(), reason.clone());
            groups.insert(part.clone(), vec![report]);
            sets.add(part);
        }
    }
    // Groups quoting two new messages of one source one word apart (`provider=stripe` /
    // `provider=adyen`) that were first logged, and moved, within minutes of each other: one
    // message whose value the miner had not yet seen vary.
    let new_at = |pattern: &str| {
        let stats = pattern_by_id.get(pattern)?;
        let began = context.episodes.get(pattern)?.iter().map(|&(first, _)| first).min()?;
        let source = stats.sources.keys().next().filter(|_| stats.sources.len() == 1)?;
        (began - stats.first_seen_ms <= CO_OCCURRENCE_MS).then_some((source.as_str(), stats.first_seen_ms))
    };
    let quoted: Vec<&str> = by_pattern.keys().copied().filter(|p| !not_joined.contains(p)).collect();
    for (at, &one) in quoted.iter().enumerate() {
        for &other in &quoted[at + 1..] {
            let (Some((source, first)), Some((other_source, other_first))) = (new_at(one), new_at(other)) else {
                continue;
            };
            if source != other_source
                || (first - other_first).abs() > CO_OCCURRENCE_MS
                || !siblings(one, other, &pattern_by_id)
            {
                continue;
            }
            let names: Vec<&String> = by_pattern[one].keys().chain(by_pattern[other].keys()).collect();
            let apart = names.iter().map(|group| sets.root(group)).collect::<BTreeSet<_>>().len() > 1;
            if apart && sets.join(&names) {
                merge_reasons.entry(sets.root(names[0])).or_default().push(format!(
                    "its reports quote two messages of `{source}` one word apart, first logged within {} minutes of \
                     each other, one message whose values were not yet seen to vary: `{}` and `{}`",
                    CO_OCCURRENCE_MS / 60_000,
                    template_of(one),
                    template_of(other)
                ));
            }
        }
    }
    // Groups with no link that describe a linked group's symptom, filed while its logs were seen.
    let mut linked_groups: BTreeMap<String, Vec<&PatternStats>> = BTreeMap::new();
    for (pattern, by_group) in &by_pattern {
        let Some(stats) = pattern_by_id.get(pattern) else { continue };
        for group in by_group.keys() {
            linked_groups.entry(group.clone()).or_default().push(*stats);
        }
    }
    for join in symptom_joins(&groups, &linked_groups, &corpus) {
        if sets.join(&[&join.linked, &join.unlinked]) {
            merge_reasons.entry(sets.root(&join.linked)).or_default().push(join.reason);
        }
    }
    // One draft per set of groups that has a link or more than one report.
    let mut drafts: Vec<Draft> = Vec::new();
    let mut draft_of_root: BTreeMap<String, usize> = BTreeMap::new();
    let mut pattern_owner: BTreeMap<String, usize> = BTreeMap::new();
    let mut sets_members: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for group in groups.keys() {
        sets_members.entry(sets.root(group)).or_default().push(group);
    }
    let oldest = |group: &String| groups[group].first().map(|r| (r.created_ms.unwrap_or(i64::MAX), r.id.clone()));
    for (root, mut members) in sets_members {
        let reports: usize = members.iter().map(|g| groups[*g].len()).sum();
        let linked: Vec<(&str, &Link)> = members
            .iter()
            .flat_map(|g| {
                by_pattern.iter().flat_map(move |(pattern, by_group)| {
                    by_group.get(*g).into_iter().flatten().map(move |link| (*pattern, *link))
                })
            })
            .collect();
        if reports < 2 && linked.is_empty() {
            continue;
        }
        members.sort_by_key(|g| oldest(g));
        let first = &groups[members[0]];
        let all: Vec<&BugReport> = members.iter().flat_map(|g| groups[*g].iter().copied()).collect();
        let kind = if looks_like_request(&all) { ItemKind::Request } else { ItemKind::Bug };
        let mut draft = Draft::new(format!("group:{}", members[0]), first[0].title.clone(), kind);
        draft.split = members.len() > 1;
        for group in &members {
            draft.add_reports(&groups[*group]);
            if let Some(reason) = split_reasons.remove(*group) {
                draft.split = true;
                draft.links.push(reason);
            }
        }
        draft.links.extend(merge_reasons.remove(&root).unwrap_or_default());
        let mut seen_links = BTreeSet::new();
        for (pattern, link) in linked {
            if not_joined.contains(pattern) {
                // Kept only with the group whose link is strongest.
                let best = by_pattern[pattern]
                    .iter()
                    .max_by(|a, b| strongest_of(a.1).total_cmp(&strongest_of(b.1)))
                    .map(|(group, _)| group);
                if best != Some(&group_of[link.report.as_str()]) {
                    continue;
                }
            }
            if seen_links.insert((link.report.clone(), pattern)) {
                draft.links.push(link.reason(&template_of(pattern)));
            }
            draft.patterns.insert(pattern.to_string());
            draft.corroborated = true;
        }
        let index = drafts.len();
        for pattern in &draft.patterns {
            pattern_owner.entry(pattern.clone()).or_insert(index);
        }
        draft_of_root.insert(root, index);
        drafts.push(draft);
    }
    // Anomaly episodes: with the item that owns one of their patterns, or an item of their own.
    for episode in found.episodes {
        let owner = episode.patterns.iter().find_map(|p| pattern_owner.get(p).copied());
        let index = match owner {
            Some(index) => index,
            None => {
                let only_new = episode.kinds.iter().all(|kind| kind == "new-pattern");
                let records: u64 =
                    episode.patterns.iter().filter_map(|p| pattern_by_id.get(p.as_str())).map(|p| p.count).sum();
                if only_new && records < MIN_RECORDS_OF_A_NEW_PATTERN_ITEM {
                    continue;
                }
                if let Some(index) = co_occurring(&drafts, &episode, &pattern_by_id) {
                    let draft = &mut drafts[index];
                    if draft.together.is_empty() {
                        draft.together.extend(draft.episodes[0].patterns.iter().cloned());
                    }
                    draft.together.extend(episode.patterns.iter().cloned());
                    for pattern in &episode.patterns {
                        pattern_owner.entry(pattern.clone()).or_insert(index);
                        draft.patterns.insert(pattern.clone());
                    }
                    draft.times.extend(first_record_of(&episode, &pattern_by_id));
                    draft.times.extend(last_record_of(&episode, &pattern_by_id));
                    draft.episodes.push(episode);
                    continue;
                }
                let (anchor, title, kind) = episode_anchor(&episode, &pattern_by_id);
                let index = drafts.iter().position(|d| d.anchor == anchor).unwrap_or_else(|| {
                    drafts.push(Draft::new(anchor, title, kind));
                    drafts.len() - 1
                });
                for pattern in &episode.patterns {
                    pattern_owner.entry(pattern.clone()).or_insert(index);
                    drafts[index].patterns.insert(pattern.clone());
                }
                index
            }
        };
        let draft = &mut drafts[index];
        draft.times.extend(first_record_of(&episode, &pattern_by_id));
        draft.times.extend(last_record_of(&episode, &pattern_by_id));
        draft.episodes.push(episode);
    }
    let newest = patterns
        .iter()
        .map(|p| p.last_seen_ms)
        .chain(reports.iter().filter_map(|r| r.created_ms))
        .chain(findings.iter().filter_map(|f| f.last_seen_ms))
        .max()
        .unwrap_or(0);
    let mut items: Vec<FeedbackItem> = drafts.into_iter().map(|draft| finish(draft, &pattern_by_id, newest)).collect();
    items.sort_by(|a, b| b.impact.score.total_cmp(&a.impact.score).then_with(|| a.id.cmp(&b.id)));
    BuiltItems { items, refused }
}

/// When an episode's first record was: its start, which is a detector's bucket edge, no earlier
/// than the oldest record of its patterns (a message first logged at 14:05:25 in a bucket from
/// 14:00 began at 14:05:25).
fn first_record_of(episode: &Episode, patterns: &BTreeMap<&str, &PatternStats>) -> Option<i64> {
    let oldest =
        episode.patterns.iter().filter_map(|p| patterns.get(p.as_str()).map(|stats| stats.first_seen_ms)).min();
    match (episode.first_ms, oldest) {
        (Some(start), Some(oldest)) => Some(start.max(oldest)),
        (start, _) => start,
    }
}

/// When an episode's last record was: its end, which is a detector's bucket edge, no later than
/// the newest record of its patterns.
fn last_record_of(episode: &Episode, patterns: &BTreeMap<&str, &PatternStats>) -> Option<i64> {
    let newest = episode.patterns.iter().filter_map(|p| patterns.get(p.as_str()).map(|stats| stats.last_seen_ms)).max();
    match (episode.last_ms, newest) {
        (Some(end), Some(newest)) => Some(end.min(newest)),
        (end, _) => end,
    }
}

/// The item of episodes alone, of `episode`'s source, whose first episode began within
/// [`CO_OCCURRENCE_MS`] of `episode`, both of patterns known [`KNOWN_BEFORE_MS`] before, or
/// `episode`'s patterns each one word apart from one of that first episode's ([`siblings`])
/// (never one with reports, nor anomalous sessions, which name no pattern).
fn co_occurring(drafts: &[Draft], episode: &Episode, patterns: &BTreeMap<&str, &PatternStats>) -> Option<usize> {
    let known_before = |episode: &Episode| {
        let start = episode.first_ms;
        !episode.patterns.is_empty()
            && episode.patterns.iter().all(|pattern| {
                let first_seen = patterns.get(pattern.as_str()).map(|stats| stats.first_seen_ms);
                matches!((first_seen, start), (Some(seen), Some(start)) if seen <= start - KNOWN_BEFORE_MS)
            })
    };
    // Every pattern of `episode` one word apart from a pattern of `first`.
    let one_word_apart = |first: &Episode| {
        !episode.patterns.is_empty()
            && episode
                .patterns
                .iter()
                .all(|pattern| first.patterns.iter().any(|other| siblings(pattern, other, patterns)))
    };
    let start = episode.first_ms?;
    let known = known_before(episode);
    drafts.iter().position(|draft| {
        let Some(first) = draft.episodes.first() else { return false };
        draft.reports.is_empty()
            && first.source == episode.source
            && ((known && known_before(first)) || one_word_apart(first))
            && first.first_ms.is_some_and(|first_start| (start - first_start).abs() <= CO_OCCURRENCE_MS)
    })
}

/// Whether two patterns' templates are one word apart: as many tokens, all but one the same,
/// and neither template all variables.
fn siblings(a: &str, b: &str, patterns: &BTreeMap<&str, &PatternStats>) -> bool {
    let (Some(a), Some(b)) = (patterns.get(a), patterns.get(b)) else { return false };
    let (a, b): (Vec<&str>, Vec<&str>) =
        (a.template.split_whitespace().collect(), b.template.split_whitespace().collect());
    a.len() == b.len()
        && a.iter().zip(&b).filter(|(x, y)| x != y).count() == 1
        && super::links::has_constant_words(&a.join(" "))
}

fn strongest_of(links: &[&Link]) -> f64 {
    links.iter().map(|l| l.strength).fold(0.0, f64::max)
}

/// Why an item of episodes holds several patterns: which began moving together, where and when.
fn together_statement(draft: &Draft, patterns: &BTreeMap<&str, &PatternStats>) -> Option<String> {
    let first = draft.episodes.first().filter(|_| !draft.together.is_empty())?;
    let named: Vec<String> = draft
        .together
        .iter()
        .take(3)
        .map(|id| format!("`{}`", patterns.get(id.as_str()).map_or(id.as_str(), |p| p.template.as_str())))
        .collect();
    let more = draft.together.len().saturating_sub(named.len());
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    let at = first.first_ms.map(|ms| format!(" at {}", super::episodes::clock(ms))).unwrap_or_default();
    let one_word_apart =
        draft.together.iter().all(|id| draft.together.iter().all(|other| id == other || siblings(id, other, patterns)));
    if one_word_apart {
        return Some(format!(
            "{} patterns of `{}` one word apart began within {} minutes of each other{at}: one message whose \
             values were not yet seen to vary, {}{more}",
            draft.together.len(),
            first.source,
            CO_OCCURRENCE_MS / 60_000,
            named.join(", ")
        ));
    }
    Some(format!(
        "{} patterns of `{}` began moving within {} minutes of each other{at}, as one incident's do: {}{more}",
        draft.together.len(),
        first.source,
        CO_OCCURRENCE_MS / 60_000,
        named.join(", ")
    ))
}

/// The anchor, title and kind of an item made of one anomaly episode.
fn episode_anchor(episode: &Episode, patterns: &BTreeMap<&str, &PatternStats>) -> (String, String, ItemKind) {
    let template = |pattern: &String| patterns.get(pattern.as_str()).map(|p| p.template.clone());
    if episode.kinds.contains("anomalous-session") && episode.patterns.is_empty() {
        return (
            format!("sessions:{}", episode.source),
            format!("Anomalous sessions in {}", episode.source),
            ItemKind::Incident,
        );
    }
    match episode.patterns.first() {
        Some(pattern) => {
            let text = template(pattern).unwrap_or_else(|| episode.summary.clone());
            if episode.kinds.len() == 1 && episode.kinds.contains("new-pattern") {
                let kind = if episode.max_score >= 0.9 { ItemKind::Regression } else { ItemKind::Incident };
                (format!("pattern:{pattern}"), format!("New log pattern on {}: {text}", episode.source), kind)
            } else {
                let kinds: Vec<&str> = episode.kinds.iter().map(String::as_str).collect();
                (
                    format!("pattern:{pattern}"),
                    format!("{} on {}: {text}", kinds.join(" + "), episode.source),
                    ItemKind::Incident,
                )
            }
        }
        None => {
            let kinds: Vec<&str> = episode.kinds.iter().map(String::as_str).collect();
            (format!("{}:{}", kinds.join("+"), episode.source), episode.summary.clone(), ItemKind::Incident)
        }
    }
}

fn finish(mut draft: Draft, patterns: &BTreeMap<&str, &PatternStats>, newest: i64) -> FeedbackItem {
    if let Some(statement) = together_statement(&draft, patterns) {
        draft.links.push(statement);
    }
    draft.reports.sort();
    let report_ids: Vec<String> = draft.reports.iter().map(|(_, id)| id.clone()).collect();
    let linked: Vec<&PatternStats> = draft.patterns.iter().filter_map(|p| patterns.get(p.as_str()).copied()).collect();
    let error_volume: u64 =
        linked.iter().flat_map(|p| p.levels.iter()).filter(|(level, _)| is_error_level(level)).map(|(_, n)| n).sum();
    let sources: BTreeSet<&str> = linked
        .iter()
        .flat_map(|p| p.sources.keys().map(String::as_str))
        .chain(draft.episodes.iter().map(|e| e.source.as_str()))
        .filter(|s| *s != "reports")
        .collect();
    for stats in &linked {
        draft.times.push(stats.first_seen_ms);
        draft.times.push(stats.last_seen_ms);
    }
    // The evidence over time: reports as filed, log records by hour, episodes as they began.
    let events: Vec<(i64, u64)> = draft
        .reports
        .iter()
        .filter_map(|(filed, _)| filed.map(|time| (time, 1)))
        .chain(linked.iter().flat_map(|p| p.volume.iter().map(|(&hour, &count)| (hour * HOUR_MS, count))))
        .chain(draft.episodes.iter().filter_map(|e| e.first_ms.map(|time| (time, 1))))
        .collect();
    let severity = draft.episodes.iter().map(|e| e.max_score).fold(if error_volume > 0 { 0.5 } else { 0.0 }, f64::max);
    let reports = draft.reports.len() as u64;
    let reporters = draft.reporters.len() as u64;
    let trend = trend(&events, newest);
    // People who can be told apart: each unknown reporter counts as one at most once.
    let people = reporters + draft.unknown_reporters.min(1);
    let score = 0.2 * (reports as f64 / 5.0).min(1.0)
        + 0.1 * (people as f64 / 5.0).min(1.0)
        + 0.1 * (sources.len() as f64 / 3.0).min(1.0)
        + 0.15 * ((1.0 + error_volume as f64).log10() / 4.0).min(1.0)
        + 0.1 * trend
        + 0.15 * severity.min(1.0)
        + 0.2 * f64::from(u8::from(draft.corroborated));
    let records: u64 = linked.iter().map(|p| p.count).sum();
    let findings: usize = draft.episodes.iter().map(|e| e.findings).sum();
    let counted = |count: u64, one: &str, many: &str| format!("{count} {}", if count == 1 { one } else { many });
    let mut summary_parts = Vec::new();
    if reports > 0 {
        let reports = counted(reports, "report", "reports");
        summary_parts.push(match (reporters, draft.unknown_reporters) {
            (0, _) => format!("{reports}, reporter unknown"),
            (_, 0) => format!("{reports} from {}", counted(reporters, "reporter", "reporters")),
            (_, unknown) => {
                format!("{reports} from {} ({unknown} with no reporter)", counted(reporters, "reporter", "reporters"))
            }
        });
    }
    if !linked.is_empty() {
        summary_parts.push(format!(
            "{} in {} ({error_volume} at error level)",
            counted(records, "log record", "log records"),
            counted(linked.len() as u64, "pattern", "patterns")
        ));
    }
    if !draft.episodes.is_empty() {
        summary_parts.push(format!(
            "{} ({})",
            counted(draft.episodes.len() as u64, "anomaly episode", "anomaly episodes"),
            counted(findings as u64, "finding", "findings")
        ));
    }
    let query = (!linked.is_empty())
        .then(|| linked.iter().map(|p| format!("pattern:{}", p.pattern)).collect::<Vec<_>>().join(" OR "));
    let reports_query = if draft.split {
        Some(report_ids.iter().map(|id| format!("id:\"{}\"", id.replace('"', "\\\""))).collect::<Vec<_>>().join(" OR "))
    } else {
        draft
            .anchor
            .strip_prefix("group:")
            .filter(|g| !g.starts_with("report-"))
            .map(|g| format!("annotations.group:{g}"))
    };
    FeedbackItem {
        id: item_id(&draft.anchor),
        title: draft.title,
        summary: summary_parts.join("; "),
        kind: draft.kind,
        status: ItemStatus::New,
        status_reason: None,
        impact: Impact {
            score,
            reports,
            reporters,
            unknown_reporters: draft.unknown_reporters,
            sources: sources.len() as u64,
            error_volume,
            trend,
            severity,
            corroborated: draft.corroborated,
        },
        evidence: ItemEvidence {
            reports: report_ids,
            patterns: linked
                .iter()
                .map(|p| PatternEvidence {
                    pattern: p.pattern.clone(),
                    template: p.template.clone(),
                    records: p.count,
                    examples: p.examples.iter().take(3).cloned().collect(),
                })
                .collect(),
            links: draft.links,
            findings: draft.episodes.iter().map(Episode::describe).collect(),
            query,
            reports_query,
        },
        first_seen_ms: draft.times.iter().min().copied(),
        last_seen_ms: draft.times.iter().max().copied(),
        sources: sources.iter().map(|source| source.to_string()).collect(),
        evidence_size: reports + records + findings as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str, group: &str, body: &str, created_ms: i64) -> BugReport {
        let mut report = super::super::links::report_for_tests(id, &format!("problem {id}"), body);
        report.created_ms = Some(created_ms);
        report.reporter = Some(format!("person-{id}"));
        report.annotations.insert("group".to_string(), group.to_string());
        report
    }

    /// Five quoting reports in five groups, `apart` ms between filings, beside unrelated ones.
    fn five_quotes(apart: i64) -> BuiltItems {
        let mut reports: Vec<BugReport> = (0..5)
            .map(|i| {
                let body =
                    format!("checkout broke, the log says: upstream timeout after {} ms calling billing", 5000 + i);
                report(&format!("Q{i}"), &format!("g{i}"), &body, i * apart)
            })
            .collect();
        reports.extend(
            (0..20).map(|i| report(&format!("B{i}"), &format!("b{i}"), "the sidebar is white in dark mode", 0)),
        );
        let pattern = PatternStats {
            pattern: "p1".into(),
            template: "upstream timeout after <*> ms calling billing".into(),
            count: 50,
            first_seen_ms: 0,
            last_seen_ms: 0,
            levels: [("ERROR".to_string(), 50)].into(),
            sources: [("shop".to_string(), 50)].into(),
            examples: Vec::new(),
            aliases: Vec::new(),
            volume: BTreeMap::new(),
        };
        build_items(&reports, &[pattern], &[], &BTreeMap::new())
    }

    #[test]
    fn groups_quoting_one_message_in_one_week_are_one_item_and_across_months_none() {
        let incident = five_quotes(HOUR_MS);
        let item = incident.items.iter().find(|item| !item.evidence.patterns.is_empty()).expect("linked");
        assert_eq!(item.evidence.reports, ["Q0", "Q1", "Q2", "Q3", "Q4"]);
        assert!(item.evidence.links[0].contains("in 5 groups quote the same log message"), "{:?}", item.evidence.links);
        assert!(incident.refused.is_empty(), "{:?}", incident.refused);

        let generic = five_quotes(30 * 24 * HOUR_MS);
        assert!(generic.items.iter().all(|item| item.evidence.patterns.is_empty()), "{:?}", generic.items);
        assert!(generic.refused[0].contains("in 5 groups filed far apart: too generic"), "{:?}", generic.refused);
    }

    fn pattern(id: &str, template: &str, source: &str, first_seen_ms: i64, last_seen_ms: i64) -> PatternStats {
        PatternStats {
            pattern: id.into(),
            template: template.into(),
            count: 40,
            first_seen_ms,
            last_seen_ms,
            levels: [("ERROR".to_string(), 40)].into(),
            sources: [(source.to_string(), 40)].into(),
            examples: Vec::new(),
            aliases: Vec::new(),
            volume: BTreeMap::new(),
        }
    }

    /// One report group "g": two reports quote a billing message, two a keystore message and a
    /// fifth only describes the keystore symptom; `keystore_source` holds the keystore message.
    fn patterns_of(item: &FeedbackItem) -> Vec<&str> {
        item.evidence.patterns.iter().map(|p| p.pattern.as_str()).collect()
    }

    fn one_group_two_messages(keystore_source: &str) -> BuiltItems {
        let mut reports = vec![
            report("R1", "g", "checkout returns errors: upstream timeout after 5012 ms calling billing", 0),
            report("R2", "g", "payments returns errors, upstream timeout after 7310 ms calling billing", HOUR_MS),
            report("R3", "g", "login returns errors: token signature rejected for tenant acme by keystore", 0),
            report("R4", "g", "sso returns errors, token signature rejected for tenant zeta by keystore", HOUR_MS),
            report("R5", "g", "login returns errors since the keystore rotation, token signature bad", 2 * HOUR_MS),
        ];
        reports.extend(
            (0..20).map(|i| report(&format!("B{i}"), &format!("b{i}"), "the sidebar is white in dark mode", 0)),
        );
        let patterns = [
            pattern("p1", "upstream timeout after <*> ms calling billing", "shop", 0, 3 * HOUR_MS),
            pattern("p2", "token signature rejected for tenant <*> by keystore", keystore_source, 0, 3 * HOUR_MS),
        ];
        build_items(&reports, &patterns, &[], &BTreeMap::new())
    }

    #[test]
    fn a_report_group_quoting_messages_never_seen_together_is_split_and_says_why() {
        let built = one_group_two_messages("auth");
        let linked: Vec<&FeedbackItem> = built.items.iter().filter(|item| !item.evidence.patterns.is_empty()).collect();
        assert_eq!(linked.len(), 2, "{:?}", built.items);
        let billing = linked.iter().find(|item| patterns_of(item) == ["p1"]).expect("billing item");
        let keystore = linked.iter().find(|item| patterns_of(item) == ["p2"]).expect("keystore item");
        assert_eq!(billing.evidence.reports, ["R1", "R2"]);
        assert_eq!(keystore.evidence.reports, ["R3", "R4", "R5"], "R5 reads like the keystore reports");
        for item in [billing, keystore] {
            assert!(
                item.evidence.links.iter().any(|link| link.contains("report group g split in 2")),
                "{:?}",
                item.evidence.links
            );
        }
        assert_eq!(keystore.evidence.reports_query.as_deref(), Some(r#"id:"R3" OR id:"R4" OR id:"R5""#));
    }

    #[test]
    fn a_report_group_quoting_messages_of_one_source_at_one_time_stays_one_item() {
        let built = one_group_two_messages("shop");
        let linked: Vec<&FeedbackItem> = built.items.iter().filter(|item| !item.evidence.patterns.is_empty()).collect();
        assert_eq!(linked.len(), 1, "{:?}", built.items);
        let mut reports = linked[0].evidence.reports.clone();
        reports.sort();
        assert_eq!(reports, ["R1", "R2", "R3", "R4", "R5"]);
        assert_eq!(patterns_of(linked[0]), ["p1", "p2"]);
        assert!(linked[0].evidence.links.iter().all(|link| !link.contains("split")), "{:?}", linked[0].evidence.links);
    }

    #[test]
    fn a_report_filed_before_its_groups_message_was_logged_is_set_apart() {
        let day = 24 * HOUR_MS;
        let mut reports = vec![
            report("Q1", "g", "checkout fails: upstream timeout after 5012 ms calling billing", day + 2 * HOUR_MS),
            report("S1", "g", "checkout fails for everyone since an hour", day + 3 * HOUR_MS),
            report("E1", "g", "checkout fails on the old tablet", HOUR_MS),
        ];
        reports.extend(
            (0..20).map(|i| report(&format!("B{i}"), &format!("b{i}"), "the sidebar is white in dark mode", 0)),
        );
        // The shop logged from hour 0; the billing timeout first appears a day later.
        let patterns = [
            pattern("p1", "upstream timeout after <*> ms calling billing", "shop", day + HOUR_MS, day + 4 * HOUR_MS),
            pattern("p0", "request served in <*> ms", "shop", 0, day + 4 * HOUR_MS),
        ];
        // E1 is set apart, and the item says why in `reason`.
        let e1_set_apart = |reports: &[BugReport], patterns: &[PatternStats], reason: &str| {
            let built = build_items(reports, patterns, &[], &BTreeMap::new());
            let linked = built.items.iter().find(|item| patterns_of(item) == ["p1"]).expect("linked item");
            assert_eq!(linked.evidence.reports, ["Q1", "S1"], "{:?}", built.items);
            assert!(linked.evidence.links.iter().any(|l| l.contains(reason)), "{:?}", linked.evidence.links);
        };
        e1_set_apart(&reports, &patterns, "report E1 of group g quotes no log message and was filed before");
        // Before the source logged at all, the logs say nothing about the report: it stays.
        let mut patterns = patterns;
        patterns[1].first_seen_ms = day;
        let built = build_items(&reports, &patterns, &[], &BTreeMap::new());
        let linked = built.items.iter().find(|item| patterns_of(item) == ["p1"]).expect("linked item");
        assert_eq!(linked.evidence.reports, ["E1", "Q1", "S1"], "{:?}", built.items);

        // Filed months before, it is not a report of this, however far back the logs go.
        let mut reports = reports;
        reports[2].created_ms = Some(day - 60 * day);
        e1_set_apart(
            &reports,
            &patterns,
            "report E1 of group g quotes no log message and was filed more than 30 days before",
        );
    }

    #[test]
    fn a_report_that_quotes_nothing_moves_to_a_linked_group_formed_after_it_that_reads_more_like_it() {
        let titled = |id: &str, group: &str, title: &str, body: &str, filed: i64| {
            let mut report = report(id, group, body, filed);
            report.title = title.to_string();
            report
        };
        let reports_with = |invoices_filed: i64| {
            let mut reports = vec![
                titled(
                    "QD",
                    "dashboard",
                    "The dashboard gets stuck",
                    "the dashboard gets stuck: render queue full after 12 retries",
                    2 * HOUR_MS,
                ),
                titled(
                    "SD",
                    "dashboard",
                    "Since today the dashboard gets stuck",
                    "since today the dashboard gets stuck",
                    2 * HOUR_MS,
                ),
                // Filed into the dashboard's group: no group about invoices existed yet.
                titled(
                    "SI",
                    "dashboard",
                    "Since today invoices get stuck",
                    "since today invoices get stuck when exported",
                    invoices_filed,
                ),
                titled(
                    "QI",
                    "invoices",
                    "Invoices get stuck when exported",
                    "invoices get stuck when exported: invoice export failed for batch 8812",
                    6 * HOUR_MS,
                ),
            ];
            reports.extend(
                (0..20).map(|i| report(&format!("B{i}"), &format!("b{i}"), "the sidebar is white in dark mode", 0)),
            );
            reports
        };
        let patterns = [
            pattern("pd", "render queue full after <*> retries", "web", HOUR_MS, 3 * HOUR_MS),
            pattern("pi", "invoice export failed for batch <*>", "billing", 4 * HOUR_MS, 7 * HOUR_MS),
            pattern("pb", "billing run took <*> ms", "billing", 0, 7 * HOUR_MS),
        ];
        let item_of = |built: &BuiltItems, pattern: &str| {
            built.items.iter().find(|item| patterns_of(item) == [pattern]).cloned().expect("linked item")
        };
        let built = build_items(&reports_with(5 * HOUR_MS), &patterns, &[], &BTreeMap::new());
        let invoices = item_of(&built, "pi");
        assert_eq!(invoices.evidence.reports, ["SI", "QI"], "{:?}", built.items);
        assert!(
            invoices.evidence.links.iter().any(|l| l.contains("report SI quotes no log message and reads more like")),
            "{:?}",
            invoices.evidence.links
        );
        assert_eq!(item_of(&built, "pd").evidence.reports, ["QD", "SD"], "{:?}", built.items);

        // Filed before the export failures were logged, while billing was logging: it cannot be
        // about them, and stays where the tickets plugin put it.
        let built = build_items(&reports_with(2 * HOUR_MS), &patterns, &[], &BTreeMap::new());
        assert_eq!(item_of(&built, "pi").evidence.reports, ["QI"], "{:?}", built.items);
    }

    #[test]
    fn reports_of_a_type_that_asks_for_something_new_make_a_request() {
        let mut reports: Vec<BugReport> = ["Add dark mode to the storefront", "Dark theme please"]
            .iter()
            .enumerate()
            .map(|(at, title)| {
                let mut report = report(&format!("S{at}"), "g", "customers asked for a dark theme", 0);
                report.title = title.to_string();
                report.fields.insert("Issue Type".into(), "Story".into());
                report
            })
            .collect();
        let built = build_items(&reports, &[], &[], &BTreeMap::new());
        assert_eq!(built.items.len(), 1);
        assert_eq!(built.items[0].kind, ItemKind::Request);
        reports[1].fields.insert("Issue Type".into(), "Bug".into());
        let built = build_items(&reports, &[], &[], &BTreeMap::new());
        assert_eq!(built.items[0].kind, ItemKind::Bug, "one bug among them: a bug");
    }

    #[test]
    fn a_report_that_quotes_nothing_and_reads_unlike_the_groups_joined_with_its_own_is_set_apart() {
        let titled = |id: &str, group: &str, title: &str, body: &str| {
            let mut report = report(id, group, body, HOUR_MS);
            report.title = title.to_string();
            report
        };
        let reports_with = |stray: &str| {
            let mut reports = vec![
                titled(
                    "Q1",
                    "g1",
                    "Checkout fails with a billing timeout",
                    "checkout fails: upstream timeout after 5012 ms calling billing",
                ),
                titled(
                    "S1",
                    "g1",
                    "Checkout fails, billing timeout",
                    "checkout fails with a billing timeout since this morning",
                ),
                titled(
                    "Q2",
                    "g2",
                    "Billing timeout on checkout",
                    "checkout: upstream timeout after 7310 ms calling billing",
                ),
                titled("U1", "g2", stray, stray),
            ];
            reports.extend(
                (0..20).map(|i| report(&format!("B{i}"), &format!("b{i}"), "the sidebar is white in dark mode", 0)),
            );
            reports
        };
        let patterns = [pattern("p1", "upstream timeout after <*> ms calling billing", "shop", 0, 3 * HOUR_MS)];
        let built =
            build_items(&reports_with("Anyone else? user preferences page is blank"), &patterns, &[], &BTreeMap::new());
        let linked = built.items.iter().find(|item| patterns_of(item) == ["p1"]).expect("linked item");
        assert_eq!(linked.evidence.reports, ["Q1", "Q2", "S1"], "{:?}", built.items);
        // Two groups joined: their reports are searched by id, not by one group's annotation.
        assert_eq!(linked.evidence.reports_query.as_deref(), Some(r#"id:"Q1" OR id:"Q2" OR id:"S1""#));
        assert!(
            linked.evidence.links.iter().any(|l| l.contains("report U1 of group g2 quotes no log message")),
            "{:?}",
            linked.evidence.links
        );
        // Alone, it is a report of its own, as any single report is: no item.
        assert!(built.items.iter().all(|item| !item.evidence.reports.iter().any(|id| id == "U1")), "{:?}", built.items);

        // A report that reads like the joined reports comes along.
        let built =
            build_items(&reports_with("Checkout fails again, billing timeout"), &patterns, &[], &BTreeMap::new());
        let linked = built.items.iter().find(|item| patterns_of(item) == ["p1"]).expect("linked item");
        assert_eq!(linked.evidence.reports, ["Q1", "Q2", "S1", "U1"], "{:?}", built.items);
    }

    fn spike(source: &str, pattern: &str, first_ms: i64) -> StoredFinding {
        StoredFinding {
            plugin: "patterns".into(),
            source: source.into(),
            kind: "spike".into(),
            score: 0.8,
            summary: format!("spike of {pattern}"),
            first_seen_ms: Some(first_ms),
            last_seen_ms: Some(first_ms + 20 * 60_000),
            evidence: crate::pipeline::StoredEvidence {
                query: Some(format!("pattern:{pattern}")),
                ..Default::default()
            },
        }
    }

    #[test]
    fn known_patterns_of_one_source_spiking_in_the_same_minutes_are_one_incident_and_a_new_message_stays_apart() {
        let attack = 10 * HOUR_MS;
        let patterns = [
            pattern("failed", "Failed password for <*> from <*> port <*> ssh2", "sshd", 0, attack + HOUR_MS),
            pattern("invalid", "Invalid user <*> from <*>", "sshd", 0, attack + HOUR_MS),
            pattern("bye", "Received disconnect from <*>: <*>: Bye Bye [preauth]", "sshd", 0, attack + HOUR_MS),
            pattern("later", "Connection closed by <*> [preauth]", "sshd", 0, attack + 2 * HOUR_MS),
            pattern("other", "Disk quota exceeded on <*>", "nfs", 0, attack + HOUR_MS),
            pattern("fresh", "fatal: no hostkey alg <*>", "sshd", attack - 60_000, attack + HOUR_MS),
        ];
        let findings = [
            spike("sshd", "failed", attack),
            spike("sshd", "invalid", attack + 2 * 60_000),
            spike("sshd", "bye", attack + 9 * 60_000),
            spike("sshd", "later", attack + 40 * 60_000),
            spike("nfs", "other", attack + 60_000),
            spike("sshd", "fresh", attack + 60_000),
        ];
        let built = build_items(&[], &patterns, &findings, &BTreeMap::new());
        let mut items: Vec<Vec<&str>> = built.items.iter().map(patterns_of).collect();
        items.sort();
        assert_eq!(items, [vec!["bye", "failed", "invalid"], vec!["fresh"], vec!["later"], vec!["other"]]);
        let attack_item = built.items.iter().find(|item| item.evidence.patterns.len() == 3).unwrap();
        assert_eq!(
            attack_item.evidence.links,
            [
                "3 patterns of `sshd` began moving within 10 minutes of each other at 1970-01-01 10:00, as one incident's do: \
              `Failed password for <*> from <*> port <*> ssh2`, `Invalid user <*> from <*>`, \
              `Received disconnect from <*>: <*>: Bye Bye [preauth]`"
            ]
        );
        assert_eq!(attack_item.evidence.findings.len(), 3, "each episode stays evidence with its own span");
        assert_eq!(attack_item.last_seen_ms, Some(attack + HOUR_MS), "its patterns' last record");

        // An episode ends at its detector's bucket edge: the item ends at its last record.
        let ended = [pattern("failed", "Failed password for <*> from <*> port <*> ssh2", "sshd", 0, attack + 60_000)];
        let built = build_items(&[], &ended, &[spike("sshd", "failed", attack)], &BTreeMap::new());
        assert_eq!(built.items[0].last_seen_ms, Some(attack + 60_000));
        // And begins at its first record: a message first logged 5 minutes into the bucket.
        let begun = [pattern("fresh", "fatal: no hostkey alg <*>", "sshd", attack + 5 * 60_000, attack + 9 * 60_000)];
        let built = build_items(&[], &begun, &[spike("sshd", "fresh", attack)], &BTreeMap::new());
        assert_eq!(built.items[0].first_seen_ms, Some(attack + 5 * 60_000));
    }

    #[test]
    fn new_messages_one_word_apart_beginning_together_are_one_item() {
        let at = 14 * HOUR_MS;
        let template = |provider: &str| {
            format!("PaymentGatewayError: handshake failed for <*> provider={provider} after <*> retries")
        };
        let patterns = [
            pattern("stripe", &template("stripe"), "orders", at + 20_000, at + 20 * 60_000),
            pattern("adyen", &template("adyen"), "orders", at, at + 20 * 60_000),
            pattern("other", "disk full on <*>", "orders", at + 60_000, at + 20 * 60_000),
            pattern("elsewhere", &template("paypal"), "billing", at + 60_000, at + 20 * 60_000),
        ];
        let findings = [
            spike("orders", "adyen", at),
            spike("orders", "stripe", at + 60_000),
            spike("orders", "other", at + 60_000),
            spike("billing", "elsewhere", at + 60_000),
        ];
        let built = build_items(&[], &patterns, &findings, &BTreeMap::new());
        let mut items: Vec<Vec<&str>> = built.items.iter().map(patterns_of).collect();
        items.sort();
        assert_eq!(
            items,
            [vec!["adyen", "stripe"], vec!["elsewhere"], vec!["other"]],
            "other words or another source stay apart"
        );
        let item = built.items.iter().find(|item| item.evidence.patterns.len() == 2).unwrap();
        assert!(item.evidence.links[0].contains("one word apart"), "{:?}", item.evidence.links);
        // Far apart in time they are two items.
        let late = [spike("orders", "adyen", at), spike("orders", "stripe", at + 3 * HOUR_MS)];
        assert_eq!(build_items(&[], &patterns, &late, &BTreeMap::new()).items.len(), 2);

        // Each quoted by a report group of its own: one item, stated so.
        let quote = |provider: &str, order: u32| {
            format!(
                "checkout broke: PaymentGatewayError: handshake failed for {order} provider={provider} after 3 retries"
            )
        };
        let mut reports = vec![
            report("R1", "g1", &quote("stripe", 55501), at + 5 * 60_000),
            report("R2", "g2", &quote("adyen", 71234), at + 9 * 60_000),
        ];
        reports.extend(
            (0..20).map(|i| report(&format!("B{i}"), &format!("b{i}"), "the sidebar is white in dark mode", 0)),
        );
        let built = build_items(&reports, &patterns, &findings, &BTreeMap::new());
        let item = built.items.iter().find(|item| item.evidence.reports.contains(&"R1".to_string())).unwrap();
        assert_eq!(item.evidence.reports, ["R1", "R2"], "{:?}", built.items);
        assert!(
            item.evidence.links.iter().any(|l| l.contains("two messages of `orders` one word apart")),
            "{:?}",
            item.evidence.links
        );
        // Messages logged for days before they moved are two known events: two items.
        let mut known = patterns.clone();
        known[0].first_seen_ms = 0;
        known[1].first_seen_ms = 0;
        let built = build_items(&reports, &known, &findings, &BTreeMap::new());
        let item = built.items.iter().find(|item| item.evidence.reports.contains(&"R1".to_string())).unwrap();
        assert_eq!(item.evidence.reports, ["R1"], "{:?}", built.items);
    }

    #[test]
    fn the_trend_is_the_share_of_evidence_in_the_newer_half_of_its_span() {
        let day = 24 * HOUR_MS;
        let steady: Vec<(i64, u64)> = (0..10).map(|d| (d * day, 5)).collect();
        assert_eq!(trend(&steady, 9 * day), 0.0, "flat");
        let rising: Vec<(i64, u64)> = (0..10).map(|d| (d * day, 1 + d as u64 * 3)).collect();
        let rising_trend = trend(&rising, 9 * day);
        assert!(rising_trend > 0.3 && rising_trend < 1.0, "{rising_trend}");
        assert_eq!(trend(&rising, 40 * day), 0.0, "it stopped long before the newest data");
        assert_eq!(trend(&[(9 * day + 5, 3)], 9 * day + 60_000), 1.0, "all of it new");
        assert_eq!(trend(&[], 9 * day), 0.0);
    }
}
