//! Bulk work in a session of its own, whose share of the CPU the kernel weighs lowest.
//!
//! A thread's scheduling class and nice value ([`crate::priority`]) count only against the threads of its own
//! scheduling group. Where the kernel groups processes by session (autogroup, on by default on most distributions'
//! kernels) the gateway is in a group of its own, and between groups the cores are shared by the groups' weights:
//! at equal weight, an idle-class `report` still holds a core for milliseconds while nginx waits. A process can
//! lower its group's weight only for its whole session, so a `report` started from a shell would lower the shell
//! too: instead it starts itself again as a child in a new session and lowers that session's group to nice 19
//! (weight 15 against 1024). The parent waits, passes on what the terminal sends it (Ctrl-C, hang-up, Ctrl-Z) and
//! exits as the child did; the child dies with the parent.
//!
//! Where the process is in a CPU cgroup of its own (systemd hosts with the cpu controller on), autogroup does not
//! apply and the work runs here as before.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::time::Duration;

/// The nice value of bulk work's own session group: the lowest weight the kernel has.
const GROUP_NICE: i32 = 19;

/// The signals the parent passes on to the child.
const FORWARDED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Whether the kernel weighs this process's CPU time by its session (autogroup): enabled, and the process in the
/// root CPU cgroup.
pub fn groups_by_session() -> bool {
    let enabled = std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled").is_ok_and(|s| s.trim() == "1");
    enabled && std::fs::read_to_string("/proc/self/cgroup").is_ok_and(|c| in_root_cpu_group(&c, cgroup_weighs))
}

/// From `/proc/self/cgroup`: whether the process is in the root CPU cgroup, where autogroup applies. A cgroup v1
/// `cpu` hierarchy decides alone; under cgroup v2 the process's cgroup weighs it when that cgroup has the cpu
/// controller (`cgroup_weighs`) — a container's `/` (a private cgroup namespace) may be such a cgroup.
fn in_root_cpu_group(cgroup: &str, cgroup_weighs: impl FnOnce(&str) -> bool) -> bool {
    let mut unified = None;
    for line in cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
        if controllers.split(',').any(|c| c == "cpu") {
            return path == "/";
        }
        if controllers.is_empty() {
            unified = Some(path);
        }
    }
    match unified {
        Some(path) => !cgroup_weighs(path),
        None => false,
    }
}

/// Whether the cgroup v2 cgroup at `path` (as `/proc/self/cgroup` names it) is weighed by the cpu controller:
/// it or one of its ancestors has a weight of its own (`cpu.weight`, which the root never has). When that cannot
/// be told, it is taken to be weighed (the work then stays in this process).
fn cgroup_weighs(path: &str) -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else { return true };
    // fields: id parent major:minor root mount-point options [optional…] - fstype source super-options
    let Some(point) = mounts.lines().find_map(|l| {
        let (before, after) = l.split_once(" - ")?;
        (after.split(' ').next() == Some("cgroup2")).then(|| before.split(' ').nth(4))?
    }) else {
        return true;
    };
    weighed_under(std::path::Path::new(point), path)
}

/// [`cgroup_weighs`] in the cgroup v2 hierarchy mounted at `point`.
fn weighed_under(point: &std::path::Path, path: &str) -> bool {
    let mut dir = point.join(path.trim_start_matches('/'));
    if !dir.is_dir() {
        return true;
    }
    loop {
        if dir.join("cpu.weight").exists() {
            return true;
        }
        if dir == point || !dir.pop() {
            return false;
        }
    }
}

fn session_leader() -> bool {
    // SAFETY: queries without arguments that can fail
    unsafe { libc::getsid(0) == libc::getpid() }
}

/// In a session of its own: lower the session's group to the lowest weight. The kernel lets an unprivileged
/// process do this once a tenth of a second across the host, so a refusal for that reason is tried again.
/// Nothing is done, and nothing is said, where the process leads no session of its own or autogroup does not
/// apply.
pub fn lower_own_group() -> std::io::Result<()> {
    if !session_leader() || !groups_by_session() {
        return Ok(());
    }
    // many runs started at once (`xargs -P`) take turns: up to some 4 s, at uneven intervals so they spread
    let mut tries = 0;
    loop {
        match std::fs::write("/proc/self/autogroup", GROUP_NICE.to_string()) {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && tries < 80 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(fastrand::u64(20..80)));
            }
            result => return result,
        }
    }
}

