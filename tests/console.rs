//! The console without a terminal: keys go through `App::update`, screens are drawn on ratatui's `TestBackend`.
//! Input is the generator's gateway and upstream logs (they share request ids), fed as the sources would.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use gatewatch::generate::{GenConfig, Generator};
use gatewatch::record::Role;
use gatewatch::source::{Batch, SourceMsg};
use gatewatch::ui::app::{App, Mode, Msg, Overlay};
use gatewatch::ui::theme::{ColorDepth, Theme};

mod common;
use common::*;

#[test]
fn moving_the_cursor_selects_the_request_in_every_pane() {
    let mut app = app_with(200, 50, 400);
    assert!(app.panes[0].follow && app.panes[1].follow, "both panes start at their bottom, following");
    key(&mut app, KeyCode::Char('g'));
    for _ in 0..10 {
        key(&mut app, KeyCode::Char('j'));
    }
    let gw_line = selected(&app, 0);
    assert_eq!(gw_line, 10);
    let id = request_id(&app, 0, gw_line).expect("generated lines carry ids");
    assert_eq!(app.selected_id.as_deref(), Some(id.as_str()));
    let up_line = selected(&app, 1);
    assert_eq!(request_id(&app, 1, up_line).as_deref(), Some(id.as_str()), "the upstream pane moved to the request");
    assert!(!app.panes[1].follow, "and stopped following there");
    let shown = screen(&app);
    let prefix = &id[..12];
    let in_left = shown.lines().filter(|l| l.chars().take(100).collect::<String>().contains(prefix)).count();
    let in_right = shown.lines().filter(|l| l.chars().skip(100).collect::<String>().contains(prefix)).count();
    assert!(in_left >= 1 && in_right >= 1, "the id shows on both sides:\n{shown}");
}

#[test]
fn n_and_shift_n_step_through_the_records_of_one_request_across_panes() {
    let mut app = app_with(200, 50, 300);
    key(&mut app, KeyCode::Char('g'));
    keys(&mut app, "jjj");
    let records = app.request_records();
    assert_eq!(records.len(), 2, "one gateway and one upstream record: {records:?}");
    assert_eq!(records[0].0, 0);
    key(&mut app, KeyCode::Char('n'));
    assert_eq!((app.focus, selected(&app, 1)), records[1], "n goes to the upstream record");
    key(&mut app, KeyCode::Char('n'));
    assert_eq!((app.focus, selected(&app, 0)), records[0], "and wraps around");
    key(&mut app, KeyCode::Char('N'));
    assert_eq!(app.focus, 1);
}

#[test]
fn the_filter_counts_as_you_type_and_esc_restores_it() {
    let mut app = app_with(200, 50, 600);
    let total: usize = app.panes.iter().map(|p| p.lines.len()).sum();
    let errors: usize =
        app.panes.iter().map(|p| (0..p.lines.len()).filter(|&i| p.lines.meta(i).status >= 500).count()).sum();
    assert!(errors > 10, "the incident has 5xx: {errors}");
    key(&mut app, KeyCode::Char('f'));
    assert_eq!(app.mode, Mode::Filter);
    keys(&mut app, "status>=5");
    app.settle();
    assert_eq!(app.filter_count().0, total as u64, "`status>=5` matches every line with a status");
    keys(&mut app, "00");
    app.settle();
    assert_eq!(app.filter_count(), (errors as u64, total as u64, total as u64), "counted before Enter");
    masked().bind(|| insta::assert_snapshot!("filter_bar", screen(&app)));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    for p in &app.panes {
        assert!((0..p.rows()).all(|r| p.lines.meta(p.row_line(r)).status >= 500));
    }
    // an invalid expression keeps the last valid filter and says why
    key(&mut app, KeyCode::Char('f'));
    keys(&mut app, " and latency>");
    assert!(app.filter.error.is_some());
    assert_eq!(app.filter.text, "status>=500");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.filter.text, "status>=500", "Esc keeps the filter in force before editing");
    key(&mut app, KeyCode::Char('x'));
    assert_eq!(app.filter_count().0, total as u64, "x clears it");
    key(&mut app, KeyCode::Char('f'));
    keys(&mut app, "q");
    assert!(!app.quit, "q is text in the filter bar");
    app.update(Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
    assert!(app.quit, "Ctrl-c quits from it");
}

