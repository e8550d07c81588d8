//! The charts pane's state and what it shows: status codes over time stacked by class, latency percentiles, and
//! a breakdown (codes, routes, upstream addresses, sources) over a window of log time; plus the alert rules
//! checked against the same buckets. Computed from the panes, not the app; the keys are in `charts_update.rs`.

use std::borrow::Cow;

use std::time::Instant;

use rustc_hash::FxHashMap;

use super::pane::Pane;
use crate::alerts::{Episode, Rule};
use crate::record::Role;
use crate::stats::keyed::Keyed;
use crate::stats::timeline::{Bucket, Keep, Point, Series, column_width, sum_columns};

/// How much log time the charts cover, ending now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last minute.
    M1,
    /// The last five minutes.
    M5,
    /// The last fifteen minutes.
    M15,
    /// The last hour.
    H1,
    /// Since the first line.
    All,
}

impl Window {
    /// Every window, in order.
    pub const ALL: [Window; 5] = [Window::M1, Window::M5, Window::M15, Window::H1, Window::All];

    /// Its span in seconds; `None` for everything.
    pub fn span(self) -> Option<i64> {
        match self {
            Window::M1 => Some(60),
            Window::M5 => Some(300),
            Window::M15 => Some(900),
            Window::H1 => Some(3600),
            Window::All => None,
        }
    }

    /// How it is shown: `1m`, `5m`, `15m`, `1h`, `all`.
    pub fn label(self) -> &'static str {
        match self {
            Window::M1 => "1m",
            Window::M5 => "5m",
            Window::M15 => "15m",
            Window::H1 => "1h",
            Window::All => "all",
        }
    }

    fn step(self, by: isize) -> Window {
        let i = Window::ALL.iter().position(|w| *w == self).unwrap_or(0) as isize;
        Window::ALL[(i + by).clamp(0, Window::ALL.len() as isize - 1) as usize]
    }
}

/// What the list beside the charts breaks the window down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breakdown {
    /// Status codes.
    Codes,
    /// Routes (paths with their ids folded).
    Routes,
    /// Upstream addresses.
    Upstreams,
    /// Virtual hosts.
    Hosts,
    /// Nodes (pods, hosts) the lines came from.
    Nodes,
    /// Client addresses.
    Clients,
    /// User agents.
    Agents,
    /// Consumers (API keys, users) the gateway named.
    Consumers,
    /// The panes' sources.
    Sources,
}

impl Breakdown {
    const ALL: [Breakdown; 9] = [
        Breakdown::Codes,
        Breakdown::Routes,
        Breakdown::Upstreams,
        Breakdown::Hosts,
        Breakdown::Nodes,
        Breakdown::Clients,
        Breakdown::Agents,
        Breakdown::Consumers,
        Breakdown::Sources,
    ];

    /// Its heading.
    pub fn label(self) -> &'static str {
        match self {
            Breakdown::Codes => "codes",
            Breakdown::Routes => "routes",
            Breakdown::Upstreams => "upstreams",
            Breakdown::Hosts => "hosts",
            Breakdown::Nodes => "nodes",
            Breakdown::Clients => "clients",
            Breakdown::Agents => "user agents",
            Breakdown::Consumers => "consumers",
            Breakdown::Sources => "sources",
        }
    }

    /// The filter field that shows one row's records, for the breakdowns indexed per key.
    fn field(self) -> Option<&'static str> {
        Some(match self {
            Breakdown::Routes => "route",
            Breakdown::Upstreams => "upstream",
            Breakdown::Hosts => "host",
            Breakdown::Nodes => "node",
            Breakdown::Clients => "client",
            Breakdown::Agents => "ua",
            Breakdown::Consumers => "consumer",
            Breakdown::Codes | Breakdown::Sources => return None,
        })
    }

    /// Whether its rows come from the lazily indexed keys ([`PaneKeys`]).
    pub fn indexed(self) -> bool {
        self.field().is_some()
    }

    /// What its before → now counts: requests for who asked (clients, agents, consumers), errors otherwise.
    pub(crate) fn counts_requests(self) -> bool {
        matches!(self, Breakdown::Clients | Breakdown::Agents | Breakdown::Consumers)
    }
}

/// Which panes the charts count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every gateway pane (every pane when there is no gateway): what the clients saw.
    Gateways,
    /// One pane.
    Pane(usize),
}

