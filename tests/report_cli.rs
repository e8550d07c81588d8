//! `gatewatch report` end to end: real files written by the generator, numbers checked against the
//! generator's ground truth (not against the report itself).

use std::collections::BTreeMap;
use std::io::Write;

use assert_cmd::Command;
use gatewatch::generate::{GenConfig, Generator, upstream_logged};
use serde_json::Value;

fn gatewatch() -> Command {
    Command::cargo_bin("gatewatch").unwrap()
}

struct Truth {
    status: BTreeMap<String, u64>,
    gateway_made: u64,
    upstream_returned: u64,
    with_upstream: u64,
    durations: Vec<u64>,
}

fn truth(cfg: GenConfig) -> Truth {
    let mut g = Generator::new(cfg);
    let mut t =
        Truth { status: BTreeMap::new(), gateway_made: 0, upstream_returned: 0, with_upstream: 0, durations: vec![] };
    while let Some(r) = g.next_request() {
        *t.status.entry(r.status.to_string()).or_default() += 1;
        if r.status >= 400 {
            if r.last_upstream_status() == Some(r.status) {
                t.upstream_returned += 1;
            } else {
                t.gateway_made += 1;
            }
        }
        t.with_upstream += upstream_logged(&r) as u64;
        // nginx logs $request_time with millisecond resolution
        t.durations.push((r.duration_us + 500) / 1000 * 1000);
    }
    t.durations.sort_unstable();
    t
}

fn generate(dir: &std::path::Path, format: &str, upstream_format: &str, requests: u64, seed: u64) -> (String, String) {
    let gw = dir.join(format!("gw-{format}.log")).display().to_string();
    let up = dir.join(format!("up-{upstream_format}.log")).display().to_string();
    gatewatch()
        .args(["generate", "--format", format, "--upstream-format", upstream_format, "--incident"])
        .args(["--requests", &requests.to_string(), "--seed", &seed.to_string()])
        .args(["--gateway-out", &gw, "--upstream-out", &up])
        .assert()
        .success();
    (gw, up)
}

/// The text report's standard output.
fn report_text(args: &[&str]) -> String {
    String::from_utf8(gatewatch().arg("report").args(args).output().unwrap().stdout).unwrap()
}

fn report_json(args: &[&str]) -> (Value, i32) {
    let out = gatewatch().arg("report").arg("--json").args(args).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("report --json printed invalid JSON ({e}): {}", String::from_utf8_lossy(&out.stdout))
    });
    (v, out.status.code().unwrap())
}

#[test]
fn gateway_and_upstream_pair_matches_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, up) = generate(dir.path(), "nginx", "json", 3000, 3);
    // a background job in the upstream log whose ids never went through the gateway
    let mut f = std::fs::OpenOptions::new().append(true).open(&up).unwrap();
    for id in ["job-1", "job-2", "job-3"] {
        writeln!(f, r#"{{"level":30,"time":1714565000000,"msg":"nightly sync","req":{{"id":"{id}"}}}}"#).unwrap();
    }
    drop(f);
    let want = truth(GenConfig { requests: 3000, incident: true, seed: 3, ..Default::default() });

    let (v, code) = report_json(&[&gw, &up]);
    assert_eq!(code, 0);
    let sources = v["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[0]["path"], gw);
    assert_eq!(sources[0]["format"], "nginx");
    assert_eq!(sources[0]["role"], "gateway");
    assert_eq!(sources[0]["lines"], 3000);
    assert_eq!(sources[0]["parsed"], 3000);
    assert_eq!(sources[0]["unparsed"], 0);
    assert_eq!(sources[1]["format"], "json");
    assert_eq!(sources[1]["role"], "upstream");
    assert_eq!(sources[1]["lines"], want.with_upstream + 3);
    assert_eq!(sources[1]["parsed"], want.with_upstream + 3);

    // status counts: gateway only (the upstream is not double counted)
    let status: BTreeMap<String, u64> = serde_json::from_value(v["status"].clone()).unwrap();
    assert_eq!(status, want.status);
    let classes = &v["classes"];
    for class in 1..=5u64 {
        let n: u64 = want.status.iter().filter(|(c, _)| c.starts_with(&class.to_string())).map(|(_, n)| n).sum();
        assert_eq!(classes[format!("{class}xx")], n, "{class}xx");
    }
    assert_eq!(v["errors"]["gateway_total"], want.gateway_made);
    assert_eq!(v["errors"]["upstream_total"], want.upstream_returned);
    assert!(v["errors"]["gateway"]["401"].as_u64().unwrap() > 50, "expired tokens are made by the gateway");

    let c = &v["correlation"];
    assert_eq!(c["gateway_requests"], 3000);
    assert_eq!(c["with_upstream"], want.with_upstream);
    assert_eq!(c["upstream_only"], 3);

    let p50 = v["latency_ms"]["p50"].as_f64().unwrap();
    let exact = want.durations[want.durations.len() / 2 - 1] as f64 / 1000.0;
    assert!((p50 - exact).abs() <= exact / 25.0 + 1.0, "p50 {p50} vs exact {exact}");
    for k in ["p95", "p99"] {
        assert!(v["latency_ms"][k].as_f64().unwrap() >= p50);
    }

    // the failing upstream is at the top of the failures
    let ups = v["upstreams"].as_array().unwrap();
    let worst = ups.iter().max_by_key(|u| u["failures"].as_u64().unwrap()).unwrap();
    assert_eq!(worst["address"], gatewatch::generate::FAILING_UPSTREAM);
    assert!(v["routes"].as_array().unwrap().iter().any(|r| r["route"] == "/v1/orders/{id}"));

    // per-minute error rate covers the span and peaks during the incident
    let minutes = v["error_rate_per_minute"].as_array().unwrap();
    assert_eq!(minutes.len(), 1, "3000 requests at 200/s fit in 15 s");
}

#[test]
fn every_gateway_format_reports_the_same_status_counts() {
    let dir = tempfile::tempdir().unwrap();
    let want = truth(GenConfig { requests: 600, incident: true, seed: 11, ..Default::default() });
    for (format, _) in gatewatch::format::writers::GATEWAY {
        let (gw, _) = generate(dir.path(), format, "json", 600, 11);
        let (v, code) = report_json(&[&gw]);
        assert_eq!(code, 0, "{format}");
        assert_eq!(v["sources"][0]["parsed"], 600, "{format}: {}", v["sources"][0]);
        let detected = v["sources"][0]["format"].as_str().unwrap();
        let expected = if format == "istio" { "envoy" } else { format };
        assert_eq!(detected, expected, "{format} detected as {detected}");
        let status: BTreeMap<String, u64> = serde_json::from_value(v["status"].clone()).unwrap();
        assert_eq!(status, want.status, "{format}");
    }
}

#[test]
fn upstream_formats_correlate() {
    let dir = tempfile::tempdir().unwrap();
    let want = truth(GenConfig { requests: 800, incident: true, seed: 5, ..Default::default() });
    for (upstream_format, _) in gatewatch::format::writers::UPSTREAM {
        let (gw, up) = generate(dir.path(), "nginx", upstream_format, 800, 5);
        let (v, _) = report_json(&["--gateway", &gw, "--upstream", &up]);
        assert_eq!(v["sources"][1]["format"], upstream_format);
        assert_eq!(v["correlation"]["with_upstream"], want.with_upstream, "{upstream_format}");
        assert_eq!(v["correlation"]["upstream_only"], 0, "{upstream_format}");
    }
}

#[test]
fn missing_file_is_named_and_others_still_report() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _) = generate(dir.path(), "nginx", "json", 100, 1);
    let missing = dir.path().join("nope.log").display().to_string();
    let out = gatewatch().args(["report", "--json", &missing, &gw]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&missing) && err.contains("No such file"), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sources"].as_array().unwrap().len(), 1);
    assert_eq!(v["sources"][0]["lines"], 100);
}

