use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::output::Sink;
use super::{CliError, ModelArgs};
use crate::report::sweep::csv_cell;
use crate::sim::{Simulator, TraceRecord};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TraceFormat {
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Which history: replication I of the run (0-based), the same history `hasim run`
    /// simulates as its I-th.
    #[arg(long, default_value_t = 0)]
    pub replication: u64,
    /// Seed of the run (default: the model's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output format: CSV (time_seconds,at,stage,replica,node,event,state,buffered; `at`
    /// is the time as days and a clock, `12d 03:04:05.120`) or JSON.
    #[arg(long, value_enum, default_value_t = TraceFormat::Csv)]
    pub format: TraceFormat,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Serialize)]
struct TraceJson<'a> {
    model: &'a str,
    seed: u64,
    replication: u64,
    horizon_seconds: f64,
    downtime_seconds: f64,
    outages: u64,
    events: &'a [TraceRecord],
}

pub fn trace(args: &TraceArgs) -> Result<(), CliError> {
    let model = args.model.load()?;
    let seed = args.seed.unwrap_or(model.simulation.seed);
    let sink = Sink::open(args.out.as_deref(), &model.sources)?;
    let mut sim = Simulator::new(&model);
    let (records, outcome) = sim.trace(seed, args.replication);
    let text = match args.format {
        TraceFormat::Json => {
            let doc = TraceJson {
                model: &model.name,
                seed,
                replication: args.replication,
                horizon_seconds: model.simulation.horizon,
                downtime_seconds: outcome.downtime,
                outages: outcome.outages,
                events: &records,
            };
            serde_json::to_string_pretty(&doc).expect("a trace serialises") + "\n"
        }
        TraceFormat::Csv => {
            let mut o = String::from("time_seconds,at,stage,replica,node,event,state,buffered\n");
            for r in &records {
                let buffered = r.buffered.map_or(String::new(), |b| b.to_string());
                let _ = writeln!(
                    o,
                    "{},{},{},{},{},{},{},{buffered}",
                    r.time,
                    r.at,
                    csv_cell(&r.stage),
                    csv_cell(&r.replica),
                    csv_cell(&r.node),
                    csv_cell(&r.event),
                    csv_cell(&r.state)
                );
            }
            o
        }
    };
    sink.write(&text)
}
