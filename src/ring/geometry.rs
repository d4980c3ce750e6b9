//! Ring geometry: blocks, frames and the rules the kernel enforces on them, checked before any
//! syscall so a user gets a sentence instead of `PACKET_RX_RING: Invalid argument`.

use std::fmt;

/// Frame sizes and offsets inside a ring must be multiples of this (`TPACKET_ALIGNMENT`).
pub const TPACKET_ALIGNMENT: u32 = 16;

/// The most memory one ring may map: a guard against typos such as `--block-count 1000000`.
pub const MAX_RING_BYTES: u64 = 1 << 30;

/// Blocks, frames and their sizes, as passed to `PACKET_RX_RING` / `PACKET_TX_RING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingGeometry {
    /// Bytes per block; a multiple of the page size.
    pub block_size: u32,
    /// Number of blocks.
    pub block_count: u32,
    /// Bytes per frame; a multiple of 16. On a V3 RX ring only used for the kernel's checks.
    pub frame_size: u32,
    /// Number of frames: `block_size / frame_size * block_count`.
    pub frame_count: u32,
}

/// Why a geometry is impossible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeometryError {
    /// A size or count of zero.
    Zero(&'static str),
    /// The block size is not a multiple of the page size.
    BlockNotPageAligned {
        /// Requested block size.
        block_size: u32,
        /// The page size.
        page_size: u32,
    },
    /// The frame size is not a multiple of 16.
    FrameNotAligned(u32),
    /// A frame cannot hold the ring header plus the largest frame the interface carries.
    FrameTooSmall {
        /// Requested frame size.
        frame_size: u32,
        /// Bytes needed: ring header plus Ethernet header plus MTU.
        needed: u32,
    },
    /// The frame is larger than a block.
    FrameLargerThanBlock {
        /// Requested frame size.
        frame_size: u32,
        /// Requested block size.
        block_size: u32,
    },
    /// An explicit frame count disagrees with frames per block times blocks.
    FrameCountMismatch {
        /// `block_size / frame_size * block_count`.
        expected: u64,
        /// What was asked for.
        given: u32,
    },
    /// The ring would map more than [`MAX_RING_BYTES`] (or overflow 32 bits of frames).
    TooLarge {
        /// Total bytes requested.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
}

impl fmt::Display for GeometryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GeometryError::Zero(what) => write!(f, "{what} must be greater than zero"),
            GeometryError::BlockNotPageAligned {
                block_size,
                page_size,
            } => write!(
                f,
                "block size {block_size} is not a multiple of the page size {page_size}"
            ),
            GeometryError::FrameNotAligned(s) => {
                write!(f, "frame size {s} is not a multiple of {TPACKET_ALIGNMENT}")
            }
            GeometryError::FrameTooSmall { frame_size, needed } => write!(
                f,
                "frame size {frame_size} is too small: the ring header plus a full-MTU frame need {needed} bytes"
            ),
            GeometryError::FrameLargerThanBlock {
                frame_size,
                block_size,
            } => write!(
                f,
                "frame size {frame_size} is larger than the block size {block_size}"
            ),
            GeometryError::FrameCountMismatch { expected, given } => write!(
                f,
                "frame count {given} does not equal frames per block times blocks ({expected})"
            ),
            GeometryError::TooLarge { bytes, limit } => write!(
                f,
                "ring of {bytes} bytes exceeds the limit of {limit} bytes"
            ),
        }
    }
}

impl std::error::Error for GeometryError {}

