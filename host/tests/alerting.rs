//! Alerting and dashboards through real parts on loopback: Debian's `prometheus-alertmanager`
//! receiving an item's alert and its resolution (and telling its own webhook), a JSON webhook
//! that fails twice before accepting, Debian's `prometheus` scraping the log-derived series,
//! HTTPS and syslog over TLS with a certificate made here, and bad configuration.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    ADMIN, Daemon, DataDir, READER, Server, agent, call, free_port, installed, messages, ready, urlencode, wait_for,
};
use serde_json::Value;

/// Three hours of requests on `shop`, with ten minutes of 40 errors a minute at 02:30.
fn error_burst_log() -> String {
    let mut lines = Vec::new();
    for minute in 0..180u32 {
        for n in 0..20u32 {
            lines.push(format!(
                r#"{{"ts":"2026-03-02T{:02}:{:02}:{n:02}Z","level":"INFO","msg":"GET /api/items/{} 200 in {} ms"}}"#,
                minute / 60,
                minute % 60,
                n * 7 + minute,
                n + 3
            ));
        }
        if (150..160).contains(&minute) {
            for n in 0..40u32 {
                lines.push(format!(
                    r#"{{"ts":"2026-03-02T{:02}:{:02}:{n:02}Z","level":"ERROR","msg":"payment gateway refused connection to 10.0.0.{}"}}"#,
                    minute / 60,
                    minute % 60,
                    n % 7
                ));
            }
        }
    }
    lines.join("\n") + "\n"
}

fn ingest_burst(server: &Server) {
    let (status, body) = call(
        "POST",
        &server.url("/api/ingest/logs?source=shop&format=json&commit=wait_for"),
        Some(ADMIN),
        Some(&error_burst_log()),
    );
    assert_eq!(status, 200, "{body}");
}

/// One request a [`Receiver`] took.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
    answered: u16,
}

/// An HTTP receiver on loopback that records every request and answers the scripted statuses
/// first, then 200.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(script: Vec<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let (log, script) = (received.clone(), Arc::new(Mutex::new(script)));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, script) = (log.clone(), script.clone());
                std::thread::spawn(move || Self::answer(stream, &log, &script));
            }
        });
        Self { url, received }
    }

    fn answer(stream: TcpStream, log: &Mutex<Vec<Received>>, script: &Mutex<Vec<u16>>) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let length: usize =
            headers.iter().find(|(name, _)| name == "content-length").map_or(0, |(_, value)| value.parse().unwrap());
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        let answered = {
            let mut script = script.lock().unwrap();
            if script.is_empty() { 200 } else { script.remove(0) }
        };
        log.lock().unwrap().push(Received {
            path,
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            answered,
        });
        let mut stream = stream;
        let _ = write!(stream, "HTTP/1.1 {answered} Scripted\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    }

    fn on(&self, path: &str) -> Vec<Received> {
        self.received.lock().unwrap().iter().filter(|request| request.path == path).cloned().collect()
    }
}

/// Debian's Alertmanager on loopback, notifying `webhook` of every group at once, resolved
/// ones too.
fn start_alertmanager(dir: &Path, webhook: &str) -> (Daemon, String) {
    let program = installed("prometheus-alertmanager", "apt-get install prometheus prometheus-alertmanager");
    let config = dir.join("alertmanager.yml");
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: hook\n  group_by: ['alertname', 'item']\n  group_wait: 100ms\n  group_interval: 1s\n  \
             repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: {webhook}\n        \
             send_resolved: true\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new(program)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let daemon = Daemon(child);
    let url = format!("http://127.0.0.1:{port}");
    wait_for(30, "Alertmanager to be ready", || ready(&format!("{url}/-/ready")).then_some(()));
    (daemon, url)
}

/// Appends alerting tables to a data directory's config.
fn add_config(data: &DataDir, tables: &str) {
    let path = data.data().join("opsloop.toml");
    let mut config = std::fs::read_to_string(&path).unwrap();
    config.push_str(tables);
    std::fs::write(path, config).unwrap();
}

fn alerts_report(server: &Server) -> Value {
    let (status, report) = call("GET", &server.url("/api/alerts"), Some(READER), None);
    assert_eq!(status, 200, "{report}");
    report
}

