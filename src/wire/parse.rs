//! Parsing captured frames, which anyone on the segment can send: every length and offset is
//! checked before use, and a frame that is not a well-formed IPv4 or IPv6 UDP datagram to our
//! port is classified by an [`IgnoreReason`] instead of being trusted.

use super::header::{ethernet, ipv4, ipv6, udp};
use std::net::IpAddr;

/// Why a captured frame was not counted as a received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IgnoreReason {
    /// The kernel captured fewer bytes than were on the wire.
    TruncatedCapture,
    /// Shorter than an Ethernet header.
    TruncatedEthernet,
    /// Carries an 802.1Q / 802.1ad tag in the frame.
    VlanTagged,
    /// Ethertype other than IPv4 and IPv6 (ARP, LLDP, ...).
    NotIp,
    /// Shorter than its IPv4 header.
    TruncatedIpv4,
    /// IP version not 4, or IHL below 5.
    BadIpv4Header,
    /// Total length smaller than the header or larger than the frame.
    BadIpv4Length,
    /// IPv4 header checksum wrong.
    BadIpv4Checksum,
    /// A fragment (more-fragments set or non-zero offset).
    Fragment,
    /// IP protocol other than UDP.
    NotUdp,
    /// Shorter than a UDP header.
    TruncatedUdp,
    /// UDP length smaller than its header or larger than the IP payload.
    BadUdpLength,
    /// UDP checksum wrong.
    BadUdpChecksum,
    /// UDP to another destination port.
    OtherPort,
    /// A ring block whose packet chain was corrupt (the rest of the block is skipped).
    CorruptBlock,
    /// A frame whose `virtio_net_hdr` is missing or says a segmentation this receiver cannot
    /// split: not UDP segmentation (`VIRTIO_NET_HDR_GSO_UDP_L4`), or a segment size of 0.
    BadGso,
    /// An AF_XDP RX descriptor the kernel handed over pointing outside the UMEM: its bytes
    /// are not read and its address is not lent back.
    BadDescriptor,
    /// Shorter than the fixed IPv6 header.
    TruncatedIpv6,
    /// An IPv6 ethertype over a version other than 6.
    BadIpv6Header,
    /// IPv6 payload length 0 (a jumbogram) or beyond the frame.
    BadIpv6Length,
    /// An IPv6 extension header (other than a fragment header) before the payload: test
    /// frames carry none, and the chain is not walked.
    Ipv6ExtensionHeader,
}

impl IgnoreReason {
    /// Every reason, in report order.
    pub const ALL: [IgnoreReason; 21] = [
        IgnoreReason::TruncatedCapture,
        IgnoreReason::TruncatedEthernet,
        IgnoreReason::VlanTagged,
        IgnoreReason::NotIp,
        IgnoreReason::TruncatedIpv4,
        IgnoreReason::BadIpv4Header,
        IgnoreReason::BadIpv4Length,
        IgnoreReason::BadIpv4Checksum,
        IgnoreReason::Fragment,
        IgnoreReason::NotUdp,
        IgnoreReason::TruncatedUdp,
        IgnoreReason::BadUdpLength,
        IgnoreReason::BadUdpChecksum,
        IgnoreReason::OtherPort,
        IgnoreReason::CorruptBlock,
        IgnoreReason::BadGso,
        IgnoreReason::BadDescriptor,
        IgnoreReason::TruncatedIpv6,
        IgnoreReason::BadIpv6Header,
        IgnoreReason::BadIpv6Length,
        IgnoreReason::Ipv6ExtensionHeader,
    ];

