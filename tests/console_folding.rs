//! A stack trace under a service's error line is folded under its record in the console: the record's row says how
//! many lines it holds, the rows skip them, Enter's detail shows them, and a search finds the record by them.

mod common;

use common::{batch, console, key, keys, screen};
use crossterm::event::KeyCode;
use gatewatch::record::Role;
use gatewatch::ui::app::Overlay;

/// A console with one service pane holding fixture `name`.
fn service(name: &str) -> (gatewatch::ui::app::App, String) {
    let text = std::fs::read_to_string(format!("tests/fixtures/multiline/{name}")).unwrap();
    let mut app = console(vec![(name.into(), name.into(), Some(Role::Upstream))], 160, 40);
    app.update(batch(0, text.as_bytes()));
    (app, text)
}

#[test]
fn a_stack_trace_folds_under_its_record_in_every_format() {
    // (fixture, records, lines folded under each record that has a trace, a line of the trace, the detail's
    // cause chain)
    for (name, records, folded, traced, causes) in [
        (
            "java.log",
            4,
            vec![7, 2],
            "Caused by: java.sql.SQLTransientConnectionException",
            &[
                "exception java.lang.IllegalStateException: Connection pool exhausted",
                "caused by java.sql.SQLTransient",
            ][..],
        ),
        ("python.jsonl", 3, vec![6], "KeyError: '1856'", &["exception KeyError: '1856'"]),
        // the blank line inside the Go trace is folded with it
        (
            "go.logfmt",
            3,
            vec![6],
            "goroutine 1 [running]:",
            &["exception panic: runtime error: invalid memory address"],
        ),
    ] {
        let (mut app, text) = service(name);
        let p = &app.panes[0];
        assert_eq!(p.lines.len(), text.lines().count(), "{name}: every line is kept");
        assert_eq!(p.rows(), records, "{name}: one row per record");
        let counts: Vec<usize> =
            (0..p.rows()).map(|r| p.lines.continuation_of(p.row_line(r)).len()).filter(|&n| n > 0).collect();
        assert_eq!(counts, folded, "{name}");
        let s = screen(&app);
        for n in &folded {
            assert!(s.contains(&format!("⋯ {n} more lines")), "{name}: no fold marker for {n}:\n{s}");
        }
        assert!(!s.contains(traced), "{name}: the trace is folded:\n{s}");
        // the search finds the record by a line of its trace, and Enter's detail shows the trace
        keys(&mut app, "g");
        key(&mut app, KeyCode::Char('/'));
        // (a regular expression: the trace's line up to its first bracket or colon)
        keys(&mut app, traced.split([':', '[']).next().unwrap());
        key(&mut app, KeyCode::Enter);
        let p = &app.panes[0];
        let line = p.row_line(p.cursor);
        assert!(!p.lines.continuation_of(line).is_empty(), "{name}: the search lands on the record with the trace");
        key(&mut app, KeyCode::Enter);
        assert_eq!(app.overlay, Overlay::Detail, "{name}");
        let s = screen(&app);
        for c in causes {
            assert!(s.contains(c), "{name}: the detail names {c}:\n{s}");
        }
        assert!(s.contains("continued"), "{name}: the detail shows the trace:\n{s}");
    }
}

#[test]
fn a_filter_shows_records_without_their_folded_lines() {
    let (mut app, _) = service("java.log");
    key(&mut app, KeyCode::Char('f'));
    keys(&mut app, "status>=500");
    key(&mut app, KeyCode::Enter);
    let p = &app.panes[0];
    assert_eq!(p.rows(), 2, "the two 500s, not their traces");
    assert!((0..p.rows()).all(|r| p.lines.meta(p.row_line(r)).status == 500));
    // each keeps its trace folded under it: the row says so, and a search finds the record by it
    let s = screen(&app);
    assert!(s.contains("⋯ 7 more lines") && s.contains("⋯ 2 more lines"), "{s}");
    keys(&mut app, "G");
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "SQLTransient");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.panes[0].lines.continuation_of(app.panes[0].row_line(app.panes[0].cursor)).len(), 7);
}

#[test]
fn lines_past_until_are_left_out_with_their_traces() {
    let text = std::fs::read_to_string("tests/fixtures/multiline/java.log").unwrap();
    let theme = gatewatch::ui::theme::Theme::load("dark", None, gatewatch::ui::theme::ColorDepth::None).unwrap();
    let window = gatewatch::window::Window { since_us: None, until_us: Some(1_714_564_802_000_000) }; // 12:00:02Z
    let opts = gatewatch::input::ScanOptions { window: Some(window), ..Default::default() };
    let sources = vec![("java.log".to_string(), "java.log".to_string(), Some(Role::Upstream))];
    let mut app = gatewatch::ui::app::App::new(sources, opts, Default::default(), theme);
    app.update(batch(0, text.as_bytes()));
    let p = &app.panes[0];
    // the 200 at 12:00:00 and the 500 at 12:00:01 with its trace; the 500 at 12:00:02.303, its trace and the
    // 200 after are past the window
    assert_eq!((p.lines.len(), p.rows()), (9, 2));
    assert_eq!(p.lines.continuation_of(1), 2..9);
}
