//! The one writer of a served data directory: a thread that owns the index writer and the
//! plugins, and takes jobs (records from the API or a tailed file, bug reports, plugin reloads)
//! in order.
//!
//! Acknowledged means durable: records are appended to the write-ahead log ([`Wal`]) and synced
//! before their sender is answered (one sync for every job waiting at that moment); the index
//! commit that makes them searchable follows within `commit_interval_ms`, carrying the tailed
//! files' checkpoints and the log's sequence number, so after a crash the log replays exactly
//! what the index lacks. A sender may instead wait for that commit (`commit=wait_for`) or ask
//! for it now (`commit=force`), as in Quickwit's ingest API.
//!
//! Memory is bounded by a semaphore of record permits taken before a job is queued
//! ([`Ingestor::try_submit`] for the API, which answers 429 when it is exhausted;
//! [`Ingestor::submit_waiting`] for the tailer, which waits).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::metrics::{Metrics, PluginErrorLabels, PluginLabel, ReasonLabel};
use super::wal::{Wal, WalEntry};
use crate::index::{LogIndex, LogWriter, ReportIndex};
use crate::ingest::{BugReport, Record};
use crate::pipeline::{BatchAnalysis, Checkpoints, FileCheckpoint, FindingStore, PluginSet};

/// Records one commit takes at most; more waiting jobs go to the next commit.
const MAX_RECORDS_PER_COMMIT: usize = 100_000;

/// Indexing memory budget of the server's writer.
const WRITER_BUDGET_BYTES: usize = 128 << 20;

/// How often retention runs while serving.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// When a job's sender is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommitMode {
    /// Once the records are in the write-ahead log (searchable within the commit interval).
    #[default]
    Auto,
    /// Once the next scheduled commit made them searchable.
    WaitFor,
    /// Once a commit made right after them made them searchable.
    Force,
}

/// What a job asks the writer to do.
pub enum Work {
    /// Records to analyze and index; `checkpoint` is where a tailed file stands after them.
    Logs { records: Vec<Record>, checkpoint: Option<(String, FileCheckpoint)>, commit: CommitMode },
    /// Bug reports to analyze and store (replacing reports with the same id).
    Reports(Vec<BugReport>),
    /// Load the plugin file at this path in place of the running version of it.
    ReloadPlugin(PathBuf),
}

/// How a job ended, told to whoever queued it once it is durable.
pub type Outcome = Result<(), String>;

struct Job {
    work: Work,
    done: Option<oneshot::Sender<Outcome>>,
    /// Held until the job's records are in the writer: what bounds memory.
    permit: Option<OwnedSemaphorePermit>,
}

/// What the plugins are, for `/api/plugins`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PluginStatus {
    pub plugins: Vec<LoadedPluginStatus>,
    /// Plugin files that failed to load, with why (the version that ran before, if any, goes on).
    pub load_errors: Vec<LoadError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadedPluginStatus {
    pub name: String,
    pub version: String,
    pub description: String,
    pub consumes_logs: bool,
    pub consumes_reports: bool,
    pub calls: u64,
    pub errors: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadError {
    pub file: String,
    pub kind: String,
    pub message: String,
    pub at: String,
}

/// The handle the API and the tailer queue work through.
pub struct Ingestor {
    sender: mpsc::Sender<Option<Job>>,
    pending: Arc<Semaphore>,
    capacity: usize,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
    ready: Arc<AtomicBool>,
    pub status: Arc<RwLock<PluginStatus>>,
}

/// Why a job could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the writer has {0} records waiting; try again shortly")]
    Busy(usize),
    #[error("{records} records in one request; at most {capacity} are accepted at once")]
    TooLarge { records: usize, capacity: usize },
    #[error("the server is shutting down")]
    Closed,
}

/// Everything the writer thread owns.
pub struct WriterParts {
    pub logs: Arc<LogIndex>,
    pub reports: Arc<ReportIndex>,
    pub plugins: PluginSet,
    pub findings: Arc<FindingStore>,
    pub metrics: Arc<Metrics>,
    /// Delete records older than this many milliseconds, now and then.
    pub retain_ms: Option<i64>,
    /// Where the write-ahead log lives.
    pub wal_dir: PathBuf,
    /// The longest acknowledged records wait before a commit makes them searchable.
    pub commit_interval: Duration,
}

