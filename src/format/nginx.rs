//! nginx `combined` (with `key=value` extras appended) and ingress-nginx `upstreaminfo`.
//!
//! Both share the combined prefix
//! `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`,
//! scanned with `memchr` and borrowed from the line. The scanning helpers here are `pub(crate)` so the Apache
//! parser and the `log_format` compiler (same family, same author) can reuse them.

use std::borrow::Cow;

use memchr::{memchr, memrchr};

use super::marks::{self, Find, Marks, Memchr};
use super::num::{self, is_placeholder, parse_status, parse_u64, secs_to_us, sum_secs_to_us, trim};
use super::time::parse_clf;
use crate::format::summary::Summary;
use crate::ids;
use crate::record::{LogTime, Record, StatusList};
use crate::synth::SynthRequest;

// ---------------------------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------------------------

/// nginx `combined`, plus any `key=value` / `key="value"` extras appended after it.
///
/// Extras understood: the `rid=… rt=… urt="…" us="…" ua="…"` family (see `apply_kv`), the quoted
/// `"$http_x_forwarded_for"` of nginx's `main` format (ignored), a bare `$request_time` (a decimal with a dot),
/// and a bare or quoted 32-hex / UUID request id. Bare integers and Apache unique ids are deliberately not
/// claimed, so that Apache lines with `%D` or `%{UNIQUE_ID}e` rank as Apache.
pub fn parse(line: &[u8]) -> Option<Record<'_>> {
    let Combined { mut rec, rest, .. } = parse_combined(line)?;
    if traefik_tail(line, rest).is_some() {
        return None; // Traefik's: its format reads the duration this one would drop
    }
    let mut pos = rest;
    while let Some(e) = next_extra(line, &mut pos) {
        if e.key.is_empty() {
            positional(&mut rec, e.val);
        } else {
            apply_kv(&mut rec, e.key, e.val);
        }
    }
    Some(rec)
}

/// Index of the next `c` at or after `i`, by a plain loop (short fields: cheaper than memchr's setup).
#[inline]
fn find_short(line: &[u8], mut i: usize, c: u8) -> Option<usize> {
    while i < line.len() {
        if line[i] == c {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Index of the closing quote of a field whose contents start at `from`, when it is followed by a space or
/// the end of the line (the line has no backslashes, so no quote is escaped).
#[inline(always)]
fn close_quote(line: &[u8], f: &impl Find, from: usize) -> Option<usize> {
    let q = f.quote(from)?;
    (q + 1 == line.len() || line[q + 1] == b' ').then_some(q)
}

/// Trimmed, or `None` for a placeholder (as [`num::text`] decides, without the UTF-8 step).
#[inline]
fn bytes_field(b: &[u8]) -> Option<&[u8]> {
    // most values (ids, addresses, paths) need neither: no placeholder is longer than four bytes
    if let (Some(first), Some(last)) = (b.first(), b.last())
        && b.len() > 4
        && !first.is_ascii_whitespace()
        && !last.is_ascii_whitespace()
    {
        return Some(b);
    }
    let b = trim(b);
    (!is_placeholder(b)).then_some(b)
}

/// The common shape of `combined` + `key=value` extras, in one forward pass with no escapes to decode.
/// `None` for anything else (escapes, positional extras, unquoted lists, odd spacing): the caller then uses
/// the full parser, so both paths give the same fields (`summary_tests`).
///
/// `f` finds spaces and quotes; the caller has checked that the line holds no backslash and only ASCII.
#[inline(always)]
fn scan_fast<'a>(line: &'a [u8], f: &impl Find) -> Option<Summary<'a>> {
    let sp = f.space(0)?;
    if !valid_client(&line[..sp]) {
        return None;
    }
    // ident and user: plain tokens
    let sp2 = f.space(sp + 1)?;
    let sp3 = f.space(sp2 + 1)?;
    if sp2 == sp + 1 || sp3 == sp2 + 1 || matches!(line[sp + 1], b'[' | b'"') || matches!(line[sp2 + 1], b'[' | b'"') {
        return None;
    }
    if line.get(sp3 + 1) != Some(&b'[') {
        return None;
    }
    // `$time_local` is 26 bytes wide: look there first
    let close = match line.get(sp3 + 28) {
        Some(b']') => sp3 + 28,
        _ => find_short(line, sp3 + 2, b']')?,
    };
    let time = super::time::parse_clf_cached(&line[sp3 + 2..close])?;
    if line.get(close + 1) != Some(&b' ') || line.get(close + 2) != Some(&b'"') {
        return None;
    }
    let rq_end = close_quote(line, f, close + 3)?;
    let st_end = f.space(rq_end + 2)?;
    let status = line.get(rq_end + 2..st_end).and_then(parse_status)?;
    let b_end = f.space(st_end + 1)?;
    let bytes = &line[st_end + 1..b_end];
    if bytes != b"-" {
        parse_u64(bytes)?;
    }
    if line.get(b_end + 1) != Some(&b'"') {
        return None;
    }
    let ref_end = close_quote(line, f, b_end + 2)?;
    if line.get(ref_end + 2) != Some(&b'"') {
        return None;
    }
    let ua_end = close_quote(line, f, ref_end + 3)?;
    let mut s = Summary {
        time: Some(time),
        status: Some(status),
        path: request_path_marked(line, f, close + 3, rq_end).and_then(bytes_field),
        client: bytes_field(&line[..sp]),
        consumer: bytes_field(&line[sp2 + 1..sp3]),
        user_agent: bytes_field(&line[ref_end + 3..ua_end]),
        ..Summary::default()
    };
    // no path: garbage, or a method alone (rare, so the general check costs nothing on the common line)
    s.bad_request = s.path.is_none() && invalid_request(&line[close + 3..rq_end]).is_some();
    // extras: ` key=value` or ` key="value"`, most likely the documented ones in their order
    let mut i = ua_end + 1;
    let mut expect = 0;
    while i < line.len() {
        let (e, field) = match (DOCUMENTED.get(expect), line.get(i..i + 8)) {
            (Some(&(pattern, mask, len, field)), Some(w))
                if u64::from_le_bytes(w.try_into().ok()?) & mask == pattern =>
            {
                expect += 1;
                (i + len - 1, Some(field))
            }
            _ => {
                expect = DOCUMENTED.len();
                if line[i] != b' ' || line.get(i + 1).is_none_or(|&c| c == b' ') {
                    return None;
                }
                let k = i + 1;
                let mut e = k;
                while e < line.len() && is_key_byte(line[e]) {
                    e += 1;
                }
                if e == k || line.get(e) != Some(&b'=') {
                    return None;
                }
                (e, kv_field(&line[k..e]))
            }
        };
        let (val, next) = if line.get(e + 1) == Some(&b'"') {
            let q = close_quote(line, f, e + 2)?;
            (&line[e + 2..q], q + 1)
        } else {
            let end = f.space(e + 1).unwrap_or(line.len());
            let v = &line[e + 1..end];
            if v.last() == Some(&b',') || line[end..].starts_with(b" : ") {
                return None; // an unquoted list: the full parser rejoins it
            }
            (v, end)
        };
        match field {
            Some(KvField::RequestId) => s.request_id = bytes_field(val).or(s.request_id),
            Some(KvField::Duration) => s.duration_us = secs_to_us(val).or(s.duration_us),
            Some(KvField::UpstreamTime) => s.upstream_us = sum_secs_to_us(val).or(s.upstream_us),
            Some(KvField::UpstreamConnectTime) => s.upstream_connect_us = sum_secs_to_us(val).or(s.upstream_connect_us),
            Some(KvField::UpstreamHeaderTime) => s.upstream_header_us = sum_secs_to_us(val).or(s.upstream_header_us),
            Some(KvField::UpstreamStatus) => {
                let l = StatusList::parse(val);
                if !l.is_empty() {
                    s.upstream_status = l;
                }
            }
            Some(KvField::UpstreamAddr) => s.upstream_addr = bytes_field(val).or(s.upstream_addr),
            Some(KvField::Traceparent) => {
                let t = std::str::from_utf8(trim(val)).ok().and_then(ids::traceparent_trace_id);
                s.trace_id = t.map(str::as_bytes).or(s.trace_id);
            }
            Some(KvField::TraceId) => s.trace_id = bytes_field(val).or(s.trace_id),
            Some(KvField::Host) => s.host = bytes_field(val).or(s.host),
            Some(KvField::Route) | None => {}
        }
        i = next;
    }
    Some(s)
}

/// The documented extras ` rid=… rt=… urt="…" us="…" ua="…"` in their order, each as its leading space, key
/// and `=` packed little-endian into a word with the mask that selects them, their length, and their field.
const DOCUMENTED: [(u64, u64, usize, KvField); 5] = {
    const fn packed(key: &[u8], field: KvField) -> (u64, u64, usize, KvField) {
        let mut w = 0u64;
        let mut i = 0;
        while i < key.len() {
            w |= (key[i] as u64) << (8 * i);
            i += 1;
        }
        (w, u64::MAX >> (64 - 8 * key.len()), key.len(), field)
    }
    [
        packed(b" rid=", KvField::RequestId),
        packed(b" rt=", KvField::Duration),
        packed(b" urt=", KvField::UpstreamTime),
        packed(b" us=", KvField::UpstreamStatus),
        packed(b" ua=", KvField::UpstreamAddr),
    ]
};

/// [`request_path_bytes`] of the request in `line[start..end]`, its spaces found by `f`.
#[inline(always)]
fn request_path_marked<'a>(line: &'a [u8], f: &impl Find, start: usize, end: usize) -> Option<&'a [u8]> {
    let request = &line[start..end];
    let (Some(first), Some(last)) = (request.first(), request.last()) else { return None };
    if first.is_ascii_whitespace() || last.is_ascii_whitespace() {
        return request_path_bytes(request); // trimming to do: the general way
    }
    match f.space(start) {
        Some(sp) if sp < end && is_method(&line[start..sp]) => {
            let rest = sp + 1; // < end: the last byte is not a space
            if line[rest].is_ascii_whitespace() {
                return request_path_bytes(request);
            }
            match f.space_before(rest, end) {
                Some(j) if line[j + 1..end].starts_with(b"HTTP/") => Some(&line[rest..j]),
                _ => Some(&line[rest..end]),
            }
        }
        _ if *first == b'/' => Some(request),
        _ => None,
    }
}

