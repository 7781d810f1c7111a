//! The Prometheus metrics `/metrics` exposes: records in and out, rejected lines, plugin calls,
//! errors by kind and time, suspended plugins, index size, query latency and queueing,
//! connections open and refused, address lockouts and idempotent replays; and the series the
//! logs themselves make ([`LogSeries`]).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use super::log_series::LogSeries;
use crate::config::LogMetricsSettings;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabel {
    pub plugin: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginErrorLabels {
    pub plugin: String,
    pub kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabel {
    pub endpoint: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub code: String,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~8 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// Every metric the server keeps, registered once.
pub struct Metrics {
    registry: Registry,
    /// Records accepted (API and tailed files), before the plugins.
    pub records_in: Counter,
    /// Records committed to the index.
    pub records_indexed: Counter,
    /// Bug reports committed.
    pub reports_indexed: Counter,
    /// Lines and items rejected, by reason.
    pub rejected: Family<ReasonLabel, Counter>,
    pub plugin_calls: Family<PluginLabel, Counter>,
    pub plugin_errors: Family<PluginErrorLabels, Counter>,
    pub plugin_seconds: Family<PluginLabel, Histogram>,
    pub index_bytes: Gauge,
    pub index_records: Gauge,
    /// Records accepted and not yet handed to the index writer (what `max_pending_records` bounds).
    pub pending_records: Gauge,
    pub commits: Counter,
    pub query_seconds: Family<EndpointLabel, Histogram>,
    /// Requests answered with an error, by its code.
    pub api_errors: Family<StatusLabel, Counter>,
    /// 1 while a plugin is suspended after repeated timeouts, else 0.
    pub plugin_suspended: Family<PluginLabel, Gauge>,
    pub connections_open: Gauge,
    /// Connections answered 503 and closed because `max_connections` were open.
    pub connections_refused: Counter,
    /// Queries waiting for a turn (`max_concurrent_queries` running).
    pub queries_waiting: Gauge,
    /// Queries answered 503 `busy` because the queue was full.
    pub queries_refused: Counter,
    /// Addresses locked out after too many failed authentications.
    pub auth_lockouts: Counter,
    /// Retried requests answered from their `Idempotency-Key` (or a shipper push's own key),
    /// storing nothing again.
    pub idempotent_replays: Counter,
    /// Syslog datagrams the kernel dropped because the receive buffer was full.
    pub syslog_udp_dropped: Counter,
    /// Records, patterns, findings and feedback items, from the data.
    pub log_series: LogSeries,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(&LogMetricsSettings::default())
    }
}

impl Metrics {
    /// Every metric, the log-derived ones within `limits`.
    pub fn new(limits: &LogMetricsSettings) -> Self {
        let records_in = Counter::default();
        let records_indexed = Counter::default();
        let reports_indexed = Counter::default();
        let rejected = Family::<ReasonLabel, Counter>::default();
        let plugin_calls = Family::<PluginLabel, Counter>::default();
        let plugin_errors = Family::<PluginErrorLabels, Counter>::default();
        let plugin_seconds =
            Family::<PluginLabel, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let index_bytes = Gauge::default();
        let index_records = Gauge::default();
        let pending_records = Gauge::default();
        let commits = Counter::default();
        let query_seconds =
            Family::<EndpointLabel, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let api_errors = Family::<StatusLabel, Counter>::default();
        let plugin_suspended = Family::<PluginLabel, Gauge>::default();
        let connections_open = Gauge::default();
        let connections_refused = Counter::default();
        let queries_waiting = Gauge::default();
        let queries_refused = Counter::default();
        let auth_lockouts = Counter::default();
        let idempotent_replays = Counter::default();
        let syslog_udp_dropped = Counter::default();
        let mut registry = Registry::with_prefix("opsloop");
        registry.register("records_in", "Records accepted (API and tailed files)", records_in.clone());
        registry.register("records_indexed", "Records committed to the index", records_indexed.clone());
        registry.register("reports_indexed", "Bug reports committed", reports_indexed.clone());
        registry.register("rejected", "Lines and items rejected, by reason", rejected.clone());
        registry.register("plugin_calls", "Plugin calls", plugin_calls.clone());
        registry.register("plugin_errors", "Plugin calls that failed, by error kind", plugin_errors.clone());
        registry.register("plugin_call_seconds", "Time per plugin call", plugin_seconds.clone());
        registry.register("index_bytes", "Bytes the log index takes on disk", index_bytes.clone());
        registry.register("index_records", "Records in the log index", index_records.clone());
        registry.register(
            "pending_records",
            "Records accepted, not yet handed to the index writer",
            pending_records.clone(),
        );
        registry.register("commits", "Index commits", commits.clone());
        registry.register("query_seconds", "Query latency by endpoint", query_seconds.clone());
        registry.register("api_errors", "Requests answered with an error, by HTTP status", api_errors.clone());
        registry.register("plugin_suspended", "1 while a plugin is suspended after timeouts", plugin_suspended.clone());
        registry.register("connections_open", "HTTP connections open", connections_open.clone());
        registry.register("connections_refused", "Connections refused at max_connections", connections_refused.clone());
        registry.register("queries_waiting", "Queries waiting for a turn", queries_waiting.clone());
        registry.register("queries_refused", "Queries refused with the queue full", queries_refused.clone());
        registry.register("auth_lockouts", "Addresses locked out after failed authentications", auth_lockouts.clone());
        registry.register(
            "idempotent_replays",
            "Retries answered from their Idempotency-Key or a shipper push's own key",
            idempotent_replays.clone(),
        );
        registry.register(
            "syslog_udp_dropped",
            "Syslog datagrams the kernel dropped with the UDP receive buffer full",
            syslog_udp_dropped.clone(),
        );
        let log_series = LogSeries::register(&mut registry, limits);
        Self {
            registry,
            records_in,
            records_indexed,
            reports_indexed,
            rejected,
            plugin_calls,
            plugin_errors,
            plugin_seconds,
            index_bytes,
            index_records,
            pending_records,
            commits,
            query_seconds,
            api_errors,
            plugin_suspended,
            connections_open,
            connections_refused,
            queries_waiting,
            queries_refused,
            auth_lockouts,
            idempotent_replays,
            syslog_udp_dropped,
            log_series,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}
