//! `opsloop plugin new | list | check | run | backtest`: a plugin project to start from, what
//! plugins are loaded, whether a component fits the contract, what it does to a file, and
//! what a new version would change on the stored history.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use serde_json::json;

use super::plugin_new::{NewArgs, scaffold};
use super::search::HitFormat;
use super::{Out, UsageError};
use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::ingest::{
    BugReport, Format, Input, ParseOptions, ReadPosition, Record, Rejections, ReportFormat, Warnings, read_records,
    read_reports,
};
use crate::pipeline::{
    BacktestOptions, BacktestReport, DEFAULT_BATCH_SIZE, PluginSet, PluginTrial, REPORTS_PER_CALL, RecordAnnotations,
    TrialBatch, TrialFinding, backtest,
};
use crate::plugin::{LoadedPlugin, PluginDescription, PluginLogLine, PluginRuntime, unprovided_imports};

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a plugin project (Rust, Python or JavaScript) with an example analyzer.
    New(NewArgs),
    /// List the loaded plugins (built-in and from the plugins directory).
    List(ListArgs),
    /// Read a component's imports, load it, print what it says about itself, and run it on a
    /// sample batch (or on the first batch of --input).
    Check(CheckArgs),
    /// Run one plugin over a log file or a report export, without an index, and print its
    /// annotations, findings, log lines and time per call.
    Run(RunArgs),
    /// Run a new version of an installed plugin over the stored history, in a scratch copy,
    /// and print what it would change: annotations, findings, time per record.
    Backtest(BacktestArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a table, or one JSON object per plugin.
    #[arg(long, value_enum, default_value = "text")]
    pub format: HitFormat,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The plugin component (`*.wasm`).
    pub file: PathBuf,
    /// Run it on the first batch of this log file instead of three sample messages.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// A setting handed to the plugin, `KEY=VALUE` (repeatable; over the configuration file's).
    #[arg(long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The plugin component (`*.wasm`).
    pub file: PathBuf,
    /// A log file to run it over (any format `opsloop import` reads).
    #[arg(long, required_unless_present = "reports", conflicts_with = "reports")]
    pub input: Option<PathBuf>,
    /// A report export to run it over (Jira, Bugzilla, GitLab or GitHub; CSV, JSON or JSON lines).
    #[arg(long)]
    pub reports: Option<PathBuf>,
    /// A setting handed to the plugin, `KEY=VALUE` (repeatable; over the configuration file's).
    #[arg(long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Records per call.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE)]
    pub batch_size: usize,
    /// Print text, or one JSON document.
    #[arg(long, value_enum, default_value = "text")]
    pub format: HitFormat,
    /// Also list records the plugin left without annotations (text).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// The new version of the plugin (`*.wasm`).
    pub file: PathBuf,
    /// The installed plugin to compare with (default: the one with the new version's name).
    #[arg(long)]
    pub against: Option<String>,
    /// Only records from this time on: `2024-05-01`, an RFC 3339 time, or an age like `24h`.
    #[arg(long, value_parser = super::search::parse_time)]
    pub since: Option<i64>,
    /// Changed records shown per annotation key, and findings shown per list.
    #[arg(long, default_value_t = 5)]
    pub examples: usize,
    /// Print text, or one JSON document.
    #[arg(long, value_enum, default_value = "text")]
    pub format: HitFormat,
}

pub fn run(data_dir: &DataDir, settings: &Settings, command: PluginCommand, out: &mut Out) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::List(args) => {
            let (plugins, errors) = PluginSet::load(data_dir, settings)?;
            for plugin in plugins.plugins() {
                let description = plugin.description();
                match args.format {
                    HitFormat::Json => out.line(serde_json::to_string(description)?)?,
                    HitFormat::Text => out.line(describe_line(description))?,
                }
            }
            for error in &errors {
                eprintln!("error: {error}");
            }
            Ok(if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        PluginCommand::Check(args) => check(data_dir, settings, args, out),
        PluginCommand::Run(args) => run_file(data_dir, settings, args, out),
        PluginCommand::Backtest(args) => run_backtest(data_dir, settings, args, out),
        PluginCommand::New(args) => scaffold(args, out),
    }
}

