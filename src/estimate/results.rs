//! The results of a run, as MODEL-SPEC.md "Results" names them, and their two renderings:
//! the JSON contract and a table for people.

use std::fmt::Write as _;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::Tally;
use crate::model::Model;
use crate::stats::{Histogram, Moments, wilson};
use crate::units::{YEAR, format_duration};

/// A mean with its interval.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub std_err: f64,
}

impl Estimate {
    pub(crate) fn of(m: &Moments, confidence: f64) -> Self {
        let (ci_low, ci_high) = m.t_interval(confidence);
        Estimate {
            mean: m.mean,
            ci_low,
            ci_high,
            std_err: m.std_err(),
        }
    }

    /// [`Estimate::of`] for a quantity that cannot be negative (a time, a count, an
    /// unavailability): the interval is cut at zero, so the availability's never passes 1.
    pub(crate) fn of_nonnegative(m: &Moments, confidence: f64) -> Self {
        let mut e = Estimate::of(m, confidence);
        e.ci_low = e.ci_low.max(0.0);
        e
    }

    /// `f·x` for an estimate of `x`, `f > 0`.
    pub(crate) fn scaled(self, f: f64) -> Self {
        Estimate {
            mean: self.mean * f,
            ci_low: self.ci_low * f,
            ci_high: self.ci_high * f,
            std_err: self.std_err * f,
        }
    }

