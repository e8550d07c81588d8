//! A real nginx (Debian's package, which `.ci/run` installs) in front of a small service on loopback: traffic
//! that makes it answer 200, 401, 404, 413, 429, 500, 502 and 504, then `report`, `trace`, `replay` and the
//! console read what nginx really wrote. Each nginx runs as the test's own, with its own prefix and ports.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::server::{Reply, Server};
use serde_json::Value;

fn nginx() -> PathBuf {
    for p in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    panic!("nginx is not installed: this end-to-end test needs it (`.ci/run` installs it with apt-get)");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// nginx running until dropped.
struct Nginx {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // a graceful stop: killed outright, the master would leave its worker running
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    fn start(dir: &Path, upstream: u16) -> Nginx {
        Self::start_in(dir, upstream, None)
    }

    /// nginx with `TZ` set for it (a POSIX zone such as `GWT-2`, which needs no tzdata): its logs' local time.
    fn start_in(dir: &Path, upstream: u16, tz: Option<&str>) -> Nginx {
        let port = free_port();
        let dead = free_port(); // nothing listens there: connections are refused
        let d = dir.display();
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let conf = format!(
            r#"
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    # the client's X-Request-ID when it sends one, else nginx's own: replays stay followable
    map $http_x_request_id $rid {{ default $http_x_request_id; "" $request_id; }}
    log_format gw '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                  '"$http_referer" "$http_user_agent" rid=$rid rt=$request_time '
                  'urt="$upstream_response_time" us="$upstream_status" ua="$upstream_addr"';
    limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;
    limit_req_status 429;
    upstream app {{ server 127.0.0.1:{upstream}; }}
    upstream dead {{ server 127.0.0.1:{dead}; }}
    server {{
        listen 127.0.0.1:{port};
        root {d}/www;
        access_log {d}/access.log gw;
        client_max_body_size 1k;
        proxy_set_header X-Request-ID $rid;
        proxy_read_timeout 1s;
        location /api/ {{ proxy_pass http://app; }}
        location /down/ {{ proxy_pass http://dead; }}
        location /limited/ {{ limit_req zone=one burst=1 nodelay; proxy_pass http://app; }}
    }}
}}
"#
        );
        std::fs::create_dir_all(dir.join("www")).unwrap();
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut cmd = Command::new(nginx());
        if let Some(tz) = tz {
            cmd.env("TZ", tz);
        }
        let child =
            cmd.arg("-p").arg(dir).arg("-c").arg(&conf_path).args(["-g", "daemon off;"]).spawn().expect("start nginx");
        let n = Nginx { child, port, dir: dir.to_path_buf() };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "nginx did not listen: {}", n.error_log());
            std::thread::sleep(Duration::from_millis(20));
        }
        n
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// `curl` a URL (a body when given); the status it got.
fn fire(url: &str, body: Option<&str>) -> u16 {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-A", "e2e/1"]);
    if let Some(b) = body {
        cmd.args(["--data-binary", b]);
    }
    let out = cmd.arg(url).output().expect("run curl");
    String::from_utf8_lossy(&out.stdout).parse().unwrap_or(0)
}

fn gatewatch(args: &[&str]) -> (Value, i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatewatch")).args(args).output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (v, out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_real_nginx_in_front_of_a_service() {
    let dir = tempfile::tempdir().unwrap();
    let app_log = dir.path().join("app.log");
    // the service logs each request as JSON, with the id nginx passed on; /api/slow is slow only the first time
    let log = Arc::new(Mutex::new(std::fs::File::create(&app_log).unwrap()));
    let slow_calls = Arc::new(AtomicUsize::new(0));
    let upstream = {
        let (log, slow_calls) = (log.clone(), slow_calls.clone());
        Server::start(move |_, seen| {
            let status = match seen.target.as_str() {
                "/api/auth" => 401,
                "/api/boom" => 500,
                _ => 200,
            };
            let slow = seen.target == "/api/slow" && slow_calls.fetch_add(1, Ordering::SeqCst) == 0;
            let line = serde_json::json!({
                "time": jiff::Timestamp::now().to_string(),
                "level": if status >= 500 { "error" } else { "info" },
                "msg": if status == 500 { "NullPointerException in OrderService" } else { "handled" },
                "method": seen.method, "path": seen.target, "status": status,
                "request_id": seen.header("x-request-id").unwrap_or("-"),
                "duration_ms": if slow { 3000 } else { 2 },
            });
            use std::io::Write;
            let _ = writeln!(log.lock().unwrap(), "{line}");
            let reply = Reply::json(status, r#"{"ok":true}"#);
            if slow { reply.after(Duration::from_secs(3)) } else { reply }
        })
    };
    let nginx = Nginx::start(dir.path(), upstream.addr.port());
    let base = nginx.base();
    let fired = [
        (fire(&format!("{base}/api/ok"), None), 200),
        (fire(&format!("{base}/api/auth"), None), 401),
        (fire(&format!("{base}/nothing-here"), None), 404),
        (fire(&format!("{base}/api/upload"), Some(&"x".repeat(4096))), 413),
        (fire(&format!("{base}/limited/a"), None), 200),
        (fire(&format!("{base}/limited/b"), None), 200),
        (fire(&format!("{base}/limited/c"), None), 429),
        (fire(&format!("{base}/api/boom"), None), 500),
        (fire(&format!("{base}/down/x"), None), 502),
        (fire(&format!("{base}/api/slow"), None), 504),
    ];
    for (got, want) in fired {
        assert_eq!(got, want, "nginx answered {got} where {want} was meant:\n{}", nginx.error_log());
    }
    let access = nginx.dir.join("access.log");
    let (gw, app) = (access.to_str().unwrap(), app_log.to_str().unwrap());
    // nginx writes its line when the request ends: wait for all ten
    let start = Instant::now();
    while std::fs::read_to_string(&access).unwrap_or_default().lines().count() < 10 {
        assert!(start.elapsed() < Duration::from_secs(10), "nginx logged too few lines");
        std::thread::sleep(Duration::from_millis(20));
    }

    // report: every status counted as fired, and each error family diagnosed
    let (r, code, _) = gatewatch(&["report", "--json", gw, app]);
    assert_eq!(code, 0);
    assert_eq!(r["sources"][0]["format"], "nginx", "{}", r["sources"][0]);
    assert_eq!(r["sources"][0]["parsed"], 10, "every nginx line parsed");
    for (status, n) in [("200", 3), ("401", 1), ("404", 1), ("413", 1), ("429", 1), ("500", 1), ("502", 1), ("504", 1)]
    {
        assert_eq!(r["status"][status], n, "status {status}: {}", r["status"]);
    }
    let origin = |s: u64| {
        r["diagnosis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["status"] == s)
            .map(|d| d["origin"].as_str().unwrap().to_string())
    };
    for (s, who) in
        [(401, "upstream"), (404, "gateway"), (413, "gateway"), (429, "gateway"), (500, "upstream"), (504, "gateway")]
    {
        assert_eq!(origin(s).as_deref(), Some(who), "{s}: {}", r["diagnosis"]);
    }
    // a refused connection: nginx logs the upstream's 502 as if the service had sent it. Which side answered is
    // read from how long the attempt took (under 1 ms: refused at once), and a busy host can take longer, so the
    // origin may read either way; the cause is the refused connection whichever it reads
    let d502 = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == 502).unwrap().clone();
    assert!(d502["cause"].as_str().unwrap().contains("refused or reset the connection"), "{d502}");

    // trace: the 504's id reaches the service's own line
    let line504 =
        std::fs::read_to_string(&access).unwrap().lines().find(|l| l.contains("\" 504 ")).unwrap().to_string();
    let rid = line504.split("rid=").nth(1).unwrap().split(' ').next().unwrap().to_string();
    let (t, code, _) = gatewatch(&["trace", "--json", &rid, gw, app]);
    assert_eq!(code, 0);
    let roles: Vec<&str> = t["hops"].as_array().unwrap().iter().map(|h| h["role"].as_str().unwrap()).collect();
    assert!(roles.contains(&"gateway") && roles.contains(&"upstream"), "{}", t);
    assert_eq!(
        t["hops"].as_array().unwrap().iter().find(|h| h["role"] == "upstream").unwrap()["record"]["path"],
        "/api/slow"
    );

    // replay the 504 through nginx: the service answers now
    let (_, code, out) = gatewatch(&["replay", "--json", "--id", &rid, "--base", &base, gw]);
    assert_eq!(code, 0, "{out}");
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!((first["logged"]["status"].as_u64(), first["replayed"]["status"].as_u64()), (Some(504), Some(200)));
    assert_eq!(first["verdict"], "changed");
    // nginx and the service logged the replay under the fresh id gatewatch sent: trace follows it through both
    let sent = first["sent_request_id"].as_str().unwrap().to_string();
    assert_ne!(sent, rid);
    let start = Instant::now();
    while !std::fs::read_to_string(&access).unwrap().contains(&format!("rid={sent}")) {
        assert!(start.elapsed() < Duration::from_secs(5), "nginx did not log the replay's id");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (t, code, _) = gatewatch(&["trace", "--json", &sent, gw, app]);
    assert_eq!(code, 0);
    let hops: Vec<(&str, u64)> = t["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["role"].as_str().unwrap(), h["record"]["status"].as_u64().unwrap_or(0)))
        .collect();
    assert!(hops.contains(&("gateway", 200)) && hops.contains(&("upstream", 200)), "{hops:?}");
}

/// The access log's line for the first request answered `status`, and its request id.
fn logged(access: &Path, status: u16) -> (String, String) {
    let text = std::fs::read_to_string(access).unwrap();
    let line = text.lines().find(|l| l.contains(&format!("\" {status} "))).unwrap_or_else(|| panic!("{text}"));
    let rid = line.split("rid=").nth(1).unwrap().split(' ').next().unwrap().to_string();
    (line.to_string(), rid)
}

#[test]
fn the_error_logs_cause_joins_the_request_it_is_about() {
    let dir = tempfile::tempdir().unwrap();
    // an upstream that accepts connections (the kernel's backlog does) and never answers
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // nginx runs two hours east of UTC: its error log says local time with no zone, its access log says +0200
    let nginx = Nginx::start_in(dir.path(), silent.local_addr().unwrap().port(), Some("GWT-2"));
    let base = nginx.base();
    assert_eq!(fire(&format!("{base}/down/x"), None), 502, "{}", nginx.error_log());
    assert_eq!(fire(&format!("{base}/api/hang"), None), 504, "{}", nginx.error_log());
    let access = nginx.dir.join("access.log");
    let start = Instant::now();
    while std::fs::read_to_string(&access).unwrap_or_default().lines().count() < 2 {
        assert!(start.elapsed() < Duration::from_secs(10), "nginx logged too few lines");
        std::thread::sleep(Duration::from_millis(20));
    }
    let error_log = nginx.dir.join("error.log");
    let (gw, errors) = (access.to_str().unwrap(), error_log.to_str().unwrap());
    let (line502, rid502) = logged(&access, 502);
    assert!(line502.contains(" +0200]"), "nginx did not run in the zone given: {line502}");

    for (rid, cause, path) in [
        (&rid502, "connect() failed (111: Connection refused) while connecting to upstream", "/down/x"),
        (&logged(&access, 504).1, "upstream timed out (110: Connection timed out)", "/api/hang"),
    ] {
        let (t, code, out) = gatewatch(&["trace", "--json", rid, gw, errors]);
        assert_eq!(code, 0, "{out}");
        let hops = t["hops"].as_array().unwrap();
        let joined: Vec<&Value> = hops.iter().filter(|h| h["joined_by"] == "client+request+time").collect();
        assert_eq!(joined.len(), 1, "one error-log line joined: {t:#}");
        let j = joined[0];
        assert!(j["record"]["message"].as_str().unwrap().starts_with(cause), "{j:#}");
        assert_eq!(j["record"]["path"], path);
        assert_eq!(j["ambiguous"], false);
        assert!(j["raw"].as_str().unwrap().contains("[error]"), "{j:#}");
        // placed in the access log's zone: two hours from what the line says, and no later than the access record
        assert_eq!(j["record"]["time_offset_s"], 7200, "{j:#}");
        let access_hop = hops.iter().find(|h| h.get("joined_by").is_none()).unwrap();
        let at = |h: &Value| h["record"]["time"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
        let gap = at(access_hop).as_second() - at(j).as_second();
        assert!((0..=2).contains(&gap), "error {} vs access {}", at(j), at(access_hop));
        assert!(t["notes"][0].as_str().unwrap().contains("+02:00"), "{t:#}");
        // the text says the same
        let out = Command::new(env!("CARGO_BIN_EXE_gatewatch")).args(["trace", rid, gw, errors]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(cause) && text.contains("[error log, joined by client+request+time]"), "{text}");
    }

    // the report's diagnosis quotes the error log's cause for each
    let (r, code, out) = gatewatch(&["report", "--json", gw, errors]);
    assert_eq!(code, 0, "{out}");
    for (status, cause) in [
        (502, "error log: connect() failed (111: Connection refused) while connecting to upstream"),
        (504, "error log: upstream timed out (110: Connection timed out)"),
    ] {
        let d = r["diagnosis"].as_array().unwrap().iter().find(|d| d["status"] == status).unwrap();
        let evidence: Vec<&str> = d["evidence"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
        assert!(evidence.iter().any(|e| e.starts_with(cause)), "{status}: {evidence:#?}");
    }
    drop(silent);
}
