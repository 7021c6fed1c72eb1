//! Steady-state read availability without simulation: a cross-check of the simulator.
//!
//! - One replica is an alternating renewal process: up for the time to failure, down for
//!   detection + back-off + restart. Its steady-state availability is
//!   `MTTF / (MTTF + MTTD + E[back-off] + MTTR)` whatever the shapes of the distributions.
//! - Back-off: the container's exit resets the restart count when it comes more than
//!   600 s (the kubelet's window) after the restart began, i.e. when `R + F + D > 600 s`
//!   (restart, time up, detection). These events are independent from cycle to cycle, so
//!   the count used at a failure is geometric: `P(n = j) = (1 − p)·p^j` with
//!   `p = P(R + F ≤ 600 s − D)` (`D` at its mean), and
//!   `E[back-off] = Σ_j (1 − p)·p^j·delay(j)`; `p` is found by numerical integration, so
//!   the answer is then marked not exact.
//! - A stage of `n` replicas with independent repair (no crew limit, or at least `n`
//!   crews) is up with the binomial probability of at least `min_ready` of them up.
//! - With `c < n` crews, exponential failures and restarts make a birth–death chain on the
//!   number of failed replicas: failure rate `(n − k)·λ`, repair rate `min(k, c)·μ`.
//! - Stages are independent unless they share a failing node; the read path is their
//!   series product.
//! - A failing node whose loss takes a read-path stage down is a renewal process of its
//!   own (its next failure is drawn when it is back): down for `recovery` plus the time its
//!   replicas take to become ready again, which a new node failure can cut short, so its
//!   unavailability is `(E[recovery] + E[min(R, N)]) / (E[N] + E[recovery])`. This is
//!   exact when those stages have no failures of their own, their restarts are fixed
//!   times and every other stage's replicas are off failing nodes.
//!
//! Everything else is approximated and named in `notes`, with `exact: false`.

use serde::Serialize;

