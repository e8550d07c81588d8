//! Following files the way `tail -F` does, through rotation.
//!
//! A follower is a tokio task. Each round ("step") runs on the blocking pool: it checks the open handle for in-place
//! truncation, reads what is available (up to `max_batch_bytes`), and at end of file compares the path's
//! (device, inode) with the handle's to notice rotation. The task sends what the step produced over the bounded
//! channel (waiting while the consumer is slow, so nothing piles up), then sleeps until an inotify event on the parent
//! directory or the poll interval, whichever comes first.
//!
//! How each case is recognised:
//! - rename + create: the path names another inode. The old handle is read to its end; the switch happens once the
//!   new file has data (the writer has moved on) — after one more drain of the old handle — or once the old file is
//!   deleted and quiet for [`LINGER`]. Event `Rotated`; the new file is read from its start.
//! - copytruncate: the handle's length is below our offset, or the last bytes before our offset changed (the file was
//!   truncated and has already grown back past our offset). Event `Truncated`; read again from 0.
//! - delete (+ re-create): the path is gone; the old handle is kept and read (a writer may still append) until a new
//!   file appears (as for rename) or the old one (unlinked) has been quiet for [`LINGER`].
//! - missing file: `Waiting` once; when it appears it is read from its start.
//! - unreadable (e.g. permission denied): `Unreadable` (once per distinct error), retried every poll interval.
//!
//! A final line without `\n` is held until completed, or flushed with a `\n` appended when the file rotates, is
//! truncated or is dropped.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::Notify as Wake;
use tokio::sync::mpsc::Sender;
use tokio::task::JoinSet;

use super::{Batch, SourceEvent, SourceId, SourceMsg};

/// How long an unlinked file (or one replaced by an empty file) that has stopped growing is kept open before we give
/// up on it.
pub const LINGER: Duration = Duration::from_secs(5);

/// Longest line held while waiting for its `\n` (unless a batch is larger): see [`super::MAX_LINE`].
const MIN_LINE_CAP: usize = super::MAX_LINE;

/// How many bytes before the read offset are remembered to recognise a file truncated and regrown in between reads.
const FINGERPRINT: usize = 32;

/// Smallest read buffer (when the file seems to have less new data).
const MIN_READ: usize = 16 * 1024;

/// Block size for reading backwards to find the last lines.
const BACK_BLOCK: u64 = 64 * 1024;

/// Where to start in a file that already exists when following begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// Read everything.
    Beginning,
    /// Start at the beginning of the n-th last line (found by reading backwards from the end).
    LastLines(usize),
}

impl Default for StartAt {
    fn default() -> Self {
        StartAt::LastLines(10_000)
    }
}

/// How to follow.
#[derive(Clone, Debug)]
pub struct FollowOptions {
    /// Where to start in files that exist at start-up (files appearing later are always read from their start).
    pub start: StartAt,
    /// Fallback polling interval, for filesystems without change events (NFS, some containers); default 250 ms.
    pub poll_interval: Duration,
    /// Maximum size of one batch; default 256 KiB.
    pub max_batch_bytes: usize,
    /// Wake up on inotify events on the parent directory (default true). When false, only polling is used.
    pub use_notify: bool,
    /// Where a file that exists at start-up starts instead, when this finds a place (`--since`: the first line of
    /// the window, found by binary search on the file's times); `start` otherwise.
    pub start_finder: Option<StartFinder>,
}

/// Finds where to start reading a file: a byte offset at a line start, or `None` to use [`FollowOptions::start`].
#[derive(Clone)]
pub struct StartFinder(pub Arc<FindStart>);

/// The function a [`StartFinder`] holds.
pub type FindStart = dyn Fn(&Path) -> Option<u64> + Send + Sync;

impl std::fmt::Debug for StartFinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StartFinder")
    }
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            start: StartAt::default(),
            poll_interval: Duration::from_millis(250),
            max_batch_bytes: 256 * 1024,
            use_notify: true,
            start_finder: None,
        }
    }
}

/// (device, inode).
type FileId = (u64, u64);

fn file_id(m: &Metadata) -> FileId {
    (m.dev(), m.ino())
}

