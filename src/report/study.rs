//! `hasim report`: a study of one model — charts, their data as CSV, and a page.
//!
//! Every point of every chart is a run with common random numbers (replication `i` from
//! `(seed, i)`), so the model's own point on each chart is the baseline run exactly.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::charts::{self, Lane, LineChart, Reference, Series, StepChart, TornadoBar, TornadoHalf};
use crate::dist::Dist;
use crate::estimate::plain::{RunPlan, run_report_paired, simulate};
use crate::estimate::results::{Estimate, RunReport, fmt_avail};
use crate::estimate::uncertainty::{UncertaintyPlan, UncertaintyReport};
use crate::model::{Kind, Model};
use crate::sim::{EngineChoice, Simulator};
use crate::stats::{holm, two_sided_p};
use crate::units::{YEAR, format_duration};

/// Minutes in a year of 365 days.
const MINUTES_PER_YEAR: f64 = YEAR / 60.0;

#[derive(Clone, Debug)]
pub struct StudyOptions {
    /// Histories per point; with `precision`, the most a point may take.
    pub replications: u64,
    /// Run each point until the interval's relative half-width on 1 − A is at most this
    /// (checked at block boundaries, as `hasim run --precision`).
    pub precision: Option<f64>,
    pub seed: u64,
    pub threads: usize,
    /// How the key numbers are estimated (`Auto`: a pilot chooses, as `hasim run` does).
    /// Every chart's points are plain runs, whatever this says: they are paired with the
    /// model's own plain run history by history, which splitting cannot be.
    pub method: crate::estimate::Method,
    /// Two-loop draws of the model's uncertain parameters for the page's band, and the
    /// histories per draw (`None`: no band).
    pub uncertainty: Option<(u64, u64)>,
}

/// One thing the page states about the model.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Finding {
    /// What it asserts, without its numbers (`replicas help: C`): the same claim is the
    /// same string whatever the seed that measured it.
    pub claim: String,
    /// The sentence on the page, with its intervals.
    pub text: String,
}

impl Finding {
    fn new(claim: impl Into<String>, text: String) -> Self {
        Finding {
            claim: claim.into(),
            text,
        }
    }
}

/// What a study wrote.
#[derive(Debug)]
pub struct Study {
    /// The key numbers: the model estimated as [`StudyOptions::method`] asks.
    pub baseline: RunReport,
    /// The model's own plain run, the point every chart's points are paired with.
    pub reference: RunReport,
    /// (file name, title) of each chart, in page order.
    pub charts: Vec<(String, String)>,
    /// The points that reached their replication cap before the precision: (point,
    /// replications, relative half-width reached).
    pub capped: Vec<(String, u64, Option<f64>)>,
    pub findings: Vec<Finding>,
    pub points_run: usize,
    /// The epistemic band: what the model's uncertain parameters allow.
    pub uncertainty: Option<UncertaintyReport>,
}

pub type StudyError = String;

struct Ctx<'a> {
    opts: &'a StudyOptions,
    dir: &'a Path,
    /// Told each point as it starts: the points run so far and what the new one is.
    on_point: &'a dyn Fn(usize, &str),
    points: usize,
    capped: Vec<(String, u64, Option<f64>)>,
}

