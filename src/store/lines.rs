//! One source's lines, append-only: the raw text in large chunks, and 32 bytes of parsed columns per line.
//!
//! The raw line stays the source of truth: a view re-parses the few lines it draws. The columns hold what must be
//! read for every line at once: the time (time lock, trace order), the request id key (correlation), the status
//! (counts, colours) and the latency.

use crate::record::{Level, Record};

/// Raw text is kept in chunks of this size; a chunk never moves once written, so growth copies nothing.
const CHUNK: usize = 1 << 20;
/// Columns are kept in blocks of this many lines, so growing never copies more than one block.
const BLOCK: usize = 1 << 15;

/// What is known of one line without re-parsing it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineMeta {
    /// Where the line starts: chunk index << 32 | offset in the chunk.
    start: u64,
    /// Log time, ms since the epoch; a line without a time carries the time of the line before it.
    pub time_ms: i64,
    /// [`crate::ids::key`] of the request id (or the trace id when there is no request id); 0 when none.
    pub id: u64,
    /// Total latency, µs (saturated); `u32::MAX` when not logged.
    pub latency_us: u32,
    /// Status; 0 when none.
    pub status: u16,
    /// Severity (application logs): 0 none, then trace..fatal as 1..6.
    pub level: u8,
    /// Bit 0: the line parsed. Bit 1: the line has a time of its own.
    pub flags: u8,
}

impl LineMeta {
    /// Whether the line parsed with its source's format.
    pub fn parsed(&self) -> bool {
        self.flags & 1 != 0
    }

    /// The severity, if the line has one.
    pub fn level(&self) -> Option<Level> {
        const LEVELS: [Level; 6] = [Level::Trace, Level::Debug, Level::Info, Level::Warn, Level::Error, Level::Fatal];
        self.level.checked_sub(1).map(|i| LEVELS[i as usize])
    }
}

fn level_code(l: Level) -> u8 {
    match l {
        Level::Trace => 1,
        Level::Debug => 2,
        Level::Info => 3,
        Level::Warn => 4,
        Level::Error => 5,
        Level::Fatal => 6,
    }
}

/// The lines of one source.
#[derive(Default)]
pub struct LineStore {
    chunks: Vec<Vec<u8>>,
    meta: Vec<Vec<LineMeta>>,
    len: usize,
    /// Lines carrying both a request id and a different trace id: (line, trace key). Rare outside meshes.
    trace_links: Vec<(u32, u64)>,
    last_time_ms: i64,
    text_bytes: u64,
}

