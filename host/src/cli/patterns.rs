//! `opsloop patterns`: the mined patterns with their counts, first and last seen, level mix,
//! the sources that log them and example lines, most frequent first; a pattern the miner merged into another is counted
//! under the one it joined, whose row names it.

use std::process::ExitCode;

use clap::Args;

use super::Out;
use super::search::HitFormat;
use crate::data_dir::DataDir;
use crate::index::{LogIndex, PatternStats};

#[derive(Debug, Args)]
pub struct PatternsArgs {
    /// Only patterns of this source.
    #[arg(long)]
    pub source: Option<String>,
    /// At most this many patterns; 0 means all.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Example lines per pattern.
    #[arg(long, default_value_t = 2)]
    pub examples: usize,
    /// A table, or one JSON object per pattern.
    #[arg(long, value_enum, default_value = "text")]
    pub format: HitFormat,
}

/// A time as the command line prints it (UTC, to the second).
pub(super) fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
}

fn json(stats: &PatternStats) -> serde_json::Value {
    let mut value = serde_json::to_value(stats).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("first_seen".into(), time(stats.first_seen_ms).into());
        object.insert("last_seen".into(), time(stats.last_seen_ms).into());
    }
    value
}

pub fn run(data_dir: &DataDir, args: PatternsArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let index = LogIndex::open(&data_dir.index_dir())?;
    let mut patterns = index.patterns(args.source.as_deref())?;
    let total = patterns.len();
    if args.limit > 0 {
        patterns.truncate(args.limit);
    }
    index.add_examples(&mut patterns, args.source.as_deref(), args.examples)?;
    match args.format {
        HitFormat::Json => {
            for stats in &patterns {
                out.line(json(stats).to_string())?;
            }
        }
        HitFormat::Text => {
            out.line(format!(
                "{total} patterns{}",
                if patterns.len() < total { format!(", the {} most frequent:", patterns.len()) } else { String::new() }
            ))?;
            for stats in &patterns {
                let levels: Vec<String> =
                    stats.levels.iter().map(|(level, count)| format!("{level}:{count}")).collect();
                // One message logged by several sources is one pattern: the row says which.
                let sources: Vec<&str> = stats.sources.keys().map(String::as_str).collect();
                out.line(format!(
                    "{:>8}  {}  {} .. {}  [{}]  in {}  {}",
                    stats.count,
                    stats.pattern,
                    time(stats.first_seen_ms),
                    time(stats.last_seen_ms),
                    levels.join(" "),
                    sources.join(","),
                    stats.template
                ))?;
                if !stats.aliases.is_empty() {
                    out.line(format!(
                        "          merged into it since (its records still carry): {}",
                        stats.aliases.join(", ")
                    ))?;
                }
                for example in &stats.examples {
                    out.line(format!("          e.g. {example}"))?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
