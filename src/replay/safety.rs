//! What keeps replay careful: which targets may be hit, which methods need asking, which values are secrets.

/// Headers whose values are secrets wherever they appear.
pub const SECRET_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"];

/// Hides secret header values in everything shown or written, unless told to show them.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// Extra header names to hide (`[replay] redact`), lower case.
    extra: Vec<String>,
    /// Show every value as it is (`--show-secrets`).
    pub show: bool,
}

/// What a hidden value ends with.
pub const REDACTED: &str = "…(redacted)";

impl Redactor {
    /// A redactor hiding the standard secret headers and `extra`.
    pub fn new(extra: &[String], show: bool) -> Self {
        Redactor { extra: extra.iter().map(|n| n.trim().to_ascii_lowercase()).collect(), show }
    }

    /// Whether `name` holds a secret.
    pub fn is_secret(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        SECRET_HEADERS.contains(&lower.as_str()) || self.extra.contains(&lower)
    }

    /// The value as shown: `Bearer …(redacted)` keeps an auth scheme, anything else is hidden whole.
    pub fn shown(&self, name: &str, value: &str) -> String {
        if self.show || !self.is_secret(name) {
            return value.to_string();
        }
        // an auth scheme (`Bearer`, `Basic`) says what kind of credential it was; any other value is hidden whole
        let auth = ["authorization", "proxy-authorization"].iter().any(|a| a.eq_ignore_ascii_case(name));
        match value.split_once(' ') {
            Some((scheme, _))
                if auth && !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                format!("{scheme} {REDACTED}")
            }
            _ => REDACTED.to_string(),
        }
    }

    /// A value read back from an edited request: the hidden form stands for the value it hid (`original`), so
    /// editing a request never sends the placeholder.
    pub fn restored(&self, name: &str, shown: &str, original: &[(String, String)]) -> String {
        if !shown.ends_with(REDACTED) || !self.is_secret(name) {
            return shown.to_string();
        }
        original
            .iter()
            .find(|(n, v)| n.eq_ignore_ascii_case(name) && self.shown(n, v) == shown)
            .map_or_else(|| shown.to_string(), |(_, v)| v.clone())
    }
}

