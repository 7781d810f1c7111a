//! How alike two reports are, and why: a TF-IDF cosine over title and body (the title counted
//! twice, and once more on its own), shared stack frames, a shared error template, and a prior
//! that duplicates are filed close together in time (after the release that broke something).
//!
//! The measure is the same for grouping (in the plugin) and for `opsloop similar` (in the
//! host, which links this crate natively).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{fingerprint, text};

/// Weight of the title-only cosine beside the whole-text one.
const TITLE_WEIGHT: f64 = 0.5;
/// Added when the stack fingerprints are equal; frames shared otherwise add up to half of it.
const STACK_WEIGHT: f64 = 1.0;
/// Added when an error template is shared.
const TEMPLATE_WEIGHT: f64 = 0.5;
/// The time prior: reports filed `d` days apart score `1 + exp(-d / TIME_SCALE_DAYS)` times more.
const TIME_SCALE_DAYS: f64 = 30.0;
const DAY_MS: f64 = 86_400_000.0;
/// A clone shares its source's text by construction; it is a separate bug, so its score is
/// scaled down below that of any real duplicate with the same text.
const CLONE_FACTOR: f64 = 0.25;

/// What the similarity measure reads from one report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportFeatures {
    pub id: String,
    pub title: String,
    /// Terms of title (twice) and body, with counts.
    pub terms: Vec<(String, u32)>,
    pub title_terms: Vec<(String, u32)>,
    pub frames: Vec<String>,
    pub stack: Option<String>,
    pub templates: Vec<String>,
    pub created_ms: Option<i64>,
    pub reporter: Option<String>,
    /// The report this one was cloned from (a separate bug, not a duplicate of it).
    #[serde(default)]
    pub cloned_from: Option<String>,
}

fn counted(terms: Vec<String>) -> Vec<(String, u32)> {
    let mut counts: HashMap<String, u32> = HashMap::new();
    for term in terms {
        *counts.entry(term).or_default() += 1;
    }
    let mut counted: Vec<(String, u32)> = counts.into_iter().collect();
    counted.sort();
    counted
}

impl ReportFeatures {
    /// Reads a report: `stack_trace` is the tracker's own field, when it has one.
    pub fn new(
        id: &str,
        title: &str,
        body: &str,
        stack_trace: Option<&str>,
        created_ms: Option<i64>,
        reporter: Option<&str>,
    ) -> Self {
        let cloned_from = text::cloned_from(body);
        let body = text::strip_boilerplate(body);
        let title_terms = text::terms(title);
        let mut all = title_terms.clone();
        all.extend(title_terms.iter().cloned());
        all.extend(text::terms(&body));
        let technical = match stack_trace {
            Some(trace) => format!("{body}\n{trace}"),
            None => body.clone(),
        };
        let frames = fingerprint::frames(&technical);
        Self {
            id: id.to_string(),
            title: title.to_string(),
            terms: counted(all),
            title_terms: counted(title_terms),
            stack: fingerprint::stack_fingerprint(&frames),
            frames,
            templates: fingerprint::error_templates(&format!("{title}\n{technical}")),
            created_ms,
            reporter: reporter.map(str::to_string),
            cloned_from,
        }
    }
}

/// Document frequencies over a set of reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Corpus {
    documents: u64,
    frequencies: HashMap<String, u64>,
}

/// A unit-length TF-IDF vector.
pub type TermVector = HashMap<String, f64>;

impl Corpus {
    pub fn add(&mut self, features: &ReportFeatures) {
        self.documents += 1;
        for (term, _) in &features.terms {
            *self.frequencies.entry(term.clone()).or_default() += 1;
        }
    }

    pub fn remove(&mut self, features: &ReportFeatures) {
        self.documents = self.documents.saturating_sub(1);
        for (term, _) in &features.terms {
            if let Some(count) = self.frequencies.get_mut(term) {
                *count = count.saturating_sub(1);
            }
        }
    }

    /// Sublinear TF times smoothed IDF, normalized.
    pub fn vector(&self, terms: &[(String, u32)]) -> TermVector {
        let documents = self.documents as f64;
        let mut vector: TermVector = terms
            .iter()
            .map(|(term, count)| {
                let frequency = self.frequencies.get(term).copied().unwrap_or(0) as f64;
                let weight = (1.0 + f64::from(*count).ln()) * ((documents + 1.0) / (frequency + 1.0)).ln();
                (term.clone(), weight)
            })
            .collect();
        let norm = vector.values().map(|w| w * w).sum::<f64>().sqrt();
        if norm > 0.0 {
            vector.values_mut().for_each(|w| *w /= norm);
        }
        vector
    }
}

fn cosine(a: &TermVector, b: &TermVector) -> f64 {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    small.iter().filter_map(|(term, weight)| large.get(term).map(|other| weight * other)).sum()
}

/// A report ready to be compared: its features and vectors under one corpus.
#[derive(Debug, Clone)]
pub struct Indexed<'a> {
    pub features: &'a ReportFeatures,
    all: TermVector,
    title: TermVector,
}

impl<'a> Indexed<'a> {
    pub fn new(corpus: &Corpus, features: &'a ReportFeatures) -> Self {
        Self { features, all: corpus.vector(&features.terms), title: corpus.vector(&features.title_terms) }
    }
}

/// How alike two reports are, with the parts that explain it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Similarity {
    pub score: f64,
    /// Cosine of title and body.
    pub text: f64,
    /// Cosine of the titles alone.
    pub title: f64,
    /// Frames both stack traces have.
    pub shared_frames: Vec<String>,
    pub same_stack: bool,
    pub shared_template: Option<String>,
    pub days_apart: Option<f64>,
    /// One was cloned from the other: related, but a separate bug.
    pub clone: bool,
}

