//! Online log template mining: messages in, a stable pattern id and a template with `<*>` for
//! variables out.
//!
//! A message is masked by [`opsloop_sdk::mask`]: split on white space, and each token into segments at punctuation (`=`, `:`,
//! `,`, brackets, quotes): a segment that starts with a digit (after leading `/ - + # .`) is a
//! variable from the start and reads `<*>`, with the punctuation around it kept
//! (`uid=0` → `uid=<*>`, `[5]` → `[<*>]`); words that merely contain a digit (`ssh2`) are kept.
//! Paths (`/var/log/x`) and URLs (`http://host/x`) are variables from the start too: they name
//! things, as ids do, even while a sample shows one value.
//! Messages with the same token count and the same first constant token are compared with the
//! templates already known there that hold a different plain word at one position at most
//! (found through an index of the templates' words, so the cost of a message does not grow with
//! the number of templates); the most similar above a threshold absorbs the message (positions
//! that differ become `<*>`), otherwise a new pattern starts.
//! A pattern's id is fixed when it is created, so it stays the same while its template widens,
//! across batches, and across runs (the miner's state is saved and restored).
//!
//! Most lines differ from an earlier one only in the digits of their variables: a message whose
//! shape ([`opsloop_sdk::mask::mask_key`]) was seen goes straight to the pattern that took that
//! shape, without being masked, and a masked text seen before skips the comparison. Both fast
//! paths give every message the pattern the full path would.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};

pub use opsloop_sdk::mask::WILDCARD;
use opsloop_sdk::mask::{mask_key, mask_tokens, wildcard_at};
use opsloop_sdk::stable_hash;

/// One mined pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Stable id, 16 hex digits.
    pub id: String,
    /// The template tokens; variables are [`WILDCARD`].
    pub tokens: Vec<String>,
    /// How many messages matched it.
    pub count: u64,
}

impl Pattern {
    /// The template as text.
    pub fn template(&self) -> String {
        self.tokens.join(" ")
    }
}

/// Whether a message token fits a template token: the same, the template's whole-token
/// wildcard, or a template token that keeps a constant frame around one wildcard (`(<*>)`,
/// `user=<*>`) and the token has that frame.
fn token_fits(template_token: &str, token: &str) -> bool {
    if same_bytes(template_token.as_bytes(), token.as_bytes()) || template_token == WILDCARD {
        return true;
    }
    let Some(at) = wildcard_at(template_token) else { return false };
    let (prefix, suffix) = (&template_token[..at], &template_token[at + WILDCARD.len()..]);
    let token = token.as_bytes();
    wildcard_at(suffix).is_none()
        && token.len() >= prefix.len() + suffix.len()
        && same_bytes(&token[..prefix.len()], prefix.as_bytes())
        && same_bytes(&token[token.len() - suffix.len()..], suffix.as_bytes())
}

/// `a == b`, a word at a time. Every message compares its tokens with its template's, and in
/// Wasm `==` on byte slices calls wasi-libc's `memcmp`, which loops over single bytes (each
/// loop turn also paying the host's deadline check).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let length = a.len();
    if length != b.len() {
        return false;
    }
    let word = |bytes: &[u8], at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let half = |bytes: &[u8], at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    match length {
        0 => true,
        1..4 => a[0] == b[0] && a[length / 2] == b[length / 2] && a[length - 1] == b[length - 1],
        4..8 => half(a, 0) == half(b, 0) && half(a, length - 4) == half(b, length - 4),
        _ => {
            // Whole words, then the last word (overlapping the one before when the length is
            // not a multiple of 8).
            (0..length / 8).all(|index| word(a, index * 8) == word(b, index * 8))
                && word(a, length - 8) == word(b, length - 8)
        }
    }
}

/// The template token that covers both `template_token` and `token`: the delimiter-bounded
/// frame they share around a wildcard (`(host-a)` and `(host-b)` give `(<*>)`, `user=root` and
/// `user=<*>` give `user=<*>`), or a whole-token wildcard when they share none.
fn widen(template_token: &str, token: &str) -> String {
    if token_fits(template_token, token) {
        return template_token.to_string();
    }
    let (a, b) = (template_token.as_bytes(), token.as_bytes());
    let common_prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let prefix =
        a[..common_prefix].iter().rposition(|&byte| opsloop_sdk::mask::is_delimiter(byte)).map_or(0, |at| at + 1);
    let common_suffix = a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count();
    let suffix = a[a.len() - common_suffix..]
        .iter()
        .position(|&byte| opsloop_sdk::mask::is_delimiter(byte))
        .map_or(0, |at| common_suffix - at);
    let (prefix_text, suffix_text) = (&template_token[..prefix], &template_token[a.len() - suffix..]);
    let overlaps = prefix + suffix > a.len().min(b.len());
    if (prefix == 0 && suffix == 0) || overlaps || prefix_text.contains(WILDCARD) || suffix_text.contains(WILDCARD) {
        return WILDCARD.to_string();
    }
    format!("{prefix_text}{WILDCARD}{suffix_text}")
}

/// The hash a word at a position contributes to the keys of [`Bucket`]: the keys are XORs of
/// these, so leaving one word out of a key is one more XOR.
fn word_hash(position: usize, token: &str) -> u64 {
    let mut hasher = FxBuildHasher.build_hasher();
    hasher.write(token.as_bytes());
    hasher.write_usize(position);
    hasher.finish()
}

/// What a position left out of a key contributes instead of its word.
fn blank_hash(position: usize) -> u64 {
    let mut hasher = FxBuildHasher.build_hasher();
    hasher.write_usize(position);
    hasher.write_u8(0xff);
    hasher.finish()
}

/// The patterns of one bucket, indexed so that a message finds the templates that could take
/// it without comparing it with all of them.
///
/// A template takes a message only if they hold different plain words (neither side a
/// variable) at one position at most. Templates are grouped by the positions where they hold a
/// variable; within a group each template is filed under the key of all its plain words and
/// under one key per position with that word left out. A message whose variables all sit
/// where the group's templates hold variables looks up the same keys over the same positions:
/// `1 + plain positions` lookups per group, whatever the number of templates. A message with a
/// variable where a group holds a word (rare: the group's templates came from messages that
/// had a word there) is compared with that group's templates one by one. Every candidate is
/// then checked in full, so a hash collision costs a comparison, never a wrong answer.
#[derive(Debug, Clone, Default)]
struct Bucket {
    /// The bucket's patterns, in order of creation.
    members: Vec<usize>,
    groups: Vec<Group>,
}

/// The templates of a bucket with variables at the same positions.
#[derive(Debug, Clone)]
struct Group {
    /// Whether the group's templates hold a variable at each position.
    variable: Vec<bool>,
    members: Vec<usize>,
    /// Key of plain words (all of them, or all but one) -> templates filed under it.
    keys: FxHashMap<u64, Vec<usize>>,
}

impl Group {
    /// The keys a sequence of word hashes is filed and looked up under over this group's plain
    /// positions: all the words, then each word left out in turn.
    fn keys(&self, hashes: &[u64], keys: &mut Vec<u64>) {
        keys.clear();
        let all = (0..hashes.len()).filter(|&at| !self.variable[at]).fold(0, |key, at| key ^ hashes[at]);
        keys.push(all);
        keys.extend((0..hashes.len()).filter(|&at| !self.variable[at]).map(|at| all ^ hashes[at] ^ blank_hash(at)));
    }
}

