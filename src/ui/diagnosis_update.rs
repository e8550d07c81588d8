//! The diagnosis overlay's update: the playbook of [`crate::diagnose`] for the selected record, or for the code,
//! route or address selected in the charts, with its evidence gathered from the panes' own records.

use super::app::{App, Overlay};
use super::charts::Breakdown;
use super::diagnosis::DiagnosisView;
use crate::diagnose::{Diagnosis, EvidenceSet, MIN_COMPARED_S, diagnose};

/// Error records read per pane and diagnosis, at most (the newest): enough to see a pattern, quick on a big pane.
const MAX_RECORDS: usize = 50_000;

/// Which error records to read.
struct Wanted<'a> {
    status: Option<u16>,
    route: Option<&'a str>,
    upstream: Option<&'a str>,
    /// The gateways' records this filter passes (a host, node, client, agent or consumer row's).
    filter: Option<crate::filter::Filter>,
    from_ms: i64,
    panes: Vec<usize>,
}

/// Error records by status, before a split time (the baseline) and from it on (the incident).
#[derive(Default)]
struct Counts {
    before: rustc_hash::FxHashMap<u16, u64>,
    now: rustc_hash::FxHashMap<u16, u64>,
    /// A pane's budget ran out: the oldest records were not read, so the baseline is not whole.
    cut: bool,
}

fn gather(app: &App, w: &Wanted<'_>) -> EvidenceSet {
    gather_counting(app, w, None).0
}

/// [`gather`], counting each status before and after `split_ms` as well.
fn gather_counting(app: &App, w: &Wanted<'_>, split_ms: Option<i64>) -> (EvidenceSet, Counts) {
    let mut ev = EvidenceSet::default();
    let mut counts = Counts::default();
    for &i in &w.panes {
        // each pane its own budget: a busy gateway must not leave the services' messages unread
        let mut read = 0;
        let p = &app.panes[i];
        let Some(parser) = p.parser.as_ref() else { continue };
        let role = p.side();
        for line in (0..p.lines.len()).rev() {
            if read >= MAX_RECORDS {
                counts.cut = true;
                break;
            }
            let m = p.lines.meta(line);
            if m.status < 400 || w.status.is_some_and(|s| s != m.status) {
                continue;
            }
            if m.time_ms() < w.from_ms {
                continue;
            }
            let text = p.lines.line(line);
            let Some(rec) = parser.parse(&text) else { continue };
            if let Some(route) = w.route
                && rec.path.as_deref().is_none_or(|path| crate::routes::normalize_bytes(path.as_bytes()) != route)
            {
                continue;
            }
            if let Some(addr) = w.upstream
                && rec.upstream_addr.as_deref().is_none_or(|a| !a.split([',', ' ']).any(|x| x == addr))
            {
                continue;
            }
            let node = p.lines.label(line).unwrap_or(&p.name);
            if role == crate::record::Role::Gateway
                && w.filter.as_ref().is_some_and(|f| !f.matches_on(&rec, Some(node)))
            {
                continue;
            }
            ev.add(&rec, role);
            if role == crate::record::Role::Gateway {
                ev.add_node(m.status, p.lines.label(line).unwrap_or(&p.name));
            }
            read += 1;
            // the gateways' records are what the diagnosis counts, when there are any
            if let Some(split) = split_ms
                && role == crate::record::Role::Gateway
            {
                let side = if m.time_ms() < split { &mut counts.before } else { &mut counts.now };
                *side.entry(m.status).or_default() += 1;
            }
        }
    }
    let gateways = w.panes.iter().map(|&i| &app.panes[i]).filter(|p| p.side() == crate::record::Role::Gateway);
    let nodes: Vec<&str> = gateways
        .flat_map(|p| match p.lines.labels() {
            [] => vec![p.name.as_str()],
            labels => labels.iter().map(|l| &**l).collect(),
        })
        .collect();
    ev.note_nodes(nodes.iter().copied());
    (ev, counts)
}

