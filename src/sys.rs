//! Typed wrappers over every system call pktmmap makes itself: AF_PACKET sockets and their
//! options, the ring mapping, `poll`, the MTU ioctl and the IPv4 socket options.
//!
//! With the ring views (`ring::rx`, `ring::tx`), the only place `unsafe` is allowed.
//! One safe function per operation or socket option, named after it. Every failure is a
//! [`SysError`] that names the call or option that failed (`PACKET_TX_RING: Invalid argument`),
//! so a user can tell which step the kernel refused.
//!
//! # References
//! - `packet(7)`, `socket(7)`, `mmap(2)`, `poll(2)`, `netdevice(7)`
//! - Linux `Documentation/networking/packet_mmap.rst`

#![allow(unsafe_code)]

use std::ffi::CString;
use std::fmt;
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
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
    bind(fd, &addr, "bind(AF_PACKET)")
}

/// `bind(2)` to `addr`, a `sockaddr_*` of the socket's family.
fn bind<T>(fd: BorrowedFd<'_>, addr: &T, call: &'static str) -> Result<(), SysError> {
    // SAFETY: `addr` points to a live, initialised T that outlives the call, and the length
    // passed is its size: the kernel reads no more than that.
    syscall!("bind", unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (addr as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    })
    .map(|_| ())
    .map_err(|e| SysError::new(call, e.source))
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

/// What `PACKET_TX_RING` takes: a `tpacket_req3` for TPACKET_V3 or a `tpacket_req` for V2.
#[derive(Debug, Clone, Copy)]
pub enum TxRingRequest {
    /// TPACKET_V3 (no retire timeout, no private area, no feature word: the kernel refuses
    /// those on TX).
    V3(libc::tpacket_req3),
    /// TPACKET_V2.
    V2(libc::tpacket_req),
}

/// `setsockopt(SOL_PACKET, PACKET_TX_RING)` with the request of the socket's version.
pub fn set_packet_tx_ring(fd: BorrowedFd<'_>, req: &TxRingRequest) -> Result<(), SysError> {
    let (level, option, name) = (libc::SOL_PACKET, libc::PACKET_TX_RING, "PACKET_TX_RING");
    match req {
        TxRingRequest::V3(v3) => setsockopt(fd, level, option, v3, name),
        TxRingRequest::V2(v2) => setsockopt(fd, level, option, v2, name),
    }
}

/// `setsockopt(SOL_PACKET, PACKET_VNET_HDR, on)`: every frame starts with a
/// `struct virtio_net_hdr` (10 bytes). Must be set before a ring is created.
pub fn set_vnet_hdr(fd: BorrowedFd<'_>, on: bool) -> Result<(), SysError> {
    set_flag(
        fd,
        libc::SOL_PACKET,
        libc::PACKET_VNET_HDR,
        on,
        "PACKET_VNET_HDR",
    )
}

/// `setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, on)`: transmit straight to the driver,
/// skipping the qdisc layer (and its drops and shaping).
pub fn set_qdisc_bypass(fd: BorrowedFd<'_>, on: bool) -> Result<(), SysError> {
    set_flag(
        fd,
        libc::SOL_PACKET,
        libc::PACKET_QDISC_BYPASS,
        on,
        "PACKET_QDISC_BYPASS",
    )
}

/// An `int` socket option that is a flag: 1 on, 0 off.
fn set_flag(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    option: libc::c_int,
    on: bool,
    name: &'static str,
) -> Result<(), SysError> {
    let v: libc::c_int = on.into();
    setsockopt(fd, level, option, &v, name)
}

/// `setsockopt(SOL_PACKET, PACKET_LOSS)`: when on, the kernel skips TX frames with a wrong
/// format (marking them available) instead of stopping at them with `TP_STATUS_WRONG_FORMAT`.
pub fn set_packet_loss(fd: BorrowedFd<'_>, on: bool) -> Result<(), SysError> {
    set_flag(fd, libc::SOL_PACKET, libc::PACKET_LOSS, on, "PACKET_LOSS")
}

/// `setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING)`: do not capture frames this host sends
/// on the interface (kernel >= 4.20), such as the receiver's own ICMP replies.
pub fn set_ignore_outgoing(fd: BorrowedFd<'_>, on: bool) -> Result<(), SysError> {
    let option = libc::PACKET_IGNORE_OUTGOING;
    set_flag(fd, libc::SOL_PACKET, option, on, "PACKET_IGNORE_OUTGOING")
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

/// `setsockopt(IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)`: IPv6's
/// [`set_ip_pmtudisc_do`] (IPv6 routers never fragment; this keeps the sender from doing it).
pub fn set_ipv6_pmtudisc_do(fd: BorrowedFd<'_>) -> Result<(), SysError> {
    let v: libc::c_int = libc::IPV6_PMTUDISC_DO;
    setsockopt(
        fd,
        libc::IPPROTO_IPV6,
        libc::IPV6_MTU_DISCOVER,
        &v,
        "IPV6_MTU_DISCOVER",
    )
}

/// `setsockopt(IPPROTO_IPV6, IPV6_RECVERR)`: IPv6's [`set_ip_recverr`].
pub fn set_ipv6_recverr(fd: BorrowedFd<'_>, on: bool) -> Result<(), SysError> {
    set_flag(
        fd,
        libc::IPPROTO_IPV6,
        libc::IPV6_RECVERR,
        on,
        "IPV6_RECVERR",
    )
}

/// `setsockopt(IPPROTO_IP, IP_RECVERR)`: report local drops (`ENOBUFS`) and ICMP errors to
/// the sender instead of dropping datagrams silently.
pub fn set_ip_recverr(fd: BorrowedFd<'_>, on: bool) -> Result<(), SysError> {
    set_flag(fd, libc::IPPROTO_IP, libc::IP_RECVERR, on, "IP_RECVERR")
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
    pub fn new(
        fd: BorrowedFd<'_>,
        len: usize,
        populate: bool,
        lock: bool,
    ) -> Result<Self, SysError> {
        let lock = if lock { libc::MAP_LOCKED } else { 0 };
        Self::map(Some(fd), len, 0, populate, lock)
    }

    /// `mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset)`: one
    /// of a socket's rings at the page offset the kernel names it by (AF_XDP).
    pub fn at(fd: BorrowedFd<'_>, len: usize, offset: u64) -> Result<Self, SysError> {
        Self::map(Some(fd), len, offset, true, 0)
    }

    /// `mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
    /// -1, 0)`: zeroed, page-aligned memory of our own (an AF_XDP UMEM).
    pub fn anonymous(len: usize) -> Result<Self, SysError> {
        Self::map(None, len, 0, true, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS)
    }

    fn map(
        fd: Option<BorrowedFd<'_>>,
        len: usize,
        offset: u64,
        populate: bool,
        extra: libc::c_int,
    ) -> Result<Self, SysError> {
        let mut flags = if fd.is_some() { libc::MAP_SHARED } else { 0 } | extra;
        if populate {
            flags |= libc::MAP_POPULATE;
        }
        // SAFETY: a fresh mapping at an address of the kernel's choosing; no existing memory
        // is affected. The result is checked against MAP_FAILED below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd.map_or(-1, |f| f.as_raw_fd()),
                offset as libc::off_t,
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

/// Most datagrams one [`send_datagrams`] call hands over.
pub const MAX_SEND_BATCH: usize = 64;

/// `sendmmsg(2)` of the first [`MAX_SEND_BATCH`] of `datagrams` to the socket's connected
/// peer, in one call; returns how many the kernel took (an error only if it took none).
///
/// # References
/// - `sendmmsg(2)`
pub fn send_datagrams(fd: BorrowedFd<'_>, datagrams: &[&[u8]]) -> Result<usize, SysError> {
    let n = datagrams.len().min(MAX_SEND_BATCH);
    let mut iov = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; MAX_SEND_BATCH];
    // SAFETY: mmsghdr is plain data for which all zeroes is a valid value (no name, no
    // control data, no iovecs); the entries used are filled in below.
    let mut msgs: [libc::mmsghdr; MAX_SEND_BATCH] = unsafe { std::mem::zeroed() };
    for i in 0..n {
        iov[i] = libc::iovec {
            iov_base: datagrams[i].as_ptr() as *mut libc::c_void,
            iov_len: datagrams[i].len(),
        };
        msgs[i].msg_hdr.msg_iov = &mut iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: `msgs[..n]` point at `iov[..n]`, which point at the caller's datagrams; all of
    // them outlive the call, and the kernel only reads the buffers (and writes msg_len).
    let sent = syscall!("sendmmsg", unsafe {
        libc::sendmmsg(fd.as_raw_fd(), msgs.as_mut_ptr(), n as libc::c_uint, 0)
    })?;
    Ok(sent as usize)
}

// ---------------------------------------------------------------------------------------
// AF_XDP sockets (`linux/if_xdp.h`, Documentation/networking/af_xdp.rst).

/// `socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0)`. Needs `CAP_NET_RAW`.
pub fn xdp_socket() -> Result<OwnedFd, SysError> {
    // SAFETY: socket() has no memory arguments; a non-negative return is a new fd we own.
    let fd = syscall!("socket(AF_XDP)", unsafe {
        libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0)
    })?;
    // SAFETY: `fd` was just returned by socket() and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(SOL_XDP, XDP_UMEM_REG)`: registers `umem` as the socket's packet buffer, cut
/// into `chunk_size`-byte frames. The kernel pins its pages (charged to RLIMIT_MEMLOCK
/// unless the process has CAP_IPC_LOCK), so `umem` must outlive the socket.
pub fn set_xdp_umem_reg(
    fd: BorrowedFd<'_>,
    umem: &Mapping,
    chunk_size: u32,
    headroom: u32,
) -> Result<(), SysError> {
    let reg = libc::xdp_umem_reg {
        addr: umem.as_ptr() as u64,
        len: umem.len() as u64,
        chunk_size,
        headroom,
        flags: 0,
        tx_metadata_len: 0,
    };
    setsockopt(fd, libc::SOL_XDP, libc::XDP_UMEM_REG, &reg, "XDP_UMEM_REG")
}

/// `setsockopt(SOL_XDP, ring, entries)`: creates one of the four rings (`XDP_RX_RING`,
/// `XDP_TX_RING`, `XDP_UMEM_FILL_RING`, `XDP_UMEM_COMPLETION_RING`); `entries` must be a
/// power of two.
pub fn set_xdp_ring_size(
    fd: BorrowedFd<'_>,
    ring: libc::c_int,
    entries: u32,
    name: &'static str,
) -> Result<(), SysError> {
    setsockopt(fd, libc::SOL_XDP, ring, &entries, name)
}

/// Reads a socket option of type `T` (plain data for which all zeroes is valid).
fn getsockopt<T: Copy>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    call: &'static str,
) -> Result<T, SysError> {
    let mut value = MaybeUninit::<T>::zeroed();
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is writable storage of `len` bytes; the kernel writes at most `len`.
    syscall!("getsockopt", unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            value.as_mut_ptr().cast(),
            &mut len,
        )
    })
    .map_err(|e| SysError::new(call, e.source))?;
    // SAFETY: zero-initialised plain data, possibly partly overwritten by the kernel: every
    // bit pattern is a valid T for the option types used here.
    Ok(unsafe { value.assume_init() })
}

/// `getsockopt(SOL_XDP, XDP_MMAP_OFFSETS)`: where each ring's producer, consumer, flags and
/// descriptors lie inside its mapping.
pub fn xdp_mmap_offsets(fd: BorrowedFd<'_>) -> Result<libc::xdp_mmap_offsets, SysError> {
    getsockopt(
        fd,
        libc::SOL_XDP,
        libc::XDP_MMAP_OFFSETS,
        "XDP_MMAP_OFFSETS",
    )
}

/// `getsockopt(SOL_XDP, XDP_STATISTICS)`: the socket's drop counters.
pub fn xdp_statistics(fd: BorrowedFd<'_>) -> Result<libc::xdp_statistics, SysError> {
    getsockopt(fd, libc::SOL_XDP, libc::XDP_STATISTICS, "XDP_STATISTICS")
}

/// `getsockopt(SOL_XDP, XDP_OPTIONS)`: `XDP_OPTIONS_ZEROCOPY` when the socket is bound in
/// zero-copy mode.
pub fn xdp_options(fd: BorrowedFd<'_>) -> Result<u32, SysError> {
    getsockopt::<libc::xdp_options>(fd, libc::SOL_XDP, libc::XDP_OPTIONS, "XDP_OPTIONS")
        .map(|o| o.flags)
}

/// `bind(2)` of an AF_XDP socket to queue `queue` of interface `ifindex`, with `flags`
/// (`XDP_COPY`, `XDP_ZEROCOPY`, `XDP_USE_NEED_WAKEUP`).
pub fn bind_xdp(fd: BorrowedFd<'_>, ifindex: u32, queue: u32, flags: u16) -> Result<(), SysError> {
    let addr = libc::sockaddr_xdp {
        sxdp_family: libc::AF_XDP as u16,
        sxdp_flags: flags,
        sxdp_ifindex: ifindex,
        sxdp_queue_id: queue,
        sxdp_shared_umem_fd: 0,
    };
    bind(fd, &addr, "bind(AF_XDP)")
}

/// Busy polling on a socket (AF_XDP or UDP): `SO_PREFER_BUSY_POLL` on, `SO_BUSY_POLL` of
/// `usecs` and `SO_BUSY_POLL_BUDGET` of `budget` packets per poll. A receive call then runs the
/// device queue's NAPI on the caller's core, and the kernel defers that NAPI's own softirq
/// while the socket polls. Values above the system's defaults need CAP_NET_ADMIN (`EPERM`).
pub fn set_busy_poll(fd: BorrowedFd<'_>, usecs: u32, budget: u16) -> Result<(), SysError> {
    let prefer: libc::c_int = 1;
    setsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_PREFER_BUSY_POLL,
        &prefer,
        "SO_PREFER_BUSY_POLL",
    )?;
    let usecs = libc::c_int::try_from(usecs).unwrap_or(libc::c_int::MAX);
    setsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_BUSY_POLL,
        &usecs,
        "SO_BUSY_POLL",
    )?;
    let budget = libc::c_int::from(budget);
    setsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_BUSY_POLL_BUDGET,
        &budget,
        "SO_BUSY_POLL_BUDGET",
    )
}

