//! The protocols log shippers speak, over the same writer, limits and acknowledgement rule as
//! `/api/ingest/logs` (a 2xx means durable; refused per request means nothing was written):
//!
//! - OTLP/HTTP logs at `POST /v1/logs`, protobuf or JSON, answered with an
//!   `ExportLogsServiceResponse` whose partial success counts the refused records;
//! - Elasticsearch's bulk API at `/es/_bulk` and `/es/{index}/_bulk` (POST or PUT), answered
//!   item by item as Elasticsearch does, with `GET /es/` for the clients' version probe. A bulk
//!   action's `_id` is remembered ([`super::document_ids`]): a repeated one is not stored again
//!   (`create` answers 409 for it);
//! - Loki's push API at `POST /loki/api/v1/push`, snappy-compressed protobuf or JSON, answered
//!   204; when some entries were refused (the others kept) 400 naming them, as Loki does, so
//!   that clients do not send the kept ones again.
//!
//! A push already written is not stored again: its key is the `Idempotency-Key` it sent, else
//! the push itself, hashed, since shippers resend the very bytes whose answer they missed
//! ([`push_key`]); the repeat gets the first answer again. Keys live as the API's do (the
//! `idempotency_window_ms` and `max_idempotency_keys` of [`super::idempotency`]).
//!
//! Errors come in each protocol's own format (a `google.rpc.Status` for OTLP, Elasticsearch's
//! `{"error": {"type", "reason"}, "status"}`, plain text for Loki), rewritten from the API's
//! by a layer so that the refusals made before a handler runs (token, rate limit, body size)
//! read the same way.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceResponse};
use prost::Message;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{
    Caller, Shared, authorize, body_timeout, idempotency_key, key_reused, past_deadline, queue_error, request_digest,
    store_logs,
};
use super::body::RequestBody;
use super::document_ids::{self, DocumentKey, Seen};
use super::error::ApiError;
use super::idempotency::{Begin, KeyGuard};
use super::ingestor::{Claim, CommitMode, JobKeys, count_rejections};
use crate::config::Role;
use crate::ingest::bulk::{self, BulkItem, ItemError, OpType};
use crate::ingest::loki;
use crate::ingest::otlp::{self, OtlpEncoding};
use crate::ingest::{Record, Rejections};

/// Whether a path takes records in: such a request keeps its own deadline (it must answer
/// what was written, never a bare timeout).
pub fn is_ingest_path(path: &str) -> bool {
    path.starts_with("/api/ingest/") || path == "/v1/logs" || path.starts_with("/es/") || path == "/loki/api/v1/push"
}

/// The shipper routes, each behind an ingest token and its protocol's error format.
pub fn routes(state: &Shared) -> Router<Shared> {
    let auth = || middleware::from_fn_with_state((state.clone(), Some(Role::Ingest)), authorize);
    let otlp =
        Router::new().route("/v1/logs", post(otlp_logs)).route_layer(auth()).layer(middleware::from_fn(otlp_errors));
    let elasticsearch = Router::new()
        .route("/es", get(es_root))
        .route("/es/", get(es_root))
        .route("/es/_cluster/health", get(es_health))
        // Elasticsearch takes bulk as POST or PUT; the official Python client sends PUT.
        .route("/es/_bulk", post(es_bulk).put(es_bulk))
        .route("/es/{index}/_bulk", post(es_bulk_into).put(es_bulk_into))
        .route_layer(auth())
        .layer(middleware::from_fn(es_errors));
    let loki = Router::new()
        .route("/loki/api/v1/push", post(loki_push))
        .route_layer(auth())
        .layer(middleware::from_fn(loki_errors));
    otlp.merge(elasticsearch).merge(loki)
}

// ---- OTLP ----

