//! The report's RFC 2544 section, from a directory's `pktmmap search` rows: per set-up and
//! family, a table with a row per app and frame size (NDR and PDR in kpps and Gbit/s, the
//! share of the calibrated maximum, what limits them, latency at 50 and 90 % of the PDR), the
//! NDR and PDR of each app against udp (the headline that cannot mislead: rates at which
//! nothing, or at most the PDR's share, was lost), the throughput-by-frame-size chart with the
//! calibration line, and the frame loss rate curve where it ran.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use plotters::prelude::*;

use super::chart::{colour, draw_mesh, err, footer, header, plot, LegendMark, GREY, H, W};
use crate::experiment::analysis::stat;
use crate::experiment::plan::kinds::{setup_label, App, Family, Status};
use crate::experiment::search::{frame_overhead_with_fcs, path_loss, SearchRow, TrialRow};
use crate::experiment::Error;

use super::chart::slug;
use super::escape::esc;

/// One set-up and family's rows.
struct Part<'a> {
    setup: &'a str,
    family: Family,
    rows: Vec<&'a SearchRow>,
    trials: Vec<&'a TrialRow>,
}

impl Part<'_> {
    /// Apps in the order they first appear.
    fn apps(&self) -> Vec<App> {
        let mut apps = Vec::new();
        for r in &self.rows {
            if !apps.contains(&r.app) && !r.goal.is_empty() {
                apps.push(r.app);
            }
        }
        apps
    }

    /// Frame sizes, ascending, a size mix's (its mean frame) after them.
    fn frames(&self) -> Vec<usize> {
        self.rows
            .iter()
            .filter(|r| !r.goal.is_empty())
            .map(|r| (!r.size_mix.is_empty(), r.frame_bytes))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|(_, frame)| frame)
            .collect()
    }

    /// How a frame size is shown ([`crate::experiment::search::frame_text`]): its bytes, or
    /// `imix (mean 357)` for a size mix's mean.
    fn frame_label(&self, frame: usize) -> String {
        let mix = self
            .rows
            .iter()
            .find(|r| r.frame_bytes == frame && !r.size_mix.is_empty())
            .map_or("", |r| r.size_mix.as_str());
        crate::experiment::search::frame_text(frame, mix)
    }

    /// The goals, strictest first (as the rows list them).
    fn goals(&self) -> Vec<String> {
        let mut goals: Vec<String> = Vec::new();
        for r in &self.rows {
            if !r.goal.is_empty() && !goals.contains(&r.goal) {
                goals.push(r.goal.clone());
            }
        }
        goals
    }

    /// The rows of one app, frame size and goal (one per repetition).
    fn cell(&self, app: App, frame: usize, goal: &str) -> Vec<&SearchRow> {
        self.rows
            .iter()
            .copied()
            .filter(|r| r.app == app && r.frame_bytes == frame && r.goal == goal)
            .collect()
    }

    /// The median lower bound over repetitions of one cell, pps, with how many had one.
    fn lower(&self, app: App, frame: usize, goal: &str) -> Option<(f64, usize)> {
        let v: Vec<f64> = self
            .cell(app, frame, goal)
            .iter()
            .filter_map(|r| r.lower_bound_pps.map(|l| l as f64))
            .collect();
        stat(v).map(|s| (s.median, s.n))
    }

    /// The median calibrated maximum of one app and frame size, pps.
    fn max_load(&self, app: App, frame: usize) -> Option<f64> {
        let v: Vec<f64> = self
            .rows
            .iter()
            .filter(|r| r.app == app && r.frame_bytes == frame && !r.goal.is_empty())
            .filter_map(|r| r.max_load_pps.map(|m| m as f64))
            .collect();
        stat(v).map(|s| s.median)
    }

    /// The median of `f` over the latency trials of one app and frame size at `fraction`.
    fn latency(
        &self,
        app: App,
        frame: usize,
        fraction: f64,
        f: fn(&TrialRow) -> Option<u64>,
    ) -> Option<f64> {
        let v: Vec<f64> = self
            .trials
            .iter()
            .filter(|t| {
                t.phase == "latency"
                    && t.busy_poll_us.is_none()
                    && t.app == app
                    && t.size + frame_overhead_with_fcs(t.family) == frame
                    && t.fraction.is_some_and(|x| (x - fraction).abs() < 1e-9)
            })
            .filter_map(|t| f(t).map(|v| v as f64))
            .collect();
        stat(v).map(|s| s.median)
    }
}

