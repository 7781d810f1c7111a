//! Session anomalies: when a session key is configured (a block id, a request or trace id),
//! the records that share a key form a session, and a session whose pattern counts break what
//! normal sessions do is reported.
//!
//! Unsupervised and online. A session closes when it has been idle for a while (by record
//! time), when too many sessions are open (the oldest closes), or when the input ends. Each
//! closed session is judged against a model of the sessions closed before it, then taught to
//! the model:
//! - **rare patterns**: a pattern that occurs in fewer than [`SessionSettings::rare`] of all
//!   sessions (an exception, a retry path);
//! - **broken invariants**: for pairs of frequent patterns, count relations such as
//!   `count(A) = count(B)` or `3·count(A) = count(B)` that hold in at least
//!   [`SessionSettings::support`] of sessions (Lou et al.'s invariants mining, restricted to
//!   pairs with small ratios, learned incrementally).
//!
//! Sessions closed before the model has [`SessionSettings::baseline`] sessions wait and are
//! judged once it has.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The knobs of session detection.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Finds the session key in a message: capture group 1 if there is one, else the match.
    pub key: regex_lite::Regex,
    /// A session with no record for this long (record time) is closed.
    pub idle_ms: i64,
    /// Most sessions kept open; beyond it the least recently active closes.
    pub max_open: usize,
    /// Sessions the model must have seen before it judges.
    pub baseline: u64,
    /// A pattern in fewer than this share of sessions is rare.
    pub rare: f64,
    /// Share of sessions an invariant must hold in.
    pub support: f64,
}

/// Ratios `(a, b)` tried for `a·count(A) = b·count(B)`.
const RATIOS: [(u32, u32); 5] = [(1, 1), (1, 2), (2, 1), (1, 3), (3, 1)];
/// A pattern in at least this share of sessions takes part in invariants.
const FREQUENT: f64 = 0.05;
/// Sessions seen before patterns can count as frequent.
const MIN_SESSIONS_FOR_FREQUENT: u64 = 20;
/// Most patterns taking part in invariants (the most frequent ones).
const MAX_TRACKED: usize = 24;
/// Example messages kept per session.
const SESSION_EXAMPLES: usize = 3;

/// One session still open.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub key: String,
    /// (pattern index, count), in order of first appearance.
    pub counts: Vec<(usize, u32)>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// Records seen by the detector when this session last had one.
    last_activity: u64,
    pub examples: Vec<String>,
}

impl Session {
    fn count_of(&self, pattern: usize) -> u32 {
        self.counts.iter().find(|(known, _)| *known == pattern).map_or(0, |(_, count)| *count)
    }
}

/// Why a session is anomalous.
#[derive(Debug, Clone, PartialEq)]
pub enum Deviation {
    /// The session has a pattern that `sessions_with` of `sessions` sessions have.
    RarePattern { pattern: usize, sessions_with: u64, sessions: u64 },
    /// `a·count(first) = b·count(second)` holds in `share` of sessions, not in this one.
    BrokenInvariant { first: (usize, u32), second: (usize, u32), ratio: (u32, u32), share: f64 },
}

/// A session judged anomalous.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalousSession {
    pub session: Session,
    pub deviations: Vec<Deviation>,
}

/// A candidate invariant and how often it held since it was first tracked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Invariant {
    first: usize,
    second: usize,
    ratio: (u32, u32),
    observed: u64,
    held: u64,
}

impl Invariant {
    /// Whether the session bears on the invariant: a session with neither pattern says
    /// nothing about how their counts relate.
    fn applies_to(&self, session: &Session) -> bool {
        session.count_of(self.first) + session.count_of(self.second) > 0
    }

    fn holds_in(&self, session: &Session) -> bool {
        session.count_of(self.first) * self.ratio.0 == session.count_of(self.second) * self.ratio.1
    }
}

/// What normal sessions look like, learned from every closed session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct SessionModel {
    sessions: u64,
    /// Sessions that had each pattern.
    sessions_with: HashMap<usize, u64>,
    tracked: Vec<usize>,
    invariants: Vec<Invariant>,
}

impl SessionModel {
    fn judge(&self, session: &Session, settings: &SessionSettings) -> Vec<Deviation> {
        let mut deviations = Vec::new();
        for &(pattern, _) in &session.counts {
            let sessions_with = self.sessions_with.get(&pattern).copied().unwrap_or(0);
            if (sessions_with as f64) < settings.rare * self.sessions as f64 {
                deviations.push(Deviation::RarePattern { pattern, sessions_with, sessions: self.sessions });
            }
        }
        for invariant in &self.invariants {
            let share = invariant.held as f64 / invariant.observed.max(1) as f64;
            if invariant.observed * 2 >= settings.baseline
                && share >= settings.support
                && invariant.applies_to(session)
                && !invariant.holds_in(session)
            {
                deviations.push(Deviation::BrokenInvariant {
                    first: (invariant.first, session.count_of(invariant.first)),
                    second: (invariant.second, session.count_of(invariant.second)),
                    ratio: invariant.ratio,
                    share,
                });
            }
        }
        deviations
    }

