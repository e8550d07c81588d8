//! A file's older lines, indexed in the background on all cores while the console already shows its newest.
//!
//! The console follows a file from near its end at once (the first screen does not wait for history); the bytes
//! before that, from where the history starts (`--from-start`, `--since`, the last N lines), are read here with
//! the same parallel block scan as `report`: workers parse blocks on every core and work out what the store keeps
//! of each line ([`Fields`]), and one thread puts the blocks back in order and pushes them into a store of their
//! own; a plain file's lines stay in it (the store keeps where each chunk of them is, and a hash to check it by),
//! a compressed file's are copied. The console puts that store in front of the lines that arrived meanwhile when
//! it is done; until then, [`Update`]s carry the progress and each block's chart points, so the charts fill in as
//! the scan goes.
//!
//! The work is bulk work: its threads run at low CPU and I/O priority, and reads spare the page cache (see
//! [`crate::priority`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::format::Parser;
use crate::format::continuation::{LineKind, Tracker};
use crate::scan::BlockSink;
use crate::source::file::{FollowOptions, StartFinder, start_offset};
use crate::stats::timeline::Point;
use crate::store::{Fields, LineStore};

/// Where a file's history is to be indexed.
#[derive(Debug)]
pub struct Span {
    /// The file, open (it may be renamed away while indexed: the handle keeps reading the same file).
    pub file: File,
    /// The first byte of the history (a line start).
    pub start: u64,
    /// Where the console's follower starts (a line start): the history ends there.
    pub end: u64,
    /// Where the file was opened, to find its rotated copies by if it is truncated while the console runs.
    pub path: Option<std::path::PathBuf>,
}

/// What the scan has done so far.
#[derive(Debug, Default)]
pub struct Update {
    /// Bytes of the span indexed, in order from its start.
    pub done: u64,
    /// Bytes in the span.
    pub total: u64,
    /// The chart points of the lines indexed since the last update.
    pub points: Vec<Point>,
    /// Lines with a status but no time since the last update, per status class (as [`crate::stats`] counts them).
    pub untimed: [u64; 6],
}

/// How often updates are sent while the scan runs.
const UPDATE_EVERY: Duration = Duration::from_millis(150);

/// One block's lines, worked out by a worker.
struct Indexed {
    seq: u64,
    /// Where the block starts in its part.
    offset: u64,
    /// The block's bytes, when its lines are copied into the store (not when they stay in their file).
    text: Vec<u8>,
    lines: Vec<IndexedLine>,
    /// When the lines stay in their file: the block cut into the store's chunks, each (start, end, hash of its
    /// bytes, end of its lines in `lines`).
    chunks: Vec<(u32, u32, u64, u32)>,
    points: Vec<Point>,
    untimed: [u64; 6],
}

/// One line of a block.
struct IndexedLine {
    /// Where it starts in the block.
    raw: u32,
    /// Its text (without the newline and after [`crate::format::trim_line`]): `start..end` of the block.
    start: u32,
    end: u32,
    fields: Fields,
    /// What decides whether it continues the record before it.
    kind: LineKind,
}

struct Worker<'a> {
    parser: &'a Parser,
    /// Whether the lines stay in their file (the block is cut into chunks and hashed) or are copied.
    in_file: bool,
    out: mpsc::Sender<Indexed>,
}

impl BlockSink for Worker<'_> {
    fn block(&mut self, seq: u64, data: &[u8]) {
        self.block_at(seq, 0, data)
    }

    fn block_at(&mut self, seq: u64, offset: u64, data: &[u8]) {
        let mut lines = Vec::with_capacity(data.len() / 128);
        let mut points = Vec::with_capacity(data.len() / 128);
        let mut untimed = [0; 6];
        crate::scan::for_each_line(data, |_, line| {
            let raw = (line.as_ptr() as usize - data.as_ptr() as usize) as u32;
            let line = crate::format::trim_line(line);
            let start = line.as_ptr() as usize - data.as_ptr() as usize;
            let rec = self.parser.parse(line);
            if let Some(r) = &rec {
                match r.time {
                    Some(t) => points.push(Point {
                        unix_us: t.unix_us,
                        status: r.status,
                        latency_us: r.duration_us,
                        error_level: r.level.is_some_and(|l| l >= crate::record::Level::Error),
                    }),
                    None => {
                        if let Some(s) = r.status {
                            untimed[crate::stats::timeline::class_of(s)] += 1;
                        }
                    }
                }
            }
            let (start, end) = (start as u32, (start + line.len()) as u32);
            let kind = LineKind::of(line, rec.as_ref());
            lines.push(IndexedLine { raw, start, end, fields: Fields::of(rec.as_ref()), kind });
        });
        let (text, chunks) = match self.in_file {
            true => (Vec::new(), chunks(data, &lines)),
            false => (data.to_vec(), Vec::new()),
        };
        let _ = self.out.send(Indexed { seq, offset, text, lines, chunks, points, untimed });
    }

    fn merge(&mut self, _other: Self) {}
}

