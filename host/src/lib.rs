//! opsloop: logs and bug reports in, sandboxed WebAssembly analyzers over them, search and
//! feedback items out.
//!
//! The modules follow the data: [`ingest`] reads and parses sources into records,
//! [`pipeline`] batches them through the enabled [`plugin`]s in parallel, [`index`] stores
//! records with their annotations in tantivy and searches them, [`feedback`] turns findings and
//! report groups into ranked backlog items and finds similar reports, [`alerts`] tells the
//! team's Alertmanager, webhooks and chat when items and anomalies change, and [`cli`] is the
//! command line on top.

pub mod alerts;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod data_dir;
pub mod feedback;
pub mod index;
pub mod ingest;
pub mod jsonl;
pub mod pipeline;
pub mod plugin;
pub mod serve;

/// The build script's check of the Wasm target, compiled here only so its unit tests run.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../wasm_target.rs"]
mod wasm_target;
