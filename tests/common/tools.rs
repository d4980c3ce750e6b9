//! Our tools run inside the namespaces: receivers waited for, senders run to their end,
//! their summaries read into their types; the runner; output helpers.

use super::*;
/// Waits until process `pid` catches SIGINT and SIGTERM (`SigCgt` in /proc/PID/status): its
/// handlers are installed, so a signal sent next is the tool's to handle, not one that kills
/// `ip netns exec` (or the tool) before the tool is ready for it.
pub fn wait_for_signal_handlers(pid: u32) {
    let want: u64 = (1 << (libc::SIGINT - 1)) | (1 << (libc::SIGTERM - 1));
    let by = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0);
        if caught & want == want {
            return;
        }
        assert!(
            std::time::Instant::now() < by,
            "process {pid} never installed its SIGINT/SIGTERM handlers"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A running receiver: killed on drop if still running. Its standard output is read as it
/// comes, so that a test can wait for what it reports (an interval line) before acting.
pub struct Receiver {
    child: Option<Child>,
    stderr: mpsc::Receiver<String>,
    stdout: mpsc::Receiver<String>,
    stdout_seen: Vec<String>,
}

/// Lines of `from`, one by one, into a channel (until the end of the stream).
fn line_channel(from: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

impl Receiver {
    /// Starts `tool args` in `ns` and waits until it prints its `ready` line.
    ///
    /// udp-rx gets a 4 MiB socket buffer unless the test sets one: the tests count exactly on
    /// a two-core machine running them side by side, and the default (208 KiB, ~5 ms at
    /// 50 kpps) overflows whenever udp-rx waits that long for a core (the runner does the same,
    /// `run::UDP_RCVBUF`).
    pub fn start(ns: &str, tool: &str, args: &[&str]) -> Self {
        let mut args = args.to_vec();
        if tool == UDP_RX && !args.contains(&"--rcvbuf") {
            args.extend(["--rcvbuf", "4194304"]);
        }
        let mut child = VethPair::cmd(ns, tool, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn receiver");
        let rx = line_channel(child.stderr.take().unwrap());
        let stdout = line_channel(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(l) if l.contains("ready") => break,
                Ok(l) => lines.push(l),
                Err(_) => {
                    let _ = child.kill();
                    panic!("{tool} never said ready; stderr: {lines:?}");
                }
            }
        }
        Receiver {
            child: Some(child),
            stderr: rx,
            stdout,
            stdout_seen: Vec::new(),
        }
    }

    /// Waits (10 s at most) until the receiver prints a JSON line for which `event` is true:
    /// `what` names the event in the failure.
    pub fn wait_for(&mut self, what: &str, mut event: impl FnMut(&serde_json::Value) -> bool) {
        let by = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = by.saturating_duration_since(std::time::Instant::now());
            let line = self.stdout.recv_timeout(left).unwrap_or_else(|_| {
                panic!("the receiver never reported {what}: {:?}", self.stdout_seen)
            });
            let seen = serde_json::from_str(&line).is_ok_and(|v| event(&v));
            self.stdout_seen.push(line);
            if seen {
                return;
            }
        }
    }

    /// Waits until the receiver's interval reports (`--interval` with `--json`) have counted
    /// `packets` packets, received or dropped by the kernel.
    pub fn wait_for_counted(&mut self, packets: u64) {
        let mut drops = 0;
        self.wait_for(&format!("{packets} packets counted"), |v| {
            drops += v["kernel_drops"].as_u64().unwrap_or(0);
            v["type"] == "interval" && v["received_total"].as_u64().unwrap_or(0) + drops >= packets
        });
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    /// Waits for the receiver to exit, however it ends; returns its exit status.
    pub fn finish_any(mut self) -> std::process::ExitStatus {
        self.child.take().unwrap().wait().expect("wait receiver")
    }

    /// Waits for the receiver to exit; returns its exit code and every line it printed.
    fn output(&mut self) -> (i32, Vec<String>) {
        let status = self.child.take().unwrap().wait().expect("wait receiver");
        // The reader ends at the end of the stream, which the exit closed.
        let mut lines = std::mem::take(&mut self.stdout_seen);
        lines.extend(self.stdout.iter());
        (status.code().unwrap_or(-1), lines)
    }

    /// Waits for the receiver to exit; returns its exit code and its summary (its last line).
    pub fn finish(mut self) -> (i32, RxSummary) {
        let (code, out) = self.output();
        let err: Vec<String> = self.stderr.try_iter().collect();
        let json = out
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("receiver printed no JSON: stdout {out:?} stderr {err:?}"));
        (code, rx_summary(&json))
    }
}

impl Receiver {
    /// Waits for the receiver to exit; returns its exit code and every JSON line it printed
    /// (`--interval` with `--json`).
    pub fn finish_lines(mut self) -> (i32, Vec<serde_json::Value>) {
        let (code, out) = self.output();
        (code, json_lines(out.join("\n").as_bytes()))
    }
}

/// Every line of `stdout` as JSON; panics naming the first line that is not.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts a receiver in the receiving namespace, waits for its ready line, runs a sender to
/// its end, and returns both summaries (the receiver must exit 0).
pub fn pair(p: &VethPair, rx: (&str, &[&str]), tx: (&str, &[&str])) -> (TxSummary, RxSummary) {
    let r = Receiver::start(&p.rx_ns, rx.0, rx.1);
    let t = send(&p.tx_ns, tx.0, tx.1);
    let (code, r) = r.finish();
    assert_eq!(code, 0, "receiver exit code; summary {r:?}");
    (t, r)
}

/// The test binary of one of our tools.
pub fn binary(tool: ToolBin) -> &'static str {
    match tool {
        ToolBin::MmapTx => MMAP_TX,
        ToolBin::MmapRx => MMAP_RX,
        ToolBin::UdpTx => UDP_TX,
        ToolBin::UdpRx => UDP_RX,
        ToolBin::XdpTx => XDP_TX,
        ToolBin::XdpRx => XDP_RX,
    }
}

