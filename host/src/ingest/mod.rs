//! Sources and parsers: bytes in (files, stdin), [`Record`]s out, in batches, with every
//! rejected line counted by reason and located by file and line; bug report exports in,
//! [`BugReport`]s out, with [`Rejections`] (not stored) and [`Warnings`] (stored, with a
//! problem, such as a date that could not be read) counted the same way; the payloads log
//! shippers send (OTLP, Elasticsearch bulk, Loki push) in, records out.

mod access_log;
pub mod bulk;
mod file_kind;
mod format;
mod header;
mod json;
mod layout;
mod lines;
mod logfmt;
pub mod loki;
pub mod otlp;
mod plain_text;
mod record;
mod reports;
pub mod syslog;
mod timestamp;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

pub use file_kind::{SNIFF_BYTES, binary_reason, not_a_log};
pub use format::{DETECTION_SAMPLE, Format, LineParser};
pub use layout::Layout;
pub use lines::{Line, LineReader};
pub use record::{Origin, Record, normalize_level};
pub use reports::{BugReport, ReportFormat, parse_reports, read_reports};
pub use timestamp::{
    MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS, leading_timestamp, parse_span, parse_timestamp, parse_timestamp_text, storable,
};

/// Lines longer than this are rejected (without being held in memory).
pub const DEFAULT_MAX_LINE_BYTES: usize = 512 << 10;

/// What can stop reading an input (as opposed to a bad line, which is only counted).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("reading {input} after line {line}: {source}")]
    Read { input: String, line: u64, source: io::Error },
    #[error("{input}: {reason}")]
    Options { input: String, reason: String },
}

/// Rejected lines, by reason, with the first few locations of each: what was not stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejections {
    pub by_reason: BTreeMap<String, ReasonGroup>,
}

/// The lines counted for one reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReasonGroup {
    pub count: u64,
    /// `file:line: detail` of the first few.
    pub examples: Vec<String>,
}

/// How many examples each reason keeps.
const EXAMPLES_PER_REASON: usize = 5;

impl ReasonGroup {
    fn note(&mut self, example: impl FnOnce() -> String) {
        self.note_lines(1, example);
    }

    fn note_lines(&mut self, lines: u64, example: impl FnOnce() -> String) {
        self.count += lines;
        if self.examples.len() < EXAMPLES_PER_REASON {
            self.examples.push(example());
        }
    }
}

/// Adds the groups of `other` to `mine`, keeping the first examples.
fn merge_groups(mine: &mut BTreeMap<String, ReasonGroup>, other: BTreeMap<String, ReasonGroup>) {
    for (reason, group) in other {
        let into = mine.entry(reason).or_default();
        into.count += group.count;
        let room = EXAMPLES_PER_REASON.saturating_sub(into.examples.len());
        into.examples.extend(group.examples.into_iter().take(room));
    }
}

impl Rejections {
    /// Counts a rejected line. `reason` reads `category: detail`; lines are grouped by category.
    pub fn add(&mut self, file: &str, line: u64, reason: &str) {
        let category = reason.split(':').next().unwrap_or(reason).trim().to_string();
        self.by_reason.entry(category).or_default().note(|| format!("{file}:{line}: {reason}"));
    }

    /// Counts the `lines` lines of one rejected record (a line and those joined to it as its
    /// continuation) that starts at `line`.
    pub fn add_record(&mut self, file: &str, line: u64, lines: u64, reason: &str) {
        let category = reason.split(':').next().unwrap_or(reason).trim().to_string();
        let place = if lines > 1 { format!("{file}:{line}-{}", line + lines - 1) } else { format!("{file}:{line}") };
        self.by_reason.entry(category).or_default().note_lines(lines, || format!("{place}: {reason}"));
    }

    /// All rejected lines.
    pub fn total(&self) -> u64 {
        self.by_reason.values().map(|group| group.count).sum()
    }

