//! mmap-rx: count test datagrams from a TPACKET_V3 RX ring (see `pktmmap::tool::mmap_rx`).
#![forbid(unsafe_code)]

use clap::Parser;
use pktmmap::report::RxSummary;
use pktmmap::tool::mmap_rx::{run, Args, TOOL};

fn main() {
    let args = Args::parse();
    pktmmap::cli::run_tool(TOOL, args.recv.process.json, RxSummary::to_text, |stop| {
        run(&args, stop)
    });
}
