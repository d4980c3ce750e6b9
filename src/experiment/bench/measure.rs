//! Running the benchmark: the native set-up, the meter, one process per tool and run, a CSV
//! row each.

use crate::experiment::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::{BenchPlan, BenchRow, Phase, Receiver, Sender, BENCH_CSV, RECEIVE_PHASES};
use crate::experiment::place::argv::{
    Iperf3ClientArgs, Iperf3ServerArgs, TestpmdArgs, TrafgenArgs,
};
use crate::experiment::place::host::Machine;
use crate::experiment::place::setup::{SetupEnv, Setups};
use crate::experiment::place::{
    parse_summary, Exit, IngressDrop, Netns, ReceiverArgs, SenderArgs, ToolProcess,
};
use crate::experiment::plan::apps::{Endpoint, ToolBin};
use crate::experiment::plan::kinds::{Fate, Status};
use crate::experiment::rows::{header_of, utc_now, ResultsFile};
use crate::experiment::run::point::UDP_RCVBUF;
use crate::pace::Rate;
use crate::report::{RxSummary, TxSummary};
use crate::wire::frame::FRAME_OVERHEAD;

/// dpdk-testpmd's `--file-prefix`: its runtime directory is /var/run/dpdk/<this>.
const TESTPMD_PREFIX: &str = "pktmmap-bench";

struct Ctx<'a> {
    plan: &'a BenchPlan,
    env: SetupEnv,
    machine: Machine,
    frame_file: PathBuf,
    /// The receiver's MAC, as mmap-tx resolved it (testpmd's `--eth-peer`).
    dst_mac: String,
    stop: &'a AtomicBool,
}

fn children_cpu_s() -> f64 {
    let (user, sys) = crate::process::children_cpu_seconds();
    user + sys
}

