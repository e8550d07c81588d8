//! The token pane in the console: `J` on a record whose line carries a token, verdicts judged at the record's time,
//! keys from the config or typed into the pane, key sets fetched from a real server on loopback without blocking.

mod common;

use std::time::{Duration, Instant};

use common::server::{Reply, Server};
use common::{batch, console, key, keys, screen};
use crossterm::event::KeyCode;
use gatewatch::record::Role;
use gatewatch::token::keys::KeySpec;
use gatewatch::ui::app::{App, Msg};
use gatewatch::ui::token::TokenSettings;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

/// 2025-11-23T13:02:30Z, when the logged request was made.
const REQUEST_AT: i64 = 1_763_902_950;

fn hs256(claims: serde_json::Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

/// A console whose gateway pane holds one 401 line carrying `token` in its query.
fn app_with_token(token: &str) -> App {
    let mut app = console(vec![("gw.log".into(), "/var/log/gw.log".into(), Some(Role::Gateway))], 200, 50);
    let line = format!(
        "203.0.113.5 - - [23/Nov/2025:13:02:30 +0000] \"GET /v1/orders?access_token={token} HTTP/1.1\" 401 17 \"-\" \
         \"curl/8\" rid=0123456789abcdef0123456789abcdef rt=0.002 urt=\"-\" us=\"-\" ua=\"-\"\n"
    );
    app.update(batch(0, line.as_bytes()));
    app
}

#[test]
fn j_judges_the_token_at_the_record_time_and_now() {
    let token = hs256(json!({"sub": "user-42", "exp": REQUEST_AT + 40, "scope": "read:orders"}), b"k");
    let mut app = app_with_token(&token);
    app.set_token_settings(TokenSettings { key: Some(KeySpec::Secret(b"k".to_vec())), ..Default::default() });
    keys(&mut app, "J");
    let shown = screen(&app);
    assert!(shown.contains("token in query access_token"), "{shown}");
    assert!(shown.contains("signature valid (HS256, secret)"), "{shown}");
    assert!(shown.contains("valid when the request was made at 2025-11-23T13:02:30Z; expired 40 s later"), "{shown}");
    assert!(shown.contains("scope     read:orders"), "{shown}");
    assert!(shown.contains("tokens · gw.log:1 · a secret"), "{shown}");
    key(&mut app, KeyCode::Esc);
    assert!(app.token.is_none(), "Esc closes the pane");
}

#[test]
fn a_secret_typed_in_the_pane_is_masked_and_used() {
    let token = hs256(json!({"sub": "u", "exp": REQUEST_AT + 3600}), b"s3cr3t-value");
    let mut app = app_with_token(&token);
    keys(&mut app, "J");
    assert!(screen(&app).contains("signature not checked"), "{}", screen(&app));
    keys(&mut app, "s");
    keys(&mut app, "s3cr3t-value");
    let typing = screen(&app);
    assert!(!typing.contains("s3cr3t-value") && typing.contains("secret> ••••"), "masked:\n{typing}");
    key(&mut app, KeyCode::Enter);
    let shown = screen(&app);
    assert!(shown.contains("signature valid (HS256, secret)") && !shown.contains("s3cr3t"), "{shown}");
    // a wrong one says so
    keys(&mut app, "swrong");
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app).contains("signature INVALID"), "{}", screen(&app));
}

#[test]
fn with_no_token_in_the_lines_one_can_be_pasted() {
    let mut app = console(vec![("gw.log".into(), "/var/log/gw.log".into(), Some(Role::Gateway))], 120, 40);
    let (gw, _) = common::logs(50);
    app.update(batch(0, &gw));
    keys(&mut app, "J");
    assert!(screen(&app).contains("no token in this request's lines"), "{}", screen(&app));
    let token = hs256(json!({"alg_test": true}), b"k");
    app.update(Msg::Paste(format!("Authorization: Bearer {token}")));
    key(&mut app, KeyCode::Enter);
    let shown = screen(&app);
    assert!(shown.contains("token in Authorization: Bearer") && shown.contains("tokens · pasted"), "{shown}");
}

