//! HAProxy's built-in log formats, behind any syslog prefix (RFC 3164, RFC 5424) or none:
//! - `option httplog`: `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq
//!   %hr %hs %{+Q}r` (before 1.8 the same shape with `[%t]` and `%Tq/%Tw/%Tc/%Tr/%Tt`);
//! - `option httpslog`: httplog followed by `%[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/
//!   %[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc`;
//! - `option tcplog`: `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq` (no request, no status);
//! - `option httplog clf`: the Common Log Format followed by HAProxy's fields (through the compiled-format parser).
//!
//! A file may mix them line by line (HTTP and TCP frontends logging to one place). Custom `log-format` strings are
//! compiled by `haproxy_format`.
//!
//! `-1` timers mean "not reached": the server answered iff `Tr != -1`, which is what fills `upstream_status`.
//! `Tc` is the time to connect to the server and `Tr` the time from there to its complete response headers, so
//! the connect time is `Tc` and the time until the headers, counted like nginx's `$upstream_header_time` from the
//! start of the connect, is `Tc + Tr`.
//! The request id is a trailing `%ID` after the request (`"${HAPROXY_HTTP_LOG_FMT} %ID"`), or else a captured
//! request header that looks like an id.

use super::haproxy_fields::{self, Fields};
use crate::format::textscan::{self as scan, Cursor};
use crate::format::{num, time};
use crate::record::Record;
use crate::synth::SynthRequest;

/// `dd/Mon/yyyy:` at the start of `b`.
fn looks_like_date(b: &[u8]) -> bool {
    b.len() >= 12
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
        && b[2] == b'/'
        && b[3..6].iter().all(u8::is_ascii_alphabetic)
        && b[6] == b'/'
        && b[7..11].iter().all(u8::is_ascii_digit)
        && b[11] == b':'
}

/// Where the `client [accept_date]` part starts: the token before the first `[dd/Mon/yyyy:`.
fn find_start(line: &[u8]) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(k) = memchr::memchr(b'[', &line[from..]) {
        let at = from + k;
        if at >= 2 && line[at - 1] == b' ' && looks_like_date(&line[at + 1..]) {
            let tok_end = at - 1;
            let tok_start = memchr::memrchr(b' ', &line[..tok_end]).map_or(0, |s| s + 1);
            return Some((tok_start, tok_end));
        }
        from = at + 1;
    }
    None
}

/// Split `ip:port`, `[v6]:port` or HAProxy's bare `2001:db8::1:51234` into the IP. An unknown address is logged
/// as `-` (`-:22222`): it is returned as is and reads as no client.
fn client_ip(tok: &[u8]) -> Option<&[u8]> {
    if tok.starts_with(b"[") {
        return Some(scan::host_of(tok));
    }
    let (ip, port) = tok.split_at(memchr::memrchr(b':', tok)?);
    let port = &port[1..];
    if num::parse_u64(port).is_none() && port != b"-" {
        return None;
    }
    let ok = ip == b"-" || (!ip.is_empty() && ip.iter().all(|c| c.is_ascii_hexdigit() || matches!(c, b'.' | b':')));
    ok.then_some(ip)
}

/// The timers word: `Tw/Tc/Tt` (tcplog) or `TR/Tw/Tc/Tr/Ta` (httplog).
enum Timers {
    Tcp([i64; 3]),
    Http([i64; 5]),
}

impl Timers {
    fn of(w: &[u8]) -> Option<Timers> {
        ints::<3>(w).map(Timers::Tcp).or_else(|| ints::<5>(w).map(Timers::Http))
    }
}

/// `a/b/c…` with exactly `n` integer parts (signs allowed: `-1`, `+3`).
fn ints<const N: usize>(tok: &[u8]) -> Option<[i64; N]> {
    let mut out = [0i64; N];
    let mut parts = tok.split(|&b| b == b'/');
    for o in out.iter_mut() {
        *o = scan::int(parts.next()?)?;
    }
    parts.next().is_none().then_some(out)
}

/// `%ts` (or `%tsc`), then the connection counts `%ac/%fc/%bc/%sc/%rc` and queues `%sq/%bq`: the termination state.
fn state_and_counters<'a>(c: &mut crate::format::textscan::Cursor<'a>) -> Option<&'a [u8]> {
    let term = c.word()?;
    if !is_term_state(term) {
        return None;
    }
    ints::<5>(c.word()?)?;
    ints::<2>(c.word()?)?;
    Some(term)
}

/// A termination state: `--` (tcplog) or `----` / `sH--` (httplog, with the cookie states).
fn is_term_state(term: &[u8]) -> bool {
    (2..=4).contains(&term.len()) && term.iter().all(|b| b.is_ascii_alphabetic() || *b == b'-')
}

/// httpslog's `%[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed]`.
fn is_tls_errors(w: &[u8]) -> bool {
    w.split(|&b| b == b'/').count() == 5 && w.iter().all(|b| b.is_ascii_hexdigit() || *b == b'/' || *b == b'-')
}

