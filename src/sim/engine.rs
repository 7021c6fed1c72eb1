//! The random stream of each history, and the choice between the two engines.

use std::sync::Arc;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use super::plan::Plan;
use super::{Outcome, Simulator, TimelineSim};
use crate::model::Model;

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
