//! `gatewatch token` on the published vectors (RFC 7515 A.1–A.3, RFC 7519 §6.1, RFC 8037 A.4), on tokens signed
//! here with every algorithm, and with key sets served by a real HTTP server on loopback.

mod common;

use std::path::PathBuf;

use assert_cmd::Command;
use common::server::{Reply, Server};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

fn gatewatch() -> Command {
    Command::cargo_bin("gatewatch").unwrap()
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt").join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap().trim().to_string()
}

/// Run `token --json` with `args`; the objects printed and the exit code.
fn token_json(args: &[&str]) -> (Vec<Value>, i32) {
    let out = gatewatch().args(["token", "--json"]).args(args).output().unwrap();
    let objects = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (objects, out.status.code().unwrap())
}

/// A JWK Set file holding these JWKs.
fn jwks_file(dir: &tempfile::TempDir, keys: &[Value]) -> String {
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, json!({ "keys": keys }).to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

fn jwk(name: &str) -> Value {
    serde_json::from_str(&read(name)).unwrap()
}

#[test]
fn rfc_7515_a1_is_valid_before_its_exp_and_expired_after() {
    let k = jwk("rfc7515_a1.jwk")["k"].as_str().unwrap().to_string();
    let token = read("rfc7515_a1.jwt");
    let (before, code) = token_json(&[&token, "--secret-base64", &k, "--at", "2011-03-22T18:40:00Z"]);
    assert_eq!(code, 0);
    let t = &before[0];
    assert_eq!((t["signature"]["verdict"].as_str(), t["signature"]["key"].as_str()), (Some("valid"), Some("secret")));
    assert_eq!(t["times"]["exp"]["verdict"], "valid");
    assert_eq!(t["times"]["exp"]["time"], "2011-03-22T18:43:00Z");
    assert_eq!(t["header"], json!({"typ": "JWT", "alg": "HS256"}), "the header as decoded (its CRLF is in the bytes)");
    assert_eq!(t["valid"], true);
    let (after, code) = token_json(&[&token, "--secret-base64", &k, "--at", "2011-03-22T18:45:00Z"]);
    assert_eq!(code, 3);
    assert_eq!(after[0]["times"]["exp"]["verdict"], "expired");
    assert_eq!(after[0]["times"]["exp"]["seconds"], -120);
    assert_eq!(after[0]["problems"], json!(["expired 2 min before 2011-03-22T18:45:00Z (leeway 60 s)"]));
    assert_eq!(after[0]["signature"]["verdict"], "valid", "the signature holds whatever the time");
    // one character of the signature changed (not its last, whose spare bits base64 must keep zero): invalid
    let at = token.len() - 5;
    let swapped = if &token[at..at + 1] == "A" { "B" } else { "A" };
    let forged = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
    let (bad, code) = token_json(&[&forged, "--secret-base64", &k, "--at", "2011-03-22T18:40:00Z"]);
    assert_eq!((bad[0]["signature"]["verdict"].as_str(), code), (Some("invalid"), 3));
}

#[test]
fn rfc_7519_alg_none_is_rejected_even_without_a_key() {
    let (out, code) = token_json(&[&read("rfc7519_6_1.jwt"), "--at", "2011-03-22T18:40:00Z"]);
    assert_eq!(code, 3);
    assert_eq!(out[0]["signature"]["verdict"], "rejected");
    assert!(out[0]["signature"]["reason"].as_str().unwrap().contains("alg none"));
    assert_eq!(out[0]["valid"], false);
}

#[test]
fn rfc_7515_a2_a3_and_rfc_8037_a4_verify_with_their_published_keys() {
    let dir = tempfile::tempdir().unwrap();
    for (token, key, alg) in [
        ("rfc7515_a2.jwt", "rfc7515_a2.jwk", "RS256"),
        ("rfc7515_a3.jwt", "rfc7515_a3.jwk", "ES256"),
        ("rfc8037_a4.jwt", "rfc8037_a4.jwk", "EdDSA"),
    ] {
        let set = jwks_file(&dir, &[jwk(key)]);
        let (out, code) = token_json(&[&read(token), "--jwks", &set, "--at", "2011-03-22T18:40:00Z"]);
        assert_eq!(out[0]["signature"]["alg"], alg);
        assert_eq!(out[0]["signature"]["verdict"], "valid", "{token}: {}", out[0]);
        assert_eq!(code, 0, "{token}");
    }
    // the Ed25519 example signs text, not claims: shown as it is
    let (out, _) = token_json(&[&read("rfc8037_a4.jwt")]);
    assert_eq!(out[0]["claims"], "Example of Ed25519 signing");
    assert_eq!(out[0]["signature"]["verdict"], "not_checked");
}

struct Signer {
    alg: Algorithm,
    private: &'static str,
    public: Option<&'static str>,
}

fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let header = Header { kid: kid.map(str::to_string), ..Header::new(alg) };
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn encoding_key(s: &Signer) -> EncodingKey {
    let pem = std::fs::read(fixture(&format!("keys/{}", s.private))).unwrap();
    match s.alg {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(&pem).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem).unwrap(),
        _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
    }
}

