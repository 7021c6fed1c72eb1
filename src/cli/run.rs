use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::output::Sink;
use super::{CliError, Format, ModelArgs, RunOptions};
use crate::montecarlo::{self, RunPlan};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub run: RunOptions,
    /// Output format: a table for people, or the JSON of MODEL-SPEC.md.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the result to FILE (created before the run starts; `-` = standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &RunArgs) -> Result<(), CliError> {
    let model = args.model.load()?;
    let (replications, seed) = args.run.resolve(&model);
    if replications == 0 {
        return Err(CliError::BadInput(
            "--replications must be at least 1".into(),
        ));
    }
    let sink = Sink::open(args.out.as_deref())?;
    let plan = RunPlan {
        seed,
        first: 0,
        count: replications,
        threads: args.run.threads,
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
