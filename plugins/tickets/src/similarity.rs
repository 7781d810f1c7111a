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
/// The most the time prior multiplies a score by: reports filed at the same moment.
const MAX_TIME_FACTOR: f64 = 2.0;
/// Reports filed further apart than this get at most `1 + exp(-3)` ≈ 1.05 from the time prior,
/// so a candidate that far needs nearly all of its score from its words.
const NEAR_DAYS: f64 = 3.0 * TIME_SCALE_DAYS;
const DAY_MS: f64 = 86_400_000.0;
/// The most reports a term can be in and still count as distinctive in a small tracker.
const MIN_GENERIC_FREQUENCY: f64 = 3.0;
/// A clone shares its source's text by construction; it is a separate bug, so its score is
/// scaled down below that of any real duplicate with the same text.
const CLONE_FACTOR: f64 = 0.25;

/// The time prior: how much more alike two reports filed `days` apart are taken to be.
fn time_factor(days: f64) -> f64 {
    1.0 + (-days / TIME_SCALE_DAYS).exp()
}

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

/// A unit-length TF-IDF vector: (term key, weight), ordered by key, so that a cosine is one
/// merge of two sorted lists rather than a hash lookup per term.
pub type TermVector = Vec<(u64, f64)>;

/// The key of a term in a [`TermVector`].
fn term_key(term: &str) -> u64 {
    opsloop_sdk::stable_hash(term)
}

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

    /// Whether `term` names something rather than says what many reports say: fewer reports
    /// have it than the square root of their number (its IDF is at least half the largest there
    /// is). "crash", "error" or "load" are in many reports of a tracker; the component or page
    /// that crashes is in few. A term of 3 reports or fewer is distinctive however small the
    /// tracker: a tracker of a dozen reports cannot yet tell an everyday word from a subject.
    pub fn is_distinctive(&self, term: &str) -> bool {
        let frequency = self.frequencies.get(term).copied().unwrap_or(0) as f64;
        frequency <= MIN_GENERIC_FREQUENCY.max((self.documents as f64 + 1.0).sqrt() - 1.0)
    }

    /// Sublinear TF times smoothed IDF, normalized.
    pub fn vector(&self, terms: &[(String, u32)]) -> TermVector {
        let documents = self.documents as f64;
        let mut vector: TermVector = terms
            .iter()
            .map(|(term, count)| {
                let frequency = self.frequencies.get(term).copied().unwrap_or(0) as f64;
                let weight = (1.0 + f64::from(*count).ln()) * ((documents + 1.0) / (frequency + 1.0)).ln();
                (term_key(term), weight)
            })
            .collect();
        vector.sort_unstable_by_key(|&(key, _)| key);
        let norm = vector.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
        if norm > 0.0 {
            vector.iter_mut().for_each(|(_, w)| *w /= norm);
        }
        vector
    }
}

fn cosine(a: &TermVector, b: &TermVector) -> f64 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

/// A report ready to be compared: its features and vectors under one corpus.
#[derive(Debug, Clone)]
pub struct Indexed<'a> {
    pub features: &'a ReportFeatures,
    all: TermVector,
    title: TermVector,
    /// Keys of the title's distinctive terms ([`Corpus::is_distinctive`]), ascending.
    distinctive_title: Vec<u64>,
}

impl<'a> Indexed<'a> {
    /// Keys of the title's distinctive terms, ascending: two reports whose titles share none
    /// can be linked only by their stack traces or error messages ([`crate::grouping`]).
    pub fn distinctive_title_keys(&self) -> &[u64] {
        &self.distinctive_title
    }

    pub fn new(corpus: &Corpus, features: &'a ReportFeatures) -> Self {
        let mut distinctive_title: Vec<u64> = features
            .title_terms
            .iter()
            .filter(|(term, _)| corpus.is_distinctive(term))
            .map(|(term, _)| term_key(term))
            .collect();
        distinctive_title.sort_unstable();
        Self {
            features,
            all: corpus.vector(&features.terms),
            title: corpus.vector(&features.title_terms),
            distinctive_title,
        }
    }
}

