//! The probe against a real InfluxDB (Debian's `influxdb` package, `influxd`), started by
//! the test on free loopback ports in a temporary folder, killed and restarted.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use hasim::calibrate::probe::{self, OpKind, ProbeConfig, Store, Tls};

use crate::common;
use crate::common::{Influx, free_port, influxd, tls_fixture};

const INTERVAL: Duration = Duration::from_millis(100);

/// What the machine may add to one interval: thread wake-ups, a loaded CI machine.
const SLACK: f64 = 0.1;

/// Probes `db` on a thread while `disturb` runs; `disturb` returns the true outage
/// (start, end), seconds since the probe started.
fn probed(
    db: &mut Influx,
    timeout: Duration,
    length: Duration,
    disturb: impl FnOnce(&mut Influx, &dyn Fn() -> f64) -> (f64, f64),
) -> (probe::ProbeLog, (f64, f64)) {
    let cfg = ProbeConfig {
        url: db.url(),
        tls: Tls::default(),
        store: Store::v1("probe_test"),
        interval: INTERVAL,
        duration: Some(length),
        timeout,
        monitor: None,
        keep_ops: true,
    };
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let started = Instant::now();
        let probe = s.spawn(|| probe::run(&cfg, &stop, |_| {}).unwrap());
        let now = move || started.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(1000));
        let truth = disturb(db, &now);
        (probe.join().unwrap(), truth)
    })
}

/// Every kind saw the outage within one probe interval of the truth at both ends. A
/// server catching up on the requests queued while it hung may answer one more late, so
/// more than one outage is allowed as long as all lie inside that window and their total
/// is the truth's length to within an interval.
fn within_an_interval_of(log: &probe::ProbeLog, (start, end): (f64, f64)) {
    let i = INTERVAL.as_secs_f64();
    for kind in [OpKind::Write, OpKind::Read] {
        let out = log.outages(kind);
        assert!(!out.is_empty(), "{kind:?}: no outage seen");
        let (first, last) = (&out[0], &out[out.len() - 1]);
        assert!(
            first.start >= start - SLACK && first.start <= start + i + SLACK,
            "{kind:?}: starts at {:.3}, the truth at {start:.3}: {out:?}",
            first.start
        );
        assert!(
            last.end >= end - SLACK && last.end <= end + i + SLACK,
            "{kind:?}: ends at {:.3}, the truth at {end:.3}: {out:?}",
            last.end
        );
        let total: f64 = out.iter().map(|o| o.length_seconds).sum();
        assert!(
            (total - (end - start)).abs() <= i + SLACK,
            "{kind:?}: {total:.3} s against {:.3} s: {out:?}",
            end - start
        );
    }
}

/// SIGKILL, then a restart: down from the kill until the new process answers /ping.
#[test]
fn the_probe_measures_a_killed_store_to_within_an_interval() {
    let mut db = Influx::start();
    let (log, truth) = probed(
        &mut db,
        Duration::from_millis(500),
        Duration::from_secs(5),
        |db, now| {
            db.kill();
            let killed = now();
            std::thread::sleep(Duration::from_millis(800));
            db.spawn(); // returns once /ping answers (polled every 20 ms)
            (killed, now())
        },
    );
    within_an_interval_of(&log, truth);
    assert!(
        log.ops
            .iter()
            .filter(|o| o.kind != OpKind::Create)
            .all(|o| o.ok || (o.sent > truth.0 - SLACK && o.sent < truth.1 + SLACK))
    );
}

/// A hang shorter than the timeout: every request succeeds, late. Still an outage, from
/// the first late request's send to the answers' arrival.
#[test]
fn the_probe_measures_a_hung_store_that_answers_late() {
    let mut db = Influx::start();
    let (log, truth) = probed(
        &mut db,
        Duration::from_secs(3),
        Duration::from_secs(3),
        |db, now| {
            db.signal("STOP");
            let stopped = now();
            std::thread::sleep(Duration::from_millis(1200));
            db.signal("CONT");
            (stopped, now())
        },
    );
    within_an_interval_of(&log, truth);
    // Nothing failed: the outage is the lateness alone.
    assert!(
        log.ops.iter().all(|o| o.ok),
        "{:?}",
        log.ops.iter().find(|o| !o.ok)
    );
}

