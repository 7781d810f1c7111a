//! The cluster's ingest log: the JetStream stream `OPSLOOP_LOGS`, one subject per partition
//! (`opsloop.logs.<n>`), where ingest nodes put records and index nodes take them from.
//!
//! A request's records are split by partition and packed into messages of at most
//! [`MAX_MESSAGE_BYTES`]. A request with an `Idempotency-Key` gives each message an id made
//! of the key, the request's digest, the partition and the message's place, so a retry —
//! through this node or another — is recognised by JetStream and stored once, while two
//! identical lines of one request are two records. The sender is answered only after
//! JetStream acknowledged every message. The stream refuses new messages when full rather
//! than dropping old ones that may not be indexed yet.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream;
use serde::{Deserialize, Serialize};

use super::ClusterOptions;
use crate::ingest::{BugReport, Record};

/// The stream's name.
pub const STREAM: &str = "OPSLOOP_LOGS";

/// The stream of bug reports, one subject: every search node takes them all, in order.
pub const REPORTS_STREAM: &str = "OPSLOOP_REPORTS";

/// The subject of the reports stream.
pub const REPORTS_SUBJECT: &str = "opsloop.reports";

/// A message's payload stays below NATS's default 1 MiB maximum.
pub const MAX_MESSAGE_BYTES: usize = 768 << 10;

/// The subject of partition `partition`.
pub fn subject(partition: u32) -> String {
    format!("opsloop.logs.{partition}")
}

/// The partition whose subject `subject` is.
pub fn partition_of_subject(subject: &str) -> Option<u32> {
    subject.strip_prefix("opsloop.logs.")?.parse().ok()
}

/// One message of the reports stream: reports of one request.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReportsMessage {
    pub reports: Vec<BugReport>,
}

/// One message of the log: records of one partition from one request.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogMessage {
    /// When the ingest node took them: the time of a record that carries none.
    pub ingest_ms: i64,
    pub records: Vec<Record>,
}

/// What appending a request's records did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Appended {
    pub messages: usize,
    /// Messages JetStream already had under their id (a retried request).
    pub duplicates: usize,
    /// The highest stream sequence the request's messages have, by subject (a repeat's is
    /// the sequence JetStream stored it under first).
    pub through: BTreeMap<String, u64>,
}

/// The ingest log for a thread outside any runtime (the tailer, the syslog receivers): each
/// append waits for JetStream's acknowledgement on the node's own runtime.
#[derive(Clone)]
pub struct BlockingLog {
    pub log: std::sync::Arc<IngestLog>,
    pub runtime: std::sync::Arc<super::NodeRuntime>,
}

impl BlockingLog {
    /// [`IngestLog::append`], stamped now.
    pub fn append(&self, records: Vec<Record>, request_key: Option<&str>) -> Result<Appended, AppendError> {
        self.runtime.block_on(self.log.append(records, super::now_ms(), request_key))
    }
}

/// Why a request was refused before anything reached NATS.
const NOTHING_SENT: &str = "no connection to NATS; nothing was sent";

/// Why records were not (all) appended.
#[derive(Debug, thiserror::Error)]
#[error("the ingest log acknowledged {stored} of {messages} messages of this request: {reason}")]
pub struct AppendError {
    pub stored: usize,
    pub messages: usize,
    pub reason: String,
}

impl AppendError {
    /// Refused before anything was sent: a retry cannot store it twice.
    pub fn nothing_sent(&self) -> bool {
        self.reason == NOTHING_SENT
    }
}

/// The ingest log, as an ingest node writes to it.
pub struct IngestLog {
    jetstream: jetstream::Context,
    partitions: u32,
}

