//! A generator of realistic gateway + upstream logs sharing request ids, with a configurable status mix
//! and an optional incident. Deterministic for a given seed.

use std::io::{self, Write};

use crate::record::LogTime;
use crate::synth::{AttemptPhases, LineWriter, SynthRequest};

/// A small, fast, seedable PRNG (SplitMix64): reproducible logs without a dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// A log-normal-ish duration around `median_us` (heavy right tail, like real latencies).
    pub fn latency(&mut self, median_us: u64) -> u64 {
        // sum of uniforms ≈ normal; exp of it ≈ log-normal with sigma ≈ 0.6
        let n: f64 = (0..4).map(|_| self.unit()).sum::<f64>() - 2.0;
        ((median_us as f64) * (n * 1.0).exp()).max(50.0) as u64
    }
    /// 32 lowercase hex digits (an nginx `$request_id`).
    pub fn hex32(&mut self) -> String {
        format!("{:016x}{:016x}", self.next_u64(), self.next_u64())
    }
    /// Pick one item.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Weighted statuses.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusMix(pub Vec<(u16, f64)>);

impl Default for StatusMix {
    /// A healthy gateway: mostly 2xx, a little 3xx/4xx, rare 5xx.
    fn default() -> Self {
        StatusMix(vec![
            (200, 86.0),
            (201, 4.0),
            (204, 2.0),
            (304, 2.0),
            (400, 1.0),
            (401, 1.0),
            (403, 0.5),
            (404, 2.0),
            (429, 0.5),
            (499, 0.3),
            (500, 0.3),
            (502, 0.2),
            (503, 0.1),
            (504, 0.1),
        ])
    }
}

impl StatusMix {
    /// Parse `200=90,404=3,502=2` (weights, not necessarily summing to 100).
    pub fn parse(s: &str) -> anyhow::Result<StatusMix> {
        let mut v = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (code, w) =
                part.split_once('=').ok_or_else(|| anyhow::anyhow!("mix entry {part:?}: want CODE=WEIGHT"))?;
            let code: u16 = code.trim().parse().map_err(|_| anyhow::anyhow!("mix entry {part:?}: bad status"))?;
            let w: f64 = w.trim().parse().map_err(|_| anyhow::anyhow!("mix entry {part:?}: bad weight"))?;
            anyhow::ensure!((100..=599).contains(&code) && w >= 0.0, "mix entry {part:?} out of range");
            v.push((code, w));
        }
        anyhow::ensure!(v.iter().any(|(_, w)| *w > 0.0), "the status mix is empty");
        Ok(StatusMix(v))
    }

    fn pick(&self, rng: &mut Rng) -> u16 {
        let total: f64 = self.0.iter().map(|(_, w)| w).sum();
        let mut x = rng.unit() * total;
        for &(code, w) in &self.0 {
            if x < w {
                return code;
            }
            x -= w;
        }
        self.0.last().map_or(200, |(c, _)| *c)
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Number of gateway requests.
    pub requests: u64,
    /// Requests per second of log time.
    pub rate: f64,
    /// Log time of the first request.
    pub start: LogTime,
    /// Status mix outside the incident.
    pub mix: StatusMix,
    /// Simulate an incident over the middle third: upstream 10.0.0.7 refuses connections (502), the
    /// orders service times out (504), an auth key rotation expires tokens (401), a client gets rate limited (429).
    pub incident: bool,
    /// An incident shape in time instead (see [`Scenario`]); it sets the number of requests.
    pub scenario: Option<Scenario>,
    /// Seed.
    pub seed: u64,
}

/// Incident shapes the diagnosis must read right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Two minutes healthy at `--rate`, two minutes of 502s (the upstream refuses connections) at `--rate`, then
    /// the load balancer in front dies: six minutes of 0.1 requests/s, all 502. A total outage that must not look
    /// like a recovery.
    OutageTrickle,
    /// No errors at all (the mix without 5xx), at `--rate` for `--requests`; from a third of the way in, one of
    /// the four upstreams (10.0.0.8:8080) answers in about 2.6 s instead of tens of milliseconds.
    SlowUpstream,
    /// Like `slow-upstream`, but the slow upstream's time goes to connecting: from a third of the way in,
    /// connecting to 10.0.0.8:8080 takes 1.5–2.5 s, after which it answers in a few milliseconds. Every nginx
    /// line carries the upstream connect and header times (`uct=`, `uht=`).
    SlowConnect,
}