/// What summaries read of an nginx line, straight from its bytes (no record, no UTF-8 work); `None` when the
/// line is not the common shape or not ASCII (then the record path decides, lossily).
pub fn summarize(line: &[u8]) -> Option<Summary<'_>> {
    match Marks::of(line) {
        Some(marks) => scan_fast(line, &marks),
        None if line.len() > marks::MAX_LEN && line.is_ascii() && memchr(b'\\', line).is_none() => {
            scan_fast(line, &Memchr(line))
        }
        None => None,
    }
}

/// ingress-nginx `upstreaminfo`:
/// `… "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name]
/// $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id`.
///
/// The alternative upstream name (added in 0.21) and `$req_id` are optional. `None` for plain combined lines.
pub fn parse_ingress(line: &[u8]) -> Option<Record<'_>> {
    let Combined { mut rec, rest, .. } = parse_combined(line)?;
    let (len, p) = token_after_space(line, rest)?;
    rec.bytes_received = u64_or_dash(len)?;
    let (rt, p) = token_after_space(line, p)?;
    rec.duration_us = secs_or_dash(rt)?;
    let (name, mut p) = token_after_space(line, p)?;
    rec.route = num::text(bracketed(name)?);
    if line.get(p + 1) == Some(&b'[') {
        let (alt, q) = token_after_space(line, p)?;
        bracketed(alt)?;
        p = q;
    }
    let (addr, p) = list_after_space(line, p)?;
    let (_resp_len, p) = list_after_space(line, p)?;
    let (urt, p) = list_after_space(line, p)?;
    let (us, p) = list_after_space(line, p)?;
    rec.upstream_addr = num::text(addr);
    rec.upstream_us = sum_secs_to_us(urt);
    rec.upstream_status = StatusList::parse(us);
    if let Some((id, _)) = token_after_space(line, p) {
        rec.request_id = num::text(id);
    }
    Some(rec)
}

/// A bare or quoted value after the combined prefix that has no key.
fn positional<'a>(rec: &mut Record<'a>, val: &'a [u8]) {
    let v = trim(val);
    if rec.duration_us.is_none() && is_decimal_with_dot(v) {
        rec.duration_us = secs_to_us(v);
    } else if rec.request_id.is_none() && is_hex_or_uuid_id(v) {
        rec.request_id = num::text(v);
    } else if rec.trace_id.is_none() && v.len() == 55 {
        rec.trace_id = traceparent(v);
    }
}

/// What a `key=value` extra holds, by its (case-insensitive) name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KvField {
    RequestId,
    Duration,
    UpstreamTime,
    /// `uct` / `upstream_connect_time`: nginx's `$upstream_connect_time`.
    UpstreamConnectTime,
    /// `uht` / `upstream_header_time`: nginx's `$upstream_header_time`, counted from the start of the connect.
    UpstreamHeaderTime,
    UpstreamStatus,
    UpstreamAddr,
    Traceparent,
    TraceId,
    Host,
    Route,
}

#[inline]
fn kv_field(key: &[u8]) -> Option<KvField> {
    // the documented short keys first, without a copy: ORing 0x20 lowercases exactly the ASCII letters among
    // the bytes that can land on a letter, and no other 2- or 3-byte name is known
    match *key {
        [a, b] => match [a | 0x20, b | 0x20] {
            [b'r', b't'] => Some(KvField::Duration),
            [b'u', b's'] => Some(KvField::UpstreamStatus),
            [b'u', b'a'] => Some(KvField::UpstreamAddr),
            _ => None,
        },
        [a, b, c] => match [a | 0x20, b | 0x20, c | 0x20] {
            [b'r', b'i', b'd'] => Some(KvField::RequestId),
            [b'u', b'r', b't'] => Some(KvField::UpstreamTime),
            [b'u', b'c', b't'] => Some(KvField::UpstreamConnectTime),
            [b'u', b'h', b't'] => Some(KvField::UpstreamHeaderTime),
            _ => None,
        },
        _ => kv_field_long(key),
    }
}

fn kv_field_long(key: &[u8]) -> Option<KvField> {
    let mut buf = [0u8; 24];
    let lower = if key.iter().any(u8::is_ascii_uppercase) {
        let lower = buf.get_mut(..key.len())?;
        lower.copy_from_slice(key);
        lower.make_ascii_lowercase();
        &*lower
    } else {
        key
    };
    Some(match lower {
        b"rid" | b"request_id" | b"req_id" | b"reqid" | b"x_request_id" | b"requestid" => KvField::RequestId,
        b"rt" | b"request_time" => KvField::Duration,
        b"urt" | b"upstream_response_time" => KvField::UpstreamTime,
        b"uct" | b"upstream_connect_time" => KvField::UpstreamConnectTime,
        b"uht" | b"upstream_header_time" => KvField::UpstreamHeaderTime,
        b"us" | b"upstream_status" => KvField::UpstreamStatus,
        b"ua" | b"upstream_addr" => KvField::UpstreamAddr,
        b"traceparent" => KvField::Traceparent,
        b"trace_id" | b"traceid" => KvField::TraceId,
        b"host" => KvField::Host,
        b"upstream" | b"route" | b"proxy_upstream_name" => KvField::Route,
        _ => return None,
    })
}

/// Map a `key=value` extra onto the record (keys are case-insensitive). Unknown keys are skipped.
///
/// `ua` is the *upstream address* here, as in the documented example
/// `rid=$request_id rt=$request_time urt="$upstream_response_time" us="$upstream_status" ua="$upstream_addr"`.
/// Upstream times (`urt`, `uct`, `uht`) are seconds, summed over the attempts of a list.
fn apply_kv<'a>(rec: &mut Record<'a>, key: &[u8], val: &'a [u8]) {
    let Some(kind) = kv_field(key) else { return };
    let set = |slot: &mut Option<Cow<'a, str>>, v: Option<Cow<'a, str>>| {
        if v.is_some() {
            *slot = v;
        }
    };
    match kind {
        KvField::RequestId => set(&mut rec.request_id, field(val)),
        KvField::Duration => rec.duration_us = secs_to_us(val).or(rec.duration_us),
        KvField::UpstreamTime => rec.upstream_us = sum_secs_to_us(val).or(rec.upstream_us),
        KvField::UpstreamConnectTime => rec.upstream_connect_us = sum_secs_to_us(val).or(rec.upstream_connect_us),
        KvField::UpstreamHeaderTime => rec.upstream_header_us = sum_secs_to_us(val).or(rec.upstream_header_us),
        KvField::UpstreamStatus => {
            let l = StatusList::parse(val);
            if !l.is_empty() {
                rec.upstream_status = l;
            }
        }
        KvField::UpstreamAddr => set(&mut rec.upstream_addr, field(val)),
        KvField::Traceparent => set(&mut rec.trace_id, traceparent(trim(val))),
        KvField::TraceId => set(&mut rec.trace_id, field(val)),
        KvField::Host => set(&mut rec.host, field(val)),
        KvField::Route => set(&mut rec.route, field(val)),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Shared scanning helpers (used by apache.rs and nginx_format.rs too)
// ---------------------------------------------------------------------------------------------------------------

/// The combined prefix of a line, parsed.
pub(crate) struct Combined<'a> {
    /// client, consumer (`$remote_user`), time, request, status, bytes, referer, user agent.
    pub rec: Record<'a>,
    /// Index just after the closing quote of the user agent (the line's end or a space).
    pub rest: usize,
    /// The bytes field was `-` (Apache `%b` for zero bytes).
    pub bytes_dash: bool,
}

