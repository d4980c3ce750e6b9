//! Building test frames: Ethernet II + IPv4 (valid header checksum, DF, TTL 64) + UDP (valid
//! checksum) + probe + zero padding.
//!
//! Everything but the probe's sequence number and send time is the same in every frame of a run,
//! so a [`FrameTemplate`] builds the frame once and keeps the UDP checksum of its constant part.
//! Per packet, [`FrameTemplate::stamp`] writes 16 bytes and folds them into that sum: no
//! allocation and no pass over the payload on the hot path.

use std::fmt;
use std::net::Ipv4Addr;

use super::checksum;
use super::header::{ethernet, frame_offset, ipv4, udp};
use super::probe::{self, Probe, PROBE_LEN};

/// Ethernet II header length.
pub const ETH_HEADER_LEN: usize = ethernet::HEADER_LEN;
/// IPv4 header length without options.
pub const IPV4_HEADER_LEN: usize = ipv4::HEADER_LEN;
/// UDP header length.
pub const UDP_HEADER_LEN: usize = udp::HEADER_LEN;
/// Bytes a frame adds to its UDP payload: 14 + 20 + 8 = 42, as the thesis counted.
pub const FRAME_OVERHEAD: usize = ETH_HEADER_LEN + IPV4_HEADER_LEN + UDP_HEADER_LEN;
/// Where the UDP payload (and so the probe) starts in a frame.
pub const PAYLOAD_OFFSET: usize = frame_offset::UDP_PAYLOAD;
/// Where the UDP checksum sits in a frame.
pub const UDP_CHECKSUM_OFFSET: usize = frame_offset::UDP_CHECKSUM;

/// The addresses and ports of the test flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// Sender's MAC address.
    pub src_mac: [u8; 6],
    /// Receiver's (next hop's) MAC address.
    pub dst_mac: [u8; 6],
    /// Sender's IPv4 address.
    pub src_ip: Ipv4Addr,
    /// Receiver's IPv4 address.
    pub dst_ip: Ipv4Addr,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
}

/// A UDP payload size outside what a probe frame can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeError {
    /// Requested UDP payload size.
    pub size: usize,
    /// Smallest allowed: the probe header.
    pub min: usize,
    /// Largest allowed: MTU minus IPv4 and UDP headers.
    pub max: usize,
}

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.size < self.min {
            write!(
                f,
                "size {} B is below the {}-byte probe header (allowed: {}..={} B of UDP payload)",
                self.size, self.min, self.min, self.max
            )
        } else {
            write!(
                f,
                "size {} B does not fit the MTU (allowed: {}..={} B of UDP payload, MTU - 28)",
                self.size, self.min, self.max
            )
        }
    }
}

impl std::error::Error for SizeError {}

/// Checks a UDP payload size against the probe header and an MTU.
pub fn check_payload_size(size: usize, mtu: u32) -> Result<(), SizeError> {
    let max = (mtu as usize).saturating_sub(IPV4_HEADER_LEN + UDP_HEADER_LEN);
    if size < PROBE_LEN || size > max {
        return Err(SizeError {
            size,
            min: PROBE_LEN,
            max,
        });
    }
    Ok(())
}

/// One run's frame, built once.
#[derive(Debug, Clone)]
pub struct FrameTemplate {
    bytes: Vec<u8>,
    /// One's-complement sum of the UDP pseudo-header, UDP header and payload, with the probe's
    /// sequence and send-time fields zero.
    udp_sum: u64,
}

impl FrameTemplate {
    /// Builds the frame for `flow` with a UDP payload of `payload_len` bytes (checked against
    /// `mtu`) and a probe carrying `run_id`.
    pub fn new(flow: &Flow, payload_len: usize, mtu: u32, run_id: u32) -> Result<Self, SizeError> {
        check_payload_size(payload_len, mtu)?;
        let udp_len = UDP_HEADER_LEN + payload_len;
        let ip_len = IPV4_HEADER_LEN + udp_len;
        let mut f = vec![0u8; ETH_HEADER_LEN + ip_len];

        let mut eth = ethernet::Frame::new_checked(&mut f[..]).expect("frame has its headers");
        eth.set_header(flow.dst_mac, flow.src_mac, ethernet::ETHERTYPE_IPV4);
        ipv4::Repr {
            src: flow.src_ip,
            dst: flow.dst_ip,
            protocol: ipv4::PROTOCOL_UDP,
            payload_len: udp_len,
            ttl: 64,
        }
        .emit(eth.payload_mut());
        udp::Datagram::new_checked(&mut f[frame_offset::UDP..])
            .expect("frame has its headers")
            .set_header(flow.src_port, flow.dst_port, udp_len);
        Probe {
            run_id,
            seq: 0,
            sent_ns: 0,
        }
        .write(&mut f[PAYLOAD_OFFSET..]);

        let pseudo = udp::pseudo_header_sum(flow.src_ip, flow.dst_ip, udp_len);
        let sum = checksum::accumulate(pseudo, &f[frame_offset::UDP..]);
        Ok(Self {
            bytes: f,
            udp_sum: sum,
        })
    }

