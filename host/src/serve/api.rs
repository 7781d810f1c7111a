//! The HTTP API (axum): routes, roles, limits and handlers. The routes and their answers are
//! documented in `docs/openapi.json`, served at `/api/openapi.json`; a test keeps the two the
//! same.
//!
//! Every handler that touches the index runs on the blocking pool, one query turn each
//! ([`Admission`]); ingest parses its body as a stream against the pending-record room, hands
//! the records to the writer ([`Ingestor`]) and answers 200 once they are in the write-ahead
//! log (with `"indexed"` saying whether a commit holds them yet) or, before anything was
//! written, an error: a 2xx means durable, anything else means nothing was stored. An
//! `Idempotency-Key` makes a retry safe ([`IdempotencyKeys`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::net::SocketAddr;

use axum::Router;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admission::Admission;
use super::auth::{AuthFailures, RateLimits, Tokens};
use super::board::BoardKeeper;
use super::body::{self, RequestBody};
use super::error::ApiError;
use super::idempotency::{Begin, KeyGuard, MAX_KEY_CHARS};
use super::ingestor::{Claim, CommitMode, Ingestor, JobKeys, QueueError, Ticket, Work, count_rejections};
use super::metrics::{EndpointLabel, Metrics, StatusLabel};
use crate::config::{Role, ServeSettings};
use crate::feedback::{Action, StatusFilter, render, similar};
use crate::index::{LogIndex, PageKey, ReportIndex, SearchRequest, report_json};
use crate::ingest::{
    Format, Input, ParseOptions, ReasonGroup, Rejections, ReportFormat, Warnings, parse_reports, read_records,
};
use crate::pipeline::FindingStore;

/// The OpenAPI document, checked in.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// Everything a request may need.
pub struct AppState {
    pub logs: Arc<LogIndex>,
    pub reports: Arc<ReportIndex>,
    pub findings: Arc<FindingStore>,
    /// The feedback board, rebuilt in the background when data arrives.
    pub board: Arc<BoardKeeper>,
    /// Alert rules, receivers and what was sent.
    pub alerter: Arc<super::alerting::Alerter>,
    pub ingestor: Arc<Ingestor>,
    /// On a cluster node: where ingested records go instead of the writer.
    pub cluster: Option<ClusterIngest>,
    /// Live-tail streams: their cap and the signal that ends them at shutdown.
    pub tails: super::live_tail::TailStreams,
    pub metrics: Arc<Metrics>,
    pub tokens: Tokens,
    pub limits: RateLimits,
    /// Addresses locked out after failed authentications.
    pub failures: AuthFailures,
    /// Turns for queries and ingest bodies.
    pub admission: Admission,
    pub settings: ServeSettings,
    pub requests: AtomicU64,
    /// When this server started (ms), so request ids (`http:<start>-<n>`, the origin file of
    /// ingested records) never repeat across restarts.
    pub started_ms: i64,
}

/// A cluster node's ingest path: records go to the cluster's ingest log.
pub struct ClusterIngest {
    pub log: Arc<crate::cluster::log::IngestLog>,
    pub roles: crate::cluster::Roles,
    pub catalog: Arc<crate::cluster::catalog::Catalog>,
    /// A search node's own progress; on a node without the search role, `commit=wait_for`
    /// waits for the pieces to be published instead.
    pub searchable: Option<Arc<crate::cluster::searcher::SearchableThrough>>,
}

impl ClusterIngest {
    /// Waits until every message of `appended` is searchable on this node (a search node) or
    /// published in a piece (another node), or `deadline`; whether it was in time.
    async fn wait_indexed(&self, appended: &crate::cluster::log::Appended, deadline: tokio::time::Instant) -> bool {
        let wanted: Vec<(u32, u64)> = appended
            .through
            .iter()
            .filter_map(|(subject, seq)| Some((crate::cluster::log::partition_of_subject(subject)?, *seq)))
            .collect();
        loop {
            let mut behind = false;
            for &(partition, seq) in &wanted {
                let through = match &self.searchable {
                    Some(searchable) => searchable.get(partition),
                    None => self.catalog.partition(partition).await.map_or(0, |(state, _)| state.covered_seq),
                };
                behind |= through < seq;
            }
            if !behind {
                return true;
            }
            let next = tokio::time::Instant::now() + Duration::from_millis(50);
            if next >= deadline {
                return false;
            }
            tokio::time::sleep_until(next).await;
        }
    }
}

