//! An AF_XDP socket and its UMEM: the owner of the packet memory shared with the kernel and of
//! the four rings. Frames are lent by address: a frame is in exactly one place at a time —
//! our free list, the fill ring, the RX ring, the TX ring or the completion ring — and user
//! space touches a frame's bytes only while it is on our side.
#![allow(unsafe_code)]

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use super::ring::Ring;
use crate::sys::{self, Mapping, SysError};

/// How to bind: let the kernel choose (zero-copy where the driver offers it, else copy), or
/// insist on one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BindMode {
    /// Zero-copy if the driver supports it, otherwise copy.
    #[default]
    Auto,
    /// Copy mode (`XDP_COPY`): frames are copied between the UMEM and the kernel's buffers.
    Copy,
    /// Zero-copy mode (`XDP_ZEROCOPY`): refused where the driver lacks it.
    ZeroCopy,
}

/// An AF_XDP socket's shape (the tools' layer parses it from the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XskOptions {
    /// Interface queue to bind (veth has one: 0).
    pub queue: u32,
    /// UMEM frames (a power of two).
    pub frames: u32,
    /// UMEM frame size in bytes: 2048 or 4096 (a power of two, at most the page size).
    pub frame_size: u32,
    /// Entries in each ring (a power of two).
    pub ring_size: u32,
    /// Copy or zero-copy.
    pub bind_mode: BindMode,
}

impl Default for XskOptions {
    fn default() -> Self {
        Self {
            queue: 0,
            frames: 4096,
            frame_size: 2048,
            ring_size: 4096,
            bind_mode: BindMode::Auto,
        }
    }
}

/// Why a socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum XskError {
    /// The options describe an impossible UMEM or ring.
    #[error("{0}")]
    Options(String),
    /// A system call failed.
    #[error(transparent)]
    Sys(#[from] SysError),
}

impl XskOptions {
    /// The UMEM address of every frame, in order.
    fn frame_addresses(&self) -> Vec<u64> {
        (0..u64::from(self.frames))
            .map(|i| i * u64::from(self.frame_size))
            .collect()
    }

    /// Checks the sizes before any system call.
    pub fn check(&self, mtu: u32) -> Result<(), XskError> {
        let bad = |m: String| Err(XskError::Options(m));
        if !self.frames.is_power_of_two() || self.frames < 2 {
            return bad(format!(
                "--frames {} is not a power of two of at least 2",
                self.frames
            ));
        }
        if !self.ring_size.is_power_of_two() {
            return bad(format!(
                "--ring-size {} is not a power of two",
                self.ring_size
            ));
        }
        let page = sys::page_size() as u32;
        if !self.frame_size.is_power_of_two() || self.frame_size < 2048 || self.frame_size > page {
            return bad(format!(
                "--frame-size {} must be a power of two from 2048 to the page size {page}",
                self.frame_size
            ));
        }
        if self.frame_size < mtu + 14 {
            return bad(format!(
                "--frame-size {} cannot hold a full frame of MTU {mtu} (needs {})",
                self.frame_size,
                mtu + 14
            ));
        }
        Ok(())
    }
}

/// An AF_XDP socket bound to one queue, with its UMEM and rings.
#[derive(Debug)]
pub struct Xsk {
    // Field order matters: the ring mappings and the UMEM go before the socket closes (and
    // XskRx and XskTx hold their RX or TX ring before their Xsk, so it goes first too).
    fill: Ring<u64>,
    completion: Ring<u64>,
    umem: Mapping,
    fd: OwnedFd,
    frame_size: u32,
    frames: u32,
    zero_copy: bool,
}

impl Xsk {
    /// Bytes of the UMEM: every frame the socket can lend the kernel.
    pub fn umem_bytes(&self) -> u64 {
        self.umem.len() as u64
    }

