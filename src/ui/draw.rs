//! Drawing the frame: the one view that reads the whole [`App`] (never changing it); it draws the panes, the strip
//! and the overlays, and hands the charts, replay and token views the state each draws. Log text is untrusted:
//! every line goes through [`display_text`], so no control character or escape sequence reaches the terminal.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::app::{App, Mode, Overlay};
use super::display::display_text;
use super::pane::{Pane, pane_rate};
use crate::numbers::thousands;
use crate::output::Part;
use crate::record::Role;

/// Draw the whole console.
pub fn draw(app: &App, f: &mut Frame<'_>) {
    let areas = app.areas();
    let t = &app.theme;
    f.render_widget(Block::default().style(t.base), f.area());
    draw_strip(app, f, areas.strip);
    for &(i, r) in &areas.panes {
        draw_pane(app, f, i, r);
    }
    if let Some(r) = areas.detail {
        draw_detail(app, f, r);
    }
    if let (Some(r), Some(view)) = (areas.charts, &app.charts) {
        let d = super::chart_draw::ChartsDraw {
            theme: &app.theme,
            keymap: &app.keymap,
            panes: &app.panes,
            view,
            data: app.chart_data(super::chart_draw::plot_width(r.width) as usize).unwrap_or_default(),
            episodes: app.alert_history(),
            markers: &app.markers,
            baseline_split: app.baseline_split(i64::MIN),
        };
        super::chart_draw::draw_charts(&d, f, r);
    }
    if let (Some(r), Some(view)) = (areas.replay, app.token.as_ref()) {
        let d = super::token_draw::TokenDraw { view, focused: app.tool_focus, theme: &app.theme, keymap: &app.keymap };
        super::token_draw::draw_token(&d, f, r);
    } else if let (Some(r), Some(view)) = (areas.replay, app.replay.as_ref()) {
        let d = super::replay_draw::ReplayDraw {
            view,
            focused: app.tool_focus,
            theme: &app.theme,
            keymap: &app.keymap,
            base: app.replay_settings.base.as_deref(),
            allowlist: app.replay_settings.allow_hosts.is_some(),
            redactor: &app.replay_settings.redactor,
            now: app.now,
            narrow: r.width < 100,
        };
        super::replay_draw::draw_replay(&d, f, r);
    }
    if let Some(r) = areas.input {
        draw_input(app, f, r);
    }
    draw_status(app, f, areas.status);
    match app.overlay {
        Overlay::Trace => draw_trace(app, f, areas.overlay),
        Overlay::Help => draw_help(app, f, areas.overlay),
        Overlay::Diagnosis => {
            if let Some(d) = &app.diagnosis {
                super::chart_draw::draw_diagnosis(&app.theme, d, f, areas.overlay);
            }
        }
        Overlay::None | Overlay::Detail => {}
    }
}

