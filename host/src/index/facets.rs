//! Facet counts over the log index: how many of the records a query matches carry each level,
//! source and pattern, read from the fast columns (no document is loaded), so the page can
//! show them beside the results and filter by a click. A pattern the miner merged into another
//! is counted under the one it joined ([`super::PatternAliases`]), as `patterns` counts it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::{LogIndex, Result, SearchRequest};

/// The columns counted, by their field name (and query prefix).
pub const FACET_FIELDS: [&str; 3] = ["level", "source", "pattern"];

/// Where `source` is in [`FACET_FIELDS`] (before `pattern`: a record's source is known when its
/// pattern is counted).
const SOURCE: usize = 1;

/// Where `pattern` is in [`FACET_FIELDS`]: its values carry a template.
const PATTERN: usize = 2;

/// One value of a facet and how many matching records carry it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
    /// The pattern's template (pattern facet only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

/// The counts of every facet for one request: the most frequent values first, `size` at most
/// each, with how many records carry no value and how many distinct values there are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Facet {
    pub values: Vec<FacetValue>,
    /// Distinct values among the matching records.
    pub distinct: usize,
    /// Matching records with no value in this column.
    pub missing: u64,
}

/// Counts per facet field and value (patterns by pattern and source, the key an alias holds
/// in), with the first template seen per pattern.
#[derive(Default)]
struct Counts {
    by_field: [HashMap<String, u64>; 3],
    patterns: HashMap<(String, String), u64>,
    missing: [u64; 3],
    templates: HashMap<String, String>,
}

struct FacetCollector;

struct SegmentFacets {
    columns: [Option<StrColumn>; 3],
    template: Option<StrColumn>,
    /// Per field: ordinal -> count (ordinals are per segment); patterns are in `patterns`.
    ordinals: [HashMap<u64, u64>; 3],
    /// (pattern ordinal, source ordinal or `u64::MAX`) -> count.
    patterns: HashMap<(u64, u64), u64>,
    missing: [u64; 3],
    /// Pattern ordinal -> template ordinal.
    templates: HashMap<u64, u64>,
}

impl Collector for FacetCollector {
    type Fruit = Counts;
    type Child = SegmentFacets;

    fn for_segment(&self, _segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let fast = reader.fast_fields();
        Ok(SegmentFacets {
            columns: [fast.str(FACET_FIELDS[0])?, fast.str(FACET_FIELDS[1])?, fast.str(FACET_FIELDS[2])?],
            template: fast.str("template")?,
            ordinals: Default::default(),
            patterns: HashMap::new(),
            missing: [0; 3],
            templates: HashMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut merged = Counts::default();
        for fruit in fruits {
            for (field, counts) in fruit.by_field.into_iter().enumerate() {
                for (value, count) in counts {
                    *merged.by_field[field].entry(value).or_insert(0) += count;
                }
                merged.missing[field] += fruit.missing[field];
            }
            for (key, count) in fruit.patterns {
                *merged.patterns.entry(key).or_insert(0) += count;
            }
            for (pattern, template) in fruit.templates {
                merged.templates.entry(pattern).or_insert(template);
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let mut source = u64::MAX;
        for (field, column) in self.columns.iter().enumerate() {
            match column.as_ref().and_then(|column| column.term_ords(doc).next()) {
                Some(ordinal) if field == PATTERN => {
                    *self.patterns.entry((ordinal, source)).or_insert(0) += 1;
                    if let Some(template) = self.template.as_ref().and_then(|column| column.term_ords(doc).next()) {
                        self.templates.entry(ordinal).or_insert(template);
                    }
                }
                Some(ordinal) => {
                    *self.ordinals[field].entry(ordinal).or_insert(0) += 1;
                    if field == SOURCE {
                        source = ordinal;
                    }
                }
                None => self.missing[field] += 1,
            }
        }
    }

    fn harvest(self) -> Counts {
        let text = |column: &Option<StrColumn>, ordinal: u64| {
            let mut text = String::new();
            if let Some(column) = column {
                let _ = column.ord_to_str(ordinal, &mut text);
            }
            text
        };
        let mut counts = Counts { missing: self.missing, ..Counts::default() };
        for (field, ordinals) in self.ordinals.into_iter().enumerate() {
            for (ordinal, count) in ordinals {
                *counts.by_field[field].entry(text(&self.columns[field], ordinal)).or_insert(0) += count;
            }
        }
        for ((pattern, source), count) in self.patterns {
            let source = if source == u64::MAX { String::new() } else { text(&self.columns[SOURCE], source) };
            *counts.patterns.entry((text(&self.columns[PATTERN], pattern), source)).or_insert(0) += count;
        }
        for (pattern, template) in self.templates {
            counts.templates.insert(text(&self.columns[PATTERN], pattern), text(&self.template, template));
        }
        counts
    }
}

impl LogIndex {
    /// The level, source and pattern counts of the records `request` matches, `size` values
    /// at most per facet, most frequent first (ties by value).
    pub fn facets(&self, request: &SearchRequest, size: usize) -> Result<BTreeMap<&'static str, Facet>> {
        let query = self.filtered_query(request)?;
        let mut counts = self.reader.searcher().search(&query, &FacetCollector)?;
        let aliases = self.pattern_aliases();
        for ((pattern, source), count) in std::mem::take(&mut counts.patterns) {
            let standing = aliases.standing(&source, &pattern);
            if standing != pattern
                && let Some(template) = aliases.template(&source, standing)
            {
                counts.templates.insert(standing.to_string(), template.to_string());
            }
            *counts.by_field[PATTERN].entry(standing.to_string()).or_insert(0) += count;
        }
        let mut facets = BTreeMap::new();
        for (field, name) in FACET_FIELDS.into_iter().enumerate() {
            let by_value = std::mem::take(&mut counts.by_field[field]);
            let distinct = by_value.len();
            let mut values: Vec<FacetValue> = by_value
                .into_iter()
                .map(|(value, count)| {
                    let template =
                        (field == PATTERN).then(|| counts.templates.get(&value).cloned().unwrap_or_default());
                    FacetValue { value, count, template }
                })
                .collect();
            values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            values.truncate(size);
            facets.insert(name, Facet { values, distinct, missing: counts.missing[field] });
        }
        Ok(facets)
    }
}
