//! Reading timestamps into milliseconds since the Unix epoch, UTC: RFC 3339 / ISO 8601, epoch
//! numbers, and the layouts logs write at the start of a line (syslog, `yyMMdd HHmmss`,
//! `yy/MM/dd HH:mm:ss`, `yyyyMMdd-HH:mm:ss:SSS`, ...), and the dates bug trackers export
//! (Jira's `dd/MMM/yy HH:mm` and `dd/MMM/yy h:mm a`, `yyyy-MM-dd HH:mm`). A layout without a
//! year takes the current year, as syslog daemons do; one without an offset is UTC.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, NaiveDateTime};
use regex::Regex;
use serde_json::Value;

/// The earliest time the index can store (it keeps nanoseconds in an `i64`):
/// 1677-09-21T00:12:44Z, rounded up to a whole millisecond.
pub const MIN_TIMESTAMP_MS: i64 = i64::MIN / 1_000_000 + 1;
/// The latest time the index can store: 2262-04-11T23:47:16Z, rounded down.
pub const MAX_TIMESTAMP_MS: i64 = i64::MAX / 1_000_000;

/// Whether the index can store `ms` as it is; a time outside would wrap around silently.
pub fn storable(ms: i64) -> bool {
    (MIN_TIMESTAMP_MS..=MAX_TIMESTAMP_MS).contains(&ms)
}

/// Reads RFC 3339 / ISO 8601 text (with or without a zone; none means UTC) or an epoch number
/// in seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude).
pub fn parse_timestamp(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_f64().map(epoch_to_millis),
        Value::String(text) => parse_timestamp_text(text),
        _ => None,
    }
}

/// Layouts with a year, tried in order (after RFC 3339).
const LAYOUTS: &[&str] =
    &["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f %z", "%d/%b/%Y:%H:%M:%S %z"];
const NAIVE_LAYOUTS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    // Two-digit years first: `%Y` would read `17/06/09` as the year 17.
    "%y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S%.f",
    "%y%m%d %H%M%S",
    "%Y%m%d-%H:%M:%S:%3f",
    "%Y%m%d-%H:%M:%S",
    "%Y-%m-%d-%H.%M.%S%.f",
    // Sun Dec 04 04:47:44 2005 (C's ctime, as Apache's error log writes it; 2.4 adds microseconds)
    "%a %b %d %H:%M:%S%.f %Y",
    // Without seconds, as Jira's ISO date setting writes them.
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
];
/// Jira's export layouts after the month (`30/Sep/21 17:20`, `30/Sep/21 5:20 PM`, with a
/// four-digit year or seconds too). Two-digit years first, for the reason above.
const JIRA_LAYOUTS: &[&str] = &[
    "%d/%b/%y %H:%M",
    "%d/%b/%y %H:%M:%S",
    "%d/%b/%y %I:%M %p",
    "%d/%b/%y %I:%M:%S %p",
    "%d/%b/%Y %H:%M",
    "%d/%b/%Y %H:%M:%S",
    "%d/%b/%Y %I:%M %p",
    "%d/%b/%Y %I:%M:%S %p",
];
/// Layouts without a year; the current year is put in front.
const YEARLESS_LAYOUTS: &[&str] = &["%Y %b %d %H:%M:%S%.f", "%Y %b %d %Y %H:%M:%S"];

