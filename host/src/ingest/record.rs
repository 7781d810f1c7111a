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
/// `WARN`, `ERROR`, `FATAL`, and so do the one-letter codes of glog/klog and Android's logcat
/// (`V` `D` `I` `W` `E` `F`, logcat's `A` for assert) where a field holds the level; anything
/// else is kept, upper-cased.
pub fn normalize_level(level: &str) -> String {
    const ALIASES: &[(&str, &[&str])] = &[
        ("TRACE", &["TRC", "TRACE", "VERBOSE", "FINEST", "FINER", "V"]),
        ("DEBUG", &["DBG", "DEBUG", "FINE", "D"]),
        ("INFO", &["INF", "INFO", "INFORMATION", "NOTICE", "NOTE", "I"]),
        ("WARN", &["WRN", "WARN", "WARNING", "W"]),
        ("ERROR", &["ERR", "ERROR", "SEVERE", "E"]),
        ("FATAL", &["FTL", "FATAL", "CRIT", "CRITICAL", "EMERG", "ALERT", "PANIC", "F", "A"]),
    ];
    // Compared without upper-casing first: one allocation per record, not two.
    let level = level.trim();
    let canonical = ALIASES
        .iter()
        .find(|(_, aliases)| aliases.iter().any(|alias| alias.eq_ignore_ascii_case(level)))
        .map(|(canonical, _)| *canonical);
    canonical.map_or_else(|| level.to_ascii_uppercase(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::normalize_level;

    #[test]
    fn levels_fold_to_their_canonical_spelling_in_any_case() {
        for (written, canonical) in [
            ("warning", "WARN"),
            (" Wrn ", "WARN"),
            ("err", "ERROR"),
            ("SEVERE", "ERROR"),
            ("notice", "INFO"),
            ("Finest", "TRACE"),
            ("Verbose", "TRACE"),
            ("Note", "INFO"),
            ("fine", "DEBUG"),
            ("crit", "FATAL"),
            ("info", "INFO"),
            ("E", "ERROR"),
            ("w", "WARN"),
            ("I", "INFO"),
            ("F", "FATAL"),
        ] {
            assert_eq!(normalize_level(written), canonical, "{written:?}");
        }
    }

    #[test]
    fn unknown_levels_are_kept_upper_cased() {
        assert_eq!(normalize_level(" audit"), "AUDIT");
        assert_eq!(normalize_level("warnings"), "WARNINGS");
        assert_eq!(normalize_level("X"), "X");
    }
}