#[test]
fn usage_errors_exit_2() {
    gatewatch().args(["report", "--format", "nosuch", "x.log"]).assert().code(2);
    gatewatch().arg("report").assert().code(2);
    gatewatch().args(["report", "--nginx-format", "no variables here", "x.log"]).assert().code(2);
    // errors are one line, naming what is wrong
    for (args, says) in [
        (&["--id-regex", "(", "x.log"][..], "invalid --id-regex \"(\": unclosed group at column 1"),
        (&["--format", "nginx-custom", "x.log"][..], "--format nginx-custom needs the log_format"),
    ] {
        let out = gatewatch().arg("report").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(says) && err.trim_end().lines().count() == 1, "{err}");
    }
}

#[test]
fn byte_order_marks_and_crlf_endings_are_not_part_of_lines() {
    let dir = tempfile::tempdir().unwrap();
    let nginx = dir.path().join("win.log");
    let line = |i: u32| {
        format!("10.0.0.1 - - [01/May/2024:12:00:0{i} +0000] \"GET /v1/a/{i} HTTP/1.1\" 404 5 \"-\" \"t\" rid=r{i}\r\n")
    };
    // a BOM at the start, and another where a second file was joined on with `cat`
    let text = format!("\u{feff}{}{}\u{feff}{}", line(1), line(2), line(3));
    std::fs::write(&nginx, text).unwrap();
    let json = dir.path().join("win.json");
    std::fs::write(
        &json,
        "\u{feff}{\"time\":\"2024-05-01T12:00:01Z\",\"level\":\"error\",\"msg\":\"x\",\"request_id\":\"r1\"}\r\n",
    )
    .unwrap();
    let (v, code) = report_json(&[nginx.to_str().unwrap(), json.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (n, j) = (&v["sources"][0], &v["sources"][1]);
    assert_eq!((n["format"].as_str(), n["parsed"].as_u64(), n["unparsed"].as_u64()), (Some("nginx"), Some(3), Some(0)));
    assert_eq!((j["format"].as_str(), j["parsed"].as_u64()), (Some("json"), Some(1)));
    assert_eq!(v["status"]["404"], 3);
    assert_eq!(v["routes"][0]["route"], "/v1/a/{id}");
    assert_eq!(v["correlation"]["with_upstream"], 1);
}

#[test]
fn a_log_without_upstream_fields_says_so_under_the_error_split() {
    let dir = tempfile::tempdir().unwrap();
    let combined = dir.path().join("combined.log");
    std::fs::write(
        &combined,
        "10.0.0.1 - - [01/May/2024:12:00:00 +0000] \"GET /a HTTP/1.1\" 502 5 \"-\" \"t\"\n\
         10.0.0.1 - - [01/May/2024:12:00:01 +0000] \"GET /b HTTP/1.1\" 200 5 \"-\" \"t\"\n",
    )
    .unwrap();
    let note = "the gateway log has no upstream status or address";
    assert!(report_text(&[combined.to_str().unwrap()]).contains(note));
    let (v, _) = report_json(&[combined.to_str().unwrap()]);
    assert_eq!(v["errors"]["upstream_logged"], 0);
    // a log that records the upstream says nothing of the kind, even when its errors never reached one
    let logged = dir.path().join("upstream_status.log");
    std::fs::write(
        &logged,
        "10.0.0.1 [01/May/2024:12:00:00 +0000] \"GET /a HTTP/1.1\" 429 -\n\
         10.0.0.1 [01/May/2024:12:00:01 +0000] \"GET /b HTTP/1.1\" 200 200\n\
         10.0.0.1 [01/May/2024:12:00:02 +0000] \"GET /c HTTP/1.1\" 502 -\n",
    )
    .unwrap();
    let spec = "$remote_addr [$time_local] \"$request\" $status $upstream_status";
    let text = report_text(&["--nginx-format", spec, logged.to_str().unwrap()]);
    assert!(text.contains("errors produced by the gateway itself: 2") && !text.contains(note), "{text}");
    let (gw, _) = generate(dir.path(), "nginx", "json", 500, 4);
    assert!(!report_text(&[&gw]).contains(note));
    let (v, _) = report_json(&[&gw]);
    assert!(v["errors"]["upstream_logged"].as_u64().unwrap() > 400, "{}", v["errors"]);
}

#[test]
fn a_pasted_log_format_can_be_forced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custom.log");
    // the first line would be detected as something else; --format nginx-custom applies the log_format to all
    std::fs::write(
        &path,
        "garbage first line\n10.0.0.9 | 01/May/2024:12:00:00 +0000 | GET /v1/a HTTP/1.1 | 502 | 0.001 | r-1\n",
    )
    .unwrap();
    let spec = "$remote_addr | $time_local | $request | $status | $request_time | $request_id";
    let (v, code) = report_json(&["--format", "nginx-custom", "--nginx-format", spec, path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(v["sources"][0]["format"], "nginx-custom");
    assert_eq!((v["sources"][0]["parsed"].as_u64(), v["sources"][0]["unparsed"].as_u64()), (Some(1), Some(1)));
    assert_eq!(v["status"]["502"], 1);
}

#[test]
fn garbage_is_counted_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.log");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(
        b"10.0.0.1 - - [01/May/2024:12:00:00 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"curl\" rid=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
    );
    bytes.extend_from_slice(b"\xff\xfe garbage \x1b[31m not a log line\n\n");
    bytes.extend(std::iter::repeat_n(b'x', 1 << 20));
    bytes.push(b'\n');
    bytes.extend_from_slice(
        b"10.0.0.2 - - [01/May/2024:12:00:01 +0000] \"GET /b HTTP/1.1\" 502 5 \"-\" \"curl\" rid=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    );
    std::fs::write(&path, bytes).unwrap();
    let (v, code) = report_json(&["--format", "nginx", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    let s = &v["sources"][0];
    assert_eq!(s["lines"], 5);
    assert_eq!(s["blank"], 1);
    assert_eq!(s["parsed"], 2);
    assert_eq!(s["unparsed"], 2);
    let ex = s["unparsed_examples"].as_array().unwrap();
    assert_eq!(ex[0]["line"], 2);
    // the text as it was, carried as a JSON string (`\u001b`), not escaped twice
    assert!(ex[0]["text"].as_str().unwrap().contains("\u{1b}[31m"), "the line's text: {}", ex[0]);
    assert_eq!(ex[1]["line"], 4);
    assert_eq!(v["status"]["502"], 1);
}

#[test]
fn logs_of_megabyte_lines_are_detected_from_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    // pino records carrying a 900 KB field each
    let big = "y".repeat(900 << 10);
    let mut pino = String::new();
    for i in 0..5 {
        pino.push_str(&format!(
            "{{\"level\":50,\"time\":1714564800{i}00,\"reqId\":\"req-{i}\",\"msg\":\"boom\",\"body\":\"{big}\"}}\n"
        ));
    }
    let json = dir.path().join("big.json");
    std::fs::write(&json, pino).unwrap();
    // one nginx line whose path is a megabyte long
    let nginx = dir.path().join("one.log");
    let path = "/a".repeat(512 << 10);
    std::fs::write(
        &nginx,
        format!("10.0.0.1 - - [01/May/2024:12:00:00 +0000] \"GET {path} HTTP/1.1\" 503 5 \"-\" \"curl\"\n"),
    )
    .unwrap();
    let (v, code) = report_json(&[json.to_str().unwrap(), nginx.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (j, n) = (&v["sources"][0], &v["sources"][1]);
    assert_eq!((j["format"].as_str(), j["parsed"].as_u64(), j["lines"].as_u64()), (Some("json"), Some(5), Some(5)));
    assert_eq!(j["levels"]["error"], 5);
    assert_eq!((n["format"].as_str(), n["parsed"].as_u64()), (Some("nginx"), Some(1)));
    assert_eq!(v["status"]["503"], 1);
}

#[test]
fn named_format_reads_inside_a_docker_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders-api.log");
    let line = |level: u32, ms: u64, msg: &str, id: &str| {
        let inner = format!(r#"{{"level":{level},"time":{ms},"msg":"{msg}","reqId":"{id}"}}"#);
        serde_json::json!({"log": format!("{inner}\n"), "stream": "stdout", "time": "2024-05-01T12:00:00.123Z"})
            .to_string()
    };
    let lines = [
        line(30, 1714564800000, "request completed", "abc-123"),
        line(50, 1714564801000, "request errored", "abc-124"),
        line(30, 1714564802000, "request completed", "abc-124"),
    ];
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (v, code) = report_json(&["--format", "json", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(v["sources"][0]["format"], "docker+json");
    assert_eq!(v["sources"][0]["levels"]["error"], 1);
    assert_eq!(v["sources"][0]["last"], "2024-05-01T12:00:02.000Z");
    assert_eq!(v["correlation"]["upstream_ids"], 2);
    assert_eq!(v["correlation"]["upstream_ids_repeated"], 1);
}

#[test]
fn random_bytes_are_unparsed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.bin");
    let mut rng = gatewatch::generate::Rng::new(3);
    std::fs::write(&path, (0..2 << 20).map(|_| rng.next_u64() as u8).collect::<Vec<u8>>()).unwrap();
    let (v, code) = report_json(&[path.to_str().unwrap()]);
    assert_eq!(code, 0);
    let s = &v["sources"][0];
    assert_eq!(s["format"], "plain");
    assert_eq!(s["parsed"], 0, "{s}");
    assert_eq!(s["unparsed"], s["lines"].as_u64().unwrap() - s["blank"].as_u64().unwrap());
}

#[test]
fn text_report_is_plain_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, up) = generate(dir.path(), "nginx", "json", 2000, 2);
    let out = gatewatch().args(["report", &gw, &up]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "no colour codes when not on a terminal");
    for section in ["SOURCES", "STATUS", "TOP ROUTES BY ERRORS", "UPSTREAM ADDRESSES", "LATENCY", "CORRELATION"] {
        assert!(text.contains(section), "missing {section}:\n{text}");
    }
    assert!(text.contains("gateway") && text.contains("upstream"));

    // each source has its own status line, with the counts the JSON report gives for it
    let (v, _) = report_json(&[&gw, &up]);
    let status_lines: Vec<&str> = text.lines().filter(|l| l.trim_start().starts_with("status ")).collect();
    assert_eq!(status_lines.len(), 2, "{text}");
    for (line, source) in status_lines.iter().zip(v["sources"].as_array().unwrap()) {
        for (class, n) in source["classes"].as_object().unwrap() {
            let n = n.as_u64().unwrap();
            let shown = format!("{class} {} (", thousands(n));
            assert_eq!(line.contains(&shown), n > 0, "{class} {n} in {line:?}");
        }
    }
    assert_ne!(status_lines[0], status_lines[1], "the upstream's own statuses differ from the gateway's");
    // the service's levels, most severe first
    let levels = text.lines().find(|l| l.trim_start().starts_with("levels ")).expect("a levels line");
    let at = |name: &str| levels.find(&format!(" {name} ")).unwrap_or_else(|| panic!("{name} in {levels:?}"));
    assert!(at("error") < at("warn") && at("warn") < at("info"), "{levels:?}");

    // the routes table is aligned: every number ends in the column where its header ends
    let table: Vec<&str> =
        text.lines().skip_while(|l| !l.starts_with("TOP ROUTES")).skip(1).take_while(|l| !l.is_empty()).collect();
    let ends = |l: &str| -> Vec<usize> {
        let chars: Vec<char> = l.chars().collect();
        (0..chars.len()).filter(|&i| chars[i] != ' ' && chars.get(i + 1).is_none_or(|c| *c == ' ')).collect()
    };
    let head = ends(table[0]);
    assert!(table.len() > 3, "{text}");
    for row in &table[1..] {
        let got = ends(row);
        // the route column is left-aligned; the five number columns end where their headers do
        assert_eq!(got[got.len() - 5..], head[head.len() - 5..], "{row:?} under {:?}", table[0]);
    }
}

fn thousands(n: u64) -> String {
    gatewatch::numbers::thousands(n)
}

#[test]
fn stdin_is_a_source() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _) = generate(dir.path(), "nginx", "json", 50, 1);
    let out = gatewatch().args(["report", "--json", "-"]).pipe_stdin(&gw).unwrap().output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sources"][0]["path"], "-");
    assert_eq!(v["sources"][0]["parsed"], 50);
}

#[test]
fn demo_prints_the_incident() {
    let out = gatewatch().args(["demo", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for code in ["401", "429", "502", "504"] {
        assert!(v["status"][code].as_u64().unwrap_or(0) > 20, "demo shows {code}s: {}", v["status"]);
    }
    assert!(v["correlation"]["with_upstream"].as_u64().unwrap() > 10_000);
    let peak = v["error_rate_per_minute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["error_rate"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let first = v["error_rate_per_minute"][0]["error_rate"].as_f64().unwrap();
    assert!(peak > first * 3.0 && peak > 0.05, "the incident stands out: first {first}, peak {peak}");
}

#[test]
fn diagnosis_names_each_incident_family_with_its_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, up) = generate(dir.path(), "nginx", "json", 6000, 9);
    let (v, code) = report_json(&[&gw, &up]);
    assert_eq!(code, 0);
    let diagnosis = v["diagnosis"].as_array().expect("a diagnosis list");
    let by_status = |s: u64| {
        diagnosis.iter().find(|d| d["status"] == s).unwrap_or_else(|| panic!("a diagnosis for {s}: {diagnosis:?}"))
    };
    for d in diagnosis {
        for key in ["status", "count", "origin", "cause", "evidence", "first_check", "fix"] {
            assert!(!d[key].is_null(), "{key} in {d}");
        }
        assert!(d["origin"] == "gateway" || d["origin"] == "upstream");
        let status = d["status"].as_u64().unwrap();
        assert_eq!(d["count"], v["status"][status.to_string()], "count = the report's own count of {status}");
    }
    let evidence = |d: &Value| {
        d["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    // the generator's incident: 10.0.0.7 refuses connections, the orders service times out at 30 s,
    // tokens expire, a batch client is rate limited, the service throws
    let d = by_status(502);
    assert_eq!(d["origin"], "gateway");
    assert!(evidence(d).contains(gatewatch::generate::FAILING_UPSTREAM), "{}", evidence(d));
    let d = by_status(504);
    assert_eq!(d["origin"], "gateway");
    assert!(evidence(d).contains("timeout is about 30.0 s"), "{}", evidence(d));
    let d = by_status(401);
    assert_eq!(d["origin"], "gateway");
    assert!(d["cause"].as_str().unwrap().contains("credentials"));
    assert!(evidence(by_status(429)).contains("batch-reports"), "{}", evidence(by_status(429)));
    let d = by_status(500);
    assert_eq!(d["origin"], "upstream");
    assert!(evidence(d).contains("service errors:"), "{}", evidence(d));
    let counts: Vec<u64> = diagnosis.iter().map(|d| d["count"].as_u64().unwrap()).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "most frequent first: {counts:?}");
}

/// An nginx line at `sec` seconds after 2024-05-01T12:00:00Z.
fn nginx_at(sec: u32, status: u16, rt: &str, i: u32) -> String {
    let (h, m, s) = (12 + sec / 3600, sec / 60 % 60, sec % 60);
    format!(
        "10.0.0.{} - - [01/May/2024:{h:02}:{m:02}:{s:02} +0000] \"GET /v1/items/{i} HTTP/1.1\" {status} 12 \"-\" \"t\" rt={rt} rid=r{i:08x}\n",
        i % 250
    )
}

#[test]
fn alerts_list_the_rules_that_held_with_start_and_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut text = String::new();
    let mut i = 0;
    // ten minutes at 10 requests/s; from 12:03:00 to 12:04:59 two in ten are 502s; from 12:07:00 one request a
    // second takes 3 s
    for sec in 0..600u32 {
        for k in 0..10 {
            i += 1;
            let bad = (180..300).contains(&sec) && k < 2;
            let slow = sec >= 420 && k == 0;
            text.push_str(&nginx_at(sec, if bad { 502 } else { 200 }, if slow { "3.000" } else { "0.020" }, i));
        }
    }
    std::fs::write(&log, text).unwrap();
    let (v, code) = report_json(&[log.to_str().unwrap()]);
    assert_eq!(code, 0);
    let alerts = v["alerts"].as_array().unwrap();
    let find = |rule: &str| alerts.iter().filter(|a| a["rule"] == rule).cloned().collect::<Vec<_>>();
    // 5% of the 600 requests of a minute is 30: the 16th second of the burst puts 32 in the window; the window
    // falls back to 30 45 s after the burst
    let e = find("5xx > 5% over 1m");
    assert_eq!(e.len(), 1, "{alerts:?}");
    assert_eq!(e[0]["start"], "2024-05-01T12:03:16Z");
    assert_eq!(e[0]["end"], "2024-05-01T12:05:45Z");
    assert_eq!(e[0]["peak_text"], "20.0%");
    // one request in ten took 3 s: p99 of a minute is over 2 s once more than 6 of its 600 requests were slow
    let e = find("p99 > 2s over 1m");
    assert_eq!(e.len(), 1, "{alerts:?}");
    assert_eq!(e[0]["start"], "2024-05-01T12:07:07Z");
    assert_eq!(e[0]["end"], Value::Null, "still slow at the end of the file");
    assert!(find("429 > 20 over 1m").is_empty());

    // the config's rules replace the defaults
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "[[alert]]\nrule = '502 > 100 over 5m'\nname = '502 storm'\n").unwrap();
    let (v, _) = report_json(&["--config", cfg.to_str().unwrap(), log.to_str().unwrap()]);
    let names: Vec<&str> = v["alerts"].as_array().unwrap().iter().map(|a| a["rule"].as_str().unwrap()).collect();
    assert_eq!(names, ["502 storm"]);
    assert_eq!(v["alerts"][0]["start"], "2024-05-01T12:03:51Z");
    // a bad rule is a usage error naming the rule
    std::fs::write(&cfg, "[[alert]]\nrule = '5xx above 5%'\n").unwrap();
    let out = gatewatch().args(["report", "--config", cfg.to_str().unwrap(), log.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("5xx above 5%"));
}

#[test]
fn upstream_addresses_without_statuses_are_not_all_failures() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let line = |i: u32, status: u16| {
        format!(
            "10.0.0.1 - - [01/May/2024:12:00:{:02} +0000] \"GET /x HTTP/1.1\" {status} 1 \"-\" \"t\" rt=0.010 ua=\"10.0.0.{}:80\"\n",
            i % 60,
            1 + i % 2
        )
    };
    // 10.0.0.1 answers 200; 10.0.0.2 answers 503; no $upstream_status in the format
    let text: String = (0..40).map(|i| line(i, if i % 2 == 0 { 503 } else { 200 })).collect();
    std::fs::write(&log, text).unwrap();
    let (v, _) = report_json(&[log.to_str().unwrap()]);
    let ups = v["upstreams"].as_array().unwrap();
    let failures = |addr: &str| ups.iter().find(|u| u["address"] == addr).map(|u| u["failures"].as_u64().unwrap());
    assert_eq!(failures("10.0.0.1:80"), Some(20), "{ups:?}");
    assert_eq!(failures("10.0.0.2:80"), Some(0), "{ups:?}");
}

#[test]
fn a_report_on_nothing_readable_prints_only_the_errors() {
    let dir = tempfile::tempdir().unwrap();
    for path in [dir.path().join("missing.log"), dir.path().to_path_buf()] {
        for json in [false, true] {
            let mut cmd = Command::cargo_bin("gatewatch").unwrap();
            cmd.arg("report").arg(&path);
            if json {
                cmd.arg("--json");
            }
            let out = cmd.output().unwrap();
            assert_eq!(out.status.code(), Some(1));
            assert!(out.stdout.is_empty(), "{path:?}: {}", String::from_utf8_lossy(&out.stdout));
            assert!(String::from_utf8_lossy(&out.stderr).contains(&*path.to_string_lossy()));
        }
    }
}

#[test]
fn one_bad_number_never_changes_a_short_files_format_and_absurd_durations_are_unparsed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let good = |i: u32, d: &str| {
        format!(
            "{{\"time\":\"2024-05-01T12:00:0{i}Z\",\"level\":\"info\",\"msg\":\"ok\",\"method\":\"GET\",\"path\":\"/a\",\
             \"status\":200,\"duration_ms\":{d}}}\n"
        )
    };
    // a just-started service: two lines, one with a 10,000-digit status and an absurd duration
    let bad = format!(
        "{{\"time\":\"2024-05-01T12:00:01Z\",\"level\":\"error\",\"msg\":\"x\",\"status\":{},\"duration_ms\":1.8e308}}\n",
        "9".repeat(10_000)
    );
    std::fs::write(&path, good(0, "12") + &bad).unwrap();
    let (v, code) = report_json(&[path.to_str().unwrap()]);
    assert_eq!(code, 0);
    let s = &v["sources"][0];
    assert_eq!((s["format"].as_str(), s["parsed"].as_u64()), (Some("json"), Some(2)), "{s}");
    // the absurd duration is no duration: the latency is the good line's alone
    assert_eq!(v["latency_ms"]["max"], 12.0);
    std::fs::write(&path, good(0, "1.8e308") + &good(1, "-5") + &good(2, "90000000000")).unwrap();
    let (v, _) = report_json(&[path.to_str().unwrap()]);
    assert_eq!(v["latency_ms"]["count"], 0, "negative, infinite and beyond a day: {}", v["latency_ms"]);
}

/// The outage whose traffic dies away (the load balancer in front fails): the error alert stays open at low
/// volume instead of ending, and the drop in traffic is an alert of its own, saying by how much.
#[test]
fn an_outage_with_a_trickle_of_traffic_is_not_a_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let gw = dir.path().join("gw.log").display().to_string();
    gatewatch()
        .args(["generate", "--scenario", "outage-trickle", "--rate", "50", "--gateway-out", &gw])
        .assert()
        .success();
    let (r, code) = report_json(&[&gw]);
    assert_eq!(code, 0);
    let alerts = r["alerts"].as_array().unwrap();
    let rule = |name: &str| alerts.iter().find(|a| a["rule"] == name).unwrap_or_else(|| panic!("{name}: {alerts:?}"));
    let errors = rule("5xx > 5% over 1m");
    assert_eq!(errors["start"], "2024-05-01T12:02:04Z", "{errors}");
    assert_eq!(errors["end"], Value::Null, "the outage is not over: {errors}");
    assert_eq!(errors["low_volume_since"], "2024-05-01T12:05:00Z", "{errors}");
    let drop = rule("requests < 10% of previous 15m");
    assert_eq!(drop["end"], Value::Null, "{drop}");
    let start = drop["start"].as_str().unwrap();
    assert!(("2024-05-01T12:04:00Z".."2024-05-01T12:05:01Z").contains(&start), "traffic fell at 12:04: {drop}");
    assert!(drop["peak"].as_f64().unwrap() < 0.01, "to under 1% of before: {drop}");
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let text = report_text(&[&gw]);
    assert!(text.contains("low volume since 2024-05-01T12:05:00Z"), "{text}");
    assert!(text.contains("% of before"), "{text}");
}

