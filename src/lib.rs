//! pktmmap measures how many packets per second Linux moves between network namespaces and
//! containers when applications use `packet_mmap` (AF_PACKET TPACKET rings shared with the
//! kernel), against plain UDP sockets.
//!
//! The architecture, bottom up:
//! - [`exit`]: the exit-code vocabulary (kinds of failure), imported by every layer.
//! - [`sys`]: typed system calls (with the ring views, the only code with `unsafe`).
//! - [`ring`]: the TPACKET rings shared with the kernel, configured from the interface.
//! - [`xdp`]: AF_XDP sockets (UMEM and rings shared with the kernel) and the XDP program.
//! - [`wire`]: frames, the probe header and the parser for untrusted captured bytes.
//! - [`pace`]: rates and the send schedule.
//! - [`stats`]: receive accounting (loss, duplicates, reordering, latency).
//! - [`engine`]: the sender and receiver engines over a backend trait, and classification.
//! - [`backend`]: the packet I/O methods plugged into the engines (mmap rings, UDP sockets,
//!   AF_XDP).
//! - [`report`]: the summaries the tools print.
//! - [`netlink`]: netlink dumps and length-checked walkers over their messages.
//! - [`net`]: interface facts, neighbour resolution and the kernel's drop counters.
//! - [`process`]: signals, capabilities, pinning, CPU accounting, the probe clock.
//! - [`cli`]: the tools' shared options, exit codes and output.
//! - [`tool`]: each tool's options and its one call; the binaries parse and call.
//! - [`inject`]: sending crafted frames, to test receivers against odd traffic.
//! - [`pcap`]: captures written off the hot path (`mmap-rx --write`) and replayed.
//! - [`experiment`]: set-ups, scenario profiles, the runner, results and charts.
#![deny(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations)]

pub mod backend;
pub mod cli;
pub mod engine;
pub mod exit;
pub mod experiment;
pub mod inject;
pub mod net;
pub mod netlink;
pub mod pace;
pub mod pcap;
pub mod process;
pub mod report;
pub mod ring;
pub mod stats;
pub mod sys;
pub mod tool;
pub mod wire;
pub mod xdp;

/// The UDP port the tools use unless told otherwise.
pub const DEFAULT_PORT: u16 = 9000;
