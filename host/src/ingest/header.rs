//! Plain text whose time is not where the text format looks for it, learned per file from its
//! first lines: a header of whitespace-separated tokens holds the time at the same place on
//! every line (after a flag, a file name or a record number, or first but in a layout written
//! nowhere else), often a level a few tokens later, then the message. Examples of what it reads
//! without being told: Android's logcat (`03-17 16:13:38.811  1702  2395 D Tag: …`), klog and
//! glog (`I1207 10:00:03.123456  1 file.go:12] …`, the level in the time's first letter),
//! Tomcat (`07-Dec-2024 10:00:03.123 SEVERE [main] …`), an epoch number first
//! (`1733600000 WARN …`) or after a flag (`- 1117838570 2005.06.03 R02-M1 … RAS KERNEL INFO …`),
//! a file name before an ISO time (`nova-api.log.1 2017-05-16 00:00:00.008 25746 INFO …`),
//! `[10.30 16:49:06] chrome.exe …`, `12/07/2024 10:00:03 PM [Error] …`.
//!
//! One place per file, not a search per line: a token that merely looks like a time inside a
//! message, or a stack trace line, is never taken for a record's time. The header's other
//! tokens (before the time, and between it and the level) are kept in the `header` field.

use super::plain_text::level_word;
use super::record::{Origin, Record, normalize_level};
use chrono::Datelike;

use super::timestamp::{HeaderTime, in_the_last_year, parse_header_time, read_header_time};

/// The most tokens a header may hold before its time.
const MAX_TOKENS_BEFORE_TIME: usize = 4;
/// The most tokens a time may take (`Dec 03, 2026 10:01:06 AM`).
const MAX_TIME_TOKENS: usize = 5;
/// The most tokens between the time and the level.
const MAX_TOKENS_BEFORE_LEVEL: usize = 7;
/// One-letter levels (Android, klog): verbose, debug, info, warning, error, fatal, assert.
const LEVEL_LETTERS: &str = "VDIWEFA";

/// Where a file's lines hold their time and level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderLayout {
    /// Tokens before the time.
    before_time: usize,
    /// Tokens the time takes.
    time_tokens: usize,
    level: Option<LevelPlace>,
    /// How the first line's time was read: the next lines try it first.
    way: Option<TimeWay>,
}

/// How a header's time was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeWay {
    Klog,
    Header(HeaderTime),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LevelPlace {
    /// This token of those before the time (`INFO  [main] 2024-12-07 10:00:03,123 …`).
    Before(usize),
    /// This many tokens after the time.
    After(usize),
    /// The time's first letter (`I1207 10:00:03.123456`).
    TimeLetter,
}

/// The byte ranges of a line's first `count` whitespace-separated tokens.
fn tokens(line: &str, count: usize) -> Vec<(usize, usize)> {
    let bytes = line.as_bytes();
    let mut found = Vec::with_capacity(count);
    let mut at = 0;
    while found.len() < count && at < bytes.len() {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if start < at {
            found.push((start, at));
        }
    }
    found
}

/// The time a header's tokens spell, the level letter a klog time starts with, and how it was
/// read (`way` first, when given).
fn header_time(text: &str, way: Option<TimeWay>) -> Option<(i64, Option<char>, TimeWay)> {
    let text = text.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | ','));
    let read_klog = || klog_time(text).map(|(ms, letter)| (ms, letter, TimeWay::Klog));
    let known = match way {
        Some(TimeWay::Klog) => read_klog(),
        Some(TimeWay::Header(way)) => read_header_time(text, way).map(|ms| (ms, None, TimeWay::Header(way))),
        None => None,
    };
    known.or_else(read_klog).or_else(|| parse_header_time(text).map(|(ms, way)| (ms, None, TimeWay::Header(way))))
}