/// The charts pane's state.
#[derive(Clone, Debug)]
pub struct ChartView {
    /// The window of log time shown.
    pub window: Window,
    /// What the list breaks it down by.
    pub breakdown: Breakdown,
    /// Which panes are counted.
    pub scope: Scope,
    /// The selected moment: the start second of a histogram column (it stays on that moment while a live log
    /// moves the window on).
    pub cursor: Option<i64>,
    /// The selected row of the list.
    pub row: usize,
    /// Keys go to the charts (not to the log panes).
    pub focused: bool,
    /// (the filter before, the filter the charts set): Esc restores the first while the second is in force.
    pub filter_before: Option<(String, String)>,
}

impl Default for ChartView {
    fn default() -> Self {
        ChartView {
            window: Window::M5,
            breakdown: Breakdown::Codes,
            scope: Scope::Gateways,
            cursor: None,
            row: 0,
            focused: true,
            filter_before: None,
        }
    }
}

/// One row of the breakdown list.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The code, route, address or source.
    pub label: String,
    /// Requests in the window (for codes: records with that code).
    pub requests: u64,
    /// Error responses (4xx and 5xx) among them.
    pub errors: u64,
    /// The most frequent error code among them.
    pub top_error: Option<u16>,
    /// Per column of the window: records (codes) or errors (the others), for a sparkline.
    pub spark: Vec<u64>,
    /// The filter that shows these records in the log panes.
    pub filter: Option<String>,
    /// For a source row: the pane.
    pub pane: Option<usize>,
    /// The 99th percentile latency in the window, µs (routes, upstreams, sources).
    pub p99_us: Option<u64>,
    /// Per minute before → now (the records of a code; requests of a client, agent or consumer; errors of the
    /// others), when the baseline and the incident window can be compared.
    pub change: Option<crate::diagnose::Change>,
}

/// Everything the charts pane draws, computed from the panes' buckets.
#[derive(Clone, Debug, Default)]
pub struct ChartData {
    /// The window's end (exclusive), log-time seconds.
    pub end: i64,
    /// Seconds per column.
    pub width_s: i64,
    /// Columns, oldest first, with their start second.
    pub columns: Vec<(i64, Bucket)>,
    /// The whole window.
    pub total: Bucket,
    /// The breakdown list.
    pub rows: Vec<Row>,
    /// Routes or upstream addresses still being indexed: (lines done, lines in all).
    pub indexing: Option<(usize, usize)>,
}

impl ChartData {
    /// The column holding second `sec`, if the window shows it.
    pub fn column_of(&self, sec: i64) -> Option<usize> {
        self.columns.iter().position(|(s, _)| *s <= sec && sec < s + self.width_s)
    }
}

/// Columns of the sparklines in the breakdown list.
pub const SPARK: usize = 12;

/// Per route, upstream address, virtual host, node, client, user agent and consumer of one pane, indexed lazily
/// (only while the charts show them).
#[derive(Debug)]
pub struct PaneKeys {
    /// Lines indexed so far.
    pub folded: usize,
    /// Per route key.
    pub routes: Keyed,
    /// Per upstream address.
    pub addrs: Keyed,
    /// Per virtual host.
    pub hosts: Keyed,
    /// Per node (an `ssh://` host, a glob's file, else the pane).
    pub nodes: Keyed,
    /// Per client address.
    pub clients: Keyed,
    /// Per user agent.
    pub agents: Keyed,
    /// Per consumer.
    pub consumers: Keyed,
}

/// Seconds per bucket of a key's newest hour.
const KEY_RES: i64 = 10;

/// At most this many keys per breakdown and pane are tracked: the rest are counted under `(other)`.
const MAX_KEYS: usize = 500;

impl Default for PaneKeys {
    fn default() -> Self {
        let keyed = || Keyed::new(MAX_KEYS, Series::with_resolution(Keep::Recent, KEY_RES, 360, &[]));
        PaneKeys {
            folded: 0,
            routes: keyed(),
            addrs: keyed(),
            hosts: keyed(),
            nodes: keyed(),
            clients: keyed(),
            agents: keyed(),
            consumers: keyed(),
        }
    }
}

