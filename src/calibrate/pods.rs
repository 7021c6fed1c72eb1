//! Restart rates from `kubectl get pods -o json` snapshots: each container's
//! `restartCount` over the time it was observed. One snapshot counts the restarts since
//! the Pod was created (`metadata.creationTimestamp`) up to the snapshot's time; later
//! snapshots of the same Pod (by `metadata.uid`) add the restarts between them over the
//! time between them. Pods are grouped by their owner: a ReplicaSet's Pods under its
//! Deployment (the `pod-template-hash` suffix dropped), a StatefulSet's or DaemonSet's
//! under it, a Pod without owner under its own name. The exposure counts a container's
//! own restart times as exposure (seconds against days: negligible), and the termination
//! reasons (`lastState.terminated.reason`) are tallied where a snapshot shows new
//! restarts — the last reason only, since Kubernetes keeps no more. Each new last
//! termination gives an outage sample: from its `finishedAt` to the container's
//! `state.running.startedAt` (back-off included; the readiness delay is not in it), or,
//! while it is still down, up to the snapshot, censored (and completed by a later
//! snapshot that sees it running).

use std::collections::BTreeMap;

use serde_json::Value;

use super::history::{ModeHistory, OutageSample, parse_time};
use super::rates::{Prior, RateEstimate};
use super::selector::{StageSelector, stage_of};

/// The mode every restart counted from snapshots is given (its causes are not all known).
pub const RESTART_MODE: &str = "restart";

/// One container of one Pod in one snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub component: String,
    /// The Pod's namespace and name.
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub container: String,
    /// The snapshot's time, seconds since the epoch.
    pub at: f64,
    pub created: f64,
    pub restarts: u64,
    pub last_reason: Option<String>,
    /// Its exit code (`lastState.terminated.exitCode`: 137 is a SIGKILL, OOM kills and
    /// liveness kills included; 143 a SIGTERM).
    pub last_exit_code: Option<i64>,
    /// The last termination's end (`lastState.terminated.finishedAt`) and, if the
    /// container runs again, when it started (`state.running.startedAt`): the time it was
    /// down, back-off included.
    pub last_down: Option<(f64, Option<f64>)>,
}

/// The containers of a snapshot (a `List` of Pods, or one Pod) taken at `at`, each Pod
/// in the first of `stages` whose selector matches its labels, else under its owner.
pub fn parse_snapshot(
    file: &str,
    text: &str,
    at: f64,
    stages: &[StageSelector],
) -> Result<Vec<Observation>, String> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("{file}: not JSON ({e}): expected `kubectl get pods -o json`"))?;
    let pods: Vec<&Value> = match v.get("kind").and_then(Value::as_str) {
        Some("List" | "PodList") => v
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{file}: a List without items"))?
            .iter()
            .collect(),
        Some("Pod") => vec![&v],
        Some(k) => {
            return Err(format!(
                "{file}: kind {k}: expected Pods (kubectl get pods -o json)"
            ));
        }
        None => {
            return Err(format!(
                "{file}: no kind: expected `kubectl get pods -o json`"
            ));
        }
    };
    let mut out = vec![];
    for (i, pod) in pods.iter().enumerate() {
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let at_pod = |m: String| format!("{file}: items[{i}] (Pod {name}): {m}");
        if pod
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k != "Pod")
        {
            continue;
        }
        let uid = pod
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .ok_or_else(|| at_pod("no metadata.uid".into()))?;
        let created = pod
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .ok_or_else(|| at_pod("no metadata.creationTimestamp".into()))
            .and_then(|t| {
                parse_time(t).map_err(|e| at_pod(format!("metadata.creationTimestamp: {e}")))
            })?;
        if created > at {
            return Err(at_pod(format!(
                "created after the snapshot's time ({} s later): is the snapshot's time right?",
                created - at
            )));
        }
        let labels = string_map(pod.pointer("/metadata/labels"));
        let owner = stage_of(stages, &labels)
            .map(str::to_string)
            .unwrap_or_else(|| owner(pod, name));
        let namespace = pod
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let statuses = pod
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let several = statuses.len() > 1;
        for (j, c) in statuses.iter().enumerate() {
            let cname = c.get("name").and_then(Value::as_str).unwrap_or("?");
            let restarts = c
                .get("restartCount")
                .and_then(Value::as_u64)
                .ok_or_else(|| {
                    at_pod(format!(
                        "status.containerStatuses[{j}].restartCount: not a count"
                    ))
                })?;
            let last_reason = c
                .pointer("/lastState/terminated/reason")
                .and_then(Value::as_str)
                .map(str::to_string);
            let time = |ptr: &str| -> Result<Option<f64>, String> {
                c.pointer(ptr)
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(|t| {
                        parse_time(t).map_err(|e| {
                            at_pod(format!(
                                "status.containerStatuses[{j}]{}: {e}",
                                ptr.replace('/', ".")
                            ))
                        })
                    })
                    .transpose()
            };
            let last_exit_code = c
                .pointer("/lastState/terminated/exitCode")
                .and_then(Value::as_i64);
            let finished = time("/lastState/terminated/finishedAt")?;
            let running = time("/state/running/startedAt")?;
            let last_down = finished.map(|f| (f, running.filter(|&r| r >= f)));
            out.push(Observation {
                component: if several {
                    format!("{owner}-{cname}")
                } else {
                    owner.clone()
                },
                namespace: namespace.clone(),
                pod: name.to_string(),
                uid: uid.to_string(),
                container: cname.to_string(),
                at,
                created,
                restarts,
                last_reason,
                last_exit_code,
                last_down,
            });
        }
    }
    Ok(out)
}