/// `recvfrom(fd, NULL, 0, MSG_DONTWAIT)`: asks the kernel to refill an AF_XDP socket's RX
/// ring from its fill ring (the wakeup when the fill ring says `XDP_RING_NEED_WAKEUP`).
pub fn xdp_wake_rx(fd: BorrowedFd<'_>) -> Result<(), SysError> {
    // SAFETY: a NULL buffer of length 0; the kernel writes no data, only moves descriptors.
    let r = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            std::ptr::null_mut(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        if !matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR)) {
            return Err(SysError::new("recvfrom(AF_XDP)", e));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// eBPF (`bpf(2)`, `linux/bpf.h`): just what an XDP program redirecting into an XSKMAP needs.

/// One eBPF instruction (`struct bpf_insn`): opcode, registers (destination in the low
/// nibble, source in the high one), offset and immediate.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    /// Opcode: class, size or operation, source.
    pub code: u8,
    /// `dst_reg | src_reg << 4`.
    pub regs: u8,
    /// Signed offset (memory accesses, jumps).
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

const BPF_MAP_CREATE: libc::c_int = 0;
const BPF_MAP_UPDATE_ELEM: libc::c_int = 2;
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_LINK_CREATE: libc::c_int = 28;
const BPF_MAP_TYPE_XSKMAP: u32 = 17;
const BPF_PROG_TYPE_XDP: u32 = 6;
/// `BPF_XDP` in `enum bpf_attach_type`.
const BPF_XDP: u32 = 37;

/// `union bpf_attr` for `BPF_MAP_CREATE`, up to `map_name` (the rest stays zero).
#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
    map_ifindex: u32,
}

