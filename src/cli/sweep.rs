use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

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
    /// Output format; rows are written as each point finishes.
    #[arg(long, value_enum, default_value_t = SweepFormat::Csv)]
    pub format: SweepFormat,
    /// Write to FILE (created before the first point runs; `-` = standard output).
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
    let path = &args.model.model;
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Failed(format!("cannot read {}: {e}", path.display())))?;
    let models = sweep::models(path, &text, &args.model.sets, &axes, &points)
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    let mut out: Box<dyn Write> = match args.out.as_deref() {
        None => Box::new(std::io::stdout().lock()),
        Some(p) if p == std::path::Path::new("-") => Box::new(std::io::stdout().lock()),
        Some(p) => Box::new(
            std::fs::File::create(p)
                .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", p.display())))?,
        ),
    };
    let mut emit = |line: &str| -> Result<bool, CliError> {
        match writeln!(out, "{line}").and_then(|()| out.flush()) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(CliError::Failed(format!("cannot write: {e}"))),
        }
    };
    if args.format == SweepFormat::Csv && !emit(&sweep::csv_header(&axes))? {
        return Ok(());
    }
    for (point, model) in points.iter().zip(&models) {
        let (replications, seed) = args.run.resolve(model);
        let report = sweep::run_point(model, seed, replications, args.run.threads, args.run.engine)
            .map_err(|e| CliError::Failed(e.to_string()))?;
        let line = match args.format {
            SweepFormat::Csv => sweep::csv_row(point, &report),
            SweepFormat::Json => sweep::json_row(&axes, point, &report),
        };
        if !emit(&line)? {
            return Ok(());
        }
    }
    Ok(())
}
