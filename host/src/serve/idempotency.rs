//! `Idempotency-Key`: a client that did not hear an answer may send the same request again with
//! the same key, and is answered what the first one was, with nothing stored twice.
//!
//! A key is scoped by the token's holder and the route, and bound to a digest of the request
//! (query string, encoding, body as sent): the same key with another request is refused. While
//! the first request is in flight a retry is answered 409; once it is in the write-ahead log the
//! key's first answer is kept — in the log entry itself, so a key is durable exactly when its
//! data is, and in `wal/idempotency.jsonl`, which outlives the log entry (the writer appends it
//! at once and syncs it before the entry is released after a commit). At start both are read
//! back.
//!
//! Guaranteed window: a retry within `idempotency_window_ms` (default 24 h) of the first
//! request is recognised, across restarts and crashes, while at most `max_idempotency_keys`
//! keys are younger (past it the oldest are forgotten first).

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::append_file::AppendFile;
use super::ingestor::Claim;

/// The longest key accepted.
pub const MAX_KEY_CHARS: usize = 255;

/// A key's first answer, as the write-ahead log and the key file keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Holder, route and key.
    pub scope: String,
    /// SHA-256 of the request (query, encoding, body), hex.
    pub digest: String,
    /// The first answer's body.
    pub answer: Value,
    /// When it was first answered (ms since the epoch).
    pub at_ms: i64,
    /// Its write-ahead-log entry (0 until written).
    #[serde(default)]
    pub seq: u64,
}

enum Entry {
    InFlight { digest: String },
    Done(KeyRecord),
}

/// What a request with a key is to do.
pub enum Begin {
    /// A new key: go on; dropping the guard before the request was written frees the key.
    New(KeyGuard),
    /// Answered before: this is the first answer (its log entry is `seq`).
    Replay(KeyRecord),
    /// The key came with another request.
    Mismatch,
    /// The first request with this key is still being handled.
    InFlight,
}

struct Table {
    entries: HashMap<String, Entry>,
    /// Finished keys, oldest first, for expiry and the size bound.
    order: VecDeque<(i64, String)>,
}

/// The keys the server remembers.
pub struct IdempotencyKeys {
    table: Mutex<Table>,
    /// The key file, one JSON record a line. Apart from the table, so a sync never holds up a
    /// request looking its key up; taken before the table when both are.
    key_file: Mutex<AppendFile>,
    path: Option<PathBuf>,
    window_ms: i64,
    max_keys: usize,
}