/// Drop the first `cols` display columns of a line's spans (horizontal scroll); a wide character cut in half
/// becomes a space.
fn skip_columns(spans: Vec<Span<'static>>, cols: usize) -> Vec<Span<'static>> {
    let mut left = cols;
    let mut out = Vec::with_capacity(spans.len());
    for s in spans {
        if left == 0 {
            out.push(s);
            continue;
        }
        let mut text = String::new();
        for c in s.content.chars() {
            let w = c.width().unwrap_or(0);
            if left == 0 {
                text.push(c);
            } else if w > left {
                text.extend(std::iter::repeat_n(' ', w - left));
                left = 0;
            } else {
                left -= w;
            }
        }
        if !text.is_empty() {
            out.push(Span::styled(text, s.style));
        }
    }
    out
}

fn draw_strip(app: &App, f: &mut Frame<'_>, r: Rect) {
    let t = &app.theme;
    // the gateways speak for the clients; without one, every pane counts
    let counted = super::charts::scope_panes(&app.panes, super::charts::Scope::Gateways);
    let mut class = [0u64; 6];
    let mut last_minute = crate::stats::timeline::Bucket::default();
    let now = super::charts::log_now(&app.panes, app.now);
    for p in counted.iter().map(|&i| &app.panes[i]) {
        for (c, n) in class.iter_mut().zip(p.stats.class_totals()) {
            *c += n;
        }
        if let Some(now) = now {
            last_minute.absorb(&p.stats.recent.total(now - 60, now));
        }
    }
    let top = last_minute.top_codes();
    let mut spans = vec![Span::styled(" ", t.bar)];
    for (k, code) in [(2usize, 200u16), (3, 300), (4, 400), (5, 500)] {
        spans.push(Span::styled(format!("{k}xx "), t.status(code)));
        spans.push(Span::styled(format!("{}  ", thousands(class[k])), t.bar));
    }
    let errors: Vec<&(u16, u32)> = top.iter().filter(|(c, _)| *c >= 400).take(5).collect();
    let used: usize = spans.iter().map(|s| s.width()).sum();
    if r.width as usize >= used + 40
        && let Some((spark, style)) = super::chart_draw::strip_spark(&app.panes, app.now, &app.theme, 30)
    {
        spans.push(Span::styled("│ errors/s 1m ", t.bar));
        spans.push(Span::styled(spark, style.patch(t.bar).fg(style.fg.unwrap_or_default())));
        spans.push(Span::styled(" ", t.bar));
    }
    if !errors.is_empty() {
        spans.push(Span::styled("│ last min ", t.bar));
        for (c, n) in errors {
            spans.push(Span::styled(c.to_string(), t.status(*c)));
            spans.push(Span::styled(format!("×{} ", thousands(*n as u64)), t.bar));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.bar), r);
}

fn pane_title(app: &App, i: usize, width: u16) -> (Line<'static>, Line<'static>) {
    let t = &app.theme;
    let p = &app.panes[i];
    let format = p.parser.as_ref().map_or("…".to_string(), |x| x.format.name().to_string());
    let rate = pane_rate(p, app.now);
    let role = match p.side() {
        Role::Gateway => "gw",
        Role::Upstream => "up",
    };
    let mut name = display_text(p.name.as_bytes());
    let room = (width as usize).saturating_sub(format.len() + rate.len() + 28).max(8);
    if name.chars().count() > room {
        let tail: String = name.chars().rev().take(room - 1).collect::<Vec<_>>().into_iter().rev().collect();
        name = format!("…{tail}");
    }
    let left = Line::from(vec![
        Span::styled(format!(" {role} "), t.dim),
        Span::styled(name, t.title),
        Span::styled(format!(" · {format} · {rate} "), t.dim),
    ]);
    let state = if p.follow {
        Span::styled(" ● live ", t.dim)
    } else if p.unseen() > 0 {
        Span::styled(format!(" PAUSED +{} ", thousands(p.unseen() as u64)), t.paused)
    } else {
        Span::styled(" PAUSED ", t.paused)
    };
    let mut right = vec![state];
    if let Some(m) = &p.matches {
        right.insert(
            0,
            Span::styled(
                format!(" {} of {} ", thousands(m.lines.len() as u64), thousands(p.lines.len() as u64)),
                t.dim,
            ),
        );
    }
    (left, Line::from(right).alignment(Alignment::Right))
}

/// The spans of one line as the pane shows it: the parsed summary, or the raw text; with `room`, the summary is
/// shortened to fit that many columns where it can be (see [`fit_parts`]).
fn line_spans(app: &App, pi: usize, line: usize, correlated: bool, room: Option<usize>) -> Vec<Span<'static>> {
    let t = &app.theme;
    let p = &app.panes[pi];
    let raw = p.lines.line(line);
    let parts = if app.raw { None } else { app.drawn.borrow_mut().parts(p, pi, line) };
    let mut spans = Vec::new();
    match parts {
        Some(parts) => {
            let fitted = room.and_then(|room| fit_parts(&parts, room));
            let parts: &[(Part, String)] = fitted.as_deref().unwrap_or(&parts);
            for (k, (part, text)) in parts.iter().enumerate() {
                let (part, text) = (*part, text.clone());
                if k > 0 {
                    spans.push(Span::raw(" "));
                }
                let style = match part {
                    Part::Time | Part::Upstream => t.dim,
                    Part::Status(s) => t.status(s),
                    Part::Level(l) if l >= crate::record::Level::Error => t.level_error,
                    Part::Level(crate::record::Level::Warn) => t.level_warn,
                    Part::Level(_) => t.dim,
                    Part::Flags => t.level_warn,
                    Part::Id | Part::Trace if correlated => t.id,
                    Part::Id | Part::Trace => t.dim,
                    Part::Method | Part::Path | Part::Latency | Part::Message => Style::default(),
                };
                spans.push(Span::styled(text, style));
            }
        }
        None if p.lines.meta(line).parsed() || app.raw => spans.push(Span::raw(display_text(raw))),
        None => spans.push(Span::styled(display_text(raw), t.dim)),
    }
    if let Some(re) = &app.search {
        spans = highlight(spans, re, t.search);
    }
    spans
}

