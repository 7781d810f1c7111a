//! Counting matching records per time bucket: a collector that reads the `timestamp` fast
//! column of each segment, so no document is loaded. A histogram has at most [`MAX_BUCKETS`]
//! buckets: a width too fine for the time range is widened to the smallest round width that
//! fits ([`fitting_width`]), and the caller says so.

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

/// The most buckets a histogram has, from its first non-empty bucket to its last.
pub const MAX_BUCKETS: i64 = 1_000;

/// Round bucket widths, smallest first: a widened histogram takes the first that fits.
const ROUND_WIDTHS_MS: [i64; 19] = [
    1_000,
    5_000,
    10_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    2 * 86_400_000,
    7 * 86_400_000,
    14 * 86_400_000,
    28 * 86_400_000,
];

/// The smallest round bucket width at least `ms` (whole days beyond four weeks).
pub fn round_width(ms: i64) -> i64 {
    ROUND_WIDTHS_MS.iter().copied().find(|&width| width >= ms).unwrap_or(86_400_000 * (ms / 86_400_000 + 1))
}

/// How many buckets of `width_ms` span from `first_ms` to `last_ms` (bucket starts).
pub fn bucket_count(first_ms: i64, last_ms: i64, width_ms: i64) -> i64 {
    (last_ms - first_ms).max(0) / width_ms.max(1) + 1
}

/// `width_ms` when the records from `first_ms` to `last_ms` fit in [`MAX_BUCKETS`] buckets of
/// it; otherwise the smallest round width at least as wide in which they do.
pub fn fitting_width(first_ms: i64, last_ms: i64, width_ms: i64) -> i64 {
    let width_ms = width_ms.max(1);
    // A bucket more than the plain division: aligned buckets can straddle both ends.
    if bucket_count(first_ms, last_ms, width_ms) <= MAX_BUCKETS {
        return width_ms;
    }
    let mut wider = round_width(((last_ms - first_ms) / (MAX_BUCKETS - 1)).max(width_ms));
    while bucket_count(first_ms.div_euclid(wider) * wider, last_ms, wider) > MAX_BUCKETS {
        wider = round_width(wider + 1);
    }
    wider
}

/// The buckets from the first to the last non-empty one, empty ones included as zero.
pub fn fill_gaps(counts: &BTreeMap<i64, u64>, width_ms: i64) -> Vec<(i64, u64)> {
    let (Some((&first, _)), Some((&last, _))) = (counts.first_key_value(), counts.last_key_value()) else {
        return Vec::new();
    };
    let buckets = bucket_count(first, last, width_ms).min(MAX_BUCKETS * 100);
    (0..buckets).map(|i| first + i * width_ms).map(|start| (start, counts.get(&start).copied().unwrap_or(0))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn a_width_that_fits_stays_and_one_too_fine_is_widened_to_a_round_one_that_fits() {
        assert_eq!(fitting_width(0, 999 * 60_000, 60_000), 60_000, "1,000 minutes in minutes");
        // Seven years in days (2,535 buckets) become weeks.
        let widened = fitting_width(0, 2_534 * DAY, DAY);
        assert_eq!(widened, 7 * DAY);
        assert!(bucket_count(0, 2_534 * DAY, widened) <= MAX_BUCKETS);
        // A day and a half in minutes becomes 5 minutes.
        assert_eq!(fitting_width(0, 36 * 3_600_000, 60_000), 300_000);
        // Centuries in seconds: whole days, still within the cap.
        let far = 36_500 * 5 * DAY;
        let width = fitting_width(0, far, 1_000);
        assert!(bucket_count(0, far, width) <= MAX_BUCKETS, "{width}");
    }

    #[test]
    fn gaps_are_zeros_between_the_first_and_last_bucket() {
        let counts = BTreeMap::from([(0, 2), (180_000, 1)]);
        assert_eq!(fill_gaps(&counts, 60_000), vec![(0, 2), (60_000, 0), (120_000, 0), (180_000, 1)]);
    }
}
