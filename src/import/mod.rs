//! `hasim import`: a model from the cluster's own manifests.
//!
//! Every Deployment, StatefulSet and DaemonSet becomes a stage named after it; its role
//! comes from the main container's image, its probes, rollout strategy, disruption
//! budget, anti-affinity and volumes from the manifests (Kubernetes' defaults where a
//! field is absent), a Telegraf's buffer and outputs from its `telegraf.conf`. What no
//! manifest holds — how often things fail, how long restarts take, how reliable the
//! nodes are — comes from a calibration file where one is given, else from the same
//! assumptions as the bundled models, each marked `# ASSUMPTION`. Every value taken
//! from a manifest carries a comment naming its file, line and field.
//!
//! Objects are validated against k8s-openapi's types (a wrong field type is refused
//! with its path) and then read from the YAML tree, which keeps every value's line.

pub mod telegraf;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use yaml::{Marked, Object, Yaml};

use crate::model::Role;
use crate::model::tree::toml_key as key;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Input that is not what it must be (exit 2).
    #[error("{0}")]
    Bad(String),
    /// Reading failed (exit 1).
    #[error("{0}")]
    Io(String),
}

/// What the command line asks of an import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// `NAME=ROLE` overrides of the role read from the image.
    pub roles: Vec<(String, Role)>,
    /// Nodes to assume when the manifests hold no `Node` objects.
    pub nodes: Option<usize>,
    /// A calibration file whose `STAGE-restart` / `STAGE-recreate` entries give restart
    /// times, and the path the model should use to refer to it.
    pub calibration: Option<(PathBuf, String)>,
    /// How often each workload is rolled out (`kubectl rollout restart`, a new image):
    /// with it, every workload gets a `[maintenance]` table from its update strategy.
    pub rollouts: Option<String>,
    /// The model's name.
    pub name: Option<String>,
}

/// A model's text and what the import noticed.
#[derive(Debug)]
pub struct Imported {
    pub toml: String,
    /// What was ignored or approximated, one line each.
    pub notes: Vec<String>,
    /// Every file read.
    pub sources: Vec<PathBuf>,
}

/// Kinds hasim models; everything else is ignored (and said so).
const WORKLOADS: [&str; 3] = ["Deployment", "StatefulSet", "DaemonSet"];

/// hasim's own probe (`app.kubernetes.io/name: hasim-probe`, as in
/// calibration/k8s/50-hasim-probe.yaml) watches the pipeline: it is not one of its stages.
fn is_hasim_probe(o: &yaml::Object) -> bool {
    let Some(labels) = o.value.at("metadata.labels") else {
        return false;
    };
    matches!(&labels.value, yaml::Yaml::Map(entries) if entries.iter().any(|(k, v)| {
        k == "app.kubernetes.io/name" && matches!(&v.value, yaml::Yaml::Str(s) if s == "hasim-probe")
    }))
}

/// The role an image plays: InfluxDB stores, Telegraf collects, Chronograf and Grafana
/// read; anything else is a component.
pub fn role_of_image(image: &str) -> Role {
    // `registry:5000/org/influxdb:1.8@sha256:…` → `influxdb`
    let last = image.rsplit('/').next().unwrap_or(image);
    let base = last
        .split(['@', ':'])
        .next()
        .unwrap_or(last)
        .to_ascii_lowercase();
    if base.contains("influxdb") {
        Role::Store
    } else if base.contains("telegraf") {
        Role::Collector
    } else if base.contains("chronograf") || base.contains("grafana") {
        Role::Reader
    } else {
        Role::Component
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Source => "source",
        Role::Collector => "collector",
        Role::Store => "store",
        Role::Reader => "reader",
        Role::Component => "component",
    }
}

/// Reads every manifest under `paths` and writes a model.
pub fn import(paths: &[PathBuf], opts: &ImportOptions) -> Result<Imported, ImportError> {
    crate::fsio::stdin_at_most_once(paths.iter().map(|p| ("PATH", p.as_path())))
        .map_err(ImportError::Bad)?;
    let files = yaml::files(paths)?;
    if files.is_empty() {
        return Err(ImportError::Bad(
            "no manifest files (*.yaml, *.yml, *.json) under the paths given".into(),
        ));
    }
    let mut objects = Vec::new();
    for f in &files {
        let shown = if crate::fsio::is_stdin(f) {
            "-".to_string()
        } else {
            f.display().to_string()
        };
        let text = yaml::read(f)?;
        objects.extend(yaml::objects(&shown, &text)?);
    }
    let mut notes = Vec::new();
    let mut ignored: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut workloads = Vec::new();
    let (mut pdbs, mut config_maps, mut nodes) = (Vec::new(), Vec::new(), Vec::new());
    for o in objects {
        let kind = o.kind().to_string();
        match kind.as_str() {
            "Deployment" | "StatefulSet" | "DaemonSet" if is_hasim_probe(&o) => notes.push(format!(
                "left out {} {}: hasim's own probe watches the pipeline, it is not a stage of it",
                kind,
                o.name()
            )),
            "Deployment" | "StatefulSet" | "DaemonSet" => {
                validate(&o)?;
                workloads.push(o);
            }
            "PodDisruptionBudget" => {
                validate(&o)?;
                pdbs.push(o);
            }
            "ConfigMap" => {
                validate(&o)?;
                config_maps.push(o);
            }
            "Node" => {
                validate(&o)?;
                nodes.push(o);
            }
            _ => ignored.entry(kind).or_default().push(o.name().to_string()),
        }
    }
    for (kind, names) in &ignored {
        notes.push(format!(
            "ignored {} {kind} ({}): not modelled",
            names.len(),
            names.join(", ")
        ));
    }
    if workloads.is_empty() {
        return Err(ImportError::Bad(format!(
            "no {} among the manifests: nothing to model",
            WORKLOADS.join(", ")
        )));
    }
    let cluster = Cluster::new(&nodes, opts.nodes)?;
    let calibration = match &opts.calibration {
        Some((path, shown)) => Some(Calibration::read(path, shown)?),
        None => None,
    };
    let mut stages = Vec::new();
    for o in &workloads {
        stages.push(Stage::read(
            o,
            opts,
            &pdbs,
            &config_maps,
            &cluster,
            &mut notes,
        )?);
    }
    // Two workloads of one name (in two namespaces, or of two kinds) stay apart.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for s in &stages {
        *seen.entry(s.name.clone()).or_default() += 1;
    }
    for s in &mut stages {
        if seen[&s.name] > 1 {
            let ns = if s.namespace.is_empty() {
                "default"
            } else {
                &s.namespace
            };
            s.name = format!("{}-{}-{}", ns, s.kind_key(), s.name);
        }
    }
    let text = write_model(&stages, &cluster, opts, calibration.as_ref(), &mut notes)?;
    let mut sources = files;
    if let Some((p, _)) = &opts.calibration {
        sources.push(p.clone());
    }
    Ok(Imported {
        toml: text,
        notes,
        sources,
    })
}

