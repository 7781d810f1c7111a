//! `opsloop search`: tantivy query syntax over the records, newest first.

use std::process::ExitCode;

use clap::Args;

use super::Out;
use crate::data_dir::DataDir;
use crate::index::{LogIndex, SearchHit, SearchRequest};
use crate::ingest::parse_timestamp_text;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// tantivy query syntax: words search the message; `level:ERROR`, `pattern:ID`,
    /// `fields.user:alice`, `"a phrase"`, `a OR b`, `-excluded`. `*` matches everything.
    pub query: String,
    /// Only records of this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Only records at or after this time: RFC 3339, or a span back from now (`15m`, `2h`, `7d`).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<i64>,
    /// Only records before this time (same forms as --since).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<i64>,
    /// At most this many records; 0 means all.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Print one line per record, or one JSON object per record.
    #[arg(long, value_enum, default_value = "text")]
    pub format: HitFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HitFormat {
    Text,
    Json,
}

/// Reads `15m`, `2h`, `7d`, `30s`, `1w` as that long before now, or an absolute time.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let units: &[(char, i64)] = &[('s', 1_000), ('m', 60_000), ('h', 3_600_000), ('d', 86_400_000), ('w', 604_800_000)];
    if let Some(unit) = text.chars().last()
        && let Some(&(_, millis)) = units.iter().find(|(name, _)| *name == unit)
        && let Ok(amount) = text[..text.len() - 1].parse::<i64>()
    {
        return Ok(chrono::Utc::now().timestamp_millis() - amount * millis);
    }
    parse_timestamp_text(text)
        .ok_or_else(|| format!("`{text}` is neither a time (RFC 3339, epoch) nor a span like 15m, 2h, 7d"))
}

pub fn run(data_dir: &DataDir, args: SearchArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let index = LogIndex::open(&data_dir.index_dir())?;
    let request = SearchRequest {
        query: args.query,
        source: args.source,
        since_ms: args.since,
        until_ms: args.until,
        limit: (args.limit > 0).then_some(args.limit),
    };
    let hits = index.search(&request)?;
    for hit in &hits {
        match args.format {
            HitFormat::Json => out.line(hit.to_json().to_string())?,
            HitFormat::Text => out.line(text_line(hit))?,
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn text_line(hit: &SearchHit) -> String {
    let record = &hit.record;
    let time = chrono::DateTime::from_timestamp_millis(hit.timestamp_ms)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let pattern = record.annotations.get("pattern").map(|id| format!("  [pattern {id}]")).unwrap_or_default();
    format!(
        "{time} {:<5} {} {}:{}  {}{pattern}",
        record.level.as_deref().unwrap_or("-"),
        record.source,
        record.origin.file,
        record.origin.line,
        record.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_spans_count_back_from_now() {
        let now = chrono::Utc::now().timestamp_millis();
        let two_hours_ago = parse_time("2h").unwrap();
        assert!((now - 2 * 3_600_000 - two_hours_ago).abs() < 5_000);
    }

    #[test]
    fn absolute_times_and_nonsense() {
        assert_eq!(parse_time("2024-05-01T10:00:00Z"), Ok(1_714_557_600_000));
        assert!(parse_time("soon").unwrap_err().contains("soon"));
    }
}
