//! The command line as a user meets it: exit statuses, messages, output formats.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

fn hasim() -> Command {
    Command::cargo_bin("hasim").unwrap()
}

struct Scratch {
    dir: TempDir,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

const VALID: &str = r#"name = "valid"
[simulation]
horizon = "30d"
replications = 50
[system]
read_path = ["C"]
[stages.C]
kind = "statefulset"
replicas = 1
failure = { dist = "exponential", mean = "5d" }
restart = "1h"
"#;

/// `hasim check` refuses `text` with exit 2 and one message naming file:line and `key`.
fn refuses(text: &str, line: usize, key: &str) -> String {
    let s = Scratch::new();
    let path = s.file("m.toml", text);
    let out = hasim().arg("check").arg(&path).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout for a refused model"
    );
    let loc = format!("{}:{line}:", path.display());
    assert!(err.contains(&loc), "expected {loc} in: {err}");
    assert!(err.contains(key), "expected key {key} in: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one message: {err}");
    err
}

fn with(replace: &str, by: &str) -> String {
    assert!(VALID.contains(replace), "{replace}");
    VALID.replacen(replace, by, 1)
}

#[test]
fn accepts_the_valid_model() {
    let s = Scratch::new();
    let path = s.file("m.toml", VALID);
    hasim().arg("check").arg(&path).assert().success();
}

#[test]
fn refuses_bad_toml() {
    refuses(&with("replicas = 1", "replicas = = 1"), 9, "bad TOML");
}

#[test]
fn refuses_an_unknown_key() {
    refuses(
        &with("replicas = 1", "replica = 1"),
        9,
        "stages.C.replica: unknown key",
    );
    refuses(
        &with("horizon = \"30d\"", "horizon = \"30d\"\nhorizn = 3"),
        4,
        "simulation.horizn",
    );
    let e = refuses(
        &with(
            "restart = \"1h\"",
            "restart = { dist = \"fixed\", value = \"1h\", sigma = 1 }",
        ),
        11,
        "stages.C.restart",
    );
    assert!(e.contains("fixed takes value"), "{e}");
}

#[test]
fn refuses_a_missing_required_key() {
    refuses(
        &with("restart = \"1h\"\n", ""),
        7,
        "stages.C.restart: missing required key",
    );
    refuses(
        &with("read_path = [\"C\"]", "slo = 0.9"),
        5,
        "system.read_path: missing required key",
    );
    refuses(
        &with(
            "failure = { dist = \"exponential\", mean = \"5d\" }",
            "failure = { mean = \"5d\" }",
        ),
        10,
        "stages.C.failure.dist",
    );
}

#[test]
fn refuses_zero_or_negative_durations_and_rates() {
    refuses(
        &with("horizon = \"30d\"", "horizon = \"0s\""),
        3,
        "simulation.horizon",
    );
    refuses(
        &with("mean = \"5d\"", "mean = \"-5d\""),
        10,
        "stages.C.failure.mean",
    );
    refuses(
        &with(
            "failure = { dist = \"exponential\", mean = \"5d\" }",
            "failure = \"0s\"",
        ),
        10,
        "stages.C.failure",
    );
    refuses(
        &with("restart = \"1h\"", "restart = \"-1h\""),
        11,
        "stages.C.restart",
    );
    refuses(
        &with("replicas = 1", "replicas = 1\nrole = \"source\"\nrate = 0"),
        11,
        "stages.C.rate",
    );
    refuses(
        &with("horizon = \"30d\"", "horizon = \"30 parsecs\""),
        3,
        "simulation.horizon",
    );
}

#[test]
fn refuses_replicas_or_min_ready_below_one() {
    refuses(
        &with("replicas = 1", "replicas = 0"),
        9,
        "stages.C.replicas",
    );
    refuses(
        &with("replicas = 1", "replicas = 1\nmin_ready = 0"),
        10,
        "stages.C.min_ready",
    );
}

#[test]
fn refuses_min_ready_above_replicas() {
    let e = refuses(
        &with("replicas = 1", "replicas = 2\nmin_ready = 3"),
        10,
        "stages.C.min_ready",
    );
    assert!(e.contains("above replicas"), "{e}");
}

#[test]
fn refuses_unknown_stages_and_nodes() {
    refuses(
        &with("read_path = [\"C\"]", "read_path = [\"C\", \"X\"]"),
        6,
        "system.read_path",
    );
    refuses(
        &with("replicas = 1", "replicas = 1\nnodes = [\"nowhere\"]"),
        10,
        "stages.C.nodes",
    );
}

