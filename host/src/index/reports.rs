//! The reports index: bug reports and feedback in their own tantivy index, one document per
//! report id (a re-import replaces the report), searched over id, title, body and stack trace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, JsonObjectOptions, OwnedValue, STORED, STRING, Schema, TEXT,
};
use tantivy::{DateTime, Document, IndexWriter, Order, TantivyDocument, Term};

use super::{IndexError, Result};
use crate::ingest::{BugReport, Origin};

/// Field handles of the reports index.
#[derive(Debug, Clone)]
struct ReportFields {
    id: Field,
    title: Field,
    body: Field,
    created: Field,
    reporter: Field,
    labels: Field,
    status: Field,
    stack_trace: Field,
    version: Field,
    component: Field,
    fields: Field,
    file: Field,
    line: Field,
    annotations: Field,
}

/// When reports were filed, for `search --reports --since/--until`: milliseconds since the
/// epoch, the start included, the end not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FiledWindow {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

fn schema() -> (Schema, ReportFields) {
    let mut builder = Schema::builder();
    let date = DateOptions::from(INDEXED | STORED | FAST).set_precision(DateTimePrecision::Milliseconds);
    let fields = ReportFields {
        id: builder.add_text_field("id", STRING | STORED),
        title: builder.add_text_field("title", TEXT | STORED),
        body: builder.add_text_field("body", TEXT | STORED),
        created: builder.add_date_field("created", date),
        reporter: builder.add_text_field("reporter", STRING | STORED),
        labels: builder.add_text_field("labels", STRING | STORED),
        status: builder.add_text_field("status", STRING | STORED | FAST),
        stack_trace: builder.add_text_field("stack_trace", TEXT | STORED),
        version: builder.add_text_field("version", STRING | STORED),
        component: builder.add_text_field("component", STRING | STORED),
        fields: builder.add_json_field("fields", JsonObjectOptions::from(TEXT | STORED)),
        file: builder.add_text_field("file", STRING | STORED),
        line: builder.add_u64_field("line", STORED),
        annotations: builder.add_json_field("annotations", JsonObjectOptions::from(STRING | STORED)),
    };
    (builder.build(), fields)
}

/// The reports index on disk.
pub struct ReportIndex {
    dir: PathBuf,
    index: tantivy::Index,
    fields: ReportFields,
    reader: tantivy::IndexReader,
}

