//! Import throughput: the same synthetic corpus (1M timestamped lines by default) indexed
//! twice, each in its own child process so peak memory is its own:
//! - through opsloop's whole import path (detection, parsing, multi-line check, the built-in
//!   patterns plugin in Wasm, checkpoints, commits), and
//! - through a minimal bare-tantivy loop with the same schema (`corpus::bare_tantivy_index`).
//!
//! Run: `cargo bench --bench import_throughput` (`OPSLOOP_BENCH_RECORDS=N` to change the size).

#[path = "corpus.rs"]
mod corpus;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use opsloop::config::Settings;
use opsloop::data_dir::DataDir;
use opsloop::index::LogIndex;
use opsloop::pipeline::{FindingStore, ImportOptions, ImportSource, PluginSet, import};

/// Both halves run with the allocator the `opsloop` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn opsloop_path(corpus: &Path, data: &Path) -> u64 {
    let data_dir = DataDir::new(data);
    let index = LogIndex::open(&data_dir.index_dir()).unwrap();
    let (mut plugins, errors) = PluginSet::load(&data_dir, &Settings::default()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let findings = FindingStore::new(data_dir.findings_file());
    let summary = import(
        &index,
        &mut plugins,
        &findings,
        vec![ImportSource::Path(corpus.into())],
        &ImportOptions::default(),
        None,
    )
    .unwrap();
    assert!(summary.plugin_failures.is_empty(), "{:?}", summary.plugin_failures);
    summary.records
}

/// In a child: runs one path and prints `records seconds peak_mb`.
fn child(part: &str, corpus: &Path, data: &Path) {
    let started = Instant::now();
    let records = match part {
        "opsloop" => opsloop_path(corpus, data),
        _ => corpus::bare_tantivy_index(corpus, data, 256 << 20),
    };
    println!("{records} {} {}", started.elapsed().as_secs_f64(), corpus::peak_rss_mb());
}

fn main() {
    if let Ok(part) = std::env::var("OPSLOOP_BENCH_PART") {
        let corpus = std::env::var("OPSLOOP_BENCH_CORPUS").unwrap();
        let data = std::env::var("OPSLOOP_BENCH_DATA").unwrap();
        return child(&part, Path::new(&corpus), Path::new(&data));
    }
    let records: usize = std::env::var("OPSLOOP_BENCH_RECORDS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.log");
    let bytes = corpus::write_timestamped_log(&corpus, records);
    // Warm the built-in plugin's compiled-artifact cache so neither run pays for Cranelift.
    let warm = dir.path().join("warm");
    let _ = PluginSet::load(&DataDir::new(&warm), &Settings::default()).unwrap();
    let mut results = Vec::new();
    for part in ["bare", "opsloop"] {
        let data = dir.path().join(part);
        if part == "opsloop" {
            std::fs::create_dir_all(&data).unwrap();
            std::fs::rename(warm.join("plugin-cache"), data.join("plugin-cache")).unwrap();
        }
        let output = Command::new(std::env::current_exe().unwrap())
            .env("OPSLOOP_BENCH_PART", part)
            .env("OPSLOOP_BENCH_CORPUS", &corpus)
            .env("OPSLOOP_BENCH_DATA", &data)
            .output()
            .unwrap();
        assert!(output.status.success(), "{part}: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout).unwrap();
        let fields: Vec<f64> = text.split_whitespace().map(|value| value.parse().unwrap()).collect();
        assert_eq!(fields[0] as usize, records, "{part} indexed every record");
        results.push((part, fields[1], fields[2]));
    }
    let bare_rate = records as f64 / results[0].1;
    println!("## import throughput: {records} records, {:.0} MB of text\n", bytes as f64 / 1e6);
    println!("| path | seconds | records/s | MB/s | peak RSS | rate vs bare tantivy |");
    println!("|---|---|---|---|---|---|");
    for (part, seconds, peak) in &results {
        let name = if *part == "bare" {
            "bare tantivy loop, same schema"
        } else {
            "opsloop import (parse + patterns plugin in Wasm + checkpoints)"
        };
        let rate = records as f64 / seconds;
        println!(
            "| {name} | {seconds:.2} | {:.0} k | {:.1} | {peak:.0} MB | {:.2}× |",
            rate / 1e3,
            bytes as f64 / 1e6 / seconds,
            rate / bare_rate
        );
    }
}
