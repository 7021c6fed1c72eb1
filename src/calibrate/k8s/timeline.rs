//! What one trial looked like from the API server: Pod watch events, stamped with the
//! time hasim received them (seconds after the fault). Condition timestamps have a
//! one-second resolution, receipt times do not.
//!
//! Pure bookkeeping, fed by the watch loop and tested on its own.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kube::api::WatchEvent;
use serde::Serialize;

use super::Fault;
use crate::calibrate::fit::Sample;

/// A Pod that existed before the fault and that the fault acts on.
#[derive(Clone, Debug, Serialize)]
pub struct Victim {
    pub name: String,
    pub uid: String,
    /// Sum of its containers' `restartCount` before the fault.
    pub restart_count: i32,
}

/// Times (seconds after the fault was sent) at which hasim first saw each step of one Pod.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PodTimeline {
    pub name: String,
    pub uid: String,
    /// A Pod created after the fault (a replacement), not one of the victims.
    pub replacement: bool,
    /// First event about this Pod.
    pub seen: Option<f64>,
    /// `deletionTimestamp` set (the Pod is being stopped).
    pub deleting: Option<f64>,
    /// `Ready` no longer `True` (or being deleted).
    pub not_ready: Option<f64>,
    /// `PodScheduled` is `True`.
    pub scheduled: Option<f64>,
    /// Every container reports `started` (or running).
    pub started: Option<f64>,
    /// `Ready` is `True` (for a victim: again, after its restart).
    pub ready: Option<f64>,
    /// The Pod's `DELETED` event: it is gone.
    pub gone: Option<f64>,
    /// A container's `restartCount` went up (an in-place restart).
    pub restarted: Option<f64>,
    /// Sum of the containers' `restartCount` at the last event.
    pub restart_count: i32,
}

/// The bookkeeping of one trial.
#[derive(Debug)]
pub struct Tracker {
    fault: Fault,
    victims: Vec<Victim>,
    pods: BTreeMap<String, PodTimeline>,
    /// The last resourceVersion seen, to resume a watch that ended.
    pub resource_version: String,
    /// Errors the watch reported (kept with the trial).
    pub watch_errors: Vec<String>,
}

fn condition(pod: &Pod, kind: &str) -> Option<bool> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status == "True")
}

fn restart_count(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
}

fn all_started(pod: &Pod) -> bool {
    let Some(cs) = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
    else {
        return false;
    };
    !cs.is_empty()
        && cs.iter().all(|c| {
            c.started
                .unwrap_or_else(|| c.state.as_ref().is_some_and(|s| s.running.is_some()))
        })
}

impl Tracker {
    pub fn new(fault: Fault, victims: Vec<Victim>, resource_version: String) -> Self {
        let pods = victims
            .iter()
            .map(|v| {
                (
                    v.uid.clone(),
                    PodTimeline {
                        name: v.name.clone(),
                        uid: v.uid.clone(),
                        restart_count: v.restart_count,
                        ..PodTimeline::default()
                    },
                )
            })
            .collect();
        Tracker {
            fault,
            victims,
            pods,
            resource_version,
            watch_errors: vec![],
        }
    }

    /// Takes one watch event received `at` seconds after the fault.
    pub fn observe(&mut self, at: f64, event: WatchEvent<Pod>) {
        let (pod, deleted) = match event {
            WatchEvent::Added(p) | WatchEvent::Modified(p) => (p, false),
            WatchEvent::Deleted(p) => (p, true),
            WatchEvent::Bookmark(b) => {
                self.resource_version = b.metadata.resource_version;
                return;
            }
            WatchEvent::Error(e) => {
                self.watch_errors
                    .push(format!("{} ({})", e.message, e.code));
                return;
            }
        };
        if let Some(rv) = &pod.metadata.resource_version {
            self.resource_version.clone_from(rv);
        }
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        let victim = self.victims.iter().any(|v| v.uid == uid);
        let t = self.pods.entry(uid.clone()).or_insert_with(|| PodTimeline {
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid,
            replacement: true,
            ..PodTimeline::default()
        });
        let first = |slot: &mut Option<f64>, now: bool| {
            if now && slot.is_none() {
                *slot = Some(at);
            }
        };
        first(&mut t.seen, true);
        let ready = condition(&pod, "Ready") == Some(true);
        let deleting = pod.metadata.deletion_timestamp.is_some();
        let count = restart_count(&pod);
        first(&mut t.deleting, deleting);
        first(&mut t.gone, deleted);
        if victim {
            first(&mut t.not_ready, !ready || deleting || deleted);
            first(&mut t.restarted, count > t.restart_count);
            // A victim counts as ready again only after it restarted in place.
            first(
                &mut t.ready,
                ready && !deleting && !deleted && t.restarted.is_some(),
            );
            if t.restarted.is_none() {
                t.restart_count = count;
            }
        } else {
            first(
                &mut t.scheduled,
                condition(&pod, "PodScheduled") == Some(true),
            );
            first(&mut t.started, all_started(&pod));
            first(&mut t.ready, ready && !deleting && !deleted);
            t.restart_count = count;
        }
    }

