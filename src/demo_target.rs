//! The demo's replay target: the simulated service answering on loopback, so `e` in the demo sends a real request.
//! Each request it serves is written to the demo's gateway and service logs, as if it had come through the
//! gateway, so the replay's own lines arrive in the panes with the id it was sent with.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;

use crate::record::LogTime;
use crate::synth::SynthRequest;

/// Where the served requests are logged.
#[derive(Clone)]
struct Logs {
    gateway: PathBuf,
    upstream: PathBuf,
    addr: SocketAddr,
}

/// Start the target on a free loopback port (on its own thread, for the life of the process); returns its address.
pub fn start(gateway: PathBuf, upstream: PathBuf) -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot open the demo's replay target")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let logs = Logs { gateway, upstream, addr };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
            while let Ok((stream, _)) = listener.accept().await {
                let logs = logs.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| serve(req, logs.clone()));
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
    });
    Ok(addr)
}

fn method_name(m: &hyper::Method) -> &'static str {
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].into_iter().find(|n| *n == m.as_str()).unwrap_or("GET")
}

async fn serve(
    req: hyper::Request<hyper::body::Incoming>,
    logs: Logs,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let started = std::time::Instant::now();
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let path = req.uri().path_and_query().map_or("/".to_string(), |p| p.as_str().to_string());
    let method = method_name(req.method());
    let request_id = header("x-request-id").unwrap_or_else(|| crate::replay::request::fresh_id_like(""));
    let trace_id = header("traceparent").and_then(|t| crate::ids::traceparent_trace_id(&t).map(str::to_string));
    // the service's usual pace on this route
    let (route, median_ms) = match path.split('/').nth(2).unwrap_or("") {
        "search" => ("search", 80),
        "payments" => ("payments", 120),
        "healthz" | "" => ("health", 1),
        _ => ("orders", 25),
    };
    tokio::time::sleep(Duration::from_millis(median_ms / 2 + fastrand::u64(..=median_ms))).await;
    let status = if method == "POST" { 201 } else { 200 };
    let body =
        serde_json::json!({ "status": "ok", "path": path, "request_id": request_id, "served_by": "gatewatch demo" })
            .to_string();
    let took = started.elapsed().as_micros() as u64;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64);
    let r = SynthRequest {
        time: LogTime { unix_us: now, offset_s: 0 },
        client: "127.0.0.1".into(),
        method,
        path,
        protocol: "HTTP/1.1",
        host: header("host").unwrap_or_else(|| "api.example.com".into()),
        status,
        upstream_status: vec![status],
        upstream_addr: vec![logs.addr.to_string()],
        upstream_us: vec![took],
        upstream_phases: None,
        duration_us: took + 300,
        bytes_sent: body.len() as u64,
        bytes_received: 0,
        user_agent: header("user-agent").unwrap_or_else(|| "-".into()),
        referer: header("referer"),
        request_id,
        trace_id,
        flags: None,
        consumer: Some("replay".into()),
        route: route.into(),
        retry_after_s: None,
        message: "request completed (replayed)".into(),
    };
    let _ = append(&logs, &r);
    let resp = hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-request-id", r.request_id.as_str())
        .body(Full::new(Bytes::from(body)));
    Ok(resp.unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new()))))
}

fn append(logs: &Logs, r: &SynthRequest) -> std::io::Result<()> {
    let write = |path: &PathBuf, writer: crate::synth::LineWriter| -> std::io::Result<()> {
        let mut line = Vec::new();
        writer(r, &mut line);
        line.push(b'\n');
        std::fs::OpenOptions::new().append(true).open(path)?.write_all(&line)
    };
    write(&logs.gateway, crate::format::writers::gateway("nginx").expect("nginx writer"))?;
    write(&logs.upstream, crate::format::writers::upstream("json").expect("json writer"))
}
