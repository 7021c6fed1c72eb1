//! Rare outages in any model: importance splitting by RESTART (Villén-Altamirano &
//! Villén-Altamirano 1991, 1994) over one-horizon histories.
//!
//! Balanced failure biasing ([`crate::estimate::bfb`]) needs exponential times. Splitting needs
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
//! What happens at every level — lost metrics, completeness and freshness of a data flow,
//! dominated by frequent events such as collector restarts, the per-history downtime
//! distribution and SLO, the stages' own availability — is not weighted: the main
//! histories are plain histories (a split leaves its original running on its own random
//! stream), so those fields come from them as plain samples, in a [`Tally`] as a plain
//! run keeps it. The report says which estimator gave which field.

use rayon::prelude::*;

use super::Tally;
use super::results::{Estimate, Estimation, LevelReport, Perf, RunReport, SplitDetails, Stopping};
use crate::model::Model;
use crate::sim::{HistoryRng, Importance, Simulator, history_rng};
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

/// Refuses what splitting cannot estimate: a read path without redundancy, where no
/// copy would ever be made.
pub fn check(model: &Model) -> Result<(), SplitError> {
    if Simulator::new(model).top_level() < 2 {
        return Err(SplitError::Unsupported(
            "no read-path stage can lose a replica and stay up: every failure is an outage, splitting would be plain simulation; use --method plain"
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
    /// Time unreadable attributed to each cause, then each stage's time down, summed over
    /// copies (see [`accrued`]).
    causes: Vec<Seconds>,
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
    causes: Vec<Seconds>,
}

/// What a copy has accrued that only accrues at the top level: time unreadable by cause,
/// then each stage's time down (a read-path stage down is an outage; the other stages'
/// entries are ignored by [`estimate`]).
fn accrued(sim: &Simulator, out: &mut Vec<Seconds>) {
    let causes = sim.causes().len();
    out.resize(causes + sim.stage_count(), 0.0);
    let (c, s) = out.split_at_mut(causes);
    sim.cause_downtime_so_far(c);
    sim.stage_downtime_so_far(s);
}

impl Start {
    fn of(sim: &Simulator) -> Self {
        let (outages, sq) = sim.ended_outages();
        let mut causes = vec![];
        accrued(sim, &mut causes);
        Start {
            down: sim.downtime_so_far(),
            sq,
            outages,
            events: sim.events(),
            causes,
        }
    }

    /// Adds what `sim` did since; `now` is a buffer for what it has accrued by now.
    fn close(self, sim: &Simulator, tree: &mut Tree, now: &mut Vec<Seconds>) {
        let (outages, sq) = sim.ended_outages();
        tree.down += sim.downtime_so_far() - self.down;
        tree.down_sq += sq - self.sq;
        tree.outages += outages - self.outages;
        tree.events += sim.events() - self.events;
        tree.copies += 1;
        let then = self.causes;
        accrued(sim, now);
        tree.causes.resize(now.len(), 0.0);
        for ((t, n), b) in tree.causes.iter_mut().zip(now.iter()).zip(&then) {
            *t += n - b;
        }
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
    importance: Importance,
    seed: u64,
    spare: Vec<Simulator>,
    splits: Vec<Split>,
    /// The main histories as plain samples.
    plain: Tally,
    /// What a copy has accrued when it ends (see [`accrued`]), reused from copy to copy.
    accrued: Vec<Seconds>,
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
            let now = sim.level(self.importance);
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
                let outcome = sim.end();
                if birth == 0 {
                    self.plain.push(&outcome);
                }
                break;
            }
        }
        start.close(sim, tree, &mut self.accrued);
    }
}

/// Per-history estimates, weighted.
#[derive(Clone)]
struct Sums {
    /// Time unreadable per history.
    down: Moments,
    /// Sum of squared outage lengths per history.
    down_sq: Moments,
    outages: Moments,
    /// Time unreadable attributed to each cause, per history.
    causes: Vec<Moments>,
    /// Each cause's weighted time beside all causes', per history (their shares).
    shares: Vec<crate::stats::Ratio>,
    /// The main histories' own time unreadable (plain simulation).
    main_down: Moments,
    /// The main histories as plain samples, for what every level sees.
    plain: Tally,
    events: u64,
    main_events: u64,
    copies: u64,
    crossings: Vec<u64>,
    /// Histories in which some copy was unreadable.
    with_outage: u64,
    /// Some copy was stopped at the event budget: the estimate is void.
    over_budget: bool,
    /// What one copy costs, in events (see [`copy_work`]).
    copy_work: f64,
}

impl Sums {
    fn new(empty: &Tally, copy_work: f64) -> Self {
        Sums {
            copy_work,
            down: Moments::default(),
            down_sq: Moments::default(),
            outages: Moments::default(),
            causes: vec![Moments::default(); empty.causes.len() + empty.stage_unavailability.len()],
            shares: vec![crate::stats::Ratio::default(); empty.causes.len()],
            main_down: Moments::default(),
            plain: empty.clone(),
            events: 0,
            main_events: 0,
            copies: 0,
            crossings: vec![],
            with_outage: 0,
            over_budget: false,
        }
    }

    fn push(&mut self, t: &Tree, weight: f64) {
        self.over_budget |= t.over_budget;
        self.down.push(weight * t.down);
        self.down_sq.push(weight * t.down_sq);
        self.outages.push(weight * t.outages as f64);
        for (i, m) in self.causes.iter_mut().enumerate() {
            m.push(weight * t.causes.get(i).copied().unwrap_or(0.0));
        }
        let cause = |i: usize| weight * t.causes.get(i).copied().unwrap_or(0.0);
        let all: f64 = (0..self.shares.len()).map(cause).sum();
        for (i, m) in self.shares.iter_mut().enumerate() {
            m.push(cause(i), all);
        }
        self.main_down.push(t.main_down);
        self.events += t.events;
        self.main_events += t.main_events;
        self.copies += t.copies;
        self.with_outage += u64::from(t.down > 0.0);
        self.add_crossings(&t.crossings);
    }

    fn add_crossings(&mut self, crossings: &[u64]) {
        if self.crossings.len() < crossings.len() {
            self.crossings.resize(crossings.len(), 0);
        }
        for (a, b) in self.crossings.iter_mut().zip(crossings) {
            *a += b;
        }
    }

    fn merge(&mut self, o: &Sums) {
        self.down.merge(&o.down);
        self.down_sq.merge(&o.down_sq);
        self.outages.merge(&o.outages);
        for (a, b) in self.causes.iter_mut().zip(&o.causes) {
            a.merge(b);
        }
        for (a, b) in self.shares.iter_mut().zip(&o.shares) {
            a.merge(b);
        }
        self.main_down.merge(&o.main_down);
        self.plain.merge(&o.plain);
        self.events += o.events;
        self.main_events += o.main_events;
        self.copies += o.copies;
        self.with_outage += o.with_outage;
        self.over_budget |= o.over_budget;
        self.add_crossings(&o.crossings);
    }

    /// The half-width of the interval on the time unreadable over its mean.
    fn relative_half_width(&self, confidence: f64) -> f64 {
        if self.down.mean > 0.0 {
            self.down.half_width(confidence) / self.down.mean
        } else {
            f64::INFINITY
        }
    }

    /// The plain variance of the time down per history: the main histories are plain
    /// samples of it (useless when they see no outage); E[Σ d²] − E[D]² bounds it from
    /// below (useless when a history has many outages). The larger is taken.
    fn plain_variance(&self) -> f64 {
        let d = self.down.mean;
        self.main_down
            .variance()
            .max(self.down_sq.mean - d * d)
            .max(0.0)
    }

    /// Plain variance over splitting's, per history.
    fn variance_reduction(&self) -> Option<f64> {
        Some(self.plain_variance() / self.down.variance()).filter(|v| v.is_finite() && *v > 0.0)
    }

    /// The work of all copies, in events: the events applied, and [`copy_work`] for each
    /// copy made.
    fn work(&self) -> f64 {
        self.events as f64 + self.copy_work * self.copies as f64
    }

    /// The variance reduction per unit of work (a plain history's work is its events).
    fn speedup(&self) -> Option<f64> {
        self.variance_reduction()
            .map(|v| v * self.main_events as f64 / self.work().max(1.0))
    }
}

/// What making one copy costs, in events: a copy of the simulator's state and a redraw of
/// its clocks, which grow with its replicas and nodes. Measured on two cores: 14 events
/// a copy on `models/ha.toml` (8 replicas, 3 nodes: 2.6 µs a copy, 0.19 µs an event), 6 on
/// a two-store model with a data flow (4 replicas: 0.49 µs, 0.079 µs).
fn copy_work(template: &Simulator) -> f64 {
    COPY_WORK_PER_PART * template.parts() as f64
}

/// Events' worth of work per replica or node copied (see [`copy_work`]).
pub const COPY_WORK_PER_PART: f64 = 1.5;

/// The main histories a run folds at a time, and between checks of `--precision`: a
/// multiple of [`CHUNK`], so that the fold is the same however the run is cut.
pub const ROUND: u64 = 256;

/// Runs main histories `from..to` with `factors` on `pool`, `chunk` at a time, and folds
/// them into `sums` in index order, telling `progress` how many of the run are done
/// (`done` before).
#[allow(clippy::too_many_arguments)]
fn run(
    template: &Simulator,
    empty: &Tally,
    (factors, importance): (&[u32], Importance),
    seed: u64,
    (from, to, chunk): (u64, u64, u64),
    pool: &rayon::ThreadPool,
    sums: &mut Sums,
    progress: &(dyn Fn(u64) + Sync),
) {
    debug_assert_eq!(from % chunk, 0);
    let done = std::sync::atomic::AtomicU64::new(from);
    let weight = 1.0 / factors.iter().map(|&r| f64::from(r)).product::<f64>();
    let chunks: Vec<u64> = (from / chunk..to.div_ceil(chunk)).collect();
    let parts: Vec<Sums> = pool.install(|| {
        chunks
            .par_iter()
            .map(|&c| {
                let mut main = template.clone();
                let mut worker = Worker {
                    factors,
                    importance,
                    seed,
                    spare: vec![],
                    splits: vec![],
                    plain: empty.clone(),
                    accrued: vec![],
                };
                let mut part = Sums::new(empty, copy_work(template));
                let end = ((c + 1) * chunk).min(to);
                for i in c * chunk..end {
                    let tree = worker.history(&mut main, i);
                    part.push(&tree, weight);
                }
                part.plain = worker.plain;
                let n = end - c * chunk;
                progress(done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n);
                part
            })
            .collect()
    });
    for p in &parts {
        sums.merge(p);
    }
}

/// Main histories `0..histories` with `factors`, folded.
fn sample(
    template: &Simulator,
    empty: &Tally,
    scheme: (&[u32], Importance),
    seed: u64,
    histories: u64,
    pool: &rayon::ThreadPool,
) -> Sums {
    let mut sums = Sums::new(empty, copy_work(template));
    run(
        template,
        empty,
        scheme,
        seed,
        (0, histories, CHUNK),
        pool,
        &mut sums,
        &|_| {},
    );
    sums
}

/// Chooses the factors by pilot runs (see the module's documentation): for each
/// threshold `l < top` in turn, with the factors below it fixed, estimates
/// `P(reach l + 1 | at l)` from the crossings and sets `R_l` to its inverse; `R_top = 1`.
fn pilot(
    template: &Simulator,
    empty: &Tally,
    importance: Importance,
    seed: u64,
    pool: &rayon::ThreadPool,
) -> Result<(Vec<u32>, Vec<String>), SplitError> {
    let run = |factors: &[u32], seed, histories| {
        sample(
            template,
            empty,
            (factors, importance),
            seed,
            histories,
            pool,
        )
    };
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
        let s = run(&factors, seed, histories);
        let first = s.crossings.first().copied().unwrap_or(0);
        if first >= FIRST_CROSSINGS {
            break;
        }
        if histories >= MAX_HISTORIES {
            if first >= ENOUGH {
                break;
            }
            return Err(SplitError::Pilot(format!(
                "in {histories} pilot histories the read path did not lose a replica ({}) {ENOUGH} times: outages are not rare through redundancy here; use --method plain or give --factors",
                importance.describe()
            )));
        }
        histories = (histories * 10).min(MAX_HISTORIES);
    }
    for l in 1..top {
        let mut trial = 1u32;
        loop {
            factors[l - 1] = trial;
            // As many retrials at each trial factor: fewer histories for larger ones.
            let h = (histories * 100 / u64::from(trial)).clamp(1, histories);
            let s = run(&factors, seed, h);
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

/// What a splitting run is asked for.
#[derive(Clone, Debug)]
pub struct SplitPlan {
    pub seed: u64,
    /// Main histories (with `precision`: the most).
    pub histories: u64,
    /// Stop at the first [`ROUND`] of main histories where the interval's half-width is
    /// at most this fraction of the unavailability.
    pub precision: Option<f64>,
    /// One per threshold; `None`: chosen by a pilot.
    pub factors: Option<Vec<u32>>,
    /// What the level counts; `None`: with `factors`, replicas not ready, else the
    /// cheaper of the two by [`scout`].
    pub importance: Option<Importance>,
    pub threads: usize,
}

/// What a pilot learnt about a model: its factors, and what splitting and plain
/// simulation would cost for the same precision (from [`SCOUT`] main histories).
pub struct Scout {
    pub importance: Importance,
    pub factors: Vec<u32>,
    pub warnings: Vec<String>,
    /// Plain work over splitting's work for the same precision (events); `None` when
    /// the scout saw no outage.
    pub speedup: Option<f64>,
    /// Splitting's variance of the time unreadable per main history (seconds²).
    pub variance: f64,
    /// Work per main history, copies included (events and [`copy_work`] a copy), and
    /// the events of the main history alone (a plain history's work).
    pub work_per_history: f64,
    pub plain_events_per_history: f64,
    /// Main histories the scout ran.
    pub histories: u64,
    pub seconds: f64,
}

/// Main histories a scout runs to compare splitting with plain simulation, at most...
pub const SCOUT: u64 = 256;
/// ... and the work (events, see [`copy_work`]) it may take, as the first history's work
/// foretells it, ...
pub const SCOUT_WORK: f64 = 5e7;
/// ... but at least this many main histories, the fewest it trusts for a variance.
pub const SCOUT_LEAST: u64 = 16;

fn pool(threads: usize) -> Result<rayon::ThreadPool, SplitError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| SplitError::Threads(e.to_string()))
}

/// The ways of counting the level worth trying on `template`'s model: replicas not
/// ready always; replicas held as well where something can hold a read-path replica
/// (see [`Simulator::can_hold`]).
pub fn importances(template: &Simulator) -> Vec<Importance> {
    let mut v = vec![Importance::NotReady];
    if template.can_hold() {
        v.push(Importance::Held);
    }
    v
}

/// Chooses factors by a pilot and runs up to [`SCOUT`] main histories with them (from
/// the pilot's streams, not the run's), to tell whether splitting pays. With
/// `importance` `None`, does so for each of [`importances`] and keeps the one that needs
/// the least work for one precision; one whose pilot sees too few crossings, whose
/// factors are all 1 while another's are not, or whose first history costs more than
/// [`SCOUT_WORK`] / [`SCOUT_LEAST`] while another's does not, is passed over.
pub fn scout(
    model: &Model,
    importance: Option<Importance>,
    seed: u64,
    threads: usize,
) -> Result<Scout, SplitError> {
    check(model)?;
    let started = std::time::Instant::now();
    let template = Simulator::new(model);
    let empty = Tally::new(model);
    let pool = pool(threads)?;
    let tried = match importance {
        Some(i) => vec![i],
        None => importances(&template),
    };
    // Each candidate's pilot and first history.
    let mut alive = vec![];
    let mut failed = None;
    for importance in tried {
        match pilot(&template, &empty, importance, seed, &pool) {
            Ok((factors, warnings)) => {
                let mut s = Sums::new(&empty, copy_work(&template));
                let scheme = (factors.as_slice(), importance);
                scout_part(&template, &empty, scheme, seed, (0, 1), &pool, &mut s)?;
                alive.push((importance, factors, warnings, s));
            }
            Err(e @ SplitError::Pilot(_)) => failed = failed.or(Some(e)),
            Err(e) => return Err(e),
        }
    }
    if alive.iter().any(|c| c.1.iter().any(|&r| r > 1)) {
        alive.retain(|c| c.1.iter().any(|&r| r > 1));
    }
    // The cheapest of those left: the affordability rule below never drops them all.
    let Some(cheapest) = alive.iter().map(|c| c.3.work()).reduce(f64::min) else {
        return Err(failed.expect("one importance at least was tried"));
    };
    let affordable = |w: f64| w * SCOUT_LEAST as f64 <= SCOUT_WORK;
    if affordable(cheapest) {
        alive.retain(|c| affordable(c.3.work()));
    }
    let mut best: Option<Scout> = None;
    for (importance, factors, warnings, mut s) in alive {
        let n = ((SCOUT_WORK / s.work().max(1.0)) as u64).clamp(SCOUT_LEAST, SCOUT);
        let scheme = (factors.as_slice(), importance);
        scout_part(&template, &empty, scheme, seed, (1, n), &pool, &mut s)?;
        let found = Scout {
            importance,
            speedup: s.speedup(),
            variance: s.down.variance(),
            work_per_history: s.work() / n as f64,
            plain_events_per_history: s.main_events as f64 / n as f64,
            histories: n,
            factors,
            warnings,
            seconds: 0.0,
        };
        let better = |b: &Scout| found.speedup.unwrap_or(0.0) > b.speedup.unwrap_or(0.0);
        if best.as_ref().is_none_or(better) {
            best = Some(found);
        }
    }
    let mut best = best.expect("the cheapest candidate is kept");
    best.seconds = started.elapsed().as_secs_f64();
    Ok(best)
}

/// Main histories `from..to` of a scout, one a chunk (so that every thread works on a
/// few costly ones), folded into `s`.
fn scout_part(
    template: &Simulator,
    empty: &Tally,
    scheme: (&[u32], Importance),
    seed: u64,
    (from, to): (u64, u64),
    pool: &rayon::ThreadPool,
    s: &mut Sums,
) -> Result<(), SplitError> {
    run(
        template,
        empty,
        scheme,
        seed ^ PILOT_SALT,
        (from, to, 1),
        pool,
        s,
        &|_| {},
    );
    if s.over_budget {
        Err(SplitError::EventBudget)
    } else {
        Ok(())
    }
}

/// Estimates the report of `model` by splitting. History `i` starts from
/// `history_rng(seed, i)`, as in plain simulation (with all factors 1 this is plain
/// simulation on the event engine); the fold is in fixed chunks in order, so the result
/// does not depend on the number of threads. `earlier` is time already spent choosing
/// (a scout's), added to the pilot's and the wall time.
pub fn estimate(
    model: &Model,
    plan: &SplitPlan,
    earlier: f64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RunReport, SplitError> {
    check(model)?;
    let template = Simulator::new(model);
    let empty = Tally::new(model);
    let pool = pool(plan.threads)?;
    let started = std::time::Instant::now();
    let from_pilot = plan.factors.is_none();
    let (importance, factors, mut warnings) = match (&plan.factors, plan.importance) {
        (Some(f), i) => (i.unwrap_or(Importance::NotReady), f.clone(), vec![]),
        (None, Some(i)) => {
            let (f, w) = pilot(&template, &empty, i, plan.seed, &pool)?;
            (i, f, w)
        }
        (None, None) => match importances(&template)[..] {
            [only] => {
                let (f, w) = pilot(&template, &empty, only, plan.seed, &pool)?;
                (only, f, w)
            }
            _ => {
                let s = scout(model, None, plan.seed, plan.threads)?;
                (s.importance, s.factors, s.warnings)
            }
        },
    };
    let pilot_seconds = earlier + started.elapsed().as_secs_f64();
    let c = model.simulation.confidence;
    let mut sums = Sums::new(&empty, copy_work(&template));
    let mut from = 0;
    let mut reached = false;
    while from < plan.histories && !reached {
        let to = match plan.precision {
            Some(_) => (from + ROUND).min(plan.histories),
            None => plan.histories,
        };
        run(
            &template,
            &empty,
            (&factors, importance),
            plan.seed,
            (from, to, CHUNK),
            &pool,
            &mut sums,
            progress,
        );
        if sums.over_budget {
            return Err(SplitError::EventBudget);
        }
        from = to;
        reached = plan
            .precision
            .is_some_and(|p| sums.relative_half_width(c) <= p);
    }
    let wall = earlier + started.elapsed().as_secs_f64();
    let histories = sums.down.n;
    if sums.with_outage < 30 {
        warnings.push(format!(
            "only {} of {histories} histories reached an outage in any copy: the interval is unreliable; raise -n",
            sums.with_outage
        ));
    }
    let speedup = sums.speedup();
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
    let horizon = model.simulation.horizon;
    let years = histories as f64 * horizon / YEAR;
    let perf = Perf {
        wall_seconds: wall,
        years_per_second: years / wall.max(1e-9),
        events: sums.events,
        threads: pool.current_num_threads(),
        engine: "events".into(),
    };
    let mut report = RunReport::new(model, plan.seed, &sums.plain, perf);
    // What happens only at the top level comes from the copies, weighted.
    let down = Estimate::of_nonnegative(&sums.down, c);
    report.availability = down.scaled(1.0 / horizon).complement();
    let d = &mut report.downtime_seconds;
    (d.mean, d.ci_low, d.ci_high) = (down.mean, down.ci_low, down.ci_high);
    let outages = Estimate::of_nonnegative(&sums.outages, c);
    let o = &mut report.outages;
    (o.mean, o.ci_low, o.ci_high) = (outages.mean, outages.ci_low, outages.ci_high);
    o.mean_length_seconds = if outages.mean > 0.0 {
        down.mean / outages.mean
    } else {
        0.0
    };
    let n_causes = empty.causes.len();
    report.causes = RunReport::causes_of(model, &sums.causes[..n_causes], &sums.shares, c);
    // A read-path stage is down only at the top level: its availability from the copies.
    for &s in &model.system.read_path {
        let down = Estimate::of_nonnegative(&sums.causes[n_causes + s], c);
        report.stages[s].availability = down.scaled(1.0 / horizon).complement();
    }
    report.warnings = warnings;
    let rhw = sums.relative_half_width(c);
    report.stopping = Stopping {
        reason: match plan.precision {
            None => "replications",
            Some(_) if reached => "precision",
            Some(_) => "max_replications",
        },
        precision: plan.precision,
        relative_half_width: rhw.is_finite().then_some(rhw),
    };
    let mut fields: std::collections::BTreeMap<&'static str, &'static str> = [
        ("availability", "splitting"),
        ("downtime_seconds.mean", "splitting"),
        ("downtime_seconds.quantiles", "plain"),
        ("outages.mean", "splitting"),
        ("outages.mean_length_seconds", "splitting"),
        ("outages.p_any", "plain"),
        ("causes", "splitting"),
        ("stages.availability (read path)", "splitting"),
        ("stages.availability (off the read path)", "plain"),
        ("stages.failures", "plain"),
    ]
    .into_iter()
    .collect();
    for (field, present) in [
        ("slo", report.slo.is_some()),
        ("fresh_availability", report.fresh_availability.is_some()),
        ("completeness", report.completeness.is_some()),
        ("lost_metrics", report.lost_metrics.is_some()),
    ] {
        if present {
            fields.insert(field, "plain");
        }
    }
    report.estimation = Estimation {
        method: "restart_splitting",
        estimand: "horizon_mean",
        chosen: "asked",
        reason: None,
        fields,
        splitting: Some(SplitDetails {
            importance,
            variance_reduction: sums.variance_reduction(),
            speedup,
            levels: factors
                .iter()
                .zip(sums.crossings.iter().chain(std::iter::repeat(&0)))
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
            pilot_seconds,
        }),
    };
    Ok(report)
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
        let plan = SplitPlan {
            seed: 7,
            histories: 2_000,
            precision: None,
            factors: Some(vec![1, 1]),
            importance: None,
            threads: 2,
        };
        let r = estimate(&m, &plan, 0.0, &|_| {}).unwrap();
        let plain = crate::estimate::plain::simulate(
            &m,
            &crate::estimate::plain::RunPlan {
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
        let u = 1.0 - r.availability.mean;
        let rel = (u - plain.unavailability.mean).abs() / plain.unavailability.mean;
        assert!(rel < 1e-9, "{u} vs {}", plain.unavailability.mean);
        // The main histories are the plain ones: the fields they give agree exactly.
        let p = crate::estimate::results::RunReport::new(&m, 7, &plain, r.perf.clone());
        for (a, b) in r.stages.iter().zip(&p.stages) {
            // Folded in other chunks than a plain run's: equal to rounding.
            let (f, g) = (a.failures.mean, b.failures.mean);
            assert!((f - g).abs() <= 1e-12 * g, "{f} vs {g}");
            let (x, y) = (1.0 - a.availability.mean, 1.0 - b.availability.mean);
            assert!((x - y).abs() <= 1e-9 * y, "{x} vs {y}");
        }
        assert_eq!(r.downtime_seconds.p99, p.downtime_seconds.p99);
        assert_eq!(r.slo, p.slo);
        let sp = r.estimation.splitting.as_ref().unwrap();
        assert_eq!(sp.copies, 2_000);
    }

    #[test]
    fn factors_are_checked() {
        assert!(parse_factors("1,20", 2).is_ok());
        assert!(parse_factors("1", 2).is_err());
        assert!(parse_factors("1,0", 2).is_err());
        assert!(parse_factors("1,x", 2).is_err());
    }
}
