//! The timeline engine: independent replicas, drawn one at a time, then swept in time
//! order.
//!
//! When no replica's course depends on another's — no repair crews, no node that can
//! fail, no rollout, no data flow, no reader cache ([`Plan::replicas_independent`]) —
//! each replica is a process of its own: ready, failed (noticed, backing off,
//! restarting, crashing again while its fault persists), ready again. Such a history
//! needs no event queue. It is worked out in three passes:
//!
//! 1. each replica's changes within the horizon are drawn in turn, by the rules of the
//!    event engine's handlers (`fail`, `detected`, `start_restart`, `restart_done` in
//!    `src/sim/replica.rs`, which the tests hold this engine to);
//! 2. stage by stage, its replicas' changes give its downtime and, for a read-path
//!    stage, its down time cut into [`Piece`]s of one cause each (a one-replica stage's
//!    pieces are its replica's down times as drawn; a larger stage's changes are merged
//!    in time order and counted);
//! 3. the read-path stages' pieces are merged in time order and swept once, judging the
//!    read path at every instant a piece begins or ends, with the same [`OutageBook`] as
//!    the event engine.
//!
//! The book sees the same outages as the event engine's, and the same cause at every
//! moment (the earliest-started among the replicas keeping a read-path stage down); it
//! is judged only at the instants where that may change, so a cause's time inside one
//! outage can be summed in fewer pieces (the last bits may differ from a sweep of every
//! change). The law of a history is the event engine's; the draws are not (the random
//! stream is consumed replica by replica instead of event by event), so the two engines
//! give different numbers from one seed, each reproducible. A history is still a
//! function of `(seed, index)` alone. Times are in seconds; changes at or after the
//! horizon are not applied, as in the event engine.

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

