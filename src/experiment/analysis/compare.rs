//! mmap/udp throughput ratios per set-up and scenario, beside the thesis's.

use crate::experiment::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::experiment::analysis::median;
use crate::experiment::plan::apps::APPS;
use crate::experiment::plan::kinds::{setup_label, App, Engine, Family, Fate, Status};
use crate::experiment::rows::Row;

/// The thesis's published results (its figures 6.2-6.24), kept in the repository as data.
pub const THESIS_CSV: &str = include_str!("../../../experiments/thesis-results.csv");

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

/// A ratio over points: median, min, max, and how many points.
pub type Spread = (f64, f64, f64, usize);

/// One line of the ratio table.
#[derive(Debug, Clone, PartialEq)]
pub struct Ratio {
    /// Set-up.
    pub setup: String,
    /// The IP version of the test traffic.
    pub family: Family,
    /// Engine (`netns`, `docker`).
    pub engine: Engine,
    /// Scenario.
    pub scenario: String,
    /// The mmap runs' receive-side fate(s).
    pub fate: String,
    /// Median over points of (median mmap pps / median udp pps), with min and max.
    pub ours: Option<(f64, f64, f64)>,
    /// Points with both apps measured.
    pub points: usize,
    /// The same for xdp against udp, where xdp ran: median, min, max, points.
    pub xdp: Option<(f64, f64, f64, usize)>,
    /// Points left out of `xdp` because xdp or udp lost more than [`LOSSY_SHARE`].
    pub xdp_lossy: usize,
    /// Median over the thesis's points of mmap kpps / udp kpps.
    pub thesis: Option<f64>,
    /// The rows' `emulated` marker (`tcg`), empty for real machines: groups never mix them.
    pub emulated: String,
    /// Our datapath(s) (`veth`, `ovs-netdev`, ...): the thesis's OVS was the kernel's.
    pub datapath: String,
    /// Points left out of `ours` because both mmap and udp reached the offered rate: their
    /// ratio is 1 by construction and says nothing about either.
    pub capped: usize,
    /// Points left out of `ours` because mmap or udp lost more than [`LOSSY_SHARE`] of what
    /// was offered: the rate of what survived is not a throughput, and reading it as one made
    /// a path that lost most of mmap's packets look faster for mmap.
    pub lossy: usize,
    /// Each bypass app against the strongest socket path (`udp-gso`), where both ran:
    /// (median, min, max, points) unless every point was left out, and the points left out as
    /// capped and as lossy.
    pub vs_best_socket: Vec<(App, Option<Spread>, usize, usize)>,
    /// The strongest socket path against plain UDP (`udp-gso`/`udp`), where both ran: its
    /// spread unless every point was left out, and its capped and lossy points.
    pub best_over_plain: Option<(Option<Spread>, usize, usize)>,
}

/// A point is lossy, and left out of every ratio it would enter, when an app's median loss
/// exceeds this share of the datagrams offered: the PDR's loss ratio (FD.io CSIT's 0.5 %).
pub const LOSSY_SHARE: f64 = 0.005;

/// The offered rate of a row in packets per second (none when unpaced or unparseable): a bit
/// rate counts the frames of the row's family (IPv6's 40-byte header makes fewer of them).
pub fn offered_pps(r: &Row) -> Option<f64> {
    let rate: crate::pace::Rate = r.requested_rate.parse().ok()?;
    rate.packets_per_second(r.size + r.family.wire().frame_overhead())
}

/// A point is capped when every app's median reached this share of the offered rate.
pub const CAPPED_SHARE: f64 = 0.97;

/// Refuses rows made under software emulation unless `allow_emulated`: their rates say
/// nothing about speed (the guest harness without KVM), so no ratio is computed from them
/// unless the user asks, and then never together with other rows ([`ratios`] keeps them apart).
pub fn check_comparable(rows: &[Row], allow_emulated: bool) -> Result<(), Error> {
    let emulated = rows.iter().filter(|r| !r.emulated.is_empty()).count();
    if emulated == 0 || allow_emulated {
        return Ok(());
    }
    Err(Error::Request(format!(
        "{emulated} of {} rows ran under software emulation ({}): their rates say nothing about speed; pass --emulated to compare them anyway (they are never grouped with other rows)",
        rows.len(),
        rows.iter()
            .find(|r| !r.emulated.is_empty())
            .map_or("", |r| r.emulated.as_str())
    )))
}

