//! The charts pane, alerts and diagnosis in the console, without a terminal: counts are checked against the
//! generator's own records (ground truth), not against the console's other figures.

use std::collections::BTreeMap;
use std::time::Instant;

use crossterm::event::KeyCode;
use gatewatch::generate::{GenConfig, Generator};
use gatewatch::record::Role;
use gatewatch::ui::app::{App, Msg, Overlay};
use gatewatch::ui::charts::{Breakdown, Window};

mod common;
use common::*;

const REQUESTS: u64 = 3000;

fn cfg() -> GenConfig {
    GenConfig { requests: REQUESTS, incident: true, seed: 11, ..GenConfig::default() }
}

/// Per second of log time: requests per class (index 1..=5), from the generator.
fn truth() -> BTreeMap<i64, [u64; 6]> {
    let mut g = Generator::new(cfg());
    let mut per: BTreeMap<i64, [u64; 6]> = BTreeMap::new();
    while let Some(r) = g.next_request() {
        per.entry(r.time.unix_us.div_euclid(1_000_000)).or_default()[(r.status / 100) as usize] += 1;
    }
    per
}

fn chart_totals(app: &App) -> [u64; 6] {
    let d = app.chart_data(app.chart_columns()).unwrap();
    let mut t = [0u64; 6];
    for (_, b) in &d.columns {
        for (a, n) in t.iter_mut().zip(b.classes) {
            *a += n as u64;
        }
    }
    t
}

#[test]
fn buckets_hold_each_record_in_its_own_second() {
    let app = app_with(200, 50, REQUESTS);
    let truth = truth();
    let got: BTreeMap<i64, [u64; 6]> = app.panes[0]
        .stats
        .all_buckets()
        .filter(|(_, b)| b.requests() > 0)
        .map(|(s, b)| (s, b.classes.map(|n| n as u64)))
        .collect();
    assert_eq!(app.panes[0].stats.all_resolution(), 1, "a short log keeps one-second buckets");
    assert_eq!(got, truth);
}

#[test]
fn late_and_out_of_order_lines_land_in_their_second() {
    let mut app = app_with(120, 40, 0);
    let line = |sec: u32, status: u16| {
        format!("10.0.0.1 - - [01/May/2024:12:00:{sec:02} +0000] \"GET /x HTTP/1.1\" {status} 1 \"-\" \"t\" rt=0.010\n")
    };
    app.update(batch(0, (line(30, 200) + &line(31, 200)).as_bytes()));
    app.update(batch(0, (line(10, 502) + &line(31, 504) + &line(29, 429)).as_bytes()));
    let at = |s: u32| {
        let sec = 1_714_564_800 + s as i64;
        app.panes[0].stats.recent.total(sec, sec + 1).top_codes()
    };
    assert_eq!(at(10), vec![(502, 1)]);
    assert_eq!(at(29), vec![(429, 1)]);
    assert_eq!(at(30), vec![(200, 1)]);
    assert_eq!(at(31), vec![(200, 1), (504, 1)]);
}

#[test]
fn windows_switch_with_keys_and_count_what_falls_in_them() {
    let mut app = app_with(200, 50, REQUESTS);
    let truth = truth();
    let last = *truth.keys().next_back().unwrap();
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(app.charts.as_ref().unwrap().window, Window::M5);
    let in_last = |secs: i64| -> [u64; 6] {
        let mut t = [0; 6];
        for (_, c) in truth.range(last + 1 - secs..) {
            for (a, n) in t.iter_mut().zip(c) {
                *a += n;
            }
        }
        t
    };
    assert_eq!(chart_totals(&app), in_last(300));
    keys(&mut app, "[");
    assert_eq!(app.charts.as_ref().unwrap().window, Window::M1);
    assert_eq!(chart_totals(&app), in_last(60));
    keys(&mut app, "[");
    assert_eq!(app.charts.as_ref().unwrap().window, Window::M1, "1m is the shortest");
    keys(&mut app, "]]]");
    assert_eq!(app.charts.as_ref().unwrap().window, Window::H1);
    keys(&mut app, "]");
    assert_eq!(app.charts.as_ref().unwrap().window, Window::All);
    let all: [u64; 6] = in_last(i64::MAX / 2);
    assert_eq!(chart_totals(&app), all);
    assert_eq!(all.iter().sum::<u64>(), REQUESTS);
    // the screen says which window is shown, and the whole window's figures
    let shown = screen(&app);
    assert!(shown.contains("window all  3,000 req"), "{shown}");
}

