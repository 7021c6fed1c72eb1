//! Failure rates and outage durations from what was observed: an incident log
//! (`component,start,end[,mode]`, RFC 3339 times) over a window. Each component's
//! exposure is the time it was up in the window (a component that is down cannot fail
//! again); each (component, mode) gets the events that started inside the window and its
//! rate estimates ([`super::rates`]). A window with no incident is evidence too: a
//! component named but absent from the log has zero events over the whole window.
//! Outage durations become restart samples, censored where the window's end cut them.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::fit::Sample;
use super::rates::{Prior, RateEstimate};

/// The mode of an incident whose line names none.
pub const DEFAULT_MODE: &str = "failure";

/// One line of the log.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub component: String,
    pub mode: String,
    /// Seconds since the Unix epoch.
    pub start: f64,
    /// `None`: still going when the log was written.
    pub end: Option<f64>,
    /// The line it came from (1-based).
    pub line: usize,
}

/// An RFC 3339 time as seconds since the Unix epoch.
pub fn parse_time(text: &str) -> Result<f64, String> {
    let t: Timestamp = text
        .trim()
        .parse()
        .map_err(|e| format!("\"{}\" is not an RFC 3339 time ({e})", text.trim()))?;
    Ok(t.as_nanosecond() as f64 / 1e9)
}

/// The incident log: an optional header line `component,start,end[,mode]`, blank lines
/// and `#` comments; every error names `file:line`.
pub fn parse_incidents(file: &str, text: &str) -> Result<Vec<Incident>, String> {
    let mut out = vec![];
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if out.is_empty() && cells.first() == Some(&"component") {
            continue;
        }
        let at = |m: String| format!("{file}:{}: {m}", i + 1);
        if !(3..=4).contains(&cells.len()) {
            return Err(at(format!(
                "{} fields; expected component,start,end[,mode]",
                cells.len()
            )));
        }
        if cells[0].is_empty() {
            return Err(at("an empty component".into()));
        }
        let start = parse_time(cells[1]).map_err(|e| at(format!("start: {e}")))?;
        let end = match cells[2] {
            "" => None,
            t => Some(parse_time(t).map_err(|e| at(format!("end: {e}")))?),
        };
        if let Some(e) = end
            && e < start
        {
            return Err(at(format!("end {} is before start {}", cells[2], cells[1])));
        }
        let mode = match cells.get(3) {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => DEFAULT_MODE.to_string(),
        };
        out.push(Incident {
            component: cells[0].to_string(),
            mode,
            start,
            end,
            line: i + 1,
        });
    }
    Ok(out)
}

