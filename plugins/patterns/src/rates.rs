//! Rate anomalies: a pattern whose count per time bucket spikes or drops against its own
//! baseline, and a burst of error-level records across patterns.
//!
//! Records are counted per (series, bucket); a series is one pattern, or all error-level
//! records together. A bucket is judged once the stream's clock (its newest timestamp) has
//! passed the bucket's end by one more bucket, so records that arrive a little out of order
//! still count. A bucket in which the stream had no record at all is a gap in the data, not a
//! drop: it is skipped.
//!
//! A series' baseline is two levels: the recent one (an exponentially weighted mean over the
//! last few dozen buckets) and, once a day has passed, the usual level at this hour of the day
//! (the mean of the same hour on earlier days). A spike must exceed both, so a daily peak the
//! series has had before is no news; a drop must fall below both, so the nightly dip is none.
//! The test is a Poisson tail: `z = (observed - expected) / sqrt(expected)` at least
//! [`RateSettings::min_z`], by at least [`RateSettings::min_factor`], and at least
//! [`RateSettings::min_count`] records, so small numbers do not fire. Consecutive anomalous
//! buckets of a series are one episode, reported when it ends; one still running when a call
//! ends is also announced then ([`RateDetector::announce_running`]), once, so a live stream
//! hears of a burst while it lasts, not only after.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// The knobs of rate detection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSettings {
    /// Bucket width in milliseconds.
    pub bucket_ms: i64,
    /// Buckets a series must have been judged on before it can fire.
    pub warmup_buckets: u32,
    /// Fewest records in a bucket for a spike (and expected for a drop, twice this).
    pub min_count: u64,
    /// Smallest ratio between observed and expected (either way).
    pub min_factor: f64,
    /// Smallest Poisson z-score.
    pub min_z: f64,
}

impl Default for RateSettings {
    fn default() -> Self {
        Self { bucket_ms: 60_000, warmup_buckets: 30, min_count: 10, min_factor: 3.0, min_z: 5.0 }
    }
}

const HOUR_MS: i64 = 3_600_000;
/// Smoothing of the recent level: the weight of the newest bucket.
const RECENT_WEIGHT: f64 = 2.0 / 31.0;

/// What a series is counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Series {
    /// One pattern, by miner index.
    Pattern(usize),
    /// Every error-level record.
    Errors,
}

/// The level a series usually has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Baseline {
    recent: f64,
    judged: u32,
    /// Mean per bucket at each hour of the day, from earlier days.
    by_hour: Vec<Option<f64>>,
    /// The hour being accumulated (hours since the epoch) and its running sum and buckets.
    hour: i64,
    hour_sum: f64,
    hour_buckets: u32,
}

/// Which way a bucket broke from its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    Spike,
    Drop,
}

impl Baseline {
    /// The levels a bucket starting at `start_ms` is judged against: (for a spike, for a drop).
    fn expected(&self, start_ms: i64) -> (f64, f64) {
        let hour_of_day = start_ms.div_euclid(HOUR_MS).rem_euclid(24) as usize;
        match self.by_hour.get(hour_of_day).copied().flatten() {
            Some(usual) => (self.recent.max(usual), self.recent.min(usual)),
            None => (self.recent, self.recent),
        }
    }

    /// Judges one bucket, then learns from it. Returns the direction and the expected level
    /// when the bucket is anomalous.
    fn observe(&mut self, start_ms: i64, count: u64, settings: &RateSettings) -> Option<(Direction, f64)> {
        let (high, low) = self.expected(start_ms);
        let observed = count as f64;
        let mut verdict = None;
        if self.judged >= settings.warmup_buckets {
            let spike_z = (observed - high) / high.max(1.0).sqrt();
            let drop_z = (low - observed) / low.max(1.0).sqrt();
            if count >= settings.min_count
                && observed >= settings.min_factor * high.max(1.0)
                && spike_z >= settings.min_z
            {
                verdict = Some((Direction::Spike, high));
            } else if low >= 2.0 * settings.min_count as f64
                && observed * settings.min_factor <= low
                && drop_z >= settings.min_z
            {
                verdict = Some((Direction::Drop, low));
            }
        }
        // An anomalous bucket teaches the baseline only as much as a normal one could.
        let learned = match verdict {
            Some((Direction::Spike, expected)) => expected.max(1.0) * settings.min_factor,
            Some((Direction::Drop, expected)) => expected / settings.min_factor,
            None => observed,
        };
        let weight = (1.0 / (self.judged as f64 + 1.0)).max(RECENT_WEIGHT);
        self.recent += weight * (learned - self.recent);
        self.judged = self.judged.saturating_add(1);
        self.learn_hour(start_ms, learned, settings);
        verdict
    }

