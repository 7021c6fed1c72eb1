//! Failure rates from a Prometheus server that scrapes kube-state-metrics, through its
//! HTTP API (`GET /api/v1/query`).
//!
//! - **Restarts**: `kube_pod_container_status_restarts_total`, one counter per container
//!   of each Pod. Its raw samples over the window are read with range-vector selectors
//!   (`metric[1d]` evaluated at the end of each day: the samples as scraped, not
//!   resampled to a step), the boundary samples of adjacent days read once. Between two
//!   consecutive samples the increase is counted and the time between them is exposure; a
//!   fall is a counter reset (a new container or a Pod recreated under the same name: the
//!   new value is the increase, as Prometheus' own `increase()` takes it); a gap longer
//!   than `max_gap` (the series not scraped: kube-state-metrics or Prometheus down, the
//!   Pod gone) is neither exposure nor events. Containers are grouped into components by
//!   their Pod's owner (`kube_pod_owner`, a ReplicaSet's Pods under its Deployment through
//!   `kube_replicaset_owner`), a component with several containers as OWNER-CONTAINER, as
//!   the snapshots of [`super::pods`] are; the mode is [`super::pods::RESTART_MODE`].
//!   Each restart's cause is `kube_pod_container_status_last_terminated_reason` (the
//!   series of that container whose value is 1 at the first sample at or after it).
//! - **Node outages**: `kube_node_status_condition{condition="Ready",status="true"}`,
//!   1 while a node is Ready. An outage runs from the first sample not Ready to the next
//!   Ready one (scrape resolution); the exposure is the time seen Ready. Every node seen is
//!   a component (mode [`super::events::NOT_READY`]), with zero outages if it had none.
//!
//! Every request has a timeout; an answer that is not `"status": "success"` fails with
//! Prometheus' own `errorType` and `error`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::events::NOT_READY;
use super::history::{ModeHistory, OutageSample};
use super::pods::{PodsEstimate, RestartTotals, string_map, tally};
use super::rates::{Prior, RateEstimate};
use super::selector::{StageSelector, stage_of};
use crate::units::{DAY, format_duration};

/// The restart counters.
pub const RESTARTS: &str = "kube_pod_container_status_restarts_total";
/// The last termination reason of each container (value 1 for the current one).
pub const LAST_REASON: &str = "kube_pod_container_status_last_terminated_reason";
/// A node's conditions.
pub const NODE_CONDITION: &str = "kube_node_status_condition";
/// Who owns a Pod, and who owns a ReplicaSet.
pub const POD_OWNER: &str = "kube_pod_owner";
pub const REPLICASET_OWNER: &str = "kube_replicaset_owner";
/// A Pod's labels (those kube-state-metrics is allowed to export), as `label_KEY`.
pub const POD_LABELS: &str = "kube_pod_labels";

/// How much of the window one query reads.
const CHUNK: f64 = DAY;
/// The largest answer read (a day of raw samples of many series).
const ANSWER_CAP: u64 = 512 << 20;

/// A series' labels, `__name__` left out.
pub type Labels = BTreeMap<String, String>;

/// One series: its labels and its samples (seconds since the epoch, value), in time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<(f64, f64)>,
}

impl Series {
    fn label(&self, key: &str) -> &str {
        self.labels.get(key).map_or("", String::as_str)
    }
}

/// A Prometheus server's query API.
pub struct Prometheus {
    agent: ureq::Agent,
    base: String,
}

