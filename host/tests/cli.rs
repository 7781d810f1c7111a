//! The command-line contract, through the real `opsloop` binary: import then search returns
//! exactly the matching records with their line and annotations; bad lines are counted, not
//! fatal; exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::service_log;

/// A data directory in a temp dir and the binary to run against it.
struct Opsloop {
    dir: tempfile::TempDir,
}

impl Opsloop {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_opsloop")).arg("--data").arg(self.path("data")).args(args).output().unwrap()
    }

    /// Runs and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "opsloop {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs and expects exit code `code`; returns (stdout, stderr).
    fn exits(&self, code: i32, args: &[&str]) -> (String, String) {
        let output = self.run(args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
        assert_eq!(output.status.code(), Some(code), "opsloop {args:?}:\n{stdout}\n{stderr}");
        (stdout, stderr)
    }

    fn search_json(&self, query: &str) -> Vec<Value> {
        self.ok(&["search", query, "--format", "json", "--limit", "0"])
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data").join(relative)
}

/// The words tantivy's default tokenizer makes of `text`: alphanumeric runs, lower-cased.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

#[test]
fn raw_import_then_search_returns_exactly_the_records_with_the_term() {
    let opsloop = Opsloop::new();
    let log = fixture("loghub2k/HDFS/HDFS_2k.log");
    let summary = opsloop.ok(&["import", "--format", "raw", log.to_str().unwrap()]);
    assert!(summary.contains("imported 2000 records"), "{summary}");
    let lines: Vec<String> = std::fs::read_to_string(&log).unwrap().lines().map(str::to_string).collect();
    for term in ["terminating", "packetresponder", "exception"] {
        let mut expected: Vec<u64> = lines
            .iter()
            .enumerate()
            .filter(|(_, line)| words(line).iter().any(|word| word == term))
            .map(|(index, _)| index as u64 + 1)
            .collect();
        let hits = opsloop.search_json(term);
        let mut found: Vec<u64> = hits.iter().map(|hit| hit["line"].as_u64().unwrap()).collect();
        expected.sort();
        found.sort();
        assert!(!expected.is_empty(), "{term} should occur in the fixture");
        assert_eq!(found, expected, "records containing `{term}`");
        for hit in &hits {
            let line = hit["line"].as_u64().unwrap() as usize;
            assert_eq!(hit["message"], lines[line - 1].as_str());
            assert_eq!(hit["file"], log.to_str().unwrap());
            assert_eq!(hit["source"], "HDFS_2k");
            assert!(hit["timestamp"].is_string());
            assert_eq!(hit["pattern"].as_str().map(str::len), Some(16), "pattern id on {hit}");
            assert!(hit["template"].as_str().is_some_and(|t| t.contains("<*>")), "template on {hit}");
        }
    }
    // The pattern annotation is searchable, and finds exactly the records that carry it.
    let first = &opsloop.search_json("terminating")[0];
    let pattern = first["pattern"].as_str().unwrap();
    let same_pattern = opsloop.search_json(&format!("pattern:{pattern}"));
    assert!(same_pattern.iter().all(|hit| hit["pattern"] == pattern));
    assert!(same_pattern.len() >= 2);
}

#[test]
fn bad_lines_are_counted_by_reason_and_the_good_ones_land() {
    let opsloop = Opsloop::new();
    let path = opsloop.path("mixed.log");
    let mut bytes = b"first good line\n\n".to_vec();
    bytes.extend_from_slice(b"bad \xff\xfe bytes\n");
    bytes.extend_from_slice(&vec![b'x'; 1 << 20]);
    bytes.extend_from_slice(b"\nlast good line\n   \n");
    std::fs::write(&path, bytes).unwrap();
    let summary: Value =
        serde_json::from_str(&opsloop.ok(&["import", "--format", "raw", "--summary", "json", path.to_str().unwrap()]))
            .unwrap();
    assert_eq!(summary["records"], 2);
    assert_eq!(summary["rejected"], 4);
    let reasons = &summary["rejected_by_reason"];
    assert_eq!(reasons["empty line"]["count"], 2);
    assert_eq!(reasons["invalid UTF-8"]["count"], 1);
    assert_eq!(reasons["line too long"]["count"], 1);
    let example = reasons["invalid UTF-8"]["examples"][0].as_str().unwrap();
    assert!(example.contains("mixed.log:3") && example.contains("byte 4"), "{example}");
    let too_long = reasons["line too long"]["examples"][0].as_str().unwrap();
    assert!(too_long.contains("mixed.log:4") && too_long.contains("1048576 bytes"), "{too_long}");
    let hits = opsloop.search_json("good");
    let lines: Vec<u64> = hits.iter().map(|hit| hit["line"].as_u64().unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.contains(&1) && lines.contains(&5), "{lines:?}");
}

#[test]
fn json_lines_keep_time_level_and_fields() {
    let opsloop = Opsloop::new();
    let path = opsloop.path("api.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"ts":"2024-05-01T10:00:00Z","level":"error","msg":"payment failed","user":"alice"}"#,
            "\n",
            r#"{"ts":"2024-05-01T09:00:00Z","level":"info","msg":"payment ok","user":"bob"}"#,
            "\n",
            "{broken\n",
        ),
    )
    .unwrap();
    let output = opsloop.run(&["import", path.to_str().unwrap()]);
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("imported 2 records") && stdout.contains("invalid JSON") && stdout.contains("api.jsonl:3"),
        "{stdout}"
    );
    let hits = opsloop.search_json("payment");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0]["timestamp"], "2024-05-01T10:00:00.000Z", "newest first");
    assert_eq!(hits[0]["level"], "ERROR");
    assert_eq!(hits[0]["fields"]["user"], "alice");
    assert_eq!(opsloop.search_json("level:ERROR").len(), 1);
    assert_eq!(opsloop.search_json("fields.user:bob").len(), 1);
    let ranged = opsloop.ok(&["search", "payment", "--since", "2024-05-01T09:30:00Z", "--format", "json"]);
    assert_eq!(ranged.lines().count(), 1);
}

#[test]
fn exit_codes_follow_the_contract() {
    let opsloop = Opsloop::new();
    assert_eq!(opsloop.run(&["search"]).status.code(), Some(2), "missing query is a usage error");
    assert_eq!(opsloop.run(&["frobnicate"]).status.code(), Some(2));
    let missing = opsloop.run(&["import", "/nonexistent/app.log"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout).contains("/nonexistent/app.log"));
    let bad_query = opsloop.run(&["search", "message:(unclosed"]);
    assert_eq!(bad_query.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_query.stderr).contains("unclosed"), "the error names the query");
}

#[test]
fn stdin_imports_and_plugin_list_names_the_builtin() {
    let opsloop = Opsloop::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_opsloop"))
        .arg("--data")
        .arg(opsloop.path("data"))
        .args(["import", "--format", "raw", "--source", "piped", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"from a pipe 1\nfrom a pipe 2\n").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let hits = opsloop.search_json("pipe");
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|hit| hit["source"] == "piped" && hit["file"] == "-"));
    let list = opsloop.ok(&["plugin", "list"]);
    assert!(list.starts_with("patterns"), "{list}");
}

fn write_lines(path: &Path, range: std::ops::Range<usize>, append: bool) {
    use std::io::Write;
    let mut file =
        std::fs::OpenOptions::new().create(true).append(append).write(true).truncate(!append).open(path).unwrap();
    let mut text = String::new();
    for i in range {
        text.push_str(&format!("2024-05-01T10:{:02}:{:02}Z INFO event number{i} done\n", i / 60 % 60, i % 60));
    }
    file.write_all(text.as_bytes()).unwrap();
}

/// The `line` of every record, sorted.
fn all_lines(opsloop: &Opsloop) -> Vec<u64> {
    let mut lines: Vec<u64> = opsloop.search_json("*").iter().map(|hit| hit["line"].as_u64().unwrap()).collect();
    lines.sort();
    lines
}

#[test]
fn reimport_adds_nothing_and_a_grown_file_adds_only_its_new_lines() {
    let opsloop = Opsloop::new();
    let path = opsloop.path("app.log");
    write_lines(&path, 0..100, false);
    opsloop.ok(&["import", path.to_str().unwrap()]);
    let again = opsloop.ok(&["import", path.to_str().unwrap()]);
    assert!(
        again.contains("imported 0 records") && again.contains("100 line(s) imported before were skipped"),
        "{again}"
    );
    assert_eq!(opsloop.ok(&["search", "*", "--count"]).trim(), "100");
    write_lines(&path, 100..130, true);
    let grown = opsloop.ok(&["import", path.to_str().unwrap()]);
    assert!(grown.contains("imported 30 records"), "{grown}");
    assert_eq!(all_lines(&opsloop), (1..=130).collect::<Vec<u64>>());
    // A replaced file (different head) is read again from its start.
    write_lines(&path, 500..530, false);
    let replaced = opsloop.ok(&["import", path.to_str().unwrap()]);
    assert!(replaced.contains("imported 30 records"), "{replaced}");
    assert_eq!(opsloop.ok(&["search", "number505", "--count"]).trim(), "1");
    // ... once: the checkpoint now knows the new file's first bytes.
    let again = opsloop.ok(&["import", path.to_str().unwrap()]);
    assert!(again.contains("imported 0 records"), "{again}");
    assert_eq!(opsloop.ok(&["search", "number505", "--count"]).trim(), "1");
}

