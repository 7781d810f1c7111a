//! Report groups that describe a linked item's symptom without quoting its logs. The tickets
//! plugin groups reports by their words, and a report that pastes a log line reads unlike one
//! that says only "the editor shows an error": one incident's reports can land in two groups,
//! one with the log evidence and one without. A group with no link joins the linked group
//! whose titles it shares, when every one of its reports was filed while that group's log
//! patterns were seen (time corroborates the words; it never joins on its own), and when no
//! linked group of another problem qualifies too (an ambiguous group joins none; linked groups
//! that quote one pattern are one problem).

use std::collections::BTreeMap;

use opsloop_plugin_tickets::similarity::{Indexed, compare};

use super::similar::{ReportCorpus, features_of};
use super::split::reports_named;
use crate::index::{HOUR_MS, PatternStats};
use crate::ingest::BugReport;

/// The mean title cosine a group with no link needs with a linked group's reports.
pub const MIN_TITLE_LIKENESS: f64 = 0.5;

/// The title terms every pair of reports must share: a subject and what it does ("search" and
/// "crashes"), not an effect alone.
pub const MIN_SHARED_TITLE_TERMS: usize = 2;

/// How long before a pattern's first record a report about it may be filed (clocks and first
/// records are not exact).
pub const LEAD_MS: i64 = HOUR_MS;

/// How long after a pattern's last record a report about it may still be filed.
const LAG_MS: i64 = 48 * HOUR_MS;

/// A join: the group with no link, the linked group it joins, and why in words.
pub struct SymptomJoin {
    pub unlinked: String,
    pub linked: String,
    pub reason: String,
}