    /// Adds another tally to this one.
    pub fn merge(&mut self, other: Rejections) {
        merge_groups(&mut self.by_reason, other.by_reason);
    }
}

/// Things stored with a problem (a report whose date could not be read is kept with its date
/// unknown), by kind, with the first few locations of each. Unlike [`Rejections`], nothing
/// counted here was dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    pub by_reason: BTreeMap<String, ReasonGroup>,
}

impl Warnings {
    /// Counts a warning of kind `kind` at `file:line`; `message` says what was kept and how.
    pub fn add(&mut self, file: &str, line: u64, kind: &str, message: &str) {
        self.by_reason.entry(kind.to_string()).or_default().note(|| format!("{file}:{line}: {message}"));
    }

    /// All warnings.
    pub fn total(&self) -> u64 {
        self.by_reason.values().map(|group| group.count).sum()
    }

    /// Adds another tally to this one.
    pub fn merge(&mut self, other: Warnings) {
        merge_groups(&mut self.by_reason, other.by_reason);
    }
}

/// One input to read: a file (`.gz` decompressed on the fly), or `-` for stdin.
pub struct Input {
    /// How errors and origins name it.
    pub name: String,
    reader: Box<dyn BufRead + Send>,
}

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

impl Input {
    /// Opens `path` (`-` is stdin); a gzip file is decompressed.
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        Self::open_at(path, 0)
    }

    /// Opens `path` and skips the first `offset` bytes of its (decompressed) content.
    pub fn open_at(path: &Path, offset: u64) -> Result<Self, IngestError> {
        let open_error = |source| IngestError::Open { path: path.to_path_buf(), source };
        if path == Path::new("-") {
            let mut input = Self { name: "-".into(), reader: Box::new(BufReader::with_capacity(1 << 20, io::stdin())) };
            input.skip(offset).map_err(open_error)?;
            return Ok(input);
        }
        let mut file = File::open(path).map_err(open_error)?;
        let mut magic = [0u8; 2];
        let is_gzip = file.read_exact(&mut magic).is_ok() && magic == GZIP_MAGIC;
        file.seek(SeekFrom::Start(0)).map_err(open_error)?;
        let name = path.display().to_string();
        if is_gzip {
            let decoder = CompressedStream(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)));
            let mut input = Self { name, reader: Box::new(BufReader::with_capacity(1 << 20, decoder)) };
            input.skip(offset).map_err(open_error)?;
            Ok(input)
        } else {
            file.seek(SeekFrom::Start(offset)).map_err(open_error)?;
            Ok(Self { name, reader: Box::new(BufReader::with_capacity(1 << 20, file)) })
        }
    }

    /// An input over bytes in memory, named `name`.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Self {
        Self { name: name.to_string(), reader: Box::new(io::Cursor::new(bytes)) }
    }

    /// An input over any stream (an HTTP body being decompressed), named `name`.
    pub fn from_reader(name: &str, reader: Box<dyn BufRead + Send>) -> Self {
        Self { name: name.to_string(), reader }
    }

    fn skip(&mut self, count: u64) -> io::Result<()> {
        let skipped = io::copy(&mut (&mut self.reader).take(count), &mut io::sink())?;
        if skipped < count {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("shorter than the {count} bytes already imported"),
            ));
        }
        Ok(())
    }

    /// Why the input is not text ([`binary_reason`] on its first KiB), without consuming it.
    pub fn binary_reason(&mut self) -> Option<String> {
        let buffered = self.reader.fill_buf().ok()?;
        binary_reason(&buffered[..buffered.len().min(SNIFF_BYTES)])
    }

    /// The first complete lines of what is buffered, without consuming them (for detection).
    /// A read error is returned, not taken for an empty input: a body that says it is gzip
    /// and is not must be refused, never answered "0 records".
    fn sample(&mut self) -> std::io::Result<Vec<String>> {
        let buffered = self.reader.fill_buf()?;
        let complete = match memchr::memrchr(b'\n', buffered) {
            Some(end) => &buffered[..end],
            None => buffered,
        };
        Ok(complete
            .split(|&byte| byte == b'\n')
            .filter_map(|line| std::str::from_utf8(line).ok())
            .map(|line| line.trim_end_matches('\r'))
            .filter(|line| !line.trim().is_empty() && line.len() < 64 << 10)
            .take(DETECTION_SAMPLE)
            .map(str::to_string)
            .collect())
    }
}

