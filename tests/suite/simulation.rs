//! The simulator and the solver against answers worked out by hand.
//!
//! Every expected value below is a literal derived in the comment beside it, never from
//! hasim's own formulas. Stochastic checks use fixed seeds and a tolerance of four
//! standard errors of the run itself; deterministic models use an absolute tolerance.
//! Models whose replicas are independent are checked on both engines (the timeline
//! engine that `auto` picks for them, and the event engine).

use std::path::Path;

use hasim::analytic;
use hasim::estimate::Tally;
use hasim::estimate::plain::{RunPlan, simulate};
use hasim::estimate::results::{Perf, RunReport};
use hasim::model::Model;
use hasim::sim::{Engine, EngineChoice};

use crate::model;

fn tally_on(engine: EngineChoice, m: &Model, seed: u64, count: u64, threads: usize) -> Tally {
    simulate(
        m,
        &RunPlan {
            seed,
            first: 0,
            count,
            threads,
            engine,
        },
        &|_| {},
    )
    .unwrap()
    .tally
}

fn report(m: &Model, seed: u64, count: u64, threads: usize) -> RunReport {
    report_on(EngineChoice::Auto, m, seed, count, threads)
}

fn report_on(engine: EngineChoice, m: &Model, seed: u64, count: u64, threads: usize) -> RunReport {
    let t = tally_on(engine, m, seed, count, threads);
    RunReport::new(
        m,
        seed,
        &t,
        Perf {
            wall_seconds: 0.0,
            years_per_second: 0.0,
            events: t.events,
            threads,
            engine: Engine::new(m, engine).name().into(),
        },
    )
}

/// The engines a model runs on: the event engine, and the timeline engine when `auto`
/// picks it.
fn engines(m: &Model) -> Vec<EngineChoice> {
    match Engine::new(m, EngineChoice::Auto) {
        Engine::Timelines(_) => vec![EngineChoice::Auto, EngineChoice::Events],
        Engine::Events(_) => vec![EngineChoice::Events],
    }
}

/// Mean availability within four standard errors of `expected`, on every engine the
/// model runs on.
fn assert_availability(m: &Model, expected: f64, count: u64) {
    for engine in engines(m) {
        assert_availability_on(engine, m, expected, count);
    }
}

fn assert_availability_on(engine: EngineChoice, m: &Model, expected: f64, count: u64) {
    let r = report_on(engine, m, 11, count, 0);
    let a = r.availability;
    assert!(
        (a.mean - expected).abs() <= 4.0 * a.std_err,
        "{} ({engine:?}): simulated {} ± {} (4 se), expected {expected}",
        m.name,
        a.mean,
        4.0 * a.std_err
    );
    // The tolerance must be meaningful: tight enough to catch a wrong rule.
    assert!(
        a.std_err < 0.01 * (1.0 - expected).max(1e-6) * 10.0,
        "test too weak: se {}",
        a.std_err
    );
}

fn assert_solves_to(m: &Model, expected: f64) {
    let s = analytic::solve(m).unwrap();
    assert!(s.exact, "{}: solve says inexact: {:?}", m.name, s.notes);
    assert!(
        (s.availability - expected).abs() < 1e-9,
        "{}: solve {} vs {expected}",
        m.name,
        s.availability
    );
}

/// One replica, exponential times: MTTF 5 d, MTTR 1 d, horizon 30 d.
/// With λ = 0.2/d, μ = 1/d, (λ+μ)Y = 36, the exact finite-horizon mean unavailability is
/// (λ/(λ+μ))·(1 − (1 − e^{−36})/36) = (1/6)·(1 − 0.0277777…) = 0.162037037…
const ONE_EXP: &str = r#"
name = "one exponential replica"
[simulation]
horizon = "30d"
[system]
read_path = ["C"]
[stages.C]
kind = "external"
failure = { dist = "exponential", mean = "5d" }
restart = { dist = "exponential", mean = "1d" }
"#;
const ONE_EXP_FINITE: f64 = 1.0 - 0.162_037_037_037_037;

#[test]
fn one_exponential_replica_matches_the_finite_horizon_formula() {
    assert_availability(&model(ONE_EXP), ONE_EXP_FINITE, 40_000);
}

#[test]
fn one_exponential_replica_solves_to_mttf_over_mttf_plus_mttr() {
    // 5 d / (5 d + 1 d)
    assert_solves_to(&model(ONE_EXP), 5.0 / 6.0);
}

/// Weibull failures (shape 2, mean 10 h), lognormal restarts (mean 1 h, cv 0.5): the
/// steady state is MTTF/(MTTF+MTTR) = 10/11 whatever the shapes; a 20-year horizon makes
/// the start-up bias negligible (well under one standard error).
const NON_EXP: &str = r#"
name = "one non-exponential replica"
[simulation]
horizon = "20y"
[system]
read_path = ["C"]
[stages.C]
kind = "external"
failure = { dist = "weibull", shape = 2.0, mean = "10h" }
restart = { dist = "lognormal", mean = "1h", cv = 0.5 }
"#;

#[test]
fn non_exponential_replica_reaches_the_renewal_steady_state() {
    assert_availability(&model(NON_EXP), 10.0 / 11.0, 1_000);
}

#[test]
fn non_exponential_replica_solves_exactly() {
    assert_solves_to(&model(NON_EXP), 10.0 / 11.0);
}

