//! A file read once from start to end by bulk work, leaving the page cache as it found it.
//!
//! Each aligned chunk of the file is looked up first (`cachestat`, or `mincore` on a mapping that is never touched
//! where the kernel is older than 6.5): a chunk the cache holds whole up to the end of the file (the live log the
//! gateway has just written) is copied out of it in short reads and stays cached; any other chunk is read with `O_DIRECT`, past the cache, so the scan neither fills the cache with a
//! gigabyte read once nor evicts what the gateway keeps there, and the kernel does no copying, no page-cache
//! bookkeeping and no eviction on its behalf (on a kernel without preemption that work holds a core whatever the
//! thread's class). Where `O_DIRECT` is refused (some file systems), the chunk is read through the cache and
//! dropped from it behind the read (what was cached before stays). Outside bulk work
//! ([`crate::priority::spares_cache`]) it is a plain sequential read; a pipe or a FIFO is read as a stream.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd};

/// The unit of lookup and of direct reads; a multiple of any block size `O_DIRECT` asks alignment to.
const CHUNK: usize = 256 << 10;
const ALIGN: usize = 4096;
/// The most one buffered `read` asks for: copying 128 KiB out of the page cache takes tens of microseconds,
/// where 2 MiB holds a core for a millisecond or more that a kernel without preemption gives nobody.
const READ_STEP: usize = 128 << 10;
/// How much is read through the cache (where `O_DIRECT` is refused) between two drops of it.
const DROP_EVERY: u64 = 1 << 20;

/// A file read sequentially from its current position: see the module's documentation.
pub struct Sequential {
    file: File,
    /// The offset of the next byte to hand out.
    pos: u64,
    /// How chunks not in the cache are read, decided at the first one.
    direct: Direct,
    /// The last chunk read directly: `buf[..len]` holds the file from `buf_at`. An anonymous map: page-aligned, as
    /// `O_DIRECT` asks of a buffer.
    buf: Option<memmap2::MmapMut>,
    buf_at: u64,
    len: usize,
    /// Read through the cache up to here and dropped from it up to `dropped`.
    dropped: u64,
    /// The chunk last found whole in the cache (its offset), read out of it.
    cached_chunk: Option<u64>,
    /// A regular file (read at offsets); a pipe, FIFO or character device is read as a stream.
    regular: bool,
    /// Whether the kernel has been told how the file is read (at the first read, once the mode is known).
    advised: bool,
}

enum Direct {
    Untried,
    Open(File),
    Refused,
}

impl Sequential {
    /// Read `file` sequentially from its current position.
    pub fn new(file: File) -> Self {
        let regular = file.metadata().is_ok_and(|m| m.file_type().is_file());
        let pos = if regular { io::Seek::stream_position(&mut &file).unwrap_or(0) } else { 0 };
        Sequential {
            file,
            pos,
            direct: Direct::Untried,
            buf: None,
            buf_at: 0,
            len: 0,
            dropped: pos,
            cached_chunk: None,
            regular,
            advised: false,
        }
    }

    /// Hand out what the last direct read holds at `pos`, if anything.
    fn hand_out(&mut self, out: &mut [u8]) -> Option<usize> {
        let buf = self.buf.as_ref()?;
        let at = self.pos.checked_sub(self.buf_at)? as usize;
        if at >= self.len {
            return None;
        }
        let n = out.len().min(self.len - at);
        out[..n].copy_from_slice(&buf[at..at + n]);
        self.pos += n as u64;
        Some(n)
    }

