//! pktmmap measures how many packets per second Linux moves between network namespaces and
//! containers when applications use `packet_mmap` (AF_PACKET TPACKET rings shared with the
//! kernel), against plain UDP sockets.
//!
//! The architecture, bottom up:
//! - [`ring`]: the kernel rings (the only module with `unsafe`).
//! - [`wire`]: frames, the probe header and the parser for untrusted captured bytes.
//! - [`pace`]: rates and the send schedule.
//! - [`stats`]: receive accounting (loss, duplicates, reordering, latency).
//! - [`report`]: the summaries the tools print.
//! - [`net`]: interface facts and neighbour resolution.
//! - [`cli`]: exit codes, signals and other edges shared by the binaries.
//! - [`experiment`]: set-ups, scenario profiles, the runner, results and charts.
//! - [`inject`]: sending crafted frames, to test receivers against odd traffic.
#![deny(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations)]

pub mod cli;
pub mod experiment;
pub mod inject;
pub mod net;
pub mod pace;
pub mod report;
pub mod ring;
pub mod stats;
pub mod wire;

/// The UDP port the tools use unless told otherwise.
pub const DEFAULT_PORT: u16 = 9000;
