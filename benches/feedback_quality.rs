//! Feedback items on planted incidents: does the board link a report to the logs it is about,
//! and only to those?
//!
//! What is planted (`benches/feedback_quality/generator.rs`, seeded, no opsloop code): the
//! Loghub 2k samples of eight systems, each its own log source, re-dated over a 48 h window;
//! all 1,076 SeaMonkey reports re-dated into the same window, with reporters; 80 confounding
//! reports that share exception names, component names and short fragments of messages with
//! the logs (and often name a log source as `component`) but are about something else. Into
//! that, per seed: six incidents, each a burst of one real error template of one system with
//! fresh values (its real lines held out of that seed's background, so the burst is new) and
//! 2–5 reports from distinct reporters filed up to 4 h after it starts, at least one quoting
//! the message with other values, the others describing the symptom only; one burst no one
//! reports; one group of reports of a problem the logs do not show. Logs go in as JSON lines
//! and reports as JSON lines through the real import path (plugins in Wasm), and the board is
//! built from what is stored.
//!
//! How it is scored, from the truth of every line and report (the pattern of a planted line is
//! read back from the index by its file and line):
//! - found: one item holds the incident's pattern (the one most of its lines got) and at least
//!   half of its reports, including every report that quotes the message; pure: that item
//!   holds nothing from outside the incident;
//! - false-link item: an item with a report and a pattern that are not of one incident (a
//!   background report with any pattern, or an incident report with a foreign pattern);
//! - merged item: an item holding evidence of two incidents;
//! - rank: where each logs+reports incident's item stands by impact (the item that found it,
//!   else the one with its pattern or most of its reports), and whether it is a pure item above
//!   every item that holds only background (an item that swallowed background ranks high for
//!   what it swallowed, so it does not count);
//! - negative control: the same background without the incidents must link no report to logs
//!   (counted as report↔pattern pairs held by one item);
//! - time: a board read against a full build (goal: a read ≤ 1/10 of a build).
//!
//! Run: `cargo bench --bench feedback_quality` (needs `../shared/data`; seeds from
//! `FEEDBACK_QUALITY_SEEDS=1,2,3`, the default). `FEEDBACK_QUALITY_DETAIL=1` prints every miss;
//! `FEEDBACK_QUALITY_DUMP=DIR` writes each seed's reports (`seed-N-planted.jsonl`, as imported)
//! and what each one is (`seed-N-planted.truth.tsv`: id, truth, quotes, confounder) into DIR.

#[path = "feedback_quality/generator.rs"]
mod generator;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use generator::{IncidentKind, Scenario, Truth};
use opsloop::config::Settings;
use opsloop::data_dir::DataDir;
use opsloop::index::{LogIndex, ReportIndex, SearchRequest};
use opsloop::ingest::{Format, ParseOptions, ReportFormat};
use opsloop::pipeline::{FindingStore, ImportOptions, ImportSource, PluginSet, import, import_reports};

/// What the bench reads of a board item.
struct BoardItem {
    id: String,
    title: String,
    score: f64,
    reports: Vec<String>,
    patterns: Vec<(String, String)>,
    /// Why the item's reports and logs are one item, in words.
    links: Vec<String>,
}

/// Which board call: building it after a data change, or reading what was built.
#[derive(Clone, Copy)]
enum BoardStep {
    Build,
    Read,
}

