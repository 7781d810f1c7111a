//! The cluster's metadata in the JetStream key-value bucket `opsloop-cluster`:
//!
//! - `node.<id>`: a heartbeat every third of the lease time, with the node's roles; the
//!   indexers alive are those heard from within a lease time.
//! - `lease.p<n>`: which indexer holds partition `n`, renewed with the revision it was read
//!   at; one not renewed within `lease_ms` is free to take.
//! - `part.p<n>`: the partition's [`PartitionState`]: the pieces published and the stream
//!   sequence they cover. It changes only by a revision-checked update, so of two indexers
//!   that both think they hold a partition (one paused past its lease), one publishes and the
//!   other is refused and starts over from what was published: every record exactly once.
//!   Merging pieces and dropping expired ones change it the same way, so a search node sees
//!   either the old pieces or the one that replaced them, never both or neither.

use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::kv;
use serde::{Deserialize, Serialize};

use super::{ClusterOptions, NodeContext, now_ms};

/// The bucket's name.
pub const BUCKET: &str = "opsloop-cluster";

/// One published piece, as the partition's state lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PieceEntry {
    pub id: String,
    /// Stream sequences of the first and last message it holds.
    pub first_seq: u64,
    pub last_seq: u64,
    pub records: u64,
    /// Its records' time span (ms), for pruning searches.
    pub min_ms: i64,
    pub max_ms: i64,
    /// 0 for a piece sealed from the log; one more than its parts' for a merged piece.
    #[serde(default)]
    pub generation: u32,
}

/// Objects of the store no published state needs any more (a merged or expired piece, the
/// plugins' state a newer piece superseded), deleted once no node can still be reading them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retired {
    /// Every object whose name starts with this (`pieces/<id>/`, `state/<id>/`).
    pub prefix: String,
    pub at_ms: i64,
}

/// What has been published of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    /// Every message up to this stream sequence is in a published piece.
    pub covered_seq: u64,
    /// The piece whose upload holds the plugins' state after it (none before the first).
    pub state_piece: Option<String>,
    pub pieces: Vec<PieceEntry>,
    /// What waits to be deleted from the store.
    #[serde(default)]
    pub retired: Vec<Retired>,
    /// When the holder last deleted objects no state lists (left by an indexer that died or
    /// was refused mid-publication). Writing it first refuses the publication of any indexer
    /// that read the state before, so nothing deleted can be published after.
    #[serde(default)]
    pub swept_ms: Option<i64>,
}

/// A lease as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub node: String,
    pub at_ms: i64,
}

/// What every node of a cluster must agree on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterConfig {
    pub store: String,
    pub partitions: u32,
}

/// A node's heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub at_ms: i64,
    pub roles: Vec<String>,
    /// The beating node's data directory mark ([`super::ClusterOptions::instance`]).
    #[serde(default)]
    pub instance: String,
}

/// A value read with the revision to update it from (`None`: the key is not there).
pub type Versioned<T> = (T, Option<u64>);

/// The bucket, as the nodes read and write it.
pub struct Catalog {
    kv: kv::Store,
    lease_ms: i64,
}

impl Catalog {
    /// Opens the bucket, creating it the first time.
    pub async fn open(jetstream: jetstream::Context, options: &ClusterOptions) -> anyhow::Result<Self> {
        // The bucket's stream is made here as `create_key_value` would make it: that call first
        // asks for the account's information, whose answer from the NATS 2.9 that Debian ships
        // the client does not read.
        let stream = jetstream::stream::Config {
            name: format!("KV_{BUCKET}"),
            subjects: vec![format!("$KV.{BUCKET}.>")],
            max_messages_per_subject: 1,
            storage: jetstream::stream::StorageType::File,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: jetstream::stream::DiscardPolicy::New,
            num_replicas: 1,
            ..Default::default()
        };
        let bucket_error = |error: &dyn std::fmt::Display| {
            anyhow::anyhow!("JetStream key-value bucket {BUCKET} at {}: {error}", options.nats)
        };
        jetstream.get_or_create_stream(stream).await.map_err(|error| bucket_error(&error))?;
        let kv = jetstream.get_key_value(BUCKET).await.map_err(|error| bucket_error(&error))?;
        let catalog = Self { kv, lease_ms: options.settings.lease_ms as i64 };
        if !options.store.is_empty() {
            catalog.agree(options).await?;
        }
        Ok(catalog)
    }

