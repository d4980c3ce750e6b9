//! The conditions a run measured under, recorded once per set-up beside the rows
//! (`conditions-v1.json`), as draft-ietf-bmwg-containerized-infra asks every result to carry:
//! the machine, the cores the tools ran on, and for each interface in the path its MTU, queue
//! counts, receive packet steering mask and offloads (`ethtool -k`), with the busy-poll
//! settings and the versions of the engines involved.
//!
//! Probing never fails a run: what cannot be read is recorded as unknown, with the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::experiment::place::setup::SetupEnv;
use crate::experiment::place::stdout_of;
use crate::experiment::Error;

/// The file beside the rows.
pub const FILE: &str = "conditions-v1.json";

/// Everything recorded for one results directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    /// Version of this layout (1).
    pub schema: u32,
    /// Kernel release.
    pub kernel: String,
    /// CPU model.
    pub cpu_model: String,
    /// Online CPUs.
    pub cpus: usize,
    /// The tools' commit.
    pub git_commit: String,
    /// The tools' version.
    pub tool_version: String,
    /// Core the senders are pinned to.
    pub sender_core: usize,
    /// Core the receivers are pinned to.
    pub receiver_core: usize,
    /// `net.core.busy_poll` and `net.core.busy_read` (µs; 0: no busy polling by default).
    pub busy_poll: BTreeMap<String, String>,
    /// Versions of the programs the set-ups used (docker, ovs-vswitchd), as they print them.
    pub versions: BTreeMap<String, String>,
    /// Each set-up, as it was when its runs started.
    pub setups: Vec<SetupConditions>,
}

/// One set-up's conditions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SetupConditions {
    /// Set-up name.
    pub setup: String,
    /// netns, docker or swarm.
    pub engine: String,
    /// What switched the frames.
    pub datapath: String,
    /// The set-up's note.
    pub note: String,
    /// Whether receive packet steering was asked for.
    pub rps: bool,
    /// The sending and receiving interfaces.
    pub interfaces: Vec<InterfaceConditions>,
}

/// One interface in the path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InterfaceConditions {
    /// `tx` or `rx`.
    pub side: String,
    /// Its network namespace.
    pub namespace: String,
    /// Its name there.
    pub name: String,
    /// Its MTU.
    pub mtu: Option<u32>,
    /// Its receive queues.
    pub rx_queues: Option<u32>,
    /// Its transmit queues.
    pub tx_queues: Option<u32>,
    /// `rps_cpus` of its first receive queue (hex mask; 0: no steering).
    pub rps_cpus: Option<String>,
    /// Its offloads as `ethtool -k` prints them (`on`, `off`, `off [fixed]`, ...).
    pub offloads: BTreeMap<String, String>,
    /// Why something above is unknown.
    pub unknown: Vec<String>,
}