/// Words for `extra` (a tool's own options).
pub fn words(w: &[&str]) -> Vec<String> {
    w.iter().map(|s| s.to_string()).collect()
}

impl VethPair {
    /// `tool` sending `count` 64-byte datagrams at `rate` from the sending namespace to the
    /// receiving one, pinned to core 0: its command line from the runner's typed builder
    /// (fields can be changed with `SenderArgs { size: "1400".into(), ..p.sender(..) }`).
    pub fn sender(&self, tool: ToolBin, count: u64, rate: &str) -> SenderArgs<'_> {
        SenderArgs {
            tool,
            interface: (tool.endpoint() == Endpoint::Interface).then_some(self.tx_if.as_str()),
            dst_ip: &self.rx_ip,
            count,
            size: "64".into(),
            rate: rate.to_string(),
            cpu: 0,
            extra: Vec::new(),
            interval_s: None,
            reflect_every: None,
        }
    }

    /// `tool` receiving `count` datagrams in the receiving namespace, pinned to core 1, done
    /// after 3 s without traffic; udp-rx bound to the receiving address with a 4 MiB buffer
    /// (see [`Receiver::start`]).
    pub fn receiver(&self, tool: ToolBin, count: u64) -> ReceiverArgs<'_> {
        let by_interface = tool.endpoint() == Endpoint::Interface;
        ReceiverArgs {
            tool,
            interface: by_interface.then_some(self.rx_if.as_str()),
            bind: (!by_interface).then_some((self.rx_ip.as_str(), 4 << 20)),
            count: Some(count),
            idle_timeout_s: 3.0,
            cpu: 1,
            interval_s: None,
            reflect_every: None,
            extra: Vec::new(),
        }
    }
}

