//! Restart times measured on a real cluster, through the Kubernetes API.
//!
//! One trial: wait until the workload is settled (every replica updated and Ready), list
//! its Pods, start a watch on them, inject the fault, and follow the watch until the
//! fault has run its course, stamping every step with the time hasim *received* it
//! (condition timestamps only have a one-second resolution). The faults:
//!
//! - `delete-pod`: `DELETE` one Pod; its controller makes a new one → a `recreate` sample
//!   (new Pod first seen → Ready) and a `shutdown` sample (deletion → gone).
//! - `rollout-restart`: what `kubectl rollout restart` does — patch the Pod template's
//!   `kubectl.kubernetes.io/restartedAt` annotation; every Pod is replaced by the
//!   workload's rolling update → one `recreate` and one `shutdown` sample per Pod.
//! - `container-exit`: run a command in the Pod (exec) that makes the main process exit
//!   (by default `kill 1`); the kubelet restarts the container in place → a `restart`
//!   sample (fault → Ready again). PID 1 in a container only gets the signals it handles
//!   (the kernel drops the others), so this is a *graceful* exit: InfluxDB handles
//!   SIGTERM, flushes and exits.
//!
//! Safety: the namespace and the target are required, `kube-*` namespaces are refused,
//! nothing is ever scaled or edited other than the fault itself, a trial is only
//! injected into a settled workload, and a stop request (Ctrl-C) lets the running trial
//! recover before returning, so every replica is left as it was found.

mod proxy;
mod timeline;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::Client;
use kube::api::{
    Api, AttachParams, DeleteParams, ListParams, Patch, PatchParams, WatchEvent, WatchParams,
};
use serde::Serialize;

pub use proxy::ServiceProxy;
pub use timeline::{PodTimeline, Tracker, TrialTimeline, Victim};

use super::fit::Sample;
use super::probe::{self, OpKind, ProbeConfig, Store, Tls, Transport};

/// The fault injected in each trial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    DeletePod,
    RolloutRestart,
    ContainerExit,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::DeletePod => "delete-pod",
            Fault::RolloutRestart => "rollout-restart",
            Fault::ContainerExit => "container-exit",
        }
    }

    /// The model key its samples calibrate.
    pub fn measures(self) -> &'static str {
        match self {
            Fault::ContainerExit => "restart",
            Fault::DeletePod | Fault::RolloutRestart => "recreate",
        }
    }
}

/// The kinds of workload hasim can inject faults into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    StatefulSet,
    Deployment,
    DaemonSet,
}

impl Kind {
    fn resource(self) -> &'static str {
        match self {
            Kind::StatefulSet => "statefulsets",
            Kind::Deployment => "deployments",
            Kind::DaemonSet => "daemonsets",
        }
    }
}

/// `KIND/NAME`, as kubectl writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub kind: Kind,
    pub name: String,
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, name) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: expected KIND/NAME, e.g. statefulset/influxdb"))?;
        let kind = match kind.to_ascii_lowercase().as_str() {
            "statefulset" | "statefulsets" | "sts" => Kind::StatefulSet,
            "deployment" | "deployments" | "deploy" => Kind::Deployment,
            "daemonset" | "daemonsets" | "ds" => Kind::DaemonSet,
            other => {
                return Err(format!(
                    "`{other}`: the target must be a statefulset, deployment or daemonset"
                ));
            }
        };
        if name.is_empty() || name.contains('/') {
            return Err(format!(
                "`{s}`: expected KIND/NAME, e.g. statefulset/influxdb"
            ));
        }
        check_subdomain("the target's name", name).map_err(|e| e.to_string())?;
        Ok(Target {
            kind,
            name: name.to_string(),
        })
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::StatefulSet => "statefulset",
            Kind::Deployment => "deployment",
            Kind::DaemonSet => "daemonset",
        };
        write!(f, "{kind}/{}", self.name)
    }
}

/// Where the probe reaches the store during each trial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeTarget {
    /// InfluxDB's base URL, e.g. a NodePort: `http://192.168.49.2:30086`.
    Url(String),
    /// `NAME:PORT` of a Service, through the API server's service proxy.
    Service(String),
}

