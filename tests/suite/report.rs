//! Sweeps and reports through the command line.

use std::collections::HashMap;

use assert_cmd::Command;

fn hasim() -> Command {
    Command::cargo_bin("hasim").unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = hasim().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn without_perf(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut().unwrap().remove("perf");
    v
}

/// A sweep row's result as `hasim run` prints it: without the timing block and without
/// the paired difference to the model's own point (a sweep's own column).
fn as_run(mut v: serde_json::Value) -> serde_json::Value {
    let o = v.as_object_mut().unwrap();
    o.remove("downtime_difference_seconds");
    o.remove("lost_metrics_difference");
    // `run` chose plain (`auto`); a sweep's rows say their method was fixed for the sweep.
    o.remove("estimation");
    // A run's document carries its versions; a sweep row carries them, not its result.
    o.remove("schema_version");
    o.remove("hasim_version");
    without_perf(v)
}

fn sweep_lines(args: &[&str]) -> Vec<serde_json::Value> {
    let out = hasim().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_sweep_point_equal_to_the_model_is_hasim_run_exactly() {
    let run = as_run(json(&[
        "run",
        "models/seed.toml",
        "-n",
        "400",
        "--format",
        "json",
    ]));
    let rows = sweep_lines(&[
        "sweep",
        "models/seed.toml",
        "--vary",
        "stages.C.replicas=2,1",
        "-n",
        "400",
        "--format",
        "json",
    ]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["point"]["stages.C.replicas"], 1);
    assert_eq!(as_run(rows[1]["result"].clone()), run);
    assert_ne!(as_run(rows[0]["result"].clone()), run);
    // The model's own point differs from itself by nothing, history by history.
    let own = &rows[1]["result"]["downtime_difference_seconds"];
    assert_eq!(
        (
            own["mean"].as_f64(),
            own["ci_low"].as_f64(),
            own["ci_high"].as_f64()
        ),
        (Some(0.0), Some(0.0), Some(0.0))
    );
    let lost = &rows[1]["result"]["lost_metrics_difference"];
    assert_eq!(
        (lost["mean"].as_f64(), lost["ci_high"].as_f64()),
        (Some(0.0), Some(0.0)),
        "{lost}"
    );
    // Adding points changes no other point.
    let more = sweep_lines(&[
        "sweep",
        "models/seed.toml",
        "--vary",
        "stages.C.replicas=3,2,1",
        "-n",
        "400",
        "--format",
        "json",
    ]);
    assert_eq!(
        without_perf(more[1]["result"].clone()),
        without_perf(rows[0]["result"].clone())
    );
    assert_eq!(as_run(more[2]["result"].clone()), run);
}

/// Each point of a `--precision` sweep stops at the first block where its interval is
/// narrow enough — the same block on one and two threads, and the same numbers as
/// `hasim run --precision` of that point; a point that cannot get there in
/// `--max-replications` says so.
#[test]
fn a_precision_sweep_stops_every_point_at_the_same_block_whatever_the_threads() {
    let sweep = |threads: &str| {
        sweep_lines(&[
            "sweep",
            "models/r1.toml",
            "--vary",
            "stages.C.replicas=1,2",
            "--precision",
            "0.01",
            "--threads",
            threads,
            "--format",
            "json",
        ])
    };
    let (one, two) = (sweep("1"), sweep("2"));
    assert_eq!(one.len(), 2);
    for (a, b) in one.iter().zip(&two) {
        assert_eq!(
            without_perf(a["result"].clone()),
            without_perf(b["result"].clone())
        );
        let s = &a["result"]["stopping"];
        assert_eq!(s["reason"], "precision", "{s}");
        assert!(s["relative_half_width"].as_f64().unwrap() <= 0.01);
        assert_eq!(a["result"]["replications"].as_u64().unwrap() % 32_000, 0);
    }
    // The point that is the model: exactly `hasim run --precision`.
    let run = as_run(json(&[
        "run",
        "models/r1.toml",
        "--precision",
        "0.01",
        "--format",
        "json",
    ]));
    let own = one
        .iter()
        .find(|r| r["point"]["stages.C.replicas"] == 1)
        .unwrap();
    assert_eq!(as_run(own["result"].clone()), run);
    // Out of reach within the cap: the CSV row says so.
    let out = hasim()
        .args(["sweep", "models/r1.toml", "--vary", "stages.C.replicas=1,2"])
        .args(["--precision", "1e-6", "--max-replications", "40000"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let at = header.iter().position(|c| *c == "stopping").unwrap();
    for row in text.lines().skip(1) {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells[at], "max_replications", "{row}");
        assert_eq!(cells[at + 1], "0.000001", "{row}");
    }
}

#[test]
fn sweep_csv_has_the_varied_values_and_every_result() {
    let out = hasim()
        .args([
            "sweep",
            "models/r1.toml",
            "--vary",
            "stages.B.replicas=1,2",
            "--vary",
            "stages.C.restart.mu=6..7:3",
            "-n",
            "200",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..2], &["stages.B.replicas", "stages.C.restart.mu"]);
    for col in [
        "availability",
        "availability_ci_low",
        "availability_ci_high",
        "downtime_p95_s",
        "outages_mean",
        "slo_p_meet",
        "completeness",
        "lost_metrics_mean",
    ] {
        assert!(header.contains(&col), "{col}");
    }
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6, "2 × 3 points");
    assert!(rows.iter().all(|r| r.len() == header.len()));
    assert_eq!((rows[0][0], rows[0][1]), ("1", "6"));
    assert_eq!((rows[1][0], rows[1][1]), ("1", "6.5"));
    assert_eq!((rows[5][0], rows[5][1]), ("2", "7"));
    let a: f64 = rows[0][2].parse().unwrap();
    assert!(a > 0.99 && a < 1.0);
}

#[test]
fn sweep_refuses_bad_points_before_running_any() {
    let out = hasim()
        .args([
            "sweep",
            "models/seed.toml",
            "--vary",
            "stages.C.min_ready=1,5",
            "-n",
            "100",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no row before the refusal");
    assert!(String::from_utf8_lossy(&out.stderr).contains("min_ready"));
    hasim()
        .args(["sweep", "models/seed.toml", "--vary", "x=1..2:0"])
        .assert()
        .code(2);
}

/// A report runs every point to a precision; the points that could not get there within
/// the cap are listed on the page with what they reached.
#[test]
fn a_report_to_a_precision_lists_the_points_that_reached_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let out = hasim()
        .args(["report", "models/r1.toml", "--precision", "1e-6"])
        .args(["--max-replications", "1000", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(page.contains("within ±0.0001 % of it"), "{page}");
    let (n, points) = page
        .split("<p><strong>")
        .nth(1)
        .and_then(|p| p.split_once(" points reached the cap of 1000 years"))
        .map(|(n, _)| n.split_once(" of ").unwrap())
        .expect("the page says which points reached the cap");
    assert_eq!(n, points, "at 1e-6 every point reaches the cap");
    let listed = page.matches("years, ±").count() + page.matches("no downtime seen").count();
    assert_eq!(listed.to_string(), n);
    // The model's own point: the JSON of `hasim run` with the same cap says the same.
    let run = json(&[
        "run",
        "models/r1.toml",
        "--precision",
        "1e-6",
        "--max-replications",
        "1000",
        "--format",
        "json",
    ]);
    assert_eq!(run["stopping"]["reason"], "max_replications");
    assert!(page.contains("<li>the model: 1000 years"), "{page}");
}

#[test]
fn report_writes_charts_their_data_and_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = hasim()
        .args(["report", "models/seed.toml", "-n", "300", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    // Every key number carries its interval; the page scales on a phone.
    for key in [
        "nines (95 % CI",
        "downtime in one year</th><td>mean",
        "outages per year</th><td>",
        "fresh availability</th><td>",
        "metrics lost a year (95 % CI",
    ] {
        let at = page.find(key).unwrap_or_else(|| panic!("{key}"));
        let row_end = page[at..].find("</tr>").unwrap();
        assert!(
            page[at..at + row_end].contains("CI"),
            "{key}: {}",
            &page[at..at + row_end]
        );
    }
    assert!(page.contains("name=\"viewport\"") && page.contains("height:auto"));
    let charts = [
        "replicas",
        "buffer",
        "restart",
        "downtime",
        "timeline",
        "timeline-bad",
        "tornado",
    ];
    for c in charts {
        let png = dir.path().join(format!("{c}.png"));
        assert!(
            page.contains(&format!("src=\"{c}.png\"")),
            "page links {c}.png"
        );
        assert!(
            page.contains(&format!("href=\"{c}.csv\"")),
            "page links {c}.csv"
        );
        // The same chart as SVG beside it, linked from the page, with its text and shapes.
        let svg = std::fs::read_to_string(dir.path().join(format!("{c}.svg")))
            .unwrap_or_else(|e| panic!("{c}.svg: {e}"));
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{c}.svg");
        assert!(svg.matches("<text").count() > 5, "{c}.svg has labels");
        assert!(
            page.contains(&format!("href=\"{c}.svg\"")),
            "page links {c}.svg"
        );
        let img = image::open(&png)
            .unwrap_or_else(|e| panic!("{c}.png: {e}"))
            .to_rgb8();
        assert_eq!(img.dimensions(), (1000, 600), "{c}");
        // The plot area is not blank: many non-white pixels in more than two colours.
        let mut colours = std::collections::HashSet::new();
        let mut inked = 0;
        for y in (150..500).step_by(2) {
            for x in (200..950).step_by(2) {
                let p = img.get_pixel(x, y).0;
                if p != [255, 255, 255] {
                    inked += 1;
                    colours.insert(p);
                }
            }
        }
        assert!(inked > 500, "{c}: {inked} inked pixels");
        assert!(colours.len() > 2, "{c}: {} colours", colours.len());
        assert!(dir.path().join(format!("{c}.csv")).exists(), "{c}.csv");
    }

    // The charts' data agree with `hasim run` at the model's own point.
    let run = json(&["run", "models/seed.toml", "-n", "300", "--format", "json"]);
    let avail = run["availability"]["mean"].as_f64().unwrap();
    let rows = |file: &str| -> Vec<HashMap<String, String>> {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let mut lines = text.lines();
        let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
        lines
            .map(|l| {
                header
                    .iter()
                    .cloned()
                    .zip(l.split(',').map(String::from))
                    .collect()
            })
            .collect()
    };
    let replicas = rows("replicas.csv");
    let c1 = replicas
        .iter()
        .find(|r| r["stage"] == "C" && r["replicas"] == "1")
        .unwrap();
    assert_eq!(c1["availability"].parse::<f64>().unwrap(), avail);
    let restart = rows("restart.csv");
    let d1 = restart
        .iter()
        .find(|r| r["stage"] == "D" && r["restart_scale"] == "1")
        .unwrap();
    assert_eq!(d1["availability"].parse::<f64>().unwrap(), avail);
    let buffer = rows("buffer.csv");
    let b = buffer
        .iter()
        .find(|r| r["buffer_limit"] == "10000")
        .unwrap();
    assert_eq!(
        b["lost_metrics_mean"].parse::<f64>().unwrap(),
        run["lost_metrics"]["mean"].as_f64().unwrap()
    );
    // The survival curve: from the years with any downtime down to none, never rising,
    // each step inside its interval.
    let steps = rows("downtime.csv");
    let above: Vec<u64> = steps
        .iter()
        .map(|r| r["years_with_more"].parse().unwrap())
        .collect();
    let with_outage = run["outages"]["p_any"].as_f64().unwrap() * 300.0;
    assert_eq!(above[0] as f64, with_outage.round());
    assert_eq!(*above.last().unwrap(), 0);
    assert!(above.windows(2).all(|w| w[1] < w[0]), "{above:?}");
    for r in &steps {
        let f = |k: &str| r[k].parse::<f64>().unwrap();
        assert!(f("ci_low") <= f("fraction_with_more") && f("fraction_with_more") <= f("ci_high"));
    }
    // The median mark: at most half the years have more downtime than it.
    let p50 = run["downtime_seconds"]["p50"].as_f64().unwrap();
    let past_median = steps
        .iter()
        .find(|r| r["downtime_seconds_per_year"].parse::<f64>().unwrap() >= p50)
        .unwrap();
    assert!(past_median["fraction_with_more"].parse::<f64>().unwrap() <= 0.5 + 1.0 / 300.0);

    // The findings as data, each one on the page, and where the key numbers came from.
    let findings = findings(dir.path());
    assert!(findings.len() >= 3, "{findings:?}");
    for f in &findings {
        let text = f["text"].as_str().unwrap();
        assert!(!f["claim"].as_str().unwrap().is_empty());
        assert!(page.contains(&text.replace('&', "&amp;")), "{text}");
    }
    assert!(
        findings[0]["text"]
            .as_str()
            .unwrap()
            .contains("% of the downtime, 95 % CI"),
        "the largest cause's share has its interval: {}",
        findings[0]["text"]
    );
    assert!(
        page.contains("Estimated by plain Monte Carlo") && page.contains("chosen by a pilot"),
        "the page says which estimator gave the key numbers"
    );
}

/// A report's findings (`findings.json`), in page order.
fn findings(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("findings.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["schema_version"], 1, "{text}");
    doc["findings"].as_array().unwrap().clone()
}

/// The claims of a report's findings, in page order.
fn claims(dir: &std::path::Path) -> Vec<String> {
    findings(dir)
        .iter()
        .map(|f| f["claim"].as_str().unwrap().to_string())
        .collect()
}

/// Findings must survive a change of seed: on ha (three symmetric nodes, outages in 2 %
/// of years) three seeds give the same list, and it is not empty of content — noise
/// (which node "causes most", which node's time to failure "matters most") is never
/// ranked. At most 20 000 years a point (about 7 minutes a seed on 2 cores; the committed
/// report runs 100 000).
#[test]
fn a_report_on_ha_states_the_same_findings_for_three_seeds() {
    let mut lists = vec![];
    for seed in ["1", "2", "3"] {
        let dir = tempfile::tempdir().unwrap();
        let out = hasim()
            .args(["report", "models/ha.toml", "--max-replications", "20000"])
            .args(["--seed", seed, "--out"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
        // Splitting and plain need about the same work on ha since plain histories got
        // cheaper: the pilot may choose either, and the page must say which.
        assert!(
            (page.contains("Estimated by restart_splitting")
                || page.contains("Estimated by plain Monte Carlo"))
                && page.contains("chosen by a pilot"),
            "the page names the estimator a pilot chose for ha's key numbers"
        );
        lists.push((seed, claims(dir.path())));
    }
    for (seed, list) in &lists[1..] {
        assert_eq!(list, &lists[0].1, "seed {seed} against seed 1");
    }
    let list = &lists[0].1;
    assert!(
        list.iter()
            .any(|c| c.starts_with("replicas help: ") && !c.ends_with("none")),
        "a real effect is found: {list:?}"
    );
}

/// A model with uncertain parameters gets the epistemic band on its page: the same draws
/// and numbers as `hasim run --uncertainty` from the same seed, every draw in the CSV, and
/// a chart; a model without gets none, and asking one of it is refused.
#[test]
fn a_report_on_an_uncertain_model_shows_the_band_hasim_run_gives() {
    use hasim::estimate::results::fmt_avail;
    let dir = tempfile::tempdir().unwrap();
    let band = ["--uncertainty", "20", "--draw-replications", "500"];
    let out = hasim()
        .args(["report", "models/seed-uncertain.toml", "-n", "200"])
        .args(band)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let run = json(&[
        "run",
        "models/seed-uncertain.toml",
        "-n",
        "200",
        "--uncertainty",
        "20",
        "--draw-replications",
        "500",
        "--format",
        "json",
    ]);
    let u = &run["uncertainty"];
    assert!(page.contains("<h2>What is not known</h2>"));
    for q in ["p05", "p50", "p95", "mean"] {
        let v = u["availability"][q].as_f64().unwrap();
        let lo = u["availability_ci"][q][0].as_f64().unwrap();
        let hi = u["availability_ci"][q][1].as_f64().unwrap();
        let shown = format!(
            "{} (95 % CI {} – {})",
            fmt_avail(v),
            fmt_avail(lo),
            fmt_avail(hi)
        );
        assert!(page.contains(&shown), "{q}: {shown} not on the page");
    }
    for d in u["drivers"].as_array().unwrap() {
        let p = d["parameter"].as_str().unwrap();
        assert!(page.contains(p), "{p} not on the page");
    }
    let csv = std::fs::read_to_string(dir.path().join("uncertainty.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 21, "a header and one row per draw");
    assert!(lines[0].starts_with("draw,nodes.minikube.every_mean_seconds,"));
    let first: Vec<f64> = lines[1].split(',').map(|x| x.parse().unwrap()).collect();
    assert_eq!(
        first[first.len() - 3],
        u["draw_results"][0]["availability"].as_f64().unwrap()
    );
    assert!(dir.path().join("uncertainty.png").exists());
    assert!(page.contains("src=\"uncertainty.png\""));

    // No uncertain parameter: no band, and none can be asked for.
    let plain = tempfile::tempdir().unwrap();
    let out = hasim()
        .args(["report", "models/r1.toml", "-n", "200", "--out"])
        .arg(plain.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = std::fs::read_to_string(plain.path().join("index.html")).unwrap();
    assert!(!page.contains("What is not known"));
    assert!(!plain.path().join("uncertainty.csv").exists());
    let out = hasim()
        .args([
            "report",
            "models/r1.toml",
            "-n",
            "200",
            "--uncertainty",
            "20",
        ])
        .arg("--out")
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--uncertainty 20:"));
}
