//! `hasim advise`: the high-availability checks linters make (kube-score, Polaris,
//! kube-linter: one replica, no PodDisruptionBudget, no anti-affinity, no liveness
//! probe…), each *measured*: the model is simulated with the fix applied, history by
//! history from the same random streams as the model itself (common random numbers), and
//! the downtime (and data) the fix saves is stated with its paired interval. A fix is
//! called measurable only when Holm's procedure over all the fixes tried rejects "no
//! effect" at the model's confidence level, so a list of ten fixes does not turn noise
//! into advice.
//!
//! Every fix is a list of `--set` overrides, so `hasim run MODEL --set …` reproduces it.

use serde::Serialize;

use crate::estimate::plain::{RunPlan, run_report_paired};
use crate::estimate::results::{Estimate, RunReport};
use crate::model::tree::toml_key as key;
use crate::model::{Detect, Kind, Model, Spread, Volume};
use crate::sim::{EngineChoice, HistoryRng};
use crate::stats::{holm, two_sided_p};
use crate::units::YEAR;

/// A fix the checks propose: what they found, what to change, and its cost.
#[derive(Clone, Debug, Serialize)]
pub struct Fix {
    /// What a linter would say (`single replica on the read path: C`).
    pub check: String,
    /// The change, in words.
    pub fix: String,
    /// The change as `--set` overrides.
    pub sets: Vec<String>,
    pub extra_replicas: u32,
    pub extra_nodes: u32,
}

