//! The trace view's error-log hops: nginx error-log lines in the console's plain-text panes, joined to the
//! traced request's access records the way `gatewatch trace` joins them (see [`crate::errorlog`]).

use crate::format::Format;
use crate::record::Role;

use super::pane::Pane;

/// Lines of each error-log pane looked at, from its newest: the trace view is drawn often.
const LINES_LOOKED_AT: usize = 50_000;

/// One error-log line joined to the traced request.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorHop {
    /// The pane holding it.
    pub pane: usize,
    /// Its line in the pane.
    pub line: usize,
    /// Lines of more than one connection fit the request.
    pub ambiguous: bool,
    /// Its time, placed in the access log's zone, µs (for ordering).
    pub unix_us: i64,
}

/// The error-log lines about the gateway records among `records` (pane, line).
pub fn error_hops(panes: &[Pane], records: &[(usize, usize)]) -> Vec<ErrorHop> {
    let mut keys = Vec::new();
    for &(pi, l) in records {
        let p = &panes[pi];
        if p.side() != Role::Gateway {
            continue;
        }
        if let Some(k) =
            p.parser.as_ref().and_then(|x| x.parse(p.lines.line(l))).and_then(|r| crate::errorlog::access_key(&r))
        {
            keys.push(k);
        }
    }
    if keys.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (pi, p) in panes.iter().enumerate() {
        let Some(parser) = p.parser.as_ref().filter(|x| matches!(x.format, Format::Plain)) else { continue };
        let n = p.lines.len();
        let mut at = Vec::new();
        let mut lines = Vec::new();
        for l in n.saturating_sub(LINES_LOOKED_AT)..n {
            let Some(e) = crate::format::nginx_error::parse(p.lines.line(l)) else { continue };
            let r = &e.record;
            let named = keys.iter().any(|k| {
                r.client.as_deref() == Some(k.client.as_str())
                    && r.method.as_deref() == Some(k.method.as_str())
                    && r.path.as_deref() == Some(k.path.as_str())
            });
            if named {
                at.push(l);
                lines.push(e);
            }
        }
        for k in &keys {
            let j = crate::errorlog::join(k, &lines, parser.options.local_tz.as_ref());
            for &i in &j.matched {
                if !out.iter().any(|h: &ErrorHop| h.pane == pi && h.line == at[i]) {
                    let unix_us = j.zone.place(lines[i].wall_us).unix_us;
                    out.push(ErrorHop { pane: pi, line: at[i], ambiguous: j.ambiguous, unix_us });
                }
            }
        }
    }
    out.sort_by_key(|h| h.unix_us);
    out
}
