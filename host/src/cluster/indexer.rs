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
//!
//! Every 2 s the holder also maintains each partition: it deletes what was retired a grace ago,
//! drops pieces past `[index] retain`, sweeps objects no state lists, and starts a merge of
//! `merge_factor` pieces of one generation on a thread of its own (one at a time per node), whose
//! result is published in place of its parts when it finishes, if the parts are still listed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::catalog::{PartitionState, PieceEntry, Retired};
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

/// How often a held partition's pieces are looked at for merging, expiry and deletion.
const MAINTAIN_EVERY: Duration = Duration::from_secs(2);

/// How many lease times a retired object stays in the store: a search node or an indexer that
/// read the state before it was retired has that long to finish reading it.
const RETIRED_GRACE_LEASES: i64 = 4;

/// How many lease times apart a partition's holder looks for objects no state lists (and
/// once when it takes the partition).
const SWEEP_EVERY_LEASES: u32 = 20;

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
    /// A merged piece: the pieces it replaces, each with what it was found to hold (its own
    /// findings are then empty). A search node that adopted some of them takes only the others'.
    #[serde(default)]
    pub parts: Vec<PiecePart>,
}

/// One of the pieces a merged piece replaces, with its findings, or its own parts when it was
/// merged itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PiecePart {
    pub id: String,
    pub findings: Vec<StoredFinding>,
    pub pattern_merges: Vec<PatternMerge>,
    #[serde(default)]
    pub parts: Vec<PiecePart>,
}

impl PiecePart {
    /// The ids of this part and of every part inside it.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids = vec![self.id.as_str()];
        for part in &self.parts {
            ids.extend(part.ids());
        }
        ids
    }

    /// The findings and pattern merges of the parts not inside a piece `known` names.
    pub fn unknown_evidence(
        &self,
        known: &dyn Fn(&str) -> bool,
        findings: &mut Vec<StoredFinding>,
        merges: &mut Vec<PatternMerge>,
    ) {
        if known(&self.id) {
            return;
        }
        findings.extend(self.findings.iter().cloned());
        merges.extend(self.pattern_merges.iter().cloned());
        for part in &self.parts {
            part.unknown_evidence(known, findings, merges);
        }
    }
}

impl PieceManifest {
    /// The piece as one part of a merged piece.
    fn as_part(&self) -> PiecePart {
        PiecePart {
            id: self.id.clone(),
            findings: self.findings.clone(),
            pattern_merges: self.pattern_merges.clone(),
            parts: self.parts.clone(),
        }
    }

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
            parts: Vec::new(),
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
    /// The consumer's count of deliveries so far: every one must reach this indexer.
    delivered: u64,
    pending: Vec<(u64, LogMessage)>,
    pending_records: usize,
    oldest: Option<Instant>,
    /// The last message taken, acknowledged (with every one before it) after publication.
    last_message: Option<jetstream::Message>,
    sources: BTreeSet<String>,
    /// When its pieces were last looked at for merging, expiry and deletion.
    maintained: Option<Instant>,
    /// When the store was last swept for objects of this partition that no state lists.
    swept: Option<Instant>,
}

/// The index role of a node.
pub struct Indexer {
    context: NodeContext,
    plugins: PluginSet,
    work_dir: PathBuf,
    held: BTreeMap<u32, Held>,
    /// `[index] retain`: a piece whose records are all older is dropped.
    retain_ms: Option<i64>,
    /// The merge running in the background, one at a time.
    merging: Option<Merging>,
}

