//! Compile an nginx `log_format` string into a parser.

use crate::record::Record;

/// A compiled nginx `log_format`.
#[derive(Debug)]
pub struct NginxFormat {}

impl NginxFormat {
    /// Compile a `log_format` value such as `'$remote_addr - [$time_local] "$request" $status'`.
    pub fn compile(_spec: &str) -> anyhow::Result<NginxFormat> {
        anyhow::bail!("not yet")
    }

    /// Parse one line written with this format.
    pub fn parse<'a>(&self, _line: &'a [u8]) -> Option<Record<'a>> {
        None
    }
}
