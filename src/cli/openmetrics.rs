//! `hasim run --format openmetrics`: a run's results as gauges, for node_exporter's
//! textfile collector (or any Prometheus scrape), beside what the probe measures.
//!
//! Every interval the JSON holds becomes one gauge with an `estimate` label (`mean`,
//! `ci_low`, `ci_high`, `std_err`, and the downtime's `p50` … `max`): `availability` →
//! `hasim_availability`, a stage's → `hasim_stage_availability{stage=…}`; the SLO's
//! chance is `hasim_slo_meet_probability{target=…}`. Every sample carries the model's
//! name. Only gauges are written, and the text ends with `# EOF`, so both the OpenMetrics
//! and the classic text parsers take it.

use std::fmt::Write as _;

use serde_json::Value;

/// The fields of an interval, written as the `estimate` label.
const ESTIMATES: [&str; 8] = [
    "mean", "ci_low", "ci_high", "std_err", "p50", "p95", "p99", "max",
];

/// What each family means, for its HELP line.
fn help(key: &str) -> String {
    match key {
        "availability" => {
            "Availability 1 - X/Y over the horizon (X: time the system cannot be read).".into()
        }
        "fresh_availability" => "Availability counting stale reads as down.".into(),
        "downtime_seconds" => "Downtime over the horizon, seconds.".into(),
        "outages" => "Outages over the horizon.".into(),
        "completeness" => "Share of the collected data that reaches the store.".into(),
        "lost_metrics" => "Metrics lost over the horizon.".into(),
        "replications" => "Simulated years (histories) behind the estimates.".into(),
        "horizon_seconds" => "The horizon Y of one history, seconds.".into(),
        "confidence" => "The confidence level of every interval.".into(),
        other => format!("hasim run's `{other}`."),
    }
}

/// `text` with `\`, `"` and newlines escaped, for a label's value.
fn label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Writer {
    out: String,
    model: String,
}

impl Writer {
    fn family(&mut self, name: &str, help: &str) {
        let _ = writeln!(self.out, "# TYPE {name} gauge\n# HELP {name} {help}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, String)], value: f64) {
        let mut all = format!("model=\"{}\"", self.model);
        for (k, v) in labels {
            let _ = write!(all, ",{k}=\"{}\"", label(v));
        }
        let _ = writeln!(self.out, "{name}{{{all}}} {value}");
    }

    /// An interval's estimates under one name, and its other numbers under names of
    /// their own (`hasim_outages_p_any`).
    fn interval(&mut self, name: &str, help: &str, extra: &[(&str, String)], v: &Value) {
        let Some(fields) = v.as_object() else { return };
        self.family(name, help);
        for e in ESTIMATES {
            if let Some(x) = fields.get(e).and_then(Value::as_f64) {
                let mut labels = extra.to_vec();
                labels.push(("estimate", e.to_string()));
                self.sample(name, &labels, x);
            }
        }
        for (k, x) in fields {
            if ESTIMATES.contains(&k.as_str()) {
                continue;
            }
            if let Some(x) = x.as_f64() {
                let own = format!("{name}_{k}");
                self.family(&own, &format!("{help} ({k})"));
                self.sample(&own, extra, x);
            }
        }
    }
}

/// The OpenMetrics text of a run's JSON report.
pub fn of_report(report: &Value) -> String {
    let mut w = Writer {
        out: String::new(),
        model: label(report["model"].as_str().unwrap_or("")),
    };
    for key in ["replications", "horizon_seconds", "confidence"] {
        if let Some(x) = report[key].as_f64() {
            let name = format!("hasim_{key}");
            w.family(&name, &help(key));
            w.sample(&name, &[], x);
        }
    }
    let Some(top) = report.as_object() else {
        return "# EOF\n".into();
    };
    for (key, v) in top {
        if v.get("mean").is_some() {
            w.interval(&format!("hasim_{key}"), &help(key), &[], v);
        }
    }
    if let Some(slo) = report.get("slo").filter(|s| s.is_object()) {
        let target = slo["target"]
            .as_f64()
            .map(|t| t.to_string())
            .unwrap_or_default();
        let name = "hasim_slo_meet_probability";
        w.family(name, "Chance that a year meets the SLO target.");
        for (field, estimate) in [
            ("p_meet", "mean"),
            ("ci_low", "ci_low"),
            ("ci_high", "ci_high"),
        ] {
            if let Some(x) = slo[field].as_f64() {
                w.sample(
                    name,
                    &[("target", target.clone()), ("estimate", estimate.into())],
                    x,
                );
            }
        }
        if let Some(x) = slo["max_downtime_seconds"].as_f64() {
            let name = "hasim_slo_max_downtime_seconds";
            w.family(name, "Downtime a year may have and meet the SLO, seconds.");
            w.sample(name, &[("target", target)], x);
        }
    }
    if let Some(stages) = report["stages"].as_object() {
        // One family per measure, every stage a sample of it.
        let mut measures: Vec<&String> = stages
            .values()
            .filter_map(Value::as_object)
            .flat_map(|s| s.keys())
            .collect();
        measures.sort();
        measures.dedup();
        for m in measures {
            let name = format!("hasim_stage_{m}");
            w.family(&name, &format!("Each stage's {m}."));
            for (stage, s) in stages {
                for e in ESTIMATES {
                    if let Some(x) = s[m.as_str()][e].as_f64() {
                        w.sample(
                            &name,
                            &[("stage", stage.clone()), ("estimate", e.to_string())],
                            x,
                        );
                    }
                }
            }
        }
    }
    w.out += "# EOF\n";
    w.out
}
