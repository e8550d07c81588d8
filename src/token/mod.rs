//! Token inspection: find the JWTs in a log line or a header, decode them, verify their signature (jsonwebtoken,
//! over the exact bytes received) and judge their times at the request's own instant.
//!
//! [`find`] finds them in text, [`decode`] takes one apart, [`keys`] reads secrets, PEM keys and JWK Sets (fetched
//! or discovered), [`verify`] gives the signature's verdict, [`times`] judges `exp`/`nbf`/`iat`, and [`inspect`]
//! puts it all together.

pub mod decode;
pub mod find;
pub mod inspect;
pub mod keys;
pub mod show;
pub mod times;
pub mod verify;

use jiff::Timestamp;

use crate::config::TokenConfig;
use inspect::{Expect, Inspection};
use keys::{JwksCache, KeySpec};

/// The leeway when none is given.
pub const DEFAULT_LEEWAY_S: i64 = 60;
/// The largest leeway that still means something (a day).
pub const MAX_LEEWAY_S: i64 = 86_400;

/// Keys and expectations from the config's `[token]` table.
pub fn from_config(cfg: &TokenConfig) -> anyhow::Result<(Option<KeySpec>, Expect)> {
    let key = match (&cfg.secret_file, &cfg.key, &cfg.jwks) {
        (Some(f), _, _) => Some(KeySpec::Secret(secret_file(f)?)),
        (None, Some(k), _) => Some(KeySpec::Pem(k.clone())),
        (None, None, Some(j)) => Some(KeySpec::Jwks(j.clone())),
        (None, None, None) => None,
    };
    let expect = Expect {
        iss: cfg.issuer.as_ref().map(|v| v.to_vec()).unwrap_or_default(),
        aud: cfg.audience.as_ref().map(|v| v.to_vec()).unwrap_or_default(),
        leeway_s: cfg.leeway_s.unwrap_or(DEFAULT_LEEWAY_S),
    };
    Ok((key, expect))
}

/// A secret from a file, without the line end an editor leaves.
pub fn secret_file(path: &str) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context;
    let mut s = std::fs::read(path).with_context(|| format!("cannot read the secret file {path}"))?;
    while s.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        s.pop();
    }
    Ok(s)
}

/// Why a token's keys could not be had: the exit code 1 case.
#[derive(Debug)]
pub struct KeyError(pub anyhow::Error);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for KeyError {}

/// Inspect one token found in text: keys resolved (fetched through `cache`) for it, times judged at `at` and at
/// `record`. A token that does not decode is rejected as malformed.
pub async fn inspect_found(
    found: &find::Found,
    key: Option<&KeySpec>,
    expect: &Expect,
    at: Timestamp,
    record: Option<Timestamp>,
    cache: &mut JwksCache,
) -> Result<Inspection, KeyError> {
    let token = match decode::decode(&found.token) {
        Ok(t) => t,
        Err(m) => return Ok(malformed(found, m, at)),
    };
    let iss = token.claim("iss").and_then(|v| v.as_str()).map(str::to_string);
    let keys = match key {
        Some(spec) => Some(keys::resolve(spec, iss.as_deref(), &expect.iss, cache).await.map_err(KeyError)?),
        None => None,
    };
    Ok(inspect::inspect(&token, &found.place, keys.as_ref(), expect, at, record))
}

fn malformed(found: &find::Found, m: decode::Malformed, at: Timestamp) -> Inspection {
    let header = found
        .token
        .split('.')
        .next()
        .and_then(decode::b64url)
        .and_then(|h| serde_json::from_slice(&h).ok())
        .unwrap_or_default();
    let reason = m.to_string();
    Inspection {
        found_in: found.place.clone(),
        header,
        claims: serde_json::Value::Null,
        signature: verify::Signature {
            alg: None,
            kid: None,
            verdict: verify::Verdict::Rejected,
            key: None,
            reason: Some(reason.clone()),
        },
        times: times::Times { at: times::rfc3339(at), exp: None, nbf: None, iat: None, now: None },
        claims_check: Default::default(),
        valid: false,
        problems: vec![format!("signature rejected: {reason}")],
    }
}
