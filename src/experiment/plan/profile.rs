//! Scenario profiles: data files (`experiments/scenarios/*.toml`) expanded into run points.

use crate::experiment::Error;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::pace::Rate;
use crate::wire::PROBE_LEN;

/// The parameter a scenario varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Param {
    /// Packets per run.
    Count,
    /// Transmit rate.
    Rate,
    /// UDP payload size.
    Size,
    /// Flows: the sender's source ports (`--flows`).
    Flows,
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Param::Count => "count",
            Param::Rate => "rate",
            Param::Size => "size",
            Param::Flows => "flows",
        })
    }
}

/// One scenario as written in a profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Its name (`count`, `rate`, `size`).
    pub name: String,
    /// The parameter varied.
    pub vary: Param,
    /// The values it takes, in order.
    pub values: Vec<String>,
    /// Packets per run, unless varied.
    pub count: Option<u64>,
    /// UDP payload bytes, unless varied.
    pub size: Option<usize>,
    /// Transmit rate, unless varied.
    pub rate: Option<String>,
    /// Flows (source ports) of the sender, unless varied; default 1.
    pub flows: Option<u32>,
}

impl Scenario {
    /// `param` at the point whose value is `v`: `v` itself where the scenario varies `param`,
    /// the scenario's fixed setting otherwise.
    fn setting<T: std::str::FromStr>(
        &self,
        param: Param,
        v: &str,
        fixed: Option<T>,
    ) -> Result<T, Error> {
        if self.vary == param {
            v.parse().map_err(|_| {
                Error::Request(format!(
                    "scenario {}: {param} {v:?} is not a number",
                    self.name
                ))
            })
        } else {
            fixed.ok_or_else(|| Error::Request(format!("scenario {} needs a {param}", self.name)))
        }
    }
}

/// A profile: scenarios and how often to repeat them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// One line on what it is for.
    pub description: String,
    /// Repetitions of every point.
    pub repetitions: u32,
    /// The scenarios.
    #[serde(rename = "scenario")]
    pub scenarios: Vec<Scenario>,
}

/// One fully specified run configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Scenario name.
    pub scenario: String,
    /// The parameter varied.
    pub param: Param,
    /// The value it has here, as written.
    pub value: String,
    /// Packets.
    pub count: u64,
    /// UDP payload bytes (a size mix's mean, rounded).
    pub size: usize,
    /// A size mix the sender follows instead of one size (the search's `imix`).
    pub size_mix: Option<crate::wire::SizeMix>,
    /// Transmit rate.
    pub rate: Rate,
    /// Flows: the sender spreads its datagrams over this many source ports.
    pub flows: u16,
}

impl Profile {
    /// The file of profile `name`: a path as given, or `experiments/scenarios/NAME.toml`.
    pub fn path(experiments: &Path, name: &str) -> std::path::PathBuf {
        if name.ends_with(".toml") || name.contains('/') {
            std::path::PathBuf::from(name)
        } else {
            experiments.join("scenarios").join(format!("{name}.toml"))
        }
    }

