//! Which group a new report joins, and why: the rules that turn pairwise similarities
//! ([`crate::similarity`]) into groups.
//!
//! In: a new report's similarity with the members of each group it may join (every group with
//! a member the candidate index offers). Out: each group's [`Admission`], which says whether the
//! report may join it and why, and the [`Decision`] they add up to: found a new group, join
//! one, or merge several.
//!
//! The rules, by name:
//! - **words, not time**: a member counts as linked only when what the two reports say alone
//!   (the score before the time prior, [`Similarity::evidence`]) reaches `min_evidence`. The
//!   time prior (filed the same day doubles a score) may rank links, never make one.
//! - **titles name the same thing**: a member counts as linked only when the titles agree
//!   (cosine at least `min_title`) and share a distinctive term
//!   ([`crate::similarity::Corpus::is_distinctive`]: one few reports have), or when the stack
//!   traces or error messages agree. A tracker's form text shared by a burst of reports, or an
//!   effect every other report names ("… returns errors"), does not say two reports are about
//!   the same thing; the subject does.
//! - **the group as a whole** (average link): a report joins a group only when its mean score
//!   over the group's members, unlinked members counting zero, reaches `threshold`. Joining at
//!   the best member alone (single link) chains: A~B and B~C put A and C together even when
//!   they share nothing. Here C, like B but not A, needs twice the threshold with B to join.
//! - **merge on strong ground**: a report admitted by two groups or more, each at
//!   `merge_threshold` or more, merges them (a merge moves whole groups); otherwise it joins
//!   the group that admits it best.

use crate::similarity::Similarity;

/// The settings of the rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// The mean score over a group's members a report needs to join it.
    pub threshold: f64,
    /// The score before the time prior a member needs to count as linked.
    pub min_evidence: f64,
    /// The title cosine a member needs to count as linked (with a distinctive title term
    /// shared), unless stack traces or error messages agree.
    pub min_title: f64,
    /// The mean score a report needs with each of two groups to merge them.
    pub merge_threshold: f64,
}

/// A report's similarity with one member of a group.
#[derive(Debug, Clone)]
pub struct MemberLink {
    pub member: String,
    pub similarity: Similarity,
}

/// Whether a group admits a new report, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    pub group: String,
    /// The mean link score over the members compared, unlinked members counting zero.
    pub mean: f64,
    /// The member with the best link, and its score (0 when none is linked).
    pub best: Option<(String, f64)>,
    /// Members linked, of those compared.
    pub linked: usize,
    pub compared: usize,
    pub admitted: bool,
}

impl Admission {
    /// Why the group admits or refuses the report, in words.
    pub fn reason(&self) -> String {
        let verdict = if self.admitted { "admitted" } else { "refused" };
        match &self.best {
            Some((member, score)) => format!(
                "{verdict}: linked to {} of {} members, mean {:.2}, best {member} {score:.2}",
                self.linked, self.compared, self.mean
            ),
            None => format!("{verdict}: linked to none of {} members", self.compared),
        }
    }
}

/// What a new report does.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// No group admits it: it founds its own.
    Found,
    /// It joins the group that admits it best.
    Join(Admission),
    /// Two groups or more admit it strongly: they merge (the caller picks the survivor).
    Merge(Vec<Admission>),
}

impl Default for Rules {
    /// The plugin's defaults ([`crate::DEFAULT_THRESHOLD`] and the others).
    fn default() -> Self {
        Self {
            threshold: crate::DEFAULT_THRESHOLD,
            min_evidence: crate::DEFAULT_MIN_EVIDENCE,
            min_title: crate::DEFAULT_MIN_TITLE,
            merge_threshold: crate::DEFAULT_MERGE_THRESHOLD,
        }
    }
}

impl Rules {
    /// The score a member's link counts with: zero unless its evidence alone reaches
    /// `min_evidence` (words, not time) and the titles name the same thing or the stack traces
    /// or errors agree.
    pub fn link_score(&self, similarity: &Similarity) -> f64 {
        let technical = similarity.same_stack || similarity.shared_template.is_some();
        let titles_agree = similarity.title >= self.min_title && similarity.distinctive_title_shared > 0;
        let linked = similarity.evidence >= self.min_evidence && (titles_agree || technical);
        if linked { similarity.score } else { 0.0 }
    }