/// 2-of-3 with independent repair, replica availability a = 10/12 = 5/6 (Weibull and
/// gamma, to show insensitivity). P(at least 2 up) = 3a²(1−a) + a³ = (75 + 125)/216.
const TWO_OF_THREE: &str = r#"
name = "2-of-3 independent"
[simulation]
horizon = "10y"
[system]
read_path = ["C"]
[stages.C]
kind = "external"
replicas = 3
min_ready = 2
failure = { dist = "weibull", shape = 1.5, mean = "10h" }
restart = { dist = "gamma", shape = 2.0, mean = "2h" }
"#;

#[test]
fn k_of_n_with_independent_repair() {
    assert_availability(&model(TWO_OF_THREE), 200.0 / 216.0, 1_000);
    assert_solves_to(&model(TWO_OF_THREE), 200.0 / 216.0);
}

/// 1-of-2 with one repair crew, λ = 1/10 h, μ = 1/2 h. Birth–death chain on the number
/// failed: π1 = π0·2λ/μ = 0.4, π2 = π1·λ/μ = 0.08; unavailability π2/(1 + 0.4 + 0.08)
/// = 0.08/1.48, availability 1.4/1.48.
const ONE_CREW: &str = r#"
name = "1-of-2, one crew"
[simulation]
horizon = "10y"
[system]
read_path = ["C"]
[stages.C]
kind = "external"
replicas = 2
min_ready = 1
repair_crews = 1
failure = { dist = "exponential", mean = "10h" }
restart = { dist = "exponential", mean = "2h" }
"#;

#[test]
fn one_crew_birth_death_chain() {
    assert_availability(&model(ONE_CREW), 1.4 / 1.48, 1_000);
    assert_solves_to(&model(ONE_CREW), 1.4 / 1.48);
}

/// 2-of-3 with one crew: π1 = 3λ/μ = 0.6, π2 = π1·2λ/μ = 0.24, π3 = π2·λ/μ = 0.048;
/// up with at most one failed: (1 + 0.6)/(1 + 0.6 + 0.24 + 0.048) = 1.6/1.888.
#[test]
fn two_of_three_with_one_crew() {
    let m = model(&ONE_CREW.replace("replicas = 2\nmin_ready = 1", "replicas = 3\nmin_ready = 2"));
    assert_availability(&m, 1.6 / 1.888, 1_000);
    assert_solves_to(&m, 1.6 / 1.888);
}

/// C: one replica, 10 h / 1 h → 10/11. D: 1-of-2 independent, 5 h / 1 h → 1 − (1/6)² =
/// 35/36. In series: 350/396.
const SERIES: &str = r#"
name = "series of groups"
[simulation]
horizon = "10y"
[system]
read_path = ["C", "D"]
[stages.C]
kind = "external"
failure = { dist = "exponential", mean = "10h" }
restart = { dist = "exponential", mean = "1h" }
[stages.D]
kind = "external"
replicas = 2
failure = { dist = "exponential", mean = "5h" }
restart = { dist = "lognormal", mean = "1h", cv = 1.0 }
"#;

#[test]
fn series_of_groups_multiplies() {
    assert_availability(&model(SERIES), 350.0 / 396.0, 1_000);
    assert_solves_to(&model(SERIES), 350.0 / 396.0);
}

/// One node (failures exponential, mean M = 10 h; recovery fixed 1 h) carries C (restart
/// fixed 6 min) and D (fixed 12 min), which never fail by themselves. The node's next
/// failure is drawn when it is back, so cycles are node-up + 1 h. Per cycle the path is
/// down for the recovery plus R = 12 min after it, cut short if the node fails first:
/// E[min(R, N)] = M(1 − e^{−R/M}) = 10 h·(1 − e^{−0.02}) = 0.198013267 h.
/// Unavailability = (1 + 0.198013267)/(10 + 1) = 0.108910297; availability 0.891089703.
const SHARED_NODE: &str = r#"
name = "a node shared by two stages"
[simulation]
horizon = "10y"
[system]
read_path = ["C", "D"]
[[nodes]]
name = "n1"
every = { dist = "exponential", mean = "10h" }
recovery = "1h"
[stages.C]
kind = "statefulset"
nodes = ["n1"]
restart = "6m"
[stages.D]
nodes = ["n1"]
restart = "12m"
"#;
const SHARED_NODE_AVAIL: f64 = 0.891_089_703_006_141;

#[test]
fn a_node_shared_by_two_stages() {
    assert_availability(&model(SHARED_NODE), SHARED_NODE_AVAIL, 1_000);
    assert_solves_to(&model(SHARED_NODE), SHARED_NODE_AVAIL);
}

fn deterministic(extra: &str, horizon: &str) -> Model {
    model(&format!(
        r#"
name = "deterministic"
[simulation]
horizon = "{horizon}"
[system]
read_path = ["C"]
[stages.C]
{extra}
"#
    ))
}

/// A deterministic history has exactly `x` seconds of downtime in `outages` outages, on
/// every engine the model runs on, and the engines count the same events.
fn assert_history(m: &Model, x: f64, outages: f64) {
    let mut events = vec![];
    for engine in engines(m) {
        let (got_x, got_outages) = single_history_on(engine, m);
        assert!(
            (got_x - x).abs() < 1e-9 * x.max(1.0),
            "{engine:?}: X = {got_x}, expected {x}"
        );
        assert_eq!(got_outages, outages, "{engine:?}");
        events.push(tally_on(engine, m, 1, 3, 1).events);
    }
    assert!(events.windows(2).all(|w| w[0] == w[1]), "events {events:?}");
}

