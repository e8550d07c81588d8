//! Drawing the charts pane (status codes over time stacked by class, latency percentiles, the breakdown list),
//! the strip's sparkline and the diagnosis overlay. Each takes the state it draws, never the whole app.

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Clear, Dataset, GraphType, Paragraph, Wrap};

use super::chart_markers::Markers;
use super::charts::{Breakdown, ChartData, ChartView, Window, different_days, log_clock, log_stamp};
use super::diagnosis::DiagnosisView;
use super::display::{display_text, rate_text};
use super::keymap::Keymap;
use super::pane::Pane;
use super::theme::Theme;
use crate::alerts::Episode;
use crate::numbers::thousands;
use crate::stats::timeline::Bucket;

/// Width of the y-axis labels (and the axis line) left of both plots.
const GUTTER: u16 = 7;
const EIGHTHS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The list's width beside the plots in a charts pane `width` wide.
fn list_width(width: u16) -> u16 {
    (width * 2 / 5).clamp(30, 50)
}

/// Columns of the histogram in a charts pane `width` wide (borders, gutter and list taken off).
pub fn plot_width(width: u16) -> u16 {
    width.saturating_sub(2 + GUTTER + list_width(width) + 1).max(1)
}

/// `values` as a sparkline of block characters, scaled to their maximum.
pub fn sparkline(values: &[u64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| if max == 0 || v == 0 { ' ' } else { EIGHTHS[((v * 8).div_ceil(max)).clamp(1, 8) as usize] })
        .collect()
}

fn pct(n: u64, of: u64) -> String {
    if of == 0 { "-".into() } else { format!("{:.1}%", n as f64 * 100.0 / of as f64) }
}

/// One line about a bucket: requests, error shares, top error codes, latency percentiles.
pub fn bucket_summary(b: &Bucket, seconds: i64) -> String {
    let req = b.requests();
    let mut s = format!("{} req ({})", thousands(req), rate_text(req as f64 / seconds.max(1) as f64));
    if req > 0 {
        s += &format!(" · 4xx {} · 5xx {}", pct(b.classes[4] as u64, req), pct(b.classes[5] as u64, req));
    }
    let errs: Vec<String> = b
        .top_codes()
        .into_iter()
        .filter(|(c, _)| *c >= 400)
        .take(3)
        .map(|(c, n)| format!("{c}×{}", thousands(n as u64)))
        .collect();
    if !errs.is_empty() {
        s += &format!(" · {}", errs.join(" "));
    }
    if let (Some(p50), Some(p95), Some(p99)) = (b.quantile_us(0.5), b.quantile_us(0.95), b.quantile_us(0.99)) {
        let d = crate::numbers::duration_text;
        s += &format!(" · p50 {} p95 {} p99 {}", d(p50), d(p95), d(p99));
    }
    s
}

/// What the charts pane draws: the state it reads, handed over by the frame.
pub struct ChartsDraw<'a> {
    /// Colours.
    pub theme: &'a Theme,
    /// For the key hints.
    pub keymap: &'a Keymap,
    /// The panes: their names and the log's clock.
    pub panes: &'a [Pane],
    /// The pane's window, breakdown, scope, cursor and focus.
    pub view: &'a ChartView,
    /// The window's columns and the list's rows, [`plot_width`] columns wide.
    pub data: ChartData,
    /// Every alert episode so far.
    pub episodes: Cow<'a, [Episode]>,
    /// The changes known, to mark those in the window.
    pub markers: &'a Markers,
    /// The baseline "what changed?" compares against (see the diagnosis).
    pub baseline_split: Option<(i64, i64, i64)>,
}