    /// Whether `group` admits the report linked to its members by `links` (the group as a whole).
    pub fn admission(&self, group: &str, links: &[MemberLink]) -> Admission {
        let scores: Vec<f64> = links.iter().map(|link| self.link_score(&link.similarity)).collect();
        let mean = if links.is_empty() { 0.0 } else { scores.iter().sum::<f64>() / links.len() as f64 };
        let best = links
            .iter()
            .zip(&scores)
            .filter(|(_, score)| **score > 0.0)
            .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.member.cmp(&a.0.member)))
            .map(|(link, score)| (link.member.clone(), *score));
        Admission {
            group: group.to_string(),
            mean,
            best,
            linked: scores.iter().filter(|score| **score > 0.0).count(),
            compared: links.len(),
            admitted: mean >= self.threshold,
        }
    }

    /// What a report does given the admission of each group it may join.
    pub fn decide(&self, admissions: Vec<Admission>) -> Decision {
        let mut admitted: Vec<Admission> = admissions.into_iter().filter(|a| a.admitted).collect();
        admitted.sort_by(|a, b| b.mean.total_cmp(&a.mean).then_with(|| a.group.cmp(&b.group)));
        let strong = admitted.iter().filter(|a| a.mean >= self.merge_threshold).count();
        match (admitted.len(), strong) {
            (0, _) => Decision::Found,
            (_, 0 | 1) => Decision::Join(admitted.swap_remove(0)),
            _ => Decision::Merge(admitted.into_iter().filter(|a| a.mean >= self.merge_threshold).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules { threshold: 0.7, min_evidence: 0.45, min_title: 0.2, merge_threshold: 2.0 };

    /// A link whose titles agree, with `evidence` before a time prior of `factor`.
    fn link(member: &str, evidence: f64, factor: f64) -> MemberLink {
        MemberLink {
            member: member.into(),
            similarity: Similarity {
                score: evidence * factor,
                evidence,
                text: evidence / 2.0,
                title: 0.5,
                distinctive_title_shared: 1,
                shared_frames: Vec::new(),
                same_stack: false,
                shared_template: None,
                days_apart: Some(0.0),
                clone: false,
            },
        }
    }

    #[test]
    fn a_chain_does_not_join_a_report_to_a_member_it_shares_nothing_with() {
        // C is like B (1.0, above the threshold) and shares nothing with A, B's group mate.
        let admission = RULES.admission("g", &[link("A", 0.0, 2.0), link("B", 0.5, 2.0)]);
        assert!(!admission.admitted, "{}", admission.reason());
        assert_eq!((admission.linked, admission.compared), (1, 2));
        assert_eq!(RULES.decide(vec![admission]), Decision::Found);
        // Like both, it joins.
        let admission = RULES.admission("g", &[link("A", 0.5, 2.0), link("B", 0.5, 2.0)]);
        assert!(admission.admitted, "{}", admission.reason());
    }

    #[test]
    fn the_time_prior_alone_makes_no_link() {
        // Filed the same moment, 0.4 of evidence doubles to 0.8, above the threshold.
        let admission = RULES.admission("g", &[link("A", 0.4, 2.0)]);
        assert!(!admission.admitted && admission.best.is_none(), "{}", admission.reason());
        assert!(RULES.admission("g", &[link("A", 0.5, 2.0)]).admitted);
    }

    #[test]
    fn titles_that_share_no_distinctive_term_make_no_link() {
        let mut generic = link("A", 0.6, 2.0);
        generic.similarity.distinctive_title_shared = 0;
        assert!(!RULES.admission("g", &[generic.clone()]).admitted);
        generic.similarity.shared_template = Some("Timeout after <*> ms".into());
        assert!(RULES.admission("g", &[generic]).admitted, "a shared error message is ground enough");
    }

    #[test]
    fn two_groups_admitting_strongly_merge_and_one_joins_otherwise() {
        let strong = |group: &str| RULES.admission(group, &[link("x", 1.2, 2.0)]);
        let weak = |group: &str| RULES.admission(group, &[link("y", 0.5, 2.0)]);
        assert!(matches!(RULES.decide(vec![strong("g1"), strong("g2")]), Decision::Merge(groups) if groups.len() == 2));
        assert!(matches!(RULES.decide(vec![weak("g1"), strong("g2")]), Decision::Join(a) if a.group == "g2"));
    }
}
