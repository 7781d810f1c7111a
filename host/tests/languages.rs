//! Plugins from any language, through the real binary: the `keywords` analyzer written in
//! Python (componentize-py), JavaScript (componentize-js) and Rust (the SDK) is checked, run
//! over a file and imported, and the three must annotate and conclude alike; a new version is
//! backtested against the installed one over stored history, which stays untouched.
//!
//! The Python and JavaScript components are built from `tests/languages/` by the toolchains
//! `.ci/run` installs, and cached under the target directory by a hash of their sources, the
//! contract and the toolchain's version, so a later run reuses them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};

#[path = "../wasm_components.rs"]
mod wasm_components;

#[path = "../../tests/languages/components.rs"]
mod components;
use components::must;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn fixture_cache() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("language-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn python_component() -> &'static PathBuf {
    static COMPONENT: OnceLock<PathBuf> = OnceLock::new();
    COMPONENT.get_or_init(|| components::python_component(&workspace(), &fixture_cache()))
}

fn js_component() -> &'static PathBuf {
    static COMPONENT: OnceLock<PathBuf> = OnceLock::new();
    COMPONENT.get_or_init(|| components::js_component(&workspace(), &fixture_cache(), true))
}

/// `keywords-rust` 1.0.0 and 2.0.0, built by cargo like the other test plugins.
fn rust_components() -> &'static (PathBuf, PathBuf, PathBuf) {
    static COMPONENTS: OnceLock<(PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    COMPONENTS.get_or_init(|| {
        let built = wasm_components::build_components(
            &workspace(),
            &["fixture-keywords", "fixture-keywords-v2", "hostile-shadow-pattern"],
        );
        (built[0].clone(), built[1].clone(), built[2].clone())
    })
}

/// Runs the binary with `data` as its data directory and a private artifact cache.
fn opsloop(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsloop"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("XDG_CACHE_HOME", fixture_cache().join("artifacts"))
        .output()
        .unwrap()
}

/// The keyword the analyzer gives a text: the first of `words` it contains, ASCII case aside.
fn expected_keyword(text: &str, words: &[&str]) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    words.iter().find(|word| lower.contains(*word)).map(|word| word.to_string())
}

const WORDS_V1: [&str; 3] = ["error", "fail", "timeout"];

/// 300 timed lines: timeouts, refusals (a word only version 2.0.0 knows), failures that also
/// say "Error", a non-ASCII "ÉRROR" (no match: ASCII case only) and ordinary requests.
fn sample_log() -> Vec<String> {
    (0..300)
        .map(|n| {
            let message = match n % 10 {
                0 => format!("upstream timeout after {}s", n % 7 + 1),
                3 => format!("connection refused by db-{}", n % 3),
                5 => "request failed: Error 500 from billing".to_string(),
                7 => "ÉRROR ignoré dans le chemin".to_string(),
                _ => format!("served request {n} in 12 ms"),
            };
            format!("2026-03-02T10:{:02}:{:02}Z INFO api: {message}", n / 60, n % 60)
        })
        .collect()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}: {text}"))
}

/// The part of a `plugin run --format json` document that must not depend on the language.
fn outcome(document: &Value) -> (Vec<Value>, Vec<Value>) {
    let annotations = document["items"].as_array().unwrap().iter().map(|item| item["annotations"].clone()).collect();
    (annotations, document["findings"].as_array().unwrap().clone())
}

