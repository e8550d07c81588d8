//! Envoy / Istio access logs: default text format and JSON.

use crate::record::Record;

/// Envoy default text format / Istio default (optionally prefixed `ACCESS `).
pub fn parse_text(_line: &[u8]) -> Option<Record<'_>> {
    None
}

/// Envoy JSON access log.
pub fn parse_json(_line: &[u8]) -> Option<Record<'_>> {
    None
}
