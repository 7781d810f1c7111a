//! Template-mining accuracy on Loghub 2k (8 systems, corrected ground truth): each system's
//! `Content` column is imported through the real import path (`--format raw`, the built-in
//! patterns plugin in Wasm), and the `pattern` and `template` annotations are scored:
//! - grouping accuracy (GA): a line is right when the lines sharing its predicted pattern are
//!   exactly the lines sharing its true template;
//! - parsing accuracy (PA): a line is right when its template equals the true one (white space
//!   runs compared as one space).
//!
//! Reads `../shared/data/loghub2k` when present, else the copy in `tests/data`.
//! Run: `cargo bench --bench pattern_accuracy`

#[path = "loghub_scoring.rs"]
mod loghub_scoring;

use std::collections::HashMap;
use std::path::PathBuf;

use loghub_scoring::{load_system, score};

use opsloop::config::Settings;
use opsloop::data_dir::DataDir;
use opsloop::index::{LogIndex, SearchRequest};
use opsloop::ingest::{Format, ParseOptions};
use opsloop::pipeline::{FindingStore, ImportOptions, ImportSource, PluginSet, import};

const SYSTEMS: &[&str] = &["HDFS", "Hadoop", "Spark", "Windows", "Linux", "HealthApp", "OpenSSH", "Mac"];

fn data_root() -> (PathBuf, &'static str) {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/loghub2k");
    if shared.is_dir() {
        (shared, "../shared/data/loghub2k")
    } else {
        (
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/loghub2k"),
            "tests/data/loghub2k (shared/ not found)",
        )
    }
}

fn main() {
    let (root, described) = data_root();
    println!("## template mining on Loghub 2k ({described})\n");
    println!("| system | lines | true templates | patterns | GA | PA |");
    println!("|---|---|---|---|---|---|");
    let (mut ga_sum, mut pa_sum) = (0.0, 0.0);
    for system in SYSTEMS {
        let (lines, truth) = load_system(&root, system);
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let index = LogIndex::open(&data.index_dir()).unwrap();
        let (mut plugins, errors) = PluginSet::load(&data, &Settings::default()).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let options = ImportOptions {
            parse: ParseOptions { format: Format::Raw, ..ParseOptions::default() },
            ..ImportOptions::default()
        };
        let source = ImportSource::Bytes { name: format!("{system}.log"), bytes: lines.join("\n").into_bytes() };
        let summary =
            import(&index, &mut plugins, &FindingStore::new(data.findings_file()), vec![source], &options, None)
                .unwrap();
        assert!(summary.plugin_failures.is_empty());
        // Empty contents are rejected by the import; score them as their own (wrong) group.
        let mut by_line: HashMap<u64, (String, String)> = HashMap::new();
        for hit in index.search(&SearchRequest { query: "*".into(), ..SearchRequest::default() }).unwrap() {
            let annotations = &hit.record.annotations;
            by_line.insert(
                hit.record.origin.line,
                (annotations["pattern"].to_string(), annotations["template"].to_string()),
            );
        }
        let predicted: Vec<(String, String)> = (1..=lines.len() as u64)
            .map(|line| by_line.remove(&line).unwrap_or_else(|| (format!("missing-{line}"), String::new())))
            .collect();
        let (ga, pa) = score(&predicted, &truth);
        let distinct_true = truth.iter().collect::<std::collections::HashSet<_>>().len();
        let distinct_predicted = predicted.iter().map(|(p, _)| p).collect::<std::collections::HashSet<_>>().len();
        println!("| {system} | {} | {distinct_true} | {distinct_predicted} | {ga:.3} | {pa:.3} |", lines.len());
        ga_sum += ga;
        pa_sum += pa;
    }
    let n = SYSTEMS.len() as f64;
    println!("| **average** | | | | **{:.3}** | **{:.3}** |", ga_sum / n, pa_sum / n);
}
