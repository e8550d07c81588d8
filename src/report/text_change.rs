//! The text report's before → now cells, and its breakdowns by virtual host, node, client (top talkers), user
//! agent and consumer.

use std::fmt::Write;

use super::breakdown::{KeyRow, Trend};
use super::model::Report;
use super::text_style::{Style, e, ms, pad, pct, shorten};
use crate::diagnose::Change;
use crate::numbers::thousands;

/// A rate per minute for people: `0.4`, `12`, `1,204`.
fn rate(v: f64) -> String {
    if v < 10.0 && v.fract() != 0.0 { format!("{v:.1}") } else { thousands(v.round() as u64) }
}

/// `3 → 171  up 57×`, padded so that the notes line up.
pub(super) fn cell(c: &Change) -> String {
    format!("{:>15}  {}", format!("{} → {}", rate(c.before_per_minute), rate(c.now_per_minute)), e(&c.note))
}

/// `30 → 2,600` (p99 ms before → now), or `-` without durations.
pub(super) fn p99(t: &Trend) -> String {
    match (t.p99_before_ms, t.p99_now_ms) {
        (None, None) => "-".to_string(),
        (b, n) => format!("{} → {}", ms(b), ms(n)),
    }
}

/// Rows of each breakdown the text shows (`--json` has ten).
const TEXT_ROWS: usize = 5;

/// Keys wider than this are shortened from the left.
const KEY_WIDTH: usize = 34;

fn table(o: &mut String, st: &Style, title: &str, rows: &[KeyRow], compared: bool) {
    let w = rows.iter().map(|r| e(&r.key).chars().count()).max().unwrap_or(0).clamp(4, KEY_WIDTH);
    let timed = rows.iter().any(|r| r.latency_ms.is_some());
    let _ = writeln!(o, "\n{}", st.head(title));
    let mut head = format!("  {}  {:>10}  {:>7}  {:>9}  {:>4}", pad("", w), "requests", "share", "errors", "top");
    if timed {
        head.push_str(&format!("  {:>9}", "p99 ms"));
    }
    if compared {
        let of = rows.first().and_then(|r| r.change.as_ref()).map_or("requests", |c| c.of);
        head.push_str(&format!("  {of} per min before → now"));
    }
    let _ = writeln!(o, "{}", head.trim_end());
    for r in rows.iter().take(TEXT_ROWS) {
        let top = r.top_status.map_or("-".to_string(), |c| c.to_string());
        let mut line = format!(
            "  {}  {:>10}  {:>7}  {:>9}  {}",
            pad(&shorten(&r.key, w), w),
            thousands(r.requests),
            pct((r.share * 1000.0).round() as u64, 1000),
            thousands(r.errors),
            st.status(r.top_status.map_or(0, |c| c as u64 / 100), &format!("{top:>4}"))
        );
        if timed {
            line.push_str(&format!("  {:>9}", ms(r.latency_ms.as_ref().and_then(|l| l.p99))));
        }
        if let Some(c) = &r.change {
            line.push_str(&format!("  {}", cell(&c.change)));
        }
        let _ = writeln!(o, "{}", line.trim_end());
    }
}

/// The breakdowns with two keys or more (one host, one user agent tell nothing).
pub(super) fn breakdowns(o: &mut String, r: &Report, st: &Style) {
    let compared = r.comparison.is_some();
    let b = &r.breakdowns;
    let order = if compared { "by change" } else { "by count" };
    for (title, rows) in [
        (format!("VIRTUAL HOSTS (errors, {order})"), &b.hosts),
        (format!("NODES (5xx, {order})"), &b.nodes),
        (format!("TOP TALKERS (client addresses by requests, {order})"), &r.top_talkers.by_requests),
        (format!("TOP TALKERS (client addresses by errors, {order})"), &r.top_talkers.by_errors),
        (format!("USER AGENTS (requests, {order})"), &b.user_agents),
        (format!("CONSUMERS (requests, {order})"), &b.consumers),
    ] {
        if rows.len() >= 2 {
            table(o, st, &title, rows, compared);
        }
    }
}
