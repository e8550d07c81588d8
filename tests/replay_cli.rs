//! `gatewatch replay` against a real HTTP server on loopback: what arrives there, byte for byte and in time.

mod common;

use std::time::Duration;

use assert_cmd::Command;
use common::server::{Reply, Server};
use serde_json::Value;

fn gatewatch() -> Command {
    Command::cargo_bin("gatewatch").unwrap()
}

const RID: &str = "0123456789abcdef0123456789abcdef";

/// An nginx access line as the gateway writes it (`rid=` is `$request_id`).
fn nginx_line(i: u32, method: &str, target: &str, status: u16, rid: &str) -> String {
    format!(
        "203.0.113.5 - - [01/May/2024:12:00:{:02} +0000] \"{method} {target} HTTP/1.1\" {status} 17 \
         \"https://app.example.com/\" \"Mozilla/5.0 (X11) gw-test\" rid={rid} rt=1.000 urt=\"1.000\" us=\"{status}\" \
         ua=\"10.0.0.8:8080\"\n",
        i % 60
    )
}

struct Log {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

fn log_of(lines: &[String]) -> Log {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    std::fs::write(&path, lines.concat()).unwrap();
    Log { _dir: dir, path }
}

/// `n` GET requests that failed with 502, each with its own id.
fn failing_log(n: u32) -> Log {
    log_of(
        &(0..n)
            .map(|i| nginx_line(i, "GET", &format!("/v1/orders/{i}"), 502, &format!("{i:032x}")))
            .collect::<Vec<_>>(),
    )
}

/// `replay --json --line 1` of `log` against `server`, with `extra` flags.
fn replay_json_line1(server: &Server, log: &Log, extra: &[&str]) -> std::process::Output {
    gatewatch()
        .args(["replay", "--json", "--line", "1", "--base", &server.base()])
        .args(extra)
        .arg(&log.path)
        .output()
        .unwrap()
}

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out).lines().map(|l| serde_json::from_str(l).expect(l)).collect()
}

