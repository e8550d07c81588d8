//! Byte-level number, duration and placeholder helpers shared by every parser.

use std::borrow::Cow;

/// Trim ASCII whitespace from both ends.
pub fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// True for the placeholders logs use for "no value": empty, `-`, `""`, `null`.
pub fn is_placeholder(b: &[u8]) -> bool {
    matches!(b, b"" | b"-" | b"\"\"" | b"null" | b"\"-\"" | b"None" | b"nil")
}

/// A text field, or `None` for a placeholder. Invalid UTF-8 is replaced, not rejected.
pub fn text(b: &[u8]) -> Option<Cow<'_, str>> {
    let b = trim(b);
    if is_placeholder(b) {
        return None;
    }
    // `from_utf8` has an ASCII fast path; the lossy conversion only runs on invalid bytes
    Some(match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    })
}

/// Parse an unsigned decimal integer (no sign, no spaces).
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u64;
    }
    Some(v)
}

/// Parse an HTTP status: three digits, 100..=999 (nginx logs 499, HAProxy logs -1 or 0 for none).
#[inline]
pub fn parse_status(b: &[u8]) -> Option<u16> {
    let &[a, b, c] = b else { return None };
    let (a, b, c) = (a.wrapping_sub(b'0'), b.wrapping_sub(b'0'), c.wrapping_sub(b'0'));
    if a > 9 || b > 9 || c > 9 || a == 0 {
        return None;
    }
    Some(a as u16 * 100 + b as u16 * 10 + c as u16)
}

/// Parse a non-negative decimal like `0.123`, `12`, `1.5e-3` scaled by `scale` (e.g. 1e6 for seconds → µs).
///
/// Fast path for plain `digits[.digits]`; anything else goes through `f64` parsing.
pub fn parse_scaled(b: &[u8], scale: u64) -> Option<u64> {
    let b = trim(b);
    if b.is_empty() {
        return None;
    }
    let mut int: u64 = 0;
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        int = int.checked_mul(10)?.checked_add((b[i] - b'0') as u64)?;
        i += 1;
    }
    if i == b.len() && i > 0 {
        return int.checked_mul(scale);
    }
    if b[i] == b'.'
        && i + 1 < b.len()
        && let Some((num, digits)) = fraction(&b[i + 1..])
    {
        // round to nearest unit; `num` < 10¹², so `num * scale` only leaves u64 for huge scales
        let f = match num.checked_mul(scale).and_then(|n| n.checked_add(POW10[digits] / 2)) {
            Some(n) => div_pow10(n, digits),
            None => ((num as u128 * scale as u128 + POW10[digits] as u128 / 2) / POW10[digits] as u128) as u64,
        };
        return int.checked_mul(scale)?.checked_add(f);
    }
    let s = std::str::from_utf8(b).ok()?;
    let f: f64 = s.parse().ok()?;
    (f.is_finite() && f >= 0.0).then(|| (f * scale as f64).round() as u64)
}