/// Checks an object against k8s-openapi's type for its kind and apiVersion.
fn validate(o: &Object) -> Result<(), ImportError> {
    use k8s_openapi::api::{apps::v1 as apps, core::v1 as core, policy::v1 as policy};
    let served = |want: &str| -> Result<(), ImportError> {
        if o.api_version() == want {
            Ok(())
        } else {
            Err(o.error(
                "apiVersion",
                format!(
                    "unknown apiVersion \"{}\" for a {}: Kubernetes serves it as \"{want}\"",
                    o.api_version(),
                    o.kind()
                ),
            ))
        }
    };
    let json = o.value.to_json();
    fn typed<T: serde::de::DeserializeOwned>(
        o: &Object,
        json: serde_json::Value,
    ) -> Result<(), ImportError> {
        serde_path_to_error::deserialize::<_, T>(json)
            .map(|_| ())
            .map_err(|e| {
                let path = e.path().to_string().replace('[', ".").replace(']', "");
                let path = if path == "." { String::new() } else { path };
                o.error(&path, e.into_inner())
            })
    }
    match o.kind() {
        "Deployment" => served("apps/v1").and_then(|_| typed::<apps::Deployment>(o, json)),
        "StatefulSet" => served("apps/v1").and_then(|_| typed::<apps::StatefulSet>(o, json)),
        "DaemonSet" => served("apps/v1").and_then(|_| typed::<apps::DaemonSet>(o, json)),
        "PodDisruptionBudget" => {
            served("policy/v1").and_then(|_| typed::<policy::PodDisruptionBudget>(o, json))
        }
        "ConfigMap" => served("v1").and_then(|_| typed::<core::ConfigMap>(o, json)),
        "Node" => served("v1").and_then(|_| typed::<core::Node>(o, json)),
        _ => Ok(()),
    }
}

/// A value with the comment that says where it came from.
#[derive(Clone, Debug)]
struct Sourced {
    toml: String,
    comment: String,
}

fn from(toml: impl Into<String>, comment: impl Into<String>) -> Sourced {
    Sourced {
        toml: toml.into(),
        comment: comment.into(),
    }
}

/// Name, labels, CPUs (from its capacity), where it was read.
type ClusterNode = (String, BTreeMap<String, String>, Option<f64>, String);

/// The nodes: from `Node` objects, else `--nodes N` (default 1) named node-1 ….
struct Cluster {
    nodes: Vec<ClusterNode>,
    from_manifests: Option<String>,
}

impl Cluster {
    fn new(objs: &[Object], count: Option<usize>) -> Result<Self, ImportError> {
        if !objs.is_empty() {
            let nodes = objs
                .iter()
                .map(|o| {
                    let cpus = o
                        .value
                        .str_at("status.capacity.cpu")
                        .and_then(|c| c.parse::<f64>().ok());
                    (
                        o.name().to_string(),
                        labels(&o.value, "metadata.labels"),
                        cpus,
                        format!("{} metadata.name", o.source("metadata.name")),
                    )
                })
                .collect();
            let files: Vec<String> = objs.iter().map(|o| o.source("metadata.name")).collect();
            return Ok(Cluster {
                nodes,
                from_manifests: Some(files.join(", ")),
            });
        }
        let n = count.unwrap_or(1);
        if n == 0 {
            return Err(ImportError::Bad("--nodes: at least 1".into()));
        }
        Ok(Cluster {
            nodes: (1..=n)
                .map(|i| {
                    (
                        format!("node-{i}"),
                        BTreeMap::new(),
                        None,
                        "--nodes: no Node objects among the manifests".to_string(),
                    )
                })
                .collect(),
            from_manifests: None,
        })
    }

    /// The nodes a Pod template may run on (its `nodeSelector` against the nodes'
    /// labels; every node when the nodes' labels are not known).
    fn eligible(&self, selector: &BTreeMap<String, String>) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, labels, _, _)| {
                self.from_manifests.is_none()
                    || selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            })
            .map(|(n, _, _, _)| n.clone())
            .collect()
    }
}

