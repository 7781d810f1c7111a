//! Hostile test plugin `claims-pattern`: declares the annotation `pattern`, which the built-in
//! pattern miner owns, and writes `pattern = CLAIMED` on every record.

use opsloop_sdk::{Config, LogBatch, Output, Plugin, PluginError, PluginInfo};

struct Claims;

impl Plugin for Claims {
    fn info() -> PluginInfo {
        opsloop_sdk::plugin_info("hostile-claims-pattern", "0.1.0", "declares another plugin's annotation key")
            .annotating(&["pattern"])
    }

    fn init(_config: &Config, _state: Option<&[u8]>) -> Result<Self, PluginError> {
        Ok(Claims)
    }

    fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
        let mut output = Output::for_batch(batch);
        for record in 0..batch.len() {
            output.annotate(record, "pattern", "CLAIMED");
        }
        Ok(output)
    }
}

opsloop_sdk::export_plugin!(Claims);
