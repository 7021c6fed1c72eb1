//! Rare outages in any model: importance splitting by RESTART (Villén-Altamirano &
//! Villén-Altamirano 1991, 1994) over one-horizon histories.
//!
//! Balanced failure biasing ([`crate::rare`]) needs exponential times. Splitting needs
//! nothing of the kind: it runs the ordinary simulator and copies a history in progress —
//! its whole state, pending events and their residual times included — when it comes
//! closer to an outage, so every distribution, back-off rule, probe and node failure is
//! simulated exactly as in a plain run.
//!
//! Importance is [`Simulator::level`]: the most replicas not ready in one read-path
//! stage, or `top` while the read path is down (`top` = the largest number of replicas a
//! read-path stage can lose and stay up, plus one). Thresholds are the levels 1..=top.
//! When a history rises across threshold `l` it is split into `R_l` copies (itself and
//! `R_l − 1` retrials, each continuing with its own random stream); a retrial born at `l`
//! is discarded when its level falls below `l`, the history it came from goes on. A jump
//! across several thresholds at one instant splits at each of them in turn.
//!
//! A retrial must be independent of its original given the present, and the present of a
//! discrete-event history includes the ages of its clocks, not the times they were drawn
//! to fire: so a retrial redraws every pending random delay from its distribution
//! conditioned on the time it has already run, `F | X > age`
//! ([`Simulator::resample_clocks`], [`crate::dist::Dist::sample_beyond`]). Copying the
//! drawn times would give copies that all fail at the same moments — still unbiased, but
//! no better than plain simulation. Then the
//! expected number of copies present in a state of level `l` is `R_1 ⋯ R_l` times the
//! probability of that state in a plain history, so anything that happens only at level
//! `top` — time unreadable, outages and their lengths — is estimated without bias by its
//! sum over all copies of one history divided by `R_1 ⋯ R_top`. That is one number per
//! main history; main histories are independent, so the interval is the ordinary
//! Student-t interval over them, and the estimand is exactly that of plain simulation:
//! the mean over histories of the horizon of `X / Y`.
//!
//! Factors: unless given, a pilot chooses them threshold by threshold so that about as
//! many copies cross each threshold as cross the first (`R_l ≈ 1 / P(reach l + 1 | at l)`),
//! the usual near-optimal choice. Any factors give unbiased estimates; bad ones only cost
//! precision.
//!
//! Refused: a data flow (lost data and freshness happen at every level, where weights
//! differ; use plain simulation for them).

use rayon::prelude::*;
use serde::Serialize;

use crate::model::Model;
use crate::rare::{Interval, RareEstimate};
use crate::sim::{HistoryRng, Simulator, history_rng};
use crate::stats::Moments;
use crate::units::{Seconds, YEAR};

/// The largest splitting factor the pilot chooses.
pub const MAX_FACTOR: u32 = 10_000;
/// Main histories folded together; the fold is in index order, whatever the threads.
const CHUNK: u64 = 16;
/// Salt for the pilot's streams, so that they differ from the run's.
const PILOT_SALT: u64 = 0x5EED_0F91_7070_0000;
/// Salt for the retrials' streams.
const RETRIAL_SALT: u64 = 0x7E7B_1A15_0000_0001;

#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("--method splitting cannot honour this model: {0}")]
    Unsupported(String),
    #[error("--factors {given}: {why}")]
    Factors { given: String, why: String },
    #[error("{0}")]
    Pilot(String),
    #[error("cannot start the worker threads: {0}")]
    Threads(String),
    #[error(
        "a history took more than {} events, the most one may take: something in the model happens far too often (a failure or restart near zero time, a fault persisting through instant restarts)",
        crate::sim::MAX_EVENTS
    )]
    EventBudget,
}

/// Refuses what splitting cannot estimate.
pub fn check(model: &Model) -> Result<(), SplitError> {
    if model.system.flow.is_some() {
        return Err(SplitError::Unsupported(
            "a data flow: lost data and freshness accrue at every importance level, where copies weigh differently; remove system.flow or use --method plain"
                .into(),
        ));
    }
    Ok(())
}

