//! `hasim calibrate history --prometheus` against a real Prometheus (Debian's
//! `prometheus` package: `prometheus` and `promtool`), started by the test on a free
//! loopback port with a temporary storage folder, backfilled with `promtool tsdb
//! create-blocks-from openmetrics` from four weeks of kube-state-metrics series the test
//! plants: restart counters of Poisson processes at known rates (with a counter reset and
//! a scrape gap), the termination reasons, the owners, and node Ready conditions with
//! outages. The rates recovered must hold the planted ones within their intervals, and
//! the counts and exposures must be the ones planted. Then servers that answer errors or
//! never answer: exit 1 with the reason, nothing written.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command as Process, Output, Stdio};

use assert_cmd::Command;
use serde_json::Value;

use crate::common;
use crate::common::Prometheus;

/// The window: four weeks from 2026-05-28T20:26:40Z, scraped every five minutes (promtool
/// reads the whole file once per two-hour block: a longer window or a finer scrape costs
/// minutes).
const T0: f64 = 1_780_000_000.0;
const DAYS: f64 = 28.0;
const SCRAPE: f64 = 300.0;
/// Longer than a scrape interval, shorter than the gap.
const MAX_GAP: &str = "15m";
const YEAR: f64 = 365.25 * 86_400.0;
const WINDOW: f64 = DAYS * 86_400.0;
const T1: f64 = T0 + WINDOW;

/// Planted rates, per year.
const TELEGRAF_RATE: f64 = 78.0;
const INFLUXDB_RATE: f64 = 30.0;
const NODE_RATE: f64 = 40.0;
/// The node outages' length.
const NODE_OUTAGE: f64 = 1200.0;
/// influxdb-0 is recreated (its counter starts again at 0) at this time...
const RESET: f64 = T0 + 14.0 * 86_400.0;
/// ... and was not scraped for three hours from this one.
const GAP: (f64, f64) = (T0 + 10.0 * 86_400.0, T0 + 10.0 * 86_400.0 + 3.0 * 3600.0);

fn rfc3339(t: f64) -> String {
    jiff::Timestamp::from_second(t as i64).unwrap().to_string()
}

/// A deterministic stream of uniforms in (0, 1).
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f64 {
        (hasim::sim::splitmix64(&mut self.0) >> 11) as f64 / (1u64 << 53) as f64 + 1e-300
    }

    /// The event times of a Poisson process at `per_year` in `(from, to)`.
    fn poisson(&mut self, per_year: f64, from: f64, to: f64) -> Vec<f64> {
        let mut out = vec![];
        let mut t = from;
        loop {
            t += -self.next().ln() * YEAR / per_year;
            if t >= to {
                return out;
            }
            out.push(t);
        }
    }
}

/// The scrape times of the window.
fn scrapes() -> impl Iterator<Item = f64> {
    (0..=(WINDOW / SCRAPE) as u64).map(|k| T0 + k as f64 * SCRAPE)
}

/// An OpenMetrics text: families in order, each series' samples contiguous.
#[derive(Default)]
struct OpenMetrics(String);

