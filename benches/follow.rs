//! The live file follower under load, against `tail -F` (GNU coreutils) measured in the same run.
//!
//! A writer in a separate process (this binary run with `--writer`, so the follower's CPU time is the follower's
//! process alone) appends nginx access-log lines (~220 bytes) at a fixed rate — in bursts every 1 ms, sleeping until
//! the next tick — and rotates the file every N lines. Each line ends with ` seq=<10 digits> ts=<19 digits>`: its
//! sequence number and the writer's wall-clock time (CLOCK_REALTIME, ns) just before the write. The receiver checks
//! the whole sequence (no loss, no duplicate, in order) and computes append-to-receive latency per line.
//!
//! 1. Latency and CPU at 10k and 100k lines/s for a few seconds each, rename+create rotation every
//!    [`LATENCY_EVERY`] lines, default options (inotify + 250 ms polling). CPU is the follower process's on-CPU time
//!    (`/proc/<pid>/task/*/schedstat`, i.e. user+sys at ns resolution) over the wall time from the writer's start to
//!    the last line received, as % of one core; for gatewatch the bench's own threads (checker, control) are left
//!    out, for `tail -F` it is the tail process (its reader is in this process).
//! 2. Correctness: 100 rotations of each kind (rename+create, copytruncate, delete+recreate) at [`ROT_RATE`] lines/s.
//!    As the follower documents: after a rename or unlink the writer appends a few more lines to the old file, then
//!    creates the new one; for copytruncate the writer (O_APPEND) copies and truncates itself while not writing,
//!    after the receiver has confirmed it has every line written so far (lines written between the last read and a
//!    truncation are lost by any tool: that is copytruncate's window, not what is measured here).
//!
//! Exits non-zero if any gatewatch run loses, duplicates or reorders a line. `tail -F` rows are a baseline only.
//!
//! `cargo bench --bench follow`

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gatewatch::source::file::{FollowOptions, StartAt, follow_file};
use gatewatch::source::{SourceEvent, SourceMsg};

/// Rates of the latency runs, lines per second.
const RATES: [u64; 2] = [10_000, 100_000];
/// Length of each latency run.
const LATENCY_SECS: u64 = 3;
/// Rotation (rename+create) every this many lines during the latency runs.
const LATENCY_EVERY: u64 = 10_000;
/// Rotations of each kind in the correctness runs.
const ROTATIONS: u64 = 100;
/// Lines per file in the correctness runs.
const ROT_EVERY: u64 = 1_000;
/// Rate of the correctness runs: a rotation every 50 ms.
const ROT_RATE: u64 = 20_000;
/// Lines the writer appends to the old file after a rename or unlink, before creating the new one.
const AFTER_ROTATE: u64 = 5;
/// Give up waiting for lines after this long without progress.
const QUIET: Duration = Duration::from_secs(2);
/// After the last expected line, wait this long for duplicates.
const SETTLE: Duration = Duration::from_millis(300);
/// Bytes of the line suffix ` seq=0000000000 ts=0000000000000000000`.
const SUFFIX: usize = 5 + 10 + 4 + 19;
/// Channel capacity between follower and consumer (as in `gatewatch tail`).
const CHANNEL: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Rename,
    CopyTruncate,
    Delete,
}

impl Kind {
    fn arg(self) -> &'static str {
        match self {
            Kind::Rename => "rename",
            Kind::CopyTruncate => "copytruncate",
            Kind::Delete => "delete",
        }
    }
    fn from_arg(s: &str) -> Kind {
        match s {
            "rename" => Kind::Rename,
            "copytruncate" => Kind::CopyTruncate,
            "delete" => Kind::Delete,
            _ => panic!("unknown rotation kind {s}"),
        }
    }
    fn label(self) -> &'static str {
        match self {
            Kind::Rename => "rename+create",
            Kind::CopyTruncate => "copytruncate",
            Kind::Delete => "delete+recreate",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    Gatewatch,
    Tail,
}

impl Tool {
    fn label(self) -> &'static str {
        match self {
            Tool::Gatewatch => "gatewatch",
            Tool::Tail => "tail -F",
        }
    }
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

// ---------------------------------------------------------------------------------------------------------------
// Writer process
// ---------------------------------------------------------------------------------------------------------------

/// nginx "combined" lines with a few extra fields, varied by a xorshift generator.
struct LineGen {
    rng: u64,
    sec: u64,
    stamp: String,
}

