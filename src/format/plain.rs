//! Plain-text application logs, the fallback: free text with a timestamp, a level and ids somewhere in it.
//!
//! Read, in order:
//! - a leading timestamp: ISO 8601 (`2024-05-01T12:00:00.123Z`, `2024-05-01 12:00:00,123`), nginx error-log /
//!   Go `log` style `2024/05/01 12:00:00[.123456]` (no zone: taken as UTC), CLF or ISO in brackets
//!   (`[01/May/2024:12:00:00 +0000]`, `[2024-05-01T12:00:00Z ERROR app]`). A syslog stamp (`May  1 12:00:00
//!   host tag:`) has no year: it is skipped, not guessed;
//! - a level among the next three words: `[error]`, `<warn>`, `ERROR`, `ERROR:`, `level=error`; a lower- or
//!   title-case word (`error`, `Error`) only right after the timestamp;
//! - the message: the rest of the line, without nginx's `pid#tid: *conn` prefix and `, client: …` context, and
//!   without a trailing run of `key=value` pairs;
//! - nginx error-log context: `client`, `request` (method, path, protocol), `upstream` (its `host:port`),
//!   `host`, `referrer`;
//! - `key=value` / `key: value` pairs anywhere whose key is a known alias (the JSON/logfmt ones): request and
//!   trace ids, status, duration, method, path, client;
//! - the request id: the user's `id_regex` (group 1, else the whole match), else a keyed id as above, else the
//!   first UUID / 32-hex token that is not the trace id.
//!
//! `None` unless a time, a level or a request id was found.

use std::borrow::Cow;
use std::io::Write as _;
use std::ops::Range;

use super::app_json::keys::{self, Collector, Kind, Scalar};
use super::logfmt::{self, Token};
use super::options::ParseOptions;
use super::time;
use crate::record::{Level, LogTime, Record};
use crate::synth::SynthRequest;

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn token_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && !b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |v, &c| v * 10 + (c - b'0') as u32))
}

/// ISO time at the start of `b` (`2024-05-01T12:00:00.123+02:00`, `2024-05-01 12:00:00,123`,
/// `2024-05-01 12:00:00 +0000`); returns the time and the bytes it took.
pub fn scan_iso(b: &[u8]) -> Option<(LogTime, usize)> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let mut i = 19;
    if i < b.len() && matches!(b[i], b'.' | b',') {
        let mut j = i + 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > i + 1 {
            i = j;
        }
    }
    let zone = if b.get(i) == Some(&b' ') && matches!(b.get(i + 1), Some(b'+' | b'-')) { i + 1 } else { i };
    let d = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
    match b.get(zone) {
        Some(b'Z' | b'z') => i = zone + 1,
        Some(b'+' | b'-') if d(zone + 1) && d(zone + 2) => {
            let mut j = zone + 3;
            if b.get(j) == Some(&b':') && d(j + 1) && d(j + 2) {
                j += 3;
            } else if d(j) && d(j + 1) {
                j += 2;
            }
            i = j;
        }
        _ => {}
    }
    Some((time::parse_iso(&b[..i])?, i))
}

/// `2024/05/01 12:00:00[.123456]` (nginx error log, Go `log`), taken as UTC.
pub fn scan_slash(b: &[u8]) -> Option<(LogTime, usize)> {
    if b.len() < 19 || b[4] != b'/' || b[7] != b'/' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (digits(&b[0..4])? as i64, digits(&b[5..7])?, digits(&b[8..10])?);
    let (h, mi, s) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac = 0i64;
    if b.get(i) == Some(&b'.') {
        let mut j = i + 1;
        let mut scale = 100_000;
        while j < b.len() && b[j].is_ascii_digit() {
            frac += (b[j] - b'0') as i64 * scale;
            scale /= 10;
            j += 1;
        }
        if j > i + 1 {
            i = j;
        }
    }
    let secs = time::days_from_civil(y, mo, d) * 86_400 + (h * 3600 + mi * 60 + s) as i64;
    Some((LogTime::from_unix_us(secs * 1_000_000 + frac), i))
}