/// A file read while its writer was mid-line: the unfinished last line is stored as it was,
/// and once the file has grown, read again whole in its place; no fragment stays, no line is
/// read from its middle (which used to make the rest of the file undetectable), and the line
/// numbers hold. A last line that never gets its line end is kept as it is.
#[test]
fn a_last_line_read_before_its_end_was_written_is_read_again_whole() {
    use std::io::Write;
    let opsloop = Opsloop::new();
    let path = opsloop.path("sshd.log");
    let sample = std::fs::read_to_string(fixture("loghub2k/OpenSSH/OpenSSH_2k.log")).unwrap();
    let lines: Vec<&str> = sample.lines().take(40).collect();
    let cut = 30;
    std::fs::write(&path, format!("{}\n{}", lines[..20].join("\n"), &lines[20][..cut])).unwrap();
    opsloop.ok(&["import", path.to_str().unwrap()]);
    // The fragment has no message of its own: it was read as a continuation of line 20.
    assert_eq!(all_lines(&opsloop), (1..=20).collect::<Vec<u64>>());
    let fragment = &lines[20][..cut];
    assert_eq!(opsloop.search_json("*")[0]["message"].as_str().unwrap().lines().last(), Some(fragment));
    assert_eq!(opsloop.ok(&["import", path.to_str().unwrap()]).contains("imported 0 records"), true, "nothing new");

    let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    write!(file, "{}\n{}", &lines[20][cut..], lines[21..].join("\n")).unwrap();
    drop(file);
    let grown = opsloop.ok(&["import", path.to_str().unwrap()]);
    assert!(grown.contains("imported 21 records"), "line 20 again, 21 whole, and 22-40: {grown}");
    assert_eq!(all_lines(&opsloop), (1..=40).collect::<Vec<u64>>(), "each line once");
    let hits = opsloop.search_json("*");
    let line_21 = hits.iter().find(|hit| hit["line"] == 21).unwrap();
    let line_20 = hits.iter().find(|hit| hit["line"] == 20).unwrap();
    assert!(!line_20["message"].as_str().unwrap().contains(fragment), "the fragment left line 20: {line_20:#}");
    let tail = &lines[20][lines[20].len() - 12..];
    assert!(line_21["message"].as_str().unwrap().ends_with(tail.trim_end()), "{line_21:#}");
    let detected: Vec<&Value> = hits.iter().filter(|hit| hit["line"].as_u64() > Some(20)).collect();
    assert!(
        detected
            .iter()
            .all(|hit| hit["source"] == hits[0]["source"] && hit["timestamp"].as_str().unwrap().contains("-12-10T")),
        "{detected:#?}"
    );
    assert!(opsloop.ok(&["import", path.to_str().unwrap()]).contains("imported 0 records"));
}