#[test]
fn new_lines_follow_at_the_bottom_and_wait_while_paused() {
    let mut app = app_with(200, 50, 200);
    let (more_gw, _) = logs(20);
    let before = app.panes[0].lines.len();
    app.update(batch(0, &more_gw));
    assert_eq!(selected(&app, 0), before + 19, "following: the cursor is on the newest line");
    key(&mut app, KeyCode::Char('k'));
    assert!(!app.panes[0].follow);
    let held = selected(&app, 0);
    app.update(batch(0, &more_gw));
    assert_eq!(selected(&app, 0), held, "paused: new lines do not move the view");
    assert_eq!(app.panes[0].unseen(), 20);
    assert!(screen(&app).contains("PAUSED +20"));
    key(&mut app, KeyCode::Char('F'));
    assert!(app.panes[0].follow);
    assert_eq!(selected(&app, 0), app.panes[0].lines.len() - 1);

    // under a filter, only the new lines it shows count as unseen
    app.apply_filter("status=4xx");
    app.settle();
    key(&mut app, KeyCode::Char('k'));
    assert!(!app.panes[0].follow);
    let (more, _) = logs(400);
    let cfg = gatewatch::generate::GenConfig { requests: 400, incident: true, seed: 11, ..Default::default() };
    let mut g = gatewatch::generate::Generator::new(cfg);
    let client_errors = std::iter::from_fn(|| g.next_request()).filter(|r| r.status / 100 == 4).count();
    assert!(client_errors > 0 && client_errors < 400);
    app.update(batch(0, &more));
    app.settle();
    assert_eq!(app.panes[0].unseen(), client_errors);
    assert!(screen(&app).contains(&format!("PAUSED +{client_errors} ")), "{}", screen(&app));
}

#[test]
fn long_paths_are_shortened_so_the_request_id_stays_in_view() {
    let app = app_with(200, 50, 300);
    let id = regex::Regex::new(r"id=[0-9a-f]{12}…\s*(│|$)").unwrap();
    let path = regex::Regex::new(r"/v1/payments/[0-9a-f]{8}… ").unwrap();
    let shown = screen(&app);
    let rows: Vec<&str> = shown.lines().filter(|l| l.contains("/v1/payments/")).collect();
    assert!(!rows.is_empty(), "{shown}");
    for row in &rows {
        // each pane's half of the row: the UUID in the path gave way, the id ends it
        for half in row.split("││").filter(|h| h.contains("/v1/payments/")) {
            assert!(path.is_match(half) && id.is_match(half), "{half:?}");
        }
    }
    // a row that fits is left whole
    assert!(shown.contains("/v1/search?q=item"), "{shown}");
    // while searching, paths stay whole so a match in them shows
    let mut app = app;
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "payments/[0-9a-f]{8}-");
    key(&mut app, KeyCode::Enter);
    let shown = screen(&app);
    assert!(regex::Regex::new(r"/v1/payments/[0-9a-f]{8}-[0-9a-f]{4}-").unwrap().is_match(&shown), "{shown}");
}

#[test]
fn panes_moved_to_a_request_follow_again_with_the_focused_pane() {
    let mut app = app_with(200, 50, 300);
    keys(&mut app, "kkkk");
    assert!(app.selected_id.is_some());
    assert!(!app.panes[1].follow, "the upstream pane shows the request's record");
    let upstream_at = selected(&app, 1);
    key(&mut app, KeyCode::Char('G'));
    assert!(app.panes[0].follow && app.panes[1].follow, "both panes are live again");
    assert!(app.selected_id.is_none() && app.selected_keys.is_empty());
    let (gw, up) = logs(30);
    app.update(batch(0, &gw));
    app.update(batch(1, &up));
    assert_eq!(selected(&app, 1), app.panes[1].lines.len() - 1, "the upstream pane shows its newest line");
    assert!(selected(&app, 1) > upstream_at);

    // moving down to the newest line follows too, and so do the panes the selection had moved
    keys(&mut app, "kkkk");
    assert!(!app.panes[1].follow);
    keys(&mut app, "jjjj");
    app.update(batch(0, &gw));
    app.update(batch(1, &up));
    assert!(app.panes[0].follow && app.panes[1].follow, "both panes are live again");

    // a pane the user moved in stays where they left it
    keys(&mut app, "kkkk");
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, 1);
    key(&mut app, KeyCode::Char('k'));
    let held = selected(&app, 1);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('G'));
    assert!(app.panes[0].follow && !app.panes[1].follow);
    app.update(batch(1, &up));
    assert_eq!(selected(&app, 1), held);
}

