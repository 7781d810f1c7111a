//! Report groups the logs say are two problems. The tickets plugin groups reports by their
//! words; a group's reports can still quote log messages that are never seen together (other
//! sources, or hours apart), as the reports of two incidents with the same symptom ("… returns
//! errors") do. Such a group is split along its links before items are made: each linked report
//! goes with the messages it quotes, each other report with the part whose linked reports it
//! reads most like (the tickets plugin's own measure), and every split says why.
//!
//! Two linked patterns are seen together when they share a log source and their first..last
//! times overlap; the patterns of a group form parts by that relation. A group whose linked
//! patterns are all together (or that has one) is left whole.
//!
//! Then time, in one direction only: a report of a linked group that quotes nothing itself and
//! was filed while the quoted messages' sources were logging, but before the first of those
//! messages, cannot describe them ([`set_apart_earlier`]). It is set apart, and says why.
//!
//! Then hindsight: the tickets plugin grouped each report when it was filed, and a report that
//! quotes nothing may read more like a linked group formed after it than like its own. It moves
//! there when that group admits it and it could describe that group's messages in time
//! ([`regroup_by_hindsight`]).
//!
//! Last, after groups are joined through a message their reports quote: a report of such a
//! set that quotes nothing must read like the set's other reports as a whole, by the tickets
//! plugin's admission rule, or it is set apart ([`unlike_their_set`]).

use std::collections::{BTreeMap, BTreeSet};

use opsloop_plugin_tickets::grouping::{MemberLink, Rules};
use opsloop_plugin_tickets::similarity::{Indexed, compare};

use super::links::Link;
use super::similar::{ReportCorpus, features_of};
use super::symptoms::LEAD_MS;
use crate::index::{HOUR_MS, PatternStats};
use crate::ingest::BugReport;

const DAY_MS: i64 = 24 * HOUR_MS;

/// How long before a group's quoted message was first logged a report that quotes nothing is
/// no longer taken for a report of it: the tickets plugin's time scale (its time prior fades
/// over 30 days), whatever the logs held then.
const STALE_MS: i64 = 30 * DAY_MS;

/// Report groups after splitting: reports by part name, and why each split part exists.
pub struct SplitGroups<'r> {
    pub groups: BTreeMap<String, Vec<&'r BugReport>>,
    /// For each part of a split group: the split in words.
    pub reasons: BTreeMap<String, String>,
}

/// The reports of `ids` named as the subject of a sentence, and the verb of `one` / `many`
/// that agrees with them: `report A quotes`, `reports A, B quote`.
pub fn reports_named(ids: &[&str], one: &str, many: &str) -> String {
    match ids {
        [id] => format!("report {id} {one}"),
        _ => format!("reports {} {many}", ids.join(", ")),
    }
}

/// Whether two patterns are seen together: a shared source and overlapping time spans.
fn together(a: &PatternStats, b: &PatternStats) -> bool {
    let shared_source = a.sources.keys().any(|source| b.sources.contains_key(source));
    shared_source && a.first_seen_ms <= b.last_seen_ms && b.first_seen_ms <= a.last_seen_ms
}

/// The parts of `patterns` under [`together`] (its transitive closure), each sorted.
fn parts_of(patterns: &[&str], stats: &BTreeMap<&str, &PatternStats>) -> Vec<Vec<String>> {
    let mut part: Vec<usize> = (0..patterns.len()).collect();
    for i in 0..patterns.len() {
        for j in i + 1..patterns.len() {
            let (Some(a), Some(b)) = (stats.get(patterns[i]), stats.get(patterns[j])) else { continue };
            if together(a, b) {
                let (from, to) = (part[j], part[i]);
                part.iter_mut().filter(|p| **p == from).for_each(|p| *p = to);
            }
        }
    }
    let mut by_part: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (index, pattern) in patterns.iter().enumerate() {
        by_part.entry(part[index]).or_default().push(pattern.to_string());
    }
    by_part.into_values().collect()
}