/// httpslog's `%[ssl_fc_sni]/%sslv/%sslc`: the version names TLS or SSL.
fn is_tls_session(w: &[u8]) -> bool {
    let mut parts = w.rsplitn(3, |&b| b == b'/');
    let (_cipher, version) = (parts.next(), parts.next());
    parts.next().is_some() && version.is_some_and(|v| v.starts_with(b"TLS") || v.starts_with(b"SSL") || v == b"-")
}

/// Parse one HAProxy line: `option httplog` (current and legacy timers), `option httpslog` or `option tcplog`,
/// with or without captured headers and a syslog header in front.
pub fn parse(line: &[u8]) -> Option<Record<'_>> {
    let line = line.trim_ascii_end();
    parse_native(line).or_else(|| CLF.parse(line))
}

/// `option httplog clf`'s format string, as HAProxy's manual gives it.
const CLF_FORMAT: &str = r#"%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl"#;

/// `option httplog clf` is rare enough to go through the compiled-format parser.
static CLF: std::sync::LazyLock<crate::format::haproxy_format::HaproxyFormat> = std::sync::LazyLock::new(|| {
    crate::format::haproxy_format::HaproxyFormat::compile(CLF_FORMAT).expect("HAProxy's clf format compiles")
});

/// The default formats but clf, scanned by hand.
fn parse_native(line: &[u8]) -> Option<Record<'_>> {
    let (start, end) = find_start(line)?;
    let client = client_ip(&line[start..end])?;
    let mut c = Cursor::new(&line[end..]);
    let time = time::parse_clf(c.delimited(b'[', b']')?)?;
    let _frontend = c.word()?;
    let (backend, server) = {
        let w = c.word()?;
        let slash = memchr::memchr(b'/', w)?;
        (&w[..slash], &w[slash + 1..])
    };
    let word = c.word()?;
    // one field a configuration added before the timers, such as the Host header (`site.example.com`)
    let (host, timers) = match Timers::of(word) {
        Some(t) => (None, t),
        None => (Some(word).filter(|w| haproxy_fields::is_hostname(w)), Timers::of(c.word()?)?),
    };
    let mut f = Fields {
        time: Some(time),
        client: Some(client),
        backend: Some(backend),
        server: Some(server),
        host,
        ..Fields::default()
    };
    if let Timers::Tcp([_tw, t_connect, t_total]) = timers {
        // tcplog: %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
        f.t_connect = Some(t_connect);
        f.t_total = Some(t_total);
        f.bytes = Some(scan::int(c.word()?)?);
        f.term = Some(state_and_counters(&mut c)?);
        return c.at_end().then(|| f.record());
    }
    let Timers::Http([_tr, _tw, t_connect, t_resp, t_active]) = timers else { return None };
    (f.t_connect, f.t_resp, f.t_total) = (Some(t_connect), Some(t_resp), Some(t_active));
    f.status = Some(scan::int(c.word()?)?);
    f.bytes = Some(scan::int(c.word()?)?);
    let _req_cookie = c.word()?;
    let _resp_cookie = c.word()?;
    f.term = Some(state_and_counters(&mut c)?);
    f.req_headers = c.delimited(b'{', b'}');
    if f.req_headers.is_some() {
        let _resp_headers = c.delimited(b'{', b'}');
    }
    f.request = Some(c.quoted()?);
    // after the request: httpslog's TLS fields, and a `%ID` appended by the configuration
    while let Some(w) = c.word() {
        if is_tls_errors(w) || is_tls_session(w) {
            continue;
        }
        f.unique_id.get_or_insert(w);
    }
    Some(f.record())
}

/// HAProxy's termination state for the Envoy-vocabulary flags of a request.
fn termination_state(r: &SynthRequest) -> &'static str {
    match r.flags.as_deref().unwrap_or("").split(',').next().unwrap_or("") {
        "UT" => "sH--",
        "UH" | "UF" | "NR" if r.upstream_status.is_empty() => "SC--",
        "RL" => "PR--",
        "DC" => "CD--",
        _ => "----",
    }
}

