//! Fixture plugin `noop`: asks for the message column and returns nothing, so timing it
//! measures only the cost of crossing the boundary (lowering the batch, the empty answer).

use opsloop_sdk::{Config, LogBatch, Output, Plugin, PluginError, PluginInfo};

struct Noop;

impl Plugin for Noop {
    fn info() -> PluginInfo {
        opsloop_sdk::plugin_info("noop", "0.1.0", "does nothing with the messages it is sent")
    }

    fn init(_config: &Config, _state: Option<&[u8]>) -> Result<Self, PluginError> {
        Ok(Noop)
    }

    fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
        Ok(Output::for_batch(batch))
    }
}

opsloop_sdk::export_plugin!(Noop);
