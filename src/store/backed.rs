//! Text that stays in the log it was read from. A file's history, indexed apart, is not copied anywhere: each
//! chunk of it is kept as (file, offset, length) and a hash of its bytes, and read back on demand through a small
//! cache of chunks.
//!
//! A log can change under the console. logrotate's `copytruncate` empties it, and the gateway then writes new
//! lines where the old ones were. So a chunk read back is checked against its hash. When it is short or no longer
//! matches, the same bytes are looked for at the same offset in the file's rotated copies beside it (`copytruncate`
//! leaves them in `access.log.1`), and the chunk's file is switched to the copy that has them. When they are
//! nowhere, the chunk's lines read as [`GONE`]: their times, statuses and ids stay in the store's columns, so
//! counts and charts do not change. Reads use `pread`: a file that shrank gives a short read, never the fault
//! (SIGBUS) a map of it would. Each chunk read back gets an anonymous map of its own, given back to the system
//! when the cache drops it: scrolling a whole history through the cache leaves no heap behind.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use memmap2::{Mmap, MmapOptions};

/// What a line reads as once its text is gone from its file and from the file's rotated copies.
pub const GONE: &[u8] = b"[gatewatch: this line is no longer in its file (truncated or rewritten since it was read)]";

/// A log file chunks of text stay in.
#[derive(Debug)]
pub struct Backing {
    /// The file (open: it may be renamed away and keeps reading the same bytes), or the rotated copy that has its
    /// bytes since it was truncated.
    file: Mutex<File>,
    /// Where it was opened, to find its rotated copies by; `None`: nowhere else to look.
    path: Option<PathBuf>,
    /// Whether its rotated copies were searched for a chunk in vain: they are not searched again.
    searched: AtomicBool,
}

impl Backing {
    /// Chunks of `file`, opened at `path`.
    pub fn new(file: File, path: Option<PathBuf>) -> Arc<Backing> {
        Arc::new(Backing { file: Mutex::new(file), path, searched: AtomicBool::new(false) })
    }

    /// The `len` bytes at `off` whose hash is `hash`, from the file or one of its rotated copies; `None` when
    /// they are in neither.
    pub(crate) fn read(&self, off: u64, len: usize, hash: u64) -> Option<Mmap> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bytes) = read_checked(&file, off, len, hash) {
            return Some(bytes);
        }
        if self.searched.swap(true, Ordering::Relaxed) {
            return None;
        }
        let path = self.path.as_ref()?;
        // newest copy first: a truncation's copy is `.1` (or the newest dated one)
        for copy in crate::rotation::set(path).into_iter().rev().skip(1) {
            let Ok(other) = File::open(&copy) else { continue };
            if let Some(bytes) = read_checked(&other, off, len, hash) {
                *file = other;
                self.searched.store(false, Ordering::Relaxed);
                return Some(bytes);
            }
        }
        None
    }
}

/// The hash a chunk is checked against.
pub fn hash(bytes: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(bytes)
}

fn read_checked(file: &File, off: u64, len: usize, want: u64) -> Option<Mmap> {
    let mut buf = MmapOptions::new().len(len).map_anon().ok()?;
    file.read_exact_at(&mut buf, off).ok()?;
    (hash(&buf) == want).then(|| buf.make_read_only().ok()).flatten()
}

/// A chunk read back, shared by the cache and the lines read from it; `None`: its bytes are gone.
pub(crate) type Chunk = Option<Arc<Mmap>>;

/// The chunks read last, most recent first, up to a number of bytes (the one read last is kept, however long).
#[derive(Debug, Default)]
pub(crate) struct Cache {
    entries: Vec<(usize, Chunk)>,
    bytes: usize,
}

impl Cache {
    /// Chunk `ci`, from the cache or from `read` (whose result is kept, dropping chunks read longest ago while
    /// more than `budget` bytes are kept).
    pub(crate) fn get(&mut self, ci: usize, budget: usize, read: impl FnOnce() -> Chunk) -> Chunk {
        if let Some(at) = self.entries.iter().position(|e| e.0 == ci) {
            self.entries[..=at].rotate_right(1);
            return self.entries[0].1.clone();
        }
        let chunk = read();
        self.bytes += chunk.as_ref().map_or(0, |c| c.len());
        self.entries.insert(0, (ci, chunk.clone()));
        while self.bytes > budget && self.entries.len() > 1 {
            let (_, old) = self.entries.pop().expect("more than one");
            self.bytes -= old.map_or(0, |c| c.len());
        }
        chunk
    }

    /// Bytes held (for tests).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The text of one line: borrowed from the store, or sharing a chunk read back from its log.
#[derive(Clone)]
pub enum LineText<'a> {
    /// In the store's memory or its temporary file.
    Borrowed(&'a [u8]),
    /// `range` of a chunk read back from its log.
    Shared(Arc<Mmap>, std::ops::Range<usize>),
}

impl std::ops::Deref for LineText<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            LineText::Borrowed(b) => b,
            LineText::Shared(chunk, range) => &chunk[range.clone()],
        }
    }
}

impl AsRef<[u8]> for LineText<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl<T: AsRef<[u8]> + ?Sized> PartialEq<T> for LineText<'_> {
    fn eq(&self, other: &T) -> bool {
        **self == *other.as_ref()
    }
}

impl std::fmt::Debug for LineText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}