#[test]
fn every_algorithm_signed_here_verifies_with_its_key_and_fails_with_another() {
    let claims = json!({"sub": "user-42", "exp": 4_102_444_800u64, "scope": "read:orders"});
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let token = sign(alg, &EncodingKey::from_secret(b"s3cret").unwrap(), None, &claims);
        let (ok, code) = token_json(&[&token, "--secret", "s3cret"]);
        assert_eq!((ok[0]["signature"]["verdict"].as_str(), code), (Some("valid"), 0), "{alg:?}");
        let (bad, _) = token_json(&[&token, "--secret", "other"]);
        assert_eq!(bad[0]["signature"]["verdict"], "invalid", "{alg:?}");
    }
    let signers = [
        Signer { alg: Algorithm::RS256, private: "rsa.key", public: Some("rsa.pub.pem") },
        Signer { alg: Algorithm::RS384, private: "rsa.key", public: Some("rsa.cert.pem") },
        Signer { alg: Algorithm::RS512, private: "rsa.key", public: Some("rsa.pub.pem") },
        Signer { alg: Algorithm::PS256, private: "rsa.key", public: Some("rsa.cert.pem") },
        Signer { alg: Algorithm::PS384, private: "rsa.key", public: Some("rsa.pub.pem") },
        Signer { alg: Algorithm::PS512, private: "rsa.key", public: Some("rsa.pub.pem") },
        Signer { alg: Algorithm::ES256, private: "ec256.key", public: Some("ec256.pub.pem") },
        Signer { alg: Algorithm::ES384, private: "ec384.key", public: Some("ec384.pub.pem") },
        Signer { alg: Algorithm::EdDSA, private: "ed25519.key", public: Some("ed25519.pub.pem") },
    ];
    for s in &signers {
        let token = sign(s.alg, &encoding_key(s), None, &claims);
        let public = fixture(&format!("keys/{}", s.public.unwrap()));
        let (ok, code) = token_json(&[&token, "--key", public.to_str().unwrap()]);
        assert_eq!((ok[0]["signature"]["verdict"].as_str(), code), (Some("valid"), 0), "{:?}: {}", s.alg, ok[0]);
        // another key of the same kind: the signature does not verify
        let other = match s.alg {
            Algorithm::ES256 => Some("ec384.pub.pem"),
            Algorithm::ES384 => Some("ec256.pub.pem"),
            Algorithm::EdDSA => Some("ed25519_2.pub.pem"),
            _ => Some("rsa2.pub.pem"),
        };
        if let Some(other) = other {
            let (bad, code) = token_json(&[&token, "--key", fixture(&format!("keys/{other}")).to_str().unwrap()]);
            assert_eq!(
                (bad[0]["signature"]["verdict"].as_str(), code),
                (Some("invalid"), 3),
                "{:?}: {}",
                s.alg,
                bad[0]
            );
        }
        // a key of another kind is refused before any check
        let wrong_kind = if s.alg == Algorithm::EdDSA { "ec256.pub.pem" } else { "ed25519.pub.pem" };
        let (bad, code) = token_json(&[&token, "--key", fixture(&format!("keys/{wrong_kind}")).to_str().unwrap()]);
        assert_eq!((bad[0]["signature"]["verdict"].as_str(), code), (Some("rejected"), 3), "{:?}: {}", s.alg, bad[0]);
    }
}

