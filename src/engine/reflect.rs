//! Round trips on one clock. One-way latency needs the two ends' clocks to agree, and two
//! machines' clocks do not, to the microsecond. With `--reflect-every N` a receiver sends
//! every N-th probe of the run it follows (sequence numbers 0, N, 2N, ...; first sightings
//! only) back to the address and port it came from, from the test port; the sender times each
//! reflection against the probe's own send time. The round trip is read on the sender's clock
//! alone, so it holds between hosts.
//!
//! A reflection is a UDP datagram carrying the probe's 24 bytes, whatever the test flow's
//! size. It includes everything the receiving application adds: a V3 ring hands frames over a
//! block at a time, so mmap-rx's round trip includes the wait for its block.
//!
//! - [`Reflector`]: the receiver's side. udp-rx answers from its own socket; mmap-rx and
//!   xdp-rx, whose test port no socket owns, through a raw socket of the sender's family
//!   that writes the UDP header itself (CAP_NET_RAW, which they hold to open their rings
//!   anyway). Over IPv6 it writes the IPv6 header too, from the address the kernel's route
//!   gives for the sender (asked once per sender address), with the UDP checksum IPv6
//!   requires.
//! - [`RoundTrips`]: the sender's side, a socket on the sender's source port whose
//!   reflections a thread of the sender engine times (kernel receive timestamps).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use nix::errno::Errno;
use nix::sys::socket::{
    sendto, setsockopt, socket, sockopt, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType,
    SockaddrIn, SockaddrIn6, SockaddrStorage,
};

use crate::exit::{CliError, Failure};
pub use crate::report::{ReflectionCounts, RoundTripSummary};
use crate::stats::{latency_summary, SequenceTracker};
use crate::wire::header::{ipv4, ipv6, udp};
pub use crate::wire::probe::reflects;
use crate::wire::{Probe, PROBE_LEN};

/// Bytes of a reflection sent through the raw IPv4 socket: IPv4 and UDP headers and the probe.
const RAW_LEN: usize = ipv4::HEADER_LEN + udp::HEADER_LEN + PROBE_LEN;
/// Bytes of a reflection sent through the raw IPv6 socket.
const RAW6_LEN: usize = ipv6::HEADER_LEN + udp::HEADER_LEN + PROBE_LEN;

/// How a receiver sends reflections.
#[derive(Debug)]
enum Outlet {
    /// The receiver's own UDP socket, bound to the test port (udp-rx).
    Socket(UdpSocket),
    /// Raw sockets (`IPPROTO_RAW`, so the header is ours, and no datagram is ever delivered
    /// to them): over IPv4 the source address is left to the kernel's route; over IPv6 (when
    /// the host has IPv6) it is asked of the route and written; the source port is the test
    /// port.
    Raw {
        /// The IPv4 socket.
        v4: OwnedFd,
        /// The IPv6 socket, if the host has IPv6.
        v6: Option<OwnedFd>,
        /// The last sender address and the source address its route gave.
        route6: Mutex<Option<(Ipv6Addr, Ipv6Addr)>>,
    },
}

/// A receiver's way back to the sender: sends every `every`-th probe where it came from.
#[derive(Debug)]
pub struct Reflector {
    every: u64,
    port: u16,
    outlet: Outlet,
}

impl Reflector {
    /// Reflects through `sock` (a clone of it), the receiver's own socket bound to the test
    /// port: replies leave from the port the probes went to, as an echo server's do.
    pub fn through_socket(every: u64, sock: &UdpSocket) -> Result<Self, CliError> {
        let port = sock
            .local_addr()
            .map_err(|e| CliError::runtime("reflect: local address", e))?
            .port();
        let sock = sock
            .try_clone()
            .map_err(|e| CliError::runtime("reflect: socket", e))?;
        Ok(Self {
            every: every.max(1),
            port,
            outlet: Outlet::Socket(sock),
        })
    }

    /// Reflects through raw sockets, from `port` (the test port, which no socket of the
    /// receiver owns). Needs CAP_NET_RAW: open them before dropping capabilities.
    pub fn raw(every: u64, port: u16) -> Result<Self, CliError> {
        let open = |family| {
            socket(
                family,
                SockType::Raw,
                SockFlag::SOCK_CLOEXEC,
                SockProtocol::Raw,
            )
        };
        let v4 = open(AddressFamily::Inet).map_err(|e| match e {
            Errno::EPERM | Errno::EACCES => CliError::new(
                Failure::Privilege,
                "--reflect-every needs CAP_NET_RAW for its raw IPv4 socket",
            ),
            e => CliError::runtime("reflect: raw IPv4 socket", e),
        })?;
        let v6 = match open(AddressFamily::Inet6) {
            Ok(fd) => Some(fd),
            Err(Errno::EAFNOSUPPORT) => None,
            Err(e) => return Err(CliError::runtime("reflect: raw IPv6 socket", e)),
        };
        Ok(Self {
            every: every.max(1),
            port,
            outlet: Outlet::Raw {
                v4,
                v6,
                route6: Mutex::new(None),
            },
        })
    }

