//! `hasim calibrate history`: an incident log over a window → rates with their intervals
//! (checked against the estimators' published values elsewhere; here the plumbing: counts,
//! exposure, the entries written and read back by a model, and bad input refused with
//! nothing written).

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn hasim() -> Command {
    Command::cargo_bin("hasim").unwrap()
}

const LOG: &str = "component,start,end,mode\n\
    # 90 days of a small cluster\n\
    influxdb,2026-01-10T00:00:00Z,2026-01-10T00:10:00Z,crash\n\
    influxdb,2026-02-01T12:00:00Z,2026-02-01T12:00:30Z,crash\n\
    influxdb,2026-02-20T08:00:00Z,2026-02-20T08:02:00Z,crash\n\
    chronograf,2026-03-31T23:00:00Z,,crash\n";

const WINDOW: [&str; 4] = [
    "--from",
    "2026-01-01T00:00:00Z",
    "--to",
    "2026-04-01T00:00:00Z",
];

/// `hasim calibrate history --incidents LOG` over [`WINDOW`], then `extra`, then
/// `--out OUT` if given.
fn from_log(log: &Path, extra: &[&str], out: Option<&Path>) -> Output {
    let mut cmd = hasim();
    cmd.args(["calibrate", "history", "--incidents"])
        .arg(log)
        .args(WINDOW)
        .args(extra);
    if let Some(out) = out {
        cmd.arg("--out").arg(out);
    }
    cmd.output().unwrap()
}

#[test]
fn rates_from_a_log_become_entries_a_model_uses() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("incidents.csv");
    std::fs::write(&log, LOG).unwrap();
    let cal = dir.path().join("history.toml");
    let mine =
        "# my notes\n[distributions.mine]\nfit = { dist = \"exponential\", mean = 5.0 } # keep\n";
    std::fs::write(&cal, mine).unwrap();
    let out = from_log(
        &log,
        &["--component", "telegraf", "--format", "json"],
        Some(&cal),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let modes = v["modes"].as_array().unwrap();
    let get = |c: &str| modes.iter().find(|m| m["component"] == c).unwrap();
    let db = &get("influxdb")["rate"];
    assert_eq!(db["count"], 3);
    let window = 90.0 * 86_400.0;
    assert_eq!(
        db["exposure_seconds"].as_f64().unwrap(),
        window - 600.0 - 30.0 - 120.0
    );
    // Jeffreys: (3 + 1/2) / T.
    let mean = db["mean"].as_f64().unwrap();
    assert!((mean - 3.5 / (window - 750.0)).abs() < 1e-15, "{mean}");
    assert_eq!(get("telegraf")["rate"]["count"], 0);
    assert_eq!(get("chronograf")["outages"][0]["censored"], true);
    assert_eq!(
        v["entries"],
        serde_json::json!([
            "chronograf-crash-every",
            "influxdb-crash-every",
            "influxdb-crash-outage",
            "telegraf-failure-every"
        ])
    );
    let text = std::fs::read_to_string(&cal).unwrap();
    assert!(
        text.starts_with(mine),
        "the user's entry and comments kept:\n{text}"
    );
    // A model uses the rate: exponential at the posterior mean.
    let model = dir.path().join("m.toml");
    std::fs::write(
        &model,
        "[system]\nread_path = [\"C\"]\n[stages.C]\nkind = \"statefulset\"\nrestart = { calibration = \"history.toml\", name = \"influxdb-crash-outage\" }\n\
         [[stages.C.failures]]\nname = \"crash\"\nevery = { calibration = \"history.toml\", name = \"influxdb-crash-every\" }\n",
    )
    .unwrap();
    let m = hasim::model::Model::load(&model, &[]).unwrap();
    let every = &m.stages[0].failures[0].every;
    assert!(
        (every.mean() - 1.0 / mean).abs() < 1e-6 * every.mean(),
        "{every:?}"
    );
    // ... and keeps its posterior, Gamma(3 + 1/2, T), for a run with --uncertainty.
    let uncertain = m.uncertain_parameters();
    assert_eq!(uncertain.len(), 1);
    assert_eq!(uncertain[0].parameter, "stages.C.failures.crash.every");
    assert_eq!(
        uncertain[0].law,
        hasim::epistemic::Epistemic::GammaRate {
            shape: 3.5,
            exposure: window - 750.0
        }
    );
    let out = hasim()
        .args([
            "run",
            "-n",
            "200",
            "--uncertainty",
            "20",
            "--format",
            "json",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    let band = &run["uncertainty"]["availability"];
    assert!(band["p05"].as_f64().unwrap() < band["p95"].as_f64().unwrap());
}

#[test]
fn the_table_states_every_estimate_per_year() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("incidents.csv");
    std::fs::write(&log, LOG).unwrap();
    let out = from_log(&log, &[], None);
    assert!(out.status.success());
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(
        t.contains("90 % posterior /y") && t.contains("90 % chi-square /y"),
        "{t}"
    );
    assert!(t.contains("1 (1 cut)"), "{t}");
    assert!(t.contains("longest outage 10.0m"), "{t}");
}

#[test]
fn bad_input_is_refused_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("incidents.csv");
    std::fs::write(&log, LOG).unwrap();
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "influxdb,2026-01-10T00:00:00Z,tomorrow\n").unwrap();
    let cal = dir.path().join("cal.toml");
    for (extra, says) in [
        (
            vec!["--prior", "0,1e-6/h"],
            "prior shape 0: must be positive",
        ),
        (vec!["--prior", "1.6,-1/h"], "must be a non-negative number"),
        (vec!["--level", "1.2"], "--level 1.2"),
    ] {
        let out = from_log(&log, &extra, Some(&cal));
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{extra:?}"
        );
        assert!(!cal.exists(), "{extra:?} wrote {cal:?}");
    }
    let out = from_log(&broken, &[], Some(&cal));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.csv:1: end: \"tomorrow\" is not an RFC 3339 time"),
        "{err}"
    );
    assert!(!cal.exists());
    let out = hasim()
        .args(["calibrate", "history", "--incidents"])
        .arg(&log)
        .args([
            "--from",
            "2026-04-01T00:00:00Z",
            "--to",
            "2026-01-01T00:00:00Z",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--to must be after --from"));
    // A model is not a calibration file: refused before anything is read.
    let model = dir.path().join("model.toml");
    std::fs::write(&model, "[system]\nread_path = [\"C\"]\n").unwrap();
    let out = from_log(&log, &[], Some(&model));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(&model).unwrap(),
        "[system]\nread_path = [\"C\"]\n"
    );
}

