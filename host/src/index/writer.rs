//! Writing records with their annotations into the index.

use tantivy::schema::OwnedValue;
use tantivy::{DateTime, IndexWriter, TantivyDocument};

use super::lock::{HolderNote, take_writer};
use super::{LogFields, Result};
use crate::ingest::Record;

/// Adds records to the index; nothing is visible or durable until [`LogWriter::commit`].
pub struct LogWriter {
    writer: IndexWriter,
    fields: LogFields,
    /// Says who writes while this writer lives.
    _note: HolderNote,
}

impl LogWriter {
    pub(super) fn new(
        index: &tantivy::Index,
        dir: &std::path::Path,
        fields: LogFields,
        memory_budget_bytes: usize,
    ) -> Result<Self> {
        let (writer, note) = take_writer(index, dir, memory_budget_bytes.max(15_000_000 * 2))?;
        Ok(Self { writer, fields, _note: note })
    }

    /// Queues `record`; `ingest_time_ms` stands in for a record without a timestamp.
    pub fn add(&mut self, record: &Record, ingest_time_ms: i64) -> Result<()> {
        let fields = &self.fields;
        // Sized for the text it will hold: the default reserves 1 KB per document.
        let text_bytes = record.message.len()
            + record.source.len()
            + record.origin.file.len()
            + record.annotations.values().map(|value| value.len()).sum::<usize>();
        let mut document = TantivyDocument::with_capacity(text_bytes + 64);
        let timestamp = record.timestamp_ms.unwrap_or(ingest_time_ms);
        document.add_date(fields.timestamp, DateTime::from_timestamp_millis(timestamp));
        if let Some(level) = &record.level {
            document.add_text(fields.level, level);
        }
        document.add_text(fields.source, &record.source);
        document.add_text(fields.message, &record.message);
        if !record.fields.is_empty() {
            let object =
                record.fields.iter().map(|(key, value)| (key.clone(), OwnedValue::from(value.clone()))).collect();
            document.add_object(fields.fields, object);
        }
        document.add_text(fields.file, &record.origin.file);
        document.add_u64(fields.line, record.origin.line);
        let mut others = Vec::new();
        for (key, value) in &record.annotations {
            match &**key {
                "pattern" => document.add_text(fields.pattern, value),
                "template" => document.add_text(fields.template, value),
                _ => others.push((key.to_string(), OwnedValue::Str(value.to_string()))),
            }
        }
        if !others.is_empty() {
            document.add_object(fields.annotations, others.into_iter().collect());
        }
        self.writer.add_document(document)?;
        Ok(())
    }

    /// Queues the deletion of every record whose time is before `cutoff_ms` (retention); it
    /// takes effect with the next commit.
    pub fn delete_before(&mut self, cutoff_ms: i64) -> Result<()> {
        let cutoff = tantivy::Term::from_field_date(self.fields.timestamp, DateTime::from_timestamp_millis(cutoff_ms));
        let query = tantivy::query::RangeQuery::new(std::ops::Bound::Unbounded, std::ops::Bound::Excluded(cutoff));
        self.writer.delete_query(Box::new(query))?;
        Ok(())
    }

    /// Queues the deletion of the record stored from line `line` of `file` (a line read
    /// before it was finished, to be stored again whole); records added after this call stay.
    pub fn delete_line(&mut self, file: &str, line: u64) -> Result<()> {
        use tantivy::query::{BooleanQuery, Occur, TermQuery};
        use tantivy::schema::IndexRecordOption;
        let term = |term: tantivy::Term| -> Box<dyn tantivy::query::Query> {
            Box::new(TermQuery::new(term, IndexRecordOption::Basic))
        };
        let query = BooleanQuery::new(vec![
            (Occur::Must, term(tantivy::Term::from_field_text(self.fields.file, file))),
            (Occur::Must, term(tantivy::Term::from_field_u64(self.fields.line, line))),
        ]);
        self.writer.delete_query(Box::new(query))?;
        Ok(())
    }

    /// Queues the deletion of every record added before this call (records added after it
    /// stay); nothing changes until the next commit, which makes the swap atomic.
    pub fn delete_all(&mut self) -> Result<()> {
        self.writer.delete_all_documents()?;
        Ok(())
    }

    /// Makes everything added so far durable and searchable (after a reader refresh).
    pub fn commit(&mut self) -> Result<()> {
        self.writer.commit()?;
        Ok(())
    }

    /// Commits with `payload` stored atomically beside the records (see
    /// [`LogIndex::commit_payload`](super::LogIndex::commit_payload)).
    pub fn commit_with_payload(&mut self, payload: &str) -> Result<()> {
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(payload);
        prepared.commit()?;
        Ok(())
    }

    /// Waits for background merges to finish.
    pub fn finish(self) -> Result<()> {
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}
