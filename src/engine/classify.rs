//! From captured bytes to accounting: every frame of a TPACKET_V3 block is counted as a
//! datagram (a GSO super-packet as each of its segments) or ignored for a stated reason.
//! Untrusted input throughout; fuzzed.

use crate::ring::BlockView;
use crate::stats::RxAccounting;
use crate::wire::vnet::{self, Segmentation, VnetHdr};
use crate::wire::{parse_udp, IgnoreReason};

/// Accounts one frame the kernel captured: `data` as captured, `wire_len` its length on the
/// wire, `status` the ring's `tp_status` bits and `timestamp_ns` the kernel's receive time.
/// The frame is one datagram.
pub fn account_frame(
    data: &[u8],
    wire_len: u32,
    status: u32,
    timestamp_ns: u64,
    port: u16,
    acct: &mut RxAccounting,
) {
    account_segmented(data, wire_len, status, timestamp_ns, None, port, acct)
}

/// Like [`account_frame`] for a frame with its `virtio_net_hdr` (`vnet`, from a ring with
/// `PACKET_VNET_HDR`; `None` if too short to hold one): a UDP GSO super-packet is counted
/// as each of its segments, every one with its probe and the frame's timestamp; a
/// segmentation that cannot be split is ignored as `bad_gso`.
pub fn account_frame_with_vnet(
    data: &[u8],
    wire_len: u32,
    status: u32,
    timestamp_ns: u64,
    vnet: Option<VnetHdr>,
    port: u16,
    acct: &mut RxAccounting,
) {
    // A header that leaves the checksum to be completed says what TP_STATUS_CSUMNOTREADY
    // says: the frame's own UDP checksum is partial.
    let status = match vnet {
        Some(h) if h.needs_csum() => status | libc::TP_STATUS_CSUMNOTREADY,
        _ => status,
    };
    match vnet.map(VnetHdr::segmentation) {
        None | Some(Segmentation::Unsupported) => acct.on_ignored(IgnoreReason::BadGso),
        Some(Segmentation::None) => {
            account_segmented(data, wire_len, status, timestamp_ns, None, port, acct)
        }
        Some(Segmentation::Udp(size)) => {
            account_segmented(data, wire_len, status, timestamp_ns, Some(size), port, acct)
        }
    }
}

fn account_segmented(
    data: &[u8],
    wire_len: u32,
    status: u32,
    timestamp_ns: u64,
    segment: Option<usize>,
    port: u16,
    acct: &mut RxAccounting,
) {
    if (data.len() as u64) < u64::from(wire_len) {
        return acct.on_ignored(IgnoreReason::TruncatedCapture);
    }
    // The kernel moves an 802.1Q tag into metadata before the tap: a frame that arrived
    // tagged is not the untagged test flow of this interface.
    if status & libc::TP_STATUS_VLAN_VALID != 0 {
        return acct.on_ignored(IgnoreReason::VlanTagged);
    }
    // A locally generated packet with checksum offload has no UDP checksum yet
    // (CSUMNOTREADY); one the device verified needs no second look (CSUM_VALID).
    let verify = status & (libc::TP_STATUS_CSUMNOTREADY | libc::TP_STATUS_CSUM_VALID) == 0;
    match parse_udp(data, port, verify) {
        Ok(d) => {
            let from = std::net::SocketAddr::new(d.src_ip, d.src_port);
            match segment {
                Some(size) => {
                    acct.on_segments(d.payload, size, timestamp_ns, Some(from));
                }
                None => {
                    acct.on_datagram_from(d.payload, timestamp_ns, from);
                }
            }
        }
        Err(reason) => acct.on_ignored(reason),
    }
}

