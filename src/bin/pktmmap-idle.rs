//! pktmmap-idle: the main process of a tool container. It does nothing until SIGTERM or SIGINT,
//! so that `docker exec` can run mmap-tx, mmap-rx, udp-tx and udp-rx inside a running
//! container whose image holds no shell and no `sleep` (the image is `FROM scratch`).
//!
//! As PID 1 of a container it gets no default signal actions: it must wait for the stop
//! signals explicitly, or `docker stop` would wait out its timeout and kill it.
#![forbid(unsafe_code)]

use nix::sys::signal::{SigSet, SigmaskHow, Signal};

fn main() {
    if std::env::args().len() > 1 {
        eprintln!("usage: pktmmap-idle  (waits for SIGTERM or SIGINT; no arguments)");
        std::process::exit(2);
    }
    let mut stop = SigSet::empty();
    stop.add(Signal::SIGTERM);
    stop.add(Signal::SIGINT);
    if let Err(e) = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&stop), None) {
        eprintln!("pktmmap-idle: cannot block the stop signals: {e}");
        std::process::exit(1);
    }
    match stop.wait() {
        Ok(_) => {}
        Err(e) => {
            eprintln!("pktmmap-idle: sigwait: {e}");
            std::process::exit(1);
        }
    }
}
