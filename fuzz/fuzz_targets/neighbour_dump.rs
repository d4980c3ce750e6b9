//! Arbitrary bytes as a datagram of the kernel's netlink neighbour dump (how mmap-tx and
//! xdp-tx find an IPv6 neighbour's MAC): a MAC, nothing, or an error, never a panic; a MAC
//! found is one the bytes hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::net::parse_neighbour_message;
use std::net::Ipv6Addr;

fuzz_target!(|data: &[u8]| {
    let ip: Ipv6Addr = "fd00:77:1::2".parse().unwrap();
    if let Ok(scan) = parse_neighbour_message(data, ip, 7) {
        if let Some(mac) = scan.mac {
            assert!(data.windows(6).any(|w| w == mac), "{mac:?} not in the bytes");
            assert!(data.windows(16).any(|w| w == ip.octets()), "the address is in the bytes");
        }
    }
});