/// Draw the charts pane.
pub fn draw_charts(d: &ChartsDraw<'_>, f: &mut Frame<'_>, r: Rect) {
    let t = d.theme;
    let view = d.view;
    let data = &d.data;
    let windows: Vec<Span> = Window::ALL
        .iter()
        .flat_map(|w| {
            let style = if *w == view.window { t.bar_key } else { t.dim };
            [Span::styled(format!(" {} ", w.label()), style)]
        })
        .collect();
    let mut title = vec![Span::styled(
        format!(" charts · {} · ", display_text(super::charts::scope_name(d.panes, view.scope).as_bytes())),
        t.title,
    )];
    title.extend(windows);
    title.push(Span::styled(format!(" · {}s a column ", data.width_s), t.dim));
    let hints = d.keymap.keys_for(super::keymap::Action::NextWindow).first().cloned().unwrap_or_default();
    let bottom = format!(
        " {hints}/{} window · {} list · {} scope · ←→ moment · ↑↓ row · Enter filter · {} diagnose · Esc back ",
        d.keymap.keys_for(super::keymap::Action::PrevWindow).first().cloned().unwrap_or_default(),
        d.keymap.keys_for(super::keymap::Action::Breakdown).first().cloned().unwrap_or_default(),
        d.keymap.keys_for(super::keymap::Action::Scope).first().cloned().unwrap_or_default(),
        d.keymap.keys_for(super::keymap::Action::Diagnose).first().cloned().unwrap_or_default(),
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if view.focused { t.border_focus } else { t.border })
        .title(Line::from(title))
        .title_bottom(Line::from(Span::styled(bottom, t.dim)));
    let inner = block.inner(r);
    f.render_widget(Clear, r);
    f.render_widget(block.style(t.base), r);
    if inner.height < 4 || inner.width < 20 {
        return;
    }
    let list_w = list_width(r.width).min(inner.width / 2);
    let left = Rect { width: inner.width - list_w - 1, ..inner };
    let list = Rect { x: inner.x + inner.width - list_w, width: list_w, ..inner };

    // the line above the plots: the selected moment, else the whole window, then the alerts that held
    let cursor = view.cursor.and_then(|c| data.column_of(c));
    let head = match cursor.map(|c| &data.columns[c]) {
        Some((start, b)) => {
            // the window crosses midnight: which day the moment is on matters
            let dated = different_days(d.panes, data.columns[0].0, data.end);
            let end = start + data.width_s;
            format!(
                "{}–{}  {}",
                log_stamp(d.panes, *start, dated),
                log_clock(d.panes, end),
                bucket_summary(b, data.width_s)
            )
        }
        None => {
            let span = data.width_s * data.columns.len() as i64;
            format!("window {}  {}", view.window.label(), bucket_summary(&data.total, span))
        }
    };
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(display_text(head.as_bytes()), t.base))),
        Rect { height: 1, ..left },
    );
    let rest = Rect { y: left.y + 1, height: left.height - 1, ..left };
    let episodes = &d.episodes;
    // the changes in the window: a lane of labels over the histogram, a mark in each one's column, and a list
    let changes = match data.columns.first() {
        Some((start, _)) => d.markers.within(*start, data.end),
        None => Vec::new(),
    };
    let lane_h = (!changes.is_empty() && rest.height >= 6) as u16;
    let change_rows = match rest.height {
        _ if changes.is_empty() => 0,
        12.. => changes.len().min(2) as u16,
        8.. => 1,
        _ => 0,
    };
    let alert_rows = if rest.height >= 12 { episodes.len().min(2) as u16 } else { 0 };
    let lane = Rect { height: lane_h, ..rest };
    let plots = Rect { y: rest.y + lane_h, height: rest.height - lane_h, ..rest };
    let hist_h = ((plots.height.saturating_sub(alert_rows + change_rows)) * 55 / 100).max(2);
    let hist = Rect { height: hist_h, ..plots };
    let axis = Rect { y: hist.y + hist_h, height: 1, ..plots };
    let lat =
        Rect { y: axis.y + 1, height: plots.height.saturating_sub(hist_h + 1 + alert_rows + change_rows), ..plots };
    let placed = super::chart_markers::place(&changes, data, hist.width.saturating_sub(GUTTER) as usize);
    draw_histogram(t, f, hist, data, cursor);
    if lane_h > 0 {
        draw_change_lane(t, f, lane, hist, &placed);
    }
    draw_time_axis(d, f, axis, data, cursor);
    if lat.height >= 2 {
        draw_latency(t, f, lat, data, &placed);
    }
    let mut y = lat.y + lat.height;
    for e in episodes.iter().rev().take(alert_rows as usize) {
        let dated = different_days(d.panes, e.start, data.end);
        let end = e.end.map_or("now".to_string(), |s| log_stamp(d.panes, s, dated));
        let text = format!("▲ {}  {} → {}  peak {}", e.rule, log_stamp(d.panes, e.start, dated), end, e.peak_text);
        let style = if e.end.is_none() { t.alert } else { t.dim };
        f.render_widget(Paragraph::new(Span::styled(text, style)), Rect { y, height: 1, ..left });
        y += 1;
    }
    // the newest changes first, as the alerts
    for c in changes.iter().rev().take(change_rows as usize) {
        let at = log_stamp(d.panes, c.second(), different_days(d.panes, c.second(), data.end));
        let mut text = display_text(format!("▼ {at} {} ({}: {})", c.kind, c.source, c.text).as_bytes());
        if text.chars().count() > left.width as usize {
            // narrow: what the line said matters more than where
            text = display_text(format!("▼ {at} {}: {}", c.kind, c.text).as_bytes());
        }
        f.render_widget(Paragraph::new(Span::styled(text, t.marker)), Rect { y, height: 1, ..left });
        y += 1;
    }
    draw_list(d, f, list, view.breakdown, view.row, view.focused);
}

