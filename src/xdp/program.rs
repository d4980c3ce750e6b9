//! The XDP program xdp-rx needs: UDP to the test port over IPv4 (whole datagrams and first
//! fragments) or IPv6 (UDP right after the fixed header) — the same match as the RX ring's
//! classic BPF filter — is redirected into the XSKMAP slot of the queue it arrived on;
//! everything else passes to the stack.
//!
//! Thirty-nine hand-assembled eBPF instructions loaded with `bpf(2)` rather than a compiled object
//! through aya or libbpf-rs: no clang or bpf-linker in the build, no C library to link into
//! the static FROM-scratch image, and a program small enough to read whole (below) and to
//! check instruction by instruction in a unit test. It is attached with a `bpf_link`, so it
//! goes away when the process ends, SIGKILL included, and the kernel refuses the link rather
//! than replace a program someone else attached.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use crate::sys::{self, BpfInsn, SysError};
use crate::wire::header::ethernet::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use crate::wire::header::frame_offset as fo;
use crate::wire::header::ipv4::{self, OFFSET_MASK, PROTOCOL_UDP};
use crate::wire::header::udp;

/// XDP attach modes (`XDP_FLAGS_DRV_MODE`, `XDP_FLAGS_SKB_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XdpMode {
    /// Native where the driver supports it, else generic (with a note).
    #[default]
    Auto,
    /// In the driver, before an skb exists (veth supports it).
    Native,
    /// On the skb, after the driver (works on any interface; slower).
    Generic,
}

const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
/// `BPF_PSEUDO_MAP_FD`: the immediate of a 64-bit load is a map fd.
const PSEUDO_MAP_FD: u8 = 1;
/// `bpf_redirect_map` helper number.
const REDIRECT_MAP: i32 = 51;
const XDP_PASS: i32 = 2;

// Opcodes (`linux/bpf_common.h`, `linux/bpf.h`).
const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const LDX_H: u8 = 0x69; // BPF_LDX | BPF_MEM | BPF_H
const LDX_B: u8 = 0x71; // BPF_LDX | BPF_MEM | BPF_B
const LD_DW_IMM: u8 = 0x18; // BPF_LD | BPF_DW | BPF_IMM
const MOV64_X: u8 = 0xbf;
const MOV64_K: u8 = 0xb7;
const ADD64_K: u8 = 0x07;
const ADD64_X: u8 = 0x0f;
const AND64_K: u8 = 0x57;
const LSH64_K: u8 = 0x67;
const JGT_X: u8 = 0x2d;
const JNE_K: u8 = 0x55;
const JEQ_K: u8 = 0x15;
const JA: u8 = 0x05;
const JLT_K: u8 = 0xa5;
const JSET_K: u8 = 0x45;
const CALL: u8 = 0x85;
const EXIT: u8 = 0x95;

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
    BpfInsn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// A frame offset as an instruction's 16-bit offset field.
const fn off(frame_offset: usize) -> i16 {
    frame_offset as i16
}

/// A frame offset or length as an instruction's immediate.
const fn imm(n: usize) -> i32 {
    n as i32
}

/// A 16-bit field's value as the little-endian register holds it after a network-order load.
const fn net16(v: u16) -> i32 {
    v.swap_bytes() as i32
}

/// Where the IPv6 branch starts.
const V6: i16 = 24;
/// Where the redirect into the XSKMAP starts.
const REDIRECT: i16 = 31;
/// Where the two `PASS` instructions are.
const PASS: i16 = 37;

/// The offset of a jump at `at` to `target`.
const fn to(at: i16, target: i16) -> i16 {
    target - at - 1
}