const POW10: [u64; 13] = {
    let mut t = [1u64; 13];
    let mut i = 1;
    while i < t.len() {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// The first 12 digits of a fraction's digits as an integer, and how many were taken; `None` unless all are
/// digits.
#[inline]
fn fraction(frac: &[u8]) -> Option<(u64, usize)> {
    let mut num = 0u64;
    for (k, &c) in frac.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        if k < 12 {
            num = num * 10 + d as u64;
        }
    }
    Some((num, frac.len().min(12)))
}

/// `n / 10^k` for `k <= 12`, with constant divisors (the compiler turns each into a multiplication).
#[inline]
fn div_pow10(n: u64, k: usize) -> u64 {
    match k {
        0 => n,
        1 => n / 10,
        2 => n / 100,
        3 => n / 1_000,
        4 => n / 10_000,
        5 => n / 100_000,
        6 => n / 1_000_000,
        7 => n / 10_000_000,
        8 => n / 100_000_000,
        9 => n / 1_000_000_000,
        10 => n / 10_000_000_000,
        11 => n / 100_000_000_000,
        _ => n / 1_000_000_000_000,
    }
}

/// The longest duration a request can plausibly take: longer is not a duration but a broken or hostile field
/// (`1.8e308`), left unparsed rather than clamped into every percentile.
pub const MAX_DURATION_US: u64 = 86_400_000_000;

/// A duration in microseconds, when it is one a request can take.
#[inline]
pub fn plausible_us(us: u64) -> Option<u64> {
    (us <= MAX_DURATION_US).then_some(us)
}

/// Seconds (`0.123`) to microseconds.
#[inline]
pub fn secs_to_us(b: &[u8]) -> Option<u64> {
    secs_with_ms(b).or_else(|| parse_scaled(b, 1_000_000)).and_then(plausible_us)
}

/// Seconds with exactly three decimals, as nginx logs `$request_time` and `$upstream_response_time` (`0.018`):
/// 1 to 12 whole digits, a dot, three digits, nothing else. Whole milliseconds need no rounding, so this is
/// exactly what [`parse_scaled`] gives, in a few instructions instead of its general walk.
#[inline(always)]
fn secs_with_ms(b: &[u8]) -> Option<u64> {
    let n = b.len();
    if !(5..=16).contains(&n) || b[n - 4] != b'.' {
        return None;
    }
    let digit = |c: u8| {
        let d = c.wrapping_sub(b'0');
        (d < 10).then_some(d as u64)
    };
    let ms = digit(b[n - 3])? * 100 + digit(b[n - 2])? * 10 + digit(b[n - 1])?;
    let mut secs = 0u64;
    for &c in &b[..n - 4] {
        secs = secs * 10 + digit(c)?;
    }
    Some(secs * 1_000_000 + ms * 1_000)
}

/// Milliseconds (`123` or `12.5`) to microseconds.
pub fn ms_to_us(b: &[u8]) -> Option<u64> {
    parse_scaled(b, 1_000).and_then(plausible_us)
}

/// [`sum_list`] of seconds ([`secs_to_us`] each), with the one-entry, three-decimal case first: that is most
/// `$upstream_response_time` values, and it cannot hold a separator, so the result is the same.
#[inline]
pub fn sum_secs_to_us(b: &[u8]) -> Option<u64> {
    secs_with_ms(b).or_else(|| sum_list(b, secs_to_us)).and_then(plausible_us)
}

/// Sum a list of durations such as nginx's `0.001, 0.020` or `0.010 : 0.005`; `-` entries count as nothing.
/// Returns `None` when no entry parsed.
pub fn sum_list(b: &[u8], each: impl Fn(&[u8]) -> Option<u64>) -> Option<u64> {
    if !b.iter().any(|&c| c == b',' || c == b':') {
        return each(trim(b)); // one entry, the common case
    }
    let mut total: Option<u64> = None;
    for part in b.split(|&c| c == b',' || c == b':') {
        if let Some(v) = each(trim(part)) {
            total = Some(total.unwrap_or(0).saturating_add(v));
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn scaled_numbers() {
        assert_eq!(secs_to_us(b"0.123"), Some(123_000));
        assert_eq!(secs_to_us(b"12"), Some(12_000_000));
        assert_eq!(secs_to_us(b"0.0005"), Some(500));
        assert_eq!(secs_to_us(b"1.5e-3"), Some(1_500));
        assert_eq!(ms_to_us(b"250"), Some(250_000));
        assert_eq!(secs_to_us(b"-"), None);
        assert_eq!(secs_to_us(b"abc"), None);
        assert_eq!(secs_to_us(b"-1"), None);
    }

    /// The parsers as they were before their fast paths: the reference they must still agree with.
    mod reference {
        pub fn parse_scaled(b: &[u8], scale: u64) -> Option<u64> {
            let b = b.trim_ascii();
            if b.is_empty() {
                return None;
            }
            let mut int: u64 = 0;
            let mut i = 0;
            while i < b.len() && b[i].is_ascii_digit() {
                int = int.checked_mul(10)?.checked_add((b[i] - b'0') as u64)?;
                i += 1;
            }
            if i == b.len() && i > 0 {
                return int.checked_mul(scale);
            }
            if b[i] == b'.' && i + 1 < b.len() && b[i + 1..].iter().all(u8::is_ascii_digit) {
                let frac = &b[i + 1..];
                let mut num: u64 = 0;
                let mut den: u64 = 1;
                for &c in frac.iter().take(12) {
                    num = num * 10 + (c - b'0') as u64;
                    den *= 10;
                }
                let f = (num as u128 * scale as u128 + den as u128 / 2) / den as u128;
                return int.checked_mul(scale)?.checked_add(f as u64);
            }
            let s = std::str::from_utf8(b).ok()?;
            let f: f64 = s.parse().ok()?;
            (f.is_finite() && f >= 0.0).then(|| (f * scale as f64).round() as u64)
        }

        pub fn parse_status(b: &[u8]) -> Option<u16> {
            if b.len() != 3 {
                return None;
            }
            let v = super::parse_u64(b)? as u16;
            (100..=999).contains(&v).then_some(v)
        }

        pub fn sum_list(b: &[u8], each: impl Fn(&[u8]) -> Option<u64>) -> Option<u64> {
            let mut total: Option<u64> = None;
            for part in b.split(|&c| c == b',' || c == b':') {
                if let Some(v) = each(part.trim_ascii()) {
                    total = Some(total.unwrap_or(0).saturating_add(v));
                }
            }
            total
        }
    }

    fn number_text() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            8 => b'0'..=b'9',
            2 => Just(b'.'),
            1 => prop::sample::select(&b" ,:e-+x\t"[..]),
            1 => any::<u8>(),
        ];
        prop::collection::vec(byte, 0..24)
    }

    /// Seconds as the reference reads them, then held to what a request can take.
    fn reference_secs(b: &[u8]) -> Option<u64> {
        reference::parse_scaled(b, 1_000_000).and_then(plausible_us)
    }

    /// Mostly `digits.digits` of every width around the three-decimal fast path, some with junk.
    fn seconds_text() -> impl Strategy<Value = Vec<u8>> {
        let digits = |n| prop::collection::vec(b'0'..=b'9', 0..n);
        let junk = prop::sample::select(&b" -+e.x,\xff"[..]);
        (digits(15), digits(6), prop::option::of((0usize..22, junk))).prop_map(|(int, frac, junk)| {
            let mut b = [&int[..], b".", &frac[..]].concat();
            if let Some((at, c)) = junk {
                b.insert(at.min(b.len()), c);
            }
            b
        })
    }

    proptest! {
        #[test]
        fn seconds_match_reference(b in prop_oneof![seconds_text(), number_text()]) {
            prop_assert_eq!(secs_to_us(&b), reference_secs(&b));
            prop_assert_eq!(sum_secs_to_us(&b), reference::sum_list(&b, reference_secs).and_then(plausible_us));
        }

        #[test]
        fn fast_paths_match_reference(b in number_text(), scale in prop::sample::select(&[1u64, 1_000, 1_000_000, 1_000_000_000, u64::MAX / 3][..])) {
            prop_assert_eq!(parse_scaled(&b, scale), reference::parse_scaled(&b, scale));
            prop_assert_eq!(parse_status(&b), reference::parse_status(&b));
            prop_assert_eq!(sum_list(&b, secs_to_us), reference::sum_list(&b, secs_to_us));
            prop_assert_eq!(sum_secs_to_us(&b), reference::sum_list(&b, reference_secs).and_then(plausible_us));
            prop_assert_eq!(crate::record::StatusList::parse(&b), {
                let mut l = crate::record::StatusList::new();
                for part in b.split(|&c| c == b',' || c == b':') {
                    if let Some(c) = reference::parse_status(part.trim_ascii()) {
                        l.push(c);
                    }
                }
                l
            });
        }
    }

    #[test]
    fn scaled_edges() {
        for s in [
            "0.0000005",
            "0.0000004999",
            "1.999999999999999",
            "0.1234567890123456",
            "18446744073709.551615",
            "00.5",
            ".5",
            "5.",
            "1e3",
            "0.000",
        ] {
            for scale in [1, 1_000, 1_000_000, u64::MAX / 3] {
                assert_eq!(
                    parse_scaled(s.as_bytes(), scale),
                    reference::parse_scaled(s.as_bytes(), scale),
                    "{s} {scale}"
                );
            }
        }
    }

    #[test]
    fn lists_sum() {
        assert_eq!(sum_list(b"0.001, 0.020", secs_to_us), Some(21_000));
        assert_eq!(sum_list(b"0.010 : 0.005", secs_to_us), Some(15_000));
        assert_eq!(sum_list(b"-, 0.5", secs_to_us), Some(500_000));
        assert_eq!(sum_list(b"-", secs_to_us), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(parse_status(b"200"), Some(200));
        assert_eq!(parse_status(b"499"), Some(499));
        assert_eq!(parse_status(b"-1"), None);
        assert_eq!(parse_status(b"000"), None);
        assert_eq!(parse_status(b"2000"), None);
    }

    #[test]
    fn placeholders() {
        assert_eq!(text(b"-"), None);
        assert_eq!(text(b""), None);
        assert_eq!(text(b"abc").as_deref(), Some("abc"));
        assert_eq!(text(b"a\xffb").as_deref(), Some("a\u{fffd}b"));
    }
}