/// Write `r` as HAProxy's httplog through rsyslog (`Mon dd hh:mm:ss host haproxy[pid]: …`), with
/// `capture request header Host/X-Request-ID/User-Agent` and `capture response header Retry-After`.
pub fn write(r: &SynthRequest, out: &mut Vec<u8>) {
    let end = scan::Civil::from_unix_us(r.time.unix_us);
    let accept = scan::Civil::from_unix_us(r.time.unix_us - r.duration_us as i64);
    let answered = !r.upstream_status.is_empty();
    let server = match r.upstream_addr.last() {
        Some(_) if answered => format!("{}{}", r.route, r.upstream_addr.len()),
        _ => "<NOSRV>".to_string(),
    };
    let (tc, tr) = if answered { (0, scan::ms(r.upstream_total_us().unwrap_or(0)) as i64) } else { (-1, -1) };
    let (tc, tr) = match termination_state(r) {
        "sH--" => (0, -1),
        _ => (tc, tr),
    };
    let client = if r.client.contains(':') { format!("[{}]", r.client) } else { r.client.clone() };
    let retries = r.upstream_status.len().saturating_sub(1);
    let resp_cap = r.retry_after_s.map(|s| s.to_string()).unwrap_or_default();
    out.extend_from_slice(
        format!(
            "{} lb1 haproxy[8]: {client}:51234 [{}] fe_https~ be_{}/{server} 0/0/{tc}/{tr}/{} {} {} - - {} 3/3/1/1/{retries} 0/0 {{{}|{}|{}}} {{{resp_cap}}} \"{} {} {}\"",
            end.syslog(),
            accept.clf(true),
            r.route,
            scan::ms(r.duration_us),
            r.status,
            r.bytes_sent,
            termination_state(r),
            r.host,
            r.request_id,
            r.user_agent,
            r.method,
            r.path,
            r.protocol,
        )
        .as_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_client_and_a_field_before_the_timers() {
        let l = br#"May 22 02:22:22 server1 haproxy[5089]: -:22222 [22/May/2021:02:22:22.222] www-https~ myapp/node2 site.domain.com 0/0/0/18/18 200 200 - - ---- 222/222/2/0/0 0/0 "OPTIONS /api/v2/app/ HTTP/1.1""#;
        let r = parse(l).unwrap();
        assert_eq!((r.client.as_deref(), r.host.as_deref()), (None, Some("site.domain.com")));
        assert_eq!((r.status, r.duration_us, r.method.as_deref()), (Some(200), Some(18_000), Some("OPTIONS")));
        // two words before the timers are not a format this reads
        let two = br#"10.0.0.1:1 [22/May/2021:02:22:22.222] fe be/s a.example b.example 0/0/0/18/18 200 200 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1""#;
        assert!(parse_native(two).is_none());
    }

    #[test]
    fn docs_example() {
        let line = br#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1""#;
        let r = parse(line).unwrap();
        assert_eq!(r.time.unwrap().unix_us, 1_233_922_454_655_000);
        assert_eq!(r.client.as_deref(), Some("10.0.1.2"));
        assert_eq!(r.route.as_deref(), Some("static"));
        assert_eq!(r.upstream_addr.as_deref(), Some("srv1"));
        assert_eq!(r.duration_us, Some(109_000));
        assert_eq!(r.upstream_us, Some(69_000));
        // Tc 30 ms, then Tr 69 ms to the response headers
        assert_eq!((r.upstream_connect_us, r.upstream_header_us), (Some(30_000), Some(99_000)));
        assert_eq!(r.status, Some(200));
        assert_eq!(r.upstream_status.as_slice(), &[200]);
        assert_eq!(r.bytes_sent, Some(2750));
        assert_eq!(r.flags.as_deref(), Some("----"));
        assert_eq!(r.host.as_deref(), Some("1wt.eu"));
        assert_eq!(r.method.as_deref(), Some("GET"));
        assert_eq!(r.path.as_deref(), Some("/index.html"));
        assert_eq!(r.protocol.as_deref(), Some("HTTP/1.1"));
    }

    #[test]
    fn timeout_without_server_response() {
        let line = br#"<30>Jun 27 21:43:42 haproxy[22021]: 8.6.7.10:55480 [27/Jun/2019:21:42:38.916] public_ssl~ be_http/srva 0/0/0/-1/63387    504 194 - - sH-- 15/13/10/0/0 0/0 "PATCH /api/upload/4ddad61736a6 HTTP/1.1""#;
        let r = parse(line).unwrap();
        assert_eq!(r.status, Some(504));
        assert!(r.upstream_status.is_empty());
        assert_eq!(r.upstream_us, None);
        // connected at once, the headers never came
        assert_eq!((r.upstream_connect_us, r.upstream_header_us), (Some(0), None));
        assert_eq!(r.duration_us, Some(63_387_000));
        assert_eq!(r.flags.as_deref(), Some("sH--"));
    }

    #[test]
    fn timers_too_large_for_microseconds_are_none() {
        let line = br#"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/99999999999999999 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1""#;
        let r = parse(line).unwrap();
        assert_eq!((r.duration_us, r.upstream_us), (None, Some(69_000)));
        let line = br#"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/99999999999999999/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1""#;
        let r = parse(line).unwrap();
        assert_eq!((r.upstream_connect_us, r.upstream_header_us, r.upstream_us), (None, None, Some(69_000)));
    }

    #[test]
    fn trailing_unique_id_and_ipv6() {
        let line = br#"2001:db8::1:51234 [01/May/2024:12:00:00.000] fe be/<NOSRV> 0/-1/-1/-1/+0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET / HTTP/1.1" 0af7651916cd43dd8448eb211c80319c"#;
        let r = parse(line).unwrap();
        assert_eq!(r.client.as_deref(), Some("2001:db8::1"));
        assert_eq!(r.upstream_addr, None);
        assert_eq!(r.request_id.as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
        assert_eq!(r.duration_us, Some(0));
        assert!(r.upstream_status.is_empty());
        assert_eq!((r.upstream_connect_us, r.upstream_header_us), (None, None), "no server, no connect");
        assert!(parse(br#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#).is_none());
    }
}
