//! `gatewatch trace`: every record of one request across sources, checked against the generator's ground truth.

use assert_cmd::Command;
use gatewatch::generate::{GenConfig, Generator, upstream_logged};
use serde_json::Value;

fn gatewatch() -> Command {
    Command::cargo_bin("gatewatch").unwrap()
}

fn trace_json(args: &[&str]) -> (Value, i32) {
    let out = gatewatch().args(["trace", "--json"]).args(args).output().unwrap();
    (serde_json::from_slice(&out.stdout).unwrap_or(Value::Null), out.status.code().unwrap())
}

#[test]
fn a_retried_request_shows_every_hop_with_its_breakdown() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, up) = (dir.path().join("gw.log"), dir.path().join("app.log"));
    gatewatch()
        .args(["generate", "--requests", "3000", "--incident", "--seed", "9", "--gateway-out"])
        .arg(&gw)
        .arg("--upstream-out")
        .arg(&up)
        .assert()
        .success();
    // the truth: a request the gateway retried (502 from the failing upstream, then 200 from another)
    let mut g = Generator::new(GenConfig { requests: 3000, incident: true, seed: 9, ..Default::default() });
    let retried = std::iter::from_fn(|| g.next_request()).find(|r| r.upstream_status == [502, 200]).unwrap();
    assert!(upstream_logged(&retried));
    let (v, code) = trace_json(&[&retried.request_id, gw.to_str().unwrap(), up.to_str().unwrap()]);
    assert_eq!(code, 0);
    let hops = v["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 2, "{v:#}");
    let gw_hop = hops.iter().find(|h| h["role"] == "gateway").unwrap();
    assert_eq!(gw_hop["record"]["status"], 200);
    assert_eq!(gw_hop["record"]["upstream_status"], serde_json::json!([502, 200]));
    assert_eq!(gw_hop["record"]["upstream_addr"].as_str().unwrap(), retried.upstream_addr.join(", "));
    let app_hop = hops.iter().find(|h| h["role"] == "upstream").unwrap();
    assert_eq!(app_hop["record"]["request_id"], retried.request_id.as_str());
    // the line numbers point at the real lines
    let line = std::fs::read_to_string(&gw)
        .unwrap()
        .lines()
        .nth(gw_hop["line"].as_u64().unwrap() as usize - 1)
        .unwrap()
        .to_string();
    assert!(line.contains(&retried.request_id));
    let b = &v["breakdown"];
    let total = (retried.duration_us as f64 / 1000.0).round();
    assert!((b["gateway_ms"].as_f64().unwrap() - total).abs() <= 1.0, "{b}");
    let overhead = b["gateway_overhead_ms"].as_f64().unwrap();
    assert!((0.0..=3.0).contains(&overhead), "the generator's overhead is 0.2–1.7 ms: {b}");
}

#[test]
fn repeated_ids_and_trace_ids_all_show_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let gw = dir.path().join("gw.log");
    let app = dir.path().join("app.log");
    let rid = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    std::fs::write(
        &gw,
        format!(
            "10.0.0.1 - - [01/May/2024:12:00:05 +0000] \"GET /a HTTP/1.1\" 200 1 \"-\" \"x\" rid={rid} rt=0.050 urt=\"0.040\" us=\"200\" ua=\"10.0.0.5:80\"\n\
             10.0.0.1 - - [01/May/2024:12:00:01 +0000] \"GET /a HTTP/1.1\" 504 1 \"-\" \"x\" rid={} rt=30.001 urt=\"30.000\" us=\"504\" ua=\"10.0.0.5:80\"\n\
             10.0.0.2 - - [01/May/2024:12:00:02 +0000] \"GET /other HTTP/1.1\" 200 1 \"-\" \"x\" rid=ffffffffffffffffffffffffffffffff\n\
             10.0.0.3 - - [01/May/2024:12:00:03 +0000] \"GET /b HTTP/1.1\" 200 1 \"-\" \"x\" traceparent=00-{trace}-00f067aa0ba902b7-01\n",
            rid.to_uppercase()
        ),
    )
    .unwrap();
    std::fs::write(
        &app,
        format!(
            "{{\"time\":\"2024-05-01T12:00:04.990Z\",\"level\":\"info\",\"msg\":\"done\",\"request_id\":\"{rid}\",\"duration_ms\":38}}\n\
             {{\"time\":\"2024-05-01T12:00:03.000Z\",\"level\":\"info\",\"msg\":\"b\",\"trace_id\":\"{trace}\"}}\n"
        ),
    )
    .unwrap();
    let (v, _) = trace_json(&[rid, gw.to_str().unwrap(), app.to_str().unwrap()]);
    let lines: Vec<(String, u64)> = v["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["source"].as_str().unwrap().rsplit('/').next().unwrap().to_string(), h["line"].as_u64().unwrap()))
        .collect();
    // the retry (upper-case UUID, same id) at 12:00:01, the app line at 12:00:04.99, the success at 12:00:05
    assert_eq!(lines, [("gw.log".into(), 2), ("app.log".into(), 1), ("gw.log".into(), 1)]);
    assert_eq!(v["breakdown"]["service_ms"], 38.0);
    assert_eq!(v["breakdown"]["network_ms"], 2.0, "urt 40 ms − the service's own 38 ms");

    let (v, _) = trace_json(&[trace, gw.to_str().unwrap(), app.to_str().unwrap()]);
    assert_eq!(v["hops"].as_array().unwrap().len(), 2, "a W3C trace id links the gateway's traceparent to the app");

    let out = gatewatch().args(["trace", "deadbeef", gw.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no record carries id deadbeef"));
}

/// An id repeated by a stuck client: the trace says how many records carry it and shows the ends, not all.
#[test]
fn an_id_carried_by_many_records_is_counted_and_its_ends_shown() {
    let dir = tempfile::tempdir().unwrap();
    let gw = dir.path().join("gw.log");
    let rid = "5".repeat(32);
    let mut text = String::new();
    for i in 0..50_000u32 {
        let (s, m) = (i / 60 % 60, 10 + i / 3600);
        text.push_str(&format!(
            "203.0.113.5 - - [01/May/2024:{m}:{:02}:{:02} +0000] \"GET /v1/retry/{i} HTTP/1.1\" 503 0 \"-\" \"stuck\" \
             rid={rid} rt=0.001 urt=\"0.001\" us=\"503\" ua=\"10.0.0.7:80\"\n",
            s,
            i % 60
        ));
        if i % 1000 == 0 {
            text.push_str(&format!(
                "203.0.113.6 - - [01/May/2024:{m}:{:02}:{:02} +0000] \"GET /ok HTTP/1.1\" 200 0 \"-\" \"ok\" \
                 rid={i:032x} rt=0.001 urt=\"0.001\" us=\"200\" ua=\"10.0.0.7:80\"\n",
                s,
                i % 60
            ));
        }
    }
    std::fs::write(&gw, text).unwrap();
    let (v, code) = trace_json(&["--limit", "10", &rid, gw.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(v["count"], 50_000);
    assert_eq!(v["hops"].as_array().unwrap().len(), 20, "the first and last 10");
    assert_eq!(v["omitted"], 49_980);
    let hops = v["hops"].as_array().unwrap();
    assert_eq!(hops[0]["line"], 1);
    assert_eq!(hops[19]["record"]["path"], "/v1/retry/49999");
    let out = gatewatch().args(["trace", &rid, gw.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("50000 record(s) carry id"), "{text}");
    assert!(text.contains("the id is not unique") && text.contains("49960 more are not (--limit)"), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains("/v1/retry/")).count(), 40, "20 at each end by default");
}
