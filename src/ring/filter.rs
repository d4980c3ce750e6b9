//! Classic BPF programs for the RX ring, so only the test flow enters it.

use crate::wire::header::ethernet::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use crate::wire::header::frame_offset as fo;
use crate::wire::header::ipv4::{OFFSET_MASK, PROTOCOL_UDP};

/// `BPF_LD | BPF_H | BPF_ABS`: A = u16 at absolute offset k.
const LDH_ABS: u16 = 0x28;
/// `BPF_LD | BPF_B | BPF_ABS`: A = u8 at absolute offset k.
const LDB_ABS: u16 = 0x30;
/// `BPF_LD | BPF_H | BPF_IND`: A = u16 at offset X + k.
const LDH_IND: u16 = 0x48;
/// `BPF_LDX | BPF_B | BPF_MSH`: X = 4 * (u8 at k & 0xf), the IPv4 header length.
const LDXB_MSH: u16 = 0xb1;
/// `BPF_JMP | BPF_JEQ | BPF_K`.
const JEQ: u16 = 0x15;
/// `BPF_JMP | BPF_JSET | BPF_K`.
const JSET: u16 = 0x45;
/// `BPF_RET | BPF_K`.
const RET: u16 = 0x06;

/// A frame offset as an instruction's `k`.
const fn k(frame_offset: usize) -> u32 {
    frame_offset as u32
}

const fn op(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// A program accepting UDP datagrams to `port` over IPv4 (first fragments and unfragmented
/// ones) or IPv6 (UDP right after the fixed header), the equivalent of tcpdump's `(ip or
/// ip6) and udp dst port PORT` without IPv6 extension headers. Everything else is dropped in
/// the kernel before it reaches the ring, and is not counted anywhere.
pub fn udp_dst_port(port: u16) -> Vec<libc::sock_filter> {
    // Where the branches land, and the offset of a jump from instruction `at` to `target`.
    const V6: u8 = 10;
    const ACCEPT: u8 = 14;
    const DROP: u8 = 15;
    const fn to(at: u8, target: u8) -> u8 {
        target - at - 1
    }
    vec![
        op(LDH_ABS, 0, 0, k(fo::ETHERTYPE)),          // 0: A = ethertype
        op(JEQ, to(1, V6), 0, ETHERTYPE_IPV6 as u32), // 1: IPv6?
        op(JEQ, 0, to(2, DROP), ETHERTYPE_IPV4 as u32), // 2: IPv4? else drop
        op(LDB_ABS, 0, 0, k(fo::IPV4_PROTOCOL)),      // 3: A = IP protocol
        op(JEQ, 0, to(4, DROP), PROTOCOL_UDP as u32), // 4: UDP? else drop
        op(LDH_ABS, 0, 0, k(fo::IPV4_FLAGS_FRAGMENT)), // 5: A = flags + fragment offset
        op(JSET, to(6, DROP), 0, OFFSET_MASK as u32), // 6: a later fragment? drop
        op(LDXB_MSH, 0, 0, k(fo::IPV4)),              // 7: X = IP header length
        op(LDH_IND, 0, 0, k(fo::UDP_DST_PORT_AFTER_IPV4)), // 8: A = UDP destination port
        op(JEQ, to(9, ACCEPT), to(9, DROP), u32::from(port)), // 9: our port?
        op(LDB_ABS, 0, 0, k(fo::IPV6_NEXT_HEADER)),   // 10 (V6): A = next header
        op(JEQ, 0, to(11, DROP), PROTOCOL_UDP as u32), // 11: UDP? else drop
        op(LDH_ABS, 0, 0, k(fo::UDP_DST_PORT_AFTER_IPV6)), // 12: A = UDP destination port
        op(JEQ, to(13, ACCEPT), to(13, DROP), u32::from(port)), // 13: our port?
        op(RET, 0, 0, 0x0004_0000),                   // 14 (ACCEPT): the whole frame
        op(RET, 0, 0, 0),                             // 15 (DROP)
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter for exactly the opcodes above, to test the program's logic.
    fn run(prog: &[libc::sock_filter], pkt: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let ld16 = |at: usize| {
            pkt.get(at..at + 2)
                .map(|b| u32::from(u16::from_be_bytes([b[0], b[1]])))
        };
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LDH_ABS => match ld16(i.k as usize) {
                    Some(v) => a = v,
                    None => return 0,
                },
                LDB_ABS => match pkt.get(i.k as usize) {
                    Some(&v) => a = u32::from(v),
                    None => return 0,
                },
                LDH_IND => match ld16((x + i.k) as usize) {
                    Some(v) => a = v,
                    None => return 0,
                },
                LDXB_MSH => match pkt.get(i.k as usize) {
                    Some(&v) => x = 4 * u32::from(v & 0xf),
                    None => return 0,
                },
                JEQ => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                JSET => pc += usize::from(if a & i.k != 0 { i.jt } else { i.jf }),
                RET => return i.k,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    fn frame(ethertype: u16, proto: u8, frag: u16, ihl: u8, dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14 + usize::from(ihl) * 4 + 8];
        f[12..14].copy_from_slice(&ethertype.to_be_bytes());
        f[14] = 0x40 | ihl;
        f[14 + 6..14 + 8].copy_from_slice(&frag.to_be_bytes());
        f[14 + 9] = proto;
        let udp = 14 + usize::from(ihl) * 4;
        f[udp + 2..udp + 4].copy_from_slice(&dport.to_be_bytes());
        f
    }

    #[test]
    fn admits_only_udp_to_the_port() {
        let p = udp_dst_port(9000);
        assert_ne!(
            run(&p, &frame(0x0800, 17, 0x4000, 5, 9000)),
            0,
            "DF, no options"
        );
        assert_ne!(
            run(&p, &frame(0x0800, 17, 0x2000, 6, 9000)),
            0,
            "first fragment with options"
        );
        assert_eq!(run(&p, &frame(0x0800, 17, 0, 5, 9001)), 0, "other port");
        assert_eq!(run(&p, &frame(0x0800, 6, 0, 5, 9000)), 0, "TCP");
        assert_eq!(run(&p, &frame(0x0806, 17, 0, 5, 9000)), 0, "ARP");
        assert_eq!(
            run(&p, &frame(0x0800, 17, 0x0001, 5, 9000)),
            0,
            "later fragment"
        );
        assert_eq!(run(&p, &[0u8; 20]), 0, "truncated");
        // IPv6: next header UDP and our port, from the frame builder itself.
        use crate::wire::frame::fixture;
        assert_ne!(run(&p, &fixture::frame6(64, 1, 2, 3)), 0, "IPv6 UDP");
        assert_ne!(run(&p, &fixture::frame(64, 1, 2, 3)), 0, "IPv4 UDP");
        let mut f = fixture::frame6(64, 1, 2, 3);
        f[54 + 2..54 + 4].copy_from_slice(&9001u16.to_be_bytes());
        assert_eq!(run(&p, &f), 0, "IPv6, other port");
        for next_header in [0u8, 6, 44, 58, 60] {
            let mut f = fixture::frame6(64, 1, 2, 3);
            f[20] = next_header;
            assert_eq!(run(&p, &f), 0, "IPv6 next header {next_header}");
        }
        assert_eq!(
            run(&p, &fixture::frame6(64, 1, 2, 3)[..55]),
            0,
            "truncated IPv6"
        );
    }
}
