//! A synthetic request: the ground truth the log generator writes in every format, and that
//! round-trip tests compare parsed records against.

use crate::record::LogTime;

/// One request as it really happened, before any format writes it down.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthRequest {
    /// When the gateway logged the request (its end).
    pub time: LogTime,
    /// Client IP (v4 or v6).
    pub client: String,
    /// HTTP method.
    pub method: &'static str,
    /// Path and query.
    pub path: String,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub protocol: &'static str,
    /// Host header.
    pub host: String,
    /// Status the gateway sent.
    pub status: u16,
    /// Status of each upstream attempt; empty when the gateway answered without an upstream.
    pub upstream_status: Vec<u16>,
    /// Address of each upstream attempt (same length as `upstream_status`).
    pub upstream_addr: Vec<String>,
    /// Time of each upstream attempt in microseconds (same length as `upstream_status`).
    pub upstream_us: Vec<u64>,
    /// When each upstream attempt connected and got its response headers (same length as `upstream_status`),
    /// when the gateway logs those times; `None` when its log format has no place for them.
    pub upstream_phases: Option<Vec<AttemptPhases>>,
    /// Total time at the gateway in microseconds.
    pub duration_us: u64,
    /// Response body bytes.
    pub bytes_sent: u64,
    /// Request bytes.
    pub bytes_received: u64,
    /// User-Agent.
    pub user_agent: String,
    /// Referer, if any.
    pub referer: Option<String>,
    /// Request id: 32 lowercase hex digits (nginx `$request_id` style) or a UUID.
    pub request_id: String,
    /// W3C trace id (32 hex), if the request carried a traceparent.
    pub trace_id: Option<String>,
    /// Proxy flags in Envoy's vocabulary (`UF`, `UT`, `UH`, `NR`, `URX`, `RL`, `DC`), if any.
    pub flags: Option<String>,
    /// Authenticated consumer, if any.
    pub consumer: Option<String>,
    /// The upstream service (cluster / backend) name.
    pub route: String,
    /// Retry-After seconds on a 429, if the gateway set one.
    pub retry_after_s: Option<u32>,
    /// The upstream's log message for this request.
    pub message: String,
}

/// How far into an upstream attempt its milestones came, in microseconds from the start of its connect (the
/// clock nginx's `$upstream_connect_time`, `$upstream_header_time` and `$upstream_response_time` share).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptPhases {
    /// The connection was up (`None`: it never was).
    pub connected_us: Option<u64>,
    /// The response headers were in (`None`: they never came).
    pub headers_us: Option<u64>,
}

impl SynthRequest {
    /// The status the last upstream attempt returned, if any.
    pub fn last_upstream_status(&self) -> Option<u16> {
        self.upstream_status.last().copied()
    }

    /// Total upstream time over all attempts.
    pub fn upstream_total_us(&self) -> Option<u64> {
        (!self.upstream_us.is_empty()).then(|| self.upstream_us.iter().sum())
    }

    /// A fixed, fully-populated example (for unit tests of writers).
    pub fn example() -> SynthRequest {
        SynthRequest {
            time: LogTime { unix_us: 1_714_564_800_123_000, offset_s: 0 },
            client: "203.0.113.7".into(),
            method: "POST",
            path: "/v1/orders/123?expand=items".into(),
            protocol: "HTTP/1.1",
            host: "api.example.com".into(),
            status: 502,
            upstream_status: vec![502],
            upstream_addr: vec!["10.0.0.7:8080".into()],
            upstream_us: vec![1_000],
            upstream_phases: None,
            duration_us: 2_000,
            bytes_sent: 157,
            bytes_received: 412,
            user_agent: "curl/8.5.0".into(),
            referer: None,
            request_id: "0af7651916cd43dd8448eb211c80319c".into(),
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
            flags: Some("UF".into()),
            consumer: Some("mobile-app".into()),
            route: "orders".into(),
            retry_after_s: None,
            message: "connection refused".into(),
        }
    }
}

/// Writes one request as a line of some format.
pub type LineWriter = fn(&SynthRequest, &mut Vec<u8>);
