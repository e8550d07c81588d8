//! What the text report's tables share: styling that collapses to nothing without colour, number and column
//! helpers, and the escaping every log string goes through before it is printed.

/// ANSI styling that collapses to nothing when colour is off.
pub(super) struct Style {
    /// Colour on.
    pub(super) on: bool,
}

impl Style {
    pub(super) fn paint(&self, code: &str, s: &str) -> String {
        crate::output::paint(self.on, code, s)
    }
    pub(super) fn head(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub(super) fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    pub(super) fn status(&self, class: u64, s: &str) -> String {
        match class {
            2 => self.paint("32", s),
            3 => self.paint("36", s),
            4 => self.paint("33", s),
            5 => self.paint("31", s),
            _ => s.to_string(),
        }
    }
}

pub(super) fn pct(part: u64, whole: u64) -> String {
    if whole == 0 { "-".into() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
}

pub(super) fn ms(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// Pad to `w` display columns (left-aligned), counting chars, not bytes.
pub(super) fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w { s.to_string() } else { format!("{s}{}", " ".repeat(w - n)) }
}

/// Log text made safe for a terminal: every string from a log goes through here before it is printed.
pub(super) fn e(s: &str) -> String {
    crate::text::escape_control(s.as_bytes())
}

/// Log text, escaped, cut to its last `w` characters.
pub(super) fn shorten(s: &str, w: usize) -> String {
    let s = &e(s);
    let n = s.chars().count();
    if n <= w {
        return s.to_string();
    }
    let tail: String = s.chars().skip(n - (w - 1)).collect();
    format!("…{tail}")
}
