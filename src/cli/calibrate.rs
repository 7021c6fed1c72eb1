use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, Subcommand, ValueEnum};

use super::fit::model_entry;
use super::{CliError, duration_flag, trials_flag, url_flag};
use crate::calibrate::file::write_entry;
use crate::calibrate::fit::{Fit, Sample, fit_all};
use crate::calibrate::local::{self, Fault, LocalConfig};

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    #[command(subcommand)]
    pub target: Target,
}

#[derive(Debug, Subcommand)]
pub enum Target {
    /// A local process: start it, kill it, start it again, time fault → ready (a lower
    /// bound for a Pod restart: no scheduling, image, volume or readiness period).
    Local(LocalArgs),
    /// A workload on a Kubernetes cluster: delete a Pod, restart the rollout, or make the
    /// main process exit; watch until Ready; fit (needs a cluster; see calibration/README.md).
    #[cfg(feature = "k8s")]
    K8s(super::calibrate_k8s::K8sArgs),
    /// (Not in this build: it was built without the `k8s` feature.)
    #[cfg(not(feature = "k8s"))]
    K8s(super::NotBuilt),
    /// Failure rates and outage durations from what was recorded (an incident log over a
    /// window, `kubectl get pods -o json` snapshots), with maximum likelihood, Bayesian
    /// (Jeffreys or a gamma prior) and chi-square estimates; written as calibration
    /// entries models can use.
    History(super::history::HistoryArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FaultArg {
    Sigterm,
    Sigkill,
}

#[derive(Debug, Args)]
pub struct LocalArgs {
    /// The command that starts the process, e.g. "influxd run -config influxdb.conf".
    #[arg(long)]
    pub start: String,
    /// Ready when a GET of this URL answers 2xx, e.g. http://127.0.0.1:8086/ping.
    #[arg(long)]
    pub ready_url: String,
    /// The fault: a graceful stop or a crash.
    #[arg(long, value_enum, default_value_t = FaultArg::Sigkill)]
    pub fault: FaultArg,
    #[arg(long, default_value_t = 10)]
    pub trials: u32,
    /// Probe the store at this URL during each trial (writes and reads).
    #[arg(long)]
    pub probe_url: Option<String>,
    #[command(flatten)]
    pub store: super::probe::StoreArgs,
    /// Pause between trials.
    #[arg(long, default_value = "1s")]
    pub settle: String,
    /// A trial not ready after this long is recorded as censored.
    #[arg(long, default_value = "60s")]
    pub timeout: String,
    /// The calibration file to write (the entry is replaced, others kept).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The entry's name.
    #[arg(long, default_value = "local-restart")]
    pub name: String,
    /// More about how and where it was measured (kept with the samples).
    #[arg(long, default_value = "")]
    pub note: String,
}

pub fn calibrate(args: &CalibrateArgs) -> Result<(), CliError> {
    match &args.target {
        Target::Local(a) => local_cmd(a),
        #[cfg(feature = "k8s")]
        Target::K8s(a) => super::calibrate_k8s::k8s_cmd(a),
        #[cfg(not(feature = "k8s"))]
        Target::K8s(_) => Err(super::not_built("hasim calibrate k8s")),
        Target::History(a) => super::history::history_cmd(a),
    }
}

fn local_cmd(a: &LocalArgs) -> Result<(), CliError> {
    trials_flag(a.trials)?;
    url_flag("--ready-url", &a.ready_url)?;
    if let Some(u) = &a.probe_url {
        url_flag("--probe-url", u)?;
    }
    if a.start.trim().is_empty() {
        return Err(CliError::BadInput("--start: an empty command".into()));
    }
    let (probe_store, probe_tls) = a.store.resolve(a.probe_url.is_some())?;
    let cfg = LocalConfig {
        start: a.start.clone(),
        ready_url: a.ready_url.clone(),
        fault: match a.fault {
            FaultArg::Sigterm => Fault::Sigterm,
            FaultArg::Sigkill => Fault::Sigkill,
        },
        trials: a.trials,
        probe_url: a.probe_url.clone(),
        probe_tls,
        probe_store,
        settle: duration_flag("settle", &a.settle, true)?,
        ready_timeout: duration_flag("timeout", &a.timeout, false)?,
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        let _ = ctrlc::set_handler(move || {
            if !stop.swap(true, Ordering::Relaxed) {
                eprintln!("stopping: no more faults; the trials so far are kept");
            }
        });
    }
    let source = format!(
        "hasim calibrate local: `{}`, fault {:?}, ready at {}; a local process restart, a LOWER BOUND for a Pod \
         restart (no scheduling, image pull, volume attach or readiness period)",
        a.start,
        a.fault,
        a.ready_url
    )
    .to_lowercase()
        + if a.note.is_empty() { "" } else { "; " }
        + &a.note;
    let mut entry = EntryWriter::new(&a.out, &a.name, source)?;
    let trials = local::run(&cfg, &stop, |t| {
        super::progress::note(format_args!(
            "trial {}: ready {:.3} s after the fault{}{}",
            t.index + 1,
            t.restart_seconds,
            if t.censored {
                " (timed out: censored)"
            } else {
                ""
            },
            t.probe_read_outage_seconds
                .map_or(String::new(), |o| format!("; reads failed for {o:.3} s"))
        ));
        entry.push(&[t.sample()]);
    })
    .map_err(|e| CliError::Failed(e.to_string()))?;
    let fits = entry.finish()?;
    let summary = serde_json::json!({
        "trials": trials,
        "chosen": model_entry(&fits[0]),
        "calibration_file": a.out.display().to_string(),
        "name": a.name,
        "lower_bound": true,
    });
    print!("{}", crate::schema::pretty(summary));
    Ok(())
}

/// Keeps one calibration entry on disk in step with the samples measured so far, so an
/// interruption loses nothing (the entry appears once there are two samples to fit).
pub(super) struct EntryWriter<'a> {
    out: &'a Path,
    name: String,
    source: String,
    samples: Vec<Sample>,
    failure: Option<CliError>,
}

impl<'a> EntryWriter<'a> {
    /// Refuses, before the first trial, an `out` that cannot take the entry.
    pub(super) fn new(out: &'a Path, name: &str, source: String) -> Result<Self, CliError> {
        crate::calibrate::file::check_target(out)?;
        Ok(EntryWriter {
            out,
            name: name.to_string(),
            source,
            samples: vec![],
            failure: None,
        })
    }

    fn write(&self) -> Result<Vec<Fit>, CliError> {
        let fits = fit_all(&self.samples)
            .map_err(|e| CliError::Failed(format!("{}: cannot fit the samples: {e}", self.name)))?;
        write_entry(self.out, &self.name, &self.source, &self.samples, &fits)?;
        Ok(fits)
    }

    /// Adds samples and rewrites the entry (the first failure is kept for `finish`).
    pub(super) fn push(&mut self, samples: &[Sample]) {
        self.samples.extend_from_slice(samples);
        let exact = self.samples.iter().filter(|s| !s.censored).count();
        if self.failure.is_none()
            && self.samples.len() >= 2
            && exact >= 1
            && let Err(e) = self.write()
        {
            self.failure = Some(e);
        }
    }

    /// Writes the entry a last time; its fits, best first.
    pub(super) fn finish(self) -> Result<Vec<Fit>, CliError> {
        if let Some(e) = self.failure {
            return Err(e);
        }
        if self.samples.len() < 2 {
            return Err(CliError::Failed(format!(
                "{}: {} sample(s): at least two are needed to fit; nothing written",
                self.name,
                self.samples.len()
            )));
        }
        self.write()
    }
}