/// The program, for the XSKMAP `map_fd` and UDP destination `port`.
///
/// Registers: r1 the `xdp_md` context, r6 a copy of it, r2 `data`, r3 `data_end`. Multi-byte
/// packet fields are loaded in network order into a little-endian register, so constants
/// are byte-swapped (`0x0008` is ethertype 0x0800). Every jump lands on the IPv6 branch
/// (`V6`), the redirect (`REDIRECT`) or the two `PASS` instructions at the end.
pub fn instructions(map_fd: i32, port: u16) -> Vec<BpfInsn> {
    let udp_end_v6 = fo::UDP_AFTER_IPV6 + udp::HEADER_LEN;
    vec![
        insn(MOV64_X, 6, 1, 0, 0),                                // 0: r6 = ctx
        insn(LDX_W, 2, 1, 0, 0),                                  // 1: r2 = data
        insn(LDX_W, 3, 1, 4, 0),                                  // 2: r3 = data_end
        insn(MOV64_X, 4, 2, 0, 0),                                // 3: r4 = data
        insn(ADD64_K, 4, 0, 0, imm(fo::UDP)),                     // 4: r4 += eth + min IPv4
        insn(JGT_X, 4, 3, to(5, PASS), 0),                        // 5: too short: pass
        insn(LDX_H, 5, 2, off(fo::ETHERTYPE), 0),                 // 6: r5 = ethertype
        insn(JEQ_K, 5, 0, to(7, V6), net16(ETHERTYPE_IPV6)),      // 7: IPv6: its branch
        insn(JNE_K, 5, 0, to(8, PASS), net16(ETHERTYPE_IPV4)),    // 8: not IPv4: pass
        insn(LDX_B, 5, 2, off(fo::IPV4_PROTOCOL), 0),             // 9: r5 = IP protocol
        insn(JNE_K, 5, 0, to(10, PASS), i32::from(PROTOCOL_UDP)), // 10: not UDP: pass
        insn(LDX_H, 5, 2, off(fo::IPV4_FLAGS_FRAGMENT), 0),       // 11: r5 = flags, offset
        insn(JSET_K, 5, 0, to(12, PASS), net16(OFFSET_MASK)),     // 12: later fragment: pass
        insn(LDX_B, 5, 2, off(fo::IPV4), 0),                      // 13: r5 = version, IHL
        insn(AND64_K, 5, 0, 0, 0x0f),                             // 14: r5 = IHL
        insn(LSH64_K, 5, 0, 0, 2),                                // 15: r5 = header bytes
        insn(JLT_K, 5, 0, to(16, PASS), imm(ipv4::HEADER_LEN)),   // 16: IHL < 5: pass
        insn(ADD64_X, 2, 5, 0, 0),                                // 17: r2 = data + IHL*4
        insn(MOV64_X, 4, 2, 0, 0),                                // 18: r4 = r2
        insn(ADD64_K, 4, 0, 0, imm(fo::IPV4 + udp::HEADER_LEN)),  // 19: r4 = end of UDP hdr
        insn(JGT_X, 4, 3, to(20, PASS), 0),                       // 20: too short: pass
        insn(LDX_H, 5, 2, off(fo::UDP_DST_PORT_AFTER_IPV4), 0),   // 21: r5 = UDP dest port
        insn(JNE_K, 5, 0, to(22, PASS), net16(port)),             // 22: other port: pass
        insn(JA, 0, 0, to(23, REDIRECT), 0),                      // 23: ours: redirect
        insn(MOV64_X, 4, 2, 0, 0),                                // 24 (V6): r4 = data
        insn(ADD64_K, 4, 0, 0, imm(udp_end_v6)),                  // 25: r4 = end of UDP hdr
        insn(JGT_X, 4, 3, to(26, PASS), 0),                       // 26: too short: pass
        insn(LDX_B, 5, 2, off(fo::IPV6_NEXT_HEADER), 0),          // 27: r5 = next header
        insn(JNE_K, 5, 0, to(28, PASS), i32::from(PROTOCOL_UDP)), // 28: not UDP: pass
        insn(LDX_H, 5, 2, off(fo::UDP_DST_PORT_AFTER_IPV6), 0),   // 29: r5 = UDP dest port
        insn(JNE_K, 5, 0, to(30, PASS), net16(port)),             // 30: other port: pass
        insn(LDX_W, 2, 6, 16, 0), // 31 (REDIRECT): r2 = rx_queue_index
        insn(LD_DW_IMM, 1, PSEUDO_MAP_FD, 0, map_fd), // 32: r1 = the XSKMAP
        insn(0, 0, 0, 0, 0),      // 33: (second half)
        insn(MOV64_K, 3, 0, 0, XDP_PASS), // 34: no socket: pass
        insn(CALL, 0, 0, 0, REDIRECT_MAP), // 35: redirect into it
        insn(EXIT, 0, 0, 0, 0),   // 36: return its verdict
        insn(MOV64_K, 0, 0, 0, XDP_PASS), // 37 (PASS): r0 = XDP_PASS
        insn(EXIT, 0, 0, 0, 0),   // 38
    ]
}

/// Why the program could not be attached.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// Another XDP program is attached to the interface; it is never replaced.
    #[error("another XDP program is already attached to {interface} ({source}); pktmmap never replaces it: detach it first (ip link set dev {interface} xdp off) or use another interface")]
    Busy {
        /// The interface.
        interface: String,
        /// The kernel's answer.
        source: SysError,
    },
    /// The verifier refused the program (its log's last lines).
    #[error("the kernel's verifier refused the XDP program: {0}")]
    Verifier(String),
    /// Creating the map, loading, attaching or registering failed.
    #[error(transparent)]
    Sys(#[from] SysError),
}

