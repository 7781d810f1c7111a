//! From findings and report groups to what a product owner plans with: [`similar`] finds the
//! likely duplicates of one report; [`links`] judges which reports really quote which log
//! patterns; [`split`] splits a report group whose reports quote log messages never seen
//! together; [`symptoms`] joins a group with no link to the linked group whose symptom it
//! describes, filed while its logs were seen; [`episodes`] folds repeated anomaly findings into episodes; [`items`] builds ranked
//! items from report groups, links and episodes; [`board`] stores the built board and the
//! statuses people and data move; [`render`] prints items as Markdown or as CSV for Jira.

pub mod board;
pub mod episodes;
pub mod items;
pub mod links;
pub mod render;
pub mod similar;
pub mod split;
pub mod symptoms;

pub use board::{Action, Board, BoardStore, FeedbackState, StatusFilter};
pub use items::{BuiltItems, FeedbackItem, Impact, ItemKind, ItemStatus, build_items};
pub use similar::{SimilarError, SimilarReport, similar, similar_to_each};
