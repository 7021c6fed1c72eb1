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
    /// Output format: CSV (time_seconds,at,stage,replica,node,event,state,buffered,timestamp;
    /// `at` is the time as days and a clock, `12d 03:04:05.120`; `timestamp` the instant in
    /// RFC 3339 after --start) or JSON (the same fields).
    #[arg(long, value_enum, default_value_t = TraceFormat::Csv)]
    pub format: TraceFormat,
    /// The instant the history begins at, RFC 3339 (`2027-01-01T00:00:00Z`), for the
    /// `timestamp` of each record: lines a trace up with a calendar or a dashboard. The
    /// default, the Unix epoch, makes `timestamp` the time as a Unix time.
    #[arg(long, value_name = "TIME", default_value = "1970-01-01T00:00:00Z", value_parser = parse_start)]
    pub start: jiff::Timestamp,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn parse_start(text: &str) -> Result<jiff::Timestamp, String> {
    text.parse()
        .map_err(|e| format!("not an RFC 3339 time such as 2027-01-01T00:00:00Z: {e}"))
}

/// One JSON record: the record and its instant.
#[derive(Serialize)]
struct JsonRecord<'a> {
    #[serde(flatten)]
    record: &'a TraceRecord,
    timestamp: String,
}

/// A JSON string or number as it appears in the document.
fn json(v: impl Serialize) -> String {
    serde_json::to_string(&v).expect("a trace value serialises")
}

fn csv_line(r: &TraceRecord, timestamp: &str) -> String {
    let buffered = r.buffered.map_or(String::new(), |b| b.to_string());
    format!(
        "{},{},{},{},{},{},{},{buffered},{timestamp}",
        r.time,
        r.at,
        csv_cell(&r.stage),
        csv_cell(&r.replica),
        csv_cell(&r.node),
        csv_cell(&r.event),
        csv_cell(&r.state)
    )
}

/// Writes the log as the history runs, record by record: a history of millions of
/// events is never held whole. The JSON document ends with the history's X and
/// outages, known only then.
pub fn trace(args: &TraceArgs) -> Result<(), CliError> {
    let model = args.model.load()?;
    let seed = args.seed.unwrap_or(model.simulation.seed);
    let mut sink = Sink::open(args.out.as_deref(), &model.sources)?;
    let head = match args.format {
        TraceFormat::Csv => {
            "time_seconds,at,stage,replica,node,event,state,buffered,timestamp".to_string()
        }
        TraceFormat::Json => format!(
            "{{\n  \"schema_version\": {},\n  \"hasim_version\": {},\n  \"model\": {},\n  \"seed\": {seed},\n  \"replication\": {},\n  \"horizon_seconds\": {},\n  \"start\": {},\n  \"events\": [",
            crate::schema::SCHEMA_VERSION,
            json(crate::schema::HASIM_VERSION),
            json(&model.name),
            args.replication,
            json(model.simulation.horizon),
            json(args.start.to_string())
        ),
    };
    if !sink.line(&head)? {
        return Ok(());
    }
    // A JSON record waits for the next to know whether a comma follows it.
    let mut pending: Option<String> = None;
    let mut sim = Simulator::new(&model);
    // `Ok(false)` from a line: the reader closed standard output; stop quietly.
    let written = sim.trace_with(seed, args.replication, |r| {
        let timestamp = crate::units::rfc3339_after(args.start, r.time);
        let line = match args.format {
            TraceFormat::Csv => csv_line(&r, &timestamp),
            TraceFormat::Json => match pending.replace(json(JsonRecord {
                record: &r,
                timestamp,
            })) {
                Some(before) => format!("    {before},"),
                None => return Ok(()),
            },
        };
        match sink.line(&line) {
            Ok(true) => Ok(()),
            Ok(false) => Err(None),
            Err(e) => Err(Some(e)),
        }
    });
    let outcome = match written {
        Ok(o) => o,
        Err(None) => return Ok(()),
        Err(Some(e)) => return Err(e),
    };
    if outcome.over_budget() {
        return Err(CliError::BadInput(format!(
            "replication {} (seed {seed}) took more than {} events, the most one history may take; the log written shows how it began",
            args.replication,
            crate::sim::MAX_EVENTS
        )));
    }
    if args.format == TraceFormat::Json {
        let last = pending.map_or(String::new(), |p| format!("    {p}\n"));
        let tail = format!(
            "{last}  ],\n  \"downtime_seconds\": {},\n  \"outages\": {}\n}}",
            json(outcome.downtime),
            outcome.outages
        );
        if !sink.line(&tail)? {
            return Ok(());
        }
    }
    sink.finish()
}
