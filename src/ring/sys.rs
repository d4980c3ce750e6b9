//! Typed wrappers over the few syscalls an AF_PACKET ring needs.
//!
//! One safe function per operation or socket option, named after it. Every failure is a
//! [`SysError`] that names the call or option that failed (`PACKET_TX_RING: Invalid argument`),
//! so a user can tell which step the kernel refused.
//!
//! # References
//! - `packet(7)`, `socket(7)`, `mmap(2)`, `poll(2)`, `netdevice(7)`
//! - Linux `Documentation/networking/packet_mmap.rst`

use std::ffi::CString;
use std::fmt;
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;

/// A failed system call or socket option, with the name of what failed.
#[derive(Debug)]
pub struct SysError {
    call: &'static str,
    source: io::Error,
}

impl SysError {
    /// Wraps `source` as the failure of `call`.
    pub fn new(call: &'static str, source: io::Error) -> Self {
        Self { call, source }
    }

    fn last(call: &'static str) -> Self {
        Self::new(call, io::Error::last_os_error())
    }

    /// The name of the call or option that failed, such as `PACKET_RX_RING`.
    pub fn call(&self) -> &'static str {
        self.call
    }

    /// The errno the kernel returned, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }

    /// The underlying I/O error.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    /// True when the kernel refused for lack of privilege (`EPERM` or `EACCES`).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES))
    }
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.call, self.source)
    }
}

impl std::error::Error for SysError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Turns a negative return value into a [`SysError`] naming `$call`, in one place.
macro_rules! syscall {
    ($call:literal, $e:expr) => {{
        let ret = $e;
        if ret < 0 {
            Err(SysError::last($call))
        } else {
            Ok(ret)
        }
    }};
}

/// TPACKET header versions this crate drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TpacketVersion {
    /// `TPACKET_V2`: fixed-size frames, one status word per frame.
    V2,
    /// `TPACKET_V3`: variable-size packets packed into blocks on RX; fixed frames on TX (>= 4.11).
    V3,
}

impl TpacketVersion {
    fn as_raw(self) -> libc::c_int {
        match self {
            TpacketVersion::V2 => libc::tpacket_versions::TPACKET_V2 as libc::c_int,
            TpacketVersion::V3 => libc::tpacket_versions::TPACKET_V3 as libc::c_int,
        }
    }
}

impl fmt::Display for TpacketVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TpacketVersion::V2 => "TPACKET_V2",
            TpacketVersion::V3 => "TPACKET_V3",
        })
    }
}

/// `socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)`.
///
/// Protocol 0 means the socket receives nothing until [`bind_interface`] names a protocol, so
/// filters and rings can be set up before the first packet arrives. Needs `CAP_NET_RAW`.
pub fn packet_socket() -> Result<OwnedFd, SysError> {
    // SAFETY: socket() has no memory arguments; a non-negative return is a new fd we own.
    let fd = syscall!("socket(AF_PACKET)", unsafe {
        libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0)
    })?;
    // SAFETY: `fd` was just returned by socket() and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `bind(2)` of a packet socket to one interface, for frames of `protocol` (host order,
/// 0 for none: a send-only socket then receives no copies of the interface's traffic).
pub fn bind_interface(fd: BorrowedFd<'_>, ifindex: u32, protocol: u16) -> Result<(), SysError> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = protocol.to_be();
    addr.sll_ifindex = ifindex as i32;
    // SAFETY: `addr` is a valid sockaddr_ll that outlives the call; the length matches it.
    syscall!("bind(AF_PACKET)", unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

fn setsockopt<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
    call: &'static str,
) -> Result<(), SysError> {
    // SAFETY: `value` points to a live, initialised T and the length passed is its size.
    syscall!("setsockopt", unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    })
    .map(|_| ())
    .map_err(|e| SysError::new(call, e.source))
}

/// `setsockopt(SOL_PACKET, PACKET_VERSION)`: selects the ring header layout.
pub fn set_packet_version(fd: BorrowedFd<'_>, version: TpacketVersion) -> Result<(), SysError> {
    setsockopt(
        fd,
        libc::SOL_PACKET,
        libc::PACKET_VERSION,
        &version.as_raw(),
        "PACKET_VERSION",
    )
}

