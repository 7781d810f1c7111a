//! What the alerting issue adds to the hot paths, each against a baseline in the same run:
//!
//! 1. **Log series**: counting records into the log-derived metrics (`count_records`, on the
//!    writer thread for every batch) against indexing the same records with the real index
//!    writer; and how many series 200k records from 8 sources make.
//! 2. **HTTPS**: ingest and search through the real `serve` (our listener, rustls) with TLS
//!    against the same server without, clients keeping their connections (as shippers and
//!    dashboards do). Plain HTTP runs first and last; TLS is compared with their mean.
//!
//! Run: `cargo bench --bench alerting_overhead` (`OPSLOOP_BENCH_SECONDS=N` per HTTP run,
//! default 8; `OPSLOOP_BENCH_CLIENTS=N`, default 3).

#[path = "corpus.rs"]
mod corpus;
#[path = "server.rs"]
#[allow(dead_code)]
mod server;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opsloop::config::LogMetricsSettings;
use opsloop::data_dir::DataDir;
use opsloop::index::LogIndex;
use opsloop::serve::{Metrics, ServeOptions, TlsFiles, serve};
use server::TOKEN;

const RECORDS: usize = 200_000;
const BATCH: usize = 10_000;
const SOURCES: usize = 8;

fn seconds() -> u64 {
    std::env::var("OPSLOOP_BENCH_SECONDS").ok().and_then(|n| n.parse().ok()).unwrap_or(8)
}

fn clients() -> usize {
    std::env::var("OPSLOOP_BENCH_CLIENTS").ok().and_then(|n| n.parse().ok()).unwrap_or(3)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Loghub records on 8 sources, annotated as the pattern miner would: the masked message as
/// template, its hash as pattern, levels from the words.
fn annotated_records() -> Vec<opsloop::ingest::Record> {
    let lines = corpus::loghub_lines(RECORDS);
    let mut records = corpus::records_of(&lines);
    for (i, record) in records.iter_mut().enumerate() {
        record.source = format!("service-{}", i % SOURCES);
        let lower = record.message.to_ascii_lowercase();
        record.level = Some(if lower.contains("error") || lower.contains("fail") { "ERROR" } else { "INFO" }.into());
        let template = opsloop_sdk::mask::mask(&record.message);
        let pattern = format!("{:016x}", opsloop_sdk::stable_hash(&template));
        record.annotations.insert(Arc::from("pattern"), Arc::from(pattern.as_str()));
        record.annotations.insert(Arc::from("template"), Arc::from(template.as_str()));
    }
    records
}

fn log_series() {
    let records = annotated_records();
    let mut index_seconds = Vec::new();
    let mut count_seconds = Vec::new();
    let mut series = 0;
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let index = LogIndex::open(&dir.path().join("index")).unwrap();
        let mut writer = index.writer(256 << 20).unwrap();
        let started = Instant::now();
        for record in &records {
            writer.add(record, 0).unwrap();
        }
        writer.commit().unwrap();
        index_seconds.push(started.elapsed().as_secs_f64());

        let metrics = Metrics::new(&LogMetricsSettings::default());
        let started = Instant::now();
        for batch in records.chunks(BATCH) {
            metrics.log_series.count_records(batch);
        }
        count_seconds.push(started.elapsed().as_secs_f64());
        series = metrics.render().lines().filter(|line| line.starts_with("opsloop_log_")).count();
    }
    let (index, count) = (median(index_seconds), median(count_seconds));
    println!("log series: {RECORDS} records, {SOURCES} sources, batches of {BATCH} (median of 3)");
    println!("  index writer (baseline)   {:>10.0} records/s", RECORDS as f64 / index);
    println!("  count_records             {:>10.0} records/s", RECORDS as f64 / count);
    println!("  counting / indexing time  {:>10.3}", count / index);
    println!(
        "  log series exposed        {series:>10} (bounded: ≤ sources × (levels + patterns_per_source + 1) + info)"
    );
}

