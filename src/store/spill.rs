//! The raw text of one store, kept on disk: each full chunk is written to an unlinked temporary file (one per
//! store) and read back through read-only maps of large segments of it, so only the chunk being filled and the
//! pages of the few windows read last are resident.
//!
//! Mapped pages that were read count as resident until the kernel drops them, so a store scrolled end to end
//! would end up holding its whole text again: reads are followed by window (a MiB of a segment), and the pages of
//! a window that falls out of the few read last are dropped with `madvise(MADV_DONTNEED)`.
//!
//! If the file cannot be created or written (no space left), the text stays in memory, and [`Text::note`] says so.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use memmap2::{Mmap, MmapOptions, UncheckedAdvice};

use super::backed::{Backing, Cache, GONE, LineText};

/// Sizes of the text's pieces; the store's defaults are [`Sizes::DEFAULT`], tests use small ones.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizes {
    /// Lines are gathered in chunks of this size in memory; a line never spans chunks.
    pub chunk: usize,
    /// The file is mapped in segments of this size (a chunk larger than it gets a segment of its own).
    pub segment: usize,
    /// Reads are followed by windows of this size.
    pub window: usize,
    /// How many of the windows read last keep their pages.
    pub keep: usize,
    /// Bytes of log chunks kept once read back (the one read last is kept, however long).
    pub cache: usize,
}

impl Sizes {
    /// 256 KiB chunks, 32 MiB segments (a 10 GB history takes about 300 maps), 1 MiB windows, 8 kept, 2 MiB of
    /// log chunks (a screen's lines are within one or two; every chunk costs its size in resident memory).
    pub const DEFAULT: Sizes = Sizes { chunk: 256 << 10, segment: 32 << 20, window: 1 << 20, keep: 8, cache: 2 << 20 };
}

/// Where a chunk's bytes are.
enum Chunk {
    /// In memory: the chunk being filled, or every chunk once the file could not be written.
    Mem(Vec<u8>),
    /// In segment `seg` of the file, from `off`.
    Disk { seg: u32, off: usize, len: usize },
    /// Still in the log it was read from: bytes `off..off + len` of backing `file`, whose hash is `hash` (see
    /// `backed.rs`). Unlike the others, its lines keep their newlines there: reads drop them.
    Log { file: u32, off: u64, len: u32, hash: u64 },
}

/// The temporary file and its maps.
struct Spill {
    file: File,
    /// (first byte in the file, map) per segment, in file order.
    maps: Vec<(u64, Mmap)>,
    /// Where the next chunk goes.
    next: u64,
    /// The end of the last segment.
    end: u64,
}

impl Spill {
    fn create() -> std::io::Result<Spill> {
        Ok(Spill { file: tempfile::tempfile()?, maps: Vec::new(), next: 0, end: 0 })
    }

    /// Write `bytes` to the file and map it: (segment, offset in it).
    fn write(&mut self, bytes: &[u8], segment: usize) -> std::io::Result<(u32, usize)> {
        let len = bytes.len() as u64;
        if self.maps.is_empty() || self.next + len > self.end {
            // memmap2 maps from the page the segment starts in: segments need no alignment of their own
            let start = self.next;
            let size = (segment as u64).max(len).max(1);
            // the segment is reserved (sparsely) at once, so each chunk written into it is readable through the
            // one map without mapping again
            self.file.set_len(start + size)?;
            // SAFETY: the file is this store's own, unlinked, and only ever grows: bytes once written are never
            // written again, so what a map shows of them cannot change (see `Text::touch` on dropping pages)
            let map = unsafe { MmapOptions::new().offset(start).len(size as usize).map(&self.file)? };
            self.maps.push((start, map));
            self.next = start;
            self.end = start + size;
        }
        self.file.write_all_at(bytes, self.next)?;
        let seg = self.maps.len() - 1;
        let off = (self.next - self.maps[seg].0) as usize;
        self.next += len;
        Ok((seg as u32, off))
    }
}

/// The windows read last, most recent first.
#[derive(Default)]
struct Recent(Vec<u64>);

/// One store's raw text, in chunks.
pub(crate) struct Text {
    sizes: Sizes,
    chunks: Vec<Chunk>,
    /// `None` until the first chunk is full, and when the file could not be created.
    spill: Option<Spill>,
    /// Whether full chunks still go to the file (false once writing failed).
    spilling: bool,
    /// Why the text is in memory, when it is.
    note: Option<String>,
    /// Bytes of text in memory.
    mem_bytes: usize,
    /// The window read last, plus one (0: none): reads within it skip the lock.
    last: AtomicU64,
    recent: Mutex<Recent>,
    /// The logs [`Chunk::Log`]s are in.
    backings: Vec<Arc<Backing>>,
    /// The log chunks read last.
    cache: Mutex<Cache>,
}

