//! The built-in `patterns` plugin: annotates every log record with the `pattern` id and the
//! `template` mined from its message, and reports anomalies: patterns that first appear after
//! a baseline, rates that spike or drop ([`rates`]), error bursts, and, when a session key is
//! configured, sessions that deviate from the normal ones ([`sessions`]).
//!
//! Rates are judged at two time scales: the `rate-bucket` (a minute by default) and buckets
//! [`SLOW_SCALE`] times as wide. A burst of a few records a minute for half an hour never
//! reaches the fine scale's smallest count in any one minute, but is as plain as a sudden flood
//! in ten-minute buckets; and a wide bucket needs less of the stream's history before a message
//! absent from all of it can be judged. The slow scale reports spikes and error bursts only,
//! and none that the fine scale already reported on the same series at an overlapping time.
//!
//! Messages are mined per partition (the host gives each source its own instance), and the
//! state of the miner and the detectors is kept between batches and runs, so ids are stable.

pub mod miner;
pub mod rates;
pub mod sessions;

use opsloop_sdk::{Config, Evidence, Finding, LogBatch, Output, Plugin, PluginError, PluginInfo, RecordColumns};
use serde::{Deserialize, Serialize};

pub use miner::{Miner, Pattern, WILDCARD};
use rates::{Direction, Episode, RateDetector, RateSettings, Series};
use sessions::{AnomalousSession, Deviation, SessionDetector, SessionSettings};

/// The plugin: a [`Miner`], the anomaly detectors, and the bookkeeping for new-pattern findings.
#[derive(Debug)]
pub struct PatternsPlugin {
    miner: Miner,
    similarity_threshold: f64,
    /// Patterns created after this many messages are reported as new.
    baseline: u64,
    /// ... or once the source's records span this long (ms), after [`MIN_BASELINE_MESSAGES`]:
    /// a quiet source shows its usual messages within hours, not within `baseline` messages.
    baseline_span_ms: i64,
    messages_seen: u64,
    /// The oldest record time seen, where the baseline span starts.
    first_record_ms: Option<i64>,
    rates: RateDetector,
    /// The same detection over buckets [`SLOW_SCALE`] times as wide.
    slow_rates: RateDetector,
    /// The span of the newest fine-scale episode reported per series, so the slow scale does
    /// not report a burst twice.
    fine_reported: std::collections::HashMap<Series, (i64, i64)>,
    sessions: Option<SessionDetector>,
}

/// How many fine buckets one slow-scale bucket spans.
pub const SLOW_SCALE: i64 = 10;

/// Slow buckets of stream history before the slow scale judges (two hours at the default
/// bucket): a series absent from twelve buckets in a row and then at ten or more in one is
/// not the same process (at a rate that gives ten a bucket, twelve empty ones in a row have a
/// chance under e^-100).
const SLOW_WARMUP_BUCKETS: u32 = 12;

/// The fewest messages before a new pattern can be news by [`PatternsPlugin::baseline_span_ms`].
const MIN_BASELINE_MESSAGES: u64 = 100;

/// What the plugin keeps between instances.
#[derive(Serialize, Deserialize)]
struct SavedState {
    miner: String,
    messages_seen: u64,
    #[serde(default)]
    first_record_ms: Option<i64>,
    rates: RateDetector,
    #[serde(default)]
    slow_rates: Option<RateDetector>,
    sessions: Option<SessionDetector>,
}

/// The slow scale's settings: buckets [`SLOW_SCALE`] times as wide, judged after
/// [`SLOW_WARMUP_BUCKETS`].
fn slow_settings(fine: RateSettings) -> RateSettings {
    RateSettings { bucket_ms: fine.bucket_ms.saturating_mul(SLOW_SCALE), warmup_buckets: SLOW_WARMUP_BUCKETS, ..fine }
}

