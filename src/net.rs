//! Interface facts and neighbour resolution, without running external commands.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;
use nix::sys::socket::{setsockopt, sockopt};

use crate::sys;

/// What pktmmap needs to know about an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Its index.
    pub index: u32,
    /// Its MTU.
    pub mtu: u32,
    /// Its MAC address, if it has one.
    pub mac: Option<[u8; 6]>,
    /// Its first IPv4 address, if any.
    pub ipv4: Option<Ipv4Addr>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
}

/// Why an interface or neighbour could not be used.
#[derive(Debug)]
pub enum NetError {
    /// Not a possible interface name.
    InvalidName(String),
    /// No interface of that name in this network namespace.
    NotFound(String),
    /// The interface exists but is down.
    Down(String),
    /// The interface has no IPv4 address (needed as the frames' source).
    NoIpv4(String),
    /// The interface has no MAC address (not Ethernet).
    NoMac(String),
    /// The neighbour did not resolve in time.
    Unresolved {
        /// Address asked for.
        ip: Ipv4Addr,
        /// Interface asked on.
        interface: String,
        /// How long we waited.
        waited: Duration,
    },
    /// A syscall failed.
    Sys(sys::SysError),
    /// Another I/O failure, with what was being done.
    Io(&'static str, std::io::Error),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::InvalidName(n) => write!(
                f,
                "{n:?} is not a valid interface name (1 to 15 characters, no '/', ':' or white space)"
            ),
            NetError::NotFound(n) => write!(f, "interface {n} does not exist in this network namespace"),
            NetError::Down(n) => write!(f, "interface {n} is down (ip link set {n} up)"),
            NetError::NoIpv4(n) => write!(f, "interface {n} has no IPv4 address to send from"),
            NetError::NoMac(n) => write!(f, "interface {n} has no Ethernet (MAC) address"),
            NetError::Unresolved {
                ip,
                interface,
                waited,
            } => write!(
                f,
                "neighbour {ip} did not resolve on {interface} within {:.1} s: is it up and on the same segment? (or pass --dst-mac)",
                waited.as_secs_f64()
            ),
            NetError::Sys(e) => e.fmt(f),
            NetError::Io(what, e) => write!(f, "{what}: {e}"),
        }
    }
}

impl std::error::Error for NetError {}

/// Checks an interface name before it is used in any call: 1 to 15 bytes (`IFNAMSIZ - 1`), no
/// `/`, `:`, NUL or white space.
pub fn validate_interface_name(name: &str) -> Result<(), NetError> {
    let ok = !name.is_empty()
        && name.len() < libc::IFNAMSIZ
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace());
    if ok {
        Ok(())
    } else {
        Err(NetError::InvalidName(name.to_string()))
    }
}

/// Looks an interface up in the caller's network namespace.
pub fn interface(name: &str) -> Result<Interface, NetError> {
    validate_interface_name(name)?;
    let mut found: Option<Interface> = None;
    for a in getifaddrs().map_err(|e| NetError::Io("getifaddrs", e.into()))? {
        if a.interface_name != name {
            continue;
        }
        let i = found.get_or_insert_with(|| Interface {
            name: name.to_string(),
            index: 0,
            mtu: 0,
            mac: None,
            ipv4: None,
            up: false,
        });
        i.up |= a.flags.contains(InterfaceFlags::IFF_UP);
        if let Some(addr) = a.address {
            if let Some(link) = addr.as_link_addr() {
                i.index = link.ifindex() as u32;
                i.mac = link.addr().filter(|m| *m != [0; 6]);
            } else if let Some(v4) = addr.as_sockaddr_in() {
                i.ipv4.get_or_insert(v4.ip());
            }
        }
    }
    let mut i = found.ok_or_else(|| NetError::NotFound(name.to_string()))?;
    if i.index == 0 {
        i.index = nix::net::if_::if_nametoindex(name)
            .map_err(|_| NetError::NotFound(name.to_string()))?;
    }
    i.mtu = sys::interface_mtu(name).map_err(NetError::Sys)?;
    Ok(i)
}

