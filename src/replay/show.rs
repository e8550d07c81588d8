//! Text forms of a replay shared by `replay` and the console. Response text comes from strangers: callers escape
//! every line before it reaches a terminal (see [`crate::text`]).

use super::send::{Attempt, Outcome};

/// Headers as a JSON object, values as `redactor` shows them; a repeated name (Set-Cookie) keeps every value,
/// joined with `, `.
pub fn headers_json(h: &[(String, String)], redactor: &super::safety::Redactor) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (n, v) in h {
        let v = redactor.shown(n, v);
        match m.get_mut(n) {
            Some(serde_json::Value::String(old)) => {
                old.push_str(", ");
                old.push_str(&v);
            }
            _ => {
                m.insert(n.clone(), serde_json::Value::String(v));
            }
        }
    }
    serde_json::Value::Object(m)
}

/// A status with its reason phrase: `503 Service Unavailable`.
pub fn status_text(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()) {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// Milliseconds for people, as the rest of gatewatch writes durations: `2.2ms`, `310ms`, `30s`.
pub fn ms_text(ms: f64) -> String {
    crate::numbers::duration_text((ms * 1000.0).round().max(0.0) as u64)
}

/// One attempt: `#2 200 in 12.3ms, after waiting 140ms` (or its error).
pub fn attempt_text(n: usize, a: &Attempt) -> String {
    let what = match (a.status, &a.error) {
        (Some(s), _) => s.to_string(),
        (None, Some(e)) => e.clone(),
        (None, None) => "no response".into(),
    };
    let after = if a.delay_ms > 0 { format!(", after waiting {}", ms_text(a.delay_ms as f64)) } else { String::new() };
    format!("#{} {what} in {}{after}", n + 1, ms_text(a.ms))
}

/// The body as lines to show: JSON pretty-printed, anything else as it came (invalid UTF-8 replaced), with a last
/// line saying how much was left out.
pub fn body_lines(o: &Outcome) -> Vec<String> {
    if o.body.is_empty() {
        return Vec::new();
    }
    let text = serde_json::from_slice::<serde_json::Value>(&o.body)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(&o.body).into_owned());
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if o.body_bytes > o.body.len() as u64 {
        lines.push(format!("… {} more bytes not kept", o.body_bytes - o.body.len() as u64));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_pretty_when_json_and_say_what_was_cut() {
        let o = Outcome { body: br#"{"a":[1,2]}"#.to_vec(), body_bytes: 11, ..Default::default() };
        assert_eq!(body_lines(&o), ["{", "  \"a\": [", "    1,", "    2", "  ]", "}"]);
        let o = Outcome { body: b"plain\ntext".to_vec(), body_bytes: 100, ..Default::default() };
        assert_eq!(body_lines(&o), ["plain", "text", "… 90 more bytes not kept"]);
        assert_eq!(status_text(503), "503 Service Unavailable");
        assert_eq!(status_text(599), "599");
        assert_eq!((ms_text(2.25), ms_text(310.4), ms_text(30002.0)), ("2.2ms".into(), "310ms".into(), "30s".into()));
    }
}
