//! The writers of a served data directory: one thread that logs jobs (records from the API or
//! a tailed file, bug reports) to the write-ahead log and answers their senders, and one that
//! owns the plugins and the index writer and takes the logged jobs (and plugin reloads) in
//! order.
//!
//! Acknowledged means durable, and nothing else is acknowledged: the log thread appends a
//! job's entry and syncs it before its sender is answered (one sync for every job waiting at
//! that moment), and a sender that gave up before the log thread took its job ([`Claim`]) is
//! told "not written" truthfully, because the job is then dropped unwritten. Plugin calls run
//! on the index thread, so an acknowledgement never waits for a plugin, however slow. The index
//! commit that makes records searchable follows within `commit_interval_ms`, carrying the
//! tailed files' checkpoints and the log's sequence number, so after a crash the log replays
//! exactly what the index lacks. A sender may instead wait for that commit (`commit=wait_for`)
//! or ask for it now (`commit=force`), as in Quickwit's ingest API.
//!
//! Memory is bounded by a semaphore of record permits taken before a job is queued and given
//! back once its records are in the index writer ([`Ingestor::submit`] and
//! [`Ingestor::try_submit`] for the API, which answers 429 when it is exhausted;
//! [`Ingestor::submit_waiting`] for the tailer, which waits). A plugin that keeps timing out
//! is suspended for a while ([`Suspensions`]).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::document_ids::{DocumentIds, DocumentKey};
use super::idempotency::{IdempotencyKeys, KeyRecord};
use super::metrics::{Metrics, PluginErrorLabels, PluginLabel, ReasonLabel};
use super::suspension::Suspensions;
use super::wal::{EntryRef, Wal, WalEntry};
use crate::config::ServeSettings;
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

/// How a job ended, told to whoever queued it once it is durable (or committed, or stored, as
/// the job asked).
pub type Outcome = Result<(), String>;

/// Who decides a queued job's fate first: the log thread, which takes it to write it, or its
/// sender, which abandons it (deadline passed, connection gone). Exactly one of them wins, so
/// an answer "not written" is never wrong.
#[derive(Debug, Default)]
pub struct Claim(AtomicU8);

const PENDING: u8 = 0;
const TAKEN: u8 = 1;
const ABANDONED: u8 = 2;

impl Claim {
    /// The log thread takes the job; false when it was abandoned.
    pub fn take(&self) -> bool {
        self.0.compare_exchange(PENDING, TAKEN, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }

    /// The sender gives the job up; true when it will not be written (now or before).
    pub fn abandon(&self) -> bool {
        match self.0.compare_exchange(PENDING, ABANDONED, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => true,
            Err(state) => state == ABANDONED,
        }
    }
}

struct Job {
    work: Work,
    claim: Arc<Claim>,
    /// The request's idempotency key and first answer, and its documents' ids, logged with
    /// the job.
    keys: JobKeys,
    /// Told the job's log sequence number once it is durable, or why it was not written.
    logged: Option<oneshot::Sender<Result<u64, String>>>,
    done: Option<oneshot::Sender<Outcome>>,
    /// Held until the job's records are in the writer: what bounds memory.
    permit: Option<OwnedSemaphorePermit>,
}

/// A logged job on its way to the index thread.
struct IndexJob {
    /// Its log entry (none for a plugin reload).
    seq: Option<u64>,
    work: Work,
    done: Option<oneshot::Sender<Outcome>>,
    permit: Option<OwnedSemaphorePermit>,
}

/// The keys a job is logged with: its request's `Idempotency-Key`, and the ids of documents
/// that came with one (bulk `_id`s). Each is remembered once the job is durable.
#[derive(Debug, Default)]
pub struct JobKeys {
    pub request: Option<KeyRecord>,
    pub documents: Vec<DocumentKey>,
}

impl From<Option<KeyRecord>> for JobKeys {
    fn from(request: Option<KeyRecord>) -> Self {
        Self { request, documents: Vec::new() }
    }
}

/// What a sender holds for a queued job.
pub struct Ticket {
    /// The log sequence number once durable, or why nothing was written.
    pub logged: oneshot::Receiver<Result<u64, String>>,
    /// The job's outcome as its commit mode asks (records searchable, reports stored).
    pub done: oneshot::Receiver<Outcome>,
    pub claim: Arc<Claim>,
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
    /// Calls that timed out in a row.
    pub consecutive_timeouts: u32,
    /// Set while the plugin is suspended after repeated timeouts (RFC 3339): records are
    /// indexed without it until then.
    pub suspended_until: Option<String>,
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
    threads: Mutex<Vec<JoinHandle<()>>>,
    ready: Arc<AtomicBool>,
    pub status: Arc<RwLock<PluginStatus>>,
    /// The last log entry a commit holds (records searchable, reports stored).
    indexed_through: Arc<AtomicU64>,
    pub keys: Arc<IdempotencyKeys>,
    /// The bulk `_id`s stored.
    pub ids: Arc<DocumentIds>,
}

/// Why a job could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the writer has {0} records waiting; nothing was stored, try again shortly")]
    Busy(usize),
    #[error("at least {records} records in one request; at most {capacity} are accepted at once, nothing was stored")]
    TooLarge { records: usize, capacity: usize },
    #[error("the server is shutting down; nothing was stored")]
    Closed,
}

