//! Wrappers around log lines: docker json-file and Fluent Bit (`{"log": "...", "time": ...}`), JSON shippers
//! (`{"message": "..."}` from Vector, Filebeat, Logstash; `{"msg": "..."}`), the Kubernetes CRI prefix
//! (`2024-05-01T12:00:00.1Z stdout F <line>`), syslog headers (RFC 3164 and RFC 5424, with or without host and
//! tag), and a leading word some proxies and tools put before each line (Emissary's `ACCESS `, `kubectl logs
//! --prefix`'s `[pod/NAME/CONTAINER] `). The envelope's own time and host (node) fill in what the line lacks.

use std::borrow::Cow;

use crate::record::{LogTime, Record};

/// A wrapper around every line of a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Envelope {
    /// docker json-file / Kubernetes: the line is in `"log"`.
    DockerJson,
    /// A JSON shipper envelope: the line is in `"message"`.
    MessageJson,
    /// containerd/CRI-O: `<RFC3339Nano> <stream> <P|F> <line>`.
    Cri,
    /// A syslog header: RFC 3164 `<PRI>Mmm dd hh:mm:ss host tag[pid]: line` (PRI, host and tag each optional)
    /// or RFC 5424 `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD…] line`.
    Syslog,
    /// A leading word before each line: `ACCESS ` (Emissary / Ambassador), `[pod/NAME/CONTAINER] ` (`kubectl
    /// logs --prefix`).
    Prefix,
}

/// A line taken out of its envelope, with what the envelope knew about it.
pub struct Unwrapped<'a> {
    /// The inner line.
    pub line: Cow<'a, [u8]>,
    /// The envelope's own timestamp, used when the inner line has none.
    pub time: Option<LogTime>,
    /// The machine, pod or container the envelope names, used when the line names none.
    pub node: Option<String>,
}

impl Unwrapped<'_> {
    /// Fill in what the inner record lacks from the envelope.
    pub fn complete(self, mut rec: Record<'static>) -> Record<'static> {
        if rec.time.is_none() {
            rec.time = self.time;
        }
        if rec.node.is_none() {
            rec.node = self.node.map(Cow::Owned);
        }
        rec
    }
}

impl Envelope {
    /// Every envelope, in detection order.
    pub const ALL: [Envelope; 5] =
        [Envelope::DockerJson, Envelope::MessageJson, Envelope::Cri, Envelope::Syslog, Envelope::Prefix];

    /// Short name used in `docker+nginx`.
    pub fn name(self) -> &'static str {
        match self {
            Envelope::DockerJson => "docker",
            Envelope::MessageJson => "message",
            Envelope::Cri => "cri",
            Envelope::Syslog => "syslog",
            Envelope::Prefix => "prefix",
        }
    }

    /// Take the inner line out; `None` when this line is not wrapped this way.
    pub fn unwrap(self, line: &[u8]) -> Option<Unwrapped<'_>> {
        match self {
            Envelope::DockerJson => json_field(line, &["log"], &["time", "@timestamp", "timestamp", "date"]),
            Envelope::MessageJson => json_field(line, &["message", "msg"], &["@timestamp", "timestamp", "time", "ts"]),
            Envelope::Cri => cri(line),
            Envelope::Syslog => syslog(line),
            Envelope::Prefix => prefix(line),
        }
    }
}

/// Where shippers put the machine or pod a line came from, most specific first.
const NODE_KEYS: [&str; 7] =
    ["kubernetes.pod_name", "kubernetes.pod.name", "k8s.pod.name", "host.name", "host.hostname", "hostname", "host"];

fn json_field<'a>(line: &'a [u8], keys: &[&str], time_keys: &[&str]) -> Option<Unwrapped<'a>> {
    let obj = super::jsonval::object(line)?;
    let inner = keys.iter().find_map(|k| obj.get(*k).and_then(|v| v.as_str()))?;
    let inner = inner.strip_suffix('\n').unwrap_or(inner);
    let inner = inner.strip_suffix('\r').unwrap_or(inner);
    let time = super::jsonval::first(&obj, time_keys).and_then(super::jsonval::time_of);
    let node =
        NODE_KEYS.iter().find_map(|k| super::jsonval::path(&obj, k).and_then(|v| v.as_str())).map(str::to_string);
    Some(Unwrapped { line: Cow::Owned(inner.as_bytes().to_vec()), time, node })
}

/// `<PRI>` at the start of a syslog line: its length (0 when absent).
fn pri_len(line: &[u8]) -> Option<usize> {
    if line.first() != Some(&b'<') {
        return Some(0);
    }
    let close = line.iter().take(5).position(|&b| b == b'>')?;
    (close > 1 && line[1..close].iter().all(u8::is_ascii_digit)).then_some(close + 1)
}

/// A syslog header (RFC 3164 or 5424, `<PRI>` optional) and the line after it, with the header's time and host.
pub fn syslog(line: &[u8]) -> Option<Unwrapped<'_>> {
    let rest = &line[pri_len(line)?..];
    if let Some(r) = rest.strip_prefix(b"1 ") {
        return rfc5424(r);
    }
    rfc3164(rest)
}