/// Like [`check_comparable`] for charts, which draw a set-up's rows together: a directory
/// mixing emulated rows with others is refused even when emulated rows are allowed.
pub fn check_chartable(rows: &[Row], allow_emulated: bool) -> Result<(), Error> {
    check_comparable(rows, allow_emulated)?;
    let emulated = rows.iter().filter(|r| !r.emulated.is_empty()).count();
    if emulated > 0 && emulated < rows.len() {
        return Err(Error::Request(format!(
            "{emulated} of {} rows ran under software emulation and the rest did not: one chart would draw them together; keep guest runs in a directory of their own",
            rows.len()
        )));
    }
    Ok(())
}

impl Ratio {
    /// The set-up's name with its family (see [`setup_label`]).
    pub fn label(&self) -> String {
        setup_label(&self.setup, self.family)
    }
}

/// Ratios from successful rows, per set-up, family, engine and scenario.
pub fn ratios(rows: &[Row]) -> Vec<Ratio> {
    // (setup, engine, scenario, emulated, family) -> value -> app -> pps of every repetition
    type Key = (String, Engine, String, String, Family);
    let mut by: BTreeMap<Key, BTreeMap<String, BTreeMap<App, Vec<f64>>>> = BTreeMap::new();
    let mut fates: BTreeMap<Key, BTreeSet<Fate>> = BTreeMap::new();
    let mut datapaths: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    let mut offered: BTreeMap<(Key, String), f64> = BTreeMap::new();
    // (key, value, app) -> loss share of every repetition
    let mut losses: BTreeMap<(Key, String, App), Vec<f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == Status::Ok) {
        let Some(pps) = r.pps.filter(|p| p.is_finite() && *p > 0.0) else {
            continue;
        };
        let key = (
            r.setup.clone(),
            r.engine,
            r.scenario.clone(),
            r.emulated.clone(),
            r.family,
        );
        if let Some(o) = offered_pps(r) {
            offered.insert((key.clone(), r.value.clone()), o);
        }
        if let (Some(lost), true) = (r.lost, r.count > 0) {
            losses
                .entry((key.clone(), r.value.clone(), r.app))
                .or_default()
                .push(lost as f64 / r.count as f64);
        }
        datapaths
            .entry(key.clone())
            .or_default()
            .insert(r.datapath.clone());
        by.entry(key.clone())
            .or_default()
            .entry(r.value.clone())
            .or_default()
            .entry(r.app)
            .or_default()
            .push(pps);
        if r.app == App::Mmap {
            fates.entry(key).or_default().insert(r.fate);
        }
    }
    let thesis = thesis_points();
    by.into_iter()
        .map(|(key, values)| {
            // Per point, the app's median over the base app's median; then their median and
            // spread. A point where both reached the offered rate is left out (its ratio is 1
            // by construction) and counted as capped.
            // Per point: the offered rate, and each app's median rate and median loss share.
            type PointMedians = (Option<f64>, BTreeMap<App, (f64, f64)>);
            let medians: Vec<PointMedians> = values
                .into_iter()
                .map(|(value, apps)| {
                    let o = offered.get(&(key.clone(), value.clone())).copied();
                    let m = apps
                        .into_iter()
                        .filter_map(|(app, mut v)| {
                            let loss = losses
                                .get(&(key.clone(), value.clone(), app))
                                .and_then(|l| median(&mut l.clone()))
                                .unwrap_or(0.0);
                            Some((app, (median(&mut v)?, loss)))
                        })
                        .collect();
                    (o, m)
                })
                .collect();
            // (spread, capped points, lossy points) of `app` against `base`.
            let against = |app: App, base: App| {
                let (mut capped, mut lossy) = (0, 0);
                let mut per_point: Vec<f64> = Vec::new();
                for (offered, apps) in &medians {
                    let (Some(&(a, a_loss)), Some(&(b, b_loss))) =
                        (apps.get(&app), apps.get(&base))
                    else {
                        continue;
                    };
                    if a_loss > LOSSY_SHARE || b_loss > LOSSY_SHARE {
                        lossy += 1;
                    } else if offered
                        .is_some_and(|o| a >= CAPPED_SHARE * o && b >= CAPPED_SHARE * o)
                    {
                        capped += 1;
                    } else {
                        per_point.push(a / b);
                    }
                }
                let n = per_point.len();
                let r = median(&mut per_point).map(|m| (m, per_point[0], per_point[n - 1], n));
                (r, capped, lossy)
            };
            let (ours, capped, lossy) = against(App::Mmap, App::Udp);
            let (xdp, _, xdp_lossy) = against(App::Xdp, App::Udp);
            let vs_best_socket = APPS
                .iter()
                .filter(|a| a.bypass)
                .filter_map(|a| {
                    let (r, capped, lossy) = against(a.app, App::UdpGso);
                    (r.is_some() || capped + lossy > 0).then_some((a.app, r, capped, lossy))
                })
                .collect();
            let (plain, plain_capped, plain_lossy) = against(App::UdpGso, App::Udp);
            let best_over_plain = (plain.is_some() || plain_capped + plain_lossy > 0).then_some((
                plain,
                plain_capped,
                plain_lossy,
            ));
            let points = ours.map_or(0, |o| o.3);
            let ours = ours.map(|(m, lo, hi, _)| (m, lo, hi));
            // The thesis measured IPv4 only.
            let mut th: Vec<f64> = thesis_topology(&key.0)
                .filter(|_| key.4 == Family::V4)
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
                .map(|f| f.iter().map(|f| f.as_str()).collect::<Vec<_>>().join("+"))
                .unwrap_or_default();
            let datapath = datapaths
                .get(&key)
                .map(|d| d.iter().cloned().collect::<Vec<_>>().join("+"))
                .unwrap_or_default();
            Ratio {
                datapath,
                capped,
                lossy,
                xdp_lossy,
                setup: key.0,
                engine: key.1,
                scenario: key.2,
                fate,
                ours,
                points,
                xdp,
                thesis: median(&mut th),
                emulated: key.3,
                family: key.4,
                vs_best_socket,
                best_over_plain,
            }
        })
        .collect()
}

