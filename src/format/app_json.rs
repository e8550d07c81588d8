//! Application JSON lines: pino (+ pino-http), bunyan, zap, logrus, structlog, Go slog, Serilog (compact and
//! classic `JsonFormatter`), .NET's `Microsoft.Extensions.Logging` JSON console formatter, ECS.
//!
//! Also home of the key aliases and value rules shared with [`super::logfmt`] and [`super::plain`]
//! (the [`keys`] module), and of the small text writers they share.
//!
//! Every JSON object line is a log line (`Some`, possibly with no field found); anything else is `None`.
//! The object is walked once; nested objects are named by dotted paths (`req.id`, `http.request.method`),
//! so a flat `"a.b"` key and a nested `{"a":{"b":…}}` are the same name, except where loggers put the event's
//! properties (Serilog's classic `Properties`, .NET's `State` object and `Scopes` array of objects, where ASP.NET
//! Core keeps `RequestId` and `TraceId`), whose fields are read as top-level ones in that logger's shape only.
//! For each field the alias listed first in [`keys`] wins; an alias whose value does not convert (a
//! `"status":"ok"`) does not block a later one.

use std::borrow::Cow;
use std::io::Write as _;

use serde_json::{Map, Value};

use super::jsonval;
use super::options::ParseOptions;
use crate::record::Record;
use crate::synth::SynthRequest;

use keys::{Collector, Kind, Scalar};

/// Nested objects deeper than this are not searched.
const MAX_DEPTH: usize = 4;

/// Parse one line.
pub fn parse<'a>(line: &'a [u8], opts: &ParseOptions) -> Option<Record<'a>> {
    let trimmed = line.trim_ascii();
    if trimmed.first() != Some(&b'{') || trimmed.last() != Some(&b'}') {
        return None;
    }
    let obj = match jsonval::object(trimmed) {
        Some(o) => o,
        // serde_json rejects invalid UTF-8 inside strings: read such lines with U+FFFD instead.
        None if std::str::from_utf8(trimmed).is_err() => jsonval::object(String::from_utf8_lossy(trimmed).as_bytes())?,
        None => return None,
    };
    let mut col: Collector<'static> = Collector::new();
    let mut name = String::new();
    walk_top(&obj, &mut name, opts, &mut col);
    let template = col.message_kind() == Some(Kind::Template);
    let mut rec = col.finish();
    if template && let Some(mt) = rec.message.take() {
        rec.message = Some(Cow::Owned(render_template(&mt, &obj)));
    }
    // Serilog compact leaves `@l` out for Information events.
    if rec.level.is_none() && obj.contains_key("@t") {
        rec.level = Some(crate::record::Level::Info);
    }
    Some(rec)
}

/// Where a logger keeps the event's own fields, read as top-level ones. Each only for its logger's shape, so
/// that another log's `State` or `Properties` object stays nested.
#[derive(Clone, Copy, Default)]
struct Nested {
    /// Serilog's classic `JsonFormatter`: `Properties` (it always writes `MessageTemplate`).
    properties: bool,
    /// .NET's JSON console formatter: `State` and the `Scopes` array (it always writes `LogLevel` and `Category`).
    dotnet: bool,
}

impl Nested {
    fn of(obj: &Map<String, Value>) -> Self {
        Nested {
            properties: obj.contains_key("MessageTemplate"),
            dotnet: obj.contains_key("LogLevel") && obj.contains_key("Category"),
        }
    }
}

/// .NET `State` fields named as the request-logging properties they are (`Method` alone says little elsewhere).
const DOTNET_STATE_NAMES: &[(&str, &str)] = &[("Method", "RequestMethod"), ("Path", "RequestPath")];

fn walk(obj: &Map<String, Value>, name: &mut String, depth: usize, opts: &ParseOptions, col: &mut Collector<'static>) {
    walk_named(obj, name, depth, opts, col, &[]);
}

/// The top level: the logger's nested fields first read as top-level ones, then the rest.
fn walk_top(obj: &Map<String, Value>, name: &mut String, opts: &ParseOptions, col: &mut Collector<'static>) {
    let nested = Nested::of(obj);
    for (k, v) in obj {
        match v {
            Value::Object(m) if nested.properties && k == "Properties" => walk(m, name, 1, opts, col),
            Value::Object(m) if nested.dotnet && k == "State" => walk_named(m, name, 1, opts, col, DOTNET_STATE_NAMES),
            Value::Array(scopes) if nested.dotnet && k == "Scopes" => {
                for scope in scopes {
                    if let Value::Object(m) = scope {
                        walk(m, name, 1, opts, col);
                    }
                }
            }
            _ => walk_one(k, v, name, 0, opts, col),
        }
    }
}

/// Walk `obj`'s fields, offering each scalar under its dotted name (`names` renames keys of this level).
fn walk_named(
    obj: &Map<String, Value>,
    name: &mut String,
    depth: usize,
    opts: &ParseOptions,
    col: &mut Collector<'static>,
    names: &[(&str, &str)],
) {
    for (k, v) in obj {
        let k = names.iter().find(|(from, _)| from == k).map_or(k.as_str(), |(_, to)| to);
        walk_one(k, v, name, depth, opts, col);
    }
}

