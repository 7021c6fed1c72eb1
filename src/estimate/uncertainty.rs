//! Two-loop Monte Carlo: what the answer is worth when the parameters are not known.
//!
//! The outer loop draws every uncertain parameter's mean (a Latin hypercube: each
//! parameter's range cut into `draws` strata of equal probability, one draw in each, the
//! strata paired at random across parameters); the inner loop simulates the model with
//! those means for `replications` histories, from the same random streams for every draw
//! (common random numbers: the draws differ by their parameters, not by their luck). The
//! draws' mean availabilities are the epistemic distribution of availability; its
//! quantiles carry distribution-free order-statistic intervals, its mean a t interval over
//! draws (conservative under a Latin hypercube, which is at least as precise as
//! independent draws for a monotone answer). Which parameters drive the spread: the
//! Spearman rank correlation of each parameter's draws with the availability, and its
//! share of the sum of squares (the "contribution to variance" of PRA tools), with a
//! Fisher interval: a driver is named only where its interval excludes zero.
//!
//! Everything depends on the seed only: the hypercube comes from its own stream, every
//! draw's histories from the run's, and the inner runs are the same on any thread count.

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use super::plain::{RunError, RunPlan, simulate};
use crate::model::{Model, UncertainParameter};
use crate::stats::{Moments, wilson, z_quantile};
use crate::units::Seconds;

/// How to run the outer loop.
#[derive(Clone, Debug)]
pub struct UncertaintyPlan {
    pub draws: u64,
    /// Histories per draw.
    pub replications: u64,
    pub seed: u64,
    pub threads: usize,
    pub engine: crate::sim::EngineChoice,
}

/// A quantity's epistemic distribution over the draws.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
}

/// Each of [`Spread`]'s numbers with its interval at the run's confidence.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct SpreadIntervals {
    pub mean: [f64; 2],
    pub p05: [f64; 2],
    pub p50: [f64; 2],
    pub p95: [f64; 2],
}

/// One uncertain parameter's part in the spread.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Driver {
    pub parameter: String,
    /// `ρ² / Σρ²` over every uncertain parameter.
    pub share: f64,
    /// Spearman's ρ of the parameter's mean with the availability, with its interval.
    pub rank_correlation: f64,
    pub rank_correlation_ci: [f64; 2],
    /// The interval excludes zero.
    pub significant: bool,
}

/// An uncertain parameter as the run drew it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ParameterSummary {
    pub parameter: String,
    /// The law, in the model file's form (seconds).
    pub uncertain: crate::epistemic::Epistemic,
    /// The mean the point estimate used, and the law's 5 %, 50 % and 95 % points, seconds.
    pub point_seconds: Seconds,
    pub p05_seconds: Seconds,
    pub p50_seconds: Seconds,
    pub p95_seconds: Seconds,
}

/// One draw of the outer loop.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct Draw {
    /// Each uncertain parameter's mean, seconds, in `parameters`' order.
    pub means_seconds: Vec<Seconds>,
    pub availability: f64,
    /// The inner run's standard error on it.
    pub std_err: f64,
    /// The share of this draw's histories that met the SLO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_meet_slo: Option<f64>,
}

/// What `hasim run --uncertainty N` adds under `uncertainty`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct UncertaintyReport {
    pub draws: u64,
    pub replications_per_draw: u64,
    pub availability: Spread,
    pub availability_ci: SpreadIntervals,
    /// Downtime, minutes a year, over the draws (the mirror of `availability`).
    pub downtime_minutes_per_year: Spread,
    /// P(a history meets the SLO), over the uncertainty too: the mean over draws.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_meet_slo: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_meet_slo_ci: Option<[f64; 2]>,
    /// The share of draws whose mean availability meets the SLO (how sure one can be that
    /// the long-run availability does), with its Wilson interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_availability_meets_slo: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_availability_meets_slo_ci: Option<[f64; 2]>,
    pub drivers: Vec<Driver>,
    pub parameters: Vec<ParameterSummary>,
    /// The inner runs' largest standard error beside the spread between draws.
    pub inner_std_err_max: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Every draw (with `--format json`).
    pub draw_results: Vec<Draw>,
    pub wall_seconds: f64,
}

