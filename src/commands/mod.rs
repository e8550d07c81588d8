//! The subcommands, headless: each returns the process exit code.

pub mod replay;
pub mod token;

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;

use crate::cli::{DemoArgs, GenerateArgs, InputArgs, ReportArgs};
use crate::config::Config;
use crate::format::haproxy_format::HaproxyFormat;
use crate::format::nginx_format::NginxFormat;
use crate::format::{Format, ParseOptions};
use crate::record::Role;
use crate::report::{Report, ScanOptions, ScannedSource, scan_source};

/// Exit code: everything was read.
pub const EXIT_OK: i32 = 0;
/// Exit code: at least one source could not be read (the others were still reported).
pub const EXIT_SOURCE_ERROR: i32 = 1;
/// Exit code: bad arguments or config.
pub const EXIT_USAGE: i32 = 2;

/// A mistake in how gatewatch was called (arguments, config): shown like any error, exit code [`EXIT_USAGE`].
#[derive(Debug)]
pub struct Usage(anyhow::Error);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Usage {}

/// Mark an error as a usage error.
pub fn usage(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Usage(e.into()))
}

/// A usage error with this message.
pub fn usage_msg(msg: &str) -> anyhow::Error {
    usage(anyhow::anyhow!("{msg}"))
}

/// The exit code for an error a command returned; prints it unless it is a closed pipe (`gatewatch … | head`,
/// which is how a pipeline ends, not a failure).
pub fn exit_code(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
        return EXIT_OK;
    }
    crate::output::warn(format_args!("{e:#}"));
    if e.downcast_ref::<Usage>().is_some() { EXIT_USAGE } else { EXIT_SOURCE_ERROR }
}

/// Turn flags and the config file into scan options.
pub fn scan_options(input: &InputArgs) -> anyhow::Result<ScanOptions> {
    let config = Config::load(input.config.as_deref())?;
    let mut extra = Vec::new();
    if let Some(spec) = input.nginx_format.as_ref().or(config.nginx_format.as_ref()) {
        let f = NginxFormat::compile(spec).context("invalid nginx log_format")?;
        extra.push(Format::NginxCustom(Arc::new(f)));
    }
    if let Some(spec) = input.haproxy_format.as_ref().or(config.haproxy_format.as_ref()) {
        let f = HaproxyFormat::compile(spec).context("invalid HAProxy log-format")?;
        extra.push(Format::HaproxyCustom(Arc::new(f)));
    }
    let custom = |name: &str| extra.iter().find(|f| f.name() == name).cloned();
    let format = match input.format.as_deref() {
        Some("nginx-custom") => Some(custom("nginx-custom").ok_or_else(|| {
            anyhow::anyhow!(
                "--format nginx-custom needs the log_format: --nginx-format '…' (or nginx_format in the config)"
            )
        })?),
        Some("haproxy-custom") => Some(custom("haproxy-custom").ok_or_else(|| {
            anyhow::anyhow!(
                "--format haproxy-custom needs the log-format: --haproxy-format '…' (or haproxy_format in the config)"
            )
        })?),
        Some(name) => Some(Format::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = Format::builtin().iter().map(Format::name).collect();
            anyhow::anyhow!(
                "unknown format {name:?}; known formats: {}, nginx-custom (with --nginx-format), haproxy-custom \
                 (with --haproxy-format)",
                names.join(", ")
            )
        })?),
        None => None,
    };
    let mut id_fields = input.id_field.clone();
    id_fields.extend(config.id_fields);
    let id_regex = match input.id_regex.as_ref().or(config.id_regex.as_ref()) {
        Some(re) => Some(
            regex::Regex::new(re)
                .map_err(|e| anyhow::anyhow!("invalid --id-regex {re:?}: {}", crate::filter::regex_error(&e)))?,
        ),
        None => None,
    };
    let local_tz = input.tz.as_deref().map(crate::errorlog::parse_tz).transpose()?;
    let window = crate::window::Window::parse(input.since.as_deref(), input.until.as_deref(), local_tz.as_ref())?;
    Ok(ScanOptions {
        window,
        format,
        extra_formats: extra,
        parse: Arc::new(ParseOptions { id_fields, id_regex, local_tz }),
        threads: input.threads,
        alert_rules: crate::alerts::Rules::from_config(&config.alert)?,
    })
}

/// Every source named on the command line with its role override, in order.
pub fn sources(input: &InputArgs, files: &[String]) -> Vec<(String, Option<Role>)> {
    let mut v: Vec<(String, Option<Role>)> = Vec::new();
    v.extend(input.gateway.iter().map(|f| (f.clone(), Some(Role::Gateway))));
    v.extend(input.upstream.iter().map(|f| (f.clone(), Some(Role::Upstream))));
    v.extend(files.iter().map(|f| (f.clone(), None)));
    v
}

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