/// The gRPC status code OTLP answers carry for an HTTP status.
fn grpc_code(status: StatusCode) -> i32 {
    match status.as_u16() {
        400 | 413 | 415 | 422 => 3, // INVALID_ARGUMENT
        401 => 16,                  // UNAUTHENTICATED
        403 => 7,                   // PERMISSION_DENIED
        404 => 5,                   // NOT_FOUND
        408 | 504 => 4,             // DEADLINE_EXCEEDED
        429 => 8,                   // RESOURCE_EXHAUSTED
        503 => 14,                  // UNAVAILABLE
        _ => 13,                    // INTERNAL
    }
}

/// `google.rpc.Status`, what an OTLP/HTTP error body is.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// Whether a body is protobuf (`Some(true)`) or JSON (`Some(false)`) by its `Content-Type`; a
/// missing one counts as `missing`. The error names what was sent and what is taken.
fn protobuf_or_json(headers: &HeaderMap, missing: Option<bool>) -> Result<bool, String> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match (media.as_str(), missing) {
        ("application/x-protobuf" | "application/protobuf", _) => Ok(true),
        ("application/json", _) => Ok(false),
        ("", Some(protobuf)) => Ok(protobuf),
        _ => Err(format!("Content-Type `{content_type}`: application/x-protobuf or application/json")),
    }
}

fn otlp_encoding(headers: &HeaderMap) -> Result<OtlpEncoding, String> {
    protobuf_or_json(headers, None).map(|protobuf| if protobuf { OtlpEncoding::Protobuf } else { OtlpEncoding::Json })
}

/// An OTLP answer: `message` encoded as the request was (JSON unless it was protobuf).
fn otlp_answer(status: StatusCode, encoding: OtlpEncoding, protobuf: Vec<u8>, json: Value) -> Response {
    let mut response = match encoding {
        OtlpEncoding::Protobuf => {
            (status, [(header::CONTENT_TYPE, "application/x-protobuf")], protobuf).into_response()
        }
        OtlpEncoding::Json => (status, axum::Json(json)).into_response(),
    };
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().entry(header::RETRY_AFTER).or_insert(HeaderValue::from(1));
    }
    response
}

/// Rewrites the API's error answers on `/v1/logs` into `google.rpc.Status`.
async fn otlp_errors(request: Request, next: Next) -> Response {
    let encoding = otlp_encoding(request.headers()).unwrap_or(OtlpEncoding::Json);
    let error = match api_error(next.run(request).await).await {
        Ok(error) => error,
        Err(response) => return response,
    };
    let status_message =
        RpcStatus { code: grpc_code(error.status), message: format!("{}: {}", error.code, error.message) };
    let json = json!({ "code": status_message.code, "message": status_message.message });
    error.keeping_retry_after(otlp_answer(error.status, encoding, status_message.encode_to_vec(), json))
}

/// An error answer of the API, taken apart.
struct ApiErrorAnswer {
    status: StatusCode,
    headers: HeaderMap,
    code: String,
    message: String,
}

impl ApiErrorAnswer {
    /// `answer`, the protocol's form of this error, with its `Retry-After` if it had one.
    fn keeping_retry_after(&self, mut answer: Response) -> Response {
        if let Some(value) = self.headers.get(header::RETRY_AFTER) {
            answer.headers_mut().insert(header::RETRY_AFTER, value.clone());
        }
        answer
    }
}

