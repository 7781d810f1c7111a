//! An index node: takes partitions of the ingest log through leases and turns their records
//! into index pieces on the store.
//!
//! Every third of the lease time the indexer renews its leases and balances: it aims at its
//! share of the partitions (all of them divided among the indexers heard from), taking free or
//! expired ones and giving up the surplus after sealing what it holds of them. On taking a
//! partition it reads what was published of it, loads the plugins' state saved with the last
//! piece, and reads the log from the first sequence no piece covers.
//!
//! A partition's records wait until `piece_records` of them or `piece_age_ms` since the oldest;
//! then they go through the plugins (pattern ids as the partition's own state gives them),
//! into a fresh tantivy index whose segments are the piece. The piece's files, its manifest
//! (segments, findings, pattern merges, the plugins' state files) and the state are uploaded,
//! then the piece and the sequence it covers are published in one revision-checked update
//! ([`super::catalog`]), and only then are the messages acknowledged. An indexer refused at
//! publication, or one that lost its lease, forgets the partition's unpublished records: the
//! holder publishes them from the log.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::catalog::{PartitionState, PieceEntry};
use super::log::{LogMessage, STREAM, subject};
use super::{NodeContext, now_ms};
use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::index::{LogIndex, PatternMerge, SegmentFiles};
use crate::pipeline::{PluginSet, StoredFinding};

/// Messages one fetch takes at most.
const FETCH_MESSAGES: usize = 500;

/// How long a fetch waits for messages of an idle partition.
const FETCH_WAIT: Duration = Duration::from_millis(100);

/// Indexing memory of a piece's writer.
const PIECE_WRITER_BYTES: usize = 64 << 20;

/// A piece as its manifest (`pieces/<id>/piece.json`) describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PieceManifest {
    pub id: String,
    pub partition: u32,
    pub node: String,
    pub first_seq: u64,
    pub last_seq: u64,
    pub records: u64,
    pub min_ms: i64,
    pub max_ms: i64,
    pub segments: Vec<SegmentFiles>,
    /// What the plugins found in its records.
    pub findings: Vec<StoredFinding>,
    pub pattern_merges: Vec<PatternMerge>,
    /// Every source the partition has seen up to this piece, and the plugins' state files
    /// uploaded with it (`state/<piece>/<plugin>/<file>`) as (plugin, source).
    pub sources: Vec<String>,
    pub state_files: Vec<(String, String)>,
}

impl PieceManifest {
    /// What is known of a piece whose manifest is gone: nothing to load state from.
    fn without_state(id: &str, partition: u32) -> Self {
        Self {
            id: id.to_string(),
            partition,
            node: String::new(),
            first_seq: 0,
            last_seq: 0,
            records: 0,
            min_ms: 0,
            max_ms: 0,
            segments: Vec::new(),
            findings: Vec::new(),
            pattern_merges: Vec::new(),
            sources: Vec::new(),
            state_files: Vec::new(),
        }
    }
}

/// A partition this indexer holds.
struct Held {
    lease_revision: u64,
    state: PartitionState,
    state_revision: Option<u64>,
    consumer: PullConsumer,
    /// The last stream sequence taken from the consumer (a redelivery at or below it is
    /// already pending).
    taken_through: u64,
    pending: Vec<(u64, LogMessage)>,
    pending_records: usize,
    oldest: Option<Instant>,
    /// The last message taken, acknowledged (with every one before it) after publication.
    last_message: Option<jetstream::Message>,
    sources: BTreeSet<String>,
}

/// The index role of a node.
pub struct Indexer {
    context: NodeContext,
    plugins: PluginSet,
    work_dir: PathBuf,
    held: BTreeMap<u32, Held>,
}

impl Indexer {
    /// Loads the plugins (their state kept under the node's `cluster/` directory, per source).
    pub fn new(context: NodeContext, data_dir: &DataDir, settings: &Settings) -> anyhow::Result<Self> {
        let work_dir = data_dir.root().join("cluster").join("indexer");
        let state_dir = work_dir.join("plugin-state");
        // What a previous run left is not trusted: a partition's state comes from the store.
        let _ = std::fs::remove_dir_all(&work_dir);
        std::fs::create_dir_all(&state_dir)?;
        let (plugins, errors) = PluginSet::load(data_dir, settings)?;
        for error in errors {
            tracing::error!(%error, "plugin not loaded by the indexer");
        }
        let plugins = plugins.with_state_dir(state_dir.clone());
        Ok(Self { context, plugins, work_dir, held: BTreeMap::new() })
    }