impl Similarity {
    /// The reasons in words, strongest first.
    pub fn reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.same_stack {
            reasons.push("same stack trace".to_string());
        } else if !self.shared_frames.is_empty() {
            reasons.push(format!("{} shared frames ({})", self.shared_frames.len(), self.shared_frames[0]));
        }
        if let Some(template) = &self.shared_template {
            reasons.push(format!("same error: {template}"));
        }
        reasons.push(format!("text {:.2}, title {:.2}", self.text, self.title));
        if let Some(days) = self.days_apart {
            reasons.push(format!("filed {days:.0} days apart"));
        }
        if self.clone {
            reasons.push("a clone of the other (a separate bug)".to_string());
        }
        reasons
    }
}

/// Compares two indexed reports.
pub fn compare(a: &Indexed<'_>, b: &Indexed<'_>) -> Similarity {
    let text = cosine(&a.all, &b.all);
    let title = cosine(&a.title, &b.title);
    let shared_frames: Vec<String> =
        a.features.frames.iter().filter(|frame| b.features.frames.contains(frame)).cloned().collect();
    let same_stack = a.features.stack.is_some() && a.features.stack == b.features.stack;
    let shared_template = a.features.templates.iter().find(|template| b.features.templates.contains(template)).cloned();
    let mut score = text + TITLE_WEIGHT * title;
    if same_stack {
        score += STACK_WEIGHT;
    } else if !shared_frames.is_empty() {
        let share = shared_frames.len() as f64 / a.features.frames.len().max(b.features.frames.len()) as f64;
        score += 0.5 * STACK_WEIGHT * share;
    }
    if shared_template.is_some() {
        score += TEMPLATE_WEIGHT;
    }
    let days_apart = match (a.features.created_ms, b.features.created_ms) {
        (Some(x), Some(y)) => Some((x - y).abs() as f64 / DAY_MS),
        _ => None,
    };
    if let Some(days) = days_apart {
        score *= 1.0 + (-days / TIME_SCALE_DAYS).exp();
    }
    let clone = a.features.cloned_from.as_deref() == Some(b.features.id.as_str())
        || b.features.cloned_from.as_deref() == Some(a.features.id.as_str());
    if clone {
        score *= CLONE_FACTOR;
    }
    Similarity { score, text, title, shared_frames, same_stack, shared_template, days_apart, clone }
}

/// The `limit` reports most like `target` among `candidates` (itself excluded), best first.
pub fn rank<'a>(
    target: &Indexed<'_>,
    candidates: &'a [Indexed<'a>],
    limit: usize,
) -> Vec<(&'a ReportFeatures, Similarity)> {
    let mut scored: Vec<(&ReportFeatures, Similarity)> = candidates
        .iter()
        .filter(|candidate| candidate.features.id != target.features.id)
        .map(|candidate| (candidate.features, compare(target, candidate)))
        .collect();
    scored.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then_with(|| a.0.id.cmp(&b.0.id)));
    scored.truncate(limit);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str, title: &str, body: &str) -> ReportFeatures {
        ReportFeatures::new(id, title, body, None, None, None)
    }

    /// The others ranked against the first report: (id, similarity), best first.
    fn ranked_against_first(reports: &[ReportFeatures]) -> Vec<(String, Similarity)> {
        let mut corpus = Corpus::default();
        reports.iter().for_each(|r| corpus.add(r));
        let indexed: Vec<Indexed> = reports.iter().map(|r| Indexed::new(&corpus, r)).collect();
        rank(&indexed[0], &indexed, 3).into_iter().map(|(found, similarity)| (found.id.clone(), similarity)).collect()
    }

    #[test]
    fn the_duplicate_ranks_first_and_says_why() {
        let reports = [
            report(
                "1",
                "Crash when saving a draft",
                "NullPointerException\n at a.Draft.save(Draft.java:3)\n at a.Ui.click(Ui.java:9)",
            ),
            report(
                "2",
                "Saving drafts crashes",
                "java.lang.NullPointerException\n at a.Draft.save(Draft.java:5)\n at a.Ui.click(Ui.java:11)",
            ),
            report("3", "Dark mode colors are wrong", "the sidebar is white in dark mode"),
            report("4", "Feature request: export to PDF", "please add an export"),
        ];
        let ranked = ranked_against_first(&reports);
        assert_eq!(ranked[0].0, "2");
        assert!(ranked[0].1.same_stack);
        assert!(ranked[0].1.reasons()[0].contains("same stack trace"));
        assert!(ranked[0].1.score > ranked[1].1.score);
    }

    #[test]
    fn a_clone_ranks_below_a_duplicate_with_the_same_text() {
        let reports = [
            report("10", "Dead links in prefs help", "the Link Prefetching FAQ link is dead"),
            report(
                "11",
                "Dead links in prefs help [de]",
                "+++ This bug was initially created as a clone of Bug #10 +++\nthe Link Prefetching FAQ link is dead",
            ),
            report("12", "Prefs help: dead links", "the Link Prefetching FAQ link is dead"),
            report("13", "Mail search is slow", "searching a large folder takes a minute"),
        ];
        let ranked = ranked_against_first(&reports);
        assert_eq!(ranked[0].0, "12", "{ranked:?}");
        assert_eq!(ranked[1].0, "11");
        assert!(ranked[1].1.clone && ranked[1].1.reasons().iter().any(|r| r.contains("clone")));
    }
}
