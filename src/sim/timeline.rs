//! The timeline engine: independent replicas, drawn one at a time, then swept in time
//! order.
//!
//! When no replica's course depends on another's — no repair crews, no node that can
//! fail, no rollout, no data flow, no reader cache ([`Plan::replicas_independent`]) —
//! each replica is a process of its own: ready, failed (noticed, backing off,
//! restarting, crashing again while its fault persists), ready again. Such a history
//! needs no event queue. Each replica's changes within the horizon are drawn in turn, by
//! the rules of the event engine's handlers (`fail`, `detected`, `start_restart`,
//! `restart_done` in `src/sim/mod.rs`, which the tests hold this engine to); the
//! replicas' lists are merged into one in time order, and one pass over it counts every
//! stage's downtime and judges the read path after each instant, with the same
//! [`OutageBook`] as the event engine.
//!
//! The law of a history is the event engine's; the draws are not (the random stream is
//! consumed replica by replica instead of event by event), so the two engines give
//! different numbers from one seed, each reproducible. A history is still a function of
//! `(seed, index)` alone. Times are in seconds; changes at or after the horizon are not
//! applied, as in the event engine.

use std::sync::Arc;

use super::outages::{NO_CAUSE, OutageBook};
use super::{HistoryRng, MAX_EVENTS, Outcome, Plan, history_rng};
use crate::dist::unit_interval;
use crate::model::Detect;
use crate::units::Seconds;

/// A change of `replica`: it stops serving for `cause`, or is ready again (`cause` =
/// [`READY`]).
#[derive(Clone, Copy, Debug)]
struct Change {
    time: Seconds,
    cause: u32,
    replica: u32,
}

const READY: u32 = NO_CAUSE;

/// Room not yet written in the merge's buffer.
const EMPTY: Change = Change {
    time: 0.0,
    cause: READY,
    replica: 0,
};

#[derive(Clone, Copy, Debug, Default)]
struct StageTally {
    ready: u32,
    min_ready: u32,
    up: bool,
    on_read_path: bool,
    down_since: Seconds,
    downtime: Seconds,
    failures: u64,
}

/// Simulates histories of a model whose replicas are independent; reuse it for many.
#[derive(Clone, Debug)]
pub struct TimelineSim {
    plan: Arc<Plan>,
    rng: HistoryRng,
    /// Every replica's changes before the horizon: replica by replica, each replica's
    /// in time order, as drawn; then all in time order ([`TimelineSim::merge`]).
    changes: Vec<Change>,
    /// Where each run of `changes` in time order ends (a replica's, then merged ones').
    run_ends: Vec<u32>,
    /// Room for the merge.
    merged: Vec<Change>,
    stages: Vec<StageTally>,
    /// When each replica stopped serving and why ([`NO_CAUSE`] while it is ready).
    down_since: Vec<Seconds>,
    down_cause: Vec<u32>,
    /// Read-path stages down.
    path_down: u32,
    book: OutageBook,
    events: u64,
    stage_downtime: Vec<Seconds>,
    stage_failures: Vec<u64>,
}

impl TimelineSim {
    /// A simulator of a plan whose replicas are independent
    /// ([`Plan::replicas_independent`]).
    pub(super) fn new(plan: Arc<Plan>) -> Self {
        debug_assert!(plan.replicas_independent());
        let (n_replicas, n_stages) = (plan.replica_stage.len(), plan.stages.len());
        TimelineSim {
            rng: history_rng(0, 0),
            changes: Vec::with_capacity(64 * n_replicas),
            run_ends: Vec::with_capacity(n_replicas),
            merged: Vec::with_capacity(64 * n_replicas),
            stages: vec![StageTally::default(); n_stages],
            down_since: vec![0.0; n_replicas],
            down_cause: vec![NO_CAUSE; n_replicas],
            path_down: 0,
            book: OutageBook::new(plan.cause_names.len()),
            events: 0,
            stage_downtime: vec![0.0; n_stages],
            stage_failures: vec![0; n_stages],
            plan,
        }
    }

