//! The Prometheus metrics `/metrics` exposes: records in and out, rejected lines, plugin calls,
//! errors by kind and time, index size, and query latency.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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
}

impl Default for Metrics {
    fn default() -> Self {
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
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}
