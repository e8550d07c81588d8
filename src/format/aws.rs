//! AWS API Gateway access logs: CLF template and JSON template.

use crate::record::Record;

/// CLF template.
pub fn parse_clf(_line: &[u8]) -> Option<Record<'_>> {
    None
}

/// JSON template (every value is a string).
pub fn parse_json(_line: &[u8]) -> Option<Record<'_>> {
    None
}