/// Follows one file until `tx` is closed. Never returns otherwise: a missing or unreadable file is waited for.
pub async fn follow_file(id: SourceId, path: PathBuf, opts: FollowOptions, tx: Sender<SourceMsg>) {
    let wake = Arc::new(Wake::new());
    let targets = Arc::new(Mutex::new(Targets::default()));
    let detached = Arc::new(AtomicBool::new(false));
    if let Some(name) = path.file_name() {
        lock(&targets).files.push(Target { name: name.to_owned(), wake: wake.clone(), detached: detached.clone() });
    }
    let watch = opts.use_notify.then(|| DirWatch::new(targets));
    let tail = Tail::new(id, path, None, &opts, true, false, detached, None);
    run(tail, watch, wake, opts.poll_interval, &tx).await;
}

/// Follows every regular file matching `pattern` (wildcards `*`, `?`, `[...]` in any component), labelling each batch
/// with the file's path, and picks up files that start matching while running (read from their start; event
/// `Discovered`). Returns when `tx` is closed.
pub async fn follow_glob(id: SourceId, pattern: String, opts: FollowOptions, tx: Sender<SourceMsg>) {
    let pattern = PathBuf::from(pattern);
    let dir_wake = Arc::new(Wake::new());
    let targets = Arc::new(Mutex::new(Targets { files: Vec::new(), dir: Some(dir_wake.clone()) }));
    let registry = Arc::new(Registry::default());
    let mut watch = opts.use_notify.then(|| DirWatch::new(targets.clone()));
    let mut tasks: JoinSet<(PathBuf, Arc<Wake>)> = JoinSet::new();
    let mut followed: HashSet<PathBuf> = HashSet::new();
    // Files that are the same inode as one another follower holds (e.g. `a.log` renamed to `a.log.1` by rotation,
    // with a pattern like `*.log*`): not followed twice. Keyed by identity, so renames are tracked.
    let mut shadows: HashMap<FileId, PathBuf> = HashMap::new();
    let mut first = true;
    loop {
        let pat = pattern.clone();
        let expanded = tokio::task::spawn_blocking(move || {
            let (files, dirs) = super::glob::expand(&pat);
            let files: Vec<(PathBuf, FileId)> =
                files.into_iter().filter_map(|p| fs::metadata(&p).ok().map(|m| (p, file_id(&m)))).collect();
            (
                files,
                watch.take().map(|mut w| {
                    // Discovery runs again at the next wake-up or poll anyway.
                    let _ = w.refresh(&dirs_for_watch(&dirs));
                    w
                }),
            )
        })
        .await;
        let Ok((files, w)) = expanded else { return };
        watch = w;
        let mut seen = HashSet::new();
        for (path, fid) in files {
            seen.insert(fid);
            if followed.contains(&path) {
                continue;
            }
            if let Some(p) = shadows.get_mut(&fid) {
                *p = path;
                continue;
            }
            if registry.holds(fid) {
                shadows.insert(fid, path);
                continue;
            }
            if !first && tx.send(SourceMsg::Event(id, SourceEvent::Discovered { path: path.clone() })).await.is_err() {
                return;
            }
            let file_wake = Arc::new(Wake::new());
            let detached = Arc::new(AtomicBool::new(false));
            if let Some(name) = path.file_name() {
                lock(&targets).files.push(Target {
                    name: name.to_owned(),
                    wake: file_wake.clone(),
                    detached: detached.clone(),
                });
            }
            let label: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
            let tail = Tail::new(id, path.clone(), Some(label), &opts, first, true, detached, Some(registry.clone()));
            followed.insert(path.clone());
            let (tx, poll) = (tx.clone(), opts.poll_interval);
            tasks.spawn(async move {
                run(tail, None, file_wake.clone(), poll, &tx).await;
                (path, file_wake)
            });
        }
        shadows.retain(|fid, _| seen.contains(fid));
        if first && followed.is_empty() {
            let event = SourceEvent::Waiting { path: pattern.clone() };
            if tx.send(SourceMsg::Event(id, event)).await.is_err() {
                return;
            }
        }
        first = false;
        // Wait for a directory event, the poll interval, or a follower whose file went away.
        let sleep = tokio::time::sleep(opts.poll_interval);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = dir_wake.notified() => break,
                _ = &mut sleep => break,
                _ = tx.closed() => return,
                Some(done) = tasks.join_next() => {
                    if let Ok((path, wake)) = done {
                        followed.remove(&path);
                        lock(&targets).files.retain(|t| !Arc::ptr_eq(&t.wake, &wake));
                    }
                }
            }
        }
    }
}

