//! One simulated history of the pipeline: a discrete-event simulation over `[0, Y]`.
//!
//! Time is seconds (`f64`) from the start of the history. Every history starts with every
//! node and replica ready and new. The rules are MODEL-SPEC.md "The life of one replica"
//! and "Nodes":
//!
//! - A ready replica draws a time to failure from each failure mode's `every` (fresh each
//!   time it becomes ready); the earliest fires, the rest are discarded.
//! - Detection: `exit` at once; `liveness` after `U·period + (threshold−1)·period + timeout`;
//!   a distribution after one draw.
//! - Back-off: the restart starts `delay(n)` after detection, where `n` counts the
//!   container's restarts and returns to 0 when the failure comes more than `2·cap` after
//!   the container's last start (the moment its last restart began, or 0 for the first
//!   container); node recoveries restart with `n = 0` and do not count as a restart.
//! - Repair crews: with `repair_crews > 0` every restart of the stage waits in one FIFO
//!   queue for a free crew, held only while restarting.
//! - A node failure takes every replica on it down at once, cancels their pending
//!   restarts (freeing crews, leaving queues) and failure clocks; when the node is back
//!   each of its replicas restarts. A node draws its next failure when it is back.
//!
//! Readability: a stage is up while at least `min_ready` replicas are ready; the system is
//! readable while every stage on `read_path` is up. All events at one instant are applied
//! before readability is judged, so an outage of length zero is no outage; an outage
//! still open at Y is cut at Y and counted.
//!
//! Cost is proportional to the number of events. A [`Simulator`] owns all per-history
//! state and is reused from one history to the next: nothing is allocated per event.

pub mod queue;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::dist::{Dist, unit_interval};
use crate::model::{Backoff, Detect, Model, Probe};
use crate::units::Seconds;
use queue::{EventKind, EventQueue};

/// The generator of every history: Xoshiro256++ (portable, documented output).
pub type HistoryRng = Xoshiro256PlusPlus;

/// The generator for replication `index` of a run with `seed`.
///
/// The 256-bit state is two SplitMix64 words derived from `seed` and two from `index`,
/// so distinct `(seed, index)` pairs give distinct states, and replication `i` is the
/// same whatever the number of threads or shards.
pub fn history_rng(seed: u64, index: u64) -> HistoryRng {
    let mut a = seed ^ 0x6A09_E667_F3BC_C909;
    let mut b = index ^ 0xBB67_AE85_84CA_A73B;
    let mut bytes = [0u8; 32];
    for (k, word) in [
        splitmix64(&mut a),
        splitmix64(&mut a),
        splitmix64(&mut b),
        splitmix64(&mut b),
    ]
    .iter()
    .enumerate()
    {
        bytes[k * 8..k * 8 + 8].copy_from_slice(&word.to_le_bytes());
    }
    Xoshiro256PlusPlus::from_seed(bytes)
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaState {
    Ready,
    /// Failed, not yet noticed.
    Down,
    BackingOff,
    /// Waiting for a repair crew.
    Queued,
    Restarting,
    /// Its node is down.
    Pending,
}

/// A restart's kind: after a failure of the container, or a fresh start after its node
/// came back (no back-off, not counted in `n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    AfterCrash,
    Fresh,
}

/// The model flattened for the simulator.
#[derive(Clone, Debug)]
struct Plan {
    horizon: Seconds,
    stages: Vec<StagePlan>,
    /// The stage of each replica; a stage's replicas are contiguous.
    replica_stage: Vec<u32>,
    nodes: Vec<NodePlan>,
}

#[derive(Clone, Debug)]
struct StagePlan {
    replicas: u32,
    min_ready: u32,
    crews: u32,
    on_read_path: bool,
    restart: Option<Dist>,
    backoff: Option<Backoff>,
    liveness: Option<Probe>,
    modes: Vec<(Dist, Detect)>,
}

#[derive(Clone, Debug)]
struct NodePlan {
    failure: Option<(Dist, Dist)>,
    replicas: Vec<u32>,
}

impl Plan {
    fn new(model: &Model) -> Self {
        let mut stages = vec![];
        let mut replica_stage = vec![];
        let mut nodes: Vec<NodePlan> = model
            .nodes
            .iter()
            .map(|n| NodePlan {
                failure: n
                    .failure
                    .as_ref()
                    .map(|f| (f.every.clone(), f.recovery.clone())),
                replicas: vec![],
            })
            .collect();
        for (si, s) in model.stages.iter().enumerate() {
            for r in 0..s.replicas {
                let id = replica_stage.len() as u32;
                replica_stage.push(si as u32);
                if let Some(n) = s.node_of(r) {
                    nodes[n].replicas.push(id);
                }
            }
            stages.push(StagePlan {
                replicas: s.replicas,
                min_ready: s.min_ready,
                crews: s.repair_crews,
                on_read_path: model.system.read_path.contains(&si),
                restart: s.restart.clone(),
                backoff: s.backoff,
                liveness: s.liveness().copied(),
                modes: s
                    .failures
                    .iter()
                    .map(|m| (m.every.clone(), m.detect.clone()))
                    .collect(),
            });
        }
        Plan {
            horizon: model.simulation.horizon,
            stages,
            replica_stage,
            nodes,
        }
    }
}

