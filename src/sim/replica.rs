//! The life of one replica (MODEL-SPEC.md "The life of one replica"): failure, detection,
//! back-off, the crew queue, restarting, persisting causes, and what a stage's readiness
//! does when a replica comes and goes.

use serde::Serialize;

use super::outages::NO_CAUSE;
use super::plan::NO_NODE;
use super::queue::EventKind;
use super::{Plan, State};
use crate::dist::unit_interval;
use crate::model::Detect;
use crate::units::Seconds;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaState {
    Ready,
    /// Failed, not yet noticed.
    Down,
    BackingOff,
    /// Waiting for a repair crew.
    Queued,
    Restarting,
    /// Its node is down, its new Pod has no node to go to, or its volume is still
    /// attached to a dead node.
    Pending,
    /// Deleted (by a rollout or a drain), stopping; for a Deployment in a rollout, deleted
    /// and waiting for its new Pod.
    Terminating,
}

/// How a replica starts again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Start {
    /// In-place restart after its container failed: back-off counts it.
    AfterCrash,
    /// In-place restart after its node came back: `n = 0`.
    Fresh,
    /// A new Pod (`recreate`): `n = 0`.
    NewPod,
}

/// A replica's part in a one-at-a-time rollout (StatefulSet, DaemonSet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lane {
    None,
    /// It was deleted; its new Pod must become ready.
    Kill,
}

/// The new Pod a Deployment rollout created beside a replica's old one (`rolling.go`
/// scales the new ReplicaSet up before the old one down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Surge {
    None,
    /// Created, no node to go to yet.
    Pending,
    /// Starting on `surge_node`, ready at `surge_done`.
    Starting,
    Ready,
}

/// Where a replica's pending event came from: what [`Simulator::resample_clocks`] draws
/// its time again from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Clock {
    /// A fixed delay (back-off, eviction, shutdown), or nothing pending.
    Fixed,
    /// Its failure modes (the earliest fires).
    Failure,
    /// Detection of failure mode `m`.
    Detect(u16),
    Restart,
    Recreate,
    Operator,
}

#[derive(Clone, Debug)]
pub(super) struct Replica {
    pub(super) state: ReplicaState,
    pub(super) generation: u32,
    /// Restarts of this container since the last back-off reset.
    pub(super) restarts: u32,
    pub(super) last_start: Seconds,
    /// The kind of the restart waiting in a crew queue.
    pub(super) queued_start: Start,
    pub(super) node: u32,
    /// When a persisting cause is fixed (−∞ when none).
    pub(super) fix_time: Seconds,
    pub(super) cause: u32,
    pub(super) cause_start: Seconds,
    pub(super) lane: Lane,
    /// A Deployment rollout is on and this slot's Pod is of the old template.
    pub(super) old: bool,
    pub(super) surge: Surge,
    pub(super) surge_node: u32,
    pub(super) surge_done: Seconds,
    pub(super) surge_generation: u32,
    /// A StatefulSet Pod on a local volume: the node it is pinned to.
    pub(super) pinned: u32,
    /// A StatefulSet Pod force-deleted off a dead node: that node, and when its volume is
    /// force-detached from it (`detach_wait` after the force delete).
    pub(super) detach_node: u32,
    pub(super) attach_at: Seconds,
    /// It holds one of its stage's repair crews (restarting).
    pub(super) crew: bool,
    /// The kind and start of its pending event's delay, and of its surge Pod's.
    pub(super) clock: Clock,
    pub(super) clock_start: Seconds,
    pub(super) surge_start: Seconds,
    /// The failure mode whose persisting cause `fix_time` ends, and when it began.
    pub(super) fix_mode: u16,
    pub(super) fix_start: Seconds,
}

