//! The configuration file (`opsloop.toml` in the data directory): which plugins run, their
//! limits and their settings. Every key is documented in `opsloop.example.toml` at the
//! repository root, which a test parses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::plugin::PluginLimits;

/// The current version of the configuration format.
pub const CONFIG_VERSION: u32 = 1;

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("config file {path}: `{key}`: {reason}")]
    Value { path: PathBuf, key: &'static str, reason: String },
    #[error("config file {path}: version {found} is not supported (this build reads version {CONFIG_VERSION})")]
    Version { path: PathBuf, found: u32 },
    #[error(
        "config file {path}: it does not say its format; add `version = {CONFIG_VERSION}` as its first line (opsloop.example.toml lists every key)"
    )]
    NoVersion { path: PathBuf },
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Format version; must be 1.
    pub version: u32,
    #[serde(default)]
    pub plugins: PluginSettings,
    #[serde(default)]
    pub index: IndexSettings,
    #[serde(default)]
    pub serve: ServeSettings,
    #[serde(default)]
    pub feedback: FeedbackSettings,
    /// `[[alerts]]`: when to tell someone, and whom.
    #[serde(default)]
    pub alerts: Vec<AlertRule>,
    /// `[[receivers]]`: where alerts go.
    #[serde(default)]
    pub receivers: Vec<ReceiverSetting>,
    #[serde(default)]
    pub alerting: AlertingSettings,
    #[serde(default)]
    pub metrics: LogMetricsSettings,
    /// `[cluster]`: `serve` as one node of a cluster on NATS JetStream and object storage.
    #[serde(default)]
    pub cluster: ClusterSettings,
}

/// What an alert rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSubject {
    /// Feedback items: an alert when an item enters one of `statuses`, resolved with the item.
    Items,
    /// Anomaly findings: an alert per source, kind and patterns, resolved after `quiet_for`
    /// without another finding like it.
    Anomalies,
}

/// One `[[alerts]]` rule.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// Names the alert (`alertname` in Alertmanager); unique.
    pub name: String,
    pub on: AlertSubject,
    /// Items: the statuses that raise the alert (default `new` and `regressed`).
    #[serde(default = "default_alert_statuses")]
    pub statuses: Vec<crate::feedback::ItemStatus>,
    /// Items: the least impact score (0..1) that raises it.
    #[serde(default)]
    pub min_impact: f64,
    /// Anomalies: the least finding score that raises it.
    #[serde(default)]
    pub min_score: f64,
    /// Item kinds (`bug`, `incident`, `regression`, `request`) or finding kinds (`spike`,
    /// `error-burst`, ...); none means every kind.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Log sources; none means every source.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Anomalies: how long without a like finding before the alert is resolved.
    #[serde(default = "default_quiet_for")]
    pub quiet_for: String,
    /// Names of `[[receivers]]`.
    pub receivers: Vec<String>,
}

fn default_alert_statuses() -> Vec<crate::feedback::ItemStatus> {
    vec![crate::feedback::ItemStatus::New, crate::feedback::ItemStatus::Regressed]
}

fn default_quiet_for() -> String {
    "30m".into()
}

/// Where a receiver's messages go and in which shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiverKind {
    /// Prometheus Alertmanager's v2 API (`url` is Alertmanager's base URL).
    Alertmanager,
    /// A JSON document per notification, POSTed to `url`.
    Webhook,
    /// A Slack-compatible incoming-webhook message (`{"text": ...}`; Mattermost and Rocket.Chat
    /// take it too).
    Slack,
}

/// One `[[receivers]]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverSetting {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ReceiverKind,
    /// `http://` or `https://`.
    pub url: String,
    /// Headers sent with every delivery (e.g. `Authorization`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The `[alerting]` table: how notifications are delivered.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingSettings {
    /// The page's address as people reach it, for links in alerts; default `http://` + `listen`.
    pub page_url: Option<String>,
    /// The first retry waits this long; each next one twice as long (at most 5 minutes).
    pub retry_initial_ms: u64,
    /// Attempts per notification before it is recorded as failed.
    pub max_attempts: u32,
    /// One delivery attempt takes at most this long.
    pub timeout_ms: u64,
    /// Alertmanager is told again this often that a firing alert still fires (it resolves
    /// alerts it has not heard of for a while, as with Prometheus).
    pub resend_ms: u64,
}

