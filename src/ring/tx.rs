//! The transmit ring: TPACKET_V3 (kernel >= 4.11; fixed-size frames, `tp_next_offset` 0) or
//! TPACKET_V2.
//!
//! [`TxRing::claim`] lends the next free frame as a [`TxFrame`]; [`TxFrame::publish`] hands it
//! to the kernel with a `Release` store of `TP_STATUS_SEND_REQUEST`; [`TxRing::flush`] asks the
//! kernel to send everything published, without blocking. The kernel marks a frame
//! `TP_STATUS_AVAILABLE` again once its skb is freed, and `claim` reuses it.

#![allow(unsafe_code)]

use std::fmt;
use std::mem::size_of;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::geometry::{self, GeometryError, RingGeometry};
use crate::sys::{self, Mapping, SysError, TpacketVersion};
use crate::wire::vnet::{self, VnetHdr};

/// How to build a TX ring.
#[derive(Debug, Clone)]
pub struct TxConfig {
    /// Blocks and frames.
    pub geometry: RingGeometry,
    /// Frame header layout.
    pub version: TpacketVersion,
    /// Skip the qdisc layer (`PACKET_QDISC_BYPASS`).
    pub qdisc_bypass: bool,
    /// Pre-fault the mapping (`MAP_POPULATE`).
    pub populate: bool,
    /// How the kernel builds each frame's skb.
    pub skb: SkbLayout,
}

impl TxConfig {
    /// The configuration `options` ask for, with header `version`, on an interface of `mtu`:
    /// the frame size must hold the ring header, the `virtio_net_hdr` of a linear layout and a
    /// full-MTU Ethernet frame. (For GSO super-packets, `mtu` is the largest IP packet a slot
    /// must hold: the super-packet's length where it exceeds the MTU.)
    pub fn new(
        options: &TxRingOptions,
        version: TpacketVersion,
        mtu: u32,
    ) -> Result<Self, GeometryError> {
        let vnet = match options.skb {
            SkbLayout::Linear => vnet::LEN,
            SkbLayout::Fragments => 0,
        };
        let data = FrameLayout::for_version(version).data + vnet;
        let geometry = geometry::from_options(
            options.block_size,
            TxRingOptions::BLOCK_SIZE,
            options.block_count,
            options.frame_size,
            options.frame_count,
            sys::page_size() as u32,
            geometry::tx_min_frame_size(data, mtu),
        )?;
        Ok(Self {
            geometry,
            version,
            qdisc_bypass: options.qdisc_bypass,
            populate: true,
            skb: options.skb,
        })
    }
}

/// A TX ring's shape and behaviour as a user asks for them (the tools' layer parses them from
/// the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRingOptions {
    /// TX ring header version; V3 falls back to V2 where the kernel lacks it.
    pub ring_version: TpacketVersion,
    /// Ring block size in bytes (a multiple of the page size); `None`: 64 KiB, grown to hold
    /// one frame.
    pub block_size: Option<u32>,
    /// Number of ring blocks.
    pub block_count: u32,
    /// Frame slot size in bytes (a multiple of 16, holding a full-MTU frame plus the header);
    /// `None`: 2048, or what the interface's MTU needs.
    pub frame_size: Option<u32>,
    /// Total frames; if given, must equal block_size / frame_size * block_count.
    pub frame_count: Option<u32>,
    /// Bypass the qdisc layer (`PACKET_QDISC_BYPASS`).
    pub qdisc_bypass: bool,
    /// How the kernel builds each packet's skb from a ring frame.
    pub skb: SkbLayout,
}

impl TxRingOptions {
    /// The block size when none is given and a frame fits.
    pub const BLOCK_SIZE: u32 = 1 << 16;
}

impl Default for TxRingOptions {
    fn default() -> Self {
        Self {
            ring_version: TpacketVersion::V3,
            block_size: None,
            block_count: 64,
            frame_size: None,
            frame_count: None,
            qdisc_bypass: false,
            skb: SkbLayout::Linear,
        }
    }
}