/// Ten minutes of a gateway at 50 requests/s with the incident in the middle third (12:03:20 to 12:06:40), as
/// the demo has it: the path of its log.
fn demo_incident(dir: &std::path::Path) -> String {
    let gw = dir.join("gw.log").display().to_string();
    gatewatch()
        .args(["generate", "--incident", "--rate", "50", "--requests", "30000", "--gateway-out", &gw])
        .assert()
        .success();
    gw
}

/// "What changed?": the diagnosis is ordered by how much each status rose against the span before the first
/// alert, so the incident's 502s and 504s come before the 404s that were always there.
#[test]
fn the_diagnosis_ranks_what_changed_above_what_was_always_there() {
    let dir = tempfile::tempdir().unwrap();
    let gw = demo_incident(dir.path());
    let (r, _) = report_json(&[&gw]);
    let c = &r["comparison"];
    assert_eq!(c["how"], "before the first alert", "{c}");
    assert_eq!(c["baseline_from"], "2024-05-01T12:00:00Z", "{c}");
    assert_eq!(c["baseline_to"], r["alerts"][0]["start"], "the baseline ends where the first alert starts: {c}");
    let order: Vec<u64> = r["diagnosis"].as_array().unwrap().iter().map(|d| d["status"].as_u64().unwrap()).collect();
    let rank = |s: u64| order.iter().position(|&x| x == s).unwrap_or_else(|| panic!("no {s} in {order:?}"));
    assert!(rank(502) < rank(404) && rank(504) < rank(404), "{order:?}");
    // yet 404 is the most frequent error of the whole file after 401: a count ranking would put it near the top
    let count = |s: u64| r["status"][s.to_string()].as_u64().unwrap();
    assert!(count(404) > count(502) && count(404) > count(504));
    let d404 = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == 404).unwrap();
    assert_eq!(d404["change"]["note"], "steady since 12:00, not new", "{d404}");
    let d502 = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == 502).unwrap();
    let (b, n) =
        (d502["change"]["before_per_minute"].as_f64().unwrap(), d502["change"]["now_per_minute"].as_f64().unwrap());
    assert!(n > 3.0 * b, "{d502}");
    // the status codes, and the upstreams, are ranked the same way
    let codes: Vec<u64> =
        r["status_change"].as_array().unwrap().iter().map(|s| s["status"].as_u64().unwrap()).collect();
    let at = |s: u64| codes.iter().position(|&x| x == s).unwrap();
    assert!(at(502) < at(404) && at(504) < at(404), "{codes:?}");
    let up = &r["upstreams"][0];
    assert_eq!(up["change"]["of"], "5xx", "{up}");
    assert!(up["change"]["note"].as_str().unwrap().starts_with("up "), "{up}");
    assert!(r["routes"].as_array().unwrap().iter().all(|r| r["change"]["before_per_minute"].is_number()));
    let text = report_text(&[&gw]);
    assert!(text.contains("before → now: ") && text.contains("steady since 12:00, not new"), "{text}");
    assert!(text.contains("per min before → now"), "{text}");
    // who is behind the 429s: the generator's batch job
    assert!(text.contains("% of 429s from consumer batch-reports ("), "{text}");

    // a baseline given: the comparison says so, and starts there
    let (r, _) = report_json(&["--baseline", "12:01..12:03", &gw]);
    assert_eq!(
        (r["comparison"]["how"].as_str(), r["comparison"]["baseline_from"].as_str()),
        (Some("--baseline"), Some("2024-05-01T12:01:00Z"))
    );
    let out = gatewatch().args(["report", "--baseline", "noon", &gw]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a bad --baseline is a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("FROM..TO"));
}

