//! Joining Envoy's own log lines to the request they are about, by the stream they name.
//!
//! Envoy's debug lines (see [`crate::format::envoy_debug`]) carry no request id, but each names its stream
//! (`[C2][S104953…]`), and the request headers Envoy dumps for the stream carry the request's
//! `x-request-id` (or `traceparent`). So a source is read twice: first for the streams whose dumped headers carry a
//! wanted id, then for those streams' lines — among them the one that says why the request failed (`upstream
//! reset: reset reason: remote connection failure …`, `Sending local reply with details upstream_response_timeout`).

use std::collections::HashMap;
use std::io::BufRead;

use crate::format::envoy_debug;

/// What the join says it matched on, for output.
pub const JOINED_BY: &str = "stream";

/// Lines of one stream kept at most: a long-lived stream (a websocket, a gRPC stream) is not read whole.
const LINES_PER_STREAM: usize = 200;

/// Finds the streams whose dumped request headers carry one of the wanted ids; fed lines in order.
#[derive(Debug)]
pub struct Finder {
    /// The wanted ids, as [`crate::ids::key`] keys them.
    keys: Vec<u64>,
    /// The stream whose headers the lines now being read are, if any.
    dump: Option<u64>,
    /// Each found stream and the key of the id its headers carry.
    pub streams: HashMap<u64, u64>,
}

impl Finder {
    /// A finder of the streams that carried these id keys.
    pub fn new(keys: Vec<u64>) -> Self {
        Finder { keys, dump: None, streams: HashMap::new() }
    }

    /// Read the next line.
    pub fn line(&mut self, line: &[u8]) {
        if let Some(d) = envoy_debug::parse(line) {
            self.dump = d.stream.filter(|_| envoy_debug::opens_header_dump(d.message));
            return;
        }
        let Some(stream) = self.dump else { return };
        let Some((name, value)) = envoy_debug::header(line) else {
            self.dump = None; // the blank line that ends a dump, or anything else
            return;
        };
        let key = if name.eq_ignore_ascii_case(b"x-request-id") {
            crate::ids::key_bytes(value)
        } else if name.eq_ignore_ascii_case(b"traceparent") {
            let Some(trace) = std::str::from_utf8(value).ok().and_then(crate::ids::traceparent_trace_id) else {
                return;
            };
            crate::ids::key(trace)
        } else {
            return;
        };
        if self.keys.contains(&key) {
            self.streams.insert(stream, key);
        }
    }
}

/// The stream a line belongs to, if it is one of Envoy's own lines naming one among `streams`.
pub fn stream_among(line: &[u8], streams: &HashMap<u64, u64>) -> Option<u64> {
    envoy_debug::parse(line)?.stream.filter(|s| streams.contains_key(s))
}

/// Whether a source's first bytes hold Envoy's own log lines.
pub fn looks_like_envoy_log(sample: &[u8]) -> bool {
    crate::format::detect::sample_lines(sample).iter().any(|l| envoy_debug::parse(l).is_some())
}

/// One line of a stream joined to a wanted id.
#[derive(Clone, Debug)]
pub struct StreamLine {
    /// 1-based line number.
    pub line: u64,
    /// The line as read.
    pub raw: Vec<u8>,
    /// The key of the id it was joined to.
    pub key: u64,
}

/// The lines of the streams of the file at `path` whose dumped headers carry one of the ids keyed `keys`.
/// Reads nothing further when the file's first lines are not Envoy's own log.
pub fn read(path: &str, keys: &[u64]) -> anyhow::Result<Vec<StreamLine>> {
    if keys.is_empty() || path == "-" {
        return Ok(Vec::new());
    }
    let lines = |f: &mut dyn FnMut(u64, &[u8])| -> anyhow::Result<()> {
        let mut input = std::io::BufReader::with_capacity(256 << 10, crate::input::open(path)?);
        let (mut buf, mut n) = (Vec::new(), 0);
        loop {
            buf.clear();
            if input.read_until(b'\n', &mut buf)? == 0 {
                return Ok(());
            }
            n += 1;
            f(n, crate::format::trim_line(buf.strip_suffix(b"\n").unwrap_or(&buf)));
        }
    };
    let mut head = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(crate::input::open(path)?, 64 << 10), &mut head)?;
    if !looks_like_envoy_log(&head) {
        return Ok(Vec::new());
    }
    let mut finder = Finder::new(keys.to_vec());
    lines(&mut |_, l| finder.line(l))?;
    if finder.streams.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut per_stream: HashMap<u64, usize> = HashMap::new();
    lines(&mut |n, l| {
        if let Some(s) = stream_among(l, &finder.streams) {
            let kept = per_stream.entry(s).or_default();
            if *kept < LINES_PER_STREAM {
                *kept += 1;
                out.push(StreamLine { line: n, raw: l.to_vec(), key: finder.streams[&s] });
            }
        }
    })?;
    Ok(out)
}

