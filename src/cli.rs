//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::args::{BulkArgs, InputArgs, LiveArgs, MarkerArgs};
use crate::ui::args::ConsoleArgs;

/// `gatewatch --version`: the package version and the git commit the binary was built from (see build.rs).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("GATEWATCH_GIT_COMMIT"), ")");

/// gatewatch — a terminal incident console for API-gateway outages.
#[derive(Debug, Parser)]
#[command(name = "gatewatch", version = VERSION, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; without a subcommand, the console opens on the sources.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The console's options and sources.
    #[command(flatten)]
    pub console: ConsoleArgs,
}

impl Cli {
    /// The priority of the bulk work this command does (`report`, `trace`); `None` for the others.
    pub fn bulk_priority(&self) -> Option<crate::priority::Priority> {
        match &self.command {
            Some(Command::Report(a)) => Some(a.bulk.priority),
            Some(Command::Trace(a)) => Some(a.bulk.priority),
            _ => None,
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Summarise log files: status codes, errors by origin, routes, upstreams, latency, correlation.
    Report(ReportArgs),
    /// Open the console on a live simulated incident (gateway + upstream logs sharing request ids).
    Demo(DemoArgs),
    /// Every record of one request (request id or trace id) across all sources, in time order.
    Trace(TraceArgs),
    /// Follow sources live (files through rotation, globs, `-`, commands, ssh://) and print each record.
    Tail(TailArgs),
    /// Write realistic gateway and upstream logs (for benchmarks, tests and demos).
    Generate(GenerateArgs),
    /// Send logged requests again (one id, one line, or a filter) and compare with what the log says happened.
    Replay(Box<ReplayArgs>),
    /// Decode and verify the JWTs in a token, a header or a log line: signature, expiry at the request's time,
    /// issuer and audience.
    Token(TokenArgs),
    /// Print a completion script for a shell, e.g. `gatewatch completions bash > /etc/bash_completion.d/gatewatch`.
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `gatewatch man | man -l -`.
    Man,
}

/// `gatewatch completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `gatewatch report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// List the formats gatewatch reads, and exit.
    #[arg(long)]
    pub list_formats: bool,
    /// The span the diagnosis compares the incident with, `FROM..TO` (`13:00..13:20`, UTC on the data's first
    /// day, or RFC 3339); default: before the first alert, else the first half.
    #[arg(long, value_name = "FROM..TO")]
    pub baseline: Option<String>,
    /// Change events (repeatable): deploys, cluster events, a change log. A value naming an existing file is read
    /// as a file; anything else is run as a shell command (`sh -c`, e.g. `kubectl get events -o wide`; a script:
    /// `sh deploys.sh`) until it ends, or for at most 10 s, after which it is stopped and what it printed so far is
    /// used. Each line with a time is a change marker, listed and tied into the diagnosis like a gateway reload.
    #[arg(long, value_name = "FILE|CMD")]
    pub markers: Vec<String>,
    /// Only the lines of --markers sources matching this regex count.
    #[arg(long, value_name = "REGEX")]
    pub marker_regex: Option<String>,
    /// Rotated files, and the host.
    #[command(flatten)]
    pub bulk: BulkArgs,
    /// Reading options.
    #[command(flatten)]
    pub input: InputArgs,
    /// Log files (`-` for standard input); their role comes from their format.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
}

/// `gatewatch trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// With an id carried by many records (a retry storm, a fixed id), show the first and last N of each source.
    #[arg(long, value_name = "N", default_value_t = crate::trace::DEFAULT_LIMIT)]
    pub limit: usize,
    /// The request id (X-Request-ID, `$request_id`, …) or W3C trace id to follow.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Rotated files, and the host.
    #[command(flatten)]
    pub bulk: BulkArgs,
    /// Reading options.
    #[command(flatten)]
    pub input: InputArgs,
    /// Log files (`-` for standard input).
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
}

/// `gatewatch tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// One JSON object per line (source, line number, parsed fields) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print only records matching this expression, e.g. `status>=500`, `id=<request id>`,
    /// `status=429 and path~^/v1`, `not level=info`.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Start with the last N lines of each file, then follow.
    #[arg(long, value_name = "N", default_value_t = 10_000, conflicts_with = "from_start")]
    pub tail: usize,
    /// How sources are followed.
    #[command(flatten)]
    pub live: LiveArgs,
    /// Reading options.
    #[command(flatten)]
    pub input: InputArgs,
    /// Files, quoted globs (`'/var/log/nginx/*.access.log'`), `-` for standard input, or
    /// `ssh://[user@]host[:port]/path`.
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,
}

