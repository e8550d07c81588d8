//! `gatewatch trace ID FILE...`: every record that carries a request id (or trace id), from every source, in time
//! order, with the latency breakdown across the hops. Ids are never assumed unique: retries and replays all show.

use serde::Serialize;

use crate::input::ScanOptions;
use crate::record::Role;

/// One matching line.
#[derive(Clone, Debug, Serialize)]
pub struct Hop {
    /// The source's path.
    pub source: String,
    /// Gateway or upstream.
    pub role: Role,
    /// 1-based line number.
    pub line: u64,
    /// The parsed fields (as `tail --json` prints them).
    pub record: serde_json::Map<String, serde_json::Value>,
    /// The raw line (invalid UTF-8 replaced; JSON escapes the rest).
    pub raw: String,
    /// An nginx error-log line carries no id: set when it was joined to this request's access record, saying by
    /// what (`client+request+time`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined_by: Option<&'static str>,
    /// Whether the joined line could belong to another request as well (several connections fit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ambiguous: Option<bool>,
    /// The lines under an error record that continue it (its stack trace), as read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub continuation: Vec<String>,
    #[serde(skip)]
    access: Option<crate::errorlog::AccessKey>,
    #[serde(skip)]
    time_us: Option<i64>,
    #[serde(skip)]
    duration_us: Option<u64>,
    #[serde(skip)]
    upstream_us: Option<u64>,
}

/// Where the time went, from the gateway's records (and the upstream's own, when it logs a duration).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Breakdown {
    /// The gateway's total time for the request (the last gateway record), ms.
    pub gateway_ms: Option<f64>,
    /// Time the gateway waited on upstreams, ms.
    pub upstream_ms: Option<f64>,
    /// gateway − upstream: the gateway's own overhead and queueing, ms.
    pub gateway_overhead_ms: Option<f64>,
    /// The upstream service's own logged duration, ms.
    pub service_ms: Option<f64>,
    /// upstream − service: network and connection time between gateway and service, ms.
    pub network_ms: Option<f64>,
}

