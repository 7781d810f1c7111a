//! Session anomaly detection on HDFS_100k (deep-loglizer's block sessions, 7,940 blocks, 313
//! anomalous): every block's events are imported through the real import path as lines
//! `<block id> <event template>`, with the built-in patterns plugin (Wasm) configured with
//! `session-key = blk_-?[0-9]+`; the `anomalous-session` findings are the predictions. Scored
//! at block level (precision, recall, F1) against the labels, which the detector never sees.
//!
//! The data holds templates only, in log order, without parameters or times. The bench also
//! prints the ceiling that leaves: blocks whose exact template sequence occurs among both
//! normal and anomalous blocks cannot be told apart by any method that reads only this data,
//! so it computes the best F1 an oracle that labels each distinct sequence could reach.
//!
//! Run: `cargo bench --bench session_anomalies` (needs `../shared/data/hdfs100k-sessions`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use opsloop::config::Settings;
use opsloop::data_dir::DataDir;
use opsloop::index::LogIndex;
use opsloop::ingest::{Format, ParseOptions};
use opsloop::pipeline::{FindingStore, ImportOptions, ImportSource, PluginSet, import};

struct Block {
    id: String,
    anomalous: bool,
    events: Vec<String>,
}

fn load_blocks(path: &std::path::Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            Block {
                id: value["BlockId"].as_str().unwrap().to_string(),
                anomalous: value["Label"] == "Anomaly",
                events: value["EventTemplates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|event| event.as_str().unwrap().to_string())
                    .collect(),
            }
        })
        .collect()
}

fn f1(true_positives: usize, false_positives: usize, false_negatives: usize) -> (f64, f64, f64) {
    let precision = true_positives as f64 / (true_positives + false_positives).max(1) as f64;
    let recall = true_positives as f64 / (true_positives + false_negatives).max(1) as f64;
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    (precision, recall, f1)
}

/// The best F1 reachable by labelling each distinct template sequence as a whole.
fn sequence_ceiling(blocks: &[Block]) -> f64 {
    let mut by_sequence: HashMap<&[String], (usize, usize)> = HashMap::new();
    for block in blocks {
        let entry = by_sequence.entry(block.events.as_slice()).or_default();
        if block.anomalous { entry.0 += 1 } else { entry.1 += 1 }
    }
    let anomalies: usize = blocks.iter().filter(|block| block.anomalous).count();
    let mut sequences: Vec<(usize, usize)> = by_sequence.into_values().filter(|&(a, _)| a > 0).collect();
    sequences.sort_by(|x, y| (x.1 * y.0).cmp(&(y.1 * x.0)));
    let (mut true_positives, mut false_positives, mut best) = (0, 0, 0.0f64);
    for (anomalous, normal) in sequences {
        true_positives += anomalous;
        false_positives += normal;
        best = best.max(f1(true_positives, false_positives, anomalies - true_positives).2);
    }
    best
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/hdfs100k-sessions");
    let path = root.join("HDFS_100k_sessions.jsonl");
    if !path.is_file() {
        println!("skipped: {} not found", path.display());
        return;
    }
    let blocks = load_blocks(&path);
    let mut text = String::new();
    for block in &blocks {
        for event in &block.events {
            text.push_str(&block.id);
            text.push(' ');
            text.push_str(event);
            text.push('\n');
        }
    }
    let lines = text.lines().count();

    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    let index = LogIndex::open(&data.index_dir()).unwrap();
    let mut settings = Settings::default();
    settings
        .plugins
        .config
        .insert("patterns".into(), [("session-key".to_string(), r"blk_-?[0-9]+".to_string())].into_iter().collect());
    let (mut plugins, errors) = PluginSet::load(&data, &settings).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let options = ImportOptions {
        parse: ParseOptions { format: Format::Raw, ..ParseOptions::default() },
        ..ImportOptions::default()
    };
    let findings = FindingStore::new(data.findings_file());
    let started = Instant::now();
    let source = ImportSource::Bytes { name: "hdfs100k.log".into(), bytes: text.into_bytes() };
    let summary = import(&index, &mut plugins, &findings, vec![source], &options, None).unwrap();
    let elapsed = started.elapsed();
    assert!(summary.plugin_failures.is_empty(), "{:?}", summary.plugin_failures);

    let flagged: HashSet<String> = findings
        .read_all()
        .unwrap()
        .into_iter()
        .filter(|finding| finding.kind == "anomalous-session")
        .filter_map(|finding| finding.evidence.query.map(|query| query.trim_matches('"').to_string()))
        .collect();
    let (mut true_positives, mut false_positives, mut false_negatives) = (0, 0, 0);
    for block in &blocks {
        match (flagged.contains(&block.id), block.anomalous) {
            (true, true) => true_positives += 1,
            (true, false) => false_positives += 1,
            (false, true) => false_negatives += 1,
            (false, false) => {}
        }
    }
    let (precision, recall, f1_score) = f1(true_positives, false_positives, false_negatives);
    let anomalies = blocks.iter().filter(|block| block.anomalous).count();
    println!("## session anomalies on HDFS_100k ({} blocks, {anomalies} anomalous, {lines} events)\n", blocks.len());
    println!("| | precision | recall | F1 |");
    println!("|---|---|---|---|");
    println!("| opsloop patterns plugin (Wasm, unsupervised) | {precision:.3} | {recall:.3} | {f1_score:.3} |");
    println!("| ceiling: best per-sequence oracle on this data | | | {:.3} |", sequence_ceiling(&blocks));
    println!(
        "\nflagged {} blocks ({true_positives} true, {false_positives} false, {false_negatives} missed); \
         whole import {:.2} s ({:.0} events/s)",
        flagged.len(),
        elapsed.as_secs_f64(),
        lines as f64 / elapsed.as_secs_f64()
    );
}
