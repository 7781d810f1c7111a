//! Sources and parsers: bytes in (files, stdin), [`Record`]s out, in batches, with every
//! rejected line counted by reason and located by file and line.

mod format;
mod lines;
mod record;
mod timestamp;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

pub use format::Format;
pub use lines::{Line, LineReader};
pub use record::{Origin, Record, normalize_level};
pub use timestamp::{parse_timestamp, parse_timestamp_text};

/// Lines longer than this are rejected (without being held in memory).
pub const DEFAULT_MAX_LINE_BYTES: usize = 512 << 10;

/// What can stop reading an input (as opposed to a bad line, which is only counted).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("reading {input} after line {line}: {source}")]
    Read {
        input: String,
        line: u64,
        source: io::Error,
    },
}

/// Rejected lines, by reason, with the first few locations of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejections {
    pub by_reason: BTreeMap<String, RejectionGroup>,
}

/// The lines rejected for one reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectionGroup {
    pub count: u64,
    /// `file:line: detail` of the first few.
    pub examples: Vec<String>,
}

/// How many examples each reason keeps.
const EXAMPLES_PER_REASON: usize = 5;

impl Rejections {
    /// Counts a rejected line. `reason` reads `category: detail`; lines are grouped by category.
    pub fn add(&mut self, file: &str, line: u64, reason: &str) {
        let category = reason
            .split(':')
            .next()
            .unwrap_or(reason)
            .trim()
            .to_string();
        let group = self.by_reason.entry(category).or_default();
        group.count += 1;
        if group.examples.len() < EXAMPLES_PER_REASON {
            group.examples.push(format!("{file}:{line}: {reason}"));
        }
    }

    /// All rejected lines.
    pub fn total(&self) -> u64 {
        self.by_reason.values().map(|group| group.count).sum()
    }

    /// Adds another tally to this one.
    pub fn merge(&mut self, other: Rejections) {
        for (reason, group) in other.by_reason {
            let mine = self.by_reason.entry(reason).or_default();
            mine.count += group.count;
            let room = EXAMPLES_PER_REASON.saturating_sub(mine.examples.len());
            mine.examples.extend(group.examples.into_iter().take(room));
        }
    }
}

/// One input to read: a file, or `-` for stdin.
pub struct Input {
    /// How errors and origins name it.
    pub name: String,
    reader: Box<dyn BufRead + Send>,
}

impl Input {
    /// Opens `path` (`-` is stdin).
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        if path == Path::new("-") {
            return Ok(Self {
                name: "-".into(),
                reader: Box::new(BufReader::with_capacity(1 << 20, io::stdin())),
            });
        }
        let file = File::open(path).map_err(|source| IngestError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            name: path.display().to_string(),
            reader: Box::new(BufReader::with_capacity(1 << 20, file)),
        })
    }

    /// An input over bytes in memory, named `name`.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Self {
        Self {
            name: name.to_string(),
            reader: Box::new(io::Cursor::new(bytes)),
        }
    }
}

/// How to turn an input's lines into records.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    pub format: Format,
    /// The source name; `None` names it after the file (its stem), or `stdin`.
    pub source: Option<String>,
    pub max_line_bytes: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            format: Format::Auto,
            source: None,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// The source name of an input when none is given: the file name up to its first dot.
pub fn default_source(input_name: &str) -> String {
    if input_name == "-" {
        return "stdin".into();
    }
    let file_name = Path::new(input_name)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned());
    let file_name = file_name.unwrap_or_else(|| input_name.to_string());
    file_name
        .split('.')
        .next()
        .filter(|stem| !stem.is_empty())
        .unwrap_or(&file_name)
        .to_string()
}

/// What reading one input produced.
#[derive(Debug, Clone, Default)]
pub struct InputSummary {
    pub records: u64,
    pub lines: u64,
    pub bytes: u64,
    pub format: Option<Format>,
}

/// Reads `input` line by line, hands records to `on_batch` in batches of `batch_size`, and
/// counts rejected lines in `rejections`. An error from `on_batch` stops the reading.
pub fn read_records<E: From<IngestError>>(
    mut input: Input,
    options: &ParseOptions,
    batch_size: usize,
    rejections: &mut Rejections,
    mut on_batch: impl FnMut(Vec<Record>) -> Result<(), E>,
) -> Result<InputSummary, E> {
    let source = options
        .source
        .clone()
        .unwrap_or_else(|| default_source(&input.name));
    let mut format = (options.format != Format::Auto).then_some(options.format);
    let mut reader = LineReader::new(&mut input.reader, options.max_line_bytes);
    let mut batch = Vec::with_capacity(batch_size);
    let mut summary = InputSummary::default();
    loop {
        let line = reader.next_line().map_err(|source| IngestError::Read {
            input: input.name.clone(),
            line: summary.lines,
            source,
        })?;
        let Some(line) = line else { break };
        summary.lines += 1;
        let (number, bytes) = match line {
            Line::TooLong { number, length } => {
                let reason = format!(
                    "line too long: {length} bytes, over the {} byte limit",
                    options.max_line_bytes
                );
                rejections.add(&input.name, number, &reason);
                continue;
            }
            Line::Text { number, bytes } => (number, bytes),
        };
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => {
                let reason = format!("invalid UTF-8: at byte {}", error.valid_up_to());
                rejections.add(&input.name, number, &reason);
                continue;
            }
        };
        if text.trim().is_empty() {
            rejections.add(&input.name, number, "empty line");
            continue;
        }
        let format = *format.get_or_insert_with(|| Format::detect(bytes));
        let origin = Origin {
            file: input.name.clone(),
            line: number,
        };
        match format.parse(text, &source, origin) {
            Ok(record) => batch.push(record),
            Err(reason) => {
                rejections.add(&input.name, number, &reason);
                continue;
            }
        }
        summary.records += 1;
        if batch.len() >= batch_size {
            on_batch(std::mem::replace(
                &mut batch,
                Vec::with_capacity(batch_size),
            ))?;
        }
    }
    if !batch.is_empty() {
        on_batch(batch)?;
    }
    summary.bytes = reader.offset();
    summary.format = format;
    Ok(summary)
}
