//! Experiments: the runner, the benchmark and everything around them, in folders by concern.
//!
//! - [`error`]: the one error type, whose variant picks the runner's exit code.
//! - [`plan`]: what to run: apps, fates, engines and statuses as types, the registry of
//!   apps and their tools, scenario profiles expanded into points.
//! - [`place`]: where tools run and how they are supervised: places (netns, container),
//!   typed command lines, the tools' JSON-lines protocol, process supervision, the
//!   receive-side fate rules, the set-up scripts, the host lock and host facts.
//! - [`rows`]: rows and files: the results and interval CSV schemas, the append-only
//!   results file and its readers.
//! - [`analysis`]: medians, spreads, the ratios beside the thesis, chart series.
//! - [`render`]: SVG/PNG charts, the HTML report (given rows: they never read a file or
//!   spawn a process).
//! - [`run`]: one measured run of one app at one point, and the runner over every set-up
//!   x point x repetition x app; the `pktmmap` subcommands' work.
//! - [`bench`]: the side-by-side benchmark against trafgen, iperf3, DPDK and the UDP
//!   baseline.
//! - [`search`]: NDR/PDR search (RFC 2544, MLRsearch): the search goals and presets, the
//!   pure search over trial results, and the trials run through [`run::point`].

pub mod analysis;
pub mod bench;
pub mod error;
pub mod place;
pub mod plan;
pub mod render;
pub mod rows;
pub mod run;
pub mod search;

pub use error::Error;
