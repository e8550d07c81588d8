//! HAProxy's log formats: `option httplog` (current and legacy timers), `option httpslog`, `option tcplog`, with and
//! without syslog headers and captured headers, files that mix them, and custom `log-format` strings.
//!
//! Fixtures under `tests/fixtures/haproxy/` are lines from HAProxy's configuration manual and from public log
//! pipeline test samples, plus a few written in the same formats for the cases those lack. Every extracted field is
//! asserted, and `report --json` must leave no line unparsed.

use std::sync::Arc;

use assert_cmd::Command;
use gatewatch::format::haproxy;
use gatewatch::format::haproxy_format::HaproxyFormat;
use gatewatch::format::{Format, ParseOptions};
use gatewatch::record::Record;
use serde_json::Value;

fn path(name: &str) -> String {
    format!("{}/tests/fixtures/haproxy/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> Vec<Vec<u8>> {
    std::fs::read(path(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn spec(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap().trim().to_string()
}

fn parse_with(format: &Format, name: &str) -> Vec<Record<'static>> {
    let opts = ParseOptions::default();
    fixture(name)
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format
                .parse(l, &opts)
                .unwrap_or_else(|| panic!("{name} line {} did not parse: {}", i + 1, String::from_utf8_lossy(l)))
                .into_owned()
        })
        .collect()
}

fn parse_all(name: &str) -> Vec<Record<'static>> {
    parse_with(&Format::Haproxy, name)
}

fn us(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_microsecond()
}

fn s<'a>(c: &'a Option<std::borrow::Cow<'_, str>>) -> Option<&'a str> {
    c.as_deref()
}

/// Client, backend, server, flags.
fn who<'a>(r: &'a Record<'_>) -> (Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>) {
    (s(&r.client), s(&r.route), s(&r.upstream_addr), s(&r.flags))
}

/// Total, server response, connect, and header (connect + response) times, µs.
fn timers(r: &Record<'_>) -> (Option<u64>, Option<u64>, Option<u64>, Option<u64>) {
    (r.duration_us, r.upstream_us, r.upstream_connect_us, r.upstream_header_us)
}

/// Method, path, protocol, status.
fn request<'a>(r: &'a Record<'_>) -> (Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<u16>) {
    (s(&r.method), s(&r.path), s(&r.protocol), r.status)
}

#[test]
fn httplog_with_syslog_headers() {
    let r = parse_all("httplog.log");
    assert_eq!(r[0].time.unwrap().unix_us, us("2009-02-06T12:14:14.655Z"));
    assert_eq!(who(&r[0]), (Some("10.0.1.2"), Some("static"), Some("srv1"), Some("----")));
    assert_eq!(timers(&r[0]), (Some(109_000), Some(69_000), Some(30_000), Some(99_000)));
    assert_eq!(request(&r[0]), (Some("GET"), Some("/index.html"), Some("HTTP/1.1"), Some(200)));
    assert_eq!((r[0].bytes_sent, s(&r[0].host), s(&r[0].request_id)), (Some(2750), Some("1wt.eu"), None));
    assert_eq!(r[0].upstream_status.as_slice(), &[200]);
    // `timeout server` struck: Tr is -1, so the server never answered
    assert_eq!(r[1].time.unwrap().unix_us, us("2019-06-27T21:42:38.916Z"));
    assert_eq!(who(&r[1]), (Some("8.6.7.10"), Some("be_http"), Some("srva"), Some("sH--")));
    assert_eq!(timers(&r[1]), (Some(63_387_000), None, Some(0), None));
    assert_eq!(request(&r[1]), (Some("PATCH"), Some("/api/upload/4ddad61736a6"), Some("HTTP/1.1"), Some(504)));
    assert!(r[1].upstream_status.is_empty());
    assert_eq!(timers(&r[2]), (Some(30_990_000), Some(30_989_000), Some(1_000), Some(30_990_000)));
    assert_eq!((r[2].status, r[2].upstream_status.as_slice()), (Some(409), &[409][..]));
    // no server to send to
    assert_eq!(who(&r[3]), (Some("127.0.0.1"), Some("http-webservices"), None, Some("SC--")));
    assert_eq!(timers(&r[3]), (Some(0), None, None, None));
    assert_eq!(request(&r[3]), (Some("GET"), Some("/"), Some("HTTP/1.1"), Some(503)));
    // an unparsable request: no method, no path
    assert_eq!(request(&r[4]), (None, None, None, Some(400)));
    assert_eq!(who(&r[4]), (Some("127.0.0.1"), Some("f_foobar"), None, Some("CR--")));
    assert_eq!(r[4].time.unwrap().unix_us, us("2025-09-29T08:33:00.277Z"));
    assert_eq!(r[5].status, Some(404));
    assert!(s(&r[5].path).unwrap().starts_with("/public/index.php?s=/index/\\think\\app/"));
}

