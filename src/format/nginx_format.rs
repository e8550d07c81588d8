//! Compile an nginx `log_format` string into a parser.
//!
//! The spec is split into literal and variable segments. At parse time each variable's value runs to the next
//! occurrence of the literal that follows it (skipping `\"` when that literal starts with a quote, list
//! separators for `$upstream_*` lists, and the space inside `$time_local`); a trailing literal must end the line.

use std::borrow::Cow;

use anyhow::{Context, bail};
use memchr::memmem::Finder;

use super::nginx::{field, invalid_request, is_escaped, split_request};
use super::num::{self, parse_status, parse_u64, secs_to_us, sum_secs_to_us, trim};
use super::time::{parse_clf, parse_epoch, parse_iso};
use crate::record::{Record, StatusList};

/// The `escape=` parameter of `log_format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EscapeMode {
    /// `\xHH` for `"`, `\`, controls and bytes ≥ 0x7F.
    Default,
    /// JSON string escapes.
    Json,
    /// Nothing escaped: values are taken verbatim.
    None,
}

/// The Record field a variable feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Var {
    /// `$remote_addr`, `$realip_remote_addr`.
    Client,
    /// `$http_x_forwarded_for`: its first address is the client.
    ForwardedFor,
    RemoteUser,
    TimeLocal,
    TimeIso,
    Msec,
    Request,
    Method,
    /// `$request_uri`, `$uri`.
    Path,
    Protocol,
    Status,
    /// `$body_bytes_sent`, `$bytes_sent`.
    BytesSent,
    RequestLength,
    RequestTime,
    UpstreamTime,
    /// `$upstream_connect_time`.
    UpstreamConnectTime,
    /// `$upstream_header_time` (counted from the start of the connect).
    UpstreamHeaderTime,
    UpstreamStatus,
    UpstreamAddr,
    /// `$request_id`, `$http_x_request_id`, `$req_id`.
    RequestId,
    Traceparent,
    /// `$host`, `$http_host`, `$server_name`.
    Host,
    UserAgent,
    Referer,
    /// `$proxy_upstream_name`.
    Route,
    /// Any other `$upstream_*` variable (may hold a list; value ignored).
    IgnoredList,
    /// Any other variable (value ignored).
    Ignored,
}

impl Var {
    fn from_name(name: &str) -> Var {
        match name {
            "remote_addr" | "realip_remote_addr" => Var::Client,
            "http_x_forwarded_for" => Var::ForwardedFor,
            "remote_user" => Var::RemoteUser,
            "time_local" => Var::TimeLocal,
            "time_iso8601" => Var::TimeIso,
            "msec" => Var::Msec,
            "request" => Var::Request,
            "request_method" => Var::Method,
            "request_uri" | "uri" => Var::Path,
            "server_protocol" => Var::Protocol,
            "status" => Var::Status,
            "body_bytes_sent" | "bytes_sent" => Var::BytesSent,
            "request_length" => Var::RequestLength,
            "request_time" => Var::RequestTime,
            "upstream_response_time" => Var::UpstreamTime,
            "upstream_connect_time" => Var::UpstreamConnectTime,
            "upstream_header_time" => Var::UpstreamHeaderTime,
            "upstream_status" => Var::UpstreamStatus,
            "upstream_addr" => Var::UpstreamAddr,
            "request_id" | "http_x_request_id" | "req_id" => Var::RequestId,
            "http_traceparent" => Var::Traceparent,
            "host" | "http_host" | "server_name" => Var::Host,
            "http_user_agent" => Var::UserAgent,
            "http_referer" => Var::Referer,
            "proxy_upstream_name" => Var::Route,
            n if n.starts_with("upstream_") => Var::IgnoredList,
            _ => Var::Ignored,
        }
    }

    /// nginx logs these as `a, b` / `a : b` lists, which contain spaces.
    fn is_list(self) -> bool {
        matches!(
            self,
            Var::UpstreamTime
                | Var::UpstreamConnectTime
                | Var::UpstreamHeaderTime
                | Var::UpstreamStatus
                | Var::UpstreamAddr
                | Var::IgnoredList
        )
    }
}