/// The loaded program, its XSKMAP and the link that keeps it attached; detached when dropped
/// (or when the process ends, however it ends).
#[derive(Debug)]
pub struct XdpProgram {
    // Field order: the link goes first, detaching the program, then the program and the map.
    _link: OwnedFd,
    _prog: OwnedFd,
    map: OwnedFd,
    mode: XdpMode,
}

/// The name the program and its map carry in `bpftool prog` / `bpftool map`.
pub const PROGRAM_NAME: &str = "pktmmap_xsk";

impl XdpProgram {
    /// Loads the program for `port` and attaches it to `interface` (index `ifindex`) in
    /// `mode`; `Auto` tries native, then generic. The XSKMAP has `queues` slots.
    pub fn attach(
        interface: &str,
        ifindex: u32,
        port: u16,
        mode: XdpMode,
        queues: u32,
    ) -> Result<Self, AttachError> {
        let map = sys::bpf_xskmap_create(PROGRAM_NAME, queues.max(1))?;
        let insns = instructions(map.as_raw_fd(), port);
        let license: &CStr = c"Dual MIT/GPL";
        let mut log = vec![0u8; 64 * 1024];
        let prog = match sys::bpf_xdp_prog_load(PROGRAM_NAME, &insns, license, &mut log) {
            Ok(p) => p,
            Err(e)
                if e.raw_os_error() == Some(libc::EACCES)
                    || e.raw_os_error() == Some(libc::EINVAL) =>
            {
                let text = String::from_utf8_lossy(&log);
                let text = text.trim_end_matches('\0').trim();
                let tail: Vec<&str> = text.lines().rev().take(3).collect();
                if tail.is_empty() {
                    return Err(e.into());
                }
                return Err(AttachError::Verifier(
                    tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let busy =
            |e: &SysError| matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::EEXIST));
        let attach = |flags| sys::bpf_xdp_link_create(prog.as_fd(), ifindex, flags);
        let (link, mode) = match mode {
            XdpMode::Native => (attach(XDP_FLAGS_DRV_MODE), XdpMode::Native),
            XdpMode::Generic => (attach(XDP_FLAGS_SKB_MODE), XdpMode::Generic),
            XdpMode::Auto => match attach(XDP_FLAGS_DRV_MODE) {
                Err(e) if !busy(&e) => (attach(XDP_FLAGS_SKB_MODE), XdpMode::Generic),
                other => (other, XdpMode::Native),
            },
        };
        let link = link.map_err(|source| {
            if busy(&source) {
                AttachError::Busy {
                    interface: interface.to_string(),
                    source,
                }
            } else {
                AttachError::Sys(source)
            }
        })?;
        Ok(Self {
            _link: link,
            _prog: prog,
            map,
            mode,
        })
    }

    /// The mode it runs in (`Native` or `Generic`).
    pub fn mode(&self) -> XdpMode {
        self.mode
    }

    /// Directs the test flow arriving on `queue` into the socket `xsk`.
    pub fn register(&self, queue: u32, xsk: BorrowedFd<'_>) -> Result<(), SysError> {
        sys::bpf_map_update_u32(self.map.as_fd(), queue, xsk.as_raw_fd() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the program did with a frame: redirected it into the XSKMAP (map fd, queue),
    /// or passed it to the stack.
    #[derive(Debug, PartialEq, Eq)]
    enum Verdict {
        Redirect { map: i32, queue: u32 },
        Pass,
    }

    /// Runs the program over `frame` arriving on `queue`: an interpreter of exactly the
    /// opcodes it uses, which fails the test on any packet access outside the frame (what
    /// the verifier would refuse), so the bounds checks are tested too.
    fn run(p: &[BpfInsn], frame: &[u8], queue: u32) -> Verdict {
        const CTX: u64 = 0x100;
        const DATA: u64 = 0x1000;
        let mut r = [0u64; 11];
        r[1] = CTX;
        let end = DATA + frame.len() as u64;
        let load = |addr: u64, size: usize| -> u64 {
            if (CTX..CTX + 24).contains(&addr) {
                return match addr - CTX {
                    0 => DATA,
                    4 => end,
                    16 => u64::from(queue),
                    other => panic!("context field {other}"),
                };
            }
            let at = usize::try_from(addr - DATA).expect("a packet address");
            let b = frame
                .get(at..at + size)
                .unwrap_or_else(|| panic!("read {size} B at {at} of a {} B frame", frame.len()));
            let mut v = [0u8; 8];
            v[..size].copy_from_slice(b);
            u64::from_le_bytes(v)
        };
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (dst, src) = (usize::from(i.regs & 0xf), usize::from(i.regs >> 4));
            let target = (pc as i64 + 1 + i64::from(i.off)) as usize;
            pc += 1;
            let jump = |c: bool| if c { target } else { pc };
            match i.code {
                MOV64_X => r[dst] = r[src],
                MOV64_K => r[dst] = i.imm as u64,
                ADD64_K => r[dst] = r[dst].wrapping_add(i.imm as u64),
                ADD64_X => r[dst] = r[dst].wrapping_add(r[src]),
                AND64_K => r[dst] &= i.imm as u64,
                LSH64_K => r[dst] <<= i.imm,
                LDX_W => r[dst] = load(r[src] + i.off as u64, 4),
                LDX_H => r[dst] = load(r[src] + i.off as u64, 2),
                LDX_B => r[dst] = load(r[src] + i.off as u64, 1),
                LD_DW_IMM => {
                    r[dst] = i.imm as u64;
                    pc += 1;
                }
                JGT_X => pc = jump(r[dst] > r[src]),
                JEQ_K => pc = jump(r[dst] == i.imm as u64),
                JNE_K => pc = jump(r[dst] != i.imm as u64),
                JLT_K => pc = jump(r[dst] < i.imm as u64),
                JSET_K => pc = jump(r[dst] & i.imm as u64 != 0),
                JA => pc = target,
                CALL => {
                    assert_eq!(i.imm, REDIRECT_MAP);
                    return Verdict::Redirect {
                        map: r[1] as i32,
                        queue: r[2] as u32,
                    };
                }
                EXIT => {
                    assert_eq!(r[0], XDP_PASS as u64);
                    return Verdict::Pass;
                }
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn redirects_udp_to_the_port_over_either_family_and_passes_the_rest() {
        use crate::wire::frame::fixture::{frame, frame6};
        let p = instructions(7, 9000);
        let ours = Verdict::Redirect { map: 7, queue: 3 };
        assert_eq!(run(&p, &frame(64, 1, 2, 3), 3), ours, "IPv4");
        assert_eq!(run(&p, &frame6(64, 1, 2, 3), 3), ours, "IPv6");
        let other_port = instructions(7, 9001);
        assert_eq!(run(&other_port, &frame(64, 1, 2, 3), 0), Verdict::Pass);
        assert_eq!(run(&other_port, &frame6(64, 1, 2, 3), 0), Verdict::Pass);
        // IPv4: options move the UDP header; a first fragment is ours, a later one is not.
        let f = frame(64, 1, 2, 3);
        let mut opts = f[..34].to_vec();
        opts.extend_from_slice(&[1, 1, 1, 1]);
        opts.extend_from_slice(&f[34..]);
        opts[14] = 0x46;
        assert_eq!(run(&p, &opts, 0), Verdict::Redirect { map: 7, queue: 0 });
        let mut first = frame(64, 1, 2, 3);
        first[20] = 0x20; // more fragments, offset 0
        assert_eq!(run(&p, &first, 0), Verdict::Redirect { map: 7, queue: 0 });
        let mut later = frame(64, 1, 2, 3);
        later[21] = 1; // offset 8
        assert_eq!(run(&p, &later, 0), Verdict::Pass);
        let mut tcp = frame(64, 1, 2, 3);
        tcp[23] = 6;
        assert_eq!(run(&p, &tcp, 0), Verdict::Pass);
        let mut ihl4 = frame(64, 1, 2, 3);
        ihl4[14] = 0x44;
        assert_eq!(run(&p, &ihl4, 0), Verdict::Pass);
        let mut arp = frame(64, 1, 2, 3);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(run(&p, &arp, 0), Verdict::Pass);
        // IPv6: an extension header or fragment header first, or a frame too short.
        for next_header in [0u8, 43, 44, 60, 6] {
            let mut g = frame6(64, 1, 2, 3);
            g[20] = next_header;
            assert_eq!(run(&p, &g, 0), Verdict::Pass, "next header {next_header}");
        }
        // Every prefix of either frame: no read past its end, and never redirected short.
        for f in [frame(64, 1, 2, 3), frame6(64, 1, 2, 3)] {
            let udp_end = if f[12] == 0x86 { 62 } else { 42 };
            for n in 0..udp_end {
                assert_eq!(run(&p, &f[..n], 0), Verdict::Pass, "{n} B");
            }
        }
    }
}
