//! The report's continuous reads and writes, against InfluxDB's HTTP API: what a user
//! actually sees while a store restarts.
//!
//! Every `interval` the probe writes one point (`POST /write`, line protocol) and reads
//! the latest back (`GET /query`), each with a timeout, and logs the operation (time since
//! the start, kind, ok, latency, error). An outage of one kind is a run of failed
//! operations: it starts at the first failure and ends at the next success; one still
//! open at the end is cut there. Only loopback or the URL the user gives is contacted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Write,
    Read,
}

/// One operation.
#[derive(Clone, Debug, Serialize)]
pub struct Op {
    /// Seconds since the probe started.
    pub time: f64,
    pub kind: OpKind,
    pub ok: bool,
    pub latency_seconds: f64,
    pub error: String,
}

/// A run of failures of one kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outage {
    pub kind: OpKind,
    pub start: f64,
    pub end: f64,
    pub length_seconds: f64,
}

#[derive(Clone, Debug)]
pub struct ProbeConfig {
    /// Base URL of InfluxDB 1.x, e.g. `http://127.0.0.1:8086`.
    pub url: String,
    pub db: String,
    pub interval: Duration,
    /// Stop after this long (or when `stop` is set).
    pub duration: Option<Duration>,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// How the probe reaches InfluxDB: straight over HTTP ([`Http`]), or through the
/// Kubernetes API server's service proxy (`calibrate::k8s::ServiceProxy`).
pub trait Transport {
    /// `POST /query?q=…` (a statement such as `CREATE DATABASE`).
    fn command(&self, q: &str) -> Result<(), String>;
    /// `POST /write?db=…` with a line-protocol body.
    fn write(&self, db: &str, line: &str) -> Result<(), String>;
    /// `GET /query?db=…&q=…`: the answer's body.
    fn query(&self, db: &str, q: &str) -> Result<String, String>;
}

/// InfluxDB's HTTP API at a base URL, each request with a timeout.
pub struct Http {
    agent: ureq::Agent,
    base: String,
}

impl Http {
    pub fn new(url: &str, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .build();
        Http {
            agent: ureq::Agent::new_with_config(config),
            base: url.trim_end_matches('/').to_string(),
        }
    }
}

impl Transport for Http {
    fn command(&self, q: &str) -> Result<(), String> {
        self.agent
            .post(&format!("{}/query", self.base))
            .query("q", q)
            .send_empty()
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn write(&self, db: &str, line: &str) -> Result<(), String> {
        self.agent
            .post(&format!("{}/write", self.base))
            .query("db", db)
            .send(line)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn query(&self, db: &str, q: &str) -> Result<String, String> {
        self.agent
            .get(&format!("{}/query", self.base))
            .query("db", db)
            .query("q", q)
            .call()
            .and_then(|mut resp| resp.body_mut().read_to_string())
            .map_err(|e| e.to_string())
    }
}

/// Runs the probe over HTTP at `cfg.url` until `duration` or `stop`; `on_op` sees every
/// operation as it ends.
pub fn run(cfg: &ProbeConfig, stop: &AtomicBool, on_op: impl FnMut(&Op)) -> Vec<Op> {
    run_with(&Http::new(&cfg.url, cfg.timeout), cfg, stop, on_op)
}

/// Runs the probe over any transport (`cfg.url` is not used).
pub fn run_with(
    transport: &dyn Transport,
    cfg: &ProbeConfig,
    stop: &AtomicBool,
    mut on_op: impl FnMut(&Op),
) -> Vec<Op> {
    let started = Instant::now();
    let mut ops = vec![];
    let mut created = false;
    let mut seq: u64 = 0;
    let mut log = |kind, t0: Instant, result: Result<(), String>| {
        let op = Op {
            time: started.elapsed().as_secs_f64(),
            kind,
            ok: result.is_ok(),
            latency_seconds: t0.elapsed().as_secs_f64(),
            error: result.err().unwrap_or_default(),
        };
        on_op(&op);
        ops.push(op);
    };
    while !stop.load(Ordering::Relaxed) && cfg.duration.is_none_or(|d| started.elapsed() < d) {
        let tick = Instant::now();
        if !created {
            created = transport
                .command(&format!("CREATE DATABASE \"{}\"", cfg.db))
                .is_ok();
        }
        seq += 1;
        let t0 = Instant::now();
        let written = transport.write(&cfg.db, &format!("hasim_probe seq={seq}i"));
        log(OpKind::Write, t0, written);
        let t0 = Instant::now();
        let read = match transport.query(&cfg.db, "SELECT last(seq) FROM hasim_probe") {
            Ok(body) if body.contains("\"series\"") && !body.contains("\"error\"") => Ok(()),
            Ok(body) => Err(format!(
                "unexpected answer: {}",
                body.chars().take(120).collect::<String>()
            )),
            Err(e) => Err(e),
        };
        log(OpKind::Read, t0, read);
        if let Some(rest) = cfg.interval.checked_sub(tick.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    ops
}

/// The longest outage of one kind in a log, seconds (0 without one).
pub fn longest_outage(ops: &[Op], kind: OpKind) -> f64 {
    outages(ops, kind)
        .iter()
        .map(|o| o.length_seconds)
        .fold(0.0, f64::max)
}

/// The outages of one kind in a log.
pub fn outages(ops: &[Op], kind: OpKind) -> Vec<Outage> {
    let mut out = vec![];
    let mut open: Option<f64> = None;
    let mut last = 0.0;
    for op in ops.iter().filter(|o| o.kind == kind) {
        last = op.time;
        match (op.ok, open) {
            (false, None) => open = Some(op.time),
            (true, Some(start)) => {
                out.push(Outage {
                    kind,
                    start,
                    end: op.time,
                    length_seconds: op.time - start,
                });
                open = None;
            }
            _ => {}
        }
    }
    if let Some(start) = open {
        out.push(Outage {
            kind,
            start,
            end: last,
            length_seconds: last - start,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(time: f64, kind: OpKind, ok: bool) -> Op {
        Op {
            time,
            kind,
            ok,
            latency_seconds: 0.0,
            error: String::new(),
        }
    }

    #[test]
    fn outages_run_from_the_first_failure_to_the_next_success() {
        use OpKind::*;
        let ops = [
            op(0.0, Write, true),
            op(0.1, Read, true),
            op(1.0, Write, false),
            op(1.1, Read, false),
            op(2.0, Write, false),
            op(2.1, Read, true),
            op(3.0, Write, true),
            op(4.0, Write, false),
        ];
        let w = outages(&ops, Write);
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].start, w[0].end), (1.0, 3.0));
        assert_eq!(
            (w[1].start, w[1].end),
            (4.0, 4.0),
            "open at the end: cut there"
        );
        let r = outages(&ops, Read);
        assert_eq!(r.len(), 1);
        assert!((r[0].length_seconds - 1.0).abs() < 1e-12);
    }
}