/// A gzip stream whose read errors say what they mean to someone holding the file: flate2's
/// "incomplete deflate stream" is a `.gz` cut short (copied or still being written).
struct CompressedStream<R>(R);

impl<R: Read> Read for CompressedStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("the gzip stream is cut short or damaged ({error}): the lines before it are kept"),
            )
        })
    }
}

/// Hashes the first `length` bytes of a file's (decompressed) content: how a re-import
/// recognises the file it read before, even after it grew or was renamed into place.
pub fn fingerprint(path: &Path, length: u64) -> Result<String, IngestError> {
    let mut input = Input::open(path)?;
    let mut head = Vec::new();
    (&mut input.reader)
        .take(length)
        .read_to_end(&mut head)
        .map_err(|source| IngestError::Open { path: path.to_path_buf(), source })?;
    if (head.len() as u64) < length {
        return Ok(String::new());
    }
    Ok(head_digest(&head))
}

/// The digest a checkpoint keeps of a file's first bytes (SHA-256, hex).
pub fn head_digest(head: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(head).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// How to turn an input's lines into records.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    pub format: Format,
    /// The layout for [`Format::Pattern`].
    pub pattern: Option<String>,
    /// The source name; `None` names it after the file (its stem), or `stdin`.
    pub source: Option<String>,
    pub max_line_bytes: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self { format: Format::Auto, pattern: None, source: None, max_line_bytes: DEFAULT_MAX_LINE_BYTES }
    }
}

/// The source name of an input when none is given: the file name up to its first dot.
pub fn default_source(input_name: &str) -> String {
    if input_name == "-" {
        return "stdin".into();
    }
    let file_name = Path::new(input_name).file_name().map(|name| name.to_string_lossy().into_owned());
    let file_name = file_name.unwrap_or_else(|| input_name.to_string());
    file_name.split('.').next().filter(|stem| !stem.is_empty()).unwrap_or(&file_name).to_string()
}

/// Where reading stands: bytes consumed and lines read, both counted from the start of the
/// input. A batch is handed over with the position just after its last record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadPosition {
    pub offset: u64,
    pub line: u64,
}

/// What reading one input produced.
#[derive(Debug, Clone, Default)]
pub struct InputSummary {
    pub records: u64,
    pub lines: u64,
    pub bytes: u64,
    pub format: Option<&'static str>,
    /// The layout the format learned from the input, as `--pattern` takes it.
    pub layout: Option<String>,
}

/// Most lines one record may join (a stack trace longer than this starts a new record).
const MAX_JOINED_LINES: usize = 2000;

/// A record whose continuation lines may still arrive.
struct Pending {
    text: String,
    lines: usize,
    origin: Origin,
    end: ReadPosition,
}

