//! The trace view's joined hops: nginx error-log lines and Envoy's own log lines in the console's plain-text
//! panes, joined to the traced request's access records the way `gatewatch trace` joins them (see
//! [`crate::errorlog`] and [`crate::stream_join`]).

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
    /// What it was joined by: [`crate::errorlog::JOINED_BY`] or [`crate::stream_join::JOINED_BY`].
    pub joined_by: &'static str,
}

/// The error-log lines about the gateway records among `records` (pane, line).
pub fn error_hops(panes: &[Pane], records: &[(usize, usize)]) -> Vec<ErrorHop> {
    let mut keys = Vec::new();
    let mut ids = Vec::new();
    let mut offset = None;
    for &(pi, l) in records {
        let p = &panes[pi];
        let text = p.lines.line(l);
        let Some(rec) = p.parser.as_ref().and_then(|x| x.parse(&text)) else { continue };
        ids.extend(rec.request_id.as_deref().map(crate::ids::key));
        if p.side() != Role::Gateway {
            continue;
        }
        offset = offset.or(rec.time);
        keys.extend(crate::errorlog::access_key(&rec));
    }
    let mut out = stream_hops(panes, ids, offset);
    if keys.is_empty() {
        out.sort_by_key(|h| h.unix_us);
        return out;
    }
    for (pi, p) in panes.iter().enumerate() {
        let Some(parser) = p.parser.as_ref().filter(|x| matches!(x.format, Format::Plain)) else { continue };
        let n = p.lines.len();
        let mut at = Vec::new();
        let mut lines = Vec::new();
        let texts: Vec<_> = (n.saturating_sub(LINES_LOOKED_AT)..n).map(|l| (l, p.lines.line(l))).collect();
        for (l, text) in &texts {
            let l = *l;
            let Some(e) = crate::format::nginx_error::parse(text) else { continue };
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
                    let joined_by = crate::errorlog::JOINED_BY;
                    out.push(ErrorHop { pane: pi, line: at[i], ambiguous: j.ambiguous, unix_us, joined_by });
                }
            }
        }
    }
    out.sort_by_key(|h| h.unix_us);
    out
}

/// The lines of Envoy's own log in the plain-text panes that belong to the streams of the requests keyed `ids`,
/// their times placed in the zone of the gateway record's time `offset` (else UTC).
fn stream_hops(panes: &[Pane], ids: Vec<u64>, offset: Option<crate::record::LogTime>) -> Vec<ErrorHop> {
    let mut out = Vec::new();
    if ids.is_empty() {
        return out;
    }
    for (pi, p) in panes.iter().enumerate() {
        let Some(parser) = p.parser.as_ref().filter(|x| matches!(x.format, Format::Plain)) else { continue };
        let zone = crate::errorlog::ZoneSource::choose(offset, parser.options.local_tz.as_ref());
        let range = p.lines.len().saturating_sub(LINES_LOOKED_AT)..p.lines.len();
        let mut finder = crate::stream_join::Finder::new(ids.clone());
        range.clone().for_each(|l| finder.line(&p.lines.line(l)));
        if finder.streams.is_empty() {
            continue;
        }
        for l in range {
            if crate::stream_join::stream_among(&p.lines.line(l), &finder.streams).is_none() {
                continue;
            }
            let text = p.lines.line(l);
            let Some(d) = crate::format::envoy_debug::parse(&text) else { continue };
            let unix_us = zone.place(d.wall_us).unix_us;
            out.push(ErrorHop {
                pane: pi,
                line: l,
                ambiguous: false,
                unix_us,
                joined_by: crate::stream_join::JOINED_BY,
            });
        }
    }
    out
}
