//! Fixture plugin `keywords-rust` 2.0.0: version 1.0.0 (`tests/plugins/keywords`) with
//! `refused` added to the default words, so a backtest of it against 1.0.0 changes exactly
//! the records that mention `refused` and none of the earlier words.

const VERSION: &str = "2.0.0";
const DEFAULT_WORDS: &str = "error,fail,timeout,refused";

include!("../../keywords/src/analyzer.rs");
