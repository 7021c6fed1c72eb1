//! Node outages from `kubectl get events -o json`: a Node's `NodeNotReady` event opens an
//! outage and its next `NodeReady` closes it (the node lifecycle controller and the
//! kubelet record these on the Node). Events expire (an hour by default, the API server's
//! `--event-ttl`), so a saved list covers only the window it was collected over, which
//! the caller gives; the outages become incidents of component `NODE`, mode
//! `not-ready`, for [`super::history::estimate`].
//!
//! An event seen several times (`count` > 1) says only when it was first and last seen:
//! both are taken as transitions, and the ones between are unknown (said in the notes).
//!
//! A Pod's events give liveness kills (`Killing`, "Container C failed liveness probe,
//! will be restarted": the kubelet's message) as mode `liveness`, counted with their
//! `count`, and crash loops (`BackOff`, "Back-off restarting failed container …"), which
//! are reported, not counted: the crashes under them are restarts counted elsewhere.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::history::{Incident, ModeHistory, parse_time};
use super::rates::{Prior, RateEstimate};

/// The mode node outages are given.
pub const NOT_READY: &str = "not-ready";

/// The events of a `kubectl get events -o json` list.
fn items(file: &str, text: &str) -> Result<Vec<Value>, String> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("{file}: not JSON ({e}): expected `kubectl get events -o json`"))?;
    match v.get("kind").and_then(Value::as_str) {
        Some("List" | "EventList") => v
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| format!("{file}: a List without items")),
        Some(k) => Err(format!(
            "{file}: kind {k}: expected an event list (kubectl get events -o json)"
        )),
        None => Err(format!(
            "{file}: no kind: expected `kubectl get events -o json`"
        )),
    }
}

/// An event's first and last instants (`firstTimestamp`, else `eventTime`, else
/// `lastTimestamp`; the last one the same when not repeated) and how often it was seen.
fn instants(e: &Value, file: &str, i: usize, what: &str) -> Result<(f64, f64, u64), String> {
    let time = |key: &str| e.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let at = |t: &str| parse_time(t).map_err(|m| format!("{file}: items[{i}] ({what}): {m}"));
    let first = time("firstTimestamp")
        .or_else(|| time("eventTime"))
        .or_else(|| time("lastTimestamp"))
        .ok_or_else(|| format!("{file}: items[{i}] ({what}): an event without a time"))?;
    let first = at(first)?;
    let count = e
        .get("count")
        .and_then(Value::as_u64)
        .or_else(|| e.pointer("/series/count").and_then(Value::as_u64))
        .unwrap_or(1)
        .max(1);
    let last = match time("lastTimestamp").or_else(|| {
        e.pointer("/series/lastObservedTime")
            .and_then(Value::as_str)
    }) {
        Some(t) if count > 1 => at(t)?.max(first),
        _ => first,
    };
    Ok((first, last, count))
}

/// What a Pod's events say: the kubelet killed a container that failed its liveness
/// probe (`Killing`, "… failed liveness probe, will be restarted"), or held a crashed
/// container back (`BackOff`, "Back-off restarting failed container …").
#[derive(Clone, Debug, PartialEq)]
pub struct PodEvent {
    pub namespace: String,
    pub pod: String,
    /// The container a liveness kill names.
    pub container: Option<String>,
    pub liveness_kill: bool,
    pub first: f64,
    pub last: f64,
    pub count: u64,
}

/// The liveness kills and back-offs of an event list.
pub fn pod_events(file: &str, text: &str) -> Result<Vec<PodEvent>, String> {
    let mut out = vec![];
    for (i, e) in items(file, text)?.iter().enumerate() {
        if e.pointer("/involvedObject/kind").and_then(Value::as_str) != Some("Pod") {
            continue;
        }
        let message = e.get("message").and_then(Value::as_str).unwrap_or("");
        let liveness_kill = match e.get("reason").and_then(Value::as_str) {
            Some("Killing") if message.contains("failed liveness probe") => true,
            Some("BackOff") if message.starts_with("Back-off restarting failed container") => false,
            _ => continue,
        };
        let pod = e
            .pointer("/involvedObject/name")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!("{file}: items[{i}]: a Pod event without involvedObject.name")
            })?;
        let (first, last, count) = instants(e, file, i, pod)?;
        out.push(PodEvent {
            namespace: e
                .pointer("/involvedObject/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            pod: pod.to_string(),
            container: killed_container(message).map(str::to_string),
            liveness_kill,
            first,
            last,
            count,
        });
    }
    Ok(out)
}

