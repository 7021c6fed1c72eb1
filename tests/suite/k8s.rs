//! `hasim calibrate k8s` against kube's mock service (`tower_test::mock::pair`): every
//! request's method and URI is checked, the answers are Kubernetes API objects in the
//! API's own shape (tests/fixtures/k8s, written after `kubectl get -o json` of the
//! calibration/k8s manifests on minikube; not captured from a live cluster here), and
//! every wait has a timeout so a missing or extra call fails instead of hanging.

#![cfg(feature = "k8s")]

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use hasim::calibrate::k8s::{
    Calibrator, Fault, K8sConfig, K8sError, ServiceProxy, Target, TrialRecord,
};
use hasim::calibrate::store::Store;
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{Value, json};

const NS: &str = "hasim";
const OLD_UID: &str = "5b0d6a4e-8f1e-4c57-b3a9-2f6c1d7e8a90";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/k8s/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The InfluxDB Pod in a given state.
fn pod(uid: &str, name: &str, ready: bool, scheduled: bool, started: bool, restarts: i32) -> Value {
    let mut p = fixture("pod-influxdb-0.json");
    p["metadata"]["uid"] = json!(uid);
    p["metadata"]["name"] = json!(name);
    let b = |x: bool| if x { "True" } else { "False" };
    let status = &mut p["status"];
    status["phase"] = json!(if started { "Running" } else { "Pending" });
    for c in status["conditions"].as_array_mut().unwrap() {
        let kind = c["type"].as_str().unwrap().to_string();
        c["status"] = json!(match kind.as_str() {
            "PodScheduled" => b(scheduled),
            "Ready" | "ContainersReady" => b(ready),
            _ => b(started),
        });
    }
    let cs = &mut status["containerStatuses"][0];
    cs["ready"] = json!(ready);
    cs["started"] = json!(started);
    cs["restartCount"] = json!(restarts);
    if !started {
        cs["state"] = json!({ "waiting": { "reason": "ContainerCreating" } });
    }
    p
}

fn deleting(mut p: Value) -> Value {
    p["metadata"]["deletionTimestamp"] = json!("2026-11-26T10:00:31Z");
    p["metadata"]["deletionGracePeriodSeconds"] = json!(30);
    p
}

fn events(list: &[(&str, Value)]) -> String {
    list.iter()
        .enumerate()
        .map(|(i, (kind, obj))| {
            let mut obj = obj.clone();
            obj["metadata"]["resourceVersion"] = json!(format!("{}", 48300 + i));
            json!({ "type": kind, "object": obj }).to_string() + "\n"
        })
        .collect()
}

fn pod_list(pods: &[Value]) -> String {
    json!({
        "apiVersion": "v1", "kind": "PodList",
        "metadata": { "resourceVersion": "48290" },
        "items": pods,
    })
    .to_string()
}

fn statefulset(ready: i32, replicas: i32) -> String {
    let mut s = fixture("statefulset-influxdb.json");
    s["spec"]["replicas"] = json!(replicas);
    s["status"]["replicas"] = json!(replicas);
    s["status"]["readyReplicas"] = json!(ready);
    s["status"]["updatedReplicas"] = json!(replicas);
    s.to_string()
}

/// One request the client made.
#[derive(Debug)]
struct Seen {
    method: Method,
    uri: String,
    body: String,
    content_type: String,
}

/// Answers the client's requests with `answer` until it hangs up (or is silent for 5 s),
/// and returns what it asked, in order.
async fn serve(
    mut handle: tower_test::mock::Handle<Request<Body>, Response<Body>>,
    mut answer: impl FnMut(&Seen) -> (u16, String) + Send,
) -> Vec<Seen> {
    let mut seen = vec![];
    while let Ok(Some((request, send))) =
        tokio::time::timeout(Duration::from_secs(5), handle.next_request()).await
    {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let s = Seen {
            method: parts.method,
            uri: parts.uri.to_string(),
            body: String::from_utf8_lossy(&body).into_owned(),
            content_type: parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .map_or(String::new(), |v| v.to_str().unwrap().to_string()),
        };
        let (status, text) = answer(&s);
        seen.push(s);
        send.send_response(
            Response::builder()
                .status(status)
                .body(Body::from(text.into_bytes()))
                .unwrap(),
        );
    }
    seen
}

