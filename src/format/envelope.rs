//! Wrappers around log lines: docker json-file (`{"log": "...", "time": ...}`), JSON `{"message": "..."}`
//! shippers, and the Kubernetes CRI prefix (`2024-05-01T12:00:00.1Z stdout F <line>`).

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
}

/// A line taken out of its envelope, with what the envelope knew about it.
pub struct Unwrapped<'a> {
    /// The inner line.
    pub line: Cow<'a, [u8]>,
    /// The envelope's own timestamp, used when the inner line has none.
    pub time: Option<LogTime>,
}

impl Unwrapped<'_> {
    /// Fill in what the inner record lacks from the envelope.
    pub fn complete(self, mut rec: Record<'static>) -> Record<'static> {
        if rec.time.is_none() {
            rec.time = self.time;
        }
        rec
    }
}

impl Envelope {
    /// Every envelope, in detection order.
    pub const ALL: [Envelope; 3] = [Envelope::DockerJson, Envelope::MessageJson, Envelope::Cri];

    /// Short name used in `docker+nginx`.
    pub fn name(self) -> &'static str {
        match self {
            Envelope::DockerJson => "docker",
            Envelope::MessageJson => "message",
            Envelope::Cri => "cri",
        }
    }

    /// Take the inner line out; `None` when this line is not wrapped this way.
    pub fn unwrap(self, line: &[u8]) -> Option<Unwrapped<'_>> {
        match self {
            Envelope::DockerJson => json_field(line, "log", &["time", "@timestamp", "timestamp"]),
            Envelope::MessageJson => json_field(line, "message", &["@timestamp", "timestamp", "time"]),
            Envelope::Cri => cri(line),
        }
    }
}

fn json_field<'a>(line: &'a [u8], key: &str, time_keys: &[&str]) -> Option<Unwrapped<'a>> {
    let obj = super::jsonval::object(line)?;
    let inner = obj.get(key)?.as_str()?;
    let inner = inner.strip_suffix('\n').unwrap_or(inner);
    let inner = inner.strip_suffix('\r').unwrap_or(inner);
    let time = super::jsonval::first(&obj, time_keys).and_then(super::jsonval::time_of);
    Some(Unwrapped { line: Cow::Owned(inner.as_bytes().to_vec()), time })
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
    Some(Unwrapped { line: Cow::Borrowed(rest), time: Some(time) })
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
    fn cri_prefix() {
        let u = Envelope::Cri.unwrap(b"2024-05-01T12:00:00.123456789Z stdout F hello world").unwrap();
        assert_eq!(u.line.as_ref(), b"hello world");
        assert!(Envelope::Cri.unwrap(b"hello world").is_none());
    }
}