/// `data`'s `lines` in chunks of whole lines no longer than the store's (a longer line is a chunk of its own), and
/// their hashes.
fn chunks(data: &[u8], lines: &[IndexedLine]) -> Vec<(u32, u32, u64, u32)> {
    let mut out = Vec::with_capacity(data.len() / crate::store::CHUNK_BYTES + 1);
    let mut from = 0;
    let mut first = 0;
    let mut close = |from: usize, to: usize, end: usize| out.push((from as u32, to as u32, 0, end as u32));
    for (i, l) in lines.iter().enumerate() {
        let end = lines.get(i + 1).map_or(data.len(), |n| n.raw as usize);
        if i > first && end - from > crate::store::CHUNK_BYTES {
            close(from, l.raw as usize, i);
            (from, first) = (l.raw as usize, i);
        }
    }
    if !lines.is_empty() {
        close(from, data.len(), lines.len());
    }
    for c in &mut out {
        c.2 = crate::store::chunk_hash(&data[c.0 as usize..c.1 as usize]);
    }
    out
}

/// One input of a history: whole lines read from `input` (a span of the live file, a rotated file decompressed),
/// labelled with `label` (the rotated file's path; `None` for the file the pane follows).
pub struct Part {
    /// The lines.
    pub input: Box<dyn Read + Send>,
    /// Its size on disk, for the progress.
    pub bytes: u64,
    /// The label its lines get.
    pub label: Option<std::sync::Arc<str>>,
    /// When its lines are a plain file's bytes from an offset on: the file and that offset. The store keeps
    /// them there rather than copying them.
    pub in_file: Option<(std::sync::Arc<crate::store::Backing>, u64)>,
}

impl Span {
    /// The span as a part of a history, read sequentially, sparing the page cache.
    pub fn part(self, label: Option<std::sync::Arc<str>>) -> std::io::Result<Part> {
        let bytes = self.end.saturating_sub(self.start);
        let backing = crate::store::Backing::new(self.file.try_clone()?, self.path);
        let mut file = self.file;
        file.seek(SeekFrom::Start(self.start))?;
        // read on the scan's thread, which spares the page cache (see `spawn`)
        let input = crate::bulk_read::Sequential::new(file).take(bytes);
        Ok(Part { input: Box::new(input), bytes, label, in_file: Some((backing, self.start)) })
    }
}

/// Counts the bytes read through it (the progress of a part).
struct Counted<R> {
    inner: R,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Index `span` with `parser` on `threads` threads, calling `update` as it goes (from another thread); returns the
/// store of its lines. An I/O error ends the scan: what was indexed before it is returned with the error's text.
pub fn index(
    span: Span,
    parser: &Parser,
    threads: usize,
    update: impl FnMut(Update) + Send,
) -> (LineStore, Option<String>) {
    match span.part(None) {
        Ok(part) => index_parts(vec![part], parser, threads, update),
        Err(e) => (LineStore::new(), Some(e.to_string())),
    }
}

/// Index `parts` one after the other into one store, each on `threads` threads (see [`index`]). The progress
/// counts bytes on disk: a compressed part's, not its lines'.
pub fn index_parts(
    parts: Vec<Part>,
    parser: &Parser,
    threads: usize,
    mut update: impl FnMut(Update) + Send,
) -> (LineStore, Option<String>) {
    let total: u64 = parts.iter().map(|p| p.bytes).sum();
    let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut store = LineStore::new();
    let mut error = None;
    for part in parts {
        store.set_label(part.label.as_ref());
        let input = Counted { inner: part.input, read: read.clone() };
        let (tx, rx) = mpsc::channel::<Indexed>();
        let progress = Progress { read: &read, total };
        let in_file = part.in_file;
        error = std::thread::scope(|s| {
            let store = &mut store;
            let update = &mut update;
            let (tracker, role) = (Tracker::default(), parser.format.role());
            let to = Collected { store, in_file: in_file.as_ref(), tracker, role };
            let collector = s.spawn(move || collect(rx, to, progress, update));
            let in_file = in_file.is_some();
            let worker = || Worker { parser, in_file, out: tx.clone() };
            let scanned = crate::scan::scan(input, Vec::new(), threads, worker);
            // the collector ends when the last sender goes: this one, and the merged workers' that `scan` returns
            let error = scanned.err().map(|e| e.to_string());
            drop(tx);
            collector.join().expect("the history collector panicked");
            error
        });
        if error.is_some() {
            break;
        }
    }
    update(Update { done: total, total, ..Update::default() });
    (store, error)
}

/// Where the reading of a history's parts stands.
#[derive(Clone, Copy)]
struct Progress<'a> {
    read: &'a std::sync::atomic::AtomicU64,
    total: u64,
}