impl Prometheus {
    /// The API at `url` (as given: `http://127.0.0.1:9090`, or with a path prefix), every
    /// request failing after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Prometheus {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .build();
        Prometheus {
            agent: ureq::Agent::new_with_config(config),
            base: url.trim_end_matches('/').to_string(),
        }
    }

    /// The instant query `expr` at `at`: its series (a matrix's raw samples, or a
    /// vector's one sample each).
    pub fn query(&self, expr: &str, at: f64) -> Result<Vec<Series>, String> {
        let shown = super::probe::redact(&self.base);
        let fail = |m: String| format!("Prometheus at {shown}: query {expr}: {m}");
        let mut resp = self
            .agent
            .get(&format!("{}/api/v1/query", self.base))
            .query("query", expr)
            .query("time", format!("{at:.3}"))
            .call()
            .map_err(|e| fail(e.to_string()))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(ANSWER_CAP)
            .read_to_string()
            .map_err(|e| fail(format!("HTTP {status}, reading the answer: {e}")))?;
        let v: Value = serde_json::from_str(&body).map_err(|_| {
            let start: String = body.chars().take(120).collect();
            fail(format!(
                "HTTP {status}, not a Prometheus API answer: {start:?}"
            ))
        })?;
        match v.get("status").and_then(Value::as_str) {
            Some("success") => {}
            Some("error") => {
                let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
                return Err(fail(format!(
                    "{}: {} (HTTP {status})",
                    text("errorType"),
                    text("error")
                )));
            }
            _ => {
                return Err(fail(format!(
                    "HTTP {status}, an answer without \"status\": \"success\""
                )));
            }
        }
        let data = v
            .get("data")
            .ok_or_else(|| fail("an answer without data".into()))?;
        let kind = data.get("resultType").and_then(Value::as_str);
        let result = data
            .get("result")
            .and_then(Value::as_array)
            .ok_or_else(|| fail("an answer without data.result".into()))?;
        let mut out = vec![];
        for r in result {
            let mut labels: Labels = string_map(r.get("metric"));
            labels.remove("__name__");
            let raw: Vec<&Value> = match kind {
                Some("matrix") => r
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().collect())
                    .unwrap_or_default(),
                Some("vector") => r.get("value").into_iter().collect(),
                other => {
                    return Err(fail(format!(
                        "result type {}: expected a matrix or a vector",
                        other.unwrap_or("none")
                    )));
                }
            };
            let mut samples = Vec::with_capacity(raw.len());
            for s in raw {
                let pair = s.as_array().filter(|a| a.len() == 2);
                let t = pair.and_then(|a| a[0].as_f64());
                let x = pair
                    .and_then(|a| a[1].as_str())
                    .and_then(|x| x.parse::<f64>().ok());
                match (t, x) {
                    (Some(t), Some(x)) => samples.push((t, x)),
                    _ => return Err(fail(format!("a sample that is not [time, \"value\"]: {s}"))),
                }
            }
            out.push(Series { labels, samples });
        }
        Ok(out)
    }

    /// The raw samples of `selector`'s series in `[from, to]`, a day per query.
    pub fn raw(&self, selector: &str, from: f64, to: f64) -> Result<Vec<Series>, String> {
        self.chunked(from, to, |d| format!("{selector}[{d}ms]"))
    }

    /// The series `selector` had in `[from, to]` (their labels; the samples are each
    /// day's maximum).
    pub fn seen(&self, selector: &str, from: f64, to: f64) -> Result<Vec<Series>, String> {
        self.chunked(from, to, |d| format!("max_over_time({selector}[{d}ms])"))
    }

    /// `expr(range in ms)` evaluated at the end of each chunk of `[from, to]`, the series
    /// merged by their labels, samples before `from` dropped and repeated ones read once.
    fn chunked(
        &self,
        from: f64,
        to: f64,
        expr: impl Fn(u64) -> String,
    ) -> Result<Vec<Series>, String> {
        let mut merged: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
        let mut start = from;
        while start < to {
            let end = (start + CHUNK).min(to);
            let range_ms = ((end - start) * 1000.0).round().max(1.0) as u64;
            for s in self.query(&expr(range_ms), end)? {
                merged
                    .entry(s.labels)
                    .or_default()
                    .extend(s.samples.into_iter().filter(|&(t, _)| t >= from && t <= to));
            }
            start = end;
        }
        Ok(merged
            .into_iter()
            .map(|(labels, mut samples)| {
                samples.sort_by(|a, b| a.0.total_cmp(&b.0));
                samples.dedup_by(|a, b| a.0 == b.0);
                Series { labels, samples }
            })
            .collect())
    }
}

/// What one counter's samples say.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CounterHistory {
    /// Increases counted (resets included).
    pub count: u64,
    /// Seconds between consecutive samples no further apart than the gap allowed.
    pub exposure: f64,
    /// The sample times at which an increase was seen, once per restart.
    pub events: Vec<f64>,
    /// Falls of the counter read as resets.
    pub resets: usize,
    /// Gaps longer than allowed (neither exposure nor events).
    pub gaps: usize,
}

/// A restart counter's increases and exposure from its samples.
pub fn counter_history(samples: &[(f64, f64)], max_gap: f64) -> CounterHistory {
    let mut h = CounterHistory::default();
    for w in samples.windows(2) {
        let ((ta, a), (tb, b)) = (w[0], w[1]);
        if tb - ta > max_gap {
            h.gaps += 1;
            continue;
        }
        h.exposure += tb - ta;
        let increase = if b >= a {
            b - a
        } else {
            h.resets += 1;
            b
        };
        let n = increase.round().max(0.0) as u64;
        h.count += n;
        h.events.extend(std::iter::repeat_n(tb, n as usize));
    }
    h
}

