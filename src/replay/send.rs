//! Sending one request with its retries, and what came back.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::request::Request;
use super::retry::{RetryPolicy, parse_retry_after, retryable_status};

/// How much of a response body is kept.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How requests are sent.
#[derive(Clone, Copy, Debug)]
pub struct SendOptions {
    /// Each attempt's timeout, from connecting to the body's end.
    pub timeout: Duration,
    /// The retry rules.
    pub retry: RetryPolicy,
}

impl SendOptions {
    /// For `method`: `retries` when given, else the method's default (2 when idempotent, else 0).
    pub fn for_method(method: &str, timeout: Duration, retries: Option<u32>, cap: Duration) -> Self {
        let retries = retries.unwrap_or_else(|| RetryPolicy::default_retries(method));
        SendOptions { timeout, retry: RetryPolicy { retries, base: super::retry::BASE_BACKOFF, cap } }
    }
}

/// One attempt at sending.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Attempt {
    /// The status, when a response came.
    pub status: Option<u16>,
    /// What went wrong, when none came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long it waited before this attempt, ms.
    pub delay_ms: u64,
    /// How long the attempt took, ms.
    pub ms: f64,
}

/// What a replay got back: the last attempt's response, and every attempt.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    /// The final status.
    pub status: Option<u16>,
    /// Total time of the last attempt, ms.
    pub latency_ms: Option<f64>,
    /// Time to the last response's headers, ms.
    pub headers_ms: Option<f64>,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
    /// Why no response came (the last attempt's error).
    pub error: Option<String>,
    /// Response headers (names lower case), in order; written out through a redactor
    /// ([`super::show::headers_json`]), as they may carry secrets.
    #[serde(skip)]
    pub headers: Vec<(String, String)>,
    /// The body's first [`BODY_LIMIT`] bytes, as text (invalid UTF-8 replaced).
    #[serde(serialize_with = "body_text")]
    pub body: Vec<u8>,
    /// The whole body's size in bytes.
    pub body_bytes: u64,
    /// Anything worth saying: a `Retry-After` not waited out, retries left unused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The HTTP version of the response, e.g. `HTTP/1.1`.
    #[serde(skip)]
    pub version: Option<String>,
}

fn body_text<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

impl Outcome {
    /// Whether a response came.
    pub fn responded(&self) -> bool {
        self.status.is_some()
    }
}

/// A client for replays: redirects followed only when asked, and then only on the same host and port; proxies
/// from the environment (`HTTPS_PROXY`, …) are used as curl uses them, except for loopback targets.
pub fn client(insecure: bool, follow_redirects: bool, loopback: bool) -> reqwest::Result<reqwest::Client> {
    let policy = if follow_redirects {
        reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first();
            let same = first.is_some_and(|f| {
                f.host_str() == attempt.url().host_str()
                    && f.port_or_known_default() == attempt.url().port_or_known_default()
            });
            if attempt.previous().len() > 10 || !same { attempt.stop() } else { attempt.follow() }
        })
    } else {
        reqwest::redirect::Policy::none()
    };
    let builder = reqwest::Client::builder().redirect(policy).tls_danger_accept_invalid_certs(insecure);
    if loopback { builder.no_proxy() } else { builder }.build()
}

/// Why an attempt ended without a response, in a few words.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    use std::error::Error as _;
    let kind = if e.is_timeout() {
        format!("timed out after {} s", timeout.as_secs_f64())
    } else if e.is_connect() {
        "connection failed".to_string()
    } else if e.is_redirect() {
        "redirect refused".to_string()
    } else if e.is_builder() {
        "invalid request".to_string()
    } else {
        "request failed".to_string()
    };
    // the innermost cause says what happened (refused, reset, DNS, certificate)
    let mut cause = e.source();
    let mut last = None;
    while let Some(c) = cause {
        last = Some(c.to_string());
        cause = c.source();
    }
    match last {
        Some(c) if !e.is_timeout() => format!("{kind}: {c}"),
        _ => kind,
    }
}

