//! Who writes to an index. tantivy lets one writer hold an index at a time and, when a second
//! one asks, says only that its lock is busy. [`take_writer`] takes tantivy's writer and leaves
//! a note in the index directory naming this process and its command line, removed when the
//! writer goes; a process refused the lock reads the note and says who holds the store and
//! what to do ([`IndexError::Busy`]).

use std::path::{Path, PathBuf};

use tantivy::IndexWriter;
use tantivy::directory::error::LockError;

use super::{IndexError, Result};

/// The note's file name in the index directory (tantivy leaves files it does not manage alone).
const HOLDER_FILE: &str = ".opsloop-writer";

/// The note this process left; dropping it removes the note if it is still this one.
#[derive(Debug)]
pub struct HolderNote {
    path: PathBuf,
    text: String,
}

impl Drop for HolderNote {
    fn drop(&mut self) {
        if std::fs::read_to_string(&self.path).is_ok_and(|text| text == self.text) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// This process as the note names it: its pid and command line.
fn this_process() -> String {
    let mut words = std::env::args();
    let program = words
        .next()
        .map(|arg| Path::new(&arg).file_name().map_or(arg.clone(), |name| name.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let command: Vec<String> = std::iter::once(program).chain(words).collect();
    format!("pid {}, `{}`", std::process::id(), command.join(" "))
}

/// Takes the index's writer with `budget` bytes, or says who holds it.
pub fn take_writer(index: &tantivy::Index, dir: &Path, budget: usize) -> Result<(IndexWriter, HolderNote)> {
    let note = dir.join(HOLDER_FILE);
    match index.writer(budget) {
        Ok(writer) => {
            let text = this_process();
            // The note only explains a refusal; failing to write it must not fail the writer.
            let _ = std::fs::write(&note, &text);
            Ok((writer, HolderNote { path: note, text }))
        }
        Err(tantivy::TantivyError::LockFailure(LockError::LockBusy, _)) => Err(IndexError::Busy {
            path: dir.to_path_buf(),
            holder: std::fs::read_to_string(&note).ok().map(|text| text.trim().to_string()).filter(|t| !t.is_empty()),
        }),
        Err(error) => Err(error.into()),
    }
}

/// The message of [`IndexError::Busy`].
pub(super) fn busy_message(path: &Path, holder: &Option<String>) -> String {
    let holder = match holder {
        Some(holder) => format!("another opsloop process ({holder})"),
        None => "another process".to_string(),
    };
    format!(
        "{} is in use by {holder}; wait for it to finish or stop it, then run this again (a running \
         `opsloop serve` takes logs and reports over HTTP instead: POST /api/ingest/logs, /api/ingest/reports)",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_told_who_holds_the_index_and_the_note_goes_with_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let index = super::super::LogIndex::open(dir.path()).unwrap();
        let first = take_writer(&index.index, dir.path(), 15_000_000).unwrap();
        let Err(IndexError::Busy { path, holder }) = take_writer(&index.index, dir.path(), 15_000_000) else {
            panic!("a second writer was let in");
        };
        assert_eq!(path, dir.path());
        let holder = holder.expect("the note names the holder");
        assert!(holder.starts_with(&format!("pid {}, `", std::process::id())), "{holder}");
        let message = busy_message(&path, &Some(holder));
        assert!(message.contains("is in use by another opsloop process (pid"), "{message}");
        drop(first);
        assert!(!dir.path().join(HOLDER_FILE).exists(), "the note goes with the writer");
        assert!(take_writer(&index.index, dir.path(), 15_000_000).is_ok());
    }
}