fn single_history_on(engine: EngineChoice, m: &Model) -> (f64, f64) {
    let r = report_on(engine, m, 1, 3, 1);
    // Deterministic: every history is the same.
    let d = &r.downtime_seconds;
    assert!(
        (d.max - d.mean).abs() <= 1e-9 * d.max.max(1.0),
        "{} vs {}",
        d.max,
        d.mean
    );
    (r.downtime_seconds.mean, r.outages.mean)
}

#[test]
fn deterministic_times_give_exact_downtime() {
    // Failures at 10 d and 21 d, each 1 d down; the next at 32 d is past 30 d.
    let m = deterministic(
        "backoff = false\nfailure = \"10d\"\nrestart = \"1d\"",
        "30d",
    );
    assert_history(&m, 2.0 * 86_400.0, 2.0);
    let r = report(&m, 1, 3, 1);
    assert!((r.availability.mean - 28.0 / 30.0).abs() < 1e-12);
}

#[test]
fn detection_delay_adds_to_each_outage() {
    // Fail 10 d, noticed 2 h later, back 1 d after that (11 d 2 h); fail 21 d 2 h, back
    // 22 d 4 h; the next failure (32 d 4 h) is past the horizon. X = 2 d 4 h.
    let m = deterministic(
        "backoff = false\nrestart = \"1d\"\n[[stages.C.failures]]\nname = \"hang\"\nevery = \"10d\"\ndetect = \"2h\"",
        "30d",
    );
    assert_history(&m, 2.0 * 86_400.0 + 4.0 * 3600.0, 2.0);
}

#[test]
fn an_outage_open_at_the_horizon_is_cut_and_counted() {
    // Fails at 10 d, restart takes 30 d: down from 10 d to the 30 d horizon.
    let m = deterministic(
        "backoff = false\nfailure = \"10d\"\nrestart = \"30d\"",
        "30d",
    );
    assert_history(&m, 20.0 * 86_400.0, 1.0);
}

#[test]
fn classic_backoff_doubles_for_a_repeating_crash() {
    // Fails every 100 s after becoming ready, restart 5 s. Restart starts and delays:
    // fail 100 → delay 0, up 105; fail 205 (105 s after the start at 100 ≤ 600) → 10 s,
    // up 220; fail 320 → 20 s, up 345; fail 445 → 40 s, up 490; fail 590 → 80 s, up 675;
    // fail 775 → 160 s, up 940; next fail 1040 > 1000. X = 5+15+25+45+85+165 = 340 s.
    let m = deterministic(
        "failure = \"100s\"\nrestart = \"5s\"\nbackoff = true",
        "1000s",
    );
    assert_history(&m, 340.0, 6.0);
}

#[test]
fn backoff_resets_when_the_container_exits_ten_minutes_after_its_start() {
    // Fails 700 s after each start: always more than 600 s after the last start, so
    // every restart is immediate: failures at 700, 1405, 2110, 2815; X = 4 × 5 s.
    let m = deterministic("failure = \"700s\"\nrestart = \"5s\"", "3000s");
    assert_history(&m, 20.0, 4.0);
    // 500 s after a start is within 600 s: 500 → 0, 1005 → 10, 1520 → 20, 2045 → 40,
    // 2590 → 80 (up 2675); X = 5 + 15 + 25 + 45 + 85 = 175 s.
    let m = deterministic("failure = \"500s\"\nrestart = \"5s\"", "3000s");
    assert_history(&m, 175.0, 5.0);
}

#[test]
fn the_reset_window_is_ten_minutes_under_the_reduced_profile_too() {
    // Reduced profile (1 s doubling, cap 60 s), but the kubelet's window stays 600 s.
    // Fail 200 s after each ready, restart 5 s. Exits and the last start before each:
    // 200 (start 0) → delay 0, restart 200, up 205; 405 (205 s after 200) → 1 s, restart
    // 406, up 411; 611 → 2 s, 613, up 618; 818 → 4 s, 822, up 827; 1027 → 8 s, 1035, up
    // 1040; the next failure (1240) is past 1100 s. X = 5 + 6 + 7 + 9 + 13 = 40 s. (A
    // window of 2·cap = 120 s would reset every time: 25 s.)
    let m = deterministic(
        "failure = \"200s\"\nrestart = \"5s\"\nbackoff = { profile = \"reduced\" }",
        "1100s",
    );
    assert_history(&m, 40.0, 5.0);
}

#[test]
fn the_reset_is_judged_when_the_container_exits_not_when_it_hangs() {
    // A hang 590 s after each ready, noticed (the container killed) 20 s later; restart
    // 5 s, classic back-off. Kills at 610 (610 s after the start at 0), 1225 (615 s after
    // the restart began at 610), 1840 (615 s after 1225): each more than 600 s after the
    // last start, so every restart is immediate. X = 3 × 25 s; the next hang (2435) is
    // past 2000 s. Judged at the hang's onset (590 and 595 s after the starts) the count
    // would not reset, and the second and third restarts would wait 10 and 20 s.
    let m = deterministic(
        "restart = \"5s\"\n[[stages.C.failures]]\nname = \"hang\"\nevery = \"590s\"\ndetect = \"20s\"",
        "2000s",
    );
    assert_history(&m, 75.0, 3.0);
}

