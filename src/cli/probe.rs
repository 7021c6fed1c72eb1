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
    /// Log every operation as CSV (time_seconds,kind,ok,latency_seconds,error), written
    /// as it happens so an interruption keeps it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn probe_cmd(args: &ProbeArgs) -> Result<(), CliError> {
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
    let mut log: Option<std::fs::File> = match &args.out {
        Some(p) => {
            let mut f = std::fs::File::create(p)
                .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", p.display())))?;
            let _ = writeln!(f, "time_seconds,kind,ok,latency_seconds,error");
            Some(f)
        }
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // Ctrl-C ends the probe cleanly: the log so far and the summary are kept.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed));
    }
    let ops = probe::run(&cfg, &stop, |op| {
        if let Some(f) = &mut log {
            let kind = if op.kind == OpKind::Write {
                "write"
            } else {
                "read"
            };
            let error = crate::report::sweep::csv_cell(&op.error);
            let _ = writeln!(
                f,
                "{},{kind},{},{},{error}",
                op.time, op.ok, op.latency_seconds
            );
            let _ = f.flush();
        }
    });
    let writes = probe::outages(&ops, OpKind::Write);
    let reads = probe::outages(&ops, OpKind::Read);
    let total = |o: &[probe::Outage]| o.iter().map(|x| x.length_seconds).sum::<f64>();
    let summary = serde_json::json!({
        "url": cfg.url,
        "operations": ops.len(),
        "failed": ops.iter().filter(|o| !o.ok).count(),
        "duration_seconds": ops.last().map_or(0.0, |o| o.time),
        "write_outages": writes,
        "read_outages": reads,
        "write_outage_seconds": total(&writes),
        "read_outage_seconds": total(&reads),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).expect("serialises")
    );
    Ok(())
}
