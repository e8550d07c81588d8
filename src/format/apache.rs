//! Apache `combined` (+ `%D` microseconds, `%{UNIQUE_ID}e`).
//!
//! `LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"" combined`, with common fields
//! appended: `%D` (µs), `%T/%D`, `%I %O` (mod_logio), `%{UNIQUE_ID}e`, `"%{X-Request-ID}i"` (quoted or bare).
//! The same line shape as nginx combined; the nginx parser does not claim bare integers or unique ids, so on
//! lines that carry them this parser yields more fields and wins detection.

use super::nginx::{
    Combined, Escape, is_decimal_with_dot, is_hex_or_uuid_id, next_extra, parse_combined, push_esc, push_u64,
    traceparent, traefik_tail, write_combined,
};
use super::num::{self, parse_u64, secs_to_us, trim};
use crate::record::Record;
use crate::synth::SynthRequest;

/// Parse an Apache combined line (and the appended fields listed in the module docs).
///
/// `%b` is `-` for a zero-byte body: `bytes_sent` is then `Some(0)`.
/// One bare integer is `%D`; two are `%T %D` when they agree, else `%I %O` (bytes received, sent).
/// The request id is the first id-like quoted header value, else a bare UUID/32-hex, else the `UNIQUE_ID`.
pub fn parse(line: &[u8]) -> Option<Record<'_>> {
    let Combined { mut rec, rest, bytes_dash } = parse_combined(line)?;
    if traefik_tail(line, rest).is_some() {
        return None; // Traefik's `common` format: its request count is no `%D`
    }
    if bytes_dash {
        rec.bytes_sent = Some(0);
    }
    let mut ints = [0u64; 3];
    let mut n_ints = 0;
    let mut header_id = None;
    let mut unique_id = None;
    let mut pos = rest;
    while let Some(e) = next_extra(line, &mut pos) {
        if !e.key.is_empty() {
            continue;
        }
        let v = trim(e.val);
        if e.quoted {
            if header_id.is_none() && looks_like_id(v) {
                header_id = Some(v);
            }
        } else if let Some(i) = parse_u64(v) {
            if n_ints < ints.len() {
                ints[n_ints] = i;
            }
            n_ints += 1;
        } else if let Some(d) = t_slash_d(v) {
            rec.duration_us.get_or_insert(d);
        } else if is_decimal_with_dot(v) {
            if rec.duration_us.is_none() {
                rec.duration_us = secs_to_us(v);
            }
        } else if is_hex_or_uuid_id(v) {
            header_id.get_or_insert(v);
        } else if v.len() == 55 && rec.trace_id.is_none() {
            rec.trace_id = traceparent(v);
        } else if unique_id.is_none() && is_unique_id(v) {
            unique_id = Some(v);
        }
    }
    match n_ints {
        1 => rec.duration_us = Some(ints[0]),
        2 if ints[0] == ints[1] / 1_000_000 => rec.duration_us = Some(ints[1]),
        2 => rec.bytes_received = Some(ints[0]),
        _ => {}
    }
    rec.request_id = header_id.or(unique_id).and_then(num::text);
    Some(rec)
}

/// `%T/%D`: `0/1234` → 1234 µs, when the seconds agree with the microseconds.
fn t_slash_d(v: &[u8]) -> Option<u64> {
    let slash = memchr::memchr(b'/', v)?;
    let t = parse_u64(&v[..slash])?;
    let d = parse_u64(&v[slash + 1..])?;
    (t == d / 1_000_000).then_some(d)
}

/// mod_unique_id: 24 or more characters of `[A-Za-z0-9@_-]`, with letters and digits.
fn is_unique_id(v: &[u8]) -> bool {
    (24..=64).contains(&v.len())
        && v.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'@' | b'_' | b'-'))
        && v.iter().any(u8::is_ascii_digit)
        && v.iter().any(u8::is_ascii_alphabetic)
}

/// A quoted header value that looks like a request id rather than a host, address or number:
/// 8..=128 characters of `[A-Za-z0-9@_+/=-]`, with at least one digit and not all digits.
fn looks_like_id(v: &[u8]) -> bool {
    (8..=128).contains(&v.len())
        && v.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'@' | b'_' | b'-' | b'+' | b'/' | b'='))
        && v.iter().any(u8::is_ascii_digit)
        && !v.iter().all(u8::is_ascii_digit)
}

