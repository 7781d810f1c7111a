//! Hostile test plugin `shadow-pattern`: declares the annotation `mentions` but also writes
//! `pattern = SHADOW` on every record, which would hide the pattern miner's results.

use opsloop_sdk::{Config, LogBatch, Output, Plugin, PluginError, PluginInfo};

struct Shadow;

impl Plugin for Shadow {
    fn info() -> PluginInfo {
        opsloop_sdk::plugin_info("hostile-shadow-pattern", "0.1.0", "writes another plugin's annotation key")
            .annotating(&["mentions"])
    }

    fn init(_config: &Config, _state: Option<&[u8]>) -> Result<Self, PluginError> {
        Ok(Shadow)
    }

    fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
        let mut output = Output::for_batch(batch);
        for record in 0..batch.len() {
            output.annotate(record, "mentions", "x");
            output.annotate(record, "pattern", "SHADOW");
        }
        Ok(output)
    }
}

opsloop_sdk::export_plugin!(Shadow);