    /// Opens a socket with a UMEM of `options.frames` frames, the fill and completion rings,
    /// and the RX or the TX ring (`rx`), and binds it to `options.queue` of `ifindex` (asking
    /// for need-wakeup, so the kernel says when a system call is due). Returns the socket and
    /// its RX or TX ring.
    fn open(
        ifindex: u32,
        options: &XskOptions,
        rx: bool,
    ) -> Result<(Self, Ring<libc::xdp_desc>), XskError> {
        let fd = sys::xdp_socket()?;
        let umem = Mapping::anonymous(options.frames as usize * options.frame_size as usize)?;
        sys::set_xdp_umem_reg(fd.as_fd(), &umem, options.frame_size, 0)?;
        let n = options.ring_size;
        sys::set_xdp_ring_size(
            fd.as_fd(),
            libc::XDP_UMEM_FILL_RING,
            n,
            "XDP_UMEM_FILL_RING",
        )?;
        sys::set_xdp_ring_size(
            fd.as_fd(),
            libc::XDP_UMEM_COMPLETION_RING,
            n,
            "XDP_UMEM_COMPLETION_RING",
        )?;
        if rx {
            sys::set_xdp_ring_size(fd.as_fd(), libc::XDP_RX_RING, n, "XDP_RX_RING")?;
        } else {
            sys::set_xdp_ring_size(fd.as_fd(), libc::XDP_TX_RING, n, "XDP_TX_RING")?;
        }
        let off = sys::xdp_mmap_offsets(fd.as_fd())?;
        let desc = std::mem::size_of::<libc::xdp_desc>();
        let map = |o: libc::xdp_ring_offset, entry: usize, pgoff: u64| {
            Mapping::at(fd.as_fd(), o.desc as usize + n as usize * entry, pgoff)
        };
        let fill = Ring::new(
            map(off.fr, 8, libc::XDP_UMEM_PGOFF_FILL_RING)?,
            off.fr.into(),
            n,
            true,
        );
        let completion = Ring::new(
            map(off.cr, 8, libc::XDP_UMEM_PGOFF_COMPLETION_RING)?,
            off.cr.into(),
            n,
            false,
        );
        let ring = if rx {
            Ring::new(
                map(off.rx, desc, libc::XDP_PGOFF_RX_RING as u64)?,
                off.rx.into(),
                n,
                false,
            )
        } else {
            Ring::new(
                map(off.tx, desc, libc::XDP_PGOFF_TX_RING as u32 as u64)?,
                off.tx.into(),
                n,
                true,
            )
        };
        let mode = match options.bind_mode {
            BindMode::Auto => 0,
            BindMode::Copy => libc::XDP_COPY,
            BindMode::ZeroCopy => libc::XDP_ZEROCOPY,
        };
        // A socket that just closed on this queue releases it in deferred kernel work: EBUSY
        // for a few milliseconds is that, not a live owner (seen when one xdp-rx follows
        // another at once). A queue still busy after half a second has an owner.
        let flags = mode | libc::XDP_USE_NEED_WAKEUP;
        let by = std::time::Instant::now() + Duration::from_millis(500);
        loop {
            match sys::bind_xdp(fd.as_fd(), ifindex, options.queue, flags) {
                Err(e)
                    if e.raw_os_error() == Some(libc::EBUSY) && std::time::Instant::now() < by =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => break other?,
            }
        }
        let zero_copy = sys::xdp_options(fd.as_fd())? & libc::XDP_OPTIONS_ZEROCOPY != 0;
        let xsk = Self {
            fill,
            completion,
            umem,
            fd,
            frame_size: options.frame_size,
            frames: options.frames,
            zero_copy,
        };
        Ok((xsk, ring))
    }

    /// The socket (for the XSKMAP and for `poll`).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Whether the kernel bound it in zero-copy mode.
    pub fn zero_copy(&self) -> bool {
        self.zero_copy
    }

    /// The kernel's drop counters for this socket.
    pub fn statistics(&self) -> Result<libc::xdp_statistics, SysError> {
        sys::xdp_statistics(self.fd.as_fd())
    }

    /// The bytes of the frame at `addr` (`len` of them), which must be on our side; `None`
    /// if they are not all inside the UMEM (a descriptor the kernel got wrong).
    fn frame(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let range = umem_range(addr, len, self.umem.len())?;
        // SAFETY: inside the UMEM (umem_range checked it); the frame is on our side (out of
        // every ring), so the kernel does not write it while the borrow of `self` lasts.
        Some(unsafe { std::slice::from_raw_parts(self.umem.as_ptr().add(range.start), len) })
    }

    /// The whole frame at `addr` to write, which must be on our side.
    fn frame_mut(&mut self, addr: u64) -> &mut [u8] {
        let start = addr as usize;
        let len = self.frame_size as usize;
        assert!(
            start + len <= self.umem.len(),
            "frame {addr} outside the UMEM"
        );
        // SAFETY: inside the UMEM (checked above), one frame only; the frame is on our side,
        // so neither the kernel nor another borrow touches it while `&mut self` lasts.
        unsafe { std::slice::from_raw_parts_mut(self.umem.as_ptr().add(start), len) }
    }

