//! Keys to check signatures with: a shared secret, a PEM public key or certificate, a JWK Set from a file or a URL,
//! or the issuer's own set found through OpenID discovery. Fetched sets are cached for the session, as long as
//! their `Cache-Control: max-age` allows.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{AlgorithmFamily, DecodingKey};

/// Where a key comes from, as the user gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// Keys ready to check with.
#[derive(Clone)]
pub enum Keys {
    /// A secret.
    Secret(DecodingKey),
    /// One public key, with what it is and where from.
    Public { key: DecodingKey, family: AlgorithmFamily, source: String },
    /// A set, chosen from by `kid`, else by key type and algorithm.
    Set { set: JwkSet, source: String },
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the key material
        match self {
            Keys::Secret(_) => write!(f, "Keys::Secret"),
            Keys::Public { family, source, .. } => write!(f, "Keys::Public({family:?}, {source})"),
            Keys::Set { set, source } => write!(f, "Keys::Set({} keys, {source})", set.keys.len()),
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

/// A PEM public key or certificate, whichever kind it is.
pub fn pem_key(path: &str) -> anyhow::Result<Keys> {
    let pem = std::fs::read(path).with_context(|| format!("cannot read the key file {path}"))?;
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

/// Fetched key sets, kept for the session.
#[derive(Default)]
pub struct JwksCache {
    sets: HashMap<String, (JwkSet, Instant)>,
}

/// How long a fetched document may be kept: its `max-age`, else five minutes; `no-store`/`no-cache` keep it
/// for this one use.
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
    age
}

/// A client for key fetches: a timeout, no redirects to plain http.
fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().context("cannot set up the HTTP client")
}

async fn get_json(client: &reqwest::Client, url: &str) -> anyhow::Result<(serde_json::Value, Duration)> {
    let u = fetchable(url)?;
    let loopback = crate::urls::is_loopback(url);
    let resp = if loopback {
        reqwest::Client::builder().timeout(Duration::from_secs(10)).no_proxy().build()?.get(u).send().await
    } else {
        client.get(u).send().await
    }
    .with_context(|| format!("cannot fetch {url}"))?;
    let status = resp.status();
    anyhow::ensure!(status.is_success(), "cannot fetch {url}: HTTP {status}");
    let age = max_age(resp.headers());
    let body = resp.bytes().await.with_context(|| format!("cannot fetch {url}"))?;
    let json = serde_json::from_slice(&body).with_context(|| format!("{url} did not answer with JSON"))?;
    Ok((json, age))
}

impl JwksCache {
    /// The set at `url`, from the cache while it is fresh, else fetched.
    pub async fn get(&mut self, url: &str) -> anyhow::Result<JwkSet> {
        if let Some((set, until)) = self.sets.get(url)
            && Instant::now() < *until
        {
            return Ok(set.clone());
        }
        let (json, age) = get_json(&client()?, url).await?;
        let set: JwkSet = serde_json::from_value(json).with_context(|| format!("{url} is not a JWK Set"))?;
        self.sets.insert(url.to_string(), (set.clone(), Instant::now() + age));
        Ok(set)
    }

    /// The issuer's set: `{iss}/.well-known/openid-configuration` names its `jwks_uri`.
    pub async fn discover(&mut self, issuer: &str) -> anyhow::Result<(JwkSet, String)> {
        let config_url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let (config, _) = get_json(&client()?, &config_url).await?;
        let jwks_uri = config
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .with_context(|| format!("{config_url} names no jwks_uri"))?
            .to_string();
        Ok((self.get(&jwks_uri).await?, jwks_uri))
    }
}

/// Read a JWK Set file.
pub fn jwks_file(path: &str) -> anyhow::Result<Keys> {
    let text = std::fs::read(path).with_context(|| format!("cannot read the JWK Set {path}"))?;
    let set: JwkSet = serde_json::from_slice(&text).with_context(|| format!("{path} is not a JWK Set"))?;
    Ok(Keys::Set { set, source: path.to_string() })
}

/// Whether a key spec names something to fetch.
pub fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// The keys a spec stands for; `issuer` is the token's `iss`, for discovery. Fetches go through `cache`.
pub async fn resolve(spec: &KeySpec, issuer: Option<&str>, cache: &mut JwksCache) -> anyhow::Result<Keys> {
    match spec {
        KeySpec::Secret(s) => Ok(Keys::Secret(DecodingKey::from_secret(s).context("the secret cannot be used")?)),
        KeySpec::Pem(path) => pem_key(path),
        KeySpec::Jwks(src) if is_url(src) => Ok(Keys::Set { set: cache.get(src).await?, source: src.clone() }),
        KeySpec::Jwks(src) => jwks_file(src),
        KeySpec::Discover => {
            let iss = issuer.context("--discover needs the token's iss claim, and it has none")?;
            let (set, uri) = cache.discover(iss).await?;
            Ok(Keys::Set { set, source: uri })
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