impl Bucket {
    fn insert(&mut self, index: usize, tokens: &[String]) {
        let at = self.members.partition_point(|&member| member < index);
        self.members.insert(at, index);
        let variable: Vec<bool> = tokens.iter().map(|token| is_variable(token)).collect();
        let group = match self.groups.iter().position(|group| group.variable == variable) {
            Some(group) => group,
            None => {
                self.groups.push(Group { variable, members: Vec::new(), keys: FxHashMap::default() });
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[group];
        group.members.push(index);
        let hashes: Vec<u64> = tokens.iter().enumerate().map(|(at, token)| word_hash(at, token)).collect();
        let mut keys = Vec::new();
        group.keys(&hashes, &mut keys);
        for key in keys {
            group.keys.entry(key).or_default().push(index);
        }
    }

    /// Removes pattern `index`, filed with `tokens` (its template when it was inserted).
    fn remove(&mut self, index: usize, tokens: &[String]) {
        self.members.retain(|&member| member != index);
        let variable: Vec<bool> = tokens.iter().map(|token| is_variable(token)).collect();
        let Some(at) = self.groups.iter().position(|group| group.variable == variable) else { return };
        let group = &mut self.groups[at];
        group.members.retain(|&member| member != index);
        let hashes: Vec<u64> = tokens.iter().enumerate().map(|(at, token)| word_hash(at, token)).collect();
        let mut keys = Vec::new();
        group.keys(&hashes, &mut keys);
        for key in keys {
            if let Some(filed) = group.keys.get_mut(&key) {
                filed.retain(|&member| member != index);
                if filed.is_empty() {
                    group.keys.remove(&key);
                }
            }
        }
        if group.members.is_empty() {
            self.groups.swap_remove(at);
        }
    }

    /// The patterns that may hold different plain words from `tokens` at one position at most,
    /// in order of creation (a superset: the caller checks each).
    fn candidates<'a>(&self, tokens: impl Fn(usize) -> &'a str, count: usize, found: &mut Vec<usize>) {
        found.clear();
        let variable: Vec<bool> = (0..count).map(|at| is_variable(tokens(at))).collect();
        let hashes: Vec<u64> = (0..count).map(|at| word_hash(at, tokens(at))).collect();
        let mut keys = Vec::new();
        for group in &self.groups {
            if variable.iter().zip(&group.variable).any(|(&message, &template)| message && !template) {
                found.extend_from_slice(&group.members);
                continue;
            }
            group.keys(&hashes, &mut keys);
            for key in &keys {
                if let Some(filed) = group.keys.get(key) {
                    found.extend_from_slice(filed);
                }
            }
        }
        found.sort_unstable();
        found.dedup();
    }
}

/// Mines patterns from a stream of messages.
#[derive(Debug, Clone)]
pub struct Miner {
    similarity_threshold: f64,
    /// Distinct words a position must show before it is taken for a variable.
    words_for_a_variable: usize,
    patterns: Vec<Pattern>,
    /// (token count, hash of the first constant token) -> the patterns with that shape
    buckets: FxHashMap<(usize, u64), Bucket>,
    /// The current message with its variable segments masked, and the byte ranges of its
    /// tokens in it; both reused so `add` does not allocate.
    masked: String,
    spans: Vec<(usize, usize)>,
    /// The ids of all patterns, as numbers: a new pattern's id must differ from them all.
    ids: FxHashSet<u64>,
    /// The candidate patterns of the current message, reused likewise.
    candidates: Vec<usize>,
    /// The candidates close enough to take the current message, with their likeness, reused
    /// likewise.
    close: Vec<(usize, f64)>,
    /// `aliases[i]` is the pattern that pattern `i` was folded into (itself when it stands).
    aliases: Vec<usize>,
    /// `joined[i]` is the older pattern of another length that pattern `i` was joined to as the
    /// same event ([`Miner::join_other_lengths`]); itself when none. A joined pattern stays in
    /// its bucket, so messages of its length still find it.
    joined: Vec<usize>,
    /// The older pattern of every join so far, once each: what [`Miner::template`] asks to
    /// tell a pattern that stands for templates of several lengths.
    join_heads: Vec<usize>,
    /// Hash of a template's skeleton ([`skeleton`]) -> the patterns that had it, with the runs
    /// and length their template had then: where a template of another length that is the
    /// same event is looked for. An entry whose pattern changed since is dropped when met.
    skeletons: FxHashMap<u64, Vec<SkeletonEntry>>,
    /// How many times each pattern's template changed: tells a current skeleton entry from a
    /// stale one.
    versions: Vec<u32>,
    /// Hash of a masked message -> the pattern that absorbed it last time: most messages repeat
    /// once masked, and this skips comparing them with every candidate.
    seen: FxHashMap<u64, usize>,
    /// [`mask_key`] of a raw message -> the pattern that took it: a message of a shape seen
    /// before (the same text but for the digits of its variables) skips masking altogether.
    shapes: FxHashMap<u128, usize>,
    /// How the shape lookups of the current probe went, and how many messages are left to
    /// add without them (a stream whose every line has a new shape, say a UUID, would pay for
    /// the key and find nothing).
    shape_probe: ShapeProbe,
    /// (bucket, position, hash of the template's other tokens) -> the distinct words seen at
    /// that position: shared by all siblings that differ only there.
    evidence: HashMap<((usize, u64), usize, u64), Vec<String>>,
    /// Patterns folded or joined into another since [`Miner::take_merged`] was last called:
    /// records that already carry their ids now belong to the pattern they resolve to.
    merged: Vec<usize>,
}

/// Templates one bucket may hold. A stream with no repeating structure (free text, common words
/// in random order) would otherwise make a template of nearly every line: memory without bound,
/// and a lookup that slows as the bucket grows. When a bucket is full, a message no template
/// takes is merged into the one it fits best ([`Miner::start_or_merge`]).
pub const TEMPLATES_PER_BUCKET: usize = 512;

/// Most masked messages, and most raw message shapes, remembered for the fast paths.
const SEEN_CAPACITY: usize = 1 << 16;

/// Distinct words a position must show before it is taken for a variable, unless set with
/// [`Miner::with_words_for_a_variable`] (the accuracy bench's leave-one-system-out grid does).
pub const WORDS_FOR_A_VARIABLE: usize = 3;

/// Messages in one probe of the shape lookups.
const PROBE_LENGTH: u32 = 4096;
/// A probe that finds fewer shapes than this turns the lookups off for [`BYPASS_LENGTH`] messages.
const PROBE_MIN_FOUND: u32 = PROBE_LENGTH / 8;
const BYPASS_LENGTH: u32 = 1 << 16;

/// Whether looking messages up by shape pays on the stream at hand: a probe of
/// [`PROBE_LENGTH`] lookups that finds too few turns them off for a while, then they are tried
/// again. Only speed depends on it; every message gets the same pattern either way.
#[derive(Debug, Clone, Default)]
struct ShapeProbe {
    lookups: u32,
    found: u32,
    bypass_left: u32,
}

impl ShapeProbe {
    /// Whether the next message skips the lookup (and counts down the bypass).
    fn bypassing(&mut self) -> bool {
        if self.bypass_left == 0 {
            return false;
        }
        self.bypass_left -= 1;
        true
    }

    fn record(&mut self, found: bool) {
        self.lookups += 1;
        self.found += u32::from(found);
        if self.lookups == PROBE_LENGTH {
            if self.found < PROBE_MIN_FOUND {
                self.bypass_left = BYPASS_LENGTH;
            }
            (self.lookups, self.found) = (0, 0);
        }
    }
}

impl Default for Miner {
    fn default() -> Self {
        Self::new(0.5)
    }
}

/// Whether a token holds a variable (after masking).
fn is_variable(token: &str) -> bool {
    wildcard_at(token).is_some()
}

/// Positions where a template and a message hold different plain words (neither side a
/// variable): more than one and the template cannot take the message.
fn plain_differences<'a>(template: &[String], token: impl Fn(usize) -> &'a str) -> usize {
    template
        .iter()
        .enumerate()
        .filter(|&(at, template_token)| {
            let token = token(at);
            !is_variable(template_token) && !is_variable(token) && template_token != token
        })
        .count()
}

impl Miner {
    /// A miner that merges a message into a template when at least `similarity_threshold` of
    /// the template's constant tokens match.
    pub fn new(similarity_threshold: f64) -> Self {
        Self {
            similarity_threshold,
            words_for_a_variable: WORDS_FOR_A_VARIABLE,
            patterns: Vec::new(),
            buckets: FxHashMap::default(),
            masked: String::new(),
            spans: Vec::new(),
            ids: FxHashSet::default(),
            candidates: Vec::new(),
            close: Vec::new(),
            aliases: Vec::new(),
            joined: Vec::new(),
            join_heads: Vec::new(),
            skeletons: FxHashMap::default(),
            versions: Vec::new(),
            seen: FxHashMap::default(),
            shapes: FxHashMap::default(),
            shape_probe: ShapeProbe::default(),
            evidence: HashMap::new(),
            merged: Vec::new(),
        }
    }

    /// The same miner taking a position for a variable after `words` distinct words (at least 2).
    pub fn with_words_for_a_variable(mut self, words: usize) -> Self {
        self.words_for_a_variable = words.max(2);
        self
    }

    /// The patterns mined so far, in order of creation.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// The bucket of a message: its token count and its first token, unless that token holds
    /// a variable or any digit (`req-1`, `worker3`: a lone digit is kept as a word, but as the
    /// key it would give every id its own bucket, where it could never become `<*>`), or is a
    /// dotted name (`com.apple.fmfd.heartbeat:`), for the same reason.
    fn bucket_key(count: usize, first: Option<&str>) -> (usize, u64) {
        let first = first.filter(|token| {
            !is_variable(token) && !token.bytes().any(|b| b.is_ascii_digit()) && !is_dotted_name(token)
        });
        let first = first.unwrap_or(WILDCARD);
        (count, stable_hash(first))
    }