    /// The reason's name in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreReason::TruncatedCapture => "truncated_capture",
            IgnoreReason::TruncatedEthernet => "truncated_ethernet",
            IgnoreReason::VlanTagged => "vlan_tagged",
            IgnoreReason::NotIp => "not_ip",
            IgnoreReason::TruncatedIpv4 => "truncated_ipv4",
            IgnoreReason::BadIpv4Header => "bad_ipv4_header",
            IgnoreReason::BadIpv4Length => "bad_ipv4_length",
            IgnoreReason::BadIpv4Checksum => "bad_ipv4_checksum",
            IgnoreReason::Fragment => "fragment",
            IgnoreReason::NotUdp => "not_udp",
            IgnoreReason::TruncatedUdp => "truncated_udp",
            IgnoreReason::BadUdpLength => "bad_udp_length",
            IgnoreReason::BadUdpChecksum => "bad_udp_checksum",
            IgnoreReason::OtherPort => "other_port",
            IgnoreReason::CorruptBlock => "corrupt_block",
            IgnoreReason::BadGso => "bad_gso",
            IgnoreReason::BadDescriptor => "bad_descriptor",
            IgnoreReason::TruncatedIpv6 => "truncated_ipv6",
            IgnoreReason::BadIpv6Header => "bad_ipv6_header",
            IgnoreReason::BadIpv6Length => "bad_ipv6_length",
            IgnoreReason::Ipv6ExtensionHeader => "ipv6_extension_header",
        }
    }

    /// Position in [`IgnoreReason::ALL`], for counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A well-formed UDP datagram to our port, over IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Source address.
    pub src_ip: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// The UDP payload (exactly the UDP length, without Ethernet padding).
    pub payload: &'a [u8],
}

/// Parses an Ethernet frame as a UDP datagram to `port` over IPv4 or IPv6 (by its ethertype).
///
/// `verify_udp_checksum` is false when the kernel says the checksum is not filled in yet
/// (`TP_STATUS_CSUMNOTREADY`: a locally generated packet with checksum offload) or already
/// verified it. A UDP checksum of 0 means "none" over IPv4 and is accepted, as the kernel
/// does; over IPv6 it is invalid (RFC 8200 section 8.1) and counted as a bad checksum.
pub fn parse_udp(
    frame: &[u8],
    port: u16,
    verify_udp_checksum: bool,
) -> Result<Datagram<'_>, IgnoreReason> {
    let eth = ethernet::Frame::new_checked(frame).ok_or(IgnoreReason::TruncatedEthernet)?;
    let (src_ip, dst_ip, ip_payload) = match eth.ethertype() {
        ethernet::ETHERTYPE_IPV4 => ipv4_payload(eth.into_payload())?,
        ethernet::ETHERTYPE_IPV6 => ipv6_payload(eth.into_payload())?,
        ethernet::ETHERTYPE_VLAN | ethernet::ETHERTYPE_QINQ => {
            return Err(IgnoreReason::VlanTagged)
        }
        _ => return Err(IgnoreReason::NotIp),
    };
    let udp = udp::Datagram::new_checked(ip_payload).ok_or(IgnoreReason::TruncatedUdp)?;
    if udp.dst_port() != port {
        return Err(IgnoreReason::OtherPort);
    }
    if !udp.len_ok() {
        return Err(IgnoreReason::BadUdpLength);
    }
    if verify_udp_checksum {
        let none = udp.checksum() == 0;
        if (none && src_ip.is_ipv6()) || (!none && !udp.checksum_ok(src_ip, dst_ip)) {
            return Err(IgnoreReason::BadUdpChecksum);
        }
    }
    Ok(Datagram {
        src_ip,
        src_port: udp.src_port(),
        payload: udp.into_payload(),
    })
}

/// The addresses and the UDP bytes of an IPv4 packet.
fn ipv4_payload(bytes: &[u8]) -> Result<(IpAddr, IpAddr, &[u8]), IgnoreReason> {
    let ip = ipv4::Packet::new_checked(bytes).map_err(|e| match e {
        ipv4::Malformed::Truncated => IgnoreReason::TruncatedIpv4,
        ipv4::Malformed::BadHeader => IgnoreReason::BadIpv4Header,
        ipv4::Malformed::BadLength => IgnoreReason::BadIpv4Length,
    })?;
    if !ip.checksum_ok() {
        return Err(IgnoreReason::BadIpv4Checksum);
    }
    if ip.is_fragment() {
        return Err(IgnoreReason::Fragment);
    }
    if ip.protocol() != ipv4::PROTOCOL_UDP {
        return Err(IgnoreReason::NotUdp);
    }
    Ok((ip.src().into(), ip.dst().into(), ip.into_payload()))
}

