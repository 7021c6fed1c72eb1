//! Model files: read, override, validate — once — into a [`Model`] that cannot be wrong.
//!
//! The contract is `MODEL-SPEC.md`. The TOML text is parsed into a tree that keeps every
//! value's line and column ([`tree`]), `--set` overrides are applied to that tree, and the
//! tree is then read into the types below. Every refusal is a [`ModelError`] naming the
//! file, the line and the dotted key (for `--set`, the path). All durations are seconds.

pub mod tree;

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::dist::{Dist, Family};
use crate::epistemic::Epistemic;
use crate::units::{Seconds, YEAR};
use tree::{Ctx, Field, Table, toml_key};
pub use tree::{ModelError, Origin};

/// A validated model.
#[derive(Clone, Debug, Serialize)]
pub struct Model {
    pub name: String,
    /// The file the model was read from, as given.
    #[serde(skip)]
    pub file: String,
    /// Every file read to build it: the model file, then the calibration and samples
    /// files it refers to (an output must not overwrite any of them).
    #[serde(skip)]
    pub sources: Vec<PathBuf>,
    pub simulation: Simulation,
    pub system: System,
    pub nodes: Vec<NodeSpec>,
    /// Planned node maintenance (`kubectl drain`, one node at a time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrades: Option<Upgrades>,
    #[serde(serialize_with = "stages_as_table")]
    pub stages: Vec<Stage>,
}

/// `[upgrades]`: waves that drain the cluster's nodes one at a time (MODEL-SPEC.md
/// "Upgrades").
#[derive(Clone, Debug, Serialize)]
pub struct Upgrades {
    /// Start to start; the first wave at one draw.
    pub every: Dist,
    /// One node: from drained to ready again.
    pub node_time: Dist,
    /// A drain blocked by a PodDisruptionBudget is forced this long after it began.
    pub pdb_timeout: Seconds,
}

#[derive(Clone, Debug, Serialize)]
pub struct Simulation {
    /// Y: the length of one simulated history.
    pub horizon: Seconds,
    pub replications: u64,
    pub seed: u64,
    /// The level of every interval printed.
    pub confidence: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct System {
    /// Indices into [`Model::stages`].
    #[serde(skip)]
    pub read_path: Vec<usize>,
    #[serde(rename = "read_path")]
    pub read_path_names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo: Option<f64>,
    /// The path data travels (source, collector, store), when the model has a data flow.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub flow: Option<Flow>,
}

/// The data flow of MODEL-SPEC.md "Data flow": one source, one collector stage, one store
/// stage, in that order on `[system] flow`, and optionally a reader after them.
#[derive(Clone, Debug, Serialize)]
pub struct Flow {
    #[serde(skip)]
    pub source: usize,
    #[serde(skip)]
    pub collector: usize,
    #[serde(skip)]
    pub store: usize,
    #[serde(rename = "flow")]
    pub names: Vec<String>,
    /// A read is fresh if the store holds data at most this old.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Seconds>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeSpec {
    pub name: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub failure: Option<NodeFailure>,
}

/// How a node fails: time to failure while up, and how long it stays down.
#[derive(Clone, Debug, Serialize)]
pub struct NodeFailure {
    pub every: Dist,
    pub recovery: Dist,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Source,
    Collector,
    Store,
    Reader,
    Component,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
    External,
}

#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    #[serde(skip)]
    pub name: String,
    pub role: Role,
    pub kind: Kind,
    pub replicas: u32,
    pub min_ready: u32,
    /// Indices into [`Model::nodes`]; replica `i` is on `nodes[i % len]`.
    #[serde(skip)]
    pub nodes: Vec<usize>,
    #[serde(rename = "nodes")]
    pub node_names: Vec<String>,
    /// At most this many restarts at once; 0 = no limit.
    pub repair_crews: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<Dist>,
    #[serde(serialize_with = "backoff_as_toml")]
    pub backoff: Option<Backoff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes: Option<Probes>,
    pub failures: Vec<FailureMode>,
    /// Metrics per second while up (sources).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// How far back missed metrics can be read again when a collector returns (sources).
    #[serde(skip_serializing_if = "is_zero")]
    pub retention: Seconds,
    /// New Pod → ready; defaults to `restart`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recreate: Option<Dist>,
    /// Time a deleted Pod takes to stop, at most the 30 s grace period.
    #[serde(skip_serializing_if = "is_zero")]
    pub shutdown: Seconds,
    /// Deployment: how long after a node failure its replicas are re-created elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eviction_delay: Option<Seconds>,
    /// StatefulSet: a person force-deletes a Pod on a failed node after one draw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_response: Option<Dist>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<Maintenance>,
    /// Collector buffers, one per collector replica and store replica.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer: Option<Buffer>,
    /// Reader cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<Cache>,
    /// Deployment, StatefulSet: whether two of its Pods may share a node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
    /// Deployment, StatefulSet: its PodDisruptionBudget, resolved to a count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdb: Option<Pdb>,
    /// StatefulSet: where its volumes live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<Volume>,
    /// StatefulSet with a network volume: the wait before a Pod moved off a dead node
    /// can start (the attach/detach controller's force detach).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detach_wait: Option<Seconds>,
}

/// Pod anti-affinity among a stage's own Pods (MODEL-SPEC.md "Placement").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Spread {
    /// The scheduler prefers the least-loaded node but may put two Pods on one.
    Preferred,
    /// Hard anti-affinity: a Pod stays Pending rather than share a node.
    Required,
}

/// Where a StatefulSet's volumes live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Volume {
    /// Network storage: it follows its Pod to another node (after a detach from a dead one).
    Network,
    /// A local PersistentVolume: the Pod is pinned to its node.
    Local,
}

/// A PodDisruptionBudget, resolved to a number of Pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pdb {
    MinAvailable(u32),
    MaxUnavailable(u32),
}

impl Pdb {
    /// The Pods that must stay ready (the Eviction API's `desiredHealthy`).
    pub fn desired(&self, replicas: u32) -> u32 {
        match *self {
            Pdb::MinAvailable(n) => n,
            Pdb::MaxUnavailable(n) => replicas.saturating_sub(n),
        }
    }
}

/// The attach/detach controller's wait before it force-detaches a volume from an
/// unreachable node (`maxWaitForUnmountDuration`; docs/k8s-facts.md §9).
pub const DEFAULT_DETACH_WAIT: Seconds = 360.0;
/// A blocked drain is forced after this (GKE's limit; docs/k8s-facts.md §9).
pub const DEFAULT_PDB_TIMEOUT: Seconds = 3600.0;
/// One node's upgrade, drained to ready again, when the model does not say.
pub const DEFAULT_NODE_TIME: Seconds = 600.0;

/// The kubelet's back-off reset window: a container that exits more than this long after
/// its last start restarts with `n = 0`, whatever the profile or cap (kubelet.go sets
/// `HasExpiredFunc` to 600 s; docs/k8s-facts.md §9).
pub const BACKOFF_RESET_WINDOW: Seconds = 600.0;
/// Kubernetes' termination grace period (docs/k8s-facts.md §1).
pub const GRACE_PERIOD: Seconds = 30.0;
/// 50 s node-monitor grace + 300 s toleration (docs/k8s-facts.md §2).
pub const DEFAULT_EVICTION_DELAY: Seconds = 350.0;
/// Telegraf's `metric_buffer_limit` (docs/k8s-facts.md §5).
pub const DEFAULT_BUFFER_LIMIT: f64 = 10_000.0;

