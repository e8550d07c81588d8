//! The live file follower against real files that really grow, rotate, shrink and disappear.
//!
//! Every test writes numbered lines (`line 000001` …), collects everything the follower sends and compares the full
//! sequence: each line exactly once and in order. Waits poll for the expected state with a deadline, never fixed
//! sleeps for correctness.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatewatch::source::file::{FollowOptions, StartAt, follow_file, follow_glob};
use gatewatch::source::{SourceEvent, SourceMsg};
use tokio::sync::mpsc;

/// Upper bound for any wait; generous for a loaded 2-core machine, normally reached in milliseconds.
const DEADLINE: Duration = Duration::from_secs(10);

fn opts(start: StartAt) -> FollowOptions {
    FollowOptions { start, poll_interval: Duration::from_millis(100), ..FollowOptions::default() }
}

/// Everything received, checked as it arrives.
#[derive(Default)]
struct State {
    /// (label, line without `\n`).
    lines: Vec<(Option<String>, String)>,
    events: Vec<SourceEvent>,
    /// Expected `first_line` of the next batch, per label.
    next_line: HashMap<Option<String>, u64>,
    /// Protocol violations.
    errors: Vec<String>,
    max_batch: usize,
    batches: usize,
}

impl State {
    fn texts(&self) -> Vec<&str> {
        self.lines.iter().map(|(_, l)| l.as_str()).collect()
    }
    fn texts_of(&self, label: &Path) -> Vec<&str> {
        let label = label.to_string_lossy();
        self.lines.iter().filter(|(l, _)| l.as_deref() == Some(&*label)).map(|(_, t)| t.as_str()).collect()
    }
    fn count(&self, f: impl Fn(&SourceEvent) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }
}

struct Harness {
    state: Arc<Mutex<State>>,
    follower: tokio::task::JoinHandle<()>,
    collector: tokio::task::JoinHandle<()>,
}

enum Target {
    File(PathBuf),
    Glob(String),
}

/// Starts a follower and a collector (which sleeps `delay` after each message to play a slow consumer).
fn start(target: Target, opts: FollowOptions, capacity: usize, delay: Duration) -> Harness {
    let (tx, mut rx) = mpsc::channel(capacity);
    let follower = match target {
        Target::File(path) => tokio::spawn(follow_file(7, path, opts, tx)),
        Target::Glob(pattern) => tokio::spawn(follow_glob(7, pattern, opts, tx)),
    };
    let state = Arc::new(Mutex::new(State::default()));
    let st = state.clone();
    let collector = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            {
                let mut s = st.lock().unwrap();
                match msg {
                    SourceMsg::Lines(b) => {
                        let label = b.label.as_deref().map(str::to_owned);
                        if b.source != 7 {
                            s.errors.push(format!("wrong source {}", b.source));
                        }
                        if b.data.last() != Some(&b'\n') {
                            s.errors
                                .push(format!("batch not ending in newline: {:?}", String::from_utf8_lossy(&b.data)));
                        }
                        if let Some(&want) = s.next_line.get(&label)
                            && want != b.first_line
                        {
                            s.errors.push(format!("first_line {} != expected {want}", b.first_line));
                        }
                        let text = String::from_utf8(b.data.clone()).unwrap();
                        let n = text.lines().count();
                        s.next_line.insert(label.clone(), b.first_line + n as u64);
                        s.max_batch = s.max_batch.max(b.data.len());
                        s.batches += 1;
                        for line in text.lines() {
                            s.lines.push((label.clone(), line.to_owned()));
                        }
                    }
                    SourceMsg::Event(id, e) => {
                        if id != 7 {
                            s.errors.push(format!("wrong source {id}"));
                        }
                        if let SourceEvent::Opened { path, .. } | SourceEvent::Truncated { path } = &e {
                            // A new generation: numbering restarts.
                            s.next_line.insert(None, 1);
                            s.next_line.insert(Some(path.to_string_lossy().into_owned()), 1);
                        }
                        s.events.push(e);
                    }
                }
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    });
    Harness { state, follower, collector }
}

