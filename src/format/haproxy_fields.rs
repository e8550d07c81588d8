//! The pieces of one HAProxy log line, whatever wrote it (a built-in format or a compiled `log-format`), and the
//! record they make: timers to durations, captured headers guessed by their shape.

use std::borrow::Cow;

use crate::format::num;
use crate::format::textscan as scan;
use crate::record::{Record, StatusList};

fn is_id_like(b: &[u8]) -> bool {
    crate::ids::is_uuid(b)
        || (b.len() >= 16
            && b.len() <= 64
            && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'))
            && b.iter().any(u8::is_ascii_digit))
}

/// A Host header: a dotted name, or any name with a port (`localhost:8888`).
pub(crate) fn is_hostname(b: &[u8]) -> bool {
    let with_port = memchr::memrchr(b':', b).is_some_and(|k| num::parse_u64(&b[k + 1..]).is_some());
    (b.contains(&b'.') || with_port)
        && b.iter().any(u8::is_ascii_alphabetic)
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':' | b'[' | b']'))
}

#[derive(Default)]
struct Captured<'a> {
    id: Option<&'a [u8]>,
    trace: Option<&'a str>,
    host: Option<&'a [u8]>,
    user_agent: Option<&'a [u8]>,
    referer: Option<&'a [u8]>,
}

/// Guess what each `|`-separated captured request header is.
fn captured(block: &[u8]) -> Captured<'_> {
    let mut c = Captured::default();
    for v in block.split(|&b| b == b'|').map(num::trim) {
        if num::is_placeholder(v) {
            continue;
        }
        if let Some(t) = std::str::from_utf8(v).ok().and_then(crate::ids::traceparent_trace_id) {
            c.trace.get_or_insert(t);
        } else if is_id_like(v) {
            c.id.get_or_insert(v);
        } else if memchr::memmem::find(v, b"://").is_some() {
            c.referer.get_or_insert(v);
        } else if is_hostname(v) {
            c.host.get_or_insert(v);
        } else if v.contains(&b'/') && !v.starts_with(b"/") {
            c.user_agent.get_or_insert(v);
        }
    }
    c
}

/// The pieces of one HAProxy log line, whatever format wrote them; `-1` timers are kept as HAProxy wrote them.
#[derive(Default)]
pub(crate) struct Fields<'a> {
    pub time: Option<crate::record::LogTime>,
    pub client: Option<&'a [u8]>,
    pub backend: Option<&'a [u8]>,
    pub server: Option<&'a [u8]>,
    /// `%Tc`: connect time to the server.
    pub t_connect: Option<i64>,
    /// `%Tr`: from the connect to the server's complete response headers.
    pub t_resp: Option<i64>,
    /// `%Ta` (active time), or `%Tt` (total) when that is all there is.
    pub t_total: Option<i64>,
    pub status: Option<i64>,
    pub bytes: Option<i64>,
    pub term: Option<&'a [u8]>,
    pub req_headers: Option<&'a [u8]>,
    /// The whole request line (`%r`).
    pub request: Option<&'a [u8]>,
    pub method: Option<&'a [u8]>,
    pub path: Option<&'a [u8]>,
    pub protocol: Option<&'a [u8]>,
    pub unique_id: Option<&'a [u8]>,
    /// A logged Host header (`%[req.hdr(host)]`); else a captured one is used.
    pub host: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    /// The record these pieces describe.
    pub(crate) fn record(self) -> Record<'a> {
        let cap = self.req_headers.map(captured).unwrap_or_default();
        let (mut method, mut path, mut protocol) = self.request.map(scan::request).unwrap_or_default();
        // `<BADREQ>` (an unparsable request) and `""` (none at all) name no method
        if method.as_deref().is_some_and(|m| m.starts_with('<')) {
            method = None;
        }
        if let Some(m) = self.method.and_then(num::text) {
            method = Some(m);
        }
        if let Some(p) = self.path.and_then(num::text) {
            path = Some(p);
        }
        if let Some(p) = self.protocol.and_then(num::text) {
            protocol = Some(p);
        }
        let status = self.status.and_then(|s| u16::try_from(s).ok()).filter(|s| (100..=999).contains(s));
        let mut upstream_status = StatusList::new();
        if let (true, Some(s)) = (self.t_resp.is_some_and(|t| t >= 0), status) {
            upstream_status.push(s);
        }
        // a timer too large to count in microseconds is no time at all
        let ms = |v: i64| u64::try_from(v).ok().and_then(|v| v.checked_mul(1000));
        let server = self.server.filter(|s| *s != b"<NOSRV>");
        Record {
            time: self.time,
            method,
            path,
            protocol,
            host: self.host.or(cap.host).and_then(num::text),
            status,
            upstream_status,
            duration_us: self.t_total.and_then(ms),
            upstream_us: self.t_resp.and_then(ms),
            upstream_connect_us: self.t_connect.and_then(ms),
            upstream_header_us: match (self.t_connect, self.t_resp) {
                (Some(c), Some(r)) if c >= 0 && r >= 0 => c.checked_add(r).and_then(ms),
                _ => None,
            },
            upstream_addr: server.and_then(num::text),
            client: self.client.and_then(num::text),
            bytes_sent: self.bytes.and_then(|b| u64::try_from(b).ok()),
            user_agent: cap.user_agent.and_then(num::text),
            referer: cap.referer.and_then(num::text),
            request_id: self.unique_id.and_then(scan::text).or_else(|| cap.id.and_then(num::text)),
            trace_id: cap.trace.map(Cow::Borrowed),
            flags: self.term.and_then(num::text),
            route: self.backend.and_then(num::text),
            ..Record::default()
        }
    }
}
