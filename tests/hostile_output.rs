//! Log text is written by strangers: every human-facing output escapes what a terminal would act on. Each output
//! is fed lines with ESC, an OSC 52 clipboard write, BEL, NUL, a C1 CSI (U+009B), CR and a bidi override (U+202E)
//! in every field it shows, and must print none of them raw.

mod common;

use assert_cmd::Command;
use common::server::{Reply, Server};

fn gatewatch() -> Command {
    Command::cargo_bin("gatewatch").unwrap()
}

/// What must never reach a terminal raw.
const HOSTILE: &str = "\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[2J\u{0}\u{9b}31m\r\u{202e}";
/// The same without NUL, for command-line arguments (which cannot hold one).
const HOSTILE_ARG: &str = "\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[2J\u{9b}31m\r\u{202e}";

fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for (c, name) in [
        ('\u{1b}', "ESC"),
        ('\u{7}', "BEL"),
        ('\u{0}', "NUL"),
        ('\u{9b}', "C1 CSI"),
        ('\r', "CR"),
        ('\u{202e}', "bidi override"),
    ] {
        assert!(!text.contains(c), "{what} prints a raw {name}:\n{text:?}");
    }
}

const RID: &str = "0123456789abcdef0123456789abcdef";

/// A gateway log whose every text field is hostile, and a service log likewise.
fn logs(dir: &tempfile::TempDir) -> (String, String) {
    let h = HOSTILE;
    let gw = dir.path().join("gw.log");
    let mut lines = String::new();
    for (i, status) in [502, 504, 401, 404, 200].iter().enumerate() {
        lines.push_str(&format!(
            "203.0.113.5 - user{h} [01/May/2024:12:00:0{i} +0000] \"GET /v1/{h}/orders?q={h} HTTP/1.1\" {status} 17 \
             \"https://ref/{h}\" \"agent {h}\" rid={RID} rt=1.000 urt=\"1.000\" us=\"{status}\" ua=\"10.0.0.7:80{h}\"\n"
        ));
    }
    lines.push_str(&format!("not a log line {h}\n"));
    std::fs::write(&gw, lines).unwrap();
    let app = dir.path().join("app.log");
    let msg = serde_json::to_string(&format!("db down {h}")).unwrap();
    let path = serde_json::to_string(&format!("/v1/{h}/orders")).unwrap();
    std::fs::write(
        &app,
        format!(
            "{{\"time\":\"2024-05-01T12:00:00Z\",\"level\":\"error\",\"msg\":{msg},\"method\":\"GET\",\"path\":{path},\
             \"status\":502,\"request_id\":\"{RID}\",\"duration_ms\":3}}\n"
        ),
    )
    .unwrap();
    (gw.to_string_lossy().into_owned(), app.to_string_lossy().into_owned())
}

#[test]
fn report_and_trace_escape_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, app) = logs(&dir);
    let out = gatewatch().args(["report", &gw, &app]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("DIAGNOSIS"), "{}", String::from_utf8_lossy(&out.stdout));
    assert_clean("report", &out.stdout);
    assert_clean("report's errors", &out.stderr);
    let out = gatewatch().args(["trace", RID, &gw, &app]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("record(s) carry id"));
    assert_clean("trace", &out.stdout);
    let out = gatewatch().args(["trace", &format!("x{HOSTILE_ARG}"), &gw]).output().unwrap();
    assert_clean("trace of a hostile id", &out.stdout);
    for json in [false, true] {
        let mut cmd = gatewatch();
        cmd.args(["tail", "--from-start", &gw, &app]).timeout(std::time::Duration::from_secs(2));
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(!out.stdout.is_empty());
        assert_clean(if json { "tail --json" } else { "tail" }, &out.stdout);
    }
}

#[test]
fn json_output_carries_text_as_json_strings() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _) = logs(&dir);
    let out = gatewatch().args(["report", "--json", &gw]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let example = v["sources"][0]["unparsed_examples"][0]["text"].as_str().unwrap();
    assert!(
        example.starts_with(&format!("not a log line {HOSTILE}")),
        "raw text in JSON, not escaped twice: {example:?}"
    );
    assert_clean("report --json", &out.stdout);
}

#[test]
fn replay_and_token_escape_what_they_show_and_errors_escape_what_they_quote() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _) = logs(&dir);
    let server = Server::always(
        Reply::json(200, &serde_json::json!({"echo": HOSTILE}).to_string()).with("x-note", "a\u{202e}b"),
    );
    let out = gatewatch().args(["replay", "--line", "1", "--base", &server.base(), &gw]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("verdict"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_clean("replay", &out.stdout);
    assert_clean("replay's notes", &out.stderr);
    let out = gatewatch().args(["replay", "--line", "1", "--base", &server.base(), "--dry-run", &gw]).output().unwrap();
    assert_clean("replay --dry-run", &out.stdout);
    let out = gatewatch().args(["replay", "--line", "1", "--base", &server.base(), "--curl", &gw]).output().unwrap();
    assert_clean("replay --curl", &out.stdout);

    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let claims = serde_json::json!({"sub": HOSTILE, "iss": HOSTILE, "aud": [HOSTILE]});
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(HOSTILE_ARG.into());
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(b"k").unwrap()).unwrap();
    let out = gatewatch().args(["token", &token, "--secret", "k", "--iss", HOSTILE_ARG]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("signature valid"));
    assert_clean("token", &out.stdout);
    let out = gatewatch().args(["token", "--json", &token, "--secret", "k"]).output().unwrap();
    assert_clean("token --json", &out.stdout);
    let out = gatewatch().args(["replay", "--json", "--line", "1", "--base", &server.base(), &gw]).output().unwrap();
    assert_clean("replay --json", &out.stdout);

    // errors that quote their input
    for args in [
        vec!["report".to_string(), format!("/nonexistent/{HOSTILE_ARG}")],
        vec!["report".into(), "--format".into(), HOSTILE_ARG.into(), gw.clone()],
        vec!["tail".into(), "--filter".into(), format!("path~{HOSTILE_ARG}("), gw.clone()],
        vec!["replay".into(), "--from-curl".into(), format!("curl {HOSTILE_ARG}")],
        // the upstream address the record logged, and a connection rule, quoted back when they are not addresses
        vec!["replay".into(), "--to-upstream".into(), "--line".into(), "1".into(), gw.clone()],
        vec!["replay".into(), "--from-curl".into(), "curl http://h/".into(), "--connect-to".into(), HOSTILE_ARG.into()],
        vec!["token".into(), format!("a.{HOSTILE_ARG}.b")],
    ] {
        let out = gatewatch().args(&args).timeout(std::time::Duration::from_secs(5)).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert_clean(&format!("the error of {:?}", args[0]), &out.stderr);
    }
}