#[test]
fn selecting_a_code_filters_the_panes_and_esc_puts_the_filter_back() {
    let mut app = app_with(200, 50, REQUESTS);
    // a filter already in force
    app.apply_filter("latency>1ms");
    app.settle();
    key(&mut app, KeyCode::Char('c'));
    let rows = app.chart_data(100).unwrap().rows;
    let at = rows.iter().position(|r| r.label == "502").expect("the incident's 502s are listed");
    for _ in 0..at {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    app.settle();
    assert_eq!(app.filter.text, "status=502");
    let p = &app.panes[0];
    let shown: Vec<u16> = (0..p.rows()).map(|r| p.lines.meta(p.row_line(r)).status).collect();
    assert_eq!(shown.len() as u64, rows[at].requests, "the pane shows exactly the chart's 502s");
    assert!(shown.iter().all(|&s| s == 502));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.filter.text, "latency>1ms", "Esc in the charts restores the filter before");
    key(&mut app, KeyCode::Esc);
    assert!(!app.charts.as_ref().unwrap().focused, "a second Esc gives the keys back to the panes");
}

#[test]
fn a_column_and_enter_move_the_panes_to_that_moment() {
    let mut app = app_with(200, 50, REQUESTS);
    keys(&mut app, "c]]]"); // all
    let data = app.chart_data(app.chart_columns()).unwrap();
    // the busiest column, reached from the newest one
    let busiest = (0..data.columns.len()).max_by_key(|&c| data.columns[c].1.requests()).unwrap();
    key(&mut app, KeyCode::Left); // the newest column
    for _ in busiest..data.columns.len() - 1 {
        key(&mut app, KeyCode::Left);
    }
    let start = data.columns[busiest].0;
    assert_eq!(app.charts.as_ref().unwrap().cursor, Some(start), "the moment is the column's start");
    // the codes list's first row (200) keeps the panes' filter simple to check
    key(&mut app, KeyCode::Enter);
    app.settle();
    let p = &app.panes[0];
    let line = p.selected_line().unwrap();
    let t = p.lines.meta(line).time_ms() / 1000;
    assert!(t >= start && t < start + data.width_s, "moved to {t}, column {start}+{}", data.width_s);
    assert!(!p.follow);
}

#[test]
fn routes_and_upstreams_are_indexed_and_filter_like_codes() {
    let mut app = app_with(200, 50, REQUESTS);
    keys(&mut app, "c]]]b"); // all, routes
    assert!(app.has_work(), "routes wait to be indexed");
    app.settle();
    let rows = app.chart_data(100).unwrap().rows;
    let mut g = Generator::new(cfg());
    let mut truth: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    while let Some(r) = g.next_request() {
        let e = truth.entry(gatewatch::routes::normalize_bytes(r.path.as_bytes())).or_default();
        e.0 += 1;
        e.1 += (r.status >= 400) as u64;
    }
    for row in &rows {
        assert_eq!(truth.get(&row.label), Some(&(row.requests, row.errors)), "{}", row.label);
    }
    assert_eq!(rows.len(), truth.len());
    assert!(rows.windows(2).all(|w| w[0].errors >= w[1].errors), "most errors first");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.filter.text, format!("route={}", rows[0].label));
    keys(&mut app, "b");
    assert_eq!(app.charts.as_ref().unwrap().breakdown, Breakdown::Upstreams);
    app.settle();
    let ups = app.chart_data(100).unwrap().rows;
    assert!(ups.iter().any(|r| r.label.starts_with("10.0.0.")), "{ups:?}");
}

fn nginx_at(sec: u32, status: u16, i: u32) -> String {
    let (m, s) = (sec / 60, sec % 60);
    format!(
        "10.0.0.1 - - [01/May/2024:12:{m:02}:{s:02} +0000] \"GET /v1/items/{i} HTTP/1.1\" {status} 12 \"-\" \"t\" rt=0.020 rid=r{i:08x}\n"
    )
}