/// Like [`parse_timestamp`], for text in any of the layouts this module knows.
pub fn parse_timestamp_text(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') && text.len() >= 9 {
        return text.parse::<f64>().ok().map(epoch_to_millis);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_millis());
    }
    // A decimal comma (`18:01:47,978`) reads as a point.
    let text = comma_fraction(text);
    for layout in LAYOUTS {
        if let Ok(time) = DateTime::parse_from_str(&text, layout) {
            return Some(time.timestamp_millis());
        }
    }
    for layout in NAIVE_LAYOUTS {
        if let Ok(time) = NaiveDateTime::parse_from_str(&text, layout) {
            return Some(time.and_utc().timestamp_millis());
        }
    }
    if let Some(ms) = parse_healthapp(&text) {
        return Some(ms);
    }
    if let Some(ms) = parse_jira(&text) {
        return Some(ms);
    }
    if let Some(ms) = HEADER_LAYOUTS
        .iter()
        .find_map(|layout| NaiveDateTime::parse_from_str(&text, layout).ok())
        .map(|time| time.and_utc().timestamp_millis())
    {
        return Some(ms);
    }
    // A date alone (MantisBT's `Date Submitted`), at midnight UTC.
    if let Ok(date) = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0).map(|time| time.and_utc().timestamp_millis());
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let now = chrono::Utc::now();
    let with_year = format!("{} {collapsed}", now.year());
    for layout in YEARLESS_LAYOUTS {
        if let Ok(time) = NaiveDateTime::parse_from_str(&with_year, layout) {
            return Some(in_the_last_year(time, now));
        }
    }
    None
}

/// Reads a span like `30s`, `15m`, `2h`, `7d`, `1w` as milliseconds.
pub fn parse_span(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let units: &[(char, i64)] = &[('s', 1_000), ('m', 60_000), ('h', 3_600_000), ('d', 86_400_000), ('w', 604_800_000)];
    let unit = text.chars().last().ok_or("an empty span")?;
    let (_, millis) = units
        .iter()
        .find(|(name, _)| *name == unit)
        .ok_or_else(|| format!("`{text}`: a span ends in s, m, h, d or w"))?;
    let amount: i64 = text[..text.len() - 1]
        .parse()
        .map_err(|_| format!("`{text}`: a span is a whole number and a unit, like 15m"))?;
    if amount <= 0 {
        return Err(format!("`{text}`: a span must be positive"));
    }
    // Longer than every storable time lies from another: no span means anything past that.
    amount
        .checked_mul(*millis)
        .filter(|span| *span <= MAX_TIMESTAMP_MS - MIN_TIMESTAMP_MS)
        .ok_or_else(|| format!("`{text}`: a span longer than the index's whole time range (about 584 years)"))
}

fn comma_fraction(text: &str) -> std::borrow::Cow<'_, str> {
    static COMMA: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(\d{2}:\d{2}:\d{2}),(\d)").unwrap());
    if text.contains(',') { COMMA.replace(text, "$1.$2") } else { std::borrow::Cow::Borrowed(text) }
}

/// The timestamp layouts recognised at the start of a line.
const LEADING_PATTERNS: &[&str] = &[
    // 2024-05-01T10:00:00.123Z, 2015-10-18 18:01:47,978, [2024-05-01 10:00:00 +0200]
    r"^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z| ?[+-]\d{2}:?\d{2})?)\]?",
    // 2024/05/01 10:00:00 (nginx error log)
    r"^\[?(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:[.,]\d+)?)\]?",
    // 17/06/09 20:10:40 (Spark)
    r"^(\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})",
    // 081109 203615 (HDFS)
    r"^(\d{6} \d{6})\b",
    // 20171223-22:15:29:606 (HealthApp)
    r"^(\d{8}-\d{1,2}:\d{1,2}:\d{1,2}(?::\d{1,3})?)",
    // [Sun Dec 04 04:47:44 2005] (Apache error log, C's ctime)
    r"^\[?((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4})\]?",
    // Jun 14 15:16:01 (syslog, no year)
    r"^([A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)?)",
];

static LEADING: LazyLock<Vec<Regex>> =
    LazyLock::new(|| LEADING_PATTERNS.iter().map(|pattern| Regex::new(pattern).unwrap()).collect());

/// All leading layouts in one automaton, for the yes/no question asked of every line.
static LEADING_ANY: LazyLock<regex::RegexSet> = LazyLock::new(|| regex::RegexSet::new(LEADING_PATTERNS).unwrap());