impl IdempotencyKeys {
    /// Opens the key file in `dir` (`None`: memory only), with the keys of log entries not
    /// yet committed (`pending`), and forgets what is older than the window.
    pub fn open(
        dir: Option<&Path>,
        pending: impl IntoIterator<Item = KeyRecord>,
        window_ms: u64,
        max_keys: usize,
    ) -> std::io::Result<Self> {
        let path = dir.map(|dir| dir.join("idempotency.jsonl"));
        let mut records: Vec<KeyRecord> = Vec::new();
        if let Some(path) = &path
            && let Ok(file) = File::open(path)
        {
            for line in BufReader::new(file).split(b'\n') {
                // A torn last line was never relied on: its entry's own copy is in the log.
                if let Ok(record) = serde_json::from_slice::<KeyRecord>(&line?) {
                    records.push(record);
                }
            }
        }
        records.extend(pending);
        let keys = Self {
            table: Mutex::new(Table { entries: HashMap::new(), order: VecDeque::new() }),
            key_file: Mutex::new(AppendFile::default()),
            path,
            window_ms: window_ms.min(i64::MAX as u64) as i64,
            max_keys: max_keys.max(1),
        };
        {
            let mut table = keys.lock();
            records.sort_by_key(|record| record.at_ms);
            for record in records {
                keys.remember(&mut table, record);
            }
            keys.expire(&mut table);
        }
        keys.rewrite(&mut keys.lock_file())?;
        Ok(keys)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_file(&self) -> std::sync::MutexGuard<'_, AppendFile> {
        self.key_file.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remember(&self, table: &mut Table, record: KeyRecord) {
        table.order.push_back((record.at_ms, record.scope.clone()));
        table.entries.insert(record.scope.clone(), Entry::Done(record));
    }

    /// Forgets keys past the window or over the bound, oldest first.
    fn expire(&self, table: &mut Table) {
        let cutoff = chrono::Utc::now().timestamp_millis().saturating_sub(self.window_ms);
        while let Some((at_ms, scope)) = table.order.front().cloned() {
            let finished = table.order.len();
            if at_ms >= cutoff && finished <= self.max_keys {
                break;
            }
            table.order.pop_front();
            // Only if it is still that record (a key re-used after expiry has a newer one).
            if matches!(table.entries.get(&scope), Some(Entry::Done(record)) if record.at_ms == at_ms) {
                table.entries.remove(&scope);
            }
        }
    }

    /// Writes the live keys to a fresh file and swaps it in.
    fn rewrite(&self, key_file: &mut AppendFile) -> std::io::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        let (content, lines) = {
            let table = self.lock();
            let mut content = Vec::new();
            let mut lines = 0;
            for (_, scope) in &table.order {
                if let Some(Entry::Done(record)) = table.entries.get(scope) {
                    serde_json::to_writer(&mut content, record).map_err(std::io::Error::other)?;
                    content.push(b'\n');
                    lines += 1;
                }
            }
            (content, lines)
        };
        key_file.replace(path, &content, lines)
    }

    /// Looks `scope` up for a request whose digest is `digest`.
    pub fn begin(self: &Arc<Self>, scope: String, digest: String, claim: Arc<Claim>) -> Begin {
        let mut table = self.lock();
        self.expire(&mut table);
        match table.entries.get(&scope) {
            Some(Entry::Done(record)) if record.digest == digest => Begin::Replay(record.clone()),
            Some(Entry::Done(_)) => Begin::Mismatch,
            Some(Entry::InFlight { digest: first }) if *first == digest => Begin::InFlight,
            Some(Entry::InFlight { .. }) => Begin::Mismatch,
            None => {
                table.entries.insert(scope.clone(), Entry::InFlight { digest: digest.clone() });
                Begin::New(KeyGuard { keys: self.clone(), scope, digest, claim })
            }
        }
    }

    /// The requests with these keys are in the log (the writer calls it before answering):
    /// keeps their answers, in memory now and in the key file.
    pub fn written(&self, records: impl IntoIterator<Item = KeyRecord>) {
        let mut key_file = self.lock_file();
        let (lines, count, compact) = {
            let mut table = self.lock();
            let mut lines = Vec::new();
            let mut count = 0;
            for record in records {
                if serde_json::to_writer(&mut lines, &record).is_ok() {
                    lines.push(b'\n');
                    count += 1;
                }
                self.remember(&mut table, record);
            }
            self.expire(&mut table);
            (lines, count, key_file.entries + count > 2 * table.order.len() + 1024)
        };
        if count == 0 {
            return;
        }
        // Not synced here: the log entry holds the keys until it is released, and the file
        // is synced before that ([`Self::sync`]). A failure is logged and the key file
        // rewritten at the next compaction or start.
        if let Err(error) = key_file.append(&lines, count) {
            tracing::error!(%error, "idempotency key file not written; the keys are kept in the write-ahead log");
        }
        if compact && let Err(error) = self.rewrite(&mut key_file) {
            tracing::error!(%error, "idempotency key file not compacted");
        }
    }

    /// Makes what was appended to the key file durable: called before the write-ahead log
    /// releases the entries that hold the same keys.
    pub fn sync(&self) -> std::io::Result<()> {
        self.lock_file().sync()
    }

