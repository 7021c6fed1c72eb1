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
//!   container's restarts and returns to 0 when the failure comes more than `2·cap` after
//!   the container's last start (the moment its last restart began, or 0 for the first
//!   container). New Pods and restarts after a node comes back start at `n = 0` and do
//!   not count as a restart.
//! - Persisting causes: a mode with `persists` keeps failing every restart that would
//!   finish before the fix, at the moment it would have become ready (a new crash, noticed
//!   at once; back-off applies). Re-crashes are not counted as failures.
//! - Repair crews: with `repair_crews > 0` every restart of the stage (after a crash, a node
//!   recovery, an eviction or a rollout's kill-first replacement) waits in one FIFO queue
//!   for a free crew, held only while restarting. A rollout's surge Pod is an extra Pod,
//!   not a restart, and takes no crew.
//! - Nodes: a failure takes every replica on the node down at once and cancels their
//!   pending restarts, failure clocks and surge Pods. When the node is back each replica
//!   still on it restarts (`restart`). A Deployment replica is re-created (`recreate`) on
//!   the next ready node of its `nodes` (round-robin from its own) `eviction_delay` after
//!   the failure and stays there; a StatefulSet replica does the same when
//!   `operator_response` comes before the node; with no ready node to go to, the new Pod
//!   waits for the first of its nodes to come back. DaemonSet and external replicas wait
//!   for their node. A node draws its next failure when it is back.
//! - Maintenance (`kubectl rollout restart`) at `every`, `2·every`, …: Deployments replace
//!   `max_surge` replicas at a time new-Pod-first (the old Pod leaves when the new one is
//!   ready) and `max_unavailable` at a time old-Pod-first; StatefulSets one at a time,
//!   highest ordinal first, each deleted (`shutdown`), re-created and ready before the
//!   next; DaemonSets one at a time, kill first. A rollout due while one is running is
//!   skipped.
//!
//! Readability: a stage is up while at least `min_ready` replicas are ready; the system is
//! readable while every stage on `read_path` is up (or, with a reader cache, while the
//! reader is up and the rest has been down for less than `max_staleness`). All events at
//! one instant are applied before readability and freshness are judged, so an outage of
//! length zero is no outage; an outage still open at Y is cut at Y and counted.
//!
//! Causes: each moment of X is attributed to one cause — a failure mode of a stage, a
//! node, or a stage's maintenance — the earliest-started of those keeping the read path
//! down. A replica's cause is what took it down first (its failure, its node, or a
//! rollout), kept until it is ready again.
//!
//! Cost is proportional to the number of events. A [`Simulator`] owns all per-history
//! state and is reused from one history to the next: nothing is allocated per event.
//!
//! Two engines follow these rules. [`Simulator`], the event engine, handles every model.
//! [`TimelineSim`] (`timeline.rs`) handles models whose replicas are independent (no
//! crews, no node that can fail, no rollout, no data flow, no cache) without an event
//! queue, one replica at a time; [`Engine`] picks between them. Same law, other draws.

pub mod flow;
mod outages;
pub mod queue;
mod timeline;

use std::sync::Arc;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use crate::dist::{Dist, unit_interval};
use crate::model::{Backoff, Detect, Kind, Model, Probe};
use crate::units::Seconds;
use flow::FlowState;
use outages::{NO_CAUSE, OutageBook};
use queue::{EventKind, EventQueue};
pub use timeline::TimelineSim;

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
    /// Its node is down, or its new Pod has no ready node to go to.
    Pending,
    /// Deleted by a rollout, stopping.
    Terminating,
}

/// How a replica starts again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// In-place restart after its container failed: back-off counts it.
    AfterCrash,
    /// In-place restart after its node came back: `n = 0`.
    Fresh,
    /// A new Pod (`recreate`): `n = 0`.
    NewPod,
}

/// A replica's part in a rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    None,
    /// A new Pod is starting beside it.
    Surge,
    /// It was deleted; its new Pod must become ready.
    Kill,
}

/// Where a replica's pending event came from: what [`Simulator::resample_clocks`] draws
/// its time again from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Clock {
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

const NO_NODE: u32 = u32::MAX;

