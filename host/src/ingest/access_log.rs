//! Apache / Nginx access logs, common and combined: the request, status and sizes become
//! fields, the status class the level (5xx ERROR, 4xx WARN, else INFO), and the whole line
//! stays the message.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::record::{Origin, Record};
use super::timestamp::parse_timestamp_text;

static ACCESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?"#).unwrap()
});

/// Parses one access-log line.
pub fn parse(line: &str, source: &str, origin: Origin) -> Result<Record, String> {
    let captures = ACCESS.captures(line).ok_or("not an access log line")?;
    let text = |i: usize| captures.get(i).map_or("", |m| m.as_str());
    let mut record = Record::new(source, line.to_string(), origin);
    record.timestamp_ms =
        Some(parse_timestamp_text(text(4)).ok_or_else(|| format!("unreadable timestamp: {}", text(4)))?);
    let status: u16 = text(6).parse().map_err(|_| "unreadable status")?;
    record.level = Some(
        match status {
            500.. => "ERROR",
            400..=499 => "WARN",
            _ => "INFO",
        }
        .to_string(),
    );
    let fields = &mut record.fields;
    let mut put = |key: &str, value: &str| {
        if value != "-" && !value.is_empty() {
            fields.insert(key.to_string(), Value::String(value.to_string()));
        }
    };
    put("client", text(1));
    put("user", text(3));
    let mut request = text(5).splitn(3, ' ');
    put("method", request.next().unwrap_or(""));
    put("path", request.next().unwrap_or(""));
    put("protocol", request.next().unwrap_or(""));
    put("referer", text(8));
    put("user_agent", text(9));
    fields.insert("status".into(), Value::from(status));
    if let Ok(bytes) = text(7).parse::<u64>() {
        fields.insert("bytes".into(), Value::from(bytes));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_log_format() {
        let line = r#"203.0.113.9 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 503 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;
        let record = parse(line, "web", Origin { file: "access.log".into(), line: 3 }).unwrap();
        assert_eq!(record.timestamp_ms, Some(971_211_336_000));
        assert_eq!(record.level.as_deref(), Some("ERROR"));
        assert_eq!(record.fields["method"], "GET");
        assert_eq!(record.fields["path"], "/apache_pb.gif");
        assert_eq!(record.fields["status"], 503);
        assert_eq!(record.fields["bytes"], 2326);
        assert_eq!(record.fields["user"], "frank");
        assert_eq!(record.fields["user_agent"], "Mozilla/4.08 [en] (Win98; I ;Nav)");
        assert_eq!(record.message, line);
    }

    #[test]
    fn common_log_format_without_size() {
        let record = parse(
            r#"::1 - - [10/Oct/2000:13:55:36 +0000] "HEAD / HTTP/1.1" 404 -"#,
            "web",
            Origin { file: "a".into(), line: 1 },
        )
        .unwrap();
        assert_eq!(record.level.as_deref(), Some("WARN"));
        assert!(!record.fields.contains_key("bytes"));
    }
}
