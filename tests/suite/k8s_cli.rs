//! `hasim calibrate k8s` end to end, as a user runs it: a kubeconfig whose cluster is a
//! fake API server on a free loopback port (plain HTTP, answers in the API's shape, a
//! Pod that its "controller" replaces after each DELETE), the calibration file and the
//! trial log written, and a model that uses the result.

#![cfg(feature = "k8s")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use serde_json::{Value, json};

use crate::common::assert_follows;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/k8s/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pod(generation: usize, ready: bool, deleting: bool) -> Value {
    let mut p = fixture("pod-influxdb-0.json");
    p["metadata"]["uid"] = json!(format!("uid-{generation}"));
    let b = if ready { "True" } else { "False" };
    for c in p["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] != "PodScheduled" {
            c["status"] = json!(b);
        }
    }
    p["status"]["containerStatuses"][0]["ready"] = json!(ready);
    p["status"]["containerStatuses"][0]["started"] = json!(ready);
    if deleting {
        p["metadata"]["deletionTimestamp"] = json!("2026-11-26T10:00:31Z");
    }
    p
}

/// The fake API server's state: how many Pods were deleted, and every request seen.
#[derive(Default)]
struct Cluster {
    deleted: usize,
    requests: Vec<(String, String)>,
}

fn answer(cluster: &Mutex<Cluster>, method: &str, uri: &str) -> (u16, String) {
    let mut c = cluster.lock().unwrap();
    c.requests.push((method.to_string(), uri.to_string()));
    let n = c.deleted;
    match method {
        "GET" if uri == "/apis/apps/v1/namespaces/hasim/statefulsets/influxdb" => {
            (200, fixture("statefulset-influxdb.json").to_string())
        }
        "GET"
            if uri.starts_with("/api/v1/namespaces/hasim/pods?") && uri.contains("watch=true") =>
        {
            let events = [
                ("MODIFIED", pod(n, true, true)),
                ("DELETED", pod(n, true, true)),
                ("ADDED", pod(n + 1, false, false)),
                ("MODIFIED", pod(n + 1, true, false)),
            ];
            let body = events
                .iter()
                .map(|(t, o)| json!({ "type": t, "object": o }).to_string() + "\n")
                .collect();
            (200, body)
        }
        "GET" if uri.starts_with("/api/v1/namespaces/hasim/pods?") => (
            200,
            json!({ "apiVersion": "v1", "kind": "PodList",
                    "metadata": { "resourceVersion": "48290" },
                    "items": [pod(n, true, false)] })
            .to_string(),
        ),
        "DELETE" if uri.starts_with("/api/v1/namespaces/hasim/pods/influxdb-0") => {
            c.deleted += 1;
            (200, pod(n, true, true).to_string())
        }
        _ => (404, String::new()),
    }
}

fn serve_one(mut stream: TcpStream, cluster: &Mutex<Cluster>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let mut parts = request_line.split_whitespace();
    let (method, uri) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, text) = answer(cluster, method, uri);
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// Starts the fake API server; its address and state.
fn fake_cluster() -> (String, Arc<Mutex<Cluster>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let cluster = Arc::new(Mutex::new(Cluster::default()));
    let state = Arc::clone(&cluster);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let state = Arc::clone(&state);
            std::thread::spawn(move || serve_one(stream, &state));
        }
    });
    (format!("http://{addr}"), cluster)
}

fn kubeconfig(dir: &Path, server: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {server}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: hasim\n\
             current-context: fake\nusers:\n- name: fake\n  user:\n    token: not-a-secret\n"
        ),
    )
    .unwrap();
    path
}

/// `hasim calibrate k8s` on the fake cluster's InfluxDB StatefulSet.
const CALIBRATE_INFLUXDB: [&str; 8] = [
    "calibrate",
    "k8s",
    "--context",
    "fake",
    "--namespace",
    "hasim",
    "--target",
    "statefulset/influxdb",
];

fn hasim(kubeconfig: &Path) -> Command {
    let mut c = Command::cargo_bin("hasim").unwrap();
    c.env("KUBECONFIG", kubeconfig);
    c.timeout(std::time::Duration::from_secs(60));
    c
}

