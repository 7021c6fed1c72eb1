//! The event engine's state of one history and its loop: the replicas, stages and nodes
//! as they are now, the future events, the book of outages; [`State::advance`] handles
//! the next instant's events and judges the read path after them. The handlers that
//! change a replica, a node, a rollout or a drain are in `replica.rs`, `nodes.rs`,
//! `rollout.rs` and `drain.rs`; they all take the immutable [`Plan`] as an argument.

use crate::dist::{Dist, unit_interval};
use crate::model::Detect;
use crate::units::Seconds;

use super::flow::FlowState;
use super::outages::{NO_CAUSE, OutageBook};
use super::plan::{NO_NODE, Plan};
use super::queue::{self, EventKind, EventQueue};
use super::replica::{Clock, Replica, ReplicaState, Start};
use super::{HistoryRng, MAX_EVENTS, Outcome, TraceRecord, drain, history_rng};

/// The queue's shortest length at which its cancelled events are cleared out.
pub(super) const CLEAR_AT_LEAST: usize = 16;

#[derive(Clone, Debug, Default)]
pub(super) struct StageState {
    pub(super) ready: u32,
    pub(super) up: bool,
    pub(super) down_since: Seconds,
    pub(super) downtime: Seconds,
    pub(super) failures: u64,
    pub(super) busy_crews: u32,
    pub(super) waiting: std::collections::VecDeque<u32>,
    /// Where the stage's round-robin placement goes on: the index into its nodes of the
    /// next node to try.
    pub(super) placement_cursor: u32,
    pub(super) rollout_active: bool,
    /// StatefulSet, DaemonSet: the next replica of the rollout, and replacements running.
    pub(super) rollout_next: u32,
    pub(super) kill_busy: u32,
}

/// What changes as a history runs. Its handlers take the plan as an argument (`&Plan`)
/// rather than through `self`: a shared reference that nothing writes, so the compiler
/// keeps what it read of the plan across the handlers' writes to the state instead of
/// reloading it (with its bounds checks) after every one.
pub(super) struct State {
    pub(super) queue: EventQueue,
    pub(super) replicas: Vec<Replica>,
    pub(super) stages: Vec<StageState>,
    /// Each node is ready (neither failed nor down for its upgrade), failed, down for its
    /// upgrade, cordoned by a drain.
    pub(super) node_up: Vec<bool>,
    pub(super) node_failed: Vec<bool>,
    pub(super) node_upgrading: Vec<bool>,
    pub(super) node_cordoned: Vec<bool>,
    pub(super) node_generation: Vec<u32>,
    /// When each node's pending failure or recovery delay began.
    pub(super) node_clock_start: Vec<Seconds>,
    /// Scratch for placement: the Pods of one stage on each node.
    pub(super) node_load: Vec<u32>,
    pub(super) drain: drain::Drain,
    /// A stage's Pods changed while its Deployment rollout or a drain is on: their rules
    /// are applied again once the event's handler is done.
    pub(super) pods_dirty: bool,
    pub(super) rng: HistoryRng,
    /// The queue's length at which its cancelled events are cleared out (see
    /// [`State::clear_cancelled`]).
    pub(super) clear_at: usize,
    /// Read-path stages down (the cached reader excluded).
    pub(super) path_down: u32,
    pub(super) cache_until: Seconds,
    pub(super) cache_generation: u32,
    pub(super) flow: Option<FlowState>,
    /// A replica became or stopped being ready, or a node went down or came back, since
    /// the flow was last told: else its inputs are as they were (see `sync_flow`).
    pub(super) flow_dirty: bool,
    pub(super) fresh_generation: u32,
    pub(super) fresh_check: Seconds,
    pub(super) book: OutageBook,
    pub(super) fresh: bool,
    pub(super) stale_start: Seconds,
    pub(super) stale_or_down: Seconds,
    pub(super) events: u64,
    pub(super) stage_downtime: Vec<Seconds>,
    pub(super) stage_failures: Vec<u64>,
    pub(super) trace: Option<Vec<TraceRecord>>,
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
            clear_at: self.clear_at,
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
            clear_at,
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
        self.clear_at = *clear_at;
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

impl State {
    pub(super) fn run(&mut self, plan: &Plan, seed: u64, index: u64) -> Outcome<'_> {
        self.start(plan, seed, index);
        self.run_to_horizon(plan);
        self.finish(plan.horizon)
    }

    pub(super) fn start(&mut self, plan: &Plan, seed: u64, index: u64) {
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
    pub(super) fn step(&mut self, plan: &Plan) -> bool {
        self.advance(plan, plan.horizon)
    }

    #[inline(always)]
    fn advance(&mut self, plan: &Plan, horizon: Seconds) -> bool {
        // Events applied this instant: an instant of cancelled events only (a failure
        // clock stopped by a node loss, a freshness check made moot) changes nothing to
        // judge.
        let before = self.events;
        while let Some(ev) = self.queue.begin() {
            if ev.at_or_after(horizon) {
                return false;
            }
            self.apply(plan, ev);
            self.queue.commit();
            if self.queue.len() >= self.clear_at {
                self.clear_cancelled();
            }
            if self.events > MAX_EVENTS {
                return false;
            }
            if self.queue.next_after_instant_of(&ev) {
                if self.events != before {
                    self.judge(plan, ev.time());
                }
                return true;
            }
        }
        false
    }

    pub(super) fn end(&mut self, plan: &Plan) -> Outcome<'_> {
        self.finish(plan.horizon)
    }

