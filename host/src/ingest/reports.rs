//! Bug reports and user feedback in, [`BugReport`]s out: the exports trackers write, read by
//! their usual column and key names (matched without case); anything else is kept as a field.
//!
//! - Jira CSV (`Summary,Issue key,Issue id,...,Created,...,Labels,Labels,...,Description`):
//!   the id is the `Issue key` (`PROJ-123`, the `Issue id` stays a field); repeated columns
//!   (`Labels`, `Component/s`, `Affects Version/s`, `Watchers`, `Comment`) keep every value;
//!   `Created` as `dd/MMM/yy HH:mm`, `dd/MMM/yy h:mm a` or ISO. Jira's REST JSON (`key`, and
//!   the rest under `fields`) too.
//! - GitHub issue JSON (`number`, `title`, `body`, `user.login`, `labels: [{name}]`,
//!   `created_at`, `state`).
//! - GitLab issue JSON (`iid`, `title`, `description`, `author.username`, `labels`,
//!   `created_at`, `state`; the global `id` stays a field) and CSV (`Issue ID`,
//!   `Author Username`, `Created At (UTC)`).
//! - Bugzilla CSV (`bug_id`, `short_desc`, `bug_status`, `opendate`, or
//!   `Summary,Issue id,Status,...`) and REST JSON (`id`, `summary`, `creation_time`).
//! - Redmine CSV (`#`, `Subject`, `Author`, `Created`), MantisBT (`Id`, `Summary`,
//!   `Date Submitted`, a date alone), Trac (`id`, `summary`, `reporter`, `time`), Azure DevOps
//!   (`ID`, `Title`, `Created Date` as `12/6/2024 9:58:00 AM`, `Created By`, the HTML of
//!   `Repro Steps` as text when `Description` is empty), YouTrack and Linear CSV.
//! - A JSON object without an id of its own that holds one array of objects is that list of
//!   issues (`{"issues": [...], "total": 2}`: Jira's search, Redmine; Bugzilla's `bugs`,
//!   Zendesk's `tickets`). Sentry's issues (`title`, `culprit`, `firstSeen`).
//! - JSON lines of any of these, or of plain feedback (`id`, `title` or `text`, ...).
//!
//! A row or item without an id, or with neither a title nor a body, is rejected
//! ([`Rejections`]: not stored). A report whose date cannot be read is kept with its date
//! unknown and its raw date as a field, and a warning names the file, line and value
//! ([`Warnings`]): a report is never dropped for its date.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value};

use super::timestamp::parse_timestamp;
use super::{IngestError, Origin, Rejections, Warnings};

/// One bug report or piece of feedback.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BugReport {
    pub id: String,
    pub title: String,
    pub body: String,
    /// Milliseconds since the Unix epoch, UTC; `None` when the input had no date or one that
    /// could not be read.
    pub created_ms: Option<i64>,
    pub reporter: Option<String>,
    pub labels: Vec<String>,
    pub status: Option<String>,
    pub stack_trace: Option<String>,
    /// The first version named; when the input names several, all of them are in `fields`
    /// under the column's name.
    pub version: Option<String>,
    /// The first component named; when the input names several, all of them are in `fields`
    /// under the column's name.
    pub component: Option<String>,
    /// Every other column or key (priority, resolution, resolved, ...); a repeated column's
    /// values as an array.
    pub fields: Map<String, Value>,
    pub origin: Origin,
    /// What plugins wrote about the report, e.g. `group`.
    pub annotations: BTreeMap<String, String>,
}

/// How a reports file is laid out (`import --reports --format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// By extension (`.csv`, `.jsonl`/`.ndjson`), else by the first characters (`[` is a JSON
    /// array, `{` JSON lines when the first line ends with `}`, else one JSON object).
    Auto,
    /// A JSON array of issues (GitHub's or GitLab's export) or one object.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// A CSV export with a header row.
    Csv,
}

/// Where the id is read from, the first with a value: a tracker's own id (Jira's `PROJ-123`,
/// GitLab's `iid`, GitHub's `number`) before its global one, which stays a field.
const ID_KEYS: &[&str] = &[
    "issue key",
    "key",
    "iid",
    "number",
    "#",
    "id",
    "issue id",
    "bug id",
    "bug_id",
    "issue_id",
    "ticket",
    "ticket id",
];
/// With the names a tracker's export gives the columns in German, French, Spanish and Italian
/// (Redmine translates its CSV headers: `Thema`, `Sujet`, `Asunto`, `Oggetto`).
const TITLE_KEYS: &[&str] =
    &["title", "summary", "short_desc", "subject", "thema", "betreff", "sujet", "résumé", "asunto", "oggetto"];
/// Azure DevOps keeps a bug's text in `Repro Steps`, its `Description` empty.
const BODY_KEYS: &[&str] = &[
    "body",
    "description",
    "text",
    "comment",
    "details",
    "repro steps",
    "steps to reproduce",
    "culprit",
    "beschreibung",
    "descripción",
    "descrizione",
];
/// When a report was filed: Jira, GitHub, GitLab, Bugzilla; Azure DevOps (`Created Date`),
/// Redmine (`created_on`), Sentry (`firstSeen`), MantisBT (`Date Submitted`), Trac (`time`,
/// beside `changetime`); Redmine's translated headers last.
const CREATED_KEYS: &[&str] = &[
    "created",
    "created_at",
    "created at (utc)",
    "created at",
    "creation_time",
    "creation_ts",
    "opendate",
    "opened",
    "created date",
    "created on",
    "created_on",
    "firstseen",
    "first_seen",
    "date submitted",
    "submitted",
    "reported",
    "date",
    "timestamp",
    "time",
    "angelegt",
    "erstellt",
    "créé",
    "creado",
    "creato",
];
const REPORTER_KEYS: &[&str] = &[
    "reporter",
    "author username",
    "user",
    "author",
    "creator",
    "submitter",
    "created by",
    "reported by",
    "opened by",
    "autor",
    "auteur",
    "autore",
];
const LABEL_KEYS: &[&str] = &["labels", "label", "tags", "keywords"];
const STATUS_KEYS: &[&str] = &["status", "state", "bug_status"];
const STACK_KEYS: &[&str] = &["stack_trace", "stacktrace", "stack trace", "stack", "exception"];
const VERSION_KEYS: &[&str] = &["version", "versions", "affects version/s", "affected_version", "release"];
const COMPONENT_KEYS: &[&str] = &["component", "components", "component/s", "module", "product"];