/// Every call this bench makes into `opsloop::feedback`, in one place: a build is what an import
/// does after storing data (build the board, move statuses, save it); a read is what
/// `opsloop feedback` and `GET /api/feedback` do (load the board as built).
fn feedback_board(
    step: BoardStep,
    data: &DataDir,
    settings: &Settings,
    logs: &LogIndex,
    reports: &ReportIndex,
) -> (Vec<BoardItem>, Vec<String>) {
    use opsloop::feedback::BoardStore;
    let findings = FindingStore::new(data.findings_file());
    let store = BoardStore::new(data);
    let board = match step {
        BoardStep::Build => store.rebuild(logs, reports, &findings, &settings.feedback).expect("build the board"),
        BoardStep::Read => store.read().expect("read the board").expect("a board was built"),
    };
    let items = board
        .items
        .into_iter()
        .map(|item| BoardItem {
            id: item.id,
            title: item.title,
            score: item.impact.score,
            reports: item.evidence.reports,
            patterns: item.evidence.patterns.into_iter().map(|p| (p.pattern, p.template)).collect(),
            links: item.evidence.links,
        })
        .collect();
    (items, board.refused)
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("a time in range")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A scenario imported and its board built and read.
struct Run {
    items: Vec<BoardItem>,
    /// The links and merges the board refused, in words.
    refused: Vec<String>,
    /// Per source, the pattern of each line (in the scenario's order).
    line_patterns: Vec<Vec<Option<String>>>,
    import: Duration,
    build: Duration,
    read: Duration,
    _dir: tempfile::TempDir,
}

fn import_and_board(scenario: &Scenario) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    let settings = Settings::default();
    let findings = FindingStore::new(data.findings_file());
    let started = Instant::now();

    let logs = LogIndex::open(&data.index_dir()).unwrap();
    let (mut plugins, errors) = PluginSet::load(&data, &settings).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let inputs = scenario
        .sources
        .iter()
        .map(|source| {
            let mut bytes = Vec::new();
            for line in &source.lines {
                let mut object = serde_json::Map::new();
                object.insert("timestamp".into(), rfc3339(line.time_ms).into());
                if let Some(level) = &line.level {
                    object.insert("level".into(), level.clone().into());
                }
                object.insert("message".into(), line.message.clone().into());
                bytes.extend(serde_json::Value::Object(object).to_string().into_bytes());
                bytes.push(b'\n');
            }
            ImportSource::Bytes { name: format!("{}.jsonl", source.name), bytes }
        })
        .collect();
    let options =
        ImportOptions { parse: ParseOptions { format: Format::Json, ..ParseOptions::default() }, ..Default::default() };
    let summary = import(&logs, &mut plugins, &findings, inputs, &options, None).unwrap();
    assert!(summary.plugin_failures.is_empty(), "{:?}", summary.plugin_failures);
    assert_eq!(summary.rejections.total(), 0, "{:?}", summary.rejections);

    let reports_path = dir.path().join("reports.jsonl");
    let mut text = String::new();
    for report in &scenario.reports {
        let mut object = serde_json::Map::new();
        object.insert("id".into(), report.id.clone().into());
        object.insert("title".into(), report.title.clone().into());
        object.insert("body".into(), report.body.clone().into());
        object.insert("created".into(), rfc3339(report.created_ms).into());
        for (key, value) in [
            ("reporter", &report.reporter),
            ("component", &report.component),
            ("status", &report.status),
            ("priority", &report.priority),
        ] {
            if let Some(value) = value {
                object.insert(key.into(), value.clone().into());
            }
        }
        text.push_str(&serde_json::Value::Object(object).to_string());
        text.push('\n');
    }
    std::fs::write(&reports_path, text).unwrap();
    if let Some(dump) = std::env::var_os("FEEDBACK_QUALITY_DUMP").map(PathBuf::from) {
        // The reports as imported and what each one is, to study a grouping offline.
        let run = if scenario.incidents.is_empty() { "control" } else { "planted" };
        let truth: String = scenario
            .reports
            .iter()
            .map(|r| format!("{}\t{:?}\t{}\t{}\n", r.id, r.truth, r.quotes, r.confounder))
            .collect();
        std::fs::write(dump.join(format!("seed-{}-{run}.truth.tsv", scenario.seed)), truth).unwrap();
        std::fs::copy(&reports_path, dump.join(format!("seed-{}-{run}.jsonl", scenario.seed))).unwrap();
    }
    let report_index = ReportIndex::open(&data.reports_dir()).unwrap();
    let (mut plugins, errors) = PluginSet::load(&data, &settings).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let summary = import_reports(&report_index, &mut plugins, &findings, &[reports_path], ReportFormat::Jsonl).unwrap();
    assert!(summary.plugin_failures.is_empty(), "{:?}", summary.plugin_failures);
    assert_eq!(summary.reports as usize, scenario.reports.len(), "{:?}", summary.rejections);
    let import_time = started.elapsed();
    // The pattern of every line, by its file and line number.
    let mut by_origin: BTreeMap<(String, u64), (String, Option<String>)> = BTreeMap::new();
    for hit in logs.search(&SearchRequest { query: "*".into(), ..SearchRequest::default() }).unwrap() {
        let record = hit.record;
        let pattern = record.annotations.get("pattern").map(|p| p.to_string());
        by_origin.insert((record.origin.file, record.origin.line), (record.message, pattern));
    }
    let line_patterns = scenario
        .sources
        .iter()
        .map(|source| {
            let file = format!("{}.jsonl", source.name);
            source
                .lines
                .iter()
                .enumerate()
                .map(|(index, line)| {
                    let (message, pattern) = &by_origin[&(file.clone(), index as u64 + 1)];
                    assert_eq!(message, &line.message, "{file}:{}", index + 1);
                    pattern.clone()
                })
                .collect()
        })
        .collect();

    let started = Instant::now();
    let (items, refused) = feedback_board(BoardStep::Build, &data, &settings, &logs, &report_index);
    let build = started.elapsed();
    let started = Instant::now();
    let (read_items, _) = feedback_board(BoardStep::Read, &data, &settings, &logs, &report_index);
    let read = started.elapsed();
    assert_eq!(read_items.len(), items.len(), "a read gives the board that was built");
    Run { items, refused, line_patterns, import: import_time, build, read, _dir: dir }
}

