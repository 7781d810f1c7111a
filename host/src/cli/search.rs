//! `opsloop search`: tantivy query syntax over the records, newest first.

use std::process::ExitCode;

use clap::Args;

use super::Out;
use crate::data_dir::DataDir;
use crate::index::{FiledWindow, Highlighter, LogIndex, ReportIndex, SearchHit, SearchRequest, report_json};
use crate::ingest::{parse_span, parse_timestamp_text};

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// tantivy query syntax: words search the message; `level:ERROR`, `pattern:ID`,
    /// `fields.user:alice`, `"a phrase"`, `a OR b`, `-excluded`. `*` matches everything.
    pub query: String,
    /// Search bug reports (id, title, body, stack trace) instead of log records; --since and
    /// --until then bound when they were filed. --source and --histogram are for log records
    /// and cannot go with it.
    #[arg(long, conflicts_with_all = ["source", "histogram"])]
    pub reports: bool,
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
    /// Print only how many records match.
    #[arg(long, conflicts_with = "histogram")]
    pub count: bool,
    /// Count matches per time bucket of this width (`5m`, `1h`, `1d`): bars on a terminal,
    /// one JSON object per bucket otherwise (or with --format json).
    #[arg(long, value_parser = parse_span)]
    pub histogram: Option<i64>,
    /// Highlight matched terms in text output: on a terminal (auto), always, or never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Color,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HitFormat {
    Text,
    Json,
}

/// Whether `text` is digits and a unit, as a span is written.
fn looks_like_span(text: &str) -> bool {
    let text = text.trim();
    text.len() > 1
        && text.ends_with(['s', 'm', 'h', 'd', 'w'])
        && text[..text.len() - 1].bytes().all(|byte| byte.is_ascii_digit())
}

/// Epoch seconds written with fewer digits than log timestamps have (`0`, `86400`): in a time
/// parameter a bare number can mean nothing else, though in a log line it would not be a time.
fn short_epoch_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().map(|seconds| seconds * 1000)
}

/// Reads `15m`, `2h`, `7d`, `30s`, `1w` as that long before now, or an absolute time (RFC 3339,
/// epoch seconds or milliseconds).
pub fn parse_time(text: &str) -> Result<i64, String> {
    let time = match parse_span(text) {
        Ok(span) => chrono::Utc::now().timestamp_millis() - span,
        // Digits and a unit: a span, whose own reason (too long, not positive) is the one to give.
        Err(reason) if looks_like_span(text) => return Err(reason),
        Err(_) => parse_timestamp_text(text)
            .or_else(|| short_epoch_seconds(text))
            .ok_or_else(|| format!("`{text}` is neither a time (RFC 3339, epoch) nor a span like 15m, 2h, 7d"))?,
    };
    if !crate::ingest::storable(time) {
        return Err(format!("`{text}` is outside the times the index stores (1677-09-21 to 2262-04-11)"));
    }
    Ok(time)
}

