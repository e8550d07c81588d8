//! `gatewatch report`: scan the sources and print what is failing.

use std::sync::Arc;

use anyhow::Context;

use crate::cli::ReportArgs;
use crate::exit::{EXIT_OK, EXIT_SOURCE_ERROR, usage, usage_msg};
use crate::format::Format;
use crate::format::haproxy_format::HaproxyFormat;
use crate::format::nginx_format::NginxFormat;
use crate::open::{scan_options, sources};
use crate::report::build::build_report;
use crate::report::print::print_report;

fn print_formats() {
    println!("{:<14} {:<9} description", "format", "role");
    for f in Format::builtin() {
        println!("{:<14} {:<9} {}", f.name(), f.role().name(), f.description());
    }
    let custom = Format::NginxCustom(Arc::new(NginxFormat::compile("$status").expect("a valid log_format")));
    println!("{:<14} {:<9} {}", custom.name(), custom.role().name(), custom.description());
    let custom = Format::HaproxyCustom(Arc::new(HaproxyFormat::compile("%ST").expect("a valid log-format")));
    println!("{:<14} {:<9} {}", custom.name(), custom.role().name(), custom.description());
    println!("\nEnvelopes (detected around any format): docker {{\"log\":…}}, {{\"message\":…}}, CRI prefix.");
}

/// `gatewatch report`.
pub fn run(args: ReportArgs) -> anyhow::Result<i32> {
    if args.list_formats {
        print_formats();
        return Ok(EXIT_OK);
    }
    let opts = scan_options(&args.input).map_err(usage)?;
    let sources = sources(&args.input, &args.files);
    if sources.is_empty() {
        return Err(usage_msg("no log files given (try `gatewatch report access.log`, or `-` for standard input)"));
    }
    let sources = crate::input::with_rotated(&sources, args.bulk.with_rotated, &opts);
    for problem in crate::priority::apply(args.bulk.priority) {
        crate::output::warn(format_args!("{problem}"));
    }
    let baseline = match &args.baseline {
        Some(b) => Some(crate::report::baseline::Baseline::parse(b).map_err(usage)?),
        None => None,
    };
    let regex = crate::markers::regex_flag(args.marker_regex.as_deref()).map_err(usage)?;
    let mut markers = Vec::new();
    let mut marker_failed = false;
    for m in &args.markers {
        let (data, whole) = marker_data(m)?;
        marker_failed |= !whole;
        markers.extend(crate::report::model::read_markers(m, &data, &opts, regex.as_ref()));
    }
    let (report, failed) = build_report(&opts, &sources, baseline, markers);
    let failed = failed || marker_failed;
    // nothing readable: the errors alone, not an empty report that looks like a quiet log
    if !report.sources.is_empty() {
        print_report(&report, args.json)?;
    }
    Ok(if failed { EXIT_SOURCE_ERROR } else { EXIT_OK })
}

/// What a `--markers` value gives: a file's bytes, or what a command printed, run until it ends or for
/// [`crate::markers::COMMAND_LIMIT`] (then stopped, and what it printed so far used); and whether it is whole (a
/// command that failed is said on stderr, and its output still used).
fn marker_data(value: &str) -> anyhow::Result<(Vec<u8>, bool)> {
    use crate::markers::MarkerSource;
    match MarkerSource::of(value) {
        MarkerSource::File(p) => {
            let data = std::fs::read(&p).with_context(|| format!("cannot read the marker source {value}"))?;
            Ok((data, true))
        }
        MarkerSource::Command(c) => {
            let limit = crate::markers::COMMAND_LIMIT;
            let ran = crate::source::command::run_to_end(&c, limit)
                .with_context(|| format!("cannot run the marker command `{c}`"))?;
            let said = ran.stderr.as_deref().map_or(String::new(), |e| format!(": {e}"));
            if ran.timed_out {
                crate::output::warn(format_args!(
                    "marker command `{c}` still ran after {} s: stopped it, and used what it printed",
                    limit.as_secs()
                ));
            } else if ran.code != Some(0) {
                let how = ran.code.map_or("was killed by a signal".to_string(), |n| format!("exited with status {n}"));
                crate::output::warn(format_args!("marker command `{c}` {how}{said}"));
                return Ok((ran.stdout, false));
            }
            Ok((ran.stdout, true))
        }
    }
}