    /// Runs replication `index` of a run with `seed` and returns what it produced.
    pub fn run(&mut self, seed: u64, index: u64) -> Outcome<'_> {
        self.rng = history_rng(seed, index);
        self.changes.clear();
        self.events = 0;
        for (s, plan) in self.stages.iter_mut().zip(&self.plan.stages) {
            *s = StageTally {
                ready: plan.replicas,
                min_ready: plan.min_ready,
                up: true,
                on_read_path: plan.on_read_path,
                ..StageTally::default()
            };
        }
        self.run_ends.clear();
        for r in 0..self.plan.replica_stage.len() {
            self.draw(r as u32);
            self.run_ends.push(self.changes.len() as u32);
        }
        self.merge();
        self.sweep();
        self.finish()
    }

    /// Appends replica `r`'s changes before the horizon to `changes`, in time order.
    #[inline]
    fn draw(&mut self, r: u32) {
        let plan = &*self.plan;
        let horizon = plan.horizon;
        let s = plan.replica_stage[r as usize] as usize;
        let stage = &plan.stages[s];
        let Some((first, rest)) = stage.modes.split_first() else {
            return;
        };
        let rng = &mut self.rng;
        let (mut ready_at, mut last_start, mut restarts) = (0.0, 0.0, 0u32);
        loop {
            if self.events > MAX_EVENTS {
                return;
            }
            // Ready since `ready_at`: the earliest of its failure modes fires.
            let (mut delay, mut m) = (first.every.sample(rng), 0);
            for (k, mode) in rest.iter().enumerate() {
                let dk = mode.every.sample(rng);
                if dk < delay {
                    (delay, m) = (dk, k + 1);
                }
            }
            let failed = ready_at + delay;
            if failed >= horizon {
                return;
            }
            self.events += 1;
            self.stages[s].failures += 1;
            let mode = &stage.modes[m];
            let fixed_at = mode
                .persists
                .as_ref()
                .map_or(f64::NEG_INFINITY, |p| failed + p.sample(rng));
            self.changes.push(Change {
                time: failed,
                cause: mode.cause,
                replica: r,
            });
            let mut now = match &mode.detect {
                Detect::Exit => failed,
                Detect::Liveness => {
                    let probe = stage
                        .liveness
                        .expect("validated: liveness detection has a probe");
                    failed + probe.detection_delay(unit_interval(rng))
                }
                Detect::After(d) => failed + d.sample(rng),
            };
            if !matches!(mode.detect, Detect::Exit) {
                if now >= horizon {
                    return;
                }
                self.events += 1;
            }
            // The container exits at `now` (noticed): back off, restart, and crash again
            // while the fault lasts.
            loop {
                if let Some(backoff) = stage.backoff {
                    if backoff.resets_after(now - last_start) {
                        restarts = 0;
                    }
                    let wait = backoff.delay(restarts);
                    if wait > 0.0 {
                        now += wait;
                        if now >= horizon {
                            return;
                        }
                        self.events += 1;
                    }
                }
                last_start = now;
                restarts += 1;
                now += stage
                    .restart
                    .as_ref()
                    .expect("validated: a stage that can go down has restart")
                    .sample(rng);
                if now >= horizon {
                    return;
                }
                self.events += 1;
                if now < fixed_at && self.events <= MAX_EVENTS {
                    continue;
                }
                break;
            }
            self.changes.push(Change {
                time: now,
                cause: READY,
                replica: r,
            });
            ready_at = now;
        }
    }

    /// Sorts `changes` by time ([`merge_runs`]).
    fn merge(&mut self) {
        merge_runs(&mut self.changes, &mut self.merged, &mut self.run_ends);
    }

    /// Applies the changes in time order, judging the read path after each instant.
    fn sweep(&mut self) {
        let TimelineSim {
            plan,
            changes,
            stages,
            down_since,
            down_cause,
            path_down,
            book,
            ..
        } = self;
        book.reset();
        *path_down = 0;
        for (i, c) in changes.iter().enumerate() {
            let (t, r) = (c.time, c.replica as usize);
            let stage = plan.replica_stage[r] as usize;
            let st = &mut stages[stage];
            down_cause[r] = c.cause;
            let was_up = st.up;
            if c.cause == READY {
                st.ready += 1;
            } else {
                down_since[r] = t;
                st.ready -= 1;
            }
            st.up = st.ready >= st.min_ready;
            if st.up != was_up {
                if st.up {
                    st.downtime += t - st.down_since;
                } else {
                    st.down_since = t;
                }
                if st.on_read_path {
                    if st.up {
                        *path_down -= 1;
                    } else {
                        *path_down += 1;
                    }
                }
            }
            if changes.get(i + 1).is_some_and(|next| next.time == t) {
                continue;
            }
            // The instant's last change applied; nothing to book while the read path is
            // and was up.
            if *path_down != 0 || !book.readable {
                book.cause_dirty = true;
                let down =
                    |r: usize| (down_cause[r] != NO_CAUSE).then(|| (down_since[r], down_cause[r]));
                // One read-path stage down, and the last change's stage is a read-path
                // one and down: it is the one, whose replicas are all there is to look
                // at (most outages of independent replicas begin so).
                let st = &stages[stage];
                let alone = *path_down == 1 && st.on_read_path && !st.up;
                book.judge(t, *path_down == 0, || {
                    if alone {
                        plan.earliest_cause_in(stage, down)
                    } else {
                        plan.earliest_cause(|s| stages[s].up, down)
                    }
                });
            }
        }
    }

    fn finish(&mut self) -> Outcome<'_> {
        let horizon = self.plan.horizon;
        self.book.close(horizon);
        for (i, s) in self.stages.iter().enumerate() {
            let open = if s.up { 0.0 } else { horizon - s.down_since };
            self.stage_downtime[i] = s.downtime + open;
            self.stage_failures[i] = s.failures;
        }
        self.down_cause.iter_mut().for_each(|c| *c = NO_CAUSE);
        Outcome {
            downtime: self.book.downtime,
            outages: self.book.outages,
            stale_or_down: self.book.downtime,
            produced: 0.0,
            lost: 0.0,
            events: self.events,
            stage_downtime: &self.stage_downtime,
            stage_failures: &self.stage_failures,
            cause_downtime: &self.book.cause_downtime,
        }
    }
}

