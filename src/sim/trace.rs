//! `hasim trace`: the event log of one history.

use serde::Serialize;

use super::Simulator;
use super::flow::FlowState;
use crate::units::Seconds;

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

impl Simulator {
    #[inline(always)]
    pub(super) fn note(&mut self, r: u32, event: &'static str) {
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
    pub(super) fn note_node(&mut self, n: usize, event: &'static str) {
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
    pub(super) fn note_stage(&mut self, s: usize, up: bool) {
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
    pub(super) fn note_system(&mut self, state: &'static str) {
        self.note_system_event("judged", state);
    }

    #[inline(always)]
    pub(super) fn note_system_event(&mut self, event: &'static str, state: &'static str) {
        if self.trace.is_some() {
            self.record(String::new(), "system".into(), event, state.into());
        }
    }

    /// Appends a trace line at the current time (only called while tracing).
    #[cold]
    #[inline(never)]
    pub(super) fn record(
        &mut self,
        stage: String,
        replica: String,
        event: &'static str,
        state: String,
    ) {
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
}