/// Append one Apache line: `combined` + `%D` + `"%{X-Request-ID}i"`.
pub fn write_apache(r: &SynthRequest, out: &mut Vec<u8>) {
    write_combined(r, out, Escape::Apache);
    out.push(b' ');
    push_u64(out, r.duration_us);
    out.extend_from_slice(b" \"");
    push_esc(out, r.request_id.as_bytes(), Escape::Apache);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;

    fn with(extra: &str) -> String {
        format!("{BASE}{extra}")
    }

    #[test]
    fn combined_only() {
        let r = parse(BASE.as_bytes()).unwrap();
        assert_eq!(r.client.as_deref(), Some("127.0.0.1"));
        assert_eq!(r.consumer.as_deref(), Some("frank"));
        assert_eq!(r.status, Some(200));
        assert_eq!(r.bytes_sent, Some(2326));
        assert_eq!(r.time.unwrap().offset_s, -25_200);
        assert_eq!(r.time.unwrap().unix_us, 971_211_336_000_000);
        assert_eq!(r.field_count(), super::super::nginx::parse(BASE.as_bytes()).unwrap().field_count());
    }

    #[test]
    fn d_and_unique_id() {
        let l = with(" 1234 WZ0yNX8AAQEAAB4mLpIAAAAD");
        let r = parse(l.as_bytes()).unwrap();
        assert_eq!(r.duration_us, Some(1234));
        assert_eq!(r.request_id.as_deref(), Some("WZ0yNX8AAQEAAB4mLpIAAAAD"));
        let n = super::super::nginx::parse(l.as_bytes()).unwrap();
        assert!(r.field_count() > n.field_count());
    }

    #[test]
    fn header_id_wins_over_unique_id() {
        let l = with(r#" 52000 "req-7f3a9c21" WZ0yNX8AAQEAAB4mLpIAAAAD"#);
        let r = parse(l.as_bytes()).unwrap();
        assert_eq!(r.request_id.as_deref(), Some("req-7f3a9c21"));
        assert_eq!(r.duration_us, Some(52_000));
        let l = with(r#" 52000 "-""#);
        assert_eq!(parse(l.as_bytes()).unwrap().request_id, None);
        let l = with(r#" "api.example.com" 12"#);
        let r = parse(l.as_bytes()).unwrap();
        assert_eq!(r.request_id, None, "a host is not an id");
        assert_eq!(r.duration_us, Some(12));
    }

    #[test]
    fn t_d_and_logio() {
        assert_eq!(parse(with(" 2 2500000").as_bytes()).unwrap().duration_us, Some(2_500_000));
        assert_eq!(parse(with(" 0/1234").as_bytes()).unwrap().duration_us, Some(1234));
        let l = with(" 512 2800");
        let r = parse(l.as_bytes()).unwrap();
        assert_eq!((r.duration_us, r.bytes_received), (None, Some(512)));
    }

    #[test]
    fn dash_bytes_and_escaped_quotes() {
        let l =
            br#"2001:db8::1 - - [01/May/2024:12:00:00 +0000] "GET /say?\"hi\" HTTP/1.1" 304 - "-" "Agent \"Q\" \\ x""#;
        let r = parse(l).unwrap();
        assert_eq!(r.bytes_sent, Some(0));
        assert_eq!(r.client.as_deref(), Some("2001:db8::1"));
        assert_eq!(r.path.as_deref(), Some("/say?\"hi\""));
        assert_eq!(r.user_agent.as_deref(), Some("Agent \"Q\" \\ x"));
        assert_eq!(super::super::nginx::parse(l).unwrap().bytes_sent, None);
    }

    #[test]
    fn writer() {
        let mut out = Vec::new();
        let mut r = SynthRequest::example();
        r.user_agent = "A \"b\" \\ c\u{e9}".into();
        r.bytes_sent = 0;
        write_apache(&r, &mut out);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            r#"203.0.113.7 - mobile-app [01/May/2024:12:00:00 +0000] "POST /v1/orders/123?expand=items HTTP/1.1" 502 - "-" "A \"b\" \\ c\xc3\xa9" 2000 "0af7651916cd43dd8448eb211c80319c""#
        );
        let p = parse(&out).unwrap();
        assert_eq!(p.user_agent.as_deref(), Some(r.user_agent.as_str()));
        assert_eq!(p.bytes_sent, Some(0));
        assert_eq!(p.duration_us, Some(2000));
    }
}
