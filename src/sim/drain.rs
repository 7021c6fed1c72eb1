//! Upgrades (MODEL-SPEC.md "Upgrades"): waves of `kubectl drain`, one node at a time.
//!
//! Waves are due at one draw of `every`, then one more draw after each due time (start to
//! start); a wave due while one runs starts when it ends. A wave takes the nodes in
//! `[[nodes]]` order, skipping one that is not ready. A drain cordons its node (no new Pod
//! is placed there) and evicts the Pods on it that are not a DaemonSet's through the
//! Eviction API: with a PodDisruptionBudget, *disruptions allowed* = the stage's ready
//! Pods − desired, and a ready Pod may go while that is ≥ 1, a not-ready one while it is
//! ≥ 0; a blocked eviction is tried again whenever a Pod becomes ready, and everything
//! left is evicted `pdb_timeout` after the drain began. An evicted Pod leaves readiness at
//! once (cause `upgrade NODE`) and stops after `shutdown`; its replacement is placed by the
//! scheduler's rule (a StatefulSet's only once the old Pod has stopped). When no
//! Deployment or StatefulSet Pod is left on the node and every evicted one has stopped, the
//! node goes down for `node_time` with what is still on it (DaemonSet and external
//! replicas), then is ready and uncordoned, its replicas restart in place, and the next
//! node is drained. A node that fails during its own turn ends it (it is uncordoned when
//! it is back) and the wave moves on. Upgrades never touch a node's failure clock.

use super::plan::NO_NODE;
use super::queue::EventKind;
use super::replica::{Clock, ReplicaState, Start, Surge};
use super::{Plan, State};
use crate::model::Kind;
use crate::units::Seconds;

/// Where the upgrades are: the wave, and the node whose turn it is.
#[derive(Clone, Copy, Debug)]
pub(super) struct Drain {
    /// The node being drained or down for its upgrade ([`NO_NODE`] between turns).
    pub(super) node: u32,
    /// Its Pods are gone and it is down for `node_time`.
    pub(super) down: bool,
    /// Deployment Pods evicted from it that have not stopped yet.
    pub(super) stopping: u32,
    /// Counts the turns: events of an ended turn carry an older one.
    pub(super) generation: u32,
    /// The next node of the running wave.
    pub(super) next: u32,
    pub(super) wave_running: bool,
    /// Another wave came due while this one runs.
    pub(super) wave_due: bool,
    /// When the pending `every` draw, and the node's `node_time` draw, began (importance
    /// splitting redraws them).
    pub(super) wave_clock_start: Seconds,
    pub(super) down_start: Seconds,
}

impl Drain {
    pub(super) const IDLE: Drain = Drain {
        node: NO_NODE,
        down: false,
        stopping: 0,
        generation: 0,
        next: 0,
        wave_running: false,
        wave_due: false,
        wave_clock_start: 0.0,
        down_start: 0.0,
    };

    /// A node is being drained (cordoned, its Pods being evicted).
    #[inline(always)]
    pub(super) fn evicting(&self) -> bool {
        self.node != NO_NODE && !self.down
    }
}

impl State {
    /// Schedules the first wave (at t = 0).
    pub(super) fn schedule_first_wave(&mut self, plan: &Plan) {
        if let Some(u) = &plan.upgrades {
            let t = u.every.sample(&mut self.rng);
            self.drain.wave_clock_start = 0.0;
            self.queue.schedule(t, EventKind::UpgradeWave, 0, 0, 0);
        }
    }

    /// A wave is due: it starts now, or when the running one ends.
    pub(super) fn upgrade_wave_due(&mut self, plan: &Plan) {
        let u = plan.upgrade_plan();
        let t = u.every.sample(&mut self.rng);
        self.drain.wave_clock_start = self.queue.now();
        self.queue.schedule(t, EventKind::UpgradeWave, 0, 0, 0);
        if self.drain.wave_running {
            self.drain.wave_due = true;
            return;
        }
        self.drain.wave_running = true;
        self.drain.next = 0;
        self.note_system_event("upgrade_wave", "started");
        self.next_drain(plan);
    }

    /// The next node of the wave that is ready is drained; the wave ends after the last.
    pub(super) fn next_drain(&mut self, plan: &Plan) {
        loop {
            let n = self.drain.next as usize;
            if n >= self.node_up.len() {
                if std::mem::take(&mut self.drain.wave_due) {
                    self.drain.next = 0;
                    self.note_system_event("upgrade_wave", "started");
                    continue;
                }
                self.drain.wave_running = false;
                self.note_system_event("upgrade_wave", "done");
                return;
            }
            self.drain.next += 1;
            if self.node_up[n] {
                self.begin_drain(plan, n);
                return;
            }
            self.note_node(plan, n, "drain_skipped");
        }
    }

    fn begin_drain(&mut self, plan: &Plan, n: usize) {
        let d = &mut self.drain;
        d.generation = d.generation.wrapping_add(1);
        (d.node, d.down, d.stopping) = (n as u32, false, 0);
        self.node_cordoned[n] = true;
        self.note_node(plan, n, "drain_started");
        let timeout = plan.upgrade_plan().pdb_timeout;
        let g = self.drain.generation;
        self.queue
            .schedule(timeout, EventKind::DrainForce, n as u32, g, 0);
        for r in 0..self.replicas.len() as u32 {
            let rep = &self.replicas[r as usize];
            if rep.surge != Surge::None && rep.surge_node == n as u32 {
                // A rollout's surge Pod goes at once; the rollout makes another elsewhere.
                self.drop_surge(plan, r);
            }
        }
        self.evict_from_drained_node(plan, false);
    }

