//! The plain-socket baseline: a UDP socket sending one datagram per `sendto()` (or a batch per
//! `sendmmsg()`), and one receiving one datagram per `recvmsg()` with the kernel's timestamp.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{setsockopt, sockopt};

use crate::engine::{Batch, KernelStats, Receive, Transmit, TxCounters};
use crate::exit::{CliError, Failure};
use crate::stats::RxAccounting;
use crate::sys::{self, RecvBatch};
use crate::wire::{probe, IgnoreReason, Probe};

/// A UDP socket as a [`Transmit`] backend.
#[derive(Debug)]
pub struct UdpTx {
    /// One socket per flow, bound to consecutive source ports (or addresses); each send call
    /// uses the next.
    socks: Vec<UdpSocket>,
    /// The turn of the next send call: the socket `order[next]`, or `next` in round robin.
    next: usize,
    /// The order the sockets take turns in, when not round robin
    /// ([`crate::wire::flow_order`]).
    order: Option<Vec<u16>>,
    dst: SocketAddr,
    /// Datagram payload bytes (the largest of a size mix).
    size: usize,
    /// With a size mix: the payload of each position of its cycle; the message holding
    /// datagram `seq` is `cycle[seq % len]` bytes long.
    cycle: Option<Vec<usize>>,
    /// Datagrams per message: 1, or `--gso N` (one `UDP_SEGMENT` super-packet per message).
    segments: usize,
    /// One buffer per message of a batch, `segments` datagrams each; every datagram carries
    /// its probe, restamped before sending.
    messages: Vec<Vec<u8>>,
}

/// Datagrams per call and message: how a [`UdpTx`] hands datagrams to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpSend {
    /// Messages per call: 1 sends with `sendto()`; more with one `sendmmsg()` to the
    /// connected peer, at most [`sys::MAX_SEND_BATCH`].
    pub batch: usize,
    /// Datagrams per message: more than 1 makes each message a GSO super-packet
    /// (`UDP_SEGMENT` of the datagram size), split into datagrams by the kernel.
    pub gso: usize,
}

impl UdpTx {
    /// A socket bound to each of `sources` (one per flow, taking turns per send call)
    /// sending `size`-byte datagrams of run `run_id` to `dst`, as `how` says, over `dst`'s
    /// family. DF is set (IP_PMTUDISC_DO, or IPV6_PMTUDISC_DO: no fragmenting at the
    /// source), so a size above the path MTU is refused as mmap-tx refuses it; ICMP errors
    /// are reported (IP_RECVERR, IPV6_RECVERR) and retried. A source address that is not this
    /// host's is exit code 4.
    pub fn open(
        sources: &[SocketAddr],
        dst: SocketAddr,
        size: usize,
        run_id: u32,
        how: UdpSend,
    ) -> Result<Self, CliError> {
        let batch = how.batch.clamp(1, sys::MAX_SEND_BATCH);
        let segments = how.gso.max(1);
        let socks = sources
            .iter()
            .map(|&src| open_sending_socket(src, dst, size, segments, batch > 1))
            .collect::<Result<Vec<_>, _>>()?;
        let mut messages = vec![vec![0u8; size * segments]; batch];
        for message in &mut messages {
            for datagram in message.chunks_mut(size) {
                Probe {
                    run_id,
                    seq: 0,
                    sent_ns: 0,
                }
                .write(datagram);
            }
        }
        Ok(Self {
            socks,
            next: 0,
            order: None,
            dst,
            size,
            cycle: None,
            segments,
            messages,
        })
    }

    /// Datagrams in a size mix: datagram `seq` carries `cycle[seq % len]` bytes of payload.
    /// The message buffers grow to the largest. Ignored with `--gso`, which the tool refuses
    /// with a mix (a super-packet's datagrams share one size).
    pub fn with_cycle(mut self, cycle: Vec<usize>) -> Self {
        if cycle.len() < 2 || self.segments > 1 {
            return self;
        }
        self.size = cycle.iter().copied().fold(self.size, usize::max);
        for message in &mut self.messages {
            message.resize(self.size, 0);
        }
        self.cycle = Some(cycle);
        self
    }