/// Reads `input` from `start` (a position a previous read handed over), hands records to
/// `on_batch` in batches of `batch_size` with the position after each batch, and counts
/// rejected lines in `rejections`. An error from `on_batch` stops the reading.
pub fn read_records<E: From<IngestError>>(
    mut input: Input,
    options: &ParseOptions,
    batch_size: usize,
    start: ReadPosition,
    rejections: &mut Rejections,
    mut on_batch: impl FnMut(Vec<Record>, ReadPosition) -> Result<(), E>,
) -> Result<InputSummary, E> {
    let source = options.source.clone().unwrap_or_else(|| default_source(&input.name));
    let forced = LineParser::forced(options.format, options.pattern.as_deref())
        .map_err(|reason| IngestError::Options { input: input.name.clone(), reason })?;
    let parser = match forced {
        Some(parser) if options.format != Format::Header => parser,
        _ => {
            let sample = input.sample().map_err(|source| IngestError::Read {
                input: input.name.clone(),
                line: start.line,
                source,
            })?;
            let sample: Vec<&str> = sample.iter().map(String::as_str).collect();
            if options.format == Format::Header {
                LineParser::header(options.pattern.as_deref(), &sample)
                    .map_err(|reason| IngestError::Options { input: input.name.clone(), reason })?
            } else {
                LineParser::detect(&sample)
            }
        }
    };
    let name = input.name.clone();
    let mut reader = LineReader::new(&mut input.reader, options.max_line_bytes);
    let mut batch = Vec::with_capacity(batch_size);
    let mut summary =
        InputSummary { format: Some(parser.name()), layout: parser.pattern_spec(), ..InputSummary::default() };
    let mut pending: Option<Pending> = None;
    let mut handed_over = start;

    // Parses a finished record into the batch (or the rejections).
    let finish =
        |pending: Pending, batch: &mut Vec<Record>, summary: &mut InputSummary, rejections: &mut Rejections| {
            let line = pending.origin.line;
            match parser.parse(&pending.text, &source, pending.origin) {
                Ok(record) if record.timestamp_ms.is_some_and(|ms| !storable(ms)) => {
                    let reason = format!(
                        "timestamp out of range: {} ms since the epoch; the index stores 1677-09-21 to 2262-04-11",
                        record.timestamp_ms.unwrap_or_default()
                    );
                    rejections.add(&name, line, &reason);
                }
                Ok(record) => {
                    batch.push(record);
                    summary.records += 1;
                }
                Err(reason) => rejections.add_record(&name, line, pending.lines as u64, reason.as_str()),
            }
            pending.end
        };

    loop {
        let line = match reader.next_line() {
            Ok(line) => line,
            Err(source) => {
                // What was read whole before the failure (a `.gz` cut short, a disk error) is
                // kept: the finished records and the one being read, whose lines are complete.
                if let Some(done) = pending.take() {
                    handed_over = finish(done, &mut batch, &mut summary, rejections);
                }
                on_batch(std::mem::take(&mut batch), handed_over)?;
                return Err(IngestError::Read { input: name.clone(), line: start.line + summary.lines, source }.into());
            }
        };
        let Some(line) = line else { break };
        summary.lines += 1;
        let (bytes, end) = match line {
            Line::TooLong { length, .. } => {
                let reason = format!("line too long: {length} bytes, over the {} byte limit", options.max_line_bytes);
                rejections.add(&name, start.line + summary.lines, &reason);
                continue;
            }
            Line::Text { bytes, end, .. } => (bytes, end),
        };
        let position = ReadPosition { offset: start.offset + end, line: start.line + summary.lines };
        let number = position.line;
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => {
                let reason = format!("invalid UTF-8: at byte {}", error.valid_up_to());
                rejections.add(&name, number, &reason);
                continue;
            }
        };
        if text.trim().is_empty() {
            rejections.add(&name, number, "empty line");
            continue;
        }
        // NUL bytes are no log text (a file cut by a crash, a binary write): rejected and named,
        // never joined to a record as its continuation.
        if text.contains('\0') {
            rejections.add(&name, number, "NUL bytes in the line: not text");
            continue;
        }
        if let Some(open) = pending.as_mut()
            && open.lines < MAX_JOINED_LINES
            && open.text.len() + text.len() < options.max_line_bytes
            && parser.continues_record(text)
        {
            open.text.push('\n');
            open.text.push_str(text);
            open.lines += 1;
            open.end = position;
            continue;
        }
        if let Some(done) = pending.take() {
            handed_over = finish(done, &mut batch, &mut summary, rejections);
            if batch.len() >= batch_size {
                on_batch(std::mem::replace(&mut batch, Vec::with_capacity(batch_size)), handed_over)?;
            }
        }
        pending = Some(Pending {
            text: text.to_string(),
            lines: 1,
            origin: Origin { file: name.clone(), line: number },
            end: position,
        });
    }
    if let Some(done) = pending.take() {
        handed_over = finish(done, &mut batch, &mut summary, rejections);
    }
    // Rejected lines after the last record are consumed too.
    let end = ReadPosition { offset: start.offset + reader.offset(), line: start.line + summary.lines };
    handed_over = if end.offset > handed_over.offset { end } else { handed_over };
    on_batch(batch, handed_over)?;
    summary.bytes = reader.offset();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `text` read as `format` from input `name`, and the lines rejected.
    fn read_all(name: &str, text: &str, format: Format) -> (Vec<Record>, Rejections) {
        let options = ParseOptions { format, ..ParseOptions::default() };
        let mut rejections = Rejections::default();
        let mut records = Vec::new();
        read_records::<IngestError>(
            Input::from_bytes(name, text.as_bytes().to_vec()),
            &options,
            10,
            ReadPosition::default(),
            &mut rejections,
            |batch, _| {
                records.extend(batch);
                Ok(())
            },
        )
        .unwrap();
        (records, rejections)
    }

    #[test]
    fn a_rejected_record_counts_its_lines_and_a_nul_line_is_never_joined() {
        let text = "junk before the first record\n\tat a.B(C.java:1)\n\tat d.E(F.java:2)\n\
                    2024-05-01 10:00:00 INFO ok\n\0\0 garbled\n2024-05-01 10:00:01 WARN next\n";
        let (records, rejections) = read_all("f", text, Format::Text);
        assert_eq!(records.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(), ["ok", "next"]);
        assert_eq!(rejections.total(), 4, "{rejections:?}");
        let examples: Vec<&String> = rejections.by_reason.values().flat_map(|group| &group.examples).collect();
        assert!(examples.iter().any(|e| e.starts_with("f:1-3: no timestamp")), "{examples:?}");
        assert!(examples.iter().any(|e| e.starts_with("f:5: NUL bytes")), "{examples:?}");
    }

    #[test]
    fn a_gzip_file_cut_short_keeps_the_lines_before_the_cut_and_says_where() {
        use std::io::Write;
        let text: String = (1..=3000).map(|n| format!("2024-05-01T10:00:00Z INFO request {n} served\n")).collect();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).unwrap();
        let whole = encoder.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log.gz");
        std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();

        let mut kept = Vec::new();
        let mut last_position = ReadPosition::default();
        let error = read_records::<IngestError>(
            Input::open(&path).unwrap(),
            &ParseOptions::default(),
            100_000,
            ReadPosition::default(),
            &mut Rejections::default(),
            |batch, position| {
                kept.extend(batch);
                last_position = position;
                Ok(())
            },
        )
        .unwrap_err();
        assert!(kept.len() > 100, "the lines before the cut are kept: {}", kept.len());
        let numbers: Vec<usize> =
            kept.iter().map(|record| record.message.split_whitespace().nth(1).unwrap().parse().unwrap()).collect();
        assert_eq!(numbers, (1..=kept.len()).collect::<Vec<_>>(), "each once, in order, whole");
        assert_eq!(last_position.line, kept.len() as u64, "a later import resumes after them");
        let message = error.to_string();
        assert!(
            message.contains(&format!("after line {}", kept.len())) && message.contains("cut short or damaged"),
            "{message}"
        );
    }

    #[test]
    fn a_record_whose_time_the_index_cannot_store_is_rejected_with_why() {
        let body = concat!(
            r#"{"ts":"9999-12-31T23:59:59Z","msg":"far future"}"#,
            "\n",
            r#"{"ts":"0000-01-01T00:00:00Z","msg":"year zero"}"#,
            "\n",
            r#"{"ts":-9223372036854775808,"msg":"i64 minimum"}"#,
            "\n",
            r#"{"ts":"2024-05-01T10:00:00Z","msg":"fine"}"#,
            "\n",
        );
        let (kept, rejections) = read_all("body", body, Format::Json);
        assert_eq!(kept.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(), ["fine"]);
        let group = &rejections.by_reason["timestamp out of range"];
        assert_eq!(group.count, 3, "{rejections:?}");
        assert!(group.examples[0].starts_with("body:1: timestamp out of range"), "{:?}", group.examples);
    }
}

