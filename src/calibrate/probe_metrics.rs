//! The probe's live metrics, in the OpenMetrics text format, for Prometheus to scrape
//! while the probe runs (`hasim probe --listen`), in the style of the blackbox exporter:
//!
//! | metric | type | meaning |
//! | --- | --- | --- |
//! | `hasim_probe_success{op}` | gauge | 1 while requests of the kind are served, 0 during an outage (and before the first answer) |
//! | `hasim_probe_duration_seconds{op}` | histogram | each request's latency, answered or failed |
//! | `hasim_probe_requests_total{op,result}` | counter | requests ended, `result` `ok` or `failed` |
//! | `hasim_probe_outages_total{op}` | counter | outages begun |
//! | `hasim_probe_outage_seconds_total{op}` | counter | seconds spent in outages, the one under way included |
//!
//! `op` is `write` or `read`. Outages are those of the probe's summary (see `probe`), seen
//! as they happen: a request pending longer than one interval opens one from when it was
//! sent, so a hung store shows at the next scrape, not when its late answer comes.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::probe::{Op, OpKind, Tracker};

/// The histogram's upper bounds, seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The two kinds the metrics show.
const KINDS: [OpKind; 2] = [OpKind::Write, OpKind::Read];

#[derive(Clone, Debug)]
struct Kind {
    tracker: Tracker,
    /// When the request under way was sent.
    pending: Option<f64>,
    answered: bool,
    /// Requests per bucket (not cumulative), the last one past every bound.
    buckets: [u64; BUCKETS.len() + 1],
    latency_sum: f64,
    ok: u64,
    failed: u64,
}

/// What a scrape shows of one kind at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct KindNow {
    pub success: bool,
    pub outages: u64,
    pub outage_seconds: f64,
}

impl Kind {
    fn new(kind: OpKind, interval: f64) -> Self {
        Kind {
            tracker: Tracker::new(kind, interval),
            pending: None,
            answered: false,
            buckets: [0; BUCKETS.len() + 1],
            latency_sum: 0.0,
            ok: 0,
            failed: 0,
        }
    }

    fn now(&self, now: f64, interval: f64) -> KindNow {
        let late = self.pending.filter(|&sent| now - sent > interval);
        let open = self.tracker.open.or(late);
        let closed: f64 = self.tracker.closed.iter().map(|o| o.length_seconds).sum();
        KindNow {
            success: self.answered && open.is_none(),
            outages: self.tracker.closed.len() as u64 + u64::from(open.is_some()),
            outage_seconds: closed + open.map_or(0.0, |start| (now - start).max(0.0)),
        }
    }
}

/// The live state, shared by the probe's lanes and the server.
#[derive(Debug, Default)]
pub struct Monitor {
    started: OnceLock<(Instant, f64)>,
    kinds: Mutex<Option<[Kind; 2]>>,
}

impl Monitor {
    pub fn new() -> Arc<Self> {
        Arc::new(Monitor::default())
    }

    /// The probe starts now with this interval: the clock its operations' times count from.
    pub fn begin(&self, interval: Duration) -> Instant {
        let (at, interval) = *self
            .started
            .get_or_init(|| (Instant::now(), interval.as_secs_f64()));
        *self.kinds.lock().expect("not poisoned") = Some(KINDS.map(|k| Kind::new(k, interval)));
        at
    }

    fn with(&self, kind: OpKind, f: impl FnOnce(&mut Kind)) {
        let Some(i) = KINDS.iter().position(|&k| k == kind) else {
            return;
        };
        if let Some(kinds) = self.kinds.lock().expect("not poisoned").as_mut() {
            f(&mut kinds[i]);
        }
    }

    /// A request of `kind` was sent at `sent` (seconds since the start).
    pub fn sending(&self, kind: OpKind, sent: f64) {
        self.with(kind, |k| k.pending = Some(sent));
    }

    /// A request ended.
    pub fn ended(&self, op: &Op) {
        self.with(op.kind, |k| {
            k.pending = None;
            k.tracker.record(op);
            k.answered |= op.ok;
            let b = BUCKETS
                .iter()
                .position(|&le| op.latency_seconds <= le)
                .unwrap_or(BUCKETS.len());
            k.buckets[b] += 1;
            k.latency_sum += op.latency_seconds;
            if op.ok {
                k.ok += 1;
            } else {
                k.failed += 1;
            }
        });
    }

    /// What a scrape at `now` (seconds since the start) shows of `kind`.
    pub fn now(&self, kind: OpKind, now: f64) -> Option<KindNow> {
        let interval = self.started.get()?.1;
        let i = KINDS.iter().position(|&k| k == kind)?;
        let kinds = self.kinds.lock().expect("not poisoned");
        Some(kinds.as_ref()?[i].now(now, interval))
    }

