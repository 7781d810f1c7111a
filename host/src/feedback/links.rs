//! The judgement behind every report↔log link on the feedback board: whether a bug report
//! really contains an instance of a log pattern. Reports and pattern templates flow in; links
//! flow out, each with the rule that made it, its strength and the text it matched, in words.
//!
//! Precision comes first, so a link needs the report to hold the pattern's own text:
//! - [`LinkRule::QuotedMessage`]: a line of the report holds the template's constant words in
//!   order, its variables (`<*>`) standing for any few words, covering at least
//!   [`MIN_COVERAGE`] of the template's weight when the quote shows a value, and
//!   [`MIN_COVERAGE_WITHOUT_A_VALUE`] when it holds constant words only (and then it must reach
//!   the template's end or be marked as cut with an ellipsis: `"Putting shuffle token"` in a
//!   wording complaint names the words, not a logged line); or a fragment the
//!   reporter marked as cut (`"...fail id = 42,type = 7..."`) that the template accounts for
//!   whole, from ellipsis to ellipsis, with a value in it ([`is_cut_fragment`]);
//! - [`LinkRule::Exception`]: the report names the template's exception type followed by the
//!   rest of the template (the same exception with the same message);
//! - [`LinkRule::StackFrames`]: the report's stack trace and the pattern's example share
//!   [`MIN_SHARED_FRAMES`] normalized top frames.
//!
//! Not every word is evidence: a word's weight falls with the share of reports and of patterns
//! that hold it ([`WordWeights`]), so `error`, `failed` or a product name shared by many count
//! for little and a generic template cannot link on them. The matched words must weigh
//! [`LINK_STRENGTH`]. Two things may lower that bar to [`CORROBORATED_STRENGTH`], never create
//! a link on their own: the report was filed during an anomaly episode of the pattern, or the
//! report's component names the pattern's log source.
//!
//! One quoted line is one message: of templates that account for a quote's words alike, the
//! one that ends where the quote does is named; else the one its group's other reports quote
//! ([`choose_by_group`]); else the one whose anomaly the report was filed nearest; else none.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::index::{HOUR_MS, PatternStats};
use crate::ingest::BugReport;

/// The matched words' weight a link needs from text alone (about three words that few
/// reports and few patterns share).
pub const LINK_STRENGTH: f64 = 3.0;

/// The weight a link needs when time or component corroborate it.
pub const CORROBORATED_STRENGTH: f64 = 2.0;

/// The share of a template's word weight a quote must cover.
pub const MIN_COVERAGE: f64 = 0.67;

/// The share a quote that shows none of the template's values must cover: users paste a
/// message cut short (`"...Failed to create backup log cab. [HRESULT =..."`), and its constant
/// text, nearly all of it in order, names the message; a fragment of it does not.
pub const MIN_COVERAGE_WITHOUT_A_VALUE: f64 = 0.8;

/// Normalized stack frames a report and a log example must share, top first.
pub const MIN_SHARED_FRAMES: usize = 3;

/// How many report words a template variable may stand for.
const MAX_VARIABLE_WORDS: usize = 5;

/// A report's lines longer than this many words are read only up to it.
const MAX_LINE_WORDS: usize = 400;

/// How long after an anomaly episode ends a report filed about it still counts as filed
/// during it: users report what broke within a day or two.
const EPISODE_REPORT_LAG_MS: i64 = 48 * HOUR_MS;

/// How long before an episode's first finding its reports may come (clocks and burst starts
/// are not exact).
const EPISODE_REPORT_LEAD_MS: i64 = HOUR_MS;

/// Which rule made a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinkRule {
    QuotedMessage,
    Exception,
    StackFrames,
}

impl LinkRule {
    /// The rule's name, as shown with the link.
    pub fn name(self) -> &'static str {
        match self {
            LinkRule::QuotedMessage => "quoted-message",
            LinkRule::Exception => "exception",
            LinkRule::StackFrames => "stack-frames",
        }
    }
}

/// What makes a weak text match enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corroboration {
    /// The report was filed during an anomaly episode of the pattern, or near one: `offset_ms`
    /// before it began (negative), 0 during it, or after it ended (positive).
    FiledNearEpisode { offset_ms: i64 },
    /// The report's component names the pattern's log source.
    Component(String),
}

/// One report↔pattern link and why it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub report: String,
    pub pattern: String,
    pub rule: LinkRule,
    /// The matched words' weight (frames count one each for [`LinkRule::StackFrames`]).
    pub strength: f64,
    /// The report's text that matched.
    pub matched: String,
    pub corroboration: Option<Corroboration>,
    /// The links of other patterns whose templates account for the quoted words alike (the
    /// same words from the same start, neither ending where the quote does): empty when one
    /// template fits them best.
    pub alike: Vec<Link>,
    /// Of the templates that fit alike, the report's time told none apart: the link stands
    /// only when the report's group names one of them ([`choose_by_group`]).
    pub undecided: bool,
    /// Chosen among templates that fit alike because the other reports of its group quote it.
    pub chosen_by_group: bool,
}

impl Link {
    /// The link in words, with the matched text.
    pub fn reason(&self, template: &str) -> String {
        let what = match self.rule {
            LinkRule::QuotedMessage => format!("report {} quotes the log message `{template}`", self.report),
            LinkRule::Exception => {
                format!("report {} names the same exception and message as the log template `{template}`", self.report)
            }
            LinkRule::StackFrames => {
                format!("report {} has the stack frames of the log pattern `{template}`", self.report)
            }
        };
        let also = match &self.corroboration {
            None => String::new(),
            Some(Corroboration::FiledNearEpisode { offset_ms }) => match *offset_ms {
                0 => "; filed during the pattern's anomaly".to_string(),
                after if after > 0 => format!("; filed {} after the pattern's anomaly ended", span_words(after)),
                before => format!("; filed {} before the pattern's anomaly began", span_words(-before)),
            },
            Some(Corroboration::Component(component)) => format!("; its component `{component}` logs this pattern"),
        };
        let also = if self.chosen_by_group {
            format!("{also}; its words fit another log message alike, and its group's other reports quote this one")
        } else {
            also
        };
        // A quote the reporter wrapped in quote marks is shown in them once.
        let matched = self.matched.trim_matches(|c: char| matches!(c, '"' | '\u{201c}' | '\u{201d}'));
        format!("{what}: \"{matched}\" ({}, weight {:.1}{also})", self.rule.name(), self.strength)
    }
}

/// A span of time in words, to the minute: `40 min`, `3 h 5 min`.
fn span_words(ms: i64) -> String {
    let minutes = ms / 60_000;
    match (minutes / 60, minutes % 60) {
        (0, minutes) => format!("{minutes} min"),
        (hours, 0) => format!("{hours} h"),
        (hours, minutes) => format!("{hours} h {minutes} min"),
    }
}

/// Lowercase word without surrounding punctuation; empty when nothing is left.
fn normalize(token: &str) -> String {
    token.trim_matches(|c: char| !c.is_alphanumeric() && c != '_' && c != '$').to_lowercase()
}

