//! The probe against a real InfluxDB (Debian's `influxdb` package, `influxd`), started by
//! the test on free loopback ports in a temporary folder, killed and restarted.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use hasim::calibrate::probe::{self, OpKind, ProbeConfig};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real `influxd` on loopback; stopped when dropped.
struct Influx {
    child: Option<Child>,
    config: std::path::PathBuf,
    http: u16,
    _dir: tempfile::TempDir,
}

impl Influx {
    fn start() -> Influx {
        let mut s = Influx::configured();
        s.spawn();
        s
    }

    /// A configuration on free loopback ports in a temporary folder, not started.
    fn configured() -> Influx {
        let dir = tempfile::tempdir().unwrap();
        let (http, rpc) = (free_port(), free_port());
        let d = dir.path().display();
        let config = dir.path().join("influxdb.conf");
        std::fs::write(
            &config,
            format!(
                "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
                 [meta]\n  dir = \"{d}/meta\"\n\
                 [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n\
                 [monitor]\n  store-enabled = false\n\
                 [http]\n  bind-address = \"127.0.0.1:{http}\"\n  log-enabled = false\n"
            ),
        )
        .unwrap();
        Influx {
            child: None,
            config,
            http,
            _dir: dir,
        }
    }

    fn spawn(&mut self) {
        let child = Process::new(influxd())
            .args(["run", "-config"])
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("influxd runs (apt-get install -y influxdb)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        let url = format!("http://127.0.0.1:{}/ping", self.http);
        while Instant::now() < deadline {
            if ureq::get(&url).call().is_ok_and(|r| r.status() == 204) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("influxd did not answer /ping within 20 s");
    }

    /// SIGKILL, like a crashed container.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }
}

impl Drop for Influx {
    fn drop(&mut self) {
        self.kill();
    }
}

fn influxd() -> &'static str {
    if Path::new("/usr/bin/influxd").exists() {
        "/usr/bin/influxd"
    } else {
        "influxd"
    }
}

#[test]
fn the_probe_measures_a_killed_store_as_an_outage() {
    let mut db = Influx::start();
    let cfg = ProbeConfig {
        url: db.url(),
        db: "probe_test".into(),
        interval: Duration::from_millis(50),
        duration: Some(Duration::from_secs(5)),
        timeout: Duration::from_millis(500),
    };
    let stop = AtomicBool::new(false);
    let ops = std::thread::scope(|s| {
        let probe = s.spawn(|| probe::run(&cfg, &stop, |_| {}));
        std::thread::sleep(Duration::from_millis(1500));
        db.kill();
        let killed = Instant::now();
        std::thread::sleep(Duration::from_millis(1000));
        db.spawn();
        let down_for = killed.elapsed().as_secs_f64();
        (probe.join().unwrap(), down_for)
    });
    let (ops, down_for) = ops;
    assert!(ops.len() > 40, "{} operations", ops.len());
    // Before the kill everything worked (the first write may race database creation).
    assert!(
        ops.iter()
            .filter(|o| o.time > 0.3 && o.time < 1.2)
            .all(|o| o.ok)
    );
    for kind in [OpKind::Write, OpKind::Read] {
        let out = probe::outages(&ops, kind);
        let long: Vec<_> = out.iter().filter(|o| o.length_seconds > 0.3).collect();
        assert_eq!(long.len(), 1, "{kind:?}: {out:?}");
        // The store was gone for `down_for` seconds (plus its start-up); the probe sees
        // that to within an interval and a timeout.
        let l = long[0].length_seconds;
        assert!(
            l > down_for - 0.2 && l < down_for + 2.0,
            "{kind:?}: outage {l} s, store down {down_for} s"
        );
        assert!(
            long[0].start > 1.2 && long[0].start < 2.5,
            "{kind:?}: starts at {}",
            long[0].start
        );
    }
    assert!(ops.last().unwrap().ok, "back after the restart");
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
    assert_eq!(v["read_outage_seconds"], 0.0);
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("time_seconds,kind,ok,latency_seconds,error")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len() as u64, v["operations"].as_u64().unwrap());
    assert!(rows.len() >= 20, "{} rows", rows.len());
    assert!(rows.iter().any(|r| r.contains(",read,true,")));
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