impl Ingestor {
    /// Starts the writer thread.
    pub fn start(parts: WriterParts, max_pending_records: usize, load_errors: Vec<LoadError>) -> anyhow::Result<Self> {
        let writer = parts.logs.writer(WRITER_BUDGET_BYTES)?;
        let checkpoints = Checkpoints::from_payload(parts.logs.commit_payload()?.as_deref());
        let (wal, unreplayed) = Wal::open(&parts.wal_dir, checkpoints.wal_seq)?;
        let status = Arc::new(RwLock::new(PluginStatus { plugins: Vec::new(), load_errors }));
        let ready = Arc::new(AtomicBool::new(false));
        let (sender, receiver) = mpsc::channel();
        let pending = Arc::new(Semaphore::new(max_pending_records));
        let wal_seq = checkpoints.wal_seq;
        let mut thread_state = WriterThread {
            parts,
            writer,
            checkpoints,
            status: status.clone(),
            last_retention: None,
            pending: pending.clone(),
            capacity: max_pending_records,
            wal,
            wal_seq,
            uncommitted: 0,
            last_commit: Instant::now(),
            waiting: Vec::new(),
        };
        // What was acknowledged before a crash and never committed goes in first.
        thread_state.replay(unreplayed).map_err(anyhow::Error::msg)?;
        // Before the thread starts, so the plugin list is there as soon as `start` returns.
        thread_state.refresh_status(&BatchAnalysis::default());
        let thread_ready = ready.clone();
        let thread = std::thread::Builder::new().name("opsloop-writer".into()).spawn(move || {
            thread_state.apply_retention();
            thread_ready.store(true, Ordering::SeqCst);
            thread_state.run(receiver);
        })?;
        Ok(Self {
            sender,
            pending,
            capacity: max_pending_records,
            thread: std::sync::Mutex::new(Some(thread)),
            ready,
            status,
        })
    }

