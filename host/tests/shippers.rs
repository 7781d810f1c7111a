//! Log shippers' protocols against a real `opsloop serve`, sent by the real clients (installed
//! by `.ci/run`; scripts in `tests/clients/`): the OpenTelemetry Python SDK's OTLP/HTTP
//! exporter, opensearch-py's and Elasticsearch's own Python client's bulk helpers, winston-loki
//! (snappy protobuf),
//! python-logging-loki (JSON), util-linux `logger` and Debian's `rsyslogd` (omfwd to the syslog
//! receiver, omelasticsearch to the bulk API). Each checks that every record arrives once with
//! its source, level, time and fields, that bad records are refused alone in the protocol's
//! own format, that a repeated push (OTLP, Loki) or `_id` (bulk) is stored once, even across a
//! restart or a `kill -9`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

mod common;

use common::{DataDir, INGESTER, READER, Server, agent, hits, messages, post_bytes};

/// Runs a client script from `tests/clients/` (Python, or Node.js for `.js`) with `env`; its
/// stdout. A missing client library fails the test with what to install.
fn run_client(script: &str, server: &Server, env: &[(&str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(script);
    let interpreter = if script.ends_with(".js") { "node" } else { "python3" };
    let output = Command::new(interpreter)
        .arg(&path)
        .env("URL", &server.base)
        .env("TOKEN", INGESTER)
        .envs(env.iter().copied())
        .output()
        .expect("python3 and node run the shipper clients");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError") && !stderr.contains("Cannot find module"),
        "a client library is missing; `.ci/run` installs them (pip install -r tests/clients/requirements.txt; \
         npm ci --prefix tests/clients):\n{stderr}"
    );
    assert!(output.status.success(), "{script} failed:\n{stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// Waits until `query` finds `expected` records (the server commits every 200 ms here).
fn wait_for_count(server: &Server, query: &str, expected: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let found = hits(server, query);
        if found.len() >= expected || std::time::Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn the_opentelemetry_sdk_delivers_every_record_once_with_source_level_time_fields_and_trace() {
    let data = DataDir::new("commit_interval_ms = 200");
    let server = Server::start(&data.data(), &[]);
    let before_ms = chrono::Utc::now().timestamp_millis();
    let sent = 250;
    let output = run_client("otlp_sdk.py", &server, &[("COUNT", "250"), ("SERVICE", "checkout")]);
    let report: Value = serde_json::from_str(output.trim()).unwrap();
    let after_ms = chrono::Utc::now().timestamp_millis();

    let found = wait_for_count(&server, "otlp", sent);
    assert_eq!(found.len(), sent, "every record once");
    let by_number: BTreeMap<u64, &Value> = found
        .iter()
        .map(|hit| {
            let message = hit["message"].as_str().unwrap();
            (message.split_whitespace().nth(2).unwrap().parse().unwrap(), hit)
        })
        .collect();
    assert_eq!(by_number.len(), sent, "no record twice");
    let levels = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    for (number, hit) in &by_number {
        assert_eq!(hit["source"], "checkout", "service.name is the source: {hit}");
        assert_eq!(hit["level"], levels[*number as usize % 5], "{hit}");
        assert_eq!(hit["fields"]["order.id"], format!("o-{number}"), "{hit}");
        assert_eq!(hit["fields"]["deployment.environment"], "test", "resource attributes are fields: {hit}");
        assert_eq!(hit["fields"]["otel.scope.name"], "shop.orders", "{hit}");
        let time = chrono::DateTime::parse_from_rfc3339(hit["timestamp"].as_str().unwrap()).unwrap().timestamp_millis();
        assert!((before_ms - 1000..=after_ms + 1000).contains(&time), "the record's own time: {hit}");
    }
    // The trace id is a field a search can follow.
    let trace_id = report["trace_id"].as_str().unwrap();
    let in_trace = messages(&server, &format!("fields.trace_id:{trace_id}"));
    assert_eq!(in_trace, vec![format!("otlp order {} handled", sent - 1 - (sent - 1) % 2)]);
    assert!(by_number[&0]["fields"]["span_id"].as_str().is_some_and(|id| id.len() == 16));
    // Dotted attribute names are searched as they are written.
    assert_eq!(hits(&server, "fields.deployment.environment:test").len(), sent);
    assert_eq!(messages(&server, "fields.order.id:o-7"), ["otlp order 7 handled"]);
    assert!(by_number[&1]["fields"].get("trace_id").is_none(), "no span, no trace id");
}

#[test]
fn otlp_json_bad_records_and_bad_bodies_are_answered_in_otlp_terms() {
    let data = DataDir::new("commit_interval_ms = 200");
    let server = Server::start(&data.data(), &[]);
    let body = json!({"resourceLogs": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
    "scopeLogs": [{"logRecords": [
        {"timeUnixNano": "1764979200000000000", "severityText": "Error", "body": {"stringValue": "otlpjson kept"}},
        {"timeUnixNano": "18000000000000000000", "body": {"stringValue": "otlpjson from 2540"}},
        {"observedTimeUnixNano": "1764979200000000000", "severityNumber": 13,
         "body": {"kvlistValue": {"values": [{"key": "msg", "value": {"stringValue": "otlpjson structured"}},
                                             {"key": "attempt", "value": {"intValue": "3"}}]}}}
    ]}]}]});
    let (status, answer) =
        post_bytes(&server, "/v1/logs", body.to_string().as_bytes(), &[("Content-Type", "application/json")]);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["partialSuccess"]["rejectedLogRecords"], 1, "{answer}");
    let message = answer["partialSuccess"]["errorMessage"].as_str().unwrap();
    assert!(message.contains("timestamp out of range") && message.contains(":2:"), "names what and where: {message}");
    let found = wait_for_count(&server, "otlpjson", 2);
    let kept: BTreeSet<&str> = found.iter().map(|hit| hit["message"].as_str().unwrap()).collect();
    assert_eq!(kept, BTreeSet::from(["otlpjson kept", "otlpjson structured"]));
    let structured = found.iter().find(|hit| hit["message"] == "otlpjson structured").unwrap();
    assert_eq!((structured["level"].as_str(), &structured["fields"]["attempt"]), (Some("WARN"), &json!(3)));

    // A body that is not an export request, and a content type OTLP does not use: refused
    // whole, as `google.rpc.Status` (code 3, INVALID_ARGUMENT), naming why.
    let (status, answer) =
        post_bytes(&server, "/v1/logs", b"{\"resourceLogs\": 7}", &[("Content-Type", "application/json")]);
    assert_eq!((status, answer["code"].as_i64()), (400, Some(3)), "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("not an OTLP ExportLogsServiceRequest"), "{answer}");
    let (status, answer) = post_bytes(&server, "/v1/logs", b"hello", &[("Content-Type", "text/plain")]);
    assert_eq!((status, answer["code"].as_i64()), (415, Some(3)), "{answer}");
    let mut response = agent()
        .post(&server.url("/v1/logs"))
        .header("Authorization", "Bearer wrong-token-0123456789")
        .header("Content-Type", "application/x-protobuf")
        .send(&b"\x0a\x00"[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let bytes = response.body_mut().read_to_vec().unwrap();
    // google.rpc.Status in protobuf: field 1 (code) = 16, UNAUTHENTICATED.
    assert_eq!(&bytes[..2], &[0x08, 16], "{bytes:?}");
    assert_eq!(hits(&server, "otlpjson").len(), 2, "nothing else was stored");
}

#[test]
fn the_opensearch_bulk_helper_stores_each_document_once_and_learns_which_failed() {
    let data = DataDir::new("commit_interval_ms = 200");
    let server = Server::start(&data.data(), &[]);
    let output = run_client("es_bulk.py", &server, &[("MODE", "mixed"), ("COUNT", "300"), ("AUTH", "basic")]);
    let report: Value = serde_json::from_str(output.trim()).unwrap();
    assert_eq!(report["version"], "8.11.0");
    assert_eq!(report["ok"], 600, "{report}");
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{report}");
    assert!(
        errors.iter().all(|error| error["status"] == 400 && error["error"]["type"] == "document_parsing_exception")
    );
    let reasons: Vec<&str> = errors.iter().map(|error| error["error"]["reason"].as_str().unwrap()).collect();
    assert!(
        reasons[0].contains("timestamp out of range") && reasons[1].contains("unreadable timestamp"),
        "{reasons:?}"
    );

    let payments = wait_for_count(&server, "source:payments", 300);
    let pages = wait_for_count(&server, "source:web", 300);
    assert_eq!((payments.len(), pages.len()), (300, 300));
    let first = payments.iter().find(|hit| hit["message"] == "bulk payment 61 declined").unwrap();
    assert_eq!(first["level"], "ERROR", "ECS log.level nested under log: {first}");
    assert_eq!(first["timestamp"], "2026-03-01T10:01:01.000Z");
    assert_eq!(first["fields"]["customer"]["id"], "c-61");
    assert_eq!(first["fields"]["log.logger"], "billing");
    let page = pages.iter().find(|hit| hit["message"] == "bulk page 7 served").unwrap();
    assert_eq!((page["level"].as_str(), &page["fields"]["http.status"]), (Some("INFO"), &json!(200)));
    // A dotted key and a nested one are one field to a search, as in Elasticsearch.
    assert_eq!(hits(&server, "fields.http.status:200").len(), 300);
    assert_eq!(hits(&server, "fields.customer.id:c-61").len(), 1);

    // The same run again, now with ApiKey auth: every `create` with an `_id` answers 409 and
    // is not stored again; the `index` actions without an id are new documents.
    let output = run_client("es_bulk.py", &server, &[("MODE", "mixed"), ("COUNT", "300"), ("AUTH", "apikey")]);
    let report: Value = serde_json::from_str(output.trim()).unwrap();
    let creates = report["statuses"]["create"].as_array().unwrap();
    assert!(creates.len() == 300 && creates.iter().all(|status| status == 409), "{report}");
    assert_eq!(wait_for_count(&server, "source:web", 600).len(), 600);
    assert_eq!(hits(&server, "source:payments").len(), 300, "no payment twice");
}

#[test]
fn the_official_elasticsearch_client_probes_sends_and_resends_without_storing_twice() {
    let data = DataDir::new("commit_interval_ms = 200");
    let server = Server::start(&data.data(), &[]);
    let output = run_client("es_official.py", &server, &[("COUNT", "120")]);
    let report: Value = serde_json::from_str(output.trim()).unwrap();
    assert_eq!(report["version"], "8.11.0");
    assert_eq!((report["first"].clone(), report["again"].clone()), (json!([120, 0]), json!([120, 0])), "{report}");
    let found = wait_for_count(&server, "source:official", 120);
    let distinct: BTreeSet<&str> = found.iter().map(|hit| hit["message"].as_str().unwrap()).collect();
    assert_eq!((found.len(), distinct.len()), (120, 120), "the resent documents were not stored again");
    assert!(found.iter().all(|hit| hit["level"] == "WARN" && hit["timestamp"] == "2026-04-01T08:00:00.000Z"));
}

#[test]
fn bulk_bodies_with_bad_actions_keep_the_good_ones_and_requests_refused_whole_say_why() {
    let data = DataDir::new("commit_interval_ms = 200");
    let server = Server::start(&data.data(), &[]);
    let body = concat!(
        "{\"index\":{}}\n{\"message\":\"bulkbad one\"}\n",
        "not an action\n{\"message\":\"bulkbad orphan\"}\n",
        "{\"update\":{\"_id\":\"1\"}}\n{\"doc\":{\"message\":\"bulkbad changed\"}}\n",
        "{\"index\":{}}\n[\"bulkbad not an object\"]\n",
        "{\"create\":{\"_id\":\"same\"}}\n{\"message\":\"bulkbad first\"}\n",
        "{\"create\":{\"_id\":\"same\"}}\n{\"message\":\"bulkbad first\"}\n",
        "{\"index\":{\"_id\":\"same\"}}\n{\"message\":\"bulkbad other content\"}\n",
    );
    let (status, answer) =
        post_bytes(&server, "/es/app/_bulk", body.as_bytes(), &[("Content-Type", "application/x-ndjson")]);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["errors"], true);
    let statuses: Vec<(String, u64)> = answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let (op, result) = item.as_object().unwrap().iter().next().unwrap();
            (op.clone(), result["status"].as_u64().unwrap())
        })
        .collect();
    let expected = [
        ("index", 201),
        ("index", 400),
        ("update", 400),
        ("index", 400),
        ("create", 201),
        ("create", 409),
        ("index", 409),
    ];
    assert_eq!(statuses, expected.map(|(op, status)| (op.to_string(), status)).to_vec(), "{answer}");
    let kept = wait_for_count(&server, "bulkbad", 2);
    let kept: BTreeSet<&str> = kept.iter().map(|hit| hit["message"].as_str().unwrap()).collect();
    assert_eq!(kept, BTreeSet::from(["bulkbad one", "bulkbad first"]));

    // Refused whole, in Elasticsearch's error format: a wrong token, a body over the limit.
    let mut response = agent()
        .post(&server.url("/es/_bulk"))
        .header("Authorization", "Bearer not-the-token-0123456789")
        .send("{\"index\":{\"_index\":\"x\"}}\n{\"message\":\"bulkbad unauthorized\"}\n")
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers().get("x-elastic-product").unwrap(), "Elasticsearch");
    let answer: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!((answer["status"].as_u64(), answer["error"]["type"].as_str()), (Some(401), Some("security_exception")));
    let (status, answer) = post_bytes(&server, "/es/_bulk", b"", &[]);
    assert_eq!((status, answer["error"]["type"].as_str()), (400, Some("parse_exception")), "{answer}");
    let (_, readback) = common::call("GET", &server.url("/api/search?q=bulkbad&limit=10"), Some(READER), None);
    assert_eq!(readback["total"], 2, "nothing else was stored");
}

