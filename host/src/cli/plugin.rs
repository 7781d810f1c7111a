//! `opsloop plugin list | check FILE.wasm`: what plugins are loaded, and whether a component
//! fits the contract and behaves on a sample batch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::Out;
use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::ingest::{Origin, Record};
use crate::pipeline::{PluginSet, record_batch};
use crate::plugin::{PluginDescription, PluginInstance, PluginRuntime, RecordColumns};

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List the loaded plugins (built-in and from the plugins directory).
    List(ListArgs),
    /// Load a component, print what it says about itself, and run it on a sample batch.
    Check {
        /// The plugin component (`*.wasm`).
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a table, or one JSON object per plugin.
    #[arg(long, value_enum, default_value = "text")]
    pub format: super::search::HitFormat,
}

pub fn run(data_dir: &DataDir, settings: &Settings, command: PluginCommand, out: &mut Out) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::List(args) => {
            let (plugins, errors) = PluginSet::load(data_dir, settings)?;
            for plugin in plugins.plugins() {
                let description = plugin.description();
                match args.format {
                    super::search::HitFormat::Json => out.line(serde_json::to_string(description)?)?,
                    super::search::HitFormat::Text => out.line(describe_line(description))?,
                }
            }
            for error in &errors {
                eprintln!("error: {error}");
            }
            Ok(if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        PluginCommand::Check { file } => check(settings, &file, out),
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

fn check(settings: &Settings, file: &PathBuf, out: &mut Out) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).map_err(|error| anyhow::anyhow!("cannot read {}: {error}", file.display()))?;
    let runtime = PluginRuntime::new(settings.plugins.limits.clone(), None)?;
    let plugin = runtime.load(&file.display().to_string(), &bytes)?;
    out.line(describe_line(plugin.description()))?;
    let sample: Vec<Record> = ["service started on port 8080", "user 42 logged in", "disk /dev/sda1 is 91% full"]
        .iter()
        .enumerate()
        .map(|(index, message)| {
            Record::new("check", message.to_string(), Origin { file: "sample".into(), line: index as u64 + 1 })
        })
        .collect();
    let indices: Vec<usize> = (0..sample.len()).collect();
    let wanted: RecordColumns = plugin.wanted_columns();
    let mut instance = PluginInstance::new(plugin.clone(), settings.plugin_config(plugin.name()), None);
    if plugin.description().consumes_logs {
        let output = instance.process_logs(&record_batch(&sample, &indices, wanted))?;
        let keys: Vec<&str> = output.annotations.iter().map(|column| column.key.as_str()).collect();
        out.line(format!(
            "ok: a {}-record sample batch returned annotations [{}] and {} finding(s)",
            sample.len(),
            keys.join(","),
            output.findings.len()
        ))?;
    } else {
        out.line("ok: loads and describes itself (it consumes no logs, so no sample batch was run)")?;
    }
    Ok(ExitCode::SUCCESS)
}
