//! The replay pane's update: its keys, editing the request, sending it (and batches) as tasks that report back.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;
use tokio::sync::mpsc;

use super::actions::ActionMsg;
use super::app::App;
use super::keymap::{Action, Context};
use super::replay::{Aim, BatchReplay, BatchRow, LoggedSide, Planned, ReplayView, Sending, SingleReplay};
use crate::record::Role;
use crate::replay::batch::{self, BatchOptions, Summary};
use crate::replay::breaker::Circuit;
use crate::replay::edit;
use crate::replay::request::{self, is_idempotent};
use crate::replay::safety::check_request;
use crate::replay::select::{is_request, oldest_first};
use crate::replay::send::{SendOptions, send_alone};
use crate::replay::settings::Settings;
use crate::replay::upstream;

/// Each attempt's timeout in the console.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait between attempts in the console.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Batch replay from the console: at most this many requests…
const BATCH_MAX: usize = 100;
/// …this many in flight at once…
const BATCH_CONCURRENCY: usize = 4;
/// …and this many started per second, gentle on a target that is already in trouble.
const BATCH_RATE: f64 = 10.0;

fn editor_with(text: &str) -> TextArea<'static> {
    let mut t = TextArea::new(text.lines().map(str::to_string).collect());
    t.move_cursor(ratatui_textarea::CursorMove::Top);
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t
}

fn send_options(method: &str) -> SendOptions {
    SendOptions::for_method(method, TIMEOUT, None, MAX_BACKOFF)
}

impl App {
    /// Take the receiving end of action results (the loop selects over it).
    pub fn take_action_results(&mut self) -> Option<mpsc::UnboundedReceiver<ActionMsg>> {
        self.actions.rx.take()
    }

    /// Replay settings: the config's `[replay]` table and `--replay-base`.
    pub fn set_replay_settings(&mut self, s: Settings) {
        self.replay_settings = s;
    }

    /// Whether a replay is in flight: opening another would end it, so the user is asked to cancel it first.
    fn replay_busy(&mut self) -> bool {
        let busy = self.replay.as_ref().is_some_and(|r| r.in_flight());
        if busy {
            let back = self.keymap.keys_for(Action::Back).first().cloned().unwrap_or_default();
            self.notice = Some(format!("a replay is in flight: {back} in the replay pane cancels it first"));
        }
        busy
    }

    /// `e`: open the replay pane on the selected record's request.
    pub fn open_replay(&mut self) {
        if self.replay_busy() {
            return;
        }
        let Some(p) = self.panes.get(self.focus) else { return };
        let Some(line) = p.selected_line() else {
            self.notice = Some("no line selected to replay".into());
            return;
        };
        let text = p.lines.line(line);
        let Some(rec) = p.parser.as_ref().and_then(|x| x.parse(&text)) else {
            self.notice = Some("the selected line is not a record gatewatch can read".into());
            return;
        };
        let place = format!("{}:{}", p.name, line + 1);
        let s = &self.replay_settings;
        let base = s.base.clone().unwrap_or_else(|| match rec.host.as_deref() {
            Some(h) => format!("http://{h}"),
            None => "http://127.0.0.1".into(),
        });
        let opts = s.build_options(base);
        let rebuilt = match request::from_record(&rec, &opts) {
            Ok(r) => r,
            Err(e) => {
                self.notice = Some(format!("cannot replay this line: {e}; select a request's line"));
                return;
            }
        };
        let diagnosis = match rec.status.filter(|s| *s >= 400).map(|_| self.diagnose_record()) {
            Some(Ok(v)) => v.entries.first().map_or(Vec::new(), |d| {
                vec![format!("{} ({}): {}", d.status, d.origin, d.cause), format!("check: {}", d.first_check)]
            }),
            _ => Vec::new(),
        };
        let logged = LoggedSide { place, logged: batch::Logged::of(&rec), diagnosis };
        let mut notes = Vec::new();
        if s.base.is_none() {
            notes.push("no --replay-base (or [replay] base_url): edit the URL, then ctrl-s");
        }
        if request::expects_body(&rebuilt.request.method) {
            notes.push("logs do not carry bodies: add one below a blank line");
        }
        let message = (!notes.is_empty()).then(|| (s.base.is_none(), notes.join("; ")));
        let text = edit::to_text(&rebuilt.request, &s.redactor);
        self.token = None;
        self.replay = Some(ReplayView::Single(Box::new(SingleReplay {
            editor: editor_with(&text),
            editing: true,
            before: rebuilt.request,
            logged: Some(logged),
            logged_id: rebuilt.logged_id,
            sent_id: None,
            sending: Sending::Idle,
            outcome: None,
            aim: Aim::Gateway,
            upstream_outcome: None,
            upstream_addr: None,
            upstreams: crate::replay::upstream::addresses(&rec),
            message,
            curl: None,
            scroll: 0,
            history_at: None,
            task: None,
            seq: 0,
        })));
        self.tool_focus = true;
        self.refit();
    }

