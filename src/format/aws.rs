//! AWS API Gateway access logs: CLF template and JSON template.
//!
//! REST API CLF: `$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime]
//! "$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength
//! $context.requestId $context.extendedRequestId`.
//! HTTP API CLF: `… "$context.httpMethod $context.routeKey $context.protocol" $context.status $context.responseLength
//! $context.requestId` — the route key repeats the method (`"GET GET /pets HTTP/1.1"`).
//!
//! Unlike nginx/Apache, the token after the byte count is an unquoted request id, which is how the two are told apart.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::format::textscan::{self as scan, Cursor};
use crate::format::{jsonval, num, time};
use crate::record::{Record, StatusList};
use crate::synth::SynthRequest;

/// `$context.identity.sourceIp`: an IP, or `test-invoke-source-ip` for console test calls.
fn is_source_ip(b: &[u8]) -> bool {
    b == b"test-invoke-source-ip"
        || (b.len() >= 2
            && b.iter().all(|c| c.is_ascii_hexdigit() || matches!(c, b'.' | b':'))
            && b.iter().any(|c| matches!(c, b'.' | b':')))
}

/// An API Gateway request id: UUID, or an HTTP-API / extended id such as `JQBtyjLMIAMEb8w=`.
/// Rejects numbers (Apache `%D`), `key=value` extras and quoted fields.
fn is_request_id(b: &[u8]) -> bool {
    if b.len() < 8 || b.len() > 128 || b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if !b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'=' | b'+' | b'/')) {
        return false;
    }
    // `=` only as base64 padding at the end
    let body = b.iter().rposition(|&c| c != b'=').map_or(&b[..0], |p| &b[..=p]);
    !body.contains(&b'=')
}

/// CLF template.
pub fn parse_clf(line: &[u8]) -> Option<Record<'_>> {
    let mut c = Cursor::new(line.trim_ascii());
    let ip = c.word()?;
    if !is_source_ip(ip) {
        return None;
    }
    let caller = c.word()?;
    let user = c.word()?;
    let time = time::parse_clf(c.delimited(b'[', b']')?)?;
    let req = c.quoted()?;
    let status = num::parse_status(c.word()?)?;
    let len = c.word()?;
    let bytes_sent = num::parse_u64(len);
    if bytes_sent.is_none() && len != b"-" {
        return None;
    }
    let request_id = c.word()?;
    if !is_request_id(request_id) {
        return None;
    }
    if let Some(ext) = c.word()
        && !is_request_id(ext)
    {
        return None;
    }
    if !c.at_end() {
        return None;
    }
    let (method, target, protocol) = scan::request(req);
    // HTTP APIs log the route key (`GET /pets/{id}`, `$default`) where REST APIs log the resource path.
    let (path, route) = match (&method, &target) {
        (Some(m), Some(t))
            if t.strip_prefix(m.as_ref()).is_some_and(|r| r.starts_with(' ')) || t.starts_with("ANY ") =>
        {
            let p = t.split_once(' ').map(|(_, p)| p.trim().to_owned());
            (p.map(Cow::Owned), target.clone())
        }
        (_, Some(t)) if t == "$default" => (None, target.clone()),
        _ => (target, None),
    };
    Some(Record {
        time: Some(time),
        method,
        path,
        protocol,
        status: Some(status),
        bytes_sent,
        client: num::text(ip),
        request_id: num::text(request_id),
        consumer: num::text(caller).or_else(|| num::text(user)),
        route,
        ..Record::default()
    })
}

fn jtext(obj: &Map<String, Value>, keys: &[&str]) -> Option<Cow<'static, str>> {
    jsonval::first(obj, keys).and_then(jsonval::text)
}

/// An X-Ray trace id (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=…` or bare `1-…-…`) as the W3C trace id
/// OpenTelemetry maps it to (the 8 + 24 hex digits joined).
fn xray_trace_id(s: &str) -> Option<String> {
    let root = s.split(';').find_map(|p| p.trim().strip_prefix("Root=")).unwrap_or(s.trim());
    let mut parts = root.split('-');
    let (v, t, r) = (parts.next()?, parts.next()?, parts.next()?);
    let hex = |x: &str, n: usize| x.len() == n && x.bytes().all(|c| c.is_ascii_hexdigit());
    (v == "1" && hex(t, 8) && hex(r, 24) && parts.next().is_none()).then(|| format!("{t}{r}").to_ascii_lowercase())
}

