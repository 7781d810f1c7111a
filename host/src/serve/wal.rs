//! The server's write-ahead log: records are appended and synced here before an ingest is
//! answered, and reach the index with the next commit (every `commit_interval_ms`), so an
//! acknowledgement costs an `fdatasync`, not an index commit.
//!
//! Each entry has a sequence number; a commit stores the last one it holds (in the same payload
//! as the file checkpoints), and the log is emptied after it. At start, entries after the
//! committed sequence are replayed — a crash between the commit and the emptying replays
//! nothing twice. A torn last entry (the crash hit mid-write) was never acknowledged and is
//! dropped.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ingest::Record;
use crate::pipeline::FileCheckpoint;

/// One acknowledged job.
#[derive(Debug, Serialize, Deserialize)]
pub struct WalEntry {
    pub seq: u64,
    pub records: Vec<Record>,
    /// Where a tailed file stands after these records.
    pub checkpoint: Option<(String, FileCheckpoint)>,
}

/// The log file.
pub struct Wal {
    path: PathBuf,
    file: File,
    next_seq: u64,
    dirty: bool,
}

impl Wal {
    /// Opens the log in `dir` and returns the entries after `committed_seq`, to be replayed.
    pub fn open(dir: &Path, committed_seq: u64) -> std::io::Result<(Self, Vec<WalEntry>)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("ingest.wal");
        let mut pending = Vec::new();
        let mut last_seq = committed_seq;
        // Bytes of whole, readable entries: a torn tail after them is cut off before appending.
        let mut good_bytes = 0u64;
        if let Ok(file) = File::open(&path) {
            let mut reader = BufReader::new(file);
            let mut line = Vec::new();
            for number in 1.. {
                line.clear();
                let read = reader.read_until(b'\n', &mut line)?;
                if read == 0 {
                    break;
                }
                let entry = if line.ends_with(b"\n") {
                    serde_json::from_slice::<WalEntry>(&line).map_err(|error| error.to_string())
                } else {
                    Err("no end of line".to_string())
                };
                match entry {
                    Ok(entry) => {
                        good_bytes += read as u64;
                        last_seq = last_seq.max(entry.seq);
                        if entry.seq > committed_seq {
                            pending.push(entry);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(file = %path.display(), line = number, %error, "torn write-ahead-log entry dropped (it was never acknowledged)");
                        break;
                    }
                }
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.set_len(good_bytes)?;
        Ok((Self { path, file, next_seq: last_seq + 1, dirty: false }, pending))
    }

    /// Appends an entry (not yet synced); returns its sequence number.
    pub fn append(
        &mut self,
        records: &[Record],
        checkpoint: Option<&(String, FileCheckpoint)>,
    ) -> std::io::Result<u64> {
        #[derive(Serialize)]
        struct Borrowed<'a> {
            seq: u64,
            records: &'a [Record],
            checkpoint: Option<&'a (String, FileCheckpoint)>,
        }
        let seq = self.next_seq;
        let mut line = serde_json::to_vec(&Borrowed { seq, records, checkpoint }).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.next_seq += 1;
        self.dirty = true;
        Ok(seq)
    }

    /// Makes every appended entry durable.
    pub fn sync(&mut self) -> std::io::Result<()> {
        if self.dirty {
            self.file.sync_data()?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Empties the log once a commit holds everything in it.
    pub fn clear(&mut self) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.sync_data()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Origin;

    fn record(message: &str) -> Record {
        Record::new("s", message.into(), Origin { file: "f".into(), line: 1 })
    }

    #[test]
    fn entries_after_the_committed_one_come_back_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, pending) = Wal::open(dir.path(), 0).unwrap();
        assert!(pending.is_empty());
        assert_eq!(wal.append(&[record("a")], None).unwrap(), 1);
        assert_eq!(wal.append(&[record("b"), record("c")], None).unwrap(), 2);
        wal.sync().unwrap();
        drop(wal);
        let mut file = OpenOptions::new().append(true).open(dir.path().join("ingest.wal")).unwrap();
        file.write_all(br#"{"seq":3,"records":[{"timest"#).unwrap();
        let (mut wal, pending) = Wal::open(dir.path(), 1).unwrap();
        let messages: Vec<&str> = pending.iter().flat_map(|e| e.records.iter().map(|r| r.message.as_str())).collect();
        assert_eq!(messages, ["b", "c"]);
        assert_eq!(wal.append(&[record("d")], None).unwrap(), 3, "sequence numbers go on after the replayed ones");
        wal.clear().unwrap();
        let (wal, pending) = Wal::open(dir.path(), 3).unwrap();
        assert!(pending.is_empty());
        // Appends after a torn entry stay readable: the torn bytes were cut off.
        let mut file = OpenOptions::new().append(true).open(dir.path().join("ingest.wal")).unwrap();
        file.write_all(br#"{"seq":9,"rec"#).unwrap();
        drop(wal);
        let (mut wal_again, _) = Wal::open(dir.path(), 3).unwrap();
        wal_again.append(&[record("e")], None).unwrap();
        wal_again.sync().unwrap();
        drop(wal_again);
        let (_, pending) = Wal::open(dir.path(), 3).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].records[0].message, "e");
    }
}
