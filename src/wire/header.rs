//! Checked views over the headers of a test frame (Ethernet, IPv4 or IPv6, UDP), in the
//! manner of smoltcp's `wire`:
//! each header has a `field` module naming its byte ranges, a view over any `AsRef<[u8]>`
//! whose constructor checks the length once, and getters (and, over `AsMut<[u8]>`, setters)
//! that read and write the named fields. The frame builder, the parser and the BPF programs'
//! offsets all come from here: no other module indexes a header by number.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum;

/// Ethernet II.
pub mod ethernet {
    /// Byte ranges of the Ethernet II header.
    pub mod field {
        use std::ops::Range;
        /// Destination MAC address.
        pub const DST: Range<usize> = 0..6;
        /// Source MAC address.
        pub const SRC: Range<usize> = 6..12;
        /// Ethertype (or, in a tagged frame, the tag protocol identifier).
        pub const ETHERTYPE: Range<usize> = 12..14;
        /// Where the payload (the IP header) starts.
        pub const PAYLOAD: usize = 14;
    }
    /// Header length.
    pub const HEADER_LEN: usize = field::PAYLOAD;
    /// Ethertype of IPv4.
    pub const ETHERTYPE_IPV4: u16 = 0x0800;
    /// Ethertype of IPv6.
    pub const ETHERTYPE_IPV6: u16 = 0x86dd;
    /// Tag protocol identifier of an 802.1Q VLAN tag.
    pub const ETHERTYPE_VLAN: u16 = 0x8100;
    /// Tag protocol identifier of an 802.1ad (QinQ) service tag.
    pub const ETHERTYPE_QINQ: u16 = 0x88a8;

    /// An Ethernet II frame over a buffer at least [`HEADER_LEN`] long.
    #[derive(Debug, Clone, Copy)]
    pub struct Frame<T> {
        buffer: T,
    }

    impl<T: AsRef<[u8]>> Frame<T> {
        /// The view, or `None` if the buffer is shorter than the header.
        pub fn new_checked(buffer: T) -> Option<Self> {
            (buffer.as_ref().len() >= HEADER_LEN).then_some(Frame { buffer })
        }

        /// The ethertype field.
        pub fn ethertype(&self) -> u16 {
            super::be16(self.buffer.as_ref(), field::ETHERTYPE.start)
        }

        /// Everything after the header.
        pub fn payload(&self) -> &[u8] {
            &self.buffer.as_ref()[field::PAYLOAD..]
        }
    }

    impl<'a> Frame<&'a [u8]> {
        /// Everything after the header, for as long as the buffer lives.
        pub fn into_payload(self) -> &'a [u8] {
            &self.buffer[field::PAYLOAD..]
        }
    }

    impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
        /// Writes the destination, the source and the ethertype.
        pub fn set_header(&mut self, dst: [u8; 6], src: [u8; 6], ethertype: u16) {
            let b = self.buffer.as_mut();
            b[field::DST].copy_from_slice(&dst);
            b[field::SRC].copy_from_slice(&src);
            b[field::ETHERTYPE].copy_from_slice(&ethertype.to_be_bytes());
        }

        /// Everything after the header, writable.
        pub fn payload_mut(&mut self) -> &mut [u8] {
            &mut self.buffer.as_mut()[field::PAYLOAD..]
        }
    }
}

/// IPv4 (RFC 791).
pub mod ipv4 {
    use super::{be16, checksum, Ipv4Addr};