const PATHS: [&str; 8] = [
    "/api/v1/orders",
    "/api/v1/orders/{}",
    "/api/v2/users/{}/profile",
    "/api/v1/payments/{}/capture",
    "/api/v1/catalog/search?q=shoes&page={}",
    "/healthz",
    "/api/v2/carts/{}/items",
    "/static/js/app.{}.js",
];
const METHODS: [&str; 4] = ["GET", "GET", "POST", "PUT"];
const STATUSES: [u16; 8] = [200, 200, 200, 201, 304, 404, 502, 504];
const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15",
    "okhttp/4.12.0",
    "Go-http-client/1.1",
];

impl LineGen {
    fn new() -> LineGen {
        LineGen { rng: 0x9e37_79b9_7f4a_7c15, sec: u64::MAX, stamp: String::new() }
    }

    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn push(&mut self, out: &mut Vec<u8>, seq: u64, ts: u64) {
        let sec = ts / 1_000_000_000;
        if sec != self.sec {
            self.sec = sec;
            self.stamp = jiff::Timestamp::from_second(sec as i64)
                .map(|t| t.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string())
                .unwrap_or_default();
        }
        let r = self.next();
        let path = PATHS[(r % 8) as usize].replace("{}", &(r >> 40).to_string());
        let _ = writeln!(
            out,
            "10.{}.{}.{} - - [{}] \"{} {} HTTP/1.1\" {} {} \"-\" \"{}\" rt={}.{:03} seq={seq:010} ts={ts:019}",
            (r >> 8) & 0xff,
            (r >> 16) & 0xff,
            (r >> 24) & 0xff,
            self.stamp,
            METHODS[((r >> 3) % 4) as usize],
            path,
            STATUSES[((r >> 5) % 8) as usize],
            (r >> 12) % 20_000,
            AGENTS[((r >> 9) % 4) as usize],
            (r >> 30) % 2,
            (r >> 20) % 1000,
        );
    }
}

