//! Test fixtures, by concern: here how a test starts (root or a loud failure, the lock that
//! runs network tests one at a time, the watchdog); [`netns`] the namespaces a test makes;
//! [`tools`] our tools run in them; [`docker`] the engine, the image and the swarm;
//! [`cleanup`] what takes down whatever a test made, however it ends.
#![allow(dead_code)]

#[allow(unused_imports)] // not every test file uses every one
pub use pktmmap::experiment::place::{ReceiverArgs, SenderArgs};
#[allow(unused_imports)]
pub use pktmmap::experiment::plan::apps::{Endpoint, ToolBin};
#[allow(unused_imports)]
pub use pktmmap::report::{RxSummary, StopReason, TxSummary};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

mod cleanup;
mod docker;
mod netns;
mod tools;

#[allow(unused_imports)] // not every test file uses every concern
pub use {cleanup::*, docker::*, netns::*, tools::*};

/// Network tests send real traffic on 2 cores: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The lock that serialises network tests, with the test's watchdog: held for the test's
/// whole body.
pub struct Serial {
    _lock: MutexGuard<'static, ()>,
    _watchdog: mpsc::Sender<()>,
}

/// How long one network test may hold the lock: `$PKTMMAP_TEST_TIMEOUT` seconds, default 1800
/// (the guest tests, the slowest, build an image and run profiles in a TCG guest).
fn test_timeout() -> Duration {
    let s = std::env::var("PKTMMAP_TEST_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1800);
    Duration::from_secs(s)
}

/// Takes the lock that serialises network tests (a failed test does not poison the others)
/// and starts the test's watchdog: a test still running after [`test_timeout`] is a hang, so
/// the whole test process exits 124 naming it, instead of eating CI's time. A hang elsewhere
/// is bounded by `experiments/test`'s overall `timeout`.
pub fn serial() -> Serial {
    let lock = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name = test_name();
    let (done, wait) = mpsc::channel::<()>();
    let limit = test_timeout();
    std::thread::spawn(move || {
        // The sender is dropped when the test ends (passed or panicked): Disconnected.
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "TIMEOUT {name}: still running after {} s ($PKTMMAP_TEST_TIMEOUT); exiting\n",
                    limit.as_secs()
                )
                .as_bytes(),
            );
            std::process::exit(124);
        }
    });
    Serial {
        _lock: lock,
        _watchdog: done,
    }
}

/// Whether a test that cannot get what it needs may skip: only when the person running the
/// tests says so (`PKTMMAP_ALLOW_SKIP=1`). By default it fails, so a skipped test can never
/// read as a pass; a skip prints `SKIPPED` and the reason even on a passing run.
pub fn skip_allowed(test: &str, why: &str) -> bool {
    if std::env::var_os("PKTMMAP_ALLOW_SKIP").is_some_and(|v| v == "1") {
        // Printed on the terminal, not captured: the harness hides a passing test's output.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("SKIPPED {test}: {why} (PKTMMAP_ALLOW_SKIP=1)\n").as_bytes(),
        );
        return true;
    }
    panic!("{test} {why}; run as root, or set PKTMMAP_ALLOW_SKIP=1 to skip it knowingly");
}

/// True if the tests can create namespaces; without root the test fails unless skipping was
/// asked for ([`skip_allowed`]).
pub fn root_or_skip(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    !skip_allowed(test, "needs root (network namespaces, CAP_NET_RAW)")
}

/// The test's name: libtest names the thread a test runs on after the test.
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("a network test")
        .to_string()
}

/// How every test that needs root starts: root (or a loud failure, or a skip when
/// `PKTMMAP_ALLOW_SKIP=1` asks), then the lock that serialises network tests and the test's
/// watchdog ([`serial`]), held until the returned guard drops. `None`: the test is skipped.
///
/// ```ignore
/// let Some(_g) = network_test() else { return };
/// ```
pub fn network_test() -> Option<Serial> {
    root_or_skip(&test_name()).then(serial)
}

/// Like [`network_test`] for a test that also needs a Docker engine.
pub fn docker_test() -> Option<Serial> {
    docker_or_skip(&test_name()).then(serial)
}

/// What a command printed on stdout (empty if it could not run).
fn stdout_of(c: &mut Command) -> String {
    c.output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Every drop a runner row counted: the receiver's kernel (ring or socket, and the host's
/// receive backlogs), the software switch's own (Open vSwitch) and the path's interfaces'
/// (`link_drops`, which every run must have read). Loss above it is loss nobody explained.
pub fn counted_drops(r: &pktmmap::experiment::rows::Row) -> u64 {
    let link = r
        .link_drops
        .unwrap_or_else(|| panic!("the path's interface drops were not read: {r:?}"));
    r.kernel_drops.expect("kernel drops") + r.switch_drops.unwrap_or(0) + link
}