/// The random stream of retrial `k` of main history `index`: seeded from all three, and
/// salted apart from the main histories' streams.
fn retrial_rng(seed: u64, index: u64, k: u64) -> HistoryRng {
    history_rng(seed ^ RETRIAL_SALT ^ index.rotate_left(32), k)
}

/// What the copies of one main history add up to (before weighting).
#[derive(Clone, Debug, Default)]
struct Tree {
    /// Time unreadable, summed over copies.
    down: Seconds,
    /// Squared lengths of the outages that ended (or were cut at the horizon).
    down_sq: f64,
    /// Outages that ended (or were cut at the horizon).
    outages: u64,
    /// Events applied by all copies, and by the main history alone.
    events: u64,
    main_events: u64,
    /// Time unreadable in the main history alone: a plain simulation's sample.
    main_down: Seconds,
    /// Up-crossings of each threshold (unweighted), index `l − 1`.
    crossings: Vec<u64>,
    copies: u64,
    /// A copy went past [`crate::sim::MAX_EVENTS`] and was stopped there.
    over_budget: bool,
}

/// Where a copy's counts started.
struct Start {
    down: Seconds,
    sq: f64,
    outages: u64,
    events: u64,
}

impl Start {
    fn of(sim: &Simulator) -> Self {
        let (outages, sq) = sim.ended_outages();
        Start {
            down: sim.downtime_so_far(),
            sq,
            outages,
            events: sim.events(),
        }
    }

    /// Adds what `sim` did since.
    fn close(&self, sim: &Simulator, tree: &mut Tree) {
        let (outages, sq) = sim.ended_outages();
        tree.down += sim.downtime_so_far() - self.down;
        tree.down_sq += sq - self.sq;
        tree.outages += outages - self.outages;
        tree.events += sim.events() - self.events;
        tree.copies += 1;
    }
}

/// A crossing of threshold `level` whose retrials are still to run: each starts from
/// `snapshot`. One snapshot serves all of them, so a factor of 1 000 costs one copy of
/// the state in memory, not 1 000.
struct Split {
    snapshot: Simulator,
    level: u32,
    left: u32,
}

/// The histories of one worker: the main one, reused from one history to the next, and
/// spare simulators whose allocations copies reuse.
struct Worker<'a> {
    factors: &'a [u32],
    seed: u64,
    spare: Vec<Simulator>,
    splits: Vec<Split>,
}

/// A copy of `sim`, in one of the `spare` simulators if there is one.
fn copy(spare: &mut Vec<Simulator>, sim: &Simulator) -> Simulator {
    match spare.pop() {
        Some(mut s) => {
            s.clone_from(sim);
            s
        }
        None => sim.clone(),
    }
}

impl Worker<'_> {
    /// Runs main history `index` and all its retrials.
    fn history(&mut self, main: &mut Simulator, index: u64) -> Tree {
        let mut tree = Tree {
            crossings: vec![0; self.factors.len()],
            ..Tree::default()
        };
        main.start(self.seed, index);
        self.run(main, 0, &mut tree);
        tree.main_events = main.events();
        tree.main_down = main.downtime_so_far();
        let mut retrials = 0u64;
        while let Some(top) = self.splits.last_mut() {
            if top.left == 0 {
                let done = self.splits.pop().expect("just seen");
                self.spare.push(done.snapshot);
                continue;
            }
            top.left -= 1;
            let level = top.level;
            let mut sim = copy(&mut self.spare, &top.snapshot);
            retrials += 1;
            sim.reseed(retrial_rng(self.seed, index, retrials));
            sim.resample_clocks();
            self.run(&mut sim, level, &mut tree);
            self.spare.push(sim);
        }
        tree
    }

    /// Runs one copy born at threshold `birth` (0: the main history) until its level falls
    /// below `birth` or the horizon, leaving a [`Split`] at every threshold it crosses.
    fn run(&mut self, sim: &mut Simulator, birth: u32, tree: &mut Tree) {
        let start = Start::of(sim);
        let mut level = birth;
        loop {
            let now = sim.level();
            if now < birth {
                break; // a retrial fell below the threshold it was born at
            }
            while level < now {
                level += 1;
                tree.crossings[level as usize - 1] += 1;
                let factor = self.factors[level as usize - 1];
                if factor > 1 {
                    let snapshot = copy(&mut self.spare, sim);
                    self.splits.push(Split {
                        snapshot,
                        level,
                        left: factor - 1,
                    });
                }
            }
            level = now;
            if !sim.step() {
                tree.over_budget |= sim.events() > crate::sim::MAX_EVENTS;
                let _ = sim.end();
                break;
            }
        }
        start.close(sim, tree);
    }
}

