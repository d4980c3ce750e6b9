//! Rendering: charts and the HTML report, from rows already read (nothing here reads a
//! file or spawns a process).
//!
//! - [`chart`]: SVG charts of a results directory's rows (and their PNG copies).
//! - [`html`]: one self-contained `report.html` page.
//! - [`rfc2544`]: its section from `pktmmap search` rows.
//! - [`escape`]: text made safe for the page.

pub mod chart;
pub mod escape;
pub mod html;
pub mod rfc2544;
