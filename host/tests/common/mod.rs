//! What several test binaries share: the seeded logs and reports of the feedback tests, a
//! tracker export larger than one plugin call, and starting `opsloop serve` on a free loopback
//! port, with a data directory naming three tokens, and calling it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "processes.rs"]
mod processes;
#[allow(unused_imports)]
pub use processes::{
    Daemon, free_port, installed, seaweed_ports, spawn_announcing, start_nats, start_seaweed, wait_for,
};

/// Logs with an error that starts after normal traffic, in JSON lines from `start_minute`.
pub fn service_log(start_minute: u32, minutes: u32, with_errors: bool) -> String {
    let mut lines = Vec::new();
    for minute in start_minute..start_minute + minutes {
        for n in 0..20 {
            lines.push(format!(
                r#"{{"ts":"2026-03-02T{:02}:{:02}:{:02}Z","level":"INFO","msg":"GET /api/items/{} 200 in {} ms"}}"#,
                minute / 60,
                minute % 60,
                n,
                n * 7 + minute,
                n + 3
            ));
        }
        if with_errors {
            for n in 0..5 {
                lines.push(format!(
                    r#"{{"ts":"2026-03-02T{:02}:{:02}:{:02}Z","level":"ERROR","msg":"upstream timeout after {} ms calling billing"}}"#,
                    minute / 60,
                    minute % 60,
                    30 + n,
                    5000 + n
                ));
            }
        }
    }
    lines.join("\n") + "\n"
}

/// Two reports quoting the upstream timeout of [`service_log`], and two about dark mode.
pub const BILLING_AND_DARK_MODE_REPORTS: [&str; 4] = [
    r#"{"id":"BUG-1","title":"Checkout fails","body":"Paying fails every time. The console shows:\nERROR upstream timeout after 5003 ms calling billing","created":"2026-03-02T01:10:00Z","reporter":"ana"}"#,
    r#"{"id":"BUG-2","title":"Cannot pay for my order","body":"I get an error, support said: upstream timeout after 5001 ms calling billing","created":"2026-03-02T01:20:00Z","reporter":"bo"}"#,
    r#"{"id":"BUG-3","title":"Dark mode sidebar is white","body":"the sidebar stays white in dark mode","created":"2026-03-02T01:00:00Z","reporter":"cy"}"#,
    r#"{"id":"BUG-4","title":"Sidebar white in dark mode","body":"dark mode: the sidebar is white","created":"2026-03-02T01:05:00Z","reporter":"di"}"#,
];

/// Starts `opsloop serve` on a free loopback port over `data`; the child and its base URL.
pub fn spawn_server(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let (child, line) = spawn_server_announcing(data, extra, env);
    let address = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (child, address.trim_end_matches('/').to_string())
}

/// Starts `opsloop serve` like [`spawn_server`]; the child and the line it announced itself
/// with (its addresses: HTTP, and syslog when asked for).
pub fn spawn_server_announcing(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    spawn_announcing(
        Command::new(env!("CARGO_BIN_EXE_opsloop"))
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .envs(env.iter().copied()),
    )
}

