//! The charts pane's update: opening it, its keys, indexing the panes' keys for its lists, and the alerts checked
//! as lines arrive.

use super::app::App;
use super::charts::{ChartData, ChartView, Scope, chart_data, firing, history, log_clock, scope_panes};
use super::keymap::Action;
use crate::alerts::Episode;
/// Lines indexed per pane per turn of [`App::index_keys`] before the budget is checked again.
const INDEX_STEP: usize = 5_000;

impl App {
    /// `c`: open the charts; when open, focus them; when focused, close them.
    pub fn toggle_charts(&mut self) {
        match &mut self.charts {
            None => self.charts = Some(ChartView::default()),
            Some(v) if !v.focused => v.focused = true,
            Some(_) => self.charts = None,
        }
        self.refit();
    }

    /// The charts as they are now, with `columns` columns (the list's rows do not depend on it).
    pub fn chart_data(&self, columns: usize) -> Option<ChartData> {
        let view = self.charts.as_ref()?;
        let mut data =
            chart_data(&self.panes, self.now, view, columns, &self.keys_index, || self.baseline_split(i64::MIN));
        if view.breakdown.indexed() {
            let panes = scope_panes(&self.panes, view.scope);
            let done: usize = panes.iter().map(|&i| self.keys_index[i].folded.min(self.panes[i].lines.len())).sum();
            let all: usize = panes.iter().map(|&i| self.panes[i].lines.len()).sum();
            data.indexing = (done < all).then_some((done, all));
        }
        Some(data)
    }

    /// A key while the charts are open: true when the charts took it.
    pub(crate) fn chart_key(&mut self, action: Action) -> bool {
        if self.overlay != super::app::Overlay::None && action == Action::Back {
            return false; // Esc closes the overlay (diagnosis, trace) first
        }
        if action == Action::Baseline {
            self.set_baseline();
            self.dirty = true;
            return true;
        }
        let panes = self.panes.len();
        let cols = match action {
            Action::Left | Action::Right => self.chart_data(self.chart_columns()).map(|d| (d.width_s, d.columns)),
            _ => None,
        };
        let Some(view) = self.charts.as_mut() else { return false };
        let (width, first, last) = match &cols {
            Some((w, c)) if !c.is_empty() => (*w, c[0].0, c[c.len() - 1].0),
            _ => (1, i64::MIN, i64::MIN),
        };
        match action {
            Action::NextWindow => view.step_window(1),
            Action::PrevWindow => view.step_window(-1),
            Action::Breakdown => view.next_breakdown(),
            Action::Scope => view.next_scope(panes),
            _ if !view.focused => return false,
            Action::Up => view.row = view.row.saturating_sub(1),
            Action::Down => view.row = view.row.saturating_add(1),
            Action::PageUp => view.row = view.row.saturating_sub(10),
            Action::PageDown => view.row = view.row.saturating_add(10),
            Action::Top => view.row = 0,
            Action::Bottom => view.row = usize::MAX,
            Action::Left => view.cursor = Some(view.cursor.map_or(last, |c| (c - width).clamp(first, last))),
            Action::Right => view.cursor = view.cursor.map(|c| c + width).filter(|&c| c <= last),
            Action::NextPane | Action::PrevPane => view.focused = false,
            Action::Detail => self.chart_select(),
            Action::Back => {
                // a filter typed since in the filter bar is the user's: it stays
                let current = &self.filter.text;
                if let Some((before, _)) = view.filter_before.take().filter(|(_, set)| set == current) {
                    self.apply_filter(&before);
                    self.notice =
                        Some(if before.is_empty() { "filter cleared".into() } else { format!("filter {before}") });
                } else if view.cursor.is_some() {
                    view.cursor = None;
                } else {
                    view.focused = false;
                }
            }
            _ => return false,
        }
        self.clamp_chart();
        self.dirty = true;
        true
    }

    /// `B`: the baseline ends at the selected column (what came before it is compared with what came since);
    /// again, or with no column selected, back to the default.
    fn set_baseline(&mut self) {
        let cursor = self.charts.as_ref().and_then(|v| v.cursor);
        self.baseline_end = match cursor {
            Some(c) if self.baseline_end != Some(c) => Some(c),
            _ => None,
        };
        self.notice = Some(match (self.baseline_end, self.baseline_split(i64::MIN)) {
            (Some(at), Some(_)) => format!(
                "what changed: everything before {} against what came since (B again: before the first alert)",
                log_clock(&self.panes, at)
            ),
            (Some(at), None) => format!(
                "baseline before {}: too short a span on one side to compare (at least {} s each)",
                log_clock(&self.panes, at),
                crate::diagnose::MIN_COMPARED_S
            ),
            (None, _) if cursor.is_none() && self.charts.is_some() => {
                "baseline: before the first alert (to set one, pick a moment with ←/→ in the charts, then B)".into()
            }
            (None, _) => "baseline: before the first alert, else the first half".into(),
        });
    }

