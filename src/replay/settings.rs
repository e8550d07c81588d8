//! Replay settings from the config's `[replay]` table and the command line, shared by `replay` and the console.

use anyhow::bail;

use super::request::parse_header;
use super::safety::Redactor;
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
