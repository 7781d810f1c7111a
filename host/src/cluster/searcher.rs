//! A search node: adopts every piece the indexers publish into a local index, which the
//! node's API searches (records, counts, histograms, patterns, facets) exactly as it searches a
//! single node's index, and whose pieces' findings and pattern merges feed the node's board.
//!
//! Twice a second the searcher reads every partition's state from the catalog; each piece it
//! has not adopted is downloaded (segment files first, each written under a temporary name
//! and renamed), then made part of the index in one atomic write of tantivy's `meta.json`
//! whose payload lists the adopted pieces, so a restart neither adopts a piece twice nor
//! misses one. Its findings and pattern merges follow.
//!
//! A merged piece replaces the pieces it was made of in that same write: their segments leave
//! the index as its own come in, and of the findings it carries only those of parts this node
//! had not adopted are added. A piece no partition lists any more (dropped by `[index] retain`)
//! leaves the index once every listed piece is in.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::NodeContext;
use super::indexer::{PieceManifest, manifest_name};
use crate::index::LogIndex;
use crate::pipeline::FindingStore;

/// How often the catalog is read.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// How far each partition of the log is searchable on this node: every message up to this
/// stream sequence is in a piece the node adopted (what `commit=wait_for` waits for).
#[derive(Debug)]
pub struct SearchableThrough(Vec<AtomicU64>);

impl SearchableThrough {
    pub fn new(partitions: u32) -> Self {
        Self((0..partitions).map(|_| AtomicU64::new(0)).collect())
    }

    /// The sequence `partition` is searchable through (0: nothing adopted yet).
    pub fn get(&self, partition: u32) -> u64 {
        self.0.get(partition as usize).map_or(0, |seq| seq.load(Ordering::SeqCst))
    }

    fn raise(&self, partition: u32, seq: u64) {
        if let Some(through) = self.0.get(partition as usize) {
            through.fetch_max(seq, Ordering::SeqCst);
        }
    }
}

/// What a search node serves from.
pub struct SearchParts {
    pub logs: Arc<LogIndex>,
    pub findings: Arc<FindingStore>,
    /// Each adoption counts as a commit, which is what rebuilds the node's feedback board.
    pub metrics: Arc<crate::serve::Metrics>,
    /// Where the reports of the cluster go on this node (taken by [`super::reports::follow_reports`]).
    pub reports: Option<super::reports::ReportSink>,
    /// Where people's feedback actions taken by any node go on this node.
    pub actions: Option<super::actions::ActionSink>,
    /// Raised as pieces are adopted.
    pub searchable: Arc<SearchableThrough>,
}

/// The search index's commit payload: the pieces in the index, each with its segment ids.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Adopted {
    pieces: BTreeMap<String, Vec<String>>,
}

/// How often a piece that cannot be adopted is named again.
const WARN_AGAIN_EVERY: Duration = Duration::from_secs(60);

/// The search role of a node.
pub struct Searcher {
    context: NodeContext,
    parts: SearchParts,
    /// Pieces that could not be adopted, and when that was last said.
    failing: std::collections::HashMap<String, std::time::Instant>,
}

impl Searcher {
    pub fn new(context: NodeContext, parts: SearchParts) -> Self {
        Self { context, parts, failing: Default::default() }
    }

