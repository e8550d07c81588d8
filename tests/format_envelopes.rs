//! Access lines inside what collectors and tools wrap them in: syslog headers (RFC 3164 and RFC 5424, with and
//! without PRI, host and tag), JSON shippers (Vector, Filebeat, Fluent Bit, `{"msg": …}`), Emissary's `ACCESS `
//! and `kubectl logs --prefix`. Each fixture is detected as its envelope around the inner format, every line
//! parses, the inner fields come out as the bare line's would, and the envelope's host becomes the node.

use std::sync::Arc;

use gatewatch::format::ParseOptions;
use gatewatch::format::detect::{detect, sample_lines};
use gatewatch::record::Record;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/envelopes/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The parser detection picks, its name, and every line's record (each must parse).
fn parse(name: &str) -> (String, Vec<Record<'static>>) {
    let data = fixture(name);
    let lines = sample_lines(&data);
    let parser = detect(&lines, &[], Arc::new(ParseOptions::default())).parser;
    let recs = lines
        .iter()
        .map(|l| {
            parser
                .parse(l)
                .unwrap_or_else(|| panic!("{name}: did not parse: {}", String::from_utf8_lossy(l)))
                .into_owned()
        })
        .collect();
    (parser.describe(), recs)
}

/// The fields the bare nginx lines of these fixtures carry: statuses 200 502 200 504, `/v1/orders/{i}`, rid.
fn assert_nginx_fields(name: &str, recs: &[Record<'_>]) {
    let statuses: Vec<u16> = recs.iter().map(|r| r.status.unwrap()).collect();
    assert_eq!(statuses, [200, 502, 200, 504], "{name}");
    for (i, r) in recs.iter().enumerate() {
        let n = i + 1;
        assert_eq!(r.path.as_deref(), Some(format!("/v1/orders/{n}").as_str()), "{name}");
        assert_eq!(r.client.as_deref(), Some(format!("10.0.0.{n}").as_str()), "{name}");
        assert_eq!(r.method.as_deref(), Some("GET"), "{name}");
        assert_eq!(r.duration_us, Some(n as u64 * 10_000), "{name}");
        assert_eq!(r.upstream_addr.as_deref(), Some("10.0.0.7:8080"), "{name}");
        assert!(r.request_id.as_deref().is_some_and(|id| id.len() == 32), "{name}");
        // the inner line's own time wins over the envelope's
        let want = jiff::Timestamp::from_second(1_714_564_800 + n as i64).unwrap().as_microsecond();
        assert_eq!(r.time.map(|t| t.unix_us), Some(want), "{name}");
    }
}

fn nodes(recs: &[Record<'_>]) -> Vec<Option<String>> {
    recs.iter().map(|r| r.node.as_deref().map(str::to_string)).collect()
}

#[test]
fn syslog_rfc3164_with_and_without_pri_host_and_tag() {
    let (format, recs) = parse("syslog-rfc3164-nginx.log");
    assert_eq!(format, "syslog+nginx");
    assert_nginx_fields("rfc3164", &recs);
    let want = [Some("gw1"), Some("gw1"), None, Some("gw-2.example.net")];
    assert_eq!(nodes(&recs), want.map(|n| n.map(str::to_string)));
}

#[test]
fn syslog_rfc5424_with_structured_data_and_nil_fields() {
    let (format, recs) = parse("syslog-rfc5424-nginx.log");
    assert_eq!(format, "syslog+nginx");
    assert_nginx_fields("rfc5424", &recs);
    let want = [Some("gw1"), Some("gw1"), None, Some("gw2")];
    assert_eq!(nodes(&recs), want.map(|n| n.map(str::to_string)));
}

#[test]
fn json_shippers_keep_the_pod_or_host() {
    for (name, format, want) in [
        (
            "vector-nginx.jsonl",
            "message+nginx",
            ["ingress-nginx-1", "ingress-nginx-2", "ingress-nginx-3", "ingress-nginx-4"],
        ),
        ("filebeat-nginx.jsonl", "message+nginx", ["gw1", "gw2", "gw3", "gw4"]),
        ("fluentbit-nginx.jsonl", "docker+nginx", ["gw-7d9f-1", "gw-7d9f-2", "gw-7d9f-3", "gw-7d9f-4"]),
        ("kubectl-prefix-nginx.log", "prefix+nginx", ["gw-1", "gw-2", "gw-3", "gw-4"]),
        (
            "stern-nginx.log",
            "prefix+nginx",
            ["gateway-7d9f8b6c5-xk2p9", "gateway-7d9f8b6c5-m4zrt", "gateway-7d9f8b6c5-xk2p9", "edge-0"],
        ),
    ] {
        let (got, recs) = parse(name);
        assert_eq!(got, format, "{name}");
        assert_nginx_fields(name, &recs);
        assert_eq!(nodes(&recs), want.map(|n| Some(n.to_string())), "{name}");
    }
}

#[test]
fn envoy_lines_behind_access_or_in_a_msg_field_parse_as_bare_ones() {
    let bare = fixture("../proxies/envoy.log");
    let bare_lines = sample_lines(&bare);
    let envoy = detect(&bare_lines, &[], Arc::new(ParseOptions::default())).parser;
    for name in ["emissary-access.log", "msg-envoy.jsonl"] {
        let (format, recs) = parse(name);
        assert!(format == "envoy" || format.ends_with("+envoy"), "{name}: {format}");
        for (r, l) in recs.iter().zip(&bare_lines) {
            let want = envoy.parse(l).unwrap();
            assert_eq!(
                (r.status, &r.path, &r.request_id, r.duration_us, &r.upstream_addr, r.time),
                (want.status, &want.path, &want.request_id, want.duration_us, &want.upstream_addr, want.time),
                "{name}"
            );
        }
    }
}

/// Every line of every fixture is counted by `report`: none unparsed.
#[test]
fn report_counts_every_wrapped_line() {
    let dir = format!("{}/tests/fixtures/envelopes", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatewatch"))
            .args(["report", "--json"])
            .arg(&path)
            .output()
            .unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let s = &r["sources"][0];
        assert_eq!(s["unparsed"], 0, "{}: {s}", path.display());
        assert_eq!(s["parsed"], s["lines"], "{}: {s}", path.display());
    }
}

/// stern's `POD CONTAINER` prefix is taken only when the first word is named as Kubernetes names pods: two words
/// of free text, an address or a time are not a pod.
#[test]
fn stern_prefixes_are_told_from_free_text() {
    use gatewatch::format::envelope::Envelope;
    let pod = Envelope::Prefix.unwrap(b"orders-api-5c7d8-bx9kq orders {\"level\":\"info\"}").unwrap();
    assert_eq!((pod.node.as_deref(), &pod.line[..]), (Some("orders-api-5c7d8-bx9kq"), &b"{\"level\":\"info\"}"[..]));
    for text in [
        &b"connection-pool exhausted after 30 s"[..],
        b"10.0.0.1 - - [01/May/2024:12:00:01 +0000] \"GET / HTTP/1.1\" 200 1",
        b"2024-05-01T12:00:00Z INFO started",
        b"retry-after set to 3 seconds",
        b"Orders-api-5c7d8-bx9kq orders x",
    ] {
        assert!(Envelope::Prefix.unwrap(text).is_none(), "{}", String::from_utf8_lossy(text));
    }
}
