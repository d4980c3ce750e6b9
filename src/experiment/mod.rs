//! Experiments: network set-ups, scenario profiles, the runner, the results CSV, the
//! comparison with the thesis, and charts.
//!
//! - [`error`]: the one error type, whose variant picks the runner's exit code.
//! - [`kinds`]: app, fate, engine and status, as the rows record them.
//! - [`lock`]: one measurement per host (the set-up lock).
//! - [`launch`]: where a tool runs (netns, docker), typed command lines, ready, signals.
//! - [`analysis`]: medians and spreads for tables, charts and the benchmark report.
//! - [`setup`]: the set-up scripts in `experiments/setups/` (up, down, env).
//! - [`profile`]: scenario profiles in `experiments/scenarios/` expanded into points.
//! - [`run`]: one measured run of one app at one point.
//! - [`runner`]: every set-up x point x repetition x app, a CSV row each.
//! - [`results`]: the CSV schema and the append-only results file.
//! - [`compare`]: mmap/udp ratios beside the thesis's published ones.
//! - [`chart`]: SVG and PNG charts of a results directory.
//! - [`html_report`]: one self-contained `report.html` per results directory.
//! - [`bench`]: the side-by-side benchmark against trafgen, iperf3 and the UDP baseline.

pub mod analysis;
pub mod bench;
pub mod chart;
pub mod compare;
pub mod error;
pub mod html_report;
pub mod kinds;
pub mod launch;
pub mod lock;
pub mod profile;
pub mod results;
pub mod run;
pub mod runner;
pub mod setup;

pub use error::Error;
