//! Loki's push format (what Promtail, Alloy, Vector's `loki` sink, Fluent Bit's `loki` output
//! and Loki's client libraries send to `/loki/api/v1/push`): a `PushRequest` as
//! snappy-compressed protobuf, or its JSON form, read into records.
//!
//! Stream labels and an entry's structured metadata become fields; the `service_name`, `job`,
//! `app` or `service` label (the first there) is the source; a `level`, `severity` or
//! `detected_level` label or metadata the level. A line that is a JSON object is read as the
//! JSON parser reads one (message, level and fields from its keys); any other line is the
//! message. The entry's time is the record's; an entry whose time the index cannot hold, or
//! longer than a line may be, is refused alone.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::json::record_from_object;
use super::record::{Origin, Record, normalize_level};
use super::timestamp::storable;
use super::{DEFAULT_MAX_LINE_BYTES, Rejections};

/// The source of records whose labels name none.
pub const DEFAULT_SOURCE: &str = "loki";

/// Labels that name the source, in order of preference.
const SOURCE_LABELS: &[&str] = &["service_name", "job", "app", "service"];
/// Labels (or structured metadata) that give the level, in order of preference.
const LEVEL_LABELS: &[&str] = &["level", "severity", "detected_level", "lvl"];

/// `logproto.PushRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<StreamAdapter>,
}

/// `logproto.StreamAdapter`: labels in Prometheus' text form, `{job="api", level="info"}`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamAdapter {
    #[prost(string, tag = "1")]
    pub labels: String,
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<EntryAdapter>,
}

