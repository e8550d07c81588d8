//! The report's breakdowns — routes, upstreams, virtual hosts, nodes, clients, user agents, consumers, status
//! codes — each row with how it changed between the baseline and the incident window, ordered by that change.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diagnose::Change;
use crate::stats::keyed::KeySeries;
use crate::stats::runs::{Counts, KeyRuns};
use crate::stats::timeline::{Bucket, Series};

/// The baseline span and the incident window compared, in epoch seconds (ends exclusive).
#[derive(Clone, Debug)]
pub struct Spans {
    /// The baseline.
    pub base: (i64, i64),
    /// The incident window.
    pub window: (i64, i64),
    /// When the baseline starts, for people (`12:00`).
    pub since: String,
}

impl Spans {
    /// The incident window, open at its end: a coarse bucket of the last seconds has its middle past the data's
    /// end, and still belongs to it.
    pub fn now(&self) -> (i64, i64) {
        (self.window.0, i64::MAX)
    }

    fn change(&self, before: u64, now: u64) -> Change {
        let len = |(a, b): (i64, i64)| b - a;
        Change::new(before, len(self.base), now, len(self.window), &self.since)
    }
}

/// What a breakdown's change is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Every request.
    Requests,
    /// 4xx and 5xx.
    Errors,
    /// 5xx (for upstream attempts: failed ones).
    ServerErrors,
}

impl Measure {
    fn of(self, c: &Counts) -> u64 {
        match self {
            Measure::Requests => c.requests,
            Measure::Errors => c.errors,
            Measure::ServerErrors => c.server_errors,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Measure::Requests => "requests",
            Measure::Errors => "errors",
            Measure::ServerErrors => "5xx",
        }
    }
}

/// How a row changed: its count per minute before → now, and its p99 before → now where timed.
#[derive(Clone, Debug, Serialize)]
pub struct Trend {
    /// What is counted: `requests`, `errors` (4xx + 5xx) or `5xx`.
    pub of: &'static str,
    /// Per minute before and now, and a note for people.
    #[serde(flatten)]
    pub change: Change,
    /// p99 latency in the baseline, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_before_ms: Option<f64>,
    /// p99 latency in the incident window, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_now_ms: Option<f64>,
}

impl Trend {
    /// How `before` (the baseline's counts) became `now`, in `measure`.
    pub fn between(spans: &Spans, measure: Measure, before: &Bucket, now: &Bucket) -> Trend {
        let p99 = |b: &Bucket| b.quantile_us(0.99).map(ms);
        Trend {
            of: measure.name(),
            change: spans.change(measure.of(&counts_of(before)), measure.of(&counts_of(now))),
            p99_before_ms: p99(before),
            p99_now_ms: p99(now),
        }
    }

    /// How much it rose per minute (negative: fell).
    pub fn rise(&self) -> f64 {
        self.change.rise()
    }
}

/// Microseconds as milliseconds, to a tenth.
pub fn ms(us: u64) -> f64 {
    (us as f64 / 100.0).round() / 10.0
}

/// p50 / p95 / p99 of some durations, ms (within about 12%), and how many were timed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Spread {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Durations counted.
    pub count: u64,
}

impl Spread {
    /// The spread of a bucket's durations.
    pub fn of(b: &Bucket) -> Spread {
        let q = |q: f64| b.quantile_us(q).map(ms);
        Spread { p50: q(0.5), p95: q(0.95), p99: q(0.99), count: b.timed as u64 }
    }
}

/// A route (normalised path) with its errors.
#[derive(Clone, Debug, Serialize)]
pub struct RouteRow {
    /// e.g. `/v1/orders/{id}`.
    pub route: String,
    /// Requests to it.
    pub requests: u64,
    /// 4xx + 5xx.
    pub errors: u64,
    /// 4xx.
    pub client_errors: u64,
    /// 5xx.
    pub server_errors: u64,
    /// The most frequent error status.
    pub top_status: Option<u16>,
    /// Its requests' latency, ms (within about 12%).
    pub latency_ms: Spread,
    /// Its errors (4xx + 5xx) and p99 before → now, when the span allows a comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Trend>,
}

/// An upstream address with its attempts.
#[derive(Clone, Debug, Serialize)]
pub struct UpstreamRow {
    /// `host:port` as logged.
    pub address: String,
    /// Attempts sent to it.
    pub attempts: u64,
    /// Attempts that failed (5xx or no status).
    pub failures: u64,
    /// Time spent on it for the requests it answered last, ms.
    pub latency_ms: Spread,
    /// Its failed attempts and p99 before → now, when the span allows a comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Trend>,
}