#[test]
fn a_server_killed_during_a_bulk_stream_keeps_every_acknowledged_document_once() {
    let data = DataDir::new("commit_interval_ms = 60000");
    let server = Server::start(&data.data(), &[]);
    let acked = data.path("acked.txt");
    let acked_env = acked.to_str().unwrap().to_string();
    let total = 20_000;
    let client = {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/es_bulk.py");
        Command::new("python3")
            .arg(path)
            .env("URL", &server.base)
            .env("TOKEN", INGESTER)
            .env("MODE", "stream")
            .env("COUNT", total.to_string())
            .env("ACKED", &acked_env)
            .spawn()
            .unwrap()
    };
    // Kill the server once part of the stream is acknowledged.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::read_to_string(&acked).map_or(0, |text| text.lines().count()) < 2_000 {
        assert!(std::time::Instant::now() < deadline, "the stream did not get going");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let mut client = client;
    assert!(client.wait().unwrap().success());
    let acknowledged: BTreeSet<String> = std::fs::read_to_string(&acked).unwrap().lines().map(str::to_string).collect();
    assert!(acknowledged.len() >= 2_000 && acknowledged.len() < total, "killed mid-stream: {}", acknowledged.len());
    drop(server);

    let server = Server::start(&data.data(), &[]);
    let stored: Vec<String> = messages(&server, "source:stream")
        .iter()
        .map(|message| message.trim_start_matches("bulk stream ").to_string())
        .collect();
    let distinct: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(distinct.len(), stored.len(), "a document stored twice");
    assert!(
        acknowledged.is_subset(&distinct),
        "{} acknowledged documents lost",
        acknowledged.difference(&distinct).count()
    );

    // The shipper sends the whole stream again: what was stored answers 409, the rest is
    // stored, and every document is there once.
    std::fs::remove_file(&acked).unwrap();
    run_client("es_bulk.py", &server, &[("MODE", "stream"), ("COUNT", &total.to_string()), ("ACKED", &acked_env)]);
    assert_eq!(std::fs::read_to_string(&acked).unwrap().lines().count(), total);
    assert!(server.stop().success());
    let server = Server::start(&data.data(), &[]);
    let stored = messages(&server, "source:stream");
    let distinct: BTreeSet<&String> = stored.iter().collect();
    assert_eq!((stored.len(), distinct.len()), (total, total));
}