/// Status codes over time: one column per bucket group, stacked 2xx, 3xx, 4xx, 5xx from the bottom.
fn draw_histogram(t: &Theme, f: &mut Frame<'_>, r: Rect, data: &ChartData, cursor: Option<usize>) {
    let max = data.columns.iter().map(|(_, b)| b.requests()).max().unwrap_or(0);
    let per_s = max as f64 / data.width_s.max(1) as f64;
    let buf = f.buffer_mut();
    let label = |y: u16, s: &str, buf: &mut ratatui::buffer::Buffer| {
        buf.set_stringn(r.x, y, format!("{s:>6}│"), GUTTER as usize, t.dim);
    };
    for y in r.y..r.y + r.height {
        label(y, "", buf);
    }
    label(r.y, &rate_text(per_s), buf);
    label(r.y + r.height - 1, "0", buf);
    if max == 0 {
        return;
    }
    let styles = [t.status_other, t.status_other, t.status_2xx, t.status_3xx, t.status_4xx, t.status_5xx];
    let order = [2usize, 3, 1, 0, 4, 5]; // successes at the bottom, errors on top where the eye goes
    let eighths_total = r.height as u64 * 8;
    let (plot_w, n) = ((r.width - GUTTER) as usize, data.columns.len());
    // each column of data gets an equal share of the plot's width (a window rarely divides it exactly)
    for px in 0..plot_w {
        let x = px * n / plot_w.max(1);
        let (_, b) = &data.columns[x];
        let px = r.x + GUTTER + px as u16;
        // cumulative heights in eighths of a cell, each class at least one eighth when present
        let mut tops = Vec::new();
        let mut acc = 0u64;
        for &c in &order {
            let n = b.classes[c] as u64;
            if n == 0 {
                continue;
            }
            acc += (n * eighths_total / max).max(1);
            tops.push((acc.min(eighths_total), c));
        }
        for row in 0..r.height {
            let (lo, hi) = (row as u64 * 8, row as u64 * 8 + 8);
            let y = r.y + r.height - 1 - row;
            // a cell shows the topmost class reaching into it: errors are stacked last, so a sliver of 5xx is
            // never painted over by the 2xx under it
            let stack_top = tops.last().map_or(0, |(t, _)| *t);
            if stack_top <= lo {
                break;
            }
            let mut below = 0;
            let mut class = tops[0].1;
            for &(top, c) in &tops {
                if top > lo && below < hi {
                    class = c;
                }
                below = top;
            }
            let ch = if stack_top >= hi { '█' } else { EIGHTHS[(stack_top - lo) as usize] };
            let mut style = styles[class];
            if cursor == Some(x) {
                style = style.add_modifier(Modifier::REVERSED);
            }
            buf.set_string(px, y, ch.to_string(), style);
        }
        if cursor == Some(x) && b.requests() == 0 {
            buf.set_string(px, r.y + r.height - 1, "▏", t.selection);
        }
    }
}

/// The changes over the histogram: `▼` over each one's column, with a short label where there is room, and a
/// dotted line down its column.
fn draw_change_lane(t: &Theme, f: &mut Frame<'_>, lane: Rect, hist: Rect, placed: &[super::chart_markers::Placed<'_>]) {
    let buf = f.buffer_mut();
    buf.set_stringn(lane.x, lane.y, format!("{:>6} ", "change"), GUTTER as usize, t.dim);
    let x0 = lane.x + GUTTER;
    let width = lane.width.saturating_sub(GUTTER) as usize;
    // labels to the right of their mark, else to its left, where they cover no other mark or label; the newest
    // (rightmost) first, as the newest change is the likeliest to matter
    let mut taken_from = width;
    for (i, p) in placed.iter().enumerate().rev() {
        let label = match p.changes.as_slice() {
            [one] => super::chart_markers::short_kind(one.kind).to_string(),
            many => format!("{} changes", many.len()),
        };
        let label = display_text(label.as_bytes());
        let len = label.chars().count();
        let before = i.checked_sub(1).map(|j| placed[j].cell);
        let (at, text) = if p.cell + 2 + len <= taken_from {
            (p.cell, format!("▼ {label}"))
        } else if p.cell > len && before.is_none_or(|c| c + len + 1 < p.cell) {
            (p.cell - len - 1, format!("{label} ▼"))
        } else {
            (p.cell, "▼".to_string())
        };
        taken_from = at;
        buf.set_stringn(x0 + at as u16, lane.y, &text, width.saturating_sub(at), t.marker);
        // through the bars too, as an annotation is drawn over a graph: the column's counts are in the head line
        // when the cursor is on it
        for y in hist.y..hist.y + hist.height {
            buf[(x0 + p.cell as u16, y)].set_symbol("┊").set_style(t.marker);
        }
    }
}