#[test]
fn httplog_without_syslog_header_reads_the_same() {
    let with = parse_all("httplog.log");
    let bare = parse_all("httplog-bare.log");
    assert_eq!(with.len(), bare.len());
    for (a, b) in with.iter().zip(&bare) {
        assert_eq!((a.time, who(a), timers(a), request(a)), (b.time, who(b), timers(b), request(b)));
        assert_eq!((a.bytes_sent, &a.host), (b.bytes_sent, &b.host));
    }
}

#[test]
fn httpslog_tls_fields_are_not_the_request_id() {
    let r = parse_all("httpslog.log");
    assert_eq!(who(&r[0]), (Some("10.0.1.2"), Some("static"), Some("srv1"), Some("----")));
    assert_eq!(request(&r[0]), (Some("GET"), Some("/index.html"), Some("HTTP/1.1"), Some(200)));
    assert_eq!(timers(&r[0]), (Some(109_000), Some(69_000), Some(30_000), Some(99_000)));
    assert!(r.iter().all(|r| r.request_id.is_none()), "{:?}", r.iter().map(|r| &r.request_id).collect::<Vec<_>>());
    assert_eq!(r[1].time.unwrap().unix_us, us("2021-01-27T21:52:56.086Z"));
    assert_eq!(who(&r[1]), (Some("192.168.50.1"), Some("be_servers"), Some("s1"), Some("----")));
    assert_eq!(r[1].bytes_sent, Some(517));
    // RFC 5424 header, a server timeout
    assert_eq!(r[2].time.unwrap().unix_us, us("2024-05-01T12:00:00.410Z"));
    assert_eq!(who(&r[2]), (Some("203.0.113.7"), Some("be_orders"), Some("orders1"), Some("sH--")));
    assert_eq!(request(&r[2]), (Some("POST"), Some("/v1/orders"), Some("HTTP/2.0"), Some(504)));
    assert_eq!(timers(&r[2]), (Some(2_000_000), None, Some(1_000), None));
    // a failed handshake's bad request
    assert_eq!((request(&r[3]), s(&r[3].flags)), ((None, None, None, Some(400)), Some("CR--")));
}

#[test]
fn tcplog_has_no_request_but_the_rest() {
    let r = parse_all("tcplog.log");
    for x in &r {
        assert_eq!(request(x), (None, None, None, None));
        assert!(x.upstream_status.is_empty());
        assert_eq!(x.upstream_us, None);
    }
    assert_eq!(r[0].time.unwrap().unix_us, us("2018-09-20T15:44:23.285Z"));
    assert_eq!(who(&r[0]), (Some("127.0.0.1"), Some("app"), None, Some("SC")));
    assert_eq!((r[0].duration_us, r[0].upstream_connect_us, r[0].bytes_sent), (Some(1_000), None, Some(212)));
    assert_eq!(r[1].time.unwrap().unix_us, us("2009-02-06T12:12:51.443Z"));
    assert_eq!(who(&r[1]), (Some("10.0.1.2"), Some("bck"), Some("srv1"), Some("--")));
    assert_eq!((r[1].duration_us, r[1].upstream_connect_us), (Some(5_007_000), Some(0)));
    // a bare `haproxy[pid]:` tag reads the same
    assert_eq!((r[2].time, who(&r[2]), r[2].duration_us), (r[1].time, who(&r[1]), r[1].duration_us));
    // backend and server names with colons (Kubernetes ingress controllers)
    assert_eq!(s(&r[3].route), Some("be_tcp:eck:elasticsearch-ingest"));
    assert_eq!(
        s(&r[3].upstream_addr),
        Some("pod:elasticsearch-es-hot-data-nodes-2:elasticsearch-es-ingest-nodes:https:10.142.10.10:9200")
    );
    assert_eq!((r[3].duration_us, r[3].upstream_connect_us, r[3].bytes_sent), (Some(205_000), Some(1_000), Some(2635)));
    assert_eq!(who(&r[4]), (Some("172.21.0.1"), Some("webservers"), Some("s2"), Some("cD")));
    assert_eq!(r[4].duration_us, Some(18_391_000));
}