/// Why a replay was refused before anything was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not an http or https URL.
    Scheme(String),
    /// The URL does not parse.
    BadUrl(String),
    /// The host is not in `[replay] allow_hosts`.
    NotAllowed { host: String, allowed: Vec<String> },
    /// A method that is not idempotent, without `--allow-unsafe`.
    Unsafe(String),
    /// The connection for an allowed name goes to an address (`--connect-to`, `--resolve`, the upstream) that is
    /// not in `[replay] allow_hosts`.
    AddressNotAllowed { name: String, addr: String, allowed: Vec<String> },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Scheme(u) => write!(f, "refused: {u} is not an http:// or https:// URL"),
            Refusal::BadUrl(u) => write!(f, "refused: {u:?} is not a URL"),
            Refusal::NotAllowed { host, allowed } => write!(
                f,
                "refused: host {host} is not in [replay] allow_hosts ({}); add it there to replay against it",
                allowed.join(", ")
            ),
            Refusal::AddressNotAllowed { name, addr, allowed } => write!(
                f,
                "refused: the connection for {name} goes to {addr}, which is not in [replay] allow_hosts ({}); \
                 add the address (or its network, e.g. 10.0.0.0/8) there to replay against it",
                allowed.join(", ")
            ),
            Refusal::Unsafe(m) => write!(
                f,
                "refused: {m} is not idempotent, so replaying it may change data; pass --allow-unsafe to send it"
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// Whether the address `ip` is in the network `net` (`10.0.0.0/8`, `fd00::/8`).
fn in_network(ip: std::net::IpAddr, net: &str) -> bool {
    use std::net::IpAddr;
    let Some((base, bits)) = net.split_once('/') else { return false };
    let (Ok(base), Ok(bits)) = (base.parse::<IpAddr>(), bits.parse::<u32>()) else { return false };
    match (ip, base) {
        (IpAddr::V4(a), IpAddr::V4(b)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// Whether `host` is in the allowlist: exact names (any case), `*.example.com` for its subdomains, or a network
/// (`10.0.0.0/8`) for an address in it.
pub fn host_allowed(host: &str, allow: &[String]) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = host.parse::<std::net::IpAddr>().ok();
    allow.iter().any(|a| {
        let a = a.trim().trim_end_matches('.').to_ascii_lowercase();
        let a = a.trim_start_matches('[').trim_end_matches(']');
        if let (Some(ip), true) = (ip, a.contains('/')) {
            return in_network(ip, a);
        }
        match a.strip_prefix("*.") {
            Some(suffix) => {
                host.len() > suffix.len() + 1
                    && host.ends_with(suffix)
                    && host[..host.len() - suffix.len()].ends_with('.')
            }
            None => a == host,
        }
    })
}

/// Check a URL against the scheme rule and the allowlist (`None` = no allowlist configured).
pub fn check_target(url: &str, allow: Option<&[String]>) -> Result<(), Refusal> {
    let parsed = reqwest::Url::parse(url).map_err(|_| Refusal::BadUrl(url.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Refusal::Scheme(url.to_string()));
    }
    let host = parsed.host_str().ok_or_else(|| Refusal::BadUrl(url.to_string()))?;
    match allow {
        Some(list) if !host_allowed(host, list) => {
            Err(Refusal::NotAllowed { host: host.to_string(), allowed: list.to_vec() })
        }
        _ => Ok(()),
    }
}

/// Check a request: its URL as [`check_target`] does, and, when its connection goes elsewhere than its host
/// (`--connect-to`, `--resolve`, an upstream), where it goes: an allowed name must not stand for any address.
pub fn check_request(req: &super::request::Request, allow: Option<&[String]>) -> Result<(), Refusal> {
    check_target(&req.url, allow)?;
    let Some(list) = allow else { return Ok(()) };
    if req.route.is_empty() {
        return Ok(());
    }
    let wire = super::route::wire(&req.url, &req.route).map_err(|_| Refusal::BadUrl(req.url.clone()))?;
    let name = req.host().unwrap_or_default();
    let refuse = |addr: String| Refusal::AddressNotAllowed { name: name.clone(), addr, allowed: list.to_vec() };
    if !host_allowed(&wire.dest.0, list) {
        return Err(refuse(wire.dest.0.clone()));
    }
    match wire.addrs.iter().find(|a| !host_allowed(&a.ip().to_string(), list)) {
        Some(a) => Err(refuse(a.ip().to_string())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_keep_their_scheme_and_come_back_when_edited() {
        let r = Redactor::new(&["X-Session".into()], false);
        assert_eq!(r.shown("Authorization", "Bearer abc.def.ghi"), "Bearer …(redacted)");
        assert_eq!(r.shown("cookie", "sid=1; x=2"), "…(redacted)");
        assert_eq!(r.shown("x-session", "s3"), "…(redacted)");
        assert_eq!(r.shown("Accept", "a b"), "a b");
        assert_eq!(r.shown("X-Api-Key", "k3y more"), "…(redacted)", "only auth headers keep a scheme word");
        let orig = vec![("Authorization".to_string(), "Bearer abc".to_string())];
        assert_eq!(r.restored("authorization", "Bearer …(redacted)", &orig), "Bearer abc");
        assert_eq!(r.restored("authorization", "Bearer new", &orig), "Bearer new");
        assert_eq!(Redactor::new(&[], true).shown("Authorization", "Bearer x"), "Bearer x");
    }

    #[test]
    fn allowlist_names_hosts_and_subdomains() {
        let allow = vec!["api.example.com".to_string(), "*.internal".to_string(), "127.0.0.1".to_string()];
        assert!(host_allowed("API.example.com", &allow));
        assert!(host_allowed("pay.internal", &allow) && !host_allowed("internal", &allow));
        assert!(!host_allowed("evilinternal", &allow) && !host_allowed("example.com", &allow));
        assert!(check_target("http://127.0.0.1:9/x", Some(&allow)).is_ok());
        assert!(matches!(check_target("http://10.1.1.1/x", Some(&allow)), Err(Refusal::NotAllowed { .. })));
        assert!(matches!(check_target("file:///etc/passwd", None), Err(Refusal::Scheme(_))));
        assert!(check_target("https://anything.example/x", None).is_ok());
        let nets = vec!["10.0.0.0/8".to_string(), "fd00::/8".to_string()];
        assert!(host_allowed("10.1.2.3", &nets) && host_allowed("[fd00::1]", &nets));
        assert!(!host_allowed("11.0.0.1", &nets) && !host_allowed("10.example", &nets));
    }

    #[test]
    fn the_address_connected_to_must_be_allowed_too() {
        let allow = vec!["api.internal".to_string(), "127.0.0.1".to_string()];
        let mut req = super::super::Request { url: "https://api.internal/x".into(), ..Default::default() };
        assert!(check_request(&req, Some(&allow)).is_ok());
        req.route.connect_to.push(super::super::route::ConnectTo::parse("api.internal:443:10.0.0.7:8443").unwrap());
        let err = check_request(&req, Some(&allow)).unwrap_err();
        assert!(err.to_string().contains("goes to 10.0.0.7"), "{err}");
        req.route.connect_to[0].to_host = "127.0.0.1".into();
        assert!(check_request(&req, Some(&allow)).is_ok());
        req.route.connect_to.clear();
        req.route.resolve.push(super::super::route::Resolve::parse("api.internal:443:192.0.2.1").unwrap());
        assert!(matches!(check_request(&req, Some(&allow)), Err(Refusal::AddressNotAllowed { .. })));
    }
}