/// One row of a breakdown: a virtual host, node, client, user agent or consumer.
#[derive(Clone, Debug, Serialize)]
pub struct KeyRow {
    /// The host, node, client address, user agent or consumer, as logged (escaped).
    pub key: String,
    /// Requests.
    pub requests: u64,
    /// 4xx + 5xx.
    pub errors: u64,
    /// 5xx.
    pub server_errors: u64,
    /// The most frequent error status.
    pub top_status: Option<u16>,
    /// Its share of all requests, 0..1.
    pub share: f64,
    /// Its requests' latency, ms, where timed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Spread>,
    /// Before → now, when the span allows a comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Trend>,
}

impl RouteRow {
    /// The row of `route` counted in `t`, with its change when compared.
    pub fn of(route: String, t: &Bucket, change: Option<Trend>) -> RouteRow {
        let c = counts_of(t);
        RouteRow {
            route,
            requests: c.requests,
            errors: c.errors,
            client_errors: c.errors - c.server_errors,
            server_errors: c.server_errors,
            top_status: top_error(t),
            latency_ms: Spread::of(t),
            change,
        }
    }
}

impl UpstreamRow {
    /// The row of `address` whose attempts are counted in `t` (a failed one as a 5xx), with its change.
    pub fn of(address: String, t: &Bucket, change: Option<Trend>) -> UpstreamRow {
        let c = counts_of(t);
        UpstreamRow { address, attempts: c.requests, failures: c.server_errors, latency_ms: Spread::of(t), change }
    }
}

impl KeyRow {
    /// Its requests and errors.
    fn counts(&self) -> Counts {
        Counts { requests: self.requests, errors: self.errors, server_errors: self.server_errors }
    }
}

/// A bucket's requests, 4xx + 5xx and 5xx.
fn counts_of(b: &Bucket) -> Counts {
    let (e4, e5) = (b.classes[4] as u64, b.classes[5] as u64);
    Counts { requests: b.requests(), errors: e4 + e5, server_errors: e5 }
}

/// The most frequent error status of a bucket.
pub fn top_error(b: &Bucket) -> Option<u16> {
    b.top_codes().into_iter().find(|(c, _)| *c >= 400).map(|(c, _)| c)
}

/// The rows of one breakdown, those that changed most in `measure` first (with no comparison: the most of it
/// first), at most `top`.
pub fn key_rows(
    keys: &BTreeMap<String, KeySeries>,
    spans: Option<&Spans>,
    measure: Measure,
    top: usize,
) -> Vec<KeyRow> {
    let rows = keys.iter().map(|(name, k)| {
        let t = &k.total;
        let c = counts_of(t);
        KeyRow {
            key: name.clone(),
            requests: c.requests,
            errors: c.errors,
            server_errors: c.server_errors,
            top_status: top_error(t),
            share: 0.0,
            latency_ms: (t.timed > 0).then(|| Spread::of(t)),
            change: spans.map(|s| Trend::between(s, measure, &k.during(s.base), &k.during(s.now()))),
        }
    });
    ranked(rows.collect(), measure, top)
}

/// [`key_rows`] for keys counted in runs (clients, user agents, consumers: no durations).
pub fn run_rows(keys: &BTreeMap<String, KeyRuns>, spans: Option<&Spans>, measure: Measure, top: usize) -> Vec<KeyRow> {
    let rows = keys.iter().map(|(name, k)| KeyRow {
        key: name.clone(),
        requests: k.total.requests,
        errors: k.total.errors,
        server_errors: k.total.server_errors,
        top_status: k.top_error(),
        share: 0.0,
        latency_ms: None,
        change: spans.map(|s| Trend {
            of: measure.name(),
            change: s.change(measure.of(&k.during(s.base)), measure.of(&k.during(s.now()))),
            p99_before_ms: None,
            p99_now_ms: None,
        }),
    });
    ranked(rows.collect(), measure, top)
}