#[test]
fn calibrates_writes_the_file_and_the_log_and_a_model_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let (server, cluster) = fake_cluster();
    let config = kubeconfig(dir.path(), &server);
    let out = hasim(&config)
        .args(CALIBRATE_INFLUXDB)
        .args([
            "--fault",
            "delete-pod",
            "--trials",
            "3",
            "--settle",
            "0s",
            "--out",
        ])
        .arg(dir.path().join("cal.toml"))
        .arg("--log")
        .arg(dir.path().join("trials.jsonl"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("trial ").count(), 3, "{stderr}");

    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_follows("calibrate.schema.json", &summary);
    assert_eq!(summary["trials"].as_array().unwrap().len(), 3);
    assert_eq!(summary["measures"], "recreate");
    assert!(summary["chosen"].as_str().unwrap().starts_with("{ dist = "));

    let requests = cluster.lock().unwrap().requests.clone();
    let methods: Vec<&str> = requests.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        methods,
        ["GET", "GET", "GET", "DELETE"].repeat(3),
        "{requests:?}"
    );

    let cal: toml::Table = std::fs::read_to_string(dir.path().join("cal.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let entry = &cal["distributions"]["k8s-recreate"];
    assert_eq!(entry["samples"].as_array().unwrap().len(), 3);
    assert!(
        entry["source"]
            .as_str()
            .unwrap()
            .contains("delete-pod on statefulset/influxdb")
    );
    assert_eq!(
        cal["distributions"]["k8s-recreate-shutdown"]["samples"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let log = std::fs::read_to_string(dir.path().join("trials.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 3);
    for line in log.lines() {
        let t: Value = serde_json::from_str(line).unwrap();
        assert_follows("calibrate.schema.json", &t);
        assert!(t["replacements"][0]["ready"].as_f64().is_some());
    }

    // A model takes the new Pod's start-up time from the file.
    std::fs::write(
        dir.path().join("model.toml"),
        r#"name = "calibrated"
[simulation]
horizon = "30d"
replications = 20
[system]
read_path = ["C"]
[stages.C]
kind = "statefulset"
replicas = 1
failure = { dist = "exponential", mean = "5d" }
restart = "1m"
recreate = { calibration = "cal.toml", name = "k8s-recreate" }
"#,
    )
    .unwrap();
    let out = Command::cargo_bin("hasim")
        .unwrap()
        .arg("check")
        .arg(dir.path().join("model.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_dry_run_sends_only_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (server, cluster) = fake_cluster();
    let config = kubeconfig(dir.path(), &server);
    let out = hasim(&config)
        .args(CALIBRATE_INFLUXDB)
        .args(["--fault", "container-exit", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_follows("calibrate.schema.json", &plan);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(
        plan["settle_seconds"], 600.0,
        "10 min by default for container-exit"
    );
    assert!(
        plan["plan"]["actions"][0]
            .as_str()
            .unwrap()
            .contains("exec in /api/v1/namespaces/hasim/pods/influxdb-0")
    );
    let requests = cluster.lock().unwrap().requests.clone();
    assert!(requests.iter().all(|r| r.0 == "GET"), "{requests:?}");
    // --insecure without a store to probe does nothing, and says so (not that the probe
    // is exposed: there is none).
    let out = hasim(&config)
        .args(CALIBRATE_INFLUXDB)
        .args(["--fault", "container-exit", "--dry-run", "--insecure"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: --insecure does nothing here: no store is probed"),
        "{err}"
    );
    assert!(!err.contains("anyone on the path"), "{err}");
}

#[test]
fn unsafe_or_malformed_requests_are_refused_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (server, cluster) = fake_cluster();
    let config = kubeconfig(dir.path(), &server);
    let base = [
        "calibrate",
        "k8s",
        "--context",
        "fake",
        "--fault",
        "delete-pod",
    ];
    let cases: [&[&str]; 4] = [
        &[
            "--namespace",
            "kube-system",
            "--target",
            "statefulset/influxdb",
            "--out",
            "x.toml",
        ],
        &[
            "--namespace",
            "hasim",
            "--target",
            "pod/influxdb-0",
            "--out",
            "x.toml",
        ],
        &["--namespace", "hasim", "--target", "statefulset/influxdb"],
        &[
            "--namespace",
            "hasim",
            "--target",
            "statefulset/influxdb",
            "--out",
            "x.toml",
            "--probe-service",
            "influxdb",
        ],
    ];
    // Names that would steer a request's path elsewhere, or make the run useless.
    let steering: [&[&str]; 8] = [
        // A store's token cannot pass the API server's proxy.
        &[
            "--namespace",
            "hasim",
            "--target",
            "statefulset/influxdb",
            "--probe-service",
            "influxdb:8086",
            "--token",
            "t",
        ],
        &[
            "--namespace",
            "default/../kube-system",
            "--target",
            "statefulset/influxdb",
        ],
        &["--namespace", "Hasim", "--target", "statefulset/influxdb"],
        &["--namespace", "hasim", "--target", "statefulset/..%2Fx"],
        &[
            "--namespace",
            "hasim",
            "--target",
            "statefulset/influxdb",
            "--container",
            "a/b",
        ],
        &[
            "--namespace",
            "hasim",
            "--target",
            "statefulset/influxdb",
            "--probe-service",
            "a/b:8086",
        ],
        &[
            "--namespace",
            "hasim",
            "--target",
            "statefulset/influxdb",
            "--probe-url",
            "influxdb:8086",
        ],
        &[
            "--namespace",
            "hasim",
            "--target",
            "statefulset/influxdb",
            "--trials",
            "1",
        ],
    ];
    let with_out: Vec<Vec<&str>> = steering
        .iter()
        .map(|c| [*c, &["--out", "x.toml"][..]].concat())
        .collect();
    for extra in cases
        .iter()
        .copied()
        .chain(with_out.iter().map(Vec::as_slice))
    {
        let out = hasim(&config)
            .current_dir(dir.path())
            .args(base)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(cluster.lock().unwrap().requests.is_empty());
    assert!(!dir.path().join("x.toml").exists());
}

#[test]
fn no_cluster_configuration_is_a_clear_failure() {
    let dir = tempfile::tempdir().unwrap();
    let out = hasim(&dir.path().join("missing-kubeconfig"))
        .env("HOME", dir.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args([
            "calibrate",
            "k8s",
            "--namespace",
            "hasim",
            "--target",
            "statefulset/influxdb",
            "--fault",
            "delete-pod",
            "--out",
            "x.toml",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Kubernetes configuration"), "{stderr}");
}
