//! Rare outages: balanced failure biasing on regenerative cycles (Goyal, Shahabuddin,
//! Heidelberger, Nicola & Glynn 1992; Shahabuddin 1994).
//!
//! When the read path only goes down through coincident failures in redundant groups,
//! plain simulation needs more years than any machine has to see an outage. For models
//! whose times are all exponential, the system is a continuous-time Markov chain on the
//! number of failed replicas of each read-path stage, and its steady-state unavailability
//! is a ratio over regenerative cycles (from all-up back to all-up):
//!
//! ```text
//!     U = E[D] / E[T]      D = time down in a cycle, T = the cycle's length
//! ```
//!
//! `E[T]` is estimated by plain simulation of cycles. `E[D]` is estimated under a changed
//! measure: in every state with a failure and a repair possible, failures together get
//! probability 1/2, split equally among the stages that can fail (balanced), repairs the
//! rest in proportion to their rates; each cycle's `D` is weighted by its likelihood
//! ratio, so the estimate stays unbiased. Holding times are replaced by their expectations
//! (1/q in each state), which only lowers the variance. The interval is the delta method on
//! the two independent means; the variance reduction is the plain per-cycle variance of
//! `D` (estimated from the same weighted cycles) over the weighted one.
//!
//! Refused (with the reason): non-exponential failure or restart times, detection delays,
//! persisting faults, back-off, liveness probes, node failures, rollouts, data flow,
//! freshness and reader caches.

use rayon::prelude::*;
use serde::Serialize;

use crate::dist::unit_interval;
use crate::model::{Detect, Model};
use crate::stats::{Moments, z_quantile};
use crate::units::YEAR;

/// One read-path stage as the Markov chain sees it.
#[derive(Clone, Debug)]
struct Group {
    replicas: u32,
    min_ready: u32,
    /// Failure rate of one ready replica (1/s).
    lambda: f64,
    /// Restart rate of one replica being restarted (1/s).
    mu: f64,
    /// Replicas restarted at once (`replicas` when crews are unlimited).
    crews: u32,
}

/// The chain: the read path's stages.
#[derive(Clone, Debug)]
pub struct Chain {
    groups: Vec<Group>,
}

/// Why a model cannot be estimated this way.
#[derive(Debug, thiserror::Error)]
#[error("--method bfb cannot honour this model: {0}")]
pub struct Unsupported(String);

impl Chain {
    /// The chain of `model`, or what it has that the method cannot honour.
    pub fn of(model: &Model) -> Result<Chain, Unsupported> {
        let refuse = |why: String| Err(Unsupported(why));
        if model.system.flow.is_some() {
            return refuse("a data flow (freshness, buffers, losses) is not a Markov chain on failed replicas; use --method plain".into());
        }
        let mut groups = vec![];
        for &s in &model.system.read_path {
            let st = &model.stages[s];
            let name = &st.name;
            if st.backoff.is_some() {
                return refuse(format!(
                    "stage {name} has back-off (restart delays depend on history); set backoff = false or use --method plain"
                ));
            }
            if st.probes.is_some() {
                return refuse(format!(
                    "stage {name} has a liveness probe (detection is not exponential)"
                ));
            }
            if st.maintenance.is_some() {
                return refuse(format!(
                    "stage {name} has planned rollouts (deterministic times)"
                ));
            }
            if st.cache.is_some() {
                return refuse(format!("stage {name} has a reader cache"));
            }
            for &n in &st.nodes {
                if model.nodes[n].failure.is_some() {
                    return refuse(format!(
                        "node {} of stage {name} fails (moves and evictions are not modelled by the chain)",
                        model.nodes[n].name
                    ));
                }
            }
            let mut lambda = 0.0;
            for f in &st.failures {
                if !matches!(f.detect, Detect::Exit) {
                    return refuse(format!(
                        "failure mode {name}.{} is not noticed at once (detect = \"exit\" only)",
                        f.name
                    ));
                }
                if f.persists.is_some() {
                    return refuse(format!("failure mode {name}.{} persists", f.name));
                }
                let Some(mean) = f.every.exponential_mean() else {
                    return refuse(format!(
                        "failure mode {name}.{}: time to failure is not exponential",
                        f.name
                    ));
                };
                lambda += 1.0 / mean;
            }
            if lambda == 0.0 {
                continue; // never fails: always up
            }
            let Some(restart) = st.restart.as_ref().and_then(|d| d.exponential_mean()) else {
                return refuse(format!("stage {name}: restart time is not exponential"));
            };
            groups.push(Group {
                replicas: st.replicas,
                min_ready: st.min_ready,
                lambda,
                mu: 1.0 / restart,
                crews: if st.repair_crews == 0 {
                    st.replicas
                } else {
                    st.repair_crews.min(st.replicas)
                },
            });
        }
        if groups.is_empty() {
            return refuse("no stage of the read path ever fails: the availability is 1".into());
        }
        Ok(Chain { groups })
    }