fn labels(v: &Marked, path: &str) -> BTreeMap<String, String> {
    match v.at(path).map(|m| &m.value) {
        Some(Yaml::Map(entries)) => entries
            .iter()
            .filter_map(|(k, v)| match &v.value {
                Yaml::Str(s) => Some((k.clone(), s.clone())),
                Yaml::Int(i) => Some((k.clone(), i.to_string())),
                Yaml::Bool(b) => Some((k.clone(), b.to_string())),
                _ => None,
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Does a label selector (`matchLabels`, `matchExpressions`) at `path` select `labels`?
/// An empty selector selects everything, as for a PodDisruptionBudget in policy/v1.
fn selects(v: &Marked, path: &str, pod: &BTreeMap<String, String>) -> bool {
    let want = labels(v, &format!("{path}.matchLabels"));
    if !want.iter().all(|(k, val)| pod.get(k) == Some(val)) {
        return false;
    }
    let Some(Yaml::Seq(exprs)) = v.at(&format!("{path}.matchExpressions")).map(|m| &m.value) else {
        return true;
    };
    exprs.iter().all(|e| {
        let key = e.str_at("key").unwrap_or("");
        let values: Vec<&str> = match e.at("values").map(|m| &m.value) {
            Some(Yaml::Seq(vs)) => vs
                .iter()
                .filter_map(|v| match &v.value {
                    Yaml::Str(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect(),
            _ => vec![],
        };
        match e.str_at("operator").unwrap_or("") {
            "In" => pod.get(key).is_some_and(|v| values.contains(&v.as_str())),
            "NotIn" => !pod.get(key).is_some_and(|v| values.contains(&v.as_str())),
            "Exists" => pod.contains_key(key),
            "DoesNotExist" => !pod.contains_key(key),
            _ => false,
        }
    })
}

fn int_at(v: &Marked, path: &str) -> Option<i64> {
    match v.at(path)?.value {
        Yaml::Int(i) => Some(i),
        _ => None,
    }
}

/// An int-or-string (`1`, `"25%"`) as a model value: a count or a percentage string.
fn int_or_percent(v: &Marked, path: &str) -> Option<String> {
    match &v.at(path)?.value {
        Yaml::Int(i) => Some(i.to_string()),
        Yaml::Str(s) if s.ends_with('%') => Some(format!("\"{s}\"")),
        Yaml::Str(s) => s.parse::<i64>().ok().map(|i| i.to_string()),
        _ => None,
    }
}

/// Seconds as a model duration: `"10s"`, `"3m"`, `"6h"`, `"0.5s"`.
fn secs(s: f64) -> String {
    let whole = s.fract() == 0.0;
    let text = if whole && s >= 86_400.0 && s % 86_400.0 == 0.0 {
        format!("{}d", s / 86_400.0)
    } else if whole && s >= 3600.0 && s % 3600.0 == 0.0 {
        format!("{}h", s / 3600.0)
    } else if whole && s >= 60.0 && s % 60.0 == 0.0 {
        format!("{}m", s / 60.0)
    } else {
        format!("{s}s")
    };
    format!("\"{text}\"")
}

/// One workload, read.
struct Stage {
    name: String,
    namespace: String,
    kind: &'static str,
    role: Role,
    image: String,
    replicas: Option<Sourced>,
    nodes: Vec<String>,
    nodes_comment: String,
    probe: Option<[Sourced; 3]>,
    readiness: Option<String>,
    grace: Sourced,
    grace_seconds: f64,
    strategy: Option<Vec<(String, Sourced)>>,
    strategy_note: Option<String>,
    pdb: Option<Sourced>,
    spread: Option<Sourced>,
    volume: Option<Sourced>,
    eviction_delay: Option<Sourced>,
    telegraf: Option<(telegraf::Telegraf, String, u64)>,
}

impl Stage {
    fn kind_key(&self) -> &'static str {
        self.kind
    }

    fn read(
        o: &Object,
        opts: &ImportOptions,
        pdbs: &[Object],
        config_maps: &[Object],
        cluster: &Cluster,
        notes: &mut Vec<String>,
    ) -> Result<Stage, ImportError> {
        let v = &o.value;
        let name = o.name().to_string();
        if name.is_empty() {
            return Err(o.error("metadata.name", "a workload needs a name"));
        }
        let kind = match o.kind() {
            "Deployment" => "deployment",
            "StatefulSet" => "statefulset",
            _ => "daemonset",
        };
        let pod = "spec.template.spec";
        let Some(Yaml::Seq(containers)) = v.at(&format!("{pod}.containers")).map(|m| &m.value)
        else {
            return Err(o.error(
                &format!("{pod}.containers"),
                "a workload without containers",
            ));
        };
        if containers.is_empty() {
            return Err(o.error(
                &format!("{pod}.containers"),
                "a workload without containers",
            ));
        }
        // The main container: the one `kubectl.kubernetes.io/default-container` names, else
        // the first whose image hasim knows, else the first.
        let annotated = match v.at("spec.template.metadata.annotations").map(|m| &m.value) {
            Some(Yaml::Map(es)) => es
                .iter()
                .find(|(k, _)| k == "kubectl.kubernetes.io/default-container")
                .and_then(|(_, v)| match &v.value {
                    Yaml::Str(s) => Some(s.clone()),
                    _ => None,
                }),
            _ => None,
        };
        let image_of = |c: &Marked| c.str_at("image").unwrap_or("").to_string();
        let main = annotated
            .and_then(|n| {
                containers
                    .iter()
                    .position(|c| c.str_at("name") == Some(n.as_str()))
            })
            .or_else(|| {
                containers
                    .iter()
                    .position(|c| role_of_image(&image_of(c)) != Role::Component)
            })
            .unwrap_or(0);
        let c = format!("{pod}.containers.{main}");
        let image = v.str_at(&format!("{c}.image")).unwrap_or("").to_string();
        let role = opts
            .roles
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
            .unwrap_or_else(|| role_of_image(&image));
        let replicas = (kind != "daemonset").then(|| match int_at(v, "spec.replicas") {
            Some(r) => from(
                r.max(1).to_string(),
                format!("{} spec.replicas", o.source("spec.replicas")),
            ),
            None => from("1", "spec.replicas unset: Kubernetes' default 1"),
        });
        if int_at(v, "spec.replicas") == Some(0) {
            notes.push(format!(
                "{name}: spec.replicas is 0 (scaled down); modelled with 1 replica"
            ));
        }
        let pod_labels = labels(v, "spec.template.metadata.labels");
        let node_selector = labels(v, &format!("{pod}.nodeSelector"));
        let nodes = cluster.eligible(&node_selector);
        if nodes.is_empty() {
            return Err(o.error(
                &format!("{pod}.nodeSelector"),
                "no node given matches this nodeSelector: its Pods could run nowhere",
            ));
        }
        let nodes_comment = match (&cluster.from_manifests, node_selector.is_empty()) {
            (Some(_), false) => {
                format!("{} nodeSelector", o.source(&format!("{pod}.nodeSelector")))
            }
            (Some(_), true) => "every Node given".to_string(),
            (None, _) => "every node (none given: --nodes)".to_string(),
        };
        // Liveness probe, with Kubernetes' defaults for what is unset.
        let probe_path = format!("{c}.livenessProbe");
        let probe = v.at(&probe_path).map(|_| {
            let field = |key: &str, default: i64, unit: bool| {
                let p = format!("{probe_path}.{key}");
                match int_at(v, &p) {
                    Some(x) => from(
                        if unit { secs(x as f64) } else { x.to_string() },
                        format!("{} livenessProbe.{key}", o.source(&p)),
                    ),
                    None => from(
                        if unit {
                            secs(default as f64)
                        } else {
                            default.to_string()
                        },
                        format!("livenessProbe.{key} unset: Kubernetes' default {default}"),
                    ),
                }
            };
            [
                field("periodSeconds", 10, true),
                field("failureThreshold", 3, false),
                field("timeoutSeconds", 1, true),
            ]
        });
        if let Some(d) = int_at(v, &format!("{probe_path}.initialDelaySeconds")).filter(|d| *d > 0)
        {
            notes.push(format!(
                "{name}: livenessProbe.initialDelaySeconds {d} s is not modelled (a new container is probed from its start)"
            ));
        }
        let ready_path = format!("{c}.readinessProbe");
        let readiness = v.at(&ready_path).map(|_| {
            let period = int_at(v, &format!("{ready_path}.periodSeconds")).unwrap_or(10);
            let delay = int_at(v, &format!("{ready_path}.initialDelaySeconds")).unwrap_or(0);
            format!(
                "{} readinessProbe: initial delay {delay} s, period {period} s — `restart` and `recreate` run to Ready, so they include this delay and up to one period",
                o.source(&ready_path)
            )
        });
        let grace_path = format!("{pod}.terminationGracePeriodSeconds");
        let (grace, grace_seconds) = match int_at(v, &grace_path) {
            Some(g) => (
                from(
                    g.to_string(),
                    format!("{} terminationGracePeriodSeconds", o.source(&grace_path)),
                ),
                g as f64,
            ),
            None => (
                from(
                    "30",
                    "terminationGracePeriodSeconds unset: Kubernetes' default 30 s",
                ),
                30.0,
            ),
        };
        let (strategy, strategy_note) = strategy(o, kind, notes);
        // A PodDisruptionBudget in the workload's namespace that selects its Pods.
        let pdb = pdbs
            .iter()
            .find(|p| p.namespace() == o.namespace() && selects(&p.value, "spec.selector", &pod_labels))
            .map(|p| {
                let (key, path) = if p.value.at("spec.minAvailable").is_some() {
                    ("min_available", "spec.minAvailable")
                } else {
                    ("max_unavailable", "spec.maxUnavailable")
                };
                match int_or_percent(&p.value, path) {
                    Some(val) => from(
                        format!("{{ {key} = {val} }}"),
                        format!("{} {} (PodDisruptionBudget {})", p.source(path), path.trim_start_matches("spec."), p.name()),
                    ),
                    // A PDB with neither: policy/v1 allows it; it blocks nothing.
                    None => from(
                        "{ max_unavailable = \"100%\" }",
                        format!("{} spec (PodDisruptionBudget {}) sets neither minAvailable nor maxUnavailable", p.source("spec"), p.name()),
                    ),
                }
            });
        let spread = spread(o, &pod_labels);
        let volume = (kind == "statefulset").then(|| volume(o, notes)).flatten();
        let eviction_delay = (kind == "deployment").then(|| eviction_delay(o));
        let telegraf = if role == Role::Collector && image.contains("telegraf") {
            telegraf_config(o, config_maps, &c, notes)?
        } else {
            None
        };
        Ok(Stage {
            name,
            namespace: o.namespace().to_string(),
            kind,
            role,
            image,
            replicas,
            nodes,
            nodes_comment,
            probe,
            readiness,
            grace,
            grace_seconds,
            strategy,
            strategy_note,
            pdb,
            spread,
            volume,
            eviction_delay,
            telegraf,
        })
    }
}

/// The update strategy as `[maintenance]` keys (without `every`), or a note why a
/// rollout does nothing.
fn strategy(
    o: &Object,
    kind: &str,
    notes: &mut Vec<String>,
) -> (Option<Vec<(String, Sourced)>>, Option<String>) {
    let v = &o.value;
    let name = o.name();
    match kind {
        "deployment" => {
            let t = v.str_at("spec.strategy.type").unwrap_or("RollingUpdate");
            if t == "Recreate" {
                // Every old Pod is deleted at once and the new ones follow: a rolling
                // update with no surge and everything unavailable.
                let src = format!(
                    "{} strategy.type Recreate: every old Pod goes first",
                    o.source("spec.strategy.type")
                );
                return (
                    Some(vec![
                        ("max_surge".into(), from("0", src.clone())),
                        ("max_unavailable".into(), from("\"100%\"", src)),
                    ]),
                    None,
                );
            }
            let key = |k: &str, model: &str| {
                let p = format!("spec.strategy.rollingUpdate.{k}");
                match int_or_percent(v, &p) {
                    Some(val) => (
                        model.to_string(),
                        from(val, format!("{} strategy.rollingUpdate.{k}", o.source(&p))),
                    ),
                    None => (
                        model.to_string(),
                        from(
                            "\"25%\"",
                            format!("strategy.rollingUpdate.{k} unset: Kubernetes' default 25 %"),
                        ),
                    ),
                }
            };
            (
                Some(vec![
                    key("maxSurge", "max_surge"),
                    key("maxUnavailable", "max_unavailable"),
                ]),
                None,
            )
        }
        "statefulset" => {
            let t = v
                .str_at("spec.updateStrategy.type")
                .unwrap_or("RollingUpdate");
            if t == "OnDelete" {
                return (
                    None,
                    Some(format!(
                        "{} updateStrategy OnDelete: a rollout replaces no Pod until someone deletes it",
                        o.source("spec.updateStrategy.type")
                    )),
                );
            }
            if int_at(v, "spec.updateStrategy.rollingUpdate.partition").is_some_and(|p| p > 0) {
                notes.push(format!(
                    "{name}: updateStrategy.rollingUpdate.partition is not modelled: a rollout replaces every Pod"
                ));
            }
            if v.at("spec.updateStrategy.rollingUpdate.maxUnavailable")
                .is_some()
            {
                notes.push(format!(
                    "{name}: updateStrategy.rollingUpdate.maxUnavailable (alpha) is not modelled: one Pod at a time"
                ));
            }
            (
                Some(vec![]),
                Some(format!(
                    "StatefulSet RollingUpdate{}: one Pod at a time, highest ordinal first, each Ready before the next",
                    if v.at("spec.updateStrategy.type").is_some() {
                        format!(" ({})", o.source("spec.updateStrategy.type"))
                    } else {
                        " (Kubernetes' default)".into()
                    }
                )),
            )
        }
        _ => {
            let t = v
                .str_at("spec.updateStrategy.type")
                .unwrap_or("RollingUpdate");
            if t == "OnDelete" {
                return (
                    None,
                    Some(format!(
                        "{} updateStrategy OnDelete: a rollout replaces no Pod until someone deletes it",
                        o.source("spec.updateStrategy.type")
                    )),
                );
            }
            if int_or_percent(v, "spec.updateStrategy.rollingUpdate.maxSurge")
                .is_some_and(|s| s != "0" && s != "\"0%\"")
            {
                notes.push(format!(
                    "{name}: DaemonSet maxSurge is not modelled: each Pod is killed before its replacement starts"
                ));
            }
            (
                Some(vec![]),
                Some("DaemonSet RollingUpdate: each Pod is killed, then re-created".to_string()),
            )
        }
    }
}

/// `spread` from pod anti-affinity or topology spread on the hostname against the
/// workload's own Pods.
fn spread(o: &Object, pod_labels: &BTreeMap<String, String>) -> Option<Sourced> {
    let v = &o.value;
    let hostname = "kubernetes.io/hostname";
    let aa = "spec.template.spec.affinity.podAntiAffinity";
    let terms = |path: &str, inner: &str| -> Vec<String> {
        match v.at(path).map(|m| &m.value) {
            Some(Yaml::Seq(items)) => (0..items.len())
                .map(|i| format!("{path}.{i}{inner}"))
                .filter(|t| {
                    v.str_at(&format!("{t}.topologyKey")) == Some(hostname)
                        && selects(v, &format!("{t}.labelSelector"), pod_labels)
                })
                .collect(),
            _ => vec![],
        }
    };
    let required = format!("{aa}.requiredDuringSchedulingIgnoredDuringExecution");
    if !terms(&required, "").is_empty() {
        return Some(from(
            "\"required\"",
            format!(
                "{} podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution on {hostname}",
                o.source(&required)
            ),
        ));
    }
    let tsc = "spec.template.spec.topologySpreadConstraints";
    if let Some(Yaml::Seq(items)) = v.at(tsc).map(|m| &m.value) {
        for i in 0..items.len() {
            let t = format!("{tsc}.{i}");
            if v.str_at(&format!("{t}.topologyKey")) == Some(hostname)
                && selects(v, &format!("{t}.labelSelector"), pod_labels)
            {
                let hard = v.str_at(&format!("{t}.whenUnsatisfiable")) == Some("DoNotSchedule")
                    && int_at(v, &format!("{t}.maxSkew")) == Some(1);
                return Some(if hard {
                    from(
                        "\"required\"",
                        format!(
                            "{} topologySpreadConstraints maxSkew 1 DoNotSchedule on {hostname} (read as one Pod per node)",
                            o.source(tsc)
                        ),
                    )
                } else {
                    from(
                        "\"preferred\"",
                        format!("{} topologySpreadConstraints on {hostname}", o.source(tsc)),
                    )
                });
            }
        }
    }
    let preferred = format!("{aa}.preferredDuringSchedulingIgnoredDuringExecution");
    (!terms(&preferred, ".podAffinityTerm").is_empty()).then(|| {
        from(
            "\"preferred\"",
            format!(
                "{} podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution on {hostname}",
                o.source(&preferred)
            ),
        )
    })
}

/// A StatefulSet's volume: local when its claim asks for a local storage class.
fn volume(o: &Object, notes: &mut Vec<String>) -> Option<Sourced> {
    let v = &o.value;
    let Some(Yaml::Seq(claims)) = v.at("spec.volumeClaimTemplates").map(|m| &m.value) else {
        notes.push(format!(
            "{}: a StatefulSet without volumeClaimTemplates: its data lives and dies with each Pod",
            o.name()
        ));
        return None;
    };
    let class_path = (0..claims.len())
        .map(|i| format!("spec.volumeClaimTemplates.{i}.spec.storageClassName"))
        .find(|p| v.str_at(p).is_some());
    Some(match class_path {
        Some(p) if v.str_at(&p).is_some_and(|c| c.contains("local")) => from(
            "\"local\"",
            format!(
                "{} storageClassName {}: pinned to its node",
                o.source(&p),
                v.str_at(&p).unwrap_or("")
            ),
        ),
        Some(p) => from(
            "\"network\"",
            format!(
                "{} storageClassName {}: ASSUMPTION, a volume that follows its Pod",
                o.source(&p),
                v.str_at(&p).unwrap_or("")
            ),
        ),
        None => from(
            "\"network\"",
            format!(
                "{} volumeClaimTemplates, default storage class: ASSUMPTION, a volume that follows its Pod",
                o.source("spec.volumeClaimTemplates")
            ),
        ),
    })
}

/// 50 s node-monitor grace plus the toleration of `node.kubernetes.io/unreachable`
/// (300 s, added by the DefaultTolerationSeconds admission plugin, when unset).
fn eviction_delay(o: &Object) -> Sourced {
    let v = &o.value;
    let tol = "spec.template.spec.tolerations";
    if let Some(Yaml::Seq(items)) = v.at(tol).map(|m| &m.value) {
        for i in 0..items.len() {
            let t = format!("{tol}.{i}");
            if v.str_at(&format!("{t}.key")) == Some("node.kubernetes.io/unreachable")
                && let Some(s) = int_at(v, &format!("{t}.tolerationSeconds"))
            {
                return from(
                    secs(50.0 + s as f64),
                    format!(
                        "50 s node-monitor grace + {} tolerationSeconds {s} [k8s-facts §2]",
                        o.source(&format!("{t}.tolerationSeconds"))
                    ),
                );
            }
        }
    }
    from(
        "\"350s\"",
        "50 s node-monitor grace + 300 s default toleration (none in the manifest) [k8s-facts §2]",
    )
}

/// The Telegraf config a collector mounts from a ConfigMap: (config, source of its
/// file, first line of the config text in the manifest file).
fn telegraf_config(
    o: &Object,
    config_maps: &[Object],
    container: &str,
    notes: &mut Vec<String>,
) -> Result<Option<(telegraf::Telegraf, String, u64)>, ImportError> {
    let v = &o.value;
    let vols = "spec.template.spec.volumes";
    let Some(Yaml::Seq(volumes)) = v.at(vols).map(|m| &m.value) else {
        notes.push(format!(
            "{}: Telegraf mounts no ConfigMap: Telegraf's defaults assumed",
            o.name()
        ));
        return Ok(None);
    };
    let mounted: Vec<String> = match v.at(&format!("{container}.volumeMounts")).map(|m| &m.value) {
        Some(Yaml::Seq(ms)) => ms
            .iter()
            .filter_map(|m| m.str_at("name").map(str::to_string))
            .collect(),
        _ => vec![],
    };
    let cm_names: Vec<String> = volumes
        .iter()
        .filter(|vol| {
            vol.str_at("name")
                .is_some_and(|n| mounted.iter().any(|m| m == n))
        })
        .filter_map(|vol| vol.str_at("configMap.name").map(str::to_string))
        .collect();
    for cm_name in cm_names {
        let Some(cm) = config_maps
            .iter()
            .find(|c| c.name() == cm_name && c.namespace() == o.namespace())
        else {
            notes.push(format!(
                "{}: ConfigMap {cm_name} is mounted but not among the manifests: Telegraf's defaults assumed",
                o.name()
            ));
            continue;
        };
        let Some(Yaml::Map(data)) = cm.value.at("data").map(|m| &m.value) else {
            continue;
        };
        let Some((key, text)) = data.iter().find_map(|(k, val)| match &val.value {
            Yaml::Str(s) if k.ends_with(".conf") => Some((k.clone(), s.clone())),
            _ => None,
        }) else {
            continue;
        };
        let path = format!("data.{key}");
        let first = cm.block_start(&path, &text);
        let conf = telegraf::parse(&text).map_err(|(line, e)| {
            let message = format!("a Telegraf config that does not parse: {e}");
            match line {
                Some(l) => cm.error_at_line(&path, first + l as u64 - 1, message),
                None => cm.error(&path, message),
            }
        })?;
        return Ok(Some((conf, cm.file.clone(), first)));
    }
    Ok(None)
}

/// Restart-time entries of a calibration file, by name, with where each came from.
struct Calibration {
    shown: String,
    entries: BTreeMap<String, String>,
}

impl Calibration {
    fn read(path: &Path, shown: &str) -> Result<Self, ImportError> {
        let text = yaml::read(path)?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ImportError::Bad(format!("{}: {}", path.display(), e.message()))
        })?;
        let Some(toml::Value::Table(d)) = table.get("distributions") else {
            return Err(ImportError::Bad(format!(
                "{}: not a calibration file (no [distributions.NAME] tables)",
                path.display()
            )));
        };
        let entries = d
            .iter()
            .map(|(k, v)| {
                let src = v
                    .get("source")
                    .and_then(|s| s.as_str())
                    .unwrap_or("")
                    .to_string();
                (k.clone(), src)
            })
            .collect();
        Ok(Calibration {
            shown: shown.to_string(),
            entries,
        })
    }

    /// `{ calibration = …, name = "STAGE-key" }` when the file has that entry.
    fn entry(&self, stage: &str, key: &str) -> Option<Sourced> {
        let name = format!("{stage}-{key}");
        let src = self.entries.get(&name)?;
        let toml = format!(
            "{{ calibration = {}, name = {} }}",
            toml_str(&self.shown),
            toml_str(&name)
        );
        let said = src.split(';').next().unwrap_or("").trim();
        Some(from(
            toml,
            if said.is_empty() {
                "measured".to_string()
            } else {
                format!("measured: {said}")
            },
        ))
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `key = value  # comment`, the comment aligned as in the bundled models.
fn line(out: &mut String, indent: &str, k: &str, s: &Sourced) {
    let head = format!("{indent}{k} = {}", s.toml);
    if s.comment.is_empty() {
        let _ = writeln!(out, "{head}");
    } else {
        let _ = writeln!(out, "{head:<27} # {}", s.comment);
    }
}

/// Restart-time assumptions by role, as in models/seed.toml.
fn restart_defaults(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Store => ("8s", "12s"),
        Role::Reader => ("5s", "6s"),
        _ => ("5s", "5s"),
    }
}

fn write_model(
    stages: &[Stage],
    cluster: &Cluster,
    opts: &ImportOptions,
    calibration: Option<&Calibration>,
    notes: &mut Vec<String>,
) -> Result<String, ImportError> {
    let mut o = String::new();
    let mut head = String::new();
    let of = |r: Role| stages.iter().filter(|s| s.role == r).collect::<Vec<_>>();
    let (collectors, stores, readers) = (of(Role::Collector), of(Role::Store), of(Role::Reader));
    let _ = writeln!(
        head,
        "# Imported by `hasim import` from the cluster's manifests."
    );
    let _ = writeln!(
        head,
        "# Values taken from a manifest name their file, line and field; values no manifest holds"
    );
    let _ = writeln!(
        head,
        "# (how often things fail, how long restarts take, how reliable the nodes are) are"
    );
    let _ = writeln!(
        head,
        "# marked ASSUMPTION, as in models/seed.toml: replace them with your own history"
    );
    let _ = writeln!(head, "# (incidents) and `hasim calibrate` measurements.");
    let _ = writeln!(
        head,
        "#   [k8s-facts §n]  Kubernetes, Telegraf and InfluxDB behaviour with its sources"
    );
    let name = opts.name.clone().unwrap_or_else(|| {
        let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
        format!("Imported: {}", names.join(", "))
    });
    let _ = writeln!(o, "name = {}\n", toml_str(&name));
    let _ = writeln!(
        o,
        "[simulation]\nhorizon = \"1y\"\nreplications = 10000\nseed = 1\nconfidence = 0.95\n"
    );
    // The data flow: one source (what the collector gathers), collector, store, reader.
    let flow = (collectors.len() == 1 && stores.len() == 1 && readers.len() <= 1).then(|| {
        let c = collectors[0];
        let source = format!("{}-inputs", c.name);
        (source, c, stores[0], readers.first().copied())
    });
    if flow.is_none() && !(collectors.is_empty() && stores.is_empty()) {
        notes.push(format!(
            "no data flow: it needs one collector and one store (found {} and {})",
            collectors.len(),
            stores.len()
        ));
    }
    let mut read_path: Vec<&str> = stores
        .iter()
        .chain(&readers)
        .map(|s| s.name.as_str())
        .collect();
    let read_comment = if read_path.is_empty() {
        read_path = stages.iter().map(|s| s.name.as_str()).collect();
        "no store or reader: readable while every workload is up"
    } else {
        "readable while the store and the reader are up (roles from the images)"
    };
    let _ = writeln!(o, "[system]");
    let quoted = |v: &[&str]| v.iter().map(|s| toml_str(s)).collect::<Vec<_>>().join(", ");
    line(
        &mut o,
        "",
        "read_path",
        &from(format!("[{}]", quoted(&read_path)), read_comment),
    );
    line(
        &mut o,
        "",
        "slo",
        &from(
            "0.999",
            "ASSUMPTION: \"three nines\", a common first target",
        ),
    );
    if let Some((source, c, s, r)) = &flow {
        let mut f = vec![source.as_str(), c.name.as_str(), s.name.as_str()];
        if let Some(r) = r {
            f.push(r.name.as_str());
        }
        line(
            &mut o,
            "",
            "flow",
            &from(
                format!("[{}]", quoted(&f)),
                "source -> collector -> store -> reader, from the roles",
            ),
        );
        let interval = c.telegraf.as_ref().map_or(10.0, |t| t.0.interval.value);
        line(
            &mut o,
            "",
            "freshness",
            &from(
                secs(3.0 * interval),
                "ASSUMPTION: a dashboard is fresh if it shows the last 3 gathers",
            ),
        );
    }
    let _ = writeln!(o);
    for (n, _, _, src) in &cluster.nodes {
        let _ = writeln!(o, "[[nodes]]");
        line(&mut o, "", "name", &from(toml_str(n), src.clone()));
        let _ = writeln!(
            o,
            "# ASSUMPTION: the node or its VM goes down about once a month."
        );
        let _ = writeln!(o, "every = {{ dist = \"exponential\", mean = \"30d\" }}");
        let _ = writeln!(
            o,
            "# ASSUMPTION: reboot or replace: a quarter of an hour or so."
        );
        let _ = writeln!(
            o,
            "recovery = {{ dist = \"lognormal\", median = \"15m\", sigma = 0.6 }}\n"
        );
    }
    if let Some((source, c, _, _)) = &flow {
        write_source(&mut o, source, c, cluster);
    }
    let store_replicas = stores
        .first()
        .and_then(|s| s.replicas.as_ref())
        .map_or(1, |r| r.toml.parse().unwrap_or(1));
    for s in stages {
        write_stage(&mut o, s, store_replicas, opts, calibration, notes);
    }
    for n in notes.iter() {
        let _ = writeln!(head, "# note: {n}");
    }
    Ok(head + &o)
}

fn write_source(o: &mut String, source: &str, c: &Stage, cluster: &Cluster) {
    let _ = writeln!(o, "[stages.{}]", key(source));
    line(
        o,
        "",
        "role",
        &from("\"source\"", format!("what {} gathers", c.name)),
    );
    line(
        o,
        "",
        "kind",
        &from(
            "\"external\"",
            "the platform's own figures: assumed not to fail",
        ),
    );
    let collectors = if c.kind == "daemonset" {
        c.nodes.len() as f64
    } else {
        1.0
    };
    let (rate, why) = match &c.telegraf {
        Some((t, file, first)) => {
            let cpus = cluster.nodes.iter().find_map(|n| n.2);
            let mut per_gather = 0.0;
            let mut said = Vec::new();
            for i in &t.inputs {
                let at = format!("{file}:{}", first + i.line as u64 - 1);
                if i.plugin == "cpu" {
                    let n = f64::from(u8::from(i.totalcpu))
                        + if i.percpu { cpus.unwrap_or(2.0) } else { 0.0 };
                    per_gather += n;
                    said.push(format!(
                        "{at} inputs.cpu: {n} metric(s) ({}{})",
                        if i.totalcpu { "cpu-total" } else { "" },
                        if i.percpu {
                            match cpus {
                                Some(k) => format!(" + {k} CPUs from the Node's capacity"),
                                None => " + ASSUMPTION 2 CPUs".into(),
                            }
                        } else {
                            String::new()
                        }
                    ));
                } else {
                    per_gather += 1.0;
                    said.push(format!("{at} inputs.{}: ASSUMPTION 1 metric", i.plugin));
                }
            }
            let interval = t.interval.value;
            let at = t
                .interval
                .line
                .map_or("interval unset: Telegraf's default 10 s".to_string(), |l| {
                    format!("{file}:{} interval", first + l as u64 - 1)
                });
            (
                per_gather * collectors / interval,
                format!(
                    "{} per gather × {collectors} collector(s) / {interval} s ({at}); {}",
                    per_gather,
                    said.join("; ")
                ),
            )
        }
        None => (
            collectors / 10.0,
            "ASSUMPTION: one metric per collector per Telegraf default interval of 10 s"
                .to_string(),
        ),
    };
    let _ = writeln!(o, "# {why}");
    let _ = writeln!(o, "rate = {}", fmt_num(rate));
    line(
        o,
        "",
        "retention",
        &from(
            "\"0s\"",
            "ASSUMPTION: figures are read live; a missed gather cannot be read later",
        ),
    );
    let _ = writeln!(o);
}

/// A float as TOML (always with a point or an exponent, so it reads back as a float).
fn fmt_num(x: f64) -> String {
    toml::Value::Float(x).to_string()
}

fn write_stage(
    o: &mut String,
    s: &Stage,
    store_replicas: usize,
    opts: &ImportOptions,
    calibration: Option<&Calibration>,
    notes: &mut Vec<String>,
) {
    let k = key(&s.name);
    let _ = writeln!(o, "[stages.{k}]");
    let role_src = if opts.roles.iter().any(|(n, _)| *n == s.name) {
        "--role".to_string()
    } else {
        format!("from the image {}", s.image)
    };
    line(
        o,
        "",
        "role",
        &from(format!("\"{}\"", role_name(s.role)), role_src),
    );
    line(
        o,
        "",
        "kind",
        &from(format!("\"{}\"", s.kind), "the workload's kind"),
    );
    if let Some(r) = &s.replicas {
        line(o, "", "replicas", r);
    }
    let nodes = s
        .nodes
        .iter()
        .map(|n| toml_str(n))
        .collect::<Vec<_>>()
        .join(", ");
    line(
        o,
        "",
        "nodes",
        &from(format!("[{nodes}]"), s.nodes_comment.clone()),
    );
    if let Some(p) = &s.pdb {
        line(o, "", "pdb", p);
    }
    if let Some(sp) = &s.spread {
        line(o, "", "spread", sp);
    }
    if let Some(v) = &s.volume {
        line(o, "", "volume", v);
    }
    let (restart, recreate) = restart_defaults(s.role);
    let assumed = |median: &str, what: &str| {
        from(
            format!("{{ dist = \"lognormal\", median = \"{median}\", sigma = 0.5 }}"),
            format!("ASSUMPTION: {what}, as in models/seed.toml"),
        )
    };
    let measured = |key: &str| calibration.and_then(|c| c.entry(&s.name, key));
    if let Some(r) = &s.readiness {
        let _ = writeln!(o, "# {r}");
    }
    line(
        o,
        "",
        "restart",
        &measured("restart").unwrap_or_else(|| assumed(restart, "container restart to Ready")),
    );
    line(
        o,
        "",
        "recreate",
        &measured("recreate").unwrap_or_else(|| assumed(recreate, "a new Pod to Ready")),
    );
    let shutdown = 2.0_f64.min(s.grace_seconds);
    line(
        o,
        "",
        "shutdown",
        &from(
            secs(shutdown),
            format!(
                "ASSUMPTION: flushes and exits in 2 s, at most the grace period of {} s ({})",
                s.grace.toml, s.grace.comment
            ),
        ),
    );
    line(
        o,
        "",
        "backoff",
        &from(
            "true",
            "CrashLoopBackOff 10 s doubling to 300 s [k8s-facts §1]",
        ),
    );
    if let Some(e) = &s.eviction_delay {
        line(o, "", "eviction_delay", e);
    }
    if s.role == Role::Collector {
        write_buffer(o, s, store_replicas, notes);
    }
    if let Some(p) = &s.probe {
        let _ = writeln!(o, "\n  [stages.{k}.probes.liveness]");
        line(o, "  ", "period", &p[0]);
        line(o, "  ", "failure_threshold", &p[1]);
        line(o, "  ", "timeout", &p[2]);
    }
    // Failure modes: rates no manifest holds.
    match s.role {
        Role::Store => {
            let _ = writeln!(o, "\n  [[stages.{k}.failures]]");
            let _ = writeln!(
                o,
                "  name = \"crash\"             # the process exits (out of memory, a bug): the kubelet restarts it"
            );
            let _ = writeln!(
                o,
                "  every = {{ dist = \"exponential\", mean = \"60d\" }}   # ASSUMPTION"
            );
            let _ = writeln!(o, "  detect = \"exit\"");
            let _ = writeln!(o, "\n  [[stages.{k}.failures]]");
            let _ = writeln!(
                o,
                "  name = \"hang\"              # alive but not answering"
            );
            let _ = writeln!(
                o,
                "  every = {{ dist = \"exponential\", mean = \"180d\" }}  # ASSUMPTION"
            );
            if s.probe.is_some() {
                let _ = writeln!(
                    o,
                    "  detect = \"liveness\"        # the livenessProbe above kills it"
                );
            } else {
                let _ = writeln!(
                    o,
                    "  # No livenessProbe: \"without a liveness probe, a hang is never auto-healed\" [k8s-facts §1]."
                );
                let _ = writeln!(
                    o,
                    "  detect = {{ dist = \"lognormal\", median = \"2h\", sigma = 1.0 }}  # ASSUMPTION: a person notices"
                );
            }
        }
        Role::Collector => {
            let _ = writeln!(o, "\n  [[stages.{k}.failures]]");
            let _ = writeln!(o, "  name = \"crash\"");
            let _ = writeln!(
                o,
                "  every = {{ dist = \"exponential\", mean = \"30d\" }}   # ASSUMPTION"
            );
        }
        _ => {
            let _ = writeln!(o, "\n  [[stages.{k}.failures]]");
            let _ = writeln!(o, "  name = \"crash\"");
            let _ = writeln!(
                o,
                "  every = {{ dist = \"exponential\", mean = \"60d\" }}   # ASSUMPTION"
            );
        }
    }
    match (&s.strategy, &opts.rollouts) {
        (Some(keys), Some(every)) => {
            let _ = writeln!(o, "\n  [stages.{k}.maintenance]");
            if let Some(n) = &s.strategy_note {
                let _ = writeln!(o, "  # {n}");
            }
            line(
                o,
                "  ",
                "every",
                &from(toml_str(every), "--rollouts: how often it is rolled out"),
            );
            for (name, v) in keys {
                if s.kind == "deployment" {
                    line(o, "  ", name, v);
                }
            }
        }
        (Some(keys), None) => {
            let _ = writeln!(
                o,
                "\n  # Rollouts: how often is in no manifest (import with --rollouts 7d, or uncomment)."
            );
            if let Some(n) = &s.strategy_note {
                let _ = writeln!(o, "  # {n}");
            }
            let _ = writeln!(o, "  # [stages.{k}.maintenance]");
            let _ = writeln!(o, "  # every = \"7d\"");
            for (name, v) in keys {
                if s.kind == "deployment" {
                    let _ = writeln!(o, "  # {name} = {}   # {}", v.toml, v.comment);
                }
            }
        }
        (None, _) => {
            if let Some(n) = &s.strategy_note {
                let _ = writeln!(o, "  # no [maintenance]: {n}");
            }
        }
    }
    let _ = writeln!(o);
}

fn write_buffer(o: &mut String, s: &Stage, store_replicas: usize, notes: &mut Vec<String>) {
    let k = key(&s.name);
    let _ = writeln!(o, "\n  [stages.{k}.buffer]");
    let Some((t, file, first)) = &s.telegraf else {
        let _ = writeln!(
            o,
            "  # No telegraf.conf among the manifests: Telegraf's defaults [k8s-facts §5]."
        );
        let _ = writeln!(o, "  limit = 10000");
        let _ = writeln!(o, "  persistent = false");
        let _ = writeln!(
            o,
            "  drain_rate = 100.0           # metric_batch_size 1000 / flush_interval 10 s"
        );
        return;
    };
    let at = |l: Option<usize>, what: &str, default: &str| {
        l.map_or(format!("{what} unset: Telegraf's default {default}"), |l| {
            format!("{file}:{} {what}", first + l as u64 - 1)
        })
    };
    line(
        o,
        "  ",
        "limit",
        &from(
            fmt_count(t.buffer_limit.value),
            at(t.buffer_limit.line, "metric_buffer_limit", "10000"),
        ),
    );
    line(
        o,
        "  ",
        "persistent",
        &from(
            t.disk_buffer.value.to_string(),
            at(
                t.disk_buffer.line,
                "buffer_strategy",
                "\"memory\": lost when Telegraf restarts",
            ),
        ),
    );
    line(
        o,
        "  ",
        "drain_rate",
        &from(
            fmt_num(t.batch_size.value / t.flush_interval.value),
            format!(
                "metric_batch_size / flush_interval: {} ({}) / {} s ({})",
                t.batch_size.value,
                at(t.batch_size.line, "metric_batch_size", "1000"),
                t.flush_interval.value,
                at(t.flush_interval.line, "flush_interval", "10 s")
            ),
        ),
    );
    let outputs: Vec<String> = t
        .outputs
        .iter()
        .map(|out| {
            format!(
                "{file}:{} [[{}]] {}",
                first + out.line as u64 - 1,
                out.plugin,
                out.urls.join(" ")
            )
        })
        .collect();
    let _ = writeln!(
        o,
        "  # Outputs (one buffer each; the URLs of one output are alternatives): {}",
        if outputs.is_empty() {
            "none".to_string()
        } else {
            outputs.join("; ")
        }
    );
    if !t.outputs.is_empty() && t.outputs.len() != store_replicas {
        notes.push(format!(
            "{}: Telegraf has {} InfluxDB output(s) but the store has {store_replicas} replica(s): the model gives each collector one buffer per store replica",
            s.name,
            t.outputs.len()
        ));
    }
}

fn fmt_count(x: f64) -> String {
    format!("{}", x.round() as i64)
}

impl std::str::FromStr for RoleArg {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, role) = text
            .split_once('=')
            .ok_or_else(|| format!("expected NAME=ROLE, found \"{text}\""))?;
        let role = match role.trim() {
            "source" => Role::Source,
            "collector" => Role::Collector,
            "store" => Role::Store,
            "reader" => Role::Reader,
            "component" => Role::Component,
            other => {
                return Err(format!(
                    "unknown role \"{other}\": source, collector, store, reader or component"
                ));
            }
        };
        Ok(RoleArg(name.trim().to_string(), role))
    }
}

/// `--role NAME=ROLE`.
#[derive(Clone, Debug)]
pub struct RoleArg(pub String, pub Role);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_from_images() {
        assert_eq!(role_of_image("influxdb:1.8"), Role::Store);
        assert_eq!(
            role_of_image("docker.io/library/influxdb:2.7@sha256:ab"),
            Role::Store
        );
        assert_eq!(
            role_of_image("registry:5000/org/telegraf:1.32"),
            Role::Collector
        );
        assert_eq!(role_of_image("grafana/grafana:11.0.0"), Role::Reader);
        assert_eq!(role_of_image("chronograf"), Role::Reader);
        assert_eq!(role_of_image("nginx:1.27"), Role::Component);
        // The registry's name is not the image's.
        assert_eq!(
            role_of_image("influxdb.example.com/nginx:1"),
            Role::Component
        );
    }

    #[test]
    fn selectors_match_labels_and_expressions() {
        let objs = yaml::objects(
            "f",
            "apiVersion: v1\nkind: X\nsel:\n  matchLabels: {app: a}\n  matchExpressions:\n    - {key: tier, operator: In, values: [db, cache]}\n    - {key: canary, operator: DoesNotExist}\n",
        )
        .unwrap();
        let pod = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let v = &objs[0].value;
        assert!(selects(v, "sel", &pod(&[("app", "a"), ("tier", "db")])));
        assert!(!selects(v, "sel", &pod(&[("app", "a"), ("tier", "web")])));
        assert!(!selects(
            v,
            "sel",
            &pod(&[("app", "a"), ("tier", "db"), ("canary", "1")])
        ));
        assert!(!selects(v, "sel", &pod(&[("app", "b"), ("tier", "db")])));
        assert!(selects(v, "nothing", &pod(&[])));
    }
}
