//! The replay pane in the console, against a real HTTP server on loopback: keys in, requests out, the response
//! on screen beside the logged outcome, and the console never waiting on the network.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::server::{Reply, Server};
use common::{app_with, batch, key, keys, screen};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gatewatch::config::ReplayConfig;
use gatewatch::replay::settings::Settings;
use gatewatch::ui::app::{App, Msg};
use gatewatch::ui::replay::{ReplayView, Sending};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn ctrl(app: &mut App, c: char) {
    app.update(Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)));
}

fn target(app: &mut App, base: &str, allow: Option<Vec<String>>) {
    let cfg = ReplayConfig { allow_hosts: allow, ..Default::default() };
    app.set_replay_settings(Settings::new(&cfg, Some(base), &[], false).unwrap());
}

/// Put the gateway pane's cursor on its first GET with `status`; returns the line.
fn select_status(app: &mut App, status: u16) -> usize {
    let p = &app.panes[0];
    let is_get = |l: usize| {
        let text = p.lines.line(l);
        p.parser.as_ref().and_then(|x| x.parse(&text)).and_then(|r| r.method).as_deref() == Some("GET")
    };
    let line = (0..p.lines.len()).find(|&l| p.lines.meta(l).status == status && is_get(l)).unwrap();
    let h = app.pane_height(0);
    app.panes[0].follow = false;
    app.panes[0].set_cursor(line, h);
    app.selection_moved();
    line
}

fn single(app: &App) -> &gatewatch::ui::replay::SingleReplay {
    match app.replay.as_ref() {
        Some(ReplayView::Single(s)) => s,
        _ => panic!("no single replay open"),
    }
}

