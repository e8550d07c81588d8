//! The console's key bindings: defaults, the config file's `[keys]` overrides, and what a key press means.
//!
//! Key syntax (config and [`parse_key`]): a single character (`q`, `G`, `/`, `?`), or a name (`enter`, `esc`,
//! `tab`, `backtab`, `up`, `down`, `left`, `right`, `pgup`/`pageup`, `pgdn`/`pagedown`, `home`, `end`, `space`,
//! `backspace`, `delete`, `insert`, `f1`…`f12`), with `ctrl-`, `alt-` or `shift-` prefixes (`ctrl-c`). Names
//! and prefixes ignore case; the display names of [`key_name`] (`PgDn`, `↓`, `Shift-Tab`) parse too.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context as _, bail};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Something the user can ask the console to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Quit.
    Quit,
    /// Move down.
    Down,
    /// Move up.
    Up,
    /// Page down.
    PageDown,
    /// Page up.
    PageUp,
    /// Go to the first line.
    Top,
    /// Go to the last line.
    Bottom,
    /// Scroll left.
    Left,
    /// Scroll right.
    Right,
    /// Focus the next pane.
    NextPane,
    /// Focus the previous pane.
    PrevPane,
    /// Show the selected record in detail.
    Detail,
    /// Close the overlay, or leave detail / search.
    Back,
    /// Follow new lines again (at the bottom).
    Follow,
    /// Next record of the selected request (or search match).
    NextRecord,
    /// Previous record of the selected request (or search match).
    PrevRecord,
    /// Search with a regex.
    Search,
    /// Filter records.
    Filter,
    /// Clear the filter.
    ClearFilter,
    /// Trace the selected request across sources.
    Trace,
    /// Zoom the focused pane.
    Zoom,
    /// Lock the panes to the selected line's time.
    TimeLock,
    /// Wrap long lines.
    Wrap,
    /// Show raw lines as logged.
    RawView,
    /// Run the focused pane's command again, once it has exited.
    Restart,
    /// Load the hour before the focused pane's first line from its file.
    Earlier,
    /// Open the charts (again: focus them, then close them).
    Charts,
    /// Charts: a longer window (1m 5m 15m 1h all).
    NextWindow,
    /// Charts: a shorter window.
    PrevWindow,
    /// Charts: next breakdown (codes, routes, upstreams, hosts, nodes, clients, …).
    Breakdown,
    /// Charts: count all gateways, or one pane after another.
    Scope,
    /// Charts: set the baseline at the selected column (again: the default).
    Baseline,
    /// Diagnose the selected record (or the latency alert), or the charts' row.
    Diagnose,
    /// Replay the selected request: edit it, send it, compare with the log.
    Replay,
    /// Replay every request the filter shows (asks first).
    ReplayFiltered,
    /// Show this help.
    Help,
    /// Send the request (asks first for unsafe methods and other hosts).
    Send,
    /// Send it straight to the record's upstream, skipping the gateway (asks first).
    SendUpstream,
    /// Send it through the gateway and to the upstream, side by side (asks first).
    SendBoth,
    /// Copy the request as a curl command (OSC 52 clipboard) and show it.
    CopyCurl,
    /// Edit the request (Esc stops editing).
    EditRequest,
    /// The previous request sent this session.
    HistoryPrev,
    /// The next request sent this session.
    HistoryNext,
    /// Yes, send it (any other key cancels).
    Confirm,
    /// Inspect the JWTs in the selected request's lines (signature, expiry at its time).
    Token,
    /// Check with a secret (typed masked).
    TokenSecret,
    /// Check with a key file, a JWK Set file or URL, or `discover`.
    TokenKey,
    /// Paste or type a token to inspect.
    TokenEdit,
}

/// Where a key is read: the same key can mean one thing in the log panes and another in the replay pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// The log panes and the console as a whole.
    Console,
    /// The replay pane, when it has the focus (its editor takes plain keys while editing).
    Replay,
    /// A question waiting for an answer (send this unsafe request?).
    Prompt,
    /// The token pane, when it has the focus.
    Token,
}

