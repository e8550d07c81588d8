//! The console's speed and memory with a million lines loaded: four panes (two nginx gateways, two JSON
//! upstreams, 250k lines each) at 200x50.
//!
//! - frame: drawing the whole screen (ratatui's `TestBackend`, so no terminal I/O), following the bottom and with
//!   a selected request; baseline: ratatui drawing the same number of plain pre-formatted lines, the floor for
//!   putting that much text on screen.
//! - key: one key press (`k`: move up, find the request in every pane) plus the frame that shows it.
//! - memory: bytes held per line beyond the raw text in memory, from the store's own accounting, and the growth of
//!   the process's resident memory while loading.
//!
//! `cargo bench --bench console`. Medians of many runs; figures are also given as ratios to the baseline.
//!
//! `cargo bench --bench console -- --history FILE`: instead, the console's resident memory with a whole log in one
//! pane, as `gatewatch --from-start FILE` holds it: after loading every line, and after scrolling end to end
//! (every line read, a frame drawn every few pages), as ratios to the file's size. `benches/history.sh` runs it
//! on a generated 1 GB log against the code of another commit, in the same run.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gatewatch::generate::{GenConfig, Generator, upstream_logged};
use gatewatch::input::ScanOptions;
use gatewatch::record::Role;
use gatewatch::source::file::{FollowOptions, StartAt};
use gatewatch::source::{Batch, SourceMsg};
use gatewatch::stats::timeline::Point;
use gatewatch::ui::app::{App, Msg};
use gatewatch::ui::keymap::Keymap;
use gatewatch::ui::pane::PaneStats;
use gatewatch::ui::theme::{ColorDepth, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

const LINES_PER_PANE: usize = 250_000;
const RUNS: usize = 300;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// `n` gateway lines and the upstream lines of the same requests (at least `n`, topped up from more requests).
fn logs(seed: u64, n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut g = Generator::new(GenConfig { requests: n as u64 * 2, incident: true, seed, ..GenConfig::default() });
    let gw_w = gatewatch::format::writers::gateway("nginx").unwrap();
    let up_w = gatewatch::format::writers::upstream("json").unwrap();
    let (mut gw, mut up) = (Vec::new(), Vec::new());
    let (mut gn, mut un) = (0, 0);
    while let Some(r) = g.next_request() {
        if gn < n {
            gw_w(&r, &mut gw);
            gw.push(b'\n');
            gn += 1;
        }
        if un < n && upstream_logged(&r) {
            up_w(&r, &mut up);
            up.push(b'\n');
            un += 1;
        }
        if gn == n && un == n {
            break;
        }
    }
    (gw, up)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() * 99 / 100]
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// Resident memory of this process, from /proc/self/status: (VmRSS, RssAnon, RssFile) in bytes.
fn rss_parts() -> (u64, u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        let line = status.lines().find(|l| l.starts_with(key));
        line.and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) * 1024
    };
    (kib("VmRSS:"), kib("RssAnon:"), kib("RssFile:"))
}

