//! The built-in `tickets` plugin: groups bug reports that describe the same problem and
//! annotates each with its `group`.
//!
//! Reports arrive in batches (an import of reports, an HTTP post); each new report is compared
//! with the reports seen before that can reach the threshold ([`similarity`]: text, stack
//! frames, error templates, time; a [`similarity::CandidateIndex`] finds them without
//! comparing every pair, and leaves out only reports that score less) and joins the group of
//! the most similar one when the score clears the threshold, else starts its own. A group's id
//! comes from the report that founded it, so ids stay the same across batches and runs (the
//! reports' features are kept as the plugin's state). A report imported again (same id) is
//! re-read and keeps its group.
//!
//! When a new report is like reports of two or more groups (each above the threshold), those
//! groups are one problem: they merge into the oldest of them (the one whose first report was
//! filed first), whose id stays. A merge is never silent: it is reported as a
//! `ticket-group-merge` finding whose evidence lists the bridging report first and then one
//! report of each group it joined, so the host can re-label the reports stored before.

pub mod fingerprint;
pub mod similarity;
pub mod text;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use opsloop_sdk::{Config, Evidence, Finding, Inputs, Output, Plugin, PluginError, PluginInfo, Report};
use serde::{Deserialize, Serialize};

use similarity::{CandidateIndex, Corpus, Indexed, ReportFeatures, compare};

/// Reports kept for comparison; beyond it the oldest are forgotten (their groups stay).
const MAX_REPORTS: usize = 50_000;

/// The plugin's state: every report's features, the document frequencies, and the groups.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TicketsPlugin {
    reports: Vec<ReportFeatures>,
    corpus: Corpus,
    /// report id -> group id
    group_of: HashMap<String, String>,
    /// merged group id -> the group it was merged into
    #[serde(default)]
    merged_into: BTreeMap<String, String>,
    #[serde(skip)]
    threshold: f64,
    #[serde(skip)]
    merge_threshold: f64,
}

/// A stable id from the founding report's id.
pub fn group_id(founder: &str) -> String {
    format!("g{:012x}", opsloop_sdk::stable_hash(founder) >> 16)
}

/// Features of a report as the plugin receives it.
pub fn features_of(report: &Report) -> ReportFeatures {
    ReportFeatures::new(
        &report.id,
        &report.title,
        &report.body,
        report.stack_trace.as_deref(),
        report.created,
        report.reporter.as_deref(),
    )
}

/// The default score a report must reach with a grouped report to join its group.
pub const DEFAULT_THRESHOLD: f64 = 1.0;

/// The default score a report must reach with reports of two groups to merge them: a merge
/// moves whole groups, so it asks for stronger evidence than one report joining one.
pub const DEFAULT_MERGE_THRESHOLD: f64 = 2.0;

impl Plugin for TicketsPlugin {
    fn info() -> PluginInfo {
        let mut info = opsloop_sdk::plugin_info(
            "tickets",
            env!("CARGO_PKG_VERSION"),
            "groups bug reports that describe the same problem; annotates `group`",
        )
        .annotating(&["group"])
        .with_config(
            "group-threshold",
            "similarity a report needs with a grouped one to join its group",
            Some(&DEFAULT_THRESHOLD.to_string()),
        )
        .with_config(
            "merge-threshold",
            "similarity a report needs with reports of two groups to merge them (at least group-threshold; a merge is reported)",
            Some(&DEFAULT_MERGE_THRESHOLD.to_string()),
        );
        info.inputs = Inputs::REPORTS;
        info
    }

    fn init(config: &Config, state: Option<&[u8]>) -> Result<Self, PluginError> {
        let threshold: f64 = config.parse_or("group-threshold", DEFAULT_THRESHOLD)?;
        if !(threshold > 0.0) {
            return Err(PluginError::BadConfig(format!("config key `group-threshold`: {threshold} is not above 0")));
        }
        let mut plugin: TicketsPlugin = match state {
            None => TicketsPlugin::default(),
            Some(bytes) => {
                serde_json::from_slice(bytes).map_err(|error| PluginError::BadInput(format!("saved state: {error}")))?
            }
        };
        // A merge never asks for less than joining one group does.
        let merge_threshold = config.parse_or("merge-threshold", DEFAULT_MERGE_THRESHOLD)?.max(threshold);
        plugin.threshold = threshold;
        plugin.merge_threshold = merge_threshold;
        Ok(plugin)
    }

