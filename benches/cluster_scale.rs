//! `serve --cluster` at scale on this machine: nats-server (JetStream) and SeaweedFS's S3
//! server on loopback, opsloop nodes as processes (this benchmark's own executable, started
//! again as a node).
//!
//! For 1, 2 and 3 indexer processes, one ingest+search node takes the same records over HTTP
//! (requests of 5,000 Loghub lines over 8 sources); reported: the rate the ingest node
//! acknowledges at, the end-to-end rate (first request to every record searchable on the
//! search node), the search latency on the adopted pieces (local disk), and how long a new
//! search node takes to fetch every piece from the store. Baseline in the same run: the same
//! requests to a single-node `serve` (write-ahead log, one writer), and the same queries on it.
//!
//! Then failover: two indexers, one killed with SIGKILL halfway through the requests; every
//! record must be found once, and the survivor must hold every partition.
//!
//! Then merging: a tenth of the records as a steady trickle (requests of 200 lines, 10 ms
//! apart) to one indexer that seals a piece 50 ms after its oldest record, so it makes many
//! small pieces; with pieces never merged (`merge_factor = 0`, the baseline) and merged ten at
//! a time (the default): the pieces a search node holds once the merges settle, and its search
//! latency on them.
//!
//! Run: `cargo bench --bench cluster_scale` (`OPSLOOP_BENCH_RECORDS=N`, default 1,000,000).
//! Needs `nats-server` and `weed` (what `.ci/run` installs).

#[path = "corpus.rs"]
mod corpus;
#[path = "../host/tests/common/processes.rs"]
mod processes;
#[path = "server.rs"]
mod server;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opsloop::config::ClusterSettings;
use opsloop::serve::ServeOptions;
use processes::{Daemon, free_port, seaweed_ports, spawn_announcing, start_nats, start_seaweed, wait_for};
use server::TOKEN;

const LINES_PER_REQUEST: usize = 5_000;
const SOURCES: usize = 8;
const QUERIES: &[&str] = &["q=error", "q=%22connection%20closed%22", "q=level:ERROR", "q=block", "q=source:system-3"];

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn cluster_settings(nats: u16, prefix: &str) -> ClusterSettings {
    ClusterSettings {
        nats: Some(format!("nats://127.0.0.1:{nats}")),
        store: Some(format!("s3://opsloop/{prefix}")),
        piece_age_ms: 2_000,
        lease_ms: 6_000,
        ..ClusterSettings::default()
    }
}

/// The child side: one node with the roles in `OPSLOOP_BENCH_NODE`, until its stdin closes.
fn run_node(spec: &str) {
    let parts: Vec<&str> = spec.split(' ').collect();
    let (roles, nats, prefix, id) =
        (parts[0].to_string(), parts[1].parse::<u16>().unwrap(), parts[2].to_string(), parts[3].to_string());
    let mut settings = cluster_settings(nats, &prefix);
    settings.roles = vec![roles];
    settings.node_id = Some(id);
    settings.piece_age_ms = parts[4].parse().unwrap();
    settings.merge_factor = parts[5].parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = opsloop::data_dir::DataDir::new(dir.path().join("data"));
    let cluster = opsloop::cluster::ClusterOptions::from_settings(&settings, &data).unwrap();
    let running = server::start(&ServeOptions { cluster, ..ServeOptions::default() });
    println!("{}", running.base);
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    running.stop();
}

/// The piece age (ms) and merge factor of the scaling rounds.
const DEFAULT_PIECES: (u64, usize) = (2_000, 10);

/// A node process; its base URL. `pieces`: its piece age (ms) and merge factor.
fn start_node(roles: &str, nats: u16, prefix: &str, id: &str, s3: u16, pieces: (u64, usize)) -> (Daemon, String) {
    let (child, line) = spawn_announcing(
        Command::new(std::env::current_exe().unwrap())
            .env("OPSLOOP_BENCH_NODE", format!("{roles} {nats} {prefix} {id} {} {}", pieces.0, pieces.1))
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{s3}"))
            .env("AWS_ACCESS_KEY_ID", "opsloop")
            .env("AWS_SECRET_ACCESS_KEY", "opsloop-bench-secret")
            .env("AWS_REGION", "us-east-1")
            .stdin(Stdio::piped()),
    );
    (Daemon(child), line.trim().to_string())
}

/// nats-server on a free port; the port.
fn nats(dir: &Path) -> (Daemon, u16) {
    let port = free_port();
    (start_nats(dir, port), port)
}

/// SeaweedFS with the bucket `opsloop`; its S3 port.
fn seaweed(dir: &Path) -> (Daemon, u16) {
    let base = seaweed_ports();
    let daemon = start_seaweed(dir, base);
    let made = agent().put(&format!("http://127.0.0.1:{}/opsloop", base + 3)).send("").unwrap();
    assert!(made.status().is_success());
    (daemon, base + 3)
}

