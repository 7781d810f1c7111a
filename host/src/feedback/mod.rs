//! From findings and report groups to what a product owner plans with: [`similar`] finds the
//! likely duplicates of one report, [`items`] merges report groups, log patterns and anomalies
//! into ranked feedback items with stable ids and a status, and [`render`] prints them as
//! Markdown or as CSV for Jira.

pub mod items;
pub mod render;
pub mod similar;

use crate::config::FeedbackSettings;
use crate::index::{LogIndex, ReportIndex};
use crate::pipeline::FindingStore;

/// Builds the items from what is stored and updates their statuses in `store`.
pub fn current_items(
    logs: &LogIndex,
    reports: &ReportIndex,
    findings: &FindingStore,
    store: &FeedbackStore,
    settings: &FeedbackSettings,
) -> anyhow::Result<Vec<FeedbackItem>> {
    let findings = findings.read_all()?;
    let mut patterns = logs.patterns(None)?;
    logs.add_examples(&mut patterns, None, 3)?;
    let mut state = store.load()?;
    let items = build_items(&reports.search("*", None)?, &patterns, &findings, &settings.component_sources, &mut state);
    store.save(&state)?;
    Ok(items)
}

pub use items::{FeedbackItem, FeedbackState, FeedbackStore, Impact, ItemKind, ItemStatus, build_items};
pub use similar::{SimilarError, SimilarReport, similar, similar_to_each};
