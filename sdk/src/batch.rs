//! A read-only view of a columnar [`RecordBatch`] as records, and builders for tests.

use crate::{RecordBatch, TextColumn};

/// The timestamp value of a record that has none.
pub const NO_TIMESTAMP: i64 = i64::MIN;

/// A batch of log records as the host sent it: only the columns the plugin asked for are filled.
#[derive(Debug, Clone)]
pub struct LogBatch {
    inner: RecordBatch,
}

/// One record of a [`LogBatch`]; columns not sent read as `None` (or `""` for the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRecord<'a> {
    /// Position in the batch; use it to annotate the record.
    pub index: usize,
    /// Milliseconds since the Unix epoch (UTC).
    pub timestamp: Option<i64>,
    /// Severity as the source wrote it, e.g. `INFO`.
    pub level: Option<&'a str>,
    /// The source (app, service, file set) the record came from.
    pub source: Option<&'a str>,
    /// The message text.
    pub message: &'a str,
    /// Structured fields as a JSON object.
    pub fields: Option<&'a str>,
}

fn value_at(column: &TextColumn, index: usize) -> Option<&str> {
    let end = *column.ends.get(index)? as usize;
    let start = if index == 0 { 0 } else { column.ends[index - 1] as usize };
    column.data.get(start..end)
}

fn column_of<'a>(values: impl IntoIterator<Item = &'a str>) -> TextColumn {
    let mut column = TextColumn { data: String::new(), ends: Vec::new() };
    for value in values {
        column.data.push_str(value);
        column.ends.push(column.data.len() as u32);
    }
    column
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|text| !text.is_empty())
}

fn empty_column() -> TextColumn {
    TextColumn { data: String::new(), ends: Vec::new() }
}

impl LogBatch {
    /// Wraps the batch the host sent.
    pub fn from_wit(inner: RecordBatch) -> Self {
        Self { inner }
    }

    /// A batch with only messages, as a plugin that wants only the message column receives it.
    pub fn from_messages<'a>(messages: impl IntoIterator<Item = &'a str>) -> Self {
        let messages = column_of(messages);
        Self {
            inner: RecordBatch {
                len: messages.ends.len() as u32,
                timestamps: Vec::new(),
                levels: empty_column(),
                sources: empty_column(),
                messages,
                fields: empty_column(),
            },
        }
    }

    /// A batch with every column filled, for tests; a record without a timestamp uses
    /// [`NO_TIMESTAMP`].
    pub fn from_records<'a>(records: impl IntoIterator<Item = LogRecord<'a>>) -> Self {
        let records: Vec<LogRecord<'a>> = records.into_iter().collect();
        Self {
            inner: RecordBatch {
                len: records.len() as u32,
                timestamps: records.iter().map(|r| r.timestamp.unwrap_or(NO_TIMESTAMP)).collect(),
                levels: column_of(records.iter().map(|r| r.level.unwrap_or(""))),
                sources: column_of(records.iter().map(|r| r.source.unwrap_or(""))),
                messages: column_of(records.iter().map(|r| r.message)),
                fields: column_of(records.iter().map(|r| r.fields.unwrap_or("{}"))),
            },
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.inner.len as usize
    }

    /// Whether the batch has no records.
    pub fn is_empty(&self) -> bool {
        self.inner.len == 0
    }

    /// The message of record `index` (`""` when the column was not sent).
    pub fn message(&self, index: usize) -> &str {
        value_at(&self.inner.messages, index).unwrap_or("")
    }

    /// The record at `index`.
    pub fn record(&self, index: usize) -> LogRecord<'_> {
        LogRecord {
            index,
            timestamp: self.inner.timestamps.get(index).copied().filter(|&t| t != NO_TIMESTAMP),
            level: non_empty(value_at(&self.inner.levels, index)),
            source: non_empty(value_at(&self.inner.sources, index)),
            message: self.message(index),
            fields: non_empty(value_at(&self.inner.fields, index)),
        }
    }

    /// All records in order.
    pub fn records(&self) -> impl Iterator<Item = LogRecord<'_>> + '_ {
        (0..self.len()).map(|index| self.record(index))
    }

    /// The underlying WIT batch.
    pub fn as_wit(&self) -> &RecordBatch {
        &self.inner
    }
}

impl<'a> LogRecord<'a> {
    /// A record with only a message, for tests.
    pub fn message(index: usize, message: &'a str) -> Self {
        Self { index, timestamp: None, level: None, source: None, message, fields: None }
    }
}