#[derive(Debug)]
enum Segment {
    /// Boxed: a `Finder` is large and most segments are variables.
    Lit(Box<Finder<'static>>),
    Var(Var),
}

/// A compiled nginx `log_format`.
#[derive(Debug)]
pub struct NginxFormat {
    segments: Vec<Segment>,
    escape: EscapeMode,
}

/// Strip `log_format NAME`, a trailing `;` and `escape=…`; returns the escape mode and the rest.
fn strip_directive(spec: &str) -> anyhow::Result<(EscapeMode, &str)> {
    let mut s = spec.trim();
    if let Some(rest) = s.strip_prefix("log_format")
        && rest.starts_with(char::is_whitespace)
    {
        let rest = rest.trim_start();
        let name_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        s = rest[name_end..].trim_start();
    }
    s = s.strip_suffix(';').unwrap_or(s).trim_end();
    let mut escape = EscapeMode::Default;
    if let Some(rest) = s.strip_prefix("escape=") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        escape = match &rest[..end] {
            "default" => EscapeMode::Default,
            "json" => EscapeMode::Json,
            "none" => EscapeMode::None,
            other => bail!("unknown log_format escape mode `{other}` (expected default, json or none)"),
        };
        s = rest[end..].trim_start();
    }
    Ok((escape, s))
}

