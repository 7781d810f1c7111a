//! The log index: records with their annotations in a tantivy index on disk, and search over it.
//!
//! In: [`Record`](crate::ingest::Record)s from the pipeline through a [`LogWriter`]. Out:
//! [`SearchHit`]s for a [`SearchRequest`] (tantivy query syntax, source and time filters,
//! newest first).

mod aliases;
mod facets;
mod histogram;
mod lock;
mod patterns;
mod query_limits;
mod reports;
mod schema;
mod search;
mod writer;

use std::path::{Path, PathBuf};

pub use aliases::{AliasFile, PATTERN_MERGE, PatternAliases, PatternMerge};
pub use facets::{FACET_FIELDS, Facet, FacetValue};
pub use histogram::{MAX_BUCKETS, fill_gaps, round_width};
pub use patterns::{HOUR_MS, PatternStats};
pub use query_limits::{MAX_QUERY_BYTES, MAX_QUERY_DEPTH, QueryLimit, check_query};
pub use reports::{FiledWindow, ReportIndex, report_json};
pub use schema::LogFields;
pub use search::{Highlighter, PageKey, SearchHit, SearchRequest};
pub use writer::LogWriter;

/// Everything that can go wrong with the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The index directory could not be created or opened.
    #[error("index at {path}: {source}")]
    Open { path: PathBuf, source: tantivy::TantivyError },
    /// The query does not parse.
    #[error("query `{query}`: {reason}")]
    Query { query: String, reason: String },
    /// The query breaks a limit checked before it is parsed (length, nesting).
    #[error("{0}")]
    QueryLimit(#[from] QueryLimit),
    /// Any other tantivy failure.
    #[error("index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("index directory {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// Another process holds the index's writer (`holder` as its note names it).
    #[error("{}", lock::busy_message(path, holder))]
    Busy { path: PathBuf, holder: Option<String> },
}

/// `Result` with an [`IndexError`].
pub type Result<T, E = IndexError> = std::result::Result<T, E>;

/// Parses a user's `query` over `default_fields` (AND between terms) after the limits of
/// [`check_query`], and builds its weight once so that what tantivy only finds out when a query
/// runs (`field:*` on a field that is not a fast field or does not exist, a range over a JSON
/// field) is the user's [`IndexError::Query`] too, never an internal failure. `pattern:ID`
/// terms follow `aliases` (after the limits: the user did not write the widened query).
fn parse_user_query(
    index: &tantivy::Index,
    default_fields: Vec<tantivy::schema::Field>,
    query: &str,
    aliases: Option<&PatternAliases>,
) -> Result<Box<dyn tantivy::query::Query>> {
    use tantivy::query::{AllQuery, EnableScoring, QueryParser};
    let trimmed = query.trim();
    if trimmed.is_empty() || trimmed == "*" {
        return Ok(Box::new(AllQuery));
    }
    check_query(trimmed)?;
    let schema = index.schema();
    let trimmed = &and_not_as_minus(trimmed);
    let trimmed = &match schema.get_field("annotations") {
        Ok(_) => annotation_fields(trimmed, |name| schema.get_field(name).is_ok()),
        Err(_) => trimmed.to_string(),
    };
    let trimmed = &match aliases {
        Some(aliases) => aliases.expand_query(trimmed),
        None => trimmed.to_string(),
    };
    let refused = |reason: String| IndexError::Query { query: query.to_string(), reason };
    let mut parser = QueryParser::for_index(index, default_fields);
    parser.set_conjunction_by_default();
    let parsed = parser.parse_query(trimmed).map_err(|error| {
        let reason = error.to_string();
        if reason.starts_with("Syntax Error") {
            // tantivy names the failure only by the query; say what to look for.
            refused(format!(
                "{reason}: check that every quote and parenthesis is closed, that AND/OR/NOT have a term on each \
                 side, and put a literal `:`, `\"`, `(` or `)` in quotes or after `\\`"
            ))
        } else {
            refused(reason)
        }
    })?;
    parsed.weight(EnableScoring::disabled_from_schema(&schema)).map_err(|error| {
        let reason = error.to_string();
        // `key:*` on an annotation: annotations are words, not a column, so "any value" has no
        // answer there; say what does work instead of tantivy's "not a fast field".
        if reason.contains("Field annotations.") && reason.contains("not a fast field") {
            refused(
                "`KEY:*` (any value) cannot be searched on an annotation; search a value (`KEY:VALUE`) or several (`KEY:a OR KEY:b`)"
                    .to_string(),
            )
        } else if reason.contains("RangeQuery on JSON") {
            // Extracted fields are words in one JSON column: tantivy ranges need a number column.
            refused(
                "a range (`[a TO b]`) cannot be searched on `fields.*`: extracted fields are indexed as words, not \
                 numbers; search the values themselves (`fields.status:500 OR fields.status:503`)"
                    .to_string(),
            )
        } else {
            refused(reason)
        }
    })?;
    Ok(parsed)
}

