//! Resuming a remote `tail` where it stopped. An `ssh://` source runs a small POSIX script on the host: it works out
//! where to start (the last N lines, or, after a dropped connection, the byte after the last whole line received),
//! announces it with a marker line, then runs `tail -c +OFFSET -F`. The marker carries the file's inode, so a
//! reconnect notices a file that was rotated or truncated while the host was unreachable: the rest of the rotated
//! file (`PATH.1`) comes first, then the new file from its start. Nothing is lost and nothing is counted twice.
//!
//! Marker lines start with a tag made fresh for each gatewatch process (`@gatewatch-<hex>`), so a log line cannot
//! pass for one: `TAG start OFFSET INODE HOW` (this file, from byte OFFSET) or `TAG old OFFSET INODE` (the rest of
//! the rotated file). HOW is `first`, `resumed`, `truncated`, `rotated` or `lost`.

use std::time::{Duration, Instant};

/// The file a remote `tail` follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    /// Its path on the host (a glob is expanded by the remote shell and is not resumed byte for byte).
    pub path: String,
    /// How many existing lines to start with (`None`: the whole file).
    pub lines: Option<usize>,
}

impl RemoteFile {
    fn is_glob(&self) -> bool {
        self.path.contains(['*', '?', '['])
    }
}

/// Where the stream stands in the remote file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Point {
    /// The file's inode when it was opened (`-` when it did not exist yet).
    inode: String,
    /// The byte of the file the stream started at.
    base: u64,
    /// Bytes received since, through the last whole line.
    received: u64,
    /// How many first bytes of the file its fingerprint covers (0: none yet), and the fingerprint (`cksum`).
    fingerprint: (String, String),
}

/// A resumable remote tail: the state kept between connections.
#[derive(Debug)]
pub struct Resume {
    tag: String,
    point: Option<Point>,
    /// When the last connection ended (for "back after …").
    dropped_at: Option<Instant>,
    /// Runs so far (a glob path starts again with no history after the first).
    runs: u32,
}

/// What a reconnect found, for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resumed {
    /// How long the host was unreachable.
    pub away: Duration,
    /// What was done about the gap.
    pub how: String,
}

/// The script the remote shell runs (`sh -c SCRIPT gatewatch N PATH TAG INODE OFFSET K FINGERPRINT`). A file is
/// known by its inode and the checksum of its first K bytes (at most 64): filesystems hand a freed inode to the
/// next new file at once, so an inode alone would take a new log for the old one. POSIX sh with `wc`,
/// `tail -c`, `head -c` and `ls -di`: GNU coreutils and busybox both have them. No single quote in it: it
/// travels single-quoted.
const SCRIPT: &str = r#"n=$1 f=$2 tag=$3 ino=$4 pos=$5 fk=$6 fv=$7
inode() { set -f; set -- $(ls -di -- "$1" 2>/dev/null); set +f; echo "$1"; }
size() { if [ -e "$1" ]; then echo $(($(wc -c < "$1"))); else echo 0; fi; }
fp() { if [ "$2" -gt 0 ]; then head -c "$2" -- "$1" 2>/dev/null | cksum | { read -r c _; echo "$c"; }; else echo -; fi; }
mark() { k=$(size "$f"); [ "$k" -gt 64 ] && k=64; echo "$tag $1 $2 $3 $4 $k $(fp "$f" "$k")"; }
same() { [ "$(inode "$1")" = "$ino" ] && { [ "${fk:-0}" = 0 ] || [ "$(fp "$1" "$fk")" = "$fv" ]; }; }
p=0
if [ -z "$ino" ]; then
  cur=$(inode "$f")
  if [ -n "$cur" ] && [ "$n" != all ]; then
    s=$(size "$f")
    w=$((n * 1024 + 65536)); [ "$w" -gt "$s" ] && w=$s
    b=$(($(tail -c +$((s - w + 1)) -- "$f" | head -c "$w" | tail -n "$n" | wc -c)))
    if [ "$b" -ge "$w" ] && [ "$w" -lt "$s" ]; then b=$(($(head -c "$s" -- "$f" | tail -n "$n" | wc -c))); fi
    p=$((s - b))
  fi
  mark start "$p" "${cur:--}" first
else
  cur=$(inode "$f")
  if [ "$ino" = - ] || [ "$cur" = "$ino" ]; then
    if [ "$(size "$f")" -lt "$pos" ]; then mark start 0 "$cur" truncated
    elif [ "$ino" = - ] || same "$f"; then p=$pos; mark start "$p" "${cur:--}" resumed
    else mark start 0 "$cur" replaced; fi
  elif same "$f.1"; then
    s1=$(size "$f.1")
    if [ "$pos" -le "$s1" ]; then
      mark old "$pos" "$ino"
      tail -c +$((pos + 1)) -- "$f.1" | head -c $((s1 - pos))
      [ "$s1" -gt "$pos" ] && [ -n "$(tail -c 1 -- "$f.1")" ] && echo
      mark start 0 "${cur:--}" rotated
    else
      p=$((pos - s1)); [ "$(size "$f")" -ge "$p" ] || p=0
      mark start "$p" "${cur:--}" resumed
    fi
  else
    mark start 0 "${cur:--}" lost
  fi
