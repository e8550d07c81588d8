//! Change markers: lines that announce a change — a gateway reload, a new Envoy cluster or listener, a service
//! starting — so the diagnosis can say "5xx began 4 s after a gateway reload at 12:03:00".

use std::sync::OnceLock;

use regex::RegexSet;

/// Most markers kept per source.
pub const MAX_MARKERS: usize = 200;

/// What the built-in patterns recognise, in order: a short name for each.
const KINDS: [(&str, &str); 7] = [
    ("gateway reload", r"\bsignal process started\b|\breconfiguring\b"),
    ("ingress reload", r"(?i)backend successfully reloaded|configuration changes detected, backend reload required"),
    ("Envoy cluster change", r"\bcds: add \d+ cluster"),
    ("Envoy listener change", r"\blds: add/update listener"),
    ("config reload", r"(?i)\b(config(uration)? (re)?loaded|reloading (the )?config(uration)?)\b"),
    ("deploy", r"(?i)\b(deploy(ment)? (started|finished|complete)|rolling (update|restart))\b"),
    ("service start", r"(?i)\b(server started|started server|listening on (port|https?://|[0-9.:\[]))"),
];

fn patterns() -> &'static RegexSet {
    static SET: OnceLock<RegexSet> = OnceLock::new();
    SET.get_or_init(|| RegexSet::new(KINDS.iter().map(|(_, re)| *re)).expect("the marker patterns compile"))
}

/// The kind of change `message` announces, if it is a change marker.
pub fn kind_of(message: &str) -> Option<&'static str> {
    patterns().matches(message).iter().next().map(|i| KINDS[i].0)
}

/// A change seen in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// When, µs since the epoch.
    pub unix_us: i64,
    /// What kind of change (`gateway reload`).
    pub kind: &'static str,
    /// The line's message, cut to 160 characters.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_reloads_and_starts() {
        assert_eq!(kind_of("signal process started"), Some("gateway reload"));
        assert_eq!(kind_of("Backend successfully reloaded"), Some("ingress reload"));
        assert_eq!(kind_of("cds: add 3 cluster(s), remove 1 cluster(s)"), Some("Envoy cluster change"));
        assert_eq!(kind_of("lds: add/update listener 'ingress_http'"), Some("Envoy listener change"));
        assert_eq!(kind_of("Server started, listening on port 8080"), Some("service start"));
        assert_eq!(kind_of("connect() failed (111: Connection refused)"), None);
        assert_eq!(kind_of("request completed"), None);
    }
}