/// `union bpf_attr` for `BPF_PROG_LOAD`, up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` for `BPF_MAP_UPDATE_ELEM`.
#[repr(C)]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// `union bpf_attr` for `BPF_LINK_CREATE`, with the unused tail zeroed.
#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_ifindex: u32,
    attach_type: u32,
    flags: u32,
    _rest: [u64; 4],
}

/// `bpf(cmd, attr, sizeof attr)`, returning the new fd.
fn bpf_fd<T>(cmd: libc::c_int, attr: &mut T, call: &'static str) -> Result<OwnedFd, SysError> {
    // SAFETY: `attr` is a live, initialised bpf_attr prefix of the size passed; the pointers
    // inside it (if any) point at memory the caller keeps alive for the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            (attr as *mut T).cast::<libc::c_void>(),
            size_of::<T>(),
        )
    };
    if fd < 0 {
        return Err(SysError::last(call));
    }
    // SAFETY: the kernel returned a new fd that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn name16(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(name.bytes().take(15)) {
        *o = b;
    }
    out
}

/// `bpf(BPF_MAP_CREATE)` of an XSKMAP (`BPF_MAP_TYPE_XSKMAP`, u32 queue index to AF_XDP
/// socket) with `entries` slots. Needs CAP_BPF (or CAP_SYS_ADMIN).
pub fn bpf_xskmap_create(name: &str, entries: u32) -> Result<OwnedFd, SysError> {
    let mut attr = MapCreateAttr {
        map_type: BPF_MAP_TYPE_XSKMAP,
        key_size: 4,
        value_size: 4,
        max_entries: entries,
        map_name: name16(name),
        ..MapCreateAttr::default()
    };
    bpf_fd(BPF_MAP_CREATE, &mut attr, "bpf(BPF_MAP_CREATE, XSKMAP)")
}