    /// Adds a message; returns the index of its pattern in [`Miner::patterns`].
    pub fn add(&mut self, message: &str) -> usize {
        let message = headline(message);
        if self.shape_probe.bypassing() {
            return self.add_masked(message);
        }
        let shape = mask_key(message);
        let found = self.shapes.get(&shape).copied();
        self.shape_probe.record(found.is_some());
        if let Some(index) = found {
            // The same masked text as a message this pattern took: the pattern covers it still
            // (templates only widen, and a folded pattern's target covers what it covered).
            let index = self.standing(index);
            self.patterns[index].count += 1;
            return index;
        }
        let index = self.add_masked(message);
        if self.shapes.len() >= SEEN_CAPACITY {
            self.shapes.clear();
        }
        self.shapes.insert(shape, index);
        index
    }

    /// Adds a message whose shape is not remembered: masks it, then finds or starts its pattern.
    fn add_masked(&mut self, message: &str) -> usize {
        let mut spans = std::mem::take(&mut self.spans);
        let mut masked = std::mem::take(&mut self.masked);
        mask_tokens(message, &mut masked, &mut spans);
        // Only for the fast path in memory (never saved): a word-at-a-time hash, not the stable one.
        let mut hasher = FxBuildHasher.build_hasher();
        hasher.write(masked.as_bytes());
        let fingerprint = hasher.finish();
        let index = match self.seen.get(&fingerprint).map(|&index| self.standing(index)) {
            Some(index) if self.covers(index, &masked, &spans) => {
                self.patterns[index].count += 1;
                index
            }
            _ => {
                let index = self.add_tokens(&masked, &spans);
                if self.seen.len() >= SEEN_CAPACITY {
                    // Bounded memory: start over rather than grow with every distinct message.
                    self.seen.clear();
                }
                self.seen.insert(fingerprint, index);
                index
            }
        };
        self.spans = spans;
        self.masked = masked;
        index
    }

    fn add_tokens(&mut self, message: &str, spans: &[(usize, usize)]) -> usize {
        let token = |i: usize| &message[spans[i].0..spans[i].1];
        let key = Self::bucket_key(spans.len(), spans.first().map(|_| token(0)));
        let mut candidates = std::mem::take(&mut self.candidates);
        match self.buckets.get(&key) {
            Some(bucket) => bucket.candidates(token, spans.len(), &mut candidates),
            None => candidates.clear(),
        }
        // Every template close enough, the closest first (the older first among equals).
        let mut close = std::mem::take(&mut self.close);
        close.clear();
        for &candidate in &candidates {
            if plain_differences(&self.patterns[candidate].tokens, token) > 1 {
                continue;
            }
            let score = self.similarity(&self.patterns[candidate].tokens, message, spans);
            if score >= self.similarity_threshold {
                close.push((candidate, score));
            }
        }
        self.candidates = candidates;
        close.sort_by(|a, b| b.1.total_cmp(&a.1));
        // The closest template that can take the message: one the message differs from only
        // where it has variables, or in one word with the evidence that the word varies. The
        // closest may lack that evidence where the next has it (`field=zip reason=empty` and
        // `field=<*> reason=malformed` are as close to `field=phone reason=empty`; only the
        // first has seen other fields).
        let taker = close.iter().map(|&(index, _)| index).find(|&index| self.takes(key, index, &token));
        self.close = close;
        let Some(index) = taker else {
            return self.start_or_merge(key, message, spans);
        };
        let pattern = &mut self.patterns[index];
        pattern.count += 1;
        if pattern
            .tokens
            .iter()
            .enumerate()
            .all(|(position, template_token)| token_fits(template_token, token(position)))
        {
            return index;
        }
        let before = pattern.tokens.clone();
        for (position, template_token) in pattern.tokens.iter_mut().enumerate() {
            if !token_fits(template_token, token(position)) {
                *template_token = widen(template_token, token(position));
            }
        }
        self.refile(key, index, &before);
        self.fold_siblings(key, index);
        index
    }