#[derive(Clone, Debug)]
pub struct K8sConfig {
    pub namespace: String,
    pub target: Target,
    pub fault: Fault,
    pub trials: u32,
    /// Pause between one trial's end and the next fault.
    pub settle: Duration,
    /// A trial still unfinished after this long is cut: what had not happened is censored.
    pub timeout: Duration,
    /// A fault that shows no effect at all within this long is an error, not a sample.
    pub effect_timeout: Duration,
    /// How often to look at the workload while waiting for it to settle.
    pub poll: Duration,
    pub probe: Option<ProbeTarget>,
    /// How the probe verifies https (a URL target only).
    pub probe_tls: Tls,
    /// What the probe says to the store.
    pub probe_store: Store,
    /// The command run in the container for `container-exit` (argv, no shell added).
    pub exit_command: Vec<String>,
    /// The container to exec into (default: the Pod's first).
    pub container: Option<String>,
}

/// The kubelet resets its crash back-off once a container has run this long (2 × the
/// 300 s cap); a restart sooner after the last one may be delayed by CrashLoopBackOff.
pub const BACKOFF_RESET: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    #[error("{0}")]
    Unsafe(String),
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    NotSettled(String),
    #[error("{0}")]
    NoEffect(String),
    #[error("the probe cannot start: {0}")]
    Probe(String),
}

fn api(what: impl Into<String>) -> impl FnOnce(kube::Error) -> K8sError {
    let what = what.into();
    move |source| K8sError::Api { what, source }
}

/// Refuses the namespaces that belong to the cluster itself.
/// Refuses `value` (given as `what`) unless it is a DNS-1123 label, as Kubernetes
/// requires of namespace, Service and container names: 1 to 63 lower-case letters, digits
/// and `-`, starting and ending with a letter or digit (so no `/` or `..` can steer a
/// request elsewhere).
pub fn check_label(what: &str, value: &str) -> Result<(), K8sError> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let valid = (1..=63).contains(&value.len())
        && value.chars().all(|c| ok_char(c) || c == '-')
        && value.starts_with(ok_char)
        && value.ends_with(ok_char);
    if valid {
        Ok(())
    } else {
        Err(K8sError::Unsafe(format!(
            "{what} `{value}`: not a DNS-1123 label (1 to 63 of a-z, 0-9 and '-', starting and ending with a letter or digit)"
        )))
    }
}

/// Refuses `value` unless it is a DNS-1123 subdomain (labels joined by `.`, at most 253
/// characters), as Kubernetes requires of workload names.
pub fn check_subdomain(what: &str, value: &str) -> Result<(), K8sError> {
    if value.len() > 253 || value.split('.').any(|l| check_label(what, l).is_err()) {
        return Err(K8sError::Unsafe(format!(
            "{what} `{value}`: not a DNS-1123 subdomain (labels of a-z, 0-9 and '-' joined by '.', at most 253 characters)"
        )));
    }
    Ok(())
}

pub fn check_namespace(namespace: &str) -> Result<(), K8sError> {
    if namespace.is_empty() {
        return Err(K8sError::Unsafe("--namespace is required".into()));
    }
    check_label("--namespace", namespace)?;
    if namespace.starts_with("kube-") {
        return Err(K8sError::Unsafe(format!(
            "refusing to inject faults in `{namespace}`: the kube-* namespaces run the cluster itself"
        )));
    }
    Ok(())
}

/// The workload as the API server reports it.
#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    /// Label selector of its Pods (`k=v,…`).
    pub selector: String,
    pub desired: i32,
    pub ready: i32,
    pub updated: i32,
    /// Every replica updated and Ready, the controller caught up, no extra Pods.
    pub settled: bool,
}

fn selector_string(s: &LabelSelector) -> Result<String, K8sError> {
    if s.match_expressions.as_ref().is_some_and(|e| !e.is_empty()) {
        return Err(K8sError::Unsupported(
            "the workload's selector uses matchExpressions; only matchLabels selectors are supported".into(),
        ));
    }
    let labels = s
        .match_labels
        .as_ref()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            K8sError::Unsupported("the workload's selector has no matchLabels".into())
        })?;
    Ok(labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(","))
}