fn config(fault: Fault, trials: u32) -> K8sConfig {
    K8sConfig {
        namespace: NS.into(),
        target: "statefulset/influxdb".parse::<Target>().unwrap(),
        fault,
        trials,
        settle: Duration::ZERO,
        timeout: Duration::from_secs(20),
        effect_timeout: Duration::from_secs(10),
        poll: Duration::from_millis(10),
        probe: None,
        probe_tls: Default::default(),
        probe_store: Store::v1("hasim_probe"),
        exit_command: vec!["sh".into(), "-c".into(), "kill 1".into()],
        container: None,
    }
}

fn mock() -> (
    kube::Client,
    tower_test::mock::Handle<Request<Body>, Response<Body>>,
) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (kube::Client::new(service, NS), handle)
}

/// Runs the trials of `cfg` against a mock API server that answers with `answer`: what
/// `run` returned (within 30 s), every request in order, and how many trials it reported.
async fn run_against(
    cfg: K8sConfig,
    answer: impl FnMut(&Seen) -> (u16, String) + Send + 'static,
) -> (Result<Vec<TrialRecord>, K8sError>, Vec<Seen>, usize) {
    let (client, handle) = mock();
    let server = tokio::spawn(serve(handle, answer));
    let cal = Calibrator::new(client, cfg).unwrap();
    let mut reported = 0;
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        cal.run(&AtomicBool::new(false), |_| reported += 1),
    )
    .await
    .expect("the run ends");
    drop(cal);
    (result, server.await.unwrap(), reported)
}

const GET_STS: &str = "/apis/apps/v1/namespaces/hasim/statefulsets/influxdb";
const LIST_PODS: &str =
    "/api/v1/namespaces/hasim/pods?&labelSelector=app.kubernetes.io%2Fname%3Dinfluxdb";
const WATCH_PODS: &str = "/api/v1/namespaces/hasim/pods?&watch=true&timeoutSeconds=290&labelSelector=app.kubernetes.io%2Fname%3Dinfluxdb&allowWatchBookmarks=true&resourceVersion=48290";

fn calls(seen: &[Seen]) -> Vec<(String, String)> {
    seen.iter()
        .map(|s| (s.method.to_string(), s.uri.clone()))
        .collect()
}

fn expect(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(m, u)| (m.to_string(), u.to_string()))
        .collect()
}

#[tokio::test]
async fn delete_pod_watches_the_replacement_until_ready() {
    let old = pod(OLD_UID, "influxdb-0", true, true, true, 0);
    let watch = events(&[
        ("MODIFIED", deleting(old.clone())),
        ("DELETED", deleting(old.clone())),
        (
            "ADDED",
            pod("new-uid", "influxdb-0", false, false, false, 0),
        ),
        (
            "MODIFIED",
            pod("new-uid", "influxdb-0", false, true, false, 0),
        ),
        (
            "MODIFIED",
            pod("new-uid", "influxdb-0", false, true, true, 0),
        ),
        (
            "MODIFIED",
            pod("new-uid", "influxdb-0", true, true, true, 0),
        ),
    ]);
    let (result, seen, seen_trials) = run_against(config(Fault::DeletePod, 1), move |s| {
        match (s.method.as_str(), s.uri.as_str()) {
            ("GET", GET_STS) => (200, statefulset(1, 1)),
            ("GET", LIST_PODS) => (200, pod_list(std::slice::from_ref(&old))),
            ("GET", WATCH_PODS) => (200, watch.clone()),
            ("DELETE", _) => (200, deleting(old.clone()).to_string()),
            _ => (404, String::new()),
        }
    })
    .await;
    let trials = result.unwrap();
    assert_eq!(
        calls(&seen),
        expect(&[
            ("GET", GET_STS),
            ("GET", LIST_PODS),
            ("GET", WATCH_PODS),
            ("DELETE", "/api/v1/namespaces/hasim/pods/influxdb-0?"),
        ])
    );
    assert_eq!(seen_trials, 1);
    let t = &trials[0];
    assert_eq!(t.samples.len(), 1, "one recreate sample");
    assert!(!t.samples[0].censored);
    assert_eq!(t.shutdown.len(), 1, "one shutdown sample");
    let new = &t.timeline.replacements[0];
    let (seen_at, sched, started, ready) = (
        new.seen.unwrap(),
        new.scheduled.unwrap(),
        new.started.unwrap(),
        new.ready.unwrap(),
    );
    assert!(seen_at <= sched && sched <= started && started <= ready);
    assert!((t.samples[0].value - (ready - seen_at)).abs() < 1e-12);
    assert_eq!(t.timeline.victims[0].uid, OLD_UID);
    assert!(t.timeline.victims[0].gone.is_some());
    assert!(t.flags.is_empty(), "{:?}", t.flags);
}