/// `logproto.EntryAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<ProtoTimestamp>,
    #[prost(string, tag = "2")]
    pub line: String,
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPairAdapter>,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoTimestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `logproto.LabelPairAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// One entry of a stream: its time (ns since the epoch, or why it has none), line and
/// structured metadata.
pub type Entry = (Result<i128, String>, String, Map<String, Value>);

/// One stream of a push, whichever encoding it came in.
#[derive(Debug)]
pub struct Stream {
    pub labels: Map<String, Value>,
    pub entries: Vec<Entry>,
}

/// Reads a snappy-compressed protobuf push whose decompressed size may be at most `limit`.
pub fn decode_protobuf(body: &[u8], limit: usize) -> Result<Vec<Stream>, String> {
    let length =
        snap::raw::decompress_len(body).map_err(|error| format!("the body is not snappy-compressed: {error}"))?;
    if length > limit {
        return Err(format!("the body decompresses to {length} bytes, more than the {limit} accepted"));
    }
    let bytes = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|error| format!("the body is not snappy-compressed: {error}"))?;
    let request = <PushRequest as prost::Message>::decode(bytes.as_slice())
        .map_err(|error| format!("the body is not a Loki PushRequest in protobuf: {error}"))?;
    request
        .streams
        .into_iter()
        .map(|stream| {
            let labels = parse_labels(&stream.labels)?;
            let entries = stream
                .entries
                .into_iter()
                .map(|entry| {
                    let time = entry
                        .timestamp
                        .map(|time| i128::from(time.seconds) * 1_000_000_000 + i128::from(time.nanos))
                        .ok_or_else(|| "an entry has no timestamp".to_string());
                    let metadata = entry
                        .structured_metadata
                        .into_iter()
                        .map(|pair| (pair.name, Value::String(pair.value)))
                        .collect();
                    (time, entry.line, metadata)
                })
                .collect();
            Ok(Stream { labels, entries })
        })
        .collect()
}

#[derive(Deserialize)]
struct JsonPush {
    streams: Vec<JsonStream>,
}

#[derive(Deserialize)]
struct JsonStream {
    #[serde(default)]
    stream: Map<String, Value>,
    #[serde(default)]
    values: Vec<Vec<Value>>,
}

/// Reads a JSON push: `{"streams": [{"stream": {labels}, "values": [["<ns>", "line", {metadata}]]}]}`.
pub fn decode_json(body: &[u8]) -> Result<Vec<Stream>, String> {
    let push: JsonPush =
        serde_json::from_slice(body).map_err(|error| format!("the body is not a Loki push in JSON: {error}"))?;
    Ok(push
        .streams
        .into_iter()
        .map(|stream| {
            let entries = stream
                .values
                .into_iter()
                .map(|value| {
                    let mut parts = value.into_iter();
                    let time = match parts.next() {
                        Some(Value::String(text)) => text
                            .trim()
                            .parse::<i128>()
                            .map_err(|_| format!("unreadable timestamp `{text}`: nanoseconds")),
                        Some(Value::Number(number)) => number
                            .as_i64()
                            .map(i128::from)
                            .or_else(|| number.as_u64().map(i128::from))
                            .ok_or_else(|| format!("unreadable timestamp {number}: nanoseconds")),
                        _ => Err("an entry is not [\"<ns>\", \"<line>\"]".to_string()),
                    };
                    let line = match parts.next() {
                        Some(Value::String(line)) => line,
                        _ => String::new(),
                    };
                    let metadata = match parts.next() {
                        Some(Value::Object(metadata)) => metadata,
                        _ => Map::new(),
                    };
                    (time, line, metadata)
                })
                .collect();
            Stream { labels: stream.stream, entries }
        })
        .collect())
}

/// Reads Prometheus' label text, `{name="value", other="with \"quotes\""}`.
pub fn parse_labels(text: &str) -> Result<Map<String, Value>, String> {
    let bad = |why: &str| format!("labels `{text}`: {why}");
    let inner = text.trim().strip_prefix('{').and_then(|rest| rest.strip_suffix('}')).ok_or_else(|| bad("not {…}"))?;
    let mut labels = Map::new();
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=').ok_or_else(|| bad("a label without `=`"))?;
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad("a label name is not [a-zA-Z0-9_]+"));
        }
        let mut chars = after.trim_start().char_indices();
        if !matches!(chars.next(), Some((_, '"'))) {
            return Err(bad("a label value is not quoted"));
        }
        let mut value = String::new();
        let mut end = None;
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                },
                '"' => {
                    end = Some(at);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = end.ok_or_else(|| bad("an unterminated label value"))?;
        labels.insert(name.to_string(), Value::String(value));
        rest = after.trim_start()[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(labels)
}

/// The records of a push, in order; refused entries are counted in `rejections` under
/// `origin_file` with their position (1-based over all entries).
pub fn records(streams: Vec<Stream>, origin_file: &str, rejections: &mut Rejections) -> Vec<Record> {
    let mut records = Vec::new();
    let mut position = 0u64;
    for stream in streams {
        let source = SOURCE_LABELS
            .iter()
            .find_map(|name| stream.labels.get(*name).and_then(Value::as_str).filter(|value| !value.trim().is_empty()))
            .unwrap_or(DEFAULT_SOURCE)
            .to_string();
        for (time, line, metadata) in stream.entries {
            position += 1;
            let origin = Origin { file: origin_file.to_string(), line: position };
            match record(time, line, &stream.labels, metadata, &source, origin) {
                Ok(record) => records.push(record),
                Err(reason) => rejections.add(origin_file, position, &reason),
            }
        }
    }
    records
}

fn record(
    time: Result<i128, String>,
    line: String,
    labels: &Map<String, Value>,
    metadata: Map<String, Value>,
    source: &str,
    origin: Origin,
) -> Result<Record, String> {
    let nanos = time.map_err(|why| format!("bad entry: {why}"))?;
    if line.len() > DEFAULT_MAX_LINE_BYTES {
        return Err(format!("line too long: {} bytes, over the {DEFAULT_MAX_LINE_BYTES} byte limit", line.len()));
    }
    let ms = i64::try_from(nanos.div_euclid(1_000_000)).ok().filter(|ms| storable(*ms)).ok_or_else(|| {
        format!("timestamp out of range: {nanos} ns since the epoch; the index stores 1677-09-21 to 2262-04-11")
    })?;
    let parsed = line
        .trim_start()
        .starts_with('{')
        .then(|| match serde_json::from_str(&line) {
            Ok(Value::Object(object)) => record_from_object(object, &line, source, origin.clone()).ok(),
            _ => None,
        })
        .flatten();
    let mut record = parsed.unwrap_or_else(|| Record::new(source, line, origin));
    record.timestamp_ms = Some(ms);
    let mut fields = labels.clone();
    fields.extend(metadata);
    if record.level.is_none() {
        record.level = LEVEL_LABELS
            .iter()
            .find_map(|name| fields.get(*name).and_then(Value::as_str))
            .filter(|level| !level.trim().is_empty())
            .map(normalize_level);
    }
    fields.extend(std::mem::take(&mut record.fields));
    record.fields = fields;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_in_prometheus_text_are_read_with_escapes() {
        let labels = parse_labels(r#"{job="api", level="info",path="C:\\logs", quote="say \"hi\""}"#).unwrap();
        assert_eq!(labels["job"], "api");
        assert_eq!(labels["level"], "info");
        assert_eq!(labels["path"], r"C:\logs");
        assert_eq!(labels["quote"], r#"say "hi""#);
        assert!(parse_labels("{}").unwrap().is_empty());
        assert!(parse_labels(r#"{job=api}"#).unwrap_err().contains("not quoted"));
        assert!(parse_labels(r#"{job="api}"#).unwrap_err().contains("unterminated"));
    }

    #[test]
    fn snappy_protobuf_pushes_become_records_with_labels_metadata_source_and_level() {
        let request = PushRequest {
            streams: vec![StreamAdapter {
                labels: r#"{service_name="checkout", level="warn", env="prod"}"#.into(),
                entries: vec![
                    EntryAdapter {
                        timestamp: Some(ProtoTimestamp { seconds: 1_700_000_000, nanos: 5_000_000 }),
                        line: "cart 7 slow".into(),
                        structured_metadata: vec![LabelPairAdapter { name: "trace_id".into(), value: "abc".into() }],
                    },
                    EntryAdapter { timestamp: None, line: "no time".into(), structured_metadata: vec![] },
                ],
            }],
        };
        let body = snap::raw::Encoder::new().compress_vec(&prost::Message::encode_to_vec(&request)).unwrap();
        let streams = decode_protobuf(&body, 1 << 20).unwrap();
        let mut rejections = Rejections::default();
        let records = records(streams, "http:1", &mut rejections);
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert_eq!((record.source.as_str(), record.message.as_str()), ("checkout", "cart 7 slow"));
        assert_eq!((record.level.as_deref(), record.timestamp_ms), (Some("WARN"), Some(1_700_000_000_005)));
        assert_eq!((&record.fields["env"], &record.fields["trace_id"]), (&Value::from("prod"), &Value::from("abc")));
        assert_eq!(rejections.by_reason["bad entry"].count, 1);
        assert!(decode_protobuf(b"not snappy at all", 1 << 20).is_err());
        assert!(decode_protobuf(&body, 4).unwrap_err().contains("more than the 4"));
    }

    #[test]
    fn json_pushes_read_json_lines_and_refuse_times_out_of_range_alone() {
        let body = serde_json::json!({"streams": [{"stream": {"job": "worker", "severity": "error"}, "values": [
            ["1700000000000000000", "{\"msg\":\"job failed\",\"attempt\":3}"],
            ["1700000000000000001", "plain line", {"user": "u1"}],
            ["99999999999999999999999", "far future"],
            ["yesterday", "bad time"]
        ]}]});
        let streams = decode_json(body.to_string().as_bytes()).unwrap();
        let mut rejections = Rejections::default();
        let records = records(streams, "http:2", &mut rejections);
        let messages: Vec<&str> = records.iter().map(|record| record.message.as_str()).collect();
        assert_eq!(messages, ["job failed", "plain line"]);
        assert_eq!(records[0].fields["attempt"], 3);
        assert_eq!(records[0].level.as_deref(), Some("ERROR"));
        assert_eq!(records[1].fields["user"], "u1");
        assert_eq!(records[1].source, "worker");
        assert_eq!(
            (rejections.by_reason["timestamp out of range"].count, rejections.by_reason["bad entry"].count),
            (1, 1)
        );
        assert!(decode_json(b"{\"streams\": 1}").unwrap_err().contains("not a Loki push"));
    }
}