#[test]
fn refuses_both_failure_forms_and_duplicate_modes() {
    let both = format!("{VALID}[[stages.C.failures]]\nname = \"x\"\nevery = \"1d\"\n");
    refuses(&both, 12, "stages.C.failures");
    let dup = with("failure = { dist = \"exponential\", mean = \"5d\" }\n", "")
        + "[[stages.C.failures]]\nname = \"x\"\nevery = \"1d\"\n[[stages.C.failures]]\nname = \"x\"\nevery = \"2d\"\n";
    let e = refuses(&dup, 15, "stages.C.failures.1.name");
    assert!(e.contains("two failure modes"), "{e}");
}

#[test]
fn refuses_unknown_distributions_and_wrong_parameter_sets() {
    refuses(
        &with("dist = \"exponential\"", "dist = \"poisson\""),
        10,
        "stages.C.failure.dist",
    );
    let e = refuses(
        &with("mean = \"5d\"", "mean = \"5d\", sigma = 1"),
        10,
        "stages.C.failure",
    );
    assert!(
        e.contains("exponential takes mean; found mean + sigma"),
        "{e}"
    );
    let e = refuses(
        &with(
            "restart = \"1h\"",
            "restart = { dist = \"lognormal\", median = \"5s\" }",
        ),
        11,
        "stages.C.restart",
    );
    assert!(
        e.contains("median + sigma or mean + cv or mu + sigma"),
        "{e}"
    );
}

#[test]
fn refuses_liveness_detection_without_a_probe() {
    let m = with("failure = { dist = \"exponential\", mean = \"5d\" }\n", "")
        + "[[stages.C.failures]]\nname = \"hang\"\nevery = \"1d\"\ndetect = \"liveness\"\n";
    let e = refuses(&m, 14, "stages.C.failures.0.detect");
    assert!(e.contains("liveness probe"), "{e}");
}

#[test]
fn refuses_confidence_or_slo_outside_the_open_unit_interval() {
    refuses(
        &with("replications = 50", "replications = 50\nconfidence = 1.0"),
        5,
        "simulation.confidence",
    );
    refuses(
        &with("read_path = [\"C\"]", "read_path = [\"C\"]\nslo = 0"),
        7,
        "system.slo",
    );
}

#[test]
fn models_use_fitted_distributions_from_calibration_files() {
    let s = Scratch::new();
    let samples = s.file(
        "restarts.csv",
        "seconds\n4.1\n5.0\n6.2\n5.5\n4.8\n7.1\n5.9\n6.6\n",
    );
    let cal = s.dir.path().join("cal.toml");
    let out = hasim()
        .args([
            "fit",
            "--dist",
            "lognormal",
            "--name",
            "influxdb",
            "--source",
            "a test",
            "--out",
        ])
        .arg(&cal)
        .arg(&samples)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The model refers to it; `check` shows the fitted lognormal.
    let m = s.file(
        "m.toml",
        &with(
            "restart = \"1h\"",
            "restart = { calibration = \"cal.toml\", name = \"influxdb\" }",
        ),
    );
    let out = hasim().arg("check").arg(&m).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("dist = \"lognormal\""), "{text}");
    // Or its samples.
    let m = s.file(
        "m2.toml",
        &with(
            "restart = \"1h\"",
            "restart = { calibration = \"cal.toml\", name = \"influxdb\", use = \"empirical\" }",
        ),
    );
    let out = hasim().arg("check").arg(&m).output().unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("samples = [4.1, 5.0, 6.2")
    );
    hasim().args(["run", "-n", "50"]).arg(&m).assert().success();
    // A name or file that is not there is bad input naming the model's line and key.
    let e = refuses(
        &with(
            "restart = \"1h\"",
            "restart = { calibration = \"nope.toml\", name = \"x\" }",
        ),
        11,
        "stages.C.restart.calibration",
    );
    assert!(e.contains("cannot read"), "{e}");
}

const FLOW: &str = r#"name = "flow"
[system]
read_path = ["C"]
flow = ["A", "B", "C"]
[stages.A]
role = "source"
kind = "external"
rate = 10.0
[stages.B]
role = "collector"
replicas = 2
[stages.C]
role = "store"
kind = "statefulset"
"#;

#[test]
fn accepts_a_data_flow() {
    let s = Scratch::new();
    let path = s.file("m.toml", FLOW);
    hasim().arg("check").arg(&path).assert().success();
}

