//! The scenario `benches/feedback_quality.rs` scores: real background data from
//! `../shared/data` re-dated into one 48 h window, with incidents planted into it by a seeded
//! PRNG. Everything here is derived from the data and the seed; nothing looks at opsloop.
//!
//! In: the Loghub 2k structured CSVs (`Content`, `EventTemplate`, `Level`, `Component`) of
//! every system and the SeaMonkey Bugzilla export. Out: a [`Scenario`]: one JSON-lines log per
//! system (a source), the reports, and the truth of every line and report.
//!
//! - Background logs: every sample line of every system, in its own order, at sorted uniform
//!   times over the window, with its level when the CSV has one.
//! - Background reports: all SeaMonkey reports at uniform times, reporters drawn from a
//!   skewed pool (some unknown), and confounders written from templates: docs typos naming the
//!   logs' exception and component names, wording complaints quoting short generic fragments
//!   of the logs' messages (two or three words of a message of five words or more), feature
//!   requests, questions, packaging problems and unrelated bugs in the same everyday words as
//!   the incident reports, each with one sentence of a real tracker report; half carry a log
//!   source as their `component`.
//! - Incidents: a real error or warning template of one system (level WARN or worse on a real
//!   line, or an error word in it; rarer templates more likely; its real lines are held out of
//!   that seed's background so the burst is new), filled with fresh values in the style of the
//!   values its real lines carry (addresses stay addresses, times stay times), as a burst of
//!   30–200 lines in 10–60 minutes. Then 2–5 reports from distinct reporters from the burst
//!   start to 4 h after it: at least one quotes the message with other values (inline, as a log
//!   line with a prefix, or a long part of it), the rest describe the symptom without a quote.
//!   All of an incident's reports name one subject ("the job scheduler") that no other incident
//!   and no confounder names, with one effect ("times out"); 40% carry the burst's source as
//!   their `component`. Plus one burst no one reports and one group of 2–4 reports of a
//!   problem the logs do not show.
//!
//! Everything is drawn from `BTreeMap`s and the seed, so a seed gives the same scenario on
//! every machine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// 2024-03-04T00:00:00Z.
pub const WINDOW_START_MS: i64 = 1_709_510_400_000;
pub const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;
pub const WINDOW_MS: i64 = 48 * HOUR_MS;

/// Incidents with a burst and reports, per seed (plus one log-only and one report-only).
pub const CROSS_EVIDENCE_INCIDENTS: usize = 6;
/// Confounding background reports written per seed.
pub const CONFOUNDERS: usize = 80;

/// splitmix64: small, deterministic, good enough to draw scenarios.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next_u64() % (high - low + 1).max(1) as u64) as i64
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < probability
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// One line of a Loghub structured sample.
pub struct SampleRow {
    pub content: String,
    pub template: String,
    /// Only when the CSV's `Level` column holds a level (Linux's holds the host name).
    pub level: Option<String>,
    pub component: Option<String>,
}

/// One Loghub system: its sample and the source name it is imported under.
pub struct SystemSample {
    pub system: String,
    pub source: String,
    pub rows: Vec<SampleRow>,
}

/// One SeaMonkey report (the text; ids, times and reporters are drawn per seed).
pub struct TrackerReport {
    pub title: String,
    pub body: String,
    pub status: String,
    pub priority: String,
}

/// All the real data a scenario is made of.
pub struct Background {
    pub systems: Vec<SystemSample>,
    pub tracker: Vec<TrackerReport>,
}

pub const SYSTEMS: [&str; 8] = ["HDFS", "Hadoop", "Spark", "OpenSSH", "Linux", "HealthApp", "Windows", "Mac"];
const LEVELS: [&str; 10] =
    ["TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "FATAL", "CRITICAL", "SEVERE"];
const SEVERE_LEVELS: [&str; 6] = ["WARN", "WARNING", "ERROR", "FATAL", "CRITICAL", "SEVERE"];
const ERROR_WORDS: [&str; 16] = [
    "error",
    "errors",
    "exception",
    "fail",
    "failed",
    "failure",
    "failures",
    "refused",
    "timeout",
    "timed",
    "denied",
    "unable",
    "cannot",
    "invalid",
    "lost",
    "abort",
];

/// Reads the samples and the tracker export under `root` (`../shared/data`); `None` when a
/// file is missing.
pub fn load(root: &Path) -> Option<Background> {
    let mut systems = Vec::new();
    for system in SYSTEMS {
        let path = root.join("loghub2k").join(system).join(format!("{system}_2k.log_structured_corrected.csv"));
        let mut reader = csv::Reader::from_path(&path).ok()?;
        let headers = reader.headers().ok()?.clone();
        let column = |name: &str| headers.iter().position(|header| header == name);
        let (content, template) = (column("Content")?, column("EventTemplate")?);
        let (level, component) = (column("Level"), column("Component"));
        let rows = reader
            .records()
            .map(|row| {
                let row = row.expect("a readable Loghub CSV row");
                let level = level
                    .map(|i| row[i].trim().to_ascii_uppercase())
                    .filter(|level| LEVELS.contains(&level.as_str()))
                    .map(|level| if level == "WARNING" { "WARN".to_string() } else { level });
                SampleRow {
                    content: row[content].to_string(),
                    template: row[template].to_string(),
                    level,
                    component: component.map(|i| row[i].to_string()).filter(|c| !c.is_empty()),
                }
            })
            .collect();
        systems.push(SystemSample { system: system.to_string(), source: system.to_lowercase(), rows });
    }
    let path = root.join("tickets/seamonkey/SeaMonkey_bugs.csv");
    let mut reader = csv::Reader::from_path(&path).ok()?;
    let tracker = reader
        .records()
        .map(|row| {
            let row = row.expect("a readable SeaMonkey row");
            TrackerReport {
                title: row[0].to_string(),
                body: row[7].to_string(),
                status: row[2].to_string(),
                priority: row[3].to_string(),
            }
        })
        .collect();
    Some(Background { systems, tracker })
}

/// Where a line or a report comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Truth {
    Background,
    Incident(usize),
}

