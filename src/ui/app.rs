//! The console's state and its update: every key, mouse event, batch of lines and tick goes through
//! [`App::update`]; drawing only reads the state (see `draw.rs`).

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui_textarea::TextArea;

use super::keymap::{Action, Keymap};
use super::pane::{Matches, Pane};
use super::theme::Theme;
use crate::filter::Filter;
use crate::input::ScanOptions;
use crate::record::Role;
use crate::source::SourceMsg;

/// Something for the console to react to.
#[derive(Debug)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// A mouse click or wheel turn.
    Mouse(MouseEvent),
    /// The terminal's new size.
    Resize(u16, u16),
    /// Lines or an event from a source.
    Source(SourceMsg),
    /// Time passed (rates, incremental filtering).
    Tick(Instant),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    /// A result from an action task (replay).
    Action(super::actions::ActionMsg),
    /// Progress or the end of the history scan of a pane's source.
    History(usize, crate::history::Event),
}

/// What takes the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Keys are actions.
    Normal,
    /// Typing a filter expression.
    Filter,
    /// Typing a search regex.
    Search,
}

/// What is drawn over the panes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    /// Nothing.
    None,
    /// Every field of the selected line and its correlated records.
    Detail,
    /// Every record of the selected request, in time order, with the latency breakdown.
    Trace,
    /// The key table.
    Help,
    /// The diagnosis playbook for the selected record, code or route.
    Diagnosis,
}

/// Where everything goes on screen, computed from the terminal size and the state.
#[derive(Clone, Debug, PartialEq)]
pub struct Areas {
    /// The status-code strip.
    pub strip: Rect,
    /// Each shown pane and its rectangle (borders included).
    pub panes: Vec<(usize, Rect)>,
    /// The detail pane, when open.
    pub detail: Option<Rect>,
    /// The filter or search input line, when typing.
    pub input: Option<Rect>,
    /// The status bar.
    pub status: Rect,
    /// Where overlays (trace, help) go.
    pub overlay: Rect,
    /// The charts pane, when open.
    pub charts: Option<Rect>,
    /// The replay pane, when open.
    pub replay: Option<Rect>,
}

/// The filter bar's state.
pub struct FilterBar {
    /// The expression in force ("" = none).
    pub text: String,
    /// Its parse.
    pub filter: Option<Filter>,
    /// Why the typed expression does not parse.
    pub error: Option<String>,
    /// The expression before editing started (Esc restores it).
    before: String,
}

