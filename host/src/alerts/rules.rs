//! Which changes raise or resolve an alert, once per change of state.
//!
//! - **Items** (`on = "items"`): an item entering one of the rule's statuses (by default `new`
//!   or `regressed`) at or above `min_impact`, of the rule's kinds and sources, raises the
//!   alert; entering another of them raises it again (one notification per change). The item
//!   being resolved, or leaving the board, resolves it. An item a person acknowledged stays
//!   firing: the problem is known, not gone.
//! - **Anomalies** (`on = "anomalies"`): a finding at or above `min_score`, of the rule's
//!   kinds and sources, raises one alert per source, kind and patterns; like findings while it
//!   fires only keep it alive, and `quiet_for` without one (in the logs' time: from the last
//!   anomalous minute a finding names) resolves it. Report-grouping
//!   findings (`ticket-…`) are not anomalies unless a rule names their kind.

use std::collections::{BTreeMap, BTreeSet};

use super::{AlertContent, AlertEvent, AlertState, FiringAlert, Notification};
use crate::config::{AlertRule, AlertSubject};
use crate::feedback::episodes::patterns_of_query;
use crate::feedback::render::lower;
use crate::feedback::{Board, FeedbackItem, ItemStatus};
use crate::pipeline::StoredFinding;

/// The finding kinds the built-in plugins report (user plugins may report others).
pub const BUILT_IN_FINDING_KINDS: [&str; 7] =
    ["spike", "drop", "error-burst", "new-pattern", "anomalous-session", "ticket-group", "ticket-group-merge"];

/// What looks wrong in the rules without being an error: anomaly kinds no built-in plugin
/// reports (a misspelling, or a kind of a user's plugin), in words.
pub fn doubts(rules: &[AlertRule]) -> Vec<String> {
    rules
        .iter()
        .filter(|rule| rule.on == AlertSubject::Anomalies)
        .flat_map(|rule| {
            rule.kinds.iter().filter(|kind| !BUILT_IN_FINDING_KINDS.contains(&kind.as_str())).map(move |kind| {
                format!(
                    "rule `{}`: no built-in plugin reports the kind `{kind}` (they report {}); it fires only if a plugin of yours does",
                    rule.name,
                    BUILT_IN_FINDING_KINDS[..5].join(", ")
                )
            })
        })
        .collect()
}

/// What a link's value keeps as it is: letters, digits and the unreserved `-._~` of RFC 3986.
const LINK_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A page address with `view=value` after `#`, the value percent-encoded.
fn page_link(page_url: &str, view: &str, value: &str) -> String {
    let encoded = percent_encoding::utf8_percent_encode(value, LINK_VALUE);
    format!("{}/#{view}={encoded}", page_url.trim_end_matches('/'))
}

fn item_matches(rule: &AlertRule, item: &FeedbackItem) -> bool {
    rule.statuses.contains(&item.status)
        && item.impact.score >= rule.min_impact
        && (rule.kinds.is_empty() || rule.kinds.contains(&lower(item.kind)))
        && (rule.sources.is_empty() || item.sources.iter().any(|source| rule.sources.contains(source)))
}

fn finding_matches(rule: &AlertRule, finding: &StoredFinding) -> bool {
    let kind_wanted =
        if rule.kinds.is_empty() { !finding.kind.starts_with("ticket-") } else { rule.kinds.contains(&finding.kind) };
    kind_wanted
        && finding.score >= rule.min_score
        && (rule.sources.is_empty() || rule.sources.contains(&finding.source))
}

fn item_alert(rule: &AlertRule, item: &FeedbackItem, page_url: &str, now_ms: i64) -> AlertContent {
    let kind = lower(item.kind);
    AlertContent {
        rule: rule.name.clone(),
        subject: item.id.clone(),
        labels: BTreeMap::from([
            ("alertname".to_string(), rule.name.clone()),
            ("source".to_string(), item.sources.join(",")),
            ("kind".to_string(), kind),
            ("item".to_string(), item.id.clone()),
        ]),
        title: item.title.clone(),
        summary: item.summary.clone(),
        status: lower(item.status),
        score: item.impact.score,
        query: item.evidence.query.clone().or_else(|| item.evidence.reports_query.clone()),
        link: Some(page_link(page_url, "item", &item.id)),
        starts_ms: now_ms,
    }
}