#[derive(Clone)]
pub struct LogLine {
    pub time_ms: i64,
    pub level: Option<String>,
    pub message: String,
    pub truth: Truth,
}

/// One source's log, oldest first.
pub struct Source {
    pub name: String,
    pub lines: Vec<LogLine>,
}

#[derive(Clone)]
pub struct Report {
    pub id: String,
    pub title: String,
    pub body: String,
    pub created_ms: i64,
    pub reporter: Option<String>,
    pub component: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    pub truth: Truth,
    /// Whether the report quotes the incident's message (a report every link must hold).
    pub quotes: bool,
    /// A background report written to share words with the logs.
    pub confounder: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentKind {
    /// A burst and reports about it.
    CrossEvidence,
    /// A burst no one reports.
    LogOnly,
    /// Reports of a problem the logs do not show.
    ReportOnly,
}

impl IncidentKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::CrossEvidence => "logs+reports",
            Self::LogOnly => "logs only",
            Self::ReportOnly => "reports only",
        }
    }
}

pub struct Incident {
    pub kind: IncidentKind,
    pub source: Option<String>,
    /// The real template the burst fills.
    pub template: Option<String>,
    pub burst_lines: usize,
    /// When the burst starts (reports only: when the first report may be filed).
    pub burst_start_ms: i64,
    pub burst_minutes: i64,
    pub reports: usize,
    pub quoting: usize,
}

pub struct Scenario {
    pub seed: u64,
    pub sources: Vec<Source>,
    pub reports: Vec<Report>,
    pub incidents: Vec<Incident>,
}

impl Scenario {
    /// The negative control: the same background lines and reports, without any incident.
    pub fn background_only(&self) -> Scenario {
        let background = |truth: &Truth| *truth == Truth::Background;
        Scenario {
            seed: self.seed,
            sources: self
                .sources
                .iter()
                .map(|source| Source {
                    name: source.name.clone(),
                    lines: source.lines.iter().filter(|line| background(&line.truth)).cloned().collect(),
                })
                .collect(),
            reports: self.reports.iter().filter(|report| background(&report.truth)).cloned().collect(),
            incidents: Vec::new(),
        }
    }
}

// ---- templates and values ----

/// The literal pieces of a template around its `<*>` slots.
fn pieces(template: &str) -> Vec<&str> {
    template.split("<*>").collect()
}

/// The values a line's message gives the template's slots, if the message fits it.
fn slot_values(template: &str, message: &str) -> Option<Vec<String>> {
    let pieces = pieces(template);
    let mut rest = message.strip_prefix(pieces[0])?;
    let mut values = Vec::new();
    for (i, piece) in pieces.iter().enumerate().skip(1) {
        if i == pieces.len() - 1 {
            values.push(rest.strip_suffix(piece)?.to_string());
            rest = "";
        } else if piece.is_empty() {
            // Two slots in a row: the first takes one token.
            let end = rest.find(' ').unwrap_or(rest.len());
            values.push(rest[..end].to_string());
            rest = &rest[end..];
        } else {
            let at = rest.find(piece)?;
            values.push(rest[..at].to_string());
            rest = &rest[at + piece.len()..];
        }
    }
    Some(values)
}

fn fill(template: &str, values: &[String]) -> String {
    let pieces = pieces(template);
    let mut out = pieces[0].to_string();
    for (piece, value) in pieces[1..].iter().zip(values) {
        out.push_str(value);
        out.push_str(piece);
    }
    out
}

