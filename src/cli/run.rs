use std::path::PathBuf;

use clap::Args;

use super::output::Sink;
use super::progress::Progress;
use super::{CliError, Format, ModelArgs, RunOptions};
use crate::estimate::shard::{self, Shard};
use crate::estimate::{self, splitting, uncertainty};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub run: RunOptions,
    /// Output format: a table for people, the JSON of MODEL-SPEC.md, CSV (a header and one
    /// row: `model` and the columns of `hasim sweep`'s CSV), or OpenMetrics gauges (for
    /// node_exporter's textfile collector: `--out DIR/hasim.prom`).
    #[arg(long, value_enum, default_value_t = RunFormat::Table)]
    pub format: RunFormat,
    /// Write the result to FILE (created before the run starts; `-` = standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Run until the interval's half-width is at most REL of the unavailability 1 − A
    /// (e.g. 0.05), checked every 32 000 replications so a seed always stops at the same
    /// place; at most --max-replications. The JSON's `stopping` says which came first.
    #[arg(long, value_name = "REL", conflicts_with_all = ["replications", "shard"])]
    pub precision: Option<f64>,
    /// The most replications a --precision run may take.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100_000_000,
        requires = "precision",
        value_parser = super::replications_flag
    )]
    pub max_replications: u64,
    /// Run only shard I of N of the run (0 <= I < N; whole blocks of 32 000 replications)
    /// and write it as a part (JSON lines) to --out; `hasim merge` joins the parts into
    /// exactly the numbers of the whole run.
    #[arg(long, value_name = "I/N", requires = "out", value_parser = |s: &str| s.parse::<Shard>())]
    pub shard: Option<Shard>,
    /// How to estimate. `plain`: simulation of histories. For outages too rare for that
    /// (coincident failures in redundant groups): `splitting` — importance splitting
    /// (RESTART) on the same histories, the same estimand (-n counts main histories,
    /// default 2 000; a data flow's fields come from the main histories as plain
    /// samples); `bfb` — balanced failure biasing on regenerative cycles, exponential
    /// models only, the steady-state availability (-n counts cycles, default 1 000 000).
    /// `auto` (the default): plain when the read path has no redundancy, else a scout
    /// of 256 split histories compares the work (events) splitting and plain simulation
    /// need for one precision and runs the cheaper (with -n and no --precision, splitting
    /// gets the work of -n plain histories); never bfb, whose estimand differs. The
    /// JSON's `estimation` says which ran, why, and which estimator gave each field.
    #[arg(long, value_enum, default_value_t = Method::Auto)]
    pub method: Method,
    /// With --method splitting: copies made when a history crosses each threshold 1..=top
    /// (level = most replicas not ready in one read-path stage; top = an outage), e.g.
    /// `1,400,1`. Default: chosen by a pilot run.
    #[arg(long, value_name = "R1,R2,...")]
    pub factors: Option<String>,
    /// With --method splitting: what the level counts. `not-ready`: every replica not
    /// ready; `held`: only replicas waiting on more than their own container (their
    /// node down, no node for them, a volume held by a dead node, a repair crew), for
    /// models where restarts of seconds are common and outages come from node losses.
    /// Default: a scout tries both and keeps the cheaper (with --factors: not-ready).
    #[arg(long, value_enum)]
    pub importance: Option<crate::sim::Importance>,
    /// Also propagate what is not known about the parameters: N draws (Latin hypercube)
    /// of every parameter with an `uncertain` law (or an `every` from `hasim calibrate
    /// history`, which keeps its posterior), each simulated for --draw-replications
    /// plain histories from the same random streams. Adds the epistemic distribution of
    /// availability (mean, 5 %, 50 %, 95 %, with intervals), P(meet SLO) over it, and the
    /// parameters that drive the spread (JSON `uncertainty`). The point estimate above it
    /// is the model as written.
    #[arg(long, value_name = "N", value_parser = super::replications_flag)]
    pub uncertainty: Option<u64>,
    /// With --uncertainty: histories per draw (default: -n, else the model's
    /// replications).
    #[arg(long, value_name = "N", requires = "uncertainty", value_parser = super::replications_flag)]
    pub draw_replications: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    Auto,
    Plain,
    Splitting,
    Bfb,
}