    /// Adopts published pieces until the node stops.
    pub fn run(mut self) {
        let mut adopted: Adopted = match self.parts.logs.commit_payload() {
            Ok(Some(text)) => serde_json::from_str(&text).unwrap_or_default(),
            _ => Adopted::default(),
        };
        loop {
            if let Err(error) = self.adopt_new(&mut adopted) {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "cluster search node could not adopt the pieces published"
                );
            }
            if !self.context.pause(POLL_EVERY) {
                return;
            }
        }
    }

    /// Adopts every published piece not adopted yet; one that fails (the store away, or an
    /// object it lost) is named and tried again next time, and does not hold up the others.
    fn adopt_new(&mut self, adopted: &mut Adopted) -> anyhow::Result<()> {
        let context = self.context.clone();
        let mut listed = BTreeSet::new();
        let mut all_in = true;
        for partition in 0..context.options.settings.partitions {
            let (state, _) = context.runtime.block_on(context.catalog.partition(partition))?;
            self.adopt_listed(partition, &state, adopted, &mut listed, &mut all_in);
            if context.stopping() {
                return Ok(());
            }
        }
        // A piece one not yet adopted replaces must stay until that one comes in.
        let gone: Vec<String> = adopted.pieces.keys().filter(|id| !listed.contains(*id)).cloned().collect();
        if all_in && !gone.is_empty() {
            let mut next = adopted.clone();
            let retire: Vec<String> = gone.iter().filter_map(|id| next.pieces.remove(id)).flatten().collect();
            self.parts.logs.adopt_segments(&[], &retire, &serde_json::to_string(&next)?)?;
            *adopted = next;
            self.parts.metrics.commits.inc();
            tracing::debug!(pieces = gone.len(), "cluster pieces dropped by retention left the index");
        }
        Ok(())
    }

    /// Adopts the pieces `state` lists for `partition` that are not in yet; once all are in,
    /// the partition is searchable through the sequence they cover.
    fn adopt_listed(
        &mut self,
        partition: u32,
        state: &super::catalog::PartitionState,
        adopted: &mut Adopted,
        listed: &mut BTreeSet<String>,
        all_in: &mut bool,
    ) {
        let mut partition_in = true;
        for piece in &state.pieces {
            if self.context.stopping() {
                return;
            }
            listed.insert(piece.id.clone());
            if adopted.pieces.contains_key(&piece.id) {
                continue;
            }
            match self.adopt(&piece.id, adopted) {
                Ok(()) => {
                    self.failing.remove(&piece.id);
                }
                Err(error) => {
                    partition_in = false;
                    let said = self.failing.get(&piece.id);
                    if said.is_none_or(|at| at.elapsed() >= WARN_AGAIN_EVERY) {
                        tracing::warn!(piece = %piece.id, records = piece.records, error = format!("{error:#}"), "cluster piece not adopted; trying again");
                        self.failing.insert(piece.id.clone(), std::time::Instant::now());
                    }
                }
            }
        }
        if partition_in {
            self.parts.searchable.raise(partition, state.covered_seq);
        }
        *all_in &= partition_in;
    }

    fn adopt(&self, piece: &str, adopted: &mut Adopted) -> anyhow::Result<()> {
        let context = &self.context;
        let manifest: PieceManifest =
            serde_json::from_slice(&context.runtime.block_on(context.store.get(&manifest_name(piece)))?)?;
        let dir = self.parts.logs.dir().to_path_buf();
        context.runtime.block_on(async {
            for segment in &manifest.segments {
                for file in &segment.files {
                    let bytes = context.store.get(&format!("pieces/{piece}/{file}")).await?;
                    let part = dir.join(format!("{file}.part"));
                    tokio::fs::write(&part, bytes).await?;
                    tokio::fs::rename(&part, dir.join(file)).await?;
                }
            }
            anyhow::Ok(())
        })?;
        let (mut findings, mut merges) = (manifest.findings.clone(), manifest.pattern_merges.clone());
        let known = |id: &str| adopted.pieces.contains_key(id);
        for part in &manifest.parts {
            part.unknown_evidence(&known, &mut findings, &mut merges);
        }
        let mut next = adopted.clone();
        let replaced: Vec<&str> = manifest.parts.iter().flat_map(|part| part.ids()).filter(|id| known(id)).collect();
        let retire: Vec<String> = replaced.iter().filter_map(|id| next.pieces.remove(*id)).flatten().collect();
        next.pieces.insert(piece.to_string(), manifest.segments.iter().map(|segment| segment.id.clone()).collect());
        self.parts.logs.adopt_segments(&manifest.segments, &retire, &serde_json::to_string(&next)?)?;
        *adopted = next;
        self.parts.findings.append(&findings)?;
        self.parts.logs.record_pattern_merges(&merges)?;
        self.parts.metrics.commits.inc();
        tracing::debug!(piece, records = manifest.records, replaced = replaced.len(), "cluster piece adopted");
        Ok(())
    }
}