/// The length of an IPv4 address at the start of `text` (four dot-separated runs of 1–3
/// digits, not followed by more digits), if there is one.
fn ipv4_at(text: &[char]) -> Option<usize> {
    let mut at = 0;
    for part in 0..4 {
        let digits = text[at..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=3).contains(&digits) {
            return None;
        }
        at += digits;
        if part < 3 {
            if text.get(at) != Some(&'.') {
                return None;
            }
            at += 1;
        }
    }
    let followed = text.get(at).is_some_and(char::is_ascii_digit)
        || (text.get(at) == Some(&'.') && text.get(at + 1).is_some_and(char::is_ascii_digit));
    (!followed).then_some(at)
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Other digits for the run `chars[start..start + length]`, in keeping with what it is: a
/// time of day stays a time, a day after a month name a day, a year and the `0` of `0x` stay.
fn fresh_digits(rng: &mut Rng, chars: &[char], start: usize, length: usize) -> String {
    let run: String = chars[start..start + length].iter().collect();
    let before = start.checked_sub(1).map(|i| chars[i]);
    let after = chars.get(start + length).copied();
    let digit_at = |i: Option<usize>| i.and_then(|i| chars.get(i)).is_some_and(char::is_ascii_digit);
    let padded = |value: i64| format!("{value:0length$}");
    if run == "0" && matches!(after, Some('x' | 'X')) {
        return run;
    }
    let time_after = after == Some(':') && digit_at(Some(start + length + 1));
    let time_before = before == Some(':') && digit_at(start.checked_sub(2));
    if length <= 2 && (time_after || time_before) {
        return padded(if time_before { rng.between(0, 59) } else { rng.between(0, 23) });
    }
    let port_before =
        before == Some(':') || (start >= 5 && chars[start - 5..start].iter().collect::<String>() == "port ");
    if port_before && length >= 2 {
        return rng.between(1024, 65535).to_string();
    }
    if length == 4 && run.parse::<i64>().is_ok_and(|year| (1970..=2099).contains(&year)) {
        return run;
    }
    let month_before = start >= 4
        && chars[start - 1] == ' '
        && MONTHS.contains(&chars[start - 4..start - 1].iter().collect::<String>().as_str());
    if length <= 2 && month_before {
        return padded(if length == 2 { rng.between(10, 28) } else { rng.between(1, 9) });
    }
    (0..length)
        .map(|position| {
            let lowest = if position == 0 && length > 1 && chars[start] != '0' { 1 } else { 0 };
            char::from(b'0' + rng.between(lowest, 9) as u8)
        })
        .collect()
}

/// A new value in the style of `real`: an address stays an address, every other run of
/// digits gets other digits of the same length ([`fresh_digits`]); words stay (they are drawn
/// from the real values).
fn fresh_value(rng: &mut Rng, real: &str) -> String {
    let chars: Vec<char> = real.chars().collect();
    let mut out = String::with_capacity(real.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_run = chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_digit());
        if starts_run {
            if let Some(length) = ipv4_at(&chars[i..]) {
                let address: Vec<String> = (0..4).map(|_| rng.between(1, 254).to_string()).collect();
                out.push_str(&address.join("."));
                i += length;
                continue;
            }
            let length = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            out.push_str(&fresh_digits(rng, &chars, i, length));
            i += length;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// A template a burst can be made of, with the values its real lines give each slot.
struct Candidate {
    system: usize,
    template: String,
    level: Option<String>,
    component: Option<String>,
    /// Real lines of the template in the sample.
    count: usize,
    /// Per slot, the distinct values seen.
    slots: Vec<Vec<String>>,
}

fn words_of(template: &str) -> Vec<&str> {
    template.split_whitespace().filter(|t| !t.contains("<*>") && t.chars().any(char::is_alphabetic)).collect()
}

/// The error or warning templates of a system that a burst can fill: level WARN or worse on
/// one of its lines or an error word in it; at least one slot; three words or more, so a
/// report can quote it recognisably.
fn candidates(system: usize, sample: &SystemSample) -> Vec<Candidate> {
    let mut by_template: BTreeMap<&str, Vec<&SampleRow>> = BTreeMap::new();
    for row in &sample.rows {
        by_template.entry(row.template.as_str()).or_default().push(row);
    }
    let mut found = Vec::new();
    for (template, rows) in by_template {
        let severe = rows.iter().any(|row| row.level.as_deref().is_some_and(|l| SEVERE_LEVELS.contains(&l)));
        let lowered = template.to_lowercase();
        let error_word = lowered.split(|c: char| !c.is_ascii_alphabetic()).any(|word| ERROR_WORDS.contains(&word));
        if !(severe || error_word) || !template.contains("<*>") || words_of(template).len() < 3 {
            continue;
        }
        let mut slots: Vec<BTreeSet<String>> = vec![BTreeSet::new(); pieces(template).len() - 1];
        for row in &rows {
            if let Some(values) = slot_values(template, &row.content) {
                for (slot, value) in slots.iter_mut().zip(values) {
                    slot.insert(value);
                }
            }
        }
        if slots.iter().any(BTreeSet::is_empty) {
            continue;
        }
        let mut levels: BTreeMap<&str, usize> = BTreeMap::new();
        for level in rows.iter().filter_map(|row| row.level.as_deref()) {
            *levels.entry(level).or_default() += 1;
        }
        found.push(Candidate {
            system,
            template: template.to_string(),
            level: levels.into_iter().max_by_key(|&(_, n)| n).map(|(level, _)| level.to_string()),
            component: rows.iter().find_map(|row| row.component.clone()),
            count: rows.len(),
            slots: slots.into_iter().map(|slot| slot.into_iter().collect()).collect(),
        });
    }
    found
}

/// A fresh value for a slot whose real values are `real`: a number between the least and the
/// greatest real one when they are all plain numbers (a port stays a port), else one real value
/// made fresh ([`fresh_value`]).
fn fresh_slot_value(rng: &mut Rng, real: &[String]) -> String {
    let numbers: Vec<i64> = real
        .iter()
        .filter(|value| !value.is_empty() && value.len() < 18 && value.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|value| value.parse().ok())
        .collect();
    if numbers.len() == real.len() && numbers.len() >= 2 {
        let (low, high) = (*numbers.iter().min().expect("numbers"), *numbers.iter().max().expect("numbers"));
        return rng.between(low, high).to_string();
    }
    let value = rng.pick(real).clone();
    fresh_value(rng, &value)
}

/// Fresh values for every slot.
fn fresh_values(rng: &mut Rng, candidate: &Candidate) -> Vec<String> {
    candidate.slots.iter().map(|real| fresh_slot_value(rng, real)).collect()
}

// ---- words for reports ----

const FIRST_NAMES: [&str; 24] = [
    "anna", "ben", "carla", "david", "elif", "farid", "greta", "hugo", "ines", "jonas", "kemal", "lena", "marco",
    "nadia", "oskar", "paula", "quentin", "rosa", "sven", "tara", "umar", "vera", "wei", "yusuf",
];
const LAST_NAMES: [&str; 24] = [
    "adler", "berg", "costa", "dietz", "evans", "fischer", "garcia", "hansen", "ivanova", "jansen", "kowalski",
    "lopez", "meyer", "novak", "okafor", "petrov", "quinn", "rossi", "schmidt", "tanaka", "urban", "vogel", "weber",
    "zhang",
];

fn person(index: usize) -> String {
    format!("{}.{}", FIRST_NAMES[index % 24], LAST_NAMES[(index / 24 + index * 7) % 24])
}

/// What users touch; an incident's reports name one, background reports others. No two share
/// a word, so two incidents are never described alike by construction.
const SUBJECTS: [&str; 30] = [
    "the nightly import",
    "file uploads",
    "the login page",
    "the dashboard",
    "report exports",
    "search",
    "the public API",
    "the admin console",
    "the mobile app",
    "notifications",
    "user preferences",
    "password reset",
    "the data pipeline",
    "scheduled backups",
    "the checkout",
    "the editor",
    "image previews",
    "remote shell access",
    "the build",
    "account sign-in",
    "the job scheduler",
    "attachments",
    "the cluster",
    "invoices",
    "calendar sync",
    "the activity feed",
    "the web client",
    "step counting",
    "video playback",
    "the print queue",
];
const EFFECTS: [&str; 12] = [
    "fails",
    "keeps failing",
    "hangs",
    "is very slow",
    "times out",
    "stopped working",
    "shows an error",
    "loses data",
    "crashes",
    "returns errors",
    "gets stuck",
    "is broken",
];
const TITLES: [&str; 15] = [
    "{S} {E}",
    "{S} {E} since this morning",
    "{S} {E} intermittently",
    "{S} {E} for several users",
    "Since today {s} {e}",
    "{S} {E} again",
    "Problem: {s} {e}",
    "{S} {E} (urgent)",
    "{S} {E} after lunch",
    "Anyone else? {s} {e}",
    "{S} suddenly {e}",
    "{S} {E} on production",
    "Issue with {s}: it {e}",
    "{S} {E} every few minutes",
    "{S} {E} today",
];
const GREETINGS: [&str; 6] = ["", "Hi, ", "Hello, ", "Hi all, ", "Morning, ", "Hey, "];
const OPENINGS: [&str; 12] = [
    "{s} {e}.",
    "since about {t} {s} {e}.",
    "{s} {e} for us today.",
    "our team noticed that {s} {e} since {t}.",
    "not sure where to file this, but {s} {e}.",
    "starting around {t}, {s} {e} for me and a few colleagues.",
    "it looks like {s} {e} since {t}.",
    "for some reason {s} {e} right now.",
    "{s} {e} on and off since {t}.",
    "we are seeing that {s} {e}.",
    "just a heads-up: {s} {e}.",
    "I think {s} {e} since around {t}.",
];
const CONTEXT: [&str; 10] = [
    "Three of us see the same.",
    "I tried from two different machines.",
    "Some attempts still go through.",
    "A restart of the client did not change it.",
    "It started a little while ago.",
    "Colleagues in the other office see it too.",
    "Logging out and in again does not help.",
    "It seems worse during busy hours.",
    "I waited ten minutes and tried again.",
    "It affects the whole team.",
];
const CLOSINGS: [&str; 12] = [
    "Retrying does not help.",
    "It worked fine yesterday.",
    "This blocks our release.",
    "Happens every time I try.",
    "Please have a look.",
    "Let me know if you need more logs.",
    "We did not change anything on our side.",
    "Thanks!",
    "Could someone take a look?",
    "Happy to provide more details.",
    "Is there a workaround?",
    "We need this working by tomorrow.",
];
const NO_ERROR: [&str; 8] = [
    "There is no error message, it just {e}.",
    "I could not find anything useful in the UI.",
    "No idea what the cause is, nothing obvious on our side.",
    "The page only says that something went wrong.",
    "There is nothing in the client console.",
    "We only see a spinner and then nothing.",
    "No error is shown to us, sorry I cannot give more details.",
    "I do not have access to the server logs.",
];
const WORD_GUESSES: [&str; 3] = [
    "A colleague mentioned \"{w}\", not sure it matters.",
    "Maybe related to {w}? Just guessing.",
    "Someone in chat said something about {w}.",
];

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn phrase(rng: &mut Rng, templates: &[&str], subject: &str, effect: &str, time_ms: i64) -> String {
    let clock = chrono::DateTime::from_timestamp_millis(time_ms).expect("a time in range").format("%H:%M").to_string();
    rng.pick(templates)
        .replace("{S}", &capitalized(subject))
        .replace("{E}", effect)
        .replace("{s}", subject)
        .replace("{e}", effect)
        .replace("{t}", &clock)
}

/// The first sentence of a report: a greeting, then what broke and since when.
fn opening(rng: &mut Rng, subject: &str, effect: &str, time_ms: i64) -> String {
    let greeting = *rng.pick(&GREETINGS);
    capitalized(&format!("{greeting}{}", phrase(rng, &OPENINGS, subject, effect, time_ms)))
}

/// Up to two sentences of context, a closing and sometimes the version.
fn report_tail(rng: &mut Rng) -> String {
    let mut context: Vec<&str> = CONTEXT.to_vec();
    rng.shuffle(&mut context);
    let mut tail: Vec<String> = context[..rng.below(3)].iter().map(|s| s.to_string()).collect();
    tail.push(rng.pick(&CLOSINGS).to_string());
    let version = version(rng);
    match rng.below(4) {
        0 => {}
        1 => tail.push(format!("\nVersion: {version}")),
        2 => tail.push(format!("Running {version}.")),
        _ => tail.push(format!("Client {version} on {}.", rng.pick(&PLATFORMS))),
    }
    tail.join(" ")
}

fn version(rng: &mut Rng) -> String {
    format!("{}.{}.{}", rng.between(2, 5), rng.between(0, 19), rng.between(0, 9))
}

/// A log prefix in one of three common layouts, at `time_ms`.
fn log_prefix(rng: &mut Rng, time_ms: i64, level: Option<&str>, component: &str) -> String {
    let time = chrono::DateTime::from_timestamp_millis(time_ms).expect("a time in range");
    let level = level.unwrap_or("ERROR");
    match rng.below(3) {
        0 => format!("{} {level} [main] {component}: ", time.format("%Y-%m-%d %H:%M:%S,%3f")),
        1 => format!(
            "{} host-{} {component}[{}]: ",
            time.format("%b %e %H:%M:%S"),
            rng.between(1, 40),
            rng.between(100, 65000)
        ),
        _ => format!("[{}] {level} ", time.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
    }
}

/// The message as a report quotes it: inline, as a log line with a prefix, or a long part.
fn quoted(rng: &mut Rng, candidate: &Candidate, message: &str, time_ms: i64, source: &str) -> String {
    match rng.below(3) {
        0 => format!(
            "{}\n\n",
            rng.pick(&["The error we get is: {m}", "I see \"{m}\" in the output.", "Error shown: {m}"])
                .replace("{m}", message)
        ),
        1 => {
            let component = candidate.component.clone().unwrap_or_else(|| source.to_string());
            let prefix = log_prefix(rng, time_ms, candidate.level.as_deref(), &component);
            format!("From the server log:\n\n    {prefix}{message}\n\n")
        }
        _ => {
            let tokens: Vec<&str> = message.split(' ').collect();
            let words = words_of(&candidate.template);
            for _ in 0..if tokens.len() < 4 { 0 } else { 10 } {
                let length = rng.between((tokens.len() as i64 * 2 + 2) / 3, tokens.len() as i64 - 1).max(1) as usize;
                let start = rng.below(tokens.len() - length + 1);
                let part = tokens[start..start + length].join(" ");
                let kept = words.iter().filter(|word| part.contains(**word)).count();
                if 2 * kept >= words.len() && length < tokens.len() {
                    return format!("The log says something like \"...{part}...\"\n\n");
                }
            }
            format!("The error we get is: {message}\n\n")
        }
    }
}

// ---- the scenario ----

/// Which report ids are taken; new ones are random 7-digit numbers.
struct Ids(BTreeSet<u64>);

impl Ids {
    fn next(&mut self, rng: &mut Rng) -> String {
        loop {
            let id = rng.between(1_000_000, 9_999_999) as u64;
            if self.0.insert(id) {
                return id.to_string();
            }
        }
    }
}

/// Words that make a fragment generic beyond use ("for the", "is not").
const FILLER_WORDS: [&str; 24] = [
    "a", "an", "the", "of", "to", "for", "with", "from", "on", "in", "is", "at", "by", "and", "or", "not", "be", "was",
    "are", "as", "it", "this", "that", "no",
];

/// What the logs share with reports that are not about them.
struct SharedVocabulary {
    exceptions: Vec<String>,
    components: Vec<String>,
    fragments: Vec<String>,
}

fn shared_vocabulary(background: &Background) -> SharedVocabulary {
    let mut exceptions: BTreeSet<String> =
        ["IOException", "SocketTimeoutException", "NullPointerException", "ConnectException", "OutOfMemoryError"]
            .iter()
            .map(|e| e.to_string())
            .collect();
    let mut components = BTreeSet::new();
    let mut fragments = BTreeSet::new();
    for system in &background.systems {
        components.insert(system.source.clone());
        for row in &system.rows {
            for token in row.content.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_')) {
                let name = token.rsplit('.').next().unwrap_or(token);
                if (name.ends_with("Exception") || name.ends_with("Error"))
                    && name.len() > 8
                    && name.starts_with(|c: char| c.is_ascii_uppercase())
                {
                    exceptions.insert(name.to_string());
                }
            }
            if let Some(component) = &row.component {
                let name = component.split(['(', '[']).next().unwrap_or(component);
                let name = name.rsplit('.').next().unwrap_or(name);
                let name = name.split('$').next().unwrap_or(name).trim();
                if name.len() > 2 && name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    components.insert(name.to_string());
                }
            }
            let tokens: Vec<&str> = row.template.split_whitespace().collect();
            if words_of(&row.template).len() < 5 {
                continue;
            }
            let plain = |t: &&str| {
                t.chars().all(|c| c.is_ascii_alphabetic()) && !FILLER_WORDS.contains(&t.to_lowercase().as_str())
            };
            for width in [2, 3] {
                for window in tokens.windows(width) {
                    if window.iter().all(plain) {
                        fragments.insert(window.join(" "));
                    }
                }
            }
        }
    }
    SharedVocabulary {
        exceptions: exceptions.into_iter().collect(),
        components: components.into_iter().collect(),
        fragments: fragments.into_iter().collect(),
    }
}

fn misspelled(rng: &mut Rng, word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() > 3 {
        let at = rng.between(1, chars.len() as i64 - 2) as usize;
        chars.swap(at, at + 1);
    }
    chars.into_iter().collect()
}

const UI_ELEMENTS: [&str; 16] = [
    "toolbar",
    "sidebar",
    "context menu",
    "status bar",
    "tooltip",
    "dropdown",
    "date picker",
    "search box",
    "tab bar",
    "progress bar",
    "settings dialog",
    "file picker",
    "welcome screen",
    "side panel",
    "footer",
    "account menu",
];
const PLATFORMS: [&str; 9] = [
    "Windows 10",
    "Windows 11",
    "macOS 14",
    "Ubuntu 22.04",
    "Fedora 39",
    "Debian 12",
    "Android 14",
    "iOS 17",
    "Arch Linux",
];
const LANGUAGES: [&str; 8] = ["German", "French", "Japanese", "Polish", "Turkish", "Dutch", "Italian", "Korean"];

/// One kind of confounding report: title patterns and body sentences with slots; `|`
/// separates ways of saying the same sentence.
struct ConfounderKind {
    titles: &'static [&'static str],
    sentences: &'static [&'static str],
}

