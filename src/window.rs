//! `--since` / `--until`: the stretch of log time a command reads, and where it lies in a file, found by binary
//! search on the lines' own times so that the last hour of a 10 GB log costs what that hour costs.
//!
//! Lines are nearly in time order (a proxy writes a request's line when it ends, so a slow request's line comes
//! after faster ones that started later): the search aims [`DISORDER_US`] early and the records outside the
//! window are then dropped one by one, so the window is exact.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::format::Parser;

/// How far out of order lines may be written: the search starts this much before the window.
pub const DISORDER_US: i64 = 120_000_000;

/// A stretch of log time, µs since the epoch: `since` included, `until` excluded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// The first µs in it (`--since`), if bounded.
    pub since_us: Option<i64>,
    /// The first µs after it (`--until`), if bounded.
    pub until_us: Option<i64>,
}

impl Window {
    /// From `--since` and `--until` (either may be absent); `None` when both are. Clock times and dates without a
    /// zone are read in `tz` (`--tz`), else in the machine's zone.
    pub fn parse(since: Option<&str>, until: Option<&str>, tz: Option<&TimeZone>) -> anyhow::Result<Option<Window>> {
        let now = Timestamp::now();
        let zone = tz.cloned().unwrap_or_else(TimeZone::system);
        let at = |flag: &str, v: Option<&str>| -> anyhow::Result<Option<i64>> {
            v.map(|v| point(v, &zone, now).map_err(|e| anyhow::anyhow!("invalid {flag} {v:?}: {e}"))).transpose()
        };
        let w = Window { since_us: at("--since", since)?, until_us: at("--until", until)? };
        if let (Some(s), Some(u)) = (w.since_us, w.until_us)
            && u <= s
        {
            anyhow::bail!("--until is not after --since: the window is empty");
        }
        Ok((w != Window::default()).then_some(w))
    }

    /// Whether a record with this time is inside; a record without a time is kept (it is placed by its line).
    #[inline]
    pub fn contains(&self, unix_us: Option<i64>) -> bool {
        let Some(t) = unix_us else { return true };
        self.since_us.is_none_or(|s| t >= s) && self.until_us.is_none_or(|u| t < u)
    }

    /// `since 2026-11-23T13:02:00Z until …`, for status lines and reports.
    pub fn describe(&self) -> String {
        let at = |us: i64| crate::record::LogTime::from_unix_us(us).to_rfc3339_utc();
        match (self.since_us, self.until_us) {
            (Some(s), Some(u)) => format!("{} … {}", at(s), at(u)),
            (Some(s), None) => format!("since {}", at(s)),
            (None, Some(u)) => format!("until {}", at(u)),
            (None, None) => "all".into(),
        }
    }
}

/// One end of a window: `30m`, `1h30m`, `2d` (that long before now), `13:02` or `13:02:30` (the last such time of
/// day, today or yesterday), `2026-11-23` (midnight), `2026-11-23T13:02:00Z` or `2026-11-23 13:02` (a date-time,
/// in `zone` when it has no offset).
pub fn point(v: &str, zone: &TimeZone, now: Timestamp) -> anyhow::Result<i64> {
    let v = v.trim();
    if v.starts_with(|c: char| c.is_ascii_digit()) && !v.contains([':', '-']) || v.starts_with('P') {
        let span: jiff::Span = v.parse().map_err(|_| anyhow::anyhow!("not a duration like 30m, 2h or 1d"))?;
        // a day back is 24 hours back, as `journalctl --since -1d` means
        let d: SignedDuration = span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())?;
        anyhow::ensure!(!d.is_negative(), "a duration back from now cannot be negative");
        return Ok(now.checked_sub(d)?.as_microsecond());
    }
    if let Ok(t) = v.parse::<Timestamp>() {
        return Ok(t.as_microsecond());
    }
    if let Ok(dt) = v.replacen(' ', "T", 1).parse::<jiff::civil::DateTime>() {
        return Ok(dt.to_zoned(zone.clone())?.timestamp().as_microsecond());
    }
    if let Ok(time) = v.parse::<jiff::civil::Time>() {
        let today = now.to_zoned(zone.clone()).date();
        let mut at = today.to_datetime(time).to_zoned(zone.clone())?.timestamp();
        if at > now {
            at = today.yesterday()?.to_datetime(time).to_zoned(zone.clone())?.timestamp();
        }
        return Ok(at.as_microsecond());
    }
    anyhow::bail!("not a time: give 30m, 13:02, 2026-11-23 or 2026-11-23T13:02:00Z")
}