impl Conditions {
    /// The machine's part, read now.
    pub fn of_machine(
        machine: &super::host::Machine,
        sender_core: usize,
        receiver_core: usize,
    ) -> Self {
        let sysctl = |name: &str| {
            std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|e| format!("unknown: {e}"))
        };
        Conditions {
            schema: 1,
            kernel: machine.kernel.clone(),
            cpu_model: machine.cpu_model.clone(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            git_commit: machine.git_commit.clone(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            sender_core,
            receiver_core,
            busy_poll: ["busy_poll", "busy_read"]
                .into_iter()
                .map(|k| (k.to_string(), sysctl(k)))
                .collect(),
            versions: BTreeMap::new(),
            setups: Vec::new(),
        }
    }

    /// Adds set-up `env` (on `engine`), probing its interfaces and the versions of what it
    /// uses.
    pub fn add_setup(&mut self, env: &SetupEnv, engine: &str) {
        if engine != "netns" {
            self.version(
                "docker",
                &["docker", "version", "--format", "{{.Server.Version}}"],
            );
        }
        if env.ovs_bridge.is_some() {
            self.version("ovs-vswitchd", &["ovs-vswitchd", "--version"]);
        }
        let remote = |node_engine: &Option<String>| node_engine.is_some();
        let interfaces = [
            ("tx", &env.tx_ns, &env.tx_if, remote(&env.tx_engine)),
            ("rx", &env.rx_ns, &env.rx_if, remote(&env.rx_engine)),
        ]
        .into_iter()
        .map(|(side, ns, name, remote)| {
            if remote {
                InterfaceConditions {
                    side: side.into(),
                    namespace: ns.clone(),
                    name: name.clone(),
                    unknown: vec!["on another node's engine".into()],
                    ..Default::default()
                }
            } else {
                probe_interface(side, ns, name)
            }
        })
        .collect();
        self.setups.push(SetupConditions {
            setup: env.setup.clone(),
            engine: engine.to_string(),
            datapath: env.datapath.clone(),
            note: env.note.clone(),
            rps: env.rps,
            interfaces,
        });
    }

    fn version(&mut self, name: &str, argv: &[&str]) {
        if self.versions.contains_key(name) {
            return;
        }
        let v = stdout_of(argv)
            .map(|o| o.lines().next().unwrap_or("").trim().to_string())
            .unwrap_or_else(|e| format!("unknown: {e}"));
        self.versions.insert(name.to_string(), v);
    }

    /// Writes the file into `dir` whole (a temporary file renamed over it).
    pub fn write(&self, dir: &Path) -> Result<PathBuf, Error> {
        let path = dir.join(FILE);
        let tmp = dir.join(format!(".{FILE}.tmp"));
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Tool(format!("conditions: {e}")))?;
        std::fs::write(&tmp, text + "\n").map_err(Error::io("write", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(Error::io("rename", &path))?;
        Ok(path)
    }

    /// Reads `dir`'s file, if it has one.
    pub fn read(dir: &Path) -> Result<Option<Conditions>, Error> {
        let path = dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Error::malformed(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", &path)(e)),
        }
    }
}

/// Reads interface `name` in namespace `ns`: link facts from `ip -d -j link`, the RPS mask
/// from its sysfs (through `ip netns exec`, which mounts the namespace's /sys), offloads from
/// `ethtool -k`.
fn probe_interface(side: &str, ns: &str, name: &str) -> InterfaceConditions {
    let mut c = InterfaceConditions {
        side: side.into(),
        namespace: ns.into(),
        name: name.into(),
        ..Default::default()
    };
    match stdout_of(&["ip", "-n", ns, "-d", "-j", "link", "show", name]) {
        Ok(json) => match serde_json::from_str::<serde_json::Value>(&json) {
            Ok(v) => {
                let num = |k: &str| v[0][k].as_u64().and_then(|n| u32::try_from(n).ok());
                (c.mtu, c.rx_queues, c.tx_queues) =
                    (num("mtu"), num("num_rx_queues"), num("num_tx_queues"));
            }
            Err(e) => c.unknown.push(format!("ip link: {e}")),
        },
        Err(e) => c.unknown.push(e),
    }
    let rps = format!("/sys/class/net/{name}/queues/rx-0/rps_cpus");
    match stdout_of(&["ip", "netns", "exec", ns, "cat", &rps]) {
        Ok(mask) => c.rps_cpus = Some(mask.trim().to_string()),
        Err(e) => c.unknown.push(e),
    }
    match stdout_of(&["ip", "netns", "exec", ns, "ethtool", "-k", name]) {
        Ok(text) => c.offloads = parse_offloads(&text),
        Err(e) => c.unknown.push(e),
    }
    c
}

/// `ethtool -k` text as feature → state (`on`, `off`, `off [fixed]`, ...).
pub fn parse_offloads(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()) || l.starts_with('\t'))
        .filter_map(|l| l.trim().split_once(": "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offloads_are_read_from_ethtool_k_with_their_fixed_marks() {
        let text = "Features for pkm0:\nrx-checksumming: on\ntx-checksumming: on\n\ttx-checksum-ipv4: off [fixed]\n\ttx-checksum-ip-generic: on\ngeneric-receive-offload: off\ntx-udp-segmentation: on\n";
        let o = parse_offloads(text);
        assert_eq!(o.len(), 6, "{o:?}");
        assert_eq!(o["tx-checksum-ipv4"], "off [fixed]");
        assert_eq!(o["generic-receive-offload"], "off");
        assert!(!o.contains_key("Features for pkm0"));
    }

    #[test]
    fn the_file_is_written_whole_and_read_back() {
        let dir = std::env::temp_dir().join(format!("pktmmap-conditions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(Conditions::read(&dir).unwrap(), None);
        let mut c = Conditions::of_machine(&super::super::host::Machine::default(), 0, 1);
        c.setups.push(SetupConditions {
            setup: "native".into(),
            interfaces: vec![InterfaceConditions {
                side: "rx".into(),
                mtu: Some(1500),
                ..Default::default()
            }],
            ..Default::default()
        });
        c.write(&dir).unwrap();
        assert_eq!(Conditions::read(&dir).unwrap(), Some(c));
        std::fs::write(dir.join(FILE), "{").unwrap();
        assert!(Conditions::read(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