/// A duration such as `90s`, `10m`, `2h` or `1d`, in milliseconds.
fn parse_duration(key: &str, text: &str) -> Result<i64, PluginError> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit_ms = match &text[digits.len()..] {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => 0,
    };
    match digits.parse::<i64>() {
        Ok(amount) if amount > 0 && unit_ms > 0 => Ok(amount * unit_ms),
        _ => {
            Err(PluginError::BadConfig(format!("config key `{key}`: `{text}` is not a duration like 90s, 10m, 2h, 1d")))
        }
    }
}

fn is_error_level(level: &str) -> bool {
    ["ERROR", "ERR", "FATAL", "CRITICAL", "CRIT", "ALERT", "EMERG", "SEVERE"]
        .iter()
        .any(|severe| level.eq_ignore_ascii_case(severe))
}

fn is_warning_or_worse(level: &str) -> bool {
    is_error_level(level) || level.eq_ignore_ascii_case("WARN") || level.eq_ignore_ascii_case("WARNING")
}

/// A score in (0, 1) from a z-score: 5 → 0.22, 20 → 0.63, 60 → 0.95.
fn score_of_z(z: f64) -> f64 {
    1.0 - (-z / 20.0).exp()
}

impl Plugin for PatternsPlugin {
    fn info() -> PluginInfo {
        opsloop_sdk::plugin_info(
            "patterns",
            env!("CARGO_PKG_VERSION"),
            "mines log templates; annotates `pattern` and `template`; reports new patterns, spikes, drops, error bursts and anomalous sessions",
        )
        .wanting(RecordColumns::MESSAGE | RecordColumns::LEVEL | RecordColumns::TIMESTAMP)
        .annotating(&["pattern", "template"])
        .with_config("similarity", "share of constant tokens that must match a template", Some("0.5"))
        .with_config("baseline", "messages seen before a new pattern counts as news", Some("10000"))
        .with_config(
            "baseline-span",
            "or how long a source must have logged (and at least 100 messages) before a new pattern counts as news",
            Some("12h"),
        )
        .with_config("rate-bucket", "time bucket for spikes, drops and error bursts", Some("1m"))
        .with_config("session-key", "regex finding the session key in a message (group 1 if any), e.g. blk_-?[0-9]+; unset: no sessions", None)
        .with_config("session-idle", "a session with no record for this long is closed and judged", Some("10m"))
        .with_config("session-baseline", "sessions learned before sessions are judged", Some("200"))
    }

    fn init(config: &Config, state: Option<&[u8]>) -> Result<Self, PluginError> {
        let similarity_threshold: f64 = config.parse_or("similarity", 0.5)?;
        if !(0.0..=1.0).contains(&similarity_threshold) {
            return Err(PluginError::BadConfig(format!(
                "config key `similarity`: {similarity_threshold} is not between 0 and 1"
            )));
        }
        let baseline = config.parse_or("baseline", 10_000u64)?;
        let baseline_span_ms = parse_duration("baseline-span", config.get("baseline-span").unwrap_or("12h"))?;
        let rate_settings = RateSettings {
            bucket_ms: parse_duration("rate-bucket", config.get("rate-bucket").unwrap_or("1m"))?,
            ..RateSettings::default()
        };
        let session_settings = match config.get("session-key") {
            None => None,
            Some(pattern) => Some(SessionSettings {
                key: regex_lite::Regex::new(pattern)
                    .map_err(|error| PluginError::BadConfig(format!("config key `session-key`: {error}")))?,
                idle_ms: parse_duration("session-idle", config.get("session-idle").unwrap_or("10m"))?,
                max_open: 100_000,
                baseline: config.parse_or("session-baseline", 200u64)?.max(1),
                rare: 0.01,
                support: 0.98,
            }),
        };
        let mut plugin = Self {
            miner: Miner::new(similarity_threshold),
            similarity_threshold,
            baseline,
            baseline_span_ms,
            messages_seen: 0,
            first_record_ms: None,
            rates: RateDetector::new(rate_settings),
            slow_rates: RateDetector::new(slow_settings(rate_settings)),
            fine_reported: Default::default(),
            sessions: session_settings.clone().map(SessionDetector::new),
        };
        if let Some(bytes) = state {
            let saved: SavedState = serde_json::from_slice(bytes)
                .map_err(|error| PluginError::BadInput(format!("saved state: {error}")))?;
            plugin.miner = Miner::load(similarity_threshold, &saved.miner).map_err(PluginError::BadInput)?;
            plugin.messages_seen = saved.messages_seen;
            plugin.first_record_ms = saved.first_record_ms;
            plugin.rates = saved.rates.with_settings(rate_settings);
            plugin.slow_rates = saved.slow_rates.unwrap_or_default().with_settings(slow_settings(rate_settings));
            // A session key configured since, or removed, starts or drops session state.
            plugin.sessions = match (session_settings, saved.sessions) {
                (Some(settings), Some(detector)) => Some(detector.with_settings(settings)),
                (settings, _) => settings.map(SessionDetector::new),
            };
        }
        Ok(plugin)
    }

    fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
        let patterns_before = self.miner.patterns().len();
        let mined: Vec<usize> = (0..batch.len()).map(|index| self.miner.add(batch.message(index))).collect();
        // Patterns folded into another during the batch annotate as the one they joined.
        let pattern_of: Vec<usize> = mined.into_iter().map(|index| self.miner.resolve(index)).collect();
        let mut output = Output::for_batch(batch);
        let pattern_column = output.column("pattern");
        let template_column = output.column("template");
        // Interned once per distinct pattern, with the template as it stands after the batch.
        let mut interned: Vec<Option<(u32, u32)>> = vec![None; self.miner.patterns().len()];
        for (record, &pattern_index) in pattern_of.iter().enumerate() {
            let (id_value, template_value) = *interned[pattern_index].get_or_insert_with(|| {
                let template = self.miner.template(pattern_index);
                let pattern = &self.miner.patterns()[pattern_index];
                (output.intern(pattern_column, &pattern.id), output.intern(template_column, &template))
            });
            output.set(pattern_column, record, id_value);
            output.set(template_column, record, template_value);
        }
        let oldest = (0..batch.len()).filter_map(|record| batch.record(record).timestamp).min();
        self.first_record_ms = match (self.first_record_ms, oldest) {
            (Some(known), Some(oldest)) => Some(known.min(oldest)),
            (known, oldest) => known.or(oldest),
        };
        self.report_new_patterns(batch, &pattern_of, patterns_before, &mut output);
        self.report_merges(patterns_before, &mut output);
        self.messages_seen += batch.len() as u64;
        self.detect(batch, &pattern_of, &mut output);
        Ok(output)
    }

    fn finish(&mut self) -> Result<Output, PluginError> {
        let mut output = Output::with_len(0);
        for episode in self.rates.finish() {
            self.note_fine(&episode);
            output.add_finding(self.episode_finding(&episode));
        }
        for episode in self.slow_rates.finish() {
            if self.is_new_slow(&episode) {
                output.add_finding(self.episode_finding(&episode));
            }
        }
        if let Some(sessions) = self.sessions.as_mut() {
            let anomalous = sessions.finish();
            for session in &anomalous {
                output.add_finding(self.session_finding(session));
            }
        }
        Ok(output)
    }

    fn snapshot(&self) -> Option<Vec<u8>> {
        let saved = SavedState {
            miner: self.miner.save(),
            messages_seen: self.messages_seen,
            first_record_ms: self.first_record_ms,
            rates: self.rates.clone(),
            slow_rates: Some(self.slow_rates.clone()),
            sessions: self.sessions.clone(),
        };
        serde_json::to_vec(&saved).ok()
    }
}

impl PatternsPlugin {
    /// The miner, for inspection in tests and benchmarks.
    pub fn miner(&self) -> &Miner {
        &self.miner
    }

    /// The similarity threshold in force.
    pub fn similarity_threshold(&self) -> f64 {
        self.similarity_threshold
    }