impl LineStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of raw text held (lines without their newlines).
    pub fn text_bytes(&self) -> u64 {
        self.text_bytes
    }

    /// Heap bytes held beyond the raw text: columns, links and unused chunk space.
    pub fn overhead_bytes(&self) -> u64 {
        let chunks: usize = self.chunks.iter().map(Vec::capacity).sum();
        let meta: usize = self.meta.iter().map(|b| b.capacity() * size_of::<LineMeta>()).sum();
        let vecs = (self.chunks.capacity() + self.meta.capacity()) * size_of::<Vec<u8>>();
        let links = self.trace_links.capacity() * size_of::<(u32, u64)>();
        (chunks + meta + vecs + links) as u64 - self.text_bytes
    }

    /// Append a line (without its newline) and what its parse found.
    pub fn push(&mut self, line: &[u8], rec: Option<&Record<'_>>) {
        let fits = self.chunks.last().is_some_and(|c| c.capacity() - c.len() >= line.len());
        if !fits {
            self.chunks.push(Vec::with_capacity(CHUNK.max(line.len())));
        }
        let ci = self.chunks.len() - 1;
        let chunk = &mut self.chunks[ci];
        let start = ((ci as u64) << 32) | chunk.len() as u64;
        chunk.extend_from_slice(line);
        self.text_bytes += line.len() as u64;

        let mut m = LineMeta { start, time_ms: self.last_time_ms, ..LineMeta::default() };
        m.latency_us = u32::MAX;
        if let Some(r) = rec {
            m.flags |= 1;
            if let Some(t) = r.time {
                m.time_ms = t.unix_us.div_euclid(1000);
                m.flags |= 2;
                self.last_time_ms = m.time_ms;
            }
            let req = r.request_id.as_deref().map(crate::ids::key);
            let trace = r.trace_id.as_deref().map(crate::ids::key);
            m.id = req.or(trace).unwrap_or(0);
            if let (Some(_), Some(t)) = (req, trace)
                && Some(t) != req
            {
                self.trace_links.push((self.len as u32, t));
            }
            m.status = r.status.unwrap_or(0);
            m.latency_us = r.duration_us.map_or(u32::MAX, |d| d.min(u32::MAX as u64 - 1) as u32);
            m.level = r.level.map_or(0, level_code);
        }
        if self.meta.last().is_none_or(|b| b.len() == BLOCK) {
            self.meta.push(Vec::new());
        }
        self.meta.last_mut().expect("a block").push(m);
        self.len += 1;
    }

    /// The columns of line `i`.
    pub fn meta(&self, i: usize) -> &LineMeta {
        &self.meta[i / BLOCK][i % BLOCK]
    }

    /// The raw text of line `i`.
    pub fn line(&self, i: usize) -> &[u8] {
        let m = self.meta(i);
        let (ci, off) = ((m.start >> 32) as usize, m.start as u32 as usize);
        let end = match i + 1 < self.len {
            true if self.meta(i + 1).start >> 32 == ci as u64 => self.meta(i + 1).start as u32 as usize,
            _ => self.chunks[ci].len(),
        };
        &self.chunks[ci][off..end]
    }

    /// Every column, in line order.
    pub fn metas(&self) -> impl Iterator<Item = &LineMeta> + '_ {
        self.meta.iter().flatten()
    }

    /// The id keys line `i` answers to: its request id, and its trace id when it logs both.
    pub fn keys(&self, i: usize) -> Vec<u64> {
        let mut keys = Vec::with_capacity(2);
        let id = self.meta(i).id;
        if id != 0 {
            keys.push(id);
        }
        let at = self.trace_links.partition_point(|(l, _)| (*l as usize) < i);
        if let Some((l, t)) = self.trace_links.get(at)
            && *l as usize == i
        {
            keys.push(*t);
        }
        keys
    }

    /// Keys related to `keys` through lines that log both a request id and a trace id.
    pub fn linked_keys(&self, keys: &[u64], out: &mut Vec<u64>) {
        for &(l, t) in &self.trace_links {
            let id = self.meta(l as usize).id;
            if keys.contains(&t) && !out.contains(&id) {
                out.push(id);
            }
            if keys.contains(&id) && !out.contains(&t) {
                out.push(t);
            }
        }
    }

    /// Lines answering to any of `keys`, in order.
    pub fn lines_with(&self, keys: &[u64]) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        if keys.is_empty() {
            return out;
        }
        for (i, m) in self.metas().enumerate() {
            if m.id != 0 && keys.contains(&m.id) {
                out.push(i);
            }
        }
        for &(l, t) in &self.trace_links {
            if keys.contains(&t) {
                out.push(l as usize);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The first line at or after `time_ms` (the last line if none): logs are in time order, near enough.
    pub fn line_at_time(&self, time_ms: i64) -> usize {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.meta(mid).time_ms < time_ms { lo = mid + 1 } else { hi = mid }
        }
        lo.min(self.len.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::LogTime;

    fn rec(id: Option<&'static str>, trace: Option<&'static str>, status: u16, t_ms: i64) -> Record<'static> {
        Record {
            request_id: id.map(Into::into),
            trace_id: trace.map(Into::into),
            status: Some(status),
            time: Some(LogTime { unix_us: t_ms * 1000, offset_s: 0 }),
            duration_us: Some(1500),
            ..Record::default()
        }
    }

    #[test]
    fn lines_come_back_whole_across_chunks() {
        let mut s = LineStore::new();
        let long = vec![b'x'; CHUNK - 10];
        s.push(b"first", None);
        s.push(&long, None);
        s.push(b"third line", None);
        let huge = vec![b'y'; CHUNK + 5];
        s.push(&huge, None);
        s.push(b"", None);
        s.push(b"last", None);
        assert_eq!(s.len(), 6);
        assert_eq!(s.line(0), b"first");
        assert_eq!(s.line(1), &long[..]);
        assert_eq!(s.line(2), b"third line");
        assert_eq!(s.line(3), &huge[..]);
        assert_eq!(s.line(4), b"");
        assert_eq!(s.line(5), b"last");
        assert_eq!(s.text_bytes(), (5 + long.len() + 10 + huge.len() + 4) as u64);
    }

    #[test]
    fn columns_hold_what_the_parse_found() {
        let mut s = LineStore::new();
        s.push(b"a", Some(&rec(Some("ABC-1"), None, 502, 5_000)));
        s.push(b"b", None);
        s.push(b"c", Some(&rec(None, Some("4bf92f3577b34da6a3ce929d0e0e4736"), 200, 7_000)));
        assert_eq!((s.meta(0).status, s.meta(0).latency_us, s.meta(0).parsed()), (502, 1500, true));
        assert_eq!(s.meta(0).id, crate::ids::key("ABC-1"));
        assert!(!s.meta(1).parsed());
        assert_eq!(s.meta(1).time_ms, 5_000, "an unparsed line keeps the time before it");
        assert_eq!(s.meta(2).id, crate::ids::key("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(s.lines_with(&[crate::ids::key("ABC-1")]), vec![0]);
        assert_eq!(s.line_at_time(6_000), 2);
        assert_eq!(s.line_at_time(0), 0);
        assert_eq!(s.line_at_time(99_000), 2);
    }

    #[test]
    fn a_line_with_both_ids_links_them() {
        let mut s = LineStore::new();
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        s.push(b"a", Some(&rec(Some("req-1"), Some(trace), 200, 1)));
        s.push(b"b", Some(&rec(Some("req-2"), None, 200, 2)));
        let (req, tr) = (crate::ids::key("req-1"), crate::ids::key(trace));
        assert_eq!(s.keys(0), vec![req, tr]);
        assert_eq!(s.keys(1), vec![crate::ids::key("req-2")]);
        assert_eq!(s.lines_with(&[tr]), vec![0], "found by its trace id too");
        let mut more = vec![tr];
        s.linked_keys(&[tr], &mut more);
        assert_eq!(more, vec![tr, req]);
    }

    #[test]
    fn overhead_per_line_stays_small() {
        let mut s = LineStore::new();
        let line = [b'z'; 200];
        for i in 0..200_000 {
            s.push(&line, Some(&rec(Some("id"), None, 200, i)));
        }
        assert_eq!(size_of::<LineMeta>(), 32);
        let per_line = s.overhead_bytes() as f64 / s.len() as f64;
        assert!(per_line < 40.0, "{per_line} bytes per line beyond the text");
    }
}
