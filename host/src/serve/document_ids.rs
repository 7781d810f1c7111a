//! The `_id`s of bulk documents: a document whose id was stored before is not stored again
//! (`create` answers 409, as Elasticsearch does), across restarts and crashes.
//!
//! An id is kept as two 128-bit hashes — of its scope (the token's holder, the index and the
//! `_id`) and of its document (keys sorted) — so a bulk request looks all its ids up under one
//! lock and the writer logs 40 bytes per id, not a JSON key record: ids on every document cost
//! a fraction of the writer's work, not as much again. Durability follows the request keys'
//! rule ([`super::idempotency`]): an id is in its write-ahead-log entry, so it is durable
//! exactly when its document is, and in `wal/document_ids.bin` (fixed 40-byte records), synced
//! before the entry is released after a commit. At start both are read back.
//!
//! Window: the ids of the last `idempotency_window_ms` (24 h), at most `max_idempotency_keys`
//! of them (the oldest are forgotten first).

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::append_file::AppendFile;
use super::ingestor::Claim;

/// One stored id, as the log and the id file keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentKey {
    /// Hash of holder, index and `_id`.
    pub scope: u128,
    /// Hash of the document.
    pub digest: u128,
    /// When it was first stored (ms since the epoch).
    pub at_ms: i64,
}

/// The bytes of one record in the id file.
const RECORD_BYTES: usize = 40;

impl DocumentKey {
    fn to_bytes(self) -> [u8; RECORD_BYTES] {
        let mut bytes = [0u8; RECORD_BYTES];
        bytes[..16].copy_from_slice(&self.scope.to_le_bytes());
        bytes[16..32].copy_from_slice(&self.digest.to_le_bytes());
        bytes[32..].copy_from_slice(&self.at_ms.to_le_bytes());
        bytes
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        let scope = u128::from_le_bytes(bytes[..16].try_into().unwrap_or_default());
        let digest = u128::from_le_bytes(bytes[16..32].try_into().unwrap_or_default());
        let at_ms = i64::from_le_bytes(bytes[32..RECORD_BYTES].try_into().unwrap_or_default());
        Self { scope, digest, at_ms }
    }
}

/// A log entry's ids as one base64 string of their 40-byte records: what the writer appends
/// per id stays a copy, not a JSON object with two 39-digit numbers.
pub mod as_base64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{DocumentKey, RECORD_BYTES};

    pub fn serialize<S: Serializer>(keys: &[DocumentKey], serializer: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = keys.iter().flat_map(|key| key.to_bytes()).collect();
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<DocumentKey>, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)?;
        if bytes.len() % RECORD_BYTES != 0 {
            return Err(serde::de::Error::custom("document ids: not whole 40-byte records"));
        }
        Ok(bytes.chunks_exact(RECORD_BYTES).map(DocumentKey::from_bytes).collect())
    }
}

/// What became of an id looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Not stored: go on (the id is held in flight until the request is written or refused).
    New,
    /// Stored before, with this document or another one.
    Stored { same_document: bool },
    /// Another request with this id is being written.
    InFlight,
}

enum Slot {
    InFlight,
    Stored { digest: u128, at_ms: i64 },
}

struct Table {
    slots: HashMap<u128, Slot>,
    /// Stored ids, oldest first, for expiry and the bound.
    order: VecDeque<(i64, u128)>,
}

/// The ids the server remembers.
pub struct DocumentIds {
    table: Mutex<Table>,
    /// The id file, 40 bytes an id. Taken before the table when both are.
    file: Mutex<AppendFile>,
    path: Option<PathBuf>,
    window_ms: i64,
    max_ids: usize,
}