fn open_append(path: &Path) -> File {
    OpenOptions::new().create(true).append(true).open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `--writer PATH KIND RATE TOTAL EVERY`: writes TOTAL lines at RATE lines/s, rotating every EVERY lines. Prints
/// `sync N` and waits for a line on stdin before a copytruncate (N lines written so far), and at the end
/// `done ROTATIONS ELAPSED_NS`.
fn writer(args: &[String]) {
    let [path, kind, rate, total, every] = args else { panic!("usage: --writer PATH KIND RATE TOTAL EVERY") };
    let path = PathBuf::from(path);
    let kind = Kind::from_arg(kind);
    let (rate, total, every): (u64, u64, u64) = (rate.parse().unwrap(), total.parse().unwrap(), every.parse().unwrap());
    let rotated = PathBuf::from(format!("{}.1", path.display()));
    let mut stdout = io::stdout().lock();
    let mut stdin = io::stdin().lock();
    let mut file = open_append(&path);
    let mut lines = LineGen::new();
    let mut buf = Vec::with_capacity(1 << 20);
    let mut seq = 0u64;
    let mut rotations = 0u64;
    // After a rename or unlink: the line after which the new file is created.
    let mut switch_after: Option<u64> = None;
    let start = Instant::now();
    while seq < total {
        let elapsed = start.elapsed();
        let due = (elapsed.as_nanos() * u128::from(rate) / 1_000_000_000).min(u128::from(total)) as u64;
        while seq < due {
            if seq > 0 && seq.is_multiple_of(every) {
                file.write_all(&buf).unwrap();
                buf.clear();
                rotations += 1;
                match kind {
                    Kind::Rename => {
                        fs::rename(&path, &rotated).unwrap();
                        switch_after = Some(seq + AFTER_ROTATE - 1);
                    }
                    Kind::Delete => {
                        fs::remove_file(&path).unwrap();
                        switch_after = Some(seq + AFTER_ROTATE - 1);
                    }
                    Kind::CopyTruncate => {
                        writeln!(stdout, "sync {seq}").unwrap();
                        stdout.flush().unwrap();
                        let mut go = String::new();
                        stdin.read_line(&mut go).unwrap();
                        fs::copy(&path, &rotated).unwrap();
                        file.set_len(0).unwrap();
                    }
                }
            }
            lines.push(&mut buf, seq, now_ns());
            if switch_after == Some(seq) {
                file.write_all(&buf).unwrap();
                buf.clear();
                file = open_append(&path);
                switch_after = None;
            }
            seq += 1;
        }
        if !buf.is_empty() {
            file.write_all(&buf).unwrap();
            buf.clear();
        }
        if seq < total {
            let next = Duration::from_millis(start.elapsed().as_millis() as u64 + 1);
            thread::sleep(next.saturating_sub(start.elapsed()));
        }
    }
    writeln!(stdout, "done {rotations} {}", start.elapsed().as_nanos()).unwrap();
    stdout.flush().unwrap();
}

// ---------------------------------------------------------------------------------------------------------------
// Receiving side
// ---------------------------------------------------------------------------------------------------------------

/// Shared between the checker and the controlling thread.
#[derive(Default)]
struct Progress {
    /// Distinct valid lines received.
    unique: AtomicU64,
    /// A warm-up line came through: the follower is ready.
    warm: AtomicBool,
}

/// Checks every received line and records latencies.
struct Checker {
    total: u64,
    seen: Vec<u64>,
    last: Option<u64>,
    received: u64,
    unique: u64,
    dup: u64,
    backwards: u64,
    bad: u64,
    /// Append-to-receive latency per line, ns.
    latency: Vec<u64>,
    bytes: u64,
    /// Rotations or truncations the follower reported (gatewatch only).
    events: u64,
    /// Protocol errors (batch not ending in `\n`).
    protocol: u64,
    progress: Arc<Progress>,
}

impl Checker {
    fn new(total: u64, progress: Arc<Progress>) -> Checker {
        Checker {
            total,
            seen: vec![0; total.div_ceil(64) as usize],
            last: None,
            received: 0,
            unique: 0,
            dup: 0,
            backwards: 0,
            bad: 0,
            latency: Vec::with_capacity(total as usize),
            bytes: 0,
            events: 0,
            protocol: 0,
            progress,
        }
    }

    /// Whole lines received at `now`.
    fn lines(&mut self, data: &[u8], now: u64) {
        for line in data.split(|&b| b == b'\n') {
            if !line.is_empty() {
                self.line(line, now);
            }
        }
        self.progress.unique.store(self.unique, Ordering::Release);
    }

    fn line(&mut self, line: &[u8], now: u64) {
        if line == b"warmup" {
            self.progress.warm.store(true, Ordering::Release);
            return;
        }
        let Some((seq, ts)) = parse_suffix(line).filter(|&(seq, _)| seq < self.total) else {
            self.bad += 1;
            return;
        };
        self.received += 1;
        self.bytes += line.len() as u64 + 1;
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if self.seen[word] & bit != 0 {
            self.dup += 1;
        } else {
            self.seen[word] |= bit;
            self.unique += 1;
        }
        if self.last.is_some_and(|l| seq <= l) {
            self.backwards += 1;
        }
        self.last = Some(seq);
        self.latency.push(now.saturating_sub(ts));
    }
}

fn digits(s: &[u8]) -> Option<u64> {
    s.iter().try_fold(0u64, |n, &b| b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0')))
}

/// `(seq, ts)` from the end of a line.
fn parse_suffix(line: &[u8]) -> Option<(u64, u64)> {
    let s = line.get(line.len().checked_sub(SUFFIX)?..)?;
    if &s[..5] != b" seq=" || &s[15..19] != b" ts=" {
        return None;
    }
    Some((digits(&s[5..15])?, digits(&s[19..])?))
}

/// On-CPU time (ns) per thread of a process, from `/proc/PID/task/*/schedstat`, leaving out the bench's own threads
/// (the main thread and threads named `bench-*`) when `own`.
fn cpu_by_thread(pid: u32, own: bool) -> HashMap<u32, u64> {
    let mut out = HashMap::new();
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else { return out };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if own {
            let comm = fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            if tid == pid || comm.starts_with("bench-") {
                continue;
            }
        }
        let ns = fs::read_to_string(e.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse().ok()))
            .unwrap_or_else(|| stat_ns(&e.path().join("stat")));
        out.insert(tid, ns);
    }
    out
}

/// utime + stime from a `stat` file, in ns (fallback where schedstat is missing; USER_HZ is 100).
fn stat_ns(path: &Path) -> u64 {
    let s = fs::read_to_string(path).unwrap_or_default();
    let after = s.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<u64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0)).collect();
    (f.get(11).unwrap_or(&0) + f.get(12).unwrap_or(&0)) * 10_000_000
}