/// The addresses and the UDP bytes of an IPv6 packet whose next header is UDP.
fn ipv6_payload(bytes: &[u8]) -> Result<(IpAddr, IpAddr, &[u8]), IgnoreReason> {
    let ip = ipv6::Packet::new_checked(bytes).map_err(|e| match e {
        ipv6::Malformed::Truncated => IgnoreReason::TruncatedIpv6,
        ipv6::Malformed::BadHeader => IgnoreReason::BadIpv6Header,
        ipv6::Malformed::BadLength => IgnoreReason::BadIpv6Length,
    })?;
    match ip.next_header() {
        ipv4::PROTOCOL_UDP => Ok((ip.src().into(), ip.dst().into(), ip.into_payload())),
        ipv6::NEXT_HEADER_FRAGMENT => Err(IgnoreReason::Fragment),
        h if ipv6::EXTENSION_HEADERS.contains(&h) => Err(IgnoreReason::Ipv6ExtensionHeader),
        _ => Err(IgnoreReason::NotUdp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum;
    use crate::wire::frame::{fixture, PAYLOAD_OFFSET, UDP_CHECKSUM_OFFSET};
    use crate::wire::probe::Probe;

    fn good() -> Vec<u8> {
        fixture::frame(64, 3, 11, 22)
    }

    /// Recomputes the IPv4 header checksum after a test edited the header.
    fn fix_ip_checksum(f: &mut [u8]) {
        let ihl = usize::from(f[14] & 0xf) * 4;
        f[24] = 0;
        f[25] = 0;
        let c = checksum::checksum(&f[14..14 + ihl.min(f.len() - 14)]);
        f[24..26].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn accepts_our_frame_and_returns_the_probe_payload() {
        let f = good();
        let d = parse_udp(&f, 9000, true).unwrap();
        assert_eq!(d.src_ip, IpAddr::from([10, 77, 0, 1]));
        assert_eq!(d.src_port, 9001);
        assert_eq!(d.payload.len(), 64);
        assert_eq!(Probe::parse(d.payload).unwrap().seq, 11);
    }

    #[test]
    fn ethernet_padding_after_the_ip_total_length_is_ignored() {
        let mut f = good();
        f.extend_from_slice(&[0u8; 30]);
        assert_eq!(parse_udp(&f, 9000, true).unwrap().payload.len(), 64);
    }

    #[test]
    fn ip_options_are_accepted() {
        let f = good();
        let mut g = f[..34].to_vec();
        g.extend_from_slice(&[1, 1, 1, 1]); // four NOP options
        g.extend_from_slice(&f[34..]);
        g[14] = 0x46;
        let total = u16::from_be_bytes([g[16], g[17]]) + 4;
        g[16..18].copy_from_slice(&total.to_be_bytes());
        fix_ip_checksum(&mut g);
        assert_eq!(parse_udp(&g, 9000, true).unwrap().payload.len(), 64);
    }

    #[test]
    fn each_malformation_has_its_reason() {
        use IgnoreReason::*;
        type Edit = fn(&mut Vec<u8>);
        let cases: [(Edit, IgnoreReason); 9] = [
            (|f| f.truncate(13), TruncatedEthernet),
            (|f| f[12..14].copy_from_slice(&[0x81, 0x00]), VlanTagged),
            (|f| f[12..14].copy_from_slice(&[0x08, 0x06]), NotIp),
            (|f| f.truncate(14 + 19), TruncatedIpv4),
            (
                |f| {
                    f[14] = 0x4f;
                    f.truncate(14 + 40)
                },
                TruncatedIpv4,
            ),
            (
                |f| {
                    f[16..18].copy_from_slice(&2000u16.to_be_bytes());
                    fix_ip_checksum(f)
                },
                BadIpv4Length,
            ),
            (|f| f[24] ^= 0xff, BadIpv4Checksum),
            (
                |f| f[36..38].copy_from_slice(&9999u16.to_be_bytes()),
                OtherPort,
            ),
            (|f| f[PAYLOAD_OFFSET + 30] ^= 1, BadUdpChecksum),
        ];
        for (edit, want) in cases {
            let mut f = good();
            edit(&mut f);
            assert_eq!(parse_udp(&f, 9000, true).unwrap_err(), want, "{want:?}");
        }
        // One byte of the IPv4 header changed, and its checksum made right again.
        let rechecked: [(usize, u8, IgnoreReason); 4] = [
            (14, 0x44, BadIpv4Header), // IHL 4: shorter than the fixed header
            (14, 0x65, BadIpv4Header), // version 6
            (20, 0x20, Fragment),      // more fragments
            (23, 6, NotUdp),           // TCP
        ];
        for (at, byte, want) in rechecked {
            let mut f = good();
            f[at] = byte;
            fix_ip_checksum(&mut f);
            assert_eq!(
                parse_udp(&f, 9000, true).unwrap_err(),
                want,
                "{want:?} (byte {at} = {byte:#x})"
            );
        }
    }

    #[test]
    fn udp_length_and_truncation_are_checked() {
        let mut f = good();
        f[38..40].copy_from_slice(&4u16.to_be_bytes());
        assert_eq!(
            parse_udp(&f, 9000, true).unwrap_err(),
            IgnoreReason::BadUdpLength
        );
        let mut f = good();
        f[38..40].copy_from_slice(&500u16.to_be_bytes());
        assert_eq!(
            parse_udp(&f, 9000, true).unwrap_err(),
            IgnoreReason::BadUdpLength
        );
        let mut f = good();
        let total = (ipv4::HEADER_LEN + 4) as u16;
        f[16..18].copy_from_slice(&total.to_be_bytes());
        fix_ip_checksum(&mut f);
        assert_eq!(
            parse_udp(&f, 9000, true).unwrap_err(),
            IgnoreReason::TruncatedUdp
        );
    }

    #[test]
    fn checksum_zero_or_unverified_is_accepted() {
        let mut f = good();
        f[PAYLOAD_OFFSET + 30] ^= 1;
        assert!(parse_udp(&f, 9000, false).is_ok(), "kernel says not ready");
        f[UDP_CHECKSUM_OFFSET..UDP_CHECKSUM_OFFSET + 2].copy_from_slice(&[0, 0]);
        assert!(parse_udp(&f, 9000, true).is_ok(), "0 means no checksum");
    }

    #[test]
    fn never_panics_on_any_prefix() {
        let f = good();
        for n in 0..f.len() {
            let _ = parse_udp(&f[..n], 9000, true);
        }
    }

    #[test]
    fn reason_names_are_unique_and_indexed_in_order() {
        for (i, r) in IgnoreReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        let mut names: Vec<_> = IgnoreReason::ALL.iter().map(|r| r.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), IgnoreReason::ALL.len());
    }

    #[test]
    fn accepts_an_ipv6_frame_and_classifies_its_malformations() {
        use crate::wire::frame::fixture::frame6;
        use IgnoreReason::*;
        let f = frame6(64, 3, 11, 22);
        let d = parse_udp(&f, 9000, true).unwrap();
        assert_eq!(d.src_ip, "fd00:77::1".parse::<IpAddr>().unwrap());
        assert_eq!((d.src_port, d.payload.len()), (9001, 64));
        assert_eq!(Probe::parse(d.payload).unwrap().seq, 11);
        let mut padded = f.clone();
        padded.extend_from_slice(&[0; 20]);
        assert_eq!(parse_udp(&padded, 9000, true).unwrap().payload.len(), 64);
        type Edit = fn(&mut Vec<u8>);
        let cases: [(Edit, IgnoreReason); 12] = [
            (|f| f.truncate(14 + 39), TruncatedIpv6),
            (|f| f[14] = 0x40, BadIpv6Header),
            (|f| f[18..20].copy_from_slice(&[0, 0]), BadIpv6Length), // a jumbogram
            (|f| f[18..20].copy_from_slice(&[0x10, 0]), BadIpv6Length),
            (|f| f[20] = 44, Fragment),
            (|f| f[20] = 0, Ipv6ExtensionHeader),  // hop-by-hop
            (|f| f[20] = 43, Ipv6ExtensionHeader), // routing
            (|f| f[20] = 60, Ipv6ExtensionHeader), // destination options
            (|f| f[20] = 6, NotUdp),
            (|f| f[18..20].copy_from_slice(&[0, 4]), TruncatedUdp),
            (|f| f[54 + 2..54 + 4].copy_from_slice(&[0, 1]), OtherPort),
            (|f| f[62 + 30] ^= 1, BadUdpChecksum),
        ];
        for (edit, want) in cases {
            let mut g = f.clone();
            edit(&mut g);
            assert_eq!(parse_udp(&g, 9000, true).unwrap_err(), want, "{want:?}");
        }
        // A zero UDP checksum is no checksum over IPv4 but invalid over IPv6.
        let mut g = f.clone();
        g[60..62].copy_from_slice(&[0, 0]);
        assert_eq!(parse_udp(&g, 9000, true).unwrap_err(), BadUdpChecksum);
        assert!(
            parse_udp(&g, 9000, false).is_ok(),
            "the kernel vouched for it"
        );
        for n in 0..f.len() {
            let _ = parse_udp(&f[..n], 9000, true);
        }
    }
}
