//! Helpers for JSON-shaped logs: look up fields by alias or dotted path, accept numbers written as strings.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// Parse a line as a JSON object; `None` for anything else.
pub fn object(line: &[u8]) -> Option<Map<String, Value>> {
    let line = line.trim_ascii();
    if line.first() != Some(&b'{') {
        return None;
    }
    let value = match serde_json::from_slice::<Value>(line) {
        Ok(v) => v,
        // one out-of-range number (`1e400`, a 10,000-digit status) makes that field unparsed, not the line
        Err(_) => serde_json::from_slice::<Value>(&wild_numbers_nulled(line)?).ok()?,
    };
    match value {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The line with every number no f64 can hold replaced by `null`; `None` when it has none.
fn wild_numbers_nulled(line: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(line.len());
    let (mut i, mut changed, mut in_string) = (0, false, false);
    while i < line.len() {
        let b = line[i];
        if in_string {
            out.push(b);
            match b {
                b'\\' if i + 1 < line.len() => {
                    out.push(line[i + 1]);
                    i += 1;
                }
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
        } else if b == b'-' || b.is_ascii_digit() {
            let end = line[i..]
                .iter()
                .position(|c| !(c.is_ascii_digit() || b"+-.eE".contains(c)))
                .map_or(line.len(), |n| i + n);
            let token = &line[i..end];
            let wild =
                std::str::from_utf8(token).ok().and_then(|t| t.parse::<f64>().ok()).is_none_or(|f| !f.is_finite());
            if wild {
                out.extend_from_slice(b"null");
                changed = true;
            } else {
                out.extend_from_slice(token);
            }
            i = end;
            continue;
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

/// The value at a dotted path (`request.id`, `latencies.proxy`); `a.b` also matches a flat key `"a.b"`.
pub fn path<'v>(obj: &'v Map<String, Value>, dotted: &str) -> Option<&'v Value> {
    if let Some(v) = obj.get(dotted) {
        return Some(v);
    }
    let mut cur = obj;
    let mut parts = dotted.split('.').peekable();
    while let Some(p) = parts.next() {
        let v = cur.get(p)?;
        if parts.peek().is_none() {
            return Some(v);
        }
        cur = v.as_object()?;
    }
    None
}

/// The first present, non-placeholder value among several aliases.
pub fn first<'v>(obj: &'v Map<String, Value>, keys: &[&str]) -> Option<&'v Value> {
    keys.iter().filter_map(|k| path(obj, k)).find(|v| !is_null(v))
}

/// True for `null`, `""` and `"-"`.
pub fn is_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => crate::format::num::is_placeholder(s.as_bytes()),
        _ => false,
    }
}

/// A value as text: strings as they are, numbers and booleans printed; placeholders and containers are `None`.
pub fn text(v: &Value) -> Option<Cow<'static, str>> {
    match v {
        Value::String(s) if !crate::format::num::is_placeholder(s.as_bytes()) => Some(Cow::Owned(s.clone())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// A value as a float: numbers, or strings holding a number (AWS writes every value as a string).
pub fn f64_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value as an unsigned integer (numbers or numeric strings; fractions are truncated).
pub fn u64_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse().ok().or_else(|| s.parse::<f64>().ok().filter(|f| *f >= 0.0).map(|f| f as u64))
        }
        _ => None,
    }
}

/// A value as an HTTP status (number or string).
pub fn status_of(v: &Value) -> Option<u16> {
    u64_of(v).filter(|s| (100..=999).contains(s)).map(|s| s as u16)
}

/// A duration given in `unit_us` microseconds per unit (1000 for ms, 1e6 for s) as microseconds.
pub fn duration_us(v: &Value, unit_us: f64) -> Option<u64> {
    let f = f64_of(v)? * unit_us;
    (f.is_finite() && f >= 0.0 && f <= super::num::MAX_DURATION_US as f64).then(|| f.round() as u64)
}

/// A timestamp: ISO/CLF text or an epoch number (unit guessed from magnitude).
pub fn time_of(v: &Value) -> Option<crate::record::LogTime> {
    match v {
        Value::String(s) => crate::format::time::parse_any(s.as_bytes()),
        Value::Number(n) => crate::format::time::from_epoch_guess(n.as_f64()?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_out_of_range_number_is_a_null_field_not_a_lost_line() {
        let line = format!(r#"{{"status":{},"d":1e400,"msg":"1e400 \" 9","ok":-2.5e3}}"#, "9".repeat(10_000));
        let obj = super::object(line.as_bytes()).unwrap();
        assert!(obj["status"].is_null() && obj["d"].is_null());
        assert_eq!((obj["msg"].as_str(), obj["ok"].as_f64()), (Some("1e400 \" 9"), Some(-2500.0)));
        assert!(super::object(b"{\"a\":1e400").is_none(), "still not JSON");
    }
}
