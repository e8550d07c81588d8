//! Text as the console shows it: log bytes made safe for the terminal, and rates for people.

use unicode_width::UnicodeWidthChar;

/// Log bytes as safe display text: tabs expanded to the next multiple of 8 columns, control characters and
/// ESC shown escaped (`\x1b`), invalid UTF-8 as U+FFFD.
pub fn display_text(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(s.len());
    let mut col = 0;
    for c in s.chars() {
        match c {
            '\t' => {
                let n = 8 - col % 8;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            c => {
                let before = out.len();
                if crate::text::push_escaped(&mut out, c) {
                    col += out.len() - before; // escapes are ASCII: one column a byte
                } else {
                    col += c.width().unwrap_or(0);
                    out.push(c);
                }
            }
        }
    }
    out
}

/// A rate for people: `0.4/s`, `43/s`, `1.2k/s`.
pub fn rate_text(per_s: f64) -> String {
    if per_s >= 1000.0 {
        format!("{:.1}k/s", per_s / 1000.0)
    } else if per_s >= 10.0 {
        format!("{per_s:.0}/s")
    } else {
        format!("{per_s:.1}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_text_escapes_and_expands_tabs() {
        assert_eq!(display_text(b"a\tb"), "a       b");
        assert_eq!(display_text(b"ab\x1b[31mred\x07"), "ab\\x1b[31mred\\x07");
        assert_eq!(display_text("日本\tx".as_bytes()), "日本    x", "wide characters count two columns");
        assert_eq!(display_text(b"\xff"), "\u{fffd}");
    }
}
