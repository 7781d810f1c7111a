//! Bug reports and user feedback: GitHub issue export JSON, JSON lines, and Jira / Bugzilla
//! CSV exports (`Summary,Issue id,Status,...,Description`, multi-line quoted fields). Columns
//! and keys are matched by their usual names; anything else is kept as a field.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value};

use super::timestamp::parse_timestamp;
use super::{IngestError, Origin, Rejections};

/// One bug report or piece of feedback.
#[derive(Debug, Clone, PartialEq)]
pub struct BugReport {
    pub id: String,
    pub title: String,
    pub body: String,
    /// Milliseconds since the Unix epoch, UTC.
    pub created_ms: Option<i64>,
    pub reporter: Option<String>,
    pub labels: Vec<String>,
    pub status: Option<String>,
    pub stack_trace: Option<String>,
    pub version: Option<String>,
    pub component: Option<String>,
    /// Every other column or key (priority, resolution, resolved, ...).
    pub fields: Map<String, Value>,
    pub origin: Origin,
    /// What plugins wrote about the report, e.g. `group`.
    pub annotations: BTreeMap<String, String>,
}

/// How a reports file is laid out (`import --reports --format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// By extension (`.csv`, `.jsonl`/`.ndjson`), else by the first character (`[` is a JSON
    /// array, `{` JSON lines).
    Auto,
    /// A JSON array of issues (GitHub's export) or one object.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// A CSV export with a header row.
    Csv,
}

const ID_KEYS: &[&str] = &["id", "issue id", "issue key", "key", "number", "bug id", "bug_id", "issue_id"];
const TITLE_KEYS: &[&str] = &["title", "summary", "short_desc", "subject"];
const BODY_KEYS: &[&str] = &["body", "description", "text", "comment", "details"];
const CREATED_KEYS: &[&str] = &["created", "created_at", "creation_time", "opened", "date", "timestamp"];
const REPORTER_KEYS: &[&str] = &["reporter", "user", "author", "creator", "submitter"];
const LABEL_KEYS: &[&str] = &["labels", "label", "tags", "keywords"];
const STATUS_KEYS: &[&str] = &["status", "state"];
const STACK_KEYS: &[&str] = &["stack_trace", "stacktrace", "stack trace", "stack", "exception"];
const VERSION_KEYS: &[&str] = &["version", "versions", "affects version/s", "affected_version", "release"];
const COMPONENT_KEYS: &[&str] = &["component", "components", "component/s", "module", "product"];

/// The text of a JSON value: strings as they are, `{"login"|"name": ..}` by that name.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()).filter(|text| !text.trim().is_empty()),
        Value::Object(object) => {
            ["login", "name", "displayName", "key"].iter().find_map(|key| object.get(*key).and_then(text_of))
        }
        Value::Number(number) => Some(number.to_string()),
        other => Some(other.to_string()),
    }
}

/// Builds a report from keyed values (JSON object or CSV row); keys are matched without case.
fn report_from(object: Map<String, Value>, origin: Origin) -> Result<BugReport, String> {
    let mut by_name: Vec<(String, String, Value)> =
        object.into_iter().map(|(key, value)| (key.to_lowercase(), key, value)).collect();
    let mut take = |keys: &[&str]| -> Option<Value> {
        let position = keys.iter().find_map(|key| by_name.iter().position(|(lower, _, _)| lower == key))?;
        Some(by_name.remove(position).2)
    };
    let id = take(ID_KEYS).and_then(|value| text_of(&value)).ok_or("no id (id, Issue id, key, number)")?;
    let title = take(TITLE_KEYS).and_then(|value| text_of(&value)).unwrap_or_default();
    let body = take(BODY_KEYS).and_then(|value| text_of(&value)).unwrap_or_default();
    if title.is_empty() && body.is_empty() {
        return Err(format!("report {id}: no title and no body"));
    }
    let created_ms = match take(CREATED_KEYS) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(value) => {
            Some(parse_timestamp(&value).ok_or_else(|| format!("report {id}: unreadable created time {value}"))?)
        }
    };
    let labels = match take(LABEL_KEYS) {
        Some(Value::Array(items)) => items.iter().filter_map(text_of).collect(),
        Some(Value::String(text)) => {
            text.split([',', ';']).map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
        }
        _ => Vec::new(),
    };
    let mut text_field = |keys: &[&str]| take(keys).and_then(|value| text_of(&value));
    let reporter = text_field(REPORTER_KEYS);
    let status = text_field(STATUS_KEYS);
    let stack_trace = text_field(STACK_KEYS);
    let version = text_field(VERSION_KEYS);
    let component = text_field(COMPONENT_KEYS);
    let fields = by_name
        .into_iter()
        .filter(|(_, _, value)| !value.is_null() && value.as_str().is_none_or(|text| !text.is_empty()))
        .map(|(_, key, value)| (key, value))
        .collect();
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

fn detect(path: &Path, head: &[u8]) -> ReportFormat {
    let extension = path.extension().map(|ext| ext.to_string_lossy().to_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "csv" => ReportFormat::Csv,
        "jsonl" | "ndjson" => ReportFormat::Jsonl,
        _ => match head.iter().find(|byte| !byte.is_ascii_whitespace()) {
            Some(b'[') => ReportFormat::Json,
            Some(b'{') if head.iter().filter(|&&b| b == b'\n').count() > 1 => ReportFormat::Jsonl,
            Some(b'{') => ReportFormat::Json,
            _ => ReportFormat::Csv,
        },
    }
}