/// Slots: {c} a log component, {x} an exception name, {xm} it misspelled, {f} a fragment of a
/// log message, {s} a subject no incident uses, {e} an effect, {u} a UI element, {p} a
/// platform, {l} a language, {v} a version, {o} an opening and {k} a closing of incident prose.
const CONFOUNDER_KINDS: [ConfounderKind; 6] = [
    ConfounderKind {
        titles: &[
            "Typo in the {c} documentation",
            "Docs for {c} mention {x} twice",
            "Outdated screenshot on the {c} help page",
            "Broken link in the {c} guide",
            "{l} translation of the {c} page is incomplete",
            "{c} docs: wrong name for {x}",
            "Help text about {x} is outdated",
        ],
        sentences: &[
            "The help page for {c} spells {xm} where it should say {x}.|{xm} should be {x} on the {c} page.|Small typo: the {c} article writes {xm}.",
            "The sentence \"{f}\" in the troubleshooting section is cut off.|In the FAQ the part about \"{f}\" ends mid-sentence.",
            "The link to the {c} reference returns a 404.|Clicking the {c} link in the sidebar leads nowhere.",
            "The {l} version still shows the old {u}.|Screenshots in the {l} manual are from an older release.",
            "Minor, but confusing for new users.|Not urgent.|Low priority of course.",
            "Found while reading the docs on {p}.|Noticed this on {p}.",
        ],
    },
    ConfounderKind {
        titles: &[
            "Message \"{f}\" is hard to understand",
            "Better wording for \"{f}\"",
            "\"{f}\" hint shown in the wrong place",
            "Unclear text in the {u}",
            "Confusing label in {c} settings",
            "Misleading hint in the {u} ({l})",
        ],
        sentences: &[
            "In the {c} settings the hint says \"{f}\".|The {u} of {c} shows \"{f}\" next to the first field.|Opening {c} options, I see the text \"{f}\".",
            "People read it as an error although nothing is wrong.|My colleagues thought something broke, but all is fine.|It sounds alarming for an informational note.",
            "Could the {u} say what to do instead?|Maybe rephrase it or add a help link?|A clearer text would save us support tickets.",
            "The {l} translation is even harder to read.|In {l} the same hint is truncated.",
            "Seen on {p} with version {v}.|Version {v}, {p}.",
        ],
    },
    ConfounderKind {
        titles: &[
            "Please add a retry option to {s}",
            "Allow exporting {c} settings",
            "Would be nice to filter {s} by {c}",
            "Feature request: dark mode for the {u}",
            "Add a keyboard shortcut for the {u}",
            "Support {l} date formats in {s}",
            "Option to hide the {u}",
        ],
        sentences: &[
            "When {s} runs into an {x} it would help to retry automatically.|An automatic retry after an {x} would save us time.|Could {s} try again by itself when it sees {x}?",
            "It would help to see which {c} was involved.|Showing the {c} name would be useful too.",
            "Today we do this by hand every week.|Right now there is no way to do this.|We currently work around it with a script.",
            "Other tools have this in the {u}.|A checkbox in the {u} would be enough.",
            "Happy to test a preview build on {p}.|We can help testing on {p}.",
        ],
    },
    ConfounderKind {
        titles: &[
            "{S} {e}",
            "{S} {e} on {p}",
            "{U} misaligned on {p}",
            "{U} flickers when scrolling",
            "Problem: {s} {e}",
            "{U} missing after update to {v}",
            "Wrong colours in the {u} with high contrast",
        ],
        sentences: &[
            "{o}",
            "The {u} is greyed out after switching to {l}.|After changing the language to {l} the {u} does not react.|With {l} selected the {u} overlaps the text.",
            "It only happens with the dark theme on {p}.|Only on {p}, not on my other machine.|On {p} with a 4k screen.",
            "Maybe an {x} in {c}? Just a guess.|I saw {x} mentioned somewhere, maybe {c}?|Could this be {c} again?",
            "Seen in version {v}.|Version: {v}|Using {v}.",
            "{k}",
        ],
    },
    ConfounderKind {
        titles: &[
            "How do I configure {c} for {s}?",
            "Question: is {x} expected when {s} starts?",
            "Where did the {u} option go in {v}?",
            "Is {c} still supported?",
            "Difference between {c} and the {u}?",
        ],
        sentences: &[
            "I read the docs about {c} but could not find it.|The documentation on {c} does not say.|I searched the wiki for {c} without luck.",
            "Somebody on the forum mentioned \"{f}\", is that related?|A colleague said \"{f}\" is normal, is it?",
            "Not a bug probably, just a question.|Sorry if this is the wrong place to ask.",
            "We run {p}.|Our setup: {p}, version {v}.",
        ],
    },
    ConfounderKind {
        titles: &[
            "Package for {p} misses the {c} module",
            "Installer on {p} asks for {c} twice",
            "Update to {v} does not install on {p}",
            "{c} plugin not included in the {p} build",
            "Uninstall leaves {c} files behind",
        ],
        sentences: &[
            "The installer log mentions {x} but the install finishes.|Setup prints {x} once, then carries on.|The setup output has an {x} line, yet everything installs.",
            "The {c} files end up in the wrong folder.|{c} is copied twice.|The {c} folder is missing afterwards.",
            "Reinstalling did not change anything.|Same after a clean install.|A reboot did not help.",
            "Tested with {v} on {p}.|{p}, package {v}.",
        ],
    },
];