impl UncertaintyReport {
    /// The table's section: the band beside the point estimate printed above it.
    pub fn to_table(&self, confidence: f64, slo: Option<f64>) -> String {
        use crate::estimate::results::fmt_avail;
        use std::fmt::Write as _;
        let pct = confidence * 100.0;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "\nwhat is not known: {} draws (Latin hypercube) of {} uncertain parameter{}, {} histories each",
            self.draws,
            self.parameters.len(),
            if self.parameters.len() == 1 { "" } else { "s" },
            self.replications_per_draw
        );
        let (a, c) = (&self.availability, &self.availability_ci);
        let pair = |v: f64, ci: [f64; 2]| {
            format!(
                "{} ({pct}% CI {} .. {})",
                fmt_avail(v),
                fmt_avail(ci[0]),
                fmt_avail(ci[1])
            )
        };
        for (label, v, ci) in [
            (" 5 %", a.p05, c.p05),
            ("50 %", a.p50, c.p50),
            ("95 %", a.p95, c.p95),
            ("mean", a.mean, c.mean),
        ] {
            let head = if label == " 5 %" { "availability" } else { "" };
            let _ = writeln!(o, "  {head:<12}  {label}  {}", pair(v, ci));
        }
        let d = &self.downtime_minutes_per_year;
        let _ = writeln!(
            o,
            "  downtime      {:.1} .. {:.1} minutes a year (5 % .. 95 %), median {:.1}",
            d.p05, d.p95, d.p50
        );
        if let (Some(target), Some(p), Some(ci)) = (slo, self.p_meet_slo, self.p_meet_slo_ci) {
            let _ = writeln!(
                o,
                "  SLO {target}     P(a year meets it) {p:.4} ({pct}% CI {:.4} .. {:.4}), over the uncertainty too",
                ci[0], ci[1]
            );
        }
        if let (Some(target), Some(p), Some(ci)) = (
            slo,
            self.p_availability_meets_slo,
            self.p_availability_meets_slo_ci,
        ) {
            let _ = writeln!(
                o,
                "                P(the mean availability is at least {target}) {p:.3} ({pct}% CI {:.3} .. {:.3})",
                ci[0], ci[1]
            );
        }
        let named: Vec<&Driver> = self.drivers.iter().filter(|d| d.significant).collect();
        if named.is_empty() {
            let _ = writeln!(
                o,
                "  drivers       none measurable: no parameter's rank correlation with the availability excludes zero"
            );
        } else {
            let _ = writeln!(
                o,
                "  what drives the spread (share of the squared rank correlations):"
            );
            for d in &named {
                let _ = writeln!(
                    o,
                    "    {:<40} {:>5.1} %  (rank correlation {:+.2}, {pct}% CI {:+.2} .. {:+.2})",
                    d.parameter,
                    d.share * 100.0,
                    d.rank_correlation,
                    d.rank_correlation_ci[0],
                    d.rank_correlation_ci[1]
                );
            }
            let rest: Vec<&str> = self
                .drivers
                .iter()
                .filter(|d| !d.significant)
                .map(|d| d.parameter.as_str())
                .collect();
            if !rest.is_empty() {
                let _ = writeln!(o, "    no measurable effect: {}", rest.join(", "));
            }
        }
        o
    }
}

/// Why an uncertainty run cannot run.
#[derive(Debug, thiserror::Error)]
pub enum UncertaintyError {
    #[error(
        "the model has no uncertain parameter: give one an `uncertain = {{ … }}` law, or use an `every` from `hasim calibrate history` (docs/MODEL-SPEC-extensions.md)"
    )]
    NothingUncertain,
    #[error("--uncertainty needs at least 10 draws, found {0}")]
    TooFewDraws(u64),
    #[error(transparent)]
    Run(#[from] RunError),
    /// What `run_draws`' caller stopped it for (a part that cannot be written).
    #[error("{0}")]
    Stopped(String),
}

