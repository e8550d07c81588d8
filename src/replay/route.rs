//! Where a request's connection goes when that is not where its URL's host resolves: curl's `--connect-to` and
//! `--resolve`, and a TLS server name other than the URL's host. The URL keeps its host name, so SNI and
//! certificate verification use the name while the connection goes to the address.

use std::net::{IpAddr, SocketAddr};

use anyhow::{Context, bail};

/// `--connect-to HOST:PORT:ADDR:PORT`: a connection for HOST:PORT goes to ADDR:PORT instead. An empty HOST or
/// PORT on the left matches any; an empty one on the right keeps the request's own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConnectTo {
    /// The host it applies to (lower case; empty = any).
    pub host: String,
    /// The port it applies to (`None` = any).
    pub port: Option<u16>,
    /// Where the connection goes (empty = the request's host).
    pub to_host: String,
    /// The port it goes to (`None` = the request's port).
    pub to_port: Option<u16>,
}

/// `--resolve HOST:PORT:ADDR[,ADDR]`: HOST (or `*`, any host) on PORT resolves to these addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Resolve {
    /// The host (lower case), or `*`.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The addresses.
    pub addrs: Vec<IpAddr>,
}

/// Split `s` at its `:`s, keeping a field that starts with `[` whole up to its `]` (an IPv6 address).
fn fields(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut bracketed) = (0, false);
    for (i, c) in s.char_indices() {
        match c {
            '[' if i == start => bracketed = true,
            ']' => bracketed = false,
            ':' if !bracketed => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// A host as written, without the brackets of an IPv6 address, lower case.
fn unbracket(h: &str) -> String {
    let inner = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(h);
    inner.to_ascii_lowercase()
}

fn port(s: &str, what: &str) -> anyhow::Result<Option<u16>> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).with_context(|| format!("{what}: {s:?} is not a port"))
}

impl ConnectTo {
    /// Parse curl's `HOST:PORT:ADDR:PORT` (IPv6 in brackets).
    pub fn parse(s: &str) -> anyhow::Result<ConnectTo> {
        let f = fields(s.trim());
        let [host, p, to_host, to_p] = f.as_slice() else {
            bail!("--connect-to {s:?} is not HOST:PORT:ADDR:PORT (e.g. api.internal:443:10.0.0.7:8443)");
        };
        let c = ConnectTo {
            host: unbracket(host),
            port: port(p, "--connect-to")?,
            to_host: unbracket(to_host),
            to_port: port(to_p, "--connect-to")?,
        };
        if c.to_host.is_empty() && c.to_port.is_none() {
            bail!("--connect-to {s:?} names no address or port to connect to");
        }
        Ok(c)
    }

    /// Whether it applies to `host` on `port`.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        (self.host.is_empty() || self.host == host) && self.port.is_none_or(|p| p == port)
    }

    /// As curl takes it.
    pub fn to_arg(&self) -> String {
        let p = |p: Option<u16>| p.map_or(String::new(), |p| p.to_string());
        format!("{}:{}:{}:{}", bracket(&self.host), p(self.port), bracket(&self.to_host), p(self.to_port))
    }
}

impl Resolve {
    /// Parse curl's `HOST:PORT:ADDR[,ADDR…]`.
    pub fn parse(s: &str) -> anyhow::Result<Resolve> {
        let f = fields(s.trim());
        let bad = || format!("--resolve {s:?} is not HOST:PORT:ADDR (e.g. api.internal:443:10.0.0.7)");
        let (host, p, rest) = match f.as_slice() {
            [host, p, rest @ ..] if !rest.is_empty() => (host, p, rest.join(":")),
            _ => bail!(bad()),
        };
        let port = port(p, "--resolve")?.with_context(bad)?;
        let addrs = rest
            .split(',')
            .map(|a| {
                unbracket(a.trim()).parse::<IpAddr>().with_context(|| format!("--resolve: {a:?} is not an IP address"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Resolve { host: unbracket(host), port, addrs })
    }

    /// As curl takes it.
    pub fn to_arg(&self) -> String {
        let addrs: Vec<String> = self.addrs.iter().map(|a| bracket(&a.to_string())).collect();
        format!("{}:{}:{}", bracket(&self.host), self.port, addrs.join(","))
    }
}

/// An IPv6 address in brackets, as URLs and curl write it (and a name that starts with `[`, so it reads back the
/// same); anything else as it is.
pub fn bracket(h: &str) -> String {
    if h.contains(':') || h.starts_with('[') { format!("[{h}]") } else { h.to_string() }
}

/// Connection settings a request carries besides its URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Route {
    /// `--connect-to` rules, the first that matches wins.
    pub connect_to: Vec<ConnectTo>,
    /// `--resolve` entries.
    pub resolve: Vec<Resolve>,
    /// The name to verify the certificate against and send as SNI, instead of the URL's host.
    pub server_name: Option<String>,
}

impl Route {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.connect_to.is_empty() && self.resolve.is_empty() && self.server_name.is_none()
    }
}

/// Where the connection for a request really goes, and how the HTTP client is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wire {
    /// The URL given to the HTTP client: the name to verify as its host, the port connected to as its port.
    pub url: String,
    /// The Host header to add when the request has none (the URL's own authority, as it would have been sent).
    pub host_header: Option<String>,
    /// The host and port connected to (an address or a name).
    pub dest: (String, u16),
    /// The name in the wire URL, which the client must resolve to `dest` (`None`: it resolves it itself).
    pub pin: Option<String>,
    /// Addresses `pin` resolves to, when known without a lookup.
    pub addrs: Vec<SocketAddr>,
}

