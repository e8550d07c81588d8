//! Drawing a log pane: its title, its rows (the parsed summary or the raw line, labels, the cursor, the
//! request's records marked, search matches), wrapped or scrolled sideways. It takes the pane and how it is
//! shown, never the whole app.

use std::cell::RefCell;
use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::display::display_text;
use super::keymap::Keymap;
use super::line_cache::LineCache;
use super::pane::{Pane, pane_rate};
use super::theme::Theme;
use crate::numbers::thousands;
use crate::output::Part;
use crate::record::Role;

/// How lines are shown, in a pane and in the overlays that quote them.
pub struct LineLook<'a> {
    /// Colours.
    pub theme: &'a Theme,
    /// The raw lines, not their parsed summaries.
    pub raw: bool,
    /// The search, whose matches are highlighted.
    pub search: Option<&'a regex::Regex>,
    /// Summaries parsed for earlier frames.
    pub cache: &'a RefCell<LineCache>,
}

/// What a pane view draws: the pane and how it is shown, handed over by the frame.
pub struct PaneDraw<'a> {
    /// The pane.
    pub pane: &'a Pane,
    /// Its place among the panes (the line cache's key).
    pub index: usize,
    /// How its lines are shown.
    pub look: LineLook<'a>,
    /// For the key hints.
    pub keymap: &'a Keymap,
    /// It has the keyboard.
    pub focused: bool,
    /// Now, for its rate.
    pub now: Instant,
    /// Long lines wrap instead of being cut.
    pub wrap: bool,
    /// Columns scrolled to the right.
    pub hscroll: usize,
    /// The selected request's keys: its lines are marked.
    pub selected_keys: &'a [u64],
    /// The replayed request's keys: its lines are marked too.
    pub replay_keys: &'a [u64],
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

fn pane_title(d: &PaneDraw<'_>, width: u16) -> (Line<'static>, Line<'static>) {
    let t = d.look.theme;
    let p = d.pane;
    let format = p.parser.as_ref().map_or("…".to_string(), |x| x.format.name().to_string());
    let rate = pane_rate(p, d.now);
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
/// shortened to fit that many columns where it can be (see `fit_parts`).
pub fn line_spans(
    look: &LineLook<'_>,
    p: &Pane,
    pi: usize,
    line: usize,
    correlated: bool,
    room: Option<usize>,
) -> Vec<Span<'static>> {
    let t = look.theme;
    let text = p.lines.line(line);
    let raw = &*text;
    let parts = if look.raw { None } else { look.cache.borrow_mut().parts(p, pi, line) };
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
        None if p.lines.meta(line).parsed() || look.raw => spans.push(Span::raw(display_text(raw))),
        None => spans.push(Span::styled(display_text(raw), t.dim)),
    }
    // a stack trace folded under its record (Enter shows it)
    let folded = p.lines.continuation_of(line).len();
    if folded > 0 && !look.raw {
        spans.push(Span::styled(format!(" ⋯ {folded} more line{}", if folded == 1 { "" } else { "s" }), t.dim));
    }
    if let Some(re) = look.search {
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
fn label_span(t: &Theme, p: &Pane, line: usize, width: usize) -> Span<'static> {
    let (mut shown, used) = cut(p.label_name(line).unwrap_or(""), width);
    shown.extend(std::iter::repeat_n(' ', width.saturating_sub(used) + 1));
    Span::styled(shown, t.dim)
}

/// Draw a log pane in `r`.
pub fn draw_pane(d: &PaneDraw<'_>, f: &mut Frame<'_>, r: Rect) {
    if r.height < 2 {
        return;
    }
    let t = d.look.theme;
    let p = d.pane;
    let focused = d.focused;
    let (left, right) = pane_title(d, r.width);
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
        if let Some(k) = d.keymap.keys_for(super::keymap::Action::Restart).first() {
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
        let room = (!d.wrap && d.hscroll == 0 && d.look.search.is_none()).then(|| width.saturating_sub(indent));
        let mut spans = line_spans(&d.look, p, d.index, line, correlated, room);
        if !d.wrap && d.hscroll > 0 {
            spans = skip_columns(spans, d.hscroll);
        }
        // a gutter mark, so the cursor and the request's records show without colour too
        let mark = match (row == p.cursor, correlated) {
            (true, _) => "▶",
            (false, true) => "•",
            _ => " ",
        };
        if label_w > 0 {
            spans.insert(0, label_span(t, p, line, label_w));
        }
        spans.insert(0, Span::styled(mark, if correlated { t.id } else { t.dim }));
        spans
    };
    let mut row = p.top.min(rows - 1);
    if d.wrap {
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
        let correlated = (!d.selected_keys.is_empty() && p.lines.answers(line, d.selected_keys, &keys_of))
            || (!d.replay_keys.is_empty() && p.lines.answers(line, d.replay_keys, &keys_of));
        let spans = row_spans(row, correlated);
        let mut style = Style::default();
        if correlated {
            style = style.patch(t.correlated);
        }
        if row == p.cursor {
            style = style.patch(if focused { t.selection } else { t.selection.remove_modifier(Modifier::BOLD) });
        }
        let parts = if d.wrap { wrap_spans(spans, width, indent) } else { vec![spans] };
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
