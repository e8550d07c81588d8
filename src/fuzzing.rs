//! Harnesses that feed arbitrary bytes to every part that reads text written by strangers: the fuzz targets in
//! `fuzz/` run them under libFuzzer, and `tests/bad_input.rs` runs every kept input through them on stable. Each
//! must return (no panic, no hang) on any input; where a result can be checked against itself, it is.

use std::sync::Arc;

use crate::format::{Format, ParseOptions, Parser};

/// The lines of `data`, as the readers cut them.
fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == b'\n').map(crate::format::trim_line)
}

/// Format detection on `data`, then every built-in parser (and its fast path) on every line.
pub fn formats(data: &[u8]) {
    let opts = Arc::new(ParseOptions::default());
    let sample = crate::format::detect::sample_lines(data);
    let detected = crate::format::detect::detect(&sample, &[], opts.clone());
    for line in lines(data) {
        let _ = detected.parser.parse(line);
        for f in Format::builtin() {
            let p = Parser::new(f, opts.clone());
            if let Some(r) = p.parse(line) {
                // what a record says is printed: its text forms must hold too
                let _ = crate::output::record_text(&r, true);
                let _ = crate::output::json_string(&crate::output::record_json(&r), false);
            }
            let _ = p.fast_summary(line);
        }
    }
}

/// The whole `report` pipeline on `data` as a file: detection, the scan, the report, its text and JSON.
pub fn report(data: &[u8]) {
    let dir = std::env::temp_dir().join(format!("gatewatch-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("input.log");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let opts = crate::input::ScanOptions { threads: 1, ..Default::default() };
    let path = path.to_string_lossy().into_owned();
    let Ok(scanned) = crate::report::scan_source(&path, None, &opts) else { return };
    let report = crate::report::Report::build(vec![scanned], &opts.alert_rules, None, Vec::new());
    let text = crate::report::text::render(&report, false);
    assert!(!text.contains('\u{1b}'), "the text report never prints a raw ESC");
    let _ = crate::output::json_string(&report, true);
}

/// The nginx `log_format` compiler: the first line is the format, the rest are lines to parse with it.
pub fn nginx_format(data: &[u8]) {
    let mut it = data.splitn(2, |&b| b == b'\n');
    let spec = String::from_utf8_lossy(it.next().unwrap_or_default());
    let Ok(f) = crate::format::nginx_format::NginxFormat::compile(&spec) else { return };
    let parser = Parser::new(Format::NginxCustom(Arc::new(f)), Arc::new(ParseOptions::default()));
    for line in lines(it.next().unwrap_or_default()) {
        let _ = parser.parse(line);
    }
}

/// The HAProxy `log-format` compiler: the first line is the format, the rest are lines to parse with it.
pub fn haproxy_format(data: &[u8]) {
    let mut it = data.splitn(2, |&b| b == b'\n');
    let spec = String::from_utf8_lossy(it.next().unwrap_or_default());
    let Ok(f) = crate::format::haproxy_format::HaproxyFormat::compile(&spec) else { return };
    let parser = Parser::new(Format::HaproxyCustom(Arc::new(f)), Arc::new(ParseOptions::default()));
    for line in lines(it.next().unwrap_or_default()) {
        let _ = parser.parse(line);
    }
}

/// The filter language: the first line is an expression, the rest are nginx and JSON lines to match it against.
pub fn filter(data: &[u8]) {
    let mut it = data.splitn(2, |&b| b == b'\n');
    let expr = String::from_utf8_lossy(it.next().unwrap_or_default());
    let Ok(f) = crate::filter::Filter::parse(&expr) else { return };
    let opts = Arc::new(ParseOptions::default());
    let parsers =
        [Parser::new(Format::Nginx, opts.clone()), Parser::new(Format::from_name("json").expect("json"), opts)];
    for line in lines(it.next().unwrap_or_default()) {
        for p in &parsers {
            if let Some(r) = p.parse(line) {
                let _ = f.matches(&r);
            }
        }
    }
}

/// The curl importer; what it imports, exported and imported again, is the same request.
pub fn curl(data: &[u8]) {
    let Ok(cmd) = std::str::from_utf8(data) else { return };
    let Ok(req) = crate::replay::curl::from_curl_with(cmd, false) else { return };
    let shown = crate::replay::curl::to_curl(&req, &crate::replay::Redactor::new(&[], true));
    // a body with a NUL byte is exported through printf, which the importer does not read back
    if req.body.as_ref().is_some_and(|b| b.contains(&0)) {
        return;
    }
    let again = crate::replay::curl::from_curl_with(&shown, false).expect("an exported command imports");
    assert_eq!(again, req, "curl round trip");
}

/// The replay editor's text → request parser; a request's own text reads back as the same request.
pub fn editor(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let redactor = crate::replay::Redactor::new(&[], false);
    let before = crate::replay::Request::default();
    let Ok(req) = crate::replay::edit::from_text(text, &redactor, &before, false) else { return };
    let shown = crate::replay::edit::to_text(&req, &redactor);
    let _ = crate::replay::edit::from_text(&shown, &redactor, &req, false);
}

/// The JWT finder and decoder, the checks without a key, and a JWK Set read from the same bytes.
pub fn token(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let at = jiff::Timestamp::from_second(1_800_000_000).expect("a valid instant");
    let expect = crate::token::inspect::Expect { leeway_s: 60, ..Default::default() };
    for found in crate::token::find::find(&text) {
        if let Ok(t) = crate::token::decode::decode(&found.token) {
            let i = crate::token::inspect::inspect(&t, &found.place, None, &expect, at, Some(at));
            for (_, line) in crate::token::show::lines(&i) {
                let _ = crate::text::escape_control(line.as_bytes());
            }
        }
    }
    if let Ok(set) = serde_json::from_slice::<jsonwebtoken::jwk::JwkSet>(data) {
        let keys = crate::token::keys::Keys::Set { set, source: "fuzz".into(), published: true };
        let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.c2ln";
        if let Ok(t) = crate::token::decode::decode(token) {
            let _ = crate::token::verify::check(&t, Some(&keys));
        }
    }
}

/// A harness: arbitrary bytes in, a panic on a defect.
pub type Harness = fn(&[u8]);

/// Every harness, by the name its fuzz target and corpus folder have.
pub const HARNESSES: &[(&str, Harness)] = &[
    ("formats", formats),
    ("report", report),
    ("nginx_format", nginx_format),
    ("haproxy_format", haproxy_format),
    ("filter", filter),
    ("curl", curl),
    ("editor", editor),
    ("token", token),
];
