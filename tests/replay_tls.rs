//! `gatewatch replay` over TLS against real TLS servers on loopback, with certificates made by the test: the
//! connection goes to an address while the name is kept (SNI, certificate check), straight to the logged upstream,
//! through the gateway and to the upstream side by side; errors say what to do.

mod common;

use assert_cmd::Command;
use common::server::{Reply, Server};
use common::tls::{Pki, TlsServer};
use serde_json::Value;

fn gatewatch() -> Command {
    Command::cargo_bin("gatewatch").unwrap()
}

struct Log {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

/// One nginx line for `GET /v1/orders/7?x=1` that the gateway answered with `status`, its upstream attempts in
/// `upstream_addr`, the client's Host `api.internal`.
fn log(status: u16, upstream_addr: &str) -> Log {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let line = format!(
        "203.0.113.5 - - [01/May/2024:12:00:00 +0000] \"GET /v1/orders/7?x=1 HTTP/1.1\" {status} 17 \"-\" \"gw-test\" \
         rid=0123456789abcdef0123456789abcdef rt=0.020 urt=\"0.020\" us=\"{status}\" ua=\"{upstream_addr}\" host=api.internal\n"
    );
    std::fs::write(&path, line).unwrap();
    Log { _dir: dir, path }
}

fn run(log: &Log, args: &[&str]) -> (Option<i32>, String, String) {
    let out = gatewatch().args(["replay", "--line", "1", "--retries", "0"]).args(args).arg(&log.path).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> Vec<Value> {
    stdout.lines().map(|l| serde_json::from_str(l).expect(l)).collect()
}

#[test]
fn connect_to_keeps_the_name_for_sni_and_the_certificate_and_errors_say_what_to_give() {
    let pki = Pki::new(&["api.internal", "a.example"]);
    let server = TlsServer::start(&pki, "api.internal", false, 200);
    let log = log(502, "10.0.0.7:8443");
    let connect = format!("api.internal:443:127.0.0.1:{}", server.port());
    let ca = pki.ca();
    let (code, out, err) =
        run(&log, &["--json", "--base", "https://api.internal", "--connect-to", &connect, "--cacert", &ca]);
    assert_eq!(code, Some(0), "{out}{err}");
    let r = &json(&out)[0];
    assert_eq!(r["replayed"]["status"], 200, "{r}");
    assert_eq!(r["replayed"]["connected_to"], format!("127.0.0.1:{}", server.port()));
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].sni.as_deref(), Some("api.internal"), "SNI is the name, not the address");
    assert_eq!((seen[0].target.as_str(), seen[0].host.as_deref()), ("/v1/orders/7?x=1", Some("api.internal")));

