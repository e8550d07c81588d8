//! Bulk work yields to the host: a running `report` is read from /proc — every thread in the idle CPU class
//! (`SCHED_IDLE`) at nice 10 and I/O best-effort 7 by default, in a session of its own whose group the kernel
//! weighs lowest, as any process with `--priority normal`; and it stops, goes on and ends with the command.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The fields of a `/proc/…/stat` after the command's closing parenthesis: the state first (field 3), then the
/// parent (4), …, the session (6), …, nice (19), …, the scheduling policy (41).
fn after_command(stat: &str) -> Vec<&str> {
    stat[stat.rfind(')').unwrap() + 2..].split(' ').collect()
}

/// (nice, I/O priority, scheduling policy) of each thread of `pid`.
fn priorities(pid: u32) -> Vec<(i64, i64, i64)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap().file_name().to_string_lossy().parse::<i32>().unwrap();
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/task/{task}/stat")) else { continue };
        let fields = after_command(&stat);
        let nice: i64 = fields[16].parse().unwrap();
        let policy: i64 = fields[38].parse().unwrap();
        // SAFETY: a read-only system call; IOPRIO_WHO_PROCESS (1) names a thread by its id
        let io = unsafe { libc::syscall(libc::SYS_ioprio_get, 1, task) };
        out.push((nice, io, policy));
    }
    out
}

fn own_nice() -> i64 {
    after_command(&std::fs::read_to_string("/proc/self/stat").unwrap())[16].parse().unwrap()
}

/// A `report` on standard input that stays open: the process started, and the process doing the work (a child
/// in a session of its own where the kernel weighs sessions against each other, else the same).
struct Running {
    command: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    worker: u32,
}

const LINE: &str = "10.0.0.1 - - [01/May/2024:12:00:00 +0000] \"GET /x HTTP/1.1\" 200 12 \"-\" \"curl/8\"\n";

/// Start `command` with `signal`'s action set to `action` (`SIG_DFL`, `SIG_IGN`), as its parent may leave it.
fn started_with(command: &mut Command, signal: i32, action: libc::sighandler_t) {
    use std::os::unix::process::CommandExt;
    // SAFETY: one async-signal-safe call between fork and exec
    unsafe {
        command.pre_exec(move || {
            libc::signal(signal, action);
            Ok(())
        })
    };
}

/// Start `report`, feed it more than a block so the scan's workers are at work, and wait for its threads.
fn start_report(extra: &[&str]) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatewatch"));
    command
        .args(["report", "--json", "--threads", "2"])
        .args(extra)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // as a terminal's foreground command has it, whatever this test was started with
    started_with(&mut command, libc::SIGINT, libc::SIG_DFL);
    let mut running = Running { command: command.spawn().unwrap(), stdin: None, worker: 0 };
    let mut stdin = running.command.stdin.take().unwrap();
    stdin.write_all(LINE.repeat(40_000).as_bytes()).unwrap();
    running.stdin = Some(stdin);
    running.worker = worker(running.command.id());
    running
}

/// The process of `pid`'s command doing the work, once its scan's threads have started (at most 10 s).
fn worker(pid: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        let worker = children.split_whitespace().next().map_or(pid, |c| c.parse().unwrap());
        let threads = std::fs::read_dir(format!("/proc/{worker}/task")).map_or(0, |d| d.count());
        if threads >= 3 || Instant::now() > deadline {
            return worker;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Running {
    /// Close standard input and read the report.
    fn finish(mut self) -> serde_json::Value {
        drop(self.stdin.take());
        let mut out = Vec::new();
        std::io::Read::read_to_end(self.command.stdout.as_mut().unwrap(), &mut out).unwrap();
        let status = self.command.wait().unwrap();
        assert!(status.success(), "{status:?}");
        serde_json::from_slice(&out).unwrap()
    }

    fn signal(&self, signal: i32) {
        // SAFETY: a signal to a child of this process
        assert_eq!(unsafe { libc::kill(self.command.id() as i32, signal) }, 0);
    }
}

impl Drop for Running {
    /// No report is left running, whatever the test found.
    fn drop(&mut self) {
        let _ = self.command.kill();
        let _ = self.command.wait();
    }
}

/// The state letter (`R`, `S`, `T`, `Z`, …) of each thread of `pid`; none once it is gone.
fn states(pid: u32) -> Vec<char> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("stat")).ok())
        .filter_map(|stat| after_command(&stat)[0].chars().next())
        .collect()
}

