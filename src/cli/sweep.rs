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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SweepMethod {
    Auto,
    Plain,
    Splitting,
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
    /// How to estimate every point: `auto` (the default) chooses once, on the model
    /// itself, as `hasim run` does, and says which on standard error; `plain` rows hold
    /// paired differences to the model's own point, `splitting` rows unpaired ones
    /// (wider) from a splitting run of the model's own point.
    #[arg(long, value_enum, default_value_t = SweepMethod::Auto)]
    pub method: SweepMethod,
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
    let text = crate::fsio::read_input(path, crate::fsio::TEXT_CAP)?;
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
    let (method, split_histories) = sweep_method(args, &base)?;
    // Splitting rows are compared with a splitting run of the model's own point.
    let base_report = match method {
        crate::estimate::Method::Splitting => {
            let (mut replications, seed) = args.run.resolve(&base);
            if args.precision.is_some() {
                replications = args.max_replications;
            }
            let replications = split_histories.unwrap_or(replications);
            Some(sweep::run_point(
                &base,
                &args
                    .run
                    .request(method, (replications, seed), args.precision, None),
            )?)
        }
        _ => None,
    };
    let mut inputs = vec![path.clone()];
    inputs.extend(models.iter().flat_map(|m| m.sources.iter().cloned()));
    let mut out = Sink::open(args.out.as_deref(), &inputs)?;
    if args.format == SweepFormat::Csv && !out.line(&sweep::csv_header(&axes))? {
        return Ok(());
    }
    let progress = super::progress::Progress::new(points.len() as u64, "points");
    for (done, (point, model)) in points.iter().zip(&models).enumerate() {
        progress.update(done as u64, &sweep::point_sets(&axes, point).join(" "));
        let (mut replications, seed) = args.run.resolve(model);
        if args.precision.is_some() {
            replications = args.max_replications;
        }
        let replications = split_histories.unwrap_or(replications);
        let report = match sweep::run_point(
            model,
            &args
                .run
                .request(method, (replications, seed), args.precision, Some(&base)),
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
        let mut report = report;
        if let Some(b) = &base_report {
            report.set_unpaired_difference(b);
        }
        let line = match args.format {
            SweepFormat::Csv => sweep::csv_row(point, &report),
            SweepFormat::Json => sweep::json_row(&axes, point, &report),
        };
        if !progress.suspend(|| out.line(&line))? {
            return Ok(());
        }
    }
    progress.finish();
    out.finish()
}

/// The one method of every point: as asked, or `auto`'s choice on the model itself;
/// with `auto` choosing splitting and no precision, the main histories of each point
/// (the work of its replications in plain histories).
fn sweep_method(
    args: &SweepArgs,
    base: &crate::model::Model,
) -> Result<(crate::estimate::Method, Option<u64>), CliError> {
    use crate::estimate::Method;
    Ok(match args.method {
        SweepMethod::Plain => (Method::Plain, None),
        SweepMethod::Splitting => {
            crate::estimate::splitting::check(base)
                .map_err(|e| CliError::BadInput(e.to_string()))?;
            (Method::Splitting, None)
        }
        SweepMethod::Auto => {
            let (replications, seed) = args.run.resolve(base);
            let req = args
                .run
                .request(Method::Auto, (replications, seed), args.precision, None);
            let choice = crate::estimate::choose(base, &req)?;
            super::progress::note(format_args!(
                "method chosen by a pilot on the model: {}",
                choice.reason
            ));
            match choice.split {
                Some(_) => (
                    Method::Splitting,
                    (args.precision.is_none()).then(|| choice.histories(&req)),
                ),
                None => (Method::Plain, None),
            }
        }
    })
}
