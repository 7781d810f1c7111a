//! The feedback board as `serve` keeps it: built in the background once the data changed
//! (after the writer commits records or stores reports), held in memory for every read, and
//! saved with the statuses it moved. Requests read the last board and never build one; a
//! person's action (ack, resolve) changes the board in place.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use super::metrics::Metrics;
use crate::config::FeedbackSettings;
use crate::feedback::{Action, Board, BoardStore, ItemStatus};
use crate::index::{LogIndex, ReportIndex};
use crate::pipeline::FindingStore;

/// How often the keeper looks for new data.
const POLL: Duration = Duration::from_millis(200);

/// After a build that took `t`, the next waits at least this many times `t`, so building
/// takes at most about a fifth of one core however fast data arrives.
const REST_PER_BUILD_TIME: u32 = 4;

/// The board and what it is built from.
pub struct BoardKeeper {
    store: BoardStore,
    current: RwLock<Arc<Board>>,
    /// The data version ([`Self::data_version`]) the current board was built from.
    built_version: Mutex<u64>,
    /// Serializes builds and people's actions, which both save the board.
    saving: Mutex<()>,
    logs: Arc<LogIndex>,
    reports: Arc<ReportIndex>,
    findings: Arc<FindingStore>,
    metrics: Arc<Metrics>,
    settings: FeedbackSettings,
    /// Told of every board as it is built or changed, in order (the alerter: a status a board
    /// shows only until the next build must not be missed).
    subscribers: Mutex<Vec<std::sync::mpsc::Sender<Arc<Board>>>>,
}

impl BoardKeeper {
    /// Loads the saved board, or builds one when there is none or it is older than the data.
    pub fn open(
        store: BoardStore,
        logs: Arc<LogIndex>,
        reports: Arc<ReportIndex>,
        findings: Arc<FindingStore>,
        metrics: Arc<Metrics>,
        settings: FeedbackSettings,
    ) -> anyhow::Result<Self> {
        let keeper = Self {
            current: RwLock::new(Arc::new(store.read()?.unwrap_or_default())),
            store,
            built_version: Mutex::new(0),
            saving: Mutex::new(()),
            logs,
            reports,
            findings,
            metrics,
            settings,
            subscribers: Mutex::new(Vec::new()),
        };
        // The data may have changed since the board was saved (a replayed write-ahead log).
        keeper.rebuild()?;
        Ok(keeper)
    }

    /// Counts every change of data the writer made: commits of records and stored reports.
    fn data_version(&self) -> u64 {
        self.metrics.commits.get() + self.metrics.reports_indexed.get()
    }

    /// Every board from now on, as it is built or changed, starting with the current one.
    pub fn subscribe(&self) -> std::sync::mpsc::Receiver<Arc<Board>> {
        let (sender, receiver) = std::sync::mpsc::channel();
        let _ = sender.send(self.board());
        self.subscribers.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(sender);
        receiver
    }

    /// Makes `board` the current one and tells the subscribers.
    fn publish(&self, board: Board) {
        let board = Arc::new(board);
        self.metrics.log_series.set_feedback_items(&board);
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = board.clone();
        self.subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|subscriber| subscriber.send(board.clone()).is_ok());
    }

    /// The board as last built.
    pub fn board(&self) -> Arc<Board> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn rebuild(&self) -> anyhow::Result<()> {
        let _saving = self.saving.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let version = self.data_version();
        let board = self.store.rebuild(&self.logs, &self.reports, &self.findings, &self.settings)?;
        self.publish(board);
        *self.built_version.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = version;
        Ok(())
    }

    /// Rebuilds when the data changed since the last build; whether it did.
    pub fn rebuild_if_changed(&self) -> anyhow::Result<bool> {
        let built = *self.built_version.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.data_version() == built {
            return Ok(false);
        }
        self.rebuild()?;
        Ok(true)
    }

    /// Applies a person's action; the new status, or `None` when the board has no such item.
    pub fn act(&self, id: &str, action: Action) -> anyhow::Result<Option<ItemStatus>> {
        let _saving = self.saving.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut board = (*self.board()).clone();
        let status = self.store.act(&mut board, id, action)?;
        if status.is_some() {
            self.publish(board);
        }
        Ok(status)
    }

    /// Rebuilds after each change of data until `stop` is set, resting between builds in
    /// proportion to their cost.
    pub fn run(&self, stop: &AtomicBool) {
        let mut rest = Duration::ZERO;
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(POLL.max(rest));
            let started = std::time::Instant::now();
            match self.rebuild_if_changed() {
                Ok(true) => {
                    rest = started.elapsed() * REST_PER_BUILD_TIME;
                    tracing::debug!(
                        items = self.board().items.len(),
                        seconds = started.elapsed().as_secs_f64(),
                        "feedback board rebuilt"
                    );
                }
                Ok(false) => {}
                Err(error) => tracing::error!(error = format!("{error:#}"), "feedback board not rebuilt"),
            }
        }
    }
}