impl VethPair {
    /// [`VethPair::sender`] to the receiver's IPv6 address.
    pub fn sender6(&self, tool: ToolBin, count: u64, rate: &str) -> SenderArgs<'_> {
        SenderArgs {
            dst_ip: &self.rx_ip6,
            ..self.sender(tool, count, rate)
        }
    }

    /// Sender `tool` (its name) given `extra`, 10 datagrams to the receiver's address (from
    /// the sending interface, for the senders that build frames), which must fail: its exit
    /// code and its one line of error ([`fails`]).
    pub fn sender_fails(&self, tool: &str, extra: &[&str]) -> (i32, String) {
        let mut args = vec!["--dst-ip", self.rx_ip.as_str(), "--count", "10"];
        if tool != UDP_TX {
            args.extend(["-i", self.tx_if.as_str()]);
        }
        args.extend(extra);
        fails(&self.tx_ns, tool, &args)
    }

    /// [`VethPair::receiver`], udp-rx bound to the receiver's IPv6 address.
    pub fn receiver6(&self, tool: ToolBin, count: u64) -> ReceiverArgs<'_> {
        let r = self.receiver(tool, count);
        ReceiverArgs {
            bind: r.bind.map(|(_, buffer)| (self.rx_ip6.as_str(), buffer)),
            ..r
        }
    }
}

/// [`pair`] for command lines built with the runner's typed builders.
pub fn run_pair(p: &VethPair, rx: &ReceiverArgs, tx: &SenderArgs) -> (TxSummary, RxSummary) {
    let (rx_argv, tx_argv) = (rx.argv(), tx.argv());
    let rx_args: Vec<&str> = rx_argv.iter().map(String::as_str).collect();
    let tx_args: Vec<&str> = tx_argv.iter().map(String::as_str).collect();
    pair(p, (binary(rx.tool), &rx_args), (binary(tx.tool), &tx_args))
}

/// Runs a sender to completion; panics if it fails; returns its summary.
pub fn send(ns: &str, tool: &str, args: &[&str]) -> TxSummary {
    let out = VethPair::cmd(ns, tool, args).output().expect("run sender");
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tx_summary(&serde_json::from_slice(&out.stdout).expect("sender JSON"))
}

/// A receiver's JSON summary read into its type (every field present with its type).
pub fn rx_summary(v: &serde_json::Value) -> RxSummary {
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("not a receiver summary ({e}): {v}"))
}

/// A sender's JSON summary read into its type.
pub fn tx_summary(v: &serde_json::Value) -> TxSummary {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not a sender summary ({e}): {v}"))
}

/// Runs a command to completion and returns its output.
pub fn run(ns: &str, tool: &str, args: &[&str]) -> Output {
    VethPair::cmd(ns, tool, args).output().expect("run tool")
}

/// Runs a tool expecting failure; returns (exit code, the one line of stderr). Nothing may
/// reach stdout, and the line must not be a panic.
pub fn fails(ns: &str, tool: &str, args: &[&str]) -> (i32, String) {
    let out = run(ns, tool, args);
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(err.lines().count(), 1, "one line of error, got {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
    (out.status.code().unwrap_or(-1), err)
}

pub const MMAP_TX: &str = env!("CARGO_BIN_EXE_mmap-tx");
pub const MMAP_RX: &str = env!("CARGO_BIN_EXE_mmap-rx");
pub const UDP_TX: &str = env!("CARGO_BIN_EXE_udp-tx");
pub const UDP_RX: &str = env!("CARGO_BIN_EXE_udp-rx");
pub const XDP_TX: &str = env!("CARGO_BIN_EXE_xdp-tx");
pub const XDP_RX: &str = env!("CARGO_BIN_EXE_xdp-rx");

/// The runner's binary.
pub const PKTMMAP: &str = env!("CARGO_BIN_EXE_pktmmap");

/// Runs the runner with `args`.
pub fn pktmmap(args: &[&str]) -> Output {
    Command::new(PKTMMAP)
        .args(args)
        .output()
        .expect("run pktmmap")
}

/// A fresh temporary directory path (not created) for results.
pub fn tmp(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("pktmmap-exp-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A command's exit code and output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
