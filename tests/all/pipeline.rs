//! Imports through the real pipeline with hostile plugins beside the built-in one: the hostile
//! plugin is stopped and named, the records of its batch are indexed with the other plugins'
//! annotations, and the same process imports and searches normally afterwards.

use opsloop::config::Settings;
use opsloop::data_dir::DataDir;
use opsloop::index::{LogIndex, SearchRequest};
use opsloop::ingest::{Format, ParseOptions};
use opsloop::pipeline::{FindingStore, ImportOptions, ImportSource, ImportSummary, PluginSet, import};
use opsloop::plugin::{PluginLimits, PluginRuntime, builtin_plugin};

use crate::util::{test_plugin, test_plugins};

fn limits() -> PluginLimits {
    PluginLimits { timeout_ms: 300, memory_bytes: 64 << 20, output_bytes: 1 << 20, ..PluginLimits::default() }
}

struct Harness {
    _dir: tempfile::TempDir,
    data: DataDir,
    index: LogIndex,
    findings: FindingStore,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("data"));
        let index = LogIndex::open(&data.index_dir()).unwrap();
        let findings = FindingStore::new(data.findings_file());
        Self { _dir: dir, data, index, findings }
    }

    fn import(&self, plugins: &mut PluginSet, name: &str, lines: &[String]) -> ImportSummary {
        self.import_as(Format::Raw, plugins, name, lines)
    }

    fn import_as(&self, format: Format, plugins: &mut PluginSet, name: &str, lines: &[String]) -> ImportSummary {
        let bytes = lines.join("\n").into_bytes();
        let options = ImportOptions {
            parse: ParseOptions { format, ..ParseOptions::default() },
            batch_size: 64,
            ..ImportOptions::default()
        };
        let source = ImportSource::Bytes { name: name.to_string(), bytes };
        import(&self.index, plugins, &self.findings, vec![source], &options, None).unwrap()
    }

    fn count(&self, query: &str) -> usize {
        self.index.count(&SearchRequest { query: query.into(), ..SearchRequest::default() }).unwrap()
    }
}

fn lines(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix} request {i} served in {} ms", i * 7 % 300)).collect()
}

fn plugins_with(hostile_path: &str) -> PluginSet {
    let runtime = PluginRuntime::new(limits(), None).unwrap();
    let patterns = runtime.load("patterns", builtin_plugin("patterns").unwrap()).unwrap();
    let bad = runtime.load(hostile_path, &test_plugin(hostile_path)).unwrap();
    PluginSet::from_plugins(runtime, vec![patterns, bad])
}

#[test]
fn every_hostile_plugin_is_named_and_its_records_are_indexed_anyway() {
    let cases = [
        (test_plugins::INFINITE_LOOP, "hostile-infinite-loop", "timeout"),
        (test_plugins::MEMORY_BOMB, "hostile-memory-bomb", "memory"),
        (test_plugins::PANIC, "hostile-panic", "trap"),
        (test_plugins::READ_FILE, "hostile-read-file", "reported"),
        (test_plugins::READ_ENV, "hostile-read-env", "reported"),
        (test_plugins::HUGE_OUTPUT, "hostile-huge-output", "output"),
    ];
    for (path, name, kind) in cases {
        let harness = Harness::new();
        let mut plugins = plugins_with(path);
        let summary = harness.import(&mut plugins, "first.log", &lines("alpha", 100));
        assert_eq!(summary.records, 100, "{name}");
        let failure = summary
            .plugin_failures
            .iter()
            .find(|f| f.plugin == name)
            .unwrap_or_else(|| panic!("{name} not reported: {:?}", summary.plugin_failures));
        assert_eq!(failure.kind, kind, "{name}: {}", failure.message);
        assert_eq!(failure.count, 2, "{name}: both batches of 64 failed");
        assert!(failure.message.contains(name), "{}", failure.message);
        // Every record of the batches the hostile plugin saw is indexed, with the pattern
        // plugin's annotation.
        assert_eq!(harness.count("alpha"), 100, "{name}");
        let hits = harness
            .index
            .search(&SearchRequest { query: "alpha".into(), limit: Some(5), ..SearchRequest::default() })
            .unwrap();
        assert!(hits.iter().all(|hit| hit.record.annotations.contains_key("pattern")), "{name}");
        assert!(hits.iter().all(|hit| !hit.record.annotations.contains_key("stolen")), "{name}");
        // The same process goes on importing and searching.
        let again = harness.import(&mut plugins, "second.log", &lines("beta", 10));
        assert_eq!(again.records, 10);
        assert_eq!(harness.count("beta"), 10);
        assert_eq!(harness.count("request"), 110);
    }
}