/// Planned `kubectl rollout restart`.
#[derive(Clone, Debug, Serialize)]
pub struct Maintenance {
    /// First at t = every, then every `every`, start to start.
    pub every: Seconds,
    /// Deployment: new Pods above `replicas` during the rollout (resolved count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<u32>,
    /// Deployment: Pods below `replicas` during the rollout (resolved count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<u32>,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Buffer {
    /// Metrics held per collector replica and store replica.
    pub limit: f64,
    pub persistent: bool,
    /// Metrics/s a backlog drains at; `None` = instantly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drain_rate: Option<f64>,
}

impl Default for Buffer {
    fn default() -> Self {
        Buffer {
            limit: DEFAULT_BUFFER_LIMIT,
            persistent: false,
            drain_rate: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Cache {
    pub max_staleness: Seconds,
}

/// CrashLoopBackOff: `delay(n) = min(initial·2^(n−1), cap)`, `delay(0) = 0`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Backoff {
    pub profile: BackoffProfile,
    pub initial: Seconds,
    pub cap: Seconds,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackoffProfile {
    /// 10 s doubling to 300 s (kubelet default; docs/k8s-facts.md §1).
    Classic,
    /// 1 s doubling to 60 s (`ReduceDefaultCrashLoopBackOffDecay`; docs/k8s-facts.md §1).
    Reduced,
}

impl Backoff {
    pub fn new(profile: BackoffProfile, cap: Option<Seconds>) -> Self {
        let (initial, default_cap): (Seconds, Seconds) = match profile {
            BackoffProfile::Classic => (10.0, 300.0),
            BackoffProfile::Reduced => (1.0, 60.0),
        };
        let cap = cap.unwrap_or(default_cap);
        // Kubernetes: the initial delay equals the cap when the cap is below it.
        Backoff {
            profile,
            initial: initial.min(cap),
            cap,
        }
    }

    /// Whether a container that exits `ran` seconds after its last start restarts with its
    /// count back at 0: the kubelet's fixed window ([`BACKOFF_RESET_WINDOW`]), whatever
    /// the profile or cap.
    #[inline]
    pub fn resets_after(&self, ran: Seconds) -> bool {
        ran > BACKOFF_RESET_WINDOW
    }

    /// The wait before restart number `n` (0-based) of one container.
    #[inline]
    pub fn delay(&self, n: u32) -> Seconds {
        if n == 0 {
            0.0
        } else {
            (self.initial * 2f64.powi((n - 1).min(1023) as i32)).min(self.cap)
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Probes {
    pub liveness: Probe,
}

/// A liveness probe; defaults are Kubernetes' (docs/k8s-facts.md §1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Probe {
    pub period: Seconds,
    pub failure_threshold: u32,
    pub timeout: Seconds,
}

impl Probe {
    /// Kubernetes defaults: period 10 s, failure threshold 3, timeout 1 s.
    pub const DEFAULT: Probe = Probe {
        period: 10.0,
        failure_threshold: 3,
        timeout: 1.0,
    };

    /// Detection delay for `U` uniform in [0, 1): `U·period + (threshold−1)·period + timeout`.
    #[inline]
    pub fn detection_delay(&self, u: f64) -> Seconds {
        (u + f64::from(self.failure_threshold - 1)) * self.period + self.timeout
    }

    pub fn mean_detection_delay(&self) -> Seconds {
        self.detection_delay(0.5)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct FailureMode {
    pub name: String,
    /// Time to failure, drawn each time the replica becomes ready.
    pub every: Dist,
    pub detect: Detect,
    /// The cause stays this long from the failure: restarts before the fix fail again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persists: Option<Dist>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Detect {
    /// The container exits: noticed at once.
    #[serde(serialize_with = "detect_exit")]
    Exit,
    /// A hang found by the liveness probe.
    #[serde(serialize_with = "detect_liveness")]
    Liveness,
    /// Noticed after one draw.
    After(Dist),
}

fn detect_exit<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("exit")
}
fn detect_liveness<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("liveness")
}

fn stages_as_table<S: serde::Serializer>(stages: &[Stage], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(stages.len()))?;
    for st in stages {
        m.serialize_entry(&st.name, st)?;
    }
    m.end()
}

fn backoff_as_toml<S: serde::Serializer>(b: &Option<Backoff>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    match b {
        None => s.serialize_bool(false),
        Some(b) => {
            let mut m = s.serialize_map(Some(2))?;
            m.serialize_entry("profile", &b.profile)?;
            m.serialize_entry("cap", &b.cap)?;
            m.end()
        }
    }
}

impl Stage {
    /// Whether a replica of this stage can ever go down.
    pub fn can_fail(&self, model_nodes: &[NodeSpec]) -> bool {
        !self.failures.is_empty() || self.nodes.iter().any(|n| model_nodes[*n].failure.is_some())
    }

    /// The node replica `i` runs on, if the stage is on nodes.
    pub fn node_of(&self, replica: u32) -> Option<usize> {
        (!self.nodes.is_empty()).then(|| self.nodes[replica as usize % self.nodes.len()])
    }

    pub fn liveness(&self) -> Option<&Probe> {
        self.probes.as_ref().map(|p| &p.liveness)
    }

    /// The time a new Pod takes to be ready (`recreate`, else `restart`).
    pub fn recreate_dist(&self) -> Option<&Dist> {
        self.recreate.as_ref().or(self.restart.as_ref())
    }
}

impl Model {
    /// Reads a model file (`-`: standard input, its relative paths from the working
    /// folder) and applies `--set` overrides.
    pub fn load(path: &Path, sets: &[String]) -> Result<Model, LoadError> {
        let stdin = crate::fsio::is_stdin(path);
        let text = crate::fsio::read_input(path, crate::fsio::TEXT_CAP).map_err(|e| match e {
            crate::fsio::ReadError::Io { source, .. } => LoadError::Io {
                path: path.to_path_buf(),
                source,
            },
            crate::fsio::ReadError::Refused(m) => LoadError::Refused(m),
        })?;
        if stdin {
            return Ok(Self::from_str(
                "standard input",
                &text,
                Path::new(""),
                sets,
            )?);
        }
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut model = Self::from_str(&path.display().to_string(), &text, &base, sets)?;
        model.sources.insert(0, path.to_path_buf());
        Ok(model)
    }

    /// Reads model text; `file` names it in errors, `base` resolves relative sample files.
    pub fn from_str(
        file: &str,
        text: &str,
        base: &Path,
        sets: &[String],
    ) -> Result<Model, ModelError> {
        let mut root = tree::parse(file, text)?;
        for s in sets {
            tree::apply_set(&mut root, file, s)?;
        }
        let ctx = Ctx { file };
        let read = RefCell::new(vec![]);
        let mut model = Reader {
            ctx,
            base: base.to_path_buf(),
            read: &read,
            chain: vec![],
            horizon: Cell::new(YEAR),
        }
        .model(&root)?;
        model.sources = read.into_inner();
        Ok(model)
    }

    /// Every distribution of the model with the parameter it sets, named as the model
    /// file names it (`stages.C.failures.crash.every`, `nodes.minikube.recovery`; a name
    /// a bare TOML key cannot hold quoted, `stages."influx.db".restart`), in a fixed
    /// order.
    pub fn distributions_mut(&mut self) -> Vec<(String, &mut Dist)> {
        let mut out: Vec<(String, &mut Dist)> = vec![];
        if let Some(u) = &mut self.upgrades {
            out.push(("upgrades.every".into(), &mut u.every));
            out.push(("upgrades.node_time".into(), &mut u.node_time));
        }
        for n in &mut self.nodes {
            if let Some(f) = &mut n.failure {
                let at = format!("nodes.{}", toml_key(&n.name));
                out.push((format!("{at}.every"), &mut f.every));
                out.push((format!("{at}.recovery"), &mut f.recovery));
            }
        }
        for st in &mut self.stages {
            let at = format!("stages.{}", toml_key(&st.name));
            for (key, d) in [
                ("restart", &mut st.restart),
                ("recreate", &mut st.recreate),
                ("operator_response", &mut st.operator_response),
            ] {
                if let Some(d) = d {
                    out.push((format!("{at}.{key}"), d));
                }
            }
            for fm in &mut st.failures {
                let at = format!("{at}.failures.{}", toml_key(&fm.name));
                out.push((format!("{at}.every"), &mut fm.every));
                if let Some(d) = &mut fm.persists {
                    out.push((format!("{at}.persists"), d));
                }
                if let Detect::After(d) = &mut fm.detect {
                    out.push((format!("{at}.detect"), d));
                }
            }
        }
        out
    }

    /// The parameters with an `uncertain` law, in [`Model::distributions_mut`]'s order.
    pub fn uncertain_parameters(&self) -> Vec<UncertainParameter> {
        self.clone()
            .distributions_mut()
            .into_iter()
            .filter_map(|(parameter, d)| {
                d.uncertain.as_deref().map(|law| UncertainParameter {
                    parameter,
                    law: *law,
                    mean: d.mean(),
                })
            })
            .collect()
    }

    /// This model with the uncertain parameters' means set to `means` (one per
    /// [`Model::uncertain_parameters`], in order), their laws dropped.
    pub fn with_means(&self, means: &[Seconds]) -> Model {
        let mut m = self.clone();
        let mut next = means.iter();
        for (_, d) in m.distributions_mut() {
            if d.uncertain.is_some() {
                let mean = next.next().expect("one mean per uncertain parameter");
                *d = d.with_mean(*mean);
            }
        }
        debug_assert!(
            next.next().is_none(),
            "more means than uncertain parameters"
        );
        m
    }

    pub fn stage_index(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }

    /// The resolved model as TOML: units normalised to seconds, defaults filled in.
    pub fn to_resolved_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot print the model: {e}\n"))
    }
}

/// A parameter whose mean is not known: its name, its law, the mean as written.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UncertainParameter {
    pub parameter: String,
    pub law: Epistemic,
    /// The model's own mean (the point estimate's), seconds.
    pub mean: Seconds,
}

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not something hasim reads as a model: not a regular file, too large, not UTF-8.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// How deep calibration files may refer to calibration files.
const CALIBRATION_DEPTH: usize = 8;

struct Reader<'a> {
    ctx: Ctx<'a>,
    base: PathBuf,
    /// Every file read besides the model (calibration and samples files).
    read: &'a RefCell<Vec<PathBuf>>,
    /// The calibration files being read, outermost first (to find a cycle).
    chain: Vec<PathBuf>,
    /// The horizon, once read (to bound the events of a history).
    horizon: Cell<Seconds>,
}

/// The most failures (and node failures, upgrade waves, rollouts) one history may be
/// expected to hold, from the means: a model past it is refused (a time near zero would
/// make a history that never ends). A run also stops any history at
/// [`crate::sim::MAX_EVENTS`].
pub const MAX_EXPECTED_FAILURES: f64 = 1e7;
/// The longest horizon: 1000 years.
pub const MAX_HORIZON: Seconds = 1000.0 * YEAR;
/// The most replicas of one stage, and the most nodes.
pub const MAX_REPLICAS: u64 = 1000;
pub const MAX_NODES: usize = 1000;
/// The most stages.
pub const MAX_STAGES: usize = 100;
/// The most replications a model or `-n` may ask for.
pub const MAX_REPLICATIONS: u64 = 1_000_000_000_000;

impl Reader<'_> {
    /// A time between events that `copies` things draw (a failure mode of each replica,
    /// a node's failures, an upgrade wave): refused when a history would be expected to
    /// hold more than [`MAX_EXPECTED_FAILURES`] of them.
    fn every(&self, f: Field<'_>, copies: u64) -> Result<Dist, ModelError> {
        let d = self.dist(f.clone(), Need::Positive)?;
        let horizon = self.horizon.get();
        let expected = horizon / d.mean() * copies as f64;
        if expected > MAX_EXPECTED_FAILURES || expected.is_nan() {
            return Err(f.error(format!(
                "a mean of {} s over the horizon of {horizon} s is about {expected:.3e} events per history{}, more than the {MAX_EXPECTED_FAILURES:e} a history may hold: is the unit right?",
                d.mean(),
                if copies > 1 { format!(" ({copies} copies)") } else { String::new() },
            )));
        }
        Ok(d)
    }