    /// `1 − x` for an estimate of `x`.
    pub(crate) fn complement(self) -> Self {
        Estimate {
            mean: 1.0 - self.mean,
            ci_low: 1.0 - self.ci_high,
            ci_high: 1.0 - self.ci_low,
            std_err: self.std_err,
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Downtime {
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    /// Relative resolution of the quantiles (half a bin).
    pub quantile_resolution: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Outages {
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Fraction of histories with at least one outage.
    pub p_any: f64,
    /// Mean length of one outage (total X over total outages), seconds.
    pub mean_length_seconds: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Slo {
    pub target: f64,
    pub p_meet: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The most downtime a history may have and meet the target, seconds.
    pub max_downtime_seconds: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StageResult {
    #[serde(skip)]
    pub name: String,
    pub availability: Estimate,
    pub failures: Estimate,
}

/// X attributed to one cause.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CauseResult {
    /// A label for people: "C hang", "node minikube", "C maintenance".
    pub cause: String,
    #[serde(flatten)]
    pub what: crate::sim::CauseName,
    /// Per-history seconds of X attributed to it.
    pub downtime_seconds: Estimate,
    /// Its part of the mean X.
    pub share: f64,
    /// The share's interval at the run's confidence (delta method on the per-history
    /// pairs of this cause's X and all causes' X; see [`crate::stats::Ratio`]).
    pub share_ci_low: f64,
    pub share_ci_high: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Perf {
    pub wall_seconds: f64,
    pub years_per_second: f64,
    pub events: u64,
    pub threads: usize,
    /// The engine that simulated the histories: `events`, or `timelines` for a model
    /// whose replicas are independent.
    pub engine: String,
}

/// Everything `hasim run` prints.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub model: String,
    pub replications: u64,
    pub horizon_seconds: f64,
    pub seed: u64,
    pub confidence: f64,
    pub availability: Estimate,
    pub downtime_seconds: Downtime,
    pub outages: Outages,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo: Option<Slo>,
    /// Readable and holding data at most `freshness` old (with a freshness).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fresh_availability: Option<Estimate>,
    /// Kept / produced metrics per history (with a data flow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completeness: Option<Estimate>,
    /// Metrics lost per history (with a data flow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_metrics: Option<Estimate>,
    /// X by cause, largest first; the means sum to the mean X.
    pub causes: Vec<CauseResult>,
    #[serde(serialize_with = "stages_by_name")]
    pub stages: Vec<StageResult>,
    pub warnings: Vec<String>,
    /// In a sweep: per history, this point's X minus the model's own point's X from the
    /// same random streams, seconds per horizon, with its (paired) interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downtime_difference_seconds: Option<Estimate>,
    /// Paired like `downtime_difference_seconds`, with a data flow: this point's lost
    /// metrics minus the model's own point's, per history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_metrics_difference: Option<Estimate>,
    /// With `--uncertainty N`: the two-loop run over the uncertain parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<super::uncertainty::UncertaintyReport>,
    /// Why the run stopped where it did.
    pub stopping: Stopping,
    /// Which estimator ran, why, and which gave each field.
    pub estimation: Estimation,
    pub perf: Perf,
}

/// How a report was estimated.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Estimation {
    /// `plain` (Monte Carlo over histories) or `restart_splitting` (importance splitting
    /// on the same histories).
    pub method: &'static str,
    /// Both estimate the mean over histories of the horizon from an all-ready start.
    pub estimand: &'static str,
    /// `asked` (`--method`) or `auto` (a pilot chose).
    pub chosen: &'static str,
    /// Why `auto` chose it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With splitting: the estimator of each field, `splitting` or `plain` (the main
    /// histories as plain samples). Empty for a plain run.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fields: std::collections::BTreeMap<&'static str, &'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub splitting: Option<SplitDetails>,
}

impl Estimation {
    /// Plain simulation, as asked.
    pub fn plain() -> Self {
        Estimation {
            method: "plain",
            estimand: "horizon_mean",
            chosen: "asked",
            reason: None,
            fields: Default::default(),
            splitting: None,
        }
    }
}

/// What importance splitting did.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SplitDetails {
    /// What the level counted: `not_ready` or `held`.
    pub importance: crate::sim::Importance,
    /// Variance per history of plain simulation over that of splitting: how many times
    /// fewer histories the same precision needs. The plain variance is the larger of the
    /// main histories' own (they are plain samples) and a lower bound from the outages'
    /// squared lengths; `null` when neither saw an outage.
    pub variance_reduction: Option<f64>,
    /// The variance reduction per unit of work (events applied, copies included): how
    /// many times less computing the same precision needs.
    pub speedup: Option<f64>,
    pub levels: Vec<LevelReport>,
    /// Histories and copies, main histories included.
    pub copies: u64,
    /// Main histories in which some copy was unreadable.
    pub histories_with_outage: u64,
    /// Seconds spent choosing the factors (and, with `auto`, the method).
    pub pilot_seconds: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LevelReport {
    /// Threshold `l`: a history at level `l` or above has crossed it.
    pub threshold: u32,
    /// Copies made at each crossing (the history itself included).
    pub factor: u32,
    /// Times a copy crossed it (unweighted).
    pub crossings: u64,
    /// Whether the pilot chose the factor.
    pub from_pilot: bool,
}

/// Why a run ended after the replications it has.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Stopping {
    /// `replications`: it ran the number asked for; `precision`: the interval reached
    /// `--precision`; `max_replications`: `--max-replications` came first.
    pub reason: &'static str,
    /// The `--precision` asked for (relative half-width of the interval on 1 − A).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    /// Half-width of the interval on unavailability over unavailability (null when
    /// there is no interval or no downtime).
    pub relative_half_width: Option<f64>,
}

impl Stopping {
    /// The relative half-width of the interval on unavailability, if finite.
    pub fn relative_half_width(tally: &Tally, confidence: f64) -> Option<f64> {
        let m = &tally.unavailability;
        let r = m.half_width(confidence) / m.mean;
        (m.mean > 0.0 && r.is_finite()).then_some(r)
    }
}

fn stages_by_name<S: Serializer>(stages: &[StageResult], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(stages.len()))?;
    for st in stages {
        m.serialize_entry(&st.name, st)?;
    }
    m.end()
}

impl RunReport {
    pub fn new(model: &Model, seed: u64, tally: &Tally, perf: Perf) -> Self {
        let c = model.simulation.confidence;
        let n = tally.replications();
        let horizon = model.simulation.horizon;
        let availability = Estimate::of_nonnegative(&tally.unavailability, c).complement();
        let downtime = Estimate::of_nonnegative(&tally.unavailability, c);
        let total_outages = tally.outages.mean * n as f64;
        let outages = Estimate::of_nonnegative(&tally.outages, c);
        let mut warnings = vec![];
        if n < 2 {
            warnings.push("one replication gives no interval: raise --replications".to_string());
        }
        if tally.with_outage < 30 {
            warnings.push(format!(
                "only {} of {n} histories saw an outage: the interval on availability is unreliable; \
                 raise --replications (about {} would give 30 such histories)",
                tally.with_outage,
                if tally.with_outage == 0 {
                    "many more".to_string()
                } else {
                    format!("{}", (30.0 * n as f64 / tally.with_outage as f64).ceil() as u64)
                }
            ));
        }
        let slo = model.system.slo.map(|target| {
            let (ci_low, ci_high) = wilson(tally.slo_met, n, c);
            Slo {
                target,
                p_meet: tally.slo_met as f64 / n as f64,
                ci_low,
                ci_high,
                max_downtime_seconds: (1.0 - target) * horizon,
            }
        });
        let stages = model
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| StageResult {
                name: s.name.clone(),
                availability: Estimate::of(&tally.stage_unavailability[i], c).complement(),
                failures: Estimate::of(&tally.stage_failures[i], c),
            })
            .collect();
        let has_flow = model.system.flow.is_some();
        let has_freshness = model
            .system
            .flow
            .as_ref()
            .is_some_and(|f| f.freshness.is_some());
        let causes = RunReport::causes_of(model, &tally.causes, &tally.cause_shares, c);
        RunReport {
            fresh_availability: has_freshness
                .then(|| Estimate::of(&tally.stale_or_down, c).complement()),
            completeness: has_flow.then(|| Estimate::of(&tally.completeness, c)),
            lost_metrics: has_flow.then(|| Estimate::of(&tally.lost, c)),
            causes,
            model: model.name.clone(),
            replications: n,
            horizon_seconds: horizon,
            seed,
            confidence: c,
            availability,
            downtime_seconds: Downtime {
                mean: downtime.mean * horizon,
                ci_low: downtime.ci_low * horizon,
                ci_high: downtime.ci_high * horizon,
                p50: tally.downtime.quantile(0.50),
                p95: tally.downtime.quantile(0.95),
                p99: tally.downtime.quantile(0.99),
                max: tally.downtime.max(),
                quantile_resolution: ((1.0 + Histogram::REL_WIDTH).sqrt() - 1.0),
            },
            outages: Outages {
                mean: outages.mean,
                ci_low: outages.ci_low,
                ci_high: outages.ci_high,
                p_any: tally.with_outage as f64 / n as f64,
                mean_length_seconds: if total_outages > 0.0 {
                    downtime.mean * horizon * n as f64 / total_outages
                } else {
                    0.0
                },
            },
            slo,
            stages,
            warnings,
            downtime_difference_seconds: (tally.paired.n > 0)
                .then(|| Estimate::of(&tally.paired, c)),
            lost_metrics_difference: (tally.paired_lost.n > 0 && model.system.flow.is_some())
                .then(|| Estimate::of(&tally.paired_lost, c)),
            uncertainty: None,
            stopping: Stopping {
                reason: "replications",
                precision: None,
                relative_half_width: Stopping::relative_half_width(tally, c),
            },
            estimation: Estimation::plain(),
            perf,
        }
    }

    /// X by cause, largest first, from per-history seconds of X attributed to each
    /// cause (in [`crate::sim::cause_names`] order); shares of their sum, the mean X.
    pub(crate) fn causes_of(
        model: &Model,
        per_cause: &[Moments],
        shares: &[crate::stats::Ratio],
        c: f64,
    ) -> Vec<CauseResult> {
        let mean_x: f64 = per_cause.iter().map(|m| m.mean).sum();
        let mut causes: Vec<CauseResult> = crate::sim::cause_names(model)
            .into_iter()
            .zip(per_cause)
            .zip(shares)
            .filter(|((_, m), _)| m.mean > 0.0)
            .map(|((what, m), r)| {
                let share = if mean_x > 0.0 { m.mean / mean_x } else { 0.0 };
                let (share_ci_low, share_ci_high) = r
                    .interval(c, 0.0, 1.0)
                    .map_or((f64::NAN, f64::NAN), |(_, lo, hi)| (lo, hi));
                CauseResult {
                    cause: what.label(),
                    what,
                    downtime_seconds: Estimate::of_nonnegative(m, c),
                    share,
                    share_ci_low,
                    share_ci_high,
                }
            })
            .collect();
        causes.sort_by(|a, b| b.downtime_seconds.mean.total_cmp(&a.downtime_seconds.mean));
        causes
    }

    /// Where no paired difference was made (a splitting run cannot share its copies'
    /// random numbers with another model's): the difference of X to `base`'s report from
    /// the two estimates, its normal interval on the sum of their variances. The two runs
    /// share their main histories' streams, which correlates them positively, so this
    /// interval is wider than the truth (conservative), never narrower.
    pub fn set_unpaired_difference(&mut self, base: &RunReport) {
        if self.downtime_difference_seconds.is_some() {
            return;
        }
        if self.downtime_seconds == base.downtime_seconds
            && self.availability == base.availability
            && self.replications == base.replications
        {
            // The same run (the model's own point): the same streams gave the same numbers.
            self.downtime_difference_seconds = Some(Estimate {
                mean: 0.0,
                ci_low: 0.0,
                ci_high: 0.0,
                std_err: 0.0,
            });
            return;
        }
        let se = |r: &RunReport| r.availability.std_err * r.horizon_seconds;
        let (a, b) = (se(self), se(base));
        let std_err = (a * a + b * b).sqrt();
        let mean = self.downtime_seconds.mean - base.downtime_seconds.mean;
        let h = crate::stats::z_quantile(self.confidence) * std_err;
        self.downtime_difference_seconds = Some(Estimate {
            mean,
            ci_low: mean - h,
            ci_high: mean + h,
            std_err,
        });
    }

    /// The JSON of MODEL-SPEC.md, one object.
    pub fn to_json(&self) -> String {
        crate::schema::pretty(self)
    }

    /// A table for people.
    pub fn to_table(&self) -> String {
        let mut o = String::new();
        let pct = (self.confidence * 100.0).round();
        let years = self.horizon_seconds / YEAR;
        let _ = writeln!(o, "{}", self.model);
        let _ = writeln!(
            o,
            "{} {}histories of {} year(s) each, seed {}{}\n",
            self.replications,
            if self.estimation.method == "plain" {
                "simulated "
            } else {
                "main "
            },
            trim(years),
            self.seed,
            match self.estimation.method {
                "plain" => String::new(),
                _ => ", importance splitting (RESTART)".into(),
            }
        );
        if let Some(why) = &self.estimation.reason {
            let _ = writeln!(o, "method chosen by a pilot: {why}\n");
        }
        let a = &self.availability;
        let _ = writeln!(
            o,
            "availability 1 - X/Y   {}   ({pct}% CI {} .. {}, {})",
            fmt_avail(a.mean),
            fmt_avail(a.ci_low),
            fmt_avail(a.ci_high),
            nines(a.mean)
        );
        let d = &self.downtime_seconds;
        let _ = writeln!(
            o,
            "downtime X per history mean {}  p50 {}  p95 {}  p99 {}  max {}",
            format_duration(d.mean),
            format_duration(d.p50),
            format_duration(d.p95),
            format_duration(d.p99),
            format_duration(d.max)
        );
        let _ = writeln!(
            o,
            "outages per history    {:.3}  (mean length {}; {:.1}% of histories have one)",
            self.outages.mean,
            format_duration(self.outages.mean_length_seconds),
            self.outages.p_any * 100.0
        );
        if let Some(s) = &self.slo {
            let _ = writeln!(
                o,
                "SLO {}                 P(meet) {:.4}  ({pct}% CI {:.4} .. {:.4}; at most {} down)",
                s.target,
                s.p_meet,
                s.ci_low,
                s.ci_high,
                format_duration(s.max_downtime_seconds)
            );
        }
        if let Some(f) = &self.fresh_availability {
            let _ = writeln!(
                o,
                "fresh availability     {}   ({pct}% CI {} .. {}; readable with recent data)",
                fmt_avail(f.mean),
                fmt_avail(f.ci_low),
                fmt_avail(f.ci_high)
            );
        }
        if let (Some(c), Some(l)) = (&self.completeness, &self.lost_metrics) {
            let _ = writeln!(
                o,
                "completeness           {}   ({pct}% CI {} .. {}; {:.1} metrics lost per history)",
                fmt_avail(c.mean),
                fmt_avail(c.ci_low),
                fmt_avail(c.ci_high),
                l.mean
            );
        }
        if !self.causes.is_empty() {
            let _ = writeln!(
                o,
                "\nwhere X comes from (the earliest cause keeping the read path down):"
            );
            for c in &self.causes {
                let share = if c.share_ci_low.is_finite() {
                    format!(
                        "{:>5.1}%  ({pct}% CI {:.1} .. {:.1}%)",
                        c.share * 100.0,
                        c.share_ci_low * 100.0,
                        c.share_ci_high * 100.0
                    )
                } else {
                    format!("{:>5.1}%", c.share * 100.0)
                };
                let _ = writeln!(
                    o,
                    "  {:<28} {:>10} per history  {share}",
                    c.cause,
                    format_duration(c.downtime_seconds.mean),
                );
            }
        }
        let _ = writeln!(
            o,
            "\n{:<12} {:>14} {:>12} {:>14}",
            "stage", "availability", "down/year", "failures"
        );
        for s in &self.stages {
            let down_per_year = (1.0 - s.availability.mean) * YEAR;
            let _ = writeln!(
                o,
                "{:<12} {:>14} {:>12} {:>14.3}",
                s.name,
                fmt_avail(s.availability.mean),
                format_duration(down_per_year),
                s.failures.mean
            );
        }
        if let Some(p) = self.stopping.precision {
            let rhw = self
                .stopping
                .relative_half_width
                .map_or("none".to_string(), |r| format!("{r:.4}"));
            let _ = writeln!(
                o,
                "\nstopped after {} histories: {} (asked {p}, interval half-width / unavailability {rhw})",
                self.replications,
                if self.stopping.reason == "precision" {
                    "precision reached"
                } else {
                    "--max-replications reached before the precision"
                }
            );
        }
        if let Some(sp) = &self.estimation.splitting {
            let _ = writeln!(
                o,
                "\nsplitting: threshold factor crossings{}",
                if sp.levels.iter().any(|l| l.from_pilot) {
                    "   (factors from a pilot)"
                } else {
                    ""
                }
            );
            for l in &sp.levels {
                let _ = writeln!(o, "{:>20} {:>6} {:>9}", l.threshold, l.factor, l.crossings);
            }
            let _ = match (sp.variance_reduction, sp.speedup) {
                (Some(v), Some(w)) => writeln!(
                    o,
                    "variance reduction over plain simulation: {v:.3e} per history, {w:.3e} per unit of work"
                ),
                _ => writeln!(
                    o,
                    "variance reduction over plain simulation: not estimated (no outage seen)"
                ),
            };
            let _ = writeln!(
                o,
                "from the main histories as plain samples: the downtime's quantiles, the SLO, the share of histories with an outage, the stages{}",
                if self.completeness.is_some() {
                    ", freshness, completeness and lost metrics"
                } else {
                    ""
                }
            );
        }
        if let Some(u) = &self.uncertainty {
            o.push_str(&u.to_table(self.confidence, self.slo.as_ref().map(|s| s.target)));
        }
        let _ = writeln!(
            o,
            "\n{} events in {:.2} s on {} threads ({} engine): {:.0} simulated years/s",
            self.perf.events,
            self.perf.wall_seconds,
            self.perf.threads,
            self.perf.engine,
            self.perf.years_per_second
        );
        o
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// An availability with enough digits to show its nines.
pub fn fmt_avail(a: f64) -> String {
    if !a.is_finite() {
        return "n/a".into();
    }
    let u = 1.0 - a;
    let digits = if u <= 0.0 {
        6
    } else {
        ((-u.log10()).ceil() as usize + 3).clamp(4, 12)
    };
    format!("{a:.digits$}")
}

/// "3.2 nines" and downtime per year, how people read availability.
pub fn nines(a: f64) -> String {
    let u = 1.0 - a;
    if u <= 0.0 {
        return "no downtime seen".into();
    }
    format!(
        "{:.2} nines, {} down per year",
        -u.log10(),
        format_duration(u * YEAR)
    )
}