    fn down(&self, failed: &[u32]) -> bool {
        self.groups
            .iter()
            .zip(failed)
            .any(|(g, &f)| g.replicas - f < g.min_ready)
    }

    /// Failure and repair rates of every group in a state.
    fn rates(&self, failed: &[u32], fail: &mut [f64], repair: &mut [f64]) {
        for ((g, &f), (fr, rr)) in self
            .groups
            .iter()
            .zip(failed)
            .zip(fail.iter_mut().zip(repair.iter_mut()))
        {
            *fr = f64::from(g.replicas - f) * g.lambda;
            *rr = f64::from(f.min(g.crews)) * g.mu;
        }
    }

    /// One cycle from all-up back to all-up: (time down, cycle length, likelihood ratio),
    /// with expected holding times. `biased` applies balanced failure biasing.
    fn cycle(&self, rng: &mut crate::sim::HistoryRng, biased: bool) -> (f64, f64, f64) {
        let k = self.groups.len();
        let mut failed = vec![0u32; k];
        let mut fail = vec![0.0; k];
        let mut repair = vec![0.0; k];
        let (mut down, mut length, mut ratio) = (0.0, 0.0, 1.0);
        loop {
            self.rates(&failed, &mut fail, &mut repair);
            let f_total: f64 = fail.iter().sum();
            let r_total: f64 = repair.iter().sum();
            let q = f_total + r_total;
            let hold = 1.0 / q;
            length += hold;
            if self.down(&failed) {
                down += hold;
            }
            // The chosen transition: (group, is a failure), its original and biased
            // probabilities.
            let u = unit_interval(rng);
            let (g, is_failure, p, p_biased) = if !biased {
                pick(u, &fail, &repair, q, |r| r / q, |r| r / q)
            } else {
                let can_fail = fail.iter().filter(|&&r| r > 0.0).count() as f64;
                let pf = if r_total > 0.0 { 0.5 } else { 1.0 };
                let failure_each = if can_fail > 0.0 { pf / can_fail } else { 0.0 };
                let repair_share = if f_total > 0.0 { 1.0 - pf } else { 1.0 };
                pick(
                    u,
                    &fail,
                    &repair,
                    q,
                    |r| if r > 0.0 { failure_each } else { 0.0 },
                    |r| repair_share * r / r_total,
                )
            };
            ratio *= p / p_biased;
            if is_failure {
                failed[g] += 1;
            } else {
                failed[g] -= 1;
            }
            if failed.iter().all(|&f| f == 0) {
                return (down, length, ratio);
            }
        }
    }
}

/// Picks a transition with `u` ∈ [0, 1) by the probabilities `bias_fail(rate)` and
/// `bias_repair(rate)`; returns (group, is a failure, original probability, biased one).
fn pick(
    u: f64,
    fail: &[f64],
    repair: &[f64],
    q: f64,
    bias_fail: impl Fn(f64) -> f64,
    bias_repair: impl Fn(f64) -> f64,
) -> (usize, bool, f64, f64) {
    let mut acc = 0.0;
    let mut last = (0, true, 0.0, 0.0);
    for (kind, rates) in [(true, fail), (false, repair)] {
        for (g, &r) in rates.iter().enumerate() {
            if r <= 0.0 {
                continue;
            }
            let b = if kind { bias_fail(r) } else { bias_repair(r) };
            last = (g, kind, r / q, b);
            acc += b;
            if u < acc {
                return last;
            }
        }
    }
    last // rounding: the last possible transition
}

/// An estimate with its interval.
#[derive(Clone, Debug, Serialize)]
pub struct Interval {
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub std_err: f64,
}

impl Interval {
    /// The interval of `1 − x` (an availability from an unavailability).
    pub fn complement(&self) -> Interval {
        Interval {
            mean: 1.0 - self.mean,
            ci_low: 1.0 - self.ci_high,
            ci_high: 1.0 - self.ci_low,
            std_err: self.std_err,
        }
    }

