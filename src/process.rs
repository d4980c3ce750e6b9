//! What a tool asks of its own process: the stop signal, capabilities, CPU pinning, CPU and
//! memory accounting, and the probe clock. Nothing here knows about packets.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use nix::sys::resource::{getrusage, UsageWho};

/// Whether process `pid` has installed a handler for SIGINT (`SigCgt` in its status): before
/// that, a SIGINT would kill it without a summary.
pub fn catches_sigint(pid: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (libc::SIGINT - 1)) != 0)
}

/// Every other process named `comm` in this process's /proc (its PID namespace).
pub fn pids_named(comm: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == comm)
        })
        .collect()
}

/// Sends `signal` to every other process named `comm` in this PID namespace; returns how
/// many it reached.
pub fn signal_named(comm: &str, signal: nix::sys::signal::Signal) -> usize {
    pids_named(comm)
        .into_iter()
        .filter(|&p| nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), signal).is_ok())
        .count()
}

/// A flag set by SIGINT or SIGTERM; the tools poll it between batches.
pub fn stop_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registration only fails for forbidden signals, which these are not.
        let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
    }
    flag
}

/// Gives up every capability (effective, permitted, inheritable, ambient) once the sockets and
/// rings exist: the open fds keep working, and nothing later in the run can use CAP_NET_RAW.
pub fn drop_capabilities() -> Result<(), String> {
    use caps::CapSet;
    for set in [
        CapSet::Ambient,
        CapSet::Inheritable,
        CapSet::Effective,
        CapSet::Permitted,
    ] {
        caps::clear(None, set).map_err(|e| format!("cannot drop capabilities ({set:?}): {e}"))?;
    }
    Ok(())
}

/// Linux capabilities the runner checks for by number (`linux/capability.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// `CAP_NET_ADMIN` (12): create links, set addresses, load nft rules.
    NetAdmin = 12,
    /// `CAP_SYS_ADMIN` (21): create and enter network namespaces.
    SysAdmin = 21,
}

/// Whether this process holds `cap` in its effective set (`CapEff` in /proc/self/status).
pub fn has_capability(cap: Capability) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    eff & (1 << cap as u32) != 0
}

/// Raises this process's locked-memory limit (RLIMIT_MEMLOCK) to at least `bytes`, as far as
/// its privileges allow: the kernel charges an AF_XDP UMEM's pinned pages to it unless the
/// process has CAP_IPC_LOCK. Returns the limit in force afterwards.
pub fn raise_memlock(bytes: u64) -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_MEMLOCK) else {
        return 0;
    };
    if soft >= bytes {
        return soft;
    }
    // Up to the hard limit needs nothing; above it needs CAP_SYS_RESOURCE.
    let want = bytes.max(soft);
    if setrlimit(Resource::RLIMIT_MEMLOCK, want, hard.max(want)).is_ok()
        || setrlimit(Resource::RLIMIT_MEMLOCK, want.min(hard), hard).is_ok()
    {
        return getrlimit(Resource::RLIMIT_MEMLOCK).map_or(0, |(s, _)| s);
    }
    soft
}

/// Pins the calling thread to one CPU core.
pub fn pin_to_cpu(core: usize) -> Result<(), String> {
    let mut set = nix::sched::CpuSet::new();
    set.set(core)
        .and_then(|_| nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set))
        .map_err(|e| format!("cannot pin to CPU {core}: {e}"))
}

/// The core for thread `i` of a tool started with `--cpu base`: the cores after `base`, in
/// turn, wrapping around the machine's cores (so 4 threads on 2 cores share them 2 by 2).
pub fn core_for_thread(base: usize, i: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (base + i) % cores.max(base + 1)
}

/// User and system CPU seconds used by this process so far.
pub fn cpu_seconds() -> (f64, f64) {
    cpu_seconds_of(UsageWho::RUSAGE_SELF)
}

/// User and system CPU seconds of this process's children that have been waited for.
pub fn children_cpu_seconds() -> (f64, f64) {
    cpu_seconds_of(UsageWho::RUSAGE_CHILDREN)
}

fn cpu_seconds_of(who: UsageWho) -> (f64, f64) {
    match getrusage(who) {
        Ok(u) => {
            let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
            (secs(u.user_time()), secs(u.system_time()))
        }
        Err(_) => (0.0, 0.0),
    }
}

/// Peak resident memory of this process in KiB (`getrusage` `ru_maxrss`).
pub fn max_rss_kib() -> u64 {
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| u.max_rss().max(0) as u64)
        .unwrap_or(0)
}

/// Times this process gave up the CPU to wait (voluntary context switches): a receiver's
/// wakeups.
pub fn voluntary_switches() -> u64 {
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| u.voluntary_context_switches().max(0) as u64)
        .unwrap_or(0)
}

/// `CLOCK_REALTIME` in nanoseconds: the clock of the probe's send time and of the kernel's
/// packet timestamps.
pub fn realtime_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A run id when none is given: different for every run, from the clock and the process id.
pub fn fresh_run_id() -> u32 {
    let t = realtime_ns();
    let mixed =
        (t ^ (t >> 29) ^ (u64::from(std::process::id()) << 16)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_wrap_around_the_cores_after_the_base() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(core_for_thread(0, 0), 0);
        assert_eq!(core_for_thread(0, cores), 0);
        assert_eq!(core_for_thread(0, 1), 1 % cores);
    }

    #[test]
    fn run_ids_differ_between_calls_made_apart() {
        let a = fresh_run_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_ne!(a, fresh_run_id());
    }
}