/// One trial, as written to the log.
#[derive(Clone, Debug, Serialize)]
pub struct TrialRecord {
    pub index: u32,
    pub fault: Fault,
    /// When the fault was sent (UTC, RFC 3339).
    pub fault_utc: String,
    /// Seconds hasim watched after the fault.
    pub watched_seconds: f64,
    /// The samples of the model key `fault.measures()`; `censored` where the trial was
    /// cut before the step happened.
    pub samples: Vec<Sample>,
    /// Deletion → gone of each deleted Pod.
    pub shutdown: Vec<Sample>,
    #[serde(flatten)]
    pub timeline: TrialTimeline,
    /// Longest read / write outage the probe saw, seconds.
    pub probe_read_outage_seconds: Option<f64>,
    pub probe_write_outage_seconds: Option<f64>,
    /// What may make this trial unrepresentative (back-off, extra restarts, …).
    pub flags: Vec<String>,
    /// The exec session's own end, for container-exit (it usually ends with the container).
    pub exec_note: Option<String>,
}

/// What a dry run found and would do.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub namespace: String,
    pub target: String,
    pub workload: Workload,
    pub pods: Vec<Victim>,
    /// The API requests each trial would make.
    pub actions: Vec<String>,
}

/// Fault injection against one workload.
pub struct Calibrator {
    client: Client,
    cfg: K8sConfig,
}

/// A namespaced workload the calibrator reads and patches (StatefulSet, Deployment,
/// DaemonSet).
trait WorkloadKind:
    kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType: Default>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
{
}

impl<K> WorkloadKind for K where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType: Default>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
{
}

impl Calibrator {
    pub fn new(client: Client, cfg: K8sConfig) -> Result<Self, K8sError> {
        check_namespace(&cfg.namespace)?;
        if cfg.fault == Fault::ContainerExit && cfg.exit_command.is_empty() {
            return Err(K8sError::Unsupported("the exit command is empty".into()));
        }
        Ok(Calibrator { client, cfg })
    }