    fn process_reports(&mut self, reports: &[Report]) -> Result<Output, PluginError> {
        let mut output = Output::with_len(reports.len());
        let incoming: Vec<ReportFeatures> = reports.iter().map(features_of).collect();
        // A report seen before is re-read: its old features leave the corpus.
        let known: BTreeSet<&str> = incoming.iter().map(|f| f.id.as_str()).collect();
        let (replaced, kept): (Vec<ReportFeatures>, Vec<ReportFeatures>) =
            std::mem::take(&mut self.reports).into_iter().partition(|f| known.contains(f.id.as_str()));
        replaced.iter().for_each(|f| self.corpus.remove(f));
        self.reports = kept;
        incoming.iter().for_each(|f| self.corpus.add(f));

        // New reports join in the order they were filed.
        let mut order: Vec<usize> = (0..incoming.len()).collect();
        order.sort_by_key(|&i| (incoming[i].created_ms, i));
        let mut touched: BTreeSet<String> = BTreeSet::new();
        {
            let mut grouped: Vec<Indexed> = self.reports.iter().map(|f| Indexed::new(&self.corpus, f)).collect();
            // Only reports that can reach the threshold are compared; the rest cannot join.
            let mut index = CandidateIndex::default();
            grouped.iter().enumerate().for_each(|(position, report)| index.add(position, report));
            for &position in &order {
                let features = &incoming[position];
                let candidate = Indexed::new(&self.corpus, features);
                let group = match self.group_of.get(&features.id) {
                    Some(group) => group.clone(),
                    None => {
                        // The best match in each group this report is like.
                        let mut matches: BTreeMap<&str, (&str, f64)> = BTreeMap::new();
                        for other in index.candidates(&candidate, self.threshold).into_iter().map(|at| &grouped[at]) {
                            let score = compare(&candidate, other).score;
                            let Some(group) = self.group_of.get(&other.features.id) else { continue };
                            if score >= self.threshold
                                && matches.get(group.as_str()).is_none_or(|&(_, best)| score > best)
                            {
                                matches.insert(group.as_str(), (other.features.id.as_str(), score));
                            }
                        }
                        let matches: Vec<(String, String, f64)> = matches
                            .into_iter()
                            .map(|(g, (id, score))| (g.to_string(), id.to_string(), score))
                            .collect();
                        let strong = matches.iter().filter(|(_, _, score)| *score >= self.merge_threshold).count();
                        let best = matches.iter().max_by(|a, b| a.2.total_cmp(&b.2).then_with(|| b.1.cmp(&a.1)));
                        match (best, strong) {
                            (None, _) => group_id(&features.id),
                            (Some((group, _, _)), 0 | 1) => group.clone(),
                            _ => {
                                let strong: Vec<(String, String, f64)> =
                                    matches.iter().filter(|m| m.2 >= self.merge_threshold).cloned().collect();
                                let (survivor, finding) = merge_groups(
                                    &mut self.group_of,
                                    &mut self.merged_into,
                                    &grouped,
                                    &features.id,
                                    &strong,
                                );
                                output.add_finding(finding);
                                survivor
                            }
                        }
                    }
                };
                self.group_of.insert(features.id.clone(), group.clone());
                touched.insert(group.clone());
                output.annotate(position, "group", &group);
                index.add(grouped.len(), &candidate);
                grouped.push(candidate);
            }
        }
        self.reports.extend(incoming);
        if self.reports.len() > MAX_REPORTS {
            let excess = self.reports.len() - MAX_REPORTS;
            self.reports.drain(..excess).for_each(|f| self.corpus.remove(&f));
        }
        for finding in self.group_findings(&touched) {
            output.add_finding(finding);
        }
        Ok(output)
    }

