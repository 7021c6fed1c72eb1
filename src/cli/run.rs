use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::output::Sink;
use super::{CliError, Format, ModelArgs};
use crate::montecarlo::{self, RunPlan};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Independent histories to simulate (default: the model's [simulation] replications).
    #[arg(long, short = 'n')]
    pub replications: Option<u64>,
    /// Seed of the run; replication i draws from (seed, i) (default: the model's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads; 0 = one per core. Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Output format: a table for people, or the JSON of MODEL-SPEC.md.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the result to FILE (created before the run starts; `-` = standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &RunArgs) -> Result<(), CliError> {
    let model = args.model.load()?;
    let replications = args.replications.unwrap_or(model.simulation.replications);
    if replications == 0 {
        return Err(CliError::BadInput(
            "--replications must be at least 1".into(),
        ));
    }
    let seed = args.seed.unwrap_or(model.simulation.seed);
    let sink = Sink::open(args.out.as_deref())?;
    let plan = RunPlan {
        seed,
        first: 0,
        count: replications,
        threads: args.threads,
    };
    let started = Instant::now();
    let bar: Mutex<Option<ProgressBar>> = Mutex::new(None);
    let progress = |done: u64| {
        // Only long runs on a terminal get a bar, and only after a second.
        if started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let mut b = bar.lock().unwrap_or_else(|e| e.into_inner());
        let pb = b.get_or_insert_with(|| {
            let pb =
                ProgressBar::with_draw_target(Some(replications), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{bar:40} {pos}/{len} histories, {eta} left")
            {
                pb.set_style(style);
            }
            pb
        });
        pb.set_position(done);
    };
    let report = montecarlo::run_report(&model, &plan, &progress)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    if let Some(pb) = bar.into_inner().unwrap_or_else(|e| e.into_inner()) {
        pb.finish_and_clear();
    }

    for w in &report.warnings {
        if args.format == Format::Json {
            eprintln!("warning: {w}");
        }
    }
    let text = match args.format {
        Format::Json => report.to_json(),
        Format::Table => report.to_table(),
    };
    sink.write(&text)
}