impl Ctx<'_> {
    /// Runs one point (`what` names it on the page if it cannot reach the precision).
    fn run(&mut self, model: &Model, what: &str) -> Result<RunReport, StudyError> {
        self.run_paired(model, None, what)
    }

    /// [`Ctx::run`], with X's difference to `base` history by history (the report's
    /// `downtime_difference_seconds`).
    fn run_paired(
        &mut self,
        model: &Model,
        base: Option<&Model>,
        what: &str,
    ) -> Result<RunReport, StudyError> {
        (self.on_point)(self.points, what);
        self.points += 1;
        let plan = RunPlan {
            seed: self.opts.seed,
            first: 0,
            count: self.opts.replications,
            threads: self.opts.threads,
            engine: EngineChoice::Auto,
        };
        let r = run_report_paired(model, base, &plan, self.opts.precision, &|_| {})
            .map_err(|e| e.to_string())?;
        if r.stopping.reason == "max_replications" {
            self.capped.push((
                what.to_string(),
                r.replications,
                r.stopping.relative_half_width,
            ));
        }
        Ok(r)
    }

    /// The model's key numbers by `method` (the reference run itself when plain).
    fn estimate(&mut self, model: &Model, reference: &RunReport) -> Result<RunReport, StudyError> {
        use crate::estimate::{Method, Request, choose, report, report_chosen};
        if self.opts.method == Method::Plain {
            return Ok(reference.clone());
        }
        let req = Request {
            method: self.opts.method,
            seed: self.opts.seed,
            replications: self.opts.replications,
            precision: self.opts.precision,
            threads: self.opts.threads,
            engine: EngineChoice::Auto,
            factors: None,
            importance: None,
            paired: None,
        };
        let r = if self.opts.method == Method::Auto {
            let choice = choose(model, &req).map_err(|e| e.to_string())?;
            if choice.split.is_none() {
                // Plain, as the reference already ran it: the same histories, not again.
                let mut r = reference.clone();
                r.estimation.chosen = "auto";
                r.estimation.reason = Some(choice.reason);
                return Ok(r);
            }
            report_chosen(model, &req, choice, &|_| {})
        } else {
            report(model, &req, &|_| {})
        }
        .map_err(|e| e.to_string())?;
        if r.stopping.reason == "max_replications" {
            self.capped.push((
                format!("the model's key numbers ({})", r.estimation.method),
                r.replications,
                r.stopping.relative_half_width,
            ));
        }
        Ok(r)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn csv(&self, name: &str, header: &str, rows: &[String]) -> Result<(), StudyError> {
        let mut text = String::from(header);
        text.push('\n');
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        crate::fsio::write_atomic(&self.path(name), text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", self.path(name).display()))
    }
}

/// Downtime in minutes per year, with its interval, from an availability estimate.
fn minutes(a: &Estimate) -> (f64, f64, f64) {
    (
        (1.0 - a.mean) * MINUTES_PER_YEAR,
        (1.0 - a.ci_high) * MINUTES_PER_YEAR,
        (1.0 - a.ci_low) * MINUTES_PER_YEAR,
    )
}

/// Draws chart `name` twice into the study's folder: `name.png` and `name.svg`.
fn both(
    ctx: &Ctx<'_>,
    name: &str,
    draw: impl Fn(&Path) -> Result<(), charts::ChartError>,
) -> Result<(), StudyError> {
    for ext in ["png", "svg"] {
        draw(&ctx.path(&format!("{name}.{ext}")))?;
    }
    Ok(())
}

/// Every file a study may write into its folder.
pub const FILES: &[&str] = &[
    "index.html",
    "replicas.png",
    "replicas.svg",
    "replicas.csv",
    "buffer.png",
    "buffer.svg",
    "buffer.csv",
    "restart.png",
    "restart.svg",
    "restart.csv",
    "downtime.png",
    "downtime.svg",
    "downtime.csv",
    "timeline.png",
    "timeline.svg",
    "timeline.csv",
    "timeline-bad.png",
    "timeline-bad.svg",
    "timeline-bad.csv",
    "tornado.png",
    "tornado.svg",
    "tornado.csv",
    "uncertainty.png",
    "uncertainty.svg",
    "uncertainty.csv",
    "findings.json",
];

/// Runs the study and writes everything into `dir` (created if needed).
pub fn study(
    model: &Model,
    dir: &Path,
    opts: &StudyOptions,
    on_point: &dyn Fn(usize, &str),
) -> Result<Study, StudyError> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut ctx = Ctx {
        opts,
        dir,
        on_point,
        points: 0,
        capped: vec![],
    };
    let reference = ctx.run(model, "the model")?;
    let baseline = ctx.estimate(model, &reference)?;
    let mut charts_done = vec![];
    let mut findings = vec![];
    let uncertainty = match opts.uncertainty {
        Some((draws, replications)) if !model.uncertain_parameters().is_empty() => {
            let plan = UncertaintyPlan {
                draws,
                replications,
                seed: opts.seed,
                threads: opts.threads,
                engine: EngineChoice::Auto,
            };
            let u = crate::estimate::uncertainty::estimate(model, &plan, &|_| {})
                .map_err(|e| e.to_string())?;
            epistemic_chart(&ctx, model, &reference, &u)?;
            charts_done.push((
                "uncertainty.png".to_string(),
                "What is not known: downtime per year over the parameters' uncertainty".to_string(),
            ));
            Some(u)
        }
        _ => None,
    };
    let slo_minutes = model.system.slo.map(|s| (1.0 - s) * MINUTES_PER_YEAR);
    let slo_ref = |slo: Option<f64>| {
        slo.map(|m| Reference {
            y: m,
            label: format!(
                "SLO {}: {} per year",
                model.system.slo.unwrap_or(0.0),
                format_duration(m * 60.0)
            ),
        })
    };

    // 1. Replicas of each read-path stage.
    let mut series = vec![];
    let mut rows = vec![];
    // Each point's change in downtime (minutes a year), paired with the model: (stage,
    // replicas, change).
    let mut changes: Vec<(String, u32, TornadoHalf)> = vec![];
    for &si in &model.system.read_path {
        let s = &model.stages[si];
        if s.kind == Kind::DaemonSet {
            continue;
        }
        let mut pts = vec![];
        for r in 1..=5u32 {
            if r < s.min_ready {
                continue;
            }
            let mut m = model.clone();
            m.stages[si].replicas = r;
            // The model's own point differs from itself by nothing: not paired.
            let base = (r != s.replicas).then_some(model);
            let rep = ctx.run_paired(&m, base, &format!("{} with {r} replicas", s.name))?;
            if let Some(change) = paired_change(&rep, model) {
                changes.push((s.name.clone(), r, change));
            }
            let (y, lo, hi) = minutes(&rep.availability);
            rows.push(format!(
                "{},{r},{},{},{},{y},{lo},{hi}",
                s.name, rep.availability.mean, rep.availability.ci_low, rep.availability.ci_high
            ));
            pts.push((f64::from(r), y, lo, hi));
        }
        series.push(Series {
            name: format!("stage {} (min_ready {})", s.name, s.min_ready),
            points: pts,
            markers: true,
        });
    }
    if !series.is_empty() {
        // The model's replicas, marked when every stage drawn has the same number.
        let drawn: Vec<u32> = model
            .system
            .read_path
            .iter()
            .map(|&si| &model.stages[si])
            .filter(|s| s.kind != Kind::DaemonSet)
            .map(|s| s.replicas)
            .collect();
        let model_replicas = drawn
            .first()
            .copied()
            .filter(|r| drawn.iter().all(|x| x == r));
        ctx.csv(
            "replicas.csv",
            "stage,replicas,availability,availability_ci_low,availability_ci_high,downtime_minutes_per_year,downtime_ci_low,downtime_ci_high",
            &rows,
        )?;
        both(&ctx, "replicas", |p| {
            charts::line_chart(
                p,
                &LineChart {
                    title: "Downtime per year vs replicas of each read-path stage",
                    x_label: "replicas (others as in the model)",
                    y_label: "downtime, minutes per year",
                    x_log: false,
                    x_integer: true,
                    model_x: model_replicas.map(|r| {
                        (
                            f64::from(r),
                            format!("the model: {r} replica{}", if r == 1 { "" } else { "s" }),
                        )
                    }),
                    series: &series,
                    reference: slo_ref(slo_minutes),
                },
            )
        })?;
        charts_done.push((
            "replicas.png".to_string(),
            "Downtime per year vs replicas".to_string(),
        ));
        findings.push(replicas_finding(
            &changes,
            1.0 - model.simulation.confidence,
        ));
    }

    // 2. Collector buffer limit.
    if let Some(flow) = &model.system.flow {
        let c = flow.collector;
        let mut pts = vec![];
        let mut rows = vec![];
        for limit in [10.0, 100.0, 1e3, 1e4, 1e5, 1e6] {
            let mut m = model.clone();
            let mut b = m.stages[c].buffer.unwrap_or_default();
            b.limit = limit;
            m.stages[c].buffer = Some(b);
            let rep = ctx.run(&m, &format!("a buffer of {limit} metrics"))?;
            let lost = rep.lost_metrics.expect("a flow reports lost metrics");
            let comp = rep.completeness.expect("a flow reports completeness");
            rows.push(format!(
                "{limit},{},{},{},{},{},{}",
                lost.mean, lost.ci_low, lost.ci_high, comp.mean, comp.ci_low, comp.ci_high
            ));
            pts.push((limit, lost.mean, lost.ci_low.max(0.0), lost.ci_high));
        }
        ctx.csv(
            "buffer.csv",
            "buffer_limit,lost_metrics_mean,lost_ci_low,lost_ci_high,completeness,completeness_ci_low,completeness_ci_high",
            &rows,
        )?;
        both(&ctx, "buffer", |p| {
            charts::line_chart(
                p,
                &LineChart {
                    title: &format!(
                        "Metrics lost per year vs the buffer of {}",
                        model.stages[c].name
                    ),
                    x_label: "buffer limit, metrics per collector replica and store replica (log)",
                    y_label: "metrics lost per year",
                    x_log: true,
                    x_integer: false,
                    model_x: Some((
                        model.stages[c].buffer.unwrap_or_default().limit,
                        format!(
                            "the model: {} metrics",
                            charts::short(model.stages[c].buffer.unwrap_or_default().limit)
                        ),
                    )),
                    series: &[Series {
                        name: "lost metrics (95 % CI)".into(),
                        points: pts.clone(),
                        markers: true,
                    }],
                    reference: None,
                },
            )
        })?;
        charts_done.push((
            "buffer.png".to_string(),
            "Lost metrics vs buffer limit".to_string(),
        ));
        if let (Some(first), Some(last)) = (pts.first(), pts.last()) {
            // Different when their intervals do not overlap.
            let matters = first.2 > last.3;
            let lost = |p: &(f64, f64, f64, f64)| {
                format!(
                    "{:.0} metrics lost a year with a limit of {} (95 % CI {:.0} to {:.0})",
                    p.1,
                    charts::short(p.0),
                    p.2,
                    p.3
                )
            };
            findings.push(if matters {
                Finding::new(
                    "buffer limit matters",
                    format!(
                        "The collector's buffer decides what a store outage costs in data: {}, {}.",
                        lost(first),
                        lost(last)
                    ),
                )
            } else {
                Finding::new(
                    "buffer limit does not matter",
                    format!(
                        "The collector's buffer limit barely matters here ({}, {}; the intervals overlap): \
                         data is lost with collector restarts, not with full buffers.",
                        lost(first),
                        lost(last)
                    ),
                )
            });
        }
    }

    // 3. Restart times, scaled per stage.
    let factors = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0];
    let mut series = vec![];
    let mut rows = vec![];
    for &si in &model.system.read_path {
        let s = &model.stages[si];
        if s.restart.is_none() {
            continue;
        }
        let mut pts = vec![];
        for f in factors {
            let mut m = model.clone();
            let st = &mut m.stages[si];
            st.restart = st.restart.as_ref().map(|d| d.scaled(f));
            st.recreate = st.recreate.as_ref().map(|d| d.scaled(f));
            let name = st.name.clone();
            let rep = ctx.run(&m, &format!("{name}'s restart times × {f}"))?;
            let (y, lo, hi) = minutes(&rep.availability);
            rows.push(format!(
                "{},{f},{},{y},{lo},{hi}",
                s.name, rep.availability.mean
            ));
            pts.push((f, y, lo, hi));
        }
        series.push(Series {
            name: format!("stage {}", s.name),
            points: pts,
            markers: true,
        });
    }
    if !series.is_empty() {
        ctx.csv("restart.csv", "stage,restart_scale,availability,downtime_minutes_per_year,downtime_ci_low,downtime_ci_high", &rows)?;
        both(&ctx, "restart", |p| {
            charts::line_chart(
                p,
                &LineChart {
                    title: "Downtime per year vs restart times (each stage's restart and recreate scaled)",
                    x_label: "restart time, multiple of the model's (log)",
                    y_label: "downtime, minutes per year",
                    x_log: true,
                    x_integer: false,
                    model_x: Some((1.0, "the model's restart times".into())),
                    series: &series,
                    reference: slo_ref(slo_minutes),
                },
            )
        })?;
        charts_done.push((
            "restart.png".to_string(),
            "Downtime vs restart times".to_string(),
        ));
    }

    // 4. The distribution of one year's downtime, as the chance of more: a survival
    // curve on log x (the tail is what an SLO is about), quantiles and the budget marked.
    let tally = simulate(
        model,
        &RunPlan {
            seed: opts.seed,
            first: 0,
            count: reference.replications,
            threads: opts.threads,
            engine: EngineChoice::Auto,
        },
        &|_| {},
    )
    .map_err(|e| e.to_string())?
    .tally;
    let scale = model.simulation.horizon / YEAR;
    if downtime_chart(&ctx, model, &reference, &tally)? {
        charts_done.push((
            "downtime.png".to_string(),
            "Distribution of one year's downtime".to_string(),
        ));
    }

    // 5. Two simulated years: a typical one (median downtime) and a bad one (p95).
    let (typical, bad) = chosen_years(model, opts.seed, reference.replications);
    for (name, year, what) in [
        ("timeline", typical, "A typical year"),
        ("timeline-bad", bad, "A bad year"),
    ] {
        timeline_chart(&ctx, model, name, &year, what)?;
        charts_done.push((
            format!("{name}.png"),
            format!("{what}: {}", year.describe()),
        ));
    }

    // 6. Tornado: each time parameter halved and doubled, each half's change in downtime
    // a paired difference to the model from the same histories, judged with Holm's
    // correction over every half drawn: a half not significant after it is grey and is
    // never named as a finding.
    let half = |r: &RunReport| paired_change(r, model).expect("a paired run has a difference");
    let mut bars: Vec<TornadoBar> = vec![];
    for (label, apply) in parameters(model) {
        let mut lo = model.clone();
        apply(&mut lo, 0.5);
        let mut hi = model.clone();
        apply(&mut hi, 2.0);
        let a = half(&ctx.run_paired(&lo, Some(model), &format!("{label} halved"))?);
        let b = half(&ctx.run_paired(&hi, Some(model), &format!("{label} doubled"))?);
        bars.push(TornadoBar {
            label,
            halves: [a, b],
        });
    }
    let reach = |b: &TornadoBar| b.halves[0].value.abs().max(b.halves[1].value.abs());
    bars.sort_by(|x, y| reach(y).total_cmp(&reach(x)));
    bars.truncate(12);
    let alpha = 1.0 - model.simulation.confidence;
    let p: Vec<f64> = bars
        .iter()
        .flat_map(|b| b.halves.iter().map(|h| h.p))
        .collect();
    for (k, significant) in holm(&p, alpha).into_iter().enumerate() {
        bars[k / 2].halves[k % 2].significant = significant;
    }
    ctx.csv(
        "tornado.csv",
        "parameter,change_in_downtime_minutes_per_year_halved,ci_low_halved,ci_high_halved,p_halved,significant_halved,\
         change_in_downtime_minutes_per_year_doubled,ci_low_doubled,ci_high_doubled,p_doubled,significant_doubled",
        &bars
            .iter()
            .map(|b| {
                let cells: Vec<String> = b
                    .halves
                    .iter()
                    .map(|h| format!("{},{},{},{},{}", h.value, h.ci.0, h.ci.1, h.p, h.significant))
                    .collect();
                format!("{},{}", sweep_cell(&b.label), cells.join(","))
            })
            .collect::<Vec<_>>(),
    )?;
    if !bars.is_empty() {
        both(&ctx, "tornado", |p| {
            charts::tornado(
                p,
                "What moves downtime most: each time halved or doubled",
                "change in downtime, minutes per year (paired 95 % intervals; grey: not significant)",
                &bars,
                ("halved", "doubled"),
            )
        })?;
        charts_done.push((
            "tornado.png".to_string(),
            "Sensitivity (tornado)".to_string(),
        ));
        let named = |h: &TornadoHalf, what: &str| {
            format!(
                "{what} it changes downtime by {} a year (95 % CI {} to {})",
                signed_minutes(h.value),
                signed_minutes(h.ci.0),
                signed_minutes(h.ci.1)
            )
        };
        // Each bar's reach: its significant half of the largest effect, as the size of the
        // effect with that half's interval on it; the bars by it, largest first.
        let reach_of = |b: &TornadoBar| {
            b.halves
                .iter()
                .filter(|h| h.significant)
                .map(|h| {
                    if h.value >= 0.0 {
                        (h.value, h.ci)
                    } else {
                        (-h.value, (-h.ci.1, -h.ci.0))
                    }
                })
                .max_by(|x, y| x.0.total_cmp(&y.0))
        };
        let mut significant: Vec<(&TornadoBar, Reach)> = bars
            .iter()
            .filter_map(|b| reach_of(b).map(|r| (b, r)))
            .collect();
        significant.sort_by(|x, y| y.1.0.total_cmp(&x.1.0));
        findings.push(match significant.first().map(|s| s.0) {
            None => Finding::new("moves downtime most: none", format!(
                "No time parameter, halved or doubled, moves downtime by more than its paired 95 % interval allows \
                 (Holm-corrected over {} comparisons, {} simulated years at the model's point): ask for a finer --precision to rank them.",
                p.len(),
                reference.replications
            )),
            Some(top) => {
                let said = |b: &TornadoBar| {
                    let halves: Vec<String> = b
                        .halves
                        .iter()
                        .zip(["halving", "doubling"])
                        .filter(|(h, _)| h.significant)
                        .map(|(h, what)| named(h, what))
                        .collect();
                    format!("{}: {}", b.label, halves.join("; "))
                };
                // Overlapping intervals are no ranking: the parameters whose reach's
                // interval chain-overlaps the top one's are named together, by name.
                let mut tied: Vec<(&TornadoBar, (f64, f64))> = vec![(top, significant[0].1.1)];
                for (b, (_, ci)) in &significant[1..] {
                    if tied.iter().any(|t| overlap(t.1, *ci)) {
                        tied.push((b, *ci));
                    }
                }
                let mut tied: Vec<&TornadoBar> = tied.into_iter().map(|t| t.0).collect();
                tied.sort_by(|a, b| a.label.cmp(&b.label));
                let claim = format!(
                    "moves downtime most: {}",
                    tied.iter().map(|b| b.label.as_str()).collect::<Vec<_>>().join(", ")
                );
                Finding::new(
                    claim,
                    if tied.len() > 1 {
                        format!(
                            "{} parameters move downtime most, with overlapping intervals, so they are not ranked: {}.",
                            tied.len(),
                            tied.iter().map(|b| said(b)).collect::<Vec<_>>().join(" — ")
                        )
                    } else {
                        format!("The parameter that moves downtime most is {}.", said(top))
                    },
                )
            }
        });
    }
    if let Some(f) = cause_finding(&baseline.causes, scale) {
        findings.insert(0, f);
    }
    let study = Study {
        baseline,
        reference,
        charts: charts_done,
        capped: ctx.capped,
        findings,
        points_run: ctx.points,
        uncertainty,
    };
    let findings_json = crate::schema::pretty(serde_json::json!({ "findings": study.findings }));
    crate::fsio::write_atomic(&dir.join("findings.json"), findings_json.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", dir.join("findings.json").display()))?;
    crate::fsio::write_atomic(
        &dir.join("index.html"),
        page(model, &study, opts).as_bytes(),
    )
    .map_err(|e| format!("cannot write {}: {e}", dir.join("index.html").display()))?;
    Ok(study)
}

