//! The IP layer of a test frame, over either family: which family, and a source and
//! destination of the same one, so code above it names no version.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::header::{ethernet, ipv4, ipv6, udp};

/// An IP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// Both, IPv4 first.
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    /// The family of `addr`.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The family `addr` arrived over: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a
    /// dual-stack socket reports for an IPv4 sender) is IPv4.
    pub fn on_wire(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => Family::V4,
            a => Family::of(a),
        }
    }

    /// The IP header's length without options or extension headers: 20 or 40 bytes.
    pub const fn header_len(self) -> usize {
        match self {
            Family::V4 => ipv4::HEADER_LEN,
            Family::V6 => ipv6::HEADER_LEN,
        }
    }

    /// The Ethernet type of the family.
    pub const fn ethertype(self) -> u16 {
        match self {
            Family::V4 => ethernet::ETHERTYPE_IPV4,
            Family::V6 => ethernet::ETHERTYPE_IPV6,
        }
    }

    /// Bytes an Ethernet frame adds to its UDP payload: 14 + 20 + 8 = 42 over IPv4 (as the
    /// thesis counted), 14 + 40 + 8 = 62 over IPv6. The 4-byte FCS is not included: no
    /// socket sees it.
    pub const fn frame_overhead(self) -> usize {
        ethernet::HEADER_LEN + self.header_len() + udp::HEADER_LEN
    }

    /// Bytes an IP datagram adds to its UDP payload (what the MTU must hold besides it).
    pub const fn ip_overhead(self) -> usize {
        self.header_len() + udp::HEADER_LEN
    }

    /// The largest UDP payload of one datagram (a GSO super-packet's too): 65,507 B over IPv4,
    /// 65,527 B over IPv6 (no jumbograms).
    pub const fn max_udp_payload(self) -> usize {
        match self {
            Family::V4 => 65_535 - ipv4::HEADER_LEN - udp::HEADER_LEN,
            Family::V6 => 65_535 - udp::HEADER_LEN,
        }
    }

    /// Where the UDP header starts in an Ethernet frame (no IP options or extension headers).
    pub const fn udp_offset(self) -> usize {
        ethernet::HEADER_LEN + self.header_len()
    }

    /// The family's unspecified address (to bind a socket to "any").
    pub fn unspecified(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }

    /// `4` or `6`, as rows and options write it.
    pub const fn number(self) -> u8 {
        match self {
            Family::V4 => 4,
            Family::V6 => 6,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// A source and a destination address of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoints {
    /// IPv4 addresses.
    V4 {
        /// Source.
        src: Ipv4Addr,
        /// Destination.
        dst: Ipv4Addr,
    },
    /// IPv6 addresses.
    V6 {
        /// Source.
        src: Ipv6Addr,
        /// Destination.
        dst: Ipv6Addr,
    },
}

impl Endpoints {
    /// The pair, or `None` if the two are of different families.
    pub fn new(src: IpAddr, dst: IpAddr) -> Option<Self> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Some(Endpoints::V4 { src, dst }),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Some(Endpoints::V6 { src, dst }),
            _ => None,
        }
    }

    /// Their family.
    pub fn family(&self) -> Family {
        match self {
            Endpoints::V4 { .. } => Family::V4,
            Endpoints::V6 { .. } => Family::V6,
        }
    }

    /// The source.
    pub fn src(&self) -> IpAddr {
        match *self {
            Endpoints::V4 { src, .. } => IpAddr::V4(src),
            Endpoints::V6 { src, .. } => IpAddr::V6(src),
        }
    }

    /// The destination.
    pub fn dst(&self) -> IpAddr {
        match *self {
            Endpoints::V4 { dst, .. } => IpAddr::V4(dst),
            Endpoints::V6 { dst, .. } => IpAddr::V6(dst),
        }
    }

    /// Writes the IP header of a UDP datagram with `payload_len` bytes after it (the UDP
    /// header included) into `buf`: IPv4 with DF and its checksum, or IPv6's fixed header;
    /// hop limit 64.
    pub fn emit_udp(&self, buf: &mut [u8], payload_len: usize) {
        match *self {
            Endpoints::V4 { src, dst } => ipv4::Repr {
                src,
                dst,
                protocol: ipv4::PROTOCOL_UDP,
                payload_len,
                ttl: 64,
            }
            .emit(buf),
            Endpoints::V6 { src, dst } => ipv6::Repr {
                src,
                dst,
                next_header: ipv4::PROTOCOL_UDP,
                payload_len,
                hop_limit: 64,
            }
            .emit(buf),
        }
    }

    /// The running sum of the UDP pseudo-header for a datagram of `udp_len` bytes.
    pub fn pseudo_header_sum(&self, udp_len: usize) -> u64 {
        udp::pseudo_header_sum(self.src(), self.dst(), udp_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_counts_its_own_headers() {
        assert_eq!(Family::V4.frame_overhead(), 42);
        assert_eq!(Family::V6.frame_overhead(), 62);
        assert_eq!(Family::V4.udp_offset(), 34);
        assert_eq!(Family::V6.udp_offset(), 54);
        assert_eq!(Family::V4.max_udp_payload(), 65_507);
        assert_eq!(Family::V6.max_udp_payload(), 65_527);
        assert_eq!(
            Family::on_wire("::ffff:10.77.0.1".parse().unwrap()),
            Family::V4
        );
        assert_eq!(Family::on_wire("fd00::1".parse().unwrap()), Family::V6);
    }

    #[test]
    fn endpoints_are_of_one_family() {
        let v4: IpAddr = "10.77.0.1".parse().unwrap();
        let v6: IpAddr = "fd00:77::1".parse().unwrap();
        assert!(Endpoints::new(v4, v6).is_none());
        assert!(Endpoints::new(v6, v4).is_none());
        let e = Endpoints::new(v6, v6).unwrap();
        assert_eq!((e.family(), e.src(), e.dst()), (Family::V6, v6, v6));
    }

    #[test]
    fn an_emitted_ipv6_header_reads_back_through_the_view() {
        let src: Ipv6Addr = "fd00:77::1".parse().unwrap();
        let dst: Ipv6Addr = "fd00:77::2".parse().unwrap();
        let mut b = [0u8; 60];
        Endpoints::V6 { src, dst }.emit_udp(&mut b, 20);
        let p = ipv6::Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.next_header(), p.payload_len()), (17, 20));
        assert_eq!((p.src(), p.dst()), (src, dst));
        assert_eq!(p.into_payload().len(), 20);
        assert_eq!(b[7], 64, "hop limit");
    }
}