/// One fix, measured.
#[derive(Clone, Debug, Serialize)]
pub struct Measured {
    #[serde(flatten)]
    pub fix: Fix,
    /// Downtime a year the fix saves (the model's minus the fixed model's), minutes,
    /// with its paired interval.
    pub downtime_saved_minutes_per_year: Saved,
    /// Metrics a year the fix keeps from being lost (with a data flow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_metrics_saved_per_year: Option<Saved>,
    /// Whether the fix measurably saves downtime or data (Holm over the fixes, for each).
    pub significant: bool,
    /// Whether the downtime saved is large: its lower bound is at least 1 % of the SLO's
    /// budget (without an SLO, of the model's downtime now).
    pub large: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Saved {
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub std_err: f64,
    pub significant: bool,
}

/// Everything `hasim advise` prints.
#[derive(Clone, Debug, Serialize)]
pub struct Advice {
    pub model: String,
    pub replications: u64,
    pub seed: u64,
    pub confidence: f64,
    /// The model's own downtime a year, minutes, with its interval.
    pub downtime_minutes_per_year: Saved,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo: Option<f64>,
    /// Measured fixes, largest saving first; the measurable ones before the rest.
    pub fixes: Vec<Measured>,
    /// Checks that passed, in words.
    pub passed: Vec<String>,
    /// What "large" is measured against: 1 % of this many minutes a year (the SLO's
    /// budget, or without an SLO the model's downtime now).
    pub large_threshold_minutes_per_year: f64,
}

/// A saving is large when its lower bound reaches this share of the budget.
pub const LARGE_SHARE: f64 = 0.01;

/// Kubernetes' liveness defaults (period 10 s, failure threshold 3, timeout 1 s).
const LIVENESS: &str =
    "{ liveness = { period = \"10s\", failure_threshold = 3, timeout = \"1s\" } }";

/// The checks on `m`: fixes to measure, and the checks that passed.
pub fn checks(m: &Model) -> (Vec<Fix>, Vec<String>) {
    let mut fixes = Vec::new();
    let mut passed = Vec::new();
    let kube = |k: Kind| matches!(k, Kind::Deployment | Kind::StatefulSet);
    let on_path: Vec<usize> = m.system.read_path.clone();
    // A single replica on the read path.
    for &i in &on_path {
        let s = &m.stages[i];
        if !kube(s.kind) {
            continue;
        }
        if s.replicas < 2 {
            fixes.push(Fix {
                check: format!("single replica on the read path: {}", s.name),
                fix: format!("a second replica of {}", s.name),
                sets: vec![format!("stages.{}.replicas=2", key(&s.name))],
                extra_replicas: 1,
                extra_nodes: 0,
            });
        } else {
            passed.push(format!("{}: {} replicas", s.name, s.replicas));
        }
    }
    // Every Pod on one node.
    if m.nodes.len() == 1 && on_path.iter().any(|&i| !m.stages[i].nodes.is_empty()) {
        let n = &m.nodes[0];
        let second = next_name(&n.name);
        let mut node = format!("name = {}", toml::Value::String(second.clone()));
        if let Some(f) = &n.failure {
            node += &format!(
                ", every = {}, recovery = {}",
                inline(&f.every),
                inline(&f.recovery)
            );
        }
        let mut sets = vec![format!("nodes.1={{ {node} }}")];
        let both = format!(
            "[{}, {}]",
            toml::Value::String(n.name.clone()),
            toml::Value::String(second.clone())
        );
        let mut replicas = 0;
        for (i, s) in m.stages.iter().enumerate() {
            if s.kind == Kind::External || s.nodes.is_empty() {
                continue;
            }
            sets.push(format!("stages.{}.nodes={both}", key(&s.name)));
            if on_path.contains(&i) && kube(s.kind) {
                if s.replicas < 2 {
                    sets.push(format!("stages.{}.replicas=2", key(&s.name)));
                    replicas += 2 - s.replicas;
                }
                if s.kind == Kind::StatefulSet {
                    sets.push(format!("stages.{}.spread=\"required\"", key(&s.name)));
                }
            }
        }
        let names: Vec<&str> = on_path.iter().map(|&i| m.stages[i].name.as_str()).collect();
        fixes.push(Fix {
            check: format!("every Pod on one node ({})", n.name),
            fix: format!(
                "a second node like {}, with {} at two replicas, one on each",
                n.name,
                names.join(" and ")
            ),
            sets,
            extra_replicas: replicas,
            extra_nodes: 1,
        });
    }
    for (i, s) in m.stages.iter().enumerate() {
        let k = key(&s.name);
        // A hang no probe finds.
        let hangs: Vec<usize> = s
            .failures
            .iter()
            .enumerate()
            .filter(|(_, f)| matches!(f.detect, Detect::After(_)))
            .map(|(j, _)| j)
            .collect();
        if s.probes.is_none() && !hangs.is_empty() && s.kind != Kind::External {
            let mut sets = vec![format!("stages.{k}.probes={LIVENESS}")];
            sets.extend(
                hangs
                    .iter()
                    .map(|j| format!("stages.{k}.failures.{j}.detect=\"liveness\"")),
            );
            let modes: Vec<&str> = hangs.iter().map(|&j| s.failures[j].name.as_str()).collect();
            fixes.push(Fix {
                check: format!(
                    "no liveness probe on {}, whose {} is noticed only by a person",
                    s.name,
                    modes.join(", ")
                ),
                fix: format!(
                    "a liveness probe on {} (Kubernetes' defaults: 10 s, 3 failures, 1 s)",
                    s.name
                ),
                sets,
                extra_replicas: 0,
                extra_nodes: 0,
            });
        } else if s.probes.is_some() {
            passed.push(format!("{}: a liveness probe", s.name));
        }
        let on = on_path.contains(&i);
        // Replicas that may share a node.
        if on
            && kube(s.kind)
            && s.replicas >= 2
            && s.nodes.len() >= 2
            && s.spread != Some(Spread::Required)
        {
            fixes.push(Fix {
                check: format!(
                    "no hard anti-affinity on {}: after a node loss two replicas may share a node",
                    s.name
                ),
                fix: format!(
                    "required pod anti-affinity on {} (spread = \"required\")",
                    s.name
                ),
                sets: vec![format!("stages.{k}.spread=\"required\"")],
                extra_replicas: 0,
                extra_nodes: 0,
            });
        }
        // PodDisruptionBudgets, when nodes are drained.
        if m.upgrades.is_some() && on && kube(s.kind) && !s.nodes.is_empty() {
            match s.pdb {
                None if s.replicas >= 2 => fixes.push(Fix {
                    check: format!(
                        "no PodDisruptionBudget on {}: a drain may evict every replica",
                        s.name
                    ),
                    fix: format!("a PodDisruptionBudget on {} (max_unavailable = 1)", s.name),
                    sets: vec![format!("stages.{k}.pdb={{ max_unavailable = 1 }}")],
                    extra_replicas: 0,
                    extra_nodes: 0,
                }),
                Some(p) if p.desired(s.replicas) >= s.replicas => fixes.push(Fix {
                    check: format!(
                        "the PodDisruptionBudget on {} blocks every drain until it is forced",
                        s.name
                    ),
                    fix: format!("one more replica of {} so a drain may take one", s.name),
                    sets: vec![format!("stages.{k}.replicas={}", s.replicas + 1)],
                    extra_replicas: 1,
                    extra_nodes: 0,
                }),
                Some(_) => passed.push(format!(
                    "{}: a PodDisruptionBudget that lets drains through",
                    s.name
                )),
                None => {}
            }
        }
        // A rollout that may take the last ready Pod.
        if let Some(mt) = &s.maintenance
            && s.kind == Kind::Deployment
            && on
        {
            let unavailable = mt.max_unavailable.unwrap_or(0);
            if s.replicas.saturating_sub(unavailable) < s.min_ready {
                fixes.push(Fix {
                    check: format!(
                        "max_unavailable {unavailable} lets a rollout of {} take its last ready Pod",
                        s.name
                    ),
                    fix: format!("surge first on {} (max_surge = 1, max_unavailable = 0)", s.name),
                    sets: vec![
                        format!("stages.{k}.maintenance.max_surge=1"),
                        format!("stages.{k}.maintenance.max_unavailable=0"),
                    ],
                    extra_replicas: 0,
                    extra_nodes: 0,
                });
            } else {
                passed.push(format!("{}: rollouts keep a ready Pod", s.name));
            }
        }
        if s.volume == Some(Volume::Local) && s.kind == Kind::StatefulSet {
            fixes.push(Fix {
                check: format!(
                    "{} is a StatefulSet on a local volume: its Pods wait for their node",
                    s.name
                ),
                fix: format!("network storage for {} (volume = \"network\")", s.name),
                sets: vec![format!("stages.{k}.volume=\"network\"")],
                extra_replicas: 0,
                extra_nodes: 0,
            });
        }
    }
    if let Some(flow) = &m.system.flow {
        let c = &m.stages[flow.collector];
        let store = &m.stages[flow.store];
        let k = key(&c.name);
        let buffer = c.buffer.unwrap_or_default();
        let collectors = match c.kind {
            Kind::DaemonSet => c.nodes.len().max(1),
            _ => c.replicas as usize,
        } as f64;
        let share = m.stages[flow.source].rate.unwrap_or(0.0) / collectors;
        let p99 = store_outage_p99(m, flow.store);
        let need = p99 * share;
        if buffer.limit < need {
            let limit = (2.0 * need / 1000.0).ceil() * 1000.0;
            fixes.push(Fix {
                check: format!(
                    "the buffer of {} ({:.0} metrics) is smaller than {}'s p99 outage ({}) × its share of the data ({:.3}/s) = {:.0}",
                    c.name,
                    buffer.limit,
                    store.name,
                    crate::units::format_duration(p99),
                    share,
                    need
                ),
                fix: format!("a buffer of {limit:.0} metrics on {}", c.name),
                sets: vec![format!("stages.{k}.buffer.limit={limit:.0}")],
                extra_replicas: 0,
                extra_nodes: 0,
            });
        } else {
            passed.push(format!(
                "{}: its buffer ({:.0}) holds {}'s p99 outage ({}) of data ({:.0})",
                c.name,
                buffer.limit,
                store.name,
                crate::units::format_duration(p99),
                need
            ));
        }
        if !buffer.persistent {
            fixes.push(Fix {
                check: format!(
                    "{} buffers in memory: a restart loses what it holds",
                    c.name
                ),
                fix: format!(
                    "a persistent buffer on {} (Telegraf buffer_strategy = \"disk\")",
                    c.name
                ),
                sets: vec![format!("stages.{k}.buffer.persistent=true")],
                extra_replicas: 0,
                extra_nodes: 0,
            });
        }
    }
    (fixes, passed)
}

/// A name for a second node like `name`: `node-1` → `node-2`, `minikube` → `minikube-2`.
fn next_name(name: &str) -> String {
    match name.rsplit_once('-') {
        Some((head, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            match n.parse::<u64>() {
                Ok(k) => format!("{head}-{}", k + 1),
                Err(_) => format!("{name}-2"),
            }
        }
        _ => format!("{name}-2"),
    }
}

/// The 99th percentile of one store replica's outage, from the model's distributions:
/// the worst of a restart alone, of each failure mode found late (detection, then a
/// restart) and of its nodes' recoveries (then a restart), each by 20 000 draws from a
/// fixed seed.
fn store_outage_p99(m: &Model, store: usize) -> f64 {
    let s = &m.stages[store];
    let restart = |rng: &mut HistoryRng| s.restart.as_ref().map_or(0.0, |r| r.sample(rng));
    let mut worst = p99(|rng| restart(rng));
    for f in &s.failures {
        if let Detect::After(d) = &f.detect {
            worst = worst.max(p99(|rng| d.sample(rng) + restart(rng)));
        }
    }
    for &n in &s.nodes {
        if let Some(f) = &m.nodes[n].failure {
            worst = worst.max(p99(|rng| f.recovery.sample(rng) + restart(rng)));
        }
    }
    worst
}

/// The 99th percentile of 20 000 draws of `draw`, from a fixed seed.
fn p99(mut draw: impl FnMut(&mut HistoryRng) -> f64) -> f64 {
    use rand::SeedableRng;
    const DRAWS: usize = 20_000;
    let mut rng = HistoryRng::seed_from_u64(0x6164_7669_7365);
    let mut v: Vec<f64> = (0..DRAWS).map(|_| draw(&mut rng)).collect();
    v.sort_by(f64::total_cmp);
    v[DRAWS * 99 / 100]
}

/// A distribution (or any value) as an inline TOML value for `--set`.
fn inline(v: &impl Serialize) -> String {
    fn show(v: &toml::Value) -> String {
        match v {
            toml::Value::Table(t) => format!(
                "{{ {} }}",
                t.iter()
                    .map(|(k, v)| format!("{k} = {}", show(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            toml::Value::Array(a) => {
                format!("[{}]", a.iter().map(show).collect::<Vec<_>>().join(", "))
            }
            other => other.to_string(),
        }
    }
    toml::Value::try_from(v).map_or_else(|_| "{}".into(), |v| show(&v))
}

/// How to run each measurement.
pub struct AdviseOptions {
    pub replications: u64,
    pub seed: u64,
    pub threads: usize,
    pub slo: Option<f64>,
}

/// Measures every fix against the model. `load(sets)` builds the model with extra
/// `--set` overrides (the fixes are applied as the user would apply them).
pub fn advise(
    model: &Model,
    load: &dyn Fn(&[String]) -> Result<Model, String>,
    opts: &AdviseOptions,
    progress: &dyn Fn(&str),
) -> Result<Advice, String> {
    let (fixes, passed) = checks(model);
    let plan = RunPlan {
        seed: opts.seed,
        first: 0,
        count: opts.replications,
        threads: opts.threads,
        engine: EngineChoice::Auto,
    };
    let c = model.simulation.confidence;
    let per_year = YEAR / model.simulation.horizon;
    let base = run_report_paired(model, None, &plan, None, &|_| {}).map_err(|e| e.to_string())?;
    let mut measured = Vec::new();
    for f in fixes {
        progress(&f.fix);
        let fixed = load(&f.sets)?;
        let r: RunReport = run_report_paired(&fixed, Some(model), &plan, None, &|_| {})
            .map_err(|e| e.to_string())?;
        let d = r
            .downtime_difference_seconds
            .ok_or("a paired run gave no difference")?;
        let saved = negated(&d, per_year / 60.0);
        let lost = r
            .lost_metrics_difference
            .as_ref()
            .map(|l| negated(l, per_year));
        measured.push(Measured {
            fix: f,
            downtime_saved_minutes_per_year: saved,
            lost_metrics_saved_per_year: lost,
            significant: false,
            large: false,
        });
    }
    // Holm over the fixes, for downtime and (separately) for data lost.
    let alpha = 1.0 - c;
    mark_significant(
        measured
            .iter_mut()
            .map(|m| &mut m.downtime_saved_minutes_per_year),
        alpha,
    );
    mark_significant(
        measured
            .iter_mut()
            .filter_map(|m| m.lost_metrics_saved_per_year.as_mut()),
        alpha,
    );
    let x = &base.availability;
    let minutes = |a: f64| (1.0 - a) * model.simulation.horizon * per_year / 60.0;
    let slo = opts.slo.or(model.system.slo);
    let budget = slo.map_or(minutes(x.mean), |s| (1.0 - s) * YEAR / 60.0);
    for m in &mut measured {
        let d = &m.downtime_saved_minutes_per_year;
        let kept = m
            .lost_metrics_saved_per_year
            .as_ref()
            .is_some_and(|l| l.significant);
        m.significant = d.significant || kept;
        m.large = d.significant && d.ci_low >= LARGE_SHARE * budget;
    }
    // Downtime saved first (largest first), then data kept, then the rest.
    let rank = |m: &Measured| {
        if m.downtime_saved_minutes_per_year.significant {
            0
        } else if m.significant {
            1
        } else {
            2
        }
    };
    let lost_mean = |m: &Measured| {
        m.lost_metrics_saved_per_year
            .as_ref()
            .map_or(0.0, |l| l.mean)
    };
    measured.sort_by(|a, b| {
        rank(a).cmp(&rank(b)).then_with(|| match rank(a) {
            1 => lost_mean(b).total_cmp(&lost_mean(a)),
            _ => b
                .downtime_saved_minutes_per_year
                .mean
                .total_cmp(&a.downtime_saved_minutes_per_year.mean),
        })
    });
    Ok(Advice {
        model: model.name.clone(),
        replications: base.replications,
        seed: opts.seed,
        confidence: c,
        downtime_minutes_per_year: Saved {
            mean: minutes(x.mean),
            ci_low: minutes(x.ci_high),
            ci_high: minutes(x.ci_low),
            std_err: x.std_err * model.simulation.horizon * per_year / 60.0,
            significant: true,
        },
        slo,
        fixes: measured,
        passed,
        large_threshold_minutes_per_year: budget,
    })
}

/// Sets `significant` on each saving by Holm's procedure over all of them at `alpha`.
fn mark_significant<'a>(saved: impl Iterator<Item = &'a mut Saved>, alpha: f64) {
    let mut saved: Vec<&mut Saved> = saved.collect();
    let p: Vec<f64> = saved
        .iter()
        .map(|s| two_sided_p(s.mean, s.std_err))
        .collect();
    for (s, sig) in saved.iter_mut().zip(holm(&p, alpha)) {
        s.significant = sig;
    }
}

/// −e scaled by `k`: a difference "fixed − model" as a saving.
fn negated(e: &Estimate, k: f64) -> Saved {
    Saved {
        mean: -e.mean * k,
        ci_low: -e.ci_high * k,
        ci_high: -e.ci_low * k,
        std_err: e.std_err * k,
        significant: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Dist;

    /// Every check has a case: a model that fails each one proposes each fix once, and
    /// every fix's overrides load, and the fixed model passes the check it failed.
    const FAILS_EVERY_CHECK: &str = r#"
name = "fails every check"
[system]
read_path = ["C", "D"]
flow = ["A", "B", "C", "D"]
[[nodes]]
name = "n-1"
every = { dist = "exponential", mean = "90d" }
recovery = { dist = "lognormal", median = "20m", sigma = 0.8 }
[[nodes]]
name = "n-2"
every = { dist = "exponential", mean = "90d" }
recovery = { dist = "lognormal", median = "20m", sigma = 0.8 }
[upgrades]
every = "30d"
node_time = "10m"
[stages.A]
role = "source"
kind = "external"
rate = 1.0
[stages.B]
role = "collector"
kind = "deployment"
nodes = ["n-1", "n-2"]
failure = { dist = "exponential", mean = "30d" }
restart = "5s"
buffer = { limit = 100, persistent = false, drain_rate = 100.0 }
[stages.C]
role = "store"
kind = "statefulset"
replicas = 2
min_ready = 1
nodes = ["n-1", "n-2"]
volume = "local"
restart = "8s"
  [[stages.C.failures]]
  name = "hang"
  every = { dist = "exponential", mean = "180d" }
  detect = { dist = "lognormal", median = "2h", sigma = 1.0 }
[stages.D]
role = "reader"
kind = "deployment"
replicas = 2
min_ready = 2
nodes = ["n-1", "n-2"]
spread = "required"
pdb = { min_available = 2 }
failure = { dist = "exponential", mean = "60d" }
restart = "5s"
  [stages.D.maintenance]
  every = "7d"
  max_unavailable = 1
"#;

    fn load(sets: &[String]) -> Model {
        Model::from_str(
            "fails.toml",
            FAILS_EVERY_CHECK,
            std::path::Path::new("."),
            sets,
        )
        .unwrap_or_else(|e| panic!("{sets:?}: {e}"))
    }

    #[test]
    fn a_model_that_fails_every_check_gets_every_fix_and_each_fix_passes_its_check() {
        let m = load(&[]);
        let (fixes, passed) = checks(&m);
        let found: Vec<&str> = fixes.iter().map(|f| f.check.as_str()).collect();
        let expect = [
            "no liveness probe on C, whose hang is noticed only by a person",
            "no hard anti-affinity on C: after a node loss two replicas may share a node",
            "no PodDisruptionBudget on C: a drain may evict every replica",
            "C is a StatefulSet on a local volume: its Pods wait for their node",
            "the PodDisruptionBudget on D blocks every drain until it is forced",
            "max_unavailable 1 lets a rollout of D take its last ready Pod",
            "B buffers in memory: a restart loses what it holds",
        ];
        for e in expect {
            assert_eq!(
                found.iter().filter(|f| **f == e).count(),
                1,
                "{e} in {found:#?}"
            );
        }
        let small = found
            .iter()
            .find(|f| f.starts_with("the buffer of B (100 metrics) is smaller than C's p99 outage"))
            .unwrap_or_else(|| panic!("no buffer finding in {found:#?}"));
        assert!(
            small.contains("× its share of the data (1.000/s) = "),
            "{small}"
        );
        assert_eq!(fixes.len(), expect.len() + 1, "{found:#?}");
        assert_eq!(passed, vec!["C: 2 replicas", "D: 2 replicas"]);
        // Each fix's overrides load, and the fixed model no longer fails that check.
        for f in &fixes {
            let fixed = load(&f.sets);
            let (again, _) = checks(&fixed);
            assert!(
                again.iter().all(|g| g.check != f.check),
                "{} still found after {:?}",
                f.check,
                f.sets
            );
        }
    }

    #[test]
    fn one_node_gets_a_second_node_with_replicas_on_both() {
        let seed = Model::load(std::path::Path::new("models/seed.toml"), &[]).unwrap();
        let (fixes, _) = checks(&seed);
        let node = fixes
            .iter()
            .find(|f| f.extra_nodes == 1)
            .expect("a second node");
        assert_eq!(node.extra_replicas, 2);
        let fixed = Model::load(std::path::Path::new("models/seed.toml"), &node.sets).unwrap();
        assert_eq!(fixed.nodes.len(), 2);
        assert_eq!(fixed.nodes[1].name, "minikube-2");
        assert_eq!(
            format!("{:?}", fixed.nodes[1].failure),
            format!("{:?}", seed.nodes[0].failure),
            "the new node fails like the first"
        );
        for name in ["C", "D"] {
            let s = fixed.stages.iter().find(|s| s.name == name).unwrap();
            assert_eq!((s.replicas, s.nodes.len()), (2, 2), "{name}");
        }
        let c = fixed.stages.iter().find(|s| s.name == "C").unwrap();
        assert_eq!(c.spread, Some(Spread::Required));
        let (again, _) = checks(&fixed);
        assert!(
            again
                .iter()
                .all(|g| !g.check.starts_with("every Pod on one node"))
        );
        assert!(again.iter().all(|g| !g.check.starts_with("single replica")));
    }

    #[test]
    fn a_second_node_is_named_after_the_first() {
        assert_eq!(next_name("node-1"), "node-2");
        assert_eq!(next_name("minikube"), "minikube-2");
        assert_eq!(next_name("pool-a-9"), "pool-a-10");
        assert_eq!(next_name("a-"), "a--2");
    }

    #[test]
    fn inline_toml_reads_back() {
        let d = Dist::lognormal_median(900.0, 0.6).unwrap();
        let text = inline(&d);
        let v: toml::Table = format!("v = {text}").parse().unwrap();
        assert_eq!(v["v"]["dist"].as_str(), Some("lognormal"));
    }
}
