//! Charts (plotters), PNG or SVG by the file's extension, with a font that ships with
//! hasim, so the PNGs render the same on a machine without system fonts.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

/// Width and height of every chart, pixels.
pub const SIZE: (u32, u32) = (1000, 600);

const FONT: &str = "sans-serif";
static FONT_ONCE: Once = Once::new();

fn register_font() {
    FONT_ONCE.call_once(|| {
        // DejaVu Sans (Bitstream Vera licence, assets/fonts/LICENSE-DejaVu).
        let _ = plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../../assets/fonts/DejaVuSans.ttf"),
        );
    });
}

/// Why a chart could not be drawn.
pub type ChartError = String;

fn err<E: std::fmt::Debug>(e: E) -> ChartError {
    format!("cannot draw the chart: {e:?}")
}

/// Colours for series: Okabe and Ito's palette, told apart with any colour vision and in
/// print (blue, vermilion, bluish green, orange, reddish purple, sky blue).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(230, 159, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
];

/// Draws `$body` (which uses `$root`, a drawing area) into `$path`: SVG when its
/// extension is `svg`, else PNG. The chart is drawn beside it under a temporary name and
/// renamed over it once complete, so an interrupted run never leaves half a chart.
macro_rules! render {
    ($path:expr, $root:ident => $body:block) => {{
        let path: &Path = $path;
        let tmp = temporary(path);
        let drawn = (|| -> Result<(), ChartError> {
            if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg")) {
                let $root = SVGBackend::new(&tmp, SIZE).into_drawing_area();
                $body
                $root.present().map_err(err)?;
            } else {
                let $root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
                $body
                $root.present().map_err(err)?;
            }
            Ok(())
        })();
        match drawn.and_then(|()| {
            std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }) {
            Ok(()) => {}
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
    }};
}

/// A name beside `path` for drawing it: hidden, this process's, the same extension (the
/// backend is chosen by it).
fn temporary(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map_or("chart".into(), |n| n.to_string_lossy());
    let ext = path
        .extension()
        .map_or("png".into(), |e| e.to_string_lossy());
    path.with_file_name(format!(".{name}.{}.tmp.{ext}", std::process::id()))
}

/// A series of points (x, y, y_low, y_high).
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64, f64, f64)>,
    /// Mark each point and draw its interval (measured points), or only the line (curves).
    pub markers: bool,
}

/// A horizontal reference line with its label.
pub struct Reference {
    pub y: f64,
    pub label: String,
}

pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x_log: bool,
    /// The x values are whole numbers (replicas): ticks at integers only.
    pub x_integer: bool,
    /// The model's own x, marked by a dotted vertical line with this label.
    pub model_x: Option<(f64, String)>,
    pub series: &'a [Series],
    pub reference: Option<Reference>,
}

fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

