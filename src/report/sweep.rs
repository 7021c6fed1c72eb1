//! Parameter sweeps: a grid of `--set` overrides, every point run with common random
//! numbers.
//!
//! Every point draws replication `i` from `(seed, i)`, exactly as `hasim run` does, so the
//! point equal to the model reproduces `hasim run` bit for bit, adding a point changes no
//! other, and differences between points are not noise from different random streams.

use std::path::Path;

use crate::estimate::results::RunReport;
use crate::estimate::{EstimateError, Request};
use crate::model::{Model, ModelError};

/// At most this many points in one sweep.
pub const MAX_POINTS: usize = 10_000;

/// One varied path and its values (each a `--set` value: TOML, or a bare string).
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub path: String,
    pub values: Vec<String>,
}

/// Reads `PATH=VALUES`: a list `1,2,3`, a linear range `a..b:n` or a log range
/// `a..b:n:log` (n points, ends included; both ends may carry the same unit, `5s..60s:4`).
pub fn parse_axis(spec: &str) -> Result<Axis, String> {
    let (path, values) = crate::model::tree::split_assignment(spec)
        .ok_or_else(|| format!("--vary {spec}: expected PATH=VALUES"))?;
    let path = path.trim().to_string();
    if path.is_empty() {
        return Err(format!("--vary {spec}: the path is empty"));
    }
    let values = values.trim();
    let values =
        if let Some((range, rest)) = values.split_once(':').filter(|(r, _)| r.contains("..")) {
            let (a, b) = range.split_once("..").expect("checked");
            let mut parts = rest.split(':');
            let n: usize = parts
                .next()
                .and_then(|n| n.trim().parse().ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("--vary {spec}: expected a number of points after ':'"))?;
            let log = match parts.next() {
                None => false,
                Some("log") => true,
                Some(other) => {
                    return Err(format!(
                        "--vary {spec}: unknown range kind \"{other}\" (log)"
                    ));
                }
            };
            if n > MAX_POINTS {
                return Err(format!(
                    "--vary {spec}: {n} points is more than {MAX_POINTS}"
                ));
            }
            let (a, unit_a) = split_unit(a);
            let (b, unit_b) = split_unit(b);
            if unit_a != unit_b {
                return Err(format!("--vary {spec}: both ends need the same unit"));
            }
            let (a, b): (f64, f64) = match (a.parse(), b.parse()) {
                (Ok(a), Ok(b)) => (a, b),
                _ => return Err(format!("--vary {spec}: a range needs numbers at both ends")),
            };
            if log && !(a > 0.0 && b > 0.0) {
                return Err(format!("--vary {spec}: a log range needs positive ends"));
            }
            (0..n)
                .map(|i| {
                    let v = if i == 0 {
                        a
                    } else if i == n - 1 {
                        b
                    } else if log {
                        computed(a * (b / a).powf(i as f64 / (n - 1) as f64))
                    } else {
                        computed(a + (b - a) * i as f64 / (n - 1) as f64)
                    };
                    if unit_a.is_empty() {
                        format!("{v}")
                    } else {
                        format!("\"{v}{unit_a}\"")
                    }
                })
                .collect()
        } else {
            values
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
        };
    if values.is_empty() {
        return Err(format!("--vary {spec}: no values"));
    }
    Ok(Axis { path, values })
}

/// A point a range computed, rounded as a person would write it: to a thousandth of its
/// unit (`23.333s`, not `23.333333333333332s`), or to four significant digits where that is
/// finer (`0.001233`), so that float noise (`10000.000000000002`) never reaches the output.
fn computed(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(3, 15);
    let scale = 10f64.powi(decimals);
    (v * scale).round() / scale
}

/// `"60s"` → (`"60"`, `"s"`); `"3"` → (`"3"`, `""`).
fn split_unit(s: &str) -> (&str, &str) {
    let s = s.trim();
    let cut = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    (s[..cut].trim(), &s[cut..])
}

/// The grid: every combination, first axis outermost.
pub fn grid(axes: &[Axis]) -> Result<Vec<Vec<String>>, String> {
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].iter().any(|b| b.path == a.path) {
            return Err(format!(
                "--vary {}: given twice; give its values in one --vary",
                a.path
            ));
        }
    }
    let size = axes
        .iter()
        .try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()));
    match size {
        Some(n) if n <= MAX_POINTS => {}
        _ => {
            return Err(format!(
                "the grid has more than {MAX_POINTS} points: vary fewer values"
            ));
        }
    }
    let mut points: Vec<Vec<String>> = vec![vec![]];
    for axis in axes {
        points = points
            .into_iter()
            .flat_map(|p| {
                axis.values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push(v.clone());
                    q
                })
            })
            .collect();
    }
    Ok(points)
}

