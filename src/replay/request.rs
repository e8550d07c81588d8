//! A request to replay: built from a logged record, edited as text, imported from curl.

use crate::record::Record;

/// One HTTP request as gatewatch will send it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// The method, as logged (upper case by convention, sent as given).
    pub method: String,
    /// The whole URL: the base, then the path and query exactly as logged.
    pub url: String,
    /// Headers in the order they are sent; names keep their case.
    pub headers: Vec<(String, String)>,
    /// The body, when there is one (logs do not carry bodies: it comes from `--body` or an import).
    pub body: Option<Vec<u8>>,
    /// Accept any TLS certificate (curl's `-k`).
    pub insecure: bool,
    /// Follow redirects to the same host (curl's `-L`, `--follow-redirects`).
    pub follow_redirects: bool,
    /// Where the connection goes when not where the URL's host resolves, and the TLS name.
    pub route: super::route::Route,
    /// The CA bundle and client certificate.
    pub tls: super::tls::TlsFiles,
}

impl Request {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Replace every `name` header by one with `value` (kept at the first one's place), or append it.
    pub fn set_header(&mut self, name: &str, value: &str) {
        match self.headers.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(i) => {
                self.headers[i].1 = value.to_string();
                let mut seen = false;
                self.headers.retain(|(n, _)| {
                    if !n.eq_ignore_ascii_case(name) {
                        return true;
                    }
                    let keep = !seen;
                    seen = true;
                    keep
                });
            }
            None => self.headers.push((name.to_string(), value.to_string())),
        }
    }

    /// The URL's host (without port), lower case.
    pub fn host(&self) -> Option<String> {
        reqwest::Url::parse(&self.url).ok()?.host_str().map(|h| h.to_ascii_lowercase())
    }
}

/// The URL as the HTTP client puts it on the wire, when that differs from `url`: it percent-encodes a few bytes
/// that are not allowed raw in a URL (`'` in a query, `"`, `<`, `>`, `{`, `}`, backquote, space) and resolves
/// `.`/`..` segments, as browsers do.
pub fn rewritten(url: &str) -> Option<String> {
    let wire = reqwest::Url::parse(url).ok()?;
    (wire.as_str() != url).then(|| wire.to_string())
}

/// A URL's `user:password@` moves into an `Authorization: Basic` header (unless one is given), so the password is
/// never shown with the URL: redaction hides headers, not URLs.
pub fn credentials_to_header(req: &mut Request) {
    let Ok(mut url) = reqwest::Url::parse(&req.url) else { return };
    if url.username().is_empty() && url.password().is_none() {
        return;
    }
    let decode = |s: &str| {
        let bytes: Vec<u8> = percent_decode(s.as_bytes());
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let user = format!("{}:{}", decode(url.username()), decode(url.password().unwrap_or("")));
    if req.header("authorization").is_none() {
        use base64::Engine;
        let value = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user));
        req.headers.insert(0, ("Authorization".into(), value));
    }
    let _ = url.set_username("");
    let _ = url.set_password(None);
    // only the authority changes: the rest of the URL is kept byte for byte. The user part ends at the
    // authority's last `@` (a user name may hold one, as URL parsers read it), and the authority ends where the
    // parser ends it: at `/`, `?`, `#`, or `\` (a path separator in http and https URLs)
    if let Some(scheme_end) = req.url.find("://") {
        let start = scheme_end + 3;
        let authority_end = req.url[start..].find(['/', '?', '#', '\\']).map_or(req.url.len(), |i| i + start);
        if let Some(at) = req.url[start..authority_end].rfind('@') {
            req.url = format!("{}{}", &req.url[..start], &req.url[start + at + 1..]);
            return;
        }
    }
    req.url = url.to_string();
}