#[test]
fn legacy_timers_and_logasap_signs() {
    let r = parse_all("legacy.log");
    assert_eq!(r[0].time.unwrap().unix_us, us("2003-10-15T08:31:57.130Z"));
    assert_eq!(who(&r[0]), (Some("127.0.0.1"), Some("px-http"), Some("srv1"), Some("----")));
    // Tq/Tw/Tc/Tr/Tt: Tt is the duration
    assert_eq!(timers(&r[0]), (Some(723_000), Some(147_000), Some(7_000), Some(154_000)));
    assert_eq!(request(&r[0]), (Some("HEAD"), Some("/"), Some("HTTP/1.0"), Some(200)));
    // `option logasap`: `+` before the total time and bytes
    assert_eq!((r[1].duration_us, r[1].bytes_sent), (Some(30_000), Some(243)));
    assert_eq!((r[2].status, s(&r[2].flags)), (Some(502), Some("PH--")));
    // no request at all: status -1, request ""
    assert_eq!(
        (request(&r[3]), s(&r[3].flags), r[3].duration_us),
        ((None, None, None, None), Some("CR--"), Some(8_490_000))
    );
    assert_eq!((r[4].status, s(&r[4].flags), r[4].duration_us), (Some(408), Some("cR--"), Some(50_001_000)));
    assert_eq!(who(&r[5]), (Some("10.0.0.1"), Some("px-http"), Some("srv1"), Some("SC--")));
    assert_eq!((r[5].status, timers(&r[5])), (Some(503), (Some(11_215_000), None, None, None)));
}

#[test]
fn captured_headers_present_absent_or_empty() {
    let r = parse_all("captures.log");
    assert_eq!(s(&r[0].host), Some("docs.example.internal"));
    assert_eq!(request(&r[0]).3, Some(304));
    assert_eq!(s(&r[0].path), Some("/component---src-pages-index-js-4b15624544f97cf0bb8f.js"));
    // request captures only, then both
    assert_eq!((s(&r[1].host), s(&r[1].path), r[1].status), (Some("localhost:8888"), Some("/foo"), Some(503)));
    assert_eq!((s(&r[2].host), s(&r[2].path), r[2].status), (Some("localhost:8888"), Some("/foo"), Some(503)));
    assert_eq!(s(&r[3].host), Some("api.example.com"));
    assert_eq!(s(&r[3].request_id), Some("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
    assert_eq!(s(&r[3].user_agent), Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0"));
    assert_eq!(request(&r[3]), (Some("POST"), Some("/v1/orders"), Some("HTTP/1.1"), Some(201)));
    assert_eq!(r[3].time.unwrap().unix_us, us("2024-05-01T12:00:00.120Z"));
}

#[test]
fn mixed_variants_line_by_line() {
    let r = parse_all("mixed.log");
    assert_eq!(
        r.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(200), None, Some(200), None, Some(200), None, Some(504)]
    );
    assert_eq!(s(&r[1].flags), Some("--"));
    assert_eq!(s(&r[3].flags), Some("cD"));
    assert_eq!(s(&r[4].client), Some("2001:db8::7"));
    assert_eq!(s(&r[4].request_id), Some("0af7651916cd43dd8448eb211c80319c"));
    assert_eq!(s(&r[2].request_id), None);
    assert_eq!(r[5].duration_us, Some(8_490_000));
    assert_eq!(who(&r[6]), (Some("10.0.1.3"), Some("dynamic"), Some("srv2"), Some("sH--")));
}

#[test]
fn custom_log_format_with_unique_id_and_host() {
    let f = Format::HaproxyCustom(Arc::new(HaproxyFormat::compile(&spec("custom.format")).unwrap()));
    let r = parse_with(&f, "custom.log");
    assert_eq!(r[0].time.unwrap().unix_us, us("2024-05-01T12:00:00.120Z"));
    assert_eq!(who(&r[0]), (Some("192.168.50.1"), Some("be_api"), Some("api2"), Some("----")));
    assert_eq!(timers(&r[0]), (Some(43_000), Some(42_000), Some(1_000), Some(43_000)));
    assert_eq!(request(&r[0]), (Some("GET"), Some("/v1/items?page=2"), Some("HTTP/1.1"), Some(200)));
    assert_eq!(s(&r[0].request_id), Some("7F000001:C4F2_0A00010B:01BB_663228C0_0003:1A2B"));
    assert_eq!((s(&r[0].host), r[0].bytes_sent), (Some("api.example.com"), Some(517)));
    assert_eq!((r[1].status, s(&r[1].flags)), (Some(504), Some("sH--")));
    assert_eq!(timers(&r[1]), (Some(30_001_000), None, Some(0), None));
    // behind an RFC 3164 header, IPv6 client, no server, no id, no host
    assert_eq!(who(&r[2]), (Some("2001:db8::9"), Some("be_api"), None, Some("SC--")));
    assert_eq!((s(&r[2].request_id), s(&r[2].host), r[2].status), (None, None, Some(503)));
    // behind an RFC 5424 header
    assert_eq!(r[3].time.unwrap().unix_us, us("2024-05-01T12:00:03.250Z"));
    assert_eq!((r[3].status, s(&r[3].request_id)), (Some(201), Some("7F000001:C4F5_0A00010B:01BB_663228C3_0006:1A2B")));
    // the built-in parser does not take this shape
    assert!(fixture("custom.log").iter().all(|l| haproxy::parse(l).is_none()));
}

#[test]
fn custom_log_format_clf() {
    let f = Format::HaproxyCustom(Arc::new(HaproxyFormat::compile(&spec("clf.format")).unwrap()));
    let r = parse_with(&f, "clf.log");
    assert_eq!(r[0].time.unwrap().unix_us, us("2009-02-06T12:14:14Z"));
    assert_eq!(who(&r[0]), (Some("10.0.1.2"), Some("static"), Some("srv1"), Some("----")));
    assert_eq!(timers(&r[0]), (Some(109_000), Some(69_000), Some(30_000), Some(99_000)));
    assert_eq!(request(&r[0]), (Some("GET"), Some("/index.html"), Some("HTTP/1.1"), Some(200)));
    assert_eq!((r[0].bytes_sent, s(&r[0].host)), (Some(2750), Some("1wt.eu")));
    assert_eq!(who(&r[1]), (Some("10.0.1.3"), Some("dynamic"), Some("srv2"), Some("sH--")));
    assert_eq!((r[1].status, timers(&r[1])), (Some(504), (Some(30_001_000), None, Some(1_000), None)));
    // `option httplog clf` is one of the built-in formats too
    let builtin = parse_all("clf.log");
    for (a, b) in r.iter().zip(&builtin) {
        assert_eq!((a.time, who(a), timers(a), request(a)), (b.time, who(b), timers(b), request(b)));
    }
}

#[test]
fn writer_output_parses() {
    use gatewatch::generate::{GenConfig, Generator};
    let mut g = Generator::new(GenConfig { requests: 300, incident: true, seed: 7, ..Default::default() });
    let mut n = 0;
    while let Some(req) = g.next_request() {
        let mut out = Vec::new();
        haproxy::write(&req, &mut out);
        let r = haproxy::parse(&out).unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&out)));
        assert_eq!(r.status, Some(req.status));
        n += 1;
    }
    assert_eq!(n, 300);
}