/// Scan every source and build the report; unreadable sources are reported on stderr.
pub fn build_report(
    opts: &ScanOptions,
    sources: &[(String, Option<Role>)],
    baseline: Option<crate::report::baseline::Baseline>,
    markers: Vec<(i64, crate::report::model::MarkerRow)>,
) -> (Report, bool) {
    let mut scanned = Vec::new();
    let mut failed = false;
    for (path, role) in sources {
        match scan_source(path, *role, opts) {
            Ok(s) => scanned.push(s),
            Err(e) => {
                failed = true;
                crate::output::warn(format_args!("{e:#}"));
            }
        }
    }
    error_log_causes(opts, sources, &mut scanned);
    (Report::build(scanned, &opts.alert_rules, baseline, markers), failed)
}

/// 502/504 records of the gateway sources joined per end of each source for the diagnosis' error-log causes.
const CAUSES_JOINED: usize = 200;

/// When the gateway answered 502, 503 or 504 and a source reads as nginx's error log or Envoy's own log, the
/// causes it gives for those requests go into the gateway's evidence (only then is anything read again).
fn error_log_causes(opts: &ScanOptions, sources: &[(String, Option<Role>)], scanned: &mut [ScannedSource]) {
    let failed = |s: &ScannedSource| (502..=504).any(|c| s.tally.evidence.0.contains_key(&c));
    let gateways: Vec<String> =
        scanned.iter().filter(|s| s.role == Role::Gateway && failed(s)).map(|s| s.path.clone()).collect();
    let plain: Vec<(String, Option<Role>)> = scanned
        .iter()
        .filter(|s| matches!(s.parser.format, Format::Plain))
        .map(|s| (s.path.clone(), sources.iter().find(|(p, _)| *p == s.path).and_then(|(_, r)| *r)))
        .collect();
    if gateways.is_empty() || plain.is_empty() {
        return;
    }
    let mut causes = crate::diagnose::EvidenceSet::default();
    crate::errorlog::causes_into(&plain, &gateways, opts, CAUSES_JOINED, &mut causes);
    crate::stream_join::causes_into(&plain, &gateways, opts, CAUSES_JOINED, &mut causes);
    if let Some(gw) = scanned.iter_mut().find(|s| s.path == gateways[0]) {
        // the causes only: the requests were counted from the access log
        gw.tally.evidence.merge(causes);
    }
}

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

/// `gatewatch report`.
pub fn report(args: ReportArgs) -> anyhow::Result<i32> {
    if args.list_formats {
        print_formats();
        return Ok(EXIT_OK);
    }
    let opts = scan_options(&args.input).map_err(usage)?;
    let mut sources = sources(&args.input, &args.files);
    if sources.is_empty() {
        return Err(usage_msg("no log files given (try `gatewatch report access.log`, or `-` for standard input)"));
    }
    // a --since window may begin in a rotated file: the files it needs come along by themselves
    if args.with_rotated || opts.window.is_some_and(|w| w.since_us.is_some()) {
        sources = crate::report::source::with_rotated(&sources, &opts);
    }
    for problem in crate::priority::apply(args.priority) {
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

/// `gatewatch generate`.
pub fn generate(args: GenerateArgs) -> anyhow::Result<i32> {
    let cfg = crate::demo::gen_config(&args)?;
    let gw = crate::format::writers::gateway(&args.format).ok_or_else(|| {
        anyhow::anyhow!(
            "cannot write format {:?}; writable: {}",
            args.format,
            crate::format::writers::GATEWAY.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )
    })?;
    let up = crate::format::writers::upstream(&args.upstream_format).ok_or_else(|| {
        anyhow::anyhow!("cannot write upstream format {:?}; writable: json, logfmt, plain", args.upstream_format)
    })?;
    let mut gw_out: Box<dyn Write> = if args.gateway_out == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(&args.gateway_out).with_context(|| format!("cannot create {}", args.gateway_out))?,
        )
    };
    let mut up_file = match &args.upstream_out {
        Some(p) => Some(std::fs::File::create(p).with_context(|| format!("cannot create {p}"))?),
        None => None,
    };
    let upstream = up_file.as_mut().map(|f| (up, f as &mut dyn Write));
    let (g, u) = crate::generate::generate(cfg, gw, &mut gw_out, upstream)?;
    if args.gateway_out != "-" {
        crate::output::warn(format_args!(
            "wrote {g} gateway lines to {}{}",
            args.gateway_out,
            args.upstream_out.as_ref().map_or(String::new(), |p| format!(" and {u} upstream lines to {p}"))
        ));
    }
    Ok(EXIT_OK)
}

/// `gatewatch demo`.
pub fn demo(args: DemoArgs) -> anyhow::Result<i32> {
    crate::demo::run(args)
}