/// Wait (at most 10 s) until every thread of `pid` is in a state `wanted` accepts.
fn wait_for(pid: u32, what: &str, wanted: impl Fn(&[char]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !wanted(&states(pid)) {
        assert!(Instant::now() < deadline, "{pid} not {what}: {:?}", states(pid));
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn gone(states: &[char]) -> bool {
    states.iter().all(|&s| s == 'Z' || s == 'X')
}

fn session(pid: u32) -> i64 {
    after_command(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap())[3].parse().unwrap()
}

#[test]
fn report_runs_at_low_priority_unless_told() {
    let base = own_nice();
    let own_group = std::fs::read_to_string("/proc/self/autogroup").ok();
    let running = start_report(&[]);
    let (pid, worker) = (running.command.id(), running.worker);
    let low = priorities(worker);
    let group = std::fs::read_to_string(format!("/proc/{worker}/autogroup")).ok();
    let leader = session(worker);
    assert_eq!(running.finish()["status"]["200"], 40_000);
    assert!(low.len() >= 3, "the scan's threads are running: {low:?}");
    let be7 = (2 << 13) | 7;
    let idle = libc::SCHED_IDLE as i64;
    assert!(
        low.iter().all(|&(nice, io, policy)| nice == (base + 10).min(19) && io == be7 && policy == idle),
        "{low:?}"
    );
    if gatewatch::bulk_session::groups_by_session() {
        // the work in a session of its own, whose group the kernel weighs lowest; the caller's group as it was
        assert_ne!(worker, pid, "the work runs in a child");
        assert_eq!(leader, worker as i64, "the child leads a session of its own");
        assert!(group.as_deref().is_some_and(|g| g.trim_end().ends_with(" nice 19")), "{group:?}");
        assert_eq!(std::fs::read_to_string("/proc/self/autogroup").ok(), own_group);
    } else {
        assert_eq!(worker, pid, "no session of its own where the kernel does not weigh sessions");
    }

    let running = start_report(&["--priority", "normal"]);
    let (pid, worker) = (running.command.id(), running.worker);
    let normal = priorities(worker);
    assert_eq!(running.finish()["status"]["200"], 40_000);
    assert_eq!(worker, pid, "no child with --priority normal");
    assert!(normal.iter().all(|&(nice, io, policy)| nice == base && io != be7 && policy != idle), "{normal:?}");
}

#[test]
fn the_work_stops_goes_on_and_ends_with_the_command_the_shell_started() {
    // Ctrl-Z and `fg`: the shell stops and continues the command it started, and the work with it
    let running = start_report(&[]);
    running.signal(libc::SIGTSTP);
    wait_for(running.worker, "stopped", |s| !s.is_empty() && s.iter().all(|&c| c == 'T'));
    running.signal(libc::SIGCONT);
    wait_for(running.worker, "going on", |s| !s.is_empty() && s.iter().all(|&c| c != 'T'));
    assert_eq!(running.finish()["status"]["200"], 40_000, "the whole input reported after the pause");

    // stopped by the shell, a hang-up or the user: the work ends, and the command dies of the same signal
    for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT] {
        let mut running = start_report(&[]);
        running.signal(signal);
        let status = running.command.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(signal), "{status:?}");
        wait_for(running.worker, "gone", gone);
    }

    // killed outright: the work ends too, even while stopped (Ctrl-Z, then `kill -9 %1`)
    for stopped in [false, true] {
        let mut running = start_report(&[]);
        if stopped {
            running.signal(libc::SIGTSTP);
            wait_for(running.worker, "stopped", |s| !s.is_empty() && s.iter().all(|&c| c == 'T'));
        }
        running.command.kill().unwrap();
        running.command.wait().unwrap();
        wait_for(running.worker, "gone", gone);
    }
}

#[test]
fn the_command_exits_as_the_work_did_even_started_with_child_signals_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, LINE.replace(" 200 ", " 503 ").repeat(50)).unwrap();
    let missing = dir.path().join("missing.log");
    for ignored in [false, true] {
        let run = |priority: &str, file: &std::path::Path| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_gatewatch"));
            command.args(["report", "--json", "--priority", priority]).arg(file);
            if ignored {
                // as some wrappers leave it: the kernel would reap the child unseen
                started_with(&mut command, libc::SIGCHLD, libc::SIG_IGN);
            }
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || tx.send(command.output().unwrap()));
            rx.recv_timeout(Duration::from_secs(30)).expect("the command ends")
        };
        let (low, normal) = (run("low", &log), run("normal", &log));
        assert!(low.status.success(), "{ignored}: {low:?}");
        assert_eq!(low.stdout, normal.stdout, "{ignored}: the same report either way");
        let report: serde_json::Value = serde_json::from_slice(&low.stdout).unwrap();
        assert_eq!(report["status"]["503"], 50);
        let (low, normal) = (run("low", &missing), run("normal", &missing));
        assert_eq!(low.status.code(), normal.status.code(), "{ignored}: the exit code passed on");
        assert_ne!(low.status.code(), Some(0));
        assert_eq!(low.stderr, normal.stderr, "{ignored}: the same message");
    }
}

#[test]
fn a_pipe_named_on_the_command_line_is_reported_at_either_priority() {
    // as `report <(zcat access.log.2.gz)` gives it: a path that is a pipe, read as a stream, never at offsets
    let dir = tempfile::tempdir().unwrap();
    let line = "10.0.0.1 - - [01/May/2024:12:00:00 +0000] \"GET /x HTTP/1.1\" 503 12 \"-\" \"curl/8\"\n";
    for priority in ["low", "normal"] {
        let fifo = dir.path().join(format!("pipe-{priority}"));
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let (path, text) = (fifo.clone(), line.repeat(30_000));
        let writer = std::thread::spawn(move || std::fs::write(path, text).unwrap());
        let out = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
            .args(["report", "--json", "--priority", priority, fifo.to_str().unwrap()])
            .output()
            .unwrap();
        writer.join().unwrap();
        assert!(out.status.success(), "{priority}: {}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["status"]["503"], 30_000, "{priority}");
    }
}
