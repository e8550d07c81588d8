//! Drawing the replay pane. It takes the pane's state, the theme and the keymap, not the whole console, so it can be
//! drawn (and tested) alone. Every text from a log or a response goes through [`display_text`].

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::display::display_text;
use super::keymap::{Action, Keymap};
use super::replay::{Aim, BatchReplay, ReplayView, Sending, SingleReplay};
use super::theme::Theme;
use crate::replay::batch::Verdict;
use crate::replay::send::Outcome;
use crate::replay::{compare, show};

/// What the replay pane needs to be drawn.
pub struct ReplayDraw<'a> {
    /// The pane.
    pub view: &'a ReplayView,
    /// Whether it has the keys.
    pub focused: bool,
    /// Colours.
    pub theme: &'a Theme,
    /// For the key hints.
    pub keymap: &'a Keymap,
    /// The replay target, for the title.
    pub base: Option<&'a str>,
    /// Whether an allowlist guards the targets.
    pub allowlist: bool,
    /// Hides secret header values (a response's Set-Cookie as much as a request's Authorization).
    pub redactor: &'a crate::replay::safety::Redactor,
    /// For the elapsed time and the spinner.
    pub now: Instant,
    /// Short key hints (a narrow terminal).
    pub narrow: bool,
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

fn e(s: &str) -> String {
    display_text(s.as_bytes())
}

/// Draw the replay pane in `r`.
pub fn draw_replay(d: &ReplayDraw<'_>, f: &mut Frame<'_>, r: Rect) {
    f.render_widget(Clear, r);
    match d.view {
        ReplayView::Single(s) => draw_single(d, s, f, r),
        ReplayView::Batch(b) => draw_batch(d, b, f, r),
    }
}

fn block<'a>(d: &ReplayDraw<'_>, title: String, hints: String) -> Block<'a> {
    let t = d.theme;
    Block::default()
        .borders(Borders::ALL)
        .border_style(if d.focused { t.border_focus } else { t.border })
        .title(Span::styled(title, t.title))
        .title_bottom(Line::from(Span::styled(hints, t.dim)))
        .style(t.base)
}

fn single_hints(d: &ReplayDraw<'_>, s: &SingleReplay) -> String {
    let k = |a| d.keymap.first_key(a);
    if !d.focused {
        return format!(" {} focuses the replay pane ", k(Action::NextPane));
    }
    if s.editing {
        return format!(
            " editing · {} send · {}/{} history · Esc stop editing ",
            k(Action::Send),
            k(Action::HistoryPrev),
            k(Action::HistoryNext)
        );
    }
    let esc = if matches!(s.sending, Sending::InFlight { .. }) { "cancel" } else { "close" };
    if d.narrow {
        return format!(
            " {} send · {} upstream · {} edit · {} curl · Esc {esc} ",
            k(Action::Send),
            k(Action::SendUpstream),
            k(Action::EditRequest),
            k(Action::CopyCurl)
        );
    }
    format!(
        " {} send · {} to upstream · {} both · {} edit · {} copy curl · {}/{} history · {} scroll · {} panes · Esc {esc} ",
        k(Action::Send),
        k(Action::SendUpstream),
        k(Action::SendBoth),
        k(Action::EditRequest),
        k(Action::CopyCurl),
        k(Action::HistoryPrev),
        k(Action::HistoryNext),
        k(Action::Down),
        k(Action::NextPane)
    )
}

fn draw_single(d: &ReplayDraw<'_>, s: &SingleReplay, f: &mut Frame<'_>, r: Rect) {
    let t = d.theme;
    let guard = if d.allowlist { "allowlist on" } else { "no allowlist" };
    let title = format!(" replay → {} · {guard} ", d.base.map_or("no target set".to_string(), e));
    let outer = block(d, title, single_hints(d, s));
    let inner = outer.inner(r);
    f.render_widget(outer, r);
    if inner.height < 3 {
        return;
    }
    let editor_h = (s.editor.lines().len() as u16 + 1).clamp(2, (inner.height / 2).max(2));
    let state = state_line(d, s);
    // a question wraps on a narrow terminal: it must be read whole, the key that answers it too
    let state_h = match s.sending {
        Sending::Confirm { .. } => (state.width() as u16).div_ceil(inner.width.max(1)).clamp(1, 3),
        _ => 1,
    };
    let [editor_area, state_area, rest] =
        Layout::vertical([Constraint::Length(editor_h), Constraint::Length(state_h), Constraint::Min(0)]).areas(inner);
    let mut editor = s.editor.clone();
    editor.set_style(t.base);
    editor.set_cursor_line_style(Style::default());
    if !(s.editing && d.focused) {
        editor.set_cursor_style(t.base);
    }
    f.render_widget(&editor, editor_area);
    f.render_widget(Paragraph::new(state).wrap(Wrap { trim: false }), state_area);
    // the log's side beside the response when there is room, above it when not
    let logged = logged_lines(d, s);
    let (logged_area, response_area) = if rest.width >= 90 {
        let [a, b] = Layout::horizontal([Constraint::Length(44), Constraint::Min(0)]).areas(rest);
        (a, b)
    } else {
        let h = (logged.len() as u16).min(rest.height / 2);
        let [a, b] = Layout::vertical([Constraint::Length(h), Constraint::Min(0)]).areas(rest);
        (a, b)
    };
    f.render_widget(Paragraph::new(logged).wrap(Wrap { trim: false }), logged_area);
    let response = response_lines(d, s);
    f.render_widget(Paragraph::new(response).wrap(Wrap { trim: false }).scroll((s.scroll, 0)), response_area);
}

