//! `opsloop similar REPORT_ID`: the reports most likely to be duplicates of one, ranked, with
//! the reasons (shared frames, shared error, text score, time apart).

use std::process::ExitCode;

use clap::Args;

use super::Out;
use super::search::HitFormat;
use crate::data_dir::DataDir;
use crate::feedback::similar;
use crate::index::ReportIndex;

#[derive(Debug, Args)]
pub struct SimilarArgs {
    /// The id of the report to find duplicates of (as `search --reports` shows it).
    pub report_id: String,
    /// How many reports to show.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// A ranked list, or one JSON object per report.
    #[arg(long, value_enum, default_value = "text")]
    pub format: HitFormat,
}

pub fn run(data_dir: &DataDir, args: SimilarArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let reports = ReportIndex::open(&data_dir.reports_dir())?;
    // An unknown id is a failure (exit 1), not a usage error: the command line was right.
    let found = similar(&reports, &args.report_id, args.limit)?;
    for (rank, report) in found.iter().enumerate() {
        match args.format {
            HitFormat::Json => out.line(serde_json::to_string(report)?)?,
            HitFormat::Text => {
                out.line(format!("{:>2}. {} {:.2}  {}", rank + 1, report.id, report.score, report.title))?;
                out.line(format!("    {}", report.reasons.join("; ")))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
