//! JSON lines: one object per line; the time, level and message keys Vector, Loki and the
//! common logging libraries write are recognised, everything else is kept as fields.

use serde_json::{Map, Value};

use super::record::{Origin, Record, normalize_level};
use super::timestamp::parse_timestamp;

/// Keys that hold the time, level and message, in order of preference.
pub(super) const TIME_KEYS: &[&str] = &["timestamp", "@timestamp", "time", "ts", "datetime", "date", "t"];
pub(super) const LEVEL_KEYS: &[&str] = &["level", "severity", "lvl", "loglevel", "log.level", "levelname"];
pub(super) const MESSAGE_KEYS: &[&str] = &["message", "msg", "log", "text", "@message"];

fn take_first(object: &mut Map<String, Value>, keys: &[&str]) -> Option<Value> {
    keys.iter().find_map(|key| object.remove(*key))
}

/// Builds a record from a parsed object: aliases become the record's time, level and
/// message; the rest stays structured. No message key keeps `line` whole as the message.
pub(super) fn record_from_object(
    mut object: Map<String, Value>,
    line: &str,
    source: &str,
    origin: Origin,
) -> Result<Record, String> {
    let timestamp_ms = match take_first(&mut object, TIME_KEYS) {
        None => None,
        Some(value) => match parse_timestamp(&value) {
            Some(ms) => Some(ms),
            None => return Err(format!("unreadable timestamp: {value}")),
        },
    };
    let level = take_first(&mut object, LEVEL_KEYS).map(|value| match value {
        Value::String(text) => normalize_level(&text),
        other => normalize_level(&other.to_string()),
    });
    let message = match take_first(&mut object, MESSAGE_KEYS) {
        Some(Value::String(text)) => text,
        Some(other) => other.to_string(),
        None => line.to_string(),
    };
    let mut record = Record::new(source, message, origin);
    record.timestamp_ms = timestamp_ms;
    record.level = level;
    record.fields = object;
    Ok(record)
}

/// Parses one JSON line.
pub fn parse(line: &str, source: &str, origin: Origin) -> Result<Record, String> {
    match serde_json::from_str(line) {
        Ok(Value::Object(object)) => record_from_object(object, line, source, origin),
        Ok(_) => Err("invalid JSON: not an object".into()),
        Err(error) => Err(format!("invalid JSON: {error}")),
    }
}
