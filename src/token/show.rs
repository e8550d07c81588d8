//! The inspection as lines for people, each with a tone, so `token` paints them with ANSI colours and the console
//! with its theme. Claims come from strangers: callers escape every line before it reaches a terminal.

use serde_json::Value;

use super::inspect::{COMMON_CLAIMS, Inspection};
use super::times::{TimeCheck, Times};
use super::verify::Verdict;

/// How a line should look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// A heading.
    Title,
    /// Plain content.
    Plain,
    /// Secondary.
    Dim,
    /// A check that passed.
    Good,
    /// A check that failed.
    Bad,
}

fn claim_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(claim_text).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

fn time_line(name: &str, c: &TimeCheck, at: &str) -> (Tone, String) {
    let tone = if c.verdict == "valid" { Tone::Good } else { Tone::Bad };
    (tone, format!("{name:<9} {}  {} {at}", c.time, c.relative))
}

/// `label` names the instant: `the request at` or `now,` (an empty label: the instant alone).
fn times_lines(t: &Times, label: &str, out: &mut Vec<(Tone, String)>) {
    let at = if label.is_empty() { t.at.clone() } else { format!("{label} {}", t.at) };
    for (name, c) in [("exp", &t.exp), ("nbf", &t.nbf), ("iat", &t.iat)] {
        if let Some(c) = c {
            out.push(time_line(name, c, &at));
        }
    }
}

/// The one-line answer an incident needs: when the token stopped (or started) being valid, against the
/// request's time and now.
pub fn summary(i: &Inspection) -> Option<String> {
    use super::times::span_words;
    let exp = i.times.exp.as_ref()?;
    let at = &i.times.at;
    let Some(now) = i.times.now.as_ref() else {
        // no log record: the instant is now (or --at)
        return Some(match (exp.verdict, exp.seconds) {
            ("expired", s) => format!("expired {} before {at}", span_words(s)),
            (_, s) if s <= 0 => format!("expired {} before {at}, within the leeway", span_words(s)),
            (_, s) => format!("not expired at {at}: expires {} later", span_words(s)),
        });
    };
    let at_request = match (exp.verdict, exp.seconds) {
        ("expired", s) => {
            return Some(format!("already expired by {} when the request was made at {at}", span_words(s)));
        }
        (_, s) if s <= 0 => format!("expired {} before the request at {at}, but within the leeway", span_words(s)),
        _ => format!("valid when the request was made at {at}"),
    };
    Some(match now.exp.as_ref() {
        Some(n) if n.verdict == "expired" && exp.seconds > 0 => {
            format!("{at_request}; expired {} later", span_words(exp.seconds))
        }
        Some(n) if n.verdict == "expired" => at_request,
        _ => format!("{at_request}, and still now"),
    })
}

/// The inspection as lines.
pub fn lines(i: &Inspection) -> Vec<(Tone, String)> {
    let mut out = Vec::new();
    out.push((Tone::Title, format!("token in {}", i.found_in)));
    out.push((Tone::Dim, format!("header    {}", Value::Object(i.header.clone()))));
    for name in COMMON_CLAIMS {
        if let Some(v) = i.claims.get(name) {
            out.push((Tone::Plain, format!("{name:<9} {}", claim_text(v))));
        }
    }
    let s = &i.signature;
    let (tone, verdict) = match s.verdict {
        Verdict::Valid => (Tone::Good, "valid"),
        Verdict::Invalid => (Tone::Bad, "INVALID"),
        Verdict::NotChecked => (Tone::Dim, "not checked"),
        Verdict::Rejected => (Tone::Bad, "REJECTED"),
    };
    let mut sig = format!("signature {verdict} ({}", s.alg.as_deref().unwrap_or("no alg"));
    if let Some(k) = &s.key {
        sig.push_str(&format!(", {k}"));
    }
    sig.push(')');
    if let Some(r) = &s.reason {
        sig.push_str(&format!(": {r}"));
    }
    out.push((tone, sig));
    let label = if i.times.now.is_some() { "the request at" } else { "" };
    times_lines(&i.times, label, &mut out);
    if let Some(now) = &i.times.now {
        times_lines(now, "now,", &mut out);
    }
    if let Some(line) = summary(i) {
        out.push((
            if i.times.exp.as_ref().is_some_and(|e| e.verdict == "valid") { Tone::Plain } else { Tone::Bad },
            line,
        ));
    }
    for (name, c) in [("iss", &i.claims_check.iss), ("aud", &i.claims_check.aud)] {
        if let Some(c) = c {
            let tone = if c.verdict == "ok" { Tone::Good } else { Tone::Bad };
            out.push((
                tone,
                format!(
                    "{name:<9} {}: expected {}, token has {}",
                    c.verdict,
                    claim_text(&c.expected),
                    claim_text(&c.actual)
                ),
            ));
        }
    }
    if i.valid {
        out.push((Tone::Good, "verdict   no check failed".into()));
    } else {
        out.push((Tone::Bad, format!("verdict   {} problem(s)", i.problems.len())));
        out.extend(i.problems.iter().map(|p| (Tone::Bad, format!("  - {p}"))));
    }
    out
}
