//! The charts pane's state and what it shows: status codes over time stacked by class, latency percentiles, and
//! a breakdown (codes, routes, upstream addresses, sources) over a window of log time; plus the alert rules
//! checked against the same buckets.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::app::App;
use super::keymap::Action;
use super::pane::Pane;
use crate::alerts::{Episode, Rule};
use crate::record::Role;
use crate::stats::keyed::Keyed;
use crate::stats::timeline::{Bucket, Keep, Point, Series, column_width, sum_columns};

/// How much log time the charts cover, ending now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    M1,
    M5,
    M15,
    H1,
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
    Codes,
    Routes,
    Upstreams,
    Hosts,
    Nodes,
    Clients,
    Agents,
    Consumers,
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
            let line = pane.lines.line(i);
            let rec;
            let s = match parser.fast_summary(line) {
                Some(s) => s,
                None => {
                    rec = parser.parse(line);
                    match &rec {
                        Some(r) => crate::stats::summary::Summary::of(r),
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
pub fn scope_panes(app: &App, scope: Scope) -> Vec<usize> {
    match scope {
        Scope::Pane(i) if i < app.panes.len() => vec![i],
        _ => {
            let gw: Vec<usize> = (0..app.panes.len()).filter(|&i| app.panes[i].side() == Role::Gateway).collect();
            if gw.is_empty() { (0..app.panes.len()).collect() } else { gw }
        }
    }
}

/// How a scope is named in titles.
pub fn scope_name(app: &App, scope: Scope) -> String {
    match scope {
        Scope::Pane(i) if i < app.panes.len() => app.panes[i].name.clone(),
        _ if app.panes.iter().any(|p| p.side() == Role::Gateway) => "gateways".to_string(),
        _ => "all sources".to_string(),
    }
}

/// A log-time second as a clock time (`14:02:16`) in the zone the scope's newest line was written in.
pub fn log_clock(app: &App, sec: i64) -> String {
    log_stamp(app, sec, false)
}

/// [`log_clock`], with the day in front when `dated` (`12-03 14:02:16`), for spans that cross midnight.
pub fn log_stamp(app: &App, sec: i64, dated: bool) -> String {
    let s = sec + log_offset(app);
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
pub fn different_days(app: &App, a: i64, b: i64) -> bool {
    let off = log_offset(app);
    (a + off).div_euclid(86_400) != (b + off).div_euclid(86_400)
}

fn log_offset(app: &App) -> i64 {
    scope_panes(app, Scope::Gateways).first().map_or(0, |&i| app.panes[i].stats.offset_s) as i64
}

/// Month and day of a local second count since the epoch.
fn month_day(local_s: i64) -> (i8, i8) {
    let date =
        jiff::Timestamp::from_second(local_s).map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date()).unwrap_or_default();
    (date.month(), date.day())
}

/// "Now" in log time: the latest of the panes' (see [`super::pane::PaneStats::log_now`]).
pub fn log_now(app: &App) -> Option<i64> {
    app.panes.iter().filter_map(|p| p.stats.log_now(app.now)).max()
}

/// The window `[start, end)` for the panes, and the series that covers it (`recent` for up to an hour).
fn window_of(app: &App, panes: &[usize], window: Window, end: i64) -> (i64, bool) {
    match window.span() {
        Some(s) => (end - s, true),
        None => {
            let first = panes.iter().filter_map(|&i| app.panes[i].stats.first_second()).min();
            (first.unwrap_or(end - 60).min(end - 60), false)
        }
    }
}

/// Sum the scope's buckets into at most `columns` columns over the window.
pub fn chart_data(app: &App, view: &ChartView, columns: usize, keys: &[PaneKeys]) -> ChartData {
    let panes = scope_panes(app, view.scope);
    let Some(end) = log_now(app) else { return ChartData::default() };
    let (start, recent) = window_of(app, &panes, view.window, end);
    let span = end - start;
    let res = if recent { 1 } else { panes.iter().map(|&i| app.panes[i].stats.all_resolution()).max().unwrap_or(1) };
    let width = column_width(span, columns, res);
    let n = ((span + width - 1) / width).max(1);
    let start = end - n * width;
    let cols =
        sum_columns(panes.iter().flat_map(|&i| buckets_of(&app.panes[i].stats, recent)), start, width, n as usize);
    let total = cols.iter().map(|(_, b)| b).sum();
    let mut data = ChartData { end, width_s: width, columns: cols, total, rows: Vec::new(), indexing: None };
    data.rows = rows(app, view, &panes, &data, start, keys);
    data
}

/// A pane's buckets: the newest hour's, or all of them.
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
fn span_total(app: &App, panes: &[usize], (from, to): (i64, i64)) -> Bucket {
    panes
        .iter()
        .flat_map(|&i| app.panes[i].stats.all_buckets())
        .filter(|(s, _)| (from..to).contains(s))
        .map(|(_, b)| b)
        .sum()
}

fn rows(app: &App, view: &ChartView, panes: &[usize], data: &ChartData, start: i64, keys: &[PaneKeys]) -> Vec<Row> {
    let end = data.end;
    // "what changed?": the baseline before the first alert (or the one set), against what came since
    let spans = app.baseline_split(i64::MIN).map(|(first, split, last)| {
        let since = log_clock(app, first);
        ((first, split), (split, last), since)
    });
    let change = |before: u64, now: u64| {
        spans.as_ref().map(|(b, n, since)| crate::diagnose::Change::new(before, b.1 - b.0, now, n.1 - n.0, since))
    };
    let measure = |b: &Bucket| if view.breakdown.counts_requests() { b.requests() } else { errors_of(b) };
    let mut rows: Vec<Row> = match view.breakdown {
        Breakdown::Codes => {
            let halves = spans.as_ref().map(|(b, n, _)| (span_total(app, panes, *b), span_total(app, panes, *n)));
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
        Breakdown::Sources => (0..app.panes.len())
            .map(|i| {
                let recent = view.window != Window::All;
                // whole columns that end at the window's end and cover all of it
                let width = column_width(end - start, SPARK * 4, 1);
                let from = end - width * SPARK as i64 * 4;
                let cols = sum_columns(buckets_of(&app.panes[i].stats, recent), from, width, SPARK * 4);
                let t: Bucket = cols.iter().map(|(_, b)| b).sum();
                let halves = spans.as_ref().map(|(b, n, _)| (span_total(app, &[i], *b), span_total(app, &[i], *n)));
                Row {
                    label: app.panes[i].name.clone(),
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
            // SPARK whole columns of the 10-second buckets, ending at the window's end (the last hour for `all`)
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

/// The rules that hold now over what the gateways (else all panes) saw.
pub fn firing(app: &App, rules: &[Rule]) -> Vec<Firing> {
    let panes = scope_panes(app, Scope::Gateways);
    let recent = merged(panes.iter().map(|&i| Cow::Borrowed(&app.panes[i].stats.recent)));
    let (Some(now), Some(series)) = (log_now(app), recent) else { return Vec::new() };
    let first = series.span().map_or(now, |(f, _)| f);
    crate::alerts::firing(&series, rules, now)
        .into_iter()
        .map(|(i, e, v)| {
            // an episode as old as the newest hour may have begun before it: ask the whole history
            let since = if e.start <= first + rules[i].window_s + 1 {
                history(app, &rules[i..=i]).pop().filter(|h| h.end.is_none()).map_or(e.start, |h| h.start)
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
pub fn history(app: &App, rules: &[Rule]) -> Vec<Episode> {
    let panes = scope_panes(app, Scope::Gateways);
    let all = merged(panes.iter().map(|&i| Cow::Owned(app.panes[i].stats.all_series())));
    let (Some(now), Some(series)) = (log_now(app), all) else { return Vec::new() };
    let mut out: Vec<Episode> =
        rules.iter().flat_map(|r| crate::alerts::episodes(&series, r, i64::MIN, now, true)).collect();
    out.sort_by_key(|e| e.start);
    out
}

/// Lines indexed per pane per turn of [`App::index_keys`] before the budget is checked again.
const INDEX_STEP: usize = 5_000;

impl App {
    /// `c`: open the charts; when open, focus them; when focused, close them.
    pub fn toggle_charts(&mut self) {
        match &mut self.charts {
            None => self.charts = Some(ChartView::default()),
            Some(v) if !v.focused => v.focused = true,
            Some(_) => self.charts = None,
        }
        self.refit();
    }

    /// The charts as they are now, with `columns` columns (the list's rows do not depend on it).
    pub fn chart_data(&self, columns: usize) -> Option<ChartData> {
        let view = self.charts.as_ref()?;
        let mut data = chart_data(self, view, columns, &self.keys_index);
        if view.breakdown.indexed() {
            let panes = scope_panes(self, view.scope);
            let done: usize = panes.iter().map(|&i| self.keys_index[i].folded.min(self.panes[i].lines.len())).sum();
            let all: usize = panes.iter().map(|&i| self.panes[i].lines.len()).sum();
            data.indexing = (done < all).then_some((done, all));
        }
        Some(data)
    }

    /// A key while the charts are open: true when the charts took it.
    pub(crate) fn chart_key(&mut self, action: Action) -> bool {
        if self.overlay != super::app::Overlay::None && action == Action::Back {
            return false; // Esc closes the overlay (diagnosis, trace) first
        }
        if action == Action::Baseline {
            self.set_baseline();
            self.dirty = true;
            return true;
        }
        let panes = self.panes.len();
        let cols = match action {
            Action::Left | Action::Right => self.chart_data(self.chart_columns()).map(|d| (d.width_s, d.columns)),
            _ => None,
        };
        let Some(view) = self.charts.as_mut() else { return false };
        let (width, first, last) = match &cols {
            Some((w, c)) if !c.is_empty() => (*w, c[0].0, c[c.len() - 1].0),
            _ => (1, i64::MIN, i64::MIN),
        };
        match action {
            Action::NextWindow => view.step_window(1),
            Action::PrevWindow => view.step_window(-1),
            Action::Breakdown => view.next_breakdown(),
            Action::Scope => view.next_scope(panes),
            _ if !view.focused => return false,
            Action::Up => view.row = view.row.saturating_sub(1),
            Action::Down => view.row = view.row.saturating_add(1),
            Action::PageUp => view.row = view.row.saturating_sub(10),
            Action::PageDown => view.row = view.row.saturating_add(10),
            Action::Top => view.row = 0,
            Action::Bottom => view.row = usize::MAX,
            Action::Left => view.cursor = Some(view.cursor.map_or(last, |c| (c - width).clamp(first, last))),
            Action::Right => view.cursor = view.cursor.map(|c| c + width).filter(|&c| c <= last),
            Action::NextPane | Action::PrevPane => view.focused = false,
            Action::Detail => self.chart_select(),
            Action::Back => {
                // a filter typed since in the filter bar is the user's: it stays
                let current = &self.filter.text;
                if let Some((before, _)) = view.filter_before.take().filter(|(_, set)| set == current) {
                    self.apply_filter(&before);
                    self.notice =
                        Some(if before.is_empty() { "filter cleared".into() } else { format!("filter {before}") });
                } else if view.cursor.is_some() {
                    view.cursor = None;
                } else {
                    view.focused = false;
                }
            }
            _ => return false,
        }
        self.clamp_chart();
        self.dirty = true;
        true
    }

    /// `B`: the baseline ends at the selected column (what came before it is compared with what came since);
    /// again, or with no column selected, back to the default.
    fn set_baseline(&mut self) {
        let cursor = self.charts.as_ref().and_then(|v| v.cursor);
        self.baseline_end = match cursor {
            Some(c) if self.baseline_end != Some(c) => Some(c),
            _ => None,
        };
        self.notice = Some(match (self.baseline_end, self.baseline_split(i64::MIN)) {
            (Some(at), Some(_)) => format!(
                "what changed: everything before {} against what came since (B again: before the first alert)",
                log_clock(self, at)
            ),
            (Some(at), None) => format!(
                "baseline before {}: too short a span on one side to compare (at least {} s each)",
                log_clock(self, at),
                crate::diagnose::MIN_COMPARED_S
            ),
            (None, _) if cursor.is_none() && self.charts.is_some() => {
                "baseline: before the first alert (to set one, pick a moment with ←/→ in the charts, then B)".into()
            }
            (None, _) => "baseline: before the first alert, else the first half".into(),
        });
    }

    /// Keep the row and the column cursor within what the charts show.
    fn clamp_chart(&mut self) {
        let rows = self.chart_data(self.chart_columns()).map_or(0, |d| d.rows.len());
        if let Some(v) = self.charts.as_mut() {
            v.row = v.row.min(rows.saturating_sub(1));
        }
    }

    /// Columns of the histogram as laid out now.
    pub fn chart_columns(&self) -> usize {
        self.areas().charts.map_or(60, |r| super::chart_draw::plot_width(r.width) as usize)
    }

    /// Enter in the charts: filter the log panes to the selected code, route or address (a source: focus its
    /// pane), and move them to the selected column's moment.
    fn chart_select(&mut self) {
        let cols = self.chart_columns();
        let Some(data) = self.chart_data(cols) else { return };
        let Some(view) = self.charts.as_ref() else { return };
        let (row, cursor) = (data.rows.get(view.row).cloned(), view.cursor);
        if let Some(r) = &row {
            if let Some(f) = &r.filter {
                let before = self.filter.text.clone();
                if let Some(v) = self.charts.as_mut() {
                    // a second selection keeps the filter from before the first
                    let first = v.filter_before.take().filter(|(_, set)| *set == before).map_or(before, |(b, _)| b);
                    v.filter_before = Some((first, f.clone()));
                }
                self.apply_filter(f);
                self.notice = Some(format!("filter {f} (Esc in the charts puts back the one before)"));
            }
            if let Some(p) = r.pane {
                self.focus = p;
                if let Some(v) = self.charts.as_mut() {
                    v.scope = Scope::Pane(p);
                }
            }
        }
        if let Some((start, _)) = cursor.and_then(|c| data.column_of(c)).map(|i| &data.columns[i]) {
            self.jump_to_time(start * 1000);
        }
    }

    /// Move every pane's cursor to the first line at or after `ms` (log time), pausing them.
    pub fn jump_to_time(&mut self, ms: i64) {
        for i in 0..self.panes.len() {
            let h = self.pane_height(i);
            let p = &mut self.panes[i];
            if p.lines.is_empty() {
                continue;
            }
            let mut line = p.lines.line_at_time(ms).min(p.lines.len() - 1);
            // under a filter, the first shown line from there
            while line + 1 < p.lines.len() && !p.shows(line) {
                line += 1;
            }
            let row = p.line_row(line);
            p.set_cursor(row, h);
            p.follow = false;
        }
        self.dirty = true;
    }

    /// Whether routes or addresses wait to be indexed for the charts.
    pub fn indexing_pending(&self) -> bool {
        let Some(v) = &self.charts else { return false };
        v.breakdown.indexed()
            && scope_panes(self, v.scope).iter().any(|&i| self.keys_index[i].folded < self.panes[i].lines.len())
    }

    /// Index routes and addresses for up to `budget` while the charts list them; returns whether lines remain.
    pub(crate) fn index_keys(&mut self, budget: std::time::Duration) -> bool {
        if !self.indexing_pending() {
            return false;
        }
        let start = std::time::Instant::now();
        let scope = self.charts.as_ref().map_or(Scope::Gateways, |v| v.scope);
        for i in scope_panes(self, scope) {
            while self.keys_index[i].folded < self.panes[i].lines.len() {
                if start.elapsed() >= budget {
                    return true;
                }
                self.keys_index[i].fold(&self.panes[i], INDEX_STEP);
                self.dirty = true;
            }
        }
        self.indexing_pending()
    }

    /// Check the alert rules against what the gateways saw; the status bar shows the ones holding.
    pub fn check_alerts(&mut self) {
        // while older history fills in, the counts have a hole in them: no rule is judged on it
        let now = match self.panes.iter().any(|p| p.history.is_some()) {
            true => Vec::new(),
            false => firing(self, &self.opts.alert_rules),
        };
        if now != self.alerts {
            self.alerts = now;
            self.dirty = true;
        }
        // the whole session's episodes, for the charts pane: once a tick, not once a frame
        if self.charts.is_some() {
            self.alert_history = Some(history(self, &self.opts.alert_rules));
        }
    }

    /// Every episode of the alert rules since the first line, as of the last tick (or now, if none yet).
    pub fn alert_history(&self) -> std::borrow::Cow<'_, [Episode]> {
        match &self.alert_history {
            Some(h) => std::borrow::Cow::Borrowed(h),
            None => std::borrow::Cow::Owned(history(self, &self.opts.alert_rules)),
        }
    }
}
