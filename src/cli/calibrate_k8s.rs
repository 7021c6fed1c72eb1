//! `hasim calibrate k8s`: fault injection on a cluster through the Kubernetes API.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use clap::{Args, ValueEnum};

use super::calibrate::EntryWriter;
use super::fit::model_entry;
use super::{CliError, duration_flag};
use crate::calibrate::k8s::{self, Calibrator, Fault, K8sConfig, ProbeTarget, Target};
use crate::calibrate::store::Auth;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FaultArg {
    /// Delete one Pod (in turn): its controller makes a new one → `recreate` samples.
    DeletePod,
    /// `kubectl rollout restart`: every Pod is replaced → `recreate` samples.
    RolloutRestart,
    /// Make the main process exit (exec): in-place restart → `restart` samples.
    ContainerExit,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Safe by construction: --namespace and --target are required and kube-* namespaces are
refused; a fault is only injected into a settled workload (every replica updated and
Ready); nothing is scaled or edited but the fault itself. --dry-run only reads (GET) and
prints what each trial would do. Ctrl-C stops injecting: the running trial is watched until
the workload has recovered, then hasim exits (a second Ctrl-C leaves at once). The
calibration file (and --log) are rewritten after every trial.

container-exit runs --exit-command in the container. PID 1 in a container only receives
the signals it handles, so `kill 1` is a graceful exit of a main process that handles
SIGTERM (InfluxDB does); the kubelet then restarts the container in place. Keep --settle
at 10 min or more (the default) so the kubelet's crash back-off has reset; trials after a
recent restart are flagged.")]
pub struct K8sArgs {
    /// The kubeconfig context (default: the current one; in a Pod, its service account).
    #[arg(long)]
    pub context: Option<String>,
    /// The namespace of the target (required; kube-* namespaces are refused).
    #[arg(long)]
    pub namespace: String,
    /// The workload: statefulset/NAME, deployment/NAME or daemonset/NAME.
    #[arg(long, value_parser = |s: &str| s.parse::<Target>())]
    pub target: Target,
    #[arg(long, value_enum)]
    pub fault: FaultArg,
    #[arg(long, default_value_t = 10)]
    pub trials: u32,
    /// Pause between trials (default: 10m for container-exit, so CrashLoopBackOff does
    /// not leak into the samples; 30s otherwise).
    #[arg(long)]
    pub settle: Option<String>,
    /// A trial still running after this long is cut (what had not happened is censored).
    #[arg(long, default_value = "10m")]
    pub timeout: String,
    /// Probe InfluxDB at this URL during each trial (e.g. a NodePort).
    #[arg(long, conflicts_with = "probe_service")]
    pub probe_url: Option<String>,
    /// Probe InfluxDB through the API server's service proxy: NAME:PORT of a Service in
    /// the namespace (survives Pod restarts, unlike a port-forward).
    #[arg(long, value_name = "NAME:PORT")]
    pub probe_service: Option<String>,
    #[command(flatten)]
    pub store: super::probe::StoreArgs,
    /// container-exit: the command run in the container with `sh -c`.
    #[arg(long, default_value = "kill 1")]
    pub exit_command: String,
    /// container-exit: the container to exec into (default: the Pod's first).
    #[arg(long)]
    pub container: Option<String>,
    /// The calibration file to write (the entry is replaced, others kept).
    #[arg(long, value_name = "FILE", required_unless_present = "dry_run")]
    pub out: Option<PathBuf>,
    /// The entry's name (default: k8s-recreate or k8s-restart by fault). Shutdown times
    /// of deleted Pods go to NAME-shutdown.
    #[arg(long)]
    pub name: Option<String>,
    /// Append every trial's full timeline to this file as a JSON line.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// More about how and where it was measured (kept with the samples).
    #[arg(long, default_value = "")]
    pub note: String,
    /// Only read the workload and its Pods and print what each trial would do.
    #[arg(long)]
    pub dry_run: bool,
}

fn config(a: &K8sArgs) -> Result<K8sConfig, CliError> {
    super::trials_flag(a.trials)?;
    // Every name that goes into a request's path is checked before the first request.
    k8s::check_namespace(&a.namespace).map_err(|e| CliError::BadInput(e.to_string()))?;
    if let Some(c) = &a.container {
        k8s::check_label("--container", c).map_err(|e| CliError::BadInput(e.to_string()))?;
    }
    if let Some(u) = &a.probe_url {
        super::url_flag("--probe-url", u)?;
    }
    let fault = match a.fault {
        FaultArg::DeletePod => Fault::DeletePod,
        FaultArg::RolloutRestart => Fault::RolloutRestart,
        FaultArg::ContainerExit => Fault::ContainerExit,
    };
    let settle = match &a.settle {
        Some(s) => duration_flag("settle", s, true)?,
        None if fault == Fault::ContainerExit => k8s::BACKOFF_RESET,
        None => std::time::Duration::from_secs(30),
    };
    let probe = match (&a.probe_url, &a.probe_service) {
        (Some(u), _) => Some(ProbeTarget::Url(u.clone())),
        (None, Some(s)) => {
            let (name, port) = s.split_once(':').unwrap_or((s, ""));
            if name.is_empty() || port.is_empty() {
                return Err(CliError::BadInput(format!(
                    "--probe-service `{s}`: expected NAME:PORT, e.g. influxdb:8086"
                )));
            }
            let label =
                |what, v| k8s::check_label(what, v).map_err(|e| CliError::BadInput(e.to_string()));
            label("--probe-service's name", name)?;
            // A port is a number or a port's name (itself a label).
            if !port.parse::<u16>().is_ok_and(|p| p > 0) {
                label("--probe-service's port", port)?;
            }
            Some(ProbeTarget::Service(s.clone()))
        }
        (None, None) => None,
    };
    if a.exit_command.trim().is_empty() {
        return Err(CliError::BadInput("--exit-command is empty".into()));
    }
    let (probe_store, probe_tls) = a.store.resolve(probe.is_some())?;
    if matches!(probe, Some(ProbeTarget::Service(_))) && probe_store.auth != Auth::None {
        return Err(CliError::BadInput(
            "--probe-service cannot carry the store's credentials: the API server takes the \
             Authorization header as its own. Probe with --probe-url (a NodePort, or a Service \
             reachable from here) instead"
                .into(),
        ));
    }
    Ok(K8sConfig {
        namespace: a.namespace.clone(),
        target: a.target.clone(),
        fault,
        trials: a.trials,
        settle,
        timeout: duration_flag("timeout", &a.timeout, false)?,
        effect_timeout: std::time::Duration::from_secs(60),
        poll: std::time::Duration::from_secs(2),
        probe,
        probe_tls,
        probe_store,
        exit_command: vec!["sh".into(), "-c".into(), a.exit_command.clone()],
        container: a.container.clone(),
    })
}

async fn client(context: Option<&str>) -> Result<kube::Client, CliError> {
    let config = match context {
        Some(c) => {
            let options = kube::config::KubeConfigOptions {
                context: Some(c.to_string()),
                ..Default::default()
            };
            kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|e| CliError::Failed(format!("kubeconfig context `{c}`: {e}")))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| CliError::Failed(format!("no Kubernetes configuration found: {e}")))?,
    };
    // Every request has a timeout: kube sets connect and write timeouts but none on
    // answers; 295 s is past the 290 s the server keeps a watch open, so only an API
    // server that stopped answering trips it.
    let mut config = config;
    config.read_timeout = Some(std::time::Duration::from_secs(295));
    config.reset_reader_on_write = true;
    kube::Client::try_from(config)
        .map_err(|e| CliError::Failed(format!("cannot make a Kubernetes client: {e}")))
}