/// Parse `$remote_addr $ident $remote_user [$time_local] "$request" $status $bytes "$referer" "$user_agent"`.
pub(crate) fn parse_combined(line: &[u8]) -> Option<Combined<'_>> {
    let first = memchr(b' ', line).filter(|&sp| valid_client(&line[..sp]));
    if let Some(c) = first.and_then(|sp| combined_after(line, &line[..sp], sp)) {
        return Some(c);
    }
    // the address is not alone: an X-Forwarded-For list, or a virtual host before it
    if let Some((client, sp)) = address_list(line) {
        return combined_after(line, client, sp);
    }
    if let Some((client, sp)) = real_ip(line) {
        return combined_after(line, client, sp);
    }
    let (vhost, client, sp) = vhost_prefix(line)?;
    let mut c = combined_after(line, client, sp)?;
    c.rec.host = num::text(vhost);
    Some(c)
}

/// The rest of [`parse_combined`], from the space after the client address at `sp`.
fn combined_after<'a>(line: &'a [u8], client: &'a [u8], sp: usize) -> Option<Combined<'a>> {
    let (ident, p) = token_after_space(line, sp)?;
    if matches!(ident[0], b'[' | b'"') {
        return None;
    }
    let (user, p) = token_after_space(line, p)?;
    if matches!(user[0], b'[' | b'"') {
        return None;
    }
    if line.get(p) != Some(&b' ') || line.get(p + 1) != Some(&b'[') {
        return None;
    }
    let open = p + 2;
    let close = open + memchr(b']', &line[open..])?;
    let time = parse_clf(&line[open..close])?;
    let (request, p) = quoted_after_space(line, close + 1)?;
    let (status, p) = token_after_space(line, p)?;
    let status = parse_status(status)?;
    let (bytes, p) = token_after_space(line, p)?;
    let bytes_dash = bytes == b"-";
    let bytes_sent = if bytes_dash { None } else { Some(parse_u64(bytes)?) };
    let (referer, user_agent, request_time, rest) = match line.get(p + 1) {
        // `common` (CLF): the line ends with the byte count
        None => (None, None, None, p),
        Some(b'"') => {
            let (referer, p) = quoted_after_space(line, p)?;
            let (user_agent, rest) = quoted_after_space(line, p)?;
            (Some(referer), Some(user_agent), None, rest)
        }
        Some(_) => {
            let (token, p) = token_after_space(line, p)?;
            if token == b"-" {
                // an empty referer written bare, as older Traefik versions write their `common` format
                let (user_agent, rest) = quoted_after_space(line, p)?;
                (None, Some(user_agent), None, rest)
            } else if is_decimal_with_dot(token) {
                // `$request_time` before the referer, a common edit of `combined`
                let (referer, p) = quoted_after_space(line, p)?;
                let (user_agent, rest) = quoted_after_space(line, p)?;
                (Some(referer), Some(user_agent), secs_to_us(token), rest)
            } else {
                return None;
            }
        }
    };
    let (method, path, protocol) = split_request(request);
    let bad_request = if method.is_none() && path.is_none() { invalid_request(request) } else { None };
    let mut rec = Record {
        time: Some(time),
        method,
        path,
        protocol,
        status: Some(status),
        bytes_sent,
        bad_request,
        duration_us: request_time,
        ..Record::default()
    };
    rec.client = num::text(client);
    rec.consumer = field(user);
    rec.referer = referer.and_then(field);
    rec.user_agent = user_agent.and_then(field);
    Some(Combined { rec, rest, bytes_dash })
}

/// `TABLE[c]` says whether byte `c` is ASCII alphanumeric or one of `extra`.
const fn byte_table(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

static CLIENT_BYTE: [bool; 256] = byte_table(b".:-_%");
static KEY_BYTE: [bool; 256] = byte_table(b"_-.");

/// A client address: IPv4, IPv6 (bare, as nginx logs it, with an optional `%zone`), a host name or `unix:`.
#[inline]
fn valid_client(b: &[u8]) -> bool {
    !b.is_empty()
        && b.len() <= 255
        && (b[0].is_ascii_alphanumeric() || b[0] == b':')
        && b.iter().fold(true, |ok, &c| ok & CLIENT_BYTE[c as usize])
}

/// What Traefik's `common` format appends to `combined`: ` <requests> "<router>" "<server URL>" <duration>ms`.
pub(crate) struct TraefikTail<'a> {
    /// The router's name, as logged.
    pub router: &'a [u8],
    /// The server's URL, as logged.
    pub server: &'a [u8],
    /// The duration, in ms.
    pub ms: u64,
}

/// Traefik's tail after the combined part ending at `rest`, when the line ends with one. Lines of that shape are
/// Traefik's: nginx's and Apache's parsers leave them to it (Apache would read the request count as `%D`).
pub(crate) fn traefik_tail(line: &[u8], rest: usize) -> Option<TraefikTail<'_>> {
    // the duration ends the line: a cheap test before the scan
    if !line.ends_with(b"ms") {
        return None;
    }
    let (count, p) = token_after_space(line, rest)?;
    parse_u64(count)?;
    // Traefik writes a missing router or server as a bare `-`
    let quoted_or_dash =
        |p| quoted_after_space(line, p).or_else(|| token_after_space(line, p).filter(|(t, _)| *t == b"-"));
    let (router, p) = quoted_or_dash(p)?;
    let (server, p) = quoted_or_dash(p)?;
    let (ms, end) = token_after_space(line, p)?;
    let ms = parse_u64(ms.strip_suffix(b"ms")?)?;
    (end == line.len()).then_some(TraefikTail { router, server, ms })
}

/// A `$remote_addr` that is a list, as set-ups that log X-Forwarded-For in its place write it:
/// `10.0.0.2, 10.0.0.1, 127.0.0.1 - - […]`, `"10.5.102.222, 199.96.1.1" 10.2.1.185 - - […]`. The client is the
/// list's first address (X-Forwarded-For's order: the client, then each proxy); returns it and the index of the
/// space before `$ident`, the two tokens before the time. `None` when the line does not start with such a list.
fn address_list(line: &[u8]) -> Option<(&[u8], usize)> {
    let list = line.strip_prefix(b"\"").unwrap_or(line);
    let end = list.iter().take(256).position(|&c| matches!(c, b',' | b' ' | b'"'))?;
    let client = &list[..end];
    if list[end] != b',' || !valid_client(client) {
        return None;
    }
    // `… $ident $remote_user [$time_local]`: the list ends at the space before `$ident`
    let open = memchr::memmem::find(line, b" [")?;
    let user = memrchr(b' ', &line[..open])?;
    let ident = memrchr(b' ', &line[..user])?;
    (ident > end).then_some((client, ident))
}

/// ingress-nginx 0.x's `$remote_addr - [$the_real_ip] - $remote_user [$time_local] …`: the client is the real IP
/// (the one the controller found behind a load balancer or proxy protocol); returns it and the index of the space
/// before the `-` that stands for `$ident`.
fn real_ip(line: &[u8]) -> Option<(&[u8], usize)> {
    let sp = memchr(b' ', line)?;
    let rest = line[sp..].strip_prefix(b" - [")?;
    let close = memchr(b']', rest)?;
    let ip = &rest[..close];
    let after = sp + 4 + close + 1;
    (valid_client(&line[..sp]) && valid_client(ip) && line[after..].starts_with(b" - ")).then_some((ip, after))
}

/// A virtual host before the client, as Apache's `%v %h …` and nginx's `$host $remote_addr …` formats write it:
/// `vhost1.example.com 192.168.33.2 - - […]`. Returns the host, the client and the index of the space before
/// `$ident`.
fn vhost_prefix(line: &[u8]) -> Option<(&[u8], &[u8], usize)> {
    let open = memchr::memmem::find(line, b" [")?;
    let user = memrchr(b' ', &line[..open])?;
    let ident = memrchr(b' ', &line[..user])?;
    let host_end = memrchr(b' ', &line[..ident])?;
    let (vhost, client) = (&line[..host_end], &line[host_end + 1..ident]);
    (valid_client(vhost) && valid_client(client)).then_some((vhost, client, ident))
}

