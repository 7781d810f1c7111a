//! `opsloop plugin new NAME | list | check FILE.wasm`: a new plugin crate to start from, what
//! plugins are loaded, and whether a component fits the contract and behaves on a sample batch.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{Out, UsageError};
use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::ingest::{Origin, Record};
use crate::pipeline::{PluginSet, record_batch};
use crate::plugin::{PluginDescription, PluginInstance, PluginRuntime, RecordColumns};

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a plugin crate (SDK dependency, an example analyzer, a native unit test).
    New(NewArgs),
    /// List the loaded plugins (built-in and from the plugins directory).
    List(ListArgs),
    /// Load a component, print what it says about itself, and run it on a sample batch.
    Check {
        /// The plugin component (`*.wasm`).
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's name (lowercase letters, digits and `-`), also the crate's.
    pub name: String,
    /// Where to create it (default: a directory named NAME here).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The `sdk/` directory of an opsloop checkout (default: the one this binary was built from).
    #[arg(long)]
    pub sdk: Option<PathBuf>,
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

const CARGO_TOML: &str = include_str!("scaffold/Cargo.toml.template");
const LIB_RS: &str = include_str!("scaffold/lib.rs.template");
const README: &str = include_str!("scaffold/README.md.template");

/// Writes a new plugin crate that builds to a component and tests natively.
fn scaffold(args: NewArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let name = &args.name;
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(UsageError(format!(
            "plugin name `{name}`: use lowercase letters, digits and `-`, starting with a letter"
        ))
        .into());
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    let sdk = args.sdk.unwrap_or(built_from);
    if !sdk.join("Cargo.toml").is_file() {
        return Err(UsageError(format!("no opsloop SDK at {} (pass --sdk PATH/TO/opsloop/sdk)", sdk.display())).into());
    }
    let sdk = std::fs::canonicalize(&sdk)?;
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        return Err(UsageError(format!("{} exists and is not empty", dir.display())).into());
    }
    let crate_file = name.replace('-', "_");
    let type_name: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect::<String>()
        + "Plugin";
    let fill = |template: &str| {
        template
            .replace("{crate_name}", name)
            .replace("{plugin_name}", name)
            .replace("{crate_file}", &crate_file)
            .replace("{type_name}", &type_name)
            .replace("{sdk_path}", &sdk.display().to_string().replace('\\', "/"))
    };
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join("Cargo.toml"), fill(CARGO_TOML))?;
    std::fs::write(dir.join("src/lib.rs"), fill(LIB_RS))?;
    std::fs::write(dir.join("README.md"), fill(README))?;
    std::fs::write(dir.join(".gitignore"), "/target\n")?;
    // The checkout's lock file pins the SDK's dependencies to the versions it is tested with.
    if let Some(lock) = sdk.parent().map(|root| root.join("Cargo.lock")).filter(|lock| lock.is_file()) {
        std::fs::copy(lock, dir.join("Cargo.lock"))?;
    }
    out.line(format!("created plugin `{name}` in {}", dir.display()))?;
    out.line(format!("  cd {} && cargo test", dir.display()))?;
    out.line("  cargo build --release --target wasm32-wasip2")?;
    out.line(format!("  opsloop plugin check target/wasm32-wasip2/release/{crate_file}.wasm"))?;
    Ok(ExitCode::SUCCESS)
}