    /// Feeds the rate and session detectors; adds the findings of what closed in this batch.
    fn detect(&mut self, batch: &LogBatch, pattern_of: &[usize], output: &mut Output) {
        let miner = &self.miner;
        self.rates.remap(|index| miner.resolve(index));
        self.slow_rates.remap(|index| miner.resolve(index));
        if let Some(sessions) = self.sessions.as_mut() {
            sessions.remap(|index| miner.resolve(index));
        }
        for (index, &pattern) in pattern_of.iter().enumerate() {
            let record = batch.record(index);
            if let Some(timestamp) = record.timestamp {
                let is_error = record.level.is_some_and(is_error_level);
                self.rates.count(timestamp, pattern, is_error, record.message);
                self.slow_rates.count(timestamp, pattern, is_error, record.message);
            }
            if let Some(sessions) = self.sessions.as_mut() {
                if let Some(key) = sessions.key_of(record.message) {
                    sessions.add(key, pattern, record.timestamp, record.message);
                }
            }
        }
        for episode in self.rates.judge_closed() {
            self.note_fine(&episode);
            output.add_finding(self.episode_finding(&episode));
        }
        // Still going when this batch ends: said now, and again in full when it ends.
        for episode in self.rates.announce_running() {
            self.note_fine(&episode);
            output.add_finding(self.ongoing_finding(&episode));
        }
        for episode in self.slow_rates.judge_closed() {
            if self.is_new_slow(&episode) {
                output.add_finding(self.episode_finding(&episode));
            }
        }
        for episode in self.slow_rates.announce_running() {
            if self.is_new_slow(&episode) {
                output.add_finding(self.ongoing_finding(&episode));
            }
        }
        if let Some(sessions) = self.sessions.as_mut() {
            let anomalous = sessions.close_idle();
            for session in &anomalous {
                output.add_finding(self.session_finding(session));
            }
        }
    }

    /// An episode still running when a call ends, announced as such.
    fn ongoing_finding(&self, episode: &Episode) -> Finding {
        let mut finding = self.episode_finding(episode);
        finding.summary = format!("ongoing: {}", finding.summary);
        finding
    }

    /// Remembers the span of a fine-scale episode, widening the one known for its series.
    fn note_fine(&mut self, episode: &Episode) {
        let span = self.fine_reported.entry(episode.series).or_insert((episode.first_ms, episode.last_ms));
        if episode.first_ms <= span.1 {
            *span = (span.0.min(episode.first_ms), span.1.max(episode.last_ms));
        } else {
            *span = (episode.first_ms, episode.last_ms);
        }
    }

    /// Whether a slow-scale episode is news: a spike the fine scale did not report.
    fn is_new_slow(&self, episode: &Episode) -> bool {
        let series = self.resolve_series(episode.series);
        episode.direction == Direction::Spike
            && !self.fine_reported.iter().any(|(known, &(first, last))| {
                self.resolve_series(*known) == series && first <= episode.last_ms && episode.first_ms <= last
            })
    }

    fn resolve_series(&self, series: Series) -> Series {
        match series {
            Series::Pattern(index) => Series::Pattern(self.miner.resolve(index)),
            other => other,
        }
    }

    fn template_of(&self, pattern: usize) -> String {
        self.miner.template(pattern)
    }

    fn id_of(&self, pattern: usize) -> &str {
        &self.miner.patterns()[self.miner.resolve(pattern)].id
    }