/// `[name]` → `name`.
fn bracketed(b: &[u8]) -> Option<&[u8]> {
    b.strip_prefix(b"[")?.strip_suffix(b"]")
}

/// `Some(None)` for `-`, `Some(Some(n))` for a number, `None` (not this format) otherwise.
fn u64_or_dash(b: &[u8]) -> Option<Option<u64>> {
    if b == b"-" { Some(None) } else { parse_u64(b).map(Some) }
}

fn secs_or_dash(b: &[u8]) -> Option<Option<u64>> {
    if b == b"-" { Some(None) } else { secs_to_us(b).map(Some) }
}

/// End of the token starting at `start`: the next space or the end of the line.
pub(crate) fn token_end(line: &[u8], start: usize) -> usize {
    // most tokens are short (status, bytes, ident): a plain loop beats memchr's setup for them
    let rest = &line[start..];
    match rest.iter().take(16).position(|&c| c == b' ') {
        Some(i) => start + i,
        None if rest.len() <= 16 => line.len(),
        None => memchr(b' ', &rest[16..]).map_or(line.len(), |i| start + 16 + i),
    }
}

/// The non-empty token after the space at `pos`; returns it and the index just past it.
pub(crate) fn token_after_space(line: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    if line.get(pos) != Some(&b' ') {
        return None;
    }
    let start = pos + 1;
    let end = token_end(line, start);
    (end > start).then(|| (&line[start..end], end))
}

/// Like [`token_after_space`] for a value that may be a list (`a, b` or `a : b`).
fn list_after_space(line: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    if line.get(pos) != Some(&b' ') || line.len() <= pos + 1 || line[pos + 1] == b' ' {
        return None;
    }
    let end = list_end(line, pos + 1);
    Some((&line[pos + 1..end], end))
}

/// The `"…"` field after the space at `pos`; returns its contents and the index just past the closing quote.
pub(crate) fn quoted_after_space(line: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    if line.get(pos) != Some(&b' ') || line.get(pos + 1) != Some(&b'"') {
        return None;
    }
    let start = pos + 2;
    let end = find_quote_end(line, start)?;
    Some((&line[start..end], end + 1))
}

/// True when the byte at `idx` is preceded (after `from`) by an odd number of backslashes.
pub(crate) fn is_escaped(line: &[u8], from: usize, idx: usize) -> bool {
    let mut k = idx;
    while k > from && line[k - 1] == b'\\' {
        k -= 1;
    }
    (idx - k) % 2 == 1
}

/// The closing quote of a field opened just before `from`: the first `"` that is not `\"`-escaped and is
/// followed by a space or the end of the line.
pub(crate) fn find_quote_end(line: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        let j = i + memchr(b'"', line.get(i..)?)?;
        if !is_escaped(line, from, j) && (j + 1 == line.len() || line[j + 1] == b' ') {
            return Some(j);
        }
        i = j + 1;
    }
}

/// End of a space-separated value that may be an nginx list: `10.0.0.1:80, 10.0.0.2:80` (tokens ending in
/// `,` continue) or `0.010 : 0.005` (a lone `:` token joins its neighbours).
pub(crate) fn list_end(line: &[u8], start: usize) -> usize {
    let mut end = token_end(line, start);
    while end < line.len() {
        if end > start && line[end - 1] == b',' && line.get(end + 1).is_some_and(|&c| c != b' ') {
            end = token_end(line, end + 1);
        } else if line[end..].starts_with(b" : ") && line.get(end + 3).is_some_and(|&c| c != b' ') {
            end = token_end(line, end + 3);
        } else {
            break;
        }
    }
    end
}

/// One field appended after the combined prefix.
pub(crate) struct Extra<'a> {
    /// The key of `key=value`, empty for a positional value.
    pub key: &'a [u8],
    /// The value, without its quotes.
    pub val: &'a [u8],
    /// The value was quoted.
    pub quoted: bool,
}

#[inline(always)]
fn is_key_byte(c: u8) -> bool {
    KEY_BYTE[c as usize]
}

/// The next extra at or after `pos` (leading spaces skipped); advances `pos`. A quoted value missing its closing
/// quote (truncated line) runs to the end of the line.
pub(crate) fn next_extra<'a>(line: &'a [u8], pos: &mut usize) -> Option<Extra<'a>> {
    let mut i = *pos;
    while i < line.len() && matches!(line[i], b' ' | b'\t') {
        i += 1;
    }
    *pos = i;
    if i >= line.len() {
        return None;
    }
    let quoted = |start: usize, pos: &mut usize| {
        let end = find_quote_end(line, start).unwrap_or(line.len());
        *pos = (end + 1).min(line.len());
        &line[start..end]
    };
    if line[i] == b'"' {
        let val = quoted(i + 1, pos);
        return Some(Extra { key: b"", val, quoted: true });
    }
    let mut k = i;
    while k < line.len() && is_key_byte(line[k]) {
        k += 1;
    }
    if k > i && line.get(k) == Some(&b'=') {
        let key = &line[i..k];
        let vs = k + 1;
        if line.get(vs) == Some(&b'"') {
            let val = quoted(vs + 1, pos);
            return Some(Extra { key, val, quoted: true });
        }
        let end = if vs < line.len() { list_end(line, vs) } else { vs };
        *pos = end;
        return Some(Extra { key, val: &line[vs..end], quoted: false });
    }
    let end = list_end(line, i);
    *pos = end;
    Some(Extra { key: b"", val: &line[i..end], quoted: false })
}

/// `0.123`, `12.5`: digits, one dot, digits (how nginx prints `$request_time`). Not a bare integer.
pub(crate) fn is_decimal_with_dot(b: &[u8]) -> bool {
    match memchr(b'.', b) {
        Some(d) => {
            d > 0
                && d + 1 < b.len()
                && b[..d].iter().all(u8::is_ascii_digit)
                && b[d + 1..].iter().all(u8::is_ascii_digit)
        }
        None => false,
    }
}

/// A 32-hex id (nginx `$request_id`) or a UUID.
pub(crate) fn is_hex_or_uuid_id(b: &[u8]) -> bool {
    (b.len() == 32 && b.iter().all(u8::is_ascii_hexdigit)) || ids::is_uuid(b)
}

/// The trace id of a W3C traceparent value, borrowed.
pub(crate) fn traceparent(b: &[u8]) -> Option<Cow<'_, str>> {
    std::str::from_utf8(b).ok().and_then(ids::traceparent_trace_id).map(Cow::Borrowed)
}

fn is_method(b: &[u8]) -> bool {
    (1..=20).contains(&b.len()) && b.iter().all(|&c| c.is_ascii_uppercase() || c == b'-' || c == b'_')
}

/// Longest invalid request line kept, in characters.
const BAD_REQUEST_CHARS: usize = 200;

/// A request line that is no HTTP request — a TLS handshake or other binary on an HTTP port (`\x16\x03\x01…`),
/// an invalid method (`PATCHp /`, `get /`), nothing at all (`""`, `-`) — as text to show, cut to
/// [`BAD_REQUEST_CHARS`]; `None` for a request [`split_request`] reads.
pub(crate) fn invalid_request(b: &[u8]) -> Option<Cow<'static, str>> {
    let (method, path, _) = split_request(b);
    if method.is_some() || path.is_some() {
        return None;
    }
    let b = trim(b);
    if is_placeholder(b) {
        return Some(Cow::Borrowed("(empty)"));
    }
    let text: String = String::from_utf8_lossy(b).chars().take(BAD_REQUEST_CHARS).collect();
    Some(Cow::Owned(text))
}

/// Method, path and protocol of a request line.
pub(crate) type RequestParts<'a> = (Option<Cow<'a, str>>, Option<Cow<'a, str>>, Option<Cow<'a, str>>);

/// Split `$request` (`GET /path HTTP/1.1`) into method, path and protocol. `-`, TLS handshakes and other
/// garbage give `None`s; a lone path gives the path only.
pub(crate) fn split_request(b: &[u8]) -> RequestParts<'_> {
    let b = trim(b);
    if is_placeholder(b) {
        return (None, None, None);
    }
    let Some(sp) = memchr(b' ', b) else {
        return (None, if b[0] == b'/' { field(b) } else { None }, None);
    };
    let method = &b[..sp];
    if !is_method(method) {
        return (None, if b[0] == b'/' { field(b) } else { None }, None);
    }
    let rest = trim(&b[sp + 1..]);
    match memrchr(b' ', rest) {
        Some(j) if rest[j + 1..].starts_with(b"HTTP/") => {
            (num::text(method), field(&rest[..j]), num::text(&rest[j + 1..]))
        }
        _ => (num::text(method), field(rest), None),
    }
}