#[test]
fn the_401_diagnosis_says_a_token_is_there_and_offers_j() {
    let token = hs256(json!({"exp": REQUEST_AT - 5}), b"k");
    let mut app = app_with_token(&token);
    keys(&mut app, "d");
    let shown = screen(&app);
    assert!(shown.contains("this request's lines carry one (query access_token): J checks its signature"), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jwks_url_is_fetched_as_a_task_and_kept_for_the_session() {
    let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt/keys/rsa.key")).unwrap();
    let rsa = EncodingKey::from_rsa_pem(&pem).unwrap();
    let mut jwk =
        serde_json::to_value(jsonwebtoken::jwk::Jwk::from_encoding_key(&rsa, Algorithm::RS256).unwrap()).unwrap();
    jwk["kid"] = json!("rs-1");
    let set = json!({ "keys": [jwk] }).to_string();
    let server =
        Server::always(Reply::json(200, &set).with("cache-control", "max-age=600").after(Duration::from_millis(300)));
    let header = Header { kid: Some("rs-1".into()), ..Header::new(Algorithm::RS256) };
    let token = jsonwebtoken::encode(&header, &json!({"exp": REQUEST_AT + 40}), &rsa).unwrap();
    let mut app = app_with_token(&token);
    let mut rx = app.take_action_results().unwrap();
    keys(&mut app, "J");
    // with a runtime every check is a task: the first (no key yet) comes back as a message too
    let m = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.unwrap().unwrap();
    app.update(Msg::Action(m));
    assert!(screen(&app).contains("signature not checked"), "{}", screen(&app));
    keys(&mut app, "o");
    keys(&mut app, &format!("{}/jwks.json", server.base()));
    let t0 = Instant::now();
    key(&mut app, KeyCode::Enter);
    assert!(t0.elapsed() < Duration::from_millis(250), "Enter returns before the 300 ms fetch");
    assert!(screen(&app).contains("fetching keys"), "{}", screen(&app));
    let m = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.unwrap().unwrap();
    app.update(Msg::Action(m));
    let shown = screen(&app);
    assert!(shown.contains("signature valid (RS256, kid rs-1 of"), "{shown}");
    // checked again: from the cache, no second fetch
    keys(&mut app, "o");
    keys(&mut app, &format!("{}/jwks.json", server.base()));
    key(&mut app, KeyCode::Enter);
    let m = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.unwrap().unwrap();
    app.update(Msg::Action(m));
    assert!(screen(&app).contains("signature valid (RS256"), "{}", screen(&app));
    assert_eq!(server.seen().len(), 1, "max-age keeps the set for the session");
}

/// `J` while the pane follows: the ▶ request is held, and a token its service logged (another pane) is found.
#[test]
fn j_finds_the_token_in_the_same_requests_other_lines_while_following() {
    let token = hs256(json!({"sub": "u", "exp": REQUEST_AT - 90}), b"k");
    let rid = "0123456789abcdef0123456789abcdef";
    let mut app = console(
        vec![
            ("gw.log".into(), "/var/log/gw.log".into(), Some(Role::Gateway)),
            ("app.log".into(), "/var/log/app.log".into(), Some(Role::Upstream)),
        ],
        200,
        50,
    );
    let gw = format!(
        "203.0.113.5 - - [23/Nov/2025:13:02:30 +0000] \"GET /v1/orders HTTP/1.1\" 401 17 \"-\" \"curl/8\" rid={rid} \
         rt=0.002 urt=\"-\" us=\"-\" ua=\"-\"\n"
    );
    let app_line = format!(
        "{{\"time\":\"2025-11-23T13:02:30.050Z\",\"level\":\"warn\",\"msg\":\"rejected\",\"request_id\":\"{rid}\",\
         \"status\":401,\"authorization\":\"Bearer {token}\"}}\n"
    );
    app.update(batch(0, gw.as_bytes()));
    app.update(batch(1, app_line.as_bytes()));
    assert!(app.panes[0].follow);
    app.set_token_settings(TokenSettings { key: Some(KeySpec::Secret(b"k".to_vec())), ..Default::default() });
    keys(&mut app, "J");
    let shown = screen(&app);
    assert!(shown.contains("token in Authorization: Bearer"), "{shown}");
    assert!(
        shown.contains("already expired by 1 min 30 s when the request was made at 2025-11-23T13:02:30Z"),
        "{shown}"
    );
}