/// The truth of a run's reports and patterns.
struct Truths {
    report: BTreeMap<String, Truth>,
    /// Per pattern, the incidents with a line in it (empty: background only).
    pattern: BTreeMap<String, BTreeSet<usize>>,
    /// Per incident, the pattern most of its lines got.
    main_pattern: Vec<Option<String>>,
    /// Per incident: planted lines, and how many got its main pattern.
    lines_in_main: Vec<(usize, usize)>,
    /// Per incident, its main pattern also holds background lines.
    main_has_background: Vec<bool>,
}

fn truths(scenario: &Scenario, run: &Run) -> Truths {
    let mut pattern: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut background_patterns: BTreeSet<String> = BTreeSet::new();
    let mut counts: Vec<BTreeMap<String, usize>> = vec![BTreeMap::new(); scenario.incidents.len()];
    for (source, patterns) in scenario.sources.iter().zip(&run.line_patterns) {
        for (line, found) in source.lines.iter().zip(patterns) {
            let Some(found) = found else { continue };
            let incidents = pattern.entry(found.clone()).or_default();
            match line.truth {
                Truth::Incident(number) => {
                    incidents.insert(number);
                    *counts[number].entry(found.clone()).or_default() += 1;
                }
                Truth::Background => {
                    background_patterns.insert(found.clone());
                }
            }
        }
    }
    let main_pattern: Vec<Option<String>> = counts
        .iter()
        .map(|by_pattern| by_pattern.iter().max_by_key(|&(_, n)| *n).map(|(pattern, _)| pattern.clone()))
        .collect();
    let lines_in_main = scenario
        .incidents
        .iter()
        .zip(&counts)
        .zip(&main_pattern)
        .map(|((incident, by_pattern), main)| (incident.burst_lines, main.as_ref().map_or(0, |main| by_pattern[main])))
        .collect();
    let main_has_background =
        main_pattern.iter().map(|main| main.as_ref().is_some_and(|main| background_patterns.contains(main))).collect();
    Truths {
        report: scenario.reports.iter().map(|r| (r.id.clone(), r.truth)).collect(),
        pattern,
        main_pattern,
        lines_in_main,
        main_has_background,
    }
}

/// What one item holds, by truth.
struct ItemTruth {
    incidents: BTreeSet<usize>,
    background: bool,
    /// (report, pattern) pairs not of one incident.
    false_pairs: Vec<(String, String)>,
}