/// The authority of `url` (from after `://` to the path), as a byte range.
fn authority(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let end = url[start..].find(['/', '?', '#', '\\']).map_or(url.len(), |i| i + start);
    Some((start, end))
}

/// Work out where `url` connects with `route`: the URL's host and port, after `--connect-to`, `--resolve` and the
/// server name.
pub fn wire(url: &str, route: &Route) -> anyhow::Result<Wire> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
    let host = unbracket(parsed.host_str().context("the URL has no host")?);
    let port = parsed.port_or_known_default().context("the URL has no port")?;
    let (mut dest_host, mut dest_port) = (host.clone(), port);
    if let Some(c) = route.connect_to.iter().find(|c| c.matches(&host, port)) {
        if !c.to_host.is_empty() {
            dest_host = c.to_host.clone();
        }
        dest_port = c.to_port.unwrap_or(port);
    }
    let name = route.server_name.as_deref().map(unbracket).unwrap_or_else(|| host.clone());
    let resolved: Vec<SocketAddr> = route
        .resolve
        .iter()
        .filter(|r| r.port == dest_port && r.host == dest_host)
        .chain(route.resolve.iter().filter(|r| r.port == dest_port && r.host == "*"))
        .take(1)
        .flat_map(|r| r.addrs.iter().map(|a| SocketAddr::new(*a, dest_port)))
        .collect();
    let dest_ip = dest_host.parse::<IpAddr>().ok();
    let addrs = match dest_ip {
        Some(ip) => vec![SocketAddr::new(ip, dest_port)],
        None => resolved.clone(),
    };
    let untouched = name == host && dest_host == host && dest_port == port;
    if untouched && resolved.is_empty() {
        // nothing changes where the URL's host connects: the client resolves it (or uses its address) itself
        let addrs = Vec::new();
        return Ok(Wire { url: url.to_string(), host_header: None, dest: (dest_host, dest_port), pin: None, addrs });
    }
    if name.parse::<IpAddr>().is_ok() && (name != dest_host || !addrs.is_empty() && dest_ip.is_none()) {
        bail!("the server name {name} is an IP address: it cannot stand for another destination ({dest_host})");
    }
    let (start, end) = authority(url).context("the URL has no authority")?;
    let default_port = parsed.port().is_none();
    let wire_authority =
        if default_port && dest_port == port { bracket(&name) } else { format!("{}:{dest_port}", bracket(&name)) };
    let wire_url = format!("{}{wire_authority}{}", &url[..start], &url[end..]);
    let original = if default_port { bracket(&host) } else { format!("{}:{port}", bracket(&host)) };
    let pin = (name.parse::<IpAddr>().is_err()).then(|| name.clone());
    Ok(Wire { url: wire_url, host_header: Some(original), dest: (dest_host, dest_port), pin, addrs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_curl_forms() {
        let c = ConnectTo::parse("api.internal:443:10.0.0.7:8443").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.to_host.as_str(), c.to_port),
            ("api.internal", Some(443), "10.0.0.7", Some(8443))
        );
        assert_eq!(c.to_arg(), "api.internal:443:10.0.0.7:8443");
        let v6 = ConnectTo::parse("::[::1]:9").unwrap();
        assert_eq!((v6.host.as_str(), v6.port, v6.to_host.as_str(), v6.to_port), ("", None, "::1", Some(9)));
        assert_eq!(v6.to_arg(), "::[::1]:9");
        assert!(ConnectTo::parse("a:1:b").is_err() && ConnectTo::parse("a:x:b:1").is_err());
        let r = Resolve::parse("api.internal:443:10.0.0.7,[::1]").unwrap();
        assert_eq!(r.addrs.len(), 2);
        assert_eq!(r.to_arg(), "api.internal:443:10.0.0.7,[::1]");
        assert!(Resolve::parse("api.internal:443:nothost").is_err());
    }

    #[test]
    fn the_url_keeps_the_name_and_the_connection_goes_to_the_address() {
        let route = Route {
            connect_to: vec![ConnectTo::parse("api.internal:443:127.0.0.1:8443").unwrap()],
            ..Default::default()
        };
        let w = wire("https://api.internal/v1/x?q=%20", &route).unwrap();
        assert_eq!(w.url, "https://api.internal:8443/v1/x?q=%20");
        assert_eq!(w.host_header.as_deref(), Some("api.internal"));
        assert_eq!(w.pin.as_deref(), Some("api.internal"));
        assert_eq!(w.addrs, ["127.0.0.1:8443".parse::<SocketAddr>().unwrap()]);
        // no rule for this port: as it was
        let w = wire("https://api.internal:444/", &route).unwrap();
        assert_eq!((w.url.as_str(), w.pin), ("https://api.internal:444/", None));
        let route =
            Route { resolve: vec![Resolve::parse("api.internal:443:127.0.0.2").unwrap()], ..Default::default() };
        let w = wire("https://api.internal/p", &route).unwrap();
        assert_eq!((w.url.as_str(), w.addrs[0].to_string().as_str()), ("https://api.internal/p", "127.0.0.2:443"));
        // a server name other than the host: the URL carries the name, the connection goes where the host did
        let route = Route { server_name: Some("api.internal".into()), ..Default::default() };
        let w = wire("https://10.0.0.7:8443/p", &route).unwrap();
        assert_eq!((w.url.as_str(), w.host_header.as_deref()), ("https://api.internal:8443/p", Some("10.0.0.7:8443")));
        assert_eq!(w.addrs, ["10.0.0.7:8443".parse::<SocketAddr>().unwrap()]);
    }
}