/// `bpf(BPF_MAP_UPDATE_ELEM)` of a u32 key to a u32 value (an XSKMAP slot to a socket fd).
pub fn bpf_map_update_u32(map: BorrowedFd<'_>, key: u32, value: u32) -> Result<(), SysError> {
    let mut attr = MapElemAttr {
        map_fd: map.as_raw_fd() as u32,
        key: &key as *const u32 as u64,
        value: &value as *const u32 as u64,
        ..MapElemAttr::default()
    };
    // SAFETY: `attr` points at `key` and `value`, which live until the call returns.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_MAP_UPDATE_ELEM,
            (&mut attr as *mut MapElemAttr).cast::<libc::c_void>(),
            size_of::<MapElemAttr>(),
        )
    };
    if r < 0 {
        return Err(SysError::last("bpf(BPF_MAP_UPDATE_ELEM)"));
    }
    Ok(())
}

/// `bpf(BPF_PROG_LOAD)` of an XDP program (`BPF_PROG_TYPE_XDP`, attach type `BPF_XDP`).
/// The verifier's log goes to `log` (its first line says why a program was refused).
pub fn bpf_xdp_prog_load(
    name: &str,
    insns: &[BpfInsn],
    license: &std::ffi::CStr,
    log: &mut [u8],
) -> Result<OwnedFd, SysError> {
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_XDP,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: u32::from(!log.is_empty()),
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        prog_name: name16(name),
        expected_attach_type: BPF_XDP,
        ..ProgLoadAttr::default()
    };
    bpf_fd(BPF_PROG_LOAD, &mut attr, "bpf(BPF_PROG_LOAD, XDP)")
}