    fn learn(&mut self, session: &Session) {
        self.sessions += 1;
        for &(pattern, _) in &session.counts {
            *self.sessions_with.entry(pattern).or_default() += 1;
        }
        for invariant in self.invariants.iter_mut().filter(|invariant| invariant.applies_to(session)) {
            invariant.observed += 1;
            invariant.held += u64::from(invariant.holds_in(session));
        }
        // Patterns that became frequent start taking part in invariants from now on; "frequent"
        // means nothing over the first few sessions.
        if self.sessions < MIN_SESSIONS_FOR_FREQUENT {
            return;
        }
        let threshold = FREQUENT * self.sessions as f64;
        let mut newly: Vec<usize> = session
            .counts
            .iter()
            .map(|(pattern, _)| *pattern)
            .filter(|pattern| !self.tracked.contains(pattern))
            .filter(|pattern| self.sessions_with[pattern] as f64 >= threshold)
            .collect();
        newly.sort_unstable();
        for pattern in newly {
            if self.tracked.len() >= MAX_TRACKED {
                break;
            }
            for &other in &self.tracked {
                for ratio in RATIOS {
                    self.invariants.push(Invariant { first: other, second: pattern, ratio, observed: 0, held: 0 });
                }
            }
            self.tracked.push(pattern);
        }
    }

    fn remap(&mut self, resolve: &impl Fn(usize) -> usize) {
        let sessions_with = std::mem::take(&mut self.sessions_with);
        for (pattern, count) in sessions_with {
            *self.sessions_with.entry(resolve(pattern)).or_default() += count;
        }
        for pattern in &mut self.tracked {
            *pattern = resolve(*pattern);
        }
        self.tracked.dedup();
        for invariant in &mut self.invariants {
            invariant.first = resolve(invariant.first);
            invariant.second = resolve(invariant.second);
        }
        self.invariants.retain(|invariant| invariant.first != invariant.second);
    }
}

/// The session detector of one partition.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionDetector {
    #[serde(skip)]
    settings: Option<SessionSettings>,
    open: HashMap<String, Session>,
    /// Closed before the model had its baseline: judged once it has.
    waiting: Vec<Session>,
    model: SessionModel,
    records: u64,
    clock: Option<i64>,
}

impl SessionDetector {
    pub fn new(settings: SessionSettings) -> Self {
        Self { settings: Some(settings), ..Self::default() }
    }

    /// Restores the settings after deserializing (they are configuration, not state).
    pub fn with_settings(mut self, settings: SessionSettings) -> Self {
        self.settings = Some(settings);
        self
    }

    fn settings(&self) -> &SessionSettings {
        self.settings.as_ref().expect("a session detector is built with its settings")
    }