/// The width of the set-up column: its longest entry (with family and emulation marker), at
/// least 14, so that long names (`bridge-conntrack ipv6`) never shift the columns.
fn setup_width(ratios: &[Ratio]) -> usize {
    ratios
        .iter()
        .map(|r| {
            r.label().len()
                + if r.emulated.is_empty() {
                    0
                } else {
                    r.emulated.len() + 3
                }
        })
        .max()
        .unwrap_or(0)
        .max(14)
}

/// The ratio table as text.
pub fn ratio_table(ratios: &[Ratio]) -> String {
    let mut s = String::new();
    let w = setup_width(ratios);
    // The xdp column only where xdp ran.
    let with_xdp = ratios.iter().any(|r| r.xdp.is_some());
    let xdp_head = if with_xdp {
        "xdp/udp ours (min-max)"
    } else {
        ""
    };
    let head = format!(
        "{:<w$} {:<7} {:<9} {:<13} {:>37} {:>8} {:>26}",
        "set-up", "engine", "scenario", "mmap fate", "mmap/udp ours (min-max)", "thesis", xdp_head
    );
    let _ = writeln!(s, "{}", head.trim_end());
    let spread = |m: f64, lo: f64, hi: f64, n: usize| format!("{m:.2} ({lo:.2}-{hi:.2}, {n} pts)");
    for r in ratios {
        let ours = r
            .ours
            .map(|(m, lo, hi)| spread(m, lo, hi, r.points))
            .unwrap_or_else(|| "-".into());
        let ours = format!("{ours}{}", left_out(r.capped, r.lossy));
        let thesis = r
            .thesis
            .map(|t| format!("{t:.2}"))
            .unwrap_or_else(|| "-".into());
        let xdp = match (with_xdp, r.xdp) {
            (false, _) => String::new(),
            (true, Some((m, lo, hi, n))) => spread(m, lo, hi, n) + &left_out(0, r.xdp_lossy),
            (true, None) => format!("-{}", left_out(0, r.xdp_lossy)),
        };
        let setup = if r.emulated.is_empty() {
            r.label()
        } else {
            format!("{} [{}]", r.label(), r.emulated)
        };
        let line = format!(
            "{:<w$} {:<7} {:<9} {:<13} {:>37} {:>8} {:>26}",
            setup, r.engine, r.scenario, r.fate, ours, thesis, xdp
        );
        let _ = writeln!(s, "{}", line.trim_end());
    }
    if ratios.iter().any(|r| r.capped > 0) {
        let _ = writeln!(
            s,
            "+N capped: points where both apps reached the offered rate (ratio 1 by construction), left out"
        );
    }
    if ratios.iter().any(|r| r.lossy + r.xdp_lossy > 0) {
        let _ = writeln!(
            s,
            "+N lossy: points where an app lost more than {} % of what was offered (the PDR's loss ratio): the rate of what survived is no throughput, left out (pktmmap search gives such a path's NDR and PDR)",
            LOSSY_SHARE * 100.0
        );
    }
    if ratios
        .iter()
        .any(|r| r.setup == "ovs" && r.datapath.contains("netdev") && r.thesis.is_some())
    {
        let _ = writeln!(
            s,
            "ovs here is Open vSwitch's userspace datapath (ovs-netdev); the thesis used the kernel datapath"
        );
    }
    if ratios.iter().any(|r| r.fate.contains('+')) {
        let _ = writeln!(
            s,
            "warning: some set-ups mix mmap runs made under different receive-side fates"
        );
    }
    s.push_str(&best_socket_table(ratios));
    s
}