/// The whole story of one request.
#[derive(Clone, Debug, Serialize)]
pub struct Trace {
    /// The id asked for.
    pub id: String,
    /// The records shown, in time order (records without a time keep their place after the timed ones): all of
    /// them, or the first and last `limit` of each source when more carry the id.
    pub hops: Vec<Hop>,
    /// How many records carry the id, in all.
    pub count: u64,
    /// How many of them are not shown.
    pub omitted: u64,
    /// Latency breakdown.
    pub breakdown: Breakdown,
    /// What the reader should know about how hops were found (how the error log's time zone was chosen).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Records shown from each source at each end, unless `--limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 20;

fn ms(us: u64) -> f64 {
    (us as f64 / 1000.0 * 1000.0).round() / 1000.0
}

/// Find every record carrying `id` in the sources.
/// An id a stuck client repeated a million times costs no more than `limit` records at each end of each source.
pub fn find(
    id: &str,
    sources: &[(String, Option<Role>)],
    opts: &ScanOptions,
    limit: usize,
) -> (Trace, Vec<anyhow::Error>) {
    let key = crate::ids::key(id);
    let mut hops = Vec::new();
    let mut errors = Vec::new();
    let mut count = 0;
    let keep = crate::matching::Keep::Ends(limit);
    let mut plain = Vec::new();
    for (path, role) in sources {
        match crate::matching::find(path, *role, opts, keep, |rec| crate::matching::carries(rec, key)) {
            Ok(found) => {
                if matches!(found.parser.format, crate::format::Format::Plain) {
                    plain.push((path.clone(), *role));
                }
                count += found.total;
                for m in &found.lines {
                    let rec = found.record(m);
                    hops.push(Hop {
                        source: path.clone(),
                        role: found.role,
                        line: m.line,
                        record: crate::output::record_json(&rec),
                        raw: String::from_utf8_lossy(&m.raw).into_owned(),
                        joined_by: None,
                        ambiguous: None,
                        continuation: Vec::new(),
                        access: access_key(found.role, &rec),
                        time_us: rec.time.map(|t| t.unix_us),
                        duration_us: rec.duration_us,
                        upstream_us: rec.upstream_us,
                    });
                }
            }
            Err(e) => errors.push(e), // already names the file
        }
    }
    let mut notes = Vec::new();
    // only plain-text sources can hold nginx's error log: the others are not read again
    join_error_log(&mut hops, &plain, opts, &mut notes, &mut errors);
    join_streams(&mut hops, key, &plain, opts, &mut errors);
    attach_continuations(&mut hops, opts, &mut errors);
    // time order; a stable sort keeps each source's own order for equal or missing times
    hops.sort_by_key(|h| h.time_us.unwrap_or(i64::MAX));
    let timings: Vec<HopTiming> = hops
        .iter()
        .map(|h| HopTiming { role: h.role, duration_us: h.duration_us, upstream_us: h.upstream_us })
        .collect();
    let breakdown = breakdown(&timings);
    let joined = hops.iter().filter(|h| h.joined_by.is_some()).count() as u64;
    let omitted = (count + joined).saturating_sub(hops.len() as u64);
    (Trace { id: id.to_string(), hops, count, omitted, breakdown, notes }, errors)
}

/// What a gateway record offers the error-log join.
fn access_key(role: Role, rec: &crate::record::Record<'_>) -> Option<crate::errorlog::AccessKey> {
    if role != Role::Gateway {
        return None;
    }
    crate::errorlog::access_key(rec)
}

/// Add the nginx error-log lines about the request's access records as hops of it (see [`crate::errorlog`]).
fn join_error_log(
    hops: &mut Vec<Hop>,
    sources: &[(String, Option<Role>)],
    opts: &ScanOptions,
    notes: &mut Vec<String>,
    errors: &mut Vec<anyhow::Error>,
) {
    let keys: Vec<crate::errorlog::AccessKey> = hops.iter().filter_map(|h| h.access.clone()).collect();
    if keys.is_empty() {
        return;
    }
    let found = crate::errorlog::read_candidates(&keys, sources, opts, errors);
    let lines: Vec<_> = found.iter().map(|f| f.parse()).collect();
    if lines.is_empty() {
        return;
    }
    let tz = opts.parse.local_tz.as_ref();
    let mut taken = std::collections::HashSet::new();
    for key in &keys {
        let j = crate::errorlog::join(key, &lines, tz);
        let said = j.zone.describe();
        if !notes.contains(&said) {
            notes.push(said);
        }
        if let (Some(tz), crate::errorlog::ZoneSource::AccessLog(off)) = (tz, &j.zone) {
            let given = tz.to_offset(jiff::Timestamp::from_microsecond(key.time.unix_us).unwrap_or_default()).seconds();
            let warn = format!(
                "--tz is {} but the access log writes {}: the access log's offset is used",
                crate::errorlog::offset(given),
                crate::errorlog::offset(*off)
            );
            if given != *off && !notes.contains(&warn) {
                notes.push(warn);
            }
        }
        if j.matched.is_empty()
            && let Some(shift) = crate::errorlog::zone_mismatch(key, &lines, &j.zone)
        {
            let (h, m) = (shift.abs() / 3600, shift.abs() / 60 % 60);
            let say = format!(
                "an error-log line names this request {h}h{m:02} away from it: the error log was written in another \
                 zone than the access log's {} (not joined; --tz does not override the access log's offset)",
                crate::errorlog::offset(key.time.offset_s)
            );
            if !notes.contains(&say) {
                notes.push(say);
            }
        }
        for &i in &j.matched {
            if !taken.insert(i) {
                continue;
            }
            let crate::errorlog::Found { path, line, raw } = &found[i];
            let mut rec = lines[i].record.clone();
            let placed = j.zone.place(lines[i].wall_us);
            rec.time = Some(placed);
            hops.push(Hop {
                source: path.clone(),
                role: Role::Gateway,
                line: *line,
                record: crate::output::record_json(&rec),
                raw: String::from_utf8_lossy(raw).into_owned(),
                joined_by: Some(crate::errorlog::JOINED_BY),
                ambiguous: Some(j.ambiguous),
                continuation: Vec::new(),
                access: None,
                time_us: Some(placed.unix_us),
                duration_us: None,
                upstream_us: None,
            });
        }
    }
}

/// Add the lines of Envoy's own log about the request — its stream's — as hops of it (see [`crate::stream_join`]).
fn join_streams(
    hops: &mut Vec<Hop>,
    key: u64,
    sources: &[(String, Option<Role>)],
    opts: &ScanOptions,
    errors: &mut Vec<anyhow::Error>,
) {
    // the id asked for, and the request ids of the records found by it (a trace id finds them by theirs)
    let mut keys = vec![key];
    for h in hops.iter() {
        if let Some(id) = h.record.get("request_id").and_then(|v| v.as_str()) {
            keys.push(crate::ids::key(id));
        }
    }
    keys.dedup();
    // Envoy writes its own log in the host's local time: the gateway records' offset places it, as for nginx
    let offset = hops
        .iter()
        .filter(|h| h.role == Role::Gateway)
        .find_map(|h| h.record.get("time_offset_s").and_then(|v| v.as_i64()))
        .map(|o| crate::record::LogTime { unix_us: 0, offset_s: o as i32 });
    let zone = crate::errorlog::ZoneSource::choose(offset, opts.parse.local_tz.as_ref());
    for (path, _) in sources {
        let lines = match crate::stream_join::read(path, &keys) {
            Ok(lines) => lines,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for l in lines {
            let Some(d) = crate::format::envoy_debug::parse(&l.raw) else { continue };
            let placed = zone.place(d.wall_us);
            let message = String::from_utf8_lossy(d.message);
            let rec = crate::record::Record {
                time: Some(placed),
                level: d.level,
                message: Some(message.as_ref().into()),
                ..Default::default()
            };
            hops.push(Hop {
                source: path.clone(),
                role: Role::Gateway,
                line: l.line,
                record: crate::output::record_json(&rec),
                raw: String::from_utf8_lossy(&l.raw).into_owned(),
                joined_by: Some(crate::stream_join::JOINED_BY),
                ambiguous: Some(false),
                continuation: Vec::new(),
                access: None,
                time_us: Some(placed.unix_us),
                duration_us: None,
                upstream_us: None,
            });
        }
    }
}

/// Lines of a stack trace kept under one record.
const CONTINUATION_LINES: usize = 100;

/// Give each error record of a service (level error or worse, or a 5xx) the lines under it that continue it: its
/// stack trace. Its source is read again up to its last such record, only when it has one.
fn attach_continuations(hops: &mut [Hop], opts: &ScanOptions, errors: &mut Vec<anyhow::Error>) {
    use std::io::BufRead;
    let is_error = |h: &Hop| {
        let level = h.record.get("level").and_then(|v| v.as_str()).and_then(crate::record::Level::parse);
        let status = h.record.get("status").and_then(|v| v.as_u64());
        h.joined_by.is_none()
            && h.role == Role::Upstream
            && (level.is_some_and(|l| l >= crate::record::Level::Error) || status.is_some_and(|s| s >= 500))
    };
    let mut sources: Vec<&str> = hops.iter().filter(|h| is_error(h)).map(|h| h.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    let sources: Vec<String> = sources.into_iter().filter(|s| *s != "-").map(str::to_string).collect();
    for source in sources {
        let wanted: std::collections::HashMap<u64, usize> = hops
            .iter()
            .enumerate()
            .filter(|(_, h)| h.source == source && is_error(h))
            .map(|(i, h)| (h.line, i))
            .collect();
        let last = wanted.keys().max().copied().unwrap_or(0);
        let input = match crate::input::open(&source) {
            Ok(i) => i,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let mut input = std::io::BufReader::with_capacity(256 << 10, input);
        let (mut buf, mut n, mut under) = (Vec::new(), 0u64, None::<usize>);
        loop {
            buf.clear();
            match input.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    errors.push(anyhow::anyhow!("cannot read {source}: {e}"));
                    break;
                }
            }
            n += 1;
            let line = crate::format::trim_line(buf.strip_suffix(b"\n").unwrap_or(&buf));
            if let Some(&i) = wanted.get(&n) {
                under = Some(i);
                continue;
            }
            match under {
                // a blank line inside a trace (Go's between the signal and the goroutines) keeps it going
                Some(i) if line.trim_ascii().is_empty() => hops[i].continuation.push(String::new()),
                Some(i) if crate::format::continuation::continues(line) || starts_no_record(line, opts) => {
                    if hops[i].continuation.len() < CONTINUATION_LINES {
                        hops[i].continuation.push(String::from_utf8_lossy(line).into_owned());
                    }
                }
                _ if n > last => break,
                _ => under = None,
            }
        }
    }
    for h in hops.iter_mut() {
        while h.continuation.last().is_some_and(|l| l.is_empty()) {
            h.continuation.pop();
        }
    }
}

/// Whether a line starts no record: it has neither a time nor a status in any format (`[signal SIGSEGV …]`).
fn starts_no_record(line: &[u8], opts: &ScanOptions) -> bool {
    let parser = crate::format::Parser::new(crate::format::Format::Plain, opts.parse.clone());
    !line.trim_ascii().is_empty() && parser.parse(line).is_none_or(|r| r.time.is_none() && r.status.is_none())
}

/// The timing of one record of a request, in time order, for [`breakdown`].
#[derive(Clone, Copy, Debug)]
pub struct HopTiming {
    /// Gateway or upstream.
    pub role: Role,
    /// The record's total time, µs.
    pub duration_us: Option<u64>,
    /// The time it waited on upstreams, µs.
    pub upstream_us: Option<u64>,
}

/// Where a request's time went, from its records in time order.
pub fn breakdown(hops: &[HopTiming]) -> Breakdown {
    let gw = hops.iter().rev().find(|h| h.role == Role::Gateway && h.duration_us.is_some());
    let service = hops.iter().rev().find(|h| h.role == Role::Upstream && h.duration_us.is_some());
    let gateway_us = gw.and_then(|h| h.duration_us);
    let upstream_us = gw.and_then(|h| h.upstream_us);
    let service_us = service.and_then(|h| h.duration_us);
    Breakdown {
        gateway_ms: gateway_us.map(ms),
        upstream_ms: upstream_us.map(ms),
        gateway_overhead_ms: gateway_us.zip(upstream_us).map(|(g, u)| ms(g.saturating_sub(u))),
        service_ms: service_us.map(ms),
        network_ms: upstream_us.zip(service_us).map(|(u, s)| ms(u.saturating_sub(s))),
    }
}

/// The trace as text: one line per hop, then the breakdown.
pub fn render(t: &Trace, color: bool) -> String {
    use std::fmt::Write;
    let e = |s: &str| crate::text::escape_control(s.as_bytes());
    let mut o = String::new();
    if t.hops.is_empty() {
        let _ = writeln!(o, "no record carries id {}", e(&t.id));
        return o;
    }
    let _ = writeln!(o, "{} record(s) carry id {}", t.count, e(&t.id));
    if t.omitted > 0 {
        let _ = writeln!(
            o,
            "  the id is not unique: the first and last of each source are shown, {} more are not (--limit)",
            t.omitted
        );
    }
    for h in &t.hops {
        let name =
            std::path::Path::new(&h.source).file_name().map_or(h.source.clone(), |n| n.to_string_lossy().into_owned());
        let status = h.record.get("status").map_or(String::from("   "), |s| s.to_string());
        let time = h.record.get("time").and_then(|t| t.as_str()).unwrap_or("-");
        let what = ["method", "path", "message"]
            .iter()
            .filter_map(|k| h.record.get(*k).and_then(|v| v.as_str()))
            .collect::<Vec<_>>()
            .join(" ");
        let lat = h.record.get("latency_ms").map_or(String::new(), |v| format!("{v}ms"));
        let up = h.record.get("upstream_status").and_then(|v| v.as_array()).map_or(String::new(), |codes| {
            format!("↑{}", codes.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","))
        });
        let flags = h.record.get("flags").and_then(|v| v.as_str()).unwrap_or("");
        let head = format!("{:<8} {name}:{}", h.role.name(), h.line);
        let head = if color { format!("\x1b[2m{head}\x1b[0m") } else { head };
        // the hop's fields are log text: escaped, as everything printed is
        let (time, what, flags) = (e(time), e(&what), e(flags));
        let head = head.replace(&name, &e(&name));
        let log = if h.joined_by == Some(crate::stream_join::JOINED_BY) { "proxy log" } else { "error log" };
        let joined = match (h.joined_by, h.ambiguous) {
            (Some(by), Some(true)) => format!("[{log}, joined by {by}; ambiguous: several requests fit]"),
            (Some(by), _) => format!("[{log}, joined by {by}]"),
            _ => String::new(),
        };
        let line = format!("  {time}  {head}  {status} {what} {lat} {up} {flags} {joined}");
        let _ = writeln!(o, "{}", line.trim_end());
        for c in &h.continuation {
            // a trace's tabs are its indentation
            let _ = writeln!(o, "        {}", e(&c.replace('\t', "    ")));
        }
    }
    let _ = writeln!(o, "{}", breakdown_text(&t.breakdown));
    for n in &t.notes {
        let _ = writeln!(o, "note: {}", e(n));
    }
    o
}

/// The breakdown as one line: `latency: gateway 1.2 ms = upstream 1.0 ms + gateway overhead 0.2 ms; …`.
pub fn breakdown_text(b: &Breakdown) -> String {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
    format!(
        "latency: gateway {}  = upstream {} + gateway overhead {};  service logged {}, network/connect {}",
        f(b.gateway_ms),
        f(b.upstream_ms),
        f(b.gateway_overhead_ms),
        f(b.service_ms),
        f(b.network_ms)
    )
}
