//! The TPACKET_V3 receive ring.
//!
//! [`RxRing`] owns the socket and the mapping. [`RxRing::next_block`] lends the next block the
//! kernel has handed to user space as a [`Block`]; dropping the block gives it back.

#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::block::{block_field, BlockError, BlockView};
use super::geometry::{self, GeometryError, RingGeometry};
use crate::sys::{self, Mapping, SysError, TpacketVersion};

/// How to build an RX ring.
#[derive(Debug, Clone)]
pub struct RxConfig {
    /// Blocks and frames.
    pub geometry: RingGeometry,
    /// Milliseconds after which the kernel hands over a block that is not full (0: kernel's choice).
    pub retire_timeout_ms: u32,
    /// Pre-fault the mapping (`MAP_POPULATE`) so the first packets do not take page faults.
    pub populate: bool,
    /// A classic BPF program admitting only the frames to capture; `None` captures everything.
    pub filter: Option<Vec<libc::sock_filter>>,
    /// Join a `PACKET_FANOUT` group: `(group id, mode)`.
    pub fanout: Option<(u16, u16)>,
    /// Have the kernel write each frame's `virtio_net_hdr` before it (`PACKET_VNET_HDR`):
    /// its offloads, among them a GSO super-packet's segment size.
    pub vnet_hdr: bool,
}

/// An RX ring's shape as a user asks for it (the tools' layer parses it from the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RxRingOptions {
    /// Ring block size in bytes (a multiple of the page size); `None`: 1 MiB, grown to hold
    /// one frame.
    pub block_size: Option<u32>,
    /// Number of ring blocks.
    pub block_count: u32,
    /// Frame size in bytes (a multiple of 16, holding a full-MTU frame plus the header);
    /// `None`: 2048, or what the interface's MTU needs.
    pub frame_size: Option<u32>,
    /// Total frames; if given, must equal block_size / frame_size * block_count.
    pub frame_count: Option<u32>,
    /// Milliseconds after which a partly filled block is handed over.
    pub block_timeout_ms: u32,
}

impl Default for RxRingOptions {
    fn default() -> Self {
        Self {
            block_size: None,
            block_count: 32,
            frame_size: None,
            frame_count: None,
            block_timeout_ms: 10,
        }
    }
}

impl RxConfig {
    /// The configuration `options` ask for on an interface of `mtu` (every frame must capture
    /// a full-MTU frame), with a capture `filter` and a fanout group.
    pub fn new(
        options: &RxRingOptions,
        mtu: u32,
        filter: Option<Vec<libc::sock_filter>>,
        fanout: Option<(u16, u16)>,
    ) -> Result<Self, GeometryError> {
        let geometry = geometry::from_options(
            options.block_size,
            1 << 20,
            options.block_count,
            options.frame_size,
            options.frame_count,
            sys::page_size() as u32,
            geometry::rx_min_frame_size(mtu),
        )?;
        Ok(Self {
            geometry,
            retire_timeout_ms: options.block_timeout_ms,
            populate: true,
            filter,
            fanout,
            vnet_hdr: true,
        })
    }
}

/// Packet counts the kernel keeps for the socket, accumulated across reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketStats {
    /// Frames that reached the socket after its filter, including those dropped.
    pub packets: u64,
    /// Frames dropped because no block was free.
    pub drops: u64,
    /// Times the ring froze waiting for user space to return a block.
    pub freeze_count: u64,
}

/// A TPACKET_V3 RX ring bound to one interface.
#[derive(Debug)]
pub struct RxRing {
    // Field order matters: the mapping is unmapped before the socket closes.
    map: Mapping,
    fd: OwnedFd,
    geometry: RingGeometry,
    next: u32,
    totals: PacketStats,
    vnet_hdr: bool,
}

