//! Packet I/O methods, each a backend of the engines in [`crate::engine`]:
//!
//! - [`mmap`]: AF_PACKET TPACKET rings ([`crate::ring`]).
//! - [`udp`]: ordinary UDP sockets, the baseline.
//! - [`xdp`]: AF_XDP sockets ([`crate::xdp`]).
//!
//! A backend opens what it needs (with the privileges that takes), then the tool drops its
//! capabilities and hands the backend to an engine.

pub mod mmap;
pub mod udp;
pub mod xdp;
