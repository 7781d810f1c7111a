//! `opsloop serve`: the HTTP API and web page; `--watch` tails files into the index and
//! `--syslog` receives syslog.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use super::UsageError;
use crate::config::Settings;
use crate::data_dir::DataDir;
use crate::ingest::{DEFAULT_MAX_LINE_BYTES, Format, ParseOptions};
use crate::serve::{ServeError, ServeOptions, SyslogSpec, TlsFiles, WatchSpec, serve, shutdown_signal};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen (default: `[serve] listen`, 127.0.0.1:7070); port 0 picks a free one.
    #[arg(long)]
    pub listen: Option<String>,
    /// A directory (every file in it) or a glob to tail; repeatable.
    #[arg(long)]
    pub watch: Vec<String>,
    /// How tailed lines are laid out; `auto` decides per file.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: Format,
    /// A line layout with `<Field>` placeholders for tailed files (implies --format pattern).
    #[arg(long)]
    pub pattern: Option<String>,
    /// The source name of tailed records (default: the file name up to its first dot).
    #[arg(long)]
    pub source: Option<String>,
    /// Receive syslog (RFC 5424 or 3164) on `tcp://<host>:<port>` (octet-counting or newline
    /// framing), `udp://<host>:<port>` or `tls://<host>:<port>` (RFC 5425, needs --tls-cert);
    /// repeatable. Port 0 picks a free one.
    #[arg(long, value_name = "tcp|udp|tls://HOST:PORT")]
    pub syslog: Vec<String>,
    /// A PEM certificate chain: the API and page are served over HTTPS only (with --tls-key).
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Run as one node of a cluster whose ingest log and metadata are on this NATS server
    /// (JetStream on); over `[cluster] nats`. See docs/cluster.md.
    #[arg(long, value_name = "nats://HOST:PORT")]
    pub cluster: Option<String>,
    /// Where the cluster's index pieces live: `s3://BUCKET/PREFIX` (with the AWS_* environment)
    /// or `file:///path`; over `[cluster] store`.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// What this node does: any of ingest,index,search (default: all); over `[cluster] roles`.
    #[arg(long, value_name = "ROLES")]
    pub roles: Option<String>,
    /// This node's name in the cluster (default: host name and a hash of the data directory).
    #[arg(long)]
    pub node_id: Option<String>,
}

pub fn run(data_dir: &DataDir, settings: &Settings, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let format = if args.pattern.is_some() { Format::Pattern } else { args.format };
    let watch =
        args.watch.iter().map(|text| WatchSpec::parse(text)).collect::<Result<Vec<_>, _>>().map_err(UsageError)?;
    for text in &args.watch {
        // A misspelt path is a glob that matches nothing: say so, since it is tailed silently.
        let matches = glob::glob(text).map(|paths| paths.flatten().next().is_some()).unwrap_or(false);
        if !std::path::Path::new(text).is_dir() && !matches {
            eprintln!("warning: --watch {text}: nothing there yet; files that appear there will be tailed");
        }
    }
    let syslog =
        args.syslog.iter().map(|text| SyslogSpec::parse(text)).collect::<Result<Vec<_>, _>>().map_err(UsageError)?;
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        _ => None,
    };
    let mut cluster_settings = settings.cluster.clone();
    cluster_settings.nats = args.cluster.or(cluster_settings.nats);
    cluster_settings.store = args.store.or(cluster_settings.store);
    if let Some(roles) = args.roles {
        cluster_settings.roles = vec![roles];
    }
    cluster_settings.node_id = args.node_id.or(cluster_settings.node_id);
    let cluster = crate::cluster::ClusterOptions::from_settings(&cluster_settings, data_dir).map_err(UsageError)?;
    let options = ServeOptions {
        cluster,
        tls,
        syslog,
        listen: args.listen,
        watch,
        parse: ParseOptions {
            format,
            pattern: args.pattern,
            source: args.source,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        },
    };
    // Queries and ingest parsing run on the blocking pool, bounded by their turns
    // (`max_concurrent_queries`, `max_concurrent_ingests`); this bounds the pool itself.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(64).build()?;
    let scheme = if options.tls.is_some() || settings.serve.tls_cert.is_some() { "https" } else { "http" };
    let cluster = options.cluster.as_ref().map_or(String::new(), |cluster| {
        format!(
            "; cluster node {} ({}) on {}, pieces in {}",
            cluster.node_id,
            cluster.roles.names().join(","),
            cluster.nats,
            cluster.store
        )
    });
    let announce = |address: std::net::SocketAddr, syslog: &[String]| {
        let mut stdout = std::io::stdout().lock();
        let syslog = if syslog.is_empty() { String::new() } else { format!("; syslog on {}", syslog.join(" ")) };
        let _ = writeln!(stdout, "opsloop serving {scheme}://{address}/ (API: /api/openapi.json){syslog}{cluster}");
        let _ = stdout.flush();
    };
    // The handlers are in place before the server says it listens: a SIGTERM right after the
    // announcement stops it in order instead of killing it.
    let shutdown = {
        let _context = runtime.enter();
        shutdown_signal()?
    };
    let served = runtime.block_on(serve(data_dir, settings, &options, announce, shutdown));
    match served {
        Err(error) if error.downcast_ref::<ServeError>().is_some() => Err(UsageError(error.to_string()).into()),
        Err(error) => Err(error),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}
