//! Fixture plugin `keywords-rust` 1.0.0: tags records that mention a keyword. The Python and
//! JavaScript fixtures in `tests/languages/` behave the same; the tests compare the three.

const VERSION: &str = "1.0.0";
const DEFAULT_WORDS: &str = "error,fail,timeout";

include!("analyzer.rs");
