//! Nodes: failures and recoveries, where every new Pod goes (MODEL-SPEC.md "Placement"),
//! and StatefulSet volumes after a node loss.
//!
//! Placement is the scheduler's rule: among the stage's `nodes` that are ready and not
//! cordoned, the one holding the fewest of the stage's Pods (the Pod being replaced after
//! an eviction, a force delete or a drain discounted; a rollout's new Pod discounts none),
//! ties round-robin after the node last chosen for the stage. With required spread a node
//! that holds one of the stage's Pods is never chosen, and a Pod with no node to go to
//! stays Pending until one is ready. A StatefulSet Pod on a local volume is pinned to the
//! node it was first placed on. On a network volume, a Pod force-deleted off a dead node
//! starts only `detach_wait` after the force delete, or when the old node is back if that
//! is sooner.

use super::plan::NO_NODE;
use super::queue::EventKind;
use super::replica::{Clock, ReplicaState, Start, Surge};
use super::{Plan, State};
use crate::model::Kind;

impl State {
    pub(super) fn node_fail(&mut self, plan: &Plan, n: usize) {
        self.node_failed[n] = true;
        self.node_up[n] = false;
        self.flow_dirty = true;
        self.note_node(plan, n, "node_failed");
        let drained = self.drain.node == n as u32;
        if drained {
            // A node that fails during its own drain ends that drain; it is uncordoned
            // when it is back, and the wave moves on.
            self.end_drain_turn();
        }
        let cause = plan.node_cause[n];
        for r in 0..self.replicas.len() as u32 {
            if self.replicas[r as usize].surge != Surge::None
                && self.replicas[r as usize].surge_node == n as u32
            {
                self.drop_surge(plan, r);
            }
            if self.replicas[r as usize].node != n as u32 {
                continue;
            }
            let s = plan.replica_stage[r as usize] as usize;
            self.leave_ready(plan, r, cause);
            self.cancel_pending(plan, r);
            let rep = &mut self.replicas[r as usize];
            rep.state = ReplicaState::Pending;
            rep.detach_node = NO_NODE;
            let g = rep.generation;
            let stage = &plan.stages[s];
            let clock = match (stage.kind, &stage.operator_response) {
                (Kind::Deployment, _) => {
                    self.queue
                        .schedule(stage.eviction_delay, EventKind::Evict, r, g, 0);
                    Clock::Fixed
                }
                (Kind::StatefulSet, Some(d)) => {
                    let t = d.sample(&mut self.rng);
                    self.queue.schedule(t, EventKind::OperatorResponse, r, g, 0);
                    Clock::Operator
                }
                _ => Clock::Fixed,
            };
            let rep = &mut self.replicas[r as usize];
            (rep.clock, rep.clock_start) = (clock, self.queue.now());
            self.note(plan, r, "node_lost");
        }
        self.dispatch_all_crews(plan);
        let (_, recovery) = plan.nodes[n].as_ref().expect("only failing nodes fail");
        let t = recovery.sample(&mut self.rng);
        self.node_clock_start[n] = self.queue.now();
        let g = self.node_generation[n];
        self.queue
            .schedule(t, EventKind::NodeRecover, n as u32, g, 0);
        if drained {
            self.next_drain(plan);
        }
    }

    pub(super) fn node_recover(&mut self, plan: &Plan, n: usize) {
        self.node_failed[n] = false;
        self.node_up[n] = !self.node_upgrading[n];
        self.flow_dirty = true;
        self.node_cordoned[n] = false;
        self.note_node(plan, n, "node_recovered");
        for r in 0..self.replicas.len() as u32 {
            let rep = &self.replicas[r as usize];
            if rep.state != ReplicaState::Pending {
                continue;
            }
            if rep.node == n as u32 {
                // Back before its eviction or force delete: it restarts in place and the
                // pending eviction or force delete is moot.
                let rep = &mut self.replicas[r as usize];
                rep.generation = rep.generation.wrapping_add(1);
                self.request_restart(plan, r, Start::Fresh);
            } else if rep.detach_node == n as u32 {
                // Its volume is free of the dead node now.
                let rep = &mut self.replicas[r as usize];
                rep.detach_node = NO_NODE;
                if rep.node != NO_NODE {
                    rep.generation = rep.generation.wrapping_add(1);
                    self.request_restart(plan, r, Start::NewPod);
                }
            }
        }
        self.schedule_pending(plan);
        let (every, _) = plan.nodes[n].as_ref().expect("only failing nodes recover");
        let t = every.sample(&mut self.rng);
        self.node_clock_start[n] = self.queue.now();
        let g = self.node_generation[n];
        self.queue.schedule(t, EventKind::NodeFail, n as u32, g, 0);
    }

    /// A Pod on a failed node is deleted (an eviction, or a person's force delete): its
    /// replacement is placed afresh.
    pub(super) fn reschedule(&mut self, plan: &Plan, r: u32, event: &'static str) {
        let s = plan.replica_stage[r as usize] as usize;
        self.note(plan, r, event);
        let stage = &plan.stages[s];
        let old = self.replicas[r as usize].node;
        if stage.kind == Kind::StatefulSet && !stage.local_volume && old != NO_NODE {
            let rep = &mut self.replicas[r as usize];
            rep.detach_node = old;
            rep.attach_at = self.queue.now() + stage.detach_wait;
        }
        self.place_and_start(plan, r, true);
    }