fn percent_decode(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Put a request id in `req`'s `header`: a fresh one shaped like the one it carries (or the one it carries, with
/// `keep`). Returns (the id it carried, the id it now carries).
pub fn assign_id(req: &mut Request, header: &str, keep: bool) -> (Option<String>, String) {
    let carried = req.header(header).map(str::to_string);
    let sent = match &carried {
        Some(id) if keep => id.clone(),
        Some(id) => fresh_id_like(id),
        None => fresh_id_like(""),
    };
    req.set_header(header, &sent);
    (carried, sent)
}

/// The ids a request can be followed by in the logs: its request id header and its W3C trace id.
pub fn followed_ids(req: &Request, id_header: &str) -> Vec<String> {
    let mut ids: Vec<String> = req.header(id_header).map(str::to_string).into_iter().collect();
    ids.extend(req.header("traceparent").and_then(crate::ids::traceparent_trace_id).map(str::to_string));
    ids
}

/// Whether a method is idempotent (RFC 9110 §9.2.2): it may be sent again, and replayed without asking.
pub fn is_idempotent(method: &str) -> bool {
    ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"].iter().any(|m| m.eq_ignore_ascii_case(method))
}

/// Whether a method usually carries a body.
pub fn expects_body(method: &str) -> bool {
    ["POST", "PUT", "PATCH"].iter().any(|m| m.eq_ignore_ascii_case(method))
}

/// A header from its `Name: value` form.
pub fn parse_header(s: &str) -> Option<(String, String)> {
    let (name, value) = s.split_once(':')?;
    let name = name.trim();
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
    valid.then(|| (name.to_string(), value.trim().to_string()))
}

/// What `from_record` needs besides the record.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Scheme, host, port and an optional path prefix the logged path is appended to.
    pub base: String,
    /// The Host header to send instead of the logged host.
    pub base_host: Option<String>,
    /// The header that carries the request id (`X-Request-ID`).
    pub id_header: String,
    /// Send the logged id instead of a fresh one.
    pub keep_id: bool,
    /// Headers to add (from `--header` and the config), after the logged ones.
    pub headers: Vec<(String, String)>,
    /// The body to send.
    pub body: Option<Vec<u8>>,
    /// Follow same-host redirects.
    pub follow_redirects: bool,
}

/// The request rebuilt from a record, and the ids it carries.
#[derive(Clone, Debug)]
pub struct Rebuilt {
    /// What will be sent.
    pub request: Request,
    /// The request id as logged.
    pub logged_id: Option<String>,
    /// The request id sent (fresh, unless `keep_id`).
    pub sent_id: Option<String>,
}

