//! One simulated history of the pipeline: a discrete-event simulation over `[0, Y]`.
//!
//! Time is seconds (`f64`) from the start of the history. Every history starts with every
//! node and replica ready and new. The rules are MODEL-SPEC.md "The life of one replica",
//! "Nodes", "Maintenance" and "Data flow":
//!
//! - A ready replica draws a time to failure from each failure mode's `every` (fresh each
//!   time it becomes ready); the earliest fires, the rest are discarded.
//! - Detection: `exit` at once; `liveness` after `U·period + (threshold−1)·period + timeout`;
//!   a distribution after one draw.
//! - Back-off: the restart starts `delay(n)` after detection, where `n` counts the
//!   container's restarts and returns to 0 when the container exits (the failure is
//!   noticed: the crash, the liveness kill, the end of a detection draw) more than 600 s
//!   after its last start (the moment its last restart began, or 0 for the first
//!   container), whatever the profile: the kubelet's fixed window. New Pods and restarts
//!   after a node comes back start at `n = 0` and do not count as a restart.
//! - Persisting causes: a mode with `persists` keeps failing every restart that would
//!   finish before the fix, at the moment it would have become ready (a new crash, noticed
//!   at once; back-off applies). Re-crashes are not counted as failures.
//! - Repair crews: with `repair_crews > 0` every restart of the stage (after a crash, a node
//!   recovery, an eviction, a drain or a rollout's new Pod in a deleted Pod's place) waits
//!   in one FIFO queue for a free crew, held only while restarting. A rollout's surge Pod
//!   is an extra Pod, not a restart, and takes no crew.
//! - Nodes (`nodes.rs`): a failure takes every replica on the node down at once and
//!   cancels their pending restarts, failure clocks and surge Pods. When the node is back
//!   each replica still on it restarts (`restart`). A Deployment replica is re-created
//!   (`recreate`) `eviction_delay` after the failure; a StatefulSet replica when
//!   `operator_response` comes before the node, after its network volume's `detach_wait`
//!   (or pinned to its node on a local volume). Every new Pod is placed by the scheduler's
//!   rule: the least-loaded ready, uncordoned node of the stage, ties round-robin, never
//!   beside a Pod of its stage with required spread; with no node to go to it stays
//!   Pending. DaemonSet and external replicas wait for their node. A node draws its next
//!   failure when it is back.
//! - Maintenance (`rollout.rs`, `kubectl rollout restart`) at `every`, `2·every`, …:
//!   Deployments by rolling.go's arithmetic; StatefulSets one at a time, highest ordinal
//!   first, each deleted (`shutdown`), re-created and ready before the next; DaemonSets one
//!   at a time, kill first. A rollout due while one is running is skipped.
//! - Upgrades (`drain.rs`): waves drain the nodes one at a time, evicting within each
//!   stage's PodDisruptionBudget (forced after `pdb_timeout`), then take the node down for
//!   `node_time` with its DaemonSet Pods.
//!
//! Readability: a stage is up while at least `min_ready` replicas are ready; the system is
//! readable while every stage on `read_path` is up (or, with a reader cache, while the
//! reader is up and the rest has been down for less than `max_staleness`). All events at
//! one instant are applied before readability and freshness are judged, so an outage of
//! length zero is no outage; an outage still open at Y is cut at Y and counted.
//!
//! Causes: each moment of X is attributed to one cause — a failure mode of a stage, a
//! node, a stage's maintenance, a node's upgrade, or a replica Pending from the start —
//! the earliest-started of those keeping the read path down. A replica's cause is what
//! took it down first (its failure, its node, a rollout, a drain), kept until it is ready
//! again.
//!
//! Cost is proportional to the number of events. A [`Simulator`] owns all per-history
//! state and is reused from one history to the next: nothing is allocated per event.
//!
//! Two engines follow these rules. [`Simulator`], the event engine, handles every model.
//! [`TimelineSim`] (`timeline.rs`) handles models whose replicas are independent (no
//! crews, no node that can fail or be drained, no rollout, no replica Pending for want of
//! a node, no data flow, no cache) without an event queue, one replica at a time;
//! [`Engine`] picks between them. Same law, other draws.

mod drain;
pub mod flow;
mod importance;
mod nodes;
mod outages;
mod plan;
pub mod queue;
mod replica;
mod rollout;
mod timeline;
mod trace;

use std::sync::Arc;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use crate::dist::{Dist, unit_interval};
use crate::model::{Detect, Model};
use crate::units::Seconds;
use flow::FlowState;
pub use importance::Importance;
use outages::{NO_CAUSE, OutageBook};
pub use plan::CauseName;
use plan::{NO_NODE, Plan};
use queue::{EventKind, EventQueue};
pub use replica::ReplicaState;
use replica::{Clock, Replica, Start};
pub use timeline::TimelineSim;
pub use trace::TraceRecord;

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

pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Which engine simulates the histories of a plain run.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// The timeline engine when the model's replicas are independent (no repair crews,
    /// no node that can fail or be drained, no rollout, no replica Pending for want of a
    /// node, no data flow, no reader cache), else the event engine.
    #[default]
    Auto,
    /// Always the event engine.
    Events,
}

/// A simulator of plain histories: the event engine, or the timeline engine
/// ([`TimelineSim`]) for models whose replicas are independent. Same law, different draws.
pub enum Engine {
    Events(Box<Simulator>),
    Timelines(Box<TimelineSim>),
}

impl Outcome<'_> {
    /// The history was stopped at [`MAX_EVENTS`]: its numbers are not a history's.
    pub fn over_budget(&self) -> bool {
        self.events > MAX_EVENTS
    }
}

impl Engine {
    pub fn new(model: &Model, choice: EngineChoice) -> Self {
        let plan = Arc::new(Plan::new(model));
        if choice == EngineChoice::Auto && plan.replicas_independent() {
            Engine::Timelines(Box::new(TimelineSim::new(plan)))
        } else {
            Engine::Events(Box::new(Simulator::with_plan(plan, model)))
        }
    }

    /// Runs replication `index` of a run with `seed` and returns what it produced.
    #[inline]
    pub fn run(&mut self, seed: u64, index: u64) -> Outcome<'_> {
        match self {
            Engine::Events(sim) => sim.run(seed, index),
            Engine::Timelines(sim) => sim.run(seed, index),
        }
    }

    /// `events` or `timelines`, as the JSON's `perf.engine` names it.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Events(_) => "events",
            Engine::Timelines(_) => "timelines",
        }
    }
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
    /// Where the stage's round-robin placement goes on: the index into its nodes of the
    /// next node to try.
    placement_cursor: u32,
    rollout_active: bool,
    /// StatefulSet, DaemonSet: the next replica of the rollout, and replacements running.
    rollout_next: u32,
    kill_busy: u32,
}

/// The most events one history may take: a history past it is stopped there and the run
/// fails, naming it (validation already refuses models expected to come near it; this
/// stops what it cannot foresee, such as a fault that persists through zero-time
/// restarts). Both engines count alike.
pub const MAX_EVENTS: u64 = 100_000_000;

/// What one history produced.
#[derive(Clone, Copy, Debug)]
pub struct Outcome<'a> {
    /// X: seconds not readable within `[0, Y]`.
    pub downtime: Seconds,
    /// Outages begun within `[0, Y]` (an outage still open at Y counts).
    pub outages: u64,
    /// Seconds readable but not fresh, plus X (when the model has a freshness).
    pub stale_or_down: Seconds,
    /// Metrics produced and lost (when the model has a data flow).
    pub produced: f64,
    pub lost: f64,
    /// Events processed (stale, cancelled events not counted).
    pub events: u64,
    /// Seconds each stage was down.
    pub stage_downtime: &'a [Seconds],
    /// Failure-mode firings per stage.
    pub stage_failures: &'a [u64],
    /// X attributed to each cause (see [`Simulator::causes`]); sums to `downtime`.
    pub cause_downtime: &'a [Seconds],
}

/// The causes a model's downtime can be attributed to, in [`Outcome::cause_downtime`] order.
pub fn cause_names(model: &Model) -> Vec<CauseName> {
    Plan::new(model).cause_names
}

/// Simulates histories of one model; reuse it for many histories. A clone is an exact
/// copy of a history in progress (pending events included) sharing the plan: importance
/// splitting continues it with other random numbers.
pub struct Simulator {
    plan: Arc<Plan>,
    st: State,
}

/// What changes as a history runs. Its handlers take the plan as an argument (`&Plan`)
/// rather than through `self`: a shared reference that nothing writes, so the compiler
/// keeps what it read of the plan across the handlers' writes to the state instead of
/// reloading it (with its bounds checks) after every one.
pub(super) struct State {
    queue: EventQueue,
    replicas: Vec<Replica>,
    stages: Vec<StageState>,
    /// Each node is ready (neither failed nor down for its upgrade), failed, down for its
    /// upgrade, cordoned by a drain.
    node_up: Vec<bool>,
    node_failed: Vec<bool>,
    node_upgrading: Vec<bool>,
    node_cordoned: Vec<bool>,
    node_generation: Vec<u32>,
    /// When each node's pending failure or recovery delay began.
    node_clock_start: Vec<Seconds>,
    /// Scratch for placement: the Pods of one stage on each node.
    node_load: Vec<u32>,
    drain: drain::Drain,
    /// A stage's Pods changed while its Deployment rollout or a drain is on: their rules
    /// are applied again once the event's handler is done.
    pods_dirty: bool,
    rng: HistoryRng,
    /// Read-path stages down (the cached reader excluded).
    path_down: u32,
    cache_until: Seconds,
    cache_generation: u32,
    flow: Option<FlowState>,
    /// A replica became or stopped being ready, or a node went down or came back, since
    /// the flow was last told: else its inputs are as they were (see `sync_flow`).
    flow_dirty: bool,
    fresh_generation: u32,
    fresh_check: Seconds,
    book: OutageBook,
    fresh: bool,
    stale_start: Seconds,
    stale_or_down: Seconds,
    events: u64,
    stage_downtime: Vec<Seconds>,
    stage_failures: Vec<u64>,
    trace: Option<Vec<TraceRecord>>,
}

