use std::fmt::Write as _;

use clap::Args;

use super::output::Sink;
use super::{CliError, Format, ModelArgs};
use crate::analytic;
use crate::estimate::results::{fmt_avail, nines};

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
    answered(&sol)?;
    let text = match args.format {
        Format::Json => crate::schema::pretty(&sol),
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

/// An answer that is not a probability is no answer (JSON would print NaN as null): exit 3.
fn answered(sol: &analytic::Solution) -> Result<(), CliError> {
    match std::iter::once(("the availability", sol.availability))
        .chain(sol.stages.iter().map(|(n, a)| (n.as_str(), *a)))
        .find(|(_, v)| !(v.is_finite() && (0.0..=1.0).contains(v)))
    {
        Some((what, v)) => Err(CliError::CannotSolve(format!(
            "cannot solve this model: {what} comes out as {v} (times so extreme that the formulas lose all precision); simulate it with hasim run"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_that_is_not_a_probability_exits_3() {
        let mut sol = analytic::Solution {
            availability: 0.999,
            exact: true,
            notes: vec![],
            stages: [("C".to_string(), 0.999)].into(),
        };
        assert!(answered(&sol).is_ok());
        for bad in [f64::NAN, f64::INFINITY, 1.5, -0.1] {
            sol.availability = bad;
            let e = answered(&sol).unwrap_err();
            assert_eq!(e.exit_code(), crate::cli::EXIT_CANNOT_SOLVE, "{bad}");
            sol.availability = 0.999;
            sol.stages.insert("C".into(), bad);
            assert!(
                answered(&sol)
                    .unwrap_err()
                    .message()
                    .contains("C comes out")
            );
            sol.stages.insert("C".into(), 0.999);
        }
    }
}
