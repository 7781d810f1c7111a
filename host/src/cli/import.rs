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
    DEFAULT_BATCH_SIZE, DEFAULT_COMMIT_EVERY, FindingStore, ImportOptions, ImportSource, ImportSummary, PluginSet,
    import, import_reports,
};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import; `-` reads stdin.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The source name for these records (default: the file name up to its first dot).
    #[arg(long)]
    pub source: Option<String>,
    /// Import bug reports (Jira, Bugzilla or GitLab CSV; GitHub, GitLab or Jira JSON; JSON lines)
    /// instead of logs.
    #[arg(long)]
    pub reports: bool,
    /// How the input is laid out; `auto` decides per file. Logs: raw, json (= jsonl), logfmt,
    /// syslog, clf, text, pattern. Reports: json, jsonl, csv.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: InputFormat,
    /// A line layout with `<Field>` placeholders, e.g.
    /// `'<Date> <Time> <Pid> <Level> <Component>: <Content>'` (implies --format pattern).
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
}

/// `--format` values for logs and reports together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    Auto,
    Raw,
    Json,
    Jsonl,
    Logfmt,
    Syslog,
    Clf,
    Text,
    Pattern,
    Csv,
}

impl InputFormat {
    pub(super) fn for_logs(self) -> Result<Format, UsageError> {
        Ok(match self {
            Self::Auto => Format::Auto,
            Self::Raw => Format::Raw,
            Self::Json | Self::Jsonl => Format::Json,
            Self::Logfmt => Format::Logfmt,
            Self::Syslog => Format::Syslog,
            Self::Clf => Format::Clf,
            Self::Text => Format::Text,
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
    if args.reports {
        return run_reports(data_dir, settings, &args, out);
    }
    let summary = import_paths(data_dir, settings, &args)?;
    super::feedback::rebuild_board(data_dir, &settings.feedback)?;
    match args.summary {
        SummaryFormat::Text => print_summary(&summary, out)?,
        SummaryFormat::Json => out.line(summary_json(&summary).to_string())?,
    }
    Ok(if summary.has_input_errors() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Runs an import as the command does, without printing.
pub fn import_paths(data_dir: &DataDir, settings: &Settings, args: &ImportArgs) -> anyhow::Result<ImportSummary> {
    let index = LogIndex::open(&data_dir.index_dir())?;
    let (mut plugins, load_errors) = PluginSet::load(data_dir, settings)?;
    for error in &load_errors {
        tracing::error!(kind = error.kind(), "{error}");
        eprintln!("warning: {error}");
    }
    let format = args.format.for_logs()?;
    let format = if args.pattern.is_some() && format == Format::Auto { Format::Pattern } else { format };
    let options = ImportOptions {
        parse: ParseOptions {
            format,
            pattern: args.pattern.clone(),
            source: args.source.clone(),
            max_line_bytes: args.max_line_bytes,
        },
        batch_size: args.batch_size,
        commit_every: args.commit_every.max(1),
    };
    let paths = expand_paths(&args.paths)?;
    let total_bytes: u64 = paths.iter().filter_map(|path| std::fs::metadata(path).ok()).map(|meta| meta.len()).sum();
    let sources = paths.into_iter().map(ImportSource::Path).collect();
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

/// Expands the import arguments: `-` stays stdin, a directory becomes every file under it
/// (sorted, hidden files skipped), a glob its matches; a plain path stays as it is (a missing
/// one is reported by the import, with the others still imported).
pub fn expand_paths(arguments: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for argument in arguments {
        let text = argument.to_string_lossy();
        if argument.is_dir() {
            let mut found = Vec::new();
            collect_files(argument, &mut found)?;
            found.sort();
            paths.extend(found);
        } else if text != "-" && text.contains(['*', '?', '[']) && !argument.exists() {
            let matches: Vec<PathBuf> = glob::glob(&text)
                .map_err(|error| anyhow::anyhow!("glob `{text}`: {error}"))?
                .filter_map(Result::ok)
                .filter(|path| path.is_file())
                .collect();
            if matches.is_empty() {
                anyhow::bail!("glob `{text}` matches no file");
            }
            paths.extend(matches);
        } else {
            paths.push(argument.clone());
        }
    }
    Ok(paths)
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

fn run_reports(data_dir: &DataDir, settings: &Settings, args: &ImportArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let format = args.format.for_reports()?;
    let index = ReportIndex::open(&data_dir.reports_dir())?;
    let (mut plugins, load_errors) = PluginSet::load(data_dir, settings)?;
    for error in &load_errors {
        eprintln!("warning: {error}");
    }
    let paths = expand_paths(&args.paths)?;
    let findings = FindingStore::new(data_dir.findings_file());
    let summary = import_reports(&index, &mut plugins, &findings, &paths, format)?;
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
    let failed = summary.inputs.iter().any(|input| input.error.is_some());
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
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
        "inputs": summary.inputs,
        "plugin_failures": summary.plugin_failures,
    })
}

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
    for input in &summary.inputs {
        if let Some(error) = &input.error {
            out.line(format!("  failed  {}: {error}", input.name))?;
        } else if input.skipped_lines > 0 {
            out.line(format!("  {}: {} line(s) imported before were skipped", input.name, input.skipped_lines))?;
        }
    }
    print_rejections(&summary.rejections, out)?;
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