    /// Places slot `r`'s new Pod and starts it, or leaves it Pending; `discount` as for
    /// [`Simulator::place`] (the slot's old Pod is gone, or still counts).
    pub(super) fn place_and_start(&mut self, plan: &Plan, r: u32, discount: bool) {
        let s = plan.replica_stage[r as usize] as usize;
        match self.place(plan, s, r, discount) {
            Some(n) => {
                self.replicas[r as usize].node = n;
                self.start_pod(plan, r);
            }
            None => {
                let rep = &mut self.replicas[r as usize];
                rep.node = NO_NODE;
                rep.state = ReplicaState::Pending;
                rep.clock = Clock::Fixed;
                self.note(plan, r, "unschedulable");
            }
        }
    }

    /// Starts slot `r`'s placed new Pod, after its volume's force detach if it must wait.
    fn start_pod(&mut self, plan: &Plan, r: u32) {
        let now = self.queue.now();
        let rep = &mut self.replicas[r as usize];
        let d = rep.detach_node;
        if d != NO_NODE && !self.node_up[d as usize] && now < rep.attach_at {
            rep.state = ReplicaState::Pending;
            rep.clock = Clock::Fixed;
            let (at, g) = (rep.attach_at, rep.generation);
            self.queue.schedule_at(at, EventKind::Attach, r, g, 0);
            self.note(plan, r, "waiting_for_volume");
        } else {
            rep.detach_node = NO_NODE;
            self.request_restart(plan, r, Start::NewPod);
        }
    }

    /// `detach_wait` is over: the volume is force-detached from the dead node.
    pub(super) fn attach(&mut self, plan: &Plan, r: u32) {
        self.replicas[r as usize].detach_node = NO_NODE;
        self.note(plan, r, "volume_detached");
        self.request_restart(plan, r, Start::NewPod);
    }

    /// A deleted Pod (by a rollout or a drain) has stopped: its new Pod is placed and
    /// started (a DaemonSet's on its own node).
    pub(super) fn pod_stopped(&mut self, plan: &Plan, r: u32) {
        let s = plan.replica_stage[r as usize] as usize;
        if matches!(plan.stages[s].kind, Kind::DaemonSet | Kind::External) {
            self.request_restart(plan, r, Start::NewPod);
        } else {
            self.place_and_start(plan, r, true);
        }
        if self.drain.evicting() {
            self.drain_try_finish(plan);
        }
    }

    /// Places every Pod waiting for a node where one can go now (after a node is back or
    /// uncordoned).
    pub(super) fn schedule_pending(&mut self, plan: &Plan) {
        for s in 0..plan.stages.len() {
            let stage = &plan.stages[s];
            if stage.nodes.is_empty() {
                continue;
            }
            for q in stage.first..stage.first + stage.replicas {
                let rep = &self.replicas[q as usize];
                if rep.state == ReplicaState::Pending && rep.node == NO_NODE {
                    if let Some(n) = self.place(plan, s, q, true) {
                        self.replicas[q as usize].node = n;
                        self.start_pod(plan, q);
                    }
                } else if rep.surge == Surge::Pending
                    && let Some(n) = self.place(plan, s, q, false)
                {
                    self.start_surge(plan, q, n);
                }
            }
        }
    }

    /// The node a new Pod of slot `r` goes to by the scheduler's rule, or `None` when no
    /// node can take it (a stage without nodes needs none: [`NO_NODE`]). `discount`: slot
    /// `r`'s current Pod is the one being replaced and does not count.
    pub(super) fn place(&mut self, plan: &Plan, s: usize, r: u32, discount: bool) -> Option<u32> {
        let stage = &plan.stages[s];
        let nodes = &stage.nodes;
        if nodes.is_empty() {
            return Some(NO_NODE);
        }
        let usable = |n: u32| self.node_up[n as usize] & !self.node_cordoned[n as usize];
        let pinned = self.replicas[r as usize].pinned;
        if stage.local_volume && pinned != NO_NODE {
            return usable(pinned).then_some(pinned);
        }
        // The stage's Pods on each node, in one pass over its slots.
        let load = &mut self.node_load;
        load.fill(0);
        for q in stage.first..stage.first + stage.replicas {
            let rep = &self.replicas[q as usize];
            if rep.node != NO_NODE && !(discount && q == r) {
                load[rep.node as usize] += 1;
            }
            if matches!(rep.surge, Surge::Starting | Surge::Ready) && rep.surge_node != NO_NODE {
                load[rep.surge_node as usize] += 1;
            }
        }
        let start = self.stages[s].placement_cursor as usize;
        // The first of the least-loaded nodes that can take the Pod, from the cursor on,
        // round (no division in the loop), chosen by selects rather than branches: which
        // node it is, is what a history is random about.
        let (mut best, mut best_load) = (usize::MAX, u32::MAX);
        for i in (start..nodes.len()).chain(0..start.min(nodes.len())) {
            let n = nodes[i];
            let load = self.node_load[n as usize];
            let can = usable(n) & !(stage.spread_required & (load > 0));
            let better = can & (load < best_load);
            best = std::hint::select_unpredictable(better, i, best);
            best_load = std::hint::select_unpredictable(better, load, best_load);
        }
        if best == usize::MAX {
            return None;
        }
        let i = best;
        self.stages[s].placement_cursor = if i + 1 == nodes.len() {
            0
        } else {
            i as u32 + 1
        };
        if stage.local_volume {
            self.replicas[r as usize].pinned = nodes[i];
        }
        Some(nodes[i])
    }
}
