//! Plugin runtime costs, each against its baseline in the same run:
//! - instantiation: cold compile vs loading the cached artifact vs a fresh instance from the
//!   `InstancePre` (what every partition and every restart after a trap pays);
//! - the patterns plugin over one 100k-record batch, natively (the same crate linked as a Rust
//!   library) vs through Wasm (lowering the columnar batch, the guest's work, lifting the
//!   dictionary-encoded answer), timed in alternating pairs so the ratio is read per pair;
//! - the same analyzer (`keywords`) in Rust, Python (componentize-py) and JavaScript
//!   (componentize-js): load time with and without the artifact cache, and the cost per record
//!   of a 10k-record batch, against Rust's.
//!
//! Run: `cargo bench --bench plugin_runtime` (prints a markdown table).

#[path = "corpus.rs"]
mod corpus;

#[path = "../tests/languages/components.rs"]
mod components;

/// Paths of the test plugin components built by the suite's build script (this uses `NOOP`
/// and `KEYWORDS`).
#[allow(dead_code)]
mod test_plugins {
    include!(concat!(env!("OUT_DIR"), "/test_plugins.rs"));
}

use std::time::{Duration, Instant};

use opsloop::pipeline::record_batch;
use opsloop::plugin::{PluginInstance, PluginLimits, PluginRuntime, builtin_plugin};
use opsloop_plugin_patterns::PatternsPlugin;
use opsloop_sdk::{Config, LogBatch, Plugin};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut work: impl FnMut() -> T) -> Duration {
    let _ = work(); // warm-up
    median(
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(work());
                started.elapsed()
            })
            .collect(),
    )
}

/// Medians of two workloads timed in pairs, and the median of the per-pair ratios `wasm / native`.
struct Paired {
    native: Duration,
    wasm: Duration,
    ratio: f64,
}