/// Bytes read at each probe of the search: enough for a few lines of any common format.
const PROBE: usize = 64 << 10;
/// Past this, a probe that found no timed line gives up (a stretch of untimed lines).
const PROBE_MAX: usize = 4 << 20;

/// The time of the first line with one at or after byte `at` (a line starting there, or the next whole one),
/// and where that line starts; `None` when none is found before `end` (or within [`PROBE_MAX`]).
fn probe(file: &mut File, at: u64, end: u64, parser: &Parser) -> io::Result<Option<(i64, u64)>> {
    let mut buf = Vec::new();
    let mut read_at = at;
    let mut skip_partial = at > 0;
    let mut start = at;
    while buf.len() < PROBE_MAX && read_at < end {
        let want = PROBE.min((end - read_at) as usize);
        let have = buf.len();
        buf.resize(have + want, 0);
        file.seek(SeekFrom::Start(read_at))?;
        let n = read_full(file, &mut buf[have..])?;
        buf.truncate(have + n);
        if n == 0 {
            break;
        }
        read_at += n as u64;
        let mut pos = 0;
        if skip_partial {
            // the byte before `at` decides whether a line starts at `at`
            match memchr::memchr(b'\n', &buf) {
                Some(nl) => {
                    pos = nl + 1;
                    skip_partial = false;
                }
                None => continue,
            }
        }
        while let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) {
            let line = crate::format::trim_line(&buf[pos..pos + nl]);
            if let Some(t) = parser.parse(line).and_then(|r| r.time) {
                return Ok(Some((t.unix_us, start + pos as u64)));
            }
            pos += nl + 1;
        }
        // keep the unfinished line: drop what was looked at
        buf.drain(..pos);
        start += pos as u64;
    }
    Ok(None)
}

fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The start of the first line of `file` (of `len` bytes) whose time is at or after `t_us`, give or take lines
/// written out of order: a line start from which reading finds every line at or after `t_us` –
/// [`DISORDER_US`]. `len` when every timed line is earlier.
pub fn first_at(file: &mut File, len: u64, parser: &Parser, t_us: i64) -> io::Result<u64> {
    let target = t_us.saturating_sub(DISORDER_US);
    // invariant: the answer lies in [lo, hi]; `lo` is a line start
    let (mut lo, mut hi) = (0u64, len);
    while hi - lo > PROBE as u64 {
        let mid = lo + (hi - lo) / 2;
        match probe(file, mid, hi, parser)? {
            Some((t, line_start)) if t < target => lo = line_start.max(lo),
            Some(_) => hi = mid,
            // nothing timed from the middle to `hi`: the answer is before, or is `hi`
            None => hi = mid,
        }
        if lo >= hi {
            break;
        }
    }
    // from `lo`, the first line at or after the target
    file.seek(SeekFrom::Start(lo))?;
    let mut input = io::BufReader::with_capacity(PROBE, Read::take(&mut *file, len - lo));
    let (mut line, mut at) = (Vec::new(), lo);
    loop {
        line.clear();
        let n = io::BufRead::read_until(&mut input, b'\n', &mut line)?;
        if n == 0 {
            return Ok(len);
        }
        let text = crate::format::trim_line(line.strip_suffix(b"\n").unwrap_or(&line));
        if parser.parse(text).and_then(|r| r.time).is_some_and(|t| t.unix_us >= target) {
            return Ok(at);
        }
        at += n as u64;
    }
}

/// The byte range of `path` that holds the window's lines (from the first line at or after `since`, to the first
/// at or after `until`), or `None` when the file cannot be searched (not a regular file).
pub fn byte_range(path: &str, parser: &Parser, w: &Window) -> io::Result<Option<(u64, u64)>> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    let len = meta.len();
    let start = match w.since_us {
        Some(s) => first_at(&mut file, len, parser, s)?,
        None => 0,
    };
    // the end aims late by as much as the start aims early
    let end = match w.until_us {
        Some(u) => first_at(&mut file, len, parser, u.saturating_add(2 * DISORDER_US))?,
        None => len,
    };
    Ok(Some((start, end.max(start))))
}