/// What one node's Ready samples say.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadyHistory {
    /// Outages that began while observed.
    pub count: u64,
    /// Seconds seen Ready.
    pub exposure: f64,
    /// Their durations: censored where a gap or the end of the samples cut them.
    pub outages: Vec<OutageSample>,
    /// Whether the first sample was already not Ready (an outage begun before: not counted).
    pub started_before: bool,
    pub gaps: usize,
}

/// A node's outages from its `Ready` condition's samples (1 Ready, 0 not).
pub fn ready_history(samples: &[(f64, f64)], max_gap: f64) -> ReadyHistory {
    let mut h = ReadyHistory::default();
    let Some(&(_, first)) = samples.first() else {
        return h;
    };
    let ready = |x: f64| x >= 0.5;
    h.started_before = !ready(first);
    // The onset of the outage under way, if it began while observed.
    let mut onset: Option<f64> = None;
    for w in samples.windows(2) {
        let ((ta, a), (tb, b)) = (w[0], w[1]);
        if tb - ta > max_gap {
            h.gaps += 1;
            if let Some(o) = onset.take() {
                h.outages.push(OutageSample {
                    seconds: ta - o,
                    censored: true,
                });
            }
            continue;
        }
        match (ready(a), ready(b)) {
            (true, true) => h.exposure += tb - ta,
            (true, false) => {
                h.exposure += tb - ta;
                h.count += 1;
                onset = Some(tb);
            }
            (false, true) => {
                if let Some(o) = onset.take() {
                    h.outages.push(OutageSample {
                        seconds: tb - o,
                        censored: false,
                    });
                }
            }
            (false, false) => {}
        }
    }
    if let (Some(o), Some(&(t, _))) = (onset, samples.last()) {
        h.outages.push(OutageSample {
            seconds: t - o,
            censored: true,
        });
    }
    h
}

/// A label matcher list for the Pod metrics: `{namespace="NS"}` or nothing.
fn pod_matcher(namespace: Option<&str>) -> String {
    namespace.map_or(String::new(), |ns| format!("{{namespace=\"{ns}\"}}"))
}

/// Each Pod's (namespace, name) → the stage it belongs to: the first of `stages` whose
/// selector matches its `kube_pod_labels`, else the workload that owns it.
fn owners(
    p: &Prometheus,
    from: f64,
    to: f64,
    namespace: Option<&str>,
    stages: &[StageSelector],
    notes: &mut Vec<String>,
) -> Result<BTreeMap<(String, String), String>, String> {
    let m = pod_matcher(namespace);
    let mut by_labels: BTreeMap<(String, String), String> = BTreeMap::new();
    if !stages.is_empty() {
        let sanitized: Vec<StageSelector> = stages
            .iter()
            .map(|s| StageSelector {
                stage: s.stage.clone(),
                selector: s.selector.sanitized(),
            })
            .collect();
        let seen = p.seen(&format!("{POD_LABELS}{m}"), from, to)?;
        if seen.is_empty() {
            notes.push(format!(
                "Prometheus: no {POD_LABELS}{m}: --stage needs kube-state-metrics to export Pod labels (--metric-labels-allowlist=pods=[…]); Pods grouped by owner"
            ));
        }
        for s in seen {
            let labels: Labels = s
                .labels
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("label_")?.to_string(), v.clone())))
                .collect();
            if let Some(stage) = stage_of(&sanitized, &labels) {
                by_labels.insert(
                    (s.label("namespace").to_string(), s.label("pod").to_string()),
                    stage.to_string(),
                );
            }
        }
    }
    let mut deployments: BTreeMap<(String, String), String> = BTreeMap::new();
    for s in p.seen(&format!("{REPLICASET_OWNER}{m}"), from, to)? {
        if s.label("owner_kind") == "Deployment" {
            deployments.insert(
                (
                    s.label("namespace").to_string(),
                    s.label("replicaset").to_string(),
                ),
                s.label("owner_name").to_string(),
            );
        }
    }
    let mut out = BTreeMap::new();
    for s in p.seen(&format!("{POD_OWNER}{m}"), from, to)? {
        let (ns, pod) = (s.label("namespace"), s.label("pod"));
        let (kind, name) = (s.label("owner_kind"), s.label("owner_name"));
        let owner = match kind {
            "" | "<none>" => pod.to_string(),
            "ReplicaSet" => deployments
                .get(&(ns.to_string(), name.to_string()))
                .cloned()
                .unwrap_or_else(|| name.to_string()),
            _ => name.to_string(),
        };
        out.insert((ns.to_string(), pod.to_string()), owner);
    }
    out.extend(by_labels);
    Ok(out)
}