impl AppState {
    pub(super) fn next_request_id(&self) -> String {
        format!("http:{}-{}", self.started_ms, self.requests.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

pub(super) type Shared = Arc<AppState>;

/// The whole router: API, health checks, metrics and the web page.
pub fn router(state: Shared) -> Router {
    let searched = Router::new()
        .route("/api/search", get(search))
        .route("/api/histogram", get(histogram))
        .route("/api/context", get(context))
        .route("/api/patterns", get(patterns))
        .route("/api/findings", get(findings))
        .route("/api/feedback", get(feedback))
        .route("/api/feedback/{id}", get(feedback_item))
        .route("/api/reports", get(reports))
        .route("/api/reports/{id}", get(report))
        .route("/api/reports/{id}/similar", get(similar_reports))
        .route("/api/facets", get(facets))
        .route("/api/tail", get(super::live_tail::tail))
        .route_layer(middleware::from_fn_with_state(state.clone(), search_node_only))
        .route_layer(middleware::from_fn_with_state((state.clone(), Some(Role::Read)), authorize));
    let read = Router::new()
        .route("/api/plugins", get(plugins))
        .route("/api/alerts", get(alerts))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state((state.clone(), Some(Role::Read)), authorize));
    let any_role = Router::new()
        .route("/api/whoami", get(whoami))
        .route_layer(middleware::from_fn_with_state((state.clone(), None), authorize));
    let ingest = Router::new()
        .route("/api/ingest/logs", post(ingest_logs))
        .route("/api/ingest/reports", post(ingest_reports))
        .route_layer(middleware::from_fn_with_state((state.clone(), Some(Role::Ingest)), authorize));
    let admin = Router::new()
        .route("/api/feedback/{id}/resolve", post(resolve))
        .route("/api/feedback/{id}/ack", post(acknowledge))
        .route_layer(middleware::from_fn_with_state(state.clone(), search_node_only))
        .route_layer(middleware::from_fn_with_state((state.clone(), Some(Role::Admin)), authorize));
    let open = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/api/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }))
        .merge(super::web::routes());
    let router = Router::new()
        .merge(searched)
        .merge(read)
        .merge(any_role)
        .merge(ingest)
        .merge(admin)
        .merge(super::shippers::routes(&state))
        .merge(open)
        .fallback(|| async { ApiError::not_found("no such route; see /api/openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method; see /api/openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), limit_time));
    let with_headers = SECURITY_HEADERS.into_iter().fold(router, |router, (name, value)| {
        router.layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    });
    with_headers.with_state(state)
}

/// Headers on every answer: the page loads only its own script, style and data, is never
/// framed, and no answer is sniffed into another type.
const SECURITY_HEADERS: [(header::HeaderName, &str); 4] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// Answers 503 `timeout` for a request still running after the configured time, and counts
/// error answers by code. Ingest keeps its own deadline: once its records may be in the
/// write-ahead log it must answer what happened, not a timeout ([`ingest_logs`]).
async fn limit_time(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let limit = Duration::from_millis(state.settings.request_timeout_ms);
    let path = request.uri().path().to_string();
    let response = if super::shippers::is_ingest_path(request.uri().path()) {
        Ok(next.run(request).await)
    } else {
        tokio::time::timeout(limit, next.run(request)).await
    };
    let response = match response {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {} ms", limit.as_millis()),
        )
        .retry_after(1)
        .into_response(),
    };
    if response.status().is_client_error() || response.status().is_server_error() {
        let code = response.status().as_u16().to_string();
        state.metrics.api_errors.get_or_create(&StatusLabel { code }).inc();
        if !speaks_its_own_errors(&path) && !is_json(&response) {
            return as_json_error(response).await;
        }
    }
    response
}

/// Routes whose clients expect their protocol's error format (OTLP's Status, Elasticsearch's
/// and Loki's answers), not ours.
fn speaks_its_own_errors(path: &str) -> bool {
    path == "/v1/logs" || path == "/es" || path.starts_with("/es/") || path.starts_with("/loki/")
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

/// An error answered by axum itself (a path or query it could not read, a body over the
/// limit, a wrong content type) as the JSON error every other answer is, its text the message.
async fn as_json_error(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 << 10).await.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    let status = parts.status;
    let message = match text {
        Ok(text) if !text.trim().is_empty() => text.trim().to_string(),
        _ => status.canonical_reason().unwrap_or("error").to_string(),
    };
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        status if status.is_server_error() => "internal",
        _ => "bad_request",
    };
    let mut answer = ApiError::new(status, code, message).into_response();
    for name in [header::RETRY_AFTER, header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// Lets the request through when it carries a known token whose role allows `needed` (any
/// role when `None`) and the token's rate limit has room.
/// The 503 of a cluster node asked for what its roles leave out: `does` is what it does not
/// do, `instead` where to go.
fn role_missing(cluster: &ClusterIngest, code: &'static str, does: &str, instead: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        code,
        format!("this cluster node does not {does} (roles: {}); {instead}", cluster.roles.names().join(", ")),
    )
}

/// On a cluster node without the search role, the routes that read records, reports or the
/// board answer 503 saying so: its own index is empty, and an empty answer would read as "no
/// results".
async fn search_node_only(State(state): State<Shared>, request: Request, next: Next) -> Result<Response, ApiError> {
    if let Some(cluster) = &state.cluster
        && !cluster.roles.search
    {
        return Err(role_missing(cluster, "not_a_search_node", "search", "ask a node with the search role"));
    }
    Ok(next.run(request).await)
}

pub(super) async fn authorize(
    State((state, needed)): State<(Shared, Option<Role>)>,
    headers: HeaderMap,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    // The router alone (tests) has no peer address; a served connection always has one.
    let address = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let locked_out = |seconds: u64| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "locked_out",
            format!("too many failed authentications from this address; retry in {seconds} s"),
        )
        .retry_after(seconds)
    };
    if let Some(address) = address
        && let Err(seconds) = state.failures.check(address)
    {
        return Err(locked_out(seconds));
    }
    let failed = |error: ApiError| {
        if let Some(address) = address
            && state.failures.failed(address).is_err()
        {
            state.metrics.auth_lockouts.inc();
        }
        error
    };
    let presented = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()).and_then(presented_token);
    let Some(presented) = presented else {
        return Err(failed(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "an API token is needed: send `Authorization: Bearer <token>`, Basic auth with the token as the \
             password, or `ApiKey base64(<any id>:<token>)`",
        )));
    };
    let Some((name, role)) = state.tokens.identify(&presented) else {
        return Err(failed(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the API token is not known")));
    };
    if let Some(needed) = needed
        && !role.allows(needed)
    {
        let name = |role: Role| {
            serde_json::to_value(role).ok().and_then(|value| value.as_str().map(str::to_string)).unwrap_or_default()
        };
        let needs = if needed == Role::Admin {
            "a token with the admin role".to_string()
        } else {
            format!("a token with the {} role (or admin)", name(needed))
        };
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this needs {needs}; yours has the {} role", name(role)),
        ));
    }
    if let Err(seconds) = state.limits.check(name) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests for this token; retry in {seconds} s"),
        )
        .retry_after(seconds));
    }
    request.extensions_mut().insert(Caller(name.to_string(), role));
    Ok(next.run(request).await)
}

/// The token an `Authorization` header carries, in the ways shippers send one: `Bearer
/// <token>`, `Basic base64(<any user>:<token>)` (the token as the password), or Elasticsearch's
/// `ApiKey base64(<any id>:<token>)`.
fn presented_token(header: &str) -> Option<String> {
    use base64::Engine;
    let (scheme, credentials) = header.trim().split_once(' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.to_string());
    }
    if !scheme.eq_ignore_ascii_case("basic") && !scheme.eq_ignore_ascii_case("apikey") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(credentials).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (_, token) = decoded.split_once(':')?;
    Some(token.to_string())
}

/// The holder of the token a request carried (what scopes its idempotency keys) and its role.
#[derive(Debug, Clone)]
pub(super) struct Caller(pub(super) String, pub(super) Role);

/// The token's name and role, and what it may do, so a page shows only the actions it may use.
async fn whoami(axum::Extension(Caller(name, role)): axum::Extension<Caller>) -> Response {
    axum::Json(json!({
        "name": name,
        "role": role,
        "may": {
            "read": role.allows(Role::Read),
            "ingest": role.allows(Role::Ingest),
            "admin": role.allows(Role::Admin),
        }
    }))
    .into_response()
}

async fn ready(State(state): State<Shared>) -> Response {
    if let Some(cluster) = &state.cluster
        && !cluster.log.connected()
    {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "no connection to the cluster's NATS server",
        )
        .into_response();
    }
    if state.ingestor.is_ready() {
        "ready".into_response()
    } else {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "the writer is not running").into_response()
    }
}

