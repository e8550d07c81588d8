//! Whole-file scanning: read large blocks, cut them at newlines, and process blocks on all cores.
//!
//! Memory stays bounded: a fixed number of blocks are in flight and their buffers are reused, so a
//! file of any size is streamed, never held.

use std::io::{self, Read};
use std::sync::{Mutex, mpsc};

/// Size of one block read from the input.
pub const BLOCK: usize = 2 << 20;
/// A line longer than this is cut (its first `MAX_LINE` bytes or so are kept, the rest up to its newline skipped)
/// so one line cannot exhaust memory; it still counts as one line.
pub const MAX_LINE: usize = 64 << 20;

/// What processes the blocks of one input; one instance per worker thread, merged at the end.
pub trait BlockSink: Send {
    /// Process a block of whole lines (each ending in `\n`, except possibly the input's last).
    /// `seq` is the block's position in the input, for turning line indexes into line numbers.
    fn block(&mut self, seq: u64, data: &[u8]);
    /// [`BlockSink::block`], told where the block starts in the input (the bytes a line past the length limit
    /// lost are counted: offsets are the input's own).
    fn block_at(&mut self, seq: u64, _offset: u64, data: &[u8]) {
        self.block(seq, data)
    }
    /// Fold another worker's results into this one.
    fn merge(&mut self, other: Self);
}

/// Call `f` for each line of `data` (without its `\n`), with the line's index within the block. Bulk work gives
/// way to the host's other threads every [`GIVE_WAY_EVERY`] lines ([`crate::priority::give_way`]).
#[inline]
pub fn for_each_line<'a>(data: &'a [u8], mut f: impl FnMut(u64, &'a [u8])) {
    crate::host_steal::start_stretch();
    let mut start = 0;
    let mut idx = 0;
    for nl in memchr::memchr_iter(b'\n', data) {
        f(idx, &data[start..nl]);
        idx += 1;
        start = nl + 1;
        if idx % GIVE_WAY_EVERY == 0 {
            crate::priority::give_way();
        }
    }
    if start < data.len() {
        f(idx, &data[start..]);
    }
}

/// Lines between two chances for a waiting thread to take the core from bulk work: some 30 µs of parsing.
const GIVE_WAY_EVERY: u64 = 128;

/// Line numbers from per-block line counts: workers see blocks out of order and only know a line's index within
/// its block, so each sink records `(seq, lines)` per block and this turns `(seq, index)` into a line number.
#[derive(Debug, Default)]
pub struct LineNumbers {
    starts: std::collections::HashMap<u64, u64>,
}

impl LineNumbers {
    /// From `(block seq, lines in block)` pairs, in any order.
    pub fn from_counts(mut counts: Vec<(u64, u64)>) -> Self {
        counts.sort_unstable();
        let mut starts = std::collections::HashMap::with_capacity(counts.len());
        let mut acc = 0;
        for (seq, n) in counts {
            starts.insert(seq, acc);
            acc += n;
        }
        LineNumbers { starts }
    }

    /// The 1-based line number of line `index` of block `seq`.
    pub fn number(&self, seq: u64, index: u64) -> u64 {
        self.starts.get(&seq).copied().unwrap_or(0) + index + 1
    }
}

/// How many worker threads to use.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 16)
}

/// Read `input` to its end, prepending `prefix` (bytes already read, e.g. for format detection), and feed
/// every block to one of `threads` sinks made by `new_sink`; returns the merged sink.
pub fn scan<R, S>(input: R, prefix: Vec<u8>, threads: usize, new_sink: impl Fn() -> S + Sync) -> io::Result<S>
where
    R: Read,
    S: BlockSink,
{
    scan_with_progress(input, prefix, threads, new_sink, |_| {})
}

/// [`scan`], calling `progress` with the bytes read so far after every block.
pub fn scan_with_progress<R, S>(
    input: R,
    prefix: Vec<u8>,
    threads: usize,
    new_sink: impl Fn() -> S + Sync,
    progress: impl FnMut(u64),
) -> io::Result<S>
where
    R: Read,
    S: BlockSink,
{
    scan_limited(input, prefix, threads, new_sink, progress, MAX_LINE)
}

/// [`scan_with_progress`] with lines cut past `max_line` bytes.
fn scan_limited<R, S>(
    mut input: R,
    prefix: Vec<u8>,
    threads: usize,
    new_sink: impl Fn() -> S + Sync,
    mut progress: impl FnMut(u64),
    max_line: usize,
) -> io::Result<S>
where
    R: Read,
    S: BlockSink,
{
    let threads = threads.max(1);
    let (work_tx, work_rx) = mpsc::sync_channel::<Block>(threads);
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    let work_rx = Mutex::new(work_rx);
    let bulk = crate::priority::spares_cache();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (work_rx, free_tx, new_sink) = (&work_rx, free_tx.clone(), &new_sink);
                s.spawn(move || {
                    if bulk {
                        crate::priority::mark_bulk();
                    }
                    let mut sink = new_sink();
                    loop {
                        let job = work_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(Block { seq, offset, buf, len }) = job else { break };
                        sink.block_at(seq, offset, &buf[..len]);
                        let _ = free_tx.send(buf);
                    }
                    sink
                })
            })
            .collect();
        drop(free_tx);
        let read = read_blocks(&mut input, prefix, &work_tx, &free_rx, &mut progress, max_line);
        drop(work_tx);
        let mut sinks = workers.into_iter().map(|w| w.join().expect("scan worker panicked"));
        let mut first = sinks.next().expect("at least one worker");
        for s in sinks {
            first.merge(s);
        }
        read.map(|_| first)
    })
}

