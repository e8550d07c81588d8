//! Looking for changes in the panes' lines (and reading `--markers` sources) for the charts, a slice each turn.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use super::app::App;
use super::charts::{Scope, log_clock, scope_panes};
use crate::diagnose::Diagnosis;
use crate::source::{SourceEvent, SourceMsg};

/// Lines looked at per pane per turn of [`App::scan_markers`] before the budget is checked again.
const SCAN_STEP: usize = 5_000;

impl App {
    /// Whether the charts are open and panes have lines not yet looked at for changes.
    pub fn markers_pending(&self) -> bool {
        self.charts.is_some() && (0..self.panes.len()).any(|i| self.markers.behind(i, &self.panes[i]))
    }

    /// Look for changes in the panes' lines for up to `budget`, while the charts are open; returns whether lines
    /// remain.
    pub(crate) fn scan_markers(&mut self, budget: Duration) -> bool {
        if self.charts.is_none() {
            return false;
        }
        let start = Instant::now();
        for i in 0..self.panes.len() {
            while self.markers.behind(i, &self.panes[i]) {
                if start.elapsed() >= budget {
                    return true;
                }
                if self.markers.scan_pane(i, &self.panes[i], SCAN_STEP) > 0 {
                    self.dirty = true;
                }
            }
        }
        false
    }

    /// A message from a `--markers` source (its id after the panes'): lines become changes; its end or failure is
    /// said in the status bar.
    pub(crate) fn marker_message(&mut self, msg: SourceMsg) {
        let first = self.panes.len();
        match msg {
            SourceMsg::Lines(b) => {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
                let now_us = now.map_or(0, |d| d.as_micros() as i64);
                if self.markers.feed_lines(b.source - first, &b.data, &self.opts, now_us) > 0 {
                    self.dirty = true;
                }
            }
            SourceMsg::Event(id, e) => {
                let Some(feed) = self.markers.feeds.get_mut(id - first) else { return };
                match &e {
                    SourceEvent::Stderr { line, .. } => feed.last_error = Some(line.clone()),
                    SourceEvent::Exited { code: Some(0), .. } | SourceEvent::Started { .. } => {}
                    SourceEvent::Exited { .. } | SourceEvent::Failed { .. } | SourceEvent::Unreadable { .. } => {
                        let said = feed.last_error.take().map_or(String::new(), |l| format!(": {l}"));
                        self.notice = Some(format!("markers: {e}{said}"));
                        self.dirty = true;
                    }
                    _ => {}
                }
            }
        }
    }

    /// Name the change that came just before each family of `entries` rose against the baseline `(from, to)`
    /// (seconds), as the report does: "began 4 s after a gateway reload at 12:03:16 (…)".
    pub(crate) fn tie_to_changes(&self, entries: &mut [Diagnosis], baseline: (i64, i64)) {
        let all = self.markers.all();
        if all.is_empty() {
            return;
        }
        // the gateways' newest hour, a second a bucket: what the families are counted in
        let panes = scope_panes(&self.panes, Scope::Gateways);
        let mut series = panes.iter().map(|&i| Cow::Borrowed(&self.panes[i].stats.recent));
        let Some(mut merged) = series.next() else { return };
        for s in series {
            merged.to_mut().merge(&s);
        }
        let changes: Vec<crate::markers::Change<'_>> = all
            .iter()
            .map(|m| crate::markers::Change { unix_us: m.unix_us, kind: m.kind, source: &m.source, text: &m.text })
            .collect();
        crate::markers::tie_to_changes(&merged, baseline, &changes, |s| log_clock(&self.panes, s), entries);
    }
}
