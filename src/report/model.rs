//! The report: what is failing, where, since when — built from scanned sources, serialised as JSON.

use std::collections::BTreeMap;

use serde::Serialize;

pub use super::breakdown::Spread;
use super::breakdown::{Breakdowns, Measure, Spans, StatusTrend, TopTalkers, Trend, key_rows, rank, run_rows};
use super::source::ScannedSource;
use crate::record::{LogTime, Role};
use crate::stats::keyed::{KeySeries, Keyed};
use crate::stats::keys::{Correlation, IdKeys, correlate};
use crate::stats::latency::LatencyHistogram;
use crate::stats::runs::KeyRuns;
use crate::stats::tally::{MinuteStat, Phases, Tally};
use crate::stats::timeline::Series;

/// How many routes and upstream addresses the report lists.
pub const TOP: usize = 10;
/// At most this many minutes are listed in the error-rate series (the most recent ones).
pub const MAX_MINUTES: usize = 10_080;

/// One unparsed line, by number.
#[derive(Clone, Debug, Serialize)]
pub struct UnparsedExample {
    /// 1-based line number.
    pub line: u64,
    /// The start of the line, control characters escaped.
    pub text: String,
}

/// Per-source summary.
#[derive(Clone, Debug, Serialize)]
pub struct SourceSummary {
    /// Path as given.
    pub path: String,
    /// Detected (or forced) format, e.g. `nginx`, `docker+envoy`.
    pub format: String,
    /// `gateway` or `upstream`.
    pub role: Role,
    /// Lines read, blank ones included.
    pub lines: u64,
    /// Lines parsed.
    pub parsed: u64,
    /// Non-blank lines that did not parse.
    pub unparsed: u64,
    /// Lines that continue the record before them (a stack trace's), neither records nor unparsed.
    pub continuation: u64,
    /// Blank lines.
    pub blank: u64,
    /// Parsed records that are requests (have a status).
    pub requests: u64,
    /// Earliest timestamp, RFC 3339 UTC.
    pub first: Option<String>,
    /// Latest timestamp, RFC 3339 UTC.
    pub last: Option<String>,
    /// Count per status code.
    pub status: BTreeMap<String, u64>,
    /// Count per status class.
    pub classes: BTreeMap<String, u64>,
    /// Count per level, for application logs.
    pub levels: BTreeMap<String, u64>,
    /// The first few unparsed lines.
    pub unparsed_examples: Vec<UnparsedExample>,
}

/// Error responses split by who produced them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ErrorOrigins {
    /// 4xx/5xx the gateway produced itself (no upstream status, or a different one), per code.
    pub gateway: BTreeMap<String, u64>,
    /// 4xx/5xx the upstream returned and the gateway passed on, per code.
    pub upstream: BTreeMap<String, u64>,
    /// Sum of `gateway`.
    pub gateway_total: u64,
    /// Sum of `upstream`.
    pub upstream_total: u64,
    /// Requests that logged anything of an upstream (status, time or address). With none, the log's format
    /// cannot tell who produced an error, and every error counts as the gateway's.
    pub upstream_logged: u64,
}

pub use super::breakdown::{RouteRow, UpstreamRow};
pub use super::findings::SlowFinding;

/// Percentiles of a latency distribution, in milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// How many durations.
    pub count: u64,
}

impl Percentiles {
    fn of(h: &LatencyHistogram) -> Self {
        let ms = |us: Option<u64>| us.map(|v| (v as f64 / 1000.0 * 1000.0).round() / 1000.0);
        Percentiles {
            p50: ms(h.quantile(0.50)),
            p95: ms(h.quantile(0.95)),
            p99: ms(h.quantile(0.99)),
            max: ms((h.count() > 0).then(|| h.max())),
            count: h.count(),
        }
    }
}

/// Latency overall, per status class, and spent in upstreams.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LatencyReport {
    /// Overall percentiles (flattened: `p50`, `p95`, `p99`, `max`, `count`).
    #[serde(flatten)]
    pub overall: Percentiles,
    /// Per status class (`2xx`, `5xx`, …).
    pub by_class: BTreeMap<String, Percentiles>,
    /// Time spent in upstreams, as the gateway measured it.
    pub upstream: Percentiles,
}