/// Two gateway nodes' logs, one of them answering every request with 502: the diagnosis names the node.
#[test]
fn the_diagnosis_names_the_node_behind_an_error_family() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (host, status) in [("gw1", 200), ("gw2", 502), ("gw3", 200)] {
        let lines: Vec<String> = (0..40)
            .map(|i| {
                let s = if host == "gw1" && i == 0 { 502 } else { status };
                format!(r#"10.0.0.{i} - - [01/May/2024:12:00:{i:02} +0000] "GET /v1/orders/{i} HTTP/1.1" {s} 12 "-" "curl/8""#)
            })
            .collect();
        let p = dir.path().join(format!("{host}.log"));
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        paths.push(p.display().to_string());
    }
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let (r, _) = report_json(&args);
    let d502 = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == 502).unwrap();
    let want = format!("98% of 502s from node {} (40 of 41)", paths[1]);
    assert!(d502["evidence"].as_array().unwrap().iter().any(|e| e == &want), "{d502}");
}

/// A latency-only incident: no 5xx, one of four upstreams turns slow. The report gives each upstream's and route's
/// percentiles and names the slow upstream.
#[test]
fn a_slow_upstream_is_named_with_its_p99() {
    let dir = tempfile::tempdir().unwrap();
    let gw = dir.path().join("gw.log").display().to_string();
    gatewatch()
        .args(["generate", "--scenario", "slow-upstream", "--rate", "50", "--requests", "30000", "--gateway-out", &gw])
        .assert()
        .success();
    let (r, _) = report_json(&[&gw]);
    assert_eq!(r["classes"]["5xx"], 0, "no errors at all");
    let f = &r["latency_findings"][0];
    assert_eq!((f["kind"].as_str(), f["subject"].as_str()), (Some("upstream"), Some("10.0.0.8:8080")), "{f}");
    assert!(f["p99_ms"].as_f64().unwrap() > 2000.0 && f["others_p99_ms"].as_f64().unwrap() < 500.0, "{f}");
    assert!(f["since"].as_str().is_some_and(|s| s.starts_with("2024-05-01T12:03")), "the p99 alert's start: {f}");
    for u in r["upstreams"].as_array().unwrap() {
        let p99 = u["latency_ms"]["p99"].as_f64().unwrap();
        assert_eq!(p99 > 2000.0, u["address"] == "10.0.0.8:8080", "{u}");
    }
    assert!(r["slow_routes"][0]["latency_ms"]["p99"].as_f64().unwrap() > 2000.0);
    let text = report_text(&[&gw]);
    assert!(text.contains("▲ slow upstream 10.0.0.8:8080: p99 2."), "{text}");
    // a healthy file has no finding
    let ok = dir.path().join("ok.log").display().to_string();
    gatewatch().args(["generate", "--requests", "5000", "--gateway-out", &ok]).assert().success();
    let (healthy, _) = report_json(&[&ok]);
    assert_eq!(healthy["latency_findings"].as_array().map(Vec::len), Some(0));
}

