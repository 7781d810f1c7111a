//! Import throughput: the same synthetic corpus (1M timestamped lines by default) indexed
//! twice, each in its own child process so peak memory is its own:
//! - through opsloop's whole import path (detection, parsing, multi-line check, the built-in
//!   patterns plugin in Wasm, checkpoints, commits), and
//! - through a minimal bare-tantivy loop with the same schema (`corpus::bare_tantivy_index`).
//!
//! Both run in each of several rounds (`OPSLOOP_BENCH_ROUNDS`, default 5), back to back, and the
//! ratio is the median round's. Each round also imports the random-word corpus
//! (`corpus::random_word_lines`, timestamped the same way) through the opsloop path, and sets
//! its rate against the Loghub-like one of the same round: the cost cliff of a stream with no
//! repeating structure.
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

/// Runs one path in a child process on a fresh data directory; returns (seconds, peak MB).
fn run_child(part: &str, corpus: &Path, data: &Path, records: usize) -> (f64, f64) {
    let output = Command::new(std::env::current_exe().unwrap())
        .env("OPSLOOP_BENCH_PART", part)
        .env("OPSLOOP_BENCH_CORPUS", corpus)
        .env("OPSLOOP_BENCH_DATA", data)
        .output()
        .unwrap();
    assert!(output.status.success(), "{part}: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let fields: Vec<f64> = text.split_whitespace().map(|value| value.parse().unwrap()).collect();
    assert_eq!(fields[0] as usize, records, "{part} indexed every record");
    (fields[1], fields[2])
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2.0 }
}

fn main() {
    if let Ok(part) = std::env::var("OPSLOOP_BENCH_PART") {
        let corpus = std::env::var("OPSLOOP_BENCH_CORPUS").unwrap();
        let data = std::env::var("OPSLOOP_BENCH_DATA").unwrap();
        return child(&part, Path::new(&corpus), Path::new(&data));
    }
    let records: usize = std::env::var("OPSLOOP_BENCH_RECORDS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    // A shared machine's speed drifts between runs by more than the gap measured here, so each
    // round runs both paths back to back (alternating which goes first) and the ratio is read
    // per round; the figure is the median round.
    let rounds: usize = std::env::var("OPSLOOP_BENCH_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(5).max(1);
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.log");
    let bytes = corpus::write_timestamped_log(&corpus, records);
    let hard_corpus = dir.path().join("random-words.log");
    let hard_bytes = corpus::write_timestamped_random_words(&hard_corpus, records);
    let logcat_corpus = dir.path().join("logcat.log");
    corpus::write_logcat_log(&logcat_corpus, records);
    // Warm the built-in plugin's compiled-artifact cache so no run pays for Cranelift.
    let warm = dir.path().join("warm");
    let _ = PluginSet::load(&DataDir::new(&warm), &Settings::default()).unwrap();
    let mut runs: Vec<(&str, f64, f64)> = Vec::new();
    let mut ratios = Vec::new();
    let mut hard_ratios = Vec::new();
    let mut logcat_ratios = Vec::new();
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            ["bare", "opsloop", "random words", "logcat"]
        } else {
            ["logcat", "random words", "opsloop", "bare"]
        };
        let mut seconds_of = std::collections::HashMap::new();
        for part in order {
            let data = dir.path().join(format!("{part}-{round}"));
            if part != "bare" {
                let cache = data.join("plugin-cache");
                std::fs::create_dir_all(&cache).unwrap();
                for entry in std::fs::read_dir(warm.join("plugin-cache")).unwrap() {
                    let entry = entry.unwrap();
                    std::fs::copy(entry.path(), cache.join(entry.file_name())).unwrap();
                }
            }
            let (seconds, peak) = match part {
                "random words" => run_child("opsloop", &hard_corpus, &data, records),
                "logcat" => run_child("opsloop", &logcat_corpus, &data, records),
                _ => run_child(part, &corpus, &data, records),
            };
            std::fs::remove_dir_all(&data).unwrap();
            seconds_of.insert(part, seconds);
            runs.push((part, seconds, peak));
        }
        ratios.push(seconds_of["bare"] / seconds_of["opsloop"]);
        hard_ratios.push(seconds_of["opsloop"] / seconds_of["random words"]);
        logcat_ratios.push(seconds_of["opsloop"] / seconds_of["logcat"]);
    }
    println!("## import throughput: {records} records, {:.0} MB of text, {rounds} rounds\n", bytes as f64 / 1e6);
    println!("| path | seconds (median) | records/s | MB/s | peak RSS | rate vs bare tantivy (median round) |");
    println!("|---|---|---|---|---|---|");
    for part in ["bare", "opsloop"] {
        let name = if part == "bare" {
            "bare tantivy loop, same schema"
        } else {
            "opsloop import (parse + patterns plugin in Wasm + checkpoints)"
        };
        let seconds = median(runs.iter().filter(|run| run.0 == part).map(|run| run.1).collect());
        let peak = runs.iter().filter(|run| run.0 == part).map(|run| run.2).fold(0.0, f64::max);
        let ratio = if part == "bare" { 1.0 } else { median(ratios.clone()) };
        let rate = records as f64 / seconds;
        println!(
            "| {name} | {seconds:.2} | {:.0} k | {:.1} | {peak:.0} MB | {ratio:.2}× |",
            rate / 1e3,
            bytes as f64 / 1e6 / seconds,
        );
    }
    let listed: Vec<String> = ratios.iter().map(|ratio| format!("{ratio:.2}×")).collect();
    println!("\nrate vs bare tantivy per round: {}", listed.join(", "));

    print_corpus_against(
        &format!(
            "the same import on the random-word corpus: {records} records, {:.0} MB of text",
            hard_bytes as f64 / 1e6
        ),
        ("random words (`WARN worker-1 disk miss hit read id=827036 seq=12`)", "the Loghub-like corpus"),
        &runs,
        ("random words", records),
        &hard_ratios,
    );
    print_corpus_against(
        "the same lines with a time the header format learns (Android logcat's header)",
        ("`05-01 10:00:00.000  1702  2395 INFO …`", "the same lines with an RFC 3339 time"),
        &runs,
        ("logcat", records),
        &logcat_ratios,
    );
}

/// A section for one more corpus imported in the same rounds: its median time, rate and peak
/// memory, and its rate against the Loghub-like corpus's, round by round.
fn print_corpus_against(
    heading: &str,
    (corpus, against): (&str, &str),
    runs: &[(&str, f64, f64)],
    (part, records): (&str, usize),
    ratios: &[f64],
) {
    let seconds = median(runs.iter().filter(|run| run.0 == part).map(|run| run.1).collect());
    let peak = runs.iter().filter(|run| run.0 == part).map(|run| run.2).fold(0.0, f64::max);
    println!("\n## {heading}\n");
    println!("| corpus | seconds (median) | records/s | peak RSS | rate vs {against} (median round) |");
    println!("|---|---|---|---|---|");
    println!(
        "| {corpus} | {seconds:.2} | {:.0} k | {peak:.0} MB | {:.2}× |",
        records as f64 / seconds / 1e3,
        median(ratios.to_vec())
    );
    let listed: Vec<String> = ratios.iter().map(|ratio| format!("{ratio:.2}×")).collect();
    println!("\n{part} vs {against}, per round: {}", listed.join(", "));
}
