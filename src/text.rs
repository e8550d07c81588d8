//! Making untrusted log text safe to print.

use std::fmt::Write;

/// Escape control characters (and ESC, so no ANSI sequence reaches the terminal) as `\xHH`, `\t`, `\r`, `\n`;
/// invalid UTF-8 becomes U+FFFD.
pub fn escape_control(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !push_escaped(&mut out, c) {
            out.push(c);
        }
    }
    out
}

/// Text for a terminal that may span lines (a message quoting input): each line escaped, the line ends kept.
pub fn escape_lines(s: &str) -> String {
    s.split('\n').map(|l| escape_control(l.as_bytes())).collect::<Vec<_>>().join("\n")
}

/// Append `c` escaped if it must not reach a terminal as it is (a control character, ESC, an invisible
/// formatting character); returns whether it did. Everything else is left to the caller.
pub fn push_escaped(out: &mut String, c: char) -> bool {
    match c {
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        c if c.is_control() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_format_char(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        _ => return false,
    }
    true
}

/// Invisible formatting characters that can reorder or hide text on screen (bidi overrides and isolates,
/// zero-width spaces and joiners, the BOM): escaped like control characters.
pub fn is_format_char(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_ansi_and_controls() {
        assert_eq!(super::escape_control(b"a\x1b[31mred\x07\tb\xff"), "a\\x1b[31mred\\x07\\tb\u{fffd}");
        assert_eq!(super::escape_control("x\u{202e}gnp.exe".as_bytes()), "x\\u{202e}gnp.exe", "bidi override");
        assert_eq!(super::escape_control("a\u{9b}31m\0".as_bytes()), "a\\x9b31m\\x00", "C1 CSI and NUL");
        assert_eq!(super::escape_lines("one\u{1b}\ntwo"), "one\\x1b\ntwo");
    }
}