/// What to read: the window, the longest gap between samples still observed, and for
/// the Pod metrics their namespace and the stages' selectors.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    pub from: f64,
    pub to: f64,
    pub max_gap: f64,
    pub namespace: Option<&'a str>,
    pub stages: &'a [StageSelector],
}

/// Restart rates per component over the scope's window, with the causes tallied and
/// notes on what was read around (gaps, resets, Pods without an owner known).
pub fn restart_rates(
    p: &Prometheus,
    scope: &Scope<'_>,
    prior: Option<Prior>,
    level: f64,
) -> Result<(PodsEstimate, Vec<String>), String> {
    let Scope {
        from,
        to,
        max_gap,
        namespace,
        stages,
    } = *scope;
    let m = pod_matcher(namespace);
    let counters = p.raw(&format!("{RESTARTS}{m}"), from, to)?;
    let reasons = p.raw(&format!("{LAST_REASON}{m}"), from, to)?;
    let mut notes = vec![];
    let owners = owners(p, from, to, namespace, stages, &mut notes)?;
    let key = |s: &Series| {
        (
            s.label("namespace").to_string(),
            s.label("pod").to_string(),
            s.label("container").to_string(),
        )
    };
    let mut reasons_of: BTreeMap<(String, String, String), Vec<&Series>> = BTreeMap::new();
    for s in &reasons {
        reasons_of.entry(key(s)).or_default().push(s);
    }
    let component_of = |ns: &str, pod: &str| {
        owners
            .get(&(ns.to_string(), pod.to_string()))
            .cloned()
            .unwrap_or_else(|| pod.to_string())
    };
    // Components with more than one container name are split by container.
    let mut containers: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for s in &counters {
        containers
            .entry(component_of(s.label("namespace"), s.label("pod")))
            .or_default()
            .insert(s.label("container").to_string());
    }
    let mut totals = RestartTotals::new();
    let mut tallied: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let (mut resets, mut gaps, mut unowned) = (0, 0, std::collections::BTreeSet::new());
    for s in &counters {
        let (ns, pod, container) = key(s);
        if !owners.contains_key(&(ns.clone(), pod.clone())) {
            unowned.insert(pod.clone());
        }
        let owner = component_of(&ns, &pod);
        let component = if containers[&owner].len() > 1 {
            format!("{owner}-{container}")
        } else {
            owner
        };
        let h = counter_history(&s.samples, max_gap);
        resets += h.resets;
        gaps += h.gaps;
        let t = totals.entry(component.clone()).or_default();
        t.0 += h.count;
        t.1 += h.exposure;
        let cands = reasons_of.get(&(ns, pod, container));
        for &at in &h.events {
            let reason = cands
                .and_then(|c| reason_at(c, at, max_gap))
                .unwrap_or("unknown");
            tally(&mut tallied, &component, reason.to_string(), 1);
        }
    }
    let mut out = PodsEstimate {
        reasons: tallied,
        ..Default::default()
    };
    out.add_restarts(totals, prior, level)?;
    if counters.is_empty() {
        notes.push(format!(
            "Prometheus: no {RESTARTS}{m} in the window: is kube-state-metrics scraped?"
        ));
    }
    if resets > 0 {
        notes.push(format!(
            "Prometheus: {resets} restart counter reset(s) read as new counters (a container or Pod replaced under the same name)"
        ));
    }
    if gaps > 0 {
        notes.push(format!(
            "Prometheus: {gaps} gap(s) longer than {} in the restart counters: neither exposure nor events",
            format_duration(max_gap)
        ));
    }
    if !unowned.is_empty() {
        let list: Vec<String> = unowned.into_iter().collect();
        notes.push(format!(
            "Prometheus: no {POD_OWNER} for {}: grouped under their own names",
            list.join(", ")
        ));
    }
    Ok((out, notes))
}

/// The reason whose series reads 1 at the first sample at or after `at` (within `max_gap`).
fn reason_at<'a>(series: &[&'a Series], at: f64, max_gap: f64) -> Option<&'a str> {
    series
        .iter()
        .filter_map(|s| {
            let i = s.samples.partition_point(|&(t, _)| t < at);
            let &(t, x) = s.samples.get(i)?;
            (t - at <= max_gap && x >= 0.5).then_some((t, s.label("reason")))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, r)| r)
}

