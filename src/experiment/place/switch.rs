//! The drops a software switch counts itself, read before and after each run, so that a
//! packet lost inside Open vSwitch is a counted drop like one lost in a ring or a socket.
//!
//! What Open vSwitch's userspace datapath (`netdev`) loses, it loses mostly where it reads
//! a port: ovs-vswitchd receives each port's frames through a packet socket, and when it does
//! not read fast enough the kernel drops into that socket's full receive queue (`sk_drops`),
//! which no OVS statistic shows (seen: 153,467 of 200,000 frames, every one in that counter,
//! interface statistics all 0). So [`SwitchDrops`] sums:
//! - `sk_drops` of the packet sockets bound to the bridge's ports (a `sock_diag` dump, see
//!   [`crate::net::packet_socket_drops`]);
//! - the OVS-only interface statistics of those ports (`ovs_tx_failure_drops`,
//!   `ovs_tx_mtu_exceeded_drops`, `ovs_tx_qos_drops`, `ovs_rx_qos_drops`, ... every
//!   `ovs_*drops` key), which the datapath counts in userspace;
//! - the datapath's `lost` upcalls (`ovs-appctl dpctl/show`).
//!
//! The ports' `rx_dropped`/`tx_dropped` are left out: for a system port they are the kernel's
//! own device counters (a veth's full backlog), which the receive backlog drops already count.

use crate::experiment::Error;

/// One reading of a bridge's drop counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwitchDrops {
    /// Drops of the packet sockets that read the bridge's ports.
    pub socket: u64,
    /// The ports' `ovs_*drops` statistics.
    pub ports: u64,
    /// The datapath's lost upcalls.
    pub datapath: u64,
}

impl SwitchDrops {
    /// Every drop in the reading.
    pub fn total(&self) -> u64 {
        self.socket + self.ports + self.datapath
    }

    /// Reads the counters of Open vSwitch bridge `bridge` (host namespace).
    pub fn read_ovs(bridge: &str) -> Result<SwitchDrops, Error> {
        let ports = ovs_command(&["ovs-vsctl", "list-ports", bridge])?;
        let ports: Vec<&str> = ports.lines().map(str::trim).collect();
        let table = ovs_command(&[
            "ovs-vsctl",
            "--format=json",
            "--columns=name,ifindex,statistics",
            "list",
            "interface",
        ])?;
        let interfaces = parse_interface_table(&table)
            .map_err(|why| Error::Tool(format!("ovs-vsctl list interface: {why}")))?;
        let ours: Vec<&OvsInterface> = interfaces
            .iter()
            .filter(|i| ports.contains(&i.name.as_str()))
            .collect();
        if ours.len() != ports.len() {
            return Err(Error::Tool(format!(
                "ovs-vsctl lists ports {ports:?} on {bridge} but interfaces {:?}",
                ours.iter().map(|i| &i.name).collect::<Vec<_>>()
            )));
        }
        let ifindexes: Vec<u32> = ours.iter().filter_map(|i| i.ifindex).collect();
        let socket =
            crate::net::packet_socket_drops(&ifindexes).map_err(|e| Error::Tool(e.to_string()))?;
        let datapath_type = ovs_command(&["ovs-vsctl", "get", "bridge", bridge, "datapath_type"])?;
        let datapath_type = match datapath_type.trim().trim_matches('"') {
            "" => "system",
            t => t,
        }
        .to_string();
        let show = ovs_command(&[
            "ovs-appctl",
            "dpctl/show",
            &format!("{datapath_type}@ovs-{datapath_type}"),
        ])?;
        Ok(SwitchDrops {
            socket,
            ports: ours.iter().map(|i| i.ovs_drops).sum(),
            datapath: parse_lost_upcalls(&show).ok_or_else(|| {
                Error::Tool(format!(
                    "ovs-appctl dpctl/show: no lookups line in {show:?}"
                ))
            })?,
        })
    }

    /// The drops between `self` (before) and `after`; a counter that went backwards (the
    /// switch restarted in between) makes the difference unknowable.
    pub fn since(&self, after: &SwitchDrops) -> Option<SwitchDrops> {
        Some(SwitchDrops {
            socket: after.socket.checked_sub(self.socket)?,
            ports: after.ports.checked_sub(self.ports)?,
            datapath: after.datapath.checked_sub(self.datapath)?,
        })
    }
}

/// Runs an Open vSwitch command; its failure is the run's tool error.
fn ovs_command(argv: &[&str]) -> Result<String, Error> {
    super::stdout_of(argv).map_err(Error::Tool)
}

/// One row of `ovs-vsctl --format=json --columns=name,ifindex,statistics list interface`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvsInterface {
    /// The interface's name.
    pub name: String,
    /// Its kernel interface index (none for a port without a kernel device).
    pub ifindex: Option<u32>,
    /// The sum of its `ovs_*drops` statistics.
    pub ovs_drops: u64,
}