    /// The first node records where the cluster keeps its pieces and how many partitions its log
    /// has; a node started with another store or partition count is refused, rather than
    /// joining and publishing pieces the others cannot find.
    async fn agree(&self, options: &ClusterOptions) -> anyhow::Result<()> {
        let mine = ClusterConfig { store: options.store.clone(), partitions: options.settings.partitions };
        if self.write_if("config", &mine, None).await?.is_some() {
            return Ok(());
        }
        let (theirs, _): Versioned<Option<ClusterConfig>> = self.read("config").await?;
        match theirs {
            Some(theirs) if theirs != mine => anyhow::bail!(
                "the cluster on {} keeps its pieces in {} with {} partitions; this node was started with --store {} and {} partitions",
                options.nats,
                theirs.store,
                theirs.partitions,
                mine.store,
                mine.partitions
            ),
            _ => Ok(()),
        }
    }

    async fn read<T: for<'de> Deserialize<'de> + Default>(&self, key: &str) -> anyhow::Result<Versioned<T>> {
        match self.kv.entry(key).await? {
            Some(entry) if entry.operation == kv::Operation::Put => {
                let value = serde_json::from_slice(&entry.value)
                    .map_err(|error| anyhow::anyhow!("{BUCKET} {key}: unreadable value: {error}"))?;
                Ok((value, Some(entry.revision)))
            }
            Some(entry) => Ok((T::default(), Some(entry.revision))),
            None => Ok((T::default(), None)),
        }
    }

    /// Writes `value` under `key` if it is still at `revision` (`None`: if it is absent or
    /// deleted); returns the new revision, or `None` when someone else wrote first.
    async fn write_if<T: Serialize>(&self, key: &str, value: &T, revision: Option<u64>) -> anyhow::Result<Option<u64>> {
        let bytes = serde_json::to_vec(value)?.into();
        let written = match revision {
            Some(revision) => self.kv.update(key, bytes, revision).await.map_err(|error| {
                if error.kind() == kv::UpdateErrorKind::WrongLastRevision {
                    None
                } else {
                    Some(anyhow::Error::from(error))
                }
            }),
            None => self.kv.create(key, bytes).await.map_err(|error| {
                if error.kind() == kv::CreateErrorKind::AlreadyExists { None } else { Some(anyhow::Error::from(error)) }
            }),
        };
        match written {
            Ok(revision) => Ok(Some(revision)),
            Err(None) => Ok(None),
            Err(Some(error)) => Err(error),
        }
    }

    /// The store and partition count the cluster's first node recorded.
    pub async fn config(&self) -> anyhow::Result<Option<ClusterConfig>> {
        Ok(self.read::<Option<ClusterConfig>>("config").await?.0)
    }

    /// The state of partition `partition` and its revision.
    pub async fn partition(&self, partition: u32) -> anyhow::Result<Versioned<PartitionState>> {
        self.read(&format!("part.p{partition}")).await
    }

    /// Publishes `state` for `partition` if nobody did since `revision`; the new revision, or
    /// `None` when another indexer published first (this one must start the partition over).
    pub async fn publish(
        &self,
        partition: u32,
        state: &PartitionState,
        revision: Option<u64>,
    ) -> anyhow::Result<Option<u64>> {
        self.write_if(&format!("part.p{partition}"), state, revision).await
    }

    /// Takes or renews `node`'s lease on `partition`. `held` is the revision of the lease this
    /// node holds (renewal) or `None` (taking a free or expired one). Returns the new revision,
    /// or `None` when another node holds it.
    pub async fn lease(&self, partition: u32, node: &str, held: Option<u64>) -> anyhow::Result<Option<u64>> {
        let key = format!("lease.p{partition}");
        let lease = Lease { node: node.to_string(), at_ms: now_ms() };
        if held.is_some() {
            return self.write_if(&key, &lease, held).await;
        }
        let (current, revision): Versioned<Option<Lease>> = self.read(&key).await?;
        match current {
            Some(current) if current.node != node && now_ms() - current.at_ms <= self.lease_ms => Ok(None),
            _ => self.write_if(&key, &lease, revision).await,
        }
    }

