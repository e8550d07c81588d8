//! The Debian package, end to end: `bash .ci/package` (the same step `.ci/release` packs the portable binary
//! with) builds it around the test build of gatewatch, `dpkg-deb -x` unpacks it into a temporary directory, and
//! the binary from there answers `--version` and reports on a fixture, with its man page, completions and
//! example config where Debian's tools look for them.

use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_deb_unpacks_to_a_gatewatch_that_reports() {
    if Command::new("cargo").args(["deb", "--version"]).output().map(|o| !o.status.success()).unwrap_or(true) {
        eprintln!(
            "SKIPPED the_deb_unpacks_to_a_gatewatch_that_reports: cargo-deb is not installed \
             (`cargo install cargo-deb --locked`; .ci/run installs it)"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let deb = dir.path().join("gatewatch.deb");
    // cargo-deb takes the binary from {target dir}/release/: a target dir of the test's own holds the test build,
    // so the real target/release/ is neither needed nor touched
    let stage = dir.path().join("target");
    std::fs::create_dir_all(stage.join("release")).unwrap();
    let bin = stage.join("release/gatewatch");
    std::fs::copy(env!("CARGO_BIN_EXE_gatewatch"), &bin).unwrap();
    // --strip: the test build carries debug info; --fast: xz's quick preset, a test has no use for the last bytes
    run(Command::new("bash")
        .arg(root.join(".ci/package"))
        .arg(&bin)
        .args(["--strip", "--fast", "--output"])
        .arg(&deb)
        .env("CARGO_TARGET_DIR", &stage)
        .current_dir(root));

    let fields = run(Command::new("dpkg-deb").args(["--field"]).arg(&deb).args(["Package", "Version", "Architecture"]));
    assert!(fields.contains("Package: gatewatch"), "{fields}");
    assert!(fields.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))), "{fields}");

    let unpacked = dir.path().join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked));
    for file in [
        "usr/bin/gatewatch",
        "usr/share/man/man1/gatewatch.1.gz",
        "usr/share/bash-completion/completions/gatewatch",
        "usr/share/zsh/vendor-completions/_gatewatch",
        "usr/share/fish/vendor_completions.d/gatewatch.fish",
        "usr/share/doc/gatewatch/examples/config.toml",
    ] {
        let path = unpacked.join(file);
        assert!(path.metadata().is_ok_and(|m| m.len() > 0), "{file} is not in the package");
    }
    let gz = std::fs::File::open(unpacked.join("usr/share/man/man1/gatewatch.1.gz")).unwrap();
    let mut man = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut man).unwrap();
    assert_eq!(man, gatewatch::manual::man_page(), "the man page, compressed as Debian's are");
    let example = std::fs::read_to_string(unpacked.join("usr/share/doc/gatewatch/examples/config.toml")).unwrap();
    assert_eq!(example, gatewatch::manual::EXAMPLE_CONFIG);

    let bin = unpacked.join("usr/bin/gatewatch");
    let version = run(Command::new(&bin).arg("--version"));
    assert!(version.starts_with(&format!("gatewatch {} (commit ", env!("CARGO_PKG_VERSION"))), "{version}");
    let report = run(Command::new(&bin)
        .args(["report", "--json", "--priority", "normal"])
        .arg(root.join("tests/fixtures/nginx/main.log")));
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["sources"][0]["requests"], 3, "{report}");
    assert_eq!(report["sources"][0]["status"]["401"], 1, "{report}");
}
