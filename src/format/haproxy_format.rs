//! Compile an HAProxy `log-format` string into a parser.
//!
//! The string is split into literal text and `%` variables (`%ci`, `%{+Q}r`, `%[sample]`). At parse time each
//! variable's value runs to the next occurrence of the literal that follows it, except where HAProxy's own output
//! says otherwise: a quoted (`+Q`) value runs to its closing quote, captured headers `{…}` to their closing brace,
//! `%ci` before `:` to the last colon of the word (IPv6), and an unquoted `%r` or a `%T` date past their inner
//! spaces. A syslog header in front of the line (RFC 3164 or RFC 5424) is skipped.

use anyhow::{Context, bail};
use memchr::memmem::Finder;

use super::haproxy_fields::Fields;
use super::textscan as scan;
use super::time;
use crate::record::Record;

/// What a variable feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Var {
    Client,
    /// `%t`, `%tr`: `dd/Mon/yyyy:HH:MM:SS.mmm`.
    Time,
    /// `%T`, `%Tl`, `%trg`, `%trl`: `dd/Mon/yyyy:HH:MM:SS +zzzz`, with a space before the zone.
    TimeZoned,
    /// `%Ta`: active time, the request's duration.
    Active,
    /// `%Tt`: total time, the duration when `%Ta` is not logged.
    Total,
    /// `%Tr`: the server's response time.
    Resp,
    /// `%Tc`: the connect time.
    Connect,
    Status,
    Bytes,
    Backend,
    Server,
    /// `%si`: the server's address, used when `%s` is not logged.
    ServerAddr,
    /// `%tsc`, `%ts`.
    Term,
    /// `%hr`, `%hrl`: captured request headers.
    ReqHeaders,
    /// `%hs`, `%hsl`: captured response headers (skipped, but they may hold spaces).
    RespHeaders,
    Request,
    Method,
    /// `%HU` (the URI) or `%HP` (the path).
    Path,
    Protocol,
    /// `%ID`, `%[unique-id]`, `%[req.hdr(x-request-id)]`.
    UniqueId,
    /// `%[req.hdr(host)]`, `%[hdr(host)]`.
    Host,
    Ignored,
}

impl Var {
    fn from_name(name: &str) -> Var {
        match name {
            "ci" => Var::Client,
            "t" | "tr" => Var::Time,
            "T" | "Tl" | "trg" | "trl" => Var::TimeZoned,
            "Ta" => Var::Active,
            "Tt" => Var::Total,
            "Tr" => Var::Resp,
            "Tc" => Var::Connect,
            "ST" => Var::Status,
            "B" => Var::Bytes,
            "b" => Var::Backend,
            "s" => Var::Server,
            "si" => Var::ServerAddr,
            "tsc" | "ts" => Var::Term,
            "hr" | "hrl" => Var::ReqHeaders,
            "hs" | "hsl" => Var::RespHeaders,
            "r" => Var::Request,
            "HM" => Var::Method,
            "HU" | "HP" => Var::Path,
            "HV" => Var::Protocol,
            "ID" => Var::UniqueId,
            _ => Var::Ignored,
        }
    }

    /// A sample expression `%[…]`: a few name what gatewatch reads, the rest are skipped as one token.
    fn from_sample(expr: &str) -> Var {
        let e = expr.trim().to_ascii_lowercase();
        let e = e.split(',').next().unwrap_or("");
        match e {
            "unique-id" | "unique_id" => Var::UniqueId,
            "req.hdr(host)" | "hdr(host)" | "req.fhdr(host)" => Var::Host,
            "req.hdr(x-request-id)" | "hdr(x-request-id)" | "req.fhdr(x-request-id)" => Var::UniqueId,
            _ => Var::Ignored,
        }
    }
}

#[derive(Debug)]
enum Segment {
    /// Boxed: a `Finder` is large and most segments are variables.
    Lit(Box<Finder<'static>>),
    Var {
        var: Var,
        quoted: bool,
    },
}

/// A compiled HAProxy `log-format`.
#[derive(Debug)]
pub struct HaproxyFormat {
    segments: Vec<Segment>,
}

/// The variable names HAProxy knows, longest first so `%Tr` is not read as `%T` + `r`.
const NAMES: &[&str] = &[
    "tsc", "trg", "trl", "hrl", "hsl", "HPO", "ci", "cp", "fi", "fp", "ft", "bi", "bp", "si", "sp", "tr", "ts", "Ta",
    "Tc", "Td", "Th", "Ti", "Tl", "Tq", "TR", "Tr", "Ts", "Tt", "Tu", "Tw", "ST", "ac", "fc", "bc", "sc", "rc", "sq",
    "bq", "CC", "CS", "hr", "hs", "HM", "HP", "HQ", "HU", "HV", "ID", "pid", "rt", "lc", "rt", "sslc", "sslv", "ms",
    "o", "f", "b", "s", "t", "T", "B", "U", "r", "H",
];

/// Strip `log-format` and the quotes a configuration file puts around the string.
fn strip_directive(spec: &str) -> &str {
    let mut s = spec.trim();
    if let Some(rest) = s.strip_prefix("log-format")
        && rest.starts_with(char::is_whitespace)
    {
        s = rest.trim_start();
    }
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s = &s[1..s.len() - 1];
    }
    s
}

