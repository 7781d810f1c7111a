//! Searching the log index: tantivy query syntax over the message and every field, optional
//! source and time filters, newest first.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde_json::{Map, Value};
use tantivy::Document;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, OwnedValue};
use tantivy::{DateTime, DocAddress, Order, Searcher, TantivyDocument, Term};

use super::{IndexError, LogIndex, Result};
use crate::ingest::{Origin, Record};

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// tantivy query syntax; empty or `*` matches everything.
    pub query: String,
    /// Only records of this source.
    pub source: Option<String>,
    /// Only records at or after this time (ms since the epoch).
    pub since_ms: Option<i64>,
    /// Only records before this time (ms since the epoch).
    pub until_ms: Option<i64>,
    /// At most this many hits; `None` means all.
    pub limit: Option<usize>,
}

/// The `pattern` and `template` fast columns of the segments a search touched.
#[derive(Default)]
struct ColumnCache {
    columns: std::collections::HashMap<(u32, &'static str), Option<tantivy::columnar::StrColumn>>,
}

impl ColumnCache {
    fn value(&mut self, searcher: &Searcher, address: DocAddress, name: &'static str) -> Result<Option<String>> {
        let column = match self.columns.entry((address.segment_ord, name)) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(searcher.segment_reader(address.segment_ord).fast_fields().str(name)?)
            }
        };
        let Some(column) = column else { return Ok(None) };
        let Some(ordinal) = column.term_ords(address.doc_id).next() else { return Ok(None) };
        let mut value = String::new();
        column.ord_to_str(ordinal, &mut value).map_err(|error| IndexError::Tantivy(error.into()))?;
        Ok(Some(value))
    }
}

/// Finds the matched terms in messages.
pub struct Highlighter {
    generator: tantivy::snippet::SnippetGenerator,
}

impl Highlighter {
    /// Byte ranges of `message` that match the query's terms.
    pub fn ranges(&self, message: &str) -> Vec<std::ops::Range<usize>> {
        let snippet = self.generator.snippet(message);
        let offset = snippet.fragment_range().start;
        snippet.highlighted().iter().map(|range| range.start + offset..range.end + offset).collect()
    }
}

/// Where a page of hits ended: the last hit's time, file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    pub timestamp_ms: i64,
    pub file: String,
    pub line: u64,
}

impl PageKey {
    pub fn of(hit: &SearchHit) -> Self {
        Self { timestamp_ms: hit.timestamp_ms, file: hit.record.origin.file.clone(), line: hit.record.origin.line }
    }

    /// Whether this key sorts after `other` in result order (newest first, then file, then
    /// line from the last).
    pub fn comes_after(&self, other: &PageKey) -> bool {
        let order = other
            .timestamp_ms
            .cmp(&self.timestamp_ms)
            .then_with(|| self.file.cmp(&other.file))
            .then_with(|| other.line.cmp(&self.line));
        order == std::cmp::Ordering::Greater
    }

    /// The key as an opaque cursor string.
    pub fn to_cursor(&self) -> String {
        let file: String = self.file.bytes().map(|byte| format!("{byte:02x}")).collect();
        format!("{}.{}.{file}", self.timestamp_ms, self.line)
    }

    /// Reads a cursor [`PageKey::to_cursor`] made.
    pub fn from_cursor(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '.');
        let timestamp_ms = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        let hex = parts.next()?;
        if hex.len() % 2 != 0 {
            return None;
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        Some(Self { timestamp_ms, file: String::from_utf8(bytes).ok()?, line })
    }
}

/// One matching record.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub record: Record,
    /// The time the record is ordered by: its own, or when it was imported.
    pub timestamp_ms: i64,
}

impl SearchHit {
    /// The hit as the JSON object `opsloop search --format json` prints: the record's fields,
    /// `file` and `line`, and every annotation at the top level.
    pub fn to_json(&self) -> Value {
        let record = &self.record;
        let mut object = Map::new();
        let timestamp = chrono::DateTime::from_timestamp_millis(self.timestamp_ms)
            .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        object.insert("timestamp".into(), timestamp.map_or(Value::Null, Value::String));
        object.insert("level".into(), record.level.clone().map_or(Value::Null, Value::String));
        object.insert("source".into(), Value::String(record.source.clone()));
        object.insert("message".into(), Value::String(record.message.clone()));
        object.insert("file".into(), Value::String(record.origin.file.clone()));
        object.insert("line".into(), Value::from(record.origin.line));
        if !record.fields.is_empty() {
            object.insert("fields".into(), Value::Object(record.fields.clone()));
        }
        for (key, value) in &record.annotations {
            object.entry(key.to_string()).or_insert_with(|| Value::String(value.to_string()));
        }
        Value::Object(object)
    }
}