/// CPU used between two samples by threads alive at the second.
fn cpu_delta(before: &HashMap<u32, u64>, after: &HashMap<u32, u64>) -> u64 {
    after.iter().map(|(tid, ns)| ns.saturating_sub(*before.get(tid).unwrap_or(&0))).sum()
}

/// A running follower feeding a checker.
enum Follower {
    Gatewatch {
        runtime: tokio::runtime::Runtime,
        task: tokio::task::JoinHandle<()>,
        checker: thread::JoinHandle<Checker>,
    },
    Tail {
        child: Child,
        checker: thread::JoinHandle<Checker>,
    },
}

impl Follower {
    fn start(tool: Tool, path: &Path, total: u64, progress: Arc<Progress>) -> Follower {
        let mut checker = Checker::new(total, progress);
        match tool {
            Tool::Gatewatch => {
                let runtime =
                    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
                let (tx, mut rx) = tokio::sync::mpsc::channel::<SourceMsg>(CHANNEL);
                let opts = FollowOptions { start: StartAt::Beginning, ..FollowOptions::default() };
                let task = runtime.spawn(follow_file(0, path.to_path_buf(), opts, tx));
                let checker = thread::Builder::new()
                    .name("bench-checker".into())
                    .spawn(move || {
                        while let Some(msg) = rx.blocking_recv() {
                            match msg {
                                SourceMsg::Lines(b) => {
                                    let now = now_ns();
                                    if b.data.last() != Some(&b'\n') {
                                        checker.protocol += 1;
                                    }
                                    checker.lines(&b.data, now);
                                }
                                SourceMsg::Event(_, SourceEvent::Rotated { .. } | SourceEvent::Truncated { .. }) => {
                                    checker.events += 1
                                }
                                SourceMsg::Event(..) => {}
                            }
                        }
                        checker
                    })
                    .unwrap();
                Follower::Gatewatch { runtime, task, checker }
            }
            Tool::Tail => {
                let mut child = Command::new("tail")
                    .args(["-F", "-n", "0"])
                    .arg(path)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("cannot run tail");
                let mut out = child.stdout.take().unwrap();
                let checker = thread::Builder::new()
                    .name("bench-tail-reader".into())
                    .spawn(move || {
                        let mut buf = vec![0u8; 256 << 10];
                        let mut held = 0;
                        loop {
                            let n = match out.read(&mut buf[held..]) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            let now = now_ns();
                            let end = held + n;
                            let whole = buf[..end].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                            checker.lines(&buf[..whole], now);
                            buf.copy_within(whole..end, 0);
                            held = end - whole;
                            if held == buf.len() {
                                held = 0;
                                checker.bad += 1;
                            }
                        }
                        checker
                    })
                    .unwrap();
                Follower::Tail { child, checker }
            }
        }
    }

    fn cpu(&self) -> HashMap<u32, u64> {
        match self {
            Follower::Gatewatch { .. } => cpu_by_thread(std::process::id(), true),
            Follower::Tail { child, .. } => cpu_by_thread(child.id(), false),
        }
    }

    fn stop(self) -> Checker {
        match self {
            Follower::Gatewatch { runtime, task, checker } => {
                // Aborting drops the sender: the checker sees the end of the channel.
                task.abort();
                let c = checker.join().unwrap();
                runtime.shutdown_timeout(Duration::from_secs(2));
                c
            }
            Follower::Tail { mut child, checker } => {
                let _ = child.kill();
                let _ = child.wait();
                checker.join().unwrap()
            }
        }
    }
}

/// What the writer reports.
enum WriterMsg {
    Sync(u64),
    Done { rotations: u64, elapsed: Duration },
}

fn spawn_writer(
    path: &Path,
    kind: Kind,
    rate: u64,
    total: u64,
    every: u64,
) -> (Child, ChildStdin, std_mpsc::Receiver<WriterMsg>) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .arg("--writer")
        .arg(path)
        .args([kind.arg().to_string(), rate.to_string(), total.to_string(), every.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start the writer");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std_mpsc::channel();
    thread::Builder::new()
        .name("bench-ctl".into())
        .spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let f: Vec<&str> = line.split_whitespace().collect();
                let msg = match f.as_slice() {
                    ["sync", n] => WriterMsg::Sync(n.parse().unwrap()),
                    ["done", r, ns] => WriterMsg::Done {
                        rotations: r.parse().unwrap(),
                        elapsed: Duration::from_nanos(ns.parse().unwrap()),
                    },
                    _ => continue,
                };
                if tx.send(msg).is_err() {
                    break;
                }
            }
        })
        .unwrap();
    (child, stdin, rx)
}

