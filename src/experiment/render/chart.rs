//! Charts, drawn with plotters (SVG) and rasterised to PNG by resvg.
//!
//! - Per set-up and scenario, the received rate against the varied parameter: each app's
//!   median with min-max bars, the offered rate (the requested rate in packets per second)
//!   as a dashed line, points that lost more than 1 % drawn hollow, and a loss panel under
//!   it, so that a lossy point can never pass for a fast one. "max" (unpaced) stands apart
//!   after a separator and is never joined to the paced points.
//! - The mmap/udp ratio beside the thesis's, with our datapath named and capped points (both
//!   apps at the offered rate) left out and counted.
//! - A run's receive rate over time, from its interval series.
//!
//! Every chart says in its footer which machine, kernel and commit made the rows. Legends sit
//! in the header, never on the data.

use crate::experiment::Error;
use std::collections::BTreeSet;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::experiment::analysis::compare::ratios;
use crate::experiment::analysis::series::{provenance, series, Series, LOSSY};
use crate::experiment::plan::kinds::App;
use crate::experiment::rows::{IntervalRow, Row};

pub(super) const W: u32 = 900;
pub(super) const H: u32 = 620;
pub(super) const FONT: &str = "DejaVu Sans";

/// Colours of the two sides of the ratio chart (ours, the thesis) and of the interval charts
/// (received, sent): the apps' own colours are the registry's.
const COLOURS: [RGBColor; 3] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
];
pub(super) const GREY: RGBColor = RGBColor(0x55, 0x55, 0x55);

pub(super) fn colour(app: App) -> RGBColor {
    let (r, g, b) = app.spec().colour;
    RGBColor(r, g, b)
}

fn x_title(param: &str) -> &'static str {
    match param {
        "count" => "packets sent",
        "rate" => "requested rate (Ethernet frame bits)",
        "size" => "UDP payload size (bytes)",
        _ => "value",
    }
}

fn x_label(param: &str, v: &str) -> String {
    match (param, v.parse::<u64>()) {
        ("count", Ok(n)) if n >= 1_000_000 && n % 100_000 == 0 => format!("{}M", n as f64 / 1e6),
        ("count", Ok(n)) if n >= 1_000 => format!("{}k", n / 1_000),
        _ => v.to_string(),
    }
}

pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A chart on an [`Area`], both axes `f64`.
pub(super) type Chart<'a, 'b> = ChartContext<
    'b,
    SVGBackend<'a>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A chart with this file's margins on `area`, `x_label_area` pixels under it for labels.
pub(super) fn plot<'a, 'b>(
    area: &'b Area<'a>,
    x_label_area: u32,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<Chart<'a, 'b>, Error> {
    ChartBuilder::on(area)
        .margin_left(10)
        .margin_right(25)
        .x_label_area_size(x_label_area)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)
        .map_err(err)
}

/// The grid and axis titles. Without an x title the x axis has no labels and no vertical
/// lines (its slots are labelled by hand); `y_labels`, if given, instead of plotters' 11.
pub(super) fn draw_mesh(
    chart: &mut Chart<'_, '_>,
    x_desc: Option<&str>,
    y_desc: &str,
    y_labels: Option<usize>,
) -> Result<(), Error> {
    let mut mesh = chart.configure_mesh();
    match x_desc {
        Some(x) => mesh.x_desc(x),
        None => mesh.disable_x_mesh().x_labels(0),
    };
    if let Some(n) = y_labels {
        mesh.y_labels(n);
    }
    mesh.y_desc(y_desc)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .draw()
        .map_err(err)
}

pub(super) fn err(e: impl std::fmt::Debug) -> Error {
    Error::Render(format!("chart: {e:?}"))
}