    /// The interval of `f·x`, `f > 0`.
    pub fn scaled(&self, f: f64) -> Interval {
        Interval {
            mean: self.mean * f,
            ci_low: self.ci_low * f,
            ci_high: self.ci_high * f,
            std_err: self.std_err * f,
        }
    }

    /// The interval of a mean: its t-interval at `confidence`, cut at 0 (the means here
    /// cannot be negative).
    pub fn of(m: &Moments, confidence: f64) -> Interval {
        let (lo, hi) = m.t_interval(confidence);
        Interval {
            mean: m.mean,
            ci_low: lo.max(0.0),
            ci_high: hi,
            std_err: m.std_err(),
        }
    }
}

/// A rare-event estimate as the command line writes it.
pub trait RareEstimate: Serialize {
    fn warnings(&self) -> &[String];
    fn to_table(&self) -> String;
    fn to_json(&self) -> String {
        crate::schema::pretty(self)
    }
}

/// What `hasim run --method bfb` prints.
#[derive(Clone, Debug, Serialize)]
pub struct RareReport {
    pub model: String,
    pub method: &'static str,
    /// The long-run fraction of time readable (not the mean over one-year histories from
    /// an all-up start, which differs by the start-up transient: negligible when restarts
    /// take far less than a year).
    pub estimand: &'static str,
    /// Weighted cycles for E[D] and plain cycles for E[T], each.
    pub cycles: u64,
    pub seed: u64,
    pub confidence: f64,
    pub availability: Interval,
    pub unavailability: Interval,
    /// Expected time down per year, seconds.
    pub downtime_seconds_per_year: Interval,
    /// Half-width of the interval over the unavailability.
    pub relative_half_width: f64,
    /// Per-cycle variance of D under plain simulation over that under the changed measure:
    /// how many times fewer cycles the same precision needs.
    pub variance_reduction: f64,
    /// Cycles in which the read path went down (under the changed measure).
    pub cycles_with_outage: u64,
    pub warnings: Vec<String>,
    pub perf: RarePerf,
}

#[derive(Clone, Debug, Serialize)]
pub struct RarePerf {
    pub wall_seconds: f64,
    pub cycles_per_second: f64,
    pub threads: usize,
}

#[derive(Clone, Copy, Default)]
struct Sums {
    /// L·D under the changed measure.
    weighted: Moments,
    /// L·D² (for the plain variance of D).
    weighted_square: Moments,
    /// T under the original measure.
    length: Moments,
    with_outage: u64,
}

impl Sums {
    fn merge(&mut self, o: &Sums) {
        self.weighted.merge(&o.weighted);
        self.weighted_square.merge(&o.weighted_square);
        self.length.merge(&o.length);
        self.with_outage += o.with_outage;
    }
}

