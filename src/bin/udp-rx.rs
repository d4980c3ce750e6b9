//! udp-rx: count test datagrams from an ordinary UDP socket (see `pktmmap::tool::udp_rx`).
#![forbid(unsafe_code)]

use clap::Parser;
use pktmmap::report::RxSummary;
use pktmmap::tool::udp_rx::{run, Args, TOOL};

fn main() {
    let args = Args::parse();
    pktmmap::cli::run_tool(TOOL, args.recv.process.json, RxSummary::to_text, |stop| {
        run(&args, stop)
    });
}
