//! JSON-lines files the data directory keeps (findings, pattern aliases): one value a line,
//! appended and synced; read whole, where a line that does not parse is skipped with a
//! warning naming the file and line, so one torn write never hides the rest.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Every value of the file at `path` (none when it does not exist); `what` names them in the
/// warning for a line that does not parse.
pub fn read<T: DeserializeOwned>(path: &Path, what: &str) -> std::io::Result<Vec<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    Ok(text
        .lines()
        .enumerate()
        .filter_map(|(number, line)| match serde_json::from_str(line) {
            Ok(value) => Some(value),
            Err(error) => {
                tracing::warn!(file = %path.display(), line = number + 1, %error, "skipping an unreadable {what}");
                None
            }
        })
        .collect())
}

/// Appends `values` to the file at `path` (created if missing) and syncs it.
pub fn append<T: Serialize>(path: &Path, values: &[T]) -> std::io::Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let mut text = String::new();
    for value in values {
        text.push_str(&serde_json::to_string(value).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// Replaces the file at `path` with `values`: written beside it, synced, then renamed over it,
/// so a reader sees the old file or the new one.
pub fn replace<T: Serialize>(path: &Path, values: &[T]) -> std::io::Result<()> {
    let staging = path.with_extension("jsonl.rewrite");
    match std::fs::remove_file(&staging) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    std::fs::File::create(&staging)?;
    append(&staging, values)?;
    std::fs::rename(&staging, path)
}
