//! Findings as the host keeps them: what a plugin concluded, with its evidence resolved from
//! batch positions to record origins, appended to `findings.jsonl`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A record cited as evidence, by origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    pub file: String,
    pub line: u64,
}

/// Why a plugin concluded what it did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredEvidence {
    pub records: Vec<RecordRef>,
    pub reports: Vec<String>,
    pub counts: Vec<(String, u64)>,
    pub examples: Vec<String>,
    pub query: Option<String>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFinding {
    pub plugin: String,
    /// The partition (source) the plugin was looking at.
    pub source: String,
    pub kind: String,
    pub score: f64,
    pub summary: String,
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    pub evidence: StoredEvidence,
}

impl StoredFinding {
    /// A finding of `plugin` on `partition`, with its evidence already resolved to `records`
    /// (by origin) and `reports` (by id).
    pub fn from_plugin(
        plugin: &str,
        partition: &str,
        finding: crate::plugin::Finding,
        records: Vec<RecordRef>,
        reports: Vec<String>,
    ) -> Self {
        let evidence = finding.evidence;
        StoredFinding {
            plugin: plugin.to_string(),
            source: partition.to_string(),
            kind: finding.kind,
            score: finding.score,
            summary: finding.summary,
            first_seen_ms: finding.first_seen,
            last_seen_ms: finding.last_seen,
            evidence: StoredEvidence {
                records,
                reports,
                counts: evidence.counts,
                examples: evidence.examples,
                query: evidence.query,
            },
        }
    }
}

/// Appends findings to a JSON-lines file and reads them back.
#[derive(Debug, Clone)]
pub struct FindingStore {
    path: PathBuf,
}

impl FindingStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Appends `findings`.
    pub fn append(&self, findings: &[StoredFinding]) -> std::io::Result<()> {
        if findings.is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::jsonl::append(&self.path, findings)
    }

    /// Rewrites the file with only the findings `keep` accepts (atomically: a new file renamed
    /// over the old); unreadable lines are dropped with a warning, as `read_all` skips them.
    pub fn retain(&self, keep: impl Fn(&StoredFinding) -> bool) -> std::io::Result<()> {
        let kept: Vec<StoredFinding> = self.read_all()?.into_iter().filter(|finding| keep(finding)).collect();
        crate::jsonl::replace(&self.path, &kept)
    }

    /// Every finding stored so far; a line that does not parse is skipped with a warning.
    pub fn read_all(&self) -> std::io::Result<Vec<StoredFinding>> {
        crate::jsonl::read(&self.path, "finding")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
