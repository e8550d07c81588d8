//! `gatewatch trace`: every record of one request across the sources, printed.

use crate::exit::{EXIT_OK, EXIT_SOURCE_ERROR, usage, usage_msg};
use crate::trace::{find, render};

/// Run `gatewatch trace`.
pub fn run(args: crate::cli::TraceArgs) -> anyhow::Result<i32> {
    let opts = crate::open::scan_options(&args.input).map_err(usage)?;
    let sources = crate::open::sources(&args.input, &args.files);
    if sources.is_empty() {
        return Err(usage_msg("no log files given (try `gatewatch trace <id> access.log app.log`)"));
    }
    let sources = crate::input::with_rotated(&sources, args.bulk.with_rotated, &opts);
    for problem in crate::priority::apply(args.bulk.priority) {
        crate::output::warn(format_args!("{problem}"));
    }
    let (trace, errors) = find(&args.id, &sources, &opts, args.limit);
    for e in &errors {
        crate::output::warn(format_args!("{e:#}"));
    }
    if args.json {
        println!("{}", crate::output::json_string(&trace, true));
    } else {
        print!("{}", render(&trace, crate::output::color_wanted()));
    }
    Ok(if !errors.is_empty() {
        EXIT_SOURCE_ERROR
    } else if trace.hops.is_empty() {
        EXIT_NOT_FOUND
    } else {
        EXIT_OK
    })
}

/// Exit code: no record carries the id.
pub const EXIT_NOT_FOUND: i32 = 3;
