//! Where each imported file stands, so a re-import reads only what is new and an import killed
//! at any point resumes where its last commit ended.
//!
//! The checkpoints travel in the payload of the index commit that makes the records durable:
//! both land in one atomic step, so after a crash they always agree.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ingest::{IngestError, ReadPosition, fingerprint};

/// How many leading bytes identify a file.
pub const HEAD_BYTES: u64 = 1024;

/// Checkpoints of every file imported so far, by canonical path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoints {
    pub files: BTreeMap<String, FileCheckpoint>,
    /// The last write-ahead-log entry (`opsloop serve`) whose records this commit holds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wal_seq: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// How far one file was imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCheckpoint {
    /// Bytes of (decompressed) content consumed.
    pub offset: u64,
    /// Lines consumed.
    pub line: u64,
    /// How many leading bytes `head` hashes.
    pub head_len: u64,
    /// SHA-256 of the first `head_len` bytes.
    pub head: String,
}

impl Checkpoints {
    /// Reads checkpoints from a commit payload; an absent or foreign payload means none.
    pub fn from_payload(payload: Option<&str>) -> Self {
        payload.and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default()
    }

    /// The payload text for the next commit.
    pub fn to_payload(&self) -> String {
        serde_json::to_string(self).expect("checkpoints serialize")
    }

    /// Where to resume reading `path` (known by `key`): after the checkpoint when the file
    /// still starts with the bytes it had, else from the start (a new or replaced file).
    pub fn resume_position(&self, key: &str, path: &Path) -> Result<ReadPosition, IngestError> {
        let Some(checkpoint) = self.files.get(key) else { return Ok(ReadPosition::default()) };
        if fingerprint(path, checkpoint.head_len)? == checkpoint.head {
            Ok(ReadPosition { offset: checkpoint.offset, line: checkpoint.line })
        } else {
            tracing::info!(file = key, "file changed since it was imported; importing it from the start");
            Ok(ReadPosition::default())
        }
    }

    /// Records that `path` (known by `key`) was read up to `position`.
    pub fn advance(&mut self, key: &str, path: &Path, position: ReadPosition) -> Result<(), IngestError> {
        let head_len = position.offset.min(HEAD_BYTES);
        let head = match self.files.get(key) {
            Some(known) if known.head_len == head_len => known.head.clone(),
            _ => fingerprint(path, head_len)?,
        };
        self.files
            .insert(key.to_string(), FileCheckpoint { offset: position.offset, line: position.line, head_len, head });
        Ok(())
    }
}