#[test]
fn an_alert_shows_in_the_status_bar_while_it_holds_and_clears() {
    let mut app = console(vec![("gw".into(), "gw.log".into(), Some(Role::Gateway))], 200, 50);
    let mut i = 0;
    let mut feed = |app: &mut App, secs: std::ops::Range<u32>, bad: bool| {
        let mut text = String::new();
        for sec in secs {
            for k in 0..10 {
                i += 1;
                text.push_str(&nginx_at(sec, if bad && k < 2 { 502 } else { 200 }, i));
            }
        }
        app.update(batch(0, text.as_bytes()));
        app.update(Msg::Tick(Instant::now()));
    };
    feed(&mut app, 0..180, false);
    assert!(app.alerts.is_empty());
    feed(&mut app, 180..240, true);
    assert_eq!(app.alerts.len(), 1, "{:?}", app.alerts);
    assert_eq!(app.alerts[0].rule, "5xx > 5% over 1m");
    let shown = screen(&app);
    let bar = shown.lines().last().unwrap();
    assert!(bar.contains("▲ 5xx > 5% over 1m since 12:03:16 (20.0%)"), "{bar}");
    // the rate falls back: the window empties of 502s and the alert clears
    feed(&mut app, 240..400, false);
    assert!(app.alerts.is_empty(), "{:?}", app.alerts);
    assert!(!screen(&app).lines().last().unwrap().contains('▲'));
    // the charts list the episode with its start and end
    key(&mut app, KeyCode::Char('c'));
    let eps = app.alert_history();
    assert_eq!(eps.len(), 1);
    assert_eq!((eps[0].start % 86_400, eps[0].end.map(|e| e % 86_400)), (12 * 3600 + 196, Some(12 * 3600 + 285)));
}

#[test]
fn a_window_across_midnight_dates_its_axis() {
    let mut app = console(vec![("gw".into(), "gw.log".into(), Some(Role::Gateway))], 200, 50);
    // one request a minute from 22:00 on 1 May to 02:00 on 3 May (+02:00, so 20:00 to 00:00 UTC)
    let mut text = String::new();
    for minute in 0..(28 * 60) {
        let (day, h, m) = (1 + (22 * 60 + minute) / 1440, (22 * 60 + minute) / 60 % 24, minute % 60);
        text.push_str(&format!(
            "10.0.0.1 - - [{day:02}/May/2024:{h:02}:{m:02}:00 +0200] \"GET /v1/items/{minute} HTTP/1.1\" 200 12 \"-\" \"t\" rt=0.020 rid=r{minute:08x}\n"
        ));
    }
    app.update(batch(0, text.as_bytes()));
    app.update(Msg::Tick(Instant::now()));
    keys(&mut app, "c]]]");
    assert_eq!(app.charts.as_ref().map(|c| c.window), Some(Window::All));
    let shown = screen(&app);
    let axis = shown.lines().find(|l| l.contains("05-02 ")).unwrap_or_else(|| panic!("no dated axis:\n{shown}"));
    // the first and last labels, in the log's own zone
    assert!(axis.contains("05-01 21:5") || axis.contains("05-01 22:0"), "{axis}");
    assert!(axis.contains("05-03 01:5") || axis.contains("05-03 02:0"), "{axis}");
    // a picked moment names its day and second, and its marker does not cut into a label
    key(&mut app, KeyCode::Left);
    let shown = screen(&app);
    let moment = regex::Regex::new(r"05-0[123] \d\d:\d\d:\d\d–\d\d:\d\d:\d\d").unwrap();
    assert!(moment.is_match(&shown), "{shown}");
    let axis = shown.lines().find(|l| l.contains('▲') && l.contains("05-0")).expect("the axis with its marker");
    assert!(!regex::Regex::new(r"[0-9:]▲|▲[0-9:]").unwrap().is_match(axis), "{axis}");
    key(&mut app, KeyCode::Esc);
    // a window within one day keeps the clock labels
    keys(&mut app, "[[[");
    let shown = screen(&app);
    assert!(!shown.contains("05-03 "), "{shown}");
    assert!(shown.contains("01:59:00") || shown.contains("02:00:00"), "{shown}");
}

