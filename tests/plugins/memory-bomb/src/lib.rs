//! Hostile test plugin `memory-bomb`: allocates without bound on every batch

use opsloop_sdk::{Config, LogBatch, Output, Plugin, PluginError, PluginInfo};

struct Hostile;

impl Plugin for Hostile {
    fn info() -> PluginInfo {
        opsloop_sdk::plugin_info("hostile-memory-bomb", "0.1.0", "allocates without bound on every batch")
    }

    fn init(_config: &Config, _state: Option<&[u8]>) -> Result<Self, PluginError> {
        Ok(Hostile)
    }

    fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut block = vec![0u8; 16 << 20];
            block[batch.len() % (16 << 20)] = 1;
            hoard.push(std::hint::black_box(block));
        }
    }
}

opsloop_sdk::export_plugin!(Hostile);