    /// Length of the Ethernet frame: UDP payload + 42.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a frame has headers.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The frame with a zero sequence number and send time (and a checksum for them).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The UDP payload, for senders that let the kernel build the headers.
    pub fn payload(&self) -> &[u8] {
        &self.bytes[PAYLOAD_OFFSET..]
    }

    /// Writes the whole frame into `buf`, then stamps it.
    pub fn write(&self, buf: &mut [u8], seq: u64, sent_ns: u64) {
        buf[..self.bytes.len()].copy_from_slice(&self.bytes);
        self.stamp(buf, seq, sent_ns);
    }

    /// Stamps a frame previously written with [`FrameTemplate::write`]: the probe's sequence
    /// number and send time, and the UDP checksum that covers them.
    pub fn stamp(&self, buf: &mut [u8], seq: u64, sent_ns: u64) {
        probe::stamp(&mut buf[PAYLOAD_OFFSET..], seq, sent_ns);
        let sum = checksum::accumulate_u64(checksum::accumulate_u64(self.udp_sum, seq), sent_ns);
        let mut c = !checksum::fold(sum);
        if c == 0 {
            c = 0xffff; // 0 means "no checksum" in UDP over IPv4
        }
        buf[UDP_CHECKSUM_OFFSET..UDP_CHECKSUM_OFFSET + 2].copy_from_slice(&c.to_be_bytes());
    }
}

/// Largest UDP payload of one IPv4 datagram, a GSO super-packet's included.
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// A GSO super-packet of the test flow for a packet socket with `PACKET_VNET_HDR`: one
/// Ethernet/IPv4/UDP header over up to `segments` datagram payloads of `size` bytes, each
/// starting with its own probe. The kernel splits it (`VIRTIO_NET_HDR_GSO_UDP_L4`) into
/// datagrams that are each the frame [`FrameTemplate`] would build, and completes every
/// segment's UDP checksum (the header's is seeded with the pseudo-header, `NEEDS_CSUM`).
#[derive(Debug, Clone)]
pub struct GsoTemplate {
    flow: Flow,
    size: usize,
    segments: usize,
    /// One datagram's payload: the probe (run id, zero sequence and time) and padding.
    payload: Vec<u8>,
}

impl GsoTemplate {
    /// Super-packets of up to `segments` datagrams of `size` payload bytes for `flow`: each
    /// datagram must fit `mtu`, and all of them one IPv4 datagram.
    pub fn new(
        flow: &Flow,
        size: usize,
        segments: usize,
        mtu: u32,
        run_id: u32,
    ) -> Result<Self, SizeError> {
        check_payload_size(size, mtu)?;
        if size * segments > MAX_UDP_PAYLOAD {
            return Err(SizeError {
                size: size * segments,
                min: PROBE_LEN,
                max: MAX_UDP_PAYLOAD,
            });
        }
        let mut payload = vec![0u8; size];
        Probe {
            run_id,
            seq: 0,
            sent_ns: 0,
        }
        .write(&mut payload);
        Ok(Self {
            flow: *flow,
            size,
            segments: segments.max(1),
            payload,
        })
    }

    /// Datagrams per super-packet at most.
    pub fn segments(&self) -> usize {
        self.segments
    }

    /// Bytes of the frame of `k` datagrams.
    pub fn frame_len(&self, k: usize) -> usize {
        FRAME_OVERHEAD + k * self.size
    }

    /// Bytes of the largest frame.
    pub fn max_frame_len(&self) -> usize {
        self.frame_len(self.segments)
    }

