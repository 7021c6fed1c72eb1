//! The timeline engine: independent replicas, drawn one at a time, then swept in time
//! order.
//!
//! When no replica's course depends on another's — no repair crews, no node that can
//! fail, no rollout, no data flow, no reader cache ([`Plan::replicas_independent`]) —
//! each replica is a process of its own: ready, failed (noticed, backing off,
//! restarting, crashing again while its fault persists), ready again. Such a history
//! needs no event queue. Each replica's changes within the horizon are drawn in turn, by
//! the rules of the event engine's handlers (`fail`, `detected`, `start_restart`,
//! `restart_done` in `src/sim/mod.rs`, which the tests hold this engine to); then one
//! sweep over all the changes in time order counts every stage's downtime and judges the
//! read path after each instant, with the same [`OutageBook`] as the event engine.
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

/// One replica's change: it stops serving for `cause`, or is ready again (`cause` =
/// [`READY`]). Each replica's list ends with one at infinity.
#[derive(Clone, Copy, Debug)]
struct Change {
    time: Seconds,
    cause: u32,
}

const READY: u32 = NO_CAUSE;

/// A replica in the sweep: the time of its next change, where that change is in
/// `changes`, and its stage.
#[derive(Clone, Copy, Debug)]
struct Lane {
    head: Seconds,
    next: u32,
    stage: u32,
}

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
    /// Every replica's changes before the horizon, replica by replica, each replica's
    /// in time order and closed by one at infinity.
    changes: Vec<Change>,
    lanes: Vec<Lane>,
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
        let lanes = plan
            .replica_stage
            .iter()
            .map(|&stage| Lane {
                head: f64::INFINITY,
                next: 0,
                stage,
            })
            .collect();
        TimelineSim {
            rng: history_rng(0, 0),
            changes: Vec::with_capacity(64 * n_replicas),
            lanes,
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
        for r in 0..self.lanes.len() {
            self.lanes[r].next = self.changes.len() as u32;
            self.draw(r as u32);
            self.changes.push(Change {
                time: f64::INFINITY,
                cause: READY,
            });
        }
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
            });
            ready_at = now;
        }
    }

    /// Applies the changes in time order, judging the read path after each instant: a
    /// merge of the replicas' lists, the next instant found by a scan of their heads
    /// (cheaper than a queue for the few replicas of a pipeline).
    fn sweep(&mut self) {
        let TimelineSim {
            plan,
            changes,
            lanes,
            stages,
            down_since,
            down_cause,
            path_down,
            book,
            ..
        } = self;
        book.reset();
        *path_down = 0;
        for lane in lanes.iter_mut() {
            lane.head = changes[lane.next as usize].time;
        }
        loop {
            let mut t = f64::INFINITY;
            for lane in lanes.iter() {
                if lane.head < t {
                    t = lane.head;
                }
            }
            if t == f64::INFINITY {
                break;
            }
            for (r, lane) in lanes.iter_mut().enumerate() {
                while lane.head == t {
                    let c = changes[lane.next as usize];
                    lane.next += 1;
                    lane.head = changes[lane.next as usize].time;
                    let st = &mut stages[lane.stage as usize];
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
                }
            }
            // Nothing to book while the read path is and was up.
            if *path_down != 0 || !book.readable {
                book.cause_dirty = true;
                book.judge(t, *path_down == 0, || {
                    plan.earliest_cause(
                        |s| stages[s].up,
                        |r| (down_cause[r] != NO_CAUSE).then(|| (down_since[r], down_cause[r])),
                    )
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
