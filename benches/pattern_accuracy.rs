//! Template-mining accuracy on Loghub 2k (8 systems, corrected ground truth): each system's
//! `Content` column is imported through the real import path (`--format raw`, the built-in
//! patterns plugin in Wasm), and the `pattern` and `template` annotations are scored:
//! - grouping accuracy (GA): a line is right when the lines sharing its predicted pattern are
//!   exactly the lines sharing its true template;
//! - parsing accuracy (PA): a line is right when its template equals the true one (white space
//!   runs compared as one space).
//!
//! Beside the in-sample figures it reports leave-one-system-out (LOSO) figures: the miner's two
//! fitted constants (the similarity threshold and the distinct words that make a position a
//! variable) are chosen on a small grid by the average of GA and PA over 7 systems, natively,
//! and the choice is scored on the 8th; every system is held out once. The hand-written masking
//! rules have no constants and are listed, so a reader can judge each one.
//!
//! logpai's Brain and Drain (PyPI `logparser3` 1.0.4, with the per-dataset settings of logpai's
//! benchmark scripts) run on the same files through `benches/logpai_baseline.py` and are scored
//! by the same code; without Python or the package the bench says why and goes on.
//!
//! Reads `../shared/data/loghub2k` when present, else the copy in `tests/data`.
//! Run: `cargo bench --bench pattern_accuracy` (needs `pip install logparser3==1.0.4` for the
//! baselines)

#[path = "loghub_scoring.rs"]
mod loghub_scoring;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use loghub_scoring::{load_system, score};

use opsloop::config::Settings;
use opsloop::data_dir::DataDir;
use opsloop::index::{LogIndex, SearchRequest};
use opsloop::ingest::{Format, ParseOptions};
use opsloop::pipeline::{FindingStore, ImportOptions, ImportSource, PluginSet, import};
use opsloop_plugin_patterns::Miner;
use opsloop_plugin_patterns::miner::WORDS_FOR_A_VARIABLE;

/// The shipped configuration: the plugin's default `similarity` and [`WORDS_FOR_A_VARIABLE`].
const SHIPPED: (f64, usize) = (0.5, WORDS_FOR_A_VARIABLE);
/// The grid the leave-one-system-out selection chooses from.
const SIMILARITIES: &[f64] = &[0.3, 0.4, 0.5, 0.6, 0.7];
const WORDS: &[usize] = &[2, 3, 4, 5];

/// The rules of the miner that no constant tunes; LOSO cannot move them, so they are named.
const HAND_WRITTEN_RULES: &[&str] = &[
    "mask: a segment (token split at `=:,;()[]{}\"'|<>`) starting with a digit after `/ - + # . $ @` is a variable",
    "mask: a segment holding a run of two or more digits is a variable (`blk_3858`)",
    "mask: a day or month name is a variable (a date in words)",
    "mask: a segment starting with `/` and holding another `/` (a path) is a variable",
    "mask: a URL (`scheme://` to the end of its token, short of closing punctuation) is one variable",
    "mask: true, false, null, and a hex number of 8 digits or more (`ffffffff`), are variables",
    "mask: a numbered member of a family (letters, `-`, digits: `node-23`) keeps its name (`node-<*>`)",
    "mask: a DNS host name (3+ lower-case labels ending in a generic TLD, or a country's under com/edu/ac/co/..., or starting www) is a variable",
    "miner: a message of several lines (a stack trace) is mined on its headline: the first line, a Python traceback's last",
    "miner: the bucket is (token count, first token unless it holds a digit or a variable or is a dotted name `a.b.c`)",
    "miner: a message joins a template differing in at most one plain word (the rest by variables)",
    "miner: an HTTP request method (GET, POST, ...) is never widened into a variable: each names its event",
    "miner: a position of one key's values (`user=root`, `user=guest`: key and value plain names in one token) is a variable at 2 distinct values, whatever the grid's count",
    "miner: a position of state names (a capitalized word of lower-case letters: `Started`, `Paused`) needs 2 more distinct values than the grid's count to become a variable",
    "miner: templates of other lengths with the same constant words, differing in runs of at most 4 variables and units (one a variable), are one event, shown with each such run as one `<*>`",
    "miner: tokens framing a variable with other words (`(uid=<*>)` / `LOGIN(uid=<*>)`), or lists with other keys (`num=<*>,flags=<*>`), differ as plain words do, also when siblings fold",
    "miner: widening keeps the delimiter-bounded frame two tokens share (`user=<*>`, `(<*>)`)",
    "miner: a bucket holds at most 512 templates; when full, a message no template takes widens the one it fits best",
];

