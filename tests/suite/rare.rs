//! `--method bfb` and `--method splitting` against exact answers (birth–death chains, and
//! independent alternating renewal processes, whose steady state depends only on means),
//! where plain simulation sees nothing; splitting also against plain simulation on a
//! Kubernetes model with back-off and liveness probes.

use assert_cmd::Command;
use serde_json::Value;

fn hasim() -> Command {
    Command::cargo_bin("hasim").unwrap()
}

/// 1 of 3 replicas with one repair crew: failures every 1800 h, restarts of 1 h, both
/// exponential. The number failed is a birth–death chain with birth rates 3λ, 2λ, λ and
/// death rate μ, so U = π₃ = r³·6 / (1 + 3r + 6r² + 6r³) with r = λ/μ = 1/1800 ≈ 1.03e-9.
const ONE_OF_THREE: &str = r#"name = "1 of 3, one crew"
[simulation]
horizon = "1y"
replications = 10000
seed = 1
confidence = 0.99
[system]
read_path = ["C"]
[stages.C]
kind = "external"
replicas = 3
min_ready = 1
repair_crews = 1
failure = { dist = "exponential", mean = "1800h" }
restart = { dist = "exponential", mean = "1h" }
"#;

fn exact_one_of_three() -> f64 {
    let r: f64 = 1.0 / 1800.0;
    6.0 * r.powi(3) / (1.0 + 3.0 * r + 6.0 * r * r + 6.0 * r.powi(3))
}

