//! Mining speed on three corpora of 1M lines each, in the same run:
//! - `loghub`: the Loghub samples repeated with their numbers varied;
//! - `random words`: short lines of a few common words in random order, so nearly every line
//!   is a new sequence of words (the case where a miner comparing a message with every
//!   template of its bucket slows down as templates pile up);
//! - `varied lengths`: the Loghub lines with every run of digits given a random length, so the
//!   miner's shape lookup mostly misses.
//!
//! Each corpus runs through the patterns plugin natively and through Wasm (one 100k-record
//! batch at a time, as an import hands them over), and through Drain3 (PyPI `drain3`, default
//! settings, `benches/drain3_baseline.py`). The last column is each rate against the same
//! runtime's rate on the Loghub corpus.
//!
//! Run: `cargo bench --bench miner_speed` (needs `pip install drain3` for the baseline;
//! without it the Drain3 rows say so). `OPSLOOP_BENCH_RECORDS=N` changes the size.

#[path = "corpus.rs"]
mod corpus;

use std::process::Command;
use std::time::Instant;

use opsloop::pipeline::record_batch;
use opsloop::plugin::{PluginInstance, PluginLimits, PluginRuntime, builtin_plugin};
use opsloop_plugin_patterns::PatternsPlugin;
use opsloop_sdk::{Config, LogBatch, Plugin};

const BATCH: usize = 100_000;

/// Seconds and live patterns of the plugin run natively over `lines`.
fn native(lines: &[String]) -> (f64, usize) {
    // The batches are built before the clock starts, so the time is the mining alone.
    let batches: Vec<LogBatch> =
        lines.chunks(BATCH).map(|chunk| LogBatch::from_messages(chunk.iter().map(String::as_str))).collect();
    let started = Instant::now();
    let mut plugin = PatternsPlugin::init(&Config::default(), None).unwrap();
    for batch in &batches {
        std::hint::black_box(plugin.process_logs(batch).unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    let miner = plugin.miner();
    (seconds, (0..miner.patterns().len()).filter(|&index| miner.resolve(index) == index).count())
}

/// Seconds of the built-in plugin in Wasm over `lines`.
fn wasm(lines: &[String]) -> f64 {
    let runtime = PluginRuntime::new(PluginLimits { timeout_ms: 60_000, ..PluginLimits::default() }, None).unwrap();
    let plugin = runtime.load("patterns", builtin_plugin("patterns").unwrap()).unwrap();
    let mut instance = PluginInstance::new(plugin.clone(), Vec::new(), None);
    instance.warm_up().unwrap();
    let batches: Vec<_> = lines
        .chunks(BATCH)
        .map(|chunk| {
            let records = corpus::records_of(chunk);
            let indices: Vec<usize> = (0..records.len()).collect();
            record_batch(&records, &indices, plugin.wanted_columns())
        })
        .collect();
    let started = Instant::now();
    for batch in &batches {
        std::hint::black_box(instance.process_logs(batch).unwrap());
    }
    started.elapsed().as_secs_f64()
}

/// Seconds and clusters of Drain3 over `lines`, or why it did not run.
fn drain3(lines: &[String]) -> Result<(f64, String), String> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), lines.join("\n")).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/drain3_baseline.py");
    let output =
        Command::new("python3").arg(&script).arg(file.path()).output().map_err(|error| format!("python3: {error}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("{} (`pip install drain3`)", stderr.lines().last().unwrap_or("failed")));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    Ok((fields[1].parse().unwrap(), fields[2].to_string()))
}

fn main() {
    let count: usize = std::env::var("OPSLOOP_BENCH_RECORDS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let corpora = [
        ("loghub", corpus::loghub_lines(count)),
        ("random words", corpus::random_word_lines(count)),
        ("varied lengths", corpus::varied_length_lines(count)),
    ];
    println!("## mining speed: {count} lines per corpus\n");
    println!("| corpus | miner | seconds | lines/s | patterns | vs Drain3 | vs its Loghub rate |");
    println!("|---|---|---|---|---|---|---|");
    // The Loghub rate of each runtime, which the hard corpora are set against.
    let (mut loghub_native, mut loghub_wasm, mut loghub_drain3) = (None, None, None);
    let mut not_run = Vec::new();
    for (name, lines) in &corpora {
        let (native_seconds, patterns) = native(lines);
        let wasm_seconds = wasm(lines);
        let drain3 = drain3(lines);
        let rate = |seconds: f64| count as f64 / seconds;
        let against = |loghub: &mut Option<f64>, seconds: f64| {
            let rate = rate(seconds);
            match *loghub {
                None => {
                    *loghub = Some(rate);
                    "1×".to_string()
                }
                Some(base) => format!("{:.2}×", rate / base),
            }
        };
        let versus_drain3 = |seconds: f64| match &drain3 {
            Ok((baseline, _)) => format!("{:.0}× faster", baseline / seconds),
            Err(_) => "—".to_string(),
        };
        match &drain3 {
            Ok((seconds, clusters)) => println!(
                "| {name} | Drain3 0.9.x, default settings (Python) | {seconds:.1} | {:.0} k | {clusters} | baseline | {} |",
                rate(*seconds) / 1e3,
                against(&mut loghub_drain3, *seconds)
            ),
            Err(why) => not_run.push(format!("Drain3 on {name}: {why}")),
        }
        println!(
            "| {name} | opsloop patterns, native | {native_seconds:.2} | {:.2} M | {patterns} | {} | {} |",
            rate(native_seconds) / 1e6,
            versus_drain3(native_seconds),
            against(&mut loghub_native, native_seconds)
        );
        println!(
            "| {name} | opsloop patterns, Wasm (through the host) | {wasm_seconds:.2} | {:.2} M | {patterns} | {} | {} |",
            rate(wasm_seconds) / 1e6,
            versus_drain3(wasm_seconds),
            against(&mut loghub_wasm, wasm_seconds)
        );
    }
    for line in not_run {
        println!("not run: {line}");
    }
}