    /// Whether template `index` can take a message whose tokens `token` gives: it differs from
    /// the template only where one side holds a variable, or in one plain word that has been
    /// seen to vary ([`Miner::sibling_words`]; the word counts as evidence either way).
    fn takes<'m>(&mut self, key: (usize, u64), index: usize, token: &impl Fn(usize) -> &'m str) -> bool {
        // Positions where the template and the message hold different plain words (neither
        // side masked): a difference there may be a constant, so it needs evidence.
        let mut word_positions = Vec::new();
        for (position, template_token) in self.patterns[index].tokens.iter().enumerate() {
            let token = token(position);
            if !token_fits(template_token, token)
                && ((!is_variable(template_token) && !is_variable(token)) || other_words(template_token, token))
            {
                word_positions.push(position);
            }
        }
        match word_positions.as_slice() {
            [] => true,
            // Request methods are a closed set that names the event (`"GET <*>"` and
            // `"POST <*>"` are two), however many of them a position shows.
            [position]
                if is_request_method(&self.patterns[index].tokens[*position])
                    && is_request_method(token(*position)) =>
            {
                false
            }
            [position] => {
                let tokens = &self.patterns[index].tokens;
                let others = tokens
                    .iter()
                    .enumerate()
                    .filter(|(at, _)| at != position)
                    // Tokens holding a variable count as one wildcard, so `rhost=<*>` and `<*>` agree.
                    .map(|(_, token)| if is_variable(token) { WILDCARD } else { token.as_str() })
                    .fold(0xcbf2_9ce4_8422_2325u64, |hash, token| stable_hash(token) ^ hash.rotate_left(5));
                if !self.evidence.contains_key(&(key, *position, others)) {
                    let values = self.sibling_words(key, index, *position);
                    self.evidence.insert((key, *position, others), values);
                }
                let values = self.evidence.get_mut(&(key, *position, others)).expect("filed above");
                if values.len() < self.words_for_a_variable + STATE_EXTRA
                    && !values.iter().any(|value| value == token(*position))
                {
                    values.push(token(*position).to_string());
                }
                values.len() >= words_needed(self.words_for_a_variable, values)
            }
            _ => false,
        }
    }

    /// The words at `position` of pattern `index` and of the patterns of its bucket that
    /// differ from it only there (variables as wildcards): the evidence that the position
    /// varies, as the patterns themselves keep it, so it is the same after a restart.
    fn sibling_words(&self, key: (usize, u64), index: usize, position: usize) -> Vec<String> {
        let tokens = &self.patterns[index].tokens;
        let mut words = vec![tokens[position].clone()];
        let Some(bucket) = self.buckets.get(&key) else { return words };
        let mut siblings = Vec::new();
        bucket.candidates(|at| tokens[at].as_str(), tokens.len(), &mut siblings);
        for sibling in siblings {
            let other = &self.patterns[sibling].tokens;
            let same_elsewhere = other.len() == tokens.len()
                && other
                    .iter()
                    .zip(tokens)
                    .enumerate()
                    .all(|(at, (a, b))| at == position || a == b || (is_variable(a) && is_variable(b)));
            let (mine, theirs) = (tokens[position].as_str(), other[position].as_str());
            let a_word_apart = !token_fits(mine, theirs)
                && ((!is_variable(mine) && !is_variable(theirs)) || other_words(mine, theirs));
            if same_elsewhere
                && a_word_apart
                && !words.iter().any(|word| word == theirs)
                && words.len() < self.words_for_a_variable + STATE_EXTRA
            {
                words.push(other[position].clone());
            }
        }
        words
    }

    /// Whether pattern `index` matches the masked message token for token (or by wildcard).
    fn covers(&self, index: usize, message: &str, spans: &[(usize, usize)]) -> bool {
        let tokens = &self.patterns[index].tokens;
        tokens.len() == spans.len()
            && tokens.iter().zip(spans).all(|(token, &(from, to))| token_fits(token, &message[from..to]))
    }

    /// Starts a pattern for a message no template took, unless its bucket is full: then the
    /// message is merged into the template it fits best (most constant tokens fitting, then the
    /// most messages), which widens where they differ.
    fn start_or_merge(&mut self, key: (usize, u64), message: &str, spans: &[(usize, usize)]) -> usize {
        let Some(bucket) = self.buckets.get(&key).filter(|bucket| bucket.members.len() >= TEMPLATES_PER_BUCKET) else {
            return self.start_pattern(key, message, spans);
        };
        let mut best: Option<(usize, f64)> = None;
        for &member in &bucket.members {
            let score = self.similarity(&self.patterns[member].tokens, message, spans);
            let better = match best {
                None => true,
                Some((top, top_score)) => {
                    score > top_score || (score == top_score && self.patterns[member].count > self.patterns[top].count)
                }
            };
            if better {
                best = Some((member, score));
            }
        }
        let (index, _) = best.expect("a full bucket has members");
        let pattern = &mut self.patterns[index];
        pattern.count += 1;
        let before = pattern.tokens.clone();
        for (position, template_token) in pattern.tokens.iter_mut().enumerate() {
            let (from, to) = spans[position];
            if !token_fits(template_token, &message[from..to]) {
                *template_token = widen(template_token, &message[from..to]);
            }
        }
        self.refile(key, index, &before);
        self.fold_siblings(key, index);
        index
    }

    /// Starts a pattern for a message no template absorbed.
    fn start_pattern(&mut self, key: (usize, u64), message: &str, spans: &[(usize, usize)]) -> usize {
        let template: Vec<String> = spans.iter().map(|&(from, to)| message[from..to].to_string()).collect();
        let id = self.fresh_id(&template.join(" "));
        self.patterns.push(Pattern { id, tokens: template, count: 1 });
        let index = self.patterns.len() - 1;
        self.aliases.push(index);
        self.joined.push(index);
        self.versions.push(0);
        self.buckets.entry(key).or_default().insert(index, &self.patterns[index].tokens);
        self.join_other_lengths(index);
        index
    }

    /// Joins pattern `index` to an older pattern of another token count that is the same event
    /// once variables of varying length are allowed for: the same constant words in the same
    /// order, and between each two of them, on both sides, either nothing or a short run of
    /// variables and units holding a variable (`<*> bytes sent` and `<*> bytes (<*> KB) sent`,
    /// `lifetime <*>` and `lifetime <<*> sec`). A miner that buckets by token count alone
    /// never joins these.
    fn join_other_lengths(&mut self, index: usize) {
        let root = self.standing(index);
        let tokens = &self.patterns[root].tokens;
        // Only a template with a run of variables and units can have another length.
        if !tokens.iter().any(|token| is_bare_variable(token) || is_unit(token)) {
            return;
        }
        let Some(shape) = skeleton(tokens) else { return };
        let length = tokens.len();
        let version = self.versions[root];
        let entries = self.skeletons.entry(shape.hash).or_default();
        let versions = &self.versions;
        entries.retain(|entry| versions[entry.index] == entry.version);
        let mut matches: Vec<usize> = entries
            .iter()
            .filter(|entry| entry.length != length && entry.index != root && shape.runs_agree(&entry.runs))
            .map(|entry| entry.index)
            .collect();
        if !entries.iter().any(|entry| entry.index == root) {
            entries.push(SkeletonEntry { index: root, version, length, runs: shape.runs });
        }
        matches.sort_unstable();
        let mut target = self.resolve(root);
        for candidate in matches {
            let other = self.resolve(candidate);
            if other == target {
                continue;
            }
            // The older pattern stands for both: its id is the one records already carry.
            let (older, newer) = if other < target { (other, target) } else { (target, other) };
            self.joined[newer] = older;
            self.note_join_head(older);
            self.merged.push(newer);
            self.patterns[older].count += std::mem::take(&mut self.patterns[newer].count);
            target = older;
        }
    }

    /// Folds into `target` every pattern of its bucket that differs from it only where one
    /// side holds a variable (the rule that lets a message join a template), widening those
    /// positions; a template that just widened may now be the same pattern as its siblings.
    fn fold_siblings(&mut self, key: (usize, u64), target: usize) {
        let before = self.patterns[target].tokens.clone();
        let Some(bucket) = self.buckets.get(&key) else { return };
        // Two tokens that frame a variable with other words (`tag=<*>,` / `uid=<*>,`) differ as
        // two plain words do, unless one fits the other (`user=<*>` / `user=root`): folding
        // them would widen the keys of a `k=v` list away.
        let compatible = |template: &[String], sibling: &[String]| {
            template.len() == sibling.len()
                && template.iter().zip(sibling).all(|(t, s)| {
                    t == s
                        || token_fits(t, s)
                        || token_fits(s, t)
                        || ((is_variable(t) || is_variable(s)) && !other_words(t, s))
                })
        };
        let mut members = Vec::new();
        let tokens = &self.patterns[target].tokens;
        bucket.candidates(|at| tokens[at].as_str(), tokens.len(), &mut members);
        let covered: Vec<usize> = members
            .into_iter()
            .filter(|&other| other != target && compatible(&self.patterns[target].tokens, &self.patterns[other].tokens))
            .collect();
        for &other in &covered {
            let sibling = std::mem::take(&mut self.patterns[other].tokens);
            for (template_token, sibling_token) in self.patterns[target].tokens.iter_mut().zip(&sibling) {
                if template_token != sibling_token {
                    *template_token = widen(template_token, sibling_token);
                }
            }
            self.patterns[other].tokens = sibling;
            // What `other` was joined to, it keeps through its target: the two groups' roots
            // are linked, the newer to the older, as joins are.
            let joined_group = (self.joined[other] != other).then(|| self.resolve(self.joined[other]));
            self.aliases[other] = target;
            self.merged.push(other);
            if let Some(group) = joined_group {
                let ours = self.resolve(target);
                if group != ours {
                    let (older, newer) = if group < ours { (group, ours) } else { (ours, group) };
                    self.joined[newer] = older;
                    self.note_join_head(older);
                    self.merged.push(newer);
                }
            }
            self.patterns[target].count += self.patterns[other].count;
        }
        if let Some(bucket) = self.buckets.get_mut(&key) {
            for &other in &covered {
                bucket.remove(other, &self.patterns[other].tokens);
            }
        }
        self.refile(key, target, &before);
    }

    /// Files pattern `index` of bucket `key` under its template after it changed from `before`.
    fn refile(&mut self, key: (usize, u64), index: usize, before: &[String]) {
        if self.patterns[index].tokens == before {
            return;
        }
        let bucket = self.buckets.get_mut(&key).expect("a pattern's bucket exists");
        bucket.remove(index, before);
        bucket.insert(index, &self.patterns[index].tokens);
        self.versions[index] += 1;
        self.join_other_lengths(index);
    }

    /// The pattern of its own length that pattern `index` was folded into, if any: the one
    /// whose template takes the messages `index` took (what the fast paths of [`Miner::add`]
    /// check a message against).
    fn standing(&self, mut index: usize) -> usize {
        while let Some(&next) = self.aliases.get(index) {
            if next == index {
                break;
            }
            index = next;
        }
        index
    }

    /// The patterns folded or joined into another since the last call, each once, oldest
    /// first, with the pattern each stands for now (never itself): what ids records carry
    /// that now name another pattern.
    pub fn take_merged(&mut self) -> Vec<(usize, usize)> {
        let mut merged = std::mem::take(&mut self.merged);
        merged.sort_unstable();
        merged.dedup();
        merged.into_iter().map(|index| (index, self.resolve(index))).filter(|(index, now)| index != now).collect()
    }

    fn note_join_head(&mut self, older: usize) {
        if !self.join_heads.contains(&older) {
            self.join_heads.push(older);
        }
    }

    /// The template that pattern `index` stands for now, as shown. A pattern that messages of
    /// several lengths joined shows each run of variables and units between its constant
    /// words as one variable (`<*> sent` for `0 bytes sent` and `18846 bytes (18.4 KB) sent`):
    /// the variable is the run, however many tokens it takes.
    pub fn template(&self, index: usize) -> String {
        let root = self.resolve(index);
        let tokens = &self.patterns[root].tokens;
        if !self.join_heads.iter().any(|&head| self.resolve(head) == root) {
            return tokens.join(" ");
        }
        let mut shown: Vec<String> = Vec::with_capacity(tokens.len());
        let mut run: Vec<&str> = Vec::new();
        let close = |run: &mut Vec<&str>, shown: &mut Vec<String>| {
            if run.iter().any(|token| is_bare_variable(token)) {
                let first = run[0];
                let last = run[run.len() - 1];
                let opening: String = first.chars().take_while(|c| !c.is_alphanumeric() && *c != '<').collect();
                let closing_at = last.rfind(|c: char| c.is_alphanumeric() || c == '>').map_or(0, |at| at + 1);
                shown.push(format!("{opening}{WILDCARD}{}", &last[closing_at..]));
            } else {
                shown.extend(run.iter().map(|token| token.to_string()));
            }
            run.clear();
        };
        for token in tokens {
            if is_bare_variable(token) || is_unit(token) {
                run.push(token);
            } else {
                close(&mut run, &mut shown);
                shown.push(token.clone());
            }
        }
        close(&mut run, &mut shown);
        shown.join(" ")
    }

    /// The pattern that pattern `index` stands for now (after any folding or joining).
    pub fn resolve(&self, index: usize) -> usize {
        let step = |at: usize| {
            let folded = self.aliases.get(at).copied().unwrap_or(at);
            if folded != at { folded } else { self.joined.get(at).copied().unwrap_or(at) }
        };
        let mut at = index;
        for _ in 0..=self.patterns.len() {
            let next = step(at);
            if next == at {
                return at;
            }
            at = next;
        }
        // A fold into a pattern that was itself joined into the folded one's group closes a
        // loop: the loop stands for one pattern, its oldest.
        let (start, mut lowest) = (at, at);
        at = step(at);
        while at != start {
            lowest = lowest.min(at);
            at = step(at);
        }
        lowest
    }

    /// A new id from the template it starts with, unique among the patterns so far.
    fn fresh_id(&mut self, template: &str) -> String {
        let mut salt = 0u32;
        loop {
            let seed = if salt == 0 { template.to_string() } else { format!("{template}#{salt}") };
            let id = stable_hash(&seed);
            if self.ids.insert(id) {
                return format!("{id:016x}");
            }
            salt += 1;
        }
    }

    /// The share of the template's constant positions where the message has the same token; a
    /// template of only wildcards matches anything of its length.
    fn similarity(&self, template: &[String], message: &str, spans: &[(usize, usize)]) -> f64 {
        let mut constant = 0usize;
        let mut equal = 0usize;
        for (template_token, &(from, to)) in template.iter().zip(spans) {
            if template_token == WILDCARD {
                continue;
            }
            constant += 1;
            if token_fits(template_token, &message[from..to]) {
                equal += 1;
            }
        }
        if constant == 0 { 1.0 } else { equal as f64 / constant as f64 }
    }

    /// The miner's state as text: one pattern a line, `id<TAB>count<TAB>template`, where the
    /// count of a pattern folded into pattern `N` reads `@N`, and that of a pattern joined to
    /// pattern `N` of another length `count>N`.
    pub fn save(&self) -> String {
        let mut text = String::new();
        for (index, pattern) in self.patterns.iter().enumerate() {
            // A folded pattern is kept as `@target`, so indexes stay the same after a restore.
            let count = match (self.aliases[index], self.joined[index]) {
                (target, _) if target != index => format!("@{target}"),
                (_, older) if older != index => format!("{}>{older}", pattern.count),
                _ => pattern.count.to_string(),
            };
            text.push_str(&format!("{}\t{count}\t{}\n", pattern.id, pattern.tokens.join(" ")));
        }
        text
    }

    /// Restores a miner saved with [`Miner::save`]; pattern indexes are the same as before.
    pub fn load(similarity_threshold: f64, saved: &str) -> Result<Self, String> {
        let mut miner = Self::new(similarity_threshold);
        let lines = saved.lines().count();
        for (number, line) in saved.lines().enumerate() {
            let mut parts = line.splitn(3, '\t');
            let (Some(id), Some(count), Some(template)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("state line {}: expected id, count and template", number + 1));
            };
            let tokens: Vec<String> = template.split(' ').map(str::to_string).collect();
            let index = miner.patterns.len();
            let (count, joined) = match count.split_once('>') {
                Some((count, older)) => {
                    let older: usize =
                        older.parse().map_err(|error| format!("state line {}: join target: {error}", number + 1))?;
                    if older >= index {
                        return Err(format!("state line {}: join target {older} is not an older pattern", number + 1));
                    }
                    (count, older)
                }
                None => (count, index),
            };
            let (count, alias) = match count.strip_prefix('@') {
                Some(target) => {
                    let target: usize =
                        target.parse().map_err(|error| format!("state line {}: fold target: {error}", number + 1))?;
                    if target >= lines || target == index {
                        return Err(format!("state line {}: fold target {target} is not another pattern", number + 1));
                    }
                    (0, target)
                }
                None => (count.parse().map_err(|error| format!("state line {}: count: {error}", number + 1))?, index),
            };
            if alias == index {
                let key = Self::bucket_key(tokens.len(), tokens.first().map(String::as_str));
                miner.buckets.entry(key).or_default().insert(index, &tokens);
            }
            // An id that is not 16 hex digits (from elsewhere) cannot be made again: no need to file it.
            if let Ok(number) = u64::from_str_radix(id, 16) {
                miner.ids.insert(number);
            }
            if alias == index
                && let Some(shape) = skeleton(&tokens)
            {
                let entry = SkeletonEntry { index, version: 0, length: tokens.len(), runs: shape.runs };
                miner.skeletons.entry(shape.hash).or_default().push(entry);
            }
            miner.patterns.push(Pattern { id: id.to_string(), tokens, count });
            miner.aliases.push(alias);
            miner.joined.push(joined);
            if joined != index {
                miner.note_join_head(joined);
            }
            miner.versions.push(0);
        }
        Ok(miner)
    }
}