/// Splits rows and trials by set-up and family, in the order the rows first name them.
fn parts<'a>(rows: &'a [SearchRow], trials: &'a [TrialRow]) -> Vec<Part<'a>> {
    let mut keys: Vec<(&str, Family)> = Vec::new();
    for r in rows {
        if !keys.contains(&(r.setup.as_str(), r.family)) {
            keys.push((r.setup.as_str(), r.family));
        }
    }
    keys.into_iter()
        .map(|(setup, family)| Part {
            setup,
            family,
            rows: rows
                .iter()
                .filter(|r| r.setup == setup && r.family == family)
                .collect(),
            trials: trials
                .iter()
                .filter(|t| t.setup == setup && t.family == family)
                .collect(),
        })
        .collect()
}

/// A value in thousands with one decimal (pps as kpps, ns as µs), or `-`.
fn thousands(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.1}", v / 1e3))
}

/// Gbit/s of `pps` frames of `bytes` each.
fn gbps(pps: f64, bytes: usize) -> f64 {
    pps * bytes as f64 * 8.0 / 1e9
}

/// The section, or an empty string without search rows.
pub fn section(rows: &[SearchRow], trials: &[TrialRow], caption: &str) -> Result<String, Error> {
    if rows.is_empty() {
        return Ok(String::new());
    }
    let mut h = String::from(
        "<h2 id=\"rfc2544\">Throughput as RFC 2544 measures it (pktmmap search)</h2>\n",
    );
    let first = &rows[0];
    let _ = writeln!(
        h,
        "<p>Preset <code>{}</code>. The NDR is the highest offered load that lost nothing, the PDR the highest that \
lost at most its loss ratio ({}), each between a lower and an upper bound found by an MLRsearch-style search \
(RFC 9971); frames a sender failed to send in time count as lost. Frame sizes include the 4-byte FCS; L1 \
adds 20 bytes per frame (preamble and gap). The maximum load is calibrated per search (the generator's own \
ceiling on the path): a result at it, or where the sender fell short, is <i>generator</i>-limited, a \
property of the sender on this path rather than of the path. Latency is one-way, from the probe's send time \
to the receiver's timestamp, in a trial at 50 or 90 % of the PDR's lower bound.</p>",
        esc(&first.preset),
        rows.iter()
            .filter(|r| r.goal != "NDR" && !r.goal.is_empty())
            .map(|r| format!("{} {:.1} %", r.goal, r.loss_ratio * 100.0))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    );
    for part in parts(rows, trials) {
        part_section(&mut h, &part, caption)?;
    }
    Ok(h)
}