/// By hand so that `clone_from` reuses the copy's allocations (importance splitting makes
/// millions of copies). The struct literal and the exhaustive destructuring make a new
/// field a compile error here until it is copied.
impl Clone for State {
    fn clone(&self) -> Self {
        State {
            queue: self.queue.clone(),
            replicas: self.replicas.clone(),
            stages: self.stages.clone(),
            node_up: self.node_up.clone(),
            node_failed: self.node_failed.clone(),
            node_upgrading: self.node_upgrading.clone(),
            node_cordoned: self.node_cordoned.clone(),
            node_generation: self.node_generation.clone(),
            node_clock_start: self.node_clock_start.clone(),
            node_load: self.node_load.clone(),
            drain: self.drain,
            pods_dirty: self.pods_dirty,
            rng: self.rng.clone(),
            path_down: self.path_down,
            cache_until: self.cache_until,
            cache_generation: self.cache_generation,
            flow: self.flow.clone(),
            flow_dirty: self.flow_dirty,
            fresh_generation: self.fresh_generation,
            fresh_check: self.fresh_check,
            book: self.book.clone(),
            fresh: self.fresh,
            stale_start: self.stale_start,
            stale_or_down: self.stale_or_down,
            events: self.events,
            stage_downtime: self.stage_downtime.clone(),
            stage_failures: self.stage_failures.clone(),
            trace: self.trace.clone(),
        }
    }

    fn clone_from(&mut self, source: &Self) {
        let State {
            queue,
            replicas,
            stages,
            node_up,
            node_failed,
            node_upgrading,
            node_cordoned,
            node_generation,
            node_clock_start,
            node_load,
            drain,
            pods_dirty,
            rng,
            path_down,
            cache_until,
            cache_generation,
            flow,
            flow_dirty,
            fresh_generation,
            fresh_check,
            book,
            fresh,
            stale_start,
            stale_or_down,
            events,
            stage_downtime,
            stage_failures,
            trace,
        } = source;
        self.queue.clone_from(queue);
        self.replicas.clone_from(replicas);
        self.stages.clone_from(stages);
        self.node_up.clone_from(node_up);
        self.node_failed.clone_from(node_failed);
        self.node_upgrading.clone_from(node_upgrading);
        self.node_cordoned.clone_from(node_cordoned);
        self.node_generation.clone_from(node_generation);
        self.node_clock_start.clone_from(node_clock_start);
        self.node_load.clone_from(node_load);
        self.drain = *drain;
        self.pods_dirty = *pods_dirty;
        self.rng = rng.clone();
        self.path_down = *path_down;
        self.cache_until = *cache_until;
        self.cache_generation = *cache_generation;
        self.flow.clone_from(flow);
        self.flow_dirty = *flow_dirty;
        self.fresh_generation = *fresh_generation;
        self.fresh_check = *fresh_check;
        self.book.clone_from(book);
        self.fresh = *fresh;
        self.stale_start = *stale_start;
        self.stale_or_down = *stale_or_down;
        self.events = *events;
        self.stage_downtime.clone_from(stage_downtime);
        self.stage_failures.clone_from(stage_failures);
        self.trace.clone_from(trace);
    }
}

impl Clone for Simulator {
    fn clone(&self) -> Self {
        Simulator {
            plan: Arc::clone(&self.plan),
            st: self.st.clone(),
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.plan = Arc::clone(&source.plan);
        self.st.clone_from(&source.st);
    }
}

impl State {
    fn run(&mut self, plan: &Plan, seed: u64, index: u64) -> Outcome<'_> {
        self.start(plan, seed, index);
        self.run_to_horizon(plan);
        self.finish(plan.horizon)
    }

    fn start(&mut self, plan: &Plan, seed: u64, index: u64) {
        self.rng = history_rng(seed, index);
        self.reset(plan);
    }

    /// Every instant up to the horizon, in one loop: the event handling is inlined here
    /// once, and nothing is saved and restored between instants.
    #[inline(never)]
    fn run_to_horizon(&mut self, plan: &Plan) {
        let horizon = plan.horizon;
        while self.advance(plan, horizon) {}
    }

    #[inline]
    fn step(&mut self, plan: &Plan) -> bool {
        self.advance(plan, plan.horizon)
    }

    #[inline(always)]
    fn advance(&mut self, plan: &Plan, horizon: Seconds) -> bool {
        // Events applied this instant: an instant of cancelled events only (a failure
        // clock stopped by a node loss, a freshness check made moot) changes nothing to
        // judge.
        let before = self.events;
        while let Some(ev) = self.queue.begin() {
            if ev.time >= horizon {
                return false;
            }
            self.apply(plan, ev);
            self.queue.commit();
            if self.events > MAX_EVENTS {
                return false;
            }
            if self.queue.peek_time().is_none_or(|next| next > ev.time) {
                if self.events != before {
                    self.judge(plan, ev.time);
                }
                return true;
            }
        }
        false
    }