/// Writes uncertainty.png/.svg/.csv: the fraction of draws of the uncertain parameters
/// with more downtime per year than x (each draw's mean, with Massart's DKW band), the
/// model as written and its SLO budget marked; the CSV has every draw.
fn epistemic_chart(
    ctx: &Ctx<'_>,
    model: &Model,
    reference: &RunReport,
    u: &UncertaintyReport,
) -> Result<(), StudyError> {
    let c = model.simulation.confidence;
    let pct = (c * 100.0).round();
    let minutes_of = |a: f64| (1.0 - a) * MINUTES_PER_YEAR;
    let mut header = String::from("draw");
    for p in &u.parameters {
        let _ = write!(
            header,
            ",{}",
            sweep_cell(&format!("{}_mean_seconds", p.parameter))
        );
    }
    header.push_str(",availability,availability_std_err,downtime_minutes_per_year");
    let rows: Vec<String> = u
        .draw_results
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut r = i.to_string();
            for m in &d.means_seconds {
                let _ = write!(r, ",{m}");
            }
            let _ = write!(
                r,
                ",{},{},{}",
                d.availability,
                d.std_err,
                minutes_of(d.availability)
            );
            r
        })
        .collect();
    ctx.csv("uncertainty.csv", &header, &rows)?;
    let mut x: Vec<f64> = u
        .draw_results
        .iter()
        .map(|d| minutes_of(d.availability).max(0.0))
        .collect();
    x.sort_by(f64::total_cmp);
    // The fraction of draws with more downtime than x, on log axes (the spread covers
    // decades): from 1 down to the last draw's step; a draw without downtime has no
    // place on a log axis and keeps the curve below 1 from the left edge.
    let n = x.len();
    let floor = 1.0 / n as f64;
    let eps = crate::stats::dkw_half_width(n, c);
    let zero = x.iter().filter(|&&m| m <= 0.0).count();
    let steps: Vec<(f64, f64, f64, f64)> = x
        .iter()
        .enumerate()
        .filter(|&(i, &m)| m > 0.0 && i + 1 < n)
        .map(|(i, &m)| {
            let y = (n - i - 1) as f64 / n as f64;
            (m, y, (y - eps).max(floor), (y + eps).min(1.0))
        })
        .collect();
    let start = 1.0 - zero as f64 / n as f64;
    let point = minutes_of(reference.availability.mean);
    let mut marks = vec![(
        point,
        format!(
            "the model as written: {} a year",
            format_duration(point * 60.0)
        ),
        false,
    )];
    if let Some(slo) = model.system.slo {
        let m = (1.0 - slo) * MINUTES_PER_YEAR;
        marks.push((
            m,
            format!("SLO {slo}: {} a year", format_duration(m * 60.0)),
            true,
        ));
    }
    let d = &u.downtime_minutes_per_year;
    let notes = [format!(
        "5 % .. 95 %: {} .. {} a year, median {}",
        format_duration(d.p05 * 60.0),
        format_duration(d.p95 * 60.0),
        format_duration(d.p50 * 60.0)
    )];
    let title = format!(
        "Downtime per year over what is not known ({} draws of {} parameters, {} years each)",
        u.draws,
        u.parameters.len(),
        u.replications_per_draw
    );
    both(ctx, "uncertainty", |p| {
        charts::step_chart(
            p,
            &StepChart {
                title: &title,
                x_label: "mean downtime per year of one draw of the parameters, x (log)",
                y_label: "fraction of draws with more (log)",
                log: true,
                steps: &steps,
                start,
                floor,
                curves: &[],
                marks: &marks,
                step_label: "draws with more than x",
                band_label: &format!("{pct} % band (DKW)"),
                notes: &notes,
                x_format: &|m| format_duration(m * 60.0),
            },
        )
    })
}