#[test]
fn python_and_javascript_plugins_check_run_and_import_as_the_rust_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let lines = sample_log();
    let log = dir.path().join("api.log");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let reports = dir.path().join("reports.jsonl");
    let report_texts = [("R-1", "Checkout fails", "the page says error"), ("R-2", "Slow search", "takes long")];
    let report_lines: Vec<String> = report_texts
        .iter()
        .map(|(id, title, body)| serde_json::json!({"id": id, "title": title, "body": body}).to_string())
        .collect();
    std::fs::write(&reports, report_lines.join("\n") + "\n").unwrap();
    let no_data = dir.path().join("no-data");
    let (rust, _, _) = rust_components();
    let components =
        [("keywords-python", python_component()), ("keywords-js", js_component()), ("keywords-rust", rust)];

    let expected: Vec<Option<String>> =
        lines.iter().map(|line| expected_keyword(line.split_once("api: ").unwrap().1, &WORDS_V1)).collect();
    let matched = expected.iter().filter(|keyword| keyword.is_some()).count();
    assert_eq!(matched, 60, "the sample has timeouts, failures with errors, and nothing else that matches");

    let mut outcomes = Vec::new();
    for (name, component) in components {
        let wasm = component.to_str().unwrap();
        let checked = must(opsloop(&no_data, &["plugin", "check", wasm, "--input", log.to_str().unwrap()]), "check");
        assert!(checked.starts_with(name), "{checked}");
        assert!(checked.contains("ok: the first batch of") && checked.contains("annotations [keyword]"), "{checked}");
        assert!(!checked.contains("missing import"), "{checked}");

        let run = must(
            opsloop(&no_data, &["plugin", "run", wasm, "--input", log.to_str().unwrap(), "--format", "json"]),
            "run",
        );
        let document = json(&run);
        assert_eq!(document["plugin"]["name"], name);
        let items = document["items"].as_array().unwrap();
        assert_eq!(items.len(), 300);
        for (item, keyword) in items.iter().zip(&expected) {
            assert_eq!(
                item["annotations"].get("keyword").and_then(Value::as_str),
                keyword.as_deref(),
                "{name}: {item}"
            );
        }
        let kinds: Vec<&str> =
            document["findings"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["keyword-burst", "keyword-total"], "{name}");
        assert_eq!(document["findings"][0]["summary"], format!("{matched} of 300 records mention a keyword"));
        // The host log and stdout both reach the run's log, under the plugin.
        let logs: Vec<(String, String)> = document["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| (line["level"].as_str().unwrap().into(), line["text"].as_str().unwrap().into()))
            .collect();
        assert!(logs.contains(&("info".into(), "keywords: watching 3 words".into())), "{name}: {logs:?}");
        assert!(logs.contains(&("stdout".into(), "keywords init".into())), "{name}: {logs:?}");
        assert!(document["calls"]["process-logs"]["items"] == 300, "{name}: {}", document["calls"]);
        outcomes.push(outcome(&document));

        let on_reports = json(&must(
            opsloop(&no_data, &["plugin", "run", wasm, "--reports", reports.to_str().unwrap(), "--format", "json"]),
            "run --reports",
        ));
        let report_keywords: Vec<Value> =
            on_reports["items"].as_array().unwrap().iter().map(|item| item["annotations"]["keyword"].clone()).collect();
        assert_eq!(report_keywords, [Value::from("error"), Value::Null], "{name}: the title and body are matched");

        // The plugin's own refusal of a setting is named, with the setting.
        let refused =
            opsloop(&no_data, &["plugin", "run", wasm, "--input", log.to_str().unwrap(), "--config", "words= , "]);
        assert_eq!(refused.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&refused.stdout).contains("bad config: words: no keyword given"), "{name}");
    }
    assert_eq!(outcomes[0], outcomes[1], "Python and JavaScript agree");
    assert_eq!(outcomes[0], outcomes[2], "Python and Rust agree");

    // Imported with each language's plugin installed, the records are searchable by the
    // annotation's printed name.
    for (name, component) in [("python", python_component()), ("js", js_component())] {
        let data = dir.path().join(format!("data-{name}"));
        std::fs::create_dir_all(data.join("plugins")).unwrap();
        std::fs::copy(component, data.join(format!("plugins/keywords-{name}.wasm"))).unwrap();
        let imported = must(opsloop(&data, &["import", log.to_str().unwrap()]), "import");
        assert!(imported.contains("imported 300 records"), "{imported}");
        let count = |query: &str| must(opsloop(&data, &["search", query, "--count"]), "search").trim().to_string();
        let timeouts = expected.iter().filter(|keyword| keyword.as_deref() == Some("timeout")).count();
        assert_eq!(count("keyword:timeout"), timeouts.to_string(), "{name}");
        assert_eq!(count("keyword:error"), (matched - timeouts).to_string(), "{name}");
        let hit = json(
            must(opsloop(&data, &["search", "keyword:timeout", "--format", "json", "--limit", "1"]), "search").trim(),
        );
        assert_eq!(hit["keyword"], "timeout", "printed under the name it is searched by: {hit}");
        let any_value = opsloop(&data, &["search", "keyword:*", "--count"]);
        let said = String::from_utf8_lossy(&any_value.stderr);
        assert!(!any_value.status.success() && said.contains("search a value (`KEY:VALUE`)"), "{said}");
    }
}

