//! logfmt application logs: `time=2024-05-01T12:00:00Z level=info msg="request done" request_id=abc duration=12.3ms`
//! as Go kit, logrus's text formatter, Heroku's router, structlog's `LogfmtRenderer` and others write them.
//!
//! Keys are `[A-Za-z0-9_.\-/@]+`; values are bare (up to the next space) or double-quoted with `\"`, `\\`, `\n`,
//! `\t`, `\r` escapes. Key names and value rules are the JSON ones ([`super::app_json::keys`]). A line is logfmt
//! when it has at least two `key=value` pairs and at most two stray (non-pair) tokens that take no more room than
//! the pairs, so an nginx line or free text with a `key=value` or two is not; and when it is well formed: no
//! control characters, every quoted value closed, and a stray after the first pair a bare key (a flag such as
//! `retry`). Random bytes are not. A leading ISO timestamp among the strays
//! (`2024-05-01T12:00:00Z heroku[router]: at=info …`) is used when no time key is present.
//!
//! Text fields borrow from the line unless they had to be unescaped or held invalid UTF-8.

use std::borrow::Cow;
use std::io::Write as _;
use std::ops::Range;

use super::app_json::keys::{self, Collector, Scalar};
use super::options::ParseOptions;
use crate::record::Record;
use crate::synth::SynthRequest;

/// At most this many stray tokens in a logfmt line.
const MAX_STRAYS: usize = 2;

/// One token of a logfmt-ish line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// `key=value`: the key, the value's bytes (inside the quotes when quoted) and whether it has escapes.
    Pair { key: Range<usize>, value: Range<usize>, escaped: bool, span: Range<usize> },
    /// Anything else: a word, or a quoted string.
    Stray(Range<usize>),
}

/// The tokens of a line, left to right. Never panics, whatever the bytes.
pub fn tokens(line: &[u8]) -> Tokens<'_> {
    Tokens { b: line, i: 0 }
}

/// Iterator returned by [`tokens`].
pub struct Tokens<'a> {
    b: &'a [u8],
    i: usize,
}

fn is_space(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// End of a quoted string whose opening quote is at `start` (index after the closing quote, or the end of a
/// line cut inside it), whether it held a backslash, and whether it was closed.
fn quoted_end(b: &[u8], start: usize) -> (usize, bool, bool) {
    let mut j = start + 1;
    let mut escaped = false;
    while j < b.len() {
        match b[j] {
            b'\\' => {
                escaped = true;
                j += 2;
            }
            b'"' => return (j + 1, escaped, true),
            _ => j += 1,
        }
    }
    (b.len(), escaped, false)
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let b = self.b;
        while self.i < b.len() && is_space(b[self.i]) {
            self.i += 1;
        }
        let start = self.i;
        if start >= b.len() {
            return None;
        }
        if b[start] == b'"' {
            let (end, _, _) = quoted_end(b, start);
            self.i = end;
            return Some(Token::Stray(start..end));
        }
        let mut j = start;
        while j < b.len() && !is_space(b[j]) && b[j] != b'=' && b[j] != b'"' {
            j += 1;
        }
        if j > start && j < b.len() && b[j] == b'=' {
            let key = start..j;
            let v = j + 1;
            if v < b.len() && b[v] == b'"' {
                let (end, escaped, closed) = quoted_end(b, v);
                let inner_end = if closed { end - 1 } else { end };
                self.i = end;
                return Some(Token::Pair { key, value: v + 1..inner_end.max(v + 1), escaped, span: start..end });
            }
            let mut e = v;
            while e < b.len() && !is_space(b[e]) {
                e += 1;
            }
            self.i = e;
            return Some(Token::Pair { key, value: v..e, escaped: false, span: start..e });
        }
        let mut e = j;
        while e < b.len() && !is_space(b[e]) {
            e += 1;
        }
        self.i = e;
        Some(Token::Stray(start..e))
    }
}

