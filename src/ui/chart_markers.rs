//! Change markers on the charts: the lines that announce a change (a reload, a new cluster, a start) found among
//! the panes' lines, and the lines of `--markers` sources; and where each one falls on the charts.
//!
//! A pane's lines are looked at once each (see `markers_update.rs`), while the charts are open (as routes are indexed for them), a slice
//! each turn of the loop: a line that logs a request is passed over by its stored status alone, the others read
//! only when their bytes may announce a change ([`crate::markers::may_announce`]). Each source keeps its newest
//! [`MAX_MARKERS`] changes.

use super::charts::ChartData;
use super::pane::Pane;
use crate::format::{Format, Parser};
use crate::markers::{MAX_MARKERS, kind_of};

/// A change the charts mark.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartMarker {
    /// When, µs since the epoch.
    pub unix_us: i64,
    /// What kind of change (`gateway reload`; `change` for a line of a `--markers` source).
    pub kind: &'static str,
    /// Where it was read: the pane (its line's file or host, when it has several), or the marker source.
    pub source: String,
    /// The line's message.
    pub text: String,
}

impl ChartMarker {
    /// Its second of log time.
    pub fn second(&self) -> i64 {
        self.unix_us.div_euclid(1_000_000)
    }
}

/// The newest [`MAX_MARKERS`] changes of one source, oldest first.
#[derive(Clone, Debug, Default)]
struct Kept(Vec<ChartMarker>);

impl Kept {
    fn add(&mut self, m: ChartMarker) {
        let at = self.0.partition_point(|k| k.unix_us <= m.unix_us);
        self.0.insert(at, m);
        if self.0.len() > MAX_MARKERS {
            self.0.remove(0);
        }
    }
}

/// A `--markers` source: a file followed, or a command run and followed.
#[derive(Debug)]
pub(super) struct MarkerFeed {
    /// How it is named in the list: the file's name, or the command as typed.
    pub(super) name: String,
    /// Chosen from its first lines.
    parser: Option<Parser>,
    /// The last line it wrote to its standard error, said with its exit.
    pub(super) last_error: Option<String>,
    found: Kept,
}

/// Every change the console knows of.
#[derive(Debug, Default)]
pub struct Markers {
    /// Per pane: lines looked at so far, and the changes among them.
    panes: Vec<(usize, Kept)>,
    /// The `--markers` sources, in order (their source ids follow the panes').
    pub(super) feeds: Vec<MarkerFeed>,
    /// `--marker-regex`: the lines of the feeds it does not match are no change.
    regex: Option<regex::Regex>,
}

/// A short name for a kind of change, for the label above its column.
pub fn short_kind(kind: &str) -> &str {
    match kind {
        "gateway reload" | "ingress reload" => "reload",
        "Envoy cluster change" => "cds",
        "Envoy listener change" => "lds",
        "config reload" => "config",
        "service start" => "start",
        other => other,
    }
}

impl Markers {
    /// Markers for the panes' lines and for these `--markers` sources (named as the list shows them).
    pub fn new(feeds: Vec<String>, regex: Option<regex::Regex>) -> Self {
        let feeds = feeds
            .into_iter()
            .map(|name| MarkerFeed { name, parser: None, last_error: None, found: Kept::default() })
            .collect();
        Markers { panes: Vec::new(), feeds, regex }
    }

    /// Look at pane `i`'s lines again from its first (its history was put in front of them).
    pub fn forget(&mut self, i: usize) {
        if let Some(p) = self.panes.get_mut(i) {
            *p = Default::default();
        }
    }

    /// Whether pane `i` has lines not looked at yet.
    pub fn behind(&self, i: usize, pane: &Pane) -> bool {
        pane.parser.is_some() && self.panes.get(i).map_or(0, |(n, _)| *n) < pane.lines.len()
    }

    /// Look at up to `budget` more lines of pane `i`; returns how many changes they held.
    pub fn scan_pane(&mut self, i: usize, pane: &Pane, budget: usize) -> usize {
        if self.panes.len() <= i {
            self.panes.resize_with(i + 1, Default::default);
        }
        let Some(parser) = pane.parser.as_ref() else { return 0 };
        let (scanned, kept) = &mut self.panes[i];
        let mut found = 0;
        let end = pane.lines.len().min(scanned.saturating_add(budget));
        for l in *scanned..end {
            let m = pane.lines.meta(l);
            // a request's line announces nothing, nor does a stack trace's
            if m.parsed() && m.status != 0 || pane.lines.is_continuation(l) {
                continue;
            }
            let text = pane.lines.line(l);
            let line = &*text;
            if !crate::markers::may_announce(line) {
                continue;
            }
            // a line of another format among the source's (an error-log line in an access log): read as text
            let rec = if m.parsed() { parser.parse(line) } else { Format::Plain.parse(line, &parser.options) };
            if rec.as_ref().is_some_and(|r| r.status.is_some()) {
                continue;
            }
            let text = match rec.as_ref().and_then(|r| r.message.as_deref()) {
                Some(msg) => msg.to_string(),
                None => crate::text::escape_control(line),
            };
            let Some(kind) = kind_of(&text) else { continue };
            let unix_us = match rec.as_ref().and_then(|r| r.time) {
                Some(t) => t.unix_us,
                // the time of the line before
                None => m.time_ms() * 1000,
            };
            if !crate::stats::timeline::plausible(unix_us.div_euclid(1_000_000)) {
                continue;
            }
            let source = pane.label_name(l).unwrap_or(pane.name.as_str()).to_string();
            let text = text.chars().take(crate::markers::MAX_TEXT).collect();
            kept.add(ChartMarker { unix_us, kind, source, text });
            found += 1;
        }
        *scanned = end;
        found
    }