/// Splits each group whose reports quote patterns that are not seen together. `links` are the
/// links that stand (generic patterns already refused); `corpus` holds the
/// word statistics of the similarity measure over every stored report.
pub fn split_groups<'r>(
    groups: BTreeMap<String, Vec<&'r BugReport>>,
    links: &[&Link],
    stats: &BTreeMap<&str, &PatternStats>,
    corpus: &ReportCorpus,
) -> SplitGroups<'r> {
    let mut links_of: BTreeMap<&str, Vec<&Link>> = BTreeMap::new();
    for link in links {
        links_of.entry(link.report.as_str()).or_default().push(link);
    }
    let mut result = SplitGroups { groups: BTreeMap::new(), reasons: BTreeMap::new() };
    for (name, members) in groups {
        let quoted: BTreeSet<&str> = members
            .iter()
            .flat_map(|report| links_of.get(report.id.as_str()).into_iter().flatten())
            .map(|link| link.pattern.as_str())
            .collect();
        let quoted: Vec<&str> = quoted.into_iter().collect();
        let parts = if quoted.len() < 2 { Vec::new() } else { parts_of(&quoted, stats) };
        if parts.len() < 2 {
            result.groups.insert(name, members);
            continue;
        }
        let part_of_pattern: BTreeMap<&str, usize> = parts
            .iter()
            .enumerate()
            .flat_map(|(index, patterns)| patterns.iter().map(move |p| (p.as_str(), index)))
            .collect();
        // Linked reports: the part their links weigh most in.
        let mut assigned: Vec<Vec<&'r BugReport>> = vec![Vec::new(); parts.len()];
        let mut unlinked: Vec<&'r BugReport> = Vec::new();
        for &report in &members {
            let Some(own) = links_of.get(report.id.as_str()) else {
                unlinked.push(report);
                continue;
            };
            let mut weight = vec![0.0f64; parts.len()];
            for link in own {
                weight[part_of_pattern[link.pattern.as_str()]] += link.strength;
            }
            let best = (0..parts.len()).max_by(|&a, &b| weight[a].total_cmp(&weight[b]).then(b.cmp(&a))).unwrap_or(0);
            assigned[best].push(report);
        }
        // The others: the part whose linked reports they read most like, then the nearest in time.
        if !unlinked.is_empty() {
            let corpus = corpus.get();
            let features = |reports: &[&BugReport]| reports.iter().map(|r| features_of(r)).collect::<Vec<_>>();
            let part_features: Vec<_> = assigned.iter().map(|reports| features(reports)).collect();
            let part_indexed: Vec<Vec<Indexed>> =
                part_features.iter().map(|fs| fs.iter().map(|f| Indexed::new(corpus, f)).collect()).collect();
            let mut joins: Vec<(usize, &'r BugReport)> = Vec::new();
            for &report in &unlinked {
                let own = features_of(report);
                let own = Indexed::new(corpus, &own);
                let likeness: Vec<f64> = part_indexed
                    .iter()
                    .map(|part| {
                        part.iter().map(|other| compare(&own, other).score).sum::<f64>() / part.len().max(1) as f64
                    })
                    .collect();
                let distance = |part: usize| {
                    assigned[part]
                        .iter()
                        .filter_map(|other| Some((other.created_ms? - report.created_ms?).abs()))
                        .min()
                        .unwrap_or(i64::MAX)
                };
                let best = (0..parts.len())
                    .max_by(|&a, &b| {
                        likeness[a].total_cmp(&likeness[b]).then_with(|| distance(b).cmp(&distance(a))).then(b.cmp(&a))
                    })
                    .unwrap_or(0);
                joins.push((best, report));
            }
            for (part, report) in joins {
                assigned[part].push(report);
            }
        }
        for reports in &mut assigned {
            reports.sort_by_key(|r| (r.created_ms.unwrap_or(i64::MAX), r.id.clone()));
        }
        // The part with the group's oldest report keeps the group's name.
        let mut order: Vec<usize> = (0..parts.len()).filter(|&part| !assigned[part].is_empty()).collect();
        order.sort_by_key(|&part| assigned[part].first().map(|r| (r.created_ms.unwrap_or(i64::MAX), r.id.clone())));
        let template = |pattern: &str| stats.get(pattern).map_or(pattern.to_string(), |p| p.template.clone());
        let described: Vec<String> = order
            .iter()
            .map(|&part| {
                let sources: BTreeSet<&str> = parts[part]
                    .iter()
                    .filter_map(|p| stats.get(p.as_str()))
                    .flat_map(|p| p.sources.keys().map(String::as_str))
                    .collect();
                let ids: Vec<&str> = assigned[part].iter().map(|r| r.id.as_str()).collect();
                format!(
                    "reports {} with `{}` ({})",
                    ids.join(", "),
                    parts[part].iter().map(|p| template(p)).collect::<Vec<_>>().join("`, `"),
                    sources.into_iter().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        let reason = format!(
            "report group {name} split in {}: its reports quote log messages never seen together (another source or another time): {}",
            order.len(),
            described.join("; ")
        );
        for (position, &part) in order.iter().enumerate() {
            let part_name = if position == 0 { name.clone() } else { format!("{name}~{}", assigned[part][0].id) };
            result.reasons.insert(part_name.clone(), reason.clone());
            result.groups.insert(part_name, std::mem::take(&mut assigned[part]));
        }
    }
    result
}

/// The first record of each log source: the oldest first record of its patterns.
pub fn source_starts(patterns: &[PatternStats]) -> BTreeMap<&str, i64> {
    let mut starts: BTreeMap<&str, i64> = BTreeMap::new();
    for pattern in patterns {
        for source in pattern.sources.keys() {
            let start = starts.entry(source.as_str()).or_insert(pattern.first_seen_ms);
            *start = (*start).min(pattern.first_seen_ms);
        }
    }
    starts
}

/// The patterns each report quotes.
fn quoted_by<'l>(links: &[&'l Link]) -> BTreeMap<&'l str, Vec<&'l str>> {
    let mut quoted_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for link in links {
        quoted_by.entry(link.report.as_str()).or_default().push(link.pattern.as_str());
    }
    quoted_by
}

/// The first logged of the messages a group's reports quote.
fn first_quoted<'s>(
    members: &[&BugReport],
    quoted_by: &BTreeMap<&str, Vec<&str>>,
    stats: &BTreeMap<&str, &'s PatternStats>,
) -> Option<&'s PatternStats> {
    let quoted: BTreeSet<&str> =
        members.iter().flat_map(|r| quoted_by.get(r.id.as_str()).into_iter().flatten().copied()).collect();
    quoted.iter().filter_map(|p| stats.get(p).copied()).min_by_key(|p| p.first_seen_ms)
}

