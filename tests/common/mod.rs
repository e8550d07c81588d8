//! What the console tests share: generated logs fed as the sources would, keys, and the screen as text.
#![allow(dead_code)] // each test file uses its own part

pub mod server;
pub mod slow_fs;
pub mod tls;

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gatewatch::generate::GenConfig;
use gatewatch::input::ScanOptions;
use gatewatch::record::Role;
use gatewatch::source::{Batch, SourceMsg};
use gatewatch::ui::app::{App, Msg};
use gatewatch::ui::keymap::Keymap;
use gatewatch::ui::theme::{ColorDepth, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Gateway (nginx) and upstream (JSON) lines for `n` requests, with an incident in the middle third.
pub fn logs(n: u64) -> (Vec<u8>, Vec<u8>) {
    let cfg = GenConfig { requests: n, incident: true, seed: 11, ..GenConfig::default() };
    let gw_writer = gatewatch::format::writers::gateway("nginx").unwrap();
    let up_writer = gatewatch::format::writers::upstream("json").unwrap();
    let (mut gw, mut up) = (Vec::new(), Vec::new());
    gatewatch::generate::generate(cfg, gw_writer, &mut gw, Some((up_writer, &mut up))).unwrap();
    (gw, up)
}

pub fn batch(source: usize, data: &[u8]) -> Msg {
    Msg::Source(SourceMsg::Lines(Batch { source, label: None, first_line: 1, data: data.to_vec() }))
}

/// A console over `sources` (display name, source as given, role), default options and keys, monochrome, sized.
pub fn console(sources: Vec<(String, String, Option<Role>)>, width: u16, height: u16) -> App {
    let theme = Theme::load("dark", None, ColorDepth::None).unwrap();
    let mut app = App::new(sources, ScanOptions::default(), Keymap::default(), theme);
    app.now = Instant::now();
    app.update(Msg::Resize(width, height));
    app
}

/// A gateway pane and an upstream pane holding `requests` generated requests.
pub fn app_with(width: u16, height: u16, requests: u64) -> App {
    let mut app = console(
        vec![
            ("gateway-access.log".into(), "/var/log/nginx/gateway-access.log".into(), Some(Role::Gateway)),
            ("orders-api.log".into(), "/var/log/orders/orders-api.log".into(), Some(Role::Upstream)),
        ],
        width,
        height,
    );
    let (gw, up) = logs(requests);
    app.update(batch(0, &gw));
    app.update(batch(1, &up));
    app
}

pub fn key(app: &mut App, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

pub fn keys(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

pub fn selected(app: &App, pane: usize) -> usize {
    app.panes[pane].selected_line().expect("a selected line")
}

pub fn request_id(app: &App, pane: usize, line: usize) -> Option<String> {
    let p = &app.panes[pane];
    let text = p.lines.line(line);
    let r = p.parser.as_ref()?.parse(&text)?;
    r.request_id.map(|s| s.into_owned())
}

/// The screen as text, one line per row, trailing spaces dropped.
pub fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| gatewatch::ui::draw::draw(app, f)).unwrap();
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        let mut row = String::new();
        for x in 0..w {
            row.push_str(buf[(x, y)].symbol());
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out
}

/// Snapshot settings: ids, clock times and rates are masked, so a snapshot says what the screen shows.
pub fn masked() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"[0-9a-f]{8,32}…?", "[id]");
    s.add_filter(r"\d\d:\d\d:\d\d\.\d{3}", "[time]");
    s.add_filter(r"· \d+(\.\d)?/s", "· [n]/s");
    s.add_filter(r"/tmp/[^ ]+", "[tmp]");
    s
}
