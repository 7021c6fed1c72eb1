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
    /// Histories per point (every chart point is one run).
    #[arg(long, short = 'n', default_value_t = 2000, value_parser = super::replications_flag)]
    pub replications: u64,
    /// Seed of every point (default: the model's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads; 0 = one per core; at most four per core.
    #[arg(long, default_value_t = 0, value_parser = super::threads_flag)]
    pub threads: usize,
    /// Replace the report already in DIR (without it, a DIR holding an index.html is
    /// refused).
    #[arg(long)]
    pub force: bool,
}

pub fn report(args: &ReportArgs) -> Result<(), CliError> {
    let model = args.model.load()?;
    if args.replications < 2 {
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
    let opts = StudyOptions {
        replications: args.replications,
        seed: args.seed.unwrap_or(model.simulation.seed),
        threads: args.threads,
    };
    let started = Instant::now();
    let s = study(&model, &args.out, &opts).map_err(CliError::Failed)?;
    eprintln!(
        "wrote {} charts and index.html to {} ({} points of {} histories in {:.1} s)",
        s.charts.len(),
        args.out.display(),
        s.points_run,
        args.replications,
        started.elapsed().as_secs_f64()
    );
    println!("{}", args.out.join("index.html").display());
    Ok(())
}
