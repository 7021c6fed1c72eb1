//! Four ways to estimate one report of a model: plain Monte Carlo over histories
//! ([`plain`]), importance splitting on the same histories ([`splitting`]), balanced
//! failure biasing on regenerative cycles ([`bfb`]), and plain Monte Carlo cut into
//! shards that merge to the whole run ([`shard`]). What they accumulate is a [`Tally`]
//! ([`tally`]); what they report is [`results::RunReport`] ([`results`]).
//!
//! Dependencies run one way: `tally` ← `results` ← `plain` ← `splitting`, `shard`.

pub mod bfb;
pub mod plain;
pub mod results;
pub mod shard;
pub mod splitting;
pub mod tally;
pub mod uncertainty;

pub use tally::Tally;

use crate::model::Model;
use crate::sim::EngineChoice;
use results::RunReport;

/// How `run`, `sweep` and `report` estimate a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// A pilot chooses plain or splitting by the work each needs for one precision.
    Auto,
    Plain,
    Splitting,
}

/// One report to estimate.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub method: Method,
    pub seed: u64,
    /// Histories: the number to run, or with `precision` the most. With `Auto` choosing
    /// splitting and no precision, the work (events) of this many plain histories.
    pub replications: u64,
    /// Run until the interval's half-width is at most this fraction of 1 − A.
    pub precision: Option<f64>,
    pub threads: usize,
    /// The plain engine (splitting always continues the event engine's histories).
    pub engine: EngineChoice,
    /// Splitting's factors; `None`: from a pilot.
    pub factors: Option<Vec<u32>>,
    /// What splitting's level counts; `None`: chosen by a scout (see
    /// [`splitting::SplitPlan::importance`]).
    pub importance: Option<crate::sim::Importance>,
    /// Plain only: the model to pair with history by history (see
    /// [`plain::Hooks::paired`]).
    pub paired: Option<&'a Model>,
}