/// Posts every request body to `base`, again after a 429 or 503 (with the same key, so never
/// stored twice); the seconds until the last was acknowledged.
fn post_all(base: &str, bodies: &[(String, String)]) -> f64 {
    let started = Instant::now();
    for (index, (source, body)) in bodies.iter().enumerate() {
        post_one(base, source, body, &format!("bench-{index}"));
    }
    started.elapsed().as_secs_f64()
}

/// Posts one request body with the key `key` until it is acknowledged.
fn post_one(base: &str, source: &str, body: &str, key: &str) {
    loop {
        let mut response = agent()
            .post(&format!("{base}/api/ingest/logs?source={source}&format=raw"))
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .header("Idempotency-Key", key)
            .send(body)
            .unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        match status {
            200 => return,
            429 | 503 => std::thread::sleep(Duration::from_millis(100)),
            _ => panic!("request {key}: {status} {text}"),
        }
    }
}

fn total(base: &str) -> u64 {
    let mut response = agent()
        .get(&format!("{base}/api/search?q=*&limit=1"))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    let body: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap_or_default();
    body["total"].as_u64().unwrap_or(0)
}

/// Median latency (ms) of every query, five rounds.
fn search_ms(base: &str) -> f64 {
    let mut times = Vec::new();
    for _ in 0..5 {
        for query in QUERIES {
            let started = Instant::now();
            let mut response = agent()
                .get(&format!("{base}/api/search?{query}&limit=20"))
                .header("Authorization", &format!("Bearer {TOKEN}"))
                .call()
                .unwrap();
            let _ = response.body_mut().read_to_string();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    if let Ok(spec) = std::env::var("OPSLOOP_BENCH_NODE") {
        run_node(&spec);
        return;
    }
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let records: usize =
        std::env::var("OPSLOOP_BENCH_RECORDS").ok().and_then(|text| text.parse().ok()).unwrap_or(1_000_000);
    let lines = corpus::loghub_lines(records);
    let bodies: Vec<(String, String)> = lines
        .chunks(LINES_PER_REQUEST)
        .enumerate()
        .map(|(index, chunk)| (format!("system-{}", index % SOURCES), chunk.join("\n")))
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("cluster_scale: {records} records in requests of {LINES_PER_REQUEST} lines, {cores} cores");

    // Baseline: one node, its own write-ahead log and writer.
    let single = server::start(&ServeOptions::default());
    let started = Instant::now();
    let acked = post_all(&single.base, &bodies);
    wait_for(600, "the single node to index everything", || (total(&single.base) == records as u64).then_some(()));
    let searchable = started.elapsed().as_secs_f64();
    let single_search = search_ms(&single.base);
    single.stop();
    println!(
        "single node          ack {:>9.0} rec/s   searchable {:>9.0} rec/s   search p50 {:>6.1} ms",
        records as f64 / acked,
        records as f64 / searchable,
        single_search
    );

    let dir = tempfile::tempdir().unwrap();
    let (_seaweed, s3) = seaweed(&dir.path().join("seaweed"));
    for indexers in 1..=3 {
        let (_nats, nats) = nats(&dir.path().join(format!("jetstream-{indexers}")));
        let prefix = format!("round-{indexers}");
        let (_front, front) = start_node("ingest,search", nats, &prefix, "front", s3, DEFAULT_PIECES);
        let _indexers: Vec<(Daemon, String)> = (0..indexers)
            .map(|n| start_node("index", nats, &prefix, &format!("indexer-{n}"), s3, DEFAULT_PIECES))
            .collect();
        let settings = cluster_settings(nats, &prefix);
        wait_for(60, "the indexers to share the partitions", || {
            let status = opsloop::cluster::read_status(&settings).ok()?;
            let holders: std::collections::BTreeSet<String> =
                status.partitions.iter().filter_map(|p| p.holder.clone()).collect();
            let held = status.partitions.iter().all(|p| p.holder.is_some());
            (held && holders.len() == indexers).then_some(())
        });
        let started = Instant::now();
        let acked = post_all(&front, &bodies);
        wait_for(900, "the cluster to index everything", || (total(&front) == records as u64).then_some(()));
        let searchable = started.elapsed().as_secs_f64();
        let cached_search = search_ms(&front);
        let cold = Instant::now();
        let (_reader, reader) = start_node("search", nats, &prefix, "late-reader", s3, DEFAULT_PIECES);
        wait_for(600, "a new search node to fetch every piece", || (total(&reader) == records as u64).then_some(()));
        let fetch_all = cold.elapsed().as_secs_f64();
        println!(
            "cluster, {indexers} indexer{} ack {:>9.0} rec/s   searchable {:>9.0} rec/s   search p50 {:>6.1} ms   new search node has every piece in {:.1} s",
            if indexers == 1 { " " } else { "s" },
            records as f64 / acked,
            records as f64 / searchable,
            cached_search,
            fetch_all
        );
    }

    // Failover: two indexers, one killed with SIGKILL once half the requests were acknowledged.
    {
        let (_nats, nats) = nats(&dir.path().join("jetstream-failover"));
        let prefix = "failover";
        let (_front, front) = start_node("ingest,search", nats, prefix, "front", s3, DEFAULT_PIECES);
        let _survivor = start_node("index", nats, prefix, "survivor", s3, DEFAULT_PIECES);
        let victim = start_node("index", nats, prefix, "victim", s3, DEFAULT_PIECES);
        let settings = cluster_settings(nats, prefix);
        let holders = move || -> Option<std::collections::BTreeSet<String>> {
            let status = opsloop::cluster::read_status(&settings).ok()?;
            status.partitions.iter().map(|p| p.holder.clone()).collect()
        };
        wait_for(60, "the two indexers to share the partitions", || (holders()?.len() == 2).then_some(()));
        let started = Instant::now();
        let half = bodies.len() / 2;
        post_all(&front, &bodies[..half]);
        drop(victim);
        let killed = Instant::now();
        let takeover = std::thread::spawn(move || {
            wait_for(600, "the survivor to hold every partition", || {
                (holders()? == ["survivor".to_string()].into()).then_some(killed.elapsed().as_secs_f64())
            })
        });
        for (index, (source, body)) in bodies.iter().enumerate().skip(half) {
            post_one(&front, source, body, &format!("bench-{index}"));
        }
        wait_for(900, "the cluster to index everything after the kill", || {
            (total(&front) == records as u64).then_some(())
        });
        let searchable = started.elapsed().as_secs_f64();
        let taken_over = takeover.join().unwrap();
        std::thread::sleep(Duration::from_secs(3));
        let found = total(&front);
        assert_eq!(found, records as u64, "records stored twice or lost after the kill");
        println!(
            "failover, 2 indexers, one killed (SIGKILL) halfway: searchable {:>9.0} rec/s   partitions taken over {taken_over:.1} s after the kill   {found} of {records} records found, each once",
            records as f64 / searchable,
        );
    }

    // Merging: small pieces left as they are (the baseline) and merged ten at a time.
    let trickle = records / 10;
    let small_bodies: Vec<(String, String)> = lines[..trickle]
        .chunks(200)
        .enumerate()
        .map(|(index, chunk)| (format!("system-{}", index % SOURCES), chunk.join("\n")))
        .collect();
    for merge_factor in [0, 10] {
        let (_nats, nats) = nats(&dir.path().join(format!("jetstream-merge-{merge_factor}")));
        let prefix = format!("merge-{merge_factor}");
        let pieces = (50, merge_factor);
        let (_front, front) = start_node("ingest,search", nats, &prefix, "front", s3, pieces);
        let (_indexer, _) = start_node("index", nats, &prefix, "indexer", s3, pieces);
        wait_for(60, "the indexer to hold the partitions", || {
            let status = opsloop::cluster::read_status(&cluster_settings(nats, &prefix)).ok()?;
            status.partitions.iter().all(|p| p.holder.is_some()).then_some(())
        });
        let started = Instant::now();
        for (index, (source, body)) in small_bodies.iter().enumerate() {
            post_one(&front, source, body, &format!("trickle-{index}"));
            std::thread::sleep(Duration::from_millis(10));
        }
        wait_for(900, "the cluster to index everything", || (total(&front) == trickle as u64).then_some(()));
        let searchable = started.elapsed().as_secs_f64();
        let settings = cluster_settings(nats, &prefix);
        let sealed = Instant::now();
        let piece_count = || -> Option<usize> {
            Some(opsloop::cluster::read_status(&settings).ok()?.partitions.iter().map(|p| p.pieces).sum())
        };
        // Settled: the piece count has not moved for 10 s (merges run every 2 s per partition).
        let mut last = (piece_count().unwrap_or(0), Instant::now());
        wait_for(900, "the merges to settle", || {
            let now = piece_count()?;
            if now != last.0 {
                last = (now, Instant::now());
            }
            (last.1.elapsed() >= Duration::from_secs(10)).then_some(())
        });
        std::thread::sleep(Duration::from_secs(2));
        let search = search_ms(&front);
        println!(
            "{trickle} records trickled, sealed at 50 ms, merge_factor {merge_factor:>2}: searchable {:>9.0} rec/s   {:>5} pieces {:.0} s after   search p50 {:>6.1} ms",
            trickle as f64 / searchable,
            last.0,
            sealed.elapsed().as_secs_f64(),
            search
        );
    }
}