fi
exec tail -c +$((p + 1)) -F -- "$f""#;

impl Resume {
    /// A new resumable tail with a fresh tag.
    pub fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        h.write_u32(std::process::id());
        Resume { tag: format!("@gatewatch-{:016x}", h.finish()), point: None, dropped_at: None, runs: 0 }
    }

    /// The remote command line for the next run: the script with where to start.
    pub fn command(&mut self, file: &RemoteFile) -> String {
        self.runs += 1;
        if file.is_glob() {
            // several files through one `tail`: no byte offset to resume at, so after the first run start at
            // their ends rather than show their last lines again
            let n = if self.runs > 1 { "0".to_string() } else { file.lines.map_or("+1".into(), |n| n.to_string()) };
            return format!("tail -n {n} -F {}", remote_quote(&file.path));
        }
        let (ino, pos, (fk, fv)) = match &self.point {
            Some(p) => (p.inode.clone(), (p.base + p.received).to_string(), p.fingerprint.clone()),
            None => (String::new(), String::new(), ("0".to_string(), "-".to_string())),
        };
        let n = file.lines.map_or("all".to_string(), |n| n.to_string());
        let args = [n.as_str(), &file.path, &self.tag, &ino, &pos, &fk, &fv].map(quote).join(" ");
        format!("sh -c {} gatewatch {args}", quote(SCRIPT))
    }

    /// The connection ended.
    pub fn dropped(&mut self) {
        self.dropped_at = Some(Instant::now());
    }

    /// Take the marker lines out of `data` (whole lines as received) and count the bytes around them. Returns what
    /// a reconnect found, when a marker says so.
    pub fn take_markers(&mut self, data: &mut Vec<u8>) -> Vec<Resumed> {
        let mut found = Vec::new();
        let tag = self.tag.clone();
        let tag = tag.as_bytes();
        let mut out: Option<Vec<u8>> = None;
        let mut start = 0;
        let mut from = 0;
        while let Some(i) = memchr::memmem::find(&data[from..], tag).map(|i| from + i) {
            let end = memchr::memchr(b'\n', &data[i..]).map_or(data.len(), |e| i + e + 1);
            if i > 0 && data[i - 1] != b'\n' {
                from = end;
                continue;
            }
            self.count(&data[start..i]);
            out.get_or_insert_with(Vec::new).extend_from_slice(&data[start..i]);
            if let Some(r) = self.marker(&data[i..end]) {
                found.push(r);
            }
            start = end;
            from = end;
        }
        if let Some(mut out) = out {
            self.count(&data[start..]);
            out.extend_from_slice(&data[start..]);
            *data = out;
        } else {
            self.count(data);
        }
        found
    }

    /// Bytes of a line longer than the line limit skipped (through its newline), or (negative) a newline added
    /// to cut it.
    pub fn adjust(&mut self, bytes: i64) {
        if let Some(p) = &mut self.point {
            p.received = p.received.saturating_add_signed(bytes);
        }
    }

    fn count(&mut self, lines: &[u8]) {
        if let Some(p) = &mut self.point {
            p.received += lines.len() as u64;
        }
    }

    fn marker(&mut self, line: &[u8]) -> Option<Resumed> {
        let text = std::str::from_utf8(line).ok()?;
        let mut words = text.split_ascii_whitespace().skip(1);
        let (kind, offset, inode) = (words.next()?, words.next()?.parse().ok()?, words.next()?.to_string());
        let how = words.next().unwrap_or("");
        let fk = words.next().filter(|k| k.bytes().all(|b| b.is_ascii_digit())).unwrap_or("0").to_string();
        let fv = words.next().unwrap_or("-").to_string();
        self.point = Some(Point { inode, base: offset, received: 0, fingerprint: (fk, fv) });
        let away = self.dropped_at.map(|t| t.elapsed())?;
        let how = match (kind, how) {
            ("old", _) => return None,
            (_, "resumed") => format!("resumed at byte {offset}: nothing missed, nothing repeated"),
            (_, "rotated") => "the file was rotated meanwhile: read the rest of the old one, then the new one".into(),
            (_, "truncated") => "the file was truncated meanwhile: reading it from its start".into(),
            (_, "replaced") => "the file was replaced or rewritten meanwhile (its first bytes differ): reading it \
                                from its start; lines written to the old one while away may be missing"
                .into(),
            (_, "lost") => "the file was replaced meanwhile and the old one is not beside it (.1): \
                            lines written while away are missing"
                .into(),
            _ => return None,
        };
        Some(Resumed { away, how })
    }
}