fn part_section(h: &mut String, p: &Part<'_>, caption: &str) -> Result<(), Error> {
    let label = setup_label(p.setup, p.family);
    let any = p.rows[0];
    let _ = writeln!(
        h,
        "<h3 id=\"rfc2544-{}\">{} ({}, {} engine)</h3>",
        slug(&label),
        esc(&label),
        esc(&any.datapath),
        any.engine
    );
    let goals = p.goals();
    let (apps, frames) = (p.apps(), p.frames());
    if !goals.is_empty() {
        ratio_table(h, p, &apps, &frames, &goals);
        h.push_str("<table><tr><th class=\"l\">app</th><th>frame B</th><th>max load kpps</th>");
        for g in &goals {
            let _ = write!(
                h,
                "<th>{g} kpps</th><th>{g} L2 / L1 Gbit/s</th><th>{g} of max</th><th class=\"l\">{g} limited by</th>"
            );
        }
        h.push_str("<th>p50 / p99 µs at 50 %</th><th>p50 / p99 µs at 90 %</th></tr>\n");
        for &app in &apps {
            for &frame in &frames {
                if p.cell(app, frame, &goals[0]).is_empty() {
                    continue;
                }
                let max = p.max_load(app, frame);
                let _ = write!(
                    h,
                    "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td>",
                    app.as_str(),
                    esc(&p.frame_label(frame)),
                    thousands(max)
                );
                for g in &goals {
                    let lower = p.lower(app, frame, g);
                    let limited: BTreeSet<&str> = p
                        .cell(app, frame, g)
                        .iter()
                        .map(|r| {
                            if r.limited_by.is_empty() {
                                r.outcome.as_str()
                            } else {
                                r.limited_by.as_str()
                            }
                        })
                        .collect();
                    let irregular = p
                        .cell(app, frame, g)
                        .iter()
                        .any(|r| !r.regular && !r.outcome.is_empty());
                    let _ = write!(
                        h,
                        "<td>{}{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td>",
                        thousands(lower.map(|l| l.0)),
                        if irregular { " (irregular)" } else { "" },
                        lower.map_or("-".into(), |(l, _)| format!(
                            "{:.3} / {:.3}",
                            gbps(l, frame),
                            gbps(l, frame + crate::experiment::search::L1_OVERHEAD)
                        )),
                        lower
                            .zip(max)
                            .map_or("-".into(), |((l, _), m)| format!("{:.0} %", l / m * 100.0)),
                        esc(&limited.into_iter().collect::<Vec<_>>().join(", "))
                    );
                }
                for fraction in [0.5, 0.9] {
                    let p50 = p.latency(app, frame, fraction, |t| t.latency_p50_ns);
                    let p99 = p.latency(app, frame, fraction, |t| t.latency_p99_ns);
                    let _ = write!(h, "<td>{} / {}</td>", thousands(p50), thousands(p99));
                }
                h.push_str("</tr>\n");
            }
        }
        h.push_str("</table>\n");
        let _ = writeln!(
            h,
            "<figure>{}</figure>",
            by_frame_size_svg(p, &apps, &frames, &goals, caption)?
        );
    }
    if p.trials.iter().any(|t| t.phase == "loss-curve") {
        let _ = writeln!(h, "<figure>{}</figure>", loss_curve_svg(p, &apps, caption)?);
    }
    for r in p.rows.iter().filter(|r| r.status != Status::Ok) {
        let _ = writeln!(
            h,
            "<p class=\"note warn\">{} {} B {} #{}: {}: {}</p>",
            r.app.as_str(),
            esc(&p.frame_label(r.frame_bytes)),
            esc(&r.goal),
            r.repetition,
            r.status,
            esc(&r.reason)
        );
    }
    Ok(())
}