/// Sorts `changes` by time, stably, given that its runs ending at `run_ends` are each
/// in time order: they are merged pairwise, neighbour with neighbour, until one is left
/// (`room` is the merge's buffer; `run_ends` is left with the one end). An instant's
/// changes thus stay replica by replica, each replica's in the order drawn.
///
/// A merge, not a scan of the replicas' next changes at every step: which replica
/// changes next is what a history is random about, and a scan that branches on it is
/// mispredicted by callgrind's branch model about once a change (7.4 M of 82 M branches
/// on R1, against 0.5 M with the merge, whose choice is a select). The processor's own
/// predictor did better than that model: in wall-clock time the merge is within the
/// noise of the scan (README, Performance), and either sweep still costs about as much
/// as drawing the changes. A merge's passes touch each change once per halving of the
/// runs.
fn merge_runs(changes: &mut Vec<Change>, room: &mut Vec<Change>, run_ends: &mut Vec<u32>) {
    while run_ends.len() > 1 {
        room.resize(changes.len(), EMPTY);
        let (mut start, mut pairs) = (0, 0);
        for k in (0..run_ends.len()).step_by(2) {
            let mid = run_ends[k] as usize;
            let end = run_ends.get(k + 1).map_or(mid, |&e| e as usize);
            merge_into(changes, (start, mid, end), &mut room[start..end]);
            run_ends[pairs] = end as u32;
            pairs += 1;
            start = end;
        }
        run_ends.truncate(pairs);
        std::mem::swap(changes, room);
    }
}

/// Writes `src[start..mid]` and `src[mid..end]`, each in time order, to `out` (of their
/// total length) in time order, the first run's first where times are equal. The next
/// change is chosen by a select of its index marked unpredictable, so that it compiles
/// to a conditional move, not a branch.
fn merge_into(src: &[Change], (start, mid, end): (usize, usize, usize), out: &mut [Change]) {
    let (mut i, mut j, mut k) = (start, mid, 0);
    while i < mid && j < end {
        let take_a = src[i].time <= src[j].time;
        out[k] = src[std::hint::select_unpredictable(take_a, i, j)];
        i += usize::from(take_a);
        j += usize::from(!take_a);
        k += 1;
    }
    let (rest_a, rest_b) = (mid - i, end - j);
    out[k..k + rest_a].copy_from_slice(&src[i..mid]);
    out[k + rest_a..k + rest_a + rest_b].copy_from_slice(&src[j..end]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn merged_runs_are_the_stable_sort_of_their_concatenation() {
        let mut rng = HistoryRng::seed_from_u64(7);
        let (mut changes, mut room, mut ends) = (vec![], vec![], vec![]);
        for _ in 0..500 {
            changes.clear();
            ends.clear();
            let runs = rng.random_range(0..12);
            for replica in 0..runs {
                // Coarse times, so that equal times within and across runs are common.
                let mut t = 0.0;
                for _ in 0..rng.random_range(0..9) {
                    t += f64::from(rng.random_range(0..3u8));
                    let cause = rng.random_range(0..4);
                    changes.push(Change {
                        time: t,
                        cause,
                        replica,
                    });
                }
                ends.push(changes.len() as u32);
            }
            let mut expected = changes.clone();
            expected.sort_by(|a, b| a.time.total_cmp(&b.time));
            merge_runs(&mut changes, &mut room, &mut ends);
            let key = |c: &Change| (c.time.to_bits(), c.cause, c.replica);
            assert_eq!(
                changes.iter().map(key).collect::<Vec<_>>(),
                expected.iter().map(key).collect::<Vec<_>>()
            );
            assert!(ends.len() <= 1);
        }
    }
}