    /// The flows' sockets taking turns in `order` (a permutation of as many flows, from
    /// [`crate::wire::flow_order`]) instead of round robin.
    pub fn with_order(mut self, order: Option<Vec<u16>>) -> Self {
        self.order = order.filter(|o| o.len() == self.socks.len() && o.len() > 1);
        self
    }

    /// The first flow's sending socket (round trips read their reflections from it).
    pub fn socket(&self) -> &UdpSocket {
        &self.socks[0]
    }

    /// The error for a send the kernel refused outright.
    fn refused(&self, e: std::io::Error) -> CliError {
        let gso = self.segments > 1;
        match e.raw_os_error() {
            Some(libc::EMSGSIZE) => CliError::new(
                Failure::Size,
                format!(
                    "size {} B does not fit the MTU of the path to {} (EMSGSIZE)",
                    self.size,
                    self.dst.ip()
                ),
            ),
            Some(libc::EIO) if gso => CliError::new(
                Failure::Interface,
                format!(
                    "--gso: the device on the path to {} cannot segment UDP (EIO: no checksum offload)",
                    self.dst.ip()
                ),
            ),
            Some(libc::EINVAL) if gso => CliError::new(
                Failure::Size,
                format!(
                    "--gso {} of {} B: the kernel refuses the super-packet (EINVAL: more segments than UDP_MAX_SEGMENTS, or over 64 KiB)",
                    self.segments, self.size
                ),
            ),
            _ => CliError::runtime(format!("send to {}", self.dst), e),
        }
    }
}

/// A socket bound to `src` sending to `dst`: DF set, ICMP errors reported, `UDP_SEGMENT`
/// of `size` where `segments` > 1, connected to `dst` when `connect` (for `sendmmsg`).
fn open_sending_socket(
    src: SocketAddr,
    dst: SocketAddr,
    size: usize,
    segments: usize,
    connect: bool,
) -> Result<UdpSocket, CliError> {
    let sock = UdpSocket::bind(src).map_err(|e| {
        if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) {
            CliError::new(
                Failure::Interface,
                format!("cannot bind {src}: {} is not an address of this host (udp-tx binds --src-ip, and with --flow-by addr each address above it)", src.ip()),
            )
        } else {
            CliError::runtime(format!("cannot bind UDP {src}"), e)
        }
    })?;
    if dst.is_ipv6() {
        sys::set_ipv6_pmtudisc_do(sock.as_fd())
            .map_err(|e| CliError::runtime("IPV6_MTU_DISCOVER", e))?;
        sys::set_ipv6_recverr(sock.as_fd(), true)
            .map_err(|e| CliError::runtime("IPV6_RECVERR", e))?;
    } else {
        sys::set_ip_pmtudisc_do(sock.as_fd())
            .map_err(|e| CliError::runtime("IP_MTU_DISCOVER", e))?;
        sys::set_ip_recverr(sock.as_fd(), true).map_err(|e| CliError::runtime("IP_RECVERR", e))?;
    }
    if segments > 1 {
        let gso_size = u16::try_from(size).map_err(|_| {
            CliError::new(Failure::Size, format!("--gso: size {size} B is over 65535"))
        })?;
        setsockopt(&sock, sockopt::UdpGsoSegment, &i32::from(gso_size)).map_err(|e| {
            CliError::new(
                Failure::Interface,
                format!("--gso: this kernel refuses UDP_SEGMENT ({e})"),
            )
        })?;
    }
    if connect {
        sock.connect(dst)
            .map_err(|e| CliError::runtime(format!("cannot connect to {dst}"), e))?;
    }
    Ok(sock)
}

