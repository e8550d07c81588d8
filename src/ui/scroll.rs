//! Moving what only scrolled with the terminal's scroll region, as curses does: a followed pane that gained three
//! lines is three rows moved up by the terminal itself (a dozen bytes) and three new rows drawn, instead of every
//! row of the pane drawn again.
//!
//! After a frame is rendered, its rows are compared with the screen's (the frame drawn before): a run of whole
//! rows that equal the screen's rows `k` further down is scrolled up by `k` inside a scroll region (`CSI top;bottom
//! r`, `CSI k S`), and ratatui is told that the screen now shows the moved rows, so its diff sends only what is
//! still different. A region is whole rows: with panes side by side, the rows move only when both panes moved by
//! the same amount (stacked panes, below 120 columns, and a single pane move alone).

use std::hash::{Hash, Hasher};
use std::io::Write;

use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;

/// Rows `top..bottom` move up by `by` (screen row `y + by` is shown at `y`, the last `by` rows blank), or down
/// (row `y - by` at `y`, the first `by` rows blank).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scroll {
    pub top: u16,
    pub bottom: u16,
    pub by: u16,
    pub down: bool,
}

/// Fewer moved rows than this are drawn as they are: a scroll costs about as much as a short row.
const MIN_ROWS: usize = 3;
/// At most this many regions are scrolled in one frame (one per stacked pane, in practice).
const MAX_REGIONS: usize = 4;

fn row_hash(b: &Buffer, y: u16) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    for x in b.area.left()..b.area.right() {
        b[(x, y)].hash(&mut h);
    }
    h.finish()
}

fn same_row(a: &Buffer, ya: u16, b: &Buffer, yb: u16) -> bool {
    cells_differing(a, ya, b, yb) == 0
}

/// Cells of row `ya` of `a` that differ from row `yb` of `b`: about what drawing one over the other sends.
fn cells_differing(a: &Buffer, ya: u16, b: &Buffer, yb: u16) -> usize {
    (a.area.left()..a.area.right()).filter(|&x| a[(x, ya)] != b[(x, yb)]).count()
}

/// What a scroll's escape sequence costs, in cells' worth of bytes.
const ESCAPE_COST: usize = 24;

/// The scrolls that turn `shown` (what the screen shows) into the most of `next`, in the order to apply them.
pub fn find(shown: &Buffer, next: &Buffer) -> Vec<Scroll> {
    if shown.area != next.area || shown.area.height < 4 {
        return Vec::new();
    }
    let (top, h) = (next.area.top(), next.area.height as usize);
    let (old, new): (Vec<u64>, Vec<u64>) =
        (0..h as u16).map(|i| (row_hash(shown, top + i), row_hash(next, top + i))).unzip();
    let mut taken = vec![false; h];
    let mut out = Vec::new();
    while out.len() < MAX_REGIONS {
        // (rows gained, first row of the region, rows moved, by, down): the longest run of rows equal to the
        // screen's `by` rows further down (up: new lines at the bottom) or further up (down: older lines on top)
        let mut best: Option<(usize, usize, usize, usize, bool)> = None;
        for down in [false, true] {
            for by in 1..h {
                // row `y` of the region's moved rows: next's row `y + shift_new` is the screen's `y + shift_old`
                let (shift_new, shift_old) = if down { (by, 0) } else { (0, by) };
                let moved = |y: usize| !taken[y] && !taken[y + by] && new[y + shift_new] == old[y + shift_old];
                let mut y = 0;
                while y + by < h {
                    if !moved(y) {
                        y += 1;
                        continue;
                    }
                    let start = y;
                    while y + by < h && moved(y) {
                        y += 1;
                    }
                    // rows that were different in place: what the scroll saves
                    let gained = (start..y).filter(|&r| new[r + shift_new] != old[r + shift_new]).count();
                    if gained >= MIN_ROWS && best.is_none_or(|b| gained > b.0) {
                        best = Some((gained, start, y - start, by, down));
                    }
                }
            }
        }
        let Some((_, start, len, by, down)) = best else { break };
        let (t, s) = (top + start as u16, by as u16);
        // the moved rows: next's from `t + shift_new`, the screen's from `t + shift_old`
        let (shift_new, shift_old) = if down { (s, 0) } else { (0, s) };
        let freed_at = if down { t } else { t + len as u16 };
        // hashes can collide: the rows themselves must agree
        if !(0..len as u16).all(|i| same_row(next, t + shift_new + i, shown, t + shift_old + i)) {
            break;
        }
        // log lines are alike column by column, so redrawing a row in place often sends only a few cells: scroll
        // only when the new rows drawn on blank ones cost clearly less than the region redrawn in place
        let blank = Buffer::empty(Rect::new(next.area.x, t, next.area.width, 1));
        let in_place: usize = (0..(len + by) as u16).map(|i| cells_differing(shown, t + i, next, t + i)).sum();
        let scrolled: usize = (0..s).map(|i| cells_differing(&blank, t, next, freed_at + i)).sum();
        if scrolled + ESCAPE_COST >= in_place {
            break;
        }
        taken[start..start + len + by].iter_mut().for_each(|r| *r = true);
        out.push(Scroll { top: t, bottom: t + (len + by) as u16, by: s, down });
    }
    out
}