/// Whether a normalized word is content (has a letter and is not a one-letter word).
fn is_content(word: &str) -> bool {
    word.chars().any(char::is_alphabetic) && word.chars().count() >= 2
}

/// The content words of a text, each once: its words, and the names that frame values in it
/// (`com.apple.addres` of `com.apple.Addres(31229)` or of `com.apple.Addres(<*>)`).
fn content_words(text: &str) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    for token in text.split_whitespace() {
        if !token.contains("<*>") {
            words.insert(normalize(token));
        }
        if let Some(name) = framed_prefix(token).and_then(framing_name) {
            words.insert(name);
        }
    }
    words.retain(|w| is_content(w));
    words
}

/// How much a word is worth as evidence: low when many reports or many patterns hold it.
#[derive(Debug, Default)]
pub struct WordWeights {
    reports: usize,
    patterns: usize,
    in_reports: HashMap<String, usize>,
    in_patterns: HashMap<String, usize>,
}

/// How many documents a corpus is taken to hold besides its own, so a word of a tiny store is
/// not judged common only because the store is small.
const PRIOR_DOCUMENTS: f64 = 20.0;

fn specificity(holding: usize, documents: usize) -> f64 {
    let ratio = (documents as f64 + PRIOR_DOCUMENTS) / (holding as f64 + 1.0);
    (ratio.ln() / PRIOR_DOCUMENTS.ln()).clamp(0.0, 1.0)
}

impl WordWeights {
    pub fn new<'a>(report_texts: impl Iterator<Item = &'a str>, templates: impl Iterator<Item = &'a str>) -> Self {
        let mut weights = WordWeights::default();
        for text in report_texts {
            weights.reports += 1;
            for word in content_words(text) {
                *weights.in_reports.entry(word).or_default() += 1;
            }
        }
        for template in templates {
            weights.patterns += 1;
            for word in content_words(template) {
                *weights.in_patterns.entry(word).or_default() += 1;
            }
        }
        weights
    }

    /// In 0..=1: 1 for a word few reports and few patterns hold, 0 for one all of them hold.
    pub fn weight(&self, word: &str) -> f64 {
        let in_reports = self.in_reports.get(word).copied().unwrap_or(0);
        let in_patterns = self.in_patterns.get(word).copied().unwrap_or(0);
        specificity(in_reports, self.reports).min(specificity(in_patterns, self.patterns))
    }
}

/// One token of a template: literal pieces around its variables.
#[derive(Debug)]
struct TemplateToken {
    /// The token split at `<*>`, lowercased; one piece when it has no variable.
    pieces: Vec<String>,
    /// Its content word and weight when it is constant.
    word: Option<(String, f64)>,
    exception: bool,
}

impl TemplateToken {
    fn is_variable(&self) -> bool {
        self.pieces.len() > 1 && self.pieces.iter().all(String::is_empty)
    }