/// The joins of groups with no link into linked groups. `linked` names each linked group's
/// patterns; `corpus` holds the similarity measure's word statistics over every stored report.
pub fn symptom_joins(
    groups: &BTreeMap<String, Vec<&BugReport>>,
    linked: &BTreeMap<String, Vec<&PatternStats>>,
    corpus: &ReportCorpus,
) -> Vec<SymptomJoin> {
    if linked.is_empty() {
        return Vec::new();
    }
    let seen_while = |report: &BugReport, patterns: &[&PatternStats]| {
        report.created_ms.is_some_and(|filed| {
            patterns.iter().any(|p| filed >= p.first_seen_ms - LEAD_MS && filed <= p.last_seen_ms + LAG_MS)
        })
    };
    let mut joins = Vec::new();
    for (name, members) in groups {
        if linked.contains_key(name) {
            continue;
        }
        let candidates: Vec<&String> = linked
            .iter()
            .filter(|(_, patterns)| members.iter().all(|report| seen_while(report, patterns)))
            .map(|(group, _)| group)
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let corpus = corpus.get();
        let own: Vec<_> = members.iter().map(|r| features_of(r)).collect();
        let own: Vec<Indexed> = own.iter().map(|f| Indexed::new(corpus, f)).collect();
        let mut qualified: Vec<(&String, f64)> = Vec::new();
        for group in candidates {
            let theirs: Vec<_> = groups[group].iter().map(|r| features_of(r)).collect();
            let theirs: Vec<Indexed> = theirs.iter().map(|f| Indexed::new(corpus, f)).collect();
            let pairs = (own.len() * theirs.len()).max(1) as f64;
            let likeness: f64 =
                own.iter().flat_map(|a| theirs.iter().map(move |b| compare(a, b).title)).sum::<f64>() / pairs;
            let shared = |a: &Indexed, b: &Indexed| {
                a.features
                    .title_terms
                    .iter()
                    .filter(|(term, _)| b.features.title_terms.iter().any(|(t, _)| t == term))
                    .count()
            };
            let every_pair_shares = own.iter().all(|a| theirs.iter().all(|b| shared(a, b) >= MIN_SHARED_TITLE_TERMS));
            if likeness >= MIN_TITLE_LIKENESS && every_pair_shares {
                qualified.push((group, likeness));
            }
        }
        // Linked groups that quote one pattern are one item: not a choice between two.
        qualified.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let patterns_of = |group: &String| linked[group].iter().map(|p| p.pattern.as_str()).collect::<Vec<_>>();
        let unambiguous = qualified.first().is_some_and(|(best, _)| {
            let best = patterns_of(best);
            qualified.iter().all(|(other, _)| patterns_of(other).iter().any(|p| best.contains(p)))
        });
        if let (true, Some(&(group, likeness))) = (unambiguous, qualified.first()) {
            let ids: Vec<&str> = members.iter().map(|r| r.id.as_str()).collect();
            let templates: Vec<String> = linked[group].iter().map(|p| format!("`{}`", p.template)).collect();
            joins.push(SymptomJoin {
                unlinked: name.clone(),
                linked: group.clone(),
                reason: format!(
                    "{} the same symptom (title likeness {likeness:.2}) and {} filed while {} was logged",
                    reports_named(&ids, "describes", "describe"),
                    if ids.len() == 1 { "was" } else { "were" },
                    templates.join(", ")
                ),
            });
        }
    }
    joins
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::links::report_for_tests;

    fn filed(id: &str, title: &str, body: &str, hour: i64) -> BugReport {
        let mut report = report_for_tests(id, title, body);
        report.created_ms = Some(hour * HOUR_MS);
        report
    }

    fn logged(pattern: &str, from_hour: i64, to_hour: i64) -> PatternStats {
        PatternStats {
            pattern: pattern.into(),
            template: format!("{pattern} failed for <*>"),
            count: 50,
            first_seen_ms: from_hour * HOUR_MS,
            last_seen_ms: to_hour * HOUR_MS,
            levels: BTreeMap::new(),
            sources: [("app".to_string(), 50)].into(),
            examples: Vec::new(),
            aliases: Vec::new(),
            volume: BTreeMap::new(),
        }
    }

    /// Everyday reports, so that `crashes` and `slow` are common words.
    fn everyone(extra: &[BugReport]) -> Vec<BugReport> {
        let mut all: Vec<BugReport> = (0..40)
            .map(|i| {
                let subject = ["printing", "bookmarks", "the address bar", "mail filters"][i % 4];
                filed(&format!("B{i}"), &format!("{subject} crashes {i}"), "it crashes, very slow", i as i64)
            })
            .collect();
        all.extend(extra.iter().cloned());
        all
    }

    fn joins_of(reports: &[BugReport], linked: &[(&str, &PatternStats)]) -> Vec<(String, String)> {
        let mut groups: BTreeMap<String, Vec<&BugReport>> = BTreeMap::new();
        for report in reports {
            let group = report.annotations.get("group").cloned().unwrap_or_else(|| format!("report-{}", report.id));
            groups.entry(group).or_default().push(report);
        }
        let linked: BTreeMap<String, Vec<&PatternStats>> =
            linked.iter().map(|(group, stats)| (group.to_string(), vec![*stats])).collect();
        let all = everyone(reports);
        symptom_joins(&groups, &linked, &ReportCorpus::new(&all)).into_iter().map(|j| (j.unlinked, j.linked)).collect()
    }

    fn in_group(mut report: BugReport, group: &str) -> BugReport {
        report.annotations.insert("group".into(), group.into());
        report
    }

    #[test]
    fn a_group_describing_the_symptom_joins_while_the_logs_show_it() {
        let stats = logged("sync", 10, 11);
        let reports = vec![
            in_group(filed("Q1", "Calendar sync hangs", "log: sync failed for user-7", 11), "quoting"),
            in_group(filed("S1", "Calendar sync hangs since this morning", "no error shown", 12), "symptoms"),
            in_group(filed("S2", "Issue with calendar sync: it hangs", "spinner only", 13), "symptoms"),
        ];
        let joins = joins_of(&reports, &[("quoting", &stats)]);
        assert_eq!(joins, [("symptoms".to_string(), "quoting".to_string())]);
    }

    #[test]
    fn a_group_filed_long_after_the_logs_joins_nothing() {
        let stats = logged("sync", 10, 11);
        let reports = vec![
            in_group(filed("Q1", "Calendar sync hangs", "log: sync failed for user-7", 11), "quoting"),
            in_group(filed("S1", "Calendar sync hangs since this morning", "no error shown", 11 + 24 * 5), "symptoms"),
        ];
        assert!(joins_of(&reports, &[("quoting", &stats)]).is_empty());
    }

    #[test]
    fn sharing_only_the_effect_joins_nothing() {
        let stats = logged("sync", 10, 11);
        let reports = vec![
            in_group(filed("Q1", "Calendar sync crashes", "log: sync failed for user-7", 11), "quoting"),
            in_group(filed("S1", "The dashboard crashes", "no error shown", 12), "symptoms"),
        ];
        assert!(joins_of(&reports, &[("quoting", &stats)]).is_empty());
    }

    #[test]
    fn linked_groups_quoting_one_pattern_are_one_choice() {
        let stats = logged("sync", 10, 11);
        let reports = vec![
            in_group(filed("Q1", "Calendar sync hangs", "log: sync failed for user-7", 11), "one"),
            in_group(filed("Q2", "Calendar sync hangs again", "log: sync failed for user-8", 11), "two"),
            in_group(filed("S1", "Calendar sync hangs since this morning", "no error shown", 12), "symptoms"),
        ];
        let joins = joins_of(&reports, &[("one", &stats), ("two", &stats)]);
        assert_eq!(joins.len(), 1, "{joins:?}");
        assert_eq!(joins[0].0, "symptoms");
    }

    #[test]
    fn a_group_two_linked_groups_could_take_joins_neither() {
        let (first, second) = (logged("sync", 10, 11), logged("store", 10, 11));
        let reports = vec![
            in_group(filed("Q1", "Calendar sync hangs", "log: sync failed for user-7", 11), "one"),
            in_group(filed("Q2", "Calendar sync hangs again", "log: store failed for user-8", 11), "two"),
            in_group(filed("S1", "Calendar sync hangs since this morning", "no error shown", 12), "symptoms"),
        ];
        let joins = joins_of(&reports, &[("one", &first), ("two", &second)]);
        assert!(joins.is_empty(), "{joins:?}");
    }
}
