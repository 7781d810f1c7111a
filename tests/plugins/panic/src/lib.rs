//! Hostile test plugin `panic`: panics on every batch

use opsloop_sdk::{Config, LogBatch, Output, Plugin, PluginError, PluginInfo};

struct Hostile;

impl Plugin for Hostile {
    fn info() -> PluginInfo {
        opsloop_sdk::plugin_info("hostile-panic", "0.1.0", "panics on every batch")
    }

    fn init(_config: &Config, _state: Option<&[u8]>) -> Result<Self, PluginError> {
        Ok(Hostile)
    }

    fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
        panic!("hostile plugin gave up on a batch of {} records", batch.len())
    }
}

opsloop_sdk::export_plugin!(Hostile);