/// Shorten a row's path to fit `room` columns, so that the request id at the row's end comes into view: long
/// segments (UUIDs, hashes) and a long query keep their first characters, which tell them apart. Only when that
/// brings the whole id in; otherwise (or without an id) the row is left whole, to be cut at the edge.
fn fit_parts(parts: &[(Part, String)], room: usize) -> Option<Vec<(Part, String)>> {
    let width = |parts: &[(Part, String)]| parts.iter().map(|(_, t)| t.width() + 1).sum::<usize>().saturating_sub(1);
    if width(parts) <= room || !parts.iter().any(|(p, _)| matches!(p, Part::Id | Part::Trace)) {
        return None;
    }
    let parts: Vec<(Part, String)> =
        parts.iter().map(|(p, t)| (*p, if *p == Part::Path { short_path(t) } else { t.clone() })).collect();
    (width(&parts) <= room).then_some(parts)
}

/// What a shortened path segment or query is longer than.
const MIN_PART: usize = 12;

/// A path with its long segments and query cut: `/v1/payments/b0a1dacf-eb54-…` → `/v1/payments/b0a1dacf…`.
fn short_path(path: &str) -> String {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let short = |part: &str| if part.chars().count() > MIN_PART { cut(part, 9).0 } else { part.to_string() };
    let mut text = path.split('/').map(short).collect::<Vec<_>>().join("/");
    if let Some(q) = query {
        text.push('?');
        text.push_str(&short(q));
    }
    text
}

/// Restyle the parts of `spans` that `re` matches (matches are found in the joined text).
fn highlight(spans: Vec<Span<'static>>, re: &regex::Regex, style: Style) -> Vec<Span<'static>> {
    let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
    let hits: Vec<(usize, usize)> =
        re.find_iter(&text).filter(|m| !m.is_empty()).map(|m| (m.start(), m.end())).collect();
    if hits.is_empty() {
        return spans;
    }
    let mut out = Vec::new();
    let mut pos = 0;
    for s in spans {
        let (start, end) = (pos, pos + s.content.len());
        pos = end;
        let mut cut = start;
        for &(a, b) in hits.iter().filter(|(a, b)| *a < end && *b > start) {
            let (a, b) = (a.max(start), b.min(end));
            if a > cut {
                out.push(Span::styled(s.content[cut - start..a - start].to_string(), s.style));
            }
            out.push(Span::styled(s.content[a - start..b - start].to_string(), s.style.patch(style)));
            cut = b;
        }
        if cut < end {
            out.push(Span::styled(s.content[cut - start..].to_string(), s.style));
        }
    }
    out
}

/// Columns of the label column (the file or host of each line) in a pane `body_width` wide; 0 when lines show
/// no label.
fn label_width(p: &Pane, body_width: u16) -> usize {
    if !p.shows_labels() {
        return 0;
    }
    let widest = p.label_names.iter().map(|n| n.width()).max().unwrap_or(0);
    widest.min(20).min(body_width as usize / 4).max(3)
}

/// `text` within `width` columns, ending in `…` when cut; and the columns it takes.
fn cut(text: &str, width: usize) -> (String, usize) {
    let cutting = text.width() > width;
    let mut shown = String::with_capacity(text.len().min(width * 4));
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width || (cutting && used + w == width) {
            if width > 0 {
                shown.push('…');
                used += 1;
            }
            break;
        }
        shown.push(c);
        used += w;
    }
    (shown, used)
}

/// Line `line`'s label, cut or padded to `width` columns, and a space.
fn label_span(app: &App, p: &Pane, line: usize, width: usize) -> Span<'static> {
    let (mut shown, used) = cut(p.label_name(line).unwrap_or(""), width);
    shown.extend(std::iter::repeat_n(' ', width.saturating_sub(used) + 1));
    Span::styled(shown, app.theme.dim)
}

