//! `opsloop serve`: the HTTP API and web page over one data directory, with live tailing and
//! plugin hot reload.
//!
//! ```text
//! HTTP ingest ─┐                                   ┌─▶ index (commit + tail checkpoints)
//! tailed files ┼─▶ Ingestor (one writer thread) ───┼─▶ reports index, findings
//! plugin files ┘    plugins, group commit          └─▶ answers: "committed"
//! HTTP queries ─▶ api (axum, blocking pool) ─▶ index readers, feedback items
//! ```
//!
//! Shutdown (SIGINT/SIGTERM): the server stops taking connections and finishes the requests it
//! has; the tailer reads what it was reading; the writer commits everything queued. What was
//! acknowledged is durable.

mod admission;
mod alerting;
mod api;
mod append_file;
mod auth;
mod board;
mod body;
mod document_ids;
mod error;
mod idempotency;
mod ingestor;
mod listener;
mod live_tail;
mod log_series;
mod metrics;
mod shippers;
mod suspension;
mod syslog;
mod tail;
mod tls;
mod wal;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

pub use api::{AppState, OPENAPI, router};
pub use auth::tokens_from_env;
pub use ingestor::{Claim, CommitMode, Ingestor, LoadError, PluginStatus, QueueError, Ticket, Work};
pub use metrics::Metrics;
pub use syslog::SyslogSpec;
pub use tail::{Tailer, WatchSpec};
pub use tls::TlsFiles;

use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::feedback::BoardStore;
use crate::index::{LogIndex, ReportIndex};
use crate::ingest::ParseOptions;
use crate::pipeline::{Checkpoints, FindingStore, PluginSet};

/// How `opsloop serve` runs, besides the config file.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Overrides `[serve] listen`.
    pub listen: Option<String>,
    /// Directories or globs to tail.
    pub watch: Vec<WatchSpec>,
    /// How tailed files are parsed.
    pub parse: ParseOptions,
    /// Where to receive syslog (`--syslog tcp://…`, `udp://…`, `tls://…`).
    pub syslog: Vec<SyslogSpec>,
    /// `--tls-cert` and `--tls-key`; over `[serve] tls_cert` and `tls_key`.
    pub tls: Option<TlsFiles>,
    /// `--cluster` and its company: this server is one node of a cluster.
    pub cluster: Option<crate::cluster::ClusterOptions>,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "no API tokens: add a [[serve.tokens]] table to {config} or set OPSLOOP_TOKENS=admin:<secret> (no token, no data)"
    )]
    NoTokens { config: PathBuf },
    #[error("{0}")]
    Tokens(String),
    #[error("{reason} (in {config} or OPSLOOP_TOKENS); the server does not start with it")]
    WeakToken { config: PathBuf, reason: String },
    #[error("{0}")]
    Tls(String),
}

/// The running parts of a server, without the listener: what the router serves from, the
/// writer, the tailer and the plugin watcher.
pub struct Service {
    pub state: Arc<AppState>,
    /// Where syslog is received (`tcp://…`, `udp://…`, `tls://…`, ports resolved).
    pub syslog_addresses: Vec<String>,
    /// The TLS configuration the listener and syslog share, when TLS is on.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    cluster: Option<crate::cluster::ClusterNode>,
}