    fn end(&mut self, plan: &Plan) -> Outcome<'_> {
        self.finish(plan.horizon)
    }

    fn reseed(&mut self, rng: HistoryRng) {
        self.rng = rng;
    }

    fn downtime_so_far(&self) -> Seconds {
        self.book.downtime_until(self.queue.now())
    }

    fn cause_downtime_so_far(&self, out: &mut [Seconds]) {
        self.book.cause_downtime_until(self.queue.now(), out);
    }

    fn stage_downtime_so_far(&self, out: &mut [Seconds]) {
        let now = self.queue.now();
        for (o, s) in out.iter_mut().zip(&self.stages) {
            *o = s.downtime + if s.up { 0.0 } else { now - s.down_since };
        }
    }

    fn ended_outages(&self) -> (u64, f64) {
        self.book.ended()
    }

    fn events(&self) -> u64 {
        self.events
    }

    fn parts(&self) -> usize {
        self.replicas.len() + self.node_up.len()
    }

    fn reset(&mut self, plan: &Plan) {
        self.queue.reset();
        self.path_down = 0;
        self.cache_until = f64::NEG_INFINITY;
        self.book.reset();
        self.fresh = true;
        self.stale_start = 0.0;
        self.stale_or_down = 0.0;
        self.events = 0;
        self.fresh_check = f64::INFINITY;
        self.flow_dirty = false;
        self.fresh_generation = 0;
        self.cache_generation = 0;
        for (s, stage) in self.stages.iter_mut().zip(&plan.stages) {
            *s = StageState {
                waiting: std::mem::take(&mut s.waiting),
                ..Default::default()
            };
            s.ready = stage.replicas;
            s.placement_cursor = if stage.nodes.is_empty() {
                0
            } else {
                stage.replicas % stage.nodes.len() as u32
            };
            s.up = true;
            s.waiting.clear();
        }
        self.drain = drain::Drain::IDLE;
        self.pods_dirty = false;
        for (i, n) in plan.nodes.iter().enumerate() {
            self.node_up[i] = true;
            self.node_failed[i] = false;
            self.node_upgrading[i] = false;
            self.node_cordoned[i] = false;
            self.node_generation[i] = 0;
            self.node_clock_start[i] = 0.0;
            if let Some((every, _)) = n {
                let t = every.sample(&mut self.rng);
                self.queue.schedule(t, EventKind::NodeFail, i as u32, 0, 0);
            }
        }
        for (si, s) in plan.stages.iter().enumerate() {
            if let Some(r) = &s.rollout {
                self.queue
                    .schedule(r.every, EventKind::MaintenanceStart, si as u32, 0, 0);
            }
        }
        self.schedule_first_wave(plan);
        for r in 0..self.replicas.len() {
            let home = plan.replica_home[r];
            let s = &plan.stages[plan.replica_stage[r] as usize];
            self.replicas[r] = Replica {
                node: home,
                pinned: if s.local_volume { home } else { NO_NODE },
                ..Replica::NEW
            };
            if plan.starts_pending[r] {
                let cause = s.pending_cause;
                self.leave_ready(plan, r as u32, cause);
                self.replicas[r].state = ReplicaState::Pending;
            } else {
                self.draw_failure(plan, r as u32);
            }
        }
        if let Some(f) = &mut self.flow {
            f.reset();
        }
        if plan.starts_pending.contains(&true) {
            // A store or collector may wait for a node from the start, and the read path
            // be down.
            if self.flow.is_some() {
                self.sync_flow(plan, 0.0, false);
            }
            self.judge(plan, 0.0);
        }
    }

    fn finish(&mut self, horizon: Seconds) -> Outcome<'_> {
        if let Some(f) = &mut self.flow {
            f.advance(horizon);
        }
        self.book.close(horizon);
        if !self.fresh {
            self.stale_or_down += horizon - self.stale_start;
        }
        if self.flow.is_none() {
            self.stale_or_down = self.book.downtime;
        }
        self.fresh = true;
        for (i, s) in self.stages.iter_mut().enumerate() {
            let open = if s.up { 0.0 } else { horizon - s.down_since };
            self.stage_downtime[i] = s.downtime + open;
            self.stage_failures[i] = s.failures;
        }
        self.outcome()
    }

    fn outcome(&self) -> Outcome<'_> {
        let (produced, lost) = self.flow.as_ref().map_or((0.0, 0.0), FlowState::totals);
        Outcome {
            downtime: self.book.downtime,
            outages: self.book.outages,
            stale_or_down: self.stale_or_down,
            produced,
            lost,
            events: self.events,
            stage_downtime: &self.stage_downtime,
            stage_failures: &self.stage_failures,
            cause_downtime: &self.book.cause_downtime,
        }
    }

    #[inline]
    fn readable_now(&self, plan: &Plan) -> bool {
        match plan.cache {
            None => self.path_down == 0,
            Some((reader, _)) => {
                self.stages[reader].up
                    && (self.path_down == 0 || self.queue.now() < self.cache_until)
            }
        }
    }

    #[inline(always)]
    fn judge(&mut self, plan: &Plan, t: Seconds) {
        let readable = self.readable_now(plan);
        let (plan, stages, replicas) = (&plan, &self.stages, &self.replicas);
        let changed = self.book.judge(t, readable, || {
            plan.earliest_cause(
                |s| stages[s].up,
                |r| {
                    let rep = &replicas[r];
                    (rep.state != ReplicaState::Ready && rep.cause != NO_CAUSE)
                        .then_some((rep.cause_start, rep.cause))
                },
            )
        });
        if changed {
            self.note_system(if readable { "readable" } else { "unreadable" });
        }
        // Without a data flow, fresh is readable: `finish` copies the time.
        let fresh = readable && self.flow.as_ref().is_some_and(FlowState::fresh);
        if self.flow.is_some() && fresh != self.fresh {
            self.fresh = fresh;
            if fresh {
                self.stale_or_down += t - self.stale_start;
            } else {
                self.stale_start = t;
            }
            if plan.flow.as_ref().is_some_and(|f| f.freshness.is_some()) {
                self.note_system(if fresh { "fresh" } else { "stale" });
            }
        }
    }

    /// Whether an event still stands (not cancelled by a generation change).
    #[inline]
    fn is_current(&self, ev: &queue::Event) -> bool {
        match ev.kind {
            EventKind::NodeFail | EventKind::NodeRecover => {
                self.node_generation[ev.target as usize] == ev.generation
            }
            EventKind::SurgeReady => {
                self.replicas[ev.target as usize].surge_generation == ev.generation
            }
            EventKind::MaintenanceStart | EventKind::UpgradeWave => true,
            EventKind::DrainForce | EventKind::PodStopped | EventKind::NodeUpgraded => {
                self.drain.generation == ev.generation
            }
            EventKind::FreshCheck => self.fresh_generation == ev.generation,
            EventKind::CacheExpire => self.cache_generation == ev.generation,
            _ => self.replicas[ev.target as usize].generation == ev.generation,
        }
    }

    fn resample_clocks(&mut self, plan: &Plan) {
        let now = self.queue.now();
        let mut events = self.queue.take_events();
        for e in &mut events {
            if !self.is_current(e) {
                continue;
            }
            let plan = &plan;
            let rng = &mut self.rng;
            let redraw = |d: &Dist, start: Seconds, rng: &mut HistoryRng| {
                start + d.sample_beyond(now - start, rng)
            };
            let t = e.target as usize;
            e.time = match e.kind {
                EventKind::NodeFail | EventKind::NodeRecover => {
                    let (every, recovery) = plan.nodes[t].as_ref().expect("a failing node");
                    let d = if e.kind == EventKind::NodeFail {
                        every
                    } else {
                        recovery
                    };
                    redraw(d, self.node_clock_start[t], rng)
                }
                EventKind::SurgeReady => {
                    let d = plan.stages[plan.replica_stage[t] as usize]
                        .recreate
                        .as_ref();
                    redraw(
                        d.expect("a surge Pod is created"),
                        self.replicas[t].surge_start,
                        rng,
                    )
                }
                EventKind::UpgradeWave => {
                    redraw(&plan.upgrade_plan().every, self.drain.wave_clock_start, rng)
                }
                EventKind::NodeUpgraded => {
                    redraw(&plan.upgrade_plan().node_time, self.drain.down_start, rng)
                }
                EventKind::MaintenanceStart
                | EventKind::FreshCheck
                | EventKind::CacheExpire
                | EventKind::DrainForce
                | EventKind::PodStopped => {
                    continue;
                }
                _ => {
                    let rep = &self.replicas[t];
                    let stage = &plan.stages[plan.replica_stage[t] as usize];
                    let start = rep.clock_start;
                    match rep.clock {
                        Clock::Fixed => continue,
                        Clock::Failure => {
                            let (mut first, mut m) = (f64::INFINITY, 0);
                            for (k, mode) in stage.modes.iter().enumerate() {
                                let x = redraw(&mode.every, start, rng);
                                if x < first {
                                    (first, m) = (x, k);
                                }
                            }
                            e.aux = m as u16;
                            first
                        }
                        Clock::Detect(m) => match &stage.modes[m as usize].detect {
                            Detect::Exit => continue,
                            Detect::After(d) => redraw(d, start, rng),
                            Detect::Liveness => {
                                let probe = stage.liveness.expect("validated: a probe");
                                let fixed = probe.detection_delay(0.0);
                                let lo = ((now - start - fixed) / probe.period).clamp(0.0, 1.0);
                                let u = lo + (1.0 - lo) * unit_interval(rng);
                                start + probe.detection_delay(u)
                            }
                        },
                        Clock::Restart => {
                            redraw(stage.restart.as_ref().expect("validated"), start, rng)
                        }
                        Clock::Recreate => {
                            redraw(stage.recreate.as_ref().expect("validated"), start, rng)
                        }
                        Clock::Operator => redraw(
                            stage
                                .operator_response
                                .as_ref()
                                .expect("scheduled only with one"),
                            start,
                            rng,
                        ),
                    }
                }
            }
            .max(now);
        }
        // A surge Pod that takes an old Pod's place keeps its redrawn ready time.
        for e in &events {
            if e.kind == EventKind::SurgeReady && self.is_current(e) {
                self.replicas[e.target as usize].surge_done = e.time;
            }
        }
        self.queue.restore_events(events);
        for r in 0..self.replicas.len() {
            let rep = &self.replicas[r];
            if rep.fix_time > now {
                let stage = &plan.stages[plan.replica_stage[r] as usize];
                let d = stage.modes[rep.fix_mode as usize]
                    .persists
                    .as_ref()
                    .expect("a persisting mode");
                let start = rep.fix_start;
                self.replicas[r].fix_time = start + d.sample_beyond(now - start, &mut self.rng);
            }
        }
    }

    #[inline(always)]
    fn apply(&mut self, plan: &Plan, ev: queue::Event) {
        if !self.is_current(&ev) {
            return;
        }
        self.events += 1;
        let r = ev.target;
        match ev.kind {
            EventKind::Fail => self.fail(plan, r, ev.aux as usize),
            EventKind::Detected => self.detected(plan, r),
            EventKind::BackoffEnd => self.request_restart(plan, r, Start::AfterCrash),
            EventKind::RestartDone => self.restart_done(plan, r),
            EventKind::NodeFail => self.node_fail(plan, r as usize),
            EventKind::NodeRecover => self.node_recover(plan, r as usize),
            EventKind::Evict => self.reschedule(plan, r, "evicted"),
            EventKind::OperatorResponse => self.reschedule(plan, r, "force_deleted"),
            EventKind::MaintenanceStart => self.maintenance_start(plan, r as usize),
            EventKind::SurgeReady => self.surge_ready(plan, r),
            EventKind::ShutdownDone => self.pod_stopped(plan, r),
            EventKind::Attach => self.attach(plan, r),
            EventKind::UpgradeWave => self.upgrade_wave_due(plan),
            EventKind::DrainForce => self.evict_from_drained_node(plan, true),
            EventKind::PodStopped => self.drained_pod_stopped(plan),
            EventKind::NodeUpgraded => self.node_upgraded(plan, r as usize),
            EventKind::FreshCheck => {
                self.fresh_check = f64::INFINITY;
                self.note_system_event("freshness_check", "checked");
            }
            EventKind::CacheExpire => {}
        }
        if self.pods_dirty {
            self.settle_pods(plan);
        }
        if self.flow.is_some() {
            self.sync_flow(plan, ev.time, ev.kind == EventKind::FreshCheck);
        }
    }

    /// Applies the rules that watch a stage's Pods — a Deployment's rolling update, a
    /// drain's blocked evictions — until nothing changes.
    #[cold]
    #[inline(never)]
    fn settle_pods(&mut self, plan: &Plan) {
        while std::mem::take(&mut self.pods_dirty) {
            for s in 0..self.stages.len() {
                if self.stages[s].rollout_active {
                    self.reconcile_rollout(plan, s);
                }
            }
            if self.drain.evicting() {
                self.evict_from_drained_node(plan, false);
            }
        }
    }

    /// Tells the data flow which replicas are ready, and plans the next freshness check.
    /// The flow is linear between changes of its inputs, so an event that changes none
    /// (most do not touch the flow's stages) leaves it where it is; a freshness check, the
    /// time freshness may change without one, always brings it to `t`.
    fn sync_flow(&mut self, plan: &Plan, t: Seconds, check: bool) {
        let fp = plan.flow.as_ref().expect("only with a flow");
        let (source_up, cs, ss) = (
            self.stages[fp.source].up,
            &plan.stages[fp.collector],
            &plan.stages[fp.store],
        );
        let replicas = &self.replicas;
        let node_up = &self.node_up;
        let daemonset = fp.collector_daemonset;
        let collector_ready =
            |c: usize| replicas[(cs.first as usize) + c].state == ReplicaState::Ready;
        let producing = |c: usize| {
            let node = replicas[(cs.first as usize) + c].node;
            source_up && (!daemonset || node == NO_NODE || node_up[node as usize])
        };
        let store_ready = |s: usize| replicas[(ss.first as usize) + s].state == ReplicaState::Ready;
        let flow = self.flow.as_mut().expect("only with a flow");
        let dirty = std::mem::take(&mut self.flow_dirty);
        debug_assert!(
            dirty || flow.same_inputs(collector_ready, producing, store_ready),
            "a flow input changed unnoticed"
        );
        if !check && (!dirty || flow.same_inputs(collector_ready, producing, store_ready)) {
            return;
        }
        flow.advance(t);
        flow.sync(collector_ready, producing, store_ready);
        let next = flow.next_fresh_check().unwrap_or(f64::INFINITY);
        if next != self.fresh_check {
            self.fresh_check = next;
            self.fresh_generation = self.fresh_generation.wrapping_add(1);
            if next.is_finite() {
                self.queue
                    .schedule_at(next, EventKind::FreshCheck, 0, self.fresh_generation, 0);
            }
        }
    }
}