#[cfg(test)]
mod property_tests {
    use proptest::prelude::*;

    use super::*;

    fn parsers() -> Vec<LineParser> {
        vec![
            LineParser::Raw,
            LineParser::Json,
            LineParser::Logfmt,
            LineParser::Syslog,
            LineParser::Clf,
            LineParser::Text,
            LineParser::Pattern(Layout::new("<Date> <Time> <Level> [<Process>] <Component>: <Content>").unwrap()),
        ]
    }

    /// Lines that look a little like logs, so the parsers get past their first checks.
    fn loggy_line() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "2024-05-01 10:00:00,123",
            "Jun 14 15:16:01",
            "<34>",
            "<165>1 ",
            "{",
            "}",
            "\"",
            "=",
            "[",
            "]",
            "(",
            ")",
            ":",
            " ",
            "\t",
            "INFO",
            "level=",
            "msg=\"",
            "081109 203615",
            "-",
            "é",
            "\\",
            "GET /x HTTP/1.1",
        ]);
        (prop::collection::vec(pieces, 0..12), ".{0,20}").prop_map(|(pieces, tail)| pieces.concat() + &tail)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn no_parser_panics_on_any_line(line in prop_oneof![loggy_line(), ".{0,200}"]) {
            for parser in parsers() {
                let _ = parser.parse(&line, "s", Origin { file: "f".into(), line: 1 });
                let _ = parser.continues_record(&line);
            }
            let _ = LineParser::detect(&[line.as_str()]);
            let _ = leading_timestamp(&line);
        }

        #[test]
        fn every_line_of_any_bytes_is_kept_joined_or_rejected(bytes in prop::collection::vec(any::<u8>(), 0..2000), format in 0usize..8) {
            let format = [Format::Auto, Format::Raw, Format::Json, Format::Logfmt, Format::Syslog, Format::Clf, Format::Text, Format::Pattern][format];
            let options = ParseOptions { format, pattern: Some("<Date> <Time> <Content>".into()), max_line_bytes: 300, ..ParseOptions::default() };
            let mut rejections = Rejections::default();
            let mut kept = 0u64;
            let mut last = ReadPosition::default();
            let mut went_back = false;
            let summary = read_records::<IngestError>(Input::from_bytes("f", bytes.clone()), &options, 7, ReadPosition::default(), &mut rejections, |batch, position| {
                kept += batch.len() as u64;
                went_back |= position.offset < last.offset;
                last = position;
                Ok(())
            }).unwrap();
            prop_assert!(!went_back, "positions handed over must not go back");
            prop_assert_eq!(summary.records, kept);
            prop_assert_eq!(last.offset, bytes.len() as u64);
            let lines = bytes.split(|&b| b == b'\n').count() as u64 - u64::from(bytes.is_empty() || bytes.ends_with(b"\n"));
            prop_assert_eq!(summary.lines, lines);
            prop_assert!(kept + rejections.total() <= lines);
            // Every record kept has a time the index can store (or none, for the ingest time).
            let mut times_ok = true;
            read_records::<IngestError>(Input::from_bytes("f", bytes), &options, 7, ReadPosition::default(), &mut Rejections::default(), |batch, _| {
                times_ok &= batch.iter().all(|record| record.timestamp_ms.is_none_or(storable));
                Ok(())
            }).unwrap();
            prop_assert!(times_ok);
        }
    }
}
