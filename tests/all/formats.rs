//! Parsing real logs: the 8 Loghub systems with their published layouts reproduce the ground
//! truth's `Content` column line for line; auto-detection picks a format that reads them; stack
//! traces join the record they belong to.

use std::path::PathBuf;

use opsloop::ingest::{Format, Input, ParseOptions, ReadPosition, Record, Rejections, read_records};

/// (system, Loghub layout, the format auto-detection should choose)
const SYSTEMS: &[(&str, &str, &str)] = &[
    ("HDFS", "<Date> <Time> <Pid> <Level> <Component>: <Content>", "text"),
    ("Hadoop", "<Date> <Time> <Level> [<Process>] <Component>: <Content>", "text"),
    ("Spark", "<Date> <Time> <Level> <Component>: <Content>", "text"),
    ("Windows", "<Date> <Time>, <Level>                  <Component>    <Content>", "text"),
    ("Linux", "<Month> <Date> <Time> <Level> <Component>([<PID>])?: <Content>", "syslog"),
    ("HealthApp", "<Time>|<Component>|<Pid>|<Content>", "text"),
    ("OpenSSH", "<Date> <Day> <Time> <Component> sshd[<Pid>]: <Content>", "syslog"),
    ("Mac", "<Month>  <Date> <Time> <User> <Component>[<PID>]( (<Address>))?: <Content>", "syslog"),
];

fn loghub(system: &str, suffix: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/loghub2k")
        .join(system)
        .join(format!("{system}_2k.log{suffix}"))
}

fn read(input: Input, options: &ParseOptions) -> (Vec<Record>, Rejections, &'static str) {
    let mut records = Vec::new();
    let mut rejections = Rejections::default();
    let summary = read_records::<opsloop::ingest::IngestError>(
        input,
        options,
        500,
        ReadPosition::default(),
        &mut rejections,
        |batch, _| {
            records.extend(batch);
            Ok(())
        },
    )
    .unwrap();
    (records, rejections, summary.format.unwrap())
}

/// The ground truth's `Content` per line, in line order.
fn ground_truth_contents(system: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_path(loghub(system, "_structured_corrected.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let content = headers.iter().position(|name| name == "Content").unwrap();
    reader.records().map(|row| row.unwrap()[content].trim().to_string()).collect()
}

fn without_blanks(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn loghub_layouts_reproduce_the_ground_truth_content() {
    for (system, layout, _) in SYSTEMS {
        let options =
            ParseOptions { format: Format::Pattern, pattern: Some(layout.to_string()), ..ParseOptions::default() };
        let (records, rejections, _) = read(Input::open(&loghub(system, "")).unwrap(), &options);
        let expected = ground_truth_contents(system);
        assert_eq!(rejections.total(), 0, "{system}: {:?}", rejections.by_reason);
        assert_eq!(records.len(), expected.len(), "{system}: every line is a record");
        let mismatched: Vec<_> = records
            .iter()
            .zip(&expected)
            // The corrected ground truth re-spaces a few contents (`7163Calories` became
            // `7163 Calories`), so white space is not compared.
            .filter(|(record, content)| without_blanks(&record.message) != without_blanks(content))
            .map(|(record, content)| format!("line {}: {:?} vs {:?}", record.origin.line, record.message, content))
            .take(3)
            .collect();
        assert!(mismatched.is_empty(), "{system}: {mismatched:#?}");
        assert!(records.iter().all(|record| record.timestamp_ms.is_some()), "{system}: every record has a time");
    }
}

#[test]
fn auto_detection_reads_every_loghub_system() {
    for (system, _, expected_format) in SYSTEMS {
        let (records, rejections, format) = read(Input::open(&loghub(system, "")).unwrap(), &ParseOptions::default());
        assert_eq!(format, *expected_format, "{system}");
        let kept = records.len() as f64 / 2000.0;
        assert!(kept > 0.97, "{system}: {} records, {:?}", records.len(), rejections.by_reason);
        let timed = records.iter().filter(|record| record.timestamp_ms.is_some()).count();
        assert_eq!(timed, records.len(), "{system}");
    }
}

#[test]
fn stack_traces_join_the_record_they_belong_to() {
    let log = "\
2024-05-01 10:00:00,001 INFO  [main] app: started
2024-05-01 10:00:01,002 ERROR [worker-1] app: request failed
java.lang.IllegalStateException: pool exhausted
\tat com.example.Pool.take(Pool.java:42)
\tat com.example.Handler.run(Handler.java:17)
Caused by: java.util.concurrent.TimeoutException
\t... 12 more
2024-05-01 10:00:02,003 ERROR [worker-2] app: job crashed
Traceback (most recent call last):
  File \"job.py\", line 3, in <module>
    run()
ValueError: bad input
2024-05-01 10:00:03,004 WARN  [main] app: thread 'main' panicked at src/main.rs:2:5:
explicit panic
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
2024-05-01 10:00:04,005 INFO  [main] app: done
";
    let (records, rejections, format) =
        read(Input::from_bytes("app.log", log.as_bytes().to_vec()), &ParseOptions::default());
    assert_eq!(format, "text");
    assert_eq!(rejections.total(), 0);
    let lines: Vec<u64> = records.iter().map(|record| record.origin.line).collect();
    assert_eq!(lines, [1, 2, 8, 13, 16]);
    assert!(records[1].message.ends_with("\t... 12 more") && records[1].message.contains("Caused by:"));
    assert_eq!(records[1].level.as_deref(), Some("ERROR"));
    assert!(records[2].message.ends_with("ValueError: bad input"));
    assert!(records[3].message.contains("explicit panic\nnote: run with"));
    assert_eq!(records[4].message, "[main] app: done");
}