/// The `--set` assignments of one point.
pub fn point_sets(axes: &[Axis], point: &[String]) -> Vec<String> {
    axes.iter()
        .zip(point)
        .map(|(a, v)| format!("{}={v}", a.path))
        .collect()
}

/// Loads the model once per point (base overrides first), refusing any bad point before
/// anything runs.
pub fn models(
    file: &Path,
    text: &str,
    base_sets: &[String],
    axes: &[Axis],
    points: &[Vec<String>],
) -> Result<Vec<Model>, ModelError> {
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    points
        .iter()
        .map(|p| {
            let mut sets = base_sets.to_vec();
            sets.extend(point_sets(axes, p));
            Model::from_str(&file.display().to_string(), text, &base, &sets)
        })
        .collect()
}

/// Runs one point by `method` (never `Auto`: a sweep chooses once, for all its points,
/// with [`crate::estimate::choose`]); plain runs are paired with `base` (the model's own
/// point: the row then holds the difference of X to it, history by history; splitting
/// rows get theirs from [`RunReport::set_unpaired_difference`]): `replications`
/// histories, or with
/// `precision` until the interval's
/// relative half-width on 1 − A is at most it, checked at block boundaries as `hasim run
/// --precision` does (so the same seed stops at the same place on any threads), at most
/// `replications`.
pub fn run_point(model: &Model, req: &Request<'_>) -> Result<RunReport, EstimateError> {
    let mut req = req.clone();
    if req.method != crate::estimate::Method::Plain {
        req.paired = None;
    }
    crate::estimate::report(model, &req, &|_| {})
}

/// The CSV header for a sweep over `axes`.
pub fn csv_header(axes: &[Axis]) -> String {
    let mut cols: Vec<String> = axes.iter().map(|a| csv_cell(&a.path)).collect();
    cols.extend(RESULT_COLUMNS.iter().map(|c| c.to_string()));
    cols.join(",")
}

/// Result columns of a sweep's CSV, in order.
pub const RESULT_COLUMNS: &[&str] = &[
    "availability",
    "availability_ci_low",
    "availability_ci_high",
    "availability_std_err",
    "downtime_mean_s",
    "downtime_ci_low_s",
    "downtime_ci_high_s",
    "downtime_p50_s",
    "downtime_p95_s",
    "downtime_p99_s",
    "downtime_max_s",
    "outages_mean",
    "outage_mean_length_s",
    "slo_target",
    "slo_p_meet",
    "slo_ci_low",
    "slo_ci_high",
    "fresh_availability",
    "fresh_availability_ci_low",
    "fresh_availability_ci_high",
    "completeness",
    "completeness_ci_low",
    "completeness_ci_high",
    "lost_metrics_mean",
    "lost_metrics_ci_low",
    "lost_metrics_ci_high",
    "replications",
    "seed",
    "events",
    "wall_seconds",
    "stopping",
    "precision",
    "relative_half_width",
    "downtime_diff_s",
    "downtime_diff_ci_low_s",
    "downtime_diff_ci_high_s",
    "method",
];

/// One CSV row: the point's values (as typed) and the results.
pub fn csv_row(point: &[String], r: &RunReport) -> String {
    let num = |x: f64| {
        if x.is_finite() {
            format!("{x}")
        } else {
            String::new()
        }
    };
    let opt = |e: Option<&crate::estimate::results::Estimate>,
               f: fn(&crate::estimate::results::Estimate) -> f64| {
        e.map_or(String::new(), |e| num(f(e)))
    };
    let mut cells: Vec<String> = point
        .iter()
        .map(|v| csv_cell(v.trim_matches('"')))
        .collect();
    let a = &r.availability;
    let d = &r.downtime_seconds;
    cells.extend([
        num(a.mean),
        num(a.ci_low),
        num(a.ci_high),
        num(a.std_err),
        num(d.mean),
        num(d.ci_low),
        num(d.ci_high),
        num(d.p50),
        num(d.p95),
        num(d.p99),
        num(d.max),
        num(r.outages.mean),
        num(r.outages.mean_length_seconds),
        r.slo.as_ref().map_or(String::new(), |s| num(s.target)),
        r.slo.as_ref().map_or(String::new(), |s| num(s.p_meet)),
        r.slo.as_ref().map_or(String::new(), |s| num(s.ci_low)),
        r.slo.as_ref().map_or(String::new(), |s| num(s.ci_high)),
        opt(r.fresh_availability.as_ref(), |e| e.mean),
        opt(r.fresh_availability.as_ref(), |e| e.ci_low),
        opt(r.fresh_availability.as_ref(), |e| e.ci_high),
        opt(r.completeness.as_ref(), |e| e.mean),
        opt(r.completeness.as_ref(), |e| e.ci_low),
        opt(r.completeness.as_ref(), |e| e.ci_high),
        opt(r.lost_metrics.as_ref(), |e| e.mean),
        opt(r.lost_metrics.as_ref(), |e| e.ci_low),
        opt(r.lost_metrics.as_ref(), |e| e.ci_high),
        r.replications.to_string(),
        r.seed.to_string(),
        r.perf.events.to_string(),
        num(r.perf.wall_seconds),
        r.stopping.reason.to_string(),
        r.stopping.precision.map_or(String::new(), num),
        r.stopping.relative_half_width.map_or(String::new(), num),
        opt(r.downtime_difference_seconds.as_ref(), |e| e.mean),
        opt(r.downtime_difference_seconds.as_ref(), |e| e.ci_low),
        opt(r.downtime_difference_seconds.as_ref(), |e| e.ci_high),
        r.estimation.method.to_string(),
    ]);
    cells.join(",")
}