    /// A file the model refers to (`field` names it in errors), read as text.
    fn read_file(&self, field: &Field<'_>, path: &Path) -> Result<String, ModelError> {
        let text = crate::fsio::read_text(path, crate::fsio::TEXT_CAP)
            .map_err(|e| field.error(e.to_string()))?;
        self.read.borrow_mut().push(path.to_path_buf());
        Ok(text)
    }
}

const ROOT_KEYS: &[&str] = &[
    "name",
    "simulation",
    "system",
    "nodes",
    "upgrades",
    "stages",
];

impl Reader<'_> {
    fn model(&self, root: &tree::Node) -> Result<Model, ModelError> {
        let mut t = Table::new(self.ctx, String::new(), root)?;
        let name = match t.get("name") {
            Some(f) => f.str()?.to_string(),
            None => Path::new(self.ctx.file)
                .file_stem()
                .map_or_else(|| "model".to_string(), |s| s.to_string_lossy().into_owned()),
        };
        let simulation = match t.get("simulation") {
            Some(f) => self.simulation(f)?,
            None => Simulation {
                horizon: YEAR,
                replications: 10_000,
                seed: 1,
                confidence: 0.95,
            },
        };
        let nodes = match t.get("nodes") {
            Some(f) => self.nodes(f)?,
            None => vec![],
        };
        let upgrades = match t.get("upgrades") {
            Some(f) => Some(self.upgrades(f, &nodes)?),
            None => None,
        };
        let stages_field = t.require("stages")?;
        let stages = self.stages(stages_field, &nodes)?;
        let system_field = t.require("system")?;
        let system = self.system(system_field, &stages)?;
        debug_assert!(ROOT_KEYS.iter().all(|k| !k.is_empty()));
        t.finish()?;
        Ok(Model {
            name,
            file: self.ctx.file.to_string(),
            sources: vec![],
            simulation,
            system,
            nodes,
            upgrades,
            stages,
        })
    }

    fn upgrades(&self, f: Field<'_>, nodes: &[NodeSpec]) -> Result<Upgrades, ModelError> {
        if nodes.is_empty() {
            return Err(f.error("upgrades drain nodes: add [[nodes]] (the model has none)"));
        }
        let mut t = f.table()?;
        let every = self.every(t.require("every")?, nodes.len() as u64)?;
        let node_time = match t.get("node_time") {
            Some(f) => self.dist(f, Need::NonNegative)?,
            None => Dist::fixed(DEFAULT_NODE_TIME),
        };
        let pdb_timeout = match t.get("pdb_timeout") {
            Some(f) => f.nonnegative_duration()?,
            None => DEFAULT_PDB_TIMEOUT,
        };
        t.finish()?;
        Ok(Upgrades {
            every,
            node_time,
            pdb_timeout,
        })
    }

    fn simulation(&self, f: Field<'_>) -> Result<Simulation, ModelError> {
        let mut t = f.table()?;
        let horizon = match t.get("horizon") {
            Some(f) => {
                let h = f.positive_duration()?;
                if h > MAX_HORIZON {
                    return Err(f.error(format!(
                        "at most 1000 years ({MAX_HORIZON} s), found {h} s: simulate more replications instead"
                    )));
                }
                h
            }
            None => YEAR,
        };
        self.horizon.set(horizon);
        let replications = match t.get("replications") {
            Some(f) => match f.u64()? {
                0 => return Err(f.error("must be at least 1")),
                n if n > MAX_REPLICATIONS => {
                    return Err(f.error(format!("at most {MAX_REPLICATIONS:e}, found {n}")));
                }
                n => n,
            },
            None => 10_000,
        };
        let seed = t.get("seed").map_or(Ok(1), |f| f.u64())?;
        let confidence = match t.get("confidence") {
            Some(f) => open_unit(&f)?,
            None => 0.95,
        };
        t.finish()?;
        Ok(Simulation {
            horizon,
            replications,
            seed,
            confidence,
        })
    }

    fn system(&self, f: Field<'_>, stages: &[Stage]) -> Result<System, ModelError> {
        let mut t = f.table()?;
        let rp = t.require("read_path")?;
        let items = rp.array()?;
        if items.is_empty() {
            return Err(rp.error("needs at least one stage"));
        }
        let mut read_path = vec![];
        let mut read_path_names = vec![];
        for item in items {
            let name = item.str()?;
            let i = stages
                .iter()
                .position(|s| s.name == name)
                .ok_or_else(|| item.error(format!("unknown stage \"{name}\"")))?;
            if read_path.contains(&i) {
                return Err(item.error(format!("stage \"{name}\" is listed twice")));
            }
            read_path.push(i);
            read_path_names.push(name.to_string());
        }
        let slo = match t.get("slo") {
            Some(f) => Some(open_unit(&f)?),
            None => None,
        };
        let flow = match t.get("flow") {
            Some(ff) => Some(self.flow(ff, &mut t, stages)?),
            None => {
                if let Some(f) = t.get("freshness") {
                    return Err(f.error(
                        "freshness needs a data flow: add flow = [source, collector, store]",
                    ));
                }
                None
            }
        };
        t.finish()?;
        Ok(System {
            read_path,
            read_path_names,
            slo,
            flow,
        })
    }

    fn flow(&self, ff: Field<'_>, t: &mut Table<'_>, stages: &[Stage]) -> Result<Flow, ModelError> {
        let items = ff.array()?;
        let mut idx = vec![];
        for item in &items {
            let name = item.str()?;
            let i = stages
                .iter()
                .position(|s| s.name == name)
                .ok_or_else(|| item.error(format!("unknown stage \"{name}\"")))?;
            idx.push(i);
        }
        let roles: Vec<Role> = idx.iter().map(|i| stages[*i].role).collect();
        let shape_ok = matches!(
            roles.as_slice(),
            [Role::Source, Role::Collector, Role::Store]
                | [Role::Source, Role::Collector, Role::Store, Role::Reader]
        );
        if !shape_ok {
            return Err(ff.error(
                "flow lists a source, a collector and a store, in that order, optionally then a reader \
                 (by their role)",
            ));
        }
        let (source, collector, store) = (idx[0], idx[1], idx[2]);
        let rate = stages[source]
            .rate
            .ok_or_else(|| ff.error(format!("the source {} needs a rate", stages[source].name)))?;
        let c = &stages[collector];
        let share = rate / f64::from(c.replicas);
        if let Some(d) = c.buffer.and_then(|b| b.drain_rate)
            && d <= share
        {
            return Err(ff.error(format!(
                    "stages.{}.buffer.drain_rate ({d}/s) must be above the rate it drains: each collector \
                     replica's share of the source, {share}/s",
                    toml_key(&c.name)
                )));
        }
        let freshness = match t.get("freshness") {
            Some(f) => Some(f.positive_duration()?),
            None => None,
        };
        Ok(Flow {
            source,
            collector,
            store,
            names: idx.iter().map(|i| stages[*i].name.clone()).collect(),
            freshness,
        })
    }

    fn nodes(&self, f: Field<'_>) -> Result<Vec<NodeSpec>, ModelError> {
        let mut nodes: Vec<NodeSpec> = vec![];
        let items = f.array()?;
        if items.len() > MAX_NODES {
            return Err(f.error(format!("at most {MAX_NODES} nodes, found {}", items.len())));
        }
        for item in items {
            let mut t = item.table()?;
            let name_f = t.require("name")?;
            let name = name_f.str()?.to_string();
            if nodes.iter().any(|n| n.name == name) {
                return Err(name_f.error(format!("two nodes are named \"{name}\"")));
            }
            let every = match t.get("every") {
                Some(f) => Some(self.every(f, 1)?),
                None => None,
            };
            let failure = match (every, t.has("recovery")) {
                (Some(every), true) => {
                    let recovery =
                        self.dist(t.get("recovery").expect("present"), Need::NonNegative)?;
                    Some(NodeFailure { every, recovery })
                }
                (Some(_), false) => return Err(t.missing("recovery")),
                (None, true) => {
                    let f = t.get("recovery").expect("present");
                    return Err(f.error("a node with recovery needs every (its time to failure)"));
                }
                (None, false) => None,
            };
            t.finish()?;
            nodes.push(NodeSpec { name, failure });
        }
        Ok(nodes)
    }

    fn stages(&self, f: Field<'_>, nodes: &[NodeSpec]) -> Result<Vec<Stage>, ModelError> {
        let mut t = f.table()?;
        let entries = t.entries();
        if entries.is_empty() {
            return Err(f.error("needs at least one stage"));
        }
        if entries.len() > MAX_STAGES {
            return Err(f.error(format!(
                "at most {MAX_STAGES} stages, found {}",
                entries.len()
            )));
        }
        let mut stages = vec![];
        for (name, field) in entries {
            stages.push(self.stage(name, field, nodes)?);
        }
        Ok(stages)
    }

    fn stage(
        &self,
        name: String,
        f: Field<'_>,
        model_nodes: &[NodeSpec],
    ) -> Result<Stage, ModelError> {
        let mut t = f.table()?;
        let role = match t.get("role") {
            Some(f) => match f.str()? {
                "source" => Role::Source,
                "collector" => Role::Collector,
                "store" => Role::Store,
                "reader" => Role::Reader,
                "component" => Role::Component,
                other => {
                    return Err(f.error(format!(
                        "unknown role \"{other}\" (source, collector, store, reader or component)"
                    )));
                }
            },
            None => Role::Component,
        };
        let kind = match t.get("kind") {
            Some(f) => match f.str()? {
                "deployment" => Kind::Deployment,
                "statefulset" => Kind::StatefulSet,
                "daemonset" => Kind::DaemonSet,
                "external" => Kind::External,
                other => {
                    return Err(f.error(format!(
                        "unknown kind \"{other}\" (deployment, statefulset, daemonset or external)"
                    )));
                }
            },
            None => Kind::Deployment,
        };
        let mut nodes = vec![];
        let mut node_names = vec![];
        if let Some(nf) = t.get("nodes") {
            for item in nf.array()? {
                let n = item.str()?;
                let i = model_nodes
                    .iter()
                    .position(|m| m.name == n)
                    .ok_or_else(|| item.error(format!("unknown node \"{n}\"")))?;
                nodes.push(i);
                node_names.push(n.to_string());
            }
        }
        let replicas = match (t.get("replicas"), kind) {
            (Some(f), Kind::DaemonSet) => {
                let r = at_least_one(&f)?;
                if r as usize != nodes.len() {
                    return Err(f.error(format!(
                        "a daemonset has one replica per node in nodes ({}), found {r}",
                        nodes.len()
                    )));
                }
                r
            }
            (Some(f), _) => {
                let r = at_least_one(&f)?;
                if u64::from(r) > MAX_REPLICAS {
                    return Err(f.error(format!("at most {MAX_REPLICAS} replicas, found {r}")));
                }
                r
            }
            (None, Kind::DaemonSet) => {
                if nodes.is_empty() {
                    return Err(t.missing("nodes"));
                }
                nodes.len() as u32
            }
            (None, _) => 1,
        };
        let min_ready = match t.get("min_ready") {
            Some(f) => {
                let m = at_least_one(&f)?;
                if m > replicas {
                    return Err(f.error(format!("min_ready ({m}) is above replicas ({replicas})")));
                }
                m
            }
            None => 1,
        };
        let repair_crews = match t.get("repair_crews") {
            Some(f) => u32::try_from(f.u64()?).map_err(|_| f.error("too large"))?,
            None => 0,
        };
        let probes = match t.get("probes") {
            Some(f) => {
                let mut pt = f.table()?;
                let liveness = match pt.get("liveness") {
                    Some(lf) => Some(self.probe(lf)?),
                    None => None,
                };
                pt.finish()?;
                liveness.map(|liveness| Probes { liveness })
            }
            None => None,
        };
        let failures = self.failures(&mut t, probes.is_some(), u64::from(replicas))?;
        let backoff = match t.get("backoff") {
            Some(f) => self.backoff(f)?,
            None if kind == Kind::External => None,
            None => Some(Backoff::new(BackoffProfile::Classic, None)),
        };
        let rate = match t.get("rate") {
            Some(f) if role == Role::Source => {
                let r = f.f64()?;
                if r <= 0.0 {
                    return Err(f.error(format!("must be a positive rate (metrics/s), found {r}")));
                }
                Some(r)
            }
            Some(f) => return Err(f.error("only a stage with role = \"source\" has a rate")),
            None => None,
        };
        let restart = match t.get("restart") {
            Some(f) => Some(self.dist(f, Need::NonNegative)?),
            None => None,
        };
        let k8s = [Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet];
        let recreate = match kube_key(&mut t, kind, "recreate", &k8s, "a Kubernetes workload")? {
            Some(f) => Some(self.dist(f, Need::NonNegative)?),
            None => None,
        };
        let shutdown = match kube_key(&mut t, kind, "shutdown", &k8s, "a Kubernetes workload")? {
            Some(f) => f.nonnegative_duration()?.min(GRACE_PERIOD),
            None => 0.0,
        };
        let eviction_delay = match kube_key(
            &mut t,
            kind,
            "eviction_delay",
            &[Kind::Deployment],
            "a deployment",
        )? {
            Some(f) => Some(f.nonnegative_duration()?),
            None => (kind == Kind::Deployment).then_some(DEFAULT_EVICTION_DELAY),
        };
        let operator_response = match kube_key(
            &mut t,
            kind,
            "operator_response",
            &[Kind::StatefulSet],
            "a statefulset",
        )? {
            Some(f) => Some(self.dist(f, Need::NonNegative)?),
            None => None,
        };
        let maintenance =
            match kube_key(&mut t, kind, "maintenance", &k8s, "a Kubernetes workload")? {
                Some(f) => Some(self.maintenance(f, kind, replicas)?),
                None => None,
            };
        let pods = [Kind::Deployment, Kind::StatefulSet];
        let spread = match kube_key(
            &mut t,
            kind,
            "spread",
            &pods,
            "a deployment or a statefulset",
        )? {
            Some(f) => Some(match f.str()? {
                "preferred" => Spread::Preferred,
                "required" => Spread::Required,
                other => {
                    return Err(f.error(format!(
                        "unknown spread \"{other}\" (preferred or required)"
                    )));
                }
            }),
            None => pods.contains(&kind).then_some(Spread::Preferred),
        };
        let pdb = match kube_key(&mut t, kind, "pdb", &pods, "a deployment or a statefulset")? {
            Some(f) => Some(pdb(f, replicas)?),
            None => None,
        };
        let sts = [Kind::StatefulSet];
        let volume = match kube_key(&mut t, kind, "volume", &sts, "a statefulset")? {
            Some(f) => Some(match f.str()? {
                "network" => Volume::Network,
                "local" => Volume::Local,
                other => {
                    return Err(f.error(format!("unknown volume \"{other}\" (network or local)")));
                }
            }),
            None => (kind == Kind::StatefulSet).then_some(Volume::Network),
        };
        let detach_wait = match kube_key(&mut t, kind, "detach_wait", &sts, "a statefulset")? {
            Some(f) if volume == Some(Volume::Local) => {
                return Err(f.error(
                    "a local volume never moves, so it has no detach_wait (use volume = \"network\")",
                ));
            }
            Some(f) => Some(f.nonnegative_duration()?),
            None => (volume == Some(Volume::Network)).then_some(DEFAULT_DETACH_WAIT),
        };
        let retention = match t.get("retention") {
            Some(f) if role == Role::Source => f.nonnegative_duration()?,
            Some(f) => return Err(f.error("only a stage with role = \"source\" has a retention")),
            None => 0.0,
        };
        let buffer = match t.get("buffer") {
            Some(f) if role == Role::Collector => Some(self.buffer(f)?),
            Some(f) => return Err(f.error("only a stage with role = \"collector\" has a buffer")),
            None if role == Role::Collector => Some(Buffer::default()),
            None => None,
        };
        let cache = match t.get("cache") {
            Some(f) if role == Role::Reader => {
                let mut ct = f.table()?;
                let max_staleness = ct.require("max_staleness")?.positive_duration()?;
                ct.finish()?;
                Some(Cache { max_staleness })
            }
            Some(f) => return Err(f.error("only a stage with role = \"reader\" has a cache")),
            None => None,
        };
        let mut stage = Stage {
            name,
            role,
            kind,
            replicas,
            min_ready,
            nodes,
            node_names,
            repair_crews,
            restart,
            backoff,
            probes,
            failures,
            rate,
            retention,
            recreate,
            shutdown,
            eviction_delay,
            operator_response,
            maintenance,
            buffer,
            cache,
            spread,
            pdb,
            volume,
            detach_wait,
        };
        if stage.restart.is_none() && (stage.can_fail(model_nodes) || stage.maintenance.is_some()) {
            return Err(t.missing("restart"));
        }
        if stage.nodes.is_empty() {
            stage.node_names.clear();
        }
        t.finish()?;
        Ok(stage)
    }

    fn failures(
        &self,
        t: &mut Table<'_>,
        has_liveness: bool,
        copies: u64,
    ) -> Result<Vec<FailureMode>, ModelError> {
        if t.has("failure") && t.has("failures") {
            let f = t.get("failures").expect("present");
            return Err(f.error("give either failure or [[failures]], not both"));
        }
        if let Some(f) = t.get("failure") {
            let every = self.every(f, copies)?;
            return Ok(vec![FailureMode {
                name: "crash".into(),
                every,
                detect: Detect::Exit,
                persists: None,
            }]);
        }
        let Some(ff) = t.get("failures") else {
            return Ok(vec![]);
        };
        let mut modes: Vec<FailureMode> = vec![];
        for item in ff.array()? {
            let mut mt = item.table()?;
            let name_f = mt.require("name")?;
            let name = name_f.str()?.to_string();
            if modes.iter().any(|m| m.name == name) {
                return Err(name_f.error(format!("two failure modes are named \"{name}\"")));
            }
            let every = self.every(mt.require("every")?, copies)?;
            let detect = match mt.get("detect") {
                None => Detect::Exit,
                Some(df) => match &df.node.value {
                    tree::Value::Str(s) if s == "exit" => Detect::Exit,
                    tree::Value::Str(s) if s == "liveness" => {
                        if !has_liveness {
                            return Err(df.error(
                                "detect = \"liveness\" needs a liveness probe: add probes = { liveness = {} }",
                            ));
                        }
                        Detect::Liveness
                    }
                    _ => Detect::After(self.dist(df, Need::NonNegative)?),
                },
            };
            if modes.len() >= usize::from(u16::MAX) {
                return Err(item.error("too many failure modes (at most 65535)"));
            }
            let persists = match mt.get("persists") {
                Some(pf) => Some(self.dist(pf, Need::NonNegative)?),
                None => None,
            };
            mt.finish()?;
            modes.push(FailureMode {
                name,
                every,
                detect,
                persists,
            });
        }
        Ok(modes)
    }

    fn maintenance(
        &self,
        f: Field<'_>,
        kind: Kind,
        replicas: u32,
    ) -> Result<Maintenance, ModelError> {
        let mut t = f.table()?;
        let every_f = t.require("every")?;
        let every = every_f.positive_duration()?;
        let expected = self.horizon.get() / every * f64::from(replicas);
        if expected > MAX_EXPECTED_FAILURES {
            return Err(every_f.error(format!(
                "a rollout every {every} s over the horizon is about {expected:.3e} Pod replacements per history, more than the {MAX_EXPECTED_FAILURES:e} a history may hold: is the unit right?"
            )));
        }
        let mut amount = |key: &str, default_pct: f64, round_up: bool| -> Result<u32, ModelError> {
            let Some(af) = t.get(key) else {
                return Ok(resolve_amount(default_pct, replicas, round_up));
            };
            if kind != Kind::Deployment {
                return Err(af.error(format!("only a deployment takes {key}")));
            }
            pods_or_percent(&af, replicas, round_up)
        };
        let max_surge = amount("max_surge", 25.0, true)?;
        let mut max_unavailable = amount("max_unavailable", 25.0, false)?;
        // Kubernetes' validation refuses both given as zero, a count or a percentage.
        let given_zero = |t: &Table<'_>, key: &str| match t.peek(key) {
            Some(tree::Value::Int(0)) => true,
            Some(tree::Value::Str(s)) => s.trim_end_matches('%').trim().parse::<f64>() == Ok(0.0),
            _ => false,
        };
        if kind == Kind::Deployment && max_surge == 0 && max_unavailable == 0 {
            if given_zero(&t, "max_surge") && given_zero(&t, "max_unavailable") {
                return Err(t.ctx.error(
                    t.origin,
                    &t.path,
                    "max_surge and max_unavailable cannot both be 0",
                ));
            }
            // Both resolve to 0 (percentages of few replicas): Kubernetes then lets one
            // Pod be unavailable (`ResolveFenceposts` in deployment/util).
            max_unavailable = 1;
        }
        t.finish()?;
        let deployment = kind == Kind::Deployment;
        Ok(Maintenance {
            every,
            max_surge: deployment.then_some(max_surge),
            max_unavailable: deployment.then_some(max_unavailable),
        })
    }

    fn buffer(&self, f: Field<'_>) -> Result<Buffer, ModelError> {
        let mut t = f.table()?;
        let d = Buffer::default();
        let limit = match t.get("limit") {
            Some(lf) => {
                let v = lf.f64()?;
                if v < 0.0 {
                    return Err(lf.error(format!("must not be negative, found {v}")));
                }
                v
            }
            None => d.limit,
        };
        let persistent = t.get("persistent").map_or(Ok(d.persistent), |f| f.bool())?;
        let drain_rate = match t.get("drain_rate") {
            Some(df) => {
                let v = df.f64()?;
                if v <= 0.0 {
                    return Err(df.error(format!("must be a positive rate (metrics/s), found {v}")));
                }
                Some(v)
            }
            None => None,
        };
        t.finish()?;
        Ok(Buffer {
            limit,
            persistent,
            drain_rate,
        })
    }

    fn probe(&self, f: Field<'_>) -> Result<Probe, ModelError> {
        let mut t = f.table()?;
        let d = Probe::DEFAULT;
        let period = t
            .get("period")
            .map_or(Ok(d.period), |f| f.positive_duration())?;
        let timeout = t
            .get("timeout")
            .map_or(Ok(d.timeout), |f| f.positive_duration())?;
        let failure_threshold = match t.get("failure_threshold") {
            Some(f) => at_least_one(&f)?,
            None => d.failure_threshold,
        };
        t.finish()?;
        Ok(Probe {
            period,
            failure_threshold,
            timeout,
        })
    }

    fn backoff(&self, f: Field<'_>) -> Result<Option<Backoff>, ModelError> {
        if let tree::Value::Bool(b) = f.node.value {
            return Ok(b.then(|| Backoff::new(BackoffProfile::Classic, None)));
        }
        let mut t = f
            .table()
            .map_err(|_| f.error("expected true, false or { profile, cap }"))?;
        let profile = match t.get("profile") {
            Some(pf) => match pf.str()? {
                "classic" => BackoffProfile::Classic,
                "reduced" => BackoffProfile::Reduced,
                other => {
                    return Err(
                        pf.error(format!("unknown profile \"{other}\" (classic or reduced)"))
                    );
                }
            },
            None => BackoffProfile::Classic,
        };
        let cap = match t.get("cap") {
            Some(cf) => Some(cf.positive_duration()?),
            None => None,
        };
        t.finish()?;
        Ok(Some(Backoff::new(profile, cap)))
    }

    /// A distribution: a bare duration (fixed) or a table.
    fn dist(&self, f: Field<'_>, need: Need) -> Result<Dist, ModelError> {
        let d = match &f.node.value {
            tree::Value::Table(_) => self.dist_table(f.clone())?,
            _ => Dist::fixed(f.duration()?),
        };
        let zero_atom = match &d.family {
            Family::Fixed { value } => *value == 0.0,
            Family::Uniform { max, .. } => *max == 0.0,
            Family::Empirical { samples } => samples.contains(&0.0),
            _ => false,
        } && d.shift == 0.0;
        match need {
            Need::Positive if zero_atom => {
                Err(f.error("must be positive: a draw here can be zero"))
            }
            _ if d.lower_bound() < 0.0 => Err(f.error("must not be negative")),
            _ => Ok(d),
        }
    }

    fn dist_table(&self, f: Field<'_>) -> Result<Dist, ModelError> {
        let mut t = f.table()?;
        let uncertain = match t.get("uncertain") {
            Some(uf) => Some(Box::new(self.epistemic(uf)?)),
            None => None,
        };
        if t.has("calibration") {
            let mut d = self.calibrated(t)?;
            if uncertain.is_some() {
                d.uncertain = uncertain;
            }
            return Ok(d);
        }
        let mut d = self.dist_family(t)?;
        d.uncertain = uncertain;
        Ok(d)
    }

    /// `uncertain = { dist = "lognormal", median = …, error_factor | sigma = … }` on the
    /// mean time, or `{ dist = "gamma", shape = …, exposure = … | mean_rate = … }` on the
    /// rate (docs/MODEL-SPEC-extensions.md).
    fn epistemic(&self, f: Field<'_>) -> Result<Epistemic, ModelError> {
        let mut t = f.table()?;
        let family_f = t.require("dist")?;
        let law = match family_f.str()? {
            "lognormal" => {
                let median = t.require("median")?.positive_duration()?;
                match (t.get("error_factor"), t.get("sigma")) {
                    (Some(ef), None) => Epistemic::lognormal_error_factor(median, ef.f64()?)
                        .map_err(|m| ef.error(m))?,
                    (None, Some(sf)) => {
                        Epistemic::lognormal(median, sf.f64()?).map_err(|m| sf.error(m))?
                    }
                    _ => {
                        return Err(f.error(
                            "an uncertain lognormal takes median + error_factor or median + sigma",
                        ));
                    }
                }
            }
            "gamma" => {
                let shape_f = t.require("shape")?;
                let shape = shape_f.f64()?;
                let exposure = match (t.get("exposure"), t.get("mean_rate")) {
                    (Some(ef), None) => ef.positive_duration()?,
                    (None, Some(rf)) => {
                        let rate = match &rf.node.value {
                            tree::Value::Str(text) => {
                                crate::units::parse_rate(text).map_err(|m| rf.error(m))?
                            }
                            _ => rf.f64()?,
                        };
                        if !(rate > 0.0 && rate.is_finite()) {
                            return Err(rf.error(format!("must be a positive rate, found {rate}")));
                        }
                        shape / rate
                    }
                    _ => {
                        return Err(f.error(
                            "an uncertain gamma (on the rate) takes shape + exposure or shape + mean_rate",
                        ));
                    }
                };
                Epistemic::gamma_rate(shape, exposure).map_err(|m| shape_f.error(m))?
            }
            other => {
                return Err(family_f.error(format!(
                    "unknown uncertain distribution \"{other}\" (lognormal on the mean time, or gamma on the rate)"
                )));
            }
        };
        t.finish()?;
        Ok(law)
    }

    fn dist_family(&self, mut t: Table<'_>) -> Result<Dist, ModelError> {
        let family_f = t.require("dist")?;
        let family = family_f.str()?.to_string();
        let family_err = family_f.error(format!(
            "unknown distribution \"{family}\" (exponential, fixed, uniform, lognormal, weibull, gamma or empirical)"
        ));
        let forms: &[&[&str]] = match family.as_str() {
            "exponential" => &[&["mean"]],
            "fixed" => &[&["value"]],
            "uniform" => &[&["min", "max"]],
            "lognormal" => &[&["median", "sigma"], &["mean", "cv"], &["mu", "sigma"]],
            "weibull" => &[&["shape", "scale"], &["shape", "mean"]],
            "gamma" => &[&["shape", "mean"], &["shape", "scale"]],
            "empirical" => &[&["samples"], &["file"]],
            _ => return Err(family_err),
        };
        let shift = match t.get("shift") {
            Some(sf) => Some(sf.nonnegative_duration()?),
            None => None,
        };
        const PARAMS: &[&str] = &[
            "mean", "value", "min", "max", "median", "sigma", "cv", "mu", "shape", "scale",
            "samples", "file",
        ];
        let present: Vec<&str> = PARAMS.iter().copied().filter(|k| t.has(k)).collect();
        let Some(form) = forms
            .iter()
            .find(|form| form.len() == present.len() && form.iter().all(|k| present.contains(k)))
        else {
            let wanted: Vec<String> = forms.iter().map(|f| f.join(" + ")).collect();
            let found = if present.is_empty() {
                "no parameters".to_string()
            } else {
                present.join(" + ")
            };
            return Err(t.ctx.error(
                t.origin,
                &t.path,
                format!("{family} takes {}; found {found}", wanted.join(" or ")),
            ));
        };
        let origin = t.origin.clone();
        let path = t.path.clone();
        let dur = |t: &mut Table<'_>, k: &str| t.get(k).expect("in form").positive_duration();
        let num = |t: &mut Table<'_>, k: &str| -> Result<f64, ModelError> {
            let f = t.get(k).expect("in form");
            let v = f.f64()?;
            if k != "mu" && v <= 0.0 {
                return Err(f.error(format!("must be positive, found {v}")));
            }
            Ok(v)
        };
        let built = match (family.as_str(), *form) {
            ("exponential", _) => Dist::exponential(dur(&mut t, "mean")?),
            ("fixed", _) => Ok(Dist::fixed(
                t.get("value").expect("in form").nonnegative_duration()?,
            )),
            ("uniform", _) => {
                let min = t.get("min").expect("in form").nonnegative_duration()?;
                let max = t.get("max").expect("in form").nonnegative_duration()?;
                Dist::uniform(min, max)
            }
            ("lognormal", ["median", _]) => {
                let m = dur(&mut t, "median")?;
                Dist::lognormal_median(m, num(&mut t, "sigma")?)
            }
            ("lognormal", ["mean", _]) => {
                let m = dur(&mut t, "mean")?;
                Dist::lognormal_mean_cv(m, num(&mut t, "cv")?)
            }
            ("lognormal", _) => {
                let mu = num(&mut t, "mu")?;
                Dist::lognormal(mu, num(&mut t, "sigma")?)
            }
            ("weibull", [_, "scale"]) => {
                let k = num(&mut t, "shape")?;
                Dist::weibull(k, dur(&mut t, "scale")?)
            }
            ("weibull", _) => {
                let k = num(&mut t, "shape")?;
                Dist::weibull_mean(k, dur(&mut t, "mean")?)
            }
            ("gamma", [_, "scale"]) => {
                let k = num(&mut t, "shape")?;
                Dist::gamma(k, dur(&mut t, "scale")?)
            }
            ("gamma", _) => {
                let k = num(&mut t, "shape")?;
                Dist::gamma(k, dur(&mut t, "mean")? / k)
            }
            ("empirical", ["samples"]) => {
                let sf = t.get("samples").expect("in form");
                let values = sf
                    .array()?
                    .iter()
                    .map(|x| x.nonnegative_duration())
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Dist::empirical(values).map_err(|m| sf.error(m))?)
            }
            ("empirical", _) => {
                let ff = t.get("file").expect("in form");
                let samples = self.samples_file(&ff)?;
                Ok(Dist::empirical(samples).map_err(|m| ff.error(m))?)
            }
            _ => unreachable!("every family's forms are matched above"),
        };
        let d = built.map_err(|m| t.ctx.error(&origin, &path, m))?;
        t.finish()?;
        match shift {
            Some(s) => d
                .with_shift(s)
                .map_err(|m| t_err(self.ctx, &origin, &path, m)),
            None => Ok(d),
        }
    }

    /// `{ calibration = "file.toml", name = "…", use = "fit" | "empirical", shift = … }`:
    /// the fitted distribution (or the measured samples) of entry `name` of a calibration
    /// file written by `hasim fit --out` (path relative to the model file).
    fn calibrated(&self, mut t: Table<'_>) -> Result<Dist, ModelError> {
        let file_f = t.require("calibration")?;
        let rel = file_f.str()?.to_string();
        let name_f = t.require("name")?;
        let name = name_f.str()?.to_string();
        let empirical = match t.get("use") {
            None => false,
            Some(u) => match u.str()? {
                "fit" => false,
                "empirical" => true,
                other => return Err(u.error(format!("unknown use \"{other}\" (fit or empirical)"))),
            },
        };
        let shift = match t.get("shift") {
            Some(sf) => Some(sf.nonnegative_duration()?),
            None => None,
        };
        t.finish()?;
        let path = self.base.join(&rel);
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if let Some(at) = self.chain.iter().position(|p| *p == canonical) {
            let cycle: Vec<String> = self.chain[at..]
                .iter()
                .chain([&canonical])
                .map(|p| p.display().to_string())
                .collect();
            return Err(file_f.error(format!(
                "calibration files refer to each other in a cycle: {}",
                cycle.join(" -> ")
            )));
        }
        if self.chain.len() >= CALIBRATION_DEPTH {
            return Err(file_f.error(format!(
                "calibration files refer to calibration files more than {CALIBRATION_DEPTH} deep"
            )));
        }
        let text = self.read_file(&file_f, &path)?;
        let shown = path.display().to_string();
        let root = tree::parse(&shown, &text)?;
        let inner = Reader {
            ctx: Ctx { file: &shown },
            base: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            read: self.read,
            chain: self.chain.iter().cloned().chain([canonical]).collect(),
            horizon: self.horizon.clone(),
        };
        let mut top = Table::new(inner.ctx, String::new(), &root)?;
        let dists = top
            .get("distributions")
            .ok_or_else(|| name_f.error(format!("{shown} has no [distributions]")))?;
        let mut dt = dists.table()?;
        let entry = dt
            .get(&name)
            .ok_or_else(|| name_f.error(format!("{shown} has no distribution named \"{name}\"")))?;
        let mut et = entry.table()?;
        let d = if empirical {
            let sf = et.require("samples")?;
            let values = sf
                .array()?
                .iter()
                .map(|x| x.nonnegative_duration())
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(cf) = et.get("censored")
                && cf.array()?.iter().any(|c| c.bool().unwrap_or(true))
            {
                return Err(name_f.error(format!(
                        "use = \"empirical\" needs uncensored samples, and \"{name}\" has censored ones: use the fit"
                    )));
            }
            Dist::empirical(values).map_err(|m| sf.error(m))?
        } else {
            inner.dist(et.require("fit")?, Need::NonNegative)?
        };
        match shift {
            Some(s) => {
                let total = s + d.shift;
                d.with_shift(total).map_err(|m| name_f.error(m))
            }
            None => Ok(d),
        }
    }

    /// One column of seconds, an optional header line, `#` comments and blank lines.
    fn samples_file(&self, f: &Field<'_>) -> Result<Vec<Seconds>, ModelError> {
        let rel = f.str()?;
        let path = self.base.join(rel);
        let text = self.read_file(f, &path)?;
        let mut out = vec![];
        for (i, line) in text.lines().enumerate() {
            let cell = line.split(',').next().unwrap_or("").trim();
            if cell.is_empty() || cell.starts_with('#') {
                continue;
            }
            match cell.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => out.push(v),
                Ok(v) => {
                    return Err(f.error(format!(
                        "{}:{}: {v} is not a duration in seconds",
                        path.display(),
                        i + 1
                    )));
                }
                Err(_) if out.is_empty() && i == first_content_line(&text) => continue, // header
                Err(_) => {
                    return Err(f.error(format!(
                        "{}:{}: \"{cell}\" is not a number of seconds",
                        path.display(),
                        i + 1
                    )));
                }
            }
        }
        Ok(out)
    }
}

