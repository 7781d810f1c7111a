//! Hostile plugins are stopped or denied, each with its own error kind, and the runtime goes on.

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
    let runtime = PluginRuntime::new(limits(), None).unwrap();
    let plugin = runtime.load(path, &test_plugin(path)).unwrap();
    let mut instance = PluginInstance::new(plugin, Vec::new(), None);
    let error = instance.process_logs(&batch(&["one", "two", "three"])).unwrap_err();
    // The instance is usable again afterwards: the next call gets a fresh instance and fails
    // the same way rather than wedging.
    let again = instance.process_logs(&batch(&["four"])).unwrap_err();
    assert_eq!(error.kind(), again.kind(), "{again}");
    error
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
fn reading_a_file_is_denied() {
    let error = run_hostile(test_plugins::READ_FILE);
    assert!(matches!(error, PluginError::Denied { capability: "file system", .. }), "{error}");
}

#[test]
fn reading_the_environment_is_denied() {
    let error = run_hostile(test_plugins::READ_ENV);
    assert!(matches!(error, PluginError::Denied { capability: "environment", .. }), "{error}");
}

#[test]
fn a_huge_output_is_refused() {
    let error = run_hostile(test_plugins::HUGE_OUTPUT);
    assert!(matches!(error, PluginError::OutputTooLarge { limit_bytes: 1048576, .. }), "{error}");
}