/// Waits until `progress.unique` reaches `n`, or until it has not moved for `quiet`. Returns when it last moved (or
/// reached `n`).
fn wait_for(progress: &Progress, n: u64, quiet: Duration) -> Instant {
    let mut last = progress.unique.load(Ordering::Acquire);
    let mut since = Instant::now();
    loop {
        let now = progress.unique.load(Ordering::Acquire);
        if now >= n {
            return Instant::now();
        }
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() >= quiet {
            return since;
        }
        thread::sleep(Duration::from_micros(500));
    }
}

struct Outcome {
    tool: Tool,
    kind: Kind,
    rate: u64,
    sent: u64,
    rotations: u64,
    send_secs: f64,
    checker: Checker,
    cpu_pct: f64,
}

impl Outcome {
    fn lost(&self) -> u64 {
        self.sent - self.checker.unique
    }
    fn in_order(&self) -> bool {
        self.checker.backwards == 0
    }
    fn ok(&self) -> bool {
        let c = &self.checker;
        c.received == self.sent && self.lost() == 0 && c.dup == 0 && self.in_order() && c.bad == 0 && c.protocol == 0
    }
    fn percentile_ms(&self, p: f64) -> f64 {
        let v = &self.checker.latency;
        if v.is_empty() {
            return f64::NAN;
        }
        v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1e6
    }
}

fn run(tool: Tool, kind: Kind, rate: u64, total: u64, every: u64) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    File::create(&path).unwrap();
    let progress = Arc::new(Progress::default());
    let follower = Follower::start(tool, &path, total, progress.clone());

    // Ready when a warm-up line comes through (`tail -n 0` skips whatever is there when it opens the file).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !progress.warm.load(Ordering::Acquire) {
        assert!(Instant::now() < deadline, "{}: follower not ready", tool.label());
        open_append(&path).write_all(b"warmup\n").unwrap();
        thread::sleep(Duration::from_millis(50));
    }
    // Let the last warm-up lines drain before measuring.
    thread::sleep(Duration::from_millis(100));

    let cpu0 = follower.cpu();
    let t0 = Instant::now();
    let (mut writer, mut stdin, msgs) = spawn_writer(&path, kind, rate, total, every);
    let (rotations, elapsed) = loop {
        match msgs.recv_timeout(Duration::from_secs(30)) {
            Ok(WriterMsg::Sync(n)) => {
                // copytruncate: truncate only once everything written so far has been read.
                wait_for(&progress, n, Duration::from_secs(1));
                let _ = stdin.write_all(b"go\n");
            }
            Ok(WriterMsg::Done { rotations, elapsed }) => break (rotations, elapsed),
            Err(e) => panic!("writer: {e}"),
        }
    };
    let _ = writer.wait();
    // Wall time up to the last line received (not the wait for lines that never come).
    let wall = wait_for(&progress, total, QUIET).duration_since(t0);
    let cpu = cpu_delta(&cpu0, &follower.cpu());
    thread::sleep(SETTLE);
    let mut checker = follower.stop();
    checker.latency.sort_unstable();
    Outcome {
        tool,
        kind,
        rate,
        sent: total,
        rotations,
        send_secs: elapsed.as_secs_f64(),
        cpu_pct: cpu as f64 / wall.as_nanos() as f64 * 100.0,
        checker,
    }
}