    /// Close the replay pane (ending what it runs).
    pub fn close_replay(&mut self) {
        self.replay = None;
        self.tool_focus = false;
        self.refit();
    }

    /// A key for the replay pane, when it has the focus.
    pub(crate) fn replay_key(&mut self, k: KeyEvent) {
        let Some(view) = self.replay.as_mut() else { return };
        match view {
            ReplayView::Single(s) if matches!(s.sending, Sending::Confirm { .. }) => {
                let Sending::Confirm { request, .. } = std::mem::replace(&mut s.sending, Sending::Idle) else {
                    return;
                };
                if self.keymap.action_in(Context::Prompt, k) == Some(Action::Confirm) {
                    self.dispatch(*request);
                } else if let Some(ReplayView::Single(s)) = self.replay.as_mut() {
                    s.message = Some((false, "not sent".into()));
                }
            }
            ReplayView::Single(s) if s.editing => {
                let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
                match self.keymap.action_in(Context::Replay, k) {
                    Some(Action::Send) => return self.replay_send(Aim::Gateway),
                    Some(a @ (Action::HistoryPrev | Action::HistoryNext)) => return self.replay_history(a),
                    _ => {}
                }
                match self.keymap.action(k) {
                    Some(Action::Quit) if ctrl => self.quit = true,
                    Some(a @ (Action::NextPane | Action::PrevPane)) => self.cycle_focus(a == Action::NextPane),
                    _ if k.code == KeyCode::Esc => {
                        s.editing = false;
                        self.normalize_editor();
                    }
                    _ => {
                        s.editor.input(k);
                    }
                }
            }
            ReplayView::Batch(b) if b.pending.is_some() => {
                if self.keymap.action_in(Context::Prompt, k) == Some(Action::Confirm) {
                    self.start_batch();
                } else {
                    self.close_replay();
                    self.notice = Some("batch replay cancelled: nothing sent".into());
                }
            }
            _ => {
                let action = self.keymap.action_in(Context::Replay, k).or_else(|| self.keymap.action(k));
                self.replay_action(action);
            }
        }
    }

