//! Reading timestamps into milliseconds since the Unix epoch, UTC.

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

/// Reads RFC 3339 / ISO 8601 text (with or without a zone; none means UTC) or an epoch number
/// in seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude).
pub fn parse_timestamp(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_f64().map(epoch_to_millis),
        Value::String(text) => parse_timestamp_text(text),
        _ => None,
    }
}

/// Like [`parse_timestamp`], for text.
pub fn parse_timestamp_text(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(number) = text.parse::<f64>() {
        return Some(epoch_to_millis(number));
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_millis());
    }
    for layout in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
    ] {
        if let Ok(time) = DateTime::parse_from_str(text, layout) {
            return Some(time.timestamp_millis());
        }
    }
    for layout in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S,%f",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, layout) {
            return Some(time.and_utc().timestamp_millis());
        }
    }
    None
}

fn epoch_to_millis(number: f64) -> i64 {
    let magnitude = number.abs();
    let millis = if magnitude < 1e11 {
        number * 1e3
    } else if magnitude < 1e14 {
        number
    } else if magnitude < 1e17 {
        number / 1e3
    } else {
        number / 1e6
    };
    millis.round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_units_are_told_apart_by_magnitude() {
        let expected = 1_714_557_600_000;
        for value in [
            "1714557600",
            "1714557600000",
            "1714557600000000",
            "1714557600000000000",
        ] {
            assert_eq!(parse_timestamp_text(value), Some(expected), "{value}");
        }
    }

    #[test]
    fn zones_are_converted_to_utc_and_naive_times_are_utc() {
        assert_eq!(
            parse_timestamp_text("2024-05-01T12:00:00+02:00"),
            Some(1_714_557_600_000)
        );
        assert_eq!(
            parse_timestamp_text("2024-05-01 10:00:00.5"),
            Some(1_714_557_600_500)
        );
        assert_eq!(parse_timestamp_text("yesterday"), None);
    }
}