    fn snapshot(&self) -> Option<Vec<u8>> {
        serde_json::to_vec(self).ok()
    }
}

impl TicketsPlugin {
    /// The group a group id stands for now, after any merges.
    pub fn current_group<'a>(&'a self, mut group: &'a str) -> &'a str {
        while let Some(next) = self.merged_into.get(group) {
            group = next;
        }
        group
    }

    /// A `ticket-group` finding for each touched group with two reports or more.
    fn group_findings(&self, touched: &BTreeSet<String>) -> Vec<Finding> {
        let mut members: BTreeMap<&str, Vec<&ReportFeatures>> = BTreeMap::new();
        for features in &self.reports {
            if let Some(group) = self.group_of.get(&features.id) {
                if touched.contains(group) {
                    members.entry(group.as_str()).or_default().push(features);
                }
            }
        }
        members
            .into_iter()
            .filter(|(_, reports)| reports.len() >= 2)
            .map(|(group, mut reports)| {
                reports.sort_by_key(|f| (f.created_ms, f.id.clone()));
                let reporters: BTreeSet<&str> = reports.iter().filter_map(|f| f.reporter.as_deref()).collect();
                let times: Vec<i64> = reports.iter().filter_map(|f| f.created_ms).collect();
                let mut examples: Vec<String> = reports.iter().take(3).map(|f| f.title.clone()).collect();
                examples.extend(reports.iter().flat_map(|f| f.templates.iter().cloned()).take(2));
                Finding {
                    kind: "ticket-group".into(),
                    score: (reports.len() as f64 / 10.0).min(1.0),
                    summary: format!("{} reports describe one problem: {}", reports.len(), reports[0].title),
                    first_seen: times.iter().min().copied(),
                    last_seen: times.iter().max().copied(),
                    evidence: Evidence {
                        records: Vec::new(),
                        reports: reports.iter().map(|f| f.id.clone()).collect(),
                        counts: vec![
                            ("reports".into(), reports.len() as u64),
                            ("reporters".into(), reporters.len() as u64),
                        ],
                        examples,
                        query: Some(format!("annotations.group:{group}")),
                    },
                }
            })
            .collect()
    }
}

/// Merges the groups of `matches` (group, its best matching report, score) into the oldest
/// one; returns it and the `ticket-group-merge` finding that records the merge.
fn merge_groups(
    group_of: &mut HashMap<String, String>,
    merged_into: &mut BTreeMap<String, String>,
    grouped: &[Indexed],
    bridge: &str,
    matches: &[(String, String, f64)],
) -> (String, Finding) {
    let filed = |group: &str| {
        let members = grouped.iter().filter(|i| group_of.get(&i.features.id).is_some_and(|g| g == group));
        members.filter_map(|i| i.features.created_ms).min().unwrap_or(i64::MAX)
    };
    let survivor = matches
        .iter()
        .map(|(group, _, _)| group)
        .min_by_key(|group| (filed(group), (*group).clone()))
        .expect("two or more groups")
        .clone();
    let merged: Vec<&String> = matches.iter().map(|(group, _, _)| group).filter(|g| **g != survivor).collect();
    for group in group_of.values_mut() {
        if merged.contains(&&*group) {
            *group = survivor.clone();
        }
    }
    for group in &merged {
        merged_into.insert((*group).clone(), survivor.clone());
    }
    let mut reports = vec![bridge.to_string()];
    reports.extend(matches.iter().map(|(_, id, _)| id.clone()));
    let scores: Vec<String> = matches.iter().map(|(group, id, score)| format!("{id} ({group}) {score:.2}")).collect();
    let names: Vec<&str> = merged.iter().map(|g| g.as_str()).collect();
    let finding = Finding {
        kind: "ticket-group-merge".into(),
        score: 0.5,
        summary: format!(
            "groups {} merged into {survivor}: report {bridge} is like reports of each ({})",
            names.join(", "),
            scores.join(", ")
        ),
        first_seen: None,
        last_seen: None,
        evidence: Evidence {
            records: Vec::new(),
            reports,
            counts: vec![("groups merged".into(), merged.len() as u64)],
            examples: scores,
            query: Some(format!("annotations.group:{survivor}")),
        },
    };
    (survivor, finding)
}

