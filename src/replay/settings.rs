//! Replay settings from the config's `[replay]` table and the command line, shared by `replay` and the console.

use anyhow::bail;

use super::request::{Request, parse_header};
use super::route::{ConnectTo, Resolve, Route};
use super::safety::Redactor;
use super::tls::TlsFiles;
use crate::config::ReplayConfig;

/// Where and how replays go.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The base URL, when one is set.
    pub base: Option<String>,
    /// The request id header.
    pub id_header: String,
    /// Headers added to every replay.
    pub headers: Vec<(String, String)>,
    /// The allowlist, when the config has one.
    pub allow_hosts: Option<Vec<String>>,
    /// What is hidden in output.
    pub redactor: Redactor,
    /// Where connections go and how TLS is checked.
    pub transport: Transport,
}

/// Where replays connect and how their TLS is checked: `--connect-to`, `--resolve`, `--cacert`, `--cert`/`--key`,
/// `--tls-server-name`, `--insecure`, and the scheme upstreams are reached with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transport {
    /// Connection rules and the TLS name.
    pub route: Route,
    /// The CA bundle and the client certificate.
    pub tls: TlsFiles,
    /// Accept any certificate.
    pub insecure: bool,
    /// `http` or `https` for upstreams (`None`: https when TLS settings are given, else the request's scheme).
    pub upstream_scheme: Option<String>,
}

/// The command line's transport flags, each overriding the config's.
#[derive(Clone, Debug, Default)]
pub struct TransportFlags {
    /// `--connect-to`.
    pub connect_to: Vec<String>,
    /// `--resolve`.
    pub resolve: Vec<String>,
    /// `--cacert`.
    pub cacert: Option<String>,
    /// `--cert`.
    pub cert: Option<String>,
    /// `--key`.
    pub key: Option<String>,
    /// `--tls-server-name`.
    pub tls_server_name: Option<String>,
    /// `--insecure`.
    pub insecure: bool,
    /// `--upstream-scheme`.
    pub upstream_scheme: Option<String>,
}

impl Transport {
    /// From the config's `[replay]` table and the command line's flags (which come first).
    pub fn new(cfg: &ReplayConfig, flags: &TransportFlags) -> anyhow::Result<Transport> {
        let or = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());
        let mut route = Route { server_name: or(&flags.tls_server_name, &cfg.tls_server_name), ..Default::default() };
        for c in flags.connect_to.iter().chain(&cfg.connect_to) {
            route.connect_to.push(ConnectTo::parse(c)?);
        }
        for r in flags.resolve.iter().chain(&cfg.resolve) {
            route.resolve.push(Resolve::parse(r)?);
        }
        let scheme = or(&flags.upstream_scheme, &cfg.upstream_scheme).map(|s| s.to_ascii_lowercase());
        if let Some(s) = scheme.as_deref().filter(|s| !matches!(*s, "http" | "https")) {
            bail!("the upstream scheme is http or https, not {s:?}");
        }
        let tls = TlsFiles {
            cacert: or(&flags.cacert, &cfg.cacert),
            cert: or(&flags.cert, &cfg.cert),
            key: or(&flags.key, &cfg.key),
        };
        if tls.key.is_some() && tls.cert.is_none() {
            bail!("--key needs --cert: the certificate the key belongs to");
        }
        Ok(Transport { route, tls, insecure: flags.insecure || cfg.insecure, upstream_scheme: scheme })
    }

    /// Give `req` these settings (its own rules first, as an imported curl command's). Applying them twice (a
    /// request from the history) changes nothing.
    pub fn apply(&self, req: &mut Request) {
        for c in &self.route.connect_to {
            if !req.route.connect_to.contains(c) {
                req.route.connect_to.push(c.clone());
            }
        }
        for r in &self.route.resolve {
            if !req.route.resolve.contains(r) {
                req.route.resolve.push(r.clone());
            }
        }
        if req.route.server_name.is_none() {
            req.route.server_name = self.route.server_name.clone();
        }
        let t = &mut req.tls;
        t.cacert = t.cacert.take().or_else(|| self.tls.cacert.clone());
        t.cert = t.cert.take().or_else(|| self.tls.cert.clone());
        t.key = t.key.take().or_else(|| self.tls.key.clone());
        req.insecure |= self.insecure;
    }

    /// The scheme an upstream of `req` is reached with.
    pub fn upstream_scheme(&self, req: &Request) -> String {
        if let Some(s) = &self.upstream_scheme {
            return s.clone();
        }
        if !self.tls.is_empty() || self.insecure || self.route.server_name.is_some() {
            return "https".into();
        }
        if req.url.starts_with("https://") { "https" } else { "http" }.into()
    }

    /// `req` straight to the upstream address `addr`, with these settings.
    pub fn to_upstream(&self, req: &Request, addr: &str) -> anyhow::Result<Request> {
        let mut up = super::upstream::aim(req, addr, &self.upstream_scheme(req))?;
        self.apply(&mut up);
        Ok(up)
    }
}

