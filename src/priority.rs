//! Bulk work — `report`, `trace` — yields to the host it runs on, which during an incident is the one in trouble:
//! it runs in the kernel's idle scheduling class (`SCHED_IDLE`: any other runnable thread takes the core from it at
//! once) at nice 10 and I/O class best-effort 7, in a session of its own whose group the kernel weighs lowest
//! ([`crate::bulk_session`]), reads files past the page cache or in short steps out of it
//! ([`crate::bulk_read`]: the gateway's cache stays the gateway's, and the kernel is never busy on its behalf for long),
//! uses fewer threads while the load average is above the core count, and slows down while the hypervisor of a
//! virtual machine is short of cores ([`crate::host_steal`]). `--priority normal` turns
//! all that off. Live following and the console stay at normal priority; the console's history indexing is bulk
//! work.

use std::sync::atomic::{AtomicBool, Ordering};

/// How bulk work treats the host.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Priority {
    /// The idle scheduling class at nice 10 in a session weighed lowest, I/O best-effort 7, short reads, page
    /// cache spared, fewer threads under load, slower while a hypervisor steals.
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
    crate::host_steal::say_when_slowed();
    let mut problems = lower_this_thread();
    if let Err(e) = crate::bulk_session::lower_own_group() {
        problems.push(format!("cannot lower the session's share of the CPU: {e}"));
    }
    problems
}

/// Lower the CPU and I/O priority of the calling thread and of the threads it starts from now on (the console's
/// history indexing: the rest of the process stays at normal priority); its reads spare the page cache and its
/// bulk work uses fewer threads on a busy host ([`spares_cache`]; a scan it starts marks its workers so,
/// [`mark_bulk`]). Returns what could not be done.
pub fn lower_this_thread() -> Vec<String> {
    BULK.set(true);
    let mut problems = Vec::new();
    // SAFETY: plain system calls on the calling thread, with constant arguments
    unsafe {
        if libc::setpriority(libc::PRIO_PROCESS, 0, NICE) != 0 {
            problems.push(format!("cannot lower the CPU priority: {}", std::io::Error::last_os_error()));
        }
        // the nice value still counts where the class is refused; pid 0: the calling thread
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            problems.push(format!("cannot enter the idle CPU class: {}", std::io::Error::last_os_error()));
        }
        let value = (IOPRIO_CLASS_BE << 13) | IOPRIO_LEVEL;
        // IOPRIO_WHO_PROCESS = 1, who = 0: the calling thread
        if libc::syscall(libc::SYS_ioprio_set, 1, 0, value) != 0 {
            problems.push(format!("cannot lower the I/O priority: {}", std::io::Error::last_os_error()));
        }
    }
    problems
}

thread_local! {
    /// Whether this thread runs in the idle scheduling class, asked once.
    static IDLE_CLASS: bool = {
        // SAFETY: a query on the calling thread
        unsafe { libc::sched_getscheduler(0) == libc::SCHED_IDLE }
    };
}

/// Let a waiting thread have the core, if this thread is in the idle class: call it every few dozen microseconds
/// of work. A thread that wakes up takes the core from an idle-class one, but on some kernels only at the next
/// timer tick (milliseconds later) unless that thread enters the kernel first: this is that entry. In a virtual
/// machine whose hypervisor is short of cores, bulk work sleeps here between short stretches
/// ([`crate::host_steal`]).
#[inline]
pub fn give_way() {
    if IDLE_CLASS.with(|idle| *idle) {
        // SAFETY: a system call without arguments
        unsafe { libc::sched_yield() };
    }
    if spares_cache() {
        crate::host_steal::pace();
    }
}

/// Mark the calling thread as doing bulk work for a thread that was, whose work it shares (a scan's workers: the
/// kernel hands them the class and nice value of the thread that starts them, this the rest).
pub fn mark_bulk() {
    BULK.set(true);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