fn describe_line(description: &PluginDescription) -> String {
    let inputs = match (description.consumes_logs, description.consumes_reports) {
        (true, true) => "logs+reports",
        (true, false) => "logs",
        (false, true) => "reports",
        (false, false) => "nothing",
    };
    format!(
        "{:<16} {:<8} {:<13} wants [{}] annotates [{}]  {}",
        description.name,
        description.version,
        inputs,
        description.wants.join(","),
        description.annotates.join(","),
        description.description
    )
}

/// Where `check` and `run` keep compiled components: the data directory's cache when there is
/// a data directory, else the user's cache directory; a second run then skips the compile.
fn artifact_cache(data_dir: &DataDir) -> Option<PathBuf> {
    if data_dir.holds_data() {
        return Some(data_dir.plugin_cache_dir());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("opsloop/plugins"))
}

/// Reads and loads the component in `file`.
fn load_component(data_dir: &DataDir, settings: &Settings, file: &Path) -> anyhow::Result<Arc<LoadedPlugin>> {
    let bytes = std::fs::read(file).map_err(|error| anyhow::anyhow!("cannot read {}: {error}", file.display()))?;
    let runtime = PluginRuntime::new(settings.plugins.limits.clone(), artifact_cache(data_dir))?;
    Ok(runtime.load(&file.display().to_string(), &bytes)?)
}

/// The configuration file's settings for `plugin`, with `overrides` (`KEY=VALUE`) on top. Keys
/// the plugin does not declare are warned about.
fn plugin_config(
    settings: &Settings,
    plugin: &LoadedPlugin,
    overrides: &[String],
) -> anyhow::Result<Vec<(String, String)>> {
    let mut config = settings.plugin_config(plugin.name());
    for pair in overrides {
        let (key, value) =
            pair.split_once('=').ok_or_else(|| UsageError(format!("--config {pair}: expected KEY=VALUE")))?;
        config.push((key.trim().to_string(), value.to_string()));
    }
    let declared: Vec<&str> = plugin.description().config.iter().map(|key| key.name.as_str()).collect();
    for (key, _) in &config {
        if !declared.contains(&key.as_str()) {
            let takes = if declared.is_empty() { "none".to_string() } else { declared.join(", ") };
            eprintln!("warning: plugin `{}` takes no setting `{key}` (it takes: {takes})", plugin.name());
        }
    }
    Ok(config)
}