/// Runs blocking index work off the async threads and times it under `endpoint`.
pub(super) async fn blocking<T: Send + 'static>(
    state: &Shared,
    endpoint: &'static str,
    work: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let turn = state.admission.query().await?;
    let state = state.clone();
    let started = Instant::now();
    let metrics = state.metrics.clone();
    let result = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work(&state)
    })
    .await
    .map_err(ApiError::internal)?;
    let label = EndpointLabel { endpoint: endpoint.to_string() };
    metrics.query_seconds.get_or_create(&label).observe(started.elapsed().as_secs_f64());
    result
}

/// Runs blocking index work like [`blocking`] and answers its value as JSON.
async fn blocking_json<T: serde::Serialize + Send + 'static>(
    state: &Shared,
    endpoint: &'static str,
    work: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<Response, ApiError> {
    Ok(axum::Json(blocking(state, endpoint, work).await?).into_response())
}

/// Query parameters whose rejection is an [`ApiError`] (`bad_parameter`), like every error.
pub(super) struct ApiQuery<T>(pub(super) T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::bad_request("bad_parameter", rejection.body_text())),
        }
    }
}

pub(super) fn time_param(name: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .filter(|text| !text.is_empty())
        .map(|text| {
            crate::cli::parse_time(text)
                .map_err(|reason| ApiError::bad_request("bad_parameter", format!("{name}: {reason}")))
        })
        .transpose()
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
    since: Option<String>,
    until: Option<String>,
    source: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

impl SearchParams {
    fn request(&self) -> Result<SearchRequest, ApiError> {
        let (since_ms, until_ms) = time_range(self.since.as_deref(), self.until.as_deref())?;
        Ok(SearchRequest {
            query: self.q.clone(),
            source: self.source.clone().filter(|source| !source.is_empty()),
            since_ms,
            until_ms,
            limit: None,
        })
    }
}

/// `since` and `until` read, and refused when the range is empty (`since` not before `until`),
/// which would otherwise answer an empty page without saying why.
fn time_range(since: Option<&str>, until: Option<&str>) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let (since_ms, until_ms) = (time_param("since", since)?, time_param("until", until)?);
    if let (Some(from), Some(to)) = (since_ms, until_ms)
        && from >= to
    {
        return Err(ApiError::bad_request(
            "bad_parameter",
            format!(
                "since ({}) is not before until ({}): the range is empty",
                since.unwrap_or_default(),
                until.unwrap_or_default()
            ),
        ));
    }
    Ok((since_ms, until_ms))
}

/// Most hits one page holds.
const MAX_PAGE: usize = 1000;

/// Most patterns, findings or reports one answer lists.
const MAX_LISTED: usize = 10_000;

/// A `limit` parameter: `default` when absent, refused (not clamped) outside 1..=`most`, so a
/// client learns that it will not get what it asked for. `more` says how to get more than
/// `most` (0 is not "all" here, as it is for the CLI).
fn limit_param(value: Option<usize>, default: usize, most: usize, more: &str) -> Result<usize, ApiError> {
    match value {
        None => Ok(default),
        Some(limit) if (1..=most).contains(&limit) => Ok(limit),
        Some(limit) => {
            Err(ApiError::bad_request("bad_parameter", format!("limit {limit}: between 1 and {most}; {more}")))
        }
    }
}

/// How to read more hits than one page holds.
const PAGE_ON: &str = "for more, ask again with `cursor` set to the answer's `next_cursor` until it is null";

/// Lists that have no pages.
const NARROW_DOWN: &str = "this list has no pages: narrow it with its filters instead";

async fn search(State(state): State<Shared>, ApiQuery(params): ApiQuery<SearchParams>) -> Result<Response, ApiError> {
    let limit = limit_param(params.limit, 100, MAX_PAGE, PAGE_ON)?;
    blocking_json(&state, "search", move |state| {
        let request = params.request()?;
        let total = state.logs.count(&request)?;
        let after = match &params.cursor {
            Some(cursor) => Some(PageKey::from_cursor(cursor).ok_or_else(|| {
                ApiError::bad_request("bad_cursor", format!("cursor `{cursor}` is not one this API handed out"))
            })?),
            None => None,
        };
        let (page, next) = state.logs.search_page(&request, after.as_ref(), limit)?;
        let highlighter = state.logs.highlighter(&request)?;
        let next_cursor = next.map(|key| key.to_cursor());
        let hits: Vec<Value> = page
            .iter()
            .map(|hit| {
                let mut value = hit.to_json();
                value["message_parts"] = message_parts(&hit.record.message, &highlighter.ranges(&hit.record.message));
                value
            })
            .collect();
        Ok(json!({ "total": total, "hits": hits, "next_cursor": next_cursor }))
    })
    .await
}

/// The message cut into parts a page can show as text, marking the parts the query matched.
fn message_parts(message: &str, ranges: &[std::ops::Range<usize>]) -> Value {
    let mut parts = Vec::new();
    let mut at = 0;
    for range in ranges {
        if range.start < at || range.end > message.len() {
            continue;
        }
        if range.start > at {
            parts.push(json!({ "text": &message[at..range.start], "hit": false }));
        }
        parts.push(json!({ "text": &message[range.clone()], "hit": true }));
        at = range.end;
    }
    if at < message.len() {
        parts.push(json!({ "text": &message[at..], "hit": false }));
    }
    Value::Array(parts)
}

#[derive(Debug, Deserialize)]
struct HistogramParams {
    #[serde(flatten)]
    search: SearchParams,
    /// Bucket width (`1m`, `1h`); default: about 60 buckets over the range.
    interval: Option<String>,
}

async fn histogram(
    State(state): State<Shared>,
    ApiQuery(params): ApiQuery<HistogramParams>,
) -> Result<Response, ApiError> {
    blocking_json(&state, "histogram", move |state| {
        let request = params.search.request()?;
        let width_ms = match params.interval.as_deref().filter(|text| !text.is_empty()) {
            Some(text) => crate::ingest::parse_span(text)
                .map_err(|reason| ApiError::bad_request("bad_parameter", format!("interval: {reason}")))?,
            None => {
                // About 60 buckets over the range asked for, or over the matching records.
                let until = match request.until_ms {
                    Some(until) => until,
                    None => newest_time(state, &request)?.unwrap_or_else(|| chrono::Utc::now().timestamp_millis()),
                };
                let since = match request.since_ms {
                    Some(since) => since,
                    None => oldest_time(state, &request)?.unwrap_or(until - 3_600_000),
                };
                crate::index::round_width((until - since).max(1) / 60)
            }
        };
        if width_ms <= 0 {
            return Err(ApiError::bad_request("bad_parameter", "interval must be positive"));
        }
        let (width_ms, buckets) = state.logs.histogram_fitting(&request, width_ms)?;
        let buckets: Vec<Value> = buckets.iter().map(|(time, count)| json!({ "t": time, "count": count })).collect();
        Ok(json!({ "interval_ms": width_ms, "buckets": buckets }))
    })
    .await
}