    /// Whether a report word (lowercased) is an instance of this token.
    fn matches(&self, token: &str) -> bool {
        if self.pieces.len() == 1 {
            let trimmed = trim_quoting(token);
            return token == self.pieces[0] || trimmed == trim_quoting(&self.pieces[0]) && !trimmed.is_empty();
        }
        let (first, last) = (&self.pieces[0], &self.pieces[self.pieces.len() - 1]);
        // Quote marks and the punctuation a sentence puts around a word are not the token's.
        let token = if token.starts_with(first.as_str()) && token.ends_with(last.as_str()) {
            token
        } else {
            without_opening_ellipsis(token).trim_end_matches(|c: char| "`'\"\u{201d},;".contains(c))
        };
        if !token.starts_with(first.as_str())
            || token.len() < first.len() + last.len()
            || !token.ends_with(last.as_str())
        {
            return false;
        }
        let mut rest = &token[first.len()..token.len() - last.len()];
        for piece in &self.pieces[1..self.pieces.len() - 1] {
            match rest.find(piece.as_str()) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

/// A word without the quote marks, brackets and punctuation a report may wrap it in.
fn trim_quoting(word: &str) -> &str {
    word.trim_matches(|c: char| "`'\"()[]{}<>,;.:".contains(c))
}

fn looks_like_exception(word: &str) -> bool {
    let last = word.rsplit('.').next().unwrap_or(word);
    (last.ends_with("exception") || last.ends_with("error")) && last.len() > "error".len()
}

/// A pattern prepared for matching.
#[derive(Debug)]
struct PreparedPattern {
    /// Where a quote may start: each constant content token's trimmed text → its positions.
    starts: HashMap<String, Vec<usize>>,
    tokens: Vec<TemplateToken>,
    /// The sum of the constant words' weights.
    total_weight: f64,
    /// Where the message proper starts, after an emitter prefix (`[thread] org.x.Class:` or
    /// `dfs.FSDataset:`), and the weight from there: a quote of the message without the
    /// logger that wrote it is measured against the message.
    body_start: usize,
    body_weight: f64,
    frames: Vec<String>,
}

fn prepare(stats: &PatternStats, weights: &WordWeights) -> PreparedPattern {
    let mut seen = BTreeSet::new();
    let tokens: Vec<TemplateToken> = stats
        .template
        .split_whitespace()
        .map(|raw| {
            let lower = raw.to_lowercase();
            let pieces: Vec<String> = lower.split("<*>").map(str::to_string).collect();
            // A token framing a value with a name (`com.apple.Addres(<*>)`, `deny(<*>)`) says
            // that name as a constant word does.
            let constant = if pieces.len() == 1 { Some(normalize(raw)) } else { framing_name(&pieces[0]) };
            let word = constant.filter(|w| is_content(w) && seen.insert(w.clone())).map(|w| {
                let weight = weights.weight(&w);
                (w, weight)
            });
            let exception = pieces.len() == 1 && looks_like_exception(&normalize(raw));
            TemplateToken { pieces, word, exception }
        })
        .collect();
    let total_weight = tokens.iter().filter_map(|t| t.word.as_ref()).map(|(_, w)| w).sum();
    let body_start = emitter_prefix_len(&stats.template);
    let body_weight =
        tokens[body_start.min(tokens.len())..].iter().filter_map(|t| t.word.as_ref()).map(|(_, w)| w).sum();
    let frames = stats
        .examples
        .iter()
        .map(|example| opsloop_plugin_tickets::fingerprint::frames(example))
        .max_by_key(Vec::len)
        .unwrap_or_default();
    let mut starts: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, token) in tokens.iter().enumerate() {
        if token.word.is_some() {
            let start = if token.pieces.len() == 1 { trim_quoting(&token.pieces[0]) } else { &token.pieces[0] };
            starts.entry(start.to_string()).or_default().push(index);
        }
    }
    PreparedPattern { starts, tokens, total_weight, body_start, body_weight, frames }
}

/// The name a token holding a value opens with, when it frames the value (`com.apple.addres(`,
/// `deny(`, `user=`): the piece before the first variable, ending in an opening bracket or `=`.
fn framing_name(first_piece: &str) -> Option<String> {
    let name = first_piece.strip_suffix(['(', '[', '='])?;
    (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || "._-:".contains(c))).then(|| normalize(name))
}

/// A report word's name with the bracket or `=` that frames its value (`deny(` of `"deny(1)`),
/// quote marks and an opening ellipsis left out: a quote may start on it.
fn framed_prefix(word: &str) -> Option<&str> {
    let opened = without_opening_ellipsis(word);
    opened.find(['(', '[', '=']).filter(|&at| at > 0).map(|at| &opened[..=at])
}

/// How many leading template tokens name who logged the message rather than say it: bracketed
/// tokens (`[RMCommunicator Allocator]`, `[IPC Server handler <*> on <*>]`) then a dotted or
/// `$` class name ending in a colon (`org.apache.hadoop.mapreduce.v2.app.rm.RMContainerAllocator:`,
/// `dfs.DataNode$PacketResponder:`), within the first eight tokens; 0 when there is none or
/// nothing follows it.
fn emitter_prefix_len(template: &str) -> usize {
    let tokens: Vec<&str> = template.split_whitespace().collect();
    let mut at = 0;
    while at < tokens.len().min(8) && tokens[at].starts_with('[') {
        while at < tokens.len() && !tokens[at].ends_with(']') {
            at += 1;
        }
        at += 1;
    }
    let Some(name) = tokens.get(at).and_then(|t| t.strip_suffix(':')) else { return 0 };
    let is_class_name = (name.contains('.') || name.contains('$'))
        && !name.contains("<*>")
        && name.chars().all(|c| c.is_alphanumeric() || "._$".contains(c));
    if is_class_name && at + 1 < tokens.len() && at < 8 { at + 1 } else { 0 }
}

/// Where a pattern was found in a report.
#[derive(Debug, Clone)]
struct Quote {
    rule: LinkRule,
    strength: f64,
    matched: String,
    /// The report line and the range of its words that matched (none for stack frames).
    place: Option<(usize, usize, usize)>,
    /// Template tokens matched: between two quotes of one place, the more specific wins.
    tokens: usize,
    /// The quote reaches the template's last token and the reporter marked no cut after it: of
    /// two templates that account for the words alike, it is the one that ends there.
    whole: bool,
}

/// The best quote of `pattern` in one line of report words. A quote that covers none of the
/// template's variables with a value needs more of its constant text
/// ([`MIN_COVERAGE_WITHOUT_A_VALUE`]) than one that does.
fn best_quote(pattern: &PreparedPattern, line_number: usize, words: &Words<'_>) -> Option<Quote> {
    let tokens = &pattern.tokens;
    let has_variables = tokens.iter().any(|t| t.pieces.len() > 1);
    let (raw, line) = (&words.raw, &words.lower);
    let mut best: Option<Quote> = None;
    for at in 0..line.len() {
        // A quote starts on a constant word of the template, or on a name that frames a value.
        let keys = [Some(trim_quoting(&line[at])), framed_prefix(&line[at])];
        for start in keys.into_iter().flatten().filter_map(|key| pattern.starts.get(key)).flatten().copied() {
            let (end, report_end, weight) = extend(tokens, start, line, at);
            let total = if start >= pattern.body_start { pattern.body_weight } else { pattern.total_weight };
            let coverage = if total > 0.0 { weight / total } else { 0.0 };
            // A value just before the first constant is the template's leading variable.
            let leading_value = start > 0 && tokens[start - 1].is_variable() && at > 0 && !closes_quote(&line[at - 1]);
            // A fragment the reporter opened with an ellipsis on a word that holds no content
            // word (`"...<<<< MediaValidator >>>> …`) starts at that word: the template's own
            // token before the first content word, cut.
            let opening_symbols = !leading_value
                && start > 0
                && at > 0
                && tokens[start - 1].word.is_none()
                && cut_at(&line[at - 1], true)
                && tokens[start - 1].matches(without_opening_ellipsis(&line[at - 1]));
            let from = if leading_value || opening_symbols { at - 1 } else { at };
            let covers_a_value = leading_value || tokens[start..end].iter().any(|t| t.pieces.len() > 1);
            let enough = if covers_a_value || !has_variables { MIN_COVERAGE } else { MIN_COVERAGE_WITHOUT_A_VALUE };
            // The message's text without a value, closed before its end: the reporter quotes
            // the words (a label, a docs phrase), not a line that was logged. A message that
            // has no values is logged whole, so the same holds for a part of it.
            if !covers_a_value && end < tokens.len() && !cut_before(line, report_end) {
                continue;
            }
            let cut = is_cut_fragment(tokens, line, end, (from, report_end));
            let whole = end == tokens.len() && cut.is_none() && !cut_before(line, report_end);
            let report_end = report_end + usize::from(cut.is_some_and(|fragment| fragment.closing_word_left));
            let fragment = coverage < enough && cut.is_some_and(|fragment| fragment.shows_a_value || covers_a_value);
            let rule = if coverage >= enough || fragment {
                LinkRule::QuotedMessage
            } else if tokens[start].exception && end == tokens.len() && end - start >= 3 {
                LinkRule::Exception
            } else {
                continue;
            };
            if best.as_ref().is_none_or(|quote| weight > quote.strength) {
                best = Some(Quote {
                    rule,
                    strength: weight,
                    matched: raw[from..report_end].join(" "),
                    place: Some((line_number, from, report_end)),
                    tokens: end - start,
                    whole,
                });
            }
        }
    }
    best
}

/// What a fragment cut at both ends by the reporter shows.
#[derive(Debug, Clone, Copy)]
struct CutFragment {
    /// The word with the closing ellipsis was not matched by [`extend`] (a value cut short).
    closing_word_left: bool,
    /// That word stands for one of the template's values.
    shows_a_value: bool,
}

/// Whether a report word carries an ellipsis at its start (`"...fail`) or end (`40003..."`).
fn cut_at(word: &str, start: bool) -> bool {
    let bare = word.trim_matches(|c: char| "`'\"()[]{}\u{201c}\u{201d},;:".contains(c));
    if start {
        bare.starts_with("...") || bare.starts_with('\u{2026}')
    } else {
        bare.ends_with("...") || bare.ends_with('\u{2026}')
    }
}

/// A report word without the quote marks and the ellipsis that open it (`"...<<<<` -> `<<<<`).
fn without_opening_ellipsis(word: &str) -> &str {
    let bare = word.trim_start_matches(|c: char| "`'\"([{\u{201c}".contains(c));
    bare.strip_prefix("...").or_else(|| bare.strip_prefix('\u{2026}')).unwrap_or(bare)
}

/// Whether a report word is an ellipsis alone (`...`, `"...`, `…`).
fn bare_ellipsis(word: &str) -> bool {
    matches!(word.trim_matches(|c: char| "`'\"()\u{201c}\u{201d}".contains(c)), "..." | "\u{2026}")
}

/// Whether the reporter marked the words before `to` as cut short: the last of them ends in an
/// ellipsis, or the next word does (a value cut short) or is one.
fn cut_before(line: &[String], to: usize) -> bool {
    to > 0 && cut_at(&line[to - 1], false) || line.get(to).is_some_and(|word| cut_at(word, false))
}

/// A quote (template tokens up to `end`, report words `from..to`) that is all of a fragment the
/// reporter cut at both ends: an ellipsis opens its first word (or stands before it) and closes
/// its last word, or the word right after it, which is then the start of the next template
/// token (a value cut short). Such a fragment is judged on what it shows, not on how much of
/// the template it covers: every word of it must be the template's, in order.
fn is_cut_fragment(
    template: &[TemplateToken],
    line: &[String],
    end: usize,
    (from, to): (usize, usize),
) -> Option<CutFragment> {
    let opens = cut_at(&line[from], true) || from > 0 && bare_ellipsis(&line[from - 1]);
    if !opens || to <= from {
        return None;
    }
    if cut_at(&line[to - 1], false) {
        let shows_a_value = template[..end].last().is_some_and(|t| t.pieces.len() > 1);
        return Some(CutFragment { closing_word_left: false, shows_a_value });
    }
    let (next_word, next_token) = (line.get(to)?, template.get(end)?);
    if !cut_at(next_word, false) {
        return None;
    }
    let bare = trim_quoting(next_word).trim_end_matches('\u{2026}');
    let first = trim_quoting(&next_token.pieces[0]);
    let begins = if first.is_empty() { !bare.is_empty() } else { bare.starts_with(first) || first.starts_with(bare) };
    begins.then_some(CutFragment { closing_word_left: true, shows_a_value: next_token.pieces.len() > 1 })
}

/// Matches template tokens from `start` against report words from `at` for as long as they
/// agree: (template end, report end, weight of the constant words matched).
fn extend(tokens: &[TemplateToken], start: usize, line: &[String], at: usize) -> (usize, usize, f64) {
    let (mut t, mut r, mut weight) = (start, at, 0.0);
    while t < tokens.len() && r < line.len() {
        let token = &tokens[t];
        // An ellipsis inside the quote stands for values left out (`getaddrinfo for ... failed`):
        // it may cover template tokens that hold no constant word, up to the next word it shows,
        // or nothing but punctuation (`for 412 seconds ... Will retry` for `seconds.  Will`).
        let next_shown = line.get(r + 1);
        let elides = token.word.is_none() || next_shown.is_some_and(|w| token.matches(w));
        if r > at && elides && bare_ellipsis(&line[r]) {
            let resumes = (t..tokens.len().min(t + MAX_VARIABLE_WORDS))
                .take_while(|&k| tokens[k].word.is_none() || next_shown.is_some_and(|w| tokens[k].matches(w)))
                .find(|&k| tokens[k].word.is_some() && next_shown.is_some_and(|w| tokens[k].matches(w)));
            if let Some(k) = resumes {
                t = k;
                r += 1;
                continue;
            }
        }
        if token.is_variable() {
            // A variable stands for 1..=MAX_VARIABLE_WORDS words: up to the next constant token.
            let Some(next) = tokens.get(t + 1) else {
                r += 1;
                t += 1;
                break;
            };
            let found = (r + 1..=(r + MAX_VARIABLE_WORDS).min(line.len().saturating_sub(1)))
                .find(|&candidate| next.matches(&line[candidate]));
            match found {
                Some(candidate) => {
                    r = candidate;
                    t += 1;
                }
                None => break,
            }
            continue;
        }
        if !token.matches(&line[r]) {
            break;
        }
        weight += token.word.as_ref().map_or(0.0, |(_, w)| *w);
        t += 1;
        r += 1;
        if closes_quote(&line[r - 1]) && !token.pieces[0].ends_with(['"', '\'', '`']) {
            break; // the reporter's quote ends here: what follows is prose, not a value
        }
    }
    (t, r, weight)
}

/// Whether a report word ends a quotation (`is"`, `failed'.`, `` done` ``).
fn closes_quote(word: &str) -> bool {
    word.trim_end_matches(['.', ',', ';', ':', ')']).ends_with(['"', '\'', '`', '\u{201d}'])
}

/// One line of a report: its words as written (to show) and lowercased (to match).
struct Words<'a> {
    raw: Vec<&'a str>,
    lower: Vec<String>,
}