/// The upstream that turns slow in [`Scenario::SlowUpstream`] and [`Scenario::SlowConnect`].
pub const SLOW_UPSTREAM: &str = "10.0.0.8:8080";

impl Scenario {
    /// How many requests it takes at `rate` per second.
    pub fn requests(self, rate: f64) -> Option<u64> {
        match self {
            Scenario::OutageTrickle => Some((240.0 * rate).round() as u64 + 36),
            Scenario::SlowUpstream | Scenario::SlowConnect => None,
        }
    }

    /// Request `i`'s offset from the start (µs) at `rate`, and the status it is forced to, if any.
    fn shape(self, i: u64, rate: f64) -> (i64, Option<u16>) {
        match self {
            Scenario::OutageTrickle => {
                let busy = (240.0 * rate).round() as u64;
                if i < busy / 2 {
                    ((i as f64 / rate * 1e6) as i64, None)
                } else if i < busy {
                    ((i as f64 / rate * 1e6) as i64, Some(502))
                } else {
                    (240_000_000 + (i - busy) as i64 * 10_000_000, Some(502))
                }
            }
            Scenario::SlowUpstream | Scenario::SlowConnect => ((i as f64 / rate * 1e6) as i64, None),
        }
    }
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            requests: 10_000,
            rate: 200.0,
            start: LogTime { unix_us: 1_714_564_800_000_000, offset_s: 0 },
            mix: StatusMix::default(),
            incident: false,
            scenario: None,
            seed: 1,
        }
    }
}

const UPSTREAMS: [&str; 4] = ["10.0.0.5:8080", "10.0.0.6:8080", "10.0.0.7:8080", "10.0.0.8:8080"];
/// The upstream that fails during the incident.
pub const FAILING_UPSTREAM: &str = "10.0.0.7:8080";
const AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "okhttp/4.12.0",
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
];
const CONSUMERS: [&str; 4] = ["mobile-app", "partner-acme", "web-frontend", "batch-reports"];
/// The gateway's upstream timeout, which 504s hit.
pub const UPSTREAM_TIMEOUT_US: u64 = 30_000_000;

fn route_for(rng: &mut Rng) -> (String, &'static str, &'static str) {
    match rng.below(10) {
        0..=2 => (format!("/v1/orders/{}", 1000 + rng.below(90_000)), "GET", "orders"),
        3 => ("/v1/orders".into(), "POST", "orders"),
        4..=5 => (format!("/v1/users/{}/profile", 1 + rng.below(50_000)), "GET", "users"),
        6 => (format!("/v1/search?q=item{}&page={}", rng.below(500), 1 + rng.below(5)), "GET", "search"),
        7 => ("/v1/account".into(), "GET", "users"),
        8 => (format!("/v1/payments/{}", uuid(rng)), "GET", "payments"),
        _ => ("/healthz".into(), "GET", "health"),
    }
}

