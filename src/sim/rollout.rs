//! Maintenance: `kubectl rollout restart` of a stage (MODEL-SPEC.md "Maintenance").
//!
//! A **Deployment** follows Kubernetes' rolling-update arithmetic
//! (`pkg/controller/deployment/rolling.go`, `reconcileNewReplicaSet` and
//! `reconcileOldReplicaSets`). With `R` replicas, surge `S` and unavailable `U` (resolved
//! from `max_surge` rounded up and `max_unavailable` rounded down), at the start and after
//! every change of the stage's Pods, until nothing changes:
//!
//! - (a) a new Pod is created while fewer than `R + S` Pods exist (Pods being deleted not
//!   counted) and fewer than `R` of them are new;
//! - (b) an old Pod that is not ready is deleted while the Pods that exist, less the new ones
//!   not ready, less that one, stay at least `R − U`;
//! - (c) a ready old Pod is deleted while the ready Pods, old and new, less that one, stay
//!   at least `R − U`.
//!
//! A deleted Pod leaves readiness at once (its stop does not change what the rules count).
//! The stage keeps its `R` slots: a new Pod goes into a slot whose old Pod was deleted, or
//! else beside an old Pod as its *surge* Pod (beside a not-ready old Pod first, since (b)
//! deletes those first). Where a rule lets an old Pod go, the one deleted is, among those
//! the rule allows, one whose surge Pod is ready, else one whose surge Pod is starting
//! (the slot's new Pod then takes its place), else the first in slot order. The choice only
//! decides which slot holds which Pod, never the counts the rules read. New Pods are placed
//! by the scheduler's rule (`nodes.rs`) and take no repair crew when they start beside an
//! old Pod; a new Pod in a deleted Pod's slot is a start like any other.
//!
//! A **StatefulSet** replaces one Pod at a time, highest ordinal first: deleted, stopped
//! (`shutdown`), re-created (placed afresh) and ready before the next. A **DaemonSet**
//! likewise, in order, each on its own node. A replica whose node is down is skipped. A
//! rollout due while one runs is skipped.

use super::plan::NO_NODE;
use super::queue::EventKind;
use super::replica::{Clock, Lane, ReplicaState, Surge};
use super::{Plan, State};
use crate::model::Kind;

/// The Pods of a Deployment stage as rolling.go counts them.
#[derive(Clone, Copy, Debug, Default)]
struct PodCounts {
    /// Pods that exist and are not being deleted.
    existing: u32,
    /// Those of the new template.
    new: u32,
    /// Ready Pods, old and new.
    ready: u32,
    /// New Pods not ready yet.
    new_not_ready: u32,
}

impl State {
    pub(super) fn maintenance_start(&mut self, plan: &Plan, s: usize) {
        let every = plan.stages[s]
            .rollout
            .as_ref()
            .expect("scheduled only with maintenance")
            .every;
        self.queue
            .schedule(every, EventKind::MaintenanceStart, s as u32, 0, 0);
        if self.stages[s].rollout_active {
            return;
        }
        self.stages[s].rollout_active = true;
        self.note_stage_event(plan, s, "rollout_started");
        if plan.stages[s].kind == Kind::Deployment {
            let stage = &plan.stages[s];
            for r in stage.first..stage.first + stage.replicas {
                self.replicas[r as usize].old = true;
            }
            self.reconcile_rollout(plan, s);
        } else {
            self.stages[s].rollout_next = 0;
            self.fill_lanes(plan, s);
        }
    }

    fn pod_counts(&self, plan: &Plan, s: usize) -> PodCounts {
        let stage = &plan.stages[s];
        let mut c = PodCounts::default();
        for rep in &self.replicas[stage.first as usize..(stage.first + stage.replicas) as usize] {
            if rep.state != ReplicaState::Terminating {
                c.existing += 1;
                let ready = rep.state == ReplicaState::Ready;
                c.ready += u32::from(ready);
                if !rep.old {
                    c.new += 1;
                    c.new_not_ready += u32::from(!ready);
                }
            }
            if rep.surge != Surge::None {
                let ready = rep.surge == Surge::Ready;
                c.existing += 1;
                c.new += 1;
                c.ready += u32::from(ready);
                c.new_not_ready += u32::from(!ready);
            }
        }
        c
    }