/// The text of a report as its lines of words.
fn report_lines(report: &BugReport) -> Vec<Words<'_>> {
    [report.title.as_str(), report.body.as_str(), report.stack_trace.as_deref().unwrap_or("")]
        .into_iter()
        .flat_map(str::lines)
        .map(|line| line.split_whitespace().take(MAX_LINE_WORDS).collect::<Vec<_>>())
        .filter(|words| !words.is_empty())
        .map(|raw| Words { lower: raw.iter().map(|w| w.to_lowercase()).collect(), raw })
        .collect()
}

fn report_text(report: &BugReport) -> String {
    format!("{}\n{}\n{}", report.title, report.body, report.stack_trace.as_deref().unwrap_or(""))
}

/// What may corroborate a weak link: the episodes of each pattern (first, last ms) and the log
/// source each report component names (lowercased component → lowercased source).
#[derive(Debug, Default)]
pub struct LinkContext {
    pub episodes: BTreeMap<String, Vec<(i64, i64)>>,
    pub component_sources: BTreeMap<String, String>,
}

impl LinkContext {
    fn corroboration(&self, report: &BugReport, pattern: &PatternStats) -> Option<Corroboration> {
        if let (Some(filed), Some(spans)) = (report.created_ms, self.episodes.get(&pattern.pattern)) {
            // The nearest episode the report was filed within reach of.
            let offset = spans
                .iter()
                .filter(|&&(first, last)| {
                    filed >= first - EPISODE_REPORT_LEAD_MS && filed <= last + EPISODE_REPORT_LAG_MS
                })
                .map(|&(first, last)| if filed < first { filed - first } else { (filed - last).max(0) })
                .min_by_key(|offset| offset.abs());
            if let Some(offset_ms) = offset {
                return Some(Corroboration::FiledNearEpisode { offset_ms });
            }
        }
        let component = report.component.as_deref()?.trim();
        let lower = component.to_lowercase();
        let source = self.component_sources.get(&lower).cloned().unwrap_or(lower);
        pattern
            .sources
            .keys()
            .any(|s| s.to_lowercase() == source)
            .then(|| Corroboration::Component(component.to_string()))
    }
}

/// Every link between `reports` and `patterns` that the rules support on each report alone,
/// strongest first per report.
#[cfg(test)]
pub fn find_links(reports: &[&BugReport], patterns: &[PatternStats], context: &LinkContext) -> Vec<Link> {
    find_candidate_links(reports, patterns, context).into_iter().filter(|link| !link.undecided).collect()
}

