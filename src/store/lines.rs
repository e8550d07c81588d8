//! One source's lines, append-only: the raw text in large chunks kept on disk — in a temporary file (see
//! `spill.rs`), or left in the log it was read from (see `backed.rs`) — and 16 bytes of parsed columns per line in
//! memory.
//!
//! The raw line stays the source of truth: a view re-parses the few lines it draws. The columns hold what must be
//! read for every line at once: the time (time lock, trace order), the request id key (correlation), the status
//! (counts, colours) and the latency.
//!
//! Columns are compact: a line's start is an offset from its block's first chunk, its time a difference from its
//! block's first time, its status, level and flags share 16 bits, and its ids are kept as 32 bits of their keys.
//! What does not fit (a time weeks away from its block's, a status above 2046) is kept aside, per line. Ids in 32
//! bits can collide, so every hit is checked against the line itself, re-parsed: correlation never shows a false
//! match.
//!
//! A source with several inputs (a glob's files, an SSH source's hosts) labels its lines per batch, so labels are
//! kept as runs — (first line, label) — over a small table of distinct labels: nothing per line.

use std::sync::Arc;

use super::backed::{Backing, LineText};
use super::spill::{Sizes, Text};
use crate::record::{Level, Record};

/// Raw text is gathered in chunks of this size; a chunk never moves once written, so growth copies nothing.
const CHUNK: usize = Sizes::DEFAULT.chunk;
/// Columns are kept in blocks of this many lines, so growing never copies more than one block.
const BLOCK: usize = 1 << 13;

/// What is known of one line without re-parsing it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineMeta {
    /// Log time in ms since the epoch; a line without a time carries the time of the line before it.
    time_ms: i64,
    /// Latency on a log scale (see [`encode_latency`]); 0 when not logged.
    latency: u16,
    /// Status; 0 when none.
    pub status: u16,
    /// Severity (application logs): 0 none, then trace..fatal as 1..6.
    pub level: u8,
    /// Bit 0: the line parsed. Bit 1: the line has a time of its own.
    pub flags: u8,
}

/// The columns a line always has, stored together (12 bytes); ids live in columns of their own, so finding a
/// request reads 4 bytes per line, not all of them.
#[derive(Clone, Copy, Debug, Default)]
struct Cols {
    /// Where the line starts: (its chunk − its block's first chunk) << CHUNK_BITS | offset in the chunk. A line
    /// starts at most one chunk, so a block of [`BLOCK`] lines spans fewer than 2^(32 − CHUNK_BITS) chunks.
    start: u32,
    /// Log time in ms after its block's first time; [`ASIDE`] when it is kept aside.
    dt_ms: i32,
    /// See [`LineMeta::latency_us`].
    latency: u16,
    /// Status (11 bits, [`STATUS_ASIDE`] when kept aside) | level << 11 (3 bits) | flags << 14 (2 bits).
    packed: u16,
}

/// A time kept aside: too far from its block's first time for 32 bits of milliseconds.
const ASIDE: i32 = i32::MIN;
/// A status kept aside: above what 11 bits hold.
const STATUS_ASIDE: u16 = (1 << 11) - 1;

/// Where each block of [`BLOCK`] lines starts: its first chunk and its first time.
#[derive(Clone, Copy, Debug, Default)]
struct Base {
    chunk: usize,
    time_ms: i64,
}

/// 32 bits of an id key (0: none; a key whose bits are all 0 counts as 1).
fn short_key(key: u64) -> u32 {
    if key == 0 { 0 } else { ((key >> 32) as u32 ^ key as u32).max(1) }
}

/// A column in blocks of [`BLOCK`] values, so growing never copies more than one block.
#[derive(Default)]
struct Blocks<T>(Vec<Vec<T>>);

impl<T: Copy> Blocks<T> {
    fn push(&mut self, v: T) {
        if self.0.last().is_none_or(|b| b.len() == BLOCK) {
            self.0.push(Vec::new());
        }
        self.0.last_mut().expect("a block").push(v);
    }

    fn get(&self, i: usize) -> T {
        self.0[i / BLOCK][i % BLOCK]
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn heap_bytes(&self) -> usize {
        self.0.iter().map(|b| b.capacity() * size_of::<T>()).sum::<usize>() + self.0.capacity() * size_of::<Vec<T>>()
    }
}

impl Blocks<u32> {
    /// Indices of the values equal to one of `keys` (none of them 0).
    fn positions(&self, keys: &[u32], out: &mut Vec<usize>) {
        // branch-free tests over 16 values at a time (the compiler vectorises them), then a look at the rare hits
        fn scan(block: &[u32], base: usize, hit: impl Fn(u32) -> bool, out: &mut Vec<usize>) {
            for (c, chunk) in block.chunks(16).enumerate() {
                if chunk.iter().fold(false, |any, &v| any | hit(v)) {
                    let at = base + c * 16;
                    out.extend(chunk.iter().enumerate().filter(|(_, v)| hit(**v)).map(|(j, _)| at + j));
                }
            }
        }
        for (b, block) in self.0.iter().enumerate() {
            match *keys {
                [] => {}
                [a] => scan(block, b * BLOCK, |v| v == a, out),
                [a, c] => scan(block, b * BLOCK, |v| (v == a) | (v == c), out),
                _ => scan(block, b * BLOCK, |v| keys.contains(&v), out),
            }
        }
    }
}

/// Latencies are kept as `ln(1 + µs) × LATENCY_SCALE`: within 0.05% from 1 µs to hours, in 16 bits.
const LATENCY_SCALE: f64 = 2000.0;

fn encode_latency(us: u64) -> u16 {
    ((us as f64).ln_1p() * LATENCY_SCALE).round().clamp(1.0, u16::MAX as f64) as u16
}

impl LineMeta {
    /// Whether the line parsed with its source's format.
    pub fn parsed(&self) -> bool {
        self.flags & 1 != 0
    }

