//! Keys to check signatures with: a shared secret, a PEM public key or certificate, a JWK Set from a file or a URL,
//! or the issuer's own set found through OpenID discovery. Fetched sets are cached for the session, as long as
//! their `Cache-Control: max-age` allows.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{AlgorithmFamily, DecodingKey};

/// Where a key comes from, as the user gave it.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySpec {
    /// A shared secret, as bytes.
    Secret(Vec<u8>),
    /// A PEM file: public key or X.509 certificate (RSA, EC P-256/P-384, Ed25519).
    Pem(String),
    /// A JWK Set: a file, or an https URL (http only to loopback).
    Jwks(String),
    /// The JWK Set the token's issuer publishes (`{iss}/.well-known/openid-configuration` → `jwks_uri`).
    Discover,
}

impl std::fmt::Debug for KeySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the secret
        match self {
            KeySpec::Secret(_) => write!(f, "KeySpec::Secret(…)"),
            KeySpec::Pem(p) => write!(f, "KeySpec::Pem({p})"),
            KeySpec::Jwks(j) => write!(f, "KeySpec::Jwks({j})"),
            KeySpec::Discover => write!(f, "KeySpec::Discover"),
        }
    }
}

/// Keys ready to check with.
#[derive(Clone)]
pub enum Keys {
    /// A secret.
    Secret(DecodingKey),
    /// One public key, with what it is and where from.
    Public { key: DecodingKey, family: AlgorithmFamily, source: String },
    /// A set, chosen from by `kid`, else by key type and algorithm. `published`: fetched from a URL, so public:
    /// its shared-secret (`oct`) keys are anyone's and prove nothing.
    Set { set: JwkSet, source: String, published: bool },
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the key material
        match self {
            Keys::Secret(_) => write!(f, "Keys::Secret"),
            Keys::Public { family, source, .. } => write!(f, "Keys::Public({family:?}, {source})"),
            Keys::Set { set, source, .. } => write!(f, "Keys::Set({} keys, {source})", set.keys.len()),
        }
    }
}

/// A family's name for people.
pub fn family_name(f: AlgorithmFamily) -> &'static str {
    match f {
        AlgorithmFamily::Hmac => "HMAC secret",
        AlgorithmFamily::Rsa => "RSA public key",
        AlgorithmFamily::Ec => "EC public key",
        AlgorithmFamily::Ed => "Ed25519 public key",
    }
}

