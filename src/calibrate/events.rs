//! Node outages from `kubectl get events -o json`: a Node's `NodeNotReady` event opens an
//! outage and its next `NodeReady` closes it (the node lifecycle controller and the
//! kubelet record these on the Node). Events expire (an hour by default, the API server's
//! `--event-ttl`), so a saved list covers only the window it was collected over, which
//! the caller gives; the outages become incidents of component `NODE`, mode
//! `not-ready`, for [`super::history::estimate`].
//!
//! An event seen several times (`count` > 1) says only when it was first and last seen:
//! both are taken as transitions, and the ones between are unknown (said in the notes).

use serde_json::Value;

use super::history::{Incident, parse_time};

/// The mode node outages are given.
pub const NOT_READY: &str = "not-ready";

/// The node outages of an event list, and notes on what could not be read exactly.
pub fn node_outages(file: &str, text: &str) -> Result<(Vec<Incident>, Vec<String>), String> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("{file}: not JSON ({e}): expected `kubectl get events -o json`"))?;
    let items = match v.get("kind").and_then(Value::as_str) {
        Some("List" | "EventList") => v
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{file}: a List without items"))?,
        Some(k) => {
            return Err(format!(
                "{file}: kind {k}: expected an event list (kubectl get events -o json)"
            ));
        }
        None => {
            return Err(format!(
                "{file}: no kind: expected `kubectl get events -o json`"
            ));
        }
    };
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
        let time = |key: &str| e.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
        let first = time("firstTimestamp")
            .or_else(|| time("eventTime"))
            .or_else(|| time("lastTimestamp"))
            .ok_or_else(|| format!("{file}: items[{i}] ({node}): an event without a time"))?;
        let first = parse_time(first).map_err(|m| format!("{file}: items[{i}] ({node}): {m}"))?;
        transitions.push((node.to_string(), first, ready, i));
        let count = e.get("count").and_then(Value::as_u64).unwrap_or(1);
        if count > 1 {
            if let Some(last) = time("lastTimestamp") {
                let last =
                    parse_time(last).map_err(|m| format!("{file}: items[{i}] ({node}): {m}"))?;
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