/// The workload a Pod's name says it belongs to, when nothing better is known: a
/// Deployment's `NAME-HASH-SUFFIX` (the ReplicaSet's pod-template hash, then five
/// characters), a DaemonSet's `NAME-SUFFIX` and a StatefulSet's `NAME-ORDINAL` give NAME;
/// any other name is its own. Hashes and suffixes are written in apimachinery's
/// `rand.SafeEncodeString` alphabet (no vowels, no 0, 1 or 3), which tells them from words.
pub fn workload_of_pod_name(pod: &str) -> String {
    const SAFE: &str = "bcdfghjklmnpqrstvwxz2456789";
    let parts: Vec<&str> = pod.split('-').collect();
    let safe = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.chars().all(|c| SAFE.contains(c))
    };
    match parts.as_slice() {
        [head @ .., hash, suffix]
            if !head.is_empty() && safe(hash, 6..=10) && safe(suffix, 5..=5) =>
        {
            head.join("-")
        }
        [head @ .., last]
            if !head.is_empty() && (safe(last, 5..=5) || last.parse::<u32>().is_ok()) =>
        {
            head.join("-")
        }
        _ => pod.to_string(),
    }
}

/// The container a liveness kill names ("Container influxdb failed liveness probe, …").
fn killed_container(message: &str) -> Option<&str> {
    message
        .strip_prefix("Container ")?
        .split_once(" failed liveness probe")
        .map(|(c, _)| c)
}

/// A crash loop seen in the events.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BackOffSpan {
    pub component: String,
    pub pod: String,
    /// Seconds since the epoch.
    pub first: f64,
    pub last: f64,
    pub count: u64,
}

/// What the Pods' events say, per component.
#[derive(Clone, Debug, Default)]
pub struct PodEventRates {
    /// One [`LIVENESS`] mode per component with a Pod in the events or in `replicas`.
    pub modes: Vec<ModeHistory>,
    pub backoff: Vec<BackOffSpan>,
    pub notes: Vec<String>,
}

/// The mode liveness kills are given.
pub const LIVENESS: &str = "liveness";

/// Liveness kill rates over `[from, to]`: each component's kills (an event seen `count`
/// times is that many kills; one that began before the window or ended after it is not
/// counted, and said) over an exposure of the window for each of its Pods, known from
/// `replicas` (component → Pods, from snapshots) or, failing that, seen in the events.
/// `component_of(namespace, pod, container)` names a Pod's stage.
pub fn liveness_rates(
    events: &[PodEvent],
    component_of: &dyn Fn(&str, &str, Option<&str>) -> String,
    replicas: &BTreeMap<String, BTreeSet<String>>,
    from: f64,
    to: f64,
    prior: Option<Prior>,
    level: f64,
) -> Result<PodEventRates, String> {
    let mut out = PodEventRates::default();
    let mut kills: BTreeMap<String, u64> = BTreeMap::new();
    let mut pods: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut straddling = 0;
    for e in events {
        let component = component_of(&e.namespace, &e.pod, e.container.as_deref());
        pods.entry(component.clone())
            .or_default()
            .insert(e.pod.clone());
        if !e.liveness_kill {
            out.backoff.push(BackOffSpan {
                component,
                pod: e.pod.clone(),
                first: e.first,
                last: e.last,
                count: e.count,
            });
            continue;
        }
        let n = kills.entry(component).or_default();
        if e.first >= from && e.last <= to {
            *n += e.count;
        } else if e.last >= from && e.first <= to {
            straddling += 1;
        }
    }
    for (component, seen) in pods {
        if !kills.contains_key(&component) {
            continue;
        }
        let known = replicas.get(&component);
        let count = known.map_or(seen.len(), |r| r.union(&seen).count());
        let exposure = count as f64 * (to - from);
        if known.is_none() {
            out.notes.push(format!(
                "{component}: liveness kills over the window of each of its {count} Pod(s) seen in the events (give --pods snapshots to count the quiet ones)"
            ));
        }
        out.modes.push(ModeHistory {
            rate: RateEstimate::new(kills[&component], exposure, prior, level)?,
            component,
            mode: LIVENESS.into(),
            outages: vec![],
            started_before: 0,
        });
    }
    if straddling > 0 {
        out.notes.push(format!(
            "{straddling} liveness Killing event(s) seen both inside and outside the window: their kills inside are not known, not counted"
        ));
    }
    for b in &out.backoff {
        out.notes.push(format!(
            "{}: Pod {} held in CrashLoopBackOff (BackOff seen {} time(s), {} to {}): its crashes are in its restart counts",
            b.component,
            b.pod,
            b.count,
            jiff::Timestamp::from_second(b.first as i64).map_or(String::new(), |t| t.to_string()),
            jiff::Timestamp::from_second(b.last as i64).map_or(String::new(), |t| t.to_string()),
        ));
    }
    Ok(out)
}