/// `bpf(BPF_LINK_CREATE)` attaching an XDP program to interface `ifindex` with `flags`
/// (`XDP_FLAGS_DRV_MODE` or `XDP_FLAGS_SKB_MODE`). The program stays attached while the
/// returned link fd is open, so it goes away with the process however the process ends. The
/// kernel refuses (`EBUSY`/`EEXIST`) when another program is attached: it is never replaced.
pub fn bpf_xdp_link_create(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    flags: u32,
) -> Result<OwnedFd, SysError> {
    let mut attr = LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        target_ifindex: ifindex,
        attach_type: BPF_XDP,
        flags,
        ..LinkCreateAttr::default()
    };
    bpf_fd(BPF_LINK_CREATE, &mut attr, "bpf(BPF_LINK_CREATE, XDP)")
}

/// `XDP_MAX_TX_SKB_BUDGET` (`linux/if_xdp.h`, kernel 6.17): how many frames one wakeup of
/// a copy-mode socket sends before it answers `EAGAIN` (the kernel's default is 32).
const XDP_MAX_TX_SKB_BUDGET: libc::c_int = 9;

/// `setsockopt(SOL_XDP, XDP_MAX_TX_SKB_BUDGET, frames)`; `ENOPROTOOPT` on older kernels.
pub fn set_xdp_tx_budget(fd: BorrowedFd<'_>, frames: u32) -> Result<(), SysError> {
    setsockopt(
        fd,
        libc::SOL_XDP,
        XDP_MAX_TX_SKB_BUDGET,
        &frames,
        "XDP_MAX_TX_SKB_BUDGET",
    )
}

/// What [`recv_stamped`] read: its length, the kernel's receive time (ns since the epoch,
/// `CLOCK_REALTIME`) where `SO_TIMESTAMPNS` gave one, and the sender's address.
pub type Stamped = (usize, Option<u64>, Option<std::net::SocketAddr>);

