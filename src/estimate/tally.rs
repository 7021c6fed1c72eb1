//! What a run accumulates over its histories, whatever estimated them: the plain
//! histories of [`super::plain`], the main histories of [`super::splitting`], and the
//! blocks of [`super::shard`]'s parts.

use crate::model::Model;
use crate::sim::Outcome;
use crate::stats::{Histogram, Moments, Ratio};

/// Everything a run accumulates; merge tallies in replication order.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    pub horizon: f64,
    /// Per-history unavailability X/Y.
    pub unavailability: Moments,
    /// Per-history X in seconds, for quantiles.
    pub downtime: Histogram,
    pub outages: Moments,
    /// Histories with at least one outage.
    pub with_outage: u64,
    /// Histories that met the SLO (when the model has one).
    pub slo_met: u64,
    slo_max_downtime: Option<f64>,
    pub stage_unavailability: Vec<Moments>,
    pub stage_failures: Vec<Moments>,
    /// Per-history fraction of time not fresh (down or stale), with a freshness.
    pub stale_or_down: Moments,
    /// Per-history kept / produced, with a data flow.
    pub completeness: Moments,
    /// Per-history metrics lost, with a data flow.
    pub lost: Moments,
    /// Per-history X attributed to each cause, seconds (see `sim::cause_names`).
    pub causes: Vec<Moments>,
    /// Per history, each cause's X beside all causes' X: its share, with an interval.
    #[serde(default)]
    pub cause_shares: Vec<Ratio>,
    pub events: u64,
    /// With [`Hooks::paired`]: per history, X of this model minus X of the paired one
    /// from the same random streams, seconds (empty otherwise).
    #[serde(default)]
    pub paired: Moments,
    /// With [`Hooks::paired`] and a data flow: per history, metrics lost by this model
    /// minus those lost by the paired one.
    #[serde(default)]
    pub paired_lost: Moments,
}

impl Tally {
    pub fn new(model: &Model) -> Self {
        let n = model.stages.len();
        let horizon = model.simulation.horizon;
        Tally {
            horizon,
            unavailability: Moments::default(),
            downtime: Histogram::new(horizon),
            outages: Moments::default(),
            with_outage: 0,
            slo_met: 0,
            slo_max_downtime: model.system.slo.map(|slo| (1.0 - slo) * horizon),
            stage_unavailability: vec![Moments::default(); n],
            stage_failures: vec![Moments::default(); n],
            stale_or_down: Moments::default(),
            completeness: Moments::default(),
            lost: Moments::default(),
            causes: vec![Moments::default(); crate::sim::cause_names(model).len()],
            cause_shares: vec![Ratio::default(); crate::sim::cause_names(model).len()],
            events: 0,
            paired: Moments::default(),
            paired_lost: Moments::default(),
        }
    }

    pub fn push(&mut self, o: &Outcome<'_>) {
        self.unavailability.push(o.downtime / self.horizon);
        self.downtime.push(o.downtime);
        self.outages.push(o.outages as f64);
        self.with_outage += u64::from(o.outages > 0);
        if let Some(max) = self.slo_max_downtime {
            self.slo_met += u64::from(o.downtime <= max);
        }
        for (m, d) in self.stage_unavailability.iter_mut().zip(o.stage_downtime) {
            m.push(d / self.horizon);
        }
        for (m, f) in self.stage_failures.iter_mut().zip(o.stage_failures) {
            m.push(*f as f64);
        }
        self.stale_or_down.push(o.stale_or_down / self.horizon);
        self.completeness.push(if o.produced > 0.0 {
            1.0 - o.lost / o.produced
        } else {
            1.0
        });
        self.lost.push(o.lost);
        for (m, c) in self.causes.iter_mut().zip(o.cause_downtime) {
            m.push(*c);
        }
        let all: f64 = o.cause_downtime.iter().sum();
        for (m, c) in self.cause_shares.iter_mut().zip(o.cause_downtime) {
            m.push(*c, all);
        }
        self.events += o.events;
    }

    pub fn merge(&mut self, o: &Tally) {
        self.unavailability.merge(&o.unavailability);
        self.downtime.merge(&o.downtime);
        self.outages.merge(&o.outages);
        self.with_outage += o.with_outage;
        self.slo_met += o.slo_met;
        for (a, b) in self
            .stage_unavailability
            .iter_mut()
            .zip(&o.stage_unavailability)
        {
            a.merge(b);
        }
        for (a, b) in self.stage_failures.iter_mut().zip(&o.stage_failures) {
            a.merge(b);
        }
        self.stale_or_down.merge(&o.stale_or_down);
        self.completeness.merge(&o.completeness);
        self.lost.merge(&o.lost);
        for (a, b) in self.causes.iter_mut().zip(&o.causes) {
            a.merge(b);
        }
        for (a, b) in self.cause_shares.iter_mut().zip(&o.cause_shares) {
            a.merge(b);
        }
        self.events += o.events;
        self.paired.merge(&o.paired);
        self.paired_lost.merge(&o.paired_lost);
    }

    pub fn replications(&self) -> u64 {
        self.unavailability.n
    }

    /// Refuses a tally (read from a part) that `n` histories of `model` cannot have made:
    /// the wrong shape, counts that disagree, means outside their range, impossible
    /// second moments. Names the statistic.
    pub fn check(&self, model: &Model, n: u64) -> Result<(), String> {
        let like = Tally::new(model);
        let h = like.horizon;
        if self.horizon != h {
            return Err(format!(
                "horizon {} s where the model has {h} s",
                self.horizon
            ));
        }
        if self.stage_unavailability.len() != like.stage_unavailability.len()
            || self.stage_failures.len() != like.stage_failures.len()
            || self.causes.len() != like.causes.len()
            || self.cause_shares.len() != like.cause_shares.len()
        {
            return Err("statistics for other stages or causes than the model's".into());
        }
        if self.slo_max_downtime != like.slo_max_downtime {
            return Err("another SLO than the model's".into());
        }
        let at = |what: &str, r: Result<(), String>| r.map_err(|e| format!("{what}: {e}"));
        at("unavailability", self.unavailability.check(n, 0.0, 1.0))?;
        at("downtime", self.downtime.check(n, h))?;
        at("outages", self.outages.check(n, 0.0, f64::INFINITY))?;
        for (what, count) in [("with_outage", self.with_outage), ("slo_met", self.slo_met)] {
            if count > n {
                return Err(format!("{what}: {count} of {n} histories"));
            }
        }
        for m in &self.stage_unavailability {
            at("stage_unavailability", m.check(n, 0.0, 1.0))?;
        }
        for m in &self.stage_failures {
            at("stage_failures", m.check(n, 0.0, f64::INFINITY))?;
        }
        at("stale_or_down", self.stale_or_down.check(n, 0.0, 1.0))?;
        at("completeness", self.completeness.check(n, 0.0, 1.0))?;
        at("lost", self.lost.check(n, 0.0, f64::INFINITY))?;
        for m in &self.causes {
            at("causes", m.check(n, 0.0, h))?;
        }
        for m in &self.cause_shares {
            if m.n != n
                || !(m.mean_x.is_finite() && m.mean_y.is_finite())
                || m.mean_x > m.mean_y * (1.0 + 1e-9) + 1e-9
            {
                return Err(format!(
                    "cause_shares: a share of {} histories that {n} cannot have",
                    m.n
                ));
            }
        }
        // A part never pairs: its histories are its own model's.
        at("paired", self.paired.check(0, -h, h))?;
        at(
            "paired_lost",
            self.paired_lost.check(0, f64::NEG_INFINITY, f64::INFINITY),
        )?;
        Ok(())
    }
}
