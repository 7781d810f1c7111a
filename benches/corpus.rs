//! Benchmark corpora built from the bundled Loghub 2k samples: their raw lines repeated with
//! the numbers varied, so a miner cannot just memorize the sample.

use std::path::Path;

/// The 8 Loghub systems in `tests/data/loghub2k`.
pub const SYSTEMS: &[&str] = &["HDFS", "Hadoop", "Spark", "Windows", "Linux", "HealthApp", "OpenSSH", "Mac"];

/// `count` raw log lines cycling through the samples; each pass rewrites every digit run with
/// a different number.
pub fn loghub_lines(count: usize) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/loghub2k");
    let mut base = Vec::new();
    for system in SYSTEMS {
        let text = std::fs::read_to_string(root.join(system).join(format!("{system}_2k.log")))
            .unwrap_or_else(|error| panic!("read the {system} sample: {error}"));
        base.extend(text.lines().map(str::to_string));
    }
    (0..count)
        .map(|index| {
            let line = &base[index % base.len()];
            let pass = index / base.len();
            if pass == 0 { line.clone() } else { vary_numbers(line, pass) }
        })
        .collect()
}

fn vary_numbers(line: &str, pass: usize) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut in_number = false;
    for c in line.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push_str(&(pass * 7919 % 100_000).to_string());
                in_number = true;
            }
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}
