//! The server's write-ahead log: records and reports are appended and synced here before an
//! ingest is answered, and reach the index with the next commit (every `commit_interval_ms`),
//! so an acknowledgement costs an `fdatasync`, not an index commit, and never waits for a
//! plugin.
//!
//! The log is a series of segment files (`ingest-<first seq>.wal`), one JSON entry a line. Each
//! entry has a sequence number; a commit stores the last one it holds (in the same payload as
//! the file checkpoints) and then releases the log up to it ([`Wal::release`]): segments wholly
//! committed are deleted, and the one being written is emptied if it is wholly committed or
//! else closed for a later release, so the log stays small while appends go on beside commits.
//! At start, entries after the committed sequence are replayed — a crash between the commit
//! and the release replays nothing twice. A torn last entry (the crash hit mid-write) was never
//! acknowledged and is dropped. An entry also carries the request's idempotency key and its documents' ids, so a
//! key is durable exactly when its data is.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::document_ids::DocumentKey;
use super::idempotency::KeyRecord;
use crate::ingest::{BugReport, Record};
use crate::pipeline::FileCheckpoint;

/// One acknowledged job.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WalEntry {
    pub seq: u64,
    #[serde(default)]
    pub records: Vec<Record>,
    /// Where a tailed file stands after these records.
    pub checkpoint: Option<(String, FileCheckpoint)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<BugReport>,
    /// The request's `Idempotency-Key` and its first answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyRecord>,
    /// The ids of the documents in it that came with one (an Elasticsearch bulk action's
    /// `_id`), so a repeated id is not stored twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "super::document_ids::as_base64")]
    pub document_ids: Vec<DocumentKey>,
}

/// What one entry holds, borrowed (written without copying the records).
pub struct EntryRef<'a> {
    pub records: &'a [Record],
    pub checkpoint: Option<&'a (String, FileCheckpoint)>,
    pub reports: &'a [BugReport],
    pub key: Option<&'a KeyRecord>,
    pub document_ids: &'a [DocumentKey],
}

/// A segment that is no longer written, kept until a commit holds its last entry.
struct Closed {
    path: PathBuf,
    last_seq: u64,
}

/// The log.
pub struct Wal {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    /// Bytes in the segment being written, and the last entry in it (0: none).
    length: u64,
    last_seq: u64,
    closed: Vec<Closed>,
    next_seq: u64,
    dirty: bool,
}

/// The first sequence number a segment file's name gives (`ingest.wal`, the single file of
/// earlier versions, reads as 0).
fn segment_start(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    if name == "ingest.wal" {
        return Some(0);
    }
    name.strip_prefix("ingest-")?.strip_suffix(".wal")?.parse().ok()
}

