//! Mining speed on the same 1M lines (the Loghub samples repeated with their numbers varied):
//! the patterns plugin natively and through Wasm (one 100k-record batch at a time, as an
//! import hands them over), and Drain3 (PyPI `drain3`, default settings) run by
//! `benches/drain3_baseline.py` on the same lines in the same run.
//!
//! Run: `cargo bench --bench miner_speed` (needs `pip install drain3` for the baseline;
//! without it the Drain3 row says so). `OPSLOOP_BENCH_RECORDS=N` changes the size.

#[path = "corpus.rs"]
mod corpus;

use std::process::Command;
use std::time::Instant;

use opsloop::pipeline::record_batch;
use opsloop::plugin::{PluginInstance, PluginLimits, PluginRuntime, builtin_plugin};
use opsloop_plugin_patterns::PatternsPlugin;
use opsloop_sdk::{Config, LogBatch, Plugin};

const BATCH: usize = 100_000;

fn main() {
    let count: usize = std::env::var("OPSLOOP_BENCH_RECORDS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let lines = corpus::loghub_lines(count);

    // Both sides get their batches built before the clock starts, so each times the mining alone.
    let native_batches: Vec<LogBatch> =
        lines.chunks(BATCH).map(|chunk| LogBatch::from_messages(chunk.iter().map(String::as_str))).collect();
    let started = Instant::now();
    let mut native = PatternsPlugin::init(&Config::default(), None).unwrap();
    for batch in &native_batches {
        std::hint::black_box(native.process_logs(batch).unwrap());
    }
    let native_seconds = started.elapsed().as_secs_f64();
    drop(native_batches);
    let patterns = native.miner().patterns().len();

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
    let wasm_seconds = started.elapsed().as_secs_f64();

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), lines.join("\n")).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/drain3_baseline.py");
    let drain3 = Command::new("python3").arg(&script).arg(file.path()).output();

    println!("## mining speed: {count} lines\n");
    println!("| miner | seconds | lines/s | patterns | vs Drain3 |");
    println!("|---|---|---|---|---|");
    let drain3_seconds = match &drain3 {
        Ok(output) if output.status.success() => {
            let text = String::from_utf8_lossy(&output.stdout);
            let fields: Vec<&str> = text.split_whitespace().collect();
            let seconds: f64 = fields[1].parse().unwrap();
            println!(
                "| Drain3 0.9.x, default settings (Python) | {seconds:.1} | {:.0} k | {} | baseline |",
                count as f64 / seconds / 1e3,
                fields[2]
            );
            Some(seconds)
        }
        Ok(output) => {
            println!(
                "| Drain3 | — | — | — | not run: {} (`pip install drain3`) |",
                String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("failed")
            );
            None
        }
        Err(error) => {
            println!("| Drain3 | — | — | — | not run: python3: {error} |");
            None
        }
    };
    let ratio = |seconds: f64| {
        drain3_seconds.map_or("—".to_string(), |baseline| format!("{:.0}× faster", baseline / seconds))
    };
    println!(
        "| opsloop patterns, native | {native_seconds:.2} | {:.2} M | {patterns} | {} |",
        count as f64 / native_seconds / 1e6,
        ratio(native_seconds)
    );
    println!(
        "| opsloop patterns, Wasm (through the host) | {wasm_seconds:.2} | {:.2} M | {patterns} | {} |",
        count as f64 / wasm_seconds / 1e6,
        ratio(wasm_seconds)
    );
}
