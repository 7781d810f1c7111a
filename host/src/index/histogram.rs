//! Counting matching records per time bucket: a collector that reads the `timestamp` fast
//! column of each segment, so no document is loaded.

use std::collections::BTreeMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Counts per bucket of `width_ms`, buckets aligned to the epoch; keyed by bucket start.
pub struct TimeHistogram {
    pub width_ms: i64,
}

pub struct SegmentHistogram {
    column: Column<tantivy::DateTime>,
    width_ms: i64,
    counts: BTreeMap<i64, u64>,
}

impl Collector for TimeHistogram {
    type Fruit = BTreeMap<i64, u64>;
    type Child = SegmentHistogram;

    fn for_segment(&self, _segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentHistogram> {
        Ok(SegmentHistogram {
            column: reader.fast_fields().date("timestamp")?,
            width_ms: self.width_ms,
            counts: BTreeMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<BTreeMap<i64, u64>>) -> tantivy::Result<BTreeMap<i64, u64>> {
        let mut merged = BTreeMap::new();
        for fruit in fruits {
            for (start, count) in fruit {
                *merged.entry(start).or_insert(0) += count;
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SegmentHistogram {
    type Fruit = BTreeMap<i64, u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(time) = self.column.first(doc) {
            let ms = time.into_timestamp_millis();
            *self.counts.entry(ms.div_euclid(self.width_ms) * self.width_ms).or_insert(0) += 1;
        }
    }

    fn harvest(self) -> BTreeMap<i64, u64> {
        self.counts
    }
}

/// The buckets from the first to the last non-empty one, empty ones included as zero.
pub fn fill_gaps(counts: &BTreeMap<i64, u64>, width_ms: i64) -> Vec<(i64, u64)> {
    let (Some((&first, _)), Some((&last, _))) = (counts.first_key_value(), counts.last_key_value()) else {
        return Vec::new();
    };
    let buckets = ((last - first) / width_ms + 1).min(100_000);
    (0..buckets).map(|i| first + i * width_ms).map(|start| (start, counts.get(&start).copied().unwrap_or(0))).collect()
}