/// Lines with confidence bars, optional log x axis and a reference line; a log y axis
/// when the values span more than two decades; the legend beside the plot.
pub fn line_chart(path: &Path, c: &LineChart<'_>) -> Result<(), ChartError> {
    register_font();
    let pts = || c.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = span(pts().map(|p| p.0));
    let (mut y0, mut y1) = span(pts().flat_map(|p| [p.1, p.2, p.3]));
    // A reference far above the data would flatten it: leave it out then.
    let reference = c.reference.as_ref().filter(|r| r.y <= 3.0 * y1.max(1e-12));
    if let Some(r) = reference {
        y0 = y0.min(r.y);
        y1 = y1.max(r.y);
    }
    if !(x0.is_finite() && y0.is_finite()) {
        return Err("nothing to draw".into());
    }
    let positive = span(pts().flat_map(|p| [p.1, p.2, p.3]).filter(|v| *v > 0.0)).0;
    let y_log = positive.is_finite() && y1 / positive > 100.0;
    let (y0, y1) = if y_log {
        (positive / 1.5, y1 * 1.5)
    } else {
        let pad = ((y1 - y0) * 0.08).max(y1.abs() * 0.02).max(1e-9);
        ((y0 - pad).max(0.0), y1 + pad)
    };
    let integer_ticks = (x1 - x0).round() as usize + 1;
    render!(path, root => {
        root.fill(&WHITE).map_err(err)?;
        // The title over the whole width; the legend to the right of the plot, never over
        // the data.
        let body = root.titled(c.title, (FONT, 22)).map_err(err)?;
        let (plot, side) = body.split_horizontally(SIZE.0 - LEGEND_WIDTH);
        let mut builder = ChartBuilder::on(&plot);
        builder
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(90);
        let mut entries: Vec<(String, RGBColor, bool)> = vec![];
        macro_rules! finish {
            ($chart:expr) => {{
                let mut chart = $chart;
                let mut mesh = chart.configure_mesh();
                mesh.x_desc(c.x_label)
                    .y_desc(c.y_label)
                    .label_style((FONT, 16))
                    .axis_desc_style((FONT, 18))
                    .y_label_formatter(&|y| short(*y));
                let whole = |x: &f64| {
                    if (x - x.round()).abs() < 1e-6 {
                        format!("{:.0}", x)
                    } else {
                        String::new()
                    }
                };
                if c.x_integer {
                    mesh.x_labels(integer_ticks).x_label_formatter(&whole);
                } else {
                    mesh.x_label_formatter(&|x| short(*x));
                }
                mesh.draw().map_err(err)?;
                if let Some(r) = reference {
                    let style = ShapeStyle::from(&BLACK).stroke_width(2);
                    chart
                        .draw_series(DashedLineSeries::new(
                            vec![(x0, r.y), (x1, r.y)],
                            10,
                            6,
                            style,
                        ))
                        .map_err(err)?;
                    entries.push((r.label.clone(), BLACK, true));
                }
                if let Some((x, label)) = &c.model_x {
                    let grey = RGBColor(90, 90, 90);
                    chart
                        .draw_series(DashedLineSeries::new(
                            vec![(*x, y0), (*x, y1)],
                            3,
                            4,
                            grey.stroke_width(2),
                        ))
                        .map_err(err)?;
                    entries.push((label.clone(), grey, true));
                }
                for (i, s) in c.series.iter().enumerate() {
                    let color = PALETTE[i % PALETTE.len()];
                    chart
                        .draw_series(LineSeries::new(
                            s.points.iter().map(|p| (p.0, p.1)),
                            color.stroke_width(3),
                        ))
                        .map_err(err)?;
                    entries.push((s.name.clone(), color, false));
                    if s.markers {
                        chart
                            .draw_series(
                                s.points
                                    .iter()
                                    .map(|p| Circle::new((p.0, p.1), 4, color.filled())),
                            )
                            .map_err(err)?;
                        chart
                            .draw_series(s.points.iter().map(|p| {
                                ErrorBar::new_vertical(
                                    p.0,
                                    p.2.max(y0),
                                    p.1,
                                    p.3,
                                    color.stroke_width(2),
                                    12,
                                )
                            }))
                            .map_err(err)?;
                    }
                }
            }};
        }
        let xp = (x1 - x0).max(1e-9) * 0.05;
        match (c.x_log, y_log) {
            (true, true) => finish!(builder
                .build_cartesian_2d((x0 * 0.9..x1 * 1.1).log_scale(), (y0..y1).log_scale())
                .map_err(err)?),
            (true, false) => finish!(builder
                .build_cartesian_2d((x0 * 0.9..x1 * 1.1).log_scale(), y0..y1)
                .map_err(err)?),
            (false, true) => finish!(builder
                .build_cartesian_2d(x0 - xp..x1 + xp, (y0..y1).log_scale())
                .map_err(err)?),
            (false, false) => finish!(builder
                .build_cartesian_2d(x0 - xp..x1 + xp, y0..y1)
                .map_err(err)?),
        }
        side_legend(&side, &entries)?;
    });
    Ok(())
}

/// Width of the legend column beside a line chart, pixels.
const LEGEND_WIDTH: u32 = 230;

/// A legend in its own area: a line (dashed for references) and the label, wrapped.
fn side_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(String, RGBColor, bool)],
) -> Result<(), ChartError> {
    let mut y = 40;
    for (label, colour, dashed) in entries {
        let style = colour.stroke_width(3);
        if *dashed {
            for k in 0..3 {
                area.draw(&PathElement::new(
                    vec![(4 + 10 * k, y + 8), (10 + 10 * k, y + 8)],
                    style,
                ))
                .map_err(err)?;
            }
        } else {
            area.draw(&PathElement::new(vec![(4, y + 8), (30, y + 8)], style))
                .map_err(err)?;
        }
        for (k, line) in wrap(label, 22).iter().enumerate() {
            area.draw(&Text::new(
                line.clone(),
                (38, y + 20 * k as i32),
                (FONT, 15),
            ))
            .map_err(err)?;
        }
        y += 20 * wrap(label, 22).len() as i32 + 14;
    }
    Ok(())
}