fn uuid(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

fn client(rng: &mut Rng) -> String {
    if rng.chance(0.05) {
        format!("2001:db8::{:x}", 1 + rng.below(0xfff))
    } else {
        format!("203.0.113.{}", 1 + rng.below(254))
    }
}

/// Produces the requests of a simulation one by one.
pub struct Generator {
    cfg: GenConfig,
    rng: Rng,
    i: u64,
}

impl Generator {
    /// A generator for `cfg`.
    pub fn new(cfg: GenConfig) -> Self {
        let rng = Rng::new(cfg.seed);
        Generator { cfg, rng, i: 0 }
    }

    fn in_incident(&self) -> bool {
        self.cfg.incident && self.i >= self.cfg.requests / 3 && self.i < self.cfg.requests * 2 / 3
    }

    /// The next request, or `None` when done.
    pub fn next_request(&mut self) -> Option<SynthRequest> {
        if self.i >= self.cfg.requests {
            return None;
        }
        let incident = self.in_incident();
        let rng = &mut self.rng;
        let (path, method, route) = route_for(rng);
        let mut status = self.cfg.mix.pick(rng);
        let consumer = rng.pick(&CONSUMERS).to_string();
        if incident {
            // the incident's own failures come on top of the usual mix
            let x = rng.unit();
            if x < 0.10 {
                status = 502;
            } else if x < 0.16 && route == "orders" {
                status = 504;
            } else if x < 0.22 && route != "health" {
                // health checks carry no token
                status = 401;
            } else if x < 0.27 && consumer == "batch-reports" {
                status = 429;
            }
        }
        let (mut base_us, mut forced) = ((self.i as f64 / self.cfg.rate * 1e6) as i64, None);
        if let Some(sc) = self.cfg.scenario {
            (base_us, forced) = sc.shape(self.i, self.cfg.rate);
            status = forced.unwrap_or(if status >= 500 { 200 } else { status });
        }
        let jitter = rng.below(5_000) as i64;
        let time = LogTime { unix_us: self.cfg.start.unix_us + base_us + jitter, offset_s: self.cfg.start.offset_s };
        let median = match route {
            "search" => 80_000,
            "payments" => 120_000,
            "health" => 800,
            _ => 25_000,
        };
        let overhead = 200 + rng.below(1_500);
        let healthy: Vec<&str> = UPSTREAMS.iter().copied().filter(|u| !incident || *u != FAILING_UPSTREAM).collect();
        let mut upstream_status = Vec::new();
        let mut upstream_addr = Vec::new();
        let mut upstream_us = Vec::new();
        let mut flags = None;
        let mut retry_after_s = None;
        let mut message = "request completed".to_string();
        let mut attempt = |addr: &str, st: u16, us: u64, s: &mut Vec<u16>| {
            upstream_addr.push(addr.to_string());
            s.push(st);
            upstream_us.push(us);
        };
        match status {
            401 => {
                message = "token expired".into();
            }
            429 => {
                flags = Some("RL".to_string());
                retry_after_s = Some(30);
                message = "rate limit exceeded".into();
            }
            413 => message = "request entity too large".into(),
            503 => {
                flags = Some("UH".to_string());
                message = "no healthy upstream".into();
            }
            404 if rng.chance(0.3) => {
                flags = Some("NR".to_string());
                message = "no route matched".into();
            }
            502 => {
                let bad = if incident { FAILING_UPSTREAM } else { *rng.pick(&UPSTREAMS) };
                attempt(bad, 502, 200 + rng.below(800), &mut upstream_status);
                flags = Some("UF".to_string());
                message = "connect() failed (111: Connection refused)".into();
                // the gateway retries half of them on another upstream, which answers (unless every upstream fails)
                if forced.is_none() && rng.chance(0.5) {
                    let good = rng.pick(&healthy).to_string();
                    let us = rng.latency(median);
                    attempt(&good, 200, us, &mut upstream_status);
                    status = 200;
                    flags = Some("URX".to_string());
                    message = "request completed".into();
                }
            }
            504 => {
                let addr = rng.pick(&healthy).to_string();
                attempt(&addr, 504, UPSTREAM_TIMEOUT_US + rng.below(3_000), &mut upstream_status);
                flags = Some("UT".to_string());
                message = "upstream timed out (110: Connection timed out)".into();
            }
            499 => {
                let addr = rng.pick(&healthy).to_string();
                let us = rng.latency(median * 8);
                attempt(&addr, 499, us, &mut upstream_status);
                flags = Some("DC".to_string());
                message = "client closed request".into();
            }
            _ => {
                let addr = rng.pick(&healthy).to_string();
                let us = rng.latency(median);
                attempt(&addr, status, us, &mut upstream_status);
                if status >= 500 {
                    message = match rng.below(3) {
                        0 => "database connection pool exhausted".into(),
                        1 => "NullPointerException in OrderService.load".into(),
                        _ => "dependency payments-api returned 503".into(),
                    };
                }
            }
        }
        if self.cfg.scenario == Some(Scenario::SlowUpstream)
            && self.i >= self.cfg.requests / 3
            && upstream_addr.last().map(String::as_str) == Some(SLOW_UPSTREAM)
            && let Some(us) = upstream_us.last_mut()
        {
            *us = 2_400_000 + rng.below(400_000);
        }
        let upstream_phases = (self.cfg.scenario == Some(Scenario::SlowConnect)).then(|| {
            let slow = self.i >= self.cfg.requests / 3;
            let attempts = upstream_addr.iter().zip(&upstream_status).zip(upstream_us.iter_mut());
            attempts.map(|((addr, &st), us)| connect_phases(rng, slow && addr == SLOW_UPSTREAM, st, us)).collect()
        });
        let upstream_total: u64 = upstream_us.iter().sum();
        let duration_us = upstream_total + overhead;
        let (bytes_sent, bytes_received) = (
            if status == 204 || status == 304 { 0 } else { 120 + rng.below(4_000) },
            if method == "POST" { 200 + rng.below(2_000) } else { 0 },
        );
        let req = SynthRequest {
            time,
            client: client(rng),
            method,
            path,
            protocol: if rng.chance(0.7) { "HTTP/1.1" } else { "HTTP/2.0" },
            host: "api.example.com".into(),
            status,
            upstream_status,
            upstream_addr,
            upstream_us,
            upstream_phases,
            duration_us,
            bytes_sent,
            bytes_received,
            user_agent: rng.pick(&AGENTS).to_string(),
            referer: rng.chance(0.2).then(|| "https://app.example.com/".to_string()),
            request_id: rng.hex32(),
            trace_id: rng.chance(0.3).then(|| rng.hex32()),
            flags,
            consumer: Some(consumer),
            route: route.into(),
            retry_after_s,
            message,
        };
        self.i += 1;
        Some(req)
    }
}

/// When an upstream attempt of [`Scenario::SlowConnect`] connected and got its headers; a slow connect (1.5–2.5 s)
/// also sets the attempt's time `us` to a few milliseconds past it. A client that closed (499) left before the
/// headers.
fn connect_phases(rng: &mut Rng, slow: bool, status: u16, us: &mut u64) -> AttemptPhases {
    let connected = if slow {
        let c = 1_500_000 + rng.below(1_000_000);
        *us = c + 3_000 + rng.below(9_000);
        c
    } else {
        // a fresh connection on the local network; never more than a quarter of the attempt
        (100 + rng.below(900)).min(*us / 4)
    };
    let headers = if status == 499 {
        None
    } else if slow {
        Some(connected + 2_000 + rng.below(*us - connected - 2_500))
    } else {
        // the body follows the headers within a couple of milliseconds
        Some(*us - rng.below(2_000).min(*us - connected))
    };
    AttemptPhases { connected_us: Some(connected), headers_us: headers }
}

/// True when the upstream service saw the request (and so logged it): some attempt reached it, i.e. was not a
/// refused connection (a lone `502` flagged `UF`).
pub fn upstream_logged(r: &SynthRequest) -> bool {
    let refused = r.flags.as_deref() == Some("UF");
    r.upstream_status.iter().any(|&s| !(refused && s == 502))
}

/// Generate `cfg` into the writers, flushing in large blocks. Returns (gateway lines, upstream lines).
pub fn generate(
    cfg: GenConfig,
    gateway: LineWriter,
    gateway_out: &mut dyn Write,
    upstream: Option<(LineWriter, &mut dyn Write)>,
) -> io::Result<(u64, u64)> {
    let mut g = Generator::new(cfg);
    let (mut gbuf, mut ubuf) = (Vec::with_capacity(1 << 20), Vec::with_capacity(1 << 20));
    let (mut gn, mut un) = (0, 0);
    let mut upstream = upstream;
    while let Some(r) = g.next_request() {
        gateway(&r, &mut gbuf);
        gbuf.push(b'\n');
        gn += 1;
        if let Some((w, _)) = &upstream
            && upstream_logged(&r)
        {
            w(&r, &mut ubuf);
            ubuf.push(b'\n');
            un += 1;
        }
        if gbuf.len() >= 1 << 20 {
            gateway_out.write_all(&gbuf)?;
            gbuf.clear();
        }
        if ubuf.len() >= 1 << 20 {
            if let Some((_, out)) = &mut upstream {
                out.write_all(&ubuf)?;
            }
            ubuf.clear();
        }
    }
    gateway_out.write_all(&gbuf)?;
    gateway_out.flush()?;
    if let Some((_, out)) = &mut upstream {
        out.write_all(&ubuf)?;
        out.flush()?;
    }
    Ok((gn, un))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_ordered() {
        let cfg = GenConfig { requests: 500, ..Default::default() };
        let a: Vec<_> = std::iter::from_fn({
            let mut g = Generator::new(cfg.clone());
            move || g.next_request()
        })
        .collect();
        let b: Vec<_> = std::iter::from_fn({
            let mut g = Generator::new(cfg.clone());
            move || g.next_request()
        })
        .collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 500);
        // attempts are consistent
        for r in &a {
            assert_eq!(r.upstream_status.len(), r.upstream_addr.len());
            assert_eq!(r.upstream_status.len(), r.upstream_us.len());
            assert!(r.duration_us >= r.upstream_total_us().unwrap_or(0));
        }
    }

    #[test]
    fn mix_parses_and_is_followed() {
        let mix = StatusMix::parse("200=50, 500=50").unwrap();
        let mut g = Generator::new(GenConfig { requests: 4000, mix, ..Default::default() });
        let mut fives = 0;
        while let Some(r) = g.next_request() {
            assert!(r.status == 200 || r.status == 500);
            fives += (r.status == 500) as u32;
        }
        assert!((1700..2300).contains(&fives), "{fives}");
        assert!(StatusMix::parse("200").is_err());
        assert!(StatusMix::parse("").is_err());
    }

    #[test]
    fn slow_connect_spends_the_slow_upstreams_time_connecting() {
        let cfg = GenConfig { requests: 3000, scenario: Some(Scenario::SlowConnect), ..Default::default() };
        let mut g = Generator::new(cfg);
        let (mut slow, mut i) = (0, 0);
        while let Some(r) = g.next_request() {
            assert!(r.status < 500, "no 5xx: {r:?}");
            let phases = r.upstream_phases.as_ref().expect("every request carries the times");
            assert_eq!(phases.len(), r.upstream_us.len());
            let attempts = phases.iter().zip(&r.upstream_us).zip(&r.upstream_addr).zip(&r.upstream_status);
            for (((p, &us), addr), &st) in attempts {
                let connected = p.connected_us.unwrap();
                let headers = p.headers_us.unwrap_or(us);
                assert!(connected <= headers && headers <= us, "{p:?} {us}");
                if i >= 1000 && addr == SLOW_UPSTREAM {
                    assert!((1_500_000..2_500_000).contains(&connected), "{p:?}");
                    assert!(us - connected < 12_000, "answers a few ms after connecting: {p:?} {us}");
                    if p.headers_us.is_some() {
                        assert!((connected + 2_000..connected + 12_000).contains(&headers), "{p:?}");
                    }
                    slow += 1;
                } else {
                    // a client that gave up (499) may have waited long on any upstream
                    assert!(connected < 1_000 && (st == 499 || us < 1_500_000), "{addr} stays fast: {p:?} {us}");
                }
            }
            assert!(r.duration_us >= r.upstream_total_us().unwrap_or(0));
            i += 1;
        }
        assert!(slow > 300, "about a quarter of the last two thirds: {slow}");
    }

    #[test]
    fn incident_fails_one_upstream() {
        let mut g = Generator::new(GenConfig { requests: 3000, incident: true, ..Default::default() });
        let mut refused_on_failing = 0;
        let mut during = 0;
        let mut i = 0;
        while let Some(r) = g.next_request() {
            let incident = (1000..2000).contains(&i);
            if incident && r.upstream_addr.first().map(String::as_str) == Some(FAILING_UPSTREAM) {
                assert_eq!(r.upstream_status[0], 502);
                refused_on_failing += 1;
            }
            during += (incident && r.status >= 500) as u32;
            i += 1;
        }
        assert!(refused_on_failing > 30, "{refused_on_failing}");
        assert!(during > 50, "{during}");
    }
}