#[test]
fn the_reset_is_judged_at_the_liveness_kill() {
    // A hang 585 s after each ready, killed by the default liveness probe D in [21, 31) s
    // later; restart 5 s. The first kill comes 606–616 s after the start at 0, each later
    // one 590 s + D after the restart began at the previous kill: all above 600 s, so no
    // restart waits. Three hangs before 2000 s (the third is ready by about 1860 s, the
    // fourth hang is past 2400 s): X = Σ (D + 5) in [78, 108). Judged at the hang's onset
    // (585 and 590 s after the starts), the second and third restarts would wait 10 and
    // 20 s: X in [108, 138).
    let m = deterministic(
        "restart = \"5s\"\nprobes = { liveness = {} }\n[[stages.C.failures]]\nname = \"hang\"\nevery = \"585s\"\ndetect = \"liveness\"",
        "2000s",
    );
    for engine in engines(&m) {
        let r = report_on(engine, &m, 3, 2000, 0);
        assert_eq!(r.outages.mean, 3.0, "{engine:?}");
        assert!(
            r.downtime_seconds.max < 108.0,
            "{engine:?}: {}",
            r.downtime_seconds.max
        );
        // The lower end: the 1 % quantile of a sum of three uniforms is well above 78 s.
        assert!(r.downtime_seconds.p50 > 78.0, "{engine:?}");
    }
}

#[test]
fn reduced_backoff_doubles_up_to_its_cap() {
    // Reduced profile: 1 s doubling, cap 60 s, reset window 600 s. Fail 100 s after each
    // ready, restart 5 s; each failure comes 105 s after the last restart began (≤ 600 s):
    // fail 100 → 0 s, up 105; 205 → 1 s, up 211; 311 → 2, up 318; 418 → 4, up 427;
    // 527 → 8, up 540; 640 → 16, up 661; 761 → 32, up 798; 898 → min(64, 60) = 60, up
    // 963; next fail 1063 > 1000. X = 5+6+7+9+13+21+37+65 = 163 s in 8 outages.
    let m = deterministic(
        "failure = \"100s\"\nrestart = \"5s\"\nbackoff = { profile = \"reduced\", cap = \"60s\" }",
        "1000s",
    );
    assert_history(&m, 163.0, 8.0);
}

#[test]
fn liveness_detection_is_within_its_window() {
    // A hang at 1000 s found by the default probe (10 s, 3, 1 s) after [21 s, 31 s),
    // restart 5 s: X in [26, 36) for every history, mean 31 s.
    let m = deterministic(
        "backoff = false\nrestart = \"5s\"\nprobes = { liveness = {} }\n[[stages.C.failures]]\nname = \"hang\"\nevery = \"1000s\"\ndetect = \"liveness\"",
        "1500s",
    );
    for engine in engines(&m) {
        let r = report_on(engine, &m, 5, 20_000, 0);
        let d = &r.downtime_seconds;
        // The histogram's quantiles are within ±0.25 %; min via p0 is not reported, so
        // the upper end uses the exact max and the lower end the 1 % quantile.
        assert!(d.max < 36.0, "{engine:?}: {}", d.max);
        assert!(r.outages.mean == 1.0);
        let low = hasim::stats::Histogram::REL_WIDTH;
        assert!(d.p50 > 26.0 * (1.0 - low));
        // Mean of U·10 + 21 + 5 with U uniform: 31 s; se = 10/sqrt(12·20000).
        let se = 10.0 / (12.0f64 * 20_000.0).sqrt();
        assert!((d.mean - 31.0).abs() < 4.0 * se, "{engine:?}: {}", d.mean);
    }
}

#[test]
fn the_timeline_engine_leaves_drains_and_pending_replicas_to_the_event_engine() {
    let on_nodes = |more: &str| {
        model(&format!(
            "[system]\nread_path = [\"C\"]\n[[nodes]]\nname = \"n1\"\n[[nodes]]\nname = \"n2\"\n{more}\n\
             [stages.C]\nkind = \"statefulset\"\nreplicas = 2\nnodes = [\"n1\", \"n2\"]\nrestart = \"5s\"\n\
             failure = {{ dist = \"exponential\", mean = \"5d\" }}\npdb = {{ min_available = 1 }}"
        ))
    };
    let engine = |m: &Model| Engine::new(m, EngineChoice::Auto).name();
    // Nodes that never fail, a budget nothing uses: independent replicas.
    assert_eq!(engine(&on_nodes("")), "timelines");
    // Drains move Pods and hold evictions on budgets.
    assert_eq!(engine(&on_nodes("[upgrades]\nevery = \"30d\"")), "events");
    // A third replica that required spread leaves Pending from the start.
    let pending = on_nodes("")
        .to_resolved_toml()
        .replace("replicas = 2", "replicas = 3");
    let pending = model(&pending.replace("spread = \"preferred\"", "spread = \"required\""));
    assert_eq!(engine(&pending), "events");
}

