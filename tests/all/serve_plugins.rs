//! Plugins under `opsloop serve`: a plugin file dropped into the plugins directory starts
//! running without a restart; a looping one is stopped at its deadline and reported while
//! the records are indexed anyway (and while it holds the writer up, ingest beyond the
//! pending-records bound is refused); a file that does not load is reported and the version
//! that ran before goes on. Over real HTTP on loopback, a looping plugin neither delays an
//! acknowledgement past its deadline nor makes a retried `Idempotency-Key` store twice, and is
//! suspended after repeated timeouts.

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

/// Issue 22: a looping plugin in the plugins folder once made ingest answer 503 at 30 s and
/// index the records anyway, so a client that retried got duplicates. Now, over real HTTP on
/// loopback: every request is answered within its deadline, 200 (in the write-ahead log) or a
/// refusal with nothing written; retries with the same `Idempotency-Key` store nothing twice;
/// the plugin is suspended after 3 timeouts in a row and `/api/plugins` and the metrics say so.
#[test]
fn with_a_looping_plugin_every_ingest_is_answered_in_time_and_a_retried_key_is_stored_once() {
    const TOKEN: &str = "looping-plugin-token-0123";
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::write(dir.path().join("plugins/looper.wasm"), test_plugin(test_plugins::INFINITE_LOOP)).unwrap();
    let mut settings = Settings::default();
    settings.serve.tokens = vec![TokenSetting { name: "t".into(), token: TOKEN.into(), role: Role::Admin }];
    settings.plugins.limits.timeout_ms = 1000;
    settings.serve.request_timeout_ms = 3000;
    settings.serve.max_pending_records = 20;
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(opsloop::serve::serve(
            &data,
            &settings,
            &ServeOptions { listen: Some("127.0.0.1:0".into()), ..ServeOptions::default() },
            move |address, _syslog: &[String]| address_tx.send(address).unwrap(),
            async move {
                let _ = stop_rx.await;
            },
        ))
    });
    let base = format!("http://{}", address_rx.recv_timeout(Duration::from_secs(60)).unwrap());
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let post = |batch: usize| {
        let body: String = (0..5).map(|line| format!("looping batch{batch} line {line}\n")).collect();
        let started = Instant::now();
        let mut response = agent
            .post(&format!("{base}/api/ingest/logs?format=raw&source=loop{batch}"))
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .header("Idempotency-Key", &format!("batch-{batch}"))
            .send(body)
            .unwrap();
        let took = started.elapsed();
        let status = response.status().as_u16();
        let answer: serde_json::Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        (status, answer, took)
    };
    // Ten requests at once, then each retried twice one after the other, as a client that
    // heard nothing would.
    let mut stored = std::collections::BTreeSet::new();
    let mut answers = Vec::new();
    for round in 0..3 {
        let results: Vec<_> = if round == 0 {
            std::thread::scope(|scope| {
                let posts: Vec<_> = (0..10).map(|batch| scope.spawn(move || (batch, post(batch)))).collect();
                posts.into_iter().map(|post| post.join().unwrap()).collect()
            })
        } else {
            (0..10)
                .map(|batch| {
                    if !stored.contains(&batch) {
                        // As `Retry-After: 1` asks.
                        std::thread::sleep(Duration::from_secs(1));
                    }
                    (batch, post(batch))
                })
                .collect()
        };
        for (batch, (status, answer, took)) in results {
            assert!(took < Duration::from_millis(3000 + 1500), "round {round} batch {batch} took {took:?}: {answer}");
            match status {
                200 => {
                    stored.insert(batch);
                }
                429 | 503 | 409 => {
                    let code = answer["error"]["code"].as_str().unwrap();
                    assert!(["ingest_busy", "timeout", "idempotency_key_in_flight"].contains(&code), "{answer}");
                }
                other => panic!("round {round} batch {batch}: {other} {answer}"),
            }
            answers.push((round, batch, status, answer["error"]["code"].as_str().unwrap_or("").to_string()));
        }
    }
    eprintln!("answers (round, batch, status): {answers:?}");
    assert_eq!(stored.len(), 10, "every batch is stored once retried one at a time: {answers:?}");
    // Every batch answered 200 at least once is stored exactly once; the others not at all.
    let count = |batch: usize| -> u64 {
        let url = format!("{base}/api/search?q=batch{batch}&limit=1");
        let mut response = agent.get(&url).header("Authorization", &format!("Bearer {TOKEN}")).call().unwrap();
        let page: serde_json::Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        page["total"].as_u64().unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let counts: Vec<u64> = (0..10).map(count).collect();
        let expected: Vec<u64> = (0..10).map(|batch| if stored.contains(&batch) { 5 } else { 0 }).collect();
        if counts == expected {
            break;
        }
        assert!(counts.iter().all(|&n| n == 0 || n == 5), "a batch stored twice or in part: {counts:?}");
        assert!(Instant::now() < deadline, "indexed {counts:?}, acknowledged {expected:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut response =
        agent.get(&format!("{base}/api/plugins")).header("Authorization", &format!("Bearer {TOKEN}")).call().unwrap();
    let status: serde_json::Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    let looper = status["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "hostile-infinite-loop").unwrap();
    assert!(looper["suspended_until"].is_string(), "{looper}");
    assert!(looper["consecutive_timeouts"].as_u64().unwrap() >= 3, "{looper}");
    let mut response =
        agent.get(&format!("{base}/metrics")).header("Authorization", &format!("Bearer {TOKEN}")).call().unwrap();
    let metrics = response.body_mut().read_to_string().unwrap();
    assert!(metrics.contains("opsloop_plugin_suspended{plugin=\"hostile-infinite-loop\"} 1"), "{metrics}");
    stop_tx.send(()).unwrap();
    server.join().unwrap().unwrap();
}