    /// The session key in `message`, if any.
    pub fn key_of<'m>(&self, message: &'m str) -> Option<&'m str> {
        let captures = self.settings().key.captures(message)?;
        captures.get(1).or_else(|| captures.get(0)).map(|found| found.as_str())
    }

    /// Adds one record of `pattern` to the session `key`.
    pub fn add(&mut self, key: &str, pattern: usize, timestamp_ms: Option<i64>, message: &str) {
        self.records += 1;
        if let Some(time) = timestamp_ms {
            self.clock = Some(self.clock.map_or(time, |clock| clock.max(time)));
        }
        let records = self.records;
        let session = match self.open.get_mut(key) {
            Some(session) => session,
            None => self
                .open
                .entry(key.to_string())
                .or_insert_with(|| Session { key: key.to_string(), ..Session::default() }),
        };
        match session.counts.iter_mut().find(|(known, _)| *known == pattern) {
            Some((_, count)) => *count += 1,
            None => {
                session.counts.push((pattern, 1));
                if session.examples.len() < SESSION_EXAMPLES {
                    session.examples.push(message.to_string());
                }
            }
        }
        if let Some(time) = timestamp_ms {
            session.first_ms = Some(session.first_ms.map_or(time, |first| first.min(time)));
            session.last_ms = Some(session.last_ms.map_or(time, |last| last.max(time)));
        }
        session.last_activity = records;
    }

    /// Closes idle sessions, and the least active ones beyond the open limit; judges them.
    pub fn close_idle(&mut self) -> Vec<AnomalousSession> {
        let settings = self.settings().clone();
        let mut closing: Vec<String> = match self.clock {
            Some(clock) => self
                .open
                .values()
                .filter(|session| session.last_ms.is_some_and(|last| last + settings.idle_ms < clock))
                .map(|session| session.key.clone())
                .collect(),
            None => Vec::new(),
        };
        let excess = (self.open.len() - closing.len()).saturating_sub(settings.max_open);
        if excess > 0 {
            let idle: std::collections::HashSet<&str> = closing.iter().map(String::as_str).collect();
            let mut by_activity: Vec<(u64, &String)> = self
                .open
                .values()
                .filter(|session| !idle.contains(session.key.as_str()))
                .map(|session| (session.last_activity, &session.key))
                .collect();
            by_activity.sort_unstable();
            let oldest: Vec<String> = by_activity.into_iter().take(excess).map(|(_, key)| key.clone()).collect();
            closing.extend(oldest);
        }
        let sessions = closing.iter().filter_map(|key| self.open.remove(key)).collect();
        self.close(sessions)
    }

    /// Closes every open session and judges the waiting ones against what there is (the
    /// input ended).
    pub fn finish(&mut self) -> Vec<AnomalousSession> {
        let sessions = self.open.drain().map(|(_, session)| session).collect();
        let mut anomalous = self.close(sessions);
        let waiting = std::mem::take(&mut self.waiting);
        anomalous.extend(self.judge_all(waiting));
        anomalous
    }

    fn close(&mut self, mut sessions: Vec<Session>) -> Vec<AnomalousSession> {
        sessions.sort_by(|a, b| (a.last_ms, a.last_activity).cmp(&(b.last_ms, b.last_activity)));
        let baseline = self.settings().baseline;
        let mut anomalous = Vec::new();
        for session in sessions {
            if self.model.sessions < baseline {
                self.model.learn(&session);
                self.waiting.push(session);
                if self.model.sessions == baseline {
                    let waiting = std::mem::take(&mut self.waiting);
                    anomalous.extend(self.judge_all(waiting));
                }
                continue;
            }
            let deviations = self.model.judge(&session, self.settings());
            self.model.learn(&session);
            if !deviations.is_empty() {
                anomalous.push(AnomalousSession { session, deviations });
            }
        }
        anomalous
    }

    /// Judges sessions the model has already learned from.
    fn judge_all(&self, sessions: Vec<Session>) -> Vec<AnomalousSession> {
        sessions
            .into_iter()
            .filter_map(|session| {
                let deviations = self.model.judge(&session, self.settings());
                (!deviations.is_empty()).then_some(AnomalousSession { session, deviations })
            })
            .collect()
    }

    /// Sessions open now.
    pub fn open_sessions(&self) -> usize {
        self.open.len()
    }

    /// Moves everything counted for a pattern that was folded into another onto that one.
    pub fn remap(&mut self, resolve: impl Fn(usize) -> usize) {
        let fold = |session: &mut Session| {
            let counts = std::mem::take(&mut session.counts);
            for (pattern, count) in counts {
                let target = resolve(pattern);
                match session.counts.iter_mut().find(|(known, _)| *known == target) {
                    Some((_, total)) => *total += count,
                    None => session.counts.push((target, count)),
                }
            }
        };
        self.open.values_mut().for_each(fold);
        self.waiting.iter_mut().for_each(fold);
        self.model.remap(&resolve);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector(baseline: u64) -> SessionDetector {
        SessionDetector::new(SessionSettings {
            key: regex_lite::Regex::new(r"(req-\d+)").unwrap(),
            idle_ms: 60_000,
            max_open: 1000,
            baseline,
            rare: 0.01,
            support: 0.98,
        })
    }

    /// A normal session: open (0), three reads (1), close (2).
    fn normal(detector: &mut SessionDetector, key: &str) {
        for pattern in [0, 1, 1, 1, 2] {
            detector.add(key, pattern, None, "m");
        }
    }

    #[test]
    fn the_key_is_the_capture_group() {
        assert_eq!(detector(1).key_of("GET /x id=req-42 ok"), Some("req-42"));
        assert_eq!(detector(1).key_of("no key here"), None);
    }

    #[test]
    fn normal_sessions_are_not_reported() {
        let mut detector = detector(50);
        for n in 0..300 {
            normal(&mut detector, &format!("req-{n}"));
        }
        assert_eq!(detector.finish(), Vec::new());
    }

    #[test]
    fn a_session_missing_its_close_and_one_with_a_rare_error_are_reported() {
        let mut detector = detector(50);
        for n in 0..300 {
            normal(&mut detector, &format!("req-{n}"));
        }
        for pattern in [0, 1, 1, 1] {
            detector.add("req-broken", pattern, None, "m");
        }
        for pattern in [0, 1, 1, 1, 3, 2] {
            detector.add("req-error", pattern, None, "m");
        }
        let mut found: Vec<(String, bool)> = detector
            .finish()
            .into_iter()
            .map(|anomalous| {
                let rare = anomalous.deviations.iter().any(|d| matches!(d, Deviation::RarePattern { pattern: 3, .. }));
                (anomalous.session.key, rare)
            })
            .collect();
        found.sort();
        assert_eq!(found, vec![("req-broken".to_string(), false), ("req-error".to_string(), true)]);
    }

    #[test]
    fn idle_sessions_close_by_record_time() {
        let mut detector = detector(1);
        detector.add("req-1", 0, Some(0), "m");
        detector.add("req-2", 0, Some(30_000), "m");
        assert!(detector.close_idle().is_empty());
        assert_eq!(detector.open_sessions(), 2);
        detector.add("req-2", 0, Some(70_000), "m");
        detector.close_idle();
        assert_eq!(detector.open_sessions(), 1);
    }
}
