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