/// The model flattened for the simulator.
#[derive(Clone, Debug)]
struct Plan {
    horizon: Seconds,
    stages: Vec<StagePlan>,
    /// The stage of each replica; a stage's replicas are contiguous.
    replica_stage: Vec<u32>,
    /// Where each replica starts.
    replica_home: Vec<u32>,
    nodes: Vec<Option<(Dist, Dist)>>,
    /// The reader with a cache: (stage, max_staleness).
    cache: Option<(usize, Seconds)>,
    flow: Option<FlowPlan>,
    cause_names: Vec<CauseName>,
    /// Cause index of each node.
    node_cause: Vec<u32>,
    /// Read-path stages and their replicas: (stage, first replica, end).
    path_replicas: Vec<(u32, u32, u32)>,
    /// The importance level of an outage (see [`Simulator::level`]).
    top_level: u32,
    stage_names: Vec<String>,
    node_names: Vec<String>,
}

#[derive(Clone, Debug)]
struct FlowPlan {
    source: usize,
    collector: usize,
    store: usize,
    collector_daemonset: bool,
    share: f64,
    buffer: crate::model::Buffer,
    retention: Seconds,
    freshness: Option<Seconds>,
}

#[derive(Clone, Debug)]
struct StagePlan {
    first: u32,
    replicas: u32,
    min_ready: u32,
    crews: u32,
    kind: Kind,
    on_read_path: bool,
    restart: Option<Dist>,
    recreate: Option<Dist>,
    shutdown: Seconds,
    eviction_delay: Seconds,
    operator_response: Option<Dist>,
    backoff: Option<Backoff>,
    liveness: Option<Probe>,
    modes: Vec<ModePlan>,
    nodes: Vec<u32>,
    rollout: Option<RolloutPlan>,
    /// Cause index of its maintenance.
    maintenance_cause: u32,
}

#[derive(Clone, Debug)]
struct ModePlan {
    every: Dist,
    detect: Detect,
    persists: Option<Dist>,
    cause: u32,
}

#[derive(Clone, Debug)]
struct RolloutPlan {
    every: Seconds,
    surge_lanes: u32,
    kill_lanes: u32,
    /// The old Pod must be gone before the new one is created.
    wait_shutdown: bool,
    /// Replicas in replacement order.
    order: Vec<u32>,
}

/// What a cause is, for results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CauseName {
    Failure {
        stage: String,
        mode: String,
    },
    Node {
        node: String,
    },
    Maintenance {
        stage: String,
    },
    /// Kept for safety: time no cause could be named for (always 0 in a correct run).
    Unattributed,
}

impl CauseName {
    pub fn label(&self) -> String {
        match self {
            CauseName::Failure { stage, mode } => format!("{stage} {mode}"),
            CauseName::Node { node } => format!("node {node}"),
            CauseName::Maintenance { stage } => format!("{stage} maintenance"),
            CauseName::Unattributed => "unattributed".into(),
        }
    }
}

/// Which engine simulates the histories of a plain run.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// The timeline engine when the model's replicas are independent (no repair crews,
    /// no node that can fail, no rollout, no data flow, no reader cache), else the event
    /// engine.
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

impl Plan {
    /// No replica's course depends on another's: no repair crews, no node that can fail,
    /// no rollout, no data flow, no reader cache. Then [`TimelineSim`] applies.
    fn replicas_independent(&self) -> bool {
        self.flow.is_none()
            && self.cache.is_none()
            && self.nodes.iter().all(Option::is_none)
            && self
                .stages
                .iter()
                .all(|s| s.crews == 0 && s.rollout.is_none())
    }

    /// The earliest-started cause among the replicas keeping a read-path stage down:
    /// `stage_up(s)` tells whether stage `s` is up, `down(r)` when replica `r` stopped
    /// serving and why (`None` while it is ready). [`CauseName::Unattributed`] if none.
    #[inline]
    fn earliest_cause(
        &self,
        stage_up: impl Fn(usize) -> bool,
        down: impl Fn(usize) -> Option<(Seconds, u32)>,
    ) -> u32 {
        let mut best = (f64::INFINITY, self.cause_names.len() as u32 - 1);
        for &(s, first, end) in &self.path_replicas {
            if stage_up(s as usize) {
                continue;
            }
            for r in first..end {
                if let Some((since, cause)) = down(r as usize)
                    && since < best.0
                {
                    best = (since, cause);
                }
            }
        }
        best.1
    }

