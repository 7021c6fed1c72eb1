//! Restart times of a local process: start it, inject a fault, start it again (as a
//! kubelet would), and time fault → ready, while the probe measures what a user sees.
//!
//! A local restart is a **lower bound** for a Pod restart: no scheduling, no image, no
//! volume attach and no readiness period. The command is run as `sh -c "exec CMD"`, so
//! the process signalled is the command itself, not a shell.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::fit::Sample;
use super::probe::{self, OpKind, ProbeConfig, Store, Tls};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A graceful stop request (the process may flush and exit).
    Sigterm,
    /// A crash: no chance to clean up.
    Sigkill,
}

#[derive(Clone, Debug)]
pub struct LocalConfig {
    /// The command that starts the process (run with `sh -c "exec …"`).
    pub start: String,
    /// Ready when a GET answers with a 2xx status.
    pub ready_url: String,
    pub fault: Fault,
    pub trials: u32,
    /// Probe this InfluxDB URL during each trial.
    pub probe_url: Option<String>,
    /// How the probe verifies https.
    pub probe_tls: Tls,
    /// What the probe says to the store.
    pub probe_store: Store,
    /// Pause between trials, with the process ready.
    pub settle: Duration,
    /// A trial not ready after this long is a censored sample.
    pub ready_timeout: Duration,
}

/// One trial.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Trial {
    pub index: u32,
    /// Fault → ready, seconds; the timeout when `censored`.
    pub restart_seconds: f64,
    pub censored: bool,
    /// Longest read outage the probe saw, seconds.
    pub probe_read_outage_seconds: Option<f64>,
    /// Longest write outage the probe saw, seconds.
    pub probe_write_outage_seconds: Option<f64>,
}

impl Trial {
    pub fn sample(&self) -> Sample {
        Sample {
            value: self.restart_seconds,
            censored: self.censored,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot start `{cmd}`: {source}")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("`{0}` was not ready within the timeout before the first trial")]
    NeverReady(String),
    #[error("cannot send the fault: {0}")]
    Signal(String),
    /// The process ended on its own before it was ready (a command that is missing or
    /// not executable, a bad configuration).
    #[error("`{cmd}` exited with {status} before it was ready{hint}")]
    Exited {
        cmd: String,
        status: std::process::ExitStatus,
        hint: &'static str,
    },
    /// The fault changed nothing hasim can see: measuring on would record the time of a
    /// poll, not of a restart.
    #[error("the fault had no effect: {0}")]
    NoEffect(String),
    #[error("the probe cannot start: {0}")]
    Probe(String),
}

/// What a shell's exit status says about the command it could not run.
fn exit_hint(status: std::process::ExitStatus) -> &'static str {
    match status.code() {
        Some(127) => " (command not found)",
        Some(126) => " (not executable)",
        Some(0) => " (did it daemonise? run it in the foreground)",
        _ => "",
    }
}

struct Supervised<'a> {
    cfg: &'a LocalConfig,
    child: Option<Child>,
}

