//! Who gets a turn: queries run at most `max_concurrent_queries` at once with at most
//! `max_queued_queries` waiting (beyond, 503 `busy` with `Retry-After`), and at most
//! `max_concurrent_ingests` ingest bodies are read and parsed at once (beyond, 429
//! `ingest_busy`). Without the first, 1,000 concurrent searches grew the blocking pool to 512
//! threads and the process from 162 MB to 1.79 GB; without the second, every connection could
//! hold a body of `max_body_bytes` and its records.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;
use super::metrics::Metrics;
use crate::config::ServeSettings;

/// A turn to run a query or parse a body; the turn ends when it is dropped.
pub type Turn = OwnedSemaphorePermit;

/// The turns queries and ingest bodies take.
pub struct Admission {
    queries: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    ingests: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

impl Admission {
    pub fn new(settings: &ServeSettings, metrics: Arc<Metrics>) -> Self {
        Self {
            queries: Arc::new(Semaphore::new(settings.max_concurrent_queries.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting: settings.max_queued_queries,
            ingests: Arc::new(Semaphore::new(settings.max_concurrent_ingests.max(1))),
            metrics,
        }
    }

    /// A turn to run a query: now, after waiting in the queue, or refused when it is full.
    pub async fn query(&self) -> Result<Turn, ApiError> {
        if let Ok(turn) = self.queries.clone().try_acquire_owned() {
            return Ok(turn);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            self.metrics.queries_refused.inc();
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                format!("{} queries are waiting already; try again shortly", self.max_waiting),
            )
            .retry_after(1));
        }
        self.metrics.queries_waiting.inc();
        // Counted out however the wait ends (a turn, or the request dropped at its deadline).
        struct Waiting<'a>(&'a Admission);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.waiting.fetch_sub(1, Ordering::SeqCst);
                self.0.metrics.queries_waiting.dec();
            }
        }
        let _waiting = Waiting(self);
        self.queries.clone().acquire_owned().await.map_err(ApiError::internal)
    }

    /// A turn to read and parse an ingest body, or 429 when every turn is taken.
    pub fn ingest(&self) -> Result<Turn, ApiError> {
        self.ingests.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "ingest_busy",
                "every ingest turn is taken; nothing was stored, try again shortly",
            )
            .retry_after(1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queries_queue_up_to_the_bound_and_the_next_is_refused() {
        let settings = ServeSettings { max_concurrent_queries: 1, max_queued_queries: 1, ..ServeSettings::default() };
        let admission = Arc::new(Admission::new(&settings, Arc::new(Metrics::default())));
        let running = admission.query().await.unwrap();
        let queued = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.query().await.map(drop) })
        };
        while admission.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let refused = admission.query().await.unwrap_err();
        assert_eq!(
            (refused.status, refused.code, refused.retry_after),
            (StatusCode::SERVICE_UNAVAILABLE, "busy", Some(1))
        );
        drop(running);
        queued.await.unwrap().unwrap();
        assert_eq!(admission.waiting.load(Ordering::SeqCst), 0);
        let _ingest = admission.ingest().unwrap();
        let _second = admission.ingest().unwrap();
        let _third = admission.ingest().unwrap();
        let _fourth = admission.ingest().unwrap();
        assert_eq!(admission.ingest().unwrap_err().code, "ingest_busy");
    }
}
