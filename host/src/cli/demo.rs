//! `opsloop demo`: the main job on bundled sample logs (three Loghub 2k sets): import them
//! through the plugins into a fresh `<data>/demo` directory, show the most frequent patterns
//! per source and a search, and say how to go on exploring.

use std::process::ExitCode;

use clap::Args;

use super::Out;
use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::index::{LogIndex, SearchRequest};
use crate::ingest::{Format, ParseOptions};
use crate::pipeline::{FindingStore, ImportOptions, ImportSource, PluginSet, import};

/// The bundled samples: (file name, bytes). Loghub, research use; see tests/data/README.md.
const SAMPLES: &[(&str, &[u8])] = &[
    ("HDFS_2k.log", include_bytes!("../../../tests/data/loghub2k/HDFS/HDFS_2k.log")),
    ("OpenSSH_2k.log", include_bytes!("../../../tests/data/loghub2k/OpenSSH/OpenSSH_2k.log")),
    ("Spark_2k.log", include_bytes!("../../../tests/data/loghub2k/Spark/Spark_2k.log")),
];

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The query the demo searches for.
    #[arg(long, default_value = "exception OR error OR failed")]
    pub query: String,
}

pub fn run(data_dir: &DataDir, args: DemoArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let demo_dir = DataDir::new(data_dir.root().join("demo"));
    if demo_dir.index_dir().exists() {
        std::fs::remove_dir_all(demo_dir.index_dir())?;
    }
    let _ = std::fs::remove_dir_all(demo_dir.plugin_state_dir());
    let _ = std::fs::remove_file(demo_dir.findings_file());
    out.line(format!(
        "opsloop demo: importing {} bundled Loghub samples into {}",
        SAMPLES.len(),
        demo_dir.root().display()
    ))?;
    let index = LogIndex::open(&demo_dir.index_dir())?;
    let (mut plugins, errors) = PluginSet::load(&demo_dir, &Settings::default())?;
    if let Some(error) = errors.first() {
        anyhow::bail!("a built-in plugin failed to load: {error}");
    }
    let names: Vec<&str> = plugins.plugins().iter().map(|plugin| plugin.name()).collect();
    out.line(format!("plugins: {}", names.join(", ")))?;
    let sources = SAMPLES
        .iter()
        .map(|(name, bytes)| ImportSource::Bytes { name: name.to_string(), bytes: bytes.to_vec() })
        .collect();
    let options = ImportOptions {
        parse: ParseOptions { format: Format::Auto, ..ParseOptions::default() },
        ..ImportOptions::default()
    };
    let findings = FindingStore::new(demo_dir.findings_file());
    let summary = import(&index, &mut plugins, &findings, sources, &options, None)?;
    super::import::print_summary(&summary, out)?;

    for (name, _) in SAMPLES {
        let source = crate::ingest::default_source(name);
        let patterns = index.patterns(Some(&source))?;
        out.line(format!("\n{source}: {} patterns; the most frequent:", patterns.len()))?;
        for stats in patterns.iter().take(4) {
            out.line(format!("  {:>5}  {}  {}", stats.count, stats.pattern, stats.template))?;
        }
    }
    let request = SearchRequest { query: args.query.clone(), limit: Some(5), ..SearchRequest::default() };
    let total = index.count(&request)?;
    out.line(format!("\nsearch `{}`: {total} records; the first 5 as JSON:", args.query))?;
    for hit in index.search(&request)? {
        out.line(hit.to_json().to_string())?;
    }
    let data = demo_dir.root().display();
    out.line(format!("\nexplore: opsloop --data {data} search 'pattern:<id>' --format json"))?;
    out.line(format!("         opsloop --data {data} search 'level:WARN OR Invalid' --limit 10"))?;
    out.line(format!("         opsloop --data {data} patterns --source OpenSSH_2k"))?;
    Ok(ExitCode::SUCCESS)
}