impl Ctx<'_> {
    fn row(&self, phase: &str, fate: Fate, tool: &str, rep: u32, rate: &str) -> BenchRow {
        BenchRow {
            time: utc_now(),
            phase: phase.into(),
            fate,
            rps: self.env.rps,
            tool: tool.into(),
            repetition: rep,
            requested_rate: rate.into(),
            count: self.plan.count,
            size: self.plan.size,
            status: Status::Ok,
            kernel: self.machine.kernel.clone(),
            git_commit: self.machine.git_commit.clone(),
            ..BenchRow::default()
        }
    }

    fn ours(&self, tool: ToolBin) -> PathBuf {
        self.plan.bin_dir.join(tool.name())
    }

    /// Namespace `ns` as a place to run tools.
    fn netns<'a>(&'a self, ns: &'a str) -> Netns<'a> {
        Netns {
            ns,
            bin_dir: &self.plan.bin_dir,
        }
    }

    /// Starts a tool of ours in namespace `ns` and waits for its `ready` line.
    fn start_ready<'a>(
        &'a self,
        ns: &'a str,
        tool: ToolBin,
        args: &[String],
    ) -> Result<ToolProcess<'a>, Error> {
        let t = ToolProcess::spawn(self.netns(ns), tool, args)?;
        t.wait_ready(Duration::from_secs(10), self.stop)?;
        Ok(t)
    }

    /// Starts another program (trafgen, iperf3, under taskset) in namespace `ns`.
    fn start_external<'a>(
        &'a self,
        ns: &'a str,
        program: &Path,
        args: &[String],
    ) -> Result<ToolProcess<'a>, Error> {
        let mut command = self.netns(ns).external(program);
        command.args(args);
        let name = program
            .file_name()
            .map_or("program".into(), |n| n.to_string_lossy());
        ToolProcess::start(command, &name, None)
    }

    /// The meter: stops 1.5 s after the last datagram, or for an endless sender at the
    /// benchmark's count (it may be a few seconds before such a sender starts sending).
    fn meter(&self, sender: Option<Sender>) -> Result<ToolProcess<'_>, Error> {
        let endless = sender.is_some_and(Sender::endless);
        let args = ReceiverArgs {
            tool: ToolBin::MmapRx,
            interface: Some(&self.env.rx_if),
            bind: None,
            count: endless.then_some(self.plan.count),
            idle_timeout_s: if endless { 15.0 } else { 1.5 },
            cpu: 1,
            interval_s: None,
            reflect_every: None,
            extra: Vec::new(),
        };
        self.start_ready(&self.env.rx_ns, ToolBin::MmapRx, &args.argv())
    }

    /// The sender's command line: program and arguments (run in the sending namespace).
    fn sender_command(&self, sender: Sender, pps: Option<u64>) -> (PathBuf, Vec<String>) {
        let p = self.plan;
        let e = &self.env;
        let rate = pps.map_or("max".to_string(), |r| format!("{r}pps"));
        let ours = |tool: ToolBin, extra: Vec<String>| {
            let args = SenderArgs {
                tool,
                interface: (tool.endpoint() == Endpoint::Interface).then_some(e.tx_if.as_str()),
                dst_ip: &e.rx_ip,
                count: p.count,
                size: p.size.to_string(),
                rate: rate.clone(),
                cpu: 0,
                extra,
                interval_s: None,
                reflect_every: None,
            };
            (self.ours(tool), args.argv())
        };
        let (program, args) = match sender {
            Sender::MmapV3
            | Sender::MmapV2
            | Sender::Udp
            | Sender::UdpBatch
            | Sender::UdpGso
            | Sender::MmapGso
            | Sender::Xdp => {
                let (tool, extra) = sender.ours(p.size).expect("one of our senders");
                return ours(tool, extra);
            }
            Sender::Trafgen => TrafgenArgs {
                interface: &e.tx_if,
                conf: &self.frame_file.to_string_lossy(),
                count: p.count,
                pps,
                cpu: 0,
            }
            .command(),
            Sender::TestpmdAfPacket | Sender::TestpmdAfXdp => TestpmdArgs {
                af_xdp: sender == Sender::TestpmdAfXdp,
                interface: &e.tx_if,
                // Forwarding on core 0 like every sender; the main lcore (core 1, the
                // meter's) only prints statistics once a second.
                cpu: 0,
                main_core: 1,
                file_prefix: TESTPMD_PREFIX,
                frame_len: FRAME_OVERHEAD + p.size,
                ips: (&e.tx_ip, &e.rx_ip),
                ports: (crate::DEFAULT_PORT + 1, crate::DEFAULT_PORT),
                dst_mac: &self.dst_mac,
            }
            .command(),
            Sender::Iperf3 => Iperf3ClientArgs {
                server: &e.rx_ip,
                port: crate::DEFAULT_PORT,
                size: p.size,
                bits_per_s: pps.map_or(0, |r| r * p.size as u64 * 8),
                bytes: p.count * p.size as u64,
                cpu: 0,
            }
            .command(),
        };
        (PathBuf::from(program), args)
    }

    /// Runs a sender in the sending namespace to its end; records its wall time and CPU time
    /// (the kernel's accounting of the reaped child) in `row`.
    fn run_sender(
        &self,
        sender: Sender,
        pps: Option<u64>,
        row: &mut BenchRow,
    ) -> Result<Exit, Error> {
        let (program, args) = self.sender_command(sender, pps);
        let cpu_before = children_cpu_s();
        let started = Instant::now();
        let tx = self.start_external(&self.env.tx_ns, &program, &args)?;
        let budget = Duration::from_secs(60 + self.plan.count / 20_000);
        let done = tx.wait(Instant::now() + budget, self.stop);
        row.tx_wall_s = Some(started.elapsed().as_secs_f64());
        row.tx_cpu_s = Some(children_cpu_s() - cpu_before);
        Ok(done)
    }

    /// An endless sender (testpmd): runs until the meter has the count, then is interrupted;
    /// its CPU time is the kernel's accounting of the reaped child. What it sent is not
    /// known (testpmd counts what its driver took, not what left), so neither is loss.
    fn endless_run(
        &self,
        sender: Sender,
        meter: ToolProcess<'_>,
        sinks: [Option<ToolProcess<'_>>; 2],
        row: &mut BenchRow,
    ) -> Result<(), Error> {
        let (program, args) = self.sender_command(sender, None);
        let cpu_before = children_cpu_s();
        let started = Instant::now();
        let tx = self.start_external(&self.env.tx_ns, &program, &args)?;
        let budget = Duration::from_secs(60 + self.plan.count / 20_000);
        let m_exit = meter.wait(Instant::now() + budget, self.stop);
        tx.interrupt();
        let tx_exit = tx.wait(Instant::now() + Duration::from_secs(10), self.stop);
        let _ = std::fs::remove_dir_all(Path::new("/var/run/dpdk").join(TESTPMD_PREFIX));
        let _ = std::fs::remove_dir("/var/run/dpdk"); // only if testpmd made it and left it empty
        row.tx_wall_s = Some(started.elapsed().as_secs_f64());
        row.tx_cpu_s = Some(children_cpu_s() - cpu_before);
        for t in sinks.into_iter().flatten() {
            t.interrupt();
            let _ = t.wait(Instant::now() + Duration::from_secs(5), self.stop);
        }
        let m: RxSummary = parse_summary(&format!("meter ({})", ToolBin::MmapRx), &m_exit)?;
        if m.stop_reason != crate::report::StopReason::Count && !self.interrupted() {
            return Err(Error::Tool(format!(
                "{} did not deliver {} datagrams to the meter ({} in {:?} stop); its last words: {}",
                sender.name(),
                self.plan.count,
                m.counts.received,
                m.stop_reason,
                tx_exit.2.last().cloned().unwrap_or_default()
            )));
        }
        row.received = Some(m.counts.received);
        row.kernel_drops = Some(m.kernel_drops + m.backlog_drops);
        row.pps = Some(m.counts.pps);
        row.rx_cpu_s = Some(m.cpu_user_s + m.cpu_sys_s);
        Ok(())
    }

    /// One sender run: fate, meter, sender, summaries.
    fn send_run(&self, sender: Sender, fate: Fate, pps: Option<u64>, rep: u32) -> BenchRow {
        let phase = if pps.is_some() {
            "send-paced"
        } else {
            "send-unpaced"
        };
        let rate = pps.map_or("max".into(), |r| format!("{r}pps"));
        let mut row = self.row(phase, fate, sender.name(), rep, &rate);
        let tried = self.try_send_run(sender, fate, pps, &mut row);
        self.settle(&mut row, tried);
        row
    }

    /// True once the user interrupted the benchmark.
    fn interrupted(&self) -> bool {
        self.stop.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A row's status from how its run went: `partial` (with what was measured until then)
    /// when the user interrupted it, else `failed` with the reason on an error.
    fn settle(&self, row: &mut BenchRow, tried: Result<(), Error>) {
        if self.interrupted() {
            row.status = Status::Partial;
            row.reason = match tried {
                Ok(()) => "interrupted".into(),
                Err(e) => format!("interrupted: {e}"),
            };
        } else if let Err(e) = tried {
            row.status = Status::Failed;
            row.reason = e.to_string();
        }
    }

    fn try_send_run(
        &self,
        sender: Sender,
        fate: Fate,
        pps: Option<u64>,
        row: &mut BenchRow,
    ) -> Result<(), Error> {
        let e = &self.env;
        let udp_len = 8 + self.plan.size;
        let _drop = match fate {
            Fate::IngressDrop => Some(IngressDrop::install(
                &e.rx_ns,
                &e.rx_if,
                crate::DEFAULT_PORT,
                Some(udp_len),
            )?),
            Fate::Socket | Fate::Stack | Fate::XdpRedirect => None,
        };
        // iperf3 needs its server in any case (control connection); under `socket` it is also
        // the sink. The other senders' socket sink is udp-rx.
        let server = if sender == Sender::Iperf3 {
            let (program, args) = Iperf3ServerArgs {
                bind: &e.rx_ip,
                port: crate::DEFAULT_PORT,
                cpu: 1,
            }
            .command();
            let mut t = self.start_external(&e.rx_ns, Path::new(&program), &args)?;
            t.wait_listening(crate::DEFAULT_PORT, Duration::from_secs(10))?;
            Some(t)
        } else {
            None
        };
        let sink = match (fate, sender) {
            (Fate::Socket, s) if s != Sender::Iperf3 => {
                let sink = ReceiverArgs {
                    tool: ToolBin::UdpRx,
                    interface: None,
                    bind: Some((&e.rx_ip, UDP_RCVBUF)),
                    count: None,
                    idle_timeout_s: 1.5,
                    cpu: 1,
                    interval_s: None,
                    reflect_every: None,
                    extra: Vec::new(),
                };
                Some(self.start_ready(&e.rx_ns, ToolBin::UdpRx, &sink.argv())?)
            }
            _ => None,
        };
        let meter = self.meter(Some(sender))?;
        if sender.endless() {
            return self.endless_run(sender, meter, [sink, server], row);
        }
        let tx_exit = self.run_sender(sender, pps, row)?;
        // Interrupted, our senders exit 130 with a partial summary: keep what they measured.
        let interrupted_exit = self.interrupted() && tx_exit.0 == Some(130);
        if tx_exit.0 != Some(0) && !interrupted_exit {
            return Err(Error::Tool(format!(
                "{} exited {:?}: {}",
                sender.name(),
                tx_exit.0,
                tx_exit.2.last().cloned().unwrap_or_default()
            )));
        }
        if sender.program().is_none() {
            let t: TxSummary = parse_summary(sender.name(), &tx_exit)?;
            row.sent = Some(t.sent);
        }
        let m_exit = meter.wait(Instant::now() + Duration::from_secs(20), self.stop);
        let m: RxSummary = parse_summary(&format!("meter ({})", ToolBin::MmapRx), &m_exit)?;
        row.received = Some(m.counts.received);
        // Against the count, or (interrupted) against what our sender says it sent; an
        // interrupted trafgen or iperf3 sent an unknown number.
        row.lost = if self.interrupted() {
            row.sent.map(|sent| sent.saturating_sub(m.counts.received))
        } else {
            Some(self.plan.count.saturating_sub(m.counts.received))
        };
        row.kernel_drops = Some(m.kernel_drops + m.backlog_drops);
        row.pps = Some(m.counts.pps);
        row.rx_cpu_s = Some(m.cpu_user_s + m.cpu_sys_s);
        for t in [sink, server].into_iter().flatten() {
            t.interrupt();
            let _ = t.wait(Instant::now() + Duration::from_secs(5), self.stop);
        }
        Ok(())
    }

    /// One receiver run: `offer` (one of our senders) sends at `pps` (or its fastest), the
    /// receiver counts.
    fn receive_run(
        &self,
        phase: &str,
        offer: Sender,
        receiver: Receiver,
        pps: Option<u64>,
        rep: u32,
    ) -> BenchRow {
        let rate = pps.map_or("max".into(), |r| format!("{r}pps"));
        let mut row = self.row(phase, receiver.fate(), receiver.name(), rep, &rate);
        let tried = self.try_receive_run(offer, receiver, pps, &mut row);
        self.settle(&mut row, tried);
        row
    }

    fn try_receive_run(
        &self,
        offer: Sender,
        receiver: Receiver,
        pps: Option<u64>,
        row: &mut BenchRow,
    ) -> Result<(), Error> {
        let e = &self.env;
        let (tool, options) = receiver.tool();
        let frames = tool.endpoint() == Endpoint::Interface;
        let args = ReceiverArgs {
            tool,
            interface: frames.then_some(e.rx_if.as_str()),
            bind: (!frames).then_some((e.rx_ip.as_str(), UDP_RCVBUF)),
            count: Some(self.plan.count),
            idle_timeout_s: 2.0,
            cpu: 1,
            interval_s: None,
            reflect_every: None,
            extra: options,
        };
        let rx = self.start_ready(&e.rx_ns, tool, &args.argv())?;
        let tx_exit = self.run_sender(offer, pps, row)?;
        let t: TxSummary = parse_summary(offer.name(), &tx_exit)?;
        row.sent = Some(t.sent);
        row.offered_pps = Some(t.pps);
        let r: RxSummary = parse_summary(
            receiver.name(),
            &rx.wait(Instant::now() + Duration::from_secs(30), self.stop),
        )?;
        let cpu = r.cpu_user_s + r.cpu_sys_s;
        row.received = Some(r.counts.received);
        // Interrupted, the receiver's loss would count the datagrams never sent: against
        // what mmap-tx sent instead.
        row.lost = Some(if self.interrupted() {
            t.sent.saturating_sub(r.counts.unique)
        } else {
            r.counts.lost
        });
        row.kernel_drops = Some(r.kernel_drops + r.backlog_drops);
        row.pps = Some(r.counts.pps);
        row.rx_cpu_s = Some(cpu);
        if r.counts.received > 0 {
            row.rx_cpu_s_per_mpkt = Some(cpu / r.counts.received as f64 * 1e6);
        }
        row.rx_max_rss_kib = Some(r.max_rss_kib);
        Ok(())
    }
}

/// Writes mmap-tx's first frame (from `mmap-tx --print-frame`) as a trafgen configuration.
/// Returns the frame's destination MAC (`aa:bb:...`).
fn trafgen_config(
    env: &SetupEnv,
    bin_dir: &Path,
    size: usize,
    path: &Path,
) -> Result<String, Error> {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &env.tx_ns])
        .arg(bin_dir.join(ToolBin::MmapTx.name()))
        .args([
            "--interface",
            &env.tx_if,
            "--dst-ip",
            &env.rx_ip,
            "--size",
            &size.to_string(),
            "--count",
            "1",
            "--print-frame",
        ])
        .output()
        .map_err(|e| Error::Tool(format!("{} --print-frame: {e}", ToolBin::MmapTx)))?;
    if !out.status.success() {
        return Err(Error::Tool(format!(
            "{} --print-frame: {}",
            ToolBin::MmapTx,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let hex = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let conf = trafgen_conf(&hex, FRAME_OVERHEAD + size)?;
    std::fs::write(path, conf).map_err(Error::io("write", &path))?;
    let mac: Vec<&str> = (0..6).map(|i| &hex[2 * i..2 * i + 2]).collect();
    Ok(mac.join(":"))
}

/// A trafgen configuration sending one frame, given as hex, that must be `len` bytes long.
pub fn trafgen_conf(hex: &str, len: usize) -> Result<String, Error> {
    if hex.len() != 2 * len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Request(format!(
            "expected {len} bytes of hex for the frame, got {:?}",
            hex.chars().take(40).collect::<String>()
        )));
    }
    let mut conf = String::from("# mmap-tx's first frame, byte for byte (valid checksums)\n{\n");
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let sep = if i + 1 == len {
            "\n"
        } else if i % 12 == 11 {
            ",\n"
        } else {
            ", "
        };
        let _ = write!(conf, "0x{}{sep}", String::from_utf8_lossy(pair));
    }
    conf.push_str("}\n");
    Ok(conf)
}

