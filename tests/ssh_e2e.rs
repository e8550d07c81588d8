//! A real sshd (Debian's openssh-server, which `.ci/run` installs) on loopback, with its own config, host key, user
//! key and a high port, and the real `ssh` client with two host aliases for it: `gatewatch tail ssh://gw1,gw2/…`
//! labels lines by host, and a connection killed mid-stream resumes with every line exactly once — after a plain
//! drop, and after a rotation while the hosts were unreachable.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gatewatch"))
}

fn sshd() -> PathBuf {
    let p = PathBuf::from("/usr/sbin/sshd");
    assert!(p.exists(), "sshd is not installed: this end-to-end test needs it (`.ci/run` installs openssh-server)");
    p
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// sshd running until dropped, and a directory holding everything the client needs to reach it as `gw1`/`gw2`.
struct Sshd {
    child: Child,
    dir: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // the remote `tail`s of dropped connections end at their next write; end them now
        let _ = Command::new("pkill").args(["-f", &self.dir.display().to_string()]).status();
    }
}

impl Sshd {
    fn start(dir: &Path) -> Sshd {
        let d = dir.display();
        let user = run(Command::new("id").arg("-un")).trim().to_string();
        for key in ["host_key", "user_key"] {
            run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(dir.join(key)));
        }
        std::fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).unwrap();
        let host_pub = std::fs::read_to_string(dir.join("host_key.pub")).unwrap();
        std::fs::write(dir.join("known_hosts"), format!("gatewatch-test-sshd {host_pub}")).unwrap();
        if run(Command::new("id").arg("-u")).trim() == "0" {
            // sshd started by root separates privileges into this directory
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let port = free_port();
        std::fs::write(
            dir.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nPubkeyAuthentication yes\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n\
                 LogLevel ERROR\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("ssh_config"),
            format!(
                "Host gw1 gw2\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {d}/user_key\n  \
                 IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  HostKeyAlias gatewatch-test-sshd\n  \
                 StrictHostKeyChecking yes\n  LogLevel ERROR\n"
            ),
        )
        .unwrap();
        // ssh reads ~/.ssh/config from the account's home, whatever HOME says: the system client, given this
        // test's config, comes first on PATH
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let wrapper = dir.join("bin/ssh");
        std::fs::write(&wrapper, format!("#!/bin/sh\nexec /usr/bin/ssh -F {d}/ssh_config \"$@\"\n")).unwrap();
        run(Command::new("chmod").arg("+x").arg(&wrapper));
        let child = Command::new(sshd())
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "sshd did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        let sshd = Sshd { child, dir: dir.to_path_buf() };
        // the client and server agree before gatewatch is involved
        let hello = sshd.command("ssh").args(["gw1", "echo", "hello"]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&hello.stdout), "hello\n", "{}", String::from_utf8_lossy(&hello.stderr));
        sshd
    }

    /// `program` with this test's ssh first on PATH.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        let path = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{path}", self.dir.join("bin").display()));
        c
    }

    /// Drop every connection: the per-connection sshd processes are killed, as a network cut would end them.
    fn drop_connections(&self) {
        let status = Command::new("pkill").args(["-KILL", "-P", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success(), "no connection to drop");
    }
}

fn line(i: u32) -> String {
    format!(
        r#"10.0.0.{} - - [01/May/2024:12:{:02}:{:02} +0000] "GET /v1/orders/{i} HTTP/1.1" 200 12 "-" "curl/8" rid={i:032x} rt=0.010 urt="0.009" us="200" ua="10.0.0.7:8080""#,
        i % 250 + 1,
        i / 60 % 60,
        i % 60
    )
}

fn append(path: &Path, range: std::ops::Range<u32>) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    for i in range {
        writeln!(f, "{}", line(i)).unwrap();
    }
}

/// Records until `want` have arrived, or panic after 30 s.
fn collect(rx: &mpsc::Receiver<String>, got: &mut Vec<Value>, want: usize, err: &Mutex<String>) {
    let start = Instant::now();
    while got.len() < want {
        let left = Duration::from_secs(30).saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(l) => got.push(serde_json::from_str(&l).unwrap()),
            Err(_) => panic!("{} of {want} records arrived; stderr:\n{}", got.len(), err.lock().unwrap()),
        }
    }
}

/// Each host's request numbers, in the order they arrived.
fn per_host(recs: &[Value]) -> [Vec<u32>; 2] {
    ["gw1", "gw2"].map(|h| {
        recs.iter()
            .filter(|r| r["source"] == h)
            .map(|r| u32::from_str_radix(r["request_id"].as_str().unwrap(), 16).unwrap())
            .collect()
    })
}

#[test]
fn a_dropped_ssh_connection_resumes_with_every_line_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(dir.path());
    let log = dir.path().join("access.log");
    append(&log, 0..208);
    let mut child = sshd
        .command(bin())
        .args(["tail", "--json", "--restart", "--tail", "1000"])
        .arg(format!("ssh://gw1,gw2{}", log.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = Arc::new(Mutex::new(String::new()));
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let said = err.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            said.lock().unwrap().push_str(&(l + "\n"));
        }
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut recs = Vec::new();
    collect(&rx, &mut recs, 2 * 208, &err);
    assert_eq!(per_host(&recs), [(0..208).collect::<Vec<_>>(), (0..208).collect()], "the whole file from each host");

    // a cut while the hosts keep logging: what was written while away arrives once, nothing before it again
    sshd.drop_connections();
    append(&log, 208..213);
    collect(&rx, &mut recs, 2 * 213, &err);
    append(&log, 213..215);
    collect(&rx, &mut recs, 2 * 215, &err);

    // another cut, and the log rotates while the hosts are unreachable: the rest of the old file, then the new one
    sshd.drop_connections();
    append(&log, 215..217);
    std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, 217..220);
    collect(&rx, &mut recs, 2 * 220, &err);
    // anything more would be a line twice
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(1500)) {
        recs.push(serde_json::from_str(&l).unwrap());
    }
    let _ = child.kill();
    let _ = child.wait();
    let want: Vec<u32> = (0..220).collect();
    assert_eq!(per_host(&recs), [want.clone(), want], "every line exactly once, in order, from each host");
    assert_eq!(recs.len(), 440, "every line is labelled with its host");
    let said = err.lock().unwrap().clone();
    for host in ["gw1", "gw2"] {
        let back: Vec<&str> =
            said.lines().filter(|l| l.contains(&format!("`ssh {host}{}` back after", log.display()))).collect();
        assert_eq!(back.len(), 2, "{host}: each reconnect is reported: {said}");
        assert!(back[0].contains("resumed at byte"), "{said}");
        assert!(back[1].contains("rotated meanwhile"), "{said}");
    }
}
