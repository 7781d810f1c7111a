//! Records/s through each shipper protocol against `/api/ingest/logs`, with the same records in
//! the same run: the real router, writer and built-in plugins in this process, 3 clients on
//! their own threads over loopback, 500 records per request, a fixed time per protocol.
//!
//! The native ingest runs first and last (the index grows meanwhile); each protocol is
//! compared with the mean of the two. HTTP protocols count records answered 2xx (durable);
//! syslog, which has no answer, counts the records sent over 3 TCP connections (octet
//! counting) until the writer has taken them all.
//!
//! Run: `cargo bench --bench shipper_throughput` (`OPSLOOP_BENCH_SECONDS=N` per protocol,
//! default 10; `OPSLOOP_BENCH_CLIENTS=N`, default 3; `OPSLOOP_BENCH_ONLY=<name start>` for one
//! protocol).

#[path = "corpus.rs"]
mod corpus;
#[path = "server.rs"]
mod server;

// The allocator of the `opsloop` binary: the server in this process allocates as it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opsloop::ingest::loki::{EntryAdapter, ProtoTimestamp, PushRequest, StreamAdapter};
use opsloop::serve::{ServeOptions, Service, SyslogSpec};
use prost::Message;
use serde_json::json;
use server::TOKEN;

const RECORDS_PER_REQUEST: usize = 500;
fn clients() -> usize {
    std::env::var("OPSLOOP_BENCH_CLIENTS").ok().and_then(|n| n.parse().ok()).unwrap_or(3)
}

/// One record of request `n`: time (ms), level, message, a field.
struct Line<'a> {
    time_ms: i64,
    level: &'static str,
    message: &'a str,
    user: String,
}

