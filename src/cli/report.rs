use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::{CliError, ModelArgs};
use crate::fsio::refuse_input;
use crate::report::study::{FILES, StudyOptions, study};

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The folder to write the charts (PNG), their data (CSV) and index.html into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Histories per point, a fixed number (instead of --precision).
    #[arg(long, short = 'n', value_parser = super::replications_flag, conflicts_with = "precision")]
    pub replications: Option<u64>,
    /// Run every point until its unavailability's interval half-width is at most REL of
    /// it (checked every 32 000 histories, so a seed always stops at the same place), at
    /// most --max-replications; the default unless -n is given: 0.1.
    #[arg(long, value_name = "REL")]
    pub precision: Option<f64>,
    /// The most histories a point may take to reach the precision (the page lists the
    /// points that reached it first).
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = super::replications_flag)]
    pub max_replications: u64,
    /// Seed of every point (default: the model's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads; 0 = one per core; at most four per core.
    #[arg(long, default_value_t = 0, value_parser = super::threads_flag)]
    pub threads: usize,
    /// How to estimate the key numbers: `auto` (a pilot chooses plain or splitting, as
    /// `hasim run` does, and the page says which and why), `plain` or `splitting`. The
    /// charts' points are plain runs whatever this says: each is paired with the model's
    /// own plain run, history by history.
    #[arg(long, value_enum, default_value_t = super::sweep::SweepMethod::Auto)]
    pub method: super::sweep::SweepMethod,
    /// Draws of the model's uncertain parameters (an `uncertain` law, or a rate entry from
    /// `hasim calibrate history`) for the page's epistemic band, as `hasim run
    /// --uncertainty` makes them; default 100 when the model has any, 0 for no band.
    #[arg(long, value_name = "N")]
    pub uncertainty: Option<u64>,
    /// With a band: simulated years per draw (default: the model's replications).
    #[arg(long, value_name = "N", value_parser = super::replications_flag)]
    pub draw_replications: Option<u64>,
    /// Replace the report already in DIR (without it, a DIR holding an index.html is
    /// refused).
    #[arg(long)]
    pub force: bool,
}

/// The draws of a page's epistemic band unless told otherwise.
const DEFAULT_DRAWS: u64 = 100;

/// The precision a report asks of every point unless told otherwise.
const DEFAULT_PRECISION: f64 = 0.1;

pub fn report(args: &ReportArgs) -> Result<(), CliError> {
    let model = args.model.load()?;
    let (replications, precision) = match (args.replications, args.precision) {
        (Some(n), _) => (n, None),
        (None, p) => {
            let p = p.unwrap_or(DEFAULT_PRECISION);
            super::run::check_precision(p)?;
            (args.max_replications, Some(p))
        }
    };
    if replications < 2 {
        return Err(CliError::BadInput(
            "--replications must be at least 2 for intervals".into(),
        ));
    }
    for name in FILES {
        let file = args.out.join(name);
        refuse_input("--out", &file, &model.sources).map_err(CliError::BadInput)?;
    }
    if !args.force && std::fs::symlink_metadata(args.out.join("index.html")).is_ok() {
        return Err(CliError::BadInput(format!(
            "--out {}: already holds a report (index.html); give --force to replace it",
            args.out.display()
        )));
    }
    let uncertain = !model.uncertain_parameters().is_empty();
    let draws = match args.uncertainty {
        Some(0) => None,
        Some(n) => {
            crate::estimate::uncertainty::check(&model, n)
                .map_err(|e| CliError::BadInput(format!("--uncertainty {n}: {e}")))?;
            Some(n)
        }
        None => uncertain.then_some(DEFAULT_DRAWS),
    };
    if args.draw_replications.is_some() && draws.is_none() {
        return Err(CliError::BadInput(
            "--draw-replications: there is no band to draw (the model has no uncertain parameter, or --uncertainty 0)".into(),
        ));
    }
    let opts = StudyOptions {
        replications,
        precision,
        seed: args.seed.unwrap_or(model.simulation.seed),
        threads: args.threads,
        method: match args.method {
            super::sweep::SweepMethod::Auto => crate::estimate::Method::Auto,
            super::sweep::SweepMethod::Plain => crate::estimate::Method::Plain,
            super::sweep::SweepMethod::Splitting => {
                crate::estimate::splitting::check(&model)
                    .map_err(|e| CliError::BadInput(e.to_string()))?;
                crate::estimate::Method::Splitting
            }
        },
        uncertainty: draws.map(|d| {
            (
                d,
                args.draw_replications
                    .unwrap_or(model.simulation.replications),
            )
        }),
    };
    let started = Instant::now();
    let progress = super::progress::Progress::open_ended("points");
    let s = study(&model, &args.out, &opts, &|done, what| {
        progress.update(done as u64, what)
    })
    .map_err(CliError::Failed)?;
    progress.finish();
    let per_point = match precision {
        Some(p) => format!(
            "until ±{} % or {replications} histories; {} reached the cap",
            crate::report::study::percent(p),
            s.capped.len()
        ),
        None => format!("of {replications} histories"),
    };
    super::progress::note(format_args!(
        "wrote {} charts and index.html to {} ({} points {per_point}, in {:.1} s)",
        s.charts.len(),
        args.out.display(),
        s.points_run,
        started.elapsed().as_secs_f64()
    ));
    println!("{}", args.out.join("index.html").display());
    Ok(())
}
