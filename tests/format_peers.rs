//! gatewatch's parses against other log shippers' expected parses of the same lines.
//!
//! Elastic (beats modules, integrations packages) and DataDog (integrations-core log pipelines) keep public pipeline
//! tests: real gateway lines, each with the fields their pipeline is expected to pull out. `tests/fixtures/peers/`
//! holds such lines byte for byte (`<family>.log`) and, per line, the fields the peer's expected parse gives,
//! translated to gatewatch's record terms (`<family>.expected.json`, which names the upstream files and commits):
//! `time` (RFC 3339, UTC), `method`, `path`, `status`, `upstream_status`, `latency_ms`, `request_id`, `client`. A
//! field the peer gives must come out equal; a field the peer says is absent (`null`) must not come out at all
//! (nothing invented); a field the peer does not speak of is not compared.
//!
//! Where the peer's value is a convention of its own rather than what the line says (a method lower-cased, `-` kept
//! as a string, the first public address picked from a list), the entry's `convention` gives gatewatch's value and
//! why; the peer's value stays beside it, so the difference is on record. A request line that is no HTTP request
//! (`PATCHp /x HTTP/1.1`, answered 400) is one: the peer files its words as method and URL, gatewatch keeps it whole
//! as `bad_request`, which the convention then names.
//!
//! Each file is parsed as `gatewatch tail --json FILE` parses it: its format detected from its first lines, then
//! every line through that parser (with the per-line fallback), the record read as `--json` prints it.

use gatewatch::format::trim_line;
use gatewatch::input::{ScanOptions, choose_parser};
use gatewatch::output::RecordJson;
use serde_json::{Map, Value};

/// The fields compared, as the expected files name them.
const FIELDS: [&str; 8] = ["time", "method", "path", "status", "upstream_status", "latency_ms", "request_id", "client"];

fn read(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/peers/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A timestamp as microseconds since the epoch (the record's resolution; a peer's nanoseconds are cut).
fn us(s: &str) -> i64 {
    let ts: jiff::Timestamp = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
    ts.as_microsecond()
}

/// gatewatch's value of one field, in the expected files' terms; `None` when the record has none.
fn actual(rec: &gatewatch::record::Record<'_>, json: &Map<String, Value>, field: &str) -> Option<Value> {
    match field {
        // compared at the record's resolution, not --json's milliseconds
        "time" => rec.time.map(|t| Value::from(t.unix_us)),
        _ => json.get(field).cloned(),
    }
}

/// The expected value in the same terms as [`actual`].
fn wanted(field: &str, v: &Value) -> Option<Value> {
    match (field, v) {
        (_, Value::Null) => None,
        ("time", Value::String(s)) => Some(Value::from(us(s))),
        _ => Some(v.clone()),
    }
}

fn same(field: &str, got: &Option<Value>, want: &Option<Value>) -> bool {
    match (field, got, want) {
        // a peer's nanoseconds against the record's microseconds
        ("latency_ms", Some(g), Some(w)) => (g.as_f64().unwrap() - w.as_f64().unwrap()).abs() < 0.001,
        _ => got == want,
    }
}

/// Parse `<family>.log` as `tail --json` does and compare every line with `<family>.expected.json`; returns the
/// number of (line, field) pairs compared.
fn check(family: &str) -> usize {
    let data = read(&format!("{family}.log"));
    let doc: Value = serde_json::from_slice(&read(&format!("{family}.expected.json"))).unwrap();
    let parser = choose_parser(&data, &ScanOptions::default());
    // one name, or the names that read the file alike (Apache's and nginx's `combined` are one line shape)
    let formats: Vec<&str> = match &doc["format"] {
        Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
        name => vec![name.as_str().unwrap()],
    };
    assert!(formats.contains(&parser.describe().as_str()), "{family}: detected {}, not {formats:?}", parser.describe());
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').map(trim_line).filter(|l| !l.is_empty()).collect();
    let expected = doc["expected"].as_array().unwrap();
    assert_eq!(lines.len(), expected.len(), "{family}: one expected entry per line");
    let mut failures = Vec::new();
    let mut compared = 0;
    for (i, (line, want)) in lines.iter().zip(expected).enumerate() {
        let n = i + 1;
        assert_eq!(want["line"].as_u64(), Some(n as u64), "{family}: entries in line order");
        let Some(rec) = parser.parse(line) else {
            failures.push(format!("line {n}: did not parse: {}", String::from_utf8_lossy(line)));
            continue;
        };
        let json = match serde_json::to_value(RecordJson::of(&rec)) {
            Ok(Value::Object(m)) => m,
            other => panic!("{family} line {n}: {other:?}"),
        };
        let convention = want.get("convention").and_then(Value::as_object);
        for field in FIELDS {
            let Some(peer) = want.get(field) else { continue };
            // the peer's value, or gatewatch's where the peer follows a convention of its own
            let target = convention.and_then(|c| c.get(field)).unwrap_or(peer);
            let (got, exp) = (actual(&rec, &json, field), wanted(field, target));
            compared += 1;
            if !same(field, &got, &exp) {
                failures.push(format!("line {n} {field}: gatewatch {got:?}, expected {exp:?} (peer: {peer})"));
            }
        }
        if let Some(c) = convention {
            assert!(c.get("why").and_then(Value::as_str).is_some_and(|w| !w.is_empty()), "{family} line {n}: why");
            // where the peer's method and path went: the request line kept as an invalid request
            if let Some(request) = c.get("bad_request") {
                compared += 1;
                if json.get("bad_request") != Some(request) {
                    failures.push(format!(
                        "line {n} bad_request: gatewatch {:?}, expected {request}",
                        json.get("bad_request")
                    ));
                }
            }
            for k in c.keys().filter(|k| !matches!(k.as_str(), "why" | "bad_request")) {
                assert!(want.get(k).is_some(), "{family} line {n}: a convention on {k}, which the peer does not give");
            }
        }
    }
    assert!(failures.is_empty(), "{family}:\n{}", failures.join("\n"));
    compared
}

#[test]
fn nginx_as_elastic_and_datadog_parse_it() {
    check("nginx");
}

#[test]
fn ingress_nginx_as_elastic_and_datadog_parse_it() {
    check("ingress-nginx");
}

#[test]
fn apache_as_elastic_and_datadog_parse_it() {
    check("apache");
}

#[test]
fn haproxy_as_elastic_and_datadog_parse_it() {
    check("haproxy");
}

#[test]
fn traefik_as_elastic_parse_it() {
    check("traefik");
}

#[test]
fn traefik_common_as_elastic_and_datadog_parse_it() {
    check("traefik-common");
}

#[test]
fn envoy_as_elastic_and_datadog_parse_it() {
    check("envoy");
}

#[test]
fn envoy_in_a_container_record_as_elastic_parses_it() {
    check("envoy-envelope");
}

#[test]
fn kong_as_datadog_parse_it() {
    check("kong");
}

#[test]
fn aws_api_gateway_as_elastic_parse_it() {
    check("aws");
}
