//! Writing a report to standard output.

use std::io::Write;

use crate::report::Report;

/// Print a report to stdout: pretty JSON, or text (coloured on a terminal).
pub fn print_report(report: &Report, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        crate::output::write_json(&mut out, report, true)?;
        writeln!(out)?;
    } else {
        out.write_all(crate::report::text::render(report, crate::output::color_wanted()).as_bytes())?;
    }
    out.flush()?;
    Ok(())
}
