//! Interface facts, neighbour resolution and the kernel's drop counters, without running
//! external commands.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;
use nix::sys::socket::{setsockopt, sockopt};

use crate::netlink::{self, MalformedNetlink};
use crate::sys;
use crate::wire::Family;

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
    /// Its first IPv6 address that is not link-local, if any (a link-local source would need
    /// a scope at every hop and is not used).
    pub ipv6: Option<Ipv6Addr>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
}

impl Interface {
    /// Its address of `family` (the frames' source), if it has one.
    pub fn address(&self, family: Family) -> Option<IpAddr> {
        match family {
            Family::V4 => self.ipv4.map(IpAddr::V4),
            Family::V6 => self.ipv6.map(IpAddr::V6),
        }
    }
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
    /// The interface has no address of the destination's family (needed as the frames'
    /// source).
    NoAddress(String, Family),
    /// An IPv6 link-local destination: it needs a scope, and test flows use ULA addresses.
    LinkLocal(Ipv6Addr),
    /// The interface has no MAC address (not Ethernet).
    NoMac(String),
    /// The neighbour did not resolve in time.
    Unresolved {
        /// Address asked for.
        ip: IpAddr,
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
            NetError::NoAddress(n, family) => write!(
                f,
                "interface {n} has no {family} address to send from (the destination is {family})"
            ),
            NetError::LinkLocal(a) => write!(
                f,
                "{a} is an IPv6 link-local address, which needs a scope: give the test interface a unique local (fd00::/8) or global address"
            ),
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
            ipv6: None,
            up: false,
        });
        i.up |= a.flags.contains(InterfaceFlags::IFF_UP);
        if let Some(addr) = a.address {
            if let Some(link) = addr.as_link_addr() {
                i.index = link.ifindex() as u32;
                i.mac = link.addr().filter(|m| *m != [0; 6]);
            } else if let Some(v4) = addr.as_sockaddr_in() {
                i.ipv4.get_or_insert(v4.ip());
            } else if let Some(v6) = addr.as_sockaddr_in6() {
                if !is_link_local(v6.ip()) {
                    i.ipv6.get_or_insert(v6.ip());
                }
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

/// Whether `a` is in fe80::/10.
pub fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// The name of the interface in the caller's network namespace that holds address `ip`
/// (how a task on another machine tells the runner its test interface).
pub fn interface_with_ip(ip: IpAddr) -> Result<Option<String>, NetError> {
    Ok(getifaddrs()
        .map_err(|e| NetError::Io("getifaddrs", e.into()))?
        .find(|a| {
            a.address.as_ref().is_some_and(|addr| match ip {
                IpAddr::V4(ip) => addr.as_sockaddr_in().is_some_and(|v4| v4.ip() == ip),
                IpAddr::V6(ip) => addr.as_sockaddr_in6().is_some_and(|v6| v6.ip() == ip),
            })
        })
        .map(|a| a.interface_name))
}

/// How many receive queues interface `name` has (`/sys/class/net/NAME/queues/rx-*`); `None`
/// where sysfs cannot say (not mounted, another namespace's view).
pub fn rx_queue_count(name: &str) -> Option<u32> {
    let dir = std::fs::read_dir(format!("/sys/class/net/{name}/queues")).ok()?;
    let n = dir
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
        .count();
    u32::try_from(n).ok().filter(|&n| n > 0)
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

/// The complete entry for `ip` on `interface` (index `ifindex`) in the kernel's neighbour
/// table of the caller's network namespace: for IPv4 from `/proc/net/arp`, for IPv6 (which
/// has no such file) from a netlink `RTM_GETNEIGH` dump.
pub fn neighbour_mac(
    ip: IpAddr,
    interface: &str,
    ifindex: u32,
) -> Result<Option<[u8; 6]>, NetError> {
    match ip {
        IpAddr::V4(ip) => {
            let table = std::fs::read_to_string("/proc/net/arp")
                .map_err(|e| NetError::Io("reading /proc/net/arp", e))?;
            Ok(parse_arp_table(&table, ip, interface))
        }
        IpAddr::V6(ip) => neighbour_mac_v6(ip, ifindex),
    }
}

/// The IPv6 neighbour table entry for `ip` on `ifindex`, from an `RTM_GETNEIGH` dump over a
/// netlink socket.
fn neighbour_mac_v6(ip: Ipv6Addr, ifindex: u32) -> Result<Option<[u8; 6]>, NetError> {
    const RTM_GETNEIGH: u16 = 30;
    let mut ndmsg = [0u8; 12];
    ndmsg[0] = libc::AF_INET6 as u8; // the family, the rest zero
    let mut found = None;
    netlink::dump(
        nix::sys::socket::SockProtocol::NetlinkRoute,
        &netlink::dump_request(RTM_GETNEIGH, &ndmsg),
        &mut |datagram| {
            let scan = parse_neighbour_message(datagram, ip, ifindex)?;
            found = found.or(scan.mac);
            Ok(scan.done)
        },
    )
    .map_err(|e| NetError::Io("reading the kernel's neighbour table", e))?;
    Ok(found)
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

/// What one datagram of a neighbour dump held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NeighbourScan {
    /// The entry's MAC, if the datagram held a usable one.
    pub mac: Option<[u8; 6]>,
    /// The dump ended in this datagram (`NLMSG_DONE`, or `NLMSG_ERROR`).
    pub done: bool,
}

/// Reads one netlink datagram of an `RTM_GETNEIGH` dump (several messages) for a usable
/// entry (reachable, stale, delay, probe or permanent: the kernel has a link-layer address
/// for it) for `ip` on interface `ifindex`. Every length is checked; bytes that do not hold
/// together are an error, never a panic.
pub fn parse_neighbour_message(
    datagram: &[u8],
    ip: Ipv6Addr,
    ifindex: u32,
) -> Result<NeighbourScan, MalformedNetlink> {
    const NDMSG: usize = 12;
    const RTM_NEWNEIGH: u16 = 28;
    const NDA_DST: u16 = 1;
    const NDA_LLADDR: u16 = 2;
    // NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT
    const USABLE: u16 = 0x02 | 0x04 | 0x08 | 0x10 | 0x80;
    let mut scan = NeighbourScan::default();
    for (kind, body) in netlink::messages(datagram)? {
        match kind {
            netlink::NLMSG_DONE | netlink::NLMSG_ERROR => scan.done = true,
            RTM_NEWNEIGH => {
                if body.len() < NDMSG {
                    return Err(MalformedNetlink);
                }
                let index = netlink::u32_at(body, 4);
                let state = netlink::u16_at(body, 8);
                let (mut dst, mut lladdr) = (None, None);
                for (attr, data) in netlink::attributes(&body[NDMSG..])? {
                    match attr {
                        NDA_DST => dst = <[u8; 16]>::try_from(data).ok().map(Ipv6Addr::from),
                        NDA_LLADDR => lladdr = <[u8; 6]>::try_from(data).ok(),
                        _ => {}
                    }
                }
                if index == ifindex && state & USABLE != 0 && dst == Some(ip) {
                    scan.mac = scan.mac.or(lladdr.filter(|m| *m != [0; 6]));
                }
            }
            _ => {}
        }
    }
    Ok(scan)
}

/// Packets the kernel dropped for the packet sockets bound to any of `ifindexes` in the
/// caller's network namespace (each socket's `sk_drops`: a receive queue that was full),
/// summed, from a `sock_diag` dump of `AF_PACKET` sockets. This is where Open vSwitch's
/// userspace datapath loses what it does not read in time: it receives each port through
/// such a socket, and no OVS statistic counts those drops.
pub fn packet_socket_drops(ifindexes: &[u32]) -> Result<u64, NetError> {
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const PACKET_SHOW_INFO: u32 = 0x1;
    const PACKET_SHOW_MEMINFO: u32 = 0x10;
    // struct packet_diag_req: family, protocol, pad, inode, what to show, cookie.
    let mut req = [0u8; 20];
    req[0] = libc::AF_PACKET as u8;
    req[8..12].copy_from_slice(&(PACKET_SHOW_INFO | PACKET_SHOW_MEMINFO).to_ne_bytes());
    const WHAT: &str = "reading the packet sockets' drop counters (sock_diag)";
    let mut drops = 0u64;
    let mut refused = None;
    netlink::dump(
        nix::sys::socket::SockProtocol::NetlinkSockDiag,
        &netlink::dump_request(SOCK_DIAG_BY_FAMILY, &req),
        &mut |datagram| {
            let scan = parse_packet_diag_message(datagram, ifindexes)?;
            drops += scan.drops;
            refused = refused.or(scan.refused);
            Ok(scan.done)
        },
    )
    .map_err(|e| NetError::Io(WHAT, e))?;
    match refused {
        Some(errno) => Err(NetError::Io(WHAT, std::io::Error::from_raw_os_error(errno))),
        None => Ok(drops),
    }
}

/// What one datagram of a packet-socket `sock_diag` dump held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketDiagScan {
    /// Drops of the sockets in it bound to one of the interfaces asked about.
    pub drops: u64,
    /// The dump ended in this datagram.
    pub done: bool,
    /// The kernel refused the dump with this errno (`NLMSG_ERROR`), so no count is known.
    pub refused: Option<i32>,
}

/// Reads one datagram of a packet-socket `sock_diag` dump: the `sk_drops` of each socket
/// bound to one of `ifindexes` (from `PACKET_DIAG_INFO`'s interface index and
/// `PACKET_DIAG_MEMINFO`'s `SK_MEMINFO_DROPS`). Every length is checked.
pub fn parse_packet_diag_message(
    datagram: &[u8],
    ifindexes: &[u32],
) -> Result<PacketDiagScan, MalformedNetlink> {
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const PACKET_DIAG_MSG: usize = 16;
    const PACKET_DIAG_INFO: u16 = 0;
    const PACKET_DIAG_MEMINFO: u16 = 6;
    const SK_MEMINFO_DROPS: usize = 8;
    let mut scan = PacketDiagScan::default();
    for (kind, body) in netlink::messages(datagram)? {
        match kind {
            netlink::NLMSG_DONE => scan.done = true,
            netlink::NLMSG_ERROR => {
                scan.done = true;
                scan.refused = netlink::refusal(body)?;
            }
            SOCK_DIAG_BY_FAMILY => {
                if body.len() < PACKET_DIAG_MSG {
                    return Err(MalformedNetlink);
                }
                let (mut index, mut drops) = (None, None);
                for (attr, data) in netlink::attributes(&body[PACKET_DIAG_MSG..])? {
                    match attr {
                        PACKET_DIAG_INFO if data.len() >= 4 => {
                            index = Some(netlink::u32_at(data, 0))
                        }
                        PACKET_DIAG_MEMINFO if data.len() >= 4 * (SK_MEMINFO_DROPS + 1) => {
                            drops = Some(netlink::u32_at(data, 4 * SK_MEMINFO_DROPS))
                        }
                        _ => {}
                    }
                }
                if let (Some(index), Some(drops)) = (index, drops) {
                    if ifindexes.contains(&index) {
                        scan.drops += u64::from(drops);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(scan)
}

/// One interface's transmit drops: frames the device itself dropped at transmit
/// (`tx_dropped` of `rtnl_link_stats64`). A veth whose peer runs XDP counts here every frame
/// it could not put in the peer's XDP ring (256 frames) when that ring was full: such a frame
/// never reached the receiver, and neither its ring nor its socket saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDrops {
    /// The interface's name.
    pub name: String,
    /// Its `tx_dropped` counter.
    pub tx_dropped: u64,
}

/// Every interface of the caller's network namespace with its transmit drops, from an
/// `RTM_GETLINK` dump (the counters are the device's, as `ip -s link` shows them).
pub fn link_drops() -> Result<Vec<LinkDrops>, NetError> {
    const RTM_GETLINK: u16 = 18;
    const WHAT: &str = "reading the interfaces' drop counters (RTM_GETLINK)";
    // struct ifinfomsg, all zero: every family, every interface.
    let req = [0u8; 16];
    let mut links = Vec::new();
    let mut refused = None;
    netlink::dump(
        nix::sys::socket::SockProtocol::NetlinkRoute,
        &netlink::dump_request(RTM_GETLINK, &req),
        &mut |datagram| {
            let scan = parse_link_message(datagram)?;
            links.extend(scan.links);
            refused = refused.or(scan.refused);
            Ok(scan.done)
        },
    )
    .map_err(|e| NetError::Io(WHAT, e))?;
    match refused {
        Some(errno) => Err(NetError::Io(WHAT, std::io::Error::from_raw_os_error(errno))),
        None => Ok(links),
    }
}

/// What one datagram of an `RTM_GETLINK` dump held.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkScan {
    /// The interfaces in it that carried a name and 64-bit statistics.
    pub links: Vec<LinkDrops>,
    /// The dump ended in this datagram.
    pub done: bool,
    /// The kernel refused the dump with this errno (`NLMSG_ERROR`).
    pub refused: Option<i32>,
}

/// Reads one datagram of an `RTM_GETLINK` dump: each `RTM_NEWLINK` message's name
/// (`IFLA_IFNAME`) and `tx_dropped` (the eighth counter of `IFLA_STATS64`). Every length is
/// checked; a message without either is left out.
pub fn parse_link_message(datagram: &[u8]) -> Result<LinkScan, MalformedNetlink> {
    const RTM_NEWLINK: u16 = 16;
    const IFINFOMSG: usize = 16;
    const IFLA_IFNAME: u16 = 3;
    const IFLA_STATS64: u16 = 23;
    const TX_DROPPED: usize = 7 * 8;
    let mut scan = LinkScan::default();
    for (kind, body) in netlink::messages(datagram)? {
        match kind {
            netlink::NLMSG_DONE => scan.done = true,
            netlink::NLMSG_ERROR => {
                scan.done = true;
                scan.refused = netlink::refusal(body)?;
            }
            RTM_NEWLINK => {
                let attrs = body.get(IFINFOMSG..).ok_or(MalformedNetlink)?;
                let (mut name, mut dropped) = (None, None);
                for (attr, data) in netlink::attributes(attrs)? {
                    match attr {
                        IFLA_IFNAME => {
                            let text = data.split(|b| *b == 0).next().unwrap_or_default();
                            name = std::str::from_utf8(text).ok().map(str::to_string);
                        }
                        IFLA_STATS64 => {
                            dropped = data
                                .get(TX_DROPPED..TX_DROPPED + 8)
                                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                                .map(u64::from_ne_bytes);
                        }
                        _ => {}
                    }
                }
                if let (Some(name), Some(tx_dropped)) = (name, dropped) {
                    scan.links.push(LinkDrops { name, tx_dropped });
                }
            }
            _ => {}
        }
    }
    Ok(scan)
}

/// The MAC address of `ip` on `interface` (index `ifindex`): from the neighbour table, or,
/// if it is not there, after making the kernel resolve it (ARP or neighbour discovery) by
/// sending one empty UDP datagram to port 9 (discard) through a socket bound to `interface`
/// (so the probe cannot leave by another interface).
pub fn resolve_neighbour(
    ip: IpAddr,
    interface: &str,
    ifindex: u32,
    timeout: Duration,
) -> Result<[u8; 6], NetError> {
    if let IpAddr::V6(a) = ip {
        if is_link_local(a) {
            return Err(NetError::LinkLocal(a));
        }
    }
    if let Some(mac) = neighbour_mac(ip, interface, ifindex)? {
        return Ok(mac);
    }
    let sock = UdpSocket::bind((Family::of(ip).unspecified(), 0))
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
            let _ = sock.send_to(&[], SocketAddr::new(ip, 9));
            last_trigger = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(10));
        if let Some(mac) = neighbour_mac(ip, interface, ifindex)? {
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

/// The kernel's drop counter for the UDP socket with inode `inode`, from `/proc/net/udp` or,
/// for an IPv6 socket, `/proc/net/udp6` (receive-buffer overflows and datagrams the kernel
/// discarded for that socket).
pub fn udp_socket_drops(inode: u64) -> Option<u64> {
    ["/proc/net/udp", "/proc/net/udp6"].iter().find_map(|path| {
        let table = std::fs::read_to_string(path).ok()?;
        parse_udp_drops(&table, inode)
    })
}

/// Finds the `drops` column for socket `inode` in `/proc/net/udp` text.
pub fn parse_udp_drops(table: &str, inode: u64) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
        (f.len() >= 13 && f[9].parse::<u64>().ok()? == inode).then(|| f[12].parse().ok())?
    })
}

/// Whether `/proc/net/tcp` (or `tcp6`) text has a socket listening (state `0A`) on `port`.
pub fn tcp_listens(table: &str, port: u16) -> bool {
    table.lines().skip(1).any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // sl local_address rem_address st ...; an address is HEX_IP:HEX_PORT
        f.len() > 3
            && f[3] == "0A"
            && f[1]
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                == Some(port)
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
            interface_with_ip(Ipv4Addr::LOCALHOST.into())
                .unwrap()
                .as_deref(),
            Some("lo")
        );
        assert_eq!(
            interface_with_ip(Ipv6Addr::LOCALHOST.into())
                .unwrap()
                .as_deref(),
            Some("lo")
        );
        // TEST-NET-3 and the documentation prefix: held by no interface of ours.
        assert_eq!(
            interface_with_ip(Ipv4Addr::new(203, 0, 113, 77).into()).unwrap(),
            None
        );
        assert_eq!(
            interface_with_ip("2001:db8::77".parse().unwrap()).unwrap(),
            None
        );
    }

    /// One `RTM_NEWNEIGH` message as the kernel writes it: header, ndmsg, NDA_DST, NDA_LLADDR.
    fn neighbour(ifindex: u32, state: u16, dst: Ipv6Addr, mac: [u8; 6]) -> Vec<u8> {
        let mut m = vec![0u8; 16];
        m[4..6].copy_from_slice(&28u16.to_ne_bytes());
        m.extend_from_slice(&[10, 0, 0, 0]);
        m.extend_from_slice(&ifindex.to_ne_bytes());
        m.extend_from_slice(&state.to_ne_bytes());
        m.extend_from_slice(&[0, 0]);
        m.extend_from_slice(&20u16.to_ne_bytes());
        m.extend_from_slice(&1u16.to_ne_bytes());
        m.extend_from_slice(&dst.octets());
        m.extend_from_slice(&10u16.to_ne_bytes());
        m.extend_from_slice(&2u16.to_ne_bytes());
        m.extend_from_slice(&mac);
        m.extend_from_slice(&[0, 0]); // padding to 4
        let len = (m.len() - 2) as u32; // the length leaves the last attribute's padding out
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        m
    }

    #[test]
    fn reads_usable_ipv6_neighbours_on_the_interface_only() {
        let ip: Ipv6Addr = "fd00:77::2".parse().unwrap();
        let mac = [2, 0xaa, 0, 0, 0, 2];
        let mut d = neighbour(7, 0x01, ip, [2, 0, 0, 0, 0, 9]); // incomplete
        d.extend(neighbour(8, 0x02, ip, [2, 0, 0, 0, 0, 8])); // other interface
        d.extend(neighbour(
            7,
            0x02,
            "fd00:77::3".parse().unwrap(),
            [2, 0, 0, 0, 0, 3],
        ));
        d.extend(neighbour(7, 0x04, ip, mac)); // stale: still has its address
        let scan = parse_neighbour_message(&d, ip, 7).unwrap();
        assert_eq!(
            scan,
            NeighbourScan {
                mac: Some(mac),
                done: false
            }
        );
        assert_eq!(parse_neighbour_message(&d, ip, 9).unwrap().mac, None);
        let mut done = vec![0u8; 20];
        done[0] = 20;
        done[4..6].copy_from_slice(&3u16.to_ne_bytes());
        assert!(parse_neighbour_message(&done, ip, 7).unwrap().done);
        // Lengths that do not hold together are refused, whatever is cut.
        for n in 0..d.len() {
            let _ = parse_neighbour_message(&d[..n], ip, 7);
        }
        let mut bad = neighbour(7, 0x02, ip, mac);
        bad[0..4].copy_from_slice(&4096u32.to_ne_bytes());
        assert_eq!(parse_neighbour_message(&bad, ip, 7), Err(MalformedNetlink));
        let mut bad = neighbour(7, 0x02, ip, mac);
        bad[28..30].copy_from_slice(&2u16.to_ne_bytes()); // attribute shorter than its header
        assert_eq!(parse_neighbour_message(&bad, ip, 7), Err(MalformedNetlink));
    }

    /// One packet socket of a `sock_diag` dump as the kernel writes it: header,
    /// packet_diag_msg, PACKET_DIAG_INFO (interface index first), PACKET_DIAG_MEMINFO.
    fn packet_socket(ifindex: u32, drops: u32) -> Vec<u8> {
        let mut m = vec![0u8; 16];
        m[4..6].copy_from_slice(&20u16.to_ne_bytes());
        m.extend_from_slice(&[17, 3, 0, 0, 0x51, 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        m.extend_from_slice(&28u16.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&ifindex.to_ne_bytes());
        m.extend_from_slice(&[0; 20]);
        m.extend_from_slice(&40u16.to_ne_bytes());
        m.extend_from_slice(&6u16.to_ne_bytes());
        for (i, v) in [0u32, 212_992, 0, 212_992, 0, 0, 176, 0, drops]
            .iter()
            .enumerate()
        {
            let _ = i;
            m.extend_from_slice(&v.to_ne_bytes());
        }
        let len = m.len() as u32;
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        m
    }

    #[test]
    fn reads_the_drops_of_packet_sockets_on_the_asked_interfaces_only() {
        let mut d = packet_socket(8, 153_472);
        d.extend(packet_socket(9, 5));
        d.extend(packet_socket(3, 1_000_000)); // another interface's socket
        assert_eq!(
            parse_packet_diag_message(&d, &[8, 9]).unwrap(),
            PacketDiagScan {
                drops: 153_477,
                done: false,
                refused: None
            }
        );
        assert_eq!(parse_packet_diag_message(&d, &[4]).unwrap().drops, 0);
        // A socket without its meminfo (or with a short one) adds nothing rather than garbage.
        let mut short = packet_socket(8, 7);
        short.truncate(short.len() - 8);
        let len = short.len() as u32;
        short[0..4].copy_from_slice(&len.to_ne_bytes());
        short[16 + 16 + 28..16 + 16 + 30].copy_from_slice(&32u16.to_ne_bytes());
        assert_eq!(parse_packet_diag_message(&short, &[8]).unwrap().drops, 0);
        let mut done = vec![0u8; 20];
        done[0] = 20;
        done[4..6].copy_from_slice(&3u16.to_ne_bytes());
        assert!(parse_packet_diag_message(&done, &[8]).unwrap().done);
        // A refused dump (no packet_diag in the kernel: ENOENT) is not a count of 0.
        let mut refused = vec![0u8; 20];
        refused[0] = 20;
        refused[4..6].copy_from_slice(&2u16.to_ne_bytes());
        refused[16..20].copy_from_slice(&(-2i32).to_ne_bytes());
        let scan = parse_packet_diag_message(&refused, &[8]).unwrap();
        assert_eq!((scan.done, scan.refused), (true, Some(2)));
        // Found by fuzzing: an errno of i32::MIN has no negation.
        refused[16..20].copy_from_slice(&i32::MIN.to_ne_bytes());
        assert_eq!(
            parse_packet_diag_message(&refused, &[8]),
            Err(MalformedNetlink)
        );
        refused[16..20].copy_from_slice(&0i32.to_ne_bytes());
        assert_eq!(
            parse_packet_diag_message(&refused, &[8]).unwrap().refused,
            None
        );
        for n in 0..d.len() {
            let _ = parse_packet_diag_message(&d[..n], &[8]);
        }
        let mut bad = packet_socket(8, 1);
        bad[16..18].copy_from_slice(&[0; 2]);
        bad[0..4].copy_from_slice(&20u32.to_ne_bytes()); // shorter than packet_diag_msg
        assert_eq!(
            parse_packet_diag_message(&bad[..20], &[8]),
            Err(MalformedNetlink)
        );
    }

    #[test]
    fn the_packet_socket_dump_is_read_from_the_kernel() {
        // Any process may dump its namespace's packet sockets; this one has none bound to
        // an interface index that does not exist.
        assert_eq!(packet_socket_drops(&[u32::MAX]).unwrap(), 0);
    }

    /// One interface of an `RTM_GETLINK` dump as the kernel writes it: header, ifinfomsg,
    /// IFLA_IFNAME (NUL-terminated, padded), IFLA_STATS64 (24 counters of 8 bytes).
    fn link(name: &str, tx_dropped: u64) -> Vec<u8> {
        let mut m = vec![0u8; 16];
        m[4..6].copy_from_slice(&16u16.to_ne_bytes());
        m.extend_from_slice(&[0; 16]);
        let ifname = [name.as_bytes(), &[0]].concat();
        m.extend_from_slice(&(4 + ifname.len() as u16).to_ne_bytes());
        m.extend_from_slice(&3u16.to_ne_bytes());
        m.extend_from_slice(&ifname);
        m.resize(m.len().div_ceil(4) * 4, 0);
        m.extend_from_slice(&(4 + 24 * 8u16).to_ne_bytes());
        m.extend_from_slice(&23u16.to_ne_bytes());
        for i in 0..24u64 {
            // rx/tx packets, bytes, errors, rx_dropped, then tx_dropped: distinct values.
            let v = if i == 7 { tx_dropped } else { 1000 + i };
            m.extend_from_slice(&v.to_ne_bytes());
        }
        let len = m.len() as u32;
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        m
    }

    #[test]
    fn reads_each_interfaces_transmit_drops_from_a_link_dump() {
        let mut d = link("pkm0", 690);
        d.extend(link("lo", 0));
        let scan = parse_link_message(&d).unwrap();
        assert_eq!(
            scan.links,
            vec![
                LinkDrops {
                    name: "pkm0".into(),
                    tx_dropped: 690
                },
                LinkDrops {
                    name: "lo".into(),
                    tx_dropped: 0
                }
            ]
        );
        assert!(!scan.done);
        // Statistics cut short: the interface is left out, not read as 0 or garbage.
        let mut short = link("pkm0", 5);
        short.truncate(short.len() - 17 * 8);
        let len = short.len() as u32;
        short[0..4].copy_from_slice(&len.to_ne_bytes());
        let at = 16 + 16 + 12;
        short[at..at + 2].copy_from_slice(&(4 + 7 * 8u16).to_ne_bytes());
        assert_eq!(parse_link_message(&short).unwrap().links, vec![]);
        for n in 0..d.len() {
            let _ = parse_link_message(&d[..n]);
        }
        let mut refused = vec![0u8; 20];
        refused[0] = 20;
        refused[4..6].copy_from_slice(&2u16.to_ne_bytes());
        refused[16..20].copy_from_slice(&(-1i32).to_ne_bytes());
        let scan = parse_link_message(&refused).unwrap();
        assert_eq!((scan.done, scan.refused), (true, Some(1)));
        let mut bad = link("pkm0", 1);
        bad[0..4].copy_from_slice(&20u32.to_ne_bytes()); // shorter than ifinfomsg
        assert_eq!(parse_link_message(&bad[..20]), Err(MalformedNetlink));
    }

    #[test]
    fn the_link_dump_is_read_from_the_kernel() {
        // Every namespace has its loopback, and nothing drops on it.
        let links = link_drops().unwrap();
        assert!(links.iter().any(|l| l.name == "lo"), "{links:?}");
    }

    const ARP: &str =
        "IP address       HW type     Flags       HW address            Mask     Device
10.77.0.2        0x1         0x2         02:aa:bb:cc:dd:02     *        pkm0
10.77.0.3        0x1         0x0         00:00:00:00:00:00     *        pkm0
10.77.0.4        0x1         0x2         02:aa:bb:cc:dd:04     *        other
";

    #[test]
    fn a_listening_tcp_port_is_found_and_a_connected_one_is_not() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0200000A:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0
   1: 0200000A:1F90 0100000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 4243 1 0 100 0 0 10 0
";
        assert!(tcp_listens(table, 9000));
        assert!(!tcp_listens(table, 8080), "established, not listening");
        assert!(!tcp_listens(table, 9001));
        assert!(!tcp_listens("", 9000));
    }

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