impl Simulator {
    pub fn new(model: &Model) -> Self {
        Self::with_plan(Arc::new(Plan::new(model)), model)
    }

    /// A simulator of `model`, whose plan is already built.
    fn with_plan(plan: Arc<Plan>, model: &Model) -> Self {
        let n_replicas = plan.replica_stage.len();
        let stages = plan
            .stages
            .iter()
            .map(|s| StageState {
                waiting: std::collections::VecDeque::with_capacity(s.replicas as usize),
                ..Default::default()
            })
            .collect();
        let n_stages = plan.stages.len();
        let flow = plan.flow.as_ref().map(|f| {
            FlowState::new(
                f.share,
                f.buffer,
                f.retention,
                f.freshness,
                model.stages[f.collector].replicas as usize,
                model.stages[f.store].replicas as usize,
            )
        });
        let st = State {
            queue: EventQueue::with_capacity(4 * (n_replicas + plan.nodes.len()) + 16),
            replicas: vec![Replica::NEW; n_replicas],
            stages,
            node_up: vec![true; plan.nodes.len()],
            node_failed: vec![false; plan.nodes.len()],
            node_upgrading: vec![false; plan.nodes.len()],
            node_cordoned: vec![false; plan.nodes.len()],
            node_generation: vec![0; plan.nodes.len()],
            node_clock_start: vec![0.0; plan.nodes.len()],
            node_load: vec![0; plan.nodes.len()],
            drain: drain::Drain::IDLE,
            pods_dirty: false,
            rng: history_rng(0, 0),
            path_down: 0,
            cache_until: f64::NEG_INFINITY,
            cache_generation: 0,
            flow,
            flow_dirty: false,
            fresh_generation: 0,
            fresh_check: f64::INFINITY,
            book: OutageBook::new(plan.cause_names.len()),
            fresh: true,
            stale_start: 0.0,
            stale_or_down: 0.0,
            events: 0,
            stage_downtime: vec![0.0; n_stages],
            stage_failures: vec![0; n_stages],
            trace: None,
        };
        Simulator { plan, st }
    }

