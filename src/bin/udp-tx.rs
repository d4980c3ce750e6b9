//! udp-tx: send test datagrams through an ordinary UDP socket (see `pktmmap::tool::udp_tx`).
#![forbid(unsafe_code)]

use clap::Parser;
use pktmmap::report::TxSummary;
use pktmmap::tool::udp_tx::{run, Args, TOOL};

fn main() {
    let args = Args::parse();
    pktmmap::cli::run_tool(TOOL, args.send.process.json, TxSummary::to_text, |stop| {
        run(&args, stop)
    });
}
