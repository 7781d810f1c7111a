//! Accepting connections: at most `max_connections` served at once (one more is answered 503
//! and closed), each closed when it has been idle for `idle_timeout_ms` or took longer than
//! `header_read_timeout_ms` to send a request's headers, and all of them finished in order at
//! shutdown. Before this, 300 slowloris connections stayed open for 45 s, and 1,100 idle ones
//! under a 1,024 file limit made `accept` fail and every legitimate request time out.
//!
//! The process raises its open-file limit to the hard limit at start ([`raise_open_file_limit`])
//! and keeps the connection cap [`RESERVED_FILES`] below it, for the index, the write-ahead log,
//! plugins and tailed files.
//!
//! With TLS ([`super::tls`]), each connection's first byte must begin a handshake: a plain HTTP
//! request is answered 400 and closed; the handshake runs under the header-read timeout.
//!
//! In: a bound listener and the router. Out: HTTP/1.1 connections served until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};

use super::metrics::Metrics;
use crate::config::ServeSettings;

/// Open files kept free below the limit for everything but connections.
pub const RESERVED_FILES: u64 = 256;

/// Refusals being written at once, at most; past it a connection is just closed.
const MAX_REFUSING: usize = 64;

/// What a connection past the cap is told.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
connection: close\r\ncontent-length: 106\r\n\r\n\
{\"error\":{\"code\":\"too_many_connections\",\"message\":\"the server is at its connection limit; retry shortly\"}}";

/// Raises the soft open-file limit to the hard limit; the soft limit in force after.
pub fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft).unwrap_or(1024)
        }
    }
}

/// The connection cap: the configured one, lowered to leave [`RESERVED_FILES`] free.
pub fn connection_cap(configured: usize, open_file_limit: u64) -> usize {
    let room = open_file_limit.saturating_sub(RESERVED_FILES).max(16);
    configured.min(room.min(usize::MAX as u64) as usize).max(1)
}

/// The timeouts one connection runs under.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub idle: Duration,
    pub header_read: Duration,
}

impl ConnectionLimits {
    pub fn from_settings(settings: &ServeSettings) -> Self {
        Self {
            idle: Duration::from_millis(settings.idle_timeout_ms.max(1)),
            header_read: Duration::from_millis(settings.header_read_timeout_ms.max(1)),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets the requests in progress
/// finish (closing idle connections at once) for at most `drain`.
pub async fn serve_connections(
    listener: TcpListener,
    router: Router,
    max_connections: usize,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(max_connections));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let (closing, closing_seen) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of files (EMFILE) or a connection reset before it was taken: the loop goes
                // on after a pause instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match open.clone().try_acquire_owned() {
            Ok(permit) => {
                let (router, metrics, closing) = (router.clone(), metrics.clone(), closing_seen.clone());
                let tls = tls.clone();
                tokio::spawn(async move {
                    metrics.connections_open.inc();
                    serve_one(stream, peer, router, limits, closing, tls).await;
                    metrics.connections_open.dec();
                    drop(permit);
                });
            }
            Err(_) => {
                metrics.connections_refused.inc();
                if let Ok(permit) = refusing.clone().try_acquire_owned() {
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(Duration::from_secs(1), refuse(stream)).await;
                        drop(permit);
                    });
                }
            }
        }
    }
    drop(listener);
    let _ = closing.send(true);
    let deadline = Instant::now() + drain;
    while open.available_permits() < max_connections && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Tells a connection over the cap why it is closed, without reading its request.
async fn refuse(mut stream: TcpStream) {
    let _ = stream.write_all(REFUSAL).await;
    let _ = stream.shutdown().await;
}

