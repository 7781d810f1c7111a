//! Limits a query string must meet before tantivy's parser sees it. The parser descends once
//! per nested group, on the calling thread's stack: 2,100 nested parentheses overflowed a
//! 2 MiB worker stack and aborted the process. A query is refused, with the limit it broke,
//! when it is longer than [`MAX_QUERY_BYTES`] or nests groups deeper than [`MAX_QUERY_DEPTH`].
//!
//! In: the query text a person or a client sent. Out: `Ok(())` or the [`QueryLimit`] broken.

/// The longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 4096;

/// The deepest nesting of parenthesized groups accepted.
pub const MAX_QUERY_DEPTH: usize = 32;

/// Which limit a query broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryLimit {
    #[error("the query is {bytes} bytes long; at most {MAX_QUERY_BYTES} are accepted")]
    TooLong { bytes: usize },
    #[error("the query nests groups {depth} deep; at most {MAX_QUERY_DEPTH} are accepted")]
    TooDeep { depth: usize },
}

impl QueryLimit {
    /// The stable code an API answer carries.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLong { .. } => "query_too_long",
            Self::TooDeep { .. } => "query_too_deep",
        }
    }
}

/// Checks `query` against both limits, in one pass and without recursion. Parentheses inside
/// a quoted phrase or escaped with `\` are text, as tantivy reads them.
pub fn check_query(query: &str) -> Result<(), QueryLimit> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(QueryLimit::TooLong { bytes: query.len() });
    }
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut in_phrase = false;
    let mut bytes = query.bytes();
    while let Some(byte) = bytes.next() {
        match byte {
            b'\\' => {
                bytes.next();
            }
            b'"' => in_phrase = !in_phrase,
            b'(' if !in_phrase => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' if !in_phrase => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_QUERY_DEPTH {
        return Err(QueryLimit::TooDeep { depth: deepest });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn depth_counts_groups_and_not_parentheses_in_phrases_or_escaped() {
        assert_eq!(check_query("(a OR (b AND c))"), Ok(()));
        let deep = "(".repeat(MAX_QUERY_DEPTH + 1) + "a" + &")".repeat(MAX_QUERY_DEPTH + 1);
        assert_eq!(check_query(&deep), Err(QueryLimit::TooDeep { depth: MAX_QUERY_DEPTH + 1 }));
        let at_limit = "(".repeat(MAX_QUERY_DEPTH) + "a" + &")".repeat(MAX_QUERY_DEPTH);
        assert_eq!(check_query(&at_limit), Ok(()));
        assert_eq!(check_query(&format!("\"{}\"", "(".repeat(100))), Ok(()));
        assert_eq!(check_query(&"\\(".repeat(100)), Ok(()));
        let long = "a ".repeat(MAX_QUERY_BYTES);
        assert_eq!(check_query(&long), Err(QueryLimit::TooLong { bytes: long.len() }));
    }

    /// Query-shaped text: words, fields, operators, groups, phrases, ranges, escapes.
    fn queryish() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "(", ")", "\"", "\\", " ", "AND ", "OR ", "NOT ", "+", "-", "*", "level:", "message:", "[", "]", "{", "}",
            " TO ", "error", "disk", "é", "^2", "~1", ":", "IN [a b]",
        ]);
        prop::collection::vec(pieces, 0..200).prop_map(|pieces| pieces.concat())
    }

    /// One index for every case: the parser needs its schema, not its data.
    fn index() -> &'static crate::index::LogIndex {
        static INDEX: std::sync::LazyLock<(tempfile::TempDir, crate::index::LogIndex)> =
            std::sync::LazyLock::new(|| {
                let dir = tempfile::tempdir().unwrap();
                let index = crate::index::LogIndex::open(dir.path()).unwrap();
                (dir, index)
            });
        &INDEX.1
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Whatever the text, the log index's query parsing answers (a query or an error) on a
        /// thread with a 256 KiB stack, an eighth of a worker's: the limits keep tantivy's
        /// parser shallow, so nothing a client sends can overflow a stack.
        #[test]
        fn any_query_parses_or_is_refused_on_a_small_stack(query in prop_oneof![queryish(), ".{0,300}", (1usize..3000).prop_map(|n| "(".repeat(n)), (1usize..3000).prop_map(|n| format!("a \" b{}", "(".repeat(n)))]) {
            let index = index();
            let parsed = std::thread::scope(|scope| {
                std::thread::Builder::new()
                    .stack_size(256 << 10)
                    .spawn_scoped(scope, || index.parse_query(&query).map(|_| ()))
                    .unwrap()
                    .join()
            });
            prop_assert!(parsed.is_ok(), "parsing panicked on {:?}", query);
            if let Ok(Ok(())) = parsed {
                prop_assert!(check_query(&query).is_ok());
            }
        }
    }
}