impl Context {
    /// A heading for the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Console => "console",
            Context::Replay => "replay pane (e opens it on the selected record)",
            Context::Prompt => "when replay asks before sending",
            Context::Token => "token pane (J opens it on the selected record)",
        }
    }
}

impl Action {
    /// Every action, in help-overlay order.
    pub const ALL: &'static [Action] = &[
        Action::Quit,
        Action::Down,
        Action::Up,
        Action::PageDown,
        Action::PageUp,
        Action::Top,
        Action::Bottom,
        Action::Left,
        Action::Right,
        Action::NextPane,
        Action::PrevPane,
        Action::Detail,
        Action::Back,
        Action::Follow,
        Action::NextRecord,
        Action::PrevRecord,
        Action::Search,
        Action::Filter,
        Action::ClearFilter,
        Action::Trace,
        Action::Zoom,
        Action::TimeLock,
        Action::Wrap,
        Action::RawView,
        Action::Restart,
        Action::Earlier,
        Action::Charts,
        Action::NextWindow,
        Action::PrevWindow,
        Action::Breakdown,
        Action::Scope,
        Action::Baseline,
        Action::Diagnose,
        Action::Replay,
        Action::ReplayFiltered,
        Action::Help,
        Action::Send,
        Action::SendUpstream,
        Action::SendBoth,
        Action::CopyCurl,
        Action::EditRequest,
        Action::HistoryPrev,
        Action::HistoryNext,
        Action::Confirm,
        Action::Token,
        Action::TokenSecret,
        Action::TokenKey,
        Action::TokenEdit,
    ];

    /// Where the action's keys are read.
    pub fn context(self) -> Context {
        match self {
            Action::Send
            | Action::SendUpstream
            | Action::SendBoth
            | Action::CopyCurl
            | Action::EditRequest
            | Action::HistoryPrev
            | Action::HistoryNext => Context::Replay,
            Action::Confirm => Context::Prompt,
            Action::TokenSecret | Action::TokenKey | Action::TokenEdit => Context::Token,
            _ => Context::Console,
        }
    }

    /// The action's name in the config file's `[keys]` table.
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Down => "down",
            Action::Up => "up",
            Action::PageDown => "page_down",
            Action::PageUp => "page_up",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Left => "left",
            Action::Right => "right",
            Action::NextPane => "next_pane",
            Action::PrevPane => "prev_pane",
            Action::Detail => "detail",
            Action::Back => "back",
            Action::Follow => "follow",
            Action::NextRecord => "next_record",
            Action::PrevRecord => "prev_record",
            Action::Search => "search",
            Action::Filter => "filter",
            Action::ClearFilter => "clear_filter",
            Action::Trace => "trace",
            Action::Zoom => "zoom",
            Action::TimeLock => "time_lock",
            Action::Wrap => "wrap",
            Action::RawView => "raw_view",
            Action::Restart => "restart",
            Action::Earlier => "earlier",
            Action::Charts => "charts",
            Action::NextWindow => "next_window",
            Action::PrevWindow => "prev_window",
            Action::Breakdown => "breakdown",
            Action::Scope => "scope",
            Action::Baseline => "baseline",
            Action::Diagnose => "diagnose",
            Action::Replay => "replay",
            Action::ReplayFiltered => "replay_filtered",
            Action::Help => "help",
            Action::Send => "send",
            Action::SendUpstream => "send_upstream",
            Action::SendBoth => "send_both",
            Action::CopyCurl => "copy_curl",
            Action::EditRequest => "edit_request",
            Action::HistoryPrev => "history_prev",
            Action::HistoryNext => "history_next",
            Action::Confirm => "confirm",
            Action::Token => "token",
            Action::TokenSecret => "token_secret",
            Action::TokenKey => "token_key",
            Action::TokenEdit => "token_edit",
        }
    }

    /// One line for the help overlay.
    pub fn description(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Down => "move down",
            Action::Up => "move up",
            Action::PageDown => "page down",
            Action::PageUp => "page up",
            Action::Top => "go to the first line",
            Action::Bottom => "go to the last line",
            Action::Left => "scroll left",
            Action::Right => "scroll right",
            Action::NextPane => "focus the next pane",
            Action::PrevPane => "focus the previous pane",
            Action::Detail => "show the selected record in detail, with the stack trace folded under it",
            Action::Back => "close the overlay, or leave detail / search",
            Action::Follow => "follow new lines again (at the bottom)",
            Action::NextRecord => "next record of the selected request (or search match)",
            Action::PrevRecord => "previous record of the selected request (or search match)",
            Action::Search => "search with a regex",
            Action::Filter => "filter records",
            Action::ClearFilter => "clear the filter",
            Action::Trace => "trace the selected request across sources",
            Action::Zoom => "zoom the focused pane",
            Action::TimeLock => "lock the panes to the selected line's time",
            Action::Wrap => "wrap long lines",
            Action::RawView => "show raw lines as logged",
            Action::Restart => "run the focused pane's command again, once it has exited",
            Action::Earlier => "load the hour before the focused pane's first line from its file",
            Action::Charts => "open the charts (again: focus them, then close them)",
            Action::NextWindow => "charts: a longer window (1m 5m 15m 1h all)",
            Action::PrevWindow => "charts: a shorter window",
            Action::Breakdown => "charts: next breakdown (codes, routes, upstreams, hosts, nodes, clients, …)",
            Action::Scope => "charts: count all gateways, or one pane after another",
            Action::Baseline => "charts: set the baseline at the selected column (again: the default)",
            Action::Diagnose => "diagnose the selected record (or the latency alert), or the charts' row",
            Action::Replay => "replay the selected request: edit it, send it, compare with the log",
            Action::ReplayFiltered => "replay every request the filter shows (asks first)",
            Action::Help => "show this help",
            Action::Send => "send the request (asks first for unsafe methods and other hosts)",
            Action::SendUpstream => "send it straight to the record's upstream, skipping the gateway (asks first)",
            Action::SendBoth => "send it through the gateway and to the upstream, side by side (asks first)",
            Action::CopyCurl => "copy the request as a curl command (OSC 52 clipboard) and show it",
            Action::EditRequest => "edit the request (Esc stops editing)",
            Action::HistoryPrev => "the previous request sent this session",
            Action::HistoryNext => "the next request sent this session",
            Action::Confirm => "yes, send it (any other key cancels)",
            Action::Token => "inspect the JWTs in the selected request's lines (signature, expiry at its time)",
            Action::TokenSecret => "check with a secret (typed masked)",
            Action::TokenKey => "check with a key file, a JWK Set file or URL, or `discover`",
            Action::TokenEdit => "paste or type a token to inspect",
        }
    }

    /// The action named `s` (as in [`Action::name`]; `-` for `_` and any case are accepted).
    pub fn from_name(s: &str) -> Option<Action> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        Action::ALL.iter().copied().find(|a| a.name() == norm)
    }
}