/// ` +N capped`, ` +N lossy`, both, or nothing: the points a ratio left out.
pub fn left_out(capped: usize, lossy: usize) -> String {
    let mut s = String::new();
    if capped > 0 {
        let _ = write!(s, " +{capped} capped");
    }
    if lossy > 0 {
        let _ = write!(s, " +{lossy} lossy");
    }
    s
}

/// The bypass apps that ran beside the strongest socket path (`udp-gso`) somewhere in
/// `ratios`: the columns of the best-socket table.
pub fn best_socket_apps(ratios: &[Ratio]) -> Vec<App> {
    APPS.iter()
        .filter(|a| a.bypass)
        .map(|a| a.app)
        .filter(|app| {
            ratios
                .iter()
                .any(|r| r.vs_best_socket.iter().any(|(a, ..)| a == app))
        })
        .collect()
}

/// The best-socket table's cells of one ratio line: each of `apps` against `udp-gso`, then
/// `udp-gso` against `udp`, as `median (min-max, N pts)` or `-`, followed by the points left
/// out (` +N capped`, ` +N lossy`).
pub fn best_socket_cells(r: &Ratio, apps: &[App]) -> Vec<String> {
    let cell = |v: Option<&Spread>, capped: usize, lossy: usize| {
        let value = v.map_or("-".to_string(), |(m, lo, hi, n)| {
            format!("{m:.2} ({lo:.2}-{hi:.2}, {n} pts)")
        });
        value + &left_out(capped, lossy)
    };
    let mut cells: Vec<String> = apps
        .iter()
        .map(
            |app| match r.vs_best_socket.iter().find(|(a, ..)| a == app) {
                Some((_, v, c, l)) => cell(v.as_ref(), *c, *l),
                None => cell(None, 0, 0),
            },
        )
        .collect();
    cells.push(match &r.best_over_plain {
        Some((v, c, l)) => cell(v.as_ref(), *c, *l),
        None => cell(None, 0, 0),
    });
    cells
}

