//! Line formats: choosing one (forced, or detected from a file's first lines), parsing a line
//! into a [`Record`], and telling whether a line starts a new record or continues the last one
//! (a stack trace line, an indented continuation).

use super::header::HeaderLayout;
use super::layout::Layout;
use super::record::{Origin, Record};
use super::{access_log, json, logfmt, plain_text, syslog};

/// How the lines of an input are laid out (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Decide per file from its first lines.
    Auto,
    /// Each line whole is the message; no joining of lines.
    Raw,
    /// One JSON object per line (`jsonl` too).
    #[value(alias = "jsonl")]
    Json,
    /// `key=value` pairs.
    Logfmt,
    /// RFC 5424 or RFC 3164 syslog.
    Syslog,
    /// Apache/Nginx common or combined access log.
    Clf,
    /// Plain text that starts with a timestamp (and usually a level).
    Text,
    /// Plain text whose time sits at one place among its first tokens, learned from the
    /// file's first lines (or given as `--pattern 'time=B+W level=N'`).
    Header,
    /// A `--pattern` layout with `<Field>` placeholders.
    Pattern,
}

/// A resolved format, ready to parse lines.
#[derive(Debug, Clone)]
pub enum LineParser {
    Raw,
    Json,
    Logfmt,
    Syslog,
    Clf,
    Text,
    Header(HeaderLayout),
    Pattern(Layout),
}

/// How many lines detection looks at.
pub const DETECTION_SAMPLE: usize = 32;

/// Of those, the first lines one of which a format must read to be chosen (the lines before
/// it are rejected as what they are, each named): glog opens its files with four lines of
/// header, logcat with a banner.
pub const OPENING_LINES: usize = 8;

impl LineParser {
    /// The parser for a forced format; `Pattern` needs the layout text.
    pub fn forced(format: Format, pattern: Option<&str>) -> Result<Option<Self>, String> {
        Ok(Some(match format {
            Format::Auto => return Ok(None),
            Format::Raw => Self::Raw,
            Format::Json => Self::Json,
            Format::Logfmt => Self::Logfmt,
            Format::Syslog => Self::Syslog,
            Format::Clf => Self::Clf,
            Format::Text => Self::Text,
            // Learned from the input's first lines unless given.
            Format::Header => match pattern {
                Some(spec) => Self::Header(HeaderLayout::from_spec(spec)?),
                None => return Ok(None),
            },
            Format::Pattern => {
                let layout = pattern.ok_or("--format pattern needs --pattern LAYOUT")?;
                Self::Pattern(Layout::new(layout)?)
            }
        }))
    }

    /// The format whose parser reads the first of `sample` and at least a quarter of it (or 8
    /// lines: records with long stack traces leave few lines that start a record), a header
    /// layout learned from it when none of those does ([`HeaderLayout::learn`]); `Raw` when
    /// nothing reads it.
    pub fn detect(sample: &[&str]) -> Self {
        let candidates = [Self::Json, Self::Syslog, Self::Clf, Self::Text, Self::Logfmt];
        // A banner (`--------- beginning of main`, `Log file created at: …`) or the end of a
        // stack trace cut by rotation may come first: one of the first lines must be read.
        let opening = &sample[..sample.len().min(OPENING_LINES)];
        let origin = || Origin { file: String::new(), line: 0 };
        for candidate in candidates {
            // Text is detected by its own leading layouts; the others it reads (a second
            // writer's lines among its own) are the header format's to learn.
            let reads = |line: &str| {
                (!matches!(candidate, Self::Text) || plain_text::opens_with_its_layout(line))
                    && candidate.parse(line, "", origin()).is_ok()
            };
            if !opening.iter().any(|line| reads(line)) {
                continue;
            }
            let readable = sample.iter().filter(|line| reads(line)).count();
            if readable * 4 >= sample.len() || readable >= 8 {
                return candidate;
            }
        }
        HeaderLayout::learn(sample).map_or(Self::Raw, Self::Header)
    }

    /// The layout of a `header` input: `spec` (`--pattern`) when given, else learned from its
    /// first lines; says why when neither gives one.
    pub fn header(spec: Option<&str>, sample: &[&str]) -> Result<Self, String> {
        let layout = match spec {
            Some(spec) => HeaderLayout::from_spec(spec)?,
            None => HeaderLayout::learn(sample).ok_or(
                "--format header: no place among the first tokens of the first lines holds a time on enough of them",
            )?,
        };
        Ok(Self::Header(layout.reading_as(sample)))
    }

    /// What `--pattern` must say to read the input this way again (the learned header layout).
    pub fn pattern_spec(&self) -> Option<String> {
        match self {
            Self::Header(layout) => Some(layout.spec()),
            _ => None,
        }
    }

