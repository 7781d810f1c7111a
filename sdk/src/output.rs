//! What a plugin returns for a batch: per-record annotations, dictionary-encoded per key, and
//! findings.

use std::collections::HashMap;

use crate::bindings::opsloop::plugin::types::AnnotationColumn;
use crate::{BatchOutput, Finding, LogBatch};

/// The value index meaning "this record has no value for the key".
const NO_VALUE: u32 = u32::MAX;

/// Identifies one annotation key inside an [`Output`], for the fast path
/// ([`Output::intern`] + [`Output::set`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnId(usize);

#[derive(Debug, Clone)]
struct Column {
    key: String,
    dictionary: Vec<String>,
    lookup: HashMap<String, u32>,
    value_of: Vec<u32>,
}

/// Annotations and findings for one batch.
#[derive(Debug, Clone, Default)]
pub struct Output {
    len: usize,
    columns: Vec<Column>,
    findings: Vec<Finding>,
}

impl Output {
    /// An empty output for `batch`.
    pub fn for_batch(batch: &LogBatch) -> Self {
        Self::with_len(batch.len())
    }

    /// An empty output for a batch of `len` records or reports.
    pub fn with_len(len: usize) -> Self {
        Self { len, columns: Vec::new(), findings: Vec::new() }
    }

    /// The column for `key`, created on first use.
    pub fn column(&mut self, key: &str) -> ColumnId {
        if let Some(position) = self.columns.iter().position(|column| column.key == key) {
            return ColumnId(position);
        }
        self.columns.push(Column {
            key: key.to_string(),
            dictionary: Vec::new(),
            lookup: HashMap::new(),
            value_of: vec![NO_VALUE; self.len],
        });
        ColumnId(self.columns.len() - 1)
    }

    /// The dictionary index of `value` in `column`, added on first use.
    pub fn intern(&mut self, column: ColumnId, value: &str) -> u32 {
        let column = &mut self.columns[column.0];
        if let Some(&index) = column.lookup.get(value) {
            return index;
        }
        let index = column.dictionary.len() as u32;
        column.dictionary.push(value.to_string());
        column.lookup.insert(value.to_string(), index);
        index
    }

    /// Sets record `record`'s value in `column` to the interned value `value_index`.
    pub fn set(&mut self, column: ColumnId, record: usize, value_index: u32) {
        self.columns[column.0].value_of[record] = value_index;
    }

    /// Annotates record `record` with `key = value`.
    pub fn annotate(&mut self, record: usize, key: &str, value: &str) {
        let column = self.column(key);
        let value_index = self.intern(column, value);
        self.set(column, record, value_index);
    }

    /// Adds a finding.
    pub fn add_finding(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// The value of `key` on record `record`, if any.
    pub fn annotation(&self, record: usize, key: &str) -> Option<&str> {
        let column = self.columns.iter().find(|column| column.key == key)?;
        let index = *column.value_of.get(record)?;
        column.dictionary.get(index as usize).map(String::as_str)
    }

    /// The findings so far.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Converts to the WIT form the host receives.
    pub fn into_wit(self) -> BatchOutput {
        BatchOutput {
            annotations: self
                .columns
                .into_iter()
                .map(|column| AnnotationColumn {
                    key: column.key,
                    dictionary: column.dictionary,
                    value_of: column.value_of,
                })
                .collect(),
            findings: self.findings,
        }
    }
}