/// The hypercube's stream: the run's seed, kept apart from every history's stream.
fn hypercube_rng(seed: u64) -> Xoshiro256PlusPlus {
    let mut s = seed ^ 0x3C6E_F372_FE94_F82B;
    let mut bytes = [0u8; 32];
    for k in 0..4 {
        let w = crate::sim::splitmix64(&mut s);
        bytes[k * 8..k * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    Xoshiro256PlusPlus::from_seed(bytes)
}

/// A Latin hypercube of `n` points in `dims` dimensions: `u[i][j]` in (0, 1), every
/// column holding one point in each of the `n` strata.
pub fn latin_hypercube(n: usize, dims: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = hypercube_rng(seed);
    let mut u = vec![vec![0.0; dims]; n];
    for j in 0..dims {
        let mut strata: Vec<usize> = (0..n).collect();
        // Fisher–Yates.
        for i in (1..n).rev() {
            let k = rng.random_range(0..=i);
            strata.swap(i, k);
        }
        for (i, row) in u.iter_mut().enumerate() {
            let within = crate::dist::unit_interval(&mut rng);
            row[j] = (strata[i] as f64 + within) / n as f64;
        }
    }
    u
}

/// Refuses a run that cannot be made: nothing uncertain, or too few draws for a 5 % point.
pub fn check(model: &Model, draws: u64) -> Result<(), UncertaintyError> {
    if model.uncertain_parameters().is_empty() {
        return Err(UncertaintyError::NothingUncertain);
    }
    if draws < 10 {
        return Err(UncertaintyError::TooFewDraws(draws));
    }
    Ok(())
}

/// Runs the outer loop on `model`; `progress` sees the histories done over every draw.
pub fn estimate(
    model: &Model,
    plan: &UncertaintyPlan,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<UncertaintyReport, UncertaintyError> {
    check(model, plan.draws)?;
    let started = std::time::Instant::now();
    let draws = run_draws(model, plan, 0..plan.draws, progress, &mut |_, _| Ok(()))?;
    Ok(summarise_draws(
        model,
        plan,
        draws,
        started.elapsed().as_secs_f64(),
    ))
}

/// Draws `range` of the plan's `draws` (the whole plan's Latin hypercube, so a shard's
/// draws are the whole run's), each simulated in full; `on_draw` sees each as it ends
/// (an error from it stops the run).
pub fn run_draws(
    model: &Model,
    plan: &UncertaintyPlan,
    range: std::ops::Range<u64>,
    progress: &(dyn Fn(u64) + Sync),
    on_draw: &mut dyn FnMut(u64, &Draw) -> Result<(), UncertaintyError>,
) -> Result<Vec<Draw>, UncertaintyError> {
    let parameters = model.uncertain_parameters();
    let cube = latin_hypercube(plan.draws as usize, parameters.len(), plan.seed);
    let mut draws = Vec::with_capacity((range.end - range.start) as usize);
    for i in range {
        let u = &cube[i as usize];
        let means: Vec<Seconds> = parameters
            .iter()
            .zip(u)
            .map(|(p, &u)| p.law.mean_at(u))
            .collect();
        let drawn = model.with_means(&means);
        let run = RunPlan {
            seed: plan.seed,
            first: 0,
            count: plan.replications,
            threads: plan.threads,
            engine: plan.engine,
        };
        let done = draws.len() as u64 * plan.replications;
        let out = simulate(&drawn, &run, &|k| progress(done + k))?;
        let t = &out.tally;
        let d = Draw {
            means_seconds: means,
            availability: 1.0 - t.unavailability.mean,
            std_err: t.unavailability.std_err(),
            p_meet_slo: model
                .system
                .slo
                .map(|_| t.slo_met as f64 / t.replications() as f64),
        };
        on_draw(i, &d)?;
        draws.push(d);
    }
    Ok(draws)
}

/// The report of every draw of the plan, in draw order.
pub fn summarise_draws(
    model: &Model,
    plan: &UncertaintyPlan,
    draws: Vec<Draw>,
    wall_seconds: f64,
) -> UncertaintyReport {
    let parameters = &model.uncertain_parameters()[..];
    let horizon = model.simulation.horizon;
    let c = model.simulation.confidence;
    let avail: Vec<f64> = draws.iter().map(|d| d.availability).collect();
    let (availability, availability_ci) = spread(&avail, c);
    let per_year = crate::units::YEAR / horizon / 60.0;
    let down: Vec<f64> = avail
        .iter()
        .map(|a| (1.0 - a) * horizon * per_year)
        .collect();
    let (downtime, _) = spread(&down, c);
    let slo = model.system.slo;
    let (p_meet_slo, p_meet_slo_ci) = match slo {
        Some(_) => {
            let mut m = Moments::default();
            draws
                .iter()
                .filter_map(|d| d.p_meet_slo)
                .for_each(|p| m.push(p));
            let (lo, hi) = m.t_interval(c);
            (Some(m.mean), Some([lo.max(0.0), hi.min(1.0)]))
        }
        None => (None, None),
    };
    let (p_avail, p_avail_ci) = match slo {
        Some(target) => {
            let k = avail.iter().filter(|&&a| a >= target).count() as u64;
            let (lo, hi) = wilson(k, avail.len() as u64, c);
            (Some(k as f64 / avail.len() as f64), Some([lo, hi]))
        }
        None => (None, None),
    };
    let drivers = drivers(parameters, &draws, c);
    let inner_std_err_max = draws.iter().map(|d| d.std_err).fold(0.0, f64::max);
    let mut warnings: Vec<String> = parameters
        .iter()
        .filter(|p| !(p.law.mean_at(0.05)..=p.law.mean_at(0.95)).contains(&p.mean))
        .map(|p| {
            format!(
                "{}: the model's mean ({}) lies outside its uncertain law's 5 % .. 95 % range ({} .. {}): the point estimate and the band describe different parameters",
                p.parameter,
                crate::units::format_duration(p.mean),
                crate::units::format_duration(p.law.mean_at(0.05)),
                crate::units::format_duration(p.law.mean_at(0.95)),
            )
        })
        .collect();
    let spread_width = availability.p95 - availability.p05;
    if inner_std_err_max > 0.25 * spread_width {
        warnings.push(format!(
            "the inner runs' error (standard error up to {inner_std_err_max:.2e}) is not small beside the spread between draws ({spread_width:.2e} from 5 % to 95 %): part of the band is Monte Carlo noise; raise --draw-replications"
        ));
    }
    UncertaintyReport {
        draws: plan.draws,
        replications_per_draw: plan.replications,
        availability,
        availability_ci,
        downtime_minutes_per_year: Spread {
            // Downtime falls as availability rises: its 5 % point is availability's 95 %.
            mean: downtime.mean,
            p05: downtime.p05,
            p50: downtime.p50,
            p95: downtime.p95,
        },
        p_meet_slo,
        p_meet_slo_ci,
        p_availability_meets_slo: p_avail,
        p_availability_meets_slo_ci: p_avail_ci,
        drivers,
        parameters: parameters
            .iter()
            .map(|p| ParameterSummary {
                parameter: p.parameter.clone(),
                uncertain: p.law,
                point_seconds: p.mean,
                p05_seconds: p.law.mean_at(0.05),
                p50_seconds: p.law.mean_at(0.5),
                p95_seconds: p.law.mean_at(0.95),
            })
            .collect(),
        inner_std_err_max,
        warnings,
        draw_results: draws,
        wall_seconds,
    }
}

/// The `q` quantile of sorted values (linear between order statistics, Hyndman and Fan's
/// type 7).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    match sorted.get(lo + 1) {
        Some(&next) => sorted[lo] + frac * (next - sorted[lo]),
        None => sorted[lo],
    }
}

/// The ranks (from 0) of the order statistics that bracket the `q` quantile of `n` draws
/// with probability at least `confidence`: `P(B < lo) <= a/2` and `P(B > hi) <= a/2` for
/// `B ~ Binomial(n, q)`.
pub fn quantile_ranks(n: usize, q: f64, confidence: f64) -> (usize, usize) {
    let tail = (1.0 - confidence) / 2.0;
    // The binomial's probabilities in log space (n up to millions).
    let ln_choose = |k: usize| {
        statrs::function::gamma::ln_gamma(n as f64 + 1.0)
            - statrs::function::gamma::ln_gamma(k as f64 + 1.0)
            - statrs::function::gamma::ln_gamma((n - k) as f64 + 1.0)
    };
    let pmf = |k: usize| (ln_choose(k) + k as f64 * q.ln() + (n - k) as f64 * (1.0 - q).ln()).exp();
    // lo: the largest rank with P(B <= lo − 1) <= tail, i.e. P(B < lo) <= tail.
    let mut below = 0.0;
    let mut lo = 0;
    for k in 0..n {
        if below + pmf(k) > tail {
            break;
        }
        below += pmf(k);
        lo = k + 1;
    }
    let mut above = 0.0;
    let mut hi = n - 1;
    for k in (0..=n).rev() {
        if above + pmf(k) > tail {
            break;
        }
        above += pmf(k);
        hi = k.saturating_sub(1).min(n - 1);
    }
    // B counts draws below the quantile; `lo` is a 1-based rank, `hi` already 0-based.
    let lo = lo.saturating_sub(1).min(n - 1);
    (lo, hi.max(lo))
}

/// Mean, 5 %, 50 %, 95 % of `values`, with intervals.
fn spread(values: &[f64], confidence: f64) -> (Spread, SpreadIntervals) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut m = Moments::default();
    values.iter().for_each(|&v| m.push(v));
    let (lo, hi) = m.t_interval(confidence);
    let at = |q: f64| {
        let (a, b) = quantile_ranks(sorted.len(), q, confidence);
        [sorted[a], sorted[b]]
    };
    (
        Spread {
            mean: m.mean,
            p05: quantile(&sorted, 0.05),
            p50: quantile(&sorted, 0.50),
            p95: quantile(&sorted, 0.95),
        },
        SpreadIntervals {
            mean: [lo, hi],
            p05: at(0.05),
            p50: at(0.50),
            p95: at(0.95),
        },
    )
}