impl RunArgs {
    /// Histories per draw of `--uncertainty`: --draw-replications, else -n, else the
    /// model's replications.
    fn draw_replications(&self, model: &crate::model::Model) -> u64 {
        self.draw_replications
            .or(self.run.replications)
            .unwrap_or(model.simulation.replications)
    }
}

pub fn run(args: &RunArgs) -> Result<(), CliError> {
    let model = args.model.load()?;
    if (args.factors.is_some() || args.importance.is_some()) && args.method != Method::Splitting {
        return Err(CliError::BadInput(
            "--factors and --importance only apply to --method splitting".into(),
        ));
    }
    if let Some(draws) = args.uncertainty {
        uncertainty::check(&model, draws).map_err(|e| CliError::BadInput(e.to_string()))?;
    }
    if args.method == Method::Bfb {
        if args.precision.is_some() || args.shard.is_some() || args.uncertainty.is_some() {
            return Err(CliError::BadInput(
                "--method bfb takes neither --precision, --shard nor --uncertainty".into(),
            ));
        }
        return run_bfb(args, &model);
    }
    let method = match (args.method, args.shard) {
        (Method::Splitting, Some(_)) => {
            return Err(CliError::BadInput(
                "--shard runs plain simulation only; leave out --method splitting".into(),
            ));
        }
        // Parts are plain histories, so that they merge to exactly the whole run.
        (_, Some(_)) | (Method::Plain, _) => estimate::Method::Plain,
        (Method::Auto, _) => estimate::Method::Auto,
        _ => estimate::Method::Splitting,
    };
    let (mut replications, seed) = args.run.resolve(&model);
    if method == estimate::Method::Splitting && args.run.replications.is_none() {
        replications = 2_000;
    }
    if let Some(p) = args.precision {
        check_precision(p)?;
        replications = args.max_replications;
    }
    if replications == 0 {
        return Err(CliError::BadInput(
            "--replications must be at least 1".into(),
        ));
    }
    if method == estimate::Method::Splitting && replications < 2 {
        return Err(CliError::BadInput("-n must be at least 2 histories".into()));
    }
    let factors = match &args.factors {
        Some(text) => {
            let top = crate::sim::Simulator::new(&model).top_level();
            Some(
                splitting::parse_factors(text, top)
                    .map_err(|e| CliError::BadInput(e.to_string()))?,
            )
        }
        None => None,
    };
    if let Some(shard) = args.shard {
        return run_shard(args, &model, seed, replications, shard);
    }
    if method == estimate::Method::Splitting {
        splitting::check(&model).map_err(|e| CliError::BadInput(e.to_string()))?;
    }
    let sink = Sink::open(args.out.as_deref(), &model.sources)?;
    let request = estimate::Request {
        factors,
        importance: args.importance,
        ..args
            .run
            .request(method, (replications, seed), args.precision, None)
    };
    let progress = if args.precision.is_some() {
        Progress::at_most(replications, "histories")
    } else {
        Progress::new(replications, "histories")
    };
    let mut report = estimate::report(&model, &request, &|done| progress.update(done, ""))?;
    progress.finish();
    if let Some(draws) = args.uncertainty {
        let plan = uncertainty::UncertaintyPlan {
            draws,
            replications: args.draw_replications(&model),
            seed,
            threads: args.run.threads,
            engine: args.run.engine,
        };
        let progress = Progress::new(draws * plan.replications, "histories of the draws");
        let u = uncertainty::estimate(&model, &plan, &|done| progress.update(done, "")).map_err(
            |e| match e {
                uncertainty::UncertaintyError::Run(r) => r.into(),
                other => CliError::BadInput(other.to_string()),
            },
        )?;
        progress.finish();
        report.uncertainty = Some(u);
    }

    emit(&report, args.format, sink)
}

/// Refuses a `--precision` that is not a positive fraction.
pub(super) fn check_precision(p: f64) -> Result<(), CliError> {
    if p > 0.0 && p.is_finite() {
        Ok(())
    } else {
        Err(CliError::BadInput(format!(
            "--precision {p}: must be a positive fraction, e.g. 0.05"
        )))
    }
}

