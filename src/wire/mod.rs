//! Bytes on the wire: building test frames, parsing captured ones, and the probe header.
//!
//! The headers are read and written through the checked views of [`header`]. Frames are
//! built from a [`FrameTemplate`] made once per run; captured frames are untrusted
//! and parsed by [`parse_udp`], which classifies anything it will not count.

pub mod checksum;
pub mod frame;
pub mod header;
pub mod ip;
pub mod mix;
pub mod parse;
pub mod probe;
pub mod vnet;

pub use frame::{
    address_low16, address_plus, check_addr_flows, check_flows, check_payload_size, flow_order,
    Flow, FlowBy, FlowsError, FrameError, FrameMix, FrameTemplate, GsoTemplate, SizeError,
    FRAME_OVERHEAD,
};
pub use ip::{Endpoints, Family};
pub use mix::{DatagramSizes, SizeMix, FCS_LEN};
pub use parse::{parse_udp, Datagram, IgnoreReason};
pub use probe::{Probe, PROBE_LEN};
pub use vnet::VnetHdr;