fn item_truth(item: &BoardItem, truths: &Truths) -> ItemTruth {
    let mut incidents = BTreeSet::new();
    let mut background = false;
    for report in &item.reports {
        match truths.report.get(report) {
            Some(Truth::Incident(number)) => {
                incidents.insert(*number);
            }
            _ => background = true,
        }
    }
    let empty = BTreeSet::new();
    for (pattern, _) in &item.patterns {
        let of = truths.pattern.get(pattern).unwrap_or(&empty);
        background |= of.is_empty();
        incidents.extend(of);
    }
    let mut false_pairs = Vec::new();
    for report in &item.reports {
        for (pattern, template) in &item.patterns {
            let of = truths.pattern.get(pattern).unwrap_or(&empty);
            let same = matches!(truths.report.get(report), Some(Truth::Incident(n)) if of.contains(n));
            if !same {
                false_pairs.push((report.clone(), template.clone()));
            }
        }
    }
    ItemTruth { incidents, background, false_pairs }
}

/// One incident's outcome.
struct Outcome {
    found: bool,
    pure: bool,
    /// 1-based position by impact of the item that holds the incident, if any.
    rank: Option<usize>,
    above_background: bool,
}

/// The scores of one seed.
struct SeedScore {
    outcomes: Vec<Outcome>,
    items: usize,
    background_items: usize,
    false_link_items: usize,
    false_pairs: usize,
    merged_items: usize,
}

fn score(scenario: &Scenario, run: &Run, truths: &Truths) -> SeedScore {
    let mut order: Vec<usize> = (0..run.items.len()).collect();
    order.sort_by(|&a, &b| run.items[b].score.total_cmp(&run.items[a].score));
    let position: BTreeMap<usize, usize> = order.iter().enumerate().map(|(rank, &item)| (item, rank + 1)).collect();
    let item_truths: Vec<ItemTruth> = run.items.iter().map(|item| item_truth(item, truths)).collect();
    let best_background = run
        .items
        .iter()
        .zip(&item_truths)
        .filter(|(_, t)| t.incidents.is_empty())
        .map(|(item, _)| item.score)
        .fold(f64::NEG_INFINITY, f64::max);

    let mut outcomes = Vec::new();
    for number in 0..scenario.incidents.len() {
        let reports: Vec<&generator::Report> =
            scenario.reports.iter().filter(|r| r.truth == Truth::Incident(number)).collect();
        let main = truths.main_pattern[number].as_deref();
        let holds = |item: &BoardItem| {
            let held = reports.iter().filter(|r| item.reports.contains(&r.id)).count();
            let quoting_held = reports.iter().filter(|r| r.quotes).all(|r| item.reports.contains(&r.id));
            let pattern_held = main.is_none_or(|main| item.patterns.iter().any(|(p, _)| p == main));
            (pattern_held && quoting_held && 2 * held >= reports.len(), held)
        };
        let found = (0..run.items.len()).find(|&i| holds(&run.items[i]).0);
        // The item that stands for the incident: the one that found it, else the one with its
        // pattern, else the one with most of its reports.
        let standing = found
            .or_else(|| {
                main.and_then(|main| run.items.iter().position(|item| item.patterns.iter().any(|(p, _)| p == main)))
            })
            .or_else(|| {
                (0..run.items.len()).filter(|&i| holds(&run.items[i]).1 > 0).max_by_key(|&i| holds(&run.items[i]).1)
            });
        let pure = found.is_some_and(|i| {
            let truth = &item_truths[i];
            !truth.background && truth.incidents.len() == 1
        });
        outcomes.push(Outcome {
            found: found.is_some(),
            pure,
            rank: standing.map(|i| position[&i]),
            // Only a pure item that found the incident counts: an item that merged it with the
            // background ranks high for what it swallowed.
            above_background: pure && standing.is_some_and(|i| run.items[i].score > best_background),
        });
    }
    SeedScore {
        outcomes,
        items: run.items.len(),
        background_items: item_truths.iter().filter(|t| t.incidents.is_empty()).count(),
        false_link_items: item_truths.iter().filter(|t| !t.false_pairs.is_empty()).count(),
        false_pairs: item_truths.iter().map(|t| t.false_pairs.len()).sum(),
        merged_items: item_truths.iter().filter(|t| t.incidents.len() >= 2).count(),
    }
}