    /// The model's stages.
    pub(crate) fn stage_count(&self) -> usize {
        self.plan.stages.len()
    }

    /// The causes X is attributed to, in the order of [`Outcome::cause_downtime`].
    pub fn causes(&self) -> &[CauseName] {
        &self.plan.cause_names
    }

    /// Whether a read-path replica can ever be held ([`Importance::Held`]): nodes that
    /// fail or are drained, a repair crew, or a replica Pending from the start.
    pub(crate) fn can_hold(&self) -> bool {
        let p = &self.plan;
        p.upgrades.is_some()
            || p.nodes.iter().any(Option::is_some)
            || p.starts_pending.contains(&true)
            || p.stages.iter().any(|s| s.on_read_path && s.crews > 0)
    }

    /// The level of an outage (see [`Simulator::level`]): at least 1.
    pub fn top_level(&self) -> u32 {
        self.plan.top_level
    }

    /// Runs replication `index` of a run with `seed` and returns what it produced.
    pub fn run(&mut self, seed: u64, index: u64) -> Outcome<'_> {
        self.st.run(&self.plan, seed, index)
    }

    /// Sets up replication `index` of a run with `seed` at t = 0; [`Simulator::step`]
    /// then advances it.
    pub(crate) fn start(&mut self, seed: u64, index: u64) {
        self.st.start(&self.plan, seed, index)
    }

    /// Applies every event of the next instant and judges readability after them (so an
    /// outage of length zero is no outage). False, with nothing applied, once the next
    /// event is at or after the horizon: then only [`Simulator::end`] remains.
    #[inline]
    pub(crate) fn step(&mut self) -> bool {
        self.st.step(&self.plan)
    }

    /// Closes a history at the horizon (open outages are cut there).
    pub(crate) fn end(&mut self) -> Outcome<'_> {
        self.st.end(&self.plan)
    }

    /// Continues this history with another random stream from now on.
    pub(crate) fn reseed(&mut self, rng: HistoryRng) {
        self.st.reseed(rng)
    }

    /// Time unreadable so far, an outage in progress counted up to now.
    pub(crate) fn downtime_so_far(&self) -> Seconds {
        self.st.downtime_so_far()
    }

    /// Time unreadable so far attributed to each cause (see [`Simulator::causes`]), into
    /// `out`.
    pub(crate) fn cause_downtime_so_far(&self, out: &mut [Seconds]) {
        self.st.cause_downtime_so_far(out)
    }

    /// Seconds each stage was down so far, a stage down now counted up to now, into
    /// `out` (one entry per stage).
    pub(crate) fn stage_downtime_so_far(&self, out: &mut [Seconds]) {
        self.st.stage_downtime_so_far(out)
    }

    /// The number of outages that ended (or were cut at the horizon) and the sum of
    /// their squared lengths. Counted at their ends, not their starts: a copy made at
    /// the instant an outage begins lives through that outage, but did not begin it.
    pub(crate) fn ended_outages(&self) -> (u64, f64) {
        self.st.ended_outages()
    }

    /// Events applied so far in this history.
    pub(crate) fn events(&self) -> u64 {
        self.st.events()
    }

    /// How close the read path is to an outage: `top` while it is unreadable or a stage of
    /// it is below `min_ready`, else the most replicas one of its stages has lost by the
    /// measure `by` (below `top`). `top` is the most replicas any read-path stage can lose
    /// and stay up, plus one ([`Simulator::top_level`]).
    pub(crate) fn level(&self, by: Importance) -> u32 {
        self.st.level(&self.plan, by)
    }

    /// Replicas and nodes: what the size of a copy of the state grows with.
    pub(crate) fn parts(&self) -> usize {
        self.st.parts()
    }

    /// Runs one history and returns its event log.
    pub fn trace(&mut self, seed: u64, index: u64) -> (Vec<TraceRecord>, Outcome<'_>) {
        let mut records = vec![];
        let Ok(outcome) = self.trace_with(seed, index, |r| {
            records.push(r);
            Ok::<(), std::convert::Infallible>(())
        });
        (records, outcome)
    }

    /// Runs one history and hands its event log to `sink` record by record as it is
    /// made (a long history's log is never held whole); the first error ends it.
    pub fn trace_with<E>(
        &mut self,
        seed: u64,
        index: u64,
        mut sink: impl FnMut(TraceRecord) -> Result<(), E>,
    ) -> Result<Outcome<'_>, E> {
        self.st.trace = Some(vec![]);
        self.start(seed, index);
        let mut more = true;
        while more {
            more = self.step();
            if !more {
                let _ = self.end();
            }
            let batch = self
                .st
                .trace
                .as_mut()
                .map(std::mem::take)
                .unwrap_or_default();
            for r in batch {
                if let Err(e) = sink(r) {
                    self.st.trace = None;
                    return Err(e);
                }
            }
        }
        self.st.trace = None;
        Ok(self.st.outcome())
    }

    /// Draws every pending random delay again from its distribution conditioned on the
    /// time it has already run (a clock of age `a` that has not fired is `F | X > a`), and
    /// the end of every persisting cause likewise. The state keeps its meaning — the ages
    /// of all clocks are unchanged — but the future is new: what importance splitting
    /// needs to make a copy that is independent of its original given the present.
    /// Fixed delays stay as they are.
    pub(crate) fn resample_clocks(&mut self) {
        self.st.resample_clocks(&self.plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome_bits(o: &Outcome<'_>) -> (u64, u64, u64, u64) {
        (o.downtime.to_bits(), o.outages, o.events, o.lost.to_bits())
    }

    /// A copy made mid-history (by `clone` or by `clone_from` into a simulator that was
    /// busy with another history) continues exactly as the original: nothing of the state
    /// is left behind. The bundled model has nodes, back-off, a data flow and a cache.
    #[test]
    fn a_copy_in_progress_continues_exactly_as_the_original() {
        let model = Model::load(std::path::Path::new("models/seed.toml"), &[]).unwrap();
        let mut original = Simulator::new(&model);
        let mut busy = Simulator::new(&model);
        busy.start(9, 9);
        for _ in 0..50 {
            busy.step();
        }
        original.start(1, 4);
        for _ in 0..200 {
            assert!(original.step());
        }
        let mut cloned = original.clone();
        busy.clone_from(&original);
        let expected = {
            while original.step() {}
            outcome_bits(&original.end())
        };
        for copy in [&mut cloned, &mut busy] {
            while copy.step() {}
            assert_eq!(outcome_bits(&copy.end()), expected);
        }
    }

    /// Redrawing the clocks keeps the state (the same replicas are down, at the same
    /// level) but changes the future.
    #[test]
    fn resampled_clocks_keep_the_state_and_change_the_future() {
        let model = Model::load(std::path::Path::new("models/ha.toml"), &[]).unwrap();
        let mut original = Simulator::new(&model);
        original.start(2, 0);
        for _ in 0..300 {
            original.step();
        }
        let mut copy = original.clone();
        copy.reseed(history_rng(77, 0));
        copy.resample_clocks();
        for by in [Importance::NotReady, Importance::Held] {
            assert_eq!(copy.level(by), original.level(by));
        }
        assert_eq!(copy.downtime_so_far(), original.downtime_so_far());
        assert!(copy.st.queue.len() == original.st.queue.len());
        while original.step() {}
        while copy.step() {}
        assert_ne!(
            outcome_bits(&original.end()),
            outcome_bits(&copy.end()),
            "a redrawn future is a different future"
        );
    }
}
