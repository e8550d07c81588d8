//! Proxy/gateway formats: Envoy/Istio (text + JSON), Kong, AWS API Gateway (CLF + JSON), Traefik, HAProxy.
//!
//! Fixtures under `tests/fixtures/proxies/` hold lines in each product's real format (the docs' examples where they
//! exist, plus the nasty cases). Every extracted field is asserted.

use std::sync::Arc;

use gatewatch::format::detect::detect;
use gatewatch::format::{Format, ParseOptions, aws, envoy, haproxy, kong, traefik};
use gatewatch::record::Record;
use gatewatch::synth::SynthRequest;
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/tests/fixtures/proxies/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn us(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_microsecond()
}

fn parse_all(f: fn(&[u8]) -> Option<Record<'_>>, lines: &[Vec<u8>]) -> Vec<Record<'static>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| f(l).unwrap_or_else(|| panic!("line {} did not parse: {}", i + 1, String::from_utf8_lossy(l))))
        .map(Record::into_owned)
        .collect()
}

fn s<'a>(c: &'a Option<std::borrow::Cow<'_, str>>) -> Option<&'a str> {
    c.as_deref()
}

// ---------------------------------------------------------------- fixtures: field by field

#[test]
fn envoy_text_fixture() {
    let r = parse_all(envoy::parse_text, &fixture("envoy.log"));
    // Envoy docs example
    assert_eq!(r[0].time.unwrap().unix_us, us("2016-04-15T20:17:00.310Z"));
    assert_eq!(
        (s(&r[0].method), s(&r[0].path), s(&r[0].protocol)),
        (Some("POST"), Some("/api/v1/locations"), Some("HTTP/2"))
    );
    assert_eq!(r[0].status, Some(204));
    assert_eq!(r[0].upstream_status.as_slice(), &[204]);
    assert_eq!((r[0].bytes_received, r[0].bytes_sent), (Some(154), Some(0)));
    assert_eq!((r[0].duration_us, r[0].upstream_us), (Some(226_000), Some(100_000)));
    assert_eq!(s(&r[0].client), Some("10.0.35.28"));
    assert_eq!(s(&r[0].user_agent), Some("nsq2http"));
    assert_eq!(s(&r[0].request_id), Some("cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2"));
    assert_eq!(s(&r[0].host), Some("locations"));
    assert_eq!(s(&r[0].upstream_addr), Some("tcp://10.0.2.1:80"));
    assert_eq!((s(&r[0].flags), s(&r[0].route), s(&r[0].message)), (None, None, None));
    // Istio docs example
    assert_eq!(r[1].time.unwrap().unix_us, us("2020-11-25T21:26:18.409Z"));
    assert_eq!(r[1].status, Some(418));
    assert_eq!(r[1].upstream_status.as_slice(), &[418]);
    assert_eq!((r[1].duration_us, r[1].upstream_us), (Some(4_000), Some(4_000)));
    assert_eq!(s(&r[1].client), Some("10.44.1.23"), "falls back to the downstream remote address");
    assert_eq!(s(&r[1].route), Some("inbound|8000||"));
    assert_eq!(s(&r[1].upstream_addr), Some("127.0.0.1:80"));
    assert_eq!(s(&r[1].request_id), Some("84961386-6d84-929d-98bd-c5aee93b5c88"));
    assert_eq!(s(&r[1].message), None, "via_upstream is not an error");
    // Istio local reply: no healthy upstream
    assert_eq!(r[2].status, Some(503));
    assert!(r[2].upstream_status.is_empty());
    assert_eq!((r[2].upstream_us, s(&r[2].upstream_addr)), (None, None));
    assert_eq!(s(&r[2].flags), Some("UH"));
    assert_eq!(s(&r[2].message), Some("no_healthy_upstream"));
    assert_eq!(s(&r[2].client), Some("203.0.113.7"), "first X-Forwarded-For hop");
    assert_eq!(s(&r[2].route), Some("outbound|8080||orders.default.svc.cluster.local"));
    // upstream timeout, IPv6 everywhere
    assert_eq!(r[3].time.unwrap().unix_us, us("2024-05-01T12:00:01.250Z"));
    assert_eq!((r[3].status, s(&r[3].flags)), (Some(504), Some("UT")));
    assert!(r[3].upstream_status.is_empty());
    assert_eq!(r[3].duration_us, Some(15_001_000));
    assert_eq!(s(&r[3].client), Some("2001:db8::7"));
    assert_eq!(s(&r[3].upstream_addr), Some("[2001:db8::10]:8443"));
    assert_eq!(s(&r[3].message), Some("upstream_response_timeout"));
    // response code 0, escaped quotes in the UA
    assert_eq!(r[4].status, None);
    assert!(r[4].upstream_status.is_empty());
    assert_eq!(s(&r[4].flags), Some("DC"));
    assert_eq!(s(&r[4].user_agent), Some("Mozilla/5.0 \"quoted\" agent"));
    assert_eq!((s(&r[4].request_id), s(&r[4].client)), (None, None));
    // combined flags
    assert_eq!(s(&r[5].flags), Some("UF,URX"));
    assert!(r[5].upstream_status.is_empty());
}

#[test]
fn istio_access_prefix_parses_like_plain() {
    let plain = parse_all(envoy::parse_text, &fixture("envoy.log"));
    let prefixed = parse_all(envoy::parse_text, &fixture("istio-access.log"));
    assert_eq!(prefixed[0], plain[1]);
    assert_eq!(prefixed[1], plain[2]);
    assert_eq!(prefixed[2], plain[3]);
}

