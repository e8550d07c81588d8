//! Finding tokens in text: a whole log line, an `Authorization: Bearer …` header, a cookie, a URL query, a JSON
//! field. Anything shaped like a JWS compact token whose first segment decodes to a JSON object is found.

use std::sync::LazyLock;

use regex::Regex;

/// A token found in text, and what held it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The token.
    pub token: String,
    /// Where it was: `Authorization: Bearer`, `cookie session`, `query id_token`, `JSON field access_token`, `text`.
    pub place: String,
}

static SHAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*").expect("a valid regex"));

fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// Every token in `text`, in order, each once.
pub fn find(text: &str) -> Vec<Found> {
    let bytes = text.as_bytes();
    // where a token may start: where the shape starts, and wherever a JSON header (`{"` is `eyJ`) starts inside a
    // longer word (`token-eyJ…`, `id.eyJ…`)
    let mut starts: Vec<usize> = SHAPE.find_iter(text).map(|m| m.start()).collect();
    starts.extend(memchr::memmem::find_iter(bytes, b"eyJ"));
    starts.sort_unstable();
    starts.dedup();
    let mut out: Vec<Found> = Vec::new();
    let mut covered = 0;
    for start in starts {
        if start < covered {
            continue;
        }
        let Some(m) = SHAPE.find_at(text, start).filter(|m| m.start() == start) else { continue };
        // the token ends where its shape does: a following `.` ends a sentence (`…sig.`, `…sig...`) unless a
        // token character comes after it
        let next = bytes.get(m.end()).copied();
        let after_dot = bytes.get(m.end() + 1).copied();
        let ends = match next {
            None => true,
            Some(b'.') => after_dot.is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-')),
            Some(b) => !token_byte(b),
        };
        if !ends {
            continue;
        }
        let token = m.as_str();
        let first = token.split('.').next().unwrap_or("");
        let is_object = super::decode::b64url(first)
            .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
            .is_some_and(|v| v.is_object());
        if !is_object {
            continue;
        }
        covered = m.end();
        if !out.iter().any(|f| f.token == token) {
            out.push(Found { token: token.to_string(), place: place(&text[..m.start()]) });
        }
    }
    out
}

/// What holds a token, from the text before it.
fn place(before: &str) -> String {
    let tail: String = before.chars().rev().take(64).collect::<Vec<_>>().into_iter().rev().collect();
    let lower = tail.to_ascii_lowercase();
    if lower.trim_end().ends_with("bearer") {
        return "Authorization: Bearer".into();
    }
    // `"name": "` (JSON) or `name=` (query, cookie, logfmt)
    let trimmed = tail.trim_end_matches(['"', ' ', '\'']);
    if let Some(rest) = trimmed.strip_suffix(':') {
        let name: String = rest
            .trim_end_matches(['"', ' '])
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        let name: String = name.chars().rev().collect();
        if !name.is_empty() {
            return format!("field {name}");
        }
    }
    if let Some(rest) = trimmed.strip_suffix('=') {
        let name: String = rest.chars().rev().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-').collect();
        let name: String = name.chars().rev().collect();
        let sep = rest[..rest.len() - name.len()].chars().last();
        let kind = match sep {
            Some('?' | '&') => "query",
            Some(';') => "cookie",
            _ if lower.contains("cookie") => "cookie",
            _ => "field",
        };
        if !name.is_empty() {
            return format!("{kind} {name}");
        }
    }
    "text".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    #[test]
    fn finds_tokens_wherever_logs_put_them() {
        let line = format!("GET /cb?code=1&id_token={T}&state=x HTTP/1.1 \"Authorization: Bearer {T}x\"");
        let found = find(&line);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0], Found { token: T.into(), place: "query id_token".into() });
        assert_eq!(found[1].place, "Authorization: Bearer");
        assert_eq!(find(&format!("{{\"access_token\": \"{T}\"}}"))[0].place, "field access_token");
        assert_eq!(find(&format!("Cookie: a=1; session={T}"))[0].place, "cookie session");
        assert_eq!(find(&format!("{T} {T}")).len(), 1, "each once");
        // shaped like a token but not one: a version string, a host name, a first segment that is not JSON
        assert!(find("lib-1.2.3 www.example.com aGVsbG8gd29ybGQ.aGVsbG8.aGVsbG8").is_empty());
        let none = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UifQ.";
        assert_eq!(find(&format!("t={none} next"))[0].token, none, "an unsigned token ends with its dot");
        // at the end of a sentence, cut short by an ellipsis, glued to a word before it
        assert_eq!(find(&format!("rejected token {T}."))[0].token, T);
        assert_eq!(find(&format!("rejected token {T}..."))[0].token, T);
        assert_eq!(find(&format!("session-{T} x"))[0].token, T);
        assert_eq!(find(&format!("jwt.{T}"))[0].token, T);
    }
}