/// JSON template (every value is a string).
pub fn parse_json(line: &[u8]) -> Option<Record<'_>> {
    let obj = jsonval::object(line)?;
    let request_id = jtext(&obj, &["requestId"])?;
    const SHAPE: [&str; 8] =
        ["httpMethod", "status", "routeKey", "resourcePath", "ip", "requestTime", "protocol", "responseLength"];
    if !SHAPE.iter().any(|k| obj.contains_key(*k)) {
        return None;
    }
    let status = jsonval::first(&obj, &["status"]).and_then(jsonval::status_of);
    let upstream_status = jsonval::first(&obj, &["integrationStatus", "integration.status"])
        .and_then(jsonval::status_of)
        .map(StatusList::one)
        .unwrap_or_default();
    let ms = |keys: &[&str]| jsonval::first(&obj, keys).and_then(|v| jsonval::duration_us(v, 1000.0));
    let route_key = jtext(&obj, &["routeKey"]);
    let path = jtext(&obj, &["path"])
        .or_else(|| jtext(&obj, &["resourcePath"]))
        .or_else(|| route_key.as_deref().and_then(|k| k.split_once(' ')).map(|(_, p)| Cow::Owned(p.to_owned())));
    let trace_id = jtext(&obj, &["xrayTraceId"]).and_then(|x| xray_trace_id(&x)).map(Cow::Owned).or_else(|| {
        jtext(&obj, &["traceparent"])
            .and_then(|t| crate::ids::traceparent_trace_id(&t).map(|s| Cow::Owned(s.to_owned())))
    });
    Some(Record {
        time: jsonval::first(&obj, &["requestTimeEpoch", "requestTime"]).and_then(jsonval::time_of),
        method: jtext(&obj, &["httpMethod", "method"]),
        path,
        protocol: jtext(&obj, &["protocol"]),
        host: jtext(&obj, &["domainName"]),
        status,
        upstream_status,
        duration_us: ms(&["responseLatency"]),
        upstream_us: ms(&["integrationLatency", "integration.latency"]),
        client: jtext(&obj, &["ip", "sourceIp", "identity.sourceIp"]),
        bytes_sent: jsonval::first(&obj, &["responseLength"]).and_then(jsonval::u64_of),
        user_agent: jtext(&obj, &["userAgent", "identity.userAgent"]),
        request_id: Some(request_id),
        trace_id,
        message: jtext(
            &obj,
            &["integrationErrorMessage", "integration.error", "error.message", "errorMessage", "errorMessageString"],
        ),
        consumer: jtext(
            &obj,
            &[
                "identity.caller",
                "caller",
                "authorizer.principalId",
                "principalId",
                "identity.apiKeyId",
                "apiKeyId",
                "identity.user",
                "user",
            ],
        ),
        route: route_key,
        ..Record::default()
    })
}

/// `$context.path` / `$context.resourcePath` never carry the query string.
fn no_query(r: &SynthRequest) -> &str {
    r.path.split('?').next().unwrap_or_default()
}

fn extended_id(r: &SynthRequest) -> String {
    let compact: String = r.request_id.chars().filter(|c| c.is_ascii_alphanumeric()).take(15).collect();
    format!("{compact}=")
}

fn request_time(r: &SynthRequest) -> String {
    format!("{} +0000", scan::Civil::from_unix_us(r.time.unix_us - r.duration_us as i64).clf(false))
}

/// Write `r` with the console's CLF template for REST APIs.
pub fn write_clf(r: &SynthRequest, out: &mut Vec<u8>) {
    out.extend_from_slice(
        format!(
            "{} {} - [{}] \"{} {} {}\" {} {} {} {}",
            r.client,
            r.consumer.as_deref().unwrap_or("-"),
            request_time(r),
            r.method,
            no_query(r),
            r.protocol,
            r.status,
            r.bytes_sent,
            r.request_id,
            extended_id(r)
        )
        .as_bytes(),
    );
}

/// API Gateway's message for a response it generated itself.
fn gateway_error(r: &SynthRequest) -> &'static str {
    match r.status {
        429 => "Too Many Requests",
        504 => "Endpoint request timed out",
        403 => "Forbidden",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Internal server error",
    }
}

