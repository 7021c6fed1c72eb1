//! `hasim import`: models from manifests as people have them — the repository's own
//! (calibration/k8s), and a Helm-style release with Nodes in a List, PDBs, anti-affinity,
//! a Telegraf Deployment with two outputs and a disk buffer — checked value by value,
//! every source comment against the line it names, and bad input refused with its place.

#![cfg(feature = "k8s")]

use std::path::Path;

use assert_cmd::Command;
use hasim::model::{Kind, Model, Role};

fn hasim() -> Command {
    Command::cargo_bin("hasim").unwrap()
}

/// Imports `args` and returns the model text (checked: it loads as a model).
fn import(args: &[&str]) -> (String, Model, String) {
    let out = hasim().arg("import").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "import {args:?} failed: {stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let model = Model::from_str("imported", &text, Path::new("."), &[])
        .unwrap_or_else(|e| panic!("the imported model does not load: {e}\n{text}"));
    (text, model, stderr)
}

/// Every `FILE:LINE field` a comment names: the line exists and holds the field.
fn check_sources(text: &str) -> usize {
    let mut checked = 0;
    for l in text.lines() {
        let Some((_, comment)) = l.split_once('#') else {
            continue;
        };
        for (i, _) in comment.match_indices(".yaml:") {
            let start = comment[..i].rfind([' ', '(']).map_or(0, |s| s + 1);
            let file = &comment[start..i + 5];
            let rest = &comment[i + 6..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let line: usize = digits.parse().unwrap_or_else(|_| panic!("no line in {l}"));
            let field = rest[digits.len()..].split_whitespace().next().unwrap_or("");
            let field = field.trim_end_matches([':', ';', ')', ',']);
            let last = field.rsplit('.').next().unwrap().trim_matches(['[', ']']);
            let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
            let at = text
                .lines()
                .nth(line - 1)
                .unwrap_or_else(|| panic!("{file}:{line} past the end"));
            assert!(
                at.contains(last),
                "{file}:{line} is `{at}`, which does not hold {field} (named in `{l}`)"
            );
            checked += 1;
        }
    }
    checked
}

fn stage<'a>(m: &'a Model, name: &str) -> &'a hasim::model::Stage {
    m.stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
}

