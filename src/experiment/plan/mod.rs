//! What to run: the kinds a row records, and scenario profiles expanded into points.
//!
//! - [`kinds`]: app, fate, engine and status, as the rows record them.
//! - [`profile`]: scenario profiles in `experiments/scenarios/` expanded into points.

pub mod kinds;
pub mod profile;