#[test]
fn the_request_arrives_byte_for_byte_with_a_fresh_id_and_the_logged_headers() {
    let server = Server::always(Reply::json(200, r#"{"ok":true}"#));
    let target = "/v1/a%2Fb/caf%C3%A9;v=1/@:x?q=%20x+y&list=a,b&empty=&t=~!$()*/?%7B%27";
    let log =
        log_of(&[nginx_line(0, "GET", "/other", 200, "f".repeat(32).as_str()), nginx_line(1, "GET", target, 504, RID)]);
    let out = gatewatch()
        .args(["replay", "--json", "--id", RID, "--base", &server.base(), "--base-host", "api.example.com"])
        .arg(&log.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].method.as_str(), seen[0].target.as_str()), ("GET", target));
    assert_eq!(seen[0].header("host"), Some("api.example.com"));
    assert_eq!(seen[0].header("user-agent"), Some("Mozilla/5.0 (X11) gw-test"));
    assert_eq!(seen[0].header("referer"), Some("https://app.example.com/"));
    let sent = seen[0].header("x-request-id").unwrap();
    assert!(sent != RID && sent.len() == 32 && sent.bytes().all(|b| b.is_ascii_hexdigit()), "fresh id {sent}");
    let lines = json_lines(&out.stdout);
    let r = &lines[0];
    assert_eq!((r["line"].as_u64(), r["method"].as_str()), (Some(2), Some("GET")));
    assert_eq!(r["url"].as_str().unwrap(), format!("{}{target}", server.base()));
    assert_eq!((r["request_id"].as_str(), r["sent_request_id"].as_str()), (Some(RID), Some(sent)));
    assert_eq!(r["logged"]["status"], 504);
    assert_eq!(r["logged"]["latency_ms"], 1000.0);
    assert_eq!(r["logged"]["upstream_status"], "504");
    assert_eq!(r["replayed"]["status"], 200);
    assert_eq!(r["replayed"]["headers"]["content-type"], "application/json");
    assert_eq!(r["replayed"]["body"], r#"{"ok":true}"#);
    assert_eq!(r["replayed"]["attempts"].as_array().unwrap().len(), 1);
    assert!(r["replayed"]["headers_ms"].as_f64().unwrap() <= r["replayed"]["latency_ms"].as_f64().unwrap());
    assert_eq!(r["verdict"], "changed");
    let s = &lines[1]["summary"];
    assert_eq!(
        (s["replayed"].as_u64(), s["changed"].as_u64(), s["circuit"].as_str()),
        (Some(1), Some(1), Some("closed"))
    );
    assert_eq!(s["matrix"]["504"]["200"], 1);

    // what the HTTP client must rewrite is said, and shown as sent
    let odd = log_of(&[nginx_line(0, "GET", "/v1/../admin?q='1'", 403, RID)]);
    let out = gatewatch()
        .args(["replay", "--json", "--line", "1", "--base", &server.base()])
        .arg(&odd.path)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("goes out as"));
    assert_eq!(json_lines(&out.stdout)[0]["sent_url"].as_str().unwrap(), format!("{}/admin?q=%271%27", server.base()));
    assert_eq!(server.seen().last().unwrap().target, "/admin?q=%271%27");

    // --keep-id sends the logged one; --line picks by line number
    let out = gatewatch()
        .args(["replay", "--json", "--keep-id", "--line", "2", "--base", &server.base()])
        .arg(&log.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(server.seen()[2].header("x-request-id"), Some(RID));
    assert_eq!(server.seen()[2].target, target);
}

#[test]
fn retry_after_is_honoured_and_a_longer_one_is_not_waited_out() {
    let server = Server::start(|n, _| match n {
        0 => Reply::status(503).with("retry-after", "1"),
        _ => Reply::json(200, "{}"),
    });
    let log = failing_log(1);
    let out = replay_json_line1(&server, &log, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_secs(1), "the second attempt came {gap:?} after the first");
    let r = &json_lines(&out.stdout)[0];
    let attempts = r["replayed"]["attempts"].as_array().unwrap();
    assert_eq!((attempts[0]["status"].as_u64(), attempts[1]["status"].as_u64()), (Some(503), Some(200)));
    assert_eq!(attempts[1]["delay_ms"], 1000);

    // past the cap: one attempt, and the result says why there was no second
    let server = Server::always(Reply::status(429).with("retry-after", "120"));
    let out = gatewatch()
        .args(["replay", "--json", "--line", "1", "--max-backoff", "2", "--base", &server.base()])
        .arg(&log.path)
        .output()
        .unwrap();
    assert_eq!(server.seen().len(), 1);
    let r = &json_lines(&out.stdout)[0];
    assert_eq!(r["replayed"]["status"], 429);
    let note = r["replayed"]["note"].as_str().unwrap();
    assert!(note.contains("120 s") && note.contains("2 s cap") && note.contains("not waited out"), "{note}");
}

#[test]
fn backoff_is_jittered_and_bounded_by_the_cap() {
    let server = Server::always(Reply::status(502));
    let log = failing_log(1);
    let out = gatewatch()
        .args(["replay", "--json", "--line", "1", "--retries", "4", "--max-backoff", "0.3", "--base", &server.base()])
        .arg(&log.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "a 502 is a response");
    let seen = server.seen();
    assert_eq!(seen.len(), 5, "the first attempt and four retries");
    let r = &json_lines(&out.stdout)[0];
    let delays: Vec<u64> =
        r["replayed"]["attempts"].as_array().unwrap().iter().map(|a| a["delay_ms"].as_u64().unwrap()).collect();
    assert_eq!(delays[0], 0);
    // full jitter: each wait within [0, min(cap, 200 ms · 2^n)]
    for (n, d) in delays[1..].iter().enumerate() {
        assert!(*d <= (200u64 << n).min(300), "attempt {} waited {d} ms", n + 2);
    }
    for (w, d) in seen.windows(2).zip(&delays[1..]) {
        let gap = (w[1].at - w[0].at).as_millis() as u64;
        assert!(gap >= *d && gap < d + 1000, "gap {gap} ms for a {d} ms delay");
    }
}

#[test]
fn the_circuit_opens_after_consecutive_failures_and_sends_nothing_more() {
    let server = Server::always(Reply::status(500));
    let log = failing_log(10);
    let out = gatewatch()
        .args(["replay", "--json", "--filter", "status>=500", "--concurrency", "1", "--break-after", "3"])
        .args(["--break-cooldown", "0", "--base", &server.base()])
        .arg(&log.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "an opened circuit exits 1");
    assert_eq!(server.seen().len(), 3);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 11);
    assert_eq!(lines.iter().filter(|l| l["verdict"] == "skipped").count(), 7);
    // oldest first: the ones sent are the first three lines
    assert_eq!(
        server.seen().iter().map(|s| s.target.clone()).collect::<Vec<_>>(),
        ["/v1/orders/0", "/v1/orders/1", "/v1/orders/2"]
    );
    let s = &lines[10]["summary"];
    assert_eq!(
        (s["skipped"].as_u64(), s["circuit"].as_str(), s["circuit_opened"].as_u64()),
        (Some(7), Some("open"), Some(1))
    );
    assert_eq!(s["matrix"]["502"]["500"], 3);
    assert_eq!(s["matrix"]["502"]["skipped"], 7);
}