fn report(args: &[&str]) -> Value {
    let out = Command::cargo_bin("gatewatch").unwrap().arg("report").arg("--json").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn report_leaves_no_line_unparsed() {
    for name in [
        "httplog.log",
        "httplog-bare.log",
        "httpslog.log",
        "tcplog.log",
        "legacy.log",
        "captures.log",
        "mixed.log",
        "clf.log",
    ] {
        let v = report(&[&path(name)]);
        let src = &v["sources"][0];
        let lines = fixture(name).len() as u64;
        assert_eq!(
            (src["format"].as_str(), src["parsed"].as_u64(), src["unparsed"].as_u64()),
            (Some("haproxy"), Some(lines), Some(0)),
            "{name}: {src}"
        );
    }
    for (log, format) in [("custom.log", "custom.format"), ("clf.log", "clf.format")] {
        let v = report(&["--haproxy-format", &spec(format), &path(log)]);
        let src = &v["sources"][0];
        let lines = fixture(log).len() as u64;
        assert_eq!(
            (src["format"].as_str(), src["parsed"].as_u64(), src["unparsed"].as_u64()),
            (Some("haproxy-custom"), Some(lines), Some(0)),
            "{log}: {src}"
        );
    }
}

#[test]
fn report_diagnoses_server_timeouts_from_termination_states() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("haproxy.log");
    let mut text = String::new();
    for i in 0..20 {
        text.push_str(&format!(
            "May  1 12:00:{i:02} lb1 haproxy[8]: 203.0.113.{i}:5{i:04} [01/May/2024:12:00:{i:02}.000] fe_https~ be_orders/orders1 0/0/1/-1/30001 504 194 - - sH-- 4/4/2/1/0 0/0 \"POST /v1/orders HTTP/1.1\"\n"
        ));
        text.push_str(&format!(
            "May  1 12:00:{i:02} lb1 haproxy[8]: 203.0.113.{i}:6{i:04} [01/May/2024:12:00:{i:02}.500] fe_https~ be_orders/orders1 0/0/1/20/21 200 94 - - ---- 4/4/2/1/0 0/0 \"GET /v1/orders/1 HTTP/1.1\"\n"
        ));
    }
    std::fs::write(&file, text).unwrap();
    let v = report(&[file.to_str().unwrap()]);
    let text = v.to_string();
    assert!(text.contains("the server did not send headers within `timeout server`"), "{text}");
    assert!(text.contains("sH--"), "{text}");
}