/// The time of the oldest record the request matches.
fn oldest_time(state: &AppState, request: &SearchRequest) -> Result<Option<i64>, ApiError> {
    // Newest-first search cannot give the oldest cheaply; two histograms can: a day-wide one
    // finds the first day, a second-wide one over that day the first second.
    let days = state.logs.histogram(request, 86_400_000)?;
    let Some(&(day, _)) = days.iter().find(|(_, count)| *count > 0) else { return Ok(None) };
    let within = SearchRequest { since_ms: Some(day), until_ms: Some(day + 86_400_000), ..request.clone() };
    let seconds = state.logs.histogram(&within, 1_000)?;
    Ok(seconds.iter().find(|(_, count)| *count > 0).map(|(time, _)| *time).or(Some(day)))
}

#[derive(Debug, Deserialize)]
struct ContextParams {
    file: String,
    line: u64,
    before: Option<u64>,
    after: Option<u64>,
}

async fn context(State(state): State<Shared>, ApiQuery(params): ApiQuery<ContextParams>) -> Result<Response, ApiError> {
    blocking_json(&state, "context", move |state| {
        let before = params.before.unwrap_or(5).min(500);
        let after = params.after.unwrap_or(5).min(500);
        let hits = state.logs.context(&params.file, params.line, before, after)?;
        if hits.is_empty() {
            return Err(ApiError::not_found(format!(
                "no record of file `{}` near line {} (a file name as search hits give it in `file`)",
                params.file, params.line
            )));
        }
        Ok(json!({ "hits": hits.iter().map(|hit| hit.to_json()).collect::<Vec<_>>() }))
    })
    .await
}

#[derive(Debug, Deserialize)]
struct PatternParams {
    #[serde(default)]
    q: String,
    since: Option<String>,
    until: Option<String>,
    source: Option<String>,
    limit: Option<usize>,
    examples: Option<usize>,
    /// Volume buckets per pattern over the range (a sparkline); none by default.
    series: Option<usize>,
}

/// Most volume buckets a pattern's series has.
const MAX_SERIES: usize = 200;

/// The patterns of the records a query matches in a range (every record by default), most
/// frequent first, each with `series` volume buckets over the range when asked.
async fn patterns(
    State(state): State<Shared>,
    ApiQuery(params): ApiQuery<PatternParams>,
) -> Result<Response, ApiError> {
    let limit = limit_param(params.limit, 100, MAX_LISTED, NARROW_DOWN)?;
    let series = match params.series {
        None => None,
        Some(count) if (1..=MAX_SERIES).contains(&count) => Some(count as i64),
        Some(count) => {
            return Err(ApiError::bad_request("bad_parameter", format!("series {count}: between 1 and {MAX_SERIES}")));
        }
    };
    blocking_json(&state, "patterns", move |state| {
        let source = params.source.clone().filter(|source| !source.is_empty());
        let (since_ms, until_ms) = time_range(params.since.as_deref(), params.until.as_deref())?;
        let request =
            SearchRequest { query: params.q.clone(), source: source.clone(), since_ms, until_ms, limit: None };
        // The buckets span the range asked for, or the matching records' own span.
        let span = match (series, request.since_ms, request.until_ms) {
            (None, _, _) => None,
            (Some(count), since, until) => {
                let until = match until {
                    Some(until) => until,
                    None => newest_time(state, &request)?.unwrap_or_else(|| chrono::Utc::now().timestamp_millis()),
                };
                let since = match since {
                    Some(since) => since,
                    None => oldest_time(state, &request)?.unwrap_or(until - 3_600_000),
                };
                let width = ((until - since).max(1) + count - 1) / count;
                Some((since, width.max(1), count))
            }
        };
        let (origin, width) = span.map_or((0, crate::index::HOUR_MS), |(since, width, _)| (since, width));
        let mut patterns = state.logs.patterns_matching(&request, origin, width)?;
        let total = patterns.len();
        patterns.truncate(limit);
        state.logs.add_examples(&mut patterns, source.as_deref(), params.examples.unwrap_or(2).min(20))?;
        let listed: Vec<Value> = patterns
            .iter()
            .map(|stats| {
                let mut value = serde_json::to_value(stats).unwrap_or_default();
                if let Some((since, width, count)) = span {
                    // The volume's buckets are numbered from `since`: bucket N is point N.
                    let counts: Vec<u64> = (0..count).map(|at| stats.volume.get(&at).copied().unwrap_or(0)).collect();
                    value["series"] = json!({ "start_ms": since, "width_ms": width, "counts": counts });
                }
                value
            })
            .collect();
        Ok(json!({ "total": total, "patterns": listed }))
    })
    .await
}

/// The time just after the newest record the request matches.
fn newest_time(state: &AppState, request: &SearchRequest) -> Result<Option<i64>, ApiError> {
    let first = SearchRequest { limit: Some(1), ..request.clone() };
    Ok(state.logs.search(&first)?.first().map(|hit| hit.timestamp_ms + 1))
}

#[derive(Debug, Deserialize)]
struct FacetParams {
    #[serde(flatten)]
    search: SearchParams,
    /// Values listed per facet (default 10).
    size: Option<usize>,
}

/// Level, source and pattern counts of the records a query matches in a range.
async fn facets(State(state): State<Shared>, ApiQuery(params): ApiQuery<FacetParams>) -> Result<Response, ApiError> {
    let size = limit_param(params.size, 10, 1000, NARROW_DOWN)
        .map_err(|error| ApiError { message: error.message.replacen("limit", "size", 1), ..error })?;
    blocking_json(&state, "facets", move |state| {
        let request = params.search.request()?;
        let total = state.logs.count(&request)?;
        Ok(json!({ "total": total, "facets": state.logs.facets(&request, size)? }))
    })
    .await
}

#[derive(Debug, Deserialize)]
struct FindingParams {
    kind: Option<String>,
    plugin: Option<String>,
    limit: Option<usize>,
}