impl RxRing {
    /// Opens a packet socket on interface `ifindex`, sets TPACKET_V3, the filter and the ring,
    /// maps it and binds to all protocols. No frame enters before the filter is in place: the
    /// socket is created with protocol 0 and only bound once everything is set.
    pub fn open(ifindex: u32, config: &RxConfig) -> Result<Self, SysError> {
        let fd = sys::packet_socket()?;
        sys::set_packet_version(fd.as_fd(), TpacketVersion::V3)?;
        sys::set_ignore_outgoing(fd.as_fd(), true)?;
        if config.vnet_hdr {
            // Before the ring: the kernel lays frames out for it when the ring is made.
            sys::set_vnet_hdr(fd.as_fd(), true)?;
        }
        if let Some(program) = &config.filter {
            sys::attach_filter(fd.as_fd(), program)?;
        }
        let g = config.geometry;
        let req = libc::tpacket_req3 {
            tp_block_size: g.block_size,
            tp_block_nr: g.block_count,
            tp_frame_size: g.frame_size,
            tp_frame_nr: g.frame_count,
            tp_retire_blk_tov: config.retire_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        sys::set_packet_rx_ring(fd.as_fd(), &req)?;
        let map = Mapping::new(fd.as_fd(), g.total_bytes(), config.populate, false)?;
        sys::bind_interface(fd.as_fd(), ifindex, libc::ETH_P_ALL as u16)?;
        if let Some((group, mode)) = config.fanout {
            sys::set_fanout(fd.as_fd(), group, mode)?;
        }
        Ok(Self {
            map,
            fd,
            geometry: g,
            next: 0,
            totals: PacketStats::default(),
            vnet_hdr: config.vnet_hdr,
        })
    }

    /// True if every frame is preceded by its `virtio_net_hdr` ([`RxConfig::vnet_hdr`]).
    pub fn has_vnet_hdr(&self) -> bool {
        self.vnet_hdr
    }

    /// The ring's geometry.
    pub fn geometry(&self) -> RingGeometry {
        self.geometry
    }

    /// The status word of block `index`.
    fn block_status(&self, index: u32) -> &AtomicU32 {
        let offset = index as usize * self.geometry.block_size as usize + block_field::BLOCK_STATUS;
        assert!(
            offset + 4 <= self.map.len(),
            "block {index} outside the ring"
        );
        // SAFETY: `offset` is inside the mapping (index < block_count) and 4-aligned (blocks are
        // page-aligned, the field is at offset 8). The kernel writes this word concurrently, so
        // it is only ever accessed atomically; the reference lives no longer than `&self`, and
        // the mapping lives as long as `self`.
        unsafe { AtomicU32::from_ptr(self.map.as_ptr().add(offset).cast::<u32>()) }
    }

    fn block_is_ours(&self, index: u32) -> bool {
        // Acquire: pairs with the kernel's smp_wmb() before it stores TP_STATUS_USER in
        // prb_close_block(), so the packets it wrote are visible once we see the flag.
        self.block_status(index).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0
    }

    /// Lends the next block the kernel has filled, waiting up to `timeout` with `poll(2)`.
    ///
    /// Returns `Ok(None)` when nothing arrived in time (or a signal interrupted the wait), and
    /// an error when the socket reports one, for example `ENETDOWN` after the interface went
    /// down or away.
    pub fn next_block(&mut self, timeout: Duration) -> Result<Option<Block<'_>>, SysError> {
        if !self.block_is_ours(self.next) {
            let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
            let revents = sys::poll_one(self.fd.as_fd(), libc::POLLIN | libc::POLLERR, ms)?;
            if revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                let errno = sys::socket_error(self.fd.as_fd())?;
                let errno = if errno == 0 { libc::ENETDOWN } else { errno };
                return Err(SysError::new(
                    "poll(PACKET_RX_RING)",
                    std::io::Error::from_raw_os_error(errno),
                ));
            }
            if !self.block_is_ours(self.next) {
                return Ok(None);
            }
        }
        let index = self.next;
        Ok(Some(Block {
            ring: self,
            index,
            _not_send: PhantomData,
        }))
    }

    /// Reads `PACKET_STATISTICS` (which the kernel clears on read) and returns the totals
    /// since the ring was opened.
    pub fn statistics(&mut self) -> Result<PacketStats, SysError> {
        let s = sys::packet_statistics(self.fd.as_fd())?;
        self.totals.packets += u64::from(s.packets);
        self.totals.drops += u64::from(s.drops);
        self.totals.freeze_count += u64::from(s.freeze_count);
        Ok(self.totals)
    }

    /// The packet socket, for options this type does not wrap.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A block lent by the kernel. Its packets stay valid while it lives; dropping it hands the
/// block back to the kernel.
#[derive(Debug)]
pub struct Block<'a> {
    ring: &'a mut RxRing,
    index: u32,
    _not_send: PhantomData<*const u8>,
}

impl Block<'_> {
    /// The block's bytes.
    pub fn bytes(&self) -> &[u8] {
        let size = self.ring.geometry.block_size as usize;
        let start = self.index as usize * size;
        // SAFETY: [start, start + size) lies inside the mapping. The kernel set TP_STATUS_USER on
        // this block (observed with Acquire in next_block) and does not write to a block it has
        // handed over until we store TP_STATUS_KERNEL, which only happens in Drop, after every
        // borrow of `self` (and so of this slice) has ended.
        unsafe { std::slice::from_raw_parts(self.ring.map.as_ptr().add(start), size) }
    }

    /// The block parsed as untrusted bytes: its descriptor and an iterator over its packets.
    pub fn view(&self) -> Result<BlockView<'_>, BlockError> {
        BlockView::parse(self.bytes())
    }
}

impl Drop for Block<'_> {
    fn drop(&mut self) {
        // Release: our reads of the block's packets happen before the kernel may reuse it.
        self.ring
            .block_status(self.index)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.ring.next = (self.index + 1) % self.ring.geometry.block_count;
    }
}
