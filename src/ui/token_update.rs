//! The token pane's update: finding the tokens of the selected request, its keys, and checks that fetch keys run as
//! tasks.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use futures_util::FutureExt;
use ratatui_textarea::TextArea;

use super::actions::ActionMsg;
use super::app::App;
use super::keymap::{Action, Context};
use super::token::{Asking, TokenSettings, TokenView};
use crate::token::find::{Found, find};
use crate::token::inspect::Inspection;
use crate::token::keys::{KeySpec, is_url};

fn input_line(mask: bool) -> TextArea<'static> {
    let mut t = TextArea::default();
    if mask {
        t.set_mask_char('•');
    }
    t
}

impl App {
    /// Keys and expectations for the token pane.
    pub fn set_token_settings(&mut self, s: TokenSettings) {
        self.token_settings = s;
    }

    /// `J`: open the token pane on the tokens in the selected request's lines.
    pub fn open_token(&mut self) {
        // the ▶ request, held: its lines in the other panes are where a token may be
        self.hold_selection();
        let Some(p) = self.panes.get(self.focus) else { return };
        let Some(line) = p.selected_line() else {
            self.notice = Some("no line selected".into());
            return;
        };
        let place = format!("{}:{}", p.name, line + 1);
        let text = p.lines.line(line);
        let record_time = p
            .parser
            .as_ref()
            .and_then(|x| x.parse(&text))
            .and_then(|r| r.time)
            .and_then(|t| jiff::Timestamp::from_microsecond(t.unix_us).ok());
        // the record's own line first, then the same request's lines in the other panes
        let mut lines = vec![String::from_utf8_lossy(&text).into_owned()];
        for (pi, l) in self.request_records() {
            if (pi, l) != (self.focus, line) {
                lines.push(String::from_utf8_lossy(&self.panes[pi].lines.line(l)).into_owned());
            }
        }
        let mut found: Vec<Found> = Vec::new();
        for f in lines.iter().flat_map(|l| find(l)) {
            if !found.iter().any(|g| g.token == f.token) {
                found.push(f);
            }
        }
        let asking = if found.is_empty() { Asking::Token } else { Asking::Nothing };
        let message = match &self.token_settings.problem {
            Some(p) => Some((true, p.clone())),
            None => found
                .is_empty()
                .then(|| (false, "no token in this request's lines: paste one, Enter inspects it".into())),
        };
        self.replay = None;
        self.token = Some(TokenView {
            place,
            record_time,
            found,
            results: None,
            key: self.token_settings.key.clone(),
            asking,
            input: input_line(false),
            message,
            scroll: 0,
            checking: false,
            seq: 0,
        });
        self.tool_focus = true;
        self.refit();
        self.check_tokens();
    }

    /// Close the token pane.
    pub fn close_token(&mut self) {
        self.token = None;
        self.tool_focus = false;
        self.refit();
    }