/// The bypass apps against the strongest socket path (`udp-gso`), where it ran: a table of
/// its own under the thesis's.
fn best_socket_table(ratios: &[Ratio]) -> String {
    let bypass = best_socket_apps(ratios);
    if bypass.is_empty() && ratios.iter().all(|r| r.best_over_plain.is_none()) {
        return String::new();
    }
    let mut s = format!(
        "\nbypass or the best socket path? ({}: GSO super-packets and sendmmsg, GRO and recvmmsg)\n",
        App::UdpGso
    );
    let w = setup_width(ratios);
    let mut head = format!("{:<w$} {:<7} {:<9}", "set-up", "engine", "scenario");
    for app in &bypass {
        let _ = write!(head, " {:>40}", format!("{app}/{}", App::UdpGso));
    }
    let _ = write!(head, " {:>40}", format!("{}/{}", App::UdpGso, App::Udp));
    let _ = writeln!(s, "{head}");
    for r in ratios {
        let setup = if r.emulated.is_empty() {
            r.label()
        } else {
            format!("{} [{}]", r.label(), r.emulated)
        };
        let mut line = format!("{:<w$} {:<7} {:<9}", setup, r.engine, r.scenario);
        for c in best_socket_cells(r, &bypass) {
            let _ = write!(line, " {c:>40}");
        }
        let _ = writeln!(s, "{}", line.trim_end());
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

    fn row(setup: &str, scenario: &str, value: &str, app: App, pps: f64) -> Row {
        Row {
            setup: setup.into(),
            engine: Engine::Netns,
            scenario: scenario.into(),
            value: value.into(),
            app,
            fate: Fate::Stack.for_app(app),
            pps: Some(pps),
            status: Status::Ok,
            ..Row::default()
        }
    }

    #[test]
    fn families_are_ratioed_apart_and_the_thesis_stands_beside_ipv4_only() {
        let mut rows = Vec::new();
        for (family, mmap) in [(Family::V4, 300.0), (Family::V6, 200.0)] {
            for (app, pps) in [(App::Mmap, mmap), (App::Udp, 100.0)] {
                let mut r = row("native", "count", "10000", app, pps);
                r.family = family;
                rows.push(r);
            }
        }
        let r = ratios(&rows);
        assert_eq!(r.len(), 2, "{r:?}");
        let (v4, v6) = (&r[0], &r[1]);
        assert_eq!((v4.family, v4.ours.unwrap().0), (Family::V4, 3.0));
        assert_eq!((v6.family, v6.ours.unwrap().0), (Family::V6, 2.0));
        assert!(v4.thesis.is_some() && v6.thesis.is_none());
        let table = ratio_table(&r);
        assert!(
            table.lines().any(|l| l.starts_with("native ipv6 ")),
            "{table}"
        );
    }

    #[test]
    fn a_bit_rate_offers_fewer_ipv6_frames_and_reaching_them_is_capped() {
        // 100 Mbit/s of 64-byte payloads: 126-byte frames over IPv6 (99,206 pps), 106-byte
        // over IPv4 (117,925 pps). Both apps delivering the IPv6 rate reached what was offered.
        let mut rows = Vec::new();
        for app in [App::Mmap, App::Udp] {
            let mut r = row("native", "rate", "100Mbps", app, 99_200.0);
            r.requested_rate = "100Mbps".into();
            r.size = 64;
            r.family = Family::V6;
            rows.push(r);
        }
        let v6 = &ratios(&rows)[0];
        assert_eq!((v6.capped, v6.ours), (1, None));
        for r in &mut rows {
            r.family = Family::V4;
        }
        let v4 = &ratios(&rows)[0];
        assert_eq!((v4.capped, v4.points), (0, 1), "below IPv4's offered rate");
    }

    #[test]
    fn bypass_apps_are_set_against_the_best_socket_path_where_it_ran() {
        let mut rows = Vec::new();
        for (value, k) in [("64", 1.0), ("128", 2.0)] {
            rows.extend([
                row("native", "size", value, App::Mmap, 300.0 * k),
                row("native", "size", value, App::Udp, 100.0 * k),
                row("native", "size", value, App::UdpGso, 600.0 * k),
                row("native", "size", value, App::MmapGso, 900.0 * k),
            ]);
        }
        rows.push(row("bridge", "size", "64", App::Mmap, 300.0));
        rows.push(row("bridge", "size", "64", App::Udp, 100.0));
        let r = ratios(&rows);
        let native = r.iter().find(|r| r.setup == "native").unwrap();
        assert_eq!(
            native.ours.unwrap().0,
            3.0,
            "the thesis's ratio stays mmap/udp"
        );
        let best: Vec<(App, f64, usize)> = native
            .vs_best_socket
            .iter()
            .filter_map(|(a, v, ..)| Some((*a, v.as_ref()?.0, v.as_ref()?.3)))
            .collect();
        assert_eq!(best, [(App::Mmap, 0.5, 2), (App::MmapGso, 1.5, 2)]);
        assert_eq!(
            native.best_over_plain.and_then(|v| v.0).map(|s| s.0),
            Some(6.0)
        );
        let bridge = r.iter().find(|r| r.setup == "bridge").unwrap();
        assert!(bridge.vs_best_socket.is_empty() && bridge.best_over_plain.is_none());
        let table = ratio_table(&r);
        assert!(table.contains("bypass or the best socket path?"), "{table}");
        assert!(table.contains("mmap-gso/udp-gso"), "{table}");
        assert!(!table.contains("xdp/udp-gso"), "xdp did not run: {table}");
        let native_line = table
            .lines()
            .rev()
            .find(|l| l.starts_with("native"))
            .unwrap();
        assert!(
            native_line.contains("0.50 (0.50-0.50, 2 pts)")
                && native_line.contains("1.50 (1.50-1.50, 2 pts)")
                && native_line.contains("6.00 (6.00-6.00, 2 pts)"),
            "{native_line}"
        );
        // Without the socket path's GSO app there is no second table.
        assert!(!ratio_table(&ratios(&rows[8..])).contains("best socket path"));
        // Capping is judged per pair: at 100 Mbit/s (117,925 pps of 106-byte frames) both GSO
        // apps keep up, so their ratio is 1 by construction and left out; mmap does not, so
        // mmap/udp-gso keeps the point.
        let paced = |app, pps| Row {
            requested_rate: "100Mbps".into(),
            size: 64,
            ..row("native", "rate", "100Mbps", app, pps)
        };
        let rows = vec![
            paced(App::Mmap, 50_000.0),
            paced(App::Udp, 25_000.0),
            paced(App::UdpGso, 117_900.0),
            paced(App::MmapGso, 117_910.0),
        ];
        let r = &ratios(&rows)[0];
        assert_eq!((r.ours.map(|o| o.0), r.capped), (Some(2.0), 0));
        let by_app = |app| r.vs_best_socket.iter().find(|(a, ..)| *a == app).unwrap();
        assert_eq!(by_app(App::MmapGso).1, None, "only a capped point: {r:?}");
        assert_eq!(by_app(App::MmapGso).2, 1);
        let (_, mmap, capped, _) = by_app(App::Mmap);
        let mmap = mmap.unwrap();
        assert_eq!((mmap.3, *capped), (1, 0));
        assert!((mmap.0 - 50_000.0 / 117_900.0).abs() < 1e-9);
        assert!(ratio_table(&ratios(&rows)).contains("- +1 capped"));
    }

    #[test]
    fn a_point_where_an_app_lost_more_than_the_pdr_ratio_is_left_out_and_counted() {
        // OVS userspace as a default run saw it: mmap's survivors arrive faster than udp's,
        // but mmap lost 75 % of what was offered. That point must not read as "mmap 1.2x".
        let lossy = |app, pps, lost| Row {
            count: 1000,
            lost: Some(lost),
            ..row("ovs", "count", "1000", app, pps)
        };
        let mut rows = vec![
            lossy(App::Mmap, 120.0, 750),
            lossy(App::Udp, 100.0, 530),
            lossy(App::Xdp, 150.0, 0),
        ];
        // A second point where nothing was lost keeps its ratio; 5 of 1,000 (0.5 %) is not
        // above the PDR's ratio.
        rows.extend([
            Row {
                value: "2000".into(),
                ..lossy(App::Mmap, 300.0, 5)
            },
            Row {
                value: "2000".into(),
                ..lossy(App::Udp, 100.0, 0)
            },
            Row {
                value: "2000".into(),
                ..lossy(App::Xdp, 200.0, 0)
            },
        ]);
        let r = &ratios(&rows)[0];
        assert_eq!(
            (r.ours, r.points, r.lossy),
            (Some((3.0, 3.0, 3.0)), 1, 1),
            "{r:?}"
        );
        // xdp lost nothing, but udp did at the first point: left out of xdp/udp too.
        assert_eq!((r.xdp.map(|x| x.3), r.xdp_lossy), (Some(1), 1), "{r:?}");
        let table = ratio_table(&ratios(&rows));
        assert!(
            table.contains("3.00 (3.00-3.00, 1 pts) +1 lossy"),
            "{table}"
        );
        assert!(
            table.contains("+N lossy: points where an app lost more than 0.5 %"),
            "{table}"
        );
        // Only lossy points: no ratio at all, never a survivors' ratio.
        let r = &ratios(&rows[..3])[0];
        assert_eq!((r.ours, r.lossy), (None, 1));
        assert!(ratio_table(&ratios(&rows[..3])).contains("- +1 lossy"));
    }

    #[test]
    fn emulated_rows_are_refused_unless_asked_and_never_grouped_with_others() {
        let tcg = |app, pps| Row {
            emulated: "tcg".into(),
            ..row("ovs", "count", "100", app, pps)
        };
        let rows = vec![
            row("ovs", "count", "100", App::Mmap, 300.0),
            row("ovs", "count", "100", App::Udp, 100.0),
            tcg(App::Mmap, 5.0),
            tcg(App::Udp, 10.0),
        ];
        let refused = check_comparable(&rows, false).unwrap_err();
        assert!(refused.is_request(), "{refused}");
        let refused = refused.to_string();
        assert!(
            refused.contains("2 of 4 rows") && refused.contains("--emulated"),
            "{refused}"
        );
        assert!(check_comparable(&rows[..2], false).is_ok());
        assert!(check_comparable(&rows, true).is_ok());
        let r = ratios(&rows);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!((r[0].emulated.as_str(), r[0].ours.unwrap().0), ("", 3.0));
        assert_eq!((r[1].emulated.as_str(), r[1].ours.unwrap().0), ("tcg", 0.5));
        assert!(ratio_table(&r).contains("ovs [tcg]"));
        // Charts draw a set-up's rows together: mixed directories are refused outright.
        assert!(check_chartable(&rows, true)
            .unwrap_err()
            .to_string()
            .contains("directory of their own"));
        assert!(check_chartable(&rows[2..], true).is_ok());
        assert!(check_chartable(&rows[2..], false).is_err());
    }

    #[test]
    fn mixed_fates_are_named_and_warned_about() {
        let rows = vec![
            row("native", "size", "64", App::Mmap, 300.0),
            Row {
                fate: Fate::IngressDrop,
                ..row("native", "size", "64", App::Mmap, 500.0)
            },
            row("native", "size", "64", App::Udp, 100.0),
        ];
        let r = ratios(&rows);
        assert_eq!(r[0].fate, "stack+ingress-drop");
        let table = ratio_table(&r);
        assert!(
            table.contains("warning: some set-ups mix mmap runs"),
            "{table}"
        );
        assert!(!ratio_table(&ratios(&rows[..1])).contains("warning"));
    }

    #[test]
    fn ratios_are_medians_of_per_point_medians() {
        let rows = vec![
            row("native", "size", "64", App::Mmap, 300.0),
            row("native", "size", "64", App::Mmap, 100.0),
            row("native", "size", "64", App::Mmap, 200.0),
            row("native", "size", "64", App::Udp, 100.0),
            row("native", "size", "128", App::Mmap, 150.0),
            row("native", "size", "128", App::Udp, 100.0),
            row("native", "size", "256", App::Mmap, 400.0),
            row("native", "size", "256", App::Udp, 100.0),
            row("native", "size", "512", App::Mmap, 999.0), // no udp: not a point
            Row {
                status: Status::Failed,
                ..row("native", "size", "64", App::Udp, 1.0)
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
        assert!(
            !ratio_table(&r).contains("xdp"),
            "no xdp column without xdp runs"
        );
        // With xdp runs at two of the points, its column appears.
        let mut rows = rows;
        rows.push(row("native", "size", "64", App::Xdp, 500.0));
        rows.push(row("native", "size", "128", App::Xdp, 300.0));
        let r = ratios(&rows);
        assert_eq!(r[0].xdp, Some((4.0, 3.0, 5.0, 2)));
        let table = ratio_table(&r);
        assert!(
            table.contains("xdp/udp ours") && table.contains("4.00 (3.00-5.00, 2 pts)"),
            "{table}"
        );
    }
}
