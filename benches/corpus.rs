//! Benchmark corpora built from the bundled Loghub 2k samples: their raw lines repeated with
//! the numbers varied, so a miner cannot just memorize the sample.

// Shared by several benchmarks through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::path::Path;

/// The 8 Loghub systems in `tests/data/loghub2k`.
pub const SYSTEMS: &[&str] = &["HDFS", "Hadoop", "Spark", "Windows", "Linux", "HealthApp", "OpenSSH", "Mac"];

/// `count` raw log lines cycling through the samples; each pass rewrites every digit run with
/// a different number.
pub fn loghub_lines(count: usize) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/loghub2k");
    let mut base = Vec::new();
    for system in SYSTEMS {
        let text = std::fs::read_to_string(root.join(system).join(format!("{system}_2k.log")))
            .unwrap_or_else(|error| panic!("read the {system} sample: {error}"));
        base.extend(text.lines().map(str::to_string));
    }
    (0..count)
        .map(|index| {
            let line = &base[index % base.len()];
            let pass = index / base.len();
            if pass == 0 { line.clone() } else { vary_numbers(line, pass) }
        })
        .collect()
}

fn vary_numbers(line: &str, pass: usize) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut in_number = false;
    for c in line.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push_str(&(pass * 7919 % 100_000).to_string());
                in_number = true;
            }
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// A small deterministic generator (xorshift64), so the corpora are the same in every run.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// `count` short lines of a few common words in random order
/// (`WARN worker-1 disk disk disk miss id=827036 seq=1`): nearly every line is a new sequence
/// of words, so a miner that compares a message with every template of its bucket slows down
/// as the templates pile up.
pub fn random_word_lines(count: usize) -> Vec<String> {
    const LEVELS: &[&str] = &["INFO", "WARN", "ERROR", "DEBUG"];
    const WORDS: &[&str] = &["disk", "miss", "cache", "hit", "read", "write", "net", "slow", "retry", "ok"];
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    (0..count)
        .map(|seq| {
            let mut line = format!("{} worker-{}", LEVELS[random.below(LEVELS.len())], random.below(10));
            for _ in 0..3 + random.below(4) {
                line.push(' ');
                line.push_str(WORDS[random.below(WORDS.len())]);
            }
            line.push_str(&format!(" id={} seq={seq}", random.below(1_000_000)));
            line
        })
        .collect()
}

/// `count` raw Loghub lines (as [`loghub_lines`]) whose every run of two or more digits is
/// replaced by a number of random length (2 to 12 digits), so the shape of a line is seldom one seen before and the miner's shape
/// lookup misses.
pub fn varied_length_lines(count: usize) -> Vec<String> {
    let mut random = Xorshift(0x2545_f491_4f6c_dd1d);
    loghub_lines(count)
        .into_iter()
        .map(|line| {
            let mut out = String::with_capacity(line.len() + 16);
            let mut rest = line.as_str();
            while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
                out.push_str(&rest[..start]);
                let run = rest[start..].find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len() - start);
                if run == 1 {
                    // A lone digit may be constant text (`ssh2`): kept as it is.
                    out.push_str(&rest[start..start + 1]);
                } else {
                    for _ in 0..2 + random.below(11) {
                        out.push(char::from(b'0' + random.below(10) as u8));
                    }
                }
                rest = &rest[start + run..];
            }
            out.push_str(rest);
            out
        })
        .collect()
}

/// Writes `count` timestamped log lines (`2024-05-01T10:00:00.000Z LEVEL message`, one per
/// 10 ms, messages from the Loghub samples with their numbers varied, ~5% WARN/ERROR) to
/// `path`; returns the bytes written.
pub fn write_timestamped_log(path: &Path, count: usize) -> u64 {
    write_loghub_like(path, count, rfc3339)
}

/// The lines of [`write_timestamped_log`] with Android logcat's header instead of an RFC 3339
/// time (`05-01 10:00:00.000  1702  2395 INFO …`): a time the `header` format learns.
pub fn write_logcat_log(path: &Path, count: usize) -> u64 {
    write_loghub_like(path, count, |time| format!("{}  1702  2395", time.format("%m-%d %H:%M:%S%.3f")))
}