/// A background report that shares words, exception names, components or fragments with the
/// logs but is about something else: a title and two to four sentences of one kind, each
/// said one of a few ways, in random order, and a sentence of real tracker prose, so the
/// confounders are not near-duplicates of each other.
fn confounder(
    rng: &mut Rng,
    vocabulary: &SharedVocabulary,
    subjects: &[&str],
    tracker: &[TrackerReport],
) -> (String, String) {
    let kind = rng.pick(&CONFOUNDER_KINDS);
    let exception = rng.pick(&vocabulary.exceptions).clone();
    let time = WINDOW_START_MS + rng.between(0, WINDOW_MS - 1);
    let (subject, effect) = (*rng.pick(subjects), *rng.pick(&EFFECTS));
    let slots: Vec<(&str, String)> = vec![
        ("{xm}", misspelled(rng, &exception)),
        ("{x}", exception),
        ("{c}", rng.pick(&vocabulary.components).clone()),
        ("{f}", rng.pick(&vocabulary.fragments).clone()),
        ("{S}", capitalized(subject)),
        ("{s}", subject.to_string()),
        ("{e}", effect.to_string()),
        ("{U}", capitalized(rng.pick::<&str>(&UI_ELEMENTS))),
        ("{u}", rng.pick(&UI_ELEMENTS).to_string()),
        ("{p}", rng.pick(&PLATFORMS).to_string()),
        ("{l}", rng.pick(&LANGUAGES).to_string()),
        ("{v}", version(rng)),
        ("{o}", opening(rng, subject, effect, time)),
        ("{k}", rng.pick(&CLOSINGS).to_string()),
    ];
    let filled = |text: &str| slots.iter().fold(text.to_string(), |text, (slot, value)| text.replace(slot, value));
    let mut sentences: Vec<&str> = kind.sentences.to_vec();
    rng.shuffle(&mut sentences);
    let count = rng.between(2, 4.min(sentences.len() as i64)) as usize;
    let mut body: Vec<String> = sentences[..count]
        .iter()
        .map(|sentence| {
            let ways: Vec<&str> = sentence.split('|').collect();
            filled(rng.pick::<&str>(&ways))
        })
        .collect();
    // One sentence of some real report, as people write.
    let prose: Vec<&str> = rng
        .pick(tracker)
        .body
        .split(['.', '\n'])
        .map(str::trim)
        .filter(|sentence| sentence.split_whitespace().count() >= 5 && !sentence.contains("Mozilla/"))
        .collect();
    if !prose.is_empty() {
        let at = rng.below(body.len() + 1);
        body.insert(at, format!("{}.", rng.pick(&prose)));
    }
    (filled(rng.pick::<&str>(kind.titles)), body.join(" "))
}

