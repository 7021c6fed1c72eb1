use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::output::Sink;
use super::{CliError, Format};
use crate::advise::{Advice, AdviseOptions, Saved, advise};
use crate::model::Model;

const ADVISE_HELP: &str = "\
Examples:
  hasim advise models/seed.toml
  hasim advise models/ha.toml --format json
  hasim advise --from-manifests calibration/k8s/ --slo 0.9999

The checks linters make — a single replica on the read path, every Pod on one node, no
liveness probe where a hang is noticed only by a person, no hard anti-affinity, no
PodDisruptionBudget (or one that blocks every drain), a rollout that may take the last
ready Pod, a collector buffer smaller than the store's p99 outage of data, a memory
buffer, a StatefulSet on a local volume — each measured: the model is simulated with the
fix applied from the same random streams (common random numbers), and the downtime a
year it saves is printed with its paired interval, largest first, with its cost. A fix
is measurable only when Holm's procedure over every fix tried rejects \"no effect\" at the
model's confidence; the others are listed as \"no measurable effect\". Each fix is given
as the --set overrides that reproduce it with `hasim run`.";

#[derive(Debug, Args)]
#[command(after_help = ADVISE_HELP)]
pub struct AdviseArgs {
    /// The model file (TOML; see MODEL-SPEC.md); or use --from-manifests.
    #[arg(required_unless_present = "from_manifests")]
    pub model: Option<PathBuf>,
    /// Import the model from these manifests first (as `hasim import PATH…`).
    #[arg(long, value_name = "PATH", num_args = 1.., conflicts_with = "model")]
    pub from_manifests: Vec<PathBuf>,
    /// Override a model value (repeatable), as for `hasim run`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// The availability target to report against (default: the model's [system] slo).
    #[arg(long)]
    pub slo: Option<f64>,
    /// Histories per fix (default: the model's [simulation] replications).
    #[arg(long, short = 'n', value_parser = super::replications_flag)]
    pub replications: Option<u64>,
    /// Seed (default: the model's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads; 0 = one per core. Results do not depend on it.
    #[arg(long, default_value_t = 0, value_parser = super::threads_flag)]
    pub threads: usize,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn advise_cmd(args: &AdviseArgs) -> Result<(), CliError> {
    if let Some(slo) = args.slo
        && !(slo > 0.0 && slo < 1.0)
    {
        return Err(CliError::BadInput(format!(
            "--slo {slo}: must be in (0, 1)"
        )));
    }
    let (text, file, base) = model_text(args)?;
    let load = |extra: &[String]| -> Result<Model, String> {
        let sets: Vec<String> = args.sets.iter().chain(extra).cloned().collect();
        Model::from_str(&file, &text, &base, &sets).map_err(|e| e.to_string())
    };
    let model = load(&[]).map_err(CliError::BadInput)?;
    let opts = AdviseOptions {
        replications: args.replications.unwrap_or(model.simulation.replications),
        seed: args.seed.unwrap_or(model.simulation.seed),
        threads: args.threads,
        slo: args.slo,
    };
    let quiet = args.format == Format::Json;
    let advice = advise(&model, &load, &opts, &|what| {
        if !quiet {
            super::progress::note(format_args!("hasim advise: measuring {what}"));
        }
    })
    .map_err(CliError::Failed)?;
    let out = match args.format {
        Format::Json => crate::schema::pretty(&advice),
        Format::Table => {
            // The `hasim run` lines repeat the user's own overrides before the fix's.
            let run = if args.sets.is_empty() {
                file.clone()
            } else {
                format!("{file} {}", sets(&args.sets))
            };
            let mut t = table(&advice, &run);
            if args.model.is_none() {
                let paths: Vec<String> = args
                    .from_manifests
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                t += &format!(
                    "\nThe `hasim run` lines use the imported model: write it with `hasim import {} -o {IMPORTED}`.\n",
                    paths.join(" ")
                );
            }
            t
        }
    };
    Sink::open(None, &[])?.write(&out)
}

/// The model's text, the name to show for it, and the directory its paths resolve from.
fn model_text(args: &AdviseArgs) -> Result<(String, String, PathBuf), CliError> {
    if let Some(m) = &args.model {
        let text = crate::fsio::read_text(m, crate::fsio::TEXT_CAP)?;
        let base = m.parent().map(PathBuf::from).unwrap_or_default();
        return Ok((text, m.display().to_string(), base));
    }
    #[cfg(feature = "k8s")]
    {
        let got = crate::import::import(
            &args.from_manifests,
            &crate::import::ImportOptions::default(),
        )?;
        for n in &got.notes {
            super::progress::note(format_args!("hasim import: {n}"));
        }
        Ok((got.toml, IMPORTED.into(), PathBuf::new()))
    }
    #[cfg(not(feature = "k8s"))]
    Err(CliError::BadInput(
        "--from-manifests needs the `k8s` feature: build with `cargo build --release` (default features)".into(),
    ))
}

/// The file name the advice's `hasim run` lines use for an imported model.
const IMPORTED: &str = "model.toml";

fn minutes(m: f64) -> String {
    crate::units::format_duration(m * 60.0)
}

fn interval(s: &Saved, conf: &str) -> String {
    format!(
        "{} ({conf} CI {} to {})",
        minutes(s.mean),
        minutes(s.ci_low),
        minutes(s.ci_high)
    )
}

fn table(a: &Advice, file: &str) -> String {
    let mut o = String::new();
    let conf = format!("{:.0} %", a.confidence * 100.0);
    let _ = writeln!(o, "{}", a.model);
    let d = &a.downtime_minutes_per_year;
    let _ = writeln!(
        o,
        "downtime now: {} a year ({conf} CI {} to {}); each fix measured on the same {} histories (seed {})",
        minutes(d.mean),
        minutes(d.ci_low),
        minutes(d.ci_high),
        a.replications,
        a.seed
    );
    if let Some(slo) = a.slo {
        let _ = writeln!(
            o,
            "SLO {slo}: a budget of {} a year",
            minutes((1.0 - slo) * 365.0 * 24.0 * 60.0)
        );
    }
    let cost = |f: &crate::advise::Fix| {
        let mut c = Vec::new();
        if f.extra_nodes > 0 {
            c.push(format!("+{} node", f.extra_nodes));
        }
        if f.extra_replicas > 0 {
            c.push(format!(
                "+{} replica{}",
                f.extra_replicas,
                if f.extra_replicas > 1 { "s" } else { "" }
            ));
        }
        if c.is_empty() {
            "no extra replicas".to_string()
        } else {
            c.join(", ")
        }
    };
    let lost = |m: &crate::advise::Measured| {
        m.lost_metrics_saved_per_year
            .as_ref()
            .map_or(String::new(), |l| {
                if l.significant {
                    format!(
                        "; data kept: {} metrics a year ({conf} CI {} to {})",
                        count(l.mean),
                        count(l.ci_low),
                        count(l.ci_high)
                    )
                } else {
                    format!(
                        "; data kept: no measurable change ({} to {} metrics a year)",
                        count(l.ci_low),
                        count(l.ci_high)
                    )
                }
            })
    };
    let saves: Vec<_> = a
        .fixes
        .iter()
        .filter(|m| m.downtime_saved_minutes_per_year.significant)
        .collect();
    let keeps: Vec<_> = a
        .fixes
        .iter()
        .filter(|m| m.significant && !m.downtime_saved_minutes_per_year.significant)
        .collect();
    let none: Vec<_> = a.fixes.iter().filter(|m| !m.significant).collect();
    let threshold = minutes(crate::advise::LARGE_SHARE * a.large_threshold_minutes_per_year);
    let against = if a.slo.is_some() {
        "the SLO's budget"
    } else {
        "the downtime now"
    };
    if saves.is_empty() {
        let _ = writeln!(o, "\nNo fix measurably reduces downtime.");
    } else {
        let _ = writeln!(
            o,
            "\nFixes that save downtime, largest first (paired {conf} intervals, Holm over {} fixes):",
            a.fixes.len()
        );
    }
    let mut n = 0;
    let mut entry = |o: &mut String, m: &crate::advise::Measured| {
        n += 1;
        let _ = writeln!(
            o,
            "{n:>2}. {} — saves {} a year; {}{}",
            m.fix.fix,
            interval(&m.downtime_saved_minutes_per_year, &conf),
            cost(&m.fix),
            lost(m)
        );
        let _ = writeln!(o, "    found: {}", m.fix.check);
        let _ = writeln!(o, "    try:   hasim run {file} {}", sets(&m.fix.sets));
    };
    for m in &saves {
        entry(&mut o, m);
    }
    if !keeps.is_empty() {
        let _ = writeln!(
            o,
            "\nFixes that keep data without a measurable change in downtime:"
        );
        for m in &keeps {
            entry(&mut o, m);
        }
    }
    match saves.iter().find(|m| m.large) {
        Some(_) => {}
        None if saves.is_empty() => {}
        None => {
            let top = &saves[0].downtime_saved_minutes_per_year;
            let _ = writeln!(
                o,
                "\nNothing large: no saving's lower bound reaches 1 % of {against} ({threshold} a year); the largest is {}.",
                interval(top, &conf)
            );
        }
    }
    if !none.is_empty() {
        let _ = writeln!(
            o,
            "\nNo measurable effect (the interval includes zero, or Holm keeps it):"
        );
        for m in none {
            let _ = writeln!(
                o,
                "  - {} — {} a year; {}{}",
                m.fix.fix,
                interval(&m.downtime_saved_minutes_per_year, &conf),
                cost(&m.fix),
                lost(m)
            );
            let _ = writeln!(o, "    found: {}", m.fix.check);
        }
    }
    if !a.passed.is_empty() {
        let _ = writeln!(o, "\nPassed: {}.", a.passed.join("; "));
    }
    o
}

/// A count of metrics, rounded, never "-0".
fn count(x: f64) -> String {
    let r = x.round();
    format!("{}", if r == 0.0 { 0.0 } else { r })
}

fn sets(s: &[String]) -> String {
    s.iter()
        .map(|x| format!("--set '{x}'"))
        .collect::<Vec<_>>()
        .join(" ")
}