/// The API error an answer is, or the answer as it was when it is not one.
async fn api_error(response: Response) -> Result<ApiErrorAnswer, Response> {
    if !(response.status().is_client_error() || response.status().is_server_error()) {
        return Err(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let read = serde_json::from_slice::<Value>(&bytes).ok().and_then(|value| {
        let error = value.get("error")?;
        Some((error.get("code")?.as_str()?.to_string(), error.get("message")?.as_str()?.to_string()))
    });
    match read {
        Some((code, message)) => Ok(ApiErrorAnswer { status: parts.status, headers: parts.headers, code, message }),
        None => Err(Response::from_parts(parts, Body::from(bytes))),
    }
}

async fn otlp_logs(
    State(state): State<Shared>,
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
    uri: Uri,
    Query(params): Query<ShipperParams>,
    request: Request,
) -> Result<Response, ApiError> {
    let encoding = otlp_encoding(&headers)
        .map_err(|message| ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message))?;
    let commit = params.commit_mode()?;
    let push = Push { caller: &caller, route: "otlp", uri: &uri, headers: &headers };
    let read = move |content: &[u8], name: &str, rejections: &mut Rejections| {
        Ok(otlp::records(otlp::decode(content, encoding)?, name, rejections))
    };
    receive_and_store(&state, push, request, commit, read, move |_, rejections| {
        let rejected = rejections.total();
        let error_message = rejections
            .by_reason
            .iter()
            .map(|(reason, group)| {
                format!(
                    "{reason}: {} record(s), e.g. {}",
                    group.count,
                    group.examples.first().map_or("", String::as_str)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        match encoding {
            OtlpEncoding::Protobuf => {
                let response = ExportLogsServiceResponse {
                    partial_success: (rejected > 0).then(|| ExportLogsPartialSuccess {
                        rejected_log_records: rejected as i64,
                        error_message: error_message.clone(),
                    }),
                };
                PushAnswer::new(StatusCode::OK, "application/x-protobuf", response.encode_to_vec())
            }
            OtlpEncoding::Json => {
                let json = if rejected > 0 {
                    json!({ "partialSuccess": { "rejectedLogRecords": rejected, "errorMessage": error_message } })
                } else {
                    json!({})
                };
                PushAnswer::new(StatusCode::OK, "application/json", json.to_string().into_bytes())
            }
        }
    })
    .await
}

/// A push of a shipper route: who sent it and how, for its key.
struct Push<'a> {
    caller: &'a Caller,
    route: &'a str,
    uri: &'a Uri,
    headers: &'a HeaderMap,
}

/// A shipper route's answer as sent, and as the key of its push keeps it: a repeat of a push
/// already written gets the same answer again and stores nothing.
struct PushAnswer {
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
}

impl PushAnswer {
    fn new(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Self {
        Self { status, content_type, body }
    }

    fn to_json(&self) -> Value {
        use base64::Engine;
        json!({
            "status": self.status.as_u16(),
            "content_type": self.content_type,
            "body": base64::engine::general_purpose::STANDARD.encode(&self.body),
        })
    }

    /// The answer a key kept; `None` if it is not one this route wrote.
    fn from_json(answer: &Value) -> Option<Self> {
        use base64::Engine;
        let status = StatusCode::from_u16(u16::try_from(answer["status"].as_u64()?).ok()?).ok()?;
        let content_type = match answer["content_type"].as_str()? {
            "application/x-protobuf" => "application/x-protobuf",
            "application/json" => "application/json",
            _ => "text/plain; charset=utf-8",
        };
        let body = base64::engine::general_purpose::STANDARD.decode(answer["body"].as_str()?).ok()?;
        Some(Self { status, content_type, body })
    }

    fn into_response(self) -> Response {
        if self.body.is_empty() {
            return self.status.into_response();
        }
        (self.status, [(header::CONTENT_TYPE, self.content_type)], self.body).into_response()
    }
}

/// A push already written is not stored again. Its key is the `Idempotency-Key` it sent, else
/// the push itself (query, encoding and body, hashed): shippers resend a push whose answer
/// they did not get byte for byte, and a push of the same entries with the same times is, as
/// Loki has it, the same entries. While the first is being written a repeat is told to retry
/// (429, which OTLP and Loki clients retry; a 409 they would drop).
fn push_key(state: &Shared, push: &Push, body: &RequestBody) -> Result<Result<KeyGuard, Response>, ApiError> {
    let digest = request_digest(push.uri, body);
    let key = idempotency_key(push.headers)?.unwrap_or_else(|| format!("push:{digest}"));
    let scope = format!("{}\n{}\n{key}", push.caller.0, push.route);
    match state.ingestor.keys.begin(scope, digest, Arc::default()) {
        Begin::New(guard) => Ok(Ok(guard)),
        Begin::Replay(first) => {
            state.metrics.idempotent_replays.inc();
            let answer = PushAnswer::from_json(&first.answer).unwrap_or_else(|| {
                PushAnswer::new(StatusCode::OK, "application/json", first.answer.to_string().into_bytes())
            });
            let mut response = answer.into_response();
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(Err(response))
        }
        Begin::Mismatch => Err(key_reused(&key)),
        Begin::InFlight => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "push_in_flight",
            "the same push is still being written; nothing was stored, retry",
        )
        .retry_after(1)),
    }
}

/// Receives a push's body, answers a repeat of a push already written as it was answered
/// ([`push_key`]), reads the body into records with `read` off the async threads (its error
/// says why the body is not what the route takes: 400, nothing stored), stores them as
/// `/api/ingest/logs` does, and answers what `answer` makes of the records kept and refused.
async fn receive_and_store(
    state: &Shared,
    push: Push<'_>,
    request: Request,
    commit: CommitMode,
    read: impl FnOnce(&[u8], &str, &mut Rejections) -> Result<Vec<Record>, String> + Send + 'static,
    answer: impl FnOnce(usize, &Rejections) -> PushAnswer,
) -> Result<Response, ApiError> {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(state.settings.request_timeout_ms);
    let turn = state.admission.ingest()?;
    let body = RequestBody::receive(request, state.settings.max_body_bytes, body_timeout(state)).await?;
    let guard = match push_key(state, &push, &body)? {
        Ok(guard) => guard,
        Err(replayed) => return Ok(replayed),
    };
    let name = state.next_request_id();
    let parsing = state.clone();
    let (records, room, rejections) = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        let content = body.to_vec()?;
        let mut rejections = Rejections::default();
        let records =
            read(&content, &name, &mut rejections).map_err(|message| ApiError::bad_request("bad_body", message))?;
        let room = reserve(&parsing, &records)?;
        Ok::<_, ApiError>((records, room, rejections))
    })
    .await
    .map_err(ApiError::internal)??;
    count_rejections(&state.metrics, &rejections);
    if tokio::time::Instant::now() >= deadline {
        return Err(past_deadline(state));
    }
    let answer = answer(records.len(), &rejections);
    if !records.is_empty() {
        let key = guard.record(answer.to_json());
        store_logs(state, deadline, (records, room), guard.claim(), Some(key).into(), commit).await?;
    }
    drop(guard);
    Ok(answer.into_response())
}