/// The console.
pub struct App {
    /// One pane per source.
    pub panes: Vec<Pane>,
    /// The pane that takes keys.
    pub focus: usize,
    /// Key bindings.
    pub keymap: Keymap,
    /// Colours.
    pub theme: Theme,
    /// What takes the keyboard.
    pub mode: Mode,
    /// What is drawn over the panes.
    pub overlay: Overlay,
    /// The line being typed (filter or search).
    pub input: TextArea<'static>,
    /// The filter.
    pub filter: FilterBar,
    /// The search regex, while a search is on.
    pub search: Option<regex::Regex>,
    /// The selected request's id keys (request id and linked trace ids).
    pub selected_keys: Vec<u64>,
    /// The selected request's id as logged.
    pub selected_id: Option<String>,
    /// The focused pane fills the screen.
    pub zoom: bool,
    /// Moving in one pane moves the others to the same moment.
    pub time_lock: bool,
    /// Long lines wrap instead of being cut.
    pub wrap: bool,
    /// Show raw lines instead of the parsed summary.
    pub raw: bool,
    /// Columns scrolled right.
    pub hscroll: usize,
    /// A one-line notice for the status bar.
    pub notice: Option<String>,
    /// Terminal size.
    pub size: (u16, u16),
    /// Something changed since the last frame.
    pub dirty: bool,
    /// Whether the sources are ahead of the console.
    pub pace: super::pace::Pace,
    /// Leave the console.
    pub quit: bool,
    /// The last tick's time.
    pub now: Instant,
    /// Lines as drawn, parsed once: frames mostly show the lines the frame before showed.
    pub(crate) drawn: std::cell::RefCell<super::line_cache::LineCache>,
    /// Panes whose stopped commands were asked to run again; the loop takes them ([`App::take_restarts`]).
    restarts: Vec<usize>,
    /// The charts pane, when open.
    pub charts: Option<super::charts::ChartView>,
    /// Per pane: routes and upstream addresses, indexed while the charts ask for them.
    pub keys_index: Vec<super::charts::PaneKeys>,
    /// Alert rules holding now.
    pub alerts: Vec<super::charts::Firing>,
    /// Every episode of the rules since the first line, as of the last tick.
    pub(crate) alert_history: Option<Vec<crate::alerts::Episode>>,
    /// Where the baseline the charts and the diagnosis compare with ends (log-time second), when set with `B`;
    /// `None`: before the first alert, else the first half.
    pub(crate) baseline_end: Option<i64>,
    /// The changes (reloads, deploys) found in the panes and read from `--markers` sources.
    pub markers: super::chart_markers::Markers,
    /// Lines the help overlay is scrolled down by.
    pub help_scroll: u16,
    /// The furthest the help can scroll at the size it was last drawn.
    pub(crate) help_max: std::cell::Cell<u16>,
    /// The diagnosis shown in its overlay.
    pub diagnosis: Option<super::diagnosis::DiagnosisView>,
    /// The replay pane, when open.
    pub replay: Option<super::replay::ReplayView>,
    /// The tool pane under the log panes (replay or token) takes the keys (Tab moves between it and the log panes).
    pub tool_focus: bool,
    /// The token pane, when open.
    pub token: Option<super::token::TokenView>,
    pub(crate) token_settings: super::token::TokenSettings,
    /// The ids replays were sent with: their own lines are marked when they arrive.
    pub replay_keys: Vec<u64>,
    /// The requests sent this session, as edited (and as sent, for the secrets the text hides), oldest first.
    pub replay_history: Vec<(String, crate::replay::Request)>,
    pub(crate) replay_settings: crate::replay::settings::Settings,
    pub(crate) actions: super::actions::ActionChannel,
    /// Counts what replays were started, so a result is matched to the send it answers.
    pub(crate) replay_seq: u64,
    /// The panes' pace as their titles last showed it.
    shown_rates: Vec<String>,
    /// Text for the terminal's clipboard, for the loop to send.
    pub(crate) clipboard: Option<String>,
    pub(crate) opts: ScanOptions,
    /// Where history scans started while the console runs (`H`) send what they do: the loop's channel.
    pub history_tx: Option<tokio::sync::mpsc::UnboundedSender<(usize, crate::history::Event)>>,
}

/// Lines checked against a new filter per tick, at most: the rest waits for the next frames.
const FILTER_BUDGET: Duration = Duration::from_millis(8);

impl App {
    /// A console for these sources: (display name, source as given, role if known).
    pub fn new(sources: Vec<(String, String, Option<Role>)>, opts: ScanOptions, keymap: Keymap, theme: Theme) -> Self {
        let thresholds = opts.alert_rules.thresholds();
        let panes: Vec<Pane> =
            sources.into_iter().map(|(name, src, role)| Pane::new(name, src, role, &thresholds)).collect();
        App {
            keys_index: panes.iter().map(|_| Default::default()).collect(),
            panes,
            focus: 0,
            keymap,
            theme,
            mode: Mode::Normal,
            overlay: Overlay::None,
            input: TextArea::default(),
            filter: FilterBar { text: String::new(), filter: None, error: None, before: String::new() },
            search: None,
            selected_keys: Vec::new(),
            selected_id: None,
            zoom: false,
            time_lock: false,
            wrap: false,
            raw: false,
            hscroll: 0,
            notice: None,
            size: (80, 24),
            dirty: true,
            pace: Default::default(),
            quit: false,
            now: Instant::now(),
            drawn: Default::default(),
            restarts: Vec::new(),
            charts: None,
            alerts: Vec::new(),
            alert_history: None,
            baseline_end: None,
            markers: Default::default(),
            help_scroll: 0,
            help_max: std::cell::Cell::new(u16::MAX),
            diagnosis: None,
            replay: None,
            tool_focus: false,
            replay_keys: Vec::new(),
            token: None,
            token_settings: Default::default(),
            replay_history: Vec::new(),
            replay_settings: Default::default(),
            actions: Default::default(),
            replay_seq: 0,
            shown_rates: Vec::new(),
            clipboard: None,
            history_tx: None,
            opts,
        }
    }

