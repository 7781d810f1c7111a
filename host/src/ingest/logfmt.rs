//! logfmt: `key=value key2="quoted value"` pairs; the same time, level and message aliases as
//! JSON lines.

use serde_json::{Map, Value};

use super::json::record_from_object;
use super::record::{Origin, Record};

/// The pairs of a logfmt line, or `None` when fewer than two well-formed pairs make up the line.
pub fn pairs(line: &str) -> Option<Vec<(String, String)>> {
    let bytes = line.as_bytes();
    let mut pairs = Vec::new();
    let mut bare_words = 0usize;
    let mut at = 0usize;
    while at < bytes.len() {
        while at < bytes.len() && bytes[at] == b' ' {
            at += 1;
        }
        if at >= bytes.len() {
            break;
        }
        let key_start = at;
        while at < bytes.len() && bytes[at] != b'=' && bytes[at] != b' ' {
            at += 1;
        }
        let key = &line[key_start..at];
        if at >= bytes.len() || bytes[at] == b' ' {
            bare_words += 1;
            continue;
        }
        at += 1; // '='
        let value = if at < bytes.len() && bytes[at] == b'"' {
            at += 1;
            let mut value = String::new();
            let mut closed = false;
            while at < bytes.len() {
                match bytes[at] {
                    b'\\' if at + 1 < bytes.len() => {
                        // The escaped character may be several bytes long.
                        let escaped = line[at + 1..].chars().next()?;
                        value.push(match escaped {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                        at += 1 + escaped.len_utf8();
                    }
                    b'"' => {
                        at += 1;
                        closed = true;
                        break;
                    }
                    _ => {
                        let ch = line[at..].chars().next()?;
                        value.push(ch);
                        at += ch.len_utf8();
                    }
                }
            }
            if !closed {
                return None;
            }
            value
        } else {
            let start = at;
            while at < bytes.len() && bytes[at] != b' ' {
                at += 1;
            }
            line[start..at].to_string()
        };
        let valid_key = !key.is_empty()
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'@' | b'/'));
        if !valid_key {
            return None;
        }
        pairs.push((key.to_string(), value));
    }
    (pairs.len() >= 2 && bare_words * 2 <= pairs.len()).then_some(pairs)
}

/// Parses one logfmt line.
pub fn parse(line: &str, source: &str, origin: Origin) -> Result<Record, String> {
    let pairs = pairs(line).ok_or_else(|| "not logfmt: expected key=value pairs".to_string())?;
    let object: Map<String, Value> = pairs.into_iter().map(|(key, value)| (key, Value::String(value))).collect();
    record_from_object(object, line, source, origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_and_aliases() {
        let line = r#"ts=2024-05-01T10:00:00Z level=warn msg="disk \"sda\" slow" latency_ms=812 host=web-1"#;
        let record = parse(line, "api", Origin { file: "f".into(), line: 1 }).unwrap();
        assert_eq!(record.message, "disk \"sda\" slow");
        assert_eq!(record.level.as_deref(), Some("WARN"));
        assert_eq!(record.timestamp_ms, Some(1_714_557_600_000));
        assert_eq!(record.fields["latency_ms"], "812");
        assert_eq!(record.fields["host"], "web-1");
    }

    #[test]
    fn prose_is_not_logfmt() {
        assert!(pairs("user logged in from 10.0.0.1").is_none());
        assert!(pairs("a=1").is_none());
        assert!(pairs(r#"a=1 b="unterminated"#).is_none());
    }
}