#[test]
fn alerts_that_do_not_fit_the_status_bar_are_shortened_then_counted() {
    let mut app = console(vec![("gw".into(), "gw.log".into(), Some(Role::Gateway))], 200, 50);
    let mut text = String::new();
    for sec in 0..240 {
        for k in 0..10 {
            let status = match k {
                _ if sec < 180 => 200,
                0 | 1 => 502,
                2..=4 => 429,
                _ => 200,
            };
            text.push_str(&nginx_at(sec, status, sec * 10 + k));
        }
    }
    app.update(batch(0, text.as_bytes()));
    app.update(Msg::Tick(Instant::now()));
    let rules: Vec<&str> = app.alerts.iter().map(|a| a.rule.as_str()).collect();
    assert_eq!(rules, ["5xx > 5% over 1m", "429 > 20 over 1m"]);
    let bar = |app: &App| screen(app).lines().last().unwrap().to_string();
    let wide = bar(&app);
    assert!(wide.contains("▲ 5xx > 5% over 1m since 12:03:16 (20.0%)"), "{wide}");
    assert!(wide.contains("▲ 429 > 20 over 1m since 12:03:"), "{wide}");
    assert!(wide.trim_end().ends_with("q quit"), "the key hints still show: {wide}");
    app.update(Msg::Resize(110, 30));
    let mid = bar(&app);
    assert!(mid.contains("▲ 5xx > 5% over 1m (20.0%)") && mid.contains("▲ 429 > 20 over 1m (180)"), "{mid}");
    assert!(!mid.contains("since"), "{mid}");
    app.update(Msg::Resize(80, 24));
    let narrow = bar(&app);
    assert!(narrow.contains("▲ 2 alerts (c charts)"), "{narrow}");
    assert!(narrow.trim_end().ends_with("? help  c charts  q quit"), "{narrow}");
}

/// Move the gateway pane's cursor, with keys, to its first record with `status`.
fn select_first(app: &mut App, status: u16) {
    let p = &app.panes[0];
    let line = (0..p.lines.len()).find(|&l| p.lines.meta(l).status == status).expect("the incident has them");
    key(app, KeyCode::Char('g'));
    for _ in 0..line {
        key(app, KeyCode::Char('j'));
    }
}

#[test]
fn diagnosis_of_a_record_and_of_a_code_in_the_charts() {
    let mut app = app_with(200, 50, REQUESTS);
    // a 502 record at the gateway
    select_first(&mut app, 502);
    key(&mut app, KeyCode::Char('d'));
    assert_eq!(app.overlay, Overlay::Diagnosis);
    let d = app.diagnosis.clone().unwrap();
    assert_eq!(d.entries[0].status, 502);
    assert!(d.record.iter().any(|l| l.starts_with("This record:")), "{:?}", d.record);
    let shown = screen(&app);
    assert!(shown.contains("diagnosis · 502"), "{shown}");
    assert!(shown.contains("check:") && shown.contains("fix:"), "{shown}");
    key(&mut app, KeyCode::Char('d'));
    assert_eq!(app.overlay, Overlay::None);
    // a 500 the service answered: its own record, with its error message, is part of the story
    select_first(&mut app, 500);
    key(&mut app, KeyCode::Char('d'));
    let up = &app.panes[1];
    let up_line = up.selected_line().unwrap();
    let message = up.parser.as_ref().unwrap().parse(&up.lines.line(up_line)).unwrap().message.unwrap().into_owned();
    let d = app.diagnosis.clone().unwrap();
    assert!(
        d.record.iter().any(|l| l.starts_with("Same request: orders-api.log") && l.contains(&message)),
        "{message:?} in {:?}",
        d.record
    );
    key(&mut app, KeyCode::Char('d'));
    // 504 selected in the charts: the timeout, with the value the evidence suggests
    keys(&mut app, "c]]]");
    let rows = app.chart_data(100).unwrap().rows;
    let at = rows.iter().position(|r| r.label == "504").expect("504s listed");
    for _ in 0..at {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Char('d'));
    assert_eq!(app.overlay, Overlay::Diagnosis);
    let d = app.diagnosis.clone().unwrap();
    assert_eq!(d.entries.len(), 1);
    assert_eq!(d.entries[0].status, 504);
    assert_eq!(d.entries[0].count, rows[at].requests);
    assert!(d.entries[0].cause.contains("timeout") || d.entries[0].cause.contains("timed out"), "{:?}", d.entries[0]);
    // Esc closes the overlay, and the charts keep the keys
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.overlay, Overlay::None);
    assert!(app.charts.as_ref().unwrap().focused);
    // a 2xx code is not diagnosed
    key(&mut app, KeyCode::Char('g'));
    key(&mut app, KeyCode::Char('d'));
    assert_eq!(app.overlay, Overlay::None);
    assert!(app.notice.as_deref().unwrap_or("").contains("not an error"), "{:?}", app.notice);
}