/// Accounts every packet of one V3 block (its bytes as the ring lends them; `vnet_hdr` if
/// the ring has `PACKET_VNET_HDR`, so each frame is preceded by its `virtio_net_hdr`); a
/// corrupt block or packet chain is counted once and the rest of the block skipped.
pub fn account_block(block: &[u8], vnet_hdr: bool, port: u16, acct: &mut RxAccounting) {
    let view = match BlockView::parse(block) {
        Ok(v) => v,
        Err(_) => return acct.on_ignored(IgnoreReason::CorruptBlock),
    };
    for packet in view.packets() {
        let Ok(p) = packet else {
            acct.on_ignored(IgnoreReason::CorruptBlock);
            break;
        };
        if vnet_hdr {
            let at = p.lead.len().checked_sub(vnet::LEN);
            let hdr = at.and_then(|at| VnetHdr::parse(&p.lead[at..]));
            account_frame_with_vnet(
                p.data,
                p.wire_len,
                p.status,
                p.timestamp_ns,
                hdr,
                port,
                acct,
            );
        } else {
            account_frame(p.data, p.wire_len, p.status, p.timestamp_ns, port, acct);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::block::synth::block;
    use crate::wire::frame::fixture;

    fn frame(seq: u64) -> Vec<u8> {
        fixture::frame(64, 5, seq, 1)
    }

    #[test]
    fn a_block_of_good_frames_is_counted_in_full() {
        let (a, b) = (frame(0), frame(1));
        let bytes = block(4096, &[&a, &b], 10, 66);
        let mut acct = RxAccounting::new(Some(2), None);
        account_block(&bytes, false, 9000, &mut acct);
        let c = acct.counts();
        assert_eq!((c.received, c.unique, c.lost, c.ignored), (2, 2, 0, 0));
    }

    #[test]
    fn truncated_tagged_and_foreign_frames_are_ignored_by_reason() {
        let f = frame(0);
        let mut acct = RxAccounting::new(None, None);
        account_frame(&f[..50], f.len() as u32, 0, 1, 9000, &mut acct);
        account_frame(
            &f,
            f.len() as u32,
            libc::TP_STATUS_VLAN_VALID,
            1,
            9000,
            &mut acct,
        );
        account_frame(&f, f.len() as u32, 0, 1, 9999, &mut acct);
        let mut bad = f.clone();
        *bad.last_mut().unwrap() ^= 0xff; // breaks the UDP checksum
        account_frame(&bad, bad.len() as u32, 0, 1, 9000, &mut acct);
        // ... unless the kernel says the checksum is not filled in yet.
        account_frame(
            &bad,
            bad.len() as u32,
            libc::TP_STATUS_CSUMNOTREADY,
            1,
            9000,
            &mut acct,
        );
        let c = acct.counts();
        assert_eq!(c.received, 1);
        for reason in [
            "truncated_capture",
            "vlan_tagged",
            "other_port",
            "bad_udp_checksum",
        ] {
            assert_eq!(c.ignored_by_reason.get(reason), Some(&1), "{reason}: {c:?}");
        }
        assert_eq!(c.ignored, 4);
    }

    #[test]
    fn garbage_is_one_corrupt_block() {
        let mut acct = RxAccounting::new(None, None);
        account_block(&[0xffu8; 100], false, 9000, &mut acct);
        assert_eq!(
            acct.counts().ignored_by_reason.get("corrupt_block"),
            Some(&1)
        );
    }

    #[test]
    fn a_gso_super_packet_counts_as_each_of_its_segments() {
        use crate::ring::block::synth::block_with_leads;
        use crate::wire::frame::fixture::flow;
        use crate::wire::GsoTemplate;
        let t = GsoTemplate::new(&flow(), 64, 8, 1500, 5).unwrap();
        let mut big = vec![0u8; t.max_frame_len()];
        t.write(&mut big, 8);
        for i in 0..8 {
            t.stamp(&mut big, i, i as u64, 1);
        }
        let single = frame(8);
        let gso = t.vnet_hdr(8).to_bytes();
        let none = VnetHdr::linear(single.len()).to_bytes();
        let zero = VnetHdr {
            gso_size: 0,
            ..t.vnet_hdr(8)
        }
        .to_bytes();
        let tcp = VnetHdr {
            gso_type: 1,
            ..t.vnet_hdr(8)
        }
        .to_bytes();
        let frames: [(&[u8], &[u8]); 5] = [
            (&big, &gso),
            (&single, &none),
            (&big, &zero),
            (&big, &tcp),
            (&single, &[]), // no room for a header: the mac offset leaves 18 bytes, all zero
        ];
        let bytes = block_with_leads(1 << 16, &frames, 10, 80);
        let mut acct = RxAccounting::new(Some(9), None);
        account_block(&bytes, true, 9000, &mut acct);
        let c = acct.counts();
        // 8 segments and one plain frame: all nine sequence numbers, nothing lost.
        assert_eq!(
            (c.received, c.unique, c.lost, c.gso_frames),
            (10, 9, 0, 1),
            "{c:?}"
        );
        assert_eq!(
            c.duplicates, 1,
            "the last frame, read with an all-zero header"
        );
        assert_eq!(c.ignored_by_reason.get("bad_gso"), Some(&2), "{c:?}");
        assert_eq!(
            c.frame_bytes,
            10 * (64 + 42) as u64,
            "per datagram, as on the wire"
        );
        // Read as if the ring had no header, the super-packets' partial checksums are
        // wrong: the header is what says they are partial.
        let mut plain = RxAccounting::new(Some(9), None);
        account_block(&bytes, false, 9000, &mut plain);
        let p = plain.counts();
        assert_eq!(p.received, 2);
        assert_eq!(p.ignored_by_reason.get("bad_udp_checksum"), Some(&3));
    }
}