/// Draws `text` on `area`, centred on `at` horizontally and hanging from it.
pub(super) fn centred_text(
    area: &Area<'_>,
    text: String,
    at: (i32, i32),
    size: u32,
    colour: &RGBColor,
) -> Result<(), Error> {
    area.draw(&Text::new(
        text,
        at,
        (FONT, size)
            .into_font()
            .color(colour)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(err)
}

/// Title and subtitle at the top of `area`, a legend line under them; returns the rest.
pub(super) fn header<'a>(
    area: &Area<'a>,
    title: &str,
    subtitle: &str,
    legend: &[(String, RGBColor, LegendMark)],
) -> Result<Area<'a>, Error> {
    let (head, rest) = area.split_vertically(86);
    let centre = |y| (W as i32 / 2, y);
    let pos = Pos::new(HPos::Center, VPos::Top);
    head.draw(&Text::new(
        title.to_string(),
        centre(8),
        (FONT, 19)
            .into_font()
            .style(FontStyle::Bold)
            .color(&BLACK)
            .pos(pos),
    ))
    .map_err(err)?;
    centred_text(&head, subtitle.to_string(), centre(33), 13, &GREY)?;
    // The legend, one row, centred: mark then label, entries 26 px apart.
    let widths: Vec<i32> = legend
        .iter()
        .map(|(l, _, _)| 30 + 7 * l.chars().count() as i32)
        .collect();
    let mut x = (W as i32 - widths.iter().sum::<i32>() - 26 * (legend.len() as i32 - 1)) / 2;
    for ((label, c, mark), w) in legend.iter().zip(widths) {
        let y = 64;
        match mark {
            LegendMark::Line => {
                head.draw(&PathElement::new(
                    vec![(x, y), (x + 22, y)],
                    c.stroke_width(2),
                ))
                .map_err(err)?;
                head.draw(&Circle::new((x + 11, y), 4, c.filled()))
                    .map_err(err)?;
            }
            LegendMark::Dashed => {
                for k in 0..3 {
                    head.draw(&PathElement::new(
                        vec![(x + 8 * k, y), (x + 8 * k + 5, y)],
                        c.stroke_width(2),
                    ))
                    .map_err(err)?;
                }
            }
            LegendMark::Hollow => {
                head.draw(&Circle::new((x + 11, y), 5, c.stroke_width(2)))
                    .map_err(err)?;
            }
            LegendMark::Bar => {
                head.draw(&Rectangle::new(
                    [(x + 4, y - 6), (x + 18, y + 6)],
                    c.filled(),
                ))
                .map_err(err)?;
            }
        }
        head.draw(&Text::new(
            label.clone(),
            (x + 28, y),
            (FONT, 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
        x += w + 26;
    }
    Ok(rest)
}

/// How an entry shows in a legend.
#[derive(Debug, Clone, Copy)]
pub(super) enum LegendMark {
    /// A line with a filled point.
    Line,
    /// A dashed line.
    Dashed,
    /// A hollow point.
    Hollow,
    /// A filled bar.
    Bar,
}

/// The footer: where the rows came from.
pub(super) fn footer<'a>(area: &Area<'a>, text: &str) -> Result<Area<'a>, Error> {
    let (rest, foot) = area.split_vertically(area.dim_in_pixel().1 as i32 - 26);
    centred_text(&foot, text.to_string(), (W as i32 / 2, 6), 11, &GREY)?;
    Ok(rest)
}

/// Slot positions on the x axis: paced values at 0, 1, ...; "max" one slot further, after a
/// gap. Returns (position per value, axis end, separator position if there is a max).
fn slots(values: &[String]) -> (Vec<f64>, f64, Option<f64>) {
    let mut pos = Vec::new();
    let mut next = 0.0;
    let mut sep = None;
    for v in values {
        if v == "max" {
            sep = Some(next + 0.25 - 0.5);
            next += 0.5;
        }
        pos.push(next);
        next += 1.0;
    }
    (pos, next - 0.5, sep)
}

/// The SVG of one throughput chart.
pub fn throughput_svg(s: &Series, caption: &str) -> Result<String, Error> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let reps = s
            .apps
            .values()
            .flatten()
            .flatten()
            .map(|p| p.kpps.n)
            .max()
            .unwrap_or(0);
        let mut legend: Vec<(String, RGBColor, LegendMark)> = s
            .apps
            .keys()
            .map(|a| (a.as_str().to_string(), colour(*a), LegendMark::Line))
            .collect();
        if s.offered.iter().any(Option::is_some) {
            legend.push(("offered rate".into(), BLACK, LegendMark::Dashed));
        }
        legend.push((
            format!("lost > {:.0} %", LOSSY * 100.0),
            GREY,
            LegendMark::Hollow,
        ));
        let area = header(
            &root,
            &format!("{} set-up, {} scenario", s.label(), s.scenario),
            &format!(
                "received packets per second: median of {reps} repetition(s), bars min-max | engine {}, datapath {}, mmap fate {}",
                s.engine, s.datapath, s.fate
            ),
            &legend,
        )?;
        let area = footer(&area, caption)?;
        let (top, bottom) = area.split_vertically((area.dim_in_pixel().1 as f64 * 0.7) as i32);
        let (pos, end, sep) = slots(&s.values);
        let labels: Vec<String> = s.values.iter().map(|v| x_label(&s.param, v)).collect();
        let max = s
            .apps
            .values()
            .flatten()
            .flatten()
            .map(|p| p.kpps.max)
            .chain(s.offered.iter().flatten().copied())
            .fold(1.0, f64::max);

        // Received rate.
        let mut chart = plot(&top, 8, -0.5..end, 0.0..max * 1.12)?;
        draw_mesh(&mut chart, None, "received (kpps)", None)?;
        if let Some(x) = sep {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x, 0.0), (x, max * 1.12)],
                    4,
                    4,
                    GREY.stroke_width(1),
                ))
                .map_err(err)?;
        }
        // The offered rate: dashed, over paced points only.
        let offered: Vec<(f64, f64)> = pos
            .iter()
            .zip(&s.offered)
            .filter_map(|(x, o)| o.map(|o| (*x, o)))
            .collect();
        if !offered.is_empty() {
            chart
                .draw_series(DashedLineSeries::new(
                    offered.clone(),
                    6,
                    4,
                    BLACK.stroke_width(1),
                ))
                .map_err(err)?;
            chart
                .draw_series(
                    offered
                        .iter()
                        .map(|(x, o)| Cross::new((*x, *o), 4, BLACK.stroke_width(1))),
                )
                .map_err(err)?;
        }
        let n = s.apps.len() as f64;
        for (k, (app, points)) in s.apps.iter().enumerate() {
            let c = colour(*app);
            let dx = (k as f64 - (n - 1.0) / 2.0) * 0.08;
            let at = |i: usize| pos[i] + dx;
            // Lines join paced points only: max is another kind of measurement.
            let paced: Vec<(f64, f64)> = points
                .iter()
                .enumerate()
                .filter(|(i, _)| s.values[*i] != "max")
                .filter_map(|(i, p)| p.map(|p| (at(i), p.kpps.median)))
                .collect();
            chart
                .draw_series(LineSeries::new(paced, c.stroke_width(2)))
                .map_err(err)?;
            for (i, p) in points.iter().enumerate() {
                let Some(p) = p else { continue };
                let x = at(i);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, p.kpps.min), (x, p.kpps.max)],
                        c.stroke_width(1),
                    )))
                    .map_err(err)?;
                let style = if p.loss > LOSSY {
                    c.stroke_width(2)
                } else {
                    c.filled()
                };
                chart
                    .draw_series(std::iter::once(Circle::new((x, p.kpps.median), 5, style)))
                    .map_err(err)?;
                if p.loss > LOSSY {
                    chart
                        .draw_series(std::iter::once(Text::new(
                            format!("-{:.0}%", p.loss * 100.0),
                            (x, p.kpps.median),
                            (FONT, 11).into_font().color(&c).pos(Pos::new(
                                if k % 2 == 0 { HPos::Right } else { HPos::Left },
                                VPos::Bottom,
                            )),
                        )))
                        .map_err(err)?;
                }
            }
        }

        // Loss, on the same x slots.
        let worst = s
            .apps
            .values()
            .flatten()
            .flatten()
            .map(|p| p.loss * 100.0)
            .fold(0.0, f64::max);
        let loss_top = if worst < 1.0 { 1.0 } else { worst * 1.15 };
        let mut lc = plot(&bottom, 48, -0.5..end, 0.0..loss_top)?;
        draw_mesh(&mut lc, None, "lost (%)", Some(3))?;
        let bw = 0.3 / n;
        for (k, (app, points)) in s.apps.iter().enumerate() {
            let c = colour(*app);
            lc.draw_series(points.iter().enumerate().filter_map(|(i, p)| {
                let p = (*p)?;
                let left = pos[i] + (k as f64 - n / 2.0) * bw;
                Some(Rectangle::new(
                    [(left, 0.0), (left + bw, p.loss * 100.0)],
                    c.filled(),
                ))
            }))
            .map_err(err)?;
        }
        // Category labels under the loss panel, and the axis title.
        for (x, label) in pos.iter().zip(&labels) {
            let (px, py) = lc.backend_coord(&(*x, 0.0));
            centred_text(&root, label.clone(), (px, py + 8), 12, &BLACK)?;
        }
        let (cx, cy) = lc.backend_coord(&((end - 0.5) / 2.0, 0.0));
        centred_text(
            &root,
            x_title(&s.param).to_string(),
            (cx, cy + 28),
            13,
            &BLACK,
        )?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The SVG of the ratio chart: our mmap/udp ratio beside the thesis's, per set-up and