#[tokio::test]
async fn rollout_restart_patches_the_template_and_waits_for_every_pod() {
    let p0 = pod(OLD_UID, "influxdb-0", true, true, true, 0);
    let p1 = pod("old-1", "influxdb-1", true, true, true, 0);
    // The StatefulSet controller replaces the highest ordinal first, one at a time.
    let watch = events(&[
        ("MODIFIED", deleting(p1.clone())),
        ("DELETED", deleting(p1.clone())),
        ("ADDED", pod("new-1", "influxdb-1", false, false, false, 0)),
        ("MODIFIED", pod("new-1", "influxdb-1", false, true, true, 0)),
        ("MODIFIED", pod("new-1", "influxdb-1", true, true, true, 0)),
        ("MODIFIED", deleting(p0.clone())),
        ("DELETED", deleting(p0.clone())),
        ("ADDED", pod("new-0", "influxdb-0", false, true, false, 0)),
        ("MODIFIED", pod("new-0", "influxdb-0", true, true, true, 0)),
    ]);
    let pods = [p0.clone(), p1.clone()];
    let (result, seen, _) = run_against(config(Fault::RolloutRestart, 1), move |s| {
        match (s.method.as_str(), s.uri.as_str()) {
            ("GET", GET_STS) => (200, statefulset(2, 2)),
            ("GET", LIST_PODS) => (200, pod_list(&pods)),
            ("GET", WATCH_PODS) => (200, watch.clone()),
            ("PATCH", _) => (200, statefulset(2, 2)),
            _ => (404, String::new()),
        }
    })
    .await;
    let trials = result.unwrap();
    assert_eq!(
        calls(&seen),
        expect(&[
            ("GET", GET_STS),
            ("GET", LIST_PODS),
            ("GET", WATCH_PODS),
            (
                "PATCH",
                "/apis/apps/v1/namespaces/hasim/statefulsets/influxdb?"
            ),
        ])
    );
    let patch = &seen[3];
    assert_eq!(patch.content_type, "application/strategic-merge-patch+json");
    let body: Value = serde_json::from_str(&patch.body).unwrap();
    let stamp =
        body["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .as_str()
            .expect("the restartedAt annotation, as kubectl sets it");
    assert!(
        stamp.parse::<k8s_openapi::jiff::Timestamp>().is_ok(),
        "RFC 3339: {stamp}"
    );
    let t = &trials[0];
    assert_eq!(t.samples.len(), 2, "one recreate sample per Pod");
    assert_eq!(t.shutdown.len(), 2);
    assert!(t.samples.iter().all(|s| !s.censored));
}

#[tokio::test]
async fn container_exit_execs_and_waits_for_the_in_place_restart() {
    let old = pod(OLD_UID, "influxdb-0", true, true, true, 0);
    let watch = events(&[
        (
            "MODIFIED",
            pod(OLD_UID, "influxdb-0", false, true, false, 0),
        ),
        ("MODIFIED", pod(OLD_UID, "influxdb-0", false, true, true, 1)),
        ("MODIFIED", pod(OLD_UID, "influxdb-0", true, true, true, 1)),
    ]);
    let exec = "/api/v1/namespaces/hasim/pods/influxdb-0/exec?&stdout=true&stderr=true&command=sh&command=-c&command=kill+1";
    let (result, seen, _) = run_against(config(Fault::ContainerExit, 1), move |s| {
        match (s.method.as_str(), s.uri.as_str()) {
            ("GET", GET_STS) => (200, statefulset(1, 1)),
            ("GET", LIST_PODS) => (200, pod_list(std::slice::from_ref(&old))),
            ("GET", WATCH_PODS) => (200, watch.clone()),
            // The connection upgrade cannot be mocked: the session fails, as a real one
            // often does when the container it runs in exits. The watch decides.
            ("GET", u) if u == exec => (101, String::new()),
            _ => (404, String::new()),
        }
    })
    .await;
    let trials = result.unwrap();
    assert_eq!(
        calls(&seen),
        expect(&[
            ("GET", GET_STS),
            ("GET", LIST_PODS),
            ("GET", WATCH_PODS),
            ("GET", exec),
        ])
    );
    let t = &trials[0];
    assert_eq!(t.samples.len(), 1);
    assert!(!t.samples[0].censored);
    assert!(t.shutdown.is_empty());
    let v = &t.timeline.victims[0];
    assert!(v.not_ready.unwrap() <= v.restarted.unwrap());
    assert!(v.restarted.unwrap() <= v.ready.unwrap());
    assert!(t.exec_note.is_some());
    assert!(
        t.flags.iter().any(|f| f.contains("600 s back-off reset")),
        "a settle shorter than 10 min is flagged: {:?}",
        t.flags
    );
}

#[tokio::test]
async fn an_exec_the_api_server_refuses_is_an_error_not_a_sample() {
    let old = pod(OLD_UID, "influxdb-0", true, true, true, 0);
    let (result, _, seen_trials) = run_against(config(Fault::ContainerExit, 3), move |s| {
        match (s.method.as_str(), s.uri.as_str()) {
        ("GET", GET_STS) => (200, statefulset(1, 1)),
        ("GET", LIST_PODS) => (200, pod_list(std::slice::from_ref(&old))),
        ("GET", WATCH_PODS) => (200, String::new()),
        _ => (
            403,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                   "message": "pods \"influxdb-0\" is forbidden: cannot create resource \"pods/exec\"",
                   "reason": "Forbidden", "code": 403})
            .to_string(),
        ),
    }
    }).await;
    let err = result.unwrap_err();
    assert!(matches!(err, K8sError::Api { .. }), "{err}");
    assert!(err.to_string().contains("cannot exec"), "{err}");
    assert_eq!(seen_trials, 0);
}