#[test]
fn a_half_open_probe_closes_the_circuit_again_and_the_rate_is_kept() {
    // three failures open it; after the cooldown the probe succeeds and the rest go through
    let server = Server::start(|n, _| if n < 3 { Reply::status(503) } else { Reply::status(200) });
    let log = failing_log(14);
    let out = gatewatch()
        .args(["replay", "--json", "--filter", "status=502", "--concurrency", "1", "--retries", "0"])
        .args(["--break-after", "3", "--break-cooldown", "0.5", "--rate", "10", "--base", &server.base()])
        .arg(&log.path)
        .output()
        .unwrap();
    let lines = json_lines(&out.stdout);
    let s = &lines.last().unwrap()["summary"];
    let skipped = s["skipped"].as_u64().unwrap();
    assert!((2..=7).contains(&skipped), "about half a second of requests at 10/s skipped, got {skipped}");
    assert_eq!(server.seen().len() as u64, 14 - skipped);
    assert_eq!((s["circuit"].as_str(), s["circuit_opened"].as_u64()), (Some("closed"), Some(1)));
    // the skipped ones are those whose turn came while it was open: right after the three failures
    let verdicts: Vec<&str> = lines[..14].iter().map(|l| l["verdict"].as_str().unwrap()).collect();
    assert!(verdicts[3..3 + skipped as usize].iter().all(|v| *v == "skipped"), "{verdicts:?}");
    // no two requests start closer than 1/rate; arrivals are compared from the second on, as the first one also
    // waits for the client's first connection
    let seen = server.seen();
    for w in seen[1..].windows(2) {
        // starts are 100 ms apart; arrivals may bunch a little on a busy machine, not by half a period
        assert!(w[1].at - w[0].at >= Duration::from_millis(50), "{:?}", w[1].at - w[0].at);
    }
    let span = seen.last().unwrap().at - seen[1].at;
    assert!(span >= Duration::from_millis(100 * (seen.len() as u64 - 2) - 60), "{span:?} for {} requests", seen.len());
    assert_eq!(out.status.code(), Some(1), "the circuit opened once, so not every request got a response");
}