/// A key as the keymap compares it: see [`normalize`].
type Key = (KeyCode, KeyModifiers);

const DEFAULTS: &[(Action, &[&str])] = &[
    (Action::Quit, &["q", "ctrl-c"]),
    (Action::Down, &["j", "down"]),
    (Action::Up, &["k", "up"]),
    (Action::PageDown, &["pgdn", "ctrl-d", "space"]),
    (Action::PageUp, &["pgup", "ctrl-u"]),
    (Action::Top, &["g", "home"]),
    (Action::Bottom, &["G", "end"]),
    (Action::Left, &["h", "left"]),
    (Action::Right, &["l", "right"]),
    (Action::NextPane, &["tab"]),
    (Action::PrevPane, &["backtab"]),
    (Action::Detail, &["enter"]),
    (Action::Back, &["esc"]),
    (Action::Follow, &["F"]),
    (Action::NextRecord, &["n"]),
    (Action::PrevRecord, &["N"]),
    (Action::Search, &["/"]),
    (Action::Filter, &["f"]),
    (Action::ClearFilter, &["x"]),
    (Action::Trace, &["t"]),
    (Action::Zoom, &["z"]),
    (Action::TimeLock, &["L"]),
    (Action::Wrap, &["w"]),
    (Action::RawView, &["r"]),
    (Action::Restart, &["R"]),
    (Action::Earlier, &["H"]),
    (Action::Charts, &["c"]),
    (Action::NextWindow, &["]"]),
    (Action::PrevWindow, &["["]),
    (Action::Breakdown, &["b"]),
    (Action::Scope, &["s"]),
    (Action::Baseline, &["B"]),
    (Action::Diagnose, &["d"]),
    (Action::Replay, &["e"]),
    (Action::ReplayFiltered, &["E"]),
    (Action::Help, &["?"]),
    (Action::Send, &["ctrl-s"]),
    (Action::SendUpstream, &["u"]),
    (Action::SendBoth, &["b"]),
    (Action::CopyCurl, &["y"]),
    (Action::EditRequest, &["e", "i"]),
    (Action::HistoryPrev, &["ctrl-p"]),
    (Action::HistoryNext, &["ctrl-n"]),
    (Action::Confirm, &["y"]),
    (Action::Token, &["J"]),
    (Action::TokenSecret, &["s"]),
    (Action::TokenKey, &["o"]),
    (Action::TokenEdit, &["e"]),
];