/// An anomaly's subject: one per source, kind and the patterns its finding names (or, naming
/// none, its summary with the digits left out).
fn anomaly_subject(finding: &StoredFinding) -> String {
    let mut patterns = finding.evidence.query.as_deref().map(patterns_of_query).unwrap_or_default();
    patterns.sort();
    let what = if patterns.is_empty() {
        finding.summary.chars().filter(|c| !c.is_ascii_digit()).collect()
    } else {
        patterns.join(",")
    };
    let key = format!("{}\n{}\n{what}", finding.source, finding.kind);
    format!("AN-{:08x}", opsloop_sdk::stable_hash(&key) >> 32)
}

fn anomaly_alert(
    rule: &AlertRule,
    finding: &StoredFinding,
    subject: &str,
    page_url: &str,
    now_ms: i64,
) -> AlertContent {
    AlertContent {
        rule: rule.name.clone(),
        subject: subject.to_string(),
        labels: BTreeMap::from([
            ("alertname".to_string(), rule.name.clone()),
            ("source".to_string(), finding.source.clone()),
            ("kind".to_string(), finding.kind.clone()),
            ("item".to_string(), subject.to_string()),
        ]),
        title: format!("{} on {}", finding.kind, finding.source),
        summary: finding.summary.clone(),
        status: "anomaly".into(),
        score: finding.score,
        query: finding.evidence.query.clone(),
        link: finding.evidence.query.as_deref().map(|query| page_link(page_url, "search", query)),
        starts_ms: finding.first_seen_ms.filter(|&first| first <= now_ms).unwrap_or(now_ms),
    }
}

fn quiet_span_ms(rule: &AlertRule) -> i64 {
    // Checked when the configuration was read.
    crate::ingest::parse_span(&rule.quiet_for).unwrap_or(30 * 60_000)
}

impl AlertState {
    /// Queues one notification per receiver of `rule`.
    fn queue(&mut self, rule: &AlertRule, event: AlertEvent, alert: &AlertContent, now_ms: i64) {
        for receiver in &rule.receivers {
            self.next_id += 1;
            self.outbox.push(Notification {
                id: self.next_id,
                receiver: receiver.clone(),
                event,
                alert: alert.clone(),
                ends_ms: (event == AlertEvent::Resolved).then_some(now_ms),
                created_ms: now_ms,
                attempts: 0,
                next_attempt_ms: now_ms,
                last_error: None,
            });
        }
    }

    fn resolve(&mut self, rule: &AlertRule, key: &str, status: &str, now_ms: i64) {
        if let Some(firing) = self.firing.remove(key) {
            let mut alert = firing.alert;
            alert.status = status.to_string();
            self.queue(rule, AlertEvent::Resolved, &alert, now_ms);
        }
    }

    /// Forgets alerts of rules no longer configured (their receivers may be gone too).
    pub fn keep_rules(&mut self, rules: &[AlertRule]) {
        let names: BTreeSet<&str> = rules.iter().map(|rule| rule.name.as_str()).collect();
        self.firing.retain(|_, firing| names.contains(firing.alert.rule.as_str()));
    }

    /// Raises and resolves item alerts for the board as built now; how many notifications
    /// were queued.
    pub fn observe_board(&mut self, rules: &[AlertRule], board: &Board, page_url: &str, now_ms: i64) -> usize {
        let queued = self.outbox.len();
        let mut on_board = BTreeSet::new();
        for rule in rules.iter().filter(|rule| rule.on == AlertSubject::Items) {
            for item in &board.items {
                let key = format!("{}/{}", rule.name, item.id);
                on_board.insert(key.clone());
                if item.status == ItemStatus::Resolved {
                    self.resolve(rule, &key, "resolved", now_ms);
                    continue;
                }
                if !item_matches(rule, item) {
                    continue;
                }
                let status = lower(item.status);
                if self.firing.get(&key).is_some_and(|firing| firing.alert.status == status) {
                    continue;
                }
                let alert = item_alert(rule, item, page_url, now_ms);
                self.queue(rule, AlertEvent::Firing, &alert, now_ms);
                self.firing.insert(key, FiringAlert { alert, last_evidence_ms: now_ms });
            }
            let gone: Vec<String> = self
                .firing
                .iter()
                .filter(|(key, firing)| {
                    firing.alert.rule == rule.name
                        && firing.alert.subject.starts_with("FB-")
                        && !on_board.contains(*key)
                })
                .map(|(key, _)| key.clone())
                .collect();
            for key in gone {
                self.resolve(rule, &key, "gone from the board", now_ms);
            }
        }
        self.outbox.len() - queued
    }

