//! Bulk work yields to the host: a running `report` is read from /proc — every thread in the idle CPU class
//! (`SCHED_IDLE`) at nice 10 and I/O best-effort 7 by default, as any process with `--priority normal`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// (nice, I/O priority, scheduling policy) of each thread of `pid`.
fn priorities(pid: u32) -> Vec<(i64, i64, i64)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap().file_name().to_string_lossy().parse::<i32>().unwrap();
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/task/{task}/stat")) else { continue };
        // the fields after the command's closing parenthesis: state is field 3, nice field 19, policy field 41
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let nice: i64 = fields[16].parse().unwrap();
        let policy: i64 = fields[38].parse().unwrap();
        // SAFETY: a read-only system call; IOPRIO_WHO_PROCESS (1) names a thread by its id
        let io = unsafe { libc::syscall(libc::SYS_ioprio_get, 1, task) };
        out.push((nice, io, policy));
    }
    out
}

fn own_nice() -> i64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    stat[stat.rfind(')').unwrap() + 2..].split(' ').nth(16).unwrap().parse().unwrap()
}

/// Start `report` on standard input that stays open, let it start its threads, and read their priorities.
fn running_report(extra: &[&str]) -> Vec<(i64, i64, i64)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args(["report", "--json", "--threads", "2"])
        .args(extra)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let line = "10.0.0.1 - - [01/May/2024:12:00:00 +0000] \"GET /x HTTP/1.1\" 200 12 \"-\" \"curl/8\"\n";
    // more than a block, so the scan's workers are at work
    stdin.write_all(line.repeat(40_000).as_bytes()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = priorities(child.id());
    while seen.len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        seen = priorities(child.id());
    }
    drop(stdin);
    child.wait().unwrap();
    seen
}

#[test]
fn report_runs_at_low_priority_unless_told() {
    let base = own_nice();
    let low = running_report(&[]);
    assert!(low.len() >= 3, "the scan's threads are running: {low:?}");
    let be7 = (2 << 13) | 7;
    let idle = libc::SCHED_IDLE as i64;
    assert!(
        low.iter().all(|&(nice, io, policy)| nice == (base + 10).min(19) && io == be7 && policy == idle),
        "{low:?}"
    );
    let normal = running_report(&["--priority", "normal"]);
    assert!(normal.iter().all(|&(nice, io, policy)| nice == base && io != be7 && policy != idle), "{normal:?}");
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
