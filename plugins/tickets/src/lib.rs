//! The built-in `tickets` plugin: groups bug reports that describe the same problem and
//! annotates each with its `group`.
//!
//! Reports arrive in batches (an import of reports, an HTTP post) and are grouped one by one,
//! oldest first. A new report is compared ([`similarity`]: text, title, stack frames, error
//! templates, time) with the reports seen before that the grouping rules could link to it (a
//! [`similarity::CandidateIndex`] finds those whose title shares a distinctive term with it, or
//! a frame or an error; it leaves out only reports the rules refuse), and then with every
//! member of their groups: [`grouping`] decides, by named rules, whether a group admits it as a
//! whole (its mean link over the members, not its best one) and says why. It joins the group
//! that admits it best, else starts its own. A group's id comes from the report that founded
//! it, so ids stay the same across batches and runs (the reports' features are kept as the
//! plugin's state). A report imported again (same id) is re-read and keeps its group.
//!
//! When two or more groups admit a new report strongly (each at `merge-threshold`), those
//! groups are one problem: they merge into the oldest of them (the one whose first report was
//! filed first), whose id stays. A merge is never silent: it is reported as a
//! `ticket-group-merge` finding whose evidence lists the bridging report first and then the
//! best-linked report of each group it joined, so the host can re-label the reports stored
//! before.

pub mod fingerprint;
pub mod grouping;
pub mod similarity;
pub mod text;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use opsloop_sdk::{Config, Evidence, Finding, Inputs, Output, Plugin, PluginError, PluginInfo, Report};
use serde::{Deserialize, Serialize};

use grouping::{Admission, Decision, MemberLink, Rules};
use similarity::{CandidateIndex, Corpus, Indexed, ReportFeatures, compare};

/// Reports kept for comparison; beyond it the oldest are forgotten (their groups stay).
const MAX_REPORTS: usize = 50_000;

/// A group's members a new report is compared with to decide whether it joins: the most
/// recent ones, so the cost of a decision stays bounded however large a group grows.
const MAX_MEMBERS_COMPARED: usize = 64;

/// The plugin's state: every report's features, the document frequencies, and the groups.
#[derive(Debug, Serialize, Deserialize)]
pub struct TicketsPlugin {
    reports: Vec<ReportFeatures>,
    corpus: Corpus,
    /// report id -> group id
    group_of: HashMap<String, String>,
    /// merged group id -> the group it was merged into
    #[serde(default)]
    merged_into: BTreeMap<String, String>,
    #[serde(skip)]
    rules: Rules,
}