/// A hang longer than the timeout: requests time out, one after another, then the last
/// is answered late.
#[test]
fn the_probe_measures_a_hang_longer_than_the_timeout() {
    let mut db = Influx::start();
    let (log, truth) = probed(
        &mut db,
        Duration::from_millis(400),
        Duration::from_secs(4),
        |db, now| {
            db.signal("STOP");
            let stopped = now();
            std::thread::sleep(Duration::from_millis(1500));
            db.signal("CONT");
            (stopped, now())
        },
    );
    within_an_interval_of(&log, truth);
    assert!(
        log.ops
            .iter()
            .any(|o| o.error.contains("imeout") || o.error.contains("timed out")),
        "some requests timed out"
    );
}

/// Ctrl-C while the store hangs: the probe ends within an interval (it does not wait
/// for the hung request's timeout), and the open outage is closed at the stop.
#[test]
fn ctrl_c_ends_the_probe_within_an_interval_closing_the_open_outage() {
    let db = Influx::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ops.csv");
    let child = Process::new(env!("CARGO_BIN_EXE_hasim"))
        .args([
            "probe",
            "--create",
            "--url",
            &db.url(),
            "--interval",
            "100ms",
            "--timeout",
            "30s",
            "--out",
        ])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    db.signal("STOP");
    std::thread::sleep(Duration::from_millis(1000));
    let status = Process::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let sent = Instant::now();
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed().as_secs_f64();
    db.signal("CONT");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        took < INTERVAL.as_secs_f64() + 0.3,
        "ended {took:.3} s after Ctrl-C"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_follows("probe.schema.json", &v);
    let end = v["duration_seconds"].as_f64().unwrap();
    for kind in ["write_outages", "read_outages"] {
        let outages = v[kind].as_array().unwrap();
        let last = outages.last().unwrap_or_else(|| panic!("{kind}: {v}"));
        assert_eq!(
            last["end"].as_f64().unwrap(),
            end,
            "{kind}: closed at the stop"
        );
        // And by the wall clock: the stop is the probe's end.
        assert_eq!(last["end_time"], v["ended"], "{kind}");
        let started: jiff::Timestamp = v["started"].as_str().unwrap().parse().unwrap();
        let from: jiff::Timestamp = last["start_time"].as_str().unwrap().parse().unwrap();
        let since = from.duration_since(started).as_secs_f64();
        assert!(
            (since - last["start"].as_f64().unwrap()).abs() <= 1e-3,
            "{kind}: {last}"
        );
        // About the second the store hung before the stop: the pending request counts
        // from its send (writes and reads each on a lane of their own).
        let l = last["length_seconds"].as_f64().unwrap();
        assert!(
            (l - 1.0).abs() < INTERVAL.as_secs_f64() + 0.2,
            "{kind}: {l}"
        );
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains("still pending when the probe stopped"),
        "{text}"
    );
}

