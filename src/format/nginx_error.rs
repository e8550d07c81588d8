//! nginx's error log: `2024/05/01 12:03:17 [error] 31#31: *5 connect() failed (111: Connection refused) while
//! connecting to upstream, client: 10.0.0.1, server: api, request: "GET /v1/orders/1 HTTP/1.1", upstream:
//! "http://10.0.0.7:8080/v1/orders/1", host: "api.example.com"`.
//!
//! The line carries no request id and its time has no zone (the host's local time), but it names the request:
//! client, request line, upstream and host, which is what [`crate::errorlog`] joins it to the access log by.
//! The text fields are read by the plain-text parser (which reads this context already); this adds what only
//! the error log has: the process, thread and connection numbers, and the wall-clock time as written.

use super::options::ParseOptions;
use super::plain;
use crate::record::Record;

/// One nginx error-log line.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorLine<'a> {
    /// The time as written, read as if it were UTC (the zone is the host's, decided by whoever joins), µs.
    pub wall_us: i64,
    /// Worker process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// The `*N` connection number, when the error belongs to a connection.
    pub connection: Option<u64>,
    /// Level, message (the cause, before `, client:`), client, host, method/path/protocol, upstream address
    /// (`host:port` of the upstream URL), referrer.
    pub record: Record<'a>,
}

fn number<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Parse a line if it has the error log's shape (`YYYY/MM/DD HH:MM:SS [level] pid#tid: `).
pub fn parse(line: &[u8]) -> Option<ErrorLine<'_>> {
    let line = line.trim_ascii_end();
    let (wall, used) = plain::scan_slash(line)?;
    let rest = line.get(used..)?.strip_prefix(b" [")?;
    let close = memchr::memchr(b']', rest)?;
    if close == 0 || close > 8 || !rest[..close].iter().all(u8::is_ascii_lowercase) {
        return None;
    }
    let rest = rest[close + 1..].strip_prefix(b" ")?;
    let hash = memchr::memchr(b'#', rest)?;
    let pid = number(&rest[..hash])?;
    let colon = hash + 1 + memchr::memchr(b':', &rest[hash + 1..])?;
    let tid = number(&rest[hash + 1..colon])?;
    let after = &rest[colon + 1..];
    let connection = after.strip_prefix(b" *").and_then(|c| {
        let end = c.iter().position(|b| !b.is_ascii_digit()).unwrap_or(c.len());
        number(&c[..end])
    });
    // the zone is decided by whoever joins: parse without one
    let record = plain::parse(line, &ParseOptions::default())?;
    Some(ErrorLine { wall_us: wall.unix_us, pid, tid, connection, record })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(s: &str) -> i64 {
        format!("{s}Z").parse::<jiff::Timestamp>().unwrap().as_microsecond()
    }

    #[test]
    fn connect_refused() {
        let l = parse(br#"2024/05/01 12:03:17 [error] 31#31: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: api.example.com, request: "GET /v1/orders/1 HTTP/1.1", upstream: "http://10.0.0.7:8080/v1/orders/1", host: "api.example.com""#).unwrap();
        assert_eq!(l.wall_us, wall("2024-05-01T12:03:17"));
        assert_eq!((l.pid, l.tid, l.connection), (31, 31, Some(5)));
        let r = &l.record;
        assert_eq!(r.level, Some(crate::record::Level::Error));
        assert_eq!(
            r.message.as_deref(),
            Some("connect() failed (111: Connection refused) while connecting to upstream")
        );
        assert_eq!(r.client.as_deref(), Some("10.0.0.1"));
        assert_eq!((r.method.as_deref(), r.path.as_deref()), (Some("GET"), Some("/v1/orders/1")));
        assert_eq!(r.protocol.as_deref(), Some("HTTP/1.1"));
        assert_eq!(r.upstream_addr.as_deref(), Some("10.0.0.7:8080"));
        assert_eq!(r.host.as_deref(), Some("api.example.com"));
    }

    #[test]
    fn the_causes_nginx_writes() {
        let cases = [
            (
                r#"2024/05/01 12:00:02 [error] 1402#1402: *88 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 172.17.0.1, server: _, request: "POST /v1/pay HTTP/1.1", upstream: "http://127.0.0.1:9001/v1/pay", host: "localhost:8080", referrer: "https://shop.example.com/cart""#,
                "upstream timed out (110: Connection timed out) while reading response header from upstream",
                Some("127.0.0.1:9001"),
                ("POST", "/v1/pay"),
            ),
            (
                r#"2024/05/01 12:00:03 [error] 7#7: *12 limiting requests, excess: 1.000 by zone "one", client: 10.1.2.3, server: api, request: "GET /limited/c HTTP/1.1", host: "127.0.0.1:8080""#,
                r#"limiting requests, excess: 1.000 by zone "one""#,
                None,
                ("GET", "/limited/c"),
            ),
            (
                r#"2024/05/01 12:00:04 [error] 7#7: *13 client intended to send too large body: 4096 bytes, client: 10.1.2.3, server: api, request: "POST /api/upload HTTP/1.1", host: "127.0.0.1:8080""#,
                "client intended to send too large body: 4096 bytes",
                None,
                ("POST", "/api/upload"),
            ),
            (
                r#"2024/05/01 12:00:05 [error] 7#7: *14 no live upstreams while connecting to upstream, client: 10.1.2.3, server: api, request: "GET /v1/x HTTP/1.1", upstream: "http://backend/v1/x", host: "api""#,
                "no live upstreams while connecting to upstream",
                Some("backend"),
                ("GET", "/v1/x"),
            ),
            (
                r#"2024/05/01 12:00:06 [error] 7#7: *15 upstream prematurely closed connection while reading response header from upstream, client: 10.1.2.3, server: api, request: "GET /v1/y?a=1 HTTP/1.1", upstream: "http://10.0.0.9:80/v1/y?a=1", host: "api""#,
                "upstream prematurely closed connection while reading response header from upstream",
                Some("10.0.0.9:80"),
                ("GET", "/v1/y?a=1"),
            ),
        ];
        for (line, message, upstream, (method, path)) in cases {
            let l = parse(line.as_bytes()).unwrap_or_else(|| panic!("not read: {line}"));
            assert_eq!(l.record.message.as_deref(), Some(message), "{line}");
            assert_eq!(l.record.upstream_addr.as_deref(), upstream, "{line}");
            assert_eq!((l.record.method.as_deref(), l.record.path.as_deref()), (Some(method), Some(path)));
            assert!(l.connection.is_some(), "{line}");
        }
        let with_referrer = parse(cases[0].0.as_bytes()).unwrap();
        assert_eq!(with_referrer.record.referer.as_deref(), Some("https://shop.example.com/cart"));
    }

    #[test]
    fn other_lines_are_not_error_log_lines() {
        // a reload notice has no connection; other logs' lines are not read as the error log's
        let notice = parse(b"2024/05/01 12:00:00 [notice] 1#1: signal process started").unwrap();
        assert_eq!(notice.connection, None);
        assert!(parse(b"2024-05-01T12:00:00Z ERROR connect failed").is_none());
        assert!(parse(br#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 1"#).is_none());
        assert!(parse(b"2024/05/01 12:00:00 [Error] x#1: y").is_none());
    }
}
