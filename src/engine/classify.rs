//! From captured bytes to accounting: every frame of a TPACKET_V3 block is counted as a
//! datagram or ignored for a stated reason. Untrusted input throughout; fuzzed.

use crate::ring::BlockView;
use crate::stats::RxAccounting;
use crate::wire::{parse_ipv4_udp, IgnoreReason};

/// Accounts one frame the kernel captured: `data` as captured, `wire_len` its length on the
/// wire, `status` the ring's `tp_status` bits and `timestamp_ns` the kernel's receive time.
pub fn account_frame(
    data: &[u8],
    wire_len: u32,
    status: u32,
    timestamp_ns: u64,
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
    match parse_ipv4_udp(data, port, verify) {
        Ok(d) => {
            let from = std::net::SocketAddrV4::new(d.src_ip, d.src_port);
            acct.on_datagram_from(d.payload, timestamp_ns, from);
        }
        Err(reason) => acct.on_ignored(reason),
    }
}

/// Accounts every packet of one V3 block (its bytes as the ring lends them); a corrupt block
/// or packet chain is counted once and the rest of the block skipped.
pub fn account_block(block: &[u8], port: u16, acct: &mut RxAccounting) {
    let view = match BlockView::parse(block) {
        Ok(v) => v,
        Err(_) => return acct.on_ignored(IgnoreReason::CorruptBlock),
    };
    for packet in view.packets() {
        let Ok(p) = packet else {
            acct.on_ignored(IgnoreReason::CorruptBlock);
            break;
        };
        account_frame(p.data, p.wire_len, p.status, p.timestamp_ns, port, acct);
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
        account_block(&bytes, 9000, &mut acct);
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
        account_block(&[0xffu8; 100], 9000, &mut acct);
        assert_eq!(
            acct.counts().ignored_by_reason.get("corrupt_block"),
            Some(&1)
        );
    }
}