/// Every file under `dir`, with a hash of its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.insert(path.clone(), Sha256::digest(std::fs::read(&path).unwrap()).to_vec());
            }
        }
    }
    files
}

#[test]
fn a_backtest_names_exactly_what_the_new_version_changes_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let lines = sample_log();
    let log = dir.path().join("api.log");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let (version_1, version_2, failing) = rust_components();
    std::fs::create_dir_all(data.join("plugins")).unwrap();
    std::fs::copy(version_1, data.join("plugins/keywords.wasm")).unwrap();
    must(opsloop(&data, &["import", log.to_str().unwrap()]), "import");

    // The live index, the plugins' state, the findings and the board: none may change.
    let kept = ["index", "reports", "plugin-state", "findings.jsonl", "feedback.json", "board.json"];
    let before: Vec<_> = kept.iter().map(|name| snapshot(&data.join(name))).collect();
    assert!(!before[0].is_empty(), "the index is there to compare");
    let entries = || -> std::collections::BTreeSet<_> {
        std::fs::read_dir(&data).unwrap().map(|entry| entry.unwrap().file_name()).collect()
    };
    let before_root = entries();

    let report = json(&must(
        opsloop(&data, &["plugin", "backtest", version_2.to_str().unwrap(), "--format", "json", "--examples", "3"]),
        "backtest",
    ));
    assert_eq!(report["installed"]["version"], "1.0.0");
    assert_eq!(report["candidate"]["version"], "2.0.0");
    assert_eq!(report["records"], 300);
    let refused_only = lines
        .iter()
        .filter(|line| {
            let message = line.split_once("api: ").unwrap().1;
            expected_keyword(message, &WORDS_V1).is_none() && message.contains("refused")
        })
        .count();
    assert_eq!(refused_only, 30);
    let key = &report["keys"][0];
    assert_eq!(key["key"], "keyword");
    assert_eq!(key["changed"], refused_only as u64, "exactly the records that say `refused`: {key}");
    assert_eq!(key["added"], refused_only as u64);
    assert_eq!(key["removed"], 0);
    for example in key["examples"].as_array().unwrap() {
        assert_eq!(example["installed"], Value::Null);
        assert_eq!(example["candidate"], "refused");
        assert!(example["text"].as_str().unwrap().contains("connection refused"), "{example}");
    }
    // One batch: its burst and the run's total differ; nothing else was concluded.
    let summaries = |list: &str| -> Vec<String> {
        report[list].as_array().unwrap().iter().map(|f| f["summary"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(
        summaries("findings_removed"),
        ["60 of 300 records mention a keyword", "60 records mentioned a keyword"]
    );
    assert_eq!(summaries("findings_added"), ["90 of 300 records mention a keyword", "90 records mentioned a keyword"]);
    assert_eq!(report["findings_same"], 0);
    assert!(report["candidate"]["micros_per_record"].as_f64().unwrap() > 0.0);

    // The same analyzer in another language, as the installed version's replacement: no change.
    let same = must(
        opsloop(&data, &["plugin", "backtest", js_component().to_str().unwrap(), "--against", "keywords-rust"]),
        "backtest against the same analyzer",
    );
    assert!(same.contains("keyword: 0 changed") && same.contains("no difference"), "{same}");

    // --since takes the later records only.
    let later = json(&must(
        opsloop(
            &data,
            &["plugin", "backtest", version_2.to_str().unwrap(), "--since", "2026-03-02T10:04:00Z", "--format", "json"],
        ),
        "backtest --since",
    ));
    assert_eq!(later["records"], 60);
    assert_eq!(later["keys"][0]["changed"], 6);

    // A new version whose every answer is refused is a failure, said first, not "lost values".
    let broken = opsloop(&data, &["plugin", "backtest", failing.to_str().unwrap(), "--against", "keywords-rust"]);
    let said = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{said}");
    let failure = said.find("the new version failed on").expect("the failure is said");
    assert!(failure < said.find("changed (").unwrap_or(usize::MAX), "before the differences: {said}");

    let unknown = opsloop(&data, &["plugin", "backtest", version_2.to_str().unwrap(), "--against", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no installed plugin named `nope`"));

    let after: Vec<_> = kept.iter().map(|name| snapshot(&data.join(name))).collect();
    assert_eq!(before, after, "the live index, state, findings and board are byte-identical");
    assert_eq!(entries(), before_root, "the scratch copy is gone");
}

#[test]
fn plugin_check_names_imports_the_host_does_not_provide_before_compiling() {
    let dir = tempfile::tempdir().unwrap();
    // componentize-js with its default features imports wasi:http, which plugins do not get.
    let with_http = components::js_component(&workspace(), &fixture_cache(), false);
    let checked = opsloop(&dir.path().join("data"), &["plugin", "check", with_http.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&checked.stdout);
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert_eq!(checked.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("missing import: wasi:http/types@"), "{stdout}");
    assert!(stderr.contains("imports what the host does not provide: wasi:http/"), "{stderr}");
    assert!(stderr.contains("docs/plugins.md"), "{stderr}");

    let core_module = dir.path().join("core.wasm");
    std::fs::write(&core_module, b"\0asm\x01\0\0\0").unwrap();
    let refused = opsloop(&dir.path().join("data"), &["plugin", "check", core_module.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("core WebAssembly module, not a component"));
}

#[test]
fn python_and_javascript_templates_build_offline_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "connect to db timed out\nall good\nread timed out after 3s\n").unwrap();
    let data = dir.path().join("data");
    for language in ["python", "js"] {
        let name = format!("demo-{language}");
        let project = dir.path().join(&name);
        let created = must(
            opsloop(&data, &["plugin", "new", &name, "--lang", language, "--dir", project.to_str().unwrap()]),
            "new",
        );
        assert!(created.contains(&format!("plugin `{name}`")) && created.contains("sh build.sh"), "{created}");
        assert_eq!(
            std::fs::read_to_string(project.join("wit/plugin.wit")).unwrap(),
            std::fs::read_to_string(workspace().join("wit/plugin.wit")).unwrap(),
            "the template carries the contract"
        );
        if language == "js" {
            // The toolchain the template pins, as `.ci/run` installed it: no download here.
            std::os::unix::fs::symlink(
                workspace().join("host/tests/clients/node_modules"),
                project.join("node_modules"),
            )
            .unwrap();
        }
        must(Command::new("sh").arg("build.sh").current_dir(&project).output().unwrap(), "build.sh");
        let component = project.join(format!("{name}.wasm"));
        let run = json(&must(
            opsloop(
                &data,
                &["plugin", "run", component.to_str().unwrap(), "--input", log.to_str().unwrap(), "--format", "json"],
            ),
            "run",
        ));
        let tagged: Vec<Value> =
            run["items"].as_array().unwrap().iter().map(|item| item["annotations"]["timeout"].clone()).collect();
        assert_eq!(tagged, [Value::from("yes"), Value::Null, Value::from("yes")], "{language}: {run}");
    }
}