    /// Keep the row and the column cursor within what the charts show.
    fn clamp_chart(&mut self) {
        let rows = self.chart_data(self.chart_columns()).map_or(0, |d| d.rows.len());
        if let Some(v) = self.charts.as_mut() {
            v.row = v.row.min(rows.saturating_sub(1));
        }
    }

    /// Columns of the histogram as laid out now.
    pub fn chart_columns(&self) -> usize {
        self.areas().charts.map_or(60, |r| super::chart_draw::plot_width(r.width) as usize)
    }

    /// Enter in the charts: filter the log panes to the selected code, route or address (a source: focus its
    /// pane), and move them to the selected column's moment.
    fn chart_select(&mut self) {
        let cols = self.chart_columns();
        let Some(data) = self.chart_data(cols) else { return };
        let Some(view) = self.charts.as_ref() else { return };
        let (row, cursor) = (data.rows.get(view.row).cloned(), view.cursor);
        if let Some(r) = &row {
            if let Some(f) = &r.filter {
                let before = self.filter.text.clone();
                if let Some(v) = self.charts.as_mut() {
                    // a second selection keeps the filter from before the first
                    let first = v.filter_before.take().filter(|(_, set)| *set == before).map_or(before, |(b, _)| b);
                    v.filter_before = Some((first, f.clone()));
                }
                self.apply_filter(f);
                self.notice = Some(format!("filter {f} (Esc in the charts puts back the one before)"));
            }
            if let Some(p) = r.pane {
                self.focus = p;
                if let Some(v) = self.charts.as_mut() {
                    v.scope = Scope::Pane(p);
                }
            }
        }
        if let Some((start, _)) = cursor.and_then(|c| data.column_of(c)).map(|i| &data.columns[i]) {
            self.jump_to_time(start * 1000);
        }
    }

    /// Move every pane's cursor to the first line at or after `ms` (log time), pausing them.
    pub fn jump_to_time(&mut self, ms: i64) {
        for i in 0..self.panes.len() {
            let h = self.pane_height(i);
            let p = &mut self.panes[i];
            if p.lines.is_empty() {
                continue;
            }
            let mut line = p.lines.line_at_time(ms).min(p.lines.len() - 1);
            // under a filter, the first shown line from there
            while line + 1 < p.lines.len() && !p.shows(line) {
                line += 1;
            }
            let row = p.line_row(line);
            p.set_cursor(row, h);
            p.follow = false;
        }
        self.dirty = true;
    }

    /// Whether routes or addresses wait to be indexed for the charts.
    pub fn indexing_pending(&self) -> bool {
        let Some(v) = &self.charts else { return false };
        v.breakdown.indexed()
            && scope_panes(&self.panes, v.scope).iter().any(|&i| self.keys_index[i].folded < self.panes[i].lines.len())
    }

    /// Index routes and addresses for up to `budget` while the charts list them; returns whether lines remain.
    pub(crate) fn index_keys(&mut self, budget: std::time::Duration) -> bool {
        if !self.indexing_pending() {
            return false;
        }
        let start = std::time::Instant::now();
        let scope = self.charts.as_ref().map_or(Scope::Gateways, |v| v.scope);
        for i in scope_panes(&self.panes, scope) {
            while self.keys_index[i].folded < self.panes[i].lines.len() {
                if start.elapsed() >= budget {
                    return true;
                }
                self.keys_index[i].fold(&self.panes[i], INDEX_STEP);
                self.dirty = true;
            }
        }
        self.indexing_pending()
    }

    /// Check the alert rules against what the gateways saw; the status bar shows the ones holding.
    pub fn check_alerts(&mut self) {
        // while older history fills in, the counts have a hole in them: no rule is judged on it
        let now = match self.panes.iter().any(|p| p.history.is_some()) {
            true => Vec::new(),
            false => firing(&self.panes, self.now, &self.opts.alert_rules),
        };
        if now != self.alerts {
            self.alerts = now;
            self.dirty = true;
        }
        // the whole session's episodes, for the charts pane: once a tick, not once a frame
        if self.charts.is_some() {
            self.alert_history = Some(history(&self.panes, self.now, &self.opts.alert_rules));
        }
    }

    /// Every episode of the alert rules since the first line, as of the last tick (or now, if none yet).
    pub fn alert_history(&self) -> std::borrow::Cow<'_, [Episode]> {
        match &self.alert_history {
            Some(h) => std::borrow::Cow::Borrowed(h),
            None => std::borrow::Cow::Owned(history(&self.panes, self.now, &self.opts.alert_rules)),
        }
    }
}