/// Reads `ovs-vsctl`'s JSON table (`{"data":[[name, ifindex, ["map", [[key, n], ...]]]],
/// "headings":["name","ifindex","statistics"]}`); anything else is an error naming what.
pub fn parse_interface_table(json: &str) -> Result<Vec<OvsInterface>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if v["headings"] != serde_json::json!(["name", "ifindex", "statistics"]) {
        return Err(format!("unexpected headings {}", v["headings"]));
    }
    let rows = v["data"].as_array().ok_or("no data array")?;
    rows.iter()
        .map(|row| {
            let name = row[0].as_str().ok_or("a row without a name")?.to_string();
            // An empty column is ["set", []].
            let ifindex = row[1].as_u64().and_then(|i| u32::try_from(i).ok());
            let map = match &row[2] {
                serde_json::Value::Array(m) if m.len() == 2 && m[0] == "map" => {
                    m[1].as_array().ok_or("statistics map without pairs")?
                }
                other => return Err(format!("{name}: statistics {other} are not a map")),
            };
            let mut ovs_drops = 0u64;
            for pair in map {
                let (Some(key), Some(n)) = (pair[0].as_str(), pair[1].as_u64()) else {
                    return Err(format!(
                        "{name}: statistic {pair} is not a name and a count"
                    ));
                };
                if key.starts_with("ovs_") && key.ends_with("drops") {
                    ovs_drops = ovs_drops.saturating_add(n);
                }
            }
            Ok(OvsInterface {
                name,
                ifindex,
                ovs_drops,
            })
        })
        .collect()
}

/// The `lost:N` of the `lookups:` line in `ovs-appctl dpctl/show` output.
pub fn parse_lost_upcalls(show: &str) -> Option<u64> {
    show.lines()
        .find(|l| l.trim_start().starts_with("lookups:"))?
        .split_whitespace()
        .find_map(|f| f.strip_prefix("lost:"))?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // As ovs-vsctl 3.1 printed it here after a run that lost 153,467 frames in ovs-vswitchd
    // (none of it in these statistics), with OVS-only counters added to pkmovsrx.
    const TABLE: &str = r#"{"data":[["pkmovstx",8,["map",[["collisions",0],["rx_dropped",0],["rx_packets",200015],["tx_dropped",0]]]],["pkmovs0",7,["map",[["rx_packets",12]]]],["pkmovsrx",9,["map",[["ovs_tx_failure_drops",3],["ovs_tx_mtu_exceeded_drops",2],["rx_dropped",40],["tx_dropped",50],["tx_packets",46554]]]],["gone",["set",[]],["map",[]]]],"headings":["name","ifindex","statistics"]}"#;

    #[test]
    fn reads_each_interface_and_its_ovs_only_drops() {
        let t = parse_interface_table(TABLE).unwrap();
        let names: Vec<&str> = t.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["pkmovstx", "pkmovs0", "pkmovsrx", "gone"]);
        assert_eq!(
            t[2],
            OvsInterface {
                name: "pkmovsrx".into(),
                ifindex: Some(9),
                ovs_drops: 5
            }
        );
        assert_eq!((t[0].ifindex, t[0].ovs_drops), (Some(8), 0));
        assert_eq!(t[3].ifindex, None);
    }

    #[test]
    fn a_table_of_another_shape_is_an_error_that_says_what() {
        assert!(parse_interface_table("not json").is_err());
        let other = TABLE.replace("\"ifindex\"", "\"ofport\"");
        assert!(parse_interface_table(&other)
            .unwrap_err()
            .contains("unexpected headings"));
        let bad = TABLE.replace("[\"rx_packets\",12]", "[\"rx_packets\",\"12\"]");
        assert_eq!(
            parse_interface_table(&bad).unwrap_err(),
            "pkmovs0: statistic [\"rx_packets\",\"12\"] is not a name and a count"
        );
    }

    #[test]
    fn lost_upcalls_come_from_the_lookups_line() {
        let show = "netdev@ovs-netdev:\n  lookups: hit:46549 missed:26 lost:17\n  flows: 0\n";
        assert_eq!(parse_lost_upcalls(show), Some(17));
        assert_eq!(parse_lost_upcalls("netdev@ovs-netdev:\n  flows: 0\n"), None);
    }

    #[test]
    fn a_difference_is_per_counter_and_unknowable_after_a_restart() {
        let before = SwitchDrops {
            socket: 10,
            ports: 1,
            datapath: 0,
        };
        let after = SwitchDrops {
            socket: 160,
            ports: 3,
            datapath: 4,
        };
        assert_eq!(before.since(&after).unwrap().total(), 156);
        assert_eq!(after.since(&before), None);
    }
}