/// `text` cut into lines of at most about `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("never empty");
        if !last.is_empty() && last.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

/// A step function with its band — a survival curve (the fraction of histories above
/// each value, on log x and log y) or an empirical distribution function (on linear
/// axes) — with fitted curves over it and vertical marks (quantiles, a budget); the
/// legend beside the plot.
pub struct StepChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Both axes logarithmic (a survival curve's tail), else both linear.
    pub log: bool,
    /// Steps `(x, y, y_low, y_high)`: from `x` on (to the next step's), the function is
    /// `y` with its band; x increasing (and positive on log axes).
    pub steps: &'a [(f64, f64, f64, f64)],
    /// The value before the first step (1 for a survival curve, 0 for a distribution
    /// function), drawn from the left edge.
    pub start: f64,
    /// With `log`: the bottom of the y axis (one history in all of them).
    pub floor: f64,
    /// Curves drawn over the steps (fitted distributions), without markers.
    pub curves: &'a [Series],
    /// Vertical marks at x with their legend labels; `true`: a reference (black, long
    /// dashes), else a statistic (coloured, short dashes). A mark at x ≤ 0 on log axes is
    /// only in the legend.
    pub marks: &'a [(f64, String, bool)],
    pub step_label: &'a str,
    pub band_label: &'a str,
    /// Legend lines without a mark of their own.
    pub notes: &'a [String],
    /// Tick labels of x (durations, say).
    pub x_format: &'a dyn Fn(f64) -> String,
}

