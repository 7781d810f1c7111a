//! Alerting through the team's own stack. The rules of `[[alerts]]` watch the feedback board
//! and the anomaly findings `serve` makes; each change of state they care about becomes one
//! notification per receiver, delivered with retries and recorded.
//!
//! ```text
//! board, findings ─▶ rules.rs (what changed: raise or resolve, once per change)
//!                      │
//!                      ▼
//!                    outbox (state.json: firing alerts, notifications not yet delivered)
//!                      │
//!                      ▼
//!                    delivery.rs (Alertmanager v2, JSON webhook, Slack; back-off) ─▶ log.jsonl
//! ```
//!
//! `opsloop alerts` and `GET /api/alerts` read the outbox and the log. The state survives a
//! restart: an alert raised before is not raised again, and what was not yet delivered is.

pub mod delivery;
pub mod rules;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Whether a notification tells of a problem or of its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertEvent {
    Firing,
    Resolved,
}

/// What an alert says, whichever receiver it goes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertContent {
    /// The rule that raised it.
    pub rule: String,
    /// What it is about: a feedback item (`FB-…`) or an anomaly (`AN-…`, one per source, kind
    /// and patterns).
    pub subject: String,
    /// Alertmanager's labels: `alertname`, `source`, `kind`, `item`. They name the alert, so
    /// they never change while it fires.
    pub labels: BTreeMap<String, String>,
    pub title: String,
    pub summary: String,
    /// The item's status when this was said (`new`, `regressed`, `resolved`), or `anomaly`.
    pub status: String,
    /// The item's impact score, or the finding's score.
    pub score: f64,
    /// The search that shows the evidence.
    pub query: Option<String>,
    /// The page, opened on the item or the search.
    pub link: Option<String>,
    /// When the problem began (ms since the epoch).
    pub starts_ms: i64,
}

/// One message to one receiver, until it is delivered or given up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: u64,
    pub receiver: String,
    pub event: AlertEvent,
    pub alert: AlertContent,
    /// When the alert was resolved, for `resolved`.
    pub ends_ms: Option<i64>,
    pub created_ms: i64,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
}

/// How a notification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Delivered,
    /// Refused for good (a 4xx answer), or still failing after the last attempt.
    Failed,
}

/// A line of the delivery log: a notification and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    #[serde(flatten)]
    pub notification: Notification,
    pub outcome: Outcome,
    pub finished_ms: i64,
}

/// An alert that fires now, by `rule/subject`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiringAlert {
    pub alert: AlertContent,
    /// When evidence for it last arrived (anomalies resolve after a quiet span).
    pub last_evidence_ms: i64,
}

/// What the alerter keeps between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    pub firing: BTreeMap<String, FiringAlert>,
    /// Notifications not yet delivered, oldest first.
    pub outbox: Vec<Notification>,
    pub next_id: u64,
}

/// The log is cut to its newer half when it grows past this.
const MAX_LOG_BYTES: u64 = 8 << 20;

/// `alerts/state.json` and `alerts/log.jsonl` in the data directory.
#[derive(Debug, Clone)]
pub struct AlertStore {
    dir: PathBuf,
}

impl AlertStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.join("log.jsonl")
    }

    /// The saved state; the empty state when there is none.
    pub fn read_state(&self) -> std::io::Result<AlertState> {
        match std::fs::read(self.state_file()) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {error}", self.state_file().display()),
                )
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(AlertState::default()),
            Err(error) => Err(error),
        }
    }

    /// Moves an unreadable state file to `state.json.bad`; where it went.
    pub fn set_state_aside(&self) -> std::io::Result<PathBuf> {
        let aside = self.state_file().with_extension("json.bad");
        std::fs::rename(self.state_file(), &aside)?;
        Ok(aside)
    }

    /// Saves through a synced temporary file and a rename: a crash leaves the old or the new.
    pub fn write_state(&self, state: &AlertState) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let temporary = self.state_file().with_extension("tmp");
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&serde_json::to_vec(state).map_err(std::io::Error::other)?)?;
        file.sync_data()?;
        std::fs::rename(&temporary, self.state_file())
    }

    /// Appends finished notifications.
    pub fn append_log(&self, records: &[DeliveryRecord]) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)?;
        let mut text = String::new();
        for record in records {
            text.push_str(&serde_json::to_string(record).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        let path = self.log_file();
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
        file.write_all(text.as_bytes())?;
        file.sync_data()?;
        if file.metadata()?.len() > MAX_LOG_BYTES {
            let text = std::fs::read_to_string(&path)?;
            let lines: Vec<&str> = text.lines().collect();
            let kept = lines[lines.len() / 2..].join("\n") + "\n";
            let temporary = path.with_extension("tmp");
            std::fs::write(&temporary, kept)?;
            std::fs::rename(&temporary, &path)?;
        }
        Ok(())
    }

    /// The delivery log, newest first, at most `limit` lines; unreadable lines are skipped.
    pub fn read_log(&self, limit: usize) -> std::io::Result<Vec<DeliveryRecord>> {
        read_log_file(&self.log_file(), limit)
    }
}

fn read_log_file(path: &Path, limit: usize) -> std::io::Result<Vec<DeliveryRecord>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    Ok(text.lines().rev().filter_map(|line| serde_json::from_str(line).ok()).take(limit).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_and_log_survive_a_reopen_and_the_log_reads_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = AlertStore::new(dir.path().join("alerts"));
        assert_eq!(store.read_state().unwrap(), AlertState::default());
        let state = AlertState { next_id: 7, ..AlertState::default() };
        store.write_state(&state).unwrap();
        assert_eq!(AlertStore::new(dir.path().join("alerts")).read_state().unwrap().next_id, 7);
        let record = |id| DeliveryRecord {
            notification: Notification {
                id,
                receiver: "hook".into(),
                event: AlertEvent::Firing,
                alert: AlertContent {
                    rule: "r".into(),
                    subject: "FB-1".into(),
                    labels: BTreeMap::new(),
                    title: "t".into(),
                    summary: "s".into(),
                    status: "new".into(),
                    score: 0.5,
                    query: None,
                    link: None,
                    starts_ms: 0,
                },
                ends_ms: None,
                created_ms: 0,
                attempts: 1,
                next_attempt_ms: 0,
                last_error: None,
            },
            outcome: Outcome::Delivered,
            finished_ms: 1,
        };
        std::fs::write(dir.path().join("alerts/state.json"), "{not json").unwrap();
        assert!(store.read_state().unwrap_err().to_string().contains("state.json"));
        assert!(store.set_state_aside().unwrap().ends_with("state.json.bad"));
        assert_eq!(store.read_state().unwrap(), AlertState::default());
        store.append_log(&[record(1), record(2)]).unwrap();
        store.append_log(&[record(3)]).unwrap();
        let ids: Vec<u64> = store.read_log(2).unwrap().iter().map(|r| r.notification.id).collect();
        assert_eq!(ids, vec![3, 2]);
    }
}
