//! A TPACKET_V3 RX block, parsed as untrusted bytes.
//!
//! The kernel writes a block descriptor (`struct tpacket_block_desc`) followed by packets, each
//! behind a `struct tpacket3_hdr` and chained by `tp_next_offset`. This walker reads them from a
//! plain `&[u8]` with every offset and length checked against the block's bounds first, so a
//! corrupt or hostile block ends the walk with a [`BlockError`] instead of a wild read or a
//! panic. It has no `unsafe` and is fuzzed with arbitrary bytes.

use std::fmt;

/// The `version` the kernel writes into the descriptor of a TPACKET_V3 block.
pub const TPACKET_V3: u32 = libc::tpacket_versions::TPACKET_V3 as u32;

/// Byte offsets of the fields of `struct tpacket_block_desc` (with its `tpacket_hdr_v1`).
pub mod block_field {
    /// `version`.
    pub const VERSION: usize = 0;
    /// `hdr.bh1.block_status`: the word shared with the kernel.
    pub const BLOCK_STATUS: usize = 8;
    /// `hdr.bh1.num_pkts`.
    pub const NUM_PKTS: usize = 12;
    /// `hdr.bh1.offset_to_first_pkt`.
    pub const OFFSET_TO_FIRST_PKT: usize = 16;
    /// `hdr.bh1.blk_len`.
    pub const BLK_LEN: usize = 20;
    /// `hdr.bh1.seq_num`.
    pub const SEQ_NUM: usize = 24;
    /// Size of the descriptor.
    pub const LEN: usize = 48;
}

/// Byte offsets of the fields of `struct tpacket3_hdr`.
pub mod packet_field {
    /// `tp_next_offset`.
    pub const NEXT_OFFSET: usize = 0;
    /// `tp_sec`.
    pub const SEC: usize = 4;
    /// `tp_nsec`.
    pub const NSEC: usize = 8;
    /// `tp_snaplen`.
    pub const SNAPLEN: usize = 12;
    /// `tp_len`.
    pub const LEN: usize = 16;
    /// `tp_status`.
    pub const STATUS: usize = 20;
    /// `tp_mac`.
    pub const MAC: usize = 24;
    /// `hv1.tp_vlan_tci`.
    pub const VLAN_TCI: usize = 32;
    /// Size of the header.
    pub const HEADER_LEN: usize = 48;
}

/// Why a block could not be walked to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockError {
    /// The block is shorter than its descriptor.
    DescriptorTruncated,
    /// The descriptor's `version` is not TPACKET_V3.
    UnknownVersion(u32),
    /// Packet `index`'s header does not fit in the block.
    HeaderOutOfBounds {
        /// Position of the packet in the block.
        index: u32,
        /// Its byte offset.
        offset: usize,
    },
    /// Packet `index`'s captured bytes do not fit in the block.
    DataOutOfBounds {
        /// Position of the packet in the block.
        index: u32,
    },
    /// Packet `index` points to a next packet that would not move forward past its header.
    BadNextOffset {
        /// Position of the packet in the block.
        index: u32,
        /// The `tp_next_offset` found.
        next_offset: u32,
    },
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockError::DescriptorTruncated => f.write_str("block shorter than its descriptor"),
            BlockError::UnknownVersion(v) => write!(f, "unknown block descriptor version {v}"),
            BlockError::HeaderOutOfBounds { index, offset } => {
                write!(
                    f,
                    "packet {index} header at offset {offset} is outside the block"
                )
            }
            BlockError::DataOutOfBounds { index } => {
                write!(f, "packet {index} data is outside the block")
            }
            BlockError::BadNextOffset { index, next_offset } => {
                write!(f, "packet {index} has an invalid next offset {next_offset}")
            }
        }
    }
}

impl std::error::Error for BlockError {}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([b[0], b[1]]))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_ne_bytes(a))
}

/// The descriptor of a block: how many packets it holds and where the first one starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockDescriptor {
    /// `num_pkts`.
    pub num_packets: u32,
    /// `offset_to_first_pkt`.
    pub first_offset: u32,
    /// `blk_len`: bytes of the block in use.
    pub block_len: u32,
    /// `seq_num`: the kernel's running block sequence number.
    pub seq: u64,
}