/// Where a part's lines go: the store, and the file they stay in (and where the part starts in it), if they do.
struct Collected<'a> {
    store: &'a mut LineStore,
    in_file: Option<&'a (std::sync::Arc<crate::store::Backing>, u64)>,
    /// Which lines continue the record before them (a stack trace's), in a source of `role`.
    tracker: Tracker,
    role: crate::record::Role,
}

impl Collected<'_> {
    /// Push block `b`'s lines; a store full (2^32 chunks) takes no more: the rest of the history is left out.
    fn push(&mut self, b: &Indexed) {
        let (tracker, role) = (&mut self.tracker, self.role);
        let mut fields = |l: &IndexedLine| match tracker.next(l.kind, role) {
            true => l.fields.continuing(),
            false => l.fields,
        };
        let Some((backing, base)) = self.in_file else {
            for l in &b.lines {
                let _ = self.store.push_fields(&b.text[l.start as usize..l.end as usize], &fields(l));
            }
            return;
        };
        let mut first = 0;
        for &(from, to, hash, end) in &b.chunks {
            let lines = b.lines[first..end as usize].iter().map(|l| (l.raw - from, l.end - l.start, fields(l)));
            let _ = self.store.push_log_chunk(backing, (base + b.offset + from as u64, to - from, hash), lines);
            first = end as usize;
        }
    }
}

/// Put the workers' blocks back in order into the store.
fn collect(
    rx: mpsc::Receiver<Indexed>,
    mut to: Collected<'_>,
    progress: Progress<'_>,
    update: &mut impl FnMut(Update),
) {
    let mut waiting: BTreeMap<u64, Indexed> = BTreeMap::new();
    let mut next = 0;
    let mut pending = Update { total: progress.total, ..Update::default() };
    let mut sent = Instant::now();
    let mut send = |pending: &mut Update| {
        // bytes read, not yet indexed, are a block or two: the progress of the part as a whole
        pending.done = progress.read.load(std::sync::atomic::Ordering::Relaxed).min(progress.total);
        update(std::mem::replace(pending, Update { total: progress.total, ..Update::default() }));
    };
    for block in rx {
        waiting.insert(block.seq, block);
        while let Some(b) = waiting.remove(&next) {
            next += 1;
            to.push(&b);
            pending.points.extend_from_slice(&b.points);
            for (a, n) in pending.untimed.iter_mut().zip(b.untimed) {
                *a += n;
            }
        }
        if sent.elapsed() >= UPDATE_EVERY {
            send(&mut pending);
            sent = Instant::now();
        }
    }
    send(&mut pending);
}

/// What the console hears from a history scan.
pub enum Event {
    /// Progress, and the chart points of the lines indexed since the last one.
    Update(Update),
    /// The scan is over: its lines, and what stopped it early, if anything did.
    Done { store: Box<LineStore>, error: Option<String> },
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Update(u) => write!(f, "Update({} of {} bytes, {} points)", u.done, u.total, u.points.len()),
            Event::Done { store, error } => write!(f, "Done({} lines, {error:?})", store.len()),
        }
    }
}