#[test]
fn the_calibration_manifests_give_the_seed_model_in_structure() {
    let (text, m, stderr) = import(&["calibration/k8s/"]);
    let seed = Model::load(Path::new("models/seed.toml"), &[]).unwrap();
    assert!(
        stderr.contains("ignored 3 Service (influxdb, influxdb-headless, chronograf)"),
        "{stderr}"
    );
    assert!(stderr.contains("ignored 1 Namespace (hasim)"), "{stderr}");
    // The same pipeline: source, collector, store, reader, in that order on the flow;
    // the read path the store and the reader; one node.
    let roles = |m: &Model, names: &[String]| -> Vec<(Role, Kind, u32)> {
        names
            .iter()
            .map(|n| {
                let s = stage(m, n);
                (s.role, s.kind, s.replicas)
            })
            .collect()
    };
    let flow = |m: &Model| m.system.flow.as_ref().unwrap().names.clone();
    assert_eq!(roles(&m, &flow(&m)), roles(&seed, &flow(&seed)));
    assert_eq!(
        roles(&m, &m.system.read_path_names),
        roles(&seed, &seed.system.read_path_names)
    );
    assert_eq!(
        flow(&m),
        ["telegraf-inputs", "telegraf", "influxdb", "chronograf"]
    );
    assert_eq!(m.nodes.len(), seed.nodes.len());
    assert_eq!(m.system.slo, seed.system.slo);
    assert_eq!(
        m.system.flow.as_ref().unwrap().freshness,
        seed.system.flow.as_ref().unwrap().freshness
    );
    // The store's failure modes and the collector's buffer are the seed's.
    let modes = |m: &Model, n: &str| {
        stage(m, n)
            .failures
            .iter()
            .map(|f| f.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(modes(&m, "influxdb"), modes(&seed, "C"));
    assert_eq!(
        format!("{:?}", stage(&m, "telegraf").buffer),
        format!("{:?}", stage(&seed, "B").buffer)
    );
    assert_eq!(stage(&m, "influxdb").shutdown, stage(&seed, "C").shutdown);
    assert_eq!(
        stage(&m, "chronograf").eviction_delay,
        stage(&seed, "D").eviction_delay
    );
    // Where they differ, on purpose: the manifests give InfluxDB a liveness probe (the
    // report's pods had none), so a hang is killed; Telegraf collects only cpu-total
    // (percpu = false) once a minute.
    assert!(stage(&seed, "C").probes.is_none());
    assert!(text.contains("period = \"10s\"            # calibration/k8s/10-influxdb.yaml:94 livenessProbe.periodSeconds"), "{text}");
    assert!(text.contains("detect = \"liveness\""));
    assert!(text.contains("rate = 0.016666666666666666"));
    assert!(text.contains(
        "limit = 10000             # calibration/k8s/20-telegraf.yaml:22 metric_buffer_limit"
    ));
    assert!(text.contains("drain_rate = 100.0"));
    assert!(text.contains(
        "replicas = 1                # calibration/k8s/10-influxdb.yaml:52 spec.replicas"
    ));
    assert!(text.contains("ASSUMPTION"));
    assert!(check_sources(&text) >= 15, "{text}");
}

#[test]
fn a_helm_release_with_nodes_pdbs_anti_affinity_and_a_telegraf_deployment() {
    let (text, m, stderr) = import(&["tests/fixtures/import/helm", "--rollouts", "7d"]);
    assert!(
        stderr.contains("ignored 1 CronJob (metrics-backup)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("initialDelaySeconds 30 s is not modelled"),
        "{stderr}"
    );
    assert_eq!(
        m.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
        ["worker-a", "worker-b", "worker-c"]
    );
    let db = stage(&m, "metrics-influxdb");
    assert_eq!(
        (db.role, db.kind, db.replicas),
        (Role::Store, Kind::StatefulSet, 2)
    );
    // nodeSelector pool=data against the Nodes' labels.
    assert_eq!(db.nodes.len(), 2);
    assert!(text.contains("nodes = [\"worker-a\", \"worker-b\"] # tests/fixtures/import/helm/release.yaml:61 nodeSelector"));
    assert!(text.contains("pdb = { min_available = 1 } # tests/fixtures/import/helm/release.yaml:101 minAvailable (PodDisruptionBudget metrics-influxdb)"));
    assert!(text.contains("spread = \"required\"         # tests/fixtures/import/helm/release.yaml:66 podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution"));
    assert!(text.contains("volume = \"local\"            # tests/fixtures/import/helm/release.yaml:88 storageClassName local-path"));
    // The main container is InfluxDB, not the sidecar listed first; its probe with
    // Kubernetes' defaults for what is unset; the grace period bounds the shutdown.
    assert!(text.contains("period = \"5s\"             # tests/fixtures/import/helm/release.yaml:80 livenessProbe.periodSeconds"));
    assert!(text.contains(
        "failure_threshold = 3     # livenessProbe.failureThreshold unset: Kubernetes' default 3"
    ));
    assert!(text.contains("shutdown = \"1s\""));
    assert!(
        text.contains("StatefulSet RollingUpdate (tests/fixtures/import/helm/release.yaml:51)")
    );
    let g = stage(&m, "metrics-grafana");
    assert_eq!(
        (g.role, g.kind, g.replicas),
        (Role::Reader, Kind::Deployment, 3)
    );
    assert!(text.contains("pdb = { max_unavailable = \"50%\" } # tests/fixtures/import/helm/release.yaml:112 maxUnavailable (PodDisruptionBudget metrics-grafana)"));
    assert!(text.contains("spread = \"preferred\""));
    assert!(text.contains("eviction_delay = \"80s\""));
    assert!(text.contains("max_surge = 0             # tests/fixtures/import/helm/release.yaml:140 strategy.rollingUpdate.maxSurge"));
    assert!(text.contains("max_unavailable = 1       # tests/fixtures/import/helm/release.yaml:141 strategy.rollingUpdate.maxUnavailable"));
    assert!(
        text.contains("failure_threshold = 5     # tests/fixtures/import/helm/release.yaml:169")
    );
    assert!(
        text.contains("timeout = \"2s\"            # tests/fixtures/import/helm/release.yaml:170")
    );
    // Telegraf as a Deployment with a Recreate strategy and its telegraf.conf.
    let t = stage(&m, "metrics-telegraf");
    assert_eq!((t.role, t.kind), (Role::Collector, Kind::Deployment));
    assert!(text.contains("max_unavailable = \"100%\"  # tests/fixtures/import/helm/release.yaml:206 strategy.type Recreate"));
    assert!(text.contains("limit = 50000             # tests/fixtures/import/helm/release.yaml:184 metric_buffer_limit"));
    assert!(text.contains(
        "persistent = true         # tests/fixtures/import/helm/release.yaml:185 buffer_strategy"
    ));
    // 500 per batch every 5 s.
    assert!(text.contains("drain_rate = 100.0        # metric_batch_size / flush_interval: 500"));
    assert!(text.contains(":188 [[outputs.influxdb]] http://metrics-influxdb-0"));
    assert!(text.contains(":190 [[outputs.influxdb]] http://metrics-influxdb-1"));
    // cpu-total + 4 CPUs (the Nodes' capacity) + mem, every 30 s, one collector.
    assert!(text.contains("rate = 0.2\n"));
    assert_eq!(m.system.flow.as_ref().unwrap().freshness, Some(90.0));
    assert!(check_sources(&text) >= 25, "{text}");
}

/// Kustomize output: no comments, RBAC and a ServiceAccount among the workloads, a hashed
/// ConfigMap name, a hostname topology spread, InfluxDB 2.x with an `influxdb_v2` output
/// whose two URLs are alternatives, a PDB selecting by `matchExpressions`, a Telegraf
/// DaemonSet on three nodes from `--nodes`.
#[test]
fn kustomize_output_with_a_topology_spread_an_influxdb_v2_output_and_a_daemonset() {
    let f = "tests/fixtures/import/kustomize/build.yaml";
    let (text, m, stderr) = import(&[f, "--nodes", "3"]);
    for kind in [
        "1 ClusterRole (telegraf-read)",
        "1 Namespace (metrics)",
        "1 Service (influxdb)",
        "1 ServiceAccount (telegraf)",
    ] {
        assert!(
            stderr.contains(&format!("ignored {kind}: not modelled")),
            "{stderr}"
        );
        assert!(text.contains(&format!("# note: ignored {kind}")), "{text}");
    }
    // One output section with two URLs is one buffer, said where the store has two.
    assert!(
        stderr.contains("Telegraf has 1 InfluxDB output(s) but the store has 2 replica(s)"),
        "{stderr}"
    );
    assert_eq!(m.nodes.len(), 3);
    let db = stage(&m, "influxdb");
    assert_eq!(
        (db.role, db.kind, db.replicas, db.nodes.len()),
        (Role::Store, Kind::StatefulSet, 2, 3)
    );
    assert_eq!(db.spread, Some(hasim::model::Spread::Required));
    assert!(text.contains(&format!("spread = \"required\"         # {f}:131 topologySpreadConstraints maxSkew 1 DoNotSchedule on kubernetes.io/hostname")));
    assert!(text.contains(&format!(
        "volume = \"network\"          # {f}:147 storageClassName gp3"
    )));
    assert!(text.contains(&format!(
        "failure_threshold = 6     # {f}:129 livenessProbe.failureThreshold"
    )));
    assert!(text.contains(
        "period = \"10s\"            # livenessProbe.periodSeconds unset: Kubernetes' default 10"
    ));
    assert!(text.contains("detect = \"liveness\"        # the livenessProbe above kills it"));
    let ui = stage(&m, "chronograf");
    assert_eq!(
        (ui.role, ui.kind, ui.replicas),
        (Role::Reader, Kind::Deployment, 2)
    );
    assert!(text.contains(&format!("pdb = {{ min_available = \"50%\" }} # {f}:186 minAvailable (PodDisruptionBudget chronograf)")));
    assert!(text.contains(&format!(
        "period = \"15s\"            # {f}:100 livenessProbe.periodSeconds"
    )));
    assert!(text.contains(&format!(
        "at most the grace period of 10 s ({f}:102 terminationGracePeriodSeconds)"
    )));
    assert!(text.contains(&format!(
        "# max_surge = \"50%\"   # {f}:84 strategy.rollingUpdate.maxSurge"
    )));
    assert!(text.contains(&format!(
        "# max_unavailable = 0   # {f}:85 strategy.rollingUpdate.maxUnavailable"
    )));
    let t = stage(&m, "telegraf");
    assert_eq!(
        (t.role, t.kind, t.nodes.len()),
        (Role::Collector, Kind::DaemonSet, 3)
    );
    let b = t.buffer.unwrap();
    assert_eq!(
        (b.limit, b.persistent, b.drain_rate),
        (20_000.0, false, Some(400.0))
    );
    assert!(text.contains(&format!(
        "limit = 20000             # {f}:39 metric_buffer_limit"
    )));
    assert!(text.contains(&format!(
        "drain_rate = 400.0        # metric_batch_size / flush_interval: 2000 ({f}:38 metric_batch_size) / 5 s ({f}:37 flush_interval)"
    )));
    assert!(text.contains(&format!("{f}:40 [[outputs.influxdb_v2]] http://influxdb-0.influxdb.metrics:8086 http://influxdb-1.influxdb.metrics:8086")));
    // cpu-total and mem, every 20 s, on each of three nodes.
    assert!(text.contains("rate = 0.3\n"), "{text}");
    assert!(text.contains(&format!(
        "2 per gather × 3 collector(s) / 20 s ({f}:36 interval)"
    )));
    assert_eq!(m.system.read_path_names, ["influxdb", "chronograf"]);
    assert_eq!(m.system.flow.as_ref().unwrap().freshness, Some(60.0));
    assert!(check_sources(&text) >= 15, "{text}");
}

#[test]
fn standard_input_roles_and_node_counts() {
    let manifest = std::fs::read_to_string("calibration/k8s/30-chronograf.yaml").unwrap();
    let out = hasim()
        .args([
            "import",
            "-",
            "--nodes",
            "3",
            "--role",
            "chronograf=component",
        ])
        .write_stdin(manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let m = Model::from_str("imported", &text, Path::new("."), &[]).unwrap();
    assert_eq!(m.nodes.len(), 3);
    assert_eq!(stage(&m, "chronograf").role, Role::Component);
    assert!(text.contains("role = \"component\"          # --role"));
    assert!(text.contains("-:30 spec.replicas"), "{text}");
    // No store or reader: readable while every workload is up; no data flow.
    assert_eq!(m.system.read_path_names, ["chronograf"]);
    assert!(m.system.flow.is_none());
    // Standard input named twice: the second would read nothing, so it is refused.
    let manifest = std::fs::read_to_string("calibration/k8s/30-chronograf.yaml").unwrap();
    let out = hasim()
        .args(["import", "-", "-"])
        .write_stdin(manifest)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("standard input ('-') is given 2 times (PATH, PATH)"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn restart_times_from_a_calibration_file() {
    let dir = tempfile::tempdir().unwrap();
    let cal = dir.path().join("cal.toml");
    std::fs::write(
        &cal,
        "[distributions.influxdb-restart]\nsource = \"hasim calibrate k8s: delete-pod; minikube\"\nsamples = [4.0, 5.0, 6.0]\n[distributions.influxdb-restart.fit]\ndist = \"lognormal\"\nmu = 1.6\nsigma = 0.2\n",
    )
    .unwrap();
    let out = dir.path().join("models").join("m.toml");
    std::fs::create_dir(out.parent().unwrap()).unwrap();
    hasim()
        .args(["import", "calibration/k8s/", "--calibration"])
        .arg(&cal)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("restart = { calibration = \"../cal.toml\", name = \"influxdb-restart\" } # measured: hasim calibrate k8s: delete-pod"),
        "{text}"
    );
    // Entries the file lacks stay assumptions.
    assert!(text.contains(
        "recreate = { dist = \"lognormal\", median = \"12s\", sigma = 0.5 } # ASSUMPTION"
    ));
    let m = Model::load(&out, &[]).unwrap();
    assert!(m.sources.iter().any(|s| s.ends_with("cal.toml")));
}

/// Exit 2, the message naming the place, and nothing written.
fn refused(yaml: &str, expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(&f, yaml).unwrap();
    let out_file = dir.path().join("out.toml");
    let out = hasim()
        .arg("import")
        .arg(&f)
        .arg("-o")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{yaml}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for e in expect {
        assert!(stderr.contains(e), "`{e}` not in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out_file.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "a temporary file was left"
    );
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: nginx\n";

#[test]
fn bad_input_names_the_file_the_document_and_the_field() {
    refused(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\njust: text\n",
        &["bad.yaml:6: document 2: apiVersion: not a Kubernetes object: no apiVersion"],
    );
    refused(
        "- a\n- b\n",
        &["bad.yaml:1: document 1: not a Kubernetes object"],
    );
    refused("a: [1, 2\n", &["bad.yaml: not YAML"]);
    refused(
        &DEPLOYMENT.replace("apps/v1", "extensions/v1beta1"),
        &[
            "bad.yaml:1: document 1 (Deployment web): apiVersion:",
            "unknown apiVersion \"extensions/v1beta1\"",
            "\"apps/v1\"",
        ],
    );
    refused(
        &DEPLOYMENT.replace(
            "      containers:\n        - name: web\n          image: nginx\n",
            "      containers: []\n",
        ),
        &[
            "bad.yaml:12: document 1 (Deployment web): spec.template.spec.containers: a workload without containers",
        ],
    );
    refused(
        &DEPLOYMENT.replace("spec:\n  selector", "spec:\n  replicas: three\n  selector"),
        &[
            "bad.yaml:6: document 1 (Deployment web): spec.replicas:",
            "invalid type",
        ],
    );
    refused(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t}\ndata:\n  telegraf.conf: |\n    [agent\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: t}\nspec:\n  selector: {matchLabels: {a: t}}\n  template:\n    metadata: {labels: {a: t}}\n    spec:\n      containers:\n        - name: t\n          image: telegraf\n          volumeMounts: [{name: c, mountPath: /etc/telegraf}]\n      volumes: [{name: c, configMap: {name: t}}]\n",
        &[
            "bad.yaml:6: document 1 (ConfigMap t): data.telegraf.conf: a Telegraf config that does not parse: unclosed table",
        ],
    );
    refused(
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
        &["no Deployment, StatefulSet, DaemonSet among the manifests"],
    );
}