    /// Indexes until the node stops.
    pub fn run(mut self) {
        let balance_every = Duration::from_millis((self.context.options.settings.lease_ms / 3).max(100));
        let mut balanced: Option<Instant> = None;
        while !self.context.stopping() {
            if balanced.is_none_or(|at| at.elapsed() >= balance_every) {
                if let Err(error) = self.balance() {
                    tracing::warn!(error = format!("{error:#}"), "cluster indexer could not balance its partitions");
                }
                balanced = Some(Instant::now());
            }
            if self.held.is_empty() {
                self.context.pause(Duration::from_millis(200));
                continue;
            }
            let partitions: Vec<u32> = self.held.keys().copied().collect();
            for partition in partitions {
                if self.context.stopping() {
                    break;
                }
                if let Err(error) = self.take_and_seal(partition) {
                    tracing::warn!(
                        partition,
                        error = format!("{error:#}"),
                        "cluster partition dropped; it is taken again from what was published"
                    );
                    self.drop_partition(partition);
                }
            }
        }
    }

    /// Renews the leases held, then takes or gives up partitions towards this node's share.
    fn balance(&mut self) -> anyhow::Result<()> {
        let context = self.context.clone();
        let node = context.options.node_id.as_str();
        let partitions = context.options.settings.partitions;
        for partition in self.held.keys().copied().collect::<Vec<_>>() {
            let revision = self.held[&partition].lease_revision;
            match context.runtime.block_on(context.catalog.lease(partition, node, Some(revision)))? {
                Some(renewed) => self.held.get_mut(&partition).expect("held").lease_revision = renewed,
                None => {
                    tracing::warn!(partition, "cluster lease lost to another indexer");
                    self.drop_partition(partition);
                }
            }
        }
        let indexers = context
            .runtime
            .block_on(context.catalog.live_nodes())?
            .iter()
            .filter(|(id, beat)| id == node || beat.roles.iter().any(|role| role == "index"))
            .count()
            .max(1) as u32;
        let share = partitions.div_ceil(indexers) as usize;
        while self.held.len() > share {
            let partition = *self.held.keys().next_back().expect("held");
            if self.held[&partition].pending_records > 0 {
                self.seal(partition)?;
            }
            let held = self.held.remove(&partition).expect("held");
            self.forget_sources(&held.sources);
            context.runtime.block_on(context.catalog.release(partition, held.lease_revision))?;
            tracing::info!(partition, share, "cluster partition given up to balance the indexers");
        }
        let start = (opsloop_sdk::stable_hash(node) % u64::from(partitions)) as u32;
        for offset in 0..partitions {
            if self.held.len() >= share || context.stopping() {
                break;
            }
            let partition = (start + offset) % partitions;
            if self.held.contains_key(&partition) {
                continue;
            }
            if let Some(revision) = context.runtime.block_on(context.catalog.lease(partition, node, None))? {
                match self.take_partition(partition, revision) {
                    Ok(held) => {
                        tracing::info!(partition, from_seq = held.state.covered_seq + 1, "cluster partition taken");
                        self.held.insert(partition, held);
                    }
                    Err(error) => {
                        let _ = context.runtime.block_on(context.catalog.release(partition, revision));
                        return Err(error.context(format!("taking partition {partition}")));
                    }
                }
            }
        }
        Ok(())
    }