#[test]
fn time_lock_moves_a_pane_without_the_request_to_the_same_moment() {
    let mut app = console(
        vec![
            ("a.log".into(), "a.log".into(), Some(Role::Gateway)),
            ("b.log".into(), "b.log".into(), Some(Role::Gateway)),
        ],
        200,
        50,
    );
    // two gateways with different requests over the same minutes
    let mut g1 = Generator::new(GenConfig { requests: 300, seed: 1, ..GenConfig::default() });
    let mut g2 = Generator::new(GenConfig { requests: 300, seed: 2, rate: 100.0, ..GenConfig::default() });
    let w = gatewatch::format::writers::gateway("nginx").unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    while let (Some(x), Some(y)) = (g1.next_request(), g2.next_request()) {
        w(&x, &mut a);
        a.push(b'\n');
        w(&y, &mut b);
        b.push(b'\n');
    }
    app.update(batch(0, &a));
    app.update(batch(1, &b));
    key(&mut app, KeyCode::Char('L'));
    assert!(app.time_lock);
    key(&mut app, KeyCode::Char('g'));
    keys(&mut app, &"j".repeat(200));
    let t0 = app.panes[0].lines.meta(selected(&app, 0)).time_ms();
    let t1 = app.panes[1].lines.meta(selected(&app, 1)).time_ms();
    assert!((t0 - t1).abs() <= 1000, "pane b shows the same second: {t0} vs {t1}");
    assert!(selected(&app, 1) < 299, "b (twice the rate) is mid-file, not at its end");
}

#[test]
fn search_jumps_to_matches_and_highlights_them() {
    let mut app = app_with(200, 50, 300);
    key(&mut app, KeyCode::Char('g'));
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, r"/v1/account");
    key(&mut app, KeyCode::Enter);
    let first = selected(&app, 0);
    assert!(String::from_utf8_lossy(&app.panes[0].lines.line(first)).contains("/v1/account"));
    key(&mut app, KeyCode::Char('n'));
    let second = selected(&app, 0);
    assert!(second > first && String::from_utf8_lossy(&app.panes[0].lines.line(second)).contains("/v1/account"));
    for l in first + 1..second {
        assert!(!String::from_utf8_lossy(&app.panes[0].lines.line(l)).contains("/v1/account"), "n skips no match");
    }
    key(&mut app, KeyCode::Esc);
    assert!(app.search.is_none(), "Esc ends the search; n steps through the request again");
}

#[test]
fn a_click_selects_the_line_under_the_mouse_and_the_wheel_scrolls() {
    let mut app = app_with(200, 50, 300);
    let areas = app.areas();
    let (_, right) = areas.panes.iter().copied().find(|(i, _)| *i == 1).unwrap();
    let click = |row, kind| Msg::Mouse(MouseEvent { kind, column: right.x + 5, row, modifiers: KeyModifiers::NONE });
    app.update(click(right.y + 3, MouseEventKind::Down(MouseButton::Left)));
    assert_eq!(app.focus, 1);
    assert_eq!(app.panes[1].cursor, app.panes[1].top + 2);
    let at = app.panes[1].cursor;
    app.update(click(right.y + 3, MouseEventKind::ScrollUp));
    assert_eq!(app.panes[1].cursor, at - 3);
}

#[test]
fn zoom_fills_the_screen_and_80_columns_stack_the_panes() {
    let mut app = app_with(200, 50, 100);
    assert_eq!(app.areas().panes.len(), 2);
    let rects: Vec<_> = app.areas().panes.iter().map(|(_, r)| *r).collect();
    assert_eq!(rects[0].y, rects[1].y, "side by side at 200 columns");
    key(&mut app, KeyCode::Char('z'));
    assert_eq!(app.areas().panes.len(), 1);
    assert_eq!(app.areas().panes[0].1.width, 200);
    key(&mut app, KeyCode::Esc);
    app.update(Msg::Resize(80, 24));
    let rects: Vec<_> = app.areas().panes.iter().map(|(_, r)| *r).collect();
    assert_eq!(rects[0].x, rects[1].x, "stacked at 80 columns");
    assert!(rects[0].y < rects[1].y);
}

#[test]
fn log_content_cannot_reach_the_terminal() {
    let mut app = app_with(120, 20, 0);
    let evil = b"\x1b]0;pwned\x07\x1b[2J plain text\twith a tab and \xff bytes\n";
    app.update(batch(1, evil));
    let shown = screen(&app);
    assert!(!shown.contains('\x1b') && !shown.contains('\x07'), "{shown:?}");
    assert!(shown.contains("\\x1b]0;pwned\\x07\\x1b[2J plain text"), "{shown}");
    // parsed fields too: a JSON service line whose message carries ESC and a bidi override
    let json = "{\"time\":\"2024-05-01T12:00:00Z\",\"level\":\"error\",\"status\":500,\"msg\":\"boom \\u001b[31mred \\u202egnp.exe\"}\n";
    let mut app = app_with(160, 20, 0);
    app.update(batch(1, json.as_bytes()));
    let shown = screen(&app);
    assert!(shown.contains("boom \\x1b[31mred \\u{202e}gnp.exe"), "{shown}");
}