/// A merge running on its own thread.
struct Merging {
    partition: u32,
    parts: Vec<PieceEntry>,
    job: std::thread::JoinHandle<anyhow::Result<PieceEntry>>,
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
        let retain_ms =
            settings.index.retain.as_deref().map(crate::ingest::parse_span).transpose().map_err(anyhow::Error::msg)?;
        Ok(Self { context, plugins, work_dir, held: BTreeMap::new(), retain_ms, merging: None })
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
            self.finish_merge();
            if self.held.is_empty() {
                self.context.pause(Duration::from_millis(200));
                continue;
            }
            let partitions: Vec<u32> = self.held.keys().copied().collect();
            for partition in partitions {
                if self.context.stopping() {
                    break;
                }
                if let Err(error) = self.take_and_seal(partition).and_then(|()| self.maintain(partition)) {
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
            delivered: 0,
            state,
            state_revision,
            consumer,
            pending: Vec::new(),
            pending_records: 0,
            oldest: None,
            last_message: None,
            sources,
            maintained: None,
            swept: None,
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
            let info = message.info().map_err(|error| anyhow::anyhow!("{error}"))?;
            // A first delivery this indexer did not see went to another reader of the consumer
            // (two nodes with one --node-id, or a consumer made again under it): publishing now
            // would cover messages no piece holds. (A redelivery keeps its first number.)
            if info.delivered == 1 {
                if info.consumer_sequence != held.delivered + 1 {
                    anyhow::bail!(
                        "the log consumer of partition {partition} delivered message {} after {}: another process reads it",
                        info.consumer_sequence,
                        held.delivered
                    );
                }
                held.delivered = info.consumer_sequence;
            }
            let seq = info.stream_sequence;
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
            parts: Vec::new(),
        };
        let held = self.held.get_mut(&partition).expect("held");
        let mut next = held.state.clone();
        next.covered_seq = last_seq;
        // The plugins' state saved with the piece before is superseded by this one's.
        if let Some(superseded) = next.state_piece.replace(id.clone()) {
            next.retired.push(Retired { prefix: format!("state/{superseded}/"), at_ms: now_ms() });
        }
        next.pieces.push(PieceEntry {
            id: id.clone(),
            first_seq,
            last_seq,
            records: manifest.records,
            min_ms,
            max_ms,
            generation: 0,
        });
        let published = context.runtime.block_on(async {
            upload_segments(&context, &piece_dir, &id, &segments).await?;
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

    /// Deletes what was retired a grace ago, drops pieces older than `[index] retain`, and
    /// merges the oldest `merge_factor` pieces of one generation; the new state is published
    /// in one revision-checked update, as a sealed piece is.
    fn maintain(&mut self, partition: u32) -> anyhow::Result<()> {
        let context = self.context.clone();
        let settings = &context.options.settings;
        let held = self.held.get_mut(&partition).expect("held");
        if held.maintained.is_some_and(|at| at.elapsed() < MAINTAIN_EVERY) {
            return Ok(());
        }
        held.maintained = Some(Instant::now());
        let sweep_every = Duration::from_millis(settings.lease_ms) * SWEEP_EVERY_LEASES;
        // A merge of this partition in progress uploads objects no state lists yet.
        let merging_here = self.merging.as_ref().is_some_and(|merging| merging.partition == partition);
        let sweep = !merging_here && held.swept.is_none_or(|at| at.elapsed() >= sweep_every);
        if sweep {
            held.swept = Some(Instant::now());
        }
        let now = now_ms();
        let mut next = held.state.clone();
        let orphans = if sweep { orphans(&context, partition, &next)? } else { Vec::new() };
        if !orphans.is_empty() {
            next.swept_ms = Some(now);
        }
        let grace = RETIRED_GRACE_LEASES * settings.lease_ms as i64;
        let (due, waiting): (Vec<Retired>, Vec<Retired>) =
            next.retired.drain(..).partition(|retired| now - retired.at_ms >= grace);
        for retired in &due {
            context.runtime.block_on(context.store.delete_prefix(&retired.prefix))?;
        }
        next.retired = waiting;
        if let Some(retain_ms) = self.retain_ms {
            let cutoff = now - retain_ms;
            // The piece holding the plugins' state stays until a newer one supersedes it.
            let (expired, kept): (Vec<PieceEntry>, Vec<PieceEntry>) = next
                .pieces
                .drain(..)
                .partition(|piece| piece.max_ms < cutoff && next.state_piece.as_deref() != Some(piece.id.as_str()));
            next.pieces = kept;
            for piece in expired {
                tracing::info!(partition, piece = %piece.id, records = piece.records, "cluster piece expired ([index] retain)");
                next.retired.push(retire_piece(&piece.id, now));
            }
        }
        if self.merging.is_none()
            && let Some(parts) = merge_candidates(&next, settings.merge_factor, settings.merged_records)
        {
            let (job_context, work_dir, job_parts) = (context.clone(), self.work_dir.clone(), parts.clone());
            let job = std::thread::Builder::new()
                .name("opsloop-merge".into())
                .spawn(move || merge_pieces(&job_context, &work_dir, partition, &job_parts))?;
            self.merging = Some(Merging { partition, parts, job });
        }
        self.publish_maintained(partition, next)?;
        // Published: whoever wrote these can no longer publish them.
        for prefix in &orphans {
            context.runtime.block_on(context.store.delete_prefix(prefix))?;
            tracing::info!(partition, objects = %prefix, "objects no state lists deleted from the store");
        }
        Ok(())
    }

    /// Publishes `next` for `partition` unless it is what is published already.
    fn publish_maintained(&mut self, partition: u32, next: PartitionState) -> anyhow::Result<()> {
        let context = self.context.clone();
        let held = self.held.get_mut(&partition).expect("held");
        if next == held.state {
            return Ok(());
        }
        match context.runtime.block_on(context.catalog.publish(partition, &next, held.state_revision))? {
            Some(revision) => {
                held.state = next;
                held.state_revision = Some(revision);
                Ok(())
            }
            None => anyhow::bail!("another indexer published partition {partition} first"),
        }
    }

    /// Publishes the merge that finished, if one did, in place of its parts: when the partition
    /// is still held here and lists every part (else its upload is left to the sweep).
    fn finish_merge(&mut self) {
        if !self.merging.as_ref().is_some_and(|merging| merging.job.is_finished()) {
            return;
        }
        let Merging { partition, parts, job } = self.merging.take().expect("a merge");
        let merged = match job.join() {
            Ok(Ok(merged)) => merged,
            Ok(Err(error)) => {
                tracing::warn!(partition, error = format!("{error:#}"), "cluster pieces not merged; tried again later");
                return;
            }
            Err(_) => {
                tracing::error!(partition, "the cluster merge thread panicked");
                return;
            }
        };
        let Some(held) = self.held.get(&partition) else { return };
        let listed = |id: &str| held.state.pieces.iter().any(|piece| piece.id == id);
        if !parts.iter().all(|part| listed(&part.id)) {
            return;
        }
        let mut next = held.state.clone();
        let at = next.pieces.iter().position(|piece| piece.id == parts[0].id).expect("a part is listed");
        next.pieces.retain(|piece| !parts.iter().any(|part| part.id == piece.id));
        next.pieces.insert(at.min(next.pieces.len()), merged);
        let now = now_ms();
        next.retired.extend(parts.iter().map(|part| retire_piece(&part.id, now)));
        if let Err(error) = self.publish_maintained(partition, next) {
            tracing::warn!(
                partition,
                error = format!("{error:#}"),
                "cluster partition dropped; it is taken again from what was published"
            );
            self.drop_partition(partition);
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

/// Downloads `parts`, merges their segments into one, and uploads the result as a new piece
/// whose manifest lists the parts with their findings; the entry to publish. Runs on a thread
/// of its own, while the indexer goes on indexing and renewing its leases.
fn merge_pieces(
    context: &NodeContext,
    work_dir: &Path,
    partition: u32,
    parts: &[PieceEntry],
) -> anyhow::Result<PieceEntry> {
    let started = Instant::now();
    let generation = parts.iter().map(|part| part.generation).max().unwrap_or(0) + 1;
    let first_seq = parts.iter().map(|part| part.first_seq).min().unwrap_or(0);
    let last_seq = parts.iter().map(|part| part.last_seq).max().unwrap_or(0);
    let id = format!("p{partition}-{last_seq:012}-g{generation}-{}-{}", context.options.node_id, now_ms());
    let dir = work_dir.join("merges").join(&id);
    let _ = std::fs::remove_dir_all(&dir);
    let index = LogIndex::open(&dir)?;
    let manifests = context.runtime.block_on(async {
        let mut manifests = Vec::new();
        for part in parts {
            let manifest: PieceManifest = serde_json::from_slice(&context.store.get(&manifest_name(&part.id)).await?)?;
            for segment in &manifest.segments {
                for file in &segment.files {
                    let bytes = context.store.get(&format!("pieces/{}/{file}", part.id)).await?;
                    tokio::fs::write(dir.join(file), bytes).await?;
                }
            }
            manifests.push(manifest);
        }
        anyhow::Ok(manifests)
    })?;
    let segments: Vec<SegmentFiles> = manifests.iter().flat_map(|manifest| manifest.segments.clone()).collect();
    index.adopt_segments(&segments, &[], "")?;
    let merged = index.merge_segments()?;
    drop(index);
    let manifest = PieceManifest {
        id: id.clone(),
        partition,
        node: context.options.node_id.clone(),
        first_seq,
        last_seq,
        records: parts.iter().map(|part| part.records).sum(),
        min_ms: parts.iter().map(|part| part.min_ms).min().unwrap_or(0),
        max_ms: parts.iter().map(|part| part.max_ms).max().unwrap_or(0),
        segments: merged.clone(),
        findings: Vec::new(),
        pattern_merges: Vec::new(),
        sources: Vec::new(),
        state_files: Vec::new(),
        parts: manifests.iter().map(PieceManifest::as_part).collect(),
    };
    let uploaded = context.runtime.block_on(async {
        upload_segments(context, &dir, &id, &merged).await?;
        context.store.put(&manifest_name(&id), serde_json::to_vec(&manifest)?).await?;
        anyhow::Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    uploaded?;
    tracing::debug!(partition, piece = %id, parts = parts.len(), records = manifest.records, merged_ms = started.elapsed().as_millis() as u64, "cluster pieces merged");
    Ok(PieceEntry {
        id,
        first_seq,
        last_seq,
        records: manifest.records,
        min_ms: manifest.min_ms,
        max_ms: manifest.max_ms,
        generation,
    })
}

/// The folders of `partition`'s pieces and plugin states that `state` does not know (neither
/// listed, holding the plugins' state, nor retired), untouched for a lease time: what an
/// indexer that died or was refused mid-publication left.
fn orphans(context: &NodeContext, partition: u32, state: &PartitionState) -> anyhow::Result<Vec<String>> {
    let known: BTreeSet<&str> = state
        .pieces
        .iter()
        .map(|piece| piece.id.as_str())
        .chain(state.state_piece.as_deref())
        .chain(state.retired.iter().filter_map(|retired| retired.prefix.split('/').nth(1)))
        .collect();
    let own = format!("p{partition}-");
    let settled_before = now_ms() - context.options.settings.lease_ms as i64;
    let mut newest: BTreeMap<String, i64> = BTreeMap::new();
    for folder in ["pieces", "state"] {
        for (name, written_ms) in context.runtime.block_on(context.store.list(&format!("{folder}/")))? {
            let Some(id) = name.split('/').nth(1) else { continue };
            if id.starts_with(&own) && !known.contains(id) {
                let at = newest.entry(format!("{folder}/{id}/")).or_insert(written_ms);
                *at = (*at).max(written_ms);
            }
        }
    }
    Ok(newest.into_iter().filter(|(_, at)| *at < settled_before).map(|(prefix, _)| prefix).collect())
}

/// The pieces to merge next: the oldest of the lowest generation that has `factor` pieces or
/// more below `merged_records` (the newest piece, which holds the plugins' state, left out), as
/// many as `factor` whose records add up to at most `merged_records`; none if fewer than two.
fn merge_candidates(state: &PartitionState, factor: usize, merged_records: u64) -> Option<Vec<PieceEntry>> {
    if factor < 2 {
        return None;
    }
    let mut generations: BTreeMap<u32, Vec<&PieceEntry>> = BTreeMap::new();
    for piece in &state.pieces {
        if piece.records < merged_records && state.state_piece.as_deref() != Some(piece.id.as_str()) {
            generations.entry(piece.generation).or_default().push(piece);
        }
    }
    let mut pieces = generations.into_values().find(|pieces| pieces.len() >= factor)?;
    pieces.sort_by_key(|piece| piece.first_seq);
    let mut chosen: Vec<PieceEntry> = Vec::new();
    let mut records = 0;
    for piece in pieces.into_iter().take(factor) {
        if records + piece.records > merged_records && chosen.len() >= 2 {
            break;
        }
        records += piece.records;
        chosen.push(piece.clone());
    }
    (chosen.len() >= 2).then_some(chosen)
}

/// What a piece dropped from the state leaves to delete: its files. (Its plugins' state was
/// retired when a newer piece superseded it: the newest piece is never merged or dropped.)
fn retire_piece(piece: &str, at_ms: i64) -> Retired {
    Retired { prefix: format!("pieces/{piece}/"), at_ms }
}

/// Uploads the files of `segments`, from `dir`, as piece `id`'s.
async fn upload_segments(context: &NodeContext, dir: &Path, id: &str, segments: &[SegmentFiles]) -> anyhow::Result<()> {
    for segment in segments {
        for file in &segment.files {
            let bytes = tokio::fs::read(dir.join(file)).await?;
            context.store.put(&format!("pieces/{id}/{file}"), bytes).await?;
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::{PartitionState, PieceEntry, PiecePart, merge_candidates};
    use crate::index::PatternMerge;

    fn piece(id: &str, first_seq: u64, records: u64, generation: u32) -> PieceEntry {
        PieceEntry { id: id.into(), first_seq, last_seq: first_seq, records, min_ms: 0, max_ms: 0, generation }
    }

    #[test]
    fn the_oldest_pieces_of_the_lowest_full_generation_merge_and_the_newest_never() {
        let state = PartitionState {
            covered_seq: 9,
            state_piece: Some("e".into()),
            swept_ms: None,
            pieces: vec![
                piece("m", 1, 300, 1),
                piece("a", 4, 10, 0),
                piece("b", 5, 10, 0),
                piece("c", 6, 10, 0),
                piece("d", 7, 10, 0),
                piece("e", 8, 10, 0),
            ],
            retired: Vec::new(),
        };
        let ids = |chosen: Option<Vec<PieceEntry>>| chosen.map(|c| c.into_iter().map(|p| p.id).collect::<Vec<_>>());
        assert_eq!(ids(merge_candidates(&state, 3, 1_000)), Some(vec!["a".into(), "b".into(), "c".into()]));
        // `e` holds the plugins' state: four of generation 0 are not five.
        assert_eq!(ids(merge_candidates(&state, 5, 1_000)), None);
        // No merge makes more than `merged_records`, and a piece that big merges no further.
        assert_eq!(ids(merge_candidates(&state, 3, 25)), Some(vec!["a".into(), "b".into()]));
        assert_eq!(ids(merge_candidates(&state, 1, 1_000)), None, "a factor under 2 never merges");
    }

    #[test]
    fn a_node_takes_the_findings_of_only_the_parts_it_had_not_adopted() {
        // Each leaf's evidence is a pattern merge named after it (findings travel the same way).
        let merge = |piece: &str| PatternMerge {
            source: "s".into(),
            from: piece.into(),
            into: "x".into(),
            template: "t".into(),
        };
        let leaf = |id: &str| PiecePart {
            id: id.into(),
            findings: Vec::new(),
            pattern_merges: vec![merge(id)],
            parts: Vec::new(),
        };
        // m2 = (m1 = a + b) + c.
        let m1 = PiecePart {
            id: "m1".into(),
            findings: Vec::new(),
            pattern_merges: Vec::new(),
            parts: vec![leaf("a"), leaf("b")],
        };
        let parts = [m1, leaf("c")];
        let evidence = |known: &[&str]| {
            let (mut findings, mut merges) = (Vec::new(), Vec::new());
            for part in &parts {
                part.unknown_evidence(&|id| known.contains(&id), &mut findings, &mut merges);
            }
            assert!(findings.is_empty());
            merges.into_iter().map(|m: PatternMerge| m.from).collect::<Vec<_>>()
        };
        assert_eq!(evidence(&[]), ["a", "b", "c"]);
        assert_eq!(evidence(&["m1"]), ["c"]);
        assert_eq!(evidence(&["a", "c"]), ["b"]);
        assert_eq!(parts.iter().flat_map(|p| p.ids()).collect::<Vec<_>>(), ["m1", "a", "b", "c"]);
    }
}