/// Why a ring could not be opened: its geometry, or the kernel.
#[derive(Debug)]
pub enum OpenError {
    /// The options describe an impossible ring (nothing was asked of the kernel).
    Geometry(GeometryError),
    /// A system call failed.
    Sys(SysError),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Geometry(e) => write!(f, "impossible ring geometry: {e}"),
            OpenError::Sys(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for OpenError {}

impl From<GeometryError> for OpenError {
    fn from(e: GeometryError) -> Self {
        OpenError::Geometry(e)
    }
}

impl From<SysError> for OpenError {
    fn from(e: SysError) -> Self {
        OpenError::Sys(e)
    }
}

/// How the kernel turns a TX ring frame into an skb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SkbLayout {
    /// The kernel's default: the link-layer header is copied into the skb head and the rest
    /// is attached as fragments pointing at the ring's pages. Anything that forwards the skb
    /// to another namespace (veth, bridges into containers) must then copy those fragments
    /// (`skb_copy_ubufs`), with a page allocation per packet.
    Fragments,
    /// Every frame is prefixed with a `struct virtio_net_hdr` (`PACKET_VNET_HDR`) whose
    /// `hdr_len` covers the whole frame, so the kernel copies the frame into the skb head: one
    /// small copy and no page references. Cheaper for small frames on virtual links.
    #[default]
    Linear,
}

/// Offsets of the words user space writes in a TX frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLayout {
    /// `tp_status`.
    pub status: usize,
    /// `tp_len`.
    pub len: usize,
    /// `tp_next_offset` (V3 only; must stay 0 on TX).
    pub next_offset: Option<usize>,
    /// Where the frame's bytes start: the header length minus `sizeof(struct sockaddr_ll)`,
    /// which is where the kernel reads them from when `PACKET_TX_HAS_OFF` is not set.
    pub data: usize,
}

impl FrameLayout {
    /// The layout for `version`.
    pub const fn for_version(version: TpacketVersion) -> Self {
        let sll = size_of::<libc::sockaddr_ll>();
        match version {
            TpacketVersion::V2 => FrameLayout {
                status: 0,
                len: 4,
                next_offset: None,
                data: libc::TPACKET2_HDRLEN - sll,
            },
            TpacketVersion::V3 => FrameLayout {
                status: 20,
                len: 16,
                next_offset: Some(0),
                data: libc::TPACKET3_HDRLEN - sll,
            },
        }
    }
}

/// What went wrong on the TX path.
#[derive(Debug)]
pub enum TxError {
    /// The kernel refused frame `frame` (`TP_STATUS_WRONG_FORMAT`): typically a length larger
    /// than the device MTU allows or smaller than a link-layer header.
    WrongFormat {
        /// Index of the frame in the ring.
        frame: u32,
    },
    /// A frame longer than a ring slot can hold.
    FrameTooLong {
        /// Requested length.
        len: usize,
        /// What a slot holds.
        capacity: usize,
    },
    /// A GSO frame on a ring without `PACKET_VNET_HDR` (`--skb fragments`): the kernel
    /// would send it as one oversized frame.
    NoVnetHeader,
    /// A syscall failed.
    Sys(SysError),
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxError::WrongFormat { frame } => write!(
                f,
                "the kernel rejected TX ring frame {frame} (TP_STATUS_WRONG_FORMAT): bad length for the device"
            ),
            TxError::FrameTooLong { len, capacity } => write!(
                f,
                "frame of {len} bytes does not fit a TX ring slot of {capacity} bytes"
            ),
            TxError::NoVnetHeader => write!(
                f,
                "a GSO frame needs the virtio_net_hdr of --skb linear (PACKET_VNET_HDR)"
            ),
            TxError::Sys(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TxError {}

impl From<SysError> for TxError {
    fn from(e: SysError) -> Self {
        TxError::Sys(e)
    }
}

/// What a flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Nothing was pending.
    Idle,
    /// The kernel took the pending frames (`send()` returned this many bytes).
    Sent(usize),
    /// The device or socket buffer is full (`ENOBUFS`/`EAGAIN`): the frames stay queued as
    /// `TP_STATUS_SEND_REQUEST` and go out on a later flush.
    Congested,
}

/// A TX ring bound to one interface.
#[derive(Debug)]
pub struct TxRing {
    // Field order matters: the mapping is unmapped before the socket closes.
    map: Mapping,
    fd: OwnedFd,
    geometry: RingGeometry,
    version: TpacketVersion,
    layout: FrameLayout,
    cursor: u32,
    unflushed: u32,
    /// Bytes of `virtio_net_hdr` before each frame (0 without `PACKET_VNET_HDR`).
    vnet: usize,
}

impl TxRing {
    /// Opens a packet socket on `ifindex` with a TX ring. The socket is bound with protocol 0,
    /// so it receives no copies of the interface's traffic.
    pub fn open(ifindex: u32, config: &TxConfig) -> Result<Self, SysError> {
        let fd = sys::packet_socket()?;
        sys::set_packet_version(fd.as_fd(), config.version)?;
        if config.qdisc_bypass {
            sys::set_qdisc_bypass(fd.as_fd(), true)?;
        }
        let vnet = match config.skb {
            SkbLayout::Linear => {
                sys::set_vnet_hdr(fd.as_fd(), true)?;
                vnet::LEN
            }
            SkbLayout::Fragments => 0,
        };
        let g = config.geometry;
        sys::set_packet_tx_ring(fd.as_fd(), &tx_ring_request(config.version, &g))?;
        let map = Mapping::new(fd.as_fd(), g.total_bytes(), config.populate, false)?;
        sys::bind_interface(fd.as_fd(), ifindex, 0)?;
        Ok(Self {
            map,
            fd,
            geometry: g,
            version: config.version,
            layout: FrameLayout::for_version(config.version),
            cursor: 0,
            unflushed: 0,
            vnet,
        })
    }

