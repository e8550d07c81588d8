//! The signature verdict: jsonwebtoken does the cryptography over the exact bytes received; this part chooses the
//! key and refuses what must never be accepted (`alg: none`, an HMAC token checked against a public key).

use std::str::FromStr;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Serialize;

use super::decode::Decoded;
use super::keys::{Keys, family_name};

/// How a signature stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It verifies with the key.
    Valid,
    /// It does not.
    Invalid,
    /// No key was given.
    NotChecked,
    /// Refused before any check: unsigned, malformed, a key of the wrong kind, a `kid` the set lacks.
    Rejected,
}

/// The signature's verdict, with the key used and the reason.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Signature {
    /// The header's `alg`.
    pub alg: Option<String>,
    /// The header's `kid`.
    pub kid: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// Which key: `secret`, `rsa.pem (RSA public key)`, `kid 2024-06 of https://idp/jwks`.
    pub key: Option<String>,
    /// Why, when it is not valid.
    pub reason: Option<String>,
}

fn jwk_family(jwk: &Jwk) -> Option<AlgorithmFamily> {
    Some(match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
        AlgorithmParameters::EllipticCurve(_) => AlgorithmFamily::Ec,
        AlgorithmParameters::OctetKeyPair(_) => AlgorithmFamily::Ed,
        AlgorithmParameters::OctetKey(_) => AlgorithmFamily::Hmac,
        _ => return None,
    })
}

/// Check a token's signature with `keys` (`None`: nothing to check with).
pub fn check(token: &Decoded, keys: Option<&Keys>) -> Signature {
    let alg_text = token.header_str("alg").map(str::to_string);
    let kid = token.header_str("kid").map(str::to_string);
    let mut sig =
        Signature { alg: alg_text.clone(), kid: kid.clone(), verdict: Verdict::NotChecked, key: None, reason: None };
    let reject = |mut s: Signature, why: String| {
        s.verdict = Verdict::Rejected;
        s.reason = Some(why);
        s
    };
    let Some(alg_text) = alg_text else { return reject(sig, "the header has no alg".into()) };
    if alg_text.eq_ignore_ascii_case("none") {
        return reject(sig, "alg none: the token is unsigned, and anyone can write one".into());
    }
    let Ok(alg) = Algorithm::from_str(&alg_text) else {
        return reject(sig, format!("unsupported algorithm {alg_text}"));
    };
    let Some(keys) = keys else {
        sig.reason = Some("no key given (--secret, --key, --jwks or --discover)".into());
        return sig;
    };
    let wanted = alg.family();
    let candidates: Vec<(DecodingKey, String)> = match keys {
        Keys::Secret(k) => {
            if wanted != AlgorithmFamily::Hmac {
                return reject(
                    sig,
                    format!("{alg_text} is signed with a private key: check it with a public key, not a secret"),
                );
            }
            vec![(k.clone(), "secret".into())]
        }
        Keys::Public { key, family: f, source } => {
            if wanted == AlgorithmFamily::Hmac {
                // the key-confusion attack: an HMAC "signed" with the public key everyone has
                return reject(
                    sig,
                    format!(
                        "{alg_text} token checked against {}: an HMAC over a public key is the key-confusion attack",
                        family_name(*f)
                    ),
                );
            }
            if wanted != *f {
                return reject(sig, format!("{alg_text} needs a {}, and {source} is not one", family_name(wanted)));
            }
            vec![(key.clone(), source.clone())]
        }
        Keys::Set { set, source, published } => {
            let chosen: Vec<&Jwk> = match &kid {
                Some(k) => match set.find(k) {
                    Some(jwk) => vec![jwk],
                    None => {
                        let kids: Vec<&str> = set.keys.iter().filter_map(|j| j.common.key_id.as_deref()).collect();
                        return reject(
                            sig,
                            format!(
                                "kid {k} is not in the JWK Set {source} (it has: {})",
                                if kids.is_empty() { "no kids".to_string() } else { kids.join(", ") }
                            ),
                        );
                    }
                },
                // no kid: the keys of the right type (and algorithm, where the key names one)
                None => set
                    .keys
                    .iter()
                    .filter(|j| jwk_family(j) == Some(wanted))
                    .filter(|j| {
                        j.common
                            .key_algorithm
                            .and_then(|ka| serde_json::to_value(ka).ok())
                            .is_none_or(|ka| ka == alg_text.as_str())
                    })
                    .collect(),
            };
            if let Some(jwk) = chosen.iter().find(|j| jwk_family(j) != Some(wanted)) {
                let have = jwk_family(jwk).map_or("an unsupported key", family_name);
                let why = if wanted == AlgorithmFamily::Hmac {
                    format!(
                        "{alg_text} token checked against {have}: an HMAC over a public key is the key-confusion attack"
                    )
                } else {
                    format!("{alg_text} needs a {}, and the JWK chosen from {source} is {have}", family_name(wanted))
                };
                return reject(sig, why);
            }
            // a key says what it is for: another algorithm, or encryption, is not this token's key
            for jwk in &chosen {
                if let Some(ka) = jwk.common.key_algorithm.and_then(|ka| serde_json::to_value(ka).ok())
                    && ka.as_str() != Some(alg_text.as_str())
                {
                    return reject(
                        sig,
                        format!("the JWK chosen from {source} is for {ka}, and the token says {alg_text}"),
                    );
                }
                if matches!(jwk.common.public_key_use, Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)) {
                    return reject(
                        sig,
                        format!("the JWK chosen from {source} is for encryption (use: enc), not signatures"),
                    );
                }
            }
            if *published && wanted == AlgorithmFamily::Hmac {
                return reject(
                    sig,
                    format!(
                        "{alg_text} checked against a shared secret published at {source}: anyone can sign with it"
                    ),
                );
            }
            if chosen.is_empty() {
                return reject(sig, format!("no key in the JWK Set {source} fits {alg_text}"));
            }
            let mut out = Vec::new();
            for jwk in chosen {
                let name = match &jwk.common.key_id {
                    Some(k) => format!("kid {k} of {source}"),
                    None => format!("{} in {source}", family_name(jwk_family(jwk).unwrap_or(wanted))),
                };
                match DecodingKey::from_jwk(jwk) {
                    Ok(key) => out.push((key, name)),
                    Err(e) => return reject(sig, format!("{name} cannot be used: {e}")),
                }
            }
            out
        }
    };
    let mut last_err = None;
    for (key, name) in &candidates {
        match jsonwebtoken::crypto::verify(&token.signature, token.signing_input.as_bytes(), key, alg) {
            Ok(true) => {
                sig.verdict = Verdict::Valid;
                sig.key = Some(name.clone());
                return sig;
            }
            Ok(false) => last_err = None,
            Err(e) => last_err = Some(e.to_string()),
        }
        sig.key = Some(name.clone());
    }
    sig.verdict = Verdict::Invalid;
    sig.reason = Some(match last_err {
        Some(e) => format!("the signature does not verify: {e}"),
        None if candidates.len() > 1 => {
            format!("the signature verifies with none of the {} keys that fit", candidates.len())
        }
        None => "the signature does not verify with this key".into(),
    });
    sig
}
