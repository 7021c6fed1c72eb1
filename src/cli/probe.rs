use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, ValueEnum};

use super::{CliError, duration_flag};
use crate::calibrate::probe::{self, OpKind, ProbeConfig, Tracker};
use crate::calibrate::probe_metrics::{Monitor, serve};
use crate::calibrate::store::{Api, Auth, Store, Tls};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ApiArg {
    /// Ask the store (`/ping`, then `/health`).
    Auto,
    /// InfluxDB 1.x: /write and /query (InfluxQL); also 2.x's and 3.x's v1 endpoints.
    V1,
    /// InfluxDB 2.x: /api/v2/write and /api/v2/query (Flux).
    V2,
    /// InfluxDB 3 Core and Enterprise: /api/v3/write_lp and /api/v3/query_sql (SQL).
    V3,
}

/// The store the probe writes to and reads from, and how it proves who it is.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "The store")]
pub struct StoreArgs {
    /// The store's HTTP API.
    #[arg(long, value_enum, default_value_t = ApiArg::Auto)]
    pub api: ApiArg,
    /// The database (v1, v3) or bucket (v2) the probe writes its points into.
    #[arg(long, visible_alias = "bucket", default_value = "hasim_probe")]
    pub db: String,
    /// v2's organisation, by name.
    #[arg(long, env = "INFLUX_ORG")]
    pub org: Option<String>,
    /// An API token (v2, v3, and the v1 endpoints of 2.x and 3.x). Prefer the variable:
    /// a flag is seen in the process list.
    #[arg(
        long,
        env = "INFLUX_TOKEN",
        hide_env_values = true,
        conflicts_with = "user"
    )]
    pub token: Option<String>,
    /// v1's user (with --password).
    #[arg(long, env = "INFLUX_USERNAME", requires = "password")]
    pub user: Option<String>,
    /// v1's password. Prefer the variable: a flag is seen in the process list.
    #[arg(
        long,
        env = "INFLUX_PASSWORD",
        hide_env_values = true,
        requires = "user"
    )]
    pub password: Option<String>,
    /// Create the database or bucket if it is missing (without it, a missing one is a
    /// failure the probe reports like any other).
    #[arg(long)]
    pub create: bool,
    /// Trust the CA certificates in this PEM file (https), instead of the built-in roots.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the store's certificate (https). Anyone on the path could then read
    /// and change what the probe sends, its token too: a warning says so.
    #[arg(long, conflicts_with = "ca_cert")]
    pub insecure: bool,
}

impl StoreArgs {
    /// The store and the TLS settings; a CA file that cannot be read is bad input, and
    /// `--insecure` is warned about: what it risks when a store is `probed`, that it does
    /// nothing when none is.
    pub fn resolve(&self, probed: bool) -> Result<(Store, Tls), CliError> {
        let auth = match (&self.token, &self.user, &self.password) {
            (Some(t), _, _) => Auth::Token(t.clone()),
            (None, Some(user), Some(password)) => Auth::Basic {
                user: user.clone(),
                password: password.clone(),
            },
            _ => Auth::None,
        };
        let store = Store {
            api: match self.api {
                ApiArg::Auto => None,
                ApiArg::V1 => Some(Api::V1),
                ApiArg::V2 => Some(Api::V2),
                ApiArg::V3 => Some(Api::V3),
            },
            db: self.db.clone(),
            org: self.org.clone(),
            auth,
            create: self.create,
        };
        store.check().map_err(CliError::BadInput)?;
        let ca_pem = match &self.ca_cert {
            Some(p) => Some(
                std::fs::read(p)
                    .map_err(|e| CliError::BadInput(format!("--ca-cert {}: {e}", p.display())))?,
            ),
            None => None,
        };
        if self.insecure {
            if probed {
                eprintln!(
                    "warning: --insecure: the store's certificate is not verified; anyone on the path can read and change what the probe sends"
                );
            } else {
                eprintln!("warning: --insecure does nothing here: no store is probed");
            }
        }
        Ok((
            store,
            Tls {
                ca_pem,
                insecure: self.insecure,
            },
        ))
    }
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The store's base URL, e.g. http://127.0.0.1:8086 or https://influx.example:8181
    /// (a NodePort, or the API server's service proxy, survives Pod restarts; a
    /// port-forward does not).
    #[arg(long)]
    pub url: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Time between one write-and-read and the next.
    #[arg(long, default_value = "100ms")]
    pub interval: String,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long)]
    pub duration: Option<String>,
    /// Per-request timeout.
    #[arg(long, default_value = "1s")]
    pub timeout: String,
    /// Log every operation as CSV (sent_seconds,time_seconds,kind,ok,latency_seconds,error,
    /// sent_at; kind is create, write or read; sent_at the wall-clock send in RFC 3339),
    /// written as it happens so an interruption keeps it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Serve the probe's metrics at http://ADDR/metrics (OpenMetrics) while it runs, for
    /// Prometheus to scrape, e.g. 127.0.0.1:9464 (0.0.0.0:9464 in a Pod).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