    /// Opens the ring `options` ask for on interface `ifindex` of `mtu` (or the largest IP
    /// packet a slot must hold, see [`TxConfig::new`]). Where the kernel has
    /// no TPACKET_V3 TX ring (`EINVAL`, before 4.11) a V3 request falls back to V2;
    /// [`TxRing::version`] then differs from `options.ring_version`.
    pub fn open_with(ifindex: u32, mtu: u32, options: &TxRingOptions) -> Result<Self, OpenError> {
        let wanted = options.ring_version;
        match Self::open(ifindex, &TxConfig::new(options, wanted, mtu)?) {
            Err(e) if wanted == TpacketVersion::V3 && e.raw_os_error() == Some(libc::EINVAL) => {
                let config = TxConfig::new(options, TpacketVersion::V2, mtu)?;
                Ok(Self::open(ifindex, &config)?)
            }
            other => Ok(other?),
        }
    }

    /// Frames in the ring.
    pub fn capacity(&self) -> u32 {
        self.geometry.frame_count
    }

    /// The largest frame (link-layer header included) one slot holds.
    pub fn frame_capacity(&self) -> usize {
        self.geometry.frame_size as usize - self.layout.data - self.vnet
    }

    /// How the kernel builds the skbs.
    pub fn skb_layout(&self) -> SkbLayout {
        if self.vnet > 0 {
            SkbLayout::Linear
        } else {
            SkbLayout::Fragments
        }
    }

    /// The header version in use.
    pub fn version(&self) -> TpacketVersion {
        self.version
    }

    /// Frames published since the last successful flush.
    pub fn unflushed(&self) -> u32 {
        self.unflushed
    }

    fn header_ptr(&self, index: u32) -> *mut u8 {
        let offset = self.geometry.frame_offset(index);
        assert!(
            offset + self.geometry.frame_size as usize <= self.map.len(),
            "frame {index} outside the ring"
        );
        // SAFETY: frame_offset(index) + frame_size <= total_bytes for index < frame_count.
        unsafe { self.map.as_ptr().add(offset) }
    }

    fn status(&self, index: u32) -> &AtomicU32 {
        // SAFETY: the status word lies inside frame `index` (see header_ptr) and is 4-aligned
        // (frames are 16-aligned, the field offset is 0 or 20). The kernel updates it from its
        // send path and from skb destructors on any CPU, so it is only touched atomically.
        unsafe { AtomicU32::from_ptr(self.header_ptr(index).add(self.layout.status).cast()) }
    }

    /// Lends the next frame if the kernel has finished with it.
    ///
    /// `Ok(None)` means the ring is full: flush, then wait with [`TxRing::wait_writable`].
    pub fn claim(&mut self) -> Result<Option<TxFrame<'_>>, TxError> {
        let index = self.cursor;
        // Acquire: pairs with the kernel's store of TP_STATUS_AVAILABLE after it has finished
        // reading the frame (skb destructor), so our writes below cannot overtake its reads.
        match self.status(index).load(Ordering::Acquire) {
            libc::TP_STATUS_AVAILABLE => Ok(Some(TxFrame { ring: self, index })),
            s if s & libc::TP_STATUS_WRONG_FORMAT != 0 => {
                Err(TxError::WrongFormat { frame: index })
            }
            _ => Ok(None),
        }
    }

    /// Asks the kernel to send every published frame, without waiting (`send(MSG_DONTWAIT)`).
    pub fn flush(&mut self) -> Result<Flush, TxError> {
        if self.unflushed == 0 {
            return Ok(Flush::Idle);
        }
        self.send()
    }

