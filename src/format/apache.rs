//! Apache `combined` (+ `%D` microseconds, `%{UNIQUE_ID}e`).

use crate::record::Record;

/// Parse an Apache combined line.
pub fn parse(_line: &[u8]) -> Option<Record<'_>> {
    None
}