/// The same incident with the time spent connecting: every line carries `uct=` and `uht=` and parses, and the
/// slow upstream is still the one named.
#[test]
fn a_slow_connect_parses_every_line_and_names_the_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let gw = dir.path().join("gw.log").display().to_string();
    gatewatch()
        .args(["generate", "--scenario", "slow-connect", "--rate", "50", "--requests", "6000", "--gateway-out", &gw])
        .assert()
        .success();
    let text = std::fs::read_to_string(&gw).unwrap();
    let mut slow_connects = 0;
    for (i, line) in text.lines().enumerate() {
        assert!(line.contains(" uct=\"") && line.contains(" uht=\""), "{line}");
        let r = gatewatch::format::nginx::parse(line.as_bytes()).unwrap();
        if i >= 2000 && r.upstream_addr.as_deref() == Some(gatewatch::generate::SLOW_UPSTREAM) {
            let (connect, header) = (r.upstream_connect_us.unwrap(), r.upstream_header_us.unwrap_or(u64::MAX));
            assert!(connect >= 1_500_000 && connect < header, "{line}");
            slow_connects += 1;
        }
    }
    assert!(slow_connects > 500, "{slow_connects}");
    let (r, _) = report_json(&[&gw]);
    let s = &r["sources"][0];
    assert_eq!((s["format"].as_str(), s["lines"].as_u64()), (Some("nginx"), Some(6000)), "{s}");
    assert_eq!((s["parsed"].as_u64(), s["unparsed"].as_u64()), (Some(6000), Some(0)), "{s}");
    assert_eq!(r["classes"]["5xx"], 0, "no errors at all");
    let f = &r["latency_findings"][0];
    assert_eq!((f["kind"].as_str(), f["subject"].as_str()), (Some("upstream"), Some("10.0.0.8:8080")), "{f}");
}

