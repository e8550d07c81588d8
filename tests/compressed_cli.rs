//! Rotated, compressed logs (`access.log.2.gz`, `.zst`) read decompressed, recognised by their bytes whatever
//! their name; a file that cannot be decompressed is an error naming it, never a report of its bytes as text.

use std::io::Write;
use std::process::Command;

use serde_json::Value;

fn gatewatch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gatewatch")).args(args).output().unwrap()
}

fn report(path: &std::path::Path) -> Value {
    let out = gatewatch(&["report", "--json", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn gzip_and_zstd_report_what_the_plain_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("access.log");
    let out = gatewatch(&[
        "generate",
        "--requests",
        "5000",
        "--incident",
        "--seed",
        "5",
        "--gateway-out",
        plain.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = std::fs::read(&plain).unwrap();
    // logrotate's names, and a name that says nothing
    let gz = dir.path().join("access.log.2.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&text).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let zst = dir.path().join("access.log.3");
    std::fs::write(&zst, ruzstd::encoding::compress_to_vec(&text[..], ruzstd::encoding::CompressionLevel::Fastest))
        .unwrap();
    let want = report(&plain);
    assert_eq!(want["requests"], 5000);
    for path in [&gz, &zst] {
        let got = report(path);
        assert_eq!(got["status"], want["status"], "{}", path.display());
        assert_eq!(got["sources"][0]["unparsed"], 0, "{}", path.display());
        assert_eq!(got["sources"][0]["format"], "nginx", "{}", path.display());
    }
    // trace reads them too, and --since filters what it cannot seek in
    let id = text.split(|&b| b == b'\n').next().and_then(|l| {
        let l = String::from_utf8_lossy(l).to_string();
        l.split("rid=").nth(1).map(|r| r[..32].to_string())
    });
    let id = id.unwrap();
    let out = gatewatch(&["trace", "--json", &id, gz.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(t["hops"][0]["line"], 1);
    let out = gatewatch(&["report", "--json", "--since", "2024-05-01T12:00:10Z", gz.to_str().unwrap()]);
    let windowed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let plain_windowed: Value = serde_json::from_slice(
        &gatewatch(&["report", "--json", "--since", "2024-05-01T12:00:10Z", plain.to_str().unwrap()]).stdout,
    )
    .unwrap();
    assert_eq!(windowed["status"], plain_windowed["status"]);
    let n = windowed["requests"].as_u64().unwrap();
    assert!(n > 0 && n < 5000, "the window holds part of the log: {n}");
}

#[test]
fn a_cut_archive_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..20_000 {
        writeln!(e, r#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /x/{i} HTTP/1.1" 200 12 "-" "curl/8""#).unwrap();
    }
    let mut z = e.finish().unwrap();
    z.truncate(z.len() / 2);
    let cut = dir.path().join("access.log.1.gz");
    std::fs::write(&cut, z).unwrap();
    let out = gatewatch(&["report", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("access.log.1.gz") && err.contains("deflate"), "{err}");
}

#[test]
fn tail_reads_a_compressed_file_whole_and_ends() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..3000 {
        writeln!(e, r#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /x/{i} HTTP/1.1" 200 12 "-" "curl/8""#).unwrap();
    }
    let gz = dir.path().join("access.log.2.gz");
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    // under `timeout`: a tail that did not end would fail the test instead of hanging it
    let out = Command::new("timeout")
        .args(["20", env!("CARGO_BIN_EXE_gatewatch"), "tail", "--json", gz.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "tail ended by itself");
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3000);
    assert_eq!((&lines[2999]["path"], &lines[2999]["line"]), (&Value::from("/x/2999"), &Value::from(3000)));
}
