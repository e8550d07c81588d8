//! Application-log formats (JSON, logfmt, plain text) against real logger output in `tests/fixtures/app/`.

use std::path::Path;
use std::sync::Arc;

use gatewatch::format::detect::{detect, forced};
use gatewatch::format::{Format, ParseOptions, app_json, logfmt, plain};
use gatewatch::record::{Level, Record};
use gatewatch::synth::SynthRequest;
use proptest::prelude::*;

type ParseFn = for<'a> fn(&'a [u8], &ParseOptions) -> Option<Record<'a>>;
type WriteFn = fn(&SynthRequest, &mut Vec<u8>);

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const HEX_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const UUID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

/// The fields every line is checked on; `None` means the field must be absent.
#[derive(Default, Debug)]
struct Want {
    time: Option<&'static str>,
    level: Option<Level>,
    msg: Option<&'static str>,
    rid: Option<&'static str>,
    tid: Option<&'static str>,
    status: Option<u16>,
    dur: Option<u64>,
    method: Option<&'static str>,
    path: Option<&'static str>,
    client: Option<&'static str>,
}

fn us(iso: &str) -> i64 {
    iso.parse::<jiff::Timestamp>().unwrap().as_microsecond()
}

fn check(rec: &Record<'_>, w: &Want, ctx: &str) {
    assert_eq!(rec.time.map(|t| t.unix_us), w.time.map(us), "{ctx}: time");
    assert_eq!(rec.level, w.level, "{ctx}: level");
    assert_eq!(rec.message.as_deref(), w.msg, "{ctx}: message");
    assert_eq!(rec.request_id.as_deref(), w.rid, "{ctx}: request id");
    assert_eq!(rec.trace_id.as_deref(), w.tid, "{ctx}: trace id");
    assert_eq!(rec.status, w.status, "{ctx}: status");
    assert_eq!(rec.duration_us, w.dur, "{ctx}: duration");
    assert_eq!(rec.method.as_deref(), w.method, "{ctx}: method");
    assert_eq!(rec.path.as_deref(), w.path, "{ctx}: path");
    assert_eq!(rec.client.as_deref(), w.client, "{ctx}: client");
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app").join(name)).unwrap()
}

fn lines(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect()
}

/// Parse every line of a fixture with `f` and check it against `wants`, line by line.
fn run(name: &str, f: ParseFn, wants: &[Want]) {
    let data = fixture(name);
    let ls = lines(&data);
    assert_eq!(ls.len(), wants.len(), "{name}: line count");
    for (i, (l, w)) in ls.iter().zip(wants).enumerate() {
        let ctx = format!("{name}:{}", i + 1);
        let rec = f(l, &ParseOptions::default()).unwrap_or_else(|| panic!("{ctx}: did not parse"));
        check(&rec, w, &ctx);
    }
}

