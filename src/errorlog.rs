//! Joining nginx error-log lines to the access-log record of the request they are about.
//!
//! An error-log line has no request id, but names its request: client, request line, upstream, and a time in
//! the host's local zone with no offset. An access record is the same request when the client and the method +
//! path are equal, the upstream address is among the record's (where both log one), and the error was written
//! within the request's life: from its start (the access time, which nginx writes at the request's end, minus
//! its duration) less [`SLACK_US`], to its end plus one second (both logs write whole seconds).
//!
//! The zone of the error log's times is taken from the access record (same host, same clock), else from
//! `--tz`, else UTC, and the choice is said, never made silently.

use crate::format::nginx_error::ErrorLine;
use crate::record::LogTime;

/// How long before a request's start (or its end, when its duration is not logged) an error may be written.
pub const SLACK_US: i64 = 2_000_000;
/// How long after the access record's time: both logs truncate to whole seconds.
const AFTER_US: i64 = 1_000_000;

/// What the join says it matched on, for output.
pub const JOINED_BY: &str = "client+request+time";

/// The access record a join looks for: its time, duration and request.
#[derive(Clone, Debug)]
pub struct AccessKey {
    /// The access record's time (the request's end for nginx).
    pub time: LogTime,
    /// The request's duration, when logged, µs.
    pub duration_us: Option<u64>,
    /// Client address.
    pub client: String,
    /// Method.
    pub method: String,
    /// Path (with query) as logged.
    pub path: String,
    /// Upstream address(es) as logged (`10.0.0.7:8080, 10.0.0.8:8080`).
    pub upstream_addr: Option<String>,
}

/// Where the zone of the error log's times came from.
#[derive(Clone, Debug, PartialEq)]
pub enum ZoneSource {
    /// The access record's own offset (seconds east of UTC).
    AccessLog(i32),
    /// `--tz`.
    Option(jiff::tz::TimeZone),
    /// Nothing said: UTC, noted.
    AssumedUtc,
}

impl ZoneSource {
    /// Choose: the access record's offset when it has a time, else `--tz`, else UTC.
    pub fn choose(access: Option<LogTime>, tz: Option<&jiff::tz::TimeZone>) -> ZoneSource {
        match (access, tz) {
            (Some(t), _) => ZoneSource::AccessLog(t.offset_s),
            (None, Some(tz)) => ZoneSource::Option(tz.clone()),
            (None, None) => ZoneSource::AssumedUtc,
        }
    }

    /// The error-log wall-clock time (µs, read as UTC) placed in this zone.
    pub fn place(&self, wall_us: i64) -> LogTime {
        match self {
            ZoneSource::AccessLog(off) => LogTime { unix_us: wall_us - *off as i64 * 1_000_000, offset_s: *off },
            ZoneSource::Option(tz) => crate::format::plain::in_zone(LogTime::from_unix_us(wall_us), tz),
            ZoneSource::AssumedUtc => LogTime::from_unix_us(wall_us),
        }
    }

    /// How the zone was chosen, in words.
    pub fn describe(&self) -> String {
        match self {
            ZoneSource::AccessLog(off) => format!("error-log times read in {} (the access log's offset)", offset(*off)),
            ZoneSource::Option(tz) => {
                format!("error-log times read in {} (--tz)", tz.iana_name().unwrap_or("the zone given"))
            }
            ZoneSource::AssumedUtc => {
                "error-log times carry no zone and no access log or --tz gave one: read as UTC".to_string()
            }
        }
    }
}

/// `+02:00`.
pub fn offset(s: i32) -> String {
    let sign = if s < 0 { '-' } else { '+' };
    let a = s.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60)
}

/// Parse `--tz`: an offset (`+02:00`, `-0530`, `Z`) or an IANA name (`Europe/Paris`).
pub fn parse_tz(s: &str) -> anyhow::Result<jiff::tz::TimeZone> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") {
        return Ok(jiff::tz::TimeZone::UTC);
    }
    if let Some(sign) = t.strip_prefix('+').map(|r| (1, r)).or_else(|| t.strip_prefix('-').map(|r| (-1, r))) {
        let (k, rest) = sign;
        // `+HH`, `+HHMM` or `+HH:MM`
        let digits: String = match rest.len() {
            5 if rest.as_bytes()[2] == b':' => rest.replacen(':', "", 1),
            _ => rest.to_string(),
        };
        let ok = (digits.len() == 2 || digits.len() == 4) && digits.chars().all(|c| c.is_ascii_digit());
        if ok {
            let h: i32 = digits[..2].parse()?;
            let m: i32 = if digits.len() == 4 { digits[2..].parse()? } else { 0 };
            if h <= 25 && m < 60 {
                let off = jiff::tz::Offset::from_seconds(k * (h * 3600 + m * 60))?;
                return Ok(jiff::tz::TimeZone::fixed(off));
            }
        }
        anyhow::bail!("invalid --tz {s:?}: an offset is written +02:00 or -0530");
    }
    jiff::tz::TimeZone::get(t).map_err(|e| anyhow::anyhow!("invalid --tz {s:?}: {e}"))
}