#[test]
fn a_probe_url_that_can_never_work_is_refused_and_one_never_reached_fails() {
    let hasim = || assert_cmd::Command::cargo_bin("hasim").unwrap();
    for bad in [
        "",
        "127.0.0.1:8086",
        "ftp://127.0.0.1:1",
        "http://127.0.0.1:99999",
    ] {
        let out = hasim()
            .args(["probe", "--url", bad, "--duration", "1s"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Nothing listens on this port; the password is never printed. Told the API, the
    // probe runs and reaches nothing; asked to find it, it cannot start.
    let url = format!("http://admin:s3cret@127.0.0.1:{}", free_port());
    for (api, said) in [("v1", "never reached"), ("auto", "cannot ask the store")] {
        let out = hasim()
            .args(["probe", "--api", api, "--url", &url])
            .args(["--interval", "50ms", "--duration", "500ms"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains(said), "{all}");
        assert!(!all.contains("s3cret"), "{all}");
    }
    // A log that cannot be written is an error at once, not an empty file.
    let db = Influx::start();
    let started = Instant::now();
    let out = hasim()
        .args([
            "probe",
            "--create",
            "--url",
            &db.url(),
            "--duration",
            "10s",
            "--out",
            "/dev/full",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write /dev/full"));
}

/// A server that answers every request with a redirect to another host: the probe does
/// not follow it (it counts as a failure), so nothing but the given URL is contacted.
#[test]
fn redirects_are_not_followed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    {
        let served = served.clone();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { break };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = s.write_all(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://192.0.2.1:8086/query\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        });
    }
    let cfg = ProbeConfig {
        url: format!("http://127.0.0.1:{port}"),
        tls: Tls::default(),
        store: Store::v1("x"),
        interval: Duration::from_millis(50),
        duration: Some(Duration::from_millis(400)),
        timeout: Duration::from_millis(300),
        monitor: None,
        keep_ops: true,
    };
    let log = probe::run(&cfg, &AtomicBool::new(false), |_| {}).unwrap();
    assert!(!log.ops.is_empty());
    for op in &log.ops {
        assert!(
            !op.ok && op.error.contains("HTTP 307 (redirects are not followed)"),
            "{op:?}"
        );
        // Answered at once by the loopback server, not timed out at 192.0.2.1.
        assert!(op.latency_seconds < 0.25, "{op:?}");
    }
    assert_eq!(
        served.load(std::sync::atomic::Ordering::Relaxed) as usize,
        log.ops.len()
    );
}

#[test]
fn hasim_probe_logs_every_operation_and_summarises() {
    let db = Influx::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ops.csv");
    let out = assert_cmd::Command::cargo_bin("hasim")
        .unwrap()
        .args([
            "probe",
            "--create",
            "--url",
            &db.url(),
            "--interval",
            "50ms",
            "--duration",
            "1s",
            "--out",
        ])
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_follows("probe.schema.json", &v);
    assert_eq!(v["read_outage_seconds"], 0.0);
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("sent_seconds,time_seconds,kind,ok,latency_seconds,error,sent_at")
    );
    let rows: Vec<&str> = lines.collect();
    // Each request's wall-clock send is the probe's start plus its offset (to the ms).
    let started: jiff::Timestamp = v["started"].as_str().unwrap().parse().unwrap();
    let ended: jiff::Timestamp = v["ended"].as_str().unwrap().parse().unwrap();
    let duration = ended.duration_since(started).as_secs_f64();
    assert!((duration - v["duration_seconds"].as_f64().unwrap()).abs() <= 1e-3);
    for r in &rows {
        let cells: Vec<&str> = r.split(',').collect();
        let at: jiff::Timestamp = cells[cells.len() - 1].parse().unwrap();
        let sent: f64 = cells[0].parse().unwrap();
        let since = at.duration_since(started).as_secs_f64();
        assert!(
            (since - sent).abs() <= 1e-3,
            "{r}: {since} s after the start"
        );
    }
    assert_eq!(rows.len() as u64, v["operations"].as_u64().unwrap());
    assert!(rows.len() >= 20, "{} rows", rows.len());
    assert!(rows.iter().any(|r| r.contains(",read,true,")));
    assert!(
        rows.iter().any(|r| r.contains(",create,true,")),
        "the database's creation is logged"
    );
    assert!(rows.iter().any(|r| r.contains(",write,true,")));
}

#[test]
fn calibrate_local_times_restarts_and_writes_a_calibration_file() {
    let db = Influx::configured();
    let dir = tempfile::tempdir().unwrap();
    let cal = dir.path().join("cal.toml");
    let start = format!("{} run -config {}", influxd(), db.config.display());
    let out = assert_cmd::Command::cargo_bin("hasim")
        .unwrap()
        .args([
            "calibrate",
            "local",
            "--start",
            &start,
            "--ready-url",
            &format!("{}/ping", db.url()),
        ])
        .args([
            "--trials",
            "3",
            "--settle",
            "200ms",
            "--fault",
            "sigkill",
            "--probe-url",
            &db.url(),
            "--create",
        ])
        .args(["--name", "influxdb-local", "--out"])
        .arg(&cal)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_follows("calibrate.schema.json", &v);
    let trials = v["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 3);
    for t in trials {
        let r = t["restart_seconds"].as_f64().unwrap();
        assert!(r > 0.0 && r < 30.0, "restart {r} s");
        assert_eq!(t["censored"], false);
        // The probe saw the reads fail while the store was gone.
        assert!(
            t["probe_read_outage_seconds"].as_f64().unwrap() > 0.0,
            "{t}"
        );
    }
    let file: toml::Table = toml::from_str(&std::fs::read_to_string(&cal).unwrap()).unwrap();
    let entry = &file["distributions"]["influxdb-local"];
    assert_eq!(entry["samples"].as_array().unwrap().len(), 3);
    assert!(entry["source"].as_str().unwrap().contains("lower bound"));
    assert!(entry["fit"]["dist"].as_str().is_some());
}

fn calibrate_local(args: &[&str], out: &Path) -> std::process::Output {
    assert_cmd::Command::cargo_bin("hasim")
        .unwrap()
        .args(["calibrate", "local"])
        .args(args)
        .arg("--out")
        .arg(out)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

#[test]
fn calibrate_local_refuses_what_it_cannot_measure() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cal.toml");
    let ready = format!("http://127.0.0.1:{}/ping", free_port());
    let marker = dir.path().join("started");
    let touch = format!("touch {}", marker.display());
    // Arguments that make the run useless: refused before anything is started.
    for (args, why) in [
        (vec!["--trials", "1"], "at least 2"),
        (vec!["--ready-url", "localhost:8086"], "--ready-url"),
    ] {
        let mut all = vec!["--start", &touch, "--ready-url", &ready];
        all.extend(args);
        let o = calibrate_local(&all, &out);
        assert_eq!(o.status.code(), Some(2), "{all:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains(why));
    }
    let o = calibrate_local(
        &["--start", &touch, "--ready-url", &ready],
        &dir.path().join("no/such/dir/cal.toml"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"));
    assert!(!marker.exists(), "nothing was started");

    // A start command that is missing or not executable fails at once, with its status.
    let script = dir.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\nsleep 100\n").unwrap();
    for (cmd, why) in [
        ("/nonexistent/influxd run".to_string(), "command not found"),
        (script.display().to_string(), "not executable"),
    ] {
        let started = Instant::now();
        let o = calibrate_local(&["--start", &cmd, "--ready-url", &ready], &out);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5), "at once");
    }

    // A ready URL served by something else: the fault could never take it down.
    let other = Influx::start();
    let o = calibrate_local(
        &[
            "--start",
            "sleep 100",
            "--ready-url",
            &format!("{}/ping", other.url()),
        ],
        &out,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the fault had no effect"));

    // A process that daemonises: it leaves, and another serves its URL.
    let db = Influx::configured();
    let daemon = format!(
        "sh -c '{} run -config {} >/dev/null 2>&1 &'",
        influxd(),
        db.config.display()
    );
    let o = calibrate_local(
        &[
            "--start",
            &daemon,
            "--ready-url",
            &format!("{}/ping", db.url()),
        ],
        &out,
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("daemonise"), "{err}");
    let _ = Process::new("pkill")
        .arg("-f")
        .arg(db.config.display().to_string())
        .status();
    assert!(!out.exists(), "no sample was written");
}

/// Ctrl-C at the terminal goes to the whole process group: hasim stops injecting faults
/// and keeps its trials; the measured process is in a group of its own and never gets it.
#[test]
fn a_terminal_ctrl_c_stops_the_trials_and_spares_the_process() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    let db = Influx::configured();
    let dir = tempfile::tempdir().unwrap();
    let cal = dir.path().join("cal.toml");
    let mut child = Process::new(env!("CARGO_BIN_EXE_hasim"))
        .args(["calibrate", "local", "--start"])
        .arg(format!("{} run -config {}", influxd(), db.config.display()))
        .args(["--ready-url", &format!("{}/ping", db.url())])
        .args(["--trials", "10", "--settle", "3s", "--out"])
        .arg(&cal)
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let group = child.id();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for want in ["trial 1", "trial 2"] {
        let line = lines.next().unwrap().unwrap();
        assert!(line.starts_with(want), "{line}");
    }
    // The measured process: in another process group than hasim's.
    let pgrep = Process::new("pgrep")
        .arg("-f")
        .arg(format!("-config {}", db.config.display()))
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&pgrep.stdout).trim().to_string();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let pgid: u32 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(pgid, group, "the process has a group of its own");
    // Ctrl-C to hasim's whole group, during the pause before trial 3.
    let status = Process::new("kill")
        .args(["-s", "INT", "--", &format!("-{group}")])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{rest:?}");
    assert!(
        !rest.iter().any(|l| l.starts_with("trial 3")),
        "no fault after the stop: {rest:?}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_follows("calibrate.schema.json", &v);
    assert_eq!(v["trials"].as_array().unwrap().len(), 2);
    let file: toml::Table = toml::from_str(&std::fs::read_to_string(&cal).unwrap()).unwrap();
    assert_eq!(
        file["distributions"]["local-restart"]["samples"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// https against the real influxd serving the fixture's certificate: trusted through
/// `--ca-cert`, refused without it (the built-in roots do not know the test CA), taken
/// unverified with `--insecure` and a warning.
#[test]
fn the_probe_speaks_https_verifying_the_store_unless_told_not_to() {
    let db = Influx::start_tls();
    let probe = |extra: &[&str]| {
        assert_cmd::Command::cargo_bin("hasim")
            .unwrap()
            .args(["probe", "--create", "--url", &db.url()])
            .args(["--interval", "50ms", "--duration", "600ms"])
            .args(extra)
            .output()
            .unwrap()
    };
    let ca = tls_fixture("ca.pem");
    let trusted = probe(&["--ca-cert", ca.to_str().unwrap()]);
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&trusted.stdout).unwrap();
    assert_eq!(v["failed"], 0, "{v}");
    let unknown = probe(&[]);
    assert_eq!(unknown.status.code(), Some(1));
    let said = String::from_utf8_lossy(&unknown.stderr).to_lowercase();
    assert!(said.contains("cert") || said.contains("issuer"), "{said}");
    let insecure = probe(&["--insecure"]);
    assert!(insecure.status.success());
    assert!(String::from_utf8_lossy(&insecure.stderr).contains("warning: --insecure"));
    // A CA file that holds no certificate is bad input.
    let out = probe(&["--ca-cert", tls_fixture("server.key").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = probe(&["--ca-cert", "/nonexistent/ca.pem"]);
    assert_eq!(out.status.code(), Some(2));
}

/// InfluxDB 2.x and 3.x on loopback: no real server of either installs here (Debian ships
/// 1.6), so these speak exactly the documented requests and answers of each API — the
/// v2 OpenAPI (`/ping`, `/health`, `/api/v2/orgs`, `/api/v2/buckets`, `/api/v2/write`,
/// `/api/v2/query` with Flux and annotated CSV) and the InfluxDB 3 Core OpenAPI (`/ping`
/// asking for a token, `/api/v3/configure/database` with 201/409, `/api/v3/write_lp`,
/// `/api/v3/query_sql?format=json`) — and check every credential and parameter.
mod documented {
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Copy, PartialEq)]
    pub enum Flavour {
        V2,
        V3,
    }

    pub const TOKEN: &str = "t0ken-s3cret";

    #[derive(Default)]
    pub struct State {
        /// Buckets (v2) or databases (v3) and the last `seq` written to each.
        pub stores: HashMap<String, Option<u64>>,
        pub writes: u64,
        pub created: u64,
        /// Every request's method and path.
        pub seen: Vec<String>,
    }

    pub struct Server {
        pub port: u16,
        pub state: Arc<Mutex<State>>,
        /// While set, every connection is closed unanswered: the store is gone.
        pub down: Arc<AtomicBool>,
    }

    struct Req {
        method: String,
        path: String,
        query: HashMap<String, String>,
        headers: HashMap<String, String>,
        body: String,
    }

    fn read_request(s: &TcpStream) -> Option<Req> {
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).ok()?;
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            r.read_line(&mut h).ok()?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':')?;
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        r.read_exact(&mut body).ok()?;
        let (path, q) = target.split_once('?').unwrap_or((&target, ""));
        let query = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        Some(Req {
            method,
            path: path.to_string(),
            query,
            headers,
            body: String::from_utf8(body).ok()?,
        })
    }

    fn answer(mut s: &TcpStream, status: u16, headers: &[(&str, &str)], body: &str) {
        let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            out += &format!("{k}: {v}\r\n");
        }
        out += "\r\n";
        out += body;
        let _ = s.write_all(out.as_bytes());
    }

    /// The seq of a probe line, `hasim_probe seq=7i`.
    fn seq_of(line: &str) -> Option<u64> {
        line.trim()
            .strip_prefix("hasim_probe seq=")?
            .strip_suffix('i')?
            .parse()
            .ok()
    }

    const JSON: (&str, &str) = ("Content-Type", "application/json");

    fn v2(req: &Req, st: &mut State) -> (u16, Vec<(&'static str, &'static str)>, String) {
        let authorised =
            req.headers.get("authorization").map(String::as_str) == Some(&format!("Token {TOKEN}"));
        let unauthorised = (
            401,
            vec![JSON],
            r#"{"code":"unauthorized","message":"unauthorized access"}"#.to_string(),
        );
        let org_ok = req.query.get("org").map(String::as_str) == Some("acme");
        let q = |k: &str| req.query.get(k).cloned().unwrap_or_default();
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/ping") => (
                204,
                vec![("X-Influxdb-Version", "v2.7.11"), ("X-Influxdb-Build", "OSS")],
                String::new(),
            ),
            ("GET", "/health") => (
                200,
                vec![JSON],
                r#"{"name":"influxdb","message":"ready for queries and writes","status":"pass","version":"v2.7.11"}"#.into(),
            ),
            _ if !authorised => unauthorised,
            ("GET", "/api/v2/orgs") if org_ok => (
                200,
                vec![JSON],
                r#"{"orgs":[{"id":"0a1b2c3d4e5f6a7b","name":"acme"}]}"#.into(),
            ),
            ("GET", "/api/v2/buckets") => {
                let name = q("name");
                let found = if org_ok && st.stores.contains_key(&name) {
                    format!(r#"[{{"id":"b1","name":"{name}","orgID":"0a1b2c3d4e5f6a7b"}}]"#)
                } else {
                    "[]".into()
                };
                (200, vec![JSON], format!(r#"{{"buckets":{found}}}"#))
            }
            ("POST", "/api/v2/buckets") => {
                let b: serde_json::Value = match serde_json::from_str(&req.body) {
                    Ok(b) => b,
                    Err(_) => return (400, vec![JSON], r#"{"code":"invalid","message":"bad json"}"#.into()),
                };
                if b["orgID"] != "0a1b2c3d4e5f6a7b" {
                    return (404, vec![JSON], r#"{"code":"not found","message":"organization not found"}"#.into());
                }
                let name = b["name"].as_str().unwrap_or_default().to_string();
                if st.stores.contains_key(&name) {
                    return (422, vec![JSON], format!(r#"{{"code":"conflict","message":"bucket with name {name} already exists"}}"#));
                }
                st.stores.insert(name.clone(), None);
                st.created += 1;
                (201, vec![JSON], format!(r#"{{"id":"b1","name":"{name}"}}"#))
            }
            ("POST", "/api/v2/write") => {
                let bucket = q("bucket");
                if !org_ok || !st.stores.contains_key(&bucket) || q("precision") != "ns" {
                    return (404, vec![JSON], format!(r#"{{"code":"not found","message":"bucket \"{bucket}\" not found"}}"#));
                }
                match seq_of(&req.body) {
                    Some(seq) => {
                        st.stores.insert(bucket, Some(seq));
                        st.writes += 1;
                        (204, vec![], String::new())
                    }
                    None => (400, vec![JSON], r#"{"code":"invalid","message":"unable to parse"}"#.into()),
                }
            }
            ("POST", "/api/v2/query") if org_ok => {
                let flux = serde_json::from_str::<serde_json::Value>(&req.body)
                    .ok()
                    .filter(|b| b["type"] == "flux")
                    .and_then(|b| b["query"].as_str().map(str::to_string));
                let Some(flux) = flux else {
                    return (400, vec![JSON], r#"{"code":"invalid","message":"failed to decode request body"}"#.into());
                };
                let bucket = flux
                    .split("from(bucket: \"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap_or_default()
                    .to_string();
                match st.stores.get(&bucket) {
                    None => (404, vec![JSON], format!(r#"{{"code":"not found","message":"failed to initialize execute state: could not find bucket \"{bucket}\""}}"#)),
                    Some(None) => (200, vec![("Content-Type", "text/csv; charset=utf-8")], "\r\n".into()),
                    Some(Some(seq)) => (
                        200,
                        vec![("Content-Type", "text/csv; charset=utf-8")],
                        format!(",result,table,_start,_stop,_time,_value,_field,_measurement\r\n,_result,0,1970-01-01T00:00:00Z,2026-12-03T00:00:00Z,2026-12-03T00:00:00Z,{seq},seq,hasim_probe\r\n\r\n"),
                    ),
                }
            }
            _ => (404, vec![JSON], r#"{"code":"not found","message":"path not found"}"#.into()),
        }
    }

    fn v3(req: &Req, st: &mut State) -> (u16, Vec<(&'static str, &'static str)>, String) {
        // 3 Core asks for a token everywhere by default, /ping included; Bearer works on
        // every endpoint.
        if req.headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {TOKEN}"))
        {
            return (401, vec![], String::new());
        }
        let q = |k: &str| req.query.get(k).cloned().unwrap_or_default();
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/ping") => (
                200,
                vec![
                    JSON,
                    ("x-influxdb-version", "3.0.1"),
                    ("x-influxdb-build", "Core"),
                ],
                r#"{"version":"3.0.1","revision":"d0c7b7f","process_id":"f2d8"}"#.into(),
            ),
            ("POST", "/api/v3/configure/database") => {
                let db = serde_json::from_str::<serde_json::Value>(&req.body)
                    .ok()
                    .and_then(|b| b["db"].as_str().map(str::to_string));
                match db {
                    None => (400, vec![], String::new()),
                    Some(db) if st.stores.contains_key(&db) => (409, vec![], String::new()),
                    Some(db) => {
                        st.stores.insert(db, None);
                        st.created += 1;
                        (201, vec![], String::new())
                    }
                }
            }
            ("POST", "/api/v3/write_lp") => {
                match (st.stores.contains_key(&q("db")), seq_of(&req.body)) {
                    (false, _) => (404, vec![JSON], r#"{"error":"database not found"}"#.into()),
                    (true, None) => (
                        400,
                        vec![JSON],
                        r#"{"error":"write of line protocol failed"}"#.into(),
                    ),
                    (true, Some(seq)) => {
                        st.stores.insert(q("db"), Some(seq));
                        st.writes += 1;
                        (204, vec![], String::new())
                    }
                }
            }
            ("GET", "/api/v3/query_sql")
                if q("format") == "json" && q("q").contains("FROM hasim_probe") =>
            {
                match st.stores.get(&q("db")) {
                    None => (
                        404,
                        vec![JSON],
                        format!(r#"{{"error":"database not found: {}"}}"#, q("db")),
                    ),
                    Some(None) => (200, vec![JSON], "[]".into()),
                    Some(Some(seq)) => (200, vec![JSON], format!(r#"[{{"seq":{seq}}}]"#)),
                }
            }
            _ => (404, vec![], String::new()),
        }
    }

    impl Server {
        pub fn start(flavour: Flavour) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let state = Arc::new(Mutex::new(State::default()));
            let down = Arc::new(AtomicBool::new(false));
            let (st, dn) = (state.clone(), down.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(s) = stream else { break };
                    let (st, dn) = (st.clone(), dn.clone());
                    // Connections kept alive, as a real server does: a probe opening
                    // one per request would churn through the ephemeral ports.
                    std::thread::spawn(move || {
                        loop {
                            if dn.load(Ordering::Relaxed) {
                                return;
                            }
                            let Some(req) = read_request(&s) else { return };
                            let mut st = st.lock().unwrap();
                            st.seen.push(format!("{} {}", req.method, req.path));
                            let (status, headers, body) = match flavour {
                                Flavour::V2 => v2(&req, &mut st),
                                Flavour::V3 => v3(&req, &mut st),
                            };
                            drop(st);
                            answer(&s, status, &headers, &body);
                        }
                    });
                }
            });
            Server { port, state, down }
        }

        pub fn url(&self) -> String {
            format!("http://127.0.0.1:{}", self.port)
        }
    }
}

fn probe_cli(url: &str, extra: &[&str], duration: &str) -> std::process::Output {
    assert_cmd::Command::cargo_bin("hasim")
        .unwrap()
        .env_remove("INFLUX_TOKEN")
        .env_remove("INFLUX_ORG")
        .args([
            "probe",
            "--url",
            url,
            "--interval",
            "50ms",
            "--duration",
            duration,
        ])
        .args(extra)
        .output()
        .unwrap()
}

/// Each of v2 and v3, told by `auto`: the store created when asked, written and read
/// with the token, an outage of a known length seen to within an interval; a wrong token
/// and a missing bucket fail with the store's reason; the token never printed.
#[test]
fn the_probe_speaks_influxdb_2_and_3_as_documented() {
    use documented::{Flavour, Server, TOKEN};
    for (flavour, args) in [
        (Flavour::V2, vec!["--org", "acme", "--bucket", "probe"]),
        (Flavour::V3, vec!["--db", "probe"]),
    ] {
        let server = Server::start(flavour);
        let with = |more: &[&'static str]| {
            let mut a = args.clone();
            a.extend_from_slice(more);
            a
        };
        // Nothing there yet and not asked to create it: every request fails, and why.
        let out = probe_cli(&server.url(), &with(&["--token", TOKEN]), "400ms");
        assert_eq!(out.status.code(), Some(1));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("HTTP 404") && said.contains("not found"),
            "{said}"
        );
        assert_eq!(
            server.state.lock().unwrap().created,
            0,
            "not created unasked"
        );
        // A wrong token.
        let out = probe_cli(
            &server.url(),
            &with(&["--token", "wrong", "--create"]),
            "400ms",
        );
        assert_eq!(out.status.code(), Some(1));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("401"), "{said}");
        // The real run, with an outage from 1.0 s to 2.0 s.
        let down = server.down.clone();
        let outage = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1000));
            down.store(true, std::sync::atomic::Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(1000));
            down.store(false, std::sync::atomic::Ordering::Relaxed);
        });
        let out = probe_cli(&server.url(), &with(&["--token", TOKEN, "--create"]), "3s");
        outage.join().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{all}");
        assert!(!all.contains(TOKEN), "{all}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        common::assert_follows("probe.schema.json", &v);
        for kind in ["write", "read"] {
            let seconds = v[format!("{kind}_outage_seconds")].as_f64().unwrap();
            // The process's start-up delays the probe's clock against the server's:
            // the length, not the moment, is what must match.
            assert!(
                (seconds - 1.0).abs() < 0.05 + 2.0 * SLACK,
                "{kind}: {seconds} s; {v}"
            );
        }
        let st = server.state.lock().unwrap();
        assert_eq!(st.created, 1);
        assert!(st.writes >= 20, "{} writes", st.writes);
        assert!(st.stores["probe"].is_some());
        if flavour == Flavour::V3 {
            assert!(st.seen.iter().any(|s| s == "GET /api/v3/query_sql"));
        } else {
            assert!(st.seen.iter().any(|s| s == "POST /api/v2/query"));
        }
    }
}

/// What cannot work is refused before a request: v2 without an organisation, a user
/// and password for v2, a token for the API server's proxy is in tests/suite/k8s_cli.rs.
#[test]
fn store_flags_that_cannot_work_are_refused() {
    for args in [
        vec!["--api", "v2", "--token", "t"],
        vec!["--api", "v3", "--user", "u", "--password", "p"],
        vec!["--user", "u"],
        vec!["--token", "t", "--user", "u", "--password", "p"],
    ] {
        let out = probe_cli("http://127.0.0.1:9", &args, "100ms");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
}

/// The probe serving its metrics while a real Prometheus scrapes them every second and
/// the real influxd is killed and restarted: Prometheus' HTTP API then has one outage of
/// each kind, its length the truth's to within an interval, and the scrapes that saw
/// `hasim_probe_success` at 0 span it.
#[test]
fn prometheus_scraping_the_probe_finds_the_outage() {
    let mut db = Influx::start();
    let listen = format!("127.0.0.1:{}", free_port());
    let probe = Process::new(env!("CARGO_BIN_EXE_hasim"))
        .args([
            "probe",
            "--create",
            "--url",
            &db.url(),
            "--interval",
            "100ms",
        ])
        .args([
            "--timeout",
            "500ms",
            "--duration",
            "120s",
            "--listen",
            &listen,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let prometheus = common::Prometheus::scraping(&listen, "1s");
    let query = |q: &str| -> Vec<serde_json::Value> {
        let body = ureq::get(&format!("{}/api/v1/query", prometheus.url()))
            .query("query", q)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "success", "{q}: {v}");
        v["data"]["result"].as_array().unwrap().clone()
    };
    let value = |r: &serde_json::Value| -> f64 { r["value"][1].as_str().unwrap().parse().unwrap() };
    // Scraped and served: both kinds up.
    let deadline = Instant::now() + Duration::from_secs(60);
    while query("hasim_probe_success == 1").len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the probe was never scraped as up"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let killed = Instant::now();
    db.kill();
    std::thread::sleep(Duration::from_secs(5));
    db.spawn();
    let truth = killed.elapsed().as_secs_f64();
    // Two more scrapes after the outage ended, then Ctrl-C: the probe's own summary.
    std::thread::sleep(Duration::from_millis(2500));
    let interrupted = Process::new("kill")
        .args(["-INT", &probe.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let out = probe.wait_with_output().unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for kind in ["write", "read"] {
        let seen = summary[format!("{kind}_outages")]
            .as_array()
            .unwrap()
            .clone();
        let longest = seen
            .iter()
            .map(|o| o["length_seconds"].as_f64().unwrap())
            .fold(0.0, f64::max);
        // The truth runs from the kill to the first /ping answered; the probe's outage
        // from the first request that failed to the first answered: an interval apart at
        // each end, plus the harness' 20 ms readiness polling. (A store just restarted
        // may answer one more request late: a short second outage, allowed.)
        assert!(
            (longest - truth).abs() <= INTERVAL.as_secs_f64() + SLACK + 0.05,
            "{kind}: {longest:.3} s seen, {truth:.3} s true: {summary}"
        );
        // What Prometheus scraped last is what the probe summed.
        let outages = query(&format!("hasim_probe_outages_total{{op=\"{kind}\"}}"));
        assert_eq!(outages.len(), 1);
        assert_eq!(value(&outages[0]), seen.len() as f64, "{kind}: {summary}");
        let seconds = value(
            &query(&format!(
                "hasim_probe_outage_seconds_total{{op=\"{kind}\"}}"
            ))[0],
        );
        let total = summary[format!("{kind}_outage_seconds")].as_f64().unwrap();
        assert!(
            (seconds - total).abs() < 1e-6,
            "{kind}: {seconds} scraped, {total} summed"
        );
        // Scrapes a second apart that saw it down: the outage's length, give or take one.
        let down = value(
            &query(&format!(
                "count_over_time(hasim_probe_success{{op=\"{kind}\"}}[2m]) - sum_over_time(hasim_probe_success{{op=\"{kind}\"}}[2m])"
            ))[0],
        );
        assert!(
            (down - truth).abs() <= 1.5,
            "{kind}: {down} scrapes at 0 for {truth:.1} s"
        );
    }
    // The histogram counts every request once.
    let count = value(&query("sum(hasim_probe_duration_seconds_count)")[0]);
    let requests = value(&query("sum(hasim_probe_requests_total)")[0]);
    assert_eq!(count, requests);
}
