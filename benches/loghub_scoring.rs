//! Scoring template mining against Loghub ground truth, as the logpai evaluator defines it;
//! shared by `benches/pattern_accuracy.rs` and the accuracy floor test.

use std::collections::HashMap;
use std::path::Path;

/// One system's lines and true templates, from `<S>_2k.log_structured_corrected.csv`.
pub fn load_system(root: &Path, system: &str) -> (Vec<String>, Vec<String>) {
    let path = root.join(system).join(format!("{system}_2k.log_structured_corrected.csv"));
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|header| header == name).unwrap();
    let (content, template) = (column("Content"), column("EventTemplate"));
    reader.records().map(Result::unwrap).map(|row| (row[content].to_string(), row[template].to_string())).unzip()
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// (GA, PA) of predicted `(pattern id, template)` per line against the true templates:
/// GA counts a line right when the lines sharing its predicted pattern are exactly those sharing
/// its true template; PA when its template equals the true one (white-space runs as one space).
pub fn score(predicted: &[(String, String)], truth: &[String]) -> (f64, f64) {
    let mut predicted_groups: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut true_groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (line, ((pattern, _), template)) in predicted.iter().zip(truth).enumerate() {
        predicted_groups.entry(pattern).or_default().push(line);
        true_groups.entry(template).or_default().push(line);
    }
    let mut grouped = 0usize;
    for lines in predicted_groups.values() {
        let template = truth[lines[0]].as_str();
        if lines.iter().all(|&line| truth[line] == template) && true_groups[template].len() == lines.len() {
            grouped += lines.len();
        }
    }
    let parsed =
        predicted.iter().zip(truth).filter(|((_, template), truth)| collapse(template) == collapse(truth)).count();
    (grouped as f64 / truth.len() as f64, parsed as f64 / truth.len() as f64)
}
