//! The record: one log event as it flows from a parser, through the plugins, into the index.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

/// Where a record came from: a file (or `-` for stdin) and its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    pub file: String,
    pub line: u64,
}

#[cfg(test)]
impl Origin {
    /// An origin for parser tests.
    pub(crate) fn for_tests() -> Self {
        Self { file: "f".into(), line: 1 }
    }
}

/// One log event.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// Milliseconds since the Unix epoch, UTC; `None` when the line carried no time.
    pub timestamp_ms: Option<i64>,
    /// Normalized severity (`TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL`, or as written).
    pub level: Option<String>,
    /// The app, service or file set the record belongs to.
    pub source: String,
    pub message: String,
    /// Structured fields (from JSON, logfmt, or a pattern's named placeholders).
    pub fields: Map<String, Value>,
    pub origin: Origin,
    /// What plugins wrote about the record, e.g. `pattern` and `template`. Shared strings: a
    /// batch's records point at one copy of each distinct value a plugin returned.
    pub annotations: BTreeMap<Arc<str>, Arc<str>>,
}

impl Record {
    /// A record with only a message.
    pub fn new(source: &str, message: String, origin: Origin) -> Self {
        Self {
            timestamp_ms: None,
            level: None,
            source: source.to_string(),
            message,
            fields: Map::new(),
            origin,
            annotations: BTreeMap::new(),
        }
    }
}

/// The canonical spelling of a severity: common aliases fold to `TRACE`, `DEBUG`, `INFO`,
/// `WARN`, `ERROR`, `FATAL`; anything else is kept, upper-cased.
pub fn normalize_level(level: &str) -> String {
    let upper = level.trim().to_ascii_uppercase();
    match upper.as_str() {
        "TRC" | "TRACE" | "FINEST" | "FINER" => "TRACE",
        "DBG" | "DEBUG" | "FINE" => "DEBUG",
        "INF" | "INFO" | "INFORMATION" | "NOTICE" => "INFO",
        "WRN" | "WARN" | "WARNING" => "WARN",
        "ERR" | "ERROR" | "SEVERE" => "ERROR",
        "FTL" | "FATAL" | "CRIT" | "CRITICAL" | "EMERG" | "ALERT" | "PANIC" => "FATAL",
        _ => return upper,
    }
    .to_string()
}