/// Room among the pending records for a request's records (none needed for none).
fn reserve(state: &Shared, records: &[Record]) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, ApiError> {
    if records.is_empty() {
        return Ok(None);
    }
    state.ingestor.reserve(0, records.len()).map(Some).map_err(queue_error)
}

#[derive(Debug, Default, Deserialize)]
struct ShipperParams {
    /// Elasticsearch's `refresh` (`true`, `wait_for`, `false`) or this API's `commit`.
    refresh: Option<String>,
    commit: Option<String>,
}

impl ShipperParams {
    fn commit_mode(&self) -> Result<CommitMode, ApiError> {
        match (self.refresh.as_deref(), self.commit.as_deref()) {
            (Some("true") | Some(""), _) | (_, Some("force")) => Ok(CommitMode::Force),
            (Some("wait_for"), _) | (_, Some("wait_for")) => Ok(CommitMode::WaitFor),
            (None | Some("false"), None | Some("auto") | Some("")) => Ok(CommitMode::Auto),
            (Some(other), _) | (_, Some(other)) => Err(ApiError::bad_request(
                "bad_parameter",
                format!("`{other}`: refresh is true, false or wait_for; commit is auto, wait_for or force"),
            )),
        }
    }
}

// ---- Elasticsearch ----

/// The version clients are told (the bulk API they use has not changed since 7).
const ES_VERSION: &str = "8.11.0";