fn draw_time_axis(d: &ChartsDraw<'_>, f: &mut Frame<'_>, r: Rect, data: &ChartData, cursor: Option<usize>) {
    let t = d.theme;
    let n = data.columns.len();
    if n == 0 {
        return;
    }
    let width = (r.width - GUTTER) as usize;
    let at = |c: usize| c * width / n;
    let mut line = vec![' '; width];
    let put = |at: usize, s: &str, line: &mut Vec<char>| {
        let at = at.min(width.saturating_sub(s.len()));
        for (i, c) in s.chars().enumerate() {
            if at + i < line.len() {
                line[at + i] = c;
            }
        }
    };
    let dated = different_days(d.panes, data.columns[0].0, data.end);
    let label = |sec: i64| {
        let mut s = log_stamp(d.panes, sec, dated);
        if dated && data.width_s >= 60 {
            s.truncate(s.len() - 3); // minute columns: the seconds say nothing
        }
        s
    };
    let marker = cursor.filter(|c| *c < n).map(|c| at(c) + (at(c + 1) - at(c)) / 2);
    let mut labels = vec![(0, label(data.columns[0].0))];
    if width > 40 {
        let mid = label(data.columns[n / 2].0);
        labels.push((at(n / 2).saturating_sub(mid.len() / 2), mid));
    }
    let end = label(data.end);
    labels.push((width.saturating_sub(end.len()), end));
    for (x, text) in labels {
        // a label under the picked moment's marker gives way to it
        if marker.is_none_or(|m| m < x || m >= x + text.len()) {
            put(x, &text, &mut line);
        }
    }
    if let Some(m) = marker {
        put(m, "▲", &mut line);
    }
    let text: String = line.into_iter().collect();
    f.buffer_mut().set_stringn(r.x, r.y, format!("{:>6} ", ""), GUTTER as usize, t.dim);
    f.buffer_mut().set_stringn(r.x + GUTTER, r.y, text, width, t.dim);
}

/// p50, p95 and p99 per column, on a log scale of milliseconds; a change is a dotted line up its column.
fn draw_latency(t: &Theme, f: &mut Frame<'_>, r: Rect, data: &ChartData, changes: &[super::chart_markers::Placed<'_>]) {
    let series: Vec<(f64, Vec<(f64, f64)>)> = [0.5, 0.95, 0.99]
        .iter()
        .map(|&q| {
            let pts = data
                .columns
                .iter()
                .enumerate()
                .filter_map(|(x, (_, b))| b.quantile_us(q).map(|us| (x as f64, (us.max(1) as f64 / 1000.0).log10())))
                .collect();
            (q, pts)
        })
        .collect();
    let all = series.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y));
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let legend = Line::from(vec![
        Span::styled("latency ", t.dim),
        Span::styled("p50 ", t.status_2xx),
        Span::styled("p95 ", t.status_4xx),
        Span::styled("p99", t.status_5xx),
    ]);
    if lo > hi {
        f.render_widget(Paragraph::new(legend), Rect { x: r.x + GUTTER, height: 1, ..r });
        return;
    }
    let (lo, hi) = (lo.floor(), hi.ceil().max(lo.floor() + 1.0));
    let ms = |l: f64| crate::numbers::duration_text((10f64.powf(l) * 1000.0).round() as u64);
    let styles = [t.status_2xx, t.status_4xx, t.status_5xx];
    // a change: every other braille dot up its column, drawn first so the percentiles cross over it
    let steps = (r.height as usize * 4).max(2);
    let marks: Vec<Vec<(f64, f64)>> = changes
        .iter()
        .map(|p| (0..steps).step_by(2).map(|i| (p.column as f64, lo + (hi - lo) * i as f64 / steps as f64)).collect())
        .collect();
    let mut datasets: Vec<Dataset> = marks
        .iter()
        .map(|m| Dataset::default().marker(Marker::Braille).graph_type(GraphType::Scatter).style(t.marker).data(m))
        .collect();
    // one line per run of columns with requests: a stretch without any stays a gap, not a straight line over it
    datasets.extend(series.iter().zip(styles).flat_map(|((_, pts), st)| {
        pts.chunk_by(|a, b| b.0 - a.0 <= 1.0).map(move |run| {
            let kind = if run.len() == 1 { GraphType::Scatter } else { GraphType::Line };
            Dataset::default().marker(Marker::Braille).graph_type(kind).style(st).data(run)
        })
    }));
    let chart =
        Chart::new(datasets)
            .x_axis(Axis::default().bounds([0.0, (data.columns.len().max(2) - 1) as f64]))
            .y_axis(Axis::default().bounds([lo, hi]).labels(vec![
                Span::styled(format!("{:>6}", ms(lo)), t.dim),
                Span::styled(format!("{:>6}", ms(hi)), t.dim),
            ]))
            .style(t.base);
    f.render_widget(chart, r);
    f.render_widget(
        Paragraph::new(legend),
        Rect { x: r.x + GUTTER + 1, height: 1, width: r.width.saturating_sub(GUTTER + 1), ..r },
    );
}

