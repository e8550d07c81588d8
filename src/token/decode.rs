//! A JWS compact token taken apart: its three segments kept exactly as received (signatures are checked over
//! those bytes, never over a re-serialisation), the header and claims decoded for reading.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

/// base64url as tokens use it: no padding, though padding is tolerated.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// base64url bytes, tolerating padding.
pub fn b64url(s: &str) -> Option<Vec<u8>> {
    B64URL.decode(s).ok()
}

/// A token, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The token as received.
    pub raw: String,
    /// `header.payload`: the bytes the signature covers.
    pub signing_input: String,
    /// The signature segment (base64url, possibly empty).
    pub signature: String,
    /// The header object.
    pub header: Map<String, Value>,
    /// The claims: a JSON object, or `None` when the payload is something else (then see `payload`).
    pub claims: Option<Map<String, Value>>,
    /// The payload's bytes.
    pub payload: Vec<u8>,
}

/// Why a token cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed token: {}", self.0)
    }
}

impl std::error::Error for Malformed {}

/// Take a compact token apart.
pub fn decode(token: &str) -> Result<Decoded, Malformed> {
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(Malformed(format!("{} segments, a JWS has 3 (header.payload.signature)", parts.len())));
    };
    let header_bytes = b64url(h).ok_or_else(|| Malformed("the header is not base64url".into()))?;
    let header = match serde_json::from_slice::<Value>(&header_bytes) {
        Ok(Value::Object(m)) => m,
        _ => return Err(Malformed("the header is not a JSON object".into())),
    };
    let payload = b64url(p).ok_or_else(|| Malformed("the payload is not base64url".into()))?;
    if b64url(s).is_none() {
        return Err(Malformed("the signature is not base64url".into()));
    }
    let claims = match serde_json::from_slice::<Value>(&payload) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    };
    Ok(Decoded {
        raw: token.to_string(),
        signing_input: format!("{h}.{p}"),
        signature: s.to_string(),
        header,
        claims,
        payload,
    })
}

impl Decoded {
    /// A header field as text (`alg`, `kid`, `typ`).
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.as_ref()?.get(name)
    }

    /// A numeric date claim (`exp`, `nbf`, `iat`), in seconds since the epoch; fractions are kept.
    pub fn numeric_date(&self, name: &str) -> Option<f64> {
        self.claim(name)?.as_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_kept_as_received() {
        // the header holds CRLF and a space, as in RFC 7515 A.1
        let h = B64URL.encode("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
        let p = B64URL.encode("{\"iss\":\"joe\",\"exp\":1300819380}");
        let d = decode(&format!("{h}.{p}.c2ln")).unwrap();
        assert_eq!(d.signing_input, format!("{h}.{p}"));
        assert_eq!(d.header_str("alg"), Some("HS256"));
        assert_eq!(d.numeric_date("exp"), Some(1300819380.0));
        assert!(decode("a.b").unwrap_err().0.contains("2 segments"));
        assert!(decode(&format!("{}.{p}.x", B64URL.encode("[1]"))).unwrap_err().0.contains("JSON object"));
        let text = decode(&format!("{h}.{}.", B64URL.encode("Example of Ed25519 signing"))).unwrap();
        assert_eq!((text.claims, text.payload.as_slice()), (None, &b"Example of Ed25519 signing"[..]));
    }
}