    fn episode_finding(&self, episode: &Episode) -> Finding {
        let minutes = (episode.last_ms - episode.first_ms) as f64 / 60_000.0;
        let expected = episode.expected;
        let (kind, summary, query) = match (episode.series, episode.direction) {
            (Series::Pattern(pattern), direction) => {
                let (kind, verb) = match direction {
                    Direction::Spike => ("spike", "rose"),
                    Direction::Drop => ("drop", "fell"),
                };
                let summary = format!(
                    "`{}` {verb} to {} in {minutes:.0} min where {}",
                    self.template_of(pattern),
                    episode.observed,
                    expectation(episode.observed, expected),
                );
                (kind, summary, format!("pattern:{}", self.id_of(pattern)))
            }
            (Series::Errors, _) => {
                let named: Vec<String> = episode
                    .contributors
                    .iter()
                    .take(3)
                    .map(|&(pattern, errors)| format!("`{}` ({errors})", self.template_of(pattern)))
                    .collect();
                let summary = format!(
                    "error burst: {} error records in {minutes:.0} min where {expected:.0} {} expected; mostly {}",
                    episode.observed,
                    if expected.round() == 1.0 { "was" } else { "were" },
                    named.join(", "),
                );
                let patterns: Vec<String> = episode
                    .contributors
                    .iter()
                    .take(3)
                    .map(|&(pattern, _)| format!("pattern:{}", self.id_of(pattern)))
                    .collect();
                // Every error level the host stores (it folds CRIT, EMERG, ... into FATAL).
                ("error-burst", summary, format!("(level:ERROR OR level:FATAL) AND ({})", patterns.join(" OR ")))
            }
        };
        let mut counts = vec![
            ("observed".into(), episode.observed),
            ("expected".into(), expected.round() as u64),
            ("buckets".into(), u64::from(episode.buckets)),
        ];
        counts.extend(
            episode
                .contributors
                .iter()
                .map(|&(pattern, errors)| (format!("errors in pattern {}", self.id_of(pattern)), errors)),
        );
        Finding {
            kind: kind.into(),
            score: score_of_z(episode.z()),
            summary,
            first_seen: Some(episode.first_ms),
            last_seen: Some(episode.last_ms),
            evidence: Evidence {
                records: Vec::new(),
                reports: Vec::new(),
                counts,
                examples: episode.examples.clone(),
                query: Some(query),
            },
        }
    }

    fn session_finding(&self, anomalous: &AnomalousSession) -> Finding {
        let session = &anomalous.session;
        // The strongest few reasons: rare patterns first, then the best-supported invariants.
        let mut deviations: Vec<&Deviation> = anomalous.deviations.iter().collect();
        deviations.sort_by(|a, b| {
            let weight = |deviation: &Deviation| match deviation {
                Deviation::RarePattern { .. } => 2.0,
                Deviation::BrokenInvariant { share, .. } => *share,
            };
            weight(b).total_cmp(&weight(a))
        });
        let reasons: Vec<String> = deviations
            .iter()
            .take(3)
            .map(|deviation| match deviation {
                Deviation::RarePattern { pattern, sessions_with, sessions } => {
                    format!("`{}` occurs in only {sessions_with} of {sessions} sessions", self.template_of(*pattern))
                }
                Deviation::BrokenInvariant { first, second, ratio, share } => format!(
                    "{}×`{}` ({}) should equal {}×`{}` ({}), as in {:.1}% of sessions",
                    ratio.0,
                    self.template_of(first.0),
                    first.1,
                    ratio.1,
                    self.template_of(second.0),
                    second.1,
                    share * 100.0
                ),
            })
            .collect();
        let rare = anomalous.deviations.iter().any(|deviation| matches!(deviation, Deviation::RarePattern { .. }));
        Finding {
            kind: "anomalous-session".into(),
            score: (if rare { 0.7 } else { 0.5 } + 0.05 * anomalous.deviations.len().min(4) as f64),
            summary: format!("session {} deviates from normal sessions: {}", session.key, reasons.join("; ")),
            first_seen: session.first_ms,
            last_seen: session.last_ms,
            evidence: Evidence {
                records: Vec::new(),
                reports: Vec::new(),
                counts: session
                    .counts
                    .iter()
                    .map(|&(pattern, count)| (format!("pattern {}", self.id_of(pattern)), u64::from(count)))
                    .collect(),
                examples: session.examples.clone(),
                query: Some(format!("\"{}\"", session.key.replace('"', ""))),
            },
        }
    }

