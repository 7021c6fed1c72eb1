use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::output::Sink;
use super::{CliError, ModelArgs, RunOptions};
use crate::report::sweep;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SweepFormat {
    Csv,
    /// One JSON object per line: {"point": {...}, "result": {...}}.
    Json,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// PATH=VALUES to vary (repeatable; the grid is every combination): a list `1,2,3`,
    /// a linear range `a..b:n` or a log range `a..b:n:log` (n points, ends included;
    /// `5s..60s:4` keeps the unit).
    #[arg(long = "vary", value_name = "PATH=VALUES", required = true)]
    pub vary: Vec<String>,
    #[command(flatten)]
    pub run: RunOptions,
    /// Run each point until its interval's half-width is at most REL of its
    /// unavailability 1 − A (checked every 32 000 replications, so a seed always stops at
    /// the same place), at most --max-replications; the row's `stopping` says which came
    /// first.
    #[arg(long, value_name = "REL", conflicts_with = "replications")]
    pub precision: Option<f64>,
    /// The most replications a --precision point may take.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10_000_000,
        requires = "precision",
        value_parser = super::replications_flag
    )]
    pub max_replications: u64,
    /// Output format; rows are written as each point finishes.
    #[arg(long, value_enum, default_value_t = SweepFormat::Csv)]
    pub format: SweepFormat,
    /// Write to FILE (prepared before the first point runs, in place once the sweep ends or
    /// fails after a point; `-` = standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn sweep(args: &SweepArgs) -> Result<(), CliError> {
    let axes = args
        .vary
        .iter()
        .map(|v| sweep::parse_axis(v))
        .collect::<Result<Vec<_>, _>>()
        .map_err(CliError::BadInput)?;
    let points = sweep::grid(&axes).map_err(CliError::BadInput)?;
    if let Some(p) = args.precision {
        super::run::check_precision(p)?;
    }
    let path = &args.model.model;
    let text = crate::fsio::read_text(path, crate::fsio::TEXT_CAP)?;
    let models = sweep::models(path, &text, &args.model.sets, &axes, &points)
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    // The model's own point: every row holds its difference to it, history by history.
    let base = crate::model::Model::from_str(
        &path.display().to_string(),
        &text,
        path.parent().unwrap_or(std::path::Path::new("")),
        &args.model.sets,
    )
    .map_err(|e| CliError::BadInput(e.to_string()))?;
    let mut inputs = vec![path.clone()];
    inputs.extend(models.iter().flat_map(|m| m.sources.iter().cloned()));
    let mut out = Sink::open(args.out.as_deref(), &inputs)?;
    if args.format == SweepFormat::Csv && !out.line(&sweep::csv_header(&axes))? {
        return Ok(());
    }
    for (done, (point, model)) in points.iter().zip(&models).enumerate() {
        let (mut replications, seed) = args.run.resolve(model);
        if args.precision.is_some() {
            replications = args.max_replications;
        }
        let report = match sweep::run_point(
            model,
            Some(&base),
            seed,
            replications,
            args.precision,
            args.run.threads,
            args.run.engine,
        ) {
            Ok(r) => r,
            // The rows done are kept: the file holds them, and says no more.
            Err(e) if done > 0 => {
                out.finish()?;
                let kept = format!("the first {done} of {} points were written", points.len());
                return Err(match CliError::from(e) {
                    CliError::BadInput(m) => CliError::BadInput(format!("{m} ({kept})")),
                    other => CliError::Failed(format!("{} ({kept})", other.message())),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let line = match args.format {
            SweepFormat::Csv => sweep::csv_row(point, &report),
            SweepFormat::Json => sweep::json_row(&axes, point, &report),
        };
        if !out.line(&line)? {
            return Ok(());
        }
    }
    out.finish()
}