    fn learn_hour(&mut self, start_ms: i64, value: f64, settings: &RateSettings) {
        let hour = start_ms.div_euclid(HOUR_MS);
        if hour != self.hour {
            let buckets_per_hour = (HOUR_MS / settings.bucket_ms.max(1)).max(1) as u32;
            // An hour seen for at least half its buckets teaches that hour of the day.
            if self.hour_buckets * 2 >= buckets_per_hour {
                if self.by_hour.is_empty() {
                    self.by_hour = vec![None; 24];
                }
                let mean = self.hour_sum / self.hour_buckets as f64;
                let slot = &mut self.by_hour[self.hour.rem_euclid(24) as usize];
                *slot = Some(slot.map_or(mean, |old| 0.5 * old + 0.5 * mean));
            }
            self.hour = hour;
            self.hour_sum = 0.0;
            self.hour_buckets = 0;
        }
        self.hour_sum += value;
        self.hour_buckets += 1;
    }

    fn merge(&mut self, other: Baseline) {
        self.recent += other.recent;
        self.judged = self.judged.max(other.judged);
        if self.by_hour.len() == other.by_hour.len() {
            for (mine, theirs) in self.by_hour.iter_mut().zip(other.by_hour) {
                *mine = match (*mine, theirs) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
            }
        }
    }
}

/// A run of anomalous buckets of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    pub series: Series,
    pub direction: Direction,
    pub first_ms: i64,
    /// The end of the last anomalous bucket.
    pub last_ms: i64,
    pub buckets: u32,
    pub observed: u64,
    pub expected: f64,
    /// The bucket that broke furthest, its count and expectation.
    pub peak: (u64, f64),
    /// Example messages from the anomalous buckets.
    pub examples: Vec<String>,
    /// For error bursts: the patterns contributing most, with their error counts.
    pub contributors: Vec<(usize, u64)>,
    /// Whether it was announced while still running.
    #[serde(default)]
    pub announced: bool,
}

impl Episode {
    /// The Poisson z-score of the whole episode.
    pub fn z(&self) -> f64 {
        (self.observed as f64 - self.expected).abs() / self.expected.max(1.0).sqrt()
    }
}

/// Counts of one bucket still open.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct OpenBucket {
    #[serde(with = "crate::as_pairs")]
    counts: FxHashMap<Series, u64>,
    /// Error-level records per pattern, to name what an error burst is made of.
    errors_by_pattern: FxHashMap<usize, u64>,
    #[serde(with = "crate::as_pairs")]
    examples: FxHashMap<Series, String>,
}

/// Examples an episode keeps.
const EPISODE_EXAMPLES: usize = 3;

/// The rate detector of one partition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateDetector {
    #[serde(skip)]
    settings: RateSettings,
    open: BTreeMap<i64, OpenBucket>,
    /// The newest timestamp seen.
    clock: Option<i64>,
    #[serde(with = "crate::as_pairs")]
    baselines: FxHashMap<Series, Baseline>,
    #[serde(with = "crate::as_pairs")]
    running: FxHashMap<Series, Episode>,
    /// Records that came after their bucket was judged.
    pub late_records: u64,
    /// Buckets the stream has had judged: a pattern first seen after them has a known history
    /// of zero that long, so it starts warmed up (a burst of a brand-new message is a spike).
    #[serde(default)]
    judged_buckets: u32,
}

impl RateDetector {
    pub fn new(settings: RateSettings) -> Self {
        Self { settings, ..Self::default() }
    }