/// Requests and errors in one minute.
#[derive(Clone, Debug, Serialize)]
pub struct MinuteRow {
    /// Start of the minute, RFC 3339 UTC.
    pub minute: String,
    /// Requests.
    pub requests: u64,
    /// 4xx.
    pub client_errors: u64,
    /// 5xx.
    pub server_errors: u64,
    /// 5xx / requests (0 when there were none).
    pub error_rate: f64,
}

/// A stretch of time during which an alert rule held.
#[derive(Clone, Debug, Serialize)]
pub struct AlertRow {
    /// The rule (its text, or its name from the config).
    pub rule: String,
    /// When it started to hold: the end of the first window over the limit, RFC 3339 UTC.
    pub start: String,
    /// The same, in epoch seconds (for the comparison and the findings, not the JSON).
    #[serde(skip)]
    pub start_s: i64,
    /// When it stopped holding; `null` when it still held at the end of the data.
    pub end: Option<String>,
    /// How long it held, seconds (up to the end of the data when it had not cleared).
    pub seconds: i64,
    /// The worst value: a ratio (0..1), a count, or milliseconds for latency rules.
    pub peak: f64,
    /// The worst value for people: `23.4%`, `61`, `2.40s`.
    pub peak_text: String,
    /// When it still held at the end: since when its windows held too few requests to judge (traffic fell away
    /// and the verdict before holds), RFC 3339 UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low_volume_since: Option<String>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// One entry per source that could be read.
    pub sources: Vec<SourceSummary>,
    /// Which sources the combined figures cover: `gateway`, or `all` when no source is a gateway.
    pub scope: &'static str,
    /// Earliest timestamp of the scope.
    pub first: Option<String>,
    /// Latest timestamp of the scope.
    pub last: Option<String>,
    /// Requests in the scope.
    pub requests: u64,
    /// Count per status code.
    pub status: BTreeMap<String, u64>,
    /// Count per status class, `1xx` … `5xx` always present.
    pub classes: BTreeMap<String, u64>,
    /// Errors by who produced them.
    pub errors: ErrorOrigins,
    /// Routes with the most errors.
    pub routes: Vec<RouteRow>,
    /// Upstream addresses with the most attempts.
    pub upstreams: Vec<UpstreamRow>,
    /// Latency percentiles in milliseconds.
    pub latency_ms: LatencyReport,
    /// Gateway ↔ upstream correlation by request / trace id.
    pub correlation: Correlation,
    /// Requests and errors per minute over the covered span (gaps filled with zeros).
    pub error_rate_per_minute: Vec<MinuteRow>,
    /// The playbook for every error status present: cause, evidence, first check, fix.
    pub diagnosis: Vec<crate::diagnose::Diagnosis>,
    /// Routes by p99 latency, slowest first (those with at least 20 timed requests).
    pub slow_routes: Vec<RouteRow>,
    /// An upstream or route far slower than its peers: a latency incident without errors.
    pub latency_findings: Vec<SlowFinding>,
    /// Every time an alert rule held over the covered span, in order of start.
    pub alerts: Vec<AlertRow>,
    /// Lines that announced a change (reloads, cluster or listener changes, starts), in time order.
    pub markers: Vec<MarkerRow>,
    /// The spans the diagnosis compares ("what changed?"), when the data allows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// Every status code before → now, what rose most first (with a comparison only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status_change: Vec<StatusTrend>,
    /// Requests by virtual host, node, client, user agent and consumer.
    pub breakdowns: Breakdowns,
    /// The client addresses that sent the most, and got the most errors.
    pub top_talkers: TopTalkers,
}

