use std::fmt::Write as _;

use clap::Args;

use super::output::Sink;
use super::{CliError, Format, ModelArgs};
use crate::analytic;
use crate::results::{fmt_avail, nines};

#[derive(Debug, Args)]
pub struct SolveArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn solve(args: &SolveArgs) -> Result<(), CliError> {
    let model = args.model.load()?;
    let sol = analytic::solve(&model).map_err(|e| CliError::CannotSolve(e.to_string()))?;
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&sol).expect("a solution serialises") + "\n",
        Format::Table => {
            let mut o = String::new();
            let _ = writeln!(o, "{}", model.name);
            let _ = writeln!(
                o,
                "steady-state availability {}  ({}){}",
                fmt_avail(sol.availability),
                nines(sol.availability),
                if sol.exact { "" } else { "  [approximate]" }
            );
            for (name, a) in &sol.stages {
                let _ = writeln!(o, "  stage {name:<10} {}", fmt_avail(*a));
            }
            for n in &sol.notes {
                let _ = writeln!(o, "note: {n}");
            }
            o
        }
    };
    Sink::open(None, &[])?.write(&text)
}