/// Whether `line` starts with something shaped like a timestamp (one pass, no captures).
pub fn has_leading_timestamp(line: &str) -> bool {
    leading_iso(line.as_bytes()).is_some() || LEADING_ANY.is_match(line)
}

/// The first of [`LEADING_PATTERNS`] (ISO 8601, the most common layout) matched by hand: the
/// byte range of the time text and the end of the whole match. The regex engine's captures
/// cost more per line than the rest of parsing the line.
fn leading_iso(line: &[u8]) -> Option<(usize, usize, usize)> {
    let digits =
        |from: usize, count: usize| line.get(from..from + count).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let byte_is = |at: usize, wanted: &[u8]| line.get(at).is_some_and(|b| wanted.contains(b));
    let from = usize::from(line.first() == Some(&b'['));
    let mut at = from;
    // yyyy-MM-dd[T ]HH:mm:ss
    for (count, separator) in [(4, b"-" as &[u8]), (2, b"-"), (2, b"T "), (2, b":"), (2, b":")] {
        if !digits(at, count) || !byte_is(at + count, separator) {
            return None;
        }
        at += count + 1;
    }
    if !digits(at, 2) {
        return None;
    }
    at += 2;
    // (?:[.,]\d+)?
    if byte_is(at, b".,") && digits(at + 1, 1) {
        at += 1;
        while digits(at, 1) {
            at += 1;
        }
    }
    // (?:Z| ?[+-]\d{2}:?\d{2})?
    if byte_is(at, b"Z") {
        at += 1;
    } else {
        let sign = at + usize::from(byte_is(at, b" "));
        if byte_is(sign, b"+-") && digits(sign + 1, 2) {
            let minutes = sign + 3 + usize::from(byte_is(sign + 3, b":"));
            if digits(minutes, 2) {
                at = minutes + 2;
            }
        }
    }
    let end = at + usize::from(byte_is(at, b"]"));
    Some((from, at, end))
}

/// A timestamp at the very start of `line`: its value and the byte offset where the rest of
/// the line begins.
pub fn leading_timestamp(line: &str) -> Option<(i64, usize)> {
    if let Some((from, to, end)) = leading_iso(line.as_bytes())
        && let Some(ms) = parse_timestamp_text(&line[from..to])
    {
        return Some((ms, end));
    }
    for layout in LEADING.iter() {
        if let Some(captures) = layout.captures(line) {
            let whole = captures.get(0)?;
            let text = captures.get(1)?.as_str();
            if let Some(ms) = parse_timestamp_text(text) {
                return Some((ms, whole.end()));
            }
        }
    }
    None
}

/// `20171223-22:15:35:11`-style times (HealthApp) whose fields are not zero-padded; the last
/// field is milliseconds.
fn parse_healthapp(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('-')?;
    let parts: Vec<&str> = time.split(':').collect();
    if date.len() != 8 || parts.len() < 3 {
        return None;
    }
    let millis = parts.get(3).map_or("0", |v| v);
    let normalized = format!("{date}-{:0>2}:{:0>2}:{:0>2}:{:0>3}", parts[0], parts[1], parts[2], millis);
    NaiveDateTime::parse_from_str(&normalized, "%Y%m%d-%H:%M:%S:%3f").ok().map(|t| t.and_utc().timestamp_millis())
}