    /// Read `out.len()` bytes at most through the cache, in a short step.
    fn buffered(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let step = out.len().min(READ_STEP);
        let n = pread(&self.file, &mut out[..step], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }

    /// Read the aligned chunk holding `pos` past the cache; `None` when `O_DIRECT` is refused here.
    fn direct_chunk(&mut self) -> io::Result<Option<()>> {
        if let Direct::Untried = self.direct {
            self.direct = reopen_direct(&self.file).map_or(Direct::Refused, Direct::Open);
        }
        let Direct::Open(direct) = &self.direct else { return Ok(None) };
        let at = self.pos & !(ALIGN as u64 - 1);
        let buf = match &mut self.buf {
            Some(buf) => buf,
            none => none.insert(memmap2::MmapOptions::new().len(CHUNK).map_anon()?),
        };
        match pread(direct, buf, at) {
            Ok(n) => {
                (self.buf_at, self.len) = (at, n);
                Ok(Some(()))
            }
            // the file system takes the flag at open and refuses the read
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                self.direct = Direct::Refused;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn drop_behind(&mut self) {
        let len = self.pos.saturating_sub(self.dropped);
        // SAFETY: advice on an open descriptor; a failure only means the pages stay cached
        unsafe {
            libc::posix_fadvise(self.file.as_raw_fd(), self.dropped as i64, len as i64, libc::POSIX_FADV_DONTNEED);
        }
        self.dropped = self.pos;
    }
}

impl Read for Sequential {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if !self.regular {
            return (&self.file).read(out);
        }
        let spare = crate::priority::spares_cache();
        if !self.advised {
            self.advised = true;
            // sequential read-ahead, except when sparing the cache: it would fill it with chunks read past it
            let advice = if spare { libc::POSIX_FADV_RANDOM } else { libc::POSIX_FADV_SEQUENTIAL };
            // SAFETY: advice on an open descriptor; a failure only means no advice
            unsafe { libc::posix_fadvise(self.file.as_raw_fd(), 0, 0, advice) };
        }
        if !spare {
            let n = pread(&self.file, out, self.pos)?;
            self.pos += n as u64;
            return Ok(n);
        }
        if let Some(n) = self.hand_out(out) {
            return Ok(n);
        }
        let chunk = self.pos & !(CHUNK as u64 - 1);
        if self.cached_chunk == Some(chunk) || cached(&self.file, chunk) {
            self.cached_chunk = Some(chunk);
            // not past the chunk: the next one may be out of the cache, and is read past it
            let room = ((chunk + CHUNK as u64 - self.pos) as usize).min(out.len());
            let n = self.buffered(&mut out[..room])?;
            // what was cached before the read stays cached: a later drop starts past it
            self.dropped = self.pos;
            return Ok(n);
        }
        if self.direct_chunk()?.is_some() {
            // nothing at `pos` in a chunk read whole: the end of the file
            return Ok(self.hand_out(out).unwrap_or(0));
        }
        let n = self.buffered(out)?;
        if self.pos - self.dropped >= DROP_EVERY || n == 0 {
            self.drop_behind();
        }
        Ok(n)
    }
}

/// Read at `at`, retried when interrupted.
fn pread(file: &File, out: &mut [u8], at: u64) -> io::Result<usize> {
    loop {
        match std::os::unix::fs::FileExt::read_at(file, out, at) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// A second open of `file` that reads past the page cache, where the file system allows it.
fn reopen_direct(file: &File) -> Option<File> {
    let path = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
    // SAFETY: `path` is a NUL-terminated string; the descriptor returned is owned by the File made from it
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_DIRECT | libc::O_CLOEXEC) };
    // SAFETY: a descriptor just opened, owned by nobody else
    (fd >= 0).then(|| unsafe { File::from_raw_fd(fd) })
}

/// Whether the page cache holds the whole chunk of `file` at `at`, up to the end of the file (the live log's last
/// pages, the gateway's latest writes, count as held; a chunk wholly past the end does not).
fn cached(file: &File, at: u64) -> bool {
    let Ok(size) = file.metadata().map(|m| m.len()) else { return false };
    if at >= size {
        return false;
    }
    let len = (size - at).min(CHUNK as u64) as usize;
    resident_pages(file, at, len) == Some(len.div_ceil(page_size()))
}

/// How many pages of `file`'s `len` bytes at `at` (page-aligned) the page cache holds: by `cachestat` (Linux 6.5),
/// else by `mincore` on a mapping of the range that is never touched. `cachestat` takes no lock of the process's
/// memory map, which a starved idle-class thread must not hold while the console's thread waits for it.
fn resident_pages(file: &File, at: u64, len: usize) -> Option<usize> {
    #[repr(C)]
    struct Range {
        off: u64,
        len: u64,
    }
    #[repr(C)]
    #[derive(Default)]
    struct Stat {
        nr_cache: u64,
        nr_dirty: u64,
        nr_writeback: u64,
        nr_evicted: u64,
        nr_recently_evicted: u64,
    }
    const SYS_CACHESTAT: libc::c_long = 451;
    let range = Range { off: at, len: len as u64 };
    let mut stat = Stat::default();
    // SAFETY: the range and the result are valid structures of the layout the system call reads and writes
    if unsafe { libc::syscall(SYS_CACHESTAT, file.as_raw_fd(), &range, &mut stat, 0) } == 0 {
        return Some(stat.nr_cache as usize);
    }
    mincore_pages(file, at, len)
}

/// [`resident_pages`] where the kernel has no `cachestat`.
fn mincore_pages(file: &File, at: u64, len: usize) -> Option<usize> {
    // SAFETY: a read-only mapping of the open file that is only passed to mincore; mapping past the end of the
    // file is allowed, and no byte of it is ever read
    let map = unsafe { memmap2::MmapOptions::new().offset(at).len(len).map(file) }.ok()?;
    let mut vec = vec![0u8; len.div_ceil(page_size())];
    // SAFETY: `vec` has a byte for each page of the mapping
    let ok = unsafe { libc::mincore(map.as_ptr() as *mut libc::c_void, len, vec.as_mut_ptr()) } == 0;
    ok.then(|| vec.iter().filter(|&&v| v & 1 == 1).count())
}

fn page_size() -> usize {
    // SAFETY: a query without side effects
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as usize } else { ALIGN }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};

