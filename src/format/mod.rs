//! Log formats: one module per family, detection, and the `Parser` that dispatches to them.

pub mod continuation;
pub mod detect;
pub mod envelope;
pub mod jsonval;
pub(crate) mod marks;
pub mod num;
pub mod options;
pub mod textscan;
pub mod time;
pub mod writers;

pub mod apache;
pub mod aws;
pub mod envoy;
pub mod envoy_debug;
pub mod haproxy;
mod haproxy_fields;
pub mod haproxy_format;
pub mod kong;
pub mod nginx;
pub mod nginx_error;
pub mod nginx_format;
pub mod pretty_json;
pub mod summary;
pub mod traefik;

pub mod app_json;
pub mod logfmt;
pub mod plain;

use std::sync::Arc;

use crate::record::{Record, Role};

pub use options::ParseOptions;

/// A log format family.
#[derive(Clone, Debug)]
pub enum Format {
    /// nginx `combined`, with any `key=value` extras appended.
    Nginx,
    /// ingress-nginx `upstreaminfo`.
    IngressNginx,
    /// A user's nginx `log_format`, compiled.
    NginxCustom(Arc<nginx_format::NginxFormat>),
    /// A user's HAProxy `log-format`, compiled.
    HaproxyCustom(Arc<haproxy_format::HaproxyFormat>),
    /// Apache `combined` (+ `%D`, `%{UNIQUE_ID}e`).
    Apache,
    /// Envoy / Istio default text access log.
    Envoy,
    /// Envoy JSON access log.
    EnvoyJson,
    /// Kong file-log plugin JSON.
    Kong,
    /// AWS API Gateway access log, CLF template.
    AwsClf,
    /// AWS API Gateway access log, JSON template.
    AwsJson,
    /// Traefik access log: JSON or `common`.
    Traefik,
    /// HAProxy `option httplog`, `option httpslog`, `option tcplog` and `option httplog clf`.
    Haproxy,
    /// Application JSON lines (pino, bunyan, zap, logrus, structlog, slog, serilog).
    Json,
    /// logfmt `key=value` lines.
    Logfmt,
    /// Free text with a request id somewhere in it.
    Plain,
}

impl Format {
    /// Every built-in format, most specific first (detection order and tie-break).
    pub fn builtin() -> Vec<Format> {
        vec![
            Format::Kong,
            Format::Traefik,
            Format::AwsJson,
            Format::EnvoyJson,
            Format::IngressNginx,
            Format::Nginx,
            Format::Apache,
            Format::AwsClf,
            Format::Haproxy,
            Format::Envoy,
            Format::Json,
            Format::Logfmt,
            Format::Plain,
        ]
    }

    /// The name used on the command line and in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Nginx => "nginx",
            Format::IngressNginx => "ingress-nginx",
            Format::NginxCustom(_) => "nginx-custom",
            Format::HaproxyCustom(_) => "haproxy-custom",
            Format::Apache => "apache",
            Format::Envoy => "envoy",
            Format::EnvoyJson => "envoy-json",
            Format::Kong => "kong",
            Format::AwsClf => "aws-clf",
            Format::AwsJson => "aws-json",
            Format::Traefik => "traefik",
            Format::Haproxy => "haproxy",
            Format::Json => "json",
            Format::Logfmt => "logfmt",
            Format::Plain => "plain",
        }
    }

    /// One line on what the format is, for `--list-formats`.
    pub fn description(&self) -> &'static str {
        match self {
            Format::Nginx => "nginx combined (+ key=value extras such as rid= rt= urt= us= ua=)",
            Format::IngressNginx => "ingress-nginx upstreaminfo",
            Format::NginxCustom(_) => "your own nginx log_format: --nginx-format '<log_format>'",
            Format::HaproxyCustom(_) => "your own HAProxy log-format: --haproxy-format '<log-format>'",
            Format::Apache => "Apache combined (+ %D, %{UNIQUE_ID}e)",
            Format::Envoy => "Envoy / Istio default text access log",
            Format::EnvoyJson => "Envoy / Istio JSON access log",
            Format::Kong => "Kong file-log plugin JSON",
            Format::AwsClf => "AWS API Gateway access log, CLF template",
            Format::AwsJson => "AWS API Gateway access log, JSON template",
            Format::Traefik => "Traefik access log: JSON, or the default `common` format",
            Format::Haproxy => "HAProxy option httplog / httpslog / tcplog / httplog clf (syslog header or none)",
            Format::Json => "JSON lines: pino, bunyan, zap, logrus, structlog, slog, serilog, ECS",
            Format::Logfmt => "logfmt key=value lines",
            Format::Plain => "free text with a UUID / 32-hex request id (nginx error log too)",
        }
    }

    /// Look a format up by its name (`--format NAME`).
    pub fn from_name(name: &str) -> Option<Format> {
        let name = name.trim().to_ascii_lowercase();
        let alias = match name.as_str() {
            "combined" | "nginx-combined" => "nginx",
            "ingress" | "upstreaminfo" => "ingress-nginx",
            "istio" => "envoy",
            "httpd" | "apache-combined" => "apache",
            "aws" | "apigateway" => "aws-json",
            "jsonl" | "ndjson" => "json",
            "text" => "plain",
            other => other,
        };
        Format::builtin().into_iter().find(|f| f.name() == alias)
    }

    /// The role a source of this format plays unless the user says otherwise.
    pub fn role(&self) -> Role {
        match self {
            Format::Json | Format::Logfmt | Format::Plain => Role::Upstream,
            _ => Role::Gateway,
        }
    }

    /// Parse one line (no trailing newline). `None` when the line does not fit this format.
    pub fn parse<'a>(&self, line: &'a [u8], opts: &ParseOptions) -> Option<Record<'a>> {
        match self {
            Format::Nginx => nginx::parse(line),
            Format::IngressNginx => nginx::parse_ingress(line),
            Format::NginxCustom(f) => f.parse(line),
            Format::HaproxyCustom(f) => f.parse(line),
            Format::Apache => apache::parse(line),
            Format::Envoy => envoy::parse_text(line),
            Format::EnvoyJson => envoy::parse_json(line),
            Format::Kong => kong::parse(line),
            Format::AwsClf => aws::parse_clf(line),
            Format::AwsJson => aws::parse_json(line),
            Format::Traefik => traefik::parse(line),
            Format::Haproxy => haproxy::parse(line),
            Format::Json => app_json::parse(line, opts),
            Format::Logfmt => logfmt::parse(line, opts),
            Format::Plain => plain::parse(line, opts),
        }
    }
}