    /// Reads and checks a profile file. A profile that does not exist is the user's error
    /// (exit 2), named with the profiles there are.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Error::io("read profile", path)(e);
            }
            let known: Vec<String> = path
                .parent()
                .and_then(|d| std::fs::read_dir(d).ok())
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|f| {
                    let name = f.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".toml").map(str::to_string)
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            Error::Request(format!(
                "no profile {} (there: {})",
                path.display(),
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ))
        })?;
        Self::parse(&text).map_err(|e| Error::Request(format!("profile {}: {e}", path.display())))
    }

    /// Parses and checks a profile's TOML (untrusted: an error, never a panic; fuzzed). A
    /// syntax error is one line: where, and what.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let p: Profile = toml::from_str(text).map_err(|e| {
            let what = e.message().trim();
            match e.span() {
                Some(span) => {
                    let before = &text.as_bytes()[..span.start.min(text.len())];
                    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
                    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
                    Error::Request(format!("line {line}, column {column}: {what}"))
                }
                None => Error::Request(what.to_string()),
            }
        })?;
        p.points()?;
        Ok(p)
    }

    /// Every point of every scenario, in file order.
    pub fn points(&self) -> Result<Vec<Point>, Error> {
        let mut out = Vec::new();
        for s in &self.scenarios {
            if s.values.is_empty() {
                return Err(Error::Request(format!("scenario {} has no values", s.name)));
            }
            for v in &s.values {
                let count = s.setting(Param::Count, v, s.count)?;
                let size = s.setting(Param::Size, v, s.size)?;
                let rate_text = s.setting(Param::Rate, v, s.rate.clone())?;
                let flows = s.setting(Param::Flows, v, Some(s.flows.unwrap_or(1)))?;
                let flows = crate::wire::check_flows(flows, crate::DEFAULT_PORT + 1)
                    .map_err(|e| Error::Request(format!("scenario {}: {e}", s.name)))?;
                let rate = rate_text
                    .parse::<Rate>()
                    .map_err(|e| Error::Request(format!("scenario {}: {e}", s.name)))?;
                if count == 0 || size < PROBE_LEN {
                    return Err(Error::Request(format!(
                        "scenario {}: count must be > 0 and size >= {PROBE_LEN}",
                        s.name
                    )));
                }
                out.push(Point {
                    scenario: s.name.clone(),
                    param: s.vary,
                    value: v.clone(),
                    count,
                    size,
                    size_mix: None,
                    rate,
                    flows,
                });
            }
        }
        if self.repetitions == 0 {
            return Err(Error::Request("repetitions must be at least 1".into()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str) -> Profile {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("experiments/scenarios")
            .join(format!("{name}.toml"));
        Profile::load(&path).unwrap()
    }

    #[test]
    fn the_thesis_profile_has_exactly_the_thesis_values() {
        let p = profile("thesis");
        assert_eq!(p.repetitions, 3);
        let pts = p.points().unwrap();
        let of = |s: &str| {
            pts.iter()
                .filter(|p| p.scenario == s)
                .cloned()
                .collect::<Vec<_>>()
        };
        let count = of("count");
        assert_eq!(
            count.iter().map(|p| p.count).collect::<Vec<_>>(),
            [2_000_000, 4_000_000, 6_000_000, 8_000_000, 10_000_000]
        );
        assert!(count
            .iter()
            .all(|p| p.size == 64 && p.rate == Rate::BitsPerSecond(500_000_000)));
        let rate = of("rate");
        assert_eq!(
            rate.iter().map(|p| p.rate).collect::<Vec<_>>(),
            [200, 400, 600, 800]
                .map(|m| Rate::BitsPerSecond(m * 1_000_000))
                .into_iter()
                .chain([Rate::Max])
                .collect::<Vec<_>>()
        );
        assert!(rate.iter().all(|p| p.count == 1_000_000 && p.size == 64));
        let size = of("size");
        assert_eq!(
            size.iter().map(|p| p.size).collect::<Vec<_>>(),
            [64, 128, 256, 512, 1024]
        );
        assert!(size
            .iter()
            .all(|p| p.count == 1_000_000 && p.rate == Rate::BitsPerSecond(500_000_000)));
    }

    #[test]
    fn default_and_quick_have_the_same_shape() {
        for name in ["default", "quick"] {
            let pts = profile(name).points().unwrap();
            for s in ["count", "rate", "size"] {
                assert!(pts.iter().any(|p| p.scenario == s), "{name} lacks {s}");
            }
            assert!(
                pts.iter().any(|p| p.rate == Rate::Max),
                "{name} lacks a max point"
            );
        }
    }

    #[test]
    fn a_flows_scenario_varies_the_senders_source_ports_and_refuses_zero() {
        let text = |values: &str| {
            format!(
                "name = \"f\"\ndescription = \"f\"\nrepetitions = 1\n[[scenario]]\nname = \"flows\"\nvary = \"flows\"\nvalues = [{values}]\ncount = 1000\nsize = 64\nrate = \"max\"\n"
            )
        };
        let p = Profile::parse(&text("\"1\", \"4096\"")).unwrap();
        let pts = p.points().unwrap();
        assert_eq!(pts.iter().map(|p| p.flows).collect::<Vec<_>>(), [1, 4096]);
        assert_eq!(pts[1].param, Param::Flows);
        for bad in ["\"0\"", "\"70000\"", "\"many\""] {
            let e = Profile::parse(&text(bad)).unwrap_err();
            assert!(
                e.is_request() && e.to_string().contains("scenario flows"),
                "{bad}: {e}"
            );
        }
        // Elsewhere one flow, unless the scenario says.
        assert!(profile("quick")
            .points()
            .unwrap()
            .iter()
            .all(|p| p.flows == 1));
    }

    #[test]
    fn bad_profiles_say_what_is_wrong() {
        let bad = r#"name = "x"
description = "x"
repetitions = 1
[[scenario]]
name = "rate"
vary = "rate"
values = ["fast"]
count = 10
size = 64
"#;
        let p: Profile = toml::from_str(bad).unwrap();
        let e = p.points().unwrap_err();
        assert!(
            e.is_request() && e.to_string().contains("cannot parse rate"),
            "{e}"
        );
    }
}