/// scenario, our datapath named under each group.
pub fn ratio_svg(rows: &[Row], caption: &str) -> Result<String, Error> {
    let r = ratios(rows);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let fates: BTreeSet<&str> = r.iter().map(|x| x.fate.as_str()).collect();
        let capped: usize = r.iter().map(|x| x.capped).sum();
        let lossy: usize = r.iter().map(|x| x.lossy).sum();
        let mut left_out = String::new();
        if capped > 0 {
            left_out += &format!(", {capped} capped point(s) left out");
        }
        if lossy > 0 {
            left_out += &format!(", {lossy} lossy point(s) left out");
        }
        let area = header(
            &root,
            "mmap / udp throughput ratio, ours beside the thesis's",
            &format!(
                "median over points (whisker min-max){}; mmap fate {}",
                left_out,
                fates.into_iter().collect::<Vec<_>>().join(", ")
            ),
            &[
                ("pktmmap (this machine)".into(), COLOURS[0], LegendMark::Bar),
                ("thesis (published)".into(), COLOURS[1], LegendMark::Bar),
            ],
        )?;
        let area = footer(&area, caption)?;
        let max = r
            .iter()
            .flat_map(|x| [x.ours.map(|o| o.2), x.thesis])
            .flatten()
            .fold(1.0, f64::max);
        let n = r.len().max(1) as f64;
        let mut chart = plot(&area, 64, -0.5..n - 0.5, 0.0..max * 1.12)?;
        draw_mesh(&mut chart, None, "mmap pps / udp pps", None)?;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(-0.5, 1.0), (n - 0.5, 1.0)],
                4,
                4,
                GREY.stroke_width(1),
            ))
            .map_err(err)?;
        let bw = 0.3;
        for (i, x) in r.iter().enumerate() {
            let cx = i as f64;
            for (j, v) in [x.ours.map(|o| o.0), x.thesis].into_iter().enumerate() {
                let Some(v) = v else { continue };
                let left = cx - bw + j as f64 * bw;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(left, 0.0), (left + bw, v)],
                        COLOURS[j].filled(),
                    )))
                    .map_err(err)?;
            }
            if let Some((_, lo, hi)) = x.ours {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(cx - bw / 2.0, lo), (cx - bw / 2.0, hi)],
                        BLACK.stroke_width(1),
                    )))
                    .map_err(err)?;
            }
            let (px, py) = chart.backend_coord(&(cx, 0.0));
            let thesis_dp = if x.setup == "ovs" && x.thesis.is_some() {
                " (thesis: kernel)"
            } else {
                ""
            };
            for (k, line) in [
                x.label(),
                x.scenario.clone(),
                format!("{}{thesis_dp}", x.datapath),
            ]
            .into_iter()
            .enumerate()
            {
                let (size, colour) = if k == 2 { (10, &GREY) } else { (12, &BLACK) };
                centred_text(&root, line, (px, py + 6 + 15 * k as i32), size, colour)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The SVG of one run's receive (and send) rate over time, from its interval rows.
pub fn intervals_svg(title: &str, rows: &[&IntervalRow], caption: &str) -> Result<String, Error> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let area = header(
            &root,
            title,
            "packets per second in each interval (the last one ends at the stop)",
            &[
                ("sent".into(), COLOURS[1], LegendMark::Line),
                ("received".into(), COLOURS[0], LegendMark::Line),
            ],
        )?;
        let area = footer(&area, caption)?;
        let end = rows.iter().map(|r| r.end_s).fold(0.1, f64::max);
        let max = rows.iter().map(|r| r.pps / 1000.0).fold(1.0, f64::max);
        let mut chart = plot(&area, 40, 0.0..end, 0.0..max * 1.12)?;
        draw_mesh(
            &mut chart,
            Some("seconds since the tool started"),
            "kpps",
            None,
        )?;
        for (side, c) in [("tx", COLOURS[1]), ("rx", COLOURS[0])] {
            // A step per interval: its rate held from its start to its end.
            let steps: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.side == side)
                .flat_map(|r| [(r.start_s, r.pps / 1000.0), (r.end_s, r.pps / 1000.0)])
                .collect();
            chart
                .draw_series(LineSeries::new(steps, c.stroke_width(2)))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Rasterises an SVG to PNG bytes with the system's fonts.
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>, Error> {
    use resvg::{tiny_skia, usvg};
    let mut opt = usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    if opt.fontdb.is_empty() {
        return Err(Error::Tool(
            "no system fonts found for PNG text: install fonts-dejavu-core".into(),
        ));
    }
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| Error::Render(format!("SVG: {e}")))?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| Error::Render("empty chart".into()))?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| Error::Render(format!("PNG: {e}")))
}