/// Adds `n` to `key`'s count under `component`.
pub fn tally<K: Ord>(
    counts: &mut BTreeMap<String, BTreeMap<K, u64>>,
    component: &str,
    key: K,
    n: u64,
) {
    *counts
        .entry(component.to_string())
        .or_default()
        .entry(key)
        .or_default() += n;
}

/// A JSON object's string members (labels, say); anything else is empty.
pub fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The workload a Pod belongs to.
fn owner(pod: &Value, name: &str) -> String {
    let Some(o) = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|refs| {
            refs.iter()
                .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
                .or_else(|| refs.first())
        })
    else {
        return name.to_string();
    };
    let oname = o.get("name").and_then(Value::as_str).unwrap_or(name);
    let hash = pod
        .pointer("/metadata/labels/pod-template-hash")
        .and_then(Value::as_str);
    match (o.get("kind").and_then(Value::as_str), hash) {
        (Some("ReplicaSet"), Some(h)) => oname
            .strip_suffix(&format!("-{h}"))
            .unwrap_or(oname)
            .to_string(),
        _ => oname.to_string(),
    }
}

/// What the snapshots say.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PodsEstimate {
    /// One `restart` mode per component.
    pub modes: Vec<ModeHistory>,
    /// Per component, the last termination reason seen where restarts were new, counted.
    pub reasons: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per component, the last exit code seen where restarts were new, counted.
    pub exit_codes: BTreeMap<String, BTreeMap<i64, u64>>,
    /// Components with no time observed (their Pods created at the snapshot's instant).
    pub skipped: Vec<String>,
}

/// Per component: the restarts counted, the time observed (seconds) and the outages.
pub type RestartTotals = BTreeMap<String, (u64, f64, Vec<OutageSample>)>;

impl PodsEstimate {
    /// One [`RESTART_MODE`] mode per component of `totals`; a component with no time
    /// observed is skipped (and listed).
    pub fn add_restarts(
        &mut self,
        totals: RestartTotals,
        prior: Option<Prior>,
        level: f64,
    ) -> Result<(), String> {
        for (component, (count, exposure, outages)) in totals {
            if exposure <= 0.0 {
                self.skipped.push(component);
                continue;
            }
            self.modes.push(ModeHistory {
                component,
                mode: RESTART_MODE.into(),
                rate: RateEstimate::new(count, exposure, prior, level)?,
                outages,
                started_before: 0,
            });
        }
        Ok(())
    }

    /// Adds another source's modes, reasons and skipped components.
    pub fn merge(&mut self, other: PodsEstimate) {
        self.modes.extend(other.modes);
        for (c, rs) in other.reasons {
            for (r, n) in rs {
                tally(&mut self.reasons, &c, r, n);
            }
        }
        for (c, codes) in other.exit_codes {
            for (k, n) in codes {
                tally(&mut self.exit_codes, &c, k, n);
            }
        }
        self.skipped.extend(other.skipped);
    }
}

