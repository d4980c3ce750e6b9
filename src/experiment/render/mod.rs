//! Rendering: charts and the HTML report, from rows already read (nothing here reads a
//! file or spawns a process).
//!
//! - [`chart`]: SVG charts of a results directory's rows (and their PNG copies).
//! - [`html`]: one self-contained `report.html` page.

pub mod chart;
pub mod html;