struct Lead {
    time: LogTime,
    len: usize,
    level: Option<Level>,
    /// Written without a zone (`2024/05/01 12:00:00`): the host's local time.
    zoneless: bool,
}

fn leading_time(b: &[u8]) -> Option<Lead> {
    if b.first() == Some(&b'[') {
        let close = memchr::memchr(b']', b)?;
        let inner = &b[1..close];
        if let Some(t) = time::parse_clf(inner) {
            return Some(Lead { time: t, len: close + 1, level: None, zoneless: false });
        }
        let (t, used) = scan_iso(inner).or_else(|| scan_slash(inner))?;
        // env_logger: `[2024-05-01T12:00:00Z ERROR my_app] message`
        let rest = &inner[skip_ws(inner, used)..];
        let level = level_word(&rest[..token_end(rest, 0)], false);
        return Some(Lead { time: t, len: close + 1, level, zoneless: false });
    }
    if let Some((t, len)) = scan_iso(b) {
        return Some(Lead { time: t, len, level: None, zoneless: false });
    }
    let (t, len) = scan_slash(b)?;
    Some(Lead { time: t, len, level: None, zoneless: true })
}

/// A level word: alphabetic, at least three letters, one [`Level::parse`] knows; upper case unless `lenient`.
fn level_word(w: &[u8], lenient: bool) -> Option<Level> {
    if w.len() < 3 || w.len() > 11 || !w.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    if !lenient && !w.iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    Level::parse(std::str::from_utf8(w).ok()?)
}

/// A level in one token; returns it and how many bytes of the token it used.
fn level_token(tok: &[u8], lenient: bool) -> Option<(Level, usize)> {
    let n = tok.len();
    for (open, close) in [(b'[', b']'), (b'<', b'>'), (b'(', b')')] {
        if tok.first() == Some(&open) {
            let c = memchr::memchr(close, tok)?;
            let l = level_word(&tok[1..c], true)?;
            let used = if tok.get(c + 1) == Some(&b':') { c + 2 } else { c + 1 };
            return Some((l, used));
        }
    }
    for key in [&b"level="[..], b"lvl=", b"severity="] {
        if let Some(v) = tok.strip_prefix(key) {
            let v = v.strip_prefix(b"\"").unwrap_or(v);
            let v = v.strip_suffix(b"\"").unwrap_or(v);
            return Some((Level::parse(std::str::from_utf8(v).ok()?)?, n));
        }
    }
    let w = tok.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let level = level_word(&tok[..w], lenient)?;
    match tok.get(w) {
        None => Some((level, w)),
        Some(b':' | b']' | b'|') => Some((level, w + 1)),
        Some(c) if !c.is_ascii_alphanumeric() && *c != b'_' && *c != b'-' && *c != b'.' => Some((level, w)),
        _ => None,
    }
}

/// A level among the first three tokens from `pos`; returns it and where the message starts.
fn find_level(b: &[u8], pos: usize, after_time: bool) -> Option<(Level, usize)> {
    let mut i = pos;
    for k in 0..3 {
        i = skip_ws(b, i);
        if i >= b.len() {
            return None;
        }
        let end = token_end(b, i);
        if let Some((l, used)) = level_token(&b[i..end], k == 0 && after_time) {
            return Some((l, i + used));
        }
        i = end;
    }
    None
}

/// Spaces and one-character separators (`:`, `-`, `|`, `>`) between the level and the message.
fn skip_seps(b: &[u8], mut i: usize) -> usize {
    loop {
        i = skip_ws(b, i);
        match (b.get(i), b.get(i + 1)) {
            (Some(b':' | b'-' | b'|' | b'>'), Some(b' ')) => i += 2,
            _ => return i,
        }
    }
}

/// nginx's `1234#1234: *5 ` (pid, thread, connection) before an error message: its length.
fn nginx_conn_prefix(b: &[u8]) -> Option<usize> {
    let hash = b.iter().take(12).position(|&c| c == b'#')?;
    digits(&b[..hash])?;
    let colon = hash + 1 + b[hash + 1..].iter().take(12).position(|&c| c == b':')?;
    digits(&b[hash + 1..colon])?;
    let mut i = skip_ws(b, colon + 1);
    if b.get(i) == Some(&b'*') {
        let e = token_end(b, i);
        if digits(&b[i + 1..e]).is_some() {
            i = skip_ws(b, e);
        }
    }
    Some(i)
}