/// Each app's NDR and PDR against udp's at each frame size: the headline. A ratio with either
/// side generator-limited says so, since it then compares senders rather than paths.
fn ratio_table(h: &mut String, p: &Part<'_>, apps: &[App], frames: &[usize], goals: &[String]) {
    let others: Vec<App> = apps.iter().copied().filter(|a| *a != App::Udp).collect();
    if !apps.contains(&App::Udp) || others.is_empty() {
        return;
    }
    h.push_str("<table><tr><th>frame B</th>");
    for a in &others {
        for g in goals {
            let _ = write!(h, "<th>{} / udp, {g}</th>", a.as_str());
        }
    }
    h.push_str("</tr>\n");
    for &frame in frames {
        let _ = write!(h, "<tr><td>{}</td>", esc(&p.frame_label(frame)));
        for &a in &others {
            for g in goals {
                let generator = |app| {
                    p.cell(app, frame, g)
                        .iter()
                        .any(|r| r.limited_by == "generator")
                };
                let cell = match (p.lower(a, frame, g), p.lower(App::Udp, frame, g)) {
                    (Some((x, _)), Some((u, _))) if u > 0.0 => format!(
                        "{:.2}{}",
                        x / u,
                        if generator(a) || generator(App::Udp) {
                            " (generator-limited)"
                        } else {
                            ""
                        }
                    ),
                    _ => "-".into(),
                };
                let _ = write!(h, "<td>{cell}</td>");
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

/// Throughput by frame size: each app's goals' lower bounds (NDR filled, others hollow) and
/// its calibrated maximum (dashed), frame sizes as slots.
fn by_frame_size_svg(
    p: &Part<'_>,
    apps: &[App],
    frames: &[usize],
    goals: &[String],
    caption: &str,
) -> Result<String, Error> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut legend: Vec<(String, RGBColor, LegendMark)> = apps
            .iter()
            .map(|a| (a.as_str().to_string(), colour(*a), LegendMark::Line))
            .collect();
        legend.push((goals[0].clone(), GREY, LegendMark::Line));
        for g in &goals[1..] {
            legend.push((g.clone(), GREY, LegendMark::Hollow));
        }
        legend.push(("calibrated max (x)".into(), GREY, LegendMark::Dashed));
        let area = header(
            &root,
            &format!("{}: throughput by frame size", setup_label(p.setup, p.family)),
            "lower bound of each goal (kpps, median over repetitions); the generator's calibrated maximum dashed",
            &legend,
        )?;
        let area = footer(&area, caption)?;
        let top = apps
            .iter()
            .flat_map(|&a| frames.iter().filter_map(move |&f| p.max_load(a, f)))
            .fold(1.0, f64::max)
            / 1e3;
        let n = frames.len() as f64;
        let labels: Vec<String> = frames.iter().map(|&f| p.frame_label(f)).collect();
        let mut chart = plot(&area, 50, -0.5..n - 0.5, 0.0..top * 1.1)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(frames.len())
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < frames.len() {
                    labels[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc("frame size, bytes (FCS included)")
            .y_desc("kpps")
            .label_style((super::chart::FONT, 12))
            .axis_desc_style((super::chart::FONT, 13))
            .draw()
            .map_err(err)?;
        let k = apps.len() as f64;
        for (j, &app) in apps.iter().enumerate() {
            let c = colour(app);
            let dx = (j as f64 - (k - 1.0) / 2.0) * 0.06;
            let max: Vec<(f64, f64)> = frames
                .iter()
                .enumerate()
                .filter_map(|(i, &f)| p.max_load(app, f).map(|m| (i as f64 + dx, m / 1e3)))
                .collect();
            chart
                .draw_series(DashedLineSeries::new(max.clone(), 6, 4, c.stroke_width(1)))
                .map_err(err)?;
            chart
                .draw_series(max.iter().map(|&xy| Cross::new(xy, 5, c.stroke_width(1))))
                .map_err(err)?;
            for (gi, g) in goals.iter().enumerate() {
                let pts: Vec<(f64, f64)> = frames
                    .iter()
                    .enumerate()
                    .filter_map(|(i, &f)| p.lower(app, f, g).map(|(l, _)| (i as f64 + dx, l / 1e3)))
                    .collect();
                if gi == 0 {
                    chart
                        .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                        .map_err(err)?;
                }
                let style = if gi == 0 {
                    c.filled()
                } else {
                    c.stroke_width(2)
                };
                chart
                    .draw_series(pts.iter().map(|&xy| Circle::new(xy, 5, style)))
                    .map_err(err)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The frame loss rate curve: loss against the offered load (share of the maximum), a line
/// per app and repetition.
fn loss_curve_svg(p: &Part<'_>, apps: &[App], caption: &str) -> Result<String, Error> {
    let curve: Vec<&TrialRow> = p
        .trials
        .iter()
        .copied()
        .filter(|t| t.phase == "loss-curve")
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut legend: Vec<(String, RGBColor, LegendMark)> = apps
            .iter()
            .filter(|a| curve.iter().any(|t| t.app == **a))
            .map(|a| (a.as_str().to_string(), colour(*a), LegendMark::Line))
            .collect();
        legend.push((
            "only the sender's shortfall".into(),
            GREY,
            LegendMark::Hollow,
        ));
        let area = header(
            &root,
            &format!("{}: frame loss rate (RFC 2544 26.3)", setup_label(p.setup, p.family)),
            "loss against the offered load, from the calibrated maximum down in 10 % steps to two loss-free trials",
            &legend,
        )?;
        let area = footer(&area, caption)?;
        let worst = curve
            .iter()
            .filter_map(|t| t.loss_ratio)
            .fold(0.0, f64::max)
            * 100.0;
        let top = if worst < 1.0 { 1.0 } else { worst * 1.1 };
        let mut chart = plot(&area, 50, 0.0..105.0, 0.0..top)?;
        draw_mesh(
            &mut chart,
            Some("offered load, % of the calibrated maximum"),
            "frames lost (%)",
            None,
        )?;
        let mut lines: Vec<(App, usize, u32)> = curve
            .iter()
            .map(|t| (t.app, t.size, t.repetition))
            .collect();
        lines.dedup();
        for (app, size, rep) in lines {
            let c = colour(app);
            let pts: Vec<(f64, f64)> = curve
                .iter()
                .filter(|t| (t.app, t.size, t.repetition) == (app, size, rep))
                .filter_map(|t| Some((t.fraction? * 100.0, t.loss_ratio? * 100.0)))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                .map_err(err)?;
            // A trial whose loss is the sender's shortfall (it lost nothing it sent) is hollow.
            let short: Vec<bool> = curve
                .iter()
                .filter(|t| (t.app, t.size, t.repetition) == (app, size, rep))
                .filter(|t| t.fraction.is_some() && t.loss_ratio.is_some())
                .map(|t| t.generator_short && path_loss(t) == Some(0.0))
                .collect();
            chart
                .draw_series(pts.iter().zip(&short).map(|(&xy, &short)| {
                    let style = if short { c.stroke_width(2) } else { c.filled() };
                    Circle::new(xy, 5, style)
                }))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::plan::kinds::Engine;

    fn row(app: App, goal: &str, lower: u64, limited: &str) -> SearchRow {
        SearchRow {
            setup: "bridge".into(),
            engine: Engine::Netns,
            datapath: "linux-bridge".into(),
            preset: "quick".into(),
            app,
            size: 64,
            frame_bytes: 110,
            repetition: 1,
            goal: goal.into(),
            loss_ratio: if goal == "NDR" { 0.0 } else { 0.005 },
            max_load_pps: Some(400_000),
            lower_bound_pps: Some(lower),
            upper_bound_pps: Some(lower + 1000),
            regular: true,
            outcome: "found".into(),
            limited_by: limited.into(),
            status: Status::Ok,
            ..SearchRow::default()
        }
    }

    fn latency(app: App, fraction: f64, p50: u64) -> TrialRow {
        TrialRow {
            setup: "bridge".into(),
            app,
            size: 64,
            repetition: 1,
            phase: "latency".into(),
            goal: "PDR".into(),
            fraction: Some(fraction),
            latency_p50_ns: Some(p50),
            latency_p99_ns: Some(p50 * 3),
            status: Status::Ok,
            ..TrialRow::default()
        }
    }

    #[test]
    fn the_section_leads_with_each_apps_bounds_against_udp_and_shows_latency() {
        let rows = [
            row(App::Mmap, "NDR", 300_000, "path"),
            row(App::Mmap, "PDR", 320_000, "path"),
            row(App::Udp, "NDR", 150_000, "path"),
            row(App::Udp, "PDR", 160_000, "generator"),
        ];
        let trials = [
            latency(App::Mmap, 0.5, 20_000),
            latency(App::Mmap, 0.9, 40_000),
            latency(App::Udp, 0.5, 10_000),
        ];
        let h = section(&rows, &trials, "test").unwrap();
        assert!(
            h.contains("<h3 id=\"rfc2544-bridge\">bridge (linux-bridge, netns engine)</h3>"),
            "{h}"
        );
        // The headline: NDR 2.00, PDR 2.00 but udp's PDR was the generator's.
        assert!(
            h.contains("<tr><td>110</td><td>2.00</td><td>2.00 (generator-limited)</td></tr>"),
            "{h}"
        );
        // mmap's row: 300 kpps NDR = 0.264 Gbit/s of 110-byte frames, 0.312 on the line;
        // 75 % of the 400 kpps maximum; latency p50/p99 at 50 and 90 % of the PDR.
        assert!(
            h.contains(
                "<td>300.0</td><td>0.264 / 0.312</td><td>75 %</td><td class=\"l\">path</td>"
            ),
            "{h}"
        );
        assert!(
            h.contains("<td>20.0 / 60.0</td><td>40.0 / 120.0</td></tr>"),
            "{h}"
        );
        assert!(h.contains("<td>10.0 / 30.0</td><td>- / -</td></tr>"), "{h}");
        assert_eq!(
            h.matches("<svg").count(),
            1,
            "no loss curve without its trials"
        );
        assert!(section(&[], &[], "test").unwrap().is_empty());
    }

    #[test]
    fn a_loss_curve_gets_its_chart() {
        let rows = [row(App::Udp, "NDR", 150_000, "path")];
        let curve: Vec<TrialRow> = [(1.0, 0.2), (0.9, 0.1), (0.8, 0.0), (0.7, 0.0)]
            .into_iter()
            .map(|(f, loss)| TrialRow {
                setup: "bridge".into(),
                app: App::Udp,
                size: 64,
                repetition: 1,
                phase: "loss-curve".into(),
                fraction: Some(f),
                loss_ratio: Some(loss),
                ..TrialRow::default()
            })
            .collect();
        let h = section(&rows, &curve, "test").unwrap();
        assert_eq!(h.matches("<svg").count(), 2, "{h}");
        assert!(h.contains("frame loss rate (RFC 2544 26.3)"), "{h}");
    }
}
