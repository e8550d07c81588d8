//! The token pane's state (its update is `token_update.rs`): the JWTs in the selected request's lines (its own and its correlated ones in other panes),
//! each decoded and judged at the record's time and now. Keys come from the config or from the pane (a secret
//! typed masked, a key file, a JWK Set file or URL, `discover`); a check that fetches keys runs as a task, so the
//! console never waits on the network.

use std::sync::Arc;

use ratatui_textarea::TextArea;

use crate::token::find::Found;
use crate::token::inspect::{Expect, Inspection};
use crate::token::keys::{JwksCache, KeySpec};

/// Keys and expectations for the pane, from the config's `[token]` table; the cache of fetched key sets lives as
/// long as the console.
#[derive(Clone)]
pub struct TokenSettings {
    /// The key to check with, when the config names one.
    pub key: Option<KeySpec>,
    /// Issuer, audience, leeway.
    pub expect: Expect,
    /// Key sets fetched this session.
    pub cache: Arc<tokio::sync::Mutex<JwksCache>>,
    /// Why the config's key could not be had, to say when the pane opens.
    pub problem: Option<String>,
}

impl Default for TokenSettings {
    fn default() -> Self {
        let expect = Expect { leeway_s: crate::token::DEFAULT_LEEWAY_S, ..Default::default() };
        TokenSettings { key: None, expect, cache: Default::default(), problem: None }
    }
}

/// What the pane is asking for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asking {
    /// Nothing: keys scroll and act.
    Nothing,
    /// A token to inspect (none was found, or the user wants another).
    Token,
    /// A secret, typed masked.
    Secret,
    /// A key file, a JWK Set file or URL, or `discover`.
    KeySource,
}

/// The token pane.
pub struct TokenView {
    /// Where the tokens came from: `gateway-access.log:1234`.
    pub place: String,
    /// The record's time, when it has one.
    pub record_time: Option<jiff::Timestamp>,
    /// The tokens found.
    pub found: Vec<Found>,
    /// Their inspections, once checked.
    pub results: Option<Vec<Inspection>>,
    /// The key in use, and how to name it.
    pub key: Option<KeySpec>,
    /// What the pane is asking for, and the line it is typed into.
    pub asking: Asking,
    /// The input line.
    pub input: TextArea<'static>,
    /// A line to show: (is it a problem, text).
    pub message: Option<(bool, String)>,
    /// Lines scrolled by.
    pub scroll: u16,
    /// A check with a fetch is running.
    pub checking: bool,
    pub(super) seq: u64,
}

/// A key spec as the pane names it (never the secret itself).
pub fn key_label(k: Option<&KeySpec>) -> String {
    match k {
        None => "no key: signatures are not checked".into(),
        Some(KeySpec::Secret(_)) => "a secret".into(),
        Some(KeySpec::Pem(p)) => format!("key {p}"),
        Some(KeySpec::Jwks(j)) => format!("JWK Set {j}"),
        Some(KeySpec::Discover) => "the issuer's keys (OpenID discovery)".into(),
    }
}
