//! Charts in the spirit of the thesis's figures: throughput against the varied parameter, mmap
//! beside udp, medians with min-max error bars over repetitions; and our mmap/udp ratio beside
//! the thesis's. Written as SVG by hand (small and deterministic), rasterised to PNG by resvg.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::analysis::stat;
pub use super::analysis::Stat;
use super::compare::ratios;
use super::kinds::{App, Engine, Status};
use super::results::Row;

const W: f64 = 820.0;
const H: f64 = 480.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 70.0;
const FONT: &str = "DejaVu Sans, Liberation Sans, Arial, sans-serif";

/// Colours of the two apps (and of "ours" and "thesis" in the ratio chart).
const COLOURS: [&str; 3] = ["#1f77b4", "#ff7f0e", "#2ca02c"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" axis top and tick step for data up to `max`.
pub fn nice_axis(max: f64) -> (f64, f64) {
    if !(max.is_finite() && max > 0.0) {
        return (1.0, 0.2);
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

struct Svg(String);

impl Svg {
    fn new(title: &str, subtitle: &str) -> Self {
        let mut s = String::new();
        let _ = write!(
            s,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="{FONT}">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="26" font-size="17" text-anchor="middle" font-weight="bold">{}</text>
<text x="{}" y="46" font-size="12" text-anchor="middle" fill="#555">{}</text>
"##,
            W / 2.0,
            esc(title),
            W / 2.0,
            esc(subtitle)
        );
        Svg(s)
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, colour: &str, width: f64) {
        let _ = writeln!(
            self.0,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{colour}" stroke-width="{width}"/>"#
        );
    }

    fn text(&mut self, x: f64, y: f64, size: f64, anchor: &str, body: &str) {
        let _ = writeln!(
            self.0,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}">{}</text>"#,
            esc(body)
        );
    }

    /// Axes with a y scale from 0 to `top` and categorical x labels; returns the plot box.
    fn axes(
        &mut self,
        top: f64,
        step: f64,
        y_label: &str,
        x_labels: &[String],
        x_title: &str,
    ) -> PlotBox {
        let b = PlotBox {
            x0: LEFT,
            x1: W - RIGHT,
            y0: H - BOTTOM,
            y1: TOP,
            top,
            n: x_labels.len().max(1),
        };
        let mut v = 0.0;
        while v <= top + step / 2.0 {
            let y = b.y(v);
            self.line(b.x0, y, b.x1, y, "#e5e5e5", 1.0);
            self.text(b.x0 - 8.0, y + 4.0, 11.0, "end", &format_tick(v));
            v += step;
        }
        self.line(b.x0, b.y0, b.x1, b.y0, "#333", 1.2);
        self.line(b.x0, b.y0, b.x0, b.y1, "#333", 1.2);
        for (i, l) in x_labels.iter().enumerate() {
            for (k, part) in l.split('\n').enumerate() {
                self.text(b.x(i), b.y0 + 18.0 + 13.0 * k as f64, 11.0, "middle", part);
            }
        }
        self.text((b.x0 + b.x1) / 2.0, H - 16.0, 13.0, "middle", x_title);
        let _ = writeln!(
            self.0,
            r#"<text x="20" y="{:.1}" font-size="13" text-anchor="middle" transform="rotate(-90 20 {:.1})">{}</text>"#,
            (b.y0 + b.y1) / 2.0,
            (b.y0 + b.y1) / 2.0,
            esc(y_label)
        );
        b
    }

    fn legend(&mut self, names: &[&str]) {
        for (i, name) in names.iter().enumerate() {
            let x = W - RIGHT - 150.0;
            let y = TOP + 10.0 + i as f64 * 18.0;
            let _ = writeln!(
                self.0,
                r#"<rect x="{x:.1}" y="{:.1}" width="14" height="10" fill="{}"/>"#,
                y - 9.0,
                COLOURS[i % COLOURS.len()]
            );
            self.text(x + 20.0, y, 12.0, "start", name);
        }
    }

    fn finish(mut self) -> String {
        self.0.push_str("</svg>\n");
        self.0
    }
}

fn format_tick(v: f64) -> String {
    if v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

struct PlotBox {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    top: f64,
    n: usize,
}

impl PlotBox {
    fn x(&self, i: usize) -> f64 {
        self.x0 + (self.x1 - self.x0) * (i as f64 + 0.5) / self.n as f64
    }
    fn y(&self, v: f64) -> f64 {
        self.y0 - (self.y0 - self.y1) * (v / self.top).clamp(0.0, 1.0)
    }
}

/// One throughput chart's data: values in scenario order, and per app a stat per value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Set-up.
    pub setup: String,
    /// Engine.
    pub engine: Engine,
    /// Scenario.
    pub scenario: String,
    /// Parameter name.
    pub param: String,
    /// The mmap runs' fate.
    pub fate: String,
    /// The x values in the order first seen.
    pub values: Vec<String>,
    /// App -> stat per value (None where not measured).
    pub apps: BTreeMap<App, Vec<Option<Stat>>>,
}

/// Groups successful rows into one series per set-up, engine and scenario.
pub fn series(rows: &[Row]) -> Vec<Series> {
    type Key = (String, Engine, String);
    let mut order: Vec<Key> = Vec::new();
    let mut out: BTreeMap<Key, Series> = BTreeMap::new();
    let mut samples: BTreeMap<(Key, App, String), Vec<f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == Status::Ok) {
        let Some(pps) = r.pps.filter(|p| p.is_finite()) else {
            continue;
        };
        let key = (r.setup.clone(), r.engine, r.scenario.clone());
        let s = out.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Series {
                setup: r.setup.clone(),
                engine: r.engine,
                scenario: r.scenario.clone(),
                param: r.param.clone(),
                fate: String::new(),
                values: Vec::new(),
                apps: BTreeMap::new(),
            }
        });
        if !s.values.contains(&r.value) {
            s.values.push(r.value.clone());
        }
        if r.app == App::Mmap && !s.fate.split('+').any(|f| f == r.fate.as_str()) {
            s.fate = if s.fate.is_empty() {
                r.fate.to_string()
            } else {
                format!("{}+{}", s.fate, r.fate)
            };
        }
        samples
            .entry((key, r.app, r.value.clone()))
            .or_default()
            .push(pps / 1000.0);
    }
    order
        .into_iter()
        .filter_map(|k| out.remove(&k))
        .map(|mut s| {
            for app in [App::Mmap, App::Udp, App::Xdp] {
                let stats: Vec<Option<Stat>> = s
                    .values
                    .iter()
                    .map(|v| {
                        samples
                            .get(&(
                                (s.setup.clone(), s.engine, s.scenario.clone()),
                                app,
                                v.clone(),
                            ))
                            .and_then(|x| stat(x.clone()))
                    })
                    .collect();
                if stats.iter().any(Option::is_some) {
                    s.apps.insert(app, stats);
                }
            }
            s
        })
        .collect()
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