    /// Log time in ms since the epoch (carried over from the line before when the line has none).
    pub fn time_ms(&self) -> i64 {
        self.time_ms
    }

    /// Total latency in µs (within 0.05%), if logged.
    pub fn latency_us(&self) -> Option<u64> {
        (self.latency != 0).then(|| ((self.latency as f64 / LATENCY_SCALE).exp_m1()).round() as u64)
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
    text: Text,
    cols: Blocks<Cols>,
    /// Per block of lines: where its starts and times count from.
    bases: Vec<Base>,
    /// Times and statuses that do not fit their columns, by line.
    aside: rustc_hash::FxHashMap<usize, (i64, u16)>,
    /// [`short_key`] of the request id (or of the trace id when there is no request id).
    ids: Blocks<u32>,
    /// [`short_key`] of the trace id of a line that logs a request id too. Only once a line logs both; then for
    /// every line.
    traces: Blocks<u32>,
    len: usize,
    last_time: i64,
    text_bytes: u64,
    /// Distinct labels, in order of arrival.
    labels: Vec<Arc<str>>,
    /// (first line, index into `labels` or [`NO_LABEL`]) each time the label changes; empty while no line has one.
    label_runs: Vec<(u32, u32)>,
    /// Runs of lines that continue the record before them (stack traces): (first line, lines, lines in the runs
    /// before it).
    continued: Vec<(u32, u32, u32)>,
}

/// The id keys of a line's text, as [`line_keys`] gives them from its parse: a store keeps 32 bits of each, and
/// checks a hit against the whole key of the line itself.
pub type KeysOf<'a> = &'a dyn Fn(&[u8]) -> (u64, u64);

/// The id keys a parsed line answers to: ([`crate::ids::key`] of its request id, or of its trace id when it has
/// no request id; that of its trace id when it logs a request id too), 0 for none.
pub fn line_keys(rec: Option<&Record<'_>>) -> (u64, u64) {
    let Some(r) = rec else { return (0, 0) };
    let req = r.request_id.as_deref().map(crate::ids::key);
    let tr = r.trace_id.as_deref().map(crate::ids::key);
    let id = req.or(tr).unwrap_or(0);
    let trace = if req.is_some() && tr.is_some() && tr != req { tr.unwrap_or(0) } else { 0 };
    (id, trace)
}

/// What a store keeps of a line's parse, worked out from its [`Record`] alone: so lines can be parsed on several
/// threads and pushed in order on one ([`LineStore::push_fields`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    /// Log time in ms since the epoch (whole seconds within u32), if the line has a time of its own.
    time_ms: Option<i64>,
    status: u16,
    latency: u16,
    level: u8,
    flags: u8,
    /// [`short_key`]s of [`line_keys`].
    id: u32,
    trace: u32,
}

impl Fields {
    /// What a store keeps of a line that parsed as `rec` (`None`: it did not parse).
    pub fn of(rec: Option<&Record<'_>>) -> Fields {
        let Some(r) = rec else { return Fields::default() };
        let (id, trace) = line_keys(rec);
        let time_ms = r.time.map(|t| {
            let ms = t.unix_us.div_euclid(1000);
            // whole seconds as u32, as the time has always been kept
            ms.div_euclid(1000).clamp(0, u32::MAX as i64) * 1000 + ms.rem_euclid(1000)
        });
        Fields {
            time_ms,
            status: r.status.unwrap_or(0),
            latency: r.duration_us.map_or(0, encode_latency),
            level: r.level.map_or(0, level_code),
            flags: 1 | if time_ms.is_some() { 2 } else { 0 },
            id: short_key(id),
            trace: short_key(trace),
        }
    }

    /// The same, for a line that continues the record before it (a stack trace's): see
    /// [`LineStore::is_continuation`].
    pub fn continuing(mut self) -> Fields {
        self.flags |= CONTINUES;
        self
    }
}

/// [`Fields`]' flag of a line that continues the record before it (kept as runs, not in the line's columns).
const CONTINUES: u8 = 4;

/// A run of lines without a label.
const NO_LABEL: u32 = u32::MAX;

/// Bits of a line's start that are its offset within a chunk.
const CHUNK_BITS: u32 = CHUNK.trailing_zeros();

/// Whether a store can take no more text (more than 2^32 chunks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

impl LineStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose text is in pieces of these sizes.
    #[cfg(test)]
    fn with_sizes(sizes: Sizes) -> Self {
        LineStore { text: Text::with_sizes(sizes), ..Self::default() }
    }

