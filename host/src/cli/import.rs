//! `opsloop import`: files (or stdin) through the pipeline into the index, then a summary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::Out;
use super::UsageError;
use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::index::LogIndex;
use crate::index::ReportIndex;
use crate::ingest::{DEFAULT_MAX_LINE_BYTES, Format, ParseOptions, ReasonGroup, ReportFormat, Warnings};
use crate::pipeline::{
    DEFAULT_BATCH_SIZE, DEFAULT_COMMIT_EVERY, FindingStore, ImportOptions, ImportSource, ImportSummary, PluginFailure,
    PluginSet, import, import_reports,
};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Log files (`.gz` too), directories (every file below them that looks like a log) or
    /// quoted globs like 'logs/*.log'; `-` reads stdin. With --reports: report exports.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The source name for these records (default: the file name up to its first dot).
    #[arg(long)]
    pub source: Option<String>,
    /// Import bug reports (Jira, Bugzilla, GitLab, Redmine, MantisBT, Trac, Azure DevOps, YouTrack
    /// or Linear CSV; GitHub, GitLab or Jira JSON; JSON lines)
    /// instead of logs.
    #[arg(long)]
    pub reports: bool,
    /// How the input is laid out; `auto` decides per file. Logs: raw, json (= jsonl), logfmt,
    /// syslog, clf, text, header, pattern. Reports: json, jsonl, csv.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: InputFormat,
    /// A line layout with `<Field>` placeholders, e.g.
    /// `'<Date> <Time> <Pid> <Level> <Component>: <Content>'` (implies --format pattern); with
    /// --format header, where the time and level are (`'time=1+2 level=1'`).
    #[arg(long)]
    pub pattern: Option<String>,
    /// Records between commits; each commit is a point an interrupted import resumes from.
    #[arg(long, default_value_t = DEFAULT_COMMIT_EVERY)]
    pub commit_every: usize,
    /// Records handed to the plugins at a time.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE)]
    pub batch_size: usize,
    /// Lines longer than this many bytes are rejected.
    #[arg(long, default_value_t = DEFAULT_MAX_LINE_BYTES)]
    pub max_line_bytes: usize,
    /// After the import, delete records older than this (`30d`, `12h`); overrides the
    /// `[index] retain` setting.
    #[arg(long, value_parser = crate::ingest::parse_span)]
    pub retain: Option<i64>,
    /// How to print the summary.
    #[arg(long, value_enum, default_value = "text")]
    pub summary: SummaryFormat,
    /// Fail (exit 1) when a plugin cannot be loaded or fails on some of the data, keeping
    /// nothing read since the last commit (a run after the fix imports it); without it the
    /// records are indexed without that plugin's annotations and the import succeeds, naming
    /// the plugin.
    #[arg(long)]
    pub strict: bool,
}

/// `--format` values for logs and reports together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// Decided per file from its first lines.
    Auto,
    /// Logs: each line whole is the message (also imports files that look binary).
    Raw,
    /// Logs: one JSON object per line. Reports: a JSON export (an array or an object).
    Json,
    /// JSON lines (logs or reports).
    Jsonl,
    /// Logs: `key=value` pairs.
    Logfmt,
    /// Logs: RFC 5424 or RFC 3164 syslog.
    Syslog,
    /// Logs: Apache/Nginx common or combined access log.
    Clf,
    /// Logs: text lines that start with a timestamp (and usually a level).
    Text,
    /// Logs: text lines whose time sits at one place among their first tokens (learned from
    /// the file's first lines, or --pattern 'time=B+W level=N' as the import summary shows it).
    Header,
    /// Logs: the --pattern layout.
    Pattern,
    /// Reports: a tracker's CSV export.
    Csv,
}

impl InputFormat {
    fn for_logs(self) -> Result<Format, UsageError> {
        Ok(match self {
            Self::Auto => Format::Auto,
            Self::Raw => Format::Raw,
            Self::Json | Self::Jsonl => Format::Json,
            Self::Logfmt => Format::Logfmt,
            Self::Syslog => Format::Syslog,
            Self::Clf => Format::Clf,
            Self::Text => Format::Text,
            Self::Header => Format::Header,
            Self::Pattern => Format::Pattern,
            Self::Csv => return Err(UsageError("--format csv is for bug reports; add --reports".into())),
        })
    }