/// Why a record cannot be replayed.
#[derive(Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The record has no method or no path.
    NotARequest,
    /// The base URL is not an http(s) URL.
    BadBase(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::NotARequest => write!(f, "the record logs no method and path to replay"),
            BuildError::BadBase(b) => write!(f, "the base URL {b:?} is not an http:// or https:// URL"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Rebuild the request a record logged, against `opts.base`.
pub fn from_record(rec: &Record<'_>, opts: &BuildOptions) -> Result<Rebuilt, BuildError> {
    let (Some(method), Some(path)) = (rec.method.as_deref(), rec.path.as_deref()) else {
        return Err(BuildError::NotARequest);
    };
    let url = join(&opts.base, &unescape_logged(path))?;
    let mut request = Request {
        method: method.to_string(),
        url,
        headers: Vec::new(),
        body: opts.body.clone(),
        follow_redirects: opts.follow_redirects,
        ..Default::default()
    };
    if let Some(host) = opts.base_host.as_deref().or(rec.host.as_deref()) {
        request.headers.push(("Host".into(), host.to_string()));
    }
    if let Some(ua) = rec.user_agent.as_deref() {
        request.headers.push(("User-Agent".into(), ua.to_string()));
    }
    if let Some(r) = rec.referer.as_deref() {
        request.headers.push(("Referer".into(), r.to_string()));
    }
    let id_header = if opts.id_header.is_empty() { "X-Request-ID" } else { &opts.id_header };
    let logged_id = rec.request_id.as_deref().map(str::to_string);
    // a fresh id always goes out, so the replay can be told apart and followed, whatever the record logged
    let sent_id = match &logged_id {
        Some(id) if opts.keep_id => id.clone(),
        Some(id) => fresh_id_like(id),
        None => fresh_id_like(""),
    };
    request.headers.push((id_header.to_string(), sent_id.clone()));
    let sent_id = Some(sent_id);
    if let Some(trace) = rec.trace_id.as_deref().filter(|t| is_hex(t, 32)) {
        // a W3C trace: a fresh trace id (or the logged one) with a new parent span
        let trace = if opts.keep_id { trace.to_ascii_lowercase() } else { hex(16) };
        request.headers.push(("traceparent".into(), format!("00-{trace}-{}-01", hex(8))));
    }
    for (n, v) in &opts.headers {
        request.set_header(n, v);
    }
    credentials_to_header(&mut request);
    Ok(Rebuilt { request, logged_id, sent_id })
}

/// `base` + the logged request target. An absolute-form target (`GET http://host/p`, as proxies log) keeps only
/// its path and query; the base's own path is a prefix.
pub fn join(base: &str, target: &str) -> Result<String, BuildError> {
    let lower = base.to_ascii_lowercase();
    let rest = lower.strip_prefix("http://").or_else(|| lower.strip_prefix("https://"));
    if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
        return Err(BuildError::BadBase(base.to_string()));
    }
    let target = match target.find("://") {
        Some(i) if target[..i].bytes().all(|b| b.is_ascii_alphabetic()) => {
            let after = &target[i + 3..];
            after.find('/').map_or("/", |j| &after[j..])
        }
        _ => target,
    };
    let sep = if target.starts_with('/') || target.is_empty() { "" } else { "/" };
    Ok(format!("{}{sep}{target}", base.trim_end_matches('/')))
}

/// Undo the `\xHH` escaping gateways (nginx, Apache) apply to bytes they log; the bytes then go out
/// percent-encoded, as they came in.
fn unescape_logged(path: &str) -> String {
    if !path.contains("\\x") {
        return path.to_string();
    }
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = (b[i] == b'\\' && b.get(i + 1) == Some(&b'x'))
            .then(|| b.get(i + 2..i + 4))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let Some(v) = escaped {
            out.extend_from_slice(format!("%{v:02X}").as_bytes());
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `n` random bytes as lower-case hex.
fn hex(n: usize) -> String {
    (0..n).map(|_| format!("{:02x}", fastrand::u8(..))).collect()
}

/// A fresh id shaped like `logged`: a UUID (v4) for a UUID, else 32 hex digits as nginx's `$request_id`.
pub fn fresh_id_like(logged: &str) -> String {
    if crate::ids::is_uuid(logged.as_bytes()) {
        let h = hex(16);
        let variant = ['8', '9', 'a', 'b'][fastrand::usize(..4)];
        format!("{}-{}-4{}-{variant}{}-{}", &h[..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
    } else {
        hex(16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_base_and_target_byte_for_byte() {
        assert_eq!(join("http://127.0.0.1:8080", "/a%2Fb?q=%20x+y").unwrap(), "http://127.0.0.1:8080/a%2Fb?q=%20x+y");
        assert_eq!(join("http://h:1/api/", "/v1/x").unwrap(), "http://h:1/api/v1/x");
        assert_eq!(join("https://h", "http://other.example/p?q=1").unwrap(), "https://h/p?q=1");
        assert!(join("ftp://h", "/x").is_err() && join("http://", "/x").is_err() && join("h:80", "/x").is_err());
    }

    #[test]
    fn url_credentials_become_a_header() {
        let mut req = Request { url: "https://al%40ice:hun%3Ater2@h.example:8443/p?q=@x".into(), ..Default::default() };
        credentials_to_header(&mut req);
        assert_eq!(req.url, "https://h.example:8443/p?q=@x");
        use base64::Engine;
        let expected = base64::engine::general_purpose::STANDARD.encode("al@ice:hun:ter2");
        assert_eq!(req.header("authorization"), Some(format!("Basic {expected}").as_str()));
        let mut two = Request { url: "http://a@b@h:1/p?u=c@d".into(), ..Default::default() };
        credentials_to_header(&mut two);
        assert_eq!(two.url, "http://h:1/p?u=c@d", "the user part ends at the last @ of the authority");
        // a backslash ends the authority of an http URL, as `/` does (found by the curl fuzz target)
        let mut slash = Request { url: r"http://u@h\p@q".into(), ..Default::default() };
        credentials_to_header(&mut slash);
        assert_eq!(slash.url, r"http://h\p@q");
        let mut plain = Request { url: "http://h/p?u=a@b".into(), ..Default::default() };
        credentials_to_header(&mut plain);
        assert_eq!((plain.url.as_str(), plain.headers.len()), ("http://h/p?u=a@b", 0));
    }

    #[test]
    fn rewrites_by_the_http_client_are_named() {
        assert_eq!(rewritten("http://h/a%2F?q=%27"), None);
        assert_eq!(rewritten("http://h/a/../b?q='x'").as_deref(), Some("http://h/b?q=%27x%27"));
    }

    #[test]
    fn fresh_ids_keep_the_logged_shape() {
        let u = fresh_id_like("0f8fad5b-d9cb-469f-a165-70867728950e");
        assert!(crate::ids::is_uuid(u.as_bytes()), "{u}");
        assert_ne!(u, fresh_id_like("0f8fad5b-d9cb-469f-a165-70867728950e"));
        let h = fresh_id_like("3f2a9c");
        assert!(is_hex(&h, 32), "{h}");
    }

    #[test]
    fn logged_escapes_become_percent_encoding() {
        assert_eq!(unescape_logged("/caf\\xC3\\xA9?q=\\x22"), "/caf%C3%A9?q=%22");
        assert_eq!(unescape_logged("/plain\\x"), "/plain\\x");
    }

    #[test]
    fn set_header_replaces_all_of_one_name() {
        let headers = vec![("a".into(), "1".into()), ("B".into(), "2".into()), ("A".into(), "3".into())];
        let mut r = Request { headers, ..Default::default() };
        r.set_header("A", "9");
        assert_eq!(r.headers, vec![("a".to_string(), "9".to_string()), ("B".into(), "2".into())]);
        assert_eq!(parse_header("X-Y:  z "), Some(("X-Y".into(), "z".into())));
        assert_eq!(parse_header("bad name: z"), None);
    }
}