    /// Where everything goes at the current size.
    pub fn areas(&self) -> Areas {
        let full = Rect::new(0, 0, self.size.0, self.size.1);
        let input = self.mode != Mode::Normal;
        let [strip, middle, input_row, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(input as u16),
            Constraint::Length(1),
        ])
        .areas(full);
        let (middle, charts) = match &self.charts {
            Some(_) if middle.height >= 16 => {
                let [p, c] = Layout::vertical([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(middle);
                (p, Some(c))
            }
            Some(_) => (Rect { height: 0, ..middle }, Some(middle)),
            None => (middle, None),
        };
        let tool_open = self.replay.is_some() || self.token.is_some();
        let (middle, replay) = match tool_open {
            true if middle.height >= 16 => {
                let [p, r] = Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(middle);
                (p, Some(r))
            }
            true => (Rect { height: 0, ..middle }, Some(middle)),
            false => (middle, None),
        };
        let (pane_area, detail) = if replay.is_some() {
            (middle, None)
        } else if self.overlay == Overlay::Detail && middle.height >= 10 {
            let [p, d] = Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(middle);
            (p, Some(d))
        } else if self.overlay == Overlay::Detail {
            (Rect::new(middle.x, middle.y, middle.width, 0), Some(middle))
        } else {
            (middle, None)
        };
        let panes = if self.zoom || self.panes.len() <= 1 {
            self.panes.get(self.focus).map(|_| vec![(self.focus, pane_area)]).unwrap_or_default()
        } else {
            self.pane_rects(pane_area)
        };
        let full_middle =
            Rect { height: middle.height + charts.map_or(0, |c| c.height) + replay.map_or(0, |r| r.height), ..middle };
        let overlay = centered(full_middle, 90, 90);
        Areas { strip, panes, detail, input: input.then_some(input_row), status, overlay, charts, replay }
    }

    /// Gateways on the left and upstreams on the right when there is room; stacked otherwise.
    fn pane_rects(&self, area: Rect) -> Vec<(usize, Rect)> {
        let gateways: Vec<usize> = (0..self.panes.len()).filter(|&i| self.panes[i].side() == Role::Gateway).collect();
        let upstreams: Vec<usize> = (0..self.panes.len()).filter(|&i| self.panes[i].side() != Role::Gateway).collect();
        let stack = |ids: &[usize], area: Rect| -> Vec<(usize, Rect)> {
            let rects = Layout::vertical(vec![Constraint::Fill(1); ids.len()]).split(area);
            ids.iter().copied().zip(rects.iter().copied()).collect()
        };
        if area.width >= 120 && !gateways.is_empty() && !upstreams.is_empty() {
            let cols = Layout::default()
                .direction(Direction::Horizontal)
                .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
                .split(area);
            let mut out = stack(&gateways, cols[0]);
            out.extend(stack(&upstreams, cols[1]));
            out
        } else {
            // narrow: one column, gateways first
            let ids: Vec<usize> = gateways.into_iter().chain(upstreams).collect();
            stack(&ids, area)
        }
    }

    /// Body height (rows of lines) of pane `i` as laid out now.
    pub fn pane_height(&self, i: usize) -> usize {
        self.areas().panes.iter().find(|(p, _)| *p == i).map_or(1, |(_, r)| r.height.saturating_sub(2).max(1) as usize)
    }

    /// React to one message.
    pub fn update(&mut self, msg: Msg) {
        match msg {
            Msg::Key(k) if k.kind != KeyEventKind::Release => self.key(k),
            Msg::Key(_) => {}
            Msg::Mouse(m) => self.mouse(m),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.refit();
                self.dirty = true;
            }
            // the `--markers` sources come after the panes
            Msg::Source(m) if m.source() >= self.panes.len() => self.marker_message(m),
            Msg::Source(SourceMsg::Lines(b)) => self.lines(b.source, b.label.as_ref(), &b.data),
            Msg::Source(SourceMsg::Event(id, e)) => {
                use crate::source::SourceEvent;
                if let Some(p) = self.panes.get_mut(id) {
                    let ended = match &e {
                        SourceEvent::Exited { command, code, restart_in: None } => {
                            Some((command, code.map_or("killed by a signal".to_string(), |c| format!("exited {c}"))))
                        }
                        SourceEvent::Failed { command, .. } => Some((command, "could not start".to_string())),
                        _ => None,
                    };
                    if let SourceEvent::Started { command } = &e {
                        p.stopped.retain(|(c, _)| c != command);
                    }
                    if let Some((command, how)) = ended {
                        p.stopped.retain(|(c, _)| c != command);
                        p.stopped.push((command.clone(), how));
                    }
                    if let SourceEvent::Opened { path, offset } = &e
                        && p.origin.is_none()
                        && p.file.as_ref() == Some(path)
                    {
                        p.origin = super::pane::Origin::open(path, *offset);
                    }
                    // opening a file is the normal case, not news
                    p.note = match e {
                        SourceEvent::Opened { .. } => None,
                        e => Some(e.to_string()),
                    };
                    self.dirty = true;
                }
            }
            Msg::Paste(text) => self.paste(&text),
            Msg::Action(super::actions::ActionMsg::TokenChecked { seq, result }) => self.token_result(seq, result),
            Msg::Action(m) => self.action_result(m),
            Msg::History(i, e) => self.history(i, e),
            Msg::Tick(now) => {
                self.now = now;
                if self.pace.expire(now) {
                    self.dirty = true;
                }
                self.check_alerts();
                self.work(FILTER_BUDGET);
                // titles change with time alone (the pace, how long a source has been quiet): redraw when one did
                let rates: Vec<String> = self.panes.iter().map(|p| super::pane::pane_rate(p, now)).collect();
                if rates != self.shown_rates {
                    self.shown_rates = rates;
                    self.dirty = true;
                }
            }
        }
    }

