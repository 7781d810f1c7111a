//! From findings and report groups to what a product owner plans with: [`similar`] finds the
//! likely duplicates of one report, [`items`] merges report groups, log patterns and anomalies
//! into ranked feedback items with stable ids and a status.

pub mod items;
pub mod similar;

pub use items::{FeedbackItem, FeedbackState, FeedbackStore, Impact, ItemKind, ItemStatus, build_items};
pub use similar::{SimilarError, SimilarReport, similar, similar_to_each};