/// A value's text: borrowed when it needs no unescaping and is valid UTF-8.
pub fn value_text(raw: &[u8], escaped: bool) -> Cow<'_, str> {
    if !escaped {
        return String::from_utf8_lossy(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() {
            match raw[i + 1] {
                b'"' => out.push(b'"'),
                b'\\' => out.push(b'\\'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                c => out.extend_from_slice(&[b'\\', c]),
            }
            i += 2;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Parse one line.
pub fn parse<'a>(line: &'a [u8], opts: &ParseOptions) -> Option<Record<'a>> {
    let mut col: Collector<'a> = Collector::new();
    let (mut pairs, mut pair_bytes, mut strays, mut stray_bytes) = (0usize, 0usize, 0usize, 0usize);
    let mut lead: Option<Range<usize>> = None;
    for tok in tokens(line) {
        match tok {
            Token::Pair { key, value, escaped, span } => {
                if !is_key(&line[key.clone()]) || !printable(&line[span.clone()]) {
                    return None;
                }
                let quoted = value.start > key.end + 1;
                if quoted && span.end == value.end {
                    return None; // unterminated quote: a cut line
                }
                pairs += 1;
                pair_bytes += span.len();
                if let Ok(k) = std::str::from_utf8(&line[key]) {
                    col.offer_key(k, opts, || Some(Scalar::Str(value_text(&line[value], escaped))));
                }
            }
            Token::Stray(r) => {
                strays += 1;
                let well_formed = if pairs == 0 { printable(&line[r.clone()]) } else { is_key(&line[r.clone()]) };
                if strays > MAX_STRAYS || !well_formed {
                    return None;
                }
                stray_bytes += r.len();
                if pairs == 0 {
                    lead = Some(lead.map_or(r.clone(), |l| l.start..r.end));
                }
            }
        }
    }
    if pairs < 2 || stray_bytes > pair_bytes {
        return None;
    }
    let mut rec = Record::default();
    let has_time = col.has(keys::Kind::Time);
    col.finish_into(&mut rec);
    if !has_time && let Some(l) = lead {
        rec.time = leading_time(&line[l]);
    }
    Some(rec)
}

/// A logfmt key (or bare key): ASCII letters, digits and `_ . - / @`.
fn is_key(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'/' | b'@'))
}

/// No control characters (tabs aside): logfmt writers escape them, binary data is full of them.
fn printable(b: &[u8]) -> bool {
    !b.iter().any(|&c| (c < b' ' && c != b'\t') || c == 0x7f)
}

/// An ISO time at the start of the stray prefix (one token, or two: `2024-05-01 12:00:00`).
fn leading_time(b: &[u8]) -> Option<crate::record::LogTime> {
    let first = b.split(|&c| is_space(c)).next()?;
    super::time::parse_iso(first).or_else(|| {
        let two = b.splitn(3, |&c| is_space(c)).take(2).map(<[u8]>::len).sum::<usize>() + 1;
        super::time::parse_iso(&b[..two.min(b.len())])
    })
}

/// True when a value must be quoted: empty, or holding a space, `=`, `"`, a control character or non-ASCII.
fn needs_quotes(s: &str) -> bool {
    s.is_empty() || s.bytes().any(|c| c <= b' ' || c == b'=' || c == b'"' || c == b'\\' || c >= 0x7f)
}

