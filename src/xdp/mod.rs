//! AF_XDP: an XDP program redirects the test flow into a socket whose UMEM and rings are
//! shared with the kernel. With [`crate::ring`] and [`crate::sys`] the only place `unsafe`
//! is allowed: [`ring`] (the four rings' shared indices) and [`socket`] (UMEM frames).
//!
//! - [`ring`]: one single-producer/single-consumer ring with cached indices.
//! - [`socket`]: [`Xsk`] owns the UMEM and the rings; [`XskTx`] and [`XskRx`] lend frames.
//! - [`program`]: the XDP program, its XSKMAP and the `bpf_link` that attaches it.

pub mod program;
pub mod ring;
pub mod socket;

pub use program::{AttachError, XdpMode, XdpProgram};
pub use socket::{BindMode, Kick, Xsk, XskError, XskOptions, XskRx, XskTx};