/// Ranks from 1, ties given their average rank.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut r = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's ρ: Pearson's correlation of the ranks (0 when either is constant).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let (rx, ry) = (ranks(x), ranks(y));
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

fn drivers(parameters: &[UncertainParameter], draws: &[Draw], confidence: f64) -> Vec<Driver> {
    let avail: Vec<f64> = draws.iter().map(|d| d.availability).collect();
    let n = draws.len() as f64;
    // Fisher's z for Spearman's ρ: standard error √(1.06 / (n − 3)) (Fieller, Hartley and
    // Pearson 1957).
    let se = (1.06 / (n - 3.0)).sqrt();
    let z = z_quantile(confidence);
    let rho: Vec<f64> = (0..parameters.len())
        .map(|j| {
            let x: Vec<f64> = draws.iter().map(|d| d.means_seconds[j]).collect();
            spearman(&x, &avail)
        })
        .collect();
    let total: f64 = rho.iter().map(|r| r * r).sum();
    let mut out: Vec<Driver> = parameters
        .iter()
        .zip(&rho)
        .map(|(p, &r)| {
            let zr = r.clamp(-0.999_999, 0.999_999).atanh();
            let ci = [(zr - z * se).tanh(), (zr + z * se).tanh()];
            Driver {
                parameter: p.parameter.clone(),
                share: if total > 0.0 { r * r / total } else { 0.0 },
                rank_correlation: r,
                rank_correlation_ci: ci,
                significant: ci[0] > 0.0 || ci[1] < 0.0,
            }
        })
        .collect();
    out.sort_by(|a, b| b.share.total_cmp(&a.share));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latin_hypercube_has_one_point_in_every_stratum_of_every_column() {
        let u = latin_hypercube(50, 3, 9);
        for j in 0..3 {
            let mut strata: Vec<usize> = u.iter().map(|r| (r[j] * 50.0) as usize).collect();
            strata.sort();
            assert_eq!(strata, (0..50).collect::<Vec<_>>());
        }
        assert_eq!(u, latin_hypercube(50, 3, 9));
        assert_ne!(u, latin_hypercube(50, 3, 10));
    }

    /// The distribution-free bounds on a quantile (Hahn and Meeker, "Statistical
    /// Intervals", §5.2), checked against statrs' binomial tails: the widest ranks whose
    /// tails hold at most 2.5 % each.
    #[test]
    fn quantile_ranks_bracket_the_quantile_at_the_confidence() {
        let (lo, hi) = quantile_ranks(200, 0.05, 0.95);
        let b = |k: usize| {
            statrs::distribution::Binomial::new(0.05, 200)
                .map(|d| statrs::distribution::DiscreteCDF::cdf(&d, k as u64))
                .unwrap()
        };
        // x_(lo) (0-based) is above the quantile when B <= lo: P <= 2.5 %, and lo is the
        // largest such.
        assert!(b(lo) <= 0.025 && b(lo + 1) > 0.025, "lo {lo}");
        // P(B > hi) <= 2.5 %, and hi the smallest such.
        assert!(1.0 - b(hi) <= 0.025 && 1.0 - b(hi - 1) > 0.025, "hi {hi}");
        let (a, c) = quantile_ranks(1000, 0.5, 0.95);
        assert!(a < 500 && c > 500 && c - a < 80, "{a} {c}");
    }

    #[test]
    fn spearman_is_one_for_a_monotone_pair_and_handles_ties() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!((spearman(&x, &[10.0, 20.0, 25.0, 90.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&x, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(spearman(&x, &[1.0, 1.0, 1.0, 1.0]), 0.0);
        assert_eq!(ranks(&[5.0, 1.0, 5.0]), vec![2.5, 1.0, 2.5]);
    }
}