fn lossy(b: &[u8]) -> Option<Cow<'_, str>> {
    crate::format::num::text(b)
}

/// `host:port` of an upstream URL (`http://10.0.0.7:8080/v1/orders` → `10.0.0.7:8080`).
fn url_authority(v: &[u8]) -> &[u8] {
    let rest = match memchr::memmem::find(v, b"://") {
        Some(i) => &v[i + 3..],
        None => v,
    };
    let end = rest.iter().position(|&c| c == b'/' || c == b'?').unwrap_or(rest.len());
    &rest[..end]
}

/// nginx error-log context after the message: `client: 10.0.0.1, server: api, request: "GET / HTTP/1.1", …`.
fn nginx_context<'a>(b: &'a [u8], mut i: usize, rec: &mut Record<'a>) {
    while i < b.len() {
        let Some(colon) = memchr::memmem::find(&b[i..], b": ").map(|c| i + c) else { return };
        let key = &b[i..colon];
        if key.is_empty() || key.len() > 32 || key.iter().any(|c| c.is_ascii_whitespace() || *c == b',') {
            return;
        }
        let v = colon + 2;
        let (val, next) = if b.get(v) == Some(&b'"') {
            match memchr::memchr(b'"', &b[v + 1..]) {
                Some(q) => (&b[v + 1..v + 1 + q], v + q + 2),
                None => (&b[v + 1..], b.len()),
            }
        } else {
            match memchr::memmem::find(&b[v..], b", ") {
                Some(c) => (&b[v..v + c], v + c),
                None => (&b[v..], b.len()),
            }
        };
        match key {
            b"client" => rec.client = lossy(val),
            b"host" => rec.host = lossy(val),
            b"referrer" => rec.referer = lossy(val),
            b"upstream" => rec.upstream_addr = lossy(url_authority(val)),
            b"request" => {
                let mut parts = val.splitn(3, |&c| c == b' ');
                rec.method = parts.next().and_then(lossy);
                rec.path = parts.next().and_then(lossy);
                rec.protocol = parts.next().and_then(lossy);
            }
            _ => {}
        }
        if !b[next..].starts_with(b", ") {
            return;
        }
        i = next + 2;
    }
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'@')
}

/// `key=value` and `key: value` pairs anywhere in the line whose key is a known id/HTTP alias.
fn keyed_scan<'a>(b: &'a [u8], opts: &ParseOptions, col: &mut Collector<'a>) {
    for sep in memchr::memchr2_iter(b'=', b':', b) {
        let kend = if sep > 0 && b[sep - 1] == b'"' { sep - 1 } else { sep };
        let mut ks = kend;
        while ks > 0 && is_key_char(b[ks - 1]) {
            ks -= 1;
        }
        if ks == kend || kend - ks > 64 {
            continue;
        }
        let Ok(key) = std::str::from_utf8(&b[ks..kend]) else { continue };
        let Some((kind, prio)) = keys::classify(key, opts) else { continue };
        if matches!(kind, Kind::Time | Kind::Level | Kind::Message | Kind::Template | Kind::Error) {
            continue;
        }
        let mut v = sep + 1;
        if b[sep] == b':' {
            v = skip_ws(b, v);
        }
        let (val, escaped) = if b.get(v) == Some(&b'"') {
            let mut j = v + 1;
            let mut escaped = false;
            while j < b.len() && b[j] != b'"' {
                if b[j] == b'\\' {
                    escaped = true;
                    j += 1;
                }
                j += 1;
            }
            (v + 1..j.min(b.len()), escaped)
        } else {
            let e = v + b[v..]
                .iter()
                .position(|c| c.is_ascii_whitespace() || matches!(c, b',' | b';' | b')' | b']' | b'}' | b'"' | b'\''))
                .unwrap_or(b.len() - v);
            (v..e, false)
        };
        col.offer(kind, prio, || Some(Scalar::Str(logfmt::value_text(&b[val], escaped))));
    }
}