fn walk_one(k: &str, v: &Value, name: &mut String, depth: usize, opts: &ParseOptions, col: &mut Collector<'static>) {
    let len = name.len();
    if !name.is_empty() {
        name.push('.');
    }
    name.push_str(k);
    match v {
        Value::Object(m) if depth + 1 < MAX_DEPTH => walk(m, name, depth + 1, opts, col),
        Value::Object(_) | Value::Array(_) | Value::Null => {}
        _ => {
            col.offer_key(name, opts, || scalar(v));
        }
    }
    name.truncate(len);
}

fn scalar(v: &Value) -> Option<Scalar<'static>> {
    Some(match v {
        Value::String(s) => Scalar::Str(Cow::Owned(s.clone())),
        Value::Number(n) => match n.as_u64() {
            Some(u) => Scalar::Int(u),
            None => Scalar::Float(n.as_f64()?),
        },
        Value::Bool(b) => Scalar::Bool(*b),
        _ => return None,
    })
}

/// Render a Serilog message template (`"HTTP {RequestMethod} {RequestPath} responded {StatusCode}"`) with the
/// event's properties (top-level, or under `Properties`); holes without a property (or with a structured value)
/// are left as written.
fn render_template(mt: &str, obj: &Map<String, Value>) -> String {
    let props = obj.get("Properties").and_then(Value::as_object);
    let b = mt.as_bytes();
    let mut out = String::with_capacity(mt.len() + 32);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' if b.get(i + 1) == Some(&b'{') => {
                out.push('{');
                i += 2;
            }
            b'}' if b.get(i + 1) == Some(&b'}') => {
                out.push('}');
                i += 2;
            }
            b'{' => {
                let Some(close) = mt[i + 1..].find('}') else {
                    out.push_str(&mt[i..]);
                    break;
                };
                let hole = &mt[i + 1..i + 1 + close];
                let name = hole.trim_start_matches(['@', '$']);
                let name = name.split([':', ',']).next().unwrap_or(name);
                match props.and_then(|p| p.get(name)).or_else(|| obj.get(name)) {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(v @ (Value::Number(_) | Value::Bool(_))) => out.push_str(&v.to_string()),
                    _ => out.push_str(&mt[i..i + close + 2]),
                }
                i += close + 2;
            }
            b'}' => {
                out.push('}');
                i += 1;
            }
            _ => {
                let next = mt[i..].find(['{', '}']).map_or(b.len(), |n| i + n);
                out.push_str(&mt[i..next]);
                i = next;
            }
        }
    }
    out
}

/// The upstream's pino-http line for a request (no newline): `level` 50 for 5xx, 40 for 4xx, else 30;
/// `time` in epoch ms, when the upstream finished (the gateway's time minus its own overhead);
/// `res.statusCode` the last attempt's status; `responseTime` the last attempt's time in ms (fractional when
/// not whole); `msg` the request's message (or `request completed`).
pub fn write(r: &SynthRequest, out: &mut Vec<u8>) {
    let status = upstream_status(r);
    let level = match status {
        500.. => 50,
        400..=499 => 40,
        _ => 30,
    };
    let _ =
        write!(out, "{{\"level\":{level},\"time\":{},\"pid\":1,\"hostname\":", upstream_time_us(r).div_euclid(1000));
    write_json_str(out, &r.route);
    out.pop(); // the closing quote: the pod suffix follows
    out.extend_from_slice(b"-7d9f6b\",\"req\":{\"id\":");
    write_json_str(out, &r.request_id);
    let _ = write!(out, ",\"method\":\"{}\",\"url\":", r.method);
    write_json_str(out, &r.path);
    let _ = write!(out, "}},\"res\":{{\"statusCode\":{status}}},\"responseTime\":");
    write_ms(out, upstream_duration_us(r));
    out.extend_from_slice(b",\"msg\":");
    write_json_str(out, message(r));
    if let Some(t) = &r.trace_id {
        out.extend_from_slice(b",\"trace_id\":");
        write_json_str(out, t);
    }
    out.push(b'}');
}

fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Milliseconds from microseconds: `12`, `1.5`, `0.025`.
fn write_ms(out: &mut Vec<u8>, us: u64) {
    let _ = write!(out, "{}", us / 1000);
    let frac = us % 1000;
    if frac != 0 {
        let s = [b'0' + (frac / 100) as u8, b'0' + (frac / 10 % 10) as u8, b'0' + (frac % 10) as u8];
        let n = if s[2] != b'0' {
            3
        } else if s[1] != b'0' {
            2
        } else {
            1
        };
        out.push(b'.');
        out.extend_from_slice(&s[..n]);
    }
}

/// The status the upstream returned (last attempt), or the gateway's when no upstream was tried.
pub(crate) fn upstream_status(r: &SynthRequest) -> u16 {
    r.last_upstream_status().unwrap_or(r.status)
}

/// How long the upstream took on the attempt it logged (the last one).
pub(crate) fn upstream_duration_us(r: &SynthRequest) -> u64 {
    r.upstream_us.last().copied().unwrap_or(0)
}

/// When the upstream logged the request: the gateway's time minus the gateway's own overhead.
pub(crate) fn upstream_time_us(r: &SynthRequest) -> i64 {
    let upstream = r.upstream_total_us().unwrap_or(0);
    r.time.unix_us - r.duration_us.saturating_sub(upstream) as i64
}

/// The upstream's message for the request.
pub(crate) fn message(r: &SynthRequest) -> &str {
    if r.message.is_empty() { "request completed" } else { &r.message }
}

/// The level word writers use for a status: `error` for 5xx, `warn` for 4xx, else `info`.
pub(crate) fn level_word(status: u16) -> &'static str {
    match status {
        500.. => "error",
        400..=499 => "warn",
        _ => "info",
    }
}