/// The node outages of an event list, and notes on what could not be read exactly.
pub fn node_outages(file: &str, text: &str) -> Result<(Vec<Incident>, Vec<String>), String> {
    let items = items(file, text)?;
    let mut transitions: Vec<(String, f64, bool, usize)> = vec![];
    let mut notes = vec![];
    for (i, e) in items.iter().enumerate() {
        let on_node = e.pointer("/involvedObject/kind").and_then(Value::as_str) == Some("Node");
        let ready = match e.get("reason").and_then(Value::as_str) {
            Some("NodeReady") => true,
            Some("NodeNotReady") => false,
            _ => continue,
        };
        if !on_node {
            continue;
        }
        let node = e
            .pointer("/involvedObject/name")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!("{file}: items[{i}]: a Node event without involvedObject.name")
            })?;
        let (first, last, count) = instants(e, file, i, node)?;
        transitions.push((node.to_string(), first, ready, i));
        if count > 1 {
            if last > first {
                transitions.push((node.to_string(), last, ready, i));
            }
            notes.push(format!(
                "{node}: {} seen {count} times: only its first and last instants are known",
                if ready { "NodeReady" } else { "NodeNotReady" }
            ));
        }
    }
    transitions.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out: Vec<Incident> = vec![];
    let mut open: Option<usize> = None;
    let mut last_node = String::new();
    for (node, t, ready, i) in transitions {
        if node != last_node {
            open = None;
            last_node = node.clone();
        }
        match (ready, open) {
            (false, None) => {
                open = Some(out.len());
                out.push(Incident {
                    component: node,
                    mode: NOT_READY.into(),
                    start: t,
                    end: None,
                    line: i + 1,
                });
            }
            (true, Some(k)) => {
                out[k].end = Some(t);
                open = None;
            }
            // NotReady while not ready, or Ready while ready: nothing changes.
            _ => {}
        }
    }
    Ok((out, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(node: &str, reason: &str, first: &str, last: &str, count: u32) -> String {
        format!(
            r#"{{"kind": "Event", "involvedObject": {{"kind": "Node", "name": "{node}"}}, "reason": "{reason}",
               "firstTimestamp": "{first}", "lastTimestamp": "{last}", "count": {count}}}"#
        )
    }

    #[test]
    fn not_ready_then_ready_is_an_outage() {
        let list = format!(
            r#"{{"kind": "List", "items": [{}, {}, {}, {}, {}]}}"#,
            event(
                "n1",
                "NodeNotReady",
                "2026-01-02T00:00:00Z",
                "2026-01-02T00:00:00Z",
                1
            ),
            event(
                "n1",
                "NodeReady",
                "2026-01-02T00:20:00Z",
                "2026-01-02T00:20:00Z",
                1
            ),
            event(
                "n2",
                "NodeNotReady",
                "2026-01-03T00:00:00Z",
                "2026-01-03T00:00:00Z",
                1
            ),
            r#"{"kind": "Event", "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "Killing", "firstTimestamp": "2026-01-02T00:00:00Z"}"#,
            event(
                "n1",
                "NodeNotReady",
                "2026-01-05T00:00:00Z",
                "2026-01-05T01:00:00Z",
                2
            ),
        );
        let (inc, notes) = node_outages("ev.json", &list).unwrap();
        assert_eq!(inc.len(), 3, "{inc:?}");
        assert_eq!(inc[0].end.unwrap() - inc[0].start, 1200.0);
        // The repeated NotReady: one outage from its first instant, still open.
        assert_eq!(inc[1].start, parse_time("2026-01-05T00:00:00Z").unwrap());
        assert_eq!(inc[1].end, None);
        assert_eq!((inc[2].component.as_str(), inc[2].end), ("n2", None));
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("seen 2 times"));
    }

    fn pod_event(
        pod: &str,
        reason: &str,
        message: &str,
        first: &str,
        last: &str,
        count: u32,
    ) -> String {
        format!(
            r#"{{"kind": "Event", "involvedObject": {{"kind": "Pod", "namespace": "metrics", "name": "{pod}"}}, "reason": "{reason}",
               "message": "{message}", "firstTimestamp": "{first}", "lastTimestamp": "{last}", "count": {count}}}"#
        )
    }

    #[test]
    fn liveness_kills_are_counted_and_back_offs_reported() {
        let list = format!(
            r#"{{"kind": "List", "items": [{}, {}, {}, {}, {}]}}"#,
            pod_event(
                "influxdb-0",
                "Killing",
                "Container influxdb failed liveness probe, will be restarted",
                "2026-01-02T00:00:00Z",
                "2026-01-02T06:00:00Z",
                3
            ),
            // A deletion is not a failure.
            pod_event(
                "influxdb-0",
                "Killing",
                "Stopping container influxdb",
                "2026-01-03T00:00:00Z",
                "2026-01-03T00:00:00Z",
                1
            ),
            pod_event(
                "telegraf-5d8f7c9b4-x2x9q",
                "BackOff",
                "Back-off restarting failed container telegraf in pod telegraf-5d8f7c9b4-x2x9q_metrics(u)",
                "2026-01-04T00:00:00Z",
                "2026-01-04T00:20:00Z",
                12
            ),
            // Began before the window: its kills inside are unknown.
            pod_event(
                "influxdb-1",
                "Killing",
                "Container influxdb failed liveness probe, will be restarted",
                "2025-12-31T23:00:00Z",
                "2026-01-01T01:00:00Z",
                2
            ),
            pod_event(
                "influxdb-1",
                "Unhealthy",
                "Liveness probe failed: HTTP probe failed with statuscode: 500",
                "2026-01-05T00:00:00Z",
                "2026-01-05T00:00:00Z",
                1
            ),
        );
        let ev = pod_events("ev.json", &list).unwrap();
        assert_eq!(ev.len(), 3, "{ev:?}");
        assert_eq!(ev[0].container.as_deref(), Some("influxdb"));
        assert_eq!((ev[0].count, ev[0].liveness_kill), (3, true));
        assert!(!ev[1].liveness_kill);
        let (from, to) = (
            parse_time("2026-01-01T00:00:00Z").unwrap(),
            parse_time("2026-01-31T00:00:00Z").unwrap(),
        );
        let by_name = |_: &str, pod: &str, _: Option<&str>| workload_of_pod_name(pod);
        let r = liveness_rates(&ev, &by_name, &BTreeMap::new(), from, to, None, 0.9).unwrap();
        assert_eq!(r.modes.len(), 1);
        let m = &r.modes[0];
        assert_eq!(
            (m.component.as_str(), m.mode.as_str()),
            ("influxdb", LIVENESS)
        );
        // Two Pods seen (influxdb-0, influxdb-1), 30 days each; three kills counted.
        assert_eq!(m.rate.count, 3);
        assert_eq!(m.rate.exposure_seconds, 2.0 * 30.0 * 86_400.0);
        assert_eq!(r.backoff.len(), 1);
        assert_eq!(r.backoff[0].component, "telegraf");
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("1 liveness Killing event(s) seen both inside and outside"))
        );
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("CrashLoopBackOff (BackOff seen 12 time(s)"))
        );
        // Snapshots that know three Pods: the quiet one is exposure too.
        let replicas: BTreeMap<String, BTreeSet<String>> = [(
            "influxdb".to_string(),
            ["influxdb-0", "influxdb-1", "influxdb-2"]
                .map(String::from)
                .into(),
        )]
        .into();
        let r = liveness_rates(&ev, &by_name, &replicas, from, to, None, 0.9).unwrap();
        assert_eq!(r.modes[0].rate.exposure_seconds, 3.0 * 30.0 * 86_400.0);
    }

    #[test]
    fn workloads_from_pod_names() {
        for (pod, want) in [
            ("chronograf-7d9f8b6c5-x2x9q", "chronograf"),
            ("my-app-5d8f7c9b4-b2c4d", "my-app"),
            ("telegraf-x7k2q", "telegraf"),
            ("influxdb-0", "influxdb"),
            ("influx-statefulset-12", "influx-statefulset"),
            ("debug", "debug"),
            ("node-exporter-abcde", "node-exporter-abcde"),
        ] {
            assert_eq!(workload_of_pod_name(pod), want, "{pod}");
        }
    }

    #[test]
    fn bad_lists_are_refused() {
        assert!(node_outages("e", "[").unwrap_err().contains("not JSON"));
        assert!(
            node_outages("e", r#"{"kind": "PodList", "items": []}"#)
                .unwrap_err()
                .contains("kind PodList")
        );
        let no_time = r#"{"kind": "List", "items": [{"involvedObject": {"kind": "Node", "name": "n"}, "reason": "NodeReady"}]}"#;
        assert!(
            node_outages("e", no_time)
                .unwrap_err()
                .contains("items[0] (n): an event without a time")
        );
    }
}
