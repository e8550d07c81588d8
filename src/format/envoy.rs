//! Envoy / Istio access logs: default text format and JSON.
//!
//! Envoy default format (`%START_TIME%` … `"%UPSTREAM_HOST%"`):
//!
//! ```text
//! [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
//! %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%"
//! "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
//! ```
//!
//! Istio's default adds `%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%"`
//! after the flags, and `%UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS%
//! %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%` at the end.
//!
//! The upstream answered iff `%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%` is set: then `upstream_status = [status]`;
//! responses Envoy generated itself (UH, NR, UT, UF, RL…) leave it empty.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::format::{jsonval, num, time};
use crate::record::{Record, StatusList};
use crate::synth::SynthRequest;

use super::textscan::{self as scan, Cursor};

fn ms_text(b: &[u8]) -> Option<u64> {
    num::ms_to_us(b)
}

/// Envoy default text format / Istio default (optionally prefixed `ACCESS `).
pub fn parse_text(line: &[u8]) -> Option<Record<'_>> {
    let mut line = line.trim_ascii();
    if let Some(rest) = line.strip_prefix(b"ACCESS ") {
        line = rest.trim_ascii_start();
    }
    if line.first() != Some(&b'[') {
        return None;
    }
    let mut c = Cursor::new(line);
    let time = time::parse_iso(c.delimited(b'[', b']')?)?;
    let req = c.quoted()?;
    let code = num::parse_u64(c.word()?)?;
    if code > 999 {
        return None;
    }
    let flags = c.word()?;
    if flags.first()?.is_ascii_digit() || flags[0] == b'"' {
        return None;
    }
    // Istio: %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%"
    let mut details: [Option<&[u8]>; 3] = [None; 3];
    let mut extras = 0;
    let bytes_received = loop {
        if c.peek()? == b'"' {
            details[2] = c.quoted();
        } else {
            let w = c.word()?;
            if let Some(n) = num::parse_u64(w) {
                break n;
            }
            if extras < 2 {
                details[extras] = Some(w);
            }
        }
        extras += 1;
        if extras > 4 {
            return None;
        }
    };
    let bytes_sent = num::parse_u64(c.word()?)?;
    let duration = c.word()?;
    let duration_us = ms_text(duration);
    if duration_us.is_none() && duration != b"-" {
        return None;
    }
    let service_time = c.word();
    if service_time.is_some_and(|s| s.first() == Some(&b'"')) {
        return None;
    }
    let upstream_us = service_time.and_then(ms_text);
    let mut quoted: [Option<&[u8]>; 5] = [None; 5];
    for q in quoted.iter_mut() {
        match c.quoted() {
            Some(v) => *q = Some(v),
            None => break,
        }
    }
    let [xff, ua, id, authority, upstream_host] = quoted;
    // Istio tail
    let mut tail: [Option<&[u8]>; 6] = [None; 6];
    if upstream_host.is_some() {
        for t in tail.iter_mut() {
            *t = c.word();
        }
    }
    let [cluster, _up_local, _down_local, down_remote, _sni, route_name] = tail;

    let (method, path, protocol) = scan::request(req);
    let status = (100..=999).contains(&code).then_some(code as u16);
    let mut upstream_status = StatusList::new();
    if let (Some(_), Some(s)) = (upstream_us, status) {
        upstream_status.push(s);
    }
    let client = xff
        .and_then(|x| scan::text(scan::first_hop(x)))
        .or_else(|| down_remote.and_then(|d| num::text(scan::host_of(d))));
    let message = details.iter().flatten().copied().filter(|d| *d != b"via_upstream").find_map(scan::text);
    Some(Record {
        time: Some(time),
        method,
        path,
        protocol,
        host: authority.and_then(scan::text),
        status,
        upstream_status,
        duration_us,
        upstream_us,
        upstream_addr: upstream_host.and_then(scan::text),
        client,
        bytes_sent: Some(bytes_sent),
        bytes_received: Some(bytes_received),
        user_agent: ua.and_then(scan::text),
        request_id: id.and_then(scan::text),
        message,
        flags: num::text(flags),
        route: cluster.and_then(num::text).or_else(|| route_name.and_then(num::text)),
        ..Record::default()
    })
}

fn jtext(obj: &Map<String, Value>, keys: &[&str]) -> Option<Cow<'static, str>> {
    jsonval::first(obj, keys).and_then(jsonval::text)
}

const ENVOY_JSON_KEYS: [&str; 10] = [
    "response_flags",
    "upstream_cluster",
    "upstream_host",
    "start_time",
    "upstream_service_time",
    "x_envoy_upstream_service_time",
    "bytes_sent",
    "duration",
    "authority",
    "response_code_details",
];