/// Everything the writer threads own.
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
    /// Commit interval, pending records, idempotency window, plugin suspension.
    pub settings: ServeSettings,
    /// Told of every finding stored, for the alert rules on anomalies.
    pub alerter: Option<Arc<super::alerting::Alerter>>,
}

impl Ingestor {
    /// Replays what the log holds beyond the last commit, then starts the threads.
    pub fn start(parts: WriterParts, load_errors: Vec<LoadError>) -> anyhow::Result<Self> {
        let writer = parts.logs.writer(WRITER_BUDGET_BYTES)?;
        let checkpoints = Checkpoints::from_payload(parts.logs.commit_payload()?.as_deref());
        let (wal, unreplayed) = Wal::open(&parts.wal_dir, checkpoints.wal_seq)?;
        let keys = Arc::new(IdempotencyKeys::open(
            Some(&parts.wal_dir),
            unreplayed.iter().filter_map(|entry| entry.key.clone().map(|key| KeyRecord { seq: entry.seq, ..key })),
            parts.settings.idempotency_window_ms,
            parts.settings.max_idempotency_keys,
        )?);
        let ids = Arc::new(DocumentIds::open(
            Some(&parts.wal_dir),
            unreplayed.iter().flat_map(|entry| entry.document_ids.iter().copied()),
            parts.settings.idempotency_window_ms,
            parts.settings.max_idempotency_keys,
        )?);
        let wal = Arc::new(Mutex::new(wal));
        let status = Arc::new(RwLock::new(PluginStatus { plugins: Vec::new(), load_errors }));
        let ready = Arc::new(AtomicBool::new(false));
        let (sender, receiver) = mpsc::channel();
        let (to_index, index_receiver) = mpsc::channel();
        let capacity = parts.settings.max_pending_records.max(1);
        let pending = Arc::new(Semaphore::new(capacity));
        let wal_seq = checkpoints.wal_seq;
        let indexed_through = Arc::new(AtomicU64::new(wal_seq));
        let suspensions = Suspensions::new(
            parts.settings.suspend_plugin_after_timeouts,
            Duration::from_millis(parts.settings.plugin_suspension_ms),
        );
        let mut index_thread = IndexThread {
            parts,
            writer,
            checkpoints,
            status: status.clone(),
            last_retention: None,
            pending: pending.clone(),
            capacity,
            wal: wal.clone(),
            keys: keys.clone(),
            ids: ids.clone(),
            wal_seq,
            uncommitted: 0,
            last_commit: Instant::now(),
            waiting: Vec::new(),
            indexed_through: indexed_through.clone(),
            suspensions,
        };
        // What was acknowledged before a crash and never committed goes in first.
        index_thread.replay(unreplayed).map_err(anyhow::Error::msg)?;
        // Before the threads start, so the plugin list is there as soon as `start` returns.
        index_thread.refresh_status(&BatchAnalysis::default());
        let log_thread = LogThread { wal, keys: keys.clone(), ids: ids.clone(), to_index };
        let thread_ready = ready.clone();
        let indexer = std::thread::Builder::new().name("opsloop-writer".into()).spawn(move || {
            index_thread.apply_retention();
            thread_ready.store(true, Ordering::SeqCst);
            index_thread.run(index_receiver);
        })?;
        let logger = std::thread::Builder::new().name("opsloop-wal".into()).spawn(move || log_thread.run(receiver))?;
        Ok(Self {
            sender,
            pending,
            capacity,
            threads: Mutex::new(vec![logger, indexer]),
            ready,
            status,
            indexed_through,
            keys,
            ids,
        })
    }