#[test]
fn a_jwk_set_chooses_by_kid_and_names_the_kids_it_has() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = Signer { alg: Algorithm::RS256, private: "rsa.key", public: None };
    let rsa2 = Signer { alg: Algorithm::RS256, private: "rsa2.key", public: None };
    let ec = Signer { alg: Algorithm::ES256, private: "ec256.key", public: None };
    let mut keys = Vec::new();
    for (s, kid) in [(&rsa, "2024-01"), (&rsa2, "2024-06"), (&ec, "ec-1")] {
        let mut j = serde_json::to_value(Jwk::from_encoding_key(&encoding_key(s), s.alg).unwrap()).unwrap();
        j["kid"] = json!(kid);
        keys.push(j);
    }
    let set = jwks_file(&dir, &keys);
    let claims = json!({"sub": "u", "exp": 4_102_444_800u64});
    let by_kid = sign(Algorithm::RS256, &encoding_key(&rsa2), Some("2024-06"), &claims);
    let (out, code) = token_json(&[&by_kid, "--jwks", &set]);
    assert_eq!((out[0]["signature"]["verdict"].as_str(), code), (Some("valid"), 0));
    assert!(out[0]["signature"]["key"].as_str().unwrap().starts_with("kid 2024-06 of "));
    // a kid the set does not have (a key rotated out): rejected, with the kids it has
    let rotated = sign(Algorithm::RS256, &encoding_key(&rsa2), Some("2023-12"), &claims);
    let (out, code) = token_json(&[&rotated, "--jwks", &set]);
    assert_eq!((out[0]["signature"]["verdict"].as_str(), code), (Some("rejected"), 3));
    let reason = out[0]["signature"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("kid 2023-12 is not in the JWK Set") && reason.contains("2024-01, 2024-06, ec-1"),
        "{reason}"
    );
    // a JWK Set given as --key is read as one, whatever the file is called
    let (out, _) = token_json(&[&by_kid, "--key", &set]);
    assert_eq!(out[0]["signature"]["verdict"], "valid", "{}", out[0]);
    // no kid: the keys of the token's type are tried
    let no_kid = sign(Algorithm::ES256, &encoding_key(&ec), None, &claims);
    let (out, _) = token_json(&[&no_kid, "--jwks", &set]);
    assert_eq!(out[0]["signature"]["verdict"], "valid");
}

#[test]
fn a_jwk_set_refuses_keys_that_do_not_fit_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = Signer { alg: Algorithm::RS256, private: "rsa.key", public: None };
    let mut j = serde_json::to_value(Jwk::from_encoding_key(&encoding_key(&rsa), Algorithm::RS256).unwrap()).unwrap();
    j["kid"] = json!("k1");
    j["alg"] = json!("RS256");
    let set = jwks_file(&dir, &[j.clone()]);
    // key confusion through the set: an HS256 token whose kid names the RSA key, "signed" with its PEM
    let public = std::fs::read(fixture("keys/rsa.pub.pem")).unwrap();
    let hs = sign(Algorithm::HS256, &EncodingKey::from_secret(&public).unwrap(), Some("k1"), &json!({"sub": "admin"}));
    let (out, code) = token_json(&[&hs, "--jwks", &set]);
    assert_eq!((out[0]["signature"]["verdict"].as_str(), code), (Some("rejected"), 3));
    assert!(out[0]["signature"]["reason"].as_str().unwrap().contains("key-confusion"), "{}", out[0]);
    // the key is for RS256: a PS256 token with the same key is refused
    let ps = sign(Algorithm::PS256, &encoding_key(&rsa), Some("k1"), &json!({"sub": "u"}));
    let (out, _) = token_json(&[&ps, "--jwks", &set]);
    assert_eq!(out[0]["signature"]["verdict"], "rejected");
    assert!(out[0]["signature"]["reason"].as_str().unwrap().contains("is for \"RS256\""), "{}", out[0]);
    // an encryption key is no signature key
    j["use"] = json!("enc");
    j.as_object_mut().unwrap().remove("alg");
    let set = jwks_file(&dir, &[j]);
    let rs = sign(Algorithm::RS256, &encoding_key(&rsa), Some("k1"), &json!({"sub": "u"}));
    let (out, _) = token_json(&[&rs, "--jwks", &set]);
    assert!(out[0]["signature"]["reason"].as_str().unwrap().contains("use: enc"), "{}", out[0]);
    // alg none in any case is refused
    for none in ["nOnE", "NONE"] {
        use base64::Engine;
        let e = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let t = format!("{}.{}.", e(&json!({"alg": none})), e(&json!({"sub": "admin"})));
        let (out, code) = token_json(&[&t, "--secret", "k"]);
        assert_eq!((out[0]["signature"]["verdict"].as_str(), code), (Some("rejected"), 3), "{none}");
    }
}