/// A gateway reload a few seconds before the 502s rise: listed as a change, and named in the 502 diagnosis.
#[test]
fn a_reload_before_an_error_rise_is_a_marker_named_by_the_diagnosis() {
    let dir = tempfile::tempdir().unwrap();
    let gw = demo_incident(dir.path());
    // the incident starts a third of the way in: 12:03:20
    let err = dir.path().join("error.log");
    std::fs::write(
        &err,
        "2024/05/01 12:00:05 [notice] 1#1: signal process started\n\
         2024/05/01 12:03:16 [notice] 1#1: signal process started\n\
         2024/05/01 12:03:17 [error] 31#31: *5 connect() failed (111: Connection refused) while connecting to upstream\n",
    )
    .unwrap();
    let err = err.display().to_string();
    let (r, _) = report_json(&[&gw, &err]);
    let markers = r["markers"].as_array().unwrap();
    assert_eq!(markers.len(), 2, "two reloads, and the error line is none: {markers:?}");
    assert_eq!(
        (markers[1]["time"].as_str(), markers[1]["kind"].as_str()),
        (Some("2024-05-01T12:03:16.000Z"), Some("gateway reload"))
    );
    let d502 = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == 502).unwrap();
    let first = d502["evidence"][0].as_str().unwrap();
    assert!(first.starts_with("began 4 s after a gateway reload at 12:03:16"), "{first}");
    let text = report_text(&[&gw, &err]);
    assert!(text.contains("CHANGES (") && text.contains("gateway reload"), "{text}");
    // a marker source: a deploy log; only the lines the regex takes count
    let deploys = dir.path().join("deploys.jsonl");
    std::fs::write(
        &deploys,
        "{\"time\":\"2024-05-01T12:03:15Z\",\"msg\":\"deploy orders-api v2.3.1\"}\n\
         {\"time\":\"2024-05-01T12:03:18Z\",\"msg\":\"flag search-v2 on\"}\n",
    )
    .unwrap();
    let deploys = deploys.display().to_string();
    let (r, _) = report_json(&["--markers", &deploys, "--marker-regex", "^deploy", &gw]);
    let markers = r["markers"].as_array().unwrap();
    assert_eq!(markers.len(), 1, "{markers:?}");
    assert_eq!(
        (markers[0]["kind"].as_str(), markers[0]["text"].as_str()),
        (Some("change"), Some("deploy orders-api v2.3.1"))
    );
    let d502 = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == 502).unwrap();
    assert!(d502["evidence"][0].as_str().unwrap().starts_with("began 5 s after a change at 12:03:15"), "{d502}");
    // without the reload, nothing is claimed
    let (r, _) = report_json(&[&gw]);
    let d502 = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == 502).unwrap();
    assert!(!d502["evidence"][0].as_str().unwrap().starts_with("began"), "{d502}");
}