/// How much of an input `--format auto` looks at.
const DETECTION_BYTES: usize = 4096;

/// The most of a value a warning quotes.
const QUOTED_CHARS: usize = 80;

/// The text of a JSON value: strings as they are, `{"login"|"username"|"name": ..}` by that
/// name.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()).filter(|text| !text.trim().is_empty()),
        Value::Object(object) => ["login", "username", "name", "displayName", "key"]
            .iter()
            .find_map(|key| object.get(*key).and_then(text_of)),
        Value::Number(number) => Some(number.to_string()),
        other => Some(other.to_string()),
    }
}

/// The texts of `values` (strings, `{name}` objects, arrays of them) in order, empty ones and
/// repeats left out; with `split`, a string is a list separated by `,` or `;`.
fn texts_of(values: Vec<Value>, split: bool) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    let mut keep = |text: &str| {
        let text = text.trim();
        if !text.is_empty() && !texts.iter().any(|kept| kept == text) {
            texts.push(text.to_string());
        }
    };
    for value in values {
        let items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        for item in items {
            match (item, split) {
                (Value::String(text), true) => text.split([',', ';']).for_each(&mut keep),
                (item, _) => {
                    if let Some(text) = text_of(&item) {
                        keep(&text);
                    }
                }
            }
        }
    }
    texts
}

/// The text of a body a tracker exported as HTML (Azure DevOps' `Repro Steps`:
/// `<div>Pay gives a 502.</div>`): tags dropped, a block's end a line break, the common
/// entities decoded. A body that does not open with a tag is text, `<*>` and all.
fn text_of_html(body: &str) -> String {
    let trimmed = body.trim_start();
    let opens_with_tag = trimmed.starts_with('<') && trimmed[1..].starts_with(|c: char| c.is_ascii_alphabetic());
    if !opens_with_tag || !trimmed.contains("</") {
        return body.to_string();
    }
    let mut text = String::with_capacity(body.len());
    let mut rest = trimmed;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            text.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim_start_matches('/').to_ascii_lowercase();
        let name = tag.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
        if matches!(name, "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "pre") && !text.ends_with('\n') {
            text.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    let text = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.trim().to_string()
}

/// `value` as a warning quotes it: JSON text, cut after [`QUOTED_CHARS`] characters.
fn quoted(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// A row's or an object's columns in order, repeated names included (Jira repeats `Labels`,
/// `Component/s`, ... once per value); names are matched without case.
struct Columns(Vec<Column>);

struct Column {
    lower: String,
    name: String,
    value: Value,
}

impl Columns {
    fn new(pairs: impl IntoIterator<Item = (String, Value)>) -> Self {
        Self(pairs.into_iter().map(|(name, value)| Column { lower: name.to_lowercase(), name, value }).collect())
    }

    /// The first column named as the first of `keys` present, taken out: its name and value.
    fn take(&mut self, keys: &[&str]) -> Option<(String, Value)> {
        let position = keys.iter().find_map(|key| self.0.iter().position(|column| column.lower == *key))?;
        let column = self.0.remove(position);
        Some((column.name, column.value))
    }

    /// The text of the first of `keys` that has one, taken out; the other keys stay.
    fn take_text(&mut self, keys: &[&str]) -> Option<String> {
        let (position, text) = keys.iter().find_map(|key| {
            let mut named = self.0.iter().enumerate().filter(|(_, column)| column.lower == *key);
            named.find_map(|(position, column)| Some((position, text_of(&column.value)?)))
        })?;
        self.0.remove(position);
        Some(text)
    }

    /// Every column named as the first of `keys` present, taken out: the name and the values.
    fn take_every(&mut self, keys: &[&str]) -> Option<(String, Vec<Value>)> {
        let key = keys.iter().find(|key| self.0.iter().any(|column| column.lower == **key))?;
        let (taken, kept): (Vec<Column>, Vec<Column>) =
            std::mem::take(&mut self.0).into_iter().partition(|column| column.lower == *key);
        self.0 = kept;
        let name = taken.first().map(|column| column.name.clone()).unwrap_or_default();
        Some((name, taken.into_iter().map(|column| column.value).collect()))
    }

    /// The columns left, as fields: empty ones left out, a repeated name's values in an array.
    fn into_fields(self) -> Map<String, Value> {
        let mut fields = Map::new();
        for Column { name, value, .. } in self.0 {
            if value.is_null() || value.as_str().is_some_and(|text| text.trim().is_empty()) {
                continue;
            }
            match fields.get_mut(&name) {
                None => {
                    fields.insert(name, value);
                }
                Some(Value::Array(values)) => values.push(value),
                Some(first) => *first = Value::Array(vec![first.take(), value]),
            }
        }
        fields
    }
}

/// The keys of a JSON issue; Jira's REST form keeps all but `key` and `id` under `fields`,
/// which are lifted up (a key at the top wins).
fn json_columns(mut object: Map<String, Value>) -> Vec<(String, Value)> {
    let nested =
        TITLE_KEYS.iter().all(|key| !object.contains_key(*key)) && object.get("fields").is_some_and(Value::is_object);
    let fields = if nested { object.remove("fields") } else { None };
    let mut pairs: Vec<(String, Value)> = object.into_iter().collect();
    if let Some(Value::Object(fields)) = fields {
        pairs.extend(fields);
    }
    pairs
}

/// Builds a report from keyed values (a JSON object or a CSV row, whose names may repeat);
/// the error says why there is no report. A date that cannot be read is counted in
/// `warnings`, and the report kept without it.
fn report_from(
    pairs: impl IntoIterator<Item = (String, Value)>,
    origin: Origin,
    warnings: &mut Warnings,
) -> Result<BugReport, String> {
    let mut columns = Columns::new(pairs);
    let id = columns.take_text(ID_KEYS).ok_or("no id (Issue key, key, iid, number, id, Issue id)")?;
    let title = columns.take_text(TITLE_KEYS).unwrap_or_default();
    let body = columns.take_text(BODY_KEYS).map(|body| text_of_html(&body)).unwrap_or_default();
    if title.is_empty() && body.is_empty() {
        return Err(format!("report {id}: no title and no body"));
    }
    // Kept as fields too: all the values of a repeated column, and a date that was not read.
    let mut extra_fields = Vec::new();
    let created_ms = match columns.take(CREATED_KEYS) {
        None | Some((_, Value::Null)) => None,
        Some((_, Value::String(text))) if text.trim().is_empty() => None,
        Some((name, value)) => {
            // A date the index cannot store (it would wrap around) is as unreadable as none.
            let read = parse_timestamp(&value).filter(|ms| super::timestamp::storable(*ms));
            if read.is_none() {
                let message = format!("unreadable created time {}; kept with its date unknown", quoted(&value));
                warnings.add(&origin.file, origin.line, "unreadable created time", &message);
                extra_fields.push((name, value));
            }
            read
        }
    };
    let labels = columns.take_every(LABEL_KEYS).map(|(_, values)| texts_of(values, true)).unwrap_or_default();
    let mut first_of_every = |keys: &[&str]| {
        let (name, values) = columns.take_every(keys)?;
        let texts = texts_of(values, false);
        if texts.len() > 1 {
            extra_fields.push((name, texts.iter().cloned().map(Value::String).collect()));
        }
        texts.into_iter().next()
    };
    let version = first_of_every(VERSION_KEYS);
    let component = first_of_every(COMPONENT_KEYS);
    let mut text_field = |keys: &[&str]| columns.take(keys).and_then(|(_, value)| text_of(&value));
    let reporter = text_field(REPORTER_KEYS);
    let status = text_field(STATUS_KEYS);
    let stack_trace = text_field(STACK_KEYS);
    let mut fields = columns.into_fields();
    fields.extend(extra_fields);
    Ok(BugReport {
        id,
        title,
        body,
        created_ms,
        reporter,
        labels,
        status,
        stack_trace,
        version,
        component,
        fields,
        origin,
        annotations: BTreeMap::new(),
    })
}

/// The issues of a JSON object: those of the one array of objects it holds when it has no id
/// of its own (`{"issues": [...], "total": 2}` as Jira's search and Redmine answer,
/// `{"bugs": [...]}` from Bugzilla, `{"tickets": [...]}` from Zendesk), else the object itself.
fn listed_items(mut object: serde_json::Map<String, Value>) -> Vec<Value> {
    let has_id = object.keys().any(|key| ID_KEYS.contains(&key.to_lowercase().as_str()));
    let mut lists = object.iter().filter(
        |(_, value)| matches!(value, Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object)),
    );
    let only_list = match (lists.next(), lists.next()) {
        (Some((key, _)), None) if !has_id => Some(key.clone()),
        _ => None,
    };
    match only_list.and_then(|key| object.remove(&key)) {
        Some(Value::Array(items)) => items,
        _ => vec![Value::Object(object)],
    }
}

/// The delimiter of a CSV export: `,`, or `;` or a tab when the header line holds more of it
/// (a spreadsheet or tracker in a locale whose decimal mark is a comma writes `;`: Redmine in
/// German, Excel in most of Europe).
fn csv_delimiter(bytes: &[u8]) -> u8 {
    let header = bytes.split(|byte| *byte == b'\n').next().unwrap_or(bytes);
    let count = |wanted: u8| header.iter().filter(|byte| **byte == wanted).count();
    let commas = count(b',');
    [b';', b'\t'].into_iter().find(|delimiter| count(*delimiter) > commas).unwrap_or(b',')
}

/// `bytes` read as Windows-1252: Latin-1, with the printable characters it puts in 0x80–0x9F.
fn windows_1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&byte| match byte {
            0x80..=0x9f => HIGH[usize::from(byte - 0x80)],
            _ => char::from(byte),
        })
        .collect()
}