fn draw_pane(app: &App, f: &mut Frame<'_>, i: usize, r: Rect) {
    if r.height < 2 {
        return;
    }
    let t = &app.theme;
    let p = &app.panes[i];
    let focused = i == app.focus && !app.tool_focus;
    let (left, right) = pane_title(app, i, r.width);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focus } else { t.border })
        .title(left)
        .title(right);
    // a command that ended waits for the restart key: that offer goes first, the note gets the room left
    let mut offer = Vec::new();
    if !p.stopped.is_empty() {
        let what = match p.stopped.as_slice() {
            [(_, how)] => how.clone(),
            many => format!("{} ended", many.len()),
        };
        offer.push(Span::styled(format!(" {what} "), t.paused));
        if let Some(k) = app.keymap.keys_for(super::keymap::Action::Restart).first() {
            offer.push(Span::styled(format!(" {k} "), t.bar_key));
            offer.push(Span::styled(" runs it again ", t.dim));
        }
    }
    let offer_width: usize = offer.iter().map(|s| s.width()).sum();
    if let Some(note) = &p.note {
        let room = (r.width as usize).saturating_sub(offer_width + 5);
        let (note, _) = cut(&display_text(note.as_bytes()), room);
        block = block.title_bottom(Line::from(Span::styled(format!(" {note} "), t.dim)));
    }
    if !offer.is_empty() {
        block = block.title_bottom(Line::from(offer).alignment(Alignment::Right));
    }
    let body = block.inner(r);
    let label_w = label_width(p, body.width);
    f.render_widget(block, r);
    let height = body.height as usize;
    let rows = p.rows();
    if rows == 0 {
        let msg = match (&p.matches, p.lines.is_empty()) {
            (_, true) => "waiting for lines…",
            (Some(m), false) if m.scanned < p.lines.len() => "filtering…",
            _ => "no line matches the filter",
        };
        f.render_widget(Paragraph::new(Span::styled(msg, t.dim)), body);
        return;
    }
    let width = body.width.max(1) as usize;
    let indent = 1 + label_w + (label_w > 0) as usize;
    // a row's spans as drawn: the gutter mark, the label, the line
    let row_spans = |row: usize, correlated: bool| {
        let line = p.row_line(row);
        // not while searching: a match may be in the part that would be shortened
        let room = (!app.wrap && app.hscroll == 0 && app.search.is_none()).then(|| width.saturating_sub(indent));
        let mut spans = line_spans(app, i, line, correlated, room);
        if !app.wrap && app.hscroll > 0 {
            spans = skip_columns(spans, app.hscroll);
        }
        // a gutter mark, so the cursor and the request's records show without colour too
        let mark = match (row == p.cursor, correlated) {
            (true, _) => "▶",
            (false, true) => "•",
            _ => " ",
        };
        if label_w > 0 {
            spans.insert(0, label_span(app, p, line, label_w));
        }
        spans.insert(0, Span::styled(mark, if correlated { t.id } else { t.dim }));
        spans
    };
    let mut row = p.top.min(rows - 1);
    if app.wrap {
        // wrapped lines take several rows: when the cursor's line would not show from `top` (or the pane follows
        // its bottom), start as far back from the cursor as fills the pane
        let rows_of = |r: usize| wrap_spans(row_spans(r, false), width, indent).len();
        let cursor = p.cursor.min(rows - 1);
        let shows = (row..=cursor).try_fold(0, |used, r| Some(used + rows_of(r)).filter(|&u| u <= height)).is_some();
        if p.follow || !shows || cursor < row {
            let (mut start, mut used) = (cursor, rows_of(cursor));
            while start > 0 && used + rows_of(start - 1) <= height {
                start -= 1;
                used += rows_of(start);
            }
            row = start;
        }
    }
    let mut lines: Vec<Line<'static>> = Vec::with_capacity(height);
    let mut drawn = p.drawn.borrow_mut();
    drawn.clear();
    while row < rows && lines.len() < height {
        let line = p.row_line(row);
        let keys_of = p.keys_of();
        let correlated = (!app.selected_keys.is_empty() && p.lines.answers(line, &app.selected_keys, &keys_of))
            || (!app.replay_keys.is_empty() && p.lines.answers(line, &app.replay_keys, &keys_of));
        let spans = row_spans(row, correlated);
        let mut style = Style::default();
        if correlated {
            style = style.patch(t.correlated);
        }
        if row == p.cursor {
            style = style.patch(if focused { t.selection } else { t.selection.remove_modifier(Modifier::BOLD) });
        }
        let parts = if app.wrap { wrap_spans(spans, width, indent) } else { vec![spans] };
        for part in parts.into_iter().take(height - lines.len()) {
            lines.push(Line::from(part).style(style));
            drawn.push(row);
        }
        row += 1;
    }
    f.render_widget(Paragraph::new(lines), body); // the background is painted once for the whole screen
}