    /// Gives up `node`'s lease on `partition` (held at `revision`).
    pub async fn release(&self, partition: u32, revision: u64) -> anyhow::Result<()> {
        self.kv.delete_expect_revision(format!("lease.p{partition}"), Some(revision)).await?;
        Ok(())
    }

    /// How long a node may go without a heartbeat before it counts as gone (ms).
    pub fn lease_ms(&self) -> i64 {
        self.lease_ms
    }

    /// Who holds each partition now (expired leases left out).
    pub async fn holders(&self, partitions: u32) -> anyhow::Result<Vec<Option<Lease>>> {
        let mut holders = Vec::with_capacity(partitions as usize);
        for partition in 0..partitions {
            let (lease, _): Versioned<Option<Lease>> = self.read(&format!("lease.p{partition}")).await?;
            holders.push(lease.filter(|lease| now_ms() - lease.at_ms <= self.lease_ms));
        }
        Ok(holders)
    }

    /// Records that `node` (of data directory `instance`) is alive with `roles`.
    pub async fn beat(&self, node: &str, instance: &str, roles: &[&str]) -> anyhow::Result<()> {
        let beat = Heartbeat {
            at_ms: now_ms(),
            roles: roles.iter().map(|role| role.to_string()).collect(),
            instance: instance.to_string(),
        };
        self.kv.put(format!("node.{node}"), serde_json::to_vec(&beat)?.into()).await?;
        Ok(())
    }

    /// Refuses to let a node of data directory `instance` take the id `node` while a node of
    /// another data directory beats under it: the two would take each other's partitions and
    /// read each other's log messages.
    pub async fn claim_node_id(&self, node: &str, instance: &str) -> anyhow::Result<()> {
        let (beat, _): Versioned<Option<Heartbeat>> = self.read(&format!("node.{node}")).await?;
        match beat {
            Some(beat) if beat.instance != instance && now_ms() - beat.at_ms <= self.lease_ms => anyhow::bail!(
                "node id `{node}` is in use by a live node of another data directory (heard from {} ms ago); give this node another --node-id (or wait {} ms if that node is gone)",
                now_ms() - beat.at_ms,
                self.lease_ms - (now_ms() - beat.at_ms)
            ),
            _ => Ok(()),
        }
    }

    /// Takes `node` off the list (it stops in order; one that dies stays, marked lost).
    pub async fn forget_node(&self, node: &str) -> anyhow::Result<()> {
        self.kv.delete(format!("node.{node}")).await?;
        Ok(())
    }

    /// The nodes heard from within a lease time, by id.
    pub async fn live_nodes(&self) -> anyhow::Result<Vec<(String, Heartbeat)>> {
        let lease_ms = self.lease_ms;
        Ok(self.nodes().await?.into_iter().filter(|(_, beat)| now_ms() - beat.at_ms <= lease_ms).collect())
    }

    /// Every node that ever beat, by id, with its last heartbeat.
    pub async fn nodes(&self) -> anyhow::Result<Vec<(String, Heartbeat)>> {
        use futures_util::StreamExt;
        let mut keys = self.kv.keys().await?;
        let mut nodes = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key?;
            let Some(id) = key.strip_prefix("node.") else { continue };
            let (beat, revision): Versioned<Option<Heartbeat>> = self.read(&key).await?;
            if let (Some(beat), Some(_)) = (beat, revision) {
                nodes.push((id.to_string(), beat));
            }
        }
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(nodes)
    }
}

/// The heartbeat thread: beats every third of the lease time until the node stops, then takes
/// the node off the list.
pub fn beat_until_stopped(context: &NodeContext) {
    let every = Duration::from_millis((context.options.settings.lease_ms / 3).max(100));
    let roles = context.options.roles.names();
    loop {
        let options = &context.options;
        if let Err(error) = context.runtime.block_on(context.catalog.beat(&options.node_id, &options.instance, &roles))
        {
            tracing::warn!(%error, "cluster heartbeat not written");
        }
        if !context.pause(every) {
            if let Err(error) = context.runtime.block_on(context.catalog.forget_node(&context.options.node_id)) {
                tracing::warn!(%error, "cluster heartbeat not removed at stop");
            }
            return;
        }
    }
}