#[test]
fn loki_clients_deliver_every_record_once_in_snappy_protobuf_and_in_json() {
    let data = DataDir::new("commit_interval_ms = 200");
    let server = Server::start(&data.data(), &[]);
    let before_ms = chrono::Utc::now().timestamp_millis();
    let output = run_client("loki_winston.js", &server, &[("COUNT", "300")]);
    assert!(output.contains("application/x-protobuf"), "winston-loki sent protobuf: {output}");
    run_client("loki_python.py", &server, &[("COUNT", "60")]);
    let after_ms = chrono::Utc::now().timestamp_millis();

    let orders = wait_for_count(&server, "source:cart", 300);
    let invoices = wait_for_count(&server, "source:billing", 60);
    assert_eq!((orders.len(), invoices.len()), (300, 60));
    let levels = ["INFO", "WARN", "ERROR"];
    let mut seen = BTreeSet::new();
    for hit in &orders {
        let number: usize = hit["message"].as_str().unwrap().split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(seen.insert(number), "record {number} twice");
        assert_eq!(hit["level"], levels[number % 3], "the level label: {hit}");
        assert_eq!(hit["fields"]["order"], format!("o-{number}"), "stream labels are fields: {hit}");
        assert_eq!(hit["fields"]["env"], "test");
        let time = chrono::DateTime::parse_from_rfc3339(hit["timestamp"].as_str().unwrap()).unwrap().timestamp_millis();
        assert!((before_ms - 1000..=after_ms + 1000).contains(&time), "the entry's time: {hit}");
    }
    let levels = ["DEBUG", "INFO", "WARN", "ERROR"];
    let mut seen = BTreeSet::new();
    for hit in &invoices {
        let number: usize = hit["message"].as_str().unwrap().split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(seen.insert(number), "invoice {number} twice");
        assert_eq!(hit["level"], levels[number % 4], "the severity label: {hit}");
        assert_eq!(
            (hit["fields"]["order"].as_str(), hit["fields"]["logger"].as_str()),
            (Some(&*format!("o-{number}")), Some("billing.invoices"))
        );
    }
}