/// Two gateway nodes for two minutes; in the second, node gw2 answers everything with 502 and one client
/// (okhttp, on the admin host, slow) storms gw1 with requests it gets 429 for. Every breakdown puts what changed
/// first, with before → now.
#[test]
fn breakdowns_rank_nodes_clients_hosts_and_agents_by_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let line = |sec: u32, client: &str, status: u16, ua: &str, host: &str, rt: &str| {
        format!(
            r#"{client} - - [01/May/2024:12:{:02}:{:02} +0000] "GET /v1/orders HTTP/1.1" {status} 12 "-" "{ua}" rt={rt} host={host}"#,
            sec / 60,
            sec % 60
        )
    };
    let mut paths = Vec::new();
    for node in ["gw1", "gw2"] {
        let mut lines = Vec::new();
        for sec in 0..120 {
            for k in 0..2 {
                let status = if node == "gw2" && sec >= 60 { 502 } else { 200 };
                lines.push(line(
                    sec,
                    &format!("10.0.0.{}", (sec + k) % 20),
                    status,
                    "curl/8.5.0",
                    "api.example.com",
                    "0.020",
                ));
            }
            if node == "gw1" && sec >= 60 {
                for _ in 0..5 {
                    lines.push(line(sec, "203.0.113.9", 429, "okhttp/4.12.0", "admin.example.com", "2.500"));
                }
            }
        }
        let p = dir.path().join(format!("{node}.log"));
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        paths.push(p.display().to_string());
    }
    let (r, _) = report_json(&[&paths[0], &paths[1]]);
    assert!(r["comparison"].is_object(), "{}", r["comparison"]);
    let b = &r["breakdowns"];
    let first = |list: &Value| (list[0]["key"].as_str().unwrap().to_string(), list[0]["change"].clone());
    let (node, change) = first(&b["nodes"]);
    assert_eq!(node, paths[1], "{}", b["nodes"]);
    // the baseline ends when the first alert fires, a few seconds into the rise: "up", or "new"
    assert_eq!(change["of"], "5xx");
    let (before, now) = (change["before_per_minute"].as_f64().unwrap(), change["now_per_minute"].as_f64().unwrap());
    assert!(now >= 100.0 && before * 10.0 < now, "{change}");
    let (talker, change) = first(&r["top_talkers"]["by_requests"]);
    assert_eq!(talker, "203.0.113.9");
    assert!(change["before_per_minute"].as_f64().unwrap() * 10.0 < change["now_per_minute"].as_f64().unwrap());
    assert_eq!(first(&r["top_talkers"]["by_errors"]).0, "203.0.113.9");
    assert_eq!(first(&b["user_agents"]).0, "okhttp/4.12.0");
    let (host, change) = first(&b["hosts"]);
    assert_eq!(host, "admin.example.com");
    assert!(b["hosts"][0]["latency_ms"]["p99"].as_f64().unwrap() >= 2000.0, "{}", b["hosts"]);
    assert!(change["p99_now_ms"].as_f64().unwrap() >= 2000.0, "{change}");
    let api = b["hosts"].as_array().unwrap().iter().find(|h| h["key"] == "api.example.com").unwrap();
    assert!(api["latency_ms"]["p99"].as_f64().unwrap() < 100.0, "{api}");
    // status codes before → now: the 502s and 429s are new, the 200s are not
    let codes: Vec<u64> =
        r["status_change"].as_array().unwrap().iter().map(|s| s["status"].as_u64().unwrap()).collect();
    assert_eq!(codes.last(), Some(&200), "{codes:?}");
    assert!(codes[..2].contains(&502) && codes[..2].contains(&429), "{codes:?}");
    // the diagnosis names the concentration
    let d429 = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == 429).unwrap();
    assert!(d429["evidence"].as_array().unwrap().iter().any(|e| e.as_str().unwrap().contains("203.0.113.9")), "{d429}");

    let text = report_text(&[&paths[0], &paths[1]]);
    for want in ["NODES (5xx, by change)", "TOP TALKERS (client addresses by requests, by change)", "VIRTUAL HOSTS"] {
        assert!(text.contains(want), "{want}: {text}");
    }
    let node_line = text.lines().find(|l| l.contains("gw2.log") && l.contains("→")).unwrap_or_else(|| panic!("{text}"));
    assert!(node_line.contains(" up ") || node_line.contains("new: none before"), "{node_line}");
}