/// `c` blended with white: `f` = 0 is `c`, 1 is white.
fn lighten(c: RGBColor, f: f64) -> RGBColor {
    let mix = |v: u8| (f64::from(v) + (255.0 - f64::from(v)) * f).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// Draws a [`StepChart`].
pub fn step_chart(path: &Path, c: &StepChart<'_>) -> Result<(), ChartError> {
    register_font();
    let xs = || {
        c.steps
            .iter()
            .map(|s| s.0)
            .chain(c.curves.iter().flat_map(|s| s.points.iter().map(|p| p.0)))
            .chain(c.marks.iter().map(|m| m.0))
            .filter(|x| !c.log || *x > 0.0)
    };
    let (x0, x1) = span(xs());
    if !(x0.is_finite() && x1.is_finite()) {
        return Err("nothing to draw".into());
    }
    let (x0, x1) = if c.log {
        (x0 / 1.5, x1 * 1.5)
    } else {
        let pad = ((x1 - x0) * 0.05).max(x1.abs() * 0.01).max(1e-9);
        (x0 - pad, x1 + pad)
    };
    let (y0, y1) = if c.log {
        (c.floor / 2.0, 1.2)
    } else {
        (0.0, 1.02)
    };
    let clip = |y: f64| y.clamp(y0, 1.0);
    // Each step's band to the next step (the last to the axis' end), and the step line.
    let ends: Vec<f64> = c.steps.iter().skip(1).map(|s| s.0).chain([x1]).collect();
    let mut line: Vec<(f64, f64)> = vec![(x0, clip(c.start))];
    for (s, end) in c.steps.iter().zip(&ends) {
        let last = line.last().copied().unwrap_or((x0, clip(c.start)));
        line.push((s.0, last.1));
        line.push((s.0, clip(s.1)));
        if c.log && s.1 <= 0.0 {
            break;
        }
        if *end >= x1 {
            line.push((*end, clip(s.1)));
        }
    }
    let colour = PALETTE[0];
    render!(path, root => {
        root.fill(&WHITE).map_err(err)?;
        let body = root.titled(c.title, (FONT, 22)).map_err(err)?;
        let (plot, side) = body.split_horizontally(SIZE.0 - LEGEND_WIDTH);
        let mut entries: Vec<(String, RGBColor, bool)> = vec![];
        let builder = || {
            let mut b = ChartBuilder::on(&plot);
            b.margin(20).x_label_area_size(55).y_label_area_size(90);
            b
        };
        macro_rules! finish {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(c.x_label)
                    .y_desc(c.y_label)
                    .label_style((FONT, 16))
                    .axis_desc_style((FONT, 18))
                    .x_label_formatter(&|x| (c.x_format)(*x))
                    .y_label_formatter(&|y| short(*y))
                    .draw()
                    .map_err(err)?;
                chart
                    .draw_series(c.steps.iter().zip(&ends).map(|(s, end)| {
                        Rectangle::new([(s.0, clip(s.2)), (*end, clip(s.3))], lighten(colour, 0.75).filled())
                    }))
                    .map_err(err)?;
                entries.push((c.band_label.to_string(), lighten(colour, 0.6), false));
                chart
                    .draw_series(LineSeries::new(line.clone(), colour.stroke_width(3)))
                    .map_err(err)?;
                entries.push((c.step_label.to_string(), colour, false));
                for (k, s) in c.curves.iter().enumerate() {
                    let curve = PALETTE[2 + k % (PALETTE.len() - 2)];
                    chart
                        .draw_series(LineSeries::new(
                            s.points.iter().filter(|p| !c.log || p.0 > 0.0).map(|p| (p.0, clip(p.1))),
                            curve.stroke_width(2),
                        ))
                        .map_err(err)?;
                    entries.push((s.name.clone(), curve, false));
                }
                for (k, (x, label, reference)) in c.marks.iter().enumerate() {
                    let mark = if *reference {
                        BLACK
                    } else {
                        [PALETTE[1], PALETTE[4], PALETTE[3]][k % 3]
                    };
                    if !c.log || *x > 0.0 {
                        let pts = vec![(*x, y0), (*x, y1.min(1.0))];
                        let (dash, gap) = if *reference { (10, 6) } else { (3, 4) };
                        chart
                            .draw_series(DashedLineSeries::new(pts, dash, gap, mark.stroke_width(2)))
                            .map_err(err)?;
                    }
                    entries.push((label.clone(), mark, true));
                }
            }};
        }
        if c.log {
            finish!(builder()
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(err)?);
        } else {
            finish!(builder().build_cartesian_2d(x0..x1, y0..y1).map_err(err)?);
        }
        for n in c.notes {
            entries.push((n.clone(), WHITE, false));
        }
        side_legend(&side, &entries)?;
    });
    Ok(())
}

/// A lane of a timeline: intervals (start, end) in days when it is down.
pub struct Lane {
    pub name: String,
    pub down: Vec<(f64, f64)>,
    /// Label each interval with its length (when the lane has few enough to read).
    pub labelled: bool,
}

/// The most intervals a labelled lane labels; beyond, their count and total are said.
const MOST_LABELS: usize = 12;

