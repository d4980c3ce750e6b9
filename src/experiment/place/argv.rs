//! Our tools' command lines, built from typed structs (never from a shell string).

use crate::experiment::plan::apps::ToolBin;

/// A sender of ours (mmap-tx, udp-tx) as a command line.
#[derive(Debug, Clone)]
pub struct SenderArgs<'a> {
    /// Which sender.
    pub tool: ToolBin,
    /// The interface (mmap-tx only).
    pub interface: Option<&'a str>,
    /// Destination address.
    pub dst_ip: &'a str,
    /// Datagrams.
    pub count: u64,
    /// `--size`: UDP payload bytes, or a size mix (`imix`).
    pub size: String,
    /// Rate as the tools parse it (`max`, `500Mbps`, `250000pps`).
    pub rate: String,
    /// Core to pin to.
    pub cpu: usize,
    /// Options of that tool alone (`--ring-version v2`, `--batch 64`, `--gso 64`).
    pub extra: Vec<String>,
    /// Interval reports every this many seconds (`--interval`).
    pub interval_s: Option<f64>,
    /// Time the reflections of every N-th probe (`--reflect-every`).
    pub reflect_every: Option<u64>,
}

impl SenderArgs<'_> {
    /// The arguments, with `--json`.
    pub fn argv(&self) -> Vec<String> {
        Argv::default()
            .some("--interface", self.interface)
            .opt("--dst-ip", self.dst_ip)
            .opt("--count", self.count)
            .opt("--size", &self.size)
            .opt("--rate", &self.rate)
            .opt("--cpu", self.cpu)
            .flag("--json")
            .some("--interval", self.interval_s)
            .some("--reflect-every", self.reflect_every)
            .words(&self.extra)
            .build()
    }
}

/// A receiver of ours (mmap-rx, udp-rx) as a command line.
#[derive(Debug, Clone)]
pub struct ReceiverArgs<'a> {
    /// Which receiver.
    pub tool: ToolBin,
    /// The interface (mmap-rx only).
    pub interface: Option<&'a str>,
    /// Address to bind and socket buffer (udp-rx only).
    pub bind: Option<(&'a str, usize)>,
    /// Stop after this many datagrams.
    pub count: Option<u64>,
    /// Stop after this many seconds without traffic.
    pub idle_timeout_s: f64,
    /// Core to pin to.
    pub cpu: usize,
    /// Interval reports every this many seconds (`--interval`).
    pub interval_s: Option<f64>,
    /// Reflect every N-th probe back to the sender (`--reflect-every`).
    pub reflect_every: Option<u64>,
    /// Options of that tool alone (`--gro`, `--batch 8`).
    pub extra: Vec<String>,
}

impl ReceiverArgs<'_> {
    /// The arguments, with `--json`.
    pub fn argv(&self) -> Vec<String> {
        Argv::default()
            .some("--interface", self.interface)
            .some("--bind", self.bind.map(|(ip, _)| ip))
            .some("--rcvbuf", self.bind.map(|(_, rcvbuf)| rcvbuf))
            .some("--count", self.count)
            .opt("--idle-timeout", self.idle_timeout_s)
            .opt("--cpu", self.cpu)
            .flag("--json")
            .some("--interval", self.interval_s)
            .some("--reflect-every", self.reflect_every)
            .words(&self.extra)
            .build()
    }
}

/// Another generator's command line, pinned to `cpu` with `taskset`: the program to run and
/// its arguments.
fn pinned(cpu: usize, program: &str, args: Argv) -> (String, Vec<String>) {
    let mut v = vec!["-c".to_string(), cpu.to_string(), program.to_string()];
    v.extend(args.build());
    ("taskset".into(), v)
}

/// netsniff-ng's trafgen, one process (`--cpus 1`), sending the frame of a configuration file.
#[derive(Debug, Clone)]
pub struct TrafgenArgs<'a> {
    /// The interface to send on.
    pub interface: &'a str,
    /// The configuration with the frame (`--conf`).
    pub conf: &'a str,
    /// Frames to send.
    pub count: u64,
    /// Packets per second; `None`: as fast as it can.
    pub pps: Option<u64>,
    /// Core to pin to.
    pub cpu: usize,
}

impl TrafgenArgs<'_> {
    /// `taskset -c CPU trafgen ...`: program and arguments.
    pub fn command(&self) -> (String, Vec<String>) {
        let a = Argv::default()
            .opt("--dev", self.interface)
            .opt("--conf", self.conf)
            .opt("--num", self.count)
            .opt("--cpus", 1)
            .some("--rate", self.pps.map(|r| format!("{r}pps")));
        pinned(self.cpu, "trafgen", a)
    }
}