    /// One `send(MSG_DONTWAIT)`, whatever `unflushed` says: the kernel may have stopped part
    /// way through an earlier batch and left frames marked `TP_STATUS_SEND_REQUEST`.
    fn send(&mut self) -> Result<Flush, TxError> {
        match sys::send_pending(self.fd.as_fd(), false) {
            Ok(n) => {
                self.unflushed = 0;
                Ok(Flush::Sent(n))
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOBUFS) | Some(libc::EAGAIN)) => {
                Ok(Flush::Congested)
            }
            Err(e) => Err(self
                .wrong_format()
                .map_or(TxError::Sys(e), |frame| TxError::WrongFormat { frame })),
        }
    }

    /// The first frame the kernel marked `TP_STATUS_WRONG_FORMAT`, if any.
    fn wrong_format(&self) -> Option<u32> {
        (0..self.capacity())
            .find(|&i| self.status(i).load(Ordering::Acquire) & libc::TP_STATUS_WRONG_FORMAT != 0)
    }

    /// Waits up to `timeout_ms` for the kernel to free a frame (`poll(POLLOUT)`).
    pub fn wait_writable(&self, timeout_ms: i32) -> Result<(), SysError> {
        let revents = sys::poll_one(self.fd.as_fd(), libc::POLLOUT | libc::POLLERR, timeout_ms)?;
        if revents & libc::POLLERR != 0 {
            let errno = sys::socket_error(self.fd.as_fd())?;
            if errno != 0 {
                return Err(SysError::new(
                    "poll(PACKET_TX_RING)",
                    std::io::Error::from_raw_os_error(errno),
                ));
            }
        }
        Ok(())
    }

    /// Frames the kernel has not finished with (published, queued or being sent).
    pub fn in_flight(&self) -> u32 {
        (0..self.capacity())
            .filter(|&i| self.status(i).load(Ordering::Acquire) != libc::TP_STATUS_AVAILABLE)
            .count() as u32
    }

    /// Flushes until every frame is back with user space or `timeout` passes; returns the frames
    /// still in flight (0 on success). A frame the kernel rejected is an error naming it.
    pub fn drain(&mut self, timeout: Duration) -> Result<u32, TxError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.send()?;
            let left = self.in_flight();
            if left == 0 {
                return Ok(0);
            }
            if let Some(frame) = self.wrong_format() {
                return Err(TxError::WrongFormat { frame });
            }
            if Instant::now() >= deadline {
                return Ok(left);
            }
            self.wait_writable(10)?;
        }
    }

    /// Calls `fill` on the data area of every frame, to write the bytes that never change
    /// (headers, padding) once instead of once per packet. Only frames the kernel does not own
    /// are visited.
    pub fn prefill(&mut self, mut fill: impl FnMut(&mut [u8])) {
        for index in 0..self.capacity() {
            if self.status(index).load(Ordering::Acquire) == libc::TP_STATUS_AVAILABLE {
                fill(self.data_mut(index));
            }
        }
    }

    fn data_mut(&mut self, index: u32) -> &mut [u8] {
        let cap = self.frame_capacity();
        // SAFETY: the data area [data, frame_size) of frame `index` lies inside the mapping and
        // does not overlap any status word. The kernel reads it only between our
        // TP_STATUS_SEND_REQUEST store and its TP_STATUS_AVAILABLE store; callers reach here only
        // for frames observed AVAILABLE, and the `&mut self` borrow keeps the slice unique.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.header_ptr(index).add(self.layout.data + self.vnet),
                cap,
            )
        }
    }

    /// The packet socket, for options this type does not wrap.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A free TX frame lent to the caller. Write the frame's bytes into [`TxFrame::data`], then
/// [`TxFrame::publish`] it; dropping it unpublished leaves it free.
#[derive(Debug)]
pub struct TxFrame<'a> {
    ring: &'a mut TxRing,
    index: u32,
}