#[test]
fn cut_lines_never_panic() {
    let custom = HaproxyFormat::compile(&spec("custom.format")).unwrap();
    let clf = HaproxyFormat::compile(&spec("clf.format")).unwrap();
    for name in ["httplog.log", "httpslog.log", "tcplog.log", "legacy.log", "captures.log", "custom.log", "clf.log"] {
        for line in fixture(name) {
            for end in 0..line.len() {
                let cut = &line[..end];
                let _ = (haproxy::parse(cut), custom.parse(cut), clf.parse(cut));
                let _ = (haproxy::parse(&line[end..]), custom.parse(&line[end..]));
            }
        }
    }
}

#[test]
fn bad_or_missing_log_format_is_a_usage_error() {
    let tcplog = path("tcplog.log");
    let out = Command::cargo_bin("gatewatch")
        .unwrap()
        .args(["report", "--haproxy-format", "no variables here", &tcplog])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid HAProxy log-format"));
    let out = Command::cargo_bin("gatewatch")
        .unwrap()
        .args(["report", "--format", "haproxy-custom", &tcplog])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--haproxy-format"));
    // from the config file, and forced on every line
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("haproxy_format = '''{}'''\n", spec("custom.format"))).unwrap();
    let v = report(&["--config", config.to_str().unwrap(), "--format", "haproxy-custom", &path("custom.log")]);
    let src = &v["sources"][0];
    assert_eq!(
        (src["format"].as_str(), src["parsed"].as_u64(), src["unparsed"].as_u64()),
        (Some("haproxy-custom"), Some(4), Some(0))
    );
}

proptest::proptest! {
    #[test]
    fn any_spec_and_line_never_panic(spec in "[%{}+QE\\[\\]a-zA-Z:/ \"\\\\.-]{0,40}", line in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
        if let Ok(f) = HaproxyFormat::compile(&spec) {
            let _ = f.parse(&line);
            let _ = f.parse(spec.as_bytes());
        }
        let _ = haproxy::parse(&line);
    }
}

/// HAProxy's own alerts (`Server orders/srv1 is DOWN`, `backend orders has no server available!`) mixed into its
/// access log through syslog are change markers: the 503s that follow are said to have begun after one.
#[test]
fn a_server_going_down_marks_the_503s_after_it() {
    // syslog stamps have no year: a day in the past few weeks, so the year read is the right one
    let day = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 10);
    let day = day.to_zoned(jiff::tz::TimeZone::UTC);
    let (syslog_day, access_day) = (day.strftime("%b %e").to_string(), day.strftime("%d/%b/%Y").to_string());
    let access = |s: u32, status: u16, server: &str, state: &str| {
        format!(
            "<134>{syslog_day} 12:00:{s:02} lb haproxy[812]: 10.0.0.1:5{s:04} [{access_day}:12:00:{s:02}.100] web \
             orders/{server} 0/0/1/4/5 {status} 512 - - {state} 1/1/0/0/0 0/0 \"GET /v1/orders/{s} HTTP/1.1\"\n"
        )
    };
    let mut log = String::new();
    for s in 0..20 {
        log += &access(s, 200, "srv1", "----");
    }
    log += &format!(
        "<129>{syslog_day} 12:00:20 lb haproxy[812]: Server orders/srv1 is DOWN, reason: Layer4 connection problem, \
         info: \"Connection refused\", check duration: 0ms. 0 active and 0 backup servers left.\n"
    );
    log += &format!("<128>{syslog_day} 12:00:20 lb haproxy[812]: backend orders has no server available!\n");
    for s in 22..40 {
        log += &access(s, 503, "<NOSRV>", "SC--");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("haproxy.log");
    std::fs::write(&file, log).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gatewatch"))
        .args(["report", "--json", file.to_str().unwrap()])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = r["markers"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["server down", "server down"], "{}", r["markers"]);
    assert_eq!(r["sources"][0]["requests"], 38, "the alerts are not requests");
    let d = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == 503).unwrap();
    let first = d["evidence"][0].as_str().unwrap();
    assert!(first.starts_with("began 2 s after a server down at"), "{d}");
    assert!(first.contains("backend orders has no server available!"), "{d}");
}