/// What a linking item holds, by origin, and the first reasons it gives.
fn describe(item: &BoardItem, held: &ItemTruth, scenario: &Scenario, truth: &Truths) -> String {
    let by_id: BTreeMap<&str, &generator::Report> = scenario.reports.iter().map(|r| (r.id.as_str(), r)).collect();
    let (mut tracker, mut confounders, mut planted) = (0, 0, 0);
    for report in item.reports.iter().filter_map(|id| by_id.get(id.as_str())) {
        match (report.truth, report.confounder) {
            (Truth::Incident(_), _) => planted += 1,
            (Truth::Background, true) => confounders += 1,
            (Truth::Background, false) => tracker += 1,
        }
    }
    let background_patterns =
        item.patterns.iter().filter(|(p, _)| truth.pattern.get(p).is_none_or(BTreeSet::is_empty)).count();
    let (report, template) = &held.false_pairs[0];
    let title = by_id.get(report.as_str()).map_or("", |r| r.title.as_str());
    format!(
        "{} `{}`: {} false pairs; reports: {tracker} tracker, {confounders} confounders, {planted} planted; patterns: \
         {background_patterns} background, {} planted; e.g. \"{}\" ↔ `{}`; links: {}",
        item.id,
        short(&item.title, 40),
        held.false_pairs.len(),
        item.patterns.len() - background_patterns,
        short(title, 50),
        short(template, 50),
        item.links.iter().take(2).map(|link| short(link, 110)).collect::<Vec<_>>().join(" | ")
    )
}

/// For each incident not found as one pure item: the items that hold any of its reports, with
/// every report they hold (its origin and title). Printed under `FEEDBACK_QUALITY_DETAIL=1`.
fn print_misses(scenario: &Scenario, run: &Run, scored: &SeedScore) {
    let by_id: BTreeMap<&str, &generator::Report> = scenario.reports.iter().map(|r| (r.id.as_str(), r)).collect();
    let origin = |report: &generator::Report| match (report.truth, report.confounder) {
        (Truth::Incident(number), _) => format!("incident {number}{}", if report.quotes { ", quotes" } else { "" }),
        (Truth::Background, true) => "confounder".to_string(),
        (Truth::Background, false) => "tracker".to_string(),
    };
    for (number, outcome) in scored.outcomes.iter().enumerate() {
        if outcome.found && outcome.pure {
            continue;
        }
        println!("  incident {number} (found {}, pure {}):", outcome.found, outcome.pure);
        let own: Vec<&generator::Report> =
            scenario.reports.iter().filter(|r| r.truth == Truth::Incident(number)).collect();
        for item in run.items.iter().filter(|item| own.iter().any(|r| item.reports.contains(&r.id))) {
            println!("    item {} `{}` ({} patterns)", item.id, short(&item.title, 60), item.patterns.len());
            for id in &item.reports {
                if let Some(report) = by_id.get(id.as_str()) {
                    println!("      {id} [{}] {}", origin(report), short(&report.title, 80));
                }
            }
        }
        if own.is_empty() {
            // A log-only incident: the items holding more than one pattern, with their reasons.
            for item in run.items.iter().filter(|item| item.reports.is_empty() && item.patterns.len() > 1) {
                let templates: Vec<String> = item.patterns.iter().map(|(_, template)| short(template, 50)).collect();
                println!(
                    "    item {} `{}`: {} ({:?})",
                    item.id,
                    short(&item.title, 60),
                    templates.join(" | "),
                    item.links
                );
            }
        }
        for report in &own {
            if !run.items.iter().any(|item| item.reports.contains(&report.id)) {
                println!("    in no item: {} [{}] {}", report.id, origin(report), short(&report.title, 80));
            }
        }
        for report in &own {
            println!("    body of {}: {}", report.id, short(&report.body, 400));
        }
        for refusal in run.refused.iter().filter(|text| own.iter().any(|r| text.contains(r.id.as_str()))) {
            println!("    refused: {}", short(refusal, 300));
        }
    }
}

