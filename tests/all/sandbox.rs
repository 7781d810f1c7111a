//! Hostile plugins are stopped, each with its own error kind, or find nothing where they reach
//! for the host (no files, no environment), and the runtime goes on.

use opsloop::plugin::{PluginError, PluginInstance, PluginLimits, PluginRuntime, RecordBatch, TextColumn};

use crate::util::{test_plugin, test_plugins};

fn limits() -> PluginLimits {
    PluginLimits { timeout_ms: 300, memory_bytes: 64 << 20, output_bytes: 1 << 20, ..PluginLimits::default() }
}

fn batch(messages: &[&str]) -> RecordBatch {
    let mut data = String::new();
    let mut ends = Vec::new();
    for message in messages {
        data.push_str(message);
        ends.push(data.len() as u32);
    }
    let empty = || TextColumn { data: String::new(), ends: Vec::new() };
    RecordBatch {
        len: messages.len() as u32,
        timestamps: Vec::new(),
        levels: empty(),
        sources: empty(),
        messages: TextColumn { data, ends },
        fields: empty(),
    }
}

fn run_hostile(path: &str) -> PluginError {
    run_hostile_counting(path).0
}

/// The error, and how often the plugin asked for each capability it does not have.
fn run_hostile_counting(path: &str) -> (PluginError, std::collections::BTreeMap<&'static str, u64>) {
    let runtime = PluginRuntime::new(limits(), None).unwrap();
    let plugin = runtime.load(path, &test_plugin(path)).unwrap();
    let mut instance = PluginInstance::new(plugin.clone(), Vec::new(), None);
    let error = instance.process_logs(&batch(&["one", "two", "three"])).unwrap_err();
    // The instance is usable again afterwards: the next call gets a fresh instance and fails
    // the same way rather than wedging.
    let again = instance.process_logs(&batch(&["four"])).unwrap_err();
    assert_eq!(error.kind(), again.kind(), "{again}");
    (error, plugin.capability_asks())
}

#[test]
fn an_infinite_loop_is_stopped_at_the_deadline() {
    let error = run_hostile(test_plugins::INFINITE_LOOP);
    assert!(matches!(error, PluginError::Timeout { limit_ms: 300, .. }), "{error}");
    assert!(error.to_string().contains("hostile-infinite-loop"), "{error}");
}

#[test]
fn a_memory_bomb_is_stopped_at_the_cap() {
    let error = run_hostile(test_plugins::MEMORY_BOMB);
    assert!(matches!(error, PluginError::MemoryExceeded { .. }), "{error}");
    assert!(error.to_string().contains("hostile-memory-bomb"), "{error}");
}

#[test]
fn a_panic_is_a_trap_with_the_panic_message() {
    let error = run_hostile(test_plugins::PANIC);
    assert!(matches!(error, PluginError::Trap { .. }), "{error}");
    assert!(error.to_string().contains("gave up on a batch of 3 records"), "{error}");
}

#[test]
fn reading_a_file_finds_no_file_system_and_the_ask_is_counted() {
    let (error, asks) = run_hostile_counting(test_plugins::READ_FILE);
    // Nothing is there: the plugin's own read fails, and it says so.
    assert!(matches!(error, PluginError::Reported { .. }), "{error}");
    assert!(error.to_string().contains("could not read /etc/passwd"), "{error}");
    // The guest's libc asks once per instance; a reported error keeps the instance.
    assert_eq!(asks.get("file system"), Some(&1), "{asks:?}");
}

#[test]
fn reading_the_environment_finds_it_empty_and_the_ask_is_counted() {
    let (error, asks) = run_hostile_counting(test_plugins::READ_ENV);
    assert!(matches!(error, PluginError::Reported { .. }), "{error}");
    assert!(error.to_string().contains("saw 0 vars"), "the host's environment stays out: {error}");
    assert_eq!(asks.get("environment"), Some(&1), "{asks:?}");
}

#[test]
fn a_huge_output_is_refused() {
    let error = run_hostile(test_plugins::HUGE_OUTPUT);
    assert!(matches!(error, PluginError::OutputTooLarge { limit_bytes: 1048576, .. }), "{error}");
}