impl PaneKeys {
    /// Index up to `budget` more lines of `pane`; returns how many.
    pub fn fold(&mut self, pane: &Pane, budget: usize) -> usize {
        let Some(parser) = pane.parser.as_ref() else { return 0 };
        let end = pane.lines.len().min(self.folded + budget);
        for i in self.folded..end {
            let m = pane.lines.meta(i);
            if m.status == 0 || !m.parsed() || !crate::stats::timeline::plausible(m.time_ms().div_euclid(1000)) {
                continue;
            }
            let text = pane.lines.line(i);
            let line = &*text;
            let rec;
            let s = match parser.fast_summary(line) {
                Some(s) => s,
                None => {
                    rec = parser.parse(line);
                    match &rec {
                        Some(r) => crate::format::summary::Summary::of(r),
                        None => continue,
                    }
                }
            };
            let p = Point {
                unix_us: m.time_ms() * 1000,
                status: Some(m.status),
                latency_us: m.latency_us(),
                ..Point::default()
            };
            if let Some(path) = s.path {
                self.routes.entry(crate::routes::route_key(path), || crate::routes::normalize_bytes(path)).add(p);
            }
            // who asked is counted without durations: there can be hundreds of them, each an hour of buckets
            let party = Point { latency_us: None, ..p };
            for (keyed, value, p) in [
                (&mut self.hosts, s.host, p),
                (&mut self.nodes, Some(pane.lines.label(i).unwrap_or(&pane.name).as_bytes()), p),
                (&mut self.clients, s.client, party),
                (&mut self.agents, s.user_agent, party),
                (&mut self.consumers, s.consumer, party),
            ] {
                if let Some(v) = value {
                    keyed.add(v, p);
                }
            }
            if let Some(addrs) = s.upstream_addr {
                crate::stats::tally::for_each_upstream(
                    addrs,
                    s.upstream_status.as_slice(),
                    m.status,
                    |key, addr, got| {
                        // an attempt without an answer counts as failed, as in the report (0 is the `(other)` key)
                        let p = Point { status: Some(got.unwrap_or(502)), ..p };
                        self.addrs.entry(key, || crate::text::escape_control(addr)).add(p);
                    },
                );
            }
        }
        let n = end - self.folded;
        self.folded = end;
        n
    }
}

impl ChartView {
    /// Show a longer (`by` > 0) or shorter window.
    pub fn step_window(&mut self, by: isize) {
        self.window = self.window.step(by);
        self.cursor = None;
    }

    /// Break the window down by the next thing.
    pub fn next_breakdown(&mut self) {
        let i = Breakdown::ALL.iter().position(|b| *b == self.breakdown).unwrap_or(0);
        self.breakdown = Breakdown::ALL[(i + 1) % Breakdown::ALL.len()];
        self.row = 0;
    }

    /// Count the next scope: all gateways, then each pane.
    pub fn next_scope(&mut self, panes: usize) {
        self.scope = match self.scope {
            Scope::Gateways if panes > 0 => Scope::Pane(0),
            Scope::Pane(i) if i + 1 < panes => Scope::Pane(i + 1),
            _ => Scope::Gateways,
        };
        self.row = 0;
    }
}

/// The panes a scope counts.
pub fn scope_panes(all_panes: &[Pane], scope: Scope) -> Vec<usize> {
    match scope {
        Scope::Pane(i) if i < all_panes.len() => vec![i],
        _ => {
            let gw: Vec<usize> = (0..all_panes.len()).filter(|&i| all_panes[i].side() == Role::Gateway).collect();
            if gw.is_empty() { (0..all_panes.len()).collect() } else { gw }
        }
    }
}

/// How a scope is named in titles.
pub fn scope_name(all_panes: &[Pane], scope: Scope) -> String {
    match scope {
        Scope::Pane(i) if i < all_panes.len() => all_panes[i].name.clone(),
        _ if all_panes.iter().any(|p| p.side() == Role::Gateway) => "gateways".to_string(),
        _ => "all_panes sources".to_string(),
    }
}

/// A log-time second as a clock time (`14:02:16`) in the zone the scope's newest line was written in.
pub fn log_clock(all_panes: &[Pane], sec: i64) -> String {
    log_stamp(all_panes, sec, false)
}