async fn es_root() -> Response {
    axum::Json(json!({
        "name": "opsloop",
        "cluster_name": "opsloop",
        "cluster_uuid": "opsloop",
        "version": {
            "number": ES_VERSION,
            "build_flavor": "default",
            "build_type": "opsloop",
            "lucene_version": "9.8.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
        "tagline": "You Know, for Search",
    }))
    .into_response()
}

async fn es_health() -> Response {
    axum::Json(json!({ "cluster_name": "opsloop", "status": "green", "timed_out": false, "number_of_nodes": 1 }))
        .into_response()
}

/// Rewrites the API's error answers under `/es/` into Elasticsearch's, and marks every answer
/// as Elasticsearch's (the official clients refuse one without `X-Elastic-Product`).
async fn es_errors(request: Request, next: Next) -> Response {
    let mut response = match api_error(next.run(request).await).await {
        Err(response) => response,
        Ok(error) => {
            // The types clients know how to handle: retry on rejected execution, stop on security.
            let kind = match error.status.as_u16() {
                401 | 403 => "security_exception",
                429 => "es_rejected_execution_exception",
                _ => error.code.as_str(),
            };
            error.keeping_retry_after(es_error(error.status, kind, &format!("{}: {}", error.code, error.message)))
        }
    };
    response.headers_mut().insert("x-elastic-product", HeaderValue::from_static("Elasticsearch"));
    response
}

fn es_error(status: StatusCode, kind: &str, reason: &str) -> Response {
    let cause = json!({ "type": kind, "reason": reason });
    let body = json!({ "error": { "root_cause": [cause], "type": kind, "reason": reason }, "status": status.as_u16() });
    (status, axum::Json(body)).into_response()
}

async fn es_bulk(
    state: State<Shared>,
    caller: axum::Extension<Caller>,
    params: Query<ShipperParams>,
    request: Request,
) -> Result<Response, ApiError> {
    bulk_request(state, caller, None, params, request).await
}

async fn es_bulk_into(
    state: State<Shared>,
    caller: axum::Extension<Caller>,
    Path(index): Path<String>,
    params: Query<ShipperParams>,
    request: Request,
) -> Result<Response, ApiError> {
    bulk_request(state, caller, Some(index), params, request).await
}

/// What became of one action.
enum ItemOutcome {
    /// To be stored (its record is in the job).
    Stored,
    /// Not stored again: its `_id` was stored before with this document.
    Repeated,
    Failed(ItemError),
}

async fn bulk_request(
    State(state): State<Shared>,
    axum::Extension(caller): axum::Extension<Caller>,
    default_index: Option<String>,
    Query(params): Query<ShipperParams>,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(state.settings.request_timeout_ms);
    let commit = params.commit_mode()?;
    let turn = state.admission.ingest()?;
    let body = RequestBody::receive(request, state.settings.max_body_bytes, body_timeout(&state)).await?;
    let request_id = state.next_request_id();
    let name = request_id.clone();
    let holder = caller.0.clone();
    let items = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        let content = body.to_vec()?;
        // The hashes a document's `_id` is remembered by, taken here, off the async threads.
        let items = bulk::parse(&content, default_index.as_deref(), &name).into_iter().map(|item| {
            let hashes = item.id.as_ref().map(|id| {
                let scope = document_ids::hash128(&[holder.as_bytes(), item.index.as_bytes(), id.as_bytes()]);
                (scope, document_ids::hash128(&[&item.document]))
            });
            (item, hashes)
        });
        Ok::<_, ApiError>(items.collect::<Vec<_>>())
    })
    .await
    .map_err(ApiError::internal)??;
    if items.is_empty() {
        return Err(ApiError::bad_request("parse_exception", "the bulk body holds no action; nothing was stored"));
    }
    // First what each action is without the stored ids; the ids are then looked up at once.
    let mut slots: Vec<Option<Record>> = Vec::with_capacity(items.len());
    let mut outcomes: Vec<Option<ItemOutcome>> = Vec::with_capacity(items.len());
    let mut answers = Vec::with_capacity(items.len());
    let mut rejections = Rejections::default();
    // The ids met in this request, with their documents' digests, and the ones to look up.
    let mut in_this_request: HashMap<u128, u128> = HashMap::new();
    let mut lookups: Vec<(u128, u128)> = Vec::new();
    let mut looked_up: Vec<usize> = Vec::new();
    for (position, (item, hashes)) in items.into_iter().enumerate() {
        let BulkItem { op, index, id, outcome, .. } = item;
        let id = id.unwrap_or_else(|| format!("{request_id}-{}", position + 1));
        let (slot, outcome) = match (outcome, hashes) {
            (Err(error), _) => {
                rejections.add(&request_id, position as u64 + 1, error.kind);
                (None, Some(ItemOutcome::Failed(error)))
            }
            (Ok(record), None) => (Some(record), Some(ItemOutcome::Stored)),
            (Ok(_), Some((scope, digest))) if in_this_request.contains_key(&scope) => {
                (None, Some(repeated_id(op, &id, in_this_request[&scope] == digest)))
            }
            (Ok(record), Some((scope, digest))) => {
                in_this_request.insert(scope, digest);
                lookups.push((scope, digest));
                looked_up.push(position);
                (Some(record), None)
            }
        };
        slots.push(slot);
        outcomes.push(outcome);
        answers.push((op, index, id));
    }
    // Every id is held under the job's claim: written with it, or free again.
    let claim: Arc<Claim> = Arc::default();
    let (seen, ids_guard) = state.ingestor.ids.begin(&lookups, claim.clone());
    let at_ms = chrono::Utc::now().timestamp_millis();
    let mut document_ids = Vec::new();
    for ((position, seen), (scope, digest)) in looked_up.into_iter().zip(seen).zip(lookups) {
        let (op, id) = (answers[position].0, &answers[position].2);
        outcomes[position] = Some(match seen {
            Seen::New => {
                document_ids.push(DocumentKey { scope, digest, at_ms });
                ItemOutcome::Stored
            }
            Seen::Stored { same_document } => {
                slots[position] = None;
                repeated_id(op, id, same_document)
            }
            Seen::InFlight => {
                slots[position] = None;
                ItemOutcome::Failed(ItemError {
                    status: 429,
                    kind: "es_rejected_execution_exception",
                    reason: format!("[{id}]: another request with this _id is being written; retry"),
                })
            }
        });
    }
    let records: Vec<Record> = slots.into_iter().flatten().collect();
    let outcomes: Vec<ItemOutcome> = outcomes.into_iter().flatten().collect();
    count_rejections(&state.metrics, &rejections);
    if tokio::time::Instant::now() >= deadline {
        return Err(past_deadline(&state));
    }
    if !records.is_empty() {
        let room = reserve(&state, &records)?;
        let keys = JobKeys { request: None, documents: document_ids };
        store_logs(&state, deadline, (records, room), claim, keys, commit).await?;
    }
    drop(ids_guard);
    let took = started.elapsed().as_millis() as u64;
    let body = bulk_answer(took, outcomes.into_iter().zip(answers));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Elasticsearch's bulk answer, written straight out: a `serde_json::Value` per item cost a