/// A block of input: `buf[..len]` holds whole lines. Buffers stay initialised and are reused, so no block
/// costs an allocation or a zero-fill after the first few.
struct Block {
    seq: u64,
    /// Where `buf` starts in the input.
    offset: u64,
    buf: Vec<u8>,
    len: usize,
}

fn read_blocks<R: Read>(
    input: &mut R,
    prefix: Vec<u8>,
    work_tx: &mpsc::SyncSender<Block>,
    free_rx: &mpsc::Receiver<Vec<u8>>,
    progress: &mut dyn FnMut(u64),
    max_line: usize,
) -> io::Result<()> {
    let mut carry = prefix;
    let mut seq = 0u64;
    let mut total = carry.len() as u64;
    loop {
        let mut buf = free_rx.try_recv().unwrap_or_default();
        let want = BLOCK.max(carry.len() + BLOCK / 2);
        if buf.len() < want {
            buf.resize(want, 0);
        }
        buf[..carry.len()].copy_from_slice(&carry);
        let mut filled = carry.len();
        carry.clear();
        // bytes before this have no newline: a long line is searched once, however many reads it takes
        let mut searched = 0;
        let len = loop {
            let before = filled;
            let eof = fill(input, &mut buf, &mut filled)?;
            total += (filled - before) as u64;
            progress(total);
            if eof {
                if filled > 0 {
                    let _ = work_tx.send(Block { seq, offset: total - filled as u64, buf, len: filled });
                }
                return Ok(());
            }
            match memchr::memrchr(b'\n', &buf[searched..filled]) {
                Some(nl) => break searched + nl + 1,
                // no newline in the whole buffer: grow it in place, up to the line limit
                None if filled < max_line => {
                    searched = filled;
                    buf.resize(filled + BLOCK / 2, 0);
                }
                // a line past the limit: what is read stands for it, the rest of it is skipped
                None => break filled,
            }
        };
        let cut = len == filled && buf[len - 1] != b'\n';
        carry.extend_from_slice(&buf[len..filled]);
        if work_tx.send(Block { seq, offset: total - filled as u64, buf, len }).is_err() {
            return Ok(());
        }
        seq += 1;
        if cut && skip_rest_of_line(input, &mut carry, &mut total, progress)? {
            return Ok(());
        }
    }
}