    /// Applies rolling.go's rules (a), (b), (c) to a Deployment's rollout until none
    /// applies; ends the rollout when no old Pod is left.
    pub(super) fn reconcile_rollout(&mut self, plan: &Plan, s: usize) {
        if !self.stages[s].rollout_active || plan.stages[s].kind != Kind::Deployment {
            return;
        }
        let stage = &plan.stages[s];
        let rollout = stage.rollout.as_ref().expect("a rollout has a plan");
        let (replicas, surge) = (i64::from(stage.replicas), i64::from(rollout.surge));
        let floor = replicas - i64::from(rollout.unavailable);
        let slots = stage.first..stage.first + stage.replicas;
        loop {
            let c = self.pod_counts(plan, s);
            let (existing, new, ready, new_not_ready) = (
                i64::from(c.existing),
                i64::from(c.new),
                i64::from(c.ready),
                i64::from(c.new_not_ready),
            );
            if existing < replicas + surge
                && new < replicas
                && let Some(q) = self.slot_for_new_pod(slots.clone())
            {
                self.create_new_pod(plan, s, q);
                continue;
            }
            // (b), (c): with one Pod fewer the count stays at least `floor`.
            if existing - new_not_ready > floor
                && let Some(q) = self.old_pod_to_delete(slots.clone(), false)
            {
                self.delete_old_pod(plan, s, q);
                continue;
            }
            if ready > floor
                && let Some(q) = self.old_pod_to_delete(slots.clone(), true)
            {
                self.delete_old_pod(plan, s, q);
                continue;
            }
            break;
        }
        let done = self.replicas[slots.start as usize..slots.end as usize]
            .iter()
            .all(|rep| !rep.old && rep.surge == Surge::None);
        if done {
            self.stages[s].rollout_active = false;
            self.note_stage_event(plan, s, "rollout_done");
        }
    }

    /// Where rule (a) puts a new Pod: a slot whose old Pod was deleted, else beside an old
    /// Pod without one, not-ready ones first.
    fn slot_for_new_pod(&self, slots: std::ops::Range<u32>) -> Option<u32> {
        let rep = |q: &u32| &self.replicas[*q as usize];
        let open = |q: &u32| rep(q).old && rep(q).surge == Surge::None;
        slots
            .clone()
            .find(|q| open(q) && rep(q).state == ReplicaState::Terminating)
            .or_else(|| {
                slots
                    .clone()
                    .find(|q| open(q) && rep(q).state != ReplicaState::Ready)
            })
            .or_else(|| slots.clone().find(open))
    }

    /// The old Pod rule (b) (`ready` false) or (c) deletes: one whose surge Pod is ready,
    /// else one whose surge Pod is starting, else the first.
    fn old_pod_to_delete(&self, slots: std::ops::Range<u32>, ready: bool) -> Option<u32> {
        let rep = |q: &u32| &self.replicas[*q as usize];
        let candidate = |q: &u32| {
            rep(q).old
                && rep(q).state != ReplicaState::Terminating
                && (rep(q).state == ReplicaState::Ready) == ready
        };
        [Surge::Ready, Surge::Starting, Surge::Pending, Surge::None]
            .into_iter()
            .find_map(|want| slots.clone().find(|q| candidate(q) && rep(q).surge == want))
    }

    /// Rule (a): a new Pod in slot `q`, in place of its deleted old Pod or beside it.
    fn create_new_pod(&mut self, plan: &Plan, s: usize, q: u32) {
        if self.replicas[q as usize].state == ReplicaState::Terminating {
            // The slot's deleted old Pod is replaced: the new Pod is the slot's own.
            self.replicas[q as usize].old = false;
            self.note(plan, q, "new_pod");
            // A rollout's new Pod discounts no Pod.
            self.place_and_start(plan, q, false);
            return;
        }
        let rep = &mut self.replicas[q as usize];
        rep.surge = Surge::Pending;
        rep.surge_node = NO_NODE;
        rep.surge_generation = rep.surge_generation.wrapping_add(1);
        match self.place(plan, s, q, false) {
            Some(n) => self.start_surge(plan, q, n),
            None => self.note(plan, q, "surge_pod_unschedulable"),
        }
    }

    /// A surge Pod of slot `q` starts on node `n`.
    pub(super) fn start_surge(&mut self, plan: &Plan, q: u32, n: u32) {
        let s = plan.replica_stage[q as usize] as usize;
        let d = plan.stages[s]
            .recreate
            .as_ref()
            .expect("validated: maintenance needs restart");
        let t = d.sample(&mut self.rng);
        let now = self.queue.now();
        let rep = &mut self.replicas[q as usize];
        rep.surge = Surge::Starting;
        rep.surge_node = n;
        rep.surge_start = now;
        rep.surge_done = now + t;
        rep.surge_generation = rep.surge_generation.wrapping_add(1);
        let g = rep.surge_generation;
        self.queue.schedule(t, EventKind::SurgeReady, q, g, 0);
        self.note(plan, q, "surge_pod_creating");
    }

    /// A surge Pod is ready: one more ready Pod for the stage.
    pub(super) fn surge_ready(&mut self, plan: &Plan, q: u32) {
        let s = plan.replica_stage[q as usize] as usize;
        self.replicas[q as usize].surge = Surge::Ready;
        self.count_ready(plan, s);
        self.note(plan, q, "surge_pod_ready");
        self.pods_dirty = true;
    }