    fn namespaced<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.cfg.namespace)
    }

    fn pods(&self) -> Api<Pod> {
        self.namespaced()
    }

    /// The target workload, as a `K` (one GET).
    async fn get_target<K: WorkloadKind>(&self) -> Result<K, K8sError> {
        self.namespaced::<K>()
            .get(&self.cfg.target.name)
            .await
            .map_err(api(format!(
                "cannot read {} in namespace {}",
                self.cfg.target, self.cfg.namespace
            )))
    }

    /// Patches the target workload, as a `K`.
    async fn patch_target<K: WorkloadKind>(
        &self,
        patch: &Patch<&serde_json::Value>,
    ) -> Result<(), K8sError> {
        self.namespaced::<K>()
            .patch(&self.cfg.target.name, &PatchParams::default(), patch)
            .await
            .map(drop)
            .map_err(api(format!("cannot patch {}", self.cfg.target)))
    }

    /// Reads the workload (one GET).
    pub async fn workload(&self) -> Result<Workload, K8sError> {
        let observed = |generation: Option<i64>, seen: Option<i64>| {
            seen.unwrap_or(0) >= generation.unwrap_or(0)
        };
        let w = match self.cfg.target.kind {
            Kind::StatefulSet => {
                let s: StatefulSet = self.get_target().await?;
                let spec = s.spec.unwrap_or_default();
                let st = s.status.unwrap_or_default();
                let desired = spec.replicas.unwrap_or(1);
                let ready = st.ready_replicas.unwrap_or(0);
                let updated = st.updated_replicas.unwrap_or(0);
                Workload {
                    selector: selector_string(&spec.selector)?,
                    desired,
                    ready,
                    updated,
                    settled: observed(s.metadata.generation, st.observed_generation)
                        && st.replicas == desired
                        && ready == desired
                        && updated == desired
                        && st.current_revision == st.update_revision,
                }
            }
            Kind::Deployment => {
                let d: Deployment = self.get_target().await?;
                let spec = d.spec.unwrap_or_default();
                let st = d.status.unwrap_or_default();
                let desired = spec.replicas.unwrap_or(1);
                let ready = st.ready_replicas.unwrap_or(0);
                let updated = st.updated_replicas.unwrap_or(0);
                Workload {
                    selector: selector_string(&spec.selector)?,
                    desired,
                    ready,
                    updated,
                    settled: observed(d.metadata.generation, st.observed_generation)
                        && st.replicas.unwrap_or(0) == desired
                        && ready == desired
                        && updated == desired,
                }
            }
            Kind::DaemonSet => {
                let d: DaemonSet = self.get_target().await?;
                let spec = d.spec.unwrap_or_default();
                let st = d.status.unwrap_or_default();
                let desired = st.desired_number_scheduled;
                let updated = st.updated_number_scheduled.unwrap_or(0);
                Workload {
                    selector: selector_string(&spec.selector)?,
                    desired,
                    ready: st.number_ready,
                    updated,
                    settled: observed(d.metadata.generation, st.observed_generation)
                        && st.current_number_scheduled == desired
                        && st.number_ready == desired
                        && updated == desired,
                }
            }
        };
        Ok(w)
    }

    /// Waits (polling) until the workload is settled, or gives up after `timeout`.
    async fn wait_settled(&self) -> Result<Workload, K8sError> {
        let since = Instant::now();
        loop {
            let w = self.workload().await?;
            if w.settled && w.desired > 0 {
                return Ok(w);
            }
            if since.elapsed() >= self.cfg.timeout {
                return Err(K8sError::NotSettled(format!(
                    "{} is not settled ({} of {} replicas ready, {} updated) after {:?}: no fault injected",
                    self.cfg.target, w.ready, w.desired, w.updated, self.cfg.timeout
                )));
            }
            tokio::time::sleep(self.cfg.poll).await;
        }
    }

    /// The workload's Pods (sorted by name) and the list's resourceVersion.
    async fn list_pods(&self, selector: &str) -> Result<(Vec<Pod>, String), K8sError> {
        let list = self
            .pods()
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(api(format!(
                "cannot list the Pods of {} ({selector})",
                self.cfg.target
            )))?;
        let rv = list.metadata.resource_version.unwrap_or_default();
        let mut pods: Vec<Pod> = list
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        Ok((pods, rv))
    }

    fn victim_of(pod: &Pod) -> Victim {
        Victim {
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            restart_count: pod
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum()),
        }
    }

    /// The Pods trial `index` acts on: one (in turn) or, for a rollout, all.
    fn choose(&self, pods: &[Pod], index: u32) -> Vec<Pod> {
        if pods.is_empty() {
            return vec![];
        }
        match self.cfg.fault {
            Fault::RolloutRestart => pods.to_vec(),
            _ => vec![pods[index as usize % pods.len()].clone()],
        }
    }

    fn actions(&self, victims: &[Victim]) -> Vec<String> {
        let ns = &self.cfg.namespace;
        let pods = format!("/api/v1/namespaces/{ns}/pods");
        match self.cfg.fault {
            Fault::DeletePod => victims
                .iter()
                .map(|v| format!("DELETE {pods}/{}", v.name))
                .collect(),
            Fault::RolloutRestart => vec![format!(
                "PATCH /apis/apps/v1/namespaces/{ns}/{}/{} (strategic merge: spec.template.metadata.annotations[\"kubectl.kubernetes.io/restartedAt\"] = now)",
                self.cfg.target.kind.resource(),
                self.cfg.target.name
            )],
            Fault::ContainerExit => victims
                .iter()
                .map(|v| {
                    format!(
                        "exec in {pods}/{}{}: {:?}",
                        v.name,
                        self.cfg
                            .container
                            .as_ref()
                            .map_or(String::new(), |c| format!(" (container {c})")),
                        self.cfg.exit_command
                    )
                })
                .collect(),
        }
    }

    /// A dry run: reads the workload and its Pods (GET only) and says what each trial
    /// would do.
    pub async fn plan(&self) -> Result<Plan, K8sError> {
        let workload = self.workload().await?;
        let (pods, _) = self.list_pods(&workload.selector).await?;
        let mut actions = vec![];
        for index in 0..self.cfg.trials {
            let victims: Vec<Victim> = self
                .choose(&pods, index)
                .iter()
                .map(Self::victim_of)
                .collect();
            actions.extend(
                self.actions(&victims)
                    .into_iter()
                    .map(|a| format!("trial {}: {a}", index + 1)),
            );
        }
        Ok(Plan {
            namespace: self.cfg.namespace.clone(),
            target: self.cfg.target.to_string(),
            workload,
            pods: pods.iter().map(Self::victim_of).collect(),
            actions,
        })
    }

    /// Runs the trials; `on_trial` sees each as it ends. After `stop` is set no new fault
    /// is injected (the running trial still recovers first).
    pub async fn run(
        &self,
        stop: &AtomicBool,
        mut on_trial: impl FnMut(&TrialRecord),
    ) -> Result<Vec<TrialRecord>, K8sError> {
        let mut trials = vec![];
        for index in 0..self.cfg.trials {
            if index > 0 && !self.cfg.settle.is_zero() {
                let until = Instant::now() + self.cfg.settle;
                while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                    let left = until.saturating_duration_since(Instant::now());
                    tokio::time::sleep(left.min(Duration::from_millis(200))).await;
                }
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let record = self.trial(index).await?;
            on_trial(&record);
            trials.push(record);
        }
        Ok(trials)
    }

    async fn watch(
        &self,
        selector: &str,
        resource_version: &str,
    ) -> Result<futures::stream::BoxStream<'static, kube::Result<WatchEvent<Pod>>>, K8sError> {
        // The server ends a watch after `timeout`; it is resumed from the last version.
        let wp = WatchParams::default().labels(selector).timeout(290);
        Ok(self
            .pods()
            .watch(&wp, resource_version)
            .await
            .map_err(api("cannot watch the Pods"))?
            .boxed())
    }

    /// Sends the fault. For container-exit, the exec session's own ending (a note).
    async fn inject(&self, victims: &[Victim]) -> Result<Option<String>, K8sError> {
        match self.cfg.fault {
            Fault::DeletePod => {
                for v in victims {
                    self.pods()
                        .delete(&v.name, &DeleteParams::default())
                        .await
                        .map_err(api(format!("cannot delete Pod {}", v.name)))?;
                }
                Ok(None)
            }
            Fault::RolloutRestart => {
                let now = k8s_openapi::jiff::Timestamp::now().to_string();
                let patch = serde_json::json!({ "spec": { "template": { "metadata": { "annotations": {
                    "kubectl.kubernetes.io/restartedAt": now
                }}}}});
                let patch = Patch::Strategic(&patch);
                match self.cfg.target.kind {
                    Kind::StatefulSet => self.patch_target::<StatefulSet>(&patch).await?,
                    Kind::Deployment => self.patch_target::<Deployment>(&patch).await?,
                    Kind::DaemonSet => self.patch_target::<DaemonSet>(&patch).await?,
                }
                Ok(None)
            }
            Fault::ContainerExit => {
                let v = &victims[0];
                let mut ap = AttachParams::default().stdout(true).stderr(true);
                if let Some(c) = &self.cfg.container {
                    ap = ap.container(c.clone());
                }
                match self
                    .pods()
                    .exec(&v.name, self.cfg.exit_command.clone(), &ap)
                    .await
                {
                    Ok(process) => {
                        // The session usually ends with the container; do not wait long.
                        match tokio::time::timeout(Duration::from_secs(10), process.join()).await {
                            Ok(Ok(())) => Ok(Some("exec ended".into())),
                            Ok(Err(e)) => Ok(Some(format!("exec ended: {e}"))),
                            Err(_) => Ok(Some("exec still open after 10 s; left".into())),
                        }
                    }
                    // The API server refused (403, 404, …): nothing was done.
                    Err(e @ kube::Error::Api(_)) => {
                        Err(api(format!("cannot exec in Pod {}", v.name))(e))
                    }
                    // The connection broke: the command may or may not have run; the
                    // watch decides (and a fault without effect is an error).
                    Err(e) => Ok(Some(format!("exec session failed: {e}"))),
                }
            }
        }
    }

    /// Relists the Pods after the watch's version expired (410 Gone).
    async fn resync(&self, tracker: &mut Tracker, selector: &str, at: f64) -> Result<(), K8sError> {
        let list = self
            .pods()
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(api("cannot list the Pods"))?;
        for pod in list.items {
            tracker.observe(at, WatchEvent::Modified(pod));
        }
        tracker.resource_version = list.metadata.resource_version.unwrap_or_default();
        Ok(())
    }

    async fn trial(&self, index: u32) -> Result<TrialRecord, K8sError> {
        let workload = self.wait_settled().await?;
        let (pods, resource_version) = self.list_pods(&workload.selector).await?;
        let chosen = self.choose(&pods, index);
        if chosen.is_empty() {
            return Err(K8sError::NotSettled(format!(
                "{} has no Pods matching {}",
                self.cfg.target, workload.selector
            )));
        }
        let mut flags = vec![];
        if self.cfg.fault == Fault::ContainerExit {
            flags.extend(chosen.iter().filter_map(recent_restart));
            if self.cfg.settle < BACKOFF_RESET {
                flags.push(format!(
                    "settle {:?} is below the kubelet's 600 s back-off reset",
                    self.cfg.settle
                ));
            }
        }
        let victims: Vec<Victim> = chosen.iter().map(Self::victim_of).collect();
        let mut tracker = Tracker::new(self.cfg.fault, victims.clone(), resource_version);

        // The probe runs on a thread of its own from before the fault to after recovery.
        let probe_stop = std::sync::Arc::new(AtomicBool::new(false));
        let probe_thread = self.cfg.probe.as_ref().map(|target| {
            let transport: std::sync::Arc<dyn Transport + Send + Sync> = match target {
                ProbeTarget::Url(url) => std::sync::Arc::new(
                    probe::Http::new(url, Duration::from_secs(1), &self.cfg.probe_tls)
                        .map_err(K8sError::Probe)?
                        .hiding(&self.cfg.probe_store.secrets()),
                ),
                ProbeTarget::Service(service) => std::sync::Arc::new(ServiceProxy::new(
                    self.client.clone(),
                    tokio::runtime::Handle::current(),
                    &self.cfg.namespace,
                    service,
                    Duration::from_secs(1),
                )),
            };
            let stop = std::sync::Arc::clone(&probe_stop);
            let store = self.cfg.probe_store.clone();
            Ok(std::thread::spawn(move || {
                let cfg = ProbeConfig {
                    url: String::new(),
                    tls: Tls::default(),
                    store,
                    interval: Duration::from_millis(100),
                    duration: None,
                    timeout: Duration::from_secs(1),
                    monitor: None,
                    keep_ops: true,
                };
                probe::run_with(transport, &cfg, &stop, |_| {})
            }))
        });
        let probe_thread = probe_thread.transpose()?;
        if probe_thread.is_some() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }

        let mut stream = Some(
            self.watch(&workload.selector, &tracker.resource_version)
                .await?,
        );
        let fault_utc = k8s_openapi::jiff::Timestamp::now().to_string();
        let t0 = Instant::now();
        let exec_note = self.inject(&victims).await?;
        let deadline = tokio::time::Instant::from_std(t0 + self.cfg.timeout);
        while !tracker.done() {
            let at = || t0.elapsed().as_secs_f64();
            if t0.elapsed() >= self.cfg.effect_timeout && !tracker.any_effect() {
                probe_stop.store(true, Ordering::Relaxed);
                return Err(K8sError::NoEffect(format!(
                    "the {} fault showed no effect on {} within {:?}{}",
                    self.cfg.fault.name(),
                    self.cfg.target,
                    self.cfg.effect_timeout,
                    exec_note
                        .as_ref()
                        .map_or(String::new(), |n| format!(" ({n})"))
                )));
            }
            let Some(s) = stream.as_mut() else {
                stream = Some(
                    self.watch(&workload.selector, &tracker.resource_version)
                        .await?,
                );
                continue;
            };
            let step = deadline.min(tokio::time::Instant::now() + Duration::from_secs(1));
            match tokio::time::timeout_at(step, s.try_next()).await {
                Err(_) if tokio::time::Instant::now() >= deadline => break,
                Err(_) => {}
                Ok(Ok(None)) => stream = None,
                Ok(Ok(Some(WatchEvent::Error(e)))) if e.code == 410 => {
                    tracker
                        .watch_errors
                        .push(format!("{} (410): relisted", e.message));
                    self.resync(&mut tracker, &workload.selector, at()).await?;
                    stream = None;
                }
                Ok(Ok(Some(event))) => tracker.observe(at(), event),
                Ok(Err(e)) => {
                    tracker.watch_errors.push(e.to_string());
                    stream = None;
                }
            }
        }
        let watched_seconds = t0.elapsed().as_secs_f64();
        let ops = match probe_thread {
            Some(handle) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                probe_stop.store(true, Ordering::Relaxed);
                match handle.join() {
                    Ok(Err(e)) => return Err(K8sError::Probe(e)),
                    Ok(Ok(log)) => log,
                    Err(_) => probe::ProbeLog::default(),
                }
            }
            None => probe::ProbeLog::default(),
        };
        let timeline = tracker.finish(watched_seconds);
        for v in &timeline.victims {
            let before = victims
                .iter()
                .find(|x| x.uid == v.uid)
                .map_or(0, |x| x.restart_count);
            if self.cfg.fault == Fault::ContainerExit && v.restart_count - before > 1 {
                flags.push(format!(
                    "{} restarted {} times during the trial",
                    v.name,
                    v.restart_count - before
                ));
            }
        }
        for p in &timeline.replacements {
            if p.restart_count > 0 {
                flags.push(format!(
                    "replacement {} restarted {} times while starting",
                    p.name, p.restart_count
                ));
            }
        }
        if !timeline.watch_errors.is_empty() {
            flags.push("the watch was interrupted (see watch_errors)".into());
        }
        let probed = self.cfg.probe.is_some();
        Ok(TrialRecord {
            index,
            fault: self.cfg.fault,
            fault_utc,
            watched_seconds,
            samples: timeline.samples.clone(),
            shutdown: timeline.shutdown.clone(),
            timeline,
            probe_read_outage_seconds: probed.then(|| ops.longest_outage(OpKind::Read)),
            probe_write_outage_seconds: probed.then(|| ops.longest_outage(OpKind::Write)),
            flags,
            exec_note,
        })
    }
}

