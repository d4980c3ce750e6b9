//! A results directory's rows as chart series: per set-up, engine and scenario, each app's
//! received rate (median, min, max) and loss at each value of the varied parameter, and the
//! rows' provenance (machine, kernel, commit) for a footer.

use std::collections::{BTreeMap, BTreeSet};

use crate::experiment::analysis::compare::offered_pps;
use crate::experiment::analysis::{stat, Stat};
use crate::experiment::plan::kinds::{setup_label, App, Engine, Family, Status};
use crate::experiment::rows::Row;

/// Loss above this share marks a point as lossy (drawn hollow).
pub const LOSSY: f64 = 0.01;

/// One app at one value: the received rate (kpps) over repetitions and the median loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Received kpps: median, min, max over repetitions.
    pub kpps: Stat,
    /// Median share of the sent packets that was lost (0..=1).
    pub loss: f64,
}

/// One throughput chart's data.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Set-up.
    pub setup: String,
    /// The IP version of the test traffic.
    pub family: Family,
    /// Engine.
    pub engine: Engine,
    /// Scenario.
    pub scenario: String,
    /// Parameter name.
    pub param: String,
    /// The mmap runs' fate.
    pub fate: String,
    /// The datapath(s).
    pub datapath: String,
    /// The x values in the order first seen.
    pub values: Vec<String>,
    /// The offered rate per value, kpps (none for max).
    pub offered: Vec<Option<f64>>,
    /// App -> point per value (None where not measured).
    pub apps: BTreeMap<App, Vec<Option<Point>>>,
}

impl Series {
    /// The set-up's name with its family (see [`setup_label`]).
    pub fn label(&self) -> String {
        setup_label(&self.setup, self.family)
    }
}

/// Groups successful rows into one series per set-up, family, engine and scenario.
pub fn series(rows: &[Row]) -> Vec<Series> {
    type Key = (String, Family, Engine, String);
    let mut order: Vec<Key> = Vec::new();
    let mut out: BTreeMap<Key, Series> = BTreeMap::new();
    // (series, app, value) -> (received kpps, loss share) of every repetition
    type Samples = (Vec<f64>, Vec<f64>);
    let mut samples: BTreeMap<(Key, App, String), Samples> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == Status::Ok) {
        let Some(pps) = r.pps.filter(|p| p.is_finite()) else {
            continue;
        };
        let key = (r.setup.clone(), r.family, r.engine, r.scenario.clone());
        let s = out.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Series {
                setup: r.setup.clone(),
                family: r.family,
                engine: r.engine,
                scenario: r.scenario.clone(),
                param: r.param.clone(),
                fate: String::new(),
                datapath: String::new(),
                values: Vec::new(),
                offered: Vec::new(),
                apps: BTreeMap::new(),
            }
        });
        if !s.values.contains(&r.value) {
            s.values.push(r.value.clone());
            s.offered.push(offered_pps(r).map(|p| p / 1000.0));
        }
        if r.app == App::Mmap {
            add_distinct(&mut s.fate, r.fate.as_str());
        }
        add_distinct(&mut s.datapath, &r.datapath);
        let sent = r.sent.unwrap_or(r.count).max(1) as f64;
        let e = samples.entry((key, r.app, r.value.clone())).or_default();
        e.0.push(pps / 1000.0);
        e.1.push(r.lost.unwrap_or(0) as f64 / sent);
    }
    order
        .into_iter()
        .filter_map(|k| out.remove(&k))
        .map(|mut s| {
            for app in App::ALL {
                let points: Vec<Option<Point>> = s
                    .values
                    .iter()
                    .map(|v| {
                        let key = (s.setup.clone(), s.family, s.engine, s.scenario.clone());
                        let (kpps, loss) = samples.get(&(key, app, v.clone()))?;
                        Some(Point {
                            kpps: stat(kpps.clone())?,
                            loss: stat(loss.clone())?.median,
                        })
                    })
                    .collect();
                if points.iter().any(Option::is_some) {
                    s.apps.insert(app, points);
                }
            }
            s
        })
        .collect()
}

/// Adds `v` to a `+`-joined list of distinct values.
fn add_distinct(list: &mut String, v: &str) {
    if v.is_empty() || list.split('+').any(|f| f == v) {
        return;
    }
    if !list.is_empty() {
        list.push('+');
    }
    list.push_str(v);
}

/// Which machine, kernel and commit made `rows`, for a chart's footer.
pub fn provenance(rows: &[Row]) -> String {
    let set = |f: fn(&Row) -> &str| -> Vec<String> {
        rows.iter()
            .map(f)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let cpus = set(|r| r.cpu_model.as_str());
    let kernels = set(|r| r.kernel.as_str());
    let commits = set(|r| r.git_commit.as_str());
    let versions = set(|r| r.tool_version.as_str());
    let one = |v: &[String], what: &str| match v.len() {
        0 => format!("{what} unknown"),
        1 => v[0].clone(),
        n => format!("{n} {what}s"),
    };
    format!(
        "{} | kernel {} | pktmmap {} commit {}",
        one(&cpus, "CPU"),
        one(&kernels, "kernel"),
        one(&versions, "version"),
        one(
            &commits
                .iter()
                .map(|c| c.chars().take(10).collect())
                .collect::<Vec<_>>(),
            "commit"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::plan::kinds::Fate;

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
            requested_rate: "500Mbps".into(),
            status: Status::Ok,
            ..Row::default()
        }
    }

    #[test]
    fn series_keep_value_order_repetition_spread_loss_and_the_offered_rate() {
        let mut rows = vec![
            row("size", "64", App::Mmap, 500_000.0),
            row("size", "64", App::Mmap, 600_000.0),
            row("size", "64", App::Mmap, 700_000.0),
            row("size", "64", App::Udp, 400_000.0),
            row("size", "1024", App::Mmap, 300_000.0),
        ];
        rows[3].lost = Some(710);
        let s = series(&rows);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].values, ["64", "1024"]);
        let p = s[0].apps[&App::Mmap][0].unwrap();
        assert_eq!(
            p.kpps,
            Stat {
                median: 600.0,
                min: 500.0,
                max: 700.0,
                n: 3
            }
        );
        assert_eq!(s[0].apps[&App::Udp][0].unwrap().loss, 0.71);
        assert_eq!(s[0].apps[&App::Udp][1], None);
        // 500 Mbit/s of 106-byte frames.
        assert!((s[0].offered[0].unwrap() - 589.6).abs() < 0.1);
        assert_eq!(s[0].datapath, "veth");
    }
}