    /// Restores the settings after deserializing (they are configuration, not state).
    pub fn with_settings(mut self, settings: RateSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Counts one record of `pattern` at `timestamp_ms`.
    pub fn count(&mut self, timestamp_ms: i64, pattern: usize, is_error: bool, message: &str) {
        let bucket = timestamp_ms.div_euclid(self.settings.bucket_ms) * self.settings.bucket_ms;
        if self.is_judged(bucket) {
            self.late_records += 1;
            return;
        }
        self.clock = Some(self.clock.map_or(timestamp_ms, |clock| clock.max(timestamp_ms)));
        let open = self.open.entry(bucket).or_default();
        let mut add = |series: Series| {
            *open.counts.entry(series).or_default() += 1;
            open.examples.entry(series).or_insert_with(|| message.to_string());
        };
        add(Series::Pattern(pattern));
        if is_error {
            add(Series::Errors);
            *open.errors_by_pattern.entry(pattern).or_default() += 1;
        }
    }

    fn is_judged(&self, bucket: i64) -> bool {
        // Buckets before the oldest open one and behind the clock have been judged.
        match (self.clock, self.open.keys().next()) {
            (Some(clock), oldest) => {
                bucket + 2 * self.settings.bucket_ms <= clock && oldest.is_none_or(|&oldest| bucket < oldest)
            }
            (None, _) => false,
        }
    }

    /// Judges every bucket the clock has passed by a bucket; returns the episodes that ended.
    pub fn judge_closed(&mut self) -> Vec<Episode> {
        let Some(clock) = self.clock else { return Vec::new() };
        let mut ended = Vec::new();
        while let Some((&bucket, _)) = self.open.first_key_value() {
            if bucket + 2 * self.settings.bucket_ms > clock {
                break;
            }
            let open = self.open.pop_first().map(|(_, open)| open).unwrap_or_default();
            self.judge(bucket, open, &mut ended);
        }
        ended
    }

    /// The running episodes not announced yet, oldest first; each is announced once.
    pub fn announce_running(&mut self) -> Vec<Episode> {
        let mut announced: Vec<Episode> = self
            .running
            .values_mut()
            .filter(|episode| !episode.announced)
            .map(|episode| {
                episode.announced = true;
                episode.clone()
            })
            .collect();
        announced.sort_by_key(|episode| (episode.first_ms, episode.series));
        announced
    }

    /// Judges every open bucket and ends every running episode (the input ended).
    pub fn finish(&mut self) -> Vec<Episode> {
        let mut ended = Vec::new();
        while let Some((bucket, open)) = self.open.pop_first() {
            self.judge(bucket, open, &mut ended);
        }
        ended.extend(self.running.drain().map(|(_, episode)| episode));
        ended.sort_by_key(|episode| (episode.first_ms, episode.series));
        ended
    }

    fn judge(&mut self, bucket: i64, open: OpenBucket, ended: &mut Vec<Episode>) {
        let settings = self.settings;
        // Every series known, also those silent in this bucket: silence is what a drop is.
        let history = self.judged_buckets;
        for series in open.counts.keys() {
            self.baselines.entry(*series).or_insert_with(|| Baseline {
                hour: bucket.div_euclid(HOUR_MS),
                judged: history,
                ..Baseline::default()
            });
        }
        self.judged_buckets = self.judged_buckets.saturating_add(1);
        let mut series_list: Vec<Series> = self.baselines.keys().copied().collect();
        series_list.sort();
        for series in series_list {
            let count = open.counts.get(&series).copied().unwrap_or(0);
            let baseline = self.baselines.get_mut(&series).expect("listed above");
            let verdict = baseline.observe(bucket, count, &settings);
            match (verdict, self.running.remove(&series)) {
                (Some((direction, expected)), running) => {
                    let mut episode = match running {
                        Some(episode) if episode.direction == direction => episode,
                        other => {
                            ended.extend(other);
                            Episode {
                                series,
                                direction,
                                first_ms: bucket,
                                last_ms: bucket,
                                buckets: 0,
                                observed: 0,
                                expected: 0.0,
                                peak: (count, expected),
                                examples: Vec::new(),
                                contributors: Vec::new(),
                                announced: false,
                            }
                        }
                    };
                    episode.last_ms = bucket + settings.bucket_ms;
                    episode.buckets += 1;
                    episode.observed += count;
                    episode.expected += expected;
                    let ratio = |(observed, expected): (u64, f64)| (observed as f64 + 1.0) / (expected + 1.0);
                    let this = (count, expected);
                    let further = match direction {
                        Direction::Spike => ratio(this) > ratio(episode.peak),
                        Direction::Drop => ratio(this) < ratio(episode.peak),
                    };
                    if further {
                        episode.peak = this;
                    }
                    if episode.examples.len() < EPISODE_EXAMPLES {
                        episode.examples.extend(open.examples.get(&series).cloned());
                    }
                    if series == Series::Errors {
                        for (&pattern, &errors) in &open.errors_by_pattern {
                            match episode.contributors.iter_mut().find(|(known, _)| *known == pattern) {
                                Some((_, total)) => *total += errors,
                                None => episode.contributors.push((pattern, errors)),
                            }
                        }
                        episode.contributors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                        episode.contributors.truncate(5);
                    }
                    self.running.insert(series, episode);
                }
                (None, Some(episode)) => ended.push(episode),
                (None, None) => {}
            }
        }
    }

    /// Moves everything counted for a pattern that was folded into another onto that one.
    pub fn remap(&mut self, resolve: impl Fn(usize) -> usize) {
        let moved = |series: Series| match series {
            Series::Pattern(index) => Series::Pattern(resolve(index)),
            other => other,
        };
        let folded: Vec<Series> = self.baselines.keys().copied().filter(|&series| moved(series) != series).collect();
        for series in folded {
            if let Some(baseline) = self.baselines.remove(&series) {
                match self.baselines.get_mut(&moved(series)) {
                    Some(target) => target.merge(baseline),
                    None => {
                        self.baselines.insert(moved(series), baseline);
                    }
                }
            }
            if let Some(mut episode) = self.running.remove(&series) {
                episode.series = moved(series);
                self.running.entry(moved(series)).or_insert(episode);
            }
        }
        for open in self.open.values_mut() {
            let counts = std::mem::take(&mut open.counts);
            for (series, count) in counts {
                *open.counts.entry(moved(series)).or_default() += count;
            }
            let errors = std::mem::take(&mut open.errors_by_pattern);
            for (pattern, count) in errors {
                *open.errors_by_pattern.entry(resolve(pattern)).or_default() += count;
            }
            let examples = std::mem::take(&mut open.examples);
            for (series, example) in examples {
                open.examples.entry(moved(series)).or_insert(example);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    /// Feeds `per_minute(minute)` records of pattern 0 for `minutes` minutes; returns episodes.
    fn run(minutes: i64, per_minute: impl Fn(i64) -> u64) -> Vec<Episode> {
        let mut detector = RateDetector::new(RateSettings::default());
        let mut episodes = Vec::new();
        for minute in 0..minutes {
            for n in 0..per_minute(minute) {
                detector.count(minute * MINUTE + n as i64 % MINUTE, 0, false, "x");
            }
            // A heartbeat pattern keeps the stream alive in quiet minutes.
            detector.count(minute * MINUTE, 1, false, "heartbeat");
            episodes.extend(detector.judge_closed());
        }
        episodes.extend(detector.finish());
        episodes
    }

    #[test]
    fn a_burst_still_going_is_announced_once_while_it_lasts_and_reported_in_full_when_it_ends() {
        let mut detector = RateDetector::new(RateSettings::default());
        let mut announced = Vec::new();
        let mut ended = Vec::new();
        for minute in 0..90 {
            let burst = if (60..75).contains(&minute) { 40 } else { 0 };
            for n in 0..burst {
                detector.count(minute * MINUTE + n, 0, false, "x");
            }
            detector.count(minute * MINUTE, 1, false, "heartbeat");
            ended.extend(detector.judge_closed());
            let now = detector.announce_running();
            if minute < 75 {
                assert!(ended.is_empty(), "minute {minute}: {ended:?}");
            }
            if !now.is_empty() {
                assert!(minute < 65, "announced at minute {minute}, three minutes into the burst at most");
            }
            announced.extend(now);
        }
        assert_eq!(announced.len(), 1, "once: {announced:?}");
        assert_eq!(announced[0].first_ms, 60 * MINUTE);
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert_eq!((ended[0].first_ms, ended[0].last_ms), (60 * MINUTE, 75 * MINUTE));
    }

    #[test]
    fn a_burst_of_a_pattern_never_seen_before_is_a_spike_once_the_stream_is_warm() {
        // Only the heartbeat for an hour, then a new message at 30 a minute for five minutes.
        let episodes = run(120, |minute| if (60..65).contains(&minute) { 30 } else { 0 });
        assert_eq!(episodes.len(), 1, "{episodes:?}");
        assert_eq!((episodes[0].series, episodes[0].direction), (Series::Pattern(0), Direction::Spike));
        assert_eq!(episodes[0].first_ms, 60 * MINUTE);
        // Early in the stream it is part of learning what the source says.
        assert!(run(120, |minute| if (5..10).contains(&minute) { 30 } else { 0 }).is_empty());
    }

    #[test]
    fn a_steady_series_fires_nothing() {
        assert_eq!(run(300, |minute| 20 + (minute % 7) as u64), Vec::new());
    }

    #[test]
    fn a_spike_is_one_episode_with_its_span() {
        let episodes = run(120, |minute| if (60..63).contains(&minute) { 400 } else { 20 });
        assert_eq!(episodes.len(), 1, "{episodes:?}");
        let spike = &episodes[0];
        assert_eq!((spike.series, spike.direction), (Series::Pattern(0), Direction::Spike));
        assert_eq!((spike.first_ms, spike.last_ms, spike.observed), (60 * MINUTE, 63 * MINUTE, 1200));
    }

    #[test]
    fn a_drop_to_silence_is_found() {
        let episodes = run(120, |minute| if (80..85).contains(&minute) { 0 } else { 60 });
        assert_eq!(episodes.len(), 1, "{episodes:?}");
        assert_eq!(episodes[0].direction, Direction::Drop);
        assert_eq!(episodes[0].first_ms, 80 * MINUTE);
    }

    #[test]
    fn a_daily_peak_fires_on_the_first_day_only() {
        // 10/min all day, 200/min from 09:00 to 10:00, for three days.
        let day = 24 * 60;
        let episodes = run(3 * day, |minute| if (540..600).contains(&(minute % day)) { 200 } else { 10 });
        assert!(episodes.iter().all(|episode| episode.first_ms < day * MINUTE), "{episodes:?}");
    }
}