/// `setsockopt(SOL_PACKET, PACKET_RX_RING)` with a `tpacket_req3` (TPACKET_V3 only).
pub fn set_packet_rx_ring(fd: BorrowedFd<'_>, req: &libc::tpacket_req3) -> Result<(), SysError> {
    setsockopt(
        fd,
        libc::SOL_PACKET,
        libc::PACKET_RX_RING,
        req,
        "PACKET_RX_RING",
    )
}

/// `setsockopt(SOL_PACKET, PACKET_TX_RING)`: a `tpacket_req3` for V3 (no retire timeout, no
/// private area, no feature word: the kernel refuses those on TX) or a `tpacket_req` for V2.
pub fn set_packet_tx_ring(
    fd: BorrowedFd<'_>,
    version: TpacketVersion,
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
) -> Result<(), SysError> {
    match version {
        TpacketVersion::V3 => {
            let req = libc::tpacket_req3 {
                tp_block_size: block_size,
                tp_block_nr: block_nr,
                tp_frame_size: frame_size,
                tp_frame_nr: frame_nr,
                tp_retire_blk_tov: 0,
                tp_sizeof_priv: 0,
                tp_feature_req_word: 0,
            };
            setsockopt(
                fd,
                libc::SOL_PACKET,
                libc::PACKET_TX_RING,
                &req,
                "PACKET_TX_RING",
            )
        }
        TpacketVersion::V2 => {
            let req = libc::tpacket_req {
                tp_block_size: block_size,
                tp_block_nr: block_nr,
                tp_frame_size: frame_size,
                tp_frame_nr: frame_nr,
            };
            setsockopt(
                fd,
                libc::SOL_PACKET,
                libc::PACKET_TX_RING,
                &req,
                "PACKET_TX_RING",
            )
        }
    }
}

/// `setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS)`: transmit straight to the driver, skipping
/// the qdisc layer (and its drops and shaping).
/// `setsockopt(SOL_PACKET, PACKET_VNET_HDR, on)`: every frame starts with a
/// `struct virtio_net_hdr` (10 bytes). Must be set before a ring is created.
pub fn set_vnet_hdr(fd: BorrowedFd<'_>, on: bool) -> Result<(), SysError> {
    let v: libc::c_int = on.into();
    setsockopt(
        fd,
        libc::SOL_PACKET,
        libc::PACKET_VNET_HDR,
        &v,
        "PACKET_VNET_HDR",
    )
}

/// Size of `struct virtio_net_hdr` (flags u8, gso_type u8, hdr_len, gso_size, csum_start,
/// csum_offset: u16 each).
pub const VIRTIO_NET_HDR_LEN: usize = 10;

/// Offset of `hdr_len` in `struct virtio_net_hdr`.
pub const VIRTIO_NET_HDR_HDR_LEN: usize = 2;

/// `setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, on)`.
pub fn set_qdisc_bypass(fd: BorrowedFd<'_>, on: bool) -> Result<(), SysError> {
    let v: libc::c_int = on.into();
    setsockopt(
        fd,
        libc::SOL_PACKET,
        libc::PACKET_QDISC_BYPASS,
        &v,
        "PACKET_QDISC_BYPASS",
    )
}

/// `setsockopt(SOL_PACKET, PACKET_LOSS)`: when on, the kernel skips TX frames with a wrong
/// format (marking them available) instead of stopping at them with `TP_STATUS_WRONG_FORMAT`.
pub fn set_packet_loss(fd: BorrowedFd<'_>, on: bool) -> Result<(), SysError> {
    let v: libc::c_int = on.into();
    setsockopt(fd, libc::SOL_PACKET, libc::PACKET_LOSS, &v, "PACKET_LOSS")
}

/// `setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING)`: do not capture frames this host sends
/// on the interface (kernel >= 4.20), such as the receiver's own ICMP replies.
pub fn set_ignore_outgoing(fd: BorrowedFd<'_>, on: bool) -> Result<(), SysError> {
    let v: libc::c_int = on.into();
    setsockopt(
        fd,
        libc::SOL_PACKET,
        libc::PACKET_IGNORE_OUTGOING,
        &v,
        "PACKET_IGNORE_OUTGOING",
    )
}

