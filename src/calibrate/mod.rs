//! Calibration: turning measured restart times into fitted distributions.
//!
//! So far: maximum-likelihood fitting with right-censoring ([`fit`]). The probe, fault
//! injection (local and Kubernetes) and calibration files are still to come.

pub mod file;
pub mod fit;
pub mod local;
pub mod probe;
