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
    /// UDP payload bytes.
    pub size: usize,
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
            .opt("--size", self.size)
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
    fn command_lines_are_built_from_types() {
        let s = SenderArgs {
            tool: ToolBin::MmapTx,
            interface: Some("veth0"),
            dst_ip: "10.0.0.2",
            count: 5,
            size: 64,
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
