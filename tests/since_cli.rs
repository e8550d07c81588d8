//! `--since` / `--until` on `report`, `trace` and `tail`: only the window's records count, found in the file by
//! binary search, with the lines still numbered in the whole file.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BASE: i64 = 1_714_564_800; // 2024-05-01T12:00:00Z

fn gatewatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gatewatch"))
}

/// Ten hours of nginx lines, one every 2 s; hour `h` answers `200 + h`, and now and then a line is written up to
/// 30 s late (a slow request logged when it ended).
fn ten_hours() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let mut out = std::io::BufWriter::new(f.as_file_mut());
    for i in 0..18_000i64 {
        let t = BASE + 2 * i - if i % 101 == 0 { 30 } else { 0 };
        let status = 200 + (t - BASE).max(0) / 3600;
        let at = jiff::Timestamp::from_second(t).unwrap().strftime("%d/%b/%Y:%H:%M:%S +0000");
        writeln!(
            out,
            r#"10.0.0.{} - - [{at}] "GET /v1/items/{i} HTTP/1.1" {status} 12 "-" "curl/8" rid={i:032x} rt=0.010"#,
            i % 200 + 1
        )
        .unwrap();
    }
    drop(out);
    f
}

fn iso(t: i64) -> String {
    jiff::Timestamp::from_second(t).unwrap().to_string()
}

#[test]
fn report_counts_exactly_the_window() {
    let f = ten_hours();
    let path = f.path().to_str().unwrap();
    let (since, until) = (BASE + 3 * 3600 + 1800, BASE + 5 * 3600);
    let out =
        gatewatch().args(["report", "--json", "--since", &iso(since), "--until", &iso(until), path]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    // what the window holds, counted from the file itself
    let text = std::fs::read_to_string(path).unwrap();
    let mut want = std::collections::BTreeMap::<String, u64>::new();
    for i in 0..18_000i64 {
        let t = BASE + 2 * i - if i % 101 == 0 { 30 } else { 0 };
        if t >= since && t < until {
            *want.entry((200 + (t - BASE) / 3600).to_string()).or_default() += 1;
        }
    }
    assert_eq!(text.lines().count(), 18_000);
    let got: std::collections::BTreeMap<String, u64> = serde_json::from_value(r["status"].clone()).unwrap();
    assert_eq!(got, want);
    assert_eq!(r["first"], iso(since).replace('Z', ".000Z"));
}

#[test]
fn trace_numbers_lines_in_the_whole_file() {
    let f = ten_hours();
    let path = f.path().to_str().unwrap();
    let id = format!("{:032x}", 15_000);
    let out = gatewatch().args(["trace", "--json", "--since", &iso(BASE + 8 * 3600), &id, path]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(t["hops"][0]["line"], 15_001);
    // before the window, the id is not found
    let out = gatewatch().args(["trace", "--since", &iso(BASE + 9 * 3600), &id, path]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn tail_starts_at_the_window_and_follows() {
    let f = ten_hours();
    let path = f.path().to_str().unwrap();
    let since = BASE + 9 * 3600 + 3000; // 600 s before the end: about 300 lines
    let mut child = gatewatch()
        .args(["tail", "--json", "--since", &iso(since), path])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while got.len() < 300 && Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            got.push(serde_json::from_str::<Value>(&l).unwrap());
        }
    }
    // nothing more than the window
    std::thread::sleep(Duration::from_millis(500));
    got.extend(rx.try_iter().map(|l| serde_json::from_str::<Value>(&l).unwrap()));
    child.kill().unwrap();
    child.wait().unwrap();
    let times: Vec<i64> =
        got.iter().map(|v| v["time"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().as_second()).collect();
    assert_eq!(times.len(), 300, "the window's lines, each once");
    assert!(times.iter().all(|&t| t >= since), "a line before the window");
}

#[test]
fn bad_times_are_usage_errors() {
    for (flag, value) in [("--since", "yesterday-ish"), ("--until", "25:99")] {
        let out = gatewatch().args(["report", flag, value, "x.log"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("invalid {flag}")));
    }
    let out = gatewatch().args(["report", "--since", "1h", "--until", "2h", "x.log"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("window is empty"));
}
