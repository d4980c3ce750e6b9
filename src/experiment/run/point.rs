//! One measured run: a receiver started in the receiving namespace (or container) and awaited
//! until ready, a sender pinned to the other core, both JSON summaries collected.

use crate::experiment::Error;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::experiment::place::links::LinkReading;
use crate::experiment::place::setup::SetupEnv;
use crate::experiment::place::switch::SwitchDrops;
use crate::experiment::place::{
    parse_intervals, parse_summary, Container, IngressDrop, Netns, Place, ReceiverArgs, SenderArgs,
    ToolProcess,
};
use crate::experiment::plan::apps::{Endpoint, ToolBin};
use crate::experiment::plan::kinds::{App, Family, Fate, Status};
use crate::experiment::plan::profile::Point;
use crate::report::{RxInterval, RxSummary, TxInterval, TxSummary};

/// Everything one run needs.
#[derive(Debug)]
pub struct RunConfig<'a> {
    /// Where the tools run.
    pub env: &'a SetupEnv,
    /// Directory holding the four tools (netns engine; containers have their own).
    pub bin_dir: &'a Path,
    /// Which tools.
    pub app: App,
    /// Count, size and rate.
    pub point: &'a Point,
    /// The IP version of the test traffic (the set-up must have addresses of it).
    pub family: Family,
    /// Receive-side fate for mmap runs.
    pub fate: Fate,
    /// Core for the sender.
    pub tx_cpu: usize,
    /// Core for the receiver.
    pub rx_cpu: usize,
    /// Seconds without traffic after which the receiver stops.
    pub idle_timeout_s: f64,
    /// Interval reports from both tools every this many seconds.
    pub interval_s: Option<f64>,
    /// Round trips of every N-th probe (the receiver reflects them).
    pub reflect_every: Option<u64>,
    /// Busy polling of this many microseconds at receivers that can (xdp-rx
    /// `--busy-poll`); others receive as always.
    pub busy_poll_us: Option<u32>,
    /// Set when the user asked to stop.
    pub stop: &'a AtomicBool,
}

/// What one run produced.
#[derive(Debug)]
pub struct RunResult {
    /// The sender's summary, if it produced one.
    pub tx: Option<TxSummary>,
    /// The receiver's summary, if it produced one.
    pub rx: Option<RxSummary>,
    /// How it ended.
    pub status: Status,
    /// Why, when not ok.
    pub reason: String,
    /// The sender's interval reports.
    pub tx_intervals: Vec<TxInterval>,
    /// The receiver's interval reports.
    pub rx_intervals: Vec<RxInterval>,
    /// What the software switch between the two sides dropped itself during the run (see
    /// [`SwitchDrops`]); `None` where there is no such switch or its counters were unreadable.
    pub switch_drops: Option<u64>,
    /// What the interfaces on the path dropped at transmit during the run (see
    /// [`LinkReading`]); `None` where their counters were unreadable.
    pub link_drops: Option<u64>,
}

/// Runs one point with one app; never panics and always returns a result to record.
/// `live` sees the receiver's interval reports as they come.
pub fn run_point(cfg: &RunConfig<'_>, live: &mut dyn FnMut(&RxInterval)) -> RunResult {
    match try_run(cfg, live) {
        Ok(r) => r,
        Err(reason) => RunResult::failed(reason.to_string()),
    }
}

impl RunResult {
    /// Adds `why` to the reason (after what is there).
    fn reason_also(&mut self, why: &str) {
        if !self.reason.is_empty() {
            self.reason.push_str("; ");
        }
        self.reason.push_str(why);
    }

    /// A run that failed before anything was measured.
    pub fn failed(reason: String) -> Self {
        RunResult {
            tx: None,
            rx: None,
            status: Status::Failed,
            reason,
            tx_intervals: Vec::new(),
            rx_intervals: Vec::new(),
            switch_drops: None,
            link_drops: None,
        }
    }
}

/// The two ends of a set-up.
#[derive(Debug, Clone, Copy)]
enum Side {
    Sender,
    Receiver,
}