pub fn run(data_dir: &DataDir, args: SearchArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    if args.reports {
        return search_reports(data_dir, &args, out);
    }
    let index = LogIndex::open(&data_dir.index_dir())?;
    let request = SearchRequest {
        query: args.query,
        source: args.source,
        since_ms: args.since,
        until_ms: args.until,
        limit: (args.limit > 0).then_some(args.limit),
    };
    let terminal = std::io::stdout().is_terminal();
    if args.count {
        out.line(index.count(&request)?.to_string())?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(asked_ms) = args.histogram {
        let (width_ms, buckets) = index.histogram_fitting(&request, asked_ms)?;
        if width_ms != asked_ms {
            eprintln!(
                "note: buckets of {} would be more than {} over the matching records; using {} buckets",
                span_text(asked_ms),
                crate::index::MAX_BUCKETS,
                span_text(width_ms)
            );
        }
        if terminal && args.format == HitFormat::Text {
            print_bars(&buckets, out)?;
        } else {
            for (start, count) in buckets {
                out.line(serde_json::json!({ "start": rfc3339(start), "count": count }).to_string())?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let hits = index.search(&request)?;
    let highlight = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal,
    };
    let highlighter =
        if highlight && args.format == HitFormat::Text { Some(index.highlighter(&request)?) } else { None };
    for hit in &hits {
        match args.format {
            HitFormat::Json => out.line(hit.to_json().to_string())?,
            HitFormat::Text => out.line(text_line(hit, highlighter.as_ref()))?,
        }
    }
    // Text says so when nothing matched; JSON lines stay an empty stream.
    if hits.is_empty() && args.format == HitFormat::Text {
        out.line("0 records")?;
    }
    out.flush()?;
    if hits.is_empty() {
        note_unknown_source(&index, request.source.as_deref())?;
    }
    // A cut list says so (on stderr, so the records on stdout stay the records).
    if args.limit > 0 && hits.len() == args.limit {
        let total = index.count(&request)?;
        if total > hits.len() {
            eprintln!("note: the newest {} of {total} matching records; --limit N shows more, 0 all", hits.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A `--source` no record has gets a note naming the sources there are (a file's source is
/// its name up to the first dot: `Linux_2k.log` is `Linux_2k`), on stderr.
fn note_unknown_source(index: &LogIndex, source: Option<&str>) -> anyhow::Result<()> {
    let Some(source) = source else { return Ok(()) };
    let everything = SearchRequest { query: "*".into(), source: None, since_ms: None, until_ms: None, limit: None };
    let facets = index.facets(&everything, 10)?;
    let Some(sources) = facets.get("source") else { return Ok(()) };
    if sources.values.iter().any(|value| value.value == source) {
        return Ok(());
    }
    let names: Vec<&str> = sources.values.iter().map(|value| value.value.as_str()).collect();
    let more = if sources.distinct > names.len() {
        format!(" and {} more", sources.distinct - names.len())
    } else {
        String::new()
    };
    eprintln!("note: no record has the source `{source}`; the sources are {}{more}", names.join(", "));
    Ok(())
}

fn search_reports(data_dir: &DataDir, args: &SearchArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let index = ReportIndex::open(&data_dir.reports_dir())?;
    let filed = FiledWindow { since_ms: args.since, until_ms: args.until };
    if args.count {
        out.line(index.count_filed(&args.query, filed)?.to_string())?;
        return Ok(ExitCode::SUCCESS);
    }
    let found = index.search_filed(&args.query, filed, (args.limit > 0).then_some(args.limit))?;
    if found.is_empty() && args.format == HitFormat::Text {
        out.line("0 reports")?;
    }
    for report in found {
        match args.format {
            HitFormat::Json => out.line(report_json(&report).to_string())?,
            HitFormat::Text => {
                let created = report.created_ms.map(rfc3339).unwrap_or_else(|| "-".into());
                let group = report.annotations.get("group").map(|g| format!("  [group {g}]")).unwrap_or_default();
                let status = report.status.as_deref().unwrap_or("-");
                out.line(format!("{created} {:>10} {status:<11} {}{group}", report.id, report.title))?
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A bucket width as `--histogram` takes it: `7d`, `5m`, `30s`, `1500ms`.
fn span_text(ms: i64) -> String {
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
        if ms >= size && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn print_bars(buckets: &[(i64, u64)], out: &mut Out) -> std::io::Result<()> {
    let most = buckets.iter().map(|(_, count)| *count).max().unwrap_or(0).max(1);
    for (start, count) in buckets {
        let width = (*count as f64 / most as f64 * 50.0).round() as usize;
        out.line(format!("{}  {:>8}  {}", rfc3339(*start), count, "█".repeat(width)))?;
    }
    Ok(())
}

/// `message` with the matched ranges in bold red (ANSI).
fn highlighted(message: &str, highlighter: &Highlighter) -> String {
    let mut text = String::with_capacity(message.len() + 16);
    let mut at = 0;
    for range in highlighter.ranges(message) {
        if range.start < at || range.end > message.len() {
            continue;
        }
        text.push_str(&message[at..range.start]);
        text.push_str("\x1b[1;31m");
        text.push_str(&message[range.clone()]);
        text.push_str("\x1b[0m");
        at = range.end;
    }
    text.push_str(&message[at..]);
    text
}

fn text_line(hit: &SearchHit, highlighter: Option<&Highlighter>) -> String {
    let record = &hit.record;
    let time = rfc3339(hit.timestamp_ms);
    let message = match highlighter {
        Some(highlighter) => highlighted(&record.message, highlighter),
        None => record.message.clone(),
    };
    let pattern = record.annotations.get("pattern").map(|id| format!("  [pattern {id}]")).unwrap_or_default();
    format!(
        "{time} {:<5} {} {}:{}  {}{pattern}",
        record.level.as_deref().unwrap_or("-"),
        record.source,
        record.origin.file,
        record.origin.line,
        message
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
        assert_eq!(parse_time("0"), Ok(0), "a short epoch is seconds");
        assert_eq!(parse_time("86400"), Ok(86_400_000));
        assert!(parse_time("9223372036854775807w").unwrap_err().contains("longer than"));
        assert!(parse_time("9999999999999999999w").unwrap_err().contains("whole number"));
        assert!(parse_time("9999-12-31T23:59:59Z").unwrap_err().contains("outside"));
        assert!(parse_time("0000-01-01T00:00:00Z").unwrap_err().contains("outside"));
    }
}