/// An iperf3 UDP client sending `bytes` in datagrams of `size`, at `bits_per_s` (0: as fast
/// as it can).
#[derive(Debug, Clone)]
pub struct Iperf3ClientArgs<'a> {
    /// The server's address.
    pub server: &'a str,
    /// The server's port (the test port).
    pub port: u16,
    /// UDP payload bytes.
    pub size: usize,
    /// Bits per second of payload; 0: unlimited.
    pub bits_per_s: u64,
    /// Payload bytes to send in all.
    pub bytes: u64,
    /// Core to pin to.
    pub cpu: usize,
}

impl Iperf3ClientArgs<'_> {
    /// `taskset -c CPU iperf3 --client ...`: program and arguments.
    pub fn command(&self) -> (String, Vec<String>) {
        let a = Argv::default()
            .opt("--client", self.server)
            .opt("--port", self.port)
            .flag("--udp")
            .opt("--length", self.size)
            .opt("--bitrate", self.bits_per_s)
            .opt("--bytes", self.bytes)
            .flag("--udp-counters-64bit");
        pinned(self.cpu, "iperf3", a)
    }
}

/// An iperf3 server for one test, bound to `bind:port`.
#[derive(Debug, Clone)]
pub struct Iperf3ServerArgs<'a> {
    /// Address to bind.
    pub bind: &'a str,
    /// Port (the test port).
    pub port: u16,
    /// Core to pin to.
    pub cpu: usize,
}

impl Iperf3ServerArgs<'_> {
    /// `taskset -c CPU iperf3 --server ... --one-off`: program and arguments.
    pub fn command(&self) -> (String, Vec<String>) {
        let a = Argv::default()
            .flag("--server")
            .opt("--port", self.port)
            .opt("--bind", self.bind)
            .flag("--one-off");
        pinned(self.cpu, "iperf3", a)
    }
}

/// DPDK's dpdk-testpmd in `txonly` mode on one forwarding core, over a poll-mode driver that
/// wraps a kernel socket on `interface`: frames of `frame_len` bytes with the test flow's
/// addresses and ports, no probe, until interrupted. No hugepages, no PCI, no shared
/// configuration; its runtime directory is /var/run/dpdk/`file_prefix`.
#[derive(Debug, Clone)]
pub struct TestpmdArgs<'a> {
    /// `net_af_xdp` (an AF_XDP socket) instead of `net_af_packet` (a packet_mmap ring).
    pub af_xdp: bool,
    /// The interface the driver opens.
    pub interface: &'a str,
    /// The forwarding core; the main lcore (`main_core`) only prints statistics.
    pub cpu: usize,
    /// The main lcore.
    pub main_core: usize,
    /// `--file-prefix`.
    pub file_prefix: &'a str,
    /// Ethernet frame bytes.
    pub frame_len: usize,
    /// Source and destination IPv4 addresses.
    pub ips: (&'a str, &'a str),
    /// Source and destination UDP ports.
    pub ports: (u16, u16),
    /// The destination MAC.
    pub dst_mac: &'a str,
}

impl TestpmdArgs<'_> {
    /// `dpdk-testpmd EAL-OPTIONS -- TESTPMD-OPTIONS`: program and arguments.
    pub fn command(&self) -> (String, Vec<String>) {
        let vdev = if self.af_xdp {
            format!(
                "net_af_xdp0,iface={},start_queue=0,queue_count=1",
                self.interface
            )
        } else {
            format!("net_af_packet0,iface={},qpairs=1", self.interface)
        };
        let a = Argv::default()
            .opt("-l", format!("{},{}", self.cpu, self.main_core))
            .opt("--main-lcore", self.main_core)
            .flag("--no-huge")
            .opt("-m", 1024)
            .flag("--no-pci")
            .flag("--no-shconf")
            .opt("--file-prefix", self.file_prefix)
            .flag(&format!("--vdev={vdev}"))
            .flag("--")
            .flag("--forward-mode=txonly")
            .flag(&format!("--txpkts={}", self.frame_len))
            .flag(&format!("--tx-ip={},{}", self.ips.0, self.ips.1))
            .flag(&format!("--tx-udp={},{}", self.ports.0, self.ports.1))
            .flag(&format!("--eth-peer=0,{}", self.dst_mac))
            .flag("--auto-start")
            .flag("--nb-cores=1")
            .flag("--stats-period=1")
            .flag("--total-num-mbufs=16384")
            .flag("--rxd=512")
            .flag("--txd=512");
        ("dpdk-testpmd".into(), a.build())
    }
}