/// Rates per component from the observations of one or more snapshots.
pub fn estimate(
    obs: &[Observation],
    prior: Option<Prior>,
    level: f64,
) -> Result<PodsEstimate, String> {
    let mut by_container: BTreeMap<(&str, &str), Vec<&Observation>> = BTreeMap::new();
    for o in obs {
        by_container
            .entry((&o.uid, &o.container))
            .or_default()
            .push(o);
    }
    let mut totals = RestartTotals::new();
    let mut reasons: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut exit_codes: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
    for ((uid, container), mut seen) in by_container {
        seen.sort_by(|a, b| a.at.total_cmp(&b.at));
        let first = seen[0];
        let t = totals.entry(first.component.clone()).or_default();
        let (mut restarts, mut at) = (0, first.created);
        // A termination seen still down: its censored sample, replaced by the whole time
        // once a later snapshot sees the container running again.
        let mut pending: Option<(f64, usize)> = None;
        for o in seen {
            if o.restarts < restarts {
                return Err(format!(
                    "Pod {uid} container {container}: restartCount fell from {restarts} to {} between snapshots (the same Pod's count never falls)",
                    o.restarts
                ));
            }
            let new = o.restarts - restarts;
            t.0 += new;
            t.1 += o.at - at;
            match (o.last_down, pending) {
                (Some((fin, Some(up))), Some((p, k))) if fin == p => {
                    t.2[k] = OutageSample {
                        seconds: up - fin,
                        censored: false,
                    };
                    pending = None;
                }
                (Some((fin, up)), _) if new > 0 && fin > at => {
                    t.2.push(OutageSample {
                        seconds: up.unwrap_or(o.at) - fin,
                        censored: up.is_none(),
                    });
                    pending = up.is_none().then(|| (fin, t.2.len() - 1));
                }
                _ => {}
            }
            if new > 0 {
                let r = o.last_reason.clone().unwrap_or_else(|| "unknown".into());
                tally(&mut reasons, &o.component, r, 1);
                if let Some(code) = o.last_exit_code {
                    tally(&mut exit_codes, &o.component, code, 1);
                }
            }
            (restarts, at) = (o.restarts, o.at);
        }
    }
    let mut out = PodsEstimate {
        reasons,
        exit_codes,
        ..Default::default()
    };
    out.add_restarts(totals, prior, level)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::DAY;

    /// A `kubectl get pods -o json` list: a Deployment's Pod, a StatefulSet's Pod with a
    /// sidecar, a bare Pod.
    pub(crate) fn snapshot(db_restarts: u64, reason: &str) -> String {
        format!(
            r#"{{"apiVersion": "v1", "kind": "List", "items": [
  {{"apiVersion": "v1", "kind": "Pod",
   "metadata": {{"name": "chronograf-7d9f8b6c5-x2x9q", "uid": "u1", "creationTimestamp": "2026-01-01T00:00:00Z",
     "labels": {{"pod-template-hash": "7d9f8b6c5"}},
     "ownerReferences": [{{"kind": "ReplicaSet", "name": "chronograf-7d9f8b6c5", "controller": true}}]}},
   "status": {{"containerStatuses": [{{"name": "chronograf", "restartCount": 1,
     "lastState": {{"terminated": {{"reason": "Error", "exitCode": 1}}}}}}]}}}},
  {{"apiVersion": "v1", "kind": "Pod",
   "metadata": {{"name": "influxdb-0", "uid": "u2", "creationTimestamp": "2026-01-11T00:00:00Z",
     "ownerReferences": [{{"kind": "StatefulSet", "name": "influxdb", "controller": true}}]}},
   "status": {{"containerStatuses": [
     {{"name": "influxdb", "restartCount": {db_restarts}, "lastState": {{"terminated": {{"reason": "{reason}", "exitCode": 137}}}}}},
     {{"name": "exporter", "restartCount": 0, "lastState": {{}}}}]}}}},
  {{"apiVersion": "v1", "kind": "Pod",
   "metadata": {{"name": "debug", "uid": "u3", "creationTimestamp": "2026-01-31T00:00:00Z"}},
   "status": {{"containerStatuses": [{{"name": "sh", "restartCount": 0, "state": {{"running": {{}}}}}}]}}}}
]}}"#
        )
    }

    #[test]
    fn one_snapshot_counts_restarts_since_creation() {
        let at = parse_time("2026-01-31T00:00:00Z").unwrap();
        let obs = parse_snapshot("pods.json", &snapshot(2, "OOMKilled"), at, &[]).unwrap();
        let e = estimate(&obs, None, 0.9).unwrap();
        let (h, reasons) = (&e.modes, &e.reasons);
        let get = |c: &str| h.iter().find(|m| m.component == c).unwrap();
        assert_eq!(
            (
                get("chronograf").rate.count,
                get("chronograf").rate.exposure_seconds
            ),
            (1, 30.0 * DAY)
        );
        assert_eq!(
            (
                get("influxdb-influxdb").rate.count,
                get("influxdb-influxdb").rate.exposure_seconds
            ),
            (2, 20.0 * DAY)
        );
        assert_eq!(get("influxdb-exporter").rate.count, 0);
        assert_eq!(reasons["influxdb-influxdb"]["OOMKilled"], 1);
        assert_eq!(e.exit_codes["influxdb-influxdb"][&137], 1);
        // A Pod created at the snapshot's instant has no time observed.
        assert!(h.iter().all(|m| m.component != "debug"));
        assert_eq!(e.skipped, ["debug"]);
    }

    #[test]
    fn later_snapshots_add_the_restarts_between_them() {
        let t1 = parse_time("2026-01-31T00:00:00Z").unwrap();
        let t2 = parse_time("2026-03-02T00:00:00Z").unwrap();
        let mut obs = parse_snapshot("a.json", &snapshot(2, "OOMKilled"), t1, &[]).unwrap();
        obs.extend(parse_snapshot("b.json", &snapshot(5, "Error"), t2, &[]).unwrap());
        let e = estimate(&obs, None, 0.9).unwrap();
        let (h, reasons) = (&e.modes, &e.reasons);
        let db = h
            .iter()
            .find(|m| m.component == "influxdb-influxdb")
            .unwrap();
        assert_eq!((db.rate.count, db.rate.exposure_seconds), (5, 50.0 * DAY));
        assert_eq!(reasons["influxdb-influxdb"]["Error"], 1);
        // Counts never fall for one Pod.
        let mut bad = parse_snapshot("a.json", &snapshot(5, "Error"), t1, &[]).unwrap();
        bad.extend(parse_snapshot("b.json", &snapshot(2, "Error"), t2, &[]).unwrap());
        assert!(
            estimate(&bad, None, 0.9)
                .unwrap_err()
                .contains("restartCount fell from 5 to 2")
        );
    }

    #[test]
    fn last_terminations_give_outage_samples() {
        let pod = |restarts: u32, finished: &str, state: &str| {
            format!(
                r#"{{"kind": "Pod", "metadata": {{"name": "influxdb-0", "uid": "u", "creationTimestamp": "2026-01-01T00:00:00Z"}},
                  "status": {{"containerStatuses": [{{"name": "influxdb", "restartCount": {restarts},
                    "lastState": {{"terminated": {{"reason": "Error", "exitCode": 1, "finishedAt": "{finished}"}}}},
                    "state": {state}}}]}}}}"#
            )
        };
        let t = |s: &str| parse_time(s).unwrap();
        let mut obs = vec![];
        // Crash-looping at the first snapshot: down since 09:00, a censored hour so far.
        let waiting = r#"{"waiting": {"reason": "CrashLoopBackOff"}}"#;
        let snap1 = pod(1, "2026-01-10T09:00:00Z", waiting);
        obs.extend(parse_snapshot("a", &snap1, t("2026-01-10T10:00:00Z"), &[]).unwrap());
        let e = estimate(&obs, None, 0.9).unwrap();
        assert_eq!(
            e.modes[0].outages,
            [OutageSample {
                seconds: 3600.0,
                censored: true
            }]
        );
        // Running again by the next one, same termination: the whole 100 min.
        let running = r#"{"running": {"startedAt": "2026-01-10T10:40:00Z"}}"#;
        let snap2 = pod(1, "2026-01-10T09:00:00Z", running);
        obs.extend(parse_snapshot("b", &snap2, t("2026-01-11T00:00:00Z"), &[]).unwrap());
        // Then a new crash, back in 20 s.
        let quick = r#"{"running": {"startedAt": "2026-01-15T00:00:20Z"}}"#;
        let snap3 = pod(2, "2026-01-15T00:00:00Z", quick);
        obs.extend(parse_snapshot("c", &snap3, t("2026-01-20T00:00:00Z"), &[]).unwrap());
        let e = estimate(&obs, None, 0.9).unwrap();
        let secs: Vec<(f64, bool)> = e.modes[0]
            .outages
            .iter()
            .map(|o| (o.seconds, o.censored))
            .collect();
        assert_eq!(secs, [(6000.0, false), (20.0, false)]);
        assert_eq!(e.modes[0].rate.count, 2);
        // A termination time that is not one names its field.
        let bad = pod(1, "yesterday", waiting);
        let err = parse_snapshot("d", &bad, t("2026-01-20T00:00:00Z"), &[]).unwrap_err();
        assert!(err.contains("lastState.terminated.finishedAt"), "{err}");
    }

    #[test]
    fn bad_snapshots_are_refused_with_the_reason() {
        let at = parse_time("2026-01-31T00:00:00Z").unwrap();
        let early = parse_time("2026-01-05T00:00:00Z").unwrap();
        assert!(
            parse_snapshot("p", "nope", at, &[])
                .unwrap_err()
                .contains("not JSON")
        );
        assert!(
            parse_snapshot("p", r#"{"kind": "Service"}"#, at, &[])
                .unwrap_err()
                .contains("kind Service")
        );
        let e = parse_snapshot("p", &snapshot(1, "Error"), early, &[]).unwrap_err();
        assert!(
            e.contains("items[1] (Pod influxdb-0): created after the snapshot's time"),
            "{e}"
        );
        let no_time = r#"{"kind": "Pod", "metadata": {"name": "x", "uid": "u"}, "status": {}}"#;
        assert!(
            parse_snapshot("p", no_time, at, &[])
                .unwrap_err()
                .contains("no metadata.creationTimestamp")
        );
    }
}