/// The slice of `$request` holding the path (see [`split_request`]), untrimmed.
#[inline]
fn request_path_bytes(b: &[u8]) -> Option<&[u8]> {
    let b = trim(b);
    // short loops, not memchr: a method is at most 20 bytes and the protocol ends the request
    match b.iter().take(21).position(|&c| c == b' ') {
        Some(sp) if is_method(&b[..sp]) => {
            let rest = trim(&b[sp + 1..]);
            match rest.iter().rposition(|&c| c == b' ') {
                Some(j) if rest[j + 1..].starts_with(b"HTTP/") => Some(&rest[..j]),
                _ => Some(rest),
            }
        }
        _ if b.first() == Some(&b'/') => Some(b),
        _ => None,
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex4(b: &[u8]) -> Option<u32> {
    if b.len() < 4 {
        return None;
    }
    b[..4].iter().try_fold(0u32, |acc, &c| Some(acc << 4 | hex_val(c)? as u32))
}

/// A text field as logged, with escapes undone: nginx's `\xHH`, Apache's `\"`, `\\`, `\n`, `\xhh`, and JSON's
/// `\uXXXX` (for `escape=json`). Borrows when there is no backslash (the common case); `None` for placeholders.
pub(crate) fn field(b: &[u8]) -> Option<Cow<'_, str>> {
    let b = trim(b);
    if memchr(b'\\', b).is_none() {
        return num::text(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' && i + 1 < b.len() {
            let simple = match b[i + 1] {
                b'"' => Some(b'"'),
                b'\\' => Some(b'\\'),
                b'/' => Some(b'/'),
                b'\'' => Some(b'\''),
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'b' => Some(0x08),
                b'f' => Some(0x0c),
                b'v' => Some(0x0b),
                _ => None,
            };
            if let Some(s) = simple {
                out.push(s);
                i += 2;
                continue;
            }
            if b[i + 1] == b'x'
                && let Some(h) = b.get(i + 2).and_then(|&c| hex_val(c))
                && let Some(l) = b.get(i + 3).and_then(|&c| hex_val(c))
            {
                out.push(h << 4 | l);
                i += 4;
                continue;
            }
            if b[i + 1] == b'u'
                && let Some(cp) = hex4(&b[i + 2..])
            {
                let mut used = 6;
                let mut ch = char::from_u32(cp);
                if (0xD800..0xDC00).contains(&cp)
                    && b[i + 6..].starts_with(b"\\u")
                    && let Some(lo) = hex4(&b[i + 8..])
                    && (0xDC00..0xE000).contains(&lo)
                {
                    ch = char::from_u32(0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
                    used = 12;
                }
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.unwrap_or('\u{fffd}').encode_utf8(&mut buf).as_bytes());
                i += used;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    if is_placeholder(&out) {
        return None;
    }
    Some(Cow::Owned(match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }))
}

// ---------------------------------------------------------------------------------------------------------------
// Writers (the log generator's hot path: no per-field formatting machinery, no allocation)
// ---------------------------------------------------------------------------------------------------------------

/// Append one nginx `combined` line with the documented extras
/// `rid=$request_id rt=$request_time urt="$upstream_response_time" us="$upstream_status" ua="$upstream_addr"`,
/// followed by `uct="$upstream_connect_time" uht="$upstream_header_time"` when the request has those times.
pub fn write_nginx(r: &SynthRequest, out: &mut Vec<u8>) {
    write_combined(r, out, Escape::Nginx);
    out.extend_from_slice(b" rid=");
    push_esc(out, r.request_id.as_bytes(), Escape::Nginx);
    out.extend_from_slice(b" rt=");
    push_secs3(out, r.duration_us);
    out.extend_from_slice(b" urt=\"");
    push_list(out, &r.upstream_us, push_secs3);
    out.extend_from_slice(b"\" us=\"");
    push_list(out, &r.upstream_status, |o, s| push_u64(o, s as u64));
    out.extend_from_slice(b"\" ua=\"");
    push_addr_list(out, &r.upstream_addr);
    out.push(b'"');
    if let Some(phases) = &r.upstream_phases {
        let secs_or_dash = |o: &mut Vec<u8>, us: Option<u64>| match us {
            Some(us) => push_secs3(o, us),
            None => o.push(b'-'),
        };
        out.extend_from_slice(b" uct=\"");
        push_list(out, phases, |o, p| secs_or_dash(o, p.connected_us));
        out.extend_from_slice(b"\" uht=\"");
        push_list(out, phases, |o, p| secs_or_dash(o, p.headers_us));
        out.push(b'"');
    }
}

/// Append one ingress-nginx `upstreaminfo` line; the upstream name is `default-<route>-80`.
pub fn write_ingress(r: &SynthRequest, out: &mut Vec<u8>) {
    write_combined(r, out, Escape::Nginx);
    out.push(b' ');
    push_u64(out, r.bytes_received);
    out.push(b' ');
    push_secs3(out, r.duration_us);
    out.extend_from_slice(b" [default-");
    push_esc(out, r.route.as_bytes(), Escape::Nginx);
    out.extend_from_slice(b"-80] [] ");
    push_addr_list(out, &r.upstream_addr);
    out.push(b' ');
    // response length: the body of the last attempt; earlier (failed) attempts sent nothing on.
    if r.upstream_status.is_empty() {
        out.push(b'-');
    } else {
        for i in 0..r.upstream_status.len() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            push_u64(out, if i + 1 == r.upstream_status.len() { r.bytes_sent } else { 0 });
        }
    }
    out.push(b' ');
    push_list(out, &r.upstream_us, push_secs3);
    out.push(b' ');
    push_list(out, &r.upstream_status, |o, s| push_u64(o, s as u64));
    out.push(b' ');
    push_esc(out, r.request_id.as_bytes(), Escape::Nginx);
}

/// How a writer escapes a value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escape {
    /// nginx: `"`, `\`, controls and bytes ≥ 0x7F as `\xHH`.
    Nginx,
    /// Apache: `\"`, `\\`, `\n`/`\r`/`\t`, other non-printables as `\xhh`.
    Apache,
}

/// The combined prefix, with `-` for empty values (and for zero bytes in Apache's `%b`).
pub(crate) fn write_combined(r: &SynthRequest, out: &mut Vec<u8>, esc: Escape) {
    push_esc(out, r.client.as_bytes(), esc);
    out.extend_from_slice(b" - ");
    push_esc(out, r.consumer.as_deref().unwrap_or("").as_bytes(), esc);
    out.extend_from_slice(b" [");
    push_clf(out, r.time);
    out.extend_from_slice(b"] \"");
    out.extend_from_slice(r.method.as_bytes());
    out.push(b' ');
    push_esc(out, r.path.as_bytes(), esc);
    out.push(b' ');
    out.extend_from_slice(r.protocol.as_bytes());
    out.extend_from_slice(b"\" ");
    push_u64(out, r.status as u64);
    out.push(b' ');
    if esc == Escape::Apache && r.bytes_sent == 0 {
        out.push(b'-');
    } else {
        push_u64(out, r.bytes_sent);
    }
    out.extend_from_slice(b" \"");
    push_esc(out, r.referer.as_deref().unwrap_or("").as_bytes(), esc);
    out.extend_from_slice(b"\" \"");
    push_esc(out, r.user_agent.as_bytes(), esc);
    out.push(b'"');
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

fn needs_escape(c: u8) -> bool {
    c == b'"' || c == b'\\' || !(0x20..0x7f).contains(&c)
}

/// Append a value escaped as the server would log it; `-` when empty.
pub(crate) fn push_esc(out: &mut Vec<u8>, s: &[u8], esc: Escape) {
    if s.is_empty() {
        out.push(b'-');
        return;
    }
    if !s.iter().any(|&c| needs_escape(c)) {
        out.extend_from_slice(s);
        return;
    }
    for &c in s {
        if !needs_escape(c) {
            out.push(c);
            continue;
        }
        match (esc, c) {
            (Escape::Apache, b'"' | b'\\') => out.extend_from_slice(&[b'\\', c]),
            (Escape::Apache, b'\n') => out.extend_from_slice(b"\\n"),
            (Escape::Apache, b'\r') => out.extend_from_slice(b"\\r"),
            (Escape::Apache, b'\t') => out.extend_from_slice(b"\\t"),
            (Escape::Apache, _) => {
                out.extend_from_slice(&[b'\\', b'x', HEX_LOWER[(c >> 4) as usize], HEX_LOWER[(c & 15) as usize]])
            }
            (Escape::Nginx, _) => {
                out.extend_from_slice(&[b'\\', b'x', HEX_UPPER[(c >> 4) as usize], HEX_UPPER[(c & 15) as usize]])
            }
        }
    }
}

/// Append an unsigned integer in decimal.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Append `n` zero-padded to `width` digits.
fn push_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = 1;
    let mut m = n / 10;
    while m > 0 {
        digits += 1;
        m /= 10;
    }
    for _ in digits..width {
        out.push(b'0');
    }
    push_u64(out, n);
}

/// Microseconds as seconds with millisecond resolution, as nginx prints `$request_time`: `0.002`.
pub(crate) fn push_secs3(out: &mut Vec<u8>, us: u64) {
    let ms = us / 1000;
    push_u64(out, ms / 1000);
    out.push(b'.');
    push_padded(out, ms % 1000, 3);
}

/// `a, b, c` as nginx writes upstream lists, or `-` for none.
fn push_list<T: Copy>(out: &mut Vec<u8>, list: &[T], mut each: impl FnMut(&mut Vec<u8>, T)) {
    if list.is_empty() {
        out.push(b'-');
    }
    for (i, &item) in list.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        each(out, item);
    }
}

