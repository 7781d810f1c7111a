//! Metrics from the logs themselves, so a Prometheus and Grafana already in place show the log
//! side with no new datasource: records by source and level, the busiest patterns' records
//! per source, anomaly findings by source and kind, open feedback items by status and kind.
//!
//! Cardinality is bounded: the first `max_sources` sources get series of their own, later ones
//! count as `source="other"`; per source, up to `patterns_per_source` patterns get a series,
//! chosen by how many records they have had while unlabelled, and keep it (a counter must not
//! move between series), the rest are summed as `pattern="other"`; finding kinds beyond
//! [`MAX_KINDS`] are `other`. `opsloop_log_pattern_info{source,pattern,template} 1` names the
//! labelled patterns, for joins in queries.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::config::LogMetricsSettings;
use crate::feedback::render::lower;
use crate::feedback::{Board, ItemKind, ItemStatus};
use crate::ingest::Record;
use crate::pipeline::StoredFinding;

/// Finding kinds with series of their own, at most.
pub const MAX_KINDS: usize = 50;

/// Unlabelled patterns tallied per source, at most; past it the smaller half is forgotten.
const MAX_TALLIED: usize = 10_000;

/// Template label values are cut to this many characters.
const TEMPLATE_CHARS: usize = 200;

const OTHER: &str = "other";

