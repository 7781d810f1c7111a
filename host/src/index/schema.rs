//! The tantivy schema of the log index and the field handles that go with it.

use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, JsonObjectOptions, STORED, STRING, Schema, TEXT,
    TextFieldIndexing, TextOptions,
};

/// Field handles of the log index.
#[derive(Debug, Clone)]
pub struct LogFields {
    pub timestamp: Field,
    pub level: Field,
    pub source: Field,
    pub message: Field,
    pub fields: Field,
    pub file: Field,
    pub line: Field,
    pub pattern: Field,
    pub template: Field,
    /// Every other plugin annotation, as a JSON object of strings.
    pub annotations: Field,
}

impl LogFields {
    /// Builds the schema and its field handles.
    pub fn schema() -> (Schema, LogFields) {
        let mut builder = Schema::builder();
        let date = DateOptions::from(INDEXED | STORED | FAST).set_precision(DateTimePrecision::Milliseconds);
        let raw_json = JsonObjectOptions::from(STORED).set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(tantivy::schema::IndexRecordOption::Basic),
        );
        let fields = LogFields {
            timestamp: builder.add_date_field("timestamp", date),
            level: builder.add_text_field("level", STRING | STORED | FAST),
            source: builder.add_text_field("source", STRING | STORED | FAST),
            message: builder.add_text_field("message", TEXT | STORED),
            // Dotted keys (`service.name`, `http.status`, what OpenTelemetry and ECS write) are
            // indexed as nested ones, as Elasticsearch does: `fields.service.name:api` finds
            // both `{"service.name": "api"}` and `{"service": {"name": "api"}}`.
            fields: builder.add_json_field("fields", JsonObjectOptions::from(TEXT | STORED).set_expand_dots_enabled()),
            file: builder.add_text_field("file", STRING | STORED),
            line: builder.add_u64_field("line", INDEXED | STORED | FAST),
            // Pattern ids and templates have few distinct values: dictionary-encoded fast
            // columns hold each once, where storing them would copy them into every document.
            pattern: builder.add_text_field("pattern", STRING | FAST),
            template: builder.add_text_field("template", TextOptions::default().set_fast("raw")),
            annotations: builder.add_json_field("annotations", raw_json),
        };
        (builder.build(), fields)
    }
}
