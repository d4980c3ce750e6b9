//! What to run: the kinds a row records, and scenario profiles expanded into points.
//!
//! - [`apps`]: the registry: each app's sender and receiver binaries, what they need, the
//!   fate an app forces, its chart colour.
//! - [`engines`]: the engines as data: scripts folder, set-ups, output suffix, defaults.
//! - [`kinds`]: app, fate, engine and status, as the rows record them.
//! - [`profile`]: scenario profiles in `experiments/scenarios/` expanded into points.

pub mod apps;
pub mod engines;
pub mod kinds;
pub mod profile;