#[test]
fn solve_follows_the_rolling_update_arithmetic() {
    // Three replicas all needed, surge 1, unavailable 1, 20 s starts: 40 s down per
    // rollout (tests/suite/semantics.rs walks the same rollout in the simulator), one every
    // 1000 s: 0.96. One replica with surge 1, unavailable 0: no downtime.
    let rolled = |more: &str| {
        model(&format!(
            "[system]\nread_path = [\"C\"]\n[stages.C]\nkind = \"deployment\"\nrestart = \"5s\"\nrecreate = \"20s\"\n{more}"
        ))
    };
    let s = analytic::solve(&rolled(
        "replicas = 3\nmin_ready = 3\nmaintenance = { every = \"1000s\", max_surge = 1, max_unavailable = 1 }",
    ))
    .unwrap();
    assert!((s.availability - 0.96).abs() < 1e-12, "{}", s.availability);
    let s = analytic::solve(&rolled("maintenance = { every = \"1000s\" }")).unwrap();
    assert_eq!(s.availability, 1.0);
    // One replica, surge 1, unavailable 1: down for each new Pod's start.
    let s = analytic::solve(&rolled(
        "maintenance = { every = \"1000s\", max_surge = 1, max_unavailable = 1 }",
    ))
    .unwrap();
    assert!((s.availability - 0.98).abs() < 1e-12, "{}", s.availability);
}

#[test]
fn crews_restart_one_at_a_time_after_a_node_returns() {
    // Node fails at 100 s, back at 150 s; both replicas (2-of-2) restart 10 s each
    // through one crew: up at 170 s. Next node failure at 250 s > 240 s. X = 70 s.
    let m = model(
        r#"
[simulation]
horizon = "240s"
[system]
read_path = ["C"]
[[nodes]]
name = "n"
every = "100s"
recovery = "50s"
[stages.C]
replicas = 2
min_ready = 2
repair_crews = 1
nodes = ["n"]
restart = "10s"
"#,
    );
    assert_history(&m, 70.0, 1.0);
}

#[test]
fn stage_results_count_failures_and_downtime() {
    // As in deterministic_times_give_exact_downtime: 2 failures, 2 d down of 30 d.
    let m = deterministic(
        "backoff = false\nfailure = \"10d\"\nrestart = \"1d\"",
        "30d",
    );
    let r = report(&m, 1, 2, 1);
    assert_eq!(r.stages[0].failures.mean, 2.0);
    assert!((r.stages[0].availability.mean - 28.0 / 30.0).abs() < 1e-12);
}

#[test]
fn slo_probability_counts_histories_within_budget() {
    // Deterministic X = 2 d of 30 d: availability 0.9333 meets 0.9 but not 0.95.
    let base = "backoff = false\nfailure = \"10d\"\nrestart = \"1d\"";
    for (slo, p) in [(0.9, 1.0), (0.95, 0.0)] {
        let m = model(&format!(
            "[simulation]\nhorizon = \"30d\"\n[system]\nread_path = [\"C\"]\nslo = {slo}\n[stages.C]\n{base}\n"
        ));
        assert_eq!(report(&m, 1, 10, 1).slo.unwrap().p_meet, p);
    }
}

/// Over 200 seeds, the 95 % interval of a 200-history run contains the exact value a
/// number of times inside the binomial band: for Binomial(200, 0.95),
/// P(count ≤ 178) < 0.0005 and P(count ≥ 199) < 0.0005, so accept [179, 198].
#[test]
fn intervals_cover_the_true_value_at_their_level() {
    let m = model(ONE_EXP);
    let mut covered = 0;
    for seed in 1000..1200 {
        let r = report(&m, seed, 200, 1);
        if r.availability.ci_low <= ONE_EXP_FINITE && ONE_EXP_FINITE <= r.availability.ci_high {
            covered += 1;
        }
    }
    assert!((179..=198).contains(&covered), "covered {covered} of 200");
}

/// The paired difference of a sweep point to the model's own point covers the exact
/// difference at its level. ONE_EXP against the same replica repaired twice as fast
/// (MTTR 12 h): λ = 0.2/d, μ = 2/d, (λ+μ)Y = 66, so its finite-horizon mean unavailability
/// is (0.2/2.2)·(1 − (1 − e^{−66})/66) = (1/11)·(65/66) = 65/726 = 0.0895316804…; ONE_EXP's
/// is 0.1620370370…, so X differs by (0.1620370370 − 0.0895316804) · 2 592 000 s =
/// 187 933.88 s per 30-day history. Over 200 seeds of 200 paired histories the 95 %
/// interval holds it a number of times inside the binomial band [179, 198] (as above).
#[test]
fn paired_differences_cover_the_true_difference_at_their_level() {
    use hasim::estimate::plain::run_report_paired;
    const TRUE_DIFFERENCE: f64 = (0.162_037_037_037_037 - 0.089_531_680_440_771) * 2_592_000.0;
    let a = model(ONE_EXP);
    let b = model(&ONE_EXP.replace(
        "restart = { dist = \"exponential\", mean = \"1d\" }",
        "restart = { dist = \"exponential\", mean = \"12h\" }",
    ));
    let mut covered = 0;
    let mut widths = (0.0, 0.0);
    for seed in 1000..1200 {
        let plan = RunPlan {
            seed,
            first: 0,
            count: 200,
            threads: 1,
            engine: EngineChoice::Auto,
        };
        let r = run_report_paired(&a, Some(&b), &plan, None, &|_| {}).unwrap();
        let d = r.downtime_difference_seconds.expect("a paired run");
        if d.ci_low <= TRUE_DIFFERENCE && TRUE_DIFFERENCE <= d.ci_high {
            covered += 1;
        }
        // Against two separate intervals: √(se_a² + se_b²).
        let rb = report(&b, seed, 200, 1);
        let separate = (r.downtime_seconds.ci_high - r.downtime_seconds.ci_low)
            .hypot(rb.downtime_seconds.ci_high - rb.downtime_seconds.ci_low);
        widths.0 += d.ci_high - d.ci_low;
        widths.1 += separate;
    }
    assert!((179..=198).contains(&covered), "covered {covered} of 200");
    // Common random numbers make the paired interval no wider than the separate ones.
    assert!(
        widths.0 <= widths.1,
        "paired {} vs separate {}",
        widths.0,
        widths.1
    );
}