/// One row of a key-numbers table: the name and its value, escaped.
fn key_row(o: &mut String, k: &str, v: &str) {
    let _ = writeln!(
        o,
        "<tr><th>{}</th><td>{}</td></tr>",
        html_escape(k),
        html_escape(v)
    );
}

/// The page's section on the epistemic band.
fn uncertainty_section(o: &mut String, model: &Model, u: &UncertaintyReport, pct: f64) {
    let _ = write!(
        o,
        "<h2>What is not known</h2>\n<p>{}</p>\n<table>\n",
        html_escape(&format!(
            "The key numbers above are the model as written. Over what its {} uncertain parameter{} allow \
             ({} Latin-hypercube draws of their means, {} simulated years each, every draw from the same random numbers):",
            u.parameters.len(),
            if u.parameters.len() == 1 { "" } else { "s" },
            u.draws,
            u.replications_per_draw
        ))
    );
    let mut row = |k: &str, v: String| key_row(o, k, &v);
    let (a, ci) = (&u.availability, &u.availability_ci);
    for (label, v, c) in [
        ("availability, 5 % of draws", a.p05, ci.p05),
        ("availability, median", a.p50, ci.p50),
        ("availability, 95 % of draws", a.p95, ci.p95),
        ("availability, mean over the draws", a.mean, ci.mean),
    ] {
        row(
            label,
            format!(
                "{} ({pct} % CI {} – {})",
                fmt_avail(v),
                fmt_avail(c[0]),
                fmt_avail(c[1])
            ),
        );
    }
    let d = &u.downtime_minutes_per_year;
    row(
        "downtime per year, 5 % – 95 % of draws",
        format!(
            "{} – {} (median {})",
            format_duration(d.p05 * 60.0),
            format_duration(d.p95 * 60.0),
            format_duration(d.p50 * 60.0)
        ),
    );
    if let (Some(t), Some(p), Some(c)) = (model.system.slo, u.p_meet_slo, u.p_meet_slo_ci) {
        row(
            &format!("chance a year meets {t}, over the uncertainty too"),
            format!("{p:.4} ({pct} % CI {:.4} – {:.4})", c[0], c[1]),
        );
    }
    if let (Some(t), Some(p), Some(c)) = (
        model.system.slo,
        u.p_availability_meets_slo,
        u.p_availability_meets_slo_ci,
    ) {
        row(
            &format!("chance the mean availability is at least {t}"),
            format!("{p:.3} ({pct} % CI {:.3} – {:.3})", c[0], c[1]),
        );
    }
    o.push_str("</table>\n");
    let named: Vec<_> = u.drivers.iter().filter(|d| d.significant).collect();
    let quiet: Vec<&str> = u
        .drivers
        .iter()
        .filter(|d| !d.significant)
        .map(|d| d.parameter.as_str())
        .collect();
    if named.is_empty() {
        o.push_str(
            "<p>No parameter measurably drives the spread: no rank correlation with the availability excludes zero.</p>\n",
        );
    } else {
        o.push_str("<p>What drives the spread (share of the squared rank correlations; only those whose interval excludes zero):</p>\n<ul>\n");
        for d in named {
            let _ = writeln!(
                o,
                "<li>{}</li>",
                html_escape(&format!(
                    "{}: {:.1} % (rank correlation {:+.2}, {pct} % CI {:+.2} – {:+.2})",
                    d.parameter,
                    d.share * 100.0,
                    d.rank_correlation,
                    d.rank_correlation_ci[0],
                    d.rank_correlation_ci[1]
                ))
            );
        }
        o.push_str("</ul>\n");
    }
    if !quiet.is_empty() {
        let _ = writeln!(
            o,
            "<p>{}</p>",
            html_escape(&format!("No measurable effect: {}.", quiet.join(", ")))
        );
    }
    o.push_str("<table>\n<tr><th>parameter</th><th>law of its mean</th><th>as written</th><th>5 % – 95 % of the law</th></tr>\n");
    for p in &u.parameters {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} – {}</td></tr>",
            html_escape(&p.parameter),
            p.uncertain.name(),
            html_escape(&format_duration(p.point_seconds)),
            html_escape(&format_duration(p.p05_seconds)),
            html_escape(&format_duration(p.p95_seconds))
        );
    }
    o.push_str("</table>\n");
}