    /// Reports the patterns created in this batch after the baseline number of messages.
    /// A `pattern-merge` finding for each pattern that records of earlier batches carry and
    /// that now stands for another (a template widened over its sibling, or one of another
    /// length joined as the same event): `examples` holds the id records carry, the id they
    /// now mean and that pattern's template, so searches and counts by either id can follow.
    /// A pattern born and merged within this batch is left out: no record carries its id.
    fn report_merges(&mut self, patterns_before: usize, output: &mut Output) {
        for (merged, now) in self.miner.take_merged() {
            if merged >= patterns_before {
                continue;
            }
            let patterns = self.miner.patterns();
            let (from, into) = (&patterns[merged], &patterns[now]);
            if from.id == into.id {
                continue;
            }
            let template = self.miner.template(now);
            output.add_finding(Finding {
                kind: "pattern-merge".into(),
                score: 0.0,
                summary: format!(
                    "pattern {} (`{}`) is now part of pattern {} (`{}`)",
                    from.id,
                    from.template(),
                    into.id,
                    template
                ),
                first_seen: None,
                last_seen: None,
                evidence: Evidence {
                    records: Vec::new(),
                    reports: Vec::new(),
                    counts: Vec::new(),
                    examples: vec![from.id.clone(), into.id.clone(), template],
                    query: Some(format!("pattern:{} OR pattern:{}", from.id, into.id)),
                },
            });
        }
    }

    fn report_new_patterns(&self, batch: &LogBatch, pattern_of: &[usize], patterns_before: usize, output: &mut Output) {
        let mut records_of_new: Vec<Vec<u32>> = vec![Vec::new(); self.miner.patterns().len() - patterns_before];
        for (record, &pattern_index) in pattern_of.iter().enumerate() {
            if pattern_index >= patterns_before {
                records_of_new[pattern_index - patterns_before].push(record as u32);
            }
        }
        for (offset, records) in records_of_new.iter().enumerate() {
            let Some(&first) = records.first() else {
                continue;
            };
            // Created by the message at `first`: news only once the baseline was seen.
            let record = batch.record(first as usize);
            let seen = self.messages_seen + u64::from(first);
            let span = record.timestamp.zip(self.first_record_ms).map_or(0, |(time, oldest)| time - oldest);
            if seen < self.baseline && (seen < MIN_BASELINE_MESSAGES || span < self.baseline_span_ms) {
                continue;
            }
            let severe = record.level.is_some_and(is_warning_or_worse);
            let pattern = &self.miner.patterns()[patterns_before + offset];
            let timestamps = records.iter().filter_map(|&r| batch.record(r as usize).timestamp);
            output.add_finding(Finding {
                kind: "new-pattern".into(),
                score: if severe { 0.9 } else { 0.5 },
                summary: format!(
                    "new log pattern after the baseline: {}",
                    self.miner.template(patterns_before + offset)
                ),
                first_seen: timestamps.clone().min(),
                last_seen: timestamps.max(),
                evidence: Evidence {
                    records: records.iter().copied().take(20).collect(),
                    reports: Vec::new(),
                    counts: vec![("occurrences".into(), records.len() as u64)],
                    examples: vec![record.message.to_string()],
                    query: Some(format!("pattern:{}", pattern.id)),
                },
            });
        }
    }
}

/// What was expected in words, and how far the count is from it: `12.4 were expected (3.1x)`,
/// `0.3 were expected`; the factor is left out under one expected record, where it says more
/// about the rounding than the rate (the detector itself smooths the ratio).
fn expectation(observed: u64, expected: f64) -> String {
    let number = if expected < 10.0 { format!("{expected:.1}") } else { format!("{expected:.0}") };
    let verb = if number == "1.0" { "was" } else { "were" };
    if expected < 1.0 {
        format!("{number} {verb} expected")
    } else {
        format!("{number} {verb} expected ({:.1}x)", observed as f64 / expected)
    }
}