/// `--markers` with a command: it runs to its end and its lines are changes like a file's; one still running at
/// the time limit is stopped, and what it printed before is used.
#[test]
fn a_marker_command_runs_and_its_lines_are_changes() {
    let dir = tempfile::tempdir().unwrap();
    let gw = demo_incident(dir.path());
    let cmd = r"printf '2024-05-01T12:03:15Z deploy orders-api v2.3.1\nno time, no change\n'";
    let (r, code) = report_json(&["--markers", cmd, &gw]);
    assert_eq!(code, 0);
    let markers = r["markers"].as_array().unwrap();
    assert_eq!(markers.len(), 1, "{markers:?}");
    assert_eq!(
        (markers[0]["kind"].as_str(), markers[0]["text"].as_str(), markers[0]["source"].as_str()),
        (Some("change"), Some("deploy orders-api v2.3.1"), Some(cmd))
    );
    assert_eq!(markers[0]["time"].as_str(), Some("2024-05-01T12:03:15.000Z"));
    let d502 = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == 502).unwrap();
    assert!(d502["evidence"][0].as_str().unwrap().starts_with("began 5 s after a change at 12:03:15"), "{d502}");
    // a command that fails: said, its output still used, and the exit code says not all was read
    let out = gatewatch()
        .args(["report", "--json", "--markers", "echo '2024-05-01T12:03:15Z deploy'; echo denied >&2; exit 4", &gw])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exited with status 4: denied"), "{stderr}");
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["markers"].as_array().map(Vec::len), Some(1));
    // one that never ends (a watch): stopped at the limit, its first line kept
    let start = std::time::Instant::now();
    let out = gatewatch()
        .args(["report", "--json", "--markers", "echo '2024-05-01T12:03:15Z deploy'; exec sleep 600", &gw])
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(took >= std::time::Duration::from_secs(9) && took < std::time::Duration::from_secs(30), "{took:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("still ran after 10 s"), "{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["markers"][0]["text"].as_str(), Some("deploy"));
    assert_eq!(out.status.code(), Some(0), "a watch stopped at the limit is how it is meant to end");
}
