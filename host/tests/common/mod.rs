//! What several test binaries share: the seeded logs and reports of the feedback tests, a
//! tracker export larger than one plugin call, and starting `opsloop serve` on a free loopback
//! port.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

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
    let mut child = Command::new(env!("CARGO_BIN_EXE_opsloop"))
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let address = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let base = address.trim_end_matches('/').to_string();
    (child, base)
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