impl Service {
    /// Opens the data directory, loads the plugins and starts the writer, the tailer (when
    /// `options.watch` names something) and the plugin watcher.
    pub fn start(data_dir: &DataDir, settings: &Settings, options: &ServeOptions) -> anyhow::Result<Self> {
        let mut tokens = settings.serve.tokens.clone();
        if let Ok(text) = std::env::var("OPSLOOP_TOKENS") {
            tokens.extend(tokens_from_env(&text).map_err(ServeError::Tokens)?);
        }
        if tokens.is_empty() {
            return Err(ServeError::NoTokens { config: data_dir.config_file() }.into());
        }
        if let Some(reason) = tokens.iter().find_map(auth::weak_token) {
            return Err(ServeError::WeakToken { config: data_dir.config_file(), reason }.into());
        }
        if let Some(mode) = data_dir.open_to_others() {
            tracing::warn!(dir = %data_dir.root().display(), mode = format!("{mode:o}"), "other users can read the data directory (the write-ahead log holds what was posted); `chmod 700` it");
        }
        if let Some(cluster) = &options.cluster
            && (!options.watch.is_empty() || !options.syslog.is_empty())
            && !cluster.roles.ingest
        {
            anyhow::bail!("--watch and --syslog need the ingest role on a cluster node (--roles ingest,…)");
        }
        let cluster = options.cluster.clone().map(crate::cluster::ClusterNode::connect).transpose()?;
        // The writer's own index; a cluster node searches the pieces it adopts instead.
        let local_logs = Arc::new(LogIndex::open(&data_dir.index_dir())?);
        let logs = match &cluster {
            Some(_) => Arc::new(LogIndex::open(&data_dir.root().join("cluster").join("search-index"))?),
            None => local_logs.clone(),
        };
        let reports = Arc::new(ReportIndex::open(&data_dir.reports_dir())?);
        let findings = Arc::new(FindingStore::new(data_dir.findings_file()));
        let metrics = Arc::new(Metrics::new(&settings.metrics));
        let listen = options.listen.clone().unwrap_or_else(|| settings.serve.listen.clone());
        let alerter = Arc::new(alerting::Alerter::open(
            crate::alerts::AlertStore::new(data_dir.alerts_dir()),
            settings,
            &listen,
        )?);
        let (plugins, errors) = PluginSet::load(data_dir, settings)?;
        let load_errors = errors
            .iter()
            .map(|error| {
                tracing::error!(%error, "plugin not loaded");
                LoadError {
                    file: error.plugin().unwrap_or_default().to_string(),
                    kind: error.kind().to_string(),
                    message: error.to_string(),
                    at: chrono::Utc::now().to_rfc3339(),
                }
            })
            .collect();
        let retain_ms =
            settings.index.retain.as_deref().map(crate::ingest::parse_span).transpose().map_err(anyhow::Error::msg)?;
        let ingestor = Arc::new(Ingestor::start(
            ingestor::WriterParts {
                logs: local_logs.clone(),
                reports: reports.clone(),
                plugins,
                findings: findings.clone(),
                metrics: metrics.clone(),
                retain_ms,
                wal_dir: data_dir.wal_dir(),
                settings: settings.serve.clone(),
                alerter: alerter.is_active().then(|| alerter.clone()),
            },
            load_errors,
        )?);
        // Read after the writer replayed its log, whose entries carry checkpoints too.
        let checkpoints = Checkpoints::from_payload(local_logs.commit_payload()?.as_deref());
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        if let Some((watcher, changes)) = watch_plugin_dir(&data_dir.plugins_dir(settings.plugins.dir.as_deref())) {
            let ingestor = ingestor.clone();
            let stop = stop.clone();
            threads.push(std::thread::Builder::new().name("opsloop-plugin-watch".into()).spawn(move || {
                let _watching = watcher;
                reload_changed_plugins(&changes, &ingestor, &stop);
            })?);
        }
        let board = Arc::new(board::BoardKeeper::open(
            BoardStore::new(data_dir),
            logs.clone(),
            reports.clone(),
            findings.clone(),
            metrics.clone(),
            settings.feedback.clone(),
        )?);
        {
            let board = board.clone();
            let stop = stop.clone();
            threads.push(std::thread::Builder::new().name("opsloop-board".into()).spawn(move || board.run(&stop))?);
        }
        if alerter.is_active() {
            let (alerter, board, stop) = (alerter.clone(), board.clone(), stop.clone());
            threads.push(
                std::thread::Builder::new().name("opsloop-alerts".into()).spawn(move || alerter.run(&board, &stop))?,
            );
        }
        let mut cluster = cluster;
        let cluster_ingest = match &mut cluster {
            Some(node) => {
                let searchable = node.options.roles.search.then(|| {
                    Arc::new(crate::cluster::searcher::SearchableThrough::new(node.options.settings.partitions))
                });
                let search = searchable.clone().map(|searchable| crate::cluster::searcher::SearchParts {
                    logs: logs.clone(),
                    findings: findings.clone(),
                    metrics: metrics.clone(),
                    reports: Some(cluster_report_sink(ingestor.clone())),
                    actions: Some(cluster_action_sink(board.clone())),
                    searchable,
                });
                node.start(data_dir, settings, search)?;
                Some(api::ClusterIngest {
                    log: node.log.clone(),
                    roles: node.options.roles,
                    catalog: node.catalog.clone(),
                    searchable,
                })
            }
            None => None,
        };
        if !options.watch.is_empty() {
            let sink = match &cluster {
                Some(node) => tail::TailSink::Cluster(tail::ClusterTail {
                    log: node.blocking_log(),
                    checkpoint_file: data_dir.root().join("cluster").join("tail-checkpoints.json"),
                }),
                None => tail::TailSink::Local(ingestor.clone()),
            };
            let tailer = Tailer::new(options.watch.clone(), options.parse.clone(), checkpoints, sink, metrics.clone())?;
            let stop = stop.clone();
            threads.push(std::thread::Builder::new().name("opsloop-tail".into()).spawn(move || tailer.run(stop))?);
        }
        let tls = tls_files(data_dir, settings, options)?.map(|files| tls::server_config(&files)).transpose()?;
        let syslog_tls = tls.as_ref().map(tls::for_senders_that_never_read);
        let syslog_sink = match &cluster {
            Some(node) => syslog::SyslogSink::Cluster(node.blocking_log()),
            None => syslog::SyslogSink::Writer(ingestor.clone()),
        };
        let syslog = syslog::start(&options.syslog, &syslog_sink, &metrics, &stop, syslog_tls.as_ref())?;
        threads.extend(syslog.threads);
        let admission = admission::Admission::new(&settings.serve, metrics.clone());
        let state = Arc::new(AppState {
            admission,
            logs,
            reports,
            findings,
            board: board.clone(),
            alerter,
            ingestor,
            cluster: cluster_ingest,
            tails: live_tail::TailStreams::new(settings.serve.max_tail_streams),
            metrics,
            tokens: auth::Tokens::new(&tokens),
            limits: auth::RateLimits::new(&settings.serve),
            failures: auth::AuthFailures::new(&settings.serve),
            settings: settings.serve.clone(),
            requests: AtomicU64::new(0),
            started_ms: chrono::Utc::now().timestamp_millis(),
        });
        Ok(Self { state, syslog_addresses: syslog.addresses, tls, stop, threads, cluster })
    }