/// A stretch of a read-path stage's down time with one cause: from `from` to `to` (∞
/// when it lasts past the horizon) the stage is kept down by the earliest-started of its
/// replicas down, which stopped serving at `started` for `cause`. `rank` is the stage's
/// index: between stages down since the same instant the first one's cause is named, as
/// [`Plan::earliest_cause`] names it.
#[derive(Clone, Copy, Debug)]
struct Piece {
    from: Seconds,
    to: Seconds,
    started: Seconds,
    cause: u32,
    rank: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct StageTally {
    ready: u32,
    min_ready: u32,
    up: bool,
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
    /// in time order, as drawn.
    changes: Vec<Change>,
    /// Where each replica's run of `changes` ends.
    run_ends: Vec<u32>,
    /// One stage's changes, merged in time order, with room and run ends for the merge.
    stage_changes: Vec<Change>,
    stage_room: Vec<Change>,
    stage_ends: Vec<u32>,
    /// The read-path stages' pieces: stage by stage, each in time order; then all in
    /// time order. With room and run ends for the merge.
    pieces: Vec<Piece>,
    piece_room: Vec<Piece>,
    piece_ends: Vec<u32>,
    /// The pieces under way at the sweep's instant.
    active: Vec<Piece>,
    stages: Vec<StageTally>,
    /// When each replica stopped serving and why ([`NO_CAUSE`] while it is ready).
    down_since: Vec<Seconds>,
    down_cause: Vec<u32>,
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
            stage_changes: vec![],
            stage_room: vec![],
            stage_ends: vec![],
            pieces: Vec::with_capacity(32 * n_replicas),
            piece_room: Vec::with_capacity(32 * n_replicas),
            piece_ends: Vec::with_capacity(n_stages),
            active: Vec::with_capacity(n_stages),
            stages: vec![StageTally::default(); n_stages],
            down_since: vec![0.0; n_replicas],
            down_cause: vec![NO_CAUSE; n_replicas],
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
                ..StageTally::default()
            };
        }
        self.run_ends.clear();
        for r in 0..self.plan.replica_stage.len() {
            self.draw(r as u32);
            self.run_ends.push(self.changes.len() as u32);
        }
        self.pieces.clear();
        self.piece_ends.clear();
        for s in 0..self.plan.stages.len() {
            self.count_stage(s);
        }
        merge_runs(
            &mut self.pieces,
            &mut self.piece_room,
            &mut self.piece_ends,
            |p| p.from,
        );
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

    /// Counts stage `s`'s downtime from its replicas' changes and, if it is on the read
    /// path, appends its pieces to `pieces` as a run of their own.
    fn count_stage(&mut self, s: usize) {
        let plan = &*self.plan;
        let sp = &plan.stages[s];
        let (first, n) = (sp.first as usize, sp.replicas as usize);
        if n == 0 {
            return;
        }
        let run_start = |r: usize| {
            if r == 0 {
                0
            } else {
                self.run_ends[r - 1] as usize
            }
        };
        let (start, end) = (run_start(first), self.run_ends[first + n - 1] as usize);
        let st = &mut self.stages[s];
        let rank = s as u32;
        if n == 1 && sp.min_ready == 1 {
            // Down exactly while its one replica is: each failure and the next ready
            // change bound a piece, whose cause is the failure's.
            for pair in self.changes[start..end].chunks(2) {
                let failed = pair[0];
                let to = match pair.get(1) {
                    Some(ready) => {
                        st.downtime += ready.time - failed.time;
                        ready.time
                    }
                    None => {
                        (st.up, st.down_since) = (false, failed.time);
                        f64::INFINITY
                    }
                };
                if sp.on_read_path {
                    self.pieces.push(Piece {
                        from: failed.time,
                        to,
                        started: failed.time,
                        cause: failed.cause,
                        rank,
                    });
                }
            }
        } else {
            self.stage_changes.clear();
            self.stage_changes
                .extend_from_slice(&self.changes[start..end]);
            self.stage_ends.clear();
            self.stage_ends.extend(
                self.run_ends[first..first + n]
                    .iter()
                    .map(|&e| e - start as u32),
            );
            merge_runs(
                &mut self.stage_changes,
                &mut self.stage_room,
                &mut self.stage_ends,
                |c| c.time,
            );
            let (down_since, down_cause) = (&mut self.down_since, &mut self.down_cause);
            // The piece under way, open-ended until the stage is up or its cause changes.
            let mut open: Option<Piece> = None;
            let changes = &self.stage_changes;
            for (i, c) in changes.iter().enumerate() {
                let (t, r) = (c.time, c.replica as usize);
                down_cause[r] = c.cause;
                if c.cause == READY {
                    st.ready += 1;
                } else {
                    down_since[r] = t;
                    st.ready -= 1;
                }
                if changes.get(i + 1).is_some_and(|next| next.time == t) {
                    continue;
                }
                // The instant's last change applied.
                let was_up = st.up;
                st.up = st.ready >= st.min_ready;
                if st.up != was_up {
                    if st.up {
                        st.downtime += t - st.down_since;
                    } else {
                        st.down_since = t;
                    }
                }
                if !sp.on_read_path {
                    continue;
                }
                let keeps_down = (!st.up).then(|| {
                    plan.earliest_down_in(s, |r| {
                        (down_cause[r] != NO_CAUSE).then(|| (down_since[r], down_cause[r]))
                    })
                });
                if open.map(|p| (p.started, p.cause)) == keeps_down {
                    continue;
                }
                self.pieces.extend(open.map(|p| Piece { to: t, ..p }));
                open = keeps_down.map(|(started, cause)| Piece {
                    from: t,
                    to: f64::INFINITY,
                    started,
                    cause,
                    rank,
                });
            }
            self.pieces.extend(open);
        }
        if sp.on_read_path {
            self.piece_ends.push(self.pieces.len() as u32);
        }
    }

    /// Goes through the pieces in time order, judging the read path at each instant
    /// where one begins or ends (after all that begin or end then): it is down while a
    /// piece is under way, because of the earliest-started cause among them.
    fn sweep(&mut self) {
        let TimelineSim {
            plan,
            pieces,
            active,
            book,
            ..
        } = self;
        book.reset();
        active.clear();
        let unattributed = plan.cause_names.len() as u32 - 1;
        let mut next = 0;
        loop {
            // Most pieces are outages of their own: the read path readable before, no
            // other piece beginning before it ends.
            if active.is_empty() && book.readable {
                while let Some(p) = pieces.get(next)
                    && p.from < p.to
                    && p.to < plan.horizon
                    && pieces.get(next + 1).is_none_or(|q| p.to < q.from)
                {
                    book.isolated(p.from, p.to, p.cause);
                    next += 1;
                }
            }
            let begins = pieces.get(next).map_or(f64::INFINITY, |p| p.from);
            let ends = active.iter().fold(f64::INFINITY, |t, p| t.min(p.to));
            let t = begins.min(ends);
            if t >= plan.horizon {
                return;
            }
            while let Some(p) = pieces.get(next)
                && p.from == t
            {
                active.push(*p);
                next += 1;
            }
            active.retain(|p| p.to > t);
            if active.is_empty() && book.readable {
                continue;
            }
            book.cause_dirty = true;
            book.judge(t, active.is_empty(), || {
                let mut best = (f64::INFINITY, u32::MAX, unattributed);
                for p in active.iter() {
                    if (p.started, p.rank) < (best.0, best.1) {
                        best = (p.started, p.rank, p.cause);
                    }
                }
                best.2
            });
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

/// Sorts `items` by `time`, stably, given that its runs ending at `run_ends` are each in
/// time order: they are merged pairwise, neighbour with neighbour, until one is left
/// (`room` is the merge's buffer; `run_ends` is left with at most one end). An instant's
/// items thus stay run by run, each run's in its order.
///
/// A merge, not a scan of the runs' next items at every step: which run comes next is
/// what a history is random about, and a scan that branches on it is mispredicted by
/// callgrind's branch model about once an item; the merge's choice is a select. Its
/// passes touch each item once per halving of the runs.
fn merge_runs<T: Copy>(
    items: &mut Vec<T>,
    room: &mut Vec<T>,
    run_ends: &mut Vec<u32>,
    time: impl Fn(&T) -> Seconds + Copy,
) {
    // The merge writes every slot of `room`: what it is first filled with is never read.
    let Some(&filler) = items.first() else {
        run_ends.truncate(1);
        return;
    };
    while run_ends.len() > 1 {
        room.resize(items.len(), filler);
        let (mut start, mut pairs) = (0, 0);
        for k in (0..run_ends.len()).step_by(2) {
            let mid = run_ends[k] as usize;
            let end = run_ends.get(k + 1).map_or(mid, |&e| e as usize);
            merge_into(
                &items[start..mid],
                &items[mid..end],
                &mut room[start..end],
                time,
            );
            run_ends[pairs] = end as u32;
            pairs += 1;
            start = end;
        }
        run_ends.truncate(pairs);
        std::mem::swap(items, room);
    }
}

/// Writes `a` and `b`, each in time order, to `out` (of their total length) in time
/// order, `a`'s first where times are equal. The next item is chosen by a select of a
/// reference marked unpredictable, so that it compiles to a conditional move, not a
/// branch.
///
/// The two heads' times are kept in registers, as bit patterns (times are never
/// negative, so the patterns order as the numbers, and an integer select stays a
/// conditional move where a float one became a branch), and the time after each head is
/// loaded before the choice is known, then kept or not: the chain from one choice to the
/// next is a compare and a select, the loads beside it, instead of running through a
/// load whose address waits for the choice.
fn merge_into<T: Copy>(a: &[T], b: &[T], out: &mut [T], time: impl Fn(&T) -> Seconds) {
    debug_assert_eq!(out.len(), a.len() + b.len());
    // The time of a run's item `i` as bits; past its end, later than any time.
    let key = |run: &[T], i: usize| {
        run.get(i).map_or(u64::MAX, |x| {
            let t = time(x);
            debug_assert!(t >= 0.0 && t.is_sign_positive(), "a time of {t}");
            t.to_bits()
        })
    };
    let (mut i, mut j, mut k) = (0, 0, 0);
    let (mut ta, mut tb) = (key(a, 0), key(b, 0));
    while i < a.len() && j < b.len() {
        let (next_a, next_b) = (key(a, i + 1), key(b, j + 1));
        let take_a = ta <= tb;
        out[k] = *std::hint::select_unpredictable(take_a, &a[i], &b[j]);
        ta = std::hint::select_unpredictable(take_a, next_a, ta);
        tb = std::hint::select_unpredictable(take_a, tb, next_b);
        i += usize::from(take_a);
        j += usize::from(!take_a);
        k += 1;
    }
    let (rest_a, rest_b) = (&a[i..], &b[j..]);
    out[k..k + rest_a.len()].copy_from_slice(rest_a);
    out[k + rest_a.len()..].copy_from_slice(rest_b);
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
            merge_runs(&mut changes, &mut room, &mut ends, |c| c.time);
            let key = |c: &Change| (c.time.to_bits(), c.cause, c.replica);
            assert_eq!(
                changes.iter().map(key).collect::<Vec<_>>(),
                expected.iter().map(key).collect::<Vec<_>>()
            );
            assert!(ends.len() <= 1);
        }
    }
}
