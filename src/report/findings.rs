//! Latency findings: which upstream or route is slow, or whether everything is (a shared dependency) or the time
//! goes by in the gateway itself; and, where the log says, whether it went to connecting, waiting for the
//! response headers or the body.

use std::collections::BTreeMap;

use serde::Serialize;

use super::breakdown::{RouteRow, UpstreamRow};
use crate::numbers::duration_text;
use crate::stats::latency::LatencyHistogram;
use crate::stats::tally::Phases;

/// Fewest timed requests for a route's or upstream's latency to be ranked.
pub const MIN_TIMED: u64 = 20;
/// A p99 under this is not slow, whatever the others do (ms).
const SLOW_MS: f64 = 1000.0;

/// A latency finding: one upstream (or route) far slower than the others.
#[derive(Clone, Debug, Serialize)]
pub struct SlowFinding {
    /// `upstream` (one far slower than the others), `route`, `everywhere` (every upstream slow: a shared
    /// dependency) or `gateway` (the time went by outside the upstreams).
    pub kind: &'static str,
    /// The address or route.
    pub subject: String,
    /// Its p99, ms.
    pub p99_ms: f64,
    /// The others' p99 (the median of theirs), ms.
    pub others_p99_ms: f64,
    /// For people: `slow upstream 10.0.0.8:8080: p99 2.6 s, the others 40 ms`.
    pub text: String,
    /// Where a slow upstream's time went, where its log says: `connect`, `headers` or `body`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<&'static str>,
    /// When a latency alert began, if one held: when it started, RFC 3339 UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

/// What the findings are drawn from.
pub struct Timed<'a> {
    /// Every upstream address, with its latency.
    pub upstreams: &'a [UpstreamRow],
    /// The routes with at least [`MIN_TIMED`] timed requests.
    pub routes: &'a [RouteRow],
    /// Per upstream address, where its time went (where logged).
    pub phases: &'a BTreeMap<String, Phases>,
    /// Every request's duration.
    pub all: &'a LatencyHistogram,
    /// Time in upstreams, as the gateway logged it.
    pub upstream: &'a LatencyHistogram,
}

fn ms_text(v: f64) -> String {
    duration_text((v * 1000.0) as u64)
}

/// The latency findings, at most one, the most specific first: one slow upstream, else every upstream slow,
/// else one slow route, else time that went by outside the upstreams. `alert_since` is when the first latency
/// alert began (RFC 3339), if one held.
pub fn latency_findings(t: &Timed<'_>, alert_since: Option<&str>) -> Vec<SlowFinding> {
    let p99 = |s: &super::breakdown::Spread| s.p99.unwrap_or(0.0);
    let ups: Vec<(&str, f64)> = t
        .upstreams
        .iter()
        .filter(|u| u.latency_ms.count >= MIN_TIMED)
        .map(|u| (u.address.as_str(), p99(&u.latency_ms)))
        .collect();
    let routes: Vec<(&str, f64)> = t.routes.iter().map(|r| (r.route.as_str(), p99(&r.latency_ms))).collect();
    let found = slowest("upstream", &ups)
        .map(|mut f| {
            if let Some((phase, text)) = t.phases.get(&f.subject).and_then(where_it_went) {
                f.phase = Some(phase);
                f.text = format!("{}: {text}", f.text);
            }
            f
        })
        .or_else(|| everywhere(&ups))
        .or_else(|| slowest("route", &routes))
        .or_else(|| gateway_side(t.all, t.upstream));
    found
        .into_iter()
        .map(|mut f| {
            if let Some(since) = alert_since {
                f.text = format!("{}; the p99 alert since {}", f.text, since.get(11..19).unwrap_or(since));
                f.since = Some(since.to_string());
            }
            f
        })
        .collect()
}

/// The one of `p99s` (subject, p99 ms) far slower than the others: its p99 over a second and over five times the
/// median of theirs. Needs at least two to compare.
fn slowest(kind: &'static str, p99s: &[(&str, f64)]) -> Option<SlowFinding> {
    if p99s.len() < 2 {
        return None;
    }
    let (i, &(subject, worst)) = p99s.iter().enumerate().max_by(|a, b| a.1.1.total_cmp(&b.1.1))?;
    let mut others: Vec<f64> = p99s.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, p)| p.1).collect();
    others.sort_by(f64::total_cmp);
    let median = others[others.len() / 2];
    (worst >= SLOW_MS && worst > 5.0 * median).then(|| SlowFinding {
        kind,
        subject: subject.to_string(),
        p99_ms: worst,
        others_p99_ms: median,
        text: format!("slow {kind} {subject}: p99 {}, the others {}", ms_text(worst), ms_text(median)),
        phase: None,
        since: None,
    })
}