/// klog and glog: `Lmmdd hh:mm:ss.uuuuuu`, `L` the level's letter; the year is the current one.
fn klog_time(text: &str) -> Option<(i64, Option<char>)> {
    if !text.starts_with(['I', 'W', 'E', 'F']) {
        return None;
    }
    let (first, time) = text.split_once(' ')?;
    let mut chars = first.chars();
    let letter = chars.next().filter(|c| "IWEF".contains(*c))?;
    let month_day = chars.as_str();
    if month_day.len() != 4 || !month_day.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (month, day) = month_day.split_at(2);
    // As every time without a year: this year's, or last year's when that would be ahead.
    let now = chrono::Utc::now();
    let time = chrono::NaiveDateTime::parse_from_str(&format!("2000-{month}-{day} {time}"), "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .and_then(|time| time.with_year(now.year()))?;
    Some((in_the_last_year(time, now), Some(letter)))
}

/// Whether a token is a level: a level word ([`level_word`]) or one of [`LEVEL_LETTERS`].
fn level_of(token: &str) -> Option<String> {
    level_word(token).or_else(|| {
        let mut chars = token.chars();
        match (chars.next(), chars.next()) {
            (Some(letter), None) if LEVEL_LETTERS.contains(letter) => Some(normalize_level(&letter.to_string())),
            _ => None,
        }
    })
}

/// A time in any layout this format reads at the very start of `line`, the widest first
/// (`10:00:03 PM` belongs to the time): the time and where the rest of the line begins.
pub fn leading_time(line: &str) -> Option<(i64, usize)> {
    let spans = tokens(line, MAX_TIME_TOKENS);
    (1..=spans.len()).rev().find_map(|time_tokens| {
        let layout = HeaderLayout { before_time: 0, time_tokens, level: None, way: None };
        layout.time(line).map(|(ms, ..)| (ms, spans[time_tokens - 1].1))
    })
}

impl HeaderLayout {
    /// The place most of `sample`'s lines hold a time at, with one of its opening lines among
    /// them, when at least a quarter of the lines (or 8) do; the level's place when half of
    /// those lines have one there. `None` when no place qualifies.
    pub fn learn(sample: &[&str]) -> Option<Self> {
        let opening = &sample[..sample.len().min(super::format::OPENING_LINES)];
        let wanted = sample.len().div_ceil(4).min(8).max(1);
        let mut best: Option<(usize, Self)> = None;
        for before_time in 0..=MAX_TOKENS_BEFORE_TIME {
            // The widest time first: `10:00:03 PM` belongs to the time.
            for time_tokens in (1..=MAX_TIME_TOKENS).rev() {
                let layout = Self { before_time, time_tokens, level: None, way: None };
                if !opening.iter().any(|line| layout.time(line).is_some()) {
                    continue;
                }
                let readable = sample.iter().filter(|line| layout.time(line).is_some()).count();
                if readable >= wanted && best.as_ref().is_none_or(|(count, _)| readable > *count) {
                    best = Some((readable, layout));
                }
            }
        }
        let (readable, mut layout) = best?;
        layout.level = layout.learn_level(sample, readable);
        Some(layout.reading_as(sample))
    }

    /// The layout with the way the first of `sample`'s lines that holds a time has it read.
    pub fn reading_as(mut self, sample: &[&str]) -> Self {
        self.way = sample.iter().find_map(|line| self.time(line)).map(|(_, _, way, _)| way);
        self
    }

    /// Where the lines that hold a time hold their level, if half of them do at one place.
    fn learn_level(&self, sample: &[&str], readable: usize) -> Option<LevelPlace> {
        let mut letters = 0;
        let mut before = [0usize; MAX_TOKENS_BEFORE_TIME];
        let mut after = [0usize; MAX_TOKENS_BEFORE_LEVEL + 1];
        // Each record whole: a line with a time and the next line when it has none (java.util
        // .logging writes `INFO: …` on the line after the time and the class).
        let records = sample.iter().enumerate().filter(|(_, line)| self.time(line).is_some()).map(|(at, line)| {
            match sample.get(at + 1).filter(|next| self.time(next).is_none()) {
                Some(next) => format!("{line}\n{next}"),
                None => line.to_string(),
            }
        });
        for record in records {
            let line = record.as_str();
            let Some((_, letter, _, spans)) = self.time(line) else { continue };
            letters += usize::from(letter.is_some());
            for (index, (start, end)) in spans.iter().enumerate() {
                if level_of(&line[*start..*end]).is_none() {
                    continue;
                }
                match index.checked_sub(self.before_time + self.time_tokens) {
                    Some(offset) => after[offset] += 1,
                    None if index < self.before_time => before[index] += 1,
                    None => {}
                }
            }
        }
        if letters * 2 >= readable {
            return Some(LevelPlace::TimeLetter);
        }
        // The most lines' place; on a tie the one nearest the time's end, before it first.
        let places = before
            .iter()
            .enumerate()
            .map(|(index, hits)| (*hits, LevelPlace::Before(index)))
            .chain(after.iter().enumerate().map(|(offset, hits)| (*hits, LevelPlace::After(offset))));
        let (hits, place) =
            places.fold((0, None), |best, (hits, place)| if hits > best.0 { (hits, Some(place)) } else { best });
        (hits > 0 && hits * 2 >= readable).then_some(place).flatten()
    }

    /// The line's time, the klog level letter, how the time was read, and the line's first
    /// tokens, when the time is where this layout holds it.
    fn time(&self, line: &str) -> Option<(i64, Option<char>, TimeWay, Vec<(usize, usize)>)> {
        let spans = tokens(line, self.before_time + self.time_tokens + MAX_TOKENS_BEFORE_LEVEL + 1);
        let time_spans = spans.get(self.before_time..self.before_time + self.time_tokens)?;
        let text = &line[time_spans[0].0..time_spans[time_spans.len() - 1].1];
        // Runs of blanks inside the time read as one space (`Dec  7`); most times have none.
        let joined;
        let text = if text.contains("  ") || text.contains('\t') {
            joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
            joined.as_str()
        } else {
            text
        };
        let (ms, letter, way) = header_time(text, self.way)?;
        Some((ms, letter, way, spans))
    }

    /// Whether `line` starts a record: it holds a time where this file's lines do.
    pub fn starts_record(&self, line: &str) -> bool {
        self.time(line).is_some()
    }

    /// Parses one line (and any joined continuation lines).
    pub fn parse(&self, line: &str, source: &str, origin: Origin) -> Result<Record, String> {
        let (ms, letter, _, spans) = self.time(line).ok_or_else(|| {
            format!("no time where this file's lines hold it (token {} of the line)", self.before_time + 1)
        })?;
        let time_end = spans[self.before_time + self.time_tokens - 1].1;
        let mut header: Vec<&str> = spans[..self.before_time].iter().map(|(start, end)| &line[*start..*end]).collect();
        let mut level = None;
        let mut message_at = time_end;
        match self.level {
            Some(LevelPlace::TimeLetter) => {
                level = letter.map(|letter| normalize_level(&letter.to_string()));
                // klog's thread id and `file.go:123]` are header too, not the message.
                let first_after = self.before_time + self.time_tokens;
                if let [(id_start, id_end), (_, place_end)] = spans[first_after..spans.len().min(first_after + 2)]
                    && line[id_start..id_end].bytes().all(|b| b.is_ascii_digit())
                    && line[..place_end].ends_with(']')
                {
                    header.push(&line[id_start..place_end]);
                    message_at = place_end;
                }
            }
            Some(LevelPlace::Before(index)) => {
                let (start, end) = spans[index];
                if let Some(found) = level_of(&line[start..end]) {
                    level = Some(found);
                    header.remove(index);
                }
            }
            Some(LevelPlace::After(offset)) => {
                let first_after = self.before_time + self.time_tokens;
                if let Some((start, end)) = spans.get(first_after + offset)
                    && let Some(found) = level_of(&line[*start..*end])
                {
                    level = Some(found);
                    message_at = *end;
                    header.extend(spans[first_after..first_after + offset].iter().map(|(s, e)| &line[*s..*e]));
                }
            }
            None => {}
        }
        let message = line[message_at..].trim_start_matches([' ', '\t', ':', '|', '-']).trim_start();
        let mut record = Record::new(source, message.to_string(), origin);
        record.timestamp_ms = Some(ms);
        record.level = level;
        if !header.is_empty() {
            record.fields.insert("header".into(), serde_json::Value::String(header.join(" ")));
        }
        Ok(record)
    }

    /// The layout as `--format header --pattern` takes it back (`time=1+2 level=3`): where the
    /// time is (tokens before it, and how many it takes) and where the level is.
    pub fn spec(&self) -> String {
        let level = match self.level {
            Some(LevelPlace::After(offset)) => format!(" level={offset}"),
            Some(LevelPlace::Before(index)) => format!(" level=-{}", self.before_time - index),
            Some(LevelPlace::TimeLetter) => " level=time".to_string(),
            None => String::new(),
        };
        format!("time={}+{}{level}", self.before_time, self.time_tokens)
    }

    /// Reads [`HeaderLayout::spec`]'s text.
    pub fn from_spec(spec: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "header layout `{spec}`: expected `time=B+W` (B tokens before the time, which takes W) and \
                 optionally `level=N` (N tokens after the time), `level=-N` (the Nth token before it) or \
                 `level=time`"
            )
        };
        let mut layout = None;
        let mut level = None;
        let mut level_back = None;
        for part in spec.split_whitespace() {
            match part.split_once('=') {
                Some(("time", place)) => {
                    let (before, width) = place.split_once('+').ok_or_else(bad)?;
                    let before_time: usize = before.parse().map_err(|_| bad())?;
                    let time_tokens: usize = width.parse().map_err(|_| bad())?;
                    if before_time > MAX_TOKENS_BEFORE_TIME || !(1..=MAX_TIME_TOKENS).contains(&time_tokens) {
                        return Err(bad());
                    }
                    layout = Some((before_time, time_tokens));
                }
                Some(("level", "time")) => level = Some(LevelPlace::TimeLetter),
                Some(("level", back)) if back.starts_with('-') => {
                    level_back = Some(back[1..].parse::<usize>().map_err(|_| bad())?);
                }
                Some(("level", offset)) => {
                    let offset: usize = offset.parse().map_err(|_| bad())?;
                    if offset > MAX_TOKENS_BEFORE_LEVEL {
                        return Err(bad());
                    }
                    level = Some(LevelPlace::After(offset));
                }
                _ => return Err(bad()),
            }
        }
        let (before_time, time_tokens) = layout.ok_or_else(bad)?;
        if let Some(back) = level_back {
            if !(1..=before_time).contains(&back) {
                return Err(bad());
            }
            level = Some(LevelPlace::Before(before_time - back));
        }
        Ok(Self { before_time, time_tokens, level, way: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> i64 {
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap().and_utc().timestamp_millis()
    }

    /// `month-day time` read in the current year, as a line without a year is.
    fn this_year(rest: &str) -> i64 {
        use chrono::Datelike;
        let now = chrono::Utc::now();
        let time =
            chrono::NaiveDateTime::parse_from_str(&format!("{}-{rest}", now.year()), "%Y-%m-%d %H:%M:%S%.f").unwrap();
        super::super::timestamp::in_the_last_year(time, now)
    }

    /// Learns the layout from `lines` and parses each: (time, level, message, header field).
    fn read(lines: &[&str]) -> (HeaderLayout, Vec<(i64, Option<String>, String, Option<String>)>) {
        let layout = HeaderLayout::learn(lines).unwrap_or_else(|| panic!("no layout learned from {lines:?}"));
        let records = lines
            .iter()
            .map(|line| {
                let record = layout.parse(line, "s", Origin::for_tests()).unwrap();
                let header = record.fields.get("header").and_then(|v| v.as_str()).map(str::to_string);
                (record.timestamp_ms.unwrap(), record.level, record.message, header)
            })
            .collect();
        (layout, records)
    }

    #[test]
    fn logcat_lines_give_time_this_year_one_letter_level_and_message() {
        let (_, records) = read(&[
            "03-17 16:13:38.811  1702  2395 D WindowManager: relayout window 42",
            "03-17 16:13:38.819  1702  8671 E PowerManagerService: acquire lock=233570404, flags=0x1",
        ]);
        assert_eq!(records[0].0, this_year("03-17 16:13:38.811"));
        assert_eq!(records[1].1.as_deref(), Some("ERROR"));
        assert_eq!(records[1].2, "PowerManagerService: acquire lock=233570404, flags=0x1");
        assert_eq!(records[1].3.as_deref(), Some("1702 8671"));
    }

    #[test]
    fn an_epoch_number_after_a_flag_and_a_level_further_on() {
        let (layout, records) = read(&[
            "- 1117838570 2005.06.03 R02-M1-N0 2005-06-03-15.42.50.675872 R02-M1-N0 RAS KERNEL INFO cache parity error corrected",
            "APPREAD 1117869872 2005.06.04 R04-M1-N4 2005-06-04-00.24.32.432192 R04-M1-N4 RAS APP FATAL ciod: failed to read message prefix",
        ]);
        assert_eq!(layout.spec(), "time=1+1 level=6");
        assert_eq!(records[0].0, 1_117_838_570_000);
        assert_eq!(records[1].1.as_deref(), Some("FATAL"));
        assert_eq!(records[1].2, "ciod: failed to read message prefix");
        assert_eq!(
            records[1].3.as_deref(),
            Some("APPREAD 2005.06.04 R04-M1-N4 2005-06-04-00.24.32.432192 R04-M1-N4 RAS APP")
        );
    }

    #[test]
    fn klog_takes_its_level_from_the_times_first_letter() {
        let (layout, records) = read(&[
            "I1207 10:00:03.123456       1 controller.go:123] Starting controller",
            "E1207 10:00:04.500000       1 controller.go:140] failed to sync pod default/web-1: timeout",
        ]);
        assert_eq!(layout.spec(), "time=0+2 level=time");
        // A day later in the year than today is last year's, as for any time without a year.
        let ahead = chrono::Utc::now() + chrono::Duration::days(10);
        let line = format!("E{} 08:00:00.000001    77 main.go:10] boom", ahead.format("%m%d"));
        let (_, late) = read(&[line.as_str()]);
        assert!(late[0].0 <= (chrono::Utc::now() + chrono::Duration::days(2)).timestamp_millis(), "{late:?}");
        assert_eq!(records[1].0, this_year("12-07 10:00:04.5"));
        assert_eq!(records[1].1.as_deref(), Some("ERROR"));
        assert_eq!(records[1].2, "failed to sync pod default/web-1: timeout");
        assert_eq!(records[1].3.as_deref(), Some("1 controller.go:140]"));
    }

    #[test]
    fn layouts_a_line_start_does_not_otherwise_read() {
        let (_, tomcat) =
            read(&["07-Dec-2024 10:00:03.123 SEVERE [http-nio-8080-exec-1] Servlet.service() threw exception"]);
        assert_eq!(tomcat[0].0, utc("2024-12-07 10:00:03.123"));
        assert_eq!(tomcat[0].1.as_deref(), Some("ERROR"));
        let (layout, us) = read(&[
            "12/07/2024 10:00:04 PM [Error] Unhandled exception in request /api/orders",
            "12/07/2024 10:00:05 PM [Info] Request finished",
        ]);
        assert_eq!(layout.spec(), "time=0+3 level=0");
        assert_eq!(us[0].0, utc("2024-12-07 22:00:04"));
        assert_eq!(us[0].2, "Unhandled exception in request /api/orders");
        let (_, mysql) = read(&["261203 10:01:38 [Warning] Aborted connection 6918 to db: 'shop'"]);
        assert_eq!((mysql[0].0, mysql[0].1.as_deref()), (utc("2026-12-03 10:01:38"), Some("WARN")));
        let (_, note) = read(&["261203 10:02:26 [Note] Event Scheduler: scheduler thread started with id 2"]);
        assert_eq!(
            (note[0].1.as_deref(), note[0].2.as_str()),
            (Some("INFO"), "Event Scheduler: scheduler thread started with id 2")
        );
        let (_, day_first) = read(&["13/07/2024 22:00:04 WARN disk almost full"]);
        assert_eq!(day_first[0].0, utc("2024-07-13 22:00:04"));
        let (_, epoch) = read(&["1733600003.250 WARN slow request took 2300 ms"]);
        assert_eq!(epoch[0].0, 1_733_600_003_250);
        assert_eq!(epoch[0].2, "slow request took 2300 ms");
        let (_, named) = read(&[
            "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server GET /v2",
        ]);
        assert_eq!(named[0].0, utc("2017-05-16 00:00:00.008"));
        assert_eq!(named[0].1.as_deref(), Some("INFO"));
        assert_eq!(named[0].3.as_deref(), Some("nova-api.log.1.2017-05-16_13:53:08 25746"));
        let (layout, cassandra) = read(&[
            "INFO  [main] 2024-12-07 10:00:03,123 StorageService.java:123 - Node started",
            "WARN  [GossipStage:1] 2024-12-07 10:00:04,500 Gossiper.java:99 - Node /10.0.0.2 is down",
        ]);
        assert_eq!(layout.spec(), "time=2+2 level=-2");
        assert_eq!(cassandra[1].0, utc("2024-12-07 10:00:04.5"));
        assert_eq!(cassandra[1].1.as_deref(), Some("WARN"));
        assert_eq!(cassandra[1].2, "Gossiper.java:99 - Node /10.0.0.2 is down");
        assert_eq!(cassandra[1].3.as_deref(), Some("[GossipStage:1]"));
        let (layout, redis) = read(&["1:M 07 Dec 2024 10:00:03.123 * Ready to accept connections tcp"]);
        assert_eq!(layout.spec(), "time=1+4");
        assert_eq!(redis[0].0, utc("2024-12-07 10:00:03.123"));
        assert_eq!(redis[0].2, "* Ready to accept connections tcp");
        let jul = [
            "Dec 03, 2026 10:01:06 AM hudson.model.Run execute",
            "INFO: shop-build #797 main build action completed: SUCCESS",
            "Dec 03, 2026 10:05:41 PM jenkins.branch.MultiBranchProject$BranchIndexing run",
            "SEVERE: Failed to index shop",
        ];
        let layout = HeaderLayout::learn(&jul).unwrap();
        assert_eq!(layout.spec(), "time=0+5 level=2");
        let record = layout.parse(&format!("{}\n{}", jul[2], jul[3]), "s", Origin::for_tests()).unwrap();
        assert_eq!(record.timestamp_ms, Some(utc("2026-12-03 22:05:41")));
        assert_eq!((record.level.as_deref(), record.message.as_str()), (Some("ERROR"), "Failed to index shop"));
        let (_, bracketed) = read(&["[10.30 16:49:06] chrome.exe - proxy.example.org:5070 open through proxy"]);
        assert_eq!(bracketed[0].0, this_year("10-30 16:49:06"));
        assert_eq!(bracketed[0].1, None);
        assert_eq!(bracketed[0].2, "chrome.exe - proxy.example.org:5070 open through proxy");
    }

    #[test]
    fn counts_ids_and_prose_are_not_times() {
        assert_eq!(HeaderLayout::learn(&["1702 2395 started worker", "233570404 items queued"]), None);
        assert_eq!(HeaderLayout::learn(&["just some words", "and more words"]), None);
        // A line without the time where the file holds it continues the record before it.
        let layout = HeaderLayout::learn(&["- 1117838570 2005.06.03 node-1 RAS KERNEL INFO corrected"]).unwrap();
        assert!(!layout.starts_record("\tat com.example.Foo.bar(Foo.java:42)"));
        assert!(!layout.starts_record("- see 1117838570 for details"));
        let error = layout.parse("no time here at all", "s", Origin::for_tests()).unwrap_err();
        assert!(error.contains("token 2"), "{error}");
    }

    #[test]
    fn the_spec_reads_back_and_a_bad_one_is_explained() {
        for spec in ["time=1+1 level=6", "time=0+2 level=time", "time=0+3", "time=2+2 level=-2"] {
            assert_eq!(HeaderLayout::from_spec(spec).unwrap().spec(), spec);
        }
        assert!(HeaderLayout::from_spec("time=9+1").unwrap_err().contains("expected `time=B+W`"));
        assert!(HeaderLayout::from_spec("level=2").is_err());
    }
}