    /// Byte ranges of the IPv4 header.
    pub mod field {
        use std::ops::Range;
        /// Version (high nibble) and header length in 32-bit words (low nibble).
        pub const VER_IHL: usize = 0;
        /// Total length of the datagram.
        pub const LENGTH: Range<usize> = 2..4;
        /// Identification.
        pub const IDENT: Range<usize> = 4..6;
        /// Flags (3 bits) and fragment offset (13 bits).
        pub const FLAGS_FRAGMENT: Range<usize> = 6..8;
        /// Time to live.
        pub const TTL: usize = 8;
        /// Protocol of the payload.
        pub const PROTOCOL: usize = 9;
        /// Header checksum.
        pub const CHECKSUM: Range<usize> = 10..12;
        /// Source address.
        pub const SRC: Range<usize> = 12..16;
        /// Destination address.
        pub const DST: Range<usize> = 16..20;
    }
    /// Header length without options.
    pub const HEADER_LEN: usize = 20;
    /// IP protocol number of UDP.
    pub const PROTOCOL_UDP: u8 = 17;
    /// The don't-fragment flag in [`field::FLAGS_FRAGMENT`].
    pub const FLAG_DF: u16 = 0x4000;
    /// The more-fragments flag and the fragment offset: non-zero in every fragment.
    pub const FRAGMENT_MASK: u16 = 0x3fff;
    /// The fragment offset alone: non-zero in every fragment but the first.
    pub const OFFSET_MASK: u16 = 0x1fff;

    /// Why bytes are not an IPv4 header this view can be taken over.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Malformed {
        /// Shorter than the header (or than the length its IHL gives).
        Truncated,
        /// Version not 4, or IHL below 5.
        BadHeader,
        /// Total length below the header length or beyond the buffer.
        BadLength,
    }

    /// An IPv4 header whose version, header length and total length were checked against the
    /// buffer; [`Packet::payload`] ends at the total length (Ethernet padding cut off).
    #[derive(Debug, Clone, Copy)]
    pub struct Packet<T> {
        buffer: T,
    }

    impl<T: AsRef<[u8]>> Packet<T> {
        /// The view, or what is wrong with the header.
        pub fn new_checked(buffer: T) -> Result<Self, Malformed> {
            let b = buffer.as_ref();
            if b.len() < HEADER_LEN {
                return Err(Malformed::Truncated);
            }
            let ihl = usize::from(b[field::VER_IHL] & 0x0f) * 4;
            if b[field::VER_IHL] >> 4 != 4 || ihl < HEADER_LEN {
                return Err(Malformed::BadHeader);
            }
            if ihl > b.len() {
                return Err(Malformed::Truncated);
            }
            let total = usize::from(be16(b, field::LENGTH.start));
            if total < ihl || total > b.len() {
                return Err(Malformed::BadLength);
            }
            Ok(Packet { buffer })
        }

        /// Header length in bytes, options included.
        pub fn header_len(&self) -> usize {
            usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
        }

        /// The total-length field.
        pub fn total_len(&self) -> usize {
            usize::from(be16(self.buffer.as_ref(), field::LENGTH.start))
        }

        /// The flags and fragment offset field.
        pub fn flags_fragment(&self) -> u16 {
            be16(self.buffer.as_ref(), field::FLAGS_FRAGMENT.start)
        }

        /// Whether this is any fragment (more-fragments set or a non-zero offset).
        pub fn is_fragment(&self) -> bool {
            self.flags_fragment() & FRAGMENT_MASK != 0
        }

        /// The protocol field.
        pub fn protocol(&self) -> u8 {
            self.buffer.as_ref()[field::PROTOCOL]
        }

        /// Source address.
        pub fn src(&self) -> Ipv4Addr {
            let b = &self.buffer.as_ref()[field::SRC];
            Ipv4Addr::new(b[0], b[1], b[2], b[3])
        }

        /// Destination address.
        pub fn dst(&self) -> Ipv4Addr {
            let b = &self.buffer.as_ref()[field::DST];
            Ipv4Addr::new(b[0], b[1], b[2], b[3])
        }

        /// Whether the header checksum (over the options too) is right.
        pub fn checksum_ok(&self) -> bool {
            let b = self.buffer.as_ref();
            checksum::fold(checksum::accumulate(0, &b[..self.header_len()])) == 0xffff
        }

        /// The payload, up to the total length.
        pub fn payload(&self) -> &[u8] {
            &self.buffer.as_ref()[self.header_len()..self.total_len()]
        }
    }

    impl<'a> Packet<&'a [u8]> {
        /// The payload up to the total length, for as long as the buffer lives.
        pub fn into_payload(self) -> &'a [u8] {
            let (start, end) = (self.header_len(), self.total_len());
            &self.buffer[start..end]
        }
    }

    /// The fields of an option-less header the frame builder writes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Repr {
        /// Source address.
        pub src: Ipv4Addr,
        /// Destination address.
        pub dst: Ipv4Addr,
        /// Protocol of the payload.
        pub protocol: u8,
        /// Payload length in bytes.
        pub payload_len: usize,
        /// Time to live.
        pub ttl: u8,
    }

    impl Repr {
        /// Writes the 20-byte header into `buf` (at least that long): DF set, identification 0
        /// (with DF the datagram is never fragmented, RFC 6864), checksum filled in.
        pub fn emit(&self, buf: &mut [u8]) {
            let b = &mut buf[..HEADER_LEN];
            b.fill(0);
            b[field::VER_IHL] = 0x45;
            let total = (HEADER_LEN + self.payload_len) as u16;
            b[field::LENGTH].copy_from_slice(&total.to_be_bytes());
            b[field::FLAGS_FRAGMENT].copy_from_slice(&FLAG_DF.to_be_bytes());
            b[field::TTL] = self.ttl;
            b[field::PROTOCOL] = self.protocol;
            b[field::SRC].copy_from_slice(&self.src.octets());
            b[field::DST].copy_from_slice(&self.dst.octets());
            let c = checksum::checksum(b);
            b[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
        }
    }
}