/// Where a trailing run of `key=value` pairs starts in `msg` (relative), if text comes before it.
fn trailing_pairs(msg: &[u8]) -> Option<usize> {
    let mut run: Option<usize> = None;
    for t in logfmt::tokens(msg) {
        match t {
            Token::Pair { span, .. } => {
                run.get_or_insert(span.start);
            }
            Token::Stray(_) => run = None,
        }
    }
    run.filter(|&s| s > 0)
}

/// The request id from the user's regex: capture group 1, else the whole match.
fn regex_id<'a>(re: &regex::Regex, b: &'a [u8]) -> Option<Cow<'a, str>> {
    let pick = |s: &str| -> Option<Range<usize>> {
        let c = re.captures(s)?;
        let m = c.get(1).or_else(|| c.get(0))?;
        (!m.is_empty()).then(|| m.range())
    };
    match std::str::from_utf8(b) {
        Ok(s) => pick(s).map(|r| Cow::Borrowed(&s[r])),
        Err(_) => {
            let s = String::from_utf8_lossy(b);
            pick(&s).map(|r| Cow::Owned(s[r].to_string()))
        }
    }
}

/// The first UUID / 32-hex token that is not the trace id.
fn free_id<'a>(b: &'a [u8], trace: Option<&str>) -> Option<Cow<'a, str>> {
    let mut from = 0;
    while from < b.len() {
        let r = crate::ids::find_id_in_text(&b[from..])?;
        let (s, e) = (from + r.start, from + r.end);
        if trace.is_some_and(|t| t.as_bytes().eq_ignore_ascii_case(&b[s..e])) {
            from = e;
            continue;
        }
        return lossy(&b[s..e]);
    }
    None
}

/// A wall-clock time read as UTC, placed in `tz` instead (the zone's offset on that date).
pub fn in_zone(wall: LogTime, tz: &jiff::tz::TimeZone) -> LogTime {
    let Ok(ts) = jiff::Timestamp::from_microsecond(wall.unix_us) else { return wall };
    let civil = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    match tz.to_ambiguous_zoned(civil).compatible() {
        Ok(z) => LogTime { unix_us: z.timestamp().as_microsecond(), offset_s: z.offset().seconds() },
        Err(_) => wall,
    }
}

/// Parse one line.
pub fn parse<'a>(line: &'a [u8], opts: &ParseOptions) -> Option<Record<'a>> {
    let line = line.trim_ascii_end();
    let mut rec = Record::default();
    let mut pos = skip_ws(line, 0);
    if let Some(lead) = leading_time(&line[pos..]) {
        rec.time = Some(match &opts.local_tz {
            Some(tz) if lead.zoneless => in_zone(lead.time, tz),
            _ => lead.time,
        });
        rec.level = lead.level;
        pos += lead.len;
    } else if let Some(header) = super::envelope::syslog(&line[pos..])
        && let std::borrow::Cow::Borrowed(inner) = header.line
    {
        // a syslog header: its time (and host) are the line's
        rec.time = header.time;
        rec.node = header.node.map(Cow::Owned);
        pos = inner.as_ptr() as usize - line.as_ptr() as usize;
    }
    if rec.level.is_none()
        && let Some((l, end)) = find_level(line, pos, rec.time.is_some())
    {
        rec.level = Some(l);
        pos = end;
        if rec.time.is_none() {
            let p = skip_ws(line, pos);
            if let Some(lead) = leading_time(&line[p..]) {
                rec.time = Some(lead.time);
                pos = p + lead.len;
            }
        }
    }
    pos = skip_seps(line, pos);
    let mut msg = pos..line.len();
    if let Some(n) = nginx_conn_prefix(&line[pos..]) {
        msg.start = pos + n;
        if let Some(c) = memchr::memmem::find(&line[msg.start..], b", client: ") {
            msg.end = msg.start + c;
            nginx_context(line, msg.end + 2, &mut rec);
        }
    } else if let Some(s) = trailing_pairs(&line[msg.clone()]) {
        msg.end = msg.start + s;
    }
    // Envoy's own log: `[time][thread][level][component] [file:line] [C2][S…] message`
    if line.starts_with(b"[")
        && let Some(d) = super::envoy_debug::parse(line)
    {
        rec.level = d.level;
        msg = d.message.as_ptr() as usize - line.as_ptr() as usize..line.len();
    }
    rec.message = lossy(&line[msg]);

    let mut col = Collector::new();
    keyed_scan(line, opts, &mut col);
    let mut found = Record::default();
    col.finish_into(&mut found);
    rec.trace_id = found.trace_id;
    rec.status = found.status;
    rec.duration_us = found.duration_us;
    rec.method = rec.method.or(found.method);
    rec.path = rec.path.or(found.path);
    rec.client = rec.client.or(found.client);
    rec.host = rec.host.or(found.host);
    rec.user_agent = found.user_agent;
    rec.request_id = match &opts.id_regex {
        Some(re) => regex_id(re, line),
        None => None,
    }
    .or(found.request_id)
    .or_else(|| free_id(line, rec.trace_id.as_deref()));

    (rec.time.is_some() || rec.level.is_some() || rec.request_id.is_some()).then_some(rec)
}