/// Per-history estimates, weighted.
#[derive(Clone, Default)]
struct Sums {
    /// Time unreadable per history.
    down: Moments,
    /// Sum of squared outage lengths per history.
    down_sq: Moments,
    outages: Moments,
    /// The main histories' own time unreadable (plain simulation).
    main_down: Moments,
    events: u64,
    main_events: u64,
    copies: u64,
    crossings: Vec<u64>,
    /// Histories in which some copy was unreadable.
    with_outage: u64,
    /// Some copy was stopped at the event budget: the estimate is void.
    over_budget: bool,
}

impl Sums {
    fn push(&mut self, t: &Tree, weight: f64) {
        self.over_budget |= t.over_budget;
        self.down.push(weight * t.down);
        self.down_sq.push(weight * t.down_sq);
        self.outages.push(weight * t.outages as f64);
        self.main_down.push(t.main_down);
        self.events += t.events;
        self.main_events += t.main_events;
        self.copies += t.copies;
        self.with_outage += u64::from(t.down > 0.0);
        if self.crossings.len() < t.crossings.len() {
            self.crossings.resize(t.crossings.len(), 0);
        }
        for (a, b) in self.crossings.iter_mut().zip(&t.crossings) {
            *a += b;
        }
    }

    fn merge(&mut self, o: &Sums) {
        self.down.merge(&o.down);
        self.down_sq.merge(&o.down_sq);
        self.outages.merge(&o.outages);
        self.main_down.merge(&o.main_down);
        self.events += o.events;
        self.main_events += o.main_events;
        self.copies += o.copies;
        self.with_outage += o.with_outage;
        self.over_budget |= o.over_budget;
        if self.crossings.len() < o.crossings.len() {
            self.crossings.resize(o.crossings.len(), 0);
        }
        for (a, b) in self.crossings.iter_mut().zip(&o.crossings) {
            *a += b;
        }
    }
}

/// Runs main histories `0..histories` with `factors` on `pool`, telling `progress` how
/// many are done.
fn run(
    template: &Simulator,
    factors: &[u32],
    seed: u64,
    histories: u64,
    pool: &rayon::ThreadPool,
    progress: &(dyn Fn(u64) + Sync),
) -> Sums {
    let done = std::sync::atomic::AtomicU64::new(0);
    let weight = 1.0 / factors.iter().map(|&r| f64::from(r)).product::<f64>();
    let chunks: Vec<u64> = (0..histories.div_ceil(CHUNK)).collect();
    let parts: Vec<Sums> = pool.install(|| {
        chunks
            .par_iter()
            .map(|&c| {
                let mut main = template.clone();
                let mut worker = Worker {
                    factors,
                    seed,
                    spare: vec![],
                    splits: vec![],
                };
                let mut sums = Sums::default();
                for i in c * CHUNK..((c + 1) * CHUNK).min(histories) {
                    sums.push(&worker.history(&mut main, i), weight);
                }
                let n = ((c + 1) * CHUNK).min(histories) - c * CHUNK;
                progress(done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n);
                sums
            })
            .collect()
    });
    let mut sums = Sums::default();
    for p in &parts {
        sums.merge(p);
    }
    sums
}