impl Transmit for UdpTx {
    fn method(&self) -> &'static str {
        match (self.messages.len() > 1, self.segments > 1) {
            (false, false) => "sendto",
            (true, false) => "sendmmsg",
            (false, true) => "sendto+gso",
            (true, true) => "sendmmsg+gso",
        }
    }

    fn queue(&mut self, batch: Batch, counters: &mut TxCounters) -> Result<u64, CliError> {
        let per = self.segments as u64;
        let want = batch.n.min(self.messages.len() as u64 * per);
        let mut lens = [0usize; sys::MAX_SEND_BATCH];
        let mut used = 0;
        let mut i = 0u64;
        for (m, message) in self.messages.iter_mut().enumerate() {
            if i == want {
                break;
            }
            let k = per.min(want - i);
            if let Some(cycle) = &self.cycle {
                // One datagram per message, at its turn's size.
                let seq = batch.seq(i);
                probe::stamp(message, seq, batch.now_ns);
                lens[m] = cycle[(seq % cycle.len() as u64) as usize];
                i += 1;
                used = m + 1;
                continue;
            }
            for datagram in message.chunks_mut(self.size).take(k as usize) {
                probe::stamp(datagram, batch.seq(i), batch.now_ns);
                i += 1;
            }
            lens[m] = k as usize * self.size;
            used = m + 1;
        }
        counters.syscalls += 1;
        let sock = match &self.order {
            Some(order) => &self.socks[usize::from(order[self.next])],
            None => &self.socks[self.next],
        };
        let result = if self.messages.len() == 1 {
            sock.send_to(&self.messages[0][..lens[0]], self.dst)
                .map(|_| 1)
        } else {
            let mut slices: [&[u8]; sys::MAX_SEND_BATCH] = [&[]; sys::MAX_SEND_BATCH];
            for ((slice, message), &len) in slices.iter_mut().zip(&self.messages).zip(&lens) {
                *slice = &message[..len];
            }
            sys::send_datagrams(sock.as_fd(), &slices[..used])
                .map_err(|e| std::io::Error::from_raw_os_error(e.raw_os_error().unwrap_or(0)))
        };
        match result {
            Ok(k) => {
                self.next = (self.next + 1) % self.socks.len();
                let sent: u64 = match self.cycle {
                    Some(_) => k as u64,
                    None => lens[..k].iter().map(|&l| (l / self.size) as u64).sum(),
                };
                counters.published += sent;
                Ok(sent)
            }
            Err(e) => match e.raw_os_error() {
                // A full device queue, or an ICMP error reported for an earlier datagram
                // (IP_RECVERR): this datagram did not go; retry it.
                Some(libc::ENOBUFS)
                | Some(libc::EAGAIN)
                | Some(libc::ECONNREFUSED)
                | Some(libc::EHOSTUNREACH) => {
                    counters.retries += 1;
                    Ok(0)
                }
                _ => Err(self.refused(e)),
            },
        }
    }

    fn wait_room(&mut self) -> Result<(), CliError> {
        std::thread::yield_now();
        Ok(())
    }
}

/// How a [`UdpRx`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRead {
    /// Receive buffer to ask for, bytes: `SO_RCVBUFFORCE` where the process may
    /// (CAP_NET_ADMIN), else `SO_RCVBUF`, which the kernel caps at `net.core.rmem_max`.
    pub rcvbuf: Option<usize>,
    /// `UDP_GRO`: the kernel hands over coalesced datagrams (and a GSO super-packet as it
    /// arrived), each read split into its segments here.
    pub gro: bool,
    /// Messages per call: 1 reads with `recvmsg()`, more with one `recvmmsg()`.
    pub batch: usize,
}

/// The receive buffer a [`UdpRx`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RcvBuf {
    /// What `getsockopt(SO_RCVBUF)` reads back (the kernel doubles what it was asked for, to
    /// cover its bookkeeping).
    pub bytes: u64,
    /// The request was capped at `net.core.rmem_max` (no CAP_NET_ADMIN for
    /// `SO_RCVBUFFORCE`).
    pub capped: bool,
}

