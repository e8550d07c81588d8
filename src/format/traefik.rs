//! traefik access logs.

use crate::record::Record;

/// Parse one traefik line.
pub fn parse(_line: &[u8]) -> Option<Record<'_>> {
    None
}