/// One captured packet inside a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPacket<'a> {
    /// Kernel receive timestamp, nanoseconds since the Unix epoch (`tp_sec`, `tp_nsec`).
    pub timestamp_ns: u64,
    /// Length of the frame on the wire (`tp_len`).
    pub wire_len: u32,
    /// `tp_status` flags (`TP_STATUS_CSUMNOTREADY`, `TP_STATUS_CSUM_VALID`, `TP_STATUS_LOSING`, ...).
    pub status: u32,
    /// VLAN TCI the kernel stripped, if `TP_STATUS_VLAN_VALID` is set.
    pub vlan_tci: u32,
    /// The captured bytes (`tp_snaplen` of them), starting at the Ethernet header.
    pub data: &'a [u8],
    /// The bytes between the packet header and the Ethernet header: padding, and, on a ring
    /// with `PACKET_VNET_HDR`, a `virtio_net_hdr` in its last 10 bytes.
    pub lead: &'a [u8],
}

/// A parsed TPACKET_V3 block, borrowed from its bytes.
#[derive(Debug, Clone, Copy)]
pub struct BlockView<'a> {
    bytes: &'a [u8],
    descriptor: BlockDescriptor,
}

impl<'a> BlockView<'a> {
    /// Reads and checks the descriptor of `bytes`, a whole block.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BlockError> {
        if bytes.len() < block_field::LEN {
            return Err(BlockError::DescriptorTruncated);
        }
        let version =
            read_u32(bytes, block_field::VERSION).ok_or(BlockError::DescriptorTruncated)?;
        // The kernel copies the socket's tp_version into every descriptor it opens.
        if version != TPACKET_V3 {
            return Err(BlockError::UnknownVersion(version));
        }
        let get = |at| read_u32(bytes, at).ok_or(BlockError::DescriptorTruncated);
        let descriptor = BlockDescriptor {
            num_packets: get(block_field::NUM_PKTS)?,
            first_offset: get(block_field::OFFSET_TO_FIRST_PKT)?,
            block_len: get(block_field::BLK_LEN)?,
            seq: read_u64(bytes, block_field::SEQ_NUM).ok_or(BlockError::DescriptorTruncated)?,
        };
        Ok(Self { bytes, descriptor })
    }

    /// The block's descriptor.
    pub fn descriptor(&self) -> BlockDescriptor {
        self.descriptor
    }

    /// Iterates the packets; a malformed packet yields one `Err` and ends the walk.
    pub fn packets(&self) -> PacketIter<'a> {
        PacketIter {
            bytes: self.bytes,
            offset: self.descriptor.first_offset as usize,
            index: 0,
            count: self.descriptor.num_packets,
            failed: false,
        }
    }
}

/// Iterator over the packets of a [`BlockView`].
#[derive(Debug, Clone)]
pub struct PacketIter<'a> {
    bytes: &'a [u8],
    offset: usize,
    index: u32,
    count: u32,
    failed: bool,
}

impl<'a> PacketIter<'a> {
    fn read_packet(&mut self) -> Result<RawPacket<'a>, BlockError> {
        let index = self.index;
        let at = self.offset;
        let out = BlockError::HeaderOutOfBounds { index, offset: at };
        // The header must lie after the descriptor and entirely inside the block.
        if at < block_field::LEN || at.saturating_add(packet_field::HEADER_LEN) > self.bytes.len() {
            return Err(out);
        }
        let hdr = &self.bytes[at..at + packet_field::HEADER_LEN];
        let word = |f| read_u32(hdr, f).ok_or(out);
        let next_offset = word(packet_field::NEXT_OFFSET)?;
        let sec = word(packet_field::SEC)?;
        let nsec = word(packet_field::NSEC)?;
        let snaplen = word(packet_field::SNAPLEN)?;
        let wire_len = word(packet_field::LEN)?;
        let status = word(packet_field::STATUS)?;
        let vlan_tci = word(packet_field::VLAN_TCI)?;
        let mac = read_u16(hdr, packet_field::MAC).ok_or(out)? as usize;

        let start = at + mac;
        let end = start.checked_add(snaplen as usize);
        let (data, lead) = match end {
            Some(end) if mac >= packet_field::HEADER_LEN && end <= self.bytes.len() => (
                &self.bytes[start..end],
                &self.bytes[at + packet_field::HEADER_LEN..start],
            ),
            _ => return Err(BlockError::DataOutOfBounds { index }),
        };

