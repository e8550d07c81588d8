//! A request as the replay editor shows it and reads it back: `METHOD URL`, headers, a blank line, the body, with
//! secrets hidden and unsafe bytes escaped; a curl command on the first line is imported instead.

use super::request::{Request, credentials_to_header, parse_header};

/// Text as the editor shows it: control and invisible formatting characters escaped (`\x1b`, `\u{202e}`), so
/// nothing from a log or a paste acts on the terminal; line ends kept where `lines` is set (the body).
pub fn editor_text(bytes: &[u8], lines: bool) -> String {
    if !lines {
        return crate::text::escape_control(bytes);
    }
    bytes.split(|&b| b == b'\n').map(crate::text::escape_control).collect::<Vec<_>>().join("\n")
}

/// The request as editable text: `METHOD URL`, the headers (secrets as `redactor` shows them), a blank line, the
/// body. Bytes that must not reach a terminal are shown escaped; [`from_text`] reads them back as they were.
pub fn to_text(req: &Request, redactor: &super::safety::Redactor) -> String {
    let mut out = format!("{} {}\n", editor_text(req.method.as_bytes(), false), editor_text(req.url.as_bytes(), false));
    for (n, v) in &req.headers {
        let shown = redactor.shown(n, v);
        out.push_str(&format!("{}: {}\n", editor_text(n.as_bytes(), false), editor_text(shown.as_bytes(), false)));
    }
    if let Some(b) = &req.body {
        out.push('\n');
        out.push_str(&editor_text(b, true));
    }
    out
}

/// The curl command a text starts with: its first line, with the lines it continues onto (`\` at a line end).
pub fn curl_command(text: &str) -> Option<String> {
    let text = text.trim_start();
    if !(text.starts_with("curl ") || text.starts_with("curl\t")) {
        return None;
    }
    let mut cmd = String::new();
    for line in text.lines() {
        cmd.push_str(line);
        cmd.push('\n');
        if !line.trim_end().ends_with('\\') {
            break;
        }
    }
    Some(cmd)
}

/// Read an edited request back. What the editor shows for a value of `before` — a hidden secret, an escaped
/// byte — stands for that value. A first line that is a curl command imports it (files named by `@file` are read
/// only when `read_files`).
pub fn from_text(
    text: &str,
    redactor: &super::safety::Redactor,
    before: &Request,
    read_files: bool,
) -> anyhow::Result<Request> {
    if let Some(cmd) = curl_command(text) {
        return super::curl::from_curl_with(&cmd, read_files);
    }
    let text = text.trim_start_matches(['\n', '\r', ' ']);
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, Some(b)),
        None => (text.trim_end_matches('\n'), None),
    };
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("").trim();
    let (method, url) = first.split_once(' ').map(|(m, u)| (m.trim(), u.trim())).unwrap_or((first, ""));
    anyhow::ensure!(
        !method.is_empty() && method.bytes().all(|b| b.is_ascii_alphabetic()) && !url.is_empty(),
        "the first line must be `METHOD URL`, e.g. `GET http://127.0.0.1:8080/v1/orders` (or a curl command)"
    );
    let url = if url == editor_text(before.url.as_bytes(), false) { before.url.clone() } else { url.to_string() };
    let mut headers = Vec::new();
    for (i, l) in lines.enumerate() {
        // the line is not quoted back: it may hold a secret
        let (n, v) = parse_header(l).ok_or_else(|| anyhow::anyhow!("line {} is not a `Name: value` header", i + 2))?;
        let original = before
            .headers
            .iter()
            .find(|(bn, bv)| bn.eq_ignore_ascii_case(&n) && editor_text(redactor.shown(bn, bv).as_bytes(), false) == v);
        headers.push(match original {
            Some((_, bv)) => (n, bv.clone()),
            None => (n, v),
        });
    }
    let body = body.filter(|b| !b.is_empty()).map(|b| match &before.body {
        Some(old) if editor_text(old, true) == b => old.clone(),
        _ => b.as_bytes().to_vec(),
    });
    let mut req = Request {
        method: method.to_string(),
        url,
        headers,
        body,
        insecure: before.insecure,
        follow_redirects: before.follow_redirects,
        route: before.route.clone(),
        tls: before.tls.clone(),
    };
    credentials_to_header(&mut req);
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_text_reads_back_with_secrets_restored() {
        let r = super::super::safety::Redactor::new(&[], false);
        let req = Request {
            method: "POST".into(),
            url: "http://h/x?q=1".into(),
            headers: vec![("Authorization".into(), "Bearer s3cret".into()), ("X-A".into(), "1".into())],
            body: Some(b"{\"a\":1}\n\nsecond".to_vec()),
            ..Default::default()
        };
        let text = to_text(&req, &r);
        assert_eq!(text, "POST http://h/x?q=1\nAuthorization: Bearer …(redacted)\nX-A: 1\n\n{\"a\":1}\n\nsecond");
        assert_eq!(from_text(&text, &r, &req, false).unwrap(), req);
        let edited = text.replace("X-A: 1", "X-A: 2").replace("POST", "PUT");
        let back = from_text(&edited, &r, &req, false).unwrap();
        assert_eq!(
            (back.method.as_str(), back.header("x-a"), back.header("authorization")),
            ("PUT", Some("2"), Some("Bearer s3cret"))
        );
        let curl = from_text("curl -H 'X: y' http://h/z", &r, &req, false).unwrap();
        assert_eq!((curl.url.as_str(), curl.header("x")), ("http://h/z", Some("y")));
        assert!(from_text("GET\n", &r, &req, false).is_err());
        let err = from_text("GET http://h/\nAuthorization Bearer s3cret\n", &r, &req, false).unwrap_err().to_string();
        assert!(err.contains("line 2") && !err.contains("s3cret"), "{err}");
        let err = from_text("curl -d @/etc/hostname http://h/", &r, &req, false).unwrap_err().to_string();
        assert!(err.contains("not read here"), "the console reads no file: {err}");
    }

    #[test]
    fn the_editor_escapes_what_must_not_reach_a_terminal_and_reads_it_back() {
        let r = super::super::safety::Redactor::new(&[], false);
        let req = Request {
            method: "GET".into(),
            url: "http://h/a\u{202e}b".into(),
            headers: vec![("User-Agent".into(), "x\u{1b}[31my".into())],
            body: Some(vec![0xff, b'\n', 0x1b, b'z']),
            ..Default::default()
        };
        let text = to_text(&req, &r);
        assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "{text:?}");
        assert!(text.contains("a\\u{202e}b") && text.contains("x\\x1b[31my"), "{text}");
        assert_eq!(from_text(&text, &r, &req, false).unwrap(), req, "unchanged text means the same bytes");
    }

    #[test]
    fn a_curl_command_on_the_first_line_is_imported_without_the_lines_below() {
        let r = super::super::safety::Redactor::new(&[], false);
        let text = "curl -H 'X: 1' \\\n  http://h/p?q=1\nUser-Agent: old\nX-Request-ID: abc\n";
        let req = from_text(text, &r, &Request::default(), false).unwrap();
        assert_eq!((req.url.as_str(), req.header("x"), req.header("user-agent")), ("http://h/p?q=1", Some("1"), None));
        assert!(curl_command("curly http://h").is_none());
    }
}
