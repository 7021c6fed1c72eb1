//! `hasim calibrate history`: failure rates and outage durations from what a cluster's
//! operators already recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use super::output::Sink;
use super::{CliError, Format, duration_flag, url_flag};
use crate::calibrate::events;
use crate::calibrate::file::{check_target, entry_item, rate_item, write_items};
use crate::calibrate::fit::{Sample, fit_all};
use crate::calibrate::history::{ModeHistory, estimate, parse_incidents, parse_time};
use crate::calibrate::pods::Observation;
use crate::calibrate::rates::Prior;
use crate::calibrate::selector::StageSelector;
use crate::units::{DAY, YEAR, format_duration};

const HISTORY_HELP: &str = "\
Examples:
  hasim calibrate history --incidents incidents.csv --from 2026-01-01T00:00:00Z --to 2026-04-01T00:00:00Z
  hasim calibrate history --incidents incidents.csv --from … --to … --component chronograf --out calibration/history.toml
  hasim calibrate history --incidents incidents.csv --from … --to … --prior 1.6,4.38e-6/h --format json
  kubectl get pods -n metrics -o json > pods-0301.json   # now, and again a month later:
  hasim calibrate history --pods pods-0301.json@2026-03-01T09:00:00Z --pods pods-0401.json@2026-04-01T09:00:00Z
  hasim calibrate history --prometheus http://127.0.0.1:9090 --namespace metrics --from 2026-01-01T00:00:00Z --to 2026-04-01T00:00:00Z

The incident log is CSV: component,start,end[,mode] with RFC 3339 times (an empty end:
still going), an optional header line, # comments. For each component and mode: the
events that started in the window, the exposure (the component's time up in the window),
the maximum likelihood rate, the posterior Gamma(x + a, T + b) — Jeffreys' prior (a = 1/2,
b = 0) unless --prior SHAPE,MEAN_RATE gives one — with its mean and interval, and the
classical chi-square interval. A component named with --component that is not in the log
had no incident: zero events over the whole window, which is evidence too.