#[test]
fn snapshot_two_panes_with_a_correlated_request() {
    let mut app = app_with(200, 50, 120);
    key(&mut app, KeyCode::Char('g'));
    keys(&mut app, &"j".repeat(30));
    assert!(app.selected_id.is_some());
    masked().bind(|| insta::assert_snapshot!("two_panes_correlated", screen(&app)));
}

#[test]
fn snapshot_trace_view() {
    let mut app = app_with(200, 50, 120);
    key(&mut app, KeyCode::Char('g'));
    keys(&mut app, &"j".repeat(45));
    key(&mut app, KeyCode::Char('t'));
    assert_eq!(app.overlay, Overlay::Trace);
    let shown = screen(&app);
    assert!(shown.contains("latency: gateway"), "{shown}");
    masked().bind(|| insta::assert_snapshot!("trace_view", shown));
}

#[test]
fn snapshot_detail_pane() {
    let mut app = app_with(200, 50, 120);
    key(&mut app, KeyCode::Char('g'));
    keys(&mut app, &"j".repeat(45));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.overlay, Overlay::Detail);
    masked().bind(|| insta::assert_snapshot!("detail", screen(&app)));
}

#[test]
fn snapshot_help_overlay() {
    let mut app = app_with(120, 40, 50);
    key(&mut app, KeyCode::Char('?'));
    assert_eq!(app.overlay, Overlay::Help);
    let shown = screen(&app);
    masked().bind(|| insta::assert_snapshot!("help", shown));
    // every binding is listed somewhere in it, scrolled through to its end
    let mut seen = shown.clone();
    for _ in 0..80 {
        key(&mut app, KeyCode::Down);
        seen.push_str(&screen(&app));
    }
    for (_, what) in app.keymap.help_rows() {
        assert!(seen.contains(what), "help lists `{what}`:\n{seen}");
    }
    key(&mut app, KeyCode::Home);
    assert_eq!(app.overlay, Overlay::None, "any other key closes help");
}

#[test]
fn snapshot_80x24() {
    let mut app = app_with(80, 24, 120);
    keys(&mut app, "kkk");
    let shown = screen(&app);
    assert!(shown.lines().all(|l| l.chars().count() <= 80));
    masked().bind(|| insta::assert_snapshot!("small_80x24", shown));
}

#[test]
fn two_gateways_and_three_services_share_the_screen_and_tab_visits_each() {
    let theme = Theme::load("high-contrast", None, ColorDepth::None).unwrap();
    let names = [
        ("edge-a", Role::Gateway),
        ("orders", Role::Upstream),
        ("edge-b", Role::Gateway),
        ("users", Role::Upstream),
        ("billing", Role::Upstream),
    ];
    let sources = names.iter().map(|(n, r)| (format!("{n}.log"), format!("{n}.log"), Some(*r))).collect();
    let mut app = console(sources, 250, 70);
    app.theme = theme;
    let (gw, up) = logs(200);
    for (i, (_, role)) in names.iter().enumerate() {
        app.update(batch(i, if *role == Role::Gateway { &gw } else { &up }));
    }
    let areas = app.areas();
    assert_eq!(areas.panes.len(), 5);
    let left: Vec<usize> = areas.panes.iter().filter(|(_, r)| r.x == 0).map(|(i, _)| *i).collect();
    assert_eq!(left, vec![0, 2], "gateways on the left, in order");
    assert!(areas.panes.iter().all(|(_, r)| r.height >= 20), "250x70: every pane gets room: {areas:?}");
    let mut seen = vec![app.focus];
    for _ in 0..5 {
        key(&mut app, KeyCode::Tab);
        seen.push(app.focus);
    }
    assert_eq!(seen, vec![0, 2, 1, 3, 4, 0], "Tab goes down the left column, then the right");
    let shown = screen(&app);
    for n in ["edge-a.log", "edge-b.log", "orders.log", "users.log", "billing.log"] {
        assert!(shown.contains(n), "{n} has a titled pane");
    }
}

#[test]
fn a_filter_keeps_the_selected_line_even_through_a_prefix_that_matches_nothing() {
    let mut app = app_with(200, 50, 3000);
    key(&mut app, KeyCode::Char('g'));
    // a GET line far down the pane
    let target = (2000..app.panes[0].lines.len())
        .find(|&l| String::from_utf8_lossy(&app.panes[0].lines.line(l)).contains("\"GET "))
        .unwrap();
    let h = app.pane_height(0);
    app.panes[0].set_cursor(target, h);
    app.selection_moved();
    key(&mut app, KeyCode::Char('f'));
    keys(&mut app, "method=G");
    app.settle();
    assert_eq!(app.panes[0].rows(), 0, "`method=G` matches no line");
    keys(&mut app, "ET");
    app.settle();
    key(&mut app, KeyCode::Enter);
    assert_eq!(selected(&app, 0), target, "the selection came back once the filter matched it");
    assert!(app.panes[0].rows() < app.panes[0].lines.len(), "and the filter is on");
}