#[derive(Debug, thiserror::Error)]
pub enum EstimateError {
    #[error(transparent)]
    Run(#[from] plain::RunError),
    #[error(transparent)]
    Split(#[from] splitting::SplitError),
}

/// The fewest main histories `Auto` gives a splitting run in place of `replications`
/// plain histories (it gives the work, in events, of that many plain ones).
const LEAST_MAIN_HISTORIES: u64 = 2 * splitting::ROUND;

/// Estimates `model`'s report as `req` asks, whatever the method: the one entry point of
/// `run`, `sweep` and `report`.
pub fn report(
    model: &Model,
    req: &Request<'_>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RunReport, EstimateError> {
    match req.method {
        Method::Plain => Ok(plain_report(model, req, progress)?),
        Method::Splitting => Ok(splitting::estimate(
            model,
            &split_plan(req, req.replications),
            0.0,
            progress,
        )?),
        Method::Auto => report_chosen(model, req, choose(model, req)?, progress),
    }
}

/// `Auto`'s report once `choice` is made (see [`choose`]): plain simulation as `req`
/// asks, or splitting with the scout's factors and importance; says why.
pub fn report_chosen(
    model: &Model,
    req: &Request<'_>,
    choice: Choice,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RunReport, EstimateError> {
    let mut report = match &choice.split {
        None => plain_report(model, req, progress)?,
        Some(scout) => {
            let mut plan = split_plan(req, choice.histories(req));
            plan.factors = Some(scout.factors.clone());
            plan.importance = Some(scout.importance);
            let mut r = splitting::estimate(model, &plan, scout.seconds, progress)?;
            r.warnings.extend(scout.warnings.iter().cloned());
            if let Some(sp) = &mut r.estimation.splitting {
                sp.levels.iter_mut().for_each(|l| l.from_pilot = true);
            }
            r
        }
    };
    report.estimation.chosen = "auto";
    report.estimation.reason = Some(choice.reason);
    Ok(report)
}

fn plain_report(
    model: &Model,
    req: &Request<'_>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RunReport, plain::RunError> {
    let plan = plain::RunPlan {
        seed: req.seed,
        first: 0,
        count: req.replications,
        threads: req.threads,
        engine: req.engine,
    };
    plain::run_report_paired(model, req.paired, &plan, req.precision, progress)
}

fn split_plan(req: &Request<'_>, histories: u64) -> splitting::SplitPlan {
    splitting::SplitPlan {
        seed: req.seed,
        histories,
        precision: req.precision,
        factors: req.factors.clone(),
        importance: req.importance,
        threads: req.threads,
    }
}

/// What `Auto` chose and why; `split` holds the scout when it chose splitting.
pub struct Choice {
    pub split: Option<splitting::Scout>,
    pub reason: String,
}

impl Choice {
    /// The histories to run for `req`: its replications for plain simulation, or with a
    /// precision; else, for splitting, main histories of the same work (events) as that
    /// many plain ones, by the scout's counts.
    pub fn histories(&self, req: &Request<'_>) -> u64 {
        match (&self.split, req.precision) {
            (Some(scout), None) => {
                let per = scout.work_per_history / scout.plain_events_per_history.max(1.0);
                ((req.replications as f64 / per.max(1.0)).ceil() as u64)
                    .max(LEAST_MAIN_HISTORIES)
                    .min(req.replications.max(2))
            }
            _ => req.replications,
        }
    }
}

/// Histories of the plain pilot `Auto` runs first: one block, the run's own first.
pub const PILOT_HISTORIES: u64 = plain::BLOCK;

/// Histories with an outage the plain pilot must see for its own variance to stand for
/// plain simulation's (else the scout's main histories give it).
const PILOT_OUTAGES: u64 = 30;

/// Chooses between plain simulation and splitting for `model`. Plain when the read path
/// has no redundancy to exploit, when the run asked for is smaller than the pilot (a
/// fixed count under [`PILOT_HISTORIES`]: a pilot would cost more than it can save), or
/// when paired with another model. Otherwise a plain pilot of [`PILOT_HISTORIES`]
/// histories (the run's first) measures plain simulation's variance and work per
/// history, a splitting scout (for each way of counting the level, see
/// [`splitting::scout`]) measures splitting's, and the one that needs less work for the
/// same precision runs (the ratio does not depend on the precision: both need histories
/// in proportion to their variance over the square of the half-width). Work is counted
/// in events, so the choice is the same on every machine.
pub fn choose(model: &Model, req: &Request<'_>) -> Result<Choice, EstimateError> {
    let plain = |reason: String| {
        Ok(Choice {
            split: None,
            reason,
        })
    };
    if let Err(splitting::SplitError::Unsupported(why)) = splitting::check(model) {
        return plain(format!(
            "plain: {}",
            why.trim_end_matches("; use --method plain")
        ));
    }
    if req.precision.is_none() && req.replications < PILOT_HISTORIES {
        return plain(format!(
            "plain: {} histories asked, fewer than the {PILOT_HISTORIES} a pilot takes; give --precision (or -n {PILOT_HISTORIES} or more) for a choice, or --method splitting",
            req.replications
        ));
    }
    if req.paired.is_some() {
        return plain(
            "plain: paired with another model's histories, which splitting cannot be".into(),
        );
    }
    let pilot = plain::simulate(
        model,
        &plain::RunPlan {
            seed: req.seed,
            first: 0,
            count: PILOT_HISTORIES,
            threads: req.threads,
            engine: req.engine,
        },
        &|_| {},
    )?;
    let seen = pilot.tally.with_outage;
    let scout = match splitting::scout(model, req.importance, req.seed, req.threads) {
        Err(splitting::SplitError::Pilot(why)) => return plain(format!("plain: {why}")),
        Err(e) => return Err(e.into()),
        Ok(scout) if scout.factors.iter().all(|&r| r == 1) => {
            return plain(
                "plain: the pilot chose no splitting at any threshold (outages not rare)".into(),
            );
        }
        Ok(scout) => scout,
    };
    let n = scout.histories;
    // Plain work per unit of precision: variance × events, per history.
    let speedup = if seen >= PILOT_OUTAGES {
        let horizon = model.simulation.horizon;
        let plain_work = pilot.tally.unavailability.variance()
            * horizon
            * horizon
            * (pilot.tally.events as f64 / PILOT_HISTORIES as f64);
        Some(plain_work / (scout.variance * scout.work_per_history))
            .filter(|w| w.is_finite() && *w > 0.0)
    } else {
        scout.speedup
    };
    let by = scout.importance.describe();
    match speedup {
        Some(w) if w > 1.0 => Ok(Choice {
            reason: format!(
                "splitting: {seen} of {PILOT_HISTORIES} plain pilot histories saw an outage, and a scout of {n} split histories (level: {by}) found splitting needs about {w:.3} times less work (events) for the same precision"
            ),
            split: Some(scout),
        }),
        Some(w) => plain(format!(
            "plain: {seen} of {PILOT_HISTORIES} plain pilot histories saw an outage, and a scout of {n} split histories (level: {by}) found splitting needs {:.3} times the work of plain simulation for the same precision",
            1.0 / w
        )),
        None => plain(format!(
            "plain: a scout of {n} split histories saw no outage to compare the two by"
        )),
    }
}
