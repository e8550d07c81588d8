//! Envoy's own log (`--log-level debug`, or a component's level raised at `/logging`):
//! `[2024-05-01 12:00:01.843][27][debug][router] [source/common/router/router.cc:1210] [C2][S104953…] upstream
//! reset: reset reason: remote connection failure, …` — since 1.27 the ids also as `[Tags:
//! "ConnectionId":"2","StreamId":"104953…"]`.
//!
//! A line carries no request id, but names its stream; the request headers Envoy dumps for a stream (the lines
//! `'x-request-id', '…'` after `request headers complete`) carry the id, which is what [`crate::stream_join`]
//! joins the stream's lines to the request by.

use crate::record::Level;

/// One line of Envoy's own log.
#[derive(Clone, Debug, PartialEq)]
pub struct DebugLine<'a> {
    /// The time as written (the host's local time, no zone), read as if it were UTC, µs.
    pub wall_us: i64,
    /// Level (`trace` and `debug` are debug).
    pub level: Option<Level>,
    /// Component (`router`, `http`, `pool`, `connection` …).
    pub component: &'a [u8],
    /// Downstream (or upstream) connection id, `[C2]`.
    pub connection: Option<u64>,
    /// Stream id, `[S…]`.
    pub stream: Option<u64>,
    /// What follows the ids.
    pub message: &'a [u8],
}

/// `[inner]` at the start of `b`: the inner bytes and the rest after `]`.
fn bracket(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let b = b.strip_prefix(b"[")?;
    let close = memchr::memchr(b']', b)?;
    Some((&b[..close], &b[close + 1..]))
}

fn number(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// `"Name":"123"` inside a `[Tags: …]` block.
fn tag(tags: &[u8], name: &[u8]) -> Option<u64> {
    let key = [b"\"", name, b"\":\""].concat();
    let at = memchr::memmem::find(tags, &key)? + key.len();
    let end = memchr::memchr(b'"', &tags[at..])?;
    number(&tags[at..at + end])
}

/// Parse a line if it has the shape of Envoy's own log (`[time][thread][level][component] …`).
pub fn parse(line: &[u8]) -> Option<DebugLine<'_>> {
    let (time, rest) = bracket(line)?;
    let wall = super::time::parse_iso(time)?;
    let (thread, rest) = bracket(rest)?;
    number(thread)?;
    let (level, rest) = bracket(rest)?;
    let level = match level {
        b"trace" | b"debug" => Some(Level::Debug),
        b"info" => Some(Level::Info),
        b"warning" | b"warn" => Some(Level::Warn),
        b"error" => Some(Level::Error),
        b"critical" => Some(Level::Fatal),
        _ => return None,
    };
    let (component, mut rest) = bracket(rest)?;
    rest = rest.trim_ascii_start();
    // the source location, when the log format has it (the default does)
    if let Some((loc, after)) = bracket(rest)
        && memchr::memchr(b':', loc).is_some()
        && !loc.starts_with(b"Tags:")
    {
        rest = after.trim_ascii_start();
    }
    let (mut connection, mut stream) = (None, None);
    if let Some((tags, after)) = bracket(rest).filter(|(t, _)| t.starts_with(b"Tags:")) {
        // `]` cannot occur inside the tags' quoted numbers, so the first one closes the block
        connection = tag(tags, b"ConnectionId");
        stream = tag(tags, b"StreamId");
        rest = after.trim_ascii_start();
    } else {
        if let Some((c, after)) = bracket(rest).filter(|(c, _)| c.first() == Some(&b'C')) {
            connection = number(&c[1..]);
            rest = after;
        }
        if let Some((s, after)) = bracket(rest).filter(|(s, _)| s.first() == Some(&b'S')) {
            stream = number(&s[1..]);
            rest = after;
        }
        rest = rest.trim_ascii_start();
    }
    Some(DebugLine { wall_us: wall.unix_us, level, component, connection, stream, message: rest })
}

/// Whether the line's message opens a dump of headers (`request headers complete (end_stream=true):`,
/// `router decoding headers:`): the lines after it, up to a blank one, are `'name', 'value'` pairs.
pub fn opens_header_dump(message: &[u8]) -> bool {
    message.ends_with(b":") && memchr::memmem::find(message, b"headers").is_some()
}

/// A header line of a dump: `'x-request-id', '0af7…'`.
pub fn header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let line = line.trim_ascii();
    let rest = line.strip_prefix(b"'")?;
    let end = memchr::memmem::find(rest, b"', '")?;
    let value = rest[end + 4..].strip_suffix(b"'")?;
    Some((&rest[..end], value))
}

/// Whether a stream's line says why its request failed: an upstream reset or timeout, a local reply's details.
pub fn is_cause(message: &[u8]) -> bool {
    [&b"upstream reset:"[..], b"upstream timeout", b"Sending local reply with details", b"no healthy upstream"]
        .iter()
        .any(|p| memchr::memmem::find(message, p).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_ids() {
        let l = parse(b"[2024-05-01 12:00:01.843][27][debug][router] [source/common/router/router.cc:1210] [C2][S10495318218713431447] upstream reset: reset reason: remote connection failure").unwrap();
        assert_eq!((l.connection, l.stream), (Some(2), Some(10495318218713431447)));
        assert_eq!(l.component, b"router");
        assert_eq!(l.level, Some(Level::Debug));
        assert_eq!(l.message, b"upstream reset: reset reason: remote connection failure");
        assert_eq!(l.wall_us, crate::format::time::parse_iso(b"2024-05-01T12:00:01.843Z").unwrap().unix_us);
        assert!(is_cause(l.message));
    }

    #[test]
    fn the_tags_of_later_versions() {
        let l = parse(br#"[2024-05-01 12:00:01.843][27][debug][http] [source/common/http/conn_manager_impl.cc:329] [Tags: "ConnectionId":"5","StreamId":"777"] new stream"#).unwrap();
        assert_eq!((l.connection, l.stream, l.message), (Some(5), Some(777), &b"new stream"[..]));
    }

    #[test]
    fn a_connection_only_and_no_location() {
        let l = parse(b"[2024-05-01 12:00:01.843][27][warning][connection] [C3] delayed connect error: 111").unwrap();
        assert_eq!((l.connection, l.stream, l.level), (Some(3), None, Some(Level::Warn)));
        assert_eq!(l.message, b"delayed connect error: 111");
    }

    #[test]
    fn dumps_and_other_lines() {
        assert!(opens_header_dump(b"request headers complete (end_stream=true):"));
        assert!(opens_header_dump(b"router decoding headers:"));
        assert_eq!(header(b"'x-request-id', 'abc'"), Some((&b"x-request-id"[..], &b"abc"[..])));
        assert_eq!(header(b"':path', '/a', 'b'"), Some((&b":path"[..], &b"/a', 'b"[..])));
        assert!(parse(b"[01/May/2024:12:00:00 +0000] \"GET / HTTP/1.1\" 200").is_none());
        assert!(parse(b"2024/05/01 12:03:17 [error] 31#31: *5 connect() failed").is_none());
        assert!(parse(b"[2024-05-01 12:00:01.843][27][loud][router] x").is_none());
    }
}