    /// Keep the text in memory, as when no temporary file can be created (for tests).
    #[cfg(test)]
    pub(crate) fn refuse_file(&mut self) {
        self.text.refuse_file();
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

    /// Bytes of raw text held in memory rather than on disk: the chunk being filled (all of the text when no
    /// temporary file could be written).
    pub fn text_mem_bytes(&self) -> u64 {
        self.text.mem_bytes() as u64
    }

    /// Why the text is kept in memory rather than on disk (no room for a temporary file), once, when it
    /// happens: the next call returns `None`.
    pub fn take_text_note(&mut self) -> Option<String> {
        self.text.take_note()
    }

    /// Heap bytes held beyond the raw text in memory: columns, unused chunk space, the chunk table.
    pub fn overhead_bytes(&self) -> u64 {
        let chunks = self.text.overhead_bytes();
        let cols = self.cols.heap_bytes() + self.ids.heap_bytes() + self.traces.heap_bytes();
        let cols = cols + self.bases.capacity() * size_of::<Base>() + self.aside.capacity() * 32;
        let labels = self.label_runs.capacity() * size_of::<(u32, u32)>()
            + self.labels.iter().map(|l| l.len() + 16).sum::<usize>()
            + self.labels.capacity() * size_of::<Arc<str>>();
        (chunks + cols + labels) as u64
    }

    /// Lines pushed from now on come from `label` (a glob's file, an SSH source's host; `None`: no label).
    pub fn set_label(&mut self, label: Option<&Arc<str>>) {
        let id = match label {
            None => NO_LABEL,
            Some(l) => match self.labels.iter().position(|k| Arc::ptr_eq(k, l) || **k == **l) {
                Some(i) => i as u32,
                None => {
                    self.labels.push(l.clone());
                    (self.labels.len() - 1) as u32
                }
            },
        };
        let current = self.label_runs.last().map_or(NO_LABEL, |r| r.1);
        if id == current {
            return;
        }
        let first = self.len as u32;
        match self.label_runs.last_mut() {
            // the last run got no line: it is replaced, not followed
            Some(r) if r.0 == first => {
                r.1 = id;
                let before = self.label_runs.len().checked_sub(2).map_or(NO_LABEL, |i| self.label_runs[i].1);
                if before == id {
                    self.label_runs.pop();
                }
            }
            _ => self.label_runs.push((first, id)),
        }
    }

    /// The distinct labels of the lines, in order of arrival.
    pub fn labels(&self) -> &[Arc<str>] {
        &self.labels
    }

    /// The label of line `i`, as an index into [`LineStore::labels`].
    pub fn label_index(&self, i: usize) -> Option<usize> {
        let run = self.label_runs.partition_point(|r| r.0 as usize <= i);
        let id = self.label_runs.get(run.checked_sub(1)?)?.1;
        (id != NO_LABEL).then_some(id as usize)
    }

    /// The label of line `i` (the file or host it came from), if its source labels lines.
    pub fn label(&self, i: usize) -> Option<&str> {
        self.label_index(i).map(|l| &*self.labels[l])
    }

    /// Append a line (without its newline) and what its parse found.
    pub fn push(&mut self, line: &[u8], rec: Option<&Record<'_>>) -> Result<(), Full> {
        self.push_fields(line, &Fields::of(rec))
    }

    /// Append a line (without its newline) and its [`Fields`], worked out beforehand (on another thread).
    pub fn push_fields(&mut self, line: &[u8], f: &Fields) -> Result<(), Full> {
        if self.text.chunks() > u32::MAX as usize {
            return Err(Full);
        }
        let (ci, off) = self.text.push(line);
        self.text_bytes += line.len() as u64;
        self.push_at(ci, off, f);
        Ok(())
    }

    /// Append the lines of a chunk of a log that stays there: bytes `off..off + len` of `backing` (whole lines,
    /// with their newlines), whose [`crate::store::chunk_hash`] is `hash`; per line, its start in the chunk, its
    /// length once trimmed (without newline) and its [`Fields`].
    pub fn push_log_chunk(
        &mut self,
        backing: &Arc<Backing>,
        (off, len, hash): (u64, u32, u64),
        lines: impl IntoIterator<Item = (u32, u32, Fields)>,
    ) -> Result<(), Full> {
        if self.text.chunks() > u32::MAX as usize {
            return Err(Full);
        }
        let ci = self.text.push_log(backing, off, len, hash);
        for (start, trimmed, f) in lines {
            self.text_bytes += trimmed as u64;
            self.push_at(ci, start as usize, &f);
        }
        Ok(())
    }

    /// Append the columns of a line whose text starts at `off` in chunk `ci`.
    fn push_at(&mut self, ci: usize, off: usize, f: &Fields) {
        let mut time_ms = self.last_time;
        if let Some(t) = f.time_ms {
            time_ms = t;
            self.last_time = t;
        }
        let (status, level, flags, latency) = (f.status, f.level, f.flags, f.latency);
        if self.len.is_multiple_of(BLOCK) {
            self.bases.push(Base { chunk: ci, time_ms });
        }
        let base = *self.bases.last().expect("a block");
        let start = (((ci - base.chunk) as u32) << CHUNK_BITS) | off as u32;
        let dt = i32::try_from(time_ms - base.time_ms).ok().filter(|&d| d != ASIDE);
        let packed_status = if status < STATUS_ASIDE { status } else { STATUS_ASIDE };
        if dt.is_none() || packed_status == STATUS_ASIDE {
            self.aside.insert(self.len, (time_ms, status));
        }
        let c = Cols {
            start,
            dt_ms: dt.unwrap_or(ASIDE),
            latency,
            packed: packed_status | (level as u16) << 11 | ((flags & 3) as u16) << 14,
        };
        let trace = f.trace;
        if trace != 0 && self.traces.is_empty() {
            for _ in 0..self.len {
                self.traces.push(0);
            }
        }
        if trace != 0 || !self.traces.is_empty() {
            self.traces.push(trace);
        }
        self.cols.push(c);
        self.ids.push(f.id);
        if flags & CONTINUES != 0 {
            let line = self.len as u32;
            match self.continued.last_mut() {
                Some((first, n, _)) if *first + *n == line => *n += 1,
                last => {
                    let before = last.map_or(0, |&mut (_, n, b)| n + b);
                    self.continued.push((line, 1, before));
                }
            }
        }
        self.len += 1;
    }

    /// Whether line `i` continues the record before it (a line of a stack trace under its error): such lines are
    /// folded under their record.
    pub fn is_continuation(&self, i: usize) -> bool {
        let run = self.continued.partition_point(|r| r.0 as usize <= i);
        run > 0 && {
            let (first, n, _) = self.continued[run - 1];
            i < (first + n) as usize
        }
    }

    /// The lines that continue line `i` (none when it is not a record with a stack trace under it).
    pub fn continuation_of(&self, i: usize) -> std::ops::Range<usize> {
        match self.continued.binary_search_by_key(&(i as u32 + 1), |r| r.0) {
            Ok(at) => i + 1..i + 1 + self.continued[at].1 as usize,
            Err(_) => i + 1..i + 1,
        }
    }

    /// Number of lines that continue a record (folded under it).
    pub fn folded(&self) -> usize {
        self.continued.last().map_or(0, |&(_, n, before)| (n + before) as usize)
    }

    /// The row line `i` shows on once continuation lines are folded: a continuation line's is its record's.
    pub fn folded_row(&self, i: usize) -> usize {
        let run = self.continued.partition_point(|r| r.0 as usize <= i);
        let Some(&(first, n, before)) = run.checked_sub(1).map(|r| &self.continued[r]) else { return i };
        let (first, n, before) = (first as usize, n as usize, before as usize);
        if i < first + n { first.saturating_sub(1 + before) } else { i - before - n }
    }

    /// The line shown on row `row` once continuation lines are folded (see [`LineStore::folded_row`]).
    pub fn folded_line(&self, row: usize) -> usize {
        // the runs that start at or before the row's line: each starts on the row after its record's
        let run = self.continued.partition_point(|&(first, _, before)| (first - before) as usize <= row);
        match run.checked_sub(1).map(|r| self.continued[r]) {
            Some((_, n, before)) => row + (before + n) as usize,
            None => row,
        }
    }

    /// What line `i` was pushed with.
    fn fields(&self, i: usize) -> Fields {
        let m = self.meta(i);
        Fields {
            time_ms: (m.flags & 2 != 0).then_some(m.time_ms),
            status: m.status,
            latency: m.latency,
            level: m.level,
            flags: m.flags | if self.is_continuation(i) { CONTINUES } else { 0 },
            id: self.ids.get(i),
            trace: if self.traces.is_empty() { 0 } else { self.traces.get(i) },
        }
    }

    /// Append every line of `other`, in order, with its label: `older.append(&newer)` puts history indexed
    /// apart in front of the lines that arrived meanwhile.
    ///
    /// Lines that stay in their log are not read: their chunks are shared.
    pub fn append(&mut self, other: &LineStore) -> Result<(), Full> {
        let text_bytes = self.text_bytes + other.text_bytes;
        // (other's chunk, this store's) of the log chunk shared last
        let mut shared: Option<(usize, usize)> = None;
        for i in 0..other.len {
            if other.label_runs.binary_search_by_key(&(i as u32), |r| r.0).is_ok() || i == 0 {
                let label = other.label_index(i).map(|l| other.labels[l].clone());
                self.set_label(label.as_ref());
            }
            let (oci, off) = other.start(i);
            let ci = match shared {
                Some((o, c)) if o == oci => Some(c),
                _ if self.text.chunks() > u32::MAX as usize => return Err(Full),
                _ => self.text.adopt(&other.text, oci).inspect(|&c| shared = Some((oci, c))),
            };
            match ci {
                Some(ci) => self.push_at(ci, off, &other.fields(i)),
                None => self.push_fields(&other.line(i), &other.fields(i))?,
            }
        }
        self.text_bytes = text_bytes;
        Ok(())
    }

    /// What is known of line `i`.
    pub fn meta(&self, i: usize) -> LineMeta {
        let c = self.cols.get(i);
        let mut status = c.packed & STATUS_ASIDE;
        let mut time_ms = self.bases[i / BLOCK].time_ms + c.dt_ms as i64;
        if c.dt_ms == ASIDE || status == STATUS_ASIDE {
            let &(t, s) = self.aside.get(&i).expect("kept aside");
            (time_ms, status) = (t, s);
        }
        LineMeta {
            time_ms,
            latency: c.latency,
            status,
            level: (c.packed >> 11 & 7) as u8,
            flags: (c.packed >> 14) as u8,
        }
    }

    /// Chunk and offset in it where line `i` starts.
    fn start(&self, i: usize) -> (usize, usize) {
        let start = self.cols.get(i).start;
        (self.bases[i / BLOCK].chunk + (start >> CHUNK_BITS) as usize, (start & ((1 << CHUNK_BITS) - 1)) as usize)
    }

    /// The raw text of line `i` (what [`crate::format::trim_line`] leaves of it).
    pub fn line(&self, i: usize) -> LineText<'_> {
        let (ci, off) = self.start(i);
        let end = match i + 1 < self.len {
            true if self.start(i + 1).0 == ci => self.start(i + 1).1,
            _ => self.text.chunk_len(ci),
        };
        self.text.get(ci, off..end)
    }