    /// Every how many sequence numbers a probe is reflected.
    pub fn every(&self) -> u64 {
        self.every
    }

    /// Sends `probe` back to `to` without blocking (a full socket buffer is an error:
    /// `EAGAIN`, counted by the caller as a failed reflection).
    pub fn send(&self, to: SocketAddr, probe: &[u8; PROBE_LEN]) -> Result<(), Errno> {
        match (&self.outlet, to) {
            (Outlet::Socket(sock), to) => sendto(
                sock.as_raw_fd(),
                probe,
                &SockaddrStorage::from(to),
                MsgFlags::MSG_DONTWAIT,
            )
            .map(drop),
            (Outlet::Raw { v4, .. }, SocketAddr::V4(to)) => {
                let datagram = raw_datagram(self.port, to, probe);
                sendto(
                    v4.as_raw_fd(),
                    &datagram,
                    &SockaddrIn::from(to),
                    MsgFlags::MSG_DONTWAIT,
                )
                .map(drop)
            }
            (Outlet::Raw { v6: None, .. }, SocketAddr::V6(_)) => Err(Errno::EAFNOSUPPORT),
            (
                Outlet::Raw {
                    v6: Some(v6),
                    route6,
                    ..
                },
                SocketAddr::V6(to),
            ) => {
                let src = route_source(route6, *to.ip())?;
                let datagram = raw_datagram6(self.port, src, to, probe);
                // The port of a raw IPv6 socket's destination must be 0 (it is the protocol).
                let dst = SocketAddrV6::new(*to.ip(), 0, 0, to.scope_id());
                sendto(
                    v6.as_raw_fd(),
                    &datagram,
                    &SockaddrIn6::from(dst),
                    MsgFlags::MSG_DONTWAIT,
                )
                .map(drop)
            }
        }
    }
}

/// The source address the kernel's route uses towards `to` (a UDP socket connected to it,
/// which sends nothing), remembered for the last sender asked about.
fn route_source(
    cache: &Mutex<Option<(Ipv6Addr, Ipv6Addr)>>,
    to: Ipv6Addr,
) -> Result<Ipv6Addr, Errno> {
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((dst, src)) = *cache {
        if dst == to {
            return Ok(src);
        }
    }
    let errno = |e: std::io::Error| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    let sock = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).map_err(errno)?;
    sock.connect((to, 9)).map_err(errno)?;
    let IpAddr::V6(src) = sock.local_addr().map_err(errno)?.ip() else {
        return Err(Errno::EAFNOSUPPORT);
    };
    *cache = Some((to, src));
    Ok(src)
}

/// The IPv6 datagram the raw IPv6 socket sends: the whole header (IPv6 raw sockets with
/// `IPPROTO_RAW` leave nothing to the kernel), UDP from `src` and `port` to `to` with its
/// checksum (mandatory over IPv6).
fn raw_datagram6(
    port: u16,
    src: Ipv6Addr,
    to: SocketAddrV6,
    probe: &[u8; PROBE_LEN],
) -> [u8; RAW6_LEN] {
    let mut d = [0u8; RAW6_LEN];
    let udp_len = udp::HEADER_LEN + PROBE_LEN;
    let ends = crate::wire::Endpoints::V6 { src, dst: *to.ip() };
    ends.emit_udp(&mut d, udp_len);
    let u = &mut d[ipv6::HEADER_LEN..];
    udp::Datagram::new_checked(&mut u[..])
        .expect("room for the UDP header")
        .set_header(port, to.port(), udp_len);
    u[udp::field::PAYLOAD..].copy_from_slice(probe);
    let sum = crate::wire::checksum::accumulate(ends.pseudo_header_sum(udp_len), u);
    u[udp::field::CHECKSUM].copy_from_slice(&udp::checksum_field(sum).to_be_bytes());
    d
}

/// The IPv4 datagram a raw socket sends: source address 0 (the kernel fills in the route's,
/// with the identification and header checksum), UDP from `port` to `to`, checksum 0 (none).
fn raw_datagram(port: u16, to: SocketAddrV4, probe: &[u8; PROBE_LEN]) -> [u8; RAW_LEN] {
    let mut d = [0u8; RAW_LEN];
    ipv4::Repr {
        src: Ipv4Addr::UNSPECIFIED,
        dst: *to.ip(),
        protocol: ipv4::PROTOCOL_UDP,
        payload_len: udp::HEADER_LEN + PROBE_LEN,
        ttl: 64,
    }
    .emit(&mut d);
    let u = &mut d[ipv4::HEADER_LEN..];
    u[udp::field::SRC_PORT].copy_from_slice(&port.to_be_bytes());
    u[udp::field::DST_PORT].copy_from_slice(&to.port().to_be_bytes());
    u[udp::field::LENGTH].copy_from_slice(&((udp::HEADER_LEN + PROBE_LEN) as u16).to_be_bytes());
    u[udp::field::PAYLOAD..].copy_from_slice(probe);
    d
}