#[test]
fn restart_rates_from_two_kubectl_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let pod = |restarts: u32, reason: &str| {
        format!(
            r#"{{"apiVersion": "v1", "kind": "List", "items": [{{"apiVersion": "v1", "kind": "Pod",
  "metadata": {{"name": "influxdb-0", "uid": "u-0", "creationTimestamp": "2026-01-01T00:00:00Z",
    "ownerReferences": [{{"kind": "StatefulSet", "name": "influxdb", "controller": true}}]}},
  "status": {{"containerStatuses": [{{"name": "influxdb", "restartCount": {restarts},
    "lastState": {{"terminated": {{"reason": "{reason}", "exitCode": 137}}}}}}]}}}}]}}"#
        )
    };
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    std::fs::write(&a, pod(1, "OOMKilled")).unwrap();
    std::fs::write(&b, pod(3, "Error")).unwrap();
    let arg = |p: &std::path::Path, t: &str| format!("{}@{t}", p.display());
    let out = hasim()
        .args(["calibrate", "history", "--format", "json", "--pods"])
        .arg(arg(&a, "2026-01-31T00:00:00Z"))
        .arg("--pods")
        .arg(arg(&b, "2026-03-02T00:00:00Z"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &v["modes"][0];
    assert_eq!(
        (m["component"].as_str(), m["mode"].as_str()),
        (Some("influxdb"), Some("restart"))
    );
    assert_eq!(m["rate"]["count"], 3);
    assert_eq!(
        m["rate"]["exposure_seconds"].as_f64(),
        Some(60.0 * 86_400.0)
    );
    assert_eq!(v["reasons"]["influxdb"]["OOMKilled"], 1);
    assert_eq!(v["reasons"]["influxdb"]["Error"], 1);
    // A snapshot without its time is refused: kubectl's output holds none.
    let out = hasim()
        .args(["calibrate", "history", "--pods"])
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("a snapshot needs the time it was taken: FILE@TIME")
    );
    // Standard input works as `-@TIME`.
    let out = hasim()
        .args(["calibrate", "history", "--pods", "-@2026-01-31T00:00:00Z"])
        .write_stdin(pod(1, "Error"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("influxdb: last termination reasons where restarts were new: Error 1")
    );
    // Standard input given twice: the second would read nothing, so it is refused.
    let out = hasim()
        .args(["calibrate", "history"])
        .args([
            "--pods",
            "-@2026-01-31T00:00:00Z",
            "--pods",
            "-@2026-02-01T00:00:00Z",
        ])
        .write_stdin(pod(1, "Error"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("standard input ('-') is given 2 times (--pods, --pods)"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    // Neither source given.
    let out = hasim().args(["calibrate", "history"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn node_outages_from_events_join_the_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("events.json");
    let e = |reason: &str, t: &str| {
        format!(
            r#"{{"kind": "Event", "involvedObject": {{"kind": "Node", "name": "node-1"}}, "reason": "{reason}", "firstTimestamp": "{t}", "lastTimestamp": "{t}", "count": 1}}"#
        )
    };
    std::fs::write(
        &ev,
        format!(
            r#"{{"apiVersion": "v1", "kind": "List", "items": [{}, {}]}}"#,
            e("NodeNotReady", "2026-02-01T00:00:00Z"),
            e("NodeReady", "2026-02-01T00:15:00Z")
        ),
    )
    .unwrap();
    let out = hasim()
        .args(["calibrate", "history", "--format", "json", "--events"])
        .arg(&ev)
        .args(WINDOW)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &v["modes"][0];
    assert_eq!(
        (m["component"].as_str(), m["mode"].as_str()),
        (Some("node-1"), Some("not-ready"))
    );
    assert_eq!(m["rate"]["count"], 1);
    assert_eq!(m["outages"][0]["seconds"].as_f64(), Some(900.0));
    assert_eq!(
        m["rate"]["exposure_seconds"].as_f64(),
        Some(90.0 * 86_400.0 - 900.0)
    );
    // Events need the window they were collected over.
    let out = hasim()
        .args(["calibrate", "history", "--events"])
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `--stage NAME=SELECTOR` groups Pods by their labels; a snapshot names the stage of the
/// Pods the events speak of, and how many there are: liveness kills from `Killing` events
/// become mode `liveness` over the window of every Pod of the stage, crash loops
/// (`BackOff`) are reported.
#[test]
fn stages_by_selector_and_liveness_kills_from_events() {
    let dir = tempfile::tempdir().unwrap();
    let pod = |name: &str, uid: &str, app: &str| {
        format!(
            r#"{{"apiVersion": "v1", "kind": "Pod",
  "metadata": {{"name": "{name}", "namespace": "metrics", "uid": "{uid}", "creationTimestamp": "2026-01-01T00:00:00Z",
    "labels": {{"app": "{app}"}},
    "ownerReferences": [{{"kind": "StatefulSet", "name": "influx-statefulset", "controller": true}}]}},
  "status": {{"containerStatuses": [{{"name": "influxdb", "restartCount": 2, "lastState": {{}}}}]}}}}"#
        )
    };
    let snap = dir.path().join("pods.json");
    std::fs::write(
        &snap,
        format!(
            r#"{{"kind": "List", "items": [{}, {}]}}"#,
            pod("influx-statefulset-0", "u0", "influxdb"),
            pod("influx-statefulset-1", "u1", "influxdb")
        ),
    )
    .unwrap();
    let events = dir.path().join("events.json");
    std::fs::write(
        &events,
        r#"{"kind": "List", "items": [
  {"kind": "Event", "involvedObject": {"kind": "Pod", "namespace": "metrics", "name": "influx-statefulset-0"},
   "reason": "Killing", "message": "Container influxdb failed liveness probe, will be restarted",
   "firstTimestamp": "2026-01-10T00:00:00Z", "lastTimestamp": "2026-01-10T00:30:00Z", "count": 2},
  {"kind": "Event", "involvedObject": {"kind": "Pod", "namespace": "metrics", "name": "influx-statefulset-0"},
   "reason": "BackOff", "message": "Back-off restarting failed container influxdb in pod influx-statefulset-0_metrics(u0)",
   "firstTimestamp": "2026-01-10T00:31:00Z", "lastTimestamp": "2026-01-10T00:40:00Z", "count": 4}
]}"#,
    )
    .unwrap();
    let out = hasim()
        .args(["calibrate", "history", "--format", "json"])
        .args(["--stage", "C=app=influxdb", "--events"])
        .arg(&events)
        .args([
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "2026-01-31T00:00:00Z",
        ])
        .arg("--pods")
        .arg(format!("{}@2026-01-31T00:00:00Z", snap.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let modes = v["modes"].as_array().unwrap();
    let get = |mode: &str| {
        modes
            .iter()
            .find(|m| m["component"] == "C" && m["mode"] == mode)
            .unwrap_or_else(|| panic!("no C {mode} in {modes:#?}"))
    };
    // The selector names the stage (not the owner, influx-statefulset).
    assert_eq!(get("restart")["rate"]["count"], 4);
    let live = &get("liveness")["rate"];
    assert_eq!(live["count"], 2);
    // Both Pods of the stage, over the 30-day window.
    assert_eq!(
        live["exposure_seconds"].as_f64(),
        Some(2.0 * 30.0 * 86_400.0)
    );
    assert_eq!(v["backoff"][0]["component"], "C");
    assert_eq!(v["backoff"][0]["count"], 4);
    // A selector that is not one: exit 2.
    let out = hasim()
        .args([
            "calibrate",
            "history",
            "--stage",
            "C=app in influxdb",
            "--pods",
        ])
        .arg(format!("{}@2026-01-31T00:00:00Z", snap.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--stage C=app in influxdb"));
    // The same Pods from two sources would count their restarts twice: refused, nothing
    // written.
    let cal = dir.path().join("cal.toml");
    let log = dir.path().join("incidents.csv");
    std::fs::write(
        &log,
        "C,2026-01-05T00:00:00Z,2026-01-05T00:01:00Z,restart\n",
    )
    .unwrap();
    let out = hasim()
        .args([
            "calibrate",
            "history",
            "--stage",
            "C=app=influxdb",
            "--incidents",
        ])
        .arg(&log)
        .args([
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "2026-01-31T00:00:00Z",
        ])
        .arg("--pods")
        .arg(format!("{}@2026-01-31T00:00:00Z", snap.display()))
        .arg("--out")
        .arg(&cal)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("C restart: estimated from two of the sources given"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!cal.exists());
}