/// A command line built option by option, in order.
#[derive(Debug, Default)]
struct Argv(Vec<String>);

impl Argv {
    /// `name value`.
    fn opt(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.0.extend([name.to_string(), value.to_string()]);
        self
    }

    /// `name value` when there is a value.
    fn some(self, name: &str, value: Option<impl std::fmt::Display>) -> Self {
        match value {
            Some(v) => self.opt(name, v),
            None => self,
        }
    }

    /// `name` alone.
    fn flag(mut self, name: &str) -> Self {
        self.0.push(name.to_string());
        self
    }

    /// `words` as they are.
    fn words(mut self, words: &[String]) -> Self {
        self.0.extend(words.iter().cloned());
        self
    }

    /// The command line.
    fn build(self) -> Vec<String> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_generators_command_lines_are_built_from_types() {
        let t = TrafgenArgs {
            interface: "pkm0",
            conf: "/tmp/f.cfg",
            count: 10,
            pps: Some(5),
            cpu: 0,
        };
        assert_eq!(
            t.command(),
            (
                "taskset".to_string(),
                "-c 0 trafgen --dev pkm0 --conf /tmp/f.cfg --num 10 --cpus 1 --rate 5pps"
                    .split(' ')
                    .map(String::from)
                    .collect()
            )
        );
        let c = Iperf3ClientArgs {
            server: "10.0.0.2",
            port: 9000,
            size: 64,
            bits_per_s: 0,
            bytes: 640,
            cpu: 0,
        };
        assert_eq!(
            c.command().1.join(" "),
            "-c 0 iperf3 --client 10.0.0.2 --port 9000 --udp --length 64 --bitrate 0 --bytes 640 --udp-counters-64bit"
        );
        let s = Iperf3ServerArgs {
            bind: "10.0.0.2",
            port: 9000,
            cpu: 1,
        };
        assert_eq!(
            s.command().1.join(" "),
            "-c 1 iperf3 --server --port 9000 --bind 10.0.0.2 --one-off"
        );
        let p = TestpmdArgs {
            af_xdp: true,
            interface: "pkm0",
            cpu: 0,
            main_core: 1,
            file_prefix: "x",
            frame_len: 106,
            ips: ("10.0.0.1", "10.0.0.2"),
            ports: (9001, 9000),
            dst_mac: "02:00:00:00:00:01",
        };
        let (program, args) = p.command();
        assert_eq!(program, "dpdk-testpmd");
        let args = args.join(" ");
        assert!(
            args.starts_with("-l 0,1 --main-lcore 1 --no-huge -m 1024 --no-pci --no-shconf --file-prefix x --vdev=net_af_xdp0,iface=pkm0,start_queue=0,queue_count=1 -- --forward-mode=txonly --txpkts=106 --tx-ip=10.0.0.1,10.0.0.2 --tx-udp=9001,9000 --eth-peer=0,02:00:00:00:00:01 "),
            "{args}"
        );
    }

    #[test]
    fn command_lines_are_built_from_types() {
        let s = SenderArgs {
            tool: ToolBin::MmapTx,
            interface: Some("veth0"),
            dst_ip: "10.0.0.2",
            count: 5,
            size: "64".into(),
            rate: "max".into(),
            cpu: 0,
            extra: vec!["--ring-version".into(), "v2".into()],
            interval_s: Some(0.5),
            reflect_every: Some(100),
        };
        assert_eq!(
            s.argv().join(" "),
            "--interface veth0 --dst-ip 10.0.0.2 --count 5 --size 64 --rate max --cpu 0 --json --interval 0.5 --reflect-every 100 --ring-version v2"
        );
        let r = ReceiverArgs {
            tool: ToolBin::UdpRx,
            interface: None,
            bind: Some(("10.0.0.2", 4096)),
            count: Some(5),
            idle_timeout_s: 1.5,
            cpu: 1,
            interval_s: None,
            reflect_every: None,
            extra: vec!["--gro".into()],
        };
        assert_eq!(
            r.argv().join(" "),
            "--bind 10.0.0.2 --rcvbuf 4096 --count 5 --idle-timeout 1.5 --cpu 1 --json --gro"
        );
    }
}
