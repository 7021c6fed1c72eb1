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

/// Runs the probe until `duration` or `stop`; `on_op` sees every operation as it ends.
pub fn run(cfg: &ProbeConfig, stop: &AtomicBool, mut on_op: impl FnMut(&Op)) -> Vec<Op> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(cfg.timeout))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let base = cfg.url.trim_end_matches('/');
    let started = Instant::now();
    let mut ops = vec![];
    let mut created = false;
    let mut seq: u64 = 0;
    while !stop.load(Ordering::Relaxed) && cfg.duration.is_none_or(|d| started.elapsed() < d) {
        let tick = Instant::now();
        if !created {
            created = agent
                .post(&format!("{base}/query"))
                .query("q", format!("CREATE DATABASE \"{}\"", cfg.db))
                .send_empty()
                .is_ok();
        }
        seq += 1;
        let t0 = Instant::now();
        let w = agent
            .post(&format!("{base}/write"))
            .query("db", &cfg.db)
            .send(format!("hasim_probe seq={seq}i"));
        let op = Op {
            time: started.elapsed().as_secs_f64(),
            kind: OpKind::Write,
            ok: w.is_ok(),
            latency_seconds: t0.elapsed().as_secs_f64(),
            error: w.err().map_or(String::new(), |e| e.to_string()),
        };
        on_op(&op);
        ops.push(op);
        let t0 = Instant::now();
        let r = agent
            .get(&format!("{base}/query"))
            .query("db", &cfg.db)
            .query("q", "SELECT last(seq) FROM hasim_probe")
            .call()
            .and_then(|mut resp| resp.body_mut().read_to_string());
        let (ok, error) = match r {
            Ok(body) if body.contains("\"series\"") && !body.contains("\"error\"") => {
                (true, String::new())
            }
            Ok(body) => (
                false,
                format!(
                    "unexpected answer: {}",
                    body.chars().take(120).collect::<String>()
                ),
            ),
            Err(e) => (false, e.to_string()),
        };
        let op = Op {
            time: started.elapsed().as_secs_f64(),
            kind: OpKind::Read,
            ok,
            latency_seconds: t0.elapsed().as_secs_f64(),
            error,
        };
        on_op(&op);
        ops.push(op);
        if let Some(rest) = cfg.interval.checked_sub(tick.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    ops
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