/// Key aliases and value rules shared by the JSON, logfmt and plain-text parsers.
pub mod keys {
    use std::borrow::Cow;
    use std::collections::HashMap;
    use std::io::Write as _;
    use std::sync::LazyLock;

    use crate::format::options::ParseOptions;
    use crate::format::time;
    use crate::ids;
    use crate::record::{Level, LogTime, Record};

    /// Time keys: ISO/CLF text or epoch s/ms/µs/ns (numbers or numeric text).
    pub const TIME: &[&str] = &["time", "ts", "timestamp", "@timestamp", "@t", "t", "date", "datetime", "Timestamp"];
    /// Level keys: text (`INFO`, `warning`, `Information`) or pino/bunyan numbers; `at` is Heroku's router.
    pub const LEVEL: &[&str] =
        &["level", "lvl", "severity", "@l", "log.level", "levelname", "loglevel", "Level", "LogLevel", "at"];
    /// Message keys, best first.
    pub const MESSAGE: &[&str] = &["msg", "message", "event", "@m", "RenderedMessage", "Message"];
    /// Serilog message template, rendered with the event's properties when there is no rendered message.
    pub const TEMPLATE: &[&str] = &["@mt", "MessageTemplate"];
    /// Error text, the message of last resort; `desc` is Heroku's router (`code=H12 desc="Request timeout"`).
    pub const ERROR: &[&str] = &["error.message", "err.message", "error", "err", "exception", "Exception", "desc"];
    /// Request id keys (after the user's `id_fields`).
    pub const REQUEST_ID: &[&str] = &[
        "request_id",
        "requestId",
        "req_id",
        "reqId",
        "x-request-id",
        "x_request_id",
        "X-Request-ID",
        "X-Request-Id",
        "RequestId",
        "correlation_id",
        "correlationId",
        "CorrelationId",
        "req.headers.x-request-id",
        "req.id",
        "http.request.id",
        "request.id",
    ];
    /// Trace id keys.
    pub const TRACE_ID: &[&str] = &["trace_id", "traceId", "TraceId", "trace.id", "dd.trace_id", "@tr", "otelTraceID"];
    /// W3C traceparent keys (the trace id is taken out of it).
    pub const TRACEPARENT: &[&str] = &["traceparent", "req.headers.traceparent"];
    /// HTTP status keys.
    pub const STATUS: &[&str] = &[
        "status",
        "statusCode",
        "status_code",
        "StatusCode",
        "res.statusCode",
        "http.response.status_code",
        "http.status_code",
    ];
    /// HTTP method keys.
    pub const METHOD: &[&str] = &["method", "req.method", "http.request.method", "RequestMethod", "http.method"];
    /// Request path keys.
    pub const PATH: &[&str] =
        &["path", "url", "uri", "req.url", "url.path", "url.original", "RequestPath", "http.target"];
    /// Client address keys.
    pub const CLIENT: &[&str] = &[
        "remote_addr",
        "ip",
        "client_ip",
        "clientIp",
        "remote_ip",
        "remoteAddress",
        "req.remoteAddress",
        "client.ip",
        "client.address",
        "source.ip",
    ];
    /// Host keys.
    pub const HOST: &[&str] = &["req.headers.host", "http.host", "url.domain"];
    /// User-Agent keys.
    pub const USER_AGENT: &[&str] =
        &["user_agent", "userAgent", "req.headers.user-agent", "user_agent.original", "http.user_agent"];

    /// Duration keys and the unit of a bare number under each, best first. A text value with a unit
    /// (`12.3ms`, `850µs`, `1m2s`) is read with its own unit whatever the key.
    pub const DURATION: &[(&str, Unit)] = &[
        ("duration_ms", Unit::Ms),
        ("responseTime", Unit::Ms),
        ("response_time_ms", Unit::Ms),
        ("elapsed_ms", Unit::Ms),
        ("latency_ms", Unit::Ms),
        ("took_ms", Unit::Ms),
        ("Elapsed", Unit::Ms),
        ("ElapsedMilliseconds", Unit::Ms),
        ("duration_us", Unit::Us),
        ("duration_ns", Unit::Ns),
        ("event.duration", Unit::Ns),
        ("duration_s", Unit::S),
        ("duration_seconds", Unit::S),
        ("duration", Unit::Auto),
        ("latency", Unit::Auto),
        ("elapsed", Unit::Auto),
        ("took", Unit::Auto),
        ("response_time", Unit::Auto),
        // Heroku's router: `connect=1ms service=18ms`, the time the dyno took to answer
        ("service", Unit::Written),
    ];

