//! One record as a line of output: aligned, coloured text for people, or a JSON object for `jq`.

use serde_json::{Map, Value};

use crate::record::{LogTime, Record};

/// A progress line on stderr (`access.log: 41% of 1.1 GB`), redrawn at most four times a second and cleared when
/// the work is done, so a long read shows it is moving without flooding the terminal.
pub struct ProgressLine {
    last: std::time::Instant,
    shown: bool,
}

impl Default for ProgressLine {
    fn default() -> Self {
        ProgressLine { last: std::time::Instant::now(), shown: false }
    }
}

impl ProgressLine {
    /// Show `done` of `size` bytes of `name` read (unless it was redrawn under 250 ms ago).
    pub fn show(&mut self, name: &str, done: u64, size: u64) {
        if self.last.elapsed() < std::time::Duration::from_millis(250) {
            return;
        }
        self.last = std::time::Instant::now();
        self.shown = true;
        let pct = (done as f64 * 100.0 / size.max(1) as f64).min(100.0);
        eprint!("\r{name}: {pct:.0}% of {}", crate::numbers::bytes_text(size));
    }

    /// Erase the line, if it was shown.
    pub fn clear(&mut self) {
        if std::mem::take(&mut self.shown) {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Colour on stdout: only on a terminal, and never with `NO_COLOR` set (<https://no-color.org>).
pub fn color_wanted() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A record's fields for JSON output: absent fields left out, durations in ms, times RFC 3339 UTC. Serialises
/// straight from the record (no intermediate map), so `tail --json` keeps up with a whole-file read.
#[derive(serde::Serialize)]
pub struct RecordJson<'r> {
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_offset_s: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "<[u16]>::is_empty")]
    upstream_status: &'r [u16],
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream_addr: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream_latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_sent: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_received: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    referer: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flags: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    route: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream_connect_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream_header_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bad_request: Option<&'r str>,
}

impl<'r> RecordJson<'r> {
    /// Borrow a record for output.
    pub fn of(r: &'r Record<'_>) -> Self {
        let ms = |us: u64| (us as f64 / 1000.0 * 1000.0).round() / 1000.0;
        RecordJson {
            time: r.time.map(LogTime::to_rfc3339_utc),
            time_offset_s: r.time.map(|t| t.offset_s),
            method: r.method.as_deref(),
            path: r.path.as_deref(),
            protocol: r.protocol.as_deref(),
            host: r.host.as_deref(),
            status: r.status,
            upstream_status: r.upstream_status.as_slice(),
            upstream_addr: r.upstream_addr.as_deref(),
            latency_ms: r.duration_us.map(ms),
            upstream_latency_ms: r.upstream_us.map(ms),
            client: r.client.as_deref(),
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            user_agent: r.user_agent.as_deref(),
            referer: r.referer.as_deref(),
            request_id: r.request_id.as_deref(),
            trace_id: r.trace_id.as_deref(),
            level: r.level.map(|l| l.name()),
            message: r.message.as_deref(),
            flags: r.flags.as_deref(),
            consumer: r.consumer.as_deref(),
            route: r.route.as_deref(),
            upstream_connect_ms: r.upstream_connect_us.map(ms),
            upstream_header_ms: r.upstream_header_us.map(ms),
            node: r.node.as_deref(),
            bad_request: r.bad_request.as_deref(),
        }
    }
}

/// The record's fields as a JSON object (see [`RecordJson`]).
pub fn record_json(r: &Record<'_>) -> Map<String, Value> {
    match serde_json::to_value(RecordJson::of(r)) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// `HH:MM:SS.mmm` in the zone the line was written in.
pub fn clock(t: LogTime) -> String {
    let local = t.unix_us + t.offset_s as i64 * 1_000_000;
    let day_us = local.rem_euclid(86_400_000_000);
    let (s, ms) = (day_us / 1_000_000, day_us / 1000 % 1000);
    format!("{:02}:{:02}:{:02}.{ms:03}", s / 3600, s / 60 % 60, s % 60)
}

/// A JSON formatter that also escapes what serde_json leaves raw but a terminal acts on: C1 controls (U+0080 to
/// U+009F, such as the CSI U+009B) and invisible formatting characters (bidi overrides), as `\u009b`.
struct TerminalSafe<F>(F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for TerminalSafe<F> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(&mut self, w: &mut W, fragment: &str) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(|c: char| ('\u{80}'..='\u{9f}').contains(&c) || crate::text::is_format_char(c)) {
            self.0.write_string_fragment(w, &rest[..at])?;
            let c = rest[at..].chars().next().expect("a char at a found index");
            write!(w, "\\u{:04x}", c as u32)?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_string_fragment(w, rest)
    }

    // the rest as the wrapped formatter writes it
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Write `value` as JSON (pretty when asked) with every string safe for a terminal: what serde_json escapes, and
/// C1 controls and bidi overrides as well. Every JSON output goes through here.
pub fn write_json<W: std::io::Write, T: serde::Serialize + ?Sized>(
    w: W,
    value: &T,
    pretty: bool,
) -> serde_json::Result<()> {
    if pretty {
        let mut ser = serde_json::Serializer::with_formatter(w, TerminalSafe(serde_json::ser::PrettyFormatter::new()));
        value.serialize(&mut ser)
    } else {
        let mut ser = serde_json::Serializer::with_formatter(w, TerminalSafe(serde_json::ser::CompactFormatter));
        value.serialize(&mut ser)
    }
}

/// [`write_json`] into a string.
pub fn json_string<T: serde::Serialize + ?Sized>(value: &T, pretty: bool) -> String {
    let mut out = Vec::new();
    let _ = write_json(&mut out, value, pretty);
    String::from_utf8(out).unwrap_or_default()
}

/// Print a message to stderr as `gatewatch: …`, escaped: messages quote paths, log text and server answers.
pub fn warn(msg: impl std::fmt::Display) {
    eprintln!("gatewatch: {}", crate::text::escape_lines(&msg.to_string()));
}

/// `s` in the ANSI style `code` (e.g. `1;31`) when `color`, else as it is.
pub fn paint(color: bool, code: &str, s: &str) -> String {
    if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
}

/// The ANSI style of a status by its class (green 2xx, cyan 3xx, yellow 4xx, bold red 5xx).
pub fn status_color(status: u16) -> &'static str {
    match status / 100 {
        2 => "32",
        3 => "36",
        4 => "33",
        5 => "1;31",
        _ => "0",
    }
}

/// What a piece of a record's one-line form is, so each way of showing it (ANSI, the console's theme) can style it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Wall-clock time.
    Time,
    /// Severity.
    Level(crate::record::Level),
    /// Status code.
    Status(u16),
    /// HTTP method.
    Method,
    /// Request path.
    Path,
    /// Latency.
    Latency,
    /// Upstream statuses and address.
    Upstream,
    /// Proxy flags.
    Flags,
    /// Application message.
    Message,
    /// `id=…`.
    Id,
    /// `trace=…`.
    Trace,
}

/// One record as pieces of text: time, level, status, method, path, latency, upstream statuses and address,
/// proxy flags, message, and the request id. Log content is escaped: no control character or escape sequence
/// survives.
pub fn record_parts(r: &Record<'_>) -> Vec<(Part, String)> {
    let esc = |s: &str| crate::text::escape_control(s.as_bytes());
    let mut parts: Vec<(Part, String)> = Vec::with_capacity(10);
    parts.push((Part::Time, r.time.map_or_else(|| " ".repeat(12), clock)));
    if let Some(l) = r.level {
        parts.push((Part::Level(l), format!("{:<5}", l.name().to_ascii_uppercase())));
    }
    if let Some(s) = r.status {
        parts.push((Part::Status(s), s.to_string()));
    }
    if let Some(m) = &r.method {
        parts.push((Part::Method, format!("{:<6}", esc(m))));
    }
    if let Some(p) = &r.path {
        parts.push((Part::Path, esc(p)));
    }
    if let Some(b) = &r.bad_request {
        // kept and marked, not dropped: what came instead of an HTTP request
        parts.push((Part::Flags, format!("invalid request: {}", esc(b))));
    }
    if let Some(d) = r.duration_us {
        parts.push((Part::Latency, crate::numbers::duration_text(d)));
    }
    if !r.upstream_status.is_empty() || r.upstream_addr.is_some() {
        let codes: Vec<String> = r.upstream_status.as_slice().iter().map(u16::to_string).collect();
        let mut up = format!("↑{}", if codes.is_empty() { "-".into() } else { codes.join(",") });
        if let Some(a) = &r.upstream_addr {
            up.push(' ');
            up.push_str(&esc(a));
        }
        parts.push((Part::Upstream, up));
    }
    if let Some(f) = &r.flags {
        parts.push((Part::Flags, esc(f)));
    }
    if let Some(m) = &r.message {
        parts.push((Part::Message, esc(m)));
    }
    if let Some(id) = &r.request_id {
        parts.push((Part::Id, format!("id={}", esc(id))));
    } else if let Some(t) = &r.trace_id {
        parts.push((Part::Trace, format!("trace={}", esc(t))));
    }
    parts
}

/// One record as a line of text, coloured with ANSI codes when `color` (see [`record_parts`]).
pub fn record_text(r: &Record<'_>, color: bool) -> String {
    let code = |p: Part| match p {
        Part::Level(crate::record::Level::Error | crate::record::Level::Fatal) => "1;31",
        Part::Level(crate::record::Level::Warn) => "33",
        Part::Level(crate::record::Level::Info) => "32",
        Part::Level(_) | Part::Upstream => "2",
        Part::Status(s) => status_color(s),
        Part::Flags => "35",
        Part::Id => "1;36",
        Part::Trace => "36",
        Part::Time | Part::Method | Part::Path | Part::Latency | Part::Message => "",
    };
    let parts: Vec<String> = record_parts(r)
        .into_iter()
        .map(|(p, text)| match code(p) {
            "" => text,
            c => paint(color, c, &text),
        })
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod json_tests {
    #[test]
    fn json_escapes_c1_and_bidi_too() {
        let s = super::json_string(&serde_json::json!({"k\u{202e}": "a\u{1b}\u{9b}b\u{202e}é"}), false);
        assert_eq!(s, r#"{"k\u202e":"a\u001b\u009bb\u202eé"}"#);
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["k\u{202e}"], "a\u{1b}\u{9b}b\u{202e}é", "still the same JSON");
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[test]
    fn clock_uses_the_logged_zone() {
        let t = LogTime { unix_us: 1_714_564_800_123_000, offset_s: 2 * 3600 };
        assert_eq!(clock(t), "14:00:00.123");
    }

    #[test]
    fn text_escapes_and_colours() {
        let r = Record {
            status: Some(502),
            path: Some(Cow::Borrowed("/x\x1b[2J")),
            request_id: Some(Cow::Borrowed("abc")),
            ..Default::default()
        };
        let plain = record_text(&r, false);
        assert!(plain.contains("502 /x\\x1b[2J id=abc"), "{plain}");
        assert!(!plain.contains('\x1b'));
        let coloured = record_text(&r, true);
        assert!(coloured.contains("\x1b[1;31m502\x1b[0m"));
        assert_eq!(coloured.matches('\x1b').count(), 4, "only our own colour codes: {coloured:?}");
    }
}