/// Which keys do what.
#[derive(Clone, Debug)]
pub struct Keymap {
    /// Each action's keys, in the order given.
    keys: BTreeMap<Action, Vec<Key>>,
    /// The reverse: at most one action per key in each context.
    actions: HashMap<(Context, Key), Action>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::with_overrides(&BTreeMap::new()).expect("the default bindings parse and do not conflict")
    }
}

impl Keymap {
    /// Start from the defaults; each entry replaces that action's keys, e.g. `{"quit": ["q", "ctrl-c"]}` (an
    /// empty list unbinds it). Unknown action names or unparsable keys => error naming them. A key bound to two
    /// actions => error naming both.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> anyhow::Result<Keymap> {
        let mut keys: BTreeMap<Action, Vec<Key>> = BTreeMap::new();
        for (action, names) in DEFAULTS {
            let parsed = names.iter().map(|n| parse_key(n).expect("default keys parse")).collect();
            keys.insert(*action, parsed);
        }
        for (name, key_names) in overrides {
            let Some(action) = Action::from_name(name) else {
                let known: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
                bail!("unknown action `{name}` in [keys]; actions: {}", known.join(", "));
            };
            let mut parsed: Vec<Key> = Vec::new();
            for k in key_names {
                let key = parse_key(k).with_context(|| format!("in [keys] {name}"))?;
                if !parsed.contains(&key) {
                    parsed.push(key);
                }
            }
            keys.insert(action, parsed);
        }
        let mut actions = HashMap::new();
        for (&action, action_keys) in &keys {
            for &key in action_keys {
                if let Some(other) = actions.insert((action.context(), key), action) {
                    bail!(
                        "key `{}` is bound to both {} and {} in [keys]; rebind one of them",
                        key_name(key.0, key.1),
                        other.name(),
                        action.name()
                    );
                }
            }
        }
        Ok(Keymap { keys, actions })
    }

    /// What `key` asks for in the log panes; key releases (reported by some terminals) mean nothing.
    pub fn action(&self, key: KeyEvent) -> Option<Action> {
        self.action_in(Context::Console, key)
    }

    /// What `key` asks for in `context`.
    pub fn action_in(&self, context: Context, key: KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        self.actions.get(&(context, normalize(key.code, key.modifiers))).copied()
    }

    /// For the help overlay, in [`Action::ALL`] order: `("j / ↓", "move down")`; an unbound action shows `-`.
    pub fn help_rows(&self) -> Vec<(String, &'static str)> {
        self.help_rows_in(None)
    }

    /// [`Keymap::help_rows`] for the actions of one context (`None`: all).
    pub fn help_rows_in(&self, context: Option<Context>) -> Vec<(String, &'static str)> {
        Action::ALL
            .iter()
            .filter(|a| context.is_none_or(|c| a.context() == c))
            .map(|&a| (self.keys_text(a, " / "), a.description()))
            .collect()
    }

    /// The keys bound to `a` as help shows them, joined with `sep` (`j / ↓`); `-` when it is unbound.
    pub fn keys_text(&self, a: Action, sep: &str) -> String {
        let keys = self.keys_for(a);
        if keys.is_empty() { "-".to_string() } else { keys.join(sep) }
    }

    /// The first key bound to `a`, for a hint (`-` when it is unbound).
    pub fn first_key(&self, a: Action) -> String {
        self.keys_for(a).first().cloned().unwrap_or_else(|| "-".into())
    }

    /// The display names of the keys bound to `a` (for status-bar hints), in the order configured.
    pub fn keys_for(&self, a: Action) -> Vec<String> {
        self.keys.get(&a).into_iter().flatten().map(|&(code, mods)| key_name(code, mods)).collect()
    }
}