/// `setsockopt(IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)`: set DF on every datagram and
/// refuse (`EMSGSIZE`) what does not fit the path MTU, like the frames `mmap-tx` builds.
pub fn set_ip_pmtudisc_do(fd: BorrowedFd<'_>) -> Result<(), SysError> {
    let v: libc::c_int = libc::IP_PMTUDISC_DO;
    setsockopt(
        fd,
        libc::IPPROTO_IP,
        libc::IP_MTU_DISCOVER,
        &v,
        "IP_MTU_DISCOVER",
    )
}

/// `setsockopt(IPPROTO_IP, IP_RECVERR)`: report local drops (`ENOBUFS`) and ICMP errors to
/// the sender instead of dropping datagrams silently.
pub fn set_ip_recverr(fd: BorrowedFd<'_>, on: bool) -> Result<(), SysError> {
    let v: libc::c_int = on.into();
    setsockopt(fd, libc::IPPROTO_IP, libc::IP_RECVERR, &v, "IP_RECVERR")
}

/// `setsockopt(SOL_PACKET, PACKET_FANOUT)`: joins fanout group `group_id` with `mode`
/// (`PACKET_FANOUT_HASH`, `_LB`, `_CPU`, ... possibly or-ed with flags).
pub fn set_fanout(fd: BorrowedFd<'_>, group_id: u16, mode: u16) -> Result<(), SysError> {
    let v: libc::c_int = (group_id as libc::c_int) | ((mode as libc::c_int) << 16);
    setsockopt(
        fd,
        libc::SOL_PACKET,
        libc::PACKET_FANOUT,
        &v,
        "PACKET_FANOUT",
    )
}

/// `setsockopt(SOL_SOCKET, SO_ATTACH_FILTER)`: a classic BPF program that decides which
/// frames enter the socket (and its ring) at all.
pub fn attach_filter(fd: BorrowedFd<'_>, program: &[libc::sock_filter]) -> Result<(), SysError> {
    let len = u16::try_from(program.len())
        .map_err(|_| SysError::new("SO_ATTACH_FILTER", io::ErrorKind::InvalidInput.into()))?;
    let prog = libc::sock_fprog {
        len,
        // The kernel copies the program and never writes through this pointer.
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    setsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_ATTACH_FILTER,
        &prog,
        "SO_ATTACH_FILTER",
    )
}

/// Counters from `getsockopt(SOL_PACKET, PACKET_STATISTICS)` for a TPACKET_V3 socket.
///
/// The kernel clears them on every read, and its `tp_packets` already includes `tp_drops`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawPacketStats {
    /// Frames that reached the socket, delivered or dropped (`tp_packets`).
    pub packets: u32,
    /// Frames dropped because the ring was full (`tp_drops`).
    pub drops: u32,
    /// Times the V3 ring froze because no block was free (`tp_freeze_q_cnt`).
    pub freeze_count: u32,
}

/// `getsockopt(SOL_PACKET, PACKET_STATISTICS)`, reading a `tpacket_stats_v3` (clears on read).
pub fn packet_statistics(fd: BorrowedFd<'_>) -> Result<RawPacketStats, SysError> {
    let mut stats = MaybeUninit::<libc::tpacket_stats_v3>::zeroed();
    let mut len = size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
    // SAFETY: `stats` is writable storage of `len` bytes; the kernel writes at most `len`.
    syscall!("PACKET_STATISTICS", unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            stats.as_mut_ptr().cast(),
            &mut len,
        )
    })?;
    // SAFETY: zero-initialised and possibly overwritten by the kernel: initialised either way.
    let s = unsafe { stats.assume_init() };
    Ok(RawPacketStats {
        packets: s.tp_packets,
        drops: s.tp_drops,
        freeze_count: s.tp_freeze_q_cnt,
    })
}