/// A secret given as base64 or base64url (a JWK's `k`).
pub fn secret_from_base64(s: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine;
    let s = s.trim();
    super::decode::b64url(s)
        .or_else(|| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .context("--secret-base64 is neither base64 nor base64url")
}

/// A PEM public key or certificate, whichever kind it is (a file holding a JWK Set is read as one).
pub fn pem_key(path: &str) -> anyhow::Result<Keys> {
    let pem = std::fs::read(path).with_context(|| format!("cannot read the key file {path}"))?;
    if pem.trim_ascii_start().starts_with(b"{") {
        return jwks_file(path);
    }
    type Parse = fn(&[u8]) -> jsonwebtoken::errors::Result<DecodingKey>;
    let attempts: [(AlgorithmFamily, Parse); 3] = [
        (AlgorithmFamily::Rsa, DecodingKey::from_rsa_pem),
        (AlgorithmFamily::Ec, DecodingKey::from_ec_pem),
        (AlgorithmFamily::Ed, DecodingKey::from_ed_pem),
    ];
    for (family, parse) in attempts {
        if let Ok(key) = parse(&pem) {
            return Ok(Keys::Public { key, family, source: format!("{path} ({})", family_name(family)) });
        }
    }
    bail!("{path} is not a PEM public key or certificate (RSA, EC P-256/P-384 or Ed25519)")
}

/// Whether a URL may be fetched: https, or http to this machine (tests, local proxies).
pub fn fetchable(url: &str) -> anyhow::Result<reqwest::Url> {
    let u = reqwest::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
    let loopback = crate::urls::is_loopback(url);
    match u.scheme() {
        "https" => Ok(u),
        "http" if loopback => Ok(u),
        _ => bail!("{url}: keys are fetched over https only (http only from 127.0.0.0/8, ::1 or localhost)"),
    }
}

/// Fetched key sets (and discovery documents), kept for the session.
#[derive(Default)]
pub struct JwksCache {
    sets: HashMap<String, (JwkSet, Instant)>,
    /// Issuer → its `jwks_uri`, until when.
    discovered: HashMap<String, (String, Instant)>,
}

/// The longest a fetched document is kept, whatever its `max-age` says.
const MAX_KEEP: Duration = Duration::from_secs(86_400);
/// The largest document fetched: a JWK Set of a few dozen keys is a few kilobytes.
const MAX_BODY: usize = 1 << 20;

/// How long a fetched document may be kept: its `max-age` (at most a day), else five minutes; `no-store` and
/// `no-cache` keep it for this one use.
fn max_age(headers: &reqwest::header::HeaderMap) -> Duration {
    let cc = headers.get(reqwest::header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut age = Duration::from_secs(300);
    for part in cc.split(',').map(str::trim) {
        if part.eq_ignore_ascii_case("no-store") || part.eq_ignore_ascii_case("no-cache") {
            return Duration::ZERO;
        }
        if let Some(v) = part.strip_prefix("max-age=").and_then(|v| v.trim_matches('"').parse::<u64>().ok()) {
            age = Duration::from_secs(v);
        }
    }
    age.min(MAX_KEEP)
}

/// A client for one fetch: a timeout, redirects only to what may be fetched itself (https, or http on this
/// machine), and no proxy for this machine.
fn client(url: &str) -> anyhow::Result<reqwest::Client> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 5 {
            attempt.error("too many redirects")
        } else if fetchable(attempt.url().as_str()).is_err() {
            let to = attempt.url().to_string();
            attempt.error(format!("a redirect to {to}, which is not https"))
        } else {
            attempt.follow()
        }
    });
    let builder = reqwest::Client::builder().timeout(Duration::from_secs(10)).redirect(policy);
    let builder = if crate::urls::is_loopback(url) { builder.no_proxy() } else { builder };
    builder.build().context("cannot set up the HTTP client")
}

async fn get_json(url: &str) -> anyhow::Result<(serde_json::Value, Duration)> {
    let u = fetchable(url)?;
    let mut resp = client(url)?.get(u).send().await.with_context(|| format!("cannot fetch {url}"))?;
    let status = resp.status();
    anyhow::ensure!(status.is_success(), "cannot fetch {url}: HTTP {status}");
    let age = max_age(resp.headers());
    anyhow::ensure!(
        resp.content_length().is_none_or(|n| n <= MAX_BODY as u64),
        "{url} sends more than 1 MiB: not a key set"
    );
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.with_context(|| format!("cannot fetch {url}"))? {
        body.extend_from_slice(&chunk);
        anyhow::ensure!(body.len() <= MAX_BODY, "{url} sends more than 1 MiB: not a key set");
    }
    let json = serde_json::from_slice(&body).with_context(|| format!("{url} did not answer with JSON"))?;
    Ok((json, age))
}

/// `now + age`, never past what an `Instant` holds.
fn until(age: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(age).unwrap_or(now)
}

impl JwksCache {
    /// The set at `url`, from the cache while it is fresh, else fetched.
    pub async fn get(&mut self, url: &str) -> anyhow::Result<JwkSet> {
        if let Some((set, until)) = self.sets.get(url)
            && Instant::now() < *until
        {
            return Ok(set.clone());
        }
        let (json, age) = get_json(url).await?;
        let set: JwkSet = serde_json::from_value(json).with_context(|| format!("{url} is not a JWK Set"))?;
        self.sets.insert(url.to_string(), (set.clone(), until(age)));
        Ok(set)
    }