/// Append ` key=value` (with its leading space), quoting and escaping the value when needed.
pub fn write_pair(out: &mut Vec<u8>, key: &str, value: &str) {
    out.push(b' ');
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    if !needs_quotes(value) {
        out.extend_from_slice(value.as_bytes());
        return;
    }
    out.push(b'"');
    for c in value.bytes() {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\r' => out.extend_from_slice(b"\\r"),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

/// The upstream's logfmt line for a request (no newline), Go kit style:
/// `time=… level=error msg="connection refused" request_id=… trace_id=… method=POST path=… status=502 duration=1ms`.
/// Time, status and duration as in [`super::app_json::write`].
pub fn write(r: &SynthRequest, out: &mut Vec<u8>) {
    use super::app_json::{level_word, message, upstream_duration_us, upstream_status, upstream_time_us};
    let status = upstream_status(r);
    out.extend_from_slice(b"time=");
    keys::write_rfc3339(out, upstream_time_us(r));
    let _ = write!(out, " level={}", level_word(status));
    write_pair(out, "msg", message(r));
    write_pair(out, "request_id", &r.request_id);
    if let Some(t) = &r.trace_id {
        write_pair(out, "trace_id", t);
    }
    write_pair(out, "method", r.method);
    write_pair(out, "path", &r.path);
    let _ = write!(out, " status={status} duration=");
    keys::write_go_duration(out, upstream_duration_us(r));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Level;

    fn p(line: &str) -> Option<Record<'_>> {
        parse(line.as_bytes(), &ParseOptions::default())
    }

    fn us(iso: &str) -> i64 {
        iso.parse::<jiff::Timestamp>().unwrap().as_microsecond()
    }

    #[test]
    fn logrus_text() {
        let line = r#"time="2024-05-01T12:00:00-04:00" level=warning msg="slow \"upstream\" call" request_id=0af7651916cd43dd8448eb211c80319c status=504 latency=1.5s"#;
        let r = p(line).unwrap();
        assert_eq!(r.time.unwrap().unix_us, us("2024-05-01T16:00:00Z"));
        assert_eq!(r.level, Some(Level::Warn));
        assert_eq!(r.message.as_deref(), Some("slow \"upstream\" call"));
        assert!(matches!(r.message, Some(Cow::Owned(_))));
        assert_eq!(r.request_id.as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
        assert!(matches!(r.request_id, Some(Cow::Borrowed(_))));
        assert_eq!(r.status, Some(504));
        assert_eq!(r.duration_us, Some(1_500_000));
    }

    #[test]
    fn go_kit_and_borrowing() {
        let r = p(r#"ts=1714564800.25 caller=main.go:42 level=info msg="request done" req_id=abc took=12"#).unwrap();
        assert_eq!(r.time.unwrap().unix_us, us("2024-05-01T12:00:00.25Z"));
        assert!(matches!(r.message, Some(Cow::Borrowed("request done"))));
        assert_eq!(r.request_id.as_deref(), Some("abc"));
        assert_eq!(r.duration_us, Some(12_000));
    }

    #[test]
    fn heroku_prefix() {
        let line = "2024-05-01T12:00:00+00:00 heroku[router]: at=info method=GET path=\"/v1/x\" request_id=5f1 status=200 service=18ms bytes=13";
        let r = p(line).unwrap();
        assert_eq!(r.time.unwrap().unix_us, us("2024-05-01T12:00:00Z"));
        assert_eq!(r.method.as_deref(), Some("GET"));
        assert_eq!(r.path.as_deref(), Some("/v1/x"));
        assert_eq!(r.status, Some(200));
    }

    #[test]
    fn rejects_non_logfmt() {
        assert!(p(r#"203.0.113.7 - - [01/May/2024:12:00:00 +0000] "GET /a?b=c HTTP/1.1" 200 12 "-" "curl/8" rt=0.002 request_id=abc"#).is_none());
        assert!(p("2024-05-01 12:00:00 ERROR request failed user=bob id=3").is_none());
        assert!(p("just some text").is_none());
        assert!(p("only=one").is_none());
        assert!(p(r#"{"a":"b=c","d":"e=f"}"#).is_none());
        assert!(p("").is_none());
    }

    #[test]
    fn real_writers_parse() {
        // Go log/slog TextHandler, with a group and a quoted error
        let r = p(r#"time=2024-05-01T12:00:00.123+02:00 level=ERROR msg="upstream failed" req.method=POST path=/v1/orders status=502 duration=1.503s request_id=r-42 err="dial tcp: connection refused""#).unwrap();
        assert_eq!(r.time.unwrap().unix_us, us("2024-05-01T10:00:00.123Z"));
        assert_eq!((r.level, r.status, r.duration_us), (Some(Level::Error), Some(502), Some(1_503_000)));
        assert_eq!((r.method.as_deref(), r.request_id.as_deref()), (Some("POST"), Some("r-42")));
        // a bare key (a flag), an empty quoted value, a tab, escapes
        let r = p("level=info msg=\"say \\\"hi\\\" \\\\o/\"\tcached note=\"\" id=7").unwrap();
        assert_eq!(r.message.as_deref(), Some(r#"say "hi" \o/"#));
        assert_eq!(r.request_id, None);
    }

    #[test]
    fn rejects_malformed_and_binary() {
        assert!(p("level=info msg=\"cut off here").is_none(), "unterminated quote");
        assert!(p("level=info msg=\"cut off \\\"").is_none(), "unterminated: the last quote is escaped");
        assert_eq!(p("level=info msg=\"say \\\"hi\\\"\"").unwrap().message.as_deref(), Some("say \"hi\""));
        assert!(p("level=info msg=\x1b[31mred").is_none(), "control character");
        assert!(p("level=info m\u{e9}sg=caf\u{e9}").is_none(), "non-ASCII key");
        assert!(p("level=info (key)=v").is_none(), "key with punctuation");
        assert!(p("level=info msg=x \"quoted stray\"").is_none(), "a stray after the pairs is not a bare key");
        let mut rng = crate::generate::Rng::new(7);
        let garbage: Vec<u8> = (0..2 << 20).map(|_| rng.next_u64() as u8).collect();
        let took: Vec<&[u8]> =
            garbage.split(|&b| b == b'\n').filter(|l| parse(l, &ParseOptions::default()).is_some()).collect();
        assert!(
            took.is_empty(),
            "{} random lines taken, e.g. {:?}",
            took.len(),
            took.first().map(|l| l.escape_ascii().to_string())
        );
    }

    #[test]
    fn tokenizer_edges() {
        let line = br#"a="x\"y" b= "str" c=d"e unterminated="abc"#;
        let t: Vec<Token> = tokens(line).collect();
        assert_eq!(t.len(), 5);
        let Token::Pair { value, escaped, .. } = &t[0] else { panic!() };
        assert_eq!(value_text(&line[value.clone()], *escaped), "x\"y");
        assert!(matches!(&t[1], Token::Pair { value, .. } if value.is_empty()));
        assert!(matches!(&t[2], Token::Stray(r) if &line[r.clone()] == b"\"str\""));
        let Token::Pair { value, .. } = &t[4] else { panic!() };
        assert_eq!(&line[value.clone()], b"abc");
        assert_eq!(value_text(br"a\\b\n\q", true), "a\\b\n\\q");
    }

    #[test]
    fn writer_round_trip() {
        let mut r = SynthRequest::example();
        r.message = "said \"no\"\n= bad\\".into();
        let mut out = Vec::new();
        write(&r, &mut out);
        let rec = p(std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(rec.time.unwrap().unix_us, r.time.unix_us - 1_000);
        assert_eq!(rec.level, Some(Level::Error));
        assert_eq!(rec.message.as_deref(), Some(r.message.as_str()));
        assert_eq!(rec.request_id.as_deref(), Some(r.request_id.as_str()));
        assert_eq!(rec.trace_id.as_deref(), r.trace_id.as_deref());
        assert_eq!(rec.method.as_deref(), Some("POST"));
        assert_eq!(rec.path.as_deref(), Some(r.path.as_str()));
        assert_eq!(rec.status, Some(502));
        assert_eq!(rec.duration_us, Some(1_000));
    }
}
