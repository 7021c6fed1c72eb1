//! The report's continuous reads and writes, against InfluxDB's HTTP API (v1, v2 or v3:
//! see `store`): what a user actually sees while a store restarts.
//!
//! Every `interval` the probe writes one point (line protocol) and reads the latest back,
//! each with a timeout, and logs every operation — the database's or bucket's creation
//! too when asked for, retried until it succeeds — with when it was sent, when it ended,
//! whether it worked, its latency and its error.
//!
//! An outage of one kind starts when the first bad request was *sent*: one that failed,
//! or one still pending after one interval (a hung server is an outage even when each
//! request at last succeeds or times out). It ends when a request of that kind is
//! answered again (a late answer ends it at its arrival). One still open when the probe
//! stops is closed at the stop. Requests run on a thread of their own, so a stop (Ctrl-C,
//! `duration`) ends the probe within one interval even while a request hangs. Only the URL
//! the user gives is contacted; redirects are not followed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use serde::Serialize;

pub use super::probe_metrics::Monitor;
use super::store::MEASUREMENT;
pub use super::store::{Http, Store, Tls, Transport};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    /// The database's or bucket's creation (only when asked for), until it succeeds once.
    Create,
    Write,
    Read,
}

impl OpKind {
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Write => "write",
            OpKind::Read => "read",
        }
    }
}

/// One operation.
#[derive(Clone, Debug, Serialize)]
pub struct Op {
    /// Seconds since the probe started, when the request was sent.
    pub sent: f64,
    /// When the request was sent, by the wall clock: the probe's start by the wall clock
    /// plus `sent` (so operations stay in order even if the clock is stepped).
    pub sent_at: jiff::Timestamp,
    /// Seconds since the probe started, when it ended: answered, failed, timed out, or
    /// given up at the stop.
    pub time: f64,
    pub kind: OpKind,
    pub ok: bool,
    pub latency_seconds: f64,
    pub error: String,
}

/// A request still pending when the probe stopped: its error.
pub const PENDING_AT_STOP: &str = "still pending when the probe stopped";

impl Op {
    /// Evidence that the system was not serving requests of its kind from `sent` on:
    /// a failure, or an answer later than one interval. A request cut short by the stop
    /// before an interval had passed says nothing.
    fn bad(&self, interval: f64) -> Option<bool> {
        if self.error == PENDING_AT_STOP && self.latency_seconds <= interval {
            return None;
        }
        Some(!self.ok || self.latency_seconds > interval)
    }
}

/// A run of failures of one kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outage {
    pub kind: OpKind,
    pub start: f64,
    pub end: f64,
    pub length_seconds: f64,
}

/// What a probe saw.
#[derive(Clone, Debug, Default)]
pub struct ProbeLog {
    pub ops: Vec<Op>,
    /// The interval, seconds (a request pending longer is an outage).
    pub interval: f64,
    /// Seconds since the start when the probe stopped.
    pub end: f64,
    /// The wall-clock instant of the start (time 0).
    pub started: jiff::Timestamp,
}

impl ProbeLog {
    /// The outages of one kind (see the module's documentation).
    pub fn outages(&self, kind: OpKind) -> Vec<Outage> {
        let mut t = Tracker::new(kind, self.interval);
        for op in self.ops.iter().filter(|o| o.kind == kind) {
            t.record(op);
        }
        t.finish(self.end)
    }

    /// The longest outage of one kind, seconds (0 without one).
    pub fn longest_outage(&self, kind: OpKind) -> f64 {
        self.outages(kind)
            .iter()
            .map(|o| o.length_seconds)
            .fold(0.0, f64::max)
    }

    /// Whether any request was answered: a probe that never reached its URL measured
    /// nothing.
    pub fn reached(&self) -> bool {
        self.ops.iter().any(|o| o.ok)
    }
}

/// The outages of one kind as its operations end, in order: what [`ProbeLog::outages`]
/// finds afterwards and the live metrics show meanwhile.
#[derive(Clone, Debug)]
pub struct Tracker {
    kind: OpKind,
    interval: f64,
    /// When the outage under way started.
    pub open: Option<f64>,
    pub closed: Vec<Outage>,
}

impl Tracker {
    pub fn new(kind: OpKind, interval: f64) -> Self {
        Tracker {
            kind,
            interval,
            open: None,
            closed: vec![],
        }
    }

    /// One more operation of this kind.
    pub fn record(&mut self, op: &Op) {
        let Some(bad) = op.bad(self.interval) else {
            return;
        };
        if bad && self.open.is_none() {
            self.open = Some(op.sent);
        }
        if op.ok {
            self.close(op.time);
        }
    }