/// The name of the interface in the caller's network namespace that holds IPv4 address `ip`
/// (how a task on another machine tells the runner its test interface).
pub fn interface_with_ipv4(ip: Ipv4Addr) -> Result<Option<String>, NetError> {
    Ok(getifaddrs()
        .map_err(|e| NetError::Io("getifaddrs", e.into()))?
        .find(|a| {
            a.address
                .as_ref()
                .and_then(|addr| addr.as_sockaddr_in())
                .is_some_and(|v4| v4.ip() == ip)
        })
        .map(|a| a.interface_name))
}

/// Like [`interface`], but also requires it to be up.
pub fn interface_up(name: &str) -> Result<Interface, NetError> {
    let i = interface(name)?;
    if !i.up {
        return Err(NetError::Down(name.to_string()));
    }
    Ok(i)
}

/// Parses a MAC address written `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in mac.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Formats a MAC address as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// The complete entry for `ip` on `interface` in the kernel's neighbour table, read from
/// `/proc/net/arp` (which shows the caller's network namespace).
pub fn neighbour_mac(ip: Ipv4Addr, interface: &str) -> Result<Option<[u8; 6]>, NetError> {
    let table = std::fs::read_to_string("/proc/net/arp")
        .map_err(|e| NetError::Io("reading /proc/net/arp", e))?;
    Ok(parse_arp_table(&table, ip, interface))
}

/// Finds a complete entry (flag `ATF_COM`) for `ip` on `interface` in `/proc/net/arp` text.
pub fn parse_arp_table(table: &str, ip: Ipv4Addr, interface: &str) -> Option<[u8; 6]> {
    const ATF_COM: u32 = 0x2;
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [addr, _hw_type, flags, mac, _mask, dev] = f.as_slice() else {
            return None;
        };
        let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).ok()?;
        (addr.parse::<Ipv4Addr>().ok()? == ip && *dev == interface && flags & ATF_COM != 0)
            .then(|| parse_mac(mac))
            .flatten()
    })
}

/// The MAC address of `ip` on `interface`: from the neighbour table, or, if it is not there,
/// after making the kernel resolve it by sending one empty UDP datagram to port 9 (discard)
/// through a socket bound to `interface` (so the probe cannot leave by another interface).
pub fn resolve_neighbour(
    ip: Ipv4Addr,
    interface: &str,
    timeout: Duration,
) -> Result<[u8; 6], NetError> {
    if let Some(mac) = neighbour_mac(ip, interface)? {
        return Ok(mac);
    }
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .map_err(|e| NetError::Io("binding a UDP socket", e))?;
    setsockopt(
        &sock,
        sockopt::BindToDevice,
        &std::ffi::OsString::from(interface),
    )
    .map_err(|e| NetError::Io("SO_BINDTODEVICE", e.into()))?;
    let start = Instant::now();
    let mut last_trigger: Option<Instant> = None;
    loop {
        if last_trigger.is_none_or(|t| t.elapsed() >= Duration::from_millis(500)) {
            // Errors here (EHOSTUNREACH after a failed resolution) just mean "not yet".
            let _ = sock.send_to(&[], SocketAddrV4::new(ip, 9));
            last_trigger = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(10));
        if let Some(mac) = neighbour_mac(ip, interface)? {
            return Ok(mac);
        }
        if start.elapsed() >= timeout {
            return Err(NetError::Unresolved {
                ip,
                interface: interface.to_string(),
                waited: start.elapsed(),
            });
        }
    }
}

/// The kernel's drop counter for the UDP socket with inode `inode`, from `/proc/net/udp`
/// (receive-buffer overflows and datagrams the kernel discarded for that socket).
pub fn udp_socket_drops(inode: u64) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/udp").ok()?;
    parse_udp_drops(&table, inode)
}