/// Where `side` of the set-up runs its tools: its container (on its engine), or else its
/// network namespace here.
fn place<'a>(env: &'a SetupEnv, side: Side, bin_dir: &'a Path) -> Box<dyn Place + 'a> {
    let (container, engine, ns) = match side {
        Side::Sender => (&env.tx_container, &env.tx_engine, &env.tx_ns),
        Side::Receiver => (&env.rx_container, &env.rx_engine, &env.rx_ns),
    };
    match container {
        Some(name) => Box::new(Container {
            name,
            engine: engine.as_deref(),
        }),
        None => Box::new(Netns { ns, bin_dir }),
    }
}

/// udp-rx's socket buffer: as many bytes as mmap-rx's default ring, so that neither receiver
/// has the other's slack (udp-rx's own default; without CAP_NET_ADMIN the kernel caps it at
/// net.core.rmem_max and the row's `rx_buffer_bytes` says so).
pub const UDP_RCVBUF: usize = crate::tool::udp_rx::DEFAULT_RCVBUF;

fn try_run(cfg: &RunConfig<'_>, live: &mut dyn FnMut(&RxInterval)) -> Result<RunResult, Error> {
    let env = cfg.env;
    let p = cfg.point;
    let spec = cfg.app.spec();
    let (tx_bin, rx_bin) = (spec.sender, spec.receiver);
    // mmap and xdp build whole frames on an interface; udp uses addresses.
    let frames = rx_bin.endpoint() == Endpoint::Interface;
    let (_, rx_ip) = env.addresses(cfg.family).map_err(Error::Request)?;
    // Round trips need one flow (reflections return to the first source port only): a point
    // of many flows runs without them.
    let reflect_every = cfg.reflect_every.filter(|_| p.flows == 1);
    let mut sender_extra = spec.sender_extra(p.size);
    if p.flows > 1 {
        sender_extra.extend(["--flows".to_string(), p.flows.to_string()]);
    }
    let receiver_args = ReceiverArgs {
        tool: rx_bin,
        interface: frames.then_some(env.rx_if.as_str()),
        bind: (!frames).then_some((rx_ip, UDP_RCVBUF)),
        count: Some(p.count),
        idle_timeout_s: cfg.idle_timeout_s,
        cpu: cfg.rx_cpu,
        interval_s: cfg.interval_s,
        reflect_every,
        extra: {
            let mut extra = spec.receiver_extra();
            if let Some(us) = cfg.busy_poll_us.filter(|_| rx_bin.busy_polls()) {
                extra.extend(["--busy-poll".to_string(), us.to_string()]);
            }
            extra
        },
    };
    let sender_args = SenderArgs {
        tool: tx_bin,
        interface: frames.then_some(env.tx_if.as_str()),
        dst_ip: rx_ip,
        count: p.count,
        size: p
            .size_mix
            .as_ref()
            .map_or_else(|| p.size.to_string(), ToString::to_string),
        rate: p.rate.to_string(),
        cpu: cfg.tx_cpu,
        extra: sender_extra,
        interval_s: cfg.interval_s,
        reflect_every,
    };
    let _fate = match cfg.fate.for_app(cfg.app) {
        Fate::IngressDrop => Some(IngressDrop::install(
            &env.rx_ns,
            &env.rx_if,
            crate::DEFAULT_PORT,
            None,
        )?),
        _ => None,
    };
    let rx_place = || place(env, Side::Receiver, cfg.bin_dir);
    let tx_place = || place(env, Side::Sender, cfg.bin_dir);
    // A container gone (a swarm task killed, its node lost) fails every later run at once,
    // with the reason, rather than after a ready wait.
    let lost = || {
        let (rx, tx) = (rx_place().lost(), tx_place().lost());
        let both: Vec<String> = [
            rx.map(|r| format!("receiver's {r}")),
            tx.map(|t| format!("sender's {t}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!both.is_empty()).then(|| both.join("; "))
    };
    if let Some(why) = lost() {
        return Err(Error::Tool(why));
    }
    let mut receiver = ToolProcess::spawn(rx_place(), rx_bin, &receiver_args.argv())?;
    let ready = receiver.wait_ready(Duration::from_secs(10), cfg.stop);
    if cfg.stop.load(Ordering::Relaxed) {
        // Interrupted before anything was sent: a partial row with nothing measured.
        let _ = receiver.wait(Instant::now(), cfg.stop);
        return Ok(RunResult {
            status: Status::Partial,
            ..RunResult::failed(format!("interrupted before {tx_bin} started"))
        });
    }
    ready?;
    // The switch's own counters, read once the receiver listens and again once it is done:
    // everything the switch dropped of this run's packets happened in between.
    let read_switch = || env.ovs_bridge.as_deref().map(SwitchDrops::read_ovs);
    let switch_before = read_switch();
    // Likewise the transmit drops of every interface on the path: the sender's and
    // receiver's namespaces (or containers) and those between them.
    let read_links = || {
        let mut places = vec![tx_place(), rx_place()];
        if env.tx_container.is_none() {
            places.extend(env.path_ns.iter().map(|ns| -> Box<dyn Place> {
                Box::new(Netns {
                    ns,
                    bin_dir: cfg.bin_dir,
                })
            }));
        }
        LinkReading::read(&places)
    };
    let links_before = read_links();

    // Generous: a slow path (OVS userspace) at 20 kpps, plus start-up.
    let send_budget = Duration::from_secs(30 + p.count / 20_000);
    let sender = ToolProcess::spawn(tx_place(), tx_bin, &sender_args.argv())?;
    let mut receiver_quit_early = false;
    let tx_exit = sender.wait_watching(Instant::now() + send_budget, cfg.stop, &mut || {
        for r in parse_intervals::<RxInterval>(receiver.new_lines()) {
            live(&r);
        }
        receiver_quit_early |= receiver.has_exited();
    });
    let rx_deadline = Instant::now() + Duration::from_secs_f64(cfg.idle_timeout_s + 15.0);
    let rx_exit = receiver.wait(rx_deadline, cfg.stop);
    let mut result = classify_run(tx_bin, &tx_exit, rx_bin, &rx_exit);
    let idle_stop = result
        .rx
        .as_ref()
        .is_some_and(|r| r.stop_reason == crate::report::StopReason::Idle);
    if receiver_quit_early && idle_stop && result.status == Status::Ok {
        // It stopped for lack of traffic while the sender was still at work: whatever it
        // missed was never offered to it, so its loss is not the path's.
        result.status = Status::Failed;
        result.reason = format!(
            "{rx_bin} stopped after {} s without traffic while {tx_bin} was still running (a slow sender start or a stalled path): raise --idle-timeout",
            cfg.idle_timeout_s
        );
    }
    if result.status == Status::Failed {
        if let Some(why) = lost() {
            result.reason = format!("{}; {why}", result.reason);
        }
    }
    if let (Some(before), Some(after)) = (switch_before, read_switch()) {
        match before.and_then(|b| after.map(|a| b.since(&a))) {
            Ok(Some(d)) => result.switch_drops = Some(d.total()),
            Ok(None) => result.reason_also("the switch's drop counters went backwards"),
            Err(e) => result.reason_also(&format!("switch drops unknown: {e}")),
        }
    }
    // A failed run's counts are not used, and its place may be gone (a killed container):
    // its reason stays the failure's own.
    if result.status != Status::Failed {
        match links_before.and_then(|b| read_links().map(|a| b.since(&a))) {
            Ok(Some(d)) => result.link_drops = Some(d),
            Ok(None) => result.reason_also("an interface's drop counter went backwards"),
            Err(e) => result.reason_also(&format!("interface drops unknown: {e}")),
        }
    }
    result.tx_intervals = parse_intervals(&lines(&tx_exit.1));
    result.rx_intervals = parse_intervals(&lines(&rx_exit.1));
    Ok(result)
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

/// How a run ended, from both tools' exits and summaries.
///
/// `ok`: both summaries, both tools exited 0 with their count or idle stop. `partial`: the
/// user interrupted (a tool stopped on a signal, exit 130) and nothing failed. `failed`:
/// anything else — a missing summary, a tool that stopped on an error (an interface gone), or
/// an exit code other than 0 and 130 — with every reason given.
pub fn classify_run(
    tx_bin: ToolBin,
    tx_exit: &crate::experiment::place::Exit,
    rx_bin: ToolBin,
    rx_exit: &crate::experiment::place::Exit,
) -> RunResult {
    use crate::report::StopReason;
    let tx: Result<TxSummary, Error> = parse_summary(tx_bin.name(), tx_exit);
    let rx: Result<RxSummary, Error> = parse_summary(rx_bin.name(), rx_exit);
    let mut reasons: Vec<String> = Vec::new();
    let mut failed = false;
    let mut interrupted = false;
    let sides = [
        (
            tx_bin,
            tx_exit.0,
            tx.as_ref().map(|t| (t.stop_reason, t.error.clone())),
        ),
        (
            rx_bin,
            rx_exit.0,
            rx.as_ref().map(|r| (r.stop_reason, r.error.clone())),
        ),
    ];
    for (bin, code, summary) in sides {
        match summary {
            Err(e) => {
                failed = true;
                reasons.push(e.to_string());
            }
            Ok((reason, error)) => {
                if let Some(e) = error {
                    reasons.push(format!("{bin}: {e}"));
                }
                match (reason, code) {
                    (StopReason::Error, _) => failed = true,
                    (StopReason::Signal, _) => interrupted = true,
                    (_, Some(0)) => {}
                    (_, code) => {
                        failed = true;
                        reasons.push(format!("{bin} exited {code:?}"));
                    }
                }
            }
        }
    }
    let status = if failed {
        Status::Failed
    } else if interrupted {
        reasons.push("interrupted".into());
        Status::Partial
    } else {
        Status::Ok
    };
    RunResult {
        tx: tx.ok(),
        rx: rx.ok(),
        status,
        reason: reasons.join("; "),
        tx_intervals: Vec::new(),
        rx_intervals: Vec::new(),
        switch_drops: None,
        link_drops: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::StopReason;

    fn tx_json(reason: StopReason, error: Option<&str>) -> String {
        let t = TxSummary {
            error: error.map(str::to_string),
            ..crate::report::fixture::tx("mmap-tx", 10, 10.0, reason)
        };
        serde_json::to_string(&t).unwrap()
    }

    fn rx_json(reason: StopReason, error: Option<&str>) -> String {
        let r = RxSummary {
            error: error.map(str::to_string),
            ..crate::report::fixture::rx("mmap-rx", reason)
        };
        serde_json::to_string(&r).unwrap()
    }

    fn exit(code: Option<i32>, out: String) -> crate::experiment::place::Exit {
        (code, out, vec!["last words".into()])
    }

    fn classify(
        tx: crate::experiment::place::Exit,
        rx: crate::experiment::place::Exit,
    ) -> RunResult {
        classify_run(ToolBin::MmapTx, &tx, ToolBin::MmapRx, &rx)
    }

    #[test]
    fn both_tools_done_is_ok() {
        let r = classify(
            exit(Some(0), tx_json(StopReason::Count, None)),
            exit(Some(0), rx_json(StopReason::Idle, None)),
        );
        assert_eq!((r.status, r.reason.as_str()), (Status::Ok, ""));
    }

    #[test]
    fn a_receiver_stopped_by_an_error_is_failed_not_partial() {
        let r = classify(
            exit(Some(0), tx_json(StopReason::Count, None)),
            exit(
                Some(1),
                rx_json(
                    StopReason::Error,
                    Some("poll(PACKET_RX_RING): Network is down"),
                ),
            ),
        );
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.reason, "mmap-rx: poll(PACKET_RX_RING): Network is down");
        assert!(r.rx.is_some(), "the partial counts are kept");
    }

    #[test]
    fn a_signal_is_partial_and_a_signal_with_an_error_is_failed() {
        let r = classify(
            exit(Some(130), tx_json(StopReason::Signal, None)),
            exit(Some(130), rx_json(StopReason::Signal, None)),
        );
        assert_eq!(
            (r.status, r.reason.as_str()),
            (Status::Partial, "interrupted")
        );
        let r = classify(
            exit(Some(130), tx_json(StopReason::Signal, None)),
            exit(Some(1), rx_json(StopReason::Error, Some("gone"))),
        );
        assert_eq!(r.status, Status::Failed);
    }

    #[test]
    fn a_missing_summary_or_an_odd_exit_code_is_failed() {
        let r = classify(
            exit(None, String::new()),
            exit(Some(0), rx_json(StopReason::Idle, None)),
        );
        assert_eq!(r.status, Status::Failed);
        assert_eq!(
            r.reason,
            "mmap-tx exited by a signal without a summary: last words"
        );
        let r = classify(
            exit(Some(0), tx_json(StopReason::Count, None)),
            exit(Some(3), rx_json(StopReason::Count, None)),
        );
        assert_eq!(
            (r.status, r.reason.as_str()),
            (Status::Failed, "mmap-rx exited Some(3)")
        );
    }
}