/// `send(fd, NULL, 0, flags)` on a socket with a TX ring: asks the kernel to transmit every
/// frame marked `TP_STATUS_SEND_REQUEST`. With `wait == false` (`MSG_DONTWAIT`) it returns
/// once they are handed to the device; with `wait == true` it also waits for their completion.
/// Returns the number of bytes the kernel queued.
pub fn send_pending(fd: BorrowedFd<'_>, wait: bool) -> Result<usize, SysError> {
    let flags = if wait { 0 } else { libc::MSG_DONTWAIT };
    // SAFETY: a NULL buffer of length 0 is what the TX-ring protocol asks for; the kernel reads
    // the frames from the ring mapping, not from this pointer.
    let n = syscall!("send(PACKET_TX_RING)", unsafe {
        libc::send(fd.as_raw_fd(), std::ptr::null(), 0, flags)
    })?;
    Ok(n as usize)
}

/// `poll(2)` on one fd; returns the events that fired (empty on timeout, or when interrupted
/// by a signal so the caller can check its stop flag).
pub fn poll_one(fd: BorrowedFd<'_>, events: i16, timeout_ms: i32) -> Result<i16, SysError> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd that outlives the call.
    let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(SysError::new("poll", e));
    }
    Ok(if r == 0 { 0 } else { pfd.revents })
}

/// The errno that the socket reports through `getsockopt(SO_ERROR)` (0 for none); clears it.
pub fn socket_error(fd: BorrowedFd<'_>) -> Result<i32, SysError> {
    let mut v: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` is writable storage of `len` bytes.
    syscall!("SO_ERROR", unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(v)
}

/// `ioctl(SIOCGIFMTU)`: the MTU of interface `name` in the caller's network namespace.
pub fn interface_mtu(name: &str) -> Result<u32, SysError> {
    let cname = CString::new(name)
        .map_err(|_| SysError::new("SIOCGIFMTU", io::ErrorKind::InvalidInput.into()))?;
    let bytes = cname.as_bytes_with_nul();
    // SAFETY: ifreq is plain old data; all-zero is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if bytes.len() > req.ifr_name.len() {
        return Err(SysError::new(
            "SIOCGIFMTU",
            io::ErrorKind::InvalidInput.into(),
        ));
    }
    for (dst, &src) in req.ifr_name.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    // SAFETY: socket() has no memory arguments; we own the returned fd.
    let fd = syscall!("socket(AF_INET)", unsafe {
        libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0)
    })?;
    // SAFETY: fd was just created and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: SIOCGIFMTU reads ifr_name and writes the ifr_ifru union of this live ifreq.
    syscall!("SIOCGIFMTU", unsafe {
        libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFMTU as _, &mut req)
    })?;
    // SAFETY: after a successful SIOCGIFMTU the kernel has written ifru_mtu.
    let mtu = unsafe { req.ifr_ifru.ifru_mtu };
    Ok(mtu as u32)
}

/// The system page size (`sysconf(_SC_PAGESIZE)`).
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory arguments.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 {
        v as usize
    } else {
        4096
    }
}

/// A `MAP_SHARED` mapping of a packet socket's rings, unmapped on drop.
///
/// The owner must drop it before closing the socket's fd (field order in the ring structs
/// guarantees this: the mapping is declared before the fd).
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory; moving its owner to another thread is sound. All
// concurrent access with the kernel goes through atomics on the status words.
unsafe impl Send for Mapping {}

impl Mapping {
    /// `mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED [| MAP_POPULATE | MAP_LOCKED], fd, 0)`.
    pub fn new(fd: RawFd, len: usize, populate: bool, lock: bool) -> Result<Self, SysError> {
        let mut flags = libc::MAP_SHARED;
        if populate {
            flags |= libc::MAP_POPULATE;
        }
        if lock {
            flags |= libc::MAP_LOCKED;
        }
        // SAFETY: a fresh mapping at an address of the kernel's choosing; no existing memory
        // is affected. The result is checked against MAP_FAILED below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(SysError::last("mmap"));
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| SysError::last("mmap"))?;
        Ok(Self { ptr, len })
    }

    /// The start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The length of the mapping in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty mapping (never the case for a ring).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len describe exactly the mapping created in `new`, unmapped only here.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}
