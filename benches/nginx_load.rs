//! A fixed load on a gateway on loopback, for `benches/priority.sh`: `RATE` requests a second for `SECONDS`
//! seconds over keep-alive connections (4 threads, each its share of the rate, open loop: a request's latency
//! counts from when it was due, so a stalled gateway is not hidden by requests sent late), then the latency
//! percentiles on one line:
//!
//! `nginx_load PORT RATE SECONDS` → `load: sent 10000 ok 10000 p50_us 180 p99_us 950 max_us 4100`
//!
//! Only to 127.0.0.1: a bounded loop against a local server, never anything else.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const THREADS: u32 = 4;

/// One request on a kept-alive connection: whether a 200 came back whole.
fn request(conn: &mut BufReader<TcpStream>) -> bool {
    let sent = conn.get_mut().write_all(b"GET /load HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    if sent.is_err() {
        return false;
    }
    let (mut status, mut len, mut line) = (String::new(), 0usize, String::new());
    if conn.read_line(&mut status).is_err() {
        return false;
    }
    loop {
        line.clear();
        if conn.read_line(&mut line).is_err() || line.is_empty() {
            return false;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    conn.read_exact(&mut body).is_ok() && status.starts_with("HTTP/1.1 200")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let [port, rate, seconds] = [0, 1, 2].map(|i| args.get(i).and_then(|a| a.parse::<u64>().ok()));
    let (Some(port), Some(rate), Some(seconds)) = (port, rate, seconds) else {
        eprintln!("usage: nginx_load PORT RATE SECONDS");
        std::process::exit(2);
    };
    let start = Instant::now() + Duration::from_millis(50);
    let each = rate as f64 / THREADS as f64;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                let connect = || TcpStream::connect(("127.0.0.1", port as u16)).map(BufReader::new);
                let mut conn = connect().expect("the gateway on loopback");
                let n = (each * seconds as f64) as u64;
                let mut latencies = Vec::with_capacity(n as usize);
                let mut ok = 0;
                for i in 0..n {
                    // the threads' requests interleave: thread t sends at t/rate, then every THREADS/rate
                    let due = start + Duration::from_secs_f64((i as f64 + t as f64 / THREADS as f64) / each);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    if request(&mut conn) {
                        ok += 1;
                    } else if let Ok(c) = connect() {
                        conn = c;
                    }
                    latencies.push(due.elapsed().as_micros() as u64);
                }
                (latencies, ok)
            })
        })
        .collect();
    let (mut all, mut ok) = (Vec::new(), 0);
    for w in workers {
        let (l, k) = w.join().expect("a load thread");
        all.extend(l);
        ok += k;
    }
    all.sort_unstable();
    let at = |q: f64| all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).copied();
    println!(
        "load: sent {} ok {ok} p50_us {} p99_us {} max_us {}",
        all.len(),
        at(0.5).unwrap_or(0),
        at(0.99).unwrap_or(0),
        all.last().copied().unwrap_or(0)
    );
}
