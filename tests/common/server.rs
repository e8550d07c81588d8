//! A real HTTP/1.1 server on loopback for replay tests: it records every request as it arrived (method, the
//! request target byte for byte, headers, body, arrival time) and answers from a script.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub method: String,
    /// The request target exactly as sent: path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the server answers.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: String::new(), delay: Duration::ZERO }
    }
    pub fn json(status: u16, body: &str) -> Reply {
        Reply { headers: vec![("content-type", "application/json".into())], body: body.into(), ..Reply::status(status) }
    }
    pub fn with(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_string()));
        self
    }
    pub fn after(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
}

type Script = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

/// A server running on its own thread until the test ends.
pub struct Server {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Answer request number `n` (from 0) with `script(n, request)`.
    pub fn start(script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let log = seen.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else { return };
                    let (log, script) = (log.clone(), script.clone());
                    tokio::spawn(async move {
                        let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let (log, script) = (log.clone(), script.clone());
                            async move {
                                let at = Instant::now();
                                let method = req.method().to_string();
                                let target = req.uri().path_and_query().map_or("/".into(), |p| p.as_str().to_string());
                                let headers = req
                                    .headers()
                                    .iter()
                                    .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                                    .collect();
                                let body =
                                    req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
                                let seen = Seen { at, method, target, headers, body };
                                let n = {
                                    let mut l = log.lock().unwrap();
                                    l.push(seen.clone());
                                    l.len() - 1
                                };
                                let reply = script(n, &seen);
                                tokio::time::sleep(reply.delay).await;
                                let mut resp = hyper::Response::builder().status(reply.status);
                                for (k, v) in &reply.headers {
                                    // bytes, so a test can send what a hostile server would (obs-text)
                                    resp =
                                        resp.header(*k, hyper::header::HeaderValue::from_bytes(v.as_bytes()).unwrap());
                                }
                                Ok::<_, Infallible>(resp.body(Full::new(Bytes::from(reply.body))).unwrap())
                            }
                        });
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                    });
                }
            });
        });
        Server { addr, seen }
    }

    /// Always the same answer.
    pub fn always(reply: Reply) -> Server {
        Server::start(move |_, _| reply.clone())
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}