    fn lines(&mut self, source: usize, label: Option<&std::sync::Arc<str>>, data: &[u8]) {
        let Some(height) = (source < self.panes.len()).then(|| self.pane_height(source)) else { return };
        let filter = self.filter.filter.as_ref();
        let p = &mut self.panes[source];
        let first = p.lines.is_empty();
        let n = p.ingest(data, label, &self.opts, filter);
        p.rate.add(self.now, n);
        self.pace.add(n.into());
        if p.follow {
            p.to_bottom(height);
            if source == self.focus {
                self.follow_all();
            }
        }
        if first {
            // the format decides the side: lay out again
            self.refit();
        }
        self.dirty = true;
    }

    fn history(&mut self, i: usize, event: crate::history::Event) {
        if i >= self.panes.len() {
            return;
        }
        match event {
            crate::history::Event::Update(u) => self.panes[i].history_update(u, self.now),
            crate::history::Event::Done { store, error } => {
                let h = self.pane_height(i);
                self.panes[i].prepend(*store, h);
                // what was indexed of the pane's lines is indexed again, in their new places
                self.keys_index[i] = Default::default();
                self.markers.forget(i);
                *self.drawn.borrow_mut() = Default::default();
                if let Some(e) = error {
                    self.panes[i].note = Some(format!("history: {e}; the lines before it were read"));
                }
                if i == self.focus && self.panes[i].follow {
                    self.follow_all();
                }
                self.selection_moved();
            }
        }
        self.dirty = true;
    }

    /// Keep every pane's cursor in view after a layout change.
    pub(crate) fn refit(&mut self) {
        for i in 0..self.panes.len() {
            let h = self.pane_height(i);
            self.panes[i].refit(h);
        }
    }

    /// Continue checking lines against the filter (and indexing routes and changes for the charts) for up to
    /// `budget`; returns whether lines remain.
    pub fn work(&mut self, budget: Duration) -> bool {
        let start = Instant::now();
        // both, each within the budget
        let indexing = self.index_keys(budget) | self.scan_markers(budget);
        let Some(f) = self.filter.filter.clone() else { return indexing };
        let mut pending = false;
        for i in 0..self.panes.len() {
            while !self.panes[i].filter_done() {
                if start.elapsed() >= budget {
                    return true;
                }
                self.panes[i].scan_filter(&f, 20_000);
                self.dirty = true;
                let h = self.pane_height(i);
                self.panes[i].refit(h);
            }
            pending |= !self.panes[i].filter_done();
        }
        pending || indexing
    }

    /// Check every line against the filter now (tests, benchmarks).
    pub fn settle(&mut self) {
        while self.work(Duration::from_secs(3600)) {}
    }

    /// Whether filtering (or indexing routes and changes for the charts) still has lines to check.
    pub fn has_work(&self) -> bool {
        (self.filter.filter.is_some() && self.panes.iter().any(|p| !p.filter_done()))
            || self.indexing_pending()
            || self.markers_pending()
    }

