//! Plugins under `opsloop serve`: a plugin file dropped into the plugins directory starts
//! running without a restart; a looping one is stopped at its deadline and reported while
//! the records are indexed anyway (and while it holds the writer up, ingest beyond the
//! pending-records bound is refused); a file that does not load is reported and the version
//! that ran before goes on.

use std::time::{Duration, Instant};

use opsloop::config::{Role, Settings, TokenSetting};
use opsloop::data_dir::DataDir;
use opsloop::serve::{CommitMode, PluginStatus, QueueError, ServeOptions, Service, Work};

use crate::util::{test_plugin, test_plugins};

fn status(service: &Service) -> PluginStatus {
    service.state.ingestor.status.read().unwrap().clone()
}

fn wait_until(service: &Service, what: &str, done: impl Fn(&PluginStatus) -> bool) -> PluginStatus {
    let started = Instant::now();
    loop {
        let now = status(service);
        if done(&now) {
            return now;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "waited for {what}: {now:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn names(status: &PluginStatus) -> Vec<String> {
    status.plugins.iter().map(|plugin| plugin.name.clone()).collect()
}

fn ingest(service: &Service, message: &str) {
    let records = vec![opsloop::ingest::Record::new(
        "svc",
        message.to_string(),
        opsloop::ingest::Origin { file: "test".into(), line: 1 },
    )];
    let done =
        service.state.ingestor.try_submit(Work::Logs { records, checkpoint: None, commit: CommitMode::Force }, 1);
    done.unwrap().blocking_recv().unwrap().unwrap();
}

#[test]
fn plugin_files_load_live_and_a_bad_one_leaves_the_running_version() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    let mut settings = Settings::default();
    settings.serve.tokens =
        vec![TokenSetting { name: "t".into(), token: "serve-plugins-token-0123".into(), role: Role::Admin }];
    settings.plugins.limits.timeout_ms = 300;
    settings.serve.max_pending_records = 10;
    let service = Service::start(&data, &settings, &ServeOptions::default()).unwrap();
    let plugins = dir.path().join("plugins");
    assert_eq!(names(&status(&service)), ["patterns", "tickets"]);

    std::fs::write(plugins.join("noop.wasm"), test_plugin(test_plugins::NOOP)).unwrap();
    let loaded = wait_until(&service, "the noop plugin", |s| names(s).contains(&"noop".to_string()));
    assert!(loaded.load_errors.is_empty(), "{loaded:?}");

    std::fs::write(plugins.join("looper.wasm"), test_plugin(test_plugins::INFINITE_LOOP)).unwrap();
    wait_until(&service, "the looping plugin", |s| names(s).contains(&"hostile-infinite-loop".to_string()));
    ingest(&service, "payment accepted for order 17");
    let after = status(&service);
    let looper = after.plugins.iter().find(|p| p.name == "hostile-infinite-loop").unwrap();
    assert_eq!(looper.errors, 1, "{after:?}");
    assert!(looper.last_error.as_deref().unwrap().starts_with("timeout"), "{looper:?}");
    // While the writer is held up by the looping plugin, what is queued counts against the
    // pending-records bound: more ingest is refused rather than buffered.
    let batch = |n: usize| {
        let records = (0..n)
            .map(|i| {
                opsloop::ingest::Record::new(
                    "svc",
                    format!("queued {i}"),
                    opsloop::ingest::Origin { file: "q".into(), line: i as u64 + 1 },
                )
            })
            .collect();
        Work::Logs { records, checkpoint: None, commit: CommitMode::Auto }
    };
    let first = service.state.ingestor.try_submit(batch(8), 8).unwrap();
    let second = service.state.ingestor.try_submit(batch(8), 8);
    assert!(matches!(second, Err(QueueError::Busy(_))), "the second batch was queued beyond the bound");
    first.blocking_recv().unwrap().unwrap();
    assert!(matches!(service.state.ingestor.try_submit(batch(11), 11), Err(QueueError::TooLarge { .. })));

    // The host went on: the record is indexed with the patterns plugin's annotation.
    let hits = service
        .state
        .logs
        .search(&opsloop::index::SearchRequest { query: "payment".into(), ..Default::default() })
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].record.annotations.contains_key("pattern"));

    // A broken version of the noop file: reported, and noop keeps running.
    std::fs::write(plugins.join("noop.wasm"), b"\0asm\x01\0\0\0 torn").unwrap();
    let broken = wait_until(&service, "the load error", |s| !s.load_errors.is_empty());
    assert!(broken.load_errors[0].file.ends_with("noop.wasm"), "{broken:?}");
    assert!(names(&broken).contains(&"noop".to_string()));
    service.stop();
}