    /// Raises anomaly alerts for new findings and keeps firing ones alive; how many
    /// notifications were queued.
    pub fn observe_findings(
        &mut self,
        rules: &[AlertRule],
        findings: &[StoredFinding],
        page_url: &str,
        now_ms: i64,
    ) -> usize {
        let queued = self.outbox.len();
        for rule in rules.iter().filter(|rule| rule.on == AlertSubject::Anomalies) {
            for finding in findings.iter().filter(|finding| finding_matches(rule, finding)) {
                let subject = anomaly_subject(finding);
                let key = format!("{}/{subject}", rule.name);
                // Quiet is counted in the logs' time: from the finding's last anomalous minute
                // (never later than now).
                let evidence_ms = finding.last_seen_ms.unwrap_or(now_ms).min(now_ms);
                if let Some(firing) = self.firing.get_mut(&key) {
                    firing.last_evidence_ms = firing.last_evidence_ms.max(evidence_ms);
                    continue;
                }
                let alert = anomaly_alert(rule, finding, &subject, page_url, now_ms);
                self.queue(rule, AlertEvent::Firing, &alert, now_ms);
                self.firing.insert(key, FiringAlert { alert, last_evidence_ms: evidence_ms });
            }
        }
        self.outbox.len() - queued
    }

    /// Resolves anomaly alerts that have had no like finding for their rule's `quiet_for`.
    pub fn resolve_quiet(&mut self, rules: &[AlertRule], now_ms: i64) -> usize {
        let queued = self.outbox.len();
        for rule in rules.iter().filter(|rule| rule.on == AlertSubject::Anomalies) {
            let quiet = quiet_span_ms(rule);
            let over: Vec<String> = self
                .firing
                .iter()
                .filter(|(_, firing)| firing.alert.rule == rule.name && now_ms - firing.last_evidence_ms >= quiet)
                .map(|(key, _)| key.clone())
                .collect();
            for key in over {
                self.resolve(rule, &key, "quiet", now_ms);
            }
        }
        self.outbox.len() - queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::items::{Impact, ItemEvidence, ItemKind};
    use crate::pipeline::StoredEvidence;

    fn rule(on: AlertSubject, receivers: &[&str]) -> AlertRule {
        let mut settings = crate::config::Settings::parse(
            std::path::Path::new("x.toml"),
            &format!(
                "version = 1\n[[receivers]]\nname = \"a\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:1\"\n\
                 [[receivers]]\nname = \"b\"\ntype = \"slack\"\nurl = \"http://127.0.0.1:1\"\n\
                 [[alerts]]\nname = \"r\"\non = \"{}\"\nreceivers = {:?}\n",
                lower(on),
                receivers
            ),
        )
        .unwrap();
        settings.alerts.remove(0)
    }

    fn item(id: &str, status: ItemStatus, score: f64) -> FeedbackItem {
        FeedbackItem {
            id: id.into(),
            title: "checkout fails".into(),
            summary: "3 reports".into(),
            kind: ItemKind::Bug,
            status,
            status_reason: None,
            impact: Impact {
                score,
                reports: 3,
                reporters: 2,
                unknown_reporters: 0,
                sources: 1,
                error_volume: 10,
                trend: 0.0,
                severity: 0.5,
                corroborated: true,
            },
            evidence: ItemEvidence {
                reports: vec![],
                patterns: vec![],
                links: vec![],
                findings: vec![],
                query: Some("pattern:abc".into()),
                reports_query: None,
            },
            first_seen_ms: Some(1),
            last_seen_ms: Some(2),
            sources: vec!["shop".into()],
            evidence_size: 13,
        }
    }

    fn board(items: Vec<FeedbackItem>) -> Board {
        Board { built_ms: 0, items, ..Board::default() }
    }

    fn events(state: &AlertState) -> Vec<(String, AlertEvent, String)> {
        state.outbox.iter().map(|n| (n.receiver.clone(), n.event, n.alert.status.clone())).collect()
    }

    #[test]
    fn an_item_alerts_once_per_change_of_state_to_every_receiver() {
        let rules = vec![rule(AlertSubject::Items, &["a", "b"])];
        let mut state = AlertState::default();
        assert_eq!(state.observe_board(&rules, &board(vec![item("FB-1", ItemStatus::New, 0.5)]), "http://h", 1), 2);
        assert_eq!(state.outbox[0].alert.labels["item"], "FB-1");
        assert_eq!(state.outbox[0].alert.labels["kind"], "bug");
        assert_eq!(state.outbox[0].alert.labels["source"], "shop");
        assert_eq!(state.outbox[0].alert.link.as_deref(), Some("http://h/#item=FB-1"));
        // Rebuilt with the same status, then acknowledged: nothing new to say.
        assert_eq!(state.observe_board(&rules, &board(vec![item("FB-1", ItemStatus::New, 0.5)]), "http://h", 2), 0);
        assert_eq!(state.observe_board(&rules, &board(vec![item("FB-1", ItemStatus::Ongoing, 0.5)]), "http://h", 3), 0);
        assert_eq!(
            state.observe_board(&rules, &board(vec![item("FB-1", ItemStatus::Resolved, 0.5)]), "http://h", 4),
            2
        );
        assert_eq!(
            state.observe_board(&rules, &board(vec![item("FB-1", ItemStatus::Resolved, 0.5)]), "http://h", 5),
            0
        );
        assert_eq!(
            state.observe_board(&rules, &board(vec![item("FB-1", ItemStatus::Regressed, 0.5)]), "http://h", 6),
            2
        );
        assert_eq!(
            events(&state).into_iter().filter(|(receiver, ..)| receiver == "a").collect::<Vec<_>>(),
            vec![
                ("a".into(), AlertEvent::Firing, "new".into()),
                ("a".into(), AlertEvent::Resolved, "resolved".into()),
                ("a".into(), AlertEvent::Firing, "regressed".into()),
            ]
        );
        assert_eq!(state.outbox[3].ends_ms, Some(4));
    }

    #[test]
    fn thresholds_kinds_and_sources_filter_items_and_a_vanished_item_resolves() {
        let mut rules = vec![rule(AlertSubject::Items, &["a"])];
        rules[0].min_impact = 0.6;
        let mut state = AlertState::default();
        assert_eq!(state.observe_board(&rules, &board(vec![item("FB-1", ItemStatus::New, 0.5)]), "h", 1), 0);
        rules[0].min_impact = 0.0;
        rules[0].sources = vec!["billing".into()];
        assert_eq!(state.observe_board(&rules, &board(vec![item("FB-1", ItemStatus::New, 0.5)]), "h", 1), 0);
        rules[0].sources = vec!["shop".into()];
        rules[0].kinds = vec!["incident".into()];
        assert_eq!(state.observe_board(&rules, &board(vec![item("FB-1", ItemStatus::New, 0.5)]), "h", 1), 0);
        rules[0].kinds = vec![];
        assert_eq!(state.observe_board(&rules, &board(vec![item("FB-1", ItemStatus::New, 0.5)]), "h", 1), 1);
        assert_eq!(state.observe_board(&rules, &board(vec![]), "h", 2), 1);
        assert_eq!(state.outbox[1].event, AlertEvent::Resolved);
        assert!(state.firing.is_empty());
    }

    fn finding(kind: &str, query: &str, score: f64) -> StoredFinding {
        StoredFinding {
            plugin: "patterns".into(),
            source: "shop".into(),
            kind: kind.into(),
            score,
            summary: format!("{kind}: 40 records in 5 minutes"),
            first_seen_ms: Some(100),
            last_seen_ms: None,
            evidence: StoredEvidence { query: Some(query.into()), ..StoredEvidence::default() },
        }
    }

    #[test]
    fn like_anomalies_fold_into_one_alert_that_resolves_when_quiet() {
        let mut rules = vec![rule(AlertSubject::Anomalies, &["a"])];
        rules[0].min_score = 3.0;
        rules[0].quiet_for = "1m".into();
        let mut state = AlertState::default();
        let spikes = [finding("spike", "pattern:p1", 5.0), finding("spike", "pattern:p1", 6.0)];
        assert_eq!(state.observe_findings(&rules, &spikes, "h", 1_000), 1);
        assert_eq!(state.observe_findings(&rules, &[finding("spike", "pattern:p1", 9.0)], "h", 30_000), 0);
        assert_eq!(
            state.observe_findings(&rules, &[finding("spike", "pattern:p2", 1.0)], "h", 30_000),
            0,
            "below the score"
        );
        assert_eq!(
            state.observe_findings(&rules, &[finding("ticket-group", "", 9.0)], "h", 30_000),
            0,
            "not an anomaly"
        );
        assert_eq!(state.resolve_quiet(&rules, 60_000), 0, "still within a quiet minute of the last spike");
        assert_eq!(state.resolve_quiet(&rules, 90_000), 1);
        assert_eq!(state.outbox[1].event, AlertEvent::Resolved);
        assert_eq!(state.outbox[0].alert.labels["kind"], "spike");
        // An anomaly whose last anomalous minute is long past (old logs) is quiet already.
        let mut old = finding("error-burst", "pattern:p9", 9.0);
        old.last_seen_ms = Some(1_000);
        assert_eq!(state.observe_findings(&rules, &[old], "h", 500_000), 1);
        assert_eq!(state.resolve_quiet(&rules, 500_000), 1);
        assert!(state.outbox[0].alert.link.as_deref().unwrap().starts_with("h/#search=pattern%3Ap1"));
    }
}