const SYSTEMS: &[&str] = &["HDFS", "Hadoop", "Spark", "Windows", "Linux", "HealthApp", "OpenSSH", "Mac"];

fn data_root() -> (PathBuf, &'static str) {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/loghub2k");
    if shared.is_dir() {
        (shared, "../shared/data/loghub2k")
    } else {
        (
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/loghub2k"),
            "tests/data/loghub2k (shared/ not found)",
        )
    }
}

/// (GA, PA) of the miner run natively with `(similarity, words)` over one system's lines, as
/// one batch (each line's pattern resolved after the last line, as the plugin does per batch).
fn native_score(lines: &[String], truth: &[String], (similarity, words): (f64, usize)) -> (f64, f64) {
    let mut miner = Miner::new(similarity).with_words_for_a_variable(words);
    let mined: Vec<usize> = lines.iter().map(|line| miner.add(line)).collect();
    let predicted: Vec<(String, String)> = mined
        .into_iter()
        .map(|index| (miner.patterns()[miner.resolve(index)].id.clone(), miner.template(index)))
        .collect();
    score(&predicted, truth)
}

/// (GA, PA) of logpai's `method` on one system, or why it could not run.
fn baseline_score(method: &str, root: &Path, system: &str, truth: &[String]) -> Result<(f64, f64), String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/logpai_baseline.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(method)
        .arg(root.join(system))
        .arg(system)
        .output()
        .map_err(|error| format!("python3: {error}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(stderr.lines().last().unwrap_or("failed").to_string());
    }
    let mut by_line: HashMap<usize, (String, String)> = HashMap::new();
    for row in String::from_utf8_lossy(&output.stdout).lines() {
        let mut fields = row.splitn(3, '\t');
        let (Some(line), Some(id), Some(template)) = (fields.next(), fields.next(), fields.next()) else { continue };
        let Ok(line) = line.parse::<usize>() else { continue };
        by_line.insert(line, (id.to_string(), template.to_string()));
    }
    // A line the dataset's format did not match counts as its own wrong group.
    let predicted: Vec<(String, String)> = (1..=truth.len())
        .map(|line| by_line.remove(&line).unwrap_or_else(|| (format!("missing-{line}"), String::new())))
        .collect();
    Ok(score(&predicted, truth))
}

fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.into_iter().collect();
    values.iter().sum::<f64>() / values.len() as f64
}