/// Reads every report in `path`; bad rows or items are counted in `rejections` with where and
/// why, and the good ones are returned.
pub fn read_reports(
    path: &Path,
    format: ReportFormat,
    rejections: &mut Rejections,
) -> Result<Vec<BugReport>, IngestError> {
    let name = path.display().to_string();
    let open_error = |source| IngestError::Open { path: path.to_path_buf(), source };
    let mut input = super::Input::open(path)?;
    let mut bytes = Vec::new();
    input.reader.read_to_end(&mut bytes).map_err(open_error)?;
    parse_reports(&name, &bytes, format, rejections)
}

/// Parses the reports in `bytes` (an input called `name`, whose extension helps detection).
pub fn parse_reports(
    name: &str,
    bytes: &[u8],
    format: ReportFormat,
    rejections: &mut Rejections,
) -> Result<Vec<BugReport>, IngestError> {
    let name = name.to_string();
    let format =
        if format == ReportFormat::Auto { detect(Path::new(&name), &bytes[..bytes.len().min(4096)]) } else { format };
    let mut reports = Vec::new();
    match format {
        ReportFormat::Auto | ReportFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
            let headers = reader
                .headers()
                .map_err(|error| IngestError::Options { input: name.clone(), reason: format!("CSV header: {error}") })?
                .clone();
            for row in reader.records() {
                match row {
                    Err(error) => {
                        let line = error.position().map_or(0, |position| position.line());
                        rejections.add(&name, line, &format!("invalid CSV: {error}"));
                    }
                    Ok(row) => {
                        let line = row.position().map_or(0, |position| position.line());
                        let object = headers
                            .iter()
                            .zip(row.iter())
                            .map(|(key, value)| (key.to_string(), Value::String(value.to_string())))
                            .collect();
                        match report_from(object, Origin { file: name.clone(), line }) {
                            Ok(report) => reports.push(report),
                            Err(reason) => rejections.add(&name, line, &format!("invalid report: {reason}")),
                        }
                    }
                }
            }
        }
        ReportFormat::Jsonl => {
            for (index, line) in bytes.split(|&byte| byte == b'\n').enumerate() {
                let number = index as u64 + 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match serde_json::from_slice::<Value>(line) {
                    Ok(Value::Object(object)) => match report_from(object, Origin { file: name.clone(), line: number })
                    {
                        Ok(report) => reports.push(report),
                        Err(reason) => rejections.add(&name, number, &format!("invalid report: {reason}")),
                    },
                    Ok(_) => rejections.add(&name, number, "invalid JSON: not an object"),
                    Err(error) => rejections.add(&name, number, &format!("invalid JSON: {error}")),
                }
            }
        }
        ReportFormat::Json => {
            let items = match serde_json::from_slice::<Value>(bytes) {
                Ok(Value::Array(items)) => items,
                Ok(object @ Value::Object(_)) => vec![object],
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
                    Value::Object(object) => match report_from(object, Origin { file: name.clone(), line: number }) {
                        Ok(report) => reports.push(report),
                        Err(reason) => {
                            rejections.add(&name, number, &format!("invalid report: item {number}: {reason}"))
                        }
                    },
                    _ => rejections.add(&name, number, &format!("invalid report: item {number} is not an object")),
                }
            }
        }
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> (Vec<BugReport>, Rejections) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut rejections = Rejections::default();
        let reports = read_reports(&path, ReportFormat::Auto, &mut rejections).unwrap();
        (reports, rejections)
    }

    #[test]
    fn github_issue_export() {
        let (reports, rejections) = read(
            "issues.json",
            r#"[{"number": 12, "title": "Crash on save", "body": "NullPointerException", "created_at": "2024-05-01T10:00:00Z",
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
        assert_eq!(rejections.total(), 1);
    }

    #[test]
    fn bugzilla_csv_with_multiline_fields() {
        let (reports, rejections) = read(
            "bugs.csv",
            "Summary,Issue id,Status,Priority,Resolution,Created,Resolved,Description\n\
             \"Crash, on save\",101,RESOLVED,P1,FIXED,2020-01-02 17:14:21+00:00,,\"line one\nline two\"\n\
             Missing id,,NEW,P2,,2020-01-03 10:00:00+00:00,,text\n\
             Hang,102,NEW,--,,not a date,,text\n",
        );
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].title, "Crash, on save");
        assert_eq!(reports[0].body, "line one\nline two");
        assert_eq!(reports[0].fields["Priority"], "P1");
        assert_eq!(reports[0].created_ms, Some(1_577_985_261_000));
        let reasons = &rejections.by_reason["invalid report"].examples;
        assert!(reasons[0].contains("bugs.csv:4") && reasons[0].contains("no id"), "{reasons:?}");
        assert!(reasons[1].contains("bugs.csv:5") && reasons[1].contains("unreadable created"), "{reasons:?}");
    }

    #[test]
    fn json_lines() {
        let (reports, rejections) =
            read("feedback.jsonl", "{\"id\":\"f1\",\"summary\":\"slow search\",\"tags\":\"ux, perf\"}\n{oops\n");
        assert_eq!(reports[0].labels, ["ux", "perf"]);
        assert_eq!(rejections.by_reason["invalid JSON"].count, 1);
    }
}