/// The line of a message that names its event: the first, for a message of several lines (a
/// stack trace, `Caused by: …`), since frames and causes vary between occurrences of one event
/// and would split it; for a Python traceback, whose first line only says that a traceback
/// follows, the last (`ValueError: …`).
pub fn headline(message: &str) -> &str {
    if !message.contains('\n') {
        return message;
    }
    let mut lines = message.lines().filter(|line| !line.trim().is_empty());
    let first = lines.next().unwrap_or(message);
    if first.trim_start().starts_with("Traceback (most recent call last)") {
        return lines.last().unwrap_or(first);
    }
    first
}

/// How many more distinct values a position of state names needs than one of other words
/// before it becomes a variable: with the shipped 3, states need 5, the count the 7 other
/// systems choose when Linux (whose user names must widen at 3) is left out.
const STATE_EXTRA: usize = 2;

/// Whether a token is a state or status name as messages write one: a capitalized word of
/// lower-case letters (`Started`, `Paused`, `Authenticated`), punctuation around it aside.
/// Names of users, hosts or processes are written as they are (`root`, `cyrus`, `QQ`), so a
/// position of lower-case names still widens at the shipped count.
fn is_state_word(token: &str) -> bool {
    let word = token.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let mut chars = word.chars();
    word.len() >= 3 && chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_lowercase())
}

/// The distinct values a position needs to become a variable, given the values seen there.
fn words_needed(words: usize, values: &[String]) -> usize {
    if values.iter().all(|value| is_state_word(value)) {
        words + STATE_EXTRA
    } else if field_values(values) {
        FIELD_VALUES
    } else {
        words
    }
}

/// The distinct values that make a position of one identity key's values (`user=root`,
/// `user=guest`) a variable: who or where is data however few values a sample shows.
const FIELD_VALUES: usize = 2;

/// Keys whose values say who or where (a user, a host, a peer), not what happened: unlike
/// `reason=`, `state=` or `result=`, their values never name an event.
const IDENTITY_KEYS: [&str; 16] = [
    "user", "username", "ruser", "logname", "login", "account", "owner", "uid", "host", "hostname", "rhost", "client",
    "peer", "node", "ip", "addr",
];

/// Whether every value is `key=value` with one and the same identity key and a plain name for
/// a value (a value holding a variable or punctuation, `tty=:<*>`, is another kind of value).
fn field_values(values: &[String]) -> bool {
    let key_of = |value: &str| {
        let (key, rest) = value.split_once('=')?;
        let key = key.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
        let word =
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        (word && IDENTITY_KEYS.contains(&key.to_ascii_lowercase().as_str())).then(|| key.to_string())
    };
    let Some(first) = values.first().and_then(|value| key_of(value)) else { return false };
    values.iter().all(|value| key_of(value).as_deref() == Some(first.as_str()))
}

/// Whether a token is an HTTP request method, quotes or brackets around it aside (`"GET`).
fn is_request_method(token: &str) -> bool {
    const METHODS: [&str; 9] = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "CONNECT", "TRACE"];
    let word = token.trim_matches(|c: char| c == '"' || c == '\'' || c == '[' || c == '(');
    METHODS.contains(&word)
}

/// Words that measure the number before them (`12 bytes`, `(1.2 KB)`, `<1 sec`): part of a
/// variable of varying length, not constant text, for [`skeleton`].
const UNITS: [&str; 31] = [
    "b", "byte", "bytes", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "k", "ms", "us", "µs", "ns", "s", "sec", "secs",
    "second", "seconds", "min", "mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours", "day", "days",
];

/// Whether a template token is a variable with nothing but punctuation around it (`<*>`,
/// `(<*>`, `<<*>`), as opposed to a key framing one (`user=<*>`).
fn is_bare_variable(token: &str) -> bool {
    // `<*>` holds no letter or digit, so the token's own bytes tell.
    is_variable(token) && token.bytes().all(|byte| !byte.is_ascii_alphanumeric())
}

/// Whether a token is a unit once the punctuation around it is dropped (`KB)`, `sec,`).
fn is_unit(token: &str) -> bool {
    let word = token.trim_matches(|c: char| !c.is_alphanumeric() && c != 'µ');
    !word.is_empty() && UNITS.iter().any(|unit| unit.eq_ignore_ascii_case(word))
}

/// A template's constant words (units and bare variables left out) and, around and between
/// them, the runs of left-out tokens: how many and whether they hold a variable.
struct Skeleton {
    hash: u64,
    runs: Vec<(usize, bool)>,
}

/// A pattern filed under its skeleton's hash, as its template was at `version`.
#[derive(Debug, Clone)]
struct SkeletonEntry {
    index: usize,
    version: u32,
    length: usize,
    runs: Vec<(usize, bool)>,
}

/// Tokens a run between two constant words may hold, on either side of a join.
const MOST_RUN_TOKENS: usize = 4;