    fn new(model: &Model) -> Self {
        let mut stages = vec![];
        let mut replica_stage = vec![];
        let mut replica_home = vec![];
        let mut cause_names = vec![];
        for (si, s) in model.stages.iter().enumerate() {
            let first = replica_stage.len() as u32;
            for r in 0..s.replicas {
                replica_stage.push(si as u32);
                replica_home.push(s.node_of(r).map_or(NO_NODE, |n| n as u32));
            }
            let modes = s
                .failures
                .iter()
                .map(|m| {
                    cause_names.push(CauseName::Failure {
                        stage: s.name.clone(),
                        mode: m.name.clone(),
                    });
                    ModePlan {
                        every: m.every.clone(),
                        detect: m.detect.clone(),
                        persists: m.persists.clone(),
                        cause: cause_names.len() as u32 - 1,
                    }
                })
                .collect();
            let rollout = s.maintenance.as_ref().map(|m| {
                let ids: Vec<u32> = (first..first + s.replicas).collect();
                match s.kind {
                    Kind::Deployment => RolloutPlan {
                        every: m.every,
                        surge_lanes: m.max_surge.unwrap_or(0),
                        kill_lanes: m.max_unavailable.unwrap_or(1),
                        wait_shutdown: false,
                        order: ids,
                    },
                    Kind::StatefulSet => RolloutPlan {
                        every: m.every,
                        surge_lanes: 0,
                        kill_lanes: 1,
                        wait_shutdown: true,
                        order: ids.into_iter().rev().collect(),
                    },
                    _ => RolloutPlan {
                        every: m.every,
                        surge_lanes: 0,
                        kill_lanes: 1,
                        wait_shutdown: true,
                        order: ids,
                    },
                }
            });
            cause_names.push(CauseName::Maintenance {
                stage: s.name.clone(),
            });
            stages.push(StagePlan {
                first,
                replicas: s.replicas,
                min_ready: s.min_ready,
                crews: s.repair_crews,
                kind: s.kind,
                on_read_path: model.system.read_path.contains(&si),
                restart: s.restart.clone(),
                recreate: s.recreate_dist().cloned(),
                shutdown: s.shutdown,
                eviction_delay: s
                    .eviction_delay
                    .unwrap_or(crate::model::DEFAULT_EVICTION_DELAY),
                operator_response: s.operator_response.clone(),
                backoff: s.backoff,
                liveness: s.liveness().copied(),
                modes,
                nodes: s.nodes.iter().map(|n| *n as u32).collect(),
                rollout,
                maintenance_cause: cause_names.len() as u32 - 1,
            });
        }
        let mut node_cause = vec![];
        for n in &model.nodes {
            cause_names.push(CauseName::Node {
                node: n.name.clone(),
            });
            node_cause.push(cause_names.len() as u32 - 1);
        }
        cause_names.push(CauseName::Unattributed);
        let cache = model.stages.iter().enumerate().find_map(|(i, s)| {
            let c = s.cache?;
            model
                .system
                .read_path
                .contains(&i)
                .then_some((i, c.max_staleness))
        });
        let flow = model.system.flow.as_ref().map(|f| {
            let c = &model.stages[f.collector];
            FlowPlan {
                source: f.source,
                collector: f.collector,
                store: f.store,
                collector_daemonset: c.kind == Kind::DaemonSet,
                share: model.stages[f.source]
                    .rate
                    .expect("validated: a flow's source has a rate")
                    / f64::from(c.replicas),
                buffer: c.buffer.unwrap_or_default(),
                retention: model.stages[f.source].retention,
                freshness: f.freshness,
            }
        });
        let path_replicas: Vec<(u32, u32, u32)> = stages
            .iter()
            .enumerate()
            .filter(|(_, s)| s.on_read_path)
            .map(|(i, s)| (i as u32, s.first, s.first + s.replicas))
            .collect();
        let top_level = path_replicas
            .iter()
            .map(|&(s, _, _)| {
                let p = &stages[s as usize];
                p.replicas.saturating_sub(p.min_ready) + 1
            })
            .max()
            .unwrap_or(1);
        Plan {
            path_replicas,
            top_level,
            horizon: model.simulation.horizon,
            stages,
            replica_stage,
            replica_home,
            nodes: model
                .nodes
                .iter()
                .map(|n| {
                    n.failure
                        .as_ref()
                        .map(|f| (f.every.clone(), f.recovery.clone()))
                })
                .collect(),
            cache,
            flow,
            cause_names,
            node_cause,
            stage_names: model.stages.iter().map(|s| s.name.clone()).collect(),
            node_names: model.nodes.iter().map(|n| n.name.clone()).collect(),
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
    node: u32,
    /// When a persisting cause is fixed (−∞ when none).
    fix_time: Seconds,
    cause: u32,
    cause_start: Seconds,
    lane: Lane,
    surge_generation: u32,
    /// The kind and start of its pending event's delay, and of its surge Pod's.
    clock: Clock,
    clock_start: Seconds,
    surge_start: Seconds,
    /// The failure mode whose persisting cause `fix_time` ends, and when it began.
    fix_mode: u16,
    fix_start: Seconds,
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
        node: NO_NODE,
        fix_time: f64::NEG_INFINITY,
        cause: NO_CAUSE,
        cause_start: 0.0,
        lane: Lane::None,
        surge_generation: 0,
        clock: Clock::Fixed,
        clock_start: 0.0,
        surge_start: 0.0,
        fix_mode: 0,
        fix_start: 0.0,
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
    /// Where the stage's round-robin placement goes on: the index into its nodes of the
    /// next node to try.
    placement_cursor: u32,
    rollout_active: bool,
    rollout_next: u32,
    surge_busy: u32,
    kill_busy: u32,
}

/// One line of `hasim trace`: what happened and the state after it.
#[derive(Clone, Debug, Serialize)]
pub struct TraceRecord {
    pub time: Seconds,
    /// The stage, or empty for node and system events.
    pub stage: String,
    /// The replica index within its stage, or the node's name for node events.
    pub replica: String,
    pub event: &'static str,
    /// The replica's state after the event ("up"/"down" for nodes and stages, the
    /// system's for system events).
    pub state: String,
    /// Metrics held in collector buffers after the event (with a data flow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffered: Option<f64>,
}

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
    queue: EventQueue,
    replicas: Vec<Replica>,
    stages: Vec<StageState>,
    node_up: Vec<bool>,
    node_generation: Vec<u32>,
    /// When each node's pending failure or recovery delay began.
    node_clock_start: Vec<Seconds>,
    rng: HistoryRng,
    /// Read-path stages down (the cached reader excluded).
    path_down: u32,
    cache_until: Seconds,
    cache_generation: u32,
    flow: Option<FlowState>,
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
impl Clone for Simulator {
    fn clone(&self) -> Self {
        Simulator {
            plan: Arc::clone(&self.plan),
            queue: self.queue.clone(),
            replicas: self.replicas.clone(),
            stages: self.stages.clone(),
            node_up: self.node_up.clone(),
            node_generation: self.node_generation.clone(),
            node_clock_start: self.node_clock_start.clone(),
            rng: self.rng.clone(),
            path_down: self.path_down,
            cache_until: self.cache_until,
            cache_generation: self.cache_generation,
            flow: self.flow.clone(),
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
        let Simulator {
            plan,
            queue,
            replicas,
            stages,
            node_up,
            node_generation,
            node_clock_start,
            rng,
            path_down,
            cache_until,
            cache_generation,
            flow,
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
        self.plan = Arc::clone(plan);
        self.queue.clone_from(queue);
        self.replicas.clone_from(replicas);
        self.stages.clone_from(stages);
        self.node_up.clone_from(node_up);
        self.node_generation.clone_from(node_generation);
        self.node_clock_start.clone_from(node_clock_start);
        self.rng = rng.clone();
        self.path_down = *path_down;
        self.cache_until = *cache_until;
        self.cache_generation = *cache_generation;
        self.flow.clone_from(flow);
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
        Simulator {
            queue: EventQueue::with_capacity(4 * (n_replicas + plan.nodes.len()) + 16),
            replicas: vec![Replica::NEW; n_replicas],
            stages,
            node_up: vec![true; plan.nodes.len()],
            node_generation: vec![0; plan.nodes.len()],
            node_clock_start: vec![0.0; plan.nodes.len()],
            rng: history_rng(0, 0),
            path_down: 0,
            cache_until: f64::NEG_INFINITY,
            cache_generation: 0,
            flow,
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
            plan,
        }
    }

    /// The causes X is attributed to, in the order of [`Outcome::cause_downtime`].
    pub fn causes(&self) -> &[CauseName] {
        &self.plan.cause_names
    }

    /// Runs replication `index` of a run with `seed` and returns what it produced.
    pub fn run(&mut self, seed: u64, index: u64) -> Outcome<'_> {
        self.start(seed, index);
        self.run_to_horizon();
        self.finish(self.plan.horizon)
    }

    /// Sets up replication `index` of a run with `seed` at t = 0; [`Simulator::step`]
    /// then advances it.
    pub(crate) fn start(&mut self, seed: u64, index: u64) {
        self.rng = history_rng(seed, index);
        self.reset();
    }

    /// Every instant up to the horizon, in one loop: the event handling is inlined here
    /// once, and nothing is saved and restored between instants.
    #[inline(never)]
    fn run_to_horizon(&mut self) {
        let horizon = self.plan.horizon;
        while self.advance(horizon) {}
    }

    /// Applies every event of the next instant and judges readability after them (so an
    /// outage of length zero is no outage). False, with nothing applied, once the next
    /// event is at or after the horizon: then only [`Simulator::end`] remains.
    #[inline]
    pub(crate) fn step(&mut self) -> bool {
        self.advance(self.plan.horizon)
    }

    #[inline(always)]
    fn advance(&mut self, horizon: Seconds) -> bool {
        while let Some(ev) = self.queue.begin() {
            if ev.time >= horizon {
                return false;
            }
            self.apply(ev);
            self.queue.commit();
            if self.queue.peek_time().is_none_or(|next| next > ev.time) {
                self.judge(ev.time);
                return true;
            }
        }
        false
    }

    /// Closes a history at the horizon (open outages are cut there).
    pub(crate) fn end(&mut self) -> Outcome<'_> {
        self.finish(self.plan.horizon)
    }

    /// Continues this history with another random stream from now on.
    pub(crate) fn reseed(&mut self, rng: HistoryRng) {
        self.rng = rng;
    }

    /// Time unreadable so far, an outage in progress counted up to now.
    pub(crate) fn downtime_so_far(&self) -> Seconds {
        self.book.downtime_until(self.queue.now())
    }

    /// The number of outages that ended (or were cut at the horizon) and the sum of
    /// their squared lengths. Counted at their ends, not their starts: a copy made at
    /// the instant an outage begins lives through that outage, but did not begin it.
    pub(crate) fn ended_outages(&self) -> (u64, f64) {
        self.book.ended()
    }

    /// Events applied so far in this history.
    pub(crate) fn events(&self) -> u64 {
        self.events
    }

    /// How close the read path is to an outage: `top` while it is unreadable or a stage of
    /// it is below `min_ready`, else the most replicas not ready in one of its stages
    /// (below `top`). `top` is the most replicas any read-path stage can lose and stay up,
    /// plus one ([`Simulator::top_level`]).
    pub(crate) fn level(&self) -> u32 {
        let top = self.top_level();
        if !self.book.readable {
            return top;
        }
        let mut worst = 0;
        for &(s, _, _) in &self.plan.path_replicas {
            let (st, plan) = (&self.stages[s as usize], &self.plan.stages[s as usize]);
            if !st.up {
                return top;
            }
            worst = worst.max(plan.replicas.saturating_sub(st.ready));
        }
        worst.min(top - 1)
    }

    /// The level of an outage (see [`Simulator::level`]): at least 1.
    pub fn top_level(&self) -> u32 {
        self.plan.top_level
    }

    /// Runs one history and returns its event log.
    pub fn trace(&mut self, seed: u64, index: u64) -> (Vec<TraceRecord>, Outcome<'_>) {
        self.trace = Some(vec![]);
        let _ = self.run(seed, index);
        let records = self.trace.take().unwrap_or_default();
        let outcome = self.outcome();
        (records, outcome)
    }

    fn reset(&mut self) {
        self.queue.reset();
        self.path_down = 0;
        self.cache_until = f64::NEG_INFINITY;
        self.book.reset();
        self.fresh = true;
        self.stale_start = 0.0;
        self.stale_or_down = 0.0;
        self.events = 0;
        self.fresh_check = f64::INFINITY;
        self.fresh_generation = 0;
        self.cache_generation = 0;
        for (s, plan) in self.stages.iter_mut().zip(&self.plan.stages) {
            *s = StageState {
                waiting: std::mem::take(&mut s.waiting),
                ..Default::default()
            };
            s.ready = plan.replicas;
            s.placement_cursor = if plan.nodes.is_empty() {
                0
            } else {
                plan.replicas % plan.nodes.len() as u32
            };
            s.up = true;
            s.waiting.clear();
        }
        for (i, n) in self.plan.nodes.iter().enumerate() {
            self.node_up[i] = true;
            self.node_generation[i] = 0;
            self.node_clock_start[i] = 0.0;
            if let Some((every, _)) = n {
                let t = every.sample(&mut self.rng);
                self.queue.schedule(t, EventKind::NodeFail, i as u32, 0, 0);
            }
        }
        for (si, s) in self.plan.stages.iter().enumerate() {
            if let Some(r) = &s.rollout {
                self.queue
                    .schedule(r.every, EventKind::MaintenanceStart, si as u32, 0, 0);
            }
        }
        for r in 0..self.replicas.len() {
            self.replicas[r] = Replica {
                node: self.plan.replica_home[r],
                ..Replica::NEW
            };
            self.draw_failure(r as u32);
        }
        if let Some(f) = &mut self.flow {
            f.reset();
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
    fn readable_now(&self) -> bool {
        match self.plan.cache {
            None => self.path_down == 0,
            Some((reader, _)) => {
                self.stages[reader].up
                    && (self.path_down == 0 || self.queue.now() < self.cache_until)
            }
        }
    }

    #[inline]
    fn judge(&mut self, t: Seconds) {
        let readable = self.readable_now();
        let (plan, stages, replicas) = (&self.plan, &self.stages, &self.replicas);
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
        let fresh = readable && self.flow.as_ref().is_some_and(FlowState::any_fresh);
        if self.flow.is_some() && fresh != self.fresh {
            self.fresh = fresh;
            if fresh {
                self.stale_or_down += t - self.stale_start;
            } else {
                self.stale_start = t;
            }
            if self
                .plan
                .flow
                .as_ref()
                .is_some_and(|f| f.freshness.is_some())
            {
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
            EventKind::MaintenanceStart => true,
            EventKind::FreshCheck => self.fresh_generation == ev.generation,
            EventKind::CacheExpire => self.cache_generation == ev.generation,
            _ => self.replicas[ev.target as usize].generation == ev.generation,
        }
    }

    /// Draws every pending random delay again from its distribution conditioned on the
    /// time it has already run (a clock of age `a` that has not fired is `F | X > a`), and
    /// the end of every persisting cause likewise. The state keeps its meaning — the ages
    /// of all clocks are unchanged — but the future is new: what importance splitting
    /// needs to make a copy that is independent of its original given the present.
    /// Fixed delays stay as they are.
    pub(crate) fn resample_clocks(&mut self) {
        let now = self.queue.now();
        let mut events = self.queue.take_events();
        for e in &mut events {
            if !self.is_current(e) {
                continue;
            }
            let plan = &self.plan;
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
                EventKind::MaintenanceStart | EventKind::FreshCheck | EventKind::CacheExpire => {
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
        self.queue.restore_events(events);
        for r in 0..self.replicas.len() {
            let rep = &self.replicas[r];
            if rep.fix_time > now {
                let stage = &self.plan.stages[self.plan.replica_stage[r] as usize];
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
    fn apply(&mut self, ev: queue::Event) {
        if !self.is_current(&ev) {
            return;
        }
        self.events += 1;
        if let Some(f) = &mut self.flow {
            f.advance(ev.time);
        }
        let r = ev.target;
        match ev.kind {
            EventKind::Fail => self.fail(r, ev.aux as usize),
            EventKind::Detected => self.detected(r),
            EventKind::BackoffEnd => self.request_restart(r, Start::AfterCrash),
            EventKind::RestartDone => self.restart_done(r),
            EventKind::NodeFail => self.node_fail(r as usize),
            EventKind::NodeRecover => self.node_recover(r as usize),
            EventKind::Evict => self.reschedule(r, "evicted"),
            EventKind::OperatorResponse => self.reschedule(r, "force_deleted"),
            EventKind::MaintenanceStart => self.maintenance_start(r as usize),
            EventKind::SurgeReady => self.surge_ready(r),
            EventKind::ShutdownDone => self.request_restart(r, Start::NewPod),
            EventKind::FreshCheck => {
                self.fresh_check = f64::INFINITY;
                self.note_system_event("freshness_check", "checked");
            }
            EventKind::CacheExpire => {}
        }
        if self.flow.is_some() {
            self.sync_flow();
        }
    }

    /// Tells the data flow which replicas are ready, and plans the next freshness check.
    fn sync_flow(&mut self) {
        let fp = self.plan.flow.as_ref().expect("only with a flow");
        let (source_up, cs, ss) = (
            self.stages[fp.source].up,
            &self.plan.stages[fp.collector],
            &self.plan.stages[fp.store],
        );
        let replicas = &self.replicas;
        let node_up = &self.node_up;
        let daemonset = fp.collector_daemonset;
        let flow = self.flow.as_mut().expect("only with a flow");
        flow.sync(
            |c| replicas[(cs.first as usize) + c].state == ReplicaState::Ready,
            |c| {
                let node = replicas[(cs.first as usize) + c].node;
                source_up && (!daemonset || node == NO_NODE || node_up[node as usize])
            },
            |s| replicas[(ss.first as usize) + s].state == ReplicaState::Ready,
        );
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

    #[inline(always)]
    fn note(&mut self, r: u32, event: &'static str) {
        if self.trace.is_some() {
            let s = self.plan.replica_stage[r as usize] as usize;
            let state = serde_json::to_value(self.replicas[r as usize].state)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let replica = (r - self.plan.stages[s].first).to_string();
            self.record(self.plan.stage_names[s].clone(), replica, event, state);
        }
    }

    #[inline(always)]
    fn note_node(&mut self, n: usize, event: &'static str) {
        if self.trace.is_some() {
            let state = if self.node_up[n] { "up" } else { "down" };
            self.record(
                String::new(),
                self.plan.node_names[n].clone(),
                event,
                state.into(),
            );
        }
    }

    #[inline(always)]
    fn note_stage(&mut self, s: usize, up: bool) {
        if self.trace.is_some() {
            let (event, state) = if up {
                ("stage_up", "up")
            } else {
                ("stage_down", "down")
            };
            self.record(
                self.plan.stage_names[s].clone(),
                String::new(),
                event,
                state.into(),
            );
        }
    }

    #[inline(always)]
    fn note_system(&mut self, state: &'static str) {
        self.note_system_event("judged", state);
    }

    #[inline(always)]
    fn note_system_event(&mut self, event: &'static str, state: &'static str) {
        if self.trace.is_some() {
            self.record(String::new(), "system".into(), event, state.into());
        }
    }

    /// Appends a trace line at the current time (only called while tracing).
    #[cold]
    #[inline(never)]
    fn record(&mut self, stage: String, replica: String, event: &'static str, state: String) {
        let record = TraceRecord {
            time: self.queue.now(),
            stage,
            replica,
            event,
            state,
            buffered: self.flow.as_ref().map(FlowState::buffered),
        };
        if let Some(t) = &mut self.trace {
            t.push(record);
        }
    }

    /// Draws the next failure of a replica that just became ready.
    #[inline(always)]
    fn draw_failure(&mut self, r: u32) {
        let stage = &self.plan.stages[self.plan.replica_stage[r as usize] as usize];
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
        self.note_stage(s, up);
        match self.plan.cache {
            Some((reader, _)) if reader == s => {
                // A reader restart empties its cache.
                self.cache_until = f64::NEG_INFINITY;
            }
            _ if self.plan.stages[s].on_read_path => {
                if up {
                    self.path_down -= 1;
                } else {
                    self.path_down += 1;
                    if let Some((reader, max_staleness)) = self.plan.cache
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

    #[inline(always)]
    fn become_ready(&mut self, r: u32) {
        let s = self.plan.replica_stage[r as usize] as usize;
        self.book.cause_dirty = true;
        let rep = &mut self.replicas[r as usize];
        rep.state = ReplicaState::Ready;
        rep.cause = NO_CAUSE;
        let lane = std::mem::replace(&mut rep.lane, Lane::None);
        self.stages[s].ready += 1;
        if self.stages[s].ready == self.plan.stages[s].min_ready {
            self.set_stage(s, true);
        }
        self.note(r, "ready");
        self.draw_failure(r);
        if lane == Lane::Kill {
            self.stages[s].kill_busy -= 1;
            self.fill_lanes(s);
        }
    }

    /// The replica stops serving; `cause` is recorded if it was ready.
    #[inline(always)]
    fn leave_ready(&mut self, r: u32, cause: u32) {
        let s = self.plan.replica_stage[r as usize] as usize;
        let now = self.queue.now();
        let rep = &mut self.replicas[r as usize];
        if rep.state != ReplicaState::Ready {
            return;
        }
        self.book.cause_dirty = true;
        rep.cause = cause;
        rep.cause_start = now;
        self.stages[s].ready -= 1;
        if self.stages[s].ready + 1 == self.plan.stages[s].min_ready {
            self.set_stage(s, false);
        }
    }

    /// Cancels whatever a replica was waiting for (events, crew, queue place).
    fn cancel_pending(&mut self, r: u32) {
        let s = self.plan.replica_stage[r as usize] as usize;
        match self.replicas[r as usize].state {
            ReplicaState::Restarting if self.plan.stages[s].crews > 0 => {
                self.stages[s].busy_crews -= 1
            }
            ReplicaState::Queued => self.stages[s].waiting.retain(|q| *q != r),
            _ => {}
        }
        let rep = &mut self.replicas[r as usize];
        rep.generation = rep.generation.wrapping_add(1);
    }

    #[inline(always)]
    fn fail(&mut self, r: u32, mode: usize) {
        let s = self.plan.replica_stage[r as usize] as usize;
        self.stages[s].failures += 1;
        let cause = self.plan.stages[s].modes[mode].cause;
        let persists = self.plan.stages[s].modes[mode]
            .persists
            .as_ref()
            .map(|d| d.sample(&mut self.rng));
        self.leave_ready(r, cause);
        let now = self.queue.now();
        let plan = &self.plan.stages[s].modes[mode];
        let rep = &mut self.replicas[r as usize];
        rep.state = ReplicaState::Down;
        rep.fail_time = now;
        if let Some(p) = persists {
            rep.fix_time = now + p;
            (rep.fix_mode, rep.fix_start) = (mode as u16, now);
        }
        (rep.clock, rep.clock_start) = (Clock::Detect(mode as u16), now);
        let g = rep.generation;
        let delay = match &plan.detect {
            Detect::Exit => {
                self.note(r, "failed");
                self.detected(r);
                return;
            }
            Detect::Liveness => {
                let probe = self.plan.stages[s]
                    .liveness
                    .expect("validated: liveness detection has a probe");
                probe.detection_delay(unit_interval(&mut self.rng))
            }
            Detect::After(d) => d.sample(&mut self.rng),
        };
        self.note(r, "failed");
        self.queue.schedule(delay, EventKind::Detected, r, g, 0);
    }

    #[inline(always)]
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
            rep.clock = Clock::Fixed;
            let g = rep.generation;
            self.queue.schedule(delay, EventKind::BackoffEnd, r, g, 0);
            self.note(r, "backing_off");
        } else {
            self.request_restart(r, Start::AfterCrash);
        }
    }

    #[inline(always)]
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
            self.note(r, "queued");
        }
    }

    #[inline(always)]
    fn start_restart(&mut self, r: u32, start: Start) {
        let s = self.plan.replica_stage[r as usize] as usize;
        if self.plan.stages[s].crews > 0 {
            self.stages[s].busy_crews += 1;
        }
        let now = self.queue.now();
        let rep = &mut self.replicas[r as usize];
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
        let plan = &self.plan.stages[s];
        let d = match start {
            Start::NewPod => plan.recreate.as_ref(),
            _ => plan.restart.as_ref(),
        }
        .expect("validated: a stage that can go down has restart");
        let t = d.sample(&mut self.rng);
        self.queue.schedule(t, EventKind::RestartDone, r, g, 0);
        self.note(
            r,
            if start == Start::NewPod {
                "creating"
            } else {
                "restarting"
            },
        );
    }

    #[inline(always)]
    fn restart_done(&mut self, r: u32) {
        let s = self.plan.replica_stage[r as usize] as usize;
        if self.plan.stages[s].crews > 0 {
            self.stages[s].busy_crews -= 1;
            self.dispatch_crews(s);
        }
        let now = self.queue.now();
        let rep = &mut self.replicas[r as usize];
        if now < rep.fix_time {
            // The cause persists: it fails again the moment it would have been ready.
            rep.state = ReplicaState::Down;
            rep.fail_time = now;
            self.note(r, "crashed_again");
            self.detected(r);
            return;
        }
        rep.fix_time = f64::NEG_INFINITY;
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

    fn node_recover(&mut self, n: usize) {
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
    fn reschedule(&mut self, r: u32, event: &'static str) {
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

    fn maintenance_start(&mut self, s: usize) {
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
    fn fill_lanes(&mut self, s: usize) {
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
    fn surge_ready(&mut self, r: u32) {
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
        assert_eq!(copy.level(), original.level());
        assert_eq!(copy.downtime_so_far(), original.downtime_so_far());
        assert!(copy.queue.len() == original.queue.len());
        while original.step() {}
        while copy.step() {}
        assert_ne!(
            outcome_bits(&original.end()),
            outcome_bits(&copy.end()),
            "a redrawn future is a different future"
        );
    }
}