/// Wait for action results until `done` holds (or fail after 10 s).
async fn until(
    app: &mut App,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<gatewatch::ui::actions::ActionMsg>,
    done: impl Fn(&App) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(app) {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = tokio::time::timeout(left, rx.recv()).await.expect("no result in time").expect("channel open");
        app.update(Msg::Action(m));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn e_then_ctrl_s_sends_the_logged_request_and_shows_the_response_beside_the_log() {
    let server = Server::always(Reply::json(200, r#"{"order":{"id":7,"state":"paid"}}"#));
    let mut app = app_with(200, 50, 600);
    let mut rx = app.take_action_results().unwrap();
    target(&mut app, &server.base(), None);
    let line = select_status(&mut app, 502);
    let rec = app.panes[0].parser.as_ref().unwrap().parse(&app.panes[0].lines.line(line)).unwrap().into_owned();
    key(&mut app, KeyCode::Char('e'));
    let shown = screen(&app);
    assert!(shown.contains(&format!("GET {}{}", server.base(), rec.path.as_deref().unwrap())), "{shown}");
    assert!(shown.contains("status   502 Bad Gateway"), "the logged status is shown:\n{shown}");
    assert!(shown.contains("502 (gateway)"), "with its family's diagnosis:\n{shown}");
    ctrl(&mut app, 's');
    assert!(matches!(single(&app).sending, Sending::InFlight { .. }), "a GET to the target goes without asking");
    until(&mut app, &mut rx, |a| single(a).outcome.is_some()).await;
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, rec.path.as_deref().unwrap(), "the path and query as logged");
    assert_eq!(seen[0].method, rec.method.as_deref().unwrap());
    let sent = seen[0].header("x-request-id").unwrap().to_string();
    assert_ne!(Some(sent.as_str()), rec.request_id.as_deref(), "a fresh id");
    let shown = screen(&app);
    let row = shown.lines().find(|l| l.contains("replayed HTTP/1.1 200 OK")).unwrap_or_else(|| panic!("{shown}"));
    assert!(row.contains(&format!("logged gateway-access.log:{}", line + 1)), "beside the logged side: {row}");
    assert!(shown.contains("changed"), "{shown}");
    assert!(shown.contains("\"state\": \"paid\""), "the JSON body pretty-printed:\n{shown}");
    assert!(shown.contains(&format!("sent id {sent}")), "{shown}");

    // the replay's own gateway line, when it arrives, is marked like a correlated request
    let own = format!(
        "127.0.0.1 - - [01/May/2024:12:09:59 +0000] \"GET /v1/orders/7 HTTP/1.1\" 200 31 \"-\" \"x\" rid={sent} \
         rt=0.003 urt=\"0.002\" us=\"200\" ua=\"127.0.0.1:1\"\n"
    );
    app.update(batch(0, own.as_bytes()));
    key(&mut app, KeyCode::Tab); // to the panes
    key(&mut app, KeyCode::Char('G'));
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    term.draw(|f| gatewatch::ui::draw::draw(&app, f)).unwrap();
    let buf = term.backend().buffer();
    let prefix = &sent[..12];
    let y = (0..50)
        .find(|&y| (0..100u16).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>().contains(prefix))
        .expect("the replay's own line is in the gateway pane");
    assert!(buf[(5, y)].modifier.contains(ratatui::style::Modifier::UNDERLINED), "marked as correlated");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_target_never_freezes_the_console_and_esc_aborts_the_request() {
    // a raw socket: it sees the request, never answers, and notices when the client hangs up
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (closed_tx, closed_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        // read until the client closes the connection (0 bytes) or it errors
        while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
        let _ = closed_tx.send(Instant::now());
    });
    let mut app = app_with(200, 50, 600);
    let mut rx = app.take_action_results().unwrap();
    target(&mut app, &base, None);
    select_status(&mut app, 504);
    key(&mut app, KeyCode::Char('e'));
    key(&mut app, KeyCode::Esc); // stop editing
    ctrl(&mut app, 's');
    assert!(matches!(single(&app).sending, Sending::InFlight { .. }));
    // while it is in flight: keys move the selection and new lines are followed
    key(&mut app, KeyCode::Tab);
    let before = app.panes[0].cursor;
    let t0 = Instant::now();
    keys(&mut app, "kkk");
    assert_eq!(app.panes[0].cursor, before - 3);
    key(&mut app, KeyCode::Char('G'));
    let n = app.panes[0].lines.len();
    let (gw, _) = common::logs(20);
    app.update(batch(0, &gw));
    assert_eq!(app.panes[0].lines.len(), n + 20);
    assert_eq!(app.panes[0].selected_line(), Some(n + 19), "the pane follows its new lines");
    assert!(t0.elapsed() < Duration::from_secs(1), "keys answered at once");
    assert!(screen(&app).contains("sending…"), "the spinner shows");
    // back to the replay pane (it comes before the first pane); Esc aborts the request, and the server sees the
    // connection close
    key(&mut app, KeyCode::BackTab);
    assert!(app.tool_focus);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let esc = Instant::now();
    key(&mut app, KeyCode::Esc);
    assert_eq!(single(&app).sending, Sending::Cancelled);
    assert!(screen(&app).contains("cancelled"));
    let closed = tokio::task::spawn_blocking(move || closed_rx.recv_timeout(Duration::from_secs(5))).await.unwrap();
    let closed = closed.expect("the connection was closed after Esc");
    assert!(closed >= esc && closed - esc < Duration::from_secs(2), "closed {:?} after Esc", closed - esc);
    assert!(tokio::time::timeout(Duration::from_millis(300), rx.recv()).await.is_err(), "no result comes back");
    key(&mut app, KeyCode::Esc);
    assert!(app.replay.is_none(), "a second Esc closes the pane");
}

#[tokio::test(flavor = "multi_thread")]
async fn unsafe_methods_and_other_hosts_ask_first_and_the_allowlist_refuses() {
    let server = Server::always(Reply::status(202));
    let mut app = app_with(200, 50, 600);
    let mut rx = app.take_action_results().unwrap();
    target(&mut app, &server.base(), None);
    select_status(&mut app, 200);
    key(&mut app, KeyCode::Char('e'));
    // make it a POST: replace the method on the first line
    {
        let ReplayView::Single(s) = app.replay.as_mut().unwrap() else { unreachable!() };
        let text = s.editor.lines().join("\n");
        let (_, rest) = text.split_once(' ').unwrap();
        s.editor = ratatui_textarea::TextArea::new(
            format!("POST {rest}\n\n{{\"a\":1}}").lines().map(str::to_string).collect(),
        );
    }
    ctrl(&mut app, 's');
    assert!(
        matches!(&single(&app).sending, Sending::Confirm { reason, .. } if reason.contains("POST is not idempotent"))
    );
    assert!(screen(&app).contains("POST is not idempotent"));
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(single(&app).sending, Sending::Idle);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(server.seen().is_empty(), "any other key than y sends nothing");
    ctrl(&mut app, 's');
    key(&mut app, KeyCode::Char('y'));
    until(&mut app, &mut rx, |a| single(a).outcome.is_some()).await;
    assert_eq!(server.seen().len(), 1);
    assert_eq!((server.seen()[0].method.as_str(), server.seen()[0].body.as_slice()), ("POST", &b"{\"a\":1}"[..]));

    // a host other than the target asks too
    {
        let ReplayView::Single(s) = app.replay.as_mut().unwrap() else { unreachable!() };
        let text = s.editor.lines().join("\n").replacen("POST http://127.0.0.1", "GET http://localhost", 1);
        s.editor = ratatui_textarea::TextArea::new(text.lines().map(str::to_string).collect());
    }
    ctrl(&mut app, 's');
    assert!(
        matches!(&single(&app).sending, Sending::Confirm { reason, .. } if reason.contains("localhost is not the replay target 127.0.0.1"))
    );
    key(&mut app, KeyCode::Esc);

    // with an allowlist, a host outside it is refused and nothing is sent
    target(&mut app, &server.base(), Some(vec!["api.internal".into()]));
    ctrl(&mut app, 's');
    let msg = single(&app).message.clone().unwrap();
    assert!(msg.0 && msg.1.contains("not in [replay] allow_hosts") && msg.1.contains("nothing sent"), "{msg:?}");
    assert_eq!(server.seen().len(), 1);

    // with no target configured, the host comes from the log: it always asks
    app.set_replay_settings(Settings::default());
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('e'));
    assert!(screen(&app).contains("no --replay-base"), "the pane says there is no target");
    ctrl(&mut app, 's');
    assert!(
        matches!(&single(&app).sending, Sending::Confirm { reason, .. } if reason.contains("no replay target is set"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn y_copies_curl_history_walks_back_and_a_pasted_curl_command_is_imported() {
    let server = Server::always(Reply::status(200));
    let mut app = app_with(200, 50, 600);
    let mut rx = app.take_action_results().unwrap();
    target(&mut app, &server.base(), None);
    select_status(&mut app, 404);
    key(&mut app, KeyCode::Char('e'));
    let first = single(&app).editor.lines().join("\n");
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('y'));
    let curl = app.take_clipboard().expect("the curl command goes to the clipboard");
    assert!(curl.starts_with("curl ") && curl.contains(&server.base()), "{curl}");
    assert!(screen(&app).contains("curl (copied)"));
    ctrl(&mut app, 's');
    until(&mut app, &mut rx, |a| single(a).outcome.is_some()).await;

    // paste a curl command into the editor: it becomes the request
    key(&mut app, KeyCode::Char('e'));
    {
        let ReplayView::Single(s) = app.replay.as_mut().unwrap() else { unreachable!() };
        s.editor = ratatui_textarea::TextArea::default();
    }
    app.update(Msg::Paste(format!("curl -H 'X-Debug: 1' \\\n  '{}/v1/pasted?x=1'", server.base())));
    ctrl(&mut app, 's');
    until(&mut app, &mut rx, |a| single(a).outcome.is_some() && a.replay_history.len() == 2).await;
    let seen = server.seen();
    assert_eq!((seen[1].target.as_str(), seen[1].header("x-debug")), ("/v1/pasted?x=1", Some("1")));
    assert!(single(&app).editor.lines()[0].starts_with("GET "), "the editor shows the imported request");

    ctrl(&mut app, 'p');
    ctrl(&mut app, 'p');
    assert_eq!(single(&app).editor.lines().join("\n"), first, "ctrl-p walks back to the first request sent");
    ctrl(&mut app, 'n');
    assert!(single(&app).editor.lines()[0].contains("/v1/pasted"));

    // a curl command pasted into the first line of a full editor replaces the request, headers and all
    key(&mut app, KeyCode::Char('e'));
    app.update(Msg::Paste(format!("curl -H 'X-Only: 1' {}/v1/only", server.base())));
    let text = single(&app).editor.lines().join("\n");
    assert!(text.starts_with(&format!("GET {}/v1/only", server.base())) && !text.contains("X-Debug"), "{text}");
    // anything else pasted is escaped: it must not act on the terminal
    app.update(Msg::Paste("\u{1b}]0;pwned\u{7}".into()));
    assert!(single(&app).editor.lines().join("\n").contains("\\x1b]0;pwned\\x07"));
    ctrl(&mut app, 'p');
}

#[tokio::test(flavor = "multi_thread")]
async fn the_response_in_the_pane_is_escaped_and_its_secrets_hidden() {
    let hostile = "{\"msg\":\"\u{1b}[2J\u{1b}]0;owned\u{7}\u{202e}gnp.exe\"}";
    let server = Server::always(
        Reply::json(200, hostile).with("set-cookie", "session=s3cr3t-cookie").with("x-note", "a\u{202e}fdp.exe"),
    );
    let mut app = app_with(200, 50, 600);
    let mut rx = app.take_action_results().unwrap();
    target(&mut app, &server.base(), None);
    select_status(&mut app, 200);
    key(&mut app, KeyCode::Char('e'));
    ctrl(&mut app, 's');
    until(&mut app, &mut rx, |a| single(a).outcome.is_some()).await;
    let shown = screen(&app);
    assert!(shown.contains("set-cookie: …(redacted)") && !shown.contains("s3cr3t"), "{shown}");
    assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}') && !shown.contains('\u{202e}'), "{shown:?}");
    assert!(shown.contains("\\x1b[2J") && shown.contains("\\u{202e}gnp.exe"), "{shown}");
    assert!(shown.contains("x-note: a\\u{202e}fdp.exe"), "a header's bidi override is escaped too:\n{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn shift_e_replays_what_the_filter_shows_after_one_confirmation() {
    let server =
        Server::start(|_, seen| if seen.target.contains("orders") { Reply::status(200) } else { Reply::status(503) });
    let mut app = app_with(200, 50, 600);
    let mut rx = app.take_action_results().unwrap();
    target(&mut app, &server.base(), None);
    key(&mut app, KeyCode::Char('E'));
    assert!(app.notice.as_deref().unwrap().contains("set a filter first"));
    key(&mut app, KeyCode::Char('f'));
    keys(&mut app, "status>=500 and method=GET");
    key(&mut app, KeyCode::Enter);
    app.settle();
    let expected = app.panes[0].rows();
    assert!(expected > 3, "the generated incident has 5xx GETs");
    key(&mut app, KeyCode::Char('E'));
    let ask = screen(&app);
    assert!(ask.contains(&format!("Replay {expected} request(s) the filter shows to {}", server.base())), "{ask}");
    assert!(ask.contains("10/s, 4 at once"), "{ask}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(server.seen().is_empty(), "nothing before the confirmation");
    key(&mut app, KeyCode::Char('y'));
    until(&mut app, &mut rx, |a| matches!(a.replay.as_ref(), Some(ReplayView::Batch(b)) if b.finished.is_some())).await;
    let Some(ReplayView::Batch(b)) = app.replay.as_ref() else { unreachable!() };
    let s = &b.summary;
    assert_eq!(s.replayed + s.skipped, expected as u64);
    // every attempt reached the server: the 503s were retried, the others not
    let attempts: usize = b.rows.iter().filter_map(|r| r.result.as_ref()?.as_ref()).map(|o| o.attempts.len()).sum();
    assert_eq!(server.seen().len(), attempts);
    assert!(attempts as u64 > s.replayed, "some 503s were retried");
    let shown = screen(&app);
    assert!(shown.contains(&format!("done {expected}/{expected}")), "{shown}");
    assert!(shown.contains("logged→replayed"), "the matrix is on top:\n{shown}");
    assert!(shown.contains("circuit"), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn insecure_is_said_on_the_result_and_u_without_a_logged_upstream_sends_nothing() {
    let server = Server::always(Reply::json(200, "{}"));
    let mut app = app_with(200, 50, 600);
    let mut rx = app.take_action_results().unwrap();
    let cfg = ReplayConfig { insecure: true, ..Default::default() };
    app.set_replay_settings(Settings::new(&cfg, Some(&server.base()), &[], false).unwrap());
    select_status(&mut app, 502);
    key(&mut app, KeyCode::Char('e'));
    ctrl(&mut app, 's');
    until(&mut app, &mut rx, |a| single(a).outcome.is_some()).await;
    let shown = screen(&app);
    assert!(shown.contains("certificate NOT checked (insecure)"), "{shown}");

    // `u` on a request whose record logs no upstream says so, and sends nothing
    // (sending left the editor: `u` is the pane's key)
    let sent = server.seen().len();
    let s = match app.replay.as_mut() {
        Some(ReplayView::Single(s)) => s,
        _ => panic!("no single replay open"),
    };
    s.upstreams.clear();
    key(&mut app, KeyCode::Char('u'));
    let message = single(&app).message.clone().unwrap_or_default();
    assert!(message.1.contains("logs no upstream address") && message.1.contains("nothing sent"), "{message:?}");
    assert_eq!(server.seen().len(), sent);
}