        if index + 1 < self.count {
            // The next header must start past this one; bounds are checked on the next call.
            if (next_offset as usize) < packet_field::HEADER_LEN {
                return Err(BlockError::BadNextOffset { index, next_offset });
            }
            self.offset = at.saturating_add(next_offset as usize);
        }
        Ok(RawPacket {
            timestamp_ns: u64::from(sec) * 1_000_000_000 + u64::from(nsec),
            wire_len,
            status,
            vlan_tci,
            data,
            lead,
        })
    }
}

impl<'a> Iterator for PacketIter<'a> {
    type Item = Result<RawPacket<'a>, BlockError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.index >= self.count {
            return None;
        }
        let r = self.read_packet();
        self.index += 1;
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

/// Builds synthetic V3 blocks for tests and fuzz seeds, laid out the way the kernel lays them.
pub mod synth {
    use super::{block_field, packet_field, TPACKET_V3};

    /// A block of `block_size` bytes holding `frames`, each behind a `tpacket3_hdr` whose
    /// `tp_mac` is `mac_offset` and whose timestamp is `ts_ns + index`.
    pub fn block(block_size: usize, frames: &[&[u8]], ts_ns: u64, mac_offset: u16) -> Vec<u8> {
        let with: Vec<(&[u8], &[u8])> = frames.iter().map(|f| (*f, &[][..])).collect();
        block_with_leads(block_size, &with, ts_ns, mac_offset)
    }