impl Default for Text {
    fn default() -> Self {
        Text::with_sizes(Sizes::DEFAULT)
    }
}

impl Text {
    /// An empty text with pieces of these sizes.
    pub(crate) fn with_sizes(sizes: Sizes) -> Self {
        Text {
            sizes,
            chunks: Vec::new(),
            spill: None,
            spilling: true,
            note: None,
            mem_bytes: 0,
            last: AtomicU64::new(0),
            recent: Mutex::default(),
            backings: Vec::new(),
            cache: Mutex::default(),
        }
    }

    /// Number of chunks.
    pub(crate) fn chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Why the text is kept in memory rather than on disk, once: the next call returns `None`.
    pub(crate) fn take_note(&mut self) -> Option<String> {
        self.note.take()
    }

    /// Bytes of text held in memory (the chunk being filled, or all of it without a file).
    pub(crate) fn mem_bytes(&self) -> usize {
        self.mem_bytes
    }

    /// Heap bytes held beyond the text in memory: the unused room in memory chunks and the chunk table.
    pub(crate) fn overhead_bytes(&self) -> usize {
        let room: usize =
            self.chunks.iter().map(|c| if let Chunk::Mem(v) = c { v.capacity() - v.len() } else { 0 }).sum();
        let maps = self.spill.as_ref().map_or(0, |s| s.maps.capacity() * size_of::<(u64, Mmap)>());
        room + self.chunks.capacity() * size_of::<Chunk>() + maps
    }

    /// Append `line` to the last chunk, or to a new one when it does not fit (a line longer than a chunk gets one
    /// of its own): (chunk, offset in it).
    pub(crate) fn push(&mut self, line: &[u8]) -> (usize, usize) {
        let fits = matches!(self.chunks.last(), Some(Chunk::Mem(c)) if c.len() + line.len() <= self.sizes.chunk);
        if !fits {
            self.seal_last();
            self.chunks.push(Chunk::Mem(Vec::with_capacity(self.sizes.chunk.max(line.len()))));
        }
        let ci = self.chunks.len() - 1;
        let Some(Chunk::Mem(chunk)) = self.chunks.last_mut() else { unreachable!("the last chunk is in memory") };
        let off = chunk.len();
        chunk.extend_from_slice(line);
        self.mem_bytes += line.len();
        (ci, off)
    }

    /// Move the last chunk, which is full, to the file.
    fn seal_last(&mut self) {
        if !self.spilling || !matches!(self.chunks.last(), Some(Chunk::Mem(_))) {
            return;
        }
        if self.spill.is_none() {
            match Spill::create() {
                Ok(s) => self.spill = Some(s),
                Err(e) => return self.stop_spilling(&e),
            }
        }
        let spill = self.spill.as_mut().expect("created above");
        let Some(Chunk::Mem(bytes)) = self.chunks.last() else { return };
        match spill.write(bytes, self.sizes.segment) {
            Ok((seg, off)) => {
                let len = bytes.len();
                self.mem_bytes -= len;
                *self.chunks.last_mut().expect("a chunk") = Chunk::Disk { seg, off, len };
            }
            Err(e) => self.stop_spilling(&e),
        }
    }

    fn stop_spilling(&mut self, e: &std::io::Error) {
        self.spilling = false;
        self.note = Some(format!("history kept in memory: no temporary file ({e})"));
    }

    /// Length of chunk `ci`.
    pub(crate) fn chunk_len(&self, ci: usize) -> usize {
        match &self.chunks[ci] {
            Chunk::Mem(v) => v.len(),
            Chunk::Disk { len, .. } => *len,
            Chunk::Log { len, .. } => *len as usize,
        }
    }