fn first_content_line(text: &str) -> usize {
    text.lines()
        .position(|l| {
            let c = l.trim();
            !c.is_empty() && !c.starts_with('#')
        })
        .unwrap_or(0)
}

fn t_err(ctx: Ctx<'_>, origin: &Origin, path: &str, m: String) -> ModelError {
    ctx.error(origin, path, m)
}

#[derive(Clone, Copy)]
enum Need {
    /// Draws must be above zero (times to failure).
    Positive,
    /// Draws may be zero.
    NonNegative,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Takes `key` if present, refusing it on a kind it does not apply to.
fn kube_key<'a>(
    t: &mut Table<'a>,
    kind: Kind,
    key: &str,
    kinds: &[Kind],
    what: &str,
) -> Result<Option<Field<'a>>, ModelError> {
    match t.get(key) {
        Some(f) if !kinds.contains(&kind) => Err(f.error(format!("only {what} takes {key}"))),
        other => Ok(other),
    }
}

/// Kubernetes' percentage rounding: surge rounds up, unavailable rounds down.
fn resolve_amount(percent: f64, replicas: u32, round_up: bool) -> u32 {
    let exact = percent / 100.0 * f64::from(replicas);
    // Guard against 0.25·4 = 0.9999…: round to 1e-9 first.
    let exact = (exact * 1e9).round() / 1e9;
    (if round_up {
        exact.ceil()
    } else {
        exact.floor()
    }) as u32
}