/// An inverted index over reports ready to be compared, to find the few a new report may be
/// linked to without comparing it with all of them (comparing each new report with every one
/// before it is quadratic in a tracker's size). Both questions are exact: a report left out
/// could not be the answer.
///
/// Grouping asks [`CandidateIndex::groupable`]: the reports whose title shares a distinctive
/// term with the new one, or a frame or an error template. [`CandidateIndex::candidates`]
/// answers which reports may reach a score, whatever their titles: each term keeps the largest
/// weight it has in any indexed report, so a term the query does not look up adds at most its
/// own weight times that to a cosine. The query looks up its terms in the order of that bound,
/// until what the others could add together is below the score (prefix filtering, as in
/// Bayardo et al., "Scaling up all pairs similarity search", 2007). A term most reports share
/// has a small weight everywhere, so it is seldom looked up. Shared stack frames and error
/// templates are looked up always (the stack fingerprint is made of frames).
#[derive(Debug, Default)]
pub struct CandidateIndex {
    /// Reports by term key, frame key and template key.
    postings: HashMap<u64, Vec<usize>>,
    /// Reports by the key of a term of their title.
    title_postings: HashMap<u64, Vec<usize>>,
    /// Largest weight of each term in the indexed reports' text and title vectors.
    heaviest_text: HashMap<u64, f64>,
    heaviest_title: HashMap<u64, f64>,
    /// When each indexed report was filed, by position.
    filed: Vec<Option<i64>>,
}

/// Keys of frames and templates are made from text that starts with a byte no term has.
fn frame_key(frame: &str) -> u64 {
    term_key(&format!("\u{0}frame {frame}"))
}

fn template_key(template: &str) -> u64 {
    term_key(&format!("\u{0}error {template}"))
}

fn raise(heaviest: &mut HashMap<u64, f64>, vector: &TermVector) {
    for &(key, weight) in vector {
        let known = heaviest.entry(key).or_default();
        *known = known.max(weight);
    }
}

/// The terms of `query` in the order they are looked up, each with the most it can add to the
/// score with an indexed report before the time prior: its weight times the largest it has in
/// an indexed report, in the text cosine plus (times the title weight) in the title cosine.
fn lookup_order(query: &Indexed<'_>, index: &CandidateIndex) -> Vec<(u64, f64)> {
    let heaviest = |map: &HashMap<u64, f64>, key: u64| map.get(&key).copied().unwrap_or(0.0);
    let mut bounds: Vec<(u64, f64)> =
        query.all.iter().map(|&(key, weight)| (key, weight * heaviest(&index.heaviest_text, key))).collect();
    for &(key, weight) in &query.title {
        // Title terms are text terms too, so each is already in `bounds`.
        let added = TITLE_WEIGHT * weight * heaviest(&index.heaviest_title, key);
        match bounds.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(at) => bounds[at].1 += added,
            Err(at) => bounds.insert(at, (key, added)),
        }
    }
    bounds.retain(|(_, bound)| *bound > 0.0);
    bounds.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    bounds
}

/// How many of `order` to look up so that those left out add less than `budget`.
fn lookups_needed(order: &[(u64, f64)], budget: f64) -> usize {
    let mut left: f64 = order.iter().map(|(_, bound)| bound).sum();
    let mut needed = 0;
    for (_, bound) in order {
        if left < budget {
            break;
        }
        needed += 1;
        left -= bound;
    }
    needed
}

impl CandidateIndex {
    /// Indexes the report at `position` by its terms, stack frames and error templates.
    pub fn add(&mut self, position: usize, report: &Indexed<'_>) {
        raise(&mut self.heaviest_text, &report.all);
        raise(&mut self.heaviest_title, &report.title);
        if self.filed.len() <= position {
            self.filed.resize(position + 1, None);
        }
        self.filed[position] = report.features.created_ms;
        let frames = report.features.frames.iter().map(|frame| frame_key(frame));
        let templates = report.features.templates.iter().map(|template| template_key(template));
        for &(key, _) in &report.title {
            let positions = self.title_postings.entry(key).or_default();
            if positions.last() != Some(&position) {
                positions.push(position);
            }
        }
        for key in report.all.iter().map(|&(key, _)| key).chain(frames).chain(templates) {
            let positions = self.postings.entry(key).or_default();
            if positions.last() != Some(&position) {
                positions.push(position);
            }
        }
    }

