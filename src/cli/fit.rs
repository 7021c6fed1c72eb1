use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::output::Sink;
use super::{CliError, Format};
use crate::calibrate::file::write_entry;
use crate::calibrate::fit::{FEW_SAMPLES, Family, Fit, Sample, fit, fit_all};
use crate::fsio::{refuse_input, same_file};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DistChoice {
    /// Every family, the best by AIC first.
    Auto,
    Exponential,
    Lognormal,
    Weibull,
    Gamma,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    /// Samples in seconds: one per line, first column; a second column `censored` (or 1,
    /// true) marks a right-censored sample (the time is above the value); a header line
    /// and `#` comments are allowed; `-` for standard input.
    pub samples: PathBuf,
    /// The family to fit.
    #[arg(long = "dist", value_enum, default_value_t = DistChoice::Auto)]
    pub dist: DistChoice,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write (or replace) entry NAME of calibration file FILE: the samples, the chosen
    /// fit and the alternatives. Models use it as
    /// `{ calibration = "FILE", name = "NAME" }`.
    #[arg(long, value_name = "FILE", requires = "name")]
    pub out: Option<PathBuf>,
    /// Draw the samples' distribution function — empirical with a DKW band, or
    /// Kaplan–Meier with Greenwood intervals when some are censored — against every
    /// fitted family's (PNG, 1000×600; SVG for a `.svg` name).
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// The entry's name in the calibration file.
    #[arg(long)]
    pub name: Option<String>,
    /// How and where the samples were measured (kept with them).
    #[arg(long, default_value = "")]
    pub source: String,
}

/// The samples' distribution function as a step function — the empirical one with its
/// Dvoretzky–Kiefer–Wolfowitz band, or, when some are censored, the Kaplan–Meier
/// estimate with its pointwise Greenwood band — against each fit's (PNG, or SVG for a
/// `.svg` name).
fn plot(path: &std::path::Path, samples: &[Sample], fits: &[Fit]) -> Result<(), CliError> {
    use crate::report::charts::{Series, StepChart, step_chart};
    const CONFIDENCE: f64 = 0.95;
    let pairs: Vec<(f64, bool)> = samples.iter().map(|s| (s.value, s.censored)).collect();
    let censored = pairs.iter().filter(|p| p.1).count();
    let mut steps = crate::stats::kaplan_meier(&pairs, CONFIDENCE);
    let (step_label, band_label) = if censored == 0 {
        let eps = crate::stats::dkw_half_width(pairs.len(), CONFIDENCE);
        for s in &mut steps {
            (s.2, s.3) = ((s.1 - eps).max(0.0), (s.1 + eps).min(1.0));
        }
        (
            format!("samples: empirical distribution ({} samples)", pairs.len()),
            format!("95 % band for the whole curve (DKW, ±{eps:.3})"),
        )
    } else {
        (
            format!(
                "samples: Kaplan–Meier ({} samples, {censored} censored)",
                pairs.len()
            ),
            "95 % interval at each time (Greenwood, log-log)".to_string(),
        )
    };
    if steps.is_empty() {
        return Err(CliError::BadInput(
            "--plot: every sample is censored: there is no distribution to draw".into(),
        ));
    }
    let (lo, hi) = span(&pairs);
    let (lo, hi) = ((lo - (hi - lo) * 0.05).max(0.0), hi + (hi - lo) * 0.05);
    let curves: Vec<Series> = fits
        .iter()
        .map(|f| Series {
            name: format!("{} (AIC {:.1})", f.family.name(), f.aic),
            points: (0..=120)
                .map(|i| {
                    let x = lo + (hi - lo) * f64::from(i) / 120.0;
                    let p = f.dist.cdf(x);
                    (x, p, p, p)
                })
                .collect(),
            markers: false,
        })
        .collect();
    step_chart(
        path,
        &StepChart {
            title: "Measured restart times and the fitted distributions",
            x_label: "seconds",
            y_label: "P(restart time ≤ x)",
            log: false,
            steps: &steps,
            start: 0.0,
            floor: 0.0,
            curves: &curves,
            marks: &[],
            step_label: &step_label,
            band_label: &band_label,
            notes: &[],
            x_format: &crate::report::charts::short,
        },
    )
    .map_err(CliError::Failed)
}

/// The smallest and largest sample.
fn span(pairs: &[(f64, bool)]) -> (f64, f64) {
    pairs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        })
}

