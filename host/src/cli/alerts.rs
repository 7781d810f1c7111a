//! `opsloop alerts`: what `serve` sent to alert receivers and how it went, newest first, and
//! what is still waiting to be delivered. Reads `alerts/` in the data directory; the server
//! need not run.

use std::process::ExitCode;

use clap::Args;

use super::Out;
use super::patterns::time;
use super::search::HitFormat;
use crate::alerts::{AlertEvent, AlertStore, DeliveryRecord, Notification, Outcome};
use crate::data_dir::DataDir;

#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// At most this many finished notifications.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// A table, or one JSON object per notification (pending ones first).
    #[arg(long, value_enum, default_value = "text")]
    pub format: HitFormat,
}

fn event(event: AlertEvent) -> &'static str {
    match event {
        AlertEvent::Firing => "firing",
        AlertEvent::Resolved => "resolved",
    }
}

fn describe(notification: &Notification) -> String {
    let alert = &notification.alert;
    format!(
        "{:<8} {} ({}) {:?} → {} [rule {}]",
        event(notification.event),
        alert.subject,
        alert.status,
        alert.title,
        notification.receiver,
        alert.rule
    )
}

pub fn run(data_dir: &DataDir, args: AlertsArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let store = AlertStore::new(data_dir.alerts_dir());
    // A damaged state file (`serve` sets it aside at start) hides only what is pending.
    let state = store.read_state().unwrap_or_else(|error| {
        eprintln!("warning: {error}; pending notifications cannot be shown");
        crate::alerts::AlertState::default()
    });
    let sent: Vec<DeliveryRecord> = store.read_log(if args.limit == 0 { usize::MAX } else { args.limit })?;
    if matches!(args.format, HitFormat::Json) {
        for notification in &state.outbox {
            let mut value = serde_json::to_value(notification)?;
            value["outcome"] = "pending".into();
            out.line(value.to_string())?;
        }
        for record in &sent {
            out.line(serde_json::to_string(record)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if state.outbox.is_empty() && sent.is_empty() {
        out.line(format!(
            "no alerts sent yet from {} (rules are [[alerts]] in the config; `opsloop serve` sends them)",
            data_dir.root().display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    if !state.outbox.is_empty() {
        out.line(format!("pending ({}):", state.outbox.len()))?;
        for notification in &state.outbox {
            let error = notification.last_error.as_deref().map(|e| format!("; last error: {e}")).unwrap_or_default();
            out.line(format!(
                "  queued {}  {}  {} attempt(s), next {}{error}",
                time(notification.created_ms),
                describe(notification),
                notification.attempts,
                time(notification.next_attempt_ms)
            ))?;
        }
    }
    if !sent.is_empty() {
        out.line("sent, newest first:")?;
        for record in &sent {
            let outcome = match record.outcome {
                Outcome::Delivered => "delivered",
                Outcome::Failed => "FAILED",
            };
            let error = match (record.outcome, &record.notification.last_error) {
                (Outcome::Failed, Some(error)) => format!("; {error}"),
                _ => String::new(),
            };
            out.line(format!(
                "  {}  {:<9} {}  {} attempt(s){error}",
                time(record.finished_ms),
                outcome,
                describe(&record.notification),
                record.notification.attempts
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