/// What `hasim run` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RunFormat {
    Table,
    Json,
    /// A header and one row: `model`, then the columns of a sweep's CSV.
    Csv,
    /// Gauges in the OpenMetrics text format (which the classic text parser reads too).
    Openmetrics,
}

impl RunFormat {
    /// The table or JSON form; CSV and OpenMetrics only where a run's report is written.
    fn plain(self) -> Result<Format, CliError> {
        match self {
            RunFormat::Table => Ok(Format::Table),
            RunFormat::Json => Ok(Format::Json),
            RunFormat::Csv | RunFormat::Openmetrics => Err(CliError::BadInput(format!(
                "--format {} is written for a plain run's report (not --method bfb or a rare-event estimate)",
                if self == RunFormat::Csv {
                    "csv"
                } else {
                    "openmetrics"
                }
            ))),
        }
    }
}

/// Writes a report in `format`; its warnings go to standard error.
pub(super) fn emit(
    report: &crate::estimate::results::RunReport,
    format: RunFormat,
    sink: Sink,
) -> Result<(), CliError> {
    // Warnings go to standard error whatever the format, so a table or JSON written to
    // a file or a pipe holds only results.
    let uncertainty = report.uncertainty.iter().flat_map(|u| &u.warnings);
    for w in report.warnings.iter().chain(uncertainty) {
        eprintln!("warning: {w}");
    }
    sink.write(&match format {
        RunFormat::Json => report.to_json(),
        RunFormat::Table => report.to_table(),
        RunFormat::Csv => {
            use crate::report::sweep::{csv_cell, csv_header, csv_row};
            format!(
                "model,{}\n{},{}\n",
                csv_header(&[]),
                csv_cell(&report.model),
                csv_row(&[], report)
            )
        }
        RunFormat::Openmetrics => super::openmetrics::of_report(
            &serde_json::from_str(&report.to_json()).expect("a report's JSON parses"),
        ),
    })
}

fn run_shard(
    args: &RunArgs,
    model: &crate::model::Model,
    seed: u64,
    replications: u64,
    shard: Shard,
) -> Result<(), CliError> {
    let path = args
        .out
        .as_deref()
        .expect("clap requires --out with --shard");
    shard
        .check_total(replications)
        .map_err(CliError::BadInput)?;
    let mut out = Sink::open(Some(path), &model.sources)?;
    let (first, count) = shard.range(replications);
    let uncertainty = args
        .uncertainty
        .map(|draws| (draws, args.draw_replications(model)));
    let end = shard::run_shard(
        model,
        seed,
        replications,
        shard,
        args.run.threads,
        args.run.engine,
        uncertainty,
        &mut out,
    )?;
    out.finish()?;
    super::progress::note(format_args!(
        "shard {}/{}: replications {first}..{} of {replications} ({} blocks) in {:.1} s, written to {}",
        shard.index,
        shard.count,
        first + count,
        end.blocks,
        end.wall_seconds,
        path.display()
    ));
    Ok(())
}

fn run_bfb(args: &RunArgs, model: &crate::model::Model) -> Result<(), CliError> {
    let cycles = args.run.replications.unwrap_or(1_000_000);
    if cycles < 2 {
        return Err(CliError::BadInput("-n must be at least 2 cycles".into()));
    }
    let seed = args.run.seed.unwrap_or(model.simulation.seed);
    let sink = Sink::open(args.out.as_deref(), &model.sources)?;
    let report = crate::estimate::bfb::estimate(model, cycles, seed, args.run.threads).map_err(
        |e| match e {
            crate::estimate::bfb::RareError::Unsupported(u) => CliError::BadInput(u.to_string()),
            other => CliError::Failed(other.to_string()),
        },
    )?;
    emit_rare(&report, args.format.plain()?, sink)
}

/// Writes a rare-event report in `format`; with JSON, its warnings also go to standard
/// error (the table shows them itself).
fn emit_rare(
    report: &impl crate::estimate::bfb::RareEstimate,
    format: Format,
    sink: Sink,
) -> Result<(), CliError> {
    for w in report.warnings() {
        eprintln!("warning: {w}");
    }
    sink.write(&match format {
        Format::Json => report.to_json(),
        Format::Table => report.to_table(),
    })
}