Event lists (--events FILE, kubectl get events -o json collected over the window: events
expire after an hour by default, so collect them continuously) give node outages: a
Node's NodeNotReady opens one, its next NodeReady closes it; component NODE, mode
not-ready. Their Pod events give liveness kills (Killing: \"Container C failed liveness
probe\"), counted with their count as mode liveness over the window of each Pod of the
stage (the Pods of --pods snapshots, else those seen in the events), and crash loops
(BackOff), reported in the notes and JSON (backoff), not counted: the crashes under them
are restarts.

--stage NAME=SELECTOR (repeatable, first match wins, kubectl's -l syntax) puts the Pods
whose labels match into stage NAME instead of under their owner: for snapshots by their
labels, for Prometheus by kube_pod_labels (which kube-state-metrics exports only for the
labels its --metric-labels-allowlist names), for events through the snapshots.

A Prometheus server (--prometheus URL, over --from..--to) that scrapes
kube-state-metrics gives restarts and node outages. Restarts:
kube_pod_container_status_restarts_total (its raw samples, a day per query; a fall is a
counter reset, a new counter; a series unscraped for longer than --max-gap is not
observed there: neither exposure nor events), grouped like snapshots, each restart's
cause from kube_pod_container_status_last_terminated_reason. Node outages:
kube_node_status_condition{condition=\"Ready\",status=\"true\"} (from the first sample
not Ready to the next Ready one; exposure the time seen Ready; every node seen is a
component, with no outage if it had none).

Snapshots (--pods FILE@TIME, the time each was taken: kubectl's output holds none) give
each container's restarts over the time it was observed: since its Pod's creation for
the first snapshot of a Pod, between snapshots after that; Pods grouped by their owner (a
Deployment's ReplicaSets under the Deployment), a Pod with several containers as
OWNER-CONTAINER; mode \"restart\" (the last termination reason of each is tallied, and
its finishedAt to the container's running.startedAt is an outage sample, censored while
still down).

--out writes one entry per component and mode into a calibration file: COMPONENT-MODE-every
(fit: the exponential at the posterior mean, so a model's every = { calibration = FILE,
name = … } uses it; rate: the count, exposure and estimates) and, with two or more outages
measured, COMPONENT-MODE-outage (the durations, censored where the window cut them, and
their fits, as hasim fit writes). Entries are replaced, the rest of the file kept; nothing
is written on error.";

#[derive(Debug, Args)]
#[command(after_help = HISTORY_HELP)]
pub struct HistoryArgs {
    /// The incident log (CSV: component,start,end[,mode]); needs --from and --to.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present_any = ["pods", "events", "prometheus"],
        requires_all = ["from", "to"]
    )]
    pub incidents: Option<PathBuf>,
    /// `kubectl get events -o json` lists collected over the window (repeatable): node
    /// NotReady → Ready as node outages; needs --from and --to.
    #[arg(long, value_name = "FILE", requires_all = ["from", "to"])]
    pub events: Vec<PathBuf>,
    /// A `kubectl get pods -o json` snapshot and the time it was taken (RFC 3339;
    /// `-@TIME` for standard input); repeatable, one per snapshot.
    #[arg(long, value_name = "FILE@TIME", allow_hyphen_values = true)]
    pub pods: Vec<String>,
    /// A Prometheus server that scrapes kube-state-metrics (its base URL, e.g.
    /// http://127.0.0.1:9090): restart counters and node Ready conditions over the window;
    /// needs --from and --to.
    #[arg(long, value_name = "URL", requires_all = ["from", "to"])]
    pub prometheus: Option<String>,
    /// With --prometheus: only the Pods of this namespace.
    #[arg(long, value_name = "NS", requires = "prometheus")]
    pub namespace: Option<String>,
    /// With --prometheus: a series unscraped for longer than this is not observed there
    /// (neither exposure nor events).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub max_gap: String,
    /// With --prometheus: each request's timeout.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub timeout: String,
    /// The start of the window the log covers (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// The end of the window (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Group the Pods a label selector matches into stage NAME instead of by their owner
    /// (repeatable, the first match wins; kubectl's -l syntax: `C=app=influxdb`,
    /// `D=app in (chronograf,grafana),tier!=canary`). Applies to --pods snapshots (their
    /// labels), --prometheus (kube_pod_labels) and, through the snapshots, --events.
    #[arg(long = "stage", value_name = "NAME=SELECTOR")]
    pub stages: Vec<String>,
    /// A component observed over the window (repeatable); one absent from the log had none.
    #[arg(long = "component", value_name = "NAME")]
    pub components: Vec<String>,
    /// A gamma prior: its shape and mean rate, per second or with a unit (1.6,4.38e-6/h).
    #[arg(long, value_name = "SHAPE,MEAN_RATE")]
    pub prior: Option<String>,
    /// The level of the intervals.
    #[arg(long, default_value_t = 0.9)]
    pub level: f64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The calibration file to write the entries into.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn history_cmd(a: &HistoryArgs) -> Result<(), CliError> {
    let bad = CliError::BadInput;
    if !(a.level > 0.0 && a.level < 1.0) {
        return Err(bad(format!("--level {}: must be in (0, 1)", a.level)));
    }
    let prior = a
        .prior
        .as_deref()
        .map(Prior::parse)
        .transpose()
        .map_err(bad)?;
    if let Some(out) = &a.out {
        check_target(out)?;
    }
    // (A snapshot without its time is refused below.)
    let pods_files = a
        .pods
        .iter()
        .filter_map(|p| p.rsplit_once('@'))
        .map(|(f, _)| f);
    crate::fsio::stdin_at_most_once(
        a.incidents
            .iter()
            .map(|p| ("--incidents", p.as_path()))
            .chain(a.events.iter().map(|p| ("--events", p.as_path())))
            .chain(pods_files.map(|f| ("--pods", Path::new(f)))),
    )
    .map_err(bad)?;
    let max_gap = duration_flag("max-gap", &a.max_gap, false)?.as_secs_f64();
    let timeout = duration_flag("timeout", &a.timeout, false)?;
    if let Some(url) = &a.prometheus {
        url_flag("--prometheus", url)?;
        if let Some(ns) = &a.namespace
            && !is_dns_label(ns)
        {
            return Err(bad(format!(
                "--namespace {ns:?}: not a namespace name (lower-case letters, digits and '-', at most 63)"
            )));
        }
    }
    let (f, t) = (
        a.from.as_deref().unwrap_or(""),
        a.to.as_deref().unwrap_or(""),
    );
    let window = if a.from.is_some() || a.to.is_some() {
        let from = parse_time(f).map_err(|e| bad(format!("--from: {e}")))?;
        let to = parse_time(t).map_err(|e| bad(format!("--to: {e}")))?;
        if to <= from {
            return Err(bad(format!(
                "the window is empty: --to must be after --from ({} is not after {})",
                t.trim(),
                f.trim()
            )));
        }
        Some((from, to))
    } else {
        None
    };
    let stages: Vec<StageSelector> = a
        .stages
        .iter()
        .map(|s| StageSelector::parse(s))
        .collect::<Result<_, _>>()
        .map_err(bad)?;
    let mut h = vec![];
    let mut sources = vec![];
    let mut notes = vec![];
    let mut pods = crate::calibrate::pods::PodsEstimate::default();
    let mut backoff = vec![];
    // Snapshots first: they name the stages of the Pods the events speak of.
    let mut obs = vec![];
    for p in &a.pods {
        let (file, when) = p.rsplit_once('@').ok_or_else(|| {
            bad(format!(
                "--pods {p}: a snapshot needs the time it was taken: FILE@TIME (kubectl's output holds none)"
            ))
        })?;
        let at = parse_time(when).map_err(|e| bad(format!("--pods {p}: {e}")))?;
        let text = crate::fsio::read_input(Path::new(file), crate::fsio::TEXT_CAP)?;
        obs.extend(crate::calibrate::pods::parse_snapshot(file, &text, at, &stages).map_err(bad)?);
        sources.push(format!("{file} at {when}"));
    }
    if let (Some(url), Some((from, to))) = (&a.prometheus, window) {
        use crate::calibrate::prometheus::{Prometheus, Scope, node_rates, restart_rates};
        let p = Prometheus::new(url, timeout);
        let scope = Scope {
            from,
            to,
            max_gap,
            namespace: a.namespace.as_deref(),
            stages: &stages,
        };
        let fail = CliError::Failed;
        let (mut restarts, n) = restart_rates(&p, &scope, prior, a.level).map_err(fail)?;
        let (nodes, m) = node_rates(&p, &scope, prior, a.level).map_err(fail)?;
        // The modes go into `h`; `pods` keeps what is said beside them.
        h.append(&mut restarts.modes);
        h.extend(nodes);
        pods = restarts;
        notes.extend(n);
        notes.extend(m);
        sources.push(format!(
            "Prometheus {}, {} to {}",
            crate::calibrate::probe::redact(url),
            f.trim(),
            t.trim()
        ));
    }
    if let (true, Some((from, to))) = (a.incidents.is_some() || !a.events.is_empty(), window) {
        let mut incidents = vec![];
        let mut read = vec![];
        if let Some(path) = &a.incidents {
            let text = crate::fsio::read_input(path, crate::fsio::TEXT_CAP)?;
            let shown = path.display().to_string();
            incidents.extend(parse_incidents(&shown, &text).map_err(bad)?);
            read.push(shown);
        }
        let mut pod_events = vec![];
        for path in &a.events {
            let text = crate::fsio::read_input(path, crate::fsio::TEXT_CAP)?;
            let shown = path.display().to_string();
            let (got, n) = events::node_outages(&shown, &text).map_err(bad)?;
            incidents.extend(got);
            notes.extend(n);
            pod_events.extend(events::pod_events(&shown, &text).map_err(bad)?);
            read.push(shown);
        }
        h.extend(estimate(&incidents, from, to, &a.components, prior, a.level).map_err(bad)?);
        if !pod_events.is_empty() {
            let (component_of, replicas) = pod_stages(&obs);
            let r = events::liveness_rates(
                &pod_events,
                &component_of,
                &replicas,
                from,
                to,
                prior,
                a.level,
            )
            .map_err(bad)?;
            h.extend(r.modes);
            notes.extend(r.notes);
            backoff = r.backoff;
            if !stages.is_empty() && obs.is_empty() {
                notes.push(
                    "--stage: events carry no labels; without --pods snapshots their Pods are grouped by their names".into(),
                );
            }
        }
        sources.push(format!("{}, {} to {}", read.join(", "), f.trim(), t.trim()));
    }
    if !obs.is_empty() {
        let mut snapshots = crate::calibrate::pods::estimate(&obs, prior, a.level).map_err(bad)?;
        h.append(&mut snapshots.modes);
        pods.merge(snapshots);
    }
    // One component and mode from two sources (the same Pods in snapshots and in
    // Prometheus, say) would be counted twice, and its entries would overwrite each other.
    let mut seen = std::collections::BTreeSet::new();
    for m in &h {
        if !seen.insert((m.component.as_str(), m.mode.as_str())) {
            return Err(bad(format!(
                "{} {}: estimated from two of the sources given ({}): give each source its own stage names (--stage) or one source at a time",
                m.component,
                m.mode,
                sources.join("; ")
            )));
        }
    }
    let source = format!("hasim calibrate history: {}", sources.join("; "));
    let mut written = vec![];
    if let Some(out) = &a.out {
        let mut items = vec![];
        for m in &h {
            let every = format!("{}-{}-every", m.component, m.mode);
            items.push((every.clone(), rate_item(&every, &source, &m.rate)?));
            written.push(every);
            let samples: Vec<Sample> = m.outages.iter().map(|&o| o.into()).collect();
            if samples.iter().filter(|s| !s.censored).count() >= 2
                && let Ok(fits) = fit_all(&samples)
            {
                let name = format!("{}-{}-outage", m.component, m.mode);
                items.push((
                    name.clone(),
                    entry_item(
                        &name,
                        &format!("{source}: outage durations"),
                        &samples,
                        &fits,
                    )?,
                ));
                written.push(name);
            }
        }
        write_items(out, items)?;
    }
    let out = match a.format {
        Format::Json => {
            let v = serde_json::json!({
                "incidents": a.incidents.as_ref().map(|p| p.display().to_string()),
                "from": a.from,
                "to": a.to,
                "pods": a.pods,
                "prometheus": a.prometheus.as_deref().map(crate::calibrate::probe::redact),
                "namespace": a.namespace,
                "reasons": pods.reasons,
                "exit_codes": pods.exit_codes,
                "backoff": backoff,
                "stages": a.stages,
                "skipped": pods.skipped,
                "notes": notes,
                "level": a.level,
                "prior": prior.map_or("jeffreys".to_string(), |p| format!("gamma({}, {})", p.shape, p.rate)),
                "rates_per": "second",
                "modes": h,
                "calibration_file": a.out.as_ref().map(|p| p.display().to_string()),
                "entries": written,
            });
            crate::schema::pretty(v)
        }
        Format::Table => {
            let mut t = table(&h, a.level, &written, a.out.as_ref());
            for (c, rs) in &pods.reasons {
                let list: Vec<String> = rs.iter().map(|(r, n)| format!("{r} {n}")).collect();
                let _ = writeln!(
                    t,
                    "{c}: last termination reasons where restarts were new: {}",
                    list.join(", ")
                );
            }
            for (c, codes) in &pods.exit_codes {
                let list: Vec<String> = codes.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
                let _ = writeln!(
                    t,
                    "{c}: last exit codes where restarts were new: {} (137: killed, OOM and liveness kills included)",
                    list.join(", ")
                );
            }
            for n in &notes {
                let _ = writeln!(t, "{n}");
            }
            for c in &pods.skipped {
                let _ = writeln!(
                    t,
                    "{c}: no time observed (its Pods were created at the snapshot's instant)"
                );
            }
            t
        }
    };
    Sink::open(None, &[])?.write(&out)
}

fn table(h: &[ModeHistory], level: f64, written: &[String], out: Option<&PathBuf>) -> String {
    let mut o = String::new();
    let pct = format!("{:.0} %", level * 100.0);
    let _ = writeln!(
        o,
        "{:<16} {:<10} {:>6} {:>10} {:>9} {:>9} {:>20} {:>20} {:>8}",
        "component",
        "mode",
        "events",
        "exposure",
        "MLE /y",
        "mean /y",
        format!("{pct} posterior /y"),
        format!("{pct} chi-square /y"),
        "outages"
    );
    for m in h {
        let r = &m.rate;
        let y = |x: f64| x * YEAR;
        let censored = m.outages.iter().filter(|o| o.censored).count();
        let _ = writeln!(
            o,
            "{:<16} {:<10} {:>6} {:>10} {:>9.3} {:>9.3} {:>20} {:>20} {:>8}",
            m.component,
            m.mode,
            r.count,
            format!("{:.1}d", r.exposure_seconds / DAY),
            y(r.mle),
            y(r.mean),
            format!("{:.3} .. {:.3}", y(r.credible.low), y(r.credible.high)),
            format!("{:.3} .. {:.3}", y(r.chi_square.low), y(r.chi_square.high)),
            if censored > 0 {
                format!("{} ({censored} cut)", m.outages.len())
            } else {
                m.outages.len().to_string()
            }
        );
        if let Some(longest) = m.outages.iter().map(|o| o.seconds).max_by(f64::total_cmp) {
            let _ = writeln!(o, "{:<28} longest outage {}", "", format_duration(longest));
        }
        if m.started_before > 0 {
            let _ = writeln!(
                o,
                "{:<28} {} incident(s) began before the window: not counted, their time down not exposure",
                "", m.started_before
            );
        }
    }
    let _ = writeln!(
        o,
        "\nRates per year. Posterior: Gamma(events + shape, exposure + prior rate); exposure: time up in the window."
    );
    if let Some(p) = out {
        let _ = writeln!(o, "Wrote {} to {}.", written.join(", "), p.display());
    }
    o
}

/// A Kubernetes namespace name (an RFC 1123 label).
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A Pod's stage by what the snapshots say of it (its container's component, or its
/// Pods' one), else by its name; and each stage's Pods in the snapshots.
#[allow(clippy::type_complexity)]
fn pod_stages(
    obs: &[Observation],
) -> (
    impl Fn(&str, &str, Option<&str>) -> String + '_,
    BTreeMap<String, BTreeSet<String>>,
) {
    let mut replicas: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for o in obs {
        replicas
            .entry(o.component.clone())
            .or_default()
            .insert(o.pod.clone());
    }
    let find = move |ns: &str, pod: &str, container: Option<&str>| {
        let same = |o: &&Observation| o.pod == pod && (ns.is_empty() || o.namespace == ns);
        obs.iter()
            .filter(same)
            .find(|o| container.is_none_or(|c| o.container == c))
            .map(|o| o.component.clone())
            .unwrap_or_else(|| events::workload_of_pod_name(pod))
    };
    (find, replicas)
}
