//! Kubernetes and data-flow semantics against timelines worked out by hand.
//!
//! Every model here is deterministic (fixed times), so each expected number is exact and
//! derived in the comment beside it.

use std::path::Path;

use hasim::estimate::plain::{RunPlan, simulate};
use hasim::estimate::results::{Perf, RunReport};
use hasim::model::Model;
use hasim::sim::{CauseName, EngineChoice, Simulator};

use crate::model;

/// The one history of a deterministic model: (X, outages, produced, lost, fresh-or-down).
struct History {
    x: f64,
    outages: u64,
    produced: f64,
    lost: f64,
    stale_or_down: f64,
    failures: Vec<u64>,
    stage_downtime: Vec<f64>,
    causes: Vec<(CauseName, f64)>,
}

fn history(m: &Model) -> History {
    let mut sim = Simulator::new(m);
    let names = sim.causes().to_vec();
    let o = sim.run(1, 0);
    History {
        x: o.downtime,
        outages: o.outages,
        produced: o.produced,
        lost: o.lost,
        stale_or_down: o.stale_or_down,
        failures: o.stage_failures.to_vec(),
        stage_downtime: o.stage_downtime.to_vec(),
        causes: names
            .into_iter()
            .zip(o.cause_downtime.iter().copied())
            .filter(|(_, d)| *d > 0.0)
            .collect(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

/// A source (2 metrics/s, never fails), one collector replica, one store replica whose
/// failures and restarts are `store`, and `extra` for the rest.
fn pipeline(horizon: &str, collector: &str, store: &str, extra: &str) -> String {
    format!(
        r#"
[simulation]
horizon = "{horizon}"
[system]
read_path = ["C"]
flow = ["A", "B", "C"]
{extra}
[stages.A]
role = "source"
kind = "external"
rate = 2.0
[stages.B]
role = "collector"
backoff = false
{collector}
[stages.C]
role = "store"
kind = "statefulset"
backoff = false
{store}
"#
    )
}

#[test]
fn buffer_loss_is_what_overflows_the_limit_in_each_outage() {
    // Store down 80 s after every 1000 s up: outages at 1000, 2080, 3160 (the next, at
    // 4240, is past 4000 s). Each buffers 2 × 80 = 160 metrics into a limit of 100:
    // max(0, 160 − 100) = 60 lost each, 180 in all, of 2 × 4000 = 8000 produced.
    let m = model(&pipeline(
        "4000s",
        "buffer = { limit = 100 }",
        "failure = \"1000s\"\nrestart = \"80s\"",
        "",
    ));
    let h = history(&m);
    assert_eq!(h.outages, 3);
    assert!(close(h.produced, 8000.0), "{}", h.produced);
    assert!(close(h.lost, 180.0), "{}", h.lost);
    // 40 s outages buffer 80 < 100: nothing lost.
    let m = model(&pipeline(
        "4000s",
        "buffer = { limit = 100 }",
        "failure = \"1000s\"\nrestart = \"40s\"",
        "",
    ));
    assert!(close(history(&m).lost, 0.0));
}

#[test]
fn completeness_and_lost_metrics_reach_the_results() {
    let m = model(&pipeline(
        "4000s",
        "buffer = { limit = 100 }",
        "failure = \"1000s\"\nrestart = \"80s\"",
        "",
    ));
    let t = simulate(
        &m,
        &RunPlan {
            seed: 1,
            first: 0,
            count: 3,
            threads: 1,
            engine: EngineChoice::Auto,
        },
        &|_| {},
    )
    .unwrap()
    .tally;
    let r = RunReport::new(
        &m,
        1,
        &t,
        Perf {
            wall_seconds: 0.0,
            years_per_second: 0.0,
            events: 0,
            threads: 1,
            engine: "events".into(),
        },
    );
    assert!(close(r.lost_metrics.unwrap().mean, 180.0));
    assert!(close(r.completeness.unwrap().mean, 1.0 - 180.0 / 8000.0));
    assert!(r.fresh_availability.is_none(), "no freshness in this model");
}

#[test]
fn a_collector_restart_loses_its_memory_buffer_but_not_a_persistent_one() {
    // Store down 500..600 (200 buffered by 600); the collector fails at 550 with 100
    // buffered and is back at 560. Memory buffer: those 100 are lost, and the 20
    // produced while the collector was down (retention 0): 120. Persistent: only the 20.
    for (persistent, lost) in [(false, 120.0), (true, 20.0)] {
        let collector = format!(
            "buffer = {{ limit = 1000, persistent = {persistent} }}\nrestart = \"10s\"\nfailure = \"550s\""
        );
        let m = model(&pipeline(
            "700s",
            &collector,
            "failure = \"500s\"\nrestart = \"100s\"",
            "",
        ));
        let h = history(&m);
        assert!(
            close(h.lost, lost),
            "persistent = {persistent}: lost {}",
            h.lost
        );
    }
}

#[test]
fn retention_recovers_the_last_part_of_a_collector_gap() {
    // The collector is down 300 s (fails at 1000 s, restart 300 s) and the source keeps
    // 120 s: 2 × (300 − 120) = 360 metrics lost.
    let m = model(
        &pipeline("1500s", "failure = \"1000s\"\nrestart = \"300s\"", "", "")
            .replace("rate = 2.0", "rate = 2.0\nretention = \"120s\""),
    );
    assert!(close(history(&m).lost, 360.0));
}

#[test]
fn staleness_is_the_part_of_a_collector_outage_beyond_the_freshness() {
    // Collector down 300 s at 1000 s and at 2300 s (ready again at 1300 and 2600); the
    // store stays up, so the system stays readable; with freshness 180 s each outage
    // leaves 300 − 180 = 120 s stale: 240 s in all.
    let m = model(&pipeline(
        "3000s",
        "failure = \"1000s\"\nrestart = \"300s\"",
        "",
        "freshness = \"180s\"",
    ));
    let h = history(&m);
    assert_eq!(h.x, 0.0);
    assert!(close(h.stale_or_down, 240.0), "{}", h.stale_or_down);
}

#[test]
fn freshness_returns_only_when_the_drain_reaches_recent_data() {
    // Store down 1000..1200 s: 400 metrics buffered. Back at 1200, draining at 4/s while
    // 2/s arrive: the front's production time is 1000 + 2(τ − 1200); fresh (60 s) when
    // 1000 + 2(τ − 1200) ≥ τ − 60, τ = 1340. Not readable 200 s, not fresh 340 s.
    let m = model(&pipeline(
        "2000s",
        "buffer = { drain_rate = 4.0 }",
        "failure = \"1000s\"\nrestart = \"200s\"",
        "freshness = \"60s\"",
    ));
    let h = history(&m);
    assert!(close(h.x, 200.0));
    assert!(close(h.stale_or_down, 340.0), "{}", h.stale_or_down);
    assert!(close(h.lost, 0.0));
}

#[test]
fn a_daemonset_collector_loses_nothing_while_its_node_is_down() {
    // Two nodes, a DaemonSet collector (1 metric/s each), a store on no node. Node n1 is
    // down 1000..1600 s: its share is not produced, so nothing is lost. A Deployment
    // collector of two replicas would lose replica 0's share for the 600 s (waiting for
    // its node; the 350 s eviction moves it to n2 first: 350 s × 1/s = 350 lost).
    let text = |kind: &str| {
        format!(
            r#"
[simulation]
horizon = "2000s"
[system]
read_path = ["C"]
flow = ["A", "B", "C"]
[[nodes]]
name = "n1"
every = "1000s"
recovery = "600s"
[[nodes]]
name = "n2"
[stages.A]
role = "source"
kind = "external"
rate = 2.0
[stages.B]
role = "collector"
kind = "{kind}"
replicas = 2
nodes = ["n1", "n2"]
restart = "0s"
[stages.C]
role = "store"
kind = "external"
"#
        )
    };
    let h = history(&model(&text("daemonset")));
    assert!(close(h.lost, 0.0), "{}", h.lost);
    assert!(close(h.produced, 4000.0 - 600.0), "{}", h.produced);
    let h = history(&model(&text("deployment")));
    assert!(close(h.lost, 350.0), "{}", h.lost);
}

#[test]
fn a_reader_cache_bridges_short_store_outages() {
    // Store down 100 s at 1000 s; the reader's cache keeps the system readable for 60 s:
    // X = 40 s.
    let m = model(&format!(
        "{}[stages.D]\nrole = \"reader\"\ncache = {{ max_staleness = \"60s\" }}\n",
        pipeline("1500s", "", "failure = \"1000s\"\nrestart = \"100s\"", "")
            .replace("read_path = [\"C\"]", "read_path = [\"C\", \"D\"]")
    ));
    assert!(close(history(&m).x, 40.0));
}

#[test]
fn a_persisting_fault_crash_loops_with_back_off_until_the_fix() {
    // One failure at 10 000 s whose cause lasts 100 s; restarts take 5 s; classic
    // back-off. 10 000: delay 0, restart ends 10 005 < 10 100: crash again (5 s after
    // the start: no reset) → 10 s, ends 10 020: crash → 20 s, ends 10 045: crash →
    // 40 s, ends 10 090: crash → 80 s, restart 10 170 → 10 175 ≥ 10 100: ready.
    // X = 175 s in one outage, and one failure (re-crashes are not failures).
    let m = model(
        r#"
[simulation]
horizon = "12000s"
[system]
read_path = ["C"]
[stages.C]
restart = "5s"
[[stages.C.failures]]
name = "bad-config"
every = "10000s"
persists = "100s"
"#,
    );
    let h = history(&m);
    assert!(close(h.x, 175.0), "{}", h.x);
    assert_eq!(h.outages, 1);
    assert_eq!(h.failures, vec![1]);
}

/// One stage on node n1 (fails at 1000 s, back 2000 s later, never again within the
/// horizon) with n2 always up.
fn on_a_failing_node(stage: &str) -> Model {
    model(&format!(
        r#"
[simulation]
horizon = "3500s"
[system]
read_path = ["C"]
[[nodes]]
name = "n1"
every = {{ dist = "uniform", min = "1000s", max = "1000s" }}
recovery = "2000s"
[[nodes]]
name = "n2"
[stages.C]
nodes = ["n1", "n2"]
restart = "5s"
recreate = "10s"
{stage}
"#
    ))
}

#[test]
fn a_deployment_replica_is_recreated_elsewhere_after_the_eviction_delay() {
    // Node down at 1000 s; evicted 350 s later and re-created on n2 in 10 s: X = 360 s.
    // It stays on n2, so n1's next failure (at 4000 s, past the horizon) is irrelevant.
    let h = history(&on_a_failing_node("kind = \"deployment\""));
    assert!(close(h.x, 360.0), "{}", h.x);
    let h = history(&on_a_failing_node(
        "kind = \"deployment\"\neviction_delay = \"100s\"",
    ));
    assert!(close(h.x, 110.0), "{}", h.x);
}

#[test]
fn a_statefulset_replica_waits_for_its_node_or_a_person() {
    // No operator: it waits for n1 (back at 3000 s) and restarts in 5 s: X = 2005 s.
    let h = history(&on_a_failing_node("kind = \"statefulset\""));
    assert!(close(h.x, 2005.0), "{}", h.x);
    // A person force-deletes it 600 s after the failure: re-created on n2 once its
    // network volume is force-detached from the dead node, 6 min later by default:
    // 600 + 360 + 10 s recreate: X = 970 s.
    let h = history(&on_a_failing_node(
        "kind = \"statefulset\"\noperator_response = \"600s\"",
    ));
    assert!(close(h.x, 970.0), "{}", h.x);
    // Without the wait: X = 610 s.
    let h = history(&on_a_failing_node(
        "kind = \"statefulset\"\noperator_response = \"600s\"\ndetach_wait = \"0s\"",
    ));
    assert!(close(h.x, 610.0), "{}", h.x);
    // The old node back (3000 s) before the detach (force delete at 2800 s + 360 s):
    // the volume is free at 3000 s and the new Pod on n2 is ready 10 s later: X = 2010 s.
    let h = history(&on_a_failing_node(
        "kind = \"statefulset\"\noperator_response = \"1800s\"",
    ));
    assert!(close(h.x, 2010.0), "{}", h.x);
    // On a local volume the Pod is pinned to n1: force-deleted at 1600 s, it stays
    // Pending until n1 is back (3000 s), then a new Pod there (10 s): X = 2010 s.
    let h = history(&on_a_failing_node(
        "kind = \"statefulset\"\noperator_response = \"600s\"\nvolume = \"local\"",
    ));
    assert!(close(h.x, 2010.0), "{}", h.x);
    // A DaemonSet replica lives and dies with its node, like an external one.
    let h = history(&on_a_failing_node(
        "kind = \"daemonset\"\nreplicas = 2\nmin_ready = 2",
    ));
    assert!(close(h.x, 2005.0), "{}", h.x);
}

/// One stage, never failing, with a rollout every 1000 s; horizon 3500 s: three rollouts.
fn rolled_out(kind_and_more: &str) -> History {
    rolled_out_with(kind_and_more, "10s")
}

fn rolled_out_with(kind_and_more: &str, recreate: &str) -> History {
    history(&model(&format!(
        r#"
[simulation]
horizon = "3500s"
[system]
read_path = ["C"]
[[nodes]]
name = "n"
[stages.C]
{kind_and_more}
restart = "5s"
recreate = "{recreate}"
shutdown = "2s"
"#
    )))
}

#[test]
fn a_surge_rollout_of_a_one_replica_deployment_has_no_downtime() {
    let h = rolled_out("kind = \"deployment\"\nmaintenance = { every = \"1000s\" }");
    assert_eq!((h.x, h.outages), (0.0, 0));
}

#[test]
fn a_one_replica_statefulset_rollout_stops_then_starts() {
    // Each rollout: delete (2 s shutdown), re-create (10 s): 12 s down, three times.
    let h = rolled_out("kind = \"statefulset\"\nmaintenance = { every = \"1000s\" }");
    assert!(close(h.x, 36.0), "{}", h.x);
    assert_eq!(h.outages, 3);
    assert_eq!(h.causes.len(), 1);
    assert_eq!(h.causes[0].0, CauseName::Maintenance { stage: "C".into() });
    // A DaemonSet also deletes first and waits for the old Pod: the same.
    let h =
        rolled_out("kind = \"daemonset\"\nnodes = [\"n\"]\nmaintenance = { every = \"1000s\" }");
    assert!(close(h.x, 36.0), "{}", h.x);
}

#[test]
fn a_kill_first_deployment_rollout_does_not_wait_for_the_old_pod() {
    // max_surge 0, max_unavailable 1: the new Pod is created as the old one is deleted:
    // 10 s down per rollout.
    let h = rolled_out(
        "kind = \"deployment\"\nmaintenance = { every = \"1000s\", max_surge = 0, max_unavailable = 1 }",
    );
    assert!(close(h.x, 30.0), "{}", h.x);
}

#[test]
fn a_deployment_that_may_lose_its_only_pod_is_down_for_the_new_pods_start() {
    // One replica, max_surge 1, max_unavailable 1 (rolling.go): the new Pod is created
    // (2 Pods, the most allowed) and the old one deleted at once, since 1 − 1 ready Pods
    // still meets replicas − unavailable = 0: down for the new Pod's 10 s, three times.
    let h = rolled_out(
        "kind = \"deployment\"\nmaintenance = { every = \"1000s\", max_surge = 1, max_unavailable = 1 }",
    );
    assert!(close(h.x, 30.0), "{}", h.x);
    assert_eq!(h.outages, 3);
}

#[test]
fn a_deployment_rollout_follows_the_rolling_update_arithmetic() {
    // Three replicas all needed, surge 1, unavailable 1, 20 s starts. t = 0: a new Pod
    // (4 exist), an old one deleted (3 − 1 ready ≥ 2), a second new Pod (3 exist, 1 new):
    // 2 ready, down. t = 20: both new Pods ready, each lets one more old Pod go, and the
    // third new Pod starts: 2 ready again until t = 40. 40 s down per rollout.
    let h = rolled_out_with(
        "kind = \"deployment\"\nreplicas = 3\nmin_ready = 3\nmaintenance = { every = \"1000s\", max_surge = 1, max_unavailable = 1 }",
        "20s",
    );
    assert!(close(h.x, 120.0), "{}", h.x);
    assert_eq!(h.outages, 3);
    // Two replicas both needed, surge 2, unavailable 1: two new Pods at once, one old Pod
    // deleted at once (2 − 1 ≥ 1): down until the new Pods are ready, 10 s per rollout.
    let h = rolled_out(
        "kind = \"deployment\"\nreplicas = 2\nmin_ready = 2\nmaintenance = { every = \"1000s\", max_surge = 2, max_unavailable = 1 }",
    );
    assert!(close(h.x, 30.0), "{}", h.x);
    assert_eq!(h.outages, 3);
    // The same with one needed: never down.
    let h = rolled_out(
        "kind = \"deployment\"\nreplicas = 2\nmin_ready = 1\nmaintenance = { every = \"1000s\", max_surge = 2, max_unavailable = 1 }",
    );
    assert_eq!((h.x, h.outages), (0.0, 0));
    assert_eq!(h.causes.len(), 0);
}

/// Two Deployment replicas, one needed, on n1 and n2. n1 fails at 1000 s (back at
/// 1500 s, next failure past the horizon); n2 fails at 2200 s (back past the horizon).
/// Evictions come 100 s after a node failure; new Pods take 10 s.
fn piled_up(maintenance: &str) -> Model {
    model(&format!(
        r#"
[simulation]
horizon = "2400s"
[system]
read_path = ["C"]
[[nodes]]
name = "n1"
every = "1000s"
recovery = "500s"
[[nodes]]
name = "n2"
every = "2200s"
recovery = "1000s"
[stages.C]
kind = "deployment"
replicas = 2
min_ready = 1
nodes = ["n1", "n2"]
eviction_delay = "100s"
restart = "5s"
recreate = "10s"
{maintenance}
"#
    ))
}

#[test]
fn a_rollout_spreads_again_the_pods_that_piled_up_after_a_node_loss() {
    // n1 fails at 1000 s: replica 0 is evicted at 1100 s to n2, the only ready node; both
    // are on n2 when n1 is back. With no rollout, n2's failure at 2200 s takes both:
    // evicted at 2300 s to n1, ready at 2310 s: X = 110 s.
    let h = history(&piled_up(""));
    assert!(close(h.x, 110.0), "{}", h.x);
    // A rollout at 2000 s (surge 1, unavailable 0) places each new Pod on the
    // least-loaded node: the first on n1 (0 Pods against n2's 2), the second, at a tie
    // (1 and 1), round-robin after n1: n2. n2's failure then leaves replica 0 on n1 up.
    let m = piled_up("maintenance = { every = \"2000s\" }");
    let h = history(&m);
    assert_eq!((h.x, h.outages), (0.0, 0));
    let (log, _) = Simulator::new(&m).trace(1, 0);
    // Each replica's node as its last trace line before `t` names it (t = 0: n1, n2).
    let nodes_at = |t: f64| -> Vec<String> {
        ["n1", "n2"]
            .iter()
            .enumerate()
            .map(|(i, home)| {
                log.iter()
                    .rfind(|r| r.time <= t && r.stage == "C" && r.replica == i.to_string())
                    .map_or(home.to_string(), |r| r.node.clone())
            })
            .collect()
    };
    assert_eq!(nodes_at(1900.0), ["n2", "n2"]);
    assert_eq!(nodes_at(2100.0), ["n1", "n2"]);
}

#[test]
fn required_spread_keeps_a_pod_pending_rather_than_share_a_node() {
    let text = |more: &str| {
        format!(
            r#"
[simulation]
horizon = "2400s"
[system]
read_path = ["C"]
[[nodes]]
name = "n1"
every = "1000s"
recovery = "500s"
[[nodes]]
name = "n2"
[stages.C]
kind = "deployment"
replicas = 3
nodes = ["n1", "n2"]
spread = "required"
eviction_delay = "100s"
restart = "5s"
recreate = "10s"
{more}
"#
        )
    };
    let spread = |more: &str| model(&text(more));
    // Three replicas, two nodes: replica 2 is Pending from the start. Two needed: n1's
    // failure at 1000 s takes the stage down; the evicted Pod (1100 s) may not join
    // replica 1 on n2 and waits for n1 (back at 1500 s), ready at 1510 s: X = 510 s.
    // Replica 2 stays Pending all along (n1 is taken again first). The time goes to the
    // earliest-started cause among the replicas keeping the stage down: replica 2,
    // Pending since t = 0.
    let h = history(&spread("min_ready = 2"));
    assert!(close(h.x, 510.0), "{}", h.x);
    assert_eq!(h.outages, 1);
    assert_eq!(h.causes.len(), 1);
    assert_eq!(h.causes[0].0, CauseName::Pending { stage: "C".into() });
    // All three needed: down from the start, for want of a third node.
    let h = history(&spread("min_ready = 3"));
    assert!(close(h.x, 2400.0), "{}", h.x);
    assert_eq!(h.outages, 1);
    assert_eq!(h.causes[0].0, CauseName::Pending { stage: "C".into() });
    // Preferred spread puts replica 2 on n1 beside replica 0 (t = 0: nodes[i mod 2]);
    // n1's failure takes two of three: with two needed, down from 1000 s until both are
    // evicted to n2 and ready (1110 s): X = 110 s.
    let h = history(&model(
        &text("min_ready = 2").replace("spread = \"required\"", "spread = \"preferred\""),
    ));
    assert!(close(h.x, 110.0), "{}", h.x);
}

#[test]
fn a_statefulset_rollout_replaces_one_pod_at_a_time() {
    // Three replicas, two needed: one at a time never takes the stage down.
    let h = rolled_out(
        "kind = \"statefulset\"\nreplicas = 3\nmin_ready = 2\nmaintenance = { every = \"1000s\" }",
    );
    assert_eq!(h.x, 0.0);
    // All three needed: each replacement is 12 s down, three in a row per rollout (the
    // next is deleted the instant the last is ready, so one 36 s outage): 108 s.
    let h = rolled_out(
        "kind = \"statefulset\"\nreplicas = 3\nmin_ready = 3\nmaintenance = { every = \"1000s\" }",
    );
    assert!(close(h.x, 108.0), "{}", h.x);
    assert_eq!(h.outages, 3);
}

#[test]
fn causes_sum_to_x_on_the_bundled_models() {
    for file in ["models/seed.toml", "models/ha.toml"] {
        let m = Model::load(Path::new(file), &[]).unwrap();
        let mut sim = Simulator::new(&m);
        let unattributed = sim
            .causes()
            .iter()
            .position(|c| *c == CauseName::Unattributed)
            .unwrap();
        for i in 0..300 {
            let o = sim.run(7, i);
            let sum: f64 = o.cause_downtime.iter().sum();
            assert!(
                (sum - o.downtime).abs() <= 1e-6 * o.downtime.max(1.0),
                "{file} #{i}: {sum} vs {}",
                o.downtime
            );
            assert_eq!(o.cause_downtime[unattributed], 0.0, "{file} #{i}");
        }
    }
}

#[test]
fn the_earliest_cause_keeping_the_path_down_takes_the_time() {
    // C hangs at 1000 s, noticed after 500 s, restarted in 10 s (down 1000..1510). Its
    // node fails at 1200 s and is back at 1300 s (then restart 10 s: 1310). C is down
    // 1000..1310 and the hang started first: all 310 s go to "C hang".
    let m = model(
        r#"
[simulation]
horizon = "1400s"
[system]
read_path = ["C"]
[[nodes]]
name = "n"
every = "1200s"
recovery = "100s"
[stages.C]
kind = "external"
nodes = ["n"]
restart = "10s"
[[stages.C.failures]]
name = "hang"
every = "1000s"
detect = "500s"
"#,
    );
    let h = history(&m);
    assert!(close(h.x, 310.0), "{}", h.x);
    assert_eq!(h.causes.len(), 1, "{:?}", h.causes);
    assert_eq!(
        h.causes[0].0,
        CauseName::Failure {
            stage: "C".into(),
            mode: "hang".into()
        }
    );
}

#[test]
fn events_do_not_grow_with_the_rate_of_metrics() {
    let events = |rate: f64, extra: &[String]| {
        let mut sets = vec![format!("stages.A.rate={rate}")];
        sets.extend_from_slice(extra);
        let m = Model::load(Path::new("models/seed.toml"), &sets).unwrap();
        simulate(
            &m,
            &RunPlan {
                seed: 5,
                first: 0,
                count: 400,
                threads: 0,
                engine: EngineChoice::Auto,
            },
            &|_| {},
        )
        .unwrap()
        .tally
        .events
    };
    // Instant drains with the default buffer.
    let instant = ["stages.B.buffer={ limit = 10000 }".to_string()];
    assert_eq!(events(1.0, &instant), events(1e6, &instant));
    // Finite drains scaled with the rate, buffers large enough to keep everything.
    let scaled = |d: f64| {
        vec![format!(
            "stages.B.buffer={{ limit = 1e15, drain_rate = {d} }}"
        )]
    };
    assert_eq!(events(1.0, &scaled(50.0)), events(1e6, &scaled(5e7)));
}

/// Three nodes that never fail, one upgrade wave at 20 000 s (the next is past the
/// horizon): each node drained in turn and down 600 s. B is a DaemonSet collector (all
/// three needed, off the read path); C a one-replica StatefulSet whose
/// PodDisruptionBudget blocks every eviction; D two Deployment replicas (one needed) with
/// a budget of one.
fn upgraded(c_pdb: &str) -> Model {
    model(&format!(
        r#"
[simulation]
horizon = "35000s"
[system]
read_path = ["C", "D"]
[[nodes]]
name = "n1"
[[nodes]]
name = "n2"
[[nodes]]
name = "n3"
[upgrades]
every = "20000s"
node_time = "600s"
pdb_timeout = "3600s"
[stages.B]
role = "collector"
kind = "daemonset"
nodes = ["n1", "n2", "n3"]
min_ready = 3
restart = "5s"
[stages.C]
kind = "statefulset"
nodes = ["n1", "n2", "n3"]
restart = "5s"
recreate = "20s"
shutdown = "2s"
{c_pdb}
[stages.D]
kind = "deployment"
replicas = 2
nodes = ["n1", "n2", "n3"]
pdb = {{ min_available = 1 }}
restart = "5s"
recreate = "10s"
shutdown = "2s"
"#
    ))
}

#[test]
fn an_upgrade_wave_drains_one_node_at_a_time_within_the_budgets() {
    // n1 (T = 20 000 s): D's replica there may go (2 ready − 1 ≥ 1) and starts on n3
    // (n2 holds the other, n1 is cordoned); C's only Pod may not (1 − 1 < 1) until the
    // drain is forced at T + 3600: C down 2 s stopping + 20 s new Pod (on n2) = 22 s.
    // n1 is empty at T + 3602, down until T + 4202. n2 then n3 go the same way: C down
    // 22 s each time, D never (one replica always ready). X = 66 s in three outages.
    let h = history(&upgraded("pdb = { min_available = 1 }"));
    assert!(close(h.x, 66.0), "{}", h.x);
    assert_eq!(h.outages, 3);
    let mut causes = h.causes.clone();
    causes.sort_by_key(|c| c.0.label());
    let names: Vec<String> = causes.iter().map(|c| c.0.label()).collect();
    assert_eq!(names, ["upgrade n1", "upgrade n2", "upgrade n3"]);
    assert!(causes.iter().all(|c| close(c.1, 22.0)), "{causes:?}");
    // B's Pods go down with their nodes: 600 s each plus a 5 s restart, three times.
    assert!(
        close(h.stage_downtime[0], 3.0 * 605.0),
        "{}",
        h.stage_downtime[0]
    );
    // D alone (no outage) is not what keeps the path down.
    assert!(close(h.stage_downtime[2], 0.0), "{}", h.stage_downtime[2]);
    // Without a budget C's Pod is evicted at once: down 22 s per node all the same, but
    // each node is empty 2 s into its drain (the Pods' shutdown), so the nodes go down
    // at T + 2, T + 604, T + 1206 for 600 s each, and B (its replica on the last node
    // back 5 s after it) is down from T + 2 to T + 1811 without a break: 1809 s.
    let h = history(&upgraded(""));
    assert!(close(h.x, 66.0), "{}", h.x);
    assert!(
        close(h.stage_downtime[0], 1809.0),
        "{}",
        h.stage_downtime[0]
    );
}

#[test]
fn a_blocked_eviction_goes_as_soon_as_the_budget_allows() {
    // Two Deployment replicas (one needed, budget one) on n1 and n2; both crash at
    // 19 990 s and are back at 20 010 s. The wave at 20 000 s drains n1: its replica is
    // not ready and no replica is (0 − 1 < 0), so the eviction waits; at 20 010 s both
    // are ready again (2 − 1 ≥ 1) and it goes then, to n2 (n1 is cordoned), ready at
    // 20 020 s. n1 is empty once the old Pod has stopped (20 012 s), down until 20 612 s.
    // n2 then holds both: one goes at once (to n1), the other when that one is ready
    // (20 622 s). X is the crash alone: 20 s.
    let m = model(
        r#"
[simulation]
horizon = "30000s"
[system]
read_path = ["D"]
[[nodes]]
name = "n1"
[[nodes]]
name = "n2"
[upgrades]
every = "20000s"
node_time = "600s"
[stages.D]
kind = "deployment"
replicas = 2
nodes = ["n1", "n2"]
pdb = { min_available = 1 }
backoff = false
failure = "19990s"
restart = "20s"
recreate = "10s"
shutdown = "2s"
"#,
    );
    let h = history(&m);
    assert!(close(h.x, 20.0), "{}", h.x);
    let (log, _) = Simulator::new(&m).trace(1, 0);
    let at = |event: &str| -> Vec<f64> {
        log.iter()
            .filter(|r| r.event == event)
            .map(|r| r.time)
            .collect()
    };
    assert_eq!(at("evicted_by_drain"), [20_010.0, 20_612.0, 20_622.0]);
    assert_eq!(at("node_upgrading"), [20_012.0, 20_624.0]);
}