/// Month names as Jira writes them in an export for a user of another language (Java's short
/// month names, old and CLDR forms; a trailing dot dropped, accents as written or left out):
/// German, French, Spanish, Italian, Dutch and Portuguese. Each is one month in every language
/// that has it, and none is an English month's abbreviation for another month.
const OTHER_MONTHS: &[(&str, usize)] = &[
    ("jän", 0),
    ("janv", 0),
    ("ene", 0),
    ("gen", 0),
    ("févr", 1),
    ("fevr", 1),
    ("fév", 1),
    ("fev", 1),
    ("mär", 2),
    ("märz", 2),
    ("mrz", 2),
    ("maerz", 2),
    ("mars", 2),
    ("mrt", 2),
    ("avr", 3),
    ("abr", 3),
    ("mai", 4),
    ("mei", 4),
    ("mag", 4),
    ("juni", 5),
    ("juin", 5),
    ("giu", 5),
    ("juli", 6),
    ("juil", 6),
    ("lug", 6),
    ("août", 7),
    ("aout", 7),
    ("ago", 7),
    ("set", 8),
    ("okt", 9),
    ("ott", 9),
    ("out", 9),
    ("dez", 11),
    ("déc", 11),
    ("dic", 11),
];

/// Jira's `dd/MMM/yy HH:mm` and `dd/MMM/yy h:mm a` (see [`JIRA_LAYOUTS`]): English month
/// names in any case, short (`Sep`, and `Sept` as Java writes it for English (UK)) or in
/// full, or as [`OTHER_MONTHS`] has them (`30/Okt/21`, `30/déc./21`); any run of whitespace (a
/// no-break space before `PM`) reads as one space.
fn parse_jira(text: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let (day, rest) = text.split_once('/')?;
    let (month, rest) = rest.split_once('/')?;
    if day.is_empty() || day.len() > 2 {
        return None;
    }
    let month = month.trim_end_matches('.').to_lowercase();
    let known = |name: &str| name.starts_with(&month) && (month.len() == 3 || month == "sept" || month == name);
    let number = MONTHS
        .iter()
        .position(|name| known(name))
        .or_else(|| OTHER_MONTHS.iter().find(|(name, _)| *name == month).map(|(_, number)| *number))?;
    let month = &MONTHS[number][..3];
    let rest = rest.split_whitespace().collect::<Vec<_>>().join(" ");
    let normalized = format!("{day}/{month}/{rest}");
    JIRA_LAYOUTS
        .iter()
        .find_map(|layout| NaiveDateTime::parse_from_str(&normalized, layout).ok())
        .map(|time| time.and_utc().timestamp_millis())
}

/// Layouts with a year that the text format does not read at a line's start: a line's header
/// may hold them (see [`parse_header_time`]), and trackers export them (Azure DevOps writes
/// `12/6/2024 9:58:00 AM`).
const HEADER_LAYOUTS: &[&str] = &[
    // 07-Dec-2024 10:00:03.123 (Tomcat's default)
    "%d-%b-%Y %H:%M:%S%.f",
    // 07 Dec 2024 10:00:03,123 (log4j's DATE)
    "%d %b %Y %H:%M:%S%.f",
    // 12/07/2024 10:00:03 PM: with AM or PM the month comes first (US .NET and Java defaults)
    "%m/%d/%Y %I:%M:%S%.f %p",
    "%m/%d/%Y %I:%M %p",
    // 07/12/2024 22:00:03: on a 24-hour clock the day comes first (most other locales)
    "%d/%m/%Y %H:%M:%S%.f",
    "%d.%m.%Y %H:%M:%S%.f",
    // Without seconds, as trackers export dates in those locales (Redmine: `03.12.2026 14:12`).
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M",
    "%Y.%m.%d %H:%M:%S%.f",
    // Dec 03, 2026 10:01:06 AM (java.util.logging's SimpleFormatter)
    "%b %d, %Y %I:%M:%S %p",
    // 261203 10:01:38 (MySQL 5's error log)
    "%y%m%d %H:%M:%S",
];
/// Layouts without a year a header may hold, each with what joins the current year put in
/// front to the text.
const YEARLESS_HEADER_LAYOUTS: &[(&str, char)] = &[
    // 03-17 16:13:38.811 (Android logcat)
    ("%Y-%m-%d %H:%M:%S%.f", '-'),
    // 10.30 16:49:06 (Proxifier)
    ("%Y.%m.%d %H:%M:%S%.f", '.'),
];

