use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;

use super::{CliError, duration_flag};
use crate::calibrate::probe::{self, OpKind, ProbeConfig};

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// InfluxDB 1.x base URL, e.g. http://127.0.0.1:8086 (a NodePort, or the API server's
    /// service proxy, survives Pod restarts; a port-forward does not).
    #[arg(long)]
    pub url: String,
    /// Database to write the probe's points into (created if missing).
    #[arg(long, default_value = "hasim_probe")]
    pub db: String,
    /// Time between one write-and-read and the next.
    #[arg(long, default_value = "100ms")]
    pub interval: String,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long)]
    pub duration: Option<String>,
    /// Per-request timeout.
    #[arg(long, default_value = "1s")]
    pub timeout: String,
    /// Log every operation as CSV (sent_seconds,time_seconds,kind,ok,latency_seconds,error;
    /// kind is create, write or read), written as it happens so an interruption keeps it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn probe_cmd(args: &ProbeArgs) -> Result<(), CliError> {
    super::url_flag("--url", &args.url)?;
    let cfg = ProbeConfig {
        url: args.url.clone(),
        db: args.db.clone(),
        interval: duration_flag("interval", &args.interval, false)?,
        duration: args
            .duration
            .as_deref()
            .map(|d| duration_flag("duration", d, false))
            .transpose()?,
        timeout: duration_flag("timeout", &args.timeout, false)?,
    };
    // The log is written as it happens (an interruption keeps it), so it is the one
    // output not replaced atomically; one that cannot be written fails now.
    let mut log: Option<(std::fs::File, String)> = match &args.out {
        Some(p) => {
            let shown = p.display().to_string();
            let mut f = std::fs::File::create(p)
                .map_err(|e| CliError::Failed(format!("cannot create {shown}: {e}")))?;
            writeln!(f, "sent_seconds,time_seconds,kind,ok,latency_seconds,error")
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
    let ops = probe::run(&cfg, &stop, |op| {
        if let Some((f, shown)) = &mut log {
            let error = crate::report::sweep::csv_cell(&op.error);
            let written = writeln!(
                f,
                "{},{},{},{},{},{error}",
                op.sent,
                op.time,
                op.kind.name(),
                op.ok,
                op.latency_seconds
            )
            .and_then(|()| f.flush());
            if let Err(e) = written
                && write_error.is_none()
            {
                write_error = Some(format!("cannot write {shown}: {e}; the probe stopped"));
                stop.store(true, Ordering::Relaxed);
            }
        }
    });
    let writes = ops.outages(OpKind::Write);
    let reads = ops.outages(OpKind::Read);
    let total = |o: &[probe::Outage]| o.iter().map(|x| x.length_seconds).sum::<f64>();
    let summary = serde_json::json!({
        "url": probe::redact(&cfg.url),
        "operations": ops.ops.len(),
        "failed": ops.ops.iter().filter(|o| !o.ok).count(),
        "duration_seconds": ops.end,
        "write_outages": writes,
        "read_outages": reads,
        "write_outage_seconds": total(&writes),
        "read_outage_seconds": total(&reads),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).expect("serialises")
    );
    if let Some(e) = write_error {
        return Err(CliError::Failed(e));
    }
    if !ops.reached() {
        let first = ops
            .ops
            .iter()
            .find(|o| !o.error.is_empty())
            .map_or("no request was sent".to_string(), |o| o.error.clone());
        return Err(CliError::Failed(format!(
            "never reached {}: no request was answered ({first})",
            probe::redact(&cfg.url)
        )));
    }
    Ok(())
}