fn records(lines: &[String], n: u64) -> Vec<Line<'_>> {
    let start = 1_714_557_600_000i64 + n as i64 * RECORDS_PER_REQUEST as i64 * 10;
    (0..RECORDS_PER_REQUEST)
        .map(|i| Line {
            time_ms: start + i as i64 * 10,
            level: if i % 40 == 0 { "ERROR" } else { "INFO" },
            message: &lines[(n as usize * RECORDS_PER_REQUEST + i) % lines.len()],
            user: format!("u{}", i % 17),
        })
        .collect()
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A protocol: its name, path, content type, and the body of request `n`.
struct Protocol {
    name: &'static str,
    path: &'static str,
    content_type: &'static str,
    encode: fn(&[Line<'_>]) -> Vec<u8>,
}

fn native(lines: &[Line<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for line in lines {
        let record = json!({"timestamp": rfc3339(line.time_ms), "level": line.level, "message": line.message, "user": line.user});
        serde_json::to_writer(&mut body, &record).unwrap();
        body.push(b'\n');
    }
    body
}

fn otlp_request(lines: &[Line<'_>]) -> ExportLogsServiceRequest {
    let text = |value: &str| Some(AnyValue { value: Some(any_value::Value::StringValue(value.to_string())) });
    let log_records = lines
        .iter()
        .map(|line| LogRecord {
            time_unix_nano: line.time_ms as u64 * 1_000_000,
            severity_text: line.level.to_string(),
            body: text(line.message),
            attributes: vec![KeyValue { key: "user".into(), value: text(&line.user), ..Default::default() }],
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![KeyValue { key: "service.name".into(), value: text("load"), ..Default::default() }],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs { log_records, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn otlp_protobuf(lines: &[Line<'_>]) -> Vec<u8> {
    otlp_request(lines).encode_to_vec()
}

fn otlp_json(lines: &[Line<'_>]) -> Vec<u8> {
    serde_json::to_vec(&otlp_request(lines)).unwrap()
}

fn bulk(lines: &[Line<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for line in lines {
        body.extend_from_slice(b"{\"index\":{}}\n");
        let document = json!({"@timestamp": rfc3339(line.time_ms), "log.level": line.level, "message": line.message, "user": line.user});
        serde_json::to_writer(&mut body, &document).unwrap();
        body.push(b'\n');
    }
    body
}

/// Bulk `create` actions with an `_id` each: every document's id is remembered.
fn bulk_with_ids(lines: &[Line<'_>]) -> Vec<u8> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut body = Vec::new();
    for line in lines {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        body.extend_from_slice(format!("{{\"create\":{{\"_id\":\"d-{id}\"}}}}\n").as_bytes());
        let document = json!({"@timestamp": rfc3339(line.time_ms), "log.level": line.level, "message": line.message, "user": line.user});
        serde_json::to_writer(&mut body, &document).unwrap();
        body.push(b'\n');
    }
    body
}

fn loki_protobuf(lines: &[Line<'_>]) -> Vec<u8> {
    // One stream per (level, user), as a client groups entries by their labels.
    let mut streams: std::collections::BTreeMap<(String, String), Vec<EntryAdapter>> = Default::default();
    for line in lines {
        streams.entry((line.level.to_string(), line.user.clone())).or_default().push(EntryAdapter {
            timestamp: Some(ProtoTimestamp {
                seconds: line.time_ms / 1000,
                nanos: (line.time_ms % 1000) as i32 * 1_000_000,
            }),
            line: line.message.to_string(),
            structured_metadata: vec![],
        });
    }
    let request = PushRequest {
        streams: streams
            .into_iter()
            .map(|((level, user), entries)| StreamAdapter {
                labels: format!("{{service_name=\"load\", level=\"{level}\", user=\"{user}\"}}"),
                entries,
            })
            .collect(),
    };
    snap::raw::Encoder::new().compress_vec(&request.encode_to_vec()).unwrap()
}

fn loki_json(lines: &[Line<'_>]) -> Vec<u8> {
    let mut streams: std::collections::BTreeMap<(String, String), Vec<serde_json::Value>> = Default::default();
    for line in lines {
        streams
            .entry((line.level.to_string(), line.user.clone()))
            .or_default()
            .push(json!([format!("{}000000", line.time_ms), line.message]));
    }
    let streams: Vec<_> = streams
        .into_iter()
        .map(|((level, user), values)| json!({"stream": {"service_name": "load", "level": level, "user": user}, "values": values}))
        .collect();
    serde_json::to_vec(&json!({ "streams": streams })).unwrap()
}

const NATIVE: Protocol = Protocol {
    name: "/api/ingest/logs (JSON lines)",
    path: "/api/ingest/logs?source=load&format=json",
    content_type: "application/x-ndjson",
    encode: native,
};

const PROTOCOLS: &[Protocol] = &[
    Protocol { name: "OTLP protobuf", path: "/v1/logs", content_type: "application/x-protobuf", encode: otlp_protobuf },
    Protocol { name: "OTLP JSON", path: "/v1/logs", content_type: "application/json", encode: otlp_json },
    Protocol { name: "ES bulk (index)", path: "/es/load/_bulk", content_type: "application/x-ndjson", encode: bulk },
    Protocol {
        name: "ES bulk (create + _id)",
        path: "/es/load/_bulk",
        content_type: "application/x-ndjson",
        encode: bulk_with_ids,
    },
    Protocol {
        name: "Loki snappy protobuf",
        path: "/loki/api/v1/push",
        content_type: "application/x-protobuf",
        encode: loki_protobuf,
    },
    Protocol { name: "Loki JSON", path: "/loki/api/v1/push", content_type: "application/json", encode: loki_json },
];

/// Records/s answered 2xx for `protocol` over `seconds`, and the answers that were not.
fn run_http(
    base: &str,
    protocol: &Protocol,
    lines: &Arc<Vec<String>>,
    next: &Arc<AtomicU64>,
    seconds: u64,
) -> (f64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let clients: Vec<_> = (0..clients())
        .map(|_| {
            let (base, lines, next, stop) = (base.to_string(), lines.clone(), next.clone(), stop.clone());
            let (path, content_type, encode) = (protocol.path, protocol.content_type, protocol.encode);
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                let (mut stored, mut refused) = (0u64, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    let body = encode(&records(&lines, next.fetch_add(1, Ordering::Relaxed)));
                    let sent = agent
                        .post(&format!("{base}{path}"))
                        .header("Authorization", &format!("Bearer {TOKEN}"))
                        .header("Content-Type", content_type)
                        .send(&body[..]);
                    // A refusal before the body was read (429 over `max_concurrent_ingests`) may
                    // close the connection under the client: refused too.
                    let ok = sent.is_ok_and(|mut response| {
                        let answer = response.body_mut().read_to_string().unwrap_or_default();
                        response.status().is_success() && !answer.contains("\"errors\":true")
                    });
                    if ok {
                        stored += RECORDS_PER_REQUEST as u64;
                    } else {
                        refused += 1;
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
                (stored, refused)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let (stored, refused) =
        clients.into_iter().map(|client| client.join().unwrap()).fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    (stored as f64 / started.elapsed().as_secs_f64(), refused)
}

/// Records/s sent as RFC 5424 over 3 TCP connections for `seconds`, counted until the writer
/// has taken every one.
fn run_syslog(service: &Service, lines: &Arc<Vec<String>>, next: &Arc<AtomicU64>, seconds: u64) -> f64 {
    let address = service.syslog_addresses[0].trim_start_matches("tcp://").to_string();
    let taken_before = service.state.metrics.records_in.get();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let senders: Vec<_> = (0..clients())
        .map(|_| {
            let (address, lines, next, stop) = (address.clone(), lines.clone(), next.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut stream = std::io::BufWriter::new(std::net::TcpStream::connect(address).unwrap());
                let mut sent = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for line in records(&lines, next.fetch_add(1, Ordering::Relaxed)) {
                        let severity = if line.level == "ERROR" { 3 } else { 6 };
                        let message = format!(
                            "<{}>1 {} host load - - [meta user=\"{}\"] {}",
                            8 + severity,
                            rfc3339(line.time_ms),
                            line.user,
                            line.message
                        );
                        write!(stream, "{} {message}", message.len()).unwrap();
                        sent += 1;
                    }
                }
                stream.flush().unwrap();
                sent
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let sent: u64 = senders.into_iter().map(|sender| sender.join().unwrap()).sum();
    while service.state.metrics.records_in.get() - taken_before < sent {
        std::thread::sleep(Duration::from_millis(10));
    }
    sent as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let seconds: u64 = std::env::var("OPSLOOP_BENCH_SECONDS").ok().and_then(|n| n.parse().ok()).unwrap_or(10);
    let lines = Arc::new(corpus::loghub_lines(16_000));
    println!(
        "shipper protocols against /api/ingest/logs, {seconds} s each, {} clients, {RECORDS_PER_REQUEST} records \
         per request; each run on a fresh server, each protocol right after a native run with the same records",
        clients()
    );
    let options = ServeOptions { syslog: vec![SyslogSpec::parse("tcp://127.0.0.1:0").unwrap()], ..Default::default() };
    let start = || server::start(&options);
    let mut ratios = Vec::new();
    let mut protocols: Vec<Option<&Protocol>> = PROTOCOLS.iter().map(Some).collect();
    protocols.push(None); // syslog
    // `OPSLOOP_BENCH_ONLY=<start of a name>` runs one protocol (for a profiler).
    let only = std::env::var("OPSLOOP_BENCH_ONLY").ok();
    for protocol in protocols {
        let name = protocol.map_or("syslog", |protocol| protocol.name);
        if only.as_ref().is_some_and(|only| !name.starts_with(only.as_str())) {
            continue;
        }
        let next = Arc::new(AtomicU64::new(0));
        let running = start();
        let (native_rate, native_refused) = run_http(&running.base, &NATIVE, &lines, &next, seconds);
        running.stop();
        // The same records again, through the protocol.
        let next = Arc::new(AtomicU64::new(0));
        let running = start();
        let (name, rate, refused) = match protocol {
            Some(protocol) => {
                let (rate, refused) = run_http(&running.base, protocol, &lines, &next, seconds);
                (protocol.name, rate, Some(refused))
            }
            None => ("syslog TCP, octet counting", run_syslog(&running.service, &lines, &next, seconds), None),
        };
        running.stop();
        let ratio = rate / native_rate;
        println!(
            "  {name:<28} {rate:>9.0} records/s (refused requests: {})  native {native_rate:>9.0} (refused: {native_refused})  {ratio:.2}x",
            refused.map_or("-".to_string(), |refused| refused.to_string())
        );
        ratios.push((name, ratio));
    }
    println!("goal: each protocol >= 0.8x the native rate");
    for (name, ratio) in ratios {
        println!("  {name:<28} {ratio:.2}x  {}", if ratio >= 0.8 { "meets" } else { "below" });
    }
}