/// Times `native` and `wasm` back to back, `runs` pairs, alternating which goes first: this
/// machine's speed drifts by a third between minutes, and a drift then hits both sides of a
/// pair alike instead of one side's whole block of runs.
fn paired<A, B>(runs: usize, mut native: impl FnMut() -> A, mut wasm: impl FnMut() -> B) -> Paired {
    let _ = (native(), wasm()); // warm-up
    let timed = |work: &mut dyn FnMut()| {
        let started = Instant::now();
        work();
        started.elapsed()
    };
    let mut pairs: Vec<(Duration, Duration)> = Vec::with_capacity(runs);
    for run in 0..runs {
        let mut native_run = || drop(std::hint::black_box(native()));
        let mut wasm_run = || drop(std::hint::black_box(wasm()));
        pairs.push(if run % 2 == 0 {
            let first = timed(&mut native_run);
            (first, timed(&mut wasm_run))
        } else {
            let first = timed(&mut wasm_run);
            (timed(&mut native_run), first)
        });
    }
    let mut ratios: Vec<f64> = pairs.iter().map(|(n, w)| w.as_secs_f64() / n.as_secs_f64()).collect();
    ratios.sort_by(f64::total_cmp);
    Paired {
        native: median(pairs.iter().map(|p| p.0).collect()),
        wasm: median(pairs.iter().map(|p| p.1).collect()),
        ratio: ratios[ratios.len() / 2],
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Load times and per-record cost of one `keywords` component.
struct LanguageCost {
    language: &'static str,
    bytes: usize,
    compile: Duration,
    cached: Duration,
    per_batch: Duration,
}

fn language_cost(language: &'static str, wasm: &[u8], records: &[opsloop::ingest::Record]) -> LanguageCost {
    let limits = PluginLimits { timeout_ms: 60_000, ..PluginLimits::default() };
    let cache = tempfile::tempdir().unwrap();
    let uncached = PluginRuntime::new(limits.clone(), None).unwrap();
    let compile = time(2, || uncached.load(language, wasm).unwrap());
    let cached_runtime = PluginRuntime::new(limits, Some(cache.path().to_path_buf())).unwrap();
    cached_runtime.load(language, wasm).unwrap();
    let cached = time(10, || cached_runtime.load(language, wasm).unwrap());
    let plugin = cached_runtime.load(language, wasm).unwrap();
    let indices: Vec<usize> = (0..records.len()).collect();
    let batch = record_batch(records, &indices, plugin.wanted_columns());
    let mut instance = PluginInstance::new(plugin, Vec::new(), None);
    let per_batch = time(7, || instance.process_logs(&batch).unwrap());
    LanguageCost { language, bytes: wasm.len(), compile, cached, per_batch }
}

fn print_language_costs(costs: &[LanguageCost], records: usize) {
    println!("## the `keywords` analyzer in three languages, one batch of {records} records\n");
    println!("| language | component | load: compile | load: cached artifact | per record | vs Rust |");
    println!("|---|---|---|---|---|---|");
    let rust = costs[0].per_batch.as_secs_f64();
    for cost in costs {
        println!(
            "| {} | {:.1} MB | {:.0} ms | {:.1} ms | {:.2} µs | {:.1}× |",
            cost.language,
            cost.bytes as f64 / 1e6,
            ms(cost.compile),
            ms(cost.cached),
            cost.per_batch.as_secs_f64() * 1e6 / records as f64,
            cost.per_batch.as_secs_f64() / rust
        );
    }
    println!();
}

fn main() {
    // The same analyzer in three languages (components built once, cached under target/).
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = workspace.join("target/language-fixtures");
    let language_lines = corpus::loghub_lines(10_000);
    let language_records = corpus::records_of(&language_lines);
    let costs: Vec<LanguageCost> = [
        ("Rust", std::path::PathBuf::from(test_plugins::KEYWORDS)),
        ("Python", components::python_component(workspace, &fixtures)),
        ("JavaScript", components::js_component(workspace, &fixtures, true)),
    ]
    .into_iter()
    .map(|(language, path)| language_cost(language, &std::fs::read(path).unwrap(), &language_records))
    .collect();

    let wasm = builtin_plugin("patterns").expect("the built-in patterns plugin");
    let limits = PluginLimits { timeout_ms: 60_000, ..PluginLimits::default() };
    let cache = tempfile::tempdir().unwrap();

    // Instantiation paths.
    let uncached = PluginRuntime::new(limits.clone(), None).unwrap();
    let cold = time(5, || uncached.compile("patterns", wasm).unwrap());
    let cached_runtime = PluginRuntime::new(limits.clone(), Some(cache.path().to_path_buf())).unwrap();
    cached_runtime.compile("patterns", wasm).unwrap();
    let cached = time(20, || cached_runtime.compile("patterns", wasm).unwrap());
    let plugin = cached_runtime.load("patterns", wasm).unwrap();
    let pre = time(200, || {
        let mut instance = PluginInstance::new(plugin.clone(), Vec::new(), None);
        instance.warm_up().unwrap();
        instance
    });

    // 100k records, natively and through Wasm; both start from a fresh plugin each run. Neither
    // takes a snapshot: the host asks for one per commit, not per batch.
    let lines = corpus::loghub_lines(100_000);
    let bytes: usize = lines.iter().map(String::len).sum();
    let native_batch = LogBatch::from_messages(lines.iter().map(String::as_str));
    let records = corpus::records_of(&lines);
    let indices: Vec<usize> = (0..records.len()).collect();
    let wasm_batch = record_batch(&records, &indices, plugin.wanted_columns());
    let fresh = paired(
        15,
        || {
            let mut plugin = PatternsPlugin::init(&Config::default(), None).unwrap();
            plugin.process_logs(&native_batch).unwrap().into_wit()
        },
        || {
            let mut instance = PluginInstance::new(plugin.clone(), Vec::new(), None);
            instance.process_logs(&wasm_batch).unwrap()
        },
    );
    // Steady state, as in a long import: the same instance (and the same native plugin) has
    // already seen one batch, and now gets the next 100k records, whose numbers differ.
    let next_lines = corpus::loghub_lines(200_000).split_off(100_000);
    let native_next = LogBatch::from_messages(next_lines.iter().map(String::as_str));
    let mut warm_native = PatternsPlugin::init(&Config::default(), None).unwrap();
    warm_native.process_logs(&native_batch).unwrap();
    let next_records = corpus::records_of(&next_lines);
    let wasm_next = record_batch(&next_records, &indices, plugin.wanted_columns());
    let mut warm_instance = PluginInstance::new(plugin.clone(), Vec::new(), None);
    warm_instance.process_logs(&wasm_batch).unwrap();
    let warm = paired(
        15,
        || warm_native.process_logs(&native_next).unwrap().into_wit(),
        || warm_instance.process_logs(&wasm_next).unwrap(),
    );
    // The boundary alone: a plugin that is sent the same batch and returns nothing.
    let noop = cached_runtime.load("noop", &std::fs::read(test_plugins::NOOP).unwrap()).unwrap();
    let mut noop_instance = PluginInstance::new(noop.clone(), Vec::new(), None);
    let noop_batch = record_batch(&next_records, &indices, noop.wanted_columns());
    let boundary = time(15, || noop_instance.process_logs(&noop_batch).unwrap());
    let patterns = {
        let mut plugin = PatternsPlugin::init(&Config::default(), None).unwrap();
        plugin.process_logs(&native_batch).unwrap();
        plugin.miner().patterns().len()
    };

    println!("## plugin runtime (patterns plugin, {} KiB component)\n", wasm.len() / 1024);
    println!("| what | median | vs baseline |");
    println!("|---|---|---|");
    println!("| cold compile (Cranelift) | {:.1} ms | baseline |", ms(cold));
    println!(
        "| load cached artifact | {:.2} ms | {:.0}× faster |",
        ms(cached),
        cold.as_secs_f64() / cached.as_secs_f64()
    );
    println!(
        "| instance from `InstancePre` + init | {:.3} ms | {:.0}× faster |",
        ms(pre),
        cold.as_secs_f64() / pre.as_secs_f64()
    );
    println!();
    println!(
        "## patterns plugin, one batch of {} records ({:.1} MB, {patterns} patterns)\n",
        lines.len(),
        bytes as f64 / 1e6
    );
    println!("| where | median | records/s | Wasm / native (median pair) |");
    println!("|---|---|---|---|");
    println!(
        "| native (same crate, linked) | {:.1} ms | {:.2} M | baseline |",
        ms(fresh.native),
        lines.len() as f64 / fresh.native.as_secs_f64() / 1e6
    );
    println!(
        "| Wasm (component, through the host) | {:.1} ms | {:.2} M | {:.2}× |",
        ms(fresh.wasm),
        lines.len() as f64 / fresh.wasm.as_secs_f64() / 1e6,
        fresh.ratio
    );
    println!();
    println!("## the next 100k records, steady state (instance and miner already warm)\n");
    println!("| where | median | records/s | Wasm / native (median pair) |");
    println!("|---|---|---|---|");
    println!(
        "| native | {:.1} ms | {:.2} M | baseline |",
        ms(warm.native),
        next_lines.len() as f64 / warm.native.as_secs_f64() / 1e6
    );
    println!(
        "| Wasm | {:.1} ms | {:.2} M | {:.2}× |",
        ms(warm.wasm),
        next_lines.len() as f64 / warm.wasm.as_secs_f64() / 1e6,
        warm.ratio
    );
    println!(
        "| of which the boundary (a no-op plugin sent the same batch) | {:.1} ms | | {:.0}% of the Wasm time |",
        ms(boundary),
        100.0 * boundary.as_secs_f64() / warm.wasm.as_secs_f64()
    );
    println!();
    print_language_costs(&costs, language_lines.len());
}
