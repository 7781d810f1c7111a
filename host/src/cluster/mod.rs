//! `serve --cluster`: several opsloop nodes on existing infrastructure, NATS JetStream for the
//! durable ingest log and the metadata, S3-compatible object storage (or a directory) for the
//! index pieces. `docs/cluster.md` tells how a record flows and what happens on each failure.
//!
//! - [`log`]: ingest nodes publish records to the `OPSLOOP_LOGS` stream, one subject per
//!   partition (a source always lands in the same one), and answer once JetStream has them.
//! - [`catalog`]: the key-value bucket `opsloop-cluster`: node heartbeats, partition leases,
//!   and per partition the pieces published and the stream sequence they cover.
//! - [`indexer`]: index nodes share the partitions through leases, run the plugins with the
//!   partition's own state, seal a piece (tantivy segments) by size or age, upload it, publish
//!   it with the sequence it covers in one revision-checked update, then acknowledge.
//! - [`searcher`]: search nodes adopt every published piece into a local index, which the
//!   node's API searches as it searches a single node's.
//! - [`reports`], [`actions`] ([`follow`]): every search node takes every bug report and every
//!   person's `ack` or `resolve` from a stream of its own, so every node shows the same board.
//! - [`store`]: where pieces and partition state live.
//! - [`status`]: `opsloop cluster status`.

pub mod actions;
pub mod catalog;
pub mod follow;
pub mod indexer;
pub mod log;
pub mod reports;
pub mod searcher;
pub mod status;
pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crate::config::{ClusterSettings, Settings};
use crate::data_dir::DataDir;

/// What a node does in a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Roles {
    /// Takes records over HTTP and publishes them to the ingest log.
    pub ingest: bool,
    /// Turns partitions of the log into pieces on the store.
    pub index: bool,
    /// Serves searches (and the board) over every published piece.
    pub search: bool,
}

impl Roles {
    /// Reads `ingest`, `index`, `search` (any, comma-separated or listed).
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut roles = Self::default();
        for name in names.into_iter().flat_map(|name| name.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "ingest" => roles.ingest = true,
                "index" => roles.index = true,
                "search" => roles.search = true,
                other => return Err(format!("unknown cluster role `{other}` (roles: ingest, index, search)")),
            }
        }
        if roles == Self::default() {
            return Err("a cluster node needs at least one role (ingest, index, search)".into());
        }
        Ok(roles)
    }

    /// The roles as written in `--roles`.
    pub fn names(&self) -> Vec<&'static str> {
        [(self.ingest, "ingest"), (self.index, "index"), (self.search, "search")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect()
    }
}

/// Where a node finds the cluster and what it does in it: `[cluster]` with the command line's
/// overrides applied.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub nats: String,
    pub store: String,
    pub roles: Roles,
    pub node_id: String,
    /// This data directory's own mark (`cluster/instance` and where the directory is), in
    /// every heartbeat: a node id a live node of another data directory uses is refused.
    pub instance: String,
    pub settings: ClusterSettings,
}

impl ClusterOptions {
    /// The options of a node whose `[cluster]` (or command line) names a NATS server; `None`
    /// for a single node. A store is required with a server, and the node id must be a name
    /// NATS keys accept.
    pub fn from_settings(settings: &ClusterSettings, data_dir: &DataDir) -> Result<Option<Self>, String> {
        let Some(nats) = settings.nats.clone() else {
            if settings.store.is_some() {
                return Err("--store needs --cluster (the NATS server the nodes share)".into());
            }
            return Ok(None);
        };
        let store = settings
            .store
            .clone()
            .ok_or("--cluster needs --store: s3://BUCKET/PREFIX or file:///path, where index pieces live")?;
        store::parse_location(&store)?;
        let roles = Roles::parse(settings.roles.iter().map(String::as_str))?;
        if settings.partitions == 0 || settings.partitions > 1024 {
            return Err(format!("[cluster] partitions = {}: between 1 and 1024", settings.partitions));
        }
        let node_id = match &settings.node_id {
            Some(id) => id.clone(),
            None => default_node_id(data_dir),
        };
        if node_id.is_empty() || !node_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!("node id `{node_id}`: letters, digits, `-` and `_` only"));
        }
        let instance = instance_of(data_dir)?;
        Ok(Some(Self { nats, store, roles, node_id, instance, settings: settings.clone() }))
    }

    /// The partition a source's records go to: the same on every node.
    pub fn partition_of(&self, source: &str) -> u32 {
        partition_of(source, self.settings.partitions)
    }
}

/// The partition of `source` among `partitions`.
pub fn partition_of(source: &str, partitions: u32) -> u32 {
    (opsloop_sdk::stable_hash(source) % u64::from(partitions.max(1))) as u32
}

/// The data directory's mark: a random part made the first time and kept, so a node restarted
/// on its own directory is the same node, and a hash of the host and the directory's path, so
/// a copy of the directory (`cp -a`, a restored backup) elsewhere is another.
fn instance_of(data_dir: &DataDir) -> Result<String, String> {
    let dir = data_dir.root().canonicalize().unwrap_or_else(|_| data_dir.root().to_path_buf());
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let place = opsloop_sdk::stable_hash(&format!("{}:{}", host.trim(), dir.display())) as u32;
    Ok(format!("{}-{place:08x}", random_mark(data_dir)?))
}

