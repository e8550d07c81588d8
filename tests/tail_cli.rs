//! `gatewatch tail` end to end: the real binary following stdin, commands, a stand-in `ssh`, and files that
//! really rotate while it runs.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(20);

fn bin() -> String {
    env!("CARGO_BIN_EXE_gatewatch").to_string()
}

fn nginx_line(i: u32, status: u16) -> String {
    format!(
        r#"10.0.0.{} - - [01/May/2024:12:00:{:02} +0000] "GET /v1/orders/{i} HTTP/1.1" {status} 12 "-" "curl/8" rid={:032x} rt=0.010 urt="0.009" us="{status}" ua="10.0.0.7:8080""#,
        i % 250 + 1,
        i % 60,
        i
    )
}

/// Reads the child's stdout on a thread, so the test can wait with a deadline.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Collect JSON records until `want` have arrived (or fail at the deadline).
fn collect(rx: &mpsc::Receiver<String>, want: usize) -> Vec<Value> {
    let start = Instant::now();
    let mut got = Vec::new();
    while got.len() < want {
        let left = DEADLINE.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(l) => got.push(serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}"))),
            Err(_) => panic!("only {} of {want} records arrived: last {:?}", got.len(), got.last()),
        }
    }
    got
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn stdin_every_line_once_with_line_numbers() {
    let mut child = Command::new(bin())
        .args(["tail", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for i in 0..500 {
        input.push_str(&nginx_line(i, if i % 10 == 0 { 502 } else { 200 }));
        input.push('\n');
    }
    input.push_str("not a log line\n");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let recs: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(recs.len(), 501);
    for (i, r) in recs.iter().take(500).enumerate() {
        assert_eq!(r["line"], i as u64 + 1);
        assert_eq!(r["source"], "-");
        assert_eq!(r["format"], "nginx");
        assert_eq!(r["request_id"], format!("{i:032x}"));
        assert_eq!(r["status"], if i % 10 == 0 { 502 } else { 200 });
        assert_eq!(r["latency_ms"], 10.0);
    }
    assert_eq!(recs[500]["parsed"], false);
    assert_eq!(recs[500]["raw"], "not a log line");
    assert!(String::from_utf8_lossy(&out.stderr).contains("end of input"));
}

#[test]
fn filter_keeps_only_matching_records() {
    let mut input = String::new();
    for i in 0..300 {
        input.push_str(&nginx_line(i, [200, 502, 429][i as usize % 3]));
        input.push('\n');
    }
    let out = Command::new(bin())
        .args(["tail", "--json", "--filter", "status>=500 or status=429 and path~/v1/orders/1", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(input.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let recs: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let want = (0..300u32)
        .filter(|i| i % 3 == 1 || (i % 3 == 2 && format!("/v1/orders/{i}").contains("/v1/orders/1")))
        .count();
    assert_eq!(recs.len(), want);
    assert!(recs.iter().all(|r| r["status"] == 502 || r["status"] == 429));
    let bad = Command::new(bin()).args(["tail", "--filter", "status>>5", "-"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid --filter"));
}

#[test]
fn command_output_stderr_and_exit_status() {
    let script = "for i in 1 2 3; do echo \"10.0.0.1 - - [01/May/2024:12:00:0$i +0000] \\\"GET /c/$i HTTP/1.1\\\" 200 1 \\\"-\\\" \\\"x\\\"\"; done; echo 'oops: warning' >&2; exit 3";
    let out = Command::new(bin()).args(["tail", "--json", "--cmd", script]).output().unwrap();
    assert!(out.status.success());
    let recs: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(recs.iter().map(|r| r["path"].as_str().unwrap()).collect::<Vec<_>>(), ["/c/1", "/c/2", "/c/3"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("oops: warning"), "{err}");
    assert!(err.contains("exited with status 3"), "{err}");
}

/// A stand-in `ssh` on PATH: records its arguments, then runs the remote command locally.
fn fake_ssh(dir: &Path) {
    let script = dir.join("ssh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"{}/ssh-args.$$\"\nwhile [ \"$1\" != \"--\" ]; do shift; done\nshift\nexec sh -c \"$*\"\n",
            dir.display()
        ),
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&script).status().unwrap();
}

/// A log of `n` nginx lines named `file` in `dir`, and `tail --json --tail K` on the `ssh://` sources `urls` makes
/// of its path, with the stand-in ssh first on PATH.
fn tail_over_fake_ssh(
    dir: &Path,
    file: &str,
    n: u32,
    tail: &str,
    urls: impl Fn(&Path) -> Vec<String>,
) -> (PathBuf, Child) {
    fake_ssh(dir);
    let log = dir.join(file);
    let lines: Vec<String> = (0..n).map(|i| nginx_line(i, 200)).collect();
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let path = std::env::var("PATH").unwrap();
    let child = Command::new(bin())
        .args(["tail", "--json", "--tail", tail])
        .args(urls(&log))
        .env("PATH", format!("{}:{path}", dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (log, child)
}

#[test]
fn ssh_sources_run_the_system_ssh_with_tail_and_label_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut child) = tail_over_fake_ssh(dir.path(), "access log.txt", 20, "5", |log| {
        vec![format!("ssh://ops@gw1:2222{}", log.display()), format!("ssh://gw2{}", log.display())]
    });
    let rx = lines_of(&mut child);
    let recs = collect(&rx, 10);
    stop(child);
    for host in ["gw1", "gw2"] {
        let ids: Vec<&str> =
            recs.iter().filter(|r| r["source"] == host).map(|r| r["request_id"].as_str().unwrap()).collect();
        let want: Vec<String> = (15..20).map(|i| format!("{i:032x}")).collect();
        assert_eq!(ids, want, "{host}: the last 5 lines, in order");
    }
    let args = ssh_args(dir.path());
    // the remote side gets a POSIX script, with how many lines and the path as quoted words
    let remote = format!("' gatewatch '5' '{}' '@gatewatch-", log.display());
    let ran = |prefix: &str| args.iter().any(|a| a.starts_with(prefix) && a.contains(&remote));
    assert!(ran("-p\n2222\n-o\nBatchMode=yes\nops@gw1\n--\nsh -c '"), "{args:?}");
    assert!(ran("-o\nBatchMode=yes\ngw2\n--\nsh -c '"), "{args:?}");
}

/// The ssh arguments the stand-in recorded, one string per run (arguments one per line), sorted.
fn ssh_args(dir: &Path) -> Vec<String> {
    let mut args: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("ssh-args"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    args.sort();
    args
}

#[test]
fn several_hosts_in_one_ssh_url_are_one_source_with_lines_labelled_by_host() {
    let dir = tempfile::tempdir().unwrap();
    let (log, mut child) = tail_over_fake_ssh(dir.path(), "access.log", 30, "8", |log| {
        vec![format!("ssh://ops@gw1,gw2:2222{}", log.display())]
    });
    let rx = lines_of(&mut child);
    let mut recs = collect(&rx, 16);
    // anything more would be a line twice
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
        recs.push(serde_json::from_str(&l).unwrap());
    }
    stop(child);
    let want: Vec<String> = (22..30).map(|i| format!("{i:032x}")).collect();
    for host in ["gw1", "gw2"] {
        let mine: Vec<&Value> = recs.iter().filter(|r| r["source"] == host).collect();
        let ids: Vec<&str> = mine.iter().map(|r| r["request_id"].as_str().unwrap()).collect();
        assert_eq!(ids, want, "{host}: the last 8 lines, each once, in order");
        let numbers: Vec<u64> = mine.iter().map(|r| r["line"].as_u64().unwrap()).collect();
        assert_eq!(numbers, (1..=8).collect::<Vec<u64>>(), "{host}: numbered on their own");
    }
    assert_eq!(recs.len(), 16, "every line is labelled with its host: {recs:?}");
    let args = ssh_args(dir.path());
    let hosts: Vec<&str> = args.iter().map(|a| a.split("\n--\n").next().unwrap()).collect();
    assert_eq!(
        hosts,
        ["-p\n2222\n-o\nBatchMode=yes\nops@gw1", "-p\n2222\n-o\nBatchMode=yes\nops@gw2"],
        "one ssh per host, with the shared user and port"
    );
    assert!(args.iter().all(|a| a.contains(&format!("' gatewatch '8' '{}' ", log.display()))), "{args:?}");
    // an empty host in the list is a usage error, before anything runs
    let bad = Command::new(bin()).args(["tail", "ssh://gw1,,gw2/var/log/x.log"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid host"), "{}", String::from_utf8_lossy(&bad.stderr));
}

#[test]
fn follows_a_file_through_rotation_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, "").unwrap();
    let mut child = Command::new(bin())
        .args(["tail", "--json", "--format", "nginx", "--poll-ms", "50"])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    let mut next = 0u32;
    let mut write = |n: u32, path: &Path| {
        let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
        for _ in 0..n {
            writeln!(f, "{}", nginx_line(next, 200)).unwrap();
            next += 1;
        }
    };
    write(100, &log);
    let mut got = collect(&rx, 100);
    // rename + create, with late lines written to the old file after the rename
    let old = dir.path().join("access.log.1");
    std::fs::rename(&log, &old).unwrap();
    write(20, &old);
    write(100, &log);
    got.extend(collect(&rx, 120));
    // copytruncate
    std::fs::copy(&log, dir.path().join("access.log.2")).unwrap();
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    write(100, &log);
    got.extend(collect(&rx, 100));
    stop(child);
    let ids: Vec<String> = got.iter().map(|r| r["request_id"].as_str().unwrap().to_string()).collect();
    let want: Vec<String> = (0..next).map(|i| format!("{i:032x}")).collect();
    assert_eq!(ids, want, "every line once, in order");
}

#[test]
fn interrupt_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    std::fs::write(&log, nginx_line(1, 200) + "\n").unwrap();
    let mut child = Command::new(bin())
        .args(["tail", "--json"])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    collect(&rx, 1);
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(start.elapsed() < DEADLINE, "did not exit on SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Permission denied, then fixed: the binary says so on stderr, keeps retrying, and reads the file once it may.
/// Root reads anything, so as root the binary runs as `nobody` (through `setpriv`), as a real user would.
#[test]
fn unreadable_file_is_reported_and_picked_up_when_fixed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.path().join("locked.log");
    std::fs::write(&log, (0..3).map(|i| nginx_line(i, 200) + "\n").collect::<String>()).unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o000)).unwrap();
    let is_root = Command::new("id").arg("-u").output().unwrap().stdout.starts_with(b"0");
    let mut cmd = if is_root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]).arg(bin());
        c
    } else {
        Command::new(bin())
    };
    let mut child = cmd
        .args(["tail", "--json", "--poll-ms", "50"])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (etx, erx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = etx.send(l);
        }
    });
    let said = erx.recv_timeout(DEADLINE).expect("an event about the unreadable file");
    assert!(said.contains("locked.log") && said.contains("ermission denied") && said.contains("retrying"), "{said}");
    let rx = lines_of(&mut child);
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "nothing can be read yet");
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    let recs = collect(&rx, 3);
    stop(child);
    let ids: Vec<&str> = recs.iter().map(|r| r["request_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [format!("{:032x}", 0), format!("{:032x}", 1), format!("{:032x}", 2)]);
}

#[test]
fn restart_runs_the_command_again_after_it_exits() {
    let mut child = Command::new(bin())
        .args(["tail", "--json", "--restart", "--cmd"])
        .arg(r#"echo '10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /again HTTP/1.1" 503 1 "-" "x"'; exit 7"#)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let rx = lines_of(&mut child);
    let recs = collect(&rx, 2);
    stop(child);
    assert!(recs.iter().all(|r| r["path"] == "/again" && r["status"] == 503));
    // line numbers go on across runs: one source, one numbering
    assert_eq!((recs[0]["line"].as_u64(), recs[1]["line"].as_u64()), (Some(1), Some(2)));
    let said: Vec<String> = BufReader::new(err).lines().map_while(Result::ok).collect();
    assert!(said.iter().any(|l| l.contains("exited with status 7; restarting in 1.0s")), "{said:?}");
}
