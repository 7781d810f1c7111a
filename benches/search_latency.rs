//! Search latency on a large index (5M records by default): median and p99 of term, phrase,
//! field and time-range queries through `LogIndex::search` (top 100, newest first, documents
//! loaded), and, in the same run, `grep -c` for the same term over the raw file.
//!
//! Run: `cargo bench --bench search_latency` (`OPSLOOP_BENCH_RECORDS=N` to change the size).

#[path = "corpus.rs"]
mod corpus;

use std::process::Command;
use std::time::{Duration, Instant};

use opsloop::index::{LogIndex, SearchRequest};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn main() {
    let records: usize = std::env::var("OPSLOOP_BENCH_RECORDS").ok().and_then(|n| n.parse().ok()).unwrap_or(5_000_000);
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.log");
    let bytes = corpus::write_timestamped_log(&corpus, records);
    let started = Instant::now();
    corpus::bare_tantivy_index(&corpus, &dir.path().join("index"), 512 << 20);
    let build_seconds = started.elapsed().as_secs_f64();
    let index = LogIndex::open(&dir.path().join("index")).unwrap();
    index.refresh().unwrap();
    assert_eq!(index.len() as usize, records);

    let start_ms = 1_714_557_600_000i64;
    let middle = start_ms + records as i64 * 10 / 2;
    let queries: Vec<(&str, SearchRequest)> = vec![
        ("term (selective)", SearchRequest { query: "terminating".into(), limit: Some(100), ..Default::default() }),
        (
            "term (rare)",
            SearchRequest {
                query: "ensureElementIsVisible OR PowerChange".into(),
                limit: Some(100),
                ..Default::default()
            },
        ),
        (
            "phrase",
            SearchRequest {
                query: "\"Failed password for invalid user\"".into(),
                limit: Some(100),
                ..Default::default()
            },
        ),
        ("field", SearchRequest { query: "level:ERROR".into(), limit: Some(100), ..Default::default() }),
        (
            "field + term",
            SearchRequest { query: "level:ERROR AND exception".into(), limit: Some(100), ..Default::default() },
        ),
        (
            "time range (1 min)",
            SearchRequest {
                query: "*".into(),
                since_ms: Some(middle),
                until_ms: Some(middle + 60_000),
                limit: Some(100),
                ..Default::default()
            },
        ),
    ];
    println!(
        "## search latency: {records} records ({:.0} MB of text, index built in {build_seconds:.0} s)\n",
        bytes as f64 / 1e6
    );
    println!("| query | matches | median | p99 |");
    println!("|---|---|---|---|");
    for (name, request) in &queries {
        let matches = index.count(request).unwrap();
        for _ in 0..3 {
            index.search(request).unwrap();
        }
        let mut samples: Vec<Duration> = (0..200)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(index.search(request).unwrap());
                started.elapsed()
            })
            .collect();
        samples.sort();
        println!(
            "| {name}: `{}` | {matches} | {:.2} ms | {:.2} ms |",
            request.query.replace('|', "\\|"),
            ms(percentile(&samples, 0.5)),
            ms(percentile(&samples, 0.99))
        );
    }
    // Counting, against grep over the raw file in the same run (page cache warm: one run
    // first). A one-term count is answered from the term's document frequency; a phrase
    // count has to visit positions, so it is the fairer comparison.
    let time_grep = |args: &[&str]| {
        let run = || {
            let started = Instant::now();
            let output = Command::new("grep").args(args).arg(&corpus).output().unwrap();
            (String::from_utf8_lossy(&output.stdout).trim().to_string(), started.elapsed())
        };
        run();
        let mut times: Vec<Duration> = (0..5).map(|_| run().1).collect();
        times.sort();
        (run().0, percentile(&times, 0.5))
    };
    let time_count = |query: &str| {
        let request = SearchRequest { query: query.into(), ..Default::default() };
        let mut times: Vec<Duration> = (0..50)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(index.count(&request).unwrap());
                started.elapsed()
            })
            .collect();
        times.sort();
        (index.count(&request).unwrap(), percentile(&times, 0.5))
    };
    println!();
    println!("| counting | grep matches | grep median | opsloop matches | opsloop median | opsloop vs grep |");
    println!("|---|---|---|---|---|---|");
    let cases: [(&str, &[&str], &str); 2] = [
        ("term `terminating`", &["-c", "-w", "-i", "terminating"], "terminating"),
        (
            "phrase `Failed password for invalid user`",
            &["-c", "-i", "Failed password for invalid user"],
            "\"Failed password for invalid user\"",
        ),
    ];
    for (name, grep_args, query) in cases {
        let (grep_count, grep_median) = time_grep(grep_args);
        let (count, median) = time_count(query);
        println!(
            "| {name} | {grep_count} | {:.0} ms | {count} | {:.0} µs | {:.0}× faster |",
            ms(grep_median),
            median.as_secs_f64() * 1e6,
            grep_median.as_secs_f64() / median.as_secs_f64().max(1e-9)
        );
    }
}
