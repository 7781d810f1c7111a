//! A plugin's stdout and stderr: each complete line goes to the host log under the plugin's
//! name (stdout at info, stderr at warn), within the per-call log budget the host interface's
//! `log` shares; the end of what was written is kept to explain a trap.
//!
//! Writes are always accepted, so a plugin that prints too much loses lines (counted), never
//! its call: `print()` in CPython or `console.log` in JavaScript must not become a trap.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use serde::Serialize;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// How much of the end of stdout and stderr is kept to explain a trap.
const TAIL_BYTES: usize = 16 << 10;

/// A line longer than this is logged in pieces.
const LONGEST_LINE: usize = 4 << 10;

/// Most lines a [`LogTap`] keeps; later ones are counted by the host log's budget only.
const TAP_LINES: usize = 10_000;

/// One line a plugin logged through the host or printed, as `opsloop plugin run` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginLogLine {
    /// `trace` … `error` for the host's `log`, `stdout` or `stderr` for printed lines.
    pub level: &'static str,
    pub text: String,
}

/// Where a plugin's log lines are also kept, when something (`plugin run`) wants to show them.
pub type LogTap = Arc<Mutex<Vec<PluginLogLine>>>;

/// Keeps `line` in `tap`, if there is one and it has room.
pub(crate) fn tap_line(tap: Option<&LogTap>, level: &'static str, text: &str) {
    if let Some(tap) = tap {
        let mut lines = tap.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if lines.len() < TAP_LINES {
            lines.push(PluginLogLine { level, text: text.to_string() });
        }
    }
}

/// Which standard stream a handle writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// What both streams of one instance share.
#[derive(Debug)]
struct ConsoleState {
    plugin: Arc<str>,
    /// The line being written on each stream, until its newline.
    partial: [Vec<u8>; 2],
    /// The end of everything written, both streams interleaved.
    tail: VecDeque<u8>,
    /// Bytes the current call may still log.
    budget_left: usize,
    /// Lines not logged in the current call because the budget ran out.
    dropped: u64,
    tap: Option<LogTap>,
}

/// The stdout and stderr of one plugin instance.
#[derive(Debug, Clone)]
pub(crate) struct Console {
    state: Arc<Mutex<ConsoleState>>,
}

impl Console {
    pub(crate) fn new(plugin: Arc<str>, budget: usize, tap: Option<LogTap>) -> Self {
        let state = ConsoleState {
            plugin,
            partial: [Vec::new(), Vec::new()],
            tail: VecDeque::new(),
            budget_left: budget,
            dropped: 0,
            tap,
        };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ConsoleState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A handle WASI hands out as `stream`.
    pub(crate) fn stream(&self, stream: Stream) -> ConsoleStream {
        ConsoleStream { console: self.clone(), stream }
    }

    /// Starts a call: a fresh log budget. Unfinished lines of the last call are logged now.
    pub(crate) fn start_call(&self, budget: usize) {
        let mut state = self.lock();
        for stream in [Stream::Stdout, Stream::Stderr] {
            state.flush_partial(stream);
        }
        state.budget_left = budget;
        state.dropped = 0;
    }

    /// Logs what is left of unfinished lines (the call ended; the plugin may never end them).
    pub(crate) fn end_call(&self) {
        let mut state = self.lock();
        for stream in [Stream::Stdout, Stream::Stderr] {
            state.flush_partial(stream);
        }
    }

    /// The end of what the plugin wrote, for an error message; `None` if it wrote nothing.
    pub(crate) fn tail(&self) -> Option<String> {
        let state = self.lock();
        let bytes: Vec<u8> = state.tail.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_string())
    }

    /// Lines dropped in the current call for want of log budget.
    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Takes bytes the plugin wrote to `stream`.
    fn write(&self, stream: Stream, bytes: &[u8]) {
        let mut state = self.lock();
        state.tail.extend(bytes.iter().copied());
        let excess = state.tail.len().saturating_sub(TAIL_BYTES);
        state.tail.drain(..excess);
        let mut rest = bytes;
        while let Some(newline) = memchr::memchr(b'\n', rest) {
            state.partial[stream as usize].extend_from_slice(&rest[..newline]);
            state.flush_partial(stream);
            rest = &rest[newline + 1..];
        }
        state.partial[stream as usize].extend_from_slice(rest);
        if state.partial[stream as usize].len() >= LONGEST_LINE {
            state.flush_partial(stream);
        }
    }
}

impl ConsoleState {
    /// Logs the unfinished line of `stream`, if any, within the budget.
    fn flush_partial(&mut self, stream: Stream) {
        let line = std::mem::take(&mut self.partial[stream as usize]);
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if line.is_empty() {
            return;
        }
        if line.len() > self.budget_left {
            self.dropped += 1;
            return;
        }
        self.budget_left -= line.len();
        let text = String::from_utf8_lossy(line);
        let plugin = &*self.plugin;
        match stream {
            Stream::Stdout => tracing::info!(plugin, stream = "stdout", "{text}"),
            Stream::Stderr => tracing::warn!(plugin, stream = "stderr", "{text}"),
        }
        let level = if stream == Stream::Stdout { "stdout" } else { "stderr" };
        tap_line(self.tap.as_ref(), level, &text);
    }
}

/// One of an instance's standard output streams, as WASI sees it.
pub(crate) struct ConsoleStream {
    console: Console,
    stream: Stream,
}

impl IsTerminal for ConsoleStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for ConsoleStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(ConsoleStream { console: self.console.clone(), stream: self.stream })
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(ConsoleStream { console: self.console.clone(), stream: self.stream })
    }
}

#[async_trait::async_trait]
impl Pollable for ConsoleStream {
    async fn ready(&mut self) {}
}

impl OutputStream for ConsoleStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.console.write(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 << 10)
    }
}

impl tokio::io::AsyncWrite for ConsoleStream {
    fn poll_write(self: Pin<&mut Self>, _context: &mut Context<'_>, bytes: &[u8]) -> Poll<std::io::Result<usize>> {
        self.console.write(self.stream, bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_kept_in_the_tail_and_dropped_past_the_budget() {
        let tap = LogTap::default();
        let console = Console::new(Arc::from("p"), 10, Some(tap.clone()));
        console.write(Stream::Stdout, b"hello\nwor");
        console.write(Stream::Stderr, b"oops\n");
        console.write(Stream::Stdout, b"ld, this line is long\n");
        // "hello" (5) and "oops" (4) fit the budget of 10; the long line does not.
        assert_eq!(console.dropped(), 1);
        let tapped: Vec<_> = tap.lock().unwrap().iter().map(|line| (line.level, line.text.clone())).collect();
        assert_eq!(tapped, [("stdout", "hello".to_string()), ("stderr", "oops".to_string())]);
        assert_eq!(console.tail().as_deref(), Some("hello\nworoops\nld, this line is long"));
        console.start_call(10);
        assert_eq!(console.dropped(), 0);
    }
}
