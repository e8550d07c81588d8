//! TLS settings of a replay: the CA bundle to verify with (`--cacert`), the client certificate (`--cert`/`--key`),
//! and `--insecure`, applied to the HTTP client.

use anyhow::{Context, bail};

/// Files a replay's TLS uses, as given (paths).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TlsFiles {
    /// A PEM bundle of the CAs to trust instead of the system's (curl's `--cacert`).
    pub cacert: Option<String>,
    /// The client certificate, PEM (may hold the key too).
    pub cert: Option<String>,
    /// The client certificate's private key, PEM (default: in `cert`).
    pub key: Option<String>,
}

impl TlsFiles {
    /// Whether any is set.
    pub fn is_empty(&self) -> bool {
        self.cacert.is_none() && self.cert.is_none() && self.key.is_none()
    }
}

fn read(path: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read the {what} {path}"))
}

/// `builder` set up with `files`; `insecure` accepts any certificate.
pub fn configure(
    mut builder: reqwest::ClientBuilder,
    files: &TlsFiles,
    insecure: bool,
) -> anyhow::Result<reqwest::ClientBuilder> {
    if let Some(path) = &files.cacert {
        let pem = read(path, "CA bundle (--cacert)")?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("the CA bundle {path} (--cacert) is not PEM certificates"))?;
        if certs.is_empty() {
            bail!("the CA bundle {path} (--cacert) holds no certificate");
        }
        // as curl's --cacert: these CAs instead of the system's
        builder = builder.tls_certs_only(certs);
    }
    match (&files.cert, &files.key) {
        (Some(cert), key) => {
            let mut pem = read(cert, "client certificate (--cert)")?;
            if let Some(key) = key {
                pem.push(b'\n');
                pem.extend(read(key, "client key (--key)")?);
            }
            let identity = reqwest::Identity::from_pem(&pem).with_context(|| match key {
                Some(key) => format!("{cert} (--cert) and {key} (--key) are not a PEM certificate and its key"),
                None => format!("{cert} (--cert) holds no PEM certificate with its key (give the key with --key)"),
            })?;
            builder = builder.identity(identity);
        }
        (None, Some(_)) => bail!("--key needs --cert: the certificate the key belongs to"),
        (None, None) => {}
    }
    Ok(builder.tls_danger_accept_invalid_certs(insecure))
}
