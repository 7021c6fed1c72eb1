//! Calibration: restart times measured on real systems and fitted into distributions.
//!
//! [`probe`] measures what a user of InfluxDB sees; [`local`] injects faults into a local
//! process and [`k8s`] into a workload on a cluster; [`fit`] fits the samples (with
//! right-censoring) and [`file`] writes the calibration files models refer to.

pub mod events;
pub mod file;
pub mod fit;
pub mod history;
#[cfg(feature = "k8s")]
pub mod k8s;
pub mod local;
pub mod pods;
pub mod probe;
pub mod probe_metrics;
pub mod prometheus;
pub mod rates;
pub mod selector;
pub mod store;
