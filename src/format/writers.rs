//! Which function writes which format (for the generator and round-trip tests).

use crate::synth::LineWriter;

/// Gateway formats the generator can write, by name.
pub const GATEWAY: [(&str, LineWriter); 11] = [
    ("nginx", super::nginx::write_nginx),
    ("ingress-nginx", super::nginx::write_ingress),
    ("apache", super::apache::write_apache),
    ("envoy", super::envoy::write_envoy),
    ("istio", super::envoy::write_istio),
    ("envoy-json", super::envoy::write_envoy_json),
    ("kong", super::kong::write),
    ("aws-clf", super::aws::write_clf),
    ("aws-json", super::aws::write_json),
    ("traefik", super::traefik::write),
    ("haproxy", super::haproxy::write),
];

/// Upstream formats the generator can write, by name.
pub const UPSTREAM: [(&str, LineWriter); 3] =
    [("json", super::app_json::write), ("logfmt", super::logfmt::write), ("plain", super::plain::write)];

/// The writer of a gateway format.
pub fn gateway(name: &str) -> Option<LineWriter> {
    GATEWAY.iter().find(|(n, _)| *n == name).map(|(_, w)| *w)
}

/// The writer of an upstream format.
pub fn upstream(name: &str) -> Option<LineWriter> {
    UPSTREAM.iter().find(|(n, _)| *n == name).map(|(_, w)| *w)
}