/// Envoy JSON access log (also Istio's JSON encoding).
pub fn parse_json(line: &[u8]) -> Option<Record<'_>> {
    let obj = jsonval::object(line)?;
    let code = obj.get("response_code")?;
    if !ENVOY_JSON_KEYS.iter().any(|k| obj.contains_key(*k)) {
        return None;
    }
    let status = jsonval::status_of(code);
    let upstream_us = jsonval::first(&obj, &["upstream_service_time", "x_envoy_upstream_service_time"])
        .and_then(|v| jsonval::duration_us(v, 1000.0));
    let mut upstream_status = StatusList::new();
    if let (Some(_), Some(s)) = (upstream_us, status) {
        upstream_status.push(s);
    }
    let client = jtext(&obj, &["x_forwarded_for"])
        .map(|x| Cow::Owned(String::from_utf8_lossy(scan::first_hop(x.as_bytes())).into_owned()))
        .or_else(|| {
            jtext(&obj, &["downstream_remote_address"])
                .map(|a| Cow::Owned(String::from_utf8_lossy(scan::host_of(a.as_bytes())).into_owned()))
        });
    let trace_id = jtext(&obj, &["traceparent", "trace_parent"])
        .and_then(|t| crate::ids::traceparent_trace_id(&t).map(|s| Cow::Owned(s.to_owned())))
        .or_else(|| jtext(&obj, &["trace_id"]));
    let message = jtext(&obj, &["response_code_details"])
        .filter(|d| d != "via_upstream")
        .or_else(|| jtext(&obj, &["upstream_transport_failure_reason"]));
    Some(Record {
        time: jsonval::first(&obj, &["start_time", "timestamp"]).and_then(jsonval::time_of),
        method: jtext(&obj, &["method"]),
        path: jtext(&obj, &["path"]),
        protocol: jtext(&obj, &["protocol"]),
        host: jtext(&obj, &["authority"]),
        status,
        upstream_status,
        duration_us: jsonval::first(&obj, &["duration"]).and_then(|v| jsonval::duration_us(v, 1000.0)),
        upstream_us,
        upstream_addr: jtext(&obj, &["upstream_host"]),
        client,
        bytes_sent: jsonval::first(&obj, &["bytes_sent"]).and_then(jsonval::u64_of),
        bytes_received: jsonval::first(&obj, &["bytes_received"]).and_then(jsonval::u64_of),
        user_agent: jtext(&obj, &["user_agent"]),
        request_id: jtext(&obj, &["request_id", "x_request_id"]),
        trace_id,
        message,
        flags: jtext(&obj, &["response_flags"]),
        route: jtext(&obj, &["upstream_cluster", "route_name"]),
        ..Record::default()
    })
}

/// Envoy's `%PROTOCOL%` spelling.
fn envoy_protocol(p: &str) -> &str {
    match p {
        "HTTP/2.0" => "HTTP/2",
        "HTTP/3.0" => "HTTP/3",
        other => other,
    }
}

/// `%RESPONSE_CODE_DETAILS%` Envoy would log for a request.
fn code_details(r: &SynthRequest) -> &'static str {
    if !r.upstream_status.is_empty() {
        return "via_upstream";
    }
    match r.flags.as_deref().unwrap_or("").split(',').next().unwrap_or("") {
        "UH" => "no_healthy_upstream",
        "NR" => "route_not_found",
        "UT" => "upstream_response_timeout",
        "UF" => "upstream_reset_before_response_started{connection_failure}",
        "URX" => "upstream_reset_before_response_started{remote_reset}",
        "RL" => "request_rate_limited",
        "DC" => "downstream_remote_disconnect",
        _ => "direct_response",
    }
}

fn or_dash(s: Option<&str>) -> &str {
    s.filter(|s| !s.is_empty()).unwrap_or("-")
}

fn start_us(r: &SynthRequest) -> i64 {
    r.time.unix_us - r.duration_us as i64
}

fn service_time(r: &SynthRequest) -> Option<u64> {
    (!r.upstream_status.is_empty()).then(|| scan::ms(r.upstream_total_us().unwrap_or(0)))
}

fn envoy_head(r: &SynthRequest, out: &mut Vec<u8>) {
    let start = scan::Civil::from_unix_us(start_us(r)).iso_ms();
    out.extend_from_slice(
        format!(
            "[{start}] \"{} {} {}\" {} {}",
            r.method,
            r.path,
            envoy_protocol(r.protocol),
            r.status,
            or_dash(r.flags.as_deref())
        )
        .as_bytes(),
    );
}

