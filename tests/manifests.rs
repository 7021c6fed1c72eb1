//! The manifests in calibration/k8s parse into the Kubernetes API's types (k8s-openapi),
//! lose no field on the way (a misspelt key would), and describe the report's system:
//! InfluxDB 1.8 in a StatefulSet with a volume claim and probes, Telegraf collecting CPU
//! once a minute with an explicit buffer, Chronograf reading from InfluxDB.

#![cfg(feature = "k8s")]

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolumeClaim, PodTemplateSpec, Service,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Default)]
struct Manifests {
    namespaces: Vec<Namespace>,
    services: Vec<Service>,
    config_maps: Vec<ConfigMap>,
    stateful_sets: Vec<StatefulSet>,
    daemon_sets: Vec<DaemonSet>,
    deployments: Vec<Deployment>,
    jobs: Vec<Job>,
    claims: Vec<PersistentVolumeClaim>,
}

/// Parses into `T` and checks that serialising it again gives the same document.
fn typed<T: DeserializeOwned + serde::Serialize>(doc: &Value, file: &str) -> T {
    let t: T = serde_json::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("{file}: {}: {e}", doc["kind"]));
    let back = serde_json::to_value(&t).unwrap();
    assert_eq!(
        &back, doc,
        "{file}: {} {} has fields the API does not know",
        doc["kind"], doc["metadata"]["name"]
    );
    t
}

fn load(folder: &str) -> Manifests {
    let dir = format!("{}/{folder}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "manifests in {dir}");
    let mut m = Manifests::default();
    for path in files {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            match doc["kind"].as_str().unwrap_or_default() {
                "Namespace" => m.namespaces.push(typed(&doc, &file)),
                "Service" => m.services.push(typed(&doc, &file)),
                "ConfigMap" => m.config_maps.push(typed(&doc, &file)),
                "StatefulSet" => m.stateful_sets.push(typed(&doc, &file)),
                "DaemonSet" => m.daemon_sets.push(typed(&doc, &file)),
                "Deployment" => m.deployments.push(typed(&doc, &file)),
                "Job" => m.jobs.push(typed(&doc, &file)),
                "PersistentVolumeClaim" => m.claims.push(typed(&doc, &file)),
                other => panic!("{file}: unexpected kind {other:?}"),
            }
        }
    }
    m
}

fn labels(t: &PodTemplateSpec) -> BTreeMap<String, String> {
    t.metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn the_manifests_reproduce_the_reports_system() {
    let m = load("calibration/k8s");
    let ns = m.namespaces[0].metadata.name.clone().unwrap();
    assert_eq!(ns, "hasim");
    assert!(!ns.starts_with("kube-"));

    // Every object lives in that namespace.
    let namespaces = m
        .services
        .iter()
        .map(|x| &x.metadata)
        .chain(m.config_maps.iter().map(|x| &x.metadata))
        .chain(m.stateful_sets.iter().map(|x| &x.metadata))
        .chain(m.daemon_sets.iter().map(|x| &x.metadata))
        .chain(m.deployments.iter().map(|x| &x.metadata));
    for meta in namespaces {
        assert_eq!(meta.namespace.as_deref(), Some("hasim"), "{:?}", meta.name);
    }

    // C: InfluxDB 1.8, StatefulSet, volume claim, readiness on /ping.
    let sts = &m.stateful_sets[0];
    assert_eq!(sts.metadata.name.as_deref(), Some("influxdb"));
    let spec = sts.spec.as_ref().unwrap();
    assert!(!spec.volume_claim_templates.as_ref().unwrap().is_empty());
    let c = &spec.template.spec.as_ref().unwrap().containers[0];
    assert!(c.image.as_deref().unwrap().starts_with("influxdb:1.8"));
    let ready = c
        .readiness_probe
        .as_ref()
        .unwrap()
        .http_get
        .as_ref()
        .unwrap();
    assert_eq!(ready.path.as_deref(), Some("/ping"));
    assert!(c.startup_probe.is_some() && c.liveness_probe.is_some());
    assert!(
        c.volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .any(|v| v.mount_path == "/var/lib/influxdb")
    );
    let sts_labels = labels(&spec.template);
    assert!(selects(
        spec.selector.match_labels.as_ref().unwrap(),
        &sts_labels
    ));
    let governing = m
        .services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(spec.service_name.as_deref().unwrap()))
        .expect("the StatefulSet's governing Service");
    assert_eq!(
        governing.spec.as_ref().unwrap().cluster_ip.as_deref(),
        Some("None")
    );

    // B: Telegraf DaemonSet, CPU once a minute into InfluxDB, explicit buffer.
    let ds = &m.daemon_sets[0];
    let ds_spec = ds.spec.as_ref().unwrap();
    let ds_pod = ds_spec.template.spec.as_ref().unwrap();
    assert!(
        ds_pod.containers[0]
            .image
            .as_deref()
            .unwrap()
            .starts_with("telegraf:")
    );
    let config_name = ds_pod.volumes.as_ref().unwrap()[0]
        .config_map
        .as_ref()
        .unwrap()
        .name
        .clone();
    let cm = m
        .config_maps
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(config_name.as_str()))
        .expect("the DaemonSet's ConfigMap");
    let conf: toml::Table = cm.data.as_ref().unwrap()["telegraf.conf"].parse().unwrap();
    let agent = conf["agent"].as_table().unwrap();
    assert_eq!(agent["interval"].as_str(), Some("60s"));
    assert!(agent["metric_buffer_limit"].as_integer().unwrap() > 0);
    assert!(conf["inputs"]["cpu"].as_array().is_some());
    let url = conf["outputs"]["influxdb"][0]["urls"][0].as_str().unwrap();
    assert!(url.starts_with("http://influxdb.hasim.svc"), "{url}");

    // D: Chronograf Deployment reading from the same InfluxDB Service, and its Service.
    let d = &m.deployments[0];
    let d_spec = d.spec.as_ref().unwrap();
    let d_c = &d_spec.template.spec.as_ref().unwrap().containers[0];
    assert!(d_c.image.as_deref().unwrap().starts_with("chronograf:"));
    assert!(
        d_c.args
            .as_ref()
            .unwrap()
            .iter()
            .any(|a| a.starts_with("--influxdb-url=http://influxdb.hasim.svc"))
    );

    // Every Service selects the Pods of a workload; the NodePorts the README uses exist.
    let templates = [
        labels(&spec.template),
        labels(&ds_spec.template),
        labels(&d_spec.template),
    ];
    for s in &m.services {
        let sel = s
            .spec
            .as_ref()
            .unwrap()
            .selector
            .clone()
            .unwrap_or_default();
        assert!(
            templates.iter().any(|l| selects(&sel, l)),
            "Service {:?} selects no Pods",
            s.metadata.name
        );
    }
    let node_ports: Vec<i32> = m
        .services
        .iter()
        .flat_map(|s| s.spec.as_ref().unwrap().ports.clone().unwrap_or_default())
        .filter_map(|p| p.node_port)
        .collect();
    assert!(node_ports.contains(&30086) && node_ports.contains(&30888));
}

