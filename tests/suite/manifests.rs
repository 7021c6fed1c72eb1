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

/// Every Pod template of a folder, with its workload's kind and name.
fn pod_templates(m: &Manifests) -> Vec<(String, &PodTemplateSpec)> {
    let mut t: Vec<(String, &PodTemplateSpec)> = vec![];
    for s in &m.stateful_sets {
        let name = s.metadata.name.clone().unwrap_or_default();
        t.push((
            format!("StatefulSet {name}"),
            &s.spec.as_ref().unwrap().template,
        ));
    }
    for d in &m.daemon_sets {
        let name = d.metadata.name.clone().unwrap_or_default();
        t.push((
            format!("DaemonSet {name}"),
            &d.spec.as_ref().unwrap().template,
        ));
    }
    for d in &m.deployments {
        let name = d.metadata.name.clone().unwrap_or_default();
        t.push((
            format!("Deployment {name}"),
            &d.spec.as_ref().unwrap().template,
        ));
    }
    for j in &m.jobs {
        let name = j.metadata.name.clone().unwrap_or_default();
        t.push((format!("Job {name}"), &j.spec.as_ref().unwrap().template));
    }
    t
}

/// The "restricted" Pod Security Standard (kubernetes.io/docs/concepts/security/
/// pod-security-standards), which the namespace enforces, and what a review asks beyond
/// it: a read-only root filesystem, requests and limits.
#[test]
fn every_pod_passes_the_restricted_pod_security_standard_with_limits() {
    let calibration = load("calibration/k8s");
    let labels = calibration.namespaces[0].metadata.labels.clone().unwrap();
    for mode in ["enforce", "audit", "warn"] {
        assert_eq!(
            labels
                .get(&format!("pod-security.kubernetes.io/{mode}"))
                .map(String::as_str),
            Some("restricted"),
            "{mode}"
        );
    }
    let deploy = load("deploy");
    let templates = [pod_templates(&calibration), pod_templates(&deploy)].concat();
    assert!(templates.len() >= 6, "{}", templates.len());
    for (what, t) in templates {
        let pod = t.spec.as_ref().unwrap();
        let pod_sc = pod.security_context.clone().unwrap_or_default();
        assert!(
            !pod.host_network.unwrap_or(false)
                && !pod.host_pid.unwrap_or(false)
                && !pod.host_ipc.unwrap_or(false),
            "{what}: host namespaces"
        );
        for v in pod.volumes.iter().flatten() {
            assert!(
                v.config_map.is_some()
                    || v.empty_dir.is_some()
                    || v.persistent_volume_claim.is_some()
                    || v.secret.is_some()
                    || v.projected.is_some()
                    || v.downward_api.is_some(),
                "{what}: volume {} is of a kind restricted forbids",
                v.name
            );
        }
        assert_ne!(pod_sc.run_as_user, Some(0), "{what}");
        for c in pod
            .containers
            .iter()
            .chain(pod.init_containers.iter().flatten())
        {
            let sc = c.security_context.clone().unwrap_or_default();
            let who = format!("{what}, container {}", c.name);
            assert!(
                sc.run_as_non_root.or(pod_sc.run_as_non_root) == Some(true),
                "{who}: runAsNonRoot"
            );
            assert!(
                sc.run_as_user.or(pod_sc.run_as_user).is_some_and(|u| u > 0),
                "{who}: a user other than root (the images start as root unless told)"
            );
            let seccomp = sc
                .seccomp_profile
                .clone()
                .or(pod_sc.seccomp_profile.clone())
                .map(|p| p.type_);
            assert_eq!(seccomp.as_deref(), Some("RuntimeDefault"), "{who}");
            assert_eq!(sc.allow_privilege_escalation, Some(false), "{who}");
            assert_ne!(sc.privileged, Some(true), "{who}");
            let caps = sc.capabilities.clone().unwrap_or_default();
            assert!(
                caps.drop.iter().flatten().any(|d| d == "ALL"),
                "{who}: drop ALL"
            );
            assert!(
                caps.add.iter().flatten().all(|a| a == "NET_BIND_SERVICE"),
                "{who}: {:?}",
                caps.add
            );
            assert_eq!(sc.read_only_root_filesystem, Some(true), "{who}");
            let r = c.resources.clone().unwrap_or_default();
            for (kind, map) in [("requests", &r.requests), ("limits", &r.limits)] {
                let map = map.clone().unwrap_or_default();
                for key in ["cpu", "memory"] {
                    assert!(map.contains_key(key), "{who}: {kind}.{key}");
                }
            }
        }
    }
}

/// Each long-running container has probes that test what they should: Telegraf's its
/// `health` output (at the port telegraf.conf serves it on, and with no check that would
/// fail while C is down and restart Telegraf, losing its buffer), Chronograf's `/ping`,
/// InfluxDB's `/ping` with a readiness that needs more than one miss to flip.
#[test]
fn probes_ask_each_server_its_own_health_and_influxdb_readiness_does_not_flap() {
    let m = load("calibration/k8s");
    let templates = pod_templates(&m);
    let first_container = |what: &str| {
        let (_, t) = templates.iter().find(|(w, _)| w == what).unwrap();
        &t.spec.as_ref().unwrap().containers[0]
    };
    let cm = m
        .config_maps
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some("telegraf"))
        .unwrap();
    let conf: toml::Table = cm.data.as_ref().unwrap()["telegraf.conf"].parse().unwrap();
    let health = &conf["outputs"]["health"][0];
    let address = health["service_address"].as_str().unwrap();
    let port: i32 = address.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        health.get("compares").is_none() && health.get("contains").is_none(),
        "Telegraf's health must not depend on the store: {health}"
    );
    let c = first_container("DaemonSet telegraf");
    let named = |name: &str| {
        c.ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name))
            .map(|p| p.container_port)
    };
    for probe in [&c.liveness_probe, &c.readiness_probe] {
        let get = probe.as_ref().unwrap().http_get.as_ref().unwrap();
        let target = match &get.port {
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(p) => Some(*p),
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(n) => named(n),
        };
        assert_eq!(
            target,
            Some(port),
            "Telegraf's probe asks its health output"
        );
    }

    let c = first_container("Deployment chronograf");
    for probe in [&c.liveness_probe, &c.readiness_probe] {
        let get = probe.as_ref().unwrap().http_get.as_ref().unwrap();
        assert_eq!(get.path.as_deref(), Some("/ping"), "Chronograf");
    }

    let c = first_container("StatefulSet influxdb");
    let ready = c.readiness_probe.as_ref().unwrap();
    assert!(
        ready.failure_threshold.unwrap_or(3) >= 2,
        "one slow answer must not take InfluxDB out of its Service"
    );
    assert!(
        ready.period_seconds.unwrap_or(10) <= 2,
        "a restart is still seen within seconds"
    );
}

