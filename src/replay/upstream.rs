//! Straight to the upstream the record logged (nginx's `$upstream_addr`, Envoy's upstream host, Kong's last try),
//! skipping the gateway: the URL keeps the logged Host as its name, so SNI and certificate checks use the name, and
//! the connection goes to the logged address.

use anyhow::{Context, bail};

use super::request::Request;
use super::route::{ConnectTo, bracket};
use crate::record::Record;

/// Each upstream attempt's address the record logged, in order.
pub fn addresses(rec: &Record<'_>) -> Vec<String> {
    let Some(addrs) = rec.upstream_addr.as_deref() else { return Vec::new() };
    let mut out = Vec::new();
    crate::stats::tally::for_each_upstream(
        addrs.as_bytes(),
        rec.upstream_status.as_slice(),
        rec.status.unwrap_or(0),
        |_, addr, _| out.push(String::from_utf8_lossy(addr).into_owned()),
    );
    out
}

/// Attempt `n` (from 1), or the last one.
pub fn pick(addrs: &[String], n: Option<usize>) -> anyhow::Result<String> {
    match (n, addrs) {
        (_, []) => bail!("the record logs no upstream address to go to (give --connect-to instead)"),
        (None, [.., last]) => Ok(last.clone()),
        (Some(n), _) if (1..=addrs.len()).contains(&n) => Ok(addrs[n - 1].clone()),
        (Some(n), _) => {
            bail!("--attempt {n}: the record logs {} upstream attempt(s): {}", addrs.len(), addrs.join(", "))
        }
    }
}

/// `host:port` of a logged address (`10.0.0.7:8443`, `[::1]:80`, `tcp://10.0.2.1:80`).
pub fn host_port(addr: &str) -> anyhow::Result<(String, u16)> {
    let bare = addr.split_once("://").map_or(addr, |(_, rest)| rest).trim_end_matches('/');
    let not_address = || {
        format!(
            "the upstream {addr:?} the record logs is not an address with a port (HAProxy logs server names): \
             give --connect-to HOST:PORT:ADDR:PORT instead"
        )
    };
    let (host, port) = bare.rsplit_once(':').with_context(not_address)?;
    let port: u16 = port.parse().ok().with_context(not_address)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains('/') {
        bail!(not_address());
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// `req` aimed at the upstream `addr` over `scheme`: its URL names the logged Host (else the address) on the
/// address's port, and a `--connect-to` rule sends the connection to the address.
pub fn aim(req: &Request, addr: &str, scheme: &str) -> anyhow::Result<Request> {
    let (host, port) = host_port(addr)?;
    reqwest::Url::parse(&req.url).with_context(|| format!("{:?} is not a URL", req.url))?;
    // the name the gateway was asked for: the Host header, as logged
    let name = match req.header("host") {
        Some(h) => h.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(h, |(n, _)| n),
        // no Host logged: the upstream is named by its address
        None => &host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let start = req.url.find("://").map_or(0, |i| i + 3);
    let rest = req.url[start..].find(['/', '?', '#']).map_or("/", |i| &req.url[start + i..]);
    let mut aimed = req.clone();
    aimed.url = format!("{scheme}://{}:{port}{rest}", bracket(&name));
    if name != host {
        let rule = ConnectTo { host: name, port: Some(port), to_host: host, to_port: Some(port) };
        aimed.route.connect_to.insert(0, rule);
    }
    Ok(aimed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_addresses_become_a_target_keeping_the_name() {
        assert_eq!(host_port("tcp://10.0.2.1:80").unwrap(), ("10.0.2.1".to_string(), 80));
        assert_eq!(host_port("[2001:db8::1]:443").unwrap(), ("2001:db8::1".to_string(), 443));
        assert!(host_port("srv1").unwrap_err().to_string().contains("server names"));
        let addrs = vec!["10.0.0.1:80".to_string(), "10.0.0.7:8443".to_string()];
        assert_eq!(pick(&addrs, None).unwrap(), "10.0.0.7:8443");
        assert_eq!(pick(&addrs, Some(1)).unwrap(), "10.0.0.1:80");
        assert!(pick(&addrs, Some(3)).is_err() && pick(&[], None).is_err());
        let req = Request {
            url: "http://gw.example:8080/v1/a%2Fb?q=1".into(),
            headers: vec![("Host".into(), "api.internal:443".into())],
            ..Default::default()
        };
        let up = aim(&req, "10.0.0.7:8443", "https").unwrap();
        assert_eq!(up.url, "https://api.internal:8443/v1/a%2Fb?q=1");
        assert_eq!(up.route.connect_to[0].to_arg(), "api.internal:8443:10.0.0.7:8443");
        assert_eq!(up.header("host"), Some("api.internal:443"), "the logged Host goes as logged");
    }
}