/// Cut a line's spans into screen rows of `width` columns, character by character (log lines have long words:
/// wrapping at spaces would waste rows); a wide character that does not fit moves to the next row. Rows after
/// the first start `indent` columns in, under the line's text rather than under its gutter.
fn wrap_spans(spans: Vec<Span<'static>>, width: usize, indent: usize) -> Vec<Vec<Span<'static>>> {
    let width = width.max(2);
    let indent = if indent + 2 <= width { indent } else { 0 };
    let mut rows = vec![Vec::new()];
    let mut col = 0;
    for s in spans {
        let mut text = String::new();
        for c in s.content.chars() {
            let w = c.width().unwrap_or(0);
            if col + w > width {
                let done = std::mem::take(&mut text);
                if !done.is_empty() {
                    rows.last_mut().expect("a row").push(Span::styled(done, s.style));
                }
                rows.push(vec![Span::raw(" ".repeat(indent))]);
                col = indent;
            }
            text.push(c);
            col += w;
        }
        if !text.is_empty() {
            rows.last_mut().expect("a row").push(Span::styled(text, s.style));
        }
    }
    rows
}

fn kv_lines(app: &App, pane: &Pane, line: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let raw = pane.lines.line(line);
    let mut out = Vec::new();
    match pane.parser.as_ref().and_then(|x| x.parse(raw)) {
        Some(r) => {
            for (k, v) in crate::output::record_json(&r) {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    v => v.to_string(),
                };
                out.push(Line::from(vec![
                    Span::styled(format!("{k:>20} "), t.dim),
                    Span::raw(display_text(v.as_bytes())),
                ]));
            }
        }
        None => out.push(Line::from(Span::styled("(the line does not parse as this source's format)", t.dim))),
    }
    out.push(Line::from(vec![Span::styled(format!("{:>20} ", "raw"), t.dim), Span::raw(display_text(raw))]));
    out
}

/// One record of a request, for the detail and trace lists.
fn hop_line(app: &App, pi: usize, line: usize) -> Line<'static> {
    let t = &app.theme;
    let p = &app.panes[pi];
    let role = match p.side() {
        Role::Gateway => "gateway ",
        Role::Upstream => "upstream",
    };
    let mut from = format!("{role} {}:{}", display_text(p.name.as_bytes()), line + 1);
    if let Some(label) = p.label_name(line).filter(|_| p.shows_labels()) {
        from.push_str(&format!(" · {label}"));
    }
    let mut spans = vec![Span::styled(format!("{from}  "), t.dim)];
    spans.extend(line_spans(app, pi, line, true, None));
    Line::from(spans)
}

/// What a line's label is: a host for SSH sources, else a file.
fn label_kind(p: &Pane) -> &'static str {
    if p.source.starts_with("ssh://") { "host" } else { "file" }
}

fn draw_detail(app: &App, f: &mut Frame<'_>, r: Rect) {
    let t = &app.theme;
    let p = &app.panes[app.focus];
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(format!(" detail · {} · Esc closes ", display_text(p.name.as_bytes())), t.title));
    let mut lines = Vec::new();
    if let Some(l) = p.selected_line() {
        let mut header = vec![Span::styled(format!("{}:{}", display_text(p.source.as_bytes()), l + 1), t.title)];
        if let Some(label) = p.lines.label(l) {
            header.push(Span::styled(format!("  {} ", label_kind(p)), t.dim));
            header.push(Span::styled(display_text(label.as_bytes()), t.title));
        }
        lines.push(Line::from(header));
        // the request's records first: in a short pane they matter more than the last fields
        let records = app.request_records();
        match (app.selected_id.as_deref(), records.len()) {
            (None, _) => {
                lines.push(Line::from(Span::styled("no request id on this line: nothing to correlate", t.dim)))
            }
            (Some(id), n) => {
                lines.push(Line::from(vec![
                    Span::styled(format!("{n} record(s) of request "), t.title),
                    Span::styled(display_text(id.as_bytes()), t.id),
                    Span::styled("  (t: trace view, n/N: step through them)", t.dim),
                ]));
                lines.extend(records.iter().take(10).map(|&(pi, l)| hop_line(app, pi, l)));
                if records.len() > 10 {
                    lines.push(Line::from(Span::styled(
                        format!("… {} more in the trace view (t)", records.len() - 10),
                        t.dim,
                    )));
                }
            }
        }
        lines.push(Line::raw(""));
        lines.extend(kv_lines(app, p, l));
    }
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block).style(t.base).wrap(Wrap { trim: false }), r);
}

fn overlay_block(app: &App, title: String) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border_focus)
        .title(Span::styled(title, app.theme.title))
        .style(app.theme.overlay)
}

