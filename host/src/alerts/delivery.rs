//! Delivering notifications: each receiver kind's message ([`alertmanager_alerts`],
//! [`webhook_message`], [`slack_message`]) sent over HTTP(S) with a deadline, and what to do
//! after an attempt: done, try again after [`backoff_ms`], or give up (an answer that says the
//! message itself is wrong, 4xx but 408 and 429).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::{AlertContent, AlertEvent, Notification};
use crate::config::{AlertingSettings, ReceiverKind, ReceiverSetting};

/// The longest wait between two attempts.
const MAX_BACKOFF_MS: u64 = 5 * 60_000;

/// How much of an error answer's body is kept in the record.
const ERROR_BODY_CHARS: usize = 300;

/// The wait before attempt `attempts + 1`: `initial`, doubled per attempt made, capped.
pub fn backoff_ms(initial_ms: u64, attempts: u32) -> u64 {
    initial_ms.saturating_mul(1u64 << attempts.saturating_sub(1).min(20)).min(MAX_BACKOFF_MS)
}

/// How an attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// Worth trying again (no connection, a timeout, 5xx, 408, 429).
    Retry(String),
    /// Refused for good: the same message would be refused again.
    Refused(String),
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Alertmanager's v2 `postableAlerts`: each alert with its labels, annotations (summary,
/// description, query, link, status, score), start, end and a link back. A firing alert ends
/// at `ends_ms` unless told again, as Prometheus does; a resolved one ended when it resolved.
pub fn alertmanager_alerts(alerts: &[(&AlertContent, i64)]) -> Value {
    Value::Array(
        alerts
            .iter()
            .map(|(alert, ends_ms)| {
                let mut annotations = BTreeMap::from([
                    ("summary".to_string(), alert.title.clone()),
                    ("description".to_string(), alert.summary.clone()),
                    ("status".to_string(), alert.status.clone()),
                    ("score".to_string(), format!("{:.2}", alert.score)),
                ]);
                if let Some(query) = &alert.query {
                    annotations.insert("query".into(), query.clone());
                }
                if let Some(link) = &alert.link {
                    annotations.insert("link".into(), link.clone());
                }
                let mut body = json!({
                    "labels": alert.labels,
                    "annotations": annotations,
                    "startsAt": rfc3339(alert.starts_ms),
                    "endsAt": rfc3339(*ends_ms),
                });
                if let Some(link) = &alert.link {
                    body["generatorURL"] = json!(link);
                }
                body
            })
            .collect(),
    )
}

/// The generic webhook's document: what happened, to what, and where to look.
pub fn webhook_message(notification: &Notification) -> Value {
    let alert = &notification.alert;
    json!({
        "version": 1,
        "id": notification.id,
        "event": notification.event,
        "rule": alert.rule,
        "receiver": notification.receiver,
        "subject": alert.subject,
        "labels": alert.labels,
        "title": alert.title,
        "summary": alert.summary,
        "status": alert.status,
        "score": (alert.score * 100.0).round() / 100.0,
        "query": alert.query,
        "link": alert.link,
        "starts_at": rfc3339(alert.starts_ms),
        "ends_at": notification.ends_ms.map(rfc3339),
    })
}

/// A Slack incoming-webhook message (`text` in Slack's mrkdwn).
pub fn slack_message(notification: &Notification) -> Value {
    let alert = &notification.alert;
    let head = match notification.event {
        AlertEvent::Firing => {
            format!(":rotating_light: *[{}] {}* {}", alert.status.to_uppercase(), alert.subject, alert.title)
        }
        AlertEvent::Resolved => format!(":white_check_mark: *[RESOLVED] {}* {}", alert.subject, alert.title),
    };
    let mut text = format!("{head}\n{}", alert.summary);
    if let Some(query) = &alert.query {
        text.push_str(&format!("\nSearch: `{query}`"));
    }
    if let Some(link) = &alert.link {
        text.push_str(&format!("\n<{link}|Open in opsloop>"));
    }
    text.push_str(&format!("\n_rule {} · score {:.2}_", alert.rule, alert.score));
    json!({ "text": text })
}

/// Sends messages to receivers.
pub struct Deliverer {
    agent: ureq::Agent,
    receivers: BTreeMap<String, ReceiverSetting>,
    settings: AlertingSettings,
}