#[derive(Clone, Debug)]
struct Replica {
    state: ReplicaState,
    generation: u32,
    /// Restarts of this container since the last back-off reset.
    restarts: u32,
    fail_time: Seconds,
    last_start: Seconds,
    /// The kind of the restart waiting in a crew queue.
    queued_start: Start,
}

impl Replica {
    /// A ready, new container at t = 0.
    const NEW: Replica = Replica {
        state: ReplicaState::Ready,
        generation: 0,
        restarts: 0,
        fail_time: 0.0,
        last_start: 0.0,
        queued_start: Start::Fresh,
    };
}

#[derive(Clone, Debug, Default)]
struct StageState {
    ready: u32,
    up: bool,
    down_since: Seconds,
    downtime: Seconds,
    failures: u64,
    busy_crews: u32,
    waiting: std::collections::VecDeque<u32>,
}

#[derive(Clone, Debug)]
struct NodeState {
    up: bool,
    generation: u32,
}

/// What one history produced.
#[derive(Clone, Copy, Debug)]
pub struct Outcome<'a> {
    /// X: seconds not readable within `[0, Y]`.
    pub downtime: Seconds,
    /// Outages begun within `[0, Y]` (an outage still open at Y counts).
    pub outages: u64,
    /// Events processed (stale, cancelled events not counted).
    pub events: u64,
    /// Seconds each stage was down.
    pub stage_downtime: &'a [Seconds],
    /// Failure-mode firings per stage.
    pub stage_failures: &'a [u64],
}

/// Simulates histories of one model; reuse it for many histories.
pub struct Simulator {
    plan: Plan,
    queue: EventQueue,
    replicas: Vec<Replica>,
    stages: Vec<StageState>,
    nodes: Vec<NodeState>,
    rng: HistoryRng,
    path_down: u32,
    readable: bool,
    outage_start: Seconds,
    downtime: Seconds,
    outages: u64,
    events: u64,
    stage_downtime: Vec<Seconds>,
    stage_failures: Vec<u64>,
}

impl Simulator {
    pub fn new(model: &Model) -> Self {
        let plan = Plan::new(model);
        let n_replicas = plan.replica_stage.len();
        let stages = plan
            .stages
            .iter()
            .map(|s| StageState {
                waiting: std::collections::VecDeque::with_capacity(s.replicas as usize),
                ..Default::default()
            })
            .collect();
        let nodes = plan
            .nodes
            .iter()
            .map(|_| NodeState {
                up: true,
                generation: 0,
            })
            .collect();
        let n_stages = plan.stages.len();
        Simulator {
            queue: EventQueue::with_capacity(2 * (n_replicas + plan.nodes.len()) + 8),
            replicas: vec![Replica::NEW; n_replicas],
            stages,
            nodes,
            rng: history_rng(0, 0),
            path_down: 0,
            readable: true,
            outage_start: 0.0,
            downtime: 0.0,
            outages: 0,
            events: 0,
            stage_downtime: vec![0.0; n_stages],
            stage_failures: vec![0; n_stages],
            plan,
        }
    }