/// IPv6 (RFC 8200): the fixed header. Extension headers are not walked: a test frame has none,
/// and a frame whose next header is one is classified, not counted.
pub mod ipv6 {
    use super::{be16, Ipv6Addr};

    /// Byte ranges of the fixed IPv6 header.
    pub mod field {
        use std::ops::Range;
        /// Version (4 bits), traffic class (8) and flow label (20).
        pub const VER_TC_FLOW: Range<usize> = 0..4;
        /// Length of everything after the fixed header.
        pub const PAYLOAD_LENGTH: Range<usize> = 4..6;
        /// Protocol or extension header that follows.
        pub const NEXT_HEADER: usize = 6;
        /// Hop limit.
        pub const HOP_LIMIT: usize = 7;
        /// Source address.
        pub const SRC: Range<usize> = 8..24;
        /// Destination address.
        pub const DST: Range<usize> = 24..40;
    }
    /// Length of the fixed header.
    pub const HEADER_LEN: usize = 40;
    /// Next-header values of the extension headers (RFC 8200 section 4, and the IANA list):
    /// hop-by-hop options, routing, fragment, destination options, mobility, HIP, shim6 and
    /// the two experimental values, plus AH (whose payload is not ours to read either).
    pub const EXTENSION_HEADERS: [u8; 10] = [0, 43, 44, 51, 60, 135, 139, 140, 253, 254];
    /// Next-header value of the fragment header.
    pub const NEXT_HEADER_FRAGMENT: u8 = 44;