fn check(data_dir: &DataDir, settings: &Settings, args: CheckArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).map_err(|error| anyhow::anyhow!("cannot read {}: {error}", args.file.display()))?;
    // The imports first: they are read in milliseconds, the compile can take many seconds.
    if let Ok(missing) = unprovided_imports(&bytes) {
        if !missing.is_empty() {
            for import in &missing {
                out.line(format!("missing import: {import}"))?;
            }
            out.flush()?;
        }
    }
    let plugin = load_component(data_dir, settings, &args.file)?;
    out.line(describe_line(plugin.description()))?;
    let config = plugin_config(settings, &plugin, &args.config)?;
    if !plugin.description().consumes_logs {
        out.line("ok: loads and describes itself (it consumes no logs, so no sample batch was run)")?;
        return Ok(ExitCode::SUCCESS);
    }
    let (sample, what) = match &args.input {
        Some(path) => {
            let mut first = Vec::new();
            read_log_file(path, DEFAULT_BATCH_SIZE, |batch| {
                if first.is_empty() {
                    first = batch;
                }
            })?;
            (first, format!("the first batch of {}", path.display()))
        }
        None => {
            let messages = ["service started on port 8080", "user 42 logged in", "disk /dev/sda1 is 91% full"];
            let sample = messages
                .iter()
                .enumerate()
                .map(|(index, message)| {
                    let origin = crate::ingest::Origin { file: "sample".into(), line: index as u64 + 1 };
                    Record::new("check", message.to_string(), origin)
                })
                .collect();
            (sample, "a 3-record sample batch".to_string())
        }
    };
    let mut trial = PluginTrial::new(plugin.clone(), config);
    trial.start()?;
    let output = trial.logs(&sample)?;
    let mut keys: Vec<&str> = output.annotations.iter().flat_map(|values| values.keys()).map(String::as_str).collect();
    keys.sort_unstable();
    keys.dedup();
    out.line(format!(
        "ok: {what} ({} records) returned annotations [{}] and {} finding(s)",
        sample.len(),
        keys.join(","),
        output.findings.len()
    ))?;
    let asks = plugin.capability_asks();
    if !asks.is_empty() {
        let names: Vec<&str> = asks.keys().copied().collect();
        out.line(format!(
            "note: it asked for the {}; plugins have none, so it was told nothing is there",
            names.join(", ")
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads `path` as `opsloop import` would, handing over batches of records.
fn read_log_file(path: &Path, batch_size: usize, mut on_batch: impl FnMut(Vec<Record>)) -> anyhow::Result<Rejections> {
    let input = Input::open(path)?;
    let options = ParseOptions { format: Format::Auto, ..ParseOptions::default() };
    let mut rejections = Rejections::default();
    read_records::<crate::ingest::IngestError>(
        input,
        &options,
        batch_size.max(1),
        ReadPosition::default(),
        &mut rejections,
        |batch, _| {
            on_batch(batch);
            Ok(())
        },
    )?;
    Ok(rejections)
}

/// What `plugin run` gathered.
struct RunResult {
    /// Where each record or report is (`file:line`, `report ID`), and its text.
    places: Vec<(String, String)>,
    annotations: Vec<RecordAnnotations>,
    findings: Vec<TrialFinding>,
    errors: Vec<String>,
}

impl RunResult {
    fn take(&mut self, first: usize, len: usize, answer: Result<TrialBatch, crate::plugin::PluginError>) {
        match answer {
            Ok(batch) => {
                self.annotations.extend(batch.annotations);
                self.findings.extend(batch.findings);
            }
            Err(error) => {
                let what =
                    if len == 0 { "finish".to_string() } else { format!("items {}–{}", first + 1, first + len) };
                self.errors.push(format!("{what}: {error}"));
                self.annotations.extend(std::iter::repeat_n(RecordAnnotations::new(), len));
            }
        }
    }
}

fn run_file(data_dir: &DataDir, settings: &Settings, args: RunArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let plugin = load_component(data_dir, settings, &args.file)?;
    let description = plugin.description().clone();
    let config = plugin_config(settings, &plugin, &args.config)?;
    let logs = plugin.tap_logs();
    let mut trial = PluginTrial::new(plugin.clone(), config);
    let mut result =
        RunResult { places: Vec::new(), annotations: Vec::new(), findings: Vec::new(), errors: Vec::new() };
    if let Err(error) = trial.start() {
        result.errors.push(format!("init: {error}"));
    }
    let (input, unit) = if let Some(path) = &args.input {
        if !description.consumes_logs {
            return Err(UsageError(format!("plugin `{}` consumes no logs; try --reports", description.name)).into());
        }
        let rejections = read_log_file(path, args.batch_size, |batch| {
            let first = result.places.len();
            result.places.extend(
                batch
                    .iter()
                    .map(|record| (format!("{}:{}", record.origin.file, record.origin.line), record.message.clone())),
            );
            let answer = trial.logs(&batch);
            result.take(first, batch.len(), answer);
        })?;
        if rejections.total() > 0 {
            eprintln!(
                "warning: {} line(s) of {} could not be read and were skipped:",
                rejections.total(),
                path.display()
            );
            for example in rejections.by_reason.values().flat_map(|group| &group.examples) {
                eprintln!("  {example}");
            }
        }
        (path.clone(), "records")
    } else {
        let path = args.reports.clone().expect("clap requires --input or --reports");
        if !description.consumes_reports {
            return Err(UsageError(format!("plugin `{}` consumes no reports; try --input", description.name)).into());
        }
        let (mut rejections, mut warnings) = (Rejections::default(), Warnings::default());
        let reports: Vec<BugReport> = read_reports(&path, ReportFormat::Auto, &mut rejections, &mut warnings)?;
        for chunk in reports.chunks(REPORTS_PER_CALL) {
            let first = result.places.len();
            result.places.extend(chunk.iter().map(|report| (format!("report {}", report.id), report.title.clone())));
            let answer = trial.reports(chunk);
            result.take(first, chunk.len(), answer);
        }
        (path, "reports")
    };
    let concluded = trial.finish();
    result.take(0, 0, concluded);
    let logs: Vec<PluginLogLine> = logs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    match args.format {
        HitFormat::Json => print_run_json(&description, &input, &result, &logs, &trial, out)?,
        HitFormat::Text => print_run_text(&description, &input, unit, &result, &logs, &trial, args.all, out)?,
    }
    Ok(if result.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_run_json(
    description: &PluginDescription,
    input: &Path,
    result: &RunResult,
    logs: &[PluginLogLine],
    trial: &PluginTrial,
    out: &mut Out,
) -> anyhow::Result<()> {
    let items: Vec<_> = result
        .places
        .iter()
        .zip(&result.annotations)
        .enumerate()
        .map(|(position, ((at, text), annotations))| {
            json!({"position": position, "at": at, "text": text, "annotations": annotations})
        })
        .collect();
    let document = json!({
        "plugin": {"name": description.name, "version": description.version},
        "input": input.display().to_string(),
        "items": items,
        "findings": result.findings,
        "logs": logs,
        "calls": trial.times,
        "errors": result.errors,
    });
    out.line(serde_json::to_string_pretty(&document)?)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn print_run_text(
    description: &PluginDescription,
    input: &Path,
    unit: &str,
    result: &RunResult,
    logs: &[PluginLogLine],
    trial: &PluginTrial,
    all: bool,
    out: &mut Out,
) -> anyhow::Result<()> {
    let annotated = result.annotations.iter().filter(|values| !values.is_empty()).count();
    out.line(format!(
        "{} {} on {}: {} {unit}, {annotated} annotated, {} finding(s)",
        description.name,
        description.version,
        input.display(),
        result.places.len(),
        result.findings.len()
    ))?;
    for ((at, text), values) in result.places.iter().zip(&result.annotations) {
        if values.is_empty() && !all {
            continue;
        }
        let pairs: Vec<String> = values.iter().map(|(key, value)| format!("{key}={value}")).collect();
        let text: String = text.chars().take(120).collect();
        out.line(format!("  {at}  {}  | {text}", if pairs.is_empty() { "-".into() } else { pairs.join(" ") }))?;
    }
    for finding in &result.findings {
        out.line(format!("finding {} (score {:.3}): {}", finding.kind, finding.score, finding.summary))?;
        if !finding.records.is_empty() {
            let cited: Vec<&str> = finding
                .records
                .iter()
                .take(10)
                .filter_map(|&position| result.places.get(position as usize).map(|(at, _)| at.as_str()))
                .collect();
            let more = finding.records.len().saturating_sub(cited.len());
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            out.line(format!("  cites {}{more}", cited.join(", ")))?;
        }
        if !finding.counts.is_empty() {
            let counts: Vec<String> = finding.counts.iter().map(|(name, count)| format!("{name}={count}")).collect();
            out.line(format!("  counts {}", counts.join(" ")))?;
        }
        if let Some(query) = &finding.query {
            out.line(format!("  query {query}"))?;
        }
        for example in finding.examples.iter().take(3) {
            out.line(format!("  e.g. {}", example.chars().take(120).collect::<String>()))?;
        }
    }
    for line in logs {
        out.line(format!("log {}: {}", line.level, line.text))?;
    }
    let times: Vec<String> = trial
        .times_in_order()
        .map(|(call, time)| {
            let per_item =
                if time.items > 0 { format!(", {:.1} µs per item", time.micros_per_item()) } else { String::new() };
            format!("{call} {}× {:.1} ms{per_item}", time.calls, time.total.as_secs_f64() * 1e3)
        })
        .collect();
    out.line(format!("time: {}", times.join("; ")))?;
    for error in &result.errors {
        out.line(format!("error: {error}"))?;
    }
    Ok(())
}

fn run_backtest(
    data_dir: &DataDir,
    settings: &Settings,
    args: BacktestArgs,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    if !data_dir.holds_data() {
        anyhow::bail!(
            "no data directory at {} (pass --data DIR, where the history was imported)",
            data_dir.root().display()
        );
    }
    let candidate = load_component(data_dir, settings, &args.file)?;
    let (plugins, errors) = PluginSet::load(data_dir, settings)?;
    for error in &errors {
        tracing::warn!(%error, "plugin not loaded");
    }
    let against = args.against.clone().unwrap_or_else(|| candidate.name().to_string());
    let Some(installed) = plugins.plugins().iter().find(|plugin| plugin.name() == against).cloned() else {
        let loaded: Vec<&str> = plugins.plugins().iter().map(|plugin| plugin.name()).collect();
        anyhow::bail!(
            "no installed plugin named `{against}` to compare with (loaded: {}); pass --against NAME",
            loaded.join(", ")
        );
    };
    let config = plugin_config(settings, &installed, &[])?;
    let options = BacktestOptions { since_ms: args.since, examples: args.examples };
    let report = backtest(&data_dir.index_dir(), &data_dir.reports_dir(), installed, candidate, config, &options)?;
    match args.format {
        HitFormat::Json => out.line(serde_json::to_string_pretty(&report)?)?,
        HitFormat::Text => print_backtest(&report, out)?,
    }
    // As `plugin run`: a plugin that failed is an answer a script must not take for a result.
    let failed = !report.installed.errors.is_empty() || !report.candidate.errors.is_empty();
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn print_backtest(report: &BacktestReport, out: &mut Out) -> anyhow::Result<()> {
    let (old, new) = (&report.installed, &report.candidate);
    out.line(format!(
        "backtest of {} {} (new) against {} {} (installed) over {} records and {} reports; neither touched the index",
        new.name, new.version, old.name, old.version, report.records, report.reports
    ))?;
    if new.version == old.version {
        out.line(format!("note: both are version {}; a new build usually says so in its plugin-info", new.version))?;
    }
    // A failed call leaves its records without that side's annotations, which the comparison
    // below would read as values lost or gained: the failures come first, so no one mistakes
    // them for the new version's behaviour.
    for (side, errors) in [("installed", &old.errors), ("new", &new.errors)] {
        for error in errors {
            out.line(format!("error ({side}): {error}"))?;
        }
        if !errors.is_empty() {
            out.line(format!(
                "the {side} version failed on {} call(s): the records of those calls have none of its annotations below",
                errors.len()
            ))?;
        }
    }
    for key in &report.keys {
        out.line(format!(
            "{}: {} changed ({} gain a value, {} lose one, {} change it) of {} annotated by either",
            key.key,
            key.changed,
            key.added,
            key.removed,
            key.changed - key.added - key.removed,
            key.annotated
        ))?;
        for example in &key.examples {
            let shown = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".into());
            out.line(format!(
                "  {}  {} → {}  | {}",
                example.at,
                shown(&example.installed),
                shown(&example.candidate),
                example.text
            ))?;
        }
    }
    out.line(format!(
        "findings: {} added, {} removed, {} the same",
        report.findings_added.len(),
        report.findings_removed.len(),
        report.findings_same
    ))?;
    for (sign, findings) in [("+", &report.findings_added), ("-", &report.findings_removed)] {
        for finding in findings.iter().take(5) {
            out.line(format!("  {sign} {}: {}", finding.kind, finding.summary))?;
        }
    }
    let ratio = if old.micros_per_record > 0.0 { new.micros_per_record / old.micros_per_record } else { 0.0 };
    out.line(format!(
        "time per record: installed {:.2} µs, new {:.2} µs ({ratio:.2}×)",
        old.micros_per_record, new.micros_per_record
    ))?;
    if report.is_unchanged() {
        out.line("no difference")?;
    }
    Ok(())
}
