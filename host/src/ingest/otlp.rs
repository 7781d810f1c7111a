//! OTLP logs (what OpenTelemetry SDKs and the Collector's `otlphttp` exporter send to
//! `/v1/logs`): an `ExportLogsServiceRequest`, as protobuf or as OTLP's JSON mapping, read into
//! records.
//!
//! The resource's `service.name` is the source; severity text (else the severity number's
//! range) the level; a string body the message, and a structured body its `message`-like key
//! with the rest as fields; record, scope and resource attributes become fields (the record's
//! own win); `trace_id` and `span_id` are kept as hex fields, searchable as
//! `fields.trace_id:<id>`. A record whose time the index cannot hold, or whose message is longer
//! than a line may be, is refused alone, with
//! its position (`resource 0, scope 1, record 7`), and the others are kept.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use serde_json::{Map, Value};

use super::json::MESSAGE_KEYS;
use super::record::{Origin, Record, normalize_level};
use super::timestamp::storable;
use super::{DEFAULT_MAX_LINE_BYTES, Rejections};

/// How the request body is encoded (its `Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpEncoding {
    Protobuf,
    Json,
}

/// The source of records whose resource names no `service.name`.
pub const DEFAULT_SOURCE: &str = "otlp";

/// Decodes an export request; the error says why the body is not one.
pub fn decode(body: &[u8], encoding: OtlpEncoding) -> Result<ExportLogsServiceRequest, String> {
    match encoding {
        OtlpEncoding::Protobuf => ExportLogsServiceRequest::decode(body)
            .map_err(|error| format!("the body is not an OTLP ExportLogsServiceRequest in protobuf: {error}")),
        OtlpEncoding::Json => serde_json::from_slice(body)
            .map_err(|error| format!("the body is not an OTLP ExportLogsServiceRequest in JSON: {error}")),
    }
}

/// The records of an export request, in order; refused ones are counted in `rejections`
/// under `origin_file` with their position as the line (1-based, over all records).
pub fn records(request: ExportLogsServiceRequest, origin_file: &str, rejections: &mut Rejections) -> Vec<Record> {
    let mut records = Vec::new();
    let mut position = 0u64;
    for resource_logs in request.resource_logs {
        let resource_attributes = resource_logs.resource.map(|resource| resource.attributes).unwrap_or_default();
        let resource_fields = attributes_object(resource_attributes);
        let source = match resource_fields.get("service.name") {
            Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_string(),
            _ => DEFAULT_SOURCE.to_string(),
        };
        for scope_logs in resource_logs.scope_logs {
            let mut shared = resource_fields.clone();
            if let Some(scope) = scope_logs.scope {
                if !scope.name.is_empty() {
                    shared.insert("otel.scope.name".into(), Value::String(scope.name));
                }
                shared.extend(attributes_object(scope.attributes));
            }
            for log_record in scope_logs.log_records {
                position += 1;
                let origin = Origin { file: origin_file.to_string(), line: position };
                match record(log_record, &source, &shared, origin) {
                    Ok(record) => records.push(record),
                    Err(reason) => rejections.add(origin_file, position, &reason),
                }
            }
        }
    }
    records
}

fn record(log_record: LogRecord, source: &str, shared: &Map<String, Value>, origin: Origin) -> Result<Record, String> {
    let nanos =
        if log_record.time_unix_nano != 0 { log_record.time_unix_nano } else { log_record.observed_time_unix_nano };
    let timestamp_ms = match nanos {
        0 => None,
        nanos => {
            let ms = i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX);
            if !storable(ms) {
                return Err(format!(
                    "timestamp out of range: time_unix_nano {nanos} is outside the times the index can hold \
                     (1677-09-21 to 2262-04-11)"
                ));
            }
            Some(ms)
        }
    };
    let level = if !log_record.severity_text.trim().is_empty() {
        Some(normalize_level(&log_record.severity_text))
    } else {
        severity_level(log_record.severity_number).map(str::to_string)
    };
    let mut fields = shared.clone();
    let message = match log_record.body.and_then(|body| body.value) {
        None => String::new(),
        Some(any_value::Value::StringValue(text)) => text,
        Some(any_value::Value::KvlistValue(list)) => {
            let mut body = attributes_object(list.values);
            let message = MESSAGE_KEYS.iter().find_map(|key| match body.remove(*key) {
                Some(Value::String(text)) => Some(text),
                Some(other) => Some(other.to_string()),
                None => None,
            });
            let message = message.unwrap_or_else(|| Value::Object(body.clone()).to_string());
            fields.extend(body);
            message
        }
        Some(other) => match json_value(other) {
            Value::String(text) => text,
            value => value.to_string(),
        },
    };
    if message.len() > DEFAULT_MAX_LINE_BYTES {
        return Err(format!("line too long: {} bytes, over the {DEFAULT_MAX_LINE_BYTES} byte limit", message.len()));
    }
    fields.extend(attributes_object(log_record.attributes));
    if !log_record.trace_id.is_empty() {
        fields.insert("trace_id".into(), Value::String(hex(&log_record.trace_id)));
    }
    if !log_record.span_id.is_empty() {
        fields.insert("span_id".into(), Value::String(hex(&log_record.span_id)));
    }
    if !log_record.event_name.is_empty() {
        fields.insert("event.name".into(), Value::String(log_record.event_name));
    }
    let mut record = Record::new(source, message, origin);
    record.timestamp_ms = timestamp_ms;
    record.level = level;
    record.fields = fields;
    Ok(record)
}