impl Replica {
    /// Not ready, and waiting on more than its own container: Pending (its node down, no
    /// node to go to, its volume held by a dead node), or waiting for or held by a repair
    /// crew.
    pub(super) fn held(&self) -> bool {
        matches!(self.state, ReplicaState::Pending | ReplicaState::Queued)
            || (self.crew && self.state == ReplicaState::Restarting)
    }

    /// A ready, new container at t = 0.
    pub(super) const NEW: Replica = Replica {
        state: ReplicaState::Ready,
        generation: 0,
        restarts: 0,
        last_start: 0.0,
        queued_start: Start::Fresh,
        node: NO_NODE,
        fix_time: f64::NEG_INFINITY,
        cause: NO_CAUSE,
        cause_start: 0.0,
        lane: Lane::None,
        old: false,
        surge: Surge::None,
        surge_node: NO_NODE,
        surge_done: 0.0,
        surge_generation: 0,
        pinned: NO_NODE,
        detach_node: NO_NODE,
        attach_at: f64::NEG_INFINITY,
        crew: false,
        clock: Clock::Fixed,
        clock_start: 0.0,
        surge_start: 0.0,
        fix_mode: 0,
        fix_start: 0.0,
    };
}

impl State {
    /// Draws the next failure of a replica that just became ready.
    #[inline(always)]
    pub(super) fn draw_failure(&mut self, plan: &Plan, r: u32) {
        let stage = &plan.stages[plan.replica_stage[r as usize] as usize];
        let Some((first, rest)) = stage.modes.split_first() else {
            return;
        };
        let mut t = first.every.sample(&mut self.rng);
        let mut m = 0;
        for (k, mode) in rest.iter().enumerate() {
            let tk = mode.every.sample(&mut self.rng);
            if tk < t {
                (t, m) = (tk, k + 1);
            }
        }
        let now = self.queue.now();
        let rep = &mut self.replicas[r as usize];
        (rep.clock, rep.clock_start) = (Clock::Failure, now);
        let g = rep.generation;
        self.queue.schedule(t, EventKind::Fail, r, g, m as u32);
    }