/// The SVG of one throughput chart.
pub fn throughput_svg(s: &Series) -> String {
    let max = s
        .apps
        .values()
        .flatten()
        .flatten()
        .map(|st| st.max)
        .fold(0.0, f64::max);
    let (top, step) = nice_axis(max * 1.05);
    let reps = s
        .apps
        .values()
        .flatten()
        .flatten()
        .map(|st| st.n)
        .max()
        .unwrap_or(0);
    let mut svg = Svg::new(
        &format!("{} set-up, {} scenario", s.setup, s.scenario),
        &format!(
            "received packets per second, median of {reps} repetition(s), bars min-max; engine {}, mmap fate {}",
            s.engine, s.fate
        ),
    );
    let labels: Vec<String> = s.values.iter().map(|v| x_label(&s.param, v)).collect();
    let b = svg.axes(top, step, "throughput (kpps)", &labels, x_title(&s.param));
    let names: Vec<&str> = s.apps.keys().map(|a| a.as_str()).collect();
    for (ai, (_, stats)) in s.apps.iter().enumerate() {
        let colour = COLOURS[ai % COLOURS.len()];
        let offset = (ai as f64 - (s.apps.len() as f64 - 1.0) / 2.0) * 8.0;
        let pts: Vec<(f64, Stat)> = stats
            .iter()
            .enumerate()
            .filter_map(|(i, st)| st.map(|st| (b.x(i) + offset, st)))
            .collect();
        let path: Vec<String> = pts
            .iter()
            .map(|(x, st)| format!("{x:.1},{:.1}", b.y(st.median)))
            .collect();
        let _ = writeln!(
            svg.0,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            path.join(" ")
        );
        for (x, st) in pts {
            svg.line(x, b.y(st.min), x, b.y(st.max), colour, 1.5);
            svg.line(x - 4.0, b.y(st.min), x + 4.0, b.y(st.min), colour, 1.5);
            svg.line(x - 4.0, b.y(st.max), x + 4.0, b.y(st.max), colour, 1.5);
            let _ = writeln!(
                svg.0,
                r#"<circle cx="{x:.1}" cy="{:.1}" r="4" fill="{colour}"/>"#,
                b.y(st.median)
            );
        }
    }
    svg.legend(&names);
    svg.finish()
}

