//! `struct virtio_net_hdr` (`linux/virtio_net.h`): the 10 bytes a packet socket with
//! `PACKET_VNET_HDR` reads before every frame it sends and writes before every frame it
//! receives. They carry the offloads of the frame's skb: a checksum left for the kernel to
//! fill in (`NEEDS_CSUM` with where it starts and sits) and segmentation (`gso_type`,
//! `gso_size`), so one frame can be a GSO super-packet of many UDP datagrams.
//!
//! A packet socket reads and writes the 16-bit fields in the host's byte order (the kernel's
//! `vio_le()` is "little endian if the host is").

/// Bytes of the header.
pub const LEN: usize = 10;
/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum at `csum_start + csum_offset` is to be
/// completed over the bytes from `csum_start` on.
pub const F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`: the checksum was verified.
pub const F_DATA_VALID: u8 = 2;
/// `VIRTIO_NET_HDR_GSO_NONE`.
pub const GSO_NONE: u8 = 0;
/// `VIRTIO_NET_HDR_GSO_UDP_L4`: UDP segmentation (kernel 6.2+ on packet sockets).
pub const GSO_UDP_L4: u8 = 5;
/// `VIRTIO_NET_HDR_GSO_ECN`: a flag on the other GSO types.
pub const GSO_ECN: u8 = 0x80;

/// A decoded `virtio_net_hdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VnetHdr {
    /// `flags`.
    pub flags: u8,
    /// `gso_type`.
    pub gso_type: u8,
    /// `hdr_len`: bytes of headers (the kernel copies at least this much into the skb head).
    pub hdr_len: u16,
    /// `gso_size`: payload bytes per segment.
    pub gso_size: u16,
    /// `csum_start`: where the checksummed bytes start, from the frame's first byte.
    pub csum_start: u16,
    /// `csum_offset`: where the checksum sits, from `csum_start`.
    pub csum_offset: u16,
}

/// What the receive path does with a frame, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segmentation {
    /// One datagram.
    None,
    /// A UDP GSO super-packet: its payload is segments of this many bytes (never 0).
    Udp(usize),
    /// A segmentation this crate does not split (TCP, UFO) or a UDP one of segment size 0.
    Unsupported,
}

impl VnetHdr {
    /// A header with no offloads whose `hdr_len` is `len`: the kernel copies that much of the
    /// frame into the skb head (a linear skb).
    pub fn linear(len: usize) -> Self {
        Self {
            hdr_len: len.min(usize::from(u16::MAX)) as u16,
            ..Self::default()
        }
    }

    /// The header of an IPv4/UDP GSO super-packet of `frame_len` bytes whose UDP header
    /// starts at `udp_at`, in segments of `gso_size` payload bytes: the UDP checksum is
    /// partial (seeded with the pseudo-header; the kernel completes it per segment).
    pub fn udp_gso(frame_len: usize, udp_at: usize, gso_size: usize) -> Self {
        Self {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_UDP_L4,
            hdr_len: frame_len.min(usize::from(u16::MAX)) as u16,
            gso_size: gso_size.min(usize::from(u16::MAX)) as u16,
            csum_start: udp_at as u16,
            csum_offset: 6,
        }
    }

    /// Decodes the first [`LEN`] bytes of `bytes`; `None` if they are fewer.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let b = bytes.get(..LEN)?;
        let word = |at: usize| u16::from_ne_bytes([b[at], b[at + 1]]);
        Some(Self {
            flags: b[0],
            gso_type: b[1],
            hdr_len: word(2),
            gso_size: word(4),
            csum_start: word(6),
            csum_offset: word(8),
        })
    }

    /// The header's bytes.
    pub fn to_bytes(self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        b
    }

    /// Whether the frame is one datagram or a super-packet to split, and how.
    pub fn segmentation(self) -> Segmentation {
        match self.gso_type & !GSO_ECN {
            GSO_NONE => Segmentation::None,
            GSO_UDP_L4 if self.gso_size > 0 => Segmentation::Udp(usize::from(self.gso_size)),
            _ => Segmentation::Unsupported,
        }
    }

    /// True if the kernel left the checksum to be completed (the frame's own is partial).
    pub fn needs_csum(self) -> bool {
        self.flags & F_NEEDS_CSUM != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_survives_its_bytes_and_says_how_to_split() {
        let h = VnetHdr::udp_gso(4138, 34, 64);
        let b = h.to_bytes();
        assert_eq!(b[0], F_NEEDS_CSUM);
        assert_eq!(b[1], GSO_UDP_L4);
        assert_eq!(VnetHdr::parse(&b), Some(h));
        assert_eq!(h.segmentation(), Segmentation::Udp(64));
        assert!(h.needs_csum());
        assert_eq!(VnetHdr::linear(106).segmentation(), Segmentation::None);
        assert_eq!(VnetHdr::parse(&b[..9]), None, "short");
        let tcp = VnetHdr {
            gso_type: 1,
            gso_size: 1448,
            ..h
        };
        assert_eq!(tcp.segmentation(), Segmentation::Unsupported);
        let zero = VnetHdr { gso_size: 0, ..h };
        assert_eq!(zero.segmentation(), Segmentation::Unsupported);
    }
}