fn rate_label(rate: u64) -> String {
    if rate.is_multiple_of(1000) { format!("{}k/s", rate / 1000) } else { format!("{rate}/s") }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "NO" }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--writer") {
        writer(&args[i + 1..]);
        return;
    }
    if Command::new("tail").arg("--version").stdout(Stdio::null()).status().is_err() {
        eprintln!("follow bench: `tail` (coreutils) not found; it is the baseline");
        std::process::exit(2);
    }

    let mut latency = Vec::new();
    for rate in RATES {
        for tool in [Tool::Gatewatch, Tool::Tail] {
            eprintln!("latency: {} at {}, {LATENCY_SECS} s ...", tool.label(), rate_label(rate));
            latency.push(run(tool, Kind::Rename, rate, rate * LATENCY_SECS, LATENCY_EVERY));
        }
    }
    let mut rotation = Vec::new();
    for kind in [Kind::Rename, Kind::CopyTruncate, Kind::Delete] {
        for tool in [Tool::Gatewatch, Tool::Tail] {
            eprintln!("rotation: {} with {} x {ROTATIONS} ...", tool.label(), kind.label());
            rotation.push(run(tool, kind, ROT_RATE, (ROTATIONS + 1) * ROT_EVERY, ROT_EVERY));
        }
    }

    let avg_line = latency.iter().map(|o| o.checker.bytes).sum::<u64>() as f64
        / latency.iter().map(|o| o.checker.received).sum::<u64>().max(1) as f64;
    println!();
    println!(
        "Latency and CPU: writer in another process, {:.0}-byte nginx lines, rename+create every {LATENCY_EVERY} \
         lines, {LATENCY_SECS} s per run; gatewatch with default options (inotify + 250 ms poll).",
        avg_line
    );
    println!(
        "{:<8} {:<10} {:>10} {:>9} {:>5} {:>9} {:>5} {:>4} {:>8} {:>7} {:>7} {:>7} {:>10}",
        "rate",
        "tool",
        "lines sent",
        "sent/s",
        "rot",
        "received",
        "lost",
        "dup",
        "in order",
        "p50 ms",
        "p99 ms",
        "max ms",
        "cpu % core"
    );
    for o in &latency {
        println!(
            "{:<8} {:<10} {:>10} {:>9.0} {:>5} {:>9} {:>5} {:>4} {:>8} {:>7.2} {:>7.2} {:>7.2} {:>10.1}",
            rate_label(o.rate),
            o.tool.label(),
            o.sent,
            o.sent as f64 / o.send_secs,
            o.rotations,
            o.checker.received,
            o.lost(),
            o.checker.dup,
            yes(o.in_order()),
            o.percentile_ms(0.50),
            o.percentile_ms(0.99),
            o.percentile_ms(1.0),
            o.cpu_pct,
        );
    }
    for pair in latency.chunks(2) {
        if let [g, t] = pair {
            println!(
                "{:<8} gatewatch / tail -F: p50 x{:.2}, p99 x{:.2}, cpu x{:.2}",
                rate_label(g.rate),
                g.percentile_ms(0.5) / t.percentile_ms(0.5),
                g.percentile_ms(0.99) / t.percentile_ms(0.99),
                g.cpu_pct / t.cpu_pct,
            );
        }
    }
    println!(
        "cpu: on-CPU time of the follower process (gatewatch: without this bench's checker thread) over the wall time \
         from the writer's start to the last line received. The writer bursts every 1 ms at both rates."
    );
    println!("reference (not measured here): GoAccess refreshes every 200 ms; tailspin polls every 100 ms.");

    println!();
    println!(
        "Rotation: {ROTATIONS} rotations of each kind, {ROT_EVERY} lines per file at {}, {AFTER_ROTATE} lines to the \
         old file after rename/unlink, copytruncate done by the writer once the reader has caught up.",
        rate_label(ROT_RATE)
    );
    println!(
        "{:<16} {:<10} {:>9} {:>5} {:>10} {:>9} {:>6} {:>5} {:>8}",
        "rotation", "tool", "rotations", "seen", "lines sent", "received", "lost", "dup", "in order"
    );
    for o in &rotation {
        let seen = match o.tool {
            Tool::Gatewatch => o.checker.events.to_string(),
            Tool::Tail => "-".into(),
        };
        println!(
            "{:<16} {:<10} {:>9} {:>5} {:>10} {:>9} {:>6} {:>5} {:>8}",
            o.kind.label(),
            o.tool.label(),
            o.rotations,
            seen,
            o.sent,
            o.checker.received,
            o.lost(),
            o.checker.dup,
            yes(o.in_order()),
        );
    }

    let failed: Vec<&Outcome> =
        latency.iter().chain(&rotation).filter(|o| o.tool == Tool::Gatewatch && !o.ok()).collect();
    println!();
    if failed.is_empty() {
        println!("gatewatch: every line received exactly once and in order in every run.");
    } else {
        for o in &failed {
            let c = &o.checker;
            println!(
                "FAILED gatewatch {} at {}: sent {}, received {}, lost {}, dup {}, out of order {}, bad lines {}, \
                 batches without final newline {}",
                o.kind.label(),
                rate_label(o.rate),
                o.sent,
                c.received,
                o.lost(),
                c.dup,
                c.backwards,
                c.bad,
                c.protocol
            );
        }
        std::process::exit(1);
    }
}
