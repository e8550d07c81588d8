//! The report as text for people: aligned tables, colour only when asked (a terminal without `NO_COLOR`).

use std::fmt::Write;

use super::model::{Percentiles, Report};

use super::text_style::{Style, e, ms, pad, pct, shorten};
use crate::numbers::thousands;

/// `2024-05-01T12:00:00.000Z` → `2024-05-01T12:00:00Z`: whole seconds read better in a table.
fn short_time(t: &str) -> String {
    match (t.find('.'), t.ends_with('Z')) {
        (Some(dot), true) => format!("{}Z", &t[..dot]),
        _ => t.to_string(),
    }
}

/// `first … last`, the date left out of `last` when it is the same day.
fn span(first: Option<&str>, last: Option<&str>) -> String {
    match (first, last) {
        (Some(a), Some(b)) => {
            let (a, b) = (short_time(a), short_time(b));
            match (a.split_once('T'), b.split_once('T')) {
                (Some((da, _)), Some((db, tb))) if da == db => format!("{a} … {tb}"),
                _ => format!("{a} … {b}"),
            }
        }
        _ => "no timestamps".into(),
    }
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-line chart of `values`, scaled to their maximum, resampled to at most `width` columns.
pub fn sparkline(values: &[f64], width: usize) -> String {
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let cols = values.len().min(width);
    let per = values.len().div_ceil(cols);
    let sampled: Vec<f64> = values.chunks(per).map(|c| c.iter().cloned().fold(0.0, f64::max)).collect();
    let max = sampled.iter().cloned().fold(0.0, f64::max);
    sampled
        .iter()
        .map(|&v| if max <= 0.0 || v <= 0.0 { ' ' } else { BARS[((v / max) * 7.0).round() as usize] })
        .collect()
}

/// Routes longer than this are shortened from the left, so the table fits 80 columns.
const ROUTE_WIDTH: usize = 30;

/// Status classes with their shares, the empty ones left out: `2xx 3,017 (84.0%)  4xx 216 (6.0%)`.
fn classes_line(st: &Style, classes: &std::collections::BTreeMap<String, u64>, requests: u64) -> String {
    let shown = classes.iter().filter(|(_, n)| **n > 0);
    let parts: Vec<String> = shown
        .map(|(class, n)| {
            let c = class[..1].parse().unwrap_or(0);
            format!("{} {} ({})", st.status(c, class), thousands(*n), pct(*n, requests))
        })
        .collect();
    parts.join("  ")
}

/// Codes with their counts, most frequent first (ties by code).
fn by_count(status: &std::collections::BTreeMap<String, u64>) -> Vec<(&String, &u64)> {
    let mut codes: Vec<(&String, &u64)> = status.iter().collect();
    codes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    codes
}

/// The most frequent codes: `200×3,017 404×72 401×61 …`.
fn top_codes(status: &std::collections::BTreeMap<String, u64>, n: usize) -> String {
    let codes = by_count(status);
    let top: Vec<String> = codes.iter().take(n).map(|(code, k)| format!("{code}×{}", thousands(**k))).collect();
    let more = if codes.len() > n { " …" } else { "" };
    format!("{}{more}", top.join(" "))
}

/// Render the report. `color` adds ANSI colours.
pub fn render(r: &Report, color: bool) -> String {
    let st = Style { on: color };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} — {} source(s), {}",
        st.head("gatewatch report"),
        r.sources.len(),
        span(r.first.as_deref(), r.last.as_deref())
    );

    // two lines a source, so the table reads in an 80-column terminal
    let _ = writeln!(o, "\n{}", st.head("SOURCES"));
    for s in &r.sources {
        let unparsed = format!("{} unparsed", thousands(s.unparsed));
        let mut unparsed = if s.unparsed > 0 { st.status(4, &unparsed) } else { unparsed };
        if s.continuation > 0 {
            // stack traces under the records: part of them, not lines that failed
            unparsed.push_str(&format!("  {} continuation", thousands(s.continuation)));
        }
        let _ = writeln!(o, "  {}  {}  {}", shorten(&s.path, 50), s.format, st.dim(s.role.name()));
        let _ = writeln!(
            o,
            "      {} lines  {} parsed  {}  {}",
            thousands(s.lines),
            thousands(s.parsed),
            unparsed,
            span(s.first.as_deref(), s.last.as_deref())
        );
        if s.requests > 0 {
            let _ = writeln!(o, "      status {}", classes_line(&st, &s.classes, s.requests));
            let _ = writeln!(o, "      codes  {}", top_codes(&s.status, 7));
        }
        if !s.levels.is_empty() {
            // most severe first
            let mut levels: Vec<(&String, &u64)> = s.levels.iter().collect();
            levels.sort_by_key(|(l, _)| std::cmp::Reverse(crate::record::Level::parse(l)));
            let levels: Vec<String> = levels.iter().map(|(l, n)| format!("{} {}", e(l), thousands(**n))).collect();
            let _ = writeln!(o, "      levels {}", levels.join("  "));
        }
        for u in &s.unparsed_examples {
            let _ = writeln!(o, "      {} {}", st.dim(&format!("unparsed line {}:", u.line)), shorten(&u.text, 50));
        }
    }

    let scope = if r.scope == "gateway" { "gateway sources" } else { "all sources" };
    let _ = writeln!(o, "\n{} ({scope}, {} requests)", st.head("STATUS"), thousands(r.requests));
    let _ = writeln!(o, "  {}", classes_line(&st, &r.classes, r.requests));
    let mut codes = by_count(&r.status);
    let changes: std::collections::HashMap<String, &crate::diagnose::Change> =
        r.status_change.iter().map(|c| (c.status.to_string(), &c.change)).collect();
    if !changes.is_empty() {
        // what rose most first, in the order the comparison gives
        let order: Vec<String> = r.status_change.iter().map(|c| c.status.to_string()).collect();
        codes.sort_by_key(|(c, _)| order.iter().position(|o| o == *c).unwrap_or(usize::MAX));
    }
    let head = format!("  {:<6} {:>11} {:>7}  {:>10} {:>10}", "code", "count", "share", "by gateway", "upstream");
    let head = if changes.is_empty() { head } else { format!("{head}  {:>17}", "per min before → now") };
    let _ = writeln!(o, "{head}");
    for (code, n) in codes {
        let c = code[..1].parse().unwrap_or(0);
        let made = r.errors.gateway.get(code).copied();
        let up = r.errors.upstream.get(code).copied();
        let show = |v: Option<u64>| v.map_or_else(|| "".to_string(), thousands);
        let row = format!(
            "  {} {:>11} {:>7}  {:>10} {:>10}",
            st.status(c, &format!("{code:<6}")),
            thousands(*n),
            pct(*n, r.requests),
            show(made),
            show(up)
        );
        let row = match changes.get(code.as_str()) {
            Some(c) => format!("{row}  {}", super::text_change::cell(c)),
            None => row,
        };
        let _ = writeln!(o, "{}", row.trim_end());
    }
    let _ = writeln!(
        o,
        "  errors produced by the gateway itself: {}   returned by upstreams: {}",
        thousands(r.errors.gateway_total),
        thousands(r.errors.upstream_total)
    );
    if r.errors.gateway_total > 0 && r.errors.upstream_logged == 0 {
        // a `combined` log, say: nothing tells the gateway's own errors from the upstream's
        let _ = writeln!(
            o,
            "  {}",
            st.dim("(the gateway log has no upstream status or address: every error counts as the gateway's)")
        );
    }

    if !r.routes.is_empty() {
        let _ = writeln!(o, "\n{}", st.head("TOP ROUTES BY ERRORS"));
        let rw = r.routes.iter().map(|x| x.route.chars().count()).max().unwrap_or(0).clamp(5, ROUTE_WIDTH);
        let _ = writeln!(
            o,
            "  {}  {:>10}  {:>9}  {:>8}  {:>8}  {:>4}{}",
            pad("route", rw),
            "requests",
            "errors",
            "5xx",
            "4xx",
            "top",
            if r.comparison.is_some() { "  errors per min before → now" } else { "" }
        );
        for x in &r.routes {
            let top = x.top_status.map_or("-".to_string(), |c| c.to_string());
            let _ = writeln!(
                o,
                "  {}  {:>10}  {:>9}  {:>8}  {:>8}  {}{}",
                pad(&shorten(&x.route, rw), rw),
                thousands(x.requests),
                thousands(x.errors),
                thousands(x.server_errors),
                thousands(x.client_errors),
                st.status(x.top_status.map_or(0, |c| c as u64 / 100), &format!("{top:>4}")),
                x.change.as_ref().map_or(String::new(), |c| format!("  {}", super::text_change::cell(&c.change)))
            );
        }
    }

    if !r.upstreams.is_empty() {
        let _ = writeln!(o, "\n{}", st.head("UPSTREAM ADDRESSES"));
        let aw = r.upstreams.iter().map(|x| x.address.chars().count().min(40)).max().unwrap_or(7).max(7);
        let _ = writeln!(
            o,
            "  {}  {:>10}  {:>9}  {:>7}  {:>9}  {:>9}{}",
            pad("address", aw),
            "attempts",
            "failures",
            "failed",
            "p50 ms",
            "p99 ms",
            if r.comparison.is_some() { "  failures per min before → now   p99 ms before → now" } else { "" }
        );
        for x in &r.upstreams {
            let failed = pct(x.failures, x.attempts);
            let failed = if x.failures * 20 > x.attempts {
                st.status(5, &format!("{failed:>7}"))
            } else {
                format!("{failed:>7}")
            };
            let _ = writeln!(
                o,
                "  {}  {:>10}  {:>9}  {}  {:>9}  {:>9}{}",
                pad(&shorten(&x.address, 40), aw),
                thousands(x.attempts),
                thousands(x.failures),
                failed,
                ms(x.latency_ms.p50),
                ms(x.latency_ms.p99),
                x.change.as_ref().map_or(String::new(), |c| format!(
                    "  {}   {}",
                    super::text_change::cell(&c.change),
                    super::text_change::p99(c)
                ))
            );
        }
    }

    if !r.slow_routes.is_empty() {
        let _ = writeln!(o, "\n{}", st.head("SLOWEST ROUTES (p99)"));
        let rw = r.slow_routes.iter().map(|x| x.route.chars().count()).max().unwrap_or(0).clamp(5, ROUTE_WIDTH);
        let _ = writeln!(
            o,
            "  {}  {:>10}  {:>9}  {:>9}  {:>9}{}",
            pad("route", rw),
            "requests",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            if r.comparison.is_some() { "  p99 ms before → now" } else { "" }
        );
        for x in r.slow_routes.iter().take(5) {
            let _ = writeln!(
                o,
                "  {}  {:>10}  {:>9}  {:>9}  {:>9}{}",
                pad(&shorten(&x.route, rw), rw),
                thousands(x.requests),
                ms(x.latency_ms.p50),
                ms(x.latency_ms.p95),
                ms(x.latency_ms.p99),
                x.change.as_ref().map_or(String::new(), |c| format!("  {}", super::text_change::p99(c)))
            );
        }
    }
    for f in &r.latency_findings {
        let _ = writeln!(o, "\n  {} {}", st.status(5, "▲"), e(&f.text));
    }
    super::text_change::breakdowns(&mut o, r, &st);

    let _ = writeln!(o, "\n{}", st.head("LATENCY (ms)"));
    let _ = writeln!(o, "  {:<10} {:>9} {:>9} {:>9} {:>9} {:>11}", "", "p50", "p95", "p99", "max", "count");
    let mut row = |name: &str, p: &Percentiles| {
        if p.count > 0 {
            let _ = writeln!(
                o,
                "  {:<10} {:>9} {:>9} {:>9} {:>9} {:>11}",
                name,
                ms(p.p50),
                ms(p.p95),
                ms(p.p99),
                ms(p.max),
                thousands(p.count)
            );
        }
    };
    row("all", &r.latency_ms.overall);
    for (class, p) in &r.latency_ms.by_class {
        row(class, p);
    }
    row("upstream", &r.latency_ms.upstream);
    if r.latency_ms.overall.count == 0 {
        let _ = writeln!(o, "  {}", st.dim("no durations logged"));
    }

    let c = &r.correlation;
    let _ = writeln!(o, "\n{}", st.head("CORRELATION (request id / trace id)"));
    let _ = writeln!(
        o,
        "  gateway requests {}, with upstream records {} ({})",
        thousands(c.gateway_requests),
        thousands(c.with_upstream),
        pct(c.with_upstream, c.gateway_requests)
    );
    let _ = writeln!(
        o,
        "  upstream-only ids {}   gateway ids {} (repeated {}, without id {})",
        thousands(c.upstream_only),
        thousands(c.gateway_ids),
        thousands(c.gateway_ids_repeated),
        thousands(c.gateway_without_id)
    );
    let _ =
        writeln!(o, "  upstream ids {} (repeated {})", thousands(c.upstream_ids), thousands(c.upstream_ids_repeated));

    if !r.error_rate_per_minute.is_empty() {
        let rates: Vec<f64> = r.error_rate_per_minute.iter().map(|m| m.error_rate).collect();
        let peak = r.error_rate_per_minute.iter().max_by(|a, b| a.error_rate.total_cmp(&b.error_rate));
        let _ = writeln!(o, "\n{}", st.head("5xx RATE PER MINUTE"));
        let _ = writeln!(o, "  {}", st.status(5, &sparkline(&rates, 76)));
        if let Some(p) = peak {
            let _ = writeln!(
                o,
                "  {} minute(s); peak {:.1}% at {} ({} of {} requests)",
                r.error_rate_per_minute.len(),
                p.error_rate * 100.0,
                short_time(&p.minute),
                thousands(p.server_errors),
                thousands(p.requests)
            );
        }
        let mut worst: Vec<_> = r.error_rate_per_minute.iter().filter(|m| m.server_errors > 0).collect();
        worst.sort_by(|a, b| b.error_rate.total_cmp(&a.error_rate).then(a.minute.cmp(&b.minute)));
        for m in worst.iter().take(5) {
            let _ = writeln!(
                o,
                "    {}  {:>5.1}%  {:>7} 5xx  {:>7} 4xx  {:>9} requests",
                short_time(&m.minute),
                m.error_rate * 100.0,
                thousands(m.server_errors),
                thousands(m.client_errors),
                thousands(m.requests)
            );
        }
    }
    if !r.alerts.is_empty() {
        let _ = writeln!(o, "\n{}", st.head("ALERTS (rules that held)"));
        let w = r.alerts.iter().map(|a| a.rule.chars().count()).max().unwrap_or(0);
        for a in &r.alerts {
            let end = a.end.as_deref().unwrap_or("still at the end");
            let _ = write!(
                o,
                "  {:<w$}  {} → {:<20}  {:>9}  peak {}",
                e(&a.rule),
                a.start,
                end,
                crate::numbers::span_text(a.seconds),
                a.peak_text
            );
            if let Some(since) = &a.low_volume_since {
                let _ = write!(o, "  (low volume since {since}: too few requests to judge, the verdict holds)");
            }
            let _ = writeln!(o);
        }
    }
    if !r.markers.is_empty() {
        let _ = writeln!(o, "\n{}", st.head("CHANGES (reloads, cluster and listener changes, starts)"));
        for m in r.markers.iter().take(20) {
            let _ = writeln!(o, "  {}  {:<22} {}: {}", m.time, m.kind, e(&m.source), e(&m.text));
        }
        if r.markers.len() > 20 {
            let _ = writeln!(o, "  … and {} more (--json lists them all)", r.markers.len() - 20);
        }
    }
    if !r.diagnosis.is_empty() {
        let head = match &r.comparison {
            Some(c) => format!(
                "DIAGNOSIS (what changed first: {} against the baseline {}, {})",
                span(Some(&c.window_from), Some(&c.window_to)),
                span(Some(&c.baseline_from), Some(&c.baseline_to)),
                c.how
            ),
            None => "DIAGNOSIS".to_string(),
        };
        let _ = writeln!(o, "\n{}", st.head(&head));
        for d in &r.diagnosis {
            let class = (d.status / 100) as u64;
            let _ = writeln!(
                o,
                "  {} ×{} from the {}: {}",
                st.status(class, &d.status.to_string()),
                thousands(d.count),
                d.origin,
                e(&d.cause)
            );
            if let Some(c) = &d.change {
                let _ = writeln!(
                    o,
                    "      · before → now: {}/min → {}/min, {}",
                    c.before_per_minute,
                    c.now_per_minute,
                    e(&c.note)
                );
            }
            for line in &d.evidence {
                let _ = writeln!(o, "      · {}", e(line));
            }
            let _ = writeln!(o, "      check: {}", e(&d.first_check));
            let _ = writeln!(o, "      fix:   {}", e(&d.fix));
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
    }

    #[test]
    fn spans_are_short() {
        assert_eq!(
            span(Some("2024-05-01T12:00:00.000Z"), Some("2024-05-01T12:09:59.983Z")),
            "2024-05-01T12:00:00Z … 12:09:59Z"
        );
        assert_eq!(
            span(Some("2024-05-01T23:59:00.000Z"), Some("2024-05-02T00:01:00.000Z")),
            "2024-05-01T23:59:00Z … 2024-05-02T00:01:00Z"
        );
        assert_eq!(span(None, None), "no timestamps");
    }

    #[test]
    fn sparkline_scales() {
        assert_eq!(sparkline(&[0.0, 0.5, 1.0], 10), " ▅█");
        assert_eq!(sparkline(&[1.0; 10], 5).chars().count(), 5);
    }
}