#[test]
fn alertmanager_receives_an_item_alert_and_its_resolution() {
    let am_webhook = Receiver::start(vec![]);
    let data = DataDir::new("commit_interval_ms = 100");
    let (_alertmanager, am) = start_alertmanager(data.dir.path(), &format!("{}/am", am_webhook.url));
    add_config(
        &data,
        &format!(
            "[alerting]\npage_url = \"https://opsloop.example\"\nresend_ms = 1000\n\
             [[receivers]]\nname = \"team-am\"\ntype = \"alertmanager\"\nurl = \"{am}\"\n\
             [[alerts]]\nname = \"OpsloopNewProblem\"\non = \"items\"\nreceivers = [\"team-am\"]\n"
        ),
    );
    let server = Server::start(&data.data(), &[]);
    ingest_burst(&server);

    // Raised: Alertmanager holds the alert with the item's labels and annotations.
    let alert = wait_for(30, "the alert in Alertmanager", || {
        let (status, alerts) =
            call("GET", &format!("{am}/api/v2/alerts?filter=alertname%3D%22OpsloopNewProblem%22"), None, None);
        assert_eq!(status, 200, "{alerts}");
        alerts.as_array().and_then(|alerts| alerts.first().cloned())
    });
    let item = alert["labels"]["item"].as_str().unwrap().to_string();
    assert!(item.starts_with("FB-"), "{alert:#}");
    assert_eq!(alert["labels"]["source"], "shop", "{alert:#}");
    assert_eq!(alert["labels"]["kind"], "incident", "{alert:#}");
    assert_eq!(alert["status"]["state"], "active", "{alert:#}");
    assert!(alert["annotations"]["summary"].as_str().unwrap().contains("payment gateway refused"), "{alert:#}");
    assert!(alert["annotations"]["query"].as_str().unwrap().starts_with("pattern:"), "{alert:#}");
    assert_eq!(alert["annotations"]["link"], format!("https://opsloop.example/#item={}", urlencode(&item)));
    let firing = wait_for(30, "Alertmanager's firing notification", || {
        am_webhook.on("/am").into_iter().find(|request| request.body["status"] == "firing")
    });
    assert_eq!(firing.body["alerts"][0]["labels"]["item"], item.as_str());

    // Still firing: opsloop reminds Alertmanager every `resend_ms`, which moves the end on.
    let first_end = alert["endsAt"].as_str().unwrap().to_string();
    wait_for(20, "a reminder moving the alert's end", || {
        let (_, alerts) = call("GET", &format!("{am}/api/v2/alerts?filter=item%3D%22{item}%22"), None, None);
        alerts[0]["endsAt"].as_str().is_some_and(|end| end > first_end.as_str()).then_some(())
    });
    assert!(alerts_report(&server)["receivers"][0]["last_delivered_ms"].is_number());

    // Resolved by a person: Alertmanager is told, drops the alert and notifies the resolution.
    let (status, body) = call("POST", &server.url(&format!("/api/feedback/{item}/resolve")), Some(ADMIN), None);
    assert_eq!(status, 200, "{body}");
    let resolved = wait_for(30, "Alertmanager's resolved notification", || {
        am_webhook.on("/am").into_iter().find(|request| request.body["status"] == "resolved")
    });
    assert_eq!(resolved.body["alerts"][0]["labels"]["item"], item.as_str());
    assert!(resolved.body["alerts"][0]["endsAt"].as_str().unwrap() > "2026", "{:#}", resolved.body);
    let (_, active) = call("GET", &format!("{am}/api/v2/alerts?active=true&filter=item%3D%22{item}%22"), None, None);
    assert_eq!(active.as_array().unwrap().len(), 0, "{active:#}");

    // opsloop recorded both deliveries, once each.
    let report = alerts_report(&server);
    let sent = report["sent"].as_array().unwrap();
    let events: Vec<(&str, &str, &str)> = sent
        .iter()
        .map(|record| {
            (
                record["event"].as_str().unwrap(),
                record["receiver"].as_str().unwrap(),
                record["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(events, vec![("resolved", "team-am", "delivered"), ("firing", "team-am", "delivered")], "{report:#}");
    assert!(report["pending"].as_array().unwrap().is_empty(), "{report:#}");
    assert!(report["firing"].as_array().unwrap().is_empty(), "{report:#}");
    let listed =
        Command::new(env!("CARGO_BIN_EXE_opsloop")).arg("--data").arg(data.data()).arg("alerts").output().unwrap();
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{text}");
    assert_eq!(text.matches("delivered").count(), 2, "{text}");
    assert!(text.contains(&format!("resolved {item} (resolved)")), "{text}");
}

#[test]
fn a_webhook_that_fails_twice_gets_one_delivery_on_the_third_attempt_and_slack_its_message() {
    let hooks = Receiver::start(vec![503, 503]);
    let chat = Receiver::start(vec![]);
    let anomalies = Receiver::start(vec![]);
    let data = DataDir::new("commit_interval_ms = 100");
    add_config(
        &data,
        &format!(
            "[alerting]\nretry_initial_ms = 200\n\
             [[receivers]]\nname = \"ops-hook\"\ntype = \"webhook\"\nurl = \"{0}/hook\"\nheaders = {{ Authorization = \"Bearer hook-secret\" }}\n\
             [[receivers]]\nname = \"chat\"\ntype = \"slack\"\nurl = \"{1}/slack\"\n\
             [[receivers]]\nname = \"anomaly-hook\"\ntype = \"webhook\"\nurl = \"{2}/anomalies\"\n\
             [[alerts]]\nname = \"incidents\"\non = \"items\"\nkinds = [\"incident\"]\nreceivers = [\"ops-hook\", \"chat\"]\n\
             [[alerts]]\nname = \"bursts\"\non = \"anomalies\"\nkinds = [\"error-burst\"]\nsources = [\"shop\"]\nreceivers = [\"anomaly-hook\"]\n",
            hooks.url, chat.url, anomalies.url
        ),
    );
    let server = Server::start(&data.data(), &[]);
    ingest_burst(&server);
    let report = wait_for(30, "the webhook delivery recorded", || {
        let report = alerts_report(&server);
        report["sent"].as_array().unwrap().iter().any(|record| record["receiver"] == "ops-hook").then_some(report)
    });
    let to_hook: Vec<&Value> =
        report["sent"].as_array().unwrap().iter().filter(|record| record["receiver"] == "ops-hook").collect();
    assert_eq!(to_hook.len(), 1, "{report:#}");
    assert_eq!(to_hook[0]["outcome"], "delivered", "{report:#}");
    assert_eq!(to_hook[0]["attempts"], 3, "{report:#}");

    let attempts = hooks.on("/hook");
    assert_eq!(attempts.iter().map(|a| a.answered).collect::<Vec<_>>(), vec![503, 503, 200]);
    let keys: Vec<&str> = attempts
        .iter()
        .map(|a| a.headers.iter().find(|(name, _)| name == "idempotency-key").unwrap().1.as_str())
        .collect();
    assert!(keys.iter().all(|key| *key == keys[0]), "every attempt carries the same key: {keys:?}");
    assert!(attempts[2].headers.contains(&("authorization".into(), "Bearer hook-secret".into())));
    let message = &attempts[2].body;
    assert_eq!(message["event"], "firing", "{message:#}");
    assert_eq!(message["status"], "new", "{message:#}");
    assert_eq!(message["labels"]["kind"], "incident", "{message:#}");
    let item = message["subject"].as_str().unwrap().to_string();
    let slack = wait_for(10, "the Slack message", || chat.on("/slack").into_iter().next());
    let text = slack.body["text"].as_str().unwrap();
    assert!(text.contains(&format!("*[NEW] {item}*")) && text.contains("payment gateway refused"), "{text}");
    assert!(text.contains(&format!("<{}/#item={item}|Open in opsloop>", server.base)), "links to this server: {text}");

    // The burst's findings are one anomaly alert; its logs are from March, so it has been quiet
    // for longer than `quiet_for` and is resolved at once.
    let told = wait_for(10, "the anomaly alert and its resolution", || {
        let told = anomalies.on("/anomalies");
        (told.len() == 2).then_some(told)
    });
    let burst = &told[0];
    assert_eq!(burst.body["event"], "firing", "{:#}", burst.body);
    assert_eq!(burst.body["labels"]["kind"], "error-burst", "{:#}", burst.body);
    assert_eq!(burst.body["labels"]["source"], "shop", "{:#}", burst.body);
    assert!(burst.body["summary"].as_str().unwrap().contains("payment gateway refused"), "{:#}", burst.body);
    assert_eq!(told[1].body["event"], "resolved", "{:#}", told[1].body);
    assert_eq!(told[1].body["subject"], burst.body["subject"]);

    // The same state is not told twice: not on the next builds, not after a restart.
    std::thread::sleep(Duration::from_secs(1));
    assert!(server.stop().success());
    let server = Server::start(&data.data(), &[]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(hooks.on("/hook").len(), 3);
    assert_eq!(chat.on("/slack").len(), 1);
    assert_eq!(anomalies.on("/anomalies").len(), 2);
    let firing: Vec<String> = alerts_report(&server)["firing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alert| alert["rule"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(firing, ["incidents"], "the item still fires, told once");
}

#[test]
fn an_unknown_receiver_stops_the_start_and_an_unreachable_alertmanager_stops_no_ingest() {
    let data = DataDir::new("");
    add_config(&data, "[[alerts]]\nname = \"r\"\non = \"items\"\nreceivers = [\"pager\"]\n");
    let output = Command::new(env!("CARGO_BIN_EXE_opsloop"))
        .arg("--data")
        .arg(data.data())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("receiver `pager`") && stderr.contains("opsloop.toml"), "{stderr}");

    // Nothing listens on this port.
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let data = DataDir::new("commit_interval_ms = 100");
    add_config(
        &data,
        &format!(
            "[alerting]\nretry_initial_ms = 100\n\
             [[receivers]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"{nowhere}\"\n\
             [[alerts]]\nname = \"r\"\non = \"items\"\nreceivers = [\"am\"]\n\
             [[alerts]]\nname = \"typo\"\non = \"anomalies\"\nkinds = [\"error_burst\"]\nreceivers = [\"am\"]\n"
        ),
    );
    let server = Server::start(&data.data(), &[]);
    let doubts = alerts_report(&server)["doubts"].clone();
    assert!(doubts[0].as_str().unwrap().contains("`error_burst`"), "{doubts:#}");
    ingest_burst(&server);
    assert_eq!(messages(&server, "level:ERROR AND payment").len(), 400, "ingest went on");
    let report = wait_for(30, "the failed attempts in /api/alerts", || {
        let report = alerts_report(&server);
        report["pending"].as_array().unwrap().iter().any(|n| n["attempts"].as_u64() >= Some(2)).then_some(report)
    });
    let receiver = &report["receivers"][0];
    assert_eq!(receiver["name"], "am", "{report:#}");
    assert!(receiver["last_error"].as_str().unwrap().contains(&nowhere), "{report:#}");
    assert!(report["pending"][0]["last_error"].as_str().unwrap().contains("/api/v2/alerts"), "{report:#}");
}

#[test]
fn prometheus_scrapes_the_log_derived_series() {
    let program = installed("prometheus", "apt-get install prometheus prometheus-alertmanager");
    let data = DataDir::new("commit_interval_ms = 100");
    let server = Server::start(&data.data(), &[]);
    ingest_burst(&server);
    let target = server.base.trim_start_matches("http://").to_string();
    let config = data.path("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: opsloop\n    authorization:\n      \
             credentials: {READER}\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let _prometheus = Daemon(
        Command::new(program)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.path("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let prometheus = format!("http://127.0.0.1:{port}");
    let query = |expression: &str| -> Option<f64> {
        // Refused while Prometheus starts.
        let mut response =
            agent().get(&format!("{prometheus}/api/v1/query?query={}", urlencode(expression))).call().ok()?;
        let answer: Value = response.body_mut().read_json().ok()?;
        answer["data"]["result"][0]["value"][1].as_str().and_then(|value| value.parse().ok())
    };
    let errors = wait_for(60, "the scraped record counts", || {
        query(r#"opsloop_log_records_total{source="shop",level="error"}"#)
    });
    assert_eq!(errors, 400.0);
    assert_eq!(query(r#"sum(opsloop_log_records_total{source="shop"})"#), Some(4_000.0));
    // The busiest patterns have series of their own, named by their template.
    let named = query(
        r#"sum(opsloop_log_pattern_records_total{source="shop"} * on(source, pattern) group_left(template) opsloop_log_pattern_info{template=~"payment gateway.*"})"#,
    );
    assert_eq!(named, Some(400.0), "the error pattern has its own series");
    let total_patterns = query(r#"sum(opsloop_log_pattern_records_total{source="shop"})"#);
    assert_eq!(total_patterns, Some(4_000.0));
    assert!(query(r#"sum(opsloop_anomaly_findings_total{source="shop"})"#).unwrap_or(0.0) >= 1.0);
    let items = wait_for(30, "the board's item count", || {
        query(r#"opsloop_feedback_items{status="new",kind="incident"}"#).filter(|count| *count >= 1.0)
    });
    assert_eq!(items, 1.0);
    let (_, targets) = call("GET", &format!("{prometheus}/api/v1/targets"), None, None);
    assert_eq!(targets["data"]["activeTargets"][0]["health"], "up", "{targets:#}");

    // Every panel of the Grafana dashboard the repository ships has data.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        let expression = panel["targets"][0]["expr"].as_str().unwrap();
        wait_for(30, &format!("data for the panel {}: {expression}", panel["title"]), || query(expression));
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost: the PEM files' paths and the DER
/// a client trusts.
fn certificate(data: &DataDir) -> (String, String, Vec<u8>) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let (cert, key) = (data.path("cert.pem"), data.path("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert.display().to_string(), key.display().to_string(), made.cert.der().to_vec())
}

#[test]
fn https_answers_plain_http_is_refused_and_syslog_arrives_over_tls() {
    let data = DataDir::new("commit_interval_ms = 100");
    let (cert, key, der) = certificate(&data);
    let (child, line) = common::spawn_server_announcing(
        &data.data(),
        &["--tls-cert", &cert, "--tls-key", &key, "--syslog", "tls://127.0.0.1:0"],
        &[],
    );
    let mut server = Server { child, base: String::new() };
    let https = line.split_whitespace().find(|word| word.starts_with("https://")).expect(&line);
    server.base = https.trim_end_matches('/').to_string();
    let syslog = line.split_whitespace().find_map(|word| word.strip_prefix("tls://")).expect(&line).to_string();

    let roots = ureq::tls::RootCerts::Specific(Arc::new(vec![ureq::tls::Certificate::from_der(&der).to_owned()]));
    let client: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .http_status_as_error(false)
        .build()
        .into();
    let mut answer = client.get(&server.url("/healthz")).call().unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.body_mut().read_to_string().unwrap(), "ok");

    // Plain HTTP on the same port: a 400 that says why, and nothing served.
    let plain = server.url("/healthz").replace("https://", "http://");
    let mut refused = agent().get(&plain).call().unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.body_mut().read_to_string().unwrap().contains("HTTPS only"));

    // Syslog over TLS (RFC 5425 octet counting), from a rustls client trusting the same root
    // that only writes, then closes at once, as syslog senders do.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls_pki_types::CertificateDer::from(der.clone())).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let session = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut tls = rustls::StreamOwned::new(session, TcpStream::connect(&syslog).unwrap());
    for n in 0..3 {
        let message = format!("<14>1 2026-12-06T04:00:0{n}Z vm1 payments 77 - - card declined over tls {n}");
        write!(tls, "{} {message}", message.len()).unwrap();
    }
    tls.flush().unwrap();
    tls.conn.send_close_notify();
    let _ = tls.flush();
    drop(tls);
    let stored = wait_for(20, "the syslog messages", || {
        let (status, page) = client
            .get(&server.url(&format!("/api/search?q={}", urlencode("source:payments"))))
            .header("Authorization", &format!("Bearer {READER}"))
            .call()
            .map(|mut response| (response.status().as_u16(), response.body_mut().read_json::<Value>().unwrap()))
            .unwrap();
        assert_eq!(status, 200);
        let hits = page["hits"].as_array().unwrap().len();
        (hits == 3).then_some(page)
    });
    assert!(stored["hits"][0]["message"].as_str().unwrap().contains("card declined over tls"), "{stored:#}");
}