/// Every upstream (two or more) slow alike: what they share is slow (a database, DNS, the network, a common
/// downstream), not one of them.
fn everywhere(p99s: &[(&str, f64)]) -> Option<SlowFinding> {
    if p99s.len() < 2 || p99s.iter().any(|(_, p)| *p < SLOW_MS) {
        return None;
    }
    let mut sorted: Vec<f64> = p99s.iter().map(|p| p.1).collect();
    sorted.sort_by(f64::total_cmp);
    let (lo, median) = (sorted[0], sorted[sorted.len() / 2]);
    Some(SlowFinding {
        kind: "everywhere",
        subject: format!("all {} upstreams", p99s.len()),
        p99_ms: median,
        others_p99_ms: lo,
        text: format!(
            "slow everywhere: all {} upstreams have a p99 over {} (median {}, the fastest {}): look at what they \
             share (a database, DNS, the network, a common dependency), not at one of them",
            p99s.len(),
            ms_text(SLOW_MS),
            ms_text(median),
            ms_text(lo)
        ),
        phase: None,
        since: None,
    })
}

/// Requests slow while the upstreams answered fast: the time went by in the gateway or on the way to it.
fn gateway_side(all: &LatencyHistogram, upstream: &LatencyHistogram) -> Option<SlowFinding> {
    let ms = |h: &LatencyHistogram| h.quantile(0.99).map(|us| us as f64 / 1000.0);
    let (req, up) = (ms(all)?, ms(upstream)?);
    (upstream.count() >= MIN_TIMED && req >= SLOW_MS && up * 3.0 < req).then(|| SlowFinding {
        kind: "gateway",
        subject: "gateway".to_string(),
        p99_ms: req,
        others_p99_ms: up,
        text: format!(
            "slow in the gateway, not the upstreams: requests p99 {}, time in upstreams p99 {}: queueing for a \
             connection or a worker, slow clients (uploads, reading the response), TLS, or buffering",
            ms_text(req),
            ms_text(up)
        ),
        phase: None,
        since: None,
    })
}

/// Where an upstream's time went, from its logged phases: connecting, waiting for the headers, or the body.
fn where_it_went(ph: &Phases) -> Option<(&'static str, String)> {
    let q = |d: &crate::stats::timeline::Digest| d.quantile_us(0.99).map(|us| us as f64 / 1000.0);
    let total = q(&ph.total)?;
    let connect = q(&ph.connect).unwrap_or(0.0);
    let header = q(&ph.header).unwrap_or(connect).max(connect);
    if total <= 0.0 {
        return None;
    }
    Some(if connect * 2.0 >= total {
        (
            "connect",
            format!(
                "the time goes to connecting (connect p99 {} of {}): a full accept queue or SYN backlog, a \
                 firewall or conntrack table, or an exhausted connection pool",
                ms_text(connect),
                ms_text(total)
            ),
        )
    } else if (header - connect) * 2.0 >= total {
        (
            "headers",
            format!(
                "the time goes to waiting for the response headers (headers after p99 {}, connect {}): the \
                 service itself is slow to answer",
                ms_text(header),
                ms_text(connect)
            ),
        )
    } else {
        (
            "body",
            format!(
                "the time goes to the body (headers after p99 {}, the whole answer {}): a large or slowly \
                 streamed response",
                ms_text(header),
                ms_text(total)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phases(connect_ms: u64, header_ms: u64, total_ms: u64) -> Phases {
        let mut p = Phases::default();
        for _ in 0..50 {
            p.connect.record(connect_ms * 1000);
            p.header.record(header_ms * 1000);
            p.total.record(total_ms * 1000);
        }
        p
    }

    #[test]
    fn the_phase_that_took_the_time_is_named() {
        assert_eq!(where_it_went(&phases(2000, 2010, 2020)).unwrap().0, "connect");
        assert_eq!(where_it_went(&phases(1, 2400, 2410)).unwrap().0, "headers");
        assert_eq!(where_it_went(&phases(1, 20, 3000)).unwrap().0, "body");
        assert!(where_it_went(&Phases::default()).is_none());
    }

    #[test]
    fn every_upstream_slow_is_a_shared_cause_and_one_slow_is_that_one() {
        let all = [("a", 2500.0), ("b", 2100.0), ("c", 1900.0)];
        assert_eq!(everywhere(&all).unwrap().kind, "everywhere");
        assert!(slowest("upstream", &all).is_none(), "none is 5x the others");
        let one = [("a", 2500.0), ("b", 40.0), ("c", 35.0)];
        assert!(everywhere(&one).is_none());
        assert_eq!(slowest("upstream", &one).unwrap().subject, "a");
    }

    #[test]
    fn time_outside_the_upstreams_is_the_gateways() {
        let (mut all, mut up) = (LatencyHistogram::default(), LatencyHistogram::default());
        for _ in 0..100 {
            all.record(2_500_000);
            up.record(30_000);
        }
        assert_eq!(gateway_side(&all, &up).unwrap().kind, "gateway");
        let mut up_slow = LatencyHistogram::default();
        for _ in 0..100 {
            up_slow.record(2_400_000);
        }
        assert!(gateway_side(&all, &up_slow).is_none());
    }
}