/// Writes every `level:word` of `query` as the index stores levels (`level:error` and
/// `level:err` are `level:ERROR`), since a level is one exact term and records of every format
/// have their level folded to its canonical spelling when they are read.
fn fold_level_terms(query: &str) -> String {
    let mut folded = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(at) = rest.find("level:") {
        let starts_a_term = rest[..at].chars().next_back().is_none_or(|c| c.is_whitespace() || "(+-!".contains(c));
        let (before, after) = rest.split_at(at + "level:".len());
        folded.push_str(before);
        let word_len = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
        let word = &after[..word_len];
        let ends_the_term = after[word_len..].chars().next().is_none_or(|c| c.is_whitespace() || c == ')');
        if starts_a_term && ends_the_term && !word.is_empty() {
            folded.push_str(&crate::ingest::normalize_level(word));
        } else {
            folded.push_str(word);
        }
        rest = &after[word_len..];
    }
    folded.push_str(rest);
    folded
}

impl LogIndex {
    /// Parses `query` against the index's fields; bare words search the message, and terms are
    /// combined with AND unless the query says otherwise.
    pub fn parse_query(&self, query: &str) -> Result<Box<dyn Query>> {
        let aliases = self.pattern_aliases();
        super::parse_user_query(&self.index, vec![self.fields.message], &fold_level_terms(query), Some(&aliases))
    }