impl DocumentIds {
    /// Opens the id file in `dir` (`None`: memory only) with the ids of log entries not yet
    /// committed (`pending`), and forgets what is past the window or the bound.
    pub fn open(
        dir: Option<&Path>,
        pending: impl IntoIterator<Item = DocumentKey>,
        window_ms: u64,
        max_ids: usize,
    ) -> std::io::Result<Self> {
        let path = dir.map(|dir| dir.join("document_ids.bin"));
        let mut keys = Vec::new();
        if let Some(path) = &path
            && let Ok(mut file) = File::open(path)
        {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            // A torn last record was never relied on: its entry's own copy is in the log.
            keys.extend(bytes.chunks_exact(RECORD_BYTES).map(DocumentKey::from_bytes));
        }
        keys.extend(pending);
        keys.sort_by_key(|key| key.at_ms);
        let ids = Self {
            table: Mutex::new(Table { slots: HashMap::new(), order: VecDeque::new() }),
            file: Mutex::new(AppendFile::default()),
            path,
            window_ms: window_ms.min(i64::MAX as u64) as i64,
            max_ids: max_ids.max(1),
        };
        {
            let mut table = ids.lock();
            for key in keys {
                Self::remember(&mut table, key);
            }
            ids.expire(&mut table);
        }
        ids.rewrite(&mut ids.lock_file())?;
        Ok(ids)
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_file(&self) -> MutexGuard<'_, AppendFile> {
        self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remember(table: &mut Table, key: DocumentKey) {
        table.order.push_back((key.at_ms, key.scope));
        table.slots.insert(key.scope, Slot::Stored { digest: key.digest, at_ms: key.at_ms });
    }

    fn expire(&self, table: &mut Table) {
        let cutoff = chrono::Utc::now().timestamp_millis().saturating_sub(self.window_ms);
        while let Some(&(at_ms, scope)) = table.order.front() {
            if at_ms >= cutoff && table.order.len() <= self.max_ids {
                break;
            }
            table.order.pop_front();
            // Only if it is still that record (an id stored again after expiry has a newer one).
            if matches!(table.slots.get(&scope), Some(Slot::Stored { at_ms: stored, .. }) if *stored == at_ms) {
                table.slots.remove(&scope);
            }
        }
    }

    /// Writes the stored ids to a fresh file and swaps it in.
    fn rewrite(&self, id_file: &mut AppendFile) -> std::io::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        let content: Vec<u8> = {
            let table = self.lock();
            table
                .order
                .iter()
                .filter_map(|&(at_ms, scope)| match table.slots.get(&scope) {
                    Some(Slot::Stored { digest, at_ms: stored }) if *stored == at_ms => {
                        Some(DocumentKey { scope, digest: *digest, at_ms })
                    }
                    _ => None,
                })
                .flat_map(DocumentKey::to_bytes)
                .collect()
        };
        id_file.replace(path, &content, content.len() / RECORD_BYTES)
    }

    /// Looks up a request's ids (`(scope, digest)` each, distinct scopes), under `claim`: the
    /// new ones are held in flight by the guard until the request is written (the writer calls
    /// [`Self::written`]) or not.
    pub fn begin(self: &Arc<Self>, ids: &[(u128, u128)], claim: Arc<Claim>) -> (Vec<Seen>, IdsGuard) {
        let mut table = self.lock();
        self.expire(&mut table);
        let mut held = Vec::new();
        let seen = ids
            .iter()
            .map(|&(scope, digest)| match table.slots.get(&scope) {
                Some(Slot::Stored { digest: stored, .. }) => Seen::Stored { same_document: *stored == digest },
                Some(Slot::InFlight) => Seen::InFlight,
                None => {
                    table.slots.insert(scope, Slot::InFlight);
                    held.push(scope);
                    Seen::New
                }
            })
            .collect();
        (seen, IdsGuard { ids: self.clone(), scopes: held, claim })
    }

    /// These ids' documents are in the log: remembered now, appended to the id file (synced by
    /// [`Self::sync`] before the log entry is released).
    pub fn written(&self, keys: &[DocumentKey]) {
        if keys.is_empty() {
            return;
        }
        let mut id_file = self.lock_file();
        let compact = {
            let mut table = self.lock();
            for key in keys {
                Self::remember(&mut table, *key);
            }
            self.expire(&mut table);
            id_file.entries + keys.len() > 2 * table.order.len() + 4096
        };
        let bytes: Vec<u8> = keys.iter().flat_map(|key| key.to_bytes()).collect();
        if let Err(error) = id_file.append(&bytes, keys.len()) {
            tracing::error!(%error, "document id file not written; the ids are kept in the write-ahead log");
        }
        if compact && let Err(error) = self.rewrite(&mut id_file) {
            tracing::error!(%error, "document id file not compacted");
        }
    }

