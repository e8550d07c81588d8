//! nginx combined / main / extras, ingress-nginx upstreaminfo, custom `log_format` and Apache: fixtures written
//! from the official documentation, writer round trips, detection and a no-panic property test.

use std::sync::Arc;

use gatewatch::format::detect::detect;
use gatewatch::format::nginx_format::NginxFormat;
use gatewatch::format::{Format, apache, nginx};
use gatewatch::record::{LogTime, Record};
use gatewatch::synth::SynthRequest;
use proptest::prelude::*;

const CUSTOM_SPEC: &str = r#"log_format timed '$remote_addr [$time_local] $host "$request" $status $bytes_sent $request_time "$http_user_agent" '
                 '$upstream_addr $upstream_status $upstream_response_time $request_id "$http_traceparent"';"#;

const CUSTOM_JSON_SPEC: &str = r#"escape=json
    '{"time":"$time_iso8601","remote_addr":"$remote_addr","xff":"$http_x_forwarded_for",'
    '"request_id":"$request_id","method":"$request_method","uri":"$request_uri","status":$status,'
    '"bytes":$body_bytes_sent,"rt":$request_time,"urt":"$upstream_response_time","us":"$upstream_status",'
    '"ua_addr":"$upstream_addr","host":"$host","agent":"$http_user_agent"}'"#;

const COMBINED_EXTRAS_SPEC: &str = r#"'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" rid=$request_id rt=$request_time urt="$upstream_response_time" us="$upstream_status" ua="$upstream_addr"'"#;

const UPSTREAMINFO_SPEC: &str = r#"'$remote_addr - $remote_user [$time_local] "$request" '
    '$status $body_bytes_sent "$http_referer" "$http_user_agent" '
    '$request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr '
    '$upstream_response_length $upstream_response_time $upstream_status $req_id'"#;