/// logrotate moves `app.log` to `app.log.1` (and later compresses it) and starts a new
/// `app.log`; a cron job imports everything there: the moved file is known by its first bytes
/// and only what was written to it since the last import is added, the new file is read whole,
/// and a copy whose original is still in place is a file of its own.
#[test]
fn a_rotated_file_under_a_new_name_adds_only_what_was_not_imported() {
    let opsloop = Opsloop::new();
    let (live, rotated) = (opsloop.path("app.log"), opsloop.path("app.log.1"));
    write_lines(&live, 0..100, false);
    opsloop.ok(&["import", live.to_str().unwrap()]);
    write_lines(&live, 100..110, true);
    std::fs::rename(&live, &rotated).unwrap();
    write_lines(&live, 500..530, false);
    let after = opsloop.ok(&["import", live.to_str().unwrap(), rotated.to_str().unwrap()]);
    assert!(after.contains("imported 40 records"), "30 new lines and the 10 written before the rotation: {after}");
    assert_eq!(opsloop.ok(&["search", "*", "--count"]).trim(), "140");
    for word in ["number5", "number105", "number503"] {
        assert_eq!(opsloop.ok(&["search", word, "--count"]).trim(), "1", "{word} once");
    }
    // Compressed on the next rotation: nothing new in it.
    let compressed = opsloop.path("app.log.2.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &std::fs::read(&rotated).unwrap()).unwrap();
    std::fs::write(&compressed, encoder.finish().unwrap()).unwrap();
    std::fs::remove_file(&rotated).unwrap();
    let gz = opsloop.ok(&["import", compressed.to_str().unwrap()]);
    assert!(gz.contains("imported 0 records"), "{gz}");
    // A copy beside its original is not a rotation: it is read whole.
    let copy = opsloop.path("copy.log");
    std::fs::copy(&live, &copy).unwrap();
    write_lines(&live, 530..600, true);
    opsloop.ok(&["import", live.to_str().unwrap()]);
    let copied = opsloop.ok(&["import", copy.to_str().unwrap()]);
    assert!(copied.contains("imported 30 records"), "{copied}");
}

#[test]
fn an_import_killed_midway_and_rerun_leaves_every_record_exactly_once() {
    let opsloop = Opsloop::new();
    let path = opsloop.path("big.log");
    let total = 60_000;
    write_lines(&path, 0..total, false);
    let meta = opsloop.path("data").join("index").join("meta.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_opsloop"))
        .arg("--data")
        .arg(opsloop.path("data"))
        .args(["import", "--batch-size", "500", "--commit-every", "2000", path.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once at least one commit with a checkpoint is on disk, while it is still going.
    let started = std::time::Instant::now();
    loop {
        let committed = std::fs::read_to_string(&meta).is_ok_and(|text| text.contains("offset"));
        if committed || started.elapsed() > std::time::Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    let partial: u64 = opsloop.ok(&["search", "*", "--count"]).trim().parse().unwrap();
    assert!(
        !status.success() && partial < total as u64,
        "the import was to be killed mid-way ({partial} records, {status})"
    );
    opsloop.ok(&["import", path.to_str().unwrap()]);
    assert_eq!(all_lines(&opsloop), (1..=total as u64).collect::<Vec<u64>>());
}

#[test]
fn gzip_files_directories_and_globs_are_read() {
    use std::io::Write;
    let opsloop = Opsloop::new();
    let dir = opsloop.path("logs");
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"level=error msg=\"zipped failure\" code=7\nlevel=info msg=\"zipped ok\" code=0\n").unwrap();
    std::fs::write(dir.join("nested/app.log.gz"), encoder.finish().unwrap()).unwrap();
    std::fs::write(dir.join("plain.log"), "2024-05-01 10:00:00 WARN plain warning\n").unwrap();
    std::fs::write(dir.join(".hidden"), "not me\n").unwrap();
    let summary = opsloop.ok(&["import", dir.to_str().unwrap()]);
    assert!(summary.contains("imported 3 records from 2 input(s)"), "{summary}");
    let zipped = opsloop.search_json("zipped");
    assert_eq!(zipped.len(), 2);
    assert!(zipped.iter().any(|hit| hit["level"] == "ERROR" && hit["fields"]["code"] == "7"));
    assert_eq!(zipped[0]["source"], "app");
    let pattern = format!("{}/*.log", dir.display());
    let again = opsloop.ok(&["import", &pattern]);
    assert!(again.contains("imported 0 records from 1 input(s)"), "{again}");
}

#[test]
fn count_histogram_and_highlight() {
    let opsloop = Opsloop::new();
    let path = opsloop.path("app.log");
    write_lines(&path, 0..180, false);
    opsloop.ok(&["import", path.to_str().unwrap()]);
    assert_eq!(opsloop.ok(&["search", "event", "--count"]).trim(), "180");
    let buckets: Vec<Value> = opsloop
        .ok(&["search", "event", "--histogram", "1m"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(buckets.len(), 3);
    assert_eq!(buckets[0]["start"], "2024-05-01T10:00:00.000Z");
    assert!(buckets.iter().all(|bucket| bucket["count"] == 60));
    let text = opsloop.ok(&["search", "number42", "--color", "always"]);
    assert!(text.contains("\x1b[1;31mnumber42\x1b[0m"), "{text:?}");
    let plain = opsloop.ok(&["search", "number42"]);
    assert!(!plain.contains('\x1b'));
    assert_eq!(opsloop.run(&["search", "x", "--histogram", "5 minutes"]).status.code(), Some(2));
}

#[test]
fn pattern_layouts_split_loghub_lines_into_fields() {
    let opsloop = Opsloop::new();
    let log = fixture("loghub2k/HDFS/HDFS_2k.log");
    opsloop.ok(&["import", "--pattern", "<Date> <Time> <Pid> <Level> <Component>: <Content>", log.to_str().unwrap()]);
    let hits = opsloop.search_json("fields.component:dfs.FSNamesystem");
    assert!(!hits.is_empty());
    let first = &hits[hits.len() - 1];
    assert!(first["message"].as_str().unwrap().starts_with("BLOCK*"), "{first}");
    assert!(first["timestamp"].as_str().unwrap().starts_with("2008-11-"), "{first}");
    assert!(opsloop.search_json("level:WARN").iter().all(|hit| hit["level"] == "WARN"));
}

#[test]
fn bug_reports_import_idempotently_and_search_on_their_own() {
    let opsloop = Opsloop::new();
    let bugs = fixture("tickets/seamonkey/SeaMonkey_bugs.csv");
    let summary = opsloop.ok(&["import", "--reports", bugs.to_str().unwrap()]);
    assert!(summary.contains("imported 1076 reports"), "{summary}");
    opsloop.ok(&["import", "--reports", "--format", "csv", bugs.to_str().unwrap()]);
    assert_eq!(opsloop.ok(&["search", "--reports", "*", "--count"]).trim(), "1076", "a re-import replaces, not adds");
    let hits: Vec<Value> = opsloop
        .ok(&["search", "--reports", "title:crash", "--format", "json", "--limit", "0"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(!hits.is_empty());
    assert!(
        hits.iter().all(|hit| hit["id"].is_string() && hit["title"].as_str().unwrap().to_lowercase().contains("crash"))
    );
    assert!(
        hits.iter().all(|hit| hit["fields"]["Resolution"].is_string() || hit["fields"].get("Resolution").is_none())
    );
    assert_eq!(opsloop.ok(&["search", "*", "--count"]).trim(), "0", "reports stay out of the log index");
    // --since and --until bound when reports were filed: the windows add up to the whole.
    let count = |args: &[&str]| -> u64 {
        let mut all = vec!["search", "--reports", "*", "--count"];
        all.extend(args);
        opsloop.ok(&all).trim().parse().unwrap()
    };
    let (before, after) = (count(&["--until", "2022-01-01T00:00:00Z"]), count(&["--since", "2022-01-01T00:00:00Z"]));
    assert!(before > 0 && after > 0 && before + after <= 1076, "{before} + {after}");
    assert_eq!(before + after, 1076 - undated(&opsloop), "every dated report is in one window or the other");
    let filed: Vec<Value> = opsloop
        .ok(&["search", "--reports", "*", "--since", "2022-01-01T00:00:00Z", "--format", "json", "--limit", "0"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(filed.len() as u64, after);
    assert!(filed.iter().all(|hit| hit["created"].as_str().unwrap() >= "2022-01-01"), "{filed:?}");

    let feedback = opsloop.path("feedback.jsonl");
    std::fs::write(
        &feedback,
        "{\"id\":\"f-1\",\"title\":\"export is slow\",\"created\":\"2024-05-01T10:00:00Z\"}\n{\"title\":\"no id\"}\n",
    )
    .unwrap();
    let summary: Value =
        serde_json::from_str(&opsloop.ok(&["import", "--reports", "--summary", "json", feedback.to_str().unwrap()]))
            .unwrap();
    assert_eq!(summary["reports"], 1);
    let example = summary["rejected_by_reason"]["invalid report"]["examples"][0].as_str().unwrap();
    assert!(example.contains("feedback.jsonl:2") && example.contains("no id"), "{example}");
    assert_eq!(
        opsloop.run(&["import", "--reports", "--format", "logfmt", feedback.to_str().unwrap()]).status.code(),
        Some(2)
    );
}

/// Reports stored with no date (in no `--since`/`--until` window).
fn undated(opsloop: &Opsloop) -> u64 {
    let all = opsloop.ok(&["search", "--reports", "*", "--format", "json", "--limit", "0"]);
    all.lines().filter(|line| serde_json::from_str::<Value>(line).unwrap()["created"].is_null()).count() as u64
}

/// A Jira CSV export as Jira writes it (repeated columns, both of its date forms, one date in a
/// Japanese locale): every report is imported, and the unreadable date is kept as unknown with a
/// warning that names the file, line and value.
#[test]
fn a_jira_csv_export_imports_every_report_and_warns_of_an_unreadable_date() {
    let opsloop = Opsloop::new();
    let export = fixture("tickets/jira/export.csv");
    let output = opsloop.run(&["import", "--reports", "--summary", "json", export.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["reports"], 12, "{summary:#}");
    assert_eq!(summary["rejected"], 0, "{summary:#}");
    assert_eq!(summary["warned"], 1, "{summary:#}");
    let example = summary["warnings"]["unreadable created time"]["examples"][0].as_str().unwrap();
    assert!(
        example.ends_with("export.csv:33: unreadable created time \"15/3月/24 10:40\"; kept with its date unknown"),
        "{example}"
    );

    let reports: std::collections::BTreeMap<String, Value> = opsloop
        .ok(&["search", "--reports", "*", "--format", "json", "--limit", "0"])
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|report| (report["id"].as_str().unwrap().to_string(), report))
        .collect();
    let ids: Vec<String> = (101..=112).map(|number| format!("SHOP-{number}")).collect();
    assert_eq!(reports.keys().cloned().collect::<Vec<_>>(), ids, "the issue key is the id");
    let found = opsloop.ok(&["search", "--reports", "SHOP-107", "--format", "json"]);
    let found: Vec<Value> = found.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(
        found.first().map(|report| report["id"].clone()),
        Some(Value::from("SHOP-107")),
        "a key finds its report"
    );
    for (id, created) in [
        ("SHOP-101", "2024-03-03T09:14:00.000Z"),
        ("SHOP-102", "2024-03-04T14:47:00.000Z"),
        ("SHOP-107", "2024-03-11T12:00:00.000Z"),
        ("SHOP-108", "2024-03-12T00:30:00.000Z"),
        ("SHOP-112", "2024-03-15T18:15:00.000Z"),
    ] {
        assert_eq!(reports[id]["created"], created, "{id}");
    }
    assert!(reports.iter().filter(|(id, _)| *id != "SHOP-111").all(|(_, report)| report["created"].is_string()));
    let undated = &reports["SHOP-111"];
    assert_eq!(undated["created"], Value::Null, "{undated:#}");
    assert_eq!(undated["fields"]["Created"], "15/3月/24 10:40", "the date as written is kept");
    let first = &reports["SHOP-101"];
    assert_eq!(first["labels"], serde_json::json!(["checkout", "gift-card", "regression"]));
    assert_eq!((&first["component"], &first["reporter"]), (&Value::from("Payments"), &Value::from("mwong")));
    assert_eq!(first["fields"]["Component/s"], serde_json::json!(["Payments", "Checkout"]));
    assert_eq!(first["fields"]["Issue id"], "10201");
    assert!(first["body"].as_str().unwrap().contains("GiftCardTender.java:88"), "{first:#}");

    // The text summary says the same on stderr, beside the count on stdout.
    let output = opsloop.run(&["import", "--reports", export.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("imported 12 reports"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: 1 report(s) kept with a problem") && stderr.contains("export.csv:33"),
        "{stderr}"
    );
}

#[test]
fn a_time_away_from_the_line_start_is_learned_from_the_file_and_continuations_join() {
    let opsloop = Opsloop::new();
    let logcat = opsloop.path("phone.log");
    std::fs::write(
        &logcat,
        concat!(
            "03-17 16:13:38.811  1702  2395 D WindowManager: relayout window 42\n",
            "03-17 16:13:39.002  1702  8671 E AndroidRuntime: FATAL EXCEPTION: main\n",
            "\tat com.example.Shop.checkout(Shop.java:42)\n",
            "03-17 16:13:39.120  1702  8671 I ActivityManager: Process com.example.shop has died\n",
        ),
    )
    .unwrap();
    let flagged = opsloop.path("bluegene.log");
    std::fs::write(
        &flagged,
        concat!(
            "- 1117838570 2005.06.03 R02-M1-N0 RAS KERNEL INFO instruction cache parity error corrected\n",
            "KERNDTLB 1117838573 2005.06.03 R02-M1-N0 RAS KERNEL FATAL data TLB error interrupt\n",
        ),
    )
    .unwrap();
    let summary: Value = serde_json::from_str(&opsloop.ok(&[
        "import",
        "--summary",
        "json",
        logcat.to_str().unwrap(),
        flagged.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!((summary["records"].as_u64(), summary["undated"].as_u64()), (Some(5), Some(0)), "{summary:#}");
    let crash = opsloop.search_json("AndroidRuntime");
    assert_eq!(crash.len(), 1, "{crash:?}");
    assert_eq!(crash[0]["level"], "ERROR");
    assert!(crash[0]["message"].as_str().unwrap().contains("Shop.java:42"), "the stack line joins: {crash:?}");
    assert!(crash[0]["timestamp"].as_str().unwrap().ends_with("-03-17T16:13:39.002Z"), "{crash:?}");
    let fatal = opsloop.search_json("level:FATAL");
    assert_eq!(fatal.len(), 1, "{fatal:?}");
    assert_eq!(fatal[0]["timestamp"], "2005-06-03T22:42:53.000Z");
    assert_eq!(fatal[0]["message"], "data TLB error interrupt");
    assert_eq!(fatal[0]["fields"]["header"], "KERNDTLB 2005.06.03 R02-M1-N0 RAS KERNEL");
    // A layout that is not one is refused before anything is read.
    let forced =
        opsloop.run(&["import", "--format", "header", "--pattern", "time=0+2 level=9", logcat.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&forced.stderr);
    assert!(!forced.status.success() && text.contains("expected `time=B+W`"), "{text}");
    // A wrong one rejects every line and keeps nothing: the retry with the right one reads the
    // file again instead of skipping the lines "imported before".
    let opsloop = Opsloop::new();
    let copy = opsloop.path("phone.log");
    std::fs::copy(&logcat, &copy).unwrap();
    let wrong = opsloop.run(&["import", "--format", "header", "--pattern", "time=1+2", copy.to_str().unwrap()]);
    assert!(!wrong.status.success(), "{}", String::from_utf8_lossy(&wrong.stdout));
    let right = opsloop.ok(&["import", "--format", "header", "--pattern", "time=0+2 level=2", copy.to_str().unwrap()]);
    assert!(right.contains("imported 3 records") && !right.contains("skipped"), "{right}");
    assert_eq!(opsloop.search_json("level:ERROR").len(), 1);
}

#[test]
fn records_without_a_time_of_their_own_are_counted_and_said_to_carry_the_import_time() {
    let opsloop = Opsloop::new();
    let path = opsloop.path("mixed.jsonl");
    std::fs::write(
        &path,
        "{\"ts\":\"2024-05-01T10:00:00Z\",\"msg\":\"timed\"}\n{\"level\":\"error\",\"msg\":\"no time here\"}\n",
    )
    .unwrap();
    let summary: Value =
        serde_json::from_str(&opsloop.ok(&["import", "--summary", "json", path.to_str().unwrap()])).unwrap();
    assert_eq!((summary["records"].as_u64(), summary["undated"].as_u64()), (Some(2), Some(1)), "{summary:#}");
    let path = opsloop.path("more.jsonl");
    std::fs::write(&path, "{\"msg\":\"again no time\"}\n").unwrap();
    let output = opsloop.run(&["import", path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("note: 1 record(s) carried no time of their own and are stored at the import's time"),
        "{text}"
    );
}

#[test]
fn a_source_no_record_has_is_answered_with_the_sources_there_are() {
    let opsloop = Opsloop::new();
    let path = opsloop.path("Linux_2k.log");
    std::fs::write(&path, "2024-05-01T10:00:00Z INFO kernel booted\n").unwrap();
    opsloop.ok(&["import", path.to_str().unwrap()]);
    let output = opsloop.run(&["search", "--source", "Linux", "*"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("0 records"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no record has the source `Linux`; the sources are Linux_2k"), "{stderr}");
    let output = opsloop.run(&["search", "--source", "Linux_2k", "nothing-like-this"]);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("no record has the source"), "a known source");
}

#[test]
fn retention_deletes_older_records() {
    let opsloop = Opsloop::new();
    let path = opsloop.path("app.jsonl");
    let recent = chrono::Utc::now().to_rfc3339();
    std::fs::write(
        &path,
        format!("{{\"ts\":\"2001-01-01T00:00:00Z\",\"msg\":\"ancient entry\"}}\n{{\"ts\":\"{recent}\",\"msg\":\"fresh entry\"}}\n"),
    )
    .unwrap();
    let summary = opsloop.ok(&["import", "--retain", "30d", path.to_str().unwrap()]);
    assert!(summary.contains("deleted 1 record(s) older"), "{summary}");
    let hits = opsloop.search_json("entry");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["message"], "fresh entry");
    // The checkpoint survives the deletion: a re-import adds nothing back.
    opsloop.ok(&["import", path.to_str().unwrap()]);
    assert_eq!(opsloop.search_json("entry").len(), 1);
}

#[test]
fn patterns_list_counts_times_levels_and_examples() {
    let opsloop = Opsloop::new();
    let log = fixture("loghub2k/HDFS/HDFS_2k.log");
    opsloop.ok(&["import", log.to_str().unwrap()]);
    let patterns: Vec<Value> = opsloop
        .ok(&["patterns", "--format", "json", "--limit", "0", "--examples", "1"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let total: u64 = patterns.iter().map(|p| p["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 2000);
    let counts: Vec<u64> = patterns.iter().map(|p| p["count"].as_u64().unwrap()).collect();
    assert!(counts.windows(2).all(|pair| pair[0] >= pair[1]), "most frequent first");
    for pattern in patterns.iter().take(5) {
        let id = pattern["pattern"].as_str().unwrap();
        let found = opsloop.ok(&["search", &format!("pattern:{id}"), "--count"]);
        assert_eq!(found.trim(), pattern["count"].to_string(), "{id}");
        assert!(pattern["first_seen"].as_str().unwrap().starts_with("2008-11-"));
        assert!(pattern["first_seen_ms"].as_i64() <= pattern["last_seen_ms"].as_i64());
        let level_total: u64 = pattern["levels"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(level_total, pattern["count"].as_u64().unwrap());
        assert_eq!(pattern["examples"].as_array().unwrap().len(), 1);
        assert!(pattern["template"].as_str().unwrap().contains("<*>") || pattern["count"] == 1);
    }
    let warn = patterns.iter().find(|p| p["levels"].get("WARN").is_some()).expect("HDFS has WARN patterns");
    assert!(warn["template"].is_string());
    let text = opsloop.ok(&["patterns", "--limit", "3"]);
    assert!(text.starts_with(&format!("{} patterns, the 3 most frequent:", patterns.len())), "{text}");
    let rows: Vec<&str> = text.lines().filter(|line| line.contains(" .. ")).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows.iter().all(|row| row.contains("]  in HDFS_2k  ")), "each row names its source: {text}");
}

fn patterns_json(opsloop: &Opsloop) -> Vec<Value> {
    let listed = opsloop.ok(&["patterns", "--format", "json", "--limit", "0", "--examples", "0"]);
    listed.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// Issue 20: when a template widens over a sibling mined in an earlier run, the ids records
/// already carry stay valid: the merge is recorded, `pattern:OLD` and `pattern:NEW` both find
/// every record of the pattern, and `opsloop patterns` counts them in one row that names the
/// old id; after `analyze`, which annotates every record again, the old id still finds them.
#[test]
fn a_template_merge_is_recorded_and_the_old_id_still_finds_its_records() {
    let opsloop = Opsloop::new();
    let log = opsloop.path("app.log");
    let line = |second: u32, message: &str| format!("2024-05-01T10:00:{second:02}Z INFO {message}\n");
    let first_run = [
        line(0, "user alice logged in from web"),
        line(1, "user bob logged in from web"),
        line(2, "cache warmed in 5 ms"),
    ];
    std::fs::write(&log, first_run.concat()).unwrap();
    opsloop.ok(&["import", log.to_str().unwrap()]);
    let template_of = |rows: &[Value], id: &str| {
        rows.iter().find(|row| row["pattern"] == id).map(|row| row["template"].as_str().unwrap().to_string())
    };
    let before = patterns_json(&opsloop);
    assert_eq!(before.len(), 3, "two values may be two constants: {before:#?}");
    let id = |rows: &[Value], word: &str| {
        let row = rows.iter().find(|row| row["template"].as_str().unwrap().contains(word)).expect(word);
        row["pattern"].as_str().unwrap().to_string()
    };
    let (alice, bob) = (id(&before, "alice"), id(&before, "bob"));
    assert_ne!(alice, bob);

    // A third user, in a later run: the position becomes a variable, one pattern folds into the other.
    std::fs::write(&log, [first_run.concat(), line(3, "user carol logged in from web")].concat()).unwrap();
    opsloop.ok(&["import", log.to_str().unwrap()]);
    let after = patterns_json(&opsloop);
    assert_eq!(after.len(), 2, "{after:#?}");
    let users = after.iter().find(|row| row["count"] == 3).expect("one row of 3 users");
    let (standing, merged) = if users["pattern"] == alice.as_str() { (&alice, &bob) } else { (&bob, &alice) };
    assert_eq!(users["pattern"], standing.as_str());
    assert_eq!(users["aliases"], serde_json::json!([merged]), "{users:#}");
    assert_eq!(template_of(&after, standing).unwrap(), "user <*> logged in from web");
    for id in [&alice, &bob] {
        assert_eq!(opsloop.ok(&["search", &format!("pattern:{id}"), "--count"]).trim(), "3", "pattern:{id}");
    }
    let narrowed = opsloop.ok(&["search", &format!("pattern:{merged} AND carol"), "--count"]);
    assert_eq!(narrowed.trim(), "1");
    assert_eq!(opsloop.ok(&["search", &format!("in -pattern:{merged}"), "--count"]).trim(), "1", "only the cache line");
    let text = opsloop.ok(&["patterns"]);
    assert!(text.contains(&format!("merged into it since (its records still carry): {merged}")), "{text}");

    // Mined again from the start, every record carries the standing id; the merged id, which no
    // record carries now, still finds the pattern it became.
    opsloop.ok(&["analyze"]);
    let analyzed = patterns_json(&opsloop);
    assert_eq!(analyzed.len(), 2, "{analyzed:#?}");
    assert!(analyzed.iter().all(|row| row.get("aliases").is_none()), "no record carries another id: {analyzed:#?}");
    let users = analyzed.iter().find(|row| row["count"] == 3).expect("one row of 3 users");
    let id = users["pattern"].as_str().unwrap();
    assert_eq!(opsloop.ok(&["search", &format!("pattern:{id}"), "--count"]).trim(), "3");
    for id in [&alice, &bob] {
        assert_eq!(opsloop.ok(&["search", &format!("pattern:{id}"), "--count"]).trim(), "3", "after analyze: {id}");
    }
}

/// `analyze` mines again in time order, so a pattern can start from another message and get
/// another id than the import gave it (lines written out of time order): the id records carried
/// before still finds them.
#[test]
fn after_analyze_gives_a_pattern_another_id_the_old_one_still_finds_its_records() {
    let opsloop = Opsloop::new();
    let log = opsloop.path("app.log");
    let lines = [
        "2024-05-01T10:00:09Z INFO user alice logged in from web",
        "2024-05-01T10:00:05Z INFO user bob logged in from web",
        "2024-05-01T10:00:01Z INFO user carol logged in from web",
        "2024-05-01T10:00:07Z INFO cache warmed in 5 ms",
    ];
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    opsloop.ok(&["import", log.to_str().unwrap()]);
    let users = |rows: &[Value]| {
        rows.iter().find(|row| row["count"] == 3).expect("3 users")["pattern"].as_str().unwrap().to_string()
    };
    let imported = users(&patterns_json(&opsloop));
    opsloop.ok(&["analyze"]);
    let analyzed = users(&patterns_json(&opsloop));
    assert_ne!(imported, analyzed, "in time order the pattern starts from carol's line");
    for id in [&imported, &analyzed] {
        assert_eq!(opsloop.ok(&["search", &format!("pattern:{id}"), "--count"]).trim(), "3", "pattern:{id}");
    }
    assert_eq!(opsloop.ok(&["search", &format!("pattern:{imported} AND cache"), "--count"]).trim(), "0");
}

/// Issue 21: the demo runs the whole loop on bundled data: patterns, anomalies, report
/// groups, and a feedback item that links reports to the log lines they quote.
#[test]
fn issue_21_the_demo_shows_patterns_anomalies_report_groups_and_a_linked_feedback_item() {
    let opsloop = Opsloop::new();
    let output = opsloop.ok(&["demo"]);
    for source in ["mapreduce", "hdfs", "sshd"] {
        assert!(output.contains(&format!("   {source}: ")), "{source} patterns in {output}");
    }
    assert!(output.contains("2000 records"), "{output}");
    let anomalies = output.split("3. anomalies: ").nth(1).expect("an anomalies section");
    let count: usize = anomalies.split_whitespace().next().unwrap().parse().unwrap();
    assert!(count >= 1, "{output}");
    assert!(anomalies.contains("error-burst mapreduce"), "the planted outage is found: {output}");
    let groups = output.split("duplicates):").nth(1).expect("a report groups section");
    assert!(
        groups.contains("DATA-109") && groups.contains("DATA-110"),
        "the dark mode requests are one group: {output}"
    );
    assert!(output.contains("reports: DATA-101, DATA-102"), "{output}");
    assert!(
        output.contains("report DATA-101 quotes the log message `ERROR IN CONTACTING RM.`"),
        "a feedback item links reports and logs: {output}"
    );
    let serve = output.lines().find(|line| line.contains("OPSLOOP_TOKENS=admin:")).expect("the serve command");
    assert!(serve.trim_end().ends_with("serve"), "{serve}");
    let token = serve.split("admin:").nth(1).unwrap().split_whitespace().next().unwrap();
    assert_eq!(token.len(), 32, "{serve}");
    assert!(output.contains(&format!("enter the token {token}")), "{output}");

    // The board the demo printed is the board its data directory serves.
    let demo_data = opsloop.path("data").join("demo");
    let board = Command::new(env!("CARGO_BIN_EXE_opsloop"))
        .arg("--data")
        .arg(&demo_data)
        .args(["feedback", "--format", "json"])
        .output()
        .unwrap();
    let items: Vec<Value> =
        String::from_utf8_lossy(&board.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let linked = citing(&items, "DATA-101").expect("an item cites DATA-101");
    assert!(!linked["evidence"]["patterns"].as_array().unwrap().is_empty(), "{linked:#}");
    assert!(!linked["evidence"]["findings"].as_array().unwrap().is_empty(), "{linked:#}");
    // Run twice: the demo starts over, and says the same.
    let again = opsloop.ok(&["demo"]);
    assert_eq!(
        again.lines().filter(|line| line.contains("linked:")).count(),
        output.lines().filter(|line| line.contains("linked:")).count()
    );
    let count = Command::new(env!("CARGO_BIN_EXE_opsloop"))
        .arg("--data")
        .arg(&demo_data)
        .args(["search", "*", "--count"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&count.stdout).trim(), "6000");
}

/// A data directory whose patterns plugin learns for 500 messages, with `quiet.log` (an hour
/// without errors) and `<name>.log` (`log`) imported: two sources.
fn import_service_logs(name: &str, log: String) -> Opsloop {
    let opsloop = Opsloop::new();
    std::fs::create_dir_all(opsloop.path("data")).unwrap();
    std::fs::write(opsloop.path("data/opsloop.toml"), "version = 1\n[plugins.config.patterns]\nbaseline = \"500\"\n")
        .unwrap();
    let quiet = opsloop.path("quiet.log");
    std::fs::write(&quiet, service_log(0, 60, false)).unwrap();
    let other = opsloop.path(&format!("{name}.log"));
    std::fs::write(&other, log).unwrap();
    opsloop.ok(&["import", quiet.to_str().unwrap(), other.to_str().unwrap()]);
    opsloop
}

/// The board as `opsloop feedback --format json` prints it (`--status all` with `all`).
fn board(opsloop: &Opsloop, all: bool) -> Vec<Value> {
    let mut args = vec!["feedback", "--format", "json"];
    if all {
        args.extend(["--status", "all"]);
    }
    opsloop.ok(&args).lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

fn citing<'a>(items: &'a [Value], report: &str) -> Option<&'a Value> {
    items.iter().find(|item| strings(&item["evidence"]["reports"]).contains(&report))
}

#[test]
fn an_error_in_logs_and_reports_is_one_item_whose_status_moves_only_with_data_or_a_person() {
    let opsloop = import_service_logs("failing", service_log(60, 30, true));
    let reports = opsloop.path("reports.jsonl");
    std::fs::write(&reports, common::BILLING_AND_DARK_MODE_REPORTS.join("\n")).unwrap();
    opsloop.ok(&["import", "--reports", reports.to_str().unwrap()]);

    let first = board(&opsloop, false);
    let top = &first[0];
    assert_eq!(strings(&top["evidence"]["reports"]), ["BUG-1", "BUG-2"], "{top:#}");
    let templates: Vec<&str> =
        top["evidence"]["patterns"].as_array().unwrap().iter().map(|p| p["template"].as_str().unwrap()).collect();
    assert_eq!(templates, ["upstream timeout after <*> ms calling billing"], "{top:#}");
    let links = strings(&top["evidence"]["links"]);
    assert!(
        links.iter().any(|l| l.contains("report BUG-1 quotes the log message")
            && l.contains("\"upstream timeout after 5003 ms calling billing\"")),
        "each link says why, with the matched text: {links:?}"
    );
    assert_eq!(top["status"], "new");
    assert_eq!(top["impact"]["corroborated"], true);
    assert!(top["impact"]["error_volume"].as_u64().unwrap() >= 150);
    let unrelated = citing(&first, "BUG-3").expect("the dark mode reports are an item too");
    assert!(unrelated["evidence"]["patterns"].as_array().unwrap().is_empty(), "{unrelated:#}");
    assert!(unrelated["impact"]["score"].as_f64() < top["impact"]["score"].as_f64());
    let id = top["id"].as_str().unwrap().to_string();

    // Reading, in any format, changes nothing.
    opsloop.ok(&["feedback", "--format", "csv"]);
    opsloop.ok(&["feedback", "--format", "md"]);
    let again = board(&opsloop, false);
    assert_eq!(again, first, "a read is the same board");
    // New evidence: the error keeps coming.
    let more = opsloop.path("more.log");
    std::fs::write(&more, service_log(90, 5, true)).unwrap();
    opsloop.ok(&["import", more.to_str().unwrap()]);
    let grown = board(&opsloop, false);
    assert_eq!(citing(&grown, "BUG-1").unwrap()["status"], "ongoing");
    assert_eq!(citing(&grown, "BUG-1").unwrap()["id"], id.as_str(), "the id is stable");
    assert_eq!(citing(&grown, "BUG-3").unwrap()["status"], "new", "no new evidence for dark mode");

    // A person acknowledges the dark mode item.
    let dark = citing(&grown, "BUG-3").unwrap()["id"].as_str().unwrap().to_string();
    assert!(opsloop.ok(&["feedback", "ack", &dark]).contains("now ongoing"));
    assert_eq!(citing(&board(&opsloop, false), "BUG-3").unwrap()["status"], "ongoing");

    // Resolved, it leaves the default view; the error comes back: regressed.
    opsloop.ok(&["feedback", "resolve", &id]);
    assert!(citing(&board(&opsloop, false), "BUG-1").is_none(), "resolved items are hidden by default");
    assert_eq!(citing(&board(&opsloop, true), "BUG-1").unwrap()["status"], "resolved");
    let replay = opsloop.path("replay.log");
    std::fs::write(&replay, service_log(120, 5, true)).unwrap();
    opsloop.ok(&["import", replay.to_str().unwrap()]);
    let item = board(&opsloop, false).into_iter().find(|item| item["id"] == id.as_str()).unwrap();
    assert_eq!(item["status"], "regressed", "{item:#}");
    let reason = item["status_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("evidence newer than the newest it had then")
            && reason.contains(" arrived after it was resolved"),
        "{reason}"
    );
    let text = opsloop.ok(&["feedback"]);
    assert!(text.contains(&format!("  regressed: {reason}")), "the text view says why: {text}");
    opsloop.ok(&["feedback", "ack", &id]);
    let item = board(&opsloop, false).into_iter().find(|item| item["id"] == id.as_str()).unwrap();
    assert!(item.get("status_reason").is_none(), "acknowledged: the regression was seen to {item:#}");

    // Other formats carry the same item.
    assert!(opsloop.ok(&["feedback", "--format", "md"]).contains(&id));
    let csv = opsloop.ok(&["feedback", "--format", "csv"]);
    assert!(csv.starts_with("Summary,Issue Type,Description,Priority,Labels,External ID"), "{csv}");
    assert!(csv.contains(&id));
    assert!(
        csv.contains("Evidence:\n- ") && csv.contains("- report BUG-1 quotes the log message"),
        "links travel: {csv}"
    );
    // An unknown id is a failure, not a usage error.
    let unknown = opsloop.run(&["feedback", "resolve", "FB-nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no feedback item `FB-nope`"));
}

#[test]
fn a_component_or_a_filing_time_alone_links_no_report_to_logs() {
    // Sources `quiet` and `billing`; billing starts failing at 01:00.
    let opsloop = import_service_logs("billing", [service_log(0, 60, false), service_log(60, 30, true)].join("\n"));
    // Neither report quotes the error; one names the failing component while it fails.
    let reports = opsloop.path("reports.jsonl");
    std::fs::write(
        &reports,
        [
            r#"{"id":"BUG-7","title":"Pay button does nothing","body":"I click pay and wait","component":"Billing","created":"2026-03-02T01:15:00Z"}"#,
            r#"{"id":"BUG-8","title":"Typo on the invoice page","body":"it says 'invioce'","component":"billing","created":"2026-03-02T01:20:00Z"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    opsloop.ok(&["import", "--reports", reports.to_str().unwrap()]);
    let items = board(&opsloop, true);
    for item in &items {
        let reports = item["evidence"]["reports"].as_array().unwrap();
        let patterns = item["evidence"]["patterns"].as_array().unwrap();
        assert!(reports.is_empty() || patterns.is_empty(), "a link with no quote: {item:#}");
    }
}

#[test]
fn unrelated_reports_and_logs_give_no_link_and_new_unrelated_reports_join_no_item() {
    // Real logs of three systems and a real tracker's 1,076 reports: nothing in common.
    let opsloop = Opsloop::new();
    for system in ["HDFS", "OpenSSH", "HealthApp"] {
        let log = fixture(&format!("loghub2k/{system}/{system}_2k.log"));
        opsloop.ok(&["import", "--source", system, "--format", "raw", log.to_str().unwrap()]);
    }
    let billing = opsloop.path("billing.log");
    std::fs::write(&billing, service_log(60, 30, true)).unwrap();
    opsloop.ok(&["import", "--source", "billing", billing.to_str().unwrap()]);
    let tracker = fixture("tickets/seamonkey/SeaMonkey_bugs.csv");
    opsloop.ok(&["import", "--reports", tracker.to_str().unwrap()]);
    let reports = opsloop.path("billing.jsonl");
    std::fs::write(&reports, common::BILLING_AND_DARK_MODE_REPORTS[..2].join("\n")).unwrap();
    opsloop.ok(&["import", "--reports", reports.to_str().unwrap()]);
    let before = board(&opsloop, true);
    let linked: Vec<&Value> = before.iter().filter(|item| !strings(&item["evidence"]["links"]).is_empty()).collect();
    assert_eq!(linked.len(), 1, "only the billing item links reports to logs: {linked:#?}");
    assert_eq!(strings(&linked[0]["evidence"]["reports"]), ["BUG-1", "BUG-2"]);
    let billing_item = linked[0].clone();

    // Three unrelated reports later: they join no existing item.
    let unrelated = opsloop.path("unrelated.jsonl");
    std::fs::write(
        &unrelated,
        [
            r#"{"id":"NEW-1","title":"Bookmarks toolbar icons are blurry","body":"after the update the icons look blurry on a HiDPI screen","created":"2026-03-02T02:00:00Z"}"#,
            r#"{"id":"NEW-2","title":"Compile error building on FreeBSD","body":"error: cannot find -lstdc++ when linking; the build failed","created":"2026-03-02T02:10:00Z"}"#,
            r#"{"id":"NEW-3","title":"Login fails with an error","body":"Authentication failed for user admin from 10.0.0.1, connection closed","created":"2026-03-02T02:20:00Z"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    opsloop.ok(&["import", "--reports", unrelated.to_str().unwrap()]);
    let after = board(&opsloop, true);
    let billing_after = after.iter().find(|item| item["id"] == billing_item["id"]).unwrap();
    assert_eq!(billing_after["evidence"]["reports"], billing_item["evidence"]["reports"]);
    for id in ["NEW-1", "NEW-2", "NEW-3"] {
        if let Some(item) = citing(&after, id) {
            assert!(item["evidence"]["patterns"].as_array().unwrap().is_empty(), "{id} linked to logs: {item:#}");
        }
    }
}

#[test]
fn a_pattern_of_variables_alone_is_evidence_of_nothing() {
    // A format the miner can only see as variables, with a burst, and reports full of pipes.
    let opsloop = Opsloop::new();
    let mut lines = Vec::new();
    for minute in 0..180u32 {
        let burst = if (120..130).contains(&minute) { 40 } else { 2 };
        for n in 0..burst {
            lines.push(format!(
                r#"{{"ts":"2026-03-02T{:02}:{:02}:{:02}Z","level":"ERROR","msg":"{}|{}|{}"}}"#,
                minute / 60,
                minute % 60,
                n % 60,
                minute * 7 + n,
                n * 13 % 97,
                minute + n
            ));
        }
    }
    let log = opsloop.path("pipes.log");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    opsloop.ok(&["import", "--source", "pipes", log.to_str().unwrap()]);
    let reports = opsloop.path("reports.jsonl");
    std::fs::write(
        &reports,
        [
            r#"{"id":"P-1","title":"Export broken","body":"the file reads 12|44|19 then stops","created":"2026-03-02T02:05:00Z"}"#,
            r#"{"id":"P-2","title":"Export broken again","body":"I see 3|5|7 in the export","created":"2026-03-02T02:06:00Z"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    opsloop.ok(&["import", "--reports", reports.to_str().unwrap()]);
    let patterns = opsloop.ok(&["patterns", "--format", "json"]);
    assert!(patterns.contains("<*>|<*>|<*>") || patterns.contains("<*>"), "{patterns}");
    for item in board(&opsloop, true) {
        for pattern in item["evidence"]["patterns"].as_array().unwrap() {
            let template = pattern["template"].as_str().unwrap();
            assert!(
                template.split("<*>").any(|piece| piece.chars().filter(|c| c.is_alphabetic()).count() >= 2),
                "an all-variable pattern is evidence: {item:#}"
            );
        }
    }
}

#[test]
fn similar_ranks_the_duplicate_first_with_reasons() {
    let opsloop = Opsloop::new();
    let reports = opsloop.path("reports.jsonl");
    std::fs::write(
        &reports,
        [
            r#"{"id":"1","title":"Crash when saving a draft","body":"java.lang.NullPointerException\n at mail.Draft.save(Draft.java:31)\n at mail.Ui.click(Ui.java:90)"}"#,
            r#"{"id":"2","title":"Saving drafts crashes the app","body":"NullPointerException\n at mail.Draft.save(Draft.java:35)\n at mail.Ui.click(Ui.java:93)"}"#,
            r#"{"id":"3","title":"Dark mode colors are wrong","body":"sidebar is white"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    opsloop.ok(&["import", "--reports", reports.to_str().unwrap()]);
    let found: Vec<Value> = opsloop
        .ok(&["similar", "1", "--format", "json"])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(found[0]["id"], "2");
    assert!(found[0]["reasons"][0].as_str().unwrap().contains("same stack trace"), "{found:?}");
    assert_eq!(found.len(), 1, "a report with nothing in common is no candidate: {found:?}");
    let unknown = opsloop.run(&["similar", "nope"]);
    assert_eq!(unknown.status.code(), Some(1), "an unknown id is a failure, not a usage error");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no report with id `nope`"));
}

/// Issue 5: a merge of report groups is recorded, not silently renumbered.
#[test]
fn a_report_like_two_groups_merges_them_and_relabels_the_stored_reports() {
    let opsloop = Opsloop::new();
    let trace = r"java.lang.IllegalStateException: pool exhausted\n at db.Pool.take(Pool.java:1)\n at db.Repo.load(Repo.java:2)";
    let import = |name: &str, line: String| {
        let path = opsloop.path(name);
        std::fs::write(&path, line).unwrap();
        opsloop.ok(&["import", "--reports", path.to_str().unwrap()]);
    };
    import(
        "a.jsonl",
        format!(
            r#"{{"id":"A","title":"Orders page fails to load","body":"{trace}","created":"2024-05-01T10:00:00Z"}}"#
        ),
    );
    import(
        "b.jsonl",
        r#"{"id":"B","title":"Checkout spinner never stops after paying","body":"the spinner keeps turning","created":"2024-05-02T10:00:00Z"}"#.to_string(),
    );
    let groups = || -> std::collections::BTreeMap<String, String> {
        opsloop
            .ok(&["search", "--reports", "*", "--format", "json", "--limit", "0"])
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .map(|report| (report["id"].as_str().unwrap().to_string(), report["group"].as_str().unwrap().to_string()))
            .collect()
    };
    let before = groups();
    assert_ne!(before["A"], before["B"]);
    import(
        "c.jsonl",
        format!(
            r#"{{"id":"C","title":"Checkout spinner never stops after paying","body":"the spinner keeps turning\n{trace}","created":"2024-05-02T11:00:00Z"}}"#
        ),
    );
    let after = groups();
    assert_eq!(after["A"], before["A"], "the older group keeps its id");
    assert_eq!(after["B"], before["A"], "the stored report of the merged group is relabelled");
    assert_eq!(after["C"], before["A"]);
    let findings = std::fs::read_to_string(opsloop.path("data").join("findings.jsonl")).unwrap();
    let merge: Value = findings
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|finding| finding["kind"] == "ticket-group-merge")
        .expect("the merge is recorded");
    assert_eq!(merge["evidence"]["reports"][0], "C");
    assert!(merge["summary"].as_str().unwrap().contains(&before["B"]), "{merge}");
}

/// A tracker export larger than one plugin call is grouped in calls of `REPORTS_PER_CALL`,
/// oldest first whatever the file's order: a duplicate filed in a later call joins its group,
/// and a merge made in a later call relabels reports stored by an earlier one.
#[test]
fn a_large_reports_file_is_grouped_across_plugin_calls() {
    let opsloop = Opsloop::new();
    let total = opsloop::pipeline::REPORTS_PER_CALL + 500;
    let lines = common::tracker_reports(total);
    let path = opsloop.path("tracker.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let summary = opsloop.ok(&["import", "--reports", path.to_str().unwrap()]);
    assert!(summary.contains(&format!("imported {total} reports")), "{summary}");
    let groups: std::collections::BTreeMap<String, String> = opsloop
        .ok(&["search", "--reports", "*", "--format", "json", "--limit", "0"])
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|report| (report["id"].as_str().unwrap().to_string(), report["group"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(groups.len(), total);
    // The file lists the newest first; the oldest report still founds the group.
    assert_eq!(groups["A"], opsloop_plugin_tickets::group_id("A"), "reports are taken oldest first across calls");
    assert_eq!(groups["D"], groups["A"], "a duplicate in the second call joins the first call's group");
    assert_eq!(groups["C"], groups["A"], "the bridging report joins the older group");
    assert_eq!(groups["B"], groups["A"], "the report stored by the first call is relabelled by the merge");
    assert_ne!(groups["F5"], groups["A"]);
    let distinct: std::collections::BTreeSet<&String> = groups.values().collect();
    assert_eq!(distinct.len(), total - 3, "every filler report is a group of its own");
}

/// `opsloop analyze` backfills a plugin that was off when the data came in, and a re-run
/// starts it over: the same annotations and findings, nothing twice, checkpoints kept.
#[test]
fn analyze_backfills_a_plugin_over_stored_records_and_a_rerun_changes_nothing() {
    let opsloop = Opsloop::new();
    let config = opsloop.path("data").join("opsloop.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "version = 1\n[plugins]\ndisabled = [\"patterns\"]\n").unwrap();
    let log = fixture("loghub2k/HDFS/HDFS_2k.log");
    opsloop.ok(&["import", "--format", "raw", log.to_str().unwrap()]);
    let reports = opsloop.path("reports.jsonl");
    std::fs::write(&reports, common::BILLING_AND_DARK_MODE_REPORTS.join("\n")).unwrap();
    opsloop.ok(&["import", "--reports", reports.to_str().unwrap()]);
    let groups = || -> Vec<(String, String)> {
        let mut groups: Vec<(String, String)> = opsloop
            .ok(&["search", "--reports", "*", "--format", "json", "--limit", "0"])
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .map(|report| (report["id"].as_str().unwrap().to_string(), report["group"].as_str().unwrap().to_string()))
            .collect();
        groups.sort();
        groups
    };
    let groups_before = groups();
    let before = opsloop.search_json("*");
    assert_eq!(before.len(), 2000);
    assert!(before.iter().all(|hit| hit.get("pattern").is_none()), "the plugin was off");

    // On again, with a short baseline so that new patterns after it are findings.
    std::fs::write(&config, "version = 1\n[plugins.config.patterns]\nbaseline = \"300\"\n").unwrap();
    let said = opsloop.ok(&["analyze", "--plugin", "patterns"]);
    assert!(said.contains("analyzed 2000 records") && said.contains("patterns"), "{said}");
    let patterns_of = |hits: &[Value]| -> std::collections::BTreeMap<u64, String> {
        hits.iter().map(|hit| (hit["line"].as_u64().unwrap(), hit["pattern"].as_str().unwrap().to_string())).collect()
    };
    let first = opsloop.search_json("*");
    assert_eq!(first.len(), 2000, "records are rewritten, not added");
    let first_patterns = patterns_of(&first);
    let findings = || std::fs::read_to_string(opsloop.path("data").join("findings.jsonl")).unwrap_or_default();
    let first_findings = findings().lines().count();
    assert!(first_findings > 0, "new patterns after the baseline are findings");

    let said = opsloop.ok(&["analyze"]);
    assert!(said.contains(&format!("and {} reports", groups_before.len())), "{said}");
    assert_eq!(groups(), groups_before, "the tickets plugin started over and grouped the same");
    let second = opsloop.search_json("*");
    assert_eq!(patterns_of(&second), first_patterns, "the plugin started over: same ids");
    assert_eq!(findings().lines().count(), first_findings, "its old findings were replaced, not kept twice");
    let again = opsloop.ok(&["import", "--format", "raw", log.to_str().unwrap()]);
    assert!(again.contains("imported 0 records"), "the file checkpoints survived: {again}");
    assert_eq!(opsloop.search_json("*").len(), 2000);

    let unknown = opsloop.run(&["analyze", "--plugin", "nope"]);
    assert_eq!(unknown.status.code(), Some(1), "an unknown plugin is a failure, not a usage error");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no enabled plugin named `nope`"));
}

#[test]
fn plugin_new_makes_a_crate_that_tests_natively_builds_a_component_and_passes_the_check() {
    let opsloop = Opsloop::new();
    let dir = opsloop.path("word-spotter");
    let created = opsloop.ok(&["plugin", "new", "word-spotter", "--dir", dir.to_str().unwrap()]);
    assert!(created.contains("created Rust plugin `word-spotter`"), "{created}");
    // Run inside this checkout: the SDK by version, and the checkout's SDK as its path.
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let sdk = std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk")).unwrap();
    let dependency =
        format!("opsloop-sdk = {{ version = \"{}\", path = \"{}\" }}", env!("CARGO_PKG_VERSION"), sdk.display());
    assert!(manifest.contains(&dependency), "{manifest}");
    // Outside a checkout: the SDK by version only.
    let elsewhere = opsloop.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let outside = Command::new(env!("CARGO_BIN_EXE_opsloop"))
        .args(["plugin", "new", "lone-spotter"])
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    assert!(outside.status.success(), "{}", String::from_utf8_lossy(&outside.stderr));
    let lone = std::fs::read_to_string(elsewhere.join("lone-spotter/Cargo.toml")).unwrap();
    assert!(lone.contains(&format!("opsloop-sdk = \"{}\"", env!("CARGO_PKG_VERSION"))), "{lone}");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-target");
    let cargo = |args: &[&str]| {
        let output =
            Command::new(env!("CARGO")).args(args).current_dir(&dir).env("CARGO_TARGET_DIR", &target).output().unwrap();
        assert!(output.status.success(), "cargo {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    cargo(&["test", "--quiet"]);
    cargo(&["build", "--release", "--target", "wasm32-wasip2"]);
    let component = target.join("wasm32-wasip2/release/word_spotter.wasm");
    let checked = opsloop.ok(&["plugin", "check", component.to_str().unwrap()]);
    assert!(checked.starts_with("word-spotter"), "{checked}");
    assert!(checked.contains("annotates [mentions]") && checked.contains("\nok: "), "{checked}");

    // A name that cannot be a crate, and a directory that is taken, are usage errors.
    assert_eq!(opsloop.run(&["plugin", "new", "Word Spotter"]).status.code(), Some(2));
    let taken = opsloop.run(&["plugin", "new", "word-spotter", "--dir", dir.to_str().unwrap()]);
    assert_eq!(taken.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&taken.stderr).contains("not empty"));
}

/// Bytes that start like an ELF program: what `opsloop import /bin/ls` used to index as 198
/// records of garbage.
fn program_bytes() -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00".to_vec();
    bytes.extend((0..4000u32).map(|n| if n % 50 == 0 { b'\n' } else { (n * 37 % 256) as u8 }));
    bytes
}

/// Issue 21: a binary file is refused whole, with the reason, unless `--format raw` forces it.
#[test]
fn issue_21_a_binary_file_is_refused_unless_the_format_is_raw() {
    let opsloop = Opsloop::new();
    let program = opsloop.path("tool");
    std::fs::write(&program, program_bytes()).unwrap();
    let log = opsloop.path("app.log");
    write_lines(&log, 0..10, false);
    let (stdout, stderr) = opsloop.exits(1, &["import", program.to_str().unwrap(), log.to_str().unwrap()]);
    assert!(
        stdout.contains("imported 10 records") && stdout.contains("failed  "),
        "the good file still lands: {stdout}"
    );
    assert!(stderr.contains("error: ") && stderr.contains("tool: binary content: a NUL byte at byte 7"), "{stderr}");
    assert!(stderr.contains("--format raw"), "says how to force it: {stderr}");
    assert_eq!(stderr.matches("binary content").count(), 1, "said once: {stderr}");
    assert_eq!(opsloop.ok(&["search", "*", "--count"]).trim(), "10");
    let forced = opsloop.ok(&["import", "--format", "raw", program.to_str().unwrap()]);
    assert!(!forced.contains("imported 0 records"), "{forced}");
}

/// Issue 21: a directory import reads the logs in it and skips, listing them, files that are
/// binary or whose extension says they are not logs (`.csv` too, unless `--format` names how
/// to read them).
#[test]
fn issue_21_a_directory_import_skips_files_that_are_not_logs_and_lists_them() {
    use std::io::Write;
    let opsloop = Opsloop::new();
    let dir = opsloop.path("logs");
    std::fs::create_dir_all(&dir).unwrap();
    write_lines(&dir.join("app.log"), 0..20, false);
    let mut zipped = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    zipped.write_all(b"2024-05-01T11:00:00Z INFO zipped line\n").unwrap();
    std::fs::write(dir.join("old.log.gz"), zipped.finish().unwrap()).unwrap();
    std::fs::write(dir.join("labels.csv"), "BlockId,Label\nblk_1,Normal\n").unwrap();
    std::fs::write(dir.join("screenshot.png"), b"\x89PNG\r\n\x1a\n\x00\x00").unwrap();
    std::fs::write(dir.join("backup.zip"), b"PK\x03\x04").unwrap();
    std::fs::write(dir.join("tool"), program_bytes()).unwrap();
    let stdout = opsloop.ok(&["import", dir.to_str().unwrap()]);
    assert!(stdout.contains("imported 21 records from 2 input(s)"), "{stdout}");
    assert!(stdout.contains("skipped 4 file(s) that are not logs:"), "{stdout}");
    for (file, reason) in [
        ("backup.zip", "archive, by its extension"),
        ("labels.csv", "table, by its extension"),
        ("screenshot.png", "image, by its extension"),
        ("tool", "binary content: a NUL byte"),
    ] {
        assert!(stdout.contains(&format!("{}: {reason}", dir.join(file).display())), "{file} in {stdout}");
    }
    let summary: Value =
        serde_json::from_str(&opsloop.ok(&["import", "--summary", "json", dir.to_str().unwrap()])).unwrap();
    assert_eq!(summary["skipped"].as_array().unwrap().len(), 4, "{summary:#}");
    // Named, a format reads the CSV as lines too.
    let named = opsloop.ok(&["import", "--format", "raw", "--source", "tables", dir.to_str().unwrap()]);
    assert!(!named.contains("labels.csv: table"), "{named}");
    assert_eq!(opsloop.ok(&["search", "blk_1", "--count"]).trim(), "1");
}

/// Issue 21: an import with nothing to read is an error, not a quiet success.
#[test]
fn issue_21_an_empty_input_set_is_an_error() {
    let opsloop = Opsloop::new();
    let empty = opsloop.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (_, stderr) = opsloop.exits(1, &["import", empty.to_str().unwrap()]);
    assert!(stderr.contains(&format!("nothing to import: no file in {}", empty.display())), "{stderr}");
    std::fs::write(empty.join("archive.tar"), b"x").unwrap();
    let (_, stderr) = opsloop.exits(1, &["import", empty.to_str().unwrap()]);
    assert!(stderr.contains("skipped 1 that are not logs") && stderr.contains("archive.tar (archive"), "{stderr}");
    let (_, stderr) = opsloop.exits(1, &["import", "--reports", empty.to_str().unwrap()]);
    assert!(stderr.contains("nothing to import"), "{stderr}");
}

/// Issue 21: an import beside a running server says, once, which process holds the store and
/// what to do, instead of tantivy's lock error twice.
#[test]
fn issue_21_import_beside_a_running_server_names_the_process_that_holds_the_store() {
    let opsloop = Opsloop::new();
    let log = opsloop.path("app.log");
    write_lines(&log, 0..10, false);
    opsloop.ok(&["import", log.to_str().unwrap()]);
    let (mut server, _) =
        common::spawn_server(&opsloop.path("data"), &[], &[("OPSLOOP_TOKENS", "admin:a-secret-long-enough-for-serve")]);
    write_lines(&log, 10..20, true);
    let (_, stderr) = opsloop.exits(1, &["import", log.to_str().unwrap()]);
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        stderr.contains(&format!("is in use by another opsloop process (pid {}, `opsloop --data", server.id())),
        "{stderr}"
    );
    assert!(stderr.contains("serve --listen 127.0.0.1:0`)"), "names the command: {stderr}");
    assert!(stderr.contains("POST /api/ingest/logs"), "says what to do: {stderr}");
    assert_eq!(stderr.matches("in use by").count(), 1, "said once: {stderr}");
    assert!(!stderr.contains("LockBusy"), "{stderr}");
    // With the server gone the same import goes through.
    assert!(opsloop.ok(&["import", log.to_str().unwrap()]).contains("imported 10 records"));
}

/// Issue 21: a misspelled `--data` is an error for the commands that read a store; it does
/// not create an empty store and answer from it.
#[test]
fn issue_21_commands_that_read_a_store_refuse_one_that_does_not_exist() {
    let opsloop = Opsloop::new();
    let missing = opsloop.path("dtaa");
    for args in [
        vec!["search", "x"],
        vec!["search", "--reports", "x"],
        vec!["patterns"],
        vec!["similar", "BUG-1"],
        vec!["feedback"],
        vec!["feedback", "ack", "FB-1"],
        vec!["analyze"],
    ] {
        let output =
            Command::new(env!("CARGO_BIN_EXE_opsloop")).arg("--data").arg(&missing).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("no opsloop data in {}", missing.display())), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(!missing.exists(), "{args:?} created the store");
    }
}

/// Issue 21: a search that matches nothing says so in text; JSON stays an empty stream.
#[test]
fn issue_21_a_search_with_no_match_prints_0_records() {
    let opsloop = Opsloop::new();
    let log = opsloop.path("app.log");
    write_lines(&log, 0..5, false);
    opsloop.ok(&["import", log.to_str().unwrap()]);
    assert_eq!(opsloop.ok(&["search", "nowhere"]), "0 records\n");
    assert_eq!(opsloop.ok(&["search", "nowhere", "--format", "json"]), "");
    assert_eq!(opsloop.ok(&["search", "--reports", "nowhere"]), "0 reports\n");
    assert_eq!(opsloop.ok(&["search", "nowhere", "--count"]), "0\n");
}

/// Issue 21: a histogram too fine for its time range is widened to a round width that gives
/// at most 1,000 buckets, and the command says so (it printed 2,535 rows of zeros for `1d`
/// and stopped silently at 100,000 for `1m`).
#[test]
fn issue_21_a_histogram_too_fine_for_its_range_is_widened_and_says_so() {
    let opsloop = Opsloop::new();
    let log = opsloop.path("years.jsonl");
    std::fs::write(
        &log,
        [
            r#"{"ts":"2008-11-09T20:00:00Z","msg":"first"}"#,
            r#"{"ts":"2012-01-01T00:00:00Z","msg":"middle"}"#,
            r#"{"ts":"2015-10-18T18:00:00Z","msg":"last"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    opsloop.ok(&["import", log.to_str().unwrap()]);
    for (asked, used) in [("1d", "7d"), ("1m", "7d")] {
        let output = opsloop.run(&["search", "*", "--histogram", asked]);
        assert!(output.status.success());
        let rows: Vec<Value> =
            String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert!(rows.len() <= 1000 && rows.len() > 300, "{asked}: {} rows", rows.len());
        assert_eq!(rows.iter().map(|row| row["count"].as_u64().unwrap()).sum::<u64>(), 3);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "note: buckets of {asked} would be more than 1000 over the matching records; using {used} buckets"
            )),
            "{stderr}"
        );
    }
    let fits = opsloop.run(&["search", "*", "--histogram", "30d"]);
    assert!(fits.stderr.is_empty(), "a width that fits is used as asked");
}

/// Issue 21: log lines on stderr carry no colour codes when stderr is not a terminal.
#[test]
fn issue_21_no_colour_codes_on_stderr_when_it_is_not_a_terminal() {
    let opsloop = Opsloop::new();
    let (_, stderr) = opsloop.exits(1, &["-v", "import", "/nonexistent/app.log"]);
    assert!(stderr.contains("input skipped"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

/// Issue 21: exit code 2 means a usage error only; a lookup that finds nothing is a failure.
#[test]
fn issue_21_exit_2_is_for_usage_errors_only() {
    let opsloop = Opsloop::new();
    let log = opsloop.path("app.log");
    write_lines(&log, 0..5, false);
    opsloop.ok(&["import", log.to_str().unwrap()]);
    opsloop.exits(1, &["similar", "NOPE"]);
    opsloop.exits(1, &["feedback", "resolve", "FB-nope"]);
    opsloop.exits(1, &["analyze", "--plugin", "nope"]);
    opsloop.exits(2, &["search"]);
    opsloop.exits(2, &["search", "x", "--limit", "lots"]);
    opsloop.exits(2, &["import", "--format", "csv", log.to_str().unwrap()]);
    opsloop.exits(2, &["serve", "--format", "csv"]);
}

/// Issue 21: help texts say what each flag takes.
#[test]
fn issue_21_help_says_what_each_flag_takes() {
    let opsloop = Opsloop::new();
    let import = opsloop.ok(&["import", "--help"]);
    for words in ["directories", "globs", "`-` reads stdin", "--strict", "raw:", "csv:"] {
        assert!(import.contains(words), "import --help lacks {words:?}: {import}");
    }
    let serve = opsloop.ok(&["serve", "--help"]);
    assert!(serve.contains("logfmt") && !serve.contains("csv"), "serve --format takes log formats only: {serve}");
    let feedback = opsloop.ok(&["feedback", "--help"]);
    for words in ["md:", "csv:", "Every item, resolved ones too", "Resolved items whose evidence grew again"] {
        assert!(feedback.contains(words), "feedback --help lacks {words:?}: {feedback}");
    }
    let resolve = opsloop.ok(&["feedback", "resolve", "--help"]);
    assert!(resolve.contains("FB-1a2b3c4d"), "{resolve}");
}

/// Issue 21: `--strict` makes a plugin that failed on some of the data fail the import; without
/// it the records are indexed and the failure named.
#[test]
fn issue_21_strict_makes_a_plugin_failure_fail_the_import() {
    let opsloop = Opsloop::new();
    std::fs::create_dir_all(opsloop.path("data")).unwrap();
    // An output cap no answer of the patterns plugin fits in.
    std::fs::write(opsloop.path("data/opsloop.toml"), "version = 1\n[plugins.limits]\noutput_bytes = 64\n").unwrap();
    let log = opsloop.path("app.log");
    write_lines(&log, 0..50, false);
    let lenient = opsloop.ok(&["import", log.to_str().unwrap()]);
    assert!(lenient.contains("imported 50 records") && lenient.contains("plugin patterns failed"), "{lenient}");
    write_lines(&log, 50..60, true);
    let (_, stderr) = opsloop.exits(1, &["import", "--strict", log.to_str().unwrap()]);
    assert!(stderr.contains("--strict: ") && stderr.contains("plugin `patterns`"), "{stderr}");
    assert!(stderr.contains("nothing read since the last commit was kept"), "{stderr}");
    assert_eq!(opsloop.ok(&["search", "*", "--count"]).trim(), "50", "the failed part is not kept");
    // Once the plugin is fixed, the same command imports what the failed run left.
    std::fs::write(opsloop.path("data/opsloop.toml"), "version = 1\n").unwrap();
    let fixed = opsloop.ok(&["import", "--strict", log.to_str().unwrap()]);
    assert!(fixed.contains("imported 10 records"), "{fixed}");
    assert_eq!(opsloop.ok(&["search", "*", "--count"]).trim(), "60");
    // A plugin that cannot even be loaded fails a strict import before anything is read.
    std::fs::create_dir_all(opsloop.path("data/plugins")).unwrap();
    std::fs::write(opsloop.path("data/plugins/broken.wasm"), b"\0asm not a component").unwrap();
    write_lines(&log, 60..70, true);
    let (_, stderr) = opsloop.exits(1, &["import", "--strict", log.to_str().unwrap()]);
    assert!(
        stderr.contains("--strict: ") && stderr.contains("broken") && stderr.contains("nothing was imported"),
        "{stderr}"
    );
    assert_eq!(opsloop.ok(&["search", "*", "--count"]).trim(), "60");
}

/// Issue 21: an import whose every line is rejected fails (exit 1), so a script notices.
#[test]
fn issue_21_an_import_that_keeps_nothing_fails() {
    let opsloop = Opsloop::new();
    let log = opsloop.path("app.log");
    write_lines(&log, 0..20, false);
    let (stdout, stderr) =
        opsloop.exits(1, &["import", "--pattern", "<Date> <Time> <Level> <Content>", log.to_str().unwrap()]);
    assert!(stdout.contains("imported 0 records"), "{stdout}");
    assert!(stderr.contains("no record was imported: all 20 line(s) were rejected"), "{stderr}");
    // A layout that cannot work is a usage error, said once, before any file is read.
    let (_, stderr) = opsloop.exits(2, &["import", "--pattern", "<Date> <Time> <Oops", log.to_str().unwrap()]);
    assert!(stderr.contains("--pattern: ") && !stderr.contains("app.log"), "{stderr}");
}

/// Issue 21: a level is searched as it was written (`level:error`), though it is stored folded
/// (`ERROR`); a search cut at its limit says how many matched.
#[test]
fn issue_21_levels_are_searched_in_any_case_and_a_cut_list_says_so() {
    let opsloop = Opsloop::new();
    let log = opsloop.path("app.jsonl");
    let lines: String = (0..30)
        .map(|i| {
            let level = if i % 3 == 0 { "error" } else { "info" };
            format!("{{\"ts\":\"2024-05-01T10:00:{i:02}Z\",\"level\":\"{level}\",\"msg\":\"request {i} done\"}}\n")
        })
        .collect();
    std::fs::write(&log, lines).unwrap();
    opsloop.ok(&["import", log.to_str().unwrap()]);
    for query in ["level:error", "level:ERROR", "level:Err"] {
        assert_eq!(opsloop.ok(&["search", query, "--count"]).trim(), "10", "{query}");
    }
    let cut = opsloop.run(&["search", "request", "--limit", "5"]);
    let stderr = String::from_utf8_lossy(&cut.stderr);
    assert!(stderr.contains("the newest 5 of 30 matching records"), "{stderr}");
    let whole = opsloop.run(&["search", "request", "--limit", "0"]);
    assert!(String::from_utf8_lossy(&whole.stderr).is_empty(), "nothing to say when nothing was cut");
}