/// (GA, PA, patterns) of one system's lines imported through the real import path (`--format
/// raw`, the built-in patterns plugin in Wasm, the shipped configuration).
fn import_score(system: &str, lines: &[String], truth: &[String]) -> (f64, f64, usize) {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    let index = LogIndex::open(&data.index_dir()).unwrap();
    let (mut plugins, errors) = PluginSet::load(&data, &Settings::default()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let options = ImportOptions {
        parse: ParseOptions { format: Format::Raw, ..ParseOptions::default() },
        ..ImportOptions::default()
    };
    let source = ImportSource::Bytes { name: format!("{system}.log"), bytes: lines.join("\n").into_bytes() };
    let summary =
        import(&index, &mut plugins, &FindingStore::new(data.findings_file()), vec![source], &options, None).unwrap();
    assert!(summary.plugin_failures.is_empty());
    // Empty contents are rejected by the import; score them as their own (wrong) group.
    let mut by_line: HashMap<u64, (String, String)> = HashMap::new();
    for hit in index.search(&SearchRequest { query: "*".into(), ..SearchRequest::default() }).unwrap() {
        let annotations = &hit.record.annotations;
        by_line
            .insert(hit.record.origin.line, (annotations["pattern"].to_string(), annotations["template"].to_string()));
    }
    let predicted: Vec<(String, String)> = (1..=lines.len() as u64)
        .map(|line| by_line.remove(&line).unwrap_or_else(|| (format!("missing-{line}"), String::new())))
        .collect();
    let (ga, pa) = score(&predicted, truth);
    (ga, pa, predicted.iter().map(|(pattern, _)| pattern).collect::<HashSet<_>>().len())
}

/// Systems the miner was not built on (`PATTERN_ACCURACY_ROOT=DIR`, each system a folder
/// `<S>/<S>_2k.log_structured_corrected.csv`; `PATTERN_ACCURACY_SYSTEMS=A,B` to choose): the
/// shipped configuration scored on each, with Brain and Drain when logparser3 is installed.
/// Nothing is chosen here, so there is no leave-one-out table.
fn held_out(root: &Path) {
    let mut systems: Vec<String> = match std::env::var("PATTERN_ACCURACY_SYSTEMS") {
        Ok(list) => list.split(',').map(|name| name.trim().to_string()).filter(|name| !name.is_empty()).collect(),
        Err(_) => std::fs::read_dir(root)
            .unwrap_or_else(|error| panic!("{}: {error}", root.display()))
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| root.join(name).join(format!("{name}_2k.log_structured_corrected.csv")).is_file())
            .collect(),
    };
    systems.sort();
    println!("## template mining on systems it was not built on ({})\n", root.display());
    println!("| system | lines | true templates | patterns | GA | PA | Brain GA | Brain PA | Drain GA | Drain PA |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut sums = [0.0f64; 6];
    let mut failures = Vec::new();
    for system in &systems {
        let (lines, truth) = load_system(root, system);
        let (ga, pa, patterns) = import_score(system, &lines, &truth);
        let mut cells = Vec::new();
        for (slot, method) in ["Brain", "Drain"].iter().enumerate() {
            match baseline_score(method, root, system, &truth) {
                Ok((baseline_ga, baseline_pa)) => {
                    sums[2 + slot * 2] += baseline_ga;
                    sums[3 + slot * 2] += baseline_pa;
                    cells.push(format!("{baseline_ga:.3} | {baseline_pa:.3}"));
                }
                Err(why) => {
                    failures.push(format!("{method} on {system}: {why}"));
                    cells.push("- | -".to_string());
                }
            }
        }
        sums[0] += ga;
        sums[1] += pa;
        let distinct_true = truth.iter().collect::<HashSet<_>>().len();
        println!(
            "| {system} | {} | {distinct_true} | {patterns} | {ga:.3} | {pa:.3} | {} | {} |",
            lines.len(),
            cells[0],
            cells[1]
        );
    }
    let count = systems.len().max(1) as f64;
    // A baseline's average only where it ran on every system.
    let baseline = |slot: usize, method: &str| {
        if failures.iter().any(|failure| failure.starts_with(method)) {
            "- | -".to_string()
        } else {
            format!("{:.3} | {:.3}", sums[slot] / count, sums[slot + 1] / count)
        }
    };
    println!(
        "| **average** | | | | **{:.3}** | **{:.3}** | {} | {} |",
        sums[0] / count,
        sums[1] / count,
        baseline(2, "Brain"),
        baseline(4, "Drain")
    );
    for failure in failures {
        println!("baseline not run: {failure}");
    }
}

fn main() {
    if let Some(root) = std::env::var_os("PATTERN_ACCURACY_ROOT") {
        held_out(Path::new(&root));
        return;
    }
    let (root, described) = data_root();
    let systems: Vec<(Vec<String>, Vec<String>)> = SYSTEMS.iter().map(|system| load_system(&root, system)).collect();
    let mut in_sample = Vec::new();
    println!("## template mining on Loghub 2k ({described})\n");
    println!("in-sample: the shipped configuration through the import path (Wasm)\n");
    println!("| system | lines | true templates | patterns | GA | PA |");
    println!("|---|---|---|---|---|---|");
    let (mut ga_sum, mut pa_sum) = (0.0, 0.0);
    for (system, (lines, truth)) in SYSTEMS.iter().zip(&systems) {
        let (ga, pa, distinct_predicted) = import_score(system, lines, truth);
        in_sample.push((ga, pa));
        let distinct_true = truth.iter().collect::<HashSet<_>>().len();
        println!("| {system} | {} | {distinct_true} | {distinct_predicted} | {ga:.3} | {pa:.3} |", lines.len());
        ga_sum += ga;
        pa_sum += pa;
    }
    let n = SYSTEMS.len() as f64;
    println!("| **average** | | | | **{:.3}** | **{:.3}** |", ga_sum / n, pa_sum / n);

    // Leave one system out: every configuration of the grid on every system, natively.
    let grid: Vec<(f64, usize)> =
        SIMILARITIES.iter().flat_map(|&similarity| WORDS.iter().map(move |&words| (similarity, words))).collect();
    let scores: Vec<Vec<(f64, f64)>> = grid
        .iter()
        .map(|&setting| systems.iter().map(|(lines, truth)| native_score(lines, truth, setting)).collect())
        .collect();
    println!(
        "\nleave-one-system-out: (similarity, words for a variable) chosen from {SIMILARITIES:?} x {WORDS:?} by \
         mean (GA+PA)/2 on the other 7 systems, scored on the held-out one (native miner, one batch)\n"
    );
    println!("| held out | chosen | LOSO GA | LOSO PA | native shipped GA | native shipped PA |");
    println!("|---|---|---|---|---|---|");
    let shipped = grid.iter().position(|&setting| setting == SHIPPED).expect("the shipped setting is on the grid");
    let mut loso = Vec::new();
    for (held_out, system) in SYSTEMS.iter().enumerate() {
        let fitness = |row: &Vec<(f64, f64)>| {
            mean(row.iter().enumerate().filter(|(at, _)| *at != held_out).map(|(_, (ga, pa))| (ga + pa) / 2.0))
        };
        // Ties go to the shipped setting, then to the first on the grid.
        let mut chosen = shipped;
        for (at, row) in scores.iter().enumerate() {
            if fitness(row) > fitness(&scores[chosen]) + 1e-12 {
                chosen = at;
            }
        }
        let (ga, pa) = scores[chosen][held_out];
        let (shipped_ga, shipped_pa) = scores[shipped][held_out];
        loso.push((ga, pa));
        println!(
            "| {system} | ({}, {}) | {ga:.3} | {pa:.3} | {shipped_ga:.3} | {shipped_pa:.3} |",
            grid[chosen].0, grid[chosen].1
        );
    }
    let (loso_ga, loso_pa) = (mean(loso.iter().map(|s| s.0)), mean(loso.iter().map(|s| s.1)));
    let (native_ga, native_pa) = (mean(scores[shipped].iter().map(|s| s.0)), mean(scores[shipped].iter().map(|s| s.1)));
    println!("| **average** | | **{loso_ga:.3}** | **{loso_pa:.3}** | **{native_ga:.3}** | **{native_pa:.3}** |");
    println!("\nrules without constants (the same in every fold):");
    for rule in HAND_WRITTEN_RULES {
        println!("- {rule}");
    }

    // Baselines on the same files, scored by the same code.
    println!("\nbaselines: logpai's Brain and Drain (logparser3 1.0.4, their per-dataset benchmark settings)\n");
    println!(
        "| system | patterns GA | patterns PA | patterns LOSO GA | patterns LOSO PA | Brain GA | Brain PA | Drain GA | Drain PA |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut baseline_sums = [0.0f64; 4];
    let mut failures: Vec<String> = Vec::new();
    for (at, (system, (_, truth))) in SYSTEMS.iter().zip(&systems).enumerate() {
        let mut cells = Vec::new();
        for (slot, method) in ["Brain", "Drain"].iter().enumerate() {
            match baseline_score(method, &root, system, truth) {
                Ok((ga, pa)) => {
                    baseline_sums[slot * 2] += ga;
                    baseline_sums[slot * 2 + 1] += pa;
                    cells.push(format!("{ga:.3} | {pa:.3}"));
                }
                Err(why) => {
                    failures.push(format!("{method} on {system}: {why}"));
                    cells.push("- | -".to_string());
                }
            }
        }
        let ((ga, pa), (loso_ga, loso_pa)) = (in_sample[at], loso[at]);
        println!("| {system} | {ga:.3} | {pa:.3} | {loso_ga:.3} | {loso_pa:.3} | {} | {} |", cells[0], cells[1]);
    }
    // A baseline's average is over every system or not shown: a mean of the systems it ran on
    // would not compare with ours.
    let averages: Vec<String> = ["Brain", "Drain"]
        .iter()
        .enumerate()
        .map(|(slot, method)| {
            if failures.iter().any(|failure| failure.starts_with(&format!("{method} on "))) {
                "- | -".to_string()
            } else {
                format!("**{:.3}** | **{:.3}**", baseline_sums[slot * 2] / n, baseline_sums[slot * 2 + 1] / n)
            }
        })
        .collect();
    println!(
        "| **average** | **{:.3}** | **{:.3}** | **{loso_ga:.3}** | **{loso_pa:.3}** | {} | {} |",
        ga_sum / n,
        pa_sum / n,
        averages[0],
        averages[1]
    );
    for failure in failures {
        println!("baseline not run: {failure}");
    }
}
