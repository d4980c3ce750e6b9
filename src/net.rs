//! Interface facts and neighbour resolution, without running external commands.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;
use nix::sys::socket::{setsockopt, sockopt};

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
    use nix::sys::socket::{
        recv, sendto, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
        SockType,
    };
    let io = |what: &'static str| move |e: nix::errno::Errno| NetError::Io(what, e.into());
    let sock = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )
    .map_err(io("opening a netlink socket"))?;
    sendto(
        std::os::fd::AsRawFd::as_raw_fd(&sock),
        &neighbour_dump_request(libc::AF_INET6 as u8),
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )
    .map_err(io("asking the kernel for its neighbour table"))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut found = None;
    loop {
        let n = recv(
            std::os::fd::AsRawFd::as_raw_fd(&sock),
            &mut buf,
            MsgFlags::empty(),
        )
        .map_err(io("reading the kernel's neighbour table"))?;
        let scan = parse_neighbour_message(&buf[..n], ip, ifindex).map_err(|_| {
            NetError::Io(
                "reading the kernel's neighbour table",
                std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed netlink message"),
            )
        })?;
        found = found.or(scan.mac);
        if scan.done || n == 0 {
            return Ok(found);
        }
    }
}

/// An `RTM_GETNEIGH` dump request for the neighbours of address family `family`.
fn neighbour_dump_request(family: u8) -> [u8; 28] {
    const RTM_GETNEIGH: u16 = 30;
    const FLAGS: u16 = 0x1 | 0x300; // NLM_F_REQUEST | NLM_F_DUMP
    let mut m = [0u8; 28];
    m[0..4].copy_from_slice(&28u32.to_ne_bytes());
    m[4..6].copy_from_slice(&RTM_GETNEIGH.to_ne_bytes());
    m[6..8].copy_from_slice(&FLAGS.to_ne_bytes());
    m[8..12].copy_from_slice(&1u32.to_ne_bytes()); // sequence number
    m[16] = family; // ndmsg: the family, the rest zero
    m
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

/// A netlink datagram that is not one the kernel could have sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedNetlink;

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
    const NLMSG_HDR: usize = 16;
    const NDMSG: usize = 12;
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    const RTM_NEWNEIGH: u16 = 28;
    const NDA_DST: u16 = 1;
    const NDA_LLADDR: u16 = 2;
    // NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT
    const USABLE: u16 = 0x02 | 0x04 | 0x08 | 0x10 | 0x80;
    let align = |n: usize| n.div_ceil(4) * 4;
    let u16_at = |b: &[u8], at: usize| u16::from_ne_bytes([b[at], b[at + 1]]);
    let u32_at = |b: &[u8], at: usize| u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let mut scan = NeighbourScan::default();
    let mut rest = datagram;
    while rest.len() >= NLMSG_HDR {
        let len = u32_at(rest, 0) as usize;
        if len < NLMSG_HDR || len > rest.len() {
            return Err(MalformedNetlink);
        }
        let msg = &rest[..len];
        match u16_at(msg, 4) {
            NLMSG_DONE | NLMSG_ERROR => scan.done = true,
            RTM_NEWNEIGH => {
                let body = &msg[NLMSG_HDR..];
                if body.len() < NDMSG {
                    return Err(MalformedNetlink);
                }
                let index = u32_at(body, 4);
                let state = u16_at(body, 8);
                let (mut dst, mut lladdr) = (None, None);
                let mut attrs = &body[NDMSG..];
                while attrs.len() >= 4 {
                    let alen = usize::from(u16_at(attrs, 0));
                    if alen < 4 || alen > attrs.len() {
                        return Err(MalformedNetlink);
                    }
                    let data = &attrs[4..alen];
                    match u16_at(attrs, 2) {
                        NDA_DST => dst = <[u8; 16]>::try_from(data).ok().map(Ipv6Addr::from),
                        NDA_LLADDR => lladdr = <[u8; 6]>::try_from(data).ok(),
                        _ => {}
                    }
                    attrs = attrs.get(align(alen)..).unwrap_or(&[]);
                }
                if index == ifindex && state & USABLE != 0 && dst == Some(ip) {
                    scan.mac = scan.mac.or(lladdr.filter(|m| *m != [0; 6]));
                }
            }
            _ => {}
        }
        rest = rest.get(align(len)..).unwrap_or(&[]);
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
