//! What a report's technical content says, normalized so two reports of the same failure match:
//! stack frames without line numbers, addresses or generated names, and error messages masked
//! to templates with the same machinery the log plugin uses ([`opsloop_sdk::mask`]).

/// Frames that identify a stack trace (the top of it).
const FINGERPRINT_FRAMES: usize = 5;

/// Normalizes one stack frame line to `module.function`, or `None` when the line is no frame.
///
/// Java `at com.a.B.run(B.java:12)`, Python `File "x/y.py", line 3, in main`, Rust
/// backtraces `  4: app::db::connect` and `at src/db.rs:10`, GDB/crash reports
/// `#3 0x00007f in nsFoo::Bar (f.cpp:12)`, and JavaScript `at foo (app.js:1:2)` /
/// `foo@app.js:1:2`.
pub fn frame(line: &str) -> Option<String> {
    let line = line.trim();
    let name = if let Some(rest) = line.strip_prefix("at ") {
        // A frame names where it is (`(B.java:12)`, `app.js:1:2`); a line of prose that starts
        // with "at" (`at the moment ...`) does not.
        if !rest.contains('(') && !has_line_number(rest) {
            return None;
        }
        let name = rest.split(['(', ' ']).next()?;
        if name.contains(".rs:") || name.starts_with("src/") {
            return None; // the location line of a Rust frame; its name came on the line before
        }
        name.to_string()
    } else if let Some(rest) = line.strip_prefix("File \"") {
        let (path, after) = rest.split_once('"')?;
        let function = after.rsplit_once(" in ").map(|(_, function)| function.trim())?;
        let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
        format!("{file}:{function}")
    } else if let Some(rest) = line.strip_prefix('#') {
        // `#3 0x00007f in nsFoo::Bar (...)` or `#3 nsFoo::Bar`; a Markdown heading
        // (`## Additional Info`, in many trackers' forms) has no frame number.
        if !rest.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
        let rest = rest.split_once(" in ").map_or(rest, |(_, after)| after);
        rest.split(['(', ' ']).next()?.to_string()
    } else if let Some((number, rest)) = line.split_once(": ") {
        // Rust: `  4: app::db::connect`
        if !number.bytes().all(|b| b.is_ascii_digit()) || number.is_empty() || !rest.contains("::") {
            return None;
        }
        rest.split(' ').next()?.to_string()
    } else if let Some((function, location)) = line.split_once('@') {
        // Firefox JavaScript: `foo@resource://app.js:1:2`
        if function.contains(' ') || !location.contains(':') {
            return None;
        }
        function.to_string()
    } else {
        return None;
    };
    let normalized = normalize_name(&name);
    (!normalized.is_empty()).then_some(normalized)
}

/// Whether `text` has a `:` followed by a digit (`app.js:12`, `B.java:3`).
fn has_line_number(text: &str) -> bool {
    text.as_bytes().windows(2).any(|pair| pair[0] == b':' && pair[1].is_ascii_digit())
}

/// Drops what differs between builds of the same code: hash suffixes (`::h1a2b3c`), lambda and
/// anonymous class numbers (`$$Lambda$12/0x…`, `$1`), addresses and generic arguments.
fn normalize_name(name: &str) -> String {
    let mut name = name.to_string();
    if let Some(at) = name.find("$$Lambda") {
        name.replace_range(at.., "$$Lambda");
    }
    if let Some(at) = name.rfind("::h") {
        if name[at + 3..].bytes().all(|b| b.is_ascii_hexdigit()) && name.len() - at > 8 {
            name.truncate(at);
        }
    }
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            '$' if chars.peek().is_some_and(char::is_ascii_digit) && depth == 0 => {
                out.push('$');
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    if out.starts_with("0x") {
        return String::new();
    }
    out
}

/// The normalized frames of every stack trace in `text`, top first.
pub fn frames(text: &str) -> Vec<String> {
    text.lines().filter_map(frame).collect()
}

/// A fingerprint of the top frames; `None` without a stack trace.
pub fn stack_fingerprint(frames: &[String]) -> Option<String> {
    if frames.len() < 2 {
        return None;
    }
    Some(frames.iter().take(FINGERPRINT_FRAMES).cloned().collect::<Vec<_>>().join(" < "))
}

/// Words that mark a line as an error message.
const ERROR_MARKERS: [&str; 8] =
    ["exception", "error", "panicked at", "failed", "fatal", "traceback", "segmentation fault", "assertion"];

/// Error messages quoted in `text`, masked to templates (`Timeout after <*> ms`), at most a
/// few, each at most 200 bytes.
pub fn error_templates(text: &str) -> Vec<String> {
    let mut templates: Vec<String> = Vec::new();
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        if frame(line).is_some() || !ERROR_MARKERS.iter().any(|marker| lower.contains(marker)) {
            continue;
        }
        let masked = opsloop_sdk::mask::mask(line.trim());
        let words = masked.split(' ').filter(|word| word.chars().any(char::is_alphabetic)).count();
        if words < 3 || masked.len() > 200 || templates.contains(&masked) {
            continue;
        }
        templates.push(masked);
        if templates.len() == 5 {
            break;
        }
    }
    templates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_frames_lose_line_numbers_and_lambda_ids() {
        assert_eq!(frame("\tat com.acme.Db.connect(Db.java:42)").as_deref(), Some("com.acme.Db.connect"));
        assert_eq!(
            frame("at com.acme.Api$$Lambda$12/0x0000000800c0b448.apply(Unknown Source)").as_deref(),
            Some("com.acme.Api$$Lambda")
        );
        assert_eq!(frame("at com.acme.Api$1.run(Api.java:7)").as_deref(), Some("com.acme.Api$.run"));
    }

    #[test]
    fn python_rust_and_native_frames() {
        assert_eq!(frame(r#"  File "/srv/app/db.py", line 12, in connect"#).as_deref(), Some("db.py:connect"));
        assert_eq!(frame("   4: app::db::connect::h0123456789abcdef").as_deref(), Some("app::db::connect"));
        assert_eq!(frame("#3 0x00007f1 in nsDocShell::Load<int> (f.cpp:12)").as_deref(), Some("nsDocShell::Load"));
        assert_eq!(frame("just a sentence: with a colon"), None);
    }

    /// Two unrelated SeaMonkey reports shared the "frame" `#` of their form's `## Additional
    /// Info` heading, which added half the stack weight to their similarity.
    #[test]
    fn markdown_headings_and_prose_are_no_frames() {
        assert_eq!(frame("## Additional Info:"), None);
        assert_eq!(frame("# Steps"), None);
        assert_eq!(frame("at the moment nothing loads"), None);
        assert_eq!(frame("at https://example.org/app.js:12:5").as_deref(), Some("https://example.org/app.js:12:5"));
    }

    #[test]
    fn the_same_trace_from_two_builds_has_one_fingerprint() {
        let first = "java.lang.NullPointerException\n\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)";
        let second = "java.lang.NullPointerException\n\tat a.B.c(B.java:10)\n\tat a.B.d(B.java:20)";
        assert_eq!(stack_fingerprint(&frames(first)), stack_fingerprint(&frames(second)));
        assert!(stack_fingerprint(&frames(first)).is_some());
    }

    #[test]
    fn quoted_errors_become_templates() {
        let body = "I saw this:\nERROR upstream timeout after 5000 ms calling billing\nthanks";
        assert_eq!(error_templates(body), ["ERROR upstream timeout after <*> ms calling billing"]);
    }
}