/// Which reading of [`parse_header_time`] read a time: a file's next lines try it first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderTime {
    Epoch,
    /// [`parse_timestamp_text`].
    Text,
    /// This one of [`HEADER_LAYOUTS`].
    Layout(usize),
    /// This one of [`YEARLESS_HEADER_LAYOUTS`].
    Yearless(usize),
}

/// A time as a log line's header writes it, away from the line's start or not, and how it was
/// read: an epoch number of 10 digits (seconds, a fraction allowed) or 13 (milliseconds)
/// between 2001 and 2100 and nothing else, so a process id or a count is never read as a
/// time; the layouts [`parse_timestamp_text`] reads; [`HEADER_LAYOUTS`] and
/// [`YEARLESS_HEADER_LAYOUTS`].
pub fn parse_header_time(text: &str) -> Option<(i64, HeaderTime)> {
    let text = text.trim();
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return epoch_in_header(text).map(|ms| (ms, HeaderTime::Epoch));
    }
    // The layouts first: the text's own are tried after many others, and a line's next times
    // are read the way the first was.
    let ways = (0..HEADER_LAYOUTS.len())
        .map(HeaderTime::Layout)
        .chain((0..YEARLESS_HEADER_LAYOUTS.len()).map(HeaderTime::Yearless))
        .chain([HeaderTime::Text]);
    ways.into_iter().find_map(|way| read_header_time(text, way).map(|ms| (ms, way)))
}

/// Reads a header's time one way only (see [`parse_header_time`]).
pub fn read_header_time(text: &str, way: HeaderTime) -> Option<i64> {
    let text = text.trim();
    match way {
        HeaderTime::Epoch => epoch_in_header(text),
        _ if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') => None,
        // A date alone is no record's time.
        HeaderTime::Text => parse_timestamp_text(text).filter(|_| text.contains(':')),
        HeaderTime::Layout(index) => NaiveDateTime::parse_from_str(&comma_fraction(text), HEADER_LAYOUTS.get(index)?)
            .ok()
            .map(|time| time.and_utc().timestamp_millis()),
        HeaderTime::Yearless(index) => {
            let (layout, joiner) = YEARLESS_HEADER_LAYOUTS.get(index)?;
            let now = chrono::Utc::now();
            let with_year = format!("{}{joiner}{}", now.year(), comma_fraction(text));
            NaiveDateTime::parse_from_str(&with_year, layout).ok().map(|time| in_the_last_year(time, now))
        }
    }
}

/// `time` read without a year, put in the current one: as rsyslog does, a time more than two
/// days ahead is from last year.
pub fn in_the_last_year(time: NaiveDateTime, now: DateTime<chrono::Utc>) -> i64 {
    let time = if time.and_utc() > now + chrono::Duration::days(2) {
        time.with_year(now.year() - 1).unwrap_or(time)
    } else {
        time
    };
    time.and_utc().timestamp_millis()
}