fn segments(body: &str) -> anyhow::Result<Vec<Segment>> {
    let b = body.as_bytes();
    let mut segs = Vec::new();
    let mut lit: Vec<u8> = Vec::new();
    let mut quote_all = false;
    let mut vars = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            // a configuration file escapes spaces and quotes: `%ci:%cp\ [%tr]`
            b'\\' if i + 1 < b.len() => {
                lit.push(b[i + 1]);
                i += 2;
                continue;
            }
            b'%' => {}
            c => {
                lit.push(c);
                i += 1;
                continue;
            }
        }
        i += 1;
        if b.get(i) == Some(&b'%') {
            lit.push(b'%');
            i += 1;
            continue;
        }
        let mut quoted = quote_all;
        if b.get(i) == Some(&b'{') {
            let close = body[i..].find('}').with_context(|| format!("unclosed `%{{` at byte {i} of {body:?}"))?;
            for flag in body[i + 1..i + close].split(',') {
                match flag.trim() {
                    "+Q" => quoted = true,
                    "-Q" => quoted = false,
                    _ => {}
                }
            }
            i += close + 1;
        }
        let var = if b.get(i) == Some(&b'[') {
            let close = body[i..].find(']').with_context(|| format!("unclosed `%[` at byte {i} of {body:?}"))?;
            let v = Var::from_sample(&body[i + 1..i + close]);
            i += close + 1;
            v
        } else {
            let Some(name) = NAMES.iter().find(|n| body[i..].starts_with(**n)) else {
                // an unknown name: skip its letters as one token
                let mut j = i;
                while j < b.len() && b[j].is_ascii_alphanumeric() {
                    j += 1;
                }
                if j == i {
                    bail!("`%` at byte {} of {body:?} names no variable (write `%%` for a percent sign)", i - 1);
                }
                i = j;
                push_var(&mut segs, &mut lit, Var::Ignored, quoted);
                vars += 1;
                continue;
            };
            i += name.len();
            if *name == "o" {
                // `%{+Q}o` sets the flags of every variable after it and writes nothing, not even its separator
                quote_all = quoted;
                while b.get(i) == Some(&b' ') {
                    i += 1;
                }
                continue;
            }
            Var::from_name(name)
        };
        push_var(&mut segs, &mut lit, var, quoted);
        vars += 1;
    }
    if !lit.is_empty() {
        segs.push(Segment::Lit(Box::new(Finder::new(&lit).into_owned())));
    }
    if vars == 0 {
        bail!("log-format {body:?} has no %variables: nothing to parse");
    }
    Ok(segs)
}

fn push_var(segs: &mut Vec<Segment>, lit: &mut Vec<u8>, var: Var, quoted: bool) {
    if !lit.is_empty() {
        segs.push(Segment::Lit(Box::new(Finder::new(lit).into_owned())));
        lit.clear();
    }
    segs.push(Segment::Var { var, quoted });
}

/// The message after a syslog header: RFC 3164 `Mon dd hh:mm:ss host tag[pid]: ` (with or without `<PRI>`) or
/// RFC 5424 `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD `. `None` when there is none.
pub(crate) fn syslog_message(line: &[u8]) -> Option<&[u8]> {
    let mut rest = line;
    if rest.first() == Some(&b'<') {
        let close = memchr::memchr(b'>', &rest[..rest.len().min(6)])?;
        rest = &rest[close + 1..];
        if let Some(after) = rest.strip_prefix(b"1 ") {
            // RFC 5424: five header fields, then structured data (`-` or `[…]…`)
            let mut c = scan::Cursor::new(after);
            for _ in 0..5 {
                c.word()?;
            }
            let consumed = after.len() - c.rest().len();
            let mut sd = after[consumed..].trim_ascii_start();
            if sd.starts_with(b"-") {
                sd = &sd[1..];
            } else {
                while sd.starts_with(b"[") {
                    let close = memchr::memchr(b']', sd)?;
                    sd = &sd[close + 1..];
                }
            }
            return Some(sd.strip_prefix(b" ").unwrap_or(sd));
        }
    }
    // RFC 3164: the tag ends with `: ` within the first words
    let head = &rest[..rest.len().min(160)];
    let at = memchr::memmem::find(head, b": ")?;
    Some(&rest[at + 2..])
}

