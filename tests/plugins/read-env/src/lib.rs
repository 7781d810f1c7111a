//! Hostile test plugin `read-env`: tries to read the host environment

use opsloop_sdk::{Config, LogBatch, Output, Plugin, PluginError, PluginInfo};

struct Hostile;

impl Plugin for Hostile {
    fn info() -> PluginInfo {
        opsloop_sdk::plugin_info("hostile-read-env", "0.1.0", "tries to read the host environment")
    }

    fn init(_config: &Config, _state: Option<&[u8]>) -> Result<Self, PluginError> {
        Ok(Hostile)
    }

    fn process_logs(&mut self, batch: &LogBatch) -> Result<Output, PluginError> {
        let found: Vec<String> = std::env::vars().map(|(key, value)| format!("{key}={value}")).collect();
        match std::env::var("HOME") {
            Ok(home) => {
                let mut output = Output::for_batch(batch);
                output.annotate(0, "stolen", &format!("{home} {found:?}"));
                Ok(output)
            }
            Err(error) => Err(PluginError::Failed(format!("no HOME: {error}; saw {} vars", found.len()))),
        }
    }
}

opsloop_sdk::export_plugin!(Hostile);