#[test]
fn under_a_filter_n_steps_only_through_the_records_it_shows() {
    let mut app = app_with(200, 50, 300);
    key(&mut app, KeyCode::Char('g'));
    keys(&mut app, "jjj");
    assert_eq!(app.request_records().len(), 2);
    // the gateway's nginx lines carry `ua=`, the service's JSON lines do not: the filter hides the service's record
    key(&mut app, KeyCode::Char('f'));
    keys(&mut app, "upstream~10");
    app.settle();
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.panes[1].rows(), 0, "the upstream pane shows nothing under this filter");
    let records = app.request_records();
    assert_eq!(records.len(), 1, "only the gateway's record is shown: {records:?}");
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.focus, 0, "n does not jump into a pane that hides the request");
}

#[test]
fn following_with_wrap_fills_the_pane_to_its_newest_line() {
    let mut app = app_with(100, 30, 300);
    key(&mut app, KeyCode::Char('z'));
    key(&mut app, KeyCode::Char('w'));
    let shown = screen(&app);
    let body: Vec<&str> = shown.lines().skip(2).take(26).collect();
    let blank = body.iter().filter(|l| l.trim_matches(|c| c == '│' || c == ' ').is_empty()).count();
    assert!(blank <= 1, "{blank} blank rows:\n{shown}");
    let last = app.panes[0].lines.len() - 1;
    let id = request_id(&app, 0, last).unwrap();
    assert!(shown.contains(&id[..12]), "the newest line shows:\n{shown}");
}

#[test]
fn with_wrap_a_click_selects_the_line_drawn_under_the_mouse() {
    let mut app = app_with(60, 30, 300);
    key(&mut app, KeyCode::Char('z'));
    key(&mut app, KeyCode::Char('w'));
    let pane = app.areas().panes[0].1;
    let starts_a_line = |row: &str| {
        let body: String = row.chars().skip(2).take(3).collect();
        body.starts_with("12:") || body.starts_with(' ') && row.chars().nth(3) == Some('1')
    };
    let shown = screen(&app);
    let rows: Vec<&str> = shown.lines().collect();
    let continued = (pane.y as usize + 1..pane.y as usize + 20).filter(|&y| !starts_a_line(rows[y])).count();
    assert!(continued > 5, "long lines wrap onto several rows:\n{shown}");
    for y in [pane.y + 20, pane.y + 12, pane.y + 5] {
        app.update(Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: pane.x + 10,
            row: y,
            modifiers: KeyModifiers::NONE,
        }));
        let shown = screen(&app);
        let rows: Vec<&str> = shown.lines().collect();
        let mark = rows.iter().position(|r| r.chars().nth(1) == Some('▶')).expect("the cursor shows");
        assert!(mark <= y as usize, "the selected line starts at or above the click ({mark} > {y}):\n{shown}");
        for (k, row) in rows.iter().enumerate().take(y as usize + 1).skip(mark + 1) {
            assert!(!starts_a_line(row), "row {k} between the mark and the click starts another line:\n{shown}");
        }
    }
}

#[test]
fn following_the_newest_line_selects_no_request_and_huge_terminals_fit() {
    let mut app = app_with(200, 50, 100);
    key(&mut app, KeyCode::Char('k'));
    assert!(app.selected_id.is_some());
    key(&mut app, KeyCode::Char('G'));
    let (more, _) = logs(5);
    app.update(batch(0, &more));
    assert!(app.selected_id.is_none() && app.selected_keys.is_empty(), "no stale request while following");
    app.update(Msg::Resize(800, 60));
    key(&mut app, KeyCode::Char('?'));
    let _ = screen(&app);
}

/// An nginx line with request id `id`, path `path`, logged at second `s` of 12:00.
fn nginx_line(id: u32, path: &str, s: u32) -> String {
    format!(
        r#"10.0.0.1 - - [01/May/2024:12:00:{s:02} +0000] "GET {path} HTTP/1.1" 200 12 "-" "curl/8" rid={id:032x} rt=0.010 urt="0.009" us="200" ua="10.0.0.7:8080""#
    )
}