/// Runs the benchmark: every table, the tools alternating, one CSV row per run, then the
/// Markdown summary. Returns the rows.
pub fn execute(plan: &BenchPlan, stop: &AtomicBool) -> Result<Vec<BenchRow>, Error> {
    let _ = plan.setups.down("native");
    let env = match plan.setups.up("native")?.into_env() {
        Ok(env) => env,
        Err((status, why)) => return Err(Error::Tool(format!("native set-up {status}: {why}"))),
    };
    struct Down<'a>(&'a Setups);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = self.0.down("native");
        }
    }
    let _down = Down(&plan.setups);
    std::fs::create_dir_all(&plan.out).map_err(Error::io("create", &plan.out))?;
    let frame_file = plan.out.join(format!("trafgen-{}B.cfg", plan.size));
    let dst_mac = trafgen_config(&env, &plan.bin_dir, plan.size, &frame_file)?;
    let ctx = Ctx {
        plan,
        env,
        machine: Machine::probe(&plan.repo),
        frame_file,
        dst_mac,
        stop,
    };
    let mut csv = ResultsFile::open_with(&plan.out, BENCH_CSV, &header_of::<BenchRow>())?;
    let mut rows = Vec::new();
    let mut keep = |row: BenchRow, rows: &mut Vec<BenchRow>| -> Result<(), Error> {
        eprintln!(
            "{:<13} {:<13} {:<11} #{} {:>10} pps  received {}  drops {}  tx cpu {}  {}{}",
            row.phase,
            row.fate,
            row.tool,
            row.repetition,
            row.pps.map_or("-".into(), |v| format!("{v:.0}")),
            row.received.map_or("-".into(), |v| v.to_string()),
            row.kernel_drops.map_or("-".into(), |v| v.to_string()),
            row.tx_cpu_s.map_or("-".into(), |v| format!("{v:.2}s")),
            row.status,
            if row.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", row.reason)
            }
        );
        csv.append(&row)?;
        rows.push(row);
        Ok(())
    };
    let frame_len = FRAME_OVERHEAD + plan.size;
    let pps_of = |r: &Rate| r.packets_per_second(frame_len).map(|p| p.round() as u64);
    let stopped = || stop.load(std::sync::atomic::Ordering::Relaxed);
    if plan.phases.contains(&Phase::Send) {
        let mut tables = vec![(Fate::IngressDrop, None), (Fate::Socket, None)];
        tables.extend(
            plan.paced_rates
                .iter()
                .map(|r| (Fate::IngressDrop, pps_of(r))),
        );
        for (fate, pps) in tables {
            for rep in 1..=plan.repetitions {
                for &s in &plan.senders {
                    if stopped() {
                        return Ok(rows);
                    }
                    if pps.is_some() && s.endless() {
                        continue; // no rate to pace at
                    }
                    keep(ctx.send_run(s, fate, pps, rep), &mut rows)?;
                }
            }
        }
    }
    let mut receive_tables: Vec<(&str, Sender, Option<u64>)> = Vec::new();
    if plan.phases.contains(&Phase::Receive) {
        for (phase, offer) in RECEIVE_PHASES {
            receive_tables.extend([
                (phase, offer, pps_of(&plan.receiver_rate)),
                (phase, offer, None),
            ]);
        }
    }
    if plan.phases.contains(&Phase::Capacity) {
        receive_tables.extend(
            plan.capacity_rates
                .iter()
                .map(|r| ("capacity", Sender::MmapV3, pps_of(r))),
        );
    }
    for (phase, offer, pps) in receive_tables {
        for rep in 1..=plan.repetitions {
            for receiver in Receiver::ALL {
                if stopped() {
                    return Ok(rows);
                }
                keep(ctx.receive_run(phase, offer, receiver, pps, rep), &mut rows)?;
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trafgen_gets_the_frame_byte_for_byte() {
        let hex: String = (0..30u8).map(|b| format!("{b:02x}")).collect();
        let conf = trafgen_conf(&hex, 30).unwrap();
        let bytes: Vec<u8> = conf
            .lines()
            .filter(|l| l.starts_with("0x"))
            .flat_map(|l| l.split(','))
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .map(|t| u8::from_str_radix(t.trim_start_matches("0x"), 16).unwrap())
            .collect();
        assert_eq!(bytes, (0..30u8).collect::<Vec<_>>());
        assert!(conf.contains("{\n") && conf.ends_with("}\n"), "{conf}");
        assert!(trafgen_conf(&hex, 31).is_err(), "a short frame is refused");
        assert!(
            trafgen_conf(&"zz".repeat(30), 30).is_err(),
            "non-hex is refused"
        );
    }
}