/// Every link between `reports` and `patterns` that the rules support, strongest first per
/// report, with the quotes that two templates fit alike and the report's time did not settle
/// (`undecided`), for [`choose_by_group`].
pub fn find_candidate_links(reports: &[&BugReport], patterns: &[PatternStats], context: &LinkContext) -> Vec<Link> {
    let texts: Vec<String> = reports.iter().map(|r| report_text(r)).collect();
    let weights = WordWeights::new(texts.iter().map(String::as_str), patterns.iter().map(|p| p.template.as_str()));
    // Which reports hold a word: a pattern is compared only with the reports whose words of its
    // template weigh enough for a link (a quote cannot weigh more than the words it holds).
    let mut holding: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, text) in texts.iter().enumerate() {
        for word in content_words(text) {
            holding.entry(word).or_default().push(index);
        }
    }
    let report_frames: Vec<Vec<String>> =
        reports.iter().map(|r| opsloop_plugin_tickets::fingerprint::frames(&report_text(r))).collect();
    let lines: Vec<Vec<Words<'_>>> = reports.iter().map(|r| report_lines(r)).collect();
    let mut found = Vec::new();
    for stats in patterns {
        let pattern = prepare(stats, &weights);
        let mut held: HashMap<usize, f64> = HashMap::new();
        for (word, weight) in pattern.tokens.iter().filter_map(|t| t.word.as_ref()).filter(|(_, w)| *w > 0.0) {
            for &index in holding.get(word).into_iter().flatten() {
                *held.entry(index).or_default() += weight;
            }
        }
        let mut candidates: BTreeSet<usize> =
            held.into_iter().filter(|&(_, weight)| weight >= CORROBORATED_STRENGTH).map(|(index, _)| index).collect();
        if pattern.frames.len() >= MIN_SHARED_FRAMES {
            candidates.extend((0..reports.len()).filter(|&i| report_frames[i].len() >= MIN_SHARED_FRAMES));
        }
        for index in candidates {
            let report = reports[index];
            let quote = quote_link(&pattern, &lines[index]).or_else(|| frames_link(&pattern, &report_frames[index]));
            let Some(quote) = quote else { continue };
            let corroboration = context.corroboration(report, stats);
            let needed = if corroboration.is_some() { CORROBORATED_STRENGTH } else { LINK_STRENGTH };
            if quote.strength >= needed {
                let link = Link {
                    report: report.id.clone(),
                    pattern: stats.pattern.clone(),
                    rule: quote.rule,
                    strength: quote.strength,
                    matched: quote.matched.clone(),
                    corroboration,
                    alike: Vec::new(),
                    undecided: false,
                    chosen_by_group: false,
                };
                found.push((link, quote));
            }
        }
    }
    one_pattern_per_quote(found)
}