impl ReportIndex {
    /// Opens the index in `dir`, creating it if needed.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io { path: dir.to_path_buf(), source })?;
        let (schema, fields) = schema();
        let open_error = |source| IndexError::Open { path: dir.to_path_buf(), source };
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(|error| open_error(error.into()))?;
        let index = tantivy::Index::open_or_create(directory, schema).map_err(open_error)?;
        let reader =
            index.reader_builder().reload_policy(tantivy::ReloadPolicy::Manual).try_into().map_err(open_error)?;
        Ok(Self { dir: dir.to_path_buf(), index, fields, reader })
    }

    /// Adds or replaces `reports` (by id) and commits.
    pub fn upsert(&self, reports: &[BugReport]) -> Result<()> {
        let (mut writer, _note): (IndexWriter, _) = super::lock::take_writer(&self.index, &self.dir, 50_000_000)?;
        let fields = &self.fields;
        for report in reports {
            writer.delete_term(Term::from_field_text(fields.id, &report.id));
            let mut document = TantivyDocument::default();
            document.add_text(fields.id, &report.id);
            document.add_text(fields.title, &report.title);
            document.add_text(fields.body, &report.body);
            if let Some(created) = report.created_ms {
                document.add_date(fields.created, DateTime::from_timestamp_millis(created));
            }
            let optional = [
                (fields.reporter, &report.reporter),
                (fields.status, &report.status),
                (fields.stack_trace, &report.stack_trace),
                (fields.version, &report.version),
                (fields.component, &report.component),
            ];
            for (field, value) in optional {
                if let Some(value) = value {
                    document.add_text(field, value);
                }
            }
            for label in &report.labels {
                document.add_text(fields.labels, label);
            }
            if !report.fields.is_empty() {
                let object = report.fields.iter().map(|(k, v)| (k.clone(), OwnedValue::from(v.clone()))).collect();
                document.add_object(fields.fields, object);
            }
            document.add_text(fields.file, &report.origin.file);
            document.add_u64(fields.line, report.origin.line);
            if !report.annotations.is_empty() {
                let object = report.annotations.iter().map(|(k, v)| (k.clone(), OwnedValue::Str(v.clone()))).collect();
                document.add_object(fields.annotations, object);
            }
            writer.add_document(document)?;
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Number of reports.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether there are no reports.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The report with this id, if there is one.
    pub fn get(&self, id: &str) -> Result<Option<BugReport>> {
        let query = tantivy::query::TermQuery::new(
            Term::from_field_text(self.fields.id, id),
            tantivy::schema::IndexRecordOption::Basic,
        );
        let searcher = self.reader.searcher();
        let Some(address) = searcher.search(&query, &tantivy::collector::DocSetCollector)?.into_iter().next() else {
            return Ok(None);
        };
        let document: TantivyDocument = searcher.doc(address)?;
        Ok(Some(report_from_document(&document.to_named_doc(&self.index.schema()))))
    }

    fn parse_query(&self, query: &str) -> Result<Box<dyn Query>> {
        let fields = &self.fields;
        // The id too, so a report's key (`SHOP-103`) finds it without `id:`.
        super::parse_user_query(
            &self.index,
            vec![fields.id, fields.title, fields.body, fields.stack_trace],
            query,
            None,
        )
    }

    /// `query`, and when `filed` bounds it, only reports filed at or after its start and
    /// before its end (a report with no date is in no window).
    fn filed_query(&self, query: &str, filed: FiledWindow) -> Result<Box<dyn Query>> {
        let query = self.parse_query(query)?;
        if filed == FiledWindow::default() {
            return Ok(query);
        }
        let bound = |time: Option<i64>, inclusive: bool| match time {
            None => std::ops::Bound::Unbounded,
            Some(ms) => {
                let term = Term::from_field_date(self.fields.created, DateTime::from_timestamp_millis(ms));
                if inclusive { std::ops::Bound::Included(term) } else { std::ops::Bound::Excluded(term) }
            }
        };
        let range = RangeQuery::new(bound(filed.since_ms, true), bound(filed.until_ms, false));
        Ok(Box::new(BooleanQuery::new(vec![(Occur::Must, query), (Occur::Must, Box::new(range))])))
    }

    /// How many reports match.
    pub fn count(&self, query: &str) -> Result<usize> {
        self.count_filed(query, FiledWindow::default())
    }

    /// How many reports match, filed in `filed`.
    pub fn count_filed(&self, query: &str, filed: FiledWindow) -> Result<usize> {
        Ok(self.reader.searcher().search(&*self.filed_query(query, filed)?, &Count)?)
    }

    /// Matching reports, newest first; `None` = all.
    pub fn search(&self, query: &str, limit: Option<usize>) -> Result<Vec<BugReport>> {
        self.search_filed(query, FiledWindow::default(), limit)
    }

    /// Matching reports filed in `filed`, newest first; `None` = all.
    pub fn search_filed(&self, query: &str, filed: FiledWindow, limit: Option<usize>) -> Result<Vec<BugReport>> {
        let query = self.filed_query(query, filed)?;
        let searcher = self.reader.searcher();
        let limit = match limit {
            Some(limit) => limit,
            None => searcher.search(&query, &Count)?,
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let top = TopDocs::with_limit(limit).order_by_fast_field::<DateTime>("created", Order::Desc);
        let found = searcher.search(&query, &top)?;
        let schema = self.index.schema();
        found
            .into_iter()
            .map(|(_, address)| {
                let document: TantivyDocument = searcher.doc(address)?;
                Ok(report_from_document(&document.to_named_doc(&schema)))
            })
            .collect()
    }
}

fn report_from_document(named: &tantivy::schema::NamedFieldDocument) -> BugReport {
    let values = |name: &str| named.0.get(name).map(Vec::as_slice).unwrap_or(&[]);
    let text = |name: &str| match values(name).first() {
        Some(OwnedValue::Str(text)) => Some(text.clone()),
        _ => None,
    };
    let object = |name: &str| match values(name).first() {
        Some(value @ OwnedValue::Object(_)) => match serde_json::to_value(value) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        },
        _ => Map::new(),
    };
    let annotations: BTreeMap<String, String> = object("annotations")
        .into_iter()
        .filter_map(|(key, value)| value.as_str().map(|text| (key, text.to_string())))
        .collect();
    BugReport {
        id: text("id").unwrap_or_default(),
        title: text("title").unwrap_or_default(),
        body: text("body").unwrap_or_default(),
        created_ms: match values("created").first() {
            Some(OwnedValue::Date(date)) => Some(date.into_timestamp_millis()),
            _ => None,
        },
        reporter: text("reporter"),
        labels: values("labels")
            .iter()
            .filter_map(|value| if let OwnedValue::Str(t) = value { Some(t.clone()) } else { None })
            .collect(),
        status: text("status"),
        stack_trace: text("stack_trace"),
        version: text("version"),
        component: text("component"),
        fields: object("fields"),
        origin: Origin {
            file: text("file").unwrap_or_default(),
            line: match values("line").first() {
                Some(OwnedValue::U64(line)) => *line,
                _ => 0,
            },
        },
        annotations,
    }
}

/// The JSON object `opsloop search --reports --format json` prints for a report.
pub fn report_json(report: &BugReport) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), Value::String(report.id.clone()));
    object.insert("title".into(), Value::String(report.title.clone()));
    object.insert("body".into(), Value::String(report.body.clone()));
    let created = report.created_ms.and_then(chrono::DateTime::from_timestamp_millis);
    object.insert(
        "created".into(),
        created.map_or(Value::Null, |t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))),
    );
    let optional = [
        ("reporter", &report.reporter),
        ("status", &report.status),
        ("stack_trace", &report.stack_trace),
        ("version", &report.version),
        ("component", &report.component),
    ];
    for (key, value) in optional {
        object.insert(key.into(), value.clone().map_or(Value::Null, Value::String));
    }
    object.insert("labels".into(), Value::from(report.labels.clone()));
    if !report.fields.is_empty() {
        object.insert("fields".into(), Value::Object(report.fields.clone()));
    }
    object.insert("file".into(), Value::String(report.origin.file.clone()));
    object.insert("line".into(), Value::from(report.origin.line));
    for (key, value) in &report.annotations {
        object.entry(key.clone()).or_insert_with(|| Value::String(value.clone()));
    }
    Value::Object(object)
}