fn draw_trace(app: &App, f: &mut Frame<'_>, r: Rect) {
    let t = &app.theme;
    let records = app.request_records();
    let id = app.selected_id.clone().unwrap_or_default();
    let block = overlay_block(app, format!(" trace · {} · Esc closes ", display_text(id.as_bytes())));
    let mut lines = Vec::new();
    if records.is_empty() {
        lines.push(Line::from(Span::styled("the selected line has no request id: select one that has", t.dim)));
    } else {
        lines.push(Line::from(Span::styled(
            format!(
                "{} record(s) in time order, from {} source(s)",
                records.len(),
                // two hosts or two files feeding one pane are two sources
                records
                    .iter()
                    .map(|&(pi, l)| (pi, app.panes[pi].lines.label_index(l)))
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
            ),
            t.title,
        )));
        let mut timings = Vec::new();
        let mut statuses = Vec::new();
        // an id carried by a million records (a retry storm): its first and last hops, and how many lie between
        let limit = crate::trace::DEFAULT_LIMIT;
        let shown: Vec<(usize, usize)> = if records.len() > 2 * limit {
            records[..limit].iter().chain(&records[records.len() - limit..]).copied().collect()
        } else {
            records.clone()
        };
        for (n, &(pi, l)) in shown.iter().enumerate() {
            if n == limit && records.len() > 2 * limit {
                let more = thousands((records.len() - 2 * limit) as u64);
                lines.push(Line::from(Span::styled(format!("  … {more} more records: the id is not unique"), t.alert)));
            }
            lines.push(hop_line(app, pi, l));
            let p = &app.panes[pi];
            if let Some(rec) = p.parser.as_ref().and_then(|x| x.parse(p.lines.line(l))) {
                timings.push(crate::trace::HopTiming {
                    role: p.side(),
                    duration_us: rec.duration_us,
                    upstream_us: rec.upstream_us,
                });
                let name = match p.label_name(l).filter(|_| p.shows_labels()) {
                    Some(label) => label.to_string(),
                    None => display_text(p.name.as_bytes()),
                };
                let mut hop = format!("{name} {}", rec.status.map_or("-".into(), |s| s.to_string()));
                if !rec.upstream_status.is_empty() {
                    let up: Vec<String> = rec.upstream_status.as_slice().iter().map(u16::to_string).collect();
                    hop.push_str(&format!(" (upstream {})", up.join(", ")));
                }
                statuses.push(hop);
            }
        }
        // nginx's error log and Envoy's own log name no id: their lines about this request, joined by client,
        // request and time, or by the stream whose headers carried the id
        for h in super::trace_join::error_hops(&app.panes, &records) {
            let p = &app.panes[h.pane];
            let how = format!("joined by {}{}", h.joined_by, if h.ambiguous { ", ambiguous" } else { "" });
            let log = if h.joined_by == crate::stream_join::JOINED_BY { "proxy log" } else { "error log" };
            let from = format!("{log} {}:{}  ", display_text(p.name.as_bytes()), h.line + 1);
            let mut spans = vec![Span::styled(from, t.dim)];
            spans.extend(line_spans(app, h.pane, h.line, true, None));
            spans.push(Span::styled(format!("  ({how})"), if h.ambiguous { t.alert } else { t.dim }));
            lines.push(Line::from(spans));
        }
        lines.push(Line::raw(""));
        let b = crate::trace::breakdown(&timings);
        lines.push(Line::from(Span::styled(crate::trace::breakdown_text(&b), t.title)));
        lines.push(Line::from(vec![Span::styled("statuses: ", t.dim), Span::raw(statuses.join("  →  "))]));
    }
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), r);
}

/// The filter syntax, for the help overlay.
const FILTER_HELP: [&str; 5] = [
    "status>=500   status=429   status=5xx   latency>1s   path~^/v1/orders   method=POST",
    "upstream=10.0.0.7:8080   id=<request id>   level=error   message~timeout   flags~UF",
    "combine with and / or / not and parentheses: status>=500 and not path~^/healthz",
    "the count of matching lines shows as you type; Enter keeps the filter, Esc restores the last",
    "/ searches the raw lines with a regex: n / N jump between matches, Esc ends the search",
];