/// Parse `Name: value` headers, naming the first that is not one.
pub fn parse_headers(list: &[String], what: &str) -> anyhow::Result<Vec<(String, String)>> {
    list.iter()
        .map(|h| match parse_header(h) {
            Some(p) => Ok(p),
            // the value is not quoted back: it may be a secret
            None => bail!(
                "{what} starting {:?} is not a header: write it as 'Name: value'",
                h.split([':', ' ']).next().unwrap_or("")
            ),
        })
        .collect()
}

impl Settings {
    /// From the config, `base` (a flag that overrides `base_url`), extra headers and `--show-secrets`.
    pub fn new(cfg: &ReplayConfig, base: Option<&str>, headers: &[String], show_secrets: bool) -> anyhow::Result<Self> {
        let mut all = parse_headers(&cfg.headers, "[replay] headers entry")?;
        all.extend(parse_headers(headers, "--header")?);
        let base = base.map(str::to_string).or_else(|| cfg.base_url.clone());
        if let Some(b) = &base {
            super::request::join(b, "/")?;
        }
        Ok(Settings {
            base,
            id_header: cfg.id_header.clone().unwrap_or_else(|| "X-Request-ID".into()),
            headers: all,
            allow_hosts: cfg.allow_hosts.clone(),
            redactor: Redactor::new(&cfg.redact, show_secrets),
            transport: Transport::new(cfg, &TransportFlags::default())?,
        })
    }

    /// How requests are rebuilt against `base` with these settings: a fresh id, the configured headers, no body.
    pub fn build_options(&self, base: String) -> super::request::BuildOptions {
        super::request::BuildOptions {
            base,
            base_host: None,
            id_header: self.id_header.clone(),
            keep_id: false,
            headers: self.headers.clone(),
            body: None,
            follow_redirects: false,
        }
    }

    /// The host the base URL names (lower case), for "is this the configured target?".
    pub fn base_host(&self) -> Option<String> {
        reqwest::Url::parse(self.base.as_deref()?).ok()?.host_str().map(|h| h.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_applies_once_and_chooses_the_upstream_scheme() {
        let cfg = ReplayConfig { connect_to: vec!["a:443:10.0.0.7:8443".into()], ..Default::default() };
        let t = Transport::new(&cfg, &TransportFlags { cacert: Some("ca.pem".into()), ..Default::default() }).unwrap();
        let mut req = Request { url: "http://gw/x".into(), ..Default::default() };
        t.apply(&mut req);
        t.apply(&mut req);
        assert_eq!((req.route.connect_to.len(), req.tls.cacert.as_deref()), (1, Some("ca.pem")));
        assert_eq!(t.upstream_scheme(&req), "https", "TLS files mean https");
        assert_eq!(Transport::default().upstream_scheme(&req), "http", "else the request's own scheme");
        let bad = TransportFlags { upstream_scheme: Some("ftp".into()), ..Default::default() };
        assert!(Transport::new(&ReplayConfig::default(), &bad).is_err());
        let key_alone = TransportFlags { key: Some("k.pem".into()), ..Default::default() };
        assert!(
            Transport::new(&ReplayConfig::default(), &key_alone)
                .unwrap_err()
                .to_string()
                .contains("--key needs --cert")
        );
    }
}