    // --resolve: the name on its own port resolves to the address
    let (base, resolve) =
        (format!("https://api.internal:{}", server.port()), format!("api.internal:{}:127.0.0.1", server.port()));
    let (code, out, err) = run(&log, &["--json", "--base", &base, "--resolve", &resolve, "--cacert", &ca]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(json(&out)[0]["replayed"]["status"], 200);
    assert_eq!(server.seen().last().unwrap().sni.as_deref(), Some("api.internal"));

    // without the CA: the certificate's issuer is unknown, and the result says what to give
    let (code, out, _) = run(&log, &["--base", "https://api.internal", "--connect-to", &connect]);
    assert_eq!(code, Some(1));
    assert!(out.contains("certificate for api.internal signed by an unknown CA (give --cacert)"), "{out}");
    assert!(!out.contains("error sending request"), "{out}");

    // a certificate for another name
    let other = TlsServer::start(&pki, "a.example", false, 200);
    let connect_other = format!("api.internal:443:127.0.0.1:{}", other.port());
    let (code, out, _) =
        run(&log, &["--base", "https://api.internal", "--connect-to", &connect_other, "--cacert", &ca]);
    assert_eq!(code, Some(1));
    assert!(out.contains("certificate is for a.example, not api.internal"), "{out}");
    assert!(other.seen().is_empty());

    // --tls-server-name: the URL names an address, the certificate is checked against the name
    let base = format!("https://127.0.0.1:{}", server.port());
    let (code, out, err) =
        run(&log, &["--json", "--base", &base, "--tls-server-name", "api.internal", "--cacert", &ca]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(server.seen().last().unwrap().sni.as_deref(), Some("api.internal"));
    assert_eq!(server.seen().len(), 3);

    // nothing listens: the address is named
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = format!("api.internal:443:127.0.0.1:{port}");
    let (code, out, _) = run(&log, &["--base", "https://api.internal", "--connect-to", &refused, "--cacert", &ca]);
    assert_eq!(code, Some(1));
    assert!(out.contains(&format!("connection refused by 127.0.0.1:{port}")), "{out}");
}

#[test]
fn a_client_certificate_is_asked_for_and_then_given() {
    let pki = Pki::new(&["api.internal"]);
    let server = TlsServer::start(&pki, "api.internal", true, 200);
    let log = log(502, "10.0.0.7:8443");
    let connect = format!("api.internal:443:127.0.0.1:{}", server.port());
    let ca = pki.ca();
    let (code, out, _) = run(&log, &["--base", "https://api.internal", "--connect-to", &connect, "--cacert", &ca]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("the server asked for a client certificate (give --cert/--key)"), "{out}");
    let (cert, key) = (pki.client_cert(), pki.client_key());
    let args = [
        "--json",
        "--base",
        "https://api.internal",
        "--connect-to",
        &connect,
        "--cacert",
        &ca,
        "--cert",
        &cert,
        "--key",
        &key,
    ];
    let (code, out, err) = run(&log, &args);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(json(&out)[0]["replayed"]["status"], 200);
    let seen = server.seen();
    assert!(seen.len() == 1 && seen[0].client_cert, "{seen:?}");
}

#[test]
fn to_upstream_goes_to_the_logged_address_with_the_logged_name() {
    let pki = Pki::new(&["api.internal"]);
    let server = TlsServer::start(&pki, "api.internal", false, 200);
    // two attempts logged: the last is the default, --attempt picks another
    let log = log(502, &format!("127.0.0.1:1, 127.0.0.1:{}", server.port()));
    let ca = pki.ca();
    let (code, out, err) = run(&log, &["--json", "--to-upstream", "--cacert", &ca]);
    assert_eq!(code, Some(0), "{out}{err}");
    let r = &json(&out)[0];
    assert_eq!((r["to"].as_str(), r["replayed"]["status"].as_u64()), (Some("upstream"), Some(200)), "{r}");
    assert_eq!(r["url"], format!("https://api.internal:{}/v1/orders/7?x=1", server.port()));
    assert_eq!(server.seen()[0].sni.as_deref(), Some("api.internal"));
    let (code, out, _) = run(&log, &["--to-upstream", "--attempt", "1", "--cacert", &ca]);
    assert_eq!(code, Some(1));
    assert!(out.contains("connection refused by 127.0.0.1:1"), "{out}");
    let (code, _, err) = run(&log, &["--to-upstream", "--attempt", "3"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("logs 2 upstream attempt(s)"), "{err}");
}

#[test]
fn both_shows_the_gateway_and_the_upstream_beside_the_logged_outcome() {
    let pki = Pki::new(&["api.internal"]);
    let upstream = TlsServer::start(&pki, "api.internal", false, 200);
    let gateway = Server::always(Reply::json(502, r#"{"error":"bad gateway"}"#));
    let log = log(502, &format!("127.0.0.1:{}", upstream.port()));
    let ca = pki.ca();
    let (code, out, err) = run(&log, &["--json", "--both", "--base", &gateway.base(), "--cacert", &ca]);
    assert_eq!(code, Some(0), "{out}{err}");
    let r = &json(&out)[0];
    assert_eq!(r["logged"]["status"], 502);
    assert_eq!((r["replayed"]["status"].as_u64(), r["upstream"]["status"].as_u64()), (Some(502), Some(200)), "{r}");
    let differ: Vec<&str> = r["differ"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(differ.starts_with(&["status", "body"]), "{differ:?}");
    assert!(r["upstream"]["body_sha256"].as_str().unwrap().len() == 64);
    let summary = &json(&out)[1]["summary"];
    assert_eq!(
        (summary["matrix"]["502"]["502"].as_u64(), summary["upstream_matrix"]["502"]["200"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(gateway.seen()[0].header("host"), Some("api.internal"));
    assert_eq!(upstream.seen()[0].sni.as_deref(), Some("api.internal"));

    let (code, out, err) = run(&log, &["--both", "--base", &gateway.base(), "--cacert", &ca]);
    assert_eq!(code, Some(0), "{err}");
    let status = out.lines().find(|l| l.trim_start().starts_with("status")).unwrap_or_default();
    assert!(status.contains("502 Bad Gateway") && status.contains("200 OK"), "{out}");
    assert!(out.contains("logged") && out.contains("gateway") && out.contains("upstream"), "{out}");
    assert!(out.contains("differ    status, body"), "{out}");
    assert!(out.contains("verdict   gateway same, upstream changed"), "{out}");
    assert!(out.contains("logged → gateway: 502 → 502 ×1\nlogged → upstream: 502 → 200 ×1"), "{out}");
    // a digest as wide as its column still stands apart from the next
    let body = out.lines().find(|l| l.trim_start().starts_with("body")).unwrap_or_default();
    assert!(body.matches("sha256:").count() == 2 && body.contains(" B  sha256:"), "{out}");
}

#[test]
fn the_curl_line_reaches_the_same_server_with_the_same_sni_and_certificate() {
    let pki = Pki::new(&["api.internal"]);
    let server = TlsServer::start(&pki, "api.internal", true, 200);
    let log = log(502, "10.0.0.7:8443");
    let connect = format!("api.internal:443:127.0.0.1:{}", server.port());
    let (ca, cert, key) = (pki.ca(), pki.client_cert(), pki.client_key());
    let args = [
        "--curl",
        "--base",
        "https://api.internal",
        "--connect-to",
        &connect,
        "--cacert",
        &ca,
        "--cert",
        &cert,
        "--key",
        &key,
    ];
    let (code, out, err) = run(&log, &args);
    assert_eq!(code, Some(0), "{err}");
    let line = out.trim();
    assert!(
        line.contains("--connect-to") && line.contains("--cacert") && line.contains("--cert") && line.contains("--key"),
        "{line}"
    );
    let curl = std::process::Command::new("bash").arg("-c").arg(format!("{line} -sS -o /dev/null")).output().unwrap();
    assert!(curl.status.success(), "{}", String::from_utf8_lossy(&curl.stderr));
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!((seen[0].sni.as_deref(), seen[0].client_cert), (Some("api.internal"), true));
    assert_eq!(seen[0].target, "/v1/orders/7?x=1");

    // the upstream's line too: its connect-to goes to the logged address
    let up_log = log_with_upstream(&server);
    let (code, out, err) = run(&up_log, &["--curl", "--to-upstream", "--cacert", &ca, "--cert", &cert, "--key", &key]);
    assert_eq!(code, Some(0), "{err}");
    let curl =
        std::process::Command::new("bash").arg("-c").arg(format!("{} -sS -o /dev/null", out.trim())).output().unwrap();
    assert!(curl.status.success(), "{}", String::from_utf8_lossy(&curl.stderr));
    assert_eq!(server.seen().len(), 2);
    assert_eq!(server.seen()[1].sni.as_deref(), Some("api.internal"));
}

fn log_with_upstream(server: &TlsServer) -> Log {
    log(502, &format!("127.0.0.1:{}", server.port()))
}

#[test]
fn insecure_is_flagged_on_the_result_and_the_allowlist_covers_the_address() {
    let pki = Pki::new(&["api.internal"]);
    let server = TlsServer::start(&pki, "api.internal", false, 200);
    let log = log(502, "10.0.0.7:8443");
    let connect = format!("api.internal:443:127.0.0.1:{}", server.port());
    let (code, out, err) =
        run(&log, &["--json", "--base", "https://api.internal", "--connect-to", &connect, "--insecure"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(json(&out)[0]["replayed"]["insecure"], true);
    let (_, out, _) = run(&log, &["--base", "https://api.internal", "--connect-to", &connect, "--insecure"]);
    assert!(out.contains("certificate NOT checked (--insecure)"), "{out}");

    // an allowed name does not let the connection go to any address
    let dir = tempfile::tempdir().unwrap();
    let config = common::tls::write(dir.path(), "config.toml", "[replay]\nallow_hosts = ['api.internal']\n");
    let before = server.handshakes().len();
    let config = config.display().to_string();
    let (code, _, err) = run(
        &log,
        &["--base", "https://api.internal", "--connect-to", &connect, "--cacert", &pki.ca(), "--config", &config],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("goes to 127.0.0.1, which is not in [replay] allow_hosts"), "{err}");
    assert_eq!(server.handshakes().len(), before, "nothing sent");
}

#[test]
fn a_connection_never_made_times_out_as_connecting() {
    // a listener that never accepts, its queue filled: the next connection hangs in the handshake
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    while held.len() < 4096 {
        match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    let log = log(504, "10.0.0.7:8443");
    let connect = format!("api.internal:443:127.0.0.1:{}", addr.port());
    let (code, out, _) = run(&log, &["--base", "https://api.internal", "--connect-to", &connect, "--timeout", "1"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&format!("timed out after 1 s connecting to 127.0.0.1:{}", addr.port())), "{out}");
    drop(listener);
}