/// Up/down bands over one history (days) and, below, a step series (e.g. buffer fill).
pub fn timeline(
    path: &Path,
    title: &str,
    horizon_days: f64,
    lanes: &[Lane],
    below: Option<(&str, &[(f64, f64)])>,
) -> Result<(), ChartError> {
    register_font();
    render!(path, root => {
    root.fill(&WHITE).map_err(err)?;
    let (top, bottom) = match below {
        Some(_) => root.split_vertically(380),
        None => (root.clone(), root.clone().shrink((0, 0), (0, 0))),
    };
    let n = lanes.len().max(1) as f64;
    let names: Vec<String> = lanes.iter().map(|l| l.name.clone()).collect();
    let mut chart = ChartBuilder::on(&top)
        .caption(title, (FONT, 22))
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(150)
        .build_cartesian_2d(0.0..horizon_days, 0.0..n + 0.35)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_desc("date in the year (day 0 = 1 January)")
        .x_labels(0)
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .draw()
        .map_err(err)?;
    date_axis(&mut chart, &top, horizon_days, (0.0, n + 0.35))?;
    // Lane names, right-aligned against the plot.
    for (i, name) in names.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(0.0, n - i as f64 - 0.5));
        let style =
            TextStyle::from((FONT, 16).into_font()).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Right,
                plotters::style::text_anchor::VPos::Center,
            ));
        top.draw(&Text::new(name.clone(), (px - 10, py), style))
            .map_err(err)?;
    }
    // One pixel of the plot is about this many days: shorter outages are widened to it.
    let pixel = horizon_days / 800.0;
    for (i, lane) in lanes.iter().enumerate() {
        let y = n - i as f64;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, y - 0.8), (horizon_days, y - 0.2)],
                PALETTE[2].mix(0.35).filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(lane.down.iter().map(|(a, b)| {
                Rectangle::new(
                    [(*a, y - 0.85), (b.max(a + pixel), y - 0.15)],
                    PALETTE[1].filled(),
                )
            }))
            .map_err(err)?;
        if lane.labelled && !lane.down.is_empty() {
            let day = 86_400.0;
            let texts: Vec<((f64, f64), String)> = if lane.down.len() <= MOST_LABELS {
                lane.down
                    .iter()
                    .map(|(a, b)| ((*a, y - 0.1), crate::units::format_duration((b - a) * day)))
                    .collect()
            } else {
                let total: f64 = lane.down.iter().map(|(a, b)| b - a).sum();
                vec![(
                    (0.0, y - 0.1),
                    format!(
                        "{} outages, {} in all",
                        lane.down.len(),
                        crate::units::format_duration(total * day)
                    ),
                )]
            };
            chart
                .draw_series(texts.into_iter().map(|(at, t)| {
                    Text::new(
                        t,
                        at,
                        TextStyle::from((FONT, 13).into_font()).pos(
                            plotters::style::text_anchor::Pos::new(
                                plotters::style::text_anchor::HPos::Left,
                                plotters::style::text_anchor::VPos::Bottom,
                            ),
                        ),
                    )
                }))
                .map_err(err)?;
        }
    }
    if let Some((label, points)) = below {
        let (_, y1) = span(points.iter().map(|p| p.1));
        let mut lower = ChartBuilder::on(&bottom)
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(150)
            .build_cartesian_2d(0.0..horizon_days, 0.0..(y1 * 1.1).max(1.0))
            .map_err(err)?;
        lower
            .configure_mesh()
            .x_desc("date in the year (day 0 = 1 January)")
            .x_labels(0)
            .y_desc(label)
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 18))
            .y_label_formatter(&|y| short(*y))
            .draw()
            .map_err(err)?;
        date_axis(&mut lower, &bottom, horizon_days, (0.0, (y1 * 1.1).max(1.0)))?;
        lower
            .draw_series(LineSeries::new(
                // A step line: the buffer holds its level until the next change.
                points.iter().zip(points.iter().skip(1)).flat_map(|(a, b)| [*a, (b.0, a.1)]),
                PALETTE[0].stroke_width(2),
            ))
            .map_err(err)?;
        // Short spikes are narrower than a pixel: mark them.
        lower
            .draw_series(
                points
                    .iter()
                    .filter(|p| p.1 > 0.0)
                    .map(|p| Circle::new(*p, 3, PALETTE[0].filled())),
            )
            .map_err(err)?;
    }
    });
    Ok(())
}