    /// Waits up to `timeout` for `events` on the socket (`poll(2)`); an error the socket
    /// reports (its interface went down or away: `ENETDOWN`) is an error here.
    fn poll(&self, events: i16, timeout: Duration) -> Result<i16, SysError> {
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        let revents = sys::poll_one(self.fd.as_fd(), events | libc::POLLERR, ms)?;
        // An interface that goes away unbinds the socket and sets its error (ENETDOWN), but
        // an unbound AF_XDP socket polls as "nothing ready", never POLLERR: an empty poll
        // asks for the error too (one getsockopt per idle wait, never per packet).
        let pending = if revents & events == 0 {
            sys::socket_error(self.fd.as_fd())?
        } else {
            0
        };
        if revents & libc::POLLERR != 0 || pending != 0 {
            let errno = if pending != 0 {
                pending
            } else {
                sys::socket_error(self.fd.as_fd())?
            };
            let errno = if errno != 0 { errno } else { libc::ENETDOWN };
            return Err(SysError::new(
                "poll(AF_XDP)",
                std::io::Error::from_raw_os_error(errno),
            ));
        }
        Ok(revents)
    }
}

/// The transmit half: frames go out through the TX ring and come back by the completion ring.
#[derive(Debug)]
pub struct XskTx {
    // Before `xsk`: its mapping goes before the socket closes.
    tx: Ring<libc::xdp_desc>,
    xsk: Xsk,
    free: Vec<u64>,
}

/// What a wakeup of the TX path achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// The kernel took what was queued (or needed no wakeup).
    Done,
    /// The kernel sent part and wants another call (`EAGAIN`), or the device queue or the
    /// completion ring was full (`EBUSY`, `ENOBUFS`): retry after reaping completions.
    Again,
}

impl XskTx {
    /// Opens a TX-only socket; every UMEM frame starts on our free list.
    pub fn open(ifindex: u32, options: &XskOptions) -> Result<Self, XskError> {
        let (xsk, tx) = Xsk::open(ifindex, options, false)?;
        let free = options.frame_addresses();
        Ok(Self { tx, xsk, free })
    }

    /// The socket.
    pub fn xsk(&self) -> &Xsk {
        &self.xsk
    }

    /// Writes `bytes` into every frame once (headers and padding that every frame shares).
    pub fn prefill(&mut self, bytes: &[u8]) {
        for i in 0..self.xsk.frames {
            let addr = u64::from(i) * u64::from(self.xsk.frame_size);
            self.xsk.frame_mut(addr)[..bytes.len()].copy_from_slice(bytes);
        }
    }

    /// Queues up to `n` frames: for the `i`-th, `fill(i, frame)` writes the frame's bytes and
    /// returns its length. Returns how many were queued (fewer when frames or TX entries run
    /// short); they go to the kernel with [`XskTx::kick`].
    pub fn queue(&mut self, n: u32, mut fill: impl FnMut(u32, &mut [u8]) -> usize) -> u32 {
        self.reap();
        let n = self.tx.reserve(n.min(self.free.len() as u32));
        for i in 0..n {
            let addr = self.free.pop().expect("reserved within the free frames");
            let len = fill(i, self.xsk.frame_mut(addr));
            self.tx.write(
                i,
                libc::xdp_desc {
                    addr,
                    len: len as u32,
                    options: 0,
                },
            );
        }
        self.tx.submit(n);
        n
    }

    /// Moves completed frames back to the free list; returns how many.
    pub fn reap(&mut self) -> u32 {
        let done = self.xsk.completion.peek(self.xsk.completion.capacity());
        for i in 0..done {
            self.free.push(self.xsk.completion.read(i));
        }
        self.xsk.completion.release(done);
        done
    }

    /// Asks the kernel to send what is queued (`sendto(MSG_DONTWAIT)`), if it wants a wakeup.
    pub fn kick(&mut self) -> Result<Kick, SysError> {
        if !self.tx.needs_wakeup() {
            return Ok(Kick::Done);
        }
        match sys::send_pending(self.xsk.fd.as_fd(), false) {
            Ok(_) => Ok(Kick::Done),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EAGAIN) | Some(libc::EBUSY) | Some(libc::ENOBUFS)
                ) =>
            {
                Ok(Kick::Again)
            }
            Err(e) => Err(e),
        }
    }

    /// Frames handed to the kernel and not completed yet.
    pub fn in_flight(&self) -> u32 {
        self.xsk.frames - self.free.len() as u32
    }

    /// Waits briefly for completions (`poll(POLLOUT)`), after kicking once.
    pub fn wait(&mut self, timeout: Duration) -> Result<(), SysError> {
        self.kick()?;
        self.xsk.poll(libc::POLLOUT, timeout)?;
        self.reap();
        Ok(())
    }
}

/// The byte range `addr..addr + len` if it lies inside a UMEM of `umem_len` bytes.
fn umem_range(addr: u64, len: usize, umem_len: usize) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(addr).ok()?;
    let end = start.checked_add(len)?;
    (end <= umem_len).then_some(start..end)
}