/// `shown` after `s`, as the terminal does it: the rows move and the freed rows are blank.
pub fn apply(shown: &mut Buffer, s: Scroll) {
    let area = shown.area;
    let rows: Vec<u16> = if s.down { (s.top..s.bottom).rev().collect() } else { (s.top..s.bottom).collect() };
    for y in rows {
        let from =
            if s.down { y.checked_sub(s.by).filter(|&f| f >= s.top) } else { Some(y + s.by).filter(|&f| f < s.bottom) };
        for x in area.left()..area.right() {
            shown[(x, y)] = match from {
                Some(f) => shown[(x, f)].clone(),
                None => Cell::default(),
            };
        }
    }
}

/// The bytes that scroll: styles reset (freed rows are blank in the default colours), the region set, the rows
/// moved (`CSI n S` up, `CSI n T` down), the region reset to the whole screen.
pub fn escape(s: Scroll, area: Rect) -> String {
    let (top, bottom) = (s.top - area.top() + 1, s.bottom - area.top());
    format!("\x1b[0m\x1b[{top};{bottom}r\x1b[{}{}\x1b[r", s.by, if s.down { 'T' } else { 'S' })
}

/// Whether to scroll with the terminal: not with `GATEWATCH_NO_SCROLL_REGION` set (for a terminal that
/// mishandles scroll regions, and to measure what they save).
fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("GATEWATCH_NO_SCROLL_REGION").is_none())
}

