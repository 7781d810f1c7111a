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
    assert!(ga >= 0.94 && pa >= 0.85, "average GA {ga:.3}, PA {pa:.3} fell below the floor (0.94, 0.85)");
}