/// A timeline's x axis: a light line and a date under the axis at each of
/// [`date_ticks`] (plotters' own ticks fall on round numbers of days, not on months).
fn date_axis<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    area: &DrawingArea<DB, plotters::coord::Shift>,
    horizon_days: f64,
    (y0, y1): (f64, f64),
) -> Result<(), ChartError> {
    let style =
        TextStyle::from((FONT, 15).into_font()).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Top,
        ));
    let (ox, oy) = area.get_base_pixel();
    for d in date_ticks(horizon_days) {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(d, y0), (d, y1)],
                RGBColor(215, 215, 215).stroke_width(1),
            )))
            .map_err(err)?;
        let (px, py) = chart.backend_coord(&(d, y0));
        area.draw(&Text::new(
            calendar(d),
            (px - ox, py - oy + 8),
            style.clone(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// Ticks of a timeline: the first of each month within a year, else twelve even ones.
fn date_ticks(horizon_days: f64) -> Vec<f64> {
    if horizon_days > 366.0 {
        return (0..=12)
            .map(|k| horizon_days * f64::from(k) / 12.0)
            .collect();
    }
    let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut at = 0.0;
    let mut ticks = vec![];
    for len in lengths {
        if at <= horizon_days {
            ticks.push(at);
        }
        at += f64::from(len);
    }
    ticks
}

/// Day `d` of a year of 365 days (0 = 1 January) as a date, `3 Feb`; past the first
/// year, the day number.
fn calendar(d: f64) -> String {
    const MONTHS: [(&str, u32); 12] = [
        ("Jan", 31),
        ("Feb", 28),
        ("Mar", 31),
        ("Apr", 30),
        ("May", 31),
        ("Jun", 30),
        ("Jul", 31),
        ("Aug", 31),
        ("Sep", 30),
        ("Oct", 31),
        ("Nov", 30),
        ("Dec", 31),
    ];
    let mut day = d.floor().max(0.0) as u32;
    if day >= 365 {
        return format!("day {day}");
    }
    for (name, len) in MONTHS {
        if day < len {
            return format!("{} {name}", day + 1);
        }
        day -= len;
    }
    unreachable!("a day under 365 falls in some month")
}

/// One half of a tornado bar: the change, its paired interval, its p-value against no
/// change, and whether it is significant after the correction over all halves.
#[derive(Clone, Debug)]
pub struct TornadoHalf {
    pub value: f64,
    pub ci: (f64, f64),
    pub p: f64,
    pub significant: bool,
}

/// A tornado bar: a parameter with its two halves (e.g. halved, doubled).
#[derive(Clone, Debug)]
pub struct TornadoBar {
    pub label: String,
    pub halves: [TornadoHalf; 2],
}

/// Horizontal bars per parameter, the two halves side by side, each with its interval as
/// a whisker; a half not significant is drawn grey.
pub fn tornado(
    path: &Path,
    title: &str,
    x_label: &str,
    bars: &[TornadoBar],
    labels: (&str, &str),
) -> Result<(), ChartError> {
    register_font();
    render!(path, root => {
    root.fill(&WHITE).map_err(err)?;
    let (x0, x1) = span(
        bars.iter()
            .flat_map(|b| b.halves.iter().flat_map(|h| [h.value, h.ci.0, h.ci.1]))
            .chain([0.0]),
    );
    let pad = ((x1 - x0) * 0.06).max(1e-9);
    let n = bars.len().max(1) as f64;
    // The label area as wide as the longest name (long stage names, as imported from
    // manifests, were cut off at the image's edge), up to a limit; a name wider than
    // that is shortened in the middle (the CSV keeps it whole).
    let style: TextStyle = (FONT, 15).into();
    let width = |s: &str| {
        root.estimate_text_size(s, &style)
            .map_or(9 * s.chars().count() as u32, |(w, _)| w)
    };
    let names: Vec<String> = bars
        .iter()
        .map(|b| fit_label(&b.label, MAX_LABEL_WIDTH, &width))
        .collect();
    let label_area = names.iter().map(|s| width(s)).max().unwrap_or(0).max(60) + 16;
    let body = root.titled(title, (FONT, 22)).map_err(err)?;
    let (plot, side) = body.split_horizontally(SIZE.0 - LEGEND_WIDTH);
    let mut entries: Vec<(String, RGBColor, bool)> = vec![];
    let mut chart = ChartBuilder::on(&plot)
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(label_area)
        .build_cartesian_2d(x0 - pad..x1 + pad, 0.0..n)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(x_label)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 18))
        .x_label_formatter(&|x| short(*x))
        .y_labels(bars.len() * 2 + 1)
        .y_label_formatter(&|y| {
            let i = (n - y - 0.5).round();
            if i >= 0.0 && (i as usize) < names.len() && (y - y.floor() - 0.5).abs() < 0.01 {
                names[i as usize].clone()
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(err)?;
    let grey = RGBColor(175, 175, 175);
    // Half k of bar i occupies a band of its own: halved above, doubled below.
    let band = |i: usize, k: usize| {
        let top = n - i as f64 - 0.1;
        let (hi, lo) = if k == 0 {
            (top, top - 0.4)
        } else {
            (top - 0.4, top - 0.8)
        };
        (lo, hi)
    };
    for (k, (name, colour)) in [(labels.0, PALETTE[0]), (labels.1, PALETTE[1])]
        .into_iter()
        .enumerate()
    {
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let h = &b.halves[k];
                let (lo, hi) = band(i, k);
                let fill = if h.significant { colour } else { grey };
                Rectangle::new([(0.0, lo + 0.04), (h.value, hi - 0.04)], fill.filled())
            }))
            .map_err(err)?;
        entries.push((name.to_string(), colour, false));
        // The paired interval as a whisker with caps.
        chart
            .draw_series(bars.iter().enumerate().flat_map(|(i, b)| {
                let h = &b.halves[k];
                let (lo, hi) = band(i, k);
                let mid = (lo + hi) / 2.0;
                let cap = (hi - lo) * 0.3;
                [
                    PathElement::new(vec![(h.ci.0, mid), (h.ci.1, mid)], BLACK.stroke_width(2)),
                    PathElement::new(
                        vec![(h.ci.0, mid - cap), (h.ci.0, mid + cap)],
                        BLACK.stroke_width(2),
                    ),
                    PathElement::new(
                        vec![(h.ci.1, mid - cap), (h.ci.1, mid + cap)],
                        BLACK.stroke_width(2),
                    ),
                ]
            }))
            .map_err(err)?;
    }
    entries.push(("not significant (Holm-corrected)".into(), grey, false));
    entries.push(("whiskers: paired 95 % intervals".into(), BLACK, false));
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (0.0, n)],
            BLACK.stroke_width(2),
        )))
        .map_err(err)?;
    side_legend(&side, &entries)?;
    });
    Ok(())
}

