//! `d` on a latency alert: which upstream or route is slow since the alert began (or every upstream, or the
//! gateway itself), and where the time went, from the gateway panes' records since then.

use std::collections::BTreeMap;

use super::app::App;
use super::diagnosis::DiagnosisView;
use crate::report::findings::{MIN_TIMED, Timed, latency_findings};
use crate::report::model::{RouteRow, UpstreamRow};
use crate::stats::latency::LatencyHistogram;
use crate::stats::tally::Phases;
use crate::stats::timeline::{Bucket, Point};

/// Records read per pane, at most (the newest).
const MAX_RECORDS: usize = 200_000;

impl App {
    /// The latency rule holding now (else the one that held last): its name and since when (log-time seconds).
    fn latency_alert(&self) -> Option<(String, i64)> {
        let is_latency = |name: &str| {
            self.opts
                .alert_rules
                .iter()
                .any(|r| r.name == name && matches!(r.measure, crate::alerts::Measure::Latency { .. }))
        };
        if let Some(f) = self.alerts.iter().find(|f| is_latency(&f.rule)) {
            return Some((f.rule.clone(), f.since));
        }
        self.alert_history().iter().rev().find(|e| is_latency(&e.rule)).map(|e| (e.rule.clone(), e.start))
    }

    /// The latency finding for the alert that holds (or held last); `Err` says why there is none.
    pub(crate) fn diagnose_latency(&self) -> Result<DiagnosisView, String> {
        let (rule, since) = self.latency_alert().ok_or("no latency alert has held")?;
        let panes = super::charts::scope_panes(&self.panes, super::charts::Scope::Gateways);
        let mut routes: BTreeMap<String, Bucket> = BTreeMap::new();
        let mut upstreams: BTreeMap<String, Bucket> = BTreeMap::new();
        let mut phases: BTreeMap<String, Phases> = BTreeMap::new();
        let (mut all, mut upstream) = (LatencyHistogram::default(), LatencyHistogram::default());
        for &i in &panes {
            let p = &self.panes[i];
            let Some(parser) = p.parser.as_ref() else { continue };
            let mut read = 0;
            for line in (0..p.lines.len()).rev() {
                let m = p.lines.meta(line);
                if m.time_ms().div_euclid(1000) < since {
                    break;
                }
                if m.status == 0 || read >= MAX_RECORDS {
                    continue;
                }
                read += 1;
                let text = p.lines.line(line);
                let Some(rec) = parser.parse(&text) else { continue };
                let point = Point { status: rec.status, latency_us: rec.duration_us, ..Point::default() };
                if let Some(d) = rec.duration_us {
                    all.record(d);
                }
                if let Some(path) = rec.path.as_deref() {
                    let route = crate::routes::normalize_bytes(path.as_bytes());
                    routes.entry(route).or_default().count(&point, &[]);
                }
                let us = rec.upstream_us.or(rec.duration_us);
                if let Some(u) = rec.upstream_us {
                    upstream.record(u);
                }
                // the last attempt answered: its time is the upstream's
                if let Some(addrs) = rec.upstream_addr.as_deref() {
                    // the last attempt, as the report takes it
                    let mut last = None;
                    let codes = rec.upstream_status.as_slice();
                    crate::stats::tally::for_each_upstream(addrs.as_bytes(), codes, m.status, |_, addr, _| {
                        last = Some(crate::text::escape_control(addr));
                    });
                    let Some(name) = last else { continue };
                    upstreams.entry(name.clone()).or_default().count(&Point { latency_us: us, ..point }, &[]);
                    if rec.upstream_connect_us.is_some() || rec.upstream_header_us.is_some() {
                        let ph = phases.entry(name).or_default();
                        ph.record(rec.upstream_connect_us, rec.upstream_header_us, us);
                    }
                }
            }
        }
        let upstream_rows: Vec<UpstreamRow> =
            upstreams.into_iter().map(|(address, b)| UpstreamRow::of(address, &b, None)).collect();
        let route_rows: Vec<RouteRow> = routes
            .into_iter()
            .filter(|(_, b)| b.timed as u64 >= MIN_TIMED)
            .map(|(route, b)| RouteRow::of(route, &b, None))
            .collect();
        let timed =
            Timed { upstreams: &upstream_rows, routes: &route_rows, phases: &phases, all: &all, upstream: &upstream };
        let at = super::charts::log_clock(&self.panes, since);
        let title = format!("latency since {at} ({rule})");
        let found = latency_findings(&timed, None);
        let mut record: Vec<String> = found.iter().map(|f| format!("Latency: {}", f.text)).collect();
        if record.is_empty() {
            let p99 = all.quantile(0.99).map_or("-".into(), crate::numbers::duration_text);
            record.push(format!(
                "Latency: p99 {p99} since {at}, with no upstream or route far slower than the others: look at the \
                 slowest routes in the charts (c, b)"
            ));
        }
        record.push(match found.first().map(|f| f.kind) {
            Some("upstream") => "check: this upstream's own logs and resources since then (CPU, pauses, a slow \
                                 dependency); its peers answer fast, so the gateway is not the cause"
                .to_string(),
            Some("everywhere") => "check: what every upstream shares (a database, DNS, the network) since then".into(),
            Some("gateway") => "check: the gateway's workers and connections, and slow clients, since then".into(),
            _ => "check: what this route does that the others do not (a heavy query, a slow dependency)".into(),
        });
        Ok(DiagnosisView { title, entries: Vec::new(), record })
    }
}