/// The upstream's plain-text line for a request (no newline):
/// `2024-05-01T12:00:00.122Z ERROR connection refused request_id=… trace_id=… status=502 duration=1ms`.
/// Line breaks in the message become spaces. Time, status and duration as in [`super::app_json::write`].
pub fn write(r: &SynthRequest, out: &mut Vec<u8>) {
    use super::app_json::{level_word, message, upstream_duration_us, upstream_status, upstream_time_us};
    let status = upstream_status(r);
    keys::write_rfc3339(out, upstream_time_us(r));
    out.push(b' ');
    out.extend(level_word(status).bytes().map(|c| c.to_ascii_uppercase()));
    out.push(b' ');
    out.extend(message(r).bytes().map(|c| if c == b'\n' || c == b'\r' { b' ' } else { c }));
    logfmt::write_pair(out, "request_id", &r.request_id);
    if let Some(t) = &r.trace_id {
        logfmt::write_pair(out, "trace_id", t);
    }
    let _ = write!(out, " status={status} duration=");
    keys::write_go_duration(out, upstream_duration_us(r));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Option<Record<'_>> {
        parse(line.as_bytes(), &ParseOptions::default())
    }

    fn us(iso: &str) -> i64 {
        iso.parse::<jiff::Timestamp>().unwrap().as_microsecond()
    }

    #[test]
    fn nginx_error_log() {
        let line = r#"2024/05/01 12:00:00 [error] 1234#1234: *5 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.0.1, server: api, request: "GET /v1/orders HTTP/1.1", upstream: "http://10.0.0.7:8080/v1/orders", host: "api.example.com", request_id: "0af7651916cd43dd8448eb211c80319c""#;
        let r = p(line).unwrap();
        assert_eq!(r.time.unwrap().unix_us, us("2024-05-01T12:00:00Z"));
        assert_eq!(r.level, Some(Level::Error));
        assert_eq!(
            r.message.as_deref(),
            Some("upstream timed out (110: Connection timed out) while reading response header from upstream")
        );
        assert_eq!(r.request_id.as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
        assert_eq!(r.client.as_deref(), Some("10.0.0.1"));
        assert_eq!(r.method.as_deref(), Some("GET"));
        assert_eq!(r.path.as_deref(), Some("/v1/orders"));
        assert_eq!(r.protocol.as_deref(), Some("HTTP/1.1"));
        assert_eq!(r.upstream_addr.as_deref(), Some("10.0.0.7:8080"));
        assert_eq!(r.host.as_deref(), Some("api.example.com"));
    }

    #[test]
    fn zoneless_times_take_the_zone_given() {
        let line = b"2024/05/01 12:00:00 [error] 1#1: *5 connect() failed, client: 10.0.0.1";
        let utc = parse(line, &ParseOptions::default()).unwrap().time.unwrap();
        assert_eq!(utc, LogTime::from_unix_us(us("2024-05-01T12:00:00Z")));
        let tz = crate::errorlog::parse_tz("Europe/Paris").unwrap();
        let opts = ParseOptions { local_tz: Some(tz), ..Default::default() };
        let paris = parse(line, &opts).unwrap().time.unwrap();
        assert_eq!(paris, LogTime { unix_us: us("2024-05-01T10:00:00Z"), offset_s: 7200 });
        // a time that names its zone keeps it
        let iso = parse(b"2024-05-01T12:00:00Z ERROR boom", &opts).unwrap().time.unwrap();
        assert_eq!(iso.unix_us, us("2024-05-01T12:00:00Z"));
    }

    #[test]
    fn common_shapes() {
        let r = p("2024-05-01 12:00:00,250 ERROR [main] payment failed request_id=abc-1 status=502").unwrap();
        assert_eq!(r.time.unwrap().unix_us, us("2024-05-01T12:00:00.25Z"));
        assert_eq!(r.level, Some(Level::Error));
        assert_eq!(r.message.as_deref(), Some("[main] payment failed"));
        assert_eq!(r.request_id.as_deref(), Some("abc-1"));
        assert_eq!(r.status, Some(502));

        let r = p("[2024-05-01T12:00:00Z WARN  my_app::db] pool exhausted").unwrap();
        assert_eq!(r.level, Some(Level::Warn));
        assert_eq!(r.message.as_deref(), Some("pool exhausted"));

        let r = p("ERROR:root:db down 3fa85f64-5717-4562-b3fc-2c963f66afa6").unwrap();
        assert_eq!(r.level, Some(Level::Error));
        assert_eq!(r.message.as_deref(), Some("root:db down 3fa85f64-5717-4562-b3fc-2c963f66afa6"));
        assert_eq!(r.request_id.as_deref(), Some("3fa85f64-5717-4562-b3fc-2c963f66afa6"));

        // a BSD syslog header: its time (no year: the latest May 1 not in the future) and host are the line's
        let r = p("May  1 12:00:00 web1 app[77]: WARN cache miss storm").unwrap();
        let t = jiff::Timestamp::from_microsecond(r.time.unwrap().unix_us).unwrap();
        assert_eq!(t.strftime("%m-%d %H:%M:%S").to_string(), "05-01 12:00:00");
        assert!(t <= jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24));
        assert_eq!(r.node.as_deref(), Some("web1"));
        assert_eq!(r.level, Some(Level::Warn));
        assert_eq!(r.message.as_deref(), Some("cache miss storm"));

        let r = p("2024-05-01T12:00:00.5+02:00 Error connecting to db").unwrap();
        assert_eq!(r.time.unwrap().unix_us, us("2024-05-01T10:00:00.5Z"));
        assert_eq!(r.level, Some(Level::Error));
        assert_eq!(r.message.as_deref(), Some("connecting to db"));

        assert!(p("hello world, nothing to see").is_none());
        assert!(p("connection error happened").is_none());
    }

    #[test]
    fn trace_id_is_not_the_request_id() {
        let r = p("INFO done trace_id=4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        assert_eq!(r.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(r.request_id, None);
    }

    #[test]
    fn id_regex() {
        let opts = ParseOptions {
            id_fields: vec![],
            id_regex: Some(regex::Regex::new(r"txn=(\w+)").unwrap()),
            ..Default::default()
        };
        let r = parse(b"charge declined txn=T12345 3fa85f64-5717-4562-b3fc-2c963f66afa6", &opts).unwrap();
        assert_eq!(r.request_id.as_deref(), Some("T12345"));
    }

    #[test]
    fn writer_round_trip() {
        let r = SynthRequest::example();
        let mut out = Vec::new();
        write(&r, &mut out);
        let rec = parse(&out, &ParseOptions::default()).unwrap();
        assert_eq!(rec.time.unwrap().unix_us, r.time.unix_us - 1_000);
        assert_eq!(rec.level, Some(Level::Error));
        assert_eq!(rec.message.as_deref(), Some("connection refused"));
        assert_eq!(rec.request_id.as_deref(), Some(r.request_id.as_str()));
        assert_eq!(rec.trace_id.as_deref(), r.trace_id.as_deref());
        assert_eq!(rec.status, Some(502));
        assert_eq!(rec.duration_us, Some(1_000));
        assert!(logfmt::parse(&out, &ParseOptions::default()).is_none());
    }
}