    /// Evicts every Pod on the drained node that the PodDisruptionBudgets let go (all of
    /// them when `force`), then takes the node down if it is empty.
    pub(super) fn evict_from_drained_node(&mut self, plan: &Plan, force: bool) {
        let n = self.drain.node;
        for r in 0..self.replicas.len() as u32 {
            let rep = &self.replicas[r as usize];
            if rep.node != n || rep.state == ReplicaState::Terminating {
                continue;
            }
            let s = plan.replica_stage[r as usize] as usize;
            if !matches!(plan.stages[s].kind, Kind::Deployment | Kind::StatefulSet) {
                continue;
            }
            if force || self.eviction_allowed(plan, s, rep.state == ReplicaState::Ready) {
                self.evict(plan, r, n as usize);
            }
        }
        self.drain_try_finish(plan);
    }

    /// The Eviction API's check against the stage's PodDisruptionBudget.
    fn eviction_allowed(&self, plan: &Plan, s: usize, ready: bool) -> bool {
        let Some(desired) = plan.stages[s].pdb_desired else {
            return true;
        };
        let allowed = i64::from(self.stages[s].ready) - i64::from(desired);
        if ready { allowed >= 1 } else { allowed >= 0 }
    }

    fn evict(&mut self, plan: &Plan, r: u32, n: usize) {
        let s = plan.replica_stage[r as usize] as usize;
        self.leave_ready(plan, r, plan.upgrade_cause[n]);
        self.cancel_pending(plan, r);
        let rep = &mut self.replicas[r as usize];
        rep.fix_time = f64::NEG_INFINITY;
        rep.clock = Clock::Fixed;
        rep.detach_node = NO_NODE;
        self.note(plan, r, "evicted_by_drain");
        let shutdown = plan.stages[s].shutdown;
        if plan.stages[s].kind == Kind::StatefulSet {
            // Its new Pod comes once the old one has stopped; until then it is on the node.
            let rep = &mut self.replicas[r as usize];
            rep.state = ReplicaState::Terminating;
            let g = rep.generation;
            if shutdown > 0.0 {
                self.queue
                    .schedule(shutdown, EventKind::ShutdownDone, r, g, 0);
            } else {
                self.pod_stopped(plan, r);
            }
        } else {
            // The old Pod stops on the node while its replacement starts elsewhere.
            self.drain.stopping += 1;
            let g = self.drain.generation;
            self.queue
                .schedule(shutdown, EventKind::PodStopped, n as u32, g, 0);
            self.place_and_start(plan, r, true);
        }
    }

    /// A Deployment Pod evicted from the drained node has stopped.
    pub(super) fn drained_pod_stopped(&mut self, plan: &Plan) {
        self.drain.stopping -= 1;
        self.drain_try_finish(plan);
    }

    /// The drained node goes down for its upgrade once no Deployment or StatefulSet Pod is
    /// on it and every evicted one has stopped.
    pub(super) fn drain_try_finish(&mut self, plan: &Plan) {
        if !self.drain.evicting() || self.drain.stopping > 0 {
            return;
        }
        let n = self.drain.node;
        let occupied = (0..self.replicas.len()).any(|r| {
            self.replicas[r].node == n
                && matches!(
                    plan.stages[plan.replica_stage[r] as usize].kind,
                    Kind::Deployment | Kind::StatefulSet
                )
        });
        if occupied {
            return;
        }
        let n = n as usize;
        self.drain.down = true;
        self.drain.down_start = self.queue.now();
        self.node_upgrading[n] = true;
        self.node_up[n] = false;
        self.flow_dirty = true;
        self.note_node(plan, n, "node_upgrading");
        let cause = plan.upgrade_cause[n];
        for r in 0..self.replicas.len() as u32 {
            if self.replicas[r as usize].node != n as u32 {
                continue;
            }
            self.leave_ready(plan, r, cause);
            self.cancel_pending(plan, r);
            let rep = &mut self.replicas[r as usize];
            rep.state = ReplicaState::Pending;
            rep.clock = Clock::Fixed;
            self.note(plan, r, "node_upgrading");
        }
        self.dispatch_all_crews(plan);
        let u = plan.upgrade_plan();
        let t = u.node_time.sample(&mut self.rng);
        let g = self.drain.generation;
        self.queue
            .schedule(t, EventKind::NodeUpgraded, n as u32, g, 0);
    }

    /// The upgraded node is ready and uncordoned again: its replicas restart in place, Pods
    /// waiting for a node are placed, and the next node is drained.
    pub(super) fn node_upgraded(&mut self, plan: &Plan, n: usize) {
        self.end_drain_turn();
        self.node_up[n] = !self.node_failed[n];
        self.flow_dirty = true;
        self.node_cordoned[n] = false;
        self.note_node(plan, n, "node_upgraded");
        for r in 0..self.replicas.len() as u32 {
            let rep = &self.replicas[r as usize];
            if rep.state == ReplicaState::Pending && rep.node == n as u32 {
                self.request_restart(plan, r, Start::Fresh);
            }
        }
        self.schedule_pending(plan);
        self.next_drain(plan);
    }

    /// The node's turn is over (upgraded, or failed during it); the cordon stays until
    /// the caller lifts it.
    pub(super) fn end_drain_turn(&mut self) {
        let n = self.drain.node as usize;
        self.node_upgrading[n] = false;
        let d = &mut self.drain;
        d.generation = d.generation.wrapping_add(1);
        (d.node, d.down, d.stopping) = (NO_NODE, false, 0);
    }
}