fn run(model: &str, args: &[&str]) -> (Option<i32>, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.toml");
    std::fs::write(&path, model).unwrap();
    let out = hasim()
        .arg("run")
        .arg(&path)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn one_of_three_near_1e_minus_9_is_estimated_where_plain_simulation_sees_nothing() {
    let exact = exact_one_of_three();
    assert!((0.9e-9..1.1e-9).contains(&exact), "{exact}");

    // Plain simulation: 10 000 years without a single outage.
    let (code, plain, _) = run(ONE_OF_THREE, &["--method", "plain"]);
    assert_eq!(code, Some(0));
    assert_eq!(plain["outages"]["p_any"], 0.0);
    assert_eq!(plain["availability"]["mean"], 1.0);

    let (code, v, stderr) = run(ONE_OF_THREE, &["--method", "bfb", "-n", "1000000"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(v["method"], "balanced_failure_biasing");
    assert_eq!(v["confidence"], 0.99);
    let u = &v["unavailability"];
    let (lo, hi) = (
        u["ci_low"].as_f64().unwrap(),
        u["ci_high"].as_f64().unwrap(),
    );
    assert!(
        lo <= exact && exact <= hi,
        "{exact} outside the 99 % interval {lo} .. {hi}"
    );
    assert!(v["relative_half_width"].as_f64().unwrap() <= 0.10);
    let a = &v["availability"];
    assert!((a["mean"].as_f64().unwrap() - (1.0 - u["mean"].as_f64().unwrap())).abs() < 1e-15);
    assert!(v["variance_reduction"].as_f64().unwrap() > 1e3);
    assert!(v["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn a_series_of_redundant_groups_matches_the_product_of_their_chains() {
    // B: 2 of 3 with two crews; C: 1 of 2 with unlimited crews. Independent stages in
    // series: A = A_B · A_C, each from its birth–death chain.
    let model = r#"name = "series"
[simulation]
horizon = "1y"
confidence = 0.99
[system]
read_path = ["B", "C"]
[stages.B]
kind = "external"
replicas = 3
min_ready = 2
repair_crews = 2
failure = { dist = "exponential", mean = "500h" }
restart = { dist = "exponential", mean = "2h" }
[stages.C]
kind = "external"
replicas = 2
min_ready = 1
failure = { dist = "exponential", mean = "1000h" }
restart = { dist = "exponential", mean = "4h" }
"#;
    // B: births 3λ, 2λ, λ; deaths μ, 2μ, 2μ. Down when 2 or 3 failed.
    let (lb, mb) = (1.0 / 500.0, 1.0 / 2.0);
    let p1 = 3.0 * lb / mb;
    let p2 = p1 * 2.0 * lb / (2.0 * mb);
    let p3 = p2 * lb / (2.0 * mb);
    let ub = (p2 + p3) / (1.0 + p1 + p2 + p3);
    // C: independent replicas, each down with q = μ⁻¹/(λ⁻¹ + μ⁻¹); down when both are.
    let q = 4.0 / (1000.0 + 4.0);
    let uc = q * q;
    let exact = 1.0 - (1.0 - ub) * (1.0 - uc);
    let (code, v, stderr) = run(model, &["--method", "bfb", "-n", "200000"]);
    assert_eq!(code, Some(0), "{stderr}");
    let u = &v["unavailability"];
    let (lo, hi) = (
        u["ci_low"].as_f64().unwrap(),
        u["ci_high"].as_f64().unwrap(),
    );
    assert!(lo <= exact && exact <= hi, "{exact} outside {lo} .. {hi}");

    // And `hasim solve` agrees with the hand computation.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.toml");
    std::fs::write(&path, model).unwrap();
    let out = hasim()
        .arg("solve")
        .arg(&path)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let solved: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((solved["availability"].as_f64().unwrap() - (1.0 - exact)).abs() < 1e-12);
}

#[test]
fn the_result_does_not_depend_on_the_threads() {
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("perf");
        v
    };
    let (_, one, _) = run(
        ONE_OF_THREE,
        &["--method", "bfb", "-n", "30000", "--threads", "1"],
    );
    let (_, two, _) = run(
        ONE_OF_THREE,
        &["--method", "bfb", "-n", "30000", "--threads", "2"],
    );
    assert_eq!(strip(one), strip(two));
}

#[test]
fn features_the_chain_cannot_honour_are_refused() {
    let cases = [
        (
            ONE_OF_THREE.replace(
                r#"restart = { dist = "exponential", mean = "1h" }"#,
                r#"restart = "1h""#,
            ),
            "restart time is not exponential",
        ),
        (
            ONE_OF_THREE.replace(r#"kind = "external""#, r#"kind = "statefulset""#),
            "back-off",
        ),
        (
            ONE_OF_THREE.replace(
                "failure = { dist = \"exponential\", mean = \"1800h\" }\n",
                "",
            ) + "[[stages.C.failures]]\nname = \"hang\"\nevery = { dist = \"exponential\", mean = \"1800h\" }\ndetect = \"10m\"\n",
            "not noticed at once",
        ),
    ];
    for (model, why) in cases {
        let (code, _, stderr) = run(&model, &["--method", "bfb"]);
        assert_eq!(code, Some(2), "{why}: {stderr}");
        assert!(stderr.contains(why), "{why}: {stderr}");
        assert!(stderr.contains("--method bfb cannot honour"), "{stderr}");
    }
}

/// The interval of a splitting report on the unavailability, as (low, high).
fn split_interval(v: &Value) -> (f64, f64) {
    let a = &v["availability"];
    (
        1.0 - a["ci_high"].as_f64().unwrap(),
        1.0 - a["ci_low"].as_f64().unwrap(),
    )
}

#[test]
fn splitting_estimates_one_of_three_near_1e_minus_9() {
    let exact = exact_one_of_three();
    let (code, v, stderr) = run(ONE_OF_THREE, &["--method", "splitting", "-n", "300"]);
    assert_eq!(code, Some(0), "{stderr}");
    let e = &v["estimation"];
    assert_eq!(e["method"], "restart_splitting");
    assert_eq!(e["chosen"], "asked");
    assert_eq!(e["estimand"], "horizon_mean");
    assert_eq!(e["fields"]["availability"], "splitting");
    assert_eq!(e["fields"]["stages.failures"], "plain");
    let (lo, hi) = split_interval(&v);
    // The estimand is the mean over one-year histories from an all-ready start; it
    // differs from the steady state by the start-up transient, about (restart time /
    // year) relative: 1e-4, far inside the interval.
    assert!(
        lo <= exact && exact <= hi,
        "{exact} outside the 99 % interval {lo} .. {hi}"
    );
    assert!(
        v["stopping"]["relative_half_width"].as_f64().unwrap() <= 0.10,
        "{v}"
    );
    let sp = &e["splitting"];
    assert!(sp["variance_reduction"].as_f64().unwrap() > 1e3, "{v}");
    assert!(sp["speedup"].as_f64().unwrap() > 10.0, "{v}");
    let levels = sp["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 3, "thresholds 1, 2 and the outage");
    assert!(levels.iter().all(|l| l["from_pilot"] == true));
    assert!(v["warnings"].as_array().unwrap().is_empty(), "{v}");
}

#[test]
fn splitting_counts_outages_right_whatever_the_factor_at_the_outage() {
    // Outages begin when the last replica fails in state 2: frequency π₂·λ, with
    // π₂ = 6r²·π₀. A factor above 1 at the outage threshold makes copies at the instant
    // an outage begins; each lives through it, so outages are counted where they end.
    let r: f64 = 1.0 / 1800.0;
    let pi0 = 1.0 / (1.0 + 3.0 * r + 6.0 * r * r + 6.0 * r.powi(3));
    let per_year = 6.0 * r * r * pi0 / 1800.0 * 8760.0;
    let (code, v, stderr) = run(
        ONE_OF_THREE,
        &[
            "--method",
            "splitting",
            "-n",
            "300",
            "--factors",
            "900,1800,4",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    // One-year histories: outages per history are outages per year.
    let o = &v["outages"];
    let (lo, hi) = (
        o["ci_low"].as_f64().unwrap(),
        o["ci_high"].as_f64().unwrap(),
    );
    assert!(
        lo <= per_year && per_year <= hi,
        "{per_year} outages a year outside {lo} .. {hi}"
    );
    let (lo, hi) = split_interval(&v);
    let exact = exact_one_of_three();
    assert!(lo <= exact && exact <= hi, "{exact} outside {lo} .. {hi}");
}

#[test]
fn splitting_honours_general_distributions() {
    // Independent replicas with unlimited crews are alternating renewal processes: each is
    // down a fraction q = E[restart] / (E[up] + E[restart]) of the time whatever the
    // distributions, so the read path is down 1 − (1 − q_C³)(1 − q_D²) of the time.
    // Weibull failures and lognormal restarts in C, exponential failures and Weibull
    // restarts in D: the copies must redraw every pending clock conditioned on its age.
    // Twenty-year histories keep the start-up transient of C's new failure clocks (about
    // 0.4 fewer failures per replica than in the steady state) below 0.3 %.
    let model = r#"name = "general distributions"
[simulation]
horizon = "20y"
seed = 3
confidence = 0.99
[system]
read_path = ["C", "D"]
[stages.C]
kind = "external"
replicas = 3
min_ready = 1
failure = { dist = "weibull", shape = 2.0, mean = "1000h" }
restart = { dist = "lognormal", mean = "5h", cv = 1.3 }
[stages.D]
kind = "external"
replicas = 2
min_ready = 1
failure = { dist = "exponential", mean = "4000h" }
restart = { dist = "weibull", shape = 2.0, mean = "2h" }
"#;
    let (qc, qd) = (5.0 / 1005.0_f64, 2.0 / 4002.0_f64);
    let exact = 1.0 - (1.0 - qc.powi(3)) * (1.0 - qd.powi(2));
    let (code, v, stderr) = run(model, &["--method", "splitting", "-n", "60"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (lo, hi) = split_interval(&v);
    assert!(lo <= exact && exact <= hi, "{exact} outside {lo} .. {hi}");
    assert!(
        v["stopping"]["relative_half_width"].as_f64().unwrap() <= 0.15,
        "{v}"
    );
}

/// Runs `model` plainly (`plain` histories) and by splitting (`split` histories) and
/// checks that the two unavailabilities agree within their combined 99 % interval;
/// returns the splitting report and what the run wrote to standard error.
fn assert_splitting_agrees_with_plain(model: &str, plain: &str, split: &str) -> (Value, String) {
    assert_splitting_agrees_with_plain_by(model, plain, &["-n", split])
}

/// [`assert_splitting_agrees_with_plain`] with more arguments to the splitting run.
fn assert_splitting_agrees_with_plain_by(
    model: &str,
    plain: &str,
    split: &[&str],
) -> (Value, String) {
    let (code, p, stderr) = run(model, &["--method", "plain", "-n", plain]);
    assert_eq!(code, Some(0), "{stderr}");
    let (pm, pse) = (
        1.0 - p["availability"]["mean"].as_f64().unwrap(),
        p["availability"]["std_err"].as_f64().unwrap(),
    );
    let (code, v, stderr) = run(model, &[&["--method", "splitting"], split].concat());
    assert_eq!(code, Some(0), "{stderr}");
    let a = &v["availability"];
    let (sm, sse) = (
        1.0 - a["mean"].as_f64().unwrap(),
        a["std_err"].as_f64().unwrap(),
    );
    assert!(
        (sm - pm).abs() <= 2.576 * (pse * pse + sse * sse).sqrt(),
        "splitting {sm} ± {sse} vs plain {pm} ± {pse}"
    );
    (v, stderr)
}

#[test]
fn splitting_agrees_with_plain_simulation_with_back_off_and_liveness_probes() {
    // A StatefulSet (back-off) whose hangs are found by a liveness probe: no closed form,
    // so a long plain run is the reference; the two estimates must agree within their
    // combined 99 % interval.
    let model = r#"name = "kubernetes rules"
[simulation]
horizon = "1y"
seed = 11
confidence = 0.99
[system]
read_path = ["C"]
[stages.C]
kind = "statefulset"
replicas = 2
min_ready = 1
restart = { dist = "lognormal", mean = "20m", cv = 1.0 }
probes = { liveness = { period = "10s", timeout = "1s", failure_threshold = 3 } }
[[stages.C.failures]]
name = "hang"
every = { dist = "weibull", shape = 0.8, mean = "200h" }
detect = "liveness"
[[stages.C.failures]]
name = "crash"
every = { dist = "exponential", mean = "300h" }
"#;
    assert_splitting_agrees_with_plain(model, "20000", "400");
}

#[test]
fn splitting_agrees_with_plain_simulation_when_a_node_takes_several_replicas_at_once() {
    // 2 of 3 StatefulSet replicas, one per node; a node failure drops a replica at once
    // and an operator force-deletes it to another node after about an hour. Jumps across
    // thresholds and node clocks must be split and redrawn like the rest. Outages are
    // not rare here: the run must say splitting is not worth it.
    let model = r#"name = "nodes"
[simulation]
horizon = "1y"
seed = 5
confidence = 0.99
[system]
read_path = ["C"]
[[nodes]]
name = "n1"
every = { dist = "exponential", mean = "2000h" }
recovery = { dist = "lognormal", mean = "4h", cv = 1.0 }
[[nodes]]
name = "n2"
every = { dist = "exponential", mean = "2000h" }
recovery = { dist = "lognormal", mean = "4h", cv = 1.0 }
[[nodes]]
name = "n3"
every = { dist = "exponential", mean = "2000h" }
recovery = { dist = "lognormal", mean = "4h", cv = 1.0 }
[stages.C]
kind = "statefulset"
replicas = 3
min_ready = 2
nodes = ["n1", "n2", "n3"]
restart = { dist = "lognormal", mean = "30s", cv = 0.5 }
operator_response = { dist = "exponential", mean = "1h" }
failure = { dist = "weibull", shape = 1.5, mean = "300h" }
"#;
    let (v, stderr) = assert_splitting_agrees_with_plain_by(
        model,
        "100000",
        &["-n", "2000", "--importance", "not-ready"],
    );
    assert!(
        v["estimation"]["splitting"]["speedup"].as_f64().unwrap() < 1.0,
        "{v}"
    );
    assert!(stderr.contains("use --method plain"), "{stderr}");
    // Counting only replicas held by their node (or an operator) is as unbiased.
    let (v, _) = assert_splitting_agrees_with_plain_by(
        model,
        "100000",
        &["-n", "1000", "--importance", "held"],
    );
    assert_eq!(v["estimation"]["splitting"]["importance"], "held");
}

/// ha's shape with nodes failing often enough for a plain reference: a StatefulSet that
/// a node's loss holds until the node is back or an operator moves it (required spread,
/// a network volume), and a Deployment whose two replicas may pile up on one node, so
/// that one node's loss takes both at once.
const NODES_AND_PILE_UPS: &str = r#"name = "held replicas"
[simulation]
horizon = "1y"
seed = 3
confidence = 0.99
[system]
read_path = ["C", "D"]
[[nodes]]
name = "n1"
every = { dist = "exponential", mean = "30d" }
recovery = { dist = "lognormal", median = "20m", sigma = 0.8 }
[[nodes]]
name = "n2"
every = { dist = "exponential", mean = "30d" }
recovery = { dist = "lognormal", median = "20m", sigma = 0.8 }
[[nodes]]
name = "n3"
every = { dist = "exponential", mean = "30d" }
recovery = { dist = "lognormal", median = "20m", sigma = 0.8 }
[stages.C]
kind = "statefulset"
replicas = 2
min_ready = 1
nodes = ["n1", "n2", "n3"]
spread = "required"
volume = "network"
restart = { dist = "lognormal", median = "8s", sigma = 0.5 }
recreate = { dist = "lognormal", median = "12s", sigma = 0.5 }
operator_response = { dist = "lognormal", median = "30m", sigma = 0.7 }
failure = { dist = "exponential", mean = "10d" }
[stages.D]
kind = "deployment"
replicas = 2
min_ready = 1
nodes = ["n1", "n2", "n3"]
restart = { dist = "lognormal", median = "5s", sigma = 0.5 }
recreate = { dist = "lognormal", median = "6s", sigma = 0.5 }
eviction_delay = "350s"
failure = { dist = "exponential", mean = "10d" }
"#;

#[test]
fn splitting_by_held_replicas_agrees_with_plain_simulation_where_nodes_hold_them() {
    let (v, _) = assert_splitting_agrees_with_plain_by(
        NODES_AND_PILE_UPS,
        "40000",
        &["-n", "1000", "--importance", "held"],
    );
    let sp = &v["estimation"]["splitting"];
    assert_eq!(sp["importance"], "held");
    assert!(sp["levels"][0]["factor"].as_u64().unwrap() > 1, "{sp}");
}

#[test]
fn splitting_does_not_depend_on_the_threads() {
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("perf");
        v["estimation"]["splitting"]
            .as_object_mut()
            .unwrap()
            .remove("pilot_seconds");
        v
    };
    let args = |t| {
        [
            "--method",
            "splitting",
            "-n",
            "40",
            "--factors",
            "1,300,1",
            "--threads",
            t,
        ]
    };
    let (_, one, _) = run(ONE_OF_THREE, &args("1"));
    let (_, two, _) = run(ONE_OF_THREE, &args("2"));
    assert_eq!(one["estimation"]["splitting"]["levels"][1]["factor"], 300);
    assert_eq!(strip(one), strip(two));
}

#[test]
fn splitting_refuses_what_it_cannot_estimate() {
    // The bundled model of the report's pipeline has no redundancy on its read path.
    let seed = &std::fs::read_to_string("models/seed.toml").unwrap();
    let cases: [(&str, &[&str], &str); 5] = [
        (
            seed,
            &["--method", "splitting"],
            "no read-path stage can lose a replica",
        ),
        (
            ONE_OF_THREE,
            &["--method", "splitting", "--shard", "0/2", "--out", "p"],
            "plain simulation only",
        ),
        (
            ONE_OF_THREE,
            &["--method", "splitting", "--factors", "1,2"],
            "3 thresholds",
        ),
        (
            ONE_OF_THREE,
            &["--method", "splitting", "--factors", "1,0,1"],
            "from 1 to 10000",
        ),
        (
            ONE_OF_THREE,
            &["--factors", "1,2,1"],
            "only apply to --method splitting",
        ),
    ];
    for (model, args, why) in cases {
        let (code, _, stderr) = run(model, args);
        assert_eq!(code, Some(2), "{why}: {stderr}");
        assert!(stderr.contains(why), "{why}: {stderr}");
    }
}

#[test]
fn splitting_with_a_data_flow_agrees_with_plain_simulation_in_every_field() {
    // Two store replicas fed by a collector with a buffer: outages (both stores down)
    // from splitting, lost metrics, completeness and freshness (dominated by the
    // collector's restarts) from the main histories as plain samples.
    let model = r#"name = "flow, two stores"
[simulation]
horizon = "1y"
seed = 4
confidence = 0.99
[system]
read_path = ["C"]
flow = ["A", "B", "C"]
freshness = "3m"
[stages.A]
role = "source"
kind = "external"
rate = 0.15
retention = "0s"
[stages.B]
role = "collector"
kind = "deployment"
replicas = 1
failure = { dist = "exponential", mean = "30d" }
restart = { dist = "lognormal", median = "5s", sigma = 0.5 }
buffer = { limit = 10000, persistent = false, drain_rate = 100.0 }
[stages.C]
role = "store"
kind = "statefulset"
replicas = 2
min_ready = 1
restart = { dist = "lognormal", mean = "2h", cv = 1.0 }
failure = { dist = "exponential", mean = "300h" }
"#;
    let (v, stderr) = assert_splitting_agrees_with_plain(model, "20000", "300");
    let (code, p, _) = run(model, &["--method", "plain", "-n", "20000"]);
    assert_eq!(code, Some(0));
    let fields = &v["estimation"]["fields"];
    for (field, by) in [
        ("availability", "splitting"),
        ("causes", "splitting"),
        ("completeness", "plain"),
        ("lost_metrics", "plain"),
        ("fresh_availability", "plain"),
    ] {
        assert_eq!(fields[field], by, "{field}: {v}");
    }
    // Each flow field within the combined 99 % interval of the two runs.
    for field in ["completeness", "lost_metrics", "fresh_availability"] {
        let (a, b) = (&v[field], &p[field]);
        let (am, ase) = (a["mean"].as_f64().unwrap(), a["std_err"].as_f64().unwrap());
        let (bm, bse) = (b["mean"].as_f64().unwrap(), b["std_err"].as_f64().unwrap());
        assert!(ase > 0.0 && bse > 0.0, "{field}: no interval");
        assert!(
            (am - bm).abs() <= 2.576 * (ase * ase + bse * bse).sqrt(),
            "{field}: splitting {am} ± {ase} vs plain {bm} ± {bse}"
        );
    }
    // Causes from the copies add up to the downtime they share.
    let causes: f64 = v["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["downtime_seconds"]["mean"].as_f64().unwrap())
        .sum();
    let down = v["downtime_seconds"]["mean"].as_f64().unwrap();
    assert!((causes - down).abs() <= 1e-9 * down, "{causes} vs {down}");
    // Whether splitting pays for its copies here (each a copy of the state living
    // through hours of a store's restart) is close: the run says it does not exactly
    // when its speedup is below 1.
    let speedup = v["estimation"]["splitting"]["speedup"].as_f64().unwrap();
    assert_eq!(
        stderr.contains("use --method plain"),
        speedup < 1.0,
        "{speedup}: {stderr}"
    );
}

#[test]
fn auto_chooses_splitting_where_outages_are_rare_and_plain_elsewhere() {
    let seed = &std::fs::read_to_string("models/seed.toml").unwrap();
    let ha = &std::fs::read_to_string("models/ha.toml").unwrap();
    let cases: [(&str, &str, &str); 3] = [
        (
            ONE_OF_THREE,
            "restart_splitting",
            "0 of 32000 plain pilot histories",
        ),
        (seed, "plain", "no read-path stage can lose a replica"),
        // ha's outages come from a node's loss meeting a second fault, or taking both
        // replicas of a Deployment piled up on it: splitting pays when the level counts
        // replicas held by a lost node (or sharing one), not every restart of seconds.
        (ha, "restart_splitting", "level: replicas held"),
    ];
    // A run smaller than the pilot is plain, and says how to get a choice.
    let (code, v, _) = run(ONE_OF_THREE, &["-n", "100"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["estimation"]["method"], "plain");
    assert!(
        v["estimation"]["reason"]
            .as_str()
            .unwrap()
            .contains("give --precision"),
        "{v}"
    );
    for (model, method, why) in cases {
        let (code, v, stderr) = run(model, &["-n", "32000"]);
        assert_eq!(code, Some(0), "{stderr}");
        let e = &v["estimation"];
        assert_eq!(e["method"], method, "{e}");
        assert_eq!(e["chosen"], "auto");
        assert!(e["reason"].as_str().unwrap().contains(why), "{e}");
    }
}