    /// The router over this service's state.
    pub fn router(&self) -> axum::Router {
        router(self.state.clone())
    }

    /// Stops the tailer and the plugin watcher, then commits everything queued.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        if let Some(mut cluster) = self.cluster.take() {
            cluster.stop();
        }
        self.state.ingestor.shutdown();
    }
}

/// A cluster search node's way for the reports of the cluster into its writer: queued like a
/// posted request's, answered once durable in the write-ahead log.
fn cluster_report_sink(ingestor: Arc<Ingestor>) -> crate::cluster::reports::ReportSink {
    Box::new(move |reports| {
        let count = reports.len();
        let ticket = ingestor
            .submit(Work::Reports(reports), count, Arc::default(), None::<idempotency::KeyRecord>)
            .map_err(|error| format!("{error:?}"))?;
        match ticket.logged.blocking_recv() {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(error),
            Err(_) => Err("the writer stopped".into()),
        }
    })
}

/// A cluster search node's way for feedback actions taken by any node onto its board.
fn cluster_action_sink(board: Arc<board::BoardKeeper>) -> crate::cluster::actions::ActionSink {
    Box::new(move |item, action| {
        board.act(item, action).map(|status| status.is_some()).map_err(|error| error.to_string())
    })
}

/// Serves until `shutdown` resolves, then stops in order (see the module doc). `on_listening`
/// is told the bound address (useful with port 0).
pub async fn serve(
    data_dir: &DataDir,
    settings: &Settings,
    options: &ServeOptions,
    on_listening: impl FnOnce(SocketAddr, &[String]),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let open_files = listener::raise_open_file_limit();
    let max_connections = listener::connection_cap(settings.serve.max_connections, open_files);
    if max_connections < settings.serve.max_connections {
        tracing::warn!(
            open_files,
            max_connections,
            configured = settings.serve.max_connections,
            "connection cap lowered to fit under the open-file limit"
        );
    }
    let service = Service::start(data_dir, settings, options)?;
    let listen = options.listen.clone().unwrap_or_else(|| settings.serve.listen.clone());
    let tcp = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {listen}: {error}"))?;
    service.state.alerter.listening_on(tcp.local_addr()?, service.tls.is_some());
    on_listening(tcp.local_addr()?, &service.syslog_addresses);
    // Live-tail streams end as soon as the shutdown starts: the server does not wait on them.
    let tails_state = service.state.clone();
    let shutdown = async move {
        shutdown.await;
        tails_state.tails.stop();
    };
    let served = listener::serve_connections(
        tcp,
        service.router(),
        max_connections,
        listener::ConnectionLimits::from_settings(&settings.serve),
        service.state.metrics.clone(),
        shutdown,
        Duration::from_millis(settings.serve.request_timeout_ms) + Duration::from_secs(5),
        service.tls.clone().map(tokio_rustls::TlsAcceptor::from),
    )
    .await;
    tokio::task::spawn_blocking(move || service.stop()).await?;
    served?;
    Ok(())
}

