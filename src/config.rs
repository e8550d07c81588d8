//! The config file: `$XDG_CONFIG_HOME/gatewatch/config.toml` (or `~/.config/gatewatch/config.toml`), or `--config FILE`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// Settings read from the config file; every field is optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// An nginx `log_format` value to compile (same as `--nginx-format`).
    pub nginx_format: Option<String>,
    /// An HAProxy `log-format` string to compile (same as `--haproxy-format`).
    pub haproxy_format: Option<String>,
    /// Extra field names holding a request id in JSON/logfmt logs.
    #[serde(default)]
    pub id_fields: Vec<String>,
    /// A regex finding the request id in plain-text logs (first capture group, or the whole match).
    pub id_regex: Option<String>,
    /// The console's colour theme: a built-in name (`dark`, `light`, `high-contrast`) or
    /// `<config dir>/themes/NAME.toml`.
    pub theme: Option<String>,
    /// The `[keys]` table: console action name → the keys that replace its defaults,
    /// e.g. `quit = ["q", "ctrl-c"]`.
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
    /// `[[alert]]` tables: error-rate rules (`rule = "5xx > 5% over 1m"`); when there are none, the defaults
    /// apply.
    #[serde(default)]
    pub alert: Vec<crate::alerts::RuleConfig>,
    /// The `[replay]` table.
    #[serde(default)]
    pub replay: ReplayConfig,
    /// The `[token]` table.
    #[serde(default)]
    pub token: TokenConfig,
}

/// One value or a list of them (`audience = "api"` or `audience = ["api", "web"]`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    /// As a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// `[token]`: the keys and expectations tokens are checked against, when the command line gives none.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// A file holding the HMAC secret.
    pub secret_file: Option<String>,
    /// A PEM public key or certificate.
    pub key: Option<String>,
    /// A JWK Set file or URL.
    pub jwks: Option<String>,
    /// The issuer(s) expected.
    pub issuer: Option<OneOrMany>,
    /// The audience(s) expected.
    pub audience: Option<OneOrMany>,
    /// Seconds of clock difference forgiven (default 60).
    pub leeway_s: Option<i64>,
}

/// `[replay]`: where and how logged requests are sent again.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayConfig {
    /// The base URL requests are sent to (`--base`, `--replay-base`).
    pub base_url: Option<String>,
    /// The header carrying the request id (default `X-Request-ID`).
    pub id_header: Option<String>,
    /// Headers added to every replay, as `"Name: value"`.
    #[serde(default)]
    pub headers: Vec<String>,
    /// When set, the only hosts replay may send to (`api.example.com`, `*.internal`).
    pub allow_hosts: Option<Vec<String>>,
    /// More header names whose values are secrets, beyond Authorization, cookies and X-Api-Key.
    #[serde(default)]
    pub redact: Vec<String>,
    /// `--connect-to` rules, `HOST:PORT:ADDR:PORT`.
    #[serde(default)]
    pub connect_to: Vec<String>,
    /// `--resolve` entries, `HOST:PORT:ADDR`.
    #[serde(default)]
    pub resolve: Vec<String>,
    /// A PEM bundle of the CAs to trust (`--cacert`).
    pub cacert: Option<String>,
    /// A client certificate, PEM (`--cert`).
    pub cert: Option<String>,
    /// Its private key, PEM (`--key`).
    pub key: Option<String>,
    /// The name to verify certificates against and send as SNI (`--tls-server-name`).
    pub tls_server_name: Option<String>,
    /// Accept any certificate (`--insecure`); never the default.
    #[serde(default)]
    pub insecure: bool,
    /// The scheme to reach upstreams with (`--upstream-scheme`: `http` or `https`).
    pub upstream_scheme: Option<String>,
}

/// Where the config file lives when `--config` is not given.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("gatewatch").join("config.toml"))
}

/// The directory holding the default config file (and the user's `themes/`), when there is a home to find it in.
pub fn config_dir() -> Option<PathBuf> {
    default_path()?.parent().map(Path::to_path_buf)
}

impl Config {
    /// Read `explicit` (an error if missing), else the default path (fine if missing).
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match default_path() {
                Some(p) if p.exists() => p,
                _ => return Ok(Config::default()),
            },
        };
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let c: Config =
            toml::from_str("nginx_format = '$remote_addr [$time_local] $status'\nid_fields = ['txn']").unwrap();
        assert_eq!(c.id_fields, ["txn"]);
        assert!(c.nginx_format.unwrap().contains("$status"));
        assert!(toml::from_str::<Config>("nginx_fromat = 'x'").is_err());
    }

    #[test]
    fn parses_theme_and_keys() {
        let c: Config =
            toml::from_str("theme = 'light'\n[keys]\nquit = ['q', 'ctrl-c']\npage_down = ['space']").unwrap();
        assert_eq!(c.theme.as_deref(), Some("light"));
        assert_eq!(c.keys["quit"], ["q", "ctrl-c"]);
        assert_eq!(c.keys["page_down"], ["space"]);
        let empty: Config = toml::from_str("").unwrap();
        assert!(empty.replay.allow_hosts.is_none() && empty.replay.headers.is_empty());
        let r: Config = toml::from_str(
            "[replay]\nbase_url = 'http://127.0.0.1:8080'\nallow_hosts = ['127.0.0.1']\nheaders = ['X-Debug: 1']",
        )
        .unwrap();
        assert_eq!(r.replay.base_url.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(r.replay.allow_hosts.unwrap(), ["127.0.0.1"]);
        assert!(toml::from_str::<Config>("[replay]\nallow_host = ['x']").is_err(), "typos are errors");
        let tls: Config = toml::from_str(
            "[replay]\ncacert = 'ca.pem'\ncert = 'c.pem'\nkey = 'k.pem'\nconnect_to = ['a:443:10.0.0.7:8443']\ninsecure = true",
        )
        .unwrap();
        assert_eq!(
            (tls.replay.cacert.as_deref(), tls.replay.connect_to.len(), tls.replay.insecure),
            (Some("ca.pem"), 1, true)
        );
        let t: Config = toml::from_str("[token]\naudience = ['a', 'b']\nissuer = 'https://idp'\nleeway_s = 5").unwrap();
        assert_eq!(t.token.audience.unwrap().to_vec(), ["a", "b"]);
        assert_eq!(t.token.issuer.unwrap().to_vec(), ["https://idp"]);
        assert!(empty.theme.is_none() && empty.keys.is_empty());
    }
}