fn draw_help(app: &App, f: &mut Frame<'_>, r: Rect) {
    let t = &app.theme;
    let block = overlay_block(app, " keys · ↑↓ PgUp PgDn scroll · any other key closes ".into());
    use super::keymap::Context;
    let key_w = app.keymap.help_rows().iter().map(|(k, _)| k.chars().count()).max().unwrap_or(8);
    let mut lines: Vec<Line<'static>> = Vec::new();
    for context in [Context::Console, Context::Replay, Context::Prompt, Context::Token] {
        if context != Context::Console {
            lines.push(Line::raw(""));
            lines.push(Line::from(Span::styled(format!(" {}", context.title()), t.title)));
        }
        lines.extend(
            app.keymap
                .help_rows_in(Some(context))
                .into_iter()
                .map(|(k, d)| Line::from(vec![Span::styled(format!(" {k:>key_w$}  "), t.bar_key), Span::raw(d)])),
        );
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(" filter (f)", t.title)));
    lines.extend(FILTER_HELP.iter().map(|s| Line::raw(format!("   {s}"))));
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(" mouse: click selects a line, the wheel scrolls", t.dim)));
    f.render_widget(Clear, r);
    // never past the end: the last line stays at the bottom (the rows the wrapped text takes, found by drawing it
    // once off screen)
    let probe_area = Rect::new(0, 0, r.width.saturating_sub(2).max(1), 500);
    let mut probe = ratatui::buffer::Buffer::empty(probe_area);
    ratatui::widgets::Widget::render(Paragraph::new(lines.clone()).wrap(Wrap { trim: false }), probe_area, &mut probe);
    let rows = (0..probe_area.height)
        .rev()
        .find(|&y| (0..probe_area.width).any(|x| probe[(x, y)].symbol() != " "))
        .map_or(0, |y| y + 1);
    let max = rows.saturating_sub(r.height.saturating_sub(2));
    app.help_max.set(max);
    let para = Paragraph::new(lines).block(block).wrap(Wrap { trim: false });
    f.render_widget(para.scroll((app.help_scroll.min(max), 0)), r);
}

fn draw_input(app: &App, f: &mut Frame<'_>, r: Rect) {
    let t = &app.theme;
    let (label, tail) = match app.mode {
        Mode::Filter => {
            let (m, checked, total) = app.filter_count();
            let state = match &app.filter.error {
                Some(e) => format!(" {e}"),
                None if checked < total => format!(" {} match · {} lines · checking…", thousands(m), thousands(total)),
                None => format!(" {} match · {} lines", thousands(m), thousands(total)),
            };
            ("filter> ", state)
        }
        Mode::Search => ("search /", String::from(" Enter finds, Esc cancels")),
        Mode::Normal => return,
    };
    let tail_w = (tail.chars().count() as u16).min(r.width / 2);
    let label_w = label.len() as u16;
    let input_w = r.width.saturating_sub(label_w + tail_w);
    f.render_widget(Paragraph::new(Span::styled(label, t.bar_key)), Rect { width: label_w, ..r });
    let mut input = app.input.clone();
    input.set_style(t.base);
    input.set_cursor_line_style(Style::default());
    f.render_widget(&input, Rect { x: r.x + label_w, width: input_w, ..r });
    let tail_style = if app.filter.error.is_some() && app.mode == Mode::Filter { t.alert } else { t.dim };
    f.render_widget(
        Paragraph::new(Span::styled(tail, tail_style)),
        Rect { x: r.x + label_w + input_w, width: tail_w, ..r },
    );
}

/// The status bar's key hints, from the keymap (keys are configurable).
fn key_hints(app: &App, short: bool) -> String {
    use super::keymap::Action;
    let stopped = app.panes.get(app.focus).is_some_and(|p| !p.stopped.is_empty());
    let wanted: &[(Action, &str)] = if stopped && short {
        &[(Action::Restart, "restart"), (Action::Help, "help"), (Action::Quit, "quit")]
    } else if stopped {
        &[
            (Action::Restart, "restart"),
            (Action::Help, "help"),
            (Action::Search, "search"),
            (Action::Filter, "filter"),
            (Action::Detail, "detail"),
            (Action::Trace, "trace"),
            (Action::Zoom, "zoom"),
            (Action::Quit, "quit"),
        ]
    } else if short {
        &[(Action::Help, "help"), (Action::Charts, "charts"), (Action::Quit, "quit")]
    } else {
        &[
            (Action::Help, "help"),
            (Action::Search, "search"),
            (Action::Filter, "filter"),
            (Action::Detail, "detail"),
            (Action::Trace, "trace"),
            (Action::NextRecord, "next of request"),
            (Action::Charts, "charts"),
            (Action::Diagnose, "diagnose"),
            (Action::Quit, "quit"),
        ]
    };
    let mut out = String::from(" ");
    for (a, what) in wanted {
        if let Some(k) = app.keymap.keys_for(*a).first() {
            out.push_str(&format!("{k} {what}  "));
        }
    }
    out
}

