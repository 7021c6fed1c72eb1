//! The model flattened for the simulator: stages, replicas, failure modes, rollouts,
//! nodes and the causes X can be given to.

use serde::Serialize;

use crate::dist::Dist;
use crate::model::{Backoff, Detect, Kind, Model, Probe, Spread, Volume};
use crate::units::Seconds;

pub(super) const NO_NODE: u32 = u32::MAX;

/// The model flattened for the simulator.
#[derive(Clone, Debug)]
pub(super) struct Plan {
    pub(super) horizon: Seconds,
    pub(super) stages: Vec<StagePlan>,
    /// The stage of each replica; a stage's replicas are contiguous.
    pub(super) replica_stage: Vec<u32>,
    /// Where each replica starts ([`NO_NODE`] for none, or when it starts Pending).
    pub(super) replica_home: Vec<u32>,
    /// Replicas that start Pending: required spread found no free node for them at t = 0.
    pub(super) starts_pending: Vec<bool>,
    pub(super) nodes: Vec<Option<(Dist, Dist)>>,
    pub(super) upgrades: Option<UpgradePlan>,
    /// The reader with a cache: (stage, max_staleness).
    pub(super) cache: Option<(usize, Seconds)>,
    pub(super) flow: Option<FlowPlan>,
    pub(super) cause_names: Vec<CauseName>,
    /// Cause index of each node's failures, and of its upgrades.
    pub(super) node_cause: Vec<u32>,
    pub(super) upgrade_cause: Vec<u32>,
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
    /// The data flow's source, collector or store: its replicas' readiness is a flow input.
    pub(super) feeds_flow: bool,
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
    /// Cause index of its maintenance, and of its replicas Pending from the start.
    pub(super) maintenance_cause: u32,
    pub(super) pending_cause: u32,
    /// Hard anti-affinity: never two of its Pods on one node.
    pub(super) spread_required: bool,
    /// A StatefulSet on local volumes: each Pod pinned to its first node.
    pub(super) local_volume: bool,
    /// A StatefulSet on network volumes: the wait before a Pod force-deleted off a dead
    /// node can start elsewhere (0 otherwise).
    pub(super) detach_wait: Seconds,
    /// The ready Pods its PodDisruptionBudget keeps through evictions.
    pub(super) pdb_desired: Option<u32>,
}

/// `[upgrades]`: node drains, one node at a time.
#[derive(Clone, Debug)]
pub(super) struct UpgradePlan {
    pub(super) every: Dist,
    pub(super) node_time: Dist,
    pub(super) pdb_timeout: Seconds,
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
    /// Deployment: `max_surge` and `max_unavailable`, resolved (rolling.go's arithmetic).
    pub(super) surge: u32,
    pub(super) unavailable: u32,
    /// StatefulSet and DaemonSet: replicas in replacement order, one at a time.
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
    /// A node drained by `[upgrades]`.
    Upgrade {
        node: String,
    },
    /// A replica Pending from the start: required spread found no free node for it.
    Pending {
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
            CauseName::Upgrade { node } => format!("upgrade {node}"),
            CauseName::Pending { stage } => format!("pending {stage}"),
            CauseName::Unattributed => "unattributed".into(),
        }
    }
}

impl Plan {
    /// The `[upgrades]` of a model that has them (what schedules every drain event).
    #[inline]
    pub(super) fn upgrade_plan(&self) -> &UpgradePlan {
        self.upgrades
            .as_ref()
            .expect("drain events come only from [upgrades]")
    }