/// A flag when a container of `pod` last (re)started less than [`BACKOFF_RESET`] ago
/// after an earlier restart: the kubelet's back-off may not have reset.
fn recent_restart(pod: &Pod) -> Option<String> {
    let now = k8s_openapi::jiff::Timestamp::now();
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|c| {
        let started = c.state.as_ref()?.running.as_ref()?.started_at.as_ref()?;
        let age = now.duration_since(started.0).as_secs_f64();
        (c.restart_count > 0 && age < BACKOFF_RESET.as_secs_f64()).then(|| {
            format!(
                "container {} of {} has restarted {} times, last {age:.0} s before the fault (< 600 s): CrashLoopBackOff may delay this restart",
                c.name,
                pod.metadata.name.as_deref().unwrap_or("?"),
                c.restart_count
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_like_kubectl() {
        let t: Target = "statefulset/influxdb".parse().unwrap();
        assert_eq!((t.kind, t.name.as_str()), (Kind::StatefulSet, "influxdb"));
        assert_eq!(t.to_string(), "statefulset/influxdb");
        assert_eq!(
            "deploy/chronograf".parse::<Target>().unwrap().kind,
            Kind::Deployment
        );
        assert_eq!(
            "ds/telegraf".parse::<Target>().unwrap().kind,
            Kind::DaemonSet
        );
        for bad in ["influxdb", "pod/influxdb-0", "statefulset/", "sts/a/b"] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_cluster_namespaces_are_refused() {
        for ns in ["kube-system", "kube-public", "kube-node-lease", ""] {
            assert!(check_namespace(ns).is_err(), "{ns}");
        }
        assert!(check_namespace("hasim").is_ok());
    }
}