    /// Positions of the indexed reports the grouping rules may link to `query`, ascending: those
    /// whose title has one of the query title's distinctive terms, or that share a stack frame or
    /// an error template with it. Every other report is refused by the rule "titles name the same
    /// thing" ([`crate::grouping`]), however it scores. A distinctive term is in few reports, so
    /// each lookup finds few.
    pub fn groupable(&self, query: &Indexed<'_>) -> Vec<usize> {
        let titles = query.distinctive_title.iter().filter_map(|key| self.title_postings.get(key));
        let frames = query.features.frames.iter().filter_map(|frame| self.postings.get(&frame_key(frame)));
        let templates =
            query.features.templates.iter().filter_map(|template| self.postings.get(&template_key(template)));
        let mut found: Vec<usize> = titles.chain(frames).chain(templates).flatten().copied().collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Positions of the indexed reports that may score `min_score` or more with `query`,
    /// ascending; every report left out scores less.
    ///
    /// A report filed within [`NEAR_DAYS`] may have its score doubled by the time prior, so its
    /// words need to bring only half of `min_score`: more of the query's terms are looked up
    /// for it. Any other report needs nearly all of it, which only fewer, rarer terms can miss.
    pub fn candidates(&self, query: &Indexed<'_>, min_score: f64) -> Vec<usize> {
        let order = lookup_order(query, self);
        let for_any = lookups_needed(&order, min_score / time_factor(NEAR_DAYS));
        let for_near = lookups_needed(&order, min_score / MAX_TIME_FACTOR).max(for_any);
        let any_keys = order[..for_any]
            .iter()
            .map(|&(key, _)| key)
            .chain(query.features.frames.iter().map(|frame| frame_key(frame)))
            .chain(query.features.templates.iter().map(|template| template_key(template)));
        let mut found: Vec<usize> = any_keys.filter_map(|key| self.postings.get(&key)).flatten().copied().collect();
        let is_near = |position: usize| match (query.features.created_ms, self.filed[position]) {
            (Some(a), Some(b)) => (a - b).abs() as f64 / DAY_MS <= NEAR_DAYS,
            _ => false,
        };
        for (key, _) in &order[for_any..for_near] {
            let positions = self.postings.get(key).into_iter().flatten().copied();
            found.extend(positions.filter(|&position| is_near(position)));
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}

/// How alike two reports are, with the parts that explain it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Similarity {
    pub score: f64,
    /// The score before the time prior: what the reports' words, frames and errors say alone.
    pub evidence: f64,
    /// Cosine of title and body.
    pub text: f64,
    /// Cosine of the titles alone.
    pub title: f64,
    /// Distinctive terms ([`Corpus::is_distinctive`]) the titles share.
    pub distinctive_title_shared: usize,
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
    let distinctive_title_shared =
        a.distinctive_title.iter().filter(|key| b.distinctive_title.binary_search(key).is_ok()).count();
    let shared_frames: Vec<String> =
        a.features.frames.iter().filter(|frame| b.features.frames.contains(frame)).cloned().collect();
    let same_stack = a.features.stack.is_some() && a.features.stack == b.features.stack;
    let shared_template = a.features.templates.iter().find(|template| b.features.templates.contains(template)).cloned();
    let mut evidence = text + TITLE_WEIGHT * title;
    if same_stack {
        evidence += STACK_WEIGHT;
    } else if !shared_frames.is_empty() {
        let share = shared_frames.len() as f64 / a.features.frames.len().max(b.features.frames.len()) as f64;
        evidence += 0.5 * STACK_WEIGHT * share;
    }
    if shared_template.is_some() {
        evidence += TEMPLATE_WEIGHT;
    }
    let clone = a.features.cloned_from.as_deref() == Some(b.features.id.as_str())
        || b.features.cloned_from.as_deref() == Some(a.features.id.as_str());
    if clone {
        evidence *= CLONE_FACTOR;
    }
    let days_apart = match (a.features.created_ms, b.features.created_ms) {
        (Some(x), Some(y)) => Some((x - y).abs() as f64 / DAY_MS),
        _ => None,
    };
    let score = evidence * days_apart.map_or(1.0, time_factor);
    Similarity {
        score,
        evidence,
        text,
        title,
        distinctive_title_shared,
        shared_frames,
        same_stack,
        shared_template,
        days_apart,
        clone,
    }
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

    /// Reports made of words drawn from a skewed vocabulary (a few words in most reports, most
    /// words in few), some with stack traces, filed over three years.
    fn generated_reports(count: usize) -> Vec<ReportFeatures> {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |below: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % below
        };
        let word = |next: &mut dyn FnMut(u64) -> u64| {
            // Log-uniform word numbers, as in text (Zipf): a few words are in most reports,
            // most words are in few.
            let draw = 3000f64.powf(next(1_000_000) as f64 / 1e6) as u64;
            format!("word{draw}")
        };
        (0..count)
            .map(|i| {
                let title: Vec<String> = (0..1 + next(6)).map(|_| word(&mut next)).collect();
                let body: Vec<String> = (0..next(40)).map(|_| word(&mut next)).collect();
                let trace = (next(5) == 0)
                    .then(|| format!("Error: boom\n at a.B.f{}(B.java:1)\n at a.C.g{}(C.java:2)", next(4), next(4)));
                let created = (next(3 * 365 * 24) * 3_600_000) as i64;
                ReportFeatures::new(
                    &i.to_string(),
                    &title.join(" "),
                    &body.join(" "),
                    trace.as_deref(),
                    Some(created),
                    None,
                )
            })
            .collect()
    }

    #[test]
    fn the_candidate_index_leaves_out_only_reports_below_the_score() {
        let reports = generated_reports(400);
        let mut corpus = Corpus::default();
        reports.iter().for_each(|r| corpus.add(r));
        let indexed: Vec<Indexed> = reports.iter().map(|r| Indexed::new(&corpus, r)).collect();
        let mut index = CandidateIndex::default();
        indexed.iter().enumerate().for_each(|(position, report)| index.add(position, report));
        for min_score in [0.3, 1.0, 2.0] {
            let (mut offered, mut reaching) = (0, 0);
            for query in &indexed {
                let candidates = index.candidates(query, min_score);
                offered += candidates.len();
                for (position, other) in indexed.iter().enumerate() {
                    if compare(query, other).score >= min_score {
                        reaching += 1;
                        assert!(
                            candidates.binary_search(&position).is_ok(),
                            "{} left out at {min_score}",
                            other.features.id
                        );
                    }
                }
            }
            assert!(reaching > indexed.len(), "some pairs reach {min_score}, not only each report with itself");
            // At the default threshold the index offers far fewer than all pairs.
            if min_score >= crate::DEFAULT_THRESHOLD {
                let all = indexed.len() * indexed.len();
                assert!(offered < all / 3, "{offered} of {all} pairs offered at {min_score}");
            }
        }
        // Grouping's question: every pair its rules may link is offered.
        let rules = crate::grouping::Rules {
            threshold: crate::DEFAULT_THRESHOLD,
            min_evidence: crate::DEFAULT_MIN_EVIDENCE,
            min_title: crate::DEFAULT_MIN_TITLE,
            merge_threshold: crate::DEFAULT_MERGE_THRESHOLD,
        };
        let (mut offered, mut linked) = (0, 0);
        for query in &indexed {
            let groupable = index.groupable(query);
            offered += groupable.len();
            for (position, other) in indexed.iter().enumerate() {
                if rules.link_score(&compare(query, other)) > 0.0 {
                    linked += 1;
                    assert!(groupable.binary_search(&position).is_ok(), "{} left out", other.features.id);
                }
            }
        }
        assert!(linked > indexed.len(), "some pairs link, not only each report with itself");
        assert!(offered < indexed.len() * indexed.len() / 3, "{offered} pairs offered");
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
