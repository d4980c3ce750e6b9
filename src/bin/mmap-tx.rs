//! mmap-tx: send test datagrams through a packet_mmap TX ring (see `pktmmap::tool::mmap_tx`).
#![forbid(unsafe_code)]

use clap::Parser;
use pktmmap::report::TxSummary;
use pktmmap::tool::mmap_tx::{first_frame_hex, run, Args, TOOL};

fn main() {
    let args = Args::parse();
    if args.print_frame {
        match first_frame_hex(&args) {
            Ok(hex) => println!("{hex}"),
            Err(e) => e.exit(TOOL),
        }
        return;
    }
    pktmmap::cli::run_tool(TOOL, args.send.process.json, TxSummary::to_text, |stop| {
        run(&args, stop)
    });
}