/// One `recvmsg(2)` on a UDP socket with `SO_TIMESTAMPNS` on, into `buf`; `cmsg` is room for
/// the timestamp (`nix::cmsg_space!(nix::sys::time::TimeSpec)`). Waits as the socket's
/// receive timeout says.
#[allow(clippy::ptr_arg)] // nix's recvmsg takes the control buffer as a Vec
pub fn recv_stamped(
    sock: &std::net::UdpSocket,
    buf: &mut [u8],
    cmsg: &mut Vec<u8>,
) -> Result<Stamped, nix::errno::Errno> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let msg =
        recvmsg::<SockaddrStorage>(sock.as_raw_fd(), &mut iov, Some(cmsg), MsgFlags::empty())?;
    let stamp = msg.cmsgs().ok().and_then(|mut it| {
        it.find_map(|c| match c {
            ControlMessageOwned::ScmTimestampns(t) => {
                Some(t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
            }
            _ => None,
        })
    });
    let from = msg.address.and_then(|a| {
        a.as_sockaddr_in()
            .map(|v4| std::net::SocketAddr::V4((*v4).into()))
            .or_else(|| {
                a.as_sockaddr_in6()
                    .map(|v6| std::net::SocketAddr::V6((*v6).into()))
            })
    });
    Ok((msg.bytes, stamp, from))
}

/// Room for one message's control data: a `SCM_TIMESTAMPNS` timespec and a `UDP_GRO`
/// segment size, each in its aligned `cmsghdr` (64 bytes, 8-aligned, holds both).
const RECV_CMSG_WORDS: usize = 8;

/// One message a [`RecvBatch`] read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    /// Bytes of the message (a GRO read: all its segments).
    pub len: usize,
    /// The kernel's receive time, ns since the epoch (`SO_TIMESTAMPNS`), where given.
    pub stamp_ns: Option<u64>,
    /// The segment size of a GRO-coalesced read (`UDP_GRO` control message), where given.
    pub gro_size: Option<usize>,
    /// The sender.
    pub from: Option<std::net::SocketAddr>,
    /// The message was longer than its buffer (`MSG_TRUNC`): the tail is gone.
    pub truncated: bool,
}

/// The address the kernel wrote into `a` (`len` bytes of it): IPv4 or IPv6 by its family.
fn socket_address(a: &libc::sockaddr_in6, len: usize) -> Option<std::net::SocketAddr> {
    let port = u16::from_be(a.sin6_port);
    match i32::from(a.sin6_family) {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            // The sockaddr_in's address sits where sockaddr_in6's flow info does.
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin6_flowinfo));
            Some(std::net::SocketAddr::from((ip, port)))
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(std::net::SocketAddr::from((ip, port)))
        }
        _ => None,
    }
}

/// Buffers for reading up to N UDP messages per call: one `recvmsg(2)` when N is 1, else
/// one `recvmmsg(2)` with `MSG_WAITFORONE` (waits, as the socket's receive timeout says, for
/// the first message, then takes what is queued). Each message's control data is read for
/// the receive timestamp and a GRO segment size; the control buffer length is reset before
/// every call, so a short control message never truncates the next one's.
#[derive(Debug)]
pub struct RecvBatch {
    bufs: Vec<Vec<u8>>,
    cmsgs: Vec<[u64; RECV_CMSG_WORDS]>,
    /// Room for either family's address (a `sockaddr_in6` holds a `sockaddr_in`).
    addrs: Vec<libc::sockaddr_in6>,
    meta: Vec<Received>,
    got: usize,
}

impl RecvBatch {
    /// Room for `n` messages (1 to [`MAX_SEND_BATCH`]) of up to `buf_len` bytes each.
    pub fn new(n: usize, buf_len: usize) -> Self {
        let n = n.clamp(1, MAX_SEND_BATCH);
        // SAFETY: sockaddr_in6 is plain data for which all zeroes is valid.
        let addr: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
        Self {
            bufs: vec![vec![0u8; buf_len]; n],
            cmsgs: vec![[0u64; RECV_CMSG_WORDS]; n],
            addrs: vec![addr; n],
            meta: vec![Received::default(); n],
            got: 0,
        }
    }

    /// Messages per call.
    pub fn capacity(&self) -> usize {
        self.bufs.len()
    }

