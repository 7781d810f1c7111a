//! Feedback items as people read them: plain text for a terminal, and the documents people
//! take elsewhere, a Markdown report and a CSV that Jira's importer maps (Summary, Issue Type,
//! Description, Priority, Labels). The command line and the HTTP API both print these.

use std::fmt::Write as _;

use super::FeedbackItem;

/// A serialized enum's name (`bug`, `regressed`, ...).
pub fn lower(value: impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The impact score with every component that made it.
pub fn impact_line(item: &FeedbackItem) -> String {
    let i = &item.impact;
    let reporters = match (i.reporters, i.unknown_reporters) {
        (0, unknown) if unknown > 0 => "unknown".to_string(),
        (known, 0) => known.to_string(),
        (known, unknown) => format!("{known} (+{unknown} unknown)"),
    };
    // Whether reports and logs agree is a question only where there are both.
    let agree = if i.reports > 0 && i.sources > 0 {
        format!(" · reports and logs agree {}", if i.corroborated { "yes" } else { "no" })
    } else {
        String::new()
    };
    format!(
        "impact {:.2} = reports {} · reporters {reporters} · sources {} · error volume {} · trend {:.2} · severity {:.2}{agree}",
        i.score, i.reports, i.sources, i.error_volume, i.trend, i.severity,
    )
}

/// A time on the board, to the minute (UTC); empty when unknown.
fn minute(ms: Option<i64>) -> String {
    ms.map(super::episodes::clock).unwrap_or_default()
}

/// One item as readable text: a heading line, then its impact, summary, time span and every
/// piece of evidence, indented; no trailing newline.
pub fn text(item: &FeedbackItem) -> String {
    let mut lines = vec![
        format!("{} [{} · {}] {}", item.id, lower(item.kind), lower(item.status), item.title),
        format!("  {}", impact_line(item)),
        format!("  {}", item.summary),
        format!("  seen {} – {}", minute(item.first_seen_ms), minute(item.last_seen_ms)),
    ];
    if let Some(reason) = &item.status_reason {
        lines.push(format!("  {}: {reason}", lower(item.status)));
    }
    if !item.evidence.reports.is_empty() {
        lines.push(format!("  reports: {}", item.evidence.reports.join(", ")));
    }
    for pattern in &item.evidence.patterns {
        lines.push(format!(
            "  logs: {} ({} records) e.g. {}",
            pattern.template,
            pattern.records,
            pattern.examples.first().map_or("", String::as_str)
        ));
    }
    lines.extend(item.evidence.links.iter().map(|link| format!("  linked: {link}")));
    lines.extend(item.evidence.findings.iter().map(|episode| format!("  anomaly: {episode}")));
    if let Some(query) = &item.evidence.query {
        lines.push(format!("  opsloop search '{query}'"));
    }
    lines.join("\n")
}

/// The items as a Markdown report: a table by impact, then one section per item.
pub fn markdown(items: &[FeedbackItem]) -> String {
    let mut text = String::from("# Feedback items\n\n");
    text.push_str("| id | kind | status | impact | title | reports | log records |\n");
    text.push_str("|---|---|---|---|---|---|---|\n");
    for item in items {
        let records: u64 = item.evidence.patterns.iter().map(|p| p.records).sum();
        let _ = writeln!(
            text,
            "| {} | {} | {} | {:.2} | {} | {} | {records} |",
            item.id,
            lower(item.kind),
            lower(item.status),
            item.impact.score,
            item.title.replace('|', "\\|"),
            item.evidence.reports.len()
        );
    }
    for item in items {
        let _ = write!(text, "\n## {} {}\n\n{}\n\n{}\n", item.id, item.title, item.summary, impact_line(item));
        if let Some(reason) = &item.status_reason {
            let _ = write!(text, "\n**{}**: {reason}\n", lower(item.status));
        }
        if let Some(query) = &item.evidence.query {
            let _ = write!(text, "\nLogs: `opsloop search '{query}'`\n");
        }
        if !item.evidence.reports.is_empty() {
            let _ = write!(text, "\nReports: {}\n", item.evidence.reports.join(", "));
        }
        for link in &item.evidence.links {
            let _ = write!(text, "\n- Linked: {link}\n");
        }
        for episode in &item.evidence.findings {
            let _ = write!(text, "\n- Anomaly: {episode}\n");
        }
    }
    text
}

/// The items as CSV for Jira's importer; `External ID` carries the stable item id.
pub fn jira_csv(items: &[FeedbackItem]) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "Summary",
        "Issue Type",
        "Description",
        "Priority",
        "Labels",
        "External ID",
        "Status",
        "Impact",
    ])?;
    for item in items {
        let issue_type = match lower(item.kind).as_str() {
            "request" => "Story",
            "incident" => "Task",
            _ => "Bug",
        };
        let priority = match item.impact.score {
            s if s >= 0.6 => "High",
            s if s >= 0.3 => "Medium",
            _ => "Low",
        };
        let mut description = format!(
            "{}\n\n{}\n\nReports: {}\nLogs: {}",
            item.summary,
            impact_line(item),
            item.evidence.reports.join(", "),
            item.evidence.query.as_deref().unwrap_or("-")
        );
        // Why the evidence is one item, as on the board: what a planner checks before trusting it.
        if !item.evidence.links.is_empty() || !item.evidence.findings.is_empty() {
            description.push_str("\n\nEvidence:");
            for link in &item.evidence.links {
                let _ = write!(description, "\n- {link}");
            }
            for episode in &item.evidence.findings {
                let _ = write!(description, "\n- Anomaly: {episode}");
            }
        }
        writer.write_record([
            item.title.as_str(),
            issue_type,
            &description,
            priority,
            &format!("opsloop {}", lower(item.kind)),
            &item.id,
            &lower(item.status),
            &format!("{:.2}", item.impact.score),
        ])?;
    }
    let bytes = writer.into_inner().map_err(|error| csv::Error::from(error.into_error()))?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8"))
}
