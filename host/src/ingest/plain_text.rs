//! Plain text with a leading timestamp and, usually, a level a few tokens later
//! (`2015-10-18 18:01:47,978 INFO [main] ...`, `081109 203615 148 INFO dfs...: ...`,
//! `[2024-05-01 10:00:00] ERROR ...`). The message is what follows the level.

use super::header::leading_time;
use super::record::{Origin, Record, normalize_level};
use super::timestamp::{has_leading_timestamp, leading_timestamp};

const LEVEL_WORDS: &[&str] = &[
    "TRACE",
    "VERBOSE",
    "DEBUG",
    "DBG",
    "INFO",
    "INF",
    "INFORMATION",
    "NOTICE",
    "NOTE",
    "WARN",
    "WARNING",
    "WRN",
    "ERROR",
    "ERR",
    "SEVERE",
    "FATAL",
    "CRITICAL",
    "CRIT",
    "FINE",
    "FINER",
    "FINEST",
    "ALERT",
    "EMERG",
    "PANIC",
];

/// The level a token spells, with brackets, colons and case ignored; a lower-case word counts
/// only in brackets (`[error]`), so prose like "info" is not taken for a level.
pub(super) fn level_word(token: &str) -> Option<String> {
    let word = token.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | ':' | '<' | '>' | ','));
    let bracketed = token.starts_with(['[', '(', '<']);
    let known = LEVEL_WORDS.iter().any(|level| level.eq_ignore_ascii_case(word));
    (known && (bracketed || word.chars().any(|c| c.is_ascii_uppercase()))).then(|| normalize_level(word))
}

/// Whether `line` starts as a date is written (`2026-13-45`, `31/02/2024`: digits in groups
/// joined by `-`, `/` or `.`) whether or not it is one.
fn looks_like_a_date(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("").trim_start_matches('[');
    let groups: Vec<&str> = first.split(['-', '/', '.']).collect();
    groups.len() >= 3 && groups[..3].iter().all(|group| !group.is_empty() && group.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `line` opens with one of the layouts this format is detected by (not one read only
/// because another writer's lines sit among this format's).
pub fn opens_with_its_layout(line: &str) -> bool {
    has_leading_timestamp(line)
}

/// Whether `line` starts with a timestamp this format reads.
pub fn starts_record(line: &str) -> bool {
    has_leading_timestamp(line) || other_leading_time(line).is_some()
}

/// A time in another layout at the start of a line of a text file (`07/12/2024 10:00:03 WARN`
/// between ISO lines: a second writer), read as the header format reads one: the time and
/// where the rest of the line begins. Only lines that open with a digit are tried, so a stack
/// trace line costs nothing.
fn other_leading_time(line: &str) -> Option<(i64, usize)> {
    if !line.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    leading_time(line)
}

/// Parses one line that starts with a timestamp.
pub fn parse(line: &str, source: &str, origin: Origin) -> Result<Record, String> {
    let (timestamp_ms, rest_at) = leading_timestamp(line).or_else(|| other_leading_time(line)).ok_or_else(|| {
        if looks_like_a_date(line) {
            "unreadable timestamp at the start of the line (not a real date or time)".to_string()
        } else {
            "no timestamp at the start of the line".to_string()
        }
    })?;
    let rest = line[rest_at..].trim_start_matches([' ', '\t', ',', '|', '-', ':']);
    let mut level = None;
    let mut message_at = 0usize;
    let mut scanned = 0usize;
    // Fields may be separated by `|` or tabs too (`2024-12-07 10:00:00|ERROR|payments|…`,
    // Jenkins' `… [id=1]\tINFO\thudson.WebAppMain#…`).
    for token in rest.split([' ', '|', '\t']).take(4) {
        if let Some(found) = level_word(token) {
            level = Some(found);
            message_at = scanned + token.len();
            break;
        }
        scanned += token.len() + 1;
    }
    let message =
        if level.is_some() { rest[message_at.min(rest.len())..].trim_start_matches([' ', '\t', '|']) } else { rest };
    let mut record = Record::new(source, message.to_string(), origin);
    record.timestamp_ms = Some(timestamp_ms);
    record.level = level;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin::for_tests()
    }

    #[test]
    fn a_date_that_is_not_one_is_called_unreadable_and_no_date_is_called_missing() {
        let unreadable = parse("2026-13-45 99:99:99,000 INFO [worker-3] impossible date", "s", origin()).unwrap_err();
        assert!(unreadable.starts_with("unreadable timestamp at the start of the line"), "{unreadable}");
        let missing = parse("worker-3 started without a date", "s", origin()).unwrap_err();
        assert_eq!(missing, "no timestamp at the start of the line");
    }

    #[test]
    fn level_after_the_timestamp_or_a_few_tokens_later() {
        let hdfs =
            parse("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating", "s", origin())
                .unwrap();
        assert_eq!(hdfs.level.as_deref(), Some("INFO"));
        assert_eq!(hdfs.message, "dfs.DataNode$PacketResponder: PacketResponder 1 terminating");
        let hadoop = parse("2015-10-18 18:01:47,978 WARN [main] org.apache.Foo: slow", "s", origin()).unwrap();
        assert_eq!(hadoop.level.as_deref(), Some("WARN"));
        assert_eq!(hadoop.message, "[main] org.apache.Foo: slow");
        let bracketed = parse("[2024-05-01 10:00:00] [error] upstream timed out", "s", origin()).unwrap();
        assert_eq!(bracketed.level.as_deref(), Some("ERROR"));
        assert_eq!(bracketed.message, "upstream timed out");
    }

    #[test]
    fn an_apache_error_log_line_gives_its_time_level_and_message() {
        let record =
            parse("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6", "httpd", origin())
                .unwrap();
        assert_eq!(record.timestamp_ms, Some(1_133_671_664_000));
        assert_eq!(record.level.as_deref(), Some("ERROR"));
        assert_eq!(record.message, "mod_jk child workerEnv in error state 6");
    }

    #[test]
    fn a_line_in_another_layout_starts_a_record_of_its_own() {
        let other = "07/12/2024 10:00:03 WARN fourth line";
        assert!(starts_record(other));
        let record = parse(other, "s", origin()).unwrap();
        assert_eq!(record.timestamp_ms, Some(1_733_565_603_000), "day first: 7 December");
        assert_eq!((record.level.as_deref(), record.message.as_str()), (Some("WARN"), "fourth line"));
        assert!(!starts_record("42 more frames omitted"), "a count is not a time");
        assert!(!starts_record("\tat com.example.Foo.bar(Foo.java:42)"));
    }

    #[test]
    fn a_level_between_pipes_or_tabs_is_read() {
        let record = parse("2024-12-07 10:00:00|ERROR|payments|charge failed for order 123", "s", origin()).unwrap();
        assert_eq!(record.level.as_deref(), Some("ERROR"));
        assert_eq!(record.message, "payments|charge failed for order 123");
        let tabbed =
            parse("2024-12-07 10:00:03.123+0000 [id=1]\tINFO\thudson.WebAppMain: started", "s", origin()).unwrap();
        assert_eq!((tabbed.level.as_deref(), tabbed.message.as_str()), (Some("INFO"), "hudson.WebAppMain: started"));
    }

    #[test]
    fn without_a_level_the_rest_is_the_message() {
        let record = parse("2024-05-01T10:00:00Z cache warmed in 3s", "s", origin()).unwrap();
        assert_eq!(record.level, None);
        assert_eq!(record.message, "cache warmed in 3s");
        assert!(parse("no time here", "s", origin()).is_err());
    }
}
