//! xdp-tx: send test datagrams through an AF_XDP socket (see `pktmmap::tool::xdp_tx`).
#![forbid(unsafe_code)]

use clap::Parser;
use pktmmap::report::TxSummary;
use pktmmap::tool::xdp_tx::{run, Args, TOOL};

fn main() {
    let args = Args::parse();
    pktmmap::cli::run_tool(TOOL, args.send.process.json, TxSummary::to_text, |stop| {
        run(&args, stop)
    });
}
