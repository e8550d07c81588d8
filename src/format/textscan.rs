//! Byte-level tokenizing and writer helpers shared by the proxy formats (Envoy, AWS CLF, HAProxy, Kong,
//! Traefik): a cursor over a line, quoted fields, request lines, addresses.

use std::borrow::Cow;

use crate::format::num;

/// A cursor over a text log line, splitting on spaces, `"quoted"` and `[bracketed]` fields.
pub(crate) struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Cursor { b, i: 0 }
    }

    fn skip_ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t') {
            self.i += 1;
        }
    }

    /// True when only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.i >= self.b.len()
    }

    /// What is left, not consumed.
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.b[self.i.min(self.b.len())..]
    }

    /// The next non-space byte, not consumed.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.b.get(self.i).copied()
    }

    /// The next space-delimited token (never empty).
    pub(crate) fn word(&mut self) -> Option<&'a [u8]> {
        self.skip_ws();
        let start = self.i;
        while self.i < self.b.len() && !matches!(self.b[self.i], b' ' | b'\t') {
            self.i += 1;
        }
        (self.i > start).then(|| &self.b[start..self.i])
    }

    /// A `"quoted"` field, raw (escapes kept). The closing quote is the first unescaped `"` followed by a space or
    /// the end of the line, so stray quotes inside a User-Agent survive; a truncated line yields the rest.
    pub(crate) fn quoted(&mut self) -> Option<&'a [u8]> {
        self.skip_ws();
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let start = self.i + 1;
        let mut j = start;
        while let Some(k) = memchr::memchr2(b'"', b'\\', &self.b[j.min(self.b.len())..]) {
            let at = j + k;
            if self.b[at] == b'\\' {
                j = at + 2;
                continue;
            }
            if at + 1 >= self.b.len() || matches!(self.b[at + 1], b' ' | b'\t') {
                self.i = at + 1;
                return Some(&self.b[start..at]);
            }
            j = at + 1;
        }
        self.i = self.b.len();
        Some(&self.b[start.min(self.b.len())..])
    }

    /// A field between `open` and the next `close` (`[…]`, `{…}`), raw.
    pub(crate) fn delimited(&mut self, open: u8, close: u8) -> Option<&'a [u8]> {
        self.skip_ws();
        if self.b.get(self.i) != Some(&open) {
            return None;
        }
        let start = self.i + 1;
        let end = start + memchr::memchr(close, &self.b[start..])?;
        self.i = end + 1;
        Some(&self.b[start..end])
    }
}