/// Runs real sources on `rt` and returns what they send, up to and including the message that satisfies `done`
/// (given the lines received so far and the message).
fn receive(
    rt: &tokio::runtime::Runtime,
    rx: &mut tokio::sync::mpsc::Receiver<SourceMsg>,
    done: impl Fn(usize, &SourceMsg) -> bool,
) -> Vec<SourceMsg> {
    rt.block_on(async {
        let mut got = Vec::new();
        let mut lines = 0;
        loop {
            let wait = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv());
            let m = wait.await.expect("the source sends in time").expect("the source is open");
            if let SourceMsg::Lines(b) = &m {
                lines += b.data.iter().filter(|&&c| c == b'\n').count();
            }
            let stop = done(lines, &m);
            got.push(m);
            if stop {
                return got;
            }
        }
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The pane rows (between the borders) of a one-pane screen that show `needle`.
fn rows_with<'a>(shown: &'a str, needle: &str) -> Vec<&'a str> {
    shown.lines().filter(|l| l.starts_with('│') && l.contains(needle)).collect()
}

#[test]
fn a_glob_pane_over_two_files_shows_each_lines_file() {
    use gatewatch::open::{SourceKind, spawn_sources};
    use gatewatch::source::command::CommandOptions;
    use gatewatch::source::file::{FollowOptions, StartAt};
    let dir = tempfile::tempdir().unwrap();
    // the request with id 5 went through both gateways (a retry): a.log's line 5 and b.log's line 7
    let a: Vec<String> = (0..12).map(|i| nginx_line(i, &format!("/a/{i}"), i)).collect();
    let b: Vec<String> = (0..12).map(|i| nginx_line(if i == 7 { 5 } else { 100 + i }, &format!("/b/{i}"), i)).collect();
    std::fs::write(dir.path().join("a.log"), a.join("\n") + "\n").unwrap();
    std::fs::write(dir.path().join("b.log"), b.join("\n") + "\n").unwrap();
    let pattern = format!("{}/*.log", dir.path().display());
    let rt = runtime();
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let follow = FollowOptions { start: StartAt::Beginning, ..FollowOptions::default() };
    rt.block_on(async {
        spawn_sources(vec![SourceKind::Glob(pattern.clone())], &follow, &CommandOptions::default(), false, tx)
    });
    let msgs = receive(&rt, &mut rx, |lines, _| lines == 24);

    let mut app = console(vec![("*.log".into(), pattern, None)], 200, 50);
    for m in msgs {
        app.update(Msg::Source(m));
    }
    let p = &app.panes[0];
    assert_eq!(p.lines.len(), 24);
    for i in 0..24 {
        let text = String::from_utf8_lossy(&p.lines.line(i)).into_owned();
        let want = if text.contains("GET /a/") { "a.log" } else { "b.log" };
        assert_eq!(p.label_name(i), Some(want), "line {i}: {text}");
        assert_eq!(p.lines.label(i), Some(dir.path().join(want).to_str().unwrap()));
    }
    let shown = screen(&app);
    let (in_a, in_b) = (rows_with(&shown, " /a/"), rows_with(&shown, " /b/"));
    assert_eq!((in_a.len(), in_b.len()), (12, 12), "{shown}");
    assert!(in_a.iter().all(|r| r.contains("a.log 12:00:") && !r.contains("b.log")), "{shown}");
    assert!(in_b.iter().all(|r| r.contains("b.log 12:00:") && !r.contains("a.log")), "{shown}");

    // a filter keeps each line's label
    key(&mut app, KeyCode::Char('f'));
    keys(&mut app, "path~^/b/");
    key(&mut app, KeyCode::Enter);
    app.settle();
    assert_eq!(app.panes[0].rows(), 12);
    let shown = screen(&app);
    assert_eq!(rows_with(&shown, "b.log 12:00:").len(), 12, "{shown}");
    assert!(rows_with(&shown, "a.log").is_empty(), "{shown}");
    key(&mut app, KeyCode::Char('x'));

    // the request seen by both files: the trace lists each record with its file, as two sources
    let line = (0..24).find(|&i| app.panes[0].lines.line(i) == nginx_line(5, "/a/5", 5).as_bytes()).unwrap();
    let h = app.pane_height(0);
    let row = app.panes[0].line_row(line);
    app.panes[0].set_cursor(row, h);
    app.selection_moved();
    assert_eq!(app.request_records().len(), 2);
    key(&mut app, KeyCode::Char('t'));
    let shown = screen(&app);
    assert!(shown.contains("2 record(s) in time order, from 2 source(s)"), "{shown}");
    assert_eq!(shown.lines().filter(|l| l.contains("*.log:") && l.contains(" · a.log  ")).count(), 1, "{shown}");
    assert_eq!(shown.lines().filter(|l| l.contains("*.log:") && l.contains(" · b.log  ")).count(), 1, "{shown}");
    assert!(shown.contains("statuses: a.log 200 (upstream 200)  →  b.log 200 (upstream 200)"), "{shown}");
    key(&mut app, KeyCode::Esc);

    // the detail names the whole file
    key(&mut app, KeyCode::Enter);
    let shown = screen(&app);
    assert!(shown.contains(&format!("file {}", dir.path().join("a.log").display())), "{shown}");
}