#[test]
fn an_hmac_token_against_a_public_key_is_the_key_confusion_attack() {
    // the attacker "signs" with the public key the gateway publishes, as an HMAC secret
    let public = std::fs::read(fixture("keys/rsa.pub.pem")).unwrap();
    let token = sign(Algorithm::HS256, &EncodingKey::from_secret(&public).unwrap(), None, &json!({"sub": "admin"}));
    let (out, code) = token_json(&[&token, "--key", fixture("keys/rsa.pub.pem").to_str().unwrap()]);
    assert_eq!((out[0]["signature"]["verdict"].as_str(), code), (Some("rejected"), 3));
    assert!(out[0]["signature"]["reason"].as_str().unwrap().contains("key-confusion"), "{}", out[0]);
}

#[test]
fn issuer_audience_leeway_and_nbf() {
    let at = 1_790_000_000i64;
    let at_text = jiff::Timestamp::from_second(at).unwrap().to_string();
    let key = EncodingKey::from_secret(b"k").unwrap();
    let token =
        sign(Algorithm::HS256, &key, None, &json!({"iss": "https://idp.a", "aud": ["orders", "web"], "exp": at - 30}));
    let base = ["--secret", "k", "--at"];
    let (ok, code) =
        token_json(&[&token, base[0], base[1], base[2], &at_text, "--iss", "https://idp.a", "--aud", "web"]);
    assert_eq!(code, 0, "exp 30 s ago passes with the 60 s leeway: {}", ok[0]);
    assert_eq!(ok[0]["claims_check"]["aud"], json!({"expected": "web", "actual": ["orders", "web"], "verdict": "ok"}));
    let (strict, code) = token_json(&[&token, "--secret", "k", "--at", &at_text, "--leeway", "0"]);
    assert_eq!((strict[0]["times"]["exp"]["verdict"].as_str(), code), (Some("expired"), 3));
    let (mismatch, code) =
        token_json(&[&token, "--secret", "k", "--at", &at_text, "--iss", "https://idp.b", "--aud", "billing"]);
    assert_eq!(code, 3);
    assert_eq!(mismatch[0]["claims_check"]["iss"]["verdict"], "mismatch");
    assert_eq!(mismatch[0]["claims_check"]["aud"]["verdict"], "mismatch");
    let problems = mismatch[0]["problems"].as_array().unwrap();
    assert!(problems.iter().any(|p| p == "iss is https://idp.a, expected https://idp.b"), "{problems:?}");
    assert!(problems.iter().any(|p| p == "aud is orders, web, expected billing"), "{problems:?}");
    // nbf two minutes ahead of the gateway's clock: not yet valid, called a clock skew
    let early = sign(Algorithm::HS256, &key, None, &json!({"nbf": at + 120, "iat": at + 120, "exp": at + 3600}));
    let (out, code) = token_json(&[&early, "--secret", "k", "--at", &at_text]);
    assert_eq!((out[0]["times"]["nbf"]["verdict"].as_str(), code), (Some("not_yet_valid"), 3));
    assert!(out[0]["problems"].as_array().unwrap().iter().all(|p| p.as_str().unwrap().contains("clock skew")));
}

#[test]
fn a_token_in_a_log_line_is_judged_at_the_request_time_and_now() {
    // an nginx line at 13:02:30 carrying a token in its query; the token expired 40 s after the request
    let req_at = jiff::Timestamp::from_second(1_763_902_950).unwrap(); // 2025-11-23T13:02:30Z
    let token = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"k").unwrap(),
        None,
        &json!({"sub": "u", "exp": req_at.as_second() + 40}),
    );
    let line = format!(
        "203.0.113.5 - - [23/Nov/2025:13:02:30 +0000] \"GET /v1/orders?access_token={token} HTTP/1.1\" 401 17 \"-\" \"curl/8\" rid=0123456789abcdef0123456789abcdef rt=0.002 urt=\"-\" us=\"-\" ua=\"-\"\n"
    );
    let out = gatewatch().args(["token", "--json", "--secret", "k"]).write_stdin(line.clone()).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["found_in"], "query access_token");
    assert_eq!(v["times"]["at"], "2025-11-23T13:02:30Z");
    assert_eq!(v["times"]["exp"]["verdict"], "valid");
    assert_eq!(v["times"]["exp"]["seconds"], 40);
    assert_eq!(v["times"]["now"]["exp"]["verdict"], "expired");
    assert_eq!(out.status.code(), Some(0), "valid at the request's time is what counts");
    let text = gatewatch().args(["token", "--secret", "k"]).write_stdin(line).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("valid when the request was made at 2025-11-23T13:02:30Z; expired 40 s later"), "{text}");
}