#[tokio::test]
async fn a_fault_without_effect_is_an_error() {
    let old = pod(OLD_UID, "influxdb-0", true, true, true, 0);
    let mut cfg = config(Fault::RolloutRestart, 1);
    cfg.effect_timeout = Duration::from_millis(300);
    let (result, seen, _) = run_against(cfg, move |s| {
        match (s.method.as_str(), s.uri.as_str()) {
            ("GET", GET_STS) => (200, statefulset(1, 1)),
            ("GET", LIST_PODS) => (200, pod_list(std::slice::from_ref(&old))),
            // Watches that end with nothing to say, as a server's do at their timeout.
            ("GET", u) if u.contains("watch=true") => (200, String::new()),
            ("PATCH", _) => (200, statefulset(1, 1)),
            _ => (404, String::new()),
        }
    })
    .await;
    let err = result.unwrap_err();
    assert!(matches!(err, K8sError::NoEffect(_)), "{err}");
    assert_eq!(seen.iter().filter(|s| s.method == Method::PATCH).count(), 1);
    assert!(
        seen.iter().filter(|s| s.uri.contains("watch=true")).count() >= 2,
        "an ended watch is resumed"
    );
}

#[tokio::test]
async fn an_unsettled_workload_gets_no_fault() {
    let mut cfg = config(Fault::DeletePod, 1);
    cfg.timeout = Duration::from_millis(200);
    let (result, seen, _) = run_against(cfg, |s| match (s.method.as_str(), s.uri.as_str()) {
        ("GET", GET_STS) => (200, statefulset(0, 1)),
        _ => (404, String::new()),
    })
    .await;
    let err = result.unwrap_err();
    assert!(matches!(err, K8sError::NotSettled(_)), "{err}");
    assert!(seen.len() >= 2, "polled until the timeout");
    assert!(
        seen.iter()
            .all(|s| s.method == Method::GET && s.uri == GET_STS),
        "{:?}",
        calls(&seen)
    );
}