/// The next space-separated token of `b` from `i`: (token, index after the space).
fn token(b: &[u8], i: usize) -> Option<(&[u8], usize)> {
    let rest = b.get(i..)?;
    let end = rest.iter().position(|&c| c == b' ')?;
    Some((&rest[..end], i + end + 1))
}

/// `TIMESTAMP HOST APP PROCID MSGID SD MSG`, after `<PRI>1 `.
fn rfc5424(b: &[u8]) -> Option<Unwrapped<'_>> {
    let (ts, i) = token(b, 0)?;
    let time = if ts == b"-" { None } else { Some(super::time::parse_iso(ts)?) };
    let (host, i) = token(b, i)?;
    let (_app, i) = token(b, i)?;
    let (_proc, i) = token(b, i)?;
    let (_msgid, mut i) = token(b, i)?;
    // structured data: `-`, or `[…]` elements (quoted values may hold spaces and `\]`)
    if b.get(i) == Some(&b'-') {
        i += 1;
    } else {
        while b.get(i) == Some(&b'[') {
            let (mut j, mut quoted) = (i + 1, false);
            loop {
                match *b.get(j)? {
                    b'\\' => j += 1,
                    b'"' => quoted = !quoted,
                    b']' if !quoted => break,
                    _ => {}
                }
                j += 1;
            }
            i = j + 1;
        }
    }
    let msg = b.get(i..)?;
    let msg = msg.strip_prefix(b" ").unwrap_or(msg);
    let msg = msg.strip_prefix("\u{feff}".as_bytes()).unwrap_or(msg);
    let node = (host != b"-").then(|| String::from_utf8_lossy(host).into_owned());
    Some(Unwrapped { line: Cow::Borrowed(msg), time, node })
}

const MONTHS: [&[u8]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// `Mmm dd hh:mm:ss [host] [tag[pid]:] MSG`: the stamp has no year (the current one, or the last when that would
/// put it more than a day ahead) and no zone (UTC).
fn rfc3164(b: &[u8]) -> Option<Unwrapped<'_>> {
    let month = MONTHS.iter().position(|m| b.get(..3) == Some(*m))? as u32 + 1;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let mut i = 4;
    if b.get(i) == Some(&b' ') {
        i += 1; // `May  1`
    }
    let (day, i) = token(b, i)?;
    let day: u32 = std::str::from_utf8(day).ok()?.parse().ok().filter(|d| (1..=31).contains(d))?;
    let (clock, i) = token(b, i)?;
    let [h1, h2, b':', m1, m2, b':', s1, s2] = *clock else { return None };
    let num = |a: u8, b: u8| (a.is_ascii_digit() && b.is_ascii_digit()).then(|| ((a - b'0') * 10 + (b - b'0')) as i64);
    let (h, mi, sec) = (num(h1, h2)?, num(m1, m2)?, num(s1, s2)?);
    // host, then a tag ending in `:`; either may be missing
    let mut msg = i;
    let mut node = None;
    if let Some((t1, j)) = token(b, i) {
        if t1.ends_with(b":") {
            msg = j;
        } else if let Some((t2, k)) = token(b, j).filter(|(t2, _)| t2.ends_with(b":") && tag_like(t2)) {
            let _ = t2;
            node = Some(String::from_utf8_lossy(t1).into_owned());
            msg = k;
        }
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let year_now = super::time::civil_from_days(now.div_euclid(86_400)).0;
    let at = |y: i64| super::time::days_from_civil(y, month, day) * 86_400 + h * 3600 + mi * 60 + sec;
    let secs = if at(year_now) > now + 86_400 { at(year_now - 1) } else { at(year_now) };
    let time = Some(LogTime::from_unix_us(secs * 1_000_000));
    Some(Unwrapped { line: Cow::Borrowed(&b[msg..]), time, node })
}

/// A syslog tag: `name:` or `name[pid]:`, the name of word characters.
fn tag_like(t: &[u8]) -> bool {
    let t = &t[..t.len() - 1];
    let name = t.split(|&c| c == b'[').next().unwrap_or(t);
    !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || b"-_./".contains(c))
}

fn prefix(line: &[u8]) -> Option<Unwrapped<'_>> {
    if let Some(rest) = line.strip_prefix(b"ACCESS ") {
        return Some(Unwrapped { line: Cow::Borrowed(rest), time: None, node: None });
    }
    if !line.starts_with(b"[pod/") {
        return stern(line);
    }
    // `[pod/NAME/CONTAINER] `
    let rest = line.strip_prefix(b"[pod/")?;
    let close = rest.iter().position(|&c| c == b']')?;
    let name = rest[..close].split(|&c| c == b'/').next()?;
    let line = rest.get(close + 1..)?.strip_prefix(b" ")?;
    Some(Unwrapped { line: Cow::Borrowed(line), time: None, node: Some(String::from_utf8_lossy(name).into_owned()) })
}