/// One connection: HTTP/1.1 with keep-alive, under the idle and header-read timeouts; over
/// TLS when `tls` is given.
async fn serve_one(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    closing: watch::Receiver<bool>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let activity = Arc::new(Activity::new());
    let Some(acceptor) = tls else {
        let io = TimedIo::new(stream, activity.clone(), limits);
        return serve_http(io, activity, peer, router, limits, closing).await;
    };
    let mut first = [0u8; 1];
    match tokio::time::timeout(limits.idle, stream.peek(&mut first)).await {
        Ok(Ok(1)) if super::tls::starts_tls(first[0]) => {}
        Ok(Ok(1)) => {
            let mut stream = stream;
            let _ =
                tokio::time::timeout(Duration::from_secs(1), stream.write_all(super::tls::PLAIN_HTTP_REFUSAL)).await;
            let _ = stream.shutdown().await;
            return;
        }
        _ => return,
    }
    let io = TimedIo::new(stream, activity.clone(), limits);
    match tokio::time::timeout(limits.header_read, acceptor.accept(io)).await {
        Ok(Ok(tls_stream)) => serve_http(tls_stream, activity, peer, router, limits, closing).await,
        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

/// HTTP/1.1 over `io` until the peer closes, a timeout of `TimedIo` fires, or shutdown.
async fn serve_http<I>(
    io: I,
    activity: Arc<Activity>,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut closing: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let busy = Busy::start(activity.clone());
        let answer = tower::ServiceExt::oneshot(router.clone(), request.map(axum::body::Body::new));
        async move {
            let response = answer.await;
            drop(busy);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // hyper's own header timer runs from the moment a connection waits for a request: a
    // backstop behind the finer idle and header-read clocks of `TimedIo`.
    builder.timer(TokioTimer::new()).header_read_timeout(limits.idle + limits.header_read).keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(ParseErrorsAsJson::new(io)), service);
    tokio::pin!(connection);
    let closed = tokio::select! {
        _ = connection.as_mut() => true,
        _ = async { closing.wait_for(|closing| *closing).await.map(|_| ()) } => false,
    };
    if !closed {
        connection.as_mut().graceful_shutdown();
        let _ = connection.await;
    }
}

/// What a connection is doing, shared by its stream and its requests.
struct Activity {
    /// Requests being answered.
    busy: AtomicUsize,
    /// When bytes last moved either way, or a request ended (ms since `epoch`).
    last_ms: AtomicU64,
    /// When the first byte of the next request's head arrived (ms since `epoch`; 0: none yet).
    head_ms: AtomicU64,
    epoch: Instant,
}

impl Activity {
    fn new() -> Self {
        Self {
            busy: AtomicUsize::new(0),
            last_ms: AtomicU64::new(1),
            head_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// Milliseconds since the connection opened, at least 1 (0 means "none").
    fn now_ms(&self) -> u64 {
        (self.epoch.elapsed().as_millis() as u64).max(1)
    }

    /// When the connection times out if nothing happens before, or `None` while a request is
    /// being answered (the request's own deadline rules then).
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.busy.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let at = match self.head_ms.load(Ordering::SeqCst) {
            0 => self.last_ms.load(Ordering::SeqCst) + limits.idle.as_millis() as u64,
            head => head + limits.header_read.as_millis() as u64,
        };
        Some(self.epoch + Duration::from_millis(at))
    }
}

/// Marks a request in progress for as long as it lives.
struct Busy(Arc<Activity>);

impl Busy {
    fn start(activity: Arc<Activity>) -> Self {
        activity.busy.fetch_add(1, Ordering::SeqCst);
        activity.head_ms.store(0, Ordering::SeqCst);
        Self(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.last_ms.store(self.0.now_ms(), Ordering::SeqCst);
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A TCP stream that fails its reads once the connection has been idle too long, or a request
/// head has taken too long to arrive; hyper then closes the connection.
struct TimedIo {
    stream: TcpStream,
    activity: Arc<Activity>,
    limits: ConnectionLimits,
    timer: Pin<Box<Sleep>>,
}

impl TimedIo {
    fn new(stream: TcpStream, activity: Arc<Activity>, limits: ConnectionLimits) -> Self {
        let timer = Box::pin(tokio::time::sleep(limits.idle));
        Self { stream, activity, limits, timer }
    }

    /// Errs when a deadline passed; else arms the timer so the reader is woken at it.
    fn check(&mut self, context: &mut Context<'_>) -> std::io::Result<()> {
        let Some(deadline) = self.activity.deadline(&self.limits) else { return Ok(()) };
        if Instant::now() >= deadline {
            let which = if self.activity.head_ms.load(Ordering::SeqCst) == 0 { "idle" } else { "header read" };
            tracing::debug!(timeout = which, "connection closed");
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("{which} timeout")));
        }
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        if self.timer.as_mut().poll(context).is_ready() {
            // The deadline moved on meanwhile; poll again soon with the new one.
            context.waker().wake_by_ref();
        }
        Ok(())
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buffer.filled().len();
        match Pin::new(&mut this.stream).poll_read(context, buffer) {
            Poll::Ready(Ok(())) => {
                if buffer.filled().len() > before {
                    let now = this.activity.now_ms();
                    this.activity.last_ms.store(now, Ordering::SeqCst);
                    if this.activity.busy.load(Ordering::SeqCst) == 0 {
                        let _ = this.activity.head_ms.compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst);
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => match this.check(context) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(self: Pin<&mut Self>, context: &mut Context<'_>, bytes: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write(context, bytes);
        if let Poll::Ready(Ok(count)) = &written
            && *count > 0
        {
            this.activity.last_ms.store(this.activity.now_ms(), Ordering::SeqCst);
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(context)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write_vectored(context, buffers);
        if let Poll::Ready(Ok(count)) = &written
            && *count > 0
        {
            this.activity.last_ms.store(this.activity.now_ms(), Ordering::SeqCst);
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// hyper answers a request it cannot read (a malformed request line or header, an address or
/// head too long) by itself, before any handler runs, with a status and an empty body. This
/// rewrites that answer, on its way out, into the API's JSON error, so every error a client
/// gets has a code and says why. It does not write vectored, so hyper hands it each answer's
/// head as one buffer.
struct ParseErrorsAsJson<I> {
    io: I,
    /// The rewritten answer being written, and how much of it is out.
    rewrite: Option<(Vec<u8>, usize)>,
}

impl<I> ParseErrorsAsJson<I> {
    fn new(io: I) -> Self {
        Self { io, rewrite: None }
    }
}

/// The JSON answer for hyper's own error head, if `bytes` is one: a 4xx head alone, with no
/// body and `connection: close` (an answer of ours always has a body).
fn parse_error_as_json(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(b"HTTP/1.1 4") || !bytes.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(bytes).ok()?;
    if head.find("\r\n\r\n")? != head.len() - 4
        || !head.contains("\r\ncontent-length: 0\r\n")
        || !head.contains("\r\nconnection: close\r\n")
    {
        return None;
    }
    let status: u16 = head.get(9..12)?.parse().ok()?;
    let (code, message) = match status {
        414 => ("uri_too_long", "the request's address is longer than the server reads"),
        431 => ("headers_too_large", "the request's headers are larger than the server reads"),
        _ => ("bad_request", "the request could not be read as HTTP/1.1 (a malformed request line or header)"),
    };
    let body = serde_json::json!({ "error": { "code": code, "message": message } }).to_string();
    let head = head.replace(
        "\r\ncontent-length: 0\r\n",
        &format!("\r\ncontent-type: application/json\r\ncontent-length: {}\r\n", body.len()),
    );
    Some([head.as_bytes(), body.as_bytes()].concat())
}

impl<I: AsyncRead + Unpin> AsyncRead for ParseErrorsAsJson<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(context, buffer)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for ParseErrorsAsJson<I> {
    fn poll_write(self: Pin<&mut Self>, context: &mut Context<'_>, bytes: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if this.rewrite.is_none() {
            match parse_error_as_json(bytes) {
                Some(answer) => this.rewrite = Some((answer, 0)),
                None => return Pin::new(&mut this.io).poll_write(context, bytes),
            }
        }
        // hyper offers the same bytes again until they are taken: they are taken once the
        // whole rewritten answer is out.
        let (answer, sent) = this.rewrite.as_mut().expect("set above");
        while *sent < answer.len() {
            match Pin::new(&mut this.io).poll_write(context, &answer[*sent..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(count)) => *sent += count,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
        this.rewrite = None;
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_files_the_server_needs() {
        assert_eq!(connection_cap(1024, 1024), 768);
        assert_eq!(connection_cap(1024, 1 << 20), 1024);
        assert_eq!(connection_cap(10, 100), 10);
        assert_eq!(connection_cap(1024, 100), 16, "a tiny limit still serves a few");
        assert_eq!(REFUSAL.len() - REFUSAL.windows(4).position(|w| w == b"\r\n\r\n").unwrap() - 4, 106);
    }

    #[test]
    fn only_hypers_own_bodiless_error_heads_are_rewritten() {
        let hyper = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = String::from_utf8(parse_error_as_json(hyper).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n") && head.contains("content-type: application/json"));
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], "uri_too_long");
        // An answer with a body, a 2xx, or a head followed by its body are ours: untouched.
        assert!(parse_error_as_json(b"HTTP/1.1 404 Not Found\r\ncontent-length: 20\r\n\r\n").is_none());
        assert!(parse_error_as_json(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(parse_error_as_json(b"HTTP/1.1 400 Bad\r\nconnection: close\r\ncontent-length: 0\r\n\r\n{}").is_none());
    }
}