/// Columns of a row's before → now.
const CHANGE_W: usize = 9;

/// `3→171`, or `new 12` when there was none before: per minute.
fn change_text(c: &crate::diagnose::Change) -> String {
    let n = |v: f64| if v < 10.0 && v.fract() != 0.0 { format!("{v:.1}") } else { format!("{v:.0}") };
    let s = format!("{}→{}", n(c.before_per_minute), n(c.now_per_minute));
    if s.chars().count() <= CHANGE_W { s } else { format!("→{}", n(c.now_per_minute)) }
}

fn draw_list(d: &ChartsDraw<'_>, f: &mut Frame<'_>, r: Rect, by: Breakdown, row: usize, focused: bool) {
    let (t, data) = (d.theme, &d.data);
    let mut lines = Vec::new();
    let head = match data.indexing {
        Some((done, all)) => format!("{} · indexing {}%", by.label(), done * 100 / all.max(1)),
        None => format!("{} · {} in window", by.label(), thousands(data.total.requests())),
    };
    // the rows' before → now: per minute, before the split against since it
    let head = match d.baseline_split {
        Some((_, split, _)) if data.rows.iter().any(|rw| rw.change.is_some()) => {
            let vs = format!("{head} · /min before→since {}", super::charts::log_clock(d.panes, split));
            if vs.chars().count() <= r.width as usize { vs } else { head }
        }
        _ => head,
    };
    lines.push(Line::from(Span::styled(head, t.title)));
    // the mark (2), the label, two numbers of 7 and 6 columns each after a space (15); then the p99 of the timed
    // lists (routes, upstreams, hosts, nodes, sources: 8), and a sparkline (a space and SPARK) where they leave
    // the label 16 columns
    let p99_w = if by != Breakdown::Codes && !by.counts_requests() && r.width >= 40 { 8 } else { 0 };
    // before → now per minute (`3→171`), first of what the label leaves room for
    let compared = data.rows.iter().any(|rw| rw.change.is_some());
    let change_w = if compared && r.width >= 36 { CHANGE_W + 1 } else { 0 };
    let room = (r.width as usize).saturating_sub(2 + 15 + p99_w + change_w);
    let spark_w = if room >= 16 + 1 + super::charts::SPARK { super::charts::SPARK } else { 0 };
    let tail_w = 15 + change_w + p99_w + if spark_w > 0 { 1 + spark_w } else { 0 };
    let label_w = (r.width as usize).saturating_sub(2 + tail_w).max(6);
    let visible = r.height.saturating_sub(1) as usize;
    let first = row.saturating_sub(visible.saturating_sub(1));
    if data.rows.is_empty() {
        lines.push(Line::from(Span::styled(
            if data.indexing.is_some() { "…" } else { "nothing in this window" },
            t.dim,
        )));
    }
    for (i, rw) in data.rows.iter().enumerate().skip(first).take(visible) {
        let selected = i == row && focused;
        let mark = if i == row { "▶ " } else { "  " };
        let label: String = display_text(rw.label.as_bytes());
        let label = if label.chars().count() > label_w {
            let cut: String = label.chars().take(label_w - 1).collect();
            cut + "…"
        } else {
            format!("{label:<label_w$}")
        };
        let nums = match by {
            Breakdown::Codes => format!("{:>7} {:>6}", thousands(rw.requests), pct(rw.requests, data.total.requests())),
            _ => format!("{:>7} {:>6}", thousands(rw.requests), pct(rw.errors, rw.requests)),
        };
        let label_style = match (by, rw.top_error) {
            (Breakdown::Codes, _) => t.status(rw.label.parse().unwrap_or(0)),
            (_, Some(c)) => t.status(c),
            _ => t.base,
        };
        let mut spans = vec![
            Span::styled(mark, t.base),
            Span::styled(label, label_style),
            Span::styled(format!(" {nums}"), t.base),
        ];
        if change_w > 0 {
            // what rose stands out; what was always there, or fell, is dim
            let (text, style) = match &rw.change {
                Some(c) if c.note.starts_with("up") || c.note.starts_with("new") => (change_text(c), t.status_5xx),
                Some(c) => (change_text(c), t.dim),
                None => (String::new(), t.dim),
            };
            spans.push(Span::styled(format!(" {text:>CHANGE_W$}"), style));
        }
        if p99_w > 0 {
            let p99 = rw.p99_us.map_or("-".to_string(), crate::numbers::duration_text);
            spans.push(Span::styled(format!(" {p99:>7}"), t.dim));
        }
        if spark_w > 0 {
            spans.push(Span::styled(" ", t.base));
            spans.push(Span::styled(
                sparkline(&rw.spark),
                if by == Breakdown::Codes { label_style } else { t.status_5xx },
            ));
        }
        if selected {
            spans = spans
                .into_iter()
                .map(|s| {
                    let st = s.style.patch(t.selection);
                    s.style(st)
                })
                .collect();
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines).style(t.base), r);
}