/// The widest a tornado's parameter name is drawn, in pixels: half the plot.
const MAX_LABEL_WIDTH: u32 = 380;

/// `label` as it fits in `max` pixels by `width`: whole if it fits, else with its middle
/// replaced by an ellipsis (the stage at the start and what is varied at the end stay).
fn fit_label(label: &str, max: u32, width: &dyn Fn(&str) -> u32) -> String {
    if width(label) <= max {
        return label.to_string();
    }
    let chars: Vec<char> = label.chars().collect();
    let mut keep = chars.len();
    while keep > 1 {
        keep -= 1;
        let head = keep.div_ceil(2);
        let tail = keep - head;
        let s: String = chars[..head]
            .iter()
            .chain(std::iter::once(&'…'))
            .chain(&chars[chars.len() - tail..])
            .collect();
        if width(&s) <= max {
            return s;
        }
    }
    "…".to_string()
}

/// Numbers for axis labels: few digits, no float noise.
pub fn short(x: f64) -> String {
    let a = x.abs();
    // Tick positions carry float noise (3.5e-18 for 0).
    if a < 1e-12 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{x:.1e}")
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 1.0 {
        let s = format!("{x:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_fits_whole_or_loses_its_middle() {
        // Ten pixels a character.
        let width = |s: &str| 10 * s.chars().count() as u32;
        assert_eq!(fit_label("C: restart time", 200, &width), "C: restart time");
        let long = "influxdb-statefulset-with-a-long-name crash: time to failure";
        let short = fit_label(long, 200, &width);
        assert_eq!(short.chars().count(), 20, "{short}");
        assert!(
            short.starts_with("influxdb-") && short.ends_with("failure"),
            "{short}"
        );
        assert!(short.contains('…'));
        assert_eq!(fit_label(long, 5, &width), "…");
    }

    /// A tornado with a name wider than the label area's limit renders, as PNG and SVG
    /// (how it looks was checked on the PNG: the name shortened in the middle, whole).
    #[test]
    fn a_tornado_with_long_names_renders() {
        let dir = tempfile::tempdir().unwrap();
        let half = |v: f64| TornadoHalf {
            value: v,
            ci: (v - 1.0, v + 1.0),
            p: 0.01,
            significant: true,
        };
        let bars: Vec<TornadoBar> = ["short", &"a-very-long-stage-name ".repeat(4)]
            .iter()
            .map(|l| TornadoBar {
                label: format!("{l} crash: time to failure"),
                halves: [half(-3.0), half(5.0)],
            })
            .collect();
        for name in ["t.png", "t.svg"] {
            let path = dir.path().join(name);
            tornado(&path, "title", "x", &bars, ("halved", "doubled")).unwrap();
            assert!(std::fs::metadata(&path).unwrap().len() > 1000);
        }
    }
}