    /// The id keys line `i` answers to: its request id, and its trace id when it logs both; `keys_of` gives
    /// them from a line's text (see [`KeysOf`]).
    pub fn keys(&self, i: usize, keys_of: KeysOf<'_>) -> Vec<u64> {
        let (id, trace) = keys_of(&self.line(i));
        [id, trace].into_iter().filter(|&k| k != 0).collect()
    }

    /// Whether line `i` answers to any of `keys` (its request id or its trace id): the short keys say no at
    /// once, and a yes is checked against the line itself.
    pub fn answers(&self, i: usize, keys: &[u64], keys_of: KeysOf<'_>) -> bool {
        let (id, trace) = (self.ids.get(i), if self.traces.is_empty() { 0 } else { self.traces.get(i) });
        let maybe = keys.iter().any(|&k| k != 0 && (short_key(k) == id || short_key(k) == trace));
        maybe && {
            let (id, trace) = keys_of(&self.line(i));
            (id != 0 && keys.contains(&id)) || (trace != 0 && keys.contains(&trace))
        }
    }

    /// Lines answering to any of `keys`, in order (each checked against its text with `keys_of`).
    pub fn lines_with(&self, keys: &[u64], keys_of: KeysOf<'_>) -> Vec<usize> {
        let mut out = Vec::new();
        let keys: Vec<u64> = keys.iter().copied().filter(|&k| k != 0).collect();
        if keys.is_empty() {
            return out;
        }
        let mut short: Vec<u32> = keys.iter().map(|&k| short_key(k)).collect();
        short.sort_unstable();
        short.dedup();
        self.ids.positions(&short, &mut out);
        if !self.traces.is_empty() {
            let by_id = out.len();
            self.traces.positions(&short, &mut out);
            if out.len() > by_id {
                out.sort_unstable();
                out.dedup();
            }
        }
        // 32 bits can collide: the line itself says whether it answers
        out.retain(|&i| {
            let (id, trace) = keys_of(&self.line(i));
            (id != 0 && keys.contains(&id)) || (trace != 0 && keys.contains(&trace))
        });
        out
    }