/// [`log_clock`], with the day in front when `dated` (`12-03 14:02:16`), for spans that cross midnight.
pub fn log_stamp(all_panes: &[Pane], sec: i64, dated: bool) -> String {
    let s = sec + log_offset(all_panes);
    let d = s.rem_euclid(86_400);
    let clock = format!("{:02}:{:02}:{:02}", d / 3600, d / 60 % 60, d % 60);
    if dated {
        let (month, day) = month_day(s);
        format!("{month:02}-{day:02} {clock}")
    } else {
        clock
    }
}

/// Whether two log-time seconds fall on different days in the log's zone.
pub fn different_days(all_panes: &[Pane], a: i64, b: i64) -> bool {
    let off = log_offset(all_panes);
    (a + off).div_euclid(86_400) != (b + off).div_euclid(86_400)
}

fn log_offset(all_panes: &[Pane]) -> i64 {
    scope_panes(all_panes, Scope::Gateways).first().map_or(0, |&i| all_panes[i].stats.offset_s) as i64
}

/// Month and day of a local second count since the epoch.
fn month_day(local_s: i64) -> (i8, i8) {
    let date =
        jiff::Timestamp::from_second(local_s).map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date()).unwrap_or_default();
    (date.month(), date.day())
}

/// "Now" in log time: the latest of the panes' (see [`super::pane::PaneStats::log_now`]).
pub fn log_now(all_panes: &[Pane], instant: Instant) -> Option<i64> {
    all_panes.iter().filter_map(|p| p.stats.log_now(instant)).max()
}

/// The window `[start, end)` for the panes, and the series that covers it (`recent` for up to an hour).
fn window_of(all_panes: &[Pane], panes: &[usize], window: Window, end: i64) -> (i64, bool) {
    match window.span() {
        Some(s) => (end - s, true),
        None => {
            let first = panes.iter().filter_map(|&i| all_panes[i].stats.first_second()).min();
            (first.unwrap_or(end - 60).min(end - 60), false)
        }
    }
}

/// Sum the scope's buckets into at most `columns` columns over the window.
pub fn chart_data(
    all_panes: &[Pane],
    instant: Instant,
    view: &ChartView,
    columns: usize,
    keys: &[PaneKeys],
    baseline: impl FnOnce() -> Option<(i64, i64, i64)>,
) -> ChartData {
    let panes = scope_panes(all_panes, view.scope);
    let Some(end) = log_now(all_panes, instant) else { return ChartData::default() };
    let (start, recent) = window_of(all_panes, &panes, view.window, end);
    let span = end - start;
    let res = if recent { 1 } else { panes.iter().map(|&i| all_panes[i].stats.all_resolution()).max().unwrap_or(1) };
    let width = column_width(span, columns, res);
    let n = ((span + width - 1) / width).max(1);
    let start = end - n * width;
    let cols =
        sum_columns(panes.iter().flat_map(|&i| buckets_of(&all_panes[i].stats, recent)), start, width, n as usize);
    let total = cols.iter().map(|(_, b)| b).sum();
    let mut data = ChartData { end, width_s: width, columns: cols, total, rows: Vec::new(), indexing: None };
    data.rows = rows(all_panes, view, &panes, &data, start, keys, baseline);
    data
}

/// A pane's buckets: the newest hour's, or all_panes of them.
fn buckets_of(st: &super::pane::PaneStats, recent: bool) -> Box<dyn Iterator<Item = (i64, &Bucket)> + '_> {
    if recent { Box::new(st.recent.buckets()) } else { Box::new(st.all_buckets()) }
}

fn errors_of(b: &Bucket) -> u64 {
    (b.classes[4] + b.classes[5]) as u64
}

fn top_error(b: &Bucket) -> Option<u16> {
    b.top_codes().into_iter().find(|(c, _)| *c >= 400).map(|(c, _)| c)
}

/// Squeeze the window's columns into `SPARK` values.
fn spark_of(cols: &[(i64, Bucket)], f: impl Fn(&Bucket) -> u64) -> Vec<u64> {
    let per = cols.len().div_ceil(SPARK).max(1);
    cols.chunks(per).map(|c| c.iter().map(|(_, b)| f(b)).sum()).collect()
}

