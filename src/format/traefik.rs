//! Traefik access logs: JSON (`accessLog.format: json`) and the default `common` format.
//!
//! JSON: required `DownstreamStatus` or `OriginStatus`. Durations are nanoseconds. `OriginStatus` 0 means no
//! upstream answered (Traefik replied itself). Kept headers appear as `request_<Name>`, `downstream_<Name>`,
//! `origin_<Name>`.
//!
//! `common`: nginx's `combined` followed by ` <requests since start> "<router>" "<server URL>" <duration>ms`.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::format::jsonval;
use crate::format::textscan as scan;
use crate::record::{Record, StatusList};
use crate::synth::SynthRequest;

fn jtext(obj: &Map<String, Value>, keys: &[&str]) -> Option<Cow<'static, str>> {
    jsonval::first(obj, keys).and_then(jsonval::text)
}

/// A kept header (`request_X-Request-Id`); Go canonicalises names, but accept any case.
fn header(obj: &Map<String, Value>, prefix: &str, name: &str) -> Option<Cow<'static, str>> {
    let key = format!("{prefix}_{name}");
    obj.get(&key)
        .or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(&key)).map(|(_, v)| v))
        .and_then(jsonval::text)
}

/// `http://10.0.0.7:8080/x` → `10.0.0.7:8080`; `None` when there is no host (`/`).
fn url_host(s: &str) -> Option<&str> {
    let after = s.split_once("://").map_or(s, |(_, r)| r);
    let end = after.find('/').unwrap_or(after.len());
    Some(&after[..end]).filter(|h| !h.is_empty())
}

/// `ServiceURL`: a string (`http://10.0.0.7:8080`) or Go's `url.URL` object (`{"Host": …}`).
fn service_url_host(v: &Value) -> Option<Cow<'static, str>> {
    match v {
        Value::String(s) => url_host(s).map(|h| Cow::Owned(h.to_owned())),
        Value::Object(o) => o.get("Host").and_then(jsonval::text),
        _ => None,
    }
}

/// `orders@docker` → `orders`: the provider suffix is Traefik bookkeeping, not the service's name.
fn without_provider(s: Cow<'_, str>) -> Cow<'_, str> {
    match s.rsplit_once('@') {
        Some((name, _)) if !name.is_empty() => Cow::Owned(name.to_owned()),
        _ => s,
    }
}

/// Parse one Traefik access-log line, JSON or `common`.
pub fn parse(line: &[u8]) -> Option<Record<'_>> {
    match line.trim_ascii_start().first() {
        Some(b'{') => parse_json(line),
        _ => parse_common(line),
    }
}

/// Traefik's `common` format (its default):
/// `<client> - <user> [<time>] "<request>" <status> <bytes> "<referer>" "<user agent>" <requests> "<router>"
/// "<server URL>" <duration>ms`. The request count is Traefik's since it started, not a latency.
pub fn parse_common(line: &[u8]) -> Option<Record<'_>> {
    use super::nginx::{Combined, field, parse_combined, traefik_tail};
    if !line.ends_with(b"ms") {
        return None;
    }
    let Combined { mut rec, rest, .. } = parse_combined(line)?;
    let tail = traefik_tail(line, rest)?;
    rec.duration_us = Some(tail.ms.saturating_mul(1000));
    rec.route = field(tail.router).map(without_provider);
    rec.upstream_addr = field(tail.server).and_then(|s| match s {
        Cow::Borrowed(b) => url_host(b).map(Cow::Borrowed),
        Cow::Owned(o) => url_host(&o).map(|h| Cow::Owned(h.to_owned())),
    });
    Some(rec)
}