    /// The issuer's set: `{iss}/.well-known/openid-configuration` names its `jwks_uri`; the document must name
    /// the same issuer. The caller decides which issuers are trusted.
    pub async fn discover(&mut self, issuer: &str) -> anyhow::Result<(JwkSet, String)> {
        let jwks_uri = match self.discovered.get(issuer) {
            Some((uri, until)) if Instant::now() < *until => uri.clone(),
            _ => {
                let config_url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
                let (config, age) = get_json(&config_url).await?;
                let named = config.get("issuer").and_then(|v| v.as_str()).unwrap_or("");
                anyhow::ensure!(
                    named.trim_end_matches('/') == issuer.trim_end_matches('/'),
                    "{config_url} is the configuration of issuer {named:?}, not of {issuer}"
                );
                let uri = config
                    .get("jwks_uri")
                    .and_then(|v| v.as_str())
                    .with_context(|| format!("{config_url} names no jwks_uri"))?
                    .to_string();
                self.discovered.insert(issuer.to_string(), (uri.clone(), until(age)));
                uri
            }
        };
        Ok((self.get(&jwks_uri).await?, jwks_uri))
    }
}

/// Read a JWK Set file.
pub fn jwks_file(path: &str) -> anyhow::Result<Keys> {
    let text = std::fs::read(path).with_context(|| format!("cannot read the JWK Set {path}"))?;
    let set: JwkSet = serde_json::from_slice(&text).with_context(|| format!("{path} is not a JWK Set"))?;
    Ok(Keys::Set { set, source: path.to_string(), published: false })
}

/// Whether a key spec names something to fetch.
pub fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// The keys a spec stands for; `issuer` is the token's `iss`, and `trusted` the issuers discovery may follow
/// (a token names its own issuer, so discovery alone would trust whoever signed it). Fetches go through `cache`.
pub async fn resolve(
    spec: &KeySpec,
    issuer: Option<&str>,
    trusted: &[String],
    cache: &mut JwksCache,
) -> anyhow::Result<Keys> {
    match spec {
        KeySpec::Secret(s) => Ok(Keys::Secret(DecodingKey::from_secret(s).context("the secret cannot be used")?)),
        KeySpec::Pem(path) => pem_key(path),
        KeySpec::Jwks(src) if is_url(src) => {
            Ok(Keys::Set { set: cache.get(src).await?, source: src.clone(), published: true })
        }
        KeySpec::Jwks(src) => jwks_file(src),
        KeySpec::Discover => {
            let iss = issuer.context("--discover needs the token's iss claim, and it has none")?;
            anyhow::ensure!(
                trusted.iter().any(|t| t.trim_end_matches('/') == iss.trim_end_matches('/')),
                "the token's issuer {iss} is not one to discover keys from: name it with --iss (or [token] issuer)"
            );
            let (set, uri) = cache.discover(iss).await?;
            Ok(Keys::Set { set, source: uri, published: true })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_sets_how_long_a_set_is_kept() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(max_age(&h), Duration::from_secs(300));
        h.insert(reqwest::header::CACHE_CONTROL, "public, max-age=60".parse().unwrap());
        assert_eq!(max_age(&h), Duration::from_secs(60));
        h.insert(reqwest::header::CACHE_CONTROL, "max-age=18446744073709551615".parse().unwrap());
        assert_eq!(max_age(&h), MAX_KEEP, "a huge max-age is capped, not an overflow");
        assert!(until(max_age(&h)) > Instant::now());
        h.insert(reqwest::header::CACHE_CONTROL, "no-store".parse().unwrap());
        assert_eq!(max_age(&h), Duration::ZERO);
    }

    #[test]
    fn only_https_or_loopback_is_fetched() {
        assert!(fetchable("https://idp.example.com/jwks").is_ok());
        assert!(fetchable("http://127.0.0.1:8080/jwks").is_ok() && fetchable("http://[::1]/x").is_ok());
        assert!(fetchable("http://idp.example.com/jwks").is_err() && fetchable("file:///etc/x").is_err());
        assert_eq!(secret_from_base64("c2VjcmV0").unwrap(), b"secret");
        assert_eq!(secret_from_base64("-_8").unwrap(), [0xfb, 0xff]);
    }
}