    /// Why bytes are not an IPv6 header this view can be taken over.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Malformed {
        /// Shorter than the fixed header.
        Truncated,
        /// Version not 6.
        BadHeader,
        /// Payload length 0 (a jumbogram, RFC 2675, which no test frame is) or beyond the
        /// buffer.
        BadLength,
    }

    /// A fixed IPv6 header whose version and payload length were checked against the buffer;
    /// [`Packet::payload`] ends at the payload length (Ethernet padding cut off).
    #[derive(Debug, Clone, Copy)]
    pub struct Packet<T> {
        buffer: T,
    }

    impl<T: AsRef<[u8]>> Packet<T> {
        /// The view, or what is wrong with the header.
        pub fn new_checked(buffer: T) -> Result<Self, Malformed> {
            let b = buffer.as_ref();
            if b.len() < HEADER_LEN {
                return Err(Malformed::Truncated);
            }
            if b[0] >> 4 != 6 {
                return Err(Malformed::BadHeader);
            }
            let len = usize::from(be16(b, field::PAYLOAD_LENGTH.start));
            if len == 0 || HEADER_LEN + len > b.len() {
                return Err(Malformed::BadLength);
            }
            Ok(Packet { buffer })
        }

        /// The payload-length field.
        pub fn payload_len(&self) -> usize {
            usize::from(be16(self.buffer.as_ref(), field::PAYLOAD_LENGTH.start))
        }

        /// The next-header field.
        pub fn next_header(&self) -> u8 {
            self.buffer.as_ref()[field::NEXT_HEADER]
        }

        /// Source address.
        pub fn src(&self) -> Ipv6Addr {
            address(&self.buffer.as_ref()[field::SRC])
        }

        /// Destination address.
        pub fn dst(&self) -> Ipv6Addr {
            address(&self.buffer.as_ref()[field::DST])
        }
    }

    impl<'a> Packet<&'a [u8]> {
        /// The payload up to the payload length, for as long as the buffer lives.
        pub fn into_payload(self) -> &'a [u8] {
            let end = HEADER_LEN + self.payload_len();
            &self.buffer[HEADER_LEN..end]
        }
    }

    fn address(b: &[u8]) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        Ipv6Addr::from(a)
    }

    /// The fields of a fixed header the frame builder writes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Repr {
        /// Source address.
        pub src: Ipv6Addr,
        /// Destination address.
        pub dst: Ipv6Addr,
        /// Next header (the payload's protocol).
        pub next_header: u8,
        /// Payload length in bytes.
        pub payload_len: usize,
        /// Hop limit.
        pub hop_limit: u8,
    }

    impl Repr {
        /// Writes the 40-byte header into `buf` (at least that long): traffic class and flow
        /// label 0.
        pub fn emit(&self, buf: &mut [u8]) {
            let b = &mut buf[..HEADER_LEN];
            b.fill(0);
            b[0] = 0x60;
            b[field::PAYLOAD_LENGTH].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
            b[field::NEXT_HEADER] = self.next_header;
            b[field::HOP_LIMIT] = self.hop_limit;
            b[field::SRC].copy_from_slice(&self.src.octets());
            b[field::DST].copy_from_slice(&self.dst.octets());
        }
    }
}

/// UDP (RFC 768).
pub mod udp {
    use super::{be16, checksum, IpAddr};

    /// Byte ranges of the UDP header.
    pub mod field {
        use std::ops::Range;
        /// Source port.
        pub const SRC_PORT: Range<usize> = 0..2;
        /// Destination port.
        pub const DST_PORT: Range<usize> = 2..4;
        /// Length of header and payload.
        pub const LENGTH: Range<usize> = 4..6;
        /// Checksum (0: none, allowed over IPv4 only).
        pub const CHECKSUM: Range<usize> = 6..8;
        /// Where the payload starts.
        pub const PAYLOAD: usize = 8;
    }
    /// Header length.
    pub const HEADER_LEN: usize = field::PAYLOAD;

    /// A UDP header over a buffer at least [`HEADER_LEN`] long; the length field is checked by
    /// [`Datagram::payload`]'s caller through [`Datagram::len_ok`].
    #[derive(Debug, Clone, Copy)]
    pub struct Datagram<T> {
        buffer: T,
    }

    impl<T: AsRef<[u8]>> Datagram<T> {
        /// The view, or `None` if the buffer is shorter than the header.
        pub fn new_checked(buffer: T) -> Option<Self> {
            (buffer.as_ref().len() >= HEADER_LEN).then_some(Datagram { buffer })
        }

        /// Source port.
        pub fn src_port(&self) -> u16 {
            be16(self.buffer.as_ref(), field::SRC_PORT.start)
        }

        /// Destination port.
        pub fn dst_port(&self) -> u16 {
            be16(self.buffer.as_ref(), field::DST_PORT.start)
        }

