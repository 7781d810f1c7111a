//! The data directory and what lives where inside it.
//!
//! ```text
//! <data>/opsloop.toml          configuration (optional)
//! <data>/index/                the tantivy index of records
//! <data>/reports/              the tantivy index of bug reports
//! <data>/plugins/              extra plugin components (*.wasm)
//! <data>/plugin-cache/         compiled plugin artifacts, by content and engine hash
//! <data>/plugin-state/<plugin>/<partition>.state   state plugins asked the host to keep
//! <data>/findings.jsonl        findings, one JSON object a line
//! <data>/feedback.json         feedback item statuses and people's actions
//! <data>/board.json            the feedback board as last built from the data
//! <data>/wal/ingest.wal        `opsloop serve`: acknowledged records not yet committed
//! ```

use std::path::{Path, PathBuf};

/// Paths inside one data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Makes what this process writes private to its user: umask 077 (directories 0700, files
    /// 0600: the write-ahead log, the index and the board hold whatever the logs said), and the
    /// data directory itself created 0700. One that already exists keeps its mode
    /// ([`Self::open_to_others`] tells).
    pub fn keep_private(&self) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        // SAFETY: umask only swaps the process's file-mode mask; it cannot fail.
        unsafe {
            libc::umask(0o077);
        }
        match std::fs::metadata(&self.root) {
            Ok(_) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.root)
            }
            Err(error) => Err(error),
        }
    }

    /// The data directory's mode when users other than its owner may enter or read it.
    pub fn open_to_others(&self) -> Option<u32> {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&self.root).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }

    /// Whether anything was ever stored here: a log index or a reports index. Commands that
    /// read a store refuse a directory without one (a misspelled `--data`), rather than
    /// create an empty store and answer from it.
    pub fn holds_data(&self) -> bool {
        self.index_dir().is_dir() || self.reports_dir().is_dir()
    }

    pub fn config_file(&self) -> PathBuf {
        self.root.join("opsloop.toml")
    }

    pub fn index_dir(&self) -> PathBuf {
        self.root.join("index")
    }

    pub fn reports_dir(&self) -> PathBuf {
        self.root.join("reports")
    }

    pub fn plugin_cache_dir(&self) -> PathBuf {
        self.root.join("plugin-cache")
    }

    pub fn plugin_state_dir(&self) -> PathBuf {
        self.root.join("plugin-state")
    }

    pub fn findings_file(&self) -> PathBuf {
        self.root.join("findings.jsonl")
    }

    /// `opsloop serve`'s write-ahead log: acknowledged records not yet committed.
    pub fn wal_dir(&self) -> PathBuf {
        self.root.join("wal")
    }

    /// Alerts firing, notifications not yet delivered, and the delivery log (`serve`).
    pub fn alerts_dir(&self) -> PathBuf {
        self.root.join("alerts")
    }

    /// Feedback item statuses (`new`, `resolved`, ...) kept between runs.
    pub fn feedback_file(&self) -> PathBuf {
        self.root.join("feedback.json")
    }

    /// The feedback board as built after the last change of data; reads are served from it.
    pub fn board_file(&self) -> PathBuf {
        self.root.join("board.json")
    }

    /// The extra-plugins directory: `configured` (relative to the data dir) or `plugins`.
    pub fn plugins_dir(&self, configured: Option<&Path>) -> PathBuf {
        self.root.join(configured.unwrap_or(Path::new("plugins")))
    }
}