/// The SVG of the ratio chart: our mmap/udp ratio beside the thesis's, per set-up and scenario.
pub fn ratio_svg(rows: &[Row]) -> String {
    let r = ratios(rows);
    let max = r
        .iter()
        .flat_map(|x| [x.ours.map(|o| o.2), x.thesis])
        .flatten()
        .fold(1.0, f64::max);
    let (top, step) = nice_axis(max * 1.05);
    let fates: Vec<&str> = r
        .iter()
        .map(|x| x.fate.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut svg = Svg::new(
        "mmap / udp throughput ratio, ours beside the thesis's",
        &format!(
            "median over points (whiskers: min-max); mmap fate {}",
            fates.join(", ")
        ),
    );
    let labels: Vec<String> = r
        .iter()
        .map(|x| format!("{}\n{}", x.setup, x.scenario))
        .collect();
    let b = svg.axes(
        top,
        step,
        "mmap pps / udp pps",
        &labels,
        "set-up and scenario",
    );
    let one = b.y(1.0);
    svg.line(b.x0, one, b.x1, one, "#999", 1.0);
    let slot = (b.x1 - b.x0) / b.n as f64;
    let bw = (slot * 0.35).min(40.0);
    for (i, x) in r.iter().enumerate() {
        let cx = b.x(i);
        for (j, v) in [x.ours.map(|o| o.0), x.thesis].into_iter().enumerate() {
            let Some(v) = v else { continue };
            let left = cx + (j as f64 - 1.0) * bw;
            let _ = writeln!(
                svg.0,
                r#"<rect x="{left:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}" fill="{}"/>"#,
                b.y(v),
                b.y0 - b.y(v),
                COLOURS[j]
            );
        }
        if let Some((_, lo, hi)) = x.ours {
            let wx = cx - bw / 2.0;
            svg.line(wx, b.y(lo), wx, b.y(hi), "#222", 1.2);
        }
    }
    svg.legend(&["pktmmap (this machine)", "thesis (published)"]);
    svg.finish()
}

/// Rasterises an SVG to PNG with the system's fonts.
pub fn svg_to_png(svg: &str, path: &Path) -> Result<(), String> {
    use resvg::{tiny_skia, usvg};
    let mut opt = usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    if opt.fontdb.is_empty() {
        return Err("no system fonts found for PNG text: install fonts-dejavu-core".into());
    }
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| format!("SVG: {e}"))?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("empty chart")?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
        .save_png(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn slug(s: &str) -> String {
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

/// Writes every chart for `rows` into `dir/charts/` as SVG and PNG; returns the files written.
pub fn write_charts(rows: &[Row], dir: &Path) -> Result<Vec<PathBuf>, String> {
    let out = dir.join("charts");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut charts: Vec<(String, String)> = series(rows)
        .iter()
        .map(|s| {
            (
                format!(
                    "{}-{}-{}",
                    slug(&s.setup),
                    slug(s.engine.as_str()),
                    slug(&s.scenario)
                ),
                throughput_svg(s),
            )
        })
        .collect();
    if charts.is_empty() {
        return Err(format!("no successful runs to chart in {}", dir.display()));
    }
    charts.push(("ratio-vs-thesis".into(), ratio_svg(rows)));
    let mut written = Vec::new();
    for (name, svg) in charts {
        let svg_path = out.join(format!("{name}.svg"));
        std::fs::write(&svg_path, &svg)
            .map_err(|e| format!("cannot write {}: {e}", svg_path.display()))?;
        let png_path = out.join(format!("{name}.png"));
        svg_to_png(&svg, &png_path)?;
        written.push(svg_path);
        written.push(png_path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(scenario: &str, value: &str, app: App, pps: f64) -> Row {
        Row {
            setup: "native".into(),
            engine: Engine::Netns,
            scenario: scenario.into(),
            param: scenario.into(),
            value: value.into(),
            app,
            fate: super::super::kinds::Fate::Stack.for_app(app),
            pps: Some(pps),
            status: Status::Ok,
            ..Row::default()
        }
    }

    #[test]
    fn nice_axes_cover_the_data() {
        assert_eq!(nice_axis(612.0), (800.0, 200.0));
        let (top, step) = nice_axis(3.3);
        assert!(top >= 3.3 && step > 0.0 && (top / step).fract() == 0.0);
    }

    #[test]
    fn series_keep_value_order_and_repetition_spread() {
        let rows = vec![
            row("size", "64", App::Mmap, 500_000.0),
            row("size", "64", App::Mmap, 600_000.0),
            row("size", "64", App::Mmap, 700_000.0),
            row("size", "64", App::Udp, 400_000.0),
            row("size", "1024", App::Mmap, 300_000.0),
        ];
        let s = series(&rows);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].values, ["64", "1024"]);
        assert_eq!(
            s[0].apps[&App::Mmap][0],
            Some(Stat {
                median: 600.0,
                min: 500.0,
                max: 700.0,
                n: 3
            })
        );
        assert_eq!(s[0].apps[&App::Udp][1], None);
    }

    #[test]
    fn charts_are_written_as_svg_and_png() {
        let dir = std::env::temp_dir().join(format!("pktmmap-chart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rows = vec![
            row("size", "64", App::Mmap, 500_000.0),
            row("size", "64", App::Udp, 400_000.0),
            row("size", "1024", App::Mmap, 300_000.0),
            row("size", "1024", App::Udp, 100_000.0),
        ];
        let files = write_charts(&rows, &dir).unwrap();
        assert_eq!(files.len(), 4);
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            assert!(bytes.len() > 500, "{} is too small", f.display());
            match f.extension().and_then(|e| e.to_str()) {
                Some("png") => assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n"),
                _ => {
                    let text = String::from_utf8(bytes).unwrap();
                    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
                }
            }
        }
        let svg = std::fs::read_to_string(dir.join("charts/native-netns-size.svg")).unwrap();
        assert!(svg.contains("native set-up, size scenario") && svg.contains("mmap fate stack"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