async fn findings(
    State(state): State<Shared>,
    ApiQuery(params): ApiQuery<FindingParams>,
) -> Result<Response, ApiError> {
    let limit = limit_param(params.limit, 100, MAX_LISTED, NARROW_DOWN)?;
    blocking_json(&state, "findings", move |state| {
        let mut findings = state.findings.read_all().map_err(ApiError::internal)?;
        findings.retain(|finding| {
            params.kind.as_deref().is_none_or(|kind| kind.is_empty() || finding.kind == kind)
                && params.plugin.as_deref().is_none_or(|plugin| plugin.is_empty() || finding.plugin == plugin)
        });
        findings.sort_by(|a, b| b.last_seen_ms.cmp(&a.last_seen_ms).then(b.score.total_cmp(&a.score)));
        let total = findings.len();
        findings.truncate(limit);
        Ok(json!({ "total": total, "findings": findings }))
    })
    .await
}

#[derive(Debug, Deserialize)]
struct FeedbackParams {
    format: Option<String>,
    kind: Option<String>,
    status: Option<String>,
}

async fn feedback(
    State(state): State<Shared>,
    ApiQuery(params): ApiQuery<FeedbackParams>,
) -> Result<Response, ApiError> {
    let format = params.format.clone().unwrap_or_else(|| "json".into());
    if !["json", "md", "csv"].contains(&format.as_str()) {
        return Err(ApiError::bad_request("bad_parameter", format!("format `{format}`: json, md or csv")));
    }
    let wanted = params.status.as_deref().unwrap_or("");
    let Some(filter) = StatusFilter::parse(wanted) else {
        return Err(ApiError::bad_request(
            "bad_parameter",
            format!("status `{wanted}`: open, all, new, ongoing, resolved or regressed"),
        ));
    };
    let kind = params.kind.clone().unwrap_or_default();
    if !kind.is_empty() && !FEEDBACK_KINDS.contains(&kind.as_str()) {
        return Err(ApiError::bad_request("bad_parameter", format!("kind `{kind}`: {}", FEEDBACK_KINDS.join(", "))));
    }
    // Reads the board as last built: no request builds it or changes a status.
    let board = state.board.board();
    let items: Vec<_> = board
        .items
        .iter()
        .filter(|item| filter.shows(item.status))
        .filter(|item| params.kind.as_deref().is_none_or(|kind| kind.is_empty() || kind == render::lower(item.kind)))
        .cloned()
        .collect();
    Ok(match format.as_str() {
        "md" => ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], render::markdown(&items)).into_response(),
        "csv" => {
            let text = render::jira_csv(&items).map_err(ApiError::internal)?;
            ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response()
        }
        _ => {
            axum::Json(json!({ "built_ms": board.built_ms, "items": items, "refused": board.refused })).into_response()
        }
    })
}

/// The kinds of feedback item, as `kind=` names them.
const FEEDBACK_KINDS: [&str; 4] = ["bug", "incident", "regression", "request"];

async fn feedback_item(State(state): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    match state.board.board().item(&id) {
        Some(item) => Ok(axum::Json(item).into_response()),
        None => Err(ApiError::not_found(format!("no feedback item `{id}`"))),
    }
}

async fn resolve(state: State<Shared>, id: Path<String>) -> Result<Response, ApiError> {
    act(state, id, Action::Resolve).await
}

async fn acknowledge(state: State<Shared>, id: Path<String>) -> Result<Response, ApiError> {
    act(state, id, Action::Acknowledge).await
}

async fn act(State(state): State<Shared>, Path(id): Path<String>, action: Action) -> Result<Response, ApiError> {
    let item = id.clone();
    let status = blocking(&state, "feedback", move |state| {
        state.board.act(&id, action)?.ok_or_else(|| ApiError::not_found(format!("no feedback item `{id}`")))
    })
    .await?;
    // In a cluster every search node's board takes it from the feedback stream (this one
    // again, which changes nothing); a retry after a failed publication is harmless.
    if let Some(cluster) = &state.cluster {
        let shared = crate::cluster::actions::FeedbackAction::new(&item, action);
        if let Err(error) = cluster.log.append_action(&shared).await {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ingest_log_unavailable",
                format!("this node's board took it; the other nodes' may not have: {error}; retry (acting again changes nothing)"),
            )
            .retry_after(1));
        }
    }
    let done = match action {
        Action::Resolve => "resolved",
        Action::Acknowledge => "acknowledged",
    };
    Ok(axum::Json(json!({ done: true, "status": render::lower(status) })).into_response())
}

#[derive(Debug, Deserialize)]
struct ReportParams {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
    /// Also count the matching reports by group and by status.
    #[serde(default)]
    facets: bool,
}

/// Values a report facet lists at most.
const REPORT_FACET_VALUES: usize = 10;

async fn reports(State(state): State<Shared>, ApiQuery(params): ApiQuery<ReportParams>) -> Result<Response, ApiError> {
    let limit = limit_param(params.limit, 100, MAX_LISTED, NARROW_DOWN)?;
    blocking_json(&state, "reports", move |state| {
        let query = if params.q.trim().is_empty() { "*" } else { params.q.as_str() };
        let total = state.reports.count(query)?;
        let mut answer = json!({ "total": total });
        if params.facets {
            // Counted over every matching report (the newest MAX_LISTED of them at most).
            let matching = state.reports.search(query, Some(total.min(MAX_LISTED)))?;
            let count = |value_of: &dyn Fn(&crate::ingest::BugReport) -> Option<String>| {
                let mut counts: BTreeMap<String, u64> = BTreeMap::new();
                for report in &matching {
                    if let Some(value) = value_of(report) {
                        *counts.entry(value).or_insert(0) += 1;
                    }
                }
                let mut values: Vec<(String, u64)> = counts.into_iter().collect();
                values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                values.truncate(REPORT_FACET_VALUES);
                values.into_iter().map(|(value, count)| json!({ "value": value, "count": count })).collect::<Vec<_>>()
            };
            answer["facets"] = json!({
                "group": count(&|report| report.annotations.get("group").cloned()),
                "status": count(&|report| report.status.clone()),
            });
            answer["reports"] = matching.iter().take(limit).map(report_json).collect();
        } else {
            answer["reports"] = state.reports.search(query, Some(limit))?.iter().map(report_json).collect();
        }
        Ok(answer)
    })
    .await
}

/// One report as a page shows it: its fields, its group, and the feedback item it is in.
async fn report(State(state): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let board = state.board.board();
    blocking_json(&state, "reports", move |state| {
        let report = state.reports.get(&id)?.ok_or_else(|| ApiError::not_found(format!("no report with id `{id}`")))?;
        let item = board.items.iter().find(|item| item.evidence.reports.iter().any(|cited| cited == &id));
        let mut value = report_json(&report);
        value["item"] = item.map_or(
            Value::Null,
            |item| json!({ "id": item.id, "title": item.title, "status": render::lower(item.status) }),
        );
        Ok(value)
    })
    .await
}