impl Wal {
    /// Opens the log in `dir` and returns the entries after `committed_seq`, to be replayed.
    /// Appends go to a new segment; the ones found are released like any other.
    pub fn open(dir: &Path, committed_seq: u64) -> std::io::Result<(Self, Vec<WalEntry>)> {
        std::fs::create_dir_all(dir)?;
        let mut segments: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter_map(|path| segment_start(&path).map(|start| (start, path)))
            .collect();
        segments.sort();
        let mut pending = Vec::new();
        let mut last_seq = committed_seq;
        let mut closed = Vec::new();
        for (_, path) in segments {
            let mut segment_last = 0;
            let reader = BufReader::new(File::open(&path)?);
            for (number, line) in reader.split(b'\n').enumerate() {
                let line = line?;
                match serde_json::from_slice::<WalEntry>(&line) {
                    Ok(entry) => {
                        segment_last = segment_last.max(entry.seq);
                        last_seq = last_seq.max(entry.seq);
                        if entry.seq > committed_seq {
                            pending.push(entry);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(file = %path.display(), line = number + 1, %error, "torn write-ahead-log entry dropped (it was never acknowledged)");
                        break;
                    }
                }
            }
            closed.push(Closed { path, last_seq: segment_last });
        }
        let next_seq = last_seq + 1;
        let path = dir.join(format!("ingest-{next_seq:020}.wal"));
        // A segment of that name holds no whole entry (else the sequence would be past it),
        // at most a torn one: it is written over.
        closed.retain(|segment| segment.path != path);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.set_len(0)?;
        sync_dir(dir)?;
        let wal = Self { dir: dir.to_path_buf(), path, file, length: 0, last_seq: 0, closed, next_seq, dirty: false };
        Ok((wal, pending))
    }

    /// Appends an entry (not yet synced); returns its sequence number.
    pub fn append(&mut self, entry: EntryRef<'_>) -> std::io::Result<u64> {
        #[derive(Serialize)]
        struct Borrowed<'a> {
            seq: u64,
            records: &'a [Record],
            checkpoint: Option<&'a (String, FileCheckpoint)>,
            #[serde(skip_serializing_if = "<[BugReport]>::is_empty")]
            reports: &'a [BugReport],
            #[serde(skip_serializing_if = "Option::is_none")]
            key: Option<&'a KeyRecord>,
            #[serde(
                skip_serializing_if = "<[DocumentKey]>::is_empty",
                serialize_with = "super::document_ids::as_base64::serialize"
            )]
            document_ids: &'a [DocumentKey],
        }
        let seq = self.next_seq;
        let borrowed = Borrowed {
            seq,
            records: entry.records,
            checkpoint: entry.checkpoint,
            reports: entry.reports,
            key: entry.key,
            document_ids: entry.document_ids,
        };
        let mut line = serde_json::to_vec(&borrowed).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.dirty = true;
        self.file.write_all(&line)?;
        self.length += line.len() as u64;
        self.next_seq += 1;
        self.last_seq = seq;
        Ok(seq)
    }

    /// Where the segment being written ends: what [`Self::truncate`] goes back to.
    pub fn mark(&self) -> (u64, u64, u64) {
        (self.length, self.last_seq, self.next_seq)
    }

    /// Cuts off what was appended after `mark` (a write or sync that failed: those entries
    /// were never acknowledged and must not be replayed).
    pub fn truncate(&mut self, mark: (u64, u64, u64)) -> std::io::Result<()> {
        let (length, last_seq, next_seq) = mark;
        self.file.set_len(length)?;
        self.file.sync_data()?;
        self.length = length;
        self.last_seq = last_seq;
        self.next_seq = next_seq;
        self.dirty = false;
        Ok(())
    }

    /// Makes every appended entry durable.
    pub fn sync(&mut self) -> std::io::Result<()> {
        if self.dirty {
            self.file.sync_data()?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Drops what a commit holding every entry up to `committed_seq` made redundant.
    pub fn release(&mut self, committed_seq: u64) -> std::io::Result<()> {
        let mut kept = Vec::new();
        for segment in std::mem::take(&mut self.closed) {
            if segment.last_seq <= committed_seq {
                std::fs::remove_file(&segment.path)
                    .or_else(|error| if error.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(error) })?;
            } else {
                kept.push(segment);
            }
        }
        self.closed = kept;
        if self.length == 0 {
            return Ok(());
        }
        if self.last_seq <= committed_seq {
            self.file.set_len(0)?;
            self.file.sync_data()?;
            self.length = 0;
            self.last_seq = 0;
        } else {
            // Entries beyond the commit were appended meanwhile: later appends go to a new
            // segment, and this one goes once a commit holds its last entry.
            let path = self.dir.join(format!("ingest-{:020}.wal", self.next_seq));
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            sync_dir(&self.dir)?;
            let old = std::mem::replace(&mut self.path, path);
            self.file = file;
            self.closed.push(Closed { path: old, last_seq: self.last_seq });
            self.length = 0;
            self.last_seq = 0;
        }
        Ok(())
    }

    /// The segment being written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A new file's name is durable once its directory is synced.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Origin;

    fn record(message: &str) -> Record {
        Record::new("s", message.into(), Origin { file: "f".into(), line: 1 })
    }

    fn entry(records: &[Record]) -> EntryRef<'_> {
        EntryRef { records, checkpoint: None, reports: &[], key: None, document_ids: &[] }
    }

    fn messages(entries: &[WalEntry]) -> Vec<&str> {
        entries.iter().flat_map(|e| e.records.iter().map(|r| r.message.as_str())).collect()
    }

    #[test]
    fn entries_after_the_committed_one_come_back_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, pending) = Wal::open(dir.path(), 0).unwrap();
        assert!(pending.is_empty());
        assert_eq!(wal.append(entry(&[record("a")])).unwrap(), 1);
        assert_eq!(wal.append(entry(&[record("b"), record("c")])).unwrap(), 2);
        wal.sync().unwrap();
        let torn_into = wal.path().to_path_buf();
        drop(wal);
        let mut file = OpenOptions::new().append(true).open(&torn_into).unwrap();
        file.write_all(br#"{"seq":3,"records":[{"timest"#).unwrap();
        let (mut wal, pending) = Wal::open(dir.path(), 1).unwrap();
        assert_eq!(messages(&pending), ["b", "c"]);
        assert_eq!(wal.append(entry(&[record("d")])).unwrap(), 3, "sequence numbers go on after the replayed ones");
        wal.sync().unwrap();
        drop(wal);
        let (_, pending) = Wal::open(dir.path(), 1).unwrap();
        assert_eq!(messages(&pending), ["b", "c", "d"], "appends after a torn entry stay readable");
    }

    #[test]
    fn release_keeps_exactly_what_no_commit_holds_while_appends_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path(), 0).unwrap();
        wal.append(entry(&[record("a")])).unwrap();
        wal.append(entry(&[record("b")])).unwrap();
        wal.sync().unwrap();
        // A commit of 1 while 2 is already appended: the segment is closed, not emptied.
        wal.release(1).unwrap();
        wal.append(entry(&[record("c")])).unwrap();
        wal.sync().unwrap();
        let (_, pending) = Wal::open(dir.path(), 1).unwrap();
        assert_eq!(messages(&pending), ["b", "c"]);
        wal.release(3).unwrap();
        let (_, pending) = Wal::open(dir.path(), 1).unwrap();
        assert!(pending.is_empty(), "everything committed is gone: {:?}", messages(&pending));
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert!(files <= 3, "{files} segment files left");
    }

    #[test]
    fn a_failed_group_is_cut_off_and_never_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path(), 0).unwrap();
        wal.append(entry(&[record("kept")])).unwrap();
        wal.sync().unwrap();
        let mark = wal.mark();
        wal.append(entry(&[record("refused")])).unwrap();
        wal.truncate(mark).unwrap();
        assert_eq!(wal.append(entry(&[record("next")])).unwrap(), 2);
        wal.sync().unwrap();
        let (_, pending) = Wal::open(dir.path(), 0).unwrap();
        assert_eq!(messages(&pending), ["kept", "next"]);
    }
}