#[test]
fn several_hosts_in_one_ssh_url_make_one_pane_labelled_by_host() {
    use gatewatch::open::{SourceKind, named_sources};
    let args = ["ssh://ops@gw1,gw2/var/log/nginx/access.log".to_string(), "ssh://gw3/var/log/app.log".to_string()];
    let sources = named_sources(&Default::default(), &args, &[], Some(10)).unwrap();
    assert_eq!(sources.len(), 2, "one source per URL");
    let SourceKind::Commands(cmds) = &sources[0].1 else { panic!("{:?}", sources[0].1) };
    let labels: Vec<&str> = cmds.iter().map(|c| c.label.as_deref().unwrap()).collect();
    assert_eq!(labels, ["gw1", "gw2"]);
    assert!(
        matches!(&sources[1].1, SourceKind::Commands(cs) if matches!(cs.as_slice(), [c] if c.label.as_deref() == Some("gw3")))
    );

    let mut app = console(vec![(args[0].clone(), args[0].clone(), None)], 120, 30);
    for (k, host) in ["gw1", "gw2", "gw1"].into_iter().enumerate() {
        let data: String = (0..3).map(|i| nginx_line(k as u32 * 10 + i, &format!("/{host}/{k}"), i) + "\n").collect();
        let b = Batch { source: 0, label: Some(host.into()), first_line: 1, data: data.into_bytes() };
        app.update(Msg::Source(SourceMsg::Lines(b)));
    }
    let shown = screen(&app);
    for host in ["gw1", "gw2"] {
        let rows = rows_with(&shown, &format!(" /{host}/"));
        assert!(!rows.is_empty() && rows.iter().all(|r| r.contains(&format!("{host} 12:00:"))), "{shown}");
    }
    assert_eq!(rows_with(&shown, "gw1 12:00:").len(), 6, "{shown}");
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app).contains("host gw1"), "the detail names the host");
}

#[test]
fn an_ended_command_says_so_on_its_border_and_the_restart_key_runs_it_again() {
    use gatewatch::open::{SourceKind, spawn_sources};
    use gatewatch::source::SourceEvent;
    use gatewatch::source::command::{CommandOptions, CommandSpec};
    use gatewatch::source::file::FollowOptions;
    let dir = tempfile::tempdir().unwrap();
    // each run prints one line naming the run
    let script = format!(
        "n=$(cat {0}/runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > {0}/runs; echo \"run $n\"; exit 3",
        dir.path().display()
    );
    let rt = runtime();
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let kind = SourceKind::Commands(vec![CommandSpec::shell(&script)]);
    let reruns = rt
        .block_on(async { spawn_sources(vec![kind], &FollowOptions::default(), &CommandOptions::default(), true, tx) });
    let exited = |_: usize, m: &SourceMsg| matches!(m, SourceMsg::Event(_, SourceEvent::Exited { .. }));

    let mut app = console(vec![("run".into(), script.clone(), None)], 120, 20);
    for m in receive(&rt, &mut rx, exited) {
        app.update(Msg::Source(m));
    }
    let shown = screen(&app);
    let bottom = shown.lines().rev().find(|l| l.starts_with('└')).unwrap();
    assert!(bottom.contains(" exited 3  R  runs it again ┘"), "{shown}");
    assert!(shown.lines().last().unwrap().contains("R restart"), "the status bar offers it:\n{shown}");
    assert_eq!(app.panes[0].lines.len(), 1);

    keys(&mut app, "R");
    let asked = app.take_restarts();
    assert_eq!(asked, [0], "the loop is asked to run pane 0's command again");
    assert!(app.take_restarts().is_empty(), "once");
    // what the loop does with it
    reruns[0].as_ref().expect("a command source can run again").notify_waiters();
    for m in receive(&rt, &mut rx, exited) {
        app.update(Msg::Source(m));
    }
    let text: Vec<String> =
        (0..app.panes[0].lines.len()).map(|i| String::from_utf8_lossy(&app.panes[0].lines.line(i)).into()).collect();
    assert_eq!(text, ["run 1", "run 2"], "the second run's line follows the first");

    // a command that restarts by itself (--restart) has nothing to offer
    app.update(Msg::Source(SourceMsg::Event(0, SourceEvent::Started { command: script.clone() })));
    let restarting = SourceEvent::Exited { command: script, code: Some(3), restart_in: Some(Default::default()) };
    app.update(Msg::Source(SourceMsg::Event(0, restarting)));
    assert!(!screen(&app).contains("runs it again"));
    keys(&mut app, "R");
    assert!(app.take_restarts().is_empty());
    assert!(app.notice.as_deref().is_some_and(|n| n.contains("nothing to restart")));
}

