//! A bounded load run against `opsloop serve` on loopback: the real router and writer in this
//! process, clients on their own threads over HTTP (ureq), for a fixed time per phase:
//! 1. ingest only: clients post 500-line bodies of timestamped Loghub lines;
//! 2. search only: term, phrase, field and time-range queries over what phase 1 indexed;
//! 3. both at once.
//!
//! Reported: records/s and requests/s, p50/p99 latency, answers other than 200 (429 = the
//! pending-records limit pushing back), and resident memory sampled every second, which should
//! stay flat. Baselines in the same run: the same records through the in-process import path
//! (no HTTP), and the same queries straight on the index.
//!
//! Run: `cargo bench --bench serve_load` (`OPSLOOP_BENCH_SECONDS=N` per phase, default 20).

#[path = "corpus.rs"]
mod corpus;
#[path = "server.rs"]
mod server;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opsloop::config::Settings;
use opsloop::data_dir::DataDir;
use opsloop::index::{LogIndex, SearchRequest};
use opsloop::pipeline::{FindingStore, ImportOptions, ImportSource, PluginSet, import};
use opsloop::serve::ServeOptions;
use server::TOKEN;

const LINES_PER_REQUEST: usize = 500;
const QUERIES: &[&str] = &[
    "q=session&since=2024-05-01T10:00:00Z",
    "q=%22connection%20closed%22",
    "q=level:ERROR",
    "q=failed&since=2024-05-01T10:05:00Z&until=2024-05-01T10:06:00Z",
    "q=source:load%20AND%20error",
    "q=block",
];