pub fn k8s_cmd(a: &K8sArgs) -> Result<(), CliError> {
    let cfg = config(a)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(run(a, cfg))
}

async fn run(a: &K8sArgs, cfg: K8sConfig) -> Result<(), CliError> {
    let fault = cfg.fault;
    let calibrator = Calibrator::new(client(a.context.as_deref()).await?, cfg.clone())
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    let failed = |e: k8s::K8sError| CliError::Failed(e.to_string());
    if a.dry_run {
        let plan = calibrator.plan().await.map_err(failed)?;
        let summary = serde_json::json!({
            "dry_run": true,
            "plan": plan,
            "trials": cfg.trials,
            "settle_seconds": cfg.settle.as_secs_f64(),
            "timeout_seconds": cfg.timeout.as_secs_f64(),
            "measures": fault.measures(),
        });
        print!("{}", crate::schema::pretty(summary));
        return Ok(());
    }
    let out = a
        .out
        .as_deref()
        .expect("clap requires --out without --dry-run");
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| format!("k8s-{}", fault.measures()));
    let source = |measured: &str| {
        format!(
            "hasim calibrate k8s: fault {} on {} in namespace {}{}; {measured}, from watch receipt times",
            fault.name(),
            cfg.target,
            cfg.namespace,
            a.context
                .as_ref()
                .map_or(String::new(), |c| format!(" (context {c})")),
        ) + if a.note.is_empty() { "" } else { "; " }
            + &a.note
    };
    let measured = match fault {
        Fault::ContainerExit => {
            "`restart` = exec sent → Pod Ready again (the graceful stop included)"
        }
        _ => "`recreate` = new Pod first seen → Ready",
    };
    let mut entry = EntryWriter::new(out, &name, source(measured))?;
    let mut shutdown = EntryWriter::new(
        out,
        &format!("{name}-shutdown"),
        source("`shutdown` = deletion seen → Pod gone"),
    )?;
    let mut log = match &a.log {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| CliError::Failed(format!("cannot open {}: {e}", p.display())))?,
        ),
        None => None,
    };

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        let presses = AtomicU32::new(0);
        let _ = ctrlc::set_handler(move || {
            if presses.fetch_add(1, Ordering::Relaxed) == 0 {
                stop.store(true, Ordering::Relaxed);
                eprintln!(
                    "stopping: no more faults; waiting for the workload to recover (Ctrl-C again to leave now)"
                );
            } else {
                std::process::exit(130);
            }
        });
    }
    let mut log_failure = None;
    let trials = calibrator
        .run(&stop, |t| {
            let ready = t
                .samples
                .iter()
                .map(|s| {
                    format!(
                        "{:.3} s{}",
                        s.value,
                        if s.censored { " (censored)" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            super::progress::note(format_args!(
                "trial {}: {} {ready}{}{}",
                t.index + 1,
                fault.measures(),
                t.probe_read_outage_seconds
                    .map_or(String::new(), |o| format!("; reads failed for {o:.3} s")),
                if t.flags.is_empty() {
                    String::new()
                } else {
                    format!("; flagged: {}", t.flags.join("; "))
                }
            ));
            entry.push(&t.samples);
            shutdown.push(&t.shutdown);
            if let Some(f) = &mut log {
                let line = crate::schema::line(t);
                if let Err(e) = writeln!(f, "{line}").and_then(|()| f.flush()) {
                    log_failure.get_or_insert(e);
                }
            }
        })
        .await
        .map_err(failed)?;
    if let Some(e) = log_failure {
        return Err(CliError::Failed(format!("cannot write the log: {e}")));
    }
    let fits = entry.finish()?;
    let shutdown_fit = shutdown.finish().ok().map(|f| model_entry(&f[0]));
    let summary = serde_json::json!({
        "trials": trials,
        "measures": fault.measures(),
        "chosen": model_entry(&fits[0]),
        "shutdown": shutdown_fit,
        "calibration_file": out.display().to_string(),
        "name": name,
        "flagged_trials": trials.iter().filter(|t| !t.flags.is_empty()).count(),
    });
    print!("{}", crate::schema::pretty(summary));
    Ok(())
}