/// Concatenate nginx.conf quoted pieces: `'$a - ' '"$b"'` → `$a - "$b"`. `None` if `s` is not only quoted pieces.
fn unquote_pieces(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let q = b[i];
        if q != b'\'' && q != b'"' {
            return None;
        }
        i += 1;
        loop {
            let c = *b.get(i)?;
            if c == q {
                i += 1;
                break;
            }
            if c == b'\\' && i + 1 < b.len() {
                match b[i + 1] {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'\'' | b'"' | b'\\' => out.push(b[i + 1]),
                    other => out.extend_from_slice(&[b'\\', other]),
                }
                i += 2;
                continue;
            }
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Split a format body into segments.
fn segments(body: &str) -> anyhow::Result<Vec<Segment>> {
    let b = body.as_bytes();
    let mut segs = Vec::new();
    let mut lit: Vec<u8> = Vec::new();
    let mut vars = 0;
    let mut i = 0;
    let is_name = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        if b[i] != b'$' {
            lit.push(b[i]);
            i += 1;
            continue;
        }
        let (name, next) = if b.get(i + 1) == Some(&b'{') {
            let close = body[i + 2..].find('}').with_context(|| format!("unclosed `${{` at byte {i} of {body:?}"))?;
            (&body[i + 2..i + 2 + close], i + 3 + close)
        } else {
            let mut j = i + 1;
            while j < b.len() && is_name(b[j]) {
                j += 1;
            }
            (&body[i + 1..j], j)
        };
        if name.is_empty() || !name.bytes().all(is_name) {
            if b.get(i + 1) == Some(&b'{') {
                bail!("invalid variable name `${{{name}}}` in log_format");
            }
            lit.push(b'$');
            i += 1;
            continue;
        }
        if !lit.is_empty() {
            segs.push(Segment::Lit(Box::new(Finder::new(&lit).into_owned())));
            lit.clear();
        } else if let Some(Segment::Var(_)) = segs.last() {
            bail!(
                "log_format has `${name}` directly after another variable with nothing between them; \
                 the two values cannot be told apart (put a space or other separator between them)"
            );
        }
        segs.push(Segment::Var(Var::from_name(&name.to_ascii_lowercase())));
        vars += 1;
        i = next;
    }
    if !lit.is_empty() {
        segs.push(Segment::Lit(Box::new(Finder::new(&lit).into_owned())));
    }
    if vars == 0 {
        bail!("log_format {body:?} has no $variables: nothing to parse");
    }
    Ok(segs)
}

impl NginxFormat {
    /// Compile a `log_format` value such as `'$remote_addr - [$time_local] "$request" $status'`.
    ///
    /// Accepts the value bare or as nginx.conf quoted pieces (`'…' '…'`), optionally preceded by `escape=json`,
    /// `escape=default` or `escape=none` (and even by `log_format NAME`, with a trailing `;`).
    pub fn compile(spec: &str) -> anyhow::Result<NginxFormat> {
        let (escape, body) = strip_directive(spec)?;
        if body.is_empty() {
            bail!("empty log_format");
        }
        let segments = match body.as_bytes()[0] {
            b'\'' => segments(&unquote_pieces(body).context("log_format: unbalanced quotes in quoted pieces")?)?,
            // `"$request" $status` is a bare body that happens to start with a quote; `"…" "…"` is quoted pieces
            b'"' => match unquote_pieces(body).map(|u| segments(&u)) {
                Some(Ok(s)) => s,
                _ => segments(body)?,
            },
            _ => segments(body)?,
        };
        Ok(NginxFormat { segments, escape })
    }

    fn text<'a>(&self, b: &'a [u8]) -> Option<Cow<'a, str>> {
        if self.escape == EscapeMode::None { num::text(b) } else { field(b) }
    }

    /// End of the value of `var` starting at `from`, followed by the literal `lit`.
    fn value_end(line: &[u8], from: usize, var: Var, lit: &Finder<'_>) -> Option<usize> {
        let needle = lit.needle();
        // `$time_local` has a space before its zone: `10/Oct/2000:13:55:36 -0700`
        let mut start = if var == Var::TimeLocal { from + 21 } else { from };
        loop {
            let idx = start + lit.find(line.get(start..)?)?;
            let skip = (needle[0] == b'"' && is_escaped(line, from, idx))
                || (var.is_list()
                    && needle[0] == b' '
                    && (line[from..idx].ends_with(b",")
                        || line[from..idx].ends_with(b":")
                        || line[idx..].starts_with(b" : ")));
            if !skip {
                return Some(idx);
            }
            start = idx + 1;
        }
    }

    /// Parse one line written with this format. `None` when the literals do not match, or `$status` / a time
    /// variable does not hold a valid value.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Option<Record<'a>> {
        let line = line.trim_ascii_end();
        let mut rec = Record::default();
        let mut pos = 0;
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Lit(f) => {
                    let n = f.needle();
                    if !line.get(pos..)?.starts_with(n) {
                        return None;
                    }
                    pos += n.len();
                }
                Segment::Var(v) => {
                    let end = match self.segments.get(i + 1) {
                        None => line.len(),
                        Some(Segment::Lit(f)) if i + 2 == self.segments.len() => {
                            // the last literal ends the line
                            let n = f.needle();
                            if !line.ends_with(n) || line.len() - n.len() < pos {
                                return None;
                            }
                            line.len() - n.len()
                        }
                        Some(Segment::Lit(f)) => Self::value_end(line, pos, *v, f)?,
                        Some(Segment::Var(_)) => return None, // rejected by compile
                    };
                    self.assign(&mut rec, *v, &line[pos..end])?;
                    pos = end;
                }
            }
        }
        (pos == line.len()).then_some(rec)
    }

    fn assign<'a>(&self, rec: &mut Record<'a>, var: Var, val: &'a [u8]) -> Option<()> {
        let v = trim(val);
        match var {
            Var::Client => {
                if rec.client.is_none() {
                    rec.client = num::text(v);
                }
            }
            Var::ForwardedFor => {
                if rec.client.is_none() {
                    let first = memchr::memchr(b',', v).map_or(v, |c| &v[..c]);
                    rec.client = num::text(first);
                }
            }
            Var::RemoteUser => rec.consumer = self.text(v),
            Var::TimeLocal => rec.time = Some(parse_clf(v)?),
            Var::TimeIso => rec.time = Some(parse_iso(v)?),
            Var::Msec => rec.time = Some(parse_epoch(v)?),
            Var::Request => {
                let (m, p, proto) = split_request(v);
                if m.is_none() && p.is_none() {
                    rec.bad_request = invalid_request(v);
                }
                rec.method = rec.method.take().or(m);
                rec.path = rec.path.take().or(p);
                rec.protocol = rec.protocol.take().or(proto);
            }
            Var::Method => {
                if rec.method.is_none() {
                    rec.method = num::text(v);
                }
            }
            Var::Path => {
                if rec.path.is_none() {
                    rec.path = self.text(v);
                }
            }
            Var::Protocol => {
                if rec.protocol.is_none() {
                    rec.protocol = num::text(v);
                }
            }
            Var::Status => rec.status = Some(parse_status(v)?),
            Var::BytesSent => {
                if rec.bytes_sent.is_none() {
                    rec.bytes_sent = parse_u64(v);
                }
            }
            Var::RequestLength => rec.bytes_received = parse_u64(v),
            Var::RequestTime => rec.duration_us = secs_to_us(v),
            Var::UpstreamTime => rec.upstream_us = sum_secs_to_us(v),
            Var::UpstreamConnectTime => rec.upstream_connect_us = sum_secs_to_us(v),
            Var::UpstreamHeaderTime => rec.upstream_header_us = sum_secs_to_us(v),
            Var::UpstreamStatus => rec.upstream_status = StatusList::parse(v),
            Var::UpstreamAddr => rec.upstream_addr = num::text(v),
            Var::RequestId => {
                if rec.request_id.is_none() {
                    rec.request_id = self.text(v);
                }
            }
            Var::Traceparent => rec.trace_id = super::nginx::traceparent(v),
            Var::Host => {
                if rec.host.is_none() {
                    rec.host = self.text(v);
                }
            }
            Var::UserAgent => rec.user_agent = self.text(v),
            Var::Referer => rec.referer = self.text(v),
            Var::Route => rec.route = num::text(v),
            Var::IgnoredList | Var::Ignored => {}
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMBINED: &str = r#"'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'"#;
    const LINE: &[u8] = br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;

    #[test]
    fn combined_matches_builtin() {
        let f = NginxFormat::compile(COMBINED).unwrap();
        assert_eq!(f.parse(LINE), super::super::nginx::parse(LINE));
        // unquoted and in pieces, as in nginx.conf
        let f2 = NginxFormat::compile(COMBINED.trim_matches('\'')).unwrap();
        assert_eq!(f2.parse(LINE), f.parse(LINE));
        let f3 = NginxFormat::compile(
            "log_format combined '$remote_addr - $remote_user [$time_local] '\n    \
             '\"$request\" $status $body_bytes_sent '\n    '\"$http_referer\" \"$http_user_agent\"';",
        )
        .unwrap();
        assert_eq!(f3.parse(LINE), f.parse(LINE));
        assert!(f.parse(b"not a line").is_none());
        assert!(f.parse(&LINE[..LINE.len() - 1]).is_none(), "truncated");
    }

    #[test]
    fn braces_and_lists() {
        let f = NginxFormat::compile(
            r#"${remote_addr} [$time_local] "$request" $status ${upstream_addr} $upstream_status $upstream_response_time $upstream_connect_time rid=$request_id"#,
        )
        .unwrap();
        let l = br#"10.0.0.9 [01/May/2024:12:00:00 +0000] "GET /x HTTP/1.1" 200 10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80 502, 504 : 200 0.010, 0.020 : 0.005 0.001, 0.001 : 0.001 rid=abc"#;
        let r = f.parse(l).unwrap();
        assert_eq!(r.upstream_addr.as_deref(), Some("10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80"));
        assert_eq!(r.upstream_status.as_slice(), &[502, 504, 200]);
        assert_eq!(r.upstream_us, Some(35_000));
        assert_eq!(r.request_id.as_deref(), Some("abc"));
        assert_eq!(r.path.as_deref(), Some("/x"));
    }

    #[test]
    fn upstream_connect_and_header_times() {
        // an ingress-nginx style JSON log-format: the lists quoted, summed over the attempts
        let f = NginxFormat::compile(
            r#"escape=json '{"time":"$time_iso8601","status":$status,"upstream_addr":"$upstream_addr",'
                '"upstream_connect_time":"$upstream_connect_time","upstream_header_time":"$upstream_header_time",'
                '"upstream_response_time":"$upstream_response_time"}'"#,
        )
        .unwrap();
        let l = br#"{"time":"2024-05-01T12:00:00+00:00","status":200,"upstream_addr":"10.0.0.1:80, 10.0.0.2:80","upstream_connect_time":"-, 0.002","upstream_header_time":"-, 0.021","upstream_response_time":"1.002, 0.030"}"#;
        let r = f.parse(l).unwrap();
        assert_eq!(
            (r.upstream_connect_us, r.upstream_header_us, r.upstream_us),
            (Some(2_000), Some(21_000), Some(1_032_000))
        );
        for none in ["-", ""] {
            let l = format!(
                r#"{{"time":"2024-05-01T12:00:00+00:00","status":401,"upstream_addr":"{none}","upstream_connect_time":"{none}","upstream_header_time":"{none}","upstream_response_time":"{none}"}}"#
            );
            let r = f.parse(l.as_bytes()).unwrap();
            assert_eq!((r.upstream_connect_us, r.upstream_header_us, r.status), (None, None, Some(401)), "{l}");
        }
        // plain text, unquoted `a : b` lists (an internal redirect) side by side
        let f = NginxFormat::compile("$status $upstream_connect_time $upstream_header_time $upstream_response_time")
            .unwrap();
        let r = f.parse(b"200 0.001 : 0.002 0.010 : 0.020 0.011 : 0.030").unwrap();
        assert_eq!(
            (r.upstream_connect_us, r.upstream_header_us, r.upstream_us),
            (Some(3_000), Some(30_000), Some(41_000))
        );
    }

    #[test]
    fn json_escape() {
        let f = NginxFormat::compile(
            r#"escape=json '{"time":"$time_iso8601","remote_addr":"$remote_addr","request":"$request",'
                '"status":$status,"ua":"$http_user_agent","rt":$request_time,"id":"$request_id"}'"#,
        )
        .unwrap();
        let l = br#"{"time":"2024-05-01T12:00:00+02:00","remote_addr":"2001:db8::1","request":"GET /a?q=\"x\" HTTP/1.1","status":499,"ua":"Bot \"1\"\u00e9","rt":0.101,"id":""}"#;
        let r = f.parse(l).unwrap();
        assert_eq!(r.time.unwrap().unix_us, 1_714_557_600_000_000);
        assert_eq!(r.time.unwrap().offset_s, 7200);
        assert_eq!(r.client.as_deref(), Some("2001:db8::1"));
        assert_eq!(r.path.as_deref(), Some("/a?q=\"x\""));
        assert_eq!(r.status, Some(499));
        assert_eq!(r.user_agent.as_deref(), Some("Bot \"1\"é"));
        assert_eq!(r.duration_us, Some(101_000));
        assert_eq!(r.request_id, None);
    }

    #[test]
    fn compile_errors() {
        let e = NginxFormat::compile("$remote_addr$remote_user").unwrap_err().to_string();
        assert!(e.contains("directly after another variable"), "{e}");
        let e = NginxFormat::compile("'just text'").unwrap_err().to_string();
        assert!(e.contains("no $variables"), "{e}");
        assert!(NginxFormat::compile("").is_err());
        assert!(NginxFormat::compile("escape=xml $status").is_err());
        assert!(NginxFormat::compile("'$status").is_err());
        assert!(NginxFormat::compile("${status").is_err());
        // a bare `$` is a literal
        let f = NginxFormat::compile("$ $status").unwrap();
        assert_eq!(f.parse(b"$ 200").unwrap().status, Some(200));
        // a body starting with `"` that is not quoted pieces
        let f = NginxFormat::compile(r#""$request" $status"#).unwrap();
        let r = f.parse(br#""GET / HTTP/1.1" 200"#).unwrap();
        assert_eq!((r.method.as_deref(), r.status), (Some("GET"), Some(200)));
    }

    #[test]
    fn strict_on_status_and_time() {
        let f = NginxFormat::compile("$msec $status $request_time").unwrap();
        let r = f.parse(b"1714564800.123 200 0.5").unwrap();
        assert_eq!(r.time.unwrap().unix_us, 1_714_564_800_123_000);
        assert_eq!(r.duration_us, Some(500_000));
        assert!(f.parse(b"1714564800.123 abc 0.5").is_none());
        assert!(f.parse(b"yesterday 200 0.5").is_none());
    }

    #[test]
    fn send_sync() {
        fn check<T: Send + Sync + std::fmt::Debug>() {}
        check::<NginxFormat>();
    }
}