    /// Writes the headers for `k` datagrams and every datagram's payload (probes unstamped)
    /// into `buf`, which holds [`GsoTemplate::max_frame_len`] bytes.
    pub fn write(&self, buf: &mut [u8], k: usize) {
        self.write_headers(buf, k);
        for datagram in buf[PAYLOAD_OFFSET..self.max_frame_len()].chunks_mut(self.size) {
            datagram.copy_from_slice(&self.payload);
        }
    }

    /// Writes the Ethernet, IPv4 and UDP headers of a super-packet of `k` datagrams: the
    /// lengths cover all of them, the IPv4 checksum is complete, the UDP checksum holds the
    /// pseudo-header's sum for the kernel to complete.
    pub fn write_headers(&self, buf: &mut [u8], k: usize) {
        let udp_len = UDP_HEADER_LEN + k * self.size;
        let mut eth = ethernet::Frame::new_checked(&mut buf[..]).expect("buffer holds headers");
        eth.set_header(
            self.flow.dst_mac,
            self.flow.src_mac,
            ethernet::ETHERTYPE_IPV4,
        );
        ipv4::Repr {
            src: self.flow.src_ip,
            dst: self.flow.dst_ip,
            protocol: ipv4::PROTOCOL_UDP,
            payload_len: udp_len,
            ttl: 64,
        }
        .emit(eth.payload_mut());
        udp::Datagram::new_checked(&mut buf[frame_offset::UDP..])
            .expect("buffer holds headers")
            .set_header(self.flow.src_port, self.flow.dst_port, udp_len);
        let seed = checksum::fold(udp::pseudo_header_sum(
            self.flow.src_ip,
            self.flow.dst_ip,
            udp_len,
        ));
        buf[UDP_CHECKSUM_OFFSET..UDP_CHECKSUM_OFFSET + 2].copy_from_slice(&seed.to_be_bytes());
    }

    /// Stamps datagram `i` of a written super-packet: its probe's sequence number and time.
    pub fn stamp(&self, buf: &mut [u8], i: usize, seq: u64, sent_ns: u64) {
        probe::stamp(&mut buf[PAYLOAD_OFFSET + i * self.size..], seq, sent_ns);
    }

    /// The `virtio_net_hdr` of a super-packet of `k` datagrams.
    pub fn vnet_hdr(&self, k: usize) -> super::VnetHdr {
        super::VnetHdr::udp_gso(self.frame_len(k), frame_offset::UDP, self.size)
    }
}

/// The test flow and frames the unit tests of every module that reads frames share.
#[cfg(test)]
pub(crate) mod fixture {
    use super::{Flow, FrameTemplate};
    use std::net::Ipv4Addr;

    /// 10.77.0.1:9001 -> 10.77.0.2:9000, locally administered MACs.
    pub fn flow() -> Flow {
        Flow {
            src_mac: [0x02, 0, 0, 0, 0, 1],
            dst_mac: [0x02, 0, 0, 0, 0, 2],
            src_ip: Ipv4Addr::new(10, 77, 0, 1),
            dst_ip: Ipv4Addr::new(10, 77, 0, 2),
            src_port: 9001,
            dst_port: 9000,
        }
    }

