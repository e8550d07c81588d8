//! Kong access logs: the JSON object the file-log (and http-log, tcp-log, syslog…) plugins write per request.
//!
//! Required: a `request` object and `response.status`; everything else (latencies, tries, route, service,
//! consumer, headers) is read where present, numbers as numbers, floats or strings, as Kong's versions and
//! plugins write them (0.x logs an `api` where later ones log a `service` and a `route`).
//! `latencies.request` is the total (ms), `latencies.proxy` the upstream's time (ms, `-1` when Kong answered
//! itself), `upstream_status` the upstream attempts (`"502, 200"`; absent when Kong answered itself).

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::format::jsonval;
use crate::format::textscan as scan;
use crate::record::{Record, StatusList};
use crate::synth::SynthRequest;

/// A header from Kong's `headers` object (lower-case keys; repeated headers are arrays).
fn header(obj: &Map<String, Value>, section: &str, name: &str) -> Option<Cow<'static, str>> {
    let headers = obj.get(section)?.get("headers")?.as_object()?;
    let v = headers.get(name).or_else(|| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))?;
    match v {
        Value::Array(a) => a.first().and_then(jsonval::text),
        v => jsonval::text(v),
    }
}

fn jtext(obj: &Map<String, Value>, keys: &[&str]) -> Option<Cow<'static, str>> {
    jsonval::first(obj, keys).and_then(jsonval::text)
}

/// `ip:port` of the last balancer try (`[v6]:port` for IPv6).
fn last_try(obj: &Map<String, Value>) -> Option<Cow<'static, str>> {
    let t = obj.get("tries")?.as_array()?.last()?.as_object()?;
    let ip = t.get("ip").and_then(jsonval::text)?;
    Some(Cow::Owned(match t.get("port").and_then(jsonval::u64_of) {
        Some(p) if ip.contains(':') => format!("[{ip}]:{p}"),
        Some(p) => format!("{ip}:{p}"),
        None => ip.into_owned(),
    }))
}

/// The path (and query) of an absolute URL.
fn url_path(url: &str) -> Option<&str> {
    let after = url.split_once("://").map_or(url, |(_, r)| r);
    after.find('/').map(|i| &after[i..])
}

/// The host of an absolute URL.
fn url_host(url: &str) -> Option<&str> {
    let after = url.split_once("://")?.1;
    let end = after.find(['/', '?']).unwrap_or(after.len());
    Some(&after[..end]).filter(|h| !h.is_empty())
}

/// Parse one Kong log object.
pub fn parse(line: &[u8]) -> Option<Record<'_>> {
    let obj = jsonval::object(line)?;
    let request = obj.get("request")?.as_object()?;
    let status = jsonval::path(&obj, "response.status")?;
    let latencies = obj.get("latencies").and_then(Value::as_object);

    let url = jtext(request, &["url"]);
    let path = jtext(request, &["uri"])
        .or_else(|| url.as_deref().and_then(url_path).map(|p| Cow::Owned(p.to_owned())))
        .or_else(|| jtext(&obj, &["upstream_uri"]));
    let host =
        header(&obj, "request", "host").or_else(|| url.as_deref().and_then(url_host).map(|h| Cow::Owned(h.to_owned())));
    let upstream_status = match obj.get("upstream_status") {
        Some(Value::String(s)) => StatusList::parse(s.as_bytes()),
        Some(v) => jsonval::status_of(v).map(StatusList::one).unwrap_or_default(),
        None => StatusList::new(),
    };
    let ms = |k: &str| latencies.and_then(|l| l.get(k)).and_then(|v| jsonval::duration_us(v, 1000.0));
    let trace_id = header(&obj, "request", "traceparent")
        .and_then(|t| crate::ids::traceparent_trace_id(&t).map(|s| Cow::Owned(s.to_owned())));
    let request_id = header(&obj, "request", "x-request-id")
        .or_else(|| jtext(request, &["id"]))
        .or_else(|| header(&obj, "response", "x-kong-request-id"));
    Some(Record {
        time: jsonval::first(&obj, &["started_at"]).and_then(jsonval::time_of),
        method: jtext(request, &["method"]),
        path,
        protocol: None,
        host,
        status: jsonval::status_of(status),
        upstream_status,
        duration_us: ms("request"),
        upstream_us: if upstream_status.is_empty() && obj.get("source").and_then(Value::as_str) == Some("kong") {
            None
        } else {
            ms("proxy")
        },
        upstream_addr: last_try(&obj),
        client: jtext(&obj, &["client_ip"]),
        bytes_sent: jsonval::path(&obj, "response.size").and_then(jsonval::u64_of),
        bytes_received: request.get("size").and_then(jsonval::u64_of),
        user_agent: header(&obj, "request", "user-agent"),
        referer: header(&obj, "request", "referer"),
        request_id,
        trace_id,
        consumer: jtext(&obj, &["consumer.username", "consumer.custom_id", "consumer.id"]),
        route: jtext(&obj, &["service.name", "route.name", "api.name"]),
        ..Record::default()
    })
}