impl Default for Resume {
    fn default() -> Self {
        Resume::new()
    }
}

/// Quote a path for a POSIX shell, leaving `*`, `?` and `[...]` unquoted so the remote shell expands them.
fn remote_quote(path: &str) -> String {
    let mut out = String::new();
    let mut quoted = String::new();
    let flush = |quoted: &mut String, out: &mut String| {
        if !quoted.is_empty() {
            out.push('\'');
            out.push_str(&quoted.replace('\'', r"'\''"));
            out.push('\'');
            quoted.clear();
        }
    };
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']') {
            flush(&mut quoted, &mut out);
            out.push(c);
        } else {
            quoted.push(c);
        }
    }
    flush(&mut quoted, &mut out);
    out
}

/// Quote a word for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run the remote command locally, as the host's shell would, until its output has settled (its marker in, then
    /// nothing new for a while), do `meanwhile`, let it settle again, and cut it short: what it printed.
    fn run_while(r: &mut Resume, file: &RemoteFile, meanwhile: impl FnOnce()) -> Vec<u8> {
        use std::io::Read;
        use std::os::unix::process::CommandExt;
        use std::sync::{Arc, Mutex};
        let cmd = r.command(file);
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 64 << 10];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let tag = r.tag.clone();
        let settle = || {
            let start = std::time::Instant::now();
            let mut last = (usize::MAX, std::time::Instant::now());
            while start.elapsed() < Duration::from_secs(20) {
                let now = out.lock().unwrap().clone();
                let marked = memchr::memmem::find(&now, tag.as_bytes()).is_some();
                if now.len() != last.0 {
                    last = (now.len(), std::time::Instant::now());
                } else if marked && last.1.elapsed() > Duration::from_millis(400) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            panic!("the remote command's output did not settle");
        };
        settle();
        meanwhile();
        settle();
        // the connection drops: everything the remote command started goes
        std::process::Command::new("kill").args(["-9", "--", &format!("-{}", child.id())]).status().unwrap();
        let _ = child.wait();
        reader.join().unwrap();
        r.dropped();
        out.lock().map(|d| d.clone()).unwrap()
    }

    /// What a run shows: the lines (markers taken out) and what the reconnect found.
    fn lines(r: &mut Resume, file: &RemoteFile) -> (String, Vec<String>) {
        lines_while(r, file, || {})
    }

    fn lines_while(r: &mut Resume, file: &RemoteFile, meanwhile: impl FnOnce()) -> (String, Vec<String>) {
        let mut data = run_while(r, file, meanwhile);
        // a trailing partial line is not received
        let whole = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        data.truncate(whole);
        let found = r.take_markers(&mut data);
        (String::from_utf8(data).unwrap(), found.into_iter().map(|f| f.how).collect())
    }

    fn append(path: &std::path::Path, text: &str) {
        use std::io::Write;
        std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn starts_with_the_last_lines_then_resumes_after_the_last_whole_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("it's a log");
        std::fs::write(&log, "1\n2\n3\n4\n5\n6 partial").unwrap();
        let file = RemoteFile { path: log.display().to_string(), lines: Some(3) };
        let mut r = Resume::new();
        let (text, found) = lines(&mut r, &file);
        assert_eq!(text, "4\n5\n");
        assert!(found.is_empty(), "the first run is no reconnect");
        append(&log, " done\n7\n");
        let (text, found) = lines(&mut r, &file);
        assert_eq!(text, "6 partial done\n7\n", "the partial line comes again, whole");
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("resumed at byte 10:"), "{found:?}");
        let (text, _) = lines(&mut r, &file);
        assert_eq!(text, "", "nothing twice");
    }

    #[test]
    fn a_rotation_while_away_reads_the_rest_of_the_old_file_then_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, "a\nb\n").unwrap();
        let file = RemoteFile { path: log.display().to_string(), lines: None };
        let mut r = Resume::new();
        assert_eq!(lines(&mut r, &file).0, "a\nb\n");
        append(&log, "c\nd");
        std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
        std::fs::write(&log, "e\n").unwrap();
        let (text, found) = lines(&mut r, &file);
        assert_eq!(text, "c\nd\ne\n");
        assert!(found[0].contains("rotated"), "{found:?}");
        // rotated again, and the old copy is gone
        std::fs::remove_file(dir.path().join("access.log.1")).unwrap();
        std::fs::remove_file(&log).unwrap();
        std::fs::write(&log, "f\n").unwrap();
        let (text, found) = lines(&mut r, &file);
        // the new file may get the old one's inode (ext4 hands a freed one out at once): its first bytes tell
        assert_eq!(text, "f\n");
        assert!(found[0].contains("missing"), "{found:?}");
    }

    /// The same inode with other first bytes is another log (rewritten in place, or a new file given the old one's
    /// freed inode): it is read from its start, not resumed at the old offset.
    #[test]
    fn a_file_rewritten_under_the_same_inode_is_read_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, "hello\n").unwrap();
        let file = RemoteFile { path: log.display().to_string(), lines: None };
        let mut r = Resume::new();
        assert_eq!(lines(&mut r, &file).0, "hello\n");
        // rewritten in place while away: same inode, longer than the old offset
        std::fs::write(&log, "world!\nmore\n").unwrap();
        let (text, found) = lines(&mut r, &file);
        assert_eq!(text, "world!\nmore\n");
        assert!(found[0].contains("rewritten"), "{found:?}");
        // appended to since: resumed where it stopped
        append(&log, "again\n");
        let (text, found) = lines(&mut r, &file);
        assert_eq!(text, "again\n");
        assert!(found[0].contains("resumed at byte 12"), "{found:?}");
    }

    #[test]
    fn a_rotation_while_connected_then_a_drop_resumes_in_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, "a\n").unwrap();
        let file = RemoteFile { path: log.display().to_string(), lines: None };
        let mut r = Resume::new();
        let (text, _) = lines_while(&mut r, &file, || {
            append(&log, "b\n");
            std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
            std::fs::write(&log, "c\n").unwrap();
            // `tail -F` notices the new file within a second
            std::thread::sleep(Duration::from_millis(1500));
            append(&log, "d\n");
        });
        assert_eq!(text, "a\nb\nc\nd\n");
        append(&log, "e\n");
        let (text, found) = lines(&mut r, &file);
        assert_eq!(text, "e\n", "{found:?}");
    }

    #[test]
    fn a_truncation_while_away_reads_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, "aaaa\nbbbb\n").unwrap();
        let file = RemoteFile { path: log.display().to_string(), lines: Some(10) };
        let mut r = Resume::new();
        assert_eq!(lines(&mut r, &file).0, "aaaa\nbbbb\n");
        std::fs::write(&log, "c\n").unwrap();
        let (text, found) = lines(&mut r, &file);
        assert_eq!(text, "c\n");
        assert!(found[0].contains("truncated"), "{found:?}");
    }

    #[test]
    fn a_file_that_does_not_exist_yet_is_waited_for_and_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("later.log");
        let file = RemoteFile { path: log.display().to_string(), lines: Some(10) };
        let mut r = Resume::new();
        assert_eq!(lines(&mut r, &file).0, "");
        std::fs::write(&log, "x\n").unwrap();
        let (text, found) = lines(&mut r, &file);
        assert_eq!(text, "x\n");
        assert!(found[0].starts_with("resumed at byte 0"), "{found:?}");
    }

    #[test]
    fn the_last_lines_of_a_file_longer_than_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("big.log");
        // two lines of 100 kB: the last one alone is past the first window
        let long = "x".repeat(100_000);
        std::fs::write(&log, format!("{long}\n{long}y\nz\n")).unwrap();
        let file = RemoteFile { path: log.display().to_string(), lines: Some(2) };
        let (text, _) = lines(&mut Resume::new(), &file);
        assert!(text == format!("{long}y\nz\n"), "{} bytes: {:?}…", text.len(), &text[..text.len().min(40)]);
    }

    #[test]
    fn a_log_line_cannot_pass_for_a_marker() {
        let mut r = Resume::new();
        let mut data = format!("{} start 0 1 first\n", r.tag).into_bytes();
        r.take_markers(&mut data);
        assert!(data.is_empty());
        r.dropped();
        // another process's tag, and ours in the middle of a line, are log text
        let mut data = format!("@gatewatch-0000 start 5 1 resumed\nGET /{} start 9 9 lost\n", r.tag).into_bytes();
        let before = data.clone();
        assert!(r.take_markers(&mut data).is_empty());
        assert_eq!(data, before);
        assert_eq!(r.point.as_ref().unwrap().received, before.len() as u64);
    }

    #[test]
    fn the_script_travels_single_quoted() {
        assert!(!SCRIPT.contains('\''));
    }

    #[test]
    fn a_glob_path_starts_again_at_the_end() {
        let mut r = Resume::new();
        let file = RemoteFile { path: "/var/log/it's/*.log".into(), lines: Some(5) };
        assert_eq!(r.command(&file), r"tail -n 5 -F '/var/log/it'\''s/'*'.log'");
        assert_eq!(r.command(&file), r"tail -n 0 -F '/var/log/it'\''s/'*'.log'");
    }
}