/// Draw a frame with `render`, moving what only scrolled with the terminal's scroll region. `shown` is the frame
/// drawn last (kept here between calls).
pub fn draw<B: Backend + Write>(
    terminal: &mut Terminal<B>,
    shown: &mut Option<Buffer>,
    render: impl FnOnce(&mut ratatui::Frame<'_>),
) -> std::io::Result<()>
where
    std::io::Error: From<B::Error>,
{
    terminal.autoresize()?;
    // the console draws no terminal cursor (the text fields draw their own): it stays hidden
    render(&mut terminal.get_frame());
    if let Some(screen) = shown.as_mut().filter(|_| enabled()) {
        let next = terminal.current_buffer_mut().clone();
        let scrolls = find(screen, &next);
        if !scrolls.is_empty() {
            for s in &scrolls {
                terminal.backend_mut().write_all(escape(*s, next.area).as_bytes())?;
                apply(screen, *s);
            }
            // ratatui diffs against its previous buffer: make that the screen as it now is
            *terminal.current_buffer_mut() = screen.clone();
            terminal.swap_buffers();
            *terminal.current_buffer_mut() = next;
        }
    }
    let done = terminal.apply_buffer()?;
    *shown = Some(done.buffer.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::widgets::{Block, Borders, Paragraph};

    /// A bordered pane of `lines` from `first` on, `w` wide and `h` tall, with a status row under it.
    fn screen(w: u16, h: u16, first: usize, status: &str) -> Buffer {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| {
            let body = Rect::new(0, 0, w, h - 1);
            // lines unlike one another column by column, as ids and paths make log lines
            let line = |i: usize| format!("{:x} /v1/{}", (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15), i * 7919);
            let text: Vec<ratatui::text::Line> = (first..first + 100).map(|i| line(i).into()).collect();
            f.render_widget(Paragraph::new(text).block(Block::default().borders(Borders::ALL)), body);
            f.render_widget(Paragraph::new(status.to_string()), Rect::new(0, h - 1, w, 1));
        })
        .unwrap()
        .buffer
        .clone()
    }

    /// `next` is found to be `shown` moved by `s`, leaves `rows` to draw once moved, and `s` is sent as `sent`.
    fn scrolled(shown: &Buffer, next: &Buffer, s: Scroll, rows: &[u16], sent: &str) {
        assert_eq!(find(shown, next), vec![s]);
        let mut moved = shown.clone();
        apply(&mut moved, s);
        let left: std::collections::BTreeSet<u16> = moved.diff(next).iter().map(|(_, y, _)| *y).collect();
        assert_eq!(left.into_iter().collect::<Vec<_>>(), rows);
        assert_eq!(escape(s, next.area), sent);
    }

    #[test]
    fn a_pane_that_gained_lines_scrolls_by_as_many_rows() {
        let (shown, next) = (screen(40, 12, 0, "10 lines"), screen(40, 12, 3, "13 lines"));
        // inside the border (rows 1..10), lines 3.. were on rows 4.. and move up by 3; what is left to draw is the
        // three new rows and the status row
        let s = Scroll { top: 1, bottom: 10, by: 3, down: false };
        scrolled(&shown, &next, s, &[7, 8, 9, 11], "\x1b[0m\x1b[2;10r\x1b[3S\x1b[r");
    }

    #[test]
    fn going_back_up_a_pane_scrolls_it_down() {
        let (shown, next) = (screen(40, 12, 10, "line 14"), screen(40, 12, 6, "line 10"));
        let s = Scroll { top: 1, bottom: 10, by: 4, down: true };
        scrolled(&shown, &next, s, &[1, 2, 3, 4, 11], "\x1b[0m\x1b[2;10r\x1b[4T\x1b[r");
    }

    #[test]
    fn nothing_scrolls_when_only_half_of_each_row_moved_or_too_little_did() {
        // side by side: the left pane moved, the right did not; whole rows do not match
        let mut shown = screen(40, 12, 0, "");
        let mut next = screen(40, 12, 3, "");
        for y in 0..12 {
            for x in 20..40 {
                // the right pane's rows, each its own, the same in both frames
                let c = char::from(b'a' + (y as u8 + x as u8) % 26);
                shown[(x, y)].set_char(c);
                next[(x, y)].set_char(c);
            }
        }
        assert_eq!(find(&shown, &next), vec![]);
        // one new line in a short pane: two moved rows are not worth a scroll
        assert_eq!(find(&screen(20, 5, 0, ""), &screen(20, 5, 1, "")), vec![]);
        // rows alike column by column: redrawn in place, a few cells each, they cost less than a scroll
        let alike = |first: usize| {
            let mut b = screen(40, 12, 0, "");
            for y in 1..10 {
                let text = format!("12:00:0{} 200 GET /healthz", (first + y as usize) % 10);
                b.set_string(1, y, format!("{text:<38}"), ratatui::style::Style::default());
            }
            b
        };
        assert_eq!(find(&alike(0), &alike(3)), vec![]);
        assert_eq!(find(&screen(20, 12, 0, "a"), &screen(20, 12, 0, "b")), vec![], "nothing moved");
    }

    #[test]
    fn two_stacked_panes_scroll_each_by_its_own_rows() {
        let mut shown = screen(30, 24, 0, "");
        let mut next = screen(30, 24, 2, "");
        let (below_before, below_after) = (screen(30, 12, 40, "x"), screen(30, 12, 45, "y"));
        for y in 12..24 {
            for x in 0..30 {
                shown[(x, y)] = below_before[(x, y - 12)].clone();
                next[(x, y)] = below_after[(x, y - 12)].clone();
            }
        }
        let mut scrolls = find(&shown, &next);
        scrolls.sort_by_key(|s| s.top);
        assert_eq!(
            scrolls,
            vec![Scroll { top: 1, bottom: 12, by: 2, down: false }, Scroll { top: 13, bottom: 22, by: 5, down: false }]
        );
        for s in scrolls {
            apply(&mut shown, s);
        }
        // the new rows of each pane, and the status row
        let rows: std::collections::BTreeSet<u16> = shown.diff(&next).iter().map(|(_, y, _)| *y).collect();
        assert_eq!(rows.into_iter().collect::<Vec<_>>(), vec![10, 11, 17, 18, 19, 20, 21, 23]);
    }
}
