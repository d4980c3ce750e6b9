//! The XDP program xdp-rx needs: IPv4 UDP to the test port (whole datagrams and first
//! fragments — the same match as the RX ring's classic BPF filter) is redirected into the
//! XSKMAP slot of the queue it arrived on; everything else passes to the stack.
//!
//! Thirty hand-assembled eBPF instructions loaded with `bpf(2)` rather than a compiled object
//! through aya or libbpf-rs: no clang or bpf-linker in the build, no C library to link into
//! the static FROM-scratch image, and a program small enough to read whole (below) and to
//! check instruction by instruction in a unit test. It is attached with a `bpf_link`, so it
//! goes away when the process ends, SIGKILL included, and the kernel refuses the link rather
//! than replace a program someone else attached.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use crate::sys::{self, BpfInsn, SysError};
use crate::wire::header::ethernet::ETHERTYPE_IPV4;
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

/// The program, for the XSKMAP `map_fd` and UDP destination `port`.
///
/// Registers: r1 the `xdp_md` context, r6 a copy of it, r2 `data`, r3 `data_end`. Multi-byte
/// packet fields are loaded in network order into a little-endian register, so constants
/// are byte-swapped (`0x0008` is ethertype 0x0800). Each jump lands on the two `PASS`
/// instructions at the end.
pub fn instructions(map_fd: i32, port: u16) -> Vec<BpfInsn> {
    let pass = |at: i16| 28 - at - 1; // offset from the instruction after `at` to PASS (28)
    vec![
        insn(MOV64_X, 6, 1, 0, 0),                               // 0: r6 = ctx
        insn(LDX_W, 2, 1, 0, 0),                                 // 1: r2 = data
        insn(LDX_W, 3, 1, 4, 0),                                 // 2: r3 = data_end
        insn(MOV64_X, 4, 2, 0, 0),                               // 3: r4 = data
        insn(ADD64_K, 4, 0, 0, imm(fo::UDP)),                    // 4: r4 += eth + min IPv4
        insn(JGT_X, 4, 3, pass(5), 0),                           // 5: too short: pass
        insn(LDX_H, 5, 2, off(fo::ETHERTYPE), 0),                // 6: r5 = ethertype
        insn(JNE_K, 5, 0, pass(7), net16(ETHERTYPE_IPV4)),       // 7: not IPv4: pass
        insn(LDX_B, 5, 2, off(fo::IPV4_PROTOCOL), 0),            // 8: r5 = IP protocol
        insn(JNE_K, 5, 0, pass(9), i32::from(PROTOCOL_UDP)),     // 9: not UDP: pass
        insn(LDX_H, 5, 2, off(fo::IPV4_FLAGS_FRAGMENT), 0),      // 10: r5 = flags, offset
        insn(JSET_K, 5, 0, pass(11), net16(OFFSET_MASK)),        // 11: a later fragment: pass
        insn(LDX_B, 5, 2, off(fo::IPV4), 0),                     // 12: r5 = version, IHL
        insn(AND64_K, 5, 0, 0, 0x0f),                            // 13: r5 = IHL
        insn(LSH64_K, 5, 0, 0, 2),                               // 14: r5 = header bytes
        insn(JLT_K, 5, 0, pass(15), imm(ipv4::HEADER_LEN)),      // 15: IHL < 5: pass
        insn(ADD64_X, 2, 5, 0, 0),                               // 16: r2 = data + IHL*4
        insn(MOV64_X, 4, 2, 0, 0),                               // 17: r4 = r2
        insn(ADD64_K, 4, 0, 0, imm(fo::IPV4 + udp::HEADER_LEN)), // 18: r4 = end of UDP header
        insn(JGT_X, 4, 3, pass(19), 0),                          // 19: too short: pass
        insn(LDX_H, 5, 2, off(fo::UDP_DST_PORT_AFTER_IPV4), 0),  // 20: r5 = UDP dest port
        insn(JNE_K, 5, 0, pass(21), net16(port)),                // 21: other port: pass
        insn(LDX_W, 2, 6, 16, 0),                                // 22: r2 = rx_queue_index
        insn(LD_DW_IMM, 1, PSEUDO_MAP_FD, 0, map_fd),            // 23: r1 = the XSKMAP
        insn(0, 0, 0, 0, 0),                                     // 24: (second half)
        insn(MOV64_K, 3, 0, 0, XDP_PASS),                        // 25: no socket: pass
        insn(CALL, 0, 0, 0, REDIRECT_MAP),                       // 26: redirect into it
        insn(EXIT, 0, 0, 0, 0),                                  // 27: return its verdict
        insn(MOV64_K, 0, 0, 0, XDP_PASS),                        // 28: PASS: r0 = XDP_PASS
        insn(EXIT, 0, 0, 0, 0),                                  // 29
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

    #[test]
    fn every_jump_lands_on_pass_and_the_constants_are_in_network_order() {
        let p = instructions(7, 9000);
        assert_eq!(p.len(), 30);
        for (at, i) in p.iter().enumerate() {
            if matches!(i.code, JGT_X | JNE_K | JLT_K | JSET_K) {
                assert_eq!(at as i16 + 1 + i.off, 28, "jump at {at}");
            }
        }
        assert_eq!(p[28], insn(MOV64_K, 0, 0, 0, XDP_PASS));
        // 9000 = 0x2328 on the wire, 0x2823 read little-endian.
        assert_eq!(p[21].imm, 0x2823);
        assert_eq!(
            (p[23].code, p[23].regs >> 4, p[23].imm),
            (LD_DW_IMM, PSEUDO_MAP_FD, 7)
        );
        assert_eq!(p[26].imm, REDIRECT_MAP);
        // The fragment mask 0x1fff, as its two wire bytes read little-endian.
        assert_eq!(p[11].imm, i32::from(0x1fffu16.swap_bytes()));
    }
}