/// Chooses the factors by pilot runs (see the module's documentation): for each
/// threshold `l < top` in turn, with the factors below it fixed, estimates
/// `P(reach l + 1 | at l)` from the crossings and sets `R_l` to its inverse; `R_top = 1`.
fn pilot(
    template: &Simulator,
    seed: u64,
    pool: &rayon::ThreadPool,
) -> Result<(Vec<u32>, Vec<String>), SplitError> {
    const ENOUGH: u64 = 20;
    const FIRST_CROSSINGS: u64 = 1_000;
    const MAX_HISTORIES: u64 = 100_000;
    let top = template.top_level() as usize;
    let mut factors = vec![1u32; top];
    let mut warnings = vec![];
    let seed = seed ^ PILOT_SALT;
    // Enough histories that the first threshold is crossed FIRST_CROSSINGS times.
    let mut histories = 10;
    loop {
        let s = run(template, &factors, seed, histories, pool, &|_| {});
        let first = s.crossings.first().copied().unwrap_or(0);
        if first >= FIRST_CROSSINGS {
            break;
        }
        if histories >= MAX_HISTORIES {
            if first >= ENOUGH {
                break;
            }
            return Err(SplitError::Pilot(format!(
                "in {histories} pilot histories no replica of the read path failed {ENOUGH} times: outages are not rare through redundancy here; use --method plain or give --factors"
            )));
        }
        histories = (histories * 10).min(MAX_HISTORIES);
    }
    for l in 1..top {
        let mut trial = 1u32;
        loop {
            factors[l - 1] = trial;
            let s = run(template, &factors, seed, histories, pool, &|_| {});
            let (here, next) = (s.crossings[l - 1], s.crossings[l]);
            if next >= ENOUGH {
                let p = next as f64 / (here as f64 * f64::from(trial));
                factors[l - 1] = (1.0 / p).round().clamp(1.0, f64::from(MAX_FACTOR)) as u32;
                break;
            }
            if trial >= MAX_FACTOR {
                warnings.push(format!(
                    "the pilot saw threshold {} crossed only {next} times with factor {MAX_FACTOR} at threshold {l}: the estimate may be poor; give --factors",
                    l + 1
                ));
                break;
            }
            trial = (trial * 100).min(MAX_FACTOR);
        }
    }
    Ok((factors, warnings))
}

/// Parses `--factors`: one positive integer per threshold 1..=top, comma-separated.
/// The most copies all thresholds together may make: a history that crossed them all
/// would run that many copies.
pub const MAX_FACTOR_PRODUCT: f64 = 1e9;

pub fn parse_factors(text: &str, top: u32) -> Result<Vec<u32>, SplitError> {
    let bad = |why: String| SplitError::Factors {
        given: text.into(),
        why,
    };
    let factors = text
        .split(',')
        .map(|f| {
            f.trim()
                .parse::<u32>()
                .ok()
                .filter(|&r| (1..=MAX_FACTOR).contains(&r))
                .ok_or_else(|| {
                    bad(format!(
                        "{f:?} is not a whole number from 1 to {MAX_FACTOR}"
                    ))
                })
        })
        .collect::<Result<Vec<u32>, _>>()?;
    if factors.len() != top as usize {
        return Err(bad(format!(
            "this model has {top} thresholds (1 to {top}: the most replicas a read-path stage can lose and stay up, plus one); give one factor for each"
        )));
    }
    if factors.iter().map(|&r| f64::from(r)).product::<f64>() > MAX_FACTOR_PRODUCT {
        return Err(bad(format!(
            "their product is more than {MAX_FACTOR_PRODUCT:e}: a history crossing every threshold would make that many copies"
        )));
    }
    Ok(factors)
}

/// What `hasim run --method splitting` prints.
#[derive(Clone, Debug, Serialize)]
pub struct SplitReport {
    pub model: String,
    pub method: &'static str,
    /// The mean over histories of the horizon from an all-ready start: the same as plain
    /// simulation's.
    pub estimand: &'static str,
    pub horizon_seconds: f64,
    /// Main histories (independent; the interval is over them).
    pub histories: u64,
    pub seed: u64,
    pub confidence: f64,
    pub availability: Interval,
    pub unavailability: Interval,
    /// Expected time down per year, seconds.
    pub downtime_seconds_per_year: Interval,
    /// Expected outages per year.
    pub outages_per_year: Interval,
    /// Half-width of the interval over the unavailability.
    pub relative_half_width: f64,
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
    pub warnings: Vec<String>,
    pub perf: SplitPerf,
}