    /// No replica's course depends on another's: no repair crews, no node that can fail
    /// or be drained, no rollout, no replica Pending for want of a node, no data flow, no
    /// reader cache. Then [`TimelineSim`] applies.
    pub(super) fn replicas_independent(&self) -> bool {
        self.flow.is_none()
            && self.cache.is_none()
            && self.upgrades.is_none()
            && !self.starts_pending.contains(&true)
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
            earliest_in(first..end, &down, &mut best);
        }
        best.1
    }

    /// The earliest-started of `stage`'s replicas down: when it stopped serving and why,
    /// as [`Plan::earliest_cause`] would find it among them (`(∞, Unattributed)` if
    /// none is down).
    #[inline]
    pub(super) fn earliest_down_in(
        &self,
        stage: usize,
        down: impl Fn(usize) -> Option<(Seconds, u32)>,
    ) -> (Seconds, u32) {
        let mut best = (f64::INFINITY, self.cause_names.len() as u32 - 1);
        let s = &self.stages[stage];
        earliest_in(s.first..s.first + s.replicas, &down, &mut best);
        best
    }

    pub(super) fn new(model: &Model) -> Self {
        let mut stages = vec![];
        let mut replica_stage = vec![];
        let mut replica_home = vec![];
        let mut starts_pending = vec![];
        let mut cause_names = vec![];
        for (si, s) in model.stages.iter().enumerate() {
            let first = replica_stage.len() as u32;
            let spread_required = s.spread == Some(Spread::Required);
            for r in 0..s.replicas {
                replica_stage.push(si as u32);
                let home = s.node_of(r).map_or(NO_NODE, |n| n as u32);
                // Required spread: a replica whose node already holds one of the stage's
                // Pods starts Pending (MODEL-SPEC.md "Placement").
                let taken = spread_required && r as usize >= s.nodes.len();
                replica_home.push(if taken { NO_NODE } else { home });
                starts_pending.push(taken);
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
                RolloutPlan {
                    every: m.every,
                    surge: m.max_surge.unwrap_or(0),
                    unavailable: m.max_unavailable.unwrap_or(1),
                    // A StatefulSet replaces its highest ordinal first.
                    order: if s.kind == Kind::StatefulSet {
                        ids.into_iter().rev().collect()
                    } else {
                        ids
                    },
                }
            });
            cause_names.push(CauseName::Maintenance {
                stage: s.name.clone(),
            });
            let maintenance_cause = cause_names.len() as u32 - 1;
            cause_names.push(CauseName::Pending {
                stage: s.name.clone(),
            });
            stages.push(StagePlan {
                first,
                replicas: s.replicas,
                min_ready: s.min_ready,
                crews: s.repair_crews,
                kind: s.kind,
                on_read_path: model.system.read_path.contains(&si),
                feeds_flow: model
                    .system
                    .flow
                    .as_ref()
                    .is_some_and(|f| [f.source, f.collector, f.store].contains(&si)),
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
                maintenance_cause,
                pending_cause: cause_names.len() as u32 - 1,
                spread_required,
                local_volume: s.volume == Some(Volume::Local),
                detach_wait: s.detach_wait.unwrap_or(0.0),
                pdb_desired: s.pdb.map(|p| p.desired(s.replicas)),
            });
        }
        let mut node_cause = vec![];
        let mut upgrade_cause = vec![];
        for n in &model.nodes {
            cause_names.push(CauseName::Node {
                node: n.name.clone(),
            });
            node_cause.push(cause_names.len() as u32 - 1);
            cause_names.push(CauseName::Upgrade {
                node: n.name.clone(),
            });
            upgrade_cause.push(cause_names.len() as u32 - 1);
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
            starts_pending,
            upgrades: model.upgrades.as_ref().map(|u| UpgradePlan {
                every: u.every.clone(),
                node_time: u.node_time.clone(),
                pdb_timeout: u.pdb_timeout,
            }),
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
            upgrade_cause,
            stage_names: model.stages.iter().map(|s| s.name.clone()).collect(),
            node_names: model.nodes.iter().map(|n| n.name.clone()).collect(),
        }
    }
}

/// Lowers `best` (when, cause) to the earliest-started of `replicas` down; the first on
/// a tie.
#[inline(always)]
fn earliest_in(
    replicas: std::ops::Range<u32>,
    down: impl Fn(usize) -> Option<(Seconds, u32)>,
    best: &mut (Seconds, u32),
) {
    for r in replicas {
        if let Some((since, cause)) = down(r as usize)
            && since < best.0
        {
            *best = (since, cause);
        }
    }
}