    /// Lines from `--markers` source `k`, arrived at `arrived_us` (µs since the epoch): each whose text the
    /// regex takes is a change at its own time, else at its arrival. Returns how many.
    pub fn feed_lines(&mut self, k: usize, data: &[u8], opts: &crate::input::ScanOptions, arrived_us: i64) -> usize {
        let Some(feed) = self.feeds.get_mut(k) else { return 0 };
        let parser = feed.parser.get_or_insert_with(|| crate::input::choose_parser(data, opts));
        let mut found = 0;
        crate::scan::for_each_line(data, |_, line| {
            let line = crate::format::trim_line(line);
            let rec = parser.parse(line);
            let Some((time, text)) = crate::markers::change_of(rec.as_ref(), line, self.regex.as_ref()) else {
                return;
            };
            let unix_us = time.unwrap_or(arrived_us);
            feed.found.add(ChartMarker { unix_us, kind: "change", source: feed.name.clone(), text });
            found += 1;
        });
        found
    }

    /// Every change known, oldest first.
    pub fn all(&self) -> Vec<&ChartMarker> {
        let mut all: Vec<&ChartMarker> =
            self.panes.iter().flat_map(|(_, k)| &k.0).chain(self.feeds.iter().flat_map(|f| &f.found.0)).collect();
        all.sort_by_key(|m| m.unix_us);
        all
    }

    /// The changes in the seconds `[from, to)`, oldest first.
    pub fn within(&self, from: i64, to: i64) -> Vec<&ChartMarker> {
        let mut all = self.all();
        all.retain(|m| (from..to).contains(&m.second()));
        all
    }
}

/// Where changes fall on a plot: the cell, the data column it shows, and the changes in that column.
#[derive(Clone, Debug, PartialEq)]
pub struct Placed<'a> {
    /// The plot's cell (0 = its first), the first that shows the column.
    pub cell: usize,
    /// The data column.
    pub column: usize,
    /// The changes in it, oldest first.
    pub changes: Vec<&'a ChartMarker>,
}

/// The first of `width` cells that shows data column `column` of `columns`, when each column gets an equal share
/// of the cells as the histogram draws them (cell `x` shows column `x * columns / width`).
pub fn cell_of(column: usize, columns: usize, width: usize) -> usize {
    if columns <= width { (column * width).div_ceil(columns.max(1)) } else { column * width / columns }
}

