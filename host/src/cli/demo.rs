//! `opsloop demo`: the whole loop on bundled data, in a fresh `<data>/demo` directory.
//!
//! The data is one day of a small Hadoop platform (`tests/data/demo/`): the logs of a
//! MapReduce application master that loses its ResourceManager at 10:00, of HDFS, and of an
//! SSH gateway under a password-guessing attack (Loghub samples put on one timeline), and the
//! bug reports its users filed that day, a few quoting log lines and most not. The demo writes
//! them to `<data>/demo/input/`, imports them as `opsloop import` does, and prints what each
//! step found: patterns, anomalies, report groups and the top of the feedback board, then the
//! commands to go on, ending with the one that serves the web page on the same data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::Out;
use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::feedback::render;
use crate::index::{LogIndex, ReportIndex, SearchRequest};
use crate::ingest::{Format, ParseOptions, ReportFormat};
use crate::pipeline::{FindingStore, ImportOptions, ImportSource, PluginSet, import, import_reports};

/// One bundled log: its file name, the source name it gets, its `--pattern` layout, and bytes.
struct DemoLog {
    file: &'static str,
    source: &'static str,
    layout: &'static str,
    bytes: &'static [u8],
}

/// The bundled logs (Loghub samples with new timestamps; see tests/data/demo/README.md).
const LOGS: &[DemoLog] = &[
    DemoLog {
        file: "mapreduce.log",
        source: "mapreduce",
        layout: "<Date> <Time> <Level> [<Process>] <Component>: <Content>",
        bytes: include_bytes!("../../../tests/data/demo/mapreduce.log"),
    },
    DemoLog {
        file: "hdfs.log",
        source: "hdfs",
        layout: "<Date> <Time> <Pid> <Level> <Component>: <Content>",
        bytes: include_bytes!("../../../tests/data/demo/hdfs.log"),
    },
    DemoLog {
        file: "sshd.log",
        source: "sshd",
        layout: "<Date> <Time> <Host> sshd[<Pid>]: <Content>",
        bytes: include_bytes!("../../../tests/data/demo/sshd.log"),
    },
];

/// The bundled bug reports (JSON lines), written for this project.
const REPORTS: (&str, &[u8]) = ("reports.jsonl", include_bytes!("../../../tests/data/demo/reports.jsonl"));

/// What the demo leaves in `<data>/demo` from an earlier run and removes first (the compiled
/// plugin cache stays: it only makes the next run faster).
const EARLIER_RUN: &[&str] =
    &["index", "reports", "plugin-state", "findings.jsonl", "feedback.json", "board.json", "input", "wal"];

/// How many of each thing the demo shows.
const SHOWN_PATTERNS: usize = 3;
const SHOWN_FINDINGS: usize = 5;
const SHOWN_ITEMS: usize = 4;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The search the demo runs over the logs (tantivy query syntax).
    #[arg(long, default_value = "level:ERROR")]
    pub query: String,
}