impl IngestLog {
    /// Opens the stream, creating it the first time with the cluster's limits.
    pub async fn open(jetstream: jetstream::Context, options: &ClusterOptions) -> anyhow::Result<Self> {
        let settings = &options.settings;
        let config = jetstream::stream::Config {
            name: STREAM.to_string(),
            subjects: vec!["opsloop.logs.*".to_string()],
            storage: jetstream::stream::StorageType::File,
            retention: jetstream::stream::RetentionPolicy::Limits,
            discard: jetstream::stream::DiscardPolicy::New,
            max_bytes: settings.max_log_bytes,
            max_age: Duration::from_secs(settings.max_log_age_s),
            duplicate_window: Duration::from_secs(settings.duplicate_window_s.max(1)),
            ..Default::default()
        };
        jetstream
            .get_or_create_stream(config.clone())
            .await
            .map_err(|error| anyhow::anyhow!("JetStream stream {STREAM} at {}: {error}", options.nats))?;
        let reports = jetstream::stream::Config {
            name: REPORTS_STREAM.to_string(),
            subjects: vec![REPORTS_SUBJECT.to_string()],
            ..config
        };
        let feedback = jetstream::stream::Config {
            name: super::actions::FEEDBACK_STREAM.to_string(),
            subjects: vec![super::actions::FEEDBACK_SUBJECT.to_string()],
            ..reports.clone()
        };
        jetstream.get_or_create_stream(feedback).await.map_err(|error| {
            anyhow::anyhow!("JetStream stream {} at {}: {error}", super::actions::FEEDBACK_STREAM, options.nats)
        })?;
        jetstream
            .get_or_create_stream(reports)
            .await
            .map_err(|error| anyhow::anyhow!("JetStream stream {REPORTS_STREAM} at {}: {error}", options.nats))?;
        Ok(Self { jetstream, partitions: settings.partitions })
    }

    /// The JetStream context (for the indexer's consumers).
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    /// Appends bug reports to the reports stream, in messages of at most [`MAX_MESSAGE_BYTES`]
    /// (ids from `request_key`, as for records), and returns once JetStream has them all.
    pub async fn append_reports(
        &self,
        reports: Vec<BugReport>,
        request_key: Option<&str>,
    ) -> Result<Appended, AppendError> {
        let mut payloads = Vec::new();
        let mut current: Vec<Vec<u8>> = Vec::new();
        let mut bytes = 0;
        for report in &reports {
            let encoded = serde_json::to_vec(report).expect("a report serializes");
            if !current.is_empty() && bytes + encoded.len() + 16 > MAX_MESSAGE_BYTES {
                payloads.push(std::mem::take(&mut current));
                bytes = 0;
            }
            bytes += encoded.len() + 1;
            current.push(encoded);
        }
        if !current.is_empty() {
            payloads.push(current);
        }
        let messages: Vec<(String, Vec<u8>)> = payloads
            .into_iter()
            .map(|encoded| {
                let mut payload = b"{\"reports\":[".to_vec();
                payload.extend_from_slice(&encoded.join(&b',')[..]);
                payload.extend_from_slice(b"]}");
                (REPORTS_SUBJECT.to_string(), payload)
            })
            .collect();
        self.publish(messages, request_key.map(|key| format!("{key}.reports"))).await
    }

    /// Publishes a person's feedback action for every search node.
    pub async fn append_action(&self, action: &super::actions::FeedbackAction) -> Result<Appended, AppendError> {
        let payload = serde_json::to_vec(action).expect("an action serializes");
        self.publish(vec![(super::actions::FEEDBACK_SUBJECT.to_string(), payload)], None).await
    }

    /// Appends `records` (taken at `ingest_ms`) and returns once JetStream has every message.
    /// `request_key` (an idempotency key and the request's digest) makes a retry a duplicate.
    pub async fn append(
        &self,
        records: Vec<Record>,
        ingest_ms: i64,
        request_key: Option<&str>,
    ) -> Result<Appended, AppendError> {
        let messages = pack(records, self.partitions, ingest_ms)
            .into_iter()
            .map(|(partition, payload)| (subject(partition), payload))
            .collect();
        self.publish(messages, request_key.map(str::to_string)).await
    }

    /// Whether the connection to NATS is up now.
    pub fn connected(&self) -> bool {
        self.jetstream.client().connection_state() == async_nats::connection::State::Connected
    }

