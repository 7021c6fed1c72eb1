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
mod engine;
pub mod flow;
mod importance;
mod nodes;
mod outages;
mod plan;
pub mod queue;
mod replica;
mod rollout;
mod state;
mod timeline;
mod trace;

use std::sync::Arc;

use crate::model::Model;
use crate::units::Seconds;
pub use engine::{Engine, EngineChoice, HistoryRng, history_rng, splitmix64};
use flow::FlowState;
pub use importance::Importance;
use outages::OutageBook;
pub use plan::CauseName;
use plan::Plan;
use queue::EventQueue;
use replica::Replica;
pub use replica::ReplicaState;
use state::{StageState, State};
pub use timeline::TimelineSim;
pub use trace::TraceRecord;

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

impl Outcome<'_> {
    /// The history was stopped at [`MAX_EVENTS`]: its numbers are not a history's.
    pub fn over_budget(&self) -> bool {
        self.events > MAX_EVENTS
    }
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
            clear_at: state::CLEAR_AT_LEAST,
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

    /// Taking cancelled events out of the queue (on the HA model weekly rollouts stop
    /// failure clocks weeks before they would fire) leaves every history as it was, to
    /// the bit; the queue is shorter for it.
    #[test]
    fn clearing_cancelled_events_changes_no_history() {
        let model = Model::load(std::path::Path::new("models/ha.toml"), &[]).unwrap();
        let (mut cleared, mut kept) = (Simulator::new(&model), Simulator::new(&model));
        let (mut cleared_longest, mut kept_longest) = (0, 0);
        for index in 0..10 {
            cleared.start(3, index);
            kept.start(3, index);
            kept.st.clear_at = usize::MAX;
            while cleared.step() {
                cleared_longest = cleared_longest.max(cleared.st.queue.len());
            }
            while kept.step() {
                kept_longest = kept_longest.max(kept.st.queue.len());
            }
            let bits = |o: &Outcome<'_>| {
                let all = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let flow = [o.stale_or_down.to_bits(), o.produced.to_bits()];
                let parts = (all(o.stage_downtime), all(o.cause_downtime));
                (outcome_bits(o), flow, parts)
            };
            assert_eq!(bits(&cleared.end()), bits(&kept.end()), "history {index}");
        }
        assert!(
            kept_longest > 2 * cleared_longest,
            "queues of {cleared_longest} and {kept_longest}: nothing was cleared"
        );
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
