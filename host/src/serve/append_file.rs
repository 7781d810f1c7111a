//! A file appended to and synced on demand, and now and then replaced whole by a compacted
//! copy (written beside it, synced, renamed over it, its directory synced): what the
//! idempotency key file and the document id file are.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// An append-only file (none: memory only) and what was written to it.
#[derive(Default)]
pub struct AppendFile {
    file: Option<File>,
    /// Entries in it, to know when compacting pays.
    pub entries: usize,
    /// Appended to since the last sync.
    dirty: bool,
}

impl AppendFile {
    /// Appends `bytes` holding `entries` entries, not synced.
    pub fn append(&mut self, bytes: &[u8], entries: usize) -> std::io::Result<()> {
        let Some(file) = self.file.as_mut() else { return Ok(()) };
        self.entries += entries;
        self.dirty = true;
        file.write_all(bytes)
    }

    /// Makes what was appended durable.
    pub fn sync(&mut self) -> std::io::Result<()> {
        if let (true, Some(file)) = (self.dirty, self.file.as_ref()) {
            file.sync_data()?;
        }
        self.dirty = false;
        Ok(())
    }

    /// Replaces the file at `path` by `content` (holding `entries` entries), durably, and
    /// appends to it from then on.
    pub fn replace(&mut self, path: &Path, content: &[u8], entries: usize) -> std::io::Result<()> {
        let mut fresh_name = path.as_os_str().to_owned();
        fresh_name.push(".new");
        let fresh = Path::new(&fresh_name);
        let mut file = File::create(fresh)?;
        file.write_all(content)?;
        file.sync_all()?;
        std::fs::rename(fresh, path)?;
        if let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
        self.file = Some(OpenOptions::new().append(true).open(path)?);
        self.entries = entries;
        self.dirty = false;
        Ok(())
    }
}
