//! hasim: how available will a data pipeline on Kubernetes be over a year, and what would
//! make it better? A discrete-event Monte Carlo simulator of the pipeline A → B → C → D
//! with Kubernetes' restart rules, an analytic cross-check, and the command-line tool.
//!
//! Modules: [`model`] (model files), [`dist`] (distributions), [`sim`] (one history),
//! [`montecarlo`] (many histories), [`stats`] (streaming statistics and intervals),
//! [`results`] (what a run reports), [`analytic`] (steady state without simulation),
//! [`rare`] and [`splitting`] (outages too rare for plain simulation),
//! [`cli`] (the commands).

pub mod analytic;
pub mod calibrate;
pub mod cli;
pub mod dist;
pub mod fsio;
pub mod model;
pub mod montecarlo;
pub mod rare;
pub mod report;
pub mod results;
pub mod shard;
pub mod sim;
pub mod splitting;
pub mod stats;
pub mod units;