    fn key(&mut self, k: KeyEvent) {
        self.dirty = true;
        match self.mode {
            Mode::Filter | Mode::Search => return self.input_key(k),
            Mode::Normal => {}
        }
        let action = self.keymap.action(k);
        if self.tool_focus && self.overlay != Overlay::Help {
            if self.token.is_some() {
                return self.token_key(k);
            }
            if self.replay.is_some() {
                return self.replay_key(k);
            }
        }
        if self.overlay == Overlay::Help && action != Some(Action::Quit) {
            // the help scrolls (it is longer than a small terminal); any other key closes it
            self.help_scroll = match action {
                Some(Action::Down) => self.help_scroll.saturating_add(1).min(self.help_max.get()),
                Some(Action::Up) => self.help_scroll.saturating_sub(1),
                Some(Action::PageDown) => self.help_scroll.saturating_add(10).min(self.help_max.get()),
                Some(Action::PageUp) => self.help_scroll.saturating_sub(10),
                _ => {
                    self.overlay = Overlay::None;
                    0
                }
            };
            return;
        }
        let Some(action) = action else { return };
        if self.chart_key(action) {
            return;
        }
        self.act(action);
    }

    /// Do what an action says.
    pub fn act(&mut self, action: Action) {
        self.dirty = true;
        let h = self.pane_height(self.focus);
        let cur = self.panes.get(self.focus).map_or(0, |p| p.cursor);
        match action {
            Action::Quit => self.quit = true,
            Action::Down => self.move_to(cur.saturating_add(1)),
            Action::Up => self.move_to(cur.saturating_sub(1)),
            Action::PageDown => self.move_to(cur.saturating_add(h)),
            Action::PageUp => self.move_to(cur.saturating_sub(h)),
            Action::Top => self.move_to(0),
            Action::Bottom | Action::Follow => {
                if let Some(p) = self.panes.get_mut(self.focus) {
                    p.to_bottom(h);
                    self.follow_all();
                }
            }
            Action::Left => self.hscroll = self.hscroll.saturating_sub(8),
            Action::Right => self.hscroll += 8,
            Action::NextPane => self.cycle_focus(true),
            Action::PrevPane => self.cycle_focus(false),
            Action::Detail => self.toggle(Overlay::Detail),
            Action::Trace => {
                if self.overlay != Overlay::Trace {
                    self.hold_selection();
                }
                self.toggle(Overlay::Trace);
            }
            Action::Help => self.toggle(Overlay::Help),
            Action::Back => {
                if self.overlay != Overlay::None {
                    self.overlay = Overlay::None;
                } else if self.search.is_some() {
                    self.search = None;
                } else if self.zoom {
                    self.zoom = false;
                    self.refit();
                }
            }
            Action::NextRecord => self.step(true),
            Action::PrevRecord => self.step(false),
            Action::Search => self.start_input(Mode::Search, ""),
            Action::Filter => {
                let text = self.filter.text.clone();
                self.start_input(Mode::Filter, &text);
            }
            Action::ClearFilter => {
                self.apply_filter("");
                self.notice = Some("filter cleared".into());
            }
            Action::Zoom => {
                self.zoom = !self.zoom;
                self.refit();
            }
            Action::TimeLock => {
                self.time_lock = !self.time_lock;
                self.notice = Some(format!("time lock {}", if self.time_lock { "on" } else { "off" }));
                self.selection_moved();
            }
            Action::Wrap => self.wrap = !self.wrap,
            Action::RawView => self.raw = !self.raw,
            Action::Restart => self.restart(),
            Action::Earlier => self.earlier(),
            Action::Charts => self.toggle_charts(),
            Action::NextWindow | Action::PrevWindow | Action::Breakdown | Action::Scope | Action::Baseline => {
                // chart keys with the charts closed open them first
                self.toggle_charts();
                self.chart_key(action);
            }
            Action::Diagnose => self.diagnose_selected(),
            Action::Replay => self.open_replay(),
            Action::Token => self.open_token(),
            Action::ReplayFiltered => self.open_batch_replay(),
            // the replay pane's own keys mean nothing in the log panes
            Action::Send
            | Action::SendUpstream
            | Action::SendBoth
            | Action::CopyCurl
            | Action::EditRequest
            | Action::HistoryPrev
            | Action::HistoryNext
            | Action::Confirm
            | Action::TokenSecret
            | Action::TokenKey
            | Action::TokenEdit => {}
        }
    }