#[test]
fn key_sets_are_fetched_over_loopback_cached_and_found_by_discovery() {
    let rsa = Signer { alg: Algorithm::RS256, private: "rsa.key", public: None };
    let mut j = serde_json::to_value(Jwk::from_encoding_key(&encoding_key(&rsa), Algorithm::RS256).unwrap()).unwrap();
    j["kid"] = json!("k1");
    let set = json!({ "keys": [j] }).to_string();
    let server = Server::start(move |_, seen| match seen.target.as_str() {
        "/.well-known/openid-configuration" => {
            let host = seen.header("host").unwrap();
            Reply::json(
                200,
                &json!({"issuer": format!("http://{host}"), "jwks_uri": format!("http://{host}/keys")}).to_string(),
            )
        }
        "/redirect" => Reply::status(302).with("location", "http://idp.example.invalid/keys"),
        "/huge-age" => Reply::json(200, r#"{"keys":[]}"#).with("cache-control", "max-age=18446744073709551615"),
        "/keys" => Reply::json(200, &set).with("cache-control", "public, max-age=300"),
        _ => Reply::status(404),
    });
    let claims = json!({"iss": server.base(), "exp": 4_102_444_800u64});
    let a = sign(Algorithm::RS256, &encoding_key(&rsa), Some("k1"), &claims);
    let b = sign(Algorithm::RS256, &encoding_key(&rsa), Some("k1"), &json!({"iss": server.base(), "sub": "other"}));
    // two tokens in one run: the set is fetched once
    let out = gatewatch()
        .args(["token", "--json", "--jwks", &format!("{}/keys", server.base())])
        .write_stdin(format!("{a}\n{b}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: Vec<String> = server.seen().iter().map(|s| s.target.clone()).collect();
    assert_eq!(seen, ["/keys"]);
    // discovery from the token's iss, when that issuer is trusted
    let (out, code) = token_json(&[&a, "--discover", "--iss", &server.base()]);
    assert_eq!((out[0]["signature"]["verdict"].as_str(), code), (Some("valid"), 0), "{out:?}");
    assert!(out[0]["signature"]["key"].as_str().unwrap().contains("/keys"));
    assert!(server.seen().iter().any(|s| s.target == "/.well-known/openid-configuration"));
    // a token names its own issuer: discovery only follows issuers the operator names
    let out = gatewatch().args(["token", &a, "--discover"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--discover needs the issuer(s) to trust"));
    let forged = sign(Algorithm::RS256, &encoding_key(&rsa), Some("k1"), &json!({"iss": "https://attacker.example"}));
    let out = gatewatch().args(["token", &forged, "--discover", "--iss", &server.base()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not one to discover keys from"));
    // a key set that cannot be had: exit 1, saying why
    let out = gatewatch().args(["token", &a, "--jwks", "http://idp.example.com/keys"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("https only"));
    let out = gatewatch().args(["token", &a, "--jwks", &format!("{}/redirect", server.base())]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not https"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = gatewatch().args(["token", &a, "--jwks", &format!("{}/huge-age", server.base())]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "an absurd max-age is capped, not a crash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn misuse_and_hostile_claims() {
    let out = gatewatch().args(["token", "no token here"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no token found"));
    let out = gatewatch().args(["token", &read("rfc7515_a1.jwt"), "--key", "/nonexistent.pem"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    // claims are strangers' text: escaped on the terminal
    let token = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"k").unwrap(),
        None,
        &json!({"sub": "\u{1b}]0;owned\u{7}\u{202e}x"}),
    );
    let out = gatewatch().args(["token", &token]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "{text:?}");
    assert!(text.contains("\\x1b]0;owned\\x07"), "{text}");
    // a malformed segment is rejected, not a crash
    let h = read("rfc7515_a1.jwt");
    let mut parts: Vec<&str> = h.split('.').collect();
    parts[1] = "e";
    let (out, code) = token_json(&[&parts.join(".")]);
    assert_eq!((out[0]["signature"]["verdict"].as_str(), code), (Some("rejected"), 3));
    assert!(out[0]["signature"]["reason"].as_str().unwrap().contains("malformed"));
}
