//! The arguments every reader of logs shares: how sources are read (`--format`, `--since`, …), how live sources
//! are followed, and the change markers. The CLI flattens them into its commands; the core opens sources from them.

use std::path::PathBuf;

use clap::Args;

/// How a whole-file scan (`report`, `trace`) finds its files' history and treats the host it runs on.
#[derive(Debug, Args, Clone)]
pub struct BulkArgs {
    /// Read each named file with the files logrotate made of it beside it (`access.log.1`, `access.log.2.gz`,
    /// `access.log-20261123.gz`), oldest first; with `--since`, only those the window needs.
    #[arg(long)]
    pub with_rotated: bool,
    /// `low` (the default): the idle CPU class at nice 10 (in a session of its own weighed lowest, where the
    /// kernel shares the CPU by session), I/O best-effort 7, the page cache spared, fewer threads while the host
    /// is loaded, slower while a virtual machine's hypervisor steals, so a scan does not hurt the gateway it runs
    /// on; `normal`: as any other process.
    #[arg(long, value_name = "LEVEL", default_value = "low")]
    pub priority: crate::priority::Priority,
}

/// How sources are read (shared by every subcommand that reads logs).
#[derive(Debug, Args, Clone, Default)]
pub struct InputArgs {
    /// Force the format of every source instead of detecting it (see `--list-formats`).
    #[arg(long, value_name = "NAME")]
    pub format: Option<String>,
    /// An nginx `log_format` value to parse with, pasted from nginx.conf.
    #[arg(long, value_name = "LOG_FORMAT")]
    pub nginx_format: Option<String>,
    /// An HAProxy `log-format` string to parse with, pasted from haproxy.cfg.
    #[arg(long, value_name = "LOG_FORMAT")]
    pub haproxy_format: Option<String>,
    /// A source that is a gateway, whatever its format.
    #[arg(long, value_name = "FILE")]
    pub gateway: Vec<String>,
    /// A source that is an upstream service, whatever its format.
    #[arg(long, value_name = "FILE")]
    pub upstream: Vec<String>,
    /// An extra field name holding the request id in JSON/logfmt logs (repeatable).
    #[arg(long, value_name = "NAME")]
    pub id_field: Vec<String>,
    /// A regex finding the request id in plain-text logs (first capture group, or the whole match).
    #[arg(long, value_name = "REGEX")]
    pub id_regex: Option<String>,
    /// The zone of times logged without one (nginx's error log: the host's local time), when no access log
    /// of the same host gives its offset: `+02:00`, `-0530` or an IANA name (`Europe/Paris`). Default: UTC.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Read from this log time on: `30m`, `2h`, `1d` back from now, a time of day (`13:02`), a date or a date-time
    /// (`2026-11-23T13:02:00Z`); found in a file by binary search on its times, not by reading what is before.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Read up to this log time (excluded), in the same forms as `--since`.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// The config file (default: $XDG_CONFIG_HOME/gatewatch/config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Worker threads for reading (default: all cores).
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub threads: usize,
}

/// How live sources are followed (`tail` and the console).
#[derive(Debug, Args, Clone)]
pub struct LiveArgs {
    /// Read each file from its start, then follow.
    #[arg(long)]
    pub from_start: bool,
    /// Run a command and follow its output (repeatable), e.g. `--cmd 'kubectl logs -f -l app=gateway'`.
    #[arg(long, value_name = "COMMAND")]
    pub cmd: Vec<String>,
    /// Run commands (and ssh://) again when they exit, with a backoff.
    #[arg(long)]
    pub restart: bool,
    /// Polling interval for filesystems without change events, in ms.
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub poll_ms: u64,
}

impl Default for LiveArgs {
    fn default() -> Self {
        LiveArgs { from_start: false, cmd: Vec::new(), restart: false, poll_ms: 250 }
    }
}

/// Change events drawn on the console's charts (the console and `demo`).
#[derive(Debug, Args, Clone, Default)]
pub struct MarkerArgs {
    /// Change events to mark on the charts (repeatable), besides the reload and start lines found in the
    /// sources: a value naming an existing file is followed like a log; anything else is run as a shell command
    /// (`sh -c`) and followed while it runs, e.g. `--markers 'kubectl get events -w'` (a script: `sh deploys.sh`).
    /// Each line is a change at its own time or, without one, at the time it arrived.
    #[arg(long, value_name = "FILE|CMD")]
    pub markers: Vec<String>,
    /// Only the lines of --markers sources matching this regex are changes.
    #[arg(long, value_name = "REGEX")]
    pub marker_regex: Option<String>,
}