impl Default for AlertingSettings {
    fn default() -> Self {
        Self { page_url: None, retry_initial_ms: 1_000, max_attempts: 10, timeout_ms: 5_000, resend_ms: 60_000 }
    }
}

/// The `[metrics]` table: the series `/metrics` derives from the logs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogMetricsSettings {
    /// Sources with series of their own; records of later sources count as `source="other"`.
    pub max_sources: usize,
    /// Patterns per source with a rate series of their own; the rest are summed as `pattern="other"`.
    pub patterns_per_source: usize,
}

impl Default for LogMetricsSettings {
    fn default() -> Self {
        Self { max_sources: 100, patterns_per_source: 10 }
    }
}

/// What an API token may do. `admin` may do everything; `read` and `ingest` only their part,
/// so a log shipper's token cannot read and a dashboard's token cannot write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Read,
    Ingest,
    Admin,
}

impl Role {
    /// Whether a token of this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self == Role::Admin || self == needed
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "read" => Some(Self::Read),
            "ingest" => Some(Self::Ingest),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// One API token (`[[serve.tokens]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSetting {
    /// Who holds it; names it in logs and metrics (never the token itself).
    pub name: String,
    pub token: String,
    pub role: Role,
}

/// The `[serve]` table: `opsloop serve`'s address, tokens and limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeSettings {
    /// Where to listen; `--listen` overrides it.
    pub listen: String,
    /// API tokens; `OPSLOOP_TOKENS` (`role:token,role:token`) adds more.
    pub tokens: Vec<TokenSetting>,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// Requests per second one token may make, sustained.
    pub requests_per_second: u32,
    /// Requests one token may make at once above the sustained rate.
    pub burst: u32,
    /// The longest a request may take before it is answered 503 `timeout`.
    pub request_timeout_ms: u64,
    /// Records accepted but not yet committed, at most; ingest beyond it is answered 429.
    pub max_pending_records: usize,
    /// The longest acknowledged records wait before a commit makes them searchable.
    pub commit_interval_ms: u64,
    /// Connections served at once; one more is answered 503 and closed. Lowered at start to
    /// fit under the process's open-file limit.
    pub max_connections: usize,
    /// A connection with no request in progress and nothing sent either way for this long is
    /// closed.
    pub idle_timeout_ms: u64,
    /// Live-tail streams (`/api/tail`) open at once; one more is answered 429 `too_many_tails`.
    /// A stream sends a heartbeat well within `idle_timeout_ms` and is not cut by
    /// `request_timeout_ms`.
    pub max_tail_streams: usize,
    /// A request whose headers have not all arrived this long after its first byte is dropped.
    pub header_read_timeout_ms: u64,
    /// A request body not received in full within this long is answered 408 `body_timeout`.
    pub body_read_timeout_ms: u64,
    /// Queries (search, histogram, patterns, reports, ...) run at once; more wait in a queue.
    pub max_concurrent_queries: usize,
    /// Queries waiting at most; more are answered 503 `busy` with `Retry-After`.
    pub max_queued_queries: usize,
    /// Ingest bodies read and parsed at once; more are answered 429 `ingest_busy`.
    pub max_concurrent_ingests: usize,
    /// Failed authentications from one address within `auth_failure_window_ms` after which
    /// the address is answered 429 `locked_out` for `auth_lockout_ms`.
    pub auth_failures_allowed: u32,
    pub auth_failure_window_ms: u64,
    pub auth_lockout_ms: u64,
    /// How long an `Idempotency-Key` is remembered: a retry within it gets the first answer.
    pub idempotency_window_ms: u64,
    /// Keys remembered at most; past it the oldest are forgotten first.
    pub max_idempotency_keys: usize,
    /// A plugin whose calls time out this many times in a row is suspended ...
    pub suspend_plugin_after_timeouts: u32,
    /// ... for this long, doubled each time it times out again after resuming (at most an hour).
    pub plugin_suspension_ms: u64,
    /// A PEM certificate chain: with `tls_key`, the listener (and `--syslog tls://`) speaks TLS
    /// only. `--tls-cert` overrides it; relative paths are under the data directory.
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:7070".into(),
            tokens: Vec::new(),
            max_body_bytes: 16 << 20,
            requests_per_second: 200,
            burst: 400,
            request_timeout_ms: 30_000,
            max_pending_records: 200_000,
            commit_interval_ms: 500,
            max_connections: 1024,
            idle_timeout_ms: 30_000,
            max_tail_streams: 32,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 20_000,
            max_concurrent_queries: 8,
            max_queued_queries: 64,
            max_concurrent_ingests: 4,
            auth_failures_allowed: 20,
            auth_failure_window_ms: 10_000,
            auth_lockout_ms: 60_000,
            idempotency_window_ms: 86_400_000,
            max_idempotency_keys: 100_000,
            suspend_plugin_after_timeouts: 3,
            plugin_suspension_ms: 60_000,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// The `[index]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IndexSettings {
    /// Delete records older than this after every import (`30d`, `12h`, `2w`); none keeps all.
    pub retain: Option<String>,
}

