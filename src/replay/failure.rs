//! Why an attempt got no response, in words a person can act on: the error's source chain is walked down to the
//! TLS library's and the operating system's errors ("certificate … signed by an unknown CA (give --cacert)",
//! "connection refused by 10.0.0.7:8443"), never "error sending request".

use std::error::Error;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError};

/// What the words need to know about the attempt.
#[derive(Clone, Debug, Default)]
pub struct Attempted {
    /// The attempt's timeout.
    pub timeout: Duration,
    /// The name the certificate was checked against.
    pub name: String,
    /// Where the connection went, `host:port`.
    pub dest: String,
    /// Whether a client certificate was given.
    pub gave_cert: bool,
}

/// The errors under `e`, itself first. An I/O error's own `source` skips the error it wraps (where TLS errors
/// travel), so that one is taken from `get_ref`.
fn chain<'a>(e: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(e), |&e| match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
        Some(inner) => Some(inner as &(dyn Error + 'static)),
        None => e.source(),
    })
}

/// The TLS library's error under `e`, when there is one.
fn rustls_error<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    chain(e).find_map(|c| c.downcast_ref::<rustls::Error>())
}

/// What a certificate error means for `at`.
fn certificate(err: &CertificateError, at: &Attempted) -> String {
    let name = &at.name;
    match err {
        CertificateError::UnknownIssuer => {
            format!("certificate for {name} signed by an unknown CA (give --cacert)")
        }
        CertificateError::NotValidForNameContext { presented, .. } if !presented.is_empty() => {
            let names: Vec<&str> = presented.iter().map(|p| presented_name(p)).collect();
            format!("certificate is for {}, not {name} (give --tls-server-name, or --connect-to)", names.join(", "))
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("certificate is not for {name} (give --tls-server-name, or --connect-to)")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("certificate for {name} has expired")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("certificate for {name} is not valid yet (check the clocks)")
        }
        CertificateError::Revoked => format!("certificate for {name} is revoked"),
        CertificateError::BadSignature => format!("certificate for {name} has a bad signature"),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            format!("certificate for {name} is not for TLS servers")
        }
        other => format!("certificate for {name} rejected: {other:?}"),
    }
}

/// A name a certificate presents, as the TLS library words it (`DnsName("a.example")`): the name alone.
fn presented_name(p: &str) -> &str {
    match (p.find("(\""), p.strip_suffix("\")")) {
        (Some(i), Some(inner)) => &inner[i + 2..],
        _ => p,
    }
}

/// What a TLS error means for `at`.
fn tls(err: &rustls::Error, at: &Attempted) -> String {
    match err {
        rustls::Error::InvalidCertificate(c) => certificate(c, at),
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            "the server asked for a client certificate (give --cert/--key)".into()
        }
        rustls::Error::AlertReceived(
            a @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::AccessDenied
            | AlertDescription::HandshakeFailure),
        ) if at.gave_cert => format!("the server refused the client certificate (--cert): TLS alert {a:?}"),
        rustls::Error::AlertReceived(AlertDescription::HandshakeFailure) => {
            "TLS handshake refused by the server (it may want a client certificate: --cert/--key)".into()
        }
        rustls::Error::AlertReceived(a) => format!("TLS alert from the server: {a:?}"),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            format!("{} does not speak TLS here (an http:// port?)", at.dest)
        }
        other => format!("TLS: {other}"),
    }
}

/// A connection-level error under `e`, from the operating system.
fn io(e: &(dyn Error + 'static), at: &Attempted) -> Option<String> {
    use std::io::ErrorKind as K;
    let io = chain(e).find_map(|c| c.downcast_ref::<std::io::Error>())?;
    Some(match io.kind() {
        K::ConnectionRefused => format!("connection refused by {}", at.dest),
        K::ConnectionReset => format!("connection reset by {}", at.dest),
        K::ConnectionAborted => format!("connection aborted by {}", at.dest),
        K::UnexpectedEof => format!("{} closed the connection", at.dest),
        K::TimedOut => format!("timed out connecting to {}", at.dest),
        K::HostUnreachable | K::NetworkUnreachable => format!("no route to {}", at.dest),
        K::AddrNotAvailable => format!("cannot connect to {}: address not available", at.dest),
        _ => return None,
    })
}

/// Why `e` left the attempt without a response, as a person can act on it.
pub fn describe(e: &reqwest::Error, at: &Attempted) -> String {
    let secs = at.timeout.as_secs_f64();
    if e.is_timeout() {
        return if e.is_connect() {
            format!("timed out after {secs} s connecting to {}", at.dest)
        } else {
            format!("timed out after {secs} s")
        };
    }
    if let Some(t) = rustls_error(e) {
        return tls(t, at);
    }
    if let Some(words) = io(e, at) {
        return words;
    }
    let kind = if e.is_connect() {
        format!("cannot connect to {}", at.dest)
    } else if e.is_redirect() {
        "redirect refused".to_string()
    } else if e.is_builder() {
        "invalid request".to_string()
    } else if e.is_body() || e.is_decode() {
        "the response broke off".to_string()
    } else {
        "no response".to_string()
    };
    // the innermost cause says the rest (DNS, a closed connection)
    match chain(e).skip(1).last() {
        Some(c) => format!("{kind}: {c}"),
        None => kind,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn presented_names_lose_their_wrapping() {
        assert_eq!(super::presented_name("DnsName(\"a.example\")"), "a.example");
        assert_eq!(super::presented_name("10.0.0.7"), "10.0.0.7");
    }
}