/// History shorter than this is read by the follower as it reads new lines: a scan of its own would not pay.
pub const MIN_SPAN: u64 = 8 << 20;
/// The newest lines the follower reads at once, before the history: the first screen.
pub const PREVIEW_LINES: usize = 2_000;

/// The history of `file` (`len` bytes) to index apart, when the console is to start at `start` (a line start)
/// and that is more than [`MIN_SPAN`] before the last [`PREVIEW_LINES`] lines: those the follower reads, the rest
/// is the span.
/// With `always`, however short the span (even empty): the rotated files before it are indexed with it.
/// With `--until`, the history stops at `stop` (where the window ends), and when that is before the follower's
/// lines, it is indexed apart however short: the follower's lines are all past the window, the bytes between are
/// not read at all. Returns the span and where the follower starts.
fn plan(file: File, path: &std::path::Path, len: u64, (start, stop): (u64, u64), always: bool) -> Option<(Span, u64)> {
    let follow_at = crate::source::file::last_lines_start(&file, len, PREVIEW_LINES).ok()?.max(start);
    let end = follow_at.min(stop).max(start);
    let min = if always || stop < follow_at { 0 } else { MIN_SPAN };
    (end >= start.saturating_add(min)).then(|| (Span { file, start, end, path: Some(path.to_path_buf()) }, follow_at))
}

/// For each of a console's sources (`Some(path)` for a plain file), the history to index apart and the parser to
/// read it with (the one the pane chooses from the lines its follower reads first); and the follow options that
/// start those files' followers where their history ends (the others start as `follow` says).
pub fn plan_all(
    files: &[Option<(&std::path::Path, bool)>],
    follow: &FollowOptions,
    opts: &crate::input::ScanOptions,
) -> (Vec<Option<(Span, Parser)>>, FollowOptions) {
    use std::os::unix::fs::{FileExt, MetadataExt};
    let mut ends: Vec<(std::path::PathBuf, (u64, u64), u64)> = Vec::new();
    let plans = files
        .iter()
        .map(|path| {
            let (path, always) = (*path)?;
            let mut file = File::open(path).ok()?;
            let meta = file.metadata().ok().filter(|m| m.is_file())?;
            let start = start_offset(&file, meta.len(), path, follow.start, follow.start_finder.as_ref()).ok()?;
            let until = opts.window.and_then(|w| w.until_us);
            let stop = until.and_then(|u| crate::input::window_end(&mut file, u, opts)).unwrap_or(meta.len());
            let (span, follow_at) = plan(file, path, meta.len(), (start, stop), always)?;
            // the lines the follower reads first: what the pane chooses its parser from
            let mut first = vec![0; (meta.len() - follow_at).min(follow.max_batch_bytes as u64) as usize];
            let n = span.file.read_at(&mut first, follow_at).ok()?;
            first.truncate(n);
            let parser = crate::input::choose_parser(&first, opts);
            // pretty-printed records are joined by the follower, line by line: no scan of their own
            if parser.pretty_json {
                return None;
            }
            ends.push((path.to_path_buf(), (meta.dev(), meta.ino()), follow_at));
            Some((span, parser))
        })
        .collect();
    let mut follow = follow.clone();
    if !ends.is_empty() {
        let before = follow.start_finder.take();
        follow.start_finder = Some(StartFinder(std::sync::Arc::new(move |p: &std::path::Path| {
            let same = |id: (u64, u64)| std::fs::metadata(p).is_ok_and(|m| (m.dev(), m.ino()) == id);
            // the file planned, not one that took its name since
            match ends.iter().find(|(q, id, _)| q == p && same(*id)) {
                Some((.., end)) => Some(*end),
                None => before.as_ref().and_then(|f| (f.0)(p)),
            }
        })));
    }
    (plans, follow)
}

