//! Syslog: RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`) and RFC 3164 / BSD
//! (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`, the PRI optional as in files written by
//! rsyslog). The severity in PRI becomes the level.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::record::{Origin, Record, normalize_level};
use super::timestamp::parse_timestamp_text;

static RFC5424: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+) ?(.*)$").unwrap()
});
static RFC3164: LazyLock<Regex> = LazyLock::new(|| {
    // The tag may hold spaces (`Microsoft Word[14463]:`); the optional ` (...)` after TAG[PID]
    // is what macOS writes (`sandboxd[129] ([31211]):`);
    // `(?s)` lets a joined continuation line ride along in the message.
    Regex::new(r"(?s)^(?:<(\d{1,3})>)?([A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}) (\S+) ([^:\[\]]{1,64}?)(?:\[(\d+)\])?(?: \((?:[^()]|\([^()]*\))*\))?: ?(.*)$")
        .unwrap()
});
static SD_PARAM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"(\S+?)="((?:[^"\\]|\\.)*)""#).unwrap());
static SD_ELEMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[(\S+)((?:[^\]\\]|\\.)*)\]").unwrap());

/// The level of a syslog severity (PRI mod 8).
pub fn level_of(pri: &str) -> Option<String> {
    let severity = pri.parse::<u32>().ok()? % 8;
    Some(
        match severity {
            0..=2 => "FATAL",
            3 => "ERROR",
            4 => "WARN",
            5 | 6 => "INFO",
            _ => "DEBUG",
        }
        .to_string(),
    )
}

fn set(fields: &mut Map<String, Value>, key: &str, value: &str) {
    if value != "-" && !value.is_empty() {
        fields.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// A structured-data parameter value with RFC 5424's escapes (`\"`, `\\`, `\]`) undone; a
/// backslash before anything else stays, as the RFC says.
fn unescape_param(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(&next @ ('"' | '\\' | ']'))) => {
                out.push(next);
                chars.next();
            }
            (c, _) => out.push(c),
        }
    }
    out
}

/// Whether `line` has the shape of an RFC 5424 or RFC 3164 line (one regex pass each, no
/// captures): what deciding "does this line start a record" needs, without a full parse.
pub fn starts_record(line: &str) -> bool {
    RFC5424.is_match(line) || RFC3164.is_match(line)
}

/// Parses an RFC 5424 line.
pub fn parse_rfc5424(line: &str, source: &str, origin: Origin) -> Result<Record, String> {
    let captures = RFC5424.captures(line).ok_or("not RFC 5424 syslog")?;
    let text = |i: usize| captures.get(i).map_or("", |m| m.as_str());
    let mut record = Record::new(source, text(8).trim_start_matches('\u{feff}').to_string(), origin);
    record.level = level_of(text(1));
    if text(2) != "-" {
        record.timestamp_ms =
            Some(parse_timestamp_text(text(2)).ok_or_else(|| format!("unreadable timestamp: {}", text(2)))?);
    }
    set(&mut record.fields, "host", text(3));
    set(&mut record.fields, "app", text(4));
    set(&mut record.fields, "procid", text(5));
    set(&mut record.fields, "msgid", text(6));
    for element in SD_ELEMENT.captures_iter(text(7)) {
        let id = &element[1];
        for param in SD_PARAM.captures_iter(&element[2]) {
            set(&mut record.fields, &format!("{id}.{}", &param[1]), &unescape_param(&param[2]));
        }
    }
    Ok(record)
}

/// Parses an RFC 3164 (BSD) line; the year is the current one.
pub fn parse_rfc3164(line: &str, source: &str, origin: Origin) -> Result<Record, String> {
    let captures = RFC3164.captures(line).ok_or("not RFC 3164 syslog")?;
    let text = |i: usize| captures.get(i).map_or("", |m| m.as_str());
    let mut record = Record::new(source, text(6).to_string(), origin);
    record.level = match captures.get(1) {
        Some(pri) => level_of(pri.as_str()),
        None => level_prefix(&record.message),
    };
    record.timestamp_ms =
        Some(parse_timestamp_text(text(2)).ok_or_else(|| format!("unreadable timestamp: {}", text(2)))?);
    set(&mut record.fields, "host", text(3));
    set(&mut record.fields, "app", text(4));
    set(&mut record.fields, "pid", text(5));
    Ok(record)
}

/// The level a message without a PRI names by its first word, as Unix programs write one
/// (`error: Received disconnect …` from sshd, `fatal: …`, `warning: …`).
fn level_prefix(message: &str) -> Option<String> {
    const WORDS: [&str; 9] = ["error", "fatal", "warning", "warn", "notice", "info", "debug", "crit", "critical"];
    let (word, _) = message.split_once(": ")?;
    WORDS.iter().any(|known| word.eq_ignore_ascii_case(known)).then(|| normalize_level(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin { file: "syslog".into(), line: 1 }
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let line = r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event"#;
        let record = parse_rfc5424(line, "s", origin()).unwrap();
        assert_eq!(record.message, "An application event");
        assert_eq!(record.level.as_deref(), Some("INFO"));
        assert_eq!(record.timestamp_ms, Some(1_065_910_455_003));
        assert_eq!(record.fields["host"], "mymachine.example.com");
        assert_eq!(record.fields["app"], "evntslog");
        assert_eq!(record.fields["msgid"], "ID47");
        assert_eq!(record.fields["exampleSDID@32473.eventSource"], "Application");
        assert!(!record.fields.contains_key("procid"));
        let line = r#"<165>1 2003-10-11T22:14:15.003Z h app - - [x@1 k="a\"b\]c\\d\e"] m"#;
        assert_eq!(parse_rfc5424(line, "s", origin()).unwrap().fields["x@1.k"], r#"a"b]c\d\e"#);
    }

    #[test]
    fn rfc3164_with_and_without_pri() {
        let record = parse_rfc3164(
            "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
            "s",
            origin(),
        )
        .unwrap();
        assert_eq!(record.level.as_deref(), Some("FATAL"));
        assert_eq!(record.fields["app"], "su");
        assert_eq!(record.message, "'su root' failed for lonvick on /dev/pts/8");
        let record = parse_rfc3164(
            "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname=",
            "s",
            origin(),
        )
        .unwrap();
        assert_eq!(record.fields["app"], "sshd(pam_unix)");
        assert_eq!(record.fields["pid"], "19939");
        assert_eq!(record.level, None);
        assert_eq!(record.message, "authentication failure; logname=");
        // Without a PRI, a level word opening the message is its level.
        let record = parse_rfc3164(
            "Dec 10 11:04:41 LabSZ sshd[25534]: error: Received disconnect from 103.99.0.122: 14: No more user authentication methods available. [preauth]",
            "s",
            origin(),
        )
        .unwrap();
        assert_eq!(record.level.as_deref(), Some("ERROR"));
        assert!(record.message.starts_with("error: Received disconnect"), "the message as written");
    }
}
