//! What every search node takes whole and in order from a JetStream stream: bug reports
//! (`OPSLOOP_REPORTS`) and people's feedback actions (`OPSLOOP_FEEDBACK`), so every node's
//! board holds every report and every `ack` and `resolve`, whichever node took them.
//!
//! Each node reads a stream through its own durable consumer (`<what>-<node>`) and
//! acknowledges a message once its handler says it is done with it; a message a handler cannot
//! take yet is offered again after a pause (the writer busy, an item this node has not built
//! yet), and one it cannot read at all is named and skipped.

use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use futures_util::StreamExt;

use super::NodeContext;

/// What a handler did with a message.
pub enum Handled {
    /// Taken (or nothing to take): acknowledge it.
    Done,
    /// Not now: offer it again after a pause, at most this many more times.
    Later(String),
}

/// Follows `stream` through the consumer `<consumer>-<node>` until the node stops, handing
/// each message's payload to `handle`.
pub fn follow(context: &NodeContext, stream: &str, consumer: &str, mut handle: impl FnMut(&[u8]) -> Handled) {
    while !context.stopping() {
        if let Err(error) = follow_once(context, stream, consumer, &mut handle) {
            tracing::warn!(stream, error = format!("{error:#}"), "cluster stream not followed; trying again");
            context.pause(Duration::from_secs(1));
        }
    }
}

/// Takes up to `max` messages from `consumer`, waiting at most `wait` for them.
pub fn fetch(
    context: &NodeContext,
    consumer: &PullConsumer,
    max: usize,
    wait: Duration,
) -> anyhow::Result<Vec<jetstream::Message>> {
    context.runtime.block_on(async {
        let mut batch = consumer.fetch().max_messages(max).expires(wait).messages().await?;
        let mut messages = Vec::new();
        while let Some(message) = batch.next().await {
            messages.push(message.map_err(|error| anyhow::anyhow!("{error}"))?);
        }
        anyhow::Ok(messages)
    })
}

/// How many times a message a handler puts off is offered before it is skipped with a warning.
const OFFERS: u32 = 600;

fn follow_once(
    context: &NodeContext,
    stream: &str,
    consumer: &str,
    handle: &mut impl FnMut(&[u8]) -> Handled,
) -> anyhow::Result<()> {
    let name = format!("{consumer}-{}", context.options.node_id);
    let consumer = context.runtime.block_on(async {
        let stream = context.log.jetstream().get_stream(stream).await?;
        let consumer = stream
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    deliver_policy: DeliverPolicy::All,
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(900),
                    ..Default::default()
                },
            )
            .await?;
        anyhow::Ok(consumer)
    })?;
    while !context.stopping() {
        for message in fetch(context, &consumer, 100, Duration::from_millis(500))? {
            let mut offers = 0;
            while let Handled::Later(why) = handle(&message.payload) {
                offers += 1;
                if context.stopping() {
                    return Ok(());
                }
                if offers >= OFFERS {
                    tracing::warn!(stream, %why, "cluster message put off too long; skipped");
                    break;
                }
                context.pause(Duration::from_millis(500));
            }
            context.runtime.block_on(message.ack()).map_err(|error| anyhow::anyhow!("{error}"))?;
        }
    }
    Ok(())
}