/// The sender's side: the socket reflections come back to.
#[derive(Debug)]
pub struct RoundTrips {
    every: u64,
    run_id: u32,
    sock: UdpSocket,
}

impl RoundTrips {
    /// Listens on the sender's source port (mmap-tx and xdp-tx, whose frames no socket sends).
    /// The socket is of `family`, the test flow's.
    pub fn listen(
        every: u64,
        run_id: u32,
        src_port: u16,
        family: crate::wire::Family,
    ) -> Result<Self, CliError> {
        let sock = UdpSocket::bind((family.unspecified(), src_port)).map_err(|e| {
            CliError::runtime(
                format!("--reflect-every: cannot bind UDP port {src_port} for the reflections"),
                e,
            )
        })?;
        Self::new(every, run_id, sock)
    }

    /// Reads reflections from the sending socket itself (udp-tx, bound to its source port).
    pub fn on_socket(every: u64, run_id: u32, sock: &UdpSocket) -> Result<Self, CliError> {
        let sock = sock
            .try_clone()
            .map_err(|e| CliError::runtime("--reflect-every: socket", e))?;
        Self::new(every, run_id, sock)
    }

    fn new(every: u64, run_id: u32, sock: UdpSocket) -> Result<Self, CliError> {
        setsockopt(&sock, sockopt::ReceiveTimestampns, &true)
            .map_err(|e| CliError::runtime("SO_TIMESTAMPNS", e))?;
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .map_err(|e| CliError::runtime("SO_RCVTIMEO", e))?;
        Ok(Self {
            every: every.max(1),
            run_id,
            sock,
        })
    }

    /// Every how many sequence numbers the receiver reflects.
    pub fn every(&self) -> u64 {
        self.every
    }

    /// Times reflections until `finished` returns true (it is asked after every datagram or
    /// 20 ms without one, with the reflections counted so far); `count` sizes the tracker of
    /// reflected sequence numbers.
    pub fn collect(&self, count: u64, finished: &mut dyn FnMut(u64) -> bool) -> RoundTripTimes {
        let mut times = RoundTripTimes::new(self.every, count);
        let mut buf = [0u8; 2048];
        let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
        loop {
            if finished(times.tracker.unique()) {
                return times;
            }
            // EAGAIN after 20 ms, EINTR, or an ICMP error of the sending socket: look again.
            let Ok((len, stamp, _)) = crate::sys::recv_stamped(&self.sock, &mut buf, &mut cmsg)
            else {
                continue;
            };
            let arrival = stamp.unwrap_or_else(crate::process::realtime_ns);
            times.record(&buf[..len], self.run_id, arrival);
        }
    }
}

/// The round trips a sender measured.
#[derive(Debug)]
pub struct RoundTripTimes {
    every: u64,
    tracker: SequenceTracker,
    histogram: Histogram<u64>,
    foreign: u64,
    clock_skew: u64,
}

impl RoundTripTimes {
    /// Empty, for the reflections of every `every`-th of `count` sequence numbers.
    pub fn new(every: u64, count: u64) -> Self {
        Self {
            every,
            tracker: SequenceTracker::new(Some(count)),
            histogram: Histogram::new_with_bounds(1, 3_600_000_000_000, 3)
                .expect("static histogram bounds are valid"),
            foreign: 0,
            clock_skew: 0,
        }
    }

    /// Accounts one datagram that came back: a reflection of our run's probe whose sequence
    /// number is one the receiver reflects (first sighting only), or foreign. The datagram
    /// comes from the network: any bytes are accounted, never trusted.
    pub fn record(&mut self, payload: &[u8], run_id: u32, arrival_ns: u64) {
        match Probe::parse(payload) {
            Some(p) if p.run_id == run_id && reflects(p.seq, self.every) => {
                if !matches!(
                    self.tracker.record(p.seq),
                    crate::stats::Arrival::New | crate::stats::Arrival::Reordered
                ) {
                    return;
                }
                match arrival_ns.checked_sub(p.sent_ns) {
                    Some(d) => self.histogram.saturating_record(d.max(1)),
                    None => self.clock_skew += 1,
                }
            }
            _ => self.foreign += 1,
        }
    }

    /// The summary, given how many reflections the probes sent should have brought back.
    pub fn summary(&self, expected: u64) -> RoundTripSummary {
        RoundTripSummary {
            reflect_every: self.every,
            expected,
            reflected: self.tracker.unique(),
            duplicates: self.tracker.duplicates(),
            foreign: self.foreign,
            latency: latency_summary(&self.histogram, self.clock_skew),
        }
    }
}