/// The level a severity number's range stands for (OTLP's data model: 1-4 TRACE, 5-8 DEBUG,
/// 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL); none when unspecified.
fn severity_level(number: i32) -> Option<&'static str> {
    match number {
        1..=4 => Some("TRACE"),
        5..=8 => Some("DEBUG"),
        9..=12 => Some("INFO"),
        13..=16 => Some("WARN"),
        17..=20 => Some("ERROR"),
        21..=24 => Some("FATAL"),
        _ => None,
    }
}

fn attributes_object(attributes: Vec<KeyValue>) -> Map<String, Value> {
    attributes
        .into_iter()
        .filter(|attribute| !attribute.key.is_empty())
        .map(|attribute| (attribute.key, attribute.value.and_then(|value| value.value).map_or(Value::Null, json_value)))
        .collect()
}

fn json_value(value: any_value::Value) -> Value {
    match value {
        any_value::Value::StringValue(text) => Value::String(text),
        any_value::Value::BoolValue(flag) => Value::Bool(flag),
        any_value::Value::IntValue(number) => Value::from(number),
        any_value::Value::DoubleValue(number) => {
            serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
        }
        any_value::Value::ArrayValue(array) => Value::Array(
            array.values.into_iter().map(|AnyValue { value }| value.map_or(Value::Null, json_value)).collect(),
        ),
        any_value::Value::KvlistValue(list) => Value::Object(attributes_object(list.values)),
        any_value::Value::BytesValue(bytes) => {
            use base64::Engine;
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        // An index into a dictionary OTLP logs do not carry: nothing to resolve it against.
        any_value::Value::StringValueStrindex(index) => Value::from(index),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;

    fn text(value: &str) -> Option<AnyValue> {
        Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) })
    }

    fn attribute(key: &str, value: &str) -> KeyValue {
        KeyValue { key: key.into(), value: text(value), ..Default::default() }
    }

    fn request(log_records: Vec<LogRecord>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![attribute("service.name", "checkout"), attribute("host.name", "web-1")],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs { log_records, ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn protobuf_records_carry_source_level_time_fields_and_trace_ids() {
        let log_record = LogRecord {
            time_unix_nano: 1_700_000_000_123_000_000,
            severity_number: 17,
            body: text("payment declined"),
            attributes: vec![attribute("order.id", "A-7"), attribute("host.name", "pod-3")],
            trace_id: vec![0xab; 16],
            span_id: vec![0x01; 8],
            ..Default::default()
        };
        let body = request(vec![log_record]).encode_to_vec();
        let decoded = decode(&body, OtlpEncoding::Protobuf).unwrap();
        let mut rejections = Rejections::default();
        let records = records(decoded, "http:1", &mut rejections);
        assert_eq!(rejections.total(), 0);
        let record = &records[0];
        assert_eq!(record.source, "checkout");
        assert_eq!(record.level.as_deref(), Some("ERROR"));
        assert_eq!(record.timestamp_ms, Some(1_700_000_000_123));
        assert_eq!(record.message, "payment declined");
        assert_eq!(record.fields["order.id"], "A-7");
        assert_eq!(record.fields["host.name"], "pod-3", "the record's attribute wins over the resource's");
        assert_eq!(record.fields["trace_id"], "ab".repeat(16));
        assert_eq!(record.fields["span_id"], "01".repeat(8));
    }

    #[test]
    fn json_with_a_structured_body_and_a_time_out_of_range_keeps_the_good_record() {
        let body = serde_json::json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
        "scopeLogs": [{"scope": {"name": "app.http"}, "logRecords": [
            {"timeUnixNano": "1700000000000000000", "severityText": "warning",
             "body": {"kvlistValue": {"values": [
                 {"key": "msg", "value": {"stringValue": "slow request"}},
                 {"key": "ms", "value": {"intValue": "912"}}]}},
             "traceId": "5b8efff798038103d269b633813fc60c"},
            {"timeUnixNano": "18000000000000000000", "body": {"stringValue": "from 2540"}}
        ]}]}]});
        let decoded = decode(body.to_string().as_bytes(), OtlpEncoding::Json).unwrap();
        let mut rejections = Rejections::default();
        let records = records(decoded, "http:2", &mut rejections);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].message, "slow request");
        assert_eq!(records[0].level.as_deref(), Some("WARN"));
        assert_eq!(records[0].fields["ms"], 912);
        assert_eq!(records[0].fields["otel.scope.name"], "app.http");
        assert_eq!(records[0].fields["trace_id"], "5b8efff798038103d269b633813fc60c");
        assert_eq!(rejections.total(), 1);
        let example = &rejections.by_reason["timestamp out of range"].examples[0];
        assert!(
            example.starts_with("http:2:2: timestamp out of range: time_unix_nano 18000000000000000000"),
            "{example}"
        );
    }

    #[test]
    fn a_message_longer_than_a_line_may_be_is_refused_alone() {
        let long = LogRecord { body: text(&"x".repeat(DEFAULT_MAX_LINE_BYTES + 1)), ..Default::default() };
        let short = LogRecord { body: text("fits"), ..Default::default() };
        let mut rejections = Rejections::default();
        let records = records(request(vec![long, short]), "http:3", &mut rejections);
        assert_eq!(records.iter().map(|record| record.message.as_str()).collect::<Vec<_>>(), ["fits"]);
        assert_eq!(rejections.by_reason["line too long"].count, 1);
    }

    #[test]
    fn a_body_that_is_not_an_export_request_is_named() {
        let error = decode(b"\xff\xff\xff", OtlpEncoding::Protobuf).unwrap_err();
        assert!(error.contains("protobuf"), "{error}");
        let error = decode(b"{\"resourceLogs\": 3}", OtlpEncoding::Json).unwrap_err();
        assert!(error.contains("JSON"), "{error}");
    }
}