fn envoy_middle(r: &SynthRequest, out: &mut Vec<u8>) {
    let svc = service_time(r).map_or_else(|| "-".to_string(), |v| v.to_string());
    out.extend_from_slice(
        format!(
            " {} {} {} {svc} \"{}\" \"{}\" \"{}\" \"{}\" \"{}\"",
            r.bytes_received,
            r.bytes_sent,
            scan::ms(r.duration_us),
            r.client,
            or_dash(Some(&r.user_agent)),
            r.request_id,
            r.host,
            or_dash(r.upstream_addr.last().map(String::as_str)),
        )
        .as_bytes(),
    );
}

/// Write `r` in Envoy's default text format.
pub fn write_envoy(r: &SynthRequest, out: &mut Vec<u8>) {
    envoy_head(r, out);
    envoy_middle(r, out);
}

fn istio_cluster(r: &SynthRequest) -> String {
    format!("outbound|8080||{}.default.svc.cluster.local", r.route)
}

fn client_addr(r: &SynthRequest) -> String {
    if r.client.contains(':') { format!("[{}]:51234", r.client) } else { format!("{}:51234", r.client) }
}

/// Write `r` in Istio's default proxy text format.
pub fn write_istio(r: &SynthRequest, out: &mut Vec<u8>) {
    envoy_head(r, out);
    let reason = if r.flags.as_deref() == Some("UF") && r.upstream_status.is_empty() {
        "delayed_connect_error:_111"
    } else {
        "-"
    };
    let term = if r.flags.as_deref() == Some("DC") { "downstream_remote_disconnect" } else { "-" };
    out.extend_from_slice(format!(" {} {term} \"{reason}\"", code_details(r)).as_bytes());
    envoy_middle(r, out);
    let up_local = if r.upstream_addr.is_empty() { "-" } else { "10.44.1.23:37652" };
    out.extend_from_slice(
        format!(
            " {} {up_local} 10.44.1.23:8080 {} outbound_.8080_._.{}.default.svc.cluster.local default",
            istio_cluster(r),
            client_addr(r),
            r.route
        )
        .as_bytes(),
    );
}