#[test]
fn pino() {
    run(
        "pino.log",
        app_json::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00.123Z"),
                level: Some(Level::Info),
                msg: Some("server listening at http://0.0.0.0:8080"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:01.456Z"),
                level: Some(Level::Error),
                msg: Some("db query failed"),
                rid: Some("req-1f"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:02Z"),
                level: Some(Level::Warn),
                msg: Some("upstream timed out after 3000ms"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:03Z"),
                level: Some(Level::Fatal),
                msg: Some("uncaught exception, exiting"),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn pino_http() {
    run(
        "pino_http.log",
        app_json::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00.123Z"),
                level: Some(Level::Info),
                msg: Some("request completed"),
                rid: Some(HEX_ID),
                status: Some(200),
                dur: Some(12_000),
                method: Some("GET"),
                path: Some("/v1/orders/123"),
                client: Some("::ffff:10.0.0.2"),
                ..Default::default()
            },
            // pino-http's counter id (7) loses to the X-Request-ID header; the trace id comes from traceparent
            Want {
                time: Some("2024-05-01T12:00:01.5Z"),
                level: Some(Level::Error),
                msg: Some("request errored"),
                rid: Some(UUID),
                tid: Some(TRACE),
                status: Some(502),
                dur: Some(1_503_000),
                method: Some("POST"),
                path: Some("/v1/orders"),
                client: Some("::ffff:10.0.0.2"),
            },
            Want {
                time: Some("2024-05-01T12:00:02.25Z"),
                level: Some(Level::Info),
                msg: Some("request completed"),
                rid: Some("8"),
                status: Some(204),
                dur: Some(0),
                method: Some("GET"),
                path: Some("/healthz"),
                client: Some("::1"),
                ..Default::default()
            },
        ],
    );
    let data = fixture("pino_http.log");
    let rec = app_json::parse(lines(&data)[0], &ParseOptions::default()).unwrap();
    assert_eq!(rec.host.as_deref(), Some("api.example.com"));
    assert_eq!(rec.user_agent.as_deref(), Some("curl/8.5.0"));
}

#[test]
fn bunyan() {
    let rid = Some("5a8d1e2c-9b3f-4c6d-8e7f-0a1b2c3d4e5f");
    run(
        "bunyan.log",
        app_json::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00.123Z"),
                level: Some(Level::Info),
                msg: Some("loaded order 123"),
                rid,
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:01Z"),
                level: Some(Level::Error),
                msg: Some("boom"),
                rid,
                ..Default::default()
            },
            // restify's audit logger: `latency` is whole milliseconds
            Want {
                time: Some("2024-05-01T12:00:02.5Z"),
                level: Some(Level::Info),
                msg: Some("handled: 200"),
                rid,
                status: Some(200),
                dur: Some(2_000),
                method: Some("GET"),
                path: Some("/v1/orders/123"),
                client: Some("10.0.0.2"),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn zap() {
    run(
        "zap.log",
        app_json::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00.123456Z"),
                level: Some(Level::Info),
                msg: Some("request served"),
                rid: Some(HEX_ID),
                status: Some(200),
                dur: Some(12_345),
                method: Some("GET"),
                path: Some("/v1/orders"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:01.5Z"),
                level: Some(Level::Error),
                msg: Some("upstream call failed"),
                rid: Some(HEX_ID),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:02.25Z"),
                level: Some(Level::Warn),
                msg: Some("slow request"),
                tid: Some(TRACE),
                status: Some(504),
                dur: Some(1_200_000),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:03Z"),
                level: Some(Level::Fatal),
                msg: Some("invariant broken"),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn logrus_json() {
    run(
        "logrus_json.log",
        app_json::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00Z"),
                level: Some(Level::Info),
                msg: Some("request handled"),
                rid: Some("abc123"),
                status: Some(200),
                dur: Some(15_200),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:01Z"),
                level: Some(Level::Error),
                msg: Some("payment gateway timeout"),
                rid: Some("pay-77"),
                ..Default::default()
            },
            // a Go time.Duration marshalled as integer nanoseconds; Go's time.String() format
            Want {
                time: Some("2024-05-01T12:00:02.562264Z"),
                level: Some(Level::Warn),
                msg: Some("retrying"),
                dur: Some(1_500_000),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn structlog() {
    run(
        "structlog.log",
        app_json::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00.123456Z"),
                level: Some(Level::Error),
                msg: Some("request failed"),
                rid: Some("9f2c4e1a-7b3d-4e5f-8a9b-0c1d2e3f4a5b"),
                status: Some(500),
                path: Some("/v1/checkout"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:01.5Z"),
                level: Some(Level::Info),
                msg: Some("cache warmed"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:02Z"),
                level: Some(Level::Warn),
                msg: Some("slow query"),
                dur: Some(812_500),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn slog() {
    run(
        "slog.log",
        app_json::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00.123456Z"),
                level: Some(Level::Info),
                msg: Some("request"),
                rid: Some(HEX_ID),
                status: Some(200),
                dur: Some(850),
                method: Some("GET"),
                path: Some("/healthz"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:01.5Z"),
                level: Some(Level::Error),
                msg: Some("handler panic"),
                rid: Some("r-42"),
                method: Some("POST"),
                path: Some("/v1/orders"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:02Z"),
                level: Some(Level::Warn),
                msg: Some("queue backlog"),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn serilog_compact() {
    run(
        "serilog.log",
        app_json::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00.123456Z"),
                level: Some(Level::Info),
                msg: Some("HTTP GET /v1/orders responded 200 in 12.3456 ms"),
                rid: Some("0HN1GJ8L4R1V7:00000001"),
                tid: Some(TRACE),
                status: Some(200),
                dur: Some(12_346),
                method: Some("GET"),
                path: Some("/v1/orders"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:01Z"),
                level: Some(Level::Error),
                msg: Some("Failed to reach inventory"),
                rid: Some("0HN1GJ8L4R1V7:00000002"),
                tid: Some(TRACE),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:02.5Z"),
                level: Some(Level::Warn),
                msg: Some("Cache miss for 42"),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn dotnet_json_console_formatter() {
    run(
        "dotnet_json.log",
        app_json::parse,
        &[
            // ASP.NET Core's request-finished event: status and time in State, ids in Scopes
            Want {
                time: Some("2024-05-01T12:00:00Z"),
                level: Some(Level::Info),
                msg: Some(
                    "Request finished HTTP/1.1 GET http://localhost:5000/v1/orders/42 - 200 - application/json;+charset=utf-8 12.3456ms",
                ),
                rid: Some("0HN1GJ8L4R1V7:00000001"),
                tid: Some(TRACE),
                status: Some(200),
                dur: Some(12_346),
                method: Some("GET"),
                path: Some("/v1/orders/42"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:01.5Z"),
                level: Some(Level::Error),
                msg: Some("Order 42 could not be loaded"),
                rid: Some("0HN1GJ8L4R1V7:00000002"),
                path: Some("/v1/orders/43"),
                ..Default::default()
            },
            // no timestamp unless the app sets TimestampFormat, no scopes unless IncludeScopes
            Want {
                level: Some(Level::Warn),
                msg: Some("Failed to determine the https port for redirect."),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn serilog_json_formatter() {
    run(
        "serilog_json.log",
        app_json::parse,
        &[
            Want {
                time: Some("2024-05-01T10:00:00.123456Z"),
                level: Some(Level::Error),
                msg: Some("Payment 42 failed"),
                rid: Some("0HMV1234:00000001"),
                tid: Some(TRACE),
                ..Default::default()
            },
            // no RenderedMessage: the template is rendered with the properties
            Want {
                time: Some("2024-05-01T12:00:01.5Z"),
                level: Some(Level::Info),
                msg: Some("HTTP GET /v1/orders responded 200 in 12.3456 ms"),
                rid: Some("0HN1GJ8L4R1V7:00000001"),
                tid: Some(TRACE),
                status: Some(200),
                dur: Some(12_346),
                method: Some("GET"),
                path: Some("/v1/orders"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:02.25Z"),
                level: Some(Level::Warn),
                msg: Some("Retrying inventory after 3 attempts"),
                rid: Some(UUID),
                ..Default::default()
            },
            // a structured property stays a hole
            Want {
                time: Some("2024-05-01T12:00:03Z"),
                level: Some(Level::Trace),
                msg: Some("Cache {@Key} probed"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:04Z"),
                level: Some(Level::Fatal),
                msg: Some("Host terminated unexpectedly"),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn ecs() {
    run(
        "ecs.log",
        app_json::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00.123Z"),
                level: Some(Level::Info),
                msg: Some("handled request"),
                rid: Some(HEX_ID),
                tid: Some(TRACE),
                status: Some(200),
                dur: Some(12_346),
                method: Some("GET"),
                path: Some("/v1/orders"),
                client: Some("10.0.0.2"),
            },
            Want {
                time: Some("2024-05-01T12:00:01Z"),
                level: Some(Level::Error),
                msg: Some("oops there is a problem"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:02Z"),
                level: Some(Level::Warn),
                msg: Some("From child"),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn json_nasty_cases() {
    let data = fixture("nasty.log");
    let ls = lines(&data);
    let wants = [
        // unicode escapes (with a surrogate pair), numbers as strings, `null` before a usable alias
        Want {
            time: Some("2024-05-01T12:00:00.123Z"),
            level: Some(Level::Info),
            msg: Some("café 😀"),
            rid: Some("fallback-1"),
            status: Some(503),
            dur: Some(12_500),
            ..Default::default()
        },
        // invalid UTF-8, epoch seconds, a nested id, a µs duration
        Want {
            time: Some("2024-05-01T12:00:00Z"),
            level: Some(Level::Info),
            msg: Some("bad \u{fffd} byte"),
            rid: Some("nested-1"),
            dur: Some(850),
            ..Default::default()
        },
        // epoch µs, a numeric nested id, a Datadog (decimal) trace id
        Want {
            time: Some("2024-05-01T12:00:00.123456Z"),
            level: Some(Level::Debug),
            msg: Some("epoch micros"),
            rid: Some("99"),
            tid: Some("1234567890123456789"),
            ..Default::default()
        },
        // epoch ns, exactly (truncated to µs), traceparent
        Want {
            time: Some("2024-05-01T12:00:00.123456Z"),
            level: Some(Level::Trace),
            msg: Some("epoch nanos"),
            tid: Some(TRACE),
            ..Default::default()
        },
        // null / placeholder values are absent; the first real message alias wins
        Want { msg: Some("nulls everywhere"), ..Default::default() },
    ];
    for (i, w) in wants.iter().enumerate() {
        let rec = app_json::parse(ls[i], &ParseOptions::default()).expect("parses");
        check(&rec, w, &format!("nasty.log:{}", i + 1));
    }
    // truncated JSON and a top-level array are not log lines
    assert!(app_json::parse(ls[5], &ParseOptions::default()).is_none());
    assert!(app_json::parse(ls[6], &ParseOptions::default()).is_none());
    assert_eq!(ls.len(), 7);
}

#[test]
fn logfmt_go_kit() {
    run(
        "logfmt_gokit.log",
        logfmt::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00.123Z"),
                level: Some(Level::Info),
                msg: Some("request served"),
                rid: Some(HEX_ID),
                status: Some(200),
                dur: Some(12_300),
                method: Some("GET"),
                path: Some("/v1/orders"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:01.5Z"),
                level: Some(Level::Error),
                msg: Some("upstream call failed"),
                rid: Some(HEX_ID),
                dur: Some(1_503_000),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:02Z"),
                level: Some(Level::Warn),
                msg: Some("retrying"),
                tid: Some(TRACE),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn logfmt_logrus_text() {
    run(
        "logfmt_logrus.log",
        logfmt::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00Z"),
                level: Some(Level::Info),
                msg: Some("request handled"),
                rid: Some("abc123"),
                status: Some(200),
                dur: Some(15_200),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:01Z"),
                level: Some(Level::Error),
                msg: Some("payment gateway timeout: \"context deadline exceeded\""),
                rid: Some("pay-77"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:02Z"),
                level: Some(Level::Warn),
                msg: Some("café ☕ déjà vu"),
                rid: Some("77"),
                status: Some(499),
                dur: Some(30_001_000),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn logfmt_heroku_router() {
    let (rid, rid2) = ("8601b555-6a83-4c12-8269-97c8533da8e2", "0af76519-16cd-43dd-8448-eb211c80319c");
    let ok = Want {
        level: Some(Level::Info),
        rid: Some(rid),
        status: Some(200),
        dur: Some(18_000),
        method: Some("GET"),
        path: Some("/v1/orders/42"),
        ..Default::default()
    };
    run(
        "logfmt_heroku.log",
        logfmt::parse,
        &[
            Want { time: Some("2024-05-01T12:00:00.123456Z"), ..ok },
            // H12: the router gave up after 30 s of service time
            Want {
                time: Some("2024-05-01T12:00:31.5Z"),
                level: Some(Level::Error),
                msg: Some("Request timeout"),
                rid: Some(rid2),
                status: Some(503),
                dur: Some(30_000_000),
                method: Some("POST"),
                path: Some("/v1/payments"),
                ..Default::default()
            },
            // as a log drain sends it, without the prefix
            Want { time: None, ..ok },
        ],
    );
    // a service name is not a duration, nor a bare number under `service`
    let o = ParseOptions::default();
    assert_eq!(app_json::parse(br#"{"service":"orders","msg":"x"}"#, &o).unwrap().duration_us, None);
    assert_eq!(app_json::parse(br#"{"service":3,"msg":"x"}"#, &o).unwrap().duration_us, None);
}

/// `MM-DDThh:mm:ssZ` in the latest year that does not put it more than a day ahead of now.
fn syslog_year(rest: &str) -> &'static str {
    let now = jiff::Timestamp::now();
    let year = now.to_zoned(jiff::tz::TimeZone::UTC).year();
    let at = |y: i16| format!("{y}-{rest}");
    let this = at(year);
    let ahead = this.parse::<jiff::Timestamp>().unwrap() > now + jiff::SignedDuration::from_hours(24);
    Box::leak(if ahead { at(year - 1) } else { this }.into_boxed_str())
}

#[test]
fn plain_text() {
    run(
        "plain.log",
        plain::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00.123Z"),
                level: Some(Level::Error),
                msg: Some("[http-nio-8080-exec-1] c.e.orders.OrderController - order lookup failed"),
                rid: Some(HEX_ID),
                status: Some(500),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:01.5Z"),
                level: Some(Level::Info),
                msg: Some("request completed in 12ms (req 3fa85f64-5717-4562-b3fc-2c963f66afa6)"),
                rid: Some(UUID),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:02Z"),
                level: Some(Level::Warn),
                msg: Some("connection pool exhausted request_id: \"r-900\""),
                rid: Some("r-900"),
                ..Default::default()
            },
            // Go's log package: time, no level
            Want {
                time: Some("2024-05-01T12:00:03Z"),
                msg: Some("http: TLS handshake error from 10.0.0.5:51234: EOF"),
                ..Default::default()
            },
            // syslog stamp without a year: the latest that is not in the future, as for a syslog envelope
            Want {
                time: Some(syslog_year("05-01T12:00:04Z")),
                level: Some(Level::Error),
                msg: Some("upstream 10.0.0.7:8080 refused connection"),
                ..Default::default()
            },
            // Python logging's default format
            Want {
                level: Some(Level::Info),
                msg: Some("werkzeug:127.0.0.1 - - [01/May/2024 12:00:05] \"GET /healthz HTTP/1.1\" 200 -"),
                ..Default::default()
            },
        ],
    );
}

#[test]
fn nginx_error_log() {
    run(
        "nginx_error.log",
        plain::parse,
        &[
            Want {
                time: Some("2024-05-01T12:00:00Z"),
                level: Some(Level::Error),
                msg: Some("upstream timed out (110: Connection timed out) while reading response header from upstream"),
                rid: Some(HEX_ID),
                method: Some("GET"),
                path: Some("/v1/orders"),
                client: Some("10.0.0.1"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:01Z"),
                level: Some(Level::Error),
                msg: Some("connect() failed (111: Connection refused) while connecting to upstream"),
                method: Some("POST"),
                path: Some("/v1/payments"),
                client: Some("10.0.0.2"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:02Z"),
                level: Some(Level::Warn),
                msg: Some(
                    "an upstream response is buffered to a temporary file \
                     /var/cache/nginx/proxy_temp/1/00/0000000001 while reading upstream",
                ),
                method: Some("GET"),
                path: Some("/v1/export"),
                client: Some("10.0.0.3"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:03Z"),
                level: Some(Level::Info),
                msg: Some("signal process started"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:04Z"),
                level: Some(Level::Fatal),
                msg: Some(
                    "SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) \
                     while SSL handshaking",
                ),
                client: Some("10.0.0.4"),
                ..Default::default()
            },
            Want {
                time: Some("2024-05-01T12:00:05Z"),
                level: Some(Level::Error),
                msg: Some("no live upstreams while connecting to upstream"),
                method: Some("GET"),
                path: Some("/v1/orders"),
                client: Some("10.0.0.1"),
                ..Default::default()
            },
        ],
    );
    let data = fixture("nginx_error.log");
    let ls = lines(&data);
    let o = ParseOptions::default();
    let r = plain::parse(ls[0], &o).unwrap();
    assert_eq!(r.upstream_addr.as_deref(), Some("10.0.0.7:8080"));
    assert_eq!(r.host.as_deref(), Some("api.example.com"));
    assert_eq!(r.protocol.as_deref(), Some("HTTP/1.1"));
    let r = plain::parse(ls[1], &o).unwrap();
    assert_eq!(r.referer.as_deref(), Some("https://shop.example.com/cart"));
    assert_eq!(plain::parse(ls[5], &o).unwrap().upstream_addr.as_deref(), Some("orders_backend"));
}

#[test]
fn formats_reject_each_other() {
    let o = ParseOptions::default();
    for name in [
        "pino.log",
        "zap.log",
        "ecs.log",
        "serilog.log",
        "serilog_json.log",
        "dotnet_json.log",
        "plain.log",
        "nginx_error.log",
    ] {
        for l in lines(&fixture(name)) {
            assert!(logfmt::parse(l, &o).is_none(), "{name}: logfmt took {}", String::from_utf8_lossy(l));
        }
    }
    for name in ["logfmt_gokit.log", "logfmt_logrus.log", "logfmt_heroku.log", "plain.log", "nginx_error.log"] {
        for l in lines(&fixture(name)) {
            assert!(app_json::parse(l, &o).is_none(), "{name}: json took {}", String::from_utf8_lossy(l));
        }
    }
}

#[test]
fn plain_needs_time_level_or_id() {
    let o = ParseOptions::default();
    assert!(plain::parse(b"just a sentence with nothing in it", &o).is_none());
    assert!(plain::parse(b"", &o).is_none());
    assert!(plain::parse(b"user=bob status=200", &o).is_none());
    let r = plain::parse(b"retrying job 3fa85f64-5717-4562-b3fc-2c963f66afa6", &o).unwrap();
    assert_eq!(r.request_id.as_deref(), Some(UUID));
}

#[test]
fn invalid_utf8_and_huge_lines() {
    let o = ParseOptions::default();
    let r = logfmt::parse(b"level=info msg=\"caf\xe9\" request_id=a\xffb", &o).unwrap();
    assert_eq!(r.message.as_deref(), Some("caf\u{fffd}"));
    assert_eq!(r.request_id.as_deref(), Some("a\u{fffd}b"));
    let r = plain::parse(b"2024-05-01T12:00:00Z ERROR \xff\xfe broken request_id=r\xff1", &o).unwrap();
    assert_eq!(r.message.as_deref(), Some("\u{fffd}\u{fffd} broken"));
    assert_eq!(r.request_id.as_deref(), Some("r\u{fffd}1"));

    let big = "x".repeat(1 << 20);
    let line = format!(r#"{{"level":"info","msg":"{big}","request_id":"r1"}}"#);
    let r = app_json::parse(line.as_bytes(), &o).unwrap();
    assert_eq!(r.message.as_deref().map(str::len), Some(1 << 20));
    assert_eq!(r.request_id.as_deref(), Some("r1"));
    let line = format!(r#"level=info msg="{big}" request_id=r1"#);
    let r = logfmt::parse(line.as_bytes(), &o).unwrap();
    assert_eq!(r.message.as_deref().map(str::len), Some(1 << 20));
    assert_eq!(r.request_id.as_deref(), Some("r1"));
    let line = format!("2024-05-01T12:00:00Z WARN {big} request_id=r1");
    let r = plain::parse(line.as_bytes(), &o).unwrap();
    assert_eq!(r.message.as_deref().map(str::len), Some(1 << 20));
    assert_eq!(r.request_id.as_deref(), Some("r1"));
    let line = format!("{{\"msg\":\"{big}");
    assert!(app_json::parse(line.as_bytes(), &o).is_none());
}

#[test]
fn custom_id_fields() {
    let opts =
        ParseOptions { id_fields: vec!["txn".into(), "ctx.order_ref".into()], id_regex: None, ..Default::default() };
    let r = app_json::parse(br#"{"msg":"x","request_id":"builtin","txn":"T-1"}"#, &opts).unwrap();
    assert_eq!(r.request_id.as_deref(), Some("T-1"));
    let r = app_json::parse(br#"{"msg":"x","request_id":"builtin","ctx":{"order_ref":"O-9"}}"#, &opts).unwrap();
    assert_eq!(r.request_id.as_deref(), Some("O-9"));
    let r = app_json::parse(br#"{"msg":"x","ctx.order_ref":12}"#, &opts).unwrap();
    assert_eq!(r.request_id.as_deref(), Some("12"));
    let r = logfmt::parse(b"level=info request_id=builtin txn=T-2", &opts).unwrap();
    assert_eq!(r.request_id.as_deref(), Some("T-2"));
    let r = plain::parse(b"2024-05-01T12:00:00Z INFO paid txn=T-3 request_id=builtin", &opts).unwrap();
    assert_eq!(r.request_id.as_deref(), Some("T-3"));
    // without the option the built-in name is used
    let r = app_json::parse(br#"{"msg":"x","request_id":"builtin","txn":"T-1"}"#, &ParseOptions::default()).unwrap();
    assert_eq!(r.request_id.as_deref(), Some("builtin"));
}

#[test]
fn custom_id_regex() {
    let re = regex::Regex::new(r"txn=(\w+)").unwrap();
    let opts = ParseOptions { id_fields: vec![], id_regex: Some(re), ..Default::default() };
    let line = format!("2024-05-01T12:00:00Z ERROR charge declined txn=T12345 request_id={HEX_ID}");
    let r = plain::parse(line.as_bytes(), &opts).unwrap();
    assert_eq!(r.request_id.as_deref(), Some("T12345"));
    // no capture group: the whole match
    let opts = ParseOptions {
        id_fields: vec![],
        id_regex: Some(regex::Regex::new(r"ORD-\d+").unwrap()),
        ..Default::default()
    };
    let r = plain::parse(b"order ORD-778 failed", &opts).unwrap();
    assert_eq!(r.request_id.as_deref(), Some("ORD-778"));
    // the regex not matching falls back to the usual forms
    let line = format!("WARN slow {UUID}");
    let r = plain::parse(line.as_bytes(), &opts).unwrap();
    assert_eq!(r.request_id.as_deref(), Some(UUID));
}

fn variants() -> Vec<SynthRequest> {
    let base = SynthRequest::example();
    let mut v = vec![base.clone()];
    // a retry: 502 then 200
    let mut r = base.clone();
    r.status = 200;
    r.upstream_status = vec![502, 200];
    r.upstream_addr = vec!["10.0.0.7:8080".into(), "10.0.0.8:8080".into()];
    r.upstream_us = vec![1_500, 12_345];
    r.duration_us = 15_000;
    r.trace_id = None;
    r.message = String::new();
    r.request_id = UUID.into();
    v.push(r);
    // rate limited at the gateway: no upstream attempt
    let mut r = base.clone();
    r.status = 429;
    r.upstream_status = vec![];
    r.upstream_addr = vec![];
    r.upstream_us = vec![];
    r.message = "too many requests".into();
    v.push(r);
    // a slow 404 with unicode and quotes, a path with spaces and quotes
    let mut r = base.clone();
    r.status = 404;
    r.upstream_status = vec![404];
    r.upstream_us = vec![62_500_123];
    r.duration_us = 62_600_000;
    r.time.unix_us += 456;
    r.message = "no \"order\" ☕ found = gone".into();
    r.path = "/v1/orders/a b\"c?q=1".into();
    r.method = "DELETE";
    v.push(r);
    v
}

fn upstream_time(r: &SynthRequest) -> i64 {
    r.time.unix_us - (r.duration_us - r.upstream_total_us().unwrap_or(0)) as i64
}

#[test]
fn writers_round_trip() {
    let o = ParseOptions::default();
    for (i, r) in variants().iter().enumerate() {
        let status = r.last_upstream_status().unwrap_or(r.status);
        let level = match status {
            500.. => Level::Error,
            400..=499 => Level::Warn,
            _ => Level::Info,
        };
        let dur = r.upstream_us.last().copied().unwrap_or(0);
        let msg = if r.message.is_empty() { "request completed" } else { r.message.as_str() };
        let t = upstream_time(r);
        let writers: [(&str, WriteFn, ParseFn, i64); 3] = [
            ("json", app_json::write, app_json::parse, t.div_euclid(1000) * 1000),
            ("logfmt", logfmt::write, logfmt::parse, t),
            ("plain", plain::write, plain::parse, t),
        ];
        for (name, write, parse, want_time) in writers {
            let mut out = b"previous line\n".to_vec();
            let start = out.len();
            write(r, &mut out);
            let line = &out[start..];
            assert!(!line.contains(&b'\n'), "{name}: one line");
            let ctx = format!("{name} variant {i}: {}", String::from_utf8_lossy(line));
            let rec = parse(line, &o).unwrap_or_else(|| panic!("{ctx}: did not parse"));
            assert_eq!(rec.time.map(|t| t.unix_us), Some(want_time), "{ctx}");
            assert_eq!(rec.level, Some(level), "{ctx}");
            assert_eq!(rec.message.as_deref(), Some(msg.replace('\n', " ").as_str()), "{ctx}");
            assert_eq!(rec.request_id.as_deref(), Some(r.request_id.as_str()), "{ctx}");
            assert_eq!(rec.trace_id.as_deref(), r.trace_id.as_deref(), "{ctx}");
            assert_eq!(rec.status, Some(status), "{ctx}");
            assert_eq!(rec.duration_us, Some(dur), "{ctx}");
            if name != "plain" {
                assert_eq!(rec.method.as_deref(), Some(r.method), "{ctx}");
                assert_eq!(rec.path.as_deref(), Some(r.path.as_str()), "{ctx}");
            }
            // and detection sends the writer's output back to the same format
            let d = detect(&[line, line], &[], Default::default());
            assert_eq!(d.parser.format.name(), name, "{ctx}");
        }
    }
}

#[test]
fn detection_picks_app_formats() {
    for (file, want) in [
        ("pino.log", "json"),
        ("pino_http.log", "json"),
        ("bunyan.log", "json"),
        ("zap.log", "json"),
        ("logrus_json.log", "json"),
        ("structlog.log", "json"),
        ("slog.log", "json"),
        ("serilog.log", "json"),
        ("serilog_json.log", "json"),
        ("ecs.log", "json"),
        ("nasty.log", "json"),
        ("logfmt_gokit.log", "logfmt"),
        ("logfmt_logrus.log", "logfmt"),
        ("logfmt_heroku.log", "logfmt"),
        ("plain.log", "plain"),
        ("nginx_error.log", "plain"),
    ] {
        let data = fixture(file);
        let d = detect(&lines(&data), &[], Default::default());
        assert_eq!(d.parser.describe(), want, "{file}");
    }
}

#[test]
fn detection_through_docker_envelope() {
    let data = fixture("zap.log");
    let wrapped: Vec<Vec<u8>> = lines(&data)
        .iter()
        .map(|l| {
            let inner = std::str::from_utf8(l).unwrap();
            serde_json::json!({"log": format!("{inner}\n"), "stream": "stderr", "time": "2024-05-01T12:00:09Z"})
                .to_string()
                .into_bytes()
        })
        .collect();
    let refs: Vec<&[u8]> = wrapped.iter().map(Vec::as_slice).collect();
    let d = detect(&refs, &[], Default::default());
    assert_eq!(d.parser.describe(), "docker+json");
    let rec = d.parser.parse(refs[0]).unwrap();
    assert_eq!(rec.request_id.as_deref(), Some(HEX_ID));
    assert_eq!(rec.time.unwrap().unix_us, us("2024-05-01T12:00:00.123456Z"));
}

#[test]
fn forced_format_unwraps_envelopes() {
    let opts = Arc::new(ParseOptions::default());
    let docker: &[u8] = br#"{"log":"{\"level\":30,\"time\":1714564800000,\"msg\":\"request completed\",\"reqId\":\"abc-123\"}\n","stream":"stdout","time":"2024-05-01T12:00:00.123Z"}"#;
    let message: &[u8] = br#"{"@timestamp":"2024-05-01T12:00:00.123Z","message":"{\"level\":50,\"time\":1714564800000,\"msg\":\"request errored\",\"reqId\":\"abc-124\"}"}"#;
    for (line, want, level, msg, rid) in [
        (docker, "docker+json", Level::Info, "request completed", "abc-123"),
        (message, "message+json", Level::Error, "request errored", "abc-124"),
    ] {
        let p = forced(Format::Json, &[line, line], opts.clone());
        assert_eq!(p.describe(), want);
        let rec = p.parse(line).unwrap();
        assert_eq!(rec.level, Some(level), "{want}");
        assert_eq!(rec.message.as_deref(), Some(msg), "{want}");
        assert_eq!(rec.request_id.as_deref(), Some(rid), "{want}");
        assert_eq!(rec.time.unwrap().unix_us, us("2024-05-01T12:00:00Z"), "{want}: the inner time wins");
    }
    // ECS lines have a text "message": they are JSON lines, not an envelope around JSON
    let data = fixture("ecs.log");
    assert_eq!(forced(Format::Json, &lines(&data), opts.clone()).describe(), "json");
    // a gateway format named outright still finds its envelope
    let nginx = br#"{"log":"10.0.0.1 - - [01/May/2024:12:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"\n","time":"2024-05-01T12:00:00Z"}"#;
    assert_eq!(forced(Format::Nginx, &[nginx], opts).describe(), "docker+nginx");
}

#[test]
fn nginx_access_lines_are_not_ours() {
    let o = ParseOptions::default();
    let combined: &[u8] =
        br#"203.0.113.7 - - [01/May/2024:12:00:00 +0000] "POST /v1/orders?x=1 HTTP/1.1" 502 157 "-" "curl/8.5.0""#;
    let extras = format!(
        r#"203.0.113.7 - - [01/May/2024:12:00:00 +0000] "POST /v1/orders HTTP/1.1" 502 157 "-" "curl/8.5.0" rt=0.002 urt="0.001" request_id={HEX_ID}"#
    );
    for l in [combined, extras.as_bytes()] {
        assert!(logfmt::parse(l, &o).is_none());
        assert!(app_json::parse(l, &o).is_none());
        // plain may find the id, but with far fewer fields than the nginx parser (≥ 10)
        if let Some(r) = plain::parse(l, &o) {
            assert!(r.field_count() <= 3, "{r:?}");
            assert_eq!(r.time, None);
        }
    }
    assert!(plain::parse(combined, &o).is_none());
    assert_eq!(plain::parse(extras.as_bytes(), &o).unwrap().request_id.as_deref(), Some(HEX_ID));
}

fn all_fixture_lines() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app");
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        out.extend(lines(&data).into_iter().map(<[u8]>::to_vec));
    }
    out.sort();
    out
}

fn parse_all(b: &[u8], opts: &ParseOptions) {
    for f in [app_json::parse as ParseFn, logfmt::parse, plain::parse] {
        if let Some(r) = f(b, opts) {
            let _ = r.field_count();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let opts = ParseOptions { id_fields: vec!["a".into()], id_regex: Some(regex::Regex::new(r"id=(\w*)").unwrap()), ..Default::default() };
        parse_all(&bytes, &opts);
        parse_all(&bytes, &ParseOptions::default());
    }

    #[test]
    fn mutated_lines_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    ) {
        let fixtures = all_fixture_lines();
        let mut line = fixtures[pick.index(fixtures.len())].clone();
        for (at, byte, op) in edits {
            let i = at.index(line.len() + 1);
            match op {
                0 => line.insert(i, byte),
                1 if i < line.len() => line[i] = byte,
                2 => line.truncate(i),
                _ if i < line.len() => { line.remove(i); }
                _ => {}
            }
        }
        parse_all(&line, &ParseOptions::default());
    }

    #[test]
    fn structured_text_never_panics(s in r#"[ a-z=":\\\[\]{}0-9.µ#*,-]{0,120}"#) {
        parse_all(s.as_bytes(), &ParseOptions::default());
    }
}
