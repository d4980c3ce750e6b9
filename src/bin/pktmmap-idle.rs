//! pktmmap-idle: the main process of a tool container. It does nothing until SIGTERM or SIGINT,
//! so that `docker exec` can run the tools inside a running container whose image holds no
//! shell and no `sleep` (the image is `FROM scratch`). As PID 1 of a container it gets no
//! default signal actions: it waits for the stop signals explicitly, or `docker stop` would
//! wait out its timeout and kill it.
//!
//! Run by `docker exec` beside the tools, it is also how the runner signals them through the
//! engine, wherever the container runs (`docker exec` forwards no signal):
//! `pktmmap-idle signal SIGINT mmap-rx` (exit 1 if no such process) and
//! `pktmmap-idle catches-sigint mmap-rx` (exit 0 once every such process has its handler);
//! `pktmmap-idle iface-of 10.77.72.5` prints the interface holding that address (exit 1: none, or it cannot tell);
//! `pktmmap-idle link-drops` prints each interface of its network namespace with its transmit
//! drops (`NAME TX_DROPPED`, one per line; exit 1 if it cannot read them), which the runner
//! reads before and after a run on each side of the path.
#![forbid(unsafe_code)]

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use pktmmap::process::{catches_sigint, pids_named, signal_named};

const USAGE: &str = "usage: pktmmap-idle | pktmmap-idle signal SIGNAL NAME | pktmmap-idle catches-sigint NAME | pktmmap-idle iface-of IPV4 | pktmmap-idle link-drops";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let code = match args[..] {
        [] => idle(),
        ["signal", signal, name] => match signal.parse::<Signal>() {
            Ok(sig) => i32::from(signal_named(name, sig) == 0),
            Err(_) => usage(&format!("unknown signal {signal:?} (e.g. SIGINT)")),
        },
        ["catches-sigint", name] => {
            let pids = pids_named(name);
            i32::from(pids.is_empty() || !pids.into_iter().all(catches_sigint))
        }
        ["iface-of", ip] => match ip.parse().map(pktmmap::net::interface_with_ip) {
            Ok(Ok(Some(name))) => {
                println!("{name}");
                0
            }
            Ok(Ok(None)) => 1,
            Ok(Err(e)) => {
                eprintln!("pktmmap-idle: {e}");
                1
            }
            Err(_) => usage(&format!("not an IPv4 address: {ip:?}")),
        },
        ["link-drops"] => match pktmmap::net::link_drops() {
            Ok(links) => {
                for l in links {
                    println!("{} {}", l.name, l.tx_dropped);
                }
                0
            }
            Err(e) => {
                eprintln!("pktmmap-idle: {e}");
                1
            }
        },
        _ => usage("unknown arguments"),
    };
    std::process::exit(code);
}

fn usage(why: &str) -> i32 {
    eprintln!("pktmmap-idle: {why}\n{USAGE}");
    2
}

/// Waits for SIGTERM or SIGINT.
fn idle() -> i32 {
    let mut stop = SigSet::empty();
    stop.add(Signal::SIGTERM);
    stop.add(Signal::SIGINT);
    if let Err(e) = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&stop), None) {
        eprintln!("pktmmap-idle: cannot block the stop signals: {e}");
        return 1;
    }
    match stop.wait() {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("pktmmap-idle: sigwait: {e}");
            1
        }
    }
}
