//! Pattern statistics over the log index: for every mined pattern, how many records carry it,
//! when it was first and last seen, and its mix of levels, read from the fast columns (no
//! document is loaded).

use std::collections::BTreeMap;

use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::{LogIndex, Result, SearchRequest};

/// What the index knows about one pattern.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PatternStats {
    pub pattern: String,
    pub template: String,
    pub count: u64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// Records per level (`INFO`, `ERROR`, ... and `-` for none).
    pub levels: BTreeMap<String, u64>,
    pub sources: BTreeMap<String, u64>,
    /// A few messages of the pattern, newest first.
    pub examples: Vec<String>,
}

struct PatternCollector;

struct SegmentPatterns {
    pattern: Option<StrColumn>,
    template: Option<StrColumn>,
    level: Option<StrColumn>,
    source: Option<StrColumn>,
    timestamp: Column<tantivy::DateTime>,
    /// pattern ordinal -> (count, first, last, level ordinal counts, source ordinal counts, template ordinal)
    stats: BTreeMap<u64, (u64, i64, i64, BTreeMap<u64, u64>, BTreeMap<u64, u64>, Option<u64>)>,
}

fn first_ord(column: &Option<StrColumn>, doc: DocId) -> Option<u64> {
    column.as_ref().and_then(|column| column.term_ords(doc).next())
}

fn ord_text(column: &Option<StrColumn>, ordinal: u64) -> String {
    let mut text = String::new();
    if let Some(column) = column {
        let _ = column.ord_to_str(ordinal, &mut text);
    }
    text
}

impl Collector for PatternCollector {
    type Fruit = BTreeMap<String, PatternStats>;
    type Child = SegmentPatterns;

    fn for_segment(&self, _segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentPatterns> {
        let fast = reader.fast_fields();
        Ok(SegmentPatterns {
            pattern: fast.str("pattern")?,
            template: fast.str("template")?,
            level: fast.str("level")?,
            source: fast.str("source")?,
            timestamp: fast.date("timestamp")?,
            stats: BTreeMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<BTreeMap<String, PatternStats>>,
    ) -> tantivy::Result<BTreeMap<String, PatternStats>> {
        let mut merged: BTreeMap<String, PatternStats> = BTreeMap::new();
        for fruit in fruits {
            for (pattern, stats) in fruit {
                let entry = merged.entry(pattern).or_insert_with(|| PatternStats {
                    first_seen_ms: i64::MAX,
                    last_seen_ms: i64::MIN,
                    ..PatternStats::default()
                });
                entry.pattern = stats.pattern;
                if entry.template.is_empty() {
                    entry.template = stats.template;
                }
                entry.count += stats.count;
                entry.first_seen_ms = entry.first_seen_ms.min(stats.first_seen_ms);
                entry.last_seen_ms = entry.last_seen_ms.max(stats.last_seen_ms);
                for (level, count) in stats.levels {
                    *entry.levels.entry(level).or_insert(0) += count;
                }
                for (source, count) in stats.sources {
                    *entry.sources.entry(source).or_insert(0) += count;
                }
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SegmentPatterns {
    type Fruit = BTreeMap<String, PatternStats>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let Some(pattern) = first_ord(&self.pattern, doc) else { return };
        let time = self.timestamp.first(doc).map_or(0, |time| time.into_timestamp_millis());
        let level = first_ord(&self.level, doc).unwrap_or(u64::MAX);
        let source = first_ord(&self.source, doc).unwrap_or(u64::MAX);
        let template = first_ord(&self.template, doc);
        let entry =
            self.stats.entry(pattern).or_insert((0, i64::MAX, i64::MIN, BTreeMap::new(), BTreeMap::new(), None));
        entry.0 += 1;
        entry.1 = entry.1.min(time);
        entry.2 = entry.2.max(time);
        *entry.3.entry(level).or_insert(0) += 1;
        *entry.4.entry(source).or_insert(0) += 1;
        if entry.5.is_none() {
            entry.5 = template;
        }
    }

    fn harvest(self) -> BTreeMap<String, PatternStats> {
        let mut out = BTreeMap::new();
        for (ordinal, (count, first, last, levels, sources, template)) in self.stats {
            let pattern = ord_text(&self.pattern, ordinal);
            let text_counts = |column: &Option<StrColumn>, counts: BTreeMap<u64, u64>| -> BTreeMap<String, u64> {
                counts
                    .into_iter()
                    .map(|(ordinal, count)| {
                        (if ordinal == u64::MAX { "-".to_string() } else { ord_text(column, ordinal) }, count)
                    })
                    .collect()
            };
            let stats = PatternStats {
                pattern: pattern.clone(),
                template: template.map(|ordinal| ord_text(&self.template, ordinal)).unwrap_or_default(),
                count,
                first_seen_ms: first,
                last_seen_ms: last,
                levels: text_counts(&self.level, levels),
                sources: text_counts(&self.source, sources),
                examples: Vec::new(),
            };
            out.insert(pattern, stats);
        }
        out
    }
}

impl LogIndex {
    /// Every pattern in the index (of `source`, if given), most frequent first, without
    /// examples (see [`LogIndex::add_examples`]).
    pub fn patterns(&self, source: Option<&str>) -> Result<Vec<PatternStats>> {
        let request =
            SearchRequest { query: "*".into(), source: source.map(str::to_string), ..SearchRequest::default() };
        let query = self.filtered_query(&request)?;
        let found = self.reader.searcher().search(&query, &PatternCollector)?;
        let mut patterns: Vec<PatternStats> = found.into_values().collect();
        patterns.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.pattern.cmp(&b.pattern)));
        Ok(patterns)
    }

    /// Fills each pattern's `examples` with up to `count` of its messages (of `source`, if
    /// given), newest first.
    pub fn add_examples(&self, patterns: &mut [PatternStats], source: Option<&str>, count: usize) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        for stats in patterns {
            let request = SearchRequest {
                query: format!("pattern:{}", stats.pattern),
                source: source.map(str::to_string),
                limit: Some(count),
                ..SearchRequest::default()
            };
            stats.examples = self.search(&request)?.into_iter().map(|hit| hit.record.message).collect();
        }
        Ok(())
    }
}
