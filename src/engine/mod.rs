//! The tools' engines: what mmap-tx, udp-tx and every other sender share (lanes, pacing, the
//! stop signal, the drain, the summary), what every receiver shares (threads, the stop rule,
//! kernel statistics, exact merging, the summary), and the classification of captured bytes.
//! A packet I/O method plugs in as a backend: [`Transmit`] or [`Receive`] (see
//! [`crate::backend`]).
//!
//! - [`send`]: the sender engine and the [`Transmit`] trait.
//! - [`receive`]: the receiver engine and the [`Receive`] trait.
//! - [`classify`]: captured frames and blocks to accounting (fuzzed).
//! - [`stop`]: when a receiver stops.
//! - [`reflect`]: round trips on the sender's clock (receivers reflect probes back).

pub mod classify;
pub mod receive;
pub mod reflect;
pub mod send;
pub mod stop;

pub use receive::{receive, KernelStats, Receive, ReceivePlan};
pub use send::{send, Batch, SendPlan, Transmit, TxCounters};
pub use stop::StopRule;