/// The form in which keys are compared. Terminals differ: an uppercase letter arrives as `Char('G')` with or
/// without SHIFT, BackTab with or without SHIFT, and Ctrl with Shift and a letter often as plain Ctrl and the
/// letter. So a character's case carries shift, BackTab drops it, Ctrl/Alt letters are lowercase, and only
/// Ctrl, Alt and (for non-character keys) Shift count.
fn normalize(code: KeyCode, mods: KeyModifiers) -> Key {
    let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    let code = match code {
        KeyCode::Char(c) => {
            mods.remove(KeyModifiers::SHIFT);
            if mods.contains(KeyModifiers::CONTROL) { KeyCode::Char(c.to_ascii_lowercase()) } else { code }
        }
        KeyCode::BackTab => {
            mods.remove(KeyModifiers::SHIFT);
            code
        }
        KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => {
            mods.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        _ => code,
    };
    (code, mods)
}

/// Parse a key in the config syntax (see the module docs) into the form the keymap compares.
pub fn parse_key(s: &str) -> anyhow::Result<(KeyCode, KeyModifiers)> {
    let mut rest = s;
    let mut mods = KeyModifiers::NONE;
    loop {
        let lower = rest.to_ascii_lowercase();
        let prefix = [("ctrl-", KeyModifiers::CONTROL), ("alt-", KeyModifiers::ALT), ("shift-", KeyModifiers::SHIFT)]
            .into_iter()
            .find(|(p, _)| lower.starts_with(p) && rest.len() > p.len());
        let Some((p, m)) = prefix else { break };
        mods |= m;
        rest = &rest[p.len()..];
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) => match c {
            '↑' => KeyCode::Up,
            '↓' => KeyCode::Down,
            '←' => KeyCode::Left,
            '→' => KeyCode::Right,
            c if mods.contains(KeyModifiers::SHIFT) => KeyCode::Char(c.to_uppercase().next().unwrap_or(c)),
            c => KeyCode::Char(c),
        },
        _ => match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" | "ins" => KeyCode::Insert,
            name => match name.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                Some(n @ 1..=24) => KeyCode::F(n),
                _ if s.is_empty() => bail!("empty key name"),
                _ => bail!(
                    "unknown key `{s}`: use a single character, or enter, esc, tab, backtab, up, down, left, \
                     right, pgup, pgdn, home, end, space, backspace, delete, insert, f1…f24, \
                     with optional ctrl-, alt- or shift- in front"
                ),
            },
        },
    };
    Ok(normalize(code, mods))
}

