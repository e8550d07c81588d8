//! `exp`, `nbf` and `iat` judged at an instant, with a leeway: the request's own time when the token came from a
//! log record, and now. "Valid when the request was made, expired 40 s later" is the answer an incident needs.

use jiff::Timestamp;
use serde::Serialize;

use super::decode::Decoded;

/// One time claim at one instant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeCheck {
    /// The claim's time, RFC 3339 UTC.
    pub time: String,
    /// `valid`, `expired` (exp), `not_yet_valid` (nbf), `in_future` (iat).
    pub verdict: &'static str,
    /// Claim time − the instant, in whole seconds (negative: before it).
    pub seconds: i64,
    /// For people, before the instant is named: `expired 3 h 12 min before`, `expires 5 min after`.
    pub relative: String,
}

/// The time claims at one instant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Times {
    /// The instant, RFC 3339 UTC.
    pub at: String,
    /// `exp`, when the token has one.
    pub exp: Option<TimeCheck>,
    /// `nbf`.
    pub nbf: Option<TimeCheck>,
    /// `iat`.
    pub iat: Option<TimeCheck>,
    /// The same at the local clock, when `at` is a log record's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<Box<Times>>,
}

/// A span of seconds in words: `42 s`, `3 min 5 s`, `3 h 12 min`, `2 d 4 h`.
pub fn span_words(secs: i64) -> String {
    let s = secs.unsigned_abs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => match s % 60 {
            0 => format!("{} min", s / 60),
            r => format!("{} min {r} s", s / 60),
        },
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

/// RFC 3339 UTC, to the second.
pub fn rfc3339(t: Timestamp) -> String {
    format!("{t:.0}")
}

fn at_secs(t: f64) -> Option<Timestamp> {
    (t.is_finite() && t.abs() < 1e15).then(|| Timestamp::from_second(t.floor() as i64).ok()).flatten()
}

/// Judge the time claims at `at` with `leeway_s`; the problems found, as sentences.
pub fn judge(token: &Decoded, at: Timestamp, leeway_s: i64) -> (Times, Vec<String>) {
    let mut problems = Vec::new();
    let at_text = rfc3339(at);
    let now = at.as_second();
    let mut check = |name: &str| -> Option<TimeCheck> {
        let claim = token.claim(name)?;
        // a time claim that is there but not a NumericDate is a failed check, not a missing one
        let Some(t) = token.numeric_date(name).and_then(at_secs) else {
            problems.push(format!("{name} is {claim}, not a NumericDate (seconds since 1970)"));
            return None;
        };
        let seconds = t.as_second().saturating_sub(now);
        let span = span_words(seconds);
        let (verdict, relative) = match name {
            // RFC 7519 4.1.4: the instant must be before exp
            "exp" if seconds.saturating_add(leeway_s) <= 0 => {
                problems.push(format!("expired {span} before {at_text} (leeway {leeway_s} s)"));
                ("expired", format!("expired {span} before"))
            }
            "exp" if seconds <= 0 => ("valid", format!("expired (within the {leeway_s} s leeway) {span} before")),
            "exp" => ("valid", format!("expires {span} after")),
            "nbf" if seconds.saturating_sub(leeway_s) > 0 => {
                problems.push(format!(
                    "not valid before {}, {span} after {at_text} (leeway {leeway_s} s): likely a clock skew between \
                     the issuer and the gateway",
                    rfc3339(t)
                ));
                ("not_yet_valid", format!("valid only from {span} after"))
            }
            "nbf" => ("valid", format!("valid from {span} before")),
            _ if seconds.saturating_sub(leeway_s) > 0 => {
                problems.push(format!(
                    "issued {span} after {at_text} (leeway {leeway_s} s): likely a clock skew between the issuer and \
                     the gateway"
                ));
                ("in_future", format!("issued {span} after"))
            }
            _ => ("valid", format!("issued {span} before")),
        };
        Some(TimeCheck { time: rfc3339(t), verdict, seconds, relative })
    };
    let times = Times { at: at_text.clone(), exp: check("exp"), nbf: check("nbf"), iat: check("iat"), now: None };
    (times, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: &str) -> Decoded {
        use base64::Engine;
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        super::super::decode::decode(&format!("{}.{}.", e("{\"alg\":\"HS256\"}"), e(claims))).unwrap()
    }

    #[test]
    fn the_leeway_decides_at_its_boundary() {
        let at: Timestamp = "2026-11-23T13:02:30Z".parse().unwrap();
        let t = token(&format!("{{\"exp\":{}}}", at.as_second() - 30));
        let (times, problems) = judge(&t, at, 60);
        assert_eq!((times.exp.as_ref().unwrap().verdict, problems.len()), ("valid", 0), "30 s ago passes with 60 s");
        let (times, problems) = judge(&t, at, 0);
        assert_eq!(times.exp.unwrap().verdict, "expired");
        assert_eq!(problems, ["expired 30 s before 2026-11-23T13:02:30Z (leeway 0 s)"]);
        // at exp itself the token is over (the instant must be before exp)
        let t = token(&format!("{{\"exp\":{}}}", at.as_second()));
        assert_eq!(judge(&t, at, 0).0.exp.unwrap().verdict, "expired");
        assert_eq!(judge(&t, at, i64::MAX).0.exp.unwrap().verdict, "valid", "no overflow");
    }

    #[test]
    fn a_time_claim_that_is_not_a_number_is_a_problem() {
        let at: Timestamp = "2026-11-23T13:02:30Z".parse().unwrap();
        for claims in [r#"{"exp":"1000"}"#, r#"{"exp":-1e20}"#, r#"{"exp":1e300}"#, r#"{"nbf":null}"#] {
            let (times, problems) = judge(&token(claims), at, 60);
            assert!(times.exp.is_none() && times.nbf.is_none());
            assert_eq!(problems.len(), 1, "{claims}: {problems:?}");
            assert!(problems[0].contains("not a NumericDate"), "{problems:?}");
        }
    }

    #[test]
    fn a_future_nbf_or_iat_is_called_a_clock_skew() {
        let at: Timestamp = "2026-11-23T13:02:30Z".parse().unwrap();
        let t = token(&format!("{{\"nbf\":{0},\"iat\":{0},\"exp\":{1}}}", at.as_second() + 125, at.as_second() + 3600));
        let (times, problems) = judge(&t, at, 60);
        assert_eq!(times.nbf.unwrap().verdict, "not_yet_valid");
        assert_eq!(times.iat.unwrap().verdict, "in_future");
        assert_eq!(times.exp.unwrap().relative, "expires 1 h 0 min after");
        assert!(problems.iter().all(|p| p.contains("clock skew")) && problems.len() == 2, "{problems:?}");
        assert_eq!(span_words(11_520), "3 h 12 min");
    }
}
