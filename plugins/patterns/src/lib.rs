//! The built-in `patterns` plugin: annotates every log record with the `pattern` id and the
//! `template` mined from its message, and reports patterns that first appear after a baseline.
//!
//! Messages are mined per partition (the host gives each source its own instance), and the
//! miner's state is kept between batches and runs, so ids are stable.

pub mod miner;

use opsloop_sdk::{Config, Evidence, Finding, LogBatch, Output, Plugin, PluginError, PluginInfo, RecordColumns};

pub use miner::{Miner, Pattern, WILDCARD};

/// The plugin: a [`Miner`] plus the bookkeeping for new-pattern findings.
#[derive(Debug)]
pub struct PatternsPlugin {
    miner: Miner,
    similarity_threshold: f64,
    /// Patterns created after this many messages are reported as new.
    baseline: u64,
    messages_seen: u64,
}

impl Plugin for PatternsPlugin {
    fn info() -> PluginInfo {
        opsloop_sdk::plugin_info(
            "patterns",
            env!("CARGO_PKG_VERSION"),
            "mines log templates; annotates `pattern` and `template`; reports new patterns",
        )
        .wanting(RecordColumns::MESSAGE | RecordColumns::LEVEL | RecordColumns::TIMESTAMP)
        .annotating(&["pattern", "template"])
        .with_config("similarity", "share of constant tokens that must match a template", Some("0.5"))
        .with_config("baseline", "messages seen before a new pattern counts as news", Some("10000"))
    }

    fn init(config: &Config, state: Option<&[u8]>) -> Result<Self, PluginError> {
        let similarity_threshold: f64 = config.parse_or("similarity", 0.5)?;
        if !(0.0..=1.0).contains(&similarity_threshold) {
            return Err(PluginError::BadConfig(format!(
                "config key `similarity`: {similarity_threshold} is not between 0 and 1"
            )));
        }
        let baseline = config.parse_or("baseline", 10_000u64)?;
        let (miner, messages_seen) = match state {
            None => (Miner::new(similarity_threshold), 0),
            Some(bytes) => {
                let text = std::str::from_utf8(bytes)
                    .map_err(|error| PluginError::BadInput(format!("saved state: {error}")))?;
                let miner = Miner::load(similarity_threshold, text).map_err(PluginError::BadInput)?;
                let seen = miner.patterns().iter().map(|pattern| pattern.count).sum();
                (miner, seen)
            }
        };
        Ok(Self { miner, similarity_threshold, baseline, messages_seen })
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
                let pattern = &self.miner.patterns()[pattern_index];
                (output.intern(pattern_column, &pattern.id), output.intern(template_column, &pattern.template()))
            });
            output.set(pattern_column, record, id_value);
            output.set(template_column, record, template_value);
        }
        if self.messages_seen >= self.baseline {
            self.report_new_patterns(batch, &pattern_of, patterns_before, &mut output);
        }
        self.messages_seen += batch.len() as u64;
        Ok(output)
    }

    fn snapshot(&self) -> Option<Vec<u8>> {
        Some(self.miner.save().into_bytes())
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

    fn report_new_patterns(&self, batch: &LogBatch, pattern_of: &[usize], patterns_before: usize, output: &mut Output) {
        for pattern_index in patterns_before..self.miner.patterns().len() {
            let records: Vec<u32> = pattern_of
                .iter()
                .enumerate()
                .filter(|&(_, &index)| index == pattern_index)
                .map(|(record, _)| record as u32)
                .collect();
            let Some(&first) = records.first() else {
                continue;
            };
            let record = batch.record(first as usize);
            let severe = record.level.is_some_and(|level| {
                matches!(level.to_ascii_uppercase().as_str(), "WARN" | "WARNING" | "ERROR" | "FATAL" | "CRITICAL")
            });
            let pattern = &self.miner.patterns()[pattern_index];
            let timestamps = records.iter().filter_map(|&r| batch.record(r as usize).timestamp);
            output.add_finding(Finding {
                kind: "new-pattern".into(),
                score: if severe { 0.9 } else { 0.5 },
                summary: format!("new log pattern after the baseline: {}", pattern.template()),
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

opsloop_sdk::export_plugin!(PatternsPlugin);

#[cfg(test)]
mod tests {
    use super::*;

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
}