/// The changes a marker source announces: each line with a time whose text `matches` (all when `None`), as a
/// marker of kind `change`; `name` is the source as named.
pub fn read_markers(
    name: &str,
    data: &[u8],
    opts: &crate::input::ScanOptions,
    matches: Option<&regex::Regex>,
) -> Vec<(i64, MarkerRow)> {
    let parser = crate::input::choose_parser(data, opts);
    let mut out = Vec::new();
    crate::scan::for_each_line(data, |_, line| {
        if out.len() >= crate::markers::MAX_MARKERS {
            return;
        }
        let line = crate::format::trim_line(line);
        let Some(rec) = parser.parse(line) else { return };
        // a line without a time of its own cannot be placed: the report has no time of arrival to give it
        let Some((Some(t), text)) = crate::markers::change_of(Some(&rec), line, matches) else { return };
        let time = crate::record::LogTime::from_unix_us(t).to_rfc3339_utc();
        out.push((t, MarkerRow { time, source: name.to_string(), kind: "change", text }));
    });
    out
}

/// A line that announced a change.
#[derive(Clone, Debug, Serialize)]
pub struct MarkerRow {
    /// When, RFC 3339 UTC.
    pub time: String,
    /// The source it was read from.
    pub source: String,
    /// `gateway reload`, `ingress reload`, `Envoy cluster change`, `Envoy listener change`, `config reload`,
    /// `deploy`, `service start`; `change` for a line of a marker source (`--markers`).
    pub kind: &'static str,
    /// The line's message.
    pub text: String,
}

/// A baseline span and the incident window it is compared with.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Baseline start, RFC 3339 UTC.
    pub baseline_from: String,
    /// Baseline end (exclusive).
    pub baseline_to: String,
    /// Incident window start.
    pub window_from: String,
    /// Incident window end (exclusive).
    pub window_to: String,
    /// How the baseline was chosen: `before the first alert`, `the first half`, or `--baseline`.
    pub how: &'static str,
    /// The baseline in epoch seconds (end exclusive), for what is worked out from it after.
    #[serde(skip)]
    pub baseline_s: (i64, i64),
}

fn code_map(codes: &[u64; 1000]) -> BTreeMap<String, u64> {
    codes.iter().enumerate().filter(|(_, n)| **n > 0).map(|(c, n)| (c.to_string(), *n)).collect()
}

fn class_map(codes: &[u64; 1000]) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = (1..=5).map(|c| (format!("{c}xx"), 0)).collect();
    for (c, n) in codes.iter().enumerate().filter(|(_, n)| **n > 0) {
        *m.entry(format!("{}xx", c / 100)).or_default() += n;
    }
    m
}

fn time_text(t: Option<LogTime>) -> Option<String> {
    t.map(LogTime::to_rfc3339_utc)
}

fn summarize(s: &ScannedSource) -> SourceSummary {
    let t = &s.tally;
    let levels = [
        crate::record::Level::Trace,
        crate::record::Level::Debug,
        crate::record::Level::Info,
        crate::record::Level::Warn,
        crate::record::Level::Error,
        crate::record::Level::Fatal,
    ]
    .into_iter()
    .filter(|l| t.levels[*l as usize] > 0)
    .map(|l| (l.name().to_string(), t.levels[l as usize]))
    .collect();
    SourceSummary {
        path: s.path.clone(),
        format: s.parser.describe(),
        role: s.role,
        lines: t.lines,
        parsed: t.parsed,
        unparsed: t.unparsed,
        continuation: t.continuation,
        blank: t.blank,
        requests: t.requests(),
        first: time_text(t.first),
        last: time_text(t.last),
        status: code_map(&t.status),
        classes: class_map(&t.status),
        levels,
        unparsed_examples: t
            .unparsed_examples
            .iter()
            .zip(&s.unparsed_lines)
            .map(|(u, &line)| UnparsedExample { line, text: u.start.clone() })
            .collect(),
    }
}

/// The figures combined over several tallies.
struct Combined {
    status: [u64; 1000],
    gateway_made: [u64; 1000],
    upstream_logged: u64,
    latency: LatencyHistogram,
    by_class: [LatencyHistogram; 5],
    upstream: LatencyHistogram,
    routes: BTreeMap<String, KeySeries>,
    addrs: BTreeMap<String, KeySeries>,
    phases: BTreeMap<String, Phases>,
    hosts: BTreeMap<String, KeySeries>,
    clients: BTreeMap<String, KeyRuns>,
    user_agents: BTreeMap<String, KeyRuns>,
    consumers: BTreeMap<String, KeyRuns>,
    minutes: BTreeMap<i64, MinuteStat>,
    first: Option<LogTime>,
    last: Option<LogTime>,
}

