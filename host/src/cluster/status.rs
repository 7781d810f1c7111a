//! `opsloop cluster status`: what a cluster is doing, read from JetStream: the nodes heard
//! from, each partition's holder, what waits in the log for it, and the pieces published.

use serde::Serialize;

use super::catalog::Catalog;
use super::log::{IngestLog, STREAM};
use super::now_ms;

/// A node that has beaten at least once.
#[derive(Debug, Serialize)]
pub struct NodeStatus {
    pub id: String,
    pub roles: Vec<String>,
    /// How long ago its last heartbeat was (ms).
    pub seen_ms_ago: i64,
    /// Not heard from within a lease time: stopped, dead or cut off.
    pub lost: bool,
}

/// One partition of the log.
#[derive(Debug, Serialize)]
pub struct PartitionStatus {
    pub partition: u32,
    /// The indexer holding it now (none: free, or its holder's lease lapsed).
    pub holder: Option<String>,
    /// Every message up to this stream sequence is in a published piece (a position in the
    /// log all partitions share, not a count of this one's records).
    pub covered_seq: u64,
    /// Messages its indexer has not acknowledged yet (none: no indexer ever read it).
    pub waiting: Option<u64>,
    pub pieces: usize,
    /// Of those, pieces made by merging others.
    pub merged_pieces: usize,
    pub records: u64,
    /// Pieces and plugin states dropped from it whose objects wait to be deleted.
    pub retired: usize,
}

/// The whole picture.
#[derive(Debug, Serialize)]
pub struct ClusterStatus {
    /// The store and partition count every node must share (none before a node started).
    pub config: Option<super::catalog::ClusterConfig>,
    pub nodes: Vec<NodeStatus>,
    pub partitions: Vec<PartitionStatus>,
    /// Messages and bytes kept in the ingest log.
    pub log_messages: u64,
    pub log_bytes: u64,
}

/// Reads the status of a cluster of `partitions` partitions.
pub async fn read(log: &IngestLog, catalog: &Catalog, partitions: u32) -> anyhow::Result<ClusterStatus> {
    let now = now_ms();
    let nodes = catalog
        .nodes()
        .await?
        .into_iter()
        .map(|(id, beat)| NodeStatus {
            id,
            roles: beat.roles,
            seen_ms_ago: now - beat.at_ms,
            lost: now - beat.at_ms > catalog.lease_ms(),
        })
        .collect();
    let holders = catalog.holders(partitions).await?;
    let stream = log.jetstream().get_stream(STREAM).await?;
    let mut partition_status = Vec::new();
    for (partition, holder) in (0..partitions).zip(holders) {
        let (state, _) = catalog.partition(partition).await?;
        let waiting = stream
            .consumer_info(format!("index-p{partition}"))
            .await
            .ok()
            .map(|info| info.num_pending + info.num_ack_pending as u64);
        partition_status.push(PartitionStatus {
            partition,
            holder: holder.map(|lease| lease.node),
            covered_seq: state.covered_seq,
            waiting,
            pieces: state.pieces.len(),
            merged_pieces: state.pieces.iter().filter(|piece| piece.generation > 0).count(),
            records: state.pieces.iter().map(|piece| piece.records).sum(),
            retired: state.retired.len(),
        });
    }
    let info = stream.get_info().await?;
    Ok(ClusterStatus {
        config: catalog.config().await?,
        nodes,
        partitions: partition_status,
        log_messages: info.state.messages,
        log_bytes: info.state.bytes,
    })
}
