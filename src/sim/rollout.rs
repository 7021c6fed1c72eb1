//! Maintenance: `kubectl rollout restart` of a stage.

use super::Simulator;
use super::queue::EventKind;
use super::replica::{Clock, Lane, ReplicaState, Start};

impl Simulator {
    pub(super) fn maintenance_start(&mut self, s: usize) {
        let every = self.plan.stages[s]
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
        self.stages[s].rollout_next = 0;
        self.fill_lanes(s);
    }

    /// Starts replacements while the rollout's lanes have room.
    pub(super) fn fill_lanes(&mut self, s: usize) {
        if !self.stages[s].rollout_active {
            return;
        }
        let plan = self.plan.stages[s]
            .rollout
            .as_ref()
            .expect("a rollout has a plan");
        let (surge_lanes, kill_lanes, wait_shutdown) =
            (plan.surge_lanes, plan.kill_lanes, plan.wait_shutdown);
        let total = plan.order.len() as u32;
        loop {
            let st = &self.stages[s];
            if st.rollout_next >= total {
                if st.surge_busy == 0 && st.kill_busy == 0 {
                    self.stages[s].rollout_active = false;
                }
                return;
            }
            let surge = st.surge_busy < surge_lanes;
            if !surge && st.kill_busy >= kill_lanes {
                return;
            }
            let r = self.plan.stages[s]
                .rollout
                .as_ref()
                .expect("a rollout has a plan")
                .order[st.rollout_next as usize];
            self.stages[s].rollout_next += 1;
            if self.replicas[r as usize].state == ReplicaState::Pending {
                // Nothing to replace on a node that is down.
                continue;
            }
            if surge {
                self.stages[s].surge_busy += 1;
                let d = self.plan.stages[s]
                    .recreate
                    .as_ref()
                    .expect("validated: maintenance needs restart");
                let t = d.sample(&mut self.rng);
                let rep = &mut self.replicas[r as usize];
                rep.lane = Lane::Surge;
                rep.surge_generation = rep.surge_generation.wrapping_add(1);
                rep.surge_start = self.queue.now();
                let g = rep.surge_generation;
                self.queue.schedule(t, EventKind::SurgeReady, r, g, 0);
                self.note(r, "surge_pod_creating");
            } else {
                self.stages[s].kill_busy += 1;
                let cause = self.plan.stages[s].maintenance_cause;
                self.leave_ready(r, cause);
                self.cancel_pending(r);
                let rep = &mut self.replicas[r as usize];
                rep.lane = Lane::Kill;
                rep.state = ReplicaState::Terminating;
                rep.fix_time = f64::NEG_INFINITY;
                rep.clock = Clock::Fixed;
                let g = rep.generation;
                self.note(r, "deleted_by_rollout");
                let shutdown = self.plan.stages[s].shutdown;
                if wait_shutdown && shutdown > 0.0 {
                    self.queue
                        .schedule(shutdown, EventKind::ShutdownDone, r, g, 0);
                } else {
                    self.request_restart(r, Start::NewPod);
                }
                if self.plan.stages[s].crews > 0 {
                    self.dispatch_crews(s);
                }
            }
        }
    }

    /// A surge Pod is ready: the old Pod leaves and the new one takes its place.
    pub(super) fn surge_ready(&mut self, r: u32) {
        let s = self.plan.replica_stage[r as usize] as usize;
        self.stages[s].surge_busy -= 1;
        let was_ready = self.replicas[r as usize].state == ReplicaState::Ready;
        self.cancel_pending(r);
        let rep = &mut self.replicas[r as usize];
        rep.lane = Lane::None;
        rep.restarts = 0;
        rep.last_start = self.queue.now();
        rep.fix_time = f64::NEG_INFINITY;
        if was_ready {
            self.note(r, "replaced");
            self.draw_failure(r);
        } else {
            self.become_ready(r);
        }
        if self.plan.stages[s].crews > 0 {
            self.dispatch_crews(s);
        }
        self.fill_lanes(s);
    }
}