fn combine<'a>(tallies: impl Iterator<Item = &'a Tally>) -> Combined {
    let mut c = Combined {
        status: [0; 1000],
        gateway_made: [0; 1000],
        upstream_logged: 0,
        latency: LatencyHistogram::default(),
        by_class: Default::default(),
        upstream: LatencyHistogram::default(),
        routes: BTreeMap::new(),
        addrs: BTreeMap::new(),
        phases: BTreeMap::new(),
        hosts: BTreeMap::new(),
        clients: BTreeMap::new(),
        user_agents: BTreeMap::new(),
        consumers: BTreeMap::new(),
        minutes: BTreeMap::new(),
        first: None,
        last: None,
    };
    for t in tallies {
        c.status.iter_mut().zip(t.status.iter()).for_each(|(a, b)| *a += b);
        c.gateway_made.iter_mut().zip(t.gateway_made.iter()).for_each(|(a, b)| *a += b);
        c.upstream_logged += t.upstream_logged;
        c.latency.merge(&t.latency);
        c.by_class.iter_mut().zip(&t.latency_by_class).for_each(|(a, b)| a.merge(b));
        c.upstream.merge(&t.upstream_latency);
        for (all, keyed) in [(&mut c.routes, &t.routes), (&mut c.addrs, &t.addrs), (&mut c.hosts, &t.hosts)] {
            by_name(all, keyed);
        }
        for (all, keyed) in
            [(&mut c.clients, &t.clients), (&mut c.user_agents, &t.user_agents), (&mut c.consumers, &t.consumers)]
        {
            for kr in keyed.keys.values() {
                all.entry(kr.name.clone()).or_insert_with(|| KeyRuns::named(kr.name.clone())).absorb(kr);
            }
        }
        for (k, ph) in &t.phases {
            if let Some(a) = t.addrs.keys.get(k) {
                c.phases.entry(a.name.clone()).or_default().absorb(ph);
            }
        }
        for (m, s) in &t.minutes {
            c.minutes.entry(*m).or_default().absorb(s);
        }
        c.first = [c.first, t.first].into_iter().flatten().min_by_key(|t| t.unix_us);
        c.last = [c.last, t.last].into_iter().flatten().max_by_key(|t| t.unix_us);
    }
    for keys in [&mut c.routes, &mut c.addrs, &mut c.hosts] {
        keys.values_mut().for_each(KeySeries::settle);
    }
    c
}

/// Add a dimension's keys to `all`, by name.
fn by_name(all: &mut BTreeMap<String, KeySeries>, keyed: &Keyed) {
    for ks in keyed.keys.values() {
        match all.get_mut(&ks.name) {
            Some(k) => k.absorb(ks),
            None => {
                all.insert(ks.name.clone(), ks.clone());
            }
        }
    }
}

use super::findings::MIN_TIMED;

/// Timelines summed into one.
fn merged<'a>(timelines: impl Iterator<Item = &'a Series>) -> Option<Series> {
    let mut all: Option<Series> = None;
    for t in timelines {
        match &mut all {
            Some(a) => a.merge(t),
            None => all = Some(t.clone()),
        }
    }
    all
}

/// An epoch second as RFC 3339 UTC.
fn at(s: i64) -> String {
    jiff::Timestamp::from_second(s).map_or_else(|_| "-".to_string(), |t| t.to_string())
}

use crate::diagnose::MIN_COMPARED_S;