fn rfc3339(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn write_loghub_like(path: &Path, count: usize, header: fn(chrono::DateTime<chrono::Utc>) -> String) -> u64 {
    let messages = loghub_lines(16_000.min(count.max(1)));
    write_timestamped(path, count, header, |index| {
        let level = match index % 40 {
            0 => "ERROR",
            1 => "WARN",
            _ => "INFO",
        };
        let message = &messages[index % messages.len()];
        let pass = index / messages.len();
        let message = if pass == 0 { message.clone() } else { vary_numbers(message, pass) };
        format!("{level} {message}")
    })
}

/// `count` lines of [`random_word_lines`] (each starts with its level) after an RFC 3339 time,
/// 10 ms apart, as [`write_timestamped_log`] writes the Loghub-like ones; returns the bytes.
pub fn write_timestamped_random_words(path: &Path, count: usize) -> u64 {
    let lines = random_word_lines(count);
    write_timestamped(path, count, rfc3339, |index| lines[index].clone())
}

/// Writes `count` lines `<header(time)> <line(index)>`, 10 ms apart; returns the bytes written.
fn write_timestamped(
    path: &Path,
    count: usize,
    header: fn(chrono::DateTime<chrono::Utc>) -> String,
    line: impl Fn(usize) -> String,
) -> u64 {
    use std::io::Write;
    let start = 1_714_557_600_000i64;
    let file = std::fs::File::create(path).expect("create the corpus file");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut bytes = 0u64;
    for index in 0..count {
        let time = chrono::DateTime::from_timestamp_millis(start + index as i64 * 10).unwrap();
        let text = format!("{} {}\n", header(time), line(index));
        bytes += text.len() as u64;
        out.write_all(text.as_bytes()).unwrap();
    }
    out.flush().unwrap();
    bytes
}

/// Peak resident memory of this process so far, in MB (`VmHWM`).
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Indexes a corpus written by [`write_timestamped_log`] into `dir` with a minimal bare-tantivy
/// loop over opsloop's schema (split off time and level, add, commit once): the baseline the
/// benchmarks compare with. Returns the number of records.
pub fn bare_tantivy_index(corpus: &Path, dir: &Path, memory_budget: usize) -> u64 {
    use std::io::BufRead;
    let (schema, fields) = opsloop::index::LogFields::schema();
    std::fs::create_dir_all(dir).unwrap();
    let index = tantivy::Index::create_in_dir(dir, schema).unwrap();
    let mut writer: tantivy::IndexWriter = index.writer(memory_budget).unwrap();
    let reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(corpus).unwrap());
    let mut count = 0u64;
    for (number, line) in reader.lines().enumerate() {
        let line = line.unwrap();
        let (time, rest) = line.split_once(' ').unwrap();
        let (level, message) = rest.split_once(' ').unwrap();
        let mut document = tantivy::TantivyDocument::default();
        let millis = chrono::DateTime::parse_from_rfc3339(time).unwrap().timestamp_millis();
        document.add_date(fields.timestamp, tantivy::DateTime::from_timestamp_millis(millis));
        document.add_text(fields.level, level);
        document.add_text(fields.source, "bench");
        document.add_text(fields.message, message);
        document.add_text(fields.file, "corpus.log");
        document.add_u64(fields.line, number as u64 + 1);
        writer.add_document(document).unwrap();
        count += 1;
    }
    writer.commit().unwrap();
    writer.wait_merging_threads().unwrap();
    count
}

/// Records of source `bench` with `lines` as their messages, lines numbered from 1.
pub fn records_of(lines: &[String]) -> Vec<opsloop::ingest::Record> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let origin = opsloop::ingest::Origin { file: "bench".into(), line: i as u64 + 1 };
            opsloop::ingest::Record::new("bench", line.clone(), origin)
        })
        .collect()
}
