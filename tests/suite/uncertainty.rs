//! `hasim run --uncertainty N`: two-loop Monte Carlo over the parameters a model is not
//! sure of. The acceptance check: a one-component model whose failure rate is
//! gamma-distributed and whose restart takes a fixed time has availability
//! `A(λ) = 1 / (1 + λ r)` for each rate (an alternating renewal process; the start-up
//! transient is below 1e-8 here), so the availability's 5 % and 95 % points are exactly
//! `A` at the rate's 95 % and 5 % points, and its mean is `E[A(λ)]`.

use assert_cmd::Command;
use serde_json::Value;
use statrs::distribution::{Continuous, ContinuousCDF, Gamma};

use hasim::estimate::uncertainty::quantile_ranks;

fn hasim() -> Command {
    Command::cargo_bin("hasim").unwrap()
}

const RESTART: f64 = 3600.0;
/// Jeffreys' posterior for 2 events in 90 days: the rate is Gamma(2.5, 90 d).
const SHAPE: f64 = 2.5;
const EXPOSURE: f64 = 90.0 * 86_400.0;

fn one_component() -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    let mean_time = EXPOSURE / SHAPE;
    std::io::Write::write_all(
        &mut f,
        format!(
            "name = \"one component, uncertain rate\"\n\
             [simulation]\nhorizon = \"1y\"\nreplications = 400\nseed = 11\n\
             [system]\nread_path = [\"C\"]\nslo = 0.999\n\
             [stages.C]\nkind = \"external\"\nrestart = \"1h\"\n\
             failure = {{ dist = \"exponential\", mean = {mean_time}, uncertain = {{ dist = \"gamma\", shape = {SHAPE}, exposure = \"90d\" }} }}\n"
        )
        .as_bytes(),
    )
    .unwrap();
    f
}