/// `gatewatch replay`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("pick").required(true).args(["id", "line", "filter", "from_curl"])))]
pub struct ReplayArgs {
    /// Where to send: scheme, host, port and an optional path prefix (default: `[replay] base_url`).
    #[arg(long, value_name = "URL")]
    pub base: Option<String>,
    /// Replay the gateway record of this request id (the first, when a retry logged several).
    #[arg(long, value_name = "REQUEST_ID")]
    pub id: Option<String>,
    /// Replay line N of the single SOURCE.
    #[arg(long, value_name = "N")]
    pub line: Option<u64>,
    /// Replay every record the filter matches (the console's syntax), oldest first.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Replay a curl command line instead of a logged record.
    #[arg(long, value_name = "CMD")]
    pub from_curl: Option<String>,
    /// An extra header, `Name: value` (repeatable).
    #[arg(long, value_name = "HEADER")]
    pub header: Vec<String>,
    /// The request body, from a file (`-` = standard input); logs do not carry bodies.
    #[arg(long, value_name = "FILE")]
    pub body: Option<String>,
    /// Send the logged request id instead of a fresh one.
    #[arg(long)]
    pub keep_id: bool,
    /// The Host header to send instead of the logged host.
    #[arg(long, value_name = "HOST")]
    pub base_host: Option<String>,
    /// Timeout of each attempt, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// Retries on connection errors, timeouts, 429, 502, 503, 504 (default: 2 for idempotent methods, else 0).
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    /// The longest wait between attempts, in seconds; a longer Retry-After is not waited out.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub max_backoff: f64,
    /// Follow redirects, to the same host only.
    #[arg(long)]
    pub follow_redirects: bool,
    /// Send methods that are not idempotent (POST, PATCH, …).
    #[arg(long)]
    pub allow_unsafe: bool,
    /// Show what would be sent, and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print each request as a curl command line instead of sending it.
    #[arg(long)]
    pub curl: bool,
    /// Show secret header values (Authorization, cookies, API keys) instead of redacting them.
    #[arg(long)]
    pub show_secrets: bool,
    /// Send straight to the upstream the record logged ($upstream_addr, Envoy's upstream host), skipping the
    /// gateway; the logged Host stays the name (SNI, certificate check).
    #[arg(long, conflicts_with_all = ["both", "from_curl"])]
    pub to_upstream: bool,
    /// Send through the gateway (--base) and straight to the upstream, and show both beside the logged outcome.
    #[arg(long, conflicts_with = "from_curl")]
    pub both: bool,
    /// With --to-upstream or --both: the Nth upstream attempt the record logged (default: the last).
    #[arg(long, value_name = "N")]
    pub attempt: Option<usize>,
    /// The scheme upstreams are reached with, http or https (default: https with TLS flags, else the base's).
    #[arg(long, value_name = "SCHEME")]
    pub upstream_scheme: Option<String>,
    /// Connect to ADDR:PORT when the URL names HOST:PORT (curl's --connect-to): the URL keeps the name, so SNI
    /// and the certificate check use it (repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR:PORT")]
    pub connect_to: Vec<String>,
    /// Resolve HOST on PORT to ADDR (curl's --resolve; repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// The CAs to verify the server with, a PEM bundle (instead of the system's).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<String>,
    /// A client certificate, PEM (its key in it, or in --key).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<String>,
    /// The client certificate's private key, PEM.
    #[arg(long, value_name = "FILE")]
    pub key: Option<String>,
    /// The name to check the certificate against and send as SNI, instead of the URL's host.
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// Accept any certificate: nothing then says who answered (flagged on every result).
    #[arg(long)]
    pub insecure: bool,
    /// With --filter: replay at most N records.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max: usize,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Requests started per second at most.
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
    /// Consecutive failed replays (5xx or no response) that open the circuit breaker (0 = never).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub break_after: u32,
    /// Seconds the circuit stays open before one probe (0 = it stays open).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub break_cooldown: f64,
    /// One JSON object per request, then a summary object.
    #[arg(long)]
    pub json: bool,
    /// Reading options.
    #[command(flatten)]
    pub input: InputArgs,
    /// Log files (`-` for standard input).
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,
}