    /// Unit of a bare duration number.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Unit {
        /// Nanoseconds.
        Ns,
        /// Microseconds.
        Us,
        /// Milliseconds.
        Ms,
        /// Seconds.
        S,
        /// No unit in the key: see [`duration_auto_us`].
        Auto,
        /// Only text with its unit written (`18ms`): the key names other things too (`"service": "orders"`).
        Written,
    }

    /// What a key holds.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Kind {
        /// The time.
        Time,
        /// The level.
        Level,
        /// The message.
        Message,
        /// A message template (Serilog's `@mt`).
        Template,
        /// An error.
        Error,
        /// The request id.
        RequestId,
        /// The trace id.
        TraceId,
        /// A W3C `traceparent`.
        Traceparent,
        /// The HTTP status.
        Status,
        /// The HTTP method.
        Method,
        /// The request target.
        Path,
        /// The client address.
        Client,
        /// The host.
        Host,
        /// The user agent.
        UserAgent,
        /// A duration, in this unit.
        Duration(Unit),
    }

    #[derive(Clone, Copy)]
    enum Slot {
        Time,
        Level,
        Message,
        RequestId,
        TraceId,
        Status,
        Method,
        Path,
        Client,
        Host,
        UserAgent,
        Duration,
    }
    const SLOTS: usize = 12;

    impl Kind {
        fn slot(self) -> Slot {
            match self {
                Kind::Time => Slot::Time,
                Kind::Level => Slot::Level,
                Kind::Message | Kind::Template | Kind::Error => Slot::Message,
                Kind::RequestId => Slot::RequestId,
                Kind::TraceId | Kind::Traceparent => Slot::TraceId,
                Kind::Status => Slot::Status,
                Kind::Method => Slot::Method,
                Kind::Path => Slot::Path,
                Kind::Client => Slot::Client,
                Kind::Host => Slot::Host,
                Kind::UserAgent => Slot::UserAgent,
                Kind::Duration(_) => Slot::Duration,
            }
        }
    }

    /// Priority of the user's `id_fields` (their index) sits below every built-in alias.
    const BUILTIN_PRIO: u16 = 1024;

    static TABLE: LazyLock<HashMap<&'static str, (Kind, u16)>> = LazyLock::new(|| {
        let mut m = HashMap::new();
        let mut add = |keys: &[&'static str], kind: Kind, base: u16| {
            for (i, k) in keys.iter().enumerate() {
                m.entry(*k).or_insert((kind, BUILTIN_PRIO + base + i as u16));
            }
        };
        add(TIME, Kind::Time, 0);
        add(LEVEL, Kind::Level, 0);
        add(MESSAGE, Kind::Message, 0);
        add(TEMPLATE, Kind::Template, 100);
        add(ERROR, Kind::Error, 200);
        add(REQUEST_ID, Kind::RequestId, 0);
        add(TRACE_ID, Kind::TraceId, 0);
        add(TRACEPARENT, Kind::Traceparent, 100);
        add(STATUS, Kind::Status, 0);
        add(METHOD, Kind::Method, 0);
        add(PATH, Kind::Path, 0);
        add(CLIENT, Kind::Client, 0);
        add(HOST, Kind::Host, 0);
        add(USER_AGENT, Kind::UserAgent, 0);
        for (i, (k, unit)) in DURATION.iter().enumerate() {
            m.entry(*k).or_insert((Kind::Duration(*unit), BUILTIN_PRIO + i as u16));
        }
        m
    });

    /// What a key holds and its priority (lower wins), the user's `id_fields` first.
    pub fn classify(key: &str, opts: &ParseOptions) -> Option<(Kind, u16)> {
        if let Some(i) = opts.id_fields.iter().position(|f| f == key) {
            return Some((Kind::RequestId, i as u16));
        }
        TABLE.get(key).copied()
    }

    /// A value as logged.
    #[derive(Clone, Debug)]
    pub enum Scalar<'s> {
        /// Text.
        Str(Cow<'s, str>),
        /// A whole number.
        Int(u64),
        /// Any other number.
        Float(f64),
        /// `true` or `false`.
        Bool(bool),
    }

    #[derive(Clone, Debug)]
    enum Got<'a> {
        Time(LogTime),
        Level(Level),
        Text(Cow<'a, str>),
        Status(u16),
        Dur(u64),
    }

    /// Text, or `None` for a placeholder (`-`, `""`, `null`, `None`, `nil`) or blank.
    pub fn text_of<'s>(s: Cow<'s, str>) -> Option<Cow<'s, str>> {
        let t = s.trim();
        if crate::format::num::is_placeholder(t.as_bytes()) {
            return None;
        }
        if t.len() == s.len() {
            return Some(s);
        }
        Some(match s {
            Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
            Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
        })
    }

    fn convert<'s>(kind: Kind, v: Scalar<'s>) -> Option<Got<'s>> {
        Some(match kind {
            Kind::Time => Got::Time(match v {
                Scalar::Str(s) => match s.trim().parse::<u64>() {
                    Ok(n) => epoch_int(n)?,
                    Err(_) => time::parse_any(s.as_bytes())?,
                },
                Scalar::Int(n) => epoch_int(n)?,
                Scalar::Float(f) => time::from_epoch_guess(f)?,
                Scalar::Bool(_) => return None,
            }),
            Kind::Level => Got::Level(match v {
                // slog writes custom levels as offsets: `WARN+2`, `DEBUG-4` (a word, not a date's year)
                Scalar::Str(s) => Level::parse(&s).or_else(|| {
                    let base = s.split(['+', '-']).next()?;
                    Level::parse(base).filter(|_| base.bytes().all(|b| b.is_ascii_alphabetic()))
                })?,
                // pino/bunyan numbers; an epoch under a level-like key (Heroku's `at`) is not one
                Scalar::Int(n) if n <= 100 => Level::from_number(n as i64),
                _ => return None,
            }),
            Kind::Status => Got::Status(match v {
                Scalar::Str(s) => s.trim().parse::<u16>().ok().filter(|c| (100..=999).contains(c))?,
                Scalar::Int(n) => u16::try_from(n).ok().filter(|c| (100..=999).contains(c))?,
                _ => return None,
            }),
            Kind::Duration(unit) => Got::Dur(duration_us(&v, unit)?),
            Kind::Traceparent => match v {
                Scalar::Str(Cow::Borrowed(s)) => Got::Text(Cow::Borrowed(ids::traceparent_trace_id(s)?)),
                Scalar::Str(Cow::Owned(s)) => Got::Text(Cow::Owned(ids::traceparent_trace_id(&s)?.to_string())),
                _ => return None,
            },
            Kind::TraceId => match v {
                // a full traceparent under a trace id key: keep just the trace id
                Scalar::Str(s) if ids::traceparent_trace_id(&s).is_some() => {
                    return convert(Kind::Traceparent, Scalar::Str(s));
                }
                v => Got::Text(id_text(v)?),
            },
            Kind::RequestId => Got::Text(id_text(v)?),
            Kind::Message | Kind::Template | Kind::Error => match v {
                Scalar::Str(s) => Got::Text(text_of(s)?),
                _ => return None,
            },
            Kind::Method | Kind::Path | Kind::Client | Kind::Host | Kind::UserAgent => match v {
                Scalar::Str(s) => Got::Text(text_of(s)?),
                _ => return None,
            },
        })
    }

    /// An integer epoch, unit guessed from its magnitude as [`time::from_epoch_guess`] does, without going
    /// through `f64` (which cannot hold nanoseconds exactly).
    fn epoch_int(n: u64) -> Option<LogTime> {
        const MS: u64 = 100_000_000_000; // 1e11: seconds below, as from_epoch_guess
        const US: u64 = MS * 1_000;
        const NS: u64 = US * 1_000;
        let us = match n {
            0 => return None,
            1..MS => n * 1_000_000,
            MS..US => n * 1_000,
            US..NS => n,
            NS.. => n / 1_000,
        };
        Some(LogTime::from_unix_us(i64::try_from(us).ok()?))
    }

    fn id_text(v: Scalar<'_>) -> Option<Cow<'_, str>> {
        match v {
            Scalar::Str(s) => text_of(s),
            Scalar::Int(n) => Some(Cow::Owned(n.to_string())),
            Scalar::Float(f) if f.is_finite() => Some(Cow::Owned(f.to_string())),
            _ => None,
        }
    }

    /// A duration in microseconds.
    ///
    /// Text with a unit (`850µs`, `12.3ms`, `1.2s`, `1m2s`, Go's `time.Duration` text) is read with that unit.
    /// A bare number (or numeric text) is read in the key's unit; for keys without one ([`Unit::Auto`]:
    /// `duration`, `latency`, `elapsed`, `took`, `response_time`) see [`duration_auto_us`]; under a key whose
    /// unit must be written ([`Unit::Written`]: `service`) it is not a duration.
    pub fn duration_us(v: &Scalar<'_>, unit: Unit) -> Option<u64> {
        let (int, float) = match v {
            Scalar::Str(s) => {
                let s = s.trim();
                if s.is_empty() {
                    return None;
                }
                if s.ends_with(|c: char| c.is_ascii_alphabetic() || c == 'µ') {
                    return go_duration_us(s).and_then(crate::format::num::plausible_us);
                }
                match s.parse::<u64>() {
                    Ok(n) => (Some(n), n as f64),
                    Err(_) => (None, s.parse::<f64>().ok()?),
                }
            }
            Scalar::Int(n) => (Some(*n), *n as f64),
            Scalar::Float(f) => (None, *f),
            Scalar::Bool(_) => return None,
        };
        if !float.is_finite() || float < 0.0 {
            return None;
        }
        let scale = match unit {
            Unit::Ns => 0.001,
            Unit::Us => 1.0,
            Unit::Ms => 1_000.0,
            Unit::S => 1_000_000.0,
            Unit::Auto => return crate::format::num::plausible_us(duration_auto_us(int, float)),
            Unit::Written => return None,
        };
        crate::format::num::plausible_us((float * scale).round() as u64)
    }

    /// The rule for a bare number under a key with no unit:
    /// - with a fraction (`0.0123`, written as a float): **seconds** — zap's default duration encoder,
    ///   Python `perf_counter()` deltas;
    /// - a whole number ≥ 100 000: **nanoseconds** — a Go `time.Duration` marshalled by slog's JSON handler,
    ///   logrus or zap's nanos encoder (100 000 ms would be a 100 s request);
    /// - a smaller whole number: **milliseconds** — Node loggers (`elapsed`, `duration`).
    pub fn duration_auto_us(int: Option<u64>, float: f64) -> u64 {
        match int {
            None => (float * 1e6).round() as u64,
            Some(n) if n >= 100_000 => (n + 500) / 1000,
            Some(n) => n.saturating_mul(1000),
        }
    }

    /// Go `time.Duration` text: `850µs`, `12.3ms`, `1.2s`, `1m2.5s`, `1h0m0s`, `250ns`, `5us`, `0s`.
    pub fn go_duration_us(s: &str) -> Option<u64> {
        let b = s.trim().as_bytes();
        if b == b"0" {
            return Some(0);
        }
        let mut i = 0;
        let mut total_ns: f64 = 0.0;
        let mut any = false;
        while i < b.len() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            if i == start {
                return None;
            }
            let num: f64 = std::str::from_utf8(&b[start..i]).ok()?.parse().ok()?;
            let u = i;
            while i < b.len() && !(b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            let scale = match &b[u..i] {
                b"ns" => 1.0,
                b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1e3, // us, µs (micro sign), μs (Greek mu)
                b"ms" => 1e6,
                b"s" => 1e9,
                b"m" => 60e9,
                b"h" => 3600e9,
                _ => return None,
            };
            total_ns += num * scale;
            any = true;
        }
        (any && total_ns.is_finite()).then(|| (total_ns / 1000.0).round() as u64)
    }

    /// The best value seen so far for each field.
    pub struct Collector<'a> {
        slots: [Option<(u16, Kind, Got<'a>)>; SLOTS],
    }

    impl Default for Collector<'_> {
        fn default() -> Self {
            Self::new()
        }
    }

    impl<'a> Collector<'a> {
        /// Nothing seen yet.
        pub fn new() -> Self {
            Collector { slots: Default::default() }
        }

        /// Offer a value (made only when it could win) under a key of the given kind and priority.
        pub fn offer<'s: 'a>(&mut self, kind: Kind, prio: u16, value: impl FnOnce() -> Option<Scalar<'s>>) -> bool {
            let slot = &mut self.slots[kind.slot() as usize];
            if slot.as_ref().is_some_and(|(p, _, _)| *p <= prio) {
                return false;
            }
            match value().and_then(|v| convert(kind, v)) {
                Some(got) => {
                    *slot = Some((prio, kind, got));
                    true
                }
                None => false,
            }
        }

        /// Offer a value under a key, if the key is one we know.
        pub fn offer_key<'s: 'a>(
            &mut self,
            key: &str,
            opts: &ParseOptions,
            value: impl FnOnce() -> Option<Scalar<'s>>,
        ) -> bool {
            match classify(key, opts) {
                Some((kind, prio)) => self.offer(kind, prio, value),
                None => false,
            }
        }

        /// True when the field of this kind has a value.
        pub fn has(&self, kind: Kind) -> bool {
            self.slots[kind.slot() as usize].is_some()
        }

        /// The kind of key the message came from.
        pub fn message_kind(&self) -> Option<Kind> {
            self.slots[Slot::Message as usize].as_ref().map(|(_, k, _)| *k)
        }

        /// Fill a record.
        pub fn finish(self) -> Record<'a> {
            let mut rec = Record::default();
            self.finish_into(&mut rec);
            rec
        }

        /// Fill the fields of `rec` this collector has values for.
        pub fn finish_into(self, rec: &mut Record<'a>) {
            for (_, kind, got) in self.slots.into_iter().flatten() {
                match (kind.slot(), got) {
                    (Slot::Time, Got::Time(t)) => rec.time = Some(t),
                    (Slot::Level, Got::Level(l)) => rec.level = Some(l),
                    (Slot::Status, Got::Status(c)) => rec.status = Some(c),
                    (Slot::Duration, Got::Dur(d)) => rec.duration_us = Some(d),
                    (Slot::Message, Got::Text(t)) => rec.message = Some(t),
                    (Slot::RequestId, Got::Text(t)) => rec.request_id = Some(t),
                    (Slot::TraceId, Got::Text(t)) => rec.trace_id = Some(t),
                    (Slot::Method, Got::Text(t)) => rec.method = Some(t),
                    (Slot::Path, Got::Text(t)) => rec.path = Some(t),
                    (Slot::Client, Got::Text(t)) => rec.client = Some(t),
                    (Slot::Host, Got::Text(t)) => rec.host = Some(t),
                    (Slot::UserAgent, Got::Text(t)) => rec.user_agent = Some(t),
                    _ => {}
                }
            }
        }
    }

    /// RFC 3339 in UTC: milliseconds when the time has no finer part, else microseconds
    /// (`2024-05-01T12:00:00.123Z`, `2024-05-01T12:00:00.123456Z`).
    pub fn write_rfc3339(out: &mut Vec<u8>, unix_us: i64) {
        let secs = unix_us.div_euclid(1_000_000);
        let us = unix_us.rem_euclid(1_000_000);
        let (y, mo, d) = crate::format::time::civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}", sod / 3600, sod / 60 % 60, sod % 60);
        if us % 1000 == 0 {
            let _ = write!(out, ".{:03}Z", us / 1000);
        } else {
            let _ = write!(out, ".{us:06}Z");
        }
    }

    /// A duration as Go prints a `time.Duration`: `850µs`, `12.3ms`, `1.5s`, `1m2.5s`.
    pub fn write_go_duration(out: &mut Vec<u8>, us: u64) {
        /// `whole[.part]` with `part` written in `digits` digits, trailing zeros dropped.
        fn frac(out: &mut Vec<u8>, whole: u64, mut part: u64, digits: usize) {
            let _ = write!(out, "{whole}");
            if part != 0 {
                let mut s = [b'0'; 6];
                for i in (0..digits).rev() {
                    s[i] = b'0' + (part % 10) as u8;
                    part /= 10;
                }
                let mut n = digits;
                while s[n - 1] == b'0' {
                    n -= 1;
                }
                out.push(b'.');
                out.extend_from_slice(&s[..n]);
            }
        }
        if us == 0 {
            out.extend_from_slice(b"0s");
        } else if us < 1_000 {
            let _ = write!(out, "{us}µs");
        } else if us < 1_000_000 {
            frac(out, us / 1_000, us % 1_000, 3);
            out.extend_from_slice(b"ms");
        } else {
            let mut secs = us / 1_000_000;
            let h = secs / 3600;
            let m = secs / 60 % 60;
            if h > 0 {
                let _ = write!(out, "{h}h");
            }
            if h > 0 || m > 0 {
                let _ = write!(out, "{m}m");
            }
            secs %= 60;
            frac(out, secs, us % 1_000_000, 6);
            out.push(b's');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::keys::*;
    use super::*;
    use crate::record::Level;

    fn p(line: &str) -> Record<'static> {
        parse(line.as_bytes(), &ParseOptions::default()).expect("parses").into_owned()
    }

    fn us(iso: &str) -> i64 {
        iso.parse::<jiff::Timestamp>().unwrap().as_microsecond()
    }

    #[test]
    fn pino_http() {
        let r = p(
            r#"{"level":30,"time":1714564800123,"pid":7,"hostname":"h","req":{"id":"0af7651916cd43dd8448eb211c80319c","method":"GET","url":"/v1/orders?x=1","remoteAddress":"::1"},"res":{"statusCode":200},"responseTime":12,"msg":"request completed"}"#,
        );
        assert_eq!(r.time.unwrap().unix_us, 1_714_564_800_123_000);
        assert_eq!(r.level, Some(Level::Info));
        assert_eq!(r.request_id.as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
        assert_eq!(r.method.as_deref(), Some("GET"));
        assert_eq!(r.path.as_deref(), Some("/v1/orders?x=1"));
        assert_eq!(r.client.as_deref(), Some("::1"));
        assert_eq!(r.status, Some(200));
        assert_eq!(r.duration_us, Some(12_000));
        assert_eq!(r.message.as_deref(), Some("request completed"));
    }

    #[test]
    fn zap_durations() {
        let r = p(
            r#"{"level":"error","ts":1714564800.5,"caller":"api/h.go:12","msg":"upstream failed","latency":"12.3ms","request_id":42}"#,
        );
        assert_eq!(r.time.unwrap().unix_us, us("2024-05-01T12:00:00.5Z"));
        assert_eq!(r.level, Some(Level::Error));
        assert_eq!(r.duration_us, Some(12_300));
        assert_eq!(r.request_id.as_deref(), Some("42"));
        assert_eq!(p(r#"{"latency":0.0123}"#).duration_us, Some(12_300));
        assert_eq!(p(r#"{"latency":12300000}"#).duration_us, Some(12_300));
        assert_eq!(p(r#"{"elapsed":12}"#).duration_us, Some(12_000));
        assert_eq!(p(r#"{"duration":"1m2s"}"#).duration_us, Some(62_000_000));
        assert_eq!(p(r#"{"duration":"850µs","duration_ms":"3"}"#).duration_us, Some(3_000));
    }

    #[test]
    fn serilog_compact() {
        let r = p(
            r#"{"@t":"2024-05-01T12:00:00.1234567Z","@mt":"HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms","RequestMethod":"GET","RequestPath":"/v1/x","StatusCode":503,"Elapsed":12.5,"RequestId":"0HMVD:00000001","@tr":"4bf92f3577b34da6a3ce929d0e0e4736"}"#,
        );
        assert_eq!(r.level, Some(Level::Info));
        assert_eq!(r.time.unwrap().unix_us, us("2024-05-01T12:00:00.123456Z"));
        assert_eq!(r.message.as_deref(), Some("HTTP GET /v1/x responded 503 in 12.5 ms"));
        assert_eq!(r.status, Some(503));
        assert_eq!(r.duration_us, Some(12_500));
        assert_eq!(r.request_id.as_deref(), Some("0HMVD:00000001"));
        assert_eq!(r.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(render_template("a {{b}} {Missing} {@X}", &Map::new()), "a {b} {Missing} {@X}");
    }

    #[test]
    fn nested_event_fields_only_in_their_loggers_shape() {
        // another log's `State` object and capitalised keys are not .NET's
        let r = p(
            r#"{"level":"info","msg":"job finished","State":{"level":"error","msg":"inner","status":503,"Path":"/x"}}"#,
        );
        assert_eq!((r.level, r.message.as_deref(), r.status), (Some(Level::Info), Some("job finished"), None));
        let r = p(r#"{"Path":"/etc/app/config.yaml","Method":"Reload","msg":"x"}"#);
        assert_eq!((r.method.as_deref(), r.path.as_deref()), (None, None));
        let r = p(r#"{"msg":"x","Properties":{"RequestId":"r-1"}}"#);
        assert_eq!(r.request_id.as_deref(), None, "Properties without Serilog's MessageTemplate stay nested");
        // .NET's own shape reads them
        let r = p(
            r#"{"LogLevel":"Information","Category":"c","Message":"m","State":{"Method":"GET","Path":"/v1/a","StatusCode":200}}"#,
        );
        assert_eq!((r.method.as_deref(), r.path.as_deref(), r.status), (Some("GET"), Some("/v1/a"), Some(200)));
    }

    #[test]
    fn levels_are_words_or_small_numbers() {
        assert_eq!(p(r#"{"level":"WARN+2","msg":"x"}"#).level, Some(Level::Warn));
        assert_eq!(p(r#"{"level":50,"msg":"x"}"#).level, Some(Level::Error));
        assert_eq!(p(r#"{"level":"60","msg":"x"}"#).level, Some(Level::Fatal));
        // `at` is Heroku's level, but other logs put a time there: a time is not a level
        assert_eq!(p(r#"{"at":"error","msg":"x"}"#).level, Some(Level::Error));
        assert_eq!(p(r#"{"at":"2024-05-01T12:00:00Z","msg":"x"}"#).level, None);
        assert_eq!(p(r#"{"at":1714564800000,"msg":"x"}"#).level, None);
        assert_eq!(p(r#"{"at":"1714564800","msg":"x"}"#).level, None);
        let logfmt = super::super::logfmt::parse(b"at=2024-05-01T12:00:00Z msg=x id=3", &ParseOptions::default());
        assert_eq!(logfmt.unwrap().level, None);
    }

    #[test]
    fn serilog_classic() {
        let r = p(
            r#"{"Timestamp":"2024-05-01T12:00:00.1234567+02:00","Level":"Error","MessageTemplate":"Payment {PaymentId} failed","RenderedMessage":"Payment 42 failed","Properties":{"RequestId":"0HMV1234:00000001","PaymentId":42,"TraceId":"4bf92f3577b34da6a3ce929d0e0e4736"}}"#,
        );
        assert_eq!(r.time.unwrap().unix_us, us("2024-05-01T10:00:00.123456Z"));
        assert_eq!(r.level, Some(Level::Error));
        assert_eq!(r.message.as_deref(), Some("Payment 42 failed"));
        assert_eq!(r.request_id.as_deref(), Some("0HMV1234:00000001"));
        assert_eq!(r.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        // properties win over top-level fields of the same name when rendering; the exception is the last resort
        let r = p(r#"{"Level":"Debug","MessageTemplate":"at {Level}","Properties":{"Level":"L3"}}"#);
        assert_eq!((r.level, r.message.as_deref()), (Some(Level::Debug), Some("at L3")));
        assert_eq!(
            p(r#"{"Level":"Fatal","Exception":"System.Exception: boom"}"#).message.as_deref(),
            Some("System.Exception: boom")
        );
    }

    #[test]
    fn user_id_fields_win() {
        let opts = ParseOptions { id_fields: vec!["ctx.txn".into()], ..Default::default() };
        let r = parse(br#"{"request_id":"builtin","ctx":{"txn":"mine"}}"#, &opts).unwrap();
        assert_eq!(r.request_id.as_deref(), Some("mine"));
    }

    #[test]
    fn unconvertible_alias_does_not_block() {
        let r = p(
            r#"{"status":"ok","statusCode":"404","msg":null,"message":"m","trace_id":"","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}"#,
        );
        assert_eq!(r.status, Some(404));
        assert_eq!(r.message.as_deref(), Some("m"));
        assert_eq!(r.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    }

    #[test]
    fn non_objects() {
        let o = ParseOptions::default();
        assert!(parse(b"[1,2]", &o).is_none());
        assert!(parse(b"\"x\"", &o).is_none());
        assert!(parse(br#"{"level":30,"msg":"trunc"#, &o).is_none());
        assert!(parse(b"", &o).is_none());
        assert_eq!(p("{}"), Record::default());
        let r = parse(b"{\"msg\":\"bad \xff byte\"}", &o).unwrap();
        assert_eq!(r.message.as_deref(), Some("bad \u{fffd} byte"));
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_us("850µs"), Some(850));
        assert_eq!(go_duration_us("850μs"), Some(850));
        assert_eq!(go_duration_us("5us"), Some(5));
        assert_eq!(go_duration_us("1500ns"), Some(2));
        assert_eq!(go_duration_us("1.2s"), Some(1_200_000));
        assert_eq!(go_duration_us("1h0m0s"), Some(3_600_000_000));
        assert_eq!(go_duration_us("0"), Some(0));
        assert_eq!(go_duration_us("12 parsecs"), None);
        assert_eq!(go_duration_us("ms"), None);
        for v in [0, 1, 999, 1_000, 12_300, 999_999, 1_000_000, 1_500_000, 62_500_000, 3_723_000_001] {
            let mut out = Vec::new();
            write_go_duration(&mut out, v);
            assert_eq!(
                go_duration_us(std::str::from_utf8(&out).unwrap()),
                Some(v),
                "{}",
                String::from_utf8_lossy(&out)
            );
        }
    }

    #[test]
    fn rfc3339_writer() {
        for s in ["2024-05-01T12:00:00.123Z", "1969-12-31T23:59:59.999999Z", "2000-02-29T00:00:00.000Z"] {
            let mut out = Vec::new();
            write_rfc3339(&mut out, us(s));
            assert_eq!(std::str::from_utf8(&out).unwrap(), s);
        }
    }

    #[test]
    fn writer_round_trip() {
        let r = SynthRequest::example();
        let mut out = Vec::new();
        write(&r, &mut out);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["hostname"], "orders-7d9f6b");
        assert_eq!(v["level"], 50);
        let rec = p(std::str::from_utf8(&out).unwrap());
        assert_eq!(rec.time.unwrap().unix_us, (r.time.unix_us - 1_000) / 1000 * 1000);
        assert_eq!(rec.status, Some(502));
        assert_eq!(rec.duration_us, Some(1_000));
        assert_eq!(rec.request_id.as_deref(), Some(r.request_id.as_str()));
        assert_eq!(rec.trace_id.as_deref(), r.trace_id.as_deref());
        assert_eq!(rec.method.as_deref(), Some("POST"));
        assert_eq!(rec.path.as_deref(), Some(r.path.as_str()));
        assert_eq!(rec.message.as_deref(), Some("connection refused"));
        assert_eq!(rec.level, Some(Level::Error));
    }
}