    /// The line at bytes `range` of chunk `ci` (in a log chunk, without the newline and what
    /// [`crate::format::trim_line`] trims).
    pub(crate) fn get(&self, ci: usize, range: std::ops::Range<usize>) -> LineText<'_> {
        match &self.chunks[ci] {
            Chunk::Mem(v) => LineText::Borrowed(&v[range]),
            Chunk::Disk { seg, off, len } => {
                debug_assert!(range.end <= *len);
                let spill = self.spill.as_ref().expect("a chunk on disk has its file");
                let map = &spill.maps[*seg as usize].1;
                let (from, to) = (off + range.start, off + range.end);
                self.touch(*seg, from, to);
                LineText::Borrowed(&map[from..to])
            }
            &Chunk::Log { file, off, len, hash } => {
                let read = || self.backings[file as usize].read(off, len as usize, hash).map(Arc::new);
                let chunk = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(ci, self.sizes.cache, read);
                let Some(chunk) = chunk else { return LineText::Borrowed(GONE) };
                let raw = &chunk[range.clone()];
                let line = crate::format::trim_line(raw.strip_suffix(b"\n").unwrap_or(raw));
                let start = line.as_ptr() as usize - chunk.as_ptr() as usize;
                let end = start + line.len();
                LineText::Shared(chunk, start..end)
            }
        }
    }

    /// Add a chunk that stays in its log: bytes `off..off + len` of `backing`, whose hash is `hash`. Returns its
    /// index.
    pub(crate) fn push_log(&mut self, backing: &Arc<Backing>, off: u64, len: u32, hash: u64) -> usize {
        self.seal_last();
        let file = match self.backings.iter().rposition(|b| Arc::ptr_eq(b, backing)) {
            Some(i) => i,
            None => {
                self.backings.push(backing.clone());
                self.backings.len() - 1
            }
        } as u32;
        self.chunks.push(Chunk::Log { file, off, len, hash });
        self.chunks.len() - 1
    }

    /// Chunk `ci` of `other`, when it stays in its log: added to this text (see [`Text::push_log`]), its index.
    pub(crate) fn adopt(&mut self, other: &Text, ci: usize) -> Option<usize> {
        let &Chunk::Log { file, off, len, hash } = &other.chunks[ci] else { return None };
        Some(self.push_log(&other.backings[file as usize], off, len, hash))
    }

    /// Bytes of log chunks held in the cache (for tests).
    #[cfg(test)]
    pub(crate) fn cached_bytes(&self) -> usize {
        self.cache.lock().map_or(0, |c| c.bytes())
    }

    /// Note that bytes `from..to` of segment `seg` are being read, and drop the pages of windows read longest ago.
    ///
    /// Soundness: a slice handed out earlier may point into a window whose pages are dropped here. That is sound
    /// because the maps are shared (`MAP_SHARED`) read-only maps of a file: `MADV_DONTNEED` only unmaps the pages,
    /// and the next access reads them back from the file (the page cache, or the disk), byte for byte the same —
    /// the file is this store's own, unlinked, and a byte of it is written once, before any map can show it. So the
    /// memory behind a live `&[u8]` never changes; only whether it is resident does.
    fn touch(&self, seg: u32, from: usize, to: usize) {
        let w = self.sizes.window;
        let (first, last) = (from / w, to.saturating_sub(1).max(from) / w);
        let id = |win: usize| ((seg as u64) << 32 | win as u64) + 1;
        if first == last && self.last.load(Ordering::Relaxed) == id(first) {
            return;
        }
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        for win in first..=last {
            let key = id(win);
            match recent.0.iter().position(|&k| k == key) {
                Some(0) => {}
                Some(at) => recent.0[..=at].rotate_right(1),
                None => {
                    recent.0.insert(0, key);
                    if recent.0.len() > self.sizes.keep {
                        let old = recent.0.pop().expect("more than kept");
                        self.drop_pages(old);
                    }
                }
            }
        }
        self.last.store(id(last), Ordering::Relaxed);
    }

    /// Drop the resident pages of window `key` (see [`Text::touch`] for why this is sound).
    fn drop_pages(&self, key: u64) {
        let key = key - 1;
        let (seg, win) = ((key >> 32) as usize, (key & u32::MAX as u64) as usize);
        let Some(spill) = &self.spill else { return };
        let map = &spill.maps[seg].1;
        let start = win * self.sizes.window;
        let len = self.sizes.window.min(map.len().saturating_sub(start));
        if len > 0 {
            // SAFETY: see `Text::touch`: on a shared file map, MADV_DONTNEED leaves the contents as they were
            // (read back from the file on the next access), so no live borrow sees a change
            let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, start, len) };
        }
    }

    /// Windows whose pages are kept, most recent first (for tests).
    #[cfg(test)]
    pub(crate) fn kept_windows(&self) -> usize {
        self.recent.lock().map(|r| r.0.len()).unwrap_or(0)
    }

    /// Number of maps (for tests).
    #[cfg(test)]
    pub(crate) fn maps(&self) -> usize {
        self.spill.as_ref().map_or(0, |s| s.maps.len())
    }

    /// Whether chunk `ci` is on disk (for tests).
    #[cfg(test)]
    pub(crate) fn on_disk(&self, ci: usize) -> bool {
        matches!(self.chunks[ci], Chunk::Disk { .. })
    }

    /// Stop writing to a file, as if it could not be created (for tests).
    #[cfg(test)]
    pub(crate) fn refuse_file(&mut self) {
        self.stop_spilling(&std::io::Error::from(std::io::ErrorKind::StorageFull));
    }
}