    /// Pasted text goes where typing goes: the filter or search line, or the replay editor.
    fn paste(&mut self, text: &str) {
        self.dirty = true;
        if matches!(self.mode, Mode::Filter | Mode::Search) {
            // one line: a pasted line end would end the input
            self.input.insert_str(text.replace(['\r', '\n'], " "));
            if self.mode == Mode::Filter {
                let typed = self.input.lines().join("");
                self.apply_filter(&typed);
            }
        } else if self.tool_focus && self.token.is_some() {
            self.paste_into_token(text);
        } else if self.tool_focus {
            self.paste_into_replay(text);
        }
    }

    /// The ▶ line means the same to every key: while the focused pane follows, it is the newest line, and a key
    /// that looks at its request (the trace) pauses the pane there, so the request stays the one asked about.
    pub(crate) fn hold_selection(&mut self) {
        let Some(p) = self.panes.get_mut(self.focus) else { return };
        if p.follow && p.selected_line().is_some() {
            p.follow = false;
            self.selection_moved();
        }
    }

    /// Run the focused pane's stopped commands again (the loop does it: see [`App::take_restarts`]).
    fn restart(&mut self) {
        let Some(p) = self.panes.get_mut(self.focus) else { return };
        if p.stopped.is_empty() {
            self.notice = Some("nothing to restart: this pane's source is not a command that has exited".into());
            return;
        }
        p.note = Some(match p.stopped.as_slice() {
            [(one, _)] => format!("`{one}` restarting"),
            many => format!("restarting {} commands", many.len()),
        });
        if !self.restarts.contains(&self.focus) {
            self.restarts.push(self.focus);
        }
    }

