//! xdp-rx: count test datagrams from an AF_XDP socket fed by an XDP program (see `pktmmap::tool::xdp_rx`).
#![forbid(unsafe_code)]

use clap::Parser;
use pktmmap::report::RxSummary;
use pktmmap::tool::xdp_rx::{run, Args, TOOL};

fn main() {
    let args = Args::parse();
    pktmmap::cli::run_tool(TOOL, args.recv.process.json, RxSummary::to_text, |stop| {
        run(&args, stop)
    });
}
