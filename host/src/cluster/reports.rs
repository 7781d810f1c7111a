//! A search node's bug reports: every report any ingest node took, from the JetStream stream
//! `OPSLOOP_REPORTS`, in order, through the node's own writer (the tickets plugin groups them,
//! the report index stores them), so every search node's board has every report.
//!
//! A message is acknowledged once the writer has its reports durable; after a crash the
//! messages not acknowledged come again, and a report stored again replaces itself (reports
//! are stored by id). Reports are few next to log records: every search node groups all of
//! them, which keeps the grouping identical on every node without a partition of their own.

use super::NodeContext;
use super::follow::{Handled, follow};
use super::log::{REPORTS_STREAM, ReportsMessage};
use crate::ingest::BugReport;

/// Hands reports to the node's writer and returns once they are durable (or why not).
pub type ReportSink = Box<dyn Fn(Vec<BugReport>) -> Result<(), String> + Send>;

/// Follows the reports stream until the node stops.
pub fn follow_reports(context: &NodeContext, sink: &ReportSink) {
    follow(context, REPORTS_STREAM, "reports", |payload| match serde_json::from_slice::<ReportsMessage>(payload) {
        Ok(message) if message.reports.is_empty() => Handled::Done,
        Ok(message) => match sink(message.reports) {
            Ok(()) => Handled::Done,
            Err(error) => Handled::Later(error),
        },
        Err(error) => {
            tracing::error!(%error, "cluster reports message unreadable; skipped");
            Handled::Done
        }
    });
}