    fn replacements(&self) -> impl Iterator<Item = &PodTimeline> {
        self.pods.values().filter(|p| p.replacement)
    }

    fn victim_timelines(&self) -> impl Iterator<Item = &PodTimeline> {
        self.victims.iter().filter_map(|v| self.pods.get(&v.uid))
    }

    /// Whether any victim showed the fault (stopping, gone or restarted).
    pub fn any_effect(&self) -> bool {
        self.victim_timelines()
            .any(|v| v.not_ready.is_some() || v.deleting.is_some() || v.restarted.is_some())
            || self.replacements().next().is_some()
    }

    /// Whether the trial is over: the fault has run its course and everything is ready.
    pub fn done(&self) -> bool {
        match self.fault {
            Fault::ContainerExit => self.victim_timelines().all(|v| v.ready.is_some()),
            Fault::DeletePod | Fault::RolloutRestart => {
                self.victim_timelines().all(|v| v.gone.is_some())
                    && self.replacements().filter(|p| p.ready.is_some()).count()
                        >= self.victims.len()
            }
        }
    }

    /// The trial's result; `elapsed` is how long hasim watched (the censoring time of
    /// whatever had not happened by then).
    pub fn finish(self, elapsed: f64) -> TrialTimeline {
        let victims: Vec<PodTimeline> = self.victim_timelines().cloned().collect();
        let replacements: Vec<PodTimeline> = self.replacements().cloned().collect();
        let mut samples = vec![];
        let mut shutdown = vec![];
        match self.fault {
            Fault::ContainerExit => {
                // Fault → ready again: the kubelet's in-place restart, the graceful stop
                // of the main process included.
                for v in &victims {
                    samples.push(match v.ready {
                        Some(r) => Sample::exact(r),
                        None => Sample::censored(elapsed),
                    });
                }
            }
            Fault::DeletePod | Fault::RolloutRestart => {
                // New Pod → ready (`recreate`), from its first event.
                for p in &replacements {
                    let seen = p.seen.unwrap_or(0.0);
                    samples.push(match p.ready {
                        Some(r) => Sample::exact(r - seen),
                        None => Sample::censored(elapsed - seen),
                    });
                }
                // A replacement that never appeared is censored from its victim's end.
                for v in victims.iter().skip(replacements.len()) {
                    let from = v.gone.or(v.deleting).unwrap_or(0.0);
                    samples.push(Sample::censored(elapsed - from));
                }
                // Deletion → gone (`shutdown`).
                for v in &victims {
                    let from = v.deleting.or(v.not_ready).unwrap_or(0.0);
                    // Seen only as gone (no deletion step between): nothing measured.
                    match v.gone {
                        Some(g) if g > from => shutdown.push(Sample::exact(g - from)),
                        Some(_) => {}
                        None => shutdown.push(Sample::censored(elapsed - from)),
                    }
                }
            }
        }
        // The workload's own outage: from the fault until the last replacement (or the
        // restarted victim) was ready; meaningful for one replica.
        let outage_seconds = match self.fault {
            Fault::ContainerExit => victims.iter().filter_map(|v| v.ready).reduce(f64::max),
            _ => replacements.iter().filter_map(|p| p.ready).reduce(f64::max),
        };
        TrialTimeline {
            victims,
            replacements,
            samples,
            shutdown,
            outage_seconds,
            watch_errors: self.watch_errors,
        }
    }
}

