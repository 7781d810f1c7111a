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
    /// Ids that records of this pattern also carry: patterns the miner merged into it since
    /// ([`super::PatternAliases`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Records per time bucket, keyed by bucket number (bucket start / width; an hour wide
    /// from [`LogIndex::patterns`]): how the pattern's volume moves, for the trend of the
    /// feedback items it is evidence of and the page's sparklines.
    #[serde(skip)]
    pub volume: BTreeMap<i64, u64>,
}

/// The width of a [`PatternStats::volume`] bucket from [`LogIndex::patterns`].
pub const HOUR_MS: i64 = 3_600_000;

/// What one segment's records say about one pattern, by column ordinals.
struct Tally {
    count: u64,
    first: i64,
    last: i64,
    levels: BTreeMap<u64, u64>,
    sources: BTreeMap<u64, u64>,
    template: Option<u64>,
    volume: BTreeMap<i64, u64>,
}

/// Pattern statistics with volume buckets of `bucket_ms`, counted from `origin_ms`; records of
/// a merged pattern counted under the one it stands for now in their source.
struct PatternCollector {
    origin_ms: i64,
    bucket_ms: i64,
    aliases: std::sync::Arc<super::PatternAliases>,
}

/// A segment's tallies by (pattern id, source) as [`PatternStats`] of that source alone, so
/// that an alias, which holds in one source, can be followed when fruits merge.
type SegmentFruit = BTreeMap<(String, String), PatternStats>;

struct SegmentPatterns {
    pattern: Option<StrColumn>,
    template: Option<StrColumn>,
    level: Option<StrColumn>,
    source: Option<StrColumn>,
    timestamp: Column<tantivy::DateTime>,
    origin_ms: i64,
    bucket_ms: i64,
    /// (pattern ordinal, source ordinal) -> its tally
    stats: BTreeMap<(u64, u64), Tally>,
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
    type Fruit = SegmentFruit;
    type Child = SegmentPatterns;

    fn for_segment(&self, _segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentPatterns> {
        let fast = reader.fast_fields();
        Ok(SegmentPatterns {
            pattern: fast.str("pattern")?,
            template: fast.str("template")?,
            level: fast.str("level")?,
            source: fast.str("source")?,
            timestamp: fast.date("timestamp")?,
            origin_ms: self.origin_ms,
            bucket_ms: self.bucket_ms,
            stats: BTreeMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<SegmentFruit>) -> tantivy::Result<SegmentFruit> {
        // Keyed by the standing id alone (the source part of the key left empty): the caller
        // takes the values.
        let mut merged: SegmentFruit = BTreeMap::new();
        for fruit in fruits {
            for ((pattern, source), stats) in fruit {
                let standing = self.aliases.standing(&source, &pattern);
                let entry = merged.entry((standing.to_string(), String::new())).or_insert_with(|| PatternStats {
                    first_seen_ms: i64::MAX,
                    last_seen_ms: i64::MIN,
                    ..PatternStats::default()
                });
                if standing != pattern && !entry.aliases.contains(&pattern) {
                    entry.aliases.push(pattern.clone());
                }
                // What the last merge into it made its template, else its records' own.
                match self.aliases.template(&source, standing) {
                    Some(widened) => entry.template = widened.to_string(),
                    None if entry.template.is_empty() => entry.template = stats.template,
                    None => {}
                }
                entry.pattern = standing.to_string();
                entry.count += stats.count;
                entry.first_seen_ms = entry.first_seen_ms.min(stats.first_seen_ms);
                entry.last_seen_ms = entry.last_seen_ms.max(stats.last_seen_ms);
                for (level, count) in stats.levels {
                    *entry.levels.entry(level).or_insert(0) += count;
                }
                for (source, count) in stats.sources {
                    *entry.sources.entry(source).or_insert(0) += count;
                }
                for (bucket, count) in stats.volume {
                    *entry.volume.entry(bucket).or_insert(0) += count;
                }
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SegmentPatterns {
    type Fruit = SegmentFruit;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let Some(pattern) = first_ord(&self.pattern, doc) else { return };
        let time = self.timestamp.first(doc).map_or(0, |time| time.into_timestamp_millis());
        let level = first_ord(&self.level, doc).unwrap_or(u64::MAX);
        let source = first_ord(&self.source, doc).unwrap_or(u64::MAX);
        let template = first_ord(&self.template, doc);
        let tally = self.stats.entry((pattern, source)).or_insert_with(|| Tally {
            count: 0,
            first: i64::MAX,
            last: i64::MIN,
            levels: BTreeMap::new(),
            sources: BTreeMap::new(),
            template: None,
            volume: BTreeMap::new(),
        });
        tally.count += 1;
        tally.first = tally.first.min(time);
        tally.last = tally.last.max(time);
        *tally.levels.entry(level).or_insert(0) += 1;
        *tally.sources.entry(source).or_insert(0) += 1;
        if tally.template.is_none() {
            tally.template = template;
        }
        *tally.volume.entry((time - self.origin_ms).div_euclid(self.bucket_ms)).or_insert(0) += 1;
    }

    fn harvest(self) -> SegmentFruit {
        let mut out = BTreeMap::new();
        for ((ordinal, source), tally) in self.stats {
            let pattern = ord_text(&self.pattern, ordinal);
            let source = if source == u64::MAX { String::new() } else { ord_text(&self.source, source) };
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
                template: tally.template.map(|ordinal| ord_text(&self.template, ordinal)).unwrap_or_default(),
                count: tally.count,
                first_seen_ms: tally.first,
                last_seen_ms: tally.last,
                levels: text_counts(&self.level, tally.levels),
                sources: text_counts(&self.source, tally.sources),
                examples: Vec::new(),
                aliases: Vec::new(),
                volume: tally.volume,
            };
            out.insert((pattern, source), stats);
        }
        out
    }
}

impl LogIndex {
    /// Every pattern in the index (of `source`, if given), most frequent first, without
    /// examples (see [`LogIndex::add_examples`]); volume by hour.
    pub fn patterns(&self, source: Option<&str>) -> Result<Vec<PatternStats>> {
        let request =
            SearchRequest { query: "*".into(), source: source.map(str::to_string), ..SearchRequest::default() };
        self.patterns_matching(&request, 0, HOUR_MS)
    }

    /// The patterns of the records `request` matches (query, source, time range), most
    /// frequent first, with their volume in buckets of `bucket_ms` numbered from `origin_ms`
    /// (bucket 0 starts there).
    pub fn patterns_matching(
        &self,
        request: &SearchRequest,
        origin_ms: i64,
        bucket_ms: i64,
    ) -> Result<Vec<PatternStats>> {
        let query = self.filtered_query(request)?;
        let collector = PatternCollector { origin_ms, bucket_ms: bucket_ms.max(1), aliases: self.pattern_aliases() };
        let found = self.reader.searcher().search(&query, &collector)?;
        let mut patterns: Vec<PatternStats> = found.into_values().collect();
        for stats in &mut patterns {
            stats.aliases.sort();
        }
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