/// The diagnosis overlay.
pub fn draw_diagnosis(t: &Theme, d: &DiagnosisView, f: &mut Frame<'_>, r: Rect) {
    let mut lines: Vec<Line> = Vec::new();
    for l in &d.record {
        lines.push(Line::from(Span::styled(display_text(l.as_bytes()), t.id)));
    }
    if !d.record.is_empty() {
        lines.push(Line::default());
    }
    for e in &d.entries {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", e.status), t.status(e.status).add_modifier(Modifier::BOLD)),
            Span::styled(format!("×{} from the {}: ", thousands(e.count), e.origin), t.dim),
            Span::styled(display_text(e.cause.as_bytes()), t.title),
        ]));
        if let Some(c) = &e.change {
            lines.push(Line::from(vec![
                Span::styled("  before → now: ", t.bar_key),
                Span::styled(format!("{}/min → {}/min, {}", c.before_per_minute, c.now_per_minute, c.note), t.base),
            ]));
        }
        for ev in &e.evidence {
            lines.push(Line::from(Span::styled(format!("  · {}", display_text(ev.as_bytes())), t.base)));
        }
        lines.push(Line::from(vec![
            Span::styled("  check: ", t.bar_key),
            Span::styled(display_text(e.first_check.as_bytes()), t.base),
        ]));
        lines.push(Line::from(vec![
            Span::styled("  fix:   ", t.bar_key),
            Span::styled(display_text(e.fix.as_bytes()), t.base),
        ]));
        lines.push(Line::default());
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(format!(" diagnosis · {} ", display_text(d.title.as_bytes())), t.title))
        .style(t.overlay);
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).style(t.overlay), r);
}

/// Errors per second over the last minute of the gateways' (else all panes') log time, for the strip.
pub fn strip_spark(
    all_panes: &[Pane],
    instant: std::time::Instant,
    t: &Theme,
    width: usize,
) -> Option<(String, Style)> {
    let now = super::charts::log_now(all_panes, instant)?;
    let panes = super::charts::scope_panes(all_panes, super::charts::Scope::Gateways);
    let mut per = vec![0u64; width];
    let span = 60i64;
    for &i in &panes {
        let (_, cols) = all_panes[i].stats.recent.columns(now, span, width);
        for (a, (_, b)) in per.iter_mut().zip(cols) {
            *a += (b.classes[4] + b.classes[5]) as u64;
        }
    }
    let style = if per.iter().any(|&n| n > 0) { t.status_5xx } else { t.dim };
    Some((sparkline(&per), style))
}
