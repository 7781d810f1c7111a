//! Pattern aliases: the ids that indexed records carry after the pattern miner folded their
//! pattern into another (a template widened over its sibling, or one of another length joined
//! as the same event). Records are never rewritten; instead the miner's `pattern-merge`
//! findings are kept here, per source, in `pattern-aliases.jsonl` beside the index, and
//! searches (`pattern:ID`), pattern counts and the feedback board follow them: an id that was
//! merged away and the id it now belongs to find the same records.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The finding kind a pattern miner reports a merge with (see `wit/plugin.wit`).
pub const PATTERN_MERGE: &str = "pattern-merge";

/// Most ids one `pattern:ID` term expands to: a pathological merge history cannot turn a query
/// into thousands of clauses.
const MAX_EXPANSION: usize = 256;

/// One merge: in `source`, records annotated `from` belong to pattern `into` now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternMerge {
    pub source: String,
    pub from: String,
    pub into: String,
    /// `into`'s template when it was merged.
    pub template: String,
}

/// Every merge known, as a map from (source, id) to the id it stands for now.
#[derive(Debug, Clone, Default)]
pub struct PatternAliases {
    /// (source, merged id) → the id it was merged into (which may itself be merged later).
    into: HashMap<(String, String), String>,
    /// (source, standing id) → every id that resolves to it there, itself excluded.
    members: HashMap<(String, String), BTreeSet<String>>,
    /// id → the sources where it takes part in a merge, either side.
    sources_of: HashMap<String, BTreeSet<String>>,
    /// (source, id) → the template it had when something was last merged into it.
    templates: HashMap<(String, String), String>,
}

impl PatternAliases {
    /// The aliases `merges` make, applied in order.
    pub fn from_merges<'a>(merges: impl IntoIterator<Item = &'a PatternMerge>) -> Self {
        let mut aliases = Self::default();
        aliases.apply(merges);
        aliases
    }

    /// Whether no merge is known.
    pub fn is_empty(&self) -> bool {
        self.into.is_empty()
    }

    /// Applies `merges` in order. The id a merge goes into stands now: an older merge of that
    /// id into another (a loop the miner closed) no longer holds.
    pub fn apply<'a>(&mut self, merges: impl IntoIterator<Item = &'a PatternMerge>) {
        for merge in merges {
            self.into.remove(&(merge.source.clone(), merge.into.clone()));
            self.into.insert((merge.source.clone(), merge.from.clone()), merge.into.clone());
            self.templates.insert((merge.source.clone(), merge.into.clone()), merge.template.clone());
            for id in [&merge.from, &merge.into] {
                self.sources_of.entry(id.clone()).or_default().insert(merge.source.clone());
            }
        }
        self.members.clear();
        for (source, from) in self.into.keys() {
            let standing = self.standing(source, from).to_string();
            self.members.entry((source.clone(), standing)).or_default().insert(from.clone());
        }
    }

    /// The id that records of `source` annotated `id` belong to now (`id` itself when it was
    /// never merged).
    pub fn standing<'a>(&'a self, source: &str, id: &'a str) -> &'a str {
        let mut at = id;
        // Each step moves to a different id; a loop cannot outlast the number of merges.
        for _ in 0..=self.into.len() {
            match self.into.get(&(source.to_string(), at.to_string())) {
                Some(next) => at = next,
                None => return at,
            }
        }
        at
    }

    /// The ids merged into `standing` in `source` (not `standing` itself).
    pub fn members(&self, source: &str, standing: &str) -> impl Iterator<Item = &str> {
        self.members.get(&(source.to_string(), standing.to_string())).into_iter().flatten().map(String::as_str)
    }

    /// The template `standing` had when an id was last merged into it in `source`.
    pub fn template(&self, source: &str, standing: &str) -> Option<&str> {
        self.templates.get(&(source.to_string(), standing.to_string())).map(String::as_str)
    }

    /// For each source where `id` took part in a merge, the ids whose records are the same
    /// pattern's there (the one standing and all merged into it, `id` included); empty when
    /// `id` was never part of a merge.
    pub fn equivalents<'a>(&'a self, id: &'a str) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
        let mut found = BTreeMap::new();
        for source in self.sources_of.get(id).into_iter().flatten() {
            let standing = self.standing(source, id);
            let mut ids: BTreeSet<&str> = self.members(source, standing).collect();
            ids.insert(standing);
            ids.insert(id);
            found.insert(source.as_str(), ids);
        }
        found
    }

    /// The ids `id` stands for now in the sources where it was merged (none when it never was).
    pub fn successors<'a>(&'a self, id: &'a str) -> BTreeSet<&'a str> {
        let sources = self.sources_of.get(id).into_iter().flatten();
        sources.map(|source| self.standing(source, id)).filter(|standing| *standing != id).collect()
    }

    /// `query` (a finding's, which names patterns as `pattern:ID`) with every id that was
    /// merged in `source` replaced by the one it stands for now.
    pub fn resolve_query(&self, source: &str, query: &str) -> String {
        const NAME: &str = "pattern:";
        if self.is_empty() || !query.contains(NAME) {
            return query.to_string();
        }
        let mut out = String::with_capacity(query.len());
        let mut rest = query;
        while let Some(at) = rest.find(NAME) {
            let after = &rest[at + NAME.len()..];
            let id_len = after.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(after.len());
            out.push_str(&rest[..at + NAME.len()]);
            out.push_str(self.standing(source, &after[..id_len]));
            rest = &after[id_len..];
        }
        out.push_str(rest);
        out
    }

    /// The query text for `pattern:ID` with its aliases: the records of `id` anywhere, or of
    /// any id that is the same pattern in a source where they merged. `None` when `id` has no
    /// alias.
    fn expand_term(&self, id: &str) -> Option<String> {
        let equivalents = self.equivalents(id);
        let mut clauses = Vec::new();
        let mut terms = 0usize;
        for (source, ids) in &equivalents {
            let others: Vec<&str> = ids.iter().copied().filter(|other| *other != id).take(MAX_EXPANSION).collect();
            if others.is_empty() || terms >= MAX_EXPANSION {
                continue;
            }
            terms += others.len();
            let quoted = source.replace('\\', "\\\\").replace('"', "\\\"");
            let any: Vec<String> = others.iter().map(|other| format!("pattern:{other}")).collect();
            clauses.push(format!("(source:\"{quoted}\" AND ({}))", any.join(" OR ")));
        }
        (!clauses.is_empty()).then(|| format!("(pattern:{id} OR {})", clauses.join(" OR ")))
    }

    /// `query` with every `pattern:ID` term (outside quotes, not a prefix or range) widened to
    /// the ids that are the same pattern ([`PatternAliases::expand_term`]).
    pub fn expand_query(&self, query: &str) -> String {
        const NAME: &str = "pattern:";
        if self.is_empty() || !query.contains(NAME) {
            return query.to_string();
        }
        super::rewrite_terms(query, |rest| {
            let after = rest.strip_prefix(NAME)?;
            let id_len = after.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(after.len());
            let tail = &after[id_len..];
            let ends_term = tail.is_empty() || tail.starts_with([' ', '\t', ')']);
            if id_len == 0 || !ends_term {
                return None;
            }
            self.expand_term(&after[..id_len]).map(|expanded| (expanded, NAME.len() + id_len))
        })
    }
}