impl Default for TicketsPlugin {
    fn default() -> Self {
        Self {
            reports: Vec::new(),
            corpus: Corpus::default(),
            group_of: HashMap::new(),
            merged_into: BTreeMap::new(),
            rules: Rules::default(),
        }
    }
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

/// The default mean score a report must reach over a group's members to join it.
pub const DEFAULT_THRESHOLD: f64 = 0.7;

/// The default score before the time prior a report needs with a member for the link to count.
pub const DEFAULT_MIN_EVIDENCE: f64 = 0.45;

/// The default title cosine a report needs with a member for the link to count (unless their
/// stack traces or error messages agree).
pub const DEFAULT_MIN_TITLE: f64 = 0.2;

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
            "mean similarity a report needs over a group's members to join the group",
            Some(&DEFAULT_THRESHOLD.to_string()),
        )
        .with_config(
            "min-evidence",
            "similarity before the time prior a report needs with a member for the link to count",
            Some(&DEFAULT_MIN_EVIDENCE.to_string()),
        )
        .with_config(
            "min-title-similarity",
            "title similarity a report needs with a member for the link to count, unless stack traces or errors agree",
            Some(&DEFAULT_MIN_TITLE.to_string()),
        )
        .with_config(
            "merge-threshold",
            "mean similarity a report needs with each of two groups to merge them (at least group-threshold; a merge is reported)",
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
        let min_evidence: f64 = config.parse_or("min-evidence", DEFAULT_MIN_EVIDENCE)?;
        let min_title: f64 = config.parse_or("min-title-similarity", DEFAULT_MIN_TITLE)?;
        plugin.rules = Rules { threshold, min_evidence, min_title, merge_threshold };
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
            // Each group's members among the reports kept, oldest first.
            let mut members: HashMap<String, Vec<usize>> = HashMap::new();
            for (position, report) in grouped.iter().enumerate() {
                if let Some(group) = self.group_of.get(&report.features.id) {
                    members.entry(group.clone()).or_default().push(position);
                }
            }
            for &position in &order {
                let features = &incoming[position];
                let candidate = Indexed::new(&self.corpus, features);
                let group = match self.group_of.get(&features.id) {
                    Some(group) => group.clone(),
                    None => {
                        let admissions = self.admissions(&candidate, &grouped, &index, &members);
                        match self.rules.decide(admissions) {
                            Decision::Found => group_id(&features.id),
                            Decision::Join(admission) => admission.group,
                            Decision::Merge(admissions) => {
                                let (survivor, finding) = merge_groups(
                                    &mut self.group_of,
                                    &mut self.merged_into,
                                    &mut members,
                                    &grouped,
                                    &features.id,
                                    &admissions,
                                );
                                output.add_finding(finding);
                                survivor
                            }
                        }
                    }
                };
                self.group_of.insert(features.id.clone(), group.clone());
                members.entry(group.clone()).or_default().push(grouped.len());
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
    /// Each group the candidate index offers a member of that may admit `candidate` (a member
    /// links to it at the threshold), with its admission over the group's members.
    fn admissions(
        &self,
        candidate: &Indexed<'_>,
        grouped: &[Indexed<'_>],
        index: &CandidateIndex,
        members: &HashMap<String, Vec<usize>>,
    ) -> Vec<Admission> {
        // A group's mean link is at most its best one: only groups with a member linked at the
        // threshold can admit the report, and only reports the index offers can be linked.
        let mut groups: BTreeSet<&str> = BTreeSet::new();
        for at in index.groupable(candidate) {
            let Some(group) = self.group_of.get(&grouped[at].features.id) else { continue };
            if !groups.contains(group.as_str())
                && self.rules.link_score(&compare(candidate, &grouped[at])) >= self.rules.threshold
            {
                groups.insert(group);
            }
        }
        groups
            .into_iter()
            .map(|group| {
                let positions = members.get(group).map(Vec::as_slice).unwrap_or(&[]);
                let recent = &positions[positions.len().saturating_sub(MAX_MEMBERS_COMPARED)..];
                let links: Vec<MemberLink> = recent
                    .iter()
                    .map(|&at| MemberLink {
                        member: grouped[at].features.id.clone(),
                        similarity: compare(candidate, &grouped[at]),
                    })
                    .collect();
                self.rules.admission(group, &links)
            })
            .collect()
    }

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

/// Merges the groups that admitted `bridge` strongly into the oldest one (the one whose first
/// report was filed first); returns it and the `ticket-group-merge` finding that records the
/// merge.
fn merge_groups(
    group_of: &mut HashMap<String, String>,
    merged_into: &mut BTreeMap<String, String>,
    members: &mut HashMap<String, Vec<usize>>,
    grouped: &[Indexed],
    bridge: &str,
    admissions: &[Admission],
) -> (String, Finding) {
    let filed = |group: &str| {
        let positions = members.get(group).map(Vec::as_slice).unwrap_or(&[]);
        positions.iter().filter_map(|&at| grouped[at].features.created_ms).min().unwrap_or(i64::MAX)
    };
    let survivor = admissions
        .iter()
        .map(|admission| &admission.group)
        .min_by_key(|group| (filed(group), (*group).clone()))
        .expect("two or more groups")
        .clone();
    let merged: Vec<&String> = admissions.iter().map(|a| &a.group).filter(|g| **g != survivor).collect();
    for group in group_of.values_mut() {
        if merged.contains(&&*group) {
            *group = survivor.clone();
        }
    }
    for group in &merged {
        merged_into.insert((*group).clone(), survivor.clone());
        let moved = members.remove(*group).unwrap_or_default();
        let kept = members.entry(survivor.clone()).or_default();
        kept.extend(moved);
        kept.sort_unstable();
    }
    let mut reports = vec![bridge.to_string()];
    reports.extend(admissions.iter().filter_map(|a| a.best.as_ref().map(|(id, _)| id.clone())));
    let reasons: Vec<String> = admissions.iter().map(|a| format!("{}: {}", a.group, a.reason())).collect();
    let names: Vec<&str> = merged.iter().map(|g| g.as_str()).collect();
    let finding = Finding {
        kind: "ticket-group-merge".into(),
        score: 0.5,
        summary: format!(
            "groups {} merged into {survivor}: report {bridge} is like each as a whole ({})",
            names.join(", "),
            reasons.join("; ")
        ),
        first_seen: None,
        last_seen: None,
        evidence: Evidence {
            records: Vec::new(),
            reports,
            counts: vec![("groups merged".into(), merged.len() as u64)],
            examples: reasons,
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

    const DAY: i64 = 86_400_000;

    /// Reports of other problems filed a year before, so that words have the document
    /// frequencies of a tracker: each subject is in 3 reports, each effect in 6.
    fn background() -> Vec<Report> {
        let subjects = ["editor", "print queue", "calendar sync", "video playback", "sign-in page", "activity feed"];
        let subjects = subjects.iter().chain(&["attachments", "image previews"]);
        let effects = ["returns errors", "hangs", "is very slow", "loses data"];
        subjects
            .enumerate()
            .flat_map(|(i, subject)| {
                (0..3).map(move |j| {
                    let effect = effects[(i + j) % effects.len()];
                    let id = format!("bg{i}-{j}");
                    report(
                        &id,
                        &format!("The {subject} {effect}"),
                        &format!("since this morning the {subject} {effect}"),
                        -365 * DAY,
                    )
                })
            })
            .collect()
    }

    /// The similarity of two of `reports` under their own corpus.
    fn similarity_of(reports: &[Report], a: &str, b: &str) -> similarity::Similarity {
        let features: Vec<ReportFeatures> = reports.iter().map(features_of).collect();
        let mut corpus = Corpus::default();
        features.iter().for_each(|f| corpus.add(f));
        let indexed = |id: &str| Indexed::new(&corpus, features.iter().find(|f| f.id == id).unwrap());
        compare(&indexed(a), &indexed(b))
    }

    fn groups_of(reports: &[Report]) -> HashMap<String, String> {
        let mut plugin = TicketsPlugin::init(&Config::default(), None).unwrap();
        let output = plugin.process_reports(reports).unwrap();
        reports
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), output.annotation(i, "group").unwrap().to_string()))
            .collect()
    }

    /// Issue 20: single link joined C to A's group through B although C and A share nothing.
    #[test]
    fn a_chain_a_b_c_does_not_put_a_and_c_in_one_group() {
        let mut reports = background();
        reports.push(report(
            "A",
            "Bookmarks toolbar icons vanish",
            "the bookmarks toolbar icons vanish after a restart",
            0,
        ));
        reports.push(report(
            "B",
            "Bookmarks toolbar icons vanish, sidebar freezes",
            "the bookmarks toolbar icons vanish after a restart, the sidebar freezes",
            DAY,
        ));
        reports.push(report("C", "Sidebar freezes", "the sidebar freezes when typing", 30 * DAY));
        let c_b = similarity_of(&reports, "C", "B");
        assert!(c_b.score >= 1.0, "C's link to B alone would join it (single link, the old threshold): {c_b:?}");
        assert!(similarity_of(&reports, "C", "A").score < 0.1, "A and C share nothing");
        let groups = groups_of(&reports);
        assert_eq!(groups["B"], groups["A"]);
        assert_ne!(groups["C"], groups["A"], "C is like half of A's group, not the group");
    }

    /// Issue 20: two reports of different subjects with the same everyday effect, filed the
    /// same hour, were joined by the effect's words and the time prior.
    #[test]
    fn reports_that_share_only_a_generic_effect_on_one_day_are_not_grouped() {
        let mut reports = background();
        let effect = "returns errors for several users, every few minutes";
        reports.push(report("X", "The cluster returns errors", &format!("the cluster {effect}"), 0));
        reports.push(report("Y", "Invoices returns errors", &format!("invoices {effect}"), 3_600_000));
        let x_y = similarity_of(&reports, "X", "Y");
        assert!(
            x_y.evidence >= DEFAULT_MIN_EVIDENCE && x_y.score >= 1.0,
            "their words clear the evidence bar and, filed the same hour, the old threshold: {x_y:?}"
        );
        let groups = groups_of(&reports);
        assert_ne!(groups["X"], groups["Y"]);
        // The same subject in other words is one group.
        reports.push(report("Z", "Cluster errors again", "the cluster returns errors for all of us", 7_200_000));
        let groups = groups_of(&reports);
        assert_eq!(groups["Z"], groups["X"]);
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