/// Resident memory of this process in MB: (anonymous — heap and stacks; file-backed — the
/// index's memory-mapped segments, which the kernel may drop at will).
fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("RssAnon:"), field("RssFile:"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[derive(Default)]
struct Tally {
    latencies_ms: Vec<f64>,
    records: u64,
    other_status: u64,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// The body of ingest request `n`: 500 timestamped lines, one per 10 ms from the start.
fn body(lines: &[String], n: u64) -> String {
    let start = 1_714_557_600_000i64 + n as i64 * LINES_PER_REQUEST as i64 * 10;
    (0..LINES_PER_REQUEST)
        .map(|i| {
            let time = chrono::DateTime::from_timestamp_millis(start + i as i64 * 10).unwrap();
            let level = if i % 40 == 0 { "ERROR" } else { "INFO" };
            let message = &lines[(n as usize * LINES_PER_REQUEST + i) % lines.len()];
            format!("{} {level} {message}\n", time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        })
        .collect()
}

fn ingest_client(base: &str, lines: &[String], next: &AtomicU64, stop: &AtomicBool) -> Tally {
    let agent = agent();
    let mut tally = Tally::default();
    while !stop.load(Ordering::Relaxed) {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let text = body(lines, n);
        let started = Instant::now();
        let mut response = agent
            .post(&format!("{base}/api/ingest/logs?source=load&format=text"))
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .send(&text)
            .unwrap();
        let _ = response.body_mut().read_to_string();
        tally.latencies_ms.push(started.elapsed().as_secs_f64() * 1e3);
        if response.status().as_u16() == 200 {
            tally.records += LINES_PER_REQUEST as u64;
        } else {
            tally.other_status += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    tally
}

fn search_client(base: &str, offset: usize, stop: &AtomicBool) -> Tally {
    let agent = agent();
    let mut tally = Tally::default();
    let mut n = offset;
    while !stop.load(Ordering::Relaxed) {
        let query = QUERIES[n % QUERIES.len()];
        n += 1;
        let started = Instant::now();
        let mut response = agent
            .get(&format!("{base}/api/search?{query}&limit=50"))
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .call()
            .unwrap();
        let _ = response.body_mut().read_to_string();
        tally.latencies_ms.push(started.elapsed().as_secs_f64() * 1e3);
        if response.status().as_u16() != 200 {
            tally.other_status += 1;
        }
    }
    tally
}

struct PhaseResult {
    ingest: Tally,
    search: Tally,
    seconds: f64,
    rss: Vec<(f64, f64)>,
}

fn phase(
    base: &str,
    lines: &Arc<Vec<String>>,
    next: &Arc<AtomicU64>,
    ingesters: usize,
    searchers: usize,
    seconds: u64,
) -> PhaseResult {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut ingest_threads = Vec::new();
    for _ in 0..ingesters {
        let (base, lines, next, stop) = (base.to_string(), lines.clone(), next.clone(), stop.clone());
        ingest_threads.push(std::thread::spawn(move || ingest_client(&base, &lines, &next, &stop)));
    }
    let mut search_threads = Vec::new();
    for offset in 0..searchers {
        let (base, stop) = (base.to_string(), stop.clone());
        search_threads.push(std::thread::spawn(move || search_client(&base, offset, &stop)));
    }
    let mut rss = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(1));
        rss.push(rss_mb());
    }
    stop.store(true, Ordering::Relaxed);
    let merge = |threads: Vec<std::thread::JoinHandle<Tally>>| {
        let mut all = Tally::default();
        for thread in threads {
            let tally = thread.join().unwrap();
            all.latencies_ms.extend(tally.latencies_ms);
            all.records += tally.records;
            all.other_status += tally.other_status;
        }
        all.latencies_ms.sort_by(f64::total_cmp);
        all
    };
    let ingest = merge(ingest_threads);
    let search = merge(search_threads);
    PhaseResult { ingest, search, seconds: started.elapsed().as_secs_f64(), rss }
}

fn report(name: &str, result: &PhaseResult) {
    let PhaseResult { ingest, search, seconds, rss } = result;
    println!("{name} ({seconds:.0} s)");
    if !ingest.latencies_ms.is_empty() {
        println!(
            "  ingest: {:>9.0} records/s  {:>6.1} req/s  p50 {:>6.1} ms  p99 {:>6.1} ms  non-200: {}",
            ingest.records as f64 / seconds,
            ingest.latencies_ms.len() as f64 / seconds,
            percentile(&ingest.latencies_ms, 0.5),
            percentile(&ingest.latencies_ms, 0.99),
            ingest.other_status
        );
    }
    if !search.latencies_ms.is_empty() {
        println!(
            "  search: {:>6.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  non-200: {}",
            search.latencies_ms.len() as f64 / seconds,
            percentile(&search.latencies_ms, 0.5),
            percentile(&search.latencies_ms, 0.99),
            search.other_status
        );
    }
    let anon: Vec<f64> = rss.iter().map(|sample| sample.0).collect();
    let file: Vec<f64> = rss.iter().map(|sample| sample.1).collect();
    let max = |values: &[f64]| values.iter().copied().fold(0.0, f64::max);
    println!(
        "  memory, sampled each second: anonymous first {:.0} MB, last {:.0} MB, max {:.0} MB; mapped index files last {:.0} MB",
        anon.first().copied().unwrap_or_default(),
        anon.last().copied().unwrap_or_default(),
        max(&anon),
        file.last().copied().unwrap_or_default()
    );
    let every_5s: Vec<String> = anon.iter().step_by(5).map(|mb| format!("{mb:.0}")).collect();
    println!("  anonymous MB every 5 s: {}", every_5s.join(" "));
}

fn main() {
    let seconds: u64 = std::env::var("OPSLOOP_BENCH_SECONDS").ok().and_then(|n| n.parse().ok()).unwrap_or(20);
    let running = server::start(&ServeOptions::default());
    let (service, base) = (&running.service, running.base.clone());
    // The in-process baseline's input and index.
    let dir = tempfile::tempdir().unwrap();

    let lines = Arc::new(corpus::loghub_lines(16_000));
    let next = Arc::new(AtomicU64::new(0));
    println!("opsloop serve load run on loopback, {seconds} s per phase, {LINES_PER_REQUEST} lines per ingest request");
    let ingest_only = phase(&base, &lines, &next, 3, 0, seconds);
    report("phase 1: ingest only, 3 clients", &ingest_only);
    let search_only = phase(&base, &lines, &next, 0, 4, seconds);
    report("phase 2: search only, 4 clients", &search_only);
    let mixed = phase(&base, &lines, &next, 2, 2, seconds);
    report("phase 3: ingest and search, 2 + 2 clients", &mixed);
    for line in service.state.metrics.render().lines() {
        if line.starts_with("opsloop_commits_total")
            || line.starts_with("opsloop_plugin_call_seconds_sum")
            || line.starts_with("opsloop_plugin_calls_total")
        {
            println!("  {line}");
        }
    }
    let indexed = service.state.logs.len();
    println!("indexed at the end: {indexed} records");

    // Baselines: the same queries straight on the index, the same records through import().
    let index = &service.state.logs;
    let mut direct = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        for query in QUERIES {
            let params: std::collections::HashMap<String, String> = query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_string(), v.replace("%22", "\"").replace("%20", " ")))
                .collect();
            let request = SearchRequest {
                query: params.get("q").cloned().unwrap_or_default(),
                since_ms: params.get("since").and_then(|t| opsloop::cli::parse_time(t).ok()),
                until_ms: params.get("until").and_then(|t| opsloop::cli::parse_time(t).ok()),
                limit: Some(50),
                ..SearchRequest::default()
            };
            let t = Instant::now();
            std::hint::black_box(index.search_page(&request, None, 50).unwrap());
            direct.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    direct.sort_by(f64::total_cmp);
    println!(
        "baseline: the same queries on the index in-process: p50 {:.2} ms  p99 {:.2} ms",
        percentile(&direct, 0.5),
        percentile(&direct, 0.99)
    );
    let phase_one_records = ingest_only.ingest.records as usize;
    let corpus_path = dir.path().join("same.log");
    let text: String = (0..(phase_one_records / LINES_PER_REQUEST) as u64).map(|n| body(&lines, n)).collect();
    std::fs::write(&corpus_path, text).unwrap();
    let direct_data = DataDir::new(dir.path().join("direct"));
    let direct_index = LogIndex::open(&direct_data.index_dir()).unwrap();
    let (mut plugins, _) = PluginSet::load(&direct_data, &Settings::default()).unwrap();
    let started = Instant::now();
    let summary = import(
        &direct_index,
        &mut plugins,
        &FindingStore::new(direct_data.findings_file()),
        vec![ImportSource::Path(corpus_path)],
        &ImportOptions::default(),
        None,
    )
    .unwrap();
    let direct_rate = summary.records as f64 / started.elapsed().as_secs_f64();
    let http_rate = ingest_only.ingest.records as f64 / ingest_only.seconds;
    println!(
        "baseline: phase 1's {} records through import() in-process: {direct_rate:.0} records/s; HTTP ingest = {:.2}x of it",
        summary.records,
        http_rate / direct_rate
    );
    running.stop();
}