#[derive(Clone, Debug, Serialize)]
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

#[derive(Clone, Debug, Serialize)]
pub struct SplitPerf {
    pub wall_seconds: f64,
    /// Including the pilot.
    pub pilot_seconds: f64,
    pub histories_per_second: f64,
    pub events_per_second: f64,
    pub threads: usize,
}

/// Estimates the availability of `model` over `histories` main histories, with `factors`
/// or, when `None`, factors from a pilot. History `i` starts from `history_rng(seed, i)`,
/// as in plain simulation (with all factors 1 this is plain simulation); the fold is in
/// fixed chunks in order, so the result does not depend on the number of threads.
pub fn estimate(
    model: &Model,
    histories: u64,
    seed: u64,
    factors: Option<Vec<u32>>,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SplitReport, SplitError> {
    check(model)?;
    let template = Simulator::new(model);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| SplitError::Threads(e.to_string()))?;
    let started = std::time::Instant::now();
    let from_pilot = factors.is_none();
    let (factors, mut warnings) = match factors {
        Some(f) => (f, vec![]),
        None => pilot(&template, seed, &pool)?,
    };
    let pilot_seconds = started.elapsed().as_secs_f64();
    let sums = run(&template, &factors, seed, histories, &pool, progress);
    if sums.over_budget {
        return Err(SplitError::EventBudget);
    }
    let wall = started.elapsed().as_secs_f64();

    let c = model.simulation.confidence;
    let horizon = model.simulation.horizon;
    let n = sums.down.n as f64;
    let d = sums.down.mean;
    let unavailability = Interval::of(&sums.down, c).scaled(1.0 / horizon);
    let u = unavailability.mean;
    let per_year = YEAR / horizon;
    // The plain variance of the time down per history: the main histories are plain
    // samples of it (useless when they see no outage); E[Σ d²] − E[D]² bounds it from
    // below (useless when a history has many outages). The larger is taken.
    let plain_variance = sums
        .main_down
        .variance()
        .max(sums.down_sq.mean - d * d)
        .max(0.0);
    let variance_reduction =
        Some(plain_variance / sums.down.variance()).filter(|v| v.is_finite() && *v > 0.0);
    let speedup =
        variance_reduction.map(|v| v * sums.main_events as f64 / sums.events.max(1) as f64);
    if sums.with_outage < 30 {
        warnings.push(format!(
            "only {} of {histories} histories reached an outage in any copy: the interval is unreliable; raise -n",
            sums.with_outage
        ));
    }
    if let Some(w) = speedup.filter(|w| *w < 1.0) {
        warnings.push(format!(
            "splitting costs more than plain simulation here ({w:.2} times the precision per unit of work): outages are not rare enough to need it; use --method plain"
        ));
    }
    if factors.iter().all(|&r| r == 1) {
        warnings.push(
            "every factor is 1: this is plain simulation (no redundancy to exploit, or outages not rare)"
                .into(),
        );
    }
    Ok(SplitReport {
        model: model.name.clone(),
        method: "restart_splitting",
        estimand: "horizon_mean",
        horizon_seconds: horizon,
        histories,
        seed,
        confidence: c,
        availability: unavailability.complement(),
        downtime_seconds_per_year: unavailability.scaled(YEAR),
        outages_per_year: Interval::of(&sums.outages, c).scaled(per_year),
        relative_half_width: if u > 0.0 {
            sums.down.half_width(c) / d
        } else {
            f64::INFINITY
        },
        unavailability,
        variance_reduction,
        speedup,
        levels: factors
            .iter()
            .zip(&sums.crossings)
            .enumerate()
            .map(|(i, (&factor, &crossings))| LevelReport {
                threshold: i as u32 + 1,
                factor,
                crossings,
                from_pilot,
            })
            .collect(),
        copies: sums.copies,
        histories_with_outage: sums.with_outage,
        warnings,
        perf: SplitPerf {
            wall_seconds: wall,
            pilot_seconds,
            histories_per_second: n / (wall - pilot_seconds).max(1e-9),
            events_per_second: sums.events as f64 / (wall - pilot_seconds).max(1e-9),
            threads: pool.current_num_threads(),
        },
    })
}

