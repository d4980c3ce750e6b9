//! The plain-socket baseline: a UDP socket sending one datagram per `sendto()` (or a batch per
//! `sendmmsg()`), and one receiving one datagram per `recvmsg()` with the kernel's timestamp.

use std::net::{SocketAddrV4, UdpSocket};
use std::os::fd::AsFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{setsockopt, sockopt};

use crate::engine::{Batch, KernelStats, Receive, Transmit, TxCounters};
use crate::exit::{CliError, Failure};
use crate::stats::RxAccounting;
use crate::sys;
use crate::wire::{probe, Probe};

/// A UDP socket as a [`Transmit`] backend.
#[derive(Debug)]
pub struct UdpTx {
    sock: UdpSocket,
    dst: SocketAddrV4,
    /// One buffer per datagram of a batch; each carries the probe, restamped before sending.
    payloads: Vec<Vec<u8>>,
}

impl UdpTx {
    /// A socket bound to `src_port` sending `size`-byte datagrams of run `run_id` to `dst`,
    /// `batch` per call (1: `sendto()`; more: `sendmmsg()` to the connected peer, at most
    /// [`sys::MAX_SEND_BATCH`]). DF is set (IP_PMTUDISC_DO), so a size above the path MTU is
    /// refused as mmap-tx refuses it; ICMP errors are reported (IP_RECVERR) and retried.
    pub fn open(
        src_port: u16,
        dst: SocketAddrV4,
        size: usize,
        run_id: u32,
        batch: usize,
    ) -> Result<Self, CliError> {
        let sock = UdpSocket::bind((std::net::Ipv4Addr::UNSPECIFIED, src_port))
            .map_err(|e| CliError::runtime(format!("cannot bind UDP port {src_port}"), e))?;
        sys::set_ip_pmtudisc_do(sock.as_fd())
            .map_err(|e| CliError::runtime("IP_MTU_DISCOVER", e))?;
        sys::set_ip_recverr(sock.as_fd(), true).map_err(|e| CliError::runtime("IP_RECVERR", e))?;
        let batch = batch.clamp(1, sys::MAX_SEND_BATCH);
        if batch > 1 {
            sock.connect(dst)
                .map_err(|e| CliError::runtime(format!("cannot connect to {dst}"), e))?;
        }
        let mut payloads = vec![vec![0u8; size]; batch];
        for payload in &mut payloads {
            Probe {
                run_id,
                seq: 0,
                sent_ns: 0,
            }
            .write(payload);
        }
        Ok(Self {
            sock,
            dst,
            payloads,
        })
    }
}

impl UdpTx {
    /// The sending socket (round trips read their reflections from it).
    pub fn socket(&self) -> &UdpSocket {
        &self.sock
    }
}

impl Transmit for UdpTx {
    fn method(&self) -> &'static str {
        if self.payloads.len() > 1 {
            "sendmmsg"
        } else {
            "sendto"
        }
    }

    fn queue(&mut self, batch: Batch, counters: &mut TxCounters) -> Result<u64, CliError> {
        let want = (batch.n as usize).min(self.payloads.len());
        for (i, payload) in self.payloads[..want].iter_mut().enumerate() {
            probe::stamp(payload, batch.seq(i as u64), batch.now_ns);
        }
        counters.syscalls += 1;
        let result = if self.payloads.len() == 1 {
            self.sock.send_to(&self.payloads[0], self.dst).map(|_| 1)
        } else {
            sys::send_datagrams(self.sock.as_fd(), &self.payloads[..want])
                .map_err(|e| std::io::Error::from_raw_os_error(e.raw_os_error().unwrap_or(0)))
        };
        match result {
            Ok(k) => {
                counters.published += k as u64;
                Ok(k as u64)
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
                Some(libc::EMSGSIZE) => Err(CliError::new(
                    Failure::Size,
                    format!(
                        "size {} B does not fit the MTU of the path to {} (EMSGSIZE)",
                        self.payloads[0].len(),
                        self.dst.ip()
                    ),
                )),
                _ => Err(CliError::runtime(format!("sendto {}", self.dst), e)),
            },
        }
    }

    fn wait_room(&mut self) -> Result<(), CliError> {
        std::thread::yield_now();
        Ok(())
    }
}

/// A UDP socket as a [`Receive`] backend.
#[derive(Debug)]
pub struct UdpRx {
    sock: UdpSocket,
    inode: Option<u64>,
    buf: Vec<u8>,
    cmsg: Vec<u8>,
}

impl UdpRx {
    /// Wraps a bound socket: kernel receive timestamps on (SO_TIMESTAMPNS), an optional
    /// receive buffer size (SO_RCVBUF, capped by the kernel at net.core.rmem_max), and a
    /// receive timeout of `poll` so the engine can stop it.
    pub fn new(sock: UdpSocket, rcvbuf: Option<usize>, poll: Duration) -> Result<Self, CliError> {
        setsockopt(&sock, sockopt::ReceiveTimestampns, &true)
            .map_err(|e| CliError::runtime("SO_TIMESTAMPNS", e))?;
        if let Some(bytes) = rcvbuf {
            setsockopt(&sock, sockopt::RcvBuf, &bytes)
                .map_err(|e| CliError::runtime("SO_RCVBUF", e))?;
        }
        sock.set_read_timeout(Some(poll))
            .map_err(|e| CliError::runtime("SO_RCVTIMEO", e))?;
        let inode = nix::sys::stat::fstat(&sock).map(|s| s.st_ino).ok();
        Ok(Self {
            sock,
            inode,
            buf: vec![0u8; 65536],
            cmsg: nix::cmsg_space!(nix::sys::time::TimeSpec),
        })
    }
}

impl Receive for UdpRx {
    /// One `recvmsg()`, which waits up to the socket's receive timeout.
    fn receive(&mut self, acct: &mut RxAccounting, _timeout: Duration) -> Result<(), String> {
        let (len, ts, from) = match sys::recv_stamped(&self.sock, &mut self.buf, &mut self.cmsg) {
            Ok(got) => got,
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => return Ok(()),
            Err(e) => return Err(format!("recvmsg: {e}")),
        };
        let arrival = ts.unwrap_or_else(crate::process::realtime_ns);
        match from {
            Some(a) => acct.on_datagram_from(&self.buf[..len], arrival, a),
            None => acct.on_datagram(&self.buf[..len], arrival),
        };
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
}