/// The merges kept on disk, one JSON line each, appended as the miner reports them.
#[derive(Debug)]
pub struct AliasFile {
    path: PathBuf,
}

impl AliasFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every merge kept, oldest first; a line that does not parse is skipped with a warning.
    pub fn read(&self) -> std::io::Result<Vec<PatternMerge>> {
        crate::jsonl::read(&self.path, "pattern alias")
    }

    /// Appends `merges` and syncs them.
    pub fn append(&self, merges: &[PatternMerge]) -> std::io::Result<()> {
        crate::jsonl::append(&self.path, merges)
    }

    /// Keeps only `merges`: written beside the file, synced, then renamed over it.
    pub fn replace(&self, merges: &[PatternMerge]) -> std::io::Result<()> {
        crate::jsonl::replace(&self.path, merges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge(source: &str, from: &str, into: &str) -> PatternMerge {
        PatternMerge { source: source.into(), from: from.into(), into: into.into(), template: format!("t {into}") }
    }

    #[test]
    fn chains_resolve_to_the_last_id_and_a_closed_loop_stands_at_its_target() {
        let mut aliases = PatternAliases::from_merges(&[merge("app", "a", "b"), merge("app", "b", "c")]);
        assert_eq!(aliases.standing("app", "a"), "c");
        assert_eq!(aliases.standing("db", "a"), "a", "a merge holds only in its source");
        assert_eq!(aliases.members("app", "c").collect::<Vec<_>>(), ["a", "b"]);
        aliases.apply(&[merge("app", "c", "a")]);
        assert_eq!(aliases.standing("app", "c"), "a");
        assert_eq!(aliases.standing("app", "b"), "a");
        assert_eq!(aliases.standing("app", "a"), "a");
    }

    #[test]
    fn a_pattern_term_widens_to_its_merged_ids_in_their_source_only() {
        let aliases = PatternAliases::from_merges(&[merge("app", "a1", "b2")]);
        let expanded = aliases.expand_query("level:ERROR AND pattern:a1");
        assert_eq!(expanded, r#"level:ERROR AND (pattern:a1 OR (source:"app" AND (pattern:b2)))"#);
        assert_eq!(aliases.expand_query("(pattern:b2)"), r#"((pattern:b2 OR (source:"app" AND (pattern:a1))))"#);
        for untouched in ["pattern:c3", "\"pattern:a1\"", "pattern:a1*", "xpattern:a1", "pattern:a1x"] {
            assert_eq!(aliases.expand_query(untouched), untouched);
        }
    }

    #[test]
    fn a_findings_query_names_the_pattern_that_stands_now() {
        let aliases = PatternAliases::from_merges(&[merge("app", "a1", "b2")]);
        assert_eq!(aliases.resolve_query("app", "pattern:a1 OR pattern:c3"), "pattern:b2 OR pattern:c3");
        assert_eq!(aliases.resolve_query("db", "pattern:a1"), "pattern:a1");
        assert_eq!(aliases.successors("a1").into_iter().collect::<Vec<_>>(), ["b2"]);
        assert!(aliases.successors("b2").is_empty());
    }

    #[test]
    fn a_source_with_a_quote_is_escaped() {
        let aliases = PatternAliases::from_merges(&[merge("we\"ird", "a", "b")]);
        assert_eq!(aliases.expand_query("pattern:a"), r#"(pattern:a OR (source:"we\"ird" AND (pattern:b)))"#);
    }
}
