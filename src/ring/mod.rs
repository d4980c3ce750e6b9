//! AF_PACKET rings shared with the kernel. `unsafe` is allowed only in [`rx`] and [`tx`], the
//! views over the memory shared with the kernel (and in [`crate::sys`], the syscall layer).
//!
//! - [`geometry`]: block and frame sizes, validated before any syscall.
//! - [`block`]: the TPACKET_V3 block walker over untrusted bytes (safe code, fuzzed).
//! - [`rx`]: [`RxRing`] lends [`Block`]s; a dropped block goes back to the kernel.
//! - [`tx`]: [`TxRing`] lends [`TxFrame`]s; a published frame goes to the kernel.
//! - [`filter`]: classic BPF so only the test flow enters the RX ring.
//!
//! # Memory shared with the kernel
//! In both rings the kernel and user space hand memory back and forth through one status word
//! per unit: `block_status` per RX block, `tp_status` per TX frame. Those words are the only
//! memory accessed concurrently; they are read with `Acquire` (to see what the other side wrote
//! before handing over) and written with `Release` (so what we wrote is visible before the
//! handover). All other bytes of a block or frame belong to exactly one side at a time, as the
//! status word says, and are accessed through ordinary slices only while they belong to us.
pub mod block;
pub mod filter;
pub mod geometry;
pub mod rx;
pub mod tx;

pub use crate::sys::{SysError, TpacketVersion};
pub use block::{BlockError, BlockView, RawPacket};
pub use geometry::{GeometryError, RingGeometry};
pub use rx::{Block, PacketStats, RxConfig, RxRing, RxRingOptions};
pub use tx::{
    Flush, FrameLayout, OpenError, SkbLayout, TxConfig, TxError, TxFrame, TxRing, TxRingOptions,
};