/// Writes downtime.png/.svg/.csv: the fraction of years with more downtime than x
/// (each step with its Wilson interval), the model's quantiles and its SLO budget.
fn downtime_chart(
    ctx: &Ctx<'_>,
    model: &Model,
    reference: &RunReport,
    tally: &crate::estimate::Tally,
) -> Result<bool, StudyError> {
    let c = model.simulation.confidence;
    let pct = (c * 100.0).round();
    let per_year = YEAR / model.simulation.horizon;
    let n = tally.replications();
    let bins = tally.downtime.bins();
    let zeros: u64 = bins.iter().filter(|b| b.1 == 0.0).map(|b| b.2).sum();
    let mut above = n - zeros;
    let step = |x: f64, k: u64| {
        let (lo, hi) = crate::stats::wilson(k, n, c);
        (x, k as f64 / n as f64, lo, hi)
    };
    let mut steps = vec![];
    let mut rows = vec![format!(
        "0,{above},{},{},{}",
        step(0.0, above).1,
        step(0.0, above).2,
        step(0.0, above).3
    )];
    for (a, b, k) in bins.iter().filter(|b| b.1 > 0.0) {
        if steps.is_empty() {
            // Up to the first value the fraction above is that of years with any.
            let first = if *a > 0.0 { *a } else { b / 2.0 } * per_year;
            steps.push(step(first, above));
        }
        above -= k;
        let mid = if *a > 0.0 { (a * b).sqrt() } else { b / 2.0 } * per_year;
        let s = step(mid, above);
        rows.push(format!("{},{above},{},{},{}", s.0, s.1, s.2, s.3));
        steps.push(s);
    }
    ctx.csv(
        "downtime.csv",
        "downtime_seconds_per_year,years_with_more,fraction_with_more,ci_low,ci_high",
        &rows,
    )?;
    let d = &reference.downtime_seconds;
    let mut marks: Vec<(f64, String, bool)> = [("median", d.p50), ("p95", d.p95), ("p99", d.p99)]
        .into_iter()
        .map(|(what, x)| {
            let x = x * per_year;
            let unseen = if x > 0.0 {
                ""
            } else {
                " (a year without downtime: not on log x)"
            };
            (x, format!("{what}: {}{unseen}", format_duration(x)), false)
        })
        .collect();
    if let (Some(target), Some(slo)) = (model.system.slo, &reference.slo) {
        marks.push((
            (1.0 - target) * YEAR,
            format!(
                "SLO {target}: {} a year; P(a year meets it) {:.4} ({pct} % CI {:.4} – {:.4})",
                format_duration((1.0 - target) * YEAR),
                slo.p_meet,
                slo.ci_low,
                slo.ci_high
            ),
            true,
        ));
    }
    let (lo, hi) = crate::stats::wilson(zeros, n, c);
    let notes = [format!(
        "{} % of years without downtime ({pct} % CI {} – {} %)",
        percent_short(zeros as f64 / n as f64),
        percent_short(lo),
        percent_short(hi)
    )];
    if steps.is_empty() {
        // No downtime at all: the CSV says so; there is no curve to draw.
        return Ok(false);
    }
    let title = format!("Downtime in one year: the chance of more than x ({n} simulated years)");
    both(ctx, "downtime", |p| {
        charts::step_chart(
            p,
            &StepChart {
                title: &title,
                x_label: "downtime in one year, x (log)",
                y_label: "fraction of years with more (log)",
                log: true,
                steps: &steps,
                start: steps[0].1,
                floor: 1.0 / n as f64,
                curves: &[],
                marks: &marks,
                step_label: "years with more than x",
                band_label: &format!("{pct} % interval at each x (Wilson)"),
                notes: &notes,
                x_format: &|x| format_duration(x),
            },
        )
    })?;
    Ok(true)
}

/// A percentage with three significant digits at most: `98.0`, `0.125`.
fn percent_short(f: f64) -> String {
    let p = f * 100.0;
    if p == 0.0 || p >= 10.0 {
        format!("{p:.1}")
    } else {
        format!("{:.*}", (2 - p.log10().floor() as i32).max(1) as usize, p)
    }
}

/// One history picked for a timeline.
struct Year {
    index: u64,
    downtime: f64,
    /// Which of the histories looked at it is, by its downtime.
    rank: String,
}

impl Year {
    fn describe(&self) -> String {
        format!(
            "{} down, {}, replication {}",
            format_duration(self.downtime),
            self.rank,
            self.index
        )
    }
}

/// The most histories looked at to pick the years drawn.
const YEARS_LOOKED_AT: u64 = 2000;