#[derive(Debug, Deserialize)]
struct SimilarParams {
    limit: Option<usize>,
}

async fn similar_reports(
    State(state): State<Shared>,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<SimilarParams>,
) -> Result<Response, ApiError> {
    let limit = limit_param(params.limit, 10, 1000, NARROW_DOWN)?;
    blocking_json(&state, "similar", move |state| match similar(&state.reports, &id, limit) {
        Ok(similar) => Ok(json!({ "id": id, "similar": similar })),
        Err(crate::feedback::SimilarError::UnknownReport(_)) => {
            Err(ApiError::not_found(format!("no report with id `{id}`")))
        }
        Err(crate::feedback::SimilarError::Index(error)) => Err(error.into()),
    })
    .await
}

async fn plugins(State(state): State<Shared>) -> Result<Response, ApiError> {
    let status = state.ingestor.status.read().map_err(ApiError::internal)?.clone();
    Ok(axum::Json(status).into_response())
}

#[derive(Debug, Deserialize)]
struct AlertParams {
    /// Finished notifications shown, newest first (default 100).
    limit: Option<usize>,
}

/// Alert rules, receivers with their last outcome, alerts firing, notifications pending and
/// the delivery log.
async fn alerts(State(state): State<Shared>, ApiQuery(params): ApiQuery<AlertParams>) -> Result<Response, ApiError> {
    let limit = params.limit.unwrap_or(100).clamp(1, 10_000);
    let alerter = state.alerter.clone();
    let report = tokio::task::spawn_blocking(move || alerter.report(limit)).await.map_err(ApiError::internal)?;
    Ok(axum::Json(report).into_response())
}

async fn metrics(State(state): State<Shared>) -> Response {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.render())
        .into_response()
}

#[derive(Debug, Deserialize)]
struct IngestParams {
    source: Option<String>,
    format: Option<String>,
    pattern: Option<String>,
    /// `auto` (answer once durable), `wait_for` (once searchable), `force` (commit now).
    commit: Option<String>,
}

fn commit_mode(params: &IngestParams) -> Result<CommitMode, ApiError> {
    match params.commit.as_deref() {
        None | Some("") | Some("auto") => Ok(CommitMode::Auto),
        Some("wait_for") => Ok(CommitMode::WaitFor),
        Some("force") => Ok(CommitMode::Force),
        Some(other) => {
            Err(ApiError::bad_request("bad_parameter", format!("commit `{other}`: auto, wait_for or force")))
        }
    }
}

pub(super) fn queue_error(error: QueueError) -> ApiError {
    match error {
        QueueError::Busy(_) => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "ingest_busy", error.to_string()).retry_after(1)
        }
        QueueError::TooLarge { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_many_records", error.to_string())
        }
        QueueError::Closed => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", error.to_string()).retry_after(5)
        }
    }
}

fn rejections_json(rejections: &Rejections) -> Value {
    by_reason_json(&rejections.by_reason)
}

/// Rejections or warnings by reason: `{reason: {count, examples}}`.
fn by_reason_json(by_reason: &BTreeMap<String, ReasonGroup>) -> Value {
    by_reason
        .iter()
        .map(|(reason, group)| (reason.clone(), json!({ "count": group.count, "examples": group.examples })))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// What a body's `Content-Type` says about its format, when the query does not say.
fn format_of(params: &IngestParams, headers: &HeaderMap) -> Result<Format, ApiError> {
    let named = params.format.clone().or_else(|| {
        let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
        content_type.contains("ndjson").then(|| "json".to_string())
    });
    match named.as_deref() {
        None | Some("") => Ok(if params.pattern.is_some() { Format::Pattern } else { Format::Auto }),
        Some(name) => {
            <Format as clap::ValueEnum>::from_str(if name == "jsonl" { "json" } else { name }, true).map_err(|_| {
                ApiError::bad_request(
                    "bad_parameter",
                    format!("format `{name}`: auto, raw, json, logfmt, syslog, clf, text or pattern"),
                )
            })
        }
    }
}

/// What an ingest request is to do about its `Idempotency-Key`.
enum Keyed {
    /// Go on (with the key held in flight, if there is one) under this claim.
    Go { guard: Option<KeyGuard>, claim: Arc<Claim> },
    /// The first answer, already given: send it again.
    Replayed(Response),
}

/// Looks the request's `Idempotency-Key` up: a retry of a request already written is answered
/// as the first one was (with `"indexed"` as it is now), and stores nothing again.
fn idempotency(
    state: &AppState,
    caller: &Caller,
    route: &str,
    (uri, headers): (&Uri, &HeaderMap),
    body: &RequestBody,
) -> Result<Keyed, ApiError> {
    let Some(key) = idempotency_key(headers)? else {
        return Ok(Keyed::Go { guard: None, claim: Arc::default() });
    };
    let scope = format!("{}\n{route}\n{key}", caller.0);
    let digest = request_digest(uri, body);
    match state.ingestor.keys.begin(scope, digest, Arc::default()) {
        Begin::New(guard) => Ok(Keyed::Go { claim: guard.claim(), guard: Some(guard) }),
        Begin::Replay(first) => {
            state.metrics.idempotent_replays.inc();
            let mut answer = first.answer;
            answer["indexed"] = Value::Bool(state.ingestor.indexed_through() >= first.seq);
            let mut response = axum::Json(answer).into_response();
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(Keyed::Replayed(response))
        }
        Begin::Mismatch => Err(key_reused(&key)),
        Begin::InFlight => Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_in_flight",
            format!("the first request with Idempotency-Key `{key}` is still being handled; nothing was stored"),
        )
        .retry_after(1)),
    }
}

/// The answer to a key that came before with another request.
pub(super) fn key_reused(key: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        format!("Idempotency-Key `{key}` came with another request; nothing was stored"),
    )
}

/// SHA-256 of what makes two requests the same one (query, encoding, body as sent), hex.
pub(super) fn request_digest(uri: &Uri, body: &RequestBody) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(uri.query().unwrap_or("").as_bytes());
    hasher.update([0, body.encoding() as u8]);
    hasher.update(body.raw());
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect::<String>()
}

