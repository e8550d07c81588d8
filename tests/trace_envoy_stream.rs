//! Envoy's own log names no request id, only streams: `trace`, the report's diagnosis and the console's trace view
//! join a stream's lines to the request whose id its dumped request headers carry.

use std::process::Command;

use crossterm::event::KeyCode;
use gatewatch::record::Role;
use gatewatch::ui::app::Overlay;
use serde_json::Value;

mod common;

const ACCESS: &str = "tests/fixtures/envoy-debug/access.log";
const ENVOY: &str = "tests/fixtures/envoy-debug/envoy.log";
const REFUSED: &str = "8c1e6f0a-4b7d-4e0c-9f3a-1d2b3c4d5e01";

fn gatewatch(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_gatewatch")).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn stream_hops(id: &str) -> Vec<(u64, String)> {
    let t: Value = serde_json::from_slice(&gatewatch(&["trace", "--json", id, ACCESS, ENVOY])).unwrap();
    t["hops"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["joined_by"] == "stream")
        .map(|h| (h["line"].as_u64().unwrap(), h["record"]["message"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn trace_joins_the_streams_lines_and_no_others() {
    let hops = stream_hops(REFUSED);
    let lines: Vec<u64> = hops.iter().map(|h| h.0).collect();
    // its stream's lines ([C2][S1049…]), not the other streams' interleaved with them, nor the connection's
    assert_eq!(lines, [2, 3, 11, 22, 23], "{hops:?}");
    assert!(hops[3].1.starts_with("upstream reset: reset reason: remote connection failure"), "{hops:?}");
    // the stream written with the later `[Tags: …]` ids joins as well
    let ok = stream_hops("8c1e6f0a-4b7d-4e0c-9f3a-1d2b3c4d5e02");
    assert_eq!(ok.iter().map(|h| h.0).collect::<Vec<_>>(), [14, 15, 24, 25], "{ok:?}");
    let timeout = stream_hops("8c1e6f0a-4b7d-4e0c-9f3a-1d2b3c4d5e03");
    assert!(timeout.iter().any(|h| h.1 == "upstream timeout"), "{timeout:?}");

    let text = String::from_utf8(gatewatch(&["trace", REFUSED, ACCESS, ENVOY])).unwrap();
    assert!(text.contains("upstream reset: reset reason: remote connection failure"), "{text}");
    assert!(text.contains("[proxy log, joined by stream]"), "{text}");
}

#[test]
fn the_diagnosis_quotes_the_streams_cause() {
    let r: Value = serde_json::from_slice(&gatewatch(&["report", "--json", ACCESS, ENVOY])).unwrap();
    let family =
        |status: u64| r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == status).cloned().unwrap();
    let evidence = |d: &Value| {
        d["evidence"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let refused = family(503);
    assert!(refused["cause"].as_str().unwrap().contains("could not connect"), "{refused}");
    assert!(
        evidence(&refused).iter().any(|e| e.contains("upstream reset: reset reason: remote connection failure")),
        "{refused}"
    );
    let timeout = family(504);
    assert!(evidence(&timeout).iter().any(|e| e == "error log: upstream timeout"), "{timeout}");
    assert!(!evidence(&timeout).iter().any(|e| e.contains("remote connection failure")), "{timeout}");
}

#[test]
fn the_console_trace_view_shows_the_stream() {
    let mut app = common::console(
        vec![("access.log".into(), ACCESS.into(), Some(Role::Gateway)), ("envoy.log".into(), ENVOY.into(), None)],
        220,
        45,
    );
    app.update(common::batch(0, &std::fs::read(ACCESS).unwrap()));
    app.update(common::batch(1, &std::fs::read(ENVOY).unwrap()));
    common::key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.selected_id.as_deref(), Some(REFUSED));
    common::key(&mut app, KeyCode::Char('t'));
    assert_eq!(app.overlay, Overlay::Trace);
    let shown = common::screen(&app);
    assert!(shown.contains("proxy log envoy.log:22"), "{shown}");
    assert!(shown.contains("upstream reset: reset reason: remote connection failure"), "{shown}");
    assert!(shown.contains("joined by stream"), "{shown}");
    assert!(!shown.contains("upstream timeout"), "another stream's line:\n{shown}");
}
