//! nginx `combined` (with `key=value` extras appended) and ingress-nginx `upstreaminfo`.

use crate::record::Record;

/// nginx `combined`, plus any `key=value` / `key="value"` extras appended after it.
pub fn parse(_line: &[u8]) -> Option<Record<'_>> {
    None
}

/// ingress-nginx `upstreaminfo`.
pub fn parse_ingress(_line: &[u8]) -> Option<Record<'_>> {
    None
}
