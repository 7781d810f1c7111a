//! Live tail: `GET /api/tail` streams the records that match a query as they become
//! searchable, as server-sent events (`event: record`, the hit as JSON, oldest first).
//!
//! A stream polls the index once a second from a time cursor: it sends the matching records
//! stamped at or after the newest one it sent (those at that very millisecond only once), so a
//! record stamped earlier than what the stream has shown (a late shipper) is not streamed; the
//! search shows it. More than [`MAX_PER_POLL`] new records in one poll send the newest ones and
//! an `event: skipped` with how many were left out, so a burst cannot swamp the page.
//!
//! Streams have their own cap (`max_tail_streams`, 429 `too_many_tails` past it) instead of
//! holding query turns: each poll takes a turn like any query and gives it back. A comment
//! line every third of `idle_timeout_ms` (15 s at most) keeps the connection's idle clock from
//! closing a quiet stream, and the request deadline does not apply (the answer starts at
//! once). At shutdown every stream ends, so the server does not wait on them.
//!
//! In: the query, source and an optional start time. Out: a `text/event-stream` response.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::api::{ApiQuery, Shared, blocking, time_param};
use super::error::ApiError;
use crate::index::{SearchHit, SearchRequest};

/// How often a stream looks for new records.
const POLL: Duration = Duration::from_secs(1);

/// Records one poll sends at most.
pub const MAX_PER_POLL: usize = 500;

/// The open streams' cap and the signal that ends them.
pub struct TailStreams {
    permits: Arc<Semaphore>,
    stopping: watch::Sender<bool>,
}

impl TailStreams {
    pub fn new(max_streams: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(max_streams.max(1))), stopping: watch::channel(false).0 }
    }

    /// Ends every stream (the server is stopping) and refuses new ones.
    pub fn stop(&self) {
        self.permits.close();
        let _ = self.stopping.send(true);
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct TailParams {
    #[serde(default)]
    q: String,
    source: Option<String>,
    /// Stream records stamped from this time on (default: now).
    since: Option<String>,
}

/// Where a stream stands: the newest time it sent, and the records of that millisecond it
/// sent (by file and line), so the next poll sends neither again.
struct Cursor {
    since_ms: i64,
    sent_at_since: HashSet<(String, u64)>,
}

impl Cursor {
    /// The hits not sent yet, oldest first, moving the cursor past them.
    fn advance(&mut self, mut hits: Vec<SearchHit>) -> Vec<SearchHit> {
        hits.retain(|hit| {
            hit.timestamp_ms > self.since_ms
                || (hit.timestamp_ms == self.since_ms
                    && !self.sent_at_since.contains(&(hit.record.origin.file.clone(), hit.record.origin.line)))
        });
        hits.reverse();
        if let Some(newest) = hits.last().map(|hit| hit.timestamp_ms) {
            if newest > self.since_ms {
                self.sent_at_since.clear();
                self.since_ms = newest;
            }
            for hit in hits.iter().filter(|hit| hit.timestamp_ms == newest) {
                self.sent_at_since.insert((hit.record.origin.file.clone(), hit.record.origin.line));
            }
        }
        hits
    }
}

/// What one stream holds between polls.
struct Stream {
    state: Shared,
    request: SearchRequest,
    cursor: Cursor,
    stopping: watch::Receiver<bool>,
    pending: std::collections::VecDeque<Event>,
    _permit: OwnedSemaphorePermit,
}

pub(super) async fn tail(
    State(state): State<Shared>,
    ApiQuery(params): ApiQuery<TailParams>,
) -> Result<Response, ApiError> {
    let permit = state.tails.permits.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_tails",
            format!(
                "{} live-tail streams are open, the most `max_tail_streams` allows; close one",
                state.settings.max_tail_streams
            ),
        )
        .retry_after(5)
    })?;
    let since_ms =
        time_param("since", params.since.as_deref())?.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let request = SearchRequest {
        query: params.q,
        source: params.source.filter(|source| !source.is_empty()),
        since_ms: Some(since_ms),
        until_ms: None,
        limit: Some(MAX_PER_POLL),
    };
    // A bad query is a 400 now, not an event after the stream started.
    let probe = request.clone();
    blocking(&state, "tail", move |state| Ok(state.logs.count(&probe)?)).await?;
    let heartbeat = Duration::from_millis(state.settings.idle_timeout_ms / 3)
        .clamp(Duration::from_millis(100), Duration::from_secs(15));
    let stopping = state.tails.stopping.subscribe();
    let stream = Stream {
        state,
        request,
        cursor: Cursor { since_ms: since_ms - 1, sent_at_since: HashSet::new() },
        stopping,
        pending: Default::default(),
        _permit: permit,
    };
    let events = futures_util::stream::unfold(stream, |mut stream| async move {
        loop {
            if let Some(event) = stream.pending.pop_front() {
                return Some((Ok::<Event, std::convert::Infallible>(event), stream));
            }
            if *stream.stopping.borrow() {
                return None;
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {},
                _ = stream.stopping.changed() => return None,
            }
            stream.poll().await;
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat")).into_response())
}

impl Stream {
    /// Looks for new records and queues their events (or an error event).
    async fn poll(&mut self) {
        let request = SearchRequest { since_ms: Some(self.cursor.since_ms), ..self.request.clone() };
        let found = blocking(&self.state, "tail", move |state| {
            let total = state.logs.count(&request)?;
            Ok((total, state.logs.search(&request)?))
        })
        .await;
        match found {
            Ok((total, hits)) => {
                let already = hits.len();
                let new = self.cursor.advance(hits);
                let skipped = total.saturating_sub(already);
                if skipped > 0 {
                    self.pending.push_back(Event::default().event("skipped").data(skipped.to_string()));
                }
                for hit in new {
                    self.pending.push_back(Event::default().event("record").data(hit.to_json().to_string()));
                }
            }
            // Busy (queue full) or a failure: say it, and try again at the next poll.
            Err(error) => {
                let body = serde_json::json!({ "error": { "code": error.code, "message": error.message } });
                self.pending.push_back(Event::default().event("error").data(body.to_string()));
            }
        }
    }
}