/// `pdb = { min_available = N }` or `{ max_unavailable = N }`, N a count or a percentage
/// of `replicas` (rounded up, as the disruption controller does), at most `replicas`.
fn pdb(f: Field<'_>, replicas: u32) -> Result<Pdb, ModelError> {
    let mut t = f.table()?;
    let (min, max) = (t.get("min_available"), t.get("max_unavailable"));
    let (key, field) = match (min, max) {
        (Some(_), Some(m)) => {
            return Err(m.error("give either min_available or max_unavailable, not both"));
        }
        (Some(m), None) => ("min_available", m),
        (None, Some(m)) => ("max_unavailable", m),
        (None, None) => {
            return Err(f.error("a pdb needs min_available or max_unavailable"));
        }
    };
    let n = pods_or_percent(&field, replicas, true)?;
    if n > replicas {
        return Err(field.error(format!("{key} ({n}) is above replicas ({replicas})")));
    }
    t.finish()?;
    Ok(if key == "min_available" {
        Pdb::MinAvailable(n)
    } else {
        Pdb::MaxUnavailable(n)
    })
}

/// A number of Pods, given as a count or as a percentage of `replicas` (Kubernetes'
/// IntOrString), resolved with [`resolve_amount`].
fn pods_or_percent(f: &Field<'_>, replicas: u32, round_up: bool) -> Result<u32, ModelError> {
    match &f.node.value {
        tree::Value::Int(n) if *n >= 0 => u32::try_from(*n).map_err(|_| f.error("too large")),
        tree::Value::Str(s) if s.ends_with('%') => {
            match s.trim_end_matches('%').trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Ok(resolve_amount(p, replicas, round_up)),
                _ => Err(f.error(format!(
                    "expected a percentage from 0% to 100%, found \"{s}\""
                ))),
            }
        }
        _ => Err(f.error("expected a number of Pods or a percentage like \"25%\"")),
    }
}

fn at_least_one(f: &Field<'_>) -> Result<u32, ModelError> {
    match f.u64()? {
        0 => Err(f.error("must be at least 1")),
        n => u32::try_from(n).map_err(|_| f.error("too large")),
    }
}

fn open_unit(f: &Field<'_>) -> Result<f64, ModelError> {
    let v = f.f64()?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(f.error(format!("must be strictly between 0 and 1, found {v}")))
    }
}
