//! A floor under template-mining accuracy on the bundled Loghub 2k systems, so a change to the
//! miner that loses accuracy fails here. The figures themselves come from
//! `cargo bench --bench pattern_accuracy` (through the import path and Wasm); this runs the same
//! plugin code natively.

#[path = "../../benches/loghub_scoring.rs"]
mod loghub_scoring;

use std::path::PathBuf;

use loghub_scoring::{load_system, score};
use opsloop_plugin_patterns::PatternsPlugin;
use opsloop_sdk::{Config, LogBatch, Plugin};

const SYSTEMS: &[&str] = &["HDFS", "Hadoop", "Spark", "Windows", "Linux", "HealthApp", "OpenSSH", "Mac"];

#[test]
fn mining_accuracy_stays_above_its_floor() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/loghub2k");
    let (mut ga_sum, mut pa_sum) = (0.0, 0.0);
    for system in SYSTEMS {
        let (lines, truth) = load_system(&root, system);
        let mut plugin = PatternsPlugin::init(&Config::default(), None).unwrap();
        let output = plugin.process_logs(&LogBatch::from_messages(lines.iter().map(String::as_str))).unwrap();
        let predicted: Vec<(String, String)> = (0..lines.len())
            .map(|i| {
                (
                    output.annotation(i, "pattern").unwrap().to_string(),
                    output.annotation(i, "template").unwrap().to_string(),
                )
            })
            .collect();
        let (ga, pa) = score(&predicted, &truth);
        ga_sum += ga;
        pa_sum += pa;
    }
    let (ga, pa) = (ga_sum / SYSTEMS.len() as f64, pa_sum / SYSTEMS.len() as f64);
    assert!(ga >= 0.97 && pa >= 0.88, "average GA {ga:.3}, PA {pa:.3} fell below the floor (0.97, 0.88)");
}

/// The id each line of `lines` ends up under when the plugin sees them in batches of
/// `batch_size`, restarted from its snapshot after `restart_after` batches (if any): the id a
/// line was annotated with, followed through the folds the miner recorded by the end.
fn final_ids(lines: &[String], batch_size: usize, restart_after: Option<usize>) -> Vec<String> {
    let mut plugin = PatternsPlugin::init(&Config::default(), None).unwrap();
    let mut annotated = Vec::with_capacity(lines.len());
    for (number, batch) in lines.chunks(batch_size).enumerate() {
        if restart_after == Some(number) {
            let state = plugin.snapshot().expect("the patterns plugin keeps state");
            plugin = PatternsPlugin::init(&Config::default(), Some(&state)).unwrap();
        }
        let output = plugin.process_logs(&LogBatch::from_messages(batch.iter().map(String::as_str))).unwrap();
        annotated.extend((0..batch.len()).map(|i| output.annotation(i, "pattern").unwrap().to_string()));
    }
    let miner = plugin.miner();
    let index_of: std::collections::HashMap<&str, usize> =
        miner.patterns().iter().enumerate().map(|(index, pattern)| (pattern.id.as_str(), index)).collect();
    annotated.iter().map(|id| miner.patterns()[miner.resolve(index_of[id.as_str()])].id.clone()).collect()
}

#[test]
fn template_ids_do_not_depend_on_batch_sizes_or_a_restart_accuracy() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/loghub2k");
    for system in SYSTEMS {
        let (lines, _) = load_system(&root, system);
        let whole = final_ids(&lines, lines.len(), None);
        for (batch_size, restart_after) in [(1, None), (7, None), (333, None), (250, Some(4)), (64, Some(1))] {
            let ids = final_ids(&lines, batch_size, restart_after);
            let differing = whole.iter().zip(&ids).filter(|(a, b)| a != b).count();
            assert_eq!(
                differing, 0,
                "{system}: batches of {batch_size}, restart after {restart_after:?}: {differing} lines under other ids"
            );
        }
    }
}