    /// The panes whose stopped commands should run again, asked for since the last call.
    pub fn take_restarts(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.restarts)
    }

    fn toggle(&mut self, o: Overlay) {
        self.overlay = if self.overlay == o { Overlay::None } else { o };
        self.refit();
    }

    /// Tab / Shift-Tab: the next or previous pane in screen order; the replay pane, when open, is the stop after the
    /// last pane (and before the first).
    pub(crate) fn cycle_focus(&mut self, forward: bool) {
        if self.panes.is_empty() {
            return;
        }
        // in screen order, so Tab goes left to right, top to bottom
        let order: Vec<usize> =
            self.pane_rects(Rect::new(0, 0, self.size.0, self.size.1)).iter().map(|(i, _)| *i).collect();
        let n = order.len();
        if self.tool_focus {
            self.tool_focus = false;
            self.focus = if forward { order[0] } else { order[n - 1] };
        } else {
            let at = order.iter().position(|&i| i == self.focus).unwrap_or(0);
            let wrapped = if forward { at == n - 1 } else { at == 0 };
            if (self.replay.is_some() || self.token.is_some()) && wrapped {
                self.tool_focus = true;
                return;
            }
            self.focus = order[if forward { (at + 1) % n } else { (at + n - 1) % n }];
        }
        if self.zoom {
            self.refit();
        }
    }

    /// Move the focused pane's cursor to `row`, then follow the selection in the other panes.
    fn move_to(&mut self, row: usize) {
        let h = self.pane_height(self.focus);
        let Some(p) = self.panes.get_mut(self.focus) else { return };
        p.set_cursor(row, h);
        p.led = false;
        self.selection_moved();
    }

    /// The focused pane follows its newest line: no request is being looked at, and the panes the selection had
    /// moved to its records follow again too (a pane the user moved in stays where they left it).
    fn follow_all(&mut self) {
        self.selected_keys.clear();
        self.selected_id = None;
        for i in 0..self.panes.len() {
            if self.panes[i].led {
                let h = self.pane_height(i);
                self.panes[i].led = false;
                self.panes[i].to_bottom(h);
            }
        }
    }

    /// The selection changed: find its request in every pane (or the same moment, when time-locked).
    pub fn selection_moved(&mut self) {
        let Some(pane) = self.panes.get(self.focus) else { return };
        let Some(line) = pane.selected_line() else { return };
        let mut keys = pane.lines.keys(line, &pane.keys_of());
        let time = pane.lines.meta(line).time_ms();
        self.selected_id = pane.parser.as_ref().and_then(|parser| {
            let text = pane.lines.line(line);
            let r = parser.parse(&text)?;
            r.request_id.or(r.trace_id).map(|s| s.into_owned())
        });
        // a request id leads to its trace id where a line logs both, and the other way round
        for _ in 0..3 {
            let mut grew = false;
            for p in &self.panes {
                grew |= p.lines.link_keys(&mut keys, &p.keys_of());
            }
            if !grew {
                break;
            }
        }
        self.selected_keys = keys;
        for i in 0..self.panes.len() {
            if i == self.focus {
                continue;
            }
            let h = self.pane_height(i);
            let p = &self.panes[i];
            let hits = p.lines.lines_with(&self.selected_keys, &p.keys_of());
            // the record nearest in time: a retried request logs several
            let target = hits
                .iter()
                .copied()
                .filter(|&l| p.shows(l))
                .min_by_key(|&l| (p.lines.meta(l).time_ms() - time).abs())
                .or_else(|| (self.time_lock && !p.lines.is_empty()).then(|| p.lines.line_at_time(time)));
            if let Some(l) = target {
                let p = &mut self.panes[i];
                let row = p.line_row(l);
                p.set_cursor(row, h);
                p.follow = false;
                p.led = true;
            }
        }
    }

    /// Every record of the selected request, across panes, in time order: (pane, line).
    pub fn request_records(&self) -> Vec<(usize, usize)> {
        let mut all: Vec<(i64, usize, usize)> = Vec::new();
        for (i, p) in self.panes.iter().enumerate() {
            for l in p.lines.lines_with(&self.selected_keys, &p.keys_of()) {
                // under a filter, only the records it shows
                if p.shows(l) {
                    all.push((p.lines.meta(l).time_ms(), i, l));
                }
            }
        }
        all.sort();
        all.into_iter().map(|(_, p, l)| (p, l)).collect()
    }

    /// `n`/`N`: the next search match when searching, else the next record of the selected request.
    fn step(&mut self, forward: bool) {
        if let Some(re) = self.search.clone() {
            return self.search_step(&re, forward);
        }
        let records = self.request_records();
        if records.is_empty() {
            self.notice = Some(match self.selected_keys.is_empty() {
                true => "no request selected (its line has no request id)".into(),
                false => "the filter hides this request's records".into(),
            });
            return;
        }
        let here = (self.focus, self.panes[self.focus].selected_line().unwrap_or(0));
        let at = records.iter().position(|r| *r == here);
        let next = match (at, forward) {
            (Some(i), true) => (i + 1) % records.len(),
            (Some(i), false) => (i + records.len() - 1) % records.len(),
            (None, _) => 0,
        };
        let (pane, line) = records[next];
        self.focus = pane;
        let h = self.pane_height(pane);
        let p = &mut self.panes[pane];
        let row = p.line_row(line);
        p.set_cursor(row, h);
        p.follow = false;
        p.led = false; // the user went there
        self.notice = Some(format!("record {} of {} of this request", next + 1, records.len()));
        // the keys stay: stepping moves along one request
    }

    fn search_step(&mut self, re: &regex::Regex, forward: bool) {
        let h = self.pane_height(self.focus);
        let Some(p) = self.panes.get_mut(self.focus) else { return };
        let rows = p.rows();
        if rows == 0 {
            return;
        }
        let found = (1..=rows)
            .map(|d| if forward { (p.cursor + d) % rows } else { (p.cursor + rows - d % rows) % rows })
            .find(|&row| {
                // a record's folded stack trace is searched with it
                let line = p.row_line(row);
                (line..p.lines.continuation_of(line).end)
                    .any(|l| re.is_match(&String::from_utf8_lossy(&p.lines.line(l))))
            });
        match found {
            Some(row) => {
                p.set_cursor(row, h);
                self.notice = None;
                self.selection_moved();
            }
            None => self.notice = Some(format!("no match for /{}/", re.as_str())),
        }
    }

    fn start_input(&mut self, mode: Mode, text: &str) {
        self.mode = mode;
        self.input = TextArea::new(vec![text.to_string()]);
        self.input.move_cursor(ratatui_textarea::CursorMove::End);
        if mode == Mode::Filter {
            self.filter.before = self.filter.text.clone();
        }
        self.refit();
    }

    fn input_key(&mut self, k: KeyEvent) {
        // a quit key with Ctrl (Ctrl-c) quits from the input line too; plain letters are text
        if k.modifiers.contains(crossterm::event::KeyModifiers::CONTROL) && self.keymap.action(k) == Some(Action::Quit)
        {
            self.quit = true;
            return;
        }
        match k.code {
            KeyCode::Esc => {
                if self.mode == Mode::Filter {
                    let before = self.filter.before.clone();
                    self.apply_filter(&before);
                }
                self.mode = Mode::Normal;
                self.refit();
            }
            KeyCode::Enter => {
                let typed = self.input.lines().join("");
                match self.mode {
                    Mode::Filter if self.filter.error.is_some() => return, // keep editing
                    Mode::Search => match regex::Regex::new(&typed) {
                        Ok(re) if !typed.is_empty() => {
                            self.search = Some(re.clone());
                            self.search_step(&re, true);
                        }
                        Ok(_) => self.search = None,
                        Err(e) => {
                            self.notice = Some(format!("bad regex: {}", crate::filter::regex_error(&e)));
                            return;
                        }
                    },
                    _ => {}
                }
                self.mode = Mode::Normal;
                self.refit();
            }
            _ => {
                self.input.input(k);
                if self.mode == Mode::Filter {
                    // filter as you type: the count shows before Enter
                    let typed = self.input.lines().join("");
                    self.apply_filter(&typed);
                }
            }
        }
    }

    /// Put a filter expression in force ("" for none); an invalid one leaves the last valid filter on.
    pub fn apply_filter(&mut self, text: &str) {
        let text = text.trim();
        let parsed = if text.is_empty() { Ok(None) } else { Filter::parse(text).map(Some) };
        match parsed {
            Err(e) => {
                self.filter.error = Some(format!("{e:#}"));
                return;
            }
            Ok(f) => {
                self.filter.error = None;
                if self.filter.text == text && self.filter.filter.is_some() == f.is_some() {
                    return;
                }
                self.filter.text = text.to_string();
                self.filter.filter = f;
            }
        }
        let on = self.filter.filter.is_some();
        for p in &mut self.panes {
            // the selection survives filter edits, even through a prefix that matches nothing
            if p.anchor.is_none() && !p.follow {
                p.anchor = p.selected_line();
            }
            p.matches = on.then(Matches::default);
        }
        // a first slice now, so the count shows at once; the rest on the next ticks
        self.work(FILTER_BUDGET);
        for i in 0..self.panes.len() {
            let h = self.pane_height(i);
            self.panes[i].refit(h);
        }
    }

    /// (matching, checked, total) lines over all panes, for the filter's live count.
    pub fn filter_count(&self) -> (u64, u64, u64) {
        let mut c = (0, 0, 0);
        for p in &self.panes {
            c.2 += p.lines.len() as u64;
            match &p.matches {
                Some(m) => {
                    c.0 += m.lines.len() as u64;
                    c.1 += m.scanned as u64;
                }
                None => {
                    c.0 += p.lines.len() as u64;
                    c.1 += p.lines.len() as u64;
                }
            }
        }
        c
    }

    fn mouse(&mut self, m: MouseEvent) {
        let areas = self.areas();
        let Some(&(i, r)) = areas.panes.iter().find(|(_, r)| r.contains((m.column, m.row).into())) else { return };
        let h = r.height.saturating_sub(2).max(1) as usize;
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = i;
                if m.row > r.y && m.row < r.y + r.height - 1 {
                    // the row drawn there (wrapped lines take several screen rows)
                    let at = (m.row - r.y - 1) as usize;
                    let p = &mut self.panes[i];
                    let drawn = p.drawn.get_mut();
                    let row = if drawn.is_empty() { Some(p.top + at) } else { drawn.get(at).copied() };
                    if let Some(row) = row.filter(|&row| row < p.rows()) {
                        // the view stays as it was drawn (with wrap, it may start above `top`)
                        p.top = p.drawn.get_mut().first().copied().unwrap_or(p.top);
                        self.move_to(row);
                    }
                }
                self.dirty = true;
            }
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let p = &mut self.panes[i];
                let row = if m.kind == MouseEventKind::ScrollDown { p.cursor + 3 } else { p.cursor.saturating_sub(3) };
                p.set_cursor(row, h);
                p.led = false;
                if i == self.focus {
                    self.selection_moved();
                }
                self.dirty = true;
            }
            _ => {}
        }
    }
}

/// A rectangle `pw`% × `ph`% of `area`, centred.
pub fn centered(area: Rect, pw: u16, ph: u16) -> Rect {
    let w = (area.width as u32 * pw.min(100) as u32 / 100) as u16;
    let h = (area.height as u32 * ph.min(100) as u32 / 100) as u16;
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}