fn detect(path: &Path, head: &[u8]) -> ReportFormat {
    let extension = path.extension().map(|ext| ext.to_string_lossy().to_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "csv" => ReportFormat::Csv,
        "jsonl" | "ndjson" => ReportFormat::Jsonl,
        _ => match head.iter().position(|byte| !byte.is_ascii_whitespace()).map(|start| &head[start..]) {
            Some([b'[', ..]) => ReportFormat::Json,
            // One object a line ends its first line with `}`; a pretty-printed object does not.
            Some(text @ [b'{', ..]) => match text.iter().position(|&byte| byte == b'\n') {
                Some(end) if text[..end].trim_ascii_end().ends_with(b"}") => ReportFormat::Jsonl,
                Some(_) => ReportFormat::Json,
                // A first line longer than the head is a long line of JSON lines.
                None if text.len() < DETECTION_BYTES => ReportFormat::Json,
                None => ReportFormat::Jsonl,
            },
            _ => ReportFormat::Csv,
        },
    }
}

/// Reads every report in `path`; bad rows or items are counted in `rejections` with where and
/// why, reports kept with a problem (an unreadable date) in `warnings`, and the reports are
/// returned.
pub fn read_reports(
    path: &Path,
    format: ReportFormat,
    rejections: &mut Rejections,
    warnings: &mut Warnings,
) -> Result<Vec<BugReport>, IngestError> {
    let name = path.display().to_string();
    let open_error = |source| IngestError::Open { path: path.to_path_buf(), source };
    let mut input = super::Input::open(path)?;
    let mut bytes = Vec::new();
    input.reader.read_to_end(&mut bytes).map_err(open_error)?;
    parse_reports(&name, &bytes, format, rejections, warnings)
}