#[test]
fn help_scrolls_on_a_small_terminal_and_any_other_key_closes_it() {
    let mut app = app_with(80, 24, 50);
    keys(&mut app, "?");
    assert_eq!(app.overlay, Overlay::Help);
    assert!(!screen(&app).contains("mouse: click"), "80x24 cannot show the whole help at once");
    for _ in 0..20 {
        key(&mut app, KeyCode::PageDown);
    }
    assert_eq!(app.overlay, Overlay::Help, "scrolling keeps the help open");
    let shown = screen(&app);
    let rows: Vec<&str> = shown.lines().collect();
    assert!(shown.contains("mouse: click selects a line"), "scrolled to its end:\n{shown}");
    // scrolled no further than its end: the mouse line is the overlay's last row, not higher up
    let mouse = rows.iter().position(|l| l.contains("mouse: click")).unwrap();
    assert!(rows[mouse + 1].contains('└'), "{shown}");
    // the end is where scrolling stops: two pages up from it leave the start still out of view
    key(&mut app, KeyCode::PageUp);
    key(&mut app, KeyCode::PageUp);
    assert!(!screen(&app).contains("q / Ctrl-c  quit"));
    for _ in 0..10 {
        key(&mut app, KeyCode::PageUp);
    }
    assert!(screen(&app).contains("q / Ctrl-c  quit"), "and back up to its start");
    keys(&mut app, "x");
    assert_eq!(app.overlay, Overlay::None);
    assert!(app.filter.text.is_empty(), "the closing key does nothing else");
}

/// The ▶ line is the selection for every key, also while the pane follows: `t` traces it (and holds it).
#[test]
fn t_while_following_traces_the_marked_line() {
    let mut app = app_with(200, 50, 120);
    assert!(app.panes[0].follow, "following at start");
    let line = app.panes[0].selected_line().unwrap();
    let id = request_id(&app, 0, line).expect("the newest line has a request id");
    key(&mut app, KeyCode::Char('t'));
    assert_eq!(app.overlay, Overlay::Trace);
    let shown = screen(&app);
    assert!(!shown.contains("has no request id"), "{shown}");
    assert!(shown.contains(&format!("trace · {id}")), "{shown}");
    assert!(!app.panes[0].follow, "the pane holds the traced line");
    // new lines do not change what is traced
    let (gw, _) = common::logs(5);
    app.update(batch(0, &gw));
    assert!(screen(&app).contains(&format!("trace · {id}")));
}

/// A pane's pace is the log's own (requests per second by its clock), not how fast a backlog was read; a quiet
/// source says so, and the title is redrawn when time alone changes it.
#[test]
fn the_pane_rate_is_by_the_log_clock_and_says_when_nothing_arrives() {
    let mut app = app_with(200, 50, 3000); // 15 s of log at 200 requests/s, read at once
    let title = |app: &App| screen(app).lines().nth(1).unwrap_or("").to_string();
    let t = title(&app);
    assert!(t.contains("· 200/s"), "the log's own pace: {t}");
    assert!(!t.contains("-0.0") && !t.contains("k/s"), "{t}");
    app.dirty = false;
    let later = app.now + std::time::Duration::from_secs(75);
    app.update(Msg::Tick(later));
    assert!(app.dirty, "time alone changed the title: redraw it");
    let t = title(&app);
    assert!(t.contains("· 200/s · quiet 1m15s"), "{t}");
    app.dirty = false;
    app.update(Msg::Tick(later));
    assert!(!app.dirty, "nothing changed: no frame");
}

/// `t` on an id a stuck client repeated thousands of times shows its ends and how many lie between.
#[test]
fn t_on_a_repeated_id_shows_its_ends_and_the_count() {
    let mut app = console(vec![("gw.log".into(), "/var/log/gw.log".into(), Some(Role::Gateway))], 160, 50);
    let rid = "5".repeat(32);
    let mut text = String::new();
    for i in 0..5000u32 {
        text.push_str(&format!(
            "203.0.113.5 - - [01/May/2024:12:{:02}:{:02} +0000] \"GET /v1/retry/{i} HTTP/1.1\" 503 0 \"-\" \"x\" \
             rid={rid} rt=0.001 urt=\"0.001\" us=\"503\" ua=\"10.0.0.7:80\"\n",
            i / 60 % 60,
            i % 60
        ));
    }
    app.update(batch(0, text.as_bytes()));
    key(&mut app, KeyCode::Char('t'));
    let shown = screen(&app);
    assert!(shown.contains("… 4,960 more records: the id is not unique"), "{shown}");
    assert!(shown.contains("/v1/retry/0 ") && shown.contains("/v1/retry/4999"), "{shown}");
}