/// The scope's buckets summed over `[from, to)` (each bucket by its start).
fn span_total(all_panes: &[Pane], panes: &[usize], (from, to): (i64, i64)) -> Bucket {
    panes
        .iter()
        .flat_map(|&i| all_panes[i].stats.all_buckets())
        .filter(|(s, _)| (from..to).contains(s))
        .map(|(_, b)| b)
        .sum()
}

fn rows(
    all_panes: &[Pane],
    view: &ChartView,
    panes: &[usize],
    data: &ChartData,
    start: i64,
    keys: &[PaneKeys],
    baseline: impl FnOnce() -> Option<(i64, i64, i64)>,
) -> Vec<Row> {
    let end = data.end;
    // "what changed?": the baseline before the first alert (or the one set), against what came since
    let spans = baseline().map(|(first, split, last)| {
        let since = log_clock(all_panes, first);
        ((first, split), (split, last), since)
    });
    let change = |before: u64, now: u64| {
        spans.as_ref().map(|(b, n, since)| crate::diagnose::Change::new(before, b.1 - b.0, now, n.1 - n.0, since))
    };
    let measure = |b: &Bucket| if view.breakdown.counts_requests() { b.requests() } else { errors_of(b) };
    let mut rows: Vec<Row> = match view.breakdown {
        Breakdown::Codes => {
            let halves =
                spans.as_ref().map(|(b, n, _)| (span_total(all_panes, panes, *b), span_total(all_panes, panes, *n)));
            data.total
                .top_codes()
                .into_iter()
                .map(|(code, n)| Row {
                    label: code.to_string(),
                    requests: n as u64,
                    errors: if code >= 400 { n as u64 } else { 0 },
                    top_error: (code >= 400).then_some(code),
                    spark: spark_of(&data.columns, |b| b.count_codes(code, code)),
                    filter: Some(format!("status={code}")),
                    pane: None,
                    p99_us: None,
                    change: halves
                        .as_ref()
                        .and_then(|(b, n)| change(b.count_codes(code, code), n.count_codes(code, code))),
                })
                .collect()
        }
        Breakdown::Sources => (0..all_panes.len())
            .map(|i| {
                let recent = view.window != Window::All;
                // whole columns that end at the window's end and cover all_panes of it
                let width = column_width(end - start, SPARK * 4, 1);
                let from = end - width * SPARK as i64 * 4;
                let cols = sum_columns(buckets_of(&all_panes[i].stats, recent), from, width, SPARK * 4);
                let t: Bucket = cols.iter().map(|(_, b)| b).sum();
                let halves =
                    spans.as_ref().map(|(b, n, _)| (span_total(all_panes, &[i], *b), span_total(all_panes, &[i], *n)));
                Row {
                    label: all_panes[i].name.clone(),
                    requests: t.requests(),
                    errors: errors_of(&t),
                    top_error: top_error(&t),
                    spark: spark_of(&cols, errors_of),
                    filter: None,
                    pane: Some(i),
                    p99_us: t.quantile_us(0.99),
                    change: halves.and_then(|(b, n)| change(errors_of(&b), errors_of(&n))),
                }
            })
            .collect(),
        by => {
            let field = by.field().unwrap_or("route");
            // per name: the window's counts, the sparkline, and the baseline's and incident's counts
            let mut merged: FxHashMap<&str, (Bucket, Vec<u64>, u64, u64)> = FxHashMap::default();
            // SPARK whole columns of the 10-second buckets, ending at the window's end (the last hour for `all_panes`)
            let spark_span = if view.window == Window::All { 3600 } else { end - start };
            let res = KEY_RES;
            let width = column_width(spark_span, SPARK, res);
            let spark_end = (end + res - 1) / res * res;
            let spark_from = spark_end - width * SPARK as i64;
            for &i in panes {
                let Some(k) = keys.get(i) else { continue };
                let keyed = match by {
                    Breakdown::Routes => &k.routes,
                    Breakdown::Upstreams => &k.addrs,
                    Breakdown::Hosts => &k.hosts,
                    Breakdown::Nodes => &k.nodes,
                    Breakdown::Clients => &k.clients,
                    Breakdown::Agents => &k.agents,
                    _ => &k.consumers,
                };
                for ks in keyed.keys.values() {
                    let cols = sum_columns(ks.series.buckets(), spark_from, width, SPARK);
                    let t = if view.window == Window::All { ks.total.clone() } else { ks.series.total(start, end) };
                    if t.requests() == 0 {
                        continue;
                    }
                    let e = merged.entry(ks.name.as_str()).or_insert_with(|| (Bucket::default(), vec![0; SPARK], 0, 0));
                    e.0.absorb(&t);
                    for (a, (_, b)) in e.1.iter_mut().zip(&cols) {
                        *a += errors_of(b);
                    }
                    if let Some((b, n, _)) = &spans {
                        e.2 += measure(&ks.during(*b));
                        e.3 += measure(&ks.during((n.0, i64::MAX)));
                    }
                }
            }
            let mut rows: Vec<Row> = merged
                .into_iter()
                .map(|(name, (t, spark, before, now))| Row {
                    label: name.to_string(),
                    requests: t.requests(),
                    errors: errors_of(&t),
                    top_error: top_error(&t),
                    spark,
                    filter: (name != "(other)").then(|| format!("{field}={}", quote(name))),
                    pane: None,
                    p99_us: t.quantile_us(0.99),
                    change: change(before, now),
                })
                .collect();
            rows.sort_by(|a, b| b.errors.cmp(&a.errors).then(b.requests.cmp(&a.requests)).then(a.label.cmp(&b.label)));
            rows
        }
    };
    if spans.is_some() {
        // what rose most first; a stable sort keeps the order above among equals
        let rise = |r: &Row| r.change.as_ref().map_or(0.0, crate::diagnose::Change::rise);
        rows.sort_by(|a, b| rise(b).total_cmp(&rise(a)));
    }
    rows
}