/// Where each of `markers` in the window of `data` falls on a plot `width` cells wide, left to right.
pub fn place<'a>(markers: &[&'a ChartMarker], data: &ChartData, width: usize) -> Vec<Placed<'a>> {
    let mut out: Vec<Placed<'a>> = Vec::new();
    for m in markers {
        let Some(column) = data.column_of(m.second()) else { continue };
        let cell = cell_of(column, data.columns.len(), width).min(width.saturating_sub(1));
        match out.iter_mut().find(|p| p.cell == cell) {
            Some(p) => p.changes.push(m),
            None => out.push(Placed { cell, column, changes: vec![m] }),
        }
    }
    out.sort_by_key(|p| p.cell);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Role;
    use crate::stats::timeline::Bucket;

    /// 2024-05-01 12:00:00 UTC.
    const T0: i64 = 1_714_564_800;

    fn access(sec: i64, status: u16) -> String {
        format!(
            "10.0.0.1 - - [01/May/2024:12:{:02}:{:02} +0000] \"GET /v1/orders/1 HTTP/1.1\" {status} 12 \"-\" \"curl/8\"\n",
            sec / 60,
            sec % 60
        )
    }

    fn pane_with(text: &str) -> Pane {
        let mut p = Pane::new("gw.log".into(), "/var/log/gw.log".into(), Some(Role::Gateway), &[]);
        p.ingest(text.as_bytes(), None, &crate::input::ScanOptions::default(), None);
        p
    }

    #[test]
    fn a_reload_among_access_lines_is_found_once_and_the_new_lines_only_are_read() {
        let mut text: String = (0..20).map(|s| access(s, 200)).collect();
        text += "2024/05/01 12:00:20 [notice] 1#1: signal process started\n";
        // a request whose path says "reconfiguring" is a request, not a change
        text += &access(21, 200).replace("/v1/orders/1", "/v1/reconfiguring");
        let mut p = pane_with(&text);
        let mut m = Markers::default();
        assert_eq!(m.scan_pane(0, &p, usize::MAX), 1);
        let all = m.all();
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].second(), all[0].kind, all[0].source.as_str(), all[0].text.as_str()),
            (T0 + 20, "gateway reload", "gw.log", "signal process started")
        );
        assert_eq!(m.scan_pane(0, &p, usize::MAX), 0, "the same lines are not read twice");
        assert!(!m.behind(0, &p));
        // more lines: only they are read
        let more = "2024/05/01 12:00:40 [notice] 1#1: signal process started\n".to_string() + &access(41, 502);
        p.ingest(more.as_bytes(), None, &crate::input::ScanOptions::default(), None);
        assert!(m.behind(0, &p));
        // a slice at a time: the reload is the first new line
        assert_eq!(m.scan_pane(0, &p, 1), 1);
        assert!(m.behind(0, &p));
        assert_eq!(m.scan_pane(0, &p, usize::MAX), 0);
        assert_eq!(m.all().iter().map(|c| c.second()).collect::<Vec<_>>(), [T0 + 20, T0 + 40]);
        assert_eq!(m.within(T0 + 30, T0 + 60).len(), 1);
    }

    #[test]
    fn an_application_log_announces_its_start_and_each_source_keeps_its_newest() {
        let mut text = String::new();
        for i in 0..MAX_MARKERS as i64 + 5 {
            let ms = (T0 + i) * 1000;
            text += &format!("{{\"level\":30,\"time\":{ms},\"msg\":\"Server started, listening on port 8080\"}}\n");
            text += &format!("{{\"level\":30,\"time\":{ms},\"msg\":\"request completed\"}}\n");
        }
        let p = pane_with(&text);
        let mut m = Markers::default();
        m.scan_pane(0, &p, usize::MAX);
        let all = m.all();
        assert_eq!(all.len(), MAX_MARKERS, "bounded");
        assert_eq!((all[0].second(), all[0].kind), (T0 + 5, "service start"), "the oldest went");
    }

    #[test]
    fn a_feed_line_is_a_change_at_its_time_or_at_its_arrival_when_the_regex_takes_it() {
        let mut m = Markers::new(vec!["deploys".into()], Some(regex::Regex::new("deploy|Scaled").unwrap()));
        let opts = crate::input::ScanOptions::default();
        let arrived = (T0 + 300) * 1_000_000;
        let data = b"2024-05-01T12:03:15Z deploy orders-api v2.3.1\n2024-05-01T12:03:18Z flag search-v2 on\n";
        assert_eq!(m.feed_lines(0, data, &opts, arrived), 1);
        assert_eq!(m.feed_lines(0, b"0s Normal ScalingReplicaSet Scaled up orders to 3\n", &opts, arrived), 1);
        let all = m.all();
        let got: Vec<(i64, &str, &str)> = all.iter().map(|c| (c.second(), c.kind, c.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (T0 + 195, "change", "deploy orders-api v2.3.1"),
                (T0 + 300, "change", "0s Normal ScalingReplicaSet Scaled up orders to 3")
            ]
        );
        assert!(all.iter().all(|c| c.source == "deploys"));
    }

    fn data(starts: &[i64], width_s: i64) -> ChartData {
        ChartData {
            end: starts.last().unwrap() + width_s,
            width_s,
            columns: starts.iter().map(|&s| (s, Bucket::default())).collect(),
            ..ChartData::default()
        }
    }

    fn marker(sec: i64) -> ChartMarker {
        ChartMarker {
            unix_us: sec * 1_000_000 + 500_000,
            kind: "gateway reload",
            source: "gw".into(),
            text: "x".into(),
        }
    }

    #[test]
    fn a_change_falls_in_the_column_holding_its_second() {
        // three 10-second columns over 30 cells: 10 cells each
        let d = data(&[T0, T0 + 10, T0 + 20], 10);
        let (a, b, c, out) = (marker(T0 + 15), marker(T0 + 19), marker(T0 + 29), marker(T0 + 30));
        let before = marker(T0 - 1);
        let placed = place(&[&before, &a, &b, &c, &out], &d, 30);
        let got: Vec<(usize, usize, usize)> = placed.iter().map(|p| (p.cell, p.column, p.changes.len())).collect();
        assert_eq!(got, [(10, 1, 2), (20, 2, 1)], "outside the window: not placed; one column: one mark");
        // the cell shows the column it is placed for, as the histogram draws it
        for (columns, width) in [(3usize, 30usize), (7, 30), (30, 30), (45, 30), (1, 5)] {
            for column in 0..columns {
                let cell = cell_of(column, columns, width);
                assert!(cell < width, "{column}/{columns} over {width}");
                if columns <= width {
                    assert_eq!(cell * columns / width, column, "{column}/{columns} over {width}");
                    assert!(cell == 0 || (cell - 1) * columns / width < column, "the column's first cell");
                }
            }
        }
    }

    #[test]
    fn kinds_have_short_labels() {
        assert_eq!(short_kind("gateway reload"), "reload");
        assert_eq!(short_kind("Envoy cluster change"), "cds");
        assert_eq!(short_kind("change"), "change");
    }
}
