//! Sending one request with its retries, and what came back.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::failure::{Attempted, describe};
use super::request::Request;
use super::retry::{RetryPolicy, parse_retry_after, retryable_status};
use super::route::wire;
use super::tls::TlsFiles;

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
    /// The SHA-256 of the whole body, hex (bodies are told apart by it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_sha256: Option<String>,
    /// Where the connection went, when not where the URL's host resolves (`--connect-to`, the upstream).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_to: Option<String>,
    /// The certificate was not checked (`--insecure`): nothing about who answered is known.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

fn body_text<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

impl Outcome {
    /// No response for `req`, for `error`, before anything was sent.
    pub fn failed(req: &Request, error: String) -> Outcome {
        let attempt = Attempt { status: None, error: Some(error.clone()), delay_ms: 0, ms: 0.0 };
        Outcome { error: Some(error), attempts: vec![attempt], insecure: req.insecure, ..Default::default() }
    }

    /// Whether a response came.
    pub fn responded(&self) -> bool {
        self.status.is_some()
    }
}

/// How the HTTP client for a request is set up; requests that agree share one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ClientOptions {
    /// Accept any certificate (`--insecure`).
    pub insecure: bool,
    /// Follow redirects to the same host and port.
    pub follow_redirects: bool,
    /// Go straight to the target, not through a proxy from the environment.
    pub no_proxy: bool,
    /// The CA bundle and client certificate.
    pub tls: TlsFiles,
    /// A name resolved to these addresses instead of by DNS (`--connect-to`, `--resolve`, upstreams).
    pub pin: Option<(String, Vec<SocketAddr>)>,
    /// How long connecting may take.
    pub connect_timeout: Option<Duration>,
    /// Speak HTTP/1.1 only: the Host header then names the site, where HTTP/2 would name the URL's authority
    /// (the connected port) and a strict server refuses the two differing.
    pub http1_only: bool,
}

/// A client for replays: redirects followed only when asked, and then only on the same host and port; proxies
/// from the environment (`HTTPS_PROXY`, …) are used as curl uses them, except for loopback targets and
/// connections aimed at an address.
pub fn client(o: &ClientOptions) -> anyhow::Result<reqwest::Client> {
    let policy = if o.follow_redirects {
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
    let mut builder = super::tls::configure(reqwest::Client::builder().redirect(policy), &o.tls, o.insecure)?;
    if let Some((name, addrs)) = &o.pin {
        builder = builder.resolve_to_addrs(name, addrs);
    }
    if let Some(t) = o.connect_timeout {
        builder = builder.connect_timeout(t);
    }
    if o.no_proxy {
        builder = builder.no_proxy();
    }
    if o.http1_only {
        builder = builder.http1_only();
    }
    Ok(builder.build()?)
}

/// A request made ready to go: the URL the client is given, the Host header it needs, its client's settings.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The URL as the HTTP client takes it (the name to verify, the port connected to).
    pub url: String,
    /// A Host header to add when the request has none.
    pub host_header: Option<String>,
    /// Its client.
    pub client: ClientOptions,
    /// For the words of an error.
    pub attempted: Attempted,
    /// Where the connection goes, when not where the URL's host resolves.
    pub connect: Option<String>,
}

/// Work out where `req` connects (looking up a `--connect-to` name when it must) and how its client is set up.
pub async fn prepare(req: &Request, timeout: Duration) -> Result<Prepared, String> {
    let w = wire(&req.url, &req.route).map_err(|e| format!("{e:#}"))?;
    let (dest_host, dest_port) = w.dest.clone();
    let dest = format!("{}:{dest_port}", super::route::bracket(&dest_host));
    let mut addrs = w.addrs.clone();
    if w.pin.is_some() && addrs.is_empty() {
        let found = tokio::time::timeout(timeout, tokio::net::lookup_host((dest_host.as_str(), dest_port)))
            .await
            .map_err(|_| format!("timed out after {} s looking up {dest_host}", timeout.as_secs_f64()))?
            .map_err(|e| format!("cannot resolve {dest_host}: {e}"))?;
        addrs = found.collect();
    }
    let name = reqwest::Url::parse(&w.url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let routed = w.pin.is_some() || !w.addrs.is_empty();
    let client = ClientOptions {
        insecure: req.insecure,
        follow_redirects: req.follow_redirects,
        // a connection aimed at an address goes there, not through a proxy
        no_proxy: crate::urls::is_loopback(&req.url) || routed,
        tls: req.tls.clone(),
        pin: w.pin.clone().map(|p| (p, addrs)),
        // just under the attempt's timeout (whose clock starts first), so a connection never made is told as such
        connect_timeout: Some(timeout.saturating_sub(Duration::from_millis(50).min(timeout / 10))),
        http1_only: w.host_header.is_some(),
    };
    let attempted = Attempted {
        timeout,
        name: name.trim_start_matches('[').trim_end_matches(']').to_string(),
        dest: dest.clone(),
        gave_cert: req.tls.cert.is_some(),
    };
    Ok(Prepared { url: w.url, host_header: w.host_header, client, attempted, connect: routed.then_some(dest) })
}

/// Send `req` alone: work out where it goes, set up its client, send it with its retries.
pub async fn send_alone(req: &Request, opts: &SendOptions) -> Outcome {
    let prepared = match prepare(req, opts.timeout).await {
        Ok(p) => p,
        Err(e) => return Outcome::failed(req, e),
    };
    match client(&prepared.client) {
        Ok(c) => send(&c, req, &prepared, opts).await,
        Err(e) => Outcome::failed(req, format!("cannot set up the HTTP client: {e:#}")),
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
async fn attempt(
    client: &reqwest::Client,
    req: &Request,
    prepared: &Prepared,
    timeout: Duration,
    out: &mut Outcome,
) -> Got {
    let Ok(method) = reqwest::Method::from_bytes(req.method.as_bytes()) else {
        let error = format!("{:?} is not an HTTP method", req.method);
        return Got { status: None, error: Some(error), retryable: false, retry_after: None };
    };
    let mut b = client.request(method, &prepared.url).timeout(timeout);
    if let Some(host) = prepared.host_header.as_deref().filter(|_| req.header("host").is_none()) {
        b = b.header(reqwest::header::HOST, host);
    }
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
                error: Some(describe(&e, &prepared.attempted)),
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
    let mut digest = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                digest.update(&c);
                let room = BODY_LIMIT.saturating_sub(out.body.len());
                out.body.extend_from_slice(&c[..c.len().min(room)]);
                out.body_bytes += c.len() as u64;
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(format!("body cut short: {}", describe(&e, &prepared.attempted)));
                break;
            }
        }
    }
    out.body_sha256 = Some(digest.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect());
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
pub async fn send(client: &reqwest::Client, req: &Request, prepared: &Prepared, opts: &SendOptions) -> Outcome {
    let mut out = Outcome { insecure: req.insecure, connected_to: prepared.connect.clone(), ..Default::default() };
    let mut delay = Duration::ZERO;
    for n in 0..=opts.retry.retries {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let start = Instant::now();
        let got = attempt(client, req, prepared, opts.timeout, &mut out).await;
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
            out.body_sha256 = None;
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