/// The receive half: the fill ring lends the kernel empty frames, the RX ring returns them
/// with packets.
#[derive(Debug)]
pub struct XskRx {
    // Before `xsk`: its mapping goes before the socket closes.
    rx: Ring<libc::xdp_desc>,
    xsk: Xsk,
    /// Frames not in the fill ring (waiting for room there).
    spare: Vec<u64>,
}

impl XskRx {
    /// Opens an RX-only socket and lends the kernel as many frames as the fill ring holds.
    pub fn open(ifindex: u32, options: &XskOptions) -> Result<Self, XskError> {
        let (xsk, rx) = Xsk::open(ifindex, options, true)?;
        let spare = options.frame_addresses();
        let mut rx = Self { rx, xsk, spare };
        rx.refill();
        Ok(rx)
    }

    /// The socket.
    pub fn xsk(&self) -> &Xsk {
        &self.xsk
    }

    fn refill(&mut self) {
        let n = self.xsk.fill.reserve(self.spare.len() as u32);
        for i in 0..n {
            let addr = self.spare.pop().expect("reserved within the spare frames");
            self.xsk.fill.write(i, addr);
        }
        self.xsk.fill.submit(n);
    }

    /// Hands every received frame to `each(Some(bytes))`, then lends the frames back to the
    /// kernel; a descriptor pointing outside the UMEM is `each(None)`, and its address is not
    /// lent back. Returns how many descriptors there were.
    pub fn receive(&mut self, mut each: impl FnMut(Option<&[u8]>)) -> Result<u32, SysError> {
        let n = self.rx.peek(self.rx.capacity());
        for i in 0..n {
            let d = self.rx.read(i);
            let frame = self.xsk.frame(d.addr, d.len as usize);
            let ours = frame.is_some();
            each(frame);
            if ours {
                // In aligned mode the address may point past the chunk start (headroom): the
                // chunk is what goes back.
                self.spare
                    .push(d.addr - d.addr % u64::from(self.xsk.frame_size));
            }
        }
        self.rx.release(n);
        self.refill();
        if self.xsk.fill.needs_wakeup() {
            sys::xdp_wake_rx(self.xsk.fd.as_fd())?;
        }
        Ok(n)
    }

    /// Turns on busy polling ([`sys::set_busy_poll`]): then [`XskRx::busy_wait`] drives the
    /// queue's NAPI from this thread instead of sleeping in `poll(2)`.
    pub fn set_busy_poll(&self, usecs: u32, budget: u16) -> Result<(), SysError> {
        sys::set_busy_poll(self.xsk.fd.as_fd(), usecs, budget)
    }

    /// Spins up to `timeout` for frames: each `recvfrom(MSG_DONTWAIT)` busy polls the
    /// queue's NAPI on this core (once the socket has seen a frame from it and learnt its
    /// NAPI id). True if there are frames; at the timeout a zero-time `poll(2)` says, and
    /// reports an interface gone, as [`XskRx::wait`] does.
    pub fn busy_wait(&mut self, timeout: Duration) -> Result<bool, SysError> {
        let until = std::time::Instant::now() + timeout;
        loop {
            if self.rx.peek(1) > 0 {
                return Ok(true);
            }
            sys::xdp_wake_rx(self.xsk.fd.as_fd())?;
            if self.rx.peek(1) > 0 {
                return Ok(true);
            }
            if std::time::Instant::now() >= until {
                let revents = self.xsk.poll(libc::POLLIN, Duration::ZERO)?;
                return Ok(revents & libc::POLLIN != 0);
            }
        }
    }

    /// Waits up to `timeout` for frames (`poll(POLLIN)`); true if there may be some.
    pub fn wait(&mut self, timeout: Duration) -> Result<bool, SysError> {
        if self.rx.peek(1) > 0 {
            return Ok(true);
        }
        let revents = self.xsk.poll(libc::POLLIN, timeout)?;
        Ok(revents & libc::POLLIN != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::umem_range;

    #[test]
    fn a_descriptor_is_read_only_inside_the_umem() {
        assert_eq!(umem_range(0, 64, 4096), Some(0..64));
        assert_eq!(umem_range(4032, 64, 4096), Some(4032..4096));
        assert_eq!(umem_range(4033, 64, 4096), None, "one byte past the end");
        assert_eq!(umem_range(u64::MAX, 64, 4096), None);
        assert_eq!(
            umem_range(usize::MAX as u64, 2, usize::MAX),
            None,
            "no overflow"
        );
    }
}
