//! The console's trace view shows the nginx error-log line about the traced request, joined without an id.

use crossterm::event::KeyCode;
use gatewatch::record::Role;
use gatewatch::ui::app::Overlay;

mod common;
use common::*;

const ACCESS: &str = concat!(
    r#"127.0.0.1 - - [01/May/2024:12:03:16 +0200] "GET /v1/orders/2 HTTP/1.1" 200 15 "-" "curl/8" rid=1af7651916cd43dd8448eb211c80319c rt=0.002 urt="0.002" us="200" ua="10.0.0.7:8080""#,
    "\n",
    r#"127.0.0.1 - - [01/May/2024:12:03:18 +0200] "GET /v1/orders/1 HTTP/1.1" 502 157 "-" "curl/8" rid=0af7651916cd43dd8448eb211c80319c rt=0.001 urt="0.001" us="502" ua="10.0.0.7:8080""#,
    "\n",
);

const ERRORS: &str = concat!(
    r#"2024/05/01 12:03:17 [error] 31#31: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: api, request: "GET /v1/orders/1 HTTP/1.1", upstream: "http://10.0.0.7:8080/v1/orders/1", host: "api""#,
    "\n",
    r#"2024/05/01 12:03:17 [error] 31#31: *6 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: api, request: "GET /v1/other HTTP/1.1", upstream: "http://10.0.0.7:8080/v1/other", host: "api""#,
    "\n",
);

#[test]
fn the_trace_view_shows_the_error_logs_cause() {
    let mut app = console(
        vec![
            ("access.log".into(), "/var/log/nginx/access.log".into(), Some(Role::Gateway)),
            ("error.log".into(), "/var/log/nginx/error.log".into(), None),
        ],
        220,
        40,
    );
    app.update(batch(0, ACCESS.as_bytes()));
    app.update(batch(1, ERRORS.as_bytes()));
    key(&mut app, KeyCode::Char('g'));
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected_id.as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
    key(&mut app, KeyCode::Char('t'));
    assert_eq!(app.overlay, Overlay::Trace);
    let shown = screen(&app);
    assert!(shown.contains("error log error.log:1"), "{shown}");
    assert!(shown.contains("connect() failed (111: Connection refused)"), "{shown}");
    assert!(shown.contains("joined by client+request+time"), "{shown}");
    assert!(!shown.contains("upstream timed out"), "another request's error is not joined:\n{shown}");

    // the 200 before it has no error-log line
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('k'));
    assert_eq!(app.selected_id.as_deref(), Some("1af7651916cd43dd8448eb211c80319c"));
    key(&mut app, KeyCode::Char('t'));
    let shown = screen(&app);
    assert!(!shown.contains("error log error.log"), "{shown}");
}