    fn close(&mut self, end: f64) {
        if let Some(start) = self.open.take() {
            self.closed.push(Outage {
                kind: self.kind,
                start,
                end,
                length_seconds: end - start,
            });
        }
    }

    /// Every outage, one still open closed at `end`.
    pub fn finish(mut self, end: f64) -> Vec<Outage> {
        self.close(end);
        self.closed
    }
}

#[derive(Clone, Debug)]
pub struct ProbeConfig {
    /// Base URL of InfluxDB, e.g. `http://127.0.0.1:8086`.
    pub url: String,
    /// How https is verified.
    pub tls: Tls,
    /// What to say to the store, in which API.
    pub store: Store,
    pub interval: Duration,
    /// Stop after this long (or when `stop` is set).
    pub duration: Option<Duration>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Live metrics of the run, if something serves them.
    pub monitor: Option<Arc<Monitor>>,
    /// Keep every operation in the log; off for a probe that runs for months, whose
    /// caller sees each operation as it ends (memory stays flat).
    pub keep_ops: bool,
}

/// Refuses a URL that can never work: empty, without `http://` or `https://`, without a
/// host, or with a port out of range. The message never repeats credentials.
pub fn check_url(url: &str) -> Result<(), String> {
    let shown = redact(url);
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| format!("\"{shown}\" is not a URL ({e}); e.g. http://127.0.0.1:8086"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(format!(
                "\"{shown}\": scheme {other}: only http and https are spoken"
            ));
        }
        None => {
            return Err(format!(
                "\"{shown}\" has no scheme: give http://HOST:PORT, e.g. http://127.0.0.1:8086"
            ));
        }
    }
    match uri.authority() {
        Some(a) if !a.host().is_empty() => {
            // `Authority::port` hides a port that is not a u16: read it from the text.
            let hostport = a.as_str().rsplit_once('@').map_or(a.as_str(), |(_, h)| h);
            let after_host = hostport.rsplit_once(']').map_or(hostport, |(_, p)| p);
            if let Some((_, port)) = after_host.rsplit_once(':')
                && !port.parse::<u16>().is_ok_and(|p| p > 0)
            {
                return Err(format!("\"{shown}\": port {port} is not one (1 to 65535)"));
            }
            Ok(())
        }
        _ => Err(format!("\"{shown}\" has no host")),
    }
}

/// `url` with any `user:password@` replaced by `***@`.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let sep = if scheme.is_empty() { "" } else { "://" };
            format!("{scheme}{sep}***@{}", &rest[at + 1..])
        }
        None => url.to_string(),
    }
}

/// Runs the probe over HTTP at `cfg.url` until `duration` or `stop`; `on_op` sees every
/// operation as it ends. Fails before any operation only when the TLS settings cannot be
/// used or the store's API, asked for (`auto`), cannot be told.
pub fn run(
    cfg: &ProbeConfig,
    stop: &AtomicBool,
    on_op: impl FnMut(&Op),
) -> Result<ProbeLog, String> {
    let http = Http::new(&cfg.url, cfg.timeout, &cfg.tls)?.hiding(&cfg.store.secrets());
    run_with(Arc::new(http), cfg, stop, on_op)
}

/// A request for a requester thread.
enum Job {
    Create,
    Write(String),
    Read,
}

/// How often a wait looks at the stop flag: a stop is honoured within this.
fn poll_slice(interval: Duration) -> Duration {
    (interval / 2).clamp(Duration::from_millis(5), Duration::from_millis(50))
}

/// What the two lanes share.
struct Shared<'a> {
    transport: Arc<dyn Transport + Send + Sync>,
    /// The store, its API known.
    store: Store,
    cfg: &'a ProbeConfig,
    stop: &'a AtomicBool,
    started: Instant,
    /// `started` by the wall clock.
    started_at: jiff::Timestamp,
    /// A point was written: reads can find one.
    primed: AtomicBool,
}

impl Shared<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
            || self
                .cfg
                .duration
                .is_some_and(|d| self.started.elapsed() >= d)
    }

    fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The wall-clock instant `t` seconds after the start.
    fn at(&self, t: f64) -> jiff::Timestamp {
        let offset = jiff::SignedDuration::try_from_secs_f64(t).unwrap_or_default();
        self.started_at
            .checked_add(offset)
            .unwrap_or(self.started_at)
    }

    /// Sleeps until `until`, or less if the probe stops: `false` then.
    fn wait_until(&self, until: Instant) -> bool {
        let slice = poll_slice(self.cfg.interval);
        while let Some(rest) = until.checked_duration_since(Instant::now()) {
            if self.stopped() {
                return false;
            }
            std::thread::sleep(rest.min(slice));
        }
        !self.stopped()
    }
}