    /// A key of the replay pane outside its editor and prompts.
    fn replay_action(&mut self, action: Option<Action>) {
        let Some(view) = self.replay.as_mut() else { return };
        let scroll = match view {
            ReplayView::Single(s) => &mut s.scroll,
            ReplayView::Batch(b) => &mut b.scroll,
        };
        match action {
            Some(Action::Down) => *scroll = scroll.saturating_add(1),
            Some(Action::Up) => *scroll = scroll.saturating_sub(1),
            Some(Action::PageDown) => *scroll = scroll.saturating_add(10),
            Some(Action::PageUp) => *scroll = scroll.saturating_sub(10),
            Some(Action::Top) => *scroll = 0,
            Some(Action::Send) => self.replay_send(Aim::Gateway),
            Some(Action::SendUpstream) => self.replay_send(Aim::Upstream),
            Some(Action::SendBoth) => self.replay_send(Aim::Both),
            Some(Action::CopyCurl) => self.copy_curl(),
            Some(Action::EditRequest) => {
                if let ReplayView::Single(s) = view {
                    s.editing = true;
                }
            }
            Some(a @ (Action::HistoryPrev | Action::HistoryNext)) => self.replay_history(a),
            Some(a @ (Action::NextPane | Action::PrevPane)) => self.cycle_focus(a == Action::NextPane),
            Some(Action::Back) => {
                if view.in_flight() {
                    view.abort();
                    match view {
                        ReplayView::Single(s) => {
                            s.sending = Sending::Cancelled;
                            s.message = Some((true, "cancelled: the request in flight was aborted".into()));
                        }
                        ReplayView::Batch(b) => b.finished = Some("cancelled"),
                    }
                } else {
                    self.close_replay();
                }
            }
            Some(Action::Help) => self.overlay = super::app::Overlay::Help,
            Some(Action::Quit) => self.quit = true,
            _ => {}
        }
    }

    /// Pasted text in the replay pane: a curl command replaces the request; anything else is typed into the editor.
    pub(crate) fn paste_into_replay(&mut self, text: &str) {
        let redactor = self.replay_settings.redactor.clone();
        let Some(ReplayView::Single(s)) = self.replay.as_mut() else { return };
        let text = text.replace("\r\n", "\n");
        if let Some(cmd) = edit::curl_command(&text) {
            match crate::replay::curl::from_curl_with(&cmd, false) {
                Ok(req) => {
                    s.editor = editor_with(&edit::to_text(&req, &redactor));
                    s.before = req;
                    s.message = Some((false, "imported the pasted curl command".into()));
                }
                Err(e) => s.message = Some((true, format!("cannot import the curl command: {e:#}"))),
            }
            return;
        }
        s.editing = true;
        // escaped like everything else the editor shows: a paste must not act on the terminal
        s.editor.insert_str(edit::editor_text(text.as_bytes(), true));
    }

    /// An editor whose text is a curl command becomes the request it sends.
    fn normalize_editor(&mut self) {
        let redactor = self.replay_settings.redactor.clone();
        let Some(ReplayView::Single(s)) = self.replay.as_mut() else { return };
        let text = s.editor.lines().join("\n");
        if edit::curl_command(&text).is_some() {
            match edit::from_text(&text, &redactor, &s.before, false) {
                Ok(req) => {
                    s.editor = editor_with(&edit::to_text(&req, &redactor));
                    s.before = req;
                    s.message = Some((false, "imported the curl command".into()));
                }
                Err(e) => s.message = Some((true, format!("cannot import the curl command: {e:#}"))),
            }
        }
    }

