//! How close a history is to an outage, for importance splitting: the most replicas
//! lost in one read-path stage, by one of two ways of counting ([`Importance`]).

use super::State;
use super::plan::{self, Plan};
use super::replica::{Replica, ReplicaState};

/// What counts as a replica lost when importance splitting measures how close the read
/// path is to an outage ([`Simulator::level`](super::Simulator::level)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Importance {
    /// Every replica not ready.
    NotReady,
    /// Only a replica whose return waits on something slower than its own container (its
    /// node down, no node for it, its volume held by a dead node, or a repair crew), and
    /// ready replicas that share a node with another (one node's loss would take them
    /// together). Where restarts of seconds are frequent and outages come from node
    /// losses, this level rises only when an outage has become likely.
    Held,
}

impl Importance {
    /// What the level counts, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Importance::NotReady => "replicas not ready",
            Importance::Held => {
                "replicas held (node down, no node, volume, crew) or sharing a node"
            }
        }
    }
}

/// A stage's replicas held (see [`Importance::Held`]), plus those one node's loss would
/// take together with another: the ready replicas on the node that has the most of them,
/// but one. (Counted for up to [`EXPOSED_SCAN`] replicas; beyond, held ones only.)
fn held_or_exposed(replicas: &[Replica]) -> u32 {
    let held = replicas.iter().filter(|r| r.held()).count() as u32;
    if replicas.len() > EXPOSED_SCAN {
        return held;
    }
    let ready_on = |n: u32| {
        replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Ready && r.node == n)
            .count() as u32
    };
    let most = replicas
        .iter()
        .filter(|r| r.state == ReplicaState::Ready && r.node != plan::NO_NODE)
        .map(|r| ready_on(r.node))
        .max()
        .unwrap_or(0);
    held + most.saturating_sub(1)
}

/// The most replicas of one stage [`held_or_exposed`] looks at for replicas sharing a node.
const EXPOSED_SCAN: usize = 64;

impl State {
    pub(super) fn level(&self, plan: &Plan, by: Importance) -> u32 {
        let top = plan.top_level;
        if !self.book.readable {
            return top;
        }
        let mut worst = 0;
        for &(s, first, end) in &plan.path_replicas {
            let (st, stage) = (&self.stages[s as usize], &plan.stages[s as usize]);
            if !st.up {
                return top;
            }
            let lost = match by {
                Importance::NotReady => stage.replicas.saturating_sub(st.ready),
                Importance::Held => held_or_exposed(&self.replicas[first as usize..end as usize]),
            };
            worst = worst.max(lost);
        }
        worst.min(top - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use crate::sim::Simulator;

    /// Replicas sharing a node count as lost to `held` (one node's loss takes them
    /// together), not to `not-ready`; a node's loss holds its replicas.
    #[test]
    fn held_counts_replicas_held_by_a_node_and_replicas_sharing_one() {
        let text = r#"name = "pile-up"
[simulation]
horizon = "1y"
[system]
read_path = ["D"]
[[nodes]]
name = "n1"
every = { dist = "exponential", mean = "30d" }
recovery = { dist = "lognormal", median = "20m", sigma = 0.8 }
[stages.D]
kind = "deployment"
replicas = 3
min_ready = 1
nodes = ["n1"]
restart = { dist = "lognormal", median = "5s", sigma = 0.5 }
failure = { dist = "exponential", mean = "60d" }
"#;
        let model = Model::from_str("t.toml", text, std::path::Path::new("."), &[]).unwrap();
        let mut sim = Simulator::new(&model);
        assert!(sim.can_hold());
        sim.start(1, 0);
        // Three ready replicas on one node: two more than one node should hold.
        assert_eq!(sim.level(Importance::NotReady), 0);
        assert_eq!(sim.level(Importance::Held), 2);
        // Until the node fails: then all three are held and the read path is down.
        while sim.step() {
            if !sim.st.node_up[0] {
                break;
            }
        }
        assert!(!sim.st.node_up[0], "the node fails within the year");
        assert_eq!(sim.level(Importance::Held), sim.top_level());
        assert_eq!(sim.level(Importance::NotReady), sim.top_level());
    }

    /// Both ways of counting put a history at the top level at the same instants (while
    /// it is unreadable), and below it otherwise.
    #[test]
    fn both_importances_reach_the_top_exactly_while_unreadable() {
        let model = Model::load(std::path::Path::new("models/ha.toml"), &[]).unwrap();
        let mut sim = Simulator::new(&model);
        let top = sim.top_level();
        let mut seen_top = 0;
        for i in 0..400 {
            sim.start(3, i);
            while sim.step() {
                let (a, b) = (sim.level(Importance::NotReady), sim.level(Importance::Held));
                assert_eq!(a == top, b == top, "history {i}");
                assert_eq!(a == top, !sim.st.book.readable, "history {i}");
                seen_top += u32::from(a == top);
            }
        }
        assert!(seen_top > 0, "some history reaches an outage");
    }
}
