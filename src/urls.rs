//! Facts about URLs that replay and token fetching both need.

/// Whether a URL's host is this machine (127.0.0.0/8, ::1, `localhost`): allowed over plain http for tests and
/// local proxies, and never sent through a proxy from the environment.
pub fn is_loopback(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else { return false };
    let Some(host) = u.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_hosts() {
        for u in ["http://127.0.0.1:8080/x", "http://127.9.9.9/", "http://[::1]:9/", "http://LOCALHOST/"] {
            assert!(super::is_loopback(u), "{u}");
        }
        for u in ["http://10.0.0.1/", "http://localhost.example.com/", "http://[::2]/", "not a url"] {
            assert!(!super::is_loopback(u), "{u}");
        }
    }
}