#[test]
fn snapshot_charts_pane() {
    let mut app = app_with(120, 40, REQUESTS);
    keys(&mut app, "c]]]");
    key(&mut app, KeyCode::Left);
    for _ in 0..20 {
        key(&mut app, KeyCode::Left);
    }
    masked().bind(|| insta::assert_snapshot!("charts_all", screen(&app)));
    let mut small = app_with(80, 24, REQUESTS);
    keys(&mut small, "c]]]b");
    small.settle();
    masked().bind(|| insta::assert_snapshot!("charts_routes_80x24", screen(&small)));
}

/// A gateway reload a few seconds before the 502s rise: marked over its column, listed under the plots, and
/// named by the diagnosis of the 502s ("began N s after a gateway reload at …").
#[test]
fn a_reload_is_marked_on_the_charts_and_named_by_the_diagnosis() {
    // four minutes at 50 requests/s; the incident from 12:01:20 (a third in) to 12:02:40
    let cfg = GenConfig { requests: 12_000, rate: 50.0, incident: true, seed: 11, ..GenConfig::default() };
    let (mut gw, mut up) = (Vec::new(), Vec::new());
    let gw_writer = gatewatch::format::writers::gateway("nginx").unwrap();
    let up_writer = gatewatch::format::writers::upstream("json").unwrap();
    gatewatch::generate::generate(cfg, gw_writer, &mut gw, Some((up_writer, &mut up))).unwrap();
    // the reload, among the access lines where its time falls (as `docker logs` interleaves nginx's two logs)
    let text = String::from_utf8(gw).unwrap();
    let at = text.find("[01/May/2024:12:01:16").expect("a request at 12:01:16");
    let at = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let reload = "2024/05/01 12:01:16 [notice] 1#1: signal process started\n";
    let gw = format!("{}{reload}{}", &text[..at], &text[at..]);
    let mut app = console(
        vec![
            ("gateway-access.log".into(), "/var/log/nginx/gateway-access.log".into(), Some(Role::Gateway)),
            ("orders-api.log".into(), "/var/log/orders/orders-api.log".into(), Some(Role::Upstream)),
        ],
        200,
        50,
    );
    app.update(batch(0, gw.as_bytes()));
    app.update(batch(1, &up));
    assert!(app.markers.all().is_empty(), "looked for only while the charts are open");
    // the whole span, so both the reload and the rise are in the window
    keys(&mut app, "c]]]");
    assert!(app.has_work(), "lines to look at for changes");
    app.settle();
    let found = app.markers.all();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].kind, found[0].second()), ("gateway reload", 1_714_564_876));
    let shown = screen(&app);
    assert!(shown.contains("▼ reload"), "the label over its column:\n{shown}");
    assert!(
        shown.contains("▼ 12:01:16 gateway reload (gateway-access.log: signal process started)"),
        "the list under the plots:\n{shown}"
    );
    let rows = app.chart_data(app.chart_columns()).unwrap().rows;
    let at = rows.iter().position(|r| r.label == "502").expect("502s listed");
    for _ in 0..at {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Char('d'));
    let d = app.diagnosis.clone().expect("a diagnosis");
    let first = &d.entries[0].evidence[0];
    assert!(
        first.starts_with("began 4 s after a gateway reload at 12:01:16 (gateway-access.log: signal process started)"),
        "{d:?}"
    );
    // without the reload line nothing is claimed
    let mut plain = app_with(200, 50, 0);
    plain.update(batch(0, text.as_bytes()));
    plain.update(batch(1, &up));
    keys(&mut plain, "c]]]");
    plain.settle();
    let rows = plain.chart_data(plain.chart_columns()).unwrap().rows;
    let at = rows.iter().position(|r| r.label == "502").unwrap();
    for _ in 0..at {
        key(&mut plain, KeyCode::Down);
    }
    key(&mut plain, KeyCode::Char('d'));
    let d = plain.diagnosis.clone().expect("a diagnosis");
    assert!(d.entries.iter().all(|e| !e.evidence.iter().any(|l| l.starts_with("began"))), "{d:?}");
    assert!(!screen(&plain).contains("▼"), "no change, no mark");
}