/// The request's `Idempotency-Key`, if it sent one that is usable.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().ok().map(str::trim).filter(|key| {
        !key.is_empty() && key.chars().count() <= MAX_KEY_CHARS && key.chars().all(|c| c.is_ascii_graphic() || c == ' ')
    });
    key.map(|key| Some(key.to_string())).ok_or_else(|| {
        ApiError::bad_request(
            "bad_idempotency_key",
            format!("Idempotency-Key: 1 to {MAX_KEY_CHARS} printable ASCII characters; nothing was stored"),
        )
    })
}

/// Why parsing a body stopped before its end.
#[derive(Debug)]
enum ParseStop {
    Read(crate::ingest::IngestError),
    /// No room for its records: nothing is queued.
    Room(QueueError),
}

impl From<crate::ingest::IngestError> for ParseStop {
    fn from(error: crate::ingest::IngestError) -> Self {
        Self::Read(error)
    }
}

impl ParseStop {
    fn into_api_error(self) -> ApiError {
        match self {
            Self::Room(error) => queue_error(error),
            Self::Read(crate::ingest::IngestError::Read { source, .. }) => body::read_error(&source),
            Self::Read(error) => ApiError::bad_request("bad_parameter", error.to_string()),
        }
    }
}

/// Queues a job and waits until it is durable, or refuses it unwritten at `deadline`.
/// The log sequence number of a written job; any error means nothing was written.
async fn submit_and_log(
    state: &AppState,
    deadline: tokio::time::Instant,
    submitted: Result<Ticket, QueueError>,
) -> Result<(u64, tokio::sync::oneshot::Receiver<super::ingestor::Outcome>), ApiError> {
    let mut ticket = submitted.map_err(queue_error)?;
    let logged = match tokio::time::timeout_at(deadline, &mut ticket.logged).await {
        Ok(logged) => logged,
        // Past the deadline: refused if the writer has not taken it yet, else its outcome
        // (a write and a sync) is what the answer must say.
        Err(_) if ticket.claim.abandon() => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "the write-ahead log did not take the request within {} ms; nothing was stored",
                    state.settings.request_timeout_ms
                ),
            )
            .retry_after(1));
        }
        Err(_) => (&mut ticket.logged).await,
    };
    match logged {
        Ok(Ok(seq)) => Ok((seq, ticket.done)),
        Ok(Err(message)) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "not_written",
            format!("{message}; nothing was stored"),
        )),
        Err(_) => Err(queue_error(QueueError::Closed)),
    }
}

/// Whether the job's outcome says it was indexed by `deadline`.
async fn indexed_by(
    deadline: tokio::time::Instant,
    done: tokio::sync::oneshot::Receiver<super::ingestor::Outcome>,
) -> bool {
    matches!(tokio::time::timeout_at(deadline, done).await, Ok(Ok(Ok(()))))
}

/// A 503 for a request whose parsing outlasted its deadline, before anything was queued.
pub(super) fn past_deadline(state: &AppState) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "timeout",
        format!("the request took longer than {} ms; nothing was stored", state.settings.request_timeout_ms),
    )
    .retry_after(1)
}

async fn ingest_logs(
    State(state): State<Shared>,
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
    uri: Uri,
    ApiQuery(params): ApiQuery<IngestParams>,
    request: Request,
) -> Result<Response, ApiError> {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(state.settings.request_timeout_ms);
    let format = format_of(&params, &headers)?;
    let commit = commit_mode(&params)?;
    let turn = state.admission.ingest()?;
    let body = RequestBody::receive(request, state.settings.max_body_bytes, body_timeout(&state)).await?;
    let (guard, claim) = match idempotency(&state, &caller, "logs", (&uri, &headers), &body)? {
        Keyed::Replayed(response) => return Ok(response),
        Keyed::Go { guard, claim } => (guard, claim),
    };
    let request_id = state.next_request_id();
    let options = ParseOptions {
        format,
        pattern: params.pattern.clone(),
        source: Some(params.source.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "http".into())),
        ..ParseOptions::default()
    };
    // Parsing is CPU work: off the async threads. The body is read as a stream and each batch
    // of records takes its room among the pending records as it is parsed, so one request
    // holds at most `max_pending_records` records, whatever its line count.
    let name = request_id.clone();
    let parsing = state.clone();
    let (records, room, rejections) = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        let mut records = Vec::new();
        let mut room: Option<tokio::sync::OwnedSemaphorePermit> = None;
        let mut rejections = Rejections::default();
        read_records::<ParseStop>(
            Input::from_reader(&name, body.reader()),
            &options,
            crate::pipeline::DEFAULT_BATCH_SIZE,
            Default::default(),
            &mut rejections,
            |batch, _| {
                if batch.is_empty() {
                    return Ok(());
                }
                let more = parsing.ingestor.reserve(records.len(), batch.len()).map_err(ParseStop::Room)?;
                match room.as_mut() {
                    Some(room) => room.merge(more),
                    None => room = Some(more),
                }
                records.extend(batch);
                Ok(())
            },
        )
        .map(|_| (records, room, rejections))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ParseStop::into_api_error)?;
    count_rejections(&state.metrics, &rejections);
    if records.is_empty() && rejections.total() > 0 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_valid_records",
            format!("none of the {} lines is a record: {}", rejections.total(), rejections_json(&rejections)),
        ));
    }
    if tokio::time::Instant::now() >= deadline {
        return Err(past_deadline(&state));
    }
    let accepted = records.len();
    let answer = json!({
        "request_id": request_id,
        "accepted": accepted,
        "rejected": rejections.total(),
        "rejections": rejections_json(&rejections),
    });
    let key = guard.as_ref().map(|guard| guard.record(answer.clone()));
    let indexed = store_logs(&state, deadline, (records, room), claim, key.into(), commit).await?;
    drop(guard);
    let mut answer = answer;
    answer["indexed"] = Value::Bool(indexed);
    Ok(axum::Json(answer).into_response())
}

/// Hands parsed log records (and the room taken for them, if any) to the writer under
/// `claim` with `keys`, and waits until they are durable — or refuses them unwritten at
/// `deadline`: every log ingest route answers through here. Says whether a commit holds them
/// by the deadline, when `commit` asks to wait for one.
pub(super) async fn store_logs(
    state: &AppState,
    deadline: tokio::time::Instant,
    (records, room): (Vec<crate::ingest::Record>, Option<tokio::sync::OwnedSemaphorePermit>),
    claim: Arc<Claim>,
    keys: JobKeys,
    commit: CommitMode,
) -> Result<bool, ApiError> {
    let accepted = records.len();
    if let Some(cluster) = &state.cluster {
        return append_to_cluster_log(state, cluster, deadline, (records, room), &keys, commit).await;
    }
    let work = Work::Logs { records, checkpoint: None, commit };
    let submitted = match room {
        Some(room) => state.ingestor.submit_reserved(work, room, claim, keys),
        None => state.ingestor.submit(work, accepted, claim, keys),
    };
    let (_, done) = submit_and_log(state, deadline, submitted).await?;
    state.metrics.records_in.inc_by(accepted as u64);
    Ok(match commit {
        CommitMode::Auto => false,
        CommitMode::WaitFor | CommitMode::Force => indexed_by(deadline, done).await,
    })
}