impl TxFrame<'_> {
    /// The frame's bytes (Ethernet header first); [`TxRing::frame_capacity`] long. They keep
    /// what was last written to this slot.
    pub fn data(&mut self) -> &mut [u8] {
        self.ring.data_mut(self.index)
    }

    /// Index of the frame in the ring.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Hands the first `len` bytes to the kernel for sending on the next flush (with a
    /// linear skb's `virtio_net_hdr` where the ring has one).
    pub fn publish(self, len: usize) -> Result<(), TxError> {
        self.publish_with(len, VnetHdr::linear(len))
    }

    /// Like [`TxFrame::publish`], with the `virtio_net_hdr` given: a GSO super-packet's
    /// ([`VnetHdr::udp_gso`]). A header asking for offloads needs a ring with
    /// `PACKET_VNET_HDR` ([`SkbLayout::Linear`]).
    pub fn publish_with(self, len: usize, vnet_hdr: VnetHdr) -> Result<(), TxError> {
        let capacity = self.ring.frame_capacity();
        if len > capacity {
            return Err(TxError::FrameTooLong { len, capacity });
        }
        let ring = self.ring;
        let hdr = ring.header_ptr(self.index);
        let layout = ring.layout;
        if ring.vnet > 0 {
            // Native byte order, as the kernel reads it.
            let vnet = vnet_hdr.to_bytes();
            // SAFETY: [data, data + vnet) lies inside this frame after its header (the
            // geometry reserves it: frame_capacity subtracts it) and the kernel does not read
            // it while the frame is AVAILABLE; the Release store below publishes it.
            unsafe {
                std::ptr::copy_nonoverlapping(vnet.as_ptr(), hdr.add(layout.data), vnet.len());
            }
        } else if vnet_hdr.gso_type != vnet::GSO_NONE {
            return Err(TxError::NoVnetHeader);
        }
        let tp_len = len + ring.vnet;
        // SAFETY: tp_len (and tp_next_offset on V3) are 4-aligned words inside this frame's
        // header, which the kernel does not read while the frame is AVAILABLE; the Release
        // store below publishes them together with the data.
        unsafe {
            hdr.add(layout.len).cast::<u32>().write(tp_len as u32);
            if let Some(off) = layout.next_offset {
                hdr.add(off).cast::<u32>().write(0);
            }
        }
        // Release: the frame's bytes and tp_len are visible to the kernel before it can see
        // TP_STATUS_SEND_REQUEST (its send path reads the status, then the frame).
        ring.status(self.index)
            .store(libc::TP_STATUS_SEND_REQUEST, Ordering::Release);
        ring.cursor = (self.index + 1) % ring.geometry.frame_count;
        ring.unflushed += 1;
        Ok(())
    }
}