/// The `--history FILE` mode (see the top of this file).
fn history(path: &str) {
    use std::io::Read;
    let file_bytes = std::fs::metadata(path).expect("the log").len();
    let theme = Theme::load("dark", None, ColorDepth::TrueColor).unwrap();
    let rss0 = rss_parts();
    let start = Instant::now();
    // as the console opens a file with `--from-start`: its history indexed apart, its newest lines read at once
    let follow = FollowOptions { start: StartAt::Beginning, ..FollowOptions::default() };
    let opts = ScanOptions::default();
    let (mut plans, follow) =
        gatewatch::history::plan_all(&[Some((std::path::Path::new(path), false))], &follow, &opts);
    let mut app =
        App::new(vec![(path.into(), path.into(), Some(Role::Gateway))], opts.clone(), Keymap::default(), theme);
    app.update(Msg::Resize(200, 50));
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some((span, parser)) = plans[0].take() {
        app.panes[0].parser = Some(parser.clone());
        app.panes[0].history = Some((0, span.end - span.start));
        gatewatch::history::spawn(vec![span.part(None).unwrap()], parser, opts.threads(), move |e| {
            let _ = tx.send(e);
        });
    }
    let mut file = std::fs::File::open(path).expect("the log");
    let len = file.metadata().unwrap().len();
    let from =
        gatewatch::source::file::start_offset(&file, len, path.as_ref(), follow.start, follow.start_finder.as_ref())
            .unwrap();
    let mut newest = Vec::new();
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(from)).unwrap();
    file.read_to_end(&mut newest).unwrap();
    app.update(Msg::Source(SourceMsg::Lines(Batch { source: 0, label: None, first_line: 1, data: newest })));
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    term.draw(|f| gatewatch::ui::draw::draw(&app, f)).unwrap();
    let first_screen = start.elapsed();
    for e in rx {
        app.update(Msg::History(0, e));
    }
    let indexed = start.elapsed();
    let loaded = rss_parts();
    // end to end: every line read as a view reads it, and a frame every 64 pages
    let scroll = Instant::now();
    let h = app.pane_height(0).max(1);
    let lines = app.panes[0].lines.len();
    let mut sum = 0usize;
    for top in (0..lines).step_by(h) {
        for i in top..(top + h).min(lines) {
            sum = sum.wrapping_add(app.panes[0].lines.line(i).len());
        }
        if (top / h).is_multiple_of(64) || top + h >= lines {
            app.panes[0].set_cursor(top + h - 1, h);
            term.draw(|f| gatewatch::ui::draw::draw(&app, f)).unwrap();
        }
    }
    std::hint::black_box(sum);
    let scroll_time = scroll.elapsed();
    let scrolled = rss_parts();
    let mb = |b: u64| b as f64 / 1e6;
    let held = |(rss, anon, file): (u64, u64, u64)| {
        format!(
            "{:.1} MB = {:.3} x the file (grown {:.1} MB; RssAnon {:.1} MB, RssFile {:.1} MB)",
            mb(rss),
            rss as f64 / file_bytes as f64,
            mb(rss.saturating_sub(rss0.0)),
            mb(anon),
            mb(file),
        )
    };
    println!("history: {path}, {:.1} MB, {lines} lines", mb(file_bytes));
    println!(
        "first screen in {:.3} s, history indexed in {:.2} s, scrolled end to end in {:.2} s",
        first_screen.as_secs_f64(),
        indexed.as_secs_f64(),
        scroll_time.as_secs_f64()
    );
    println!("resident after indexing:              {}", held(loaded));
    println!("resident after scrolling end to end:  {}", held(scrolled));
    let ratio = |(rss, ..): (u64, u64, u64)| rss as f64 / file_bytes as f64;
    println!(
        "figures: first_screen_s {:.4} indexed_s {:.3} resident_indexed {:.4} resident_scrolled {:.4}",
        first_screen.as_secs_f64(),
        indexed.as_secs_f64(),
        ratio(loaded),
        ratio(scrolled)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--history") {
        return history(args.get(at + 1).expect("--history FILE"));
    }
    // generate first, so the memory measured below is the console's own
    let (gw1, up1) = logs(1, LINES_PER_PANE);
    let (gw2, up2) = logs(2, LINES_PER_PANE);
    let raw_bytes = (gw1.len() + up1.len() + gw2.len() + up2.len()) as u64;
    let theme = Theme::load("dark", None, ColorDepth::TrueColor).unwrap();
    let rss_before = rss_bytes();
    let mut app = App::new(
        vec![
            ("edge-a/access.log".into(), "edge-a/access.log".into(), Some(Role::Gateway)),
            ("edge-b/access.log".into(), "edge-b/access.log".into(), Some(Role::Gateway)),
            ("orders-api.log".into(), "orders-api.log".into(), Some(Role::Upstream)),
            ("users-api.log".into(), "users-api.log".into(), Some(Role::Upstream)),
        ],
        ScanOptions::default(),
        Keymap::default(),
        theme,
    );
    app.update(Msg::Resize(200, 50));
    let load = Instant::now();
    for (i, data) in [&gw1, &gw2, &up1, &up2].into_iter().enumerate() {
        // in batches of the size sources send
        let mut rest = &data[..];
        while !rest.is_empty() {
            let cut = rest.len().min(256 << 10);
            let cut = memchr::memrchr(b'\n', &rest[..cut]).map_or(rest.len(), |p| p + 1);
            app.update(Msg::Source(SourceMsg::Lines(Batch {
                source: i,
                label: None,
                first_line: 1,
                data: rest[..cut].to_vec(),
            })));
            rest = &rest[cut..];
        }
    }
    let load_time = load.elapsed();
    let lines: usize = app.panes.iter().map(|p| p.lines.len()).sum();
    let text: u64 = app.panes.iter().map(|p| p.lines.text_bytes()).sum();
    let overhead: u64 = app.panes.iter().map(|p| p.lines.overhead_bytes()).sum();
    let rss_growth = rss_bytes().saturating_sub(rss_before);
    drop((gw1, gw2, up1, up2));

    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let mut frame = |app: &App| {
        let t = Instant::now();
        term.draw(|f| gatewatch::ui::draw::draw(app, f)).unwrap();
        t.elapsed()
    };
    // following the bottom, nothing selected
    let follow: Vec<Duration> = (0..RUNS).map(|_| frame(&app)).collect();
    // a request selected mid-history: highlighting in every pane
    let h = app.pane_height(0);
    app.panes[0].set_cursor(LINES_PER_PANE / 2, h);
    app.selection_moved();
    assert!(app.selected_id.is_some(), "a request is selected");
    let selected: Vec<Duration> = (0..RUNS).map(|_| frame(&app)).collect();
    // a key press and the frame that shows it
    let keys: Vec<Duration> = (0..RUNS)
        .map(|i| {
            let t = Instant::now();
            app.update(key(if i % 2 == 0 { 'k' } else { 'j' }));
            term_frame(&app) + t.elapsed()
        })
        .collect();
    // a filter over every line (status>=500), checked in one go
    let t = Instant::now();
    app.update(key('f'));
    for c in "status>=500".chars() {
        app.update(key(c));
    }
    app.settle();
    let filter_time = t.elapsed();
    let filtered: Vec<Duration> = (0..RUNS).map(|_| frame(&app)).collect();
    // the charts pane open (window 5m, then all): bucket sums, histogram, percentiles, codes
    app.update(key('c'));
    let charts: Vec<Duration> = (0..RUNS).map(|_| frame(&app)).collect();
    app.update(key(']'));
    app.update(key(']'));
    app.update(key(']'));
    let charts_all: Vec<Duration> = (0..RUNS).map(|_| frame(&app)).collect();

    // the stats update alone: every record's point counted again into fresh buckets, against the whole
    // ingestion above (parse, store, stats) of the same records
    let points: Vec<Point> = app
        .panes
        .iter()
        .flat_map(|p| {
            (0..p.lines.len()).map(|i| {
                let m = p.lines.meta(i);
                Point {
                    unix_us: m.time_ms() * 1000,
                    status: (m.status != 0).then_some(m.status),
                    latency_us: m.latency_us(),
                    error_level: m.level >= 5,
                }
            })
        })
        .collect();
    let thresholds = gatewatch::alerts::Rules::default().thresholds();
    let stats_runs: Vec<Duration> = (0..5)
        .map(|_| {
            let mut st = PaneStats::new(&thresholds);
            let now = Instant::now();
            let t = Instant::now();
            for p in &points {
                st.add(*p, now);
            }
            std::hint::black_box(&st);
            t.elapsed()
        })
        .collect();
    let stats_time = median(stats_runs);

    // baseline: the same number of plain lines, pre-formatted, in four bordered blocks
    let plain: Vec<Line<'static>> = (0..48)
        .map(|i| Line::raw(format!("12:00:{i:02}.000 200 GET /v1/orders/{i} 12ms ↑200 10.0.0.5:8080 id=abc…")))
        .collect();
    let mut bterm = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let baseline: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            bterm
                .draw(|f| {
                    let a = f.area();
                    for (k, (x, y)) in [(0, 1), (100, 1), (0, 25), (100, 25)].into_iter().enumerate() {
                        let r = ratatui::layout::Rect::new(x, y, 100, 24).intersection(a);
                        let block = Block::default().borders(Borders::ALL).title(format!("pane {k}"));
                        f.render_widget(Paragraph::new(plain.clone()).block(block), r);
                    }
                })
                .unwrap();
            t.elapsed()
        })
        .collect();

    let base = median(baseline.clone());
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ratio = |d: Duration| d.as_secs_f64() / base.as_secs_f64();
    println!("console with {lines} lines in 4 panes at 200x50 (loaded in {:.2} s)", load_time.as_secs_f64());
    println!("{:<44} {:>10} {:>10} {:>12}", "", "median ms", "p99 ms", "× baseline");
    for (name, v) in [
        ("baseline: plain lines, 4 blocks", baseline),
        ("frame, following the bottom", follow),
        ("frame, request selected (highlights)", selected),
        ("frame, filter status>=500 on", filtered),
        ("frame, charts open (window 5m)", charts),
        ("frame, charts open (window all)", charts_all),
        ("key press + its frame (k/j, correlate)", keys),
    ] {
        let (m, p) = (median(v.clone()), p99(v));
        println!("{name:<44} {:>10.3} {:>10.3} {:>12.1}", ms(m), ms(p), ratio(m));
    }
    println!(
        "filter status>=500 over all lines: {:.0} ms ({:.0} lines/ms)",
        ms(filter_time),
        lines as f64 / ms(filter_time)
    );
    println!(
        "stats update (log-time buckets, {} records): {:.0} ns a record = {:.2}% of ingesting it ({:.0} ns a line: \
         parse, store, stats)",
        points.len(),
        stats_time.as_secs_f64() * 1e9 / points.len() as f64,
        stats_time.as_secs_f64() * 100.0 / load_time.as_secs_f64(),
        load_time.as_secs_f64() * 1e9 / lines as f64,
    );
    println!(
        "memory: raw text {:.1} MB ({} bytes/line); beyond the text in memory: {:.1} bytes/line by the store's \
         accounting; resident: RSS grew {:.1} MB = {:.1} bytes/line = {:.2}× the raw text (input {:.1} MB)",
        text as f64 / 1e6,
        text / lines as u64,
        overhead as f64 / lines as f64,
        rss_growth as f64 / 1e6,
        rss_growth as f64 / lines as f64,
        rss_growth as f64 / text as f64,
        raw_bytes as f64 / 1e6,
    );
}

/// A frame on a fresh backend (the key-press measurement keeps its own terminal out of the closure above).
fn term_frame(app: &App) -> Duration {
    thread_local! {
        static TERM: std::cell::RefCell<Terminal<TestBackend>> =
            std::cell::RefCell::new(Terminal::new(TestBackend::new(200, 50)).unwrap());
    }
    TERM.with(|t| {
        let t0 = Instant::now();
        t.borrow_mut().draw(|f| gatewatch::ui::draw::draw(app, f)).unwrap();
        t0.elapsed()
    })
}