/// third of the bulk route's time.
fn bulk_answer(took: u64, items: impl ExactSizeIterator<Item = (ItemOutcome, (OpType, String, String))>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + items.len() * 192);
    let mut errors = false;
    out.extend_from_slice(b"{\"items\":[");
    for (number, (outcome, (op, index, id))) in items.enumerate() {
        if number > 0 {
            out.push(b',');
        }
        let quoted = |text: &str| serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into());
        let head = format!("{{\"{}\":{{\"_index\":{},\"_id\":{},", op.name(), quoted(&index), quoted(&id));
        out.extend_from_slice(head.as_bytes());
        let tail = |result: &str, status: u16| {
            format!(
                "\"_version\":1,\"result\":\"{result}\",\"status\":{status},\
                 \"_shards\":{{\"total\":1,\"successful\":1,\"failed\":0}},\"_seq_no\":0,\"_primary_term\":1}}}}"
            )
        };
        let rest = match outcome {
            ItemOutcome::Stored => tail("created", 201),
            ItemOutcome::Repeated => tail("noop", 200),
            ItemOutcome::Failed(error) => {
                errors = true;
                format!(
                    "\"status\":{},\"error\":{{\"type\":{},\"reason\":{}}}}}}}",
                    error.status,
                    quoted(error.kind),
                    quoted(&error.reason)
                )
            }
        };
        out.extend_from_slice(rest.as_bytes());
    }
    out.extend_from_slice(format!("],\"took\":{took},\"errors\":{errors}}}").as_bytes());
    out
}

