//! Everything gatewatch says about one token: header and claims, the signature's verdict, the times at the
//! record's instant and now, the issuer and audience, and the problems found, in the `token --json` shape.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use super::decode::Decoded;
use super::keys::Keys;
use super::times::{Times, judge};
use super::verify::{Signature, Verdict, check};

/// What to check a token against.
#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// Accepted issuers (any of them; none: not checked).
    pub iss: Vec<String>,
    /// Accepted audiences (any of them; none: not checked).
    pub aud: Vec<String>,
    /// Seconds of clock difference forgiven.
    pub leeway_s: i64,
}

/// One claim against what was expected.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClaimCheck {
    /// What was expected (one value, or a list).
    pub expected: Value,
    /// What the token says (null when it has no such claim).
    pub actual: Value,
    /// `ok`, `mismatch` or `missing`.
    pub verdict: &'static str,
}

/// The `iss` and `aud` checks (null when not asked for).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClaimsCheck {
    /// The issuer.
    pub iss: Option<ClaimCheck>,
    /// The audience.
    pub aud: Option<ClaimCheck>,
}

/// The claims worth naming at a glance, as found.
pub const COMMON_CLAIMS: &[&str] = &["sub", "scope", "scp", "azp", "client_id", "roles", "iss", "aud"];

/// All gatewatch says about one token.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inspection {
    /// Where the token was found (`Authorization: Bearer`, `query id_token`, `argument`).
    pub found_in: String,
    /// The header.
    pub header: Map<String, Value>,
    /// The claims; a payload that is not JSON shows as its text.
    pub claims: Value,
    /// The signature.
    pub signature: Signature,
    /// The times at the instant (the record's, else now), and at now too when those differ.
    pub times: Times,
    /// Issuer and audience.
    pub claims_check: ClaimsCheck,
    /// No check failed (a signature not checked is not a failure).
    pub valid: bool,
    /// Each failed check, as a sentence.
    pub problems: Vec<String>,
}

fn expected(list: &[String]) -> Value {
    match list {
        [one] => Value::String(one.clone()),
        many => Value::Array(many.iter().cloned().map(Value::String).collect()),
    }
}

fn claim_check(name: &str, want: &[String], actual: Option<&Value>, problems: &mut Vec<String>) -> Option<ClaimCheck> {
    if want.is_empty() {
        return None;
    }
    let values: Vec<&str> = match actual {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let verdict = if actual.is_none() {
        problems.push(format!("no {name} claim; expected {}", want.join(" or ")));
        "missing"
    } else if values.iter().any(|v| want.iter().any(|w| w == v)) {
        "ok"
    } else {
        problems.push(format!("{name} is {}, expected {}", values.join(", "), want.join(" or ")));
        "mismatch"
    };
    Some(ClaimCheck { expected: expected(want), actual: actual.cloned().unwrap_or(Value::Null), verdict })
}

/// Inspect a decoded token: `at` is the instant to judge at (now, or `--at`), `record` the time of the log
/// record it came from.
pub fn inspect(
    token: &Decoded,
    found_in: &str,
    keys: Option<&Keys>,
    expect: &Expect,
    at: Timestamp,
    record: Option<Timestamp>,
) -> Inspection {
    let signature = check(token, keys);
    let mut problems = Vec::new();
    match signature.verdict {
        Verdict::Invalid | Verdict::Rejected => {
            let what = if signature.verdict == Verdict::Invalid { "invalid" } else { "rejected" };
            problems.push(format!("signature {what}: {}", signature.reason.as_deref().unwrap_or("")));
        }
        Verdict::Valid | Verdict::NotChecked => {}
    }
    // the record's own time first: that is when the gateway judged the token
    let (mut times, time_problems) = judge(token, record.unwrap_or(at), expect.leeway_s);
    problems.extend(time_problems);
    if record.is_some() {
        let (now, _) = judge(token, at, expect.leeway_s);
        times.now = Some(Box::new(now));
    }
    let claims_check = ClaimsCheck {
        iss: claim_check("iss", &expect.iss, token.claim("iss"), &mut problems),
        aud: claim_check("aud", &expect.aud, token.claim("aud"), &mut problems),
    };
    let claims = match &token.claims {
        Some(m) => Value::Object(m.clone()),
        None => Value::String(String::from_utf8_lossy(&token.payload).into_owned()),
    };
    Inspection {
        found_in: found_in.to_string(),
        header: token.header.clone(),
        claims,
        signature,
        times,
        claims_check,
        valid: problems.is_empty(),
        problems,
    }
}
