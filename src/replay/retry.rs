//! When to send again and how long to wait: curl's `--retry` rules, with full jitter and `Retry-After`.

use std::time::Duration;

/// How a request is retried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub retries: u32,
    /// The first backoff's ceiling; it doubles each attempt.
    pub base: Duration,
    /// No wait is longer: a `Retry-After` past it is not waited out.
    pub cap: Duration,
}

/// The default base of the exponential backoff.
pub const BASE_BACKOFF: Duration = Duration::from_millis(200);

impl RetryPolicy {
    /// The default for `method`: 2 retries when idempotent, none otherwise.
    pub fn default_retries(method: &str) -> u32 {
        if super::request::is_idempotent(method) { 2 } else { 0 }
    }

    /// Full jitter: a random wait in `[0, min(cap, base · 2^attempt)]`, `attempt` counting from 0.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.base.saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX)).min(self.cap);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// Whether a status is worth sending again: rate limited, or the gateway found no healthy upstream.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// A `Retry-After` value (RFC 9110 §10.2.3): delta-seconds, or an HTTP-date, as a wait from `now`.
/// A date in the past means no wait; anything else that does not parse is ignored.
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    let at = PARSER.parse_timestamp(value).ok()?;
    let ms = at.as_millisecond() - now.as_millisecond();
    Some(Duration::from_millis(ms.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now: jiff::Timestamp = "2026-11-23T13:02:30Z".parse().unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Mon, 23 Nov 2026 13:02:33 GMT", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Mon, 23 Nov 2026 13:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn backoff_is_jittered_under_a_doubling_ceiling_and_the_cap() {
        let p = RetryPolicy { retries: 5, base: Duration::from_millis(200), cap: Duration::from_secs(1) };
        for attempt in 0..8 {
            let ceiling = Duration::from_millis(200 << attempt).min(Duration::from_secs(1));
            let waits: Vec<Duration> = (0..200).map(|_| p.backoff(attempt)).collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "attempt {attempt}");
            // jitter: the waits spread over the range instead of all being the ceiling
            assert!(waits.iter().any(|w| *w < ceiling / 2) && waits.iter().any(|w| *w > ceiling / 2));
        }
        assert!(p.backoff(40) <= Duration::from_secs(1), "no overflow far out");
        assert!(retryable_status(503) && !retryable_status(500) && !retryable_status(404));
    }
}