/// Write `r` as an Envoy JSON access log line (`json_format` with the usual keys; typed numbers).
pub fn write_envoy_json(r: &SynthRequest, out: &mut Vec<u8>) {
    let start = scan::Civil::from_unix_us(start_us(r)).iso_ms();
    let svc = service_time(r).map(|v| Value::String(v.to_string())).unwrap_or(Value::Null);
    let opt = |s: Option<&str>| s.map(|s| Value::String(s.to_string())).unwrap_or(Value::Null);
    let mut v = json!({
        "start_time": start,
        "method": r.method,
        "path": r.path,
        "protocol": envoy_protocol(r.protocol),
        "response_code": r.status,
        "response_flags": or_dash(r.flags.as_deref()),
        "response_code_details": code_details(r),
        "connection_termination_details": Value::Null,
        "upstream_transport_failure_reason": Value::Null,
        "bytes_received": r.bytes_received,
        "bytes_sent": r.bytes_sent,
        "duration": scan::ms(r.duration_us),
        "upstream_service_time": svc,
        "x_forwarded_for": r.client,
        "user_agent": r.user_agent,
        "request_id": r.request_id,
        "authority": r.host,
        "upstream_host": opt(r.upstream_addr.last().map(String::as_str)),
        "upstream_cluster": r.route,
        "route_name": "default",
        "downstream_remote_address": client_addr(r),
        "traceparent": opt(r.trace_id.as_deref().map(scan::traceparent).as_deref()),
    });
    if let Some(s) = r.retry_after_s {
        v["retry_after"] = Value::String(s.to_string());
    }
    // serde_json writes into a Vec without failing
    let _ = serde_json::to_writer(&mut *out, &v);
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &[u8] = br#"[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80""#;

    #[test]
    fn envoy_docs_example() {
        let r = parse_text(DOC).unwrap();
        assert_eq!(r.time.unwrap().unix_us, 1_460_751_420_310_000);
        assert_eq!(r.method.as_deref(), Some("POST"));
        assert_eq!(r.path.as_deref(), Some("/api/v1/locations"));
        assert_eq!(r.protocol.as_deref(), Some("HTTP/2"));
        assert_eq!(r.status, Some(204));
        assert_eq!(r.flags, None);
        assert_eq!(r.bytes_received, Some(154));
        assert_eq!(r.bytes_sent, Some(0));
        assert_eq!(r.duration_us, Some(226_000));
        assert_eq!(r.upstream_us, Some(100_000));
        assert_eq!(r.upstream_status.as_slice(), &[204]);
        assert_eq!(r.client.as_deref(), Some("10.0.35.28"));
        assert_eq!(r.user_agent.as_deref(), Some("nsq2http"));
        assert_eq!(r.request_id.as_deref(), Some("cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2"));
        assert_eq!(r.host.as_deref(), Some("locations"));
        assert_eq!(r.upstream_addr.as_deref(), Some("tcp://10.0.2.1:80"));
        assert!(matches!(r.path, Some(Cow::Borrowed(_))));
    }

    #[test]
    fn istio_local_reply_has_no_upstream_status() {
        let line = br#"ACCESS [2024-05-01T12:00:00.000Z] "GET /orders HTTP/1.1" 503 UH no_healthy_upstream - "-" 0 19 0 - "203.0.113.7" "curl/8.5.0" "0af7651916cd43dd8448eb211c80319c" "api.example.com" "-" outbound|8080||orders.default.svc.cluster.local - 10.44.1.23:8080 10.44.1.9:51234 - default"#;
        let r = parse_text(line).unwrap();
        assert_eq!(r.status, Some(503));
        assert_eq!(r.flags.as_deref(), Some("UH"));
        assert!(r.upstream_status.is_empty());
        assert_eq!(r.upstream_us, None);
        assert_eq!(r.upstream_addr, None);
        assert_eq!(r.message.as_deref(), Some("no_healthy_upstream"));
        assert_eq!(r.route.as_deref(), Some("outbound|8080||orders.default.svc.cluster.local"));
        assert_eq!(r.client.as_deref(), Some("203.0.113.7"));
    }

    #[test]
    fn response_code_zero_and_escapes() {
        let line = br#"[2024-05-01T12:00:00.5Z] "GET /x HTTP/1.1" 0 DC 0 0 12 - "-" "Mo \"zilla\"" "-" "h" "[2001:db8::1]:443""#;
        let r = parse_text(line).unwrap();
        assert_eq!(r.status, None);
        assert_eq!(r.flags.as_deref(), Some("DC"));
        assert!(r.upstream_status.is_empty());
        assert_eq!(r.user_agent.as_deref(), Some("Mo \"zilla\""));
        assert_eq!(r.upstream_addr.as_deref(), Some("[2001:db8::1]:443"));
        assert_eq!(r.client, None);
        assert_eq!(r.request_id, None);
    }

    #[test]
    fn json_with_string_numbers() {
        let line = br#"{"start_time":"2024-05-01T12:00:00.123Z","method":"GET","path":"/a","protocol":"HTTP/1.1","response_code":"200","response_flags":"-","bytes_received":"0","bytes_sent":"42","duration":"7","upstream_service_time":"5","x_forwarded_for":"198.51.100.1, 10.0.0.1","user_agent":"curl","request_id":"abc-123","authority":"svc","upstream_host":"10.0.0.2:80","upstream_cluster":"svc_cluster","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}"#;
        let r = parse_json(line).unwrap();
        assert_eq!(r.status, Some(200));
        assert_eq!(r.upstream_status.as_slice(), &[200]);
        assert_eq!(r.duration_us, Some(7_000));
        assert_eq!(r.upstream_us, Some(5_000));
        assert_eq!(r.bytes_sent, Some(42));
        assert_eq!(r.client.as_deref(), Some("198.51.100.1"));
        assert_eq!(r.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(r.route.as_deref(), Some("svc_cluster"));
        assert_eq!(r.flags, None);
        assert_eq!(r.message, None);
        assert!(parse_json(br#"{"msg":"hello","level":30}"#).is_none());
    }

    #[test]
    fn civil_round_trip() {
        let c = scan::Civil::from_unix_us(1_714_564_800_123_000);
        assert_eq!(c.iso_ms(), "2024-05-01T12:00:00.123Z");
        assert_eq!(c.rfc3339_nano(), "2024-05-01T12:00:00.123Z");
        assert_eq!(c.clf(true), "01/May/2024:12:00:00.123");
        assert_eq!(c.syslog(), "May  1 12:00:00");
        assert_eq!(scan::Civil::from_unix_us(951_782_400_000_000).iso_ms(), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn writers_parse_back() {
        let r = SynthRequest::example();
        for w in [write_envoy, write_istio] {
            let mut out = Vec::new();
            w(&r, &mut out);
            let p = parse_text(&out).unwrap();
            assert_eq!(p.status, Some(502));
            assert_eq!(p.flags.as_deref(), Some("UF"));
            assert_eq!(p.request_id.as_deref(), Some(r.request_id.as_str()));
        }
        let mut out = Vec::new();
        write_envoy_json(&r, &mut out);
        let p = parse_json(&out).unwrap();
        assert_eq!(p.trace_id.as_deref(), r.trace_id.as_deref());
    }
}