/// The in-cluster probe: hasim's image running `probe` against the InfluxDB Service,
/// serving its metrics on the port its scrape annotations name, with flags hasim takes;
/// and `hasim import` leaves it out of the pipeline.
#[test]
fn the_probe_runs_in_the_cluster_where_prometheus_scrapes_it() {
    let m = load("calibration/k8s");
    let probe = m
        .deployments
        .iter()
        .find(|d| d.metadata.name.as_deref() == Some("hasim-probe"))
        .expect("a hasim-probe Deployment");
    let template = &probe.spec.as_ref().unwrap().template;
    let notes = template
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .clone()
        .unwrap();
    assert_eq!(notes["prometheus.io/scrape"], "true");
    assert_eq!(notes["prometheus.io/path"], "/metrics");
    let c = &template.spec.as_ref().unwrap().containers[0];
    assert!(c.image.as_deref().unwrap().starts_with("hasim:"));
    let args = c.args.clone().unwrap();
    assert_eq!(args[0], "probe");
    let listen = args
        .iter()
        .find_map(|a| a.strip_prefix("--listen="))
        .unwrap();
    assert_eq!(
        listen.rsplit_once(':').unwrap().1,
        notes["prometheus.io/port"],
        "the annotation names the port the probe listens on"
    );
    let url = args.iter().find_map(|a| a.strip_prefix("--url=")).unwrap();
    assert!(url.starts_with("http://influxdb.hasim.svc"), "{url}");
    // hasim takes these flags: its own parser, with a URL nothing answers and no time
    // to run (exit 1, never reached; a flag it did not know would be exit 2).
    let mut flags: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("--url=") && !a.starts_with("--listen="))
        .cloned()
        .collect();
    flags.extend(["--url=http://127.0.0.1:9".into(), "--duration=1ms".into()]);
    let out = assert_cmd::Command::cargo_bin("hasim")
        .unwrap()
        .args(&flags)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{flags:?}: {out:?}");
    // Not a stage: the imported model has A..D's workloads only.
    let out = assert_cmd::Command::cargo_bin("hasim")
        .unwrap()
        .args(["import", "calibration/k8s/"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let model = String::from_utf8_lossy(&out.stdout);
    assert!(!model.contains("[stages.hasim-probe]"), "{model}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("left out Deployment hasim-probe"));
}

#[test]
fn the_indexed_job_runs_every_shard_once_and_the_merge_reads_them() {
    let m = load("deploy");
    let run = m
        .jobs
        .iter()
        .find(|j| j.metadata.name.as_deref() == Some("hasim-run"))
        .expect("the shards' Job");
    let spec = run.spec.as_ref().unwrap();
    assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
    let n = spec.completions.unwrap();
    assert_eq!(spec.parallelism, Some(n));
    let pod = spec.template.spec.as_ref().unwrap();
    let args = pod.containers[0].args.clone().unwrap();
    assert_eq!(args[0], "run");
    assert!(
        args.contains(&format!("--shard=$(JOB_COMPLETION_INDEX)/{n}")),
        "{args:?}"
    );
    let out = args.iter().find(|a| a.starts_with("--out=")).unwrap();
    assert!(
        out.contains("$(JOB_COMPLETION_INDEX)"),
        "one part per index: {out}"
    );
    // Every shard must be the same run.
    for fixed in ["--replications=", "--seed="] {
        assert!(args.iter().any(|a| a.starts_with(fixed)), "{fixed}");
    }
    let claim = m.claims[0].metadata.name.clone().unwrap();
    let mounts_claim = |j: &Job| {
        j.spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .any(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .is_some_and(|c| c.claim_name == claim)
            })
    };
    assert!(m.jobs.len() == 2 && m.jobs.iter().all(mounts_claim));
    let merge = m
        .jobs
        .iter()
        .find(|j| j.metadata.name.as_deref() == Some("hasim-merge"))
        .unwrap();
    let command = merge
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .command
        .clone()
        .unwrap()
        .join(" ");
    assert!(
        command.contains("hasim merge /parts/part-*.json"),
        "{command}"
    );
}