    /// Starts holding `partition`: its published state, the plugins' state saved with its
    /// last piece, and a consumer from the first sequence no piece covers.
    fn take_partition(&mut self, partition: u32, lease_revision: u64) -> anyhow::Result<Held> {
        let context = self.context.clone();
        let (state, state_revision) = context.runtime.block_on(context.catalog.partition(partition))?;
        let mut sources = BTreeSet::new();
        if let Some(piece) = &state.state_piece {
            let manifest = match context.runtime.block_on(context.store.get(&manifest_name(piece))) {
                Ok(bytes) => serde_json::from_slice::<PieceManifest>(&bytes)?,
                // The store lost the object (it acknowledged and then forgot it): the plugins
                // start this partition from nothing rather than the partition stalling forever.
                Err(error) if error.is_not_found() => {
                    tracing::error!(partition, piece = %piece, %error, "the plugins' state of this partition is gone from the store; they start over");
                    PieceManifest::without_state(piece, partition)
                }
                Err(error) => return Err(error.into()),
            };
            sources.extend(manifest.sources.iter().cloned());
            self.forget_sources(&sources);
            for (plugin, source) in &manifest.state_files {
                let Some(path) = self.plugins.state_file(plugin, source) else { continue };
                let name = state_object(piece, plugin, &path);
                let bytes = context.runtime.block_on(context.store.get(&name))?;
                write_file(&path, &bytes)?;
            }
        }
        let consumer_name = format!("index-p{partition}");
        let stream = context.runtime.block_on(context.log.jetstream().get_stream(STREAM))?;
        let _ = context.runtime.block_on(stream.delete_consumer(&consumer_name));
        let consumer = context.runtime.block_on(stream.create_consumer(pull::Config {
            durable_name: Some(consumer_name),
            filter_subject: subject(partition),
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: state.covered_seq + 1 },
            ack_policy: AckPolicy::All,
            ack_wait: Duration::from_secs(1800),
            max_ack_pending: 1_000_000,
            ..Default::default()
        }))?;
        Ok(Held {
            lease_revision,
            taken_through: state.covered_seq,
            state,
            state_revision,
            consumer,
            pending: Vec::new(),
            pending_records: 0,
            oldest: None,
            last_message: None,
            sources,
        })
    }

    /// Takes what the log has for `partition`, and seals a piece when it is due.
    fn take_and_seal(&mut self, partition: u32) -> anyhow::Result<()> {
        let context = self.context.clone();
        let held = self.held.get_mut(&partition).expect("held");
        let messages = context.runtime.block_on(async {
            let mut batch = held.consumer.fetch().max_messages(FETCH_MESSAGES).expires(FETCH_WAIT).messages().await?;
            let mut messages = Vec::new();
            while let Some(message) = batch.next().await {
                messages.push(message.map_err(|error| anyhow::anyhow!("{error}"))?);
            }
            anyhow::Ok(messages)
        })?;
        for message in messages {
            let seq = message.info().map_err(|error| anyhow::anyhow!("{error}"))?.stream_sequence;
            if seq <= held.taken_through {
                continue;
            }
            held.taken_through = seq;
            match serde_json::from_slice::<LogMessage>(&message.payload) {
                Ok(log_message) => {
                    held.pending_records += log_message.records.len();
                    held.pending.push((seq, log_message));
                }
                // Only opsloop writes the stream; a message it cannot read is named and skipped
                // (it stays in the log), not allowed to stop the partition.
                Err(error) => tracing::error!(partition, seq, %error, "cluster log message unreadable; skipped"),
            }
            held.oldest.get_or_insert_with(Instant::now);
            held.last_message = Some(message);
        }
        let settings = &context.options.settings;
        let due = held.pending_records >= settings.piece_records
            || held.oldest.is_some_and(|at| at.elapsed() >= Duration::from_millis(settings.piece_age_ms));
        if due {
            self.seal(partition)?;
        }
        Ok(())
    }

    /// Turns `partition`'s pending records into a piece and publishes it (see the module doc).
    fn seal(&mut self, partition: u32) -> anyhow::Result<()> {
        let context = self.context.clone();
        let held = self.held.get_mut(&partition).expect("held");
        let Some(last_message) = held.last_message.take() else { return Ok(()) };
        let pending = std::mem::take(&mut held.pending);
        held.pending_records = 0;
        held.oldest = None;
        let first_seq = held.state.covered_seq + 1;
        let last_seq = held.taken_through;
        let mut records = Vec::new();
        let mut ingest_ms = Vec::new();
        for (_, message) in pending {
            ingest_ms.extend(std::iter::repeat_n(message.ingest_ms, message.records.len()));
            records.extend(message.records);
        }
        held.sources.extend(records.iter().map(|record| record.source.clone()));
        let sources: Vec<String> = held.sources.iter().cloned().collect();
        let started = Instant::now();
        let analysis = self.plugins.analyze(&mut records);
        let analyzed = started.elapsed();
        for (plugin, error) in &analysis.failures {
            tracing::warn!(%plugin, partition, %error, "plugin failed on a cluster piece");
        }
        let id = format!("p{partition}-{last_seq:012}-{}-{}", context.options.node_id, now_ms());
        let piece_dir = self.work_dir.join("pieces").join(&id);
        let (segments, min_ms, max_ms) = write_piece(&piece_dir, &records, &ingest_ms)?;
        let written = started.elapsed();
        self.plugins.save_state()?;
        let mut state_files = Vec::new();
        for source in &sources {
            for plugin in self.plugins.plugins() {
                let Some(path) = self.plugins.state_file(plugin.name(), source) else { continue };
                if path.is_file() {
                    state_files.push((plugin.name().to_string(), source.clone(), path));
                }
            }
        }
        let manifest = PieceManifest {
            id: id.clone(),
            partition,
            node: context.options.node_id.clone(),
            first_seq,
            last_seq,
            records: records.len() as u64,
            min_ms,
            max_ms,
            segments: segments.clone(),
            findings: analysis.findings,
            pattern_merges: analysis.pattern_merges,
            sources,
            state_files: state_files.iter().map(|(plugin, source, _)| (plugin.clone(), source.clone())).collect(),
        };
        let held = self.held.get_mut(&partition).expect("held");
        let mut next = held.state.clone();
        next.covered_seq = last_seq;
        next.state_piece = Some(id.clone());
        next.pieces.push(PieceEntry { id: id.clone(), first_seq, last_seq, records: manifest.records, min_ms, max_ms });
        let published = context.runtime.block_on(async {
            for segment in &segments {
                for file in &segment.files {
                    let bytes = tokio::fs::read(piece_dir.join(file)).await?;
                    context.store.put(&format!("pieces/{id}/{file}"), bytes).await?;
                }
            }
            for (plugin, _, path) in &state_files {
                let bytes = tokio::fs::read(path).await?;
                context.store.put(&state_object(&id, plugin, path), bytes).await?;
            }
            context.store.put(&manifest_name(&id), serde_json::to_vec(&manifest)?).await?;
            let revision = context.catalog.publish(partition, &next, held.state_revision).await?;
            if revision.is_some() {
                last_message.ack().await.map_err(|error| anyhow::anyhow!("acknowledging the log: {error}"))?;
            }
            anyhow::Ok(revision)
        });
        let _ = std::fs::remove_dir_all(&piece_dir);
        match published? {
            Some(revision) => {
                held.state = next;
                held.state_revision = Some(revision);
                tracing::debug!(
                    partition,
                    piece = %id,
                    records = manifest.records,
                    analyzed_ms = analyzed.as_millis() as u64,
                    written_ms = written.as_millis() as u64,
                    published_ms = started.elapsed().as_millis() as u64,
                    "cluster piece published"
                );
                Ok(())
            }
            None => anyhow::bail!("another indexer published partition {partition} first"),
        }
    }

    /// Forgets what this indexer had of `partition` (unpublished records, plugin instances).
    fn drop_partition(&mut self, partition: u32) {
        if let Some(held) = self.held.remove(&partition) {
            self.forget_sources(&held.sources);
        }
    }

    fn forget_sources(&mut self, sources: &BTreeSet<String>) {
        self.plugins.forget_partitions(|source| sources.contains(source));
        for source in sources {
            for plugin in self.plugins.plugins() {
                if let Some(path) = self.plugins.state_file(plugin.name(), source) {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }
}

/// The store name of a piece's manifest.
pub fn manifest_name(piece: &str) -> String {
    format!("pieces/{piece}/piece.json")
}

/// The store name of a plugin state file uploaded with `piece`.
fn state_object(piece: &str, plugin: &str, path: &Path) -> String {
    let file = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    format!("state/{piece}/{plugin}/{file}")
}

/// Indexes `records` into a fresh index in `dir`; its segments and the records' time span.
fn write_piece(
    dir: &Path,
    records: &[crate::ingest::Record],
    ingest_ms: &[i64],
) -> anyhow::Result<(Vec<SegmentFiles>, i64, i64)> {
    let _ = std::fs::remove_dir_all(dir);
    let index = LogIndex::open(dir)?;
    let mut writer = index.writer(PIECE_WRITER_BYTES)?;
    let (mut min_ms, mut max_ms) = (i64::MAX, i64::MIN);
    for (record, &ingest_ms) in records.iter().zip(ingest_ms) {
        writer.add(record, ingest_ms)?;
        let at = record.timestamp_ms.unwrap_or(ingest_ms);
        min_ms = min_ms.min(at);
        max_ms = max_ms.max(at);
    }
    writer.commit()?;
    writer.finish()?;
    Ok((index.segments()?, min_ms, max_ms))
}

fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes)
}