impl HaproxyFormat {
    /// Compile a `log-format` string such as `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %{+Q}r`, bare,
    /// in double quotes, or as the whole `log-format "…"` line.
    pub fn compile(spec: &str) -> anyhow::Result<HaproxyFormat> {
        let body = strip_directive(spec);
        if body.is_empty() {
            bail!("empty log-format");
        }
        Ok(HaproxyFormat { segments: segments(body)? })
    }

    /// Parse one line written with this format, with or without a syslog header in front.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Option<Record<'a>> {
        let line = line.trim_ascii_end();
        self.parse_body(line).or_else(|| self.parse_body(syslog_message(line)?))
    }

    /// End of a value that starts at `from` and is followed by the literal `lit`.
    fn value_end(line: &[u8], from: usize, var: Var, lit: &Finder<'_>) -> Option<usize> {
        let needle = lit.needle();
        let rest = line.get(from..)?;
        let skip_spaces = match var {
            Var::TimeZoned if needle[0] == b' ' => 1,
            Var::Request if needle[0] == b' ' => 2,
            _ => 0,
        };
        if var == Var::Client && needle[0] == b':' {
            let word = memchr::memchr2(b' ', b'\t', rest).unwrap_or(rest.len());
            return memchr::memrchr(b':', &rest[..word]).map(|k| from + k);
        }
        let mut start = 0;
        for _ in 0..skip_spaces {
            match memchr::memchr(b' ', &rest[start..]) {
                Some(k) => start += k + 1,
                None => break,
            }
        }
        lit.find(&rest[start..]).map(|k| from + start + k).or_else(|| lit.find(rest).map(|k| from + k))
    }

    fn parse_body<'a>(&self, line: &'a [u8]) -> Option<Record<'a>> {
        let mut f = Fields::default();
        let mut active = None;
        let mut total = None;
        let mut server_addr = None;
        let mut pos = 0;
        for (i, seg) in self.segments.iter().enumerate() {
            let (var, quoted) = match seg {
                Segment::Lit(l) => {
                    let n = l.needle();
                    if !line.get(pos..)?.starts_with(n) {
                        return None;
                    }
                    pos += n.len();
                    continue;
                }
                Segment::Var { var, quoted } => (*var, *quoted),
            };
            let rest = line.get(pos..)?;
            let (val, end) = if quoted && rest.first() == Some(&b'"') {
                let close = closing_quote(rest)?;
                (&rest[1..close], pos + close + 1)
            } else if matches!(var, Var::ReqHeaders | Var::RespHeaders) && rest.first() == Some(&b'{') {
                let close = memchr::memchr(b'}', rest)?;
                (&rest[1..close], pos + close + 1)
            } else {
                let end = match self.segments.get(i + 1) {
                    None => line.len(),
                    Some(Segment::Lit(l)) => Self::value_end(line, pos, var, l)?,
                    // two variables side by side: the first runs to the next blank
                    Some(Segment::Var { .. }) => pos + memchr::memchr(b' ', rest).unwrap_or(rest.len()),
                };
                (&line[pos..end], end)
            };
            pos = end;
            match var {
                // an address has no blank: one would be a syslog header taken for the client
                Var::Client if val.contains(&b' ') => return None,
                Var::Client => {
                    f.client = Some(val.strip_prefix(b"[").and_then(|v| v.strip_suffix(b"]")).unwrap_or(val))
                }
                Var::Time | Var::TimeZoned => f.time = Some(time::parse_clf(val)?),
                Var::Active => active = scan::int(val),
                Var::Total => total = scan::int(val),
                Var::Resp => f.t_resp = scan::int(val),
                Var::Connect => f.t_connect = scan::int(val),
                Var::Status => {
                    // a status is a number, or `-1` / `-` when there was none
                    f.status = match scan::int(val) {
                        Some(s) => Some(s),
                        None if val == b"-" || val.is_empty() => None,
                        None => return None,
                    }
                }
                Var::Bytes => f.bytes = scan::int(val),
                Var::Backend => f.backend = Some(val),
                Var::Server => f.server = Some(val),
                Var::ServerAddr => server_addr = Some(val),
                Var::Term => f.term = Some(val),
                Var::ReqHeaders => f.req_headers = Some(val),
                Var::Request => f.request = Some(val),
                Var::Method => f.method = Some(val),
                Var::Path => f.path = Some(val),
                Var::Protocol => f.protocol = Some(val),
                Var::UniqueId => f.unique_id = Some(val),
                Var::Host => f.host = Some(val),
                Var::RespHeaders | Var::Ignored => {}
            }
        }
        if pos != line.len() {
            return None;
        }
        f.t_total = active.or(total);
        if f.server.is_none() {
            f.server = server_addr;
        }
        Some(f.record())
    }
}