impl RingGeometry {
    /// Builds and checks a geometry.
    ///
    /// `frame_count`, when given, must equal `block_size / frame_size * block_count`.
    /// `min_frame_size` is the ring header length plus the largest frame the interface can
    /// carry (Ethernet header plus MTU); pass 0 when the interface is not known yet.
    pub fn new(
        block_size: u32,
        block_count: u32,
        frame_size: u32,
        frame_count: Option<u32>,
        page_size: u32,
        min_frame_size: u32,
    ) -> Result<Self, GeometryError> {
        if block_size == 0 {
            return Err(GeometryError::Zero("block size"));
        }
        if block_count == 0 {
            return Err(GeometryError::Zero("block count"));
        }
        if frame_size == 0 {
            return Err(GeometryError::Zero("frame size"));
        }
        if page_size == 0 || !block_size.is_multiple_of(page_size) {
            return Err(GeometryError::BlockNotPageAligned {
                block_size,
                page_size,
            });
        }
        if !frame_size.is_multiple_of(TPACKET_ALIGNMENT) {
            return Err(GeometryError::FrameNotAligned(frame_size));
        }
        if frame_size < min_frame_size {
            return Err(GeometryError::FrameTooSmall {
                frame_size,
                needed: min_frame_size,
            });
        }
        if frame_size > block_size {
            return Err(GeometryError::FrameLargerThanBlock {
                frame_size,
                block_size,
            });
        }
        let bytes = u64::from(block_size) * u64::from(block_count);
        if bytes > MAX_RING_BYTES {
            return Err(GeometryError::TooLarge {
                bytes,
                limit: MAX_RING_BYTES,
            });
        }
        let expected = u64::from(block_size / frame_size) * u64::from(block_count);
        if let Some(given) = frame_count {
            if u64::from(given) != expected {
                return Err(GeometryError::FrameCountMismatch { expected, given });
            }
        }
        Ok(Self {
            block_size,
            block_count,
            frame_size,
            // Bounded by MAX_RING_BYTES / TPACKET_ALIGNMENT, far below u32::MAX.
            frame_count: expected as u32,
        })
    }

    /// Frames in one block.
    pub fn frames_per_block(&self) -> u32 {
        self.block_size / self.frame_size
    }

    /// Bytes the whole ring maps.
    pub fn total_bytes(&self) -> usize {
        self.block_size as usize * self.block_count as usize
    }

    /// Byte offset of frame `index` from the start of the mapping.
    pub fn frame_offset(&self, index: u32) -> usize {
        let fpb = self.frames_per_block();
        (index / fpb) as usize * self.block_size as usize
            + (index % fpb) as usize * self.frame_size as usize
    }
}

/// Smallest V3 RX frame that captures a whole frame of `mtu` bytes of IP: the kernel puts the
/// Ethernet header at `TPACKET_ALIGN(TPACKET3_HDRLEN + 16) - 14` and truncates at the frame end.
pub fn rx_min_frame_size(mtu: u32) -> u32 {
    let netoff =
        (libc::TPACKET3_HDRLEN as u32 + 16).div_ceil(TPACKET_ALIGNMENT) * TPACKET_ALIGNMENT;
    netoff + mtu
}

/// Smallest TX frame that holds a frame of `mtu` bytes of IP behind a header whose data starts
/// at `data_offset`.
pub fn tx_min_frame_size(data_offset: usize, mtu: u32) -> u32 {
    (data_offset as u32 + 14 + mtu).div_ceil(TPACKET_ALIGNMENT) * TPACKET_ALIGNMENT
}

/// A geometry from the user's options, the sizes not given derived from the interface:
/// the frame from `min_frame_size` ([`default_frame_size`]), the block from `default_block`
/// grown to hold one frame ([`default_block_size`]); then checked as [`RingGeometry::new`].
pub fn from_options(
    block_size: Option<u32>,
    default_block: u32,
    block_count: u32,
    frame_size: Option<u32>,
    frame_count: Option<u32>,
    page_size: u32,
    min_frame_size: u32,
) -> Result<RingGeometry, GeometryError> {
    let frame = frame_size.unwrap_or_else(|| default_frame_size(min_frame_size));
    let block = block_size.unwrap_or_else(|| default_block_size(default_block, frame, page_size));
    RingGeometry::new(
        block,
        block_count,
        frame,
        frame_count,
        page_size,
        min_frame_size,
    )
}

/// The frame size when the user gives none: 2048 bytes, or, where the MTU needs more (jumbo
/// frames), the smallest aligned size holding `min_frame_size`.
pub fn default_frame_size(min_frame_size: u32) -> u32 {
    min_frame_size.max(2048).div_ceil(TPACKET_ALIGNMENT) * TPACKET_ALIGNMENT
}

