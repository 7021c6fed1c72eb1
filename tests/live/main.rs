//! The integration tests against real servers started on loopback (Debian's `influxd` and
//! `prometheus`) and timed to within a probe interval: a binary of their own, so they never
//! share the machine's two cores with the simulation tests of `tests/suite`.

#[path = "../common/mod.rs"]
mod common;

mod influx;
mod prometheus;