/// The `[cluster]` table (see `docs/cluster.md`); `serve --cluster`, `--store`, `--roles` and
/// `--node-id` override the first four.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSettings {
    /// The NATS server with JetStream (`nats://127.0.0.1:4222`); none runs a single node.
    pub nats: Option<String>,
    /// Where index pieces live: `s3://BUCKET/PREFIX` (with `AWS_ENDPOINT_URL`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`) or `file:///path`.
    pub store: Option<String>,
    /// What this node does: any of `ingest`, `index`, `search`.
    pub roles: Vec<String>,
    /// This node's name in the cluster (default: the host name and the data directory's).
    pub node_id: Option<String>,
    /// Partitions of the ingest log; every node of a cluster must agree (fixed at its start).
    pub partitions: u32,
    /// A piece is sealed once it holds this many records…
    pub piece_records: usize,
    /// …or once its oldest record waited this long (ms).
    pub piece_age_ms: u64,
    /// Pieces of one generation merged into one piece of the next (0 or 1: never merged).
    pub merge_factor: usize,
    /// A piece of this many records or more is merged no further.
    pub merged_records: u64,
    /// How long an indexer's hold on a partition lasts without renewal (ms).
    pub lease_ms: u64,
    /// How long JetStream remembers a message id, so a retried request is stored once (s).
    pub duplicate_window_s: u64,
    /// The ingest log's size limit; past it, ingest is refused (nothing old is dropped).
    pub max_log_bytes: i64,
    /// How long the ingest log keeps a record (s), indexed or not: what bounds its size while
    /// indexers keep up. An indexer down for longer loses what it had not indexed.
    pub max_log_age_s: u64,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        Self {
            nats: None,
            store: None,
            roles: vec!["ingest".into(), "index".into(), "search".into()],
            node_id: None,
            partitions: 8,
            piece_records: 100_000,
            piece_age_ms: 10_000,
            merge_factor: 10,
            merged_records: 1_000_000,
            lease_ms: 15_000,
            duplicate_window_s: 1_200,
            max_log_bytes: 10 << 30,
            max_log_age_s: 7 * 24 * 3600,
        }
    }
}

/// The `[feedback]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedbackSettings {
    /// The log source of each report component spelled differently from it
    /// (`"Checkout UI" = "checkout"`; case ignored). Any other component names its source itself.
    pub component_sources: BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            version: CONFIG_VERSION,
            plugins: PluginSettings::default(),
            index: IndexSettings::default(),
            serve: ServeSettings::default(),
            feedback: FeedbackSettings::default(),
            alerts: Vec::new(),
            receivers: Vec::new(),
            alerting: AlertingSettings::default(),
            metrics: LogMetricsSettings::default(),
            cluster: ClusterSettings::default(),
        }
    }
}