impl OpenMetrics {
    fn family(&mut self, name: &str, kind: &str) {
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn series(&mut self, name: &str, labels: &str, samples: impl IntoIterator<Item = (f64, f64)>) {
        for (t, v) in samples {
            let _ = writeln!(self.0, "{name}{{{labels}}} {v} {t}");
        }
    }
}

/// A restart counter's samples (the events seen at the first scrape at or after them),
/// starting again at 0 at `reset`, missing inside `gap`.
fn counter(events: &[f64], reset: Option<f64>, gap: Option<(f64, f64)>) -> Vec<(f64, f64)> {
    scrapes()
        .filter(|&t| gap.is_none_or(|(a, b)| t <= a || t >= b))
        .map(|t| {
            let since = reset.filter(|&r| t >= r).unwrap_or(f64::NEG_INFINITY);
            let n = events.iter().filter(|&&e| e > since && e <= t).count();
            (t, n as f64)
        })
        .collect()
}

/// What was planted, and the OpenMetrics file holding it.
struct Planted {
    telegraf: usize,
    influxdb: usize,
    node_a: Vec<f64>,
    text: String,
}

fn plant() -> Planted {
    let mut u = Uniform(20_260_528);
    let tg: Vec<Vec<f64>> = (0..2).map(|_| u.poisson(TELEGRAF_RATE, T0, T1)).collect();
    // influxdb-0: restarts before the reset and after it; none planted where no scrape
    // would see them, as none would be seen on a real cluster: inside the gap, or after
    // the last scrape of the old counter.
    let db: Vec<f64> = u
        .poisson(INFLUXDB_RATE, T0, T1)
        .into_iter()
        .filter(|&e| {
            let in_gap = GAP.0 < e && e <= GAP.1;
            let unscraped = RESET - SCRAPE < e && e <= RESET;
            !(in_gap || unscraped)
        })
        .collect();
    assert!(
        db.iter().any(|&e| e < RESET),
        "the seed plants a restart before the reset, so the counter falls"
    );
    let chrono = u.poisson(TELEGRAF_RATE, T0, T1);
    let other = u.poisson(1000.0, T0, T1);
    let mut node_a: Vec<f64> = vec![];
    for t in u.poisson(NODE_RATE, T0 + 3600.0, T1 - 3600.0) {
        // Outages apart by more than their length, each covering several scrapes.
        if node_a.last().is_none_or(|&l| t > l + 2.0 * NODE_OUTAGE) {
            node_a.push(t);
        }
    }
    let mut om = OpenMetrics::default();
    let restarts = "kube_pod_container_status_restarts_total";
    om.family("kube_pod_container_status_restarts", "counter");
    let tg_pods = ["telegraf-5d8f7c9b4-aaaaa", "telegraf-5d8f7c9b4-bbbbb"];
    for (pod, events) in tg_pods.iter().zip(&tg) {
        om.series(
            restarts,
            &format!("namespace=\"metrics\",pod=\"{pod}\",container=\"telegraf\""),
            counter(events, None, None),
        );
    }
    om.series(
        restarts,
        "namespace=\"metrics\",pod=\"influxdb-0\",container=\"influxdb\"",
        counter(&db, Some(RESET), Some(GAP)),
    );
    for c in ["chronograf", "oauth-proxy"] {
        let events: &[f64] = if c == "chronograf" { &chrono } else { &[] };
        om.series(
            restarts,
            &format!("namespace=\"metrics\",pod=\"chronograf-7f6d5c4b3-ccccc\",container=\"{c}\""),
            counter(events, None, None),
        );
    }
    om.series(
        restarts,
        "namespace=\"other\",pod=\"noisy\",container=\"noisy\"",
        counter(&other, None, None),
    );
    // influxdb's last termination reason: OOMKilled from its first restart on (and again
    // after the reset's first one), no reason before.
    om.family("kube_pod_container_status_last_terminated_reason", "gauge");
    let first_after = |from: f64| db.iter().copied().find(|&e| e > from);
    let (f1, f2) = (first_after(f64::NEG_INFINITY), first_after(RESET));
    om.series(
        "kube_pod_container_status_last_terminated_reason",
        "namespace=\"metrics\",pod=\"influxdb-0\",container=\"influxdb\",reason=\"OOMKilled\"",
        scrapes().filter(|&t| t <= GAP.0 || t >= GAP.1).map(|t| {
            let on = if t >= RESET {
                f2.is_some_and(|f| t >= f)
            } else {
                f1.is_some_and(|f| t >= f)
            };
            (t, if on { 1.0 } else { 0.0 })
        }),
    );
    // Owners, scraped hourly (their value is always 1).
    let hourly = || scrapes().step_by(12).map(|t| (t, 1.0));
    om.family("kube_pod_owner", "gauge");
    for (pod, kind, owner) in [
        (tg_pods[0], "ReplicaSet", "telegraf-5d8f7c9b4"),
        (tg_pods[1], "ReplicaSet", "telegraf-5d8f7c9b4"),
        ("influxdb-0", "StatefulSet", "influxdb"),
        (
            "chronograf-7f6d5c4b3-ccccc",
            "ReplicaSet",
            "chronograf-7f6d5c4b3",
        ),
    ] {
        om.series(
            "kube_pod_owner",
            &format!(
                "namespace=\"metrics\",pod=\"{pod}\",owner_kind=\"{kind}\",owner_name=\"{owner}\",owner_is_controller=\"true\""
            ),
            hourly(),
        );
    }
    // Pod labels, as kube-state-metrics exports those it is allowed to.
    om.family("kube_pod_labels", "gauge");
    om.series(
        "kube_pod_labels",
        "namespace=\"metrics\",pod=\"influxdb-0\",label_app_kubernetes_io_name=\"influxdb\"",
        hourly(),
    );
    om.family("kube_replicaset_owner", "gauge");
    for rs in ["telegraf-5d8f7c9b4", "chronograf-7f6d5c4b3"] {
        let dep = rs.split('-').next().unwrap();
        om.series(
            "kube_replicaset_owner",
            &format!(
                "namespace=\"metrics\",replicaset=\"{rs}\",owner_kind=\"Deployment\",owner_name=\"{dep}\",owner_is_controller=\"true\""
            ),
            hourly(),
        );
    }
    // Node conditions: node-a Ready but for its outages, node-b always Ready; the
    // status="false" series mirror them (the selector must pick status="true").
    om.family("kube_node_status_condition", "gauge");
    let down = |t: f64| node_a.iter().any(|&o| o <= t && t < o + NODE_OUTAGE);
    for (node, outages) in [("node-a", true), ("node-b", false)] {
        for status in ["true", "false"] {
            om.series(
                "kube_node_status_condition",
                &format!("node=\"{node}\",condition=\"Ready\",status=\"{status}\""),
                scrapes().map(|t| {
                    let ready = !(outages && down(t));
                    (
                        t,
                        if ready == (status == "true") {
                            1.0
                        } else {
                            0.0
                        },
                    )
                }),
            );
        }
    }
    om.0.push_str("# EOF\n");
    Planted {
        telegraf: tg.iter().map(Vec::len).sum(),
        influxdb: db.len(),
        node_a,
        text: om.0,
    }
}

fn history(url: &str, extra: &[&str]) -> Output {
    Command::cargo_bin("hasim")
        .unwrap()
        .args(["calibrate", "history", "--prometheus", url])
        .args(["--from", &rfc3339(T0), "--to", &rfc3339(T1)])
        .args(["--max-gap", MAX_GAP])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn rates_planted_in_a_real_prometheus_are_recovered_within_their_intervals() {
    let planted = plant();
    let prom = Prometheus::start(&planted.text);
    let dir = tempfile::tempdir().unwrap();
    let cal = dir.path().join("cluster.toml");
    let out = history(
        &prom.url(),
        &[
            "--namespace",
            "metrics",
            "--format",
            "json",
            "--out",
            cal.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let modes = v["modes"].as_array().unwrap();
    let get = |c: &str| {
        modes
            .iter()
            .find(|m| m["component"] == c)
            .unwrap_or_else(|| panic!("no {c} in {modes:#?}"))
    };
    let names: Vec<&str> = modes
        .iter()
        .map(|m| m["component"].as_str().unwrap())
        .collect();
    // The Deployment's two Pods are one component; the sidecar splits chronograf; the
    // other namespace is left out.
    assert_eq!(
        names,
        [
            "chronograf-chronograf",
            "chronograf-oauth-proxy",
            "influxdb",
            "telegraf",
            "node-a",
            "node-b"
        ]
    );
    let rate = |c: &str| &get(c)["rate"];
    let count = |c: &str| rate(c)["count"].as_u64().unwrap();
    let exposure = |c: &str| rate(c)["exposure_seconds"].as_f64().unwrap();
    let holds = |c: &str, per_year: f64| {
        let r = rate(c);
        let (lo, hi) = (
            r["credible"]["low"].as_f64().unwrap() * YEAR,
            r["credible"]["high"].as_f64().unwrap() * YEAR,
        );
        assert!(
            lo <= per_year && per_year <= hi,
            "{c}: planted {per_year}/y outside its 90 % interval {lo:.2}..{hi:.2}"
        );
    };
    // Exactly the restarts planted, over exactly the time scraped.
    assert_eq!(count("telegraf"), planted.telegraf as u64);
    assert!((exposure("telegraf") - 2.0 * WINDOW).abs() < 1e-3);
    holds("telegraf", TELEGRAF_RATE);
    assert_eq!(count("influxdb"), planted.influxdb as u64);
    assert!((exposure("influxdb") - (WINDOW - (GAP.1 - GAP.0))).abs() < 1e-3);
    holds("influxdb", INFLUXDB_RATE);
    assert_eq!(count("chronograf-oauth-proxy"), 0);
    // Every influxdb restart was an OOM kill.
    assert_eq!(
        v["reasons"]["influxdb"]["OOMKilled"].as_u64(),
        Some(planted.influxdb as u64)
    );
    let notes: Vec<&str> = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("1 restart counter reset")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.contains("1 gap(s)")), "{notes:?}");
    // Node outages: the count planted, each measured to the scrape, the time Ready.
    let n = planted.node_a.len();
    assert!(n >= 2, "the seed plants a few outages ({n})");
    assert_eq!(count("node-a"), n as u64);
    let down = n as f64 * NODE_OUTAGE;
    assert!(
        (exposure("node-a") - (WINDOW - down)).abs() <= 2.0 * SCRAPE * n as f64,
        "{}",
        exposure("node-a")
    );
    for o in get("node-a")["outages"].as_array().unwrap() {
        let s = o["seconds"].as_f64().unwrap();
        assert!((s - NODE_OUTAGE).abs() <= SCRAPE, "{o}");
        assert_eq!(o["censored"], false);
    }
    holds("node-a", NODE_RATE);
    assert_eq!((count("node-b"), exposure("node-b")), (0, WINDOW));
    // The entries written carry the posterior a model's uncertainty run draws from.
    let written: toml::Table = toml::from_str(&std::fs::read_to_string(&cal).unwrap()).unwrap();
    let every = &written["distributions"]["influxdb-restart-every"];
    assert_eq!(
        every["rate"]["count"].as_integer(),
        Some(planted.influxdb as i64)
    );
    assert_eq!(every["fit"]["uncertain"]["dist"].as_str(), Some("gamma"));
    assert!(
        written["distributions"]
            .get("node-a-not-ready-outage")
            .is_some()
    );

    // --stage groups by the Pod's labels (a selector key as written in Kubernetes, the
    // label as kube-state-metrics names it).
    let staged = history(
        &prom.url(),
        &[
            "--namespace",
            "metrics",
            "--stage",
            "C=app.kubernetes.io/name=influxdb",
            "--format",
            "json",
        ],
    );
    assert!(staged.status.success());
    let sv: Value = serde_json::from_slice(&staged.stdout).unwrap();
    let c = sv["modes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["component"] == "C")
        .expect("stage C");
    assert_eq!(c["rate"]["count"].as_u64(), Some(planted.influxdb as u64));
    assert!(
        sv["modes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["component"] != "influxdb")
    );

    // The table names the components and what was read around.
    let table = history(&prom.url(), &["--namespace", "metrics"]);
    assert!(table.status.success());
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("influxdb: last termination reasons where restarts were new: OOMKilled"));
    assert!(text.contains("node-b "), "{text}");
}

/// A loopback server answering every request with `answer` (or, if `None`, reading it
/// and never answering); its port.
fn fake_server(answer: Option<&'static str>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = vec![];
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            match answer {
                Some(a) => {
                    let _ = s.write_all(a.as_bytes());
                }
                None => held.push(s),
            }
        }
    });
    port
}