/// A file-name-safe form of `s`.
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Every chart of `rows` as (name, SVG): one per set-up, family, engine and scenario, then the ratio
/// chart. An error when no run succeeded.
pub fn charts(rows: &[Row]) -> Result<Vec<(String, String)>, Error> {
    let caption = provenance(rows);
    let mut charts = series(rows)
        .iter()
        .map(|s| {
            Ok((
                format!(
                    "{}-{}-{}",
                    slug(&s.label()),
                    slug(s.engine.as_str()),
                    slug(&s.scenario)
                ),
                throughput_svg(s, &caption)?,
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    if charts.is_empty() {
        return Err(Error::Request("no successful runs to chart".into()));
    }
    charts.push(("ratio-vs-thesis".into(), ratio_svg(rows, &caption)?));
    Ok(charts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::plan::kinds::{Engine, Fate, Status};

    fn row(scenario: &str, value: &str, app: App, pps: f64) -> Row {
        Row {
            setup: "native".into(),
            engine: Engine::Netns,
            datapath: "veth".into(),
            scenario: scenario.into(),
            param: scenario.into(),
            value: value.into(),
            app,
            fate: Fate::Stack.for_app(app),
            pps: Some(pps),
            count: 1000,
            sent: Some(1000),
            lost: Some(0),
            size: 64,
            requested_rate: "max".into(),
            status: Status::Ok,
            kernel: "6.18.0".into(),
            cpu_model: "Test CPU".into(),
            git_commit: "0123456789abcdef".into(),
            tool_version: "0.1.0".into(),
            ..Row::default()
        }
    }

    #[test]
    fn max_stands_apart_after_a_gap() {
        let v: Vec<String> = ["200Mbps", "400Mbps", "max"].map(String::from).into();
        let (pos, end, sep) = slots(&v);
        assert_eq!(pos, [0.0, 1.0, 2.5]);
        assert_eq!(end, 3.0);
        assert_eq!(sep, Some(1.75));
    }

    #[test]
    fn charts_show_loss_the_offered_rate_and_where_they_came_from() {
        let mut rows = vec![
            row("rate", "200Mbps", App::Mmap, 230_000.0),
            row("rate", "200Mbps", App::Udp, 100_000.0),
            row("rate", "max", App::Mmap, 500_000.0),
            row("rate", "max", App::Udp, 300_000.0),
        ];
        rows[0].requested_rate = "200Mbps".into();
        rows[1].requested_rate = "200Mbps".into();
        rows[1].lost = Some(500);
        let all = charts(&rows).unwrap();
        let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["native-netns-rate", "ratio-vs-thesis"]);
        for (name, svg) in &all {
            assert!(
                svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                "{name}"
            );
            let png = svg_to_png(svg).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}");
            assert!(png.len() > 500, "{name} is too small");
        }
        let svg = &all[0].1;
        for want in [
            "native set-up, rate scenario",
            "mmap fate stack",
            "offered rate",
            "lost (%)",
            "-50%",
            "Test CPU | kernel 6.18.0 | pktmmap 0.1.0 commit 0123456789",
        ] {
            assert!(svg.contains(want), "{want}");
        }
    }
}
