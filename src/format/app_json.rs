//! app_json application logs.

use super::ParseOptions;
use crate::record::Record;

/// Parse one line.
pub fn parse<'a>(_line: &'a [u8], _opts: &ParseOptions) -> Option<Record<'a>> {
    None
}