#[test]
fn a_hostile_plugin_in_the_plugins_directory_is_loaded_reported_and_survived() {
    let harness = Harness::new();
    let plugins_dir = harness.data.plugins_dir(None);
    std::fs::create_dir_all(&plugins_dir).unwrap();
    std::fs::write(plugins_dir.join("panic.wasm"), test_plugin(test_plugins::PANIC)).unwrap();
    std::fs::write(plugins_dir.join("garbage.wasm"), b"\0asm not really").unwrap();
    let (mut plugins, errors) = PluginSet::load(&harness.data, &Settings::default()).unwrap();
    let names: Vec<&str> = plugins.plugins().iter().map(|plugin| plugin.name()).collect();
    assert_eq!(names, ["patterns", "tickets", "hostile-panic"]);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind(), "compile");
    assert!(errors[0].to_string().contains("garbage.wasm"), "{}", errors[0]);
    let summary = harness.import(&mut plugins, "app.log", &lines("gamma", 30));
    assert_eq!(summary.records, 30);
    assert_eq!(summary.plugin_failures.len(), 1);
    assert!(summary.plugin_failures[0].message.contains("gave up on a batch of 30 records"));
}

#[test]
fn a_plugin_writes_only_its_own_declared_keys_and_records_keep_the_true_annotations() {
    let harness = Harness::new();
    let plugins_dir = harness.data.plugins_dir(None);
    std::fs::create_dir_all(&plugins_dir).unwrap();
    std::fs::write(plugins_dir.join("claims.wasm"), test_plugin(test_plugins::CLAIMS_PATTERN)).unwrap();
    std::fs::write(plugins_dir.join("shadow.wasm"), test_plugin(test_plugins::SHADOW_PATTERN)).unwrap();
    let (mut plugins, errors) = PluginSet::load(&harness.data, &Settings::default()).unwrap();
    // Declaring the miner's key is refused at load, naming the key and its owner.
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind(), "contract");
    let refusal = errors[0].to_string();
    assert!(
        refusal.contains("claims.wasm") && refusal.contains("`pattern`, which belongs to the plugin `patterns`"),
        "{refusal}"
    );
    // Writing it without declaring it is refused per batch, as an error of its own kind.
    let summary = harness.import(&mut plugins, "app.log", &lines("delta", 40));
    assert_eq!(summary.records, 40);
    let failure = summary.plugin_failures.iter().find(|f| f.plugin == "hostile-shadow-pattern").expect("reported");
    assert_eq!(failure.kind, "undeclared", "{}", failure.message);
    assert!(
        failure.message.contains("wrote the annotation `pattern`") && failure.message.contains("declares: mentions")
    );
    let hits = harness
        .index
        .search(&SearchRequest { query: "delta".into(), limit: Some(40), ..SearchRequest::default() })
        .unwrap();
    assert_eq!(hits.len(), 40);
    for hit in &hits {
        let pattern = hit.record.annotations.get("pattern").map(|value| value.to_string());
        assert!(pattern.as_deref().is_some_and(|id| id != "SHADOW" && id != "CLAIMED"), "{pattern:?}");
        assert!(!hit.record.annotations.contains_key("mentions"), "the refused answer is refused whole");
    }
}

#[test]
fn plugin_settings_that_reach_no_plugin_are_named_and_the_example_file_has_none() {
    let harness = Harness::new();
    let settings = Settings::parse(
        std::path::Path::new("t.toml"),
        "version = 1\n[plugins.config.patern]\nsimilarity = \"0.6\"\n[plugins.config.patterns]\nsimilarty = \"0.6\"\n",
    )
    .unwrap();
    let (plugins, _) = PluginSet::load(&harness.data, &settings).unwrap();
    let doubts = plugins.config_doubts();
    assert_eq!(doubts.len(), 2, "{doubts:#?}");
    assert!(
        doubts[0].contains("[plugins.config.patern]: no plugin named `patern` is loaded (loaded: patterns, tickets)")
    );
    assert!(
        doubts[1].contains("`similarty`: the plugin does not take this key (it takes: similarity,"),
        "{}",
        doubts[1]
    );

    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("opsloop.example.toml");
    let settings = Settings::parse(&example, &std::fs::read_to_string(&example).unwrap()).unwrap();
    let (plugins, _) = PluginSet::load(&harness.data, &settings).unwrap();
    assert_eq!(plugins.config_doubts(), Vec::<String>::new());
}