/// One kind's requests, one at a time, each an interval after the last began (none
/// skipped to catch up), on a requester thread of their own: detached, so that a request
/// hung past the stop is left to its own timeout rather than waited for. Every operation
/// goes to `ops`.
fn lane(kind: OpKind, sh: &Shared<'_>, ops: &mpsc::Sender<Op>) {
    let (jobs, todo) = mpsc::channel::<Job>();
    let (answers, answered) = mpsc::channel::<Result<(), String>>();
    let transport = Arc::clone(&sh.transport);
    let store = sh.store.clone();
    std::thread::spawn(move || {
        for job in todo {
            let t = transport.as_ref();
            let result = match job {
                Job::Create => store.create(t),
                Job::Write(line) => store.write(t, &line),
                Job::Read => store.read(t),
            };
            if answers.send(result).is_err() {
                break;
            }
        }
    });
    let slice = poll_slice(sh.cfg.interval);
    // One request, waited for in slices: whether it worked, or `None` once the probe
    // stopped meanwhile.
    let ask = |kind: OpKind, job: Job| -> Option<bool> {
        let sent = sh.now();
        let t0 = Instant::now();
        if let Some(m) = &sh.cfg.monitor {
            m.sending(kind, sent);
        }
        let mut result = jobs
            .send(job)
            .err()
            .map(|_| Err("the requester thread is gone".to_string()));
        let mut cut = false;
        while result.is_none() {
            match answered.recv_timeout(slice) {
                Ok(r) => result = Some(r),
                Err(mpsc::RecvTimeoutError::Timeout) if sh.stopped() => {
                    result = Some(Err(PENDING_AT_STOP.to_string()));
                    cut = true;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    result = Some(Err("the requester thread is gone".to_string()));
                }
            }
        }
        let result = result.expect("set above");
        let ok = result.is_ok();
        let op = Op {
            sent,
            sent_at: sh.at(sent),
            time: sh.now(),
            kind,
            ok,
            latency_seconds: t0.elapsed().as_secs_f64(),
            error: result.err().unwrap_or_default(),
        };
        if let Some(m) = &sh.cfg.monitor {
            m.ended(&op);
        }
        let _ = ops.send(op);
        (!cut).then_some(ok)
    };
    let mut created = kind != OpKind::Write || !sh.store.create;
    let mut seq: u64 = 0;
    let mut next = Instant::now();
    while !sh.stopped() {
        if kind == OpKind::Read && !sh.primed.load(Ordering::Relaxed) {
            // Nothing to read yet: the write lane has not written a point.
            if !sh.wait_until(Instant::now() + slice) {
                break;
            }
            next = Instant::now();
            continue;
        }
        if !created {
            match ask(OpKind::Create, Job::Create) {
                None => break,
                Some(ok) => created = ok,
            }
        }
        let job = match kind {
            OpKind::Read => Job::Read,
            _ => {
                seq += 1;
                Job::Write(format!("{MEASUREMENT} seq={seq}i"))
            }
        };
        match ask(kind, job) {
            None => break,
            Some(true) if kind == OpKind::Write => sh.primed.store(true, Ordering::Relaxed),
            Some(_) => {}
        }
        next = (next + sh.cfg.interval).max(Instant::now());
        if !sh.wait_until(next) {
            break;
        }
    }
}

/// Runs the probe over any transport (`cfg.url` and `cfg.tls` are not used): writes and
/// reads on lanes of their own, so that a hung write does not hide whether reads are
/// served. Fails before any operation only when the store's API, asked for, cannot be
/// told.
pub fn run_with(
    transport: Arc<dyn Transport + Send + Sync>,
    cfg: &ProbeConfig,
    stop: &AtomicBool,
    mut on_op: impl FnMut(&Op),
) -> Result<ProbeLog, String> {
    let store = cfg.store.resolved(transport.as_ref())?;
    let started = cfg
        .monitor
        .as_ref()
        .map_or_else(Instant::now, |m| m.begin(cfg.interval));
    let started_at = jiff::Timestamp::now();
    let sh = Shared {
        store,
        transport,
        cfg,
        stop,
        started,
        started_at,
        primed: AtomicBool::new(false),
    };
    let mut log = ProbeLog {
        ops: vec![],
        interval: cfg.interval.as_secs_f64(),
        end: 0.0,
        started: started_at,
    };
    let (ops, arrived) = mpsc::channel::<Op>();
    std::thread::scope(|s| {
        for kind in [OpKind::Write, OpKind::Read] {
            let (sh, ops) = (&sh, ops.clone());
            s.spawn(move || lane(kind, sh, &ops));
        }
        drop(ops);
        for op in arrived {
            on_op(&op);
            if cfg.keep_ops {
                log.ops.push(op);
            }
        }
    });
    log.end = sh.now();
    Ok(log)
}