impl Deliverer {
    pub fn new(receivers: &[ReceiverSetting], settings: &AlertingSettings) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(settings.timeout_ms.max(1))))
            .http_status_as_error(false)
            .user_agent(concat!("opsloop/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self {
            agent,
            receivers: receivers.iter().map(|receiver| (receiver.name.clone(), receiver.clone())).collect(),
            settings: settings.clone(),
        }
    }

    pub fn receiver(&self, name: &str) -> Option<&ReceiverSetting> {
        self.receivers.get(name)
    }

    /// One attempt at a notification.
    pub fn send(&self, notification: &Notification, now_ms: i64) -> Attempt {
        let Some(receiver) = self.receivers.get(&notification.receiver) else {
            return Attempt::Refused(format!("no receiver is named `{}`", notification.receiver));
        };
        let body = match receiver.kind {
            ReceiverKind::Alertmanager => {
                let ends_ms = notification.ends_ms.unwrap_or(now_ms + self.alive_for_ms());
                alertmanager_alerts(&[(&notification.alert, ends_ms)])
            }
            ReceiverKind::Webhook => webhook_message(notification),
            ReceiverKind::Slack => slack_message(notification),
        };
        self.post(receiver, &body, Some(notification.id))
    }

    /// Tells an Alertmanager again that `alerts` still fire.
    pub fn remind(&self, receiver: &str, alerts: &[&AlertContent], now_ms: i64) -> Attempt {
        let Some(receiver) = self.receivers.get(receiver) else {
            return Attempt::Refused(format!("no receiver is named `{receiver}`"));
        };
        let ends_ms = now_ms + self.alive_for_ms();
        let alerts: Vec<(&AlertContent, i64)> = alerts.iter().map(|alert| (*alert, ends_ms)).collect();
        self.post(receiver, &alertmanager_alerts(&alerts), None)
    }

    /// How long Alertmanager keeps a firing alert it is not told of again: four reminders.
    fn alive_for_ms(&self) -> i64 {
        4 * self.settings.resend_ms.max(1_000) as i64
    }

    /// Whether the receiver answers at all: Alertmanager's readiness; other receivers are
    /// only tried with real messages.
    pub fn probe(&self, receiver: &ReceiverSetting) -> Result<(), String> {
        if receiver.kind != ReceiverKind::Alertmanager {
            return Ok(());
        }
        let url = format!("{}/-/ready", receiver.url.trim_end_matches('/'));
        let mut request = self.agent.get(&url);
        for (name, value) in &receiver.headers {
            request = request.header(name, value);
        }
        match request.call() {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("{url} answered {}", response.status())),
            Err(error) => Err(format!("{url}: {error}")),
        }
    }

    fn post(&self, receiver: &ReceiverSetting, body: &Value, id: Option<u64>) -> Attempt {
        let url = match receiver.kind {
            ReceiverKind::Alertmanager => format!("{}/api/v2/alerts", receiver.url.trim_end_matches('/')),
            ReceiverKind::Webhook | ReceiverKind::Slack => receiver.url.clone(),
        };
        let mut request = self.agent.post(&url);
        for (name, value) in &receiver.headers {
            request = request.header(name, value);
        }
        if let Some(id) = id {
            // The same id on every attempt, so a receiver can drop a retry it already took.
            request = request.header("Idempotency-Key", format!("opsloop-alert-{id}"));
        }
        match request.send_json(body) {
            Ok(response) if response.status().is_success() => Attempt::Delivered,
            Ok(mut response) => {
                let status = response.status();
                let text: String = response
                    .body_mut()
                    .with_config()
                    .limit(64 << 10)
                    .read_to_string()
                    .unwrap_or_default()
                    .chars()
                    .take(ERROR_BODY_CHARS)
                    .collect();
                let message = format!("{url} answered {status}: {}", text.trim());
                if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
                    Attempt::Refused(message)
                } else {
                    Attempt::Retry(message)
                }
            }
            Err(error) => Attempt::Retry(format!("{url}: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> AlertContent {
        AlertContent {
            rule: "new-problems".into(),
            subject: "FB-1234abcd".into(),
            labels: BTreeMap::from([
                ("alertname".into(), "new-problems".into()),
                ("item".into(), "FB-1234abcd".into()),
            ]),
            title: "checkout fails".into(),
            summary: "3 reports; 40 log records".into(),
            status: "new".into(),
            score: 0.61,
            query: Some("pattern:abc".into()),
            link: Some("http://h/#item=FB-1234abcd".into()),
            starts_ms: 1_700_000_000_000,
        }
    }

    fn notification(event: AlertEvent) -> Notification {
        Notification {
            id: 4,
            receiver: "chat".into(),
            event,
            alert: alert(),
            ends_ms: (event == AlertEvent::Resolved).then_some(1_700_000_060_000),
            created_ms: 0,
            attempts: 0,
            next_attempt_ms: 0,
            last_error: None,
        }
    }

    #[test]
    fn back_off_doubles_from_the_first_wait_and_is_capped() {
        assert_eq!(backoff_ms(1_000, 1), 1_000);
        assert_eq!(backoff_ms(1_000, 2), 2_000);
        assert_eq!(backoff_ms(1_000, 4), 8_000);
        assert_eq!(backoff_ms(1_000, 40), MAX_BACKOFF_MS);
    }

    #[test]
    fn alertmanager_gets_labels_annotations_and_times_in_its_v2_shape() {
        let body = alertmanager_alerts(&[(&alert(), 1_700_000_060_000)]);
        let first = &body[0];
        assert_eq!(first["labels"]["alertname"], "new-problems");
        assert_eq!(first["annotations"]["summary"], "checkout fails");
        assert_eq!(first["annotations"]["query"], "pattern:abc");
        assert_eq!(first["annotations"]["link"], "http://h/#item=FB-1234abcd");
        assert_eq!(first["startsAt"], "2023-11-14T22:13:20.000Z");
        assert_eq!(first["endsAt"], "2023-11-14T22:14:20.000Z");
        assert_eq!(first["generatorURL"], "http://h/#item=FB-1234abcd");
    }

    #[test]
    fn webhook_and_slack_messages_say_what_happened_and_link_back() {
        let message = webhook_message(&notification(AlertEvent::Resolved));
        assert_eq!(message["event"], "resolved");
        assert_eq!(message["subject"], "FB-1234abcd");
        assert_eq!(message["ends_at"], "2023-11-14T22:14:20.000Z");
        let text = slack_message(&notification(AlertEvent::Firing))["text"].as_str().unwrap().to_string();
        assert!(text.starts_with(":rotating_light: *[NEW] FB-1234abcd* checkout fails"), "{text}");
        assert!(text.contains("<http://h/#item=FB-1234abcd|Open in opsloop>"), "{text}");
        let resolved = slack_message(&notification(AlertEvent::Resolved))["text"].as_str().unwrap().to_string();
        assert!(resolved.contains("[RESOLVED]"), "{resolved}");
    }
}
