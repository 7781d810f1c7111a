//! Building a plugin's self-description ([`PluginInfo`]).

use crate::{ConfigKey, Inputs, PluginInfo, RecordColumns};

/// A [`PluginInfo`] for a log plugin that wants only the message column; adjust with the
/// `PluginInfo` methods below or by setting fields.
pub fn plugin_info(name: &str, version: &str, description: &str) -> PluginInfo {
    PluginInfo {
        name: name.to_string(),
        version: version.to_string(),
        description: description.to_string(),
        inputs: Inputs::LOGS,
        wants: RecordColumns::MESSAGE,
        annotates: Vec::new(),
        config: Vec::new(),
    }
}

impl PluginInfo {
    /// Sets the record columns the host should send.
    pub fn wanting(mut self, columns: RecordColumns) -> Self {
        self.wants = columns;
        self
    }

    /// Sets the inputs the plugin consumes.
    pub fn consuming(mut self, inputs: Inputs) -> Self {
        self.inputs = inputs;
        self
    }

    /// Declares the annotation keys the plugin writes.
    pub fn annotating(mut self, keys: &[&str]) -> Self {
        self.annotates = keys.iter().map(|key| key.to_string()).collect();
        self
    }

    /// Declares a configuration key the plugin accepts.
    pub fn with_config(mut self, name: &str, description: &str, default: Option<&str>) -> Self {
        self.config.push(ConfigKey {
            name: name.to_string(),
            description: description.to_string(),
            default_value: default.map(str::to_string),
        });
        self
    }
}