/// The index of the quote closing the one at `q[0]` (a `\"` inside does not close it).
fn closing_quote(q: &[u8]) -> Option<usize> {
    let mut j = 1;
    loop {
        let k = j + memchr::memchr2(b'"', b'\\', q.get(j..)?)?;
        if q[k] == b'\\' {
            j = k + 2;
            continue;
        }
        return Some(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTTPLOG: &str =
        "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";

    #[test]
    fn default_httplog_string_matches_builtin() {
        let f = HaproxyFormat::compile(HTTPLOG).unwrap();
        let line = br#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1""#;
        let r = f.parse(line).unwrap();
        let b = super::super::haproxy::parse(line).unwrap();
        assert_eq!(r.time, b.time);
        assert_eq!((r.client, r.route, r.upstream_addr), (b.client, b.route, b.upstream_addr));
        assert_eq!((r.duration_us, r.upstream_us, r.upstream_connect_us), (Some(109_000), Some(69_000), Some(30_000)));
        assert_eq!(r.upstream_header_us, Some(99_000));
        assert_eq!((r.method, r.path, r.status), (b.method, b.path, Some(200)));
        assert_eq!((r.host.as_deref(), r.flags.as_deref()), (Some("1wt.eu"), Some("----")));
    }

    #[test]
    fn custom_with_id_ipv6_and_zoned_date() {
        let f = HaproxyFormat::compile(r#"log-format "%ci:%cp [%T] %b/%s %Tc/%Tr/%Tt %ST %B %tsc %ID %HM %HU %HV""#)
            .unwrap();
        let line = b"2001:db8::1:51234 [06/Feb/2009:12:14:14 +0000] api/<NOSRV> -1/-1/5 503 212 SC-- 7f3a9c21 GET /v1/x?a=1 HTTP/1.1";
        let r = f.parse(line).unwrap();
        assert_eq!(r.client.as_deref(), Some("2001:db8::1"));
        assert_eq!(r.time.unwrap().unix_us, 1_233_922_454_000_000);
        assert_eq!((r.route.as_deref(), r.upstream_addr.as_deref()), (Some("api"), None));
        assert_eq!((r.duration_us, r.upstream_connect_us, r.upstream_us), (Some(5_000), None, None));
        assert_eq!(
            (r.status, r.flags.as_deref(), r.request_id.as_deref()),
            (Some(503), Some("SC--"), Some("7f3a9c21"))
        );
        assert_eq!((r.method.as_deref(), r.path.as_deref()), (Some("GET"), Some("/v1/x?a=1")));
        assert!(f.parse(b"garbage").is_none());
    }

    #[test]
    fn compile_errors_and_unknowns() {
        assert!(HaproxyFormat::compile("").is_err());
        assert!(HaproxyFormat::compile("plain text").is_err());
        assert!(HaproxyFormat::compile("%[unclosed").is_err());
        // unknown variables are one token each
        let f = HaproxyFormat::compile("%ci %zz %ST").unwrap();
        assert_eq!(f.parse(b"10.0.0.1 whatever 200").unwrap().status, Some(200));
        let f = HaproxyFormat::compile("%{+Q}o %ci %ST %r").unwrap();
        let r = f.parse(br#""10.0.0.1" "200" "GET /a b HTTP/1.1""#).unwrap();
        assert_eq!((r.client.as_deref(), r.path.as_deref()), (Some("10.0.0.1"), Some("/a b")));
    }

    #[test]
    fn syslog_headers() {
        assert_eq!(syslog_message(b"Feb  6 12:14:14 localhost haproxy[14389]: x y"), Some(&b"x y"[..]));
        assert_eq!(syslog_message(b"<134>1 2024-05-01T12:00:00.000Z lb1 haproxy 8 - - x y"), Some(&b"x y"[..]));
        assert_eq!(
            syslog_message(br#"<134>1 2024-05-01T12:00:00Z lb1 haproxy 8 - [meta a="b"] x y"#),
            Some(&b"x y"[..])
        );
    }
}