/// A filter value, quoted when it holds spaces or parentheses.
fn quote(v: &str) -> String {
    if v.contains([' ', '(', ')', '"']) { format!("\"{}\"", v.replace('"', "")) } else { v.to_string() }
}

/// A rule firing now: its name, when it started (log-time seconds), and its value now.
#[derive(Clone, Debug, PartialEq)]
pub struct Firing {
    /// The rule's name.
    pub rule: String,
    /// When it started to hold.
    pub since: i64,
    /// Its value now, for people.
    pub value: String,
}

/// Series summed into one: a single one as it is (borrowed), several merged into a copy of the first.
fn merged<'a>(mut series: impl Iterator<Item = Cow<'a, Series>>) -> Option<Cow<'a, Series>> {
    let mut first = series.next()?;
    for s in series {
        first.to_mut().merge(&s);
    }
    Some(first)
}

/// The rules that hold now over what the gateways (else all_panes panes) saw.
pub fn firing(all_panes: &[Pane], instant: Instant, rules: &[Rule]) -> Vec<Firing> {
    let panes = scope_panes(all_panes, Scope::Gateways);
    let recent = merged(panes.iter().map(|&i| Cow::Borrowed(&all_panes[i].stats.recent)));
    let (Some(now), Some(series)) = (log_now(all_panes, instant), recent) else { return Vec::new() };
    let first = series.span().map_or(now, |(f, _)| f);
    crate::alerts::firing(&series, rules, now)
        .into_iter()
        .map(|(i, e, v)| {
            // an episode as old as the newest hour may have begun before it: ask the whole history
            let since = if e.start <= first + rules[i].window_s + 1 {
                history(all_panes, instant, &rules[i..=i])
                    .pop()
                    .filter(|h| h.end.is_none())
                    .map_or(e.start, |h| h.start)
            } else {
                e.start
            };
            let mut value = rules[i].show_value(v);
            if e.low_volume_since.is_some() {
                // too few requests now to judge: the verdict before holds
                value = format!("{}, low volume", rules[i].show_value(e.peak));
            }
            Firing { rule: e.rule, since, value }
        })
        .collect()
}

/// Every episode of every rule since the first line (for the charts pane's list).
pub fn history(all_panes: &[Pane], instant: Instant, rules: &[Rule]) -> Vec<Episode> {
    let panes = scope_panes(all_panes, Scope::Gateways);
    let all = merged(panes.iter().map(|&i| Cow::Owned(all_panes[i].stats.all_series())));
    let (Some(now), Some(series)) = (log_now(all_panes, instant), all) else { return Vec::new() };
    let mut out: Vec<Episode> =
        rules.iter().flat_map(|r| crate::alerts::episodes(&series, r, i64::MIN, now, true)).collect();
    out.sort_by_key(|e| e.start);
    out
}