/// `gatewatch token`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("keys").args(["secret", "secret_file", "secret_base64", "key", "jwks", "discover"])))]
pub struct TokenArgs {
    /// The token, or text holding tokens (a log line, an `Authorization: Bearer …` header); `-` or nothing reads
    /// standard input.
    #[arg(value_name = "TOKEN")]
    pub token: Option<String>,
    /// The HMAC secret, as text.
    #[arg(long, value_name = "TEXT")]
    pub secret: Option<String>,
    /// The HMAC secret, from a file (a trailing line end is dropped).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<String>,
    /// The HMAC secret as base64 or base64url (a JWK's `k`).
    #[arg(long, value_name = "TEXT")]
    pub secret_base64: Option<String>,
    /// A PEM public key or X.509 certificate (RSA, EC P-256/P-384, Ed25519).
    #[arg(long, value_name = "FILE")]
    pub key: Option<String>,
    /// A JWK Set, from a file or an https URL; the key is chosen by `kid`, else by type and algorithm.
    #[arg(long, value_name = "FILE_OR_URL")]
    pub jwks: Option<String>,
    /// Fetch the issuer's JWK Set through OpenID discovery (`{iss}/.well-known/openid-configuration`).
    #[arg(long)]
    pub discover: bool,
    /// The issuer expected (repeatable: any of them).
    #[arg(long, value_name = "ISSUER")]
    pub iss: Vec<String>,
    /// The audience expected (repeatable: any of them).
    #[arg(long, value_name = "AUDIENCE")]
    pub aud: Vec<String>,
    /// Seconds of clock difference forgiven on exp, nbf and iat.
    #[arg(long, value_name = "SECONDS")]
    pub leeway: Option<i64>,
    /// Judge the times at this instant instead of now (RFC 3339, or seconds since the epoch).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// One JSON object per token.
    #[arg(long)]
    pub json: bool,
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
}

/// `gatewatch demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Write the simulated logs here and keep them (default: a temporary directory, removed after).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print the report on ten simulated minutes instead of opening the console (also when not on a terminal).
    #[arg(long)]
    pub report: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Colour theme for the console.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Simulated requests per second in the live console.
    #[arg(long, default_value_t = 40.0)]
    pub rate: f64,
    /// Seed for the simulation.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Change markers on the live console's charts.
    #[command(flatten)]
    pub markers: MarkerArgs,
}

/// `gatewatch generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Gateway log format to write.
    #[arg(long, default_value = "nginx")]
    pub format: String,
    /// Upstream log format to write (json, logfmt, plain).
    #[arg(long, default_value = "json")]
    pub upstream_format: String,
    /// Number of gateway requests.
    #[arg(long, default_value_t = 10_000)]
    pub requests: u64,
    /// Requests per second of log time.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Status mix, e.g. `200=90,404=3,429=2,500=1,502=2,504=1,401=1` (weights; default: a healthy gateway).
    #[arg(long)]
    pub mix: Option<String>,
    /// Add an incident (502/504 burst, expired-token 401s, 429s) over the middle third.
    #[arg(long)]
    pub incident: bool,
    /// Generate an incident shape instead: `outage-trickle` = two minutes healthy, two minutes of 502s, then six
    /// minutes of 0.1 requests/s, all 502 (it sets the number of requests); `slow-upstream` = no errors, and from
    /// a third of the way in one upstream (10.0.0.8:8080) answers in about 2.6 s; `slow-connect` = the same, but
    /// the time goes to connecting to it (1.5–2.5 s), and nginx lines carry `uct=` and `uht=`.
    #[arg(long, value_enum)]
    pub scenario: Option<crate::generate::Scenario>,
    /// Log time of the first request (RFC 3339; default: 2024-05-01T12:00:00Z).
    #[arg(long)]
    pub start: Option<String>,
    /// Seed, for reproducible output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the gateway log (`-` = stdout).
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub gateway_out: String,
    /// Where to write the upstream log (omit to write none).
    #[arg(long, value_name = "FILE")]
    pub upstream_out: Option<String>,
}