    /// A frame of the test flow with a `size`-byte payload, its probe carrying `run_id`,
    /// sequence number `seq` and send time `sent_ns`.
    pub fn frame(size: usize, run_id: u32, seq: u64, sent_ns: u64) -> Vec<u8> {
        let t = FrameTemplate::new(&flow(), size, 1500, run_id).expect("a valid test size");
        let mut f = vec![0u8; t.len()];
        t.write(&mut f, seq, sent_ns);
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    use super::fixture::flow;

    #[test]
    fn frames_parse_back_with_both_checksums_valid() {
        for size in [PROBE_LEN, 64, 65, 128, 1024, 1472] {
            let t = FrameTemplate::new(&flow(), size, 1500, 42).unwrap();
            assert_eq!(t.len(), size + FRAME_OVERHEAD);
            for (seq, ts) in [
                (0u64, 0u64),
                (1, 1_763_000_000_000_000_001),
                (u64::MAX, u64::MAX),
            ] {
                let mut buf = vec![0xaa; 2048];
                t.write(&mut buf, seq, ts);
                let frame = &buf[..t.len()];
                let p = SlicedPacket::from_ethernet(frame).expect("parses");
                let Some(NetSlice::Ipv4(ip)) = &p.net else {
                    panic!("not IPv4")
                };
                let h = ip.header().to_header();
                assert_eq!(h.header_checksum, h.calc_header_checksum(), "IPv4 checksum");
                assert!(h.dont_fragment);
                assert_eq!(h.time_to_live, 64);
                let Some(TransportSlice::Udp(udp)) = &p.transport else {
                    panic!("not UDP")
                };
                let uh = udp.to_header();
                let want = uh.calc_checksum_ipv4(&h, udp.payload()).unwrap();
                assert_eq!(uh.checksum, want, "UDP checksum, size {size} seq {seq}");
                assert_eq!(uh.destination_port, 9000);
                let probe = Probe::parse(udp.payload()).unwrap();
                assert_eq!((probe.run_id, probe.seq, probe.sent_ns), (42, seq, ts));
            }
        }
    }

    #[test]
    fn stamping_a_reused_slot_keeps_the_checksum_valid() {
        let t = FrameTemplate::new(&flow(), 64, 1500, 7).unwrap();
        let mut buf = vec![0u8; 256];
        t.write(&mut buf, 5, 500);
        t.stamp(&mut buf, 6, 600);
        let p = SlicedPacket::from_ethernet(&buf[..t.len()]).unwrap();
        let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Udp(udp))) = (&p.net, &p.transport)
        else {
            panic!("not IPv4/UDP")
        };
        let h = ip.header().to_header();
        let uh = udp.to_header();
        assert_eq!(
            uh.checksum,
            uh.calc_checksum_ipv4(&h, udp.payload()).unwrap()
        );
        assert_eq!(Probe::parse(udp.payload()).unwrap().seq, 6);
    }

    #[test]
    fn sizes_outside_probe_and_mtu_are_refused() {
        assert_eq!(
            FrameTemplate::new(&flow(), 23, 1500, 0).unwrap_err(),
            SizeError {
                size: 23,
                min: 24,
                max: 1472
            }
        );
        let e = FrameTemplate::new(&flow(), 1473, 1500, 0).unwrap_err();
        assert_eq!(e.max, 1472);
        assert!(e.to_string().contains("does not fit the MTU"), "{e}");
        assert!(FrameTemplate::new(&flow(), 1472, 1500, 0).is_ok());
    }

    #[test]
    fn a_gso_super_packet_splits_into_the_frames_the_template_builds() {
        let (size, k) = (64, 5);
        let t = GsoTemplate::new(&flow(), size, 8, 1500, 42).unwrap();
        let mut buf = vec![0xaa; t.max_frame_len()];
        t.write(&mut buf, 8);
        t.write_headers(&mut buf, k);
        for i in 0..k {
            t.stamp(&mut buf, i, 100 + i as u64, 7);
        }
        let super_frame = &buf[..t.frame_len(k)];
        // What the kernel's segmentation makes of it: the headers with one datagram's
        // lengths, and each segment's payload.
        let one = FrameTemplate::new(&flow(), size, 1500, 42).unwrap();
        for i in 0..k {
            let mut expect = vec![0u8; one.len()];
            one.write(&mut expect, 100 + i as u64, 7);
            let at = PAYLOAD_OFFSET + i * size;
            assert_eq!(
                &super_frame[at..at + size],
                &expect[PAYLOAD_OFFSET..],
                "segment {i}"
            );
        }
        let p = SlicedPacket::from_ethernet(super_frame).expect("parses");
        let Some(NetSlice::Ipv4(ip)) = &p.net else {
            panic!("not IPv4")
        };
        let h = ip.header().to_header();
        assert_eq!(h.header_checksum, h.calc_header_checksum());
        assert_eq!(usize::from(h.total_len), 28 + k * size);
        // The seed is the pseudo-header sum over the whole UDP length, not complemented.
        let seed = u16::from_be_bytes([super_frame[40], super_frame[41]]);
        let udp_len = 8 + k * size;
        assert_eq!(
            seed,
            checksum::fold(udp::pseudo_header_sum(
                flow().src_ip,
                flow().dst_ip,
                udp_len
            ))
        );
        let v = t.vnet_hdr(k);
        assert_eq!((v.gso_size, v.csum_start, v.csum_offset), (64, 34, 6));
        assert!(
            GsoTemplate::new(&flow(), 1472, 45, 1500, 1).is_err(),
            "over 64 KiB"
        );
        assert!(
            GsoTemplate::new(&flow(), 1473, 2, 1500, 1).is_err(),
            "over the MTU"
        );
    }
}