fn run_json(model: &std::path::Path, extra: &[&str]) -> Value {
    let out = hasim()
        .arg("run")
        .arg(model)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn availability(rate: f64) -> f64 {
    1.0 / (1.0 + rate * RESTART)
}

#[test]
fn the_epistemic_quantiles_match_the_exact_transform_of_a_gamma_rate() {
    let model = one_component();
    let draws = 400;
    let j = run_json(
        model.path(),
        &["--uncertainty", "400", "--draw-replications", "4000"],
    );
    let u = &j["uncertainty"];
    assert_eq!(u["draws"], draws);
    let mut seen: Vec<f64> = u["draw_results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["availability"].as_f64().unwrap())
        .collect();
    assert_eq!(seen.len(), draws);
    seen.sort_by(f64::total_cmp);
    // Each draw's availability carries its inner run's error as well as the rate's.
    let inner = u["inner_std_err_max"].as_f64().unwrap();
    assert!(inner > 0.0 && inner < 1e-4, "inner error {inner}");
    let rate = Gamma::new(SHAPE, EXPOSURE).unwrap();
    for (q, key) in [(0.05, "p05"), (0.5, "p50"), (0.95, "p95")] {
        let exact = availability(rate.inverse_cdf(1.0 - q));
        // A Latin hypercube in one dimension puts the k-th smallest draw in the k-th of
        // `draws` strata of probability, so the reported quantile lies between the
        // exact ones at q ± 2/draws, give or take the inner runs' error (five of their
        // largest standard errors).
        let step = 2.0 / draws as f64;
        let a = availability(rate.inverse_cdf(1.0 - (q - step))) - 5.0 * inner;
        let b = availability(rate.inverse_cdf(1.0 - (q + step))) + 5.0 * inner;
        let reported = u["availability"][key].as_f64().unwrap();
        assert!(
            a <= reported && reported <= b,
            "{key}: reported {reported}, exact {exact}, allowed {a} .. {b}"
        );
        // The stated interval (distribution-free, from the order statistics) holds the
        // exact value, and is no tighter than the 99.9 % one is wide.
        let ci = &u["availability_ci"][key];
        let (c0, c1) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
        assert!(
            c0 - 5.0 * inner <= exact && exact <= c1 + 5.0 * inner,
            "{key}: exact {exact} outside the stated {c0} .. {c1}"
        );
        let (lo, hi) = quantile_ranks(draws, q, 0.999);
        assert!(seen[lo] <= c0 && c1 <= seen[hi]);
    }
    // E[A(λ)] by the trapezoidal rule over the rate's density.
    let steps = 200_000;
    let top = rate.inverse_cdf(1.0 - 1e-12);
    let h = top / steps as f64;
    let mean: f64 = (0..=steps)
        .map(|k| {
            let x = k as f64 * h;
            let w = if k == 0 || k == steps { 0.5 } else { 1.0 };
            w * rate.pdf(x) * availability(x)
        })
        .sum::<f64>()
        * h;
    let ci = &u["availability_ci"]["mean"];
    let (c0, c1) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
    assert!(
        c0 - inner <= mean && mean <= c1 + inner,
        "mean {mean} outside {c0} .. {c1}"
    );
    // One parameter: it drives all of the spread, availability falling as its mean time
    // (the time between failures) shortens.
    let d = &u["drivers"][0];
    assert_eq!(d["parameter"], "stages.C.failures.crash.every");
    assert_eq!(d["share"], 1.0);
    assert!(d["rank_correlation"].as_f64().unwrap() > 0.9);
    assert_eq!(d["significant"], true);
    // The point estimate is the model as written: the rate at the posterior mean.
    let point = j["availability"]["mean"].as_f64().unwrap();
    let at_mean = availability(SHAPE / EXPOSURE);
    let se = j["availability"]["std_err"].as_f64().unwrap();
    assert!((point - at_mean).abs() < 5.0 * se, "{point} vs {at_mean}");
}

/// Everything but the wall time is the same on one thread and two.
#[test]
fn an_uncertainty_run_is_the_same_on_any_thread_count() {
    let model = one_component();
    let args = [
        "--uncertainty",
        "20",
        "--draw-replications",
        "300",
        "-n",
        "300",
    ];
    let mut runs: Vec<Value> = ["1", "2"]
        .iter()
        .map(|t| {
            let mut all = args.to_vec();
            all.extend(["--threads", t]);
            run_json(model.path(), &all)["uncertainty"].clone()
        })
        .collect();
    for r in &mut runs {
        r.as_object_mut().unwrap().remove("wall_seconds");
    }
    assert_eq!(runs[0], runs[1]);
    // Another seed, another hypercube and other histories.
    let other = run_json(model.path(), &[&args[..], &["--seed", "12"]].concat());
    assert_ne!(
        other["uncertainty"]["availability"],
        runs[0]["availability"]
    );
}

#[test]
fn bad_uncertainty_is_refused_with_where_and_why() {
    let model = one_component();
    let text = std::fs::read_to_string(model.path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (from, to, says) in [
        ("shape = 2.5", "shape = -1", "shape must be positive"),
        (
            "dist = \"gamma\", shape = 2.5, exposure = \"90d\"",
            "dist = \"beta\"",
            "unknown uncertain distribution \"beta\"",
        ),
        (
            "dist = \"gamma\", shape = 2.5, exposure = \"90d\"",
            "dist = \"lognormal\", median = \"36d\", error_factor = 0.5",
            "error_factor must be above 1",
        ),
        (
            "exposure = \"90d\"",
            "exposure = \"90d\", mean_rate = \"10/y\"",
            "shape + exposure or shape + mean_rate",
        ),
    ] {
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, text.replace(from, to)).unwrap();
        let out = hasim().arg("run").arg(&bad).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("bad.toml:12:"), "{err}");
        assert!(err.contains("stages.C.failure.uncertain"), "{err}");
        assert!(err.contains(says), "{err}");
    }
    // Nothing uncertain, or too few draws: refused before anything runs.
    let plain = dir.path().join("plain.toml");
    std::fs::write(
        &plain,
        text.replace(
            ", uncertain = { dist = \"gamma\", shape = 2.5, exposure = \"90d\" }",
            "",
        ),
    )
    .unwrap();
    let out = hasim()
        .arg("run")
        .arg(&plain)
        .args(["--uncertainty", "50"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no uncertain parameter"));
    let out = hasim()
        .arg("run")
        .arg(model.path())
        .args(["--uncertainty", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 draws"));
    assert!(out.stdout.is_empty());
}

/// `models/seed-uncertain.toml` is `models/seed.toml` with laws on its assumptions: the
/// same model once the laws are taken off (so its point estimate is seed.toml's), and
/// every failure rate of seed.toml carries one.
#[test]
fn the_uncertain_seed_is_the_seed_with_stated_laws() {
    use hasim::model::Model;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let seed = Model::load(&root.join("models/seed.toml"), &[]).unwrap();
    let mut uncertain = Model::load(&root.join("models/seed-uncertain.toml"), &[]).unwrap();
    let stated: Vec<String> = uncertain
        .uncertain_parameters()
        .into_iter()
        .map(|p| p.parameter)
        .collect();
    let mut rates: Vec<String> = seed
        .clone()
        .distributions_mut()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.ends_with(".every"))
        .collect();
    rates.push("stages.C.failures.hang.detect".into());
    rates.sort();
    let mut sorted = stated.clone();
    sorted.sort();
    assert_eq!(
        sorted, rates,
        "every failure rate (and the hang's detection) has a law"
    );
    for p in uncertain.uncertain_parameters() {
        let (lo, hi) = (p.law.mean_at(0.05), p.law.mean_at(0.95));
        assert!(
            lo < p.mean && p.mean < hi,
            "{}: the point {} inside its law's 5–95 %",
            p.parameter,
            p.mean
        );
    }
    for (_, d) in uncertain.distributions_mut() {
        d.uncertain = None;
    }
    uncertain.name.clone_from(&seed.name);
    assert_eq!(
        serde_json::to_value(&uncertain).unwrap(),
        serde_json::to_value(&seed).unwrap()
    );
}

/// `--uncertainty` with `--shard`: each shard simulates its share of the draws (from the
/// whole run's hypercube, on any thread count), and the merged parts give exactly the
/// whole run's `uncertainty`; parts whose draws do not match are refused.
#[test]
fn an_uncertainty_run_cut_into_shards_merges_into_the_whole_run() {
    let f = one_component();
    let dir = tempfile::tempdir().unwrap();
    let common = [
        "-n",
        "64001",
        "--uncertainty",
        "12",
        "--draw-replications",
        "300",
    ];
    let mut whole = run_json(f.path(), &common);
    let mut parts = vec![];
    for (i, threads) in [(0, "1"), (1, "2"), (2, "1")] {
        let part = dir.path().join(format!("part-{i}.jsonl"));
        let out = hasim()
            .arg("run")
            .arg(f.path())
            .args(common)
            .args(["--threads", threads, "--shard", &format!("{i}/3"), "--out"])
            .arg(&part)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        parts.push(part);
    }
    let out = hasim()
        .arg("merge")
        .args(&parts)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    for v in [&mut whole, &mut merged] {
        v["uncertainty"]
            .as_object_mut()
            .unwrap()
            .remove("wall_seconds");
    }
    assert_eq!(merged["uncertainty"]["draws"], 12);
    assert_eq!(merged["uncertainty"], whole["uncertainty"]);
    assert_eq!(merged["availability"], whole["availability"]);
    // A part from a run with other draws does not merge.
    let other = dir.path().join("other.jsonl");
    let out = hasim()
        .arg("run")
        .arg(f.path())
        .args([
            "-n",
            "64001",
            "--uncertainty",
            "13",
            "--draw-replications",
            "300",
        ])
        .args(["--shard", "1/3", "--out"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = hasim()
        .arg("merge")
        .args([&parts[0], &other, &parts[2]])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("uncertainty draws"));
}

/// A parameter is named as the model file names it: a stage, node or failure mode whose
/// name a bare TOML key cannot hold is quoted, so `stages."influx.db".restart` is not read
/// as the `db` stage of some `influx`.
#[test]
fn a_dotted_name_is_quoted_in_parameter_names() {
    let text = r#"
name = "dotted"
[system]
read_path = ["influx.db"]
[[nodes]]
name = "node.1"
every = { dist = "exponential", mean = "30d", uncertain = { dist = "gamma", shape = 3, exposure = "90d" } }
recovery = "10m"
[stages."influx.db"]
kind = "statefulset"
nodes = ["node.1"]
restart = { dist = "exponential", mean = "1m", uncertain = { dist = "lognormal", median = "1m", error_factor = 2 } }
recreate = "1m"
  [[stages."influx.db".failures]]
  name = "out.of.memory"
  every = { dist = "exponential", mean = "30d", uncertain = { dist = "gamma", shape = 3, exposure = "90d" } }
"#;
    let names: Vec<String> = crate::model(text)
        .uncertain_parameters()
        .into_iter()
        .map(|p| p.parameter)
        .collect();
    assert_eq!(
        names,
        [
            r#"nodes."node.1".every"#,
            r#"stages."influx.db".restart"#,
            r#"stages."influx.db".failures."out.of.memory".every"#,
        ]
    );
}
