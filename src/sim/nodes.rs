//! Nodes: failures, recoveries, and where the Pods of a failed node go.

use super::Simulator;
use super::plan::NO_NODE;
use super::queue::EventKind;
use super::replica::{Clock, Lane, ReplicaState, Start};
use crate::model::Kind;

impl Simulator {
    pub(super) fn node_fail(&mut self, n: usize) {
        self.node_up[n] = false;
        self.note_node(n, "node_failed");
        let cause = self.plan.node_cause[n];
        let mut touched_rollout = false;
        for r in 0..self.replicas.len() as u32 {
            if self.replicas[r as usize].node != n as u32 {
                continue;
            }
            let s = self.plan.replica_stage[r as usize] as usize;
            self.leave_ready(r, cause);
            self.cancel_pending(r);
            let rep = &mut self.replicas[r as usize];
            rep.state = ReplicaState::Pending;
            if rep.lane == Lane::Surge {
                // Its surge Pod is lost with the node: count the slot as replaced.
                rep.lane = Lane::None;
                rep.surge_generation = rep.surge_generation.wrapping_add(1);
                self.stages[s].surge_busy -= 1;
                touched_rollout = true;
            }
            let g = rep.generation;
            let plan = &self.plan.stages[s];
            let clock = match (plan.kind, &plan.operator_response) {
                (Kind::Deployment, _) => {
                    self.queue
                        .schedule(plan.eviction_delay, EventKind::Evict, r, g, 0);
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
            self.note(r, "node_lost");
        }
        for s in 0..self.plan.stages.len() {
            if self.plan.stages[s].crews > 0 {
                self.dispatch_crews(s);
            }
            if touched_rollout && self.plan.stages[s].rollout.is_some() {
                self.fill_lanes(s);
            }
        }
        let (_, recovery) = self.plan.nodes[n]
            .as_ref()
            .expect("only failing nodes fail");
        let t = recovery.sample(&mut self.rng);
        self.node_clock_start[n] = self.queue.now();
        let g = self.node_generation[n];
        self.queue
            .schedule(t, EventKind::NodeRecover, n as u32, g, 0);
    }

    pub(super) fn node_recover(&mut self, n: usize) {
        self.node_up[n] = true;
        self.note_node(n, "node_recovered");
        for r in 0..self.replicas.len() as u32 {
            let rep = &self.replicas[r as usize];
            if rep.state != ReplicaState::Pending {
                continue;
            }
            let s = self.plan.replica_stage[r as usize] as usize;
            let start = if rep.node == n as u32 {
                Start::Fresh
            } else if rep.node == NO_NODE && self.plan.stages[s].nodes.contains(&(n as u32)) {
                // A new Pod that found no ready node is scheduled here.
                Start::NewPod
            } else {
                continue;
            };
            // Its pending eviction or force delete is moot now.
            let rep = &mut self.replicas[r as usize];
            rep.generation = rep.generation.wrapping_add(1);
            rep.node = n as u32;
            self.request_restart(r, start);
        }
        let (every, _) = self.plan.nodes[n]
            .as_ref()
            .expect("only failing nodes recover");
        let t = every.sample(&mut self.rng);
        self.node_clock_start[n] = self.queue.now();
        let g = self.node_generation[n];
        self.queue.schedule(t, EventKind::NodeFail, n as u32, g, 0);
    }

    /// A Pod on a failed node is deleted (eviction or force delete): its replacement goes
    /// to the next ready node of the stage, round-robin from its own.
    pub(super) fn reschedule(&mut self, r: u32, event: &'static str) {
        let s = self.plan.replica_stage[r as usize] as usize;
        self.note(r, event);
        let plan = &self.plan.stages[s];
        let nodes = &plan.nodes;
        let start = self.stages[s].placement_cursor as usize;
        // Among the ready nodes, the one with the fewest of this stage's replicas (as
        // Kubernetes' default topology spreading prefers), in round-robin order.
        let on_node = |n: u32| {
            (plan.first..plan.first + plan.replicas)
                .filter(|q| *q != r && self.replicas[*q as usize].node == n)
                .count()
        };
        let target = (0..nodes.len())
            .map(|k| (start + k) % nodes.len())
            .filter(|i| self.node_up[nodes[*i] as usize])
            .min_by_key(|i| on_node(nodes[*i]));
        match target {
            Some(i) => {
                self.replicas[r as usize].node = nodes[i];
                self.stages[s].placement_cursor = ((i + 1) % nodes.len()) as u32;
                self.request_restart(r, Start::NewPod);
            }
            None => self.replicas[r as usize].node = NO_NODE,
        }
    }
}