fn state_line(d: &ReplayDraw<'_>, s: &SingleReplay) -> Line<'static> {
    let t = d.theme;
    match &s.sending {
        Sending::Confirm { reason, .. } => Line::from(vec![
            Span::styled(format!(" {} ", e(reason)), t.alert),
            Span::styled(format!(" {} sends, any other key cancels ", d.keymap.first_key(Action::Confirm)), t.bar_key),
        ]),
        Sending::InFlight { since } => {
            let secs = d.now.saturating_duration_since(*since).as_secs_f64();
            let frame = SPINNER[(secs * 10.0) as usize % SPINNER.len()];
            Line::from(vec![
                Span::styled(format!(" {frame} sending… {secs:.1} s "), t.bar_key),
                Span::styled(" Esc cancels ", t.dim),
            ])
        }
        _ => match &s.message {
            Some((true, m)) => Line::from(Span::styled(format!(" {} ", e(m)), t.alert)),
            Some((false, m)) => Line::from(Span::styled(format!(" {} ", e(m)), t.dim)),
            None => Line::from(Span::styled(
                "─".repeat(200),
                t.border, // a rule between the request and the outcome
            )),
        },
    }
}

fn logged_lines(d: &ReplayDraw<'_>, s: &SingleReplay) -> Vec<Line<'static>> {
    let t = d.theme;
    let Some(l) = &s.logged else {
        return vec![Line::from(Span::styled("not from a log record", t.dim))];
    };
    let mut out = vec![Line::from(vec![Span::styled("logged ", t.title), Span::styled(e(&l.place), t.dim)])];
    let status = match l.logged.status {
        Some(st) => Span::styled(show::status_text(st), t.status(st)),
        None => Span::styled("-", t.dim),
    };
    out.push(Line::from(vec![Span::styled("status   ", t.dim), status]));
    if let Some(ms) = l.logged.latency_ms {
        out.push(Line::from(vec![Span::styled("latency  ", t.dim), Span::raw(show::ms_text(ms))]));
    }
    if let Some(up) = &l.logged.upstream_status {
        out.push(Line::from(vec![Span::styled("upstream ", t.dim), Span::raw(e(up))]));
    }
    if let Some(id) = &s.logged_id {
        out.push(Line::from(vec![Span::styled("id       ", t.dim), Span::styled(e(id), t.id)]));
    }
    for line in &l.diagnosis {
        out.push(Line::from(Span::styled(e(line), t.dim)));
    }
    out
}

fn response_lines(d: &ReplayDraw<'_>, s: &SingleReplay) -> Vec<Line<'static>> {
    let t = d.theme;
    let mut out = Vec::new();
    if let Some(curl) = &s.curl {
        out.push(Line::from(Span::styled("curl (copied)", t.title)));
        out.push(Line::raw(e(curl)));
        out.push(Line::raw(""));
    }
    let Some(o) = &s.outcome else {
        if out.is_empty() && !matches!(s.sending, Sending::InFlight { .. }) {
            let k = |a| d.keymap.first_key(a);
            let (send, up, both) = (k(Action::Send), k(Action::SendUpstream), k(Action::SendBoth));
            let text = format!("replayed: not yet ({send} sends, {up} straight to the upstream, {both} both)");
            out.push(Line::from(Span::styled(text, t.dim)));
        }
        return out;
    };
    let logged = s.logged.as_ref().and_then(|l| l.logged.status);
    let upstream = format!("upstream {}", e(s.upstream_addr.as_deref().unwrap_or("")));
    match (s.aim, &s.upstream_outcome) {
        (Aim::Both, Some(u)) => {
            out.extend(comparison(d, o, u, &upstream));
            out.push(Line::raw(""));
            out.extend(outcome_lines(d, s, "gateway ", o, logged));
            out.push(Line::raw(""));
            out.extend(outcome_lines(d, s, &format!("{upstream} "), u, logged));
        }
        (Aim::Upstream, _) => out.extend(outcome_lines(d, s, &format!("{upstream} "), o, logged)),
        _ => out.extend(outcome_lines(d, s, "replayed ", o, logged)),
    }
    out
}

/// The gateway's and the upstream's outcomes side by side, and where they differ.
fn comparison(d: &ReplayDraw<'_>, g: &Outcome, u: &Outcome, upstream: &str) -> Vec<Line<'static>> {
    let t = d.theme;
    const W: usize = 26;
    let cell = |s: String| format!("{s:<W$} ");
    let status = |o: &Outcome| match o.status {
        Some(st) => Span::styled(cell(show::status_text(st)), t.status(st)),
        None => Span::styled(cell("no response".into()), t.alert),
    };
    let ms = |v: Option<f64>| cell(v.map_or("-".into(), show::ms_text));
    let differ = compare::differences(g, u);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{:<9}", ""), t.dim),
            Span::styled(cell("gateway".into()), t.title),
            Span::styled(upstream.to_string(), t.title),
        ]),
        Line::from(vec![Span::styled(format!("{:<9}", "status"), t.dim), status(g), status(u)]),
        Line::from(vec![
            Span::styled(format!("{:<9}", "headers"), t.dim),
            Span::raw(ms(g.headers_ms)),
            Span::raw(ms(u.headers_ms)),
        ]),
        Line::from(vec![
            Span::styled(format!("{:<9}", "total"), t.dim),
            Span::raw(ms(g.latency_ms)),
            Span::raw(ms(u.latency_ms)),
        ]),
        Line::from(vec![
            Span::styled(format!("{:<9}", "body"), t.dim),
            Span::raw(cell(compare::body_text(g))),
            Span::raw(cell(compare::body_text(u))),
        ]),
    ];
    let (text, style) = if differ.is_empty() { ("nothing".to_string(), t.dim) } else { (differ.join(", "), t.alert) };
    lines.push(Line::from(vec![Span::styled(format!("{:<9}", "differ"), t.dim), Span::styled(text, style)]));
    lines
}

/// One outcome: its status and verdict against the logged status, times, attempts, headers, body.
fn outcome_lines(
    d: &ReplayDraw<'_>,
    s: &SingleReplay,
    label: &str,
    o: &Outcome,
    logged: Option<u16>,
) -> Vec<Line<'static>> {
    let t = d.theme;
    let mut out = Vec::new();
    let mut head = vec![Span::styled(label.to_string(), t.title)];
    match o.status {
        Some(st) => {
            head.push(Span::styled(
                format!("{} {}", o.version.as_deref().unwrap_or(""), show::status_text(st)),
                t.status(st),
            ));
            let verdict = Verdict::of(logged, Some(o));
            let style = if verdict == Verdict::Same { t.dim } else { t.alert };
            head.push(Span::styled(format!("  {}", verdict.name()), style));
        }
        None => head.push(Span::styled(e(o.error.as_deref().unwrap_or("no response")), t.alert)),
    }
    out.push(Line::from(head));
    let timing = match (o.headers_ms, o.latency_ms) {
        (Some(h), Some(total)) => format!("headers {} · total {}", show::ms_text(h), show::ms_text(total)),
        _ => String::new(),
    };
    let id = s.sent_id.as_deref().map_or(String::new(), |id| format!(" · sent id {}", e(id)));
    out.push(Line::from(Span::styled(format!("{timing}{id}"), t.dim)));
    if o.insecure {
        out.push(Line::from(Span::styled("certificate NOT checked (insecure): anyone could have answered", t.alert)));
    }
    if let Some(to) = &o.connected_to {
        out.push(Line::from(Span::styled(format!("connected to {}", e(to)), t.dim)));
    }
    for (i, a) in o.attempts.iter().enumerate() {
        out.push(Line::from(Span::styled(format!("attempt {}", e(&show::attempt_text(i, a))), t.dim)));
    }
    if let Some(note) = &o.note {
        out.push(Line::from(Span::styled(e(note), t.alert)));
    }
    for (n, v) in &o.headers {
        out.push(Line::from(vec![Span::styled(format!("{}: ", e(n)), t.dim), Span::raw(e(&d.redactor.shown(n, v)))]));
    }
    let body = show::body_lines(o);
    if !body.is_empty() {
        out.push(Line::raw(""));
        out.extend(body.iter().map(|l| Line::raw(e(l))));
    }
    out
}

