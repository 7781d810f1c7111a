//! Setting aside a plugin that keeps timing out. Every call of a looping plugin costs its whole
//! deadline on the writer; after `suspend_plugin_after_timeouts` timeouts in a row the plugin
//! is suspended for `plugin_suspension_ms` (records and reports are indexed without its
//! annotations meanwhile), then tried again. A timeout right after resuming suspends it again
//! for twice as long, up to an hour; a call that succeeds forgives everything.
//!
//! In: the calls and failures of each batch ([`BatchAnalysis`]). Out: which plugins are
//! suspended, until when.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::pipeline::BatchAnalysis;
use crate::plugin::PluginError;

/// The longest suspension.
const MAX_SUSPENSION: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Default)]
pub struct PluginStanding {
    /// Calls that timed out since the last one that did not.
    pub consecutive_timeouts: u32,
    /// Suspensions since the last call that did not time out.
    pub suspensions: u32,
    pub suspended_until: Option<Instant>,
    /// The same time, as a wall-clock time (RFC 3339) for people.
    pub suspended_until_text: Option<String>,
}

/// The standing of every plugin that timed out.
pub struct Suspensions {
    after: u32,
    base: Duration,
    standings: BTreeMap<String, PluginStanding>,
}

impl Suspensions {
    pub fn new(after_timeouts: u32, base: Duration) -> Self {
        Self { after: after_timeouts.max(1), base: base.max(Duration::from_millis(1)), standings: BTreeMap::new() }
    }

    /// Counts a batch's calls; the plugins newly suspended by it.
    pub fn observe(&mut self, analysis: &BatchAnalysis) -> Vec<String> {
        let now = Instant::now();
        let mut timed_out: BTreeMap<&str, u32> = BTreeMap::new();
        for (plugin, error) in &analysis.failures {
            if matches!(error, PluginError::Timeout { .. }) {
                *timed_out.entry(plugin.as_str()).or_default() += 1;
            }
        }
        let mut calls: BTreeMap<&str, u32> = BTreeMap::new();
        for (plugin, _) in &analysis.calls {
            *calls.entry(plugin.as_str()).or_default() += 1;
        }
        let mut suspended = Vec::new();
        for (plugin, count) in calls {
            let timeouts = timed_out.get(plugin).copied().unwrap_or(0);
            if timeouts < count {
                // At least one call ended in time: forgiven.
                self.standings.remove(plugin);
                continue;
            }
            let standing = self.standings.entry(plugin.to_string()).or_default();
            standing.consecutive_timeouts += timeouts;
            let resumed = standing.suspensions > 0;
            if standing.suspended_until.is_none() && (resumed || standing.consecutive_timeouts >= self.after) {
                let factor = 1u32 << standing.suspensions.min(16);
                let length = self.base.saturating_mul(factor).min(MAX_SUSPENSION);
                standing.suspensions += 1;
                standing.suspended_until = Some(now + length);
                standing.suspended_until_text = Some(
                    (chrono::Utc::now() + chrono::Duration::from_std(length).unwrap_or_default())
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                );
                tracing::warn!(
                    plugin,
                    timeouts = standing.consecutive_timeouts,
                    suspended_ms = length.as_millis() as u64,
                    "plugin suspended after repeated timeouts; records are indexed without it meanwhile"
                );
                suspended.push(plugin.to_string());
            }
        }
        suspended
    }

    /// Ends the suspensions that are over; the plugins resumed.
    pub fn resume_due(&mut self) -> Vec<String> {
        let now = Instant::now();
        let mut resumed = Vec::new();
        for (plugin, standing) in &mut self.standings {
            if standing.suspended_until.is_some_and(|until| until <= now) {
                standing.suspended_until = None;
                standing.suspended_until_text = None;
                tracing::info!(plugin = %plugin, "plugin resumed after its suspension");
                resumed.push(plugin.clone());
            }
        }
        resumed
    }

    /// The plugins suspended now.
    pub fn suspended(&self) -> impl Iterator<Item = &str> {
        self.standings.iter().filter(|(_, standing)| standing.suspended_until.is_some()).map(|(name, _)| name.as_str())
    }

    pub fn standing(&self, plugin: &str) -> Option<&PluginStanding> {
        self.standings.get(plugin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(plugin: &str, timeouts: usize, successes: usize) -> BatchAnalysis {
        let mut analysis = BatchAnalysis::default();
        for _ in 0..timeouts + successes {
            analysis.calls.push((plugin.into(), Duration::from_millis(1)));
        }
        for _ in 0..timeouts {
            let error = PluginError::Timeout { plugin: plugin.into(), call: "process-logs", limit_ms: 1 };
            analysis.failures.push((plugin.into(), error));
        }
        analysis
    }

    #[test]
    fn repeated_timeouts_suspend_resuming_is_on_probation_and_a_success_forgives() {
        let mut suspensions = Suspensions::new(3, Duration::from_millis(40));
        assert!(suspensions.observe(&batch("loop", 1, 0)).is_empty());
        assert!(suspensions.observe(&batch("loop", 1, 0)).is_empty());
        assert_eq!(suspensions.observe(&batch("loop", 1, 0)), ["loop"]);
        assert_eq!(suspensions.suspended().collect::<Vec<_>>(), ["loop"]);
        assert!(suspensions.resume_due().is_empty());
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(suspensions.resume_due(), ["loop"]);
        // One timeout after resuming suspends it again, for twice as long.
        assert_eq!(suspensions.observe(&batch("loop", 1, 0)), ["loop"]);
        std::thread::sleep(Duration::from_millis(50));
        assert!(suspensions.resume_due().is_empty(), "80 ms this time");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(suspensions.resume_due(), ["loop"]);
        assert!(suspensions.observe(&batch("loop", 1, 1)).is_empty());
        assert!(suspensions.standing("loop").is_none(), "a call in time forgives");
        assert!(suspensions.observe(&batch("other", 0, 5)).is_empty());
    }
}