#[test]
fn results_do_not_depend_on_threads_and_do_depend_on_seed() {
    let text = std::fs::read_to_string("models/seed.toml").unwrap();
    let m = Model::from_str("models/seed.toml", &text, Path::new("models"), &[]).unwrap();
    let strip = |r: RunReport| {
        let mut v = serde_json::to_value(&r).unwrap();
        v.as_object_mut().unwrap().remove("perf");
        v
    };
    let one = strip(report(&m, 3, 1_700, 1));
    let two = strip(report(&m, 3, 1_700, 2));
    assert_eq!(one, two);
    let other = strip(report(&m, 4, 1_700, 2));
    assert_ne!(one, other);
}

#[test]
fn every_bundled_model_is_valid_and_runs() {
    for entry in std::fs::read_dir("models").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let m = Model::load(&path, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let r = report(&m, 1, 200, 0);
        assert!(
            r.availability.mean > 0.9 && r.availability.mean <= 1.0,
            "{}",
            path.display()
        );
        // The solver answers every bundled model but the one with node drains, which it
        // refuses with the reason.
        match analytic::solve(&m) {
            Ok(_) => assert!(m.upgrades.is_none(), "{}", path.display()),
            Err(e) => assert!(
                m.upgrades.is_some() && e.to_string().contains("[upgrades]"),
                "{}: {e}",
                path.display()
            ),
        }
    }
}

#[test]
fn r1_matches_its_published_steady_state() {
    // bench/floor/README.md: steady-state availability 0.999237875.
    let m = Model::load(Path::new("models/r1.toml"), &[]).unwrap();
    assert!((analytic::solve(&m).unwrap().availability - 0.999_237_875).abs() < 5e-10);
    let r = report(&m, 1, 20_000, 0);
    // One-year histories start fully up: the finite-horizon bias is about
    // Σ MTTR/Y ≈ 1e-7, far below 4 se (≈ 5e-6).
    assert!((r.availability.mean - 0.999_237_875).abs() < 4.0 * r.availability.std_err);
}

/// A random distribution of scale `mean` (a duration) for the random-model tests:
/// exponential, Weibull, lognormal, uniform or fixed, as model TOML.
fn pick(mean: &str, rng: &mut rand_xoshiro::Xoshiro256PlusPlus) -> String {
    use rand::RngExt;
    const DISTS: [&str; 5] = [
        "{ dist = \"exponential\", mean = \"%\" }",
        "{ dist = \"weibull\", shape = 0.7, mean = \"%\" }",
        "{ dist = \"lognormal\", mean = \"%\", cv = 2.0 }",
        "{ dist = \"uniform\", min = \"1s\", max = \"%\" }",
        "\"%\"",
    ];
    DISTS[rng.random_range(0..DISTS.len())].replace('%', mean)
}

