//! Shell-style glob patterns for file paths: `*`, `?`, `[abc]`, `[a-z]`, `[!x]` (or `[^x]`) and `\` escapes, matched
//! per path component (a wildcard never matches `/`, and a leading `.` must be matched literally). No `**`.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Whether a pattern component contains wildcard characters.
pub fn has_magic(component: &[u8]) -> bool {
    component.iter().any(|&b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
}

/// Whether one file name matches one pattern component.
pub fn matches(pattern: &[u8], name: &[u8]) -> bool {
    // Hidden files are only matched by a pattern that starts with a literal dot.
    if name.first() == Some(&b'.') && pattern.first() != Some(&b'.') {
        return false;
    }
    // Iterative matcher with single-star backtracking: O(pattern * name).
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some(b'?') => {
                p += 1;
                n += 1;
                continue;
            }
            Some(b'[') => {
                if let Some((hit, next)) = class(pattern, p, name[n]) {
                    if hit {
                        p = next;
                        n += 1;
                        continue;
                    }
                } else if name[n] == b'[' {
                    // An unclosed `[` is a literal.
                    p += 1;
                    n += 1;
                    continue;
                }
            }
            Some(b'\\') if pattern.get(p + 1) == Some(&name[n]) => {
                p += 2;
                n += 1;
                continue;
            }
            // A trailing `\` is a literal.
            Some(&c) if c == name[n] && !(c == b'\\' && p + 1 < pattern.len()) => {
                p += 1;
                n += 1;
                continue;
            }
            _ => {}
        }
        // Mismatch: let the last star swallow one more byte, or fail.
        match star {
            Some((sp, sn)) => {
                star = Some((sp, sn + 1));
                p = sp;
                n = sn + 1;
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Matches `c` against the class starting at `pattern[start] == b'['`; returns (matched, index after `]`), or None if
/// the class is not closed.
fn class(pattern: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let &b = pattern.get(i)?;
        if b == b']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        let lo = if b == b'\\' {
            i += 1;
            *pattern.get(i)?
        } else {
            b
        };
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&e| e != b']') {
            let hi = pattern[i + 2];
            hit |= lo <= c && c <= hi;
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
}

/// Expands a pattern (wildcards allowed in any component, `**` not special) to the regular files that match it, sorted,
/// and the directories in which matching files may appear (to be watched).
pub fn expand(pattern: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let comps: Vec<Component> = pattern.components().collect();
    let Some((last, parents)) = comps.split_last() else { return (Vec::new(), Vec::new()) };
    let mut dirs = vec![PathBuf::new()];
    for comp in parents {
        let bytes = comp.as_os_str().as_bytes();
        if matches!(comp, Component::Normal(_)) && has_magic(bytes) {
            let mut next = Vec::new();
            for dir in &dirs {
                for name in list(dir) {
                    let path = dir.join(&name);
                    if matches(bytes, name.as_bytes()) && fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
                        next.push(path);
                    }
                }
            }
            next.sort();
            dirs = next;
        } else {
            for dir in &mut dirs {
                dir.push(comp.as_os_str());
            }
        }
    }
    let pat = last.as_os_str().as_bytes();
    let mut files = Vec::new();
    for dir in &dirs {
        if matches!(last, Component::Normal(_)) && has_magic(pat) {
            for name in list(dir) {
                if matches(pat, name.as_bytes()) {
                    let path = dir.join(&name);
                    if fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                        files.push(path);
                    }
                }
            }
        } else {
            let path = dir.join(last.as_os_str());
            if fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                files.push(path);
            }
        }
    }
    files.sort();
    (files, dirs)
}

/// The names in a directory (the empty path meaning the current directory); empty on error.
fn list(dir: &Path) -> Vec<std::ffi::OsString> {
    let dir: &Path = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    match fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.file_name()).collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches(b"*.access.log", b"api.access.log"));
        assert!(!matches(b"*.access.log", b"api.access.log.1"));
        assert!(!matches(b"*.access.log", b"api.error.log"));
        assert!(!matches(b"*.log", b".hidden.log"));
        assert!(matches(b".*.log", b".hidden.log"));
        assert!(matches(b"a?c", b"abc"));
        assert!(!matches(b"a?c", b"ac"));
        assert!(matches(b"*", b"x"));
        assert!(matches(b"a*b*c", b"aXXbYYbc"));
        assert!(!matches(b"a*b*c", b"aXXbYYb"));
        assert!(matches(b"log[0-9]", b"log7"));
        assert!(!matches(b"log[0-9]", b"logx"));
        assert!(matches(b"log[!0-9]", b"logx"));
        assert!(matches(b"log[^0-9]", b"logx"));
        assert!(matches(b"[]]", b"]"));
        assert!(matches(b"a[", b"a["));
        assert!(matches(b"a\\*", b"a*"));
        assert!(!matches(b"a\\*", b"ab"));
        assert!(matches(b"a\\\\", b"a\\"));
        assert!(matches(b"a\\", b"a\\"));
        assert!(!matches(b"a\\", b"a"));
        assert!(matches(b"", b""));
        assert!(!matches(b"", b"a"));
    }

    #[test]
    fn expand_dirs_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for d in ["a", "b", "c.skip"] {
            fs::create_dir(root.join(d)).unwrap();
        }
        for f in ["a/x.log", "a/y.txt", "b/z.log", "c.skip/w.log"] {
            fs::write(root.join(f), b"").unwrap();
        }
        let (files, dirs) = expand(&root.join("[ab]/*.log"));
        assert_eq!(files, vec![root.join("a/x.log"), root.join("b/z.log")]);
        assert_eq!(dirs, vec![root.join("a"), root.join("b")]);
        let (files, dirs) = expand(&root.join("a/x.log"));
        assert_eq!(files, vec![root.join("a/x.log")]);
        assert_eq!(dirs, vec![root.join("a")]);
    }
}