/// A tracker export of `total` JSON-lines reports, listed newest first, one a minute: `A`
/// (an error with a stack trace) and `B` (a checkout fault) first; `C`, at minute 1,200, is
/// like both and merges their groups; `D`, at minute 1,300, is a duplicate of `A`; the rest
/// (`F<minute>`) are each made of words no other report has.
pub fn tracker_reports(total: usize) -> Vec<String> {
    let trace = r"java.lang.IllegalStateException: pool exhausted\n at db.Pool.take(Pool.java:1)\n at db.Repo.load(Repo.java:2)";
    let filed =
        |minute: usize| format!("2024-01-{:02}T{:02}:{:02}:00Z", 1 + minute / 1440, minute % 1440 / 60, minute % 60);
    // A word of letters only (numbers are not terms), different for every filler report.
    let word = |mut n: usize| {
        let mut word = String::from("w");
        loop {
            word.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
            if n == 0 {
                break word;
            }
        }
    };
    let mut lines: Vec<String> = (0..total)
        .map(|minute| match minute {
            0 => format!(r#"{{"id":"A","title":"Orders page fails to load","body":"{trace}","created":"{}"}}"#, filed(minute)),
            1 => format!(
                r#"{{"id":"B","title":"Checkout spinner never stops after paying","body":"the spinner keeps turning","created":"{}"}}"#,
                filed(minute)
            ),
            1200 => format!(
                r#"{{"id":"C","title":"Checkout spinner never stops after paying","body":"the spinner keeps turning\n{trace}","created":"{}"}}"#,
                filed(minute)
            ),
            1300 => format!(r#"{{"id":"D","title":"Orders page fails to load again","body":"{trace}","created":"{}"}}"#, filed(minute)),
            _ => format!(
                r#"{{"id":"F{minute}","title":"{} {}","body":"{}","created":"{}"}}"#,
                word(minute),
                word(minute + total),
                word(minute + 2 * total),
                filed(minute)
            ),
        })
        .collect();
    lines.reverse();
    lines
}

pub const ADMIN: &str = "admin-secret-0123456789";
pub const READER: &str = "reader-secret-0123456789";
pub const INGESTER: &str = "ingest-secret-0123456789";

/// A data directory with a config that names the three tokens.
pub struct DataDir {
    pub dir: tempfile::TempDir,
}

impl DataDir {
    pub fn new(serve_table: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
            .create(dir.path().join("data"))
            .unwrap();
        let config = format!(
            "version = 1\n[plugins.config.patterns]\nbaseline = \"500\"\n[serve]\n{serve_table}\n\
             [[serve.tokens]]\nname = \"admin\"\ntoken = \"{ADMIN}\"\nrole = \"admin\"\n\
             [[serve.tokens]]\nname = \"dashboard\"\ntoken = \"{READER}\"\nrole = \"read\"\n\
             [[serve.tokens]]\nname = \"shipper\"\ntoken = \"{INGESTER}\"\nrole = \"ingest\"\n"
        );
        std::fs::write(dir.path().join("data/opsloop.toml"), config).unwrap();
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn data(&self) -> PathBuf {
        self.path("data")
    }
}

/// A running `opsloop serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(data: &Path, extra: &[&str]) -> Self {
        let (child, base) = spawn_server(data, extra, &[]);
        Self { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, and the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not stop within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// Calls the server; the status and the body (JSON when it parses, else a string).
pub fn call(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> (u16, Value) {
    let agent = agent();
    let mut response = match (method, body) {
        ("GET", _) => {
            let mut request = agent.get(url);
            if let Some(token) = token {
                request = request.header("Authorization", &format!("Bearer {token}"));
            }
            request.call().unwrap()
        }
        (_, body) => {
            let mut request = agent.post(url);
            if let Some(token) = token {
                request = request.header("Authorization", &format!("Bearer {token}"));
            }
            request.send(body.unwrap_or("")).unwrap()
        }
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error body: {body}"))
}

/// The messages of every record `query` finds.
pub fn messages(server: &Server, query: &str) -> Vec<String> {
    hits(server, query).iter().map(|hit| hit["message"].as_str().unwrap().to_string()).collect()
}

/// Every record `query` finds, as the search API answers them, page after page.
pub fn hits(server: &Server, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = server.url(&format!("/api/search?q={}&limit=500", urlencode(query)));
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let (status, page) = call("GET", &url, Some(READER), None);
        assert_eq!(status, 200, "{page}");
        all.extend(page["hits"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return all,
        }
    }
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Posts `body` (already encoded as `encoding` says) and returns the status and the JSON.
pub fn post_bytes(server: &Server, path: &str, body: &[u8], headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = agent().post(&server.url(path)).header("Authorization", &format!("Bearer {INGESTER}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.send(body).unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().with_config().limit(64 << 20).read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Whether a GET of `url` answers 2xx.
pub fn ready(url: &str) -> bool {
    agent().get(url).call().is_ok_and(|response| response.status().is_success())
}