/// Pick the baseline and the incident window, and rank the diagnosis by what changed between them.
fn compare(
    series: &Series,
    alerts: &[AlertRow],
    baseline: Option<super::baseline::Baseline>,
    diagnosis: &mut [crate::diagnose::Diagnosis],
) -> Option<(Comparison, Spans)> {
    let (first, end) = series.span()?;
    let baseline = baseline.and_then(|b| b.resolve(first).ok());
    let first_alert = alerts.iter().map(|a| a.start_s).min();
    let (base, how) = match (baseline, first_alert) {
        (Some(b), _) => (b, "--baseline"),
        (None, Some(a)) if a - first >= MIN_COMPARED_S && end - a >= MIN_COMPARED_S => {
            ((first, a), "before the first alert")
        }
        _ => ((first, first + (end - first) / 2), "the first half"),
    };
    let window = (base.1.max(first), end);
    // too little on either side to say what changed
    let short = |(a, b): (i64, i64)| b - a < MIN_COMPARED_S;
    if short(base) || short(window) {
        return None;
    }
    let (before, now) = (series.total(base.0, base.1), series.total(window.0, window.1));
    let count = |status: u16, baseline: bool| (if baseline { &before } else { &now }).count_codes(status, status);
    let since = at(base.0);
    let hhmm = since.get(11..16).unwrap_or(&since).to_string();
    crate::diagnose::rank_by_change(diagnosis, count, (base.1 - base.0, window.1 - window.0), &hhmm);
    let c = Comparison {
        baseline_from: since,
        baseline_to: at(base.1),
        window_from: at(window.0),
        window_to: at(window.1),
        how,
        baseline_s: base,
    };
    Some((c, Spans { base, window, since: hhmm }))
}

/// Name the change that came just before each family rose (see [`crate::markers::tie_to_changes`]).
fn tie_to_markers(
    series: &Series,
    c: &Comparison,
    markers: &[(i64, MarkerRow)],
    diagnosis: &mut [crate::diagnose::Diagnosis],
) {
    let changes: Vec<crate::markers::Change<'_>> = markers
        .iter()
        .map(|(t, m)| crate::markers::Change { unix_us: *t, kind: m.kind, source: &m.source, text: &m.text })
        .collect();
    let clock = |s: i64| at(s).get(11..19).map_or_else(|| at(s), str::to_string);
    crate::markers::tie_to_changes(series, c.baseline_s, &changes, clock, diagnosis);
}

fn alert_rows(series: &Series, rules: &[crate::alerts::Rule]) -> Vec<AlertRow> {
    let Some((from, to)) = series.span() else {
        return Vec::new();
    };
    let mut rows: Vec<AlertRow> = rules
        .iter()
        .flat_map(|r| crate::alerts::episodes(series, r, from, to, false).into_iter().map(move |e| (r, e)))
        .map(|(r, e)| AlertRow {
            rule: e.rule,
            start: at(e.start),
            start_s: e.start,
            end: e.end.map(at),
            seconds: e.end.unwrap_or(to) - e.start,
            peak: match r.measure {
                crate::alerts::Measure::Latency { .. } => e.peak / 1000.0,
                _ => e.peak,
            },
            peak_text: e.peak_text,
            low_volume_since: e.low_volume_since.map(at),
        })
        .collect();
    rows.sort_by(|a, b| a.start.cmp(&b.start).then(a.rule.cmp(&b.rule)));
    rows
}

fn minute_rows(minutes: &BTreeMap<i64, MinuteStat>) -> Vec<MinuteRow> {
    let (Some(&lo), Some(&hi)) = (minutes.keys().next(), minutes.keys().next_back()) else {
        return Vec::new();
    };
    let lo = lo.max(hi - MAX_MINUTES as i64 + 1);
    (lo..=hi)
        .map(|m| {
            let s = minutes.get(&m).copied().unwrap_or_default();
            MinuteRow {
                minute: LogTime::from_unix_us(m * 60_000_000).to_rfc3339_utc(),
                requests: s.requests,
                client_errors: s.client_errors,
                server_errors: s.server_errors,
                error_rate: if s.requests == 0 {
                    0.0
                } else {
                    (s.server_errors as f64 / s.requests as f64 * 10_000.0).round() / 10_000.0
                },
            }
        })
        .collect()
}

