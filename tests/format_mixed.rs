//! A file that mixes shapes: nginx and Apache access lines, Envoy's, a sidecar's JSON log line and a proxy's
//! start-up line. Detection picks one format from the sample; every other line is tried on the other formats,
//! so the whole file parses: requests counted as requests, the log lines kept with their time and level.

#[test]
fn a_mixed_file_parses_whole_and_log_lines_are_not_requests() {
    let path = format!("{}/tests/fixtures/mixed/mixed.log", env!("CARGO_MANIFEST_DIR"));
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_gatewatch")).args(["report", "--json", &path]).output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &r["sources"][0];
    assert_eq!((s["lines"].as_u64(), s["unparsed"].as_u64()), (Some(9), Some(0)), "{s}");
    // 3 nginx + 2 Apache + 2 Envoy requests; the JSON line and the start-up line are log lines
    assert_eq!(s["requests"], 7, "{s}");
    assert_eq!(s["levels"]["info"], 2, "{s}");
    assert_eq!(r["status"]["418"], 1, "the Envoy line's status: {}", r["status"]);
    assert_eq!(r["status"]["204"], 1, "{}", r["status"]);
    // garbage stays unparsed: nothing with neither a time nor a status is taken by the free-text fallback
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.log");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("SSH-2.0-Go\n\\x16\\x03\\x01 garbage\n");
    std::fs::write(&junk, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .arg("report")
        .arg("--json")
        .arg(&junk)
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["sources"][0]["unparsed"], 2, "{}", r["sources"][0]);
}
