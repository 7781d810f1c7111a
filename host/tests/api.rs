//! The HTTP API through the router itself (`tower::ServiceExt::oneshot`, no socket): every
//! operation the OpenAPI document names is routed, and no route is undocumented; cursor pages
//! cover every hit exactly once, ties in time included; errors are JSON with stable codes.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use opsloop::config::{Role, Settings, TokenSetting};
use opsloop::data_dir::DataDir;
use opsloop::serve::{OPENAPI, ServeOptions, Service};
use serde_json::Value;
use tower::ServiceExt;

const TOKEN: &str = "router-admin-0123456789";

fn service(dir: &std::path::Path) -> Service {
    let mut settings = Settings::default();
    settings.serve.tokens = vec![TokenSetting { name: "admin".into(), token: TOKEN.into(), role: Role::Admin }];
    Service::start(&DataDir::new(dir), &settings, &ServeOptions::default()).unwrap()
}

async fn send(service: &Service, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = service.router().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The status and content type of a GET whose body is not read.
async fn stream_head(service: &Service, uri: &str) -> (StatusCode, String) {
    let request =
        Request::builder().uri(uri).header("authorization", format!("Bearer {TOKEN}")).body(Body::empty()).unwrap();
    let response = service.router().oneshot(request).await.unwrap();
    let content_type = response.headers().get("content-type").map_or("", |v| v.to_str().unwrap()).to_string();
    (response.status(), content_type)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed_and_every_route_documented() {
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path());
    let document: Value = serde_json::from_str(OPENAPI).unwrap();
    let mut operations = 0;
    for (path, methods) in document["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            operations += 1;
            let uri = path
                .replace("{id}", "X-1")
                .replace("{index}", "app")
                .replace("/api/context", "/api/context?file=f&line=1");
            if path == "/api/tail" {
                // An event stream does not end: its answer starts, and that is all to see here.
                let (status, content_type) = stream_head(&service, &uri).await;
                assert_eq!((status, content_type.as_str()), (StatusCode::OK, "text/event-stream"));
                continue;
            }
            let (status, body) = send(&service, &method.to_uppercase(), &uri, "a line\n").await;
            let unrouted = body["error"]["message"].as_str().is_some_and(|m| m.starts_with("no such route"));
            assert!(!unrouted && status != StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is not routed: {body}");
        }
    }
    let routes = [include_str!("../src/serve/api.rs"), include_str!("../src/serve/shippers.rs")]
        .iter()
        // A route with a second method (`post(…).put(…)`) is two operations.
        .map(|source| source.matches(".route(\"").count() + source.matches(").put(").count())
        .sum::<usize>();
    assert_eq!(routes, operations, "a route in api.rs or shippers.rs is missing from docs/openapi.json");
    let (status, body) = send(&service, "GET", "/api/missing", "").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, body) = send(&service, "DELETE", "/api/search", "").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
    service.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_pages_cover_every_hit_once_even_when_times_tie() {
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path());
    // 230 records over 23 distinct seconds: every page boundary falls inside a tie.
    let body: String = (0..230)
        .map(|n| format!(r#"{{"ts":"2026-05-01T12:00:{:02}Z","msg":"paging record {n}"}}"#, n / 10) + "\n")
        .collect();
    let (status, answer) = send(&service, "POST", "/api/ingest/logs?format=json&commit=wait_for", &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut seen = Vec::new();
    let mut uri = "/api/search?q=paging&limit=17".to_string();
    loop {
        let (status, page) = send(&service, "GET", &uri, "").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total"], 230);
        let hits = page["hits"].as_array().unwrap();
        seen.extend(hits.iter().map(|hit| hit["message"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/search?q=paging&limit=17&cursor={cursor}"),
            None => break,
        }
        assert!(seen.len() <= 230, "pages repeat hits");
    }
    let distinct: BTreeSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), distinct.len()), (230, 230));
    // Newest first across pages.
    let second = |message: &str| message.trim_start_matches("paging record ").parse::<u32>().unwrap() / 10;
    assert!(seen.windows(2).all(|pair| second(&pair[0]) >= second(&pair[1])));
    let (status, body) = send(&service, "GET", "/api/search?q=paging&cursor=yesterday", "").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_cursor")));
    // The histogram and context agree with the records.
    let (_, histogram) = send(&service, "GET", "/api/histogram?q=paging&interval=10s", "").await;
    let counts: Vec<u64> =
        histogram["buckets"].as_array().unwrap().iter().map(|b| b["count"].as_u64().unwrap()).collect();
    assert_eq!(counts, [100, 100, 30]);
    let file =
        send(&service, "GET", "/api/search?q=%22paging%20record%20100%22&limit=1", "").await.1["hits"][0]["file"]
            .as_str()
            .unwrap()
            .to_string();
    let (_, context) = send(&service, "GET", &format!("/api/context?file={file}&line=101&before=2&after=2"), "").await;
    let lines: Vec<u64> = context["hits"].as_array().unwrap().iter().map(|h| h["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [99, 100, 101, 102, 103]);
    service.stop();
}

/// What the page relies on: every error is the JSON error with a code (the router's own
/// rejections too), filters are checked, `limit=0` points to cursor pages, an unknown file is
/// 404, and the new reads (facets, pattern series, report detail, who-am-I) answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_json_filters_are_checked_and_the_page_reads_answer() {
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path());
    let body: String = (0..120)
        .map(|n| {
            let level = if n % 4 == 0 { "ERROR" } else { "INFO" };
            let source = if n % 3 == 0 { "api" } else { "worker" };
            format!(
                r#"{{"ts":"2026-05-01T12:{:02}:00Z","level":"{level}","service":"{source}","msg":"job {n} finished in {} ms"}}"#,
                n / 2,
                n * 7
            ) + "\n"
        })
        .collect();
    let (status, answer) =
        send(&service, "POST", "/api/ingest/logs?format=json&source=app&commit=wait_for", &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    let error = |status: StatusCode, code: &str, (got, body): (StatusCode, Value)| {
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code)), "{body}");
        body["error"]["message"].as_str().unwrap().to_string()
    };
    error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", send(&service, "DELETE", "/api/search", "").await);
    error(StatusCode::NOT_FOUND, "not_found", send(&service, "GET", "/api/nothing/here", "").await);
    // axum's own rejection of a path it cannot read, as JSON.
    error(StatusCode::BAD_REQUEST, "bad_request", send(&service, "GET", "/api/reports/%FF%FE", "").await);
    let message =
        error(StatusCode::BAD_REQUEST, "bad_parameter", send(&service, "GET", "/api/feedback?kind=banana", "").await);
    assert!(message.contains("bug, incident, regression, request"), "{message}");
    error(StatusCode::BAD_REQUEST, "bad_parameter", send(&service, "GET", "/api/feedback?status=banana", "").await);
    let message =
        error(StatusCode::BAD_REQUEST, "bad_parameter", send(&service, "GET", "/api/search?limit=0", "").await);
    assert!(message.contains("next_cursor"), "limit=0 points to cursor pages: {message}");
    error(StatusCode::BAD_REQUEST, "bad_parameter", send(&service, "GET", "/api/patterns?series=0", "").await);
    error(StatusCode::BAD_REQUEST, "bad_parameter", send(&service, "GET", "/api/facets?size=0", "").await);
    let message = error(
        StatusCode::BAD_REQUEST,
        "bad_parameter",
        send(&service, "GET", "/api/search?since=2026-05-01T12:00:00Z&until=2026-05-01T08:00:00Z", "").await,
    );
    assert!(message.contains("range is empty"), "a reversed range says so: {message}");
    let message =
        error(StatusCode::BAD_REQUEST, "bad_query", send(&service, "GET", "/api/search?q=%22unclosed", "").await);
    assert!(message.contains("quote and parenthesis is closed"), "a syntax error says what to look for: {message}");
    let message = error(
        StatusCode::NOT_FOUND,
        "not_found",
        send(&service, "GET", "/api/context?file=no-such-file&line=1", "").await,
    );
    assert!(message.contains("no-such-file"), "{message}");
    error(StatusCode::NOT_FOUND, "not_found", send(&service, "GET", "/api/reports/NOPE-1", "").await);

    // Who am I: the name and role of the token, and what it may do.
    let (status, me) = send(&service, "GET", "/api/whoami", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["name"].as_str(), me["role"].as_str(), me["may"]["admin"].as_bool()),
        (Some("admin"), Some("admin"), Some(true))
    );

    // Facets: counts for the query and range, which add up to the records matched.
    let (status, facets) =
        send(&service, "GET", "/api/facets?q=finished&since=2026-05-01T12:00:00Z&until=2026-05-01T12:30:00Z", "").await;
    assert_eq!(status, StatusCode::OK, "{facets}");
    assert_eq!(facets["total"], 60);
    let counts = |field: &str| -> Vec<(String, u64)> {
        facets["facets"][field]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|value| (value["value"].as_str().unwrap().to_string(), value["count"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(counts("level"), [("INFO".to_string(), 45), ("ERROR".to_string(), 15)]);
    let sources: u64 = counts("source").iter().map(|(_, count)| count).sum();
    assert_eq!(sources, 60);
    let patterns = facets["facets"]["pattern"]["values"].as_array().unwrap();
    assert!(patterns[0]["template"].as_str().unwrap().contains("finished in"), "{facets}");

    // Pattern series: the volume of each pattern over the range, bucket by bucket.
    let (status, answer) = send(
        &service,
        "GET",
        "/api/patterns?q=finished&since=2026-05-01T12:00:00Z&until=2026-05-01T13:00:00Z&series=6",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let series = &answer["patterns"][0]["series"];
    assert_eq!((series["width_ms"].as_i64(), series["counts"].as_array().unwrap().len()), (Some(600_000), 6));
    let per_bucket: Vec<u64> =
        series["counts"].as_array().unwrap().iter().map(|count| count.as_u64().unwrap()).collect();
    assert_eq!(per_bucket, [20, 20, 20, 20, 20, 20], "two records a minute, ten minutes a bucket");
    // A range that starts off the hour: each record is counted in one point only.
    let (_, answer) = send(
        &service,
        "GET",
        "/api/patterns?q=finished&since=2026-05-01T12:05:00Z&until=2026-05-01T13:05:00Z&series=6",
        "",
    )
    .await;
    let per_bucket: Vec<u64> = answer["patterns"][0]["series"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|count| count.as_u64().unwrap())
        .collect();
    assert_eq!(per_bucket, [20, 20, 20, 20, 20, 10], "the last point holds 12:55 to 12:59");

    // Reports: one report read in full, and its group searchable with group:.
    let reports = [
        r#"{"id":"R-1","title":"Saving a draft crashes the editor","body":"steps: open, type, save\njava.lang.NullPointerException: draft\n\tat editor.Save.run(Save.java:10)","reporter":"ann"}"#,
        r#"{"id":"R-2","title":"Editor crashes when saving a draft","body":"java.lang.NullPointerException: draft\n\tat editor.Save.run(Save.java:10)","reporter":"bob"}"#,
        r#"{"id":"R-3","title":"Dark mode colours are too pale","body":"the sidebar is hard to read","reporter":"cy"}"#,
    ];
    let (status, answer) = send(&service, "POST", "/api/ingest/reports?format=jsonl", &reports.join("\n")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, report) = send(&service, "GET", "/api/reports/R-1", "").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["title"].as_str(), report["reporter"].as_str()),
        (Some("Saving a draft crashes the editor"), Some("ann"))
    );
    assert!(report.get("item").is_some(), "the item it belongs to (or null): {report}");
    let group = report["group"].as_str().expect("the tickets plugin's group").to_string();
    let (_, members) = send(&service, "GET", &format!("/api/reports?q=group:{group}&facets=true"), "").await;
    let ids: BTreeSet<&str> =
        members["reports"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.contains("R-1") && !ids.contains("R-3"), "group:{group} finds its members: {members}");
    assert_eq!(members["facets"]["group"][0]["value"].as_str(), Some(group.as_str()), "{members}");
    service.stop();
}
