//! Arbitrary bytes as a datagram of the kernel's netlink dumps that pktmmap reads: the
//! neighbour table (how mmap-tx and xdp-tx find an IPv6 neighbour's MAC) and the packet
//! sockets' `sock_diag` (the drops of Open vSwitch's userspace datapath) and the links'
//! `RTM_GETLINK` (the interfaces' transmit drops). A MAC, a drop count,
//! nothing, or an error, never a panic; a MAC found is one the bytes hold, and no more drops
//! than the 32-bit counters of the messages in the datagram could hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::net::{parse_link_message, parse_neighbour_message, parse_packet_diag_message};
use std::net::Ipv6Addr;

fuzz_target!(|data: &[u8]| {
    let ip: Ipv6Addr = "fd00:77:1::2".parse().unwrap();
    if let Ok(scan) = parse_neighbour_message(data, ip, 7) {
        if let Some(mac) = scan.mac {
            assert!(data.windows(6).any(|w| w == mac), "{mac:?} not in the bytes");
            assert!(data.windows(16).any(|w| w == ip.octets()), "the address is in the bytes");
        }
    }
    if let Ok(scan) = parse_packet_diag_message(data, &[7, 8]) {
        // Each socket message is at least 16 + 8 + 40 bytes long and adds one u32.
        let most = (data.len() / 64) as u64 * u64::from(u32::MAX);
        assert!(scan.drops <= most, "{} drops from {} bytes", scan.drops, data.len());
    }
    if let Ok(scan) = parse_link_message(data) {
        // Each link read is a message of at least 16 + 16 + 4 (a name) + 4 + 64 bytes.
        assert!(scan.links.len() <= data.len() / 104, "{} links", scan.links.len());
        for l in &scan.links {
            assert!(data.windows(8).any(|w| w == l.tx_dropped.to_ne_bytes()));
        }
    }
});