    /// The request with this key was refused before being written: the key is free again.
    pub fn refused(&self, scope: &str) {
        let mut table = self.lock();
        if matches!(table.entries.get(scope), Some(Entry::InFlight { .. })) {
            table.entries.remove(scope);
        }
    }
}

/// Frees an in-flight key when the request ends without being written (refused, timed out,
/// or dropped with its connection).
pub struct KeyGuard {
    keys: Arc<IdempotencyKeys>,
    scope: String,
    digest: String,
    claim: Arc<Claim>,
}

impl KeyGuard {
    /// What the log keeps of this key when its request is written with `answer`.
    pub fn record(&self, answer: Value) -> KeyRecord {
        KeyRecord {
            scope: self.scope.clone(),
            digest: self.digest.clone(),
            answer,
            at_ms: chrono::Utc::now().timestamp_millis(),
            seq: 0,
        }
    }

    /// The claim of the job this key's request submits.
    pub fn claim(&self) -> Arc<Claim> {
        self.claim.clone()
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        // Written (or being written) by the writer: it records the key. Otherwise the job can
        // no longer be written, and the key is free.
        if self.claim.abandon() {
            self.keys.refused(&self.scope);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(scope: &str, at_ms: i64) -> KeyRecord {
        KeyRecord { scope: scope.into(), digest: "d".into(), answer: serde_json::json!({"accepted": 1}), at_ms, seq: 1 }
    }

    #[test]
    fn a_key_is_new_then_in_flight_then_replayed_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Arc::new(IdempotencyKeys::open(Some(dir.path()), [], 60_000, 10).unwrap());
        let now = chrono::Utc::now().timestamp_millis();
        let claim = Arc::new(Claim::default());
        let Begin::New(guard) = keys.begin("k".into(), "d".into(), claim.clone()) else { panic!("new") };
        assert!(matches!(keys.begin("k".into(), "d".into(), Arc::new(Claim::default())), Begin::InFlight));
        assert!(matches!(keys.begin("k".into(), "other".into(), Arc::new(Claim::default())), Begin::Mismatch));
        assert!(claim.take(), "the writer claims the job");
        keys.written([record("k", now)]);
        drop(guard);
        assert!(matches!(keys.begin("k".into(), "d".into(), Arc::new(Claim::default())), Begin::Replay(_)));
        drop(keys);
        let keys = Arc::new(IdempotencyKeys::open(Some(dir.path()), [], 60_000, 10).unwrap());
        let Begin::Replay(first) = keys.begin("k".into(), "d".into(), Arc::new(Claim::default())) else {
            panic!("forgotten across a reopen")
        };
        assert_eq!(first.answer["accepted"], 1);
    }

    #[test]
    fn a_refused_request_frees_its_key_and_old_or_surplus_keys_are_forgotten() {
        let keys = Arc::new(IdempotencyKeys::open(None, [], 60_000, 2).unwrap());
        let Begin::New(guard) = keys.begin("k".into(), "d".into(), Arc::new(Claim::default())) else { panic!() };
        drop(guard);
        assert!(matches!(keys.begin("k".into(), "d".into(), Arc::new(Claim::default())), Begin::New(_)));
        let now = chrono::Utc::now().timestamp_millis();
        let keys = IdempotencyKeys::open(None, [record("old", now - 120_000), record("a", now)], 60_000, 2).unwrap();
        let keys = Arc::new(keys);
        assert!(matches!(keys.begin("old".into(), "d".into(), Arc::new(Claim::default())), Begin::New(_)));
        keys.written([record("b", now + 1)]);
        keys.written([record("c", now + 2)]);
        assert!(
            matches!(keys.begin("a".into(), "d".into(), Arc::new(Claim::default())), Begin::New(_)),
            "over the bound"
        );
        assert!(matches!(keys.begin("c".into(), "d".into(), Arc::new(Claim::default())), Begin::Replay(_)));
    }
}