/// A cluster node's [`store_logs`]: the records go to the cluster's ingest log, and the sender
/// is answered once JetStream acknowledged them all. With `commit=wait_for` (or `force`, which
/// a cluster cannot hurry) the answer waits, up to the request's deadline, until they are
/// searchable on this node, or published in a piece when this node does not search. A keyed
/// request's messages carry ids made of its key and digest, so its retry, through any node,
/// is stored once.
async fn append_to_cluster_log(
    state: &AppState,
    cluster: &ClusterIngest,
    deadline: tokio::time::Instant,
    (records, room): (Vec<crate::ingest::Record>, Option<tokio::sync::OwnedSemaphorePermit>),
    keys: &JobKeys,
    commit: CommitMode,
) -> Result<bool, ApiError> {
    if !cluster.roles.ingest {
        return Err(role_missing(cluster, "not_an_ingest_node", "ingest", "send records to an ingest node"));
    }
    let accepted = records.len() as u64;
    let message_key = keys.request.as_ref().map(cluster_message_key);
    let appending = cluster.log.append(records, chrono::Utc::now().timestamp_millis(), message_key.as_deref());
    let retry = if message_key.is_some() {
        "what was sent may still be stored; retry with the same Idempotency-Key, which stores it once"
    } else {
        "what was sent may still be stored; send an Idempotency-Key so a retry is stored once"
    };
    let appended = match tokio::time::timeout_at(deadline, appending).await {
        Ok(Ok(appended)) => appended,
        Ok(Err(error)) => {
            let retry = if error.nothing_sent() { "send it again later" } else { retry };
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ingest_log_unavailable",
                format!("{error}; {retry}"),
            )
            .retry_after(1));
        }
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!("the ingest log did not acknowledge within {} ms; {retry}", state.settings.request_timeout_ms),
            )
            .retry_after(1));
        }
    };
    drop(room);
    if appended.duplicates < appended.messages {
        state.metrics.records_in.inc_by(accepted);
    }
    Ok(match commit {
        CommitMode::Auto => false,
        CommitMode::WaitFor | CommitMode::Force => cluster.wait_indexed(&appended, deadline).await,
    })
}

/// The id a keyed request's messages carry in the cluster's streams: its holder, route and key
/// hashed, and its digest, so the same request through any node has the same ids.
fn cluster_message_key(key: &super::idempotency::KeyRecord) -> String {
    use sha2::{Digest, Sha256};
    let scope = Sha256::digest(key.scope.as_bytes());
    let scope: String = scope.iter().take(12).map(|byte| format!("{byte:02x}")).collect();
    format!("{scope}-{}", key.digest.get(..24).unwrap_or(&key.digest))
}

pub(super) fn body_timeout(state: &AppState) -> Duration {
    Duration::from_millis(state.settings.body_read_timeout_ms.max(1))
}

async fn ingest_reports(
    State(state): State<Shared>,
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
    uri: Uri,
    ApiQuery(params): ApiQuery<IngestParams>,
    request: Request,
) -> Result<Response, ApiError> {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(state.settings.request_timeout_ms);
    let format = match params.format.as_deref() {
        None | Some("") | Some("auto") => ReportFormat::Auto,
        Some("json") => ReportFormat::Json,
        Some("jsonl") => ReportFormat::Jsonl,
        Some("csv") => ReportFormat::Csv,
        Some(other) => {
            return Err(ApiError::bad_request("bad_parameter", format!("format `{other}`: auto, json, jsonl or csv")));
        }
    };
    let turn = state.admission.ingest()?;
    let body = RequestBody::receive(request, state.settings.max_body_bytes, body_timeout(&state)).await?;
    let (guard, claim) = match idempotency(&state, &caller, "reports", (&uri, &headers), &body)? {
        Keyed::Replayed(response) => return Ok(response),
        Keyed::Go { guard, claim } => (guard, claim),
    };
    let request_id = state.next_request_id();
    let name = request_id.clone();
    let (reports, rejections, warnings) = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        let content = body.to_vec()?;
        let (mut rejections, mut warnings) = (Rejections::default(), Warnings::default());
        parse_reports(&name, &content, format, &mut rejections, &mut warnings)
            .map(|reports| (reports, rejections, warnings))
            .map_err(|error| ApiError::bad_request("bad_body", error.to_string()))
    })
    .await
    .map_err(ApiError::internal)??;
    count_rejections(&state.metrics, &rejections);
    if reports.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_valid_reports",
            format!("the body holds no valid report: {}", rejections_json(&rejections)),
        ));
    }
    if tokio::time::Instant::now() >= deadline {
        return Err(past_deadline(&state));
    }
    let accepted = reports.len();
    let ids: Vec<String> = reports.iter().map(|report| report.id.clone()).collect();
    let answer = json!({
        "request_id": request_id,
        "accepted": accepted,
        "ids": ids,
        "rejected": rejections.total(),
        "rejections": rejections_json(&rejections),
        "warned": warnings.total(),
        "warnings": by_reason_json(&warnings.by_reason),
    });
    let key = guard.as_ref().map(|guard| guard.record(answer.clone()));
    if let Some(cluster) = &state.cluster {
        let message_key = key.as_ref().map(cluster_message_key);
        let appending = cluster.log.append_reports(reports, message_key.as_deref());
        match tokio::time::timeout_at(deadline, appending).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ingest_log_unavailable",
                    error.to_string(),
                )
                .retry_after(1));
            }
            Err(_) => return Err(past_deadline(&state)),
        }
        let mut answer = answer;
        answer["indexed"] = Value::Bool(false);
        return Ok(axum::Json(answer).into_response());
    }
    let submitted = state.ingestor.submit(Work::Reports(reports), accepted, claim, key);
    let (_, done) = submit_and_log(&state, deadline, submitted).await?;
    drop(guard);
    // Stored reports are searchable at once; wait for that within the deadline, as before.
    let indexed = indexed_by(deadline, done).await;
    let mut answer = answer;
    answer["indexed"] = Value::Bool(indexed);
    Ok(axum::Json(answer).into_response())
}