/// The result of joining one access record.
#[derive(Clone, Debug, PartialEq)]
pub struct Join {
    /// Indexes (into the candidates) of the error-log lines joined, in the order given.
    pub matched: Vec<usize>,
    /// More than one request could own them: they come from more than one connection.
    pub ambiguous: bool,
    /// How the error log's zone was chosen.
    pub zone: ZoneSource,
}

fn same_upstream(access: Option<&str>, error: Option<&str>) -> bool {
    match (access, error) {
        // `$upstream_addr` lists attempts with `, ` and internal redirects with ` : `
        (Some(a), Some(e)) => a.split(',').flat_map(|p| p.split(" : ")).any(|one| one.trim() == e),
        _ => true, // only one side logs it: it does not decide
    }
}

/// The error-log lines among `lines` about the request `key` describes.
pub fn join(key: &AccessKey, lines: &[ErrorLine<'_>], tz: Option<&jiff::tz::TimeZone>) -> Join {
    let zone = ZoneSource::choose(Some(key.time), tz);
    let end = key.time.unix_us;
    let start = end - key.duration_us.map_or(0, |d| d as i64);
    let matched: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let r = &l.record;
            let t = zone.place(l.wall_us).unix_us;
            r.client.as_deref() == Some(key.client.as_str())
                && r.method.as_deref() == Some(key.method.as_str())
                && r.path.as_deref() == Some(key.path.as_str())
                && same_upstream(key.upstream_addr.as_deref(), r.upstream_addr.as_deref())
                && t >= start - SLACK_US
                && t <= end + AFTER_US
        })
        .map(|(i, _)| i)
        .collect();
    let mut conns: Vec<Option<u64>> = matched.iter().map(|&i| lines[i].connection).collect();
    conns.sort_unstable();
    conns.dedup();
    Join { ambiguous: conns.len() > 1, matched, zone }
}

/// An error-log line read from a source, kept to be joined.
#[derive(Clone, Debug)]
pub struct Found {
    /// The source's path.
    pub path: String,
    /// 1-based line number.
    pub line: u64,
    /// The line as read.
    pub raw: Vec<u8>,
}

impl Found {
    /// The line, parsed (only error-log lines are kept, so this reads).
    pub fn parse(&self) -> ErrorLine<'_> {
        crate::format::nginx_error::parse(&self.raw).expect("kept because it read as an error-log line")
    }
}

/// Error-log lines kept per source for the join: a request that failed a thousand times is not read further.
const LINES_KEPT: usize = 1000;

/// The error-log lines in `sources` that name the client and request of one of `keys` (any time).
pub fn read_candidates(
    keys: &[AccessKey],
    sources: &[(String, Option<crate::record::Role>)],
    opts: &crate::input::ScanOptions,
    errors: &mut Vec<anyhow::Error>,
) -> Vec<Found> {
    let wanted = |rec: &crate::record::Record<'_>| {
        rec.status.is_none()
            && keys.iter().any(|k| {
                rec.client.as_deref() == Some(k.client.as_str())
                    && rec.method.as_deref() == Some(k.method.as_str())
                    && rec.path.as_deref() == Some(k.path.as_str())
            })
    };
    let mut found = Vec::new();
    for (path, role) in sources {
        match crate::matching::find(path, *role, opts, crate::matching::Keep::Ends(LINES_KEPT), wanted) {
            Ok(m) => found.extend(
                m.lines.into_iter().filter(|l| crate::format::nginx_error::parse(&l.raw).is_some()).map(|l| Found {
                    path: path.clone(),
                    line: l.line,
                    raw: l.raw,
                }),
            ),
            Err(e) => errors.push(e),
        }
    }
    found
}