/// Random small models (fixed seed), with nodes that fail and are drained, placement
/// rules, budgets and volumes: in every history the system's downtime lies between the
/// largest read-path stage's downtime and their sum, within [0, Y]; causes sum to X; and
/// a reused simulator gives a history exactly as a fresh one does.
#[test]
fn histories_respect_invariants_on_random_models() {
    use hasim::sim::Simulator;
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(2024);
    for case in 0..40 {
        let mut text = String::from(
            "[simulation]\nhorizon = \"60d\"\n[system]\nread_path = [\"S0\", \"S1\"]\n",
        );
        let nodes = rng.random_range(0..3);
        for n in 0..nodes {
            let every = pick("5d", &mut rng);
            let rec = pick("2h", &mut rng);
            text += &format!("[[nodes]]\nname = \"n{n}\"\nevery = {every}\nrecovery = {rec}\n");
        }
        if nodes > 0 && rng.random_bool(0.5) {
            text += &format!(
                "[upgrades]\nevery = {}\nnode_time = {}\npdb_timeout = \"{}m\"\n",
                pick("10d", &mut rng),
                pick("20m", &mut rng),
                rng.random_range(0..120)
            );
        }
        for s in 0..3 {
            let replicas = rng.random_range(1..4);
            let min_ready = rng.random_range(1..=replicas);
            let crews = rng.random_range(0..3);
            let restart = pick("10m", &mut rng);
            let every = pick("3d", &mut rng);
            let hang = pick("10d", &mut rng);
            let detect = pick("30m", &mut rng);
            let persists = pick("15m", &mut rng);
            text += &format!(
                "[stages.S{s}]\nreplicas = {replicas}\nmin_ready = {min_ready}\nrepair_crews = {crews}\n\
                 restart = {restart}\nbackoff = {}\nprobes = {{ liveness = {{}} }}\n",
                rng.random_bool(0.5)
            );
            let statefulset = rng.random_bool(0.5);
            text += if statefulset {
                "kind = \"statefulset\"\n"
            } else {
                "kind = \"deployment\"\n"
            };
            let recreate = pick("20m", &mut rng);
            text += &format!(
                "recreate = {recreate}\nshutdown = \"{}s\"\n",
                rng.random_range(0..40)
            );
            if statefulset && rng.random_bool(0.5) {
                text += &format!("operator_response = {}\n", pick("1h", &mut rng));
            }
            if statefulset && rng.random_bool(0.3) {
                text += "volume = \"local\"\n";
            } else if statefulset {
                text += &format!("detach_wait = \"{}s\"\n", rng.random_range(0..600));
            }
            if rng.random_bool(0.3) {
                text += "spread = \"required\"\n";
            }
            if rng.random_bool(0.5) {
                text += &if rng.random_bool(0.5) {
                    format!(
                        "pdb = {{ min_available = {} }}\n",
                        rng.random_range(0..=replicas)
                    )
                } else {
                    format!(
                        "pdb = {{ max_unavailable = {} }}\n",
                        rng.random_range(0..=replicas)
                    )
                };
            }
            if !statefulset {
                text += &format!("eviction_delay = \"{}s\"\n", rng.random_range(0..600));
            }
            if rng.random_bool(0.5) {
                let every = rng.random_range(1..10);
                text += &if statefulset {
                    format!("maintenance = {{ every = \"{every}d\" }}\n")
                } else {
                    let surge = rng.random_range(0..3);
                    let unavailable = rng.random_range(if surge == 0 { 1 } else { 0 }..3);
                    format!(
                        "maintenance = {{ every = \"{every}d\", max_surge = {surge}, max_unavailable = {unavailable} }}\n"
                    )
                };
            }
            if nodes > 0 {
                text += &format!(
                    "nodes = [{}]\n",
                    (0..nodes)
                        .map(|n| format!("\"n{n}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            text += &format!(
                "[[stages.S{s}.failures]]\nname = \"crash\"\nevery = {every}\n\
                 persists = {persists}\n\
                 [[stages.S{s}.failures]]\nname = \"hang\"\nevery = {hang}\ndetect = \"liveness\"\n\
                 [[stages.S{s}.failures]]\nname = \"slow\"\nevery = {hang}\ndetect = {detect}\n"
            );
        }
        let m = model(&text);
        let y = m.simulation.horizon;
        let mut reused = Simulator::new(&m);
        let unattributed = reused.causes().len() - 1;
        for i in 0..30u64 {
            let o = reused.run(case, i);
            let (x, stages) = (o.downtime, o.stage_downtime.to_vec());
            let by_cause: f64 = o.cause_downtime.iter().sum();
            assert!(
                (by_cause - x).abs() <= 1e-6 * x.max(1.0),
                "case {case} #{i}: causes {by_cause}, X {x}"
            );
            assert_eq!(
                o.cause_downtime[unattributed], 0.0,
                "case {case} #{i}: unattributed time"
            );
            let mut fresh = Simulator::new(&m);
            let f = fresh.run(case, i);
            assert_eq!(
                (f.downtime, f.outages, f.events),
                (o.downtime, o.outages, o.events),
                "case {case} #{i}"
            );
            let path: Vec<f64> = stages[..2].to_vec();
            let max = path.iter().copied().fold(0.0, f64::max);
            let sum: f64 = path.iter().sum();
            assert!((0.0..=y).contains(&x), "case {case}: X = {x}");
            assert!(
                x >= max - 1e-6 && x <= sum + 1e-6,
                "case {case} #{i}: X {x}, stages {path:?}\n{text}"
            );
            assert!(stages.iter().all(|d| (0.0..=y + 1e-6).contains(d)));
        }
    }
}

/// Thousands of damaged copies of the seed model (a line dropped, a character changed or
/// cut, a value replaced): the reader refuses or accepts each, never panics.
#[test]
fn damaged_models_never_panic() {
    use rand::{RngExt, SeedableRng};
    let text = std::fs::read_to_string("models/seed.toml").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(99);
    let junk = [
        "0",
        "-1",
        "\"\"",
        "\"0s\"",
        "1e400",
        "[]",
        "{}",
        "true",
        "\"x\"",
        "=",
        "[",
        "\"1y\"",
        "99999999999999999999",
    ];
    for _ in 0..3000 {
        let mut ls: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        let i = rng.random_range(0..ls.len());
        match rng.random_range(0..4) {
            0 => {
                ls.remove(i);
            }
            1 => {
                let l = &mut ls[i];
                if !l.is_empty() {
                    let cut = rng.random_range(0..l.len());
                    if l.is_char_boundary(cut) {
                        l.truncate(cut);
                    }
                }
            }
            2 => {
                if let Some((k, _)) = ls[i].split_once('=') {
                    ls[i] = format!("{k}= {}", junk[rng.random_range(0..junk.len())]);
                }
            }
            _ => ls.insert(i, junk[rng.random_range(0..junk.len())].to_string()),
        }
        let damaged = ls.join("\n");
        let result = std::panic::catch_unwind(|| {
            if let Ok(m) = Model::from_str("seed.toml", &damaged, Path::new("models"), &[]) {
                let _ = analytic::solve(&m);
                let mut sim = hasim::sim::Simulator::new(&m);
                let _ = sim.run(1, 0).downtime;
            }
        });
        assert!(result.is_ok(), "panicked on:\n{damaged}");
    }
}

/// Random models whose replicas are independent (no crews, nodes, rollouts or data
/// flow; back-off, liveness probes, persisting faults, several modes, k of n, a stage off
/// the read path): the timeline engine and the event engine agree on every estimate of
/// the report — availability, downtime, outages, every stage's figures, every cause's
/// downtime — within 4.5 standard errors of the difference (about a hundred comparisons
/// at fixed seeds; a wrong rule in either engine shows in many of them), and the
/// timeline engine keeps the invariants of a history.
#[test]
fn engines_agree_on_random_models_with_independent_replicas() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(77);
    let mut compared = 0;
    for case in 0..6 {
        let mut text = String::from(
            "[simulation]\nhorizon = \"30d\"\n[system]\nread_path = [\"S0\", \"S1\"]\n",
        );
        for s in 0..3 {
            let replicas = rng.random_range(1..4);
            let min_ready = rng.random_range(1..=replicas);
            let kind = ["statefulset", "deployment", "external"][rng.random_range(0..3)];
            text += &format!(
                "[stages.S{s}]\nkind = \"{kind}\"\nreplicas = {replicas}\nmin_ready = {min_ready}\n\
                 restart = {}\nprobes = {{ liveness = {{}} }}\n",
                pick("10m", &mut rng)
            );
            if kind != "external" {
                text += &format!("backoff = {}\n", rng.random_bool(0.5));
            }
            text += &format!(
                "[[stages.S{s}.failures]]\nname = \"crash\"\nevery = {}\npersists = {}\n\
                 [[stages.S{s}.failures]]\nname = \"hang\"\nevery = {}\ndetect = \"liveness\"\n\
                 [[stages.S{s}.failures]]\nname = \"slow\"\nevery = {}\ndetect = {}\n",
                pick("2d", &mut rng),
                pick("15m", &mut rng),
                pick("8d", &mut rng),
                pick("8d", &mut rng),
                pick("30m", &mut rng),
            );
        }
        let m = model(&text);
        assert!(
            matches!(Engine::new(&m, EngineChoice::Auto), Engine::Timelines(_)),
            "case {case}: the timeline engine should take\n{text}"
        );
        // Invariants of single histories, and a reused simulator equals a fresh one.
        let mut reused = Engine::new(&m, EngineChoice::Auto);
        for i in 0..20u64 {
            let o = reused.run(case, i);
            let (x, outages, events) = (o.downtime, o.outages, o.events);
            let by_cause: f64 = o.cause_downtime.iter().sum();
            assert!(
                (by_cause - x).abs() <= 1e-6 * x.max(1.0),
                "case {case} #{i}"
            );
            assert_eq!(*o.cause_downtime.last().unwrap(), 0.0, "unattributed");
            let path = &o.stage_downtime[..2];
            let (max, sum) = (path[0].max(path[1]), path[0] + path[1]);
            assert!(x >= max - 1e-6 && x <= sum + 1e-6, "case {case} #{i}");
            let f = Engine::new(&m, EngineChoice::Auto).run(case, i).downtime;
            assert_eq!(f, x);
            assert!(outages > 0 || x == 0.0);
            assert!(events >= outages);
        }
        let estimates = |engine| {
            let r = report_on(engine, &m, 9, 20_000, 0);
            assert_eq!(r.confidence, 0.95);
            serde_json::to_value(&r).unwrap()
        };
        let (a, b) = (
            estimates(EngineChoice::Auto),
            estimates(EngineChoice::Events),
        );
        compared += compare_estimates(&a, &b, &format!("case {case}"), &text);
    }
    assert!(compared > 80, "only {compared} estimates compared");
}

/// Compares every estimate (`mean` with `std_err`, or with a 95 % `ci_low`..`ci_high`)
/// found at the same place in two reports; returns how many were compared.
fn compare_estimates(a: &serde_json::Value, b: &serde_json::Value, at: &str, text: &str) -> usize {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let se = |e: &serde_json::Map<String, Value>| {
                let f = |k: &str| e.get(k).and_then(Value::as_f64);
                f("std_err").or_else(|| Some((f("ci_high")? - f("ci_low")?) / (2.0 * 1.959_964)))
            };
            if let (Some(ma), Some(sa), Some(mb), Some(sb)) = (
                x.get("mean").and_then(Value::as_f64),
                se(x),
                y.get("mean").and_then(Value::as_f64),
                se(y),
            ) {
                let se = (sa * sa + sb * sb).sqrt();
                assert!(
                    (ma - mb).abs() <= 4.5 * se + 1e-12 * ma.abs().max(1.0),
                    "{at}: timelines {ma} ± {sa}, events {mb} ± {sb}\n{text}"
                );
                return 1;
            }
            x.iter()
                .filter(|(k, _)| y.contains_key(*k))
                .map(|(k, v)| compare_estimates(v, &y[k], &format!("{at}.{k}"), text))
                .sum()
        }
        (Value::Array(x), Value::Array(y)) => x
            .iter()
            .zip(y)
            .enumerate()
            .map(|(i, (u, v))| compare_estimates(u, v, &format!("{at}[{i}]"), text))
            .sum(),
        _ => 0,
    }
}