    /// Runs replication `index` of a run with `seed` and returns what it produced.
    pub fn run(&mut self, seed: u64, index: u64) -> Outcome<'_> {
        self.rng = history_rng(seed, index);
        self.reset();
        let horizon = self.plan.horizon;
        while let Some(ev) = self.queue.pop() {
            if ev.time >= horizon {
                break;
            }
            self.apply(ev);
            // Judge readability only once every event of this instant is applied.
            if self.queue.peek_time().is_none_or(|next| next > ev.time) {
                self.judge(ev.time);
            }
        }
        self.finish(horizon)
    }

    fn reset(&mut self) {
        self.queue.reset();
        self.path_down = 0;
        self.readable = true;
        self.outage_start = 0.0;
        self.downtime = 0.0;
        self.outages = 0;
        self.events = 0;
        for (s, plan) in self.stages.iter_mut().zip(&self.plan.stages) {
            s.ready = plan.replicas;
            s.up = true;
            s.down_since = 0.0;
            s.downtime = 0.0;
            s.failures = 0;
            s.busy_crews = 0;
            s.waiting.clear();
        }
        for (i, n) in self.nodes.iter_mut().enumerate() {
            n.up = true;
            n.generation = 0;
            if let Some((every, _)) = &self.plan.nodes[i].failure {
                let t = every.sample(&mut self.rng);
                self.queue.schedule(t, EventKind::NodeFail, i as u32, 0, 0);
            }
        }
        for r in 0..self.replicas.len() {
            let rep = &mut self.replicas[r];
            *rep = Replica::NEW;
            self.draw_failure(r as u32);
        }
    }

    fn finish(&mut self, horizon: Seconds) -> Outcome<'_> {
        if !self.readable {
            self.downtime += horizon - self.outage_start;
        }
        for (i, s) in self.stages.iter().enumerate() {
            let open = if s.up { 0.0 } else { horizon - s.down_since };
            self.stage_downtime[i] = s.downtime + open;
            self.stage_failures[i] = s.failures;
        }
        Outcome {
            downtime: self.downtime,
            outages: self.outages,
            events: self.events,
            stage_downtime: &self.stage_downtime,
            stage_failures: &self.stage_failures,
        }
    }

    #[inline]
    fn judge(&mut self, t: Seconds) {
        let readable = self.path_down == 0;
        if readable != self.readable {
            self.readable = readable;
            if readable {
                self.downtime += t - self.outage_start;
            } else {
                self.outage_start = t;
                self.outages += 1;
            }
        }
    }

    fn apply(&mut self, ev: queue::Event) {
        match ev.kind {
            EventKind::NodeFail | EventKind::NodeRecover => {
                if self.nodes[ev.target as usize].generation != ev.generation {
                    return;
                }
                self.events += 1;
                if ev.kind == EventKind::NodeFail {
                    self.node_fail(ev.target as usize);
                } else {
                    self.node_recover(ev.target as usize);
                }
            }
            _ => {
                if self.replicas[ev.target as usize].generation != ev.generation {
                    return;
                }
                self.events += 1;
                match ev.kind {
                    EventKind::Fail => self.fail(ev.target, ev.aux as usize),
                    EventKind::Detected => self.detected(ev.target),
                    EventKind::BackoffEnd => self.request_restart(ev.target, Start::AfterCrash),
                    EventKind::RestartDone => self.restart_done(ev.target),
                    EventKind::NodeFail | EventKind::NodeRecover => unreachable!(),
                }
            }
        }
    }

    /// Draws the next failure of a replica that just became ready.
    fn draw_failure(&mut self, r: u32) {
        let stage = &self.plan.stages[self.plan.replica_stage[r as usize] as usize];
        let mut first: Option<(f64, usize)> = None;
        for (m, (every, _)) in stage.modes.iter().enumerate() {
            let t = every.sample(&mut self.rng);
            if first.is_none_or(|(best, _)| t < best) {
                first = Some((t, m));
            }
        }
        if let Some((t, m)) = first {
            let g = self.replicas[r as usize].generation;
            self.queue.schedule(t, EventKind::Fail, r, g, m as u32);
        }
    }

    fn set_stage(&mut self, s: usize, up: bool) {
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
        if self.plan.stages[s].on_read_path {
            if up {
                self.path_down -= 1;
            } else {
                self.path_down += 1;
            }
        }
    }

    fn become_ready(&mut self, r: u32) {
        let s = self.plan.replica_stage[r as usize] as usize;
        self.replicas[r as usize].state = ReplicaState::Ready;
        self.stages[s].ready += 1;
        if self.stages[s].ready == self.plan.stages[s].min_ready {
            self.set_stage(s, true);
        }
        self.draw_failure(r);
    }

    fn leave_ready(&mut self, r: u32) {
        let s = self.plan.replica_stage[r as usize] as usize;
        self.stages[s].ready -= 1;
        if self.stages[s].ready + 1 == self.plan.stages[s].min_ready {
            self.set_stage(s, false);
        }
    }

    fn fail(&mut self, r: u32, mode: usize) {
        let s = self.plan.replica_stage[r as usize] as usize;
        self.stages[s].failures += 1;
        self.leave_ready(r);
        let now = self.queue.now();
        let rep = &mut self.replicas[r as usize];
        rep.state = ReplicaState::Down;
        rep.fail_time = now;
        let g = rep.generation;
        let plan = &self.plan.stages[s];
        let delay = match &plan.modes[mode].1 {
            Detect::Exit => {
                self.detected(r);
                return;
            }
            Detect::Liveness => {
                let probe = plan
                    .liveness
                    .expect("validated: liveness detection has a probe");
                probe.detection_delay(unit_interval(&mut self.rng))
            }
            Detect::After(d) => d.sample(&mut self.rng),
        };
        self.queue.schedule(delay, EventKind::Detected, r, g, 0);
    }

    fn detected(&mut self, r: u32) {
        let s = self.plan.replica_stage[r as usize] as usize;
        let Some(backoff) = self.plan.stages[s].backoff else {
            self.request_restart(r, Start::AfterCrash);
            return;
        };
        let rep = &mut self.replicas[r as usize];
        if rep.fail_time - rep.last_start > 2.0 * backoff.cap {
            rep.restarts = 0;
        }
        let delay = backoff.delay(rep.restarts);
        if delay > 0.0 {
            rep.state = ReplicaState::BackingOff;
            let g = rep.generation;
            self.queue.schedule(delay, EventKind::BackoffEnd, r, g, 0);
        } else {
            self.request_restart(r, Start::AfterCrash);
        }
    }

    fn request_restart(&mut self, r: u32, start: Start) {
        let s = self.plan.replica_stage[r as usize] as usize;
        let crews = self.plan.stages[s].crews;
        if crews == 0 || self.stages[s].busy_crews < crews {
            self.start_restart(r, start);
        } else {
            let rep = &mut self.replicas[r as usize];
            rep.state = ReplicaState::Queued;
            rep.queued_start = start;
            self.stages[s].waiting.push_back(r);
        }
    }

    fn start_restart(&mut self, r: u32, start: Start) {
        let s = self.plan.replica_stage[r as usize] as usize;
        if self.plan.stages[s].crews > 0 {
            self.stages[s].busy_crews += 1;
        }
        let now = self.queue.now();
        let rep = &mut self.replicas[r as usize];
        rep.state = ReplicaState::Restarting;
        rep.last_start = now;
        if start == Start::AfterCrash {
            rep.restarts += 1;
        }
        let g = rep.generation;
        let d = self.plan.stages[s]
            .restart
            .as_ref()
            .expect("validated: a stage that can fail has restart");
        let t = d.sample(&mut self.rng);
        self.queue.schedule(t, EventKind::RestartDone, r, g, 0);
    }

    fn restart_done(&mut self, r: u32) {
        let s = self.plan.replica_stage[r as usize] as usize;
        if self.plan.stages[s].crews > 0 {
            self.stages[s].busy_crews -= 1;
            self.dispatch_crews(s);
        }
        self.become_ready(r);
    }

    /// Starts queued restarts while crews are free.
    fn dispatch_crews(&mut self, s: usize) {
        while self.stages[s].busy_crews < self.plan.stages[s].crews {
            let Some(next) = self.stages[s].waiting.pop_front() else {
                break;
            };
            let start = self.replicas[next as usize].queued_start;
            self.start_restart(next, start);
        }
    }

    fn node_fail(&mut self, n: usize) {
        self.nodes[n].up = false;
        for k in 0..self.plan.nodes[n].replicas.len() {
            let r = self.plan.nodes[n].replicas[k];
            let s = self.plan.replica_stage[r as usize] as usize;
            let state = self.replicas[r as usize].state;
            match state {
                ReplicaState::Ready => self.leave_ready(r),
                ReplicaState::Restarting if self.plan.stages[s].crews > 0 => {
                    self.stages[s].busy_crews -= 1
                }
                ReplicaState::Queued => self.stages[s].waiting.retain(|q| *q != r),
                _ => {}
            }
            let rep = &mut self.replicas[r as usize];
            rep.state = ReplicaState::Pending;
            rep.generation = rep.generation.wrapping_add(1);
        }
        for k in 0..self.plan.nodes[n].replicas.len() {
            let s = self.plan.replica_stage[self.plan.nodes[n].replicas[k] as usize] as usize;
            if self.plan.stages[s].crews > 0 {
                self.dispatch_crews(s);
            }
        }
        let (_, recovery) = self.plan.nodes[n]
            .failure
            .as_ref()
            .expect("only failing nodes fail");
        let t = recovery.sample(&mut self.rng);
        let g = self.nodes[n].generation;
        self.queue
            .schedule(t, EventKind::NodeRecover, n as u32, g, 0);
    }

    fn node_recover(&mut self, n: usize) {
        self.nodes[n].up = true;
        for k in 0..self.plan.nodes[n].replicas.len() {
            let r = self.plan.nodes[n].replicas[k];
            self.replicas[r as usize].restarts = 0;
            self.request_restart(r, Start::Fresh);
        }
        let (every, _) = self.plan.nodes[n]
            .failure
            .as_ref()
            .expect("only failing nodes recover");
        let t = every.sample(&mut self.rng);
        let g = self.nodes[n].generation;
        self.queue.schedule(t, EventKind::NodeFail, n as u32, g, 0);
    }
}