/// The directories to watch: the empty path means the current directory.
fn dirs_for_watch(dirs: &[PathBuf]) -> Vec<PathBuf> {
    dirs.iter().map(|d| if d.as_os_str().is_empty() { PathBuf::from(".") } else { d.clone() }).collect()
}

/// The loop of one file follower: step on the blocking pool, send, wait.
async fn run(mut tail: Tail, mut watch: Option<DirWatch>, wake: Arc<Wake>, poll: Duration, tx: &Sender<SourceMsg>) {
    loop {
        let stepped = tokio::task::spawn_blocking(move || {
            let mut step = tail.step();
            if !step.more
                && let Some(w) = watch.as_mut()
            {
                // A new watcher may have missed what happened since the read: look once more.
                step.more = w.refresh(&[tail.parent_dir()]);
            }
            (tail, watch, step)
        })
        .await;
        let Ok((t, w, step)) = stepped else { return };
        (tail, watch) = (t, w);
        for msg in step.out {
            if tx.send(msg).await.is_err() {
                return;
            }
        }
        if step.gone {
            return;
        }
        if step.more {
            continue;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = tx.closed() => return,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Identities of the files held open by the followers of one glob.
#[derive(Default)]
struct Registry {
    held: Mutex<HashMap<FileId, usize>>,
}

impl Registry {
    fn hold(&self, fid: FileId) {
        *lock(&self.held).entry(fid).or_default() += 1;
    }
    fn release(&self, fid: FileId) {
        let mut held = lock(&self.held);
        if let Some(n) = held.get_mut(&fid) {
            *n -= 1;
            if *n == 0 {
                held.remove(&fid);
            }
        }
    }
    fn holds(&self, fid: FileId) -> bool {
        lock(&self.held).contains_key(&fid)
    }
}

/// Who to wake on directory events.
#[derive(Default)]
struct Targets {
    files: Vec<Target>,
    /// Woken on entries appearing, disappearing or being renamed (glob discovery).
    dir: Option<Arc<Wake>>,
}

struct Target {
    /// File name within the watched directory.
    name: OsString,
    wake: Arc<Wake>,
    /// Set while the follower reads a handle the path no longer names: then writes to the old file arrive under
    /// another name, so any event wakes it.
    detached: Arc<AtomicBool>,
}

fn dispatch(targets: &Mutex<Targets>, res: notify::Result<notify::Event>) {
    let targets = lock(targets);
    let event = match res {
        Ok(event) => event,
        Err(_) => {
            // Something went wrong (e.g. queue overflow): wake everybody to look.
            targets.files.iter().for_each(|t| t.wake.notify_one());
            if let Some(d) = &targets.dir {
                d.notify_one();
            }
            return;
        }
    };
    if matches!(event.kind, EventKind::Access(_)) {
        return;
    }
    let rescan = event.need_rescan();
    for t in &targets.files {
        if rescan
            || t.detached.load(Ordering::Relaxed)
            || event.paths.iter().any(|p| p.file_name().is_some_and(|n| n.as_bytes() == t.name.as_bytes()))
        {
            t.wake.notify_one();
        }
    }
    if let Some(d) = &targets.dir
        && (rescan
            || matches!(
                event.kind,
                EventKind::Create(_)
                    | EventKind::Remove(_)
                    | EventKind::Modify(notify::event::ModifyKind::Name(_))
                    | EventKind::Any
                    | EventKind::Other
            ))
    {
        d.notify_one();
    }
}

/// An inotify watcher on a set of directories, rebuilt when a directory is replaced (its identity changes).
struct DirWatch {
    targets: Arc<Mutex<Targets>>,
    watcher: Option<RecommendedWatcher>,
    /// What was attempted last: each existing directory and its identity.
    watched: Vec<(PathBuf, FileId)>,
}

impl DirWatch {
    fn new(targets: Arc<Mutex<Targets>>) -> Self {
        DirWatch { targets, watcher: None, watched: Vec::new() }
    }

    /// Blocking: stats the directories and (re)builds the watcher if they changed. Returns whether it did.
    fn refresh(&mut self, dirs: &[PathBuf]) -> bool {
        let wanted: Vec<(PathBuf, FileId)> = dirs
            .iter()
            .filter_map(|d| fs::metadata(d).ok().filter(Metadata::is_dir).map(|m| (d.clone(), file_id(&m))))
            .collect();
        if wanted == self.watched {
            return false;
        }
        self.watcher = None;
        self.watched = wanted;
        if self.watched.is_empty() {
            return false;
        }
        let targets = self.targets.clone();
        // On failure (e.g. inotify limits) polling still works; retried when the directories change.
        if let Ok(mut w) = notify::recommended_watcher(move |res| dispatch(&targets, res)) {
            for (dir, _) in &self.watched {
                let _ = w.watch(dir, RecursiveMode::NonRecursive);
            }
            self.watcher = Some(w);
        }
        true
    }
}

/// The open file.
struct Handle {
    file: File,
    fid: FileId,
    /// Bytes consumed so far (including `partial`); where the next read starts.
    offset: u64,
    /// Number of the next complete line.
    next_line: u64,
    /// Read but not sent yet: the start of a line whose `\n` has not been read yet, possibly after whole lines that
    /// did not fit in the last batch.
    partial: Vec<u8>,
    /// The last bytes before `offset`, to notice the file being truncated and rewritten past `offset`.
    recent: Vec<u8>,
    /// Since when reads have hit end of file without new data.
    eof_since: Option<Instant>,
    /// The rest of a line cut at the cap is being skipped, up to its `\n`.
    skipping: bool,
}

impl Handle {
    fn remember(&mut self, data: &[u8]) {
        if data.len() >= FINGERPRINT {
            self.recent.clear();
            self.recent.extend_from_slice(&data[data.len() - FINGERPRINT..]);
        } else {
            self.recent.extend_from_slice(data);
            let excess = self.recent.len().saturating_sub(FINGERPRINT);
            self.recent.drain(..excess);
        }
    }
}

/// Why a read stopped.
enum ReadEnd {
    /// A batch is full or whole lines are left over: read again at once.
    More,
    /// End of file.
    Eof,
    /// The file was truncated in place.
    Truncated,
}

/// What one step produced.
struct Step {
    out: Vec<SourceMsg>,
    /// More data may be available right away: do not wait.
    more: bool,
    /// (Glob followers only.) The file is gone and nothing is held: the follower ends.
    gone: bool,
}

/// Synchronous core of a file follower.
struct Tail {
    id: SourceId,
    path: PathBuf,
    label: Option<Arc<str>>,
    start: StartAt,
    /// Overrides `start` where it finds a place.
    finder: Option<StartFinder>,
    max_batch: usize,
    /// Apply `start` at the next open (only for a file that existed when following began).
    apply_start: bool,
    /// A glob member: ends when the file is gone instead of waiting for it.
    glob_member: bool,
    handle: Option<Handle>,
    /// Last problem reported, to report each only once.
    reported: Option<SourceEvent>,
    /// Emit `Rotated` when the next file is opened (the previous one was dropped after being deleted).
    rotated_pending: bool,
    detached: Arc<AtomicBool>,
    registry: Option<Arc<Registry>>,
    /// Lines cut at the line cap so far.
    cut: u64,
}

impl Drop for Tail {
    fn drop(&mut self) {
        if let (Some(h), Some(r)) = (&self.handle, &self.registry) {
            r.release(h.fid);
        }
    }
}

impl Tail {
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: SourceId,
        path: PathBuf,
        label: Option<Arc<str>>,
        opts: &FollowOptions,
        apply_start: bool,
        glob_member: bool,
        detached: Arc<AtomicBool>,
        registry: Option<Arc<Registry>>,
    ) -> Self {
        Tail {
            id,
            path,
            label,
            start: opts.start,
            finder: opts.start_finder.clone(),
            max_batch: opts.max_batch_bytes.max(1),
            apply_start,
            glob_member,
            handle: None,
            reported: None,
            rotated_pending: false,
            detached,
            registry,
            cut: 0,
        }
    }

    fn parent_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn event(&self, event: SourceEvent) -> SourceMsg {
        SourceMsg::Event(self.id, event)
    }

    /// Reports a problem unless it is the one reported last.
    fn report(&mut self, out: &mut Vec<SourceMsg>, event: SourceEvent) {
        if self.reported.as_ref() != Some(&event) {
            out.push(self.event(event.clone()));
            self.reported = Some(event);
        }
    }

    fn lines(&self, first_line: u64, data: Vec<u8>) -> SourceMsg {
        SourceMsg::Lines(Batch { source: self.id, label: self.label.clone(), first_line, data })
    }

    fn set_detached(&self, on: bool) {
        self.detached.store(on, Ordering::Relaxed);
    }

    /// One round: open if needed, check for truncation, read, and at end of file check for rotation.
    fn step(&mut self) -> Step {
        let mut out = Vec::new();
        if self.handle.is_none() {
            match self.open(&mut out) {
                Ok(true) => {}
                Ok(false) => return Step { out, more: false, gone: false },
                Err(()) => return Step { out, more: false, gone: true },
            }
        }
        match self.read(&mut out) {
            Ok(ReadEnd::More) => return Step { out, more: true, gone: false },
            Ok(ReadEnd::Truncated) => {
                self.restart(&mut out);
                return Step { out, more: true, gone: false };
            }
            Ok(ReadEnd::Eof) => {}
            Err(e) => {
                let error = format!("cannot read {}: {e}", self.path.display());
                self.report(&mut out, SourceEvent::Unreadable { path: self.path.clone(), error });
                // A dead handle (e.g. stale NFS handle) is replaced if the path now names another file.
                let fid = self.handle.as_ref().map(|h| h.fid);
                if fs::metadata(&self.path).map(|m| Some(file_id(&m)) != fid).unwrap_or(true) {
                    self.close(&mut out);
                }
                return Step { out, more: false, gone: false };
            }
        }
        let more = self.check_path(&mut out);
        Step { out, more, gone: false }
    }

    /// Opens the path. Ok(true): opened; Ok(false): not now (reported); Err: a glob member whose file is gone.
    fn open(&mut self, out: &mut Vec<SourceMsg>) -> Result<bool, ()> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.glob_member {
                    return Err(());
                }
                // A file that appears later is read from its start.
                self.apply_start = false;
                self.report(out, SourceEvent::Waiting { path: self.path.clone() });
                return Ok(false);
            }
            Err(e) => {
                let error = format!("cannot open {}: {e}", self.path.display());
                self.report(out, SourceEvent::Unreadable { path: self.path.clone(), error });
                return Ok(false);
            }
        };
        let opened = (|| -> io::Result<Handle> {
            let meta = file.metadata()?;
            if meta.is_dir() {
                return Err(io::Error::other("is a directory"));
            }
            let offset = match self.apply_start {
                true => start_offset(&file, meta.len(), &self.path, self.start, self.finder.as_ref())?,
                false => 0,
            };
            let mut recent = vec![0; (offset as usize).min(FINGERPRINT)];
            let at = offset - recent.len() as u64;
            file.read_exact_at(&mut recent, at)?;
            Ok(Handle {
                file,
                fid: file_id(&meta),
                offset,
                next_line: 1,
                partial: Vec::new(),
                recent,
                eof_since: None,
                skipping: false,
            })
        })();
        match opened {
            Ok(h) => {
                self.apply_start = false;
                self.reported = None;
                if std::mem::take(&mut self.rotated_pending) {
                    out.push(self.event(SourceEvent::Rotated { path: self.path.clone() }));
                }
                out.push(self.event(SourceEvent::Opened { path: self.path.clone(), offset: h.offset }));
                if let Some(r) = &self.registry {
                    r.hold(h.fid);
                }
                self.set_detached(false);
                self.handle = Some(h);
                Ok(true)
            }
            Err(e) => {
                let error = format!("cannot read {}: {e}", self.path.display());
                self.report(out, SourceEvent::Unreadable { path: self.path.clone(), error });
                Ok(false)
            }
        }
    }

    /// Sends the held incomplete line, if any, with a `\n` appended.
    fn flush_partial(&mut self, out: &mut Vec<SourceMsg>) {
        let Some(h) = self.handle.as_mut() else { return };
        if h.partial.is_empty() {
            return;
        }
        let mut data = std::mem::take(&mut h.partial);
        if data.last() != Some(&b'\n') {
            data.push(b'\n');
        }
        let first = h.next_line;
        h.next_line += memchr::memchr_iter(b'\n', &data).count() as u64;
        out.push(self.lines(first, data));
    }

    /// Drops the handle after flushing its incomplete line.
    fn close(&mut self, out: &mut Vec<SourceMsg>) {
        self.flush_partial(out);
        if let Some(h) = self.handle.take()
            && let Some(r) = &self.registry
        {
            r.release(h.fid);
        }
    }

    /// The file was truncated in place: flush, then read it again from its start.
    fn restart(&mut self, out: &mut Vec<SourceMsg>) {
        self.flush_partial(out);
        let Some(h) = self.handle.as_mut() else { return };
        h.offset = 0;
        h.next_line = 1;
        h.recent.clear();
        h.eof_since = None;
        h.skipping = false; // the cut line went with the old content
        out.push(self.event(SourceEvent::Truncated { path: self.path.clone() }));
    }

    /// Reads what is available, up to one batch.
    ///
    /// Each read is a `pread` starting [`FINGERPRINT`] bytes before our offset: if those bytes are not the ones we
    /// read before (or the file ends before our offset), the file was truncated in place (copytruncate), possibly
    /// already regrown past our offset. Checking in the same system call as the read leaves no window between check
    /// and read.
    fn read(&mut self, out: &mut Vec<SourceMsg>) -> io::Result<ReadEnd> {
        let target = self.max_batch;
        let cap = target.max(MIN_LINE_CAP);
        let Some(h) = self.handle.as_mut() else { return Ok(ReadEnd::Eof) };
        let mut buf = std::mem::take(&mut h.partial);
        let mut newline = buf.contains(&b'\n');
        let mut eof = false;
        let mut error = None;
        let mut fresh = false;
        let mut truncated = false;
        // Size reads by what the file seems to hold, so an idle check does not allocate a whole batch. Only a hint:
        // the reads themselves find the end.
        let mut avail = h.file.metadata().map_or(u64::MAX, |m| m.len().saturating_sub(h.offset));
        loop {
            // Stop at a full batch, unless no line is complete yet (then read on, up to the line cap).
            let old = buf.len();
            let chunk = if old < target {
                target - old
            } else if newline || old >= cap {
                break;
            } else {
                (cap - old).min(target)
            };
            let chunk = chunk.min(usize::try_from(avail).unwrap_or(usize::MAX).max(MIN_READ));
            let k = h.recent.len();
            buf.resize(old + k + chunk, 0);
            match h.file.read_at(&mut buf[old..], h.offset - k as u64) {
                Ok(n) if n < k || buf[old..old + k] != h.recent[..] => {
                    buf.truncate(old);
                    truncated = true;
                    break;
                }
                Ok(n) if n == k => {
                    buf.truncate(old);
                    eof = true;
                    break;
                }
                Ok(n) => {
                    buf.truncate(old + n);
                    buf.drain(old..old + k);
                    h.offset += (n - k) as u64;
                    avail = avail.saturating_sub((n - k) as u64);
                    fresh = true;
                    h.remember(&buf[old..]);
                    newline = newline || memchr::memchr(b'\n', &buf[old..]).is_some();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(old),
                Err(e) => {
                    buf.truncate(old);
                    error = Some(e);
                    break;
                }
            }
        }
        if h.skipping {
            // the rest of a line cut at the cap: up to its newline
            match memchr::memchr(b'\n', &buf) {
                Some(nl) => {
                    buf.drain(..=nl);
                    h.skipping = false;
                }
                None => buf.clear(),
            }
        }
        // Whole lines up to the batch size; a single longer line is sent alone.
        let within = &buf[..buf.len().min(target)];
        let mut cut = false;
        let split = match memchr::memrchr(b'\n', within).or_else(|| memchr::memchr(b'\n', &buf)) {
            Some(i) => i + 1,
            None if buf.len() >= cap => {
                // An absurdly long line: cut it rather than hold unbounded data.
                buf.push(b'\n');
                h.skipping = true;
                cut = true;
                buf.len()
            }
            None => 0,
        };
        h.partial = buf.split_off(split);
        if !buf.is_empty() {
            let first = h.next_line;
            h.next_line += memchr::memchr_iter(b'\n', &buf).count() as u64;
            let msg = self.lines(first, buf);
            out.push(msg);
            if cut {
                self.cut += 1;
                let name = self.label.as_deref().map_or_else(|| self.path.display().to_string(), str::to_string);
                out.push(self.event(SourceEvent::LineCut { name, line: first, total: self.cut }));
            }
        }
        let Some(h) = self.handle.as_mut() else { return Ok(ReadEnd::Eof) };
        if let Some(e) = error {
            return Err(e);
        }
        if truncated {
            return Ok(ReadEnd::Truncated);
        }
        if !eof {
            h.eof_since = None;
        } else if fresh || h.eof_since.is_none() {
            h.eof_since = Some(Instant::now());
        }
        // Whole lines left over from a full batch are sent next, without waiting.
        Ok(if !eof || h.partial.contains(&b'\n') { ReadEnd::More } else { ReadEnd::Eof })
    }

    /// At end of file: does the path still name our file? Returns whether to step again at once.
    fn check_path(&mut self, out: &mut Vec<SourceMsg>) -> bool {
        let Some(h) = self.handle.as_ref() else { return true };
        let unlinked = h.file.metadata().is_ok_and(|m| m.nlink() == 0);
        let lingered = unlinked && h.eof_since.is_some_and(|t| t.elapsed() >= LINGER);
        match fs::metadata(&self.path) {
            Ok(m) if file_id(&m) == h.fid => {
                self.set_detached(false);
                false
            }
            Ok(m) => {
                // Another file took the path. Keep reading the old one while the new one is empty: the writer may
                // not have reopened yet.
                self.set_detached(true);
                if m.len() == 0 && !lingered {
                    return false;
                }
                // One more drain: whatever the writer appended to the old file before writing the new one.
                if let Ok(ReadEnd::More) = self.read(out) {
                    return true;
                }
                self.close(out);
                self.set_detached(false);
                out.push(self.event(SourceEvent::Rotated { path: self.path.clone() }));
                true
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Renamed away or deleted: keep reading the old handle until a new file appears.
                self.set_detached(true);
                if lingered {
                    self.close(out);
                    self.rotated_pending = true;
                    return true;
                }
                false
            }
            Err(_) => false,
        }
    }
}