/// An epoch number in a header: 10 digits of seconds (with a fraction or not) or 13 of
/// milliseconds, from 2001-09-09 to 2100.
fn epoch_in_header(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let plausible = match whole.len() {
        10 => fraction.bytes().all(|b| b.is_ascii_digit()),
        13 => fraction.is_empty(),
        _ => false,
    };
    if !plausible || whole.starts_with('0') {
        return None;
    }
    let number: f64 = text.parse().ok()?;
    let ms = epoch_to_millis(number);
    (1_000_000_000_000..4_102_444_800_000).contains(&ms).then_some(ms)
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
    use proptest::prelude::*;

    #[test]
    fn a_span_past_the_storable_range_is_refused_not_wrapped() {
        assert_eq!(parse_span("2w"), Ok(2 * 604_800_000));
        assert!(parse_span("9223372036854775807w").unwrap_err().contains("longer than"));
        assert!(parse_span("100000w").unwrap_err().contains("longer than"));
        assert!(parse_span("30000w").is_ok());
    }

    #[test]
    fn the_storable_range_is_what_nanoseconds_in_an_i64_hold() {
        assert!(storable(0) && storable(MIN_TIMESTAMP_MS) && storable(MAX_TIMESTAMP_MS));
        assert!(!storable(MAX_TIMESTAMP_MS + 1) && !storable(MIN_TIMESTAMP_MS - 1) && !storable(i64::MIN));
        assert!(!storable(parse_timestamp_text("9999-12-31T23:59:59Z").unwrap()));
        assert!(!storable(parse_timestamp_text("0000-01-01T00:00:00Z").unwrap()));
        assert!(storable(parse_timestamp_text("2262-04-11T00:00:00Z").unwrap()));
    }

    /// What the regex this hand matcher replaces says: (time text range, end of match).
    fn iso_by_regex(line: &str) -> Option<(usize, usize, usize)> {
        let captures = LEADING[0].captures(line)?;
        let text = captures.get(1)?;
        Some((text.start(), text.end(), captures.get(0)?.end()))
    }

    #[test]
    fn the_iso_matcher_agrees_with_its_regex() {
        for line in [
            "2024-05-01T10:00:00.123Z x",
            "2024-05-01 10:00:00,978 INFO",
            "[2024-05-01 10:00:00] ERROR",
            "[2024-05-01 10:00:00 +0200] x",
            "2024-05-01T10:00:00+02:00",
            "2024-05-01T10:00:00 -0730 y",
            "2024-05-01T10:00:00+02:0",
            "2024-05-01T10:00:00+0",
            "2024-05-01T10:00:00. x",
            "2024-05-01T10:00:0",
            "2024-05-01X10:00:00",
            "x2024-05-01T10:00:00",
            "",
        ] {
            assert_eq!(leading_iso(line.as_bytes()), iso_by_regex(line), "{line:?}");
        }
    }

    proptest! {
        #[test]
        fn the_iso_matcher_agrees_with_its_regex_on_any_line(
            line in "\\[?[0-9]{4}-[0-9]{2}-[0-9]{2}[T x][0-9]{2}:[0-9]{2}:[0-9]{1,2}[0-9.,:Z +\\-\\]x]{0,12}",
        ) {
            prop_assert_eq!(leading_iso(line.as_bytes()), iso_by_regex(&line));
        }
    }

    fn utc(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    #[test]
    fn epoch_units_are_told_apart_by_magnitude() {
        let expected = 1_714_557_600_000;
        for value in ["1714557600", "1714557600000", "1714557600000000", "1714557600000000000"] {
            assert_eq!(parse_timestamp_text(value), Some(expected), "{value}");
        }
    }

    #[test]
    fn zones_are_converted_to_utc_and_naive_times_are_utc() {
        assert_eq!(parse_timestamp_text("2024-05-01T12:00:00+02:00"), Some(1_714_557_600_000));
        assert_eq!(parse_timestamp_text("2024-05-01 10:00:00.5"), Some(1_714_557_600_500));
        assert_eq!(parse_timestamp_text("01/May/2024:12:00:00 +0200"), Some(1_714_557_600_000));
        assert_eq!(parse_timestamp_text("yesterday"), None);
    }

    #[test]
    fn tracker_export_dates() {
        let at_1720 = utc("2021-09-30T17:20:00Z");
        for text in [
            "30/Sep/21 17:20",
            "30/Sep/21 5:20 PM",
            "30/sep/21 5:20 pm",
            "30/SEP/2021 17:20",
            "30/Sept/21 05:20 PM",
            "30/September/2021 5:20\u{202f}PM",
            "2021-09-30 17:20",
            "2021-09-30T17:20:00.000Z",
            "2021-09-30T19:20:00.000+0200",
            "2021-09-30T19:20:00+02:00",
            "2021-09-30 17:20:00+00:00",
        ] {
            assert_eq!(parse_timestamp_text(text), Some(at_1720), "{text}");
        }
        assert_eq!(parse_timestamp_text("30/Sep/21 17:20:45"), Some(at_1720 + 45_000));
        assert_eq!(parse_timestamp_text("30/Sep/21 5:20:45 AM"), Some(utc("2021-09-30T05:20:45Z")));
        assert_eq!(parse_timestamp_text("01/Jan/21 12:05 AM"), Some(utc("2021-01-01T00:05:00Z")));
        assert_eq!(parse_timestamp_text("1/Jan/99 12:05 PM"), Some(utc("1999-01-01T12:05:00Z")));
        assert_eq!(parse_timestamp_text("2024-05-01T10:00:00.123+02:00"), Some(utc("2024-05-01T08:00:00.123Z")));
        // Another language's month names, as Jira exports them for its users.
        for (text, month) in [
            ("30/Okt/21 17:20", "2021-10-30"),
            ("03/Mär/21 17:20", "2021-03-03"),
            ("03/März/21 17:20", "2021-03-03"),
            ("30/Dez./21 17:20", "2021-12-30"),
            ("30/déc./21 17:20", "2021-12-30"),
            ("12/févr./21 17:20", "2021-02-12"),
            ("12/ago/21 17:20", "2021-08-12"),
            ("12/mrt./21 17:20", "2021-03-12"),
            ("12/out./21 17:20", "2021-10-12"),
            ("12/Mai/21 17:20", "2021-05-12"),
        ] {
            assert_eq!(parse_timestamp_text(text), Some(utc(&format!("{month}T17:20:00Z"))), "{text}");
        }
        for unreadable in ["31/Feb/21 10:00", "30/Foo/21 10:00", "30/Sep/21", "30/Sep/21 17:20 PM", "not a date"] {
            assert_eq!(parse_timestamp_text(unreadable), None, "{unreadable}");
        }
    }

    #[test]
    fn leading_timestamps_of_the_common_layouts() {
        let cases = [
            ("081109 203615 148 INFO x", "2008-11-09T20:36:15Z", 13),
            ("17/06/09 20:10:40 INFO x", "2017-06-09T20:10:40Z", 17),
            ("2015-10-18 18:01:47,978 INFO x", "2015-10-18T18:01:47.978Z", 23),
            ("2024-05-01T10:00:00.123Z level=info", "2024-05-01T10:00:00.123Z", 24),
            ("20171223-22:15:29:606|Step_LSC|x", "2017-12-23T22:15:29.606Z", 21),
            ("[2024-05-01 10:00:00] ERROR x", "2024-05-01T10:00:00Z", 21),
            ("[Sun Dec 04 04:47:44 2005] [error] mod_jk x", "2005-12-04T04:47:44Z", 26),
            ("[Wed Oct 11 14:32:52.123456 2000] [core:error] x", "2000-10-11T14:32:52.123456Z", 33),
        ];
        for (line, expected, rest) in cases {
            assert_eq!(leading_timestamp(line), Some((utc(expected), rest)), "{line}");
        }
        let now = chrono::Utc::now();
        let (ms, rest) = leading_timestamp("Jun 14 15:16:01 combo sshd[1]: x").unwrap();
        let this_year = utc(&format!("{}-06-14T15:16:01Z", now.year()));
        let expected = if this_year > now.timestamp_millis() + 2 * 86_400_000 {
            utc(&format!("{}-06-14T15:16:01Z", now.year() - 1))
        } else {
            this_year
        };
        assert_eq!(ms, expected);
        assert!(ms <= now.timestamp_millis() + 2 * 86_400_000, "never in the future");
        assert_eq!(rest, 15);
        assert_eq!(leading_timestamp("148 INFO no time here"), None);
    }
}