/// Whether `report` was filed before the message `first` was logged while its source was
/// already logging (by more than the clocks' slack), or so long before it (past the tickets
/// plugin's time scale, [`STALE_MS`]) that it is another occurrence at best: either way it does
/// not describe that message. A report from before the logs began says nothing about them.
fn filed_before(report: &BugReport, first: &PatternStats, source_starts: &BTreeMap<&str, i64>) -> bool {
    let logging_since =
        first.sources.keys().filter_map(|s| source_starts.get(s.as_str()).copied()).min().unwrap_or(i64::MAX);
    report.created_ms.is_some_and(|filed| {
        (filed >= logging_since && filed < first.first_seen_ms - LEAD_MS) || filed < first.first_seen_ms - STALE_MS
    })
}

/// Sets apart, in each group with links, the reports that quote nothing and were filed before
/// the group's quoted messages were first logged (by more than the clocks' slack) while their
/// sources were already logging: the logs were there and did not show the problem yet, so
/// those reports are about something else; and those filed more than [`STALE_MS`] before it,
/// whether the logs reach back that far or not. They form one part of their own, named after the
/// first of them.
pub fn set_apart_earlier<'r>(
    split: &mut SplitGroups<'r>,
    links: &[&Link],
    stats: &BTreeMap<&str, &PatternStats>,
    source_starts: &BTreeMap<&str, i64>,
) {
    let quoted_by = quoted_by(links);
    let names: Vec<String> = split.groups.keys().cloned().collect();
    for name in names {
        let members = &split.groups[&name];
        let Some(first) = first_quoted(members, &quoted_by, stats) else { continue };
        let long_before = |filed: i64| filed < first.first_seen_ms - STALE_MS;
        let earlier = |report: &BugReport| {
            !quoted_by.contains_key(report.id.as_str()) && filed_before(report, first, source_starts)
        };
        let (apart, kept): (Vec<&'r BugReport>, Vec<&'r BugReport>) = members.iter().partition(|r| earlier(r));
        if apart.is_empty() || kept.is_empty() {
            continue;
        }
        let ids: Vec<&str> = apart.iter().map(|r| r.id.as_str()).collect();
        let when = if apart.iter().all(|r| r.created_ms.is_some_and(long_before)) {
            format!("more than {} days before `{}` was first logged", STALE_MS / DAY_MS, first.template)
        } else {
            format!("before `{}` was first logged, while its source was already logging", first.template)
        };
        let reason = format!(
            "{} no log message and {} {when}: set apart from the reports that quote it",
            reports_named(&ids, &format!("of group {name} quotes"), &format!("of group {name} quote")),
            if ids.len() == 1 { "was filed" } else { "were filed" },
        );
        let part_name = format!("{name}~{}", apart[0].id);
        split.reasons.insert(part_name.clone(), reason.clone());
        split.reasons.entry(name.clone()).or_insert(reason);
        split.groups.insert(name, kept);
        split.groups.insert(part_name, apart);
    }
}

