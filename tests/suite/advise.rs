//! `hasim advise`: the linters' checks, each measured. On the seed model the three fixes
//! that matter (a liveness probe on C, a second replica of C, a second node) come first,
//! measurable and large; on the HA model nothing is large, and the table says so with
//! intervals. Every fix's `--set`s reproduce its saving with `hasim run`, to the last digit
//! (the same histories from the same seed), and bad input is refused.

use assert_cmd::Command;
use serde_json::Value;

fn hasim() -> Command {
    Command::cargo_bin("hasim").unwrap()
}

fn advise_json(args: &[&str]) -> Value {
    let out = hasim()
        .arg("advise")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "advise {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn saved(f: &Value) -> (f64, f64, f64) {
    let s = &f["downtime_saved_minutes_per_year"];
    (
        s["mean"].as_f64().unwrap(),
        s["ci_low"].as_f64().unwrap(),
        s["ci_high"].as_f64().unwrap(),
    )
}

/// Downtime minutes a year of `hasim run MODEL --set …` (one year per history).
fn run_downtime(model: &str, sets: &[String], n: &str) -> f64 {
    let mut cmd = hasim();
    cmd.args(["run", model, "-n", n, "--format", "json"]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (1.0 - v["availability"]["mean"].as_f64().unwrap()) * 365.0 * 24.0 * 60.0
}

#[test]
fn the_seed_model_needs_a_liveness_probe_a_second_store_and_a_second_node_first() {
    let a = advise_json(&["models/seed.toml", "-n", "4000"]);
    for key in [
        "model",
        "replications",
        "seed",
        "confidence",
        "downtime_minutes_per_year",
        "fixes",
        "passed",
    ] {
        assert!(a.get(key).is_some(), "no {key} in {a:#}");
    }
    assert_eq!(a["replications"], 4000);
    let fixes = a["fixes"].as_array().unwrap();
    let top: Vec<&str> = fixes[..3]
        .iter()
        .map(|f| f["fix"].as_str().unwrap())
        .collect();
    for want in [
        "a liveness probe on C",
        "a second replica of C",
        "a second node like minikube",
    ] {
        assert!(
            top.iter().any(|t| t.starts_with(want)),
            "{want} not in the top three: {top:#?}"
        );
    }
    let now = a["downtime_minutes_per_year"]["mean"].as_f64().unwrap();
    for f in &fixes[..3] {
        let (mean, low, high) = saved(f);
        assert!(low > 0.0 && low <= mean && mean <= high, "{f:#}");
        assert!(
            mean < now,
            "a fix cannot save more than the downtime there is: {f:#}"
        );
        assert_eq!(f["significant"], true, "{f:#}");
        assert_eq!(f["large"], true, "{f:#}");
        assert_eq!(f["downtime_saved_minutes_per_year"]["significant"], true);
    }
    // The second node costs a node and two replicas; the probe costs nothing.
    let by = |p: &str| {
        fixes
            .iter()
            .find(|f| f["fix"].as_str().unwrap().starts_with(p))
            .unwrap()
    };
    assert_eq!(
        (
            by("a second node")["extra_nodes"].as_u64(),
            by("a second node")["extra_replicas"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(by("a liveness probe")["extra_replicas"], 0);
    // The measurable ones come first, largest first.
    let sig: Vec<bool> = fixes
        .iter()
        .map(|f| {
            f["downtime_saved_minutes_per_year"]["significant"]
                .as_bool()
                .unwrap()
        })
        .collect();
    assert!(sig.windows(2).all(|w| w[0] >= w[1]), "{sig:?}");
    let means: Vec<f64> = fixes
        .iter()
        .filter(|f| f["downtime_saved_minutes_per_year"]["significant"] == true)
        .map(|f| saved(f).0)
        .collect();
    assert!(means.windows(2).all(|w| w[0] >= w[1]), "{means:?}");
    // The collector's memory buffer is found, and (with a data flow) what it keeps is measured.
    let buffer = by("a persistent buffer on B");
    assert!(
        buffer["lost_metrics_saved_per_year"]["mean"].is_f64(),
        "{buffer:#}"
    );
}

#[test]
fn each_fix_reproduces_with_hasim_run_on_the_same_histories() {
    assert_fixes_reproduce("models/seed.toml");
}

/// A stage named as Kubernetes allows, with dots (`influx.db`): the fixes' `--set`s
/// quote it (`stages."influx.db".replicas=2`), and reproduce as they do on the seed.
#[test]
fn fixes_to_a_stage_with_dots_in_its_name_quote_it_and_reproduce() {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::fs::read_to_string("models/seed.toml").unwrap();
    let dotted = seed
        .replace("[stages.C]", "[stages.\"influx.db\"]")
        .replace("[[stages.C.failures]]", "[[stages.\"influx.db\".failures]]")
        .replace("\"C\"", "\"influx.db\"");
    let model = dir.path().join("dotted.toml");
    std::fs::write(&model, dotted).unwrap();
    let sets = assert_fixes_reproduce(model.to_str().unwrap());
    assert!(
        sets.contains(&"stages.\"influx.db\".replicas=2".to_string()),
        "{sets:?}"
    );
}

/// Checks that every fix advised for `model` saves, with `hasim run` and its `--set`s on
/// the same histories, what advise says; returns all the fixes' `--set`s.
fn assert_fixes_reproduce(model: &str) -> Vec<String> {
    let a = advise_json(&[model, "-n", "2000"]);
    let now = run_downtime(model, &[], "2000");
    let base = a["downtime_minutes_per_year"]["mean"].as_f64().unwrap();
    assert!(
        (now - base).abs() <= 1e-9 * now,
        "advise's model {base} vs run {now}"
    );
    let mut all = vec![];
    for f in a["fixes"].as_array().unwrap() {
        let sets: Vec<String> = f["sets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        let fixed = run_downtime(model, &sets, "2000");
        let (mean, _, _) = saved(f);
        assert!(
            (now - fixed - mean).abs() <= 1e-6 * now,
            "{}: run gives {} saved, advise {mean}",
            f["fix"],
            now - fixed
        );
        all.extend(sets);
    }
    assert!(
        a["fixes"].as_array().unwrap().len() >= 4,
        "{} fixes",
        a["fixes"]
    );
    all
}

#[test]
fn the_ha_model_has_nothing_large_to_fix_and_says_so_with_intervals() {
    let a = advise_json(&["models/ha.toml", "-n", "4000"]);
    let fixes = a["fixes"].as_array().unwrap();
    let budget = a["large_threshold_minutes_per_year"].as_f64().unwrap();
    assert!(
        (budget - 0.001 * 365.0 * 24.0 * 60.0).abs() < 1e-6,
        "the SLO's budget: {budget}"
    );
    for f in fixes {
        assert_eq!(f["large"], false, "{f:#}");
        let (_, low, high) = saved(f);
        assert!(high < 0.01 * budget, "{f:#}");
        assert!(low <= high);
    }
    let passed: Vec<&str> = a["passed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for want in ["C: 2 replicas", "D: 2 replicas", "C: a liveness probe"] {
        assert!(passed.contains(&want), "{want} not in {passed:?}");
    }
    let out = hasim()
        .args(["advise", "models/ha.toml", "-n", "4000"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let said = table
        .contains("Nothing large: no saving's lower bound reaches 1 % of the SLO's budget")
        || table.contains("No fix measurably reduces downtime.");
    assert!(said, "{table}");
    assert!(table.contains("95 % CI"), "{table}");
    assert!(table.contains("Passed: "), "{table}");
}

#[test]
fn the_table_gives_a_run_line_per_fix_and_the_users_own_overrides() {
    let out = hasim()
        .args([
            "advise",
            "models/seed.toml",
            "-n",
            "1000",
            "--set",
            "simulation.seed=7",
            "--slo",
            "0.9999",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(t.contains("SLO 0.9999: a budget of 52.6m a year"), "{t}");
    assert!(t.contains("(seed 7)"), "{t}");
    assert!(
        t.contains("try:   hasim run models/seed.toml --set 'simulation.seed=7' --set 'stages.C.replicas=2'"),
        "{t}"
    );
    assert!(t.contains("found: no liveness probe on C"), "{t}");
    // Progress goes to standard error, not into the table.
    assert!(String::from_utf8_lossy(&out.stderr).contains("hasim advise: measuring"));
    assert!(!t.contains("measuring"));
}

#[cfg(feature = "k8s")]
#[test]
fn advice_straight_from_the_manifests() {
    let a = advise_json(&["--from-manifests", "calibration/k8s/", "-n", "2000"]);
    let fixes = a["fixes"].as_array().unwrap();
    let first = fixes[0]["fix"].as_str().unwrap();
    assert!(first.starts_with("a second node like node-1"), "{first}");
    assert!(
        fixes[0]["sets"][0]
            .as_str()
            .unwrap()
            .contains("name = \"node-2\""),
        "{:#}",
        fixes[0]
    );
    let passed: Vec<&str> = a["passed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        passed.contains(&"influxdb: a liveness probe"),
        "the manifests' probe: {passed:?}"
    );
    let out = hasim()
        .args([
            "advise",
            "--from-manifests",
            "calibration/k8s/",
            "-n",
            "500",
        ])
        .output()
        .unwrap();
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(
        t.contains("hasim import calibration/k8s/ -o model.toml"),
        "{t}"
    );
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    // Bad input exits 2; a file that cannot be read exits 1, as for `hasim run`.
    for (args, says, code) in [
        (
            vec!["models/seed.toml", "--slo", "1.5"],
            "--slo 1.5: must be in (0, 1)",
            2,
        ),
        (
            vec!["models/seed.toml", "--slo", "0"],
            "must be in (0, 1)",
            2,
        ),
        (
            vec!["models/seed.toml", "--set", "stages.Z.replicas=2"],
            "Z",
            2,
        ),
        (
            vec!["no-such-model.toml"],
            "cannot read no-such-model.toml",
            1,
        ),
    ] {
        let out = hasim().arg("advise").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = hasim().arg("advise").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "no model");
}