/// Serde for maps whose keys are not strings: a list of pairs.
mod as_pairs {
    use std::collections::HashMap;
    use std::hash::{BuildHasher, Hash};

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, H, S: Serializer>(
        map: &HashMap<K, V, H>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, H, D>(deserializer: D) -> Result<HashMap<K, V, H>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        H: BuildHasher + Default,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Vec::<(K, V)>::deserialize(deserializer).map(|pairs| pairs.into_iter().collect())
    }
}

opsloop_sdk::export_plugin!(PatternsPlugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expectation_reads_as_the_numbers_say() {
        assert_eq!(expectation(76, 5.2), "5.2 were expected (14.6x)");
        assert_eq!(expectation(29, 0.3), "0.3 were expected", "no factor under one expected record");
        assert_eq!(expectation(10, 1.0), "1.0 was expected (10.0x)");
        assert_eq!(expectation(400, 16.4), "16 were expected (24.4x)");
    }

    #[test]
    fn a_fold_of_a_pattern_records_already_carry_is_reported_as_a_merge() {
        let mut plugin = PatternsPlugin::init(&Config::default(), None).unwrap();
        let ids = |plugin: &mut PatternsPlugin, message: &str| {
            let output = plugin.process_logs(&LogBatch::from_messages([message])).unwrap();
            let merges: Vec<Vec<String>> = output
                .findings()
                .iter()
                .filter(|f| f.kind == "pattern-merge")
                .map(|f| f.evidence.examples.clone())
                .collect();
            (output.annotation(0, "pattern").unwrap().to_string(), merges)
        };
        let (alice, none) = ids(&mut plugin, "user alice logged in from web");
        assert!(none.is_empty());
        let (bob, none) = ids(&mut plugin, "user bob logged in from web");
        assert!(none.is_empty());
        assert_ne!(alice, bob);
        let (carol, merges) = ids(&mut plugin, "user carol logged in from web");
        assert_eq!(carol, alice, "the widened pattern keeps the oldest id");
        assert_eq!(merges, [vec![bob, alice, "user <*> logged in from web".to_string()]]);
        // Within one batch, a pattern born and folded at once is no merge: no record carries it.
        let output =
            plugin.process_logs(&LogBatch::from_messages(["disk a full", "disk b full", "disk c full"])).unwrap();
        assert!(output.findings().iter().all(|f| f.kind != "pattern-merge"));
    }

    #[test]
    fn annotates_every_record_with_pattern_and_template() {
        let mut plugin = PatternsPlugin::init(&Config::default(), None).unwrap();
        let batch = LogBatch::from_messages(["took 10 ms", "took 25 ms", "cache miss"]);
        let output = plugin.process_logs(&batch).unwrap();
        assert_eq!(output.annotation(0, "template"), Some("took <*> ms"));
        assert_eq!(output.annotation(0, "pattern"), output.annotation(1, "pattern"));
        assert_ne!(output.annotation(0, "pattern"), output.annotation(2, "pattern"));
    }

    #[test]
    fn state_carries_pattern_ids_to_a_new_instance() {
        let mut first = PatternsPlugin::init(&Config::default(), None).unwrap();
        let batch = LogBatch::from_messages(["took 10 ms"]);
        let id = first.process_logs(&batch).unwrap().annotation(0, "pattern").unwrap().to_string();
        let state = first.snapshot().unwrap();
        let mut second = PatternsPlugin::init(&Config::default(), Some(&state)).unwrap();
        let output = second.process_logs(&LogBatch::from_messages(["took 99 ms"])).unwrap();
        assert_eq!(output.annotation(0, "pattern"), Some(id.as_str()));
    }

    #[test]
    fn a_bad_threshold_is_a_config_error() {
        let config = Config::from_pairs([("similarity".to_string(), "1.5".to_string())]);
        let error = PatternsPlugin::init(&config, None).unwrap_err();
        assert!(matches!(error, PluginError::BadConfig(message) if message.contains("similarity")));
    }

    #[test]
    fn a_new_pattern_after_the_baseline_is_a_finding() {
        let config = Config::from_pairs([("baseline".to_string(), "2".to_string())]);
        let mut plugin = PatternsPlugin::init(&config, None).unwrap();
        plugin.process_logs(&LogBatch::from_messages(["a b c", "a b c"])).unwrap();
        let output = plugin.process_logs(&LogBatch::from_messages(["a b c", "disk full on sda"])).unwrap();
        assert_eq!(output.findings().len(), 1);
        assert_eq!(output.findings()[0].evidence.records, vec![1]);
    }

    #[test]
    fn a_new_pattern_after_the_baseline_span_of_a_quiet_source_is_a_finding() {
        // 300 messages over 13 h: far fewer than `baseline`, but the span has passed.
        let config = Config::from_pairs([("baseline-span".to_string(), "12h".to_string())]);
        let mut plugin = PatternsPlugin::init(&config, None).unwrap();
        let hour = 3_600_000;
        use opsloop_sdk::LogRecord;
        let usual: Vec<LogRecord> = (0..300)
            .map(|i| LogRecord {
                timestamp: Some(i * 13 * hour / 300),
                ..LogRecord::message(i as usize, "user logged in")
            })
            .collect();
        let early = plugin.process_logs(&LogBatch::from_records(usual[..150].iter().copied())).unwrap();
        assert!(early.findings().is_empty(), "the first hours are the baseline");
        plugin.process_logs(&LogBatch::from_records(usual[150..].iter().copied())).unwrap();
        let burst = LogRecord { timestamp: Some(13 * hour), ..LogRecord::message(0, "disk full on sda") };
        let output = plugin.process_logs(&LogBatch::from_records([burst])).unwrap();
        assert_eq!(output.findings().len(), 1);
        assert_eq!(output.findings()[0].kind, "new-pattern");
    }

    /// A quiet stream for `hours`, then `per_minute` records a minute of a message it never had
    /// for `minutes`; the findings of the whole run.
    fn burst_after(hours: i64, per_minute: i64, minutes: i64) -> Vec<Finding> {
        use opsloop_sdk::LogRecord;
        let minute = 60_000;
        let mut plugin = PatternsPlugin::init(&Config::default(), None).unwrap();
        let mut records: Vec<LogRecord> = (0..hours * 60)
            .map(|m| LogRecord { timestamp: Some(m * minute), ..LogRecord::message(0, "user logged in") })
            .collect();
        let start = hours * 60 * minute;
        records.extend((0..minutes * per_minute).map(|i| LogRecord {
            timestamp: Some(start + i * minute / per_minute),
            ..LogRecord::message(0, "write failed on sda block 7781")
        }));
        records.extend((0..60).map(|m| LogRecord {
            timestamp: Some(start + minutes * minute + m * minute),
            ..LogRecord::message(0, "user logged in")
        }));
        let mut findings = plugin.process_logs(&LogBatch::from_records(records)).unwrap().findings().to_vec();
        findings.extend(plugin.finish().unwrap().findings().to_vec());
        findings.retain(|f| f.kind == "spike" && f.summary.contains("write failed"));
        findings
    }

    #[test]
    fn a_slow_burst_of_a_message_the_stream_never_had_is_a_spike_from_its_third_hour() {
        // Three a minute for half an hour: under the fine scale's ten a minute, plain in ten minutes.
        let slow = burst_after(3, 3, 30);
        assert_eq!(slow.len(), 1, "{slow:?}");
        assert!(slow[0].summary.contains("in 30 min"), "{}", slow[0].summary);
        // In the stream's first hour the slow scale has not seen enough of it to judge.
        assert!(burst_after(1, 3, 30).is_empty());
        // A flood the fine scale reports is not reported again by the slow one.
        let flood = burst_after(3, 20, 30);
        assert_eq!(flood.len(), 1, "{flood:?}");
    }
}