/// Read past the next newline, keeping what follows it in `carry`; returns true at end of input.
fn skip_rest_of_line<R: Read>(
    input: &mut R,
    carry: &mut Vec<u8>,
    total: &mut u64,
    progress: &mut dyn FnMut(u64),
) -> io::Result<bool> {
    let mut scratch = vec![0u8; 64 << 10];
    loop {
        let n = match input.read(&mut scratch) {
            Ok(0) => return Ok(true),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        *total += n as u64;
        progress(*total);
        if let Some(nl) = memchr::memchr(b'\n', &scratch[..n]) {
            carry.extend_from_slice(&scratch[nl + 1..n]);
            return Ok(false);
        }
    }
}

/// Read until `buf` is full or the input ends; returns true at end of input.
fn fill<R: Read>(input: &mut R, buf: &mut [u8], filled: &mut usize) -> io::Result<bool> {
    while *filled < buf.len() {
        match input.read(&mut buf[*filled..]) {
            Ok(0) => return Ok(true),
            Ok(n) => *filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects every line with its (seq, index) to check nothing is lost, split or reordered.
    #[derive(Default)]
    struct Lines(Vec<((u64, u64), Vec<u8>)>);

    impl BlockSink for Lines {
        fn block(&mut self, seq: u64, data: &[u8]) {
            for_each_line(data, |i, l| self.0.push(((seq, i), l.to_vec())));
        }
        fn merge(&mut self, other: Self) {
            self.0.extend(other.0);
        }
    }

    fn roundtrip(text: &[u8], split_prefix: usize, threads: usize) -> Vec<Vec<u8>> {
        let (prefix, rest) = text.split_at(split_prefix.min(text.len()));
        let mut got = scan(rest, prefix.to_vec(), threads, Lines::default).unwrap().0;
        got.sort_by_key(|(at, _)| *at);
        got.into_iter().map(|(_, l)| l).collect()
    }

    #[test]
    fn every_line_once_in_order() {
        let mut text = Vec::new();
        for i in 0..300_000 {
            text.extend_from_slice(format!("line {i} {}\n", "x".repeat(i % 50)).as_bytes());
        }
        text.extend_from_slice(b"last line without newline");
        let want: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        for threads in [1, 3] {
            assert_eq!(roundtrip(&text, 1000, threads), want);
        }
    }

    #[test]
    fn a_line_longer_than_a_block() {
        let long = vec![b'a'; BLOCK * 3 + 17];
        let mut text = b"short\n".to_vec();
        text.extend_from_slice(&long);
        text.extend_from_slice(b"\nend\n");
        let got = roundtrip(&text, 0, 2);
        assert_eq!(got, vec![b"short".to_vec(), long, b"end".to_vec()]);
    }

    #[test]
    fn a_line_past_the_limit_is_cut_and_counts_once() {
        let limit = BLOCK + BLOCK / 2;
        for tail in ["\nnext\nlast\n", ""] {
            let mut text = b"first\n".to_vec();
            text.extend(std::iter::repeat_n(b'x', limit * 4 + 3));
            text.extend_from_slice(tail.as_bytes());
            let mut got = scan_limited(&text[..], Vec::new(), 2, Lines::default, |_| {}, limit).unwrap().0;
            got.sort_by_key(|(at, _)| *at);
            let mut counts = std::collections::BTreeMap::new();
            for ((seq, _), _) in &got {
                *counts.entry(*seq).or_insert(0) += 1;
            }
            let numbers = LineNumbers::from_counts(counts.into_iter().collect());
            let lines: Vec<(u64, usize)> = got.iter().map(|((s, i), l)| (numbers.number(*s, *i), l.len())).collect();
            assert_eq!(lines.len(), if tail.is_empty() { 2 } else { 4 }, "{lines:?}");
            assert_eq!(lines[0], (1, 5));
            assert!((limit..limit + BLOCK).contains(&lines[1].1), "the long line is kept up to the limit: {lines:?}");
            if !tail.is_empty() {
                assert_eq!(got[2].1, b"next");
                assert_eq!(got[3].1, b"last");
                assert_eq!((lines[2].0, lines[3].0), (3, 4), "line numbers after the long line are right");
            }
        }
    }

    /// Blocks with where they start in the input.
    #[derive(Default)]
    struct Offsets(Vec<(u64, Vec<u8>)>);

    impl BlockSink for Offsets {
        fn block(&mut self, _: u64, _: &[u8]) {
            unreachable!("block_at is called")
        }
        fn block_at(&mut self, _: u64, offset: u64, data: &[u8]) {
            self.0.push((offset, data.to_vec()));
        }
        fn merge(&mut self, other: Self) {
            self.0.extend(other.0);
        }
    }

    #[test]
    fn each_block_is_told_where_it_starts_in_the_input() {
        let limit = BLOCK + BLOCK / 2;
        let mut text = Vec::new();
        for i in 0..100_000 {
            text.extend_from_slice(format!("line {i} {}\n", "y".repeat(i % 70)).as_bytes());
            if i == 50_000 {
                // past the limit: the block holds its first bytes, the rest is skipped, and offsets stay the input's
                text.extend(std::iter::repeat_n(b'x', limit * 3));
                text.push(b'\n');
            }
        }
        let blocks = scan_limited(&text[..], Vec::new(), 3, Offsets::default, |_| {}, limit).unwrap().0;
        assert!(blocks.len() > 3, "{}", blocks.len());
        for (offset, data) in &blocks {
            let at = *offset as usize;
            assert_eq!(&text[at..at + data.len()], &data[..], "the block at {offset}");
        }
    }

    /// Whether each block was worked on as bulk work.
    #[derive(Default)]
    struct Bulk(Vec<bool>);

    impl BlockSink for Bulk {
        fn block(&mut self, _: u64, _: &[u8]) {
            self.0.push(crate::priority::spares_cache());
        }
        fn merge(&mut self, other: Self) {
            self.0.extend(other.0);
        }
    }

    #[test]
    fn the_workers_of_bulk_work_are_bulk_work_and_no_others_are() {
        let text = "a line of the log\n".repeat(BLOCK / 4);
        let scan_from = |bulk: bool| {
            let text = text.clone();
            std::thread::spawn(move || {
                if bulk {
                    crate::priority::mark_bulk();
                }
                scan(text.as_bytes(), Vec::new(), 3, Bulk::default).unwrap().0
            })
            .join()
            .unwrap()
        };
        let (bulk, not) = (scan_from(true), scan_from(false));
        assert!(bulk.len() > 2 && bulk.iter().all(|&b| b), "{bulk:?}");
        assert!(not.len() > 2 && not.iter().all(|&b| !b), "{not:?}");
    }

    #[test]
    fn empty_input() {
        assert!(roundtrip(b"", 0, 2).is_empty());
    }
}