    /// `ctrl-s`: send what the editor holds, asking first when it is not idempotent or goes to another host;
    /// `u` sends it straight to the upstream the record logged, `b` both ways (each asks first).
    fn replay_send(&mut self, aim: Aim) {
        let settings = &self.replay_settings;
        let (redactor, allow, base_host, transport) =
            (settings.redactor.clone(), settings.allow_hosts.clone(), settings.base_host(), settings.transport.clone());
        let Some(view) = self.replay.as_mut() else { return };
        let ReplayView::Single(s) = view else { return };
        if matches!(s.sending, Sending::InFlight { .. }) {
            s.message = Some((true, "a request is in flight: Esc cancels it".into()));
            return;
        }
        let text = s.editor.lines().join("\n");
        let req = match edit::from_text(&text, &redactor, &s.before, false) {
            Ok(r) => r,
            Err(e) => {
                s.message = Some((true, format!("{e:#}")));
                return;
            }
        };
        if edit::curl_command(&text).is_some() {
            s.editor = editor_with(&edit::to_text(&req, &redactor));
            s.before = req.clone();
        }
        s.editing = false;
        let upstream = match aim {
            Aim::Gateway => None,
            _ => match upstream::pick(&s.upstreams, None)
                .and_then(|addr| Ok((transport.to_upstream(&req, &addr)?, addr)))
            {
                Ok(up) => Some(up),
                Err(e) => {
                    s.message = Some((true, format!("{e:#} (nothing sent)")));
                    return;
                }
            },
        };
        let mut gateway = req;
        transport.apply(&mut gateway);
        let through_gateway = (aim != Aim::Upstream).then_some(&gateway);
        for r in through_gateway.into_iter().chain(upstream.as_ref().map(|(u, _)| u)) {
            if let Err(refusal) = check_request(r, allow.as_deref()) {
                s.message = Some((true, format!("{refusal} (nothing sent)")));
                return;
            }
        }
        let mut reasons = Vec::new();
        if !is_idempotent(&gateway.method) {
            reasons.push(format!("{} is not idempotent: replaying it may change data", gateway.method));
        }
        let host = gateway.host();
        match base_host {
            _ if aim == Aim::Upstream => {}
            Some(target) if host.as_ref() != Some(&target) => {
                reasons.push(format!("{} is not the replay target {target}", host.unwrap_or_default()))
            }
            // without a configured target the host came from the log or the editor: say where it goes
            None => reasons
                .push(format!("no replay target is set (--replay-base): this goes to {}", host.unwrap_or_default())),
            _ => {}
        }
        if let Some((_, addr)) = &upstream {
            reasons.push(format!("this goes straight to the upstream {addr}, skipping the gateway"));
        }
        let planned = Planned { aim, request: gateway, upstream };
        if reasons.is_empty() {
            self.dispatch(planned);
        } else {
            s.sending = Sending::Confirm { reason: reasons.join("; "), request: Box::new(planned) };
        }
    }