/// Write `r` as the Kong file-log plugin would (one JSON object).
pub fn write(r: &SynthRequest, out: &mut Vec<u8>) {
    let start_ms = (r.time.unix_us - r.duration_us as i64).div_euclid(1000);
    let dur = scan::ms(r.duration_us);
    let proxy = r.upstream_total_us().map_or(-1, |u| scan::ms(u) as i64);
    let kong = dur as i64 - proxy.max(0);
    let mut req_headers = json!({
        "host": r.host,
        "user-agent": r.user_agent,
        "accept": "*/*",
    });
    if let Some(t) = &r.trace_id {
        req_headers["traceparent"] = Value::String(scan::traceparent(t));
    }
    if let Some(rf) = &r.referer {
        req_headers["referer"] = Value::String(rf.clone());
    }
    let mut resp_headers = json!({
        "content-type": "application/json",
        "content-length": r.bytes_sent.to_string(),
        "x-kong-request-id": r.request_id,
        "via": "1.1 kong/3.8.0",
    });
    if let Some(s) = r.retry_after_s {
        resp_headers["retry-after"] = Value::String(s.to_string());
    }
    if proxy >= 0 {
        resp_headers["x-kong-upstream-latency"] = Value::String(proxy.to_string());
        resp_headers["x-kong-proxy-latency"] = Value::String(kong.to_string());
    }
    let tries: Vec<Value> = r
        .upstream_addr
        .iter()
        .map(|a| {
            let (ip, port) = a.rsplit_once(':').unwrap_or((a.as_str(), "80"));
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            json!({
                "balancer_start": start_ms + 1,
                "balancer_latency": 0,
                "ip": ip,
                "port": port.parse::<u16>().unwrap_or(80),
            })
        })
        .collect();
    let (path_only, query) = r.path.split_once('?').unwrap_or((r.path.as_str(), ""));
    let querystring: Map<String, Value> = query
        .split('&')
        .filter(|q| !q.is_empty())
        .map(|q| {
            let (k, v) = q.split_once('=').unwrap_or((q, ""));
            (k.to_string(), Value::String(v.to_string()))
        })
        .collect();
    let mut v = json!({
        "request": {
            "id": r.request_id,
            "method": r.method,
            "uri": r.path,
            "url": format!("https://{}:8443{}", r.host, r.path),
            "size": r.bytes_received,
            "querystring": querystring,
            "headers": req_headers,
        },
        "response": {
            "status": r.status,
            "size": r.bytes_sent,
            "headers": resp_headers,
        },
        "latencies": { "request": dur, "kong": kong, "proxy": proxy, "receive": 0 },
        "started_at": start_ms,
        "client_ip": r.client,
        "upstream_uri": path_only,
        "service": {
            "name": r.route,
            "host": format!("{}.internal", r.route),
            "port": 8080,
            "protocol": "http",
            "retries": 5,
        },
        "route": { "name": format!("{}-route", r.route), "paths": ["/"] },
        "tries": tries,
        "source": if r.upstream_status.is_empty() { "kong" } else { "upstream" },
        "workspace_name": "default",
    });
    if !r.upstream_status.is_empty() {
        let list: Vec<String> = r.upstream_status.iter().map(u16::to_string).collect();
        v["upstream_status"] = Value::String(list.join(", "));
    }
    if let Some(c) = &r.consumer {
        v["consumer"] = json!({ "username": c, "id": "8a0d5b8e-7f4c-4d31-9a5c-3a7e1c2b9d10" });
    }
    let _ = serde_json::to_writer(&mut *out, &v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_shaped_object() {
        let line = br#"{"response":{"size":9982,"headers":{"x-kong-upstream-latency":"171","x-kong-request-id":"2f6946328ffc4946b8c9120704a4a155"},"status":200},"route":{"name":"example-route"},"tries":[{"balancer_start":1726783877626,"ip":"35.172.162.208","balancer_latency":0,"port":80}],"client_ip":"192.168.65.1","request":{"id":"2f6946328ffc4946b8c9120704a4a155","querystring":{},"size":139,"uri":"/anything","url":"http://localhost:8000/anything","headers":{"host":"localhost:8000","user-agent":"HTTPie/3.2.3"},"method":"GET"},"upstream_status":"200","source":"upstream","started_at":1726783877620,"upstream_uri":"/anything","latencies":{"request":178,"kong":7,"proxy":171,"receive":0},"service":{"name":"example-service"}}"#;
        let r = parse(line).unwrap();
        assert_eq!(r.time.unwrap().unix_us, 1_726_783_877_620_000);
        assert_eq!(r.method.as_deref(), Some("GET"));
        assert_eq!(r.path.as_deref(), Some("/anything"));
        assert_eq!(r.host.as_deref(), Some("localhost:8000"));
        assert_eq!(r.status, Some(200));
        assert_eq!(r.upstream_status.as_slice(), &[200]);
        assert_eq!(r.duration_us, Some(178_000));
        assert_eq!(r.upstream_us, Some(171_000));
        assert_eq!(r.upstream_addr.as_deref(), Some("35.172.162.208:80"));
        assert_eq!(r.client.as_deref(), Some("192.168.65.1"));
        assert_eq!(r.bytes_sent, Some(9982));
        assert_eq!(r.bytes_received, Some(139));
        assert_eq!(r.request_id.as_deref(), Some("2f6946328ffc4946b8c9120704a4a155"));
        assert_eq!(r.route.as_deref(), Some("example-service"));
        assert_eq!(r.user_agent.as_deref(), Some("HTTPie/3.2.3"));
    }

    #[test]
    fn local_reply_and_retries() {
        let local = br#"{"request":{"method":"GET","uri":"/x","headers":{}},"response":{"status":429},"latencies":{"request":1,"kong":1,"proxy":-1},"source":"kong"}"#;
        let r = parse(local).unwrap();
        assert!(r.upstream_status.is_empty());
        assert_eq!(r.upstream_us, None);
        let retried = br#"{"request":{"method":"GET","uri":"/x"},"response":{"status":"200"},"latencies":{"request":"30","proxy":"25"},"upstream_status":"502, 200","tries":[{"ip":"10.0.0.1","port":80},{"ip":"2001:db8::2","port":8080}]}"#;
        let r = parse(retried).unwrap();
        assert_eq!(r.status, Some(200));
        assert_eq!(r.upstream_status.as_slice(), &[502, 200]);
        assert_eq!(r.upstream_addr.as_deref(), Some("[2001:db8::2]:8080"));
        assert_eq!(r.upstream_us, Some(25_000));
        // a partial entry is a request; without a request or a response status it is none
        let partial = parse(br#"{"request":{"method":"GET"},"response":{"status":200}}"#).unwrap();
        assert_eq!((partial.status, partial.duration_us), (Some(200), None));
        assert!(parse(br#"{"request":{"method":"GET"}}"#).is_none());
        assert!(parse(br#"{"response":{"status":200}}"#).is_none());
    }
}