/// Index `parts` on a thread of its own at low priority, with `threads` workers (0: every core, fewer on a busy
/// host; see [`crate::input::worker_threads`]), sending what happens to `send`.
pub fn spawn(parts: Vec<Part>, parser: Parser, threads: usize, send: impl Fn(Event) + Send + Sync + 'static) {
    std::thread::spawn(move || {
        // bulk work: the threads it starts inherit the priority (and its scan's workers are bulk work too), its
        // reads spare the page cache, and it uses fewer threads on a busy host; the console's own threads stay as
        // they are
        let _ = crate::priority::lower_this_thread();
        let threads = crate::input::worker_threads(threads);
        let (store, error) = index_parts(parts, &parser, threads, |u| send(Event::Update(u)));
        send(Event::Done { store: Box::new(store), error });
        // the workers' blocks were freed into their threads' arenas: give those pages back
        #[cfg(target_env = "gnu")]
        // SAFETY: a plain libc call with no pointer arguments
        unsafe {
            libc::malloc_trim(0);
        }
    });
}

/// The rotated files of a history (oldest first) as its first parts, each labelled with its path and read
/// decompressed when it is compressed; a file that cannot be opened is left out, with why. With `since`, the
/// oldest starts at the window (found by binary search, when it is not compressed).
pub fn rotated_parts(
    files: &[std::path::PathBuf],
    since: Option<i64>,
    opts: &crate::input::ScanOptions,
) -> (Vec<Part>, Vec<String>) {
    let (mut parts, mut problems) = (Vec::new(), Vec::new());
    for (i, f) in files.iter().enumerate() {
        let name = f.display().to_string();
        let label = Some(std::sync::Arc::from(name.as_str()));
        let bytes = std::fs::metadata(f).map_or(0, |m| m.len());
        let compressed = crate::source::compressed::is_compressed(f);
        // a plain file's lines stay in it; the first needed starts at the window
        let span = match (i, since) {
            _ if compressed => None,
            (0, Some(since)) => window_span(f, since, opts),
            _ => whole_span(f),
        };
        if let Some(span) = span {
            match span.part(label) {
                Ok(part) => parts.push(part),
                Err(e) => problems.push(format!("cannot read {name}: {e}")),
            }
            continue;
        }
        // decoded on the scan's threads where its frames allow (pzstd's, BGZF)
        match crate::input::open_on(&name, opts.threads()) {
            Ok(input) => parts.push(Part { input, bytes, label, in_file: None }),
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    (parts, problems)
}

/// The part of a plain file from the first line of a window starting at `since_us` to its end.
fn window_span(path: &std::path::Path, since_us: i64, opts: &crate::input::ScanOptions) -> Option<Span> {
    let mut file = File::open(path).ok()?;
    let start = crate::input::window_offset(&mut file, since_us, opts)?;
    let end = file.metadata().ok()?.len();
    Some(Span { file, start, end, path: Some(path.to_path_buf()) })
}

/// The whole of a plain file.
fn whole_span(path: &std::path::Path) -> Option<Span> {
    let file = File::open(path).ok()?;
    let end = file.metadata().ok()?.len();
    Some(Span { file, start: 0, end, path: Some(path.to_path_buf()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// JSON lines of requests, some in CRLF, one longer than a scan block, one that does not parse.
    fn log(lines: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..lines {
            let status = [200, 502, 404, 200][i % 4];
            let eol = if i % 7 == 0 { "\r\n" } else { "\n" };
            write!(
                out,
                r#"{{"time":"2024-05-01T12:{:02}:{:02}Z","status":{status},"request_id":"req-{i}","duration_ms":{}}}{eol}"#,
                i / 60 % 60,
                i % 60,
                i % 900
            )
            .unwrap();
            if i == lines / 2 {
                out.extend_from_slice(b"not a record\n");
                let long = "x".repeat(crate::scan::BLOCK + 1000);
                writeln!(out, r#"{{"time":"2024-05-01T12:00:00Z","status":500,"msg":"{long}"}}"#).unwrap();
            }
        }
        out
    }

    /// The parser a follower would choose from the first lines.
    fn parser_for(content: &[u8]) -> Parser {
        let whole = memchr::memrchr(b'\n', &content[..4096]).unwrap() + 1;
        let parser = crate::input::choose_parser(&content[..whole], &Default::default());
        assert_eq!(parser.format.name(), "json");
        parser
    }

    fn file_with(content: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(content).unwrap();
        f
    }

    /// What the console's follower would have made of the same bytes: one line at a time.
    fn one_by_one(content: &[u8], parser: &Parser) -> LineStore {
        let mut s = LineStore::new();
        crate::scan::for_each_line(content, |_, line| {
            let line = crate::format::trim_line(line);
            s.push(line, parser.parse(line).as_ref()).unwrap();
        });
        s
    }

    #[test]
    fn lines_indexed_on_many_threads_are_those_read_one_by_one() {
        let content = log(80_000);
        assert!(content.len() > 3 * crate::scan::BLOCK, "several blocks: {}", content.len());
        let parser = parser_for(&content);
        // the span starts and ends at line starts inside the file
        let start = memchr::memchr(b'\n', &content).unwrap() + 1;
        let end = content.len() - (memchr::memrchr(b'\n', &content[..content.len() - 1]).map_or(0, |p| p + 1));
        let end = content.len() - end;
        let span = Span { file: file_with(&content), start: start as u64, end: end as u64, path: None };
        let mut updates = Vec::new();
        let (store, error) = index(span, &parser, 3, |u| updates.push(u));
        assert_eq!(error, None);
        let want = one_by_one(&content[start..end], &parser);
        assert_eq!(store.len(), want.len());
        assert_eq!(store.len(), 80_000, "the requests but the first and the last, and the two odd lines");
        for i in 0..want.len() {
            assert_eq!(store.line(i), want.line(i), "line {i}");
            assert_eq!(store.meta(i), want.meta(i), "line {i}");
        }
        // the text stayed in the file: none of it was copied
        assert_eq!((store.text_mem_bytes(), store.text_bytes()), (0, want.text_bytes()));
        let keys_of = |l: &[u8]| crate::store::lines::line_keys(parser.parse(l).as_ref());
        let k = crate::ids::key("req-20000");
        assert_eq!(store.lines_with(&[k], &keys_of), want.lines_with(&[k], &keys_of));
        // progress in order to the whole span, and a chart point for every timed line
        let last = updates.last().unwrap();
        assert_eq!((last.done, last.total), ((end - start) as u64, (end - start) as u64));
        assert!(updates.windows(2).all(|w| w[0].done <= w[1].done));
        let points: usize = updates.iter().map(|u| u.points.len()).sum();
        assert_eq!(points, 80_000 - 1, "the requests but the first and the last, and the long 500");
    }

    #[test]
    fn a_file_cut_short_while_indexed_gives_the_lines_it_still_has() {
        let content = log(5_000);
        let parser = parser_for(&content);
        let file = file_with(&content);
        // truncated in place (copytruncate) after the span was planned
        file.set_len(content.len() as u64 / 2).unwrap();
        let (store, error) = index(Span { file, start: 0, end: content.len() as u64, path: None }, &parser, 2, |_| {});
        assert_eq!(error, None);
        let kept = &content[..content.len() / 2];
        assert_eq!(store.len(), kept.iter().filter(|&&b| b == b'\n').count() + 1, "the cut line too");
        assert_eq!(store.line(0), one_by_one(kept, &parser).line(0));
    }

    #[test]
    fn a_file_rotated_away_while_indexed_is_read_whole_from_its_handle() {
        let (dir, path, content, parser, span) = access_log();
        // logrotate renames it and the gateway starts a new one under the name
        std::fs::rename(&path, dir.path().join("access.log.1")).unwrap();
        std::fs::write(&path, b"a new file\n").unwrap();
        let (store, error) = index(span, &parser, 2, |_| {});
        assert_eq!(error, None);
        let want = one_by_one(&content, &parser);
        assert_eq!(store.len(), want.len());
        assert_eq!(store.line(store.len() - 1), want.line(want.len() - 1));
    }

    /// A log of `log(20_000)` at `access.log` in a directory of its own: its text, its parser, and its whole span.
    fn access_log() -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>, Parser, Span) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let content = log(20_000);
        std::fs::write(&path, &content).unwrap();
        let parser = parser_for(&content);
        let span =
            Span { file: File::open(&path).unwrap(), start: 0, end: content.len() as u64, path: Some(path.clone()) };
        (dir, path, content, parser, span)
    }

    /// [`access_log`], its history indexed, and what the same bytes give read one by one.
    fn indexed() -> (tempfile::TempDir, std::path::PathBuf, LineStore, LineStore) {
        let (dir, path, content, parser, span) = access_log();
        let (store, error) = index(span, &parser, 2, |_| {});
        assert_eq!(error, None);
        let want = one_by_one(&content, &parser);
        (dir, path, store, want)
    }

    #[test]
    fn lines_left_in_a_file_truncated_in_place_are_read_from_its_rotated_copy() {
        let (dir, path, store, want) = indexed();
        // logrotate's copytruncate: the bytes are copied to access.log.1, the log emptied, and the gateway
        // writes new lines where the old ones were
        std::fs::copy(&path, dir.path().join("access.log.1")).unwrap();
        std::fs::write(&path, &log(30_000)[1_000..]).unwrap();
        for i in (0..want.len()).rev() {
            assert_eq!(store.line(i), want.line(i), "line {i}");
        }
    }

    #[test]
    fn lines_gone_from_their_file_say_so_and_keep_their_columns() {
        let (_dir, path, store, want) = indexed();
        // truncated and rewritten, with no copy beside it: the first lines' bytes are other lines now
        std::fs::write(&path, &log(20_000)[5..]).unwrap();
        assert_eq!(store.line(0), crate::store::backed::GONE);
        assert_eq!(store.line(want.len() - 1), crate::store::backed::GONE);
        assert_eq!(store.meta(7), want.meta(7), "times and statuses stay");
        let parser = parser_for(&log(100));
        let keys_of = |l: &[u8]| crate::store::lines::line_keys(parser.parse(l).as_ref());
        assert_eq!(store.lines_with(&[crate::ids::key("req-20")], &keys_of), Vec::<usize>::new(), "no false match");
    }

    #[test]
    fn stack_traces_across_blocks_fold_under_their_records_as_one_by_one() {
        let java = std::fs::read("tests/fixtures/multiline/java.log").unwrap();
        let content: Vec<u8> = java.iter().copied().cycle().take(java.len() * 6_000).collect();
        assert!(content.len() > 3 * crate::scan::BLOCK, "several blocks: {}", content.len());
        let parser = crate::input::choose_parser(&java, &Default::default());
        let span = Span { file: file_with(&content), start: 0, end: content.len() as u64, path: None };
        let (store, error) = index(span, &parser, 3, |_| {});
        assert_eq!(error, None);
        // the console's follower: line by line, deciding as it goes
        let mut tracker = Tracker::default();
        let mut want = Vec::new();
        crate::scan::for_each_line(&content, |_, line| {
            let rec = parser.parse(line);
            want.push(tracker.next(LineKind::of(line, rec.as_ref()), parser.format.role()));
        });
        assert_eq!(store.len(), want.len());
        let got: Vec<bool> = (0..store.len()).map(|i| store.is_continuation(i)).collect();
        assert!(got == want, "first difference at line {:?}", got.iter().zip(&want).position(|(a, b)| a != b));
        assert_eq!(store.folded(), 9 * 6_000, "nine lines of trace in each copy");
    }

    #[test]
    fn only_a_long_history_is_planned_and_the_follower_starts_where_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (big, small) = (dir.path().join("big.log"), dir.path().join("small.log"));
        let content = log(120_000);
        assert!(content.len() as u64 > MIN_SPAN + (1 << 20));
        std::fs::write(&big, &content).unwrap();
        std::fs::write(&small, &content[..1 << 20]).unwrap();
        let follow = FollowOptions { start: crate::source::file::StartAt::Beginning, ..Default::default() };
        let files = [Some((big.as_path(), false)), Some((small.as_path(), false)), None];
        let (plans, follow) = plan_all(&files, &follow, &Default::default());
        assert!(plans[1].is_none() && plans[2].is_none(), "a short file is read by its follower");
        let (span, parser) = plans[0].as_ref().expect("the big file is planned");
        assert_eq!(parser.format.name(), "json");
        // the newest PREVIEW_LINES lines are the follower's
        let newest = content[span.end as usize..].iter().filter(|&&b| b == b'\n').count();
        assert_eq!((span.start, newest), (0, PREVIEW_LINES));
        assert_eq!(content[span.end as usize - 1], b'\n');
        let finder = follow.start_finder.expect("a finder");
        assert_eq!((finder.0)(&big), Some(span.end));
        assert_eq!((finder.0)(&small), None, "the others start as before");
        // a file that took the planned one's name is not the one planned
        std::fs::rename(&big, dir.path().join("big.log.1")).unwrap();
        std::fs::write(&big, b"new\n").unwrap();
        assert_eq!((finder.0)(&big), None);
    }
}