    /// Reads what is queued on `fd` (up to [`RecvBatch::capacity`] messages); returns how
    /// many. `EAGAIN` after the socket's receive timeout.
    pub fn recv(&mut self, fd: BorrowedFd<'_>) -> Result<usize, nix::errno::Errno> {
        // The headers are built per call: they point into self, which may have moved.
        let mut iov = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; MAX_SEND_BATCH];
        // SAFETY: mmsghdr is plain data for which all zeroes is valid; the entries used are
        // filled in below.
        let mut msgs: [libc::mmsghdr; MAX_SEND_BATCH] = unsafe { std::mem::zeroed() };
        let n = self.bufs.len().min(MAX_SEND_BATCH);
        for i in 0..n {
            iov[i] = libc::iovec {
                iov_base: self.bufs[i].as_mut_ptr().cast(),
                iov_len: self.bufs[i].len(),
            };
            let h = &mut msgs[i].msg_hdr;
            h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_in6).cast();
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            h.msg_iov = &mut iov[i];
            h.msg_iovlen = 1;
            h.msg_control = self.cmsgs[i].as_mut_ptr().cast();
            h.msg_controllen = std::mem::size_of::<[u64; RECV_CMSG_WORDS]>() as _;
        }
        let got = if n == 1 {
            // SAFETY: msgs[0].msg_hdr points at this batch's buffer, address and control
            // buffer, all live and exclusively borrowed for the call, with their lengths.
            let r = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msgs[0].msg_hdr, 0) };
            if r < 0 {
                return Err(nix::errno::Errno::last());
            }
            msgs[0].msg_len = r as libc::c_uint;
            1
        } else {
            // SAFETY: msgs[..n] point at this batch's buffers, addresses and control
            // buffers, all live and exclusively borrowed for the call; no timeout pointer.
            let r = unsafe {
                libc::recvmmsg(
                    fd.as_raw_fd(),
                    msgs.as_mut_ptr(),
                    n as libc::c_uint,
                    libc::MSG_WAITFORONE,
                    std::ptr::null_mut(),
                )
            };
            if r < 0 {
                return Err(nix::errno::Errno::last());
            }
            r as usize
        };
        for (i, m) in msgs[..got].iter().enumerate() {
            let h = &m.msg_hdr;
            let mut meta = Received {
                len: (m.msg_len as usize).min(self.bufs[i].len()),
                truncated: h.msg_flags & libc::MSG_TRUNC != 0,
                from: socket_address(&self.addrs[i], h.msg_namelen as usize),
                ..Received::default()
            };
            // SAFETY: the kernel wrote msg_controllen bytes of well-formed cmsghdrs into
            // this message's control buffer; CMSG_FIRSTHDR/NXTHDR stay inside it, and each
            // data read is bounded by its cmsg_len and read unaligned.
            unsafe {
                let mut c = libc::CMSG_FIRSTHDR(h);
                while !c.is_null() {
                    let data = libc::CMSG_DATA(c);
                    let len = (*c).cmsg_len as usize;
                    let (level, kind) = ((*c).cmsg_level, (*c).cmsg_type);
                    if level == libc::SOL_SOCKET
                        && kind == libc::SCM_TIMESTAMPNS
                        && len
                            >= libc::CMSG_LEN(std::mem::size_of::<libc::timespec>() as u32) as usize
                    {
                        let t = data.cast::<libc::timespec>().read_unaligned();
                        meta.stamp_ns = Some(t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64);
                    } else if level == libc::SOL_UDP
                        && kind == libc::UDP_GRO
                        && len >= libc::CMSG_LEN(std::mem::size_of::<i32>() as u32) as usize
                    {
                        let size = data.cast::<i32>().read_unaligned();
                        meta.gro_size = usize::try_from(size).ok();
                    }
                    c = libc::CMSG_NXTHDR(h, c);
                }
            }
            self.meta[i] = meta;
        }
        self.got = got;
        Ok(got)
    }

    /// Message `i` of the last [`RecvBatch::recv`]: its bytes and what the kernel said.
    pub fn message(&self, i: usize) -> (&[u8], Received) {
        let m = self.meta[i];
        (&self.bufs[i][..m.len], m)
    }

    /// Messages the last [`RecvBatch::recv`] read.
    pub fn len(&self) -> usize {
        self.got
    }

    /// True if the last [`RecvBatch::recv`] read nothing.
    pub fn is_empty(&self) -> bool {
        self.got == 0
    }
}