#[tokio::test]
async fn a_dry_run_only_reads() {
    let (client, handle) = mock();
    let old = pod(OLD_UID, "influxdb-0", true, true, true, 0);
    let server = tokio::spawn(serve(handle, move |s| {
        match (s.method.as_str(), s.uri.as_str()) {
            ("GET", GET_STS) => (200, statefulset(1, 1)),
            ("GET", LIST_PODS) => (200, pod_list(std::slice::from_ref(&old))),
            _ => (404, String::new()),
        }
    }));
    let cal = Calibrator::new(client, config(Fault::DeletePod, 2)).unwrap();
    let plan = tokio::time::timeout(Duration::from_secs(30), cal.plan())
        .await
        .expect("ends")
        .unwrap();
    drop(cal);
    let seen = server.await.unwrap();
    assert_eq!(
        calls(&seen),
        expect(&[("GET", GET_STS), ("GET", LIST_PODS)])
    );
    assert!(plan.workload.settled);
    assert_eq!(plan.actions.len(), 2);
    assert!(plan.actions[0].contains("DELETE /api/v1/namespaces/hasim/pods/influxdb-0"));
}

#[tokio::test]
async fn a_stop_request_injects_nothing_more() {
    let (client, handle) = mock();
    let server = tokio::spawn(serve(handle, |_| (404, String::new())));
    let cal = Calibrator::new(client, config(Fault::DeletePod, 5)).unwrap();
    let trials = cal.run(&AtomicBool::new(true), |_| {}).await.unwrap();
    drop(cal);
    assert!(trials.is_empty());
    assert!(server.await.unwrap().is_empty(), "not a single request");
}

#[test]
fn kube_system_is_refused_before_any_request() {
    let (service, _handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let client = kube::Client::new(service, "kube-system");
    let mut cfg = config(Fault::DeletePod, 1);
    cfg.namespace = "kube-system".into();
    assert!(matches!(
        Calibrator::new(client, cfg),
        Err(K8sError::Unsafe(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_reaches_influxdb_through_the_service_proxy() {
    let (client, handle) = mock();
    let server = tokio::spawn(serve(handle, |s| {
        if s.uri.contains("/proxy/write") {
            (204, String::new())
        } else if s.method == Method::GET {
            // The Service has no ready endpoint: the API server answers 503.
            (
                503,
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                       "message": "no endpoints available for service \"influxdb:8086\"",
                       "reason": "ServiceUnavailable", "code": 503})
                .to_string(),
            )
        } else {
            (200, "{\"results\":[{\"statement_id\":0}]}".into())
        }
    }));
    let proxy = ServiceProxy::new(
        client,
        tokio::runtime::Handle::current(),
        NS,
        "influxdb:8086",
        Duration::from_secs(2),
    );
    let store = Store::v1("hasim_probe");
    let (created, written, read) = tokio::task::spawn_blocking(move || {
        (
            store.create(&proxy),
            store.write(&proxy, "hasim_probe seq=1i"),
            store.read(&proxy),
        )
    })
    .await
    .unwrap();
    assert!(
        created.is_ok() && written.is_ok(),
        "{created:?} {written:?}"
    );
    let err = read.unwrap_err();
    assert!(err.contains("no endpoints available"), "{err}");
    let seen = server.await.unwrap();
    let base = "/api/v1/namespaces/hasim/services/influxdb:8086/proxy";
    assert_eq!(
        calls(&seen),
        vec![
            (
                "POST".into(),
                format!("{base}/query?q=CREATE+DATABASE+%22hasim_probe%22")
            ),
            ("POST".into(), format!("{base}/write?db=hasim_probe")),
            (
                "GET".into(),
                format!("{base}/query?db=hasim_probe&q=SELECT+last%28seq%29+FROM+hasim_probe")
            ),
        ]
    );
    assert_eq!(seen[1].body, "hasim_probe seq=1i");
}