/// Whether an error is worth another attempt: nothing came back because of the connection or the clock.
fn retryable_error(e: &reqwest::Error) -> bool {
    e.is_connect() || e.is_timeout() || e.is_request()
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// One attempt's result, before the retry decision.
struct Got {
    status: Option<u16>,
    error: Option<String>,
    retryable: bool,
    retry_after: Option<Duration>,
}

/// One attempt at `req`, its response recorded in `out`.
async fn attempt(client: &reqwest::Client, req: &Request, timeout: Duration, out: &mut Outcome) -> Got {
    let Ok(method) = reqwest::Method::from_bytes(req.method.as_bytes()) else {
        let error = format!("{:?} is not an HTTP method", req.method);
        return Got { status: None, error: Some(error), retryable: false, retry_after: None };
    };
    let mut b = client.request(method, &req.url).timeout(timeout);
    for (n, v) in &req.headers {
        // values are bytes on the wire: UTF-8 text goes as it is (obs-text), as curl sends it
        let (Ok(name), Ok(value)) = (
            reqwest::header::HeaderName::from_bytes(n.as_bytes()),
            reqwest::header::HeaderValue::from_bytes(v.as_bytes()),
        ) else {
            let error = format!("header {n:?} cannot be sent: its name or value holds a forbidden character");
            return Got { status: None, error: Some(error), retryable: false, retry_after: None };
        };
        b = b.header(name, value);
    }
    if let Some(body) = &req.body {
        b = b.body(body.clone());
    }
    let start = Instant::now();
    let mut resp = match b.send().await {
        Ok(r) => r,
        Err(e) => {
            return Got {
                status: None,
                error: Some(describe(&e, timeout)),
                retryable: retryable_error(&e),
                retry_after: None,
            };
        }
    };
    out.headers_ms = Some(ms(start.elapsed()));
    let status = resp.status().as_u16();
    out.version = Some(format!("{:?}", resp.version()));
    out.headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    out.body.clear();
    out.body_bytes = 0;
    let mut error = None;
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                let room = BODY_LIMIT.saturating_sub(out.body.len());
                out.body.extend_from_slice(&c[..c.len().min(room)]);
                out.body_bytes += c.len() as u64;
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(format!("body cut short: {}", describe(&e, timeout)));
                break;
            }
        }
    }
    out.latency_ms = Some(ms(start.elapsed()));
    let retry_after = if matches!(status, 429 | 503) {
        resp.headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, jiff::Timestamp::now()))
    } else {
        None
    };
    Got { status: Some(status), error, retryable: retryable_status(status), retry_after }
}

/// Send `req`, retrying as `opts.retry` says; every attempt is recorded.
pub async fn send(client: &reqwest::Client, req: &Request, opts: &SendOptions) -> Outcome {
    let mut out = Outcome::default();
    let mut delay = Duration::ZERO;
    for n in 0..=opts.retry.retries {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let start = Instant::now();
        let got = attempt(client, req, opts.timeout, &mut out).await;
        out.attempts.push(Attempt {
            status: got.status,
            error: got.error.clone(),
            delay_ms: delay.as_millis() as u64,
            ms: ms(start.elapsed()),
        });
        out.status = got.status;
        out.error = got.error;
        if got.status.is_none() {
            out.headers.clear();
            out.body.clear();
            out.headers_ms = None;
            out.latency_ms = None;
        }
        if !got.retryable || n == opts.retry.retries {
            break;
        }
        delay = match got.retry_after {
            Some(wait) if wait > opts.retry.cap => {
                out.note = Some(format!(
                    "Retry-After asks for {} s, past the {} s cap (--max-backoff): not waited out, {} retr{} left unused",
                    wait.as_secs(),
                    opts.retry.cap.as_secs(),
                    opts.retry.retries - n,
                    if opts.retry.retries - n == 1 { "y" } else { "ies" }
                ));
                break;
            }
            Some(wait) => wait,
            None => opts.retry.backoff(n),
        };
    }
    out
}
