// The `keywords` analyzer, shared by versions 1.0.0 and 2.0.0 (each defines `VERSION` and
// `DEFAULT_WORDS` before including this file).

use opsloop_sdk::{
    Config, Evidence, Finding, Inputs, LogBatch, LogLevel, Output, Plugin, PluginError, PluginInfo, RecordColumns,
    Report,
};

const KEY: &str = "keyword";
const MAX_EVIDENCE_RECORDS: usize = 100;
const MAX_EXAMPLES: usize = 3;

struct Keywords {
    words: Vec<String>,
    min_count: u64,
    total: u64,
}

/// A number written in ASCII digits only, as the Python and JavaScript versions read it.
fn whole_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl Keywords {
    fn keyword(&self, text: &str) -> Option<&str> {
        let lower = text.to_ascii_lowercase();
        self.words.iter().find(|word| lower.contains(word.as_str())).map(String::as_str)
    }

    /// Annotates each text with its first keyword; returns the matched positions and words.
    fn tag<'a>(&self, texts: impl Iterator<Item = &'a str>, output: &mut Output) -> (Vec<u32>, Vec<String>) {
        let column = output.column(KEY);
        let mut matched = Vec::new();
        let mut found = Vec::new();
        for (index, text) in texts.enumerate() {
            if let Some(word) = self.keyword(text) {
                let value = output.intern(column, word);
                output.set(column, index, value);
                matched.push(index as u32);
                found.push(word.to_string());
            }
        }
        (matched, found)
    }
}

impl Plugin for Keywords {
    fn info() -> PluginInfo {
        opsloop_sdk::plugin_info("keywords-rust", VERSION, "tags records that mention a keyword")
            .consuming(Inputs::LOGS | Inputs::REPORTS)
            .wanting(RecordColumns::MESSAGE)
            .annotating(&[KEY])
            .with_config("words", "comma-separated keywords, matched case-insensitively (ASCII)", Some(DEFAULT_WORDS))
            .with_config("min-count", "matching records in one batch that make a keyword-burst finding", Some("3"))
    }

    fn init(config: &Config, state: Option<&[u8]>) -> Result<Self, PluginError> {
        let words: Vec<String> = config
            .get("words")
            .unwrap_or(DEFAULT_WORDS)
            .split(',')
            .map(|word| word.trim_ascii().to_ascii_lowercase())
            .filter(|word| !word.is_empty())
            .collect();
        if words.is_empty() {
            return Err(PluginError::BadConfig("words: no keyword given".into()));
        }
        let raw = config.get("min-count").unwrap_or("3");
        let min_count = whole_number(raw).filter(|&count| count >= 1).ok_or_else(|| {
            PluginError::BadConfig(format!("min-count: expected a whole number of at least 1, got `{raw}`"))
        })?;
        let total = state.and_then(|bytes| std::str::from_utf8(bytes).ok()).and_then(whole_number).unwrap_or(0);
        opsloop_sdk::log(LogLevel::Info, &format!("keywords: watching {} words", words.len()));
        println!("keywords init");
        Ok(Self { words, min_count, total })
    }

    fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
        let mut output = Output::for_batch(batch);
        let (matched, found) = self.tag(batch.records().map(|record| record.message), &mut output);
        self.total += matched.len() as u64;
        if !matched.is_empty() && matched.len() as u64 >= self.min_count {
            // Keywords in order of first appearance, as the annotation dictionary holds them.
            let mut dictionary: Vec<&str> = Vec::new();
            for word in &found {
                if !dictionary.contains(&word.as_str()) {
                    dictionary.push(word);
                }
            }
            let mut counts = vec![("matches".to_string(), matched.len() as u64)];
            for word in &dictionary {
                let count = found.iter().filter(|found| found == word).count() as u64;
                counts.push((format!("keyword:{word}"), count));
            }
            output.add_finding(Finding {
                kind: "keyword-burst".into(),
                score: matched.len() as f64 / batch.len() as f64,
                summary: format!("{} of {} records mention a keyword", matched.len(), batch.len()),
                first_seen: None,
                last_seen: None,
                evidence: Evidence {
                    records: matched.iter().copied().take(MAX_EVIDENCE_RECORDS).collect(),
                    reports: Vec::new(),
                    counts,
                    examples: matched
                        .iter()
                        .take(MAX_EXAMPLES)
                        .map(|&index| batch.message(index as usize).to_string())
                        .collect(),
                    query: Some(format!("keyword:{}", dictionary[0])),
                },
            });
        }
        Ok(output)
    }

    fn process_reports(&mut self, reports: &[Report]) -> Result<Output, PluginError> {
        let mut output = Output::with_len(reports.len());
        let texts: Vec<String> = reports.iter().map(|report| format!("{} {}", report.title, report.body)).collect();
        let (matched, _) = self.tag(texts.iter().map(String::as_str), &mut output);
        self.total += matched.len() as u64;
        Ok(output)
    }

    fn finish(&mut self) -> Result<Output, PluginError> {
        let mut output = Output::with_len(0);
        if self.total > 0 {
            output.add_finding(Finding {
                kind: "keyword-total".into(),
                score: 0.0,
                summary: format!("{} records mentioned a keyword", self.total),
                first_seen: None,
                last_seen: None,
                evidence: Evidence {
                    records: Vec::new(),
                    reports: Vec::new(),
                    counts: vec![("matches".into(), self.total)],
                    examples: Vec::new(),
                    query: None,
                },
            });
        }
        Ok(output)
    }

    fn snapshot(&self) -> Option<Vec<u8>> {
        Some(self.total.to_string().into_bytes())
    }
}

opsloop_sdk::export_plugin!(Keywords);
