//! Elasticsearch's bulk format (what Vector's `elasticsearch` sink, Fluent Bit's `es` output,
//! rsyslog's `omelasticsearch` and the clients' bulk helpers send to `_bulk`): NDJSON, an
//! action line (`{"index": {...}}` or `{"create": {...}}`) then its document, read into one
//! [`BulkItem`] per action.
//!
//! The index name (the action's `_index`, else the one in the path) is the source; the
//! document's `@timestamp`, `message` and `log.level` (flat or as ECS's nested `log.level`;
//! `timereported` and `priority` in rsyslog's default template) are its time, message and
//! level, the rest its fields. Each action succeeds or fails alone,
//! with Elasticsearch's error type and a reason naming its line; `update` and `delete` are
//! refused, since stored records are never changed.

use serde_json::{Map, Value};

use super::DEFAULT_MAX_LINE_BYTES;
use super::json::{LEVEL_KEYS, TIME_KEYS, record_from_object};
use super::record::{Origin, Record};
use super::timestamp::storable;

/// What an action asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpType {
    Index,
    Create,
    Update,
    Delete,
}

impl OpType {
    /// Its name in the bulk format (the key of the action and of its answer item).
    pub fn name(self) -> &'static str {
        match self {
            Self::Index => "index",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "index" => Some(Self::Index),
            "create" => Some(Self::Create),
            "update" => Some(Self::Update),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// Why an action failed, as Elasticsearch names it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemError {
    /// The HTTP status of the item (400 for bad input).
    pub status: u16,
    /// Elasticsearch's error type, e.g. `document_parsing_exception`.
    pub kind: &'static str,
    pub reason: String,
}

impl ItemError {
    fn bad(kind: &'static str, reason: String) -> Self {
        Self { status: 400, kind, reason }
    }
}

/// One action of a bulk body.
#[derive(Debug, Clone)]
pub struct BulkItem {
    pub op: OpType,
    pub index: String,
    /// The `_id` the action named.
    pub id: Option<String>,
    /// For an action with an `_id`, its document with keys sorted and no spaces (what a
    /// repeated `_id` is compared by: a shipper that serializes again on retry sends the same
    /// document in another key order); empty otherwise.
    pub document: Vec<u8>,
    pub outcome: Result<Record, ItemError>,
}

/// Reads a bulk body; `default_index` is the index named in the path. Every action becomes
/// an item, in order; a line that is neither an action nor a document is an item of its own,
/// failed, so the items still line up with what the client sent.
pub fn parse(body: &[u8], default_index: Option<&str>, origin_file: &str) -> Vec<BulkItem> {
    let mut items = Vec::new();
    let mut lines = body.split(|byte| *byte == b'\n').enumerate().map(|(number, line)| (number as u64 + 1, line));
    let mut lines = std::iter::from_fn(|| {
        lines
            .find(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
            .map(|(number, line)| (number, line.strip_suffix(b"\r").unwrap_or(line)))
    })
    .peekable();
    while let Some((number, line)) = lines.next() {
        let action = match read_action(line) {
            Ok(action) => action,
            Err(reason) => {
                // A line that is not an action: a document follows only if the next line is
                // not an action either.
                if lines.peek().is_some_and(|(_, next)| read_action(next).is_err()) {
                    lines.next();
                }
                items.push(BulkItem {
                    op: OpType::Index,
                    index: default_index.unwrap_or_default().to_string(),
                    id: None,
                    document: Vec::new(),
                    outcome: Err(ItemError::bad(
                        "action_request_validation_exception",
                        format!("line {number}: {reason}"),
                    )),
                });
                continue;
            }
        };
        let (op, meta) = action;
        let index = meta.get("_index").and_then(Value::as_str).or(default_index).unwrap_or_default().to_string();
        let id = meta.get("_id").map(|id| match id {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        });
        let document = if op == OpType::Delete { None } else { lines.next() };
        let mut canonical = Vec::new();
        let outcome = match (op, &document) {
            (OpType::Update | OpType::Delete, _) => Err(ItemError::bad(
                "illegal_argument_exception",
                format!("line {number}: `{}` is not supported: stored log records are never changed", op.name()),
            )),
            (_, None) => Err(ItemError::bad(
                "action_request_validation_exception",
                format!("line {number}: the `{}` action has no document line after it", op.name()),
            )),
            _ if index.is_empty() => Err(ItemError::bad(
                "action_request_validation_exception",
                format!("line {number}: no index: name it in the path (`/es/<index>/_bulk`) or the action's `_index`"),
            )),
            (_, Some((document_number, document))) => {
                let origin = Origin { file: origin_file.to_string(), line: *document_number };
                read_document(document, &index, origin, id.is_some())
                    .map(|(record, written)| {
                        canonical = written;
                        record
                    })
                    .map_err(|reason| {
                        ItemError::bad("document_parsing_exception", format!("line {document_number}: {reason}"))
                    })
            }
        };
        items.push(BulkItem { op, index, id, document: canonical, outcome });
    }
    items
}

fn read_action(line: &[u8]) -> Result<(OpType, Map<String, Value>), String> {
    let value: Value =
        serde_json::from_slice(line).map_err(|error| format!("not an action: invalid JSON ({error})"))?;
    let Value::Object(object) = value else { return Err("not an action: not a JSON object".into()) };
    let mut entries = object.into_iter();
    match (entries.next(), entries.next()) {
        (Some((name, meta)), None) => {
            let op = OpType::from_name(&name)
                .ok_or_else(|| format!("unknown action `{name}`: index, create, update or delete"))?;
            match meta {
                Value::Object(meta) => Ok((op, meta)),
                _ => Err(format!("the `{name}` action's metadata is not an object")),
            }
        }
        _ => Err("not an action: an action is an object with one key (index, create, update or delete)".into()),
    }
}

/// Reads a document into a record; with `canonical`, also the document written one way whatever
/// its key order and spacing (serde_json's map keeps keys sorted), what its `_id` is compared by.
fn read_document(line: &[u8], index: &str, origin: Origin, canonical: bool) -> Result<(Record, Vec<u8>), String> {
    if line.len() > DEFAULT_MAX_LINE_BYTES {
        return Err(format!(
            "the document is {} bytes, more than the {DEFAULT_MAX_LINE_BYTES} a record may hold",
            line.len()
        ));
    }
    let text = std::str::from_utf8(line).map_err(|error| format!("the document is not UTF-8: {error}"))?;
    let mut object = match serde_json::from_str(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err("the document is not a JSON object".into()),
        Err(error) => return Err(format!("the document is not JSON: {error}")),
    };
    let written = if canonical { serde_json::to_vec(&object).map_err(|error| error.to_string())? } else { Vec::new() };
    // ECS nests `log.level` (and `log.logger`, ...) under `log`, which as text is a message
    // key: an object there is flattened to the dotted names ECS gives them.
    if matches!(object.get("log"), Some(Value::Object(_)))
        && let Some(Value::Object(log)) = object.remove("log")
    {
        for (key, value) in log {
            object.entry(format!("log.{key}")).or_insert(value);
        }
    }
    // rsyslog's omelasticsearch writes, by default, the time as `timereported` and the
    // severity as `priority` (`err`, `warning`, ...).
    if !TIME_KEYS.iter().any(|key| object.contains_key(*key))
        && let Some(time) = object.remove("timereported")
    {
        object.insert("@timestamp".into(), time);
    }
    if !LEVEL_KEYS.iter().any(|key| object.contains_key(*key))
        && let Some(level) = object.remove("priority")
    {
        object.insert("log.level".into(), level);
    }
    let record = record_from_object(object, text, index, origin)?;
    if let Some(ms) = record.timestamp_ms.filter(|ms| !storable(*ms)) {
        return Err(format!(
            "timestamp out of range: {ms} ms since the epoch; the index stores 1677-09-21 to 2262-04-11"
        ));
    }
    Ok((record, written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_create_actions_become_records_with_ecs_fields() {
        let body = concat!(
            "{\"index\":{\"_index\":\"checkout\"}}\n",
            "{\"@timestamp\":\"2024-05-01T10:00:00Z\",\"message\":\"paid\",\"log\":{\"level\":\"warn\",\"logger\":\"pay\"},\"user\":\"u1\"}\n",
            "{\"create\":{\"_id\":\"42\"}}\n",
            "{\"message\":\"shipped\",\"log.level\":\"info\"}\n",
        );
        let items = parse(body.as_bytes(), Some("orders"), "http:1");
        assert_eq!(items.len(), 2);
        let first = items[0].outcome.as_ref().unwrap();
        assert_eq!((first.source.as_str(), first.message.as_str()), ("checkout", "paid"));
        assert_eq!(first.level.as_deref(), Some("WARN"));
        assert_eq!(first.timestamp_ms, Some(1_714_557_600_000));
        assert_eq!(first.fields["user"], "u1");
        assert_eq!(first.fields["log.logger"], "pay");
        assert_eq!(items[1].op, OpType::Create);
        assert_eq!(items[1].id.as_deref(), Some("42"));
        assert_eq!(items[1].outcome.as_ref().unwrap().source, "orders");
    }

    #[test]
    fn bad_actions_and_documents_fail_alone_and_the_items_stay_in_line() {
        let body = concat!(
            "{\"index\":{}}\n",
            "{\"message\":\"one\"}\n",
            "not json\n",
            "{\"message\":\"the bad action's document\"}\n",
            "{\"index\":{}}\n",
            "{\"message\":\"bad time\",\"@timestamp\":\"9999-01-01T00:00:00Z\"}\n",
            "{\"delete\":{\"_id\":\"1\"}}\n",
            "{\"index\":{}}\n",
            "[1,2]\n",
            "{\"create\":{}}\n",
            "{\"message\":\"last\"}\n",
        );
        let items = parse(body.as_bytes(), Some("app"), "http:1");
        let outcomes: Vec<Result<&str, &'static str>> = items
            .iter()
            .map(|item| item.outcome.as_ref().map(|record| record.message.as_str()).map_err(|error| error.kind))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                Ok("one"),
                Err("action_request_validation_exception"),
                Err("document_parsing_exception"),
                Err("illegal_argument_exception"),
                Err("document_parsing_exception"),
                Ok("last"),
            ]
        );
        let reason = &items[2].outcome.as_ref().unwrap_err().reason;
        assert!(reason.starts_with("line 6: timestamp out of range"), "{reason}");
    }

    #[test]
    fn a_document_with_an_id_compares_the_same_in_any_key_order() {
        let items = parse(
            b"{\"create\":{\"_id\":\"1\"}}\n{\"b\": 2, \"a\": 1}\n{\"create\":{\"_id\":\"1\"}}\n{\"a\":1,\"b\":2}\n",
            Some("i"),
            "http:1",
        );
        assert_eq!(items[0].document, items[1].document);
        assert_eq!(items[0].document, br#"{"a":1,"b":2}"#);
    }

    #[test]
    fn an_action_without_an_index_anywhere_is_refused() {
        let items = parse(b"{\"index\":{}}\n{\"message\":\"m\"}\n", None, "http:1");
        assert!(items[0].outcome.as_ref().unwrap_err().reason.contains("no index"));
    }
}