/// What a route's, upstream's or source's row says about latency when it is far slower than the others: its
/// p99 over a second and over five times the median of theirs.
fn slow_row(rows: &[super::charts::Row], row: &super::charts::Row, breakdown: Breakdown) -> Vec<String> {
    let kind = match breakdown {
        Breakdown::Routes => "route",
        Breakdown::Upstreams => "upstream",
        Breakdown::Sources => "source",
        Breakdown::Hosts => "host",
        Breakdown::Nodes => "node",
        Breakdown::Clients | Breakdown::Agents | Breakdown::Consumers | Breakdown::Codes => return Vec::new(),
    };
    let Some(p99) = row.p99_us else { return Vec::new() };
    let mut others: Vec<u64> = rows.iter().filter(|r| r.label != row.label).filter_map(|r| r.p99_us).collect();
    if others.is_empty() {
        return Vec::new();
    }
    others.sort_unstable();
    let median = others[others.len() / 2];
    if p99 < 1_000_000 || p99 <= median.saturating_mul(5) {
        return Vec::new();
    }
    let t = crate::numbers::duration_text;
    vec![
        format!("Latency: slow {kind} {}: p99 {}, the others {} (median of {})", row.label, t(p99), t(median), others.len()),
        match breakdown {
            Breakdown::Upstreams => "check: this upstream's own logs and resources over the window (CPU, pauses, a slow \
                                     dependency); its peers in the same pool answer fast, so the gateway is not the cause"
                .to_string(),
            _ => "check: what this one does that the others do not (a slow dependency, a heavy query), over the window"
                .to_string(),
        },
    ]
}

impl App {
    /// `d`: diagnose the code, route or address selected in the focused charts, else the selected record.
    pub fn diagnose_selected(&mut self) {
        if self.overlay == Overlay::Diagnosis {
            self.overlay = Overlay::None;
            return;
        }
        let view = match self.charts.as_ref().filter(|v| v.focused) {
            Some(v) => self.diagnose_chart_row(v.breakdown, v.window.span(), v.window.label()),
            // a record that is no error, while a latency alert holds (or held): the latency finding
            None => self.diagnose_record().or_else(|why| self.diagnose_latency().map_err(|_| why)),
        };
        match view {
            Ok(v) => {
                self.diagnosis = Some(v);
                self.overlay = Overlay::Diagnosis;
            }
            Err(why) => self.notice = Some(why),
        }
    }

    fn diagnose_chart_row(
        &self,
        breakdown: Breakdown,
        span: Option<i64>,
        window: &str,
    ) -> Result<DiagnosisView, String> {
        let data = self.chart_data(self.chart_columns()).ok_or("no charts")?;
        let row = self.charts.as_ref().and_then(|v| data.rows.get(v.row)).ok_or("nothing selected in the charts")?;
        let from_ms = span.map_or(i64::MIN, |s| (data.end - s) * 1000);
        let over = if span.is_some() { format!("over the last {window}") } else { "since the first line".into() };
        // every pane: the services' records carry the messages that explain the gateway's errors
        let panes = match (breakdown, row.pane) {
            (Breakdown::Sources, Some(p)) => vec![p],
            _ => (0..self.panes.len()).collect(),
        };
        let mut w = Wanted { status: None, route: None, upstream: None, filter: None, from_ms, panes };
        let title = match breakdown {
            Breakdown::Codes => {
                let code: u16 = row.label.parse().map_err(|_| "not a status code")?;
                if code < 400 {
                    return Err(format!("{code} is not an error: nothing to diagnose"));
                }
                w.status = Some(code);
                format!("{code} {over}")
            }
            Breakdown::Routes => {
                w.route = Some(&row.label);
                format!("route {} {over}", row.label)
            }
            Breakdown::Upstreams => {
                w.upstream = Some(&row.label);
                format!("upstream {} {over}", row.label)
            }
            Breakdown::Sources => format!("{} {over}", row.label),
            by => {
                w.filter = row.filter.as_deref().and_then(|f| crate::filter::Filter::parse(f).ok());
                format!("{} {} {over}", by.label().trim_end_matches('s'), row.label)
            }
        };
        let compare = self.baseline_split(from_ms);
        let (ev, counts) = gather_counting(self, &w, compare.map(|c| c.1 * 1000));
        let mut entries = diagnose(&ev);
        // a latency incident needs no error: a row far slower than its peers says so first
        let slow = slow_row(&data.rows, row, breakdown);
        if entries.is_empty() && slow.is_empty() {
            return Err(format!("no errors for {title}"));
        }
        let mut title = title;
        if let Some((first, split, end)) = compare.filter(|_| !counts.cut) {
            let count =
                |s: u16, before: bool| *(if before { &counts.before } else { &counts.now }).get(&s).unwrap_or(&0);
            let at = |t: i64| super::charts::log_stamp(&self.panes, t, false);
            crate::diagnose::rank_by_change(&mut entries, count, (split - first, end - split), &at(first));
            self.tie_to_changes(&mut entries, (first, split));
            title = format!("{title}, what changed first (since {} against before)", at(split));
        }
        Ok(DiagnosisView { title, entries, record: slow })
    }