use crate::dist::Dist;
use crate::model::{BACKOFF_RESET_WINDOW, Detect, Kind, Model, Spread, Stage, Volume};
use crate::units::Seconds;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Solution {
    pub availability: f64,
    pub exact: bool,
    pub notes: Vec<String>,
    /// Steady-state availability of each read-path stage from its own failures (nodes
    /// counted separately when their loss takes the stage down).
    pub stages: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot solve this model: {0}")]
pub struct SolveError(pub String);

struct Notes {
    exact: bool,
    notes: Vec<String>,
}

impl Notes {
    fn approx(&mut self, note: String) {
        self.exact = false;
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }
}

/// An extra way a replica goes down: (mean time to failure, mean time down).
type ExtraMode = (Seconds, Seconds);

pub fn solve(model: &Model) -> Result<Solution, SolveError> {
    refuse_moves_and_drains(model)?;
    let mut notes = Notes {
        exact: true,
        notes: vec![],
    };
    // Required spread: replicas beyond one per node are Pending for good (nothing moves).
    let mut placed = model.clone();
    for (si, s) in placed.stages.iter_mut().enumerate() {
        if s.spread == Some(Spread::Required) && !s.nodes.is_empty() {
            s.replicas = s.replicas.min(s.nodes.len() as u32);
            if s.min_ready > s.replicas && model.system.read_path.contains(&si) {
                return Ok(Solution {
                    availability: 0.0,
                    exact: true,
                    notes: vec![format!(
                        "stage {}: required spread leaves {} of its replicas a node and it needs {}: never up",
                        s.name, s.replicas, s.min_ready
                    )],
                    stages: [(s.name.clone(), 0.0)].into_iter().collect(),
                });
            }
            s.min_ready = s.min_ready.min(s.replicas);
        }
    }
    let model = &placed;
    let mut availability = 1.0;
    let mut stage_avail = std::collections::BTreeMap::new();
    // Nodes whose loss takes a read-path stage down, and the stages they take.
    let mut extra: Vec<Vec<ExtraMode>> = vec![vec![]; model.stages.len()];
    for (ni, node) in model.nodes.iter().enumerate() {
        let Some(nf) = &node.failure else { continue };
        let mut critical: Vec<(usize, u32)> = vec![];
        for &si in &model.system.read_path {
            let s = &model.stages[si];
            let on_node = (0..s.replicas)
                .filter(|r| s.node_of(*r) == Some(ni))
                .count() as u32;
            if on_node == 0 {
                continue;
            }
            let restart = s
                .restart
                .as_ref()
                .expect("validated: a stage on a failing node has restart");
            if on_node > s.replicas - s.min_ready {
                // Replicas that must restart after the node is back before the stage is up.
                critical.push((si, on_node - (s.replicas - s.min_ready)));
            } else {
                notes.approx(format!(
                    "node {}: its loss does not take stage {} down alone; treated as one more independent \
                     failure mode of the stage's replicas on it (errs either way: the node takes them down together)",
                    node.name, s.name
                ));
                extra[si].push((nf.every.mean(), nf.recovery.mean() + restart.mean()));
            }
        }
        if critical.is_empty() {
            continue;
        }
        // Time after recovery until every stage it took down is up again.
        let mut back_after: Seconds = 0.0;
        let mut fixed = true;
        for &(si, needed) in &critical {
            let s = &model.stages[si];
            let restart = s.restart.as_ref().expect("checked above");
            fixed &= matches!(restart.family, crate::dist::Family::Fixed { .. });
            let rounds = if s.repair_crews == 0 {
                1
            } else {
                needed.div_ceil(s.repair_crews)
            };
            back_after = back_after.max(f64::from(rounds) * restart.mean());
            if !s.failures.is_empty() {
                notes.approx(format!(
                    "node {} and stage {}: the stage's own failures and the node's are treated as independent \
                     (the node's loss also resets the stage's failure clocks; errs either way)",
                    node.name, s.name
                ));
            }
        }
        if !fixed {
            notes.approx(format!(
                "node {}: the time its replicas take to be ready again after it is back is taken at its mean \
                 (the mean of the slowest when several restart at once; errs either way: for one replica it \
                 overstates the downtime, for several restarting at once the slowest is slower than the slowest mean)",
                node.name
            ));
        }
        let n_mean = nf.every.mean();
        let cut = mean_min_with(&nf.every, back_after);
        let u = (nf.recovery.mean() + cut) / (n_mean + nf.recovery.mean());
        availability *= 1.0 - u;
    }
    for &si in &model.system.read_path {
        let s = &model.stages[si];
        let mut a = stage_availability(s, &extra[si], &mut notes)?;
        a *= 1.0 - maintenance_unavailability(s, &mut notes);
        if s.cache.is_some() {
            notes.approx(format!(
                "stage {}: the reader cache is left out (pessimistic: the cache only adds readable time)",
                s.name
            ));
        }
        stage_avail.insert(s.name.clone(), a);
        availability *= a;
    }
    let shared: Vec<&str> = model
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.failure.is_some())
        .filter(|(ni, _)| {
            model
                .system
                .read_path
                .iter()
                .filter(|si| model.stages[**si].nodes.contains(ni))
                .count()
                > 1
        })
        .map(|(_, n)| n.name.as_str())
        .collect();
    if !shared.is_empty() && !notes.exact {
        notes.approx(format!(
            "stages sharing failing nodes ({}) are correlated; the product treats what is left as independent \
             (pessimistic in itself: losses through a shared node overlap in time)",
            shared.join(", ")
        ));
    }
    Ok(Solution {
        availability,
        exact: notes.exact,
        notes: notes.notes,
        stages: stage_avail,
    })
}

/// What the steady state cannot honour, refused rather than approximated: node drains,
/// and replicas that move between nodes after a node loss. Where moved replicas pile up
/// decides what the next node loss takes down, and no formula here bounds it (on a
/// two-node model with moving replicas the old approximation was off by a factor of 160).
fn refuse_moves_and_drains(model: &Model) -> Result<(), SolveError> {
    if model.upgrades.is_some() {
        return Err(SolveError(
            "node drains ([upgrades]) evict Pods within PodDisruptionBudgets and take nodes down in turn; \
             the steady-state solver has no formula for them: use `hasim run`"
                .into(),
        ));
    }
    for &si in &model.system.read_path {
        let s = &model.stages[si];
        let moves = match s.kind {
            Kind::Deployment => s.nodes.len() > 1,
            Kind::StatefulSet => s.operator_response.is_some() && s.volume != Some(Volume::Local),
            _ => false,
        };
        if moves && s.nodes.iter().any(|n| model.nodes[*n].failure.is_some()) {
            return Err(SolveError(format!(
                "stage {}: its replicas move to other nodes after a node loss (evictions, force deletes), \
                 and where they pile up decides what the next node loss takes down; no steady-state formula \
                 here bounds that: use `hasim run`",
                s.name
            )));
        }
    }
    Ok(())
}

