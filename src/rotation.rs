//! A log and the files logrotate made of it — `access.log.1`, `access.log.2.gz`, `access.log-20261123.gz` — as
//! one history, oldest first, and which of them a `--since` window needs, found from the files' first times
//! without reading them whole.

use std::path::{Path, PathBuf};

/// Where a rotated file stands in the history: numbered ones (`.1` newest) and dated ones (`-20261123`, older
/// first).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Age {
    /// `-YYYYMMDD[HH…]`: older dates first.
    Dated(String),
    /// `.N`: the larger, the older; kept negated so that sorting puts the oldest first.
    Numbered(std::cmp::Reverse<u32>),
}

/// The rotation suffix of `name` after the live file's name `live`: `.3`, `.3.gz`, `-20261123`, `-20261123.zst`.
fn age(live: &str, name: &str) -> Option<Age> {
    let rest = name.strip_prefix(live)?;
    let rest = [".gz", ".zst", ".xz", ".bz2"].iter().find_map(|c| rest.strip_suffix(c)).unwrap_or(rest);
    if let Some(n) = rest.strip_prefix('.') {
        return n.parse::<u32>().ok().map(|n| Age::Numbered(std::cmp::Reverse(n)));
    }
    let d = rest.strip_prefix('-').or_else(|| rest.strip_prefix('.'))?;
    (d.len() >= 8 && d.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'_')).then(|| Age::Dated(d.to_string()))
}

/// `live` and its rotated files beside it, oldest first, `live` last (it is included even if it does not exist,
/// for the reader to say so).
pub fn set(live: &Path) -> Vec<PathBuf> {
    let dir = live.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(name) = live.file_name().and_then(|n| n.to_str()) else { return vec![live.to_path_buf()] };
    let mut rotated: Vec<(Age, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let file = e.file_name();
            let a = age(name, file.to_str()?)?;
            e.file_type().ok()?.is_file().then(|| (a, live.with_file_name(file)))
        })
        .collect();
    // dated names are older than numbered ones only by convention; a directory has one or the other
    rotated.sort();
    rotated.into_iter().map(|(_, p)| p).chain([live.to_path_buf()]).collect()
}

/// Of a history (oldest first), the files that may hold lines at or after `since_us`: each file's lines end where
/// the next one's begin, so a file is needed when the next one's first time is after `since_us` (the last always
/// is). `first_time` reads a file's first time (the start of the file, decompressed if need be).
pub fn needed_since(files: &[PathBuf], since_us: i64, first_time: impl Fn(&Path) -> Option<i64>) -> Vec<PathBuf> {
    let firsts: Vec<Option<i64>> = files.iter().map(|f| first_time(f)).collect();
    files
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            // the next file with a known first time bounds this one's end
            // (lines are written up to two minutes out of order: the file before may hold some of the window)
            let next = firsts[i + 1..].iter().flatten().next();
            next.is_none_or(|&t| t > since_us - crate::window::DISORDER_US)
        })
        .map(|(_, f)| f.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "access.log",
            "access.log.1",
            "access.log.2.gz",
            "access.log.10.zst",
            "access.log.3",
            "error.log.1",
            "access.log.old",
        ] {
            std::fs::write(dir.path().join(f), "x\n").unwrap();
        }
        let names: Vec<String> = set(&dir.path().join("access.log"))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["access.log.10.zst", "access.log.3", "access.log.2.gz", "access.log.1", "access.log"]);

        let dir = tempfile::tempdir().unwrap();
        for f in ["app.log", "app.log-20261122.gz", "app.log-20261121.gz", "app.log-20261123"] {
            std::fs::write(dir.path().join(f), "x\n").unwrap();
        }
        let names: Vec<String> = set(&dir.path().join("app.log"))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["app.log-20261121.gz", "app.log-20261122.gz", "app.log-20261123", "app.log"]);
    }

    #[test]
    fn only_the_files_a_window_needs() {
        let files: Vec<PathBuf> = ["a.3", "a.2", "a.1", "a"].iter().map(PathBuf::from).collect();
        const H: i64 = 3_600_000_000;
        let firsts = |p: &Path| match p.to_str().unwrap() {
            "a.3" => Some(H),
            "a.2" => Some(2 * H),
            "a.1" => Some(3 * H),
            _ => Some(4 * H),
        };
        let names = |v: Vec<PathBuf>| v.iter().map(|p| p.display().to_string()).collect::<Vec<_>>();
        assert_eq!(names(needed_since(&files, 4 * H + H / 2, firsts)), ["a"]);
        assert_eq!(names(needed_since(&files, 2 * H + H / 2, firsts)), ["a.2", "a.1", "a"]);
        // a window that starts right at a rotation: the file before may hold a few lines of it, written late
        assert_eq!(names(needed_since(&files, 3 * H, firsts)), ["a.2", "a.1", "a"]);
        assert_eq!(names(needed_since(&files, 3 * H + H / 4, firsts)), ["a.1", "a"]);
        assert_eq!(names(needed_since(&files, 0, firsts)), ["a.3", "a.2", "a.1", "a"]);
    }
}
