//! A search node's bug reports: every report any ingest node took, from the JetStream stream
//! `OPSLOOP_REPORTS`, in order, through the node's own writer (the tickets plugin groups them,
//! the report index stores them), so every search node's board has every report.
//!
//! Each search node reads the stream through its own durable consumer (`reports-<node>`) and
//! acknowledges a message once the writer has its reports durable; after a crash the messages
//! not acknowledged come again, and a report stored again replaces itself (reports are stored
//! by id). Reports are few next to log records: every search node groups all of them, which
//! keeps the grouping identical on every node without a partition of their own.

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use futures_util::StreamExt;

use super::NodeContext;
use super::log::{REPORTS_STREAM, ReportsMessage};
use crate::ingest::BugReport;

/// Hands reports to the node's writer and returns once they are durable (or why not).
pub type ReportSink = Box<dyn Fn(Vec<BugReport>) -> Result<(), String> + Send>;

/// Follows the reports stream until the node stops.
pub fn follow(context: &NodeContext, sink: &ReportSink) {
    while !context.stopping() {
        if let Err(error) = follow_once(context, sink) {
            tracing::warn!(error = format!("{error:#}"), "cluster reports not taken; trying again");
            context.pause(Duration::from_secs(1));
        }
    }
}

fn follow_once(context: &NodeContext, sink: &ReportSink) -> anyhow::Result<()> {
    let name = format!("reports-{}", context.options.node_id);
    let consumer = context.runtime.block_on(async {
        let stream = context.log.jetstream().get_stream(REPORTS_STREAM).await?;
        let consumer = stream
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    deliver_policy: DeliverPolicy::All,
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(120),
                    ..Default::default()
                },
            )
            .await?;
        anyhow::Ok(consumer)
    })?;
    while !context.stopping() {
        let messages = context.runtime.block_on(async {
            let mut batch = consumer.fetch().max_messages(100).expires(Duration::from_millis(500)).messages().await?;
            let mut messages = Vec::new();
            while let Some(message) = batch.next().await {
                messages.push(message.map_err(|error| anyhow::anyhow!("{error}"))?);
            }
            anyhow::Ok(messages)
        })?;
        for message in messages {
            match serde_json::from_slice::<ReportsMessage>(&message.payload) {
                Ok(reports) if !reports.reports.is_empty() => loop {
                    match sink(reports.reports.clone()) {
                        Ok(()) => break,
                        Err(error) if !context.stopping() => {
                            tracing::warn!(%error, "cluster reports not stored yet; trying again");
                            context.pause(Duration::from_millis(500));
                        }
                        Err(_) => return Ok(()),
                    }
                },
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "cluster reports message unreadable; skipped"),
            }
            context.runtime.block_on(message.ack()).map_err(|error| anyhow::anyhow!("{error}"))?;
        }
    }
    Ok(())
}
