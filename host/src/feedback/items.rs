//! Feedback items: what a product owner plans with, merged from report groups (the tickets
//! plugin's `group` annotation), log patterns and anomaly findings.
//!
//! A report group is linked to the log patterns whose template its reports quote (an error
//! message in a report, masked to a template, containing the pattern's template), and through
//! them to the anomalies found on those patterns; a group whose reports name a component (a
//! log source) is also linked to the rising anomalies (error bursts, spikes, new patterns) of
//! that source active from 6 h before its first report to its last, when no item has their
//! patterns already. Each link is kept in words. What is linked becomes one item; anomalies
//! and new error patterns no report mentions become items of their own. Each item has a stable
//! id (from its anchor: the group, or the pattern), an impact score with its components, the
//! evidence, and a status kept in `feedback.json`: `new` the first time it is built, then
//! `ongoing`; `resolved` when someone resolves it, and `regressed` when a resolved item's
//! evidence grows again (its patterns log more records, or more reports join it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::index::{HOUR_MS, PatternStats};
use crate::ingest::BugReport;
use crate::pipeline::StoredFinding;

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
    pub reporters: u64,
    pub sources: u64,
    /// Error-level log records of the linked patterns.
    pub error_volume: u64,
    /// How much the evidence is rising, 0..=1 (see [`trend`]): 1 when all of it is new, 0
    /// when it is flat or falling.
    pub trend: f64,
    /// The highest finding score, or 0.5 for error-level logs without a finding.
    pub severity: f64,
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
    /// Why the reports and the logs are one item: each link in words.
    #[serde(default)]
    pub links: Vec<String>,
    /// Summaries of the findings merged into the item.
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
    pub impact: Impact,
    pub evidence: ItemEvidence,
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
}

/// A stable id from an item's anchor (32 bits of its stable hash).
fn item_id(anchor: &str) -> String {
    format!("FB-{:08x}", opsloop_sdk::stable_hash(anchor) >> 32)
}

const LEVEL_WORDS: [&str; 9] = ["ERROR", "WARN", "WARNING", "INFO", "DEBUG", "FATAL", "CRITICAL", "TRACE", "SEVERE"];

/// Whether a log template is quoted by a report's error template: the log template's tokens
/// appear in order inside the report's (wildcards match anything), with at least three words.
fn quotes(report_template: &str, log_template: &str) -> bool {
    let report: Vec<&str> = report_template.split(' ').filter(|t| !LEVEL_WORDS.contains(t)).collect();
    let log: Vec<&str> = log_template.split(' ').collect();
    let words = log.iter().filter(|t| t.chars().any(char::is_alphabetic) && **t != "<*>").count();
    if words < 3 || log.len() > report.len() {
        return false;
    }
    (0..=report.len() - log.len()).any(|start| {
        log.iter().zip(&report[start..]).all(|(l, r)| l == r || *l == "<*>" || *r == "<*>" || l.contains("<*>"))
    })
}

fn pattern_of_query(query: &str) -> Vec<String> {
    query
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|part| part.strip_prefix("pattern:"))
        .map(str::to_string)
        .collect()
}

fn is_error_level(level: &str) -> bool {
    ["ERROR", "FATAL", "CRITICAL", "SEVERE", "ERR"].iter().any(|l| level.eq_ignore_ascii_case(l))
}