    /// The format's name, as `--format` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Json => "json",
            Self::Logfmt => "logfmt",
            Self::Syslog => "syslog",
            Self::Clf => "clf",
            Self::Text => "text",
            Self::Header(_) => "header",
            Self::Pattern(_) => "pattern",
        }
    }

    /// Parses one line into a record, or says why not.
    pub fn parse(&self, line: &str, source: &str, origin: Origin) -> Result<Record, String> {
        match self {
            Self::Raw => Ok(Record::new(source, line.to_string(), origin)),
            Self::Json => json::parse(line, source, origin),
            Self::Logfmt => logfmt::parse(line, source, origin),
            Self::Syslog => syslog::parse_rfc5424(line, source, origin.clone())
                .or_else(|_| syslog::parse_rfc3164(line, source, origin))
                .map_err(|_| "not syslog (RFC 5424 or 3164)".to_string()),
            Self::Clf => access_log::parse(line, source, origin),
            Self::Text => plain_text::parse(line, source, origin),
            Self::Header(layout) => layout.parse(line, source, origin),
            Self::Pattern(layout) => layout.parse(line, source, origin),
        }
    }

    /// Whether `line` continues the record before it rather than starting one: for formats
    /// whose records start with a timestamp or a layout, any line that does not; for logfmt,
    /// indented lines; raw, JSON and access-log lines always stand alone.
    pub fn continues_record(&self, line: &str) -> bool {
        match self {
            Self::Raw | Self::Json | Self::Clf => false,
            Self::Logfmt => line.starts_with([' ', '\t']),
            Self::Text => !plain_text::starts_record(line),
            Self::Header(layout) => !layout.starts_record(line),
            Self::Syslog => !syslog::starts_record(line),
            Self::Pattern(layout) => !layout.matches(line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_of_each_format() {
        let cases: &[(&str, &str)] = &[
            (r#"{"msg":"x","level":"info"}"#, "json"),
            ("<34>Oct 11 22:14:15 mymachine su: 'su root' failed", "syslog"),
            ("Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking", "syslog"),
            (r#"::1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 12"#, "clf"),
            ("2015-10-18 18:01:47,978 INFO [main] org.apache.Foo: started", "text"),
            ("081109 203615 148 INFO dfs.DataNode: x", "text"),
            ("level=info msg=started port=8080", "logfmt"),
            ("03-17 16:13:38.811  1702  2395 D WindowManager: relayout", "header"),
            ("1733600000 INFO service started on port 8080", "header"),
            ("just some words", "raw"),
            ("{not json", "raw"),
        ];
        for (line, expected) in cases {
            assert_eq!(LineParser::detect(&[line]).name(), *expected, "{line}");
        }
    }

    #[test]
    fn a_banner_or_a_cut_trace_before_the_first_record_does_not_decide_the_format() {
        let logcat = [
            "--------- beginning of main",
            "03-17 16:13:38.811  1702  2395 D WindowManager: relayout",
            "03-17 16:13:38.900  1702  2395 E WindowManager: failed",
        ];
        assert_eq!(LineParser::detect(&logcat).name(), "header");
        let glog = [
            "Log file created at: 2026/11/20 08:00:00",
            "Running on machine: gw-1",
            "Binary: Built with gc go1.22",
            "Log line format: [IWEF]mmdd hh:mm:ss.uuuuuu threadid file:line] msg",
            "I1120 08:00:00.000001    41 server.go:100] served GET /api/items/1 in 3ms",
            "E1120 08:01:00.000002    41 upstream.go:88] upstream unreachable",
        ];
        assert_eq!(LineParser::detect(&glog).name(), "header", "glog's four header lines");
        let rotated = [
            "\tat com.acme.Foo.bar(Foo.java:1)",
            "\tat com.acme.Main.main(Main.java:9)",
            "2024-05-01 10:00:01 INFO next",
            "2024-05-01 10:00:02 WARN after",
        ];
        assert_eq!(LineParser::detect(&rotated).name(), "text");
        let mut late = vec!["banner"; OPENING_LINES];
        late.extend(["2024-05-01 10:00:01 INFO next"; 8]);
        assert_eq!(LineParser::detect(&late).name(), "raw", "a format must read one of the opening lines");
    }

    #[test]
    fn stack_trace_lines_continue_timestamped_records() {
        let text = LineParser::Text;
        assert!(text.continues_record("\tat com.example.Foo.bar(Foo.java:42)"));
        assert!(text.continues_record("Caused by: java.io.IOException: boom"));
        assert!(text.continues_record("Traceback (most recent call last):"));
        assert!(!text.continues_record("2024-05-01 10:00:01 INFO next"));
        assert!(!LineParser::Raw.continues_record("\tindented"));
        assert!(LineParser::Logfmt.continues_record("    at foo"));
    }
}
