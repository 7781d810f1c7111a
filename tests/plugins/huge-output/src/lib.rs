//! Hostile test plugin `huge-output`: answers every batch with far more output than it was given

use opsloop_sdk::{Config, LogBatch, Output, Plugin, PluginError, PluginInfo};

struct Hostile;

impl Plugin for Hostile {
    fn info() -> PluginInfo {
        opsloop_sdk::plugin_info(
            "hostile-huge-output",
            "0.1.0",
            "answers every batch with far more output than it was given",
        )
    }

    fn init(_config: &Config, _state: Option<&[u8]>) -> Result<Self, PluginError> {
        Ok(Hostile)
    }

    fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
        let mut output = Output::for_batch(batch);
        // About 8 MiB in all, whatever the batch size: well under the memory cap of the tests,
        // far over their output cap.
        let filler = "x".repeat((8 << 20) / batch.len().max(1));
        for index in 0..batch.len() {
            output.annotate(index, "filler", &format!("{index}{filler}"));
        }
        Ok(output)
    }
}

opsloop_sdk::export_plugin!(Hostile);