#[test]
fn disabled_plugins_do_not_run() {
    let harness = Harness::new();
    let settings =
        Settings::parse(std::path::Path::new("t.toml"), "version = 1\n[plugins]\ndisabled = [\"patterns\"]\n").unwrap();
    let (plugins, errors) = PluginSet::load(&harness.data, &settings).unwrap();
    assert!(errors.is_empty());
    let names: Vec<&str> = plugins.plugins().iter().map(|plugin| plugin.name()).collect();
    assert_eq!(names, ["tickets"]);
}

#[test]
fn pattern_ids_are_stable_across_imports_through_saved_state() {
    let harness = Harness::new();
    let pattern_of_first = |harness: &Harness| {
        let hits = harness.index.search(&SearchRequest { query: "served".into(), ..SearchRequest::default() }).unwrap();
        let mut ids: Vec<String> = hits.iter().map(|hit| hit.record.annotations["pattern"].to_string()).collect();
        ids.dedup();
        ids
    };
    {
        let (mut plugins, _) = PluginSet::load(&harness.data, &Settings::default()).unwrap();
        harness.import(&mut plugins, "app.log", &lines("delta", 50));
    }
    let first_ids = pattern_of_first(&harness);
    assert_eq!(first_ids.len(), 1, "{first_ids:?}");
    // A new process (a new plugin set) resumes from the saved state: same template, same id,
    // even though the new lines alone would start a fresh pattern.
    let (mut plugins, _) = PluginSet::load(&harness.data, &Settings::default()).unwrap();
    harness.import(&mut plugins, "app.log", &["delta request 999 served in 1 ms".to_string()]);
    let ids = pattern_of_first(&harness);
    assert_eq!(ids, first_ids);
    assert!(harness.data.plugin_state_dir().join("patterns").read_dir().unwrap().count() >= 1);
}

#[test]
fn pattern_stats_count_records_by_hour_and_a_late_error_is_the_rising_one() {
    let harness = Harness::new();
    let (mut plugins, _) = PluginSet::load(&harness.data, &Settings::default()).unwrap();
    let mut lines = Vec::new();
    for hour in 0..4 {
        for minute in 0..10 {
            lines.push(format!("2026-03-02T{hour:02}:{minute:02}:00Z INFO cache refresh took {} ms", minute * 3));
        }
    }
    for minute in 0..6 {
        lines.push(format!("2026-03-02T03:{minute:02}:30Z ERROR upstream timeout after {} ms", 5000 + minute));
    }
    harness.import_as(Format::Auto, &mut plugins, "app.log", &lines);
    let patterns = harness.index.patterns(None).unwrap();
    let by_template = |words: &str| patterns.iter().find(|p| p.template.contains(words)).expect(words).clone();
    let (refresh, timeout) = (by_template("cache refresh"), by_template("upstream timeout"));
    let hour = |h: i64| (1_772_409_600_000 + h * 3_600_000) / 3_600_000; // 2026-03-02T00 onwards
    assert_eq!(refresh.volume, (0..4).map(|h| (hour(h), 10)).collect(), "{refresh:?}");
    assert_eq!(timeout.volume, [(hour(3), 6)].into_iter().collect(), "{timeout:?}");
    let events = |p: &opsloop::index::PatternStats| -> Vec<(i64, u64)> {
        p.volume.iter().map(|(&h, &n)| (h * 3_600_000, n)).collect()
    };
    let newest = timeout.last_seen_ms.max(refresh.last_seen_ms);
    use opsloop::feedback::items::trend;
    assert_eq!(trend(&events(&timeout), newest), 1.0, "only in the newest hour: rising");
    assert_eq!(trend(&events(&refresh), newest), 0.0, "steady");
}

#[test]
fn compiled_plugins_are_cached_on_disk_and_a_bad_cache_entry_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let wasm = builtin_plugin("patterns").unwrap();
    let runtime = PluginRuntime::new(limits(), Some(cache.clone())).unwrap();
    runtime.load("patterns", wasm).unwrap();
    let entries: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|entry| entry.unwrap().path()).collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].extension().unwrap(), "cwasm");
    // A second engine with the same configuration reuses the artifact.
    let runtime = PluginRuntime::new(limits(), Some(cache.clone())).unwrap();
    let modified = std::fs::metadata(&entries[0]).unwrap().modified().unwrap();
    runtime.load("patterns", wasm).unwrap();
    assert_eq!(std::fs::metadata(&entries[0]).unwrap().modified().unwrap(), modified);
    // A corrupt artifact is discarded and rebuilt, not trusted.
    std::fs::write(&entries[0], b"not an artifact").unwrap();
    let plugin = runtime.load("patterns", wasm).unwrap();
    assert_eq!(plugin.name(), "patterns");
    assert!(std::fs::metadata(&entries[0]).unwrap().len() > 1000);
}