#[test]
fn refuses_a_flow_out_of_order_or_with_unknown_stages() {
    let e = refuses(
        &FLOW.replace("[\"A\", \"B\", \"C\"]", "[\"B\", \"A\", \"C\"]"),
        4,
        "system.flow",
    );
    assert!(e.contains("a source, a collector and a store"), "{e}");
    refuses(
        &FLOW.replace("[\"A\", \"B\", \"C\"]", "[\"A\", \"B\", \"Q\"]"),
        4,
        "system.flow.2",
    );
}

#[test]
fn refuses_a_drain_rate_not_above_the_rate_it_drains() {
    // 10 metrics/s over 2 collector replicas: each drains a share of 5/s.
    let m = FLOW.replace(
        "replicas = 2",
        "replicas = 2\nbuffer = { drain_rate = 5.0 }",
    );
    let e = refuses(&m, 4, "system.flow");
    assert!(e.contains("drain_rate"), "{e}");
    let m = FLOW.replace(
        "replicas = 2",
        "replicas = 2\nbuffer = { drain_rate = 5.5 }",
    );
    let s = Scratch::new();
    hasim()
        .arg("check")
        .arg(s.file("m.toml", &m))
        .assert()
        .success();
}

#[test]
fn refuses_flow_keys_on_the_wrong_role_and_freshness_without_a_flow() {
    refuses(
        &FLOW.replace(
            "kind = \"statefulset\"",
            "kind = \"statefulset\"\nbuffer = { limit = 5 }",
        ),
        15,
        "stages.C.buffer",
    );
    refuses(
        &FLOW.replace(
            "rate = 10.0",
            "rate = 10.0\ncache = { max_staleness = \"5m\" }",
        ),
        9,
        "stages.A.cache",
    );
    refuses(
        &with(
            "read_path = [\"C\"]",
            "read_path = [\"C\"]\nfreshness = \"3m\"",
        ),
        7,
        "system.freshness",
    );
}

#[test]
fn refuses_kubernetes_keys_on_kinds_they_do_not_apply_to() {
    let e = refuses(
        &with("replicas = 1", "replicas = 1\neviction_delay = \"5m\""),
        10,
        "stages.C.eviction_delay",
    );
    assert!(e.contains("only a deployment"), "{e}");
    refuses(
        &with(
            "replicas = 1",
            "replicas = 1\nmaintenance = { every = \"7d\", max_surge = 1 }",
        ),
        10,
        "stages.C.maintenance.max_surge",
    );
    refuses(
        &with(
            "kind = \"statefulset\"",
            "kind = \"external\"\nmaintenance = { every = \"7d\" }",
        ),
        9,
        "stages.C.maintenance",
    );
    let e = refuses(
        &with(
            "kind = \"statefulset\"",
            "kind = \"deployment\"\nmaintenance = { every = \"7d\", max_surge = 0, max_unavailable = \"0%\" }",
        ),
        9,
        "stages.C.maintenance",
    );
    assert!(e.contains("cannot both be 0"), "{e}");
}

#[test]
fn refuses_placement_budget_and_volume_keys_where_they_do_not_apply() {
    // Line 12: spread on a DaemonSet (one Pod per node by definition).
    let e = refuses(
        &with(
            "[stages.C]\nkind = \"statefulset\"",
            "[[nodes]]\nname = \"n\"\n[stages.C]\nkind = \"daemonset\"\nnodes = [\"n\"]\nspread = \"required\"",
        ),
        12,
        "stages.C.spread",
    );
    assert!(e.contains("only a deployment or a statefulset"), "{e}");
    refuses(
        &with("replicas = 1", "replicas = 1\nspread = \"sometimes\""),
        10,
        "stages.C.spread",
    );
    // A PodDisruptionBudget takes one form, with a count up to replicas.
    let e = refuses(
        &with(
            "replicas = 1",
            "replicas = 1\npdb = { min_available = 1, max_unavailable = 0 }",
        ),
        10,
        "stages.C.pdb.max_unavailable",
    );
    assert!(e.contains("not both"), "{e}");
    let e = refuses(
        &with("replicas = 1", "replicas = 1\npdb = { min_available = 2 }"),
        10,
        "stages.C.pdb.min_available",
    );
    assert!(e.contains("above replicas"), "{e}");
    refuses(
        &with(
            "replicas = 1",
            "replicas = 1\npdb = { max_unavailable = \"150%\" }",
        ),
        10,
        "stages.C.pdb.max_unavailable",
    );
    refuses(
        &with("replicas = 1", "replicas = 1\npdb = {}"),
        10,
        "stages.C.pdb",
    );
    // Volumes are a StatefulSet's; a local one never moves, so it has no detach wait.
    for key in ["volume = \"local\"", "detach_wait = \"1m\""] {
        let e = refuses(
            &with(
                "kind = \"statefulset\"",
                &format!("kind = \"deployment\"\n{key}"),
            ),
            9,
            &format!("stages.C.{}", key.split(' ').next().unwrap()),
        );
        assert!(e.contains("only a statefulset"), "{e}");
    }
    refuses(
        &with(
            "replicas = 1",
            "replicas = 1\nvolume = \"local\"\ndetach_wait = \"1m\"",
        ),
        11,
        "stages.C.detach_wait",
    );
}