    pub(super) fn filtered_query(&self, request: &SearchRequest) -> Result<Box<dyn Query>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, self.parse_query(&request.query)?)];
        if let Some(source) = &request.source {
            let term = Term::from_field_text(self.fields.source, source);
            clauses.push((Occur::Must, Box::new(TermQuery::new(term, IndexRecordOption::Basic))));
        }
        if request.since_ms.is_some() || request.until_ms.is_some() {
            let bound = |time: Option<i64>, inclusive: bool| match time {
                None => Bound::Unbounded,
                Some(ms) => {
                    let term = Term::from_field_date(self.fields.timestamp, DateTime::from_timestamp_millis(ms));
                    if inclusive { Bound::Included(term) } else { Bound::Excluded(term) }
                }
            };
            let range = RangeQuery::new(bound(request.since_ms, true), bound(request.until_ms, false));
            clauses.push((Occur::Must, Box::new(range)));
        }
        if clauses.len() == 1 {
            return Ok(clauses.pop().expect("one clause").1);
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// Matching records per time bucket of `width_ms`, oldest first, empty buckets included.
    pub fn histogram(&self, request: &SearchRequest, width_ms: i64) -> Result<Vec<(i64, u64)>> {
        let query = self.filtered_query(request)?;
        let counts =
            self.reader.searcher().search(&query, &super::histogram::TimeHistogram { width_ms: width_ms.max(1) })?;
        Ok(super::histogram::fill_gaps(&counts, width_ms.max(1)))
    }

    /// Like [`LogIndex::histogram`], with at most [`MAX_BUCKETS`](super::histogram::MAX_BUCKETS)
    /// buckets: a width too fine for the matching records' time range is widened
    /// ([`fitting_width`](super::histogram::fitting_width)). Returns the width used.
    pub fn histogram_fitting(&self, request: &SearchRequest, width_ms: i64) -> Result<(i64, Vec<(i64, u64)>)> {
        use super::histogram::{TimeHistogram, fill_gaps, fitting_width};
        let query = self.filtered_query(request)?;
        let searcher = self.reader.searcher();
        let width_ms = width_ms.max(1);
        let counts = searcher.search(&query, &TimeHistogram { width_ms })?;
        let (Some((&first, _)), Some((&last, _))) = (counts.first_key_value(), counts.last_key_value()) else {
            return Ok((width_ms, Vec::new()));
        };
        let fitting = fitting_width(first, last + width_ms - 1, width_ms);
        if fitting == width_ms {
            return Ok((width_ms, fill_gaps(&counts, width_ms)));
        }
        let counts = searcher.search(&query, &TimeHistogram { width_ms: fitting })?;
        Ok((fitting, fill_gaps(&counts, fitting)))
    }

    /// The byte ranges of `message` that the request's query matched, for highlighting.
    pub fn highlighter(&self, request: &SearchRequest) -> Result<Highlighter> {
        let query = self.parse_query(&request.query)?;
        let mut generator =
            tantivy::snippet::SnippetGenerator::create(&self.reader.searcher(), &*query, self.fields.message)?;
        generator.set_max_num_chars(1 << 20);
        Ok(Highlighter { generator })
    }

    /// Counts the records that match.
    pub fn count(&self, request: &SearchRequest) -> Result<usize> {
        let query = self.filtered_query(request)?;
        Ok(self.reader.searcher().search(&query, &Count)?)
    }

    /// The matching records, newest first (ties: later line first).
    pub fn search(&self, request: &SearchRequest) -> Result<Vec<SearchHit>> {
        let query = self.filtered_query(request)?;
        let searcher = self.reader.searcher();
        let limit = match request.limit {
            Some(limit) => limit,
            None => searcher.search(&query, &Count)?,
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let top = TopDocs::with_limit(limit).order_by_fast_field::<DateTime>("timestamp", Order::Desc);
        let addresses = searcher.search(&query, &top)?;
        let mut columns = ColumnCache::default();
        let mut hits = addresses
            .into_iter()
            .map(|(_, address)| self.hit(&searcher, address, &mut columns))
            .collect::<Result<Vec<_>>>()?;
        hits.sort_by(|a, b| {
            b.timestamp_ms
                .cmp(&a.timestamp_ms)
                .then_with(|| a.record.origin.file.cmp(&b.record.origin.file))
                .then_with(|| b.record.origin.line.cmp(&a.record.origin.line))
        });
        Ok(hits)
    }

    /// One page of the matching records, newest first, after `after` (the key of the last hit
    /// of the previous page). Hits that share a time are ordered by file and line, and a page
    /// that ends inside such a tie takes exactly its first members, so pages never skip or
    /// repeat a hit. The key of the page's last hit comes back when there may be more.
    pub fn search_page(
        &self,
        request: &SearchRequest,
        after: Option<&PageKey>,
        limit: usize,
    ) -> Result<(Vec<SearchHit>, Option<PageKey>)> {
        let all_at = |time: i64| -> Result<Vec<SearchHit>> {
            let since = request.since_ms.map_or(time, |since| since.max(time));
            let until = request.until_ms.map_or(time + 1, |until| until.min(time + 1));
            self.search(&SearchRequest { since_ms: Some(since), until_ms: Some(until), limit: None, ..request.clone() })
        };
        let mut page = Vec::with_capacity(limit);
        let mut rest = request.clone();
        if let Some(after) = after {
            page.extend(all_at(after.timestamp_ms)?.into_iter().filter(|hit| PageKey::of(hit).comes_after(after)));
            rest.until_ms = Some(request.until_ms.map_or(after.timestamp_ms, |until| until.min(after.timestamp_ms)));
        }
        if page.len() < limit {
            let wanted = limit - page.len();
            rest.limit = Some(wanted);
            let mut more = self.search(&rest)?;
            if more.len() == wanted
                && let Some(last_time) = more.last().map(|hit| hit.timestamp_ms)
            {
                // The tie at the page's end: which of its members tantivy picked is arbitrary.
                more.retain(|hit| hit.timestamp_ms != last_time);
                let room = wanted - more.len();
                more.extend(all_at(last_time)?.into_iter().take(room));
            }
            page.extend(more);
        }
        page.truncate(limit);
        let next = (page.len() == limit).then(|| page.last().map(PageKey::of)).flatten();
        Ok((page, next))
    }

    /// The records of `file` from line `line - before` to `line + after`, in line order: the
    /// lines around a hit.
    pub fn context(&self, file: &str, line: u64, before: u64, after: u64) -> Result<Vec<SearchHit>> {
        let file_term = Term::from_field_text(self.fields.file, file);
        let first = Term::from_field_u64(self.fields.line, line.saturating_sub(before));
        let last = Term::from_field_u64(self.fields.line, line.saturating_add(after));
        let query = BooleanQuery::new(vec![
            (Occur::Must, Box::new(TermQuery::new(file_term, IndexRecordOption::Basic)) as Box<dyn Query>),
            (Occur::Must, Box::new(RangeQuery::new(Bound::Included(first), Bound::Included(last)))),
        ]);
        let searcher = self.reader.searcher();
        let limit = (before + after + 1).min(10_000) as usize;
        let addresses =
            searcher.search(&query, &TopDocs::with_limit(limit).order_by_fast_field::<u64>("line", Order::Asc))?;
        let mut columns = ColumnCache::default();
        let mut hits = addresses
            .into_iter()
            .map(|(_, address)| self.hit(&searcher, address, &mut columns))
            .collect::<Result<Vec<_>>>()?;
        hits.sort_by_key(|hit| hit.record.origin.line);
        Ok(hits)
    }

    /// Every record, oldest first, in batches of `batch_size`, read from the index as it was
    /// when called (later commits do not change what is read). Records of the same time come
    /// in line order, so lines imported together (a raw file: one ingest time) keep their order.
    pub fn for_each_batch_oldest_first<E: From<IndexError>>(
        &self,
        batch_size: usize,
        mut work: impl FnMut(Vec<Record>) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, E> {
        let searcher = self.reader.searcher();
        let mut order: Vec<(i64, u64, DocAddress)> = Vec::new();
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let fast = segment.fast_fields();
            let times = fast.date("timestamp").map_err(IndexError::from)?;
            let lines = fast.u64("line").map_err(IndexError::from)?;
            for doc in segment.doc_ids_alive() {
                let time = times.first(doc).map_or(0, |time| time.into_timestamp_millis());
                order.push((time, lines.first(doc).unwrap_or(0), DocAddress::new(segment_ord as u32, doc)));
            }
        }
        order.sort_unstable();
        let mut columns = ColumnCache::default();
        for chunk in order.chunks(batch_size.max(1)) {
            let records = chunk
                .iter()
                .map(|&(_, _, address)| self.hit(&searcher, address, &mut columns).map(|hit| hit.record))
                .collect::<Result<Vec<_>>>()?;
            work(records)?;
        }
        Ok(order.len() as u64)
    }

    fn hit(&self, searcher: &Searcher, address: DocAddress, columns: &mut ColumnCache) -> Result<SearchHit> {
        let document: TantivyDocument = searcher.doc(address)?;
        let named = document.to_named_doc(&self.index.schema());
        let first = |name: &str| named.0.get(name).and_then(|values| values.first());
        let text = |name: &str| match first(name) {
            Some(OwnedValue::Str(text)) => Some(text.clone()),
            _ => None,
        };
        let timestamp_ms = match first("timestamp") {
            Some(OwnedValue::Date(date)) => date.into_timestamp_millis(),
            _ => 0,
        };
        let line = match first("line") {
            Some(OwnedValue::U64(line)) => *line,
            _ => 0,
        };
        let object = |name: &str| match first(name) {
            Some(value @ OwnedValue::Object(_)) => match serde_json::to_value(value) {
                Ok(Value::Object(map)) => map,
                _ => Map::new(),
            },
            _ => Map::new(),
        };
        let mut annotations = BTreeMap::new();
        for (key, value) in object("annotations") {
            if let Value::String(text) = value {
                annotations.insert(key.into(), text.into());
            }
        }
        for key in ["pattern", "template"] {
            if let Some(value) = columns.value(searcher, address, key)? {
                annotations.insert(key.into(), value.into());
            }
        }
        let record = Record {
            timestamp_ms: Some(timestamp_ms),
            level: text("level"),
            source: text("source").unwrap_or_default(),
            message: text("message").unwrap_or_default(),
            fields: object("fields"),
            origin: Origin { file: text("file").unwrap_or_default(), line },
            annotations,
        };
        Ok(SearchHit { record, timestamp_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::fold_level_terms;

    #[test]
    fn level_terms_are_written_as_levels_are_stored() {
        assert_eq!(fold_level_terms("level:error"), "level:ERROR");
        assert_eq!(fold_level_terms("disk AND (level:warning OR level:err)"), "disk AND (level:WARN OR level:ERROR)");
        assert_eq!(fold_level_terms("-level:info timeout"), "-level:INFO timeout");
        // Not a level term, or not a plain word: left as written.
        assert_eq!(fold_level_terms("loglevel:error"), "loglevel:error");
        assert_eq!(fold_level_terms("level:err*"), "level:err*");
        assert_eq!(fold_level_terms("fields.level:error"), "fields.level:error");
        assert_eq!(fold_level_terms("level:\"error\""), "level:\"error\"");
    }
}
