//! Rotated, compressed logs (`access.log.2.gz`, `.zst`, `.bz2`, `.xz`) read decompressed, recognised by their bytes whatever
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
    // not beside the rotated copies below: a --since window would bring them along as its history
    let plain = dir.path().join("whole.log");
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

/// `file` compressed by the system's `tool` (`bzip2`, `xz`), as logrotate's `compresscmd` leaves it.
fn compressed_by(tool: &str, data: &[u8]) -> Vec<u8> {
    use std::process::Stdio;
    let mut child = Command::new(tool).arg("-c").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "{tool} -c");
    out.stdout
}

/// An incident's log of `requests` generated as `dir/whole.log`: its text and its report.
fn generated(dir: &std::path::Path, requests: &str, seed: &str) -> (Vec<u8>, Value) {
    let plain = dir.join("whole.log");
    let args = ["generate", "--requests", requests, "--incident", "--seed", seed, "--gateway-out"];
    assert!(gatewatch(&[&args[..], &[plain.to_str().unwrap()]].concat()).status.success());
    (std::fs::read(&plain).unwrap(), report(&plain))
}

#[test]
fn bzip2_and_xz_report_what_the_plain_file_does_and_a_cut_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (text, want) = generated(dir.path(), "5000", "6");
    let (a, b) = text.split_at(memchr_newline(&text));
    for (tool, name) in [("bzip2", "access.log.2.bz2"), ("xz", "access.log.3")] {
        // two streams joined (`cat a.bz2 b.bz2`), read as one log
        let path = dir.path().join(name);
        std::fs::write(&path, [compressed_by(tool, a), compressed_by(tool, b)].concat()).unwrap();
        let got = report(&path);
        assert_eq!(got["status"], want["status"], "{tool}");
        assert_eq!((&got["sources"][0]["unparsed"], &got["sources"][0]["format"]), (&0.into(), &"nginx".into()));
        // cut short: an error naming the file, not a report of what came before
        let mut cut = compressed_by(tool, &text);
        cut.truncate(cut.len() / 2);
        let cut_path = dir.path().join(format!("cut-{name}"));
        std::fs::write(&cut_path, cut).unwrap();
        let out = gatewatch(&["report", cut_path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{tool}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("cut-{name}")) && err.contains(&format!("not a valid {tool} stream")), "{err}");
    }
}

#[test]
fn a_pzstd_file_is_decoded_on_several_threads_and_reports_what_the_plain_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let (text, want) = generated(dir.path(), "20000", "7");
    let plain = dir.path().join("whole.log");
    // `pzstd` writes independent frames, each after a skippable frame that gives its length
    let z = Command::new("pzstd").args(["-q", "-1", "-p", "2", "-c", plain.to_str().unwrap()]).output().unwrap();
    assert!(z.status.success(), "pzstd");
    let frames = z.stdout.windows(4).filter(|w| *w == [0x50, 0x2a, 0x4d, 0x18]).count();
    assert!(frames >= 2, "several frames: {frames}");
    let path = dir.path().join("access.log.1.zst");
    std::fs::write(&path, &z.stdout).unwrap();
    for threads in ["1", "3"] {
        let out = gatewatch(&["report", "--json", "--threads", threads, path.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got["status"], want["status"], "--threads {threads}");
        assert_eq!(got["requests"], 20000);
        assert_eq!(got["sources"][0]["unparsed"], 0);
    }
    // cut inside its last frame: an error naming the file
    let cut = dir.path().join("cut.zst");
    std::fs::write(&cut, &z.stdout[..z.stdout.len() - 1000]).unwrap();
    let out = gatewatch(&["report", "--threads", "3", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.zst") && err.contains("not a valid zstd stream"), "{err}");
    assert!(text.len() > 4 << 20);
}

/// Where the line that holds the middle of `text` ends: a place to split it into two whole halves.
fn memchr_newline(text: &[u8]) -> usize {
    text[text.len() / 2..].iter().position(|&b| b == b'\n').map_or(text.len(), |p| text.len() / 2 + p + 1)
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

/// `access.log` with `.1`, `.2.gz` and `.3.zst` beside it: one history, oldest first, with exactly the statuses of
/// the same lines uncompressed in one file; a `--since` window opens only the files it needs.
#[test]
fn a_rotation_set_reads_as_one_history() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.log");
    let out = gatewatch(&[
        "generate",
        "--requests",
        "8000",
        "--rate",
        "1",
        "--incident",
        "--seed",
        "9",
        "--gateway-out",
        whole.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&whole).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8000);
    let part = |k: usize| lines[k * 2000..(k + 1) * 2000].iter().map(|l| format!("{l}\n")).collect::<String>();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let zst = ruzstd::encoding::compress_to_vec(part(0).as_bytes(), ruzstd::encoding::CompressionLevel::Fastest);
    std::fs::write(logs.join("access.log.3.zst"), zst).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(part(1).as_bytes()).unwrap();
    std::fs::write(logs.join("access.log.2.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(logs.join("access.log.1"), part(2)).unwrap();
    std::fs::write(logs.join("access.log"), part(3)).unwrap();
    let live = logs.join("access.log");
    let report = |args: &[&str]| -> Value {
        let out = gatewatch(&[&["report", "--json"], args].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let all = report(&["--with-rotated", live.to_str().unwrap()]);
    let want = report(&[whole.to_str().unwrap()]);
    assert_eq!(all["status"], want["status"]);
    assert_eq!(all["requests"], 8000);
    let paths = |r: &Value| -> Vec<String> {
        r["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["path"].as_str().unwrap().rsplit('/').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(paths(&all), ["access.log.3.zst", "access.log.2.gz", "access.log.1", "access.log"]);
    // the time each part starts at, from its first line
    let first = |k: usize| {
        let l = lines[k * 2000];
        let at = &l[l.find('[').unwrap() + 1..l.find(']').unwrap()];
        jiff::fmt::strtime::parse("%d/%b/%Y:%H:%M:%S %z", at).unwrap().to_timestamp().unwrap()
    };
    for (since, files) in [
        (first(3) + jiff::SignedDuration::from_secs(600), vec!["access.log"]),
        (first(2) + jiff::SignedDuration::from_secs(600), vec!["access.log.1", "access.log"]),
        (
            first(0) - jiff::SignedDuration::from_secs(3600),
            vec!["access.log.3.zst", "access.log.2.gz", "access.log.1", "access.log"],
        ),
    ] {
        let since = since.to_string();
        let r = report(&["--with-rotated", "--since", &since, live.to_str().unwrap()]);
        assert_eq!(paths(&r), files, "since {since}");
        // --since alone opens the rotated files the window needs
        assert_eq!(paths(&report(&["--since", &since, live.to_str().unwrap()])), files, "since {since}");
        assert_eq!(r["status"], report(&["--since", &since, whole.to_str().unwrap()])["status"], "since {since}");
    }
}