/// `a AND NOT b` as tantivy's grammar reads it, `a AND -b`: tantivy takes a `NOT` after `AND`
/// for the word "not", and the query found nothing without saying why. Quoted text is left.
fn and_not_as_minus(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut quoted = false;
    let mut rest = query;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            quoted = !quoted;
        }
        if !quoted && let Some(after) = rest.strip_prefix("AND NOT ") {
            let at_word_start = out.is_empty() || out.ends_with(char::is_whitespace) || out.ends_with(')');
            if at_word_start {
                out.push_str("AND -");
                rest = after.trim_start();
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `keyword:error` as `annotations.keyword:error`: a plugin's annotation is printed under its
/// own key (`"keyword": "error"`), so it is searched by that name too. A field name the schema
/// does not hold (before its first dot) is taken as an annotation key; quoted text is left.
fn annotation_fields(query: &str, is_field: impl Fn(&str) -> bool) -> String {
    rewrite_terms(query, |rest| {
        let name_len =
            rest.find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))).unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_len);
        let root = name.split('.').next().unwrap_or(name);
        let starts_a_name = name.starts_with(|c: char| c.is_alphanumeric() || c == '_');
        (starts_a_name && after.starts_with(':') && !is_field(root)).then(|| (format!("annotations.{name}"), name_len))
    })
}