fn draw_batch(d: &ReplayDraw<'_>, b: &BatchReplay, f: &mut Frame<'_>, r: Rect) {
    let t = d.theme;
    let k = |a| d.keymap.first_key(a);
    let hints = if b.pending.is_some() {
        format!(" {} starts it, any other key cancels ", k(Action::Confirm))
    } else if b.finished.is_none() {
        format!(" {} scroll · {} panes · Esc cancels ", k(Action::Down), k(Action::NextPane))
    } else {
        format!(" {} scroll · {} panes · Esc closes ", k(Action::Down), k(Action::NextPane))
    };
    let title = format!(" batch replay → {} ", e(&b.target));
    let outer = block(d, title, hints);
    let inner = outer.inner(r);
    f.render_widget(outer, r);
    let mut lines = Vec::new();
    let total = b.rows.len();
    if b.pending.is_some() {
        let mut ask = format!(
            "Replay {total} request(s) the filter shows to {} at {}/s, {} at once?",
            e(&b.target),
            b.rate,
            b.concurrency
        );
        // the question wraps on a narrow terminal: it must be read whole
        if b.unsafe_count > 0 {
            ask.push_str(&format!(" {} of them are not idempotent.", b.unsafe_count));
        }
        for part in word_wrap(&ask, inner.width.max(1) as usize) {
            lines.push(Line::from(Span::styled(part, t.alert)));
        }
    } else {
        let done = b.rows.iter().filter(|r| r.result.is_some()).count();
        let state = b.finished.unwrap_or("running");
        let s = &b.summary;
        lines.push(Line::from(vec![
            Span::styled(format!("{state} {done}/{total} · "), t.title),
            Span::raw(format!(
                "same {} · changed {} · failed {} · skipped {} · ",
                s.same, s.changed, s.failed, s.skipped
            )),
            Span::styled(
                format!("circuit {}", b.circuit.name()),
                if b.circuit.name() == "closed" { t.dim } else { t.alert },
            ),
        ]));
        let cells: Vec<String> = s
            .matrix
            .iter()
            .flat_map(|(from, row)| row.iter().map(move |(to, n)| format!("{from}→{to} ×{n}")))
            .collect();
        if !cells.is_empty() {
            lines.push(Line::from(Span::styled(format!("logged→replayed  {}", cells.join("  ")), t.dim)));
        }
    }
    lines.push(Line::raw(""));
    // the outcome first, so a narrow terminal cuts the path, not the statuses
    let place_w = b.rows.iter().map(|r| r.place.chars().count()).max().unwrap_or(0);
    for row in b.rows.iter().skip(b.scroll as usize).take(inner.height as usize) {
        let logged = row.logged.map_or("-".into(), |s| s.to_string());
        let mut spans = vec![Span::styled(logged, row.logged.map_or(t.dim, |s| t.status(s))), Span::raw(" → ")];
        let mut after = String::new();
        match &row.result {
            None => spans.push(Span::styled("…  ", t.dim)),
            Some(None) => spans.push(Span::styled("skipped", t.alert)),
            Some(Some(o)) => {
                match o.status {
                    Some(st) => spans.push(Span::styled(st.to_string(), t.status(st))),
                    None => spans.push(Span::styled("failed", t.alert)),
                }
                if let Some(ms) = o.latency_ms {
                    after.push_str(&format!("{:>7}", show::ms_text(ms)));
                }
                if o.attempts.len() > 1 {
                    after.push_str(&format!(" ×{}", o.attempts.len()));
                }

                if let (None, Some(err)) = (o.status, &o.error) {
                    after.push_str(&format!(" {}", e(err)));
                }
            }
        }
        spans.push(Span::styled(format!("{after:<10} "), t.dim));
        if matches!(&row.result, Some(Some(o)) if o.insecure) {
            spans.push(Span::styled("cert NOT checked ", t.alert));
        }
        spans.push(Span::styled(format!("{:<place_w$}  ", e(&row.place)), t.dim));
        spans.push(Span::raw(format!("{} {}", e(&row.method), e(&row.path))));
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// `text` in lines of at most `width` columns, broken between words (a word longer than a line has one to itself).
fn word_wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push(line);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn word_wrap_breaks_between_words() {
        assert_eq!(
            super::word_wrap("Replay 19 requests to http://h at 10/s?", 16),
            ["Replay 19", "requests to", "http://h at", "10/s?"]
        );
        assert_eq!(super::word_wrap("short", 80), ["short"]);
    }
}