/// Parse one Traefik JSON access-log line.
pub fn parse_json(line: &[u8]) -> Option<Record<'_>> {
    let obj = jsonval::object(line)?;
    let down = obj.get("DownstreamStatus");
    let origin = obj.get("OriginStatus");
    if down.is_none() && origin.is_none() {
        return None;
    }
    let origin_status = origin.and_then(jsonval::status_of);
    let upstream_status = origin_status.map(StatusList::one).unwrap_or_default();
    let ns = |k: &str| obj.get(k).and_then(|v| jsonval::duration_us(v, 0.001));
    let client = jtext(&obj, &["ClientHost"]).or_else(|| {
        jtext(&obj, &["ClientAddr"])
            .map(|a| Cow::Owned(String::from_utf8_lossy(scan::host_of(a.as_bytes())).into_owned()))
    });
    let trace_id = header(&obj, "request", "Traceparent")
        .and_then(|t| crate::ids::traceparent_trace_id(&t).map(|s| Cow::Owned(s.to_owned())))
        .or_else(|| jtext(&obj, &["TraceId"]));
    let route = jtext(&obj, &["ServiceName", "RouterName"]).map(without_provider);
    Some(Record {
        time: jsonval::first(&obj, &["StartUTC", "StartLocal", "time"]).and_then(jsonval::time_of),
        method: jtext(&obj, &["RequestMethod"]),
        path: jtext(&obj, &["RequestPath"]),
        protocol: jtext(&obj, &["RequestProtocol"]),
        host: jtext(&obj, &["RequestHost", "RequestAddr"]),
        status: down.and_then(jsonval::status_of).or(origin_status),
        upstream_status,
        duration_us: ns("Duration"),
        upstream_us: if origin_status.is_some() { ns("OriginDuration") } else { None },
        upstream_addr: jtext(&obj, &["ServiceAddr"]).or_else(|| obj.get("ServiceURL").and_then(service_url_host)),
        client,
        bytes_sent: jsonval::first(&obj, &["DownstreamContentSize"]).and_then(jsonval::u64_of),
        bytes_received: jsonval::first(&obj, &["RequestContentSize"]).and_then(jsonval::u64_of),
        user_agent: header(&obj, "request", "User-Agent"),
        referer: header(&obj, "request", "Referer"),
        request_id: header(&obj, "request", "X-Request-Id"),
        trace_id,
        consumer: jtext(&obj, &["ClientUsername"]),
        route,
        ..Record::default()
    })
}