    /// The surge Pod of slot `q` is gone (lost with its node, or evicted): the rollout
    /// creates another.
    pub(super) fn drop_surge(&mut self, plan: &Plan, q: u32) {
        let s = plan.replica_stage[q as usize] as usize;
        let rep = &mut self.replicas[q as usize];
        let was_ready = rep.surge == Surge::Ready;
        rep.surge = Surge::None;
        rep.surge_node = NO_NODE;
        rep.surge_generation = rep.surge_generation.wrapping_add(1);
        if was_ready {
            self.count_unready(plan, s);
        }
        self.note(plan, q, "surge_pod_lost");
        self.pods_dirty = true;
    }

    /// Rules (b) and (c): slot `q`'s old Pod is deleted. Its surge Pod, if any, takes its
    /// place; else the slot waits for rule (a).
    fn delete_old_pod(&mut self, plan: &Plan, s: usize, q: u32) {
        let cause = plan.stages[s].maintenance_cause;
        self.leave_ready(plan, q, cause);
        self.cancel_pending(plan, q);
        let now = self.queue.now();
        let rep = &mut self.replicas[q as usize];
        rep.fix_time = f64::NEG_INFINITY;
        rep.clock = Clock::Fixed;
        rep.detach_node = NO_NODE;
        let surge = std::mem::replace(&mut rep.surge, Surge::None);
        if surge == Surge::None {
            rep.state = ReplicaState::Terminating;
            self.note(plan, q, "deleted_by_rollout");
            return;
        }
        // The new Pod beside it is now the slot's.
        rep.old = false;
        rep.restarts = 0;
        rep.last_start = rep.surge_start;
        rep.node = std::mem::replace(&mut rep.surge_node, NO_NODE);
        rep.surge_generation = rep.surge_generation.wrapping_add(1);
        match surge {
            Surge::Ready => {
                // Counted among the stage's ready Pods since it became ready.
                rep.state = ReplicaState::Ready;
                rep.cause = super::outages::NO_CAUSE;
                self.book.cause_dirty = true;
                self.flow_dirty |= plan.stages[s].feeds_flow;
                self.note(plan, q, "replaced");
                self.draw_failure(plan, q);
            }
            Surge::Starting => {
                rep.state = ReplicaState::Restarting;
                (rep.clock, rep.clock_start) = (Clock::Recreate, rep.surge_start);
                let (done, g) = (rep.surge_done, rep.generation);
                self.queue
                    .schedule_at(done.max(now), EventKind::RestartDone, q, g, 0);
                self.note(plan, q, "replaced_by_starting_pod");
            }
            Surge::Pending | Surge::None => {
                rep.state = ReplicaState::Pending;
                rep.node = NO_NODE;
                self.note(plan, q, "replaced_by_pending_pod");
            }
        }
    }

    /// StatefulSet and DaemonSet: the next replacement, one at a time.
    pub(super) fn fill_lanes(&mut self, plan: &Plan, s: usize) {
        if !self.stages[s].rollout_active {
            return;
        }
        let total = plan.stages[s]
            .rollout
            .as_ref()
            .expect("a rollout has a plan")
            .order
            .len() as u32;
        loop {
            let st = &self.stages[s];
            if st.rollout_next >= total {
                if st.kill_busy == 0 {
                    self.stages[s].rollout_active = false;
                    self.note_stage_event(plan, s, "rollout_done");
                }
                return;
            }
            if st.kill_busy >= 1 {
                return;
            }
            let r = plan.stages[s]
                .rollout
                .as_ref()
                .expect("a rollout has a plan")
                .order[st.rollout_next as usize];
            self.stages[s].rollout_next += 1;
            if matches!(
                self.replicas[r as usize].state,
                ReplicaState::Pending | ReplicaState::Terminating
            ) {
                // Nothing to replace on a node that is down, or a Pod already going.
                continue;
            }
            self.stages[s].kill_busy += 1;
            let cause = plan.stages[s].maintenance_cause;
            self.leave_ready(plan, r, cause);
            self.cancel_pending(plan, r);
            let rep = &mut self.replicas[r as usize];
            rep.lane = Lane::Kill;
            rep.state = ReplicaState::Terminating;
            rep.fix_time = f64::NEG_INFINITY;
            rep.clock = Clock::Fixed;
            let g = rep.generation;
            self.note(plan, r, "deleted_by_rollout");
            let shutdown = plan.stages[s].shutdown;
            if shutdown > 0.0 {
                self.queue
                    .schedule(shutdown, EventKind::ShutdownDone, r, g, 0);
            } else {
                self.pod_stopped(plan, r);
            }
            if plan.stages[s].crews > 0 {
                self.dispatch_crews(plan, s);
            }
        }
    }
}
