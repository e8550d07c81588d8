//! What a tally reads from a line: a few numbers and byte slices. Parsers with a fast path produce it
//! straight from the line; any other record is reduced to it.

use crate::record::{Level, LogTime, Record, StatusList};

/// The fields summaries use, borrowed as bytes (no UTF-8 work needed to count them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary<'a> {
    /// When.
    pub time: Option<LogTime>,
    /// Status sent.
    pub status: Option<u16>,
    /// Upstream statuses, one per attempt.
    pub upstream_status: StatusList,
    /// Total time, µs.
    pub duration_us: Option<u64>,
    /// Time in upstreams, µs.
    pub upstream_us: Option<u64>,
    /// Time connecting to upstreams, µs.
    pub upstream_connect_us: Option<u64>,
    /// Time until the upstream's response headers, connect included, µs.
    pub upstream_header_us: Option<u64>,
    /// Request target as logged.
    pub path: Option<&'a [u8]>,
    /// Upstream address(es) as logged.
    pub upstream_addr: Option<&'a [u8]>,
    /// Request id.
    pub request_id: Option<&'a [u8]>,
    /// Trace id.
    pub trace_id: Option<&'a [u8]>,
    /// Severity.
    pub level: Option<Level>,
    /// Client address.
    pub client: Option<&'a [u8]>,
    /// Host / authority (virtual host).
    pub host: Option<&'a [u8]>,
    /// User-Agent.
    pub user_agent: Option<&'a [u8]>,
    /// Consumer / API key name.
    pub consumer: Option<&'a [u8]>,
    /// The request line is no HTTP request (see [`Record::bad_request`]).
    pub bad_request: bool,
}

impl<'a> Summary<'a> {
    /// The summary of a parsed record.
    pub fn of(r: &'a Record<'_>) -> Summary<'a> {
        let b = |t: &'a Option<std::borrow::Cow<'_, str>>| t.as_deref().map(str::as_bytes);
        Summary {
            time: r.time,
            status: r.status,
            upstream_status: r.upstream_status,
            duration_us: r.duration_us,
            upstream_us: r.upstream_us,
            upstream_connect_us: r.upstream_connect_us,
            upstream_header_us: r.upstream_header_us,
            path: b(&r.path),
            upstream_addr: b(&r.upstream_addr),
            request_id: b(&r.request_id),
            trace_id: b(&r.trace_id),
            level: r.level,
            client: b(&r.client),
            host: b(&r.host),
            user_agent: b(&r.user_agent),
            consumer: b(&r.consumer),
            bad_request: r.bad_request.is_some(),
        }
    }
}