/// Plants the incidents of `seed` into the background.
pub fn plant(background: &Background, seed: u64) -> Scenario {
    let mut rng = Rng::new(seed);
    let vocabulary = shared_vocabulary(background);
    let source_names: Vec<String> = background.systems.iter().map(|s| s.source.clone()).collect();
    let mut ids = Ids(BTreeSet::new());
    let mut reporters_pool: Vec<String> = (0..FIRST_NAMES.len() * LAST_NAMES.len()).map(person).collect();
    rng.shuffle(&mut reporters_pool);

    // The log incidents: a template each, rarer ones more likely, never twice.
    let mut all_candidates: Vec<Candidate> = Vec::new();
    for (index, system) in background.systems.iter().enumerate() {
        all_candidates.extend(candidates(index, system));
    }
    let systems_with_candidates: Vec<usize> =
        all_candidates.iter().map(|c| c.system).collect::<BTreeSet<_>>().into_iter().collect();
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < CROSS_EVIDENCE_INCIDENTS + 1 {
        let system = *rng.pick(&systems_with_candidates);
        let open: Vec<usize> =
            (0..all_candidates.len()).filter(|&i| all_candidates[i].system == system && !chosen.contains(&i)).collect();
        if open.is_empty() {
            continue;
        }
        let weights: Vec<f64> = open.iter().map(|&i| 1.0 / all_candidates[i].count as f64).collect();
        let mut draw = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * weights.iter().sum::<f64>();
        let mut pick = open[open.len() - 1];
        for (&i, weight) in open.iter().zip(&weights) {
            if draw < *weight {
                pick = i;
                break;
            }
            draw -= weight;
        }
        chosen.push(pick);
    }
    let held_out: BTreeSet<(usize, &str)> =
        chosen.iter().map(|&i| (all_candidates[i].system, all_candidates[i].template.as_str())).collect();

    // Background logs: every other sample line at sorted uniform times, in sample order.
    let mut sources: Vec<Source> = Vec::new();
    for (index, system) in background.systems.iter().enumerate() {
        let kept: Vec<&SampleRow> =
            system.rows.iter().filter(|row| !held_out.contains(&(index, row.template.as_str()))).collect();
        let mut times: Vec<i64> = kept.iter().map(|_| WINDOW_START_MS + rng.between(0, WINDOW_MS - 1)).collect();
        times.sort_unstable();
        let lines = kept
            .iter()
            .zip(times)
            .map(|(row, time_ms)| LogLine {
                time_ms,
                level: row.level.clone(),
                message: row.content.clone(),
                truth: Truth::Background,
            })
            .collect();
        sources.push(Source { name: system.source.clone(), lines });
    }
    let mut messages: BTreeSet<String> =
        sources.iter().flat_map(|s| s.lines.iter().map(|l| l.message.clone())).collect();

    // Subjects: one per incident (reports only incidents included), the rest for the background.
    let mut subjects: Vec<&str> = SUBJECTS.to_vec();
    rng.shuffle(&mut subjects);
    let incident_subjects: Vec<&str> = subjects[..CROSS_EVIDENCE_INCIDENTS + 2].to_vec();
    let background_subjects: Vec<&str> = subjects[CROSS_EVIDENCE_INCIDENTS + 2..].to_vec();

    let mut incidents = Vec::new();
    let mut reports = Vec::new();
    let mut next_reporter = 0;
    for (number, &candidate_index) in chosen.iter().enumerate() {
        let candidate = &all_candidates[candidate_index];
        let kind = if number < CROSS_EVIDENCE_INCIDENTS { IncidentKind::CrossEvidence } else { IncidentKind::LogOnly };
        let truth = Truth::Incident(number);
        let source = background.systems[candidate.system].source.clone();
        // The burst: each slot either fixed for the whole burst or new on every line.
        let burst_lines = rng.between(30, 200) as usize;
        let minutes = rng.between(10, 60);
        let start = WINDOW_START_MS + rng.between(2 * HOUR_MS, WINDOW_MS - 8 * HOUR_MS);
        let fixed: Vec<Option<String>> =
            candidate.slots.iter().map(|real| rng.chance(0.5).then(|| fresh_slot_value(&mut rng, real))).collect();
        let mut times: Vec<i64> = (0..burst_lines).map(|_| start + rng.between(0, minutes * MINUTE_MS)).collect();
        times.sort_unstable();
        let lines = &mut sources[candidate.system].lines;
        for time_ms in times {
            let values: Vec<String> = candidate
                .slots
                .iter()
                .zip(&fixed)
                .map(|(real, fixed)| match fixed {
                    Some(value) => value.clone(),
                    None => fresh_slot_value(&mut rng, real),
                })
                .collect();
            let message = fill(&candidate.template, &values);
            messages.insert(message.clone());
            lines.push(LogLine { time_ms, level: candidate.level.clone(), message, truth });
        }
        lines.sort_by_key(|line| line.time_ms);

        let (mut report_count, mut quoting) = (0, 0);
        if kind == IncidentKind::CrossEvidence {
            report_count = rng.between(2, 5) as usize;
            quoting = rng.between(1, report_count as i64) as usize;
            let subject = incident_subjects[number];
            let effect = *rng.pick(&EFFECTS);
            for index in 0..report_count {
                let created_ms = start + rng.between(0, 4 * HOUR_MS);
                let title = phrase(&mut rng, &TITLES, subject, effect, created_ms);
                let mut body = format!("{}\n\n", opening(&mut rng, subject, effect, created_ms));
                let quotes = index < quoting;
                if quotes {
                    // Other values than any log line.
                    let mut message = fill(&candidate.template, &fresh_values(&mut rng, candidate));
                    for _ in 0..20 {
                        if !messages.contains(&message) {
                            break;
                        }
                        message = fill(&candidate.template, &fresh_values(&mut rng, candidate));
                    }
                    let seen_at = start + rng.between(0, minutes * MINUTE_MS);
                    body.push_str(&quoted(&mut rng, candidate, &message, seen_at, &source));
                } else {
                    body.push_str(&format!("{}\n\n", phrase(&mut rng, &NO_ERROR, subject, effect, created_ms)));
                    let words: Vec<&str> = words_of(&candidate.template)
                        .into_iter()
                        .filter(|w| w.len() > 4 && w.chars().all(|c| c.is_ascii_alphabetic()))
                        .collect();
                    if !words.is_empty() && rng.chance(0.5) {
                        let guess = rng.pick(&WORD_GUESSES).replace("{w}", &rng.pick(&words).to_lowercase());
                        body.push_str(&format!("{guess}\n\n"));
                    }
                }
                body.push_str(&report_tail(&mut rng));
                let component = rng.chance(0.4).then(|| source.clone());
                reports.push(Report {
                    id: ids.next(&mut rng),
                    title,
                    body,
                    created_ms,
                    reporter: Some(reporters_pool[next_reporter].clone()),
                    component,
                    status: Some("NEW".into()),
                    priority: None,
                    truth,
                    quotes,
                    confounder: false,
                });
                next_reporter += 1;
            }
        }
        incidents.push(Incident {
            kind,
            source: Some(source),
            template: Some(candidate.template.clone()),
            burst_lines,
            burst_start_ms: start,
            burst_minutes: minutes,
            reports: report_count,
            quoting,
        });
    }

    // The reports-only incident: a problem the logs do not show, in similar words.
    {
        let number = incidents.len();
        let subject = incident_subjects[number];
        let effect = *rng.pick(&EFFECTS);
        let detail = rng
            .pick(&[
                "after the update to {v}",
                "only with files larger than {n} MB",
                "when more than {n} people use it at once",
                "since the upgrade to {v}",
            ])
            .replace("{v}", &version(&mut rng))
            .replace("{n}", &rng.between(10, 500).to_string());
        let count = rng.between(2, 4) as usize;
        let start = WINDOW_START_MS + rng.between(2 * HOUR_MS, WINDOW_MS - 8 * HOUR_MS);
        for _ in 0..count {
            let created_ms = start + rng.between(0, 3 * HOUR_MS);
            let body = format!(
                "{} It happens {detail}.\n\n{}\n\n{}",
                opening(&mut rng, subject, effect, created_ms),
                phrase(&mut rng, &NO_ERROR, subject, effect, created_ms),
                report_tail(&mut rng)
            );
            let component = rng.chance(0.4).then(|| rng.pick(&source_names).clone());
            reports.push(Report {
                id: ids.next(&mut rng),
                title: format!("{} {detail}", phrase(&mut rng, &TITLES, subject, effect, created_ms)),
                body,
                created_ms,
                reporter: Some(reporters_pool[next_reporter].clone()),
                component,
                status: Some("NEW".into()),
                priority: None,
                truth: Truth::Incident(number),
                quotes: false,
                confounder: false,
            });
            next_reporter += 1;
        }
        incidents.push(Incident {
            kind: IncidentKind::ReportOnly,
            source: None,
            template: None,
            burst_lines: 0,
            burst_start_ms: start,
            burst_minutes: 0,
            reports: count,
            quoting: 0,
        });
    }

    // Background reports: the tracker at uniform times, then the confounders.
    let frequent = &reporters_pool[next_reporter..next_reporter + 300];
    let background_reporter = |rng: &mut Rng| {
        // Skewed: a few people file many reports; some reports have no known reporter.
        (!rng.chance(0.15)).then(|| frequent[rng.below(300) * rng.below(300) / 300].clone())
    };
    for tracked in &background.tracker {
        let created_ms = WINDOW_START_MS + rng.between(0, WINDOW_MS - 1);
        let reporter = background_reporter(&mut rng);
        reports.push(Report {
            id: ids.next(&mut rng),
            title: tracked.title.clone(),
            body: tracked.body.clone(),
            created_ms,
            reporter,
            component: None,
            status: Some(tracked.status.clone()).filter(|s| !s.is_empty()),
            priority: Some(tracked.priority.clone()).filter(|p| !p.is_empty()),
            truth: Truth::Background,
            quotes: false,
            confounder: false,
        });
    }
    for _ in 0..CONFOUNDERS {
        let (title, body) = confounder(&mut rng, &vocabulary, &background_subjects, &background.tracker);
        let created_ms = WINDOW_START_MS + rng.between(0, WINDOW_MS - 1);
        let reporter = background_reporter(&mut rng);
        let component = rng.chance(0.5).then(|| rng.pick(&source_names).clone());
        reports.push(Report {
            id: ids.next(&mut rng),
            title,
            body,
            created_ms,
            reporter,
            component,
            status: Some("NEW".into()),
            priority: None,
            truth: Truth::Background,
            quotes: false,
            confounder: true,
        });
    }
    reports.sort_by_key(|report| report.created_ms);
    Scenario { seed, sources, reports, incidents }
}