    /// The baseline for "what changed?": from the first second (or `from_ms`) to the start of the first alert, else
    /// to half way; and the end. `None` when either side is shorter than [`MIN_COMPARED_S`].
    pub(crate) fn baseline_split(&self, from_ms: i64) -> Option<(i64, i64, i64)> {
        let first = self.panes.iter().filter_map(|p| p.stats.first_second()).min()?.max(from_ms.div_euclid(1000));
        let end = super::charts::log_now(&self.panes, self.now)?;
        let fits = |s: i64| s - first >= MIN_COMPARED_S && end - s >= MIN_COMPARED_S;
        if let Some(set) = self.baseline_end {
            return fits(set).then_some((first, set, end));
        }
        // the first alert's start, when it leaves both sides long enough; else half way
        let alert = self.alert_history().iter().map(|e| e.start).filter(|&s| s - first >= MIN_COMPARED_S).min();
        let split = alert.filter(|&s| fits(s)).unwrap_or(first + (end - first) / 2);
        fits(split).then_some((first, split, end))
    }

    pub(crate) fn diagnose_record(&self) -> Result<DiagnosisView, String> {
        let p = self.panes.get(self.focus).ok_or("no pane")?;
        let line = p.selected_line().ok_or("no line selected")?;
        let m = p.lines.meta(line);
        if m.status == 0 {
            return Err("the selected line has no status: select a request's line to diagnose it".into());
        }
        if m.status < 400 {
            return Err(format!("the selected record is a {}: not an error", m.status));
        }
        // the family this record belongs to, from every pane's records of the same status
        let w = Wanted {
            status: Some(m.status),
            route: None,
            upstream: None,
            filter: None,
            from_ms: i64::MIN,
            panes: (0..self.panes.len()).collect(),
        };
        let entries: Vec<Diagnosis> =
            diagnose(&gather(self, &w)).into_iter().filter(|d| d.status == m.status).collect();
        let mut record = Vec::new();
        let text = p.lines.line(line);
        if let Some(rec) = p.parser.as_ref().and_then(|x| x.parse(&text)) {
            let mut hops = Vec::new();
            if !rec.upstream_status.as_slice().is_empty() {
                let list: Vec<String> = rec.upstream_status.as_slice().iter().map(u16::to_string).collect();
                hops.push(format!("upstream answered {}", list.join(", ")));
            } else if p.side() == crate::record::Role::Gateway {
                hops.push("no upstream status: the gateway answered itself".into());
            }
            if let Some(a) = &rec.upstream_addr {
                hops.push(format!("upstream {a}"));
            }
            if let Some(u) = rec.upstream_us {
                hops.push(format!("upstream time {}", crate::numbers::duration_text(u)));
            }
            if let Some(d) = rec.duration_us {
                hops.push(format!("total {}", crate::numbers::duration_text(d)));
            }
            if let Some(f) = &rec.flags {
                hops.push(format!("flags {f}"));
            }
            if !hops.is_empty() {
                record.push(format!("This record: {}", hops.join(" · ")));
            }
        }
        // what the other sources logged for the same request
        for (pi, l) in self.request_records() {
            if pi == self.focus {
                continue;
            }
            let q = &self.panes[pi];
            let text = q.lines.line(l);
            let Some(r) = q.parser.as_ref().and_then(|x| x.parse(&text)) else { continue };
            // the record's one-line form, as the panes and `tail` show it (its message included)
            record.push(format!("Same request: {} · {}", q.name, crate::output::record_text(&r, false)));
        }
        if matches!(m.status, 401 | 403) {
            // a token question: say whether the evidence holds the token, and how to look at it
            let j = self.keymap.keys_for(super::keymap::Action::Token).first().cloned().unwrap_or_default();
            let mut texts = vec![p.lines.line(line).to_vec()];
            texts.extend(self.request_records().into_iter().map(|(pi, l)| self.panes[pi].lines.line(l).to_vec()));
            let found = texts.iter().flat_map(|t| crate::token::find::find(&String::from_utf8_lossy(t))).next();
            record.push(match found {
                Some(f) => format!("Token: this request's lines carry one ({}): {j} checks its signature and expiry at the request's time", f.place),
                None => format!("Token: none in this request's lines (gateways seldom log them): {j} opens a pane to paste one"),
            });
        }
        let title = format!("{} at {} line {}", m.status, p.name, line + 1);
        if entries.is_empty() {
            return Err(format!("no evidence for {}", m.status));
        }
        Ok(DiagnosisView { title, entries, record })
    }
}