/// For the diagnosis: the request ids of the gateway sources' 502/503/504 records (at most `per_source` at each
/// end of each), joined to the Envoy streams in `sources`; each stream's cause line goes into `evidence` under
/// the record's status.
pub fn causes_into(
    sources: &[(String, Option<crate::record::Role>)],
    gateways: &[String],
    opts: &crate::input::ScanOptions,
    per_source: usize,
    evidence: &mut crate::diagnose::EvidenceSet,
) {
    let mut status_of: HashMap<u64, u16> = HashMap::new();
    for path in gateways {
        let keep = crate::matching::Keep::Ends(per_source);
        let accept = |r: &crate::record::Record<'_>| matches!(r.status, Some(502..=504)) && r.request_id.is_some();
        if let Ok(m) = crate::matching::find(path, Some(crate::record::Role::Gateway), opts, keep, accept) {
            for l in &m.lines {
                let rec = m.record(l);
                if let (Some(status), Some(id)) = (rec.status, rec.request_id.as_deref()) {
                    status_of.insert(crate::ids::key(id), status);
                }
            }
        }
    }
    let keys: Vec<u64> = status_of.keys().copied().collect();
    for (path, _) in sources {
        let Ok(lines) = read(path, &keys) else { continue };
        for l in lines {
            let Some(d) = envoy_debug::parse(&l.raw) else { continue };
            if envoy_debug::is_cause(d.message) {
                evidence.add_error_log_cause(status_of[&l.key], &String::from_utf8_lossy(d.message));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
[2024-05-01 12:00:01.842][27][debug][http] [source/common/http/conn_manager_impl.cc:1049] [C2][S11] request headers complete (end_stream=true):
':path', '/v1/orders/1'
'x-request-id', 'req-one'

[2024-05-01 12:00:01.842][28][debug][http] [source/common/http/conn_manager_impl.cc:1049] [C4][S22] request headers complete (end_stream=true):
'x-request-id', 'req-two'
'traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

[2024-05-01 12:00:01.843][27][debug][router] [source/common/router/router.cc:1210] [C2][S11] upstream reset: reset reason: remote connection failure
'x-request-id', 'req-two'
";

    #[test]
    fn finds_the_streams_by_their_dumped_headers() {
        let mut f = Finder::new(vec![crate::ids::key("req-one"), crate::ids::key("0af7651916cd43dd8448eb211c80319c")]);
        LOG.lines().for_each(|l| f.line(l.as_bytes()));
        assert_eq!(f.streams.get(&11), Some(&crate::ids::key("req-one")));
        assert_eq!(f.streams.get(&22), Some(&crate::ids::key("0af7651916cd43dd8448eb211c80319c")));
        // a header line outside a dump names no stream
        let mut f = Finder::new(vec![crate::ids::key("req-two")]);
        LOG.lines().for_each(|l| f.line(l.as_bytes()));
        assert_eq!(f.streams.keys().collect::<Vec<_>>(), [&22]);
    }

    #[test]
    fn reads_a_file_twice_for_its_streams_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("envoy.log");
        std::fs::write(&path, LOG).unwrap();
        let lines = read(path.to_str().unwrap(), &[crate::ids::key("req-one")]).unwrap();
        let numbers: Vec<u64> = lines.iter().map(|l| l.line).collect();
        assert_eq!(numbers, [1, 9]);
        assert!(read(path.to_str().unwrap(), &[crate::ids::key("nobody")]).unwrap().is_empty());
    }
}