/// The rows with requests, each with its share of them all, what changed most first, at most `top`.
fn ranked(rows: Vec<KeyRow>, measure: Measure, top: usize) -> Vec<KeyRow> {
    let all: u64 = rows.iter().map(|r| r.requests).sum();
    let mut rows: Vec<KeyRow> = rows.into_iter().filter(|r| r.requests > 0).collect();
    for r in &mut rows {
        r.share = (r.requests as f64 / all.max(1) as f64 * 1000.0).round() / 1000.0;
    }
    rank(&mut rows, |r| r.change.as_ref(), |r| measure.of(&r.counts()), |r| &r.key);
    rows.truncate(top);
    rows
}

/// Order rows by how much they rose (when compared), then by their count, then by name.
pub fn rank<T>(
    rows: &mut [T],
    change: impl Fn(&T) -> Option<&Trend>,
    count: impl Fn(&T) -> u64,
    name: impl Fn(&T) -> &str,
) {
    let rise = |r: &T| change(r).map_or(0.0, Trend::rise);
    rows.sort_by(|a, b| rise(b).total_cmp(&rise(a)).then(count(b).cmp(&count(a))).then(name(a).cmp(name(b))));
}

/// A status code before → now.
#[derive(Clone, Debug, Serialize)]
pub struct StatusTrend {
    /// The code.
    pub status: u16,
    /// In the whole span.
    pub count: u64,
    /// Per minute before and now.
    #[serde(flatten)]
    pub change: Change,
}

/// Every status code before → now, those that rose most first.
pub fn status_trends(series: &Series, spans: &Spans) -> Vec<StatusTrend> {
    let (before, now) = (series.total(spans.base.0, spans.base.1), series.total(spans.window.0, spans.window.1));
    let all = series.total(i64::MIN, i64::MAX);
    let mut rows: Vec<StatusTrend> = all
        .top_codes()
        .into_iter()
        .map(|(code, n)| StatusTrend {
            status: code,
            count: n as u64,
            change: spans.change(before.count_codes(code, code), now.count_codes(code, code)),
        })
        .collect();
    rows.sort_by(|a, b| b.change.rise().total_cmp(&a.change.rise()).then(b.count.cmp(&a.count)));
    rows
}

/// Who sent the most, and who got the most errors: client addresses, with before → now.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TopTalkers {
    /// By requests.
    pub by_requests: Vec<KeyRow>,
    /// By errors (4xx + 5xx).
    pub by_errors: Vec<KeyRow>,
}

/// Requests broken down by who and where, each list ordered by change (else by count).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Breakdowns {
    /// Per virtual host (Host / authority), by errors.
    pub hosts: Vec<KeyRow>,
    /// Per node (the source a line came from: a file, an `ssh://` host), by 5xx; listed when there are two
    /// or more.
    pub nodes: Vec<KeyRow>,
    /// Per client address, by requests.
    pub clients: Vec<KeyRow>,
    /// Per user agent, by requests.
    pub user_agents: Vec<KeyRow>,
    /// Per consumer / API key name, by requests.
    pub consumers: Vec<KeyRow>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::keyed::Keyed;
    use crate::stats::timeline::{Keep, Point};

    #[test]
    fn rows_are_ordered_by_what_rose_not_by_what_is_biggest() {
        let t0 = 1_699_999_980; // a multiple of 60
        let mut k = Keyed::new(10, Series::new(Keep::All, 64, &[]));
        for s in 0..240 {
            let p = |status| Point { unix_us: (t0 + s) * 1_000_000, status: Some(status), ..Point::default() };
            // a steady 404 source all along, and a client whose 502s begin half way
            k.add(b"10.0.0.1", p(404));
            if s >= 120 && s % 2 == 0 {
                k.add(b"10.0.0.2", p(502));
            }
        }
        let keys: BTreeMap<String, KeySeries> = k
            .keys
            .into_values()
            .map(|mut v| {
                v.settle();
                (v.name.clone(), v)
            })
            .collect();
        let spans = Spans { base: (t0, t0 + 120), window: (t0 + 120, t0 + 240), since: "12:00".into() };
        let rows = key_rows(&keys, Some(&spans), Measure::Errors, 10);
        assert_eq!(rows[0].key, "10.0.0.2");
        let c = &rows[0].change.as_ref().unwrap().change;
        assert_eq!((c.before_per_minute, c.now_per_minute), (0.0, 30.0));
        assert_eq!(rows[1].change.as_ref().unwrap().change.note, "steady since 12:00, not new");
        // without a baseline, the biggest first
        assert_eq!(key_rows(&keys, None, Measure::Errors, 10)[0].key, "10.0.0.1");
    }
}