/// The random part of [`instance_of`], made the first time.
fn random_mark(data_dir: &DataDir) -> Result<String, String> {
    let path = data_dir.root().join("cluster").join("instance");
    if let Ok(text) = std::fs::read_to_string(&path)
        && !text.trim().is_empty()
    {
        return Ok(text.trim().to_string());
    }
    let mut bytes = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| std::io::Read::read_exact(&mut random, &mut bytes))
        .map_err(|error| format!("/dev/urandom: {error}"))?;
    let instance: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    std::fs::create_dir_all(path.parent().expect("a parent"))
        .and_then(|()| std::fs::write(&path, &instance))
        .map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(instance)
}

/// The host name and a hash of the data directory: two nodes on one machine differ.
fn default_node_id(data_dir: &DataDir) -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let host: String = host.trim().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(32).collect();
    let dir = data_dir.root().canonicalize().unwrap_or_else(|_| data_dir.root().to_path_buf());
    let hash = opsloop_sdk::stable_hash(&dir.display().to_string());
    format!("{}-{:08x}", if host.is_empty() { "node" } else { &host }, hash as u32)
}

/// The runtime a node's NATS and store I/O runs on. Dropped without waiting for its tasks, so
/// a node may be dropped inside another runtime (the server's).
pub struct NodeRuntime(Option<tokio::runtime::Runtime>);

impl NodeRuntime {
    fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("opsloop-cluster")
            .enable_all()
            .build()?;
        Ok(Self(Some(runtime)))
    }
}

impl std::ops::Deref for NodeRuntime {
    type Target = tokio::runtime::Runtime;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("the runtime lives until dropped")
    }
}

impl Drop for NodeRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// A connected node: the NATS client and the store, with the runtime their I/O runs on, and
/// the indexer and searcher threads its roles start.
pub struct ClusterNode {
    pub options: ClusterOptions,
    pub log: Arc<log::IngestLog>,
    pub catalog: Arc<catalog::Catalog>,
    pub store: Arc<store::PieceStore>,
    runtime: Arc<NodeRuntime>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl ClusterNode {
    /// Connects to NATS (creating the stream and the bucket the first time) and the store.
    /// Runs its own small runtime, so it may be called from inside another one.
    pub fn connect(options: ClusterOptions) -> anyhow::Result<Self> {
        let runtime = Arc::new(NodeRuntime::new()?);
        let store = Arc::new(store::PieceStore::open(&options.store)?);
        // A node that cannot write to the store says so at its start, not in its first piece.
        let probing = {
            let (runtime, options, store) = (runtime.clone(), options.clone(), store.clone());
            std::thread::spawn(move || {
                runtime.block_on(async {
                    let note = serde_json::json!({ "node": options.node_id, "roles": options.roles.names(), "at_ms": now_ms() });
                    let name = format!("nodes/{}.json", options.node_id);
                    let put = store.put(&name, note.to_string().into_bytes());
                    match tokio::time::timeout(std::time::Duration::from_secs(30), put).await {
                        Ok(written) => written.map_err(anyhow::Error::from),
                        Err(_) => Err(anyhow::anyhow!("store {}: no answer within 30 s", options.store)),
                    }
                })
            })
        };
        // Probed before the cluster records its store: a node that cannot write to it must not
        // fix it for the nodes after.
        probing.join().map_err(|_| anyhow::anyhow!("the store probe panicked"))?.map_err(|error| {
            if options.store.starts_with("s3://") && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                error.context("AWS_ACCESS_KEY_ID is not set, so the S3 client looked for a cloud instance's credentials: set AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION")
            } else {
                error
            }
        })?;
        let (log, catalog) = connect_nats(&runtime, &options)?;
        {
            let (runtime, catalog, options) = (runtime.clone(), &catalog, &options);
            std::thread::scope(|scope| {
                scope.spawn(|| runtime.block_on(catalog.claim_node_id(&options.node_id, &options.instance))).join()
            })
            .map_err(|_| anyhow::anyhow!("the node id check panicked"))??;
        }
        Ok(Self {
            options,
            log: Arc::new(log),
            catalog: Arc::new(catalog),
            store,
            runtime,
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
        })
    }

    /// The ingest log for a thread outside any runtime (the tailer, the syslog receivers).
    pub fn blocking_log(&self) -> log::BlockingLog {
        log::BlockingLog { log: self.log.clone(), runtime: self.runtime.clone() }
    }