/// Run this command again in a session of its own ([`lower_own_group`] lowers it there) and wait for it: returns
/// the child's exit code, and dies of the signal that killed the child. `None` when there is no need (autogroup
/// does not apply, or this process leads its session already) or the child cannot be started: the work then runs
/// in this process. Call before any thread is started.
pub fn run_apart() -> Option<i32> {
    if session_leader() || !groups_by_session() {
        return None;
    }
    let args: Vec<OsString> = std::env::args_os().collect();
    let (arg0, rest) = args.split_first()?;
    let mut waited = signal_set(&FORWARDED);
    // SAFETY: adding valid signal numbers to an initialised set
    unsafe {
        libc::sigaddset(&mut waited, libc::SIGTSTP);
        libc::sigaddset(&mut waited, libc::SIGCHLD);
    }
    let mut before = signal_set(&[]);
    // SAFETY: both sets are initialised; blocked here before the child exists, so none is lost (the child gets
    // the mask it would have had back before it runs the program). SIGCHLD ignored (a wrapper may leave it so)
    // would have the kernel reap the child unseen: it is set to its default.
    unsafe {
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        libc::pthread_sigmask(libc::SIG_BLOCK, &waited, &mut before);
    }
    // SAFETY: a query without arguments
    let parent = unsafe { libc::getpid() };
    // the program by its path, so that `ps` and `top` name it as they name this one; the running image itself
    // where that path is gone (a deploy replaced the binary meanwhile)
    let program = std::env::current_exe().ok().filter(|p| p.exists()).unwrap_or_else(|| "/proc/self/exe".into());
    let mut command = std::process::Command::new(program);
    command.arg0(arg0).args(rest);
    // SAFETY: between fork and exec only async-signal-safe system calls are made
    unsafe {
        command.pre_exec(move || {
            // out of the terminal's process group before the signals come through: a Ctrl-Z meant for the
            // command cannot stop the child half-started
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut());
            // the work ends when the one waiting for it is gone, even killed outright, even stopped
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        })
    };
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(_) => {
            // SAFETY: the mask saved above
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut()) };
            return None;
        }
    };
    let pid = child.id() as libc::pid_t;
    // each second the child is asked after even without a SIGCHLD, so that no lost signal leaves this waiting
    let second = libc::timespec { tv_sec: 1, tv_nsec: 0 };
    let status = loop {
        // SAFETY: an initialised set and time; no information wanted
        let signal = unsafe { libc::sigtimedwait(&waited, std::ptr::null_mut(), &second) };
        match signal {
            libc::SIGCHLD | -1 => match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                // the child ran: whatever happens, the work is not run again here
                Err(_) => return Some(1),
            },
            // Ctrl-Z: the work stops with the command the shell sees, and goes on with it
            // SAFETY: signals to the child and to this process
            libc::SIGTSTP => unsafe {
                libc::kill(pid, libc::SIGSTOP);
                libc::raise(libc::SIGSTOP);
                libc::kill(pid, libc::SIGCONT);
            },
            // SAFETY: a signal to the child
            s if s > 0 => unsafe {
                libc::kill(pid, s);
            },
            _ => {}
        }
    };
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = status.signal() {
        // die of it too, so the shell sees what the user did (Ctrl-C) or what happened; without a second core
        // dump where the child left one
        // SAFETY: the default action restored, then the signal unblocked and raised on this process
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0);
            libc::signal(signal, libc::SIG_DFL);
            let only = signal_set(&[signal]);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &only, std::ptr::null_mut());
            libc::raise(signal);
        }
        return Some(128 + signal);
    }
    status.code()
}

fn signal_set(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set; the signals are valid numbers
    unsafe {
        let mut set = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_cpu_group_is_found_in_either_cgroup_version() {
        let never = |_: &str| panic!("cgroup v1's cpu hierarchy decides alone");
        // cgroup v1 with the cpu controller: its path decides
        assert!(in_root_cpu_group("4:memory:/x\n2:cpu,cpuacct:/\n0::/\n", never));
        assert!(!in_root_cpu_group("2:cpu,cpuacct:/system.slice/nginx.service\n0::/\n", never));
        assert!(in_root_cpu_group("1:cpu:/\n0::/user.slice\n", never));
        // cgroup v2 alone: the process's cgroup decides, asked by its path
        let weighed = |path: &str| path != "/" && path != "/quiet";
        assert!(in_root_cpu_group("0::/\n", weighed));
        assert!(in_root_cpu_group("0::/quiet\n", weighed));
        assert!(!in_root_cpu_group("0::/user.slice/session-3.scope\n", weighed));
        // a container's private namespace calls its own cgroup `/`: what decides is whether it has a weight
        assert!(!in_root_cpu_group("0::/\n", |_: &str| true));
        // a `cpuset` hierarchy is not the cpu controller
        assert!(!in_root_cpu_group("3:cpuset:/\n0::/a\n", |_: &str| true));
        assert!(!in_root_cpu_group("", |_: &str| false));
    }

    #[test]
    fn a_cgroup_is_weighed_when_it_or_an_ancestor_has_a_cpu_weight() {
        let root = tempfile::tempdir().unwrap();
        let scope = root.path().join("user.slice/user-1000.slice/session-3.scope");
        std::fs::create_dir_all(&scope).unwrap();
        std::fs::create_dir_all(root.path().join("quiet")).unwrap();
        // the cpu controller off everywhere: the root's children are not weighed, nor is the root
        assert!(!weighed_under(root.path(), "/user.slice/user-1000.slice/session-3.scope"));
        assert!(!weighed_under(root.path(), "/"));
        // on for the root's children only: the scope is weighed through user.slice
        std::fs::write(root.path().join("user.slice/cpu.weight"), "100\n").unwrap();
        assert!(weighed_under(root.path(), "/user.slice/user-1000.slice/session-3.scope"));
        assert!(!weighed_under(root.path(), "/quiet"));
        // a path that is not there is taken to be weighed: the work stays in the process
        assert!(weighed_under(root.path(), "/no-such-cgroup-here"));
    }
}
