//! `hasim calibrate history`: failure rates and outage durations from what a cluster's
//! operators already recorded.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::output::Sink;
use super::{CliError, Format};
use crate::calibrate::file::{FileError, check_target, entry_item, rate_item, write_items};
use crate::calibrate::fit::{Sample, fit_all};
use crate::calibrate::history::{ModeHistory, estimate, parse_incidents, parse_time};
use crate::calibrate::rates::Prior;
use crate::units::{DAY, YEAR, format_duration};

const HISTORY_HELP: &str = "\
Examples:
  hasim calibrate history --incidents incidents.csv --from 2026-01-01T00:00:00Z --to 2026-04-01T00:00:00Z
  hasim calibrate history --incidents incidents.csv --from … --to … --component chronograf --out calibration/history.toml
  hasim calibrate history --incidents incidents.csv --from … --to … --prior 1.6,4.38e-6/h --format json

The incident log is CSV: component,start,end[,mode] with RFC 3339 times (an empty end:
still going), an optional header line, # comments. For each component and mode: the
events that started in the window, the exposure (the component's time up in the window),
the maximum likelihood rate, the posterior Gamma(x + a, T + b) — Jeffreys' prior (a = 1/2,
b = 0) unless --prior SHAPE,MEAN_RATE gives one — with its mean and interval, and the
classical chi-square interval. A component named with --component that is not in the log
had no incident: zero events over the whole window, which is evidence too.

--out writes one entry per component and mode into a calibration file: COMPONENT-MODE-every
(fit: the exponential at the posterior mean, so a model's every = { calibration = FILE,
name = … } uses it; rate: the count, exposure and estimates) and, with two or more outages
measured, COMPONENT-MODE-outage (the durations, censored where the window cut them, and
their fits, as hasim fit writes). Entries are replaced, the rest of the file kept; nothing
is written on error.";

#[derive(Debug, Args)]
#[command(after_help = HISTORY_HELP)]
pub struct HistoryArgs {
    /// The incident log (CSV: component,start,end[,mode]).
    #[arg(long, value_name = "FILE")]
    pub incidents: PathBuf,
    /// The start of the window the log covers (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// The end of the window (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub to: String,
    /// A component observed over the window (repeatable); one absent from the log had none.
    #[arg(long = "component", value_name = "NAME")]
    pub components: Vec<String>,
    /// A gamma prior: its shape and mean rate, per second or with a unit (1.6,4.38e-6/h).
    #[arg(long, value_name = "SHAPE,MEAN_RATE")]
    pub prior: Option<String>,
    /// The level of the intervals.
    #[arg(long, default_value_t = 0.9)]
    pub level: f64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The calibration file to write the entries into.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn history_cmd(a: &HistoryArgs) -> Result<(), CliError> {
    let bad = CliError::BadInput;
    if !(a.level > 0.0 && a.level < 1.0) {
        return Err(bad(format!("--level {}: must be in (0, 1)", a.level)));
    }
    let from = parse_time(&a.from).map_err(|e| bad(format!("--from: {e}")))?;
    let to = parse_time(&a.to).map_err(|e| bad(format!("--to: {e}")))?;
    let prior = a
        .prior
        .as_deref()
        .map(Prior::parse)
        .transpose()
        .map_err(bad)?;
    if let Some(out) = &a.out {
        check_target(out).map_err(file_error)?;
    }
    let text = crate::fsio::read_text(&a.incidents, crate::fsio::TEXT_CAP)?;
    let shown = a.incidents.display().to_string();
    let incidents = parse_incidents(&shown, &text).map_err(bad)?;
    let h = estimate(&incidents, from, to, &a.components, prior, a.level).map_err(bad)?;
    let source = format!(
        "hasim calibrate history: {shown}, {} to {}",
        a.from.trim(),
        a.to.trim()
    );
    let mut written = vec![];
    if let Some(out) = &a.out {
        let mut items = vec![];
        for m in &h {
            let every = format!("{}-{}-every", m.component, m.mode);
            items.push((
                every.clone(),
                rate_item(&every, &source, &m.rate).map_err(file_error)?,
            ));
            written.push(every);
            let samples: Vec<Sample> = m.outages.iter().map(|&o| o.into()).collect();
            if samples.iter().filter(|s| !s.censored).count() >= 2
                && let Ok(fits) = fit_all(&samples)
            {
                let name = format!("{}-{}-outage", m.component, m.mode);
                items.push((
                    name.clone(),
                    entry_item(
                        &name,
                        &format!("{source}: outage durations"),
                        &samples,
                        &fits,
                    )
                    .map_err(file_error)?,
                ));
                written.push(name);
            }
        }
        write_items(out, items).map_err(file_error)?;
    }
    let out = match a.format {
        Format::Json => {
            let v = serde_json::json!({
                "incidents": shown,
                "from": a.from.trim(),
                "to": a.to.trim(),
                "level": a.level,
                "prior": prior.map_or("jeffreys".to_string(), |p| format!("gamma({}, {})", p.shape, p.rate)),
                "rates_per": "second",
                "modes": h,
                "calibration_file": a.out.as_ref().map(|p| p.display().to_string()),
                "entries": written,
            });
            serde_json::to_string_pretty(&v).expect("serialises") + "\n"
        }
        Format::Table => table(&h, a.level, &written, a.out.as_ref()),
    };
    Sink::open(None, &[])?.write(&out)
}

fn file_error(e: FileError) -> CliError {
    match e {
        FileError::Bad(m) => CliError::BadInput(m),
        FileError::Io(m) => CliError::Failed(m),
    }
}

fn table(h: &[ModeHistory], level: f64, written: &[String], out: Option<&PathBuf>) -> String {
    let mut o = String::new();
    let pct = format!("{:.0} %", level * 100.0);
    let _ = writeln!(
        o,
        "{:<16} {:<10} {:>6} {:>10} {:>9} {:>9} {:>20} {:>20} {:>8}",
        "component",
        "mode",
        "events",
        "exposure",
        "MLE /y",
        "mean /y",
        format!("{pct} posterior /y"),
        format!("{pct} chi-square /y"),
        "outages"
    );
    for m in h {
        let r = &m.rate;
        let y = |x: f64| x * YEAR;
        let censored = m.outages.iter().filter(|o| o.censored).count();
        let _ = writeln!(
            o,
            "{:<16} {:<10} {:>6} {:>10} {:>9.3} {:>9.3} {:>20} {:>20} {:>8}",
            m.component,
            m.mode,
            r.count,
            format!("{:.1}d", r.exposure_seconds / DAY),
            y(r.mle),
            y(r.mean),
            format!("{:.3} .. {:.3}", y(r.credible.low), y(r.credible.high)),
            format!("{:.3} .. {:.3}", y(r.chi_square.low), y(r.chi_square.high)),
            if censored > 0 {
                format!("{} ({censored} cut)", m.outages.len())
            } else {
                m.outages.len().to_string()
            }
        );
        if let Some(longest) = m.outages.iter().map(|o| o.seconds).max_by(f64::total_cmp) {
            let _ = writeln!(o, "{:<28} longest outage {}", "", format_duration(longest));
        }
        if m.started_before > 0 {
            let _ = writeln!(
                o,
                "{:<28} {} incident(s) began before the window: not counted, their time down not exposure",
                "", m.started_before
            );
        }
    }
    let _ = writeln!(
        o,
        "\nRates per year. Posterior: Gamma(events + shape, exposure + prior rate); exposure: time up in the window."
    );
    if let Some(p) = out {
        let _ = writeln!(o, "Wrote {} to {}.", written.join(", "), p.display());
    }
    o
}