    #[inline(always)]
    pub(super) fn set_stage(&mut self, plan: &Plan, s: usize, up: bool) {
        let now = self.queue.now();
        let st = &mut self.stages[s];
        if st.up == up {
            return;
        }
        st.up = up;
        if up {
            st.downtime += now - st.down_since;
        } else {
            st.down_since = now;
        }
        self.note_stage(plan, s, up);
        match plan.cache {
            Some((reader, _)) if reader == s => {
                // A reader restart empties its cache.
                self.cache_until = f64::NEG_INFINITY;
            }
            _ if plan.stages[s].on_read_path => {
                if up {
                    self.path_down -= 1;
                } else {
                    self.path_down += 1;
                    if let Some((reader, max_staleness)) = plan.cache
                        && self.path_down == 1
                        && self.stages[reader].up
                    {
                        self.cache_until = now + max_staleness;
                        self.cache_generation = self.cache_generation.wrapping_add(1);
                        self.queue.schedule(
                            max_staleness,
                            EventKind::CacheExpire,
                            0,
                            self.cache_generation,
                            0,
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// One more ready Pod for stage `s` (a replica, or a rollout's surge Pod): the stage is
    /// up from its `min_ready`-th.
    #[inline(always)]
    pub(super) fn count_ready(&mut self, plan: &Plan, s: usize) {
        self.book.cause_dirty = true;
        self.flow_dirty |= plan.stages[s].feeds_flow;
        self.stages[s].ready += 1;
        if self.stages[s].ready == plan.stages[s].min_ready {
            self.set_stage(plan, s, true);
        }
    }

    /// One ready Pod fewer for stage `s`: the stage is down below `min_ready`.
    #[inline(always)]
    pub(super) fn count_unready(&mut self, plan: &Plan, s: usize) {
        self.book.cause_dirty = true;
        self.flow_dirty |= plan.stages[s].feeds_flow;
        self.stages[s].ready -= 1;
        if self.stages[s].ready + 1 == plan.stages[s].min_ready {
            self.set_stage(plan, s, false);
        }
    }

    #[inline(always)]
    pub(super) fn become_ready(&mut self, plan: &Plan, r: u32) {
        let s = plan.replica_stage[r as usize] as usize;
        let rep = &mut self.replicas[r as usize];
        rep.state = ReplicaState::Ready;
        rep.cause = NO_CAUSE;
        let lane = std::mem::replace(&mut rep.lane, Lane::None);
        self.count_ready(plan, s);
        self.note(plan, r, "ready");
        self.draw_failure(plan, r);
        if lane == Lane::Kill {
            self.stages[s].kill_busy -= 1;
            self.fill_lanes(plan, s);
        }
        if self.stages[s].rollout_active || self.drain.evicting() {
            self.pods_dirty = true;
        }
    }

    /// The replica stops serving; `cause` is recorded if it was ready.
    #[inline(always)]
    pub(super) fn leave_ready(&mut self, plan: &Plan, r: u32, cause: u32) {
        let s = plan.replica_stage[r as usize] as usize;
        let now = self.queue.now();
        let rep = &mut self.replicas[r as usize];
        if rep.state != ReplicaState::Ready {
            return;
        }
        rep.cause = cause;
        rep.cause_start = now;
        self.count_unready(plan, s);
        if self.stages[s].rollout_active {
            self.pods_dirty = true;
        }
    }

    /// Cancels whatever a replica was waiting for (events, crew, queue place).
    pub(super) fn cancel_pending(&mut self, plan: &Plan, r: u32) {
        let s = plan.replica_stage[r as usize] as usize;
        if self.replicas[r as usize].state == ReplicaState::Queued {
            self.stages[s].waiting.retain(|q| *q != r);
        }
        let rep = &mut self.replicas[r as usize];
        if std::mem::take(&mut rep.crew) {
            self.stages[s].busy_crews -= 1;
        }
        rep.generation = rep.generation.wrapping_add(1);
    }

    #[inline(always)]
    pub(super) fn fail(&mut self, plan: &Plan, r: u32, mode: usize) {
        let s = plan.replica_stage[r as usize] as usize;
        self.stages[s].failures += 1;
        let cause = plan.stages[s].modes[mode].cause;
        let persists = plan.stages[s].modes[mode]
            .persists
            .as_ref()
            .map(|d| d.sample(&mut self.rng));
        self.leave_ready(plan, r, cause);
        let now = self.queue.now();
        let failure = &plan.stages[s].modes[mode];
        let rep = &mut self.replicas[r as usize];
        rep.state = ReplicaState::Down;
        if let Some(p) = persists {
            rep.fix_time = now + p;
            (rep.fix_mode, rep.fix_start) = (mode as u16, now);
        }
        (rep.clock, rep.clock_start) = (Clock::Detect(mode as u16), now);
        let g = rep.generation;
        let delay = match &failure.detect {
            Detect::Exit => {
                self.note_failed(plan, r, mode);
                self.detected(plan, r);
                return;
            }
            Detect::Liveness => {
                let probe = plan.stages[s]
                    .liveness
                    .expect("validated: liveness detection has a probe");
                probe.detection_delay(unit_interval(&mut self.rng))
            }
            Detect::After(d) => d.sample(&mut self.rng),
        };
        self.note_failed(plan, r, mode);
        self.queue.schedule(delay, EventKind::Detected, r, g, 0);
    }

    #[inline(always)]
    pub(super) fn detected(&mut self, plan: &Plan, r: u32) {
        let s = plan.replica_stage[r as usize] as usize;
        let Some(backoff) = plan.stages[s].backoff else {
            self.request_restart(plan, r, Start::AfterCrash);
            return;
        };
        // The container exits now (the crash, the liveness kill or the end of a detection
        // draw): the kubelet resets its back-off when that is more than ten minutes after
        // the container's last start.
        let now = self.queue.now();
        let rep = &mut self.replicas[r as usize];
        if backoff.resets_after(now - rep.last_start) {
            rep.restarts = 0;
        }
        let delay = backoff.delay(rep.restarts);
        if delay > 0.0 {
            rep.state = ReplicaState::BackingOff;
            rep.clock = Clock::Fixed;
            let g = rep.generation;
            self.queue.schedule(delay, EventKind::BackoffEnd, r, g, 0);
            self.note(plan, r, "backing_off");
        } else {
            self.request_restart(plan, r, Start::AfterCrash);
        }
    }

    #[inline(always)]
    pub(super) fn request_restart(&mut self, plan: &Plan, r: u32, start: Start) {
        let s = plan.replica_stage[r as usize] as usize;
        let crews = plan.stages[s].crews;
        if crews == 0 || self.stages[s].busy_crews < crews {
            self.start_restart(plan, r, start);
        } else {
            let rep = &mut self.replicas[r as usize];
            rep.state = ReplicaState::Queued;
            rep.queued_start = start;
            self.stages[s].waiting.push_back(r);
            self.note(plan, r, "queued");
        }
    }

    #[inline(always)]
    pub(super) fn start_restart(&mut self, plan: &Plan, r: u32, start: Start) {
        let s = plan.replica_stage[r as usize] as usize;
        let crew = plan.stages[s].crews > 0;
        if crew {
            self.stages[s].busy_crews += 1;
        }
        let now = self.queue.now();
        let rep = &mut self.replicas[r as usize];
        rep.crew = crew;
        rep.state = ReplicaState::Restarting;
        rep.last_start = now;
        rep.clock = if start == Start::NewPod {
            Clock::Recreate
        } else {
            Clock::Restart
        };
        rep.clock_start = now;
        match start {
            Start::AfterCrash => rep.restarts += 1,
            Start::Fresh | Start::NewPod => rep.restarts = 0,
        }
        let g = rep.generation;
        let stage = &plan.stages[s];
        let d = match start {
            Start::NewPod => stage.recreate.as_ref(),
            _ => stage.restart.as_ref(),
        }
        .expect("validated: a stage that can go down has restart");
        let t = d.sample(&mut self.rng);
        self.queue.schedule(t, EventKind::RestartDone, r, g, 0);
        self.note(
            plan,
            r,
            if start == Start::NewPod {
                "creating"
            } else {
                "restarting"
            },
        );
    }

    #[inline(always)]
    pub(super) fn restart_done(&mut self, plan: &Plan, r: u32) {
        let s = plan.replica_stage[r as usize] as usize;
        if std::mem::take(&mut self.replicas[r as usize].crew) {
            self.stages[s].busy_crews -= 1;
            self.dispatch_crews(plan, s);
        }
        let now = self.queue.now();
        let rep = &mut self.replicas[r as usize];
        if now < rep.fix_time {
            // The cause persists: it fails again the moment it would have been ready.
            rep.state = ReplicaState::Down;
            self.note(plan, r, "crashed_again");
            self.detected(plan, r);
            return;
        }
        rep.fix_time = f64::NEG_INFINITY;
        self.become_ready(plan, r);
    }

    /// Starts queued restarts in every stage with crews (after a node took several).
    pub(super) fn dispatch_all_crews(&mut self, plan: &Plan) {
        for s in 0..plan.stages.len() {
            if plan.stages[s].crews > 0 {
                self.dispatch_crews(plan, s);
            }
        }
    }

    /// Starts queued restarts while crews are free.
    pub(super) fn dispatch_crews(&mut self, plan: &Plan, s: usize) {
        while self.stages[s].busy_crews < plan.stages[s].crews {
            let Some(next) = self.stages[s].waiting.pop_front() else {
                break;
            };
            let start = self.replicas[next as usize].queued_start;
            self.start_restart(plan, next, start);
        }
    }
}
