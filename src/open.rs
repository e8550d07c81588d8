//! Opening sources from the command line and the config: scan options from flags, every source named, what
//! kind each is (file, glob, compressed, standard input, commands, ssh://), how to follow them, and following them.
//! The subcommands and the console open their sources the same way through here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::args::{InputArgs, LiveArgs};
use crate::config::Config;
use crate::format::haproxy_format::HaproxyFormat;
use crate::format::nginx_format::NginxFormat;
use crate::format::{Format, ParseOptions};
use crate::input::ScanOptions;
use crate::record::Role;
use crate::source::SourceMsg;
use crate::source::command::{CommandOptions, CommandSpec, follow_command};
use crate::source::file::{FollowOptions, StartAt, follow_file, follow_glob};
use crate::source::ssh::SshUrl;
use crate::source::stream::follow_stdin;

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

/// One source named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A file, followed through rotation.
    File(PathBuf),
    /// A glob of files, new matches picked up.
    Glob(String),
    /// Standard input.
    Stdin,
    /// A compressed file (a rotated `access.log.2.gz`): read decompressed, once; it does not grow.
    Compressed(PathBuf),
    /// The output of one command, or of several feeding one source, each labelling its lines (one `ssh` per host
    /// of a multi-host URL).
    Commands(Vec<CommandSpec>),
}

/// Classify a source argument: `-`, `ssh://…`, a glob, or a file.
pub fn classify(arg: &str, lines: Option<usize>) -> anyhow::Result<SourceKind> {
    Ok(if arg == "-" {
        SourceKind::Stdin
    } else if SshUrl::is_ssh(arg) {
        SourceKind::Commands(SshUrl::parse(arg)?.commands(lines))
    } else if arg.contains(['*', '?', '[']) {
        SourceKind::Glob(arg.to_string())
    } else if crate::source::compressed::is_compressed(Path::new(arg)) {
        SourceKind::Compressed(PathBuf::from(arg))
    } else {
        SourceKind::File(PathBuf::from(arg))
    })
}

/// How to follow files and run commands, from the command line (`tail` = lines of each file to start with).
pub fn follow_options(live: &LiveArgs, tail: usize, opts: &ScanOptions) -> (FollowOptions, CommandOptions) {
    let follow = FollowOptions {
        start: if live.from_start { StartAt::Beginning } else { StartAt::LastLines(tail) },
        // `--since`: files start at the window, wherever that is
        start_finder: crate::input::window_start(opts),
        poll_interval: std::time::Duration::from_millis(live.poll_ms.max(10)),
        ..FollowOptions::default()
    };
    (follow, CommandOptions { restart: live.restart, ..CommandOptions::default() })
}

/// Every source named on the command line: `--gateway` and `--upstream` files (with that role), the other
/// sources, then `--cmd` commands; `lines` is how many lines of each file to start with (`None`: all).
pub fn named_sources(
    input: &InputArgs,
    sources: &[String],
    cmds: &[String],
    lines: Option<usize>,
) -> anyhow::Result<Vec<(String, SourceKind, Option<crate::record::Role>)>> {
    let mut out = Vec::new();
    let named = (input.gateway.iter().map(|s| (s, Some(Role::Gateway))))
        .chain(input.upstream.iter().map(|s| (s, Some(Role::Upstream))))
        .chain(sources.iter().map(|s| (s, None)));
    for (arg, role) in named {
        out.push((arg.clone(), classify(arg, lines)?, role));
    }
    for cmd in cmds {
        out.push((cmd.clone(), SourceKind::Commands(vec![CommandSpec::shell(cmd)]), None));
    }
    Ok(out)
}

/// Start following each source (on the current tokio runtime); source `i` sends with id `i`.
///
/// With `rerun`, a command that ends waits to be run again instead of ending its source: the result holds, for
/// each command source, what to notify to run its ended commands again (see [`CommandOptions::rerun`]).
pub fn spawn_sources(
    sources: Vec<SourceKind>,
    follow: &FollowOptions,
    command_opts: &CommandOptions,
    rerun: bool,
    tx: mpsc::Sender<SourceMsg>,
) -> Vec<Option<Arc<tokio::sync::Notify>>> {
    let mut reruns = Vec::with_capacity(sources.len());
    for (id, kind) in sources.into_iter().enumerate() {
        let commands = match kind {
            SourceKind::File(p) => {
                tokio::spawn(follow_file(id, p, follow.clone(), tx.clone()));
                Vec::new()
            }
            SourceKind::Glob(g) => {
                tokio::spawn(follow_glob(id, g, follow.clone(), tx.clone()));
                Vec::new()
            }
            SourceKind::Stdin => {
                tokio::spawn(follow_stdin(id, follow.max_batch_bytes, tx.clone()));
                Vec::new()
            }
            SourceKind::Compressed(p) => {
                tokio::spawn(crate::source::stream::read_compressed(id, p, follow.max_batch_bytes, tx.clone()));
                Vec::new()
            }
            SourceKind::Commands(cs) => cs,
        };
        let notify = (rerun && !commands.is_empty()).then(|| Arc::new(tokio::sync::Notify::new()));
        let opts = CommandOptions { rerun: notify.clone(), ..command_opts.clone() };
        for c in commands {
            // every command of the source sends as the source, each with its own label
            tokio::spawn(follow_command(id, c, opts.clone(), tx.clone()));
        }
        reruns.push(notify);
    }
    reruns
}