/// The `[plugins]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginSettings {
    /// A directory of extra `*.wasm` plugins; relative paths are under the data directory.
    /// Default: `plugins` in the data directory.
    pub dir: Option<PathBuf>,
    /// Names of plugins (built-in or not) that must not run.
    pub disabled: Vec<String>,
    /// Limits every plugin call runs under.
    pub limits: PluginLimits,
    /// Per-plugin settings, handed to the plugin's `init` as key/value strings.
    pub config: BTreeMap<String, BTreeMap<String, String>>,
}

impl Settings {
    /// Reads `path`; a missing file means the defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(source) => {
                return Err(ConfigError::Read { path: path.to_path_buf(), source });
            }
        };
        Self::parse(path, &text)
    }

    /// Parses configuration text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let settings: Settings = toml::from_str(text).map_err(|source| {
            // The one key every file needs is the one a first file forgets: say what to add
            // rather than serde's "missing field" at line 1.
            let names_version = source.message().contains("missing field `version`");
            if names_version && !text.lines().any(|line| line.trim_start().starts_with("version")) {
                ConfigError::NoVersion { path: path.to_path_buf() }
            } else {
                ConfigError::Parse { path: path.to_path_buf(), source }
            }
        })?;
        if settings.version != CONFIG_VERSION {
            return Err(ConfigError::Version { path: path.to_path_buf(), found: settings.version });
        }
        if let Some(retain) = &settings.index.retain {
            crate::ingest::parse_span(retain).map_err(|reason| ConfigError::Value {
                path: path.to_path_buf(),
                key: "index.retain",
                reason,
            })?;
        }
        settings.check_alerts().map_err(|(key, reason)| ConfigError::Value {
            path: path.to_path_buf(),
            key,
            reason,
        })?;
        Ok(settings)
    }

    /// Every rule names known receivers of its own subject's kinds; names are unique; URLs are
    /// HTTP(S). The key and the reason of the first problem.
    fn check_alerts(&self) -> Result<(), (&'static str, String)> {
        let mut receivers = std::collections::BTreeSet::new();
        for receiver in &self.receivers {
            if !receivers.insert(receiver.name.as_str()) {
                return Err(("receivers", format!("two receivers are named `{}`", receiver.name)));
            }
            if !(receiver.url.starts_with("http://") || receiver.url.starts_with("https://")) {
                return Err((
                    "receivers",
                    format!("receiver `{}`: url `{}` is not http:// or https://", receiver.name, receiver.url),
                ));
            }
        }
        let mut rules = std::collections::BTreeSet::new();
        for rule in &self.alerts {
            if !rules.insert(rule.name.as_str()) {
                return Err(("alerts", format!("two rules are named `{}`", rule.name)));
            }
            if rule.receivers.is_empty() {
                return Err(("alerts", format!("rule `{}` names no receivers", rule.name)));
            }
            if let Some(unknown) = rule.receivers.iter().find(|name| !receivers.contains(name.as_str())) {
                let known: Vec<&str> = receivers.iter().copied().collect();
                return Err((
                    "alerts",
                    format!(
                        "rule `{}` names receiver `{unknown}`, which no [[receivers]] table defines (defined: {})",
                        rule.name,
                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                    ),
                ));
            }
            if rule.on == AlertSubject::Items
                && let Some(kind) = rule
                    .kinds
                    .iter()
                    .find(|kind| !["bug", "incident", "regression", "request"].contains(&kind.as_str()))
            {
                return Err((
                    "alerts",
                    format!("rule `{}`: `{kind}` is not an item kind (bug, incident, regression, request)", rule.name),
                ));
            }
            crate::ingest::parse_span(&rule.quiet_for)
                .map_err(|reason| ("alerts", format!("rule `{}`: quiet_for: {reason}", rule.name)))?;
        }
        Ok(())
    }

    /// The settings handed to plugin `name`'s `init`.
    pub fn plugin_config(&self, name: &str) -> Vec<(String, String)> {
        self.plugins.config.get(name).map(|pairs| pairs.clone().into_iter().collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_and_documents_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../opsloop.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let settings = Settings::parse(&path, &text).unwrap();
        assert_eq!(settings.plugins.limits.timeout_ms, 10_000);
        assert_eq!(settings.plugin_config("patterns"), vec![("similarity".to_string(), "0.5".to_string())]);
        assert_eq!(settings.index.retain, None);
        assert_eq!(settings.serve.tokens[0].role, Role::Admin);
        assert_eq!(settings.serve.max_body_bytes, ServeSettings::default().max_body_bytes);
        assert_eq!(settings.alerting, AlertingSettings::default());
        assert_eq!(settings.metrics, LogMetricsSettings::default());
        assert_eq!(settings.alerts.len(), 2);
        assert_eq!(settings.alerts[1].on, AlertSubject::Anomalies);
        for key in [
            "version",
            "dir",
            "disabled",
            "timeout_ms",
            "memory_bytes",
            "output_bytes",
            "log_bytes",
            "retain",
            "listen",
            "tokens",
            "max_body_bytes",
            "requests_per_second",
            "burst",
            "request_timeout_ms",
            "max_pending_records",
            "commit_interval_ms",
            "max_connections",
            "idle_timeout_ms",
            "max_tail_streams",
            "header_read_timeout_ms",
            "body_read_timeout_ms",
            "max_concurrent_queries",
            "max_queued_queries",
            "max_concurrent_ingests",
            "auth_failures_allowed",
            "auth_failure_window_ms",
            "auth_lockout_ms",
            "idempotency_window_ms",
            "max_idempotency_keys",
            "suspend_plugin_after_timeouts",
            "plugin_suspension_ms",
            "tls_cert",
            "tls_key",
            "page_url",
            "retry_initial_ms",
            "max_attempts",
            "timeout_ms",
            "resend_ms",
            "receivers",
            "headers",
            "statuses",
            "min_impact",
            "min_score",
            "kinds",
            "sources",
            "quiet_for",
            "max_sources",
            "patterns_per_source",
        ] {
            assert!(text.contains(&format!("# {key}")) || text.contains(&format!("{key} =")), "{key} undocumented");
        }
    }

    #[test]
    fn an_unknown_key_is_an_error_that_names_it() {
        let error = Settings::parse(Path::new("x.toml"), "version = 1\n[plugins]\ntimeout = 5\n").unwrap_err();
        assert!(error.to_string().contains("timeout"), "{error}");
    }

    #[test]
    fn a_bad_retention_span_is_refused_with_its_key() {
        let error = Settings::parse(Path::new("x.toml"), "version = 1\n[index]\nretain = \"a month\"\n").unwrap_err();
        assert!(error.to_string().contains("index.retain"), "{error}");
    }

    #[test]
    fn alert_rules_must_name_defined_receivers_and_item_kinds() {
        let receiver = "[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9\"\n";
        let error = Settings::parse(
            Path::new("x.toml"),
            &format!("version = 1\n{receiver}[[alerts]]\nname = \"r\"\non = \"items\"\nreceivers = [\"pager\"]\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("receiver `pager`") && error.contains("defined: hook"), "{error}");
        let error = Settings::parse(
            Path::new("x.toml"),
            &format!(
                "version = 1\n{receiver}[[alerts]]\nname = \"r\"\non = \"items\"\nkinds = [\"bugs\"]\nreceivers = [\"hook\"]\n"
            ),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("`bugs` is not an item kind"), "{error}");
        let error = Settings::parse(
            Path::new("x.toml"),
            "version = 1\n[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"ftp://x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("not http:// or https://"), "{error}");
    }

    #[test]
    fn a_future_version_is_refused() {
        let error = Settings::parse(Path::new("x.toml"), "version = 2\n").unwrap_err();
        assert!(matches!(error, ConfigError::Version { found: 2, .. }));
    }

    #[test]
    fn a_file_without_its_version_says_what_to_add() {
        let error = Settings::parse(Path::new("x.toml"), "[plugins.config.tagger]\nwords = \"a\"\n").unwrap_err();
        assert!(error.to_string().contains("add `version = 1` as its first line"), "{error}");
    }
}