impl Harness {
    /// Waits until `f` holds; false on timeout.
    async fn wait(&self, f: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if f(&self.state.lock().unwrap()) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait_lines(&self, n: usize) {
        let ok = self.wait(|s| s.lines.len() >= n).await;
        let s = self.state.lock().unwrap();
        assert!(ok, "timed out waiting for {n} lines, got {}; events {:?}", s.lines.len(), s.events);
    }

    async fn wait_event(&self, what: &str, f: impl Fn(&SourceEvent) -> bool) {
        let ok = self.wait(|s| s.events.iter().any(&f)).await;
        assert!(ok, "timed out waiting for {what}; events {:?}", self.state.lock().unwrap().events);
    }

    /// Waits for exactly `expected` (and a little longer, to catch duplicates), then checks the whole sequence.
    async fn finish(self, expected: &[String]) -> State {
        let state = self.stop(expected.len()).await;
        let got = state.texts();
        if got != expected {
            let first_diff = got.iter().zip(expected).position(|(a, b)| a != b);
            panic!(
                "sequence differs: got {} lines, expected {}; first difference at {first_diff:?}; events {:?}",
                got.len(),
                expected.len(),
                state.events
            );
        }
        state
    }

    /// Waits for `n` lines and a little longer (to catch duplicates), stops, checks the protocol.
    async fn stop(self, n: usize) -> State {
        self.wait_lines(n).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.follower.abort();
        self.collector.abort();
        let state = std::mem::take(&mut *self.state.lock().unwrap());
        assert!(state.errors.is_empty(), "protocol errors: {:?}", state.errors);
        state
    }
}

/// Appends numbered lines to whatever file it currently has open (like a logging process).
struct Writer {
    file: File,
    next: usize,
}

impl Writer {
    fn open(path: &Path, next: usize) -> Writer {
        let file = OpenOptions::new().create(true).append(true).open(path).unwrap();
        Writer { file, next }
    }
    /// Writes `n` lines in one write.
    fn lines(&mut self, n: usize) {
        let mut buf = String::new();
        for _ in 0..n {
            buf.push_str(&line(self.next));
            buf.push('\n');
            self.next += 1;
        }
        self.file.write_all(buf.as_bytes()).unwrap();
    }
    fn raw(&mut self, s: &str) {
        self.file.write_all(s.as_bytes()).unwrap();
    }
}

fn line(i: usize) -> String {
    format!("line {i:06}")
}

fn seq(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(line).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_append_and_stop_when_receiver_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut w = Writer::open(&path, 1);
    w.lines(5);
    let h = start(Target::File(path.clone()), opts(StartAt::default()), 64, Duration::ZERO);
    h.wait_lines(5).await;
    for _ in 0..20 {
        w.lines(10);
    }
    let state = h.finish(&seq(1..=205)).await;
    assert_eq!(state.events[0], SourceEvent::Opened { path: path.clone(), offset: 0 });

    // The follower returns once the receiver is gone.
    let (tx, rx) = mpsc::channel(1);
    let task = tokio::spawn(follow_file(0, path, opts(StartAt::Beginning), tx));
    drop(rx);
    tokio::time::timeout(DEADLINE, task).await.expect("follower did not stop").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_wakes_without_polling() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut w = Writer::open(&path, 1);
    let o = FollowOptions { poll_interval: Duration::from_secs(3600), ..opts(StartAt::Beginning) };
    let h = start(Target::File(path.clone()), o, 64, Duration::ZERO);
    h.wait_event("Opened", |e| matches!(e, SourceEvent::Opened { .. })).await;
    for _ in 0..5 {
        w.lines(3);
        h.wait_lines(w.next - 1).await;
    }
    h.finish(&seq(1..=15)).await;
}

/// logrotate's default: rename, create a new file; the writer still appends to the old file for a moment.
async fn rename_rotations(o: FollowOptions) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let mut w = Writer::open(&path, 1);
    w.lines(10);
    let h = start(Target::File(path.clone()), o, 64, Duration::ZERO);
    for round in 1..=4 {
        w.lines(30);
        h.wait_lines(w.next - 1).await;
        fs::rename(&path, dir.path().join(format!("access.log.{round}"))).unwrap();
        // Written after the rename, to the old file.
        w.lines(5);
        if round % 2 == 0 {
            // Give the follower time to see the path missing.
            tokio::time::sleep(Duration::from_millis(150)).await;
            w.lines(2);
        }
        let next = w.next;
        w = Writer::open(&path, next);
        w.lines(7);
    }
    let state = h.finish(&seq(1..=w.next - 1)).await;
    assert_eq!(state.count(|e| matches!(e, SourceEvent::Rotated { .. })), 4, "{:?}", state.events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_create_rotation_repeated() {
    rename_rotations(opts(StartAt::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_only_survives_rotation() {
    let o = FollowOptions { use_notify: false, poll_interval: Duration::from_millis(50), ..opts(StartAt::default()) };
    rename_rotations(o).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copytruncate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut w = Writer::open(&path, 1);
    let h = start(Target::File(path.clone()), opts(StartAt::default()), 64, Duration::ZERO);
    for round in 1..=3 {
        w.lines(100);
        h.wait_lines(w.next - 1).await;
        fs::copy(&path, dir.path().join(format!("app.log.{round}"))).unwrap();
        OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
        // The writer (O_APPEND) goes on at the new end, i.e. at 0.
        w.lines(20);
    }
    let state = h.finish(&seq(1..=w.next - 1)).await;
    assert_eq!(state.count(|e| matches!(e, SourceEvent::Truncated { .. })), 3, "{:?}", state.events);
}

/// Truncated and regrown past the old offset between two polls: only the changed bytes before the offset tell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copytruncate_regrown_before_next_poll() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut w = Writer::open(&path, 1);
    let o = FollowOptions { use_notify: false, poll_interval: Duration::from_millis(300), ..opts(StartAt::default()) };
    let h = start(Target::File(path.clone()), o, 64, Duration::ZERO);
    w.lines(100);
    h.wait_lines(100).await;
    OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
    w.lines(150);
    let state = h.finish(&seq(1..=250)).await;
    assert_eq!(state.count(|e| matches!(e, SourceEvent::Truncated { .. })), 1, "{:?}", state.events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_and_recreate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut w = Writer::open(&path, 1);
    let h = start(Target::File(path.clone()), opts(StartAt::default()), 64, Duration::ZERO);
    w.lines(50);
    h.wait_lines(50).await;
    fs::remove_file(&path).unwrap();
    // Still written through the open descriptor after the unlink.
    w.lines(10);
    tokio::time::sleep(Duration::from_millis(150)).await;
    w.lines(3);
    let next = w.next;
    w = Writer::open(&path, next);
    w.lines(50);
    let state = h.finish(&seq(1..=w.next - 1)).await;
    assert_eq!(state.count(|e| matches!(e, SourceEvent::Rotated { .. })), 1, "{:?}", state.events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_creation_is_read_from_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.log");
    // LastLines does not apply to a file created after following began.
    let h = start(Target::File(path.clone()), opts(StartAt::LastLines(3)), 64, Duration::ZERO);
    h.wait_event("Waiting", |e| *e == SourceEvent::Waiting { path: path.clone() }).await;
    let mut w = Writer::open(&path, 1);
    w.lines(20);
    w.lines(5);
    let state = h.finish(&seq(1..=25)).await;
    assert_eq!(state.count(|e| matches!(e, SourceEvent::Waiting { .. })), 1, "{:?}", state.events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_line_held_then_completed_or_flushed_on_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut w = Writer::open(&path, 1);
    w.raw("line 000001\nline 0000");
    let h = start(Target::File(path.clone()), opts(StartAt::Beginning), 64, Duration::ZERO);
    h.wait_lines(1).await;
    // Several polls later the incomplete line is still held back.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(h.state.lock().unwrap().texts(), vec!["line 000001"]);
    w.raw("02\nline 000003\nline 000004");
    h.wait_lines(3).await;
    // Rotation with an incomplete last line: it is flushed (with a newline) before switching.
    fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    let mut w = Writer::open(&path, 5);
    w.lines(2);
    h.finish(&seq(1..=6)).await;
}

/// A file holding `line 000001`, followed from its beginning, once that line has arrived.
async fn follow_from_line_one() -> (tempfile::TempDir, Writer, Harness) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut w = Writer::open(&path, 1);
    w.raw("line 000001\n");
    let h = start(Target::File(path), opts(StartAt::Beginning), 64, Duration::ZERO);
    h.wait_lines(1).await;
    (dir, w, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_past_the_cap_is_cut_once_and_the_rest_skipped() {
    let (_dir, mut w, h) = follow_from_line_one().await;
    // a 5 MB line, written in pieces while it is followed
    let piece = "x".repeat(1 << 20);
    for _ in 0..5 {
        w.raw(&piece);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    w.raw("\nline 000003\nline 000004\n");
    let state = h.stop(4).await;
    let got = state.texts();
    assert_eq!(got.len(), 4, "the long line is one line");
    assert_eq!((got[0], got[2], got[3]), ("line 000001", "line 000003", "line 000004"));
    assert!(got[1].bytes().all(|b| b == b'x') && (1 << 20..5 << 20).contains(&got[1].len()), "{}", got[1].len());
    // the protocol check in `stop` saw every batch's first line number follow on: line 3 is numbered 3
    let cuts: Vec<String> =
        state.events.iter().filter(|e| matches!(e, SourceEvent::LineCut { .. })).map(|e| e.to_string()).collect();
    assert_eq!(cuts.len(), 1, "the cut is reported once: {:?}", state.events);
    assert!(cuts[0].ends_with("app.log: line 2 is over 1 MiB: cut there, the rest of it skipped (1 cut so far)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncation_while_skipping_a_cut_line_loses_nothing_after_it() {
    let (_dir, mut w, h) = follow_from_line_one().await;
    w.raw(&"x".repeat(2 << 20)); // no newline yet: cut at the cap, the rest being skipped
    h.wait_lines(2).await;
    // copytruncate before the long line ends: the new content starts with whole lines
    w.file.set_len(0).unwrap();
    w.raw("line 000003\nline 000004\n");
    let state = h.stop(4).await;
    let got = state.texts();
    assert_eq!(
        (got.len(), got[0], got[2], got[3]),
        (4, "line 000001", "line 000003", "line 000004"),
        "{:?}",
        &got[2..]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_denied_then_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.log");
    let mut w = Writer::open(&path, 1);
    w.lines(4);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if File::open(&path).is_ok() {
        // Running as root (or with CAP_DAC_OVERRIDE): mode 000 does not deny reads, so this case cannot be staged.
        eprintln!("skipping permission_denied_then_fixed: mode 000 does not deny reads here (root?)");
        return;
    }
    let h = start(Target::File(path.clone()), opts(StartAt::default()), 64, Duration::ZERO);
    h.wait_event("Unreadable", |e| matches!(e, SourceEvent::Unreadable { error, .. } if error.contains("denied")))
        .await;
    w.lines(3);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    w.lines(3);
    let state = h.finish(&seq(1..=10)).await;
    assert_eq!(state.count(|e| matches!(e, SourceEvent::Unreadable { .. })), 1, "{:?}", state.events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_lines_of_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut w = Writer::open(&path, 1);
    w.lines(10);
    let h = start(Target::File(path.clone()), opts(StartAt::LastLines(3)), 64, Duration::ZERO);
    h.wait_lines(3).await;
    w.lines(2);
    let state = h.finish(&seq(8..=12)).await;
    let size = fs::metadata(&path).unwrap().len();
    assert_eq!(state.events[0], SourceEvent::Opened { path, offset: size - 5 * 12 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beginning_reads_everything_in_bounded_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let mut w = Writer::open(&path, 1);
    for _ in 0..10 {
        w.lines(5_000);
    }
    let o = FollowOptions { max_batch_bytes: 64 * 1024, ..opts(StartAt::Beginning) };
    let h = start(Target::File(path.clone()), o, 4, Duration::ZERO);
    let state = h.finish(&seq(1..=50_000)).await;
    assert!(state.max_batch <= 64 * 1024, "batch of {} bytes", state.max_batch);
    assert!(state.batches >= 600_000 / (64 * 1024), "{} batches", state.batches);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glob_picks_up_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("api.access.log");
    let b = dir.path().join("web.access.log");
    let other = dir.path().join("api.error.log");
    let mut wa = Writer::open(&a, 1);
    wa.lines(5);
    let mut wo = Writer::open(&other, 1);
    wo.lines(5);
    let pattern = format!("{}/*.access.log", dir.path().display());
    let h = start(Target::Glob(pattern), opts(StartAt::Beginning), 64, Duration::ZERO);
    h.wait_lines(5).await;
    // A new matching file is read from its start.
    let mut wb = Writer::open(&b, 1001);
    wb.lines(5);
    h.wait_event("Discovered", |e| *e == SourceEvent::Discovered { path: b.clone() }).await;
    wb.lines(5);
    wa.lines(5);
    wo.lines(5);
    let state = h.stop(20).await;
    assert_eq!(state.texts_of(&a), seq(1..=10));
    assert_eq!(state.texts_of(&b), seq(1001..=1010));
    assert_eq!(state.lines.len(), 20, "non-matching or unlabelled lines: {:?}", state.lines);
    assert_eq!(state.count(|e| matches!(e, SourceEvent::Discovered { .. })), 1, "{:?}", state.events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glob_with_rotation_is_not_read_twice() {
    // `*.log*` also matches the rotated `app.log.1`, which is the file already being followed.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut w = Writer::open(&path, 1);
    w.lines(10);
    let pattern = format!("{}/*.log*", dir.path().display());
    let h = start(Target::Glob(pattern), opts(StartAt::Beginning), 64, Duration::ZERO);
    h.wait_lines(10).await;
    fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    w.lines(5);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let mut w = Writer::open(&path, 16);
    w.lines(10);
    let state = h.stop(25).await;
    assert_eq!(state.texts_of(&path), seq(1..=25));
    assert_eq!(state.lines.len(), 25, "{:?}", state.lines);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_control_with_slow_consumer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut w = Writer::open(&path, 1);
    let o = FollowOptions { max_batch_bytes: 64, ..opts(StartAt::Beginning) };
    let h = start(Target::File(path.clone()), o, 1, Duration::from_millis(1));
    for _ in 0..30 {
        w.lines(100);
    }
    let state = h.finish(&seq(1..=3000)).await;
    assert!(state.max_batch <= 64, "batch of {} bytes", state.max_batch);
}