/// A source's parser: its format, an optional envelope around each line, and the options.
#[derive(Clone, Debug)]
pub struct Parser {
    /// The format of the (unwrapped) lines.
    pub format: Format,
    /// A wrapper around every line (docker/Kubernetes JSON, CRI prefix), if any.
    pub envelope: Option<envelope::Envelope>,
    /// Id fields and regex.
    pub options: Arc<ParseOptions>,
    /// The other formats, tried on a line this one does not read (a file that mixes formats).
    pub fallback: Option<Arc<Fallback>>,
    /// The source's records are pretty-printed JSON objects over many lines: its readers join them first
    /// ([`pretty_json::Joiner`]).
    pub pretty_json: bool,
}

/// The formats tried, in turn, on a line its source's own format does not read; the one that read the last such
/// line goes first (a mixed file usually has two or three shapes).
#[derive(Debug)]
pub struct Fallback {
    parsers: Vec<Parser>,
    last: std::sync::atomic::AtomicUsize,
}

impl Fallback {
    fn parse<'a>(&self, line: &'a [u8]) -> Option<Record<'a>> {
        use std::sync::atomic::Ordering::Relaxed;
        let last = self.last.load(Relaxed);
        // the one that read the last such line, then all in order (the catch-all text formats come last)
        let order = std::iter::once(last).chain((0..self.parsers.len()).filter(|&i| i != last));
        order.filter(|&i| i < self.parsers.len()).find_map(|i| {
            // a line that only free text would take, with neither time nor status, stays unparsed
            let rec = self.parsers[i].parse(line).filter(|r| r.time.is_some() || r.status.is_some())?;
            // a catch-all is not remembered: it would take the next access line of another shape too
            if !matches!(self.parsers[i].format, Format::Plain | Format::Json | Format::Logfmt) {
                self.last.store(i, Relaxed);
            }
            Some(rec)
        })
    }
}

impl Parser {
    /// A parser for a known format with no envelope.
    pub fn new(format: Format, options: Arc<ParseOptions>) -> Self {
        Parser { format, envelope: None, options, fallback: None, pretty_json: false }
    }

    /// This parser, with every other format (`extra` first, then the built-in ones) to fall back on per line.
    pub fn with_fallback(mut self, extra: &[Format]) -> Self {
        let parsers = extra
            .iter()
            .cloned()
            .chain(Format::builtin())
            .filter(|f| f.name() != self.format.name())
            .map(|f| Parser::new(f, self.options.clone()))
            .collect();
        // nothing remembered yet: past the end, so the list's order decides
        self.fallback = Some(Arc::new(Fallback { parsers, last: std::sync::atomic::AtomicUsize::new(usize::MAX) }));
        self
    }

    /// Parse one line, as [`trim_line`] leaves it (every reader trims a line once, where it cuts it out);
    /// `None` when it does not fit (the caller counts it as unparsed and keeps it).
    pub fn parse<'a>(&self, line: &'a [u8]) -> Option<Record<'a>> {
        let own = match &self.envelope {
            None => self.format.parse(line, &self.options),
            Some(env) => env.unwrap(line).and_then(|inner| {
                let rec = self.format.parse(inner.line.as_ref(), &self.options)?.into_owned();
                Some(inner.complete(rec))
            }),
        };
        match (own, &self.fallback) {
            (Some(rec), _) => Some(rec),
            (None, Some(f)) => f.parse(line),
            (None, None) => None,
        }
    }

    /// What summaries read of a line (trimmed, as for [`Parser::parse`]), straight from its bytes, for formats with
    /// such a fast path; `None` means "use [`Parser::parse`]" (it is not a verdict on the line).
    pub fn fast_summary<'a>(&self, line: &'a [u8]) -> Option<crate::format::summary::Summary<'a>> {
        match (&self.envelope, &self.format) {
            (None, Format::Nginx) => nginx::summarize(line),
            _ => None,
        }
    }

    /// A display name such as `nginx` or `docker+nginx`.
    pub fn describe(&self) -> String {
        match &self.envelope {
            None => self.format.name().to_string(),
            Some(e) => format!("{}+{}", e.name(), self.format.name()),
        }
    }
}

/// Drop a trailing `\r` (CRLF files) and a leading UTF-8 byte-order mark (files saved by Windows tools, and
/// every file joined after one with `cat`).
#[inline]
pub fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line {
        [0xEF, 0xBB, 0xBF, rest @ ..] => rest,
        _ => line,
    }
}