/// A typical year (the median downtime of the first histories) and a bad one (their
/// p95; where that year had no downtime, their p99, else their worst), by the event
/// engine that traces them.
fn chosen_years(model: &Model, seed: u64, replications: u64) -> (Year, Year) {
    let k = replications.clamp(1, YEARS_LOOKED_AT);
    let mut sim = Simulator::new(model);
    let mut years: Vec<(f64, u64)> = (0..k).map(|i| (sim.run(seed, i).downtime, i)).collect();
    years.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let at = |q: f64, what: &str| {
        let (downtime, index) = years[((k - 1) as f64 * q).round() as usize];
        Year {
            index,
            downtime,
            rank: format!("the {what} of {k} years"),
        }
    };
    let typical = at(0.5, "median");
    let mut bad = at(0.95, "p95");
    if bad.downtime == 0.0 {
        bad = at(0.99, "p99");
    }
    if bad.downtime == 0.0 {
        bad = at(1.0, "worst");
    }
    (typical, bad)
}

/// Writes NAME.png/.svg/.csv: one traced history, a lane per stage (and readable, fresh),
/// each outage of the read path labelled with its length, the buffer below.
fn timeline_chart(
    ctx: &Ctx<'_>,
    model: &Model,
    name: &str,
    year: &Year,
    what: &str,
) -> Result<(), StudyError> {
    let mut sim = Simulator::new(model);
    let (records, _) = sim.trace(ctx.opts.seed, year.index);
    let day = 86_400.0;
    let horizon_days = model.simulation.horizon / day;
    let mut lanes: Vec<Lane> = vec![];
    let lane_of = |name: &str, lanes: &mut Vec<Lane>| -> usize {
        match lanes.iter().position(|l| l.name == name) {
            Some(i) => i,
            None => {
                lanes.push(Lane {
                    name: name.to_string(),
                    down: vec![],
                    labelled: false,
                });
                lanes.len() - 1
            }
        }
    };
    lane_of("readable", &mut lanes);
    lanes[0].labelled = true;
    if model
        .system
        .flow
        .as_ref()
        .is_some_and(|f| f.freshness.is_some())
    {
        lane_of("fresh", &mut lanes);
    }
    for s in &model.stages {
        lane_of(&format!("stage {}", s.name), &mut lanes);
    }
    let mut open: std::collections::HashMap<usize, f64> = Default::default();
    let mut buffer = vec![(0.0, 0.0)];
    let mut rows = vec![];
    for r in &records {
        let t = r.time / day;
        let (lane, down) = match (r.replica.as_str(), r.event.as_str(), r.state.as_str()) {
            ("system", "judged", "unreadable") => (Some("readable".to_string()), true),
            ("system", "judged", "readable") => (Some("readable".to_string()), false),
            ("system", "judged", "stale") => (Some("fresh".to_string()), true),
            ("system", "judged", "fresh") => (Some("fresh".to_string()), false),
            (_, "stage_down", _) => (Some(format!("stage {}", r.stage)), true),
            (_, "stage_up", _) => (Some(format!("stage {}", r.stage)), false),
            _ => (None, false),
        };
        if let Some(lane_name) = lane {
            let i = lane_of(&lane_name, &mut lanes);
            if down {
                open.insert(i, t);
            } else if let Some(a) = open.remove(&i) {
                lanes[i].down.push((a, t));
            }
            rows.push(format!(
                "{},{},{}",
                r.time,
                sweep_cell(&lane_name),
                if down { "down" } else { "up" }
            ));
        }
        if let Some(b) = r.buffered {
            buffer.push((t, b));
        }
    }
    for (i, a) in open {
        lanes[i].down.push((a, horizon_days));
    }
    buffer.push((horizon_days, buffer.last().map_or(0.0, |b| b.1)));
    ctx.csv(&format!("{name}.csv"), "time_seconds,lane,state", &rows)?;
    let title = format!("{what}: {} (down in vermilion)", year.describe());
    both(ctx, name, |p| {
        charts::timeline(
            p,
            &title,
            horizon_days,
            &lanes,
            model
                .system
                .flow
                .as_ref()
                .map(|_| ("metrics buffered", buffer.as_slice())),
        )
    })
}

fn sweep_cell(s: &str) -> String {
    super::sweep::csv_cell(s)
}

fn signed_minutes(m: f64) -> String {
    let sign = if m < 0.0 { "−" } else { "+" };
    format!("{sign}{}", format_duration(m.abs() * 60.0))
}

type Apply = Box<dyn Fn(&mut Model, f64)>;

/// A tornado bar's largest significant effect: its size and that size's interval.
type Reach = (f64, (f64, f64));