/// An operation sent `sent` seconds after a fixed start and ended `latency` later, for
/// the tests of the probe and of its metrics.
#[cfg(test)]
pub(crate) fn op(sent: f64, latency: f64, kind: OpKind, ok: bool) -> Op {
    Op {
        sent,
        sent_at: jiff::Timestamp::UNIX_EPOCH,
        time: sent + latency,
        kind,
        ok,
        latency_seconds: latency,
        error: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(ops: Vec<Op>, end: f64) -> ProbeLog {
        ProbeLog {
            ops,
            interval: 0.1,
            end,
            started: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn an_outage_runs_from_the_first_bad_send_to_the_next_answer() {
        use OpKind::*;
        let l = log(
            vec![
                op(0.0, 0.01, Write, true),
                op(0.01, 0.01, Read, true),
                op(1.0, 0.01, Write, false),
                op(1.01, 0.01, Read, false),
                op(2.0, 0.01, Write, false),
                op(2.01, 0.01, Read, true),
                op(3.0, 0.01, Write, true),
                op(4.0, 0.01, Write, false),
            ],
            4.5,
        );
        let w = l.outages(Write);
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].start, w[0].end), (1.0, 3.01));
        assert_eq!(
            (w[1].start, w[1].end),
            (4.0, 4.5),
            "open at the stop: closed there"
        );
        let r = l.outages(Read);
        assert_eq!(r.len(), 1);
        assert!((r[0].length_seconds - 1.01).abs() < 1e-12);
    }

    #[test]
    fn a_late_answer_is_an_outage_from_its_send_to_its_arrival() {
        use OpKind::*;
        // A hung server: the write sent at 1.0 is answered at 3.5; each request on
        // time before and after.
        let l = log(
            vec![
                op(0.9, 0.01, Write, true),
                op(1.0, 2.5, Write, true),
                op(3.6, 0.01, Write, true),
            ],
            4.0,
        );
        assert_eq!(
            l.outages(Write),
            [Outage {
                kind: Write,
                start: 1.0,
                end: 3.5,
                length_seconds: 2.5
            }]
        );
        // Timed out, then answered late: one outage from the first send.
        let l = log(
            vec![
                op(1.0, 1.0, Write, false),
                op(2.0, 1.2, Write, true),
                op(3.3, 0.01, Write, true),
            ],
            4.0,
        );
        let w = l.outages(Write);
        assert_eq!(w.len(), 1);
        assert_eq!((w[0].start, w[0].end), (1.0, 3.2));
    }

    #[test]
    fn a_request_cut_by_the_stop_counts_only_once_it_was_late() {
        use OpKind::*;
        let mut cut = op(1.0, 0.05, Read, false);
        cut.error = PENDING_AT_STOP.into();
        assert!(
            log(vec![op(0.5, 0.01, Read, true), cut.clone()], 1.05)
                .outages(Read)
                .is_empty()
        );
        cut.latency_seconds = 0.5;
        cut.time = 1.5;
        let o = log(vec![op(0.5, 0.01, Read, true), cut], 1.5).outages(Read);
        assert_eq!((o[0].start, o[0].end), (1.0, 1.5));
    }

    #[test]
    fn urls_that_can_never_work_are_refused_and_credentials_never_shown() {
        for ok in [
            "http://127.0.0.1:8086",
            "https://influx.example:443/",
            "http://localhost",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "127.0.0.1:8086",
            "ftp://127.0.0.1:8086",
            "http://127.0.0.1:99999",
            "http://127.0.0.1:0",
            "http://",
            "http://user:s3cret@:8086",
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(!e.contains("s3cret"), "{e}");
        }
        assert_eq!(
            redact("http://admin:s3cret@127.0.0.1:8086/x?u=1"),
            "http://***@127.0.0.1:8086/x?u=1"
        );
        assert_eq!(redact("http://127.0.0.1:8086"), "http://127.0.0.1:8086");
    }
}
