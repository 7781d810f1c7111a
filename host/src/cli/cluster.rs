//! `opsloop cluster status`: the nodes of a cluster, who holds each partition, what waits in
//! the ingest log and what is published, read from JetStream (no node needs to run here).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::Out;
use super::search::HitFormat;
use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Nodes (alive or lost), each partition's indexer, messages waiting, pieces published.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The cluster's NATS server; over `[cluster] nats`.
    #[arg(long, value_name = "nats://HOST:PORT")]
    pub cluster: Option<String>,
    /// A table, or one JSON document.
    #[arg(long, value_enum, default_value = "text")]
    pub format: HitFormat,
}

pub fn run(settings: &Settings, command: ClusterCommand, out: &mut Out) -> anyhow::Result<ExitCode> {
    let ClusterCommand::Status(args) = command;
    let mut cluster = settings.cluster.clone();
    cluster.nats = args.cluster.or(cluster.nats);
    if cluster.nats.is_none() {
        return Err(super::UsageError("no cluster named: --cluster nats://HOST:PORT or [cluster] nats".into()).into());
    }
    let status = crate::cluster::read_status(&cluster)?;
    if args.format == HitFormat::Json {
        out.line(serde_json::to_string_pretty(&status)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    match &status.config {
        Some(config) => out.line(format!("store {}, {} partitions", config.store, config.partitions))?,
        None => out.line("no node has joined this cluster yet")?,
    }
    let lost = status.nodes.iter().filter(|node| node.lost).count();
    out.line(format!("nodes ({} alive, {lost} lost):", status.nodes.len() - lost))?;
    for node in &status.nodes {
        let state = if node.lost { "LOST, last" } else { "" };
        out.line(format!("  {:<24} {:<22} {state} seen {} ms ago", node.id, node.roles.join(","), node.seen_ms_ago))?;
    }
    out.line(format!("ingest log: {} messages, {} bytes", status.log_messages, status.log_bytes))?;
    out.line(format!(
        "{:>9}  {:<24} {:>10} {:>8} {:>7} {:>7} {:>10} {:>8}",
        "partition", "indexer", "covered", "waiting", "pieces", "merged", "records", "retired"
    ))?;
    for partition in &status.partitions {
        out.line(format!(
            "{:>9}  {:<24} {:>10} {:>8} {:>7} {:>7} {:>10} {:>8}",
            partition.partition,
            partition.holder.as_deref().unwrap_or("(none)"),
            partition.covered_seq,
            partition.waiting.map_or("-".to_string(), |waiting| waiting.to_string()),
            partition.pieces,
            partition.merged_pieces,
            partition.records,
            partition.retired
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