    /// The OpenMetrics text of this moment.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let kinds = self.kinds.lock().expect("not poisoned").clone();
        let (Some(&(started, interval)), Some(kinds)) = (self.started.get(), kinds) else {
            return "# EOF\n".into();
        };
        let now = started.elapsed().as_secs_f64();
        let views: Vec<(OpKind, KindNow, &Kind)> = KINDS
            .iter()
            .zip(&kinds)
            .map(|(&kind, k)| (kind, k.now(now, interval), k))
            .collect();
        let mut family = |name: &str, kind: &str, help: &str, rows: &mut dyn FnMut(&mut String)| {
            out += &format!("# TYPE {name} {kind}\n# HELP {name} {help}\n");
            rows(&mut out);
        };
        family(
            "hasim_probe_success",
            "gauge",
            "Whether requests of this kind are served now (0 during an outage).",
            &mut |o| {
                for (kind, v, _) in &views {
                    *o += &format!(
                        "hasim_probe_success{{op=\"{}\"}} {}\n",
                        kind.name(),
                        u8::from(v.success)
                    );
                }
            },
        );
        family(
            "hasim_probe_duration_seconds",
            "histogram",
            "Each request's latency, answered or failed.",
            &mut |o| {
                for (kind, _, k) in &views {
                    let op = kind.name();
                    let mut cumulative = 0;
                    for (i, le) in BUCKETS.iter().enumerate() {
                        cumulative += k.buckets[i];
                        *o += &format!(
                            "hasim_probe_duration_seconds_bucket{{op=\"{op}\",le=\"{le}\"}} {cumulative}\n"
                        );
                    }
                    let count = k.ok + k.failed;
                    *o += &format!(
                        "hasim_probe_duration_seconds_bucket{{op=\"{op}\",le=\"+Inf\"}} {count}\n\
                         hasim_probe_duration_seconds_count{{op=\"{op}\"}} {count}\n\
                         hasim_probe_duration_seconds_sum{{op=\"{op}\"}} {}\n",
                        k.latency_sum
                    );
                }
            },
        );
        family(
            "hasim_probe_requests",
            "counter",
            "Requests ended, by result.",
            &mut |o| {
                for (kind, _, k) in &views {
                    for (result, n) in [("ok", k.ok), ("failed", k.failed)] {
                        *o += &format!(
                            "hasim_probe_requests_total{{op=\"{}\",result=\"{result}\"}} {n}\n",
                            kind.name()
                        );
                    }
                }
            },
        );
        family(
            "hasim_probe_outages",
            "counter",
            "Outages begun.",
            &mut |o| {
                for (kind, v, _) in &views {
                    *o += &format!(
                        "hasim_probe_outages_total{{op=\"{}\"}} {}\n",
                        kind.name(),
                        v.outages
                    );
                }
            },
        );
        family(
            "hasim_probe_outage_seconds",
            "counter",
            "Seconds spent in outages, the one under way included.",
            &mut |o| {
                for (kind, v, _) in &views {
                    *o += &format!(
                        "hasim_probe_outage_seconds_total{{op=\"{}\"}} {}\n",
                        kind.name(),
                        v.outage_seconds
                    );
                }
            },
        );
        out += "# EOF\n";
        out
    }
}

/// The content type of what [`serve`] answers.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves `GET /metrics` on `listener` until the process ends, each connection on a
/// thread of its own (a slow scraper holds up no other) and answered once.
pub fn serve(listener: TcpListener, monitor: Arc<Monitor>) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let monitor = Arc::clone(&monitor);
            std::thread::spawn(move || answer(stream, &monitor));
        }
    });
}

fn answer(mut s: TcpStream, monitor: &Monitor) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    // The request's head: up to its blank line (a GET has no body), at most 16 KiB.
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, kind, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", CONTENT_TYPE, monitor.render()),
        ("GET", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "only /metrics is served\n".to_string(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET is served\n".to_string(),
        ),
    };
    let _ = s.write_all(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::probe::op;

    #[test]
    fn a_hung_request_shows_as_an_outage_from_its_send_and_counters_never_fall() {
        let m = Monitor::new();
        m.begin(Duration::from_millis(100));
        let w = OpKind::Write;
        assert!(!m.now(w, 0.0).unwrap().success, "nothing answered yet");
        m.sending(w, 0.0);
        m.ended(&op(0.0, 0.01, w, true));
        assert!(m.now(w, 0.05).unwrap().success);
        // Sent at 1.0 and hung: within the interval nothing shows, after it an outage.
        m.sending(w, 1.0);
        assert!(m.now(w, 1.05).unwrap().success);
        let at = |t| m.now(w, t).unwrap();
        assert_eq!(
            at(1.5),
            KindNow {
                success: false,
                outages: 1,
                outage_seconds: 0.5
            }
        );
        // Answered late at 2.2: the outage closed there, as the summary has it.
        m.ended(&op(1.0, 1.2, w, true));
        let after = at(3.0);
        assert!(after.success && after.outages == 1);
        assert!((after.outage_seconds - 1.2).abs() < 1e-12);
        assert!(after.outage_seconds >= at(1.5).outage_seconds);
        // A failure opens one from its send; it stays open until an answer.
        m.sending(w, 4.0);
        m.ended(&op(4.0, 0.01, w, false));
        let during = at(4.5);
        assert!(!during.success && during.outages == 2);
        assert!((during.outage_seconds - 1.7).abs() < 1e-12);
    }

    #[test]
    fn the_text_is_openmetrics_with_cumulative_buckets() {
        let m = Monitor::new();
        m.begin(Duration::from_millis(100));
        m.ended(&op(0.0, 0.003, OpKind::Read, true));
        m.ended(&op(0.1, 0.2, OpKind::Read, false));
        let text = m.render();
        assert!(text.ends_with("# EOF\n"));
        for line in [
            "# TYPE hasim_probe_outage_seconds counter",
            "hasim_probe_duration_seconds_bucket{op=\"read\",le=\"0.0025\"} 0",
            "hasim_probe_duration_seconds_bucket{op=\"read\",le=\"0.005\"} 1",
            "hasim_probe_duration_seconds_bucket{op=\"read\",le=\"0.25\"} 2",
            "hasim_probe_duration_seconds_bucket{op=\"read\",le=\"+Inf\"} 2",
            "hasim_probe_duration_seconds_count{op=\"read\"} 2",
            "hasim_probe_requests_total{op=\"read\",result=\"failed\"} 1",
            "hasim_probe_outages_total{op=\"read\"} 1",
            "hasim_probe_success{op=\"write\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