/// The maps one batch is counted into.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLevel {
    pub source: String,
    pub level: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourcePattern {
    pub source: String,
    pub pattern: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PatternInfo {
    pub source: String,
    pub pattern: String,
    pub template: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceKind {
    pub source: String,
    pub kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusKind {
    pub status: String,
    pub kind: String,
}

/// Which labels are taken.
#[derive(Default)]
struct Budget {
    sources: HashMap<String, SourcePatterns>,
    kinds: std::collections::HashSet<String>,
}

#[derive(Default)]
struct SourcePatterns {
    labelled: HashMap<String, String>,
    /// Records of each unlabelled pattern, and its template.
    tally: HashMap<String, (u64, String)>,
}

impl Budget {
    /// The label of `source`: itself while there is room, else `other`.
    fn source_label(&mut self, source: &str, max_sources: usize) -> String {
        if self.sources.contains_key(source) {
            return source.to_string();
        }
        if self.sources.len() < max_sources {
            self.sources.insert(source.to_string(), SourcePatterns::default());
            return source.to_string();
        }
        OTHER.to_string()
    }

    fn kind_label(&mut self, kind: &str) -> String {
        if self.kinds.contains(kind) {
            return kind.to_string();
        }
        if self.kinds.len() < MAX_KINDS {
            self.kinds.insert(kind.to_string());
            return kind.to_string();
        }
        OTHER.to_string()
    }
}

/// One of a few level names, so a level written any way cannot add series.
fn level_label(level: Option<&str>) -> &'static str {
    const LEVELS: &[(&str, &str)] = &[
        ("INFO", "info"),
        ("ERROR", "error"),
        ("WARN", "warn"),
        ("DEBUG", "debug"),
        ("TRACE", "trace"),
        ("WARNING", "warn"),
        ("FATAL", "fatal"),
        ("NOTICE", "info"),
        ("ERR", "error"),
        ("SEVERE", "error"),
        ("CRITICAL", "fatal"),
        ("CRIT", "fatal"),
        ("EMERG", "fatal"),
        ("EMERGENCY", "fatal"),
        ("ALERT", "fatal"),
        ("PANIC", "fatal"),
    ];
    let Some(level) = level else { return "none" };
    LEVELS.iter().find(|(name, _)| name.eq_ignore_ascii_case(level)).map_or(OTHER, |(_, label)| label)
}

/// The log-derived series.
pub struct LogSeries {
    records: Family<SourceLevel, Counter>,
    pattern_records: Family<SourcePattern, Counter>,
    pattern_info: Family<PatternInfo, Gauge>,
    findings: Family<SourceKind, Counter>,
    feedback_items: Family<StatusKind, Gauge>,
    budget: Mutex<Budget>,
    limits: LogMetricsSettings,
}

impl LogSeries {
    /// The series, registered in `registry`.
    pub fn register(registry: &mut Registry, limits: &LogMetricsSettings) -> Self {
        let series = Self {
            records: Family::default(),
            pattern_records: Family::default(),
            pattern_info: Family::default(),
            findings: Family::default(),
            feedback_items: Family::default(),
            budget: Mutex::new(Budget::default()),
            limits: limits.clone(),
        };
        registry.register("log_records", "Log records indexed, by source and level", series.records.clone());
        registry.register(
            "log_pattern_records",
            "Log records indexed, by source and pattern (the busiest patterns per source; the rest as pattern=\"other\")",
            series.pattern_records.clone(),
        );
        registry.register(
            "log_pattern_info",
            "The template of each pattern with a series of its own",
            series.pattern_info.clone(),
        );
        registry.register("anomaly_findings", "Findings stored, by source and kind", series.findings.clone());
        registry.register(
            "feedback_items",
            "Feedback items on the board, by status and kind",
            series.feedback_items.clone(),
        );
        series
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Budget> {
        self.budget.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a batch of records on its way into the index (after the plugins annotated it).
    /// The batch's patterns are tallied before they are counted, so the busiest ones of a
    /// source's first batch already count in series of their own.
    pub fn count_records(&self, records: &[Record]) {
        if records.is_empty() {
            return;
        }
        let mut budget = self.lock();
        let mut by_level: FastMap<(&str, &'static str), u64> = FastMap::default();
        let mut by_source: FastMap<&str, FastMap<&str, (u64, Option<&str>)>> = FastMap::default();
        // Records of one source come in runs: its label is looked up once per run.
        let mut labels: FastMap<&str, &str> = FastMap::default();
        let mut last: Option<(&str, &str)> = None;
        for record in records {
            let source = match last {
                Some((name, label)) if name == record.source => label,
                _ => {
                    let label = match labels.get(record.source.as_str()) {
                        Some(label) => *label,
                        None => {
                            let label: &str =
                                if budget.source_label(&record.source, self.limits.max_sources) == record.source {
                                    record.source.as_str()
                                } else {
                                    OTHER
                                };
                            labels.insert(record.source.as_str(), label);
                            label
                        }
                    };
                    last = Some((record.source.as_str(), label));
                    label
                }
            };
            *by_level.entry((source, level_label(record.level.as_deref()))).or_default() += 1;
            let Some(pattern) = record.annotations.get("pattern") else { continue };
            let entry = by_source.entry(source).or_default().entry(pattern.as_ref()).or_insert((0, None));
            entry.0 += 1;
            entry.1 = record.annotations.get("template").map(|template| template.as_ref());
        }
        for ((source, level), count) in by_level {
            self.records.get_or_create(&SourceLevel { source: source.into(), level: level.into() }).inc_by(count);
        }
        for (source, patterns) in by_source {
            let source = source.to_string();
            let Some(known) = budget.sources.get_mut(&source) else {
                // `other` sources: every pattern summed.
                let total = patterns.values().map(|(count, _)| count).sum();
                self.pattern_records.get_or_create(&SourcePattern { source, pattern: OTHER.into() }).inc_by(total);
                continue;
            };
            for (pattern, (count, template)) in &patterns {
                if known.labelled.contains_key(*pattern) {
                    continue;
                }
                let entry = known.tally.entry(pattern.to_string()).or_insert_with(|| (0, String::new()));
                entry.0 += count;
                if let Some(template) = template {
                    entry.1 = template.chars().take(TEMPLATE_CHARS).collect();
                }
            }
            self.promote(&source, known);
            let mut other = 0;
            for (pattern, (count, _)) in patterns {
                if known.labelled.contains_key(pattern) {
                    let label = SourcePattern { source: source.clone(), pattern: pattern.to_string() };
                    self.pattern_records.get_or_create(&label).inc_by(count);
                } else {
                    other += count;
                }
            }
            if other > 0 {
                self.pattern_records.get_or_create(&SourcePattern { source, pattern: OTHER.into() }).inc_by(other);
            }
        }
    }

    /// Gives the busiest unlabelled patterns of a source a series while there is room.
    fn promote(&self, source: &str, patterns: &mut SourcePatterns) {
        let room = self.limits.patterns_per_source.saturating_sub(patterns.labelled.len());
        if room > 0 && !patterns.tally.is_empty() {
            let mut busiest: Vec<(String, u64)> =
                patterns.tally.iter().map(|(pattern, (count, _))| (pattern.clone(), *count)).collect();
            busiest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            for (pattern, _) in busiest.into_iter().take(room) {
                let (_, template) = patterns.tally.remove(&pattern).unwrap_or_default();
                self.pattern_info
                    .get_or_create(&PatternInfo {
                        source: source.to_string(),
                        pattern: pattern.clone(),
                        template: template.clone(),
                    })
                    .set(1);
                patterns.labelled.insert(pattern, template);
            }
        }
        if patterns.tally.len() > MAX_TALLIED {
            let mut counts: Vec<u64> = patterns.tally.values().map(|(count, _)| *count).collect();
            counts.sort_unstable();
            let median = counts[counts.len() / 2];
            patterns.tally.retain(|_, (count, _)| *count > median);
        }
    }

    /// Counts stored findings.
    pub fn count_findings(&self, findings: &[StoredFinding]) {
        if findings.is_empty() {
            return;
        }
        let mut budget = self.lock();
        for finding in findings {
            let source = budget.source_label(&finding.source, self.limits.max_sources);
            let kind = budget.kind_label(&finding.kind);
            self.findings.get_or_create(&SourceKind { source, kind }).inc();
        }
    }

    /// Sets the item counts of a board just built or changed (every status and kind, zeros too).
    pub fn set_feedback_items(&self, board: &Board) {
        let statuses = [ItemStatus::New, ItemStatus::Ongoing, ItemStatus::Regressed, ItemStatus::Resolved];
        let kinds = [ItemKind::Bug, ItemKind::Incident, ItemKind::Regression, ItemKind::Request];
        for status in statuses {
            for kind in kinds {
                let count = board.items.iter().filter(|item| item.status == status && item.kind == kind).count();
                self.feedback_items
                    .get_or_create(&StatusKind { status: lower(status), kind: lower(kind) })
                    .set(count as i64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ingest::Origin;

    fn record(source: &str, level: &str, pattern: &str) -> Record {
        let mut record = Record::new(source, "m".into(), Origin::for_tests());
        record.level = Some(level.into());
        record.annotations.insert(Arc::from("pattern"), Arc::from(pattern));
        record.annotations.insert(Arc::from("template"), Arc::from(format!("template of {pattern}").as_str()));
        record
    }

    fn render(registry: &Registry) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
        text
    }

    #[test]
    fn series_stay_within_the_source_and_pattern_budgets() {
        let mut registry = Registry::with_prefix("opsloop");
        let series = LogSeries::register(&mut registry, &LogMetricsSettings { max_sources: 2, patterns_per_source: 2 });
        let mut batch = Vec::new();
        for (pattern, count) in [("p1", 5), ("p2", 3), ("p3", 1)] {
            batch.extend((0..count).map(|_| record("shop", "error", pattern)));
        }
        batch.push(record("billing", "Warning", "q1"));
        batch.push(record("third", "INFO", "r1"));
        series.count_records(&batch);
        // The next batch: p1 and p2 now have series of their own, p3 stays in `other`.
        series.count_records(&[
            record("shop", "ERROR", "p1"),
            record("shop", "ERROR", "p3"),
            record("shop", "odd", "p2"),
        ]);
        let text = render(&registry);
        assert!(text.contains(r#"opsloop_log_records_total{source="shop",level="error"} 11"#), "{text}");
        assert!(text.contains(r#"opsloop_log_records_total{source="shop",level="other"} 1"#), "{text}");
        assert!(text.contains(r#"opsloop_log_records_total{source="billing",level="warn"} 1"#), "{text}");
        assert!(text.contains(r#"opsloop_log_records_total{source="other",level="info"} 1"#), "{text}");
        assert!(text.contains(r#"opsloop_log_pattern_records_total{source="shop",pattern="p1"} 6"#), "{text}");
        assert!(text.contains(r#"opsloop_log_pattern_records_total{source="shop",pattern="p2"} 4"#), "{text}");
        assert!(text.contains(r#"opsloop_log_pattern_records_total{source="shop",pattern="other"} 2"#), "{text}");
        assert!(text.contains(r#"opsloop_log_pattern_records_total{source="other",pattern="other"} 1"#), "{text}");
        assert!(!text.contains(r#"pattern="p3""#), "{text}");
        assert!(text.contains(r#"opsloop_log_pattern_info{source="shop",pattern="p1",template="template of p1"} 1"#));
    }
}
