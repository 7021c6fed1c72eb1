//! `hasim trace`: the event log of one history.

use serde::Serialize;

use super::{Plan, State};
use crate::units::Seconds;

/// One line of `hasim trace`: what happened and the state after it.
#[derive(Clone, Debug, Serialize)]
pub struct TraceRecord {
    pub time: Seconds,
    /// `time` as days and a clock: `12d 03:04:05.120`.
    pub at: String,
    /// The stage, or empty for node and system events.
    pub stage: String,
    /// The replica index within its stage, or the node's name for node events.
    pub replica: String,
    /// The replica's node after the event (empty when it has none), or the node of a node
    /// event.
    pub node: String,
    /// What happened; a failure names its mode (`failed crash`, `failed hang`).
    pub event: String,
    /// The replica's state after the event ("up"/"down" for nodes and stages, the
    /// system's for system events).
    pub state: String,
    /// Metrics held in collector buffers after the event (with a data flow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffered: Option<f64>,
}

impl State {
    #[inline(always)]
    pub(super) fn note(&mut self, plan: &Plan, r: u32, event: &'static str) {
        if self.trace.is_some() {
            self.note_replica(plan, r, event.to_string());
        }
    }

    /// A failure of replica `r` by mode `mode`: `failed MODE`.
    #[inline(always)]
    pub(super) fn note_failed(&mut self, plan: &Plan, r: u32, mode: usize) {
        if self.trace.is_some() {
            let s = plan.replica_stage[r as usize] as usize;
            let name = match &plan.cause_names[plan.stages[s].modes[mode].cause as usize] {
                super::CauseName::Failure { mode, .. } => mode.clone(),
                other => other.label(),
            };
            self.note_replica(plan, r, format!("failed {name}"));
        }
    }

    #[cold]
    #[inline(never)]
    fn note_replica(&mut self, plan: &Plan, r: u32, event: String) {
        let s = plan.replica_stage[r as usize] as usize;
        let rep = &self.replicas[r as usize];
        let state = serde_json::to_value(rep.state)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let node = self.node_name(plan, rep.node);
        let replica = (r - plan.stages[s].first).to_string();
        self.record(plan.stage_names[s].clone(), replica, node, event, state);
    }

    fn node_name(&self, plan: &Plan, n: u32) -> String {
        plan.node_names.get(n as usize).cloned().unwrap_or_default()
    }

    /// A stage's own event (up or down, a rollout starting or done), with its state.
    #[inline(always)]
    pub(super) fn note_stage_event(&mut self, plan: &Plan, s: usize, event: &'static str) {
        if self.trace.is_some() {
            let state = if self.stages[s].up { "up" } else { "down" };
            self.record(
                plan.stage_names[s].clone(),
                String::new(),
                String::new(),
                event.into(),
                state.into(),
            );
        }
    }

    #[inline(always)]
    pub(super) fn note_node(&mut self, plan: &Plan, n: usize, event: &'static str) {
        if self.trace.is_some() {
            let state = if self.node_up[n] { "up" } else { "down" };
            let name = plan.node_names[n].clone();
            self.record(
                String::new(),
                name.clone(),
                name,
                event.into(),
                state.into(),
            );
        }
    }

    /// A stage went up or down (called once its state is set).
    #[inline(always)]
    pub(super) fn note_stage(&mut self, plan: &Plan, s: usize, up: bool) {
        self.note_stage_event(plan, s, if up { "stage_up" } else { "stage_down" });
    }

    #[inline(always)]
    pub(super) fn note_system(&mut self, state: &'static str) {
        self.note_system_event("judged", state);
    }

    #[inline(always)]
    pub(super) fn note_system_event(&mut self, event: &'static str, state: &'static str) {
        if self.trace.is_some() {
            self.record(
                String::new(),
                "system".into(),
                String::new(),
                event.into(),
                state.into(),
            );
        }
    }

    /// Appends a trace line at the current time (only called while tracing).
    #[cold]
    #[inline(never)]
    pub(super) fn record(
        &mut self,
        stage: String,
        replica: String,
        node: String,
        event: String,
        state: String,
    ) {
        let time = self.queue.now();
        let record = TraceRecord {
            time,
            at: crate::units::format_offset(time),
            stage,
            replica,
            node,
            event,
            state,
            buffered: self.flow.as_ref().map(|f| f.buffered_at(time)),
        };
        if let Some(t) = &mut self.trace {
            t.push(record);
        }
    }
}
