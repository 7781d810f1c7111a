//! Line formats: detecting them and turning one line into a [`Record`].

use serde_json::{Map, Value};

use super::record::{Origin, Record, normalize_level};
use super::timestamp::parse_timestamp;

/// How the lines of an input are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Decide per file from its first non-empty lines.
    Auto,
    /// Each line whole is the message.
    Raw,
    /// One JSON object per line.
    Json,
}

/// Keys that hold the time, level and message in JSON logs (as Vector, Loki and the common
/// logging libraries write them), in order of preference.
const TIME_KEYS: &[&str] = &["timestamp", "@timestamp", "time", "ts", "datetime", "date"];
const LEVEL_KEYS: &[&str] = &["level", "severity", "lvl", "loglevel", "log.level"];
const MESSAGE_KEYS: &[&str] = &["message", "msg", "log", "text", "@message"];

impl Format {
    /// The format of a file whose first non-empty line is `sample`.
    pub fn detect(sample: &[u8]) -> Format {
        let trimmed = sample.trim_ascii_start();
        if trimmed.starts_with(b"{") && serde_json::from_slice::<Map<String, Value>>(sample).is_ok()
        {
            Format::Json
        } else {
            Format::Raw
        }
    }

    /// Parses one line (already valid UTF-8 and not empty) into a record, or says why not.
    pub fn parse(self, text: &str, source: &str, origin: Origin) -> Result<Record, String> {
        match self {
            Format::Raw | Format::Auto => Ok(Record::new(source, text.to_string(), origin)),
            Format::Json => parse_json(text, source, origin),
        }
    }
}

fn take_first(object: &mut Map<String, Value>, keys: &[&str]) -> Option<Value> {
    keys.iter().find_map(|key| object.remove(*key))
}

fn parse_json(text: &str, source: &str, origin: Origin) -> Result<Record, String> {
    let mut object: Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err("invalid JSON: not an object".into()),
        Err(error) => return Err(format!("invalid JSON: {error}")),
    };
    let timestamp_ms = match take_first(&mut object, TIME_KEYS) {
        None => None,
        Some(value) => match parse_timestamp(&value) {
            Some(ms) => Some(ms),
            None => return Err(format!("unreadable timestamp {value}")),
        },
    };
    let level = take_first(&mut object, LEVEL_KEYS).map(|value| match value {
        Value::String(text) => normalize_level(&text),
        other => normalize_level(&other.to_string()),
    });
    let message = match take_first(&mut object, MESSAGE_KEYS) {
        Some(Value::String(text)) => text,
        Some(other) => other.to_string(),
        // No message key: keep the whole line as the message, so nothing is lost.
        None => text.to_string(),
    };
    let mut record = Record::new(source, message, origin);
    record.timestamp_ms = timestamp_ms;
    record.level = level;
    record.fields = object;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            file: "app.log".into(),
            line: 7,
        }
    }

    #[test]
    fn json_aliases_become_record_fields_and_the_rest_stays_structured() {
        let line = r#"{"ts":"2024-05-01T10:00:00.250Z","lvl":"warning","msg":"disk slow","disk":{"name":"sda","ms":812}}"#;
        let record = Format::Json.parse(line, "api", origin()).unwrap();
        assert_eq!(record.timestamp_ms, Some(1_714_557_600_250));
        assert_eq!(record.level.as_deref(), Some("WARN"));
        assert_eq!(record.message, "disk slow");
        assert_eq!(record.fields["disk"]["ms"], 812);
        assert_eq!(record.origin, origin());
    }

    #[test]
    fn bad_json_is_rejected_with_the_parser_reason() {
        let error = Format::Json
            .parse("{\"msg\": ", "api", origin())
            .unwrap_err();
        assert!(error.starts_with("invalid JSON"), "{error}");
    }

    #[test]
    fn detection_tells_json_from_text() {
        assert_eq!(Format::detect(br#"{"msg":"x"}"#), Format::Json);
        assert_eq!(Format::detect(b"{not json"), Format::Raw);
        assert_eq!(Format::detect(b"2024-01-01 INFO started"), Format::Raw);
    }
}