/// The block size when the user gives none: `default`, grown to whole pages when one frame of
/// `frame_size` would not fit in it.
pub fn default_block_size(default: u32, frame_size: u32, page_size: u32) -> u32 {
    default.max(frame_size.div_ceil(page_size.max(1)) * page_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_mtu_so_jumbo_frames_need_no_hand_set_geometry() {
        // Standard MTU: the long-standing 2048-byte frames and blocks as they were.
        assert_eq!(default_frame_size(rx_min_frame_size(1500)), 2048);
        assert_eq!(default_block_size(1 << 16, 2048, PAGE), 1 << 16);
        // MTU 9000: the frame grows to hold it, aligned, and the geometry is valid.
        let f = default_frame_size(rx_min_frame_size(9000));
        assert!(f >= rx_min_frame_size(9000) && f.is_multiple_of(TPACKET_ALIGNMENT) && f < 9200);
        let b = default_block_size(1 << 16, f, PAGE);
        assert!(RingGeometry::new(b, 64, f, None, PAGE, rx_min_frame_size(9000)).is_ok());
        // Loopback's 65536: the block grows to whole pages around one frame.
        let f = default_frame_size(tx_min_frame_size(48, 65536));
        let b = default_block_size(1 << 16, f, PAGE);
        assert!(b >= f && b.is_multiple_of(PAGE));
        assert!(RingGeometry::new(b, 4, f, None, PAGE, tx_min_frame_size(48, 65536)).is_ok());
    }

    const PAGE: u32 = 4096;

    #[test]
    fn accepts_a_typical_geometry_and_derives_the_frame_count() {
        let g = RingGeometry::new(1 << 20, 16, 2048, None, PAGE, 48 + 14 + 1500).unwrap();
        assert_eq!(g.frames_per_block(), 512);
        assert_eq!(g.frame_count, 512 * 16);
        assert_eq!(g.total_bytes(), 16 << 20);
    }

    #[test]
    fn frame_offsets_skip_the_tail_of_each_block() {
        // 3 frames of 1280 bytes per 4096-byte block: 256 bytes unused at each block's end.
        let g = RingGeometry::new(4096, 2, 1280, Some(6), PAGE, 0).unwrap();
        assert_eq!(g.frame_offset(0), 0);
        assert_eq!(g.frame_offset(2), 2560);
        assert_eq!(g.frame_offset(3), 4096);
        assert_eq!(g.frame_offset(5), 4096 + 2560);
    }

    #[test]
    fn rejects_each_impossible_geometry_with_its_reason() {
        let cases = [
            (
                RingGeometry::new(0, 1, 2048, None, PAGE, 0),
                GeometryError::Zero("block size"),
            ),
            (
                RingGeometry::new(4096, 0, 2048, None, PAGE, 0),
                GeometryError::Zero("block count"),
            ),
            (
                RingGeometry::new(5000, 1, 2048, None, PAGE, 0),
                GeometryError::BlockNotPageAligned {
                    block_size: 5000,
                    page_size: PAGE,
                },
            ),
            (
                RingGeometry::new(4096, 1, 2010, None, PAGE, 0),
                GeometryError::FrameNotAligned(2010),
            ),
            (
                RingGeometry::new(4096, 1, 1024, None, PAGE, 1562),
                GeometryError::FrameTooSmall {
                    frame_size: 1024,
                    needed: 1562,
                },
            ),
            (
                RingGeometry::new(4096, 1, 8192, None, PAGE, 0),
                GeometryError::FrameLargerThanBlock {
                    frame_size: 8192,
                    block_size: 4096,
                },
            ),
            (
                RingGeometry::new(4096, 4, 2048, Some(7), PAGE, 0),
                GeometryError::FrameCountMismatch {
                    expected: 8,
                    given: 7,
                },
            ),
            (
                RingGeometry::new(1 << 22, 1024, 2048, None, PAGE, 0),
                GeometryError::TooLarge {
                    bytes: 1 << 32,
                    limit: MAX_RING_BYTES,
                },
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got.unwrap_err(), want);
        }
    }

    #[test]
    fn minimum_frames_hold_a_full_mtu() {
        assert_eq!(rx_min_frame_size(1500), 96 + 1500);
        assert_eq!(tx_min_frame_size(48, 1500), 1568);
        assert_eq!(tx_min_frame_size(32, 1500), 1552);
    }

    #[test]
    fn errors_read_as_one_sentence() {
        let e = RingGeometry::new(4096, 1, 1024, None, PAGE, 1562).unwrap_err();
        assert_eq!(
            e.to_string(),
            "frame size 1024 is too small: the ring header plus a full-MTU frame need 1562 bytes"
        );
    }
}