fn push_addr_list(out: &mut Vec<u8>, list: &[String]) {
    if list.is_empty() {
        out.push(b'-');
    }
    for (i, a) in list.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        push_esc(out, a.as_bytes(), Escape::Nginx);
    }
}

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// `$time_local` in the line's own offset: `01/May/2024:12:00:00 +0000` (sub-second part dropped).
pub(crate) fn push_clf(out: &mut Vec<u8>, t: LogTime) {
    let local = t.unix_us.div_euclid(1_000_000) + t.offset_s as i64;
    let (y, m, d) = super::time::civil_from_days(local.div_euclid(86_400));
    let sod = local.rem_euclid(86_400) as u64;
    push_padded(out, d as u64, 2);
    out.push(b'/');
    out.extend_from_slice(MONTHS[(m - 1) as usize]);
    out.push(b'/');
    push_padded(out, y.max(0) as u64, 4);
    out.push(b':');
    push_padded(out, sod / 3600, 2);
    out.push(b':');
    push_padded(out, sod / 60 % 60, 2);
    out.push(b':');
    push_padded(out, sod % 60, 2);
    out.push(b' ');
    out.push(if t.offset_s < 0 { b'-' } else { b'+' });
    let off = t.offset_s.unsigned_abs() as u64;
    push_padded(out, off / 3600, 2);
    push_padded(out, off / 60 % 60, 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_microsecond()
    }

    #[test]
    fn common_log_format() {
        // CLF: no referer or user agent after the byte count
        let r =
            parse(br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#).unwrap();
        assert_eq!((r.status, r.bytes_sent, r.path.as_deref()), (Some(200), Some(2326), Some("/apache_pb.gif")));
        assert_eq!((r.consumer.as_deref(), r.referer.as_deref(), r.user_agent.as_deref()), (Some("frank"), None, None));
        // and `- ` or a trailing word are still not CLF
        assert!(parse(br#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 abc"#).is_none());
    }

    #[test]
    fn request_time_before_the_referer() {
        let l =
            br#"127.0.0.1 - - [19/Feb/2015:15:50:36 -0500] "GET /big.pdf HTTP/1.1" 206 33973115 0.202 "-" "curl/8""#;
        let r = parse(l).unwrap();
        assert_eq!((r.status, r.duration_us, r.user_agent.as_deref()), (Some(206), Some(202_000), Some("curl/8")));
    }

    #[test]
    fn ingress_real_ip() {
        let l = br#"10.0.0.9 - [172.17.0.1] - - [07/Dec/2018:18:31:33 +0000] "GET / HTTP/1.1" 200 261 "-" "curl/8" 1904 0.011 [p-8080] 172.17.0.1:9000 298 0.012 200 abc"#;
        let r = parse_ingress(l).unwrap();
        assert_eq!(
            (r.client.as_deref(), r.status, r.route.as_deref()),
            (Some("172.17.0.1"), Some(200), Some("p-8080"))
        );
    }

    #[test]
    fn virtual_host_before_the_client() {
        let l = br#"vhost1.domaine.fr 192.168.33.2 - - [26/Dec/2016:16:22:14 +0000] "GET /hello HTTP/1.1" 404 499 "-" "curl/8""#;
        let r = parse(l).unwrap();
        assert_eq!(
            (r.client.as_deref(), r.host.as_deref(), r.status),
            (Some("192.168.33.2"), Some("vhost1.domaine.fr"), Some(404))
        );
        // three words before the identity are neither
        assert!(parse(br#"a b c - - [26/Dec/2016:16:22:14 +0000] "GET / HTTP/1.1" 404 499 "-" "-""#).is_none());
    }

    #[test]
    fn address_list_client() {
        let r = parse(br#"10.0.0.2, 10.0.0.1, 85.181.35.98 - - [07/Dec/2016:11:05:07 +0100] "GET /ocelot HTTP/1.1" 200 571 "-" "-""#)
            .unwrap();
        assert_eq!((r.client.as_deref(), r.status), (Some("10.0.0.2"), Some(200)));
        let quoted =
            br#""10.5.102.222, 199.96.1.1" 10.2.1.185 - - [22/Jan/2016:13:18:29 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#;
        assert_eq!(parse(quoted).unwrap().client.as_deref(), Some("10.5.102.222"));
        // a lone quoted or comma-ended token with nothing else is no list
        assert!(parse(br#""10.0.0.1 - - [22/Jan/2016:13:18:29 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#).is_none());
        assert!(parse(br#"10.0.0.1, [22/Jan/2016:13:18:29 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#).is_none());
    }

    #[test]
    fn combined_plain() {
        let l = br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;
        let r = parse(l).unwrap();
        assert_eq!(r.client.as_deref(), Some("127.0.0.1"));
        assert_eq!(r.consumer.as_deref(), Some("frank"));
        assert_eq!(r.time, Some(LogTime { unix_us: us("2000-10-10T13:55:36-07:00"), offset_s: -7 * 3600 }));
        assert_eq!(r.method.as_deref(), Some("GET"));
        assert_eq!(r.path.as_deref(), Some("/apache_pb.gif"));
        assert_eq!(r.protocol.as_deref(), Some("HTTP/1.0"));
        assert_eq!(r.status, Some(200));
        assert_eq!(r.bytes_sent, Some(2326));
        assert_eq!(r.referer.as_deref(), Some("http://www.example.com/start.html"));
        assert_eq!(r.user_agent.as_deref(), Some("Mozilla/4.08 [en] (Win98; I ;Nav)"));
        assert!(matches!(r.path, Some(Cow::Borrowed(_))), "hot path borrows");
        assert_eq!(r.request_id, None);
        assert_eq!(r.duration_us, None);
        assert!(parse_ingress(l).is_none(), "no [upstream] part");
    }

    #[test]
    fn combined_with_documented_extras() {
        let l = br#"10.1.2.3 - - [01/May/2024:12:00:00 +0200] "POST /v1/orders HTTP/1.1" 502 157 "-" "curl/8.5.0" rid=0af7651916cd43dd8448eb211c80319c rt=0.031 urt="0.001, 0.020" us="502, 200" ua="10.0.0.1:80, 10.0.0.2:80""#;
        let r = parse(l).unwrap();
        assert_eq!(r.time.unwrap().unix_us, us("2024-05-01T10:00:00Z"));
        assert_eq!(r.time.unwrap().offset_s, 7200);
        assert_eq!(r.request_id.as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
        assert_eq!(r.duration_us, Some(31_000));
        assert_eq!(r.upstream_us, Some(21_000));
        assert_eq!(r.upstream_status.as_slice(), &[502, 200]);
        assert_eq!(r.upstream_addr.as_deref(), Some("10.0.0.1:80, 10.0.0.2:80"));
        assert_eq!(r.referer, None);
    }

    #[test]
    fn kv_variants() {
        let l = br#"::1 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/2.0" 200 5 "-" "-" request_id="abc-123" request_time=1.5 upstream_response_time=0.010 : 0.005 upstream_status=504 : 200 traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 host=api.example.com route=orders foo=bar"#;
        let r = parse(l).unwrap();
        assert_eq!(r.client.as_deref(), Some("::1"));
        assert_eq!(r.user_agent, None);
        assert_eq!(r.request_id.as_deref(), Some("abc-123"));
        assert_eq!(r.duration_us, Some(1_500_000));
        assert_eq!(r.upstream_us, Some(15_000));
        assert_eq!(r.upstream_status.as_slice(), &[504, 200]);
        assert_eq!(r.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(r.host.as_deref(), Some("api.example.com"));
        assert_eq!(r.route.as_deref(), Some("orders"));
    }

    #[test]
    fn upstream_connect_and_header_times() {
        // one attempt, short keys after the documented ones
        let l = br#"203.0.113.7 - - [01/May/2024:12:00:00 +0000] "GET /v1/orders/123 HTTP/1.1" 200 157 "-" "curl/8.5.0" rid=0af7651916cd43dd8448eb211c80319c rt=0.014 urt="0.012" us="200" ua="10.0.0.7:8080" uct="0.001" uht="0.011""#;
        let r = parse(l).unwrap();
        assert_eq!(
            (r.upstream_connect_us, r.upstream_header_us, r.upstream_us),
            (Some(1_000), Some(11_000), Some(12_000))
        );
        // a retry: the first connect never completed (`-`, which counts as nothing), the lists are summed
        let l = br#"203.0.113.8 - - [01/May/2024:12:00:01 +0000] "POST /v1/orders HTTP/1.1" 200 88 "-" "okhttp/4.12.0" rt=1.040 urt="1.002, 0.030" us="502, 200" ua="10.0.0.1:80, 10.0.0.2:80" uct="-, 0.002" uht="-, 0.021""#;
        let r = parse(l).unwrap();
        assert_eq!((r.upstream_connect_us, r.upstream_header_us), (Some(2_000), Some(21_000)));
        // long names, unquoted `a : b` lists (an internal redirect), upper case, before `urt`
        let l = br#"::1 - - [01/May/2024:12:00:02 +0000] "GET / HTTP/2.0" 200 5 "-" "-" request_time=0.180 UPSTREAM_CONNECT_TIME=0.002 : 0.001 upstream_header_time=0.009 : 0.150 upstream_response_time=0.010 : 0.160"#;
        let r = parse(l).unwrap();
        assert_eq!(
            (r.upstream_connect_us, r.upstream_header_us, r.upstream_us),
            (Some(3_000), Some(159_000), Some(170_000))
        );
        assert_eq!(r.duration_us, Some(180_000));
        // no upstream: placeholders, quoted, bare and empty
        for tail in [&br#" uct="-" uht="-""#[..], b" uct=- uht=-", br#" uct="" uht="""#, b" uct=\"-, -\" uht=\"-, -\""]
        {
            let mut l = br#"203.0.113.9 - - [01/May/2024:12:00:03 +0000] "GET /v1/account HTTP/1.1" 401 0 "-" "curl/8.5.0" urt="-" us="-""#.to_vec();
            l.extend_from_slice(tail);
            let r = parse(&l).unwrap();
            let ctx = String::from_utf8_lossy(&l);
            assert_eq!((r.upstream_connect_us, r.upstream_header_us), (None, None), "{ctx}");
            assert_eq!(Summary::of(&r), summarize(&l).unwrap(), "{ctx}");
        }
        // lines without the keys have none
        let l = br#"10.1.2.3 - - [01/May/2024:12:00:00 +0200] "POST /v1/orders HTTP/1.1" 502 157 "-" "curl/8.5.0" rid=0af7651916cd43dd8448eb211c80319c rt=0.031 urt="0.001, 0.020" us="502, 200" ua="10.0.0.1:80, 10.0.0.2:80""#;
        let r = parse(l).unwrap();
        assert_eq!((r.upstream_connect_us, r.upstream_header_us), (None, None));
    }

    #[test]
    fn positional_extras() {
        let l = br#"1.2.3.4 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "203.0.113.9, 10.0.0.1" 0.250 3fa85f64-5717-4562-b3fc-2c963f66afa6"#;
        let r = parse(l).unwrap();
        assert_eq!(r.duration_us, Some(250_000));
        assert_eq!(r.request_id.as_deref(), Some("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
        assert_eq!(r.client.as_deref(), Some("1.2.3.4"));
        // a bare integer (Apache %D) and a unique id are not claimed
        let l = br#"1.2.3.4 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" 1234 WZ0yNX8AAQEAAB4mLpIAAAAD"#;
        let r = parse(l).unwrap();
        assert_eq!(r.duration_us, None);
        assert_eq!(r.request_id, None);
    }

    #[test]
    fn escapes_and_garbage() {
        let l = br#"1.2.3.4 - - [01/May/2024:12:00:00 +0000] "\x16\x03\x01\x00\xA5\x01\x00\x00\xA1\x03\x03" 400 157 "-" "-""#;
        let r = parse(l).unwrap();
        assert_eq!((r.method, r.path, r.protocol), (None, None, None));
        assert_eq!(r.status, Some(400));
        let l = br#"1.2.3.4 - - [01/May/2024:12:00:00 +0000] "GET /q?s=\x22hi\x22 HTTP/1.1" 499 0 "-" "Bot \x22X\x22 caf\xC3\xA9""#;
        let r = parse(l).unwrap();
        assert_eq!(r.path.as_deref(), Some("/q?s=\"hi\""));
        assert_eq!(r.user_agent.as_deref(), Some("Bot \"X\" café"));
        assert_eq!(r.status, Some(499));
        assert_eq!(r.bytes_sent, Some(0));
        let l = br#"1.2.3.4 - - [01/May/2024:12:00:00 +0000] "-" 444 0 "-" "-""#;
        let r = parse(l).unwrap();
        assert_eq!((r.method, r.path, r.status), (None, None, Some(444)));
        let l = br#"1.2.3.4 - - [01/May/2024:12:00:00 +0000] "/just/a/path" 400 0 "-" "-""#;
        assert_eq!(parse(l).unwrap().path.as_deref(), Some("/just/a/path"));
    }

    #[test]
    fn rejects_other_shapes() {
        for l in [
            &br#"{"status":200,"request":"GET / HTTP/1.1"}"#[..],
            b"level=info msg=hello request_id=abc",
            b"[2024-05-01T12:00:00.000Z] \"GET / HTTP/1.1\" 200 - 0 5 1 1 \"-\" \"curl\" \"id\" \"host\" \"10.0.0.1:80\"",
            b"haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750",
            b"just some free text",
            br#"1.2.3.4 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "trunc"#,
            br#"1.2.3.4 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 2x0 5 "-" "-""#,
            b"",
        ] {
            assert!(parse(l).is_none(), "{}", String::from_utf8_lossy(l));
            assert!(parse_ingress(l).is_none(), "{}", String::from_utf8_lossy(l));
        }
    }

    #[test]
    fn ingress_lists() {
        let l = br#"192.168.1.10 - - [01/May/2024:12:00:00 +0000] "GET /api HTTP/1.1" 200 12 "-" "kube-probe/1.29" 512 0.032 [default-api-80] [] 10.244.0.5:8080, 10.244.0.6:8080 0, 12 0.010, 0.020 502, 200 5b5f4d1c1e4f4b0f9d5c2a3e6f7a8b9c"#;
        let r = parse_ingress(l).unwrap();
        assert_eq!(r.bytes_received, Some(512));
        assert_eq!(r.duration_us, Some(32_000));
        assert_eq!(r.route.as_deref(), Some("default-api-80"));
        assert_eq!(r.upstream_addr.as_deref(), Some("10.244.0.5:8080, 10.244.0.6:8080"));
        assert_eq!(r.upstream_us, Some(30_000));
        assert_eq!(r.upstream_status.as_slice(), &[502, 200]);
        assert_eq!(r.request_id.as_deref(), Some("5b5f4d1c1e4f4b0f9d5c2a3e6f7a8b9c"));
        let l = br#"192.168.1.10 - - [01/May/2024:12:00:00 +0000] "GET /api HTTP/1.1" 200 12 "-" "-" 512 0.032 [default-api-80] [alt] 10.0.0.1:80 : 127.0.0.1:8181 0 : 12 0.010 : 0.005 401 : 200 id1"#;
        let r = parse_ingress(l).unwrap();
        assert_eq!(r.upstream_addr.as_deref(), Some("10.0.0.1:80 : 127.0.0.1:8181"));
        assert_eq!(r.upstream_us, Some(15_000));
        assert_eq!(r.upstream_status.as_slice(), &[401, 200]);
        assert_eq!(r.request_id.as_deref(), Some("id1"));
    }

    #[test]
    fn clf_writer_matches_parser() {
        for (t, off) in [(0i64, 0i32), (951_782_400, -25_200), (1_714_564_800, 19_800), (4_102_444_799, 3600)] {
            let lt = LogTime { unix_us: t * 1_000_000 + 999, offset_s: off };
            let mut out = Vec::new();
            push_clf(&mut out, lt);
            let back = parse_clf(&out).unwrap();
            assert_eq!(back, LogTime { unix_us: t * 1_000_000, offset_s: off }, "{}", String::from_utf8_lossy(&out));
        }
        let mut out = Vec::new();
        push_clf(&mut out, LogTime { unix_us: us("2000-10-10T20:55:36Z"), offset_s: -7 * 3600 });
        assert_eq!(out, b"10/Oct/2000:13:55:36 -0700");
    }

    #[test]
    fn number_writers() {
        let mut out = Vec::new();
        push_secs3(&mut out, 2_000);
        out.push(b' ');
        push_secs3(&mut out, 12_345_678);
        out.push(b' ');
        push_u64(&mut out, 0);
        out.push(b' ');
        push_u64(&mut out, u64::MAX);
        assert_eq!(out, b"0.002 12.345 0 18446744073709551615");
    }

    #[test]
    fn writer_example() {
        let mut out = Vec::new();
        write_nginx(&SynthRequest::example(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"203.0.113.7 - mobile-app [01/May/2024:12:00:00 +0000] "POST /v1/orders/123?expand=items HTTP/1.1" 502 157 "-" "curl/8.5.0" rid=0af7651916cd43dd8448eb211c80319c rt=0.002 urt="0.001" us="502" ua="10.0.0.7:8080""#
        );
        let mut out = Vec::new();
        write_ingress(&SynthRequest::example(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"203.0.113.7 - mobile-app [01/May/2024:12:00:00 +0000] "POST /v1/orders/123?expand=items HTTP/1.1" 502 157 "-" "curl/8.5.0" 412 0.002 [default-orders-80] [] 10.0.0.7:8080 157 0.001 502 0af7651916cd43dd8448eb211c80319c"#
        );
    }

    #[test]
    fn writer_with_upstream_phases() {
        use crate::synth::AttemptPhases;
        let mut r = SynthRequest::example();
        r.upstream_us = vec![1_507_000];
        let phases = AttemptPhases { connected_us: Some(1_500_123), headers_us: Some(1_504_999) };
        r.upstream_phases = Some(vec![phases]);
        let mut out = Vec::new();
        write_nginx(&r, &mut out);
        assert!(
            out.ends_with(br#" urt="1.507" us="502" ua="10.0.0.7:8080" uct="1.500" uht="1.504""#),
            "{}",
            String::from_utf8_lossy(&out)
        );
        let back = parse(&out).unwrap();
        assert_eq!(
            (back.upstream_connect_us, back.upstream_header_us, back.upstream_us),
            (Some(1_500_000), Some(1_504_000), Some(1_507_000))
        );
        // an attempt that never got its headers, and a request that reached no upstream
        r.upstream_phases = Some(vec![AttemptPhases { headers_us: None, ..phases }]);
        let mut out = Vec::new();
        write_nginx(&r, &mut out);
        assert!(out.ends_with(br#" uct="1.500" uht="-""#), "{}", String::from_utf8_lossy(&out));
        r.upstream_phases = Some(vec![]);
        let mut out = Vec::new();
        write_nginx(&r, &mut out);
        assert!(out.ends_with(br#" uct="-" uht="-""#), "{}", String::from_utf8_lossy(&out));
        assert_eq!(parse(&out).unwrap().upstream_connect_us, None);
    }

    #[test]
    fn unescape() {
        assert_eq!(field(br"a\x22b\\c\u00e9\ud83d\ude00").as_deref(), Some("a\"b\\cé😀"));
        assert_eq!(field(br"\x2D"), None, "decodes to a placeholder");
        assert_eq!(field(br"bad\xZZ\").as_deref(), Some("bad\\xZZ\\"));
        assert_eq!(field(br"\xFF").as_deref(), Some("\u{fffd}"));
    }
}

#[cfg(test)]
mod summary_tests {
    use proptest::prelude::*;

    use super::*;

    /// The summary cut straight from the line must say what the full record says, and exist only for lines
    /// that parse.
    fn assert_same(line: &[u8]) {
        let ctx = String::from_utf8_lossy(line);
        if let Some(m) = Marks::of(line) {
            assert_eq!(scan_fast(line, &m), scan_fast(line, &Memchr(line)), "the finders disagree: {ctx}");
        }
        match (parse(line), summarize(line)) {
            (Some(full), Some(sum)) => assert_eq!(sum, Summary::of(&full), "{ctx}"),
            (None, Some(_)) => panic!("a summary for a line that does not parse: {ctx}"),
            (_, None) => {}
        }
    }

    proptest! {
        /// The shortcut for long untrimmed values gives what trimming and the placeholder test give.
        #[test]
        fn bytes_field_as_trim_and_placeholder(b in prop::collection::vec(prop::sample::select(&b" \t-\"nulNoeia1"[..]), 0..8)) {
            let b = &b[..];
            let want = Some(trim(b)).filter(|t| !is_placeholder(t));
            prop_assert_eq!(bytes_field(b), want);
        }
    }

    fn fixture_lines() -> Vec<Vec<u8>> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nginx");
        let mut lines = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            lines.extend(data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec));
        }
        assert!(lines.len() > 30);
        lines
    }

    #[test]
    fn summary_matches_full_on_fixtures_and_generated_lines() {
        let (mut fixtures_fast, mut fixtures_timed) = (0, 0);
        for l in fixture_lines() {
            assert_same(&l);
            fixtures_fast += summarize(&l).is_some() as u32;
            fixtures_timed += summarize(&l).is_some_and(|s| s.upstream_connect_us.is_some()) as u32;
        }
        assert!(fixtures_fast >= 5, "the fixtures exercise the fast path too: {fixtures_fast}");
        assert!(fixtures_timed >= 3, "and its upstream connect and header times: {fixtures_timed}");
        let mut g = crate::generate::Generator::new(crate::generate::GenConfig {
            requests: 3000,
            incident: true,
            ..Default::default()
        });
        let mut fast = 0;
        while let Some(r) = g.next_request() {
            let mut line = Vec::new();
            write_nginx(&r, &mut line);
            assert_same(&line);
            fast += summarize(&line).is_some() as u32;
        }
        assert_eq!(fast, 3000, "generated lines take the fast path");
        // lines with the upstream connect and header times appended
        let mut g = crate::generate::Generator::new(crate::generate::GenConfig {
            requests: 3000,
            scenario: Some(crate::generate::Scenario::SlowConnect),
            ..Default::default()
        });
        let mut timed = 0;
        while let Some(r) = g.next_request() {
            let mut line = Vec::new();
            write_nginx(&r, &mut line);
            assert_same(&line);
            let s = summarize(&line).expect("generated lines take the fast path");
            timed += (s.upstream_connect_us.is_some() && s.upstream_header_us.is_some()) as u32;
        }
        assert!(timed > 2500, "most generated requests reach an upstream: {timed}");
    }

    /// Lines longer than the structural masks cover take the memchr scanner, with the same results.
    #[test]
    fn summary_matches_full_on_long_lines() {
        let mut fast = 0;
        for l in fixture_lines() {
            for pad in [marks::MAX_LEN - l.len().min(marks::MAX_LEN), 300, 600, 5000] {
                for extra in [&b" note=\""[..], b" \"", b" ua=\"", b" rid="] {
                    let mut long = l.clone();
                    long.extend_from_slice(extra);
                    long.extend(std::iter::repeat_n(b'x', pad));
                    if extra.ends_with(b"\"") {
                        long.push(b'"');
                    }
                    assert_same(&long);
                    fast += (long.len() > marks::MAX_LEN && summarize(&long).is_some()) as u32;
                }
            }
        }
        assert!(fast >= 20, "long lines take the fast path: {fast}");
    }

    /// Every single-byte change to every fixture line, with the bytes the fast path steers by.
    #[test]
    fn summary_matches_full_on_structural_byte_changes() {
        for line in fixture_lines() {
            for p in 0..=line.len() {
                let mut cut = line.clone();
                cut.truncate(p);
                assert_same(&cut);
                for b in *b"[]\" -=,:+.0x\t" {
                    let mut l = line.clone();
                    if p < l.len() {
                        l[p] = b
                    } else {
                        l.push(b)
                    }
                    assert_same(&l);
                }
            }
        }
        assert_same(br#"203.0.113.9 - - [01/May/2024:12:00:02 +00]0] "GET /v1/orders HTTP/1.1" 503 190 "-" "curl/8.5.0" rid=1b2c3d4e5f60718293a4b5c6d7e8f901 rt=0.000"#);
    }

    proptest! {
        #[test]
        fn summary_matches_full_on_mutations(idx in 0usize..1000, pos in 0usize..400, byte in any::<u8>(), cut in any::<bool>()) {
            let lines = fixture_lines();
            let mut l = lines[idx % lines.len()].clone();
            let p = pos % (l.len() + 1);
            if cut { l.truncate(p) } else if p < l.len() { l[p] = byte } else { l.push(byte) }
            assert_same(&l);
        }
    }
}