    /// Whether the writer is up and taking jobs.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && !self.threads_stopped()
    }

    fn threads_stopped(&self) -> bool {
        self.threads.lock().map(|threads| threads.is_empty() || threads.iter().any(|t| t.is_finished())).unwrap_or(true)
    }

    /// The last log entry a commit holds: a job logged at or before it is searchable (records)
    /// or stored (reports).
    pub fn indexed_through(&self) -> u64 {
        self.indexed_through.load(Ordering::SeqCst)
    }

    /// Queues `work` (weighing `records`) if there is room now, under `claim`, with the
    /// request's idempotency key.
    pub fn submit(
        &self,
        work: Work,
        records: usize,
        claim: Arc<Claim>,
        keys: impl Into<JobKeys>,
    ) -> Result<Ticket, QueueError> {
        let permit = self.reserve(0, records)?;
        self.send(work, Some(permit), claim, keys.into())
    }

    /// Takes room for `more` records on top of `held` already taken by the same request (a
    /// body parsed batch by batch holds the room its records take as they are read).
    pub fn reserve(&self, held: usize, more: usize) -> Result<OwnedSemaphorePermit, QueueError> {
        if held + more > self.capacity {
            return Err(QueueError::TooLarge { records: held + more, capacity: self.capacity });
        }
        self.pending.clone().try_acquire_many_owned(more.max(1) as u32).map_err(|error| match error {
            tokio::sync::TryAcquireError::NoPermits => {
                QueueError::Busy(self.capacity - self.pending.available_permits())
            }
            tokio::sync::TryAcquireError::Closed => QueueError::Closed,
        })
    }

    /// Queues `work` whose room was taken with [`Self::reserve`].
    pub fn submit_reserved(
        &self,
        work: Work,
        room: OwnedSemaphorePermit,
        claim: Arc<Claim>,
        keys: impl Into<JobKeys>,
    ) -> Result<Ticket, QueueError> {
        self.send(work, Some(room), claim, keys.into())
    }

    /// Queues `work` if there is room now; the receiver says when it is durable (or committed,
    /// as its commit mode asks).
    pub fn try_submit(&self, work: Work, records: usize) -> Result<oneshot::Receiver<Outcome>, QueueError> {
        Ok(self.submit(work, records, Arc::default(), None)?.done)
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
        Ok(self.send(work, Some(permit), Arc::default(), JobKeys::default())?.done)
    }

    /// Queues `work` that holds no records (a plugin reload).
    pub fn submit_control(&self, work: Work) -> Result<oneshot::Receiver<Outcome>, QueueError> {
        Ok(self.send(work, None, Arc::default(), JobKeys::default())?.done)
    }

    fn send(
        &self,
        work: Work,
        permit: Option<OwnedSemaphorePermit>,
        claim: Arc<Claim>,
        keys: JobKeys,
    ) -> Result<Ticket, QueueError> {
        let (done, done_receiver) = oneshot::channel();
        let (logged, logged_receiver) = oneshot::channel();
        let job = Job { work, claim: claim.clone(), keys, logged: Some(logged), done: Some(done), permit };
        self.sender.send(Some(job)).map_err(|_| QueueError::Closed)?;
        Ok(Ticket { logged: logged_receiver, done: done_receiver, claim })
    }

    /// Logs and commits what is queued, stops the writers and waits for them.
    pub fn shutdown(&self) {
        let _ = self.sender.send(None);
        self.pending.close();
        let threads = self.threads.lock().map(|mut threads| std::mem::take(&mut *threads)).unwrap_or_default();
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// The thread that writes the log and answers senders.
struct LogThread {
    wal: Arc<Mutex<Wal>>,
    keys: Arc<IdempotencyKeys>,
    ids: Arc<DocumentIds>,
    to_index: mpsc::Sender<Option<IndexJob>>,
}

impl LogThread {
    fn run(self, receiver: mpsc::Receiver<Option<Job>>) {
        let mut stopping = false;
        while !stopping {
            let mut group = match receiver.recv() {
                Ok(Some(job)) => vec![job],
                Ok(None) | Err(_) => break,
            };
            let mut records = weight(&group[0].work);
            while records < MAX_RECORDS_PER_COMMIT {
                match receiver.try_recv() {
                    Ok(Some(job)) => {
                        records += weight(&job.work);
                        group.push(job);
                    }
                    Ok(None) => {
                        stopping = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.log_group(group);
        }
        // Jobs queued behind the stop are taken too: their senders are waiting for an answer.
        let rest: Vec<Job> = receiver.try_iter().flatten().collect();
        self.log_group(rest);
        let _ = self.to_index.send(None);
    }

    /// Appends the group's jobs and syncs once; answers each sender; hands the jobs on.
    fn log_group(&self, group: Vec<Job>) {
        if group.is_empty() {
            return;
        }
        let mut wal = self.wal.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mark = wal.mark();
        let mut taken: Vec<(Job, Option<u64>)> = Vec::with_capacity(group.len());
        let mut failure: Option<String> = None;
        for job in group {
            if matches!(job.work, Work::ReloadPlugin(_)) {
                taken.push((job, None));
                continue;
            }
            if !job.claim.take() {
                // Its sender gave up and was told nothing was written: it is not.
                continue;
            }
            if failure.is_some() {
                taken.push((job, None));
                continue;
            }
            let (records, checkpoint, reports): (&[Record], _, &[BugReport]) = match &job.work {
                Work::Logs { records, checkpoint, .. } => (records, checkpoint.as_ref(), &[]),
                Work::Reports(reports) => (&[], None, reports),
                Work::ReloadPlugin(_) => unreachable!("handled above"),
            };
            let entry = EntryRef {
                records,
                checkpoint,
                reports,
                key: job.keys.request.as_ref(),
                document_ids: &job.keys.documents,
            };
            match wal.append(entry) {
                Ok(seq) => taken.push((job, Some(seq))),
                Err(error) => {
                    failure = Some(format!("write-ahead log {}: {error}", wal.path().display()));
                    taken.push((job, None));
                }
            }
        }
        if failure.is_none()
            && let Err(error) = wal.sync()
        {
            failure = Some(format!("write-ahead log {}: {error}", wal.path().display()));
        }
        if let Some(message) = &failure {
            // Nothing of this group is acknowledged, so none of it may be replayed.
            if let Err(error) = wal.truncate(mark) {
                tracing::error!(%error, log = %wal.path().display(), "a failed write could not be cut off the write-ahead log; a restart may replay records whose sender was told they were not stored");
            }
            tracing::error!(error = %message, "ingest not written");
        }
        drop(wal);
        if failure.is_none() {
            // Before any answer: a retry right after it must find the key. All of the group's
            // keys at once, so the key file is synced once per group, not per job.
            let mut requests = Vec::new();
            let mut documents = Vec::new();
            for (job, seq) in &mut taken {
                if let Some(seq) = *seq {
                    let keys = std::mem::take(&mut job.keys);
                    requests.extend(keys.request.map(|key| KeyRecord { seq, ..key }));
                    documents.extend(keys.documents);
                }
            }
            self.keys.written(requests);
            self.ids.written(&documents);
        }
        for (mut job, seq) in taken {
            let is_control = matches!(job.work, Work::ReloadPlugin(_));
            if let (Some(message), false) = (&failure, is_control) {
                if let Some(key) = &job.keys.request {
                    self.keys.refused(&key.scope);
                }
                self.ids.refused(job.keys.documents.iter().map(|key| key.scope));
                if let Some(logged) = job.logged.take() {
                    let _ = logged.send(Err(message.clone()));
                }
                answer(job.done.take(), Err(message.clone()));
                continue;
            }
            if let (Some(logged), Some(seq)) = (job.logged.take(), seq) {
                let _ = logged.send(Ok(seq));
            }
            if matches!(job.work, Work::Logs { commit: CommitMode::Auto, .. }) {
                answer(job.done.take(), Ok(()));
            }
            let index_job = IndexJob { seq, work: job.work, done: job.done, permit: job.permit };
            if self.to_index.send(Some(index_job)).is_err() {
                tracing::error!("the index thread stopped; logged records wait in the write-ahead log for a restart");
            }
        }
    }
}

struct IndexThread {
    parts: WriterParts,
    writer: LogWriter,
    checkpoints: Checkpoints,
    status: Arc<RwLock<PluginStatus>>,
    last_retention: Option<Instant>,
    pending: Arc<Semaphore>,
    capacity: usize,
    wal: Arc<Mutex<Wal>>,
    /// Synced before the log is released, as the released entries' keys and ids live on in
    /// their files.
    keys: Arc<IdempotencyKeys>,
    ids: Arc<DocumentIds>,
    /// The last write-ahead-log entry whose records are in the writer.
    wal_seq: u64,
    /// Records added since the last commit.
    uncommitted: usize,
    last_commit: Instant,
    /// Senders waiting for the next commit.
    waiting: Vec<oneshot::Sender<Outcome>>,
    indexed_through: Arc<AtomicU64>,
    suspensions: Suspensions,
}

impl IndexThread {
    fn run(&mut self, receiver: mpsc::Receiver<Option<IndexJob>>) {
        let interval = Duration::from_millis(self.parts.settings.commit_interval_ms.max(1));
        let mut stopping = false;
        while !stopping {
            let owed = self.uncommitted > 0 || !self.waiting.is_empty();
            let timeout = if owed {
                interval.saturating_sub(self.last_commit.elapsed())
            } else {
                interval.max(Duration::from_secs(1))
            };
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
            self.resume_suspended();
            let forced = self.run_group(group);
            let due = self.last_commit.elapsed() >= interval && (self.uncommitted > 0 || !self.waiting.is_empty());
            if forced || due || self.uncommitted >= MAX_RECORDS_PER_COMMIT {
                self.commit_and_answer();
            }
            self.apply_retention();
        }
        // Jobs logged behind the stop are taken too: they were acknowledged.
        let rest: Vec<IndexJob> = receiver.try_iter().flatten().collect();
        self.run_group(rest);
        self.commit_and_answer();
        tracing::info!("writer stopped; everything acknowledged is committed");
    }

    /// Adds what the log holds beyond the last commit, then commits it.
    fn replay(&mut self, entries: Vec<WalEntry>) -> Result<(), String> {
        if entries.is_empty() {
            return Ok(());
        }
        let count: usize = entries.iter().map(|entry| entry.records.len() + entry.reports.len()).sum();
        tracing::info!(records = count, "replaying acknowledged records and reports the index did not commit");
        let jobs = entries
            .into_iter()
            .map(|entry| {
                let work = if entry.reports.is_empty() {
                    Work::Logs { records: entry.records, checkpoint: entry.checkpoint, commit: CommitMode::Auto }
                } else {
                    Work::Reports(entry.reports)
                };
                IndexJob { seq: Some(entry.seq), work, done: None, permit: None }
            })
            .collect();
        self.run_group(jobs);
        self.commit()?;
        self.parts.metrics.records_indexed.inc_by(self.uncommitted as u64);
        self.uncommitted = 0;
        Ok(())
    }

    /// Analyzes and adds the group's jobs in order. Whether a job asked for a commit now.
    fn run_group(&mut self, group: Vec<IndexJob>) -> bool {
        if group.is_empty() {
            return false;
        }
        let mut forced = false;
        let mut total = BatchAnalysis::default();
        let ingest_time_ms = chrono::Utc::now().timestamp_millis();
        let mut indexed = 0u64;
        for job in group {
            let done = job.done;
            match job.work {
                Work::Logs { mut records, checkpoint, commit } => {
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
                        tracing::error!(%error, "acknowledged records could not be indexed; they stay in the write-ahead log");
                    }
                }
                Work::Reports(mut batch) => {
                    // As `import --reports` does, each call's reports stored before the next.
                    let mut outcome = Ok(());
                    for call in crate::pipeline::report_plugin_calls(&mut batch) {
                        let analysis = self.parts.plugins.analyze_reports(call);
                        let stored = self.keep_findings(&analysis);
                        let relabelled =
                            crate::pipeline::relabel_merged_groups(&self.parts.reports, call, &analysis.findings);
                        self.note_timeouts(&analysis);
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
                    if let Err(error) = &outcome {
                        tracing::error!(%error, "acknowledged reports could not be stored");
                    }
                    // Committed right away, so the log's sequence moves past them.
                    forced = true;
                    answer(done, outcome);
                }
                Work::ReloadPlugin(path) => {
                    let outcome = self.reload(&path);
                    answer(done, outcome);
                }
            }
            if let Some(seq) = job.seq {
                self.wal_seq = self.wal_seq.max(seq);
            }
            drop(job.permit);
        }
        self.uncommitted += indexed as usize;
        self.refresh_status(&total);
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
        self.parts.metrics.log_series.count_records(records);
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
        self.note_timeouts(&analysis);
        merge(total, analysis);
        stored
    }

    /// Suspends the plugins that keep timing out.
    fn note_timeouts(&mut self, analysis: &BatchAnalysis) {
        let suspended = self.suspensions.observe(analysis);
        if suspended.is_empty() {
            return;
        }
        for plugin in &suspended {
            self.parts.metrics.plugin_suspended.get_or_create(&PluginLabel { plugin: plugin.clone() }).set(1);
        }
        self.parts.plugins.pause_only(self.suspensions.suspended());
    }

    /// Resumes the plugins whose suspension is over.
    fn resume_suspended(&mut self) {
        let resumed = self.suspensions.resume_due();
        if resumed.is_empty() {
            return;
        }
        for plugin in &resumed {
            self.parts.metrics.plugin_suspended.get_or_create(&PluginLabel { plugin: plugin.clone() }).set(0);
        }
        self.parts.plugins.pause_only(self.suspensions.suspended());
        self.refresh_status(&BatchAnalysis::default());
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
            .map_err(|error| format!("findings file {}: {error}", self.parts.findings.path().display()))?;
        self.parts.logs.record_pattern_merges(&analysis.pattern_merges).map_err(|error| error.to_string())?;
        self.parts.metrics.log_series.count_findings(&analysis.findings);
        if let Some(alerter) = &self.parts.alerter {
            alerter.offer_findings(&analysis.findings);
        }
        Ok(())
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
        self.indexed_through.store(self.wal_seq, Ordering::SeqCst);
        // The log entries about to be released hold keys the key file must now keep.
        if let Err(error) = self.keys.sync().and_then(|()| self.ids.sync()) {
            tracing::error!(%error, "idempotency key file not synced; the write-ahead log keeps its entries");
            return Ok(());
        }
        let mut wal = self.wal.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(error) = wal.release(self.wal_seq) {
            // Harmless for correctness: a restart skips what the commit holds.
            tracing::error!(%error, log = %wal.path().display(), "cannot release committed write-ahead-log entries");
        }
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
                let standing = self.suspensions.standing(&description.name);
                LoadedPluginStatus {
                    consecutive_timeouts: standing.map_or(0, |standing| standing.consecutive_timeouts),
                    suspended_until: standing.and_then(|standing| standing.suspended_until_text.clone()),
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