/// How many lines end before byte `offset` of `path`: the number of the line before the one starting there.
pub fn lines_before(path: &str, offset: u64) -> io::Result<u64> {
    let mut input = File::open(path)?.take(offset);
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0;
    loop {
        let k = match input.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        n += memchr::memchr_iter(b'\n', &buf[..k]).count() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn points() {
        let now = ts("2026-11-23T14:00:00Z");
        let utc = TimeZone::UTC;
        let us = |s: &str| ts(s).as_microsecond();
        assert_eq!(point("30m", &utc, now).unwrap(), us("2026-11-23T13:30:00Z"));
        assert_eq!(point("1h30m", &utc, now).unwrap(), us("2026-11-23T12:30:00Z"));
        assert_eq!(point("2d", &utc, now).unwrap(), us("2026-11-21T14:00:00Z"));
        assert_eq!(point("13:02", &utc, now).unwrap(), us("2026-11-23T13:02:00Z"));
        // a time of day still to come today is yesterday's
        assert_eq!(point("15:00", &utc, now).unwrap(), us("2026-11-22T15:00:00Z"));
        assert_eq!(point("2026-11-23T13:02:00Z", &utc, now).unwrap(), us("2026-11-23T13:02:00Z"));
        assert_eq!(point("2026-11-23T13:02:00+01:00", &utc, now).unwrap(), us("2026-11-23T12:02:00Z"));
        let paris = TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(point("2026-11-23 13:02", &paris, now).unwrap(), us("2026-11-23T12:02:00Z"));
        assert_eq!(point("13:02", &paris, now).unwrap(), us("2026-11-23T12:02:00Z"));
        assert_eq!(point("2026-11-23", &utc, now).unwrap(), us("2026-11-23T00:00:00Z"));
        for bad in ["yesterday", "13h62", "-5m", "2026-13-40"] {
            assert!(point(bad, &utc, now).is_err(), "{bad}");
        }
    }

    fn nginx_file(times: &[i64]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for (i, &t) in times.iter().enumerate() {
            let at = Timestamp::from_second(t).unwrap().strftime("%d/%b/%Y:%H:%M:%S +0000");
            writeln!(f, r#"10.0.0.1 - - [{at}] "GET /v1/x/{i} HTTP/1.1" 200 12 "-" "curl/8""#).unwrap();
        }
        f
    }

    #[test]
    fn finds_the_first_line_of_the_window_in_a_nearly_ordered_file() {
        let base = 1_700_000_000;
        // a line a second for ten hours, each now and then written up to 30 s late
        let times: Vec<i64> = (0..36_000).map(|i| base + i - if i % 97 == 0 { 30 } else { 0 }).collect();
        let f = nginx_file(&times);
        let parser = Parser::new(crate::format::Format::Nginx, Default::default());
        let text = std::fs::read_to_string(f.path()).unwrap();
        let starts: Vec<u64> =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i as u64 + 1)).take(times.len()).collect();
        for since in [base - 100, base, base + 5_000, base + 35_990, base + 40_000] {
            let w = Window { since_us: Some(since * 1_000_000), until_us: None };
            let (start, end) = byte_range(f.path().to_str().unwrap(), &parser, &w).unwrap().unwrap();
            assert_eq!(end, text.len() as u64);
            // every line in the window is after the start, and the start is a line start at most the disorder
            // allowance (and the lines written late around it) before the window
            let first_in = times.iter().position(|&t| t >= since);
            match first_in {
                Some(i) => {
                    assert!(start <= starts[i], "since {since}: start {start} after the first line in the window");
                    let skipped_late = times.iter().zip(&starts).any(|(&t, &s)| s < start && t >= since);
                    assert!(!skipped_late, "since {since}: a line in the window lies before the start");
                    let line = starts.iter().position(|&s| s == start).expect("a line start");
                    assert!(times[line] >= since - 120 - 30, "since {since}: starts too early, at {}", times[line]);
                }
                None => assert_eq!(start, text.len() as u64),
            }
        }
    }

    #[test]
    fn the_end_of_a_window() {
        let base = 1_700_000_000;
        let times: Vec<i64> = (0..10_000).map(|i| base + i).collect();
        let f = nginx_file(&times);
        let parser = Parser::new(crate::format::Format::Nginx, Default::default());
        let w = Window { since_us: Some((base + 1_000) * 1_000_000), until_us: Some((base + 2_000) * 1_000_000) };
        let path = f.path().to_str().unwrap();
        let (start, end) = byte_range(path, &parser, &w).unwrap().unwrap();
        let text = std::fs::read(f.path()).unwrap();
        let inside = &text[start as usize..end as usize];
        let parsed: Vec<i64> = inside
            .split(|&b| b == b'\n')
            .filter_map(|l| parser.parse(l).and_then(|r| r.time))
            .map(|t| t.unix_us / 1_000_000)
            .collect();
        // all of the window, and not much else
        assert!(parsed.contains(&(base + 1_000)) && parsed.contains(&(base + 1_999)));
        assert!(parsed.len() < 1_000 + 4 * 120 + 10, "{} lines read", parsed.len());
        assert_eq!(lines_before(path, start).unwrap(), (parsed[0] - base) as u64);
    }
}