/// `query` with terms rewritten where they start outside quotes (at the start, or after a
/// space, tab, `(`, `-` or `+`): `rewrite` is given the query from there and answers the text to
/// write instead and how many of its bytes that replaces, or `None` to leave it as written.
fn rewrite_terms(query: &str, mut rewrite: impl FnMut(&str) -> Option<(String, usize)>) -> String {
    let mut out = String::with_capacity(query.len() + 16);
    let mut quoted = false;
    let mut rest = query;
    while let Some(c) = rest.chars().next() {
        let at_term_start = out.is_empty() || out.ends_with([' ', '\t', '(', '-', '+']);
        if c == '"' {
            quoted = !quoted;
        } else if !quoted
            && at_term_start
            && let Some((text, replaced)) = rewrite(rest)
        {
            out.push_str(&text);
            rest = &rest[replaced..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The pattern merges' file in the index directory (tantivy manages only the files it wrote).
const ALIAS_FILE: &str = "pattern-aliases.jsonl";

/// The log index on disk.
pub struct LogIndex {
    dir: PathBuf,
    index: tantivy::Index,
    fields: LogFields,
    reader: tantivy::IndexReader,
    /// The pattern merges kept beside the index, and what they make, for every read.
    alias_file: AliasFile,
    aliases: std::sync::RwLock<std::sync::Arc<PatternAliases>>,
}

/// Opens the index in `directory`, or creates it with `schema`. An index made by an earlier
/// version, whose fields are the same but whose options differ (dotted keys not expanded),
/// is opened with its own schema: the field handles are the same, and the data stays readable.
fn open_or_create(
    directory: tantivy::directory::MmapDirectory,
    schema: tantivy::schema::Schema,
) -> tantivy::Result<tantivy::Index> {
    if !tantivy::Index::exists(&directory)? {
        return tantivy::Index::create(directory, schema, tantivy::IndexSettings::default());
    }
    let index = tantivy::Index::open(directory)?;
    let names = |schema: &tantivy::schema::Schema| -> Vec<String> {
        schema.fields().map(|(_, entry)| entry.name().to_string()).collect()
    };
    if names(&index.schema()) != names(&schema) {
        return Err(tantivy::TantivyError::SchemaError(format!(
            "the index holds the fields {:?}, not the {:?} this version writes",
            names(&index.schema()),
            names(&schema)
        )));
    }
    Ok(index)
}

impl LogIndex {
    /// Opens the index in `dir`, creating it if needed.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io { path: dir.to_path_buf(), source })?;
        let (schema, fields) = LogFields::schema();
        let open_error = |source| IndexError::Open { path: dir.to_path_buf(), source };
        let directory = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|error| open_error(tantivy::TantivyError::from(error)))?;
        let index = open_or_create(directory, schema).map_err(open_error)?;
        let reader =
            index.reader_builder().reload_policy(tantivy::ReloadPolicy::Manual).try_into().map_err(open_error)?;
        let alias_file = AliasFile::new(dir.join(ALIAS_FILE));
        let merges =
            alias_file.read().map_err(|source| IndexError::Io { path: alias_file.path().to_path_buf(), source })?;
        let aliases = std::sync::RwLock::new(std::sync::Arc::new(PatternAliases::from_merges(&merges)));
        Ok(Self { dir: dir.to_path_buf(), index, fields, reader, alias_file, aliases })
    }

    /// The pattern aliases known now (what [`LogIndex::record_pattern_merges`] kept).
    pub fn pattern_aliases(&self) -> std::sync::Arc<PatternAliases> {
        self.aliases.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Keeps `merges` (synced to disk) and follows them from now on: searches for either id,
    /// pattern counts and the feedback board.
    pub fn record_pattern_merges(&self, merges: &[PatternMerge]) -> Result<()> {
        if merges.is_empty() {
            return Ok(());
        }
        let mut aliases = self.aliases.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.alias_file
            .append(merges)
            .map_err(|source| IndexError::Io { path: self.alias_file.path().to_path_buf(), source })?;
        let mut updated = PatternAliases::clone(&aliases);
        updated.apply(merges);
        *aliases = std::sync::Arc::new(updated);
        Ok(())
    }

    /// After every record was annotated again by a pattern miner that started over (`opsloop
    /// analyze`, committed and refreshed): `merges` take the place of the merges known, except
    /// those whose merged id no record of their source carries any more, which stay, and
    /// `renamed` (an id records carried before the run into the one they carry now) is added
    /// for ids no record carries any more: a `pattern:ID` written down before still finds the
    /// pattern it became, and the board's items follow their patterns.
    pub fn restart_pattern_merges(&self, renamed: &[PatternMerge], merges: &[PatternMerge]) -> Result<()> {
        use tantivy::query::{BooleanQuery, Occur, TermQuery};
        use tantivy::schema::IndexRecordOption;
        let known = self
            .alias_file
            .read()
            .map_err(|source| IndexError::Io { path: self.alias_file.path().to_path_buf(), source })?;
        let searcher = self.reader.searcher();
        let term = |term: tantivy::Term| -> Box<dyn tantivy::query::Query> {
            Box::new(TermQuery::new(term, IndexRecordOption::Basic))
        };
        let mut kept = Vec::new();
        for merge in known.into_iter().chain(renamed.iter().cloned()) {
            let carried = BooleanQuery::new(vec![
                (Occur::Must, term(tantivy::Term::from_field_text(self.fields.pattern, &merge.from))),
                (Occur::Must, term(tantivy::Term::from_field_text(self.fields.source, &merge.source))),
            ]);
            if searcher.search(&carried, &tantivy::collector::Count)? == 0 {
                kept.push(merge);
            }
        }
        kept.extend(merges.iter().cloned());
        self.replace_pattern_merges(&kept)
    }

    /// Keeps only `merges`, in place of every merge known.
    pub fn replace_pattern_merges(&self, merges: &[PatternMerge]) -> Result<()> {
        let mut aliases = self.aliases.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.alias_file
            .replace(merges)
            .map_err(|source| IndexError::Io { path: self.alias_file.path().to_path_buf(), source })?;
        *aliases = std::sync::Arc::new(PatternAliases::from_merges(merges));
        Ok(())
    }

    /// A writer with the given indexing memory budget in bytes (split over its threads).
    pub fn writer(&self, memory_budget_bytes: usize) -> Result<LogWriter> {
        LogWriter::new(&self.index, &self.dir, self.fields.clone(), memory_budget_bytes)
    }

    /// Makes committed changes visible to searches.
    pub fn refresh(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }

    /// Number of records in the index.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether the index has no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Deletes every record whose time is before `cutoff_ms` and commits (keeping the commit
    /// payload); returns how many were deleted.
    pub fn delete_before(&self, cutoff_ms: i64) -> Result<u64> {
        let cutoff =
            tantivy::Term::from_field_date(self.fields.timestamp, tantivy::DateTime::from_timestamp_millis(cutoff_ms));
        let query = tantivy::query::RangeQuery::new(std::ops::Bound::Unbounded, std::ops::Bound::Excluded(cutoff));
        self.reader.reload()?;
        let doomed = self.reader.searcher().search(&query, &tantivy::collector::Count)? as u64;
        if doomed == 0 {
            return Ok(0);
        }
        let (mut writer, _note) = lock::take_writer(&self.index, &self.dir, 50_000_000)?;
        writer.delete_query(Box::new(query))?;
        let payload = self.commit_payload()?;
        let mut prepared = writer.prepare_commit()?;
        if let Some(payload) = payload {
            prepared.set_payload(&payload);
        }
        prepared.commit()?;
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        Ok(doomed)
    }

    /// Bytes the index takes on disk.
    pub fn disk_bytes(&self) -> u64 {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return 0 };
        entries
            .filter_map(|entry| entry.ok()?.metadata().ok())
            .filter(|meta| meta.is_file())
            .map(|meta| meta.len())
            .sum()
    }

    /// The payload of the last commit (the import checkpoints).
    pub fn commit_payload(&self) -> Result<Option<String>> {
        Ok(self.index.load_metas()?.payload)
    }

    /// The field handles.
    pub fn fields(&self) -> &LogFields {
        &self.fields
    }

    /// The committed segments: each one's id (tantivy's uuid string), its document count and
    /// the files in the index directory that hold it. A cluster's index piece is the segments
    /// of one commit (`cluster::indexer`).
    pub fn segments(&self) -> Result<Vec<SegmentFiles>> {
        let metas = self.index.load_metas()?;
        let names: Vec<String> = std::fs::read_dir(&self.dir)
            .map_err(|source| IndexError::Io { path: self.dir.clone(), source })?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
        Ok(metas
            .segments
            .iter()
            .map(|segment| {
                let id = segment.id().uuid_string();
                let files = names.iter().filter(|name| name.starts_with(&format!("{id}."))).cloned().collect();
                SegmentFiles { id, max_doc: segment.max_doc(), files }
            })
            .collect())
    }

    /// Makes segments whose files were copied into the index directory part of the index, and
    /// drops the segments `retire` names, in one atomic write of tantivy's `meta.json` with
    /// `payload`, then refreshes the reader and removes the dropped segments' files. For an
    /// index no writer writes to (a cluster's search node, which adopts the pieces that indexers
    /// published and swaps merged pieces for the ones they replace); a segment already there is
    /// not added twice.
    pub fn adopt_segments(&self, segments: &[SegmentFiles], retire: &[String], payload: &str) -> Result<()> {
        let mut metas = self.index.load_metas()?;
        let segment_id = |id: &str| {
            tantivy::index::SegmentId::from_uuid_string(id).map_err(|error| {
                IndexError::Tantivy(tantivy::TantivyError::InvalidArgument(format!("segment id {id}: {error}")))
            })
        };
        let retired = retire.iter().map(|id| segment_id(id)).collect::<Result<Vec<_>>>()?;
        metas.segments.retain(|known| !retired.contains(&known.id()));
        for segment in segments {
            let id = segment_id(&segment.id)?;
            if metas.segments.iter().any(|known| known.id() == id) {
                continue;
            }
            metas.segments.push(self.index.new_segment_meta(id, segment.max_doc));
        }
        metas.opstamp += 1;
        metas.payload = Some(payload.to_string());
        let mut text = serde_json::to_vec_pretty(&metas)
            .map_err(|error| IndexError::Tantivy(tantivy::TantivyError::InvalidArgument(error.to_string())))?;
        text.push(b'\n');
        tantivy::Directory::atomic_write(self.index.directory(), std::path::Path::new("meta.json"), &text)
            .map_err(|source| IndexError::Io { path: self.dir.join("meta.json"), source })?;
        self.reader.reload()?;
        if !retire.is_empty() {
            // Searches already running keep their own mapping of these files.
            for entry in
                std::fs::read_dir(&self.dir).map_err(|source| IndexError::Io { path: self.dir.clone(), source })?
            {
                let Ok(entry) = entry else { continue };
                let name = entry.file_name().to_string_lossy().into_owned();
                if retire.iter().any(|id| name.strip_prefix(id.as_str()).is_some_and(|rest| rest.starts_with('.'))) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    /// Merges every segment into one, committed with the payload the index had; the segments
    /// after (a cluster's merged piece, `cluster::indexer`).
    pub fn merge_segments(&self) -> Result<Vec<SegmentFiles>> {
        let ids = self.index.searchable_segment_ids()?;
        if ids.len() > 1 {
            let (mut writer, _note) = lock::take_writer(&self.index, &self.dir, 50_000_000)?;
            writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
            writer.merge(&ids).wait()?;
            writer.wait_merging_threads()?;
        }
        self.reader.reload()?;
        self.segments()
    }

    /// The directory the index lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// One committed segment of an index and the files that hold it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SegmentFiles {
    pub id: String,
    pub max_doc: u32,
    pub files: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::{LogIndex, PatternMerge, SearchRequest, and_not_as_minus, annotation_fields};
    use crate::ingest::{Origin, Record};

    /// Source `app` merged pattern `b` into `a`; in source `db`, `b` still stands on its own.
    #[test]
    fn a_merge_is_followed_by_searches_pattern_counts_and_facets_in_its_source_only() {
        let dir = tempfile::tempdir().unwrap();
        let index = LogIndex::open(dir.path()).unwrap();
        let mut writer = index.writer(15_000_000).unwrap();
        let lines = [
            ("app", "a", "user <*> in"),
            ("app", "b", "user bob in"),
            ("app", "b", "user bob in"),
            ("db", "b", "user bob in"),
        ];
        for (line, (source, pattern, template)) in lines.into_iter().enumerate() {
            let mut record =
                Record::new(source, template.replace("<*>", "carol"), Origin { file: "f".into(), line: line as u64 });
            record.timestamp_ms = Some(1_000 * line as i64);
            record.annotations.insert("pattern".into(), pattern.into());
            record.annotations.insert("template".into(), template.into());
            writer.add(&record, 0).unwrap();
        }
        writer.commit_with_payload("").unwrap();
        writer.finish().unwrap();
        index.refresh().unwrap();
        let merge =
            PatternMerge { source: "app".into(), from: "b".into(), into: "a".into(), template: "user <*> in".into() };
        index.record_pattern_merges(&[merge]).unwrap();

        let count = |query: &str| {
            index.search(&SearchRequest { query: query.into(), ..SearchRequest::default() }).unwrap().len()
        };
        assert_eq!(count("pattern:a"), 3, "a, and b where it merged into a");
        assert_eq!(count("pattern:b"), 4, "b everywhere, and a where b merged into it");
        assert_eq!(count("pattern:a AND source:db"), 0);
        let patterns = index.patterns(None).unwrap();
        let counted: Vec<(&str, u64, &[String])> =
            patterns.iter().map(|p| (p.pattern.as_str(), p.count, p.aliases.as_slice())).collect();
        assert_eq!(counted, [("a", 3, &["b".to_string()][..]), ("b", 1, &[][..])]);
        assert_eq!(patterns[0].template, "user <*> in");
        let facets = index.facets(&SearchRequest::default(), 10).unwrap();
        let values: Vec<(&str, u64)> = facets["pattern"].values.iter().map(|v| (v.value.as_str(), v.count)).collect();
        assert_eq!(values, [("a", 3), ("b", 1)]);

        // Kept on disk: the index opened again follows it too.
        drop(index);
        let index = LogIndex::open(dir.path()).unwrap();
        assert_eq!(
            index.search(&SearchRequest { query: "pattern:a".into(), ..SearchRequest::default() }).unwrap().len(),
            3
        );
        index.replace_pattern_merges(&[]).unwrap();
        assert_eq!(
            index.search(&SearchRequest { query: "pattern:a".into(), ..SearchRequest::default() }).unwrap().len(),
            1
        );
    }

    #[test]
    fn a_range_on_an_extracted_field_is_refused_with_what_to_search_instead() {
        let dir = tempfile::tempdir().unwrap();
        let index = LogIndex::open(dir.path()).unwrap();
        let mut writer = index.writer(15_000_000).unwrap();
        let mut record = Record::new("web", "GET /a 503".into(), Origin { file: "f".into(), line: 1 });
        record.fields.insert("status".into(), serde_json::json!(503));
        writer.add(&record, 0).unwrap();
        writer.commit_with_payload("").unwrap();
        writer.finish().unwrap();
        index.refresh().unwrap();
        let search = |query: &str| index.search(&SearchRequest { query: query.into(), ..SearchRequest::default() });
        let error = search("fields.status:[500 TO 599]").unwrap_err().to_string();
        assert!(
            error.contains("cannot be searched on `fields.*`") && error.contains("fields.status:500 OR"),
            "{error}"
        );
        assert_eq!(search("fields.status:503").unwrap().len(), 1, "the value itself is found");
    }

    #[test]
    fn a_field_the_schema_lacks_is_an_annotation_key() {
        let fields = |name: &str| ["message", "level", "fields", "annotations", "pattern"].contains(&name);
        assert_eq!(annotation_fields("keyword:error", fields), "annotations.keyword:error");
        assert_eq!(
            annotation_fields("level:ERROR AND (-keyword:x OR fields.service.name:api)", fields),
            "level:ERROR AND (-annotations.keyword:x OR fields.service.name:api)"
        );
        assert_eq!(
            annotation_fields(r#""say keyword:x" pattern:1 annotations.k:v"#, fields),
            r#""say keyword:x" pattern:1 annotations.k:v"#
        );
        assert_eq!(annotation_fields("timeout", fields), "timeout");
    }

    #[test]
    fn and_not_reads_as_a_minus_outside_quotes_only() {
        assert_eq!(and_not_as_minus("otel AND NOT level:ERROR"), "otel AND -level:ERROR");
        assert_eq!(and_not_as_minus("(a OR b) AND NOT c"), "(a OR b) AND -c");
        assert_eq!(and_not_as_minus(r#""x AND NOT y" AND NOT z"#), r#""x AND NOT y" AND -z"#);
        assert_eq!(and_not_as_minus("BRAND NOT x"), "BRAND NOT x");
    }
}