/// The certificate and key to serve with: the options', else the config's (relative to the
/// data directory); both or neither.
fn tls_files(data_dir: &DataDir, settings: &Settings, options: &ServeOptions) -> anyhow::Result<Option<TlsFiles>> {
    if let Some(files) = &options.tls {
        return Ok(Some(files.clone()));
    }
    let under_data = |path: &PathBuf| if path.is_absolute() { path.clone() } else { data_dir.root().join(path) };
    match (&settings.serve.tls_cert, &settings.serve.tls_key) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert: under_data(cert), key: under_data(key) })),
        (None, None) => Ok(None),
        _ => Err(ServeError::Tls(format!(
            "[serve] tls_cert and tls_key go together (in {}); one of them is missing",
            data_dir.config_file().display()
        ))
        .into()),
    }
}

/// Installs SIGINT and SIGTERM handlers now (inside a runtime) and resolves on either. Installed
/// eagerly: a handler first registered when the future is polled left a window after the
/// "serving" line in which SIGTERM still killed the process with what it had read uncommitted.
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down: finishing requests, committing what was accepted");
    })
}

/// Watches `dir` for written `*.wasm` files. The watch is in place when this returns, so a
/// file written after the server announced itself is not missed.
fn watch_plugin_dir(dir: &std::path::Path) -> Option<(notify::RecommendedWatcher, std::sync::mpsc::Receiver<PathBuf>)> {
    use notify::Watcher;
    let (events, changes) = std::sync::mpsc::channel::<PathBuf>();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && (event.kind.is_create() || event.kind.is_modify())
        {
            for path in event.paths {
                let _ = events.send(path);
            }
        }
    });
    let mut watcher = match watcher {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::warn!(%error, "plugin files will not reload: no change events");
            return None;
        }
    };
    if let Err(error) = std::fs::create_dir_all(dir)
        .map_err(notify::Error::io)
        .and_then(|()| watcher.watch(dir, notify::RecursiveMode::NonRecursive))
    {
        tracing::warn!(dir = %dir.display(), %error, "plugin files will not reload");
        return None;
    }
    Some((watcher, changes))
}

/// Reloads a plugin when its file was written, once it has been quiet for a moment (so a
/// half-copied file is not loaded).
fn reload_changed_plugins(changes: &std::sync::mpsc::Receiver<PathBuf>, ingestor: &Ingestor, stop: &AtomicBool) {
    let mut changed: std::collections::BTreeSet<PathBuf> = Default::default();
    while !stop.load(Ordering::SeqCst) {
        match changes.recv_timeout(Duration::from_millis(300)) {
            Ok(path) => {
                if path.extension().is_some_and(|ext| ext == "wasm") {
                    changed.insert(path);
                }
            }
            Err(_) => {
                for path in std::mem::take(&mut changed) {
                    if path.is_file() {
                        let _ = ingestor.submit_control(Work::ReloadPlugin(path));
                    }
                }
            }
        }
    }
}
