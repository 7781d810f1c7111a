//! Anomaly findings folded into episodes: the pattern miner reports a spike or burst each time
//! a window looks wrong, so one incident yields many findings. Findings flow in; episodes flow
//! out — one per source and set of patterns whose findings follow each other within
//! [`EPISODE_GAP_MS`], with the time span, the finding count and the highest score — so the
//! board shows one piece of evidence with a span instead of a row per window.
//!
//! A finding whose patterns are all variables (`<*> <*>`, `<*>|<*>|<*>`) says nothing a person
//! could act on: it is left out, and counted.

use std::collections::{BTreeMap, BTreeSet};

use crate::index::{HOUR_MS, PatternStats};
use crate::pipeline::StoredFinding;

use super::links::has_constant_words;

/// Findings on the same patterns less than this apart are one episode.
pub const EPISODE_GAP_MS: i64 = 6 * HOUR_MS;

/// One anomaly episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub source: String,
    /// Finding kinds, each once (`spike`, `error-burst`, ...).
    pub kinds: BTreeSet<String>,
    pub patterns: Vec<String>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    pub findings: usize,
    pub max_score: f64,
    /// The summary of the highest-scoring finding.
    pub summary: String,
}

impl Episode {
    /// The episode in words: `spike on app: 3 findings, 10:00–12:30, e.g. …`.
    pub fn describe(&self) -> String {
        let kinds: Vec<&str> = self.kinds.iter().map(String::as_str).collect();
        let span = match (self.first_ms, self.last_ms) {
            (Some(first), Some(last)) => format!(", {} – {}", clock(first), clock(last)),
            _ => String::new(),
        };
        let count = if self.findings == 1 { "1 finding".to_string() } else { format!("{} findings", self.findings) };
        format!("{} on `{}`: {count}{span}; strongest: {}", kinds.join(" + "), self.source, self.summary)
    }
}

/// A time as items state it: UTC, to the minute.
pub fn clock(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
}

/// The pattern ids a finding's query names (`pattern:ID`).
pub fn patterns_of_query(query: &str) -> Vec<String> {
    query
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|part| part.strip_prefix("pattern:"))
        .map(str::to_string)
        .collect()
}

/// What [`episodes`] made of the findings.
#[derive(Debug, Default)]
pub struct Episodes {
    pub episodes: Vec<Episode>,
    /// Findings left out because every pattern they name is all variables.
    pub all_variable_findings: usize,
}

/// Folds `findings` (report-group findings excluded) into episodes, oldest first.
pub fn episodes(findings: &[StoredFinding], patterns: &BTreeMap<&str, &PatternStats>) -> Episodes {
    let mut result = Episodes::default();
    // (source, patterns) → findings, oldest first.
    let mut series: BTreeMap<(String, Vec<String>), Vec<&StoredFinding>> = BTreeMap::new();
    for finding in findings.iter().filter(|f| f.kind != "ticket-group" && f.kind != "ticket-group-merge") {
        let mut named = finding.evidence.query.as_deref().map(patterns_of_query).unwrap_or_default();
        named.sort();
        named.dedup();
        let telling: Vec<String> = named
            .iter()
            .filter(|p| patterns.get(p.as_str()).is_none_or(|stats| has_constant_words(&stats.template)))
            .cloned()
            .collect();
        if !named.is_empty() && telling.is_empty() {
            result.all_variable_findings += 1;
            continue;
        }
        series.entry((finding.source.clone(), telling)).or_default().push(finding);
    }
    for ((source, patterns), mut found) in series {
        found.sort_by_key(|f| (f.first_seen_ms, f.last_seen_ms));
        let mut current: Option<Episode> = None;
        for finding in found {
            let joins = current.as_ref().is_some_and(|episode| match (episode.last_ms, finding.first_seen_ms) {
                (Some(last), Some(first)) => first - last <= EPISODE_GAP_MS,
                _ => true,
            });
            if !joins {
                result.episodes.extend(current.take());
            }
            let episode = current.get_or_insert_with(|| Episode {
                source: source.clone(),
                kinds: BTreeSet::new(),
                patterns: patterns.clone(),
                first_ms: finding.first_seen_ms,
                last_ms: finding.last_seen_ms,
                findings: 0,
                max_score: f64::MIN,
                summary: String::new(),
            });
            episode.kinds.insert(finding.kind.clone());
            episode.findings += 1;
            episode.first_ms = min_option(episode.first_ms, finding.first_seen_ms);
            episode.last_ms = episode.last_ms.max(finding.last_seen_ms.or(finding.first_seen_ms));
            if finding.score > episode.max_score {
                episode.max_score = finding.score;
                episode.summary = finding.summary.clone();
            }
        }
        result.episodes.extend(current);
    }
    result.episodes.sort_by_key(|e| (e.first_ms, e.source.clone()));
    result
}

fn min_option(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::StoredEvidence;

    fn finding(kind: &str, pattern: &str, first: i64, score: f64) -> StoredFinding {
        StoredFinding {
            plugin: "patterns".into(),
            source: "app".into(),
            kind: kind.into(),
            score,
            summary: format!("{kind} at {first}"),
            first_seen_ms: Some(first),
            last_seen_ms: Some(first + 60_000),
            evidence: StoredEvidence { query: Some(format!("pattern:{pattern}")), ..Default::default() },
        }
    }

    fn stats(id: &str, template: &str) -> PatternStats {
        PatternStats {
            pattern: id.into(),
            template: template.into(),
            count: 1,
            first_seen_ms: 0,
            last_seen_ms: 0,
            levels: BTreeMap::new(),
            sources: BTreeMap::new(),
            examples: Vec::new(),
            aliases: Vec::new(),
            volume: BTreeMap::new(),
        }
    }

    #[test]
    fn twenty_spikes_of_one_pattern_in_an_afternoon_are_one_episode() {
        let known = [stats("p1", "disk full on <*>"), stats("p2", "<*> <*>")];
        let by_id: BTreeMap<&str, &PatternStats> = known.iter().map(|p| (p.pattern.as_str(), p)).collect();
        let mut found: Vec<StoredFinding> =
            (0..20).map(|i| finding("spike", "p1", i * 10 * 60_000, 0.5 + i as f64 / 100.0)).collect();
        found.push(finding("spike", "p1", 30 * HOUR_MS, 0.6));
        found.push(finding("spike", "p2", 0, 0.9));
        let result = episodes(&found, &by_id);
        assert_eq!(result.episodes.len(), 2, "{:?}", result.episodes);
        assert_eq!(result.episodes[0].findings, 20);
        assert_eq!(result.episodes[0].summary, "spike at 11400000");
        assert_eq!(result.episodes[1].findings, 1);
        assert_eq!(result.all_variable_findings, 1, "`<*> <*>` is evidence of nothing");
        assert!(result.episodes[0].describe().starts_with("spike on `app`: 20 findings, "));
    }
}
