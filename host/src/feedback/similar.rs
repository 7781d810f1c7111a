//! `opsloop similar`: the reports most likely to be duplicates of one report, ranked, with the
//! reasons. The measure is the tickets plugin's own ([`opsloop_plugin_tickets::similarity`]),
//! linked natively, over every stored report.

use serde::Serialize;

use opsloop_plugin_tickets::similarity::{Corpus, Indexed, ReportFeatures, rank};

use crate::index::{IndexError, ReportIndex};
use crate::ingest::BugReport;

/// One report like the target.
#[derive(Debug, Clone, Serialize)]
pub struct SimilarReport {
    pub id: String,
    pub title: String,
    pub score: f64,
    pub group: Option<String>,
    pub reasons: Vec<String>,
}

/// Why `similar` could not answer.
#[derive(Debug, thiserror::Error)]
pub enum SimilarError {
    #[error("no report with id `{0}` (import reports with `opsloop import --reports`)")]
    UnknownReport(String),
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// The features the similarity measure reads from a stored report.
pub fn features_of(report: &BugReport) -> ReportFeatures {
    ReportFeatures::new(
        &report.id,
        &report.title,
        &report.body,
        report.stack_trace.as_deref(),
        report.created_ms,
        report.reporter.as_deref(),
    )
}

/// The similarity measure's word statistics over `reports`.
pub fn corpus_of(reports: &[BugReport]) -> Corpus {
    let mut corpus = Corpus::default();
    reports.iter().for_each(|report| corpus.add(&features_of(report)));
    corpus
}

/// The similarity measure's word statistics over every stored report, counted the first time
/// a rule of one board build needs them and shared by the others.
pub struct ReportCorpus<'r> {
    reports: &'r [BugReport],
    corpus: std::cell::OnceCell<Corpus>,
}

impl<'r> ReportCorpus<'r> {
    pub fn new(reports: &'r [BugReport]) -> Self {
        Self { reports, corpus: std::cell::OnceCell::new() }
    }

    pub fn get(&self) -> &Corpus {
        self.corpus.get_or_init(|| corpus_of(self.reports))
    }
}

/// Ranks every stored report against each of `targets` at once (the corpus is read once).
pub fn similar_to_each(
    reports: &ReportIndex,
    targets: &[&str],
    limit: usize,
) -> Result<Vec<Vec<SimilarReport>>, SimilarError> {
    let all = reports.search("*", None)?;
    let features: Vec<ReportFeatures> = all.iter().map(features_of).collect();
    let mut corpus = Corpus::default();
    features.iter().for_each(|f| corpus.add(f));
    let indexed: Vec<Indexed> = features.iter().map(|f| Indexed::new(&corpus, f)).collect();
    targets
        .iter()
        .map(|&target| {
            let position = all
                .iter()
                .position(|report| report.id == target)
                .ok_or_else(|| SimilarError::UnknownReport(target.into()))?;
            // A report with nothing in common (score 0) is no candidate, however short the list.
            Ok(rank(&indexed[position], &indexed, limit)
                .into_iter()
                .filter(|(_, similarity)| similarity.score > 0.0)
                .map(|(found, similarity)| {
                    let report = all.iter().find(|report| report.id == found.id).expect("ranked from these reports");
                    SimilarReport {
                        id: found.id.clone(),
                        title: found.title.clone(),
                        score: similarity.score,
                        group: report.annotations.get("group").cloned(),
                        reasons: similarity.reasons(),
                    }
                })
                .collect())
        })
        .collect()
}

/// The `limit` stored reports most like report `id` (fewer when fewer have anything in common).
pub fn similar(reports: &ReportIndex, id: &str, limit: usize) -> Result<Vec<SimilarReport>, SimilarError> {
    Ok(similar_to_each(reports, &[id], limit)?.pop().unwrap_or_default())
}