impl RareEstimate for SplitReport {
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
            "importance splitting (RESTART): {} histories of {:.4} y, seed {}\n",
            self.histories,
            self.horizon_seconds / YEAR,
            self.seed
        );
        let _ = writeln!(
            o,
            "unavailability 1 - A   {:.6e}   ({pct}% CI {:.6e} .. {:.6e}, ±{:.1}%)",
            u.mean,
            u.ci_low,
            u.ci_high,
            100.0 * self.relative_half_width
        );
        let _ = writeln!(
            o,
            "downtime per year      {:.4} s",
            self.downtime_seconds_per_year.mean
        );
        let _ = writeln!(
            o,
            "outages per year       {:.4e}",
            self.outages_per_year.mean
        );
        let _ = writeln!(
            o,
            "\nthreshold  factor  crossings{}",
            if self.levels.iter().any(|l| l.from_pilot) {
                "   (factors from a pilot)"
            } else {
                ""
            }
        );
        for l in &self.levels {
            let _ = writeln!(o, "{:>9}  {:>6}  {:>9}", l.threshold, l.factor, l.crossings);
        }
        match (self.variance_reduction, self.speedup) {
            (Some(v), Some(w)) => {
                let _ = writeln!(
                    o,
                    "\nvariance reduction over plain simulation: {v:.3e} per history, {w:.3e} per unit of work"
                );
            }
            _ => {
                let _ = writeln!(
                    o,
                    "\nvariance reduction over plain simulation: not estimated (no outage seen)"
                );
            }
        }
        for w in &self.warnings {
            let _ = writeln!(o, "\nwarning: {w}");
        }
        let _ = writeln!(
            o,
            "\n{:.0} histories/s ({} copies) on {} threads, {:.2} s ({:.2} s pilot)",
            self.perf.histories_per_second,
            self.copies,
            self.perf.threads,
            self.perf.wall_seconds,
            self.perf.pilot_seconds
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(text: &str) -> Model {
        Model::from_str("test.toml", text, std::path::Path::new("."), &[]).expect("valid model")
    }

    const ONE_OF_TWO: &str = r#"
name = "1 of 2"
[simulation]
horizon = "1y"
replications = 100
seed = 1
[system]
read_path = ["C"]
[stages.C]
kind = "external"
replicas = 2
min_ready = 1
failure = { dist = "exponential", mean = "500h" }
restart = { dist = "exponential", mean = "2h" }
"#;

    #[test]
    fn with_all_factors_one_it_is_plain_simulation() {
        let m = model(ONE_OF_TWO);
        let r = estimate(&m, 2_000, 7, Some(vec![1, 1]), 2, &|_| {}).unwrap();
        let plain = crate::montecarlo::simulate(
            &m,
            &crate::montecarlo::RunPlan {
                seed: 7,
                first: 0,
                count: 2_000,
                threads: 2,
                // Splitting continues the event engine's histories.
                engine: crate::sim::EngineChoice::Events,
            },
            &|_| {},
        )
        .unwrap()
        .tally;
        let rel =
            (r.unavailability.mean - plain.unavailability.mean).abs() / plain.unavailability.mean;
        assert!(
            rel < 1e-9,
            "{} vs {}",
            r.unavailability.mean,
            plain.unavailability.mean
        );
        assert_eq!(r.copies, 2_000);
    }

    #[test]
    fn factors_are_checked() {
        assert!(parse_factors("1,20", 2).is_ok());
        assert!(parse_factors("1", 2).is_err());
        assert!(parse_factors("1,0", 2).is_err());
        assert!(parse_factors("1,x", 2).is_err());
    }
}