/// What a gateway record offers the join: its time, duration, client and request line.
pub fn access_key(rec: &crate::record::Record<'_>) -> Option<AccessKey> {
    rec.status?;
    Some(AccessKey {
        time: rec.time?,
        duration_us: rec.duration_us,
        client: rec.client.as_deref()?.to_string(),
        method: rec.method.as_deref()?.to_string(),
        path: rec.path.as_deref()?.to_string(),
        upstream_addr: rec.upstream_addr.as_deref().map(str::to_string),
    })
}

/// For the diagnosis: the 502/504 records of the gateway sources (at most `per_source` of each end of each),
/// joined to the error-log lines in `sources`; each joined cause goes into `evidence` under the record's status.
pub fn causes_into(
    sources: &[(String, Option<crate::record::Role>)],
    gateways: &[String],
    opts: &crate::input::ScanOptions,
    per_source: usize,
    evidence: &mut crate::diagnose::EvidenceSet,
) {
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    for path in gateways {
        let keep = crate::matching::Keep::Ends(per_source);
        let accept = |r: &crate::record::Record<'_>| matches!(r.status, Some(502 | 504));
        if let Ok(m) = crate::matching::find(path, Some(crate::record::Role::Gateway), opts, keep, accept) {
            for l in &m.lines {
                let rec = m.record(l);
                if let (Some(status), Some(k)) = (rec.status, access_key(&rec)) {
                    keys.push((status, k));
                }
            }
        }
    }
    if keys.is_empty() {
        return;
    }
    let only: Vec<AccessKey> = keys.iter().map(|(_, k)| k.clone()).collect();
    let found = read_candidates(&only, sources, opts, &mut errors);
    let lines: Vec<ErrorLine<'_>> = found.iter().map(Found::parse).collect();
    if lines.is_empty() {
        return;
    }
    for (status, key) in &keys {
        let j = join(key, &lines, opts.parse.local_tz.as_ref());
        if let Some(&i) = j.matched.first()
            && let Some(m) = &lines[i].record.message
        {
            evidence.add_error_log_cause(*status, m);
        }
    }
}

