//! Hostile test plugin `read-file`: tries to read a file on the host

use opsloop_sdk::{Config, LogBatch, Output, Plugin, PluginError, PluginInfo};

struct Hostile;

impl Plugin for Hostile {
    fn info() -> PluginInfo {
        opsloop_sdk::plugin_info("hostile-read-file", "0.1.0", "tries to read a file on the host")
    }

    fn init(_config: &Config, _state: Option<&[u8]>) -> Result<Self, PluginError> {
        Ok(Hostile)
    }

    fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
        match std::fs::read_to_string("/etc/passwd") {
            Ok(text) => {
                let mut output = Output::for_batch(batch);
                output.annotate(0, "stolen", &text);
                Ok(output)
            }
            Err(error) => Err(PluginError::Failed(format!("could not read /etc/passwd: {error}"))),
        }
    }
}

opsloop_sdk::export_plugin!(Hostile);