/// Write `r` as Traefik's JSON access log would (v2/v3 field names, headers kept for the ones we need).
pub fn write(r: &SynthRequest, out: &mut Vec<u8>) {
    let start = scan::Civil::from_unix_us(r.time.unix_us - r.duration_us as i64);
    let end = scan::Civil::from_unix_us(r.time.unix_us);
    let origin_status = r.last_upstream_status().unwrap_or(0);
    let origin_ns = if r.upstream_status.is_empty() { 0 } else { r.upstream_total_us().unwrap_or(0) * 1000 };
    let duration_ns = r.duration_us * 1000;
    let addr = r.upstream_addr.last().cloned();
    let client_port = "51234";
    let mut v = json!({
        "ClientAddr": if r.client.contains(':') { format!("[{}]:{client_port}", r.client) } else { format!("{}:{client_port}", r.client) },
        "ClientHost": r.client,
        "ClientPort": client_port,
        "ClientUsername": r.consumer.clone().unwrap_or_else(|| "-".into()),
        "DownstreamContentSize": r.bytes_sent,
        "DownstreamStatus": r.status,
        "Duration": duration_ns,
        "OriginContentSize": if r.upstream_status.is_empty() { 0 } else { r.bytes_sent },
        "OriginDuration": origin_ns,
        "OriginStatus": origin_status,
        "Overhead": duration_ns.saturating_sub(origin_ns),
        "RequestAddr": r.host,
        "RequestContentSize": r.bytes_received,
        "RequestCount": 1,
        "RequestHost": r.host,
        "RequestMethod": r.method,
        "RequestPath": r.path,
        "RequestPort": "-",
        "RequestProtocol": r.protocol,
        "RequestScheme": "https",
        "RetryAttempts": r.upstream_status.len().saturating_sub(1),
        "RouterName": format!("{}@docker", r.route),
        "ServiceName": format!("{}@docker", r.route),
        "StartLocal": start.rfc3339_nano(),
        "StartUTC": start.rfc3339_nano(),
        "entryPointName": "websecure",
        "level": "info",
        "msg": "",
        "time": format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", end.y, end.mo, end.d, end.h, end.mi, end.s),
        "request_User-Agent": r.user_agent,
        "request_X-Request-Id": r.request_id,
    });
    if let Some(a) = &addr {
        v["ServiceAddr"] = Value::String(a.clone());
        v["ServiceURL"] = Value::String(format!("http://{a}"));
    }
    if let Some(t) = &r.trace_id {
        v["request_Traceparent"] = Value::String(scan::traceparent(t));
    }
    if let Some(rf) = &r.referer {
        v["request_Referer"] = Value::String(rf.clone());
    }
    if let Some(s) = r.retry_after_s {
        v["downstream_Retry-After"] = Value::String(s.to_string());
    }
    let _ = serde_json::to_writer(&mut *out, &v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_format() {
        let line = br#"192.168.33.1 - - [02/Oct/2017:20:22:07 +0000] "GET /ui/x.png HTTP/1.1" 304 0 "-" "curl/8" 262 "web@docker" "http://172.19.0.3:5601" 2ms"#;
        let r = parse(line).unwrap();
        assert_eq!((r.status, r.duration_us, r.path.as_deref()), (Some(304), Some(2_000), Some("/ui/x.png")));
        assert_eq!((r.route.as_deref(), r.upstream_addr.as_deref()), (Some("web"), Some("172.19.0.3:5601")));
        // the request count (262) is no latency: nginx's and Apache's parsers leave the line to this one
        assert!(crate::format::apache::parse(line).is_none());
        assert!(crate::format::nginx::parse(line).is_none());
        // an empty referer written bare; no server (`/`)
        let bare = br#"::1 - - [29/Nov/2018:15:03:51 +0000] "GET / HTTP/1.1" 404 19 - "curl/7.62.0" 10 "backend not found" "/" 0ms"#;
        let r = parse(bare).unwrap();
        assert_eq!((r.status, r.duration_us, r.upstream_addr.as_deref()), (Some(404), Some(0), None));
        // no router or server: bare dashes
        let r = parse(br#"127.0.0.1 - - [07/Dec/2018:04:36:29 +0000] "GET /ping HTTP/1.1" 200 2 "-" "-" 1 - - 0ms"#)
            .unwrap();
        assert_eq!(
            (r.status, r.duration_us, r.route.as_deref(), r.upstream_addr.as_deref()),
            (Some(200), Some(0), None, None)
        );
        // a plain combined line is not Traefik's
        assert!(parse(br#"::1 - - [29/Nov/2018:15:03:51 +0000] "GET / HTTP/1.1" 404 19 "-" "curl/7.62.0""#).is_none());
    }

    #[test]
    fn nanoseconds_and_origin() {
        let line = br#"{"ClientAddr":"192.168.1.10:54321","ClientHost":"192.168.1.10","DownstreamContentSize":19,"DownstreamStatus":200,"Duration":2520842,"OriginDuration":2396658,"OriginStatus":200,"RequestHost":"whoami.localhost","RequestMethod":"GET","RequestPath":"/","RequestProtocol":"HTTP/1.1","RouterName":"whoami@docker","ServiceName":"whoami@docker","ServiceURL":{"Scheme":"http","Host":"172.18.0.3:80"},"StartUTC":"2024-05-01T12:00:00.123456789Z","request_X-Request-Id":"abc","level":"info","msg":""}"#;
        let r = parse(line).unwrap();
        assert_eq!(r.time.unwrap().unix_us, 1_714_564_800_123_456);
        assert_eq!(r.duration_us, Some(2_521));
        assert_eq!(r.upstream_us, Some(2_397));
        assert_eq!(r.upstream_status.as_slice(), &[200]);
        assert_eq!(r.upstream_addr.as_deref(), Some("172.18.0.3:80"));
        assert_eq!(r.route.as_deref(), Some("whoami"));
        assert_eq!(r.request_id.as_deref(), Some("abc"));
        let local = br#"{"DownstreamStatus":502,"OriginStatus":0,"Duration":1000,"OriginDuration":0}"#;
        let r = parse(local).unwrap();
        assert_eq!(r.status, Some(502));
        assert!(r.upstream_status.is_empty());
        assert_eq!(r.upstream_us, None);
        assert!(parse(br#"{"level":"info","msg":"Configuration loaded"}"#).is_none());
    }
}