#[test]
fn refuses_upgrades_without_nodes_or_with_a_negative_timeout() {
    let e = refuses(
        &with("[stages.C]", "[upgrades]\nevery = \"30d\"\n[stages.C]"),
        7,
        "upgrades",
    );
    assert!(e.contains("[[nodes]]"), "{e}");
    let nodes = "[[nodes]]\nname = \"n\"\n[upgrades]\nevery = \"30d\"";
    for bad in ["\"-1h\"", "-3600"] {
        refuses(
            &with(
                "[stages.C]",
                &format!("{nodes}\npdb_timeout = {bad}\n[stages.C]"),
            ),
            11,
            "upgrades.pdb_timeout",
        );
    }
    refuses(
        &with(
            "[stages.C]",
            "[[nodes]]\nname = \"n\"\n[upgrades]\nnode_time = \"5m\"\n[stages.C]",
        ),
        9,
        "upgrades.every",
    );
    // The same with a valid timeout is accepted.
    let s = Scratch::new();
    let path = s.file(
        "m.toml",
        &with(
            "[stages.C]",
            &format!("{nodes}\npdb_timeout = \"2h\"\n[stages.C]"),
        ),
    );
    hasim().arg("check").arg(&path).assert().success();
}

#[test]
fn set_overrides_and_names_its_path_in_errors() {
    let s = Scratch::new();
    let path = s.file("m.toml", VALID);
    let out = hasim()
        .args(["check", "--set", "stages.C.replicas=3"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("replicas = 3"));
    let out = hasim()
        .args(["check", "--set", "stages.C.replicas=0"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--set stages.C.replicas"), "{err}");
    let out = hasim()
        .args(["check", "--set", "stages.C.nonsense=1"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stages.C.nonsense: unknown key"));
}

#[test]
fn empirical_samples_come_inline_or_from_a_file() {
    let s = Scratch::new();
    s.file("restarts.csv", "seconds\n4.1\n5.0\n# a comment\n6.2\n");
    let m = with(
        "restart = \"1h\"",
        "restart = { dist = \"empirical\", file = \"restarts.csv\" }",
    );
    let path = s.file("m.toml", &m);
    let out = hasim().arg("check").arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("samples = [4.1, 5.0, 6.2]"));
    let m = with(
        "restart = \"1h\"",
        "restart = { dist = \"empirical\", file = \"missing.csv\" }",
    );
    let path = s.file("m2.toml", &m);
    let out = hasim().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let m = with(
        "restart = \"1h\"",
        "restart = { dist = \"empirical\", samples = [\"4s\", 5, \"1m\"], shift = \"1s\" }",
    );
    let path = s.file("m3.toml", &m);
    hasim().arg("check").arg(&path).assert().success();
}

#[test]
fn a_missing_model_file_is_an_io_failure() {
    hasim()
        .args(["run", "/nonexistent/model.toml"])
        .assert()
        .code(1);
}

#[test]
fn usage_errors_exit_2() {
    hasim().args(["run"]).assert().code(2);
    hasim()
        .args(["run", "models/seed.toml", "--format", "xml"])
        .assert()
        .code(2);
    hasim().args(["frobnicate"]).assert().code(2);
}

#[test]
fn help_explains_exit_statuses() {
    let out = hasim().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Exit status"), "{text}");
    assert!(text.contains("run") && text.contains("solve") && text.contains("check"));
}

#[test]
fn run_prints_the_json_contract() {
    let out = hasim()
        .args([
            "run",
            "models/seed.toml",
            "--replications",
            "300",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    for key in [
        "model",
        "replications",
        "horizon_seconds",
        "seed",
        "availability",
        "downtime_seconds",
        "outages",
        "stages",
        "perf",
        "slo",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    for key in ["mean", "ci_low", "ci_high", "std_err"] {
        assert!(v["availability"][key].is_f64(), "availability.{key}");
    }
    for key in ["mean", "p50", "p95", "p99", "max"] {
        assert!(
            v["downtime_seconds"][key].is_f64(),
            "downtime_seconds.{key}"
        );
    }
    for key in ["target", "p_meet", "ci_low", "ci_high"] {
        assert!(v["slo"][key].is_f64(), "slo.{key}");
    }
    assert!(v["outages"]["mean"].is_f64());
    assert!(v["stages"]["C"]["availability"]["mean"].is_f64());
    assert!(v["stages"]["C"]["failures"]["mean"].is_f64());
    for key in ["wall_seconds", "years_per_second", "events", "threads"] {
        assert!(v["perf"].get(key).is_some(), "perf.{key}");
    }
    assert_eq!(v["replications"], 300);
    assert_eq!(v["horizon_seconds"], 31_536_000.0);
}

#[test]
fn run_json_is_identical_on_one_and_two_threads() {
    let run = |threads: &str, seed: &str| {
        let out = hasim()
            .args([
                "run",
                "models/seed.toml",
                "-n",
                "1200",
                "--format",
                "json",
                "--threads",
                threads,
                "--seed",
                seed,
            ])
            .output()
            .unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_object_mut().unwrap().remove("perf");
        v
    };
    assert_eq!(run("1", "9"), run("2", "9"));
    assert_ne!(run("2", "9"), run("2", "10"));
}

#[test]
fn out_writes_a_file_and_fails_fast_on_a_bad_path() {
    let s = Scratch::new();
    let out = s.dir.path().join("r.json");
    hasim()
        .args([
            "run",
            "models/r1.toml",
            "-n",
            "100",
            "--format",
            "json",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["replications"], 100);
    hasim()
        .args([
            "run",
            "models/r1.toml",
            "-n",
            "100",
            "--out",
            "/nonexistent/dir/r.json",
        ])
        .assert()
        .code(1);
}

#[test]
fn table_output_reads_as_a_summary() {
    let out = hasim()
        .args(["run", "models/seed.toml", "-n", "200"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("availability 1 - X/Y"), "{text}");
    assert!(text.contains("SLO"));
}

#[test]
fn solve_prints_json_and_refuses_what_it_cannot_answer() {
    let out = hasim()
        .args(["solve", "models/r1.toml", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((v["availability"].as_f64().unwrap() - 0.999_237_875).abs() < 5e-10);
    assert_eq!(v["exact"], true);
    assert!(v["notes"].as_array().unwrap().is_empty());
    let s = Scratch::new();
    // A Weibull shape of 0.001 has a mean time to failure of scale·Γ(1001): not finite.
    let m = with(
        "failure = { dist = \"exponential\", mean = \"5d\" }",
        "failure = { dist = \"weibull\", shape = 0.001, scale = \"1h\" }",
    );
    let path = s.file("m.toml", &m);
    hasim().arg("solve").arg(&path).assert().code(3);
}

#[test]
fn solve_refuses_moving_replicas_and_drains_rather_than_guess() {
    // The model that once came out 160 times too good: two nodes, replicas that move.
    let s = Scratch::new();
    let moving = s.file(
        "moving.toml",
        r#"
[system]
read_path = ["C", "D"]
[[nodes]]
name = "n1"
every = { dist = "exponential", mean = "90d" }
recovery = "20m"
[[nodes]]
name = "n2"
every = { dist = "exponential", mean = "90d" }
recovery = "20m"
[stages.C]
kind = "statefulset"
replicas = 3
nodes = ["n1", "n2"]
restart = "10s"
operator_response = "30m"
failure = { dist = "exponential", mean = "60d" }
[stages.D]
kind = "deployment"
replicas = 2
nodes = ["n1", "n2"]
restart = "5s"
failure = { dist = "exponential", mean = "60d" }
"#,
    );
    let out = hasim().arg("solve").arg(&moving).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("move to other nodes") && err.contains("hasim run"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    let out = hasim().arg("solve").arg("models/ha.toml").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[upgrades]"));
}

#[test]
fn check_prints_a_model_that_reads_back_the_same() {
    let s = Scratch::new();
    let out = hasim()
        .args(["check", "models/seed.toml"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let resolved = String::from_utf8(out.stdout).unwrap();
    let path = s.file("resolved.toml", &resolved);
    let again = hasim().arg("check").arg(&path).output().unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(String::from_utf8(again.stdout).unwrap(), resolved);
    assert!(Path::new("models/seed.toml").exists());
}

#[test]
fn the_bundled_models_print_every_result() {
    for model in ["models/seed.toml", "models/ha.toml"] {
        let out = hasim()
            .args(["run", model, "-n", "300", "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{model}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for key in ["fresh_availability", "completeness", "availability"] {
            for part in ["mean", "ci_low", "ci_high", "std_err"] {
                assert!(v[key][part].is_f64(), "{model}: {key}.{part}");
            }
        }
        assert!(v["lost_metrics"]["mean"].is_f64(), "{model}");
        assert!(v["slo"]["p_meet"].is_f64(), "{model}");
        assert!(v["outages"]["mean_length_seconds"].is_f64(), "{model}");
        let causes = v["causes"].as_array().unwrap();
        let sum: f64 = causes
            .iter()
            .map(|c| c["downtime_seconds"]["mean"].as_f64().unwrap())
            .sum();
        let x = v["downtime_seconds"]["mean"].as_f64().unwrap();
        assert!(
            (sum - x).abs() <= 1e-6 * x.max(1.0),
            "{model}: causes {sum} vs X {x}"
        );
        for stage in ["A", "B", "C", "D"] {
            assert!(
                v["stages"][stage]["availability"]["mean"].is_f64(),
                "{model}: {stage}"
            );
            assert!(
                v["stages"][stage]["failures"]["mean"].is_f64(),
                "{model}: {stage}"
            );
        }
    }
}

#[test]
fn every_bundled_model_reads_back_from_its_resolved_form() {
    let s = Scratch::new();
    for entry in std::fs::read_dir("models").unwrap() {
        let path = entry.unwrap().path();
        let out = hasim().arg("check").arg(&path).output().unwrap();
        assert!(out.status.success(), "{}", path.display());
        let resolved = String::from_utf8(out.stdout).unwrap();
        let again = hasim()
            .arg("check")
            .arg(s.file("r.toml", &resolved))
            .output()
            .unwrap();
        assert!(
            again.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&again.stderr)
        );
        assert_eq!(
            String::from_utf8(again.stdout).unwrap(),
            resolved,
            "{}",
            path.display()
        );
    }
}

#[test]
fn trace_logs_one_history_as_csv_or_json() {
    let out = hasim()
        .args(["trace", "models/seed.toml", "--replication", "2"])
        .args(["--start", "2027-01-01T00:00:00+01:00"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("time_seconds,at,stage,replica,node,event,state,buffered,timestamp")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.len() > 10);
    assert!(rows.iter().all(|r| r.len() == 9));
    let times: Vec<f64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "time order");
    // Every failure names its mode and the replica's node (one node here); a replica
    // line names no node only while its new Pod has none.
    let failed: Vec<&Vec<&str>> = rows.iter().filter(|r| r[5].starts_with("failed")).collect();
    assert!(!failed.is_empty());
    for r in &failed {
        assert!(["failed crash", "failed hang"].contains(&r[5]), "{r:?}");
        assert_eq!(r[4], "minikube", "{r:?}");
    }
    for r in rows.iter().filter(|r| !r[2].is_empty() && !r[3].is_empty()) {
        assert!(r[4] == "minikube" || r[6] == "pending", "{r:?}");
    }
    // `at` is the same time as days and a clock.
    for r in &rows {
        let t: f64 = r[0].parse().unwrap();
        let (days, clock) = r[1].split_once("d ").unwrap_or(("0", r[1]));
        let parts: Vec<f64> = clock.split(':').map(|p| p.parse().unwrap()).collect();
        let back = days.parse::<f64>().unwrap() * 86_400.0
            + parts[0] * 3600.0
            + parts[1] * 60.0
            + parts[2];
        assert!((back - t).abs() <= 5e-4, "{r:?}");
        // The timestamp is the same instant after --start, in UTC.
        let at: jiff::Timestamp = r[8].parse().unwrap();
        let start: jiff::Timestamp = "2026-12-31T23:00:00Z".parse().unwrap();
        let since = at.duration_since(start).as_secs_f64();
        assert!((since - t).abs() <= 5e-4 && r[8].ends_with('Z'), "{r:?}");
    }
    let bad = hasim()
        .args(["trace", "models/seed.toml", "--start", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));

    // The JSON's X is the X of that history in `hasim run`: replication 0 alone.
    let out = hasim()
        .args(["trace", "models/seed.toml", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = hasim()
        .args(["run", "models/seed.toml", "-n", "1", "--format", "json"])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let (a, b) = (
        v["downtime_seconds"].as_f64().unwrap(),
        r["downtime_seconds"]["mean"].as_f64().unwrap(),
    );
    assert!((a - b).abs() <= 1e-6 * a.max(1.0), "{a} vs {b}");
    assert!(v["events"].as_array().unwrap().len() > 10);
    // Unix time by default.
    let e = &v["events"][3];
    let at: jiff::Timestamp = e["timestamp"].as_str().unwrap().parse().unwrap();
    let t = e["time"].as_f64().unwrap();
    assert!((at.as_millisecond() as f64 / 1e3 - t).abs() <= 5e-4, "{e}");
    assert_eq!(v["start"], "1970-01-01T00:00:00Z");
}

#[test]
fn fit_reads_censored_samples_and_prints_every_family() {
    // The NIST/SEMATECH Weibull example (see src/calibrate/fit.rs): ten failures, ten
    // units censored at 500 h.
    let s = Scratch::new();
    let mut text = String::from("seconds,censored\n# NIST e-Handbook 8.4.1.3\n");
    for t in [54, 187, 216, 240, 244, 335, 361, 373, 375, 386] {
        text += &format!("{t}\n");
    }
    text += &"500,censored\n".repeat(10);
    let path = s.file("samples.csv", &text);
    let png = s.dir.path().join("fit.png");
    let out = hasim()
        .args(["fit", "--format", "json", "--plot"])
        .arg(&png)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["samples"], 20);
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (1000, 600));
    // Censored samples: the curve is Kaplan and Meier's, its band Greenwood's (SVG for a
    // .svg name); without censoring, the empirical function with its DKW band.
    let svg = s.dir.path().join("fit.svg");
    hasim()
        .args(["fit", "--plot"])
        .arg(&svg)
        .arg(&path)
        .assert()
        .success();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("Kaplan") && text.contains("Greenwood"),
        "{text}"
    );
    let exact = s.file(
        "exact.csv",
        "54\n187\n216\n240\n244\n335\n361\n373\n375\n386\n",
    );
    hasim()
        .args(["fit", "--plot"])
        .arg(&svg)
        .arg(&exact)
        .assert()
        .success();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("empirical") && text.contains("DKW"), "{text}");
    assert_eq!(v["censored"], 10);
    let fits = v["fits"].as_array().unwrap();
    assert_eq!(fits.len(), 4);
    let w = fits.iter().find(|f| f["family"] == "weibull").unwrap();
    assert!((w["params"]["shape"].as_f64().unwrap() - 1.7208).abs() < 5e-5);
    assert!((w["params"]["scale"].as_f64().unwrap() - 606.5280).abs() < 5e-4);
    let aics: Vec<f64> = fits.iter().map(|f| f["aic"].as_f64().unwrap()).collect();
    assert!(aics.windows(2).all(|w| w[0] <= w[1]), "best AIC first");
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("only 20 samples"))
    );
    // Written to a calibration file, its censored samples cannot serve as an empirical
    // distribution.
    let cal = s.dir.path().join("cal.toml");
    hasim()
        .args(["fit", "--name", "nist", "--out"])
        .arg(&cal)
        .arg(&path)
        .assert()
        .success();
    let m = s.file(
        "m.toml",
        &with(
            "restart = \"1h\"",
            "restart = { calibration = \"cal.toml\", name = \"nist\", use = \"empirical\" }",
        ),
    );
    let out = hasim().arg("check").arg(&m).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("censored"));
    let bad = s.file("bad.csv", "seconds\n3\nabc\n");
    hasim().arg("fit").arg(&bad).assert().code(2);
    let none = s.file("none.csv", "5,censored\n");
    hasim().arg("fit").arg(&none).assert().code(2);
}

/// Warnings go to standard error in table mode as in JSON: the table holds only results.
#[test]
fn warnings_go_to_standard_error_in_every_format() {
    for format in ["table", "json"] {
        let out = hasim()
            .args(["run", "models/seed.toml", "-n", "1", "--format", format])
            .output()
            .unwrap();
        assert!(out.status.success());
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            stderr.contains("warning: one replication gives no interval"),
            "{format}: {stderr}"
        );
        assert!(!stdout.contains("warning:"), "{format}: {stdout}");
    }
}

/// `--version` names the features built in.
#[test]
fn the_version_names_the_features_built_in() {
    let out = hasim().arg("--version").output().unwrap();
    assert!(out.status.success());
    let v = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        v.trim(),
        format!("hasim {} (features: k8s)", env!("CARGO_PKG_VERSION"))
    );
}

/// `-` reads the model from standard input, its errors named so.
#[test]
fn a_model_can_come_from_standard_input() {
    let model = std::fs::read_to_string("models/seed.toml").unwrap();
    let from_stdin = hasim()
        .args(["run", "-", "-n", "300", "--format", "json"])
        .write_stdin(model)
        .output()
        .unwrap();
    assert!(
        from_stdin.status.success(),
        "{}",
        String::from_utf8_lossy(&from_stdin.stderr)
    );
    let from_file = hasim()
        .args(["run", "models/seed.toml", "-n", "300", "--format", "json"])
        .output()
        .unwrap();
    let strip = |o: &[u8]| {
        let mut v: serde_json::Value = serde_json::from_slice(o).unwrap();
        v.as_object_mut().unwrap().remove("perf");
        v
    };
    assert_eq!(strip(&from_stdin.stdout), strip(&from_file.stdout));
    let bad = hasim()
        .args(["check", "-"])
        .write_stdin("[system]\nread_path = [\"C\"]\n[stages.C]\nreplicas = 0\n")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("standard input:"));
}

/// Samples for `hasim fit` can come from standard input too, with the same fit.
#[test]
fn samples_can_come_from_standard_input() {
    let s = Scratch::new();
    let samples = "seconds\n4.1\n5.0\n5.2\n6.3\n4.8\n7.9\n5.5\n12.0,censored\n";
    let file = s.dir.path().join("samples.csv");
    std::fs::write(&file, samples).unwrap();
    let from_file = hasim()
        .arg("fit")
        .arg(&file)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let from_stdin = hasim()
        .args(["fit", "-", "--format", "json"])
        .write_stdin(samples)
        .output()
        .unwrap();
    assert!(
        from_stdin.status.success(),
        "{}",
        String::from_utf8_lossy(&from_stdin.stderr)
    );
    assert_eq!(from_stdin.stdout, from_file.stdout);
}

/// `hasim completions SHELL` prints a completion script the shell accepts, naming every
/// command.
#[test]
fn completions_are_valid_bash_naming_every_command() {
    let out = hasim().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    for command in [
        "run",
        "sweep",
        "report",
        "calibrate",
        "history",
        "merge",
        "advise",
    ] {
        assert!(script.contains(command), "{command} not completed");
    }
    let s = Scratch::new();
    let path = s.dir.path().join("hasim.bash");
    std::fs::write(&path, &script).unwrap();
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .status()
        .unwrap();
    assert!(syntax.success(), "bash -n refuses the script");
    let bad = hasim().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// A sweep's CSV without its `wall_seconds` column (the one value that changes run to run).
fn without_wall(csv: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8_lossy(csv);
    let rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    let wall = rows[0].iter().position(|c| c == "wall_seconds").unwrap();
    rows.into_iter()
        .map(|mut r| {
            r.remove(wall);
            r
        })
        .collect()
}

/// `--quiet` (anywhere on the line) drops the notes on what is being done; warnings stay.
#[test]
fn quiet_drops_progress_notes_but_not_warnings() {
    let args = [
        "sweep",
        "models/seed.toml",
        "--vary",
        "stages.C.replicas=1,2",
        "-n",
        "50",
    ];
    let loud = hasim().args(args).output().unwrap();
    assert!(loud.status.success());
    let loud_err = String::from_utf8_lossy(&loud.stderr);
    assert!(loud_err.contains("method chosen by a pilot"), "{loud_err}");
    for quiet in [&["-q"][..], &["--quiet"]] {
        let out = hasim().args(quiet).args(args).output().unwrap();
        assert!(out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("method chosen"), "{err}");
        assert_eq!(
            without_wall(&out.stdout),
            without_wall(&loud.stdout),
            "the results are the same"
        );
    }
    // A warning is not progress: a run of too few histories still says so.
    let out = hasim()
        .args(["run", "models/ha.toml", "-n", "50", "--quiet"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning:"));
}