/// Finds the `drops` column for socket `inode` in `/proc/net/udp` text.
pub fn parse_udp_drops(table: &str, inode: u64) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
        (f.len() >= 13 && f[9].parse::<u64>().ok()? == inode).then(|| f[12].parse().ok())?
    })
}

/// Packets dropped on the per-CPU receive backlogs since boot, summed over CPUs.
pub fn softnet_drops() -> Option<u64> {
    parse_softnet_drops(&std::fs::read_to_string("/proc/net/softnet_stat").ok()?)
}

/// Sums the second column (drops, hex) of `/proc/net/softnet_stat` text, one line per CPU.
pub fn parse_softnet_drops(text: &str) -> Option<u64> {
    text.lines()
        .map(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|d| u64::from_str_radix(d, 16).ok())
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interface_holding_an_address_is_found_by_it() {
        assert_eq!(
            interface_with_ipv4(Ipv4Addr::LOCALHOST).unwrap().as_deref(),
            Some("lo")
        );
        // TEST-NET-3: held by no interface of ours.
        assert_eq!(
            interface_with_ipv4(Ipv4Addr::new(203, 0, 113, 77)).unwrap(),
            None
        );
    }

    const ARP: &str =
        "IP address       HW type     Flags       HW address            Mask     Device
10.77.0.2        0x1         0x2         02:aa:bb:cc:dd:02     *        pkm0
10.77.0.3        0x1         0x0         00:00:00:00:00:00     *        pkm0
10.77.0.4        0x1         0x2         02:aa:bb:cc:dd:04     *        other
";

    #[test]
    fn sums_backlog_drops_over_cpus() {
        let t = "0004a2b1 0000001f 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n\
                 00012345 00000101 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 00000000\n";
        assert_eq!(parse_softnet_drops(t), Some(0x1f + 0x101));
        assert_eq!(parse_softnet_drops("garbage\n"), None);
    }

    #[test]
    fn reads_only_complete_entries_on_the_interface() {
        assert_eq!(
            parse_arp_table(ARP, "10.77.0.2".parse().unwrap(), "pkm0"),
            Some([2, 0xaa, 0xbb, 0xcc, 0xdd, 2])
        );
        assert_eq!(
            parse_arp_table(ARP, "10.77.0.3".parse().unwrap(), "pkm0"),
            None,
            "incomplete"
        );
        assert_eq!(
            parse_arp_table(ARP, "10.77.0.4".parse().unwrap(), "pkm0"),
            None,
            "other device"
        );
    }

    #[test]
    fn reads_the_drops_of_one_udp_socket() {
        let t = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  121: 00000000:2328 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41234 2 0000000000000000 17
  122: 00000000:2329 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 41235 2 0000000000000000 0
";
        assert_eq!(parse_udp_drops(t, 41234), Some(17));
        assert_eq!(parse_udp_drops(t, 41235), Some(0));
        assert_eq!(parse_udp_drops(t, 1), None);
    }

    #[test]
    fn macs_round_trip_and_bad_ones_are_refused() {
        let m = parse_mac("02:0a:ff:00:10:01").unwrap();
        assert_eq!(format_mac(&m), "02:0a:ff:00:10:01");
        for bad in [
            "",
            "02:0a:ff:00:10",
            "02:0a:ff:00:10:01:02",
            "zz:0a:ff:00:10:01",
            "002:0a:ff:00:10:01",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }

    #[test]
    fn interface_names_are_validated_before_use() {
        for ok in ["eth0", "veth-pkm-a", "a", "abcdefghijklmno"] {
            assert!(validate_interface_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "abcdefghijklmnop", "a/b", "a b", "..", "a:1", "a\0b"] {
            assert!(validate_interface_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_missing_interface_is_named_in_the_error() {
        let e = interface("pkm-nonexist0").unwrap_err();
        assert_eq!(
            e.to_string(),
            "interface pkm-nonexist0 does not exist in this network namespace"
        );
    }
}
