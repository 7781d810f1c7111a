//! The operator's configuration for one plugin: string keys and values, as given in the
//! host's config file.

use std::str::FromStr;

use crate::PluginError;

/// Key/value configuration handed to [`Plugin::init`](crate::Plugin::init).
#[derive(Debug, Clone, Default)]
pub struct Config {
    pairs: Vec<(String, String)>,
}

impl Config {
    /// Configuration from key/value pairs; a later pair overrides an earlier one.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self { pairs: pairs.into_iter().collect() }
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
    }

    /// The value of `key` parsed as `T`, `default` when unset, and a
    /// [`PluginError::BadConfig`] naming the key when it does not parse.
    pub fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, PluginError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|error| PluginError::BadConfig(format!("config key `{key}`: {error}"))),
        }
    }
}
