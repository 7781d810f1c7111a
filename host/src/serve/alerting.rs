//! The alerter of `serve`: one thread that watches the board as the keeper rebuilds it (or a
//! person changes it) and the findings the writer stores, turns changes into notifications
//! ([`crate::alerts::rules`]), and delivers them ([`crate::alerts::delivery`]) with back-off.
//! Ingest never waits for it: findings reach it through a bounded queue the writer only
//! tries, and deliveries run on this thread alone. Alertmanager receivers are reminded of
//! firing alerts every `resend_ms`, as Prometheus reminds them.
//!
//! In: the board, findings, `[[alerts]]`, `[[receivers]]`, `[alerting]`. Out: HTTP messages,
//! `alerts/state.json`, `alerts/log.jsonl`, and [`AlertReport`] for `GET /api/alerts`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde::Serialize;

use super::board::BoardKeeper;
use crate::alerts::delivery::{Attempt, Deliverer, backoff_ms};
use crate::alerts::{AlertContent, AlertState, AlertStore, DeliveryRecord, Notification, Outcome};
use crate::config::{AlertRule, AlertSubject, ReceiverKind, Settings};
use crate::feedback::Board;
use crate::pipeline::StoredFinding;

/// How often the alerter looks for changes and due deliveries.
const TICK: Duration = Duration::from_millis(200);

/// Batches of findings waiting for the alerter, at most; the writer drops (and counts) more.
const FINDING_QUEUE: usize = 1_024;

/// A receiver as `/api/alerts` shows it: where (scheme and host only; a Slack URL is a
/// secret), and how its last deliveries went.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiverHealth {
    pub name: String,
    pub kind: ReceiverKind,
    pub host: String,
    pub last_delivered_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
}

/// What `GET /api/alerts` answers.
#[derive(Debug, Clone, Serialize)]
pub struct AlertReport {
    pub rules: Vec<AlertRule>,
    pub receivers: Vec<ReceiverHealth>,
    pub firing: Vec<AlertContent>,
    /// Notifications not delivered yet, with their attempts and last error.
    pub pending: Vec<Notification>,
    /// Finished notifications, newest first.
    pub sent: Vec<DeliveryRecord>,
    /// Batches of findings dropped because the alerter was behind.
    pub dropped_findings: u64,
    /// What looks wrong in the rules (also logged at start).
    pub doubts: Vec<String>,
}

pub struct Alerter {
    store: AlertStore,
    state: Mutex<AlertState>,
    rules: Vec<AlertRule>,
    deliverer: Deliverer,
    settings: crate::config::AlertingSettings,
    /// The page's address in links: `[alerting] page_url`, else the address bound.
    page_url: std::sync::RwLock<String>,
    findings: Mutex<mpsc::Receiver<Vec<StoredFinding>>>,
    tap: mpsc::SyncSender<Vec<StoredFinding>>,
    health: Mutex<BTreeMap<String, ReceiverHealth>>,
    dropped_findings: AtomicU64,
}