/// Estimates the steady-state availability of `model` from `cycles` biased and as many
/// plain cycles. Cycle `i` draws from `history_rng(seed, i)` (biased) and
/// `history_rng(!seed, i)` (plain), folded in fixed chunks in order: the result does not
/// depend on the number of threads.
pub fn estimate(
    model: &Model,
    cycles: u64,
    seed: u64,
    threads: usize,
) -> Result<RareReport, RareError> {
    let chain = Chain::of(model)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RareError::Threads(e.to_string()))?;
    let started = std::time::Instant::now();
    const CHUNK: u64 = 10_000;
    let chunks: Vec<u64> = (0..cycles.div_ceil(CHUNK)).collect();
    let parts: Vec<Sums> = pool.install(|| {
        chunks
            .par_iter()
            .map(|&c| {
                let mut s = Sums::default();
                for i in c * CHUNK..((c + 1) * CHUNK).min(cycles) {
                    let mut rng = crate::sim::history_rng(seed, i);
                    let (d, _, l) = chain.cycle(&mut rng, true);
                    s.weighted.push(l * d);
                    s.weighted_square.push(l * d * d);
                    s.with_outage += u64::from(d > 0.0);
                    let mut rng = crate::sim::history_rng(!seed, i);
                    let (_, t, _) = chain.cycle(&mut rng, false);
                    s.length.push(t);
                }
                s
            })
            .collect()
    });
    let mut sums = Sums::default();
    for p in &parts {
        sums.merge(p);
    }
    let wall = started.elapsed().as_secs_f64();
    let c = model.simulation.confidence;
    let d = sums.weighted.mean;
    let t = sums.length.mean;
    let u = d / t;
    // Delta method for a ratio of independent means.
    let rel_var = sums.weighted.variance() / (sums.weighted.n as f64 * d * d)
        + sums.length.variance() / (sums.length.n as f64 * t * t);
    let std_err = u * rel_var.sqrt();
    let h = z_quantile(c) * std_err;
    let unavailability = Interval {
        mean: u,
        ci_low: (u - h).max(0.0),
        ci_high: u + h,
        std_err,
    };
    let plain_variance = sums.weighted_square.mean - d * d;
    let mut warnings = vec![];
    if sums.with_outage < 30 {
        warnings.push(format!(
            "only {} weighted cycles reached an outage: the interval is unreliable; raise -n",
            sums.with_outage
        ));
    }
    Ok(RareReport {
        model: model.name.clone(),
        method: "balanced_failure_biasing",
        estimand: "steady_state",
        cycles,
        seed,
        confidence: c,
        availability: unavailability.complement(),
        downtime_seconds_per_year: unavailability.scaled(YEAR),
        unavailability,
        relative_half_width: h / u,
        variance_reduction: plain_variance / sums.weighted.variance(),
        cycles_with_outage: sums.with_outage,
        warnings,
        perf: RarePerf {
            wall_seconds: wall,
            cycles_per_second: 2.0 * cycles as f64 / wall.max(1e-9),
            threads: pool.current_num_threads(),
        },
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RareError {
    #[error(transparent)]
    Unsupported(#[from] Unsupported),
    #[error("cannot start the worker threads: {0}")]
    Threads(String),
}

impl RareEstimate for RareReport {
    fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn to_table(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let pct = (self.confidence * 100.0).round();
        let u = &self.unavailability;
        let _ = writeln!(o, "{}", self.model);
        let _ = writeln!(
            o,
            "balanced failure biasing: {} weighted and {} plain regenerative cycles, seed {}\n",
            self.cycles, self.cycles, self.seed
        );
        let _ = writeln!(
            o,
            "steady-state unavailability 1 - A   {:.6e}   ({pct}% CI {:.6e} .. {:.6e}, ±{:.1}%)",
            u.mean,
            u.ci_low,
            u.ci_high,
            100.0 * self.relative_half_width
        );
        let _ = writeln!(
            o,
            "downtime per year                   {:.4} s",
            self.downtime_seconds_per_year.mean
        );
        let _ = writeln!(
            o,
            "variance reduction over plain simulation: {:.3e} (cycles that reached an outage: {})",
            self.variance_reduction, self.cycles_with_outage
        );
        let _ = writeln!(
            o,
            "\n{:.0} cycles/s on {} threads, {:.2} s",
            self.perf.cycles_per_second, self.perf.threads, self.perf.wall_seconds
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u32, k: u32, lambda: f64, mu: f64, crews: u32) -> Chain {
        Chain {
            groups: vec![Group {
                replicas: n,
                min_ready: k,
                lambda,
                mu,
                crews,
            }],
        }
    }

    #[test]
    fn plain_cycles_have_the_birth_death_lengths() {
        // 1 of 1: a cycle is one up time and one restart: E[T] = 1/λ + 1/μ, D = 1/μ.
        let c = chain(1, 1, 0.01, 1.0, 1);
        let mut rng = crate::sim::history_rng(1, 0);
        let (d, t, l) = c.cycle(&mut rng, false);
        assert_eq!(l, 1.0);
        assert!((d - 1.0).abs() < 1e-12 && (t - 101.0).abs() < 1e-12);
    }

    #[test]
    fn biased_weights_are_unbiased_for_the_probability_of_reaching_all_down() {
        // 1 of 2 with one crew: from state 1, P(fail before repair) = λ/(λ+μ).
        let (lambda, mu) = (0.001, 1.0);
        let c = chain(2, 1, lambda, mu, 1);
        let mut m = Moments::default();
        for i in 0..200_000 {
            let mut rng = crate::sim::history_rng(3, i);
            let (d, _, l) = c.cycle(&mut rng, true);
            m.push(if d > 0.0 { l } else { 0.0 });
        }
        let exact = lambda / (lambda + mu);
        assert!(
            (m.mean - exact).abs() < 4.0 * m.std_err(),
            "{} vs {exact} ± {}",
            m.mean,
            m.std_err()
        );
    }
}