/// The `PACKET_TX_RING` request for `geometry` on a socket of `version`.
fn tx_ring_request(version: TpacketVersion, geometry: &RingGeometry) -> sys::TxRingRequest {
    let g = geometry;
    match version {
        TpacketVersion::V3 => sys::TxRingRequest::V3(libc::tpacket_req3 {
            tp_block_size: g.block_size,
            tp_block_nr: g.block_count,
            tp_frame_size: g.frame_size,
            tp_frame_nr: g.frame_count,
            tp_retire_blk_tov: 0,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        }),
        TpacketVersion::V2 => sys::TxRingRequest::V2(libc::tpacket_req {
            tp_block_size: g.block_size,
            tp_block_nr: g.block_count,
            tp_frame_size: g.frame_size,
            tp_frame_nr: g.frame_count,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn frame_layouts_match_the_kernel_abi() {
        let v2 = FrameLayout::for_version(TpacketVersion::V2);
        assert_eq!(v2.status, offset_of!(libc::tpacket2_hdr, tp_status));
        assert_eq!(v2.len, offset_of!(libc::tpacket2_hdr, tp_len));
        assert_eq!(v2.data, 32);
        let v3 = FrameLayout::for_version(TpacketVersion::V3);
        assert_eq!(v3.status, offset_of!(libc::tpacket3_hdr, tp_status));
        assert_eq!(v3.len, offset_of!(libc::tpacket3_hdr, tp_len));
        assert_eq!(
            v3.next_offset,
            Some(offset_of!(libc::tpacket3_hdr, tp_next_offset))
        );
        assert_eq!(v3.data, 48);
    }

    /// A TX ring over anonymous memory instead of the kernel's mapping, on a socket that is
    /// never used (/dev/null): the test plays the kernel's side of the status words.
    fn fake_ring(version: TpacketVersion, vnet: usize, frames: u32) -> TxRing {
        let geometry = RingGeometry {
            block_size: 4096,
            block_count: frames / 2,
            frame_size: 2048,
            frame_count: frames,
        };
        TxRing {
            map: Mapping::anonymous(geometry.total_bytes()).unwrap(),
            fd: std::fs::File::open("/dev/null").unwrap().into(),
            geometry,
            version,
            layout: FrameLayout::for_version(version),
            cursor: 0,
            unflushed: 0,
            vnet,
        }
    }

    /// The word at `offset` of frame `index`'s header, as the kernel reads it.
    fn header_word(ring: &TxRing, index: u32, offset: usize) -> u32 {
        // SAFETY: a 4-aligned word inside frame `index`'s header (offsets from FrameLayout);
        // the test is the only other party to the memory.
        unsafe { ring.header_ptr(index).add(offset).cast::<u32>().read() }
    }

    #[test]
    fn frames_are_lent_in_turn_published_with_their_length_and_reused_once_freed() {
        for (version, vnet) in [(TpacketVersion::V3, vnet::LEN), (TpacketVersion::V2, 0)] {
            let mut ring = fake_ring(version, vnet, 4);
            assert_eq!(ring.frame_capacity(), 2048 - ring.layout.data - vnet);
            for i in 0..4u32 {
                let mut f = ring.claim().unwrap().expect("a free frame");
                assert_eq!(f.index(), i, "{version}");
                f.data()[..2].copy_from_slice(&[i as u8, 0xab]);
                f.publish(60 + i as usize).unwrap();
            }
            assert_eq!((ring.unflushed(), ring.in_flight()), (4, 4), "{version}");
            assert!(
                ring.claim().unwrap().is_none(),
                "{version}: every frame is the kernel's"
            );
            for i in 0..4u32 {
                assert_eq!(
                    ring.status(i).load(Ordering::Acquire),
                    libc::TP_STATUS_SEND_REQUEST
                );
                // tp_len counts the virtio_net_hdr in front of the frame.
                let len = header_word(&ring, i, ring.layout.len) as usize;
                assert_eq!(len, 60 + i as usize + vnet, "{version}");
                let at = ring.geometry.frame_offset(i) + ring.layout.data;
                // SAFETY: the frame's data area lies inside the mapping.
                let bytes =
                    unsafe { std::slice::from_raw_parts(ring.map.as_ptr().add(at), vnet + 2) };
                assert_eq!(&bytes[vnet..], &[i as u8, 0xab], "{version}");
                if vnet > 0 {
                    // A linear skb: hdr_len covers the whole frame, no offloads.
                    let h = VnetHdr::parse(bytes).unwrap();
                    assert_eq!(h, VnetHdr::linear(60 + i as usize), "{version}");
                }
            }
            // The kernel frees frame 0 (skb destructor): the cursor has wrapped onto it.
            ring.status(0)
                .store(libc::TP_STATUS_AVAILABLE, Ordering::Release);
            assert_eq!(ring.in_flight(), 3);
            let mut f = ring.claim().unwrap().expect("frame 0 again");
            assert_eq!(f.index(), 0);
            assert_eq!(
                f.data()[..2],
                [0, 0xab],
                "a slot keeps what was last written"
            );
            // Longer than a slot holds: refused, the frame stays ours.
            let too_long = f.ring.frame_capacity() + 1;
            assert!(matches!(
                f.publish(too_long),
                Err(TxError::FrameTooLong { len, .. }) if len == too_long
            ));
            assert_eq!(
                ring.status(0).load(Ordering::Acquire),
                libc::TP_STATUS_AVAILABLE
            );
            // A frame the kernel refused is an error naming it.
            ring.cursor = 1;
            ring.status(1)
                .store(libc::TP_STATUS_WRONG_FORMAT, Ordering::Release);
            assert!(matches!(
                ring.claim(),
                Err(TxError::WrongFormat { frame: 1 })
            ));
        }
    }

    #[test]
    fn a_gso_frame_needs_the_virtio_net_hdr() {
        let gso = VnetHdr::udp_gso(4138, 34, 64);
        let mut fragments = fake_ring(TpacketVersion::V3, 0, 2);
        let f = fragments.claim().unwrap().unwrap();
        assert!(matches!(
            f.publish_with(60, gso),
            Err(TxError::NoVnetHeader)
        ));
        assert_eq!(fragments.unflushed(), 0);
        let mut linear = fake_ring(TpacketVersion::V3, vnet::LEN, 2);
        linear
            .claim()
            .unwrap()
            .unwrap()
            .publish_with(1500, gso)
            .unwrap();
        let at = linear.geometry.frame_offset(0) + linear.layout.data;
        // SAFETY: the frame's data area lies inside the mapping.
        let bytes = unsafe { std::slice::from_raw_parts(linear.map.as_ptr().add(at), vnet::LEN) };
        assert_eq!(
            VnetHdr::parse(bytes),
            Some(gso),
            "the header the kernel reads"
        );
    }
}