/// Parses the reports in `bytes` (an input called `name`, whose extension helps detection),
/// counting as [`read_reports`] does.
pub fn parse_reports(
    name: &str,
    bytes: &[u8],
    format: ReportFormat,
    rejections: &mut Rejections,
    warnings: &mut Warnings,
) -> Result<Vec<BugReport>, IngestError> {
    let name = name.to_string();
    // A byte order mark (spreadsheet tools write one) is no part of the first key or column.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    // Not UTF-8: a tracker or spreadsheet on Windows wrote it in Windows-1252, said so.
    let decoded;
    let bytes = match std::str::from_utf8(bytes) {
        Ok(_) => bytes,
        Err(error) => {
            let line = 1 + bytes[..error.valid_up_to()].iter().filter(|byte| **byte == b'\n').count() as u64;
            let message = "not UTF-8: read as Windows-1252 (the encoding of exports made on Windows in Western Europe)";
            warnings.add(&name, line, "not UTF-8", message);
            decoded = windows_1252(bytes);
            decoded.as_bytes()
        }
    };
    let format = if format == ReportFormat::Auto {
        detect(Path::new(&name), &bytes[..bytes.len().min(DETECTION_BYTES)])
    } else {
        format
    };
    let mut reports = Vec::new();
    match format {
        ReportFormat::Auto | ReportFormat::Csv => {
            let mut reader =
                csv::ReaderBuilder::new().flexible(true).delimiter(csv_delimiter(bytes)).from_reader(bytes);
            let headers = reader
                .headers()
                .map_err(|error| IngestError::Options { input: name.clone(), reason: format!("CSV header: {error}") })?
                .iter()
                .map(|header| header.trim().to_string())
                .collect::<Vec<_>>();
            // Where the last row began, and whether its last field runs over lines.
            let mut last_row = (0, false);
            for row in reader.records() {
                match row {
                    Err(error) => {
                        let line = error.position().map_or(0, |position| position.line());
                        rejections.add(&name, line, &format!("invalid CSV: {error}"));
                    }
                    Ok(row) => {
                        let line = row.position().map_or(0, |position| position.line());
                        last_row = (line, row.iter().last().is_some_and(|field| field.trim_end().contains('\n')));
                        if row.len() > headers.len() {
                            // Most often a quote opened in a field and closed only in a later
                            // row, which then became part of this one.
                            let last = line
                                + row.iter().map(|field| field.trim_end().matches('\n').count() as u64).sum::<u64>();
                            let lines =
                                if last > line { format!("lines {line}-{last}") } else { format!("line {line}") };
                            warnings.add(
                                &name,
                                line,
                                "more fields than the header",
                                &format!(
                                    "{} fields on {lines} where the header has {}: kept with the fields past the header \
                                     left out; a quote not closed where it should be joins rows into one",
                                    row.len(),
                                    headers.len()
                                ),
                            );
                        }
                        // Pairs, not a map: a repeated column keeps every value.
                        let columns = headers
                            .iter()
                            .zip(row.iter())
                            .map(|(key, value)| (key.clone(), Value::String(value.into())));
                        match report_from(columns, Origin { file: name.clone(), line }, warnings) {
                            Ok(report) => reports.push(report),
                            Err(reason) => rejections.add(&name, line, &format!("invalid report: {reason}")),
                        }
                    }
                }
            }
            // A field runs over lines only inside quotes, which a file then closes at its end;
            // a last field over lines in a file that does not end with a quote is a quote never
            // closed, and that row holds the rest of the file.
            let (last_row_line, runs_over_lines) = last_row;
            if runs_over_lines && !bytes.trim_ascii_end().ends_with(b"\"") {
                warnings.add(
                    &name,
                    last_row_line,
                    "quote never closed",
                    &format!(
                        "a quote in the row at line {last_row_line} is never closed: the rest of the file was read \
                         into that row"
                    ),
                );
            }
        }
        ReportFormat::Jsonl => {
            for (index, line) in bytes.split(|&byte| byte == b'\n').enumerate() {
                let number = index as u64 + 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match serde_json::from_slice::<Value>(line) {
                    // A line may be a whole export that lists its issues (`{"issues": [...]}`
                    // written on one line, as a script saving an API's answer does).
                    Ok(Value::Object(object)) => {
                        for item in listed_items(object) {
                            let Value::Object(item) = item else { continue };
                            let origin = Origin { file: name.clone(), line: number };
                            match report_from(json_columns(item), origin, warnings) {
                                Ok(report) => reports.push(report),
                                Err(reason) => rejections.add(&name, number, &format!("invalid report: {reason}")),
                            }
                        }
                    }
                    Ok(_) => rejections.add(&name, number, "invalid JSON: not an object"),
                    Err(error) => rejections.add(&name, number, &format!("invalid JSON: {error}")),
                }
            }
        }
        ReportFormat::Json => {
            let items = match serde_json::from_slice::<Value>(bytes) {
                Ok(Value::Array(items)) => items,
                Ok(Value::Object(object)) => listed_items(object),
                Ok(_) => {
                    return Err(IngestError::Options { input: name, reason: "expected a JSON array of issues".into() });
                }
                Err(error) => {
                    return Err(IngestError::Options { input: name, reason: format!("invalid JSON: {error}") });
                }
            };
            for (index, item) in items.into_iter().enumerate() {
                // JSON arrays have no line per item; `line` is the item's 1-based position.
                let number = index as u64 + 1;
                match item {
                    Value::Object(object) => {
                        let origin = Origin { file: name.clone(), line: number };
                        match report_from(json_columns(object), origin, warnings) {
                            Ok(report) => reports.push(report),
                            Err(reason) => {
                                rejections.add(&name, number, &format!("invalid report: item {number}: {reason}"))
                            }
                        }
                    }
                    _ => rejections.add(&name, number, &format!("invalid report: item {number} is not an object")),
                }
            }
        }
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// Reads `text` from a file called `name`: the reports, rejections and warnings.
    fn read(name: &str, text: &str) -> (Vec<BugReport>, Rejections, Warnings) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let (mut rejections, mut warnings) = (Rejections::default(), Warnings::default());
        let reports = read_reports(&path, ReportFormat::Auto, &mut rejections, &mut warnings).unwrap();
        (reports, rejections, warnings)
    }

    fn utc(text: &str) -> Option<i64> {
        Some(chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis())
    }

    #[test]
    fn csv_exports_of_redmine_mantis_trac_and_azure_devops() {
        let read = |csv: &str| {
            let (mut rejections, mut warnings) = (Rejections::default(), Warnings::default());
            let reports =
                parse_reports("export.csv", csv.as_bytes(), ReportFormat::Csv, &mut rejections, &mut warnings).unwrap();
            assert_eq!((rejections.total(), warnings.total()), (0, 0), "{rejections:?} {warnings:?}");
            reports
        };
        let redmine = read(
            "#,Project,Tracker,Status,Priority,Subject,Author,Assignee,Updated,Created,Description\n\
             1042,Shop,Bug,New,High,Checkout fails with 502,Alice Smith,,2024-12-06 10:11,2024-12-06 09:58,Pay gives a 502\n",
        );
        let first = &redmine[0];
        assert_eq!(
            (first.id.as_str(), first.title.as_str(), first.body.as_str()),
            ("1042", "Checkout fails with 502", "Pay gives a 502")
        );
        assert_eq!((first.reporter.as_deref(), first.created_ms), (Some("Alice Smith"), Some(1_733_479_080_000)));
        let mantis = read(
            "Id,Project,Reporter,Assigned To,Priority,Severity,Category,Date Submitted,Updated,Summary,Status\n\
             0000123,Shop,alice,,high,major,Payments,2024-12-06,2024-12-07,Checkout fails with 502,new\n",
        );
        assert_eq!((mantis[0].id.as_str(), mantis[0].created_ms), ("0000123", Some(1_733_443_200_000)));
        let trac = read(
            "id,summary,status,type,component,time,changetime,reporter,owner,description\n\
             12,Checkout fails with 502,new,defect,payments,2024-12-06T09:58:00Z,2024-12-06T10:11:00Z,alice,bob,Pay gives a 502\n",
        );
        assert_eq!((trac[0].created_ms, trac[0].reporter.as_deref()), (Some(1_733_479_080_000), Some("alice")));
        let azure = read(
            "ID,Work Item Type,Title,Assigned To,State,Created Date,Created By,Description,Repro Steps\n\
             4711,Bug,Checkout fails with 502,,New,12/6/2024 9:58:00 AM,Alice Smith <alice@example.com>,,<div>Pay gives a 502</div>\n",
        );
        let bug = &azure[0];
        assert_eq!((bug.created_ms, bug.body.as_str()), (Some(1_733_479_080_000), "Pay gives a 502"));
        assert_eq!(
            text_of_html("<div>Steps:</div><div>1. pay &amp; see <b>502</b><br>2. retry</div>"),
            "Steps:\n1. pay & see 502\n2. retry"
        );
        assert_eq!(text_of_html("<*> timed out after <*> s"), "<*> timed out after <*> s", "not HTML");
        assert_eq!(bug.reporter.as_deref(), Some("Alice Smith <alice@example.com>"));
    }

    #[test]
    fn github_issue_export() {
        let (reports, rejections, warnings) = read(
            "issues.json",
            r#"[{"id": 2269914812, "number": 12, "title": "Crash on save", "body": "NullPointerException", "created_at": "2024-05-01T10:00:00Z",
                 "user": {"login": "alice"}, "labels": [{"name": "bug"}, {"name": "p1"}], "state": "open", "comments": 3},
                {"title": "no number"}]"#,
        );
        assert_eq!(reports.len(), 1);
        let report = &reports[0];
        assert_eq!((report.id.as_str(), report.title.as_str()), ("12", "Crash on save"));
        assert_eq!(report.reporter.as_deref(), Some("alice"));
        assert_eq!(report.labels, ["bug", "p1"]);
        assert_eq!(report.status.as_deref(), Some("open"));
        assert_eq!(report.created_ms, Some(1_714_557_600_000));
        assert_eq!(report.fields["comments"], 3);
        assert_eq!(report.fields["id"], 2_269_914_812_u64, "the global id stays a field");
        assert_eq!(rejections.total(), 1);
        assert_eq!(warnings.total(), 0);
    }

    #[test]
    fn gitlab_issue_export() {
        let (reports, rejections, warnings) = read(
            "gitlab.json",
            r#"[{"id": 84512, "iid": 7, "project_id": 3, "title": "Export hangs", "description": "at 99%",
                 "state": "opened", "created_at": "2024-05-01T10:00:00.123+02:00",
                 "author": {"id": 5, "username": "bob", "name": "Bob Example"}, "labels": ["bug", "export"]},
                {"id": 84513, "title": "no iid, global id", "description": "", "author": {"name": "Carol"}}]"#,
        );
        assert_eq!(rejections.total(), 0);
        assert_eq!(warnings.total(), 0);
        let report = &reports[0];
        assert_eq!((report.id.as_str(), report.title.as_str(), report.body.as_str()), ("7", "Export hangs", "at 99%"));
        assert_eq!(report.fields["id"], 84512, "the global id stays a field");
        assert_eq!(report.reporter.as_deref(), Some("bob"), "the username, not the display name");
        assert_eq!(report.labels, ["bug", "export"]);
        assert_eq!(report.status.as_deref(), Some("opened"));
        assert_eq!(report.created_ms, utc("2024-05-01T08:00:00.123Z"));
        assert_eq!((reports[1].id.as_str(), reports[1].reporter.as_deref()), ("84513", Some("Carol")));
    }

    #[test]
    fn gitlab_csv_export() {
        let (reports, _, warnings) = read(
            "gitlab.csv",
            "Issue ID,URL,Title,State,Description,Author,Author Username,Assignee,Assignee Username,Confidential,\
             Locked,Due Date,Created At (UTC),Updated At (UTC),Closed At (UTC),Milestone,Weight,Labels,Time Estimate,Time Spent\n\
             7,https://gitlab.example/g/p/-/issues/7,Export hangs,Open,at 99%,Bob Example,bob,,,No,No,,\
             2024-05-01 10:00:00,2024-05-02 10:00:00,,,,\"bug,export\",0,0\n",
        );
        assert_eq!(warnings.total(), 0);
        let report = &reports[0];
        assert_eq!((report.id.as_str(), report.reporter.as_deref()), ("7", Some("bob")));
        assert_eq!(report.created_ms, Some(1_714_557_600_000));
        assert_eq!(report.labels, ["bug", "export"]);
        assert_eq!(report.fields["Author"], "Bob Example");
    }

    #[test]
    fn bugzilla_csv_with_multiline_fields() {
        let (reports, rejections, warnings) = read(
            "bugs.csv",
            "Summary,Issue id,Status,Priority,Resolution,Created,Resolved,Description\n\
             \"Crash, on save\",101,RESOLVED,P1,FIXED,2020-01-02 17:14:21+00:00,,\"line one\nline two\"\n\
             Missing id,,NEW,P2,,2020-01-03 10:00:00+00:00,,text\n\
             Hang,102,NEW,--,,not a date,,text\n",
        );
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].title, "Crash, on save");
        assert_eq!(reports[0].body, "line one\nline two");
        assert_eq!(reports[0].fields["Priority"], "P1");
        assert_eq!(reports[0].created_ms, Some(1_577_985_261_000));
        let reasons = &rejections.by_reason["invalid report"].examples;
        assert!(reasons[0].contains("bugs.csv:4") && reasons[0].contains("no id"), "{reasons:?}");
        assert_eq!(rejections.total(), 1);
        let hang = &reports[1];
        assert_eq!((hang.id.as_str(), hang.created_ms), ("102", None), "kept, with its date unknown");
        assert_eq!(hang.fields["Created"], "not a date", "the date as written is kept");
        let examples = &warnings.by_reason["unreadable created time"].examples;
        assert_eq!(warnings.total(), 1);
        assert!(
            examples[0].ends_with("bugs.csv:5: unreadable created time \"not a date\"; kept with its date unknown"),
            "{examples:?}"
        );
    }

    #[test]
    fn a_quote_closed_rows_later_joins_them_and_is_named() {
        let (reports, rejections, warnings) = read(
            "jira.csv",
            "Summary,Issue key,Created,Description\n\
             Login fails,ABC-1,30/Sep/21 17:20,\"broken\n\
             \"Search slow\",ABC-2,01/Okt/21 09:00,slow\n\
             Export crash,ABC-3,02/Oct/21 10:00,crash on export\n",
        );
        let ids: Vec<&str> = reports.iter().map(|report| report.id.as_str()).collect();
        assert_eq!((ids, rejections.total()), (vec!["ABC-1", "ABC-3"], 0));
        let examples = &warnings.by_reason["more fields than the header"].examples;
        assert_eq!(warnings.total(), 1, "{:?}", warnings.by_reason);
        assert!(examples[0].contains("jira.csv:2: 7 fields on lines 2-3 where the header has 4"), "{examples:?}");

        // A quote opened in the last column and never closed takes the rest of the file.
        let (reports, _, warnings) = read(
            "tail.csv",
            "Summary,Issue key,Created,Description\n\
             Login fails,ABC-1,30/Sep/21 17:20,broken\n\
             Search slow,ABC-2,01/Oct/21 09:00,\"slow\n\
             Export crash,ABC-3,02/Oct/21 10:00,crash on export\n",
        );
        assert_eq!(reports.len(), 2);
        let examples = &warnings.by_reason["quote never closed"].examples;
        assert!(examples[0].contains("tail.csv:3: a quote in the row at line 3 is never closed"), "{examples:?}");
    }

    #[test]
    fn bugzilla_buglist_csv() {
        let (reports, _, warnings) = read(
            "buglist.csv",
            "bug_id,\"product\",\"component\",\"assigned_to\",\"bug_status\",\"resolution\",\"short_desc\",\"opendate\"\n\
             1606681,\"SeaMonkey\",\"Tabbed Browser\",\"nobody@mozilla.org\",\"NEW\",\"---\",\"Tabs flicker\",\"2020-01-02 17:14:21\"\n",
        );
        assert_eq!(warnings.total(), 0);
        let report = &reports[0];
        assert_eq!((report.id.as_str(), report.title.as_str()), ("1606681", "Tabs flicker"));
        assert_eq!((report.status.as_deref(), report.component.as_deref()), (Some("NEW"), Some("Tabbed Browser")));
        assert_eq!(report.fields["product"], "SeaMonkey");
        assert_eq!(report.created_ms, Some(1_577_985_261_000));
    }

    #[test]
    fn jira_csv_with_repeated_columns_and_both_date_forms() {
        let (reports, rejections, warnings) = read(
            "jira.csv",
            "\u{feff}Summary,Issue key,Issue id,Issue Type,Status,Priority,Resolution,Reporter,Created,\
             Affects Version/s,Affects Version/s,Component/s,Component/s,Labels,Labels,Labels,Description,\
             Watchers,Watchers,Comment,Comment\n\
             Checkout fails,PAY-12,10012,Bug,Open,High,,jsmith,30/Sep/21 17:20,2.1,2.2,Payments UI,Billing,\
             checkout,,regression,\"Steps:\n1. pay\n2. see \"\"500\"\"\",jsmith,adoe,\
             30/Sep/21 5:25 PM;adoe;seen too,\n\
             Slow search,PAY-13,10013,Bug,Done,Low,Fixed,adoe,01/Oct/21 9:05 AM,,,,,,,,,,,,\n\
             Odd date,PAY-14,10014,Bug,Open,Low,,adoe,sometime in October,,,,,,,,text,,,,\n",
        );
        assert_eq!(rejections.total(), 0, "{rejections:?}");
        assert_eq!(reports.len(), 3);
        let first = &reports[0];
        assert_eq!((first.id.as_str(), first.title.as_str()), ("PAY-12", "Checkout fails"));
        assert_eq!(first.fields["Issue id"], "10012", "the numeric id stays a field");
        assert_eq!(first.body, "Steps:\n1. pay\n2. see \"500\"");
        assert_eq!(first.created_ms, utc("2021-09-30T17:20:00Z"));
        assert_eq!((first.reporter.as_deref(), first.status.as_deref()), (Some("jsmith"), Some("Open")));
        assert_eq!(first.labels, ["checkout", "regression"]);
        assert_eq!((first.component.as_deref(), first.version.as_deref()), (Some("Payments UI"), Some("2.1")));
        assert_eq!(first.fields["Component/s"], json!(["Payments UI", "Billing"]));
        assert_eq!(first.fields["Affects Version/s"], json!(["2.1", "2.2"]));
        assert_eq!(first.fields["Watchers"], json!(["jsmith", "adoe"]));
        assert_eq!(first.fields["Comment"], "30/Sep/21 5:25 PM;adoe;seen too");
        assert_eq!((first.fields["Priority"].as_str(), first.fields.get("Resolution")), (Some("High"), None));
        let second = &reports[1];
        assert_eq!(second.created_ms, utc("2021-10-01T09:05:00Z"));
        assert!(second.labels.is_empty() && second.component.is_none() && second.body.is_empty());
        assert!(!second.fields.contains_key("Component/s"), "{:?}", second.fields);
        assert_eq!((reports[2].id.as_str(), reports[2].created_ms), ("PAY-14", None));
        let examples = &warnings.by_reason["unreadable created time"].examples;
        assert!(
            examples[0]
                .ends_with("jira.csv:6: unreadable created time \"sometime in October\"; kept with its date unknown"),
            "{examples:?}"
        );
    }

    #[test]
    fn a_csv_export_separated_by_semicolons_or_tabs_is_read() {
        for (delimiter, created) in [(';', "03.12.2026 14:12"), ('\t', "2026-12-03 14:12")] {
            let csv = format!(
                "#{d}Projekt{d}Thema{d}Autor{d}Angelegt{d}Beschreibung\n1042{d}Shop{d}Checkout, then 502{d}Anna{d}{created}{d}Zahlung\n",
                d = delimiter
            );
            let (mut rejections, mut warnings) = (Rejections::default(), Warnings::default());
            let reports =
                parse_reports("export.csv", csv.as_bytes(), ReportFormat::Csv, &mut rejections, &mut warnings).unwrap();
            assert_eq!(rejections.total(), 0, "{rejections:?}");
            let report = &reports[0];
            assert_eq!((report.id.as_str(), report.title.as_str()), ("1042", "Checkout, then 502"), "a comma is text");
            assert_eq!((report.body.as_str(), report.reporter.as_deref()), ("Zahlung", Some("Anna")));
            assert_eq!(report.created_ms, Some(1_796_307_120_000), "{:?}", report.fields);
        }
    }

    #[test]
    fn an_export_in_windows_1252_is_read_and_said_to_be() {
        let csv = b"#;Thema;Autor;Beschreibung\n7;Fehler beim Speichern \x96 \xdcbersicht;J\xfcrgen;Gr\xfc\xdfe\n";
        let (mut rejections, mut warnings) = (Rejections::default(), Warnings::default());
        let reports = parse_reports("export.csv", csv, ReportFormat::Csv, &mut rejections, &mut warnings).unwrap();
        assert_eq!(reports[0].title, "Fehler beim Speichern \u{2013} \u{dc}bersicht");
        assert_eq!(
            (reports[0].reporter.as_deref(), reports[0].body.as_str()),
            (Some("J\u{fc}rgen"), "Gr\u{fc}\u{df}e")
        );
        assert_eq!(warnings.total(), 1, "{warnings:?}");
        assert!(warnings.by_reason.contains_key("not UTF-8"), "{warnings:?}");
    }

    #[test]
    fn issues_listed_in_an_object_are_read_each() {
        let read = |json: &str| {
            let (mut rejections, mut warnings) = (Rejections::default(), Warnings::default());
            let reports =
                parse_reports("export.json", json.as_bytes(), ReportFormat::Json, &mut rejections, &mut warnings)
                    .unwrap();
            assert_eq!(rejections.total(), 0, "{rejections:?}");
            reports
        };
        let jira = read(
            r#"{"startAt": 0, "total": 2, "issues": [
                {"id": "10012", "key": "PAY-12", "fields": {"summary": "Checkout fails", "created": "2024-12-06T09:58:00.000+0000"}},
                {"id": "10013", "key": "PAY-13", "fields": {"summary": "Search is slow"}}]}"#,
        );
        assert_eq!(jira.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["PAY-12", "PAY-13"]);
        assert_eq!(jira[0].created_ms, Some(1_733_479_080_000));
        let redmine = read(
            r#"{"issues": [{"id": 1042, "subject": "Checkout fails with 502", "description": "Pay gives a 502",
                "created_on": "2024-12-06T09:58:00Z", "author": {"id": 5, "name": "Alice Smith"}}], "total_count": 1}"#,
        );
        assert_eq!(
            (redmine[0].title.as_str(), redmine[0].reporter.as_deref()),
            ("Checkout fails with 502", Some("Alice Smith"))
        );
        assert_eq!(redmine[0].created_ms, Some(1_733_479_080_000));
        let zendesk =
            read(r#"{"tickets": [{"id": 35436, "subject": "Checkout fails", "description": "502"}], "count": 1}"#);
        assert_eq!(zendesk[0].id, "35436");
        // The same answer saved on one line reads as JSON lines: each line's list is read too.
        let (mut rejections, mut warnings) = (Rejections::default(), Warnings::default());
        let one_line = r#"{"total": 2, "issues": [{"key": "OPS-41", "fields": {"summary": "a"}}, {"key": "OPS-42", "fields": {"summary": "b"}}]}"#;
        let lines =
            parse_reports("search.json", one_line.as_bytes(), ReportFormat::Auto, &mut rejections, &mut warnings)
                .unwrap();
        assert_eq!(lines.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["OPS-41", "OPS-42"], "{rejections:?}");
        let sentry = read(
            r#"[{"id": "4504", "title": "ZeroDivisionError: division by zero", "culprit": "shop.checkout in pay",
                "firstSeen": "2024-12-06T09:58:00Z"}]"#,
        );
        assert_eq!((sentry[0].body.as_str(), sentry[0].created_ms), ("shop.checkout in pay", Some(1_733_479_080_000)));
        // An issue that holds a list of its own (comments) is one issue.
        let one = read(r#"{"id": 7, "title": "Crash", "comments": [{"id": 1, "body": "me too"}]}"#);
        assert_eq!((one.len(), one[0].id.as_str()), (1, "7"));
    }

    #[test]
    fn jira_rest_json() {
        let (reports, _, warnings) = read(
            "jira.json",
            r#"{"id": "10012", "key": "PAY-12", "fields": {"summary": "Checkout fails", "description": "500",
                "created": "2021-09-30T19:20:00.000+0200", "reporter": {"name": "jsmith", "displayName": "J Smith"},
                "labels": ["checkout"], "components": [{"name": "Payments UI"}, {"name": "Billing"}],
                "status": {"name": "Open"}, "customfield_10001": null}}"#,
        );
        assert_eq!(warnings.total(), 0);
        let report = &reports[0];
        assert_eq!((report.id.as_str(), report.title.as_str()), ("PAY-12", "Checkout fails"));
        assert_eq!(report.created_ms, utc("2021-09-30T17:20:00Z"));
        assert_eq!((report.reporter.as_deref(), report.status.as_deref()), (Some("jsmith"), Some("Open")));
        assert_eq!(report.labels, ["checkout"]);
        assert_eq!(report.component.as_deref(), Some("Payments UI"));
        assert_eq!(report.fields["components"], json!(["Payments UI", "Billing"]));
        assert!(!report.fields.contains_key("customfield_10001"));
    }

    #[test]
    fn json_lines() {
        let (reports, rejections, warnings) = read(
            "feedback.jsonl",
            "{\"id\":\"f1\",\"summary\":\"slow search\",\"tags\":\"ux, perf\"}\n{oops\n\
             {\"id\":\"f2\",\"text\":\"love it\",\"created\":true}\n",
        );
        assert_eq!(reports[0].labels, ["ux", "perf"]);
        assert_eq!(rejections.by_reason["invalid JSON"].count, 1);
        assert_eq!((reports[1].id.as_str(), reports[1].created_ms), ("f2", None));
        let example = &warnings.by_reason["unreadable created time"].examples[0];
        assert!(
            example.ends_with("feedback.jsonl:3: unreadable created time true; kept with its date unknown"),
            "{example}"
        );
    }

    #[test]
    fn a_json_file_is_json_lines_when_its_first_line_is_an_object() {
        let lines = "{\"id\": \"f1\", \"title\": \"one\"}\n{\"id\": \"f2\", \"title\": \"two\"}\n";
        let (reports, rejections, _) = read("feedback.json", lines);
        assert_eq!((reports.len(), rejections.total()), (2, 0));
        let pretty = "{\n  \"iid\": 7,\n  \"title\": \"Export hangs\"\n}\n";
        let (reports, rejections, _) = read("issue.json", pretty);
        assert_eq!((reports.len(), rejections.total()), (1, 0), "{rejections:?}");
        assert_eq!(reports[0].id, "7");
    }

    #[test]
    fn a_long_unreadable_date_is_cut_in_the_warning() {
        let created = "x".repeat(500);
        let (reports, _, warnings) =
            read("long.jsonl", &format!("{{\"id\":\"1\",\"title\":\"t\",\"created\":\"{created}\"}}\n"));
        assert_eq!(reports.len(), 1);
        let example = &warnings.by_reason["unreadable created time"].examples[0];
        assert!(example.len() < 250 && example.contains("xxx...;"), "{example}");
    }

    proptest! {
        #[test]
        fn a_report_is_never_dropped_for_its_date(created in prop_oneof![".{0,40}", "[0-9/: A-Za-z+-]{0,24}"]) {
            let mut warnings = Warnings::default();
            let pairs = [("id", json!("R-1")), ("title", json!("t")), ("created", json!(created))]
                .map(|(key, value)| (key.to_string(), value));
            let report = report_from(pairs, Origin { file: "f".into(), line: 1 }, &mut warnings).unwrap();
            let unreadable = report.created_ms.is_none() && !created.trim().is_empty();
            prop_assert_eq!(warnings.total(), u64::from(unreadable));
            prop_assert_eq!(report.fields.contains_key("created"), unreadable);
        }
    }

    /// Text shaped a little like each export, so the parsers get past their first checks.
    fn exportish() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "[",
            "]",
            "{",
            "}",
            ",",
            ":",
            "\"",
            "\\",
            "\n",
            "\r\n",
            "\"id\"",
            "\"title\"",
            "\"created\"",
            "\"body\"",
            "\"labels\"",
            "null",
            "true",
            "1e999",
            "-0",
            "\"9999-12-31T23:59:59Z\"",
            "Summary",
            "Issue id",
            "Created",
            "Description",
            "\u{feff}",
            "é",
            " ",
            "[[[[[[[[",
            "{\"a\":{\"a\":{",
        ]);
        prop::collection::vec(pieces, 0..120).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Any body in any report format (as `POST /api/ingest/reports` hands it over): parsed
        /// or refused, never a panic, and every report kept has an id and a storable date.
        #[test]
        fn any_body_in_any_report_format_parses_or_is_refused(
            body in prop_oneof![exportish(), ".{0,400}", prop::collection::vec(any::<u8>(), 0..400).prop_map(|b| String::from_utf8_lossy(&b).into_owned())],
            format in 0usize..4,
        ) {
            let format = [ReportFormat::Auto, ReportFormat::Json, ReportFormat::Jsonl, ReportFormat::Csv][format];
            let (mut rejections, mut warnings) = (Rejections::default(), Warnings::default());
            if let Ok(reports) = parse_reports("body", body.as_bytes(), format, &mut rejections, &mut warnings) {
                for report in reports {
                    prop_assert!(!report.id.is_empty());
                    prop_assert!(report.created_ms.is_none_or(crate::ingest::storable));
                }
            }
        }
    }
}
