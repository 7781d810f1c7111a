//! The command line (clap): parse the arguments, resolve them into settings, run the command.
//!
//! Exit codes: 0 success, 1 failure, 2 usage error. Errors go to stderr with their cause
//! chain; a closed stdout pipe ends the command quietly.

mod alerts;
mod analyze;
mod cluster;
mod demo;
mod feedback;
mod import;
mod output;
mod patterns;
mod plugin;
mod plugin_new;
mod search;
mod serve;
mod similar;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::data_dir::DataDir;

pub use output::Out;
pub use search::parse_time;

/// opsloop: logs and bug reports in; sandboxed Wasm analyzers; search and feedback items out.
#[derive(Debug, Parser)]
#[command(name = "opsloop", version, about, propagate_version = true)]
pub struct Cli {
    /// The data directory (index, plugin state, configuration).
    #[arg(long, global = true, env = "OPSLOOP_DATA", default_value = "opsloop-data")]
    pub data: PathBuf,
    /// More log output on stderr: -v info, -vv opsloop's and its plugins' debug lines, -vvv every
    /// library's.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import log files (or `-` for stdin), run the plugins, index everything.
    Import(import::ImportArgs),
    /// Search the records (tantivy query syntax), newest first.
    Search(search::SearchArgs),
    /// The mined patterns: counts, first/last seen, level mix, examples.
    Patterns(patterns::PatternsArgs),
    /// Run plugins again over the stored records and reports (a backfill).
    Analyze(analyze::AnalyzeArgs),
    /// The reports most likely to be duplicates of one report, with the reasons.
    Similar(similar::SimilarArgs),
    /// The feedback report: items from report groups, log patterns and anomalies, by impact.
    Feedback(feedback::FeedbackArgs),
    /// Create, list or check plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Serve the HTTP API and the web page; `--watch` tails files into the index.
    ///
    /// Needs at least one API token of 16 characters or more: `OPSLOOP_TOKENS=role:token,...`
    /// (roles read, ingest, admin; e.g. `OPSLOOP_TOKENS=admin:$(openssl rand -hex 24)`) or
    /// `[[serve.tokens]]` in the config file. Limits and timeouts are the `[serve]` keys of
    /// opsloop.example.toml.
    Serve(serve::ServeArgs),
    /// A cluster of `serve --cluster` nodes: `cluster status`.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// What `serve` sent to alert receivers (Alertmanager, webhooks, Slack), and what waits.
    Alerts(alerts::AlertsArgs),
    /// The whole loop on bundled logs and bug reports: patterns, anomalies, report groups, feedback.
    Demo(demo::DemoArgs),
}

/// Runs the binary: the exit code says how it went.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    init_tracing(cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            if output::is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            if let Some(usage) = error.downcast_ref::<UsageError>() {
                eprintln!("error: {usage}");
                return ExitCode::from(2);
            }
            eprintln!("error: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, as `{:#}` prints them, without a cause whose text
/// the message before it already holds (errors that print their source in their own message).
fn error_chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn init_tracing(verbose: u8) {
    use std::io::IsTerminal;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        // opsloop's own lines and its plugins' (logged under opsloop's targets) at debug; the
        // engine's compiler and the index log every function or segment they touch, tens of
        // thousands of lines that would hide them, so they stay at info until -vvv.
        2 => "info,opsloop=debug",
        _ => "debug,cranelift_codegen=warn,cranelift_frontend=warn,wasmtime_cranelift=warn,regalloc2=warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPSLOOP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only where a person reads it: not in files, pipes or CI logs.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// A combination of arguments that cannot work (exit code 2, like clap's own usage errors).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let data_dir = DataDir::new(&cli.data);
    let reads_a_store = matches!(
        cli.command,
        Command::Search(_)
            | Command::Patterns(_)
            | Command::Similar(_)
            | Command::Feedback(_)
            | Command::Analyze(_)
            | Command::Alerts(_)
    );
    if reads_a_store && !data_dir.holds_data() {
        anyhow::bail!(
            "no opsloop data in {}: nothing was imported there (check --data or OPSLOOP_DATA; `opsloop import` creates it)",
            data_dir.root().display()
        );
    }
    // `plugin new` writes a project for its author, outside the data directory.
    if !matches!(cli.command, Command::Plugin(_)) {
        data_dir.keep_private().map_err(|error| anyhow::anyhow!("data directory {}: {error}", cli.data.display()))?;
    }
    let mut out = Out::stdout();
    match cli.command {
        Command::Import(args) => import::run(&data_dir, &load_settings(&data_dir)?, args, &mut out),
        Command::Search(args) => search::run(&data_dir, args, &mut out),
        Command::Patterns(args) => patterns::run(&data_dir, args, &mut out),
        Command::Analyze(args) => analyze::run(&data_dir, &load_settings(&data_dir)?, args, &mut out),
        Command::Plugin(command) => plugin::run(&data_dir, &load_settings(&data_dir)?, command, &mut out),
        Command::Demo(args) => demo::run(&data_dir, args, &mut out),
        Command::Similar(args) => similar::run(&data_dir, args, &mut out),
        Command::Feedback(args) => feedback::run(&data_dir, &load_settings(&data_dir)?, args, &mut out),
        Command::Serve(args) => serve::run(&data_dir, &load_settings(&data_dir)?, args),
        Command::Alerts(args) => alerts::run(&data_dir, args, &mut out),
        Command::Cluster(command) => cluster::run(&load_settings(&data_dir)?, command, &mut out),
    }
}

fn load_settings(data_dir: &DataDir) -> anyhow::Result<Settings> {
    Ok(Settings::load(&data_dir.config_file())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_the_message_already_holds_is_printed_once() {
        let inner = std::io::Error::other("lock busy");
        let error = anyhow::Error::new(inner).context("index: lock busy").context("nothing was changed");
        assert_eq!(error_chain(&error), "nothing was changed: index: lock busy");
        let plain = anyhow::anyhow!("disk full").context("cannot write x");
        assert_eq!(error_chain(&plain), "cannot write x: disk full");
    }
}