/// A running `opsloop serve` (our listener), stopped when dropped.
struct Served {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start(tls: Option<TlsFiles>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));
        let settings = server::settings();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let options = ServeOptions { listen: Some("127.0.0.1:0".into()), tls, ..ServeOptions::default() };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime
                .block_on(serve(
                    &data,
                    &settings,
                    &options,
                    move |address, _| address_tx.send(address).unwrap(),
                    async move {
                        let _ = stopped.await;
                    },
                ))
                .unwrap();
        });
        let address = address_rx.recv_timeout(Duration::from_secs(60)).unwrap();
        Self { base: format!("{scheme}://{address}"), stop: Some(stop), thread: Some(thread), _dir: dir }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        let _ = self.thread.take().unwrap().join();
    }
}

fn client(root: Option<&[u8]>) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder().http_status_as_error(false);
    if let Some(der) = root {
        let roots = ureq::tls::RootCerts::Specific(Arc::new(vec![ureq::tls::Certificate::from_der(der).to_owned()]));
        config = config.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
    }
    config.build().into()
}

/// Records/s ingested (500 per request) and searches/s, by `clients()` clients for
/// `seconds()` each.
fn load(base: &str, root: Option<&[u8]>, body: &Arc<String>) -> (f64, f64) {
    let run = |search: bool| -> f64 {
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..clients())
            .map(|_| {
                let (done, stop, body, base) = (done.clone(), stop.clone(), body.clone(), base.to_string());
                let agent = client(root);
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let response = if search {
                            agent
                                .get(&format!("{base}/api/search?q=error&limit=20"))
                                .header("Authorization", &format!("Bearer {TOKEN}"))
                                .call()
                        } else {
                            agent
                                .post(&format!("{base}/api/ingest/logs?source=bench&format=raw"))
                                .header("Authorization", &format!("Bearer {TOKEN}"))
                                .send(body.as_str())
                        };
                        match response {
                            Ok(mut response) if response.status().is_success() => {
                                let _ = response.body_mut().read_to_string();
                                done.fetch_add(if search { 1 } else { 500 }, Ordering::Relaxed);
                            }
                            Ok(response) if response.status().as_u16() == 429 => {
                                std::thread::sleep(Duration::from_millis(20))
                            }
                            Ok(response) => panic!("{base}: {}", response.status()),
                            Err(error) => panic!("{base}: {error}"),
                        }
                    }
                })
            })
            .collect();
        let started = Instant::now();
        std::thread::sleep(Duration::from_secs(seconds()));
        stop.store(true, Ordering::Relaxed);
        for thread in threads {
            thread.join().unwrap();
        }
        done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
    };
    (run(false), run(true))
}

fn https() {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = TlsFiles { cert: dir.path().join("cert.pem"), key: dir.path().join("key.pem") };
    std::fs::write(&files.cert, made.cert.pem()).unwrap();
    std::fs::write(&files.key, made.signing_key.serialize_pem()).unwrap();
    let der = made.cert.der().to_vec();
    let body = Arc::new(corpus::loghub_lines(500).join("\n") + "\n");
    let mut plain = Vec::new();
    let mut tls = (0.0, 0.0);
    for run in 0..3 {
        if run == 1 {
            let server = Served::start(Some(files.clone()));
            tls = load(&server.base, Some(&der), &body);
        } else {
            let server = Served::start(None);
            plain.push(load(&server.base, None, &body));
        }
    }
    let ingest_plain = (plain[0].0 + plain[1].0) / 2.0;
    let search_plain = (plain[0].1 + plain[1].1) / 2.0;
    println!(
        "HTTPS vs HTTP: {} clients keeping their connections, {} s per run, fresh server per run",
        clients(),
        seconds()
    );
    println!(
        "  ingest  HTTP {:>9.0} records/s (runs {:.0}, {:.0})   HTTPS {:>9.0} records/s   ratio {:.2}",
        ingest_plain,
        plain[0].0,
        plain[1].0,
        tls.0,
        tls.0 / ingest_plain
    );
    println!(
        "  search  HTTP {:>9.0} queries/s (runs {:.0}, {:.0})   HTTPS {:>9.0} queries/s   ratio {:.2}",
        search_plain,
        plain[0].1,
        plain[1].1,
        tls.1,
        tls.1 / search_plain
    );
}

fn main() {
    log_series();
    https();
}
