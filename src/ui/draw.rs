//! Drawing the frame: the one view that reads the whole [`App`] (never changing it). It draws the strip, the
//! status line and the overlays, and hands the pane, charts, replay and token views the state each draws. Log text
//! is untrusted: every line goes through [`display_text`], so no control character or escape sequence reaches the
//! terminal.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::app::{App, Mode, Overlay};
use super::display::display_text;
use super::pane::Pane;
use super::pane_draw::{LineLook, PaneDraw, line_spans};
use crate::numbers::thousands;
use crate::record::Role;

/// Draw the whole console.
pub fn draw(app: &App, f: &mut Frame<'_>) {
    let areas = app.areas();
    let t = &app.theme;
    f.render_widget(Block::default().style(t.base), f.area());
    draw_strip(app, f, areas.strip);
    for &(i, r) in &areas.panes {
        super::pane_draw::draw_pane(&pane_draw(app, i), f, r);
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

/// How the app shows lines.
fn line_look(app: &App) -> LineLook<'_> {
    LineLook { theme: &app.theme, raw: app.raw, search: app.search.as_ref(), cache: &app.drawn }
}

/// What pane `i`'s view draws.
fn pane_draw(app: &App, i: usize) -> PaneDraw<'_> {
    PaneDraw {
        pane: &app.panes[i],
        index: i,
        look: line_look(app),
        keymap: &app.keymap,
        focused: i == app.focus && !app.tool_focus,
        now: app.now,
        wrap: app.wrap,
        hscroll: app.hscroll,
        selected_keys: &app.selected_keys,
        replay_keys: &app.replay_keys,
    }
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

fn kv_lines(app: &App, pane: &Pane, line: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let text = pane.lines.line(line);
    let raw = &*text;
    let labelled = |label: &str, text: &[u8]| {
        Line::from(vec![Span::styled(format!("{label:>20} "), t.dim), Span::raw(display_text(text))])
    };
    let mut out = Vec::new();
    // the lines that continue it (its stack trace); first the exceptions they name, the cause chain, which a
    // long trace would push out of view
    let folded = pane.lines.continuation_of(line);
    let causes: Vec<String> =
        folded.clone().filter_map(|l| crate::format::continuation::exception(&pane.lines.line(l))).take(5).collect();
    for (k, c) in causes.iter().enumerate() {
        out.push(labelled(if k == 0 { "exception" } else { "caused by" }, c.as_bytes()));
    }
    match pane.parser.as_ref().and_then(|x| x.parse(raw)) {
        Some(r) => {
            for (k, v) in crate::output::record_json(&r) {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    v => v.to_string(),
                };
                out.push(labelled(&k, v.as_bytes()));
            }
        }
        None => out.push(Line::from(Span::styled("(the line does not parse as this source's format)", t.dim))),
    }
    out.push(labelled("raw", raw));
    for (k, l) in folded.clone().take(FOLDED_SHOWN).enumerate() {
        out.push(labelled(if k == 0 { "continued" } else { "" }, &pane.lines.line(l)));
    }
    if folded.len() > FOLDED_SHOWN {
        let more = format!("{:>20} … {} more lines", "", folded.len() - FOLDED_SHOWN);
        out.push(Line::from(Span::styled(more, t.dim)));
    }
    out
}

/// The most lines of a record's stack trace the detail shows.
const FOLDED_SHOWN: usize = 200;

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
    spans.extend(line_spans(&line_look(app), p, pi, line, true, None));
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
            let text = p.lines.line(l);
            if let Some(rec) = p.parser.as_ref().and_then(|x| x.parse(&text)) {
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
            spans.extend(line_spans(&line_look(app), &app.panes[h.pane], h.pane, h.line, true, None));
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
    let (done, total) = app.panes.iter().filter_map(|p| p.history).fold((0, 0), |(d, t), (a, b)| (d + a, t + b));
    // older history is still being indexed: the lines shown are the newest, the rest comes
    if let Some(pct) = (done * 100).checked_div(total) {
        let text = match r.width < 100 {
            true => format!(" history {pct}% "),
            false => format!(" indexing history: {pct}% of {} ", crate::numbers::bytes_text(total)),
        };
        spans.push(Span::styled(text, t.paused));
    }
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
        let mut since = format!("since {} ", super::charts::log_stamp(&app.panes, first, dated));
        if let Some(until) = app.opts.window.and_then(|w| w.until_us) {
            since.push_str(&format!(
                "until {} ",
                super::charts::log_stamp(&app.panes, until.div_euclid(1_000_000), dated)
            ));
        }
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