/// The answer for an action whose `_id` was stored before: `create` conflicts, as in
/// Elasticsearch; `index` of the same document is a no-op, of another one a conflict too,
/// since a stored record is never replaced.
fn repeated_id(op: OpType, id: &str, same_document: bool) -> ItemOutcome {
    match (op, same_document) {
        (OpType::Index, true) => ItemOutcome::Repeated,
        (OpType::Create, _) => ItemOutcome::Failed(ItemError {
            status: 409,
            kind: "version_conflict_engine_exception",
            reason: format!("[{id}]: version conflict, document already exists"),
        }),
        _ => ItemOutcome::Failed(ItemError {
            status: 409,
            kind: "version_conflict_engine_exception",
            reason: format!(
                "[{id}]: a document with this _id is stored already with other content; stored records are never replaced"
            ),
        }),
    }
}

// ---- Loki ----

/// Rewrites the API's error answers on the Loki route into plain text, as Loki answers.
async fn loki_errors(request: Request, next: Next) -> Response {
    match api_error(next.run(request).await).await {
        Err(response) => response,
        Ok(error) => {
            error.keeping_retry_after((error.status, format!("{}: {}\n", error.code, error.message)).into_response())
        }
    }
}

async fn loki_push(
    State(state): State<Shared>,
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
    uri: Uri,
    Query(params): Query<ShipperParams>,
    request: Request,
) -> Result<Response, ApiError> {
    // A JSON push without a Content-Type is what Loki's own examples send.
    let protobuf = protobuf_or_json(&headers, Some(false)).map_err(|message| {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", format!("{message} (snappy)"))
    })?;
    let commit = params.commit_mode()?;
    let limit = state.settings.max_body_bytes;
    let push = Push { caller: &caller, route: "loki", uri: &uri, headers: &headers };
    let read = move |content: &[u8], name: &str, rejections: &mut Rejections| {
        let streams = if protobuf { loki::decode_protobuf(content, limit) } else { loki::decode_json(content) }?;
        Ok(loki::records(streams, name, rejections))
    };
    receive_and_store(&state, push, request, commit, read, |kept, rejections| {
        if rejections.total() == 0 {
            return PushAnswer::new(StatusCode::NO_CONTENT, "text/plain; charset=utf-8", Vec::new());
        }
        let refused: Vec<String> = rejections
            .by_reason
            .iter()
            .map(|(reason, group)| format!("{reason}: {} entries, e.g. {}", group.count, group.examples.join("; ")))
            .collect();
        let text = format!("{} entries refused, {kept} stored: {}\n", rejections.total(), refused.join(" | "));
        PushAnswer::new(StatusCode::BAD_REQUEST, "text/plain; charset=utf-8", text.into_bytes())
    })
    .await
}
