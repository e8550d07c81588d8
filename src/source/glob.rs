//! Shell-style glob patterns for file paths: `*`, `?`, `[abc]`, `[a-z]`, `[!x]` (or `[^x]`), `{a,b}` and `\`
//! escapes (compiled by `globset`), matched per path component (a wildcard never matches `/`, and a leading `.` must
//! be matched literally). No `**`.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Whether a pattern component contains wildcard characters.
pub fn has_magic(component: &[u8]) -> bool {
    component.iter().any(|&b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
}

/// One pattern component, compiled once for the names of a directory.
struct Pattern {
    /// The wildcard matcher; `None` for a component `globset` does not take (an unclosed `[`, a trailing `\\`,
    /// invalid UTF-8), which then matches only itself, as a shell takes it.
    glob: Option<globset::GlobMatcher>,
    literal: Vec<u8>,
}

impl Pattern {
    fn new(pattern: &[u8]) -> Self {
        let glob = std::str::from_utf8(pattern).ok().and_then(|p| {
            globset::GlobBuilder::new(p)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .ok()
                .map(|g| g.compile_matcher())
        });
        Pattern { glob, literal: pattern.to_vec() }
    }

    fn matches(&self, name: &[u8]) -> bool {
        // hidden files are only matched by a pattern that starts with a literal dot
        if name.first() == Some(&b'.') && self.literal.first() != Some(&b'.') {
            return false;
        }
        match &self.glob {
            Some(g) => g.is_match(Path::new(std::ffi::OsStr::from_bytes(name))),
            None => self.literal == name,
        }
    }
}

/// Whether one file name matches one pattern component.
pub fn matches(pattern: &[u8], name: &[u8]) -> bool {
    Pattern::new(pattern).matches(name)
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
            let pattern = Pattern::new(bytes);
            let mut next = Vec::new();
            for dir in &dirs {
                for name in list(dir) {
                    let path = dir.join(&name);
                    if pattern.matches(name.as_bytes()) && fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
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
    let pattern = Pattern::new(pat);
    let mut files = Vec::new();
    for dir in &dirs {
        if matches!(last, Component::Normal(_)) && has_magic(pat) {
            for name in list(dir) {
                if pattern.matches(name.as_bytes()) {
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
        assert!(matches(b"{api,web}.access.log", b"web.access.log"));
        assert!(!matches(b"{api,web}.access.log", b"db.access.log"));
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