#[test]
fn loki_pushes_with_bad_entries_keep_the_good_ones_and_name_the_bad_in_plain_text() {
    let data = DataDir::new("commit_interval_ms = 200");
    let server = Server::start(&data.data(), &[]);
    let body = json!({"streams": [{"stream": {"job": "edge", "level": "info"}, "values": [
        ["1764979200000000000", "lokibad kept"],
        ["99999999999999999999999", "lokibad from the far future"],
        ["1764979200000000001", "{\"msg\": \"lokibad json line\", \"level\": \"error\", \"path\": \"/pay\"}"]
    ]}]});
    let mut response = agent()
        .post(&server.url("/loki/api/v1/push"))
        .header("Authorization", &format!("Bearer {INGESTER}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .unwrap();
    let text = response.body_mut().read_to_string().unwrap();
    assert_eq!(response.status().as_u16(), 400, "{text}");
    assert!(text.starts_with("1 entries refused, 2 stored: timestamp out of range"), "{text}");
    let kept = wait_for_count(&server, "lokibad", 2);
    let json_line =
        kept.iter().find(|hit| hit["message"] == "lokibad json line").expect("the JSON line is read as JSON");
    assert_eq!((json_line["level"].as_str(), json_line["fields"]["path"].as_str()), (Some("ERROR"), Some("/pay")));
    assert_eq!(kept.len(), 2);

    // Refused whole, in plain text: a body that is not snappy, a content type Loki does not take.
    for (content_type, body, status, says) in [
        ("application/x-protobuf", &b"definitely not snappy"[..], 400, "not snappy-compressed"),
        ("text/plain", &b"lokibad text"[..], 415, "Content-Type `text/plain`"),
    ] {
        let mut response = agent()
            .post(&server.url("/loki/api/v1/push"))
            .header("Authorization", &format!("Bearer {INGESTER}"))
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        let text = response.body_mut().read_to_string().unwrap();
        assert_eq!(response.status().as_u16(), status, "{text}");
        assert!(text.contains(says), "{text}");
    }
    assert_eq!(hits(&server, "lokibad").len(), 2, "nothing else was stored");
}

#[test]
fn a_push_sent_again_is_answered_again_and_stored_once_even_after_a_restart() {
    let data = DataDir::new("commit_interval_ms = 200");
    let loki_at = |first_ns: u64| {
        json!({"streams": [{"stream": {"job": "edge"}, "values": [
            [first_ns.to_string(), "pushagain loki one"],
            [(first_ns + 1).to_string(), "pushagain loki two"]
        ]}]})
        .to_string()
    };
    let otlp = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"timeUnixNano": "1764979200000000000", "body": {"stringValue": "pushagain otlp one"}},
        {"timeUnixNano": "1764979200000000001", "body": {"stringValue": "pushagain otlp two"}}
    ]}]}]})
    .to_string();
    let json_body = [("Content-Type", "application/json")];
    let send = |server: &Server, path: &str, body: &str, headers: &[(&str, &str)]| {
        let mut request = agent().post(&server.url(path)).header("Authorization", &format!("Bearer {INGESTER}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.send(body).unwrap();
        let replayed = response.headers().get("idempotent-replayed").is_some();
        (response.status().as_u16(), replayed, response.body_mut().read_to_string().unwrap())
    };
    let count = |server: &Server, query: &str| hits(server, query).len();

    let server = Server::start(&data.data(), &[]);
    // A shipper that missed the answer sends the same push again: the first answer, nothing
    // stored twice.
    for (attempt, replayed) in [(1, false), (2, true)] {
        let loki = send(&server, "/loki/api/v1/push?commit=force", &loki_at(1764979200000000000), &json_body);
        assert_eq!((loki.0, loki.1), (204, replayed), "Loki push {attempt}: {}", loki.2);
        let otlp = send(&server, "/v1/logs?commit=force", &otlp, &json_body);
        assert_eq!((otlp.0, otlp.1, otlp.2.as_str()), (200, replayed, "{}"), "OTLP push {attempt}");
    }
    assert_eq!((count(&server, "pushagain AND loki"), count(&server, "pushagain AND otlp")), (2, 2));
    // The same lines at other times are other entries.
    let later = send(&server, "/loki/api/v1/push?commit=force", &loki_at(1764979260000000000), &json_body);
    assert_eq!((later.0, later.1), (204, false), "{}", later.2);
    assert_eq!(count(&server, "pushagain AND loki"), 4);
    // A push's own Idempotency-Key: the same key with another body stores nothing.
    let keyed = [("Content-Type", "application/json"), ("Idempotency-Key", "batch-17")];
    assert_eq!(send(&server, "/v1/logs?commit=force", &otlp.replace("one", "uno"), &keyed).0, 200);
    let reused = send(&server, "/v1/logs?commit=force", &otlp.replace("one", "eins"), &keyed);
    assert_eq!(reused.0, 422, "{}", reused.2);
    assert!(reused.2.contains("batch-17"), "{}", reused.2);
    assert_eq!(count(&server, "pushagain AND otlp"), 4);
    assert!(server.stop().success());

    // Remembered across a restart.
    let server = Server::start(&data.data(), &[]);
    let again = send(&server, "/loki/api/v1/push?commit=force", &loki_at(1764979200000000000), &json_body);
    assert_eq!((again.0, again.1), (204, true), "{}", again.2);
    let again = send(&server, "/v1/logs?commit=force", &otlp.replace("one", "uno"), &keyed);
    assert_eq!((again.0, again.1), (200, true), "{}", again.2);
    assert_eq!((count(&server, "pushagain AND loki"), count(&server, "pushagain AND otlp")), (4, 4));
}

/// A server receiving syslog on TCP and UDP: the server and the two ports.
fn syslog_server(data: &DataDir) -> (Server, u16, u16) {
    let (child, line) = common::spawn_server_announcing(
        &data.data(),
        &["--syslog", "tcp://127.0.0.1:0", "--syslog", "udp://127.0.0.1:0"],
        &[],
    );
    let word = |prefix: &str| line.split_whitespace().find(|word| word.starts_with(prefix)).map(str::to_string);
    let base = word("http://").unwrap().trim_end_matches('/').to_string();
    let port = |prefix: &str| word(prefix).and_then(|address| address.rsplit(':').next()?.parse().ok()).unwrap();
    let (tcp, udp) = (port("tcp://"), port("udp://"));
    (Server { child, base }, tcp, udp)
}

/// Sends `lines` through util-linux `logger` with `options`, one message a line.
fn logger(options: &[&str], lines: &[String]) {
    use std::io::Write;
    let mut child = Command::new("logger")
        .args(options)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux logger sends the syslog messages");
    child.stdin.take().unwrap().write_all((lines.join("\n") + "\n").as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn syslog_from_logger_over_tcp_and_udp_arrives_once_with_app_level_time_and_structured_data() {
    let data = DataDir::new("commit_interval_ms = 200");
    let (server, tcp, udp) = syslog_server(&data);
    let (tcp, udp) = (tcp.to_string(), udp.to_string());
    let numbered = |word: &str, count: usize| (0..count).map(|n| format!("{word} {n} done")).collect::<Vec<_>>();
    let before_ms = chrono::Utc::now().timestamp_millis();
    // RFC 5424 with octet counting, RFC 5424 with newline framing, RFC 3164 over UDP.
    logger(
        &[
            "--tcp",
            "--octet-count",
            "--rfc5424",
            "-n",
            "127.0.0.1",
            "-P",
            &tcp,
            "-t",
            "payments",
            "-p",
            "user.err",
            "--sd-id",
            "order@32473",
            "--sd-param",
            "region=\"eu\"",
        ],
        &numbered("sysloga", 300),
    );
    logger(
        &["--tcp", "--rfc5424", "-n", "127.0.0.1", "-P", &tcp, "-t", "checkout", "-p", "local0.warning"],
        &numbered("syslogb", 200),
    );
    logger(
        &["--udp", "--rfc3164", "-n", "127.0.0.1", "-P", &udp, "-t", "cron", "-p", "daemon.info"],
        &numbered("syslogc", 50),
    );
    let after_ms = chrono::Utc::now().timestamp_millis();

    for (word, count, source, level) in
        [("sysloga", 300, "payments", "ERROR"), ("syslogb", 200, "checkout", "WARN"), ("syslogc", 50, "cron", "INFO")]
    {
        let found = wait_for_count(&server, word, count);
        let distinct: BTreeSet<&str> = found.iter().map(|hit| hit["message"].as_str().unwrap()).collect();
        assert_eq!((found.len(), distinct.len()), (count, count), "{word}: every message once");
        for hit in &found {
            assert_eq!((hit["source"].as_str(), hit["level"].as_str()), (Some(source), Some(level)), "{hit}");
            let time =
                chrono::DateTime::parse_from_rfc3339(hit["timestamp"].as_str().unwrap()).unwrap().timestamp_millis();
            // RFC 3164 times have whole seconds.
            assert!((before_ms - 2000..=after_ms + 1000).contains(&time), "the message's time: {hit}");
        }
    }
    let counted = wait_for_count(&server, "sysloga", 300);
    assert_eq!(counted[0]["fields"]["order@32473.region"], "eu", "structured data: {}", counted[0]);
}

#[test]
fn rsyslog_forwards_to_the_syslog_receiver_and_through_omelasticsearch_to_bulk() {
    let data = DataDir::new("commit_interval_ms = 200");
    let (server, tcp, _) = syslog_server(&data);
    let work = data.path("rsyslog");
    std::fs::create_dir_all(&work).unwrap();
    let input = free_port();
    let config = format!(
        "global(workDirectory=\"{work}\")\n\
         module(load=\"imtcp\")\n\
         module(load=\"omelasticsearch\")\n\
         input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{input}\" ruleset=\"forward\")\n\
         ruleset(name=\"forward\") {{\n\
           action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{tcp}\" protocol=\"tcp\" TCP_Framing=\"octet-counted\" \
                  template=\"RSYSLOG_SyslogProtocol23Format\")\n\
           action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{tcp}\" protocol=\"tcp\" template=\"RSYSLOG_ForwardFormat\")\n\
           action(type=\"omelasticsearch\" server=\"{base}/es\" searchIndex=\"rsyslog\" bulkmode=\"on\" \
                  uid=\"shipper\" pwd=\"{INGESTER}\")\n\
         }}\n",
        work = work.display(),
        base = server.base,
    );
    std::fs::write(work.join("rsyslog.conf"), config).unwrap();
    let mut rsyslog = Command::new("rsyslogd")
        .args(["-n", "-f"])
        .arg(work.join("rsyslog.conf"))
        .arg("-i")
        .arg(work.join("rsyslogd.pid"))
        .spawn()
        .expect("Debian's rsyslog (with rsyslog-elasticsearch) forwards the messages; .ci/run installs it");
    // Wait until rsyslog listens.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", input)).is_err() {
        assert!(std::time::Instant::now() < deadline, "rsyslogd did not start listening");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let lines: Vec<String> = (0..200).map(|n| format!("viarsyslog order {n} failed")).collect();
    logger(&["--tcp", "-n", "127.0.0.1", "-P", &input.to_string(), "-t", "shop", "-p", "user.err"], &lines);

    // Twice through the syslog receiver (RFC 5424 octet-counted, and rsyslog's forward format
    // with newline framing), once through omelasticsearch.
    let forwarded = wait_for_count(&server, "viarsyslog AND source:shop", 400);
    let indexed = wait_for_count(&server, "viarsyslog AND source:rsyslog", 200);
    let _ = rsyslog.kill();
    let _ = rsyslog.wait();
    for (found, copies, how) in [(&forwarded, 2, "omfwd"), (&indexed, 1, "omelasticsearch")] {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for hit in found.iter() {
            *counts.entry(hit["message"].as_str().unwrap()).or_default() += 1;
        }
        assert_eq!(counts.len(), 200, "{how}: every message");
        assert!(counts.values().all(|count| *count == copies), "{how}: each message {copies} time(s): {counts:?}");
        assert!(found.iter().all(|hit| hit["level"] == "ERROR"), "{how}: the severity is the level");
    }
    assert!(indexed[0]["fields"]["fromhost"].is_string(), "omelasticsearch's fields are kept: {}", indexed[0]);
}

#[test]
fn syslog_sent_just_before_a_sigterm_is_all_stored() {
    use std::io::Write;
    let data = DataDir::new("commit_interval_ms = 60000");
    let (server, tcp, _) = syslog_server(&data);
    let lines: Vec<u8> =
        (0..5_000).flat_map(|n| format!("<14>1 2026-12-06T03:01:00Z vm burst - - - line {n}\n").into_bytes()).collect();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    stream.write_all(&lines).unwrap();
    drop(stream);
    // At once: most of it is still in the kernel's buffer for the connection.
    let status = server.stop();
    assert!(status.success(), "a SIGTERM stops the server in order: {status}");
    let server = Server::start(&data.data(), &[]);
    let stored = messages(&server, "source:burst");
    let distinct: BTreeSet<&String> = stored.iter().collect();
    assert_eq!((stored.len(), distinct.len()), (5_000, 5_000), "what was sent before the stop is kept, once");
}