/// stern's `POD CONTAINER line` (its default template, without colours): the pod named as Kubernetes names a
/// Deployment's or StatefulSet's pods (`orders-api-7d9f8b6c5-xk2p9`, `gateway-0`), so that two words of free
/// text are not taken for one.
fn stern(line: &[u8]) -> Option<Unwrapped<'_>> {
    let sp = memchr::memchr(b' ', line)?;
    let pod = &line[..sp];
    let rest = &line[sp + 1..];
    let sp2 = memchr::memchr(b' ', rest)?;
    let (container, inner) = (&rest[..sp2], &rest[sp2 + 1..]);
    let dns = |w: &[u8]| {
        !w.is_empty()
            && w.len() <= 63
            && w.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && w.first().is_some_and(u8::is_ascii_alphanumeric)
            && w.last().is_some_and(u8::is_ascii_alphanumeric)
    };
    if !dns(pod) || !dns(container) {
        return None;
    }
    // the generated suffix: five characters of Kubernetes' alphabet (no vowels, no 0, 1, 3), or an ordinal
    let suffix = &pod[pod.iter().rposition(|&c| c == b'-')? + 1..];
    let generated = suffix.len() == 5 && suffix.iter().all(|c| b"bcdfghjklmnpqrstvwxz2456789".contains(c));
    let ordinal = !suffix.is_empty() && suffix.len() <= 4 && suffix.iter().all(u8::is_ascii_digit);
    (generated || ordinal).then(|| Unwrapped {
        line: Cow::Borrowed(inner),
        time: None,
        node: Some(String::from_utf8_lossy(pod).into_owned()),
    })
}

fn cri(line: &[u8]) -> Option<Unwrapped<'_>> {
    let mut parts = line.splitn(4, |&b| b == b' ');
    let time = super::time::parse_iso(parts.next()?)?;
    let stream = parts.next()?;
    if stream != b"stdout" && stream != b"stderr" {
        return None;
    }
    let tag = parts.next()?;
    if tag != b"F" && tag != b"P" {
        return None;
    }
    let rest = parts.next().unwrap_or(b"");
    Some(Unwrapped { line: Cow::Borrowed(rest), time: Some(time), node: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker() {
        let line = br#"{"log":"10.0.0.1 - - [01/May/2024:12:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"\n","stream":"stdout","time":"2024-05-01T12:00:00.5Z"}"#;
        let u = Envelope::DockerJson.unwrap(line).unwrap();
        assert!(u.line.starts_with(b"10.0.0.1 - - [01/May"));
        assert!(u.line.ends_with(b"\"-\""));
        assert!(u.time.is_some());
        assert!(Envelope::DockerJson.unwrap(b"{\"msg\":\"x\"}").is_none());
    }

    #[test]
    fn syslog_headers_give_their_time_and_host_to_lines_without() {
        let u = Envelope::Syslog.unwrap(b"<14>1 2024-05-01T12:00:04Z gw2 app 7 - - request failed").unwrap();
        assert_eq!((u.line.as_ref(), u.node.as_deref()), (&b"request failed"[..], Some("gw2")));
        assert_eq!(u.time.map(|t| t.unix_us), Some(1_714_564_804_000_000));
        let rec = u.complete(crate::record::Record::default());
        assert_eq!((rec.time.is_some(), rec.node.as_deref()), (true, Some("gw2")));
        // RFC 3164 has no year: the one that puts the stamp in the past
        let u = Envelope::Syslog.unwrap(b"Jan  2 03:04:05 gw1 app[1]: x").unwrap();
        assert_eq!((u.line.as_ref(), u.node.as_deref()), (&b"x"[..], Some("gw1")));
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let t = u.time.unwrap().unix_us / 1_000_000;
        assert!(t <= now + 86_400 && t > now - 367 * 86_400, "{t}");
        for not in [&b"hello world"[..], b"<999999>1 x", b"May 41 12:00:00 h t: x", b"1 2024-05-01T12:00:00Z"] {
            assert!(Envelope::Syslog.unwrap(not).is_none(), "{}", String::from_utf8_lossy(not));
        }
    }

    #[test]
    fn prefixes_and_msg_envelopes() {
        let u = Envelope::Prefix.unwrap(b"[pod/gw-1/nginx] 10.0.0.1 - -").unwrap();
        assert_eq!((u.line.as_ref(), u.node.as_deref()), (&b"10.0.0.1 - -"[..], Some("gw-1")));
        assert_eq!(Envelope::Prefix.unwrap(b"ACCESS [2024]").unwrap().line.as_ref(), b"[2024]");
        assert!(Envelope::Prefix.unwrap(b"[2024-05-01] x").is_none());
        let u = Envelope::MessageJson.unwrap(br#"{"msg":"inner","ts":1714564800.5,"kubernetes":{"pod_name":"p"}}"#);
        let u = u.unwrap();
        assert_eq!((u.line.as_ref(), u.node.as_deref()), (&b"inner"[..], Some("p")));
        assert!(u.time.is_some());
    }

    #[test]
    fn cri_prefix() {
        let u = Envelope::Cri.unwrap(b"2024-05-01T12:00:00.123456789Z stdout F hello world").unwrap();
        assert_eq!(u.line.as_ref(), b"hello world");
        assert!(Envelope::Cri.unwrap(b"hello world").is_none());
    }
}
