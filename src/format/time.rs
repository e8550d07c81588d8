//! Timestamp parsing: CLF (`10/Oct/2000:13:55:36 -0700`), ISO 8601 / RFC 3339, and epoch numbers.
//!
//! Hand-written for the hot path (no allocation, no regex); cross-checked against jiff in tests.

use crate::record::LogTime;

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm; inverse of
/// [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    if b.is_empty() {
        return None;
    }
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u32;
    }
    Some(v)
}

fn month_abbr(b: &[u8]) -> Option<u32> {
    if b.len() != 3 {
        return None;
    }
    let m = [b[0].to_ascii_lowercase(), b[1].to_ascii_lowercase(), b[2].to_ascii_lowercase()];
    Some(match &m {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

fn valid(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> bool {
    (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && s <= 60 && (1..=9999).contains(&y)
}

/// Build a time from a civil date `(y, m, d)`, a clock `(h, m, s)`, microseconds and the zone offset.
fn assemble((y, mo, d): (i64, u32, u32), (h, mi, s): (u32, u32, u32), frac_us: i64, offset_s: i32) -> Option<LogTime> {
    if !valid(y, mo, d, h, mi, s) {
        return None;
    }
    let local = days_from_civil(y, mo, d) * 86_400 + (h * 3600 + mi * 60 + s) as i64;
    Some(LogTime { unix_us: (local - offset_s as i64) * 1_000_000 + frac_us, offset_s })
}

/// Fractional seconds after the dot, as microseconds; returns (µs, bytes consumed).
fn fraction(b: &[u8]) -> (i64, usize) {
    let mut n = 0;
    let mut us: i64 = 0;
    while n < b.len() && b[n].is_ascii_digit() {
        if n < 6 {
            us = us * 10 + (b[n] - b'0') as i64;
        }
        n += 1;
    }
    for _ in n..6 {
        us *= 10;
    }
    (us, n)
}

/// Zone offset `Z`, `+0200`, `+02:00`, `-07`, ` -0700`; returns (seconds, bytes consumed).
fn offset(b: &[u8]) -> Option<(i32, usize)> {
    let b0 = *b.first()?;
    if b0 == b'Z' || b0 == b'z' {
        return Some((0, 1));
    }
    let sign = match b0 {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h = digits(b.get(1..3)?)?;
    let (m, used) = match b.get(3) {
        Some(b':') => (digits(b.get(4..6)?)?, 6),
        Some(c) if c.is_ascii_digit() => (digits(b.get(3..5)?)?, 5),
        _ => (0, 3),
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some((sign * (h * 3600 + m * 60) as i32, used))
}

/// CLF time as nginx/Apache write `$time_local`: `10/Oct/2000:13:55:36 -0700`
/// (HAProxy adds milliseconds: `06/Feb/2009:12:14:14.655`, and has no zone).
pub fn parse_clf(b: &[u8]) -> Option<LogTime> {
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[14] != b':' || b[17] != b':' {
        return None;
    }
    let d = digits(&b[0..2])?;
    let mo = month_abbr(&b[3..6])?;
    let y = digits(&b[7..11])? as i64;
    let h = digits(&b[12..14])?;
    let mi = digits(&b[15..17])?;
    let s = digits(&b[18..20])?;
    let mut rest = &b[20..];
    let mut frac = 0;
    if rest.first() == Some(&b'.') {
        let (us, n) = fraction(&rest[1..]);
        frac = us;
        rest = &rest[1 + n..];
    }
    let rest = rest.trim_ascii();
    let off = match rest {
        [] => 0,
        _ => match offset(rest)? {
            (off, used) if used == rest.len() => off,
            _ => return None, // anything after the zone is not a time
        },
    };
    assemble((y, mo, d), (h, mi, s), frac, off)
}

/// [`parse_clf`] with a one-entry cache per thread: consecutive access-log lines mostly share their second.
pub fn parse_clf_cached(b: &[u8]) -> Option<LogTime> {
    use std::cell::Cell;
    thread_local! {
        /// The last text parsed, as its first and last 16 bytes (together they cover 16..=32 bytes) and length.
        static LAST: Cell<(u128, u128, usize, Option<LogTime>)> = const { Cell::new((0, 0, usize::MAX, None)) };
    }
    if !(16..=32).contains(&b.len()) {
        return parse_clf(b);
    }
    let head = u128::from_le_bytes(b[..16].try_into().expect("16 bytes"));
    let tail = u128::from_le_bytes(b[b.len() - 16..].try_into().expect("16 bytes"));
    let (h, t, len, time) = LAST.get();
    if len == b.len() && h == head && t == tail {
        return time;
    }
    let time = parse_clf(b);
    LAST.set((head, tail, b.len(), time));
    time
}

/// ISO 8601 / RFC 3339: `2024-05-01T12:00:00Z`, `2024-05-01 12:00:00.123+02:00`, `…+0200`.
/// A time without a zone is taken as UTC.
pub fn parse_iso(b: &[u8]) -> Option<LogTime> {
    let b = b.trim_ascii();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let y = digits(&b[0..4])? as i64;
    let mo = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    let h = digits(&b[11..13])?;
    let mi = digits(&b[14..16])?;
    let s = digits(&b[17..19])?;
    let mut rest = &b[19..];
    let mut frac = 0;
    if matches!(rest.first(), Some(b'.') | Some(b',')) {
        let (us, n) = fraction(&rest[1..]);
        if n == 0 {
            return None;
        }
        frac = us;
        rest = &rest[1 + n..];
    }
    let rest = rest.trim_ascii_start();
    let off = if rest.is_empty() {
        0
    } else {
        let (o, used) = offset(rest)?;
        // tolerate trailing zone names such as "+00:00 UTC"
        if used < rest.len() && !rest[used].is_ascii_whitespace() {
            return None;
        }
        o
    };
    assemble((y, mo, d), (h, mi, s), frac, off)
}

/// An epoch number whose unit is guessed from its magnitude: seconds, ms, µs or ns.
/// Fractional seconds (`1714564800.123`) are accepted.
pub fn from_epoch_guess(v: f64) -> Option<LogTime> {
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    let us = if v < 1e11 {
        v * 1e6 // seconds (until year 5138)
    } else if v < 1e14 {
        v * 1e3 // milliseconds
    } else if v < 1e17 {
        v // microseconds
    } else {
        v / 1e3 // nanoseconds
    };
    Some(LogTime::from_unix_us(us.round() as i64))
}

/// Epoch text (`1714564800`, `1714564800123`, `1714564800.123`) with the unit guessed.
pub fn parse_epoch(b: &[u8]) -> Option<LogTime> {
    let b = b.trim_ascii();
    if b.is_empty() || !b.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
        return None;
    }
    let s = std::str::from_utf8(b).ok()?;
    from_epoch_guess(s.parse().ok()?)
}

/// Any of the above: ISO, CLF, then epoch.
pub fn parse_any(b: &[u8]) -> Option<LogTime> {
    let b = b.trim_ascii();
    parse_iso(b).or_else(|| parse_clf(b)).or_else(|| parse_epoch(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn jiff_us(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_microsecond()
    }

    proptest! {
        #[test]
        fn civil_round_trip(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn cached_clf_agrees() {
        for s in
            ["10/Oct/2000:13:55:36 -0700", "10/Oct/2000:13:55:36 -0700", "10/Oct/2000:13:55:37 +0200", "bad", "bad"]
        {
            assert_eq!(parse_clf_cached(s.as_bytes()), parse_clf(s.as_bytes()), "{s}");
        }
    }

    proptest! {
        /// The cache keys on the whole text: texts that differ in any byte, or only in length, never share it.
        #[test]
        fn cached_clf_agrees_on_near_misses(cut in 14usize..34, pos in 0usize..34, byte in any::<u8>()) {
            let base = b"10/Oct/2000:13:55:36.123456 -0700";
            for (a, b) in [(&base[..cut.min(base.len())], pos), (&base[..], pos)] {
                let mut changed = a.to_vec();
                if b < changed.len() {
                    changed[b] = byte;
                }
                for t in [a, &changed[..], a, &changed[..], &changed[..]] {
                    prop_assert_eq!(parse_clf_cached(t), parse_clf(t));
                }
            }
        }
    }

    #[test]
    fn clf() {
        let t = parse_clf(b"10/Oct/2000:13:55:36 -0700").unwrap();
        assert_eq!(t.unix_us, jiff_us("2000-10-10T13:55:36-07:00"));
        assert_eq!(t.offset_s, -7 * 3600);
        let t = parse_clf(b"06/Feb/2009:12:14:14.655").unwrap();
        assert_eq!(t.unix_us, jiff_us("2009-02-06T12:14:14.655Z"));
        assert!(parse_clf(b"10/Foo/2000:13:55:36 -0700").is_none());
        assert!(parse_clf(b"01/May/2024:12:00:02 +00]0").is_none(), "trailing bytes after the zone");
        assert!(parse_clf(b"01/May/2024:12:00:02 +0000x").is_none());
        assert!(parse_clf(b"10/Oct/2000:13]55:36 -0700").is_none());
        assert!(parse_clf(b"10/Oct/2000:13:55]36 -0700").is_none());
    }

    #[test]
    fn iso() {
        for s in [
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00.123456Z",
            "2024-05-01T12:00:00.123456789+02:00",
            "2023-12-31T23:59:59-05:30",
        ] {
            assert_eq!(parse_iso(s.as_bytes()).unwrap().unix_us, jiff_us(s), "{s}");
        }
        assert_eq!(parse_iso(b"2024-05-01 12:00:00,5+0200").unwrap().unix_us, jiff_us("2024-05-01T10:00:00.5Z"));
        assert_eq!(parse_iso(b"2024-05-01T12:00:00").unwrap().unix_us, jiff_us("2024-05-01T12:00:00Z"));
        assert!(parse_iso(b"2024-13-01T12:00:00Z").is_none());
        assert!(parse_iso(b"not a time at all!!").is_none());
    }

    #[test]
    fn epoch_units() {
        let want = jiff_us("2024-05-01T12:00:00Z");
        assert_eq!(parse_epoch(b"1714564800").unwrap().unix_us, want);
        assert_eq!(parse_epoch(b"1714564800000").unwrap().unix_us, want);
        assert_eq!(parse_epoch(b"1714564800000000").unwrap().unix_us, want);
        assert_eq!(parse_epoch(b"1714564800000000000").unwrap().unix_us, want);
        assert_eq!(parse_epoch(b"1714564800.250").unwrap().unix_us, want + 250_000);
    }

    proptest! {
        #[test]
        fn iso_matches_jiff(secs in 0i64..253_402_300_000, us in 0i64..1_000_000, off_min in -840i32..=840) {
            let ts = jiff::Timestamp::from_microsecond(secs * 1_000_000 + us).unwrap();
            let off = jiff::tz::Offset::from_seconds(off_min * 60).unwrap();
            let text = format!("{}", ts.display_with_offset(off));
            let got = parse_iso(text.as_bytes()).unwrap();
            prop_assert_eq!(got.unix_us, ts.as_microsecond());
            prop_assert_eq!(got.offset_s, off_min * 60);
        }

        #[test]
        fn clf_matches_jiff(secs in 0i64..253_402_300_000, off_min in -840i32..=840) {
            let ts = jiff::Timestamp::from_second(secs).unwrap();
            let off = jiff::tz::Offset::from_seconds(off_min * 60).unwrap();
            let z = ts.to_zoned(jiff::tz::TimeZone::fixed(off));
            let text = z.strftime("%d/%b/%Y:%H:%M:%S %z").to_string();
            let got = parse_clf(text.as_bytes()).unwrap();
            prop_assert_eq!(got.unix_us, ts.as_microsecond());
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_any(&bytes);
        }
    }
}