fn draw_status(app: &App, f: &mut Frame<'_>, r: Rect) {
    let t = &app.theme;
    let mut spans = Vec::new();
    if let Some(p) = app.panes.get(app.focus) {
        spans.push(if p.follow { Span::styled(" FOLLOW ", t.bar_key) } else { Span::styled(" PAUSED ", t.paused) });
    }
    let (m, checked, total) = app.filter_count();
    if !app.filter.text.is_empty() {
        let scanning = if checked < total { " checking…" } else { "" };
        spans.push(Span::styled(
            format!(
                " filter: {} · {} of {} lines{scanning} ",
                display_text(app.filter.text.as_bytes()),
                thousands(m),
                thousands(total)
            ),
            t.bar,
        ));
    } else {
        spans.push(Span::styled(format!(" {} lines ", thousands(total)), t.bar));
    }
    let lines_span = spans.len() - 1;
    if let Some(id) = &app.selected_id {
        let short: String = id.chars().take(if r.width < 100 { 12 } else { 40 }).collect();
        spans.push(Span::styled(format!(" id {} ", display_text(short.as_bytes())), t.id));
    }
    if app.time_lock {
        spans.push(Span::styled(" time-locked ", t.bar_key));
    }
    if let Some(n) = app.pace.behind {
        // lines arrive faster than frames are drawn: frames are skipped, lines are not
        let text = if r.width < 100 {
            " catching up, no line dropped ".to_string()
        } else {
            format!(" catching up: {} lines a frame, none dropped ", thousands(n))
        };
        spans.push(Span::styled(text, t.paused));
    }
    if let Some(re) = &app.search {
        spans.push(Span::styled(format!(" /{} ", display_text(re.as_str().as_bytes())), t.search));
    }
    let notice = app.notice.as_ref().map(|n| Span::styled(format!(" {} ", display_text(n.as_bytes())), t.alert));
    let used: usize = spans.iter().chain(&notice).map(|s| s.width()).sum();
    let short_hints = key_hints(app, true);
    let room = (r.width as usize).saturating_sub(used + short_hints.width());
    spans.extend(alert_spans(app, room).into_iter().map(|a| Span::styled(a, t.alert)));
    spans.extend(notice);
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let hints = Some(key_hints(app, false))
        .filter(|h| r.width >= 100 && used + h.trim_end().width() <= r.width as usize)
        .unwrap_or(short_hints);
    let mut pad = (r.width as usize).saturating_sub(used + hints.chars().count());
    // what stretch of log time is loaded (the tail read at start, or `--since`), where there is room for it
    if let Some(first) = app.panes.iter().filter_map(|p| p.stats.first_second()).min()
        && app.filter.text.is_empty()
    {
        let dated = super::charts::log_now(&app.panes, app.now)
            .is_some_and(|now| super::charts::different_days(&app.panes, first, now));
        let since = format!("since {} ", super::charts::log_stamp(&app.panes, first, dated));
        if since.width() <= pad {
            pad -= since.width();
            spans[lines_span].content.to_mut().push_str(&since);
        }
    }
    spans.push(Span::styled(" ".repeat(pad), t.bar));
    spans.push(Span::styled(hints, t.dim.patch(t.bar)));
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.bar), r);
}

/// The alerts that hold, as detailed as `room` columns allow: with their start, without it, or only counted.
fn alert_spans(app: &App, room: usize) -> Vec<String> {
    use super::charts::{different_days, log_now, log_stamp};
    let full: Vec<String> = app
        .alerts
        .iter()
        .map(|a| {
            let dated = different_days(&app.panes, a.since, log_now(&app.panes, app.now).unwrap_or(a.since));
            format!(
                " ▲ {} since {} ({}) ",
                display_text(a.rule.as_bytes()),
                log_stamp(&app.panes, a.since, dated),
                a.value
            )
        })
        .collect();
    let width = |v: &[String]| v.iter().map(|s| s.width()).sum::<usize>();
    if width(&full) <= room {
        return full;
    }
    let short: Vec<String> =
        app.alerts.iter().map(|a| format!(" ▲ {} ({}) ", display_text(a.rule.as_bytes()), a.value)).collect();
    if width(&short) <= room || app.alerts.len() == 1 {
        return short;
    }
    let charts = app.keymap.keys_for(super::keymap::Action::Charts).first().cloned().unwrap_or_default();
    vec![format!(" ▲ {} alerts ({charts} charts) ", app.alerts.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_within_the_width() {
        assert_eq!(cut("edge-a.log", 20), ("edge-a.log".to_string(), 10));
        assert_eq!(cut("edge-a.log", 10), ("edge-a.log".to_string(), 10));
        assert_eq!(cut("edge-a.log", 6), ("edge-…".to_string(), 6));
        assert_eq!(cut("日本語", 4), ("日…".to_string(), 3), "a wide character does not fit in half");
        assert_eq!(cut("abc", 0), (String::new(), 0));
    }

    #[test]
    fn horizontal_scroll_counts_columns() {
        let spans = vec![Span::raw("ab"), Span::raw("日本c")];
        let out: String = skip_columns(spans, 3).iter().map(|s| s.content.to_string()).collect();
        assert_eq!(out, " 本c", "half a wide character becomes a space");
    }
}