/// Node outage rates over the scope's window: one component per node seen, mode
/// [`NOT_READY`].
pub fn node_rates(
    p: &Prometheus,
    scope: &Scope<'_>,
    prior: Option<Prior>,
    level: f64,
) -> Result<(Vec<ModeHistory>, Vec<String>), String> {
    let (from, to, max_gap) = (scope.from, scope.to, scope.max_gap);
    let series = p.raw(
        &format!("{NODE_CONDITION}{{condition=\"Ready\",status=\"true\"}}"),
        from,
        to,
    )?;
    let (mut out, mut notes, mut gaps) = (vec![], vec![], 0);
    let mut by_node: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for s in &series {
        by_node
            .entry(s.label("node"))
            .or_default()
            .extend(&s.samples);
    }
    for (node, mut samples) in by_node {
        samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        let h = ready_history(&samples, max_gap);
        gaps += h.gaps;
        if h.exposure <= 0.0 {
            notes.push(format!(
                "{node}: never seen Ready in the window: no exposure to estimate a rate from"
            ));
            continue;
        }
        out.push(ModeHistory {
            component: node.to_string(),
            mode: NOT_READY.into(),
            rate: RateEstimate::new(h.count, h.exposure, prior, level)?,
            outages: h.outages,
            started_before: usize::from(h.started_before),
        });
    }
    if series.is_empty() {
        notes.push(format!(
            "Prometheus: no {NODE_CONDITION}{{condition=\"Ready\"}} in the window: no node outages"
        ));
    }
    if gaps > 0 {
        notes.push(format!(
            "Prometheus: {gaps} gap(s) longer than {} in the node conditions: neither exposure nor outages",
            format_duration(max_gap)
        ));
    }
    Ok((out, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count_increases_and_resets_and_skip_gaps() {
        // 0 → 2 (two restarts), a reset to 1 (a new counter: one restart), then a gap of
        // ten minutes over which it rose by 5: not counted, nor its time.
        let s = [
            (0.0, 0.0),
            (30.0, 0.0),
            (60.0, 2.0),
            (90.0, 2.0),
            (120.0, 1.0),
            (720.0, 6.0),
            (750.0, 6.0),
        ];
        let h = counter_history(&s, 300.0);
        assert_eq!(h.count, 3);
        assert_eq!(h.exposure, 150.0);
        assert_eq!(h.events, [60.0, 60.0, 120.0]);
        assert_eq!((h.resets, h.gaps), (1, 1));
        assert_eq!(counter_history(&s[..1], 300.0), CounterHistory::default());
    }

    #[test]
    fn ready_conditions_give_outages_and_time_up() {
        let s = [
            (0.0, 1.0),
            (60.0, 1.0),
            (120.0, 0.0), // down at 120
            (180.0, 0.0),
            (240.0, 1.0), // back at 240: 120 s
            (300.0, 0.0), // down again at 300, cut by the end at 360
            (360.0, 0.0),
        ];
        let h = ready_history(&s, 300.0);
        assert_eq!(h.count, 2);
        assert_eq!(h.exposure, 180.0);
        assert_eq!(
            h.outages,
            [
                OutageSample {
                    seconds: 120.0,
                    censored: false
                },
                OutageSample {
                    seconds: 60.0,
                    censored: true
                }
            ]
        );
        assert!(!h.started_before);
        // Not Ready from the start: not counted; a gap cuts the outage under way.
        let g = ready_history(
            &[(0.0, 0.0), (60.0, 1.0), (90.0, 0.0), (1000.0, 1.0)],
            300.0,
        );
        assert!(g.started_before);
        assert_eq!((g.count, g.gaps), (1, 1));
        assert_eq!(
            g.outages,
            [OutageSample {
                seconds: 0.0,
                censored: true
            }]
        );
    }

    #[test]
    fn reasons_are_read_at_the_first_sample_after_a_restart() {
        let series = |reason: &str, samples: Vec<(f64, f64)>| Series {
            labels: [("reason".to_string(), reason.to_string())].into(),
            samples,
        };
        let oom = series("OOMKilled", vec![(0.0, 0.0), (60.0, 1.0), (120.0, 0.0)]);
        let err = series("Error", vec![(0.0, 1.0), (60.0, 0.0), (120.0, 1.0)]);
        let both = [&oom, &err];
        assert_eq!(reason_at(&both, 60.0, 300.0), Some("OOMKilled"));
        assert_eq!(reason_at(&both, 100.0, 300.0), Some("Error"));
        assert_eq!(reason_at(&both, 100.0, 10.0), None);
        assert_eq!(reason_at(&both, 500.0, 300.0), None);
    }
}