/// A UDP socket as a [`Receive`] backend.
#[derive(Debug)]
pub struct UdpRx {
    sock: UdpSocket,
    inode: Option<u64>,
    batch: RecvBatch,
    gro: bool,
    rcvbuf: RcvBuf,
}

/// Largest UDP message, a GRO read included (64 KiB).
const MAX_MESSAGE: usize = 1 << 16;

impl UdpRx {
    /// Wraps a bound socket: kernel receive timestamps on (SO_TIMESTAMPNS), the receive
    /// buffer and reading `how` says, and a receive timeout of `poll` so the engine can stop
    /// it.
    pub fn new(sock: UdpSocket, how: UdpRead, poll: Duration) -> Result<Self, CliError> {
        setsockopt(&sock, sockopt::ReceiveTimestampns, &true)
            .map_err(|e| CliError::runtime("SO_TIMESTAMPNS", e))?;
        let mut capped = false;
        if let Some(bytes) = how.rcvbuf {
            match setsockopt(&sock, sockopt::RcvBufForce, &bytes) {
                Ok(()) => {}
                Err(Errno::EPERM) => {
                    setsockopt(&sock, sockopt::RcvBuf, &bytes)
                        .map_err(|e| CliError::runtime("SO_RCVBUF", e))?;
                    capped = true;
                }
                Err(e) => return Err(CliError::runtime("SO_RCVBUFFORCE", e)),
            }
        }
        if how.gro {
            setsockopt(&sock, sockopt::UdpGroSegment, &true).map_err(|e| {
                CliError::new(
                    Failure::Interface,
                    format!("--gro: this kernel refuses UDP_GRO ({e})"),
                )
            })?;
        }
        sock.set_read_timeout(Some(poll))
            .map_err(|e| CliError::runtime("SO_RCVTIMEO", e))?;
        let bytes = nix::sys::socket::getsockopt(&sock, sockopt::RcvBuf)
            .map_err(|e| CliError::runtime("SO_RCVBUF", e))? as u64;
        let inode = nix::sys::stat::fstat(&sock).map(|s| s.st_ino).ok();
        Ok(Self {
            sock,
            inode,
            batch: RecvBatch::new(how.batch, MAX_MESSAGE),
            gro: how.gro,
            rcvbuf: RcvBuf { bytes, capped },
        })
    }

    /// The receive buffer the socket got.
    pub fn rcvbuf(&self) -> RcvBuf {
        self.rcvbuf
    }
}

impl Receive for UdpRx {
    /// One `recvmsg()` or `recvmmsg()`, which waits up to the socket's receive timeout; a GRO
    /// read is split into its segments, each counted with the read's one timestamp.
    fn receive(&mut self, acct: &mut RxAccounting, _timeout: Duration) -> Result<(), String> {
        let got = match self.batch.recv(self.sock.as_fd()) {
            Ok(got) => got,
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => return Ok(()),
            Err(e) => return Err(format!("recvmsg: {e}")),
        };
        for i in 0..got {
            let (bytes, meta) = self.batch.message(i);
            if meta.truncated {
                acct.on_ignored(IgnoreReason::TruncatedCapture);
                continue;
            }
            let arrival = meta.stamp_ns.unwrap_or_else(crate::process::realtime_ns);
            match meta.gro_size.filter(|_| self.gro) {
                Some(segment) => {
                    acct.on_segments(bytes, segment, arrival, meta.from);
                }
                None => {
                    match meta.from {
                        Some(a) => acct.on_datagram_from(bytes, arrival, a),
                        None => acct.on_datagram(bytes, arrival),
                    };
                }
            }
        }
        Ok(())
    }

    fn kernel_stats(&mut self) -> Option<KernelStats> {
        Some(KernelStats {
            packets: None,
            drops: self
                .inode
                .and_then(crate::net::udp_socket_drops)
                .unwrap_or(0),
            ..KernelStats::default()
        })
    }

    fn buffer_bytes(&self) -> Option<u64> {
        Some(self.rcvbuf.bytes)
    }
}