    /// Whether the writer is up and taking jobs.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && !self.sender_closed()
    }

    fn sender_closed(&self) -> bool {
        self.thread.lock().map(|thread| thread.as_ref().is_none_or(|t| t.is_finished())).unwrap_or(true)
    }

    /// Queues `work` (weighing `records`) if there is room now; the receiver says when it is
    /// durable.
    pub fn try_submit(&self, work: Work, records: usize) -> Result<oneshot::Receiver<Outcome>, QueueError> {
        let weight = records.max(1);
        if weight > self.capacity {
            return Err(QueueError::TooLarge { records, capacity: self.capacity });
        }
        let permit = self.pending.clone().try_acquire_many_owned(weight as u32).map_err(|error| match error {
            tokio::sync::TryAcquireError::NoPermits => {
                QueueError::Busy(self.capacity - self.pending.available_permits())
            }
            tokio::sync::TryAcquireError::Closed => QueueError::Closed,
        })?;
        self.send(work, Some(permit))
    }

    /// Queues `work`, waiting for room (the tailer's way: it reads no further until there is).
    pub fn submit_waiting(&self, work: Work, records: usize) -> Result<oneshot::Receiver<Outcome>, QueueError> {
        let weight = records.clamp(1, self.capacity) as u32;
        let permit = loop {
            match self.pending.clone().try_acquire_many_owned(weight) {
                Ok(permit) => break permit,
                Err(tokio::sync::TryAcquireError::Closed) => return Err(QueueError::Closed),
                Err(tokio::sync::TryAcquireError::NoPermits) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        self.send(work, Some(permit))
    }

    /// Queues `work` that holds no records (a plugin reload).
    pub fn submit_control(&self, work: Work) -> Result<oneshot::Receiver<Outcome>, QueueError> {
        self.send(work, None)
    }

    fn send(&self, work: Work, permit: Option<OwnedSemaphorePermit>) -> Result<oneshot::Receiver<Outcome>, QueueError> {
        let (done, receiver) = oneshot::channel();
        self.sender.send(Some(Job { work, done: Some(done), permit })).map_err(|_| QueueError::Closed)?;
        Ok(receiver)
    }

    /// Commits what is queued, stops the writer and waits for it.
    pub fn shutdown(&self) {
        let _ = self.sender.send(None);
        self.pending.close();
        if let Some(thread) = self.thread.lock().ok().and_then(|mut thread| thread.take()) {
            let _ = thread.join();
        }
    }
}

struct WriterThread {
    parts: WriterParts,
    writer: LogWriter,
    checkpoints: Checkpoints,
    status: Arc<RwLock<PluginStatus>>,
    last_retention: Option<Instant>,
    pending: Arc<Semaphore>,
    capacity: usize,
    wal: Wal,
    /// The last write-ahead-log entry whose records are in the writer.
    wal_seq: u64,
    /// Records added since the last commit.
    uncommitted: usize,
    last_commit: Instant,
    /// Senders waiting for the next commit.
    waiting: Vec<oneshot::Sender<Outcome>>,
}

impl WriterThread {
    fn run(&mut self, receiver: mpsc::Receiver<Option<Job>>) {
        let interval = self.parts.commit_interval;
        let mut stopping = false;
        while !stopping {
            let owed = self.uncommitted > 0 || !self.waiting.is_empty();
            let timeout =
                if owed { interval.saturating_sub(self.last_commit.elapsed()) } else { Duration::from_secs(60) };
            let mut group = Vec::new();
            match receiver.recv_timeout(timeout) {
                Ok(Some(job)) => group.push(job),
                Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => stopping = true,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            let mut records = group.first().map_or(0, |job| weight(&job.work));
            while !stopping && !group.is_empty() && records < MAX_RECORDS_PER_COMMIT {
                match receiver.try_recv() {
                    Ok(Some(job)) => {
                        records += weight(&job.work);
                        group.push(job);
                    }
                    Ok(None) => stopping = true,
                    Err(_) => break,
                }
            }
            let forced = self.run_group(group);
            let due = self.last_commit.elapsed() >= interval && (self.uncommitted > 0 || !self.waiting.is_empty());
            if forced || due || self.uncommitted >= MAX_RECORDS_PER_COMMIT {
                self.commit_and_answer();
            }
            self.apply_retention();
        }
        // Jobs queued behind the stop are taken too: they were accepted.
        let rest: Vec<Job> = receiver.try_iter().flatten().collect();
        self.run_group(rest);
        self.commit_and_answer();
        tracing::info!("writer stopped; everything acknowledged is committed");
    }

    /// Adds what the log holds beyond the last commit, then commits it.
    fn replay(&mut self, entries: Vec<WalEntry>) -> Result<(), String> {
        if entries.is_empty() {
            return Ok(());
        }
        let count: usize = entries.iter().map(|entry| entry.records.len()).sum();
        tracing::info!(records = count, "replaying acknowledged records the index did not commit");
        let mut total = BatchAnalysis::default();
        let ingest_time_ms = chrono::Utc::now().timestamp_millis();
        for mut entry in entries {
            self.index_logs(&mut entry.records, entry.checkpoint, ingest_time_ms, &mut total)?;
            self.wal_seq = entry.seq;
        }
        self.commit()?;
        self.parts.metrics.records_indexed.inc_by(count as u64);
        self.wal.clear().map_err(|error| format!("write-ahead log {}: {error}", self.wal.path().display()))
    }

    /// Logs the group's records durably, answers the senders that asked for no more, then
    /// analyzes and adds everything. Whether a sender asked for a commit now.
    fn run_group(&mut self, group: Vec<Job>) -> bool {
        if group.is_empty() {
            return false;
        }
        let mut forced = false;
        let mut logged: Vec<Result<u64, String>> = Vec::with_capacity(group.len());
        for job in &group {
            logged.push(match &job.work {
                Work::Logs { records, checkpoint, .. } => {
                    self.wal.append(records, checkpoint.as_ref()).map_err(|error| format!("write-ahead log: {error}"))
                }
                _ => Ok(0),
            });
        }
        if let Err(error) = self.wal.sync() {
            let message = format!("write-ahead log {}: {error}", self.wal.path().display());
            for outcome in &mut logged {
                if outcome.is_ok() {
                    *outcome = Err(message.clone());
                }
            }
        }
        let mut total = BatchAnalysis::default();
        let ingest_time_ms = chrono::Utc::now().timestamp_millis();
        let mut permits = Vec::with_capacity(group.len());
        let mut indexed = 0u64;
        for (job, logged) in group.into_iter().zip(logged) {
            permits.push(job.permit);
            let done = job.done;
            match job.work {
                Work::Logs { mut records, checkpoint, commit } => {
                    let seq = match logged {
                        Ok(seq) => seq,
                        Err(message) => {
                            answer(done, Err(message));
                            continue;
                        }
                    };
                    match commit {
                        CommitMode::Auto => answer(done, Ok(())),
                        CommitMode::WaitFor => self.waiting.extend(done),
                        CommitMode::Force => {
                            forced = true;
                            self.waiting.extend(done);
                        }
                    }
                    indexed += records.len() as u64;
                    if let Err(error) = self.index_logs(&mut records, checkpoint, ingest_time_ms, &mut total) {
                        tracing::error!(%error, log = %self.wal.path().display(), "acknowledged records could not be indexed");
                    }
                    self.wal_seq = seq;
                }
                Work::Reports(mut batch) => {
                    // As `import --reports` does, each call's reports stored before the next.
                    let mut outcome = Ok(());
                    for call in crate::pipeline::report_plugin_calls(&mut batch) {
                        let analysis = self.parts.plugins.analyze_reports(call);
                        let stored = self.keep_findings(&analysis);
                        let relabelled =
                            crate::pipeline::relabel_merged_groups(&self.parts.reports, call, &analysis.findings);
                        merge(&mut total, analysis);
                        outcome = stored.and_then(|()| {
                            let relabelled = relabelled.map_err(|error| error.to_string())?;
                            self.parts.reports.upsert(call).map_err(|error| error.to_string())?;
                            self.parts.reports.upsert(&relabelled).map_err(|error| error.to_string())?;
                            self.parts.metrics.reports_indexed.inc_by(call.len() as u64);
                            Ok(())
                        });
                        if outcome.is_err() {
                            break;
                        }
                    }
                    let outcome = outcome.and_then(|()| {
                        self.parts.plugins.save_state().map_err(|error| format!("saving plugin state: {error}"))
                    });
                    answer(done, outcome);
                }
                Work::ReloadPlugin(path) => {
                    let outcome = self.reload(&path);
                    answer(done, outcome);
                }
            }
        }
        self.uncommitted += indexed as usize;
        self.refresh_status(&total);
        drop(permits);
        self.parts.metrics.pending_records.set((self.capacity - self.pending.available_permits()) as i64);
        forced
    }

    fn index_logs(
        &mut self,
        records: &mut [Record],
        checkpoint: Option<(String, FileCheckpoint)>,
        ingest_time_ms: i64,
        total: &mut BatchAnalysis,
    ) -> Outcome {
        self.analyze_logs(records, total)?;
        for record in records.iter() {
            self.writer.add(record, ingest_time_ms).map_err(|error| error.to_string())?;
        }
        if let Some((key, checkpoint)) = checkpoint {
            self.checkpoints.files.insert(key, checkpoint);
        }
        Ok(())
    }

    /// Commits what was added, then answers the senders waiting for it and empties the log.
    fn commit_and_answer(&mut self) {
        if self.uncommitted > 0 || !self.waiting.is_empty() {
            self.commit_everything();
        }
    }

    fn commit_everything(&mut self) {
        let committed = self.commit();
        match &committed {
            Ok(()) => {
                self.parts.metrics.records_indexed.inc_by(self.uncommitted as u64);
                self.uncommitted = 0;
                if let Err(error) = self.wal.clear() {
                    tracing::error!(%error, "cannot empty the write-ahead log; a restart skips what it holds");
                }
            }
            Err(error) => tracing::error!(%error, "commit failed; the records stay in the write-ahead log"),
        }
        for done in self.waiting.drain(..) {
            let _ = done.send(committed.clone().map_err(|error| format!("commit failed: {error}")));
        }
    }

    fn analyze_logs(&mut self, records: &mut [Record], total: &mut BatchAnalysis) -> Outcome {
        if records.is_empty() {
            return Ok(());
        }
        let analysis = self.parts.plugins.analyze(records);
        let stored = self.keep_findings(&analysis);
        merge(total, analysis);
        stored
    }

    fn keep_findings(&self, analysis: &BatchAnalysis) -> Outcome {
        for (plugin, took) in &analysis.calls {
            let label = PluginLabel { plugin: plugin.clone() };
            self.parts.metrics.plugin_calls.get_or_create(&label).inc();
            self.parts.metrics.plugin_seconds.get_or_create(&label).observe(took.as_secs_f64());
        }
        for (plugin, error) in &analysis.failures {
            let labels = PluginErrorLabels { plugin: plugin.clone(), kind: error.kind().to_string() };
            self.parts.metrics.plugin_errors.get_or_create(&labels).inc();
        }
        self.parts
            .findings
            .append(&analysis.findings)
            .map_err(|error| format!("findings file {}: {error}", self.parts.findings.path().display()))
    }

    fn commit(&mut self) -> Result<(), String> {
        self.last_commit = Instant::now();
        self.checkpoints.wal_seq = self.wal_seq;
        self.parts.plugins.save_state().map_err(|error| format!("saving plugin state: {error}"))?;
        self.writer.commit_with_payload(&self.checkpoints.to_payload()).map_err(|error| error.to_string())?;
        self.parts.logs.refresh().map_err(|error| error.to_string())?;
        self.parts.metrics.commits.inc();
        self.parts.metrics.index_records.set(self.parts.logs.len() as i64);
        self.parts.metrics.index_bytes.set(self.parts.logs.disk_bytes() as i64);
        Ok(())
    }

    fn reload(&mut self, path: &std::path::Path) -> Outcome {
        let origin = path.display().to_string();
        let result = std::fs::read(path)
            .map_err(|error| format!("cannot read the file: {error}"))
            .and_then(|bytes| self.parts.plugins.replace(&origin, &bytes).map_err(|error| error.to_string()));
        let mut status = self.status.write().expect("plugin status lock");
        status.load_errors.retain(|known| known.file != origin);
        match result {
            Ok(name) => {
                tracing::info!(plugin = %name, file = %origin, "plugin reloaded");
                Ok(())
            }
            Err(message) => {
                tracing::error!(file = %origin, %message, "plugin failed to load; the running version goes on");
                self.parts
                    .metrics
                    .plugin_errors
                    .get_or_create(&PluginErrorLabels { plugin: origin.clone(), kind: "load".into() })
                    .inc();
                status.load_errors.push(LoadError {
                    file: origin,
                    kind: "load".into(),
                    message: message.clone(),
                    at: chrono::Utc::now().to_rfc3339(),
                });
                Err(message)
            }
        }
    }

    fn refresh_status(&self, analysis: &BatchAnalysis) {
        let mut status = self.status.write().expect("plugin status lock");
        let known = std::mem::take(&mut status.plugins);
        status.plugins = self
            .parts
            .plugins
            .plugins()
            .iter()
            .map(|plugin| {
                let description = plugin.description();
                let before = known.iter().find(|entry| entry.name == description.name);
                let calls = analysis.calls.iter().filter(|(name, _)| *name == description.name).count() as u64;
                let failures: Vec<_> = analysis.failures.iter().filter(|(name, _)| *name == description.name).collect();
                LoadedPluginStatus {
                    name: description.name.clone(),
                    version: description.version.clone(),
                    description: description.description.clone(),
                    consumes_logs: description.consumes_logs,
                    consumes_reports: description.consumes_reports,
                    calls: before.map_or(0, |b| b.calls) + calls,
                    errors: before.map_or(0, |b| b.errors) + failures.len() as u64,
                    last_error: failures
                        .last()
                        .map(|(_, error)| format!("{}: {error}", error.kind()))
                        .or_else(|| before.and_then(|b| b.last_error.clone())),
                }
            })
            .collect();
    }

    fn apply_retention(&mut self) {
        let Some(retain_ms) = self.parts.retain_ms else { return };
        if self.last_retention.is_some_and(|last| last.elapsed() < RETENTION_EVERY) {
            return;
        }
        self.last_retention = Some(Instant::now());
        let cutoff = chrono::Utc::now().timestamp_millis() - retain_ms;
        match self.writer.delete_before(cutoff) {
            Ok(()) => self.commit_everything(),
            Err(error) => tracing::error!(%error, "retention failed"),
        }
    }
}

fn weight(work: &Work) -> usize {
    match work {
        Work::Logs { records, .. } => records.len(),
        Work::Reports(reports) => reports.len(),
        Work::ReloadPlugin(_) => 0,
    }
}

fn answer(done: Option<oneshot::Sender<Outcome>>, outcome: Outcome) {
    if let Some(done) = done {
        let _ = done.send(outcome);
    }
}

fn merge(total: &mut BatchAnalysis, analysis: BatchAnalysis) {
    total.calls.extend(analysis.calls);
    total.failures.extend(analysis.failures);
}

impl Drop for Ingestor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Counts rejected lines in the metrics.
pub fn count_rejections(metrics: &Metrics, rejections: &crate::ingest::Rejections) {
    for (reason, group) in &rejections.by_reason {
        metrics.rejected.get_or_create(&ReasonLabel { reason: reason.clone() }).inc_by(group.count);
    }
}