/// How many of a lane's `count` sequence numbers `first`, `first + stride`, ... are reflected.
pub fn reflectable(first: u64, stride: u64, count: u64, every: u64) -> u64 {
    if every == 0 || count == 0 {
        return 0;
    }
    let gcd = |mut a: u64, mut b: u64| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    // The residues of first + j * stride modulo every repeat with this period.
    let period = every / gcd(stride % every, every);
    let hits = |n: u64| {
        (0..n)
            .filter(|j| reflects(first.wrapping_add(j.wrapping_mul(stride)), every))
            .count() as u64
    };
    (count / period) * hits(period) + hits(count % period)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflectable_counts_match_brute_force() {
        for every in 1..12u64 {
            for stride in 1..5u64 {
                for first in 0..stride {
                    for count in [0u64, 1, 2, 7, 100, 1001] {
                        let brute = (0..count)
                            .filter(|j| (first + j * stride) % every == 0)
                            .count() as u64;
                        assert_eq!(
                            reflectable(first, stride, count, every),
                            brute,
                            "first {first} stride {stride} count {count} every {every}"
                        );
                    }
                }
            }
        }
        assert_eq!(reflectable(0, 1, 10_000_000, 1000), 10_000);
    }

    #[test]
    fn the_raw_datagram_is_a_udp_datagram_the_parser_reads() {
        let mut probe = [0u8; PROBE_LEN];
        Probe {
            run_id: 7,
            seq: 42,
            sent_ns: 1000,
        }
        .write(&mut probe);
        let to = SocketAddrV4::new(Ipv4Addr::new(10, 77, 1, 1), 9001);
        let d = raw_datagram(9000, to, &probe);
        let ip = ipv4::Packet::new_checked(&d[..]).unwrap();
        assert_eq!((ip.dst(), ip.protocol()), (*to.ip(), ipv4::PROTOCOL_UDP));
        let u = udp::Datagram::new_checked(ip.into_payload()).unwrap();
        assert_eq!((u.src_port(), u.dst_port()), (9000, 9001));
        assert!(u.len_ok());
        let p = Probe::parse(u.into_payload()).unwrap();
        assert_eq!((p.run_id, p.seq, p.sent_ns), (7, 42, 1000));
    }

    #[test]
    fn the_raw_ipv6_datagram_carries_the_route_source_and_a_valid_checksum() {
        let mut probe = [0u8; PROBE_LEN];
        Probe {
            run_id: 7,
            seq: 42,
            sent_ns: 1000,
        }
        .write(&mut probe);
        let src: Ipv6Addr = "fd00:77:1::2".parse().unwrap();
        let to = SocketAddrV6::new("fd00:77:1::1".parse().unwrap(), 9001, 0, 0);
        let d = raw_datagram6(9000, src, to, &probe);
        let ip = ipv6::Packet::new_checked(&d[..]).unwrap();
        assert_eq!((ip.src(), ip.dst(), ip.next_header()), (src, *to.ip(), 17));
        let u = udp::Datagram::new_checked(ip.into_payload()).unwrap();
        assert_eq!((u.src_port(), u.dst_port()), (9000, 9001));
        assert!(u.len_ok());
        assert_ne!(u.checksum(), 0, "mandatory over IPv6");
        assert!(u.checksum_ok(src.into(), (*to.ip()).into()));
        let p = Probe::parse(u.into_payload()).unwrap();
        assert_eq!((p.run_id, p.seq, p.sent_ns), (7, 42, 1000));
    }

    #[test]
    fn only_first_sightings_of_reflected_sequence_numbers_of_our_run_are_timed() {
        let mut t = RoundTripTimes::new(10, 100);
        let probe = |run_id, seq| {
            let mut b = [0u8; PROBE_LEN];
            Probe {
                run_id,
                seq,
                sent_ns: 1_000,
            }
            .write(&mut b);
            b
        };
        t.record(&probe(5, 0), 5, 3_000);
        t.record(&probe(5, 10), 5, 5_000);
        t.record(&probe(5, 10), 5, 9_000); // duplicate: counted once
        t.record(&probe(5, 3), 5, 3_000); // not a reflected number
        t.record(&probe(6, 20), 5, 3_000); // another run
        t.record(b"hello", 5, 3_000);
        t.record(&probe(5, 30), 5, 500); // before its send time
        let s = t.summary(4);
        assert_eq!(
            (s.expected, s.reflected, s.duplicates, s.foreign),
            (4, 3, 1, 3)
        );
        assert_eq!((s.latency.samples, s.latency.clock_skew), (2, 1));
        assert_eq!(s.latency.max_ns.map(|v| v / 100), Some(40));
    }
}
