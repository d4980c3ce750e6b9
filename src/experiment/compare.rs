//! mmap/udp throughput ratios per set-up and scenario, beside the thesis's.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::results::Row;

/// The thesis's published results (its figures 6.2-6.24), kept in the repository as data.
pub const THESIS_CSV: &str = include_str!("../../experiments/thesis-results.csv");

/// The thesis's name for one of our set-ups, where it measured it.
pub fn thesis_topology(setup: &str) -> Option<&'static str> {
    match setup {
        "native" => Some("native"),
        "ovs" => Some("ovs-bridge"),
        "macvlan" => Some("macvlan-bridge"),
        "macvlan-trunk" => Some("macvlan-trunk"),
        _ => None,
    }
}

/// One published thesis point.
#[derive(Debug, Clone, PartialEq)]
pub struct ThesisPoint {
    /// `native`, `ovs-bridge`, `macvlan-bridge`, `macvlan-trunk`.
    pub topology: String,
    /// `count`, `rate`, `size`.
    pub scenario: String,
    /// The varied value (packets, Mbps or bytes).
    pub param: f64,
    /// mmap throughput, kpps.
    pub mmap_kpps: f64,
    /// UDP throughput, kpps.
    pub udp_kpps: f64,
}

/// The thesis's points.
pub fn thesis_points() -> Vec<ThesisPoint> {
    let mut r = csv::Reader::from_reader(THESIS_CSV.as_bytes());
    r.records()
        .filter_map(Result::ok)
        .filter_map(|rec| {
            Some(ThesisPoint {
                topology: rec.get(0)?.to_string(),
                scenario: rec.get(1)?.to_string(),
                param: rec.get(3)?.parse().ok()?,
                mmap_kpps: rec.get(12)?.parse().ok()?,
                udp_kpps: rec.get(13)?.parse().ok()?,
            })
        })
        .collect()
}

/// The median of `v` (NaN-free input), or `None` if empty.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// One line of the ratio table.
#[derive(Debug, Clone, PartialEq)]
pub struct Ratio {
    /// Set-up.
    pub setup: String,
    /// Engine (`netns`, `docker`).
    pub engine: String,
    /// Scenario.
    pub scenario: String,
    /// The mmap runs' receive-side fate(s).
    pub fate: String,
    /// Median over points of (median mmap pps / median udp pps), with min and max.
    pub ours: Option<(f64, f64, f64)>,
    /// Points with both apps measured.
    pub points: usize,
    /// Median over the thesis's points of mmap kpps / udp kpps.
    pub thesis: Option<f64>,
}

/// Ratios from successful rows, per set-up, engine and scenario.
pub fn ratios(rows: &[Row]) -> Vec<Ratio> {
    // (setup, engine, scenario) -> value -> app -> pps of every repetition
    type Key = (String, String, String);
    let mut by: BTreeMap<Key, BTreeMap<String, BTreeMap<String, Vec<f64>>>> = BTreeMap::new();
    let mut fates: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == "ok") {
        let Some(pps) = r.pps.filter(|p| p.is_finite() && *p > 0.0) else {
            continue;
        };
        let key = (r.setup.clone(), r.engine.clone(), r.scenario.clone());
        by.entry(key.clone())
            .or_default()
            .entry(r.value.clone())
            .or_default()
            .entry(r.app.clone())
            .or_default()
            .push(pps);
        if r.app == "mmap" {
            fates.entry(key).or_default().insert(r.fate.clone());
        }
    }
    let thesis = thesis_points();
    by.into_iter()
        .map(|(key, values)| {
            let mut per_point: Vec<f64> = values
                .into_values()
                .filter_map(|mut apps| {
                    let m = median(apps.get_mut("mmap")?)?;
                    let u = median(apps.get_mut("udp")?)?;
                    Some(m / u)
                })
                .collect();
            let points = per_point.len();
            let ours = median(&mut per_point).map(|m| (m, per_point[0], per_point[points - 1]));
            let mut th: Vec<f64> = thesis_topology(&key.0)
                .map(|t| {
                    thesis
                        .iter()
                        .filter(|p| p.topology == t && p.scenario == key.2)
                        .map(|p| p.mmap_kpps / p.udp_kpps)
                        .collect()
                })
                .unwrap_or_default();
            let fate = fates
                .get(&key)
                .map(|f| f.iter().cloned().collect::<Vec<_>>().join("+"))
                .unwrap_or_default();
            Ratio {
                setup: key.0,
                engine: key.1,
                scenario: key.2,
                fate,
                ours,
                points,
                thesis: median(&mut th),
            }
        })
        .collect()
}

/// The ratio table as text.
pub fn ratio_table(ratios: &[Ratio]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<14} {:<7} {:<9} {:<13} {:>26} {:>8}",
        "set-up", "engine", "scenario", "mmap fate", "mmap/udp ours (min-max)", "thesis"
    );
    for r in ratios {
        let ours = r
            .ours
            .map(|(m, lo, hi)| format!("{m:.2} ({lo:.2}-{hi:.2}, {} pts)", r.points))
            .unwrap_or_else(|| "-".into());
        let thesis = r
            .thesis
            .map(|t| format!("{t:.2}"))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "{:<14} {:<7} {:<9} {:<13} {:>26} {:>8}",
            r.setup, r.engine, r.scenario, r.fate, ours, thesis
        );
    }
    if ratios.iter().any(|r| r.fate.contains('+')) {
        let _ = writeln!(
            s,
            "warning: some set-ups mix mmap runs made under different receive-side fates"
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thesis_data_has_all_56_points() {
        let p = thesis_points();
        assert_eq!(p.len(), 56);
        let native_count: Vec<_> = p
            .iter()
            .filter(|p| p.topology == "native" && p.scenario == "count")
            .collect();
        assert_eq!(native_count.len(), 5);
        assert_eq!(native_count[0].mmap_kpps, 652.1);
    }

    fn row(setup: &str, scenario: &str, value: &str, app: &str, pps: f64) -> Row {
        Row {
            setup: setup.into(),
            engine: "netns".into(),
            scenario: scenario.into(),
            value: value.into(),
            app: app.into(),
            fate: if app == "mmap" { "stack" } else { "socket" }.into(),
            pps: Some(pps),
            status: "ok".into(),
            ..Row::default()
        }
    }

    #[test]
    fn ratios_are_medians_of_per_point_medians() {
        let rows = vec![
            row("native", "size", "64", "mmap", 300.0),
            row("native", "size", "64", "mmap", 100.0),
            row("native", "size", "64", "mmap", 200.0),
            row("native", "size", "64", "udp", 100.0),
            row("native", "size", "128", "mmap", 150.0),
            row("native", "size", "128", "udp", 100.0),
            row("native", "size", "256", "mmap", 400.0),
            row("native", "size", "256", "udp", 100.0),
            row("native", "size", "512", "mmap", 999.0), // no udp: not a point
            Row {
                status: "failed".into(),
                ..row("native", "size", "64", "udp", 1.0)
            },
        ];
        let r = ratios(&rows);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].points, 3);
        assert_eq!(r[0].ours, Some((2.0, 1.5, 4.0)));
        assert_eq!(r[0].fate, "stack");
        // The thesis's native size ratios are 3.35 3.05 2.34 2.30 2.18: median 280.3/119.8.
        assert!((r[0].thesis.unwrap() - 280.3 / 119.8).abs() < 1e-9);
        assert!(ratio_table(&r).contains("2.00 (1.50-4.00, 3 pts)"));
    }
}
