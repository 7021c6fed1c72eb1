//! The model flattened for the simulator: stages, replicas, failure modes, rollouts,
//! nodes and the causes X can be given to.

use serde::Serialize;

use crate::dist::Dist;
use crate::model::{Backoff, Detect, Kind, Model, Probe};
use crate::units::Seconds;

pub(super) const NO_NODE: u32 = u32::MAX;

/// The model flattened for the simulator.
#[derive(Clone, Debug)]
pub(super) struct Plan {
    pub(super) horizon: Seconds,
    pub(super) stages: Vec<StagePlan>,
    /// The stage of each replica; a stage's replicas are contiguous.
    pub(super) replica_stage: Vec<u32>,
    /// Where each replica starts.
    pub(super) replica_home: Vec<u32>,
    pub(super) nodes: Vec<Option<(Dist, Dist)>>,
    /// The reader with a cache: (stage, max_staleness).
    pub(super) cache: Option<(usize, Seconds)>,
    pub(super) flow: Option<FlowPlan>,
    pub(super) cause_names: Vec<CauseName>,
    /// Cause index of each node.
    pub(super) node_cause: Vec<u32>,
    /// Read-path stages and their replicas: (stage, first replica, end).
    pub(super) path_replicas: Vec<(u32, u32, u32)>,
    /// The importance level of an outage (see [`Simulator::level`]).
    pub(super) top_level: u32,
    pub(super) stage_names: Vec<String>,
    pub(super) node_names: Vec<String>,
}

#[derive(Clone, Debug)]
pub(super) struct FlowPlan {
    pub(super) source: usize,
    pub(super) collector: usize,
    pub(super) store: usize,
    pub(super) collector_daemonset: bool,
    pub(super) share: f64,
    pub(super) buffer: crate::model::Buffer,
    pub(super) retention: Seconds,
    pub(super) freshness: Option<Seconds>,
}

#[derive(Clone, Debug)]
pub(super) struct StagePlan {
    pub(super) first: u32,
    pub(super) replicas: u32,
    pub(super) min_ready: u32,
    pub(super) crews: u32,
    pub(super) kind: Kind,
    pub(super) on_read_path: bool,
    pub(super) restart: Option<Dist>,
    pub(super) recreate: Option<Dist>,
    pub(super) shutdown: Seconds,
    pub(super) eviction_delay: Seconds,
    pub(super) operator_response: Option<Dist>,
    pub(super) backoff: Option<Backoff>,
    pub(super) liveness: Option<Probe>,
    pub(super) modes: Vec<ModePlan>,
    pub(super) nodes: Vec<u32>,
    pub(super) rollout: Option<RolloutPlan>,
    /// Cause index of its maintenance.
    pub(super) maintenance_cause: u32,
}

#[derive(Clone, Debug)]
pub(super) struct ModePlan {
    pub(super) every: Dist,
    pub(super) detect: Detect,
    pub(super) persists: Option<Dist>,
    pub(super) cause: u32,
}

#[derive(Clone, Debug)]
pub(super) struct RolloutPlan {
    pub(super) every: Seconds,
    pub(super) surge_lanes: u32,
    pub(super) kill_lanes: u32,
    /// The old Pod must be gone before the new one is created.
    pub(super) wait_shutdown: bool,
    /// Replicas in replacement order.
    pub(super) order: Vec<u32>,
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

impl Plan {
    /// No replica's course depends on another's: no repair crews, no node that can fail,
    /// no rollout, no data flow, no reader cache. Then [`TimelineSim`] applies.
    pub(super) fn replicas_independent(&self) -> bool {
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
    pub(super) fn earliest_cause(
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

    pub(super) fn new(model: &Model) -> Self {
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