/// Where following `path` (open as `file`, `len` bytes long) begins: where `finder` says, else at `start`.
pub fn start_offset(
    file: &File,
    len: u64,
    path: &Path,
    start: StartAt,
    finder: Option<&StartFinder>,
) -> io::Result<u64> {
    match (finder.and_then(|f| (f.0)(path)), start) {
        (Some(at), _) => Ok(at.min(len)),
        (None, StartAt::LastLines(n)) => last_lines_start(file, len, n),
        (None, StartAt::Beginning) => Ok(0),
    }
}

/// The offset of the start of the n-th last line, reading backwards from the end in blocks. A final line without
/// `\n` counts as a line.
pub fn last_lines_start(file: &File, len: u64, n: usize) -> io::Result<u64> {
    if len == 0 {
        return Ok(0);
    }
    let mut last = [0u8];
    file.read_exact_at(&mut last, len - 1)?;
    // Find the `need`-th newline before `end`; the line starts after it.
    let (mut end, mut need) = if n == 0 { (len, 1) } else { (len - u64::from(last[0] == b'\n'), n) };
    let mut block = vec![0u8; BACK_BLOCK as usize];
    while end > 0 {
        let start = end.saturating_sub(BACK_BLOCK);
        let chunk = &mut block[..(end - start) as usize];
        file.read_exact_at(chunk, start)?;
        for i in memchr::memrchr_iter(b'\n', chunk) {
            need -= 1;
            if need == 0 {
                return Ok(start + i as u64 + 1);
            }
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn start_of(content: &[u8], n: usize) -> usize {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(content).unwrap();
        last_lines_start(&f, content.len() as u64, n).unwrap() as usize
    }

    #[test]
    fn last_lines() {
        assert_eq!(start_of(b"", 3), 0);
        assert_eq!(start_of(b"a\nb\nc\n", 0), 6);
        assert_eq!(start_of(b"a\nb\nc\n", 1), 4);
        assert_eq!(start_of(b"a\nb\nc\n", 2), 2);
        assert_eq!(start_of(b"a\nb\nc\n", 3), 0);
        assert_eq!(start_of(b"a\nb\nc\n", 10), 0);
        assert_eq!(start_of(b"a\nb\nc", 0), 4);
        assert_eq!(start_of(b"a\nb\nc", 1), 4);
        assert_eq!(start_of(b"a\nb\nc", 2), 2);
        assert_eq!(start_of(b"\n\n", 1), 1);
    }

    #[test]
    fn last_lines_across_blocks() {
        let mut content = Vec::new();
        for i in 0..50_000 {
            content.extend_from_slice(format!("line {i:06}\n").as_bytes());
        }
        let at = start_of(&content, 12_345);
        assert_eq!(&content[at..at + 12], format!("line {:06}\n", 50_000 - 12_345).as_bytes());
    }
}
