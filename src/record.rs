//! The normalized record every format parser produces.

use std::borrow::Cow;

/// Which side of the gateway a source sits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The API gateway / reverse proxy access log.
    Gateway,
    /// A service behind the gateway (application logs).
    Upstream,
}

impl Role {
    /// Lower-case name used in output.
    pub fn name(self) -> &'static str {
        match self {
            Role::Gateway => "gateway",
            Role::Upstream => "upstream",
        }
    }
}

/// A point in time as logged: UTC microseconds plus the zone offset it was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogTime {
    /// Microseconds since the Unix epoch, UTC.
    pub unix_us: i64,
    /// The offset from UTC, in seconds, that the log line used (kept for display).
    pub offset_s: i32,
}

impl LogTime {
    /// A UTC time from microseconds since the epoch.
    pub fn from_unix_us(unix_us: i64) -> Self {
        LogTime { unix_us, offset_s: 0 }
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2024-05-01T12:00:00.123Z`.
    pub fn to_rfc3339_utc(self) -> String {
        match jiff::Timestamp::from_microsecond(self.unix_us) {
            Ok(ts) => format!("{ts:.3}"),
            Err(_) => String::from("-"),
        }
    }

    /// RFC 3339 in the zone the line was written in.
    pub fn to_rfc3339_local(self) -> String {
        let (Ok(ts), Ok(off)) =
            (jiff::Timestamp::from_microsecond(self.unix_us), jiff::tz::Offset::from_seconds(self.offset_s))
        else {
            return String::from("-");
        };
        ts.display_with_offset(off).to_string()
    }
}

/// Log severity, normalized across loggers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Trace.
    Trace,
    /// Debug.
    Debug,
    /// Info.
    Info,
    /// Warning.
    Warn,
    /// Error.
    Error,
    /// Fatal, critical, panic.
    Fatal,
}

impl Level {
    /// Parse a textual level (`INFO`, `warning`, `err`, `E`, …) or a pino/bunyan number.
    pub fn parse(s: &str) -> Option<Level> {
        let s = s.trim();
        if let Ok(n) = s.parse::<i64>() {
            // pino/bunyan levels run 10–60; bigger numbers are something else (an epoch under `at`)
            return (0..=100).contains(&n).then(|| Self::from_number(n));
        }
        let lower = s.to_ascii_lowercase();
        Some(match lower.as_str() {
            "trace" | "trc" | "t" | "verbose" | "vrb" => Level::Trace,
            "debug" | "dbg" | "d" => Level::Debug,
            "info" | "inf" | "i" | "information" | "notice" => Level::Info,
            "warn" | "warning" | "wrn" | "w" => Level::Warn,
            "error" | "err" | "eror" | "e" => Level::Error,
            "fatal" | "crit" | "critical" | "alert" | "emerg" | "panic" | "dpanic" | "ftl" => Level::Fatal,
            _ => return None,
        })
    }

    /// pino/bunyan numeric levels: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
    pub fn from_number(n: i64) -> Level {
        match n {
            ..=10 => Level::Trace,
            11..=20 => Level::Debug,
            21..=30 => Level::Info,
            31..=40 => Level::Warn,
            41..=50 => Level::Error,
            _ => Level::Fatal,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

/// Upstream statuses of one request, in attempt order (`502, 200` when the gateway retried).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusList {
    codes: [u16; 4],
    len: u8,
    /// Attempts beyond the four kept.
    dropped: u8,
}

impl StatusList {
    /// An empty list.
    pub const fn new() -> Self {
        StatusList { codes: [0; 4], len: 0, dropped: 0 }
    }

    /// A list holding one status.
    pub fn one(code: u16) -> Self {
        let mut l = Self::new();
        l.push(code);
        l
    }

    /// Append an attempt's status; past four, only the last is kept up to date.
    pub fn push(&mut self, code: u16) {
        if (self.len as usize) < self.codes.len() {
            self.codes[self.len as usize] = code;
            self.len += 1;
        } else {
            self.codes[3] = code;
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// Parse a list such as `502, 200`, `504 : 200` or `-`; non-numeric entries are skipped.
    pub fn parse(s: &[u8]) -> Self {
        if s.len() == 3 {
            // one status, the common case (a 3-byte list with a separator holds no 3-digit status)
            return crate::format::num::parse_status(s).map_or(Self::new(), Self::one);
        }
        let mut l = Self::new();
        for part in s.split(|&b| b == b',' || b == b':') {
            if let Some(c) = crate::format::num::parse_status(crate::format::num::trim(part)) {
                l.push(c);
            }
        }
        l
    }

    /// The statuses kept, first attempt first.
    pub fn as_slice(&self) -> &[u16] {
        &self.codes[..self.len as usize]
    }

    /// The status of the last attempt: the one the gateway passed on.
    pub fn last(&self) -> Option<u16> {
        self.as_slice().last().copied()
    }

    /// True when no upstream status was logged.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many upstream attempts were logged.
    pub fn attempts(&self) -> usize {
        self.len as usize + self.dropped as usize
    }
}

impl std::fmt::Debug for StatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// One log line, parsed. Text fields borrow from the line where they can.
///
/// Placeholders (`-`, empty, `null`) are `None`. Durations are microseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record<'a> {
    /// When the request was logged (or started, for formats that log the start).
    pub time: Option<LogTime>,
    /// HTTP method.
    pub method: Option<Cow<'a, str>>,
    /// Request target as logged: path plus query.
    pub path: Option<Cow<'a, str>>,
    /// HTTP protocol, e.g. `HTTP/1.1`.
    pub protocol: Option<Cow<'a, str>>,
    /// Host / authority the request was for.
    pub host: Option<Cow<'a, str>>,
    /// Status sent to the client (gateway) or returned (upstream).
    pub status: Option<u16>,
    /// Statuses the upstream(s) returned to the gateway, one per attempt.
    pub upstream_status: StatusList,
    /// Total time this source spent on the request, in microseconds.
    pub duration_us: Option<u64>,
    /// Time spent waiting on upstreams (summed over attempts), in microseconds.
    pub upstream_us: Option<u64>,
    /// Time spent connecting to upstreams (summed over attempts), in microseconds: nginx's
    /// `$upstream_connect_time` (TLS handshake included), HAProxy's `Tc`.
    pub upstream_connect_us: Option<u64>,
    /// Time until the upstream's response headers came (summed over attempts), in microseconds, counted from the
    /// start of each attempt's connect, so it includes [`Self::upstream_connect_us`]: nginx's
    /// `$upstream_header_time`, HAProxy's `Tc + Tr`. nginx's reference only says "time spent on receiving the
    /// response header"; its logging guide ("between establishing a connection and receiving the first byte of
    /// the response header") and its source (`ngx_http_upstream.c` starts the clock of all three upstream times
    /// before connecting) settle where it counts from.
    pub upstream_header_us: Option<u64>,
    /// Upstream address(es) as logged, e.g. `10.0.0.1:80, 10.0.0.2:80`.
    pub upstream_addr: Option<Cow<'a, str>>,
    /// Client address.
    pub client: Option<Cow<'a, str>>,
    /// Response body bytes sent.
    pub bytes_sent: Option<u64>,
    /// Request body bytes received.
    pub bytes_received: Option<u64>,
    /// User-Agent header.
    pub user_agent: Option<Cow<'a, str>>,
    /// Referer header.
    pub referer: Option<Cow<'a, str>>,
    /// Request id (X-Request-ID, `$request_id`, AWS `requestId`, …).
    pub request_id: Option<Cow<'a, str>>,
    /// W3C trace id (32 hex) or other trace id.
    pub trace_id: Option<Cow<'a, str>>,
    /// Severity (application logs).
    pub level: Option<Level>,
    /// Message (application logs) or error text.
    pub message: Option<Cow<'a, str>>,
    /// Proxy flags: Envoy response flags (`UF`, `UH`, …), HAProxy termination state (`SC--`).
    pub flags: Option<Cow<'a, str>>,
    /// Authenticated consumer / API key / user, where the gateway logs one.
    pub consumer: Option<Cow<'a, str>>,
    /// Route or backend name the gateway chose (ingress upstream name, HAProxy backend, Envoy route).
    pub route: Option<Cow<'a, str>>,
    /// The request line as logged when it is no HTTP request (a TLS handshake or binary on an HTTP port, an
    /// invalid method, an empty request): kept, marked invalid, instead of a method and path.
    pub bad_request: Option<Cow<'a, str>>,
    /// The machine, pod or container the line came from, as its envelope names it (a syslog header's host, a
    /// shipper's `kubernetes.pod_name` or `host.name`).
    pub node: Option<Cow<'a, str>>,
}

fn own(c: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    c.map(|c| Cow::Owned(c.into_owned()))
}

impl Record<'_> {
    /// Detach the record from the line it was parsed from.
    pub fn into_owned(self) -> Record<'static> {
        Record {
            time: self.time,
            method: own(self.method),
            path: own(self.path),
            protocol: own(self.protocol),
            host: own(self.host),
            status: self.status,
            upstream_status: self.upstream_status,
            duration_us: self.duration_us,
            upstream_us: self.upstream_us,
            upstream_connect_us: self.upstream_connect_us,
            upstream_header_us: self.upstream_header_us,
            upstream_addr: own(self.upstream_addr),
            client: own(self.client),
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            user_agent: own(self.user_agent),
            referer: own(self.referer),
            request_id: own(self.request_id),
            trace_id: own(self.trace_id),
            level: self.level,
            message: own(self.message),
            flags: own(self.flags),
            consumer: own(self.consumer),
            route: own(self.route),
            bad_request: own(self.bad_request),
            node: own(self.node),
        }
    }
}

impl Record<'_> {
    /// How many fields were found: used to rank formats during detection.
    pub fn field_count(&self) -> usize {
        let texts = [
            &self.method,
            &self.path,
            &self.protocol,
            &self.host,
            &self.upstream_addr,
            &self.client,
            &self.user_agent,
            &self.referer,
            &self.request_id,
            &self.trace_id,
            &self.message,
            &self.flags,
            &self.consumer,
            &self.route,
        ];
        texts.iter().filter(|t| t.is_some()).count()
            + [
                self.duration_us,
                self.upstream_us,
                self.upstream_connect_us,
                self.upstream_header_us,
                self.bytes_sent,
                self.bytes_received,
            ]
            .iter()
            .filter(|n| n.is_some())
            .count()
            + self.time.is_some() as usize
            + self.status.is_some() as usize
            + !self.upstream_status.is_empty() as usize
            + self.level.is_some() as usize
    }
}