/// The Jobs' oldest Kubernetes is stated where they are documented, and it is the release
/// that turned on by default the newest field they use.
#[test]
fn the_minimum_kubernetes_for_the_jobs_is_documented_and_right() {
    let m = load("deploy");
    // Field → the release it is on by default from (KEP-3850: backoffLimitPerIndex beta
    // in 1.29, GA 1.33; Indexed completion GA in 1.24; podFailurePolicy beta in 1.26).
    let mut needed = (1, 21);
    for j in &m.jobs {
        let s = j.spec.as_ref().unwrap();
        if s.completion_mode.as_deref() == Some("Indexed") {
            needed = needed.max((1, 24));
        }
        if s.pod_failure_policy.is_some() {
            needed = needed.max((1, 26));
        }
        if s.backoff_limit_per_index.is_some() || s.max_failed_indexes.is_some() {
            needed = needed.max((1, 29));
        }
    }
    let stated = format!("Kubernetes {}.{} or later", needed.0, needed.1);
    let readme =
        std::fs::read_to_string(format!("{}/deploy/README.md", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    assert!(
        readme.contains(&stated),
        "deploy/README.md must say \"{stated}\""
    );
    let job = std::fs::read_to_string(format!(
        "{}/deploy/indexed-job.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert!(
        job.contains(&stated),
        "deploy/indexed-job.yaml must say \"{stated}\""
    );
}

/// deploy/pin-images.sh, run on a copy of the manifests with a lookup that stands in for
/// the registry (none can be reached here): every image named by tag gets `@sha256:…`
/// after its tag, hasim's own image and every other line stay as they were, a second run
/// changes nothing, and a lookup that fails leaves the file untouched.
#[test]
fn pin_images_pins_every_tagged_image_and_nothing_else() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &str| {
        std::fs::create_dir_all(dir.path().join(from)).unwrap();
        for entry in std::fs::read_dir(format!("{root}/{from}")).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, dir.path().join(from).join(path.file_name().unwrap()))
                    .unwrap();
            }
        }
    };
    copy("deploy");
    copy("calibration/k8s");
    let fake = dir.path().join("digest");
    std::fs::write(
        &fake,
        "#!/bin/sh\n[ \"$1\" = broken:1 ] && { echo 'unauthorized'; exit 0; }\n\
         printf 'sha256:%s\\n' \"$(printf %s \"$1\" | sha256sum | cut -c1-64)\"\n",
    )
    .unwrap();
    let run = |files: &[&str]| {
        std::process::Command::new("sh")
            .arg(dir.path().join("deploy/pin-images.sh"))
            .args(files)
            .env("HASIM_DIGEST_CMD", format!("sh {}", fake.display()))
            .output()
            .unwrap()
    };
    let files = [
        "calibration/k8s/10-influxdb.yaml",
        "calibration/k8s/20-telegraf.yaml",
        "calibration/k8s/30-chronograf.yaml",
        "calibration/k8s/50-hasim-probe.yaml",
        "deploy/indexed-job.yaml",
        "deploy/Dockerfile",
    ];
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let read_all = || files.map(read);
    let before = read_all();

    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let digest = |image: &str| {
        let out = std::process::Command::new("sh")
            .arg(&fake)
            .arg(image)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let mut pinned = 0;
    for (file, old) in files.iter().zip(&before) {
        let new = read(file);
        let (old, new): (Vec<_>, Vec<_>) = (old.lines().collect(), new.lines().collect());
        assert_eq!(old.len(), new.len(), "{file}: lines added or lost");
        for (o, n) in old.iter().zip(&new) {
            let tagged = o
                .trim()
                .strip_prefix("image: ")
                .or_else(|| o.split_once("_IMAGE=").map(|(_, i)| i))
                .filter(|i| !i.starts_with("hasim:"));
            match tagged {
                Some(image) => {
                    assert_eq!(*n, format!("{o}@{}", digest(image)), "{file}");
                    pinned += 1;
                }
                None => assert_eq!(o, n, "{file}: a line that names no image changed"),
            }
        }
    }
    // influxdb, telegraf, chronograf; the Dockerfile's builder and runtime images.
    assert_eq!(pinned, 5);

    let pinned_once = read_all();
    let out = run(&[]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "a second run pinned again");
    assert_eq!(read_all(), pinned_once);

    let broken = "calibration/k8s/broken.yaml";
    let text = "spec:\n  image: chronograf:1.10\n  other:\n    image: broken:1\n";
    std::fs::write(dir.path().join(broken), text).unwrap();
    let out = run(&[broken]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no digest for broken:1"), "{err}");
    assert_eq!(read(broken), text, "a failed lookup changed the file");
}