        /// The length field.
        pub fn len_field(&self) -> usize {
            usize::from(be16(self.buffer.as_ref(), field::LENGTH.start))
        }

        /// Whether the length field covers the header and fits the buffer.
        pub fn len_ok(&self) -> bool {
            (HEADER_LEN..=self.buffer.as_ref().len()).contains(&self.len_field())
        }

        /// The checksum field.
        pub fn checksum(&self) -> u16 {
            be16(self.buffer.as_ref(), field::CHECKSUM.start)
        }

        /// Whether the checksum is right for a datagram from `src` to `dst` (call only when
        /// [`Datagram::len_ok`]); a zero checksum means "none" and is not checked here.
        pub fn checksum_ok(&self, src: IpAddr, dst: IpAddr) -> bool {
            let len = self.len_field();
            let sum = pseudo_header_sum(src, dst, len);
            checksum::fold(checksum::accumulate(sum, &self.buffer.as_ref()[..len])) == 0xffff
        }

        /// The payload, up to the length field (call only when [`Datagram::len_ok`]).
        pub fn payload(&self) -> &[u8] {
            &self.buffer.as_ref()[HEADER_LEN..self.len_field()]
        }
    }

    impl<'a> Datagram<&'a [u8]> {
        /// The payload up to the length field, for as long as the buffer lives (call only when
        /// [`Datagram::len_ok`]).
        pub fn into_payload(self) -> &'a [u8] {
            let end = self.len_field();
            &self.buffer[HEADER_LEN..end]
        }
    }

    impl<T: AsRef<[u8]> + AsMut<[u8]>> Datagram<T> {
        /// Writes ports and length; the checksum field is set to 0.
        pub fn set_header(&mut self, src_port: u16, dst_port: u16, len: usize) {
            let b = self.buffer.as_mut();
            b[field::SRC_PORT].copy_from_slice(&src_port.to_be_bytes());
            b[field::DST_PORT].copy_from_slice(&dst_port.to_be_bytes());
            b[field::LENGTH].copy_from_slice(&(len as u16).to_be_bytes());
            b[field::CHECKSUM].fill(0);
        }
    }

    /// The checksum field for a datagram whose running sum (pseudo-header, header with the
    /// checksum field 0, payload) is `sum`: its folded complement, with 0 sent as 0xffff (0
    /// means "no checksum" over IPv4 and is invalid over IPv6, RFC 8200 section 8.1).
    pub fn checksum_field(sum: u64) -> u16 {
        match !checksum::fold(sum) {
            0 => 0xffff,
            c => c,
        }
    }

    /// The running one's-complement sum of the pseudo-header of a UDP datagram of `len`
    /// bytes: IPv4's (RFC 768) or IPv6's (RFC 8200 section 8.1), which sum the same way (the
    /// addresses, the length, the protocol): the one place it is written.
    pub fn pseudo_header_sum(src: IpAddr, dst: IpAddr, len: usize) -> u64 {
        let add = |sum, a: IpAddr| match a {
            IpAddr::V4(a) => checksum::accumulate(sum, &a.octets()),
            IpAddr::V6(a) => checksum::accumulate(sum, &a.octets()),
        };
        add(add(0, src), dst) + u64::from(super::ipv4::PROTOCOL_UDP) + len as u64
    }
}