/// The result of one trial's watch.
#[derive(Clone, Debug, Serialize)]
pub struct TrialTimeline {
    pub victims: Vec<PodTimeline>,
    pub replacements: Vec<PodTimeline>,
    /// `restart` samples (container-exit) or `recreate` samples (the other faults).
    #[serde(skip)]
    pub samples: Vec<Sample>,
    /// Deletion → gone, per deleted Pod.
    #[serde(skip)]
    pub shutdown: Vec<Sample>,
    pub outage_seconds: Option<f64>,
    pub watch_errors: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(uid: &str, name: &str, json: serde_json::Value) -> Pod {
        let mut v = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": name, "uid": uid, "resourceVersion": "1" },
        });
        v.as_object_mut()
            .unwrap()
            .extend(json.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    fn status(ready: bool, scheduled: bool, started: bool, restarts: i32) -> serde_json::Value {
        let b = |x: bool| if x { "True" } else { "False" };
        serde_json::json!({ "status": {
            "conditions": [
                { "type": "PodScheduled", "status": b(scheduled) },
                { "type": "Ready", "status": b(ready) },
            ],
            "containerStatuses": [{
                "name": "influxdb", "image": "influxdb:1.8", "imageID": "", "ready": ready,
                "restartCount": restarts, "started": started,
            }],
        }})
    }

    fn victim() -> Victim {
        Victim {
            name: "influxdb-0".into(),
            uid: "old".into(),
            restart_count: 0,
        }
    }

    #[test]
    fn a_deleted_pod_and_its_replacement_give_shutdown_and_recreate() {
        let mut t = Tracker::new(Fault::DeletePod, vec![victim()], "1".into());
        let mut deleting = pod("old", "influxdb-0", status(true, true, true, 0));
        deleting.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ));
        t.observe(0.02, WatchEvent::Modified(deleting.clone()));
        assert!(!t.done());
        t.observe(1.5, WatchEvent::Deleted(deleting));
        t.observe(
            1.6,
            WatchEvent::Added(pod("new", "influxdb-0", serde_json::json!({}))),
        );
        t.observe(
            1.7,
            WatchEvent::Modified(pod("new", "influxdb-0", status(false, true, false, 0))),
        );
        t.observe(
            3.0,
            WatchEvent::Modified(pod("new", "influxdb-0", status(false, true, true, 0))),
        );
        assert!(!t.done());
        t.observe(
            4.1,
            WatchEvent::Modified(pod("new", "influxdb-0", status(true, true, true, 0))),
        );
        assert!(t.done());
        let r = t.finish(4.2);
        assert_eq!(r.samples.len(), 1);
        assert!(
            (r.samples[0].value - 2.5).abs() < 1e-12,
            "recreate 1.6 → 4.1"
        );
        assert!(!r.samples[0].censored);
        assert!(
            (r.shutdown[0].value - 1.48).abs() < 1e-12,
            "shutdown 0.02 → 1.5"
        );
        let new = &r.replacements[0];
        assert_eq!(
            (new.scheduled, new.started, new.ready),
            (Some(1.7), Some(3.0), Some(4.1))
        );
        assert_eq!(r.victims[0].not_ready, Some(0.02));
        assert_eq!(r.outage_seconds, Some(4.1));
    }

    #[test]
    fn an_in_place_restart_counts_only_after_restart_count_rises() {
        let mut t = Tracker::new(Fault::ContainerExit, vec![victim()], "1".into());
        // Still ready before the container's exit is noticed: not a restart yet.
        t.observe(
            0.1,
            WatchEvent::Modified(pod("old", "influxdb-0", status(true, true, true, 0))),
        );
        assert!(!t.done());
        t.observe(
            0.4,
            WatchEvent::Modified(pod("old", "influxdb-0", status(false, true, false, 0))),
        );
        t.observe(
            0.9,
            WatchEvent::Modified(pod("old", "influxdb-0", status(false, true, true, 1))),
        );
        assert!(!t.done());
        t.observe(
            2.5,
            WatchEvent::Modified(pod("old", "influxdb-0", status(true, true, true, 1))),
        );
        assert!(t.done());
        let r = t.finish(2.5);
        assert_eq!((r.samples[0].value, r.samples[0].censored), (2.5, false));
        assert_eq!(r.victims[0].not_ready, Some(0.4));
        assert_eq!(r.victims[0].restarted, Some(0.9));
        assert!(r.shutdown.is_empty());
    }

    #[test]
    fn what_never_happened_is_censored_at_the_end_of_the_watch() {
        let mut t = Tracker::new(Fault::DeletePod, vec![victim()], "1".into());
        t.observe(
            0.5,
            WatchEvent::Deleted(pod("old", "influxdb-0", status(true, true, true, 0))),
        );
        t.observe(
            0.6,
            WatchEvent::Added(pod("new", "influxdb-0", status(false, false, false, 0))),
        );
        let r = t.finish(60.0);
        assert_eq!(r.samples.len(), 1);
        assert!(r.samples[0].censored);
        assert!((r.samples[0].value - 59.4).abs() < 1e-12);
        assert_eq!(r.outage_seconds, None);

        let t = Tracker::new(Fault::DeletePod, vec![victim()], "1".into());
        let r = t.finish(60.0);
        assert_eq!((r.samples.len(), r.shutdown.len()), (1, 1));
        assert!(r.samples[0].censored && r.shutdown[0].censored);
    }

    #[test]
    fn a_rollout_waits_for_every_victim_to_be_replaced() {
        let v2 = Victim {
            name: "influxdb-1".into(),
            uid: "old1".into(),
            restart_count: 0,
        };
        let mut t = Tracker::new(Fault::RolloutRestart, vec![victim(), v2], "1".into());
        t.observe(
            0.1,
            WatchEvent::Deleted(pod("old1", "influxdb-1", status(true, true, true, 0))),
        );
        t.observe(
            0.2,
            WatchEvent::Added(pod("n1", "influxdb-1", status(false, true, false, 0))),
        );
        t.observe(
            2.0,
            WatchEvent::Modified(pod("n1", "influxdb-1", status(true, true, true, 0))),
        );
        assert!(!t.done(), "one of two replaced");
        t.observe(
            2.1,
            WatchEvent::Deleted(pod("old", "influxdb-0", status(true, true, true, 0))),
        );
        t.observe(
            2.2,
            WatchEvent::Added(pod("n0", "influxdb-0", status(false, true, false, 0))),
        );
        t.observe(
            5.2,
            WatchEvent::Modified(pod("n0", "influxdb-0", status(true, true, true, 0))),
        );
        assert!(t.done());
        let r = t.finish(5.2);
        let mut v: Vec<f64> = r.samples.iter().map(|s| s.value).collect();
        v.sort_by(f64::total_cmp);
        assert!((v[0] - 1.8).abs() < 1e-12 && (v[1] - 3.0).abs() < 1e-12);
    }
}