/// `scheme://host[:port]` of a URL, without path, query or credentials.
fn host_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Alerter {
    /// Reads the saved state; `listen` makes the default page address for links.
    pub fn open(store: AlertStore, settings: &Settings, listen: &str) -> anyhow::Result<Self> {
        for doubt in crate::alerts::rules::doubts(&settings.alerts) {
            tracing::warn!("{doubt}");
        }
        let mut state = match store.read_state() {
            Ok(state) => state,
            // A damaged state file must not keep the server down: it is set aside, and alerts
            // firing before may be told once more.
            Err(error) => {
                let aside = store.set_state_aside()?;
                tracing::error!(%error, aside = %aside.display(), "alert state unreadable; set aside, starting without it");
                crate::alerts::AlertState::default()
            }
        };
        state.keep_rules(&settings.alerts);
        let known: std::collections::BTreeSet<&str> =
            settings.receivers.iter().map(|receiver| receiver.name.as_str()).collect();
        let before = state.outbox.len();
        state.outbox.retain(|notification| known.contains(notification.receiver.as_str()));
        if state.outbox.len() < before {
            tracing::warn!(
                dropped = before - state.outbox.len(),
                "notifications for receivers no longer configured dropped"
            );
        }
        let scheme = if settings.serve.tls_cert.is_some() { "https" } else { "http" };
        let page_url = settings.alerting.page_url.clone().unwrap_or_else(|| format!("{scheme}://{listen}"));
        let (tap, findings) = mpsc::sync_channel(FINDING_QUEUE);
        let health = settings
            .receivers
            .iter()
            .map(|receiver| {
                (
                    receiver.name.clone(),
                    ReceiverHealth {
                        name: receiver.name.clone(),
                        kind: receiver.kind,
                        host: host_of(&receiver.url),
                        last_delivered_ms: None,
                        last_error: None,
                        last_error_ms: None,
                    },
                )
            })
            .collect();
        Ok(Self {
            store,
            state: Mutex::new(state),
            rules: settings.alerts.clone(),
            deliverer: Deliverer::new(&settings.receivers, &settings.alerting),
            settings: settings.alerting.clone(),
            page_url: std::sync::RwLock::new(page_url),
            findings: Mutex::new(findings),
            tap,
            health: Mutex::new(health),
            dropped_findings: AtomicU64::new(0),
        })
    }

    /// Links point at `address` (the one bound, when the port was 0) unless `page_url` is set.
    pub fn listening_on(&self, address: std::net::SocketAddr, tls: bool) {
        if self.settings.page_url.is_none() {
            let scheme = if tls { "https" } else { "http" };
            *self.page_url.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = format!("{scheme}://{address}");
        }
    }

    /// Whether there is anything to do: rules, or notifications left from a last run.
    pub fn is_active(&self) -> bool {
        !self.rules.is_empty() || !self.lock_state().outbox.is_empty()
    }

    /// The writer hands stored findings here; never blocks (a full queue drops the batch and
    /// counts it).
    pub fn offer_findings(&self, findings: &[StoredFinding]) {
        if findings.is_empty() || !self.rules.iter().any(|rule| rule.on == AlertSubject::Anomalies) {
            return;
        }
        if self.tap.try_send(findings.to_vec()).is_err() {
            self.dropped_findings.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, AlertState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_health(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ReceiverHealth>> {
        self.health.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What `/api/alerts` shows; at most `limit` finished notifications.
    pub fn report(&self, limit: usize) -> AlertReport {
        let (firing, pending) = {
            let state = self.lock_state();
            (state.firing.values().map(|firing| firing.alert.clone()).collect(), state.outbox.clone())
        };
        let sent = self.store.read_log(limit).unwrap_or_else(|error| {
            tracing::warn!(%error, "alert log unreadable");
            Vec::new()
        });
        AlertReport {
            rules: self.rules.clone(),
            receivers: self.lock_health().values().cloned().collect(),
            firing,
            pending,
            sent,
            dropped_findings: self.dropped_findings.load(Ordering::Relaxed),
            doubts: crate::alerts::rules::doubts(&self.rules),
        }
    }

    fn note(&self, receiver: &str, attempt: &Attempt, now: i64) {
        let mut health = self.lock_health();
        let Some(entry) = health.get_mut(receiver) else { return };
        match attempt {
            Attempt::Delivered => entry.last_delivered_ms = Some(now),
            Attempt::Retry(error) | Attempt::Refused(error) => {
                entry.last_error = Some(error.clone());
                entry.last_error_ms = Some(now);
            }
        }
    }

    /// Watches and delivers until `stop` is set; what is still undelivered then stays in the
    /// outbox for the next start.
    pub fn run(&self, board: &BoardKeeper, stop: &AtomicBool) {
        let names: Vec<String> = self.lock_health().keys().cloned().collect();
        for name in names {
            let Some(receiver) = self.deliverer.receiver(&name) else { continue };
            if let Err(error) = self.deliverer.probe(receiver) {
                tracing::warn!(receiver = %name, %error, "alert receiver unreachable; notifications wait and are retried");
                self.note(&name, &Attempt::Retry(error), now_ms());
            }
        }
        let boards = board.subscribe();
        let mut last_reminder = now_ms();
        while !stop.load(Ordering::SeqCst) {
            let findings: Vec<StoredFinding> = {
                let queue = self.findings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                match queue.recv_timeout(TICK) {
                    Ok(first) => first.into_iter().chain(queue.try_iter().flatten()).collect(),
                    Err(_) => Vec::new(),
                }
            };
            let now = now_ms();
            let page_url = self.page_url.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
            let built: Vec<Arc<Board>> = boards.try_iter().collect();
            let queued = {
                let mut state = self.lock_state();
                let mut queued = state.observe_findings(&self.rules, &findings, &page_url, now);
                // Every board in order: an item `new` in one build and `ongoing` in the next
                // (its evidence grew) was new, and is told.
                for board in &built {
                    queued += state.observe_board(&self.rules, board, &page_url, now);
                }
                queued += state.resolve_quiet(&self.rules, now);
                queued
            };
            if queued > 0 {
                tracing::info!(notifications = queued, "alerts raised or resolved");
                self.save();
            }
            self.deliver_due(now);
            if now - last_reminder >= self.settings.resend_ms as i64 {
                last_reminder = now;
                self.remind_alertmanagers(now);
            }
        }
        self.save();
    }

    fn save(&self) {
        let state = self.lock_state().clone();
        if let Err(error) = self.store.write_state(&state) {
            tracing::error!(%error, "alert state not saved; alerts may be sent again after a restart");
        }
    }

    /// One attempt at every notification whose time has come, oldest first.
    fn deliver_due(&self, now: i64) {
        let due: Vec<Notification> =
            self.lock_state().outbox.iter().filter(|n| n.next_attempt_ms <= now).cloned().collect();
        if due.is_empty() {
            return;
        }
        let mut finished = Vec::new();
        // A receiver that failed this round is not tried again in it: a receiver that hangs
        // until the timeout costs one timeout per round, not one per notification.
        let mut failing: BTreeMap<String, i64> = BTreeMap::new();
        for notification in due {
            if let Some(&next) = failing.get(&notification.receiver) {
                let mut state = self.lock_state();
                if let Some(entry) = state.outbox.iter_mut().find(|n| n.id == notification.id) {
                    entry.next_attempt_ms = entry.next_attempt_ms.max(next);
                }
                continue;
            }
            let attempt = self.deliverer.send(&notification, now_ms());
            let done_ms = now_ms();
            self.note(&notification.receiver, &attempt, done_ms);
            let mut state = self.lock_state();
            let Some(position) = state.outbox.iter().position(|n| n.id == notification.id) else { continue };
            let entry = &mut state.outbox[position];
            entry.attempts += 1;
            let outcome = match attempt {
                Attempt::Delivered => Some(Outcome::Delivered),
                Attempt::Refused(error) => {
                    entry.last_error = Some(error);
                    Some(Outcome::Failed)
                }
                Attempt::Retry(error) => {
                    tracing::debug!(receiver = %entry.receiver, attempt = entry.attempts, %error, "alert delivery failed; retrying");
                    entry.last_error = Some(error);
                    let next = done_ms + backoff_ms(self.settings.retry_initial_ms, entry.attempts) as i64;
                    failing.insert(entry.receiver.clone(), next);
                    if entry.attempts >= self.settings.max_attempts.max(1) {
                        Some(Outcome::Failed)
                    } else {
                        entry.next_attempt_ms = next;
                        None
                    }
                }
            };
            if let Some(outcome) = outcome {
                let notification = state.outbox.remove(position);
                if outcome == Outcome::Failed {
                    tracing::warn!(
                        receiver = %notification.receiver,
                        subject = %notification.alert.subject,
                        attempts = notification.attempts,
                        error = notification.last_error.as_deref().unwrap_or_default(),
                        "alert not delivered"
                    );
                }
                finished.push(DeliveryRecord { notification, outcome, finished_ms: done_ms });
            }
        }
        if let Err(error) = self.store.append_log(&finished) {
            tracing::error!(%error, "alert delivery log not written");
        }
        self.save();
    }

    /// Tells each Alertmanager again of the alerts that fire for it.
    fn remind_alertmanagers(&self, now: i64) {
        let firing: Vec<AlertContent> = self.lock_state().firing.values().map(|firing| firing.alert.clone()).collect();
        // Collected first: the lock must not live through the loop, which notes outcomes.
        let receivers: Vec<(String, ReceiverKind)> =
            self.lock_health().iter().map(|(name, health)| (name.clone(), health.kind)).collect();
        for (name, kind) in receivers {
            if kind != ReceiverKind::Alertmanager {
                continue;
            }
            let alerts: Vec<&AlertContent> = firing
                .iter()
                .filter(|alert| self.rules.iter().any(|rule| rule.name == alert.rule && rule.receivers.contains(&name)))
                .collect();
            if alerts.is_empty() {
                continue;
            }
            let attempt = self.deliverer.remind(&name, &alerts, now);
            self.note(&name, &attempt, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_is_shown_by_scheme_and_host_only() {
        assert_eq!(host_of("https://hooks.slack.com/services/T0/B0/secret"), "https://hooks.slack.com");
        assert_eq!(host_of("http://user:pw@127.0.0.1:9093"), "http://127.0.0.1:9093");
    }
}