impl Report {
    /// Build the report from scanned sources (their id keys are consumed for correlation). `baseline` is what
    /// the diagnosis compares the rest with; by default the span before the first alert, else the first half.
    /// `extra_markers` (µs since the epoch, row) are changes read from marker sources (`--markers`).
    pub fn build(
        mut sources: Vec<ScannedSource>,
        rules: &[crate::alerts::Rule],
        baseline: Option<super::baseline::Baseline>,
        extra_markers: Vec<(i64, MarkerRow)>,
    ) -> Report {
        let summaries: Vec<SourceSummary> = sources.iter().map(summarize).collect();
        let any_gateway = sources.iter().any(|s| s.role == Role::Gateway);
        let in_scope = |s: &&ScannedSource| !any_gateway || s.role == Role::Gateway;
        let c = combine(sources.iter().filter(in_scope).map(|s| &s.tally));

        let mut errors = ErrorOrigins { upstream_logged: c.upstream_logged, ..ErrorOrigins::default() };
        for code in 400..1000 {
            let (all, made) = (c.status[code], c.gateway_made[code]);
            if made > 0 {
                errors.gateway.insert(code.to_string(), made);
                errors.gateway_total += made;
            }
            if all > made {
                errors.upstream.insert(code.to_string(), all - made);
                errors.upstream_total += all - made;
            }
        }

        let mut gw_keys = IdKeys::default();
        let mut up_keys = IdKeys::default();
        for s in &mut sources {
            let keys = std::mem::take(&mut s.tally.keys);
            match s.role {
                Role::Gateway => gw_keys.merge(keys),
                Role::Upstream => up_keys.merge(keys),
            }
        }
        let correlation = correlate(gw_keys, up_keys);
        let mut evidence = crate::diagnose::EvidenceSet::default();
        for (s, summary) in sources.iter_mut().zip(&summaries) {
            let mut ev = std::mem::take(&mut s.tally.evidence);
            // nodes are compared among the sources the figures count (the gateways, when there are any)
            if in_scope(&&*s) {
                ev.set_node(&summary.path);
            }
            evidence.merge(ev);
        }
        let nodes = sources.iter().zip(&summaries).filter(|(s, _)| in_scope(s)).map(|(_, m)| m.path.as_str());
        evidence.note_nodes(nodes);

        let timeline = merged(sources.iter().filter(in_scope).map(|s| &s.tally.timeline));
        let alerts = timeline.as_ref().map(|t| alert_rows(t, rules)).unwrap_or_default();
        // a latency finding starts with the first latency alert
        let latency_rules: Vec<&str> = rules
            .iter()
            .filter(|r| matches!(r.measure, crate::alerts::Measure::Latency { .. }))
            .map(|r| r.name.as_str())
            .collect();
        let mut markers = extra_markers;
        for (s, summary) in sources.iter_mut().zip(&summaries) {
            for m in std::mem::take(&mut s.tally.markers) {
                let time = crate::record::LogTime::from_unix_us(m.unix_us).to_rfc3339_utc();
                let row = MarkerRow { time, source: summary.path.clone(), kind: m.kind, text: m.text };
                markers.push((m.unix_us, row));
            }
        }
        markers.sort_by_key(|(t, _)| *t);
        let mut diagnosis = crate::diagnose::diagnose(&evidence);
        // the services' own words for their failures: the exceptions their stack traces name
        let mut exceptions = crate::diagnose::TopValues::default();
        for s in sources.iter_mut() {
            exceptions.merge(std::mem::take(&mut s.tally.exceptions));
        }
        for d in diagnosis.iter_mut().filter(|d| d.status >= 500 && (d.status == 500 || d.origin == "upstream")) {
            for (e, n) in exceptions.top(2) {
                d.evidence.push(format!("service exception: {e} ({})", crate::numbers::thousands(n)));
            }
        }
        let compared = timeline.as_ref().and_then(|t| compare(t, &alerts, baseline, &mut diagnosis));
        let (comparison, spans) = compared.map_or((None, None), |(c, s)| (Some(c), Some(s)));
        if let (Some(t), Some(c)) = (timeline.as_ref(), comparison.as_ref()) {
            tie_to_markers(t, c, &markers, &mut diagnosis);
        }
        let markers: Vec<MarkerRow> = markers.into_iter().map(|(_, m)| m).collect();
        let trend = |k: &KeySeries, m: Measure| {
            spans.as_ref().map(|s| Trend::between(s, m, &k.during(s.base), &k.during(s.now())))
        };

        let all_routes: Vec<RouteRow> = c
            .routes
            .iter()
            .map(|(route, k)| RouteRow::of(route.clone(), &k.total, trend(k, Measure::Errors)))
            .collect();
        let p99 = |s: &Spread| s.p99.unwrap_or(0.0);
        let mut slow_routes: Vec<RouteRow> =
            all_routes.iter().filter(|r| r.latency_ms.count >= MIN_TIMED).cloned().collect();
        slow_routes.sort_by(|a, b| p99(&b.latency_ms).total_cmp(&p99(&a.latency_ms)).then(a.route.cmp(&b.route)));
        let mut routes: Vec<RouteRow> = all_routes.into_iter().filter(|r| r.errors > 0).collect();
        rank(&mut routes, |r| r.change.as_ref(), |r| r.errors * 1_000_000 + r.server_errors, |r| &r.route);
        routes.truncate(TOP);

        let mut upstreams: Vec<UpstreamRow> = c
            .addrs
            .iter()
            .map(|(address, k)| UpstreamRow::of(address.clone(), &k.total, trend(k, Measure::ServerErrors)))
            .collect();
        rank(&mut upstreams, |u| u.change.as_ref(), |u| u.attempts, |u| &u.address);
        let latency_alert =
            alerts.iter().filter(|a| latency_rules.contains(&a.rule.as_str())).map(|a| a.start.clone()).min();
        let latency_findings = super::findings::latency_findings(
            &super::findings::Timed {
                upstreams: &upstreams,
                routes: &slow_routes,
                phases: &c.phases,
                all: &c.latency,
                upstream: &c.upstream,
            },
            latency_alert.as_deref(),
        );
        slow_routes.truncate(TOP);
        upstreams.truncate(TOP);
        let latency_ms = LatencyReport {
            overall: Percentiles::of(&c.latency),
            by_class: c
                .by_class
                .iter()
                .enumerate()
                .filter(|(_, h)| h.count() > 0)
                .map(|(i, h)| (format!("{}xx", i + 1), Percentiles::of(h)))
                .collect(),
            upstream: Percentiles::of(&c.upstream),
        };

        let status_change = match (timeline.as_ref(), spans.as_ref()) {
            (Some(t), Some(s)) => super::breakdown::status_trends(t, s),
            _ => Vec::new(),
        };
        let nodes: BTreeMap<String, KeySeries> = sources
            .iter()
            .zip(&summaries)
            .filter(|(s, _)| in_scope(s))
            .map(|(s, m)| (m.path.clone(), KeySeries::whole(m.path.clone(), &s.tally.timeline)))
            .collect();
        let sp = spans.as_ref();
        let breakdowns = Breakdowns {
            hosts: key_rows(&c.hosts, sp, Measure::Errors, TOP),
            nodes: if nodes.len() >= 2 { key_rows(&nodes, sp, Measure::ServerErrors, TOP) } else { Vec::new() },
            clients: run_rows(&c.clients, sp, Measure::Requests, TOP),
            user_agents: run_rows(&c.user_agents, sp, Measure::Requests, TOP),
            consumers: run_rows(&c.consumers, sp, Measure::Requests, TOP),
        };
        let top_talkers = TopTalkers {
            by_requests: breakdowns.clients.clone(),
            by_errors: run_rows(&c.clients, sp, Measure::Errors, TOP).into_iter().filter(|r| r.errors > 0).collect(),
        };

        Report {
            sources: summaries,
            scope: if any_gateway { "gateway" } else { "all" },
            first: time_text(c.first),
            last: time_text(c.last),
            requests: c.status.iter().sum(),
            status: code_map(&c.status),
            classes: class_map(&c.status),
            errors,
            routes,
            upstreams,
            latency_ms,
            correlation,
            error_rate_per_minute: minute_rows(&c.minutes),
            diagnosis,
            slow_routes,
            latency_findings,
            alerts,
            markers,
            comparison,
            status_change,
            breakdowns,
            top_talkers,
        }
    }
}
