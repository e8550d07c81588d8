//! Puts the git commit the binary is built from into `gatewatch --version` (GATEWATCH_GIT_COMMIT), so a binary
//! copied to a host says which code it is. Outside a git checkout (a source tarball, `cargo install` from the
//! registry) it says `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    // only this checkout's own commit: not that of a repository the sources happen to sit in (a vendored copy)
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").ok().and_then(|d| std::fs::canonicalize(d).ok());
    let toplevel = git(&["rev-parse", "--show-toplevel"]).and_then(|d| std::fs::canonicalize(d).ok());
    let ours = manifest_dir.is_some() && manifest_dir == toplevel;
    let commit = ours.then(|| git(&["rev-parse", "--short=12", "HEAD"])).flatten().unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=GATEWATCH_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves: HEAD itself (a checkout), the branch it points at (a commit), and packed-refs
    // (a branch packed by `git gc`). `--git-path` finds them in a worktree too, where `.git` is a file.
    // Without these lines cargo would rerun this script on every change to any file of the package.
    println!("cargo:rerun-if-changed=build.rs");
    if !ours {
        return;
    }
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        let Some(path) = git(&["rev-parse", "--git-path", &name]) else { continue };
        let path = std::path::Path::new(&path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        } else if let Some(dir) = path.parent().filter(|d| name.starts_with("refs/") && d.exists()) {
            // a branch only in packed-refs: its first commit writes the file here
            println!("cargo:rerun-if-changed={}", dir.display());
        }
    }
}