fn quote_link(pattern: &PreparedPattern, lines: &[Words<'_>]) -> Option<Quote> {
    lines
        .iter()
        .enumerate()
        .filter_map(|(number, line)| best_quote(pattern, number, line))
        .max_by(|a, b| a.strength.total_cmp(&b.strength))
}

fn frames_link(pattern: &PreparedPattern, report_frames: &[String]) -> Option<Quote> {
    let shared = pattern.frames.iter().zip(report_frames).take_while(|(a, b)| a == b).count();
    (shared >= MIN_SHARED_FRAMES).then(|| Quote {
        rule: LinkRule::StackFrames,
        strength: shared as f64,
        matched: pattern.frames[..shared].join(" < "),
        place: None,
        tokens: shared,
        whole: false,
    })
}

/// Keeps, of quotes of several patterns over overlapping words of one report line, the one
/// that matched most (then the most template tokens, then the template that ends where the
/// quote does, then the one whose anomaly the report was filed nearest): one quoted line is
/// one message.
fn one_pattern_per_quote(mut found: Vec<(Link, Quote)>) -> Vec<Link> {
    // How far from one of the pattern's anomaly episodes the report was filed (none: not near one).
    let from_episode = |link: &Link| match link.corroboration {
        Some(Corroboration::FiledNearEpisode { offset_ms }) => Some(offset_ms.unsigned_abs()),
        _ => None,
    };
    found.sort_by(|a, b| {
        (a.0.report.as_str())
            .cmp(b.0.report.as_str())
            .then(b.1.strength.total_cmp(&a.1.strength))
            .then(b.1.tokens.cmp(&a.1.tokens))
            .then(b.1.whole.cmp(&a.1.whole))
            .then(from_episode(&a.0).unwrap_or(u64::MAX).cmp(&from_episode(&b.0).unwrap_or(u64::MAX)))
            .then(a.0.pattern.cmp(&b.0.pattern))
    });
    // Words two templates account for alike (`… rhost=<*>` whole, and the start of `… rhost=<*>
    // user=<*>`) name neither of them (which one would be the order of their ids), unless the
    // report was filed near an anomaly of one of them: then they name the one it was filed
    // nearest, or each of those it was filed as near (one event the miner keeps as two, `for
    // root` / `for admin`, bursts as both).
    let mut kept: Vec<(Link, Quote)> = Vec::new();
    for (link, quote) in found {
        let mut overlaps = false;
        for (kept_link, kept_quote) in &mut kept {
            let same_line_overlap = kept_link.report == link.report
                && match (kept_quote.place, quote.place) {
                    (Some((l1, a1, b1)), Some((l2, a2, b2))) => l1 == l2 && a1 < b2 && a2 < b1,
                    _ => false,
                };
            if !same_line_overlap {
                continue;
            }
            // The same words from the same start (one may take in the closing ellipsis).
            let same_start =
                kept_quote.place.map(|(line, from, _)| (line, from)) == quote.place.map(|(l, f, _)| (l, f));
            let alike = same_start
                && kept_quote.tokens == quote.tokens
                && kept_quote.whole == quote.whole
                && (kept_quote.strength - quote.strength).abs() < 1e-9;
            match (alike, from_episode(kept_link), from_episode(&link)) {
                (true, Some(kept_offset), Some(offset)) if kept_offset == offset => {}
                (true, None, None) => {
                    kept_link.undecided = true;
                    kept_link.alike.push(link.clone());
                    overlaps = true;
                }
                (true, _, _) => {
                    kept_link.alike.push(link.clone());
                    overlaps = true;
                }
                _ => overlaps = true,
            }
        }
        if !overlaps {
            kept.push((link, quote));
        }
    }
    kept.into_iter().map(|(link, _)| link).collect()
}

/// Settles the quotes that two templates fit alike by the report's group: when the group's
/// other reports quote exactly one of those templates on their own, the quote names that one
/// (a group is one problem; its reporters quote one message). Otherwise a quote the report's
/// time settled keeps that choice, and one it did not settle names neither template.
/// `group_of` gives each report's group.
pub fn choose_by_group(links: Vec<Link>, group_of: &BTreeMap<&str, String>) -> Vec<Link> {
    let mut firm: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for link in links.iter().filter(|link| link.alike.is_empty() && !link.undecided) {
        if let Some(group) = group_of.get(link.report.as_str()) {
            firm.entry(group.as_str()).or_default().push((link.report.as_str(), link.pattern.as_str()));
        }
    }
    let quoted_by_others = |link: &Link, pattern: &str| {
        group_of
            .get(link.report.as_str())
            .and_then(|group| firm.get(group.as_str()))
            .is_some_and(|quotes| quotes.iter().any(|&(report, quoted)| report != link.report && quoted == pattern))
    };
    let mut chosen = Vec::with_capacity(links.len());
    for link in &links {
        if link.alike.is_empty() {
            if !link.undecided {
                chosen.push(link.clone());
            }
            continue;
        }
        let named: Vec<&Link> = std::iter::once(link)
            .chain(&link.alike)
            .filter(|candidate| quoted_by_others(link, &candidate.pattern))
            .collect();
        match named.as_slice() {
            [one] => chosen.push(Link { alike: Vec::new(), undecided: false, chosen_by_group: true, ..(*one).clone() }),
            _ if !link.undecided => chosen.push(Link { alike: Vec::new(), ..link.clone() }),
            _ => {}
        }
    }
    chosen
}

/// Whether a template says anything besides its variables: some constant text with two
/// letters or more (`<*> <*>` and `<*>|<*>|<*>` say nothing).
pub fn has_constant_words(template: &str) -> bool {
    template
        .split("<*>")
        .flat_map(|piece| piece.split(|c: char| !c.is_alphanumeric()))
        .any(|word| word.chars().filter(|c| c.is_alphabetic()).count() >= 2)
}

/// A report with only an id, title and body, for the tests of the feedback modules.
#[cfg(test)]
pub(crate) fn report_for_tests(id: &str, title: &str, body: &str) -> BugReport {
    BugReport {
        id: id.into(),
        title: title.into(),
        body: body.into(),
        created_ms: None,
        reporter: None,
        labels: Vec::new(),
        status: None,
        stack_trace: None,
        version: None,
        component: None,
        fields: Default::default(),
        origin: crate::ingest::Origin { file: "t".into(), line: 1 },
        annotations: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(id: &str, template: &str, source: &str) -> PatternStats {
        PatternStats {
            pattern: id.into(),
            template: template.into(),
            count: 10,
            first_seen_ms: 0,
            last_seen_ms: 0,
            levels: BTreeMap::new(),
            sources: [(source.to_string(), 10)].into(),
            examples: Vec::new(),
            aliases: Vec::new(),
            volume: BTreeMap::new(),
        }
    }

    fn report(id: &str, title: &str, body: &str) -> BugReport {
        report_for_tests(id, title, body)
    }

    /// A background of everyday reports so word weights mean what they do in a real store.
    fn background() -> Vec<BugReport> {
        let everyday = [
            "the page fails to load after update",
            "error when saving settings, nothing happens",
            "crash on startup with an error dialog",
            "search is slow and the connection times out",
            "failed to open the file from the menu",
            "sidebar is white in dark mode",
        ];
        (0..30).map(|i| report(&format!("B{i}"), everyday[i % everyday.len()], everyday[(i + 1) % 6])).collect()
    }

    fn links_of(extra: Vec<BugReport>, patterns: &[PatternStats]) -> Vec<Link> {
        let mut reports = background();
        reports.extend(extra);
        let refs: Vec<&BugReport> = reports.iter().collect();
        find_links(&refs, patterns, &LinkContext::default())
    }

    /// Each case: a report line, a template, and the rule expected (or none).
    const CASES: &[(&str, &str, Option<LinkRule>)] = &[
        (
            "Paying fails. The console shows: ERROR upstream timeout after 5003 ms calling billing",
            "upstream timeout after <*> ms calling billing",
            Some(LinkRule::QuotedMessage),
        ),
        (
            "seen in the datanode log: PacketResponder 2 for block blk_-5 terminating",
            "PacketResponder <*> for block blk_<*> terminating",
            Some(LinkRule::QuotedMessage),
        ),
        (
            "the upload died with java.io.IOException: Connection reset by peer while writing replica",
            "Exception in receiveBlock for block <*> java.io.IOException: Connection reset by peer while writing replica",
            Some(LinkRule::Exception),
        ),
        // A report on another subject that shares a few common words.
        ("the page fails to load after update", "Failed to load <*> after <*> retries", None),
        // A template that is all variables matches nothing.
        ("a|b|c|d", "<*>|<*>|<*>|<*>", None),
        ("user 42 logged in 3 times", "<*> <*>", None),
        // Its constant text in full, cut short before the value: it names the message.
        (
            "the log says \"...startInsertSportSync start auto sync,app is...\" again",
            "startInsertSportSync start auto sync,app is <*>",
            Some(LinkRule::QuotedMessage),
        ),
        // A fragment of its constant text and no value: a mention, not an instance.
        (
            "the text \"startInsertSportSync start auto\" is unclear",
            "startInsertSportSync start auto sync,app is <*>",
            None,
        ),
        // All its constant text, but closed by the reporter before the value: a label named.
        (
            "the hint \"startInsertSportSync start auto sync,app is\" is shown in the wrong place",
            "startInsertSportSync start auto sync,app is <*>",
            None,
        ),
        // The template's words out of order.
        ("calling billing after the upstream timeout", "upstream timeout after <*> ms calling billing", None),
    ];

    #[test]
    fn a_whole_line_names_the_template_that_ends_where_it_does() {
        let short = "PAM <*> more authentication failures; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>";
        let long = "PAM <*> more authentication failures; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*> user=root";
        let patterns = [pattern("LONG", long, "sshd"), pattern("SHORT", short, "sshd")];
        let whole = "From the server log:\n\n    [2024-03-05T05:29:18.853Z] ERROR PAM 2 more authentication \
                     failures; logname= uid=7 euid=9 tty=ssh ruser= rhost=232.226.49.219\n\nRetrying does not help.";
        let links = links_of(vec![report("R", "the feed times out", whole)], &patterns);
        let named: Vec<&str> = links.iter().filter(|l| l.report == "R").map(|l| l.pattern.as_str()).collect();
        assert_eq!(named, ["SHORT"], "{links:?}");
        // Cut after the words both account for: which one it is cannot be told.
        let cut = "The log says something like \"...2 more authentication failures; logname= uid=5 euid=3 \
                   tty=ssh ruser= rhost=10.1.2.3 ...\"";
        let links = links_of(vec![report("R", "the feed times out", cut)], &patterns);
        assert!(links.iter().all(|l| l.report != "R"), "{links:?}");
    }

    #[test]
    fn a_quote_two_templates_fit_alike_names_the_one_its_group_quotes() {
        let short = "PAM <*> more authentication failures; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>";
        let long = "PAM <*> more authentication failures; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*> user=root";
        let patterns = [pattern("LONG", long, "sshd"), pattern("SHORT", short, "sshd")];
        let cut = "The log says something like \"...2 more authentication failures; logname= uid=5 euid=3 \
                   tty=ssh ruser= rhost=10.1.2.3 ...\"";
        let whole = "Error shown: PAM 3 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= \
                     rhost=10.9.8.7 user=root";
        let mut reports = background();
        reports.push(report("CUT", "the feed times out", cut));
        reports.push(report("WHOLE", "the feed times out again", whole));
        let refs: Vec<&BugReport> = reports.iter().collect();
        let candidates = find_candidate_links(&refs, &patterns, &LinkContext::default());
        let cut_link = candidates.iter().find(|l| l.report == "CUT").expect("the cut quote is a candidate");
        assert!(cut_link.undecided && cut_link.alike.len() == 1, "{cut_link:?}");
        // In one group with a report quoting the long template whole: the long one.
        let together: BTreeMap<&str, String> = reports.iter().map(|r| (r.id.as_str(), "g".to_string())).collect();
        let chosen = choose_by_group(candidates.clone(), &together);
        let named: Vec<(&str, &str)> = chosen.iter().map(|l| (l.report.as_str(), l.pattern.as_str())).collect();
        assert!(named.contains(&("CUT", "LONG")) && named.contains(&("WHOLE", "LONG")), "{chosen:?}");
        let cut_link = chosen.iter().find(|l| l.report == "CUT").expect("linked");
        assert!(
            cut_link.reason(long).contains("its group's other reports quote this one"),
            "{}",
            cut_link.reason(long)
        );
        // In groups of their own: neither template.
        let apart: BTreeMap<&str, String> = reports.iter().map(|r| (r.id.as_str(), r.id.clone())).collect();
        let chosen = choose_by_group(candidates, &apart);
        assert!(chosen.iter().all(|l| l.report != "CUT"), "{chosen:?}");
    }

    #[test]
    fn names_that_frame_values_are_words_of_the_message() {
        let template = "Sandbox: com.apple.Addres(<*>) deny(<*>) network-outbound <*>";
        let line = "Contacts cannot sync. Console: Sandbox: com.apple.Addres(31229) deny(1) network-outbound \
                    /private/var/run/mDNSResponder";
        let links = links_of(vec![report("R", "contacts do not sync", line)], &[pattern("P", template, "mac")]);
        assert!(links.iter().any(|l| l.report == "R"), "{links:?}");
        // A quote may open on a framed name.
        let template = "com.apple.Addres(<*>) deny(<*>) network-outbound lookup <*>";
        let line = "we get \"com.apple.Addres(31999) deny(1) network-outbound lookup mDNSResponder\"";
        let links = links_of(vec![report("R", "contacts do not sync", line)], &[pattern("P", template, "mac")]);
        assert!(links.iter().any(|l| l.report == "R"), "{links:?}");
        // Without the names the words left do not weigh enough.
        let line = "we get \"(31999) (1) network-outbound lookup mDNSResponder\"";
        let links = links_of(vec![report("R", "contacts do not sync", line)], &[pattern("P", template, "mac")]);
        assert!(links.iter().all(|l| l.report != "R"), "{links:?}");
    }

    #[test]
    fn fixture_cases() {
        for (index, (text, template, expected)) in CASES.iter().enumerate() {
            let links = links_of(vec![report("R", "a report", text)], &[pattern("P", template, "app")]);
            let rule = links.iter().find(|l| l.report == "R").map(|l| l.rule);
            assert_eq!(rule, *expected, "case {index}: {text:?} ~ {template:?}: {links:?}");
        }
    }

    /// Links of one report filed during an anomaly episode of the one pattern.
    fn links_during_episode(body: &str, template: &str) -> Vec<Link> {
        let mut reports = background();
        let mut filed = report("R", "the checkout hangs", body);
        filed.created_ms = Some(10 * HOUR_MS);
        reports.push(filed);
        let refs: Vec<&BugReport> = reports.iter().collect();
        let context = LinkContext {
            episodes: [("P".to_string(), vec![(9 * HOUR_MS, 10 * HOUR_MS)])].into(),
            ..LinkContext::default()
        };
        find_links(&refs, &[pattern("P", template, "health")], &context)
            .into_iter()
            .filter(|l| l.report == "R")
            .collect()
    }

    #[test]
    fn part_of_a_message_without_values_is_a_mention() {
        // `serviceData` is in many templates, so the first three words carry most of the weight.
        let mut patterns = vec![pattern("P", "Putting shuffle token in serviceData", "yarn")];
        for index in 0..15 {
            patterns.push(pattern(&format!("Q{index}"), &format!("Stage{index} reads serviceData for <*>"), "yarn"));
        }
        // Filed while the message was logged in an unusual burst, so two words' weight would do.
        let context = LinkContext {
            episodes: [("P".to_string(), vec![(9 * HOUR_MS, 10 * HOUR_MS)])].into(),
            ..LinkContext::default()
        };
        let linked = |text: &str| {
            let mut reports = background();
            let mut filed = report("R", "a question", text);
            filed.created_ms = Some(10 * HOUR_MS);
            reports.push(filed);
            let refs: Vec<&BugReport> = reports.iter().collect();
            let links = find_links(&refs, &patterns, &context);
            links.iter().filter(|l| l.report == "R").map(|l| (l.pattern.clone(), l.rule)).collect::<Vec<_>>()
        };
        // Its first words, closed by the reporter before the message ends: words named.
        assert_eq!(linked("In the FAQ the part about \"Putting shuffle token\" ends mid-sentence."), []);
        // The whole message: the line that was logged.
        assert_eq!(
            linked("the log is full of Putting shuffle token in serviceData since noon"),
            [("P".to_string(), LinkRule::QuotedMessage)]
        );
    }

    #[test]
    fn a_fragment_cut_at_both_ends_is_judged_on_what_it_shows() {
        let template =
            "saveHealthDetailData() saveOneDetailData fail hiHealthData = <*>,type = <*>,value = <*> sportType = <*>";
        // Cut at both ends, with values, every word of it the template's: an instance.
        let cut = "The log says something like \"...saveOneDetailData fail hiHealthData = 2603268318097,type = 40003...\" I waited.";
        let links = links_during_episode(cut, template);
        assert_eq!(links.iter().map(|l| l.rule).collect::<Vec<_>>(), [LinkRule::QuotedMessage], "{links:?}");
        assert_eq!(links[0].matched, "\"...saveOneDetailData fail hiHealthData = 2603268318097,type = 40003...\"");
        // A word the template does not have inside the fragment: not this message.
        let other = "The log says something like \"...saveOneDetailData fail hiHealthData = 2603268318097,kind = 40003...\" I waited.";
        assert!(links_during_episode(other, template).is_empty());
        // Cut at one end only: a quote like any other, too little of the template.
        let one_end = "The log says something like \"saveOneDetailData fail hiHealthData = 2603268318097,type = 40003...\" I waited.";
        assert!(links_during_episode(one_end, template).is_empty());
    }

    #[test]
    fn a_fragment_opened_on_a_word_of_symbols_is_cut_at_both_ends() {
        let template = "<<<< MediaValidator >>>> <*>: Unrecognized codec <*>.(<*>). Failed codec specific check.";
        let cut = "The log says something like \"...<<<< MediaValidator >>>> mv_ValidateRFC3890CodecId: Unrecognized codec 9.(null). Failed codec...\" Retrying does not help.";
        let links = links_during_episode(cut, template);
        assert_eq!(links.iter().map(|l| l.rule).collect::<Vec<_>>(), [LinkRule::QuotedMessage], "{links:?}");
        assert!(links[0].matched.starts_with("\"...<<<< MediaValidator"), "{}", links[0].matched);
        // Without the opening ellipsis it is a quote cut at one end: too little of the template.
        let one_end = cut.replace("\"...<<<<", "\"<<<<");
        assert!(links_during_episode(&one_end, template).is_empty());
        // The symbols must be the template's own.
        let other = cut.replace("\"...<<<<", "\"...>>>>");
        assert!(links_during_episode(&other, template).is_empty());
    }

    #[test]
    fn an_ellipsis_inside_a_quote_stands_for_the_values_left_out() {
        let template = "reverse mapping checking getaddrinfo for <*> [<*>] failed - POSSIBLE BREAK-IN ATTEMPT!";
        let elided = "sshd says \"reverse mapping checking getaddrinfo for ... failed - POSSIBLE BREAK-IN ATTEMPT!\"";
        let links = links_of(vec![report("R", "ssh gateway", elided)], &[pattern("P", template, "sshd")]);
        assert_eq!(links.iter().filter(|l| l.report == "R").count(), 1, "{links:?}");
        // An ellipsis does not stand for constant words: those must be shown.
        let elided_words = "sshd says \"reverse mapping checking ... POSSIBLE BREAK-IN ATTEMPT!\"";
        let links = links_of(vec![report("R", "ssh gateway", elided_words)], &[pattern("P", template, "sshd")]);
        assert!(links.iter().all(|l| l.report != "R"), "{links:?}");
        // It may stand for nothing but the punctuation between two words.
        let lease = "Failed to renew lease for [<*>] for <*> seconds.  Will retry shortly ...";
        let elided_dot = "Seeing this: Failed to renew lease for [DFSClient_NONMAPREDUCE_99871_1] for 412 seconds ... Will retry shortly";
        let links = links_of(vec![report("R", "hdfs lease", elided_dot)], &[pattern("P", lease, "hadoop")]);
        assert_eq!(links.iter().filter(|l| l.report == "R").count(), 1, "{links:?}");
    }

    #[test]
    fn a_quote_of_the_message_without_the_logger_that_wrote_it_is_measured_against_the_message() {
        assert_eq!(emitter_prefix_len("dfs.FSDataset: Deleting block <*> file <*>"), 1);
        assert_eq!(
            emitter_prefix_len(
                "[RMCommunicator Allocator] org.apache.hadoop.rm.RMContainerAllocator: ERROR IN CONTACTING RM."
            ),
            3
        );
        assert_eq!(emitter_prefix_len("Deleting block <*> file <*>"), 0);
        assert_eq!(emitter_prefix_len("error: Received disconnect from <*>"), 0, "a word, not a class name");
        let template = "[main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster for application <*>";
        let quote = "the job log says: Created MRAppMaster for application appattempt_1445144423722_0020_000001";
        let links = links_during_episode(quote, template);
        assert_eq!(links.len(), 1, "{links:?}");
    }

    #[test]
    fn a_cut_fragment_two_templates_account_for_links_neither() {
        let quote = "The log says something like \"...invalid user admin from 10.0.0.7 port 53385 ssh2...\" again";
        let patterns = [
            pattern("none", "Failed none for invalid user <*> from <*> port <*> ssh2", "sshd"),
            pattern("password", "Failed password for invalid user <*> from <*> port <*> ssh2", "sshd"),
        ];
        let links = links_of(vec![report("R", "login broken", quote)], &patterns);
        assert!(links.iter().all(|l| l.report != "R"), "{links:?}");
        let whole = "I see \"Failed none for invalid user admin from 10.0.0.7 port 53385 ssh2\" in the output";
        let links = links_of(vec![report("R", "login broken", whole)], &patterns);
        assert_eq!(links.iter().map(|l| l.pattern.as_str()).collect::<Vec<_>>(), ["none"], "{links:?}");
    }

    #[test]
    fn a_quoted_line_links_only_the_pattern_it_is_an_instance_of() {
        let quote = "the job died: attempt_42 TaskAttempt Transitioned from RUNNING to FAIL_CONTAINER_CLEANUP";
        let patterns = [
            pattern("fail", "<*> TaskAttempt Transitioned from RUNNING to FAIL_CONTAINER_CLEANUP", "hadoop"),
            pattern("ok", "<*> TaskAttempt Transitioned from RUNNING to SUCCESS_CONTAINER_CLEANUP", "hadoop"),
        ];
        let links = links_of(vec![report("R", "job stuck", quote)], &patterns);
        assert_eq!(links.iter().map(|l| l.pattern.as_str()).collect::<Vec<_>>(), ["fail"], "{links:?}");
    }

    #[test]
    fn words_many_reports_share_weigh_little() {
        let reports = background();
        let texts: Vec<String> = reports.iter().map(report_text).collect();
        let weights = WordWeights::new(texts.iter().map(String::as_str), ["x y z"].into_iter());
        assert!(weights.weight("error") < 0.6, "{}", weights.weight("error"));
        assert!(weights.weight("billing") > 0.99);
    }

    #[test]
    fn a_weak_quote_links_only_when_filed_during_the_patterns_episode() {
        let template = "Failed to connect to <*> rejected";
        let mut late = report("R", "cannot sync", "failed to connect to db-1 rejected");
        late.created_ms = Some(100 * HOUR_MS);
        let mut reports = background();
        reports.push(late);
        let refs: Vec<&BugReport> = reports.iter().collect();
        let patterns = [pattern("P", template, "app")];
        assert!(find_links(&refs, &patterns, &LinkContext::default()).is_empty(), "weak text alone");
        let context = LinkContext {
            episodes: [("P".to_string(), vec![(99 * HOUR_MS, 99 * HOUR_MS)])].into(),
            ..Default::default()
        };
        let links = find_links(&refs, &patterns, &context);
        assert_eq!(links.len(), 1, "{links:?}");
        assert_eq!(links[0].corroboration, Some(Corroboration::FiledNearEpisode { offset_ms: HOUR_MS }));
        let reason = links[0].reason(template);
        assert!(reason.contains("filed 1 h after the pattern's anomaly ended"), "{reason}");
        assert!(reason.contains(": \"failed to connect to db-1 rejected\" ("), "{reason}");
        let during = LinkContext {
            episodes: [("P".to_string(), vec![(90 * HOUR_MS, 95 * HOUR_MS), (99 * HOUR_MS, 101 * HOUR_MS)])].into(),
            ..Default::default()
        };
        let links = find_links(&refs, &patterns, &during);
        assert!(links[0].reason(template).contains("; filed during the pattern's anomaly)"), "{links:?}");
    }

    #[test]
    fn shared_stack_frames_link() {
        let mut stats = pattern("P", "request failed <*>", "api");
        stats.examples =
            vec!["request failed\n\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)\n\tat a.C.e(C.java:3)".into()];
        let trace = "NullPointerException\n\tat a.B.c(B.java:10)\n\tat a.B.d(B.java:20)\n\tat a.C.e(C.java:30)";
        let links = links_of(vec![report("R", "crash when I click", trace)], &[stats]);
        assert_eq!(links.iter().map(|l| l.rule).collect::<Vec<_>>(), [LinkRule::StackFrames]);
    }
}