fn fixture(name: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/tests/fixtures/nginx/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

fn at(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_microsecond()
}

fn time(s: &str, offset_h: i32) -> Option<LogTime> {
    Some(LogTime { unix_us: at(s), offset_s: offset_h * 3600 })
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn combined_fixture() {
    let lines = fixture("combined.log");
    let recs: Vec<_> = lines.iter().map(|l| nginx::parse(l)).collect();
    assert_eq!(recs.len(), 9);

    let r = recs[0].as_ref().unwrap();
    assert_eq!(r.client.as_deref(), Some("127.0.0.1"));
    assert_eq!(r.consumer.as_deref(), Some("frank"));
    assert_eq!(r.time, time("2000-10-10T20:55:36Z", -7));
    assert_eq!((r.method.as_deref(), r.path.as_deref()), (Some("GET"), Some("/apache_pb.gif")));
    assert_eq!(r.protocol.as_deref(), Some("HTTP/1.0"));
    assert_eq!((r.status, r.bytes_sent), (Some(200), Some(2326)));
    assert_eq!(r.referer.as_deref(), Some("http://www.example.com/start.html"));
    assert_eq!(r.user_agent.as_deref(), Some("Mozilla/4.08 [en] (Win98; I ;Nav)"));
    assert_eq!((r.duration_us, r.request_id.as_deref()), (None, None));

    let r = recs[1].as_ref().unwrap();
    assert_eq!(r.consumer, None);
    assert_eq!(r.referer, None);
    assert_eq!(r.user_agent.as_deref(), Some("kube-probe/1.29"));
    assert_eq!(r.time, time("2024-05-01T12:00:00Z", 0));

    let r = recs[2].as_ref().unwrap();
    assert_eq!(r.client.as_deref(), Some("2001:db8:85a3::8a2e:370:7334"));
    assert_eq!(r.time, time("2024-05-01T12:30:05Z", 2));
    assert_eq!(r.method.as_deref(), Some("POST"));
    assert_eq!(r.path.as_deref(), Some("/v1/orders?expand=items"));
    assert_eq!(r.protocol.as_deref(), Some("HTTP/2.0"));
    assert_eq!((r.status, r.bytes_sent), (Some(201), Some(512)));

    let r = recs[3].as_ref().unwrap();
    assert_eq!((r.status, r.bytes_sent), (Some(499), Some(0)));

    let r = recs[4].as_ref().unwrap(); // TLS handshake sent to the plain-HTTP port
    assert_eq!((&r.method, &r.path, &r.protocol), (&None, &None, &None));
    assert_eq!((r.status, r.bytes_sent), (Some(400), Some(157)));
    assert_eq!((r.referer.as_deref(), r.user_agent.as_deref()), (None, None));

    let r = recs[5].as_ref().unwrap();
    assert_eq!((&r.method, &r.path, r.status), (&None, &None, Some(444)));

    let r = recs[6].as_ref().unwrap();
    assert_eq!(r.path.as_deref(), Some("/search?q=\"quoted\""));
    assert_eq!(r.user_agent.as_deref(), Some("Bot \"X\"/1.0 café"));

    let r = recs[7].as_ref().unwrap();
    assert_eq!(r.user_agent.as_deref(), Some("raw \u{fffd}\u{fffd} bytes"));
    assert_eq!(r.path.as_deref(), Some("/raw"));

    assert!(recs[8].is_none(), "truncated line");

    // none of these is upstreaminfo
    assert!(lines.iter().all(|l| nginx::parse_ingress(l).is_none()));
}

#[test]
fn main_fixture() {
    let lines = fixture("main.log");
    let r = nginx::parse(&lines[0]).unwrap();
    assert_eq!(r.client.as_deref(), Some("10.0.0.5"));
    assert_eq!(r.path.as_deref(), Some("/index.html"));
    assert_eq!((r.status, r.bytes_sent), (Some(200), Some(615)));
    let r = nginx::parse(&lines[1]).unwrap();
    assert_eq!(r.client.as_deref(), Some("10.0.0.5"), "$remote_addr comes first and wins");
    assert_eq!(r.consumer.as_deref(), Some("alice"));
    assert_eq!(r.status, Some(401));
    assert_eq!(r.referer.as_deref(), Some("https://app.example.com/"));
    assert_eq!((r.duration_us, r.request_id.as_deref()), (None, None));
    let r = nginx::parse(&lines[2]).unwrap();
    assert_eq!(r.client.as_deref(), Some("fe80::1%eth0"));
    assert_eq!((r.method.as_deref(), r.protocol.as_deref()), (Some("HEAD"), Some("HTTP/1.0")));
}

#[test]
fn extras_fixture() {
    let lines = fixture("extras.log");
    let r = nginx::parse(&lines[0]).unwrap();
    assert_eq!(r.request_id.as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
    assert_eq!(r.duration_us, Some(12_000));
    assert_eq!(r.upstream_us, Some(10_000));
    assert_eq!(r.upstream_status.as_slice(), &[200]);
    assert_eq!(r.upstream_addr.as_deref(), Some("10.0.0.7:8080"));

    let r = nginx::parse(&lines[1]).unwrap();
    assert_eq!(r.request_id.as_deref(), Some("9f2c1d7e3b4a5c6d7e8f9a0b1c2d3e4f"));
    assert_eq!(r.duration_us, Some(31_000));
    assert_eq!(r.upstream_us, Some(21_000));
    assert_eq!(r.upstream_status.as_slice(), &[502, 200]);
    assert_eq!(r.upstream_status.last(), Some(200));
    assert_eq!(r.upstream_addr.as_deref(), Some("10.0.0.1:80, 10.0.0.2:80"));

    let r = nginx::parse(&lines[2]).unwrap();
    assert_eq!(r.status, Some(503));
    assert_eq!(r.duration_us, Some(0));
    assert_eq!(r.upstream_us, None);
    assert!(r.upstream_status.is_empty());
    assert_eq!(r.upstream_addr, None);

    let r = nginx::parse(&lines[3]).unwrap();
    assert_eq!(r.client.as_deref(), Some("2001:db8::7"));
    assert_eq!(r.time, time("2024-05-01T17:00:03Z", -5));
    assert_eq!(r.user_agent.as_deref(), Some("Mozilla/5.0 \"quoted\""));
    assert_eq!(r.upstream_us, Some(15_000));
    assert_eq!(r.upstream_status.as_slice(), &[401, 302]);
    assert_eq!(r.upstream_addr.as_deref(), Some("127.0.0.1:8181 : 10.0.0.3:80"));

    let r = nginx::parse(&lines[4]).unwrap();
    assert_eq!(r.duration_us, Some(60_002_000));
    assert_eq!(r.upstream_us, Some(60_002_000));
    assert_eq!(r.upstream_status.as_slice(), &[504, 504]);
}

#[test]
fn ingress_fixture() {
    let lines = fixture("ingress.log");
    let r = nginx::parse_ingress(&lines[0]).unwrap();
    assert_eq!(r.client.as_deref(), Some("192.168.65.3"));
    assert_eq!(r.time, time("2024-05-01T12:00:00Z", 0));
    assert_eq!((r.method.as_deref(), r.path.as_deref()), (Some("GET"), Some("/api/v1/users")));
    assert_eq!((r.status, r.bytes_sent, r.bytes_received), (Some(200), Some(1234), Some(95)));
    assert_eq!(r.duration_us, Some(4_000));
    assert_eq!(r.route.as_deref(), Some("default-users-80"));
    assert_eq!(r.upstream_addr.as_deref(), Some("10.244.0.12:8080"));
    assert_eq!(r.upstream_us, Some(4_000));
    assert_eq!(r.upstream_status.as_slice(), &[200]);
    assert_eq!(r.request_id.as_deref(), Some("2f8ab36b7c3a4fd2a2c5d4e1f0b9a8c7"));

    let r = nginx::parse_ingress(&lines[1]).unwrap();
    assert_eq!(r.route.as_deref(), Some("shop-orders-8080"));
    assert_eq!(r.referer.as_deref(), Some("https://shop.example.com/"));
    assert_eq!(r.bytes_received, Some(512));
    assert_eq!(r.upstream_addr.as_deref(), Some("10.244.0.5:8080, 10.244.0.6:8080"));
    assert_eq!(r.upstream_us, Some(30_000));
    assert_eq!(r.upstream_status.as_slice(), &[502, 200]);
    assert_eq!(r.request_id.as_deref(), Some("3a8ab36b7c3a4fd2a2c5d4e1f0b9a8c7"));

    let r = nginx::parse_ingress(&lines[2]).unwrap();
    assert_eq!(r.client.as_deref(), Some("2001:db8::42"));
    assert_eq!(r.route.as_deref(), Some("default-admin-80"));
    assert_eq!(r.upstream_addr.as_deref(), Some("10.244.0.9:80 : 10.244.0.10:80"));
    assert_eq!(r.upstream_us, Some(15_000));
    assert_eq!(r.upstream_status.as_slice(), &[401, 200]);
    assert_eq!(r.request_id.as_deref(), Some("4a8ab36b7c3a4fd2a2c5d4e1f0b9a8c7"));

    let r = nginx::parse_ingress(&lines[3]).unwrap();
    assert_eq!(r.status, Some(503));
    assert_eq!((r.upstream_addr.as_deref(), r.upstream_us), (None, None));
    assert!(r.upstream_status.is_empty());
    assert_eq!(r.request_id.as_deref(), Some("5a8ab36b7c3a4fd2a2c5d4e1f0b9a8c7"));

    let r = nginx::parse_ingress(&lines[4]).unwrap();
    assert_eq!((r.status, r.duration_us, r.upstream_us), (Some(499), Some(500_000), Some(500_000)));
    assert!(r.upstream_status.is_empty());

    assert!(nginx::parse_ingress(&lines[5]).is_none(), "truncated in the upstream fields");
}

#[test]
fn ingress_compiled_from_its_log_format_agrees() {
    let f = NginxFormat::compile(UPSTREAMINFO_SPEC).unwrap();
    for l in &fixture("ingress.log")[..5] {
        let want = nginx::parse_ingress(l).unwrap();
        let got = f.parse(l).unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(l)));
        assert_eq!(got, want);
    }
}

#[test]
fn custom_fixture() {
    let f = NginxFormat::compile(CUSTOM_SPEC).unwrap();
    let lines = fixture("custom.log");
    let r = f.parse(&lines[0]).unwrap();
    assert_eq!(r.client.as_deref(), Some("203.0.113.7"));
    assert_eq!(r.time, time("2024-05-01T12:00:00Z", 0));
    assert_eq!(r.host.as_deref(), Some("api.example.com"));
    assert_eq!((r.method.as_deref(), r.path.as_deref()), (Some("GET"), Some("/v1/orders/123")));
    assert_eq!((r.status, r.bytes_sent, r.duration_us), (Some(200), Some(310), Some(12_000)));
    assert_eq!(r.user_agent.as_deref(), Some("curl/8.5.0"));
    assert_eq!(r.upstream_addr.as_deref(), Some("10.0.0.7:8080"));
    assert_eq!(r.upstream_status.as_slice(), &[200]);
    assert_eq!(r.upstream_us, Some(10_000));
    assert_eq!(r.request_id.as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
    assert_eq!(r.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));

    let r = f.parse(&lines[1]).unwrap();
    assert_eq!(r.client.as_deref(), Some("2001:db8::9"));
    assert_eq!(r.upstream_addr.as_deref(), Some("10.0.0.1:80, 10.0.0.2:80"));
    assert_eq!(r.upstream_status.as_slice(), &[502, 200]);
    assert_eq!(r.upstream_us, Some(21_000));
    assert_eq!(r.request_id.as_deref(), Some("9f2c1d7e3b4a5c6d7e8f9a0b1c2d3e4f"));
    assert_eq!(r.trace_id, None);

    let r = f.parse(&lines[2]).unwrap();
    assert_eq!((r.host.as_deref(), r.method.as_deref(), r.path.as_deref()), (None, None, None));
    assert_eq!((r.status, r.bytes_sent), (Some(400), Some(0)));
    assert_eq!((r.upstream_addr.as_deref(), r.upstream_us, r.request_id.as_deref()), (None, None, None));

    // other formats' lines do not fit
    for l in fixture("combined.log").iter().chain(&fixture("custom_json.log")) {
        assert!(f.parse(l).is_none(), "{}", String::from_utf8_lossy(l));
    }
}

#[test]
fn custom_json_fixture() {
    let f = NginxFormat::compile(CUSTOM_JSON_SPEC).unwrap();
    let lines = fixture("custom_json.log");
    let r = f.parse(&lines[0]).unwrap();
    assert_eq!(r.time, time("2024-05-01T12:00:00Z", 0));
    assert_eq!(r.client.as_deref(), Some("203.0.113.7"));
    assert_eq!(r.request_id.as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
    assert_eq!((r.method.as_deref(), r.path.as_deref()), (Some("GET"), Some("/v1/orders/123")));
    assert_eq!(
        (r.status, r.bytes_sent, r.duration_us, r.upstream_us),
        (Some(200), Some(157), Some(12_000), Some(10_000))
    );
    assert_eq!(r.upstream_status.as_slice(), &[200]);
    assert_eq!(r.upstream_addr.as_deref(), Some("10.0.0.7:8080"));
    assert_eq!(r.host.as_deref(), Some("api.example.com"));
    assert_eq!(r.user_agent.as_deref(), Some("curl/8.5.0"));

    let r = f.parse(&lines[1]).unwrap();
    assert_eq!(r.time, time("2024-05-01T12:00:01Z", 2));
    assert_eq!(r.client.as_deref(), Some("10.0.0.2"), "$remote_addr comes before $http_x_forwarded_for");
    assert_eq!(r.path.as_deref(), Some("/v1/q?s=\"x\""));
    assert_eq!((r.status, r.bytes_sent), (Some(502), Some(0)));
    assert_eq!(r.upstream_status.as_slice(), &[502, 502]);
    assert_eq!(r.upstream_us, Some(21_000));
    assert_eq!(r.user_agent.as_deref(), Some("Mozilla/5.0 \"quoted\" café"));

    // with $http_x_forwarded_for first, its first address is the client
    let g = NginxFormat::compile(r#"escape=json '{"xff":"$http_x_forwarded_for","ip":"$remote_addr","s":$status}'"#)
        .unwrap();
    let r = g.parse(br#"{"xff":"198.51.100.4, 10.0.0.2","ip":"10.0.0.2","s":200}"#).unwrap();
    assert_eq!(r.client.as_deref(), Some("198.51.100.4"));
    let r = g.parse(br#"{"xff":"","ip":"10.0.0.2","s":200}"#).unwrap();
    assert_eq!(r.client.as_deref(), Some("10.0.0.2"));
}

#[test]
fn apache_fixture() {
    let lines = fixture("apache.log");
    let r = apache::parse(&lines[0]).unwrap();
    assert_eq!(r.time, time("2000-10-10T20:55:36Z", -7));
    assert_eq!(r.consumer.as_deref(), Some("frank"));
    assert_eq!((r.status, r.bytes_sent), (Some(200), Some(2326)));
    assert_eq!(r.duration_us, Some(1843));
    assert_eq!(r.request_id.as_deref(), Some("WZ0yNX8AAQEAAB4mLpIAAAAD"), "UNIQUE_ID when no X-Request-ID");

    let r = apache::parse(&lines[1]).unwrap();
    assert_eq!((r.status, r.bytes_sent), (Some(304), Some(0)), "%b is - for zero bytes");
    assert_eq!(r.user_agent.as_deref(), Some("Mozilla/5.0 \"quoted\" \\ backslash"));
    assert_eq!(r.duration_us, Some(412));
    assert_eq!(r.request_id.as_deref(), Some("3fa85f64-5717-4562-b3fc-2c963f66afa6"));

    let r = apache::parse(&lines[2]).unwrap();
    assert_eq!(r.client.as_deref(), Some("2001:db8::10"));
    assert_eq!(r.time, time("2024-05-01T10:00:01Z", 2));
    assert_eq!(r.duration_us, Some(30_000_512));
    assert_eq!(r.request_id.as_deref(), Some("req-7f3a9c21"));
    assert_eq!(r.referer.as_deref(), Some("https://example.com/form"));

    let r = apache::parse(&lines[3]).unwrap();
    assert_eq!((&r.method, &r.path), (&None, &None));
    assert_eq!(r.request_id.as_deref(), Some("ZjI9gn8AAQEAADr-c0yAAAAD"));

    for l in &lines {
        let a = apache::parse(l).unwrap();
        let n = nginx::parse(l).unwrap();
        assert!(a.field_count() > n.field_count(), "{}", String::from_utf8_lossy(l));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------------------------

fn detected(lines: &[Vec<u8>], extra: &[Format]) -> &'static str {
    let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    detect(&refs, extra, Default::default()).parser.format.name()
}

#[test]
fn detection_picks_the_right_format() {
    assert_eq!(detected(&fixture("combined.log"), &[]), "nginx");
    assert_eq!(detected(&fixture("main.log"), &[]), "nginx");
    assert_eq!(detected(&fixture("extras.log"), &[]), "nginx");
    assert_eq!(detected(&fixture("ingress.log"), &[]), "ingress-nginx");
    assert_eq!(detected(&fixture("apache.log"), &[]), "apache");

    let custom = Format::NginxCustom(Arc::new(NginxFormat::compile(CUSTOM_SPEC).unwrap()));
    assert_eq!(detected(&fixture("custom.log"), std::slice::from_ref(&custom)), "nginx-custom");
    let json = Format::NginxCustom(Arc::new(NginxFormat::compile(CUSTOM_JSON_SPEC).unwrap()));
    assert_eq!(detected(&fixture("custom_json.log"), std::slice::from_ref(&json)), "nginx-custom");
    // a custom format that does not fit leaves detection to the built-ins
    assert_eq!(detected(&fixture("ingress.log"), &[json]), "ingress-nginx");
}

#[test]
fn detection_on_generated_lines() {
    let reqs = variants();
    let gen_lines = |w: fn(&SynthRequest, &mut Vec<u8>)| -> Vec<Vec<u8>> {
        reqs.iter()
            .map(|r| {
                let mut out = Vec::new();
                w(r, &mut out);
                out
            })
            .collect()
    };
    assert_eq!(detected(&gen_lines(nginx::write_nginx), &[]), "nginx");
    assert_eq!(detected(&gen_lines(nginx::write_ingress), &[]), "ingress-nginx");
    assert_eq!(detected(&gen_lines(apache::write_apache), &[]), "apache");
}

// ---------------------------------------------------------------------------------------------------------------
// Writer round trips
// ---------------------------------------------------------------------------------------------------------------

fn variants() -> Vec<SynthRequest> {
    let base = SynthRequest::example();
    let mut no_upstream = base.clone();
    no_upstream.status = 503;
    no_upstream.upstream_status.clear();
    no_upstream.upstream_addr.clear();
    no_upstream.upstream_us.clear();
    no_upstream.consumer = None;
    no_upstream.bytes_sent = 0;
    let mut retried = base.clone();
    retried.status = 200;
    retried.upstream_status = vec![502, 200];
    retried.upstream_addr = vec!["10.0.0.1:80".into(), "10.0.0.2:80".into()];
    retried.upstream_us = vec![1_234, 20_567];
    retried.duration_us = 23_999;
    retried.referer = Some("https://shop.example.com/cart?a=1".into());
    let mut v6 = base.clone();
    v6.client = "2001:db8::7".into();
    v6.time = LogTime { unix_us: 1_714_564_805_999_999, offset_s: -7 * 3600 };
    v6.method = "GET";
    v6.protocol = "HTTP/2.0";
    v6.request_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6".into();
    let mut traced = base.clone();
    traced.trace_id = Some("0af7651916cd43dd8448eb211c80319c".into());
    traced.time = LogTime { unix_us: 1_714_564_800_000_000, offset_s: 5 * 3600 + 1800 };
    let mut nasty = base.clone();
    nasty.path = "/search?q=\"quoted\"&x=\\".into();
    nasty.user_agent = "Mozilla/5.0 \"quoted\" café\ttab".into();
    nasty.duration_us = 61_002_999;
    vec![base, no_upstream, retried, v6, traced, nasty]
}

/// The fields every writer carries, as they come back (seconds and millisecond resolutions).
fn assert_common(r: &Record<'_>, t: &SynthRequest, line: &str) {
    let secs = t.time.unix_us.div_euclid(1_000_000) * 1_000_000;
    assert_eq!(r.time, Some(LogTime { unix_us: secs, offset_s: t.time.offset_s }), "{line}");
    assert_eq!(r.client.as_deref(), Some(t.client.as_str()), "{line}");
    assert_eq!(r.consumer.as_deref(), t.consumer.as_deref(), "{line}");
    assert_eq!(r.method.as_deref(), Some(t.method), "{line}");
    assert_eq!(r.path.as_deref(), Some(t.path.as_str()), "{line}");
    assert_eq!(r.protocol.as_deref(), Some(t.protocol), "{line}");
    assert_eq!(r.status, Some(t.status), "{line}");
    assert_eq!(r.bytes_sent, Some(t.bytes_sent), "{line}");
    assert_eq!(r.referer.as_deref(), t.referer.as_deref(), "{line}");
    assert_eq!(r.user_agent.as_deref(), Some(t.user_agent.as_str()), "{line}");
    assert_eq!(r.request_id.as_deref(), Some(t.request_id.as_str()), "{line}");
}

fn assert_upstreams(r: &Record<'_>, t: &SynthRequest, line: &str) {
    assert_eq!(r.duration_us, Some(t.duration_us / 1000 * 1000), "{line}");
    let urt = (!t.upstream_us.is_empty()).then(|| t.upstream_us.iter().map(|u| u / 1000 * 1000).sum());
    assert_eq!(r.upstream_us, urt, "{line}");
    assert_eq!(r.upstream_status.as_slice(), t.upstream_status.as_slice(), "{line}");
    assert_eq!(r.upstream_status.last(), t.last_upstream_status(), "{line}");
    let addr = (!t.upstream_addr.is_empty()).then(|| t.upstream_addr.join(", "));
    assert_eq!(r.upstream_addr.as_deref(), addr.as_deref(), "{line}");
}

#[test]
fn nginx_writer_round_trip() {
    let compiled = NginxFormat::compile(COMBINED_EXTRAS_SPEC).unwrap();
    for t in variants() {
        let mut out = Vec::new();
        nginx::write_nginx(&t, &mut out);
        assert!(!out.contains(&b'\n'));
        let line = String::from_utf8(out.clone()).unwrap();
        let r = nginx::parse(&out).unwrap_or_else(|| panic!("{line}"));
        assert_common(&r, &t, &line);
        assert_upstreams(&r, &t, &line);
        assert_eq!((r.trace_id.as_deref(), r.route.as_deref()), (None, None), "not written");
        assert_eq!(compiled.parse(&out).as_ref(), Some(&r), "{line}");
        assert!(nginx::parse_ingress(&out).is_none());
    }
}

#[test]
fn ingress_writer_round_trip() {
    let compiled = NginxFormat::compile(UPSTREAMINFO_SPEC).unwrap();
    for t in variants() {
        let mut out = Vec::new();
        nginx::write_ingress(&t, &mut out);
        let line = String::from_utf8(out.clone()).unwrap();
        let r = nginx::parse_ingress(&out).unwrap_or_else(|| panic!("{line}"));
        assert_common(&r, &t, &line);
        assert_upstreams(&r, &t, &line);
        assert_eq!(r.bytes_received, Some(t.bytes_received), "{line}");
        assert_eq!(r.route.as_deref(), Some(format!("default-{}-80", t.route).as_str()), "{line}");
        assert_eq!(compiled.parse(&out).as_ref(), Some(&r), "{line}");
    }
}

#[test]
fn apache_writer_round_trip() {
    for t in variants() {
        let mut out = Vec::new();
        apache::write_apache(&t, &mut out);
        let line = String::from_utf8(out.clone()).unwrap();
        let r = apache::parse(&out).unwrap_or_else(|| panic!("{line}"));
        assert_common(&r, &t, &line);
        assert_eq!(r.duration_us, Some(t.duration_us), "{line}");
        assert!(r.upstream_status.is_empty());
        let n = nginx::parse(&out).unwrap();
        assert!(r.field_count() > n.field_count(), "{line}");
    }
}

#[test]
fn writers_append_one_line() {
    let t = SynthRequest::example();
    let mut out = b"previous\n".to_vec();
    nginx::write_nginx(&t, &mut out);
    out.push(b'\n');
    nginx::write_ingress(&t, &mut out);
    out.push(b'\n');
    apache::write_apache(&t, &mut out);
    let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], b"previous");
    assert!(nginx::parse(lines[1]).is_some());
    assert!(nginx::parse_ingress(lines[2]).is_some());
    assert!(apache::parse(lines[3]).is_some());
}

// ---------------------------------------------------------------------------------------------------------------
// Never panic
// ---------------------------------------------------------------------------------------------------------------

fn run_all(compiled: &[NginxFormat], line: &[u8]) {
    let _ = nginx::parse(line);
    let _ = nginx::parse_ingress(line);
    let _ = apache::parse(line);
    for f in compiled {
        let _ = f.parse(line);
    }
}

fn compiled_all() -> Vec<NginxFormat> {
    [CUSTOM_SPEC, CUSTOM_JSON_SPEC, COMBINED_EXTRAS_SPEC, UPSTREAMINFO_SPEC]
        .iter()
        .map(|s| NginxFormat::compile(s).unwrap())
        .collect()
}

fn all_fixture_lines() -> Vec<Vec<u8>> {
    ["combined.log", "main.log", "extras.log", "ingress.log", "custom.log", "custom_json.log", "apache.log"]
        .iter()
        .flat_map(|f| fixture(f))
        .collect()
}

#[test]
fn every_prefix_of_every_fixture_line() {
    let compiled = compiled_all();
    for l in all_fixture_lines() {
        for end in 0..=l.len() {
            run_all(&compiled, &l[..end]);
            run_all(&compiled, &l[end..]);
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        run_all(&compiled_all(), &bytes);
    }

    #[test]
    fn mutated_lines_never_panic(
        which in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    ) {
        let lines = all_fixture_lines();
        let mut l = which.get(&lines).clone();
        for (at, byte, op) in edits {
            let i = if l.is_empty() { 0 } else { at.index(l.len()) };
            match op {
                0 if !l.is_empty() => l[i] = byte,
                1 => l.insert(i, [b'"', b'\\', b' ', b',', b':', b'-', b'[', b']'][byte as usize % 8]),
                2 if !l.is_empty() => { l.remove(i); }
                _ => l.truncate(i),
            }
        }
        run_all(&compiled_all(), &l);
    }

    #[test]
    fn arbitrary_specs_compile_or_fail_cleanly(spec in "[$a-z_{}'\" \\[\\]:,=\\\\-]{0,40}", line in ".{0,60}") {
        if let Ok(f) = NginxFormat::compile(&spec) {
            let _ = f.parse(line.as_bytes());
        }
    }
}

/// Garbage on an HTTP port — TLS handshakes, binary, invalid or lower-case methods, empty requests, a request
/// line over 8 KiB — still gives status, bytes, client and time; the request line is kept and marked invalid
/// instead of being read as a method and path, and the 400s' diagnosis names it.
#[test]
fn malformed_request_lines_keep_status_client_time_and_are_marked() {
    let lines = fixture("malformed.log");
    let recs: Vec<Record<'_>> = lines
        .iter()
        .map(|l| nginx::parse(l).unwrap_or_else(|| panic!("did not parse: {}", String::from_utf8_lossy(l))))
        .collect();
    assert_eq!(recs.len(), 9);
    for (i, r) in recs.iter().enumerate() {
        assert!(r.status.is_some() && r.client.is_some() && r.time.is_some(), "line {}: {r:?}", i + 1);
    }
    let bad: Vec<Option<&str>> = recs.iter().map(|r| r.bad_request.as_deref()).collect();
    assert_eq!(bad[0], Some(r"\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03"), "a TLS ClientHello, as nginx escapes it");
    assert_eq!((bad[1], bad[2]), (Some("(empty)"), Some("(empty)")));
    assert_eq!((bad[3], bad[4]), (Some("PATCHp /x HTTP/1.1"), Some("get /x HTTP/1.1")));
    assert_eq!((bad[5], bad[6]), (None, None), "GET /ok and the long request are requests");
    assert_eq!(recs[6].status, Some(414));
    assert!(recs[6].path.as_deref().is_some_and(|p| p.len() > 8192));
    assert!(bad[7].is_some() && bad[8].is_some());
    assert!(recs.iter().all(|r| r.bad_request.is_none() || (r.method.is_none() && r.path.is_none())));
    // the report counts every line and names the garbage in the 400s' diagnosis
    let path = format!("{}/tests/fixtures/nginx/malformed.log", env!("CARGO_MANIFEST_DIR"));
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_gatewatch")).args(["report", "--json", &path]).output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["sources"][0]["unparsed"], 0);
    let d400 = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == 400).unwrap();
    let ev: Vec<&str> = d400["evidence"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert!(
        ev.iter().any(|e| e.starts_with("7 garbage request line(s) from 6 client(s), 2 of them TLS handshakes")),
        "{ev:?}"
    );
}