/// Text of a (quoted) field: `None` for placeholders; `\"`, `\\` and `\xHH` escapes are decoded (owned),
/// anything else is borrowed.
pub(crate) fn text(raw: &[u8]) -> Option<Cow<'_, str>> {
    if memchr::memchr(b'\\', raw).is_none() {
        return num::text(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() {
            match raw[i + 1] {
                c @ (b'"' | b'\\') => {
                    out.push(c);
                    i += 2;
                    continue;
                }
                b'x' if i + 3 < raw.len() => {
                    if let Ok(Ok(v)) = std::str::from_utf8(&raw[i + 2..i + 4]).map(|h| u8::from_str_radix(h, 16)) {
                        out.push(v);
                        i += 4;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    let t = num::trim(&out);
    if num::is_placeholder(t) { None } else { Some(Cow::Owned(String::from_utf8_lossy(t).into_owned())) }
}

/// `(method, target, protocol)` of a request line.
pub(crate) type RequestLine<'a> = (Option<Cow<'a, str>>, Option<Cow<'a, str>>, Option<Cow<'a, str>>);

/// Split a request line `METHOD TARGET PROTOCOL` (first and last space) into its parts.
pub(crate) fn request(raw: &[u8]) -> RequestLine<'_> {
    let raw = num::trim(raw);
    let Some(sp) = memchr::memchr(b' ', raw) else {
        return (text(raw), None, None);
    };
    let method = text(&raw[..sp]);
    let rest = num::trim(&raw[sp + 1..]);
    match memchr::memrchr(b' ', rest) {
        Some(sp2) if rest[sp2 + 1..].starts_with(b"HTTP/") || rest[sp2 + 1..] == *b"-" => {
            (method, text(num::trim(&rest[..sp2])), text(&rest[sp2 + 1..]))
        }
        _ => (method, text(rest), None),
    }
}

/// The first hop of an `X-Forwarded-For` list.
pub(crate) fn first_hop(xff: &[u8]) -> &[u8] {
    let end = memchr::memchr(b',', xff).unwrap_or(xff.len());
    num::trim(&xff[..end])
}

/// The IP of `ip:port`, `[v6]:port` or a bare address (a bare IPv6 address is returned whole).
pub(crate) fn host_of(addr: &[u8]) -> &[u8] {
    if let Some(rest) = addr.strip_prefix(b"[") {
        return match memchr::memchr(b']', rest) {
            Some(e) => &rest[..e],
            None => rest,
        };
    }
    match memchr::memchr(b':', addr) {
        Some(c) if memchr::memrchr(b':', addr) == Some(c) => &addr[..c],
        _ => addr,
    }
}

/// True for an integer with an optional sign (`-1`, `+3`, `42`).
pub(crate) fn int(b: &[u8]) -> Option<i64> {
    let (neg, d) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let v = num::parse_u64(d)?;
    let v = i64::try_from(v).ok()?;
    Some(if neg { -v } else { v })
}

/// A UTC civil time split out of microseconds since the epoch.
pub(crate) struct Civil {
    pub y: i64,
    pub mo: u32,
    pub d: u32,
    pub h: u32,
    pub mi: u32,
    pub s: u32,
    pub us: u32,
}

impl Civil {
    pub(crate) fn from_unix_us(unix_us: i64) -> Civil {
        let secs = unix_us.div_euclid(1_000_000);
        let us = unix_us.rem_euclid(1_000_000) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let (y, mo, d) = crate::format::time::civil_from_days(days);
        Civil { y, mo, d, h: sod / 3600, mi: sod / 60 % 60, s: sod % 60, us }
    }

    /// `2024-05-01T12:00:00.123Z`
    pub(crate) fn iso_ms(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.y,
            self.mo,
            self.d,
            self.h,
            self.mi,
            self.s,
            self.us / 1000
        )
    }

    /// Go's RFC3339Nano: `2024-05-01T12:00:00.123Z` (trailing zeros trimmed, no dot for whole seconds).
    pub(crate) fn rfc3339_nano(&self) -> String {
        let mut s = format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", self.y, self.mo, self.d, self.h, self.mi, self.s);
        if self.us != 0 {
            let frac = format!("{:06}000", self.us);
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        s.push('Z');
        s
    }

    /// `01/May/2024:12:00:00` plus `.123` when `ms`.
    pub(crate) fn clf(&self, ms: bool) -> String {
        let mut s = format!("{:02}/{}/{:04}:{:02}:{:02}:{:02}", self.d, self.month(), self.y, self.h, self.mi, self.s);
        if ms {
            s.push_str(&format!(".{:03}", self.us / 1000));
        }
        s
    }

    /// BSD syslog timestamp: `May  1 12:00:00`.
    pub(crate) fn syslog(&self) -> String {
        format!("{} {:>2} {:02}:{:02}:{:02}", self.month(), self.d, self.h, self.mi, self.s)
    }

    fn month(&self) -> &'static str {
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            [(self.mo.clamp(1, 12) - 1) as usize]
    }
}

/// Whole milliseconds (truncated) of a microsecond duration, as logs print them.
pub(crate) fn ms(us: u64) -> u64 {
    us / 1000
}

/// A W3C traceparent for a trace id (fixed parent span id, sampled).
pub(crate) fn traceparent(trace_id: &str) -> String {
    format!("00-{trace_id}-00f067aa0ba902b7-01")
}