    /// Inspect the pane's tokens with its key: at once when nothing is fetched, else as a task.
    fn check_tokens(&mut self) {
        let Some(v) = self.token.as_mut() else { return };
        if v.found.is_empty() {
            return;
        }
        let needs_fetch =
            matches!(&v.key, Some(KeySpec::Discover)) || matches!(&v.key, Some(KeySpec::Jwks(j)) if is_url(j));
        let (found, key, expect, record) =
            (v.found.clone(), v.key.clone(), self.token_settings.expect.clone(), v.record_time);
        let cache = self.token_settings.cache.clone();
        let work = async move {
            let mut cache = cache.lock().await;
            let now = jiff::Timestamp::now();
            let mut out = Vec::new();
            for f in &found {
                match crate::token::inspect_found(f, key.as_ref(), &expect, now, record, &mut cache).await {
                    Ok(i) => out.push(i),
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(out)
        };
        self.replay_seq += 1;
        v.seq = self.replay_seq;
        let seq = v.seq;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // no runtime (a test of the pane alone): nothing may be fetched, and files are read here
            if needs_fetch {
                v.message = Some((true, "cannot fetch keys from here: no runtime".into()));
            } else if let Some(result) = work.now_or_never() {
                self.token_result(seq, result);
            }
            return;
        };
        v.checking = true;
        if needs_fetch {
            v.message = Some((false, "fetching keys…".into()));
        }
        let tx = self.actions.tx.clone();
        runtime.spawn(async move {
            let result = work.await;
            let _ = tx.send(ActionMsg::TokenChecked { seq, result });
        });
    }

    /// A token check finished.
    pub(crate) fn token_result(&mut self, seq: u64, result: Result<Vec<Inspection>, String>) {
        let Some(v) = self.token.as_mut().filter(|v| v.seq == seq) else { return };
        v.checking = false;
        self.dirty = true;
        match result {
            Ok(r) => {
                v.results = Some(r);
                v.message = None;
            }
            Err(e) => v.message = Some((true, e)),
        }
    }

    /// A key for the token pane, when it has the focus.
    pub(crate) fn token_key(&mut self, k: KeyEvent) {
        let Some(v) = self.token.as_mut() else { return };
        if v.asking != Asking::Nothing {
            match k.code {
                KeyCode::Esc => {
                    v.asking = Asking::Nothing;
                    v.input = input_line(false);
                }
                KeyCode::Enter => self.token_input_done(),
                _ if k.modifiers.contains(KeyModifiers::CONTROL) && self.keymap.action(k) == Some(Action::Quit) => {
                    self.quit = true
                }
                _ => {
                    v.input.input(k);
                }
            }
            return;
        }
        let action = self.keymap.action_in(Context::Token, k).or_else(|| self.keymap.action(k));
        match action {
            Some(Action::TokenSecret) => {
                v.asking = Asking::Secret;
                v.input = input_line(true);
            }
            Some(Action::TokenKey) => {
                v.asking = Asking::KeySource;
                v.input = input_line(false);
            }
            Some(Action::TokenEdit) => {
                v.asking = Asking::Token;
                v.input = input_line(false);
            }
            Some(Action::Down) => v.scroll = v.scroll.saturating_add(1),
            Some(Action::Up) => v.scroll = v.scroll.saturating_sub(1),
            Some(Action::PageDown) => v.scroll = v.scroll.saturating_add(10),
            Some(Action::PageUp) => v.scroll = v.scroll.saturating_sub(10),
            Some(Action::Top) => v.scroll = 0,
            Some(a @ (Action::NextPane | Action::PrevPane)) => self.cycle_focus(a == Action::NextPane),
            Some(Action::Back) => self.close_token(),
            Some(Action::Help) => self.overlay = super::app::Overlay::Help,
            Some(Action::Quit) => self.quit = true,
            _ => {}
        }
    }

    /// Pasted text goes to the input line (a token when nothing else is asked), on one line and escaped.
    pub(crate) fn paste_into_token(&mut self, text: &str) {
        let Some(v) = self.token.as_mut() else { return };
        if v.asking == Asking::Nothing {
            v.asking = Asking::Token;
            v.input = input_line(false);
        }
        // a secret goes in as it is (the line is masked); anything else shown is escaped
        let line = text.trim_end_matches(['\r', '\n']).replace(['\r', '\n'], " ");
        let line = if v.asking == Asking::Secret { line } else { crate::text::escape_control(line.as_bytes()) };
        v.input.insert_str(line);
    }

    /// Enter on the pane's input line: a token, a secret or a key source.
    fn token_input_done(&mut self) {
        let Some(v) = self.token.as_mut() else { return };
        let text = v.input.lines().join("");
        let asking = std::mem::replace(&mut v.asking, Asking::Nothing);
        v.input = input_line(false);
        let text = text.trim();
        match asking {
            Asking::Token => {
                let found = find(text);
                if found.is_empty() {
                    v.message = Some((true, "no token in what was typed: a JWT is header.payload.signature".into()));
                    v.asking = Asking::Token;
                    return;
                }
                v.found = found;
                v.record_time = None;
                v.place = "pasted".into();
            }
            Asking::Secret if !text.is_empty() => v.key = Some(KeySpec::Secret(text.as_bytes().to_vec())),
            Asking::KeySource if text == "discover" && self.token_settings.expect.iss.is_empty() => {
                v.message =
                    Some((true, "discover needs the issuers to trust: set [token] issuer in the config".into()));
                return;
            }
            Asking::KeySource if text == "discover" => v.key = Some(KeySpec::Discover),
            // a URL is a key set; a file is read for what it holds (a PEM key or certificate, or a JWK Set)
            Asking::KeySource if is_url(text) => v.key = Some(KeySpec::Jwks(text.to_string())),
            Asking::KeySource if !text.is_empty() => v.key = Some(KeySpec::Pem(text.to_string())),
            _ => return,
        }
        v.results = None;
        self.check_tokens();
    }
}