/// Quotes a CSV cell when it needs it.
pub fn csv_cell(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// One JSON line: `{"point": {path: value, …}, "result": {…}}`.
pub fn json_row(axes: &[Axis], point: &[String], r: &RunReport) -> String {
    let mut p = serde_json::Map::new();
    for (a, v) in axes.iter().zip(point) {
        // The value as TOML would read it: a number stays a number.
        let value = toml::from_str::<toml::Table>(&format!("v = {v}"))
            .ok()
            .and_then(|t| t.get("v").cloned())
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or_else(|| serde_json::Value::String(v.clone()));
        p.insert(a.path.clone(), value);
    }
    crate::schema::line(serde_json::json!({ "point": p, "result": r }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_points_are_written_as_typed() {
        assert_eq!(
            parse_axis("a=5s..60s:4").unwrap().values,
            ["\"5s\"", "\"23.333s\"", "\"41.667s\"", "\"60s\""]
        );
        assert_eq!(
            parse_axis("a=1000..100000:3:log").unwrap().values,
            ["1000", "10000", "100000"]
        );
        assert_eq!(
            parse_axis("a=0.001..0.002:4").unwrap().values,
            ["0.001", "0.001333", "0.001667", "0.002"]
        );
        // The ends are the user's own and are kept as written.
        assert_eq!(
            parse_axis("a=0.1234567..1:2").unwrap().values,
            ["0.1234567", "1"]
        );
    }

    #[test]
    fn lists_and_ranges() {
        assert_eq!(
            parse_axis("stages.C.replicas=1,2,3").unwrap().values,
            vec!["1", "2", "3"]
        );
        assert_eq!(
            parse_axis("a=0..1:5").unwrap().values,
            vec!["0", "0.25", "0.5", "0.75", "1"]
        );
        assert_eq!(
            parse_axis("a=1..100:3:log").unwrap().values,
            vec!["1", "10", "100"]
        );
        assert_eq!(
            parse_axis("a=5s..65s:3").unwrap().values,
            vec!["\"5s\"", "\"35s\"", "\"65s\""]
        );
        assert_eq!(parse_axis("a=7..9:1").unwrap().values, vec!["7"]);
        assert!(parse_axis("a=1..2:0").is_err());
        assert!(parse_axis("a=0..2:3:log").is_err());
        assert!(parse_axis("a=1s..2m:3").is_err());
        assert!(parse_axis("a=1..2:3:cubic").is_err());
        assert!(parse_axis("novalues").is_err());
        assert!(parse_axis("a=1..2:100000").is_err());
        // A quoted stage name may hold '=' and ','; the CSV header quotes the path.
        let a = parse_axis("stages.\"a=b,c\".replicas=1,2").unwrap();
        assert_eq!(a.path, "stages.\"a=b,c\".replicas");
        assert_eq!(a.values, vec!["1", "2"]);
        assert!(csv_header(&[a]).starts_with("\"stages.\"\"a=b,c\"\".replicas\",availability,"));
    }

    #[test]
    fn grids_are_every_combination_first_axis_outermost() {
        let axes = vec![parse_axis("a=1,2").unwrap(), parse_axis("b=x,y,z").unwrap()];
        let g = grid(&axes).unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], vec!["1", "x"]);
        assert_eq!(g[1], vec!["1", "y"]);
        assert_eq!(g[3], vec!["2", "x"]);
        let big = vec![
            parse_axis("a=1..2:1000").unwrap(),
            parse_axis("b=1..2:11").unwrap(),
        ];
        assert!(grid(&big).is_err());
    }
}
