use std::path::PathBuf;

use clap::Args;

use super::CliError;
use super::output::Sink;
use super::run::RunFormat;
use crate::estimate::results::RunReport;
use crate::estimate::shard;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The parts written by `hasim run --shard I/N --out FILE`, every shard once, in any
    /// order.
    #[arg(required = true, value_name = "PART")]
    pub parts: Vec<PathBuf>,
    /// Output format: a table for people, the JSON of MODEL-SPEC.md, CSV (as `hasim run`'s),
    /// or OpenMetrics gauges.
    #[arg(long, value_enum, default_value_t = RunFormat::Table)]
    pub format: RunFormat,
    /// Write the result to FILE (`-` = standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn merge(args: &MergeArgs) -> Result<(), CliError> {
    let sink = Sink::open(args.out.as_deref(), &args.parts)?;
    let merged = shard::merge(&args.parts)?;
    let mut report = RunReport::new(&merged.model, merged.seed, &merged.tally, merged.perf);
    report.uncertainty = merged.uncertainty;
    super::run::emit(&report, args.format, sink)
}