impl Supervised<'_> {
    fn spawn(&mut self) -> Result<(), LocalError> {
        use std::os::unix::process::CommandExt;
        // A process group of its own: a Ctrl-C at the terminal (sent to hasim's group)
        // stops the trials, it does not crash the process being measured.
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("exec {}", self.cfg.start))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| LocalError::Spawn {
                cmd: self.cfg.start.clone(),
                source,
            })?;
        self.child = Some(child);
        Ok(())
    }

    /// Whether the ready URL answers 2xx now.
    fn ready_now(&self) -> bool {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(500)))
            .max_redirects(0)
            .build();
        ureq::Agent::new_with_config(config)
            .get(&self.cfg.ready_url)
            .call()
            .is_ok_and(|r| r.status().is_success())
    }

    /// Polls the ready URL every 10 ms; the time it took, or `None` at the timeout. A
    /// process that ends before it is ready is an error at once (with its status).
    fn wait_ready(&mut self, since: Instant) -> Result<Option<f64>, LocalError> {
        while since.elapsed() < self.cfg.ready_timeout {
            if self.ready_now() {
                return Ok(Some(since.elapsed().as_secs_f64()));
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(LocalError::Exited {
                    cmd: self.cfg.start.clone(),
                    status,
                    hint: exit_hint(status),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(None)
    }

    /// Refuses a process that left its ready URL to another: one that exited while the
    /// URL answers (it daemonised, or something else serves the URL).
    fn check_foreground(&mut self) -> Result<(), LocalError> {
        if let Some(child) = &mut self.child
            && let Ok(Some(status)) = child.try_wait()
        {
            self.child = None;
            return Err(LocalError::NoEffect(format!(
                "`{}` exited ({status}) while {} answers: it daemonised or something else serves the URL; run it in the foreground",
                self.cfg.start, self.cfg.ready_url
            )));
        }
        Ok(())
    }

    fn fault(&mut self) -> Result<(), LocalError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        match self.cfg.fault {
            Fault::Sigkill => child
                .kill()
                .map_err(|e| LocalError::Signal(e.to_string()))?,
            Fault::Sigterm => {
                let status = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status()
                    .map_err(|e| LocalError::Signal(e.to_string()))?;
                if !status.success() {
                    return Err(LocalError::Signal(format!(
                        "kill -TERM {} failed",
                        child.id()
                    )));
                }
            }
        }
        // Wait for it to be gone (a graceful stop may take a while; SIGKILL after 30 s,
        // Kubernetes' grace period).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if self.ready_now() {
            return Err(LocalError::NoEffect(format!(
                "the process is gone but {} still answers: something else serves it (a daemonised copy, another instance)",
                self.cfg.ready_url
            )));
        }
        Ok(())
    }
}

impl Drop for Supervised<'_> {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs the trials; `on_trial` sees each as it ends (so an interruption loses nothing).
/// Leaves the process stopped.
pub fn run(
    cfg: &LocalConfig,
    stop: &AtomicBool,
    mut on_trial: impl FnMut(&Trial),
) -> Result<Vec<Trial>, LocalError> {
    let mut p = Supervised { cfg, child: None };
    if p.ready_now() {
        return Err(LocalError::NoEffect(format!(
            "{} answers before `{}` was started: something else serves it",
            cfg.ready_url, cfg.start
        )));
    }
    p.spawn()?;
    if p.wait_ready(Instant::now())?.is_none() {
        return Err(LocalError::NeverReady(cfg.start.clone()));
    }
    p.check_foreground()?;
    let mut trials = vec![];
    for index in 0..cfg.trials {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // The pause, cut short by a stop: no fault is injected after one.
        let settled = Instant::now() + cfg.settle;
        while let Some(rest) = settled.checked_duration_since(Instant::now()) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(rest.min(Duration::from_millis(20)));
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        p.check_foreground()?;
        let probe_stop = AtomicBool::new(false);
        let (trial, ops) = std::thread::scope(|s| -> Result<_, LocalError> {
            let probe = cfg.probe_url.as_ref().map(|url| {
                let pc = ProbeConfig {
                    url: url.clone(),
                    tls: cfg.probe_tls.clone(),
                    store: cfg.probe_store.clone(),
                    interval: Duration::from_millis(20),
                    duration: None,
                    timeout: Duration::from_millis(500),
                    monitor: None,
                    keep_ops: true,
                };
                let ps = &probe_stop;
                s.spawn(move || probe::run(&pc, ps, |_| {}))
            });
            // Let the probe see the process up first.
            if probe.is_some() {
                std::thread::sleep(Duration::from_millis(200));
            }
            let t_fault = Instant::now();
            let ready = p
                .fault()
                .and_then(|()| p.spawn())
                .and_then(|()| p.wait_ready(t_fault));
            if probe.is_some() && ready.is_ok() {
                std::thread::sleep(Duration::from_millis(200));
            }
            // Stopped before any error is returned: the scope waits for the probe.
            probe_stop.store(true, Ordering::Relaxed);
            let ops = match probe.map(|h| h.join()) {
                Some(Ok(Err(e))) => return Err(LocalError::Probe(e)),
                Some(Ok(Ok(log))) => log,
                Some(Err(_)) | None => probe::ProbeLog::default(),
            };
            let ready = ready?;
            let trial = Trial {
                index,
                restart_seconds: ready.unwrap_or(cfg.ready_timeout.as_secs_f64()),
                censored: ready.is_none(),
                probe_read_outage_seconds: None,
                probe_write_outage_seconds: None,
            };
            Ok((trial, ops))
        })?;
        let probed = cfg.probe_url.is_some();
        let trial = Trial {
            probe_read_outage_seconds: probed.then(|| ops.longest_outage(OpKind::Read)),
            probe_write_outage_seconds: probed.then(|| ops.longest_outage(OpKind::Write)),
            ..trial
        };
        on_trial(&trial);
        let censored = trial.censored;
        trials.push(trial);
        if censored {
            // Not ready in time: start from scratch for the next trial.
            p.fault()?;
            p.spawn()?;
            if p.wait_ready(Instant::now())?.is_none() {
                break;
            }
        }
    }
    Ok(trials)
}
