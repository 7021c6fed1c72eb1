//! Sweeps and reports: how availability responds to replicas, buffering and restart
//! times, as CSV/JSON rows, PNG charts and a page.

pub mod charts;
pub mod study;
pub mod sweep;