#[test]
fn a_prometheus_that_errs_or_hangs_fails_with_the_reason_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cal = dir.path().join("cal.toml");
    let mine = "# mine\n[distributions.keep]\nfit = { dist = \"exponential\", mean = 5.0 }\n";
    std::fs::write(&cal, mine).unwrap();
    let body = r#"{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}"#;
    let erring: &'static str = Box::leak(
        format!(
            "HTTP/1.1 422 Unprocessable Entity\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let out_flag = cal.to_str().unwrap();
    for (port, says) in [
        (
            fake_server(Some(erring)),
            "execution: query processing would load too many samples into memory (HTTP 422)",
        ),
        (fake_server(None), "timeout"),
        (
            fake_server(Some(
                "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot json!",
            )),
            "not a Prometheus API answer",
        ),
    ] {
        let url = format!("http://127.0.0.1:{port}");
        let out = history(&url, &["--timeout", "1s", "--out", out_flag]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(err.contains(&format!("Prometheus at {url}")), "{err}");
        assert_eq!(std::fs::read_to_string(&cal).unwrap(), mine);
    }
    // Bad flags: exit 2 before any request.
    for (args, says) in [
        (vec!["--prometheus", "ftp://x"], "scheme ftp"),
        (
            vec!["--prometheus", "http://127.0.0.1:1", "--max-gap", "0s"],
            "--max-gap",
        ),
        (
            vec![
                "--prometheus",
                "http://127.0.0.1:1",
                "--namespace",
                "Not_A_Name",
            ],
            "not a namespace name",
        ),
    ] {
        let out = Command::cargo_bin("hasim")
            .unwrap()
            .args(["calibrate", "history"])
            .args(&args)
            .args(["--from", &rfc3339(T0), "--to", &rfc3339(T1)])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// `hasim run --format openmetrics` is metrics Prometheus' own linter takes (`promtool
/// check metrics`, the text parser node_exporter's textfile collector uses), and its
/// numbers are the JSON's from the same seed, exactly.
#[test]
fn run_writes_openmetrics_that_promtool_accepts_with_the_jsons_numbers() {
    let run = |format: &str| {
        let out = Command::cargo_bin("hasim")
            .unwrap()
            .args(["run", "models/seed.toml", "-n", "2000", "--format", format])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run("openmetrics");
    let json: Value = serde_json::from_str(&run("json")).unwrap();
    let mut check = Process::new(common::binary("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (apt-get install -y prometheus)");
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let checked = check.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(text.ends_with("# EOF\n"));
    let sample = |name: &str, labels: &str| -> f64 {
        let model = json["model"].as_str().unwrap();
        let head = format!("{name}{{model=\"{model}\"{labels}}} ");
        let line = text
            .lines()
            .find(|l| l.starts_with(&head))
            .unwrap_or_else(|| panic!("{head} in\n{text}"));
        line[head.len()..].parse().unwrap()
    };
    for (name, labels, expected) in [
        (
            "hasim_availability",
            ",estimate=\"mean\"",
            &json["availability"]["mean"],
        ),
        (
            "hasim_availability",
            ",estimate=\"ci_low\"",
            &json["availability"]["ci_low"],
        ),
        (
            "hasim_downtime_seconds",
            ",estimate=\"p99\"",
            &json["downtime_seconds"]["p99"],
        ),
        ("hasim_outages_p_any", "", &json["outages"]["p_any"]),
        (
            "hasim_slo_meet_probability",
            ",target=\"0.999\",estimate=\"mean\"",
            &json["slo"]["p_meet"],
        ),
        (
            "hasim_stage_availability",
            ",stage=\"C\",estimate=\"ci_high\"",
            &json["stages"]["C"]["availability"]["ci_high"],
        ),
        ("hasim_replications", "", &json["replications"]),
    ] {
        assert_eq!(
            sample(name, labels),
            expected.as_f64().unwrap(),
            "{name}{labels}"
        );
    }
}
