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
    /// The file's last line as read had no line end yet (a writer was mid-line): the record
    /// it was read into (its own, or the one it continued), to be read again whole from that
    /// record's first line once the file grows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_line: Option<OpenLine>,
}

/// The last record of a file whose last line was read before its line end was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenLine {
    /// Offset of the record's first byte.
    pub start: u64,
    /// Its first line's number (1-based).
    pub line: u64,
    /// The file name its record was stored under.
    pub file: String,
}

/// Where to resume a file: the position, and the record of a line that was read unfinished,
/// which must be deleted before the line is read again from its start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resume {
    pub position: ReadPosition,
    pub reread: Option<OpenLine>,
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
    /// still starts with the bytes it had, else from the start (a new or replaced file). A
    /// last line read before its line end was written is read again from its start once the
    /// file has grown past it ([`Resume::reread`] names the record to replace).
    ///
    /// A path with no checkpoint whose first [`HEAD_BYTES`] are those of a file read before
    /// under another path (in `before`, the checkpoints as the import began), which no longer
    /// starts with them there, is that file moved (rotated: `app.log` → `app.log.1`, or
    /// compressed to `app.log.1.gz`): it resumes where that file was read to. While the other
    /// path still starts alike, the two are copies, and this one is read from its start.
    pub fn resume(&self, key: &str, path: &Path, before: &Checkpoints) -> Result<Resume, IngestError> {
        let moved;
        let checkpoint = match self.files.get(key) {
            Some(checkpoint) => checkpoint,
            None => match before.moved_here(path)? {
                Some((from, checkpoint)) => {
                    tracing::info!(
                        file = key,
                        from,
                        "a file read before under another path: resuming where it was read to"
                    );
                    moved = checkpoint;
                    &moved
                }
                None => return Ok(Resume::default()),
            },
        };
        if fingerprint(path, checkpoint.head_len)? != checkpoint.head {
            tracing::info!(file = key, "file changed since it was imported; importing it from the start");
            return Ok(Resume::default());
        }
        let after = ReadPosition { offset: checkpoint.offset, line: checkpoint.line };
        let grown = std::fs::metadata(path).map(|meta| meta.len() > checkpoint.offset).unwrap_or(false);
        match &checkpoint.open_line {
            Some(open) if grown => Ok(Resume {
                position: ReadPosition { offset: open.start, line: open.line.saturating_sub(1) },
                reread: Some(open.clone()),
            }),
            _ => Ok(Resume { position: after, reread: None }),
        }
    }

    /// The checkpoint of a file read under another path that `path` is now (see
    /// [`Checkpoints::resume`]), with that path.
    fn moved_here(&self, path: &Path) -> Result<Option<(&str, FileCheckpoint)>, IngestError> {
        let head = fingerprint(path, HEAD_BYTES)?;
        if head.is_empty() {
            return Ok(None);
        }
        for (other, checkpoint) in &self.files {
            if checkpoint.head_len != HEAD_BYTES || checkpoint.head != head {
                continue;
            }
            let still_there = fingerprint(Path::new(other), HEAD_BYTES).is_ok_and(|there| there == head);
            if !still_there {
                return Ok(Some((other.as_str(), checkpoint.clone())));
            }
        }
        Ok(None)
    }

    /// Records that `path` (known by `key`, its records stored under the name `file`, the last
    /// of them starting at line `last_record`) was read up to `position`.
    pub fn advance(
        &mut self,
        key: &str,
        path: &Path,
        file: &str,
        position: ReadPosition,
        last_record: Option<u64>,
    ) -> Result<(), IngestError> {
        let head_len = position.offset.min(HEAD_BYTES);
        // Read again every time (a KiB): the entry under `key` may be of a file this one replaced.
        let head = fingerprint(path, head_len)?;
        let known = self.files.get(key).filter(|known| known.offset == position.offset && last_record.is_none());
        let open_line = match known {
            // Nothing read since: the record the unfinished line went into is the one known.
            Some(known) => known.open_line.clone(),
            None => {
                // Every line from the last record's first on belongs to that record (or was
                // rejected).
                let line = last_record.filter(|&line| line >= 1 && line <= position.line).unwrap_or(position.line);
                open_line_start(path, position.offset, position.line - line)
                    .map_err(|source| IngestError::Open { path: path.to_path_buf(), source })?
                    .map(|start| OpenLine { start, line, file: file.to_string() })
            }
        };
        let checkpoint = FileCheckpoint { offset: position.offset, line: position.line, head_len, head, open_line };
        self.files.insert(key.to_string(), checkpoint);
        Ok(())
    }
}

/// When the first `offset` bytes of `path` do not end at a line end (the file ended mid-line
/// when it was read): where the line `lines_back` lines before the unfinished one begins.
/// `None` at a line end, at 0, for a compressed file (whose offsets count decompressed bytes,
/// and which nobody appends to), and when that start is more than [`MAX_OPEN_LINE_BYTES`] back.
fn open_line_start(path: &Path, offset: u64, lines_back: u64) -> std::io::Result<Option<u64>> {
    use std::io::{Read, Seek, SeekFrom};
    if offset == 0 {
        return Ok(None);
    }
    let mut file = std::fs::File::open(path)?;
    let mut magic = [0u8; 2];
    if file.read(&mut magic)? == 2 && magic == [0x1f, 0x8b] {
        return Ok(None);
    }
    // Most calls end at a line end: one byte tells.
    file.seek(SeekFrom::Start(offset - 1))?;
    let mut last = [0u8; 1];
    if file.read(&mut last)? == 0 || last[0] == b'\n' {
        return Ok(None);
    }
    let from = offset.saturating_sub(MAX_OPEN_LINE_BYTES);
    file.seek(SeekFrom::Start(from))?;
    let mut before = Vec::new();
    file.take(offset - from).read_to_end(&mut before)?;
    // The line end `lines_back + 1` from the end closes the line before the one wanted.
    let mut ends = memchr::memrchr_iter(b'\n', &before);
    match ends.nth(lines_back as usize) {
        Some(at) => Ok(Some(from + at as u64 + 1)),
        None if from == 0 => Ok(Some(0)),
        None => Ok(None),
    }
}

/// How far back the start of an unfinished last line is looked for (a longer line is read
/// again from there).
const MAX_OPEN_LINE_BYTES: u64 = 1 << 20;