/// Reads a samples file.
pub fn read_samples(path: &std::path::Path) -> Result<Vec<Sample>, CliError> {
    let text = crate::fsio::read_input(path, crate::fsio::TEXT_CAP)?;
    let mut out = vec![];
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cells = line.split(',').map(str::trim);
        let first = cells.next().unwrap_or("");
        let value: f64 = match first.parse() {
            Ok(v) => v,
            Err(_) if out.is_empty() => continue, // a header
            Err(_) => {
                return Err(CliError::BadInput(format!(
                    "{}:{}: \"{first}\" is not a number of seconds",
                    path.display(),
                    i + 1
                )));
            }
        };
        let censored = matches!(cells.next(), Some("censored" | "1" | "true"));
        out.push(Sample { value, censored });
    }
    Ok(out)
}

/// A model-file line for a fit.
pub fn model_entry(f: &Fit) -> String {
    let params: Vec<String> = f
        .params
        .iter()
        .map(|(k, v)| match *k {
            "mean" | "scale" => format!("{k} = \"{}s\"", sig(*v)),
            _ => format!("{k} = {}", sig(*v)),
        })
        .collect();
    format!(
        "{{ dist = \"{}\", {} }}",
        f.family.name(),
        params.join(", ")
    )
}

fn sig(v: f64) -> String {
    format!("{}", (v * 1e6).round() / 1e6)
}

pub fn fit_cmd(args: &FitArgs) -> Result<(), CliError> {
    let samples = read_samples(&args.samples)?;
    let inputs = [args.samples.clone()];
    if let Some(out) = &args.out {
        refuse_input("--out", out, &inputs).map_err(CliError::BadInput)?;
        crate::calibrate::file::check_target(out)?;
    }
    if let Some(plot) = &args.plot {
        refuse_input("--plot", plot, &inputs).map_err(CliError::BadInput)?;
        if args
            .out
            .as_ref()
            .is_some_and(|o| same_file(o, plot) || o == plot)
        {
            return Err(CliError::BadInput(format!(
                "--plot {}: is also --out",
                plot.display()
            )));
        }
    }
    let fits = match args.dist {
        DistChoice::Auto => fit_all(&samples),
        one => {
            let family = match one {
                DistChoice::Exponential => Family::Exponential,
                DistChoice::Lognormal => Family::LogNormal,
                DistChoice::Weibull => Family::Weibull,
                _ => Family::Gamma,
            };
            fit(&samples, family).map(|f| vec![f])
        }
    }
    .map_err(|e| CliError::BadInput(format!("{}: {e}", args.samples.display())))?;
    let censored = samples.iter().filter(|s| s.censored).count();
    let mut warnings = vec![];
    if args.dist == DistChoice::Auto && samples.len() < FEW_SAMPLES {
        warnings.push(format!(
            "only {} samples: AIC cannot reliably choose between families; measure at least {FEW_SAMPLES}",
            samples.len()
        ));
    }
    if fits.iter().any(|f| f.ks.is_some()) {
        warnings.push(
            "the Kolmogorov-Smirnov p-values are too large: the parameters were fitted to the same samples".into(),
        );
    }
    let best = &fits[0];
    if let Some(path) = &args.plot {
        plot(path, &samples, &fits)?;
    }
    if let (Some(out), Some(name)) = (&args.out, &args.name) {
        write_entry(out, name, &args.source, &samples, &fits)?;
    }
    let text = match args.format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = fits
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "family": f.family.name(),
                        "params": f.params.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
                        "log_likelihood": f.log_likelihood,
                        "aic": f.aic,
                        "ks_statistic": f.ks.map(|k| k.0),
                        "ks_p_value": f.ks.map(|k| k.1),
                        "model_entry": model_entry(f),
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "samples": samples.len(),
                "censored": censored,
                "chosen": best.family.name(),
                "fits": rows,
                "warnings": warnings,
            });
            crate::schema::pretty(doc)
        }
        Format::Table => {
            let mut o = String::new();
            let _ = writeln!(
                o,
                "{} samples ({censored} censored) from {}\n",
                samples.len(),
                args.samples.display()
            );
            let _ = writeln!(
                o,
                "{:<12} {:>10} {:>10} {:>8} {:>8}  parameters",
                "family", "ln L", "AIC", "KS D", "KS p"
            );
            for f in &fits {
                let (d, p) = f.ks.map_or(("-".to_string(), "-".to_string()), |(d, p)| {
                    (format!("{d:.4}"), format!("{p:.3}"))
                });
                let params: Vec<String> = f
                    .params
                    .iter()
                    .map(|(k, v)| format!("{k} {}", sig(*v)))
                    .collect();
                let _ = writeln!(
                    o,
                    "{:<12} {:>10.3} {:>10.3} {d:>8} {p:>8}  {}",
                    f.family.name(),
                    f.log_likelihood,
                    f.aic,
                    params.join(", ")
                );
            }
            let _ = writeln!(o, "\nbest by AIC: restart = {}", model_entry(best));
            for w in &warnings {
                let _ = writeln!(o, "warning: {w}");
            }
            o
        }
    };
    Sink::open(None, &[])?.write(&text)
}