/// What the log says of one component and mode.
#[derive(Clone, Debug, Serialize)]
pub struct ModeHistory {
    pub component: String,
    pub mode: String,
    /// The rate (per second) and its estimates; `exposure_seconds` is the component's
    /// up time in the window.
    pub rate: RateEstimate,
    /// Outage durations, seconds, of this mode's incidents that started in the window;
    /// censored where the window ended first (or the incident has no end).
    pub outages: Vec<OutageSample>,
    /// Incidents that started before the window (their time down inside it is not
    /// exposure; they are not events of it, and their durations are not samples).
    pub started_before: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct OutageSample {
    pub seconds: f64,
    pub censored: bool,
}

impl From<OutageSample> for Sample {
    fn from(o: OutageSample) -> Sample {
        Sample {
            value: o.seconds,
            censored: o.censored,
        }
    }
}

/// The estimates for every (component, mode) of `incidents` inside `[from, to)`, and for
/// every component of `quiet` (zero events of mode [`DEFAULT_MODE`] unless the log has
/// some of it), with `prior` (Jeffreys' if `None`) and intervals at `level`.
pub fn estimate(
    incidents: &[Incident],
    from: f64,
    to: f64,
    quiet: &[String],
    prior: Option<Prior>,
    level: f64,
) -> Result<Vec<ModeHistory>, String> {
    if to.partial_cmp(&from) != Some(std::cmp::Ordering::Greater) {
        return Err("the window is empty: --to must be after --from".into());
    }
    // Time up per component inside the window: the window less the union of its
    // incidents (a component without any was up throughout).
    let mut down: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for i in incidents {
        let (a, b) = (i.start.max(from), i.end.unwrap_or(to).min(to));
        if b > a {
            down.entry(&i.component).or_default().push((a, b));
        }
    }
    let up: BTreeMap<&str, f64> = down
        .into_iter()
        .map(|(c, mut spans)| {
            spans.sort_by(|x, y| x.0.total_cmp(&y.0));
            let (mut total, mut reach) = (0.0, f64::NEG_INFINITY);
            for (a, b) in spans {
                let a = a.max(reach);
                if b > a {
                    total += b - a;
                    reach = b;
                }
            }
            (c, (to - from) - total)
        })
        .collect();
    let mut groups: BTreeMap<(String, String), (u64, Vec<OutageSample>, usize)> = BTreeMap::new();
    for q in quiet {
        groups
            .entry((q.clone(), DEFAULT_MODE.to_string()))
            .or_default();
    }
    for i in incidents {
        if i.start >= to {
            continue;
        }
        let g = groups
            .entry((i.component.clone(), i.mode.clone()))
            .or_default();
        if i.start < from {
            if i.end.is_none_or(|e| e > from) {
                g.2 += 1;
            }
            continue;
        }
        g.0 += 1;
        let (seconds, censored) = match i.end {
            Some(e) if e <= to => (e - i.start, false),
            _ => (to - i.start, true),
        };
        g.1.push(OutageSample { seconds, censored });
    }
    let mut out = vec![];
    for ((component, mode), (count, outages, started_before)) in groups {
        let exposure = up.get(component.as_str()).copied().unwrap_or(to - from);
        if exposure <= 0.0 {
            return Err(format!(
                "{component} was down for the whole window: no exposure to estimate a rate from"
            ));
        }
        let rate = RateEstimate::new(count, exposure, prior, level)?;
        out.push(ModeHistory {
            component,
            mode,
            rate,
            outages,
            started_before,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{DAY, HOUR, YEAR};

    const LOG: &str = "component,start,end,mode\n\
        # two crashes and a hang of influxdb, a telegraf restart before the window\n\
        influxdb,2026-01-10T00:00:00Z,2026-01-10T00:10:00Z,crash\n\
        influxdb,2026-02-01T12:00:00Z,2026-02-01T12:00:30Z,crash\n\
        influxdb,2026-03-01T00:00:00+01:00,2026-03-01T03:00:00+01:00,hang\n\
        telegraf,2025-12-31T23:59:00Z,2026-01-01T00:01:00Z\n\
        chronograf,2026-03-31T23:00:00Z,,crash\n";

    fn t(s: &str) -> f64 {
        parse_time(s).unwrap()
    }

    #[test]
    fn counts_exposure_and_censoring_from_a_log() {
        let inc = parse_incidents("log.csv", LOG).unwrap();
        assert_eq!(inc.len(), 5);
        assert_eq!(inc[3].mode, DEFAULT_MODE);
        assert_eq!(inc[4].end, None);
        let (from, to) = (t("2026-01-01T00:00:00Z"), t("2026-04-01T00:00:00Z"));
        let h = estimate(&inc, from, to, &["nginx".to_string()], None, 0.9).unwrap();
        let get = |c: &str, m: &str| h.iter().find(|x| x.component == c && x.mode == m).unwrap();
        let window = to - from;
        assert_eq!(window, 90.0 * DAY);
        let crash = get("influxdb", "crash");
        assert_eq!(crash.rate.count, 2);
        // Up time: the window less 10 min, 30 s and 3 h down.
        let up = window - 600.0 - 30.0 - 3.0 * HOUR;
        assert_eq!(crash.rate.exposure_seconds, up);
        assert_eq!(get("influxdb", "hang").rate.exposure_seconds, up);
        assert_eq!(
            crash.outages.iter().map(|o| o.seconds).collect::<Vec<_>>(),
            [600.0, 30.0]
        );
        // The hang's times carry an offset: 3 h all the same.
        assert_eq!(get("influxdb", "hang").outages[0].seconds, 3.0 * HOUR);
        // Telegraf's restart began before the window: no event, one minute less exposure.
        let tg = get("telegraf", DEFAULT_MODE);
        assert_eq!((tg.rate.count, tg.started_before), (0, 1));
        assert_eq!(tg.rate.exposure_seconds, window - 60.0);
        // Chronograf is still down at the end: a censored sample of one hour.
        let ch = get("chronograf", "crash");
        assert_eq!(ch.outages[0].seconds, HOUR);
        assert!(ch.outages[0].censored);
        // A component with no incident: zero events over the whole window.
        let q = get("nginx", DEFAULT_MODE);
        assert_eq!((q.rate.count, q.rate.exposure_seconds), (0, window));
        assert!(q.rate.chi_square.high > 0.0 && q.rate.mle == 0.0);
        // Two events in about 90 days: Jeffreys' mean about 10.1 a year.
        assert!(
            (crash.rate.mean * YEAR - 10.14).abs() < 0.02,
            "{}",
            crash.rate.mean * YEAR
        );
    }

    #[test]
    fn overlapping_incidents_are_counted_once_as_down_time() {
        let log = "a,2026-01-01T01:00:00Z,2026-01-01T03:00:00Z,x\na,2026-01-01T02:00:00Z,2026-01-01T04:00:00Z,y\n";
        let inc = parse_incidents("l", log).unwrap();
        let (from, to) = (t("2026-01-01T00:00:00Z"), t("2026-01-02T00:00:00Z"));
        let h = estimate(&inc, from, to, &[], None, 0.9).unwrap();
        assert_eq!(h[0].rate.exposure_seconds, DAY - 3.0 * HOUR);
    }

    #[test]
    fn bad_logs_name_the_line() {
        for (log, says) in [
            ("a,2026-01-01T00:00:00Z\n", "l:1: 2 fields"),
            (
                "component,start,end\na,yesterday,\n",
                "l:2: start: \"yesterday\" is not an RFC 3339 time",
            ),
            (
                "a,2026-01-02T00:00:00Z,2026-01-01T00:00:00Z\n",
                "l:1: end 2026-01-01T00:00:00Z is before start",
            ),
            (",2026-01-01T00:00:00Z,\n", "l:1: an empty component"),
            ("a,2026-01-01 00:00:00,\n", "l:1: start:"),
        ] {
            let e = parse_incidents("l", log).unwrap_err();
            assert!(e.contains(says), "{log}: {e}");
        }
        let inc = parse_incidents("l", "a,2026-01-01T00:00:00Z,\n").unwrap();
        let (from, to) = (t("2026-01-01T00:00:00Z"), t("2026-01-02T00:00:00Z"));
        assert!(
            estimate(&inc, from, to, &[], None, 0.9)
                .unwrap_err()
                .contains("down for the whole window")
        );
        assert!(
            estimate(&inc, to, from, &[], None, 0.9)
                .unwrap_err()
                .contains("--to must be after --from")
        );
    }
}