#[test]
fn refusals_send_nothing() {
    let server = Server::always(Reply::status(200));
    let log = log_of(&[nginx_line(0, "POST", "/v1/orders", 502, RID)]);
    let out = gatewatch().args(["replay", "--line", "1", "--base", &server.base()]).arg(&log.path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("POST is not idempotent") && err.contains("--allow-unsafe"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[replay]\nallow_hosts = ['staging.internal', '*.example.com']\n").unwrap();
    let get = failing_log(1);
    let out = gatewatch()
        .args(["replay", "--line", "1", "--base", &server.base(), "--config"])
        .arg(&config)
        .arg(&get.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("host 127.0.0.1 is not in [replay] allow_hosts") && err.contains("staging.internal"), "{err}");

    // --dry-run shows and sends nothing
    let out = gatewatch()
        .args(["replay", "--dry-run", "--line", "1", "--base", &server.base()])
        .arg(&get.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing sent"));
    assert!(server.seen().is_empty());

    // with --allow-unsafe the POST goes, once: no retries for a method that is not idempotent
    let failing = Server::always(Reply::status(503));
    let out = gatewatch()
        .args(["replay", "--allow-unsafe", "--line", "1", "--base", &failing.base()])
        .arg(&log.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("logs do not carry bodies"));
    assert_eq!(failing.seen().len(), 1);
}

#[test]
fn secrets_are_sent_but_never_shown() {
    let server = Server::always(Reply::status(200).with("set-cookie", "session=s3cr3t-cookie"));
    let log = failing_log(1);
    let base = ["replay", "--line", "1", "--header", "Authorization: Bearer sekrit.token.value", "--base"];
    for extra in [&["--json"][..], &[][..], &["--curl"][..], &["--dry-run"][..]] {
        let out = gatewatch().args(base).arg(server.base()).args(extra).arg(&log.path).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("sekrit") && !text.contains("s3cr3t"), "{extra:?} shows a secret: {text}");
        assert!(text.contains("Bearer …(redacted)"), "{extra:?}: {text}");
    }
    assert!(server.seen().iter().all(|s| s.header("authorization") == Some("Bearer sekrit.token.value")));
    let out =
        gatewatch().args(base).arg(server.base()).args(["--curl", "--show-secrets"]).arg(&log.path).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Bearer sekrit.token.value"));
}

#[test]
fn the_curl_export_run_by_bash_sends_the_same_request() {
    let server = Server::always(Reply::status(200));
    let target = "/v1/a%2Fb/x[1]?q=%27quoted%27&x=$HOME&y=`id`";
    let log = log_of(&[nginx_line(0, "PUT", target, 502, RID)]);
    let body = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(body.path(), "{\"a\": \"line\\nbreak\", \"q\": \"it's\"}\n\ttab").unwrap();
    let args = ["replay", "--line", "1", "--header", "X-Team: pay ments", "--base-host", "api.example.com", "--base"];
    let out = gatewatch()
        .args(args)
        .arg(server.base())
        .arg("--body")
        .arg(body.path())
        .arg("--curl")
        .arg(&log.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let curl = String::from_utf8(out.stdout).unwrap();
    let run =
        std::process::Command::new("bash").arg("-c").arg(format!("{} -sS -o /dev/null", curl.trim())).output().unwrap();
    assert!(run.status.success(), "{curl}\n{}", String::from_utf8_lossy(&run.stderr));
    // the same request, sent by gatewatch itself
    gatewatch()
        .args(args)
        .arg(server.base())
        .arg("--body")
        .arg(body.path())
        .arg("--allow-unsafe")
        .arg("--keep-id")
        .arg(&log.path)
        .assert()
        .success();
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let (by_curl, by_us) = (&seen[0], &seen[1]);
    assert_eq!((by_curl.method.as_str(), by_curl.target.as_str()), ("PUT", target));
    assert_eq!((by_curl.method.as_str(), by_curl.target.as_str()), (by_us.method.as_str(), by_us.target.as_str()));
    assert_eq!(by_curl.body, by_us.body);
    assert_eq!(by_curl.body, std::fs::read(body.path()).unwrap());
    for h in ["host", "user-agent", "referer", "x-team"] {
        assert_eq!(by_curl.header(h), by_us.header(h), "{h}");
    }
    assert_eq!(by_curl.header("content-type"), None, "curl adds no form content type");
}

#[test]
fn curl_commands_from_the_wild_are_imported() {
    let server = Server::always(Reply::json(201, "{}"));
    let base = server.base();
    // as a browser copies it: ANSI-C quoting, line continuations, --compressed
    let chrome = format!(
        "curl '{base}/v1/orders?src=web' \\\n  -H 'accept: application/json' \\\n  -H $'x-note: it\\'s \\u00e9' \\\n  \
         --data-raw $'{{\"item\":\"a\\nb\"}}' \\\n  --compressed"
    );
    let out = gatewatch().args(["replay", "--allow-unsafe", "--json", "--from-curl", &chrome]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let seen = &server.seen()[0];
    assert_eq!((seen.method.as_str(), seen.target.as_str()), ("POST", "/v1/orders?src=web"));
    assert_eq!(seen.header("x-note"), Some("it's é"));
    assert_eq!(seen.body, b"{\"item\":\"a\nb\"}");
    assert!(seen.header("x-request-id").is_some(), "a fresh id is added");
    let r = &json_lines(&out.stdout)[0];
    assert_eq!(r["logged"], Value::Null);
    assert_eq!(r["verdict"], "changed");

    // -u, -G with -d, and --base aiming the copied request elsewhere
    let cmd = "curl -sS -G -u ops:pw -d 'a=1' -d 'b=2' https://prod.example.com/v1/search";
    let out = gatewatch().args(["replay", "--from-curl", cmd, "--base", &base]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let seen = &server.seen()[1];
    assert_eq!((seen.method.as_str(), seen.target.as_str()), ("GET", "/v1/search?a=1&b=2"));
    assert_eq!(seen.header("authorization"), Some("Basic b3BzOnB3"));
    let out = gatewatch().args(["replay", "--from-curl", "curl --frobnicate http://x/"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--frobnicate"));
}

#[test]
fn redirects_are_followed_only_when_asked_and_only_to_the_same_host() {
    let other = Server::always(Reply::status(200));
    let to_other = format!("{}/elsewhere", other.base());
    let server = Server::start(move |_, seen| match seen.target.as_str() {
        "/v1/orders/0" => Reply::status(302).with("location", "/moved"),
        "/moved" => Reply::status(307).with("location", &to_other),
        _ => Reply::status(200),
    });
    let log = failing_log(1);
    let run = |extra: &[&str]| {
        let out = gatewatch()
            .args(["replay", "--json", "--line", "1", "--base", &server.base()])
            .args(extra)
            .arg(&log.path)
            .output()
            .unwrap();
        json_lines(&out.stdout)[0]["replayed"]["status"].as_u64()
    };
    assert_eq!(run(&[]), Some(302));
    assert_eq!(server.seen().len(), 1);
    assert_eq!(run(&["--follow-redirects"]), Some(307), "the hop to another host is not taken");
    assert_eq!(server.seen().len(), 3);
    assert!(other.seen().is_empty());
}

#[test]
fn text_output_sets_logged_beside_replayed_and_escapes_what_the_server_sends() {
    let server = Server::always(Reply::json(200, "{\"msg\":\"\u{1b}[31mred\u{1b}]0;pwned\u{7}\"}"));
    let log = failing_log(1);
    let out = gatewatch().args(["replay", "--line", "1", "--base", &server.base()]).arg(&log.path).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text:?}");
    assert!(text.contains("\\x1b[31mred"), "{text}");
    let status = text.lines().find(|l| l.trim_start().starts_with("status")).unwrap();
    assert!(status.contains("502 Bad Gateway") && status.contains("200 OK"), "{status}");
    assert!(text.contains("verdict   changed"), "{text}");
    assert!(text.contains("replayed 1: 0 same, 1 changed, 0 failed, 0 skipped; circuit closed"), "{text}");
    assert!(text.contains("logged → replayed: 502 → 200 ×1"), "{text}");
}

#[test]
fn no_response_is_a_failure_that_exits_1() {
    // a port nothing listens on
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = failing_log(1);
    let out = gatewatch()
        .args(["replay", "--json", "--line", "1", "--retries", "1", "--max-backoff", "0.1", "--base"])
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(&log.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = &json_lines(&out.stdout)[0];
    assert_eq!(r["verdict"], "failed");
    assert_eq!(r["replayed"]["attempts"].as_array().unwrap().len(), 2, "connection errors are retried");
    assert!(r["replayed"]["error"].as_str().unwrap().contains("connection"), "{}", r["replayed"]["error"]);
}

#[test]
fn the_rate_holds_with_several_in_flight() {
    let server = Server::always(Reply::status(200).after(Duration::from_millis(150)));
    let log = failing_log(9);
    let out = gatewatch()
        .args([
            "replay",
            "--json",
            "--filter",
            "status=502",
            "--concurrency",
            "3",
            "--rate",
            "20",
            "--base",
            &server.base(),
        ])
        .arg(&log.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let seen = server.seen();
    assert_eq!(seen.len(), 9);
    // 9 starts at 20/s span at least 400 ms, whatever the concurrency lets overlap
    let span = seen[8].at - seen[0].at;
    assert!(span >= Duration::from_millis(350), "{span:?}");
    // and several in flight at once: one after another, each would wait for the 150 ms answer before it
    let min_gap = seen.windows(2).map(|w| w[1].at - w[0].at).min().unwrap();
    assert!(min_gap < Duration::from_millis(120), "requests overlapped: {min_gap:?}");
    let rejected = gatewatch()
        .args(["replay", "--filter", "status=502", "--rate", "1e-20", "--base", &server.base()])
        .arg(&log.path)
        .output()
        .unwrap();
    assert_eq!(rejected.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&rejected.stderr).contains("--rate"));
}

#[test]
fn retry_after_as_an_http_date_is_honoured() {
    let server = Server::start(|n, _| match n {
        0 => {
            let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
            let date =
                jiff::fmt::rfc2822::to_string(&at.to_zoned(jiff::tz::TimeZone::UTC)).unwrap().replace("+0000", "GMT");
            Reply::status(429).with("retry-after", &date)
        }
        _ => Reply::status(200),
    });
    let log = failing_log(1);
    let out = replay_json_line1(&server, &log, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    // the date has whole seconds: two seconds ahead, truncated, is at least one second away
    assert!(seen[1].at - seen[0].at >= Duration::from_secs(1), "{:?}", seen[1].at - seen[0].at);
}

#[test]
fn every_secret_header_is_hidden_and_url_credentials_too() {
    let server = Server::always(Reply::status(200));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[replay]\nredact = ['X-Session']\nheaders = ['X-Session: sess-s3cret']\n").unwrap();
    let log = failing_log(1);
    let secrets = ["X-Api-Key: key-s3cret", "Cookie: sid=cookie-s3cret", "Proxy-Authorization: Basic proxy-s3cret"];
    for extra in [&["--json"][..], &[][..], &["--curl"][..], &["--dry-run", "--json"][..]] {
        let mut cmd = gatewatch();
        cmd.args(["replay", "--line", "1", "--base", &server.base(), "--config"]).arg(&config).args(extra);
        for h in secrets {
            cmd.args(["--header", h]);
        }
        let out = cmd.arg(&log.path).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("s3cret"), "{extra:?} shows a secret: {text}");
        assert!(text.contains("Basic …(redacted)"), "{extra:?}: {text}");
    }
    let last = server.seen().pop().unwrap();
    assert_eq!((last.header("x-api-key"), last.header("x-session")), (Some("key-s3cret"), Some("sess-s3cret")));

    // user:password in a URL goes out as Basic auth and is shown nowhere
    let url = format!("http://alice:hunter2@{}/v1/me", server.addr);
    for extra in [&["--json"][..], &["--curl"][..]] {
        let out = gatewatch().args(["replay", "--from-curl", &format!("curl {url}")]).args(extra).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("hunter2") && !text.contains("alice:"), "{extra:?}: {text}");
    }
    assert_eq!(server.seen().last().unwrap().header("authorization"), Some("Basic YWxpY2U6aHVudGVyMg=="));
    // a header written wrong is named, its value not repeated
    let out = gatewatch()
        .args(["replay", "--line", "1", "--header", "Authorization Bearer s3cret", "--base", &server.base()])
        .arg(&log.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("s3cret"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_batch_with_an_unsafe_method_is_refused_but_can_be_shown() {
    let server = Server::always(Reply::status(200));
    let log = log_of(&[
        nginx_line(0, "GET", "/v1/a", 502, &"1".repeat(32)),
        nginx_line(1, "POST", "/v1/orders", 502, &"2".repeat(32)),
        nginx_line(2, "GET", "/v1/b", 502, &"3".repeat(32)),
    ]);
    let run = |extra: &[&str]| {
        gatewatch()
            .args(["replay", "--filter", "status=502", "--base", &server.base()])
            .args(extra)
            .arg(&log.path)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 of the 3 selected requests are not idempotent") && err.contains("access.log:2"), "{err}");
    assert!(server.seen().is_empty());
    // showing sends nothing, so it needs no --allow-unsafe
    assert_eq!(run(&["--dry-run"]).status.code(), Some(0));
    let curl = run(&["--curl"]);
    assert_eq!(curl.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&curl.stdout).lines().count(), 3);
    assert!(server.seen().is_empty());
    // a method no HTTP client can send is refused, not sent as GET
    let cmd = format!("curl -X 'FOO BAR' {}/x", server.base());
    let out = gatewatch().args(["replay", "--allow-unsafe", "--json", "--from-curl", &cmd]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an HTTP method"));
    assert!(server.seen().is_empty());
}
