//! Bulk work — `report`, `trace` — yields to the host it runs on, which during an incident is the one in trouble:
//! it runs at low CPU and I/O priority (nice 10, I/O class best-effort 7), reads files with `posix_fadvise`
//! sequential and drops what it read from the page cache as it goes (the gateway's cache stays the gateway's), and
//! uses fewer threads while the load average is above the core count. `--priority normal` turns all that off.
//! Live following and the console stay at normal priority; the console's history indexing is bulk work.

use std::sync::atomic::{AtomicBool, Ordering};

/// How bulk work treats the host.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Priority {
    /// Nice 10, I/O best-effort 7, page cache spared, fewer threads under load.
    #[default]
    Low,
    /// As any other process.
    Normal,
}

/// The nice value bulk work runs at.
pub const NICE: i32 = 10;
/// The I/O priority: class best-effort (2), level 7 (the lowest of the class).
const IOPRIO_CLASS_BE: i32 = 2;
const IOPRIO_LEVEL: i32 = 7;

static SPARE_CACHE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// This thread does bulk work at low priority ([`lower_this_thread`]), whatever the process does.
    static BULK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Lower the priority of this process's threads, and of those it starts from now on (they inherit it): call
/// before the work starts its threads. Returns what could not be done, in words (a container may forbid it).
pub fn apply(p: Priority) -> Vec<String> {
    if p == Priority::Normal {
        return Vec::new();
    }
    SPARE_CACHE.store(true, Ordering::Relaxed);
    lower_this_thread()
}

/// Lower the CPU and I/O priority of the calling thread and of the threads it starts from now on (the console's
/// history indexing: the rest of the process stays at normal priority); its reads spare the page cache and its
/// bulk work uses fewer threads on a busy host ([`spares_cache`]). Returns what could not be done.
pub fn lower_this_thread() -> Vec<String> {
    BULK.set(true);
    let mut problems = Vec::new();
    // SAFETY: plain system calls on the calling thread, with constant arguments
    unsafe {
        if libc::setpriority(libc::PRIO_PROCESS, 0, NICE) != 0 {
            problems.push(format!("cannot lower the CPU priority: {}", std::io::Error::last_os_error()));
        }
        let value = (IOPRIO_CLASS_BE << 13) | IOPRIO_LEVEL;
        // IOPRIO_WHO_PROCESS = 1, who = 0: the calling thread
        if libc::syscall(libc::SYS_ioprio_set, 1, 0, value) != 0 {
            problems.push(format!("cannot lower the I/O priority: {}", std::io::Error::last_os_error()));
        }
    }
    problems
}

/// Whether reads on this thread should spare the page cache, and its bulk work the cores: in the whole process
/// after [`apply`] with [`Priority::Low`], on a thread after [`lower_this_thread`].
pub fn spares_cache() -> bool {
    SPARE_CACHE.load(Ordering::Relaxed) || BULK.get()
}

/// Threads for bulk work when none were asked for: every core, or half of them while the 1-minute load average
/// is above the core count (the host is busy already).
pub fn threads(cores: usize) -> usize {
    if !spares_cache() {
        return cores;
    }
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|l| l.parse::<f64>().ok()));
    threads_under(cores, load)
}

/// Half the cores (at least one) while `load` is above their count.
fn threads_under(cores: usize, load: Option<f64>) -> usize {
    match load {
        Some(l) if l > cores as f64 => (cores / 2).max(1),
        _ => cores,
    }
}

/// How much is read between two drops of the page cache.
const DROP_EVERY: u64 = 8 << 20;

/// A file read once from start to end, telling the kernel so (sequential read-ahead) and, when sparing the cache,
/// dropping what was read from it as it goes.
pub struct Sequential {
    file: std::fs::File,
    read: u64,
    dropped: u64,
}

impl Sequential {
    /// Read `file` sequentially.
    pub fn new(file: std::fs::File) -> Self {
        use std::os::fd::AsRawFd;
        // SAFETY: advice on an open descriptor; a failure only means no advice
        unsafe {
            libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_SEQUENTIAL);
        }
        let read = std::io::Seek::stream_position(&mut &file).unwrap_or(0);
        Sequential { file, read, dropped: read }
    }

    fn drop_behind(&mut self) {
        use std::os::fd::AsRawFd;
        let len = self.read - self.dropped;
        // SAFETY: as above
        unsafe {
            libc::posix_fadvise(self.file.as_raw_fd(), self.dropped as i64, len as i64, libc::POSIX_FADV_DONTNEED);
        }
        self.dropped = self.read;
    }
}

impl std::io::Read for Sequential {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read += n as u64;
        if spares_cache() && (self.read - self.dropped >= DROP_EVERY || n == 0) {
            self.drop_behind();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn fewer_threads_on_a_loaded_host() {
        assert_eq!(threads_under(8, Some(3.5)), 8);
        assert_eq!(threads_under(8, Some(9.1)), 4);
        assert_eq!(threads_under(1, Some(4.0)), 1);
        assert_eq!(threads_under(4, None), 4);
    }

    #[test]
    fn a_thread_lowered_for_bulk_work_spares_the_host_and_the_others_do_not_change() {
        let lowered = std::thread::spawn(|| {
            let before = BULK.get();
            let _ = lower_this_thread();
            (before, BULK.get(), spares_cache())
        });
        assert_eq!(lowered.join().unwrap(), (false, true, true));
        assert!(!BULK.get(), "the thread that started it is not lowered");
    }

    #[test]
    fn a_sequential_read_gives_the_file() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..(20u32 << 20)).map(|i| (i % 251) as u8).collect();
        std::io::Write::write_all(&mut f, &data).unwrap();
        SPARE_CACHE.store(true, Ordering::Relaxed);
        let mut out = Vec::new();
        Sequential::new(std::fs::File::open(f.path()).unwrap()).read_to_end(&mut out).unwrap();
        assert!(out == data);
    }
}