/// When nothing joined: an error-log line naming the same client and request a whole number of quarter hours
/// away (a zone the join did not know), as the shift in seconds, so that it is said rather than missed.
pub fn zone_mismatch(key: &AccessKey, lines: &[ErrorLine<'_>], zone: &ZoneSource) -> Option<i64> {
    const QUARTER_US: i64 = 900_000_000;
    let start = key.time.unix_us - key.duration_us.map_or(0, |d| d as i64);
    lines.iter().find_map(|l| {
        let r = &l.record;
        let same = r.client.as_deref() == Some(key.client.as_str())
            && r.method.as_deref() == Some(key.method.as_str())
            && r.path.as_deref() == Some(key.path.as_str());
        let t = zone.place(l.wall_us).unix_us;
        let shift = ((key.time.unix_us - t) as f64 / QUARTER_US as f64).round() as i64 * QUARTER_US;
        let moved = t + shift;
        (same && shift != 0 && moved >= start - SLACK_US && moved <= key.time.unix_us + AFTER_US)
            .then_some(shift / 1_000_000)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::nginx_error;

    fn t(s: &str) -> LogTime {
        let z: jiff::Zoned = s.parse().unwrap();
        LogTime { unix_us: z.timestamp().as_microsecond(), offset_s: z.offset().seconds() }
    }

    fn key(time: &str) -> AccessKey {
        AccessKey {
            time: t(time),
            duration_us: Some(1_004_000),
            client: "10.0.0.1".into(),
            method: "GET".into(),
            path: "/v1/orders/1".into(),
            upstream_addr: Some("10.0.0.7:8080".into()),
        }
    }

    const REFUSED: &str = r#"2024/05/01 12:03:17 [error] 31#31: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: api, request: "GET /v1/orders/1 HTTP/1.1", upstream: "http://10.0.0.7:8080/v1/orders/1", host: "api""#;

    fn lines(raw: &[String]) -> Vec<ErrorLine<'_>> {
        raw.iter().map(|l| nginx_error::parse(l.as_bytes()).unwrap()).collect()
    }

    #[test]
    fn exact() {
        let raw = vec![
            REFUSED.to_string(),
            REFUSED.replace("10.0.0.1,", "10.0.0.2,"), // another client
            REFUSED.replace("GET /v1/orders/1 ", "GET /v1/orders/2 "), // another request
            REFUSED.replace("10.0.0.7:8080", "10.0.0.8:8080"), // another upstream
            REFUSED.replace("12:03:17", "12:03:10"),   // long before
        ];
        let l = lines(&raw);
        let j = join(&key("2024-05-01T12:03:18+00:00[UTC]"), &l, None);
        assert_eq!(j.matched, vec![0]);
        assert!(!j.ambiguous);
        assert_eq!(j.zone, ZoneSource::AccessLog(0));
    }

    #[test]
    fn ambiguous_when_two_connections_fit() {
        let raw = vec![REFUSED.to_string(), REFUSED.replace("*5 ", "*6 ")];
        let l = lines(&raw);
        let j = join(&key("2024-05-01T12:03:17+00:00[UTC]"), &l, None);
        assert_eq!(j.matched, vec![0, 1]);
        assert!(j.ambiguous);
        // two lines of one connection (a retry to the next upstream) are one request's
        let raw = vec![REFUSED.to_string(), REFUSED.to_string()];
        let l = lines(&raw);
        assert!(!join(&key("2024-05-01T12:03:17+00:00[UTC]"), &l, None).ambiguous);
    }

    #[test]
    fn none_when_the_error_is_after_the_request() {
        let raw = vec![REFUSED.replace("12:03:17", "12:03:30")];
        let l = lines(&raw);
        let j = join(&key("2024-05-01T12:03:18+00:00[UTC]"), &l, None);
        assert!(j.matched.is_empty());
        assert!(!j.ambiguous);
    }

    #[test]
    fn the_access_logs_offset_places_the_error_logs_local_time() {
        // the host runs at +02:00: its error log says 12:03:17, its access log 12:03:18 +0200 (10:03:18 UTC)
        let raw = vec![REFUSED.to_string()];
        let l = lines(&raw);
        let j = join(&key("2024-05-01T12:03:18+02:00[+02:00]"), &l, None);
        assert_eq!(j.matched, vec![0]);
        assert_eq!(j.zone, ZoneSource::AccessLog(7200));
        assert_eq!(j.zone.place(l[0].wall_us), t("2024-05-01T12:03:17+02:00[+02:00]"));
        // read as UTC, the same line would be two hours off and join nothing
        let utc_key = AccessKey {
            time: LogTime { offset_s: 0, ..key("2024-05-01T12:03:18+02:00[+02:00]").time },
            ..key("2024-05-01T12:03:18+02:00[+02:00]")
        };
        assert!(join(&utc_key, &l, None).matched.is_empty());
    }

    #[test]
    fn a_zone_off_by_hours_is_said() {
        let raw = vec![REFUSED.to_string()];
        let l = lines(&raw);
        // the access log is written in UTC (10:03:18Z) by a host whose error log says 12:03:17 (+02:00)
        let k = key("2024-05-01T10:03:18+00:00[UTC]");
        let j = join(&k, &l, None);
        assert!(j.matched.is_empty());
        assert_eq!(zone_mismatch(&k, &l, &j.zone), Some(-7200));
        // a line of another request is no hint
        let other = vec![REFUSED.replace("/v1/orders/1 ", "/v1/orders/9 ")];
        assert_eq!(zone_mismatch(&k, &lines(&other), &j.zone), None);
    }

    #[test]
    fn tz_option_and_its_absence() {
        let paris = parse_tz("Europe/Paris").unwrap();
        let z = ZoneSource::choose(None, Some(&paris));
        let wall = nginx_error::parse(REFUSED.as_bytes()).unwrap().wall_us;
        // May: Paris is at +02:00
        assert_eq!(z.place(wall), t("2024-05-01T12:03:17+02:00[+02:00]"));
        let fixed = parse_tz("-05:30").unwrap();
        assert_eq!(ZoneSource::choose(None, Some(&fixed)).place(wall).offset_s, -19_800);
        assert_eq!(parse_tz("+0200").unwrap(), parse_tz("+02:00").unwrap());
        assert!(parse_tz("+2:0").is_err() && parse_tz("Mars/Olympus").is_err());
        let none = ZoneSource::choose(None, None);
        assert_eq!(none, ZoneSource::AssumedUtc);
        assert!(none.describe().contains("read as UTC"));
        assert_eq!(none.place(wall), t("2024-05-01T12:03:17+00:00[UTC]"));
    }
}