fn short(text: &str, at_most: usize) -> String {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= at_most {
        return text;
    }
    format!("{}…", text.chars().take(at_most - 1).collect::<String>())
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let Some(background) = generator::load(&root) else {
        println!(
            "skipped: the feedback quality bench needs ../shared/data (loghub2k/<System>/*_structured_corrected.csv \
             and tickets/seamonkey/SeaMonkey_bugs.csv) beside the workspace; {} not found",
            root.display()
        );
        return;
    };
    let seeds: Vec<u64> = std::env::var("FEEDBACK_QUALITY_SEEDS")
        .ok()
        .map(|text| text.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|seeds: &Vec<u64>| !seeds.is_empty())
        .unwrap_or_else(|| vec![1, 2, 3]);
    let started = Instant::now();
    println!("# feedback items on planted incidents\n");
    println!(
        "background: {} log lines in {} sources ({}), {} tracker reports and {} confounders, over 48 h\n",
        background.systems.iter().map(|s| s.rows.len()).sum::<usize>(),
        background.systems.len(),
        background
            .systems
            .iter()
            .map(|s| format!("{} from Loghub {}", s.source, s.system))
            .collect::<Vec<_>>()
            .join(", "),
        background.tracker.len(),
        generator::CONFOUNDERS
    );

    let mut all_outcomes: Vec<(u64, IncidentKind, Outcome)> = Vec::new();
    let (mut false_links, mut false_pairs, mut merged) = (0, 0, 0);
    let mut control_links: Vec<(u64, usize, usize)> = Vec::new();
    let mut times: Vec<(Duration, Duration)> = Vec::new();
    for &seed in &seeds {
        let scenario = generator::plant(&background, seed);
        let run = import_and_board(&scenario);
        let truth = truths(&scenario, &run);
        let scored = score(&scenario, &run, &truth);
        println!(
            "## seed {seed}: {} items ({} background only); import {:.1} s, board build {:.0} ms, read {:.0} ms\n",
            scored.items,
            scored.background_items,
            run.import.as_secs_f64(),
            milliseconds(run.build),
            milliseconds(run.read)
        );
        println!(
            "| # | kind | source | planted template | burst | lines (in its pattern) | reports (quoting) | found | pure | rank | pure, above background |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        for (number, (incident, outcome)) in scenario.incidents.iter().zip(&scored.outcomes).enumerate() {
            let (lines, in_main) = truth.lines_in_main[number];
            let lines = if incident.kind == IncidentKind::ReportOnly {
                "–".to_string()
            } else {
                let shared = if truth.main_has_background[number] { ", shared with background" } else { "" };
                format!("{lines} ({in_main}{shared})")
            };
            let reports = if incident.reports == 0 {
                "–".to_string()
            } else {
                format!("{} ({})", incident.reports, incident.quoting)
            };
            let yes = |b: bool| if b { "yes" } else { "no" };
            let start = chrono::DateTime::from_timestamp_millis(incident.burst_start_ms).expect("a time in range");
            let burst = match incident.kind {
                IncidentKind::ReportOnly => format!("reports from {}", start.format("%a %H:%M")),
                _ => format!("{} for {} min", start.format("%a %H:%M"), incident.burst_minutes),
            };
            println!(
                "| {number} | {} | {} | `{}` | {burst} | {lines} | {reports} | {} | {} | {} | {} |",
                incident.kind.name(),
                incident.source.as_deref().unwrap_or("–"),
                short(incident.template.as_deref().unwrap_or("–"), 70).replace('|', "\\|"),
                yes(outcome.found),
                yes(outcome.pure),
                outcome.rank.map_or("–".to_string(), |r| r.to_string()),
                if incident.kind == IncidentKind::CrossEvidence { yes(outcome.above_background) } else { "–" },
            );
        }
        println!(
            "\nfalse-link items: {} holding {} false report↔pattern pairs (goal 0); merged items: {} (goal 0)",
            scored.false_link_items, scored.false_pairs, scored.merged_items
        );
        // The worst false links, to see what the board linked and why.
        let mut linking: Vec<(&BoardItem, ItemTruth)> = run
            .items
            .iter()
            .map(|item| (item, item_truth(item, &truth)))
            .filter(|(_, held)| !held.false_pairs.is_empty())
            .collect();
        linking.sort_by_key(|(_, held)| std::cmp::Reverse(held.false_pairs.len()));
        for (item, held) in linking.iter().take(3) {
            println!("  {}", describe(item, held, &scenario, &truth));
        }
        if std::env::var_os("FEEDBACK_QUALITY_DETAIL").is_some() {
            for item in &run.items {
                let held = item_truth(item, &truth);
                if held.incidents.len() >= 2 {
                    println!("  merged: {} `{}` holds incidents {:?}", item.id, short(&item.title, 60), held.incidents);
                    for link in &item.links {
                        println!("    link: {}", short(link, 300));
                    }
                }
            }
            print_misses(&scenario, &run, &scored);
        }
        false_links += scored.false_link_items;
        false_pairs += scored.false_pairs;
        merged += scored.merged_items;
        times.push((run.build, run.read));
        all_outcomes.extend(scenario.incidents.iter().map(|i| i.kind).zip(scored.outcomes).map(|(k, o)| (seed, k, o)));

        // The negative control: the same background, no incident.
        let control = scenario.background_only();
        let run = import_and_board(&control);
        let control_truth = truths(&control, &run);
        let linking: Vec<&BoardItem> =
            run.items.iter().filter(|item| !item.reports.is_empty() && !item.patterns.is_empty()).collect();
        let pairs: usize = linking.iter().map(|item| item_truth(item, &control_truth).false_pairs.len()).sum();
        println!(
            "background only: {pairs} report↔log links (report↔pattern pairs) in {} of {} items (goal 0)",
            linking.len(),
            run.items.len()
        );
        for item in linking.iter().take(3) {
            println!("  {}", describe(item, &item_truth(item, &control_truth), &control, &control_truth));
        }
        println!();
        control_links.push((seed, linking.len(), pairs));
    }

    let cross: Vec<&Outcome> =
        all_outcomes.iter().filter(|(_, k, _)| *k == IncidentKind::CrossEvidence).map(|(_, _, o)| o).collect();
    let found_pure = all_outcomes.iter().filter(|(_, _, o)| o.found && o.pure).count();
    let found = all_outcomes.iter().filter(|(_, _, o)| o.found).count();
    let above = cross.iter().filter(|o| o.above_background).count();
    let mut builds: Vec<f64> = times.iter().map(|(b, _)| milliseconds(*b)).collect();
    let mut reads: Vec<f64> = times.iter().map(|(_, r)| milliseconds(*r)).collect();
    builds.sort_by(f64::total_cmp);
    reads.sort_by(f64::total_cmp);
    let (build, read) = (builds[builds.len() / 2], reads[reads.len() / 2]);
    let seeds_text = seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    println!("## summary over seeds {seeds_text}\n");
    println!(
        "- planted incidents found as one pure item: {found_pure}/{} (found at all: {found}) (goal: all)",
        all_outcomes.len()
    );
    for kind in [IncidentKind::CrossEvidence, IncidentKind::LogOnly, IncidentKind::ReportOnly] {
        let of_kind: Vec<&Outcome> = all_outcomes.iter().filter(|(_, k, _)| *k == kind).map(|(_, _, o)| o).collect();
        println!(
            "  - {}: {}/{} found and pure, {} found",
            kind.name(),
            of_kind.iter().filter(|o| o.found && o.pure).count(),
            of_kind.len(),
            of_kind.iter().filter(|o| o.found).count()
        );
    }
    println!("- false-link items: {false_links}, holding {false_pairs} false report↔pattern pairs (goal 0)");
    println!("- merged items: {merged} (goal 0)");
    println!(
        "- logs+reports incidents ranked above every background item (as a pure item): {above}/{} (goal: all)",
        cross.len()
    );
    println!(
        "- background only: {} report↔log links (goal 0) [per seed: {}]",
        control_links.iter().map(|(_, _, pairs)| pairs).sum::<usize>(),
        control_links
            .iter()
            .map(|(seed, items, pairs)| format!("seed {seed}: {pairs} in {items} item(s)"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "- board read vs build (median over seeds): read {read:.0} ms, build {build:.0} ms, read/build {:.3} (goal ≤ 0.10)",
        read / build.max(1e-9)
    );
    println!(
        "\n{:.0} s in all. Reproduce: FEEDBACK_QUALITY_SEEDS={seeds_text} cargo bench --bench feedback_quality",
        started.elapsed().as_secs_f64()
    );
}