impl Skeleton {
    /// Whether two templates with this skeleton are one event: each run empty on both sides,
    /// or on both sides at most [`MOST_RUN_TOKENS`] tokens holding a variable.
    fn runs_agree(&self, other: &[(usize, bool)]) -> bool {
        self.runs.len() == other.len()
            && self.runs.iter().zip(other).all(|(&(a, a_variable), &(b, b_variable))| {
                (a == 0 && b == 0)
                    || (a_variable
                        && b_variable
                        && (1..=MOST_RUN_TOKENS).contains(&a)
                        && (1..=MOST_RUN_TOKENS).contains(&b))
            })
    }
}

/// The [`Skeleton`] of a template with two constant words or more (fewer say too little to
/// join on).
fn skeleton(tokens: &[String]) -> Option<Skeleton> {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut runs = vec![(0, false)];
    let mut constants = 0;
    for token in tokens {
        let bare = is_bare_variable(token);
        if bare || is_unit(token) {
            let run = runs.last_mut().expect("runs start with one");
            run.0 += 1;
            run.1 |= bare;
        } else {
            hash = stable_hash(token) ^ hash.rotate_left(7);
            constants += 1;
            runs.push((0, false));
        }
    }
    (constants >= 2).then_some(Skeleton { hash, runs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_agrees_with_equality_at_every_length() {
        let text = b"0123456789abcdefghijklmnopqrstuvwxyz";
        for length in 0..text.len() {
            let a = &text[..length];
            assert!(same_bytes(a, a), "{length}");
            for flip in 0..length {
                let mut b = a.to_vec();
                b[flip] ^= 1;
                assert!(!same_bytes(a, &b), "length {length}, byte {flip} differs");
            }
            assert!(!same_bytes(a, &text[..length + 1]));
        }
    }

    #[test]
    fn one_exception_with_other_frames_and_causes_is_one_pattern_named_by_its_headline() {
        let mut miner = Miner::default();
        let with_cause = "[worker-1] InventorySync failed: java.lang.IllegalStateException: SKU cache not initialised\n\
                          \tat com.shop.SkuCache.get(SkuCache.java:88)\n\
                          Caused by: java.net.SocketTimeoutException: Read timed out";
        let without = "[worker-1] InventorySync failed: java.lang.IllegalStateException: SKU cache not initialised\n\
                       \tat com.shop.SkuCache.get(SkuCache.java:91)\n\tat com.shop.Sync.run(Sync.java:42)";
        let (a, b) = (miner.add(with_cause), miner.add(without));
        assert_eq!(miner.resolve(a), miner.resolve(b));
        assert_eq!(
            miner.template(a),
            "[worker-1] InventorySync failed: java.lang.IllegalStateException: SKU cache not initialised"
        );
        // A Python traceback is named by its last line, the exception.
        let traceback = |error: &str| {
            format!("Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n    main()\n{error}")
        };
        let value = miner.add(&traceback("ValueError: invalid literal for int() with base 10: 'x'"));
        let key = miner.add(&traceback("KeyError: 'user'"));
        assert_ne!(miner.resolve(value), miner.resolve(key));
        assert_eq!(miner.template(key), "KeyError: 'user'");
    }

    #[test]
    fn numbers_become_wildcards_and_similar_lines_share_a_pattern() {
        let mut miner = Miner::default();
        let first = miner.add("Receiving block blk_123 src: /10.0.0.1:50010");
        let second = miner.add("Receiving block blk_456 src: /10.0.0.2:50010");
        assert_eq!(first, second);
        assert_eq!(miner.patterns()[first].template(), "Receiving block <*> src: <*>");
    }

    #[test]
    fn a_word_becomes_a_variable_after_three_distinct_values_and_siblings_fold_in() {
        let mut miner = Miner::default();
        let first = miner.add("user alice logged in from web");
        let id = miner.patterns()[first].id.clone();
        let second = miner.add("user bob logged in from web");
        assert_ne!(first, second, "two values may be two constants");
        let third = miner.add("user carol logged in from web");
        assert_eq!(third, first);
        assert_eq!(miner.patterns()[first].id, id);
        assert_eq!(miner.patterns()[first].template(), "user <*> logged in from web");
        assert_eq!(miner.resolve(second), first, "the sibling folded into the widened pattern");
        assert_eq!(miner.patterns()[first].count, 3);
        assert_eq!(miner.take_merged(), [(second, first)], "the fold is told once");
        assert!(miner.take_merged().is_empty());
    }

    #[test]
    fn two_words_stay_two_patterns() {
        let mut miner = Miner::default();
        let spp = miner.add("Session: 30546173 initialized by client SPP.");
        let agent = miner.add("Session: 30546174 initialized by client WindowsUpdateAgent.");
        assert_ne!(spp, agent);
        assert_eq!(miner.add("Session: 30546175 initialized by client SPP."), spp);
    }

    #[test]
    fn a_single_digit_id_leading_the_line_becomes_a_variable() {
        let mut miner = Miner::default();
        let added: Vec<usize> = (1..=5).map(|n| miner.add(&format!("worker-{n} finished job in queue"))).collect();
        let last = miner.resolve(added[4]);
        assert_eq!(miner.patterns()[last].template(), "<*> finished job in queue");
        assert!(added.iter().all(|&index| miner.resolve(index) == last), "{added:?}");
    }

    #[test]
    fn unrelated_lines_get_distinct_patterns() {
        let mut miner = Miner::default();
        let first = miner.add("connection refused by peer");
        let second = miner.add("disk quota exceeded on volume");
        assert_ne!(first, second);
        assert_ne!(miner.patterns()[first].id, miner.patterns()[second].id);
    }

    #[test]
    fn variables_inside_tokens_keep_their_punctuation() {
        let mut miner = Miner::default();
        let index = miner.add("session opened for user news by (uid=0) at [5] via ssh2");
        assert_eq!(miner.patterns()[index].template(), "session opened for user news by (uid=<*>) at [<*>] via ssh2");
    }

    #[test]
    fn a_widened_token_keeps_its_constant_frame() {
        assert_eq!(widen("(host-a.example.com)", "(host-b.example.org)"), "(<*>)");
        assert_eq!(widen("user=root", "user=guest"), "user=<*>");
        assert_eq!(widen("rhost=<*>", "rhost="), "rhost=<*>");
        assert_eq!(widen("alpha", "beta"), "<*>");
        assert!(token_fits("(<*>)", "(anything here)"));
        assert!(!token_fits("(<*>)", "anything"));
        let mut miner = Miner::default();
        let added: Vec<usize> = ["a.example", "b.example", "c.example", "d.example"]
            .iter()
            .map(|host| miner.add(&format!("connection from 10.0.0.1 ({host}) at Sat Jun 18 02:08:10 2005")))
            .collect();
        let resolved: Vec<usize> = added.iter().map(|&index| miner.resolve(index)).collect();
        assert!(resolved.iter().all(|&index| index == resolved[0]), "one pattern once the host varied: {resolved:?}");
        assert_eq!(miner.patterns()[resolved[0]].template(), "connection from <*> (<*>) at <*>");
    }

    #[test]
    fn shape_lookups_pause_on_a_stream_of_new_shapes_and_come_back() {
        let mut probe = ShapeProbe::default();
        for _ in 0..PROBE_LENGTH {
            assert!(!probe.bypassing());
            probe.record(false);
        }
        for _ in 0..BYPASS_LENGTH {
            assert!(probe.bypassing());
        }
        assert!(!probe.bypassing(), "tried again after the bypass");
        for lookup in 0..PROBE_LENGTH {
            probe.record(lookup % 4 == 0);
        }
        assert!(!probe.bypassing(), "a probe that finds a quarter keeps the lookups on");
    }

    #[test]
    fn a_message_takes_the_same_pattern_with_or_without_its_shape_remembered() {
        let messages = ["job 17 took 250 ms", "job 42 took 981 ms", "job 7 took 12 ms", "disk sda1 at 93%"];
        let mut remembered = Miner::default();
        let first: Vec<usize> = messages.iter().map(|m| remembered.add(m)).collect();
        let again: Vec<usize> = messages.iter().map(|m| remembered.add(m)).collect();
        let mut fresh = Miner::default();
        fresh.shape_probe.bypass_left = u32::MAX;
        let unkeyed: Vec<usize> = messages.iter().chain(&messages).map(|m| fresh.add(m)).collect();
        assert_eq!([first, again].concat(), unkeyed);
        assert_eq!(remembered.patterns(), fresh.patterns());
    }

    #[test]
    fn the_bucket_index_finds_every_template_that_could_take_a_message() {
        // Templates and messages over a small vocabulary, some positions variables: every
        // template with at most one differing plain word must be a candidate, whatever the
        // positions of the variables on either side.
        let vocabulary = ["disk", "miss", "<*>", "hit", "id=<*>"];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            vocabulary[(state % vocabulary.len() as u64) as usize].to_string()
        };
        let templates: Vec<Vec<String>> = (0..300).map(|_| (0..5).map(|_| random()).collect()).collect();
        let mut bucket = Bucket::default();
        for (index, template) in templates.iter().enumerate() {
            bucket.insert(index, template);
        }
        // Removing and filing again (as widening does) keeps the index whole.
        for (index, template) in templates.iter().enumerate().step_by(3) {
            bucket.remove(index, template);
            bucket.insert(index, template);
        }
        let mut found = Vec::new();
        for _ in 0..300 {
            let message: Vec<String> = (0..5).map(|_| random()).collect();
            bucket.candidates(|at| message[at].as_str(), message.len(), &mut found);
            for (index, template) in templates.iter().enumerate() {
                if plain_differences(template, |at| message[at].as_str()) <= 1 {
                    assert!(found.contains(&index), "{template:?} could take {message:?} but was not found");
                }
            }
            assert!(found.windows(2).all(|pair| pair[0] < pair[1]), "candidates in order of creation");
        }
    }

    #[test]
    fn words_framing_a_variable_tell_events_apart_until_they_vary() {
        let mut miner = Miner::default();
        let by_uid: Vec<usize> = ["cyrus", "news", "root", "test"]
            .iter()
            .map(|u| miner.add(&format!("session opened for user {u} by (uid=0)")))
            .collect();
        let by_login = miner.add("session opened for user root by LOGIN(uid=0)");
        let by_uid: Vec<usize> = by_uid.into_iter().map(|index| miner.resolve(index)).collect();
        assert!(by_uid.iter().all(|&index| index == by_uid[0]), "{:?}", miner.patterns());
        assert_ne!(miner.resolve(by_login), by_uid[0], "LOGIN( is a constant until it varies");
        assert_eq!(miner.patterns()[by_uid[0]].template(), "session opened for user <*> by (uid=<*>)");

        let mut miner = Miner::default();
        let mut login_on = |tty: &str| miner.add(&format!("login on {tty}"));
        let (nodev, console) = (login_on("tty=NODEVssh"), login_on("tty=:0"));
        assert_ne!(nodev, console, "two values are not yet a variable");
        let ttys = [nodev, console, login_on("tty=pts/3"), login_on("tty=console")];
        let last = miner.resolve(ttys[3]);
        assert!(ttys.iter().all(|&index| miner.resolve(index) == last), "{:?}", miner.patterns());
        assert_eq!(miner.patterns()[last].template(), "login on tty=<*>");
    }

    #[test]
    fn a_message_the_closest_template_cannot_take_joins_the_next_that_can() {
        let mut miner = Miner::default();
        let mut add = |field: &str, reason: &str| {
            miner.add(&format!("validation failed order_id=4{}9 field={field} reason={reason}", field.len()))
        };
        let malformed: Vec<usize> = ["email", "zip", "phone"].iter().map(|field| add(field, "malformed")).collect();
        let empty: Vec<usize> = ["email", "zip", "phone", "email"].iter().map(|field| add(field, "empty")).collect();
        let last = miner.resolve(empty[3]);
        assert!(empty.iter().all(|&at| miner.resolve(at) == last), "{:?}", miner.patterns());
        assert!(malformed.iter().all(|&at| miner.resolve(at) != last), "two reasons, two events");
        assert_eq!(miner.template(last), "validation failed order_id=<*> field=<*> reason=empty");
    }

    #[test]
    fn state_names_need_more_values_than_other_words_to_become_a_variable() {
        let mut miner = Miner::default();
        let states: Vec<usize> = ["Started", "Paused", "Resumed", "Stopped"]
            .iter()
            .map(|state| miner.add(&format!("[instance: 6d2b8c] VM {state} (Lifecycle Event)")))
            .collect();
        let distinct: std::collections::HashSet<usize> = states.iter().map(|&at| miner.resolve(at)).collect();
        assert_eq!(distinct.len(), 4, "four states are four events: {:?}", miner.patterns());
        let fifth = miner.add("[instance: 6d2b8c] VM Suspended (Lifecycle Event)");
        assert!(states.iter().all(|&at| miner.resolve(at) == miner.resolve(fifth)), "{:?}", miner.patterns());
        assert_eq!(miner.template(fifth), "[instance: <*>] VM <*> (Lifecycle Event)");
        // Names written in lower case widen after three, as before.
        let mut miner = Miner::default();
        let users: Vec<usize> = ["cyrus", "news", "test"]
            .iter()
            .map(|user| miner.add(&format!("session closed for user {user}")))
            .collect();
        assert!(users.iter().all(|&at| miner.resolve(at) == miner.resolve(users[0])), "{:?}", miner.patterns());
    }

    #[test]
    fn fields_with_other_keys_stay_apart_when_siblings_fold() {
        // Two `k=v` lists of the same length: widening one template must not fold the other
        // into it through their masked values, which would leave a template of variables only.
        let mut miner = Miner::default();
        let mut release = Vec::new();
        for (lock, tag) in [(1u32, "launch"), (2, "WindowManager"), (3, "AudioEvent"), (4, "SCREEN")] {
            release.push(miner.add(&format!(
                "release:lock={lock}9667585, flg=0x0, tag=\"{tag}\", name=android\", ws=null, uid=1000, pid=1702"
            )));
        }
        let overlap: Vec<usize> = [196, 85, 46]
            .iter()
            .map(|amount| {
                miner.add(&format!(
                    "overlapAmount:{amount}.0, previousNotificationEnd:0.0, newYTranslation:-{amount}.0, location:4, i:0, getTopPadding:333.0, getLocationOnScreen():-529"
                ))
            })
            .collect();
        let release_now = miner.resolve(release[0]);
        assert!(release.iter().all(|&at| miner.resolve(at) == release_now), "{:?}", miner.patterns());
        assert!(overlap.iter().all(|&at| miner.resolve(at) != release_now), "{:?}", miner.patterns());
        assert!(
            miner.template(release_now).starts_with("release:lock=<*>, flg=<*>,"),
            "{}",
            miner.template(release_now)
        );
        // The same for a list of fields in one token: its keys tell it from another's.
        let mut miner = Miner::default();
        let tasks = miner.add("getRecentTasks: num=20,flags=62,totalTasks=46");
        let top = miner.add("getRecentTasks: topActivity=ComponentInfo{com.tencent.mm/com.tencent.mm.ui.LauncherUI}");
        assert_ne!(miner.resolve(tasks), miner.resolve(top));
        assert_eq!(miner.template(tasks), "getRecentTasks: num=<*>,flags=<*>,totalTasks=<*>");
    }

    #[test]
    fn a_dotted_name_leading_the_line_becomes_a_variable() {
        let mut miner = Miner::default();
        let names =
            ["com.apple.icloud.fmfd.heartbeat:", "com.apple.SoftwareUpdate.Activity:", "org.example.jobs.Sweep:"];
        let mined: Vec<usize> =
            names.iter().map(|name| miner.add(&format!("{name} told me to run this job in 439 s"))).collect();
        let first = miner.resolve(mined[0]);
        assert!(mined.iter().all(|&index| miner.resolve(index) == first), "{:?}", miner.patterns());
        assert_eq!(miner.patterns()[first].template(), "<*>: told me to run this job in <*> s");
    }

    #[test]
    fn a_full_bucket_widens_its_closest_template_instead_of_growing() {
        const WORDS: [&str; 12] =
            ["disk", "miss", "cache", "hit", "read", "write", "net", "slow", "retry", "ok", "cold", "warm"];
        // Every line a new order of common words: no two differ in one word only, often.
        let line = |n: usize| {
            let word = |shift: usize| WORDS[(n / 12usize.pow(shift as u32)) % 12];
            format!("WARN {} {} {} {} done", word(0), word(1), word(2), word(3))
        };
        let mut miner = Miner::default();
        let mined: Vec<usize> = (0..12usize.pow(4)).map(|n| miner.add(&line(n))).collect();
        let live = (0..miner.patterns().len()).filter(|&index| miner.resolve(index) == index).count();
        assert!(live <= TEMPLATES_PER_BUCKET, "{live} templates in one bucket");
        for (n, &index) in mined.iter().enumerate().step_by(97) {
            let pattern = &miner.patterns()[miner.resolve(index)];
            let (mut masked, mut spans) = (String::new(), Vec::new());
            mask_tokens(&line(n), &mut masked, &mut spans);
            assert!(
                miner.covers(miner.resolve(index), &masked, &spans),
                "{} does not cover {}",
                pattern.template(),
                line(n)
            );
        }
        let restored = Miner::load(0.5, &miner.save()).expect("state loads");
        let mut continued = miner.clone();
        let mut restarted = restored;
        for n in (0..500).map(|n| n * 7 + 3) {
            let (a, b) = (continued.add(&line(n)), restarted.add(&line(n)));
            assert_eq!(continued.patterns()[continued.resolve(a)].id, restarted.patterns()[restarted.resolve(b)].id);
        }
    }

    #[test]
    fn saved_state_restores_ids_and_counts() {
        let mut miner = Miner::default();
        miner.add("job 1 started");
        miner.add("job 2 started");
        let restored = Miner::load(0.5, &miner.save()).unwrap();
        assert_eq!(restored.patterns(), miner.patterns());
        let mut restored = restored;
        let index = restored.add("job 3 started");
        assert_eq!(restored.patterns()[index].id, miner.patterns()[0].id);
    }

    #[test]
    fn a_variable_whose_token_count_varies_is_one_event_across_restarts() {
        let lines = [
            "10.0.0.1:80 close, 0 bytes sent, 12 bytes received, lifetime 00:01",
            "10.0.0.2:80 close, 1190 bytes (1.16 KB) sent, 40 bytes received, lifetime 00:02",
            "10.0.0.3:80 close, 403 bytes sent, 426 bytes received, lifetime <1 sec",
            "10.0.0.4:80 close, 451 bytes sent, 18846 bytes (18.4 KB) received, lifetime <1 sec",
        ];
        let mut miner = Miner::default();
        let added: Vec<usize> = lines.iter().map(|line| miner.add(line)).collect();
        let ids: Vec<String> = added.iter().map(|&at| miner.patterns()[miner.resolve(at)].id.clone()).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "one event: {ids:?}");
        // After a restart, a new message of a joined length still gets the first id.
        let mut restored = Miner::load(0.5, &miner.save()).unwrap();
        let at = restored.add("10.0.0.5:80 close, 9 bytes sent, 77 bytes received, lifetime <1 sec");
        assert_eq!(restored.patterns()[restored.resolve(at)].id, ids[0]);
        // Shown, the variable is the whole run, however many tokens it takes, before and after
        // the restart; the template it is matched by keeps its tokens.
        let shown = "<*> close, <*> sent, <*> received, lifetime <*>";
        assert_eq!(miner.template(added[1]), shown);
        assert_eq!(restored.template(at), shown);
        assert_eq!(
            miner.patterns()[miner.resolve(added[0])].template(),
            "<*> close, <*> bytes sent, <*> bytes received, lifetime <*>"
        );
        let mut alone = Miner::default();
        let only = alone.add(lines[0]);
        assert_eq!(
            alone.template(only),
            "<*> close, <*> bytes sent, <*> bytes received, lifetime <*>",
            "no join, no change"
        );
        // Constant words that differ, or a key (not a unit) in the varying run, keep events apart.
        let mut miner = Miner::default();
        let a = miner.add("session closed for user alice rhost=10.0.0.1");
        let b = miner.add("session closed for user alice rhost=10.0.0.1 tty=ssh");
        let c = miner.add("Failed password for root from 10.0.0.2 port 22 ssh2");
        let d = miner.add("Failed password for invalid user root from 10.0.0.2 port 22 ssh2");
        assert_ne!(miner.resolve(a), miner.resolve(b));
        assert_ne!(miner.resolve(c), miner.resolve(d));
    }

    #[test]
    fn every_pattern_resolves_to_one_that_stands_after_folds_and_joins_mix() {
        // Lines whose sizes and words vary in length and value, so templates widen, fold their
        // siblings and join other lengths in every order.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        let words = ["alpha", "beta", "gamma", "delta"];
        let mut miner = Miner::default();
        for _ in 0..3000 {
            let size = if next(2) == 0 {
                format!("{} bytes", next(900))
            } else {
                format!("{} bytes ({}.{} KB)", next(90_000), next(99), next(9))
            };
            let life = if next(2) == 0 { format!("00:{:02}", next(60)) } else { "<1 sec".to_string() };
            let word = words[next(4) as usize];
            miner.add(&format!("{word} close, {size} sent, {} bytes received, lifetime {life}", next(500)));
        }
        for index in 0..miner.patterns().len() {
            let root = miner.resolve(index);
            assert_eq!(miner.resolve(root), root, "pattern {index} resolves to {root}, which does not stand");
        }
        let restored = Miner::load(0.5, &miner.save()).unwrap();
        for index in 0..miner.patterns().len() {
            assert_eq!(restored.resolve(index), miner.resolve(index), "after a restore");
        }
    }

    #[test]
    fn request_methods_name_their_events_however_many_there_are() {
        let mut miner = Miner::default();
        let get = miner.add(r#"10.0.0.1 "GET /v2/a/servers/detail HTTP/1.1" status: 200 len: 1893"#);
        let post = miner.add(r#"10.0.0.2 "POST /v2/b/servers HTTP/1.1" status: 202 len: 733"#);
        let delete = miner.add(r#"10.0.0.3 "DELETE /v2/c/servers/d HTTP/1.1" status: 204 len: 0"#);
        let put = miner.add(r#"10.0.0.4 "PUT /v2/e/servers/f HTTP/1.1" status: 200 len: 12"#);
        let again = miner.add(r#"10.0.0.5 "GET /v2/g/servers/detail HTTP/1.1" status: 200 len: 1900"#);
        let methods: std::collections::BTreeSet<usize> =
            [get, post, delete, put].iter().map(|&at| miner.resolve(at)).collect();
        assert_eq!(methods.len(), 4, "one event per method");
        assert_eq!(miner.resolve(again), miner.resolve(get));
    }

    #[test]
    fn one_keys_values_widen_at_two_where_words_need_more() {
        // The grid's largest count, so only the key=value rule can widen at 2 values.
        let mut miner = Miner::default().with_words_for_a_variable(5);
        let root = miner.add("authentication failure; rhost=10.0.0.1 user=root");
        let guest = miner.add("authentication failure; rhost=10.0.0.2 user=guest");
        assert_eq!(miner.resolve(root), miner.resolve(guest), "a field's value is data");
        assert_eq!(miner.template(root), "authentication failure; rhost=<*> user=<*>");
        // A value holding punctuation or a variable is a different kind of value, and plain
        // words still need the grid's count.
        let console = miner.add("check pass; tty=:0 ruser= rhost=");
        let ssh = miner.add("check pass; tty=NODEVssh ruser= rhost=");
        assert_ne!(miner.resolve(console), miner.resolve(ssh));
        let started = miner.add("worker alpha started");
        let stopped = miner.add("worker beta started");
        assert_ne!(miner.resolve(started), miner.resolve(stopped), "two plain words are not yet a variable");
    }

    #[test]
    fn corrupt_state_is_an_error_naming_the_line() {
        let error = Miner::load(0.5, "abc\t1\tx y\nbroken").unwrap_err();
        assert!(error.contains("state line 2"), "{error}");
    }
}

/// Whether a token is a dotted name (`com.apple.icloud.fmfd.heartbeat:`, `org.example.Main`):
/// three or more names joined by dots, naming one of many services, bundles or classes. Like a
/// token with a digit, it is no bucket key: it could never become `<*>` there.
fn is_dotted_name(token: &str) -> bool {
    let name = token.trim_end_matches(|c: char| c.is_ascii_punctuation() && c != '.');
    let mut parts = 0;
    for part in name.split('.') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return false;
        }
        parts += 1;
    }
    parts >= 3
}

/// Whether two tokens, one or both holding a variable, frame it with other words
/// (`(uid=<*>)` / `LOGIN(uid=<*>)`, `tty=NODEVssh` / `tty=:<*>`): the words are constants that
/// may tell two events apart, so the difference needs evidence as a plain word does. A token
/// with no word (`<*>`, `(<*>)`) frames nothing, and one with several variables (a path, a
/// list) holds words that are more likely part of its values.
fn other_words(a: &str, b: &str) -> bool {
    // `<*>` holds no letter, so a wildcard splits words as punctuation does.
    let words = |token| str::split(token, |c: char| !c.is_ascii_alphabetic()).filter(|word| !word.is_empty());
    let (mut a_words, mut b_words) = (words(a).peekable(), words(b).peekable());
    let framing = |token: &str| token.matches(WILDCARD).count() <= 1;
    if framing(a) && framing(b) {
        return a_words.peek().is_some() && b_words.peek().is_some() && !a_words.eq(b_words);
    }
    // A list of fields (`num=<*>,flags=<*>`) is told apart by its keys, however many values.
    let (mut a_keys, mut b_keys) = (keys(a).peekable(), keys(b).peekable());
    a_keys.peek().is_some() && b_keys.peek().is_some() && !a_keys.eq(b_keys)
}

/// The keys of a token's `key=value` fields, in order: the word before each `=`.
fn keys(token: &str) -> impl Iterator<Item = &str> {
    let mut rest = token;
    std::iter::from_fn(move || {
        loop {
            let at = rest.find('=')?;
            let before = &rest[..at];
            rest = &rest[at + 1..];
            let start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
                .map_or(0, |at| at + 1);
            if start < before.len() {
                return Some(&before[start..]);
            }
        }
    })
}
