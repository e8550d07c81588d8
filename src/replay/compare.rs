//! The same request through the gateway and straight to the upstream: where the two outcomes differ, which
//! answers "is it the gateway (stale DNS, a bad pool, limits) or the service?".

use super::send::Outcome;

/// How far apart two times must be to count as a difference: twice as long, and this much longer.
const SLOWER_MS: f64 = 100.0;

/// Where `gateway` and `upstream` differ: `status`, `error`, `body`, `time`.
pub fn differences(gateway: &Outcome, upstream: &Outcome) -> Vec<&'static str> {
    let mut out = Vec::new();
    if gateway.status != upstream.status {
        out.push("status");
    }
    if gateway.error != upstream.error && (gateway.error.is_some() || upstream.error.is_some()) {
        out.push("error");
    }
    if gateway.responded() && upstream.responded() && gateway.body_sha256 != upstream.body_sha256 {
        out.push("body");
    }
    if let (Some(a), Some(b)) = (gateway.latency_ms, upstream.latency_ms) {
        let (fast, slow) = if a < b { (a, b) } else { (b, a) };
        if slow > 2.0 * fast && slow - fast > SLOWER_MS {
            out.push("time");
        }
    }
    out
}

/// The body's digest and size, short: `sha256:1a2b3c4d5e6f 17 B`.
pub fn body_text(o: &Outcome) -> String {
    match &o.body_sha256 {
        Some(d) => format!("sha256:{} {} B", &d[..d.len().min(12)], o.body_bytes),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_status_body_and_time() {
        let gw = Outcome {
            status: Some(502),
            latency_ms: Some(1000.0),
            body_sha256: Some("aa".into()),
            ..Default::default()
        };
        let up =
            Outcome { status: Some(200), latency_ms: Some(5.0), body_sha256: Some("bb".into()), ..Default::default() };
        assert_eq!(differences(&gw, &up), ["status", "body", "time"]);
        assert!(differences(&gw, &gw).is_empty());
        let failed = Outcome { error: Some("connection refused by 10.0.0.7:8443".into()), ..Default::default() };
        assert_eq!(differences(&gw, &failed), ["status", "error"]);
        assert_eq!(body_text(&gw), "sha256:aa 0 B");
    }
}