    /// Send what is planned as a task; its result comes back as [`ActionMsg::Replayed`].
    fn dispatch(&mut self, planned: Planned) {
        let Planned { aim, request: req, upstream } = planned;
        let id_header = self.replay_settings.id_header.clone();
        let Some(ReplayView::Single(s)) = self.replay.as_mut() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            s.message = Some((true, "cannot send from here: no runtime".into()));
            return;
        };
        // one count for the whole console: a result still on its way from a closed pane matches nothing
        self.replay_seq += 1;
        s.seq = self.replay_seq;
        let (seq, tx) = (s.seq, self.actions.tx.clone());
        let opts = send_options(&req.method);
        let (gateway, direct) = (req.clone(), upstream.as_ref().map(|(u, _)| u.clone()));
        let task = runtime.spawn(async move {
            let (outcome, upstream) = match (aim, direct) {
                (Aim::Upstream, Some(up)) => (send_alone(&up, &opts).await, None),
                (Aim::Both, Some(up)) => {
                    let (g, u) = tokio::join!(send_alone(&gateway, &opts), send_alone(&up, &opts));
                    (g, Some(u))
                }
                _ => (send_alone(&gateway, &opts).await, None),
            };
            let _ = tx.send(ActionMsg::Replayed { seq, outcome: Box::new(outcome), upstream: upstream.map(Box::new) });
        });
        s.aim = aim;
        s.upstream_addr = upstream.map(|(_, addr)| addr);
        s.upstream_outcome = None;
        s.task = Some(task.abort_handle());
        s.sending = Sending::InFlight { since: Instant::now() };
        s.outcome = None;
        s.message = None;
        s.scroll = 0;
        s.sent_id = req.header(&id_header).map(str::to_string);
        // its own lines, when they arrive in the panes, are marked as the selected request's are
        for id in request::followed_ids(&req, &id_header) {
            let key = crate::ids::key(&id);
            if !self.replay_keys.contains(&key) {
                self.replay_keys.push(key);
            }
        }
        let text = s.editor.lines().join("\n");
        if self.replay_history.last().is_none_or(|(t, _)| *t != text) {
            self.replay_history.push((text, req));
        }
        s.history_at = None;
    }

    /// A result from an action task.
    pub fn action_result(&mut self, msg: ActionMsg) {
        self.dirty = true;
        let Some(view) = self.replay.as_mut() else { return };
        match (view, msg) {
            (ReplayView::Single(s), ActionMsg::Replayed { seq, outcome, upstream }) if seq == s.seq => {
                if matches!(s.sending, Sending::InFlight { .. }) {
                    s.outcome = Some(*outcome);
                    s.upstream_outcome = upstream.map(|u| *u);
                    s.sending = Sending::Idle;
                    s.task = None;
                }
            }
            (ReplayView::Batch(b), ActionMsg::BatchDone { seq, done }) if seq == b.seq => {
                let (i, outcome, circuit) = *done;
                b.circuit = circuit;
                if let Some(row) = b.rows.get_mut(i) {
                    b.summary.add(row.logged, outcome.as_ref());
                    row.result = Some(outcome);
                }
            }
            (ReplayView::Batch(b), ActionMsg::BatchEnd { seq, end }) if seq == b.seq => {
                b.circuit = end.circuit;
                b.summary.circuit = end.circuit.name();
                b.summary.circuit_opened = end.opened;
                b.finished = Some("done");
                b.task = None;
            }
            _ => {} // a result from before a cancel or a new send, or the token pane's
        }
    }

    /// `ctrl-p` / `ctrl-n`: walk the requests sent this session.
    fn replay_history(&mut self, a: Action) {
        let n = self.replay_history.len();
        let Some(ReplayView::Single(s)) = self.replay.as_mut() else { return };
        if n == 0 {
            s.message = Some((false, "no request sent yet this session".into()));
            return;
        }
        let at = match (a, s.history_at) {
            (Action::HistoryPrev, None) => n - 1,
            (Action::HistoryPrev, Some(i)) => i.saturating_sub(1),
            (_, None) => return,
            (_, Some(i)) => (i + 1).min(n - 1),
        };
        s.history_at = Some(at);
        let (text, req) = &self.replay_history[at];
        s.editor = editor_with(text);
        s.before = req.clone();
        s.message = Some((false, format!("history {} of {n}", at + 1)));
    }

    /// `y`: the request as a curl command, copied to the clipboard (OSC 52, so it crosses SSH and tmux) and shown.
    fn copy_curl(&mut self) {
        let redactor = self.replay_settings.redactor.clone();
        let transport = self.replay_settings.transport.clone();
        let Some(ReplayView::Single(s)) = self.replay.as_mut() else { return };
        match edit::from_text(&s.editor.lines().join("\n"), &redactor, &s.before, false) {
            Ok(mut req) => {
                // the line sends what ctrl-s sends: the TLS files and connection rules too
                transport.apply(&mut req);
                let curl = crate::replay::curl::to_curl(&req, &redactor);
                self.clipboard = Some(curl.clone());
                s.curl = Some(curl);
                s.message = Some((false, "copied as a curl command (secrets redacted)".into()));
            }
            Err(e) => s.message = Some((true, format!("{e:#}"))),
        }
    }

    /// What the loop should put on the clipboard, asked for since the last call.
    pub fn take_clipboard(&mut self) -> Option<String> {
        self.clipboard.take()
    }

    /// `E`: replay every request the filter shows, after one confirmation.
    pub fn open_batch_replay(&mut self) {
        if self.replay_busy() {
            return;
        }
        let Some(filter) = self.filter.filter.clone() else {
            let f = self.keymap.keys_for(Action::Filter).first().cloned().unwrap_or_default();
            self.notice = Some(format!("batch replay sends what the filter shows: set a filter first ({f})"));
            return;
        };
        let s = &self.replay_settings;
        let Some(base) = s.base.clone() else {
            self.notice = Some("batch replay needs a target: --replay-base URL (or [replay] base_url)".into());
            return;
        };
        if self.panes.iter().any(|p| !p.filter_done()) {
            self.notice = Some("the filter is still checking lines: press E again when its count is complete".into());
            return;
        }
        let mut picked: Vec<(Role, i64, String, crate::record::Record<'static>)> = Vec::new();
        for p in &self.panes {
            let Some(parser) = p.parser.as_ref() else { continue };
            // the rows the filter shows, oldest first: no more than a batch takes from any one pane
            let lines = (0..p.rows()).map(|row| p.row_line(row));
            let texts = lines.map(|line| (line, p.lines.line(line))).collect::<Vec<_>>();
            let requests =
                texts.iter().filter_map(|(line, text)| Some((*line, parser.parse(text).filter(is_request)?)));
            for (line, rec) in requests.filter(|(_, r)| filter.matches(r)).take(BATCH_MAX) {
                let place = format!("{}:{}", p.name, line + 1);
                picked.push((p.side(), p.lines.meta(line).time_ms(), place, rec.into_owned()));
            }
        }
        let picked = oldest_first(picked, |p| p.0, |p| p.1, BATCH_MAX);
        if picked.is_empty() {
            self.notice = Some("the filter shows no request to replay".into());
            return;
        }
        let opts = s.build_options(base.clone());
        let mut rows = Vec::new();
        let mut jobs = Vec::new();
        for (_, _, place, rec) in &picked {
            let Ok(mut rebuilt) = request::from_record(rec, &opts) else { continue };
            s.transport.apply(&mut rebuilt.request);
            if let Err(refusal) = check_request(&rebuilt.request, s.allow_hosts.as_deref()) {
                self.notice = Some(format!("{refusal} (nothing sent)"));
                return;
            }
            rows.push(BatchRow {
                place: place.clone(),
                method: rebuilt.request.method.clone(),
                path: rec.path.as_deref().unwrap_or("").to_string(),
                logged: rec.status,
                result: None,
            });
            jobs.push((rebuilt.request.clone(), send_options(&rebuilt.request.method)));
        }
        let unsafe_count = jobs.iter().filter(|(r, _)| !is_idempotent(&r.method)).count();
        self.token = None;
        self.replay = Some(ReplayView::Batch(Box::new(BatchReplay {
            target: base,
            rows,
            summary: Summary::default(),
            circuit: Circuit::Closed,
            rate: BATCH_RATE,
            concurrency: BATCH_CONCURRENCY,
            unsafe_count,
            pending: Some(jobs),
            started: None,
            finished: None,
            scroll: 0,
            task: None,
            seq: 0,
        })));
        self.tool_focus = true;
        self.refit();
    }

    fn start_batch(&mut self) {
        let tx = self.actions.tx.clone();
        let Some(ReplayView::Batch(b)) = self.replay.as_mut() else { return };
        let Some(jobs) = b.pending.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            b.finished = Some("cannot send from here: no runtime");
            return;
        };
        self.replay_seq += 1;
        b.seq = self.replay_seq;
        let seq = b.seq;
        let opts = BatchOptions {
            concurrency: b.concurrency,
            rate: Some(b.rate),
            break_after: 5,
            cooldown: Some(Duration::from_secs(10)),
        };
        for (req, _) in &jobs {
            for id in request::followed_ids(req, &self.replay_settings.id_header) {
                self.replay_keys.push(crate::ids::key(&id));
            }
        }
        let task = runtime.spawn(async move {
            let (done_tx, mut done_rx) = mpsc::unbounded_channel();
            let forward = async {
                while let Some(done) = done_rx.recv().await {
                    let _ = tx.send(ActionMsg::BatchDone { seq, done: Box::new(done) });
                }
            };
            // one task: aborting it ends the batch and every request in flight
            let (end, ()) = tokio::join!(batch::run(jobs, opts, done_tx), forward);
            let _ = tx.send(ActionMsg::BatchEnd { seq, end });
        });
        b.task = Some(task.abort_handle());
        b.started = Some(Instant::now());
    }
}