    fn for_reports(self) -> Result<ReportFormat, UsageError> {
        Ok(match self {
            Self::Auto => ReportFormat::Auto,
            Self::Json => ReportFormat::Json,
            Self::Jsonl => ReportFormat::Jsonl,
            Self::Csv => ReportFormat::Csv,
            other => {
                return Err(UsageError(
                    format!("--format {other:?} is a log format; reports are json, jsonl or csv").to_lowercase(),
                ));
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
}

pub fn run(data_dir: &DataDir, settings: &Settings, args: ImportArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let found = expand_paths(&args.paths, &rules(&args))?;
    if found.paths.is_empty() {
        let skipped = if found.skipped.is_empty() {
            String::new()
        } else {
            format!(" (skipped {} that are not logs: {})", found.skipped.len(), skipped_list(&found.skipped))
        };
        anyhow::bail!("nothing to import: no file in {}{skipped}", shown(&args.paths));
    }
    if args.reports {
        return run_reports(data_dir, settings, &args, &found, out);
    }
    let summary = import_paths(data_dir, settings, &args, &found.paths)?;
    super::feedback::rebuild_board(data_dir, &settings.feedback)?;
    match args.summary {
        SummaryFormat::Text => {
            print_summary(&summary, out)?;
            print_skipped(&found.skipped, out)?;
        }
        SummaryFormat::Json => {
            let mut json = summary_json(&summary);
            json["skipped"] = skipped_json(&found.skipped);
            out.line(json.to_string())?
        }
    }
    out.flush()?;
    for input in summary.inputs.iter().filter(|input| input.error.is_some()) {
        eprintln!("error: {}: {}", input.name, input.error.as_deref().unwrap_or_default());
    }
    // Every line rejected is a failed import, not an empty success a script cannot tell apart.
    let nothing_kept = summary.records == 0 && summary.rejections.total() > 0;
    if nothing_kept {
        eprintln!("error: no record was imported: all {} line(s) were rejected", summary.rejections.total());
    }
    Ok(outcome(summary.has_input_errors() || nothing_kept, &summary.plugin_failures, args.strict))
}

/// Exit 1 when an input failed, or under `--strict` when a plugin did (said on stderr).
fn outcome(input_failed: bool, plugin_failures: &[PluginFailure], strict: bool) -> ExitCode {
    if strict && !plugin_failures.is_empty() {
        let names: Vec<&str> = plugin_failures.iter().map(|failure| failure.plugin.as_str()).collect();
        eprintln!("error: --strict: plugin(s) failed during the import: {}", names.join(", "));
        return ExitCode::FAILURE;
    }
    if input_failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// The paths as the user gave them, for messages.
fn shown(paths: &[PathBuf]) -> String {
    paths.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Runs an import of `paths` as the command does, without printing.
pub fn import_paths(
    data_dir: &DataDir,
    settings: &Settings,
    args: &ImportArgs,
    paths: &[PathBuf],
) -> anyhow::Result<ImportSummary> {
    // A layout that cannot work is the command's fault, not any file's: say it once, before
    // anything is opened or read.
    let format = args.format.for_logs()?;
    let format = if args.pattern.is_some() && format == Format::Auto { Format::Pattern } else { format };
    crate::ingest::LineParser::forced(format, args.pattern.as_deref())
        .map_err(|reason| UsageError(format!("--pattern: {reason}")))?;
    let index = LogIndex::open(&data_dir.index_dir())?;
    let (mut plugins, load_errors) = PluginSet::load(data_dir, settings)?;
    if args.strict && !load_errors.is_empty() {
        let reasons: Vec<String> = load_errors.iter().map(ToString::to_string).collect();
        anyhow::bail!("--strict: {}; nothing was imported", reasons.join("; "));
    }
    for error in &load_errors {
        eprintln!("warning: {error}");
    }
    let options = ImportOptions {
        parse: ParseOptions {
            format,
            pattern: args.pattern.clone(),
            source: args.source.clone(),
            max_line_bytes: args.max_line_bytes,
        },
        batch_size: args.batch_size,
        commit_every: args.commit_every.max(1),
        stop_on_plugin_failure: args.strict,
    };
    let total_bytes: u64 = paths.iter().filter_map(|path| std::fs::metadata(path).ok()).map(|meta| meta.len()).sum();
    let sources = paths.iter().cloned().map(ImportSource::Path).collect();
    let findings = FindingStore::new(data_dir.findings_file());
    let bar = progress_bar(total_bytes);
    let mut on_progress = |bytes: u64, records: u64| {
        if let Some(bar) = &bar {
            bar.set_position(bytes);
            bar.set_message(format!("{records} records"));
        }
    };
    let mut summary = import(&index, &mut plugins, &findings, sources, &options, Some(&mut on_progress))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let retain = match args.retain {
        Some(span) => Some(span),
        None => {
            settings.index.retain.as_deref().map(crate::ingest::parse_span).transpose().map_err(anyhow::Error::msg)?
        }
    };
    if let Some(span) = retain {
        summary.expired = index.delete_before(chrono::Utc::now().timestamp_millis() - span)?;
    }
    Ok(summary)
}

/// A progress bar on a terminal (stderr), none otherwise.
fn progress_bar(total_bytes: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total_bytes.max(1));
    let style = indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

/// What a directory walk leaves out.
#[derive(Debug, Clone, Copy)]
pub struct ExpandRules {
    /// Keep `.csv`/`.tsv` files: reports, or logs with an explicit `--format`.
    pub tables: bool,
    /// Judge files by their first KiB too (not when `--format raw` forces everything in).
    pub refuse_binary: bool,
}

fn rules(args: &ImportArgs) -> ExpandRules {
    ExpandRules {
        tables: args.reports || args.format != InputFormat::Auto,
        refuse_binary: args.format != InputFormat::Raw,
    }
}

/// The files an import reads, and those a directory walk skipped with the reason.
#[derive(Debug, Default)]
pub struct FoundPaths {
    pub paths: Vec<PathBuf>,
    pub skipped: Vec<(PathBuf, String)>,
}

/// Expands the import arguments: `-` stays stdin, a directory becomes every file under it
/// that looks like a log (sorted; hidden files, and files that are binary or whose extension
/// says they are not logs, skipped and listed), a glob its matches; a plain path stays as it
/// is (a missing one is reported by the import, with the others still imported).
pub fn expand_paths(arguments: &[PathBuf], rules: &ExpandRules) -> anyhow::Result<FoundPaths> {
    let mut found = FoundPaths::default();
    for argument in arguments {
        let text = argument.to_string_lossy();
        if argument.is_dir() {
            let mut files = Vec::new();
            collect_files(argument, &mut files)?;
            files.sort();
            for file in files {
                match skip_reason(&file, rules) {
                    Some(reason) => found.skipped.push((file, reason)),
                    None => found.paths.push(file),
                }
            }
        } else if text != "-" && text.contains(['*', '?', '[']) && !argument.exists() {
            let matches: Vec<PathBuf> = glob::glob(&text)
                .map_err(|error| anyhow::anyhow!("glob `{text}`: {error}"))?
                .filter_map(Result::ok)
                .filter(|path| path.is_file())
                .collect();
            if matches.is_empty() {
                anyhow::bail!("glob `{text}` matches no file");
            }
            found.paths.extend(matches);
        } else {
            found.paths.push(argument.clone());
        }
    }
    Ok(found)
}

/// Why a file found in a directory is not imported, if it is not.
fn skip_reason(path: &std::path::Path, rules: &ExpandRules) -> Option<String> {
    if let Some(kind) = crate::ingest::not_a_log(path, rules.tables) {
        return Some(format!("{kind}, by its extension"));
    }
    if !rules.refuse_binary {
        return None;
    }
    // Compressed logs are judged by their content, as the import reads them.
    let mut input = crate::ingest::Input::open(path).ok()?;
    input.binary_reason()
}

fn skipped_list(skipped: &[(PathBuf, String)]) -> String {
    skipped.iter().map(|(path, reason)| format!("{} ({reason})", path.display())).collect::<Vec<_>>().join(", ")
}

fn print_skipped(skipped: &[(PathBuf, String)], out: &mut Out) -> std::io::Result<()> {
    if skipped.is_empty() {
        return Ok(());
    }
    out.line(format!("skipped {} file(s) that are not logs:", skipped.len()))?;
    for (path, reason) in skipped {
        out.line(format!("  {}: {reason}", path.display()))?;
    }
    Ok(())
}

fn skipped_json(skipped: &[(PathBuf, String)]) -> serde_json::Value {
    skipped
        .iter()
        .map(|(path, reason)| serde_json::json!({ "file": path.display().to_string(), "reason": reason }))
        .collect::<Vec<_>>()
        .into()
}

fn collect_files(dir: &std::path::Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|error| anyhow::anyhow!("cannot list {}: {error}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.')) {
            continue;
        }
        if path.is_dir() {
            collect_files(&path, found)?;
        } else if path.is_file() {
            found.push(path);
        }
    }
    Ok(())
}

fn run_reports(
    data_dir: &DataDir,
    settings: &Settings,
    args: &ImportArgs,
    found: &FoundPaths,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let format = args.format.for_reports()?;
    // The server holds the board and the report index it serves in memory: reports written
    // beside it would not be seen there, and its next board build would not know them.
    // The format the hint names: the one given, else the first file's by its extension.
    let named = match format {
        ReportFormat::Json => "json",
        ReportFormat::Jsonl => "jsonl",
        ReportFormat::Csv => "csv",
        ReportFormat::Auto => {
            let extension = found.paths.first().and_then(|path| path.extension()).and_then(|e| e.to_str());
            match extension.map(str::to_ascii_lowercase).as_deref() {
                Some("jsonl" | "ndjson") => "jsonl",
                Some("json") => "json",
                _ => "csv",
            }
        }
    };
    super::feedback::refuse_while_served(
        data_dir,
        &format!(
            "send the reports to it instead: POST /api/ingest/reports?format={named} to its address, with the export as \
             the body and a token of the ingest or admin role"
        ),
    )?;
    let index = ReportIndex::open(&data_dir.reports_dir())?;
    let (mut plugins, load_errors) = PluginSet::load(data_dir, settings)?;
    for error in &load_errors {
        eprintln!("warning: {error}");
    }
    let findings = FindingStore::new(data_dir.findings_file());
    let summary = import_reports(&index, &mut plugins, &findings, &found.paths, format)?;
    super::feedback::rebuild_board(data_dir, &settings.feedback)?;
    if args.summary == SummaryFormat::Json {
        out.line(
            serde_json::json!({
                "reports": summary.reports,
                "rejected": summary.rejections.total(),
                "rejected_by_reason": by_reason_json(&summary.rejections.by_reason),
                "warned": summary.warnings.total(),
                "warnings": by_reason_json(&summary.warnings.by_reason),
                "inputs": summary.inputs,
                "findings": summary.findings,
                "plugin_failures": summary.plugin_failures,
                "seconds": summary.elapsed.as_secs_f64(),
                "skipped": skipped_json(&found.skipped),
            })
            .to_string(),
        )?;
    } else {
        out.line(format!(
            "imported {} reports from {} input(s) in {:.2} s ({} in the index)",
            summary.reports,
            summary.inputs.len(),
            summary.elapsed.as_secs_f64(),
            index.len()
        ))?;
        for input in summary.inputs.iter().filter(|input| input.error.is_some()) {
            out.line(format!("  failed  {}: {}", input.name, input.error.as_deref().unwrap_or_default()))?;
        }
        print_rejections(&summary.rejections, out)?;
        print_warnings(&summary.warnings);
        for failure in &summary.plugin_failures {
            out.line(format!(
                "plugin {} failed {} time(s) ({}): {}",
                failure.plugin, failure.count, failure.kind, failure.message
            ))?;
        }
    }
    if args.summary == SummaryFormat::Text {
        print_skipped(&found.skipped, out)?;
    }
    out.flush()?;
    let failed = summary.inputs.iter().any(|input| input.error.is_some());
    Ok(outcome(failed, &summary.plugin_failures, args.strict))
}

/// Rejections or warnings by reason: `{reason: {count, examples}}`.
fn by_reason_json(by_reason: &BTreeMap<String, ReasonGroup>) -> serde_json::Value {
    by_reason
        .iter()
        .map(|(reason, group)| {
            (reason.clone(), serde_json::json!({ "count": group.count, "examples": group.examples }))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn print_rejections(rejections: &crate::ingest::Rejections, out: &mut Out) -> std::io::Result<()> {
    let rejected = rejections.total();
    if rejected > 0 {
        out.line(format!("rejected {rejected} line(s):"))?;
        for (reason, group) in &rejections.by_reason {
            out.line(format!("  {:>8}  {reason}", group.count))?;
            for example in &group.examples {
                out.line(format!("            {example}"))?;
            }
        }
    }
    Ok(())
}

/// Reports kept with a problem, on stderr (the summary is on stdout): the count, and per kind
/// the first `file:line` examples.
fn print_warnings(warnings: &Warnings) {
    let warned = warnings.total();
    if warned == 0 {
        return;
    }
    eprintln!("warning: {warned} report(s) kept with a problem:");
    for (kind, group) in &warnings.by_reason {
        eprintln!("  {:>8}  {kind}", group.count);
        for example in &group.examples {
            eprintln!("            {example}");
        }
    }
}

fn summary_json(summary: &ImportSummary) -> serde_json::Value {
    let rejected = by_reason_json(&summary.rejections.by_reason);
    serde_json::json!({
        "records": summary.records,
        "rejected": summary.rejections.total(),
        "rejected_by_reason": rejected,
        "bytes": summary.bytes,
        "seconds": summary.elapsed.as_secs_f64(),
        "records_per_second": summary.records_per_second(),
        "megabytes_per_second": summary.megabytes_per_second(),
        "findings": summary.findings,
        "expired": summary.expired,
        "undated": summary.undated,
        "inputs": summary.inputs,
        "plugin_failures": summary.plugin_failures,
    })
}

/// Inputs the human summary lists one by one at most.
const MAX_INPUTS_LISTED: usize = 20;

/// Prints the human summary.
pub fn print_summary(summary: &ImportSummary, out: &mut Out) -> std::io::Result<()> {
    out.line(format!(
        "imported {} records from {} input(s), {:.1} MB in {:.2} s ({:.0} records/s, {:.1} MB/s)",
        summary.records,
        summary.inputs.len(),
        summary.bytes as f64 / 1e6,
        summary.elapsed.as_secs_f64(),
        summary.records_per_second(),
        summary.megabytes_per_second()
    ))?;
    // Each input's own count and format when there are several, or when the format had to
    // learn where the file holds its time (the layout to give --pattern to read it so again).
    let listed = summary.inputs.len() > 1 || summary.inputs.iter().any(|input| input.layout.is_some());
    for input in summary.inputs.iter().filter(|input| listed && input.error.is_none()).take(MAX_INPUTS_LISTED) {
        let format = input.format.as_deref().unwrap_or("raw");
        let layout = input
            .layout
            .as_deref()
            .map(|layout| format!(" (--format {format} --pattern '{layout}')"))
            .unwrap_or_default();
        out.line(format!("  {}: {} record(s), {format}{layout}", input.name, input.records))?;
    }
    let unlisted =
        summary.inputs.iter().filter(|input| input.error.is_none()).count().saturating_sub(MAX_INPUTS_LISTED);
    if listed && unlisted > 0 {
        out.line(format!("  … and {unlisted} more input(s) (--summary json lists each)"))?;
    }
    for input in &summary.inputs {
        if input.error.is_some() {
            let kept = match input.records {
                0 => String::new(),
                records => format!("; the {records} record(s) read before the failure are kept"),
            };
            out.line(format!("  failed  {} (the reason is on stderr){kept}", input.name))?;
        } else if input.skipped_lines > 0 {
            out.line(format!("  {}: {} line(s) imported before were skipped", input.name, input.skipped_lines))?;
        }
    }
    print_rejections(&summary.rejections, out)?;
    if summary.undated > 0 {
        out.line(format!(
            "note: {} record(s) carried no time of their own and are stored at the import's time",
            summary.undated
        ))?;
    }
    if summary.expired > 0 {
        out.line(format!("deleted {} record(s) older than the retention period", summary.expired))?;
    }
    if summary.findings > 0 {
        out.line(format!("{} finding(s) recorded", summary.findings))?;
    }
    for failure in &summary.plugin_failures {
        out.line(format!(
            "plugin {} failed {} time(s) ({}); its records were indexed without its annotations: {}",
            failure.plugin, failure.count, failure.kind, failure.message
        ))?;
    }
    Ok(())
}