/// Every time parameter of the model that failures and restarts depend on.
fn parameters(model: &Model) -> Vec<(String, Apply)> {
    let mut out: Vec<(String, Apply)> = vec![];
    fn scale(d: &mut Option<Dist>, f: f64) {
        if let Some(x) = d {
            *x = x.scaled(f);
        }
    }
    for (si, s) in model.stages.iter().enumerate() {
        for (mi, m) in s.failures.iter().enumerate() {
            out.push((
                format!("{} {}: time to failure", s.name, m.name),
                Box::new(move |md: &mut Model, f| {
                    let e = &mut md.stages[si].failures[mi].every;
                    *e = e.scaled(f);
                }),
            ));
            if let crate::model::Detect::After(_) = m.detect {
                out.push((
                    format!("{} {}: time to notice", s.name, m.name),
                    Box::new(move |md: &mut Model, f| {
                        if let crate::model::Detect::After(d) =
                            &mut md.stages[si].failures[mi].detect
                        {
                            *d = d.scaled(f);
                        }
                    }),
                ));
            }
        }
        if s.restart.is_some() && s.can_fail(&model.nodes) {
            out.push((
                format!("{}: restart time", s.name),
                Box::new(move |md: &mut Model, f| {
                    scale(&mut md.stages[si].restart, f);
                    scale(&mut md.stages[si].recreate, f);
                }),
            ));
        }
        if s.operator_response.is_some() {
            out.push((
                format!("{}: operator response", s.name),
                Box::new(move |md: &mut Model, f| scale(&mut md.stages[si].operator_response, f)),
            ));
            if s.detach_wait.is_some_and(|d| d > 0.0) {
                out.push((
                    format!("{}: volume detach wait", s.name),
                    Box::new(move |md: &mut Model, f| {
                        if let Some(d) = &mut md.stages[si].detach_wait {
                            *d *= f;
                        }
                    }),
                ));
            }
        }
    }
    if let Some(u) = &model.upgrades {
        out.push((
            "upgrades: time between waves".into(),
            Box::new(|md: &mut Model, f| {
                if let Some(u) = &mut md.upgrades {
                    u.every = u.every.scaled(f);
                }
            }),
        ));
        out.push((
            "upgrades: node time".into(),
            Box::new(|md: &mut Model, f| {
                if let Some(u) = &mut md.upgrades {
                    u.node_time = u.node_time.scaled(f);
                }
            }),
        ));
        if u.pdb_timeout > 0.0 && model.stages.iter().any(|s| s.pdb.is_some()) {
            out.push((
                "upgrades: drain timeout".into(),
                Box::new(|md: &mut Model, f| {
                    if let Some(u) = &mut md.upgrades {
                        u.pdb_timeout *= f;
                    }
                }),
            ));
        }
    }
    // Nodes whose failures are written alike are one parameter: scaled together (what if
    // nodes failed twice as often), so symmetric nodes are never ranked against each other.
    let mut groups: Vec<(String, Vec<usize>)> = vec![];
    for (ni, n) in model.nodes.iter().enumerate() {
        if let Some(f) = &n.failure {
            let spec = format!("{:?}", (&f.every, &f.recovery));
            match groups.iter_mut().find(|g| g.0 == spec) {
                Some(g) => g.1.push(ni),
                None => groups.push((spec, vec![ni])),
            }
        }
    }
    for (_, nodes) in groups {
        let names: Vec<&str> = nodes
            .iter()
            .map(|&i| model.nodes[i].name.as_str())
            .collect();
        let who = if names.len() > 1 {
            format!("nodes {}", names.join(", "))
        } else {
            format!("node {}", names[0])
        };
        let (a, b) = (nodes.clone(), nodes);
        out.push((
            format!("{who}: time to failure"),
            Box::new(move |md: &mut Model, f| {
                for &ni in &a {
                    if let Some(nf) = &mut md.nodes[ni].failure {
                        nf.every = nf.every.scaled(f);
                    }
                }
            }),
        ));
        out.push((
            format!("{who}: recovery time"),
            Box::new(move |md: &mut Model, f| {
                for &ni in &b {
                    if let Some(nf) = &mut md.nodes[ni].failure {
                        nf.recovery = nf.recovery.scaled(f);
                    }
                }
            }),
        ));
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Whether two intervals share a point.
fn overlap(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0.max(b.0) <= a.1.min(b.1)
}

/// The finding on replicas from each (stage, replicas, paired change) point: only
/// reductions significant after Holm's correction over all points count. The stages
/// whose best reduction's interval chain-overlaps the largest one's are named together,
/// by name, unranked; for each, the fewest replicas whose interval overlaps that stage's
/// best (more do no better that the run can tell).
fn replicas_finding(changes: &[(String, u32, TornadoHalf)], alpha: f64) -> Finding {
    let p: Vec<f64> = changes.iter().map(|c| c.2.p).collect();
    let significant = holm(&p, alpha);
    let helps: Vec<&(String, u32, TornadoHalf)> = changes
        .iter()
        .zip(&significant)
        .filter(|(c, sig)| **sig && c.2.value < 0.0)
        .map(|(c, _)| c)
        .collect();
    // Each stage's largest reduction, largest first.
    let mut best: Vec<&(String, u32, TornadoHalf)> = vec![];
    for c in &helps {
        match best.iter_mut().find(|b| b.0 == c.0) {
            Some(b) if c.2.value < b.2.value => *b = c,
            Some(_) => {}
            None => best.push(c),
        }
    }
    best.sort_by(|a, b| a.2.value.total_cmp(&b.2.value));
    let Some(top) = best.first() else {
        return Finding::new(
            "replicas help: none",
            format!(
                "No number of replicas (1 to 5) of one read-path stage reduces downtime beyond its paired 95 % interval \
                 (Holm-corrected over {} comparisons): what takes the pipeline down is shared (a node, another stage), \
                 or the run is too short to tell.",
                changes.len()
            ),
        );
    };
    let mut tied = vec![*top];
    for b in &best[1..] {
        if tied.iter().any(|t| overlap(t.2.ci, b.2.ci)) {
            tied.push(b);
        }
    }
    tied.sort_by(|a, b| a.0.cmp(&b.0));
    let said: Vec<String> = tied
        .iter()
        .map(|stage_best| {
            let fewest = helps
                .iter()
                .filter(|c| c.0 == stage_best.0 && overlap(c.2.ci, stage_best.2.ci))
                .min_by_key(|c| c.1)
                .unwrap_or(stage_best);
            let more = helps
                .iter()
                .any(|c| c.0 == fewest.0 && c.1 > fewest.1 && overlap(c.2.ci, fewest.2.ci));
            format!(
                "{} replicas of stage {} give {} less downtime a year (95 % CI {} to {}, paired with the model){}",
                fewest.1,
                fewest.0,
                format_duration(-fewest.2.value * 60.0),
                format_duration(-fewest.2.ci.1 * 60.0),
                format_duration(-fewest.2.ci.0 * 60.0),
                if more { "; more do no better within their intervals" } else { "" }
            )
        })
        .collect();
    let stages: Vec<&str> = tied.iter().map(|t| t.0.as_str()).collect();
    Finding::new(
        format!("replicas help: {}", stages.join(", ")),
        if tied.len() > 1 {
            format!(
                "More replicas help most at {} stages whose intervals overlap, so they are not ranked: {}.",
                tied.len(),
                said.join("; ")
            )
        } else {
            format!("More replicas help most here: {}.", said[0])
        },
    )
}

/// A paired run's change in downtime against the model, minutes a year, with its
/// interval and p-value against no change (significance is decided over a family).
fn paired_change(r: &RunReport, model: &Model) -> Option<TornadoHalf> {
    let per_year = YEAR / model.simulation.horizon / 60.0;
    r.downtime_difference_seconds.as_ref().map(|d| TornadoHalf {
        value: d.mean * per_year,
        ci: (d.ci_low * per_year, d.ci_high * per_year),
        p: two_sided_p(d.mean, d.std_err),
        significant: false,
    })
}

/// The finding on where downtime comes from, with intervals: the largest cause, or —
/// when the next ones' intervals overlap its own (symmetric nodes, say) — those causes
/// together, unranked. `None` without downtime.
fn cause_finding(causes: &[crate::estimate::results::CauseResult], scale: f64) -> Option<Finding> {
    let top = causes.first().filter(|c| c.downtime_seconds.mean > 0.0)?;
    let per_year = |c: &crate::estimate::results::CauseResult| {
        let d = &c.downtime_seconds;
        let share = if c.share_ci_low.is_finite() {
            format!(
                "; {:.0} % of the downtime, 95 % CI {:.0} to {:.0} %",
                c.share * 100.0,
                c.share_ci_low * 100.0,
                c.share_ci_high * 100.0
            )
        } else {
            format!("; {:.0} % of the downtime", c.share * 100.0)
        };
        format!(
            "{} a year (95 % CI {} to {}{share})",
            format_duration(d.mean / scale),
            format_duration(d.ci_low.max(0.0) / scale),
            format_duration(d.ci_high / scale)
        )
    };
    // Contenders for the largest: causes at least a tenth of the top one whose interval
    // reaches one already among them (so three symmetric nodes stay together whatever
    // the seed), listed by name, not by noise.
    // Node failures are alike in kind: when a node's is the largest, every node's that
    // is at least a tenth of it stands with it, unranked, whatever the intervals say.
    let is_node = |c: &crate::estimate::results::CauseResult| {
        matches!(c.what, crate::sim::CauseName::Node { .. })
    };
    let mut tied: Vec<&crate::estimate::results::CauseResult> = vec![top];
    for c in &causes[1..] {
        let d = &c.downtime_seconds;
        let reaches = tied.iter().any(|t| d.ci_high >= t.downtime_seconds.ci_low)
            || (is_node(top) && is_node(c));
        if reaches && d.mean * 10.0 >= top.downtime_seconds.mean {
            tied.push(c);
        }
    }
    tied.sort_by(|a, b| a.cause.cmp(&b.cause));
    let claim = format!(
        "largest cause: {}",
        tied.iter()
            .map(|c| c.cause.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Some(Finding::new(
        claim,
        if tied.len() > 1 {
            let kind = if tied.iter().all(|c| is_node(c)) {
                "node failures, alike in kind or with overlapping intervals"
            } else {
                "causes whose intervals overlap"
            };
            format!(
                "Most of the downtime comes from {} {kind}, so they are not ranked: {}.",
                tied.len(),
                tied.iter()
                    .map(|c| format!("{} {}", c.cause, per_year(c)))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        } else {
            format!(
                "The largest cause of downtime is {}: {}.",
                top.cause,
                per_year(top)
            )
        },
    ))
}

/// Availability in nines and downtime a year, each with its interval (the upper end of
/// availability 1 has no nines: "no downtime").
fn nines_interval(a: &Estimate, pct: f64) -> String {
    let count = |x: f64| {
        if x >= 1.0 {
            "∞".to_string()
        } else {
            format!("{:.2}", -(1.0 - x).log10())
        }
    };
    let down = |x: f64| format_duration((1.0 - x).max(0.0) * YEAR);
    if a.mean >= 1.0 {
        return format!(
            "no downtime seen ({pct} % CI down to {} nines)",
            count(a.ci_low)
        );
    }
    format!(
        "{} nines ({pct} % CI {} – {}), {} down per year ({} – {})",
        count(a.mean),
        count(a.ci_low),
        count(a.ci_high),
        down(a.mean),
        down(a.ci_high.min(1.0)),
        down(a.ci_low)
    )
}

/// A fraction as a percentage with at most six decimals, trailing zeros dropped.
pub fn percent(p: f64) -> String {
    let s = format!("{:.6}", p * 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Which estimator gave the key numbers, and why; the charts' points are plain.
fn key_numbers_source(r: &RunReport, reference: &RunReport) -> String {
    let how = match r.estimation.method {
        "plain" => format!("plain Monte Carlo over {} simulated years", r.replications),
        m => format!("{m} over {} main histories", r.replications),
    };
    let why = match (&r.estimation.reason, r.estimation.chosen) {
        (Some(reason), _) => format!(" (chosen by a pilot: {reason})"),
        (None, "asked") => " (as asked)".to_string(),
        _ => String::new(),
    };
    let charts = if r.estimation.method == "plain" {
        String::new()
    } else {
        format!(
            "; every chart's points are plain runs, paired with the model's own plain run of {} years",
            reference.replications
        )
    };
    format!("Estimated by {how}{why}{charts}.")
}

/// The report page.
fn page(model: &Model, study: &Study, opts: &StudyOptions) -> String {
    let r = &study.baseline;
    let pct = (r.confidence * 100.0).round();
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{t} — hasim report</title>\n\
         <style>body{{font-family:sans-serif;max-width:1040px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 10px;text-align:left}}\
         img{{max-width:100%;height:auto;border:1px solid #ddd}}figcaption{{color:#555}}</style>\n</head>\n<body>\n\
         <h1>{t}</h1>\n<p>{runs}, seed {seed}; every point uses the same random numbers. \
         Each chart's data is in the CSV file of the same name.</p>\n",
        t = html_escape(&model.name),
        runs = html_escape(&match opts.precision {
            Some(p) => format!(
                "Each point simulated until its unavailability's interval is within ±{} % of it (checked every 32 000 years), at most {} years; the model itself took {} years",
                percent(p),
                opts.replications,
                r.replications
            ),
            None => format!("{} simulated years per point", opts.replications),
        }),
        seed = opts.seed
    );
    if !study.capped.is_empty() {
        let _ = write!(
            o,
            "<p><strong>{} of {} points reached the cap of {} years before the precision</strong> \
             (their intervals are wider than asked; compare them with care):</p>\n<ul>\n",
            study.capped.len(),
            study.points_run,
            opts.replications
        );
        for (what, n, rel) in &study.capped {
            let reached = rel.map_or("no downtime seen".to_string(), |r| {
                format!("±{:.0} %", r * 100.0)
            });
            let _ = writeln!(
                o,
                "<li>{}: {n} years, {}</li>",
                html_escape(what),
                html_escape(&reached)
            );
        }
        o.push_str("</ul>\n");
    }
    let _ = write!(
        o,
        "<h2>Key numbers</h2>\n<p>{}</p>\n<table>\n",
        html_escape(&key_numbers_source(r, &study.reference))
    );
    let mut row = |k: &str, v: String| key_row(&mut o, k, &v);
    let a = &r.availability;
    row(
        "availability 1 − X/Y",
        format!(
            "{} ({pct} % CI {} – {})",
            fmt_avail(a.mean),
            fmt_avail(a.ci_low),
            fmt_avail(a.ci_high)
        ),
    );
    row("in nines", nines_interval(a, pct));
    let d = &r.downtime_seconds;
    row(
        "downtime in one year",
        format!(
            "mean {} ({pct} % CI {} – {}), median {}, 95 % of years under {}",
            format_duration(d.mean),
            format_duration(d.ci_low.max(0.0)),
            format_duration(d.ci_high),
            format_duration(d.p50),
            format_duration(d.p95)
        ),
    );
    row(
        "outages per year",
        format!(
            "{:.2} ({pct} % CI {:.2} – {:.2}; mean length {})",
            r.outages.mean,
            r.outages.ci_low.max(0.0),
            r.outages.ci_high,
            format_duration(r.outages.mean_length_seconds)
        ),
    );
    if let Some(s) = &r.slo {
        row(
            &format!("chance a year meets {}", s.target),
            format!(
                "{:.4} ({pct} % CI {:.4} – {:.4})",
                s.p_meet, s.ci_low, s.ci_high
            ),
        );
    }
    if let Some(f) = &r.fresh_availability {
        row(
            "fresh availability",
            format!(
                "{} ({pct} % CI {} – {})",
                fmt_avail(f.mean),
                fmt_avail(f.ci_low),
                fmt_avail(f.ci_high.min(1.0))
            ),
        );
    }
    if let (Some(c), Some(l)) = (&r.completeness, &r.lost_metrics) {
        row(
            "completeness (kept / produced)",
            format!(
                "{} ({pct} % CI {} – {}); {:.1} metrics lost a year ({pct} % CI {:.1} – {:.1})",
                fmt_avail(c.mean),
                fmt_avail(c.ci_low),
                fmt_avail(c.ci_high.min(1.0)),
                l.mean,
                l.ci_low.max(0.0),
                l.ci_high
            ),
        );
    }
    o.push_str("</table>\n");
    if let Some(u) = &study.uncertainty {
        uncertainty_section(&mut o, model, u, pct);
    }
    let warnings: Vec<&String> = r
        .warnings
        .iter()
        .chain(study.uncertainty.iter().flat_map(|u| &u.warnings))
        .collect();
    if !warnings.is_empty() {
        o.push_str("<h2>Warnings</h2>\n<ul>\n");
        for w in warnings {
            let _ = writeln!(o, "<li>{}</li>", html_escape(w));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("<h2>Findings</h2>\n<ul>\n");
    for f in &study.findings {
        let _ = writeln!(o, "<li>{}</li>", html_escape(&f.text));
    }
    o.push_str("</ul>\n");
    for (file, title) in &study.charts {
        let csv = file.replace(".png", ".csv");
        let svg = file.replace(".png", ".svg");
        let _ = writeln!(
            o,
            "<figure>\n<img src=\"{file}\" alt=\"{t}\" width=\"1000\" height=\"600\">\n<figcaption>{t} — data: <a href=\"{csv}\">{csv}</a>, vector: <a href=\"{svg}\">{svg}</a></figcaption>\n</figure>",
            t = html_escape(title)
        );
    }
    o.push_str("</body>\n</html>\n");
    o
}