/// Planned rollouts: the fraction of time a rollout keeps the stage down, as if nothing
/// else failed during it and every new Pod took the mean `recreate` (exact for fixed times
/// and healthy replicas).
fn maintenance_unavailability(s: &Stage, notes: &mut Notes) -> f64 {
    let Some(m) = &s.maintenance else { return 0.0 };
    notes.approx(format!(
        "stage {}: rollouts are counted as if nothing else failed during them and every new Pod took the \
         mean recreate time (optimistic for the failures left out; otherwise exact for fixed times)",
        s.name
    ));
    let recreate = s.recreate_dist().map_or(0.0, Dist::mean);
    let down = match s.kind {
        Kind::Deployment => rolling_update_downtime(
            s.replicas,
            m.max_surge.unwrap_or(0),
            m.max_unavailable.unwrap_or(1),
            s.min_ready,
            recreate,
        ),
        // One at a time, each deleted, stopped and re-created: down throughout when one
        // replica fewer is too few.
        _ if s.replicas - 1 < s.min_ready => f64::from(s.replicas) * (s.shutdown + recreate),
        _ => 0.0,
    };
    (down / m.every).min(1.0)
}

/// The time a Deployment rollout of healthy replicas keeps fewer than `min_ready` ready,
/// by rolling.go's arithmetic (MODEL-SPEC.md "Maintenance") with every new Pod ready
/// `start` after it is created.
fn rolling_update_downtime(
    replicas: u32,
    surge: u32,
    unavailable: u32,
    min_ready: u32,
    start: Seconds,
) -> Seconds {
    let (r, floor) = (
        i64::from(replicas),
        i64::from(replicas) - i64::from(unavailable),
    );
    let (mut old, mut new_ready, mut starting) = (r, 0i64, 0i64);
    let mut down = 0.0;
    loop {
        // Every rule at this instant, until none applies (old Pods are all ready).
        loop {
            let existing = old + new_ready + starting;
            if existing < r + i64::from(surge) && new_ready + starting < r {
                starting += 1;
            } else if old > 0 && old + new_ready > floor {
                old -= 1;
            } else {
                break;
            }
        }
        if starting == 0 {
            return down;
        }
        // The Pods created now are all ready one `start` later.
        if old + new_ready < i64::from(min_ready) {
            down += start;
        }
        new_ready += starting;
        starting = 0;
    }
}

/// `E[min(N, r)] = ∫₀ʳ P(N > t) dt` for a time to failure `N`.
fn mean_min_with(n: &Dist, r: Seconds) -> Seconds {
    if r <= 0.0 {
        return 0.0;
    }
    if let Some(m) = n.exponential_mean() {
        return -m * (-r / m).exp_m1();
    }
    simpson(|t| 1.0 - n.cdf(t), 0.0, r, 2000)
}

fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, intervals: usize) -> f64 {
    let n = intervals + intervals % 2;
    let h = (b - a) / n as f64;
    let mut s = f(a) + f(b);
    for i in 1..n {
        s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

/// One replica's own cycle: (MTTF, mean time down).
fn replica_cycle(s: &Stage, notes: &mut Notes) -> (Seconds, Seconds) {
    let rates: Vec<f64> = s.failures.iter().map(|m| 1.0 / m.every.mean()).collect();
    let total: f64 = rates.iter().sum();
    let mttf = if s.failures.len() == 1 {
        s.failures[0].every.mean()
    } else {
        if s.failures
            .iter()
            .any(|m| m.every.exponential_mean().is_none())
        {
            notes.approx(format!(
                "stage {}: the earliest of several non-exponential failure modes is approximated by their summed rates \
                 (errs either way)",
                s.name
            ));
        }
        1.0 / total
    };
    let detection_only: Seconds = s
        .failures
        .iter()
        .zip(&rates)
        .map(|(m, r)| mean_detection(s, m) * r / total)
        .sum();
    let detect: Seconds = s
        .failures
        .iter()
        .zip(&rates)
        .map(|(m, r)| {
            let mut d = mean_detection(s, m);
            if let Some(p) = &m.persists {
                notes.approx(format!(
                    "stage {} mode {}: a persisting cause is counted as its mean length added to the outage \
                     (optimistic: re-crashes and their back-off, left out, end the outage later than the fix)",
                    s.name, m.name
                ));
                d += p.mean();
            }
            d * r / total
        })
        .sum();
    let restart = s
        .restart
        .as_ref()
        .expect("validated: a stage that fails has restart");
    let backoff = mean_backoff(s, restart, detection_only, notes);
    (mttf, detect + backoff + restart.mean())
}

/// The mean time from a failure of mode `m` to its container's exit.
fn mean_detection(s: &Stage, m: &crate::model::FailureMode) -> Seconds {
    match &m.detect {
        Detect::Exit => 0.0,
        Detect::Liveness => s.liveness().expect("validated").mean_detection_delay(),
        Detect::After(d) => d.mean(),
    }
}

/// The mean back-off delay before a restart; `detection` is the mean time from a failure
/// to the container's exit, which the kubelet's reset window is measured to.
fn mean_backoff(s: &Stage, restart: &Dist, detection: Seconds, notes: &mut Notes) -> Seconds {
    let Some(b) = s.backoff else { return 0.0 };
    let window = (BACKOFF_RESET_WINDOW - detection).max(0.0);
    // F: time to the next failure; several modes use their combined rate.
    let f_cdf = |t: f64| -> f64 {
        if s.failures.len() == 1 {
            s.failures[0].every.cdf(t)
        } else {
            let total: f64 = s.failures.iter().map(|m| 1.0 / m.every.mean()).sum();
            -(-t * total).exp_m1()
        }
    };
    if restart.lower_bound()
        + s.failures
            .iter()
            .map(|m| m.every.lower_bound())
            .fold(f64::INFINITY, f64::min)
        > window
    {
        return 0.0;
    }
    // p = P(R + F <= window) = ∫ F_F(window − r) dF_R(r).
    let steps = 4000;
    let mut p = 0.0;
    let mut prev = restart.cdf(0.0);
    p += prev * f_cdf(window);
    for i in 1..=steps {
        let r = window * i as f64 / steps as f64;
        let c = restart.cdf(r);
        let mid = r - window / (2.0 * steps as f64);
        p += (c - prev) * f_cdf(window - mid);
        prev = c;
    }
    if p <= 0.0 {
        return 0.0;
    }
    let q = 1.0 - p;
    let mut e = 0.0;
    let mut pj = 1.0;
    let mut j = 0u32;
    loop {
        j += 1;
        pj *= p;
        let d = b.delay(j);
        if d >= b.cap || pj < 1e-300 {
            e += pj * b.cap; // Σ_{i≥j} q·p^i·cap = p^j·cap
            break;
        }
        e += q * pj * d;
    }
    notes.approx(format!(
        "stage {}: back-off can bind (a failure within {} s of a restart, probability {:.3e}); its mean delay \
         {:.3e} s comes from the stationary restart count with that probability integrated numerically \
         (errs either way)",
        s.name, window, p, e
    ));
    e
}

fn stage_availability(
    s: &Stage,
    extra: &[ExtraMode],
    notes: &mut Notes,
) -> Result<f64, SolveError> {
    if s.failures.is_empty() && extra.is_empty() {
        return Ok(1.0);
    }
    let (mut mttf, mut down) = if s.failures.is_empty() {
        (f64::INFINITY, 0.0)
    } else {
        let (mttf, down) = replica_cycle(s, notes);
        if !(mttf.is_finite() && down.is_finite()) {
            return Err(SolveError(format!(
                "stage {}: the mean time to failure or to restart is not finite (up {mttf} s, down {down} s)",
                s.name
            )));
        }
        (mttf, down)
    };
    if down == 0.0 {
        // Instant repair: never down.
        return Ok(1.0);
    }
    if !extra.is_empty() {
        // Fold the node modes in by rates: an approximation already noted.
        let mut rate = if mttf.is_finite() { 1.0 / mttf } else { 0.0 };
        let mut weighted_down = rate * down;
        for (m, d) in extra {
            rate += 1.0 / m;
            weighted_down += d / m;
        }
        mttf = 1.0 / rate;
        down = weighted_down / rate;
    }
    let n = s.replicas;
    let k = s.min_ready;
    let independent = s.repair_crews == 0 || s.repair_crews >= n;
    if independent {
        let a = mttf / (mttf + down);
        return Ok(at_least(k, n, a));
    }
    // Shared crews: a birth–death chain on the number of failed replicas.
    let all_exp = !s.failures.is_empty()
        && extra.is_empty()
        && s.failures
            .iter()
            .all(|m| m.every.exponential_mean().is_some() && matches!(m.detect, Detect::Exit))
        && s.backoff.is_none()
        && s.restart
            .as_ref()
            .and_then(Dist::exponential_mean)
            .is_some();
    if !all_exp {
        notes.approx(format!(
            "stage {}: {} crews for {} replicas with non-exponential times, detection or back-off: solved as a \
             birth–death chain with the same means (errs either way)",
            s.name, s.repair_crews, n
        ));
    }
    let lambda = 1.0 / mttf;
    let mu = 1.0 / down;
    let c = s.repair_crews;
    let mut pi = vec![1.0f64];
    for j in 1..=n {
        let birth = f64::from(n - (j - 1)) * lambda;
        let death = f64::from(j.min(c)) * mu;
        pi.push(pi[j as usize - 1] * birth / death);
    }
    let total: f64 = pi.iter().sum();
    Ok(pi[..=(n - k) as usize].iter().sum::<f64>() / total)
}

/// P(at least `k` of `n` independent replicas are up), each up with probability `a`.
fn at_least(k: u32, n: u32, a: f64) -> f64 {
    let mut p = 0.0;
    for j in k..=n {
        p += binomial(n, j) * a.powi(j as i32) * (1.0 - a).powi((n - j) as i32);
    }
    p.min(1.0)
}

fn binomial(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
}