    pub(super) fn reseed(&mut self, rng: HistoryRng) {
        self.rng = rng;
    }

    pub(super) fn downtime_so_far(&self) -> Seconds {
        self.book.downtime_until(self.queue.now())
    }

    pub(super) fn cause_downtime_so_far(&self, out: &mut [Seconds]) {
        self.book.cause_downtime_until(self.queue.now(), out);
    }

    pub(super) fn stage_downtime_so_far(&self, out: &mut [Seconds]) {
        let now = self.queue.now();
        for (o, s) in out.iter_mut().zip(&self.stages) {
            *o = s.downtime + if s.up { 0.0 } else { now - s.down_since };
        }
    }

    pub(super) fn ended_outages(&self) -> (u64, f64) {
        self.book.ended()
    }

    pub(super) fn events(&self) -> u64 {
        self.events
    }

    pub(super) fn parts(&self) -> usize {
        self.replicas.len() + self.node_up.len()
    }

    fn reset(&mut self, plan: &Plan) {
        self.queue.reset();
        self.clear_at = CLEAR_AT_LEAST;
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

    pub(super) fn outcome(&self) -> Outcome<'_> {
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

    /// Takes the cancelled events out of the queue. They would be skipped when their
    /// time came (a failure clock stopped by a rollout or a node loss is weeks off), but
    /// until then every sift walks past them: on the HA model they were half the queue.
    /// The order of the events left is their order before (time, then sequence number),
    /// so the history is the same. The next clearing waits until the queue has doubled.
    /// (A splitting copy redraws its clocks in the queue's order, so which draw goes to
    /// which clock depends on what was cleared: the same law, other draws.)
    #[cold]
    #[inline(never)]
    fn clear_cancelled(&mut self) {
        let mut events = self.queue.take_events();
        events.retain(|e| self.is_current(e));
        self.clear_at = (2 * events.len()).max(CLEAR_AT_LEAST);
        self.queue.restore_events(events);
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

    pub(super) fn resample_clocks(&mut self, plan: &Plan) {
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
            let time = match e.kind {
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
            e.set_time(time);
        }
        // A surge Pod that takes an old Pod's place keeps its redrawn ready time.
        for e in &events {
            if e.kind == EventKind::SurgeReady && self.is_current(e) {
                self.replicas[e.target as usize].surge_done = e.time();
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
            self.sync_flow(plan, ev.time(), ev.kind == EventKind::FreshCheck);
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
        if !check && !self.flow_dirty {
            // Nothing the flow reads changed; debug builds (the tests) check that it is so.
            #[cfg(debug_assertions)]
            self.sync_flow_as::<0, 0>(plan, t, check);
            return;
        }
        // Flows of up to three collector and three store replicas (a Telegraf DaemonSet
        // on a three-node cluster, two or three store copies) run code compiled for their
        // shape, larger ones the general code: the same steps, the same results.
        let shape = self.flow.as_ref().map_or((0, 0), FlowState::replicas);
        match shape {
            (1, 1) => self.sync_flow_as::<1, 1>(plan, t, check),
            (1, 2) => self.sync_flow_as::<1, 2>(plan, t, check),
            (1, 3) => self.sync_flow_as::<1, 3>(plan, t, check),
            (2, 1) => self.sync_flow_as::<2, 1>(plan, t, check),
            (2, 2) => self.sync_flow_as::<2, 2>(plan, t, check),
            (2, 3) => self.sync_flow_as::<2, 3>(plan, t, check),
            (3, 1) => self.sync_flow_as::<3, 1>(plan, t, check),
            (3, 2) => self.sync_flow_as::<3, 2>(plan, t, check),
            (3, 3) => self.sync_flow_as::<3, 3>(plan, t, check),
            _ => self.sync_flow_as::<0, 0>(plan, t, check),
        }
    }

    /// [`State::sync_flow`] for a flow of `NC` collector and `NS` store replicas (0: as
    /// many as it has; see `FlowState::shape`). Each shape is a function of its own:
    /// inlined into one, the nine lost half of what they gain.
    #[inline(never)]
    fn sync_flow_as<const NC: usize, const NS: usize>(
        &mut self,
        plan: &Plan,
        t: Seconds,
        check: bool,
    ) {
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
        if !check
            && (!dirty || flow.same_inputs_as::<NC, NS>(collector_ready, producing, store_ready))
        {
            return;
        }
        flow.advance_as::<NC, NS>(t);
        flow.sync_as::<NC, NS>(collector_ready, producing, store_ready);
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