pub fn probe_cmd(args: &ProbeArgs) -> Result<(), CliError> {
    super::url_flag("--url", &args.url)?;
    let (store, tls) = args.store.resolve(true)?;
    let listener = match &args.listen {
        Some(addr) => {
            let parsed: std::net::SocketAddr = addr.parse().map_err(|_| {
                CliError::BadInput(format!(
                    "--listen \"{addr}\": expected IP:PORT, e.g. 127.0.0.1:9464"
                ))
            })?;
            Some(
                std::net::TcpListener::bind(parsed)
                    .map_err(|e| CliError::Failed(format!("cannot listen on {addr}: {e}")))?,
            )
        }
        None => None,
    };
    let monitor = listener.map(|l| {
        let m = Monitor::new();
        serve(l, Arc::clone(&m));
        m
    });
    let cfg = ProbeConfig {
        url: args.url.clone(),
        tls,
        store,
        interval: duration_flag("interval", &args.interval, false)?,
        duration: args
            .duration
            .as_deref()
            .map(|d| duration_flag("duration", d, false))
            .transpose()?,
        timeout: duration_flag("timeout", &args.timeout, false)?,
        monitor,
        keep_ops: false,
    };
    // The log is written as it happens (an interruption keeps it), so it is the one
    // output not replaced atomically; one that cannot be written fails now.
    let mut log: Option<(std::fs::File, String)> = match &args.out {
        Some(p) => {
            let shown = p.display().to_string();
            let mut f = std::fs::File::create(p)
                .map_err(|e| CliError::Failed(format!("cannot create {shown}: {e}")))?;
            writeln!(
                f,
                "sent_seconds,time_seconds,kind,ok,latency_seconds,error,sent_at"
            )
            .and_then(|()| f.flush())
            .map_err(|e| CliError::Failed(format!("cannot write {shown}: {e}")))?;
            Some((f, shown))
        }
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // Ctrl-C ends the probe cleanly within one interval: the log so far and the
        // summary are kept, an outage still open is closed at the stop.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed));
    }
    let mut write_error = None;
    // The summary is kept as the operations end, not from a log of them all: a probe
    // may run for a year.
    let interval = cfg.interval.as_secs_f64();
    let mut writes = Tracker::new(OpKind::Write, interval);
    let mut reads = Tracker::new(OpKind::Read, interval);
    let (mut operations, mut failed, mut answered) = (0u64, 0u64, false);
    let mut first_error: Option<String> = None;
    let probed = probe::run(&cfg, &stop, |op| {
        operations += 1;
        failed += u64::from(!op.ok);
        answered |= op.ok;
        if first_error.is_none() && !op.error.is_empty() {
            first_error = Some(op.error.clone());
        }
        match op.kind {
            OpKind::Write => writes.record(op),
            OpKind::Read => reads.record(op),
            OpKind::Create => {}
        }
        if let Some((f, shown)) = &mut log {
            let error = crate::report::sweep::csv_cell(&op.error);
            let written = writeln!(
                f,
                "{},{},{},{},{},{error},{}",
                op.sent,
                op.time,
                op.kind.name(),
                op.ok,
                op.latency_seconds,
                op.sent_at
                    .round(jiff::Unit::Millisecond)
                    .unwrap_or(op.sent_at)
            )
            .and_then(|()| f.flush());
            if let Err(e) = written
                && write_error.is_none()
            {
                write_error = Some(format!("cannot write {shown}: {e}; the probe stopped"));
                stop.store(true, Ordering::Relaxed);
            }
        }
    })
    .map_err(|e| CliError::Failed(format!("{}: {e}", probe::redact(&cfg.url))))?;
    let (ended, started) = (probed.end, probed.started);
    let writes = writes.finish(ended);
    let reads = reads.finish(ended);
    let total = |o: &[probe::Outage]| o.iter().map(|x| x.length_seconds).sum::<f64>();
    let at = |t: f64| crate::units::rfc3339_after(started, t);
    // Each outage also by the wall clock, to set beside the cluster's events.
    let dated = |o: &[probe::Outage]| {
        o.iter()
            .map(|x| {
                serde_json::json!({
                    "kind": x.kind,
                    "start": x.start,
                    "end": x.end,
                    "length_seconds": x.length_seconds,
                    "start_time": at(x.start),
                    "end_time": at(x.end),
                })
            })
            .collect::<Vec<_>>()
    };
    let summary = serde_json::json!({
        "url": probe::redact(&cfg.url),
        "started": at(0.0),
        "ended": at(ended),
        "operations": operations,
        "failed": failed,
        "duration_seconds": ended,
        "write_outages": dated(&writes),
        "read_outages": dated(&reads),
        "write_outage_seconds": total(&writes),
        "read_outage_seconds": total(&reads),
    });
    print!("{}", crate::schema::pretty(summary));
    if let Some(e) = write_error {
        return Err(CliError::Failed(e));
    }
    if !answered {
        return Err(CliError::Failed(format!(
            "never reached {}: no request was answered ({})",
            probe::redact(&cfg.url),
            first_error.unwrap_or_else(|| "no request was sent".into())
        )));
    }
    Ok(())
}