    /// Add to `keys` the other id of every line answering to them that logs both a request id and a trace id,
    /// so a trace id finds the request's lines and the other way round; returns whether `keys` grew.
    pub fn link_keys(&self, keys: &mut Vec<u64>, keys_of: KeysOf<'_>) -> bool {
        if self.traces.is_empty() || keys.is_empty() {
            return false;
        }
        let before = keys.len();
        for i in self.lines_with(keys, keys_of) {
            for k in self.keys(i, keys_of) {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        keys.len() > before
    }

    /// The first line at or after `time_ms` (the last line if none): logs are in time order, near enough.
    pub fn line_at_time(&self, time_ms: i64) -> usize {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.meta(mid).time_ms() < time_ms { lo = mid + 1 } else { hi = mid }
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

    /// Everything a store says of line `i`: text, columns, label, and what its keys answer.
    fn seen(s: &LineStore, i: usize) -> (Vec<u8>, LineMeta, Option<String>, u32, u32) {
        let trace = if s.traces.is_empty() { 0 } else { s.traces.get(i) };
        (s.line(i).to_vec(), s.meta(i), s.label(i).map(str::to_string), s.ids.get(i), trace)
    }

    #[test]
    fn a_store_appended_to_another_keeps_every_line_as_it_was() {
        // the older part: a long line, lines without time (they carry the one before), a status kept aside
        let mut older = LineStore::new();
        older.push(b"old 1", Some(&rec(Some("req-1"), None, 200, 1_000))).unwrap();
        older.push(&vec![b'x'; CHUNK + 3], None).unwrap();
        older.push(b"old 3", Some(&rec(Some("req-3"), None, 2999, 90 * 86_400_000))).unwrap();
        // the newer part: labels, and a line that logs a trace id too (so the trace column starts mid-way)
        let mut newer = LineStore::new();
        let a: Arc<str> = Arc::from("a.log");
        newer.set_label(Some(&a));
        newer.push(b"new 1", Some(&rec(Some("req-4"), None, 502, 2_000))).unwrap();
        newer.set_label(None);
        newer.push(b"new 2", Some(&rec(Some("req-5"), Some("trace-5"), 504, 3_000))).unwrap();
        newer.push(b"new 3 no parse", None).unwrap();
        // as each store had it; the trace column is 0 where the older store had none
        let expected: Vec<_> =
            (0..older.len()).map(|i| seen(&older, i)).chain((0..newer.len()).map(|i| seen(&newer, i))).collect();
        older.append(&newer).unwrap();
        let got: Vec<_> = (0..older.len()).map(|i| seen(&older, i)).collect();
        assert_eq!(got.len(), 6);
        assert_eq!(got, expected);
        assert_eq!(got[3].2.as_deref(), Some("a.log"));
        assert_eq!(got[4].2, None);
        let keys_of = |line: &[u8]| match line {
            b"new 2" => (crate::ids::key("req-5"), crate::ids::key("trace-5")),
            _ => (0, 0),
        };
        assert_eq!(older.lines_with(&[crate::ids::key("trace-5")], &keys_of), vec![4]);
        assert_eq!(older.meta(2).status, 2999);
        assert_eq!(older.meta(3).time_ms(), 2_000);
    }

    #[test]
    fn lines_come_back_whole_across_chunks() {
        let mut s = LineStore::new();
        let long = vec![b'x'; CHUNK - 10];
        s.push(b"first", None).unwrap();
        s.push(&long, None).unwrap();
        s.push(b"third line", None).unwrap();
        let huge = vec![b'y'; CHUNK + 5];
        s.push(&huge, None).unwrap();
        s.push(b"", None).unwrap();
        s.push(b"last", None).unwrap();
        assert_eq!(s.len(), 6);
        assert_eq!(s.line(0), b"first");
        assert_eq!(s.line(1), &long[..]);
        assert_eq!(s.line(2), b"third line");
        assert_eq!(s.line(3), &huge[..]);
        assert_eq!(s.line(4), b"");
        assert_eq!(s.line(5), b"last");
        assert_eq!(s.text_bytes(), (5 + long.len() + 10 + huge.len() + 4) as u64);
    }

    /// Small pieces, so a few lines spill, span many segments and windows, and drop pages as they go.
    const SMALL: Sizes = Sizes { chunk: 64, segment: 4096, window: 4096, keep: 2, cache: 256 };

    #[test]
    fn lines_left_in_their_log_come_back_through_a_bounded_cache_and_are_shared_on_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let lens = |i: usize| if i % 41 == 7 { 1_000 } else { 1 + i % 30 };
        let n = 3_000;
        // lines as a log has them: some end in CRLF, the last has no newline
        let mut log = Vec::new();
        let mut starts = Vec::new();
        for i in 0..n {
            starts.push(log.len());
            log.extend_from_slice(&numbered(i, lens(i)));
            log.extend_from_slice(if i == n - 1 {
                b""
            } else if i % 5 == 0 {
                b"\r\n"
            } else {
                b"\n"
            });
        }
        std::fs::write(&path, &log).unwrap();
        let backing = Backing::new(std::fs::File::open(&path).unwrap(), Some(path.clone()));
        let mut s = LineStore::with_sizes(SMALL);
        // chunks of three lines, as the history's workers cut them
        for first in (0..n).step_by(3) {
            let last = (first + 3).min(n);
            let (from, to) = (starts[first], starts.get(last).copied().unwrap_or(log.len()));
            let hash = crate::store::chunk_hash(&log[from..to]);
            let lines = (first..last).map(|i| ((starts[i] - from) as u32, lens(i) as u32, Fields::default()));
            s.push_log_chunk(&backing, (from as u64, (to - from) as u32, hash), lines).unwrap();
        }
        assert_eq!(s.text_mem_bytes(), 0, "nothing copied");
        for i in (0..n).chain((0..n).rev()) {
            assert_eq!(s.line(i), &numbered(i, lens(i))[..], "line {i}");
            // the cache keeps no more than its budget, or the one chunk read last when that is longer
            assert!(s.text.cached_bytes() <= SMALL.cache.max(3 * 1_002), "{}", s.text.cached_bytes());
        }
        // history put in front of an older line shares the chunks and reads none
        let mut older = LineStore::with_sizes(SMALL);
        older.push(b"older", None).unwrap();
        std::fs::write(&path, b"").unwrap();
        older.append(&s).unwrap();
        assert_eq!((older.len(), older.text_bytes()), (n + 1, 5 + s.text_bytes()));
        assert_eq!(older.line(0), b"older");
        assert_eq!(older.line(1), crate::store::backed::GONE, "read back from the (emptied) log, not copied");
    }

    #[test]
    fn continuation_lines_fold_under_their_record() {
        let mut s = LineStore::new();
        // records r, and the lines that continue them c: r0 c1 c2 r3 r4 c5 r6 c7 c8 c9 r10
        let cont = [1, 2, 5, 7, 8, 9];
        for i in 0..11 {
            let f = Fields::default();
            s.push_fields(format!("line {i}").as_bytes(), &if cont.contains(&i) { f.continuing() } else { f }).unwrap();
        }
        let shown: Vec<usize> = (0..11).filter(|i| !s.is_continuation(*i)).collect();
        assert_eq!(shown, [0, 3, 4, 6, 10]);
        assert_eq!(s.folded(), 6);
        for (row, &line) in shown.iter().enumerate() {
            assert_eq!((s.folded_line(row), s.folded_row(line)), (line, row));
        }
        assert_eq!((s.folded_row(2), s.folded_row(8)), (0, 3), "a continuation line shows on its record's row");
        assert_eq!((s.continuation_of(0), s.continuation_of(6), s.continuation_of(3)), (1..3, 7..10, 4..4));
        // put behind older lines, the runs move with them
        let mut older = LineStore::new();
        older.push(b"older", None).unwrap();
        older.append(&s).unwrap();
        assert_eq!((older.continuation_of(7), older.folded(), older.folded_line(4)), (8..11, 6, 7));
    }

    /// A line of its own length and content, so a wrong slice shows.
    fn numbered(i: usize, len: usize) -> Vec<u8> {
        let mut v = format!("{i}:").into_bytes();
        v.resize(len.max(v.len()), b'a' + (i % 26) as u8);
        v
    }

    #[test]
    fn spilled_lines_come_back_whole() {
        let mut s = LineStore::with_sizes(SMALL);
        // short lines, lines longer than a chunk, and lines longer than a segment, which take one of their own
        let lens = |i: usize| match i % 97 {
            13 => 200,
            50 => 5_000,
            96 => 9_000,
            _ => 1 + i % 40,
        };
        let n = 20_000;
        for i in 0..n {
            s.push(&numbered(i, lens(i)), None).unwrap();
        }
        assert!(s.text.maps() > 100, "many segments: {}", s.text.maps());
        assert!(s.text.on_disk(0) && !s.text.on_disk(s.text.chunks() - 1), "full chunks on disk, the last in memory");
        assert!(s.text_mem_bytes() <= 9_000, "only the last chunk in memory: {}", s.text_mem_bytes());
        // end to end, back again, and at random: every read is right, whatever pages were dropped before it
        for i in (0..n).chain((0..n).rev()) {
            assert_eq!(s.line(i), &numbered(i, lens(i))[..], "line {i}");
        }
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..5_000 {
            let i = rng.usize(0..n);
            assert_eq!(s.line(i), &numbered(i, lens(i))[..], "line {i}");
        }
        assert!(s.text.kept_windows() <= SMALL.keep);
        assert_eq!(s.text_bytes(), (0..n).map(|i| numbered(i, lens(i)).len() as u64).sum::<u64>());
    }

    #[test]
    fn a_slice_stays_right_after_its_pages_are_dropped() {
        let mut s = LineStore::with_sizes(SMALL);
        for i in 0..2_000 {
            s.push(&numbered(i, 30), None).unwrap();
        }
        let first = s.line(0);
        // reading far away drops the first window's pages while `first` is still borrowed
        for i in (1_000..2_000).step_by(50) {
            assert_eq!(s.line(i), &numbered(i, 30)[..]);
        }
        assert_eq!(first, &numbered(0, 30)[..], "read back from the file");
    }

    #[test]
    fn without_a_file_the_text_stays_in_memory_and_says_so() {
        let mut s = LineStore::with_sizes(SMALL);
        s.text.refuse_file();
        for i in 0..1_000 {
            s.push(&numbered(i, 1 + i % 90), None).unwrap();
        }
        assert!(!s.text.on_disk(0) && s.text.maps() == 0);
        assert_eq!(s.text_mem_bytes(), s.text_bytes());
        assert!(s.take_text_note().is_some_and(|n| n.contains("memory")));
        assert_eq!(s.take_text_note(), None, "said once");
        for i in 0..1_000 {
            assert_eq!(s.line(i), &numbered(i, 1 + i % 90)[..]);
        }
    }

    /// A line's text in a tiny format of the tests' own, "request-id trace-id" ("-" for none), and its record.
    fn logged(
        id: Option<&'static str>,
        trace: Option<&'static str>,
        status: u16,
        t_ms: i64,
    ) -> (Vec<u8>, Record<'static>) {
        (format!("{} {}", id.unwrap_or("-"), trace.unwrap_or("-")).into_bytes(), rec(id, trace, status, t_ms))
    }

    /// The keys of a line in that format, as a pane gets them from its parser.
    fn keys_of(line: &[u8]) -> (u64, u64) {
        let text = String::from_utf8_lossy(line);
        let mut words = text.split(' ').map(|w| (w != "-").then(|| w.to_string()));
        let (id, trace) = (words.next().flatten(), words.next().flatten());
        let r = Record { request_id: id.map(Into::into), trace_id: trace.map(Into::into), ..Record::default() };
        line_keys(Some(&r))
    }

    #[test]
    fn columns_hold_what_the_parse_found() {
        let mut s = LineStore::new();
        let (a, ra) = logged(Some("ABC-1"), None, 502, 5_000);
        s.push(&a, Some(&ra)).unwrap();
        s.push(b"b", None).unwrap();
        let (c, rc) = logged(None, Some("4bf92f3577b34da6a3ce929d0e0e4736"), 200, 7_000);
        s.push(&c, Some(&rc)).unwrap();
        assert_eq!((s.meta(0).status, s.meta(0).latency_us(), s.meta(0).parsed()), (502, Some(1500), true));
        assert_eq!(s.keys(0, &keys_of), vec![crate::ids::key("ABC-1")]);
        assert!(!s.meta(1).parsed());
        assert_eq!(s.meta(1).time_ms(), 5_000, "an unparsed line keeps the time before it");
        assert_eq!(s.keys(2, &keys_of), vec![crate::ids::key("4bf92f3577b34da6a3ce929d0e0e4736")]);
        assert_eq!(s.lines_with(&[crate::ids::key("ABC-1")], &keys_of), vec![0]);
        assert!(
            s.answers(0, &[crate::ids::key("ABC-1")], &keys_of) && !s.answers(2, &[crate::ids::key("ABC-1")], &keys_of)
        );
        assert_eq!(s.line_at_time(6_000), 2);
        assert_eq!(s.line_at_time(0), 0);
        assert_eq!(s.line_at_time(99_000), 2);
    }

    #[test]
    fn a_line_with_both_ids_links_them() {
        let mut s = LineStore::new();
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        for (t, (id, tr)) in
            [(None, Some(trace)), (Some("req-1"), Some(trace)), (Some("req-1"), None), (Some("req-2"), None)]
                .into_iter()
                .enumerate()
        {
            let (line, r) = logged(id, tr, 200, t as i64);
            s.push(&line, Some(&r)).unwrap();
        }
        let (req, tr) = (crate::ids::key("req-1"), crate::ids::key(trace));
        assert_eq!(s.keys(1, &keys_of), vec![req, tr]);
        assert_eq!(s.keys(0, &keys_of), vec![tr]);
        let mut keys = vec![req];
        assert!(s.link_keys(&mut keys, &keys_of));
        assert_eq!(keys, vec![req, tr]);
        assert!(!s.link_keys(&mut keys, &keys_of), "nothing more to add");
        assert_eq!(s.lines_with(&keys, &keys_of), vec![0, 1, 2], "the trace-only line too");
        assert_eq!(s.lines_with(&[crate::ids::key("req-2")], &keys_of), vec![3]);
    }

    #[test]
    fn ids_whose_short_keys_collide_are_told_apart_by_their_lines() {
        // two ids with the same 32 bits of key (a birthday search finds them among a few hundred thousand)
        let mut seen = rustc_hash::FxHashMap::default();
        let (a, b) = (0..1_000_000)
            .map(|n| format!("req-{n}"))
            .find_map(|id| {
                let other = seen.insert(short_key(crate::ids::key(&id)), id.clone())?;
                (crate::ids::key(&other) != crate::ids::key(&id)).then_some((other, id))
            })
            .expect("a collision");
        let (a, b): (&'static str, &'static str) = (a.leak(), b.leak());
        assert_ne!(crate::ids::key(a), crate::ids::key(b));
        let mut s = LineStore::with_sizes(SMALL);
        for (i, id) in [a, b, a, b, b].into_iter().enumerate() {
            let (line, r) = logged(Some(id), None, 200, i as i64);
            s.push(&line, Some(&r)).unwrap();
        }
        let (ka, kb) = (crate::ids::key(a), crate::ids::key(b));
        assert_eq!(s.lines_with(&[ka], &keys_of), vec![0, 2]);
        assert_eq!(s.lines_with(&[kb], &keys_of), vec![1, 3, 4]);
        assert!(s.answers(0, &[ka], &keys_of) && !s.answers(1, &[ka], &keys_of));
    }

    #[test]
    fn times_and_statuses_that_do_not_fit_are_kept_aside() {
        let mut s = LineStore::new();
        let day = 86_400_000;
        // far apart in time (beyond 32 bits of ms from the block's first), back and forth, and odd statuses
        let times = [1_714_564_800_123, 1_714_564_800_123 + 60 * day, 1_714_564_800_000, 0, 4_000_000_000_999];
        let statuses = [200, 2_046, 2_047, 65_535, 499];
        for (t, st) in times.into_iter().zip(statuses) {
            s.push(b"x", Some(&rec(None, None, st, t))).unwrap();
        }
        for (i, (t, st)) in times.into_iter().zip(statuses).enumerate() {
            assert_eq!((s.meta(i).time_ms(), s.meta(i).status), (t, st), "line {i}");
            assert!(s.meta(i).parsed());
        }
        // a block later, times count from that block's first
        for i in 0..BLOCK as i64 * 2 {
            s.push(b"y", Some(&rec(None, None, 200, 1_714_564_800_000 + i * 1_000))).unwrap();
        }
        assert_eq!(s.meta(5 + BLOCK + 7).time_ms(), 1_714_564_800_000 + (BLOCK as i64 + 7) * 1_000);
        assert!(s.aside.len() <= 4, "only the odd lines are kept aside: {}", s.aside.len());
    }

    #[test]
    fn latency_and_time_survive_their_compact_form() {
        let mut s = LineStore::new();
        for (i, us) in [1u64, 999, 1_000, 123_456, 30_000_000, 7_200_000_000].into_iter().enumerate() {
            let mut r = rec(None, None, 200, 1_714_564_800_123 + i as i64);
            r.duration_us = Some(us);
            s.push(b"x", Some(&r)).unwrap();
            let got = s.meta(i).latency_us().unwrap();
            assert!((got as f64 - us as f64).abs() <= us as f64 * 0.0005 + 0.5, "{us} µs came back as {got}");
            assert_eq!(s.meta(i).time_ms(), 1_714_564_800_123 + i as i64);
        }
        s.push(b"y", Some(&Record::default())).unwrap();
        assert_eq!(s.meta(6).latency_us(), None);
    }

    #[test]
    fn labels_are_kept_per_run_not_per_line() {
        let mut s = LineStore::new();
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("/var/log/a.log"), Arc::from("/var/log/b.log"));
        s.push(b"unlabelled", None).unwrap();
        for round in 0..1_000 {
            let label = if round % 2 == 0 { &a } else { &b };
            // two batches from the same file: one run
            for _ in 0..2 {
                s.set_label(Some(label));
                for _ in 0..50 {
                    s.push(b"x", None).unwrap();
                }
            }
        }
        s.set_label(Some(&a));
        s.set_label(None); // no line came from `a` this time: its run is replaced
        s.push(b"none again", None).unwrap();
        assert_eq!(s.labels().len(), 2, "each label is kept once");
        assert_eq!(s.label(0), None);
        assert_eq!(s.label(1), Some("/var/log/a.log"));
        assert_eq!(s.label(100), Some("/var/log/a.log"));
        assert_eq!(s.label(101), Some("/var/log/b.log"));
        assert_eq!(s.label(100_000), Some("/var/log/b.log"));
        assert_eq!(s.label(100_001), None);
        assert_eq!(s.label_runs.len(), 1_001, "one run per change of label");
        // a label set twice, or set and taken back before any line, adds nothing
        let mut t = LineStore::new();
        t.set_label(Some(&a));
        t.set_label(Some(&b));
        t.set_label(None);
        t.push(b"y", None).unwrap();
        assert!(t.label_runs.is_empty() && t.label(0).is_none());
    }

    #[test]
    fn labels_cost_nothing_per_line() {
        let measure = |labelled: bool| {
            let mut s = LineStore::new();
            let hosts: Vec<Arc<str>> = ["gw1", "gw2", "gw3"].map(Arc::from).to_vec();
            for batch in 0..2_000 {
                if labelled {
                    s.set_label(Some(&hosts[batch % 3]));
                }
                for i in 0..100 {
                    s.push(&[b'z'; 200], Some(&rec(Some("id"), None, 200, i))).unwrap();
                }
            }
            s.overhead_bytes() as f64 / s.len() as f64
        };
        let (plain, labelled) = (measure(false), measure(true));
        assert!(labelled - plain < 0.2, "{plain} → {labelled} bytes per line beyond the text");
    }

    #[test]
    fn overhead_per_line_stays_small() {
        let mut s = LineStore::new();
        let line = [b'z'; 200];
        for i in 0..200_000 {
            s.push(&line, Some(&rec(Some("id"), None, 200, i))).unwrap();
        }
        let per_line = s.overhead_bytes() as f64 / s.len() as f64;
        assert!(per_line < 17.0, "{per_line} bytes per line beyond the text");
    }
}
