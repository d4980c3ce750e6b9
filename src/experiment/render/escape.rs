//! Text made safe to put in an HTML page.

/// `s` with the characters HTML gives meaning to escaped.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
