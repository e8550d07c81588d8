//! Whole-file scanning: read large blocks, cut them at newlines, and process blocks on all cores.
//!
//! Memory stays bounded: a fixed number of blocks are in flight and their buffers are reused, so a
//! file of any size is streamed, never held.

use std::io::{self, Read};
use std::sync::{Mutex, mpsc};

/// Size of one block read from the input.
pub const BLOCK: usize = 2 << 20;
/// A line longer than this is cut (the rest counts as a new line) so one line cannot exhaust memory.
pub const MAX_LINE: usize = 64 << 20;

/// What processes the blocks of one input; one instance per worker thread, merged at the end.
pub trait BlockSink: Send {
    /// Process a block of whole lines (each ending in `\n`, except possibly the input's last).
    /// `seq` is the block's position in the input, for turning line indexes into line numbers.
    fn block(&mut self, seq: u64, data: &[u8]);
    /// Fold another worker's results into this one.
    fn merge(&mut self, other: Self);
}

/// Call `f` for each line of `data` (without its `\n`), with the line's index within the block.
#[inline]
pub fn for_each_line<'a>(data: &'a [u8], mut f: impl FnMut(u64, &'a [u8])) {
    let mut start = 0;
    let mut idx = 0;
    for nl in memchr::memchr_iter(b'\n', data) {
        f(idx, &data[start..nl]);
        idx += 1;
        start = nl + 1;
    }
    if start < data.len() {
        f(idx, &data[start..]);
    }
}

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
    mut input: R,
    prefix: Vec<u8>,
    threads: usize,
    new_sink: impl Fn() -> S + Sync,
    mut progress: impl FnMut(u64),
) -> io::Result<S>
where
    R: Read,
    S: BlockSink,
{
    let threads = threads.max(1);
    let (work_tx, work_rx) = mpsc::sync_channel::<Block>(threads);
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    let work_rx = Mutex::new(work_rx);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (work_rx, free_tx, new_sink) = (&work_rx, free_tx.clone(), &new_sink);
                s.spawn(move || {
                    let mut sink = new_sink();
                    loop {
                        let job = work_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(Block { seq, buf, len }) = job else { break };
                        sink.block(seq, &buf[..len]);
                        let _ = free_tx.send(buf);
                    }
                    sink
                })
            })
            .collect();
        drop(free_tx);
        let read = read_blocks(&mut input, prefix, &work_tx, &free_rx, &mut progress);
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
    buf: Vec<u8>,
    len: usize,
}

fn read_blocks<R: Read>(
    input: &mut R,
    prefix: Vec<u8>,
    work_tx: &mpsc::SyncSender<Block>,
    free_rx: &mpsc::Receiver<Vec<u8>>,
    progress: &mut dyn FnMut(u64),
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
        let before = filled;
        let eof = fill(input, &mut buf, &mut filled)?;
        total += (filled - before) as u64;
        progress(total);
        if eof {
            if filled > 0 {
                let _ = work_tx.send(Block { seq, buf, len: filled });
            }
            return Ok(());
        }
        let len = match memchr::memrchr(b'\n', &buf[..filled]) {
            Some(nl) => nl + 1,
            // no newline in the whole buffer: keep growing it, up to the line limit
            None if filled < MAX_LINE => {
                carry.extend_from_slice(&buf[..filled]);
                continue;
            }
            None => filled,
        };
        carry.extend_from_slice(&buf[len..filled]);
        if work_tx.send(Block { seq, buf, len }).is_err() {
            return Ok(());
        }
        seq += 1;
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
    fn empty_input() {
        assert!(roundtrip(b"", 0, 2).is_empty());
    }
}
