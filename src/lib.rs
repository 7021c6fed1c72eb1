//! hasim: how available will a data pipeline on Kubernetes be over a year, and what would
//! make it better? A discrete-event Monte Carlo simulator of the pipeline A → B → C → D
//! with Kubernetes' restart rules, an analytic cross-check, and the command-line tool.
//!
//! Modules: [`model`] (model files), [`dist`] (distributions), [`sim`] (one history),
//! [`estimate`] (many histories: plain Monte Carlo, importance splitting, balanced failure
//! biasing, shards, and what a run reports), [`stats`] (streaming statistics and
//! intervals), [`analytic`] (steady state without simulation), [`cli`] (the commands).

pub mod advise;
pub mod analytic;
pub mod calibrate;
pub mod cli;
pub mod dist;
pub mod epistemic;
pub mod estimate;
pub mod fsio;
#[cfg(feature = "k8s")]
pub mod import;
pub mod model;
pub mod report;
pub mod schema;
pub mod sim;
pub mod stats;
pub mod units;