    /// The request holding these ids was not written: they are free again.
    pub fn refused(&self, scopes: impl IntoIterator<Item = u128>) {
        let mut table = self.lock();
        for scope in scopes {
            if matches!(table.slots.get(&scope), Some(Slot::InFlight)) {
                table.slots.remove(&scope);
            }
        }
    }

    /// Makes what was appended to the id file durable.
    pub fn sync(&self) -> std::io::Result<()> {
        self.lock_file().sync()
    }
}

/// Frees a request's in-flight ids when it ends without being written.
pub struct IdsGuard {
    ids: Arc<DocumentIds>,
    scopes: Vec<u128>,
    claim: Arc<Claim>,
}

impl Drop for IdsGuard {
    fn drop(&mut self) {
        if !self.scopes.is_empty() && self.claim.abandon() {
            self.ids.refused(std::mem::take(&mut self.scopes));
        }
    }
}

/// The first 128 bits of SHA-256 over `parts`, each followed by a newline.
pub fn hash128(parts: &[&[u8]]) -> u128 {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
        hasher.update(b"\n");
    }
    u128::from_le_bytes(hasher.finalize()[..16].try_into().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_new_then_in_flight_then_stored_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let ids = Arc::new(DocumentIds::open(Some(dir.path()), [], 60_000, 10).unwrap());
        let claim = Arc::new(Claim::default());
        let (seen, guard) = ids.begin(&[(1, 10), (2, 20)], claim.clone());
        assert_eq!(seen, [Seen::New, Seen::New]);
        let (seen, _other) = ids.begin(&[(1, 10)], Arc::new(Claim::default()));
        assert_eq!(seen, [Seen::InFlight]);
        assert!(claim.take(), "the writer claims the job");
        let now = chrono::Utc::now().timestamp_millis();
        ids.written(&[
            DocumentKey { scope: 1, digest: 10, at_ms: now },
            DocumentKey { scope: 2, digest: 20, at_ms: now },
        ]);
        drop(guard);
        ids.sync().unwrap();
        drop(ids);
        let ids = Arc::new(DocumentIds::open(Some(dir.path()), [], 60_000, 10).unwrap());
        let (seen, _guard) = ids.begin(&[(1, 10), (2, 99), (3, 30)], Arc::new(Claim::default()));
        assert_eq!(seen, [Seen::Stored { same_document: true }, Seen::Stored { same_document: false }, Seen::New]);
    }

    #[test]
    fn a_refused_request_frees_its_ids_and_old_or_surplus_ids_are_forgotten() {
        let ids = Arc::new(DocumentIds::open(None, [], 60_000, 2).unwrap());
        let (_, guard) = ids.begin(&[(1, 10)], Arc::new(Claim::default()));
        drop(guard);
        assert_eq!(ids.begin(&[(1, 10)], Arc::new(Claim::default())).0, [Seen::New]);
        let now = chrono::Utc::now().timestamp_millis();
        let old = DocumentKey { scope: 5, digest: 50, at_ms: now - 120_000 };
        let ids = Arc::new(DocumentIds::open(None, [old], 60_000, 2).unwrap());
        assert_eq!(ids.begin(&[(5, 50)], Arc::new(Claim::default())).0, [Seen::New], "past the window");
        let keys: Vec<DocumentKey> = (6..9).map(|scope| DocumentKey { scope, digest: 0, at_ms: now }).collect();
        ids.written(&keys);
        let (seen, _guard) = ids.begin(&[(6, 0), (8, 0)], Arc::new(Claim::default()));
        assert_eq!(seen, [Seen::New, Seen::Stored { same_document: true }], "over the bound, the oldest goes");
    }
}