pub fn run(data_dir: &DataDir, args: DemoArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let demo = DataDir::new(data_dir.root().join("demo"));
    for entry in EARLIER_RUN {
        let path = demo.root().join(entry);
        let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        if let Some(error) = removed.as_ref().err().filter(|error| error.kind() != std::io::ErrorKind::NotFound) {
            anyhow::bail!("cannot remove {} from an earlier demo: {error}", path.display());
        }
    }
    let input = demo.root().join("input");
    std::fs::create_dir_all(&input).map_err(|error| anyhow::anyhow!("cannot create {}: {error}", input.display()))?;
    let program = program_name();
    let data = demo.root().display().to_string();
    out.line(format!(
        "opsloop demo: a day of a small Hadoop platform, its logs and its users' bug reports, in {data}"
    ))?;

    let settings = Settings::default();
    let (mut plugins, errors) = PluginSet::load(&demo, &settings)?;
    if let Some(error) = errors.first() {
        anyhow::bail!("a built-in plugin failed to load: {error}");
    }
    let names: Vec<&str> = plugins.plugins().iter().map(|plugin| plugin.name()).collect();
    out.line(format!("plugins: {} (WebAssembly, sandboxed)", names.join(", ")))?;

    // 1. Logs, each with its layout, through the plugins into the index.
    out.line("\n1. logs: opsloop import --source NAME --pattern LAYOUT FILE")?;
    let index = LogIndex::open(&demo.index_dir())?;
    let findings = FindingStore::new(demo.findings_file());
    for log in LOGS {
        let path = write_input(&input, log.file, log.bytes)?;
        let options = ImportOptions {
            parse: ParseOptions {
                format: Format::Pattern,
                pattern: Some(log.layout.to_string()),
                source: Some(log.source.to_string()),
                ..ParseOptions::default()
            },
            ..ImportOptions::default()
        };
        let summary = import(&index, &mut plugins, &findings, vec![ImportSource::Path(path)], &options, None)?;
        if summary.has_input_errors() || summary.rejections.total() > 0 || !summary.plugin_failures.is_empty() {
            super::import::print_summary(&summary, out)?;
            anyhow::bail!("the bundled log {} did not import cleanly", log.file);
        }
        out.line(format!(
            "   {:<9}  {} records, {} finding(s)  ('{}')",
            log.source, summary.records, summary.findings, log.layout
        ))?;
    }

    // 2. Patterns: what the logs are made of.
    out.line("\n2. patterns, the most frequent per source (opsloop patterns --source NAME)")?;
    for log in LOGS {
        let patterns = index.patterns(Some(log.source))?;
        out.line(format!("   {}: {} patterns", log.source, patterns.len()))?;
        for stats in patterns.iter().take(SHOWN_PATTERNS) {
            out.line(format!("   {:>6}  {}", stats.count, shorten(&stats.template, 100)))?;
        }
    }
    let request = SearchRequest { query: args.query.clone(), limit: Some(3), ..SearchRequest::default() };
    let total = index.count(&request)?;
    out.line(format!("\n   search '{}': {total} records, the newest:", args.query))?;
    for hit in index.search(&request)? {
        let time = chrono::DateTime::from_timestamp_millis(hit.timestamp_ms)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        out.line(format!("   {time} {} {}", hit.record.source, shorten(&hit.record.message, 90)))?;
    }

    // 3. Anomalies the patterns plugin found while the logs came in.
    let mut found = findings.read_all()?;
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    out.line(format!("\n3. anomalies: {} finding(s), the strongest:", found.len()))?;
    for finding in found.iter().take(SHOWN_FINDINGS) {
        out.line(format!(
            "   {:<11} {:<9} {}  {}",
            finding.kind,
            finding.source,
            span(finding.first_seen_ms, finding.last_seen_ms),
            shorten(&finding.summary, 100)
        ))?;
    }

    // 4. Bug reports, grouped by the tickets plugin.
    let reports_path = write_input(&input, REPORTS.0, REPORTS.1)?;
    out.line("\n4. bug reports: opsloop import --reports FILE")?;
    let reports = ReportIndex::open(&demo.reports_dir())?;
    let summary = import_reports(&reports, &mut plugins, &findings, &[reports_path], ReportFormat::Auto)?;
    let mut groups: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for report in reports.search("*", None)? {
        let group = report.annotations.get("group").map(ToString::to_string).unwrap_or_default();
        groups.entry(group).or_default().push((report.id.clone(), report.title.clone()));
    }
    let shared: Vec<&Vec<(String, String)>> = groups.values().filter(|members| members.len() > 1).collect();
    out.line(format!(
        "   {} reports in {} groups; the groups of more than one report (duplicates):",
        summary.reports,
        groups.len()
    ))?;
    for members in &shared {
        let listed: Vec<String> = members.iter().map(|(id, title)| format!("{id} \"{title}\"")).collect();
        out.line(format!("   - {}", listed.join(", ")))?;
    }

    // 5. The feedback board: report groups, the log patterns they quote, and anomalies.
    let board = super::feedback::rebuild_board(&demo, &settings.feedback)?;
    out.line(format!(
        "\n5. feedback board: {} items by impact, the top {} (opsloop feedback):",
        board.items.len(),
        SHOWN_ITEMS.min(board.items.len())
    ))?;
    for item in board.items.iter().take(SHOWN_ITEMS) {
        out.line(format!("\n{}", indent(&render::text(item))))?;
    }

    let token = new_token();
    out.line("\nnext, on the same data:")?;
    out.line(format!("   {program} --data {data} feedback --format md    # the whole board as Markdown"))?;
    out.line(format!("   {program} --data {data} search lease --since 2026-03-03T10:00:00Z --limit 5"))?;
    out.line(format!("   {program} --data {data} similar DATA-101    # likely duplicates of a report"))?;
    out.line("\nthe web page (Logs and Feedback views), with a token made for this demo:")?;
    out.line(format!("   OPSLOOP_TOKENS=admin:{token} {program} --data {data} serve"))?;
    out.line(format!("   then open http://127.0.0.1:7070/ and enter the token {token}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes one bundled input into `<demo>/input/`, where it can be read and imported again.
fn write_input(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|error| anyhow::anyhow!("cannot write {}: {error}", path.display()))?;
    Ok(path)
}

/// How to call this binary in the commands the demo prints: `opsloop` when that is what the
/// shell finds, its full path otherwise (e.g. under `cargo run`).
fn program_name() -> String {
    let Ok(current) = std::env::current_exe().and_then(|path| path.canonicalize()) else {
        return "opsloop".into();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("opsloop"))
            .find(|candidate| candidate.is_file())
            .and_then(|found| found.canonicalize().ok())
            .is_some_and(|found| found == current)
    });
    if on_path { "opsloop".into() } else { current.display().to_string() }
}

/// A token for the demo's server: 128 bits from the standard library's randomly keyed hasher.
fn new_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (0..2u64)
        .map(|half| {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(half);
            hasher.write_u128(nanos);
            format!("{:016x}", hasher.finish())
        })
        .collect()
}

/// `text` cut to `max` characters, with `…` where it was cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// A finding's time span to the minute, `HH:MM–HH:MM` within one day.
fn span(first: Option<i64>, last: Option<i64>) -> String {
    let time = |ms: Option<i64>, layout: &str| {
        ms.and_then(chrono::DateTime::from_timestamp_millis).map(|t| t.format(layout).to_string()).unwrap_or_default()
    };
    let same_day = time(first, "%F") == time(last, "%F");
    format!("{}–{}", time(first, "%m-%d %H:%M"), time(last, if same_day { "%H:%M" } else { "%m-%d %H:%M" }))
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("   {line}")).collect::<Vec<_>>().join("\n")
}