#[test]
fn envoy_json_fixture() {
    let r = parse_all(envoy::parse_json, &fixture("envoy-json.log"));
    assert_eq!(r[0].time.unwrap().unix_us, us("2020-11-25T21:26:18.409Z"));
    assert_eq!(
        (s(&r[0].method), s(&r[0].path), s(&r[0].protocol)),
        (Some("GET"), Some("/status/418"), Some("HTTP/1.1"))
    );
    assert_eq!((r[0].status, r[0].upstream_status.as_slice()), (Some(418), &[418][..]));
    assert_eq!((r[0].duration_us, r[0].upstream_us), (Some(4_000), Some(4_000)));
    assert_eq!((r[0].bytes_received, r[0].bytes_sent), (Some(0), Some(135)));
    assert_eq!(s(&r[0].client), Some("10.44.1.23"));
    assert_eq!(s(&r[0].host), Some("httpbin:8000"));
    assert_eq!(s(&r[0].route), Some("inbound|8000||"));
    assert_eq!(s(&r[0].upstream_addr), Some("127.0.0.1:80"));
    assert_eq!((s(&r[0].flags), s(&r[0].message)), (None, None));

    assert_eq!(r[1].time.unwrap().unix_us, us("2024-05-01T12:00:00.123Z"));
    assert_eq!(r[1].status, Some(503), "numbers as strings");
    assert!(r[1].upstream_status.is_empty(), "no service time: Envoy answered");
    assert_eq!(r[1].duration_us, Some(2_000));
    assert_eq!(r[1].bytes_received, Some(412));
    assert_eq!(s(&r[1].flags), Some("UF,URX"));
    assert_eq!(s(&r[1].message), Some("upstream_reset_before_response_started{connection_failure}"));
    assert_eq!(s(&r[1].upstream_addr), Some("[2001:db8::10]:8080"));
    assert_eq!(s(&r[1].trace_id), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(s(&r[1].request_id), Some("0af7651916cd43dd8448eb211c80319c"));
    assert_eq!(s(&r[1].route), Some("orders"));

    assert_eq!(r[2].status, None, "response code 0");
    assert_eq!(s(&r[2].path), Some("/café"), "unicode escape");
    assert_eq!(s(&r[2].user_agent), Some("Mozilla/5.0"));
    assert_eq!((s(&r[2].request_id), s(&r[2].client)), (None, None));
    assert_eq!(r[2].upstream_us, None);
    assert_eq!(r[2].duration_us, Some(1_500_000));
}

#[test]
fn kong_fixture() {
    let r = parse_all(kong::parse, &fixture("kong.log"));
    // Kong docs sample
    assert_eq!(r[0].time.unwrap().unix_us, 1_726_783_877_620_000);
    assert_eq!((s(&r[0].method), s(&r[0].path)), (Some("GET"), Some("/anything")));
    assert_eq!(s(&r[0].host), Some("localhost:8000"));
    assert_eq!((r[0].status, r[0].upstream_status.as_slice()), (Some(200), &[200][..]));
    assert_eq!((r[0].duration_us, r[0].upstream_us), (Some(178_000), Some(171_000)));
    assert_eq!((r[0].bytes_sent, r[0].bytes_received), (Some(9982), Some(139)));
    assert_eq!(s(&r[0].client), Some("192.168.65.1"));
    assert_eq!(s(&r[0].upstream_addr), Some("35.172.162.208:80"));
    assert_eq!(s(&r[0].request_id), Some("ded1d3f8e2d1b6e2e5fce8aa8ab8a8c5"));
    assert_eq!(s(&r[0].user_agent), Some("HTTPie/3.2.3"));
    assert_eq!(s(&r[0].route), Some("example_service"));
    assert_eq!(s(&r[0].consumer), None);
    // retried, numbers as strings, arrays of headers, IPv6 tries
    assert_eq!(r[1].time.unwrap().unix_us, 1_714_564_800_123_000);
    assert_eq!(r[1].status, Some(200));
    assert_eq!(r[1].upstream_status.as_slice(), &[502, 200]);
    assert_eq!((r[1].duration_us, r[1].upstream_us), (Some(2_031_000), Some(2_028_000)));
    assert_eq!((r[1].bytes_sent, r[1].bytes_received), (Some(157), Some(412)));
    assert_eq!(s(&r[1].path), Some("/v1/orders?x=1"));
    assert_eq!(s(&r[1].request_id), Some("3fa85f64-5717-4562-b3fc-2c963f66afa6"), "client X-Request-ID wins");
    assert_eq!(s(&r[1].trace_id), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(s(&r[1].user_agent), Some("curl/8.5.0"));
    assert_eq!(s(&r[1].client), Some("2001:db8::7"));
    assert_eq!(s(&r[1].upstream_addr), Some("[2001:db8::10]:8080"));
    assert_eq!(s(&r[1].consumer), Some("mobile-app"));
    assert_eq!(s(&r[1].route), Some("orders"));
    // rate limited by Kong itself
    assert_eq!(r[2].status, Some(429));
    assert!(r[2].upstream_status.is_empty());
    assert_eq!((r[2].duration_us, r[2].upstream_us), (Some(1_000), None));
    assert_eq!(s(&r[2].upstream_addr), None);
    assert_eq!(s(&r[2].consumer), Some("c0ffee00-0000-4000-8000-000000000001"));
    assert_eq!(s(&r[2].user_agent), Some("café-client/1.0"));
}

#[test]
fn aws_clf_fixture() {
    let r = parse_all(aws::parse_clf, &fixture("aws-clf.log"));
    assert_eq!(r[0].time.unwrap().unix_us, us("2024-05-01T12:00:00Z"));
    assert_eq!(s(&r[0].client), Some("203.0.113.7"));
    assert_eq!(
        (s(&r[0].method), s(&r[0].path), s(&r[0].protocol)),
        (Some("GET"), Some("/pets/{petId}"), Some("HTTP/1.1"))
    );
    assert_eq!((r[0].status, r[0].bytes_sent), (Some(200), Some(341)));
    assert_eq!(s(&r[0].request_id), Some("c6af9ac6-7b61-11e6-9a41-93e8deadbeef"));
    assert_eq!((s(&r[0].consumer), s(&r[0].route)), (None, None));
    // no space between ] and " (as the console template is written); IAM caller
    assert_eq!(r[1].status, Some(502));
    assert!(r[1].upstream_status.is_empty(), "the CLF template has no integration status");
    assert_eq!(s(&r[1].consumer), Some("AIDACKCEVSQ6C2EXAMPLE:alice"));
    assert_eq!(s(&r[1].request_id), Some("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
    // HTTP API: route key, IPv6, zone offset
    assert_eq!(r[2].time.unwrap().unix_us, us("2024-05-01T12:00:02Z"));
    assert_eq!(r[2].time.unwrap().offset_s, 7200);
    assert_eq!(s(&r[2].client), Some("2001:db8::7"));
    assert_eq!((s(&r[2].path), s(&r[2].route)), (Some("/pets"), Some("GET /pets")));
    assert_eq!(s(&r[2].request_id), Some("JQBtyjLMIAMEb8w="));
    assert_eq!(r[3].status, Some(404));
    assert_eq!((s(&r[3].path), s(&r[3].route)), (None, Some("$default")));
    assert_eq!(s(&r[3].client), Some("test-invoke-source-ip"));
}

#[test]
fn aws_json_fixture() {
    let r = parse_all(aws::parse_json, &fixture("aws-json.log"));
    // the console's JSON template
    assert_eq!(r[0].time.unwrap().unix_us, us("2024-05-01T12:00:00Z"));
    assert_eq!(s(&r[0].client), Some("203.0.113.7"));
    assert_eq!((s(&r[0].method), s(&r[0].path)), (Some("GET"), Some("/pets/{petId}")));
    assert_eq!((r[0].status, r[0].bytes_sent), (Some(200), Some(341)));
    assert_eq!(s(&r[0].request_id), Some("c6af9ac6-7b61-11e6-9a41-93e8deadbeef"));
    assert_eq!(s(&r[0].consumer), None);
    // integration timeout: epoch ms wins over requestTime; '-' placeholders
    assert_eq!(r[1].time.unwrap().unix_us, 1_714_564_801_123_000);
    assert_eq!(r[1].status, Some(504));
    assert!(r[1].upstream_status.is_empty());
    assert_eq!((r[1].duration_us, r[1].upstream_us), (Some(29_001_000), None));
    assert_eq!(s(&r[1].path), Some("/prod/orders"));
    assert_eq!(s(&r[1].message), Some("Execution failed due to a timeout error"));
    assert_eq!(s(&r[1].consumer), Some("user-42"));
    assert_eq!(s(&r[1].trace_id), Some("5759e988bd862e3fe1be46a994272793"));
    // HTTP API
    assert_eq!(r[2].upstream_status.as_slice(), &[200]);
    assert_eq!((r[2].duration_us, r[2].upstream_us), (Some(45_000), Some(40_000)));
    assert_eq!((s(&r[2].path), s(&r[2].route)), (Some("/pets"), Some("GET /pets")));
    assert_eq!(s(&r[2].consumer), Some("k3y1d"));
    assert_eq!(s(&r[2].message), None);
    assert_eq!(s(&r[2].user_agent), Some("café/1.0"));
}

#[test]
fn traefik_fixture() {
    let r = parse_all(traefik::parse, &fixture("traefik.log"));
    assert_eq!(r[0].time.unwrap().unix_us, us("2024-05-01T12:00:00.123456Z"));
    assert_eq!((s(&r[0].method), s(&r[0].path), s(&r[0].protocol)), (Some("GET"), Some("/"), Some("HTTP/1.1")));
    assert_eq!(s(&r[0].host), Some("whoami.localhost"));
    assert_eq!((r[0].status, r[0].upstream_status.as_slice()), (Some(200), &[200][..]));
    assert_eq!((r[0].duration_us, r[0].upstream_us), (Some(2_521), Some(2_397)), "nanoseconds");
    assert_eq!((r[0].bytes_sent, r[0].bytes_received), (Some(19), Some(0)));
    assert_eq!(s(&r[0].client), Some("192.168.1.10"));
    assert_eq!(s(&r[0].upstream_addr), Some("172.18.0.3:80"));
    assert_eq!(s(&r[0].route), Some("whoami"));
    assert_eq!(s(&r[0].request_id), Some("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
    assert_eq!(s(&r[0].user_agent), Some("curl/8.5.0"));
    assert_eq!(s(&r[0].consumer), None);
    // backend unreachable: OriginStatus 0; ServiceURL as a string
    assert_eq!(r[1].status, Some(502));
    assert!(r[1].upstream_status.is_empty());
    assert_eq!((r[1].duration_us, r[1].upstream_us), (Some(3_500), None));
    assert_eq!(s(&r[1].client), Some("2001:db8::7"));
    assert_eq!(s(&r[1].upstream_addr), Some("10.0.0.7:8080"));
    assert_eq!(s(&r[1].trace_id), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(s(&r[1].protocol), Some("HTTP/2.0"));
    // Traefik-internal 429
    assert_eq!(r[2].time.unwrap().unix_us, us("2024-05-01T12:00:02.5Z"));
    assert_eq!(r[2].status, Some(429));
    assert!(r[2].upstream_status.is_empty());
    assert_eq!(s(&r[2].path), Some("/café"));
    assert_eq!(s(&r[2].route), Some("api"));
}

#[test]
fn haproxy_fixture() {
    let r = parse_all(haproxy::parse, &fixture("haproxy.log"));
    // the configuration manual's example, BSD syslog prefix
    assert_eq!(r[0].time.unwrap().unix_us, us("2009-02-06T12:14:14.655Z"));
    assert_eq!(s(&r[0].client), Some("10.0.1.2"));
    assert_eq!((s(&r[0].route), s(&r[0].upstream_addr)), (Some("static"), Some("srv1")));
    assert_eq!((r[0].duration_us, r[0].upstream_us), (Some(109_000), Some(69_000)));
    assert_eq!((r[0].status, r[0].upstream_status.as_slice()), (Some(200), &[200][..]));
    assert_eq!(r[0].bytes_sent, Some(2750));
    assert_eq!(s(&r[0].flags), Some("----"));
    assert_eq!(s(&r[0].host), Some("1wt.eu"));
    assert_eq!(
        (s(&r[0].method), s(&r[0].path), s(&r[0].protocol)),
        (Some("GET"), Some("/index.html"), Some("HTTP/1.1"))
    );
    assert_eq!(s(&r[0].request_id), None);
    // server timeout: Tr = -1
    assert_eq!(r[1].time.unwrap().unix_us, us("2019-06-27T21:42:38.916Z"));
    assert_eq!((r[1].status, s(&r[1].flags)), (Some(504), Some("sH--")));
    assert!(r[1].upstream_status.is_empty());
    assert_eq!((r[1].duration_us, r[1].upstream_us), (Some(63_387_000), None));
    assert_eq!(s(&r[1].route), Some("be_http"));
    // RFC 5424 prefix, <NOSRV>, captured request headers
    assert_eq!(r[2].status, Some(503));
    assert!(r[2].upstream_status.is_empty());
    assert_eq!((s(&r[2].upstream_addr), s(&r[2].flags)), (None, Some("SC--")));
    assert_eq!(s(&r[2].host), Some("api.example.com"));
    assert_eq!(s(&r[2].request_id), Some("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
    assert_eq!(s(&r[2].user_agent), Some("curl/8.5.0"));
    assert_eq!(s(&r[2].client), Some("203.0.113.7"));
    // stdout (no prefix), IPv6 client without brackets, redispatch retry count, trailing %ID
    assert_eq!(s(&r[3].client), Some("2001:db8::7"));
    assert_eq!(s(&r[3].request_id), Some("0af7651916cd43dd8448eb211c80319c"));
    assert_eq!(s(&r[3].path), Some("/v1/orders/123?expand=items"));
    assert_eq!(s(&r[3].protocol), Some("HTTP/2.0"));
    assert_eq!((r[3].duration_us, r[3].upstream_us), (Some(31_000), Some(25_000)));
    // bracketed IPv6, logasap '+' on Ta and bytes, traceparent captured
    assert_eq!(s(&r[4].client), Some("2001:db8::8"));
    assert_eq!((r[4].duration_us, r[4].bytes_sent), (Some(5_000), Some(512)));
    assert_eq!(s(&r[4].trace_id), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(s(&r[4].path), Some("/download?name=a%22b"));
}

// ---------------------------------------------------------------- detection

fn detected(lines: &[Vec<u8>]) -> gatewatch::format::Parser {
    let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    let d = detect(&refs, &[], Arc::new(ParseOptions::default()));
    assert_eq!(d.matched, d.sampled, "{} matched {}/{}", d.parser.describe(), d.matched, d.sampled);
    d.parser
}

#[test]
fn detection_picks_each_format() {
    for (file, name) in [
        ("envoy.log", "envoy"),
        ("istio-access.log", "envoy"),
        ("envoy-json.log", "envoy-json"),
        ("kong.log", "kong"),
        ("aws-clf.log", "aws-clf"),
        ("aws-json.log", "aws-json"),
        ("traefik.log", "traefik"),
        ("haproxy.log", "haproxy"),
    ] {
        let p = detected(&fixture(file));
        assert_eq!(p.format.name(), name, "{file}");
        assert_eq!(p.describe(), name, "{file}");
    }
}

#[test]
fn detection_sees_envoy_inside_docker_envelope() {
    let lines = fixture("envoy-docker.log");
    let p = detected(&lines);
    assert_eq!(p.describe(), "docker+envoy");
    let r = p.parse(&lines[0]).unwrap();
    assert_eq!(r.request_id.as_deref(), Some("cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2"));
    assert_eq!(r.time.unwrap().unix_us, us("2016-04-15T20:17:00.310Z"), "the inner time wins");
}

#[test]
fn detection_of_generated_lines() {
    type W = fn(&SynthRequest, &mut Vec<u8>);
    let writers: [(W, &str); 8] = [
        (envoy::write_envoy, "envoy"),
        (envoy::write_istio, "envoy"),
        (envoy::write_envoy_json, "envoy-json"),
        (kong::write, "kong"),
        (aws::write_clf, "aws-clf"),
        (aws::write_json, "aws-json"),
        (traefik::write, "traefik"),
        (haproxy::write, "haproxy"),
    ];
    for (w, name) in writers {
        let lines: Vec<Vec<u8>> = variants()
            .iter()
            .map(|(_, r)| {
                let mut out = Vec::new();
                w(r, &mut out);
                out
            })
            .collect();
        assert_eq!(detected(&lines).format.name(), name);
    }
}

const NGINX: &[u8] =
    br#"203.0.113.7 - - [01/May/2024:12:00:00 +0000] "GET /v1/orders HTTP/1.1" 200 512 "-" "curl/8.5.0""#;
const NGINX_EXTRAS: &[u8] =
    br#"203.0.113.7 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl" rt=0.005 uct="0.001" req_id=0af7651916cd43dd8448eb211c80319c"#;
const APACHE_D: &[u8] = br#"203.0.113.7 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "http://x/" "Mozilla/4.08" 1234"#;
const PINO: &[u8] = br#"{"level":30,"time":1714564800123,"pid":1,"hostname":"api-1","reqId":"req-1","req":{"method":"GET","url":"/v1/orders"},"res":{"statusCode":200},"responseTime":12,"msg":"request completed"}"#;
const LOGFMT: &[u8] =
    br#"time=2024-05-01T12:00:00Z level=info msg="request done" method=GET path=/v1/orders status=200 request_id=0af7651916cd43dd8448eb211c80319c"#;
const DOCKER: &[u8] = br#"{"log":"hello\n","stream":"stdout","time":"2024-05-01T12:00:00.5Z"}"#;

type P = for<'a> fn(&'a [u8]) -> Option<Record<'a>>;
const PARSERS: [(P, &str); 8] = [
    (envoy::parse_text, "envoy"),
    (envoy::parse_json, "envoy-json"),
    (kong::parse, "kong"),
    (aws::parse_clf, "aws-clf"),
    (aws::parse_json, "aws-json"),
    (traefik::parse, "traefik"),
    (haproxy::parse, "haproxy"),
    (|l| Format::Envoy.parse(l, &ParseOptions::default()), "envoy via Format"),
];

#[test]
fn foreign_lines_are_rejected() {
    for line in [NGINX, NGINX_EXTRAS, APACHE_D, PINO, LOGFMT, DOCKER, b"", b"-", b"{}", b"[]", b"\xff\xfe"] {
        for (p, name) in PARSERS {
            assert!(p(line).is_none(), "{name} accepted {}", String::from_utf8_lossy(line));
        }
    }
}

#[test]
fn each_parser_rejects_the_other_fixtures() {
    let files = [
        ("envoy.log", "envoy"),
        ("envoy-json.log", "envoy-json"),
        ("kong.log", "kong"),
        ("aws-clf.log", "aws-clf"),
        ("aws-json.log", "aws-json"),
        ("traefik.log", "traefik"),
        ("haproxy.log", "haproxy"),
    ];
    for (file, owner) in files {
        for line in fixture(file) {
            for (p, name) in &PARSERS[..7] {
                let parsed = p(&line).is_some();
                assert_eq!(parsed, *name == owner, "{name} on {file}: {}", String::from_utf8_lossy(&line));
            }
        }
    }
}

// ---------------------------------------------------------------- round trips through the writers

fn variants() -> Vec<(&'static str, SynthRequest)> {
    let base = SynthRequest::example();
    let mut local = base.clone();
    local.status = 503;
    local.upstream_status.clear();
    local.upstream_addr.clear();
    local.upstream_us.clear();
    local.flags = Some("UH".into());
    local.consumer = None;
    local.trace_id = None;
    local.duration_us = 412;

    let mut retried = base.clone();
    retried.status = 200;
    retried.upstream_status = vec![502, 200];
    retried.upstream_addr = vec!["10.0.0.7:8080".into(), "10.0.0.8:8080".into()];
    retried.upstream_us = vec![1_200, 25_400];
    retried.duration_us = 31_700;
    retried.flags = None;
    retried.bytes_sent = 2048;

    let mut timeout = base.clone();
    timeout.status = 504;
    timeout.upstream_status.clear();
    timeout.upstream_addr.clear();
    timeout.upstream_us.clear();
    timeout.duration_us = 15_000_999;
    timeout.flags = Some("UT".into());

    let mut v6 = base.clone();
    v6.client = "2001:db8::7".into();
    v6.upstream_addr = vec!["[2001:db8::10]:8080".into()];
    v6.protocol = "HTTP/2.0";
    v6.status = 200;
    v6.upstream_status = vec![200];
    v6.flags = None;
    v6.request_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6".into();

    let mut limited = base.clone();
    limited.status = 429;
    limited.upstream_status.clear();
    limited.upstream_addr.clear();
    limited.upstream_us.clear();
    limited.flags = Some("RL".into());
    limited.retry_after_s = Some(30);
    limited.trace_id = None;

    vec![
        ("example", base),
        ("local-503-UH", local),
        ("retried", retried),
        ("timeout-504-UT", timeout),
        ("ipv6", v6),
        ("429", limited),
    ]
}

/// What a format can carry, for comparing a parsed line with the truth.
#[derive(Clone, Copy)]
struct Carries {
    /// Precision of the (start) time, in µs.
    time_unit: i64,
    /// Precision of durations in µs; `None` when not logged.
    duration_unit: Option<u64>,
    /// The query string is part of the logged path.
    query: bool,
    /// Upstream statuses at all.
    upstream_status: bool,
    /// Every upstream attempt (`502, 200`) rather than only the last.
    all_attempts: bool,
    host: bool,
    user_agent: bool,
    trace: bool,
    consumer: bool,
    bytes_received: bool,
    upstream_addr: bool,
    flags: bool,
}

const NONE: Carries = Carries {
    time_unit: 1000,
    duration_unit: Some(1000),
    query: true,
    upstream_status: true,
    all_attempts: false,
    host: false,
    user_agent: false,
    trace: false,
    consumer: false,
    bytes_received: false,
    upstream_addr: false,
    flags: false,
};

fn check(fmt: &str, case: &str, t: &SynthRequest, r: &Record<'_>, c: Carries) {
    let ctx = format!("{fmt}/{case}");
    let start = t.time.unix_us - t.duration_us as i64;
    assert_eq!(r.time.map(|x| x.unix_us), Some(start.div_euclid(c.time_unit) * c.time_unit), "{ctx} time");
    assert_eq!(r.method.as_deref(), Some(t.method), "{ctx} method");
    let path = if c.query { t.path.as_str() } else { t.path.split('?').next().unwrap_or_default() };
    assert_eq!(r.path.as_deref(), Some(path), "{ctx} path");
    assert_eq!(r.status, Some(t.status), "{ctx} status");
    assert_eq!(r.client.as_deref(), Some(t.client.as_str()), "{ctx} client");
    assert_eq!(r.request_id.as_deref(), Some(t.request_id.as_str()), "{ctx} request id");
    assert_eq!(r.bytes_sent, Some(t.bytes_sent), "{ctx} bytes sent");
    let want: Vec<u16> = match (c.upstream_status, c.all_attempts) {
        (false, _) => Vec::new(),
        (true, true) => t.upstream_status.clone(),
        (true, false) => t.last_upstream_status().into_iter().collect(),
    };
    assert_eq!(r.upstream_status.as_slice(), want.as_slice(), "{ctx} upstream status");
    if let Some(unit) = c.duration_unit {
        assert_eq!(r.duration_us, Some(t.duration_us / unit * unit), "{ctx} duration");
        let up = if t.upstream_status.is_empty() { None } else { t.upstream_total_us().map(|u| u / unit * unit) };
        assert_eq!(r.upstream_us, up, "{ctx} upstream time");
    } else {
        assert_eq!((r.duration_us, r.upstream_us), (None, None), "{ctx} durations");
    }
    if c.host {
        assert_eq!(r.host.as_deref(), Some(t.host.as_str()), "{ctx} host");
    }
    if c.user_agent {
        assert_eq!(r.user_agent.as_deref(), Some(t.user_agent.as_str()), "{ctx} user agent");
    }
    if c.trace {
        assert_eq!(r.trace_id.as_deref(), t.trace_id.as_deref(), "{ctx} trace id");
    }
    if c.consumer {
        assert_eq!(r.consumer.as_deref(), t.consumer.as_deref(), "{ctx} consumer");
    }
    if c.bytes_received {
        assert_eq!(r.bytes_received, Some(t.bytes_received), "{ctx} bytes received");
    }
    if c.upstream_addr {
        assert_eq!(r.upstream_addr.as_deref(), t.upstream_addr.last().map(String::as_str), "{ctx} upstream addr");
    }
    if c.flags {
        assert_eq!(r.flags.as_deref(), t.flags.as_deref(), "{ctx} flags");
    }
}

fn round_trip(
    fmt: &str,
    write: fn(&SynthRequest, &mut Vec<u8>),
    parse: P,
    carries: Carries,
    extra: impl Fn(&str, &SynthRequest, &Record<'_>),
) {
    for (case, t) in variants() {
        let mut out = Vec::new();
        write(&t, &mut out);
        assert!(!out.contains(&b'\n'), "{fmt}/{case}: one line");
        let r = parse(&out).unwrap_or_else(|| panic!("{fmt}/{case}: {}", String::from_utf8_lossy(&out)));
        check(fmt, case, &t, &r, carries);
        extra(case, &t, &r);
    }
}

fn envoy_protocol(p: &str) -> &str {
    if p == "HTTP/2.0" { "HTTP/2" } else { p }
}

#[test]
fn round_trip_envoy_text() {
    let c = Carries { host: true, user_agent: true, bytes_received: true, upstream_addr: true, flags: true, ..NONE };
    round_trip("envoy", envoy::write_envoy, envoy::parse_text, c, |_, t, r| {
        assert_eq!(r.protocol.as_deref(), Some(envoy_protocol(t.protocol)));
        assert_eq!(r.route, None);
    });
    round_trip("istio", envoy::write_istio, envoy::parse_text, c, |case, t, r| {
        assert_eq!(r.protocol.as_deref(), Some(envoy_protocol(t.protocol)));
        let cluster = format!("outbound|8080||{}.default.svc.cluster.local", t.route);
        assert_eq!(r.route.as_deref(), Some(cluster.as_str()));
        let want = match case {
            "local-503-UH" => Some("no_healthy_upstream"),
            "timeout-504-UT" => Some("upstream_response_timeout"),
            "429" => Some("request_rate_limited"),
            _ => None,
        };
        assert_eq!(r.message.as_deref(), want, "{case}");
    });
}

#[test]
fn round_trip_envoy_json() {
    let c = Carries {
        host: true,
        user_agent: true,
        trace: true,
        bytes_received: true,
        upstream_addr: true,
        flags: true,
        ..NONE
    };
    round_trip("envoy-json", envoy::write_envoy_json, envoy::parse_json, c, |_, t, r| {
        assert_eq!(r.route.as_deref(), Some(t.route.as_str()));
    });
}

#[test]
fn round_trip_kong() {
    let c = Carries {
        all_attempts: true,
        host: true,
        user_agent: true,
        trace: true,
        consumer: true,
        bytes_received: true,
        upstream_addr: true,
        ..NONE
    };
    round_trip("kong", kong::write, kong::parse, c, |_, t, r| {
        assert_eq!(r.route.as_deref(), Some(t.route.as_str()));
        assert_eq!(r.flags, None);
    });
}

#[test]
fn round_trip_aws() {
    let clf = Carries {
        time_unit: 1_000_000,
        duration_unit: None,
        upstream_status: false,
        consumer: true,
        query: false,
        ..NONE
    };
    round_trip("aws-clf", aws::write_clf, aws::parse_clf, clf, |_, t, r| {
        assert_eq!(r.protocol.as_deref(), Some(t.protocol));
    });
    let json = Carries { host: true, user_agent: true, trace: true, consumer: true, query: false, ..NONE };
    round_trip("aws-json", aws::write_json, aws::parse_json, json, |case, _, r| {
        let want = match case {
            "local-503-UH" => Some("connection refused"),
            "timeout-504-UT" => Some("Endpoint request timed out"),
            "429" => Some("Too Many Requests"),
            _ => None,
        };
        assert_eq!(r.message.as_deref(), want, "{case}");
    });
}

#[test]
fn round_trip_traefik() {
    let c = Carries {
        time_unit: 1,
        duration_unit: Some(1),
        host: true,
        user_agent: true,
        trace: true,
        consumer: true,
        bytes_received: true,
        upstream_addr: true,
        ..NONE
    };
    round_trip("traefik", traefik::write, traefik::parse, c, |_, t, r| {
        assert_eq!(r.route.as_deref(), Some(t.route.as_str()));
        assert_eq!(r.protocol.as_deref(), Some(t.protocol));
    });
}

#[test]
fn round_trip_haproxy() {
    let c = Carries { host: true, user_agent: true, ..NONE };
    round_trip("haproxy", haproxy::write, haproxy::parse, c, |case, t, r| {
        let backend = format!("be_{}", t.route);
        assert_eq!(r.route.as_deref(), Some(backend.as_str()));
        let want = match case {
            "local-503-UH" => "SC--",
            "timeout-504-UT" => "sH--",
            "429" => "PR--",
            _ => "----",
        };
        assert_eq!(r.flags.as_deref(), Some(want), "{case}");
        assert_eq!(r.upstream_addr.is_some(), !t.upstream_status.is_empty(), "{case}: <NOSRV> when nobody answered");
        assert_eq!(r.protocol.as_deref(), Some(t.protocol));
    });
}

#[test]
fn writers_carry_retry_after_where_they_can() {
    let (_, t) = variants().into_iter().find(|(c, _)| *c == "429").unwrap();
    let mut out = Vec::new();
    kong::write(&t, &mut out);
    assert!(String::from_utf8_lossy(&out).contains(r#""retry-after":"30""#));
    out.clear();
    traefik::write(&t, &mut out);
    assert!(String::from_utf8_lossy(&out).contains(r#""downstream_Retry-After":"30""#));
    out.clear();
    haproxy::write(&t, &mut out);
    assert!(String::from_utf8_lossy(&out).contains("{30}"));
}

// ---------------------------------------------------------------- robustness

#[test]
fn huge_and_degenerate_lines_do_not_panic() {
    let mut huge = b"[2024-05-01T12:00:00Z] \"GET /".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 1 << 20));
    let brackets = vec![b'['; 1 << 20];
    let quotes = vec![b'"'; 1 << 20];
    let mut ha = b"10.0.0.1:1 [01/May/2024:12:00:00.000] f b/s 0/0/0/0/0 200 1 - - ---- 1/1/1/1/0 0/0 {".to_vec();
    ha.extend(std::iter::repeat_n(b'|', 1 << 20));
    for line in [&huge, &brackets, &quotes, &ha] {
        for (p, _) in PARSERS {
            let _ = p(line);
        }
    }
    let r = envoy::parse_text(&huge);
    assert!(r.is_none(), "a truncated request line with nothing after it is not a record");
}

#[test]
fn invalid_utf8_is_replaced_not_rejected() {
    let line = b"[2024-05-01T12:00:00Z] \"GET /caf\xe9 HTTP/1.1\" 200 - 0 1 2 1 \"-\" \"bad\xff\" \"id\" \"h\" \"-\"";
    let r = envoy::parse_text(line).unwrap();
    assert_eq!(r.path.as_deref(), Some("/caf\u{fffd}"));
    assert_eq!(r.user_agent.as_deref(), Some("bad\u{fffd}"));
    let ha =
        b"10.0.0.1:1 [01/May/2024:12:00:00.000] f b/s 0/0/0/0/0 200 1 - - ---- 1/1/1/1/0 0/0 \"GET /\xff HTTP/1.1\"";
    assert_eq!(haproxy::parse(ha).unwrap().path.as_deref(), Some("/\u{fffd}"));
}

fn all_valid_lines() -> Vec<Vec<u8>> {
    ["envoy.log", "envoy-json.log", "kong.log", "aws-clf.log", "aws-json.log", "traefik.log", "haproxy.log"]
        .iter()
        .flat_map(|f| fixture(f))
        .collect()
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for (p, _) in PARSERS {
            let _ = p(&bytes);
        }
    }

    #[test]
    fn mutated_lines_never_panic(pick in any::<prop::sample::Index>(), edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..6)) {
        let lines = all_valid_lines();
        let mut line = lines[pick.index(lines.len())].clone();
        for (at, byte, op) in edits {
            if line.is_empty() {
                break;
            }
            let i = at.index(line.len());
            match op {
                0 => line.truncate(i),
                1 => line[i] = byte,
                2 => line.insert(i, byte),
                _ => {
                    line.remove(i);
                }
            }
        }
        for (p, _) in PARSERS {
            let _ = p(&line);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Generated requests (any seed, incidents included) through every gateway format's writer and back through
    /// that format's parser: the status, method and path come back as they went in.
    #[test]
    fn generated_requests_round_trip_through_every_gateway_format(seed in any::<u64>()) {
        let cfg = gatewatch::generate::GenConfig { requests: 24, incident: true, seed, ..Default::default() };
        let mut g = gatewatch::generate::Generator::new(cfg);
        let opts = std::sync::Arc::new(gatewatch::format::ParseOptions::default());
        while let Some(t) = g.next_request() {
            for (name, write) in gatewatch::format::writers::GATEWAY {
                let mut out = Vec::new();
                write(&t, &mut out);
                let format = gatewatch::format::Format::from_name(name).unwrap();
                let parser = gatewatch::format::Parser::new(format, opts.clone());
                let r = parser.parse(&out);
                prop_assert!(r.is_some(), "{name}: {}", String::from_utf8_lossy(&out));
                let r = r.unwrap();
                prop_assert_eq!(r.status, Some(t.status), "{} status: {}", name, String::from_utf8_lossy(&out));
                prop_assert_eq!(r.method.as_deref(), Some(t.method), "{} method", name);
                // API Gateway logs the resource path without its query string
                let path = if name.starts_with("aws") { t.path.split('?').next().unwrap() } else { t.path.as_str() };
                prop_assert_eq!(r.path.as_deref(), Some(path), "{} path", name);
            }
        }
    }
}

/// Kong across versions and plugins: entries with only some fields, latencies absent, numbers as strings or
/// floats, `api` (0.x) where later versions log `service` and `route`, the path from `url` or `upstream_uri`.
#[test]
fn kong_entries_of_every_version_parse() {
    let r = parse_all(kong::parse, &fixture("kong-versions.log"));
    let ms = |s: &str| us(s);
    // the minimal entry: time, method, path, status and nothing invented
    assert_eq!(r[0].time.unwrap().unix_us, ms("2024-05-01T12:00:00.123Z"));
    assert_eq!((s(&r[0].method), s(&r[0].path), r[0].status), (Some("GET"), Some("/v1/orders/1"), Some(200)));
    assert_eq!((r[0].duration_us, r[0].upstream_us, s(&r[0].client), s(&r[0].route)), (None, None, None, None));
    // seconds as a float, a status as a string, the path from the URL, a service
    assert_eq!(r[1].time.unwrap().unix_us, ms("2024-05-01T12:00:01.500Z"));
    assert_eq!((r[1].status, s(&r[1].path), s(&r[1].host)), (Some(502), Some("/v1/orders"), Some("api.example.com")));
    assert_eq!((r[1].bytes_received, r[1].bytes_sent, s(&r[1].route)), (Some(120), Some(0), Some("orders")));
    assert_eq!(s(&r[1].client), Some("203.0.113.9"));
    // Kong 0.x: an `api`, latencies as strings, a status as a float
    assert_eq!(r[2].time.unwrap().unix_us, ms("2024-05-01T12:00:02Z"));
    assert_eq!((r[2].status, r[2].duration_us, r[2].upstream_us), (Some(504), Some(60_012_000), Some(60_009_000)));
    assert_eq!((s(&r[2].route), s(&r[2].request_id)), (Some("users-api"), Some("0af7651916cd43dd8448eb211c80319c")));
    // no request path at all: the upstream's
    assert_eq!((s(&r[3].path), s(&r[3].method), r[3].status), (Some("/health"), Some("HEAD"), Some(204)));
    assert_eq!((r[3].duration_us, r[3].upstream_us), (Some(1_500), Some(750)));
    assert_eq!((s(&r[3].route), s(&r[3].upstream_addr)), (Some("health"), Some("10.0.0.9:8080")));
    // detected as Kong, every line
    let lines = fixture("kong-versions.log");
    let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    let d = detect(&refs, &[], Arc::new(ParseOptions::default()));
    assert_eq!((d.parser.format.name(), d.matched), ("kong", 4));
}