/// Offsets from the start of an Ethernet frame, for code that cannot use the views (BPF
/// programs, which the kernel runs over the frame).
pub mod frame_offset {
    use super::{ethernet, ipv4, ipv6, udp};
    /// The ethertype.
    pub const ETHERTYPE: usize = ethernet::field::ETHERTYPE.start;
    /// The IPv4 version and header length byte.
    pub const IPV4: usize = ethernet::HEADER_LEN;
    /// The IPv4 protocol byte.
    pub const IPV4_PROTOCOL: usize = IPV4 + ipv4::field::PROTOCOL;
    /// The IPv4 flags and fragment offset.
    pub const IPV4_FLAGS_FRAGMENT: usize = IPV4 + ipv4::field::FLAGS_FRAGMENT.start;
    /// The UDP destination port, relative to the end of the IPv4 header.
    pub const UDP_DST_PORT_AFTER_IPV4: usize = IPV4 + udp::field::DST_PORT.start;
    /// The UDP header of an option-less IPv4 datagram.
    pub const UDP: usize = IPV4 + ipv4::HEADER_LEN;
    /// The UDP checksum of an option-less IPv4 datagram.
    pub const UDP_CHECKSUM: usize = UDP + udp::field::CHECKSUM.start;
    /// The UDP payload of an option-less IPv4 datagram.
    pub const UDP_PAYLOAD: usize = UDP + udp::HEADER_LEN;
    /// The IPv6 header.
    pub const IPV6: usize = ethernet::HEADER_LEN;
    /// The IPv6 next-header byte.
    pub const IPV6_NEXT_HEADER: usize = IPV6 + ipv6::field::NEXT_HEADER;
    /// The UDP header right after the fixed IPv6 header.
    pub const UDP_AFTER_IPV6: usize = IPV6 + ipv6::HEADER_LEN;
    /// The UDP destination port right after the fixed IPv6 header.
    pub const UDP_DST_PORT_AFTER_IPV6: usize = UDP_AFTER_IPV6 + udp::field::DST_PORT.start;
}

/// A big-endian u16 at `at` (the views checked the length before calling).
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_the_wire_layout() {
        assert_eq!(frame_offset::ETHERTYPE, 12);
        assert_eq!(frame_offset::IPV4_PROTOCOL, 23);
        assert_eq!(frame_offset::IPV4_FLAGS_FRAGMENT, 20);
        assert_eq!(frame_offset::UDP, 34);
        assert_eq!(frame_offset::UDP_CHECKSUM, 40);
        assert_eq!(frame_offset::UDP_PAYLOAD, 42);
    }

    #[test]
    fn an_emitted_header_reads_back_through_the_view() {
        let mut b = [0u8; 40];
        ipv4::Repr {
            src: Ipv4Addr::new(10, 77, 0, 1),
            dst: Ipv4Addr::new(10, 77, 0, 2),
            protocol: ipv4::PROTOCOL_UDP,
            payload_len: 20,
            ttl: 64,
        }
        .emit(&mut b);
        let p = ipv4::Packet::new_checked(&b[..]).unwrap();
        assert!(p.checksum_ok());
        assert!(!p.is_fragment());
        assert_eq!(p.flags_fragment(), ipv4::FLAG_DF);
        assert_eq!((p.header_len(), p.total_len()), (20, 40));
        assert_eq!(p.src(), Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(p.dst(), Ipv4Addr::new(10, 77, 0, 2));
        assert_eq!(p.payload().len(), 20);
    }

    #[test]
    fn views_refuse_short_and_inconsistent_buffers() {
        assert!(ethernet::Frame::new_checked(&[0u8; 13][..]).is_none());
        assert!(udp::Datagram::new_checked(&[0u8; 7][..]).is_none());
        assert_eq!(
            ipv4::Packet::new_checked(&[0x45u8; 19][..]).unwrap_err(),
            ipv4::Malformed::Truncated
        );
        let mut b = [0u8; 20];
        b[0] = 0x45;
        b[3] = 21; // total length past the buffer
        assert_eq!(
            ipv4::Packet::new_checked(&b[..]).unwrap_err(),
            ipv4::Malformed::BadLength
        );
        b[0] = 0x46; // IHL 24 > 20 bytes
        assert_eq!(
            ipv4::Packet::new_checked(&b[..]).unwrap_err(),
            ipv4::Malformed::Truncated
        );
        b[0] = 0x65;
        assert_eq!(
            ipv4::Packet::new_checked(&b[..]).unwrap_err(),
            ipv4::Malformed::BadHeader
        );
    }
}
