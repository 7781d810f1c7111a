//! Anomaly detection end to end: a synthetic stream with planted anomalies (a new error
//! pattern, a spike, an error burst, broken sessions) is imported through the real pipeline
//! with the built-in patterns plugin in Wasm; each planted anomaly must be found where it was
//! planted, and a clean stream of the same shape must produce no finding at all.

use opsloop::config::Settings;
use opsloop::data_dir::DataDir;
use opsloop::index::LogIndex;
use opsloop::pipeline::{FindingStore, ImportOptions, ImportSource, PluginSet, StoredFinding, import};

const MINUTE_MS: i64 = 60_000;
/// 2026-03-02T00:00:00Z
const START_MS: i64 = 1_772_409_600_000;
const HOURS: i64 = 5;

/// Which anomalies to plant.
#[derive(Clone, Copy)]
struct Plant {
    new_error_at_minute: Option<i64>,
    spike_at_minute: Option<i64>,
    burst_at_minute: Option<i64>,
    broken_sessions: bool,
}

const CLEAN: Plant =
    Plant { new_error_at_minute: None, spike_at_minute: None, burst_at_minute: None, broken_sessions: false };

fn line(time_ms: i64, level: &str, message: &str) -> String {
    let time = chrono::DateTime::from_timestamp_millis(time_ms).unwrap().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    format!(r#"{{"ts":"{time}","level":"{level}","msg":"{message}"}}"#)
}

/// A web service's log: steady traffic with some jitter, a few warnings and errors, and
/// request sessions (`req-N`: start, fetch ×2, done).
fn stream(plant: Plant) -> String {
    let mut lines = Vec::new();
    // Request ids have three digits or more, as real ones do.
    let mut request = 100u64;
    for minute in 0..HOURS * 60 {
        let at = |second: i64| START_MS + minute * MINUTE_MS + second * 1000;
        let jitter = (minute * 7919 % 11) as i64;
        for n in 0..(30 + jitter) {
            lines.push(line(
                at(n % 60),
                "INFO",
                &format!("GET /api/items/{} 200 in {} ms", n * 31 + minute, 3 + n % 17),
            ));
        }
        let refreshes = if plant.spike_at_minute.is_some_and(|at| (at..at + 5).contains(&minute)) { 300 } else { 10 };
        for n in 0..refreshes {
            lines.push(line(at(n % 60), "INFO", &format!("cache refresh took {} ms", 40 + n % 9)));
        }
        for n in 0..3 {
            lines.push(line(at(10 + n), "WARN", &format!("slow query on table orders: {} ms", 900 + n * 13 + minute)));
        }
        let timeouts =
            if plant.burst_at_minute.is_some_and(|at| (at..at + 3).contains(&minute)) { 80 } else { 1 + minute % 3 };
        for n in 0..timeouts {
            lines.push(line(at(n % 60), "ERROR", &format!("upstream timeout after {} ms calling billing", 5000 + n)));
        }
        if plant.new_error_at_minute.is_some_and(|at| (at..at + 2).contains(&minute)) {
            for n in 0..10 {
                lines.push(line(at(n * 5), "ERROR", &format!("disk /dev/sda full: cannot write segment {n}")));
            }
        }
        for n in 0..4 {
            request += 1;
            let second = n * 12;
            let broken = plant.broken_sessions && minute == 200 && n == 0;
            let retried = plant.broken_sessions && minute == 230 && n == 1;
            lines.push(line(at(second), "INFO", &format!("req-{request} start user={}", request % 97)));
            lines.push(line(at(second + 1), "INFO", &format!("req-{request} fetch shard={}", request % 5)));
            if retried {
                lines.push(line(at(second + 2), "INFO", &format!("req-{request} retrying fetch after reset")));
            }
            lines.push(line(at(second + 2), "INFO", &format!("req-{request} fetch shard={}", (request + 1) % 5)));
            if !broken {
                lines.push(line(at(second + 3), "INFO", &format!("req-{request} done in {} ms", 20 + request % 13)));
            }
        }
    }
    lines.join("\n")
}

fn findings_of(plant: Plant) -> Vec<StoredFinding> {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    let index = LogIndex::open(&data.index_dir()).unwrap();
    let settings = Settings::parse(
        std::path::Path::new("opsloop.toml"),
        "version = 1\n[plugins.config.patterns]\nbaseline = \"5000\"\nsession-key = 'req-[0-9]+'\nsession-baseline = \"100\"\n",
    )
    .unwrap();
    let (mut plugins, errors) = PluginSet::load(&data, &settings).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let findings = FindingStore::new(data.findings_file());
    let source = ImportSource::Bytes { name: "service.log".into(), bytes: stream(plant).into_bytes() };
    let summary = import(&index, &mut plugins, &findings, vec![source], &ImportOptions::default(), None).unwrap();
    assert!(summary.plugin_failures.is_empty(), "{:?}", summary.plugin_failures);
    assert_eq!(summary.rejections.total(), 0);
    findings.read_all().unwrap()
}

fn minute_of(time_ms: Option<i64>) -> i64 {
    (time_ms.expect("a time span") - START_MS) / MINUTE_MS
}

#[test]
fn a_clean_stream_has_no_findings() {
    let findings = findings_of(CLEAN);
    assert!(findings.is_empty(), "{:#?}", findings);
}

#[test]
fn every_planted_anomaly_is_found_where_it_was_planted() {
    let plant = Plant {
        new_error_at_minute: Some(150),
        spike_at_minute: Some(100),
        burst_at_minute: Some(60),
        broken_sessions: true,
    };
    let findings = findings_of(plant);
    let of_kind = |kind: &str| findings.iter().filter(|f| f.kind == kind).collect::<Vec<_>>();

    // The disk error, and the retry line of the planted session: both new after the baseline.
    let new = of_kind("new-pattern");
    assert_eq!(new.len(), 2, "{new:#?}");
    let disk = new.iter().find(|f| f.summary.contains("disk")).expect("the disk error is new");
    assert!(disk.score >= 0.9, "an error-level new pattern ranks high");
    assert_eq!(minute_of(disk.first_seen_ms), 150);
    assert!(new.iter().any(|f| f.summary.contains("retrying")), "{new:#?}");

    let spikes = of_kind("spike");
    let refresh = spikes.iter().find(|f| f.summary.contains("cache refresh")).expect("the cache refresh spike");
    assert_eq!((minute_of(refresh.first_seen_ms), minute_of(refresh.last_seen_ms)), (100, 105));
    assert!(refresh.evidence.query.as_deref().unwrap().starts_with("pattern:"));
    assert!(!refresh.evidence.examples.is_empty());

    // The timeout burst; the new disk errors (10 a minute) also make a smaller one at 150.
    let bursts = of_kind("error-burst");
    let timeouts = bursts.iter().find(|f| minute_of(f.first_seen_ms) == 60).expect("the burst at 60");
    assert_eq!(minute_of(timeouts.last_seen_ms), 63);
    assert!(timeouts.summary.contains("upstream timeout"), "{}", timeouts.summary);
    assert!(bursts.iter().all(|f| [60, 150].contains(&minute_of(f.first_seen_ms))), "{bursts:#?}");

    let sessions = of_kind("anomalous-session");
    let mut keys: Vec<&str> = sessions.iter().map(|f| f.evidence.query.as_deref().unwrap().trim_matches('"')).collect();
    keys.sort();
    let broken = format!("req-{}", 100 + 200 * 4 + 1);
    let retried = format!("req-{}", 100 + 230 * 4 + 2);
    let mut planted = vec![broken.as_str(), retried.as_str()];
    planted.sort();
    assert_eq!(keys, planted, "{sessions:#?}");

    // Nothing else: the planted anomalies may echo (the spiking pattern's own drop back, the
    // timeouts' spike beside the burst) but nothing unrelated fires.
    for finding in &findings {
        let related = ["disk", "cache refresh", "upstream timeout", "req-", "retrying"]
            .iter()
            .any(|word| finding.summary.contains(word));
        assert!(related, "unexpected finding: {finding:#?}");
    }
}