    /// A 5.3 MB file on disk, out of the page cache, and its bytes.
    fn cold_file() -> (tempfile::NamedTempFile, Vec<u8>) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..5_300_017u32).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        f.as_file().sync_all().unwrap();
        // SAFETY: advice on an open descriptor
        unsafe { libc::posix_fadvise(f.as_file().as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        (f, data)
    }

    /// [`cold_file`] with its first half (whole chunks) in the cache and the rest not; the half's length and pages.
    fn half_hot_file() -> (tempfile::NamedTempFile, Vec<u8>, usize, usize) {
        let (f, data) = cold_file();
        let half = (data.len() / 2) & !(CHUNK - 1);
        // warm the first half alone: no read-ahead past it
        let warm = File::open(f.path()).unwrap();
        // SAFETY: advice on an open descriptor
        unsafe { libc::posix_fadvise(warm.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM) };
        std::os::unix::fs::FileExt::read_exact_at(&warm, &mut vec![0u8; half], 0).unwrap();
        let hot = half / page_size();
        assert_eq!(resident(&f), hot, "the first half is hot, the rest not");
        (f, data, half, hot)
    }

    fn resident(f: &tempfile::NamedTempFile) -> usize {
        let len = f.as_file().metadata().unwrap().len() as usize;
        resident_pages(f.as_file(), 0, len).unwrap()
    }

    /// Read all of `file` from `from` with `Sequential` in odd-sized reads, on a thread doing bulk work; and
    /// whether it read past the cache.
    fn read_sparing(file: File, from: u64, refuse_direct: bool) -> (Vec<u8>, bool) {
        std::thread::spawn(move || {
            let _ = crate::priority::lower_this_thread();
            let mut file = file;
            file.seek(SeekFrom::Start(from)).unwrap();
            let mut r = Sequential::new(file);
            if refuse_direct {
                r.direct = Direct::Refused;
            }
            let (mut out, mut buf) = (Vec::new(), vec![0u8; 300_007]);
            loop {
                match r.read(&mut buf).unwrap() {
                    0 => return (out, matches!(r.direct, Direct::Open(_))),
                    n => out.extend_from_slice(&buf[..n]),
                }
            }
        })
        .join()
        .unwrap()
    }

    #[test]
    fn a_file_out_of_the_cache_is_read_whole_and_stays_out_of_it() {
        let (f, data) = cold_file();
        let pages = data.len().div_ceil(page_size());
        assert!(resident(&f) < pages / 10, "the file starts out of the cache: {} of {pages}", resident(&f));
        let (got, direct) = read_sparing(File::open(f.path()).unwrap(), 12_345, false);
        assert!(got == data[12_345..], "{} bytes of {}", got.len(), data.len() - 12_345);
        assert!(direct);
        assert!(resident(&f) < pages / 10, "read past the cache: {} of {pages} pages cached after", resident(&f));
    }

    #[test]
    fn a_file_in_the_cache_is_read_out_of_it_and_stays_in_it() {
        let (f, data) = cold_file();
        let pages = data.len().div_ceil(page_size());
        std::fs::read(f.path()).unwrap();
        assert_eq!(resident(&f), pages, "the file is hot");
        let (got, direct) = read_sparing(File::open(f.path()).unwrap(), 0, false);
        assert!(got == data);
        assert_eq!(resident(&f), pages, "what the cache held, it still holds");
        assert!(!direct, "no chunk read past the cache, the last one's pages up to the end of the file included");
    }

    #[test]
    fn where_direct_reads_are_refused_the_file_is_dropped_from_the_cache_behind_the_read() {
        let (f, data) = cold_file();
        let pages = data.len().div_ceil(page_size());
        let (got, _) = read_sparing(File::open(f.path()).unwrap(), 7, true);
        assert!(got == data[7..]);
        assert!(resident(&f) < pages / 4, "dropped behind the read: {} of {pages} pages cached after", resident(&f));
    }

    #[test]
    fn where_direct_reads_are_refused_what_the_cache_held_before_stays_in_it() {
        let (f, data, half, hot) = half_hot_file();
        let (got, _) = read_sparing(File::open(f.path()).unwrap(), 0, true);
        assert!(got == data);
        let held = resident_pages(f.as_file(), 0, half).unwrap();
        assert_eq!(held, hot, "the first half stays cached");
        assert!(resident(&f) < hot + hot / 4, "the rest is dropped behind the read: {} pages", resident(&f));
    }

    #[test]
    fn reads_out_of_the_cache_stop_where_the_cached_part_ends() {
        let (f, data, _, hot) = half_hot_file();
        // from an odd offset, so that steps of 128 KiB do not end where the chunks do
        let (got, direct) = read_sparing(File::open(f.path()).unwrap(), 7, false);
        assert!(got == data[7..]);
        assert!(direct);
        assert_eq!(resident(&f), hot, "nothing past the cached half was read into the cache");
    }

    #[test]
    fn older_kernels_find_the_same_pages_cached() {
        let (f, data, half, hot) = half_hot_file();
        assert_eq!(mincore_pages(f.as_file(), 0, data.len()), Some(hot));
        assert_eq!(mincore_pages(f.as_file(), half as u64, CHUNK), Some(0));
    }

    #[test]
    fn a_fifo_is_read_as_a_stream_in_bulk_work_and_out_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        for bulk in [false, true] {
            let path = dir.path().join(format!("fifo-{bulk}"));
            let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
            // SAFETY: a NUL-terminated path
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            let (to_write, p) = (data.clone(), path.clone());
            let writer = std::thread::spawn(move || std::fs::write(p, to_write).unwrap());
            let got = std::thread::spawn(move || {
                if bulk {
                    let _ = crate::priority::lower_this_thread();
                }
                let mut out = Vec::new();
                Sequential::new(File::open(path).unwrap()).read_to_end(&mut out).unwrap();
                out
            })
            .join()
            .unwrap();
            writer.join().unwrap();
            assert!(got == data, "bulk {bulk}: {} bytes", got.len());
        }
    }

    #[test]
    fn outside_bulk_work_it_is_a_plain_read_from_the_position() {
        let (f, data) = cold_file();
        let mut file = File::open(f.path()).unwrap();
        file.seek(SeekFrom::Start(1_000_000)).unwrap();
        let mut out = Vec::new();
        Sequential::new(file).read_to_end(&mut out).unwrap();
        assert!(out == data[1_000_000..]);
    }
}
