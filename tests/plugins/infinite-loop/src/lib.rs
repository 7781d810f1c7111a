//! Hostile test plugin `infinite-loop`: spins forever on every batch

use opsloop_sdk::{Config, LogBatch, Output, Plugin, PluginError, PluginInfo};

struct Hostile;

impl Plugin for Hostile {
    fn info() -> PluginInfo {
        opsloop_sdk::plugin_info("hostile-infinite-loop", "0.1.0", "spins forever on every batch")
    }

    fn init(_config: &Config, _state: Option<&[u8]>) -> Result<Self, PluginError> {
        Ok(Hostile)
    }

    fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
        let mut spins: u64 = batch.len() as u64;
        loop {
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
    }
}

opsloop_sdk::export_plugin!(Hostile);