/// Moves each report that quotes nothing, from a group with links to another group with links
/// that reads more like it. The tickets plugin put it in the best group there was when it was
/// filed; the group of its own problem may have formed after it (`Since today invoices gets
/// stuck`, filed before any other report about invoices, had joined the dashboard's reports on
/// `since today … gets stuck`). Likeness is the plugin's admission rule over a group's members,
/// with every report known: a move needs the other group to admit the report, at a higher mean
/// than its own group's other members give it, and the report not to be filed before that
/// group's quoted messages were first logged ([`filed_before`]: it could not describe them).
/// Each move says why, in both groups.
pub fn regroup_by_hindsight<'r>(
    split: &mut SplitGroups<'r>,
    links: &[&Link],
    stats: &BTreeMap<&str, &PatternStats>,
    source_starts: &BTreeMap<&str, i64>,
    corpus: &ReportCorpus,
) {
    let rules = Rules::default();
    let quoted_by = quoted_by(links);
    let first_of: BTreeMap<&str, &PatternStats> = split
        .groups
        .iter()
        .filter_map(|(name, members)| Some((name.as_str(), first_quoted(members, &quoted_by, stats)?)))
        .collect();
    let linked_groups: Vec<String> = first_of.keys().map(|name| name.to_string()).collect();
    if linked_groups.len() < 2 {
        return;
    }
    let corpus = corpus.get();
    let features: BTreeMap<&str, _> = linked_groups
        .iter()
        .flat_map(|name| split.groups[name].iter())
        .map(|report| (report.id.as_str(), features_of(report)))
        .collect();
    let indexed: BTreeMap<&str, Indexed> = features.iter().map(|(id, f)| (*id, Indexed::new(corpus, f))).collect();
    let admission = |report: &str, group: &str| {
        let links: Vec<MemberLink> = split.groups[group]
            .iter()
            .filter(|member| member.id != report)
            .map(|member| MemberLink {
                member: member.id.clone(),
                similarity: compare(&indexed[report], &indexed[member.id.as_str()]),
            })
            .collect();
        rules.admission(group, &links)
    };
    // The groups a report could be linked to at all: a member shares a distinctive title term,
    // the stack trace or an error message with it (the plugin's rule links nothing else), so
    // the work grows with what reports share, not with the number of linked groups.
    let mut groups_by_key: BTreeMap<(u8, String), BTreeSet<&str>> = BTreeMap::new();
    let keys_of = |report: &str| {
        let indexed = &indexed[report];
        let titles = indexed.distinctive_title_keys().iter().map(|key| (0u8, key.to_string()));
        let stack = indexed.features.stack.iter().map(|stack| (1u8, stack.clone()));
        let templates = indexed.features.templates.iter().map(|template| (2u8, template.clone()));
        titles.chain(stack).chain(templates).collect::<Vec<_>>()
    };
    for name in &linked_groups {
        for member in &split.groups[name] {
            for key in keys_of(&member.id) {
                groups_by_key.entry(key).or_default().insert(name.as_str());
            }
        }
    }
    let mut moves: Vec<(&'r BugReport, String, String, f64, f64)> = Vec::new();
    for name in &linked_groups {
        let members = &split.groups[name];
        for &report in members.iter().filter(|r| !quoted_by.contains_key(r.id.as_str())) {
            let reachable: BTreeSet<&str> = keys_of(&report.id)
                .iter()
                .filter_map(|key| groups_by_key.get(key))
                .flatten()
                .copied()
                .filter(|other| other != name && !filed_before(report, first_of[other], source_starts))
                .collect();
            if reachable.is_empty() {
                continue;
            }
            let own = admission(&report.id, name).mean;
            let better = reachable
                .into_iter()
                .map(|other| (other, admission(&report.id, other)))
                .filter(|(_, admitted)| admitted.admitted && admitted.mean > own)
                .max_by(|a, b| a.1.mean.total_cmp(&b.1.mean).then_with(|| b.0.cmp(a.0)));
            if let Some((other, admitted)) = better {
                moves.push((report, name.clone(), other.to_string(), admitted.mean, own));
            }
        }
    }
    for (report, from, to, mean, own) in moves {
        let reason = format!(
            "report {} quotes no log message and reads more like the reports of group {to} (mean {mean:.2}) than \
             those of group {from} it was filed into (mean {own:.2}): moved",
            report.id
        );
        split.groups.get_mut(&from).expect("a linked group").retain(|member| member.id != report.id);
        let joined = split.groups.get_mut(&to).expect("a linked group");
        joined.push(report);
        joined.sort_by_key(|r| (r.created_ms.unwrap_or(i64::MAX), r.id.clone()));
        for group in [from, to] {
            split
                .reasons
                .entry(group)
                .and_modify(|known| *known = format!("{known}; {reason}"))
                .or_insert(reason.clone());
        }
    }
}

/// Reports that quote nothing and read unlike the reports they were joined with: of each set
/// of groups (`sets`: group names) joined because their reports quote one log message, every
/// report without a link of its own must still read like the set's other reports as a whole
/// (the grouping's own rule: its mean link over them). A group joined a set through its
/// quoting report; a report that came into that group on shared everyday words ("Anyone
/// else? … returns errors") does not come along. Returns each report set apart, with the group
/// it leaves.
pub fn unlike_their_set<'r>(
    sets: &[Vec<&str>],
    groups: &BTreeMap<String, Vec<&'r BugReport>>,
    linked_reports: &BTreeSet<&str>,
    corpus: &ReportCorpus,
) -> Vec<(String, &'r BugReport)> {
    let rules = Rules::default();
    let mut apart = Vec::new();
    for set in sets.iter().filter(|set| set.len() > 1) {
        let members: Vec<(&str, &'r BugReport)> =
            set.iter().flat_map(|group| groups[*group].iter().map(move |report| (*group, *report))).collect();
        if members.iter().all(|(_, report)| linked_reports.contains(report.id.as_str())) {
            continue;
        }
        let corpus = corpus.get();
        let features: Vec<_> = members.iter().map(|(_, report)| features_of(report)).collect();
        let indexed: Vec<Indexed> = features.iter().map(|f| Indexed::new(corpus, f)).collect();
        for (at, (group, report)) in members.iter().enumerate() {
            if linked_reports.contains(report.id.as_str()) {
                continue;
            }
            let others: Vec<MemberLink> = members
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != at)
                .map(|(other, (_, member))| MemberLink {
                    member: member.id.clone(),
                    similarity: compare(&indexed[at], &indexed[other]),
                })
                .collect();
            if !rules.admission(group, &others).admitted {
                apart.push((group.to_string(), *report));
            }
        }
    }
    apart
}