    /// Like [`block`], each frame with bytes written just before it (`lead`, at most
    /// `mac_offset - 48`): a ring with `PACKET_VNET_HDR` puts the frame's `virtio_net_hdr`
    /// there.
    pub fn block_with_leads(
        block_size: usize,
        frames: &[(&[u8], &[u8])],
        ts_ns: u64,
        mac_offset: u16,
    ) -> Vec<u8> {
        let mut b = vec![0u8; block_size];
        let put32 =
            |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        put32(&mut b, block_field::VERSION, TPACKET_V3);
        put32(&mut b, block_field::NUM_PKTS, frames.len() as u32);
        put32(
            &mut b,
            block_field::OFFSET_TO_FIRST_PKT,
            block_field::LEN as u32,
        );
        let mut at = block_field::LEN;
        for (i, (f, lead)) in frames.iter().enumerate() {
            let total = mac_offset as usize + f.len();
            let next = (total + 15) & !15;
            let ts = ts_ns + i as u64;
            let is_last = i + 1 == frames.len();
            put32(
                &mut b,
                at + packet_field::NEXT_OFFSET,
                if is_last { 0 } else { next as u32 },
            );
            put32(&mut b, at + packet_field::SEC, (ts / 1_000_000_000) as u32);
            put32(&mut b, at + packet_field::NSEC, (ts % 1_000_000_000) as u32);
            put32(&mut b, at + packet_field::SNAPLEN, f.len() as u32);
            put32(&mut b, at + packet_field::LEN, f.len() as u32);
            b[at + packet_field::MAC..at + packet_field::MAC + 2]
                .copy_from_slice(&mac_offset.to_ne_bytes());
            let d = at + mac_offset as usize;
            b[d..d + f.len()].copy_from_slice(f);
            b[d - lead.len()..d].copy_from_slice(lead);
            at += next;
        }
        put32(&mut b, block_field::BLK_LEN, at as u32);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_every_packet_with_its_bytes_and_timestamp() {
        let frames: [&[u8]; 3] = [b"first frame", b"second", b"third frame bytes"];
        let b = synth::block(4096, &frames, 1_700_000_000_123_456_789, 66);
        let view = BlockView::parse(&b).unwrap();
        assert_eq!(view.descriptor().num_packets, 3);
        let got: Vec<_> = view.packets().map(|p| p.unwrap()).collect();
        assert_eq!(got.len(), 3);
        for (i, p) in got.iter().enumerate() {
            assert_eq!(p.data, frames[i]);
            assert_eq!(p.wire_len as usize, frames[i].len());
            assert_eq!(p.timestamp_ns, 1_700_000_000_123_456_789 + i as u64);
        }
    }

    #[test]
    fn stops_at_a_packet_whose_data_leaves_the_block() {
        let frames: [&[u8]; 2] = [b"ok", b"bad"];
        let mut b = synth::block(4096, &frames, 0, 66);
        let second = block_field::LEN + 80; // (66 + 2) rounded up to 16
        b[second + packet_field::SNAPLEN..second + packet_field::SNAPLEN + 4]
            .copy_from_slice(&5000u32.to_ne_bytes());
        let view = BlockView::parse(&b).unwrap();
        let got: Vec<_> = view.packets().collect();
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        assert_eq!(got[1], Err(BlockError::DataOutOfBounds { index: 1 }));
    }

    #[test]
    fn rejects_next_offsets_that_do_not_move_forward() {
        let frames: [&[u8]; 2] = [b"a", b"b"];
        let mut b = synth::block(4096, &frames, 0, 66);
        b[block_field::LEN..block_field::LEN + 4].copy_from_slice(&0u32.to_ne_bytes());
        let got: Vec<_> = BlockView::parse(&b).unwrap().packets().collect();
        assert_eq!(
            got[0],
            Err(BlockError::BadNextOffset {
                index: 0,
                next_offset: 0
            })
        );
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn a_huge_packet_count_ends_at_the_block_boundary() {
        let frames: [&[u8]; 1] = [b"x"];
        let mut b = synth::block(256, &frames, 0, 48);
        b[block_field::NUM_PKTS..block_field::NUM_PKTS + 4]
            .copy_from_slice(&u32::MAX.to_ne_bytes());
        // Packet 0 chains to 64 bytes later, again and again, until a header falls off the end.
        b[block_field::LEN..block_field::LEN + 4].copy_from_slice(&64u32.to_ne_bytes());
        let got: Vec<_> = BlockView::parse(&b).unwrap().packets().collect();
        assert!(got.len() <= 256 / 48 + 1);
        assert!(got.last().unwrap().is_err());
    }

    #[test]
    fn truncated_or_foreign_descriptors_are_errors() {
        assert_eq!(
            BlockView::parse(&[0u8; 10]).unwrap_err(),
            BlockError::DescriptorTruncated
        );
        assert_eq!(
            BlockView::parse(&[0u8; 64]).unwrap_err(),
            BlockError::UnknownVersion(0)
        );
    }

    #[test]
    fn field_offsets_match_the_kernel_abi() {
        use std::mem::{offset_of, size_of};
        assert_eq!(size_of::<libc::tpacket3_hdr>(), packet_field::HEADER_LEN);
        assert_eq!(
            offset_of!(libc::tpacket3_hdr, tp_next_offset),
            packet_field::NEXT_OFFSET
        );
        assert_eq!(offset_of!(libc::tpacket3_hdr, tp_sec), packet_field::SEC);
        assert_eq!(offset_of!(libc::tpacket3_hdr, tp_nsec), packet_field::NSEC);
        assert_eq!(
            offset_of!(libc::tpacket3_hdr, tp_snaplen),
            packet_field::SNAPLEN
        );
        assert_eq!(offset_of!(libc::tpacket3_hdr, tp_len), packet_field::LEN);
        assert_eq!(
            offset_of!(libc::tpacket3_hdr, tp_status),
            packet_field::STATUS
        );
        assert_eq!(offset_of!(libc::tpacket3_hdr, tp_mac), packet_field::MAC);
        assert_eq!(
            offset_of!(libc::tpacket3_hdr, hv1)
                + offset_of!(libc::tpacket_hdr_variant1, tp_vlan_tci),
            packet_field::VLAN_TCI
        );
        assert_eq!(size_of::<libc::tpacket_block_desc>(), block_field::LEN);
        assert_eq!(offset_of!(libc::tpacket_block_desc, hdr), 8);
        assert_eq!(offset_of!(libc::tpacket_hdr_v1, block_status), 0);
        assert_eq!(
            offset_of!(libc::tpacket_hdr_v1, num_pkts),
            block_field::NUM_PKTS - 8
        );
        assert_eq!(
            offset_of!(libc::tpacket_hdr_v1, offset_to_first_pkt),
            block_field::OFFSET_TO_FIRST_PKT - 8
        );
        assert_eq!(
            offset_of!(libc::tpacket_hdr_v1, blk_len),
            block_field::BLK_LEN - 8
        );
        assert_eq!(
            offset_of!(libc::tpacket_hdr_v1, seq_num),
            block_field::SEQ_NUM - 8
        );
    }
}