fn looks_like_request(reports: &[&BugReport]) -> bool {
    reports.iter().all(|report| {
        let title = report.title.to_ascii_lowercase();
        let labelled = report
            .labels
            .iter()
            .any(|l| ["enhancement", "feature", "request"].iter().any(|w| l.to_ascii_lowercase().contains(w)));
        labelled
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
    patterns: BTreeSet<String>,
    findings: Vec<StoredFinding>,
    times: Vec<i64>,
    links: Vec<String>,
}

impl Draft {
    fn new(anchor: String, title: String, kind: ItemKind) -> Self {
        Self {
            anchor,
            title,
            kind,
            reports: Vec::new(),
            reporters: BTreeSet::new(),
            patterns: BTreeSet::new(),
            findings: Vec::new(),
            times: Vec::new(),
            links: Vec::new(),
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

/// How long before a group's first report an anomaly on its component may start and still be
/// linked to it: users report what broke within hours, not days.
const ANOMALY_LEAD_MS: i64 = 6 * HOUR_MS;

/// Findings that say a component's logs changed for the worse.
const RISING_KINDS: [&str; 3] = ["error-burst", "spike", "new-pattern"];

/// The anomalies on a group's component active between [`ANOMALY_LEAD_MS`] before its first
/// report and its last: each finding's patterns with the link in words. A report's `component`
/// names a log source itself (case ignored), or through `component_sources` (the config's
/// `[feedback] component_sources`) when the two are spelled differently.
fn anomalies_on_component(
    members: &[&BugReport],
    findings: &[StoredFinding],
    component_sources: &BTreeMap<String, String>,
) -> Vec<(Vec<String>, String)> {
    let sources = sources_of_components(members, component_sources);
    let filed: Vec<i64> = members.iter().filter_map(|r| r.created_ms).collect();
    let (Some(&first), Some(&last)) = (filed.iter().min(), filed.iter().max()) else { return Vec::new() };
    findings
        .iter()
        .filter(|f| RISING_KINDS.contains(&f.kind.as_str()))
        .filter_map(|finding| {
            let component = sources.get(&finding.source.to_lowercase())?;
            let began = finding.first_seen_ms?;
            let ended = finding.last_seen_ms.unwrap_or(began);
            if ended < first - ANOMALY_LEAD_MS || began > last {
                return None;
            }
            let patterns = finding.evidence.query.as_deref().map(pattern_of_query).unwrap_or_default();
            let lead = (first - began) / 60_000;
            let when = if lead > 0 {
                format!("began {lead} min before the first report")
            } else {
                "was active while the reports were filed".to_string()
            };
            let whose = match component {
                Some(component) => format!("the log source of the reports' component `{component}`"),
                None => "the reports' component".to_string(),
            };
            let link = format!("{} on `{}` ({whose}) {when}", finding.kind, finding.source);
            (!patterns.is_empty()).then_some((patterns, link))
        })
        .collect()
}

/// The log sources (lowercased) the group's report components name, each with the component
/// when it names the source through `component_sources` rather than by spelling it.
fn sources_of_components(
    members: &[&BugReport],
    component_sources: &BTreeMap<String, String>,
) -> BTreeMap<String, Option<String>> {
    let mapped: BTreeMap<String, &str> = component_sources
        .iter()
        .map(|(component, source)| (component.trim().to_lowercase(), source.as_str()))
        .collect();
    let mut sources = BTreeMap::new();
    for component in members.iter().filter_map(|r| r.component.as_deref()).map(str::trim) {
        match mapped.get(&component.to_lowercase()) {
            Some(source) => sources.insert(source.trim().to_lowercase(), Some(component.to_string())),
            None => sources.insert(component.to_lowercase(), None),
        };
    }
    sources
}

/// A new item for a report group (`members` in filing order), titled by its first report.
fn new_group_draft(drafts: &mut Vec<Draft>, group: &str, members: &[&BugReport]) -> usize {
    let kind = if looks_like_request(members) { ItemKind::Request } else { ItemKind::Bug };
    drafts.push(Draft::new(format!("group:{group}"), members[0].title.clone(), kind));
    drafts.len() - 1
}

/// Adds a group's reports (`members` in filing order) to an item.
fn add_reports(draft: &mut Draft, members: &[&BugReport]) {
    for report in members {
        draft.reports.push((report.created_ms, report.id.clone()));
        draft.reporters.extend(report.reporter.clone());
        draft.times.extend(report.created_ms);
    }
}

/// Builds the items from everything stored, best first. `store` carries statuses;
/// `component_sources` names the log source of report components spelled unlike it.
pub fn build_items(
    reports: &[BugReport],
    patterns: &[PatternStats],
    findings: &[StoredFinding],
    component_sources: &BTreeMap<String, String>,
    store: &mut FeedbackState,
) -> Vec<FeedbackItem> {
    let pattern_by_id: BTreeMap<&str, &PatternStats> = patterns.iter().map(|p| (p.pattern.as_str(), p)).collect();
    // Report groups, with the log patterns their reports quote.
    let mut groups: BTreeMap<String, Vec<&BugReport>> = BTreeMap::new();
    for report in reports {
        let group = report.annotations.get("group").cloned().unwrap_or_else(|| format!("report-{}", report.id));
        groups.entry(group).or_default().push(report);
    }
    for members in groups.values_mut() {
        members.sort_by_key(|r| (r.created_ms, r.id.clone()));
    }
    let mut drafts: Vec<Draft> = Vec::new();
    let mut pattern_owner: BTreeMap<String, usize> = BTreeMap::new();
    // Reports and the log templates they quote: groups quoting one pattern are one item.
    let mut draft_of_group: BTreeMap<&str, usize> = BTreeMap::new();
    for (group, members) in &groups {
        let mut linked = BTreeSet::new();
        let mut links = Vec::new();
        for report in members {
            let text = format!("{}\n{}\n{}", report.title, report.body, report.stack_trace.as_deref().unwrap_or(""));
            for template in opsloop_plugin_tickets::fingerprint::error_templates(&text) {
                for stats in patterns {
                    if quotes(&template, &stats.template) && linked.insert(stats.pattern.clone()) {
                        links.push(format!("report {} quotes the log template `{}`", report.id, stats.template));
                    }
                }
            }
        }
        if members.len() < 2 && linked.is_empty() {
            continue;
        }
        let index = match linked.iter().find_map(|pattern| pattern_owner.get(pattern).copied()) {
            Some(index) => index,
            None => new_group_draft(&mut drafts, group, members),
        };
        draft_of_group.insert(group, index);
        let draft = &mut drafts[index];
        add_reports(draft, members);
        for pattern in linked {
            pattern_owner.entry(pattern.clone()).or_insert(index);
            draft.patterns.insert(pattern);
        }
        draft.links.extend(links);
    }
    // Then anomalies on the reports' component near their filing time, for patterns no item
    // has yet (after every quote, so the order of groups does not matter). Unlike a quoted
    // template they never merge two groups: two problems of one component in one afternoon
    // stay two items.
    for (group, members) in &groups {
        let nearby: Vec<(Vec<String>, String)> = anomalies_on_component(members, findings, component_sources)
            .into_iter()
            .map(|(found, link)| (found.into_iter().filter(|p| !pattern_owner.contains_key(p)).collect(), link))
            .filter(|(found, _): &(Vec<String>, String)| !found.is_empty())
            .collect();
        if nearby.is_empty() {
            continue;
        }
        let index = match draft_of_group.get(group.as_str()) {
            Some(&index) => index,
            None => {
                let index = new_group_draft(&mut drafts, group, members);
                add_reports(&mut drafts[index], members);
                index
            }
        };
        let draft = &mut drafts[index];
        for (found, link) in nearby {
            for pattern in found {
                pattern_owner.entry(pattern.clone()).or_insert(index);
                draft.patterns.insert(pattern);
            }
            draft.links.push(link);
        }
    }
    // Findings: on a linked pattern they join that item; otherwise one item per pattern (or
    // per source for anomalous sessions). Ticket groups are already the report items.
    for finding in findings.iter().filter(|f| f.kind != "ticket-group") {
        let finding_patterns = finding.evidence.query.as_deref().map(pattern_of_query).unwrap_or_default();
        let owner = finding_patterns.iter().find_map(|p| pattern_owner.get(p).copied());
        let index = match owner {
            Some(index) => index,
            None => {
                let (anchor, title, kind) = match (finding.kind.as_str(), finding_patterns.first()) {
                    ("anomalous-session", _) => (
                        format!("sessions:{}", finding.source),
                        format!("Anomalous sessions in {}", finding.source),
                        ItemKind::Incident,
                    ),
                    ("new-pattern", Some(pattern)) => {
                        let template =
                            pattern_by_id.get(pattern.as_str()).map_or(finding.summary.clone(), |p| p.template.clone());
                        (
                            format!("pattern:{pattern}"),
                            format!("New log pattern: {template}"),
                            if finding.score >= 0.9 { ItemKind::Regression } else { ItemKind::Incident },
                        )
                    }
                    (_, Some(pattern)) => {
                        let template =
                            pattern_by_id.get(pattern.as_str()).map_or(finding.summary.clone(), |p| p.template.clone());
                        (format!("pattern:{pattern}"), format!("{}: {template}", finding.kind), ItemKind::Incident)
                    }
                    (_, None) => {
                        (format!("{}:{}", finding.kind, finding.source), finding.summary.clone(), ItemKind::Incident)
                    }
                };
                match drafts.iter().position(|d| d.anchor == anchor) {
                    Some(index) => index,
                    None => {
                        drafts.push(Draft::new(anchor, title, kind));
                        drafts.len() - 1
                    }
                }
            }
        };
        let draft = &mut drafts[index];
        for pattern in &finding_patterns {
            pattern_owner.entry(pattern.clone()).or_insert(index);
            draft.patterns.insert(pattern.clone());
        }
        draft.times.extend(finding.first_seen_ms);
        draft.times.extend(finding.last_seen_ms);
        draft.findings.push(finding.clone());
    }
    let newest = patterns
        .iter()
        .map(|p| p.last_seen_ms)
        .chain(reports.iter().filter_map(|r| r.created_ms))
        .chain(findings.iter().filter_map(|f| f.last_seen_ms))
        .max()
        .unwrap_or(0);
    let mut items: Vec<FeedbackItem> =
        drafts.into_iter().map(|draft| finish(draft, &pattern_by_id, newest, store)).collect();
    items.sort_by(|a, b| b.impact.score.total_cmp(&a.impact.score).then_with(|| a.id.cmp(&b.id)));
    items
}

fn finish(
    mut draft: Draft,
    patterns: &BTreeMap<&str, &PatternStats>,
    newest: i64,
    state: &mut FeedbackState,
) -> FeedbackItem {
    draft.reports.sort();
    let report_ids: Vec<String> = draft.reports.iter().map(|(_, id)| id.clone()).collect();
    let linked: Vec<&PatternStats> = draft.patterns.iter().filter_map(|p| patterns.get(p.as_str()).copied()).collect();
    let error_volume: u64 =
        linked.iter().flat_map(|p| p.levels.iter()).filter(|(level, _)| is_error_level(level)).map(|(_, n)| n).sum();
    let sources: BTreeSet<&str> = linked
        .iter()
        .flat_map(|p| p.sources.keys().map(String::as_str))
        .chain(draft.findings.iter().map(|f| f.source.as_str()))
        .filter(|s| *s != "reports")
        .collect();
    for stats in &linked {
        draft.times.push(stats.first_seen_ms);
        draft.times.push(stats.last_seen_ms);
    }
    // The evidence over time: reports as filed, log records by hour, findings as first seen.
    let events: Vec<(i64, u64)> = draft
        .reports
        .iter()
        .filter_map(|(filed, _)| filed.map(|time| (time, 1)))
        .chain(linked.iter().flat_map(|p| p.hourly.iter().map(|(&hour, &count)| (hour * HOUR_MS, count))))
        .chain(draft.findings.iter().filter_map(|f| f.first_seen_ms.map(|time| (time, 1))))
        .collect();
    let severity = draft.findings.iter().map(|f| f.score).fold(if error_volume > 0 { 0.5 } else { 0.0 }, f64::max);
    let reports = draft.reports.len() as u64;
    let reporters = draft.reporters.len() as u64;
    let trend = trend(&events, newest);
    let score = 0.25 * (reports as f64 / 5.0).min(1.0)
        + 0.15 * (reporters as f64 / 5.0).min(1.0)
        + 0.1 * (sources.len() as f64 / 3.0).min(1.0)
        + 0.2 * ((1.0 + error_volume as f64).log10() / 4.0).min(1.0)
        + 0.1 * trend
        + 0.2 * severity.min(1.0);
    let id = item_id(&draft.anchor);
    // Evidence size: what grows when a resolved problem comes back.
    let weight = reports + linked.iter().map(|p| p.count).sum::<u64>() + draft.findings.len() as u64;
    let status = state.status_of(&id, weight);
    let mut summary_parts = Vec::new();
    if reports > 0 {
        summary_parts.push(format!("{reports} reports from {reporters} reporters"));
    }
    if !linked.is_empty() {
        summary_parts.push(format!(
            "{} log records in {} patterns ({error_volume} at error level)",
            linked.iter().map(|p| p.count).sum::<u64>(),
            linked.len()
        ));
    }
    summary_parts.extend(draft.findings.iter().take(3).map(|f| f.summary.clone()));
    let query = (!linked.is_empty())
        .then(|| linked.iter().map(|p| format!("pattern:{}", p.pattern)).collect::<Vec<_>>().join(" OR "));
    let reports_query = draft
        .anchor
        .strip_prefix("group:")
        .filter(|g| !g.starts_with("report-"))
        .map(|g| format!("annotations.group:{g}"));
    FeedbackItem {
        id,
        title: draft.title,
        summary: summary_parts.join("; "),
        kind: draft.kind,
        status,
        impact: Impact { score, reports, reporters, sources: sources.len() as u64, error_volume, trend, severity },
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
            findings: draft.findings.iter().map(|f| format!("{}: {}", f.kind, f.summary)).collect(),
            query,
            reports_query,
        },
        first_seen_ms: draft.times.iter().min().copied(),
        last_seen_ms: draft.times.iter().max().copied(),
    }
}

/// What is remembered about an item between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KnownItem {
    pub status: Option<ItemStatus>,
    /// The evidence size when it was resolved.
    pub resolved_weight: Option<u64>,
    pub weight: u64,
}

/// The statuses of all items ever built, by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedbackState {
    pub items: BTreeMap<String, KnownItem>,
}

impl FeedbackState {
    fn status_of(&mut self, id: &str, weight: u64) -> ItemStatus {
        let known = self.items.entry(id.to_string()).or_default();
        let status = match (known.status, known.resolved_weight) {
            (None, _) => ItemStatus::New,
            (Some(ItemStatus::Resolved), Some(resolved)) if weight > resolved => ItemStatus::Regressed,
            (Some(ItemStatus::Resolved), _) => ItemStatus::Resolved,
            (Some(ItemStatus::Regressed), _) => ItemStatus::Regressed,
            (Some(_), _) => ItemStatus::Ongoing,
        };
        known.status = Some(status);
        known.weight = weight;
        status
    }

    /// Marks an item resolved at its current evidence; false when there is no such item.
    pub fn resolve(&mut self, id: &str) -> bool {
        match self.items.get_mut(id) {
            Some(known) => {
                known.status = Some(ItemStatus::Resolved);
                known.resolved_weight = Some(known.weight);
                true
            }
            None => false,
        }
    }
}

/// `feedback.json` in the data directory.
#[derive(Debug, Clone)]
pub struct FeedbackStore {
    path: PathBuf,
}

impl FeedbackStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn load(&self) -> std::io::Result<FeedbackState> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {error}", self.path.display()))
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(FeedbackState::default()),
            Err(error) => Err(error),
        }
    }

    pub fn save(&self, state: &FeedbackState) -> std::io::Result<()> {
        let temporary = self.path.with_extension("tmp");
        std::fs::write(&temporary, serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?)?;
        std::fs::rename(&temporary, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_quoting_an_error_matches_its_log_template() {
        assert!(quotes(
            "ERROR upstream timeout after <*> ms calling billing",
            "upstream timeout after <*> ms calling billing"
        ));
        assert!(!quotes("ERROR upstream timeout after <*> ms calling billing", "cache refresh took <*> ms"));
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

    #[test]
    fn a_resolved_item_whose_evidence_grows_is_regressed() {
        let mut state = FeedbackState::default();
        assert_eq!(state.status_of("FB-1", 10), ItemStatus::New);
        assert_eq!(state.status_of("FB-1", 10), ItemStatus::Ongoing);
        assert!(state.resolve("FB-1"));
        assert_eq!(state.status_of("FB-1", 10), ItemStatus::Resolved);
        assert_eq!(state.status_of("FB-1", 12), ItemStatus::Regressed);
    }
}