/// Write `r` with a JSON template (values are strings, `-` for unset, as API Gateway substitutes them).
pub fn write_json(r: &SynthRequest, out: &mut Vec<u8>) {
    let start_us = r.time.unix_us - r.duration_us as i64;
    let dash = || Value::String("-".into());
    let local = r.upstream_status.is_empty();
    let mut v = json!({
        "requestId": r.request_id,
        "extendedRequestId": extended_id(r),
        "ip": r.client,
        "caller": "-",
        "user": "-",
        "principalId": r.consumer.clone().unwrap_or_else(|| "-".into()),
        "requestTime": request_time(r),
        "requestTimeEpoch": start_us.div_euclid(1000).to_string(),
        "httpMethod": r.method,
        "resourcePath": no_query(r),
        "path": no_query(r),
        "status": r.status.to_string(),
        "protocol": r.protocol,
        "responseLength": r.bytes_sent.to_string(),
        "responseLatency": scan::ms(r.duration_us).to_string(),
        "domainName": r.host,
        "userAgent": r.user_agent,
    });
    v["integrationStatus"] = r.last_upstream_status().map_or_else(dash, |s| Value::String(s.to_string()));
    v["integrationLatency"] = r.upstream_total_us().map_or_else(dash, |u| Value::String(scan::ms(u).to_string()));
    v["integrationErrorMessage"] =
        if local && r.status >= 500 && r.status != 504 { Value::String(r.message.clone()) } else { dash() };
    v["error.message"] = if local && r.status >= 400 { Value::String(gateway_error(r).into()) } else { dash() };
    v["xrayTraceId"] = match &r.trace_id {
        Some(t) if t.len() == 32 => Value::String(format!("Root=1-{}-{};Sampled=1", &t[..8], &t[8..])),
        _ => dash(),
    };
    let _ = serde_json::to_writer(&mut *out, &v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_and_http_api_clf() {
        let rest = b"203.0.113.7 - - [01/May/2024:12:00:00 +0000] \"GET /pets/{petId} HTTP/1.1\" 200 341 c6af9ac6-7b61-11e6-9a41-93e8deadbeef Z1uBOHcuoAMFyLg=";
        let r = parse_clf(rest).unwrap();
        assert_eq!(r.time.unwrap().unix_us, 1_714_564_800_000_000);
        assert_eq!(r.path.as_deref(), Some("/pets/{petId}"));
        assert_eq!(r.status, Some(200));
        assert_eq!(r.bytes_sent, Some(341));
        assert_eq!(r.request_id.as_deref(), Some("c6af9ac6-7b61-11e6-9a41-93e8deadbeef"));
        assert_eq!(r.consumer, None);
        let http = b"2001:db8::7 - - [01/May/2024:12:00:00 +0000]\"GET GET /pets HTTP/1.1\" 502 36 JQBtyjLMIAMEb8w=";
        let r = parse_clf(http).unwrap();
        assert_eq!(r.path.as_deref(), Some("/pets"));
        assert_eq!(r.route.as_deref(), Some("GET /pets"));
        assert_eq!(r.client.as_deref(), Some("2001:db8::7"));
        assert_eq!(r.request_id.as_deref(), Some("JQBtyjLMIAMEb8w="));
    }

    #[test]
    fn not_nginx_or_apache() {
        assert!(
            parse_clf(br#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8""#).is_none()
        );
        assert!(parse_clf(br#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 12 12345"#).is_none());
        assert!(parse_clf(br#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 12 rt=0.123"#).is_none());
    }

    #[test]
    fn json_strings_and_xray() {
        let line = br#"{"requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","ip":"203.0.113.7","requestTime":"01/May/2024:12:00:00 +0000","requestTimeEpoch":"1714564800123","httpMethod":"POST","resourcePath":"/orders","status":"504","protocol":"HTTP/1.1","responseLength":"41","responseLatency":"29001","integrationLatency":"-","integrationStatus":"-","integrationErrorMessage":"Execution failed due to a timeout error","xrayTraceId":"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}"#;
        let r = parse_json(line).unwrap();
        assert_eq!(r.time.unwrap().unix_us, 1_714_564_800_123_000);
        assert_eq!(r.status, Some(504));
        assert!(r.upstream_status.is_empty());
        assert_eq!(r.duration_us, Some(29_001_000));
        assert_eq!(r.upstream_us, None);
        assert_eq!(r.message.as_deref(), Some("Execution failed due to a timeout error"));
        assert_eq!(r.trace_id.as_deref(), Some("5759e988bd862e3fe1be46a994272793"));
        assert!(parse_json(br#"{"requestId":"x"}"#).is_none());
    }
}