    /// Publishes `(subject, payload)` messages, ids `<key>.<subject>.<place>` when keyed, and
    /// waits for JetStream's acknowledgement of each. Refused before anything is sent while
    /// the connection is down: the client would otherwise keep the messages and send them on
    /// reconnection, storing what the sender was told had failed.
    async fn publish(&self, messages: Vec<(String, Vec<u8>)>, key: Option<String>) -> Result<Appended, AppendError> {
        let total = messages.len();
        if !self.connected() {
            return Err(AppendError { stored: 0, messages: total, reason: NOTHING_SENT.into() });
        }
        let mut acks = Vec::with_capacity(total);
        let failed = |stored, reason: String| AppendError { stored, messages: total, reason };
        for (place, (subject, payload)) in messages.into_iter().enumerate() {
            let mut headers = async_nats::HeaderMap::new();
            if let Some(key) = &key {
                headers.insert(async_nats::header::NATS_MESSAGE_ID, format!("{key}.{subject}.{place}").as_str());
            }
            let ack = self
                .jetstream
                .publish_with_headers(subject.clone(), headers, payload.into())
                .await
                .map_err(|error| failed(0, error.to_string()))?;
            acks.push((subject, ack));
        }
        let mut appended = Appended::default();
        for (subject, ack) in acks {
            let ack = ack.await.map_err(|error| failed(appended.messages, error.to_string()))?;
            appended.messages += 1;
            appended.duplicates += usize::from(ack.duplicate);
            let through = appended.through.entry(subject).or_default();
            *through = (*through).max(ack.sequence);
        }
        Ok(appended)
    }
}

/// Splits `records` by partition, keeping their order in each, into payloads of at most
/// [`MAX_MESSAGE_BYTES`] (a larger record goes alone).
fn pack(records: Vec<Record>, partitions: u32, ingest_ms: i64) -> Vec<(u32, Vec<u8>)> {
    let mut by_partition: BTreeMap<u32, Vec<Vec<u8>>> = BTreeMap::new();
    for record in &records {
        let encoded = serde_json::to_vec(record).expect("a record serializes");
        by_partition.entry(super::partition_of(&record.source, partitions)).or_default().push(encoded);
    }
    let head = format!("{{\"ingest_ms\":{ingest_ms},\"records\":[");
    let mut messages = Vec::new();
    for (partition, encoded) in by_partition {
        let mut payload = head.clone().into_bytes();
        let mut count = 0;
        for record in encoded {
            if count > 0 && payload.len() + record.len() + 2 > MAX_MESSAGE_BYTES {
                payload.extend_from_slice(b"]}");
                messages.push((partition, std::mem::replace(&mut payload, head.clone().into_bytes())));
                count = 0;
            }
            if count > 0 {
                payload.push(b',');
            }
            payload.extend_from_slice(&record);
            count += 1;
        }
        payload.extend_from_slice(b"]}");
        messages.push((partition, payload));
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::{LogMessage, MAX_MESSAGE_BYTES, pack};
    use crate::ingest::{Origin, Record};

    #[test]
    fn records_are_packed_by_partition_in_order_and_within_the_message_size() {
        let records: Vec<Record> = (0..3000)
            .map(|n| {
                let source = if n % 3 == 0 { "api" } else { "db" };
                Record::new(source, format!("{n} {}", "x".repeat(500)), Origin { file: "f".into(), line: n })
            })
            .collect();
        let messages = pack(records.clone(), 8, 7);
        assert!(messages.len() > 2, "1.5 MB of records in {} messages", messages.len());
        let mut seen = Vec::new();
        for (partition, payload) in &messages {
            assert!(payload.len() <= MAX_MESSAGE_BYTES);
            let message: LogMessage = serde_json::from_slice(payload).unwrap();
            assert_eq!(message.ingest_ms, 7);
            assert!(message.records.iter().all(|r| super::super::partition_of(&r.source, 8) == *partition));
            seen.extend(message.records);
        }
        for source in ["api", "db"] {
            let sent: Vec<&Record> = records.iter().filter(|r| r.source == source).collect();
            let got: Vec<&Record> = seen.iter().filter(|r| r.source == source).collect();
            assert_eq!(sent, got, "the records of {source} arrive whole and in order");
        }
    }
}
