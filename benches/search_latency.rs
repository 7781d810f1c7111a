//! Search latency on a large index (5M records by default): median and p99 of term, phrase,
//! field and time-range queries through `LogIndex::search` (top 100, newest first, documents
//! loaded), and, in the same run, `grep -c` for the same term over the raw file.
//!
//! Run: `cargo bench --bench search_latency` (`OPSLOOP_BENCH_RECORDS=N` to change the size).

#[path = "corpus.rs"]
mod corpus;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use opsloop::index::{LogFields, LogIndex, SearchRequest};
use tantivy::{DateTime, TantivyDocument};

fn build_index(corpus: &Path, dir: &Path) {
    use std::io::BufRead;
    let (schema, fields) = LogFields::schema();
    std::fs::create_dir_all(dir).unwrap();
    let index = tantivy::Index::create_in_dir(dir, schema).unwrap();
    let mut writer: tantivy::IndexWriter = index.writer(512 << 20).unwrap();
    let reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(corpus).unwrap());
    for (number, line) in reader.lines().enumerate() {
        let line = line.unwrap();
        let (time, rest) = line.split_once(' ').unwrap();
        let (level, message) = rest.split_once(' ').unwrap();
        let mut document = TantivyDocument::default();
        let millis = chrono::DateTime::parse_from_rfc3339(time).unwrap().timestamp_millis();
        document.add_date(fields.timestamp, DateTime::from_timestamp_millis(millis));
        document.add_text(fields.level, level);
        document.add_text(fields.source, "bench");
        document.add_text(fields.message, message);
        document.add_text(fields.file, "corpus.log");
        document.add_u64(fields.line, number as u64 + 1);
        writer.add_document(document).unwrap();
    }
    writer.commit().unwrap();
    writer.wait_merging_threads().unwrap();
}

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
    build_index(&corpus, &dir.path().join("index"));
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
    // The same selective term, counted by grep over the raw file (page cache warm: one run first).
    let grep = |term: &str| {
        let started = Instant::now();
        let output = Command::new("grep").args(["-c", "-w", "-i", term]).arg(&corpus).output().unwrap();
        (String::from_utf8_lossy(&output.stdout).trim().to_string(), started.elapsed())
    };
    grep("terminating");
    let mut grep_times: Vec<Duration> = (0..5).map(|_| grep("terminating").1).collect();
    grep_times.sort();
    let grep_median = percentile(&grep_times, 0.5);
    let (grep_count, _) = grep("terminating");
    let count_request = SearchRequest { query: "terminating".into(), ..Default::default() };
    let mut count_times: Vec<Duration> = (0..50)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(index.count(&count_request).unwrap());
            started.elapsed()
        })
        .collect();
    count_times.sort();
    let count_median = percentile(&count_times, 0.5);
    println!();
    println!("| counting `terminating` | matches | median | vs grep |");
    println!("|---|---|---|---|");
    println!("| `grep -c -w -i` on the raw file | {grep_count} | {:.1} ms | baseline |", ms(grep_median));
    println!(
        "| opsloop index count | {} | {:.2} ms | {:.0}× faster |",
        index.count(&count_request).unwrap(),
        ms(count_median),
        grep_median.as_secs_f64() / count_median.as_secs_f64()
    );
}