opsloop_sdk::export_plugin!(TicketsPlugin);

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str, title: &str, body: &str, created: i64) -> Report {
        Report {
            id: id.into(),
            title: title.into(),
            body: body.into(),
            created: Some(created),
            reporter: Some(format!("user{id}")),
            labels: Vec::new(),
            status: None,
            stack_trace: None,
            version: None,
            component: None,
        }
    }

    fn batch() -> Vec<Report> {
        let trace = "java.lang.IllegalStateException: pool exhausted\n at db.Pool.take(Pool.java:1)\n at db.Repo.load(Repo.java:2)";
        vec![
            report("1", "Orders page fails to load", trace, 0),
            report("2", "Cannot open orders, error 500", trace, 86_400_000),
            report("3", "Typo on the pricing page", "it says 'pirce'", 0),
        ]
    }

    #[test]
    fn duplicates_share_a_group_and_others_do_not() {
        let mut plugin = TicketsPlugin::init(&Config::default(), None).unwrap();
        let output = plugin.process_reports(&batch()).unwrap();
        assert_eq!(output.annotation(0, "group"), output.annotation(1, "group"));
        assert_ne!(output.annotation(0, "group"), output.annotation(2, "group"));
        assert_eq!(output.findings().len(), 1);
        assert_eq!(output.findings()[0].evidence.reports, ["1", "2"]);
    }

    #[test]
    fn a_new_report_joins_the_existing_group_in_a_later_run() {
        let mut first = TicketsPlugin::init(&Config::default(), None).unwrap();
        let group = first.process_reports(&batch()).unwrap().annotation(0, "group").unwrap().to_string();
        let state = first.snapshot().unwrap();
        let mut second = TicketsPlugin::init(&Config::default(), Some(&state)).unwrap();
        let trace =
            "IllegalStateException: pool exhausted\n at db.Pool.take(Pool.java:9)\n at db.Repo.load(Repo.java:8)";
        let output = second.process_reports(&[report("4", "orders broken again", trace, 2 * 86_400_000)]).unwrap();
        assert_eq!(output.annotation(0, "group"), Some(group.as_str()));
    }

    #[test]
    fn a_report_like_two_groups_merges_them_into_the_older_and_says_so() {
        let trace = "java.lang.IllegalStateException: pool exhausted\n at db.Pool.take(Pool.java:1)\n at db.Repo.load(Repo.java:2)";
        let day = 86_400_000;
        let mut plugin = TicketsPlugin::init(&Config::default(), None).unwrap();
        let first = plugin.process_reports(&[report("1", "Orders page fails to load", trace, 0)]).unwrap();
        let older = first.annotation(0, "group").unwrap().to_string();
        let second = plugin
            .process_reports(&[report(
                "2",
                "Checkout spinner never stops after paying",
                "the spinner keeps turning",
                day,
            )])
            .unwrap();
        let younger = second.annotation(0, "group").unwrap().to_string();
        assert_ne!(older, younger);
        let bridge = report(
            "3",
            "Checkout spinner never stops after paying",
            &format!("the spinner keeps turning\n{trace}"),
            day,
        );
        let output = plugin.process_reports(&[bridge]).unwrap();
        assert_eq!(output.annotation(0, "group"), Some(older.as_str()), "the older group's id stays");
        let merge = output.findings().iter().find(|f| f.kind == "ticket-group-merge").expect("a merge finding");
        assert_eq!(merge.evidence.reports[0], "3", "the bridging report comes first");
        assert!(merge.evidence.reports.contains(&"2".to_string()) && merge.summary.contains(&younger), "{merge:?}");
        assert_eq!(plugin.current_group(&younger), older);
        let group = output.findings().iter().find(|f| f.kind == "ticket-group").expect("the merged group");
        assert_eq!(group.evidence.reports, ["1", "2", "3"]);
    }
}