/// How a key is shown in help and hints: `j`, `G`, `↓`, `PgDn`, `Ctrl-d`, `Space`, `Enter`, `Esc`, `Tab`,
/// `Shift-Tab`. [`parse_key`] reads it back.
pub fn key_name(code: KeyCode, mods: KeyModifiers) -> String {
    let (code, mods) = normalize(code, mods);
    let mut out = String::new();
    if mods.contains(KeyModifiers::CONTROL) {
        out.push_str("Ctrl-");
    }
    if mods.contains(KeyModifiers::ALT) {
        out.push_str("Alt-");
    }
    if mods.contains(KeyModifiers::SHIFT) || code == KeyCode::BackTab {
        out.push_str("Shift-");
    }
    match code {
        KeyCode::Char(' ') => out.push_str("Space"),
        KeyCode::Char(c) => out.push(c),
        KeyCode::Up => out.push('↑'),
        KeyCode::Down => out.push('↓'),
        KeyCode::Left => out.push('←'),
        KeyCode::Right => out.push('→'),
        KeyCode::PageUp => out.push_str("PgUp"),
        KeyCode::PageDown => out.push_str("PgDn"),
        KeyCode::Home => out.push_str("Home"),
        KeyCode::End => out.push_str("End"),
        KeyCode::Enter => out.push_str("Enter"),
        KeyCode::Esc => out.push_str("Esc"),
        KeyCode::Tab | KeyCode::BackTab => out.push_str("Tab"),
        KeyCode::Backspace => out.push_str("Backspace"),
        KeyCode::Delete => out.push_str("Del"),
        KeyCode::Insert => out.push_str("Ins"),
        KeyCode::F(n) => out.push_str(&format!("F{n}")),
        other => out.push_str(&format!("{other:?}")),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    fn overrides(entries: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        entries.iter().map(|(a, ks)| (a.to_string(), ks.iter().map(|k| k.to_string()).collect())).collect()
    }

    #[test]
    fn defaults_resolve() {
        let km = Keymap::default();
        let none = KeyModifiers::NONE;
        assert_eq!(km.action(press(KeyCode::Char('j'), none)), Some(Action::Down));
        assert_eq!(km.action(press(KeyCode::Down, none)), Some(Action::Down));
        assert_eq!(km.action(press(KeyCode::Char('G'), KeyModifiers::SHIFT)), Some(Action::Bottom));
        assert_eq!(km.action(press(KeyCode::Char('G'), none)), Some(Action::Bottom));
        assert_eq!(km.action(press(KeyCode::Char('g'), none)), Some(Action::Top));
        assert_eq!(km.action(press(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(
            km.action(press(KeyCode::Char('C'), KeyModifiers::CONTROL | KeyModifiers::SHIFT)),
            Some(Action::Quit)
        );
        assert_eq!(km.action(press(KeyCode::Char('c'), none)), Some(Action::Charts), "plain c is not ctrl-c");
        assert_eq!(km.action(press(KeyCode::Char('?'), KeyModifiers::SHIFT)), Some(Action::Help));
        assert_eq!(km.action(press(KeyCode::Char(' '), none)), Some(Action::PageDown));
        assert_eq!(km.action(press(KeyCode::BackTab, KeyModifiers::SHIFT)), Some(Action::PrevPane));
        assert_eq!(km.action(press(KeyCode::BackTab, none)), Some(Action::PrevPane));
        assert_eq!(km.action(press(KeyCode::Tab, none)), Some(Action::NextPane));
        assert_eq!(km.action(press(KeyCode::Char('x'), none)), Some(Action::ClearFilter));
        assert_eq!(km.action(press(KeyCode::Char('L'), KeyModifiers::SHIFT)), Some(Action::TimeLock));
        assert_eq!(km.action(press(KeyCode::Char('l'), none)), Some(Action::Right));
        assert_eq!(km.action(press(KeyCode::Char('R'), KeyModifiers::SHIFT)), Some(Action::Restart));
        assert_eq!(km.action(press(KeyCode::Char('r'), none)), Some(Action::RawView));
        let release = KeyEvent::new_with_kind(KeyCode::Char('j'), none, KeyEventKind::Release);
        assert_eq!(km.action(release), None);
        let repeat = KeyEvent::new_with_kind(KeyCode::Char('j'), none, KeyEventKind::Repeat);
        assert_eq!(km.action(repeat), Some(Action::Down));
        // every action has a default key
        assert!(Action::ALL.iter().all(|&a| !km.keys_for(a).is_empty()));
        assert_eq!(km.keys_for(Action::PageDown), ["PgDn", "Ctrl-d", "Space"]);
    }

    #[test]
    fn a_key_means_one_thing_per_context() {
        let km = Keymap::default();
        let e = press(KeyCode::Char('e'), KeyModifiers::NONE);
        assert_eq!(km.action_in(Context::Console, e), Some(Action::Replay));
        assert_eq!(km.action_in(Context::Replay, e), Some(Action::EditRequest));
        let y = press(KeyCode::Char('y'), KeyModifiers::NONE);
        assert_eq!((km.action(y), km.action_in(Context::Prompt, y)), (None, Some(Action::Confirm)));
        let ctrl_s = press(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert_eq!(km.action_in(Context::Replay, ctrl_s), Some(Action::Send));
        // `u` and `b` send to the upstream in the replay pane, and keep their own meaning (if any) in the log panes
        let u = press(KeyCode::Char('u'), KeyModifiers::NONE);
        assert_eq!(km.action_in(Context::Replay, u), Some(Action::SendUpstream));
        let b = press(KeyCode::Char('b'), KeyModifiers::NONE);
        assert_eq!(km.action_in(Context::Replay, b), Some(Action::SendBoth));
        assert_eq!(km.action_in(Context::Console, b), Some(Action::Breakdown));
        // the same key in two contexts is fine; twice in one is an error
        let ok = Keymap::with_overrides(&overrides(&[("copy_curl", &["c"])])).unwrap();
        assert_eq!(
            ok.action_in(Context::Replay, press(KeyCode::Char('c'), KeyModifiers::NONE)),
            Some(Action::CopyCurl)
        );
        let err = Keymap::with_overrides(&overrides(&[("send", &["y"])])).unwrap_err().to_string();
        assert!(err.contains("copy_curl") && err.contains("send"), "{err}");
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(Action::ALL.len(), 48);
        for &a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(a));
            assert!(!a.description().is_empty());
        }
        assert_eq!(Action::from_name("page-down"), Some(Action::PageDown));
        assert_eq!(Action::from_name("Time_Lock"), Some(Action::TimeLock));
        assert_eq!(Action::from_name("jump"), None);
    }

    #[test]
    fn overrides_replace() {
        let km = Keymap::with_overrides(&overrides(&[("down", &["ctrl-n"]), ("quit", &["Q"])])).unwrap();
        assert_eq!(km.action(press(KeyCode::Char('n'), KeyModifiers::CONTROL)), Some(Action::Down));
        assert_eq!(km.action(press(KeyCode::Char('j'), KeyModifiers::NONE)), None);
        assert_eq!(km.action(press(KeyCode::Down, KeyModifiers::NONE)), None);
        assert_eq!(km.action(press(KeyCode::Char('q'), KeyModifiers::NONE)), None);
        assert_eq!(km.action(press(KeyCode::Char('Q'), KeyModifiers::SHIFT)), Some(Action::Quit));
        assert_eq!(km.action(press(KeyCode::Char('k'), KeyModifiers::NONE)), Some(Action::Up), "others keep defaults");
        // a freed default key can be reused, and an empty list unbinds
        let km = Keymap::with_overrides(&overrides(&[("down", &["j"]), ("up", &[]), ("wrap", &["k"])])).unwrap();
        assert_eq!(km.action(press(KeyCode::Char('k'), KeyModifiers::NONE)), Some(Action::Wrap));
        assert!(km.keys_for(Action::Up).is_empty());
        assert_eq!(km.help_rows()[Action::ALL.iter().position(|&a| a == Action::Up).unwrap()].0, "-");
    }

    #[test]
    fn conflicts_and_unknown_names_error() {
        let err = |o: &[(&str, &[&str])]| format!("{:#}", Keymap::with_overrides(&overrides(o)).unwrap_err());
        let e = err(&[("quit", &["j"])]);
        assert!(e.contains("quit") && e.contains("down") && e.contains("`j`"), "{e}");
        let e = err(&[("zoom", &["ctrl-x"]), ("wrap", &["Ctrl-X"])]);
        assert!(e.contains("zoom") && e.contains("wrap"), "{e}");
        let e = err(&[("jump", &["J"])]);
        assert!(e.contains("jump"), "{e}");
        let e = err(&[("down", &["hyper-j"])]);
        assert!(e.contains("hyper-j") && e.contains("down"), "{e}");
        let e = err(&[("down", &[""])]);
        assert!(e.contains("down"), "{e}");
    }

    #[test]
    fn help_rows_cover_every_action_once() {
        let rows = Keymap::default().help_rows();
        assert_eq!(rows.len(), Action::ALL.len());
        for (row, &a) in rows.iter().zip(Action::ALL) {
            assert_eq!(row.1, a.description());
        }
        let down = &rows[1];
        assert_eq!((down.0.as_str(), down.1), ("j / ↓", "move down"));
        let prev_pane = rows.iter().find(|r| r.1 == Action::PrevPane.description()).unwrap();
        assert_eq!(prev_pane.0, "Shift-Tab");
        assert_eq!(rows[0].0, "q / Ctrl-c");
    }

    #[test]
    fn parse_and_name_round_trip() {
        let cases: &[(&str, KeyCode, KeyModifiers, &str)] = &[
            ("q", KeyCode::Char('q'), KeyModifiers::NONE, "q"),
            ("G", KeyCode::Char('G'), KeyModifiers::NONE, "G"),
            ("shift-g", KeyCode::Char('G'), KeyModifiers::NONE, "G"),
            ("/", KeyCode::Char('/'), KeyModifiers::NONE, "/"),
            ("-", KeyCode::Char('-'), KeyModifiers::NONE, "-"),
            ("ctrl--", KeyCode::Char('-'), KeyModifiers::CONTROL, "Ctrl--"),
            ("ctrl-c", KeyCode::Char('c'), KeyModifiers::CONTROL, "Ctrl-c"),
            ("CTRL-C", KeyCode::Char('c'), KeyModifiers::CONTROL, "Ctrl-c"),
            ("alt-x", KeyCode::Char('x'), KeyModifiers::ALT, "Alt-x"),
            ("ctrl-alt-up", KeyCode::Up, KeyModifiers::CONTROL | KeyModifiers::ALT, "Ctrl-Alt-↑"),
            ("shift-up", KeyCode::Up, KeyModifiers::SHIFT, "Shift-↑"),
            ("enter", KeyCode::Enter, KeyModifiers::NONE, "Enter"),
            ("esc", KeyCode::Esc, KeyModifiers::NONE, "Esc"),
            ("tab", KeyCode::Tab, KeyModifiers::NONE, "Tab"),
            ("backtab", KeyCode::BackTab, KeyModifiers::NONE, "Shift-Tab"),
            ("shift-tab", KeyCode::BackTab, KeyModifiers::NONE, "Shift-Tab"),
            ("down", KeyCode::Down, KeyModifiers::NONE, "↓"),
            ("up", KeyCode::Up, KeyModifiers::NONE, "↑"),
            ("left", KeyCode::Left, KeyModifiers::NONE, "←"),
            ("right", KeyCode::Right, KeyModifiers::NONE, "→"),
            ("pgup", KeyCode::PageUp, KeyModifiers::NONE, "PgUp"),
            ("pageup", KeyCode::PageUp, KeyModifiers::NONE, "PgUp"),
            ("pgdn", KeyCode::PageDown, KeyModifiers::NONE, "PgDn"),
            ("PageDown", KeyCode::PageDown, KeyModifiers::NONE, "PgDn"),
            ("home", KeyCode::Home, KeyModifiers::NONE, "Home"),
            ("end", KeyCode::End, KeyModifiers::NONE, "End"),
            ("space", KeyCode::Char(' '), KeyModifiers::NONE, "Space"),
            (" ", KeyCode::Char(' '), KeyModifiers::NONE, "Space"),
            ("f5", KeyCode::F(5), KeyModifiers::NONE, "F5"),
            ("backspace", KeyCode::Backspace, KeyModifiers::NONE, "Backspace"),
        ];
        for &(text, code, mods, shown) in cases {
            assert_eq!(parse_key(text).unwrap(), (code, mods), "{text}");
            assert_eq!(key_name(code, mods), shown, "{text}");
            assert_eq!(parse_key(shown).unwrap(), (code, mods), "{shown}");
        }
        for bad in ["", "ctrl-", "hyper-j", "pagedwn", "f0", "f99", "jj"] {
            assert!(parse_key(bad).is_err(), "{bad:?}");
        }
        // what the terminal sends is named like what the config says
        assert_eq!(key_name(KeyCode::Char('G'), KeyModifiers::SHIFT), "G");
        assert_eq!(key_name(KeyCode::BackTab, KeyModifiers::SHIFT), "Shift-Tab");
    }
}