    /// Starts what the node's roles run besides ingest: the indexer (partitions → pieces) and
    /// the searcher (pieces → `search_index`).
    pub fn start(
        &mut self,
        data_dir: &DataDir,
        settings: &Settings,
        search: Option<searcher::SearchParts>,
    ) -> anyhow::Result<()> {
        let context = NodeContext {
            runtime: self.runtime.clone(),
            options: self.options.clone(),
            log: self.log.clone(),
            catalog: self.catalog.clone(),
            store: self.store.clone(),
            stop: self.stop.clone(),
        };
        {
            let context = context.clone();
            self.spawn("opsloop-heartbeat", move || catalog::beat_until_stopped(&context))?;
        }
        if self.options.roles.index {
            let indexer = indexer::Indexer::new(context.clone(), data_dir, settings)?;
            self.spawn("opsloop-indexer", move || indexer.run())?;
        }
        if let Some(mut parts) = search {
            if let Some(sink) = parts.reports.take() {
                let context = context.clone();
                self.spawn("opsloop-cluster-reports", move || reports::follow_reports(&context, &sink))?;
            }
            if let Some(sink) = parts.actions.take() {
                let context = context.clone();
                self.spawn("opsloop-cluster-feedback", move || actions::follow_actions(&context, &sink))?;
            }
            let searcher = searcher::Searcher::new(context, parts);
            self.spawn("opsloop-searcher", move || searcher.run())?;
        }
        Ok(())
    }

    /// Starts one of the node's threads; [`ClusterNode::stop`] joins it.
    fn spawn(&mut self, name: &str, work: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        self.threads.push(std::thread::Builder::new().name(name.into()).spawn(work)?);
        Ok(())
    }

    /// Stops the indexer (sealing nothing more: what it had not published is published by
    /// whoever holds the partition next) and the searcher.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Connects to the NATS server of `options` on `runtime` (from a thread of its own, so the
/// caller may be inside another runtime), opening the ingest log and the catalog.
pub fn connect_nats(
    runtime: &Arc<NodeRuntime>,
    options: &ClusterOptions,
) -> anyhow::Result<(log::IngestLog, catalog::Catalog)> {
    let (runtime, options) = (runtime.clone(), options.clone());
    let connecting = std::thread::spawn(move || {
        runtime.block_on(async {
            let client = async_nats::ConnectOptions::new()
                .name(format!("opsloop {}", options.node_id))
                .connection_timeout(std::time::Duration::from_secs(5))
                .connect(options.nats.as_str())
                .await
                .map_err(|error| anyhow::anyhow!("no NATS server at {}: {error}", options.nats))?;
            let jetstream = async_nats::jetstream::new(client);
            let log = log::IngestLog::open(jetstream.clone(), &options).await?;
            let catalog = catalog::Catalog::open(jetstream, &options).await?;
            anyhow::Ok((log, catalog))
        })
    });
    connecting.join().map_err(|_| anyhow::anyhow!("the NATS connection thread panicked"))?
}

/// The status of the cluster `settings` name, read once (`opsloop cluster status`).
pub fn read_status(settings: &ClusterSettings) -> anyhow::Result<status::ClusterStatus> {
    let nats = settings
        .nats
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no cluster named: --cluster nats://HOST:PORT or [cluster] nats"))?;
    let options = ClusterOptions {
        nats,
        store: settings.store.clone().unwrap_or_default(),
        roles: Roles::default(),
        node_id: "status".into(),
        instance: String::new(),
        settings: settings.clone(),
    };
    let runtime = Arc::new(NodeRuntime::new()?);
    let (log, catalog) = connect_nats(&runtime, &options)?;
    let reading = {
        let runtime = runtime.clone();
        std::thread::spawn(move || runtime.block_on(status::read(&log, &catalog, options.settings.partitions)))
    };
    reading.join().map_err(|_| anyhow::anyhow!("the status thread panicked"))?
}

/// What the node's threads share.
#[derive(Clone)]
pub struct NodeContext {
    pub runtime: Arc<NodeRuntime>,
    pub options: ClusterOptions,
    pub log: Arc<log::IngestLog>,
    pub catalog: Arc<catalog::Catalog>,
    pub store: Arc<store::PieceStore>,
    pub stop: Arc<AtomicBool>,
}

impl NodeContext {
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps `duration` in short steps, returning early (false) when the node stops.
    pub fn pause(&self, duration: std::time::Duration) -> bool {
        let until = std::time::Instant::now() + duration;
        while std::time::Instant::now() < until {
            if self.stopping() {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(50).min(until - std::time::Instant::now()));
        }
        !self.stopping()
    }
}

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::{Roles, partition_of};

    #[test]
    fn roles_are_read_from_a_list_or_commas_and_an_unknown_one_is_named() {
        let roles = Roles::parse(["ingest,search"]).unwrap();
        assert_eq!(roles.names(), ["ingest", "search"]);
        assert_eq!(Roles::parse(["index", "search"]).unwrap().names(), ["index", "search"]);
        assert!(Roles::parse(["indexer"]).unwrap_err().contains("`indexer`"));
        assert!(Roles::parse([""]).is_err());
    }

    #[test]
    fn a_source_always_lands_in_one_partition_and_sources_spread() {
        assert_eq!(partition_of("nginx", 8), partition_of("nginx", 8));
        let used: std::collections::BTreeSet<u32> = (0..64).map(|n| partition_of(&format!("service-{n}"), 8)).collect();
        assert!(used.len() >= 6, "64 sources over 8 partitions used only {used:?}");
    }
}
