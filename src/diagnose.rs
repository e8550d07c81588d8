//! The error playbook: for each error status in the logs, the likely cause with the evidence that points to it,
//! the first thing to check and the usual fix. Evidence is gathered from the error records themselves while
//! scanning (only lines with a status of 400 or more are looked at twice).

use crate::numbers::thousands;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::record::{Record, Role};
use crate::stats::latency::LatencyHistogram;

/// Distinct values kept per field and status; past this, new values are not counted (the first ones seen are
/// what a burst is made of).
const DISTINCT: usize = 512;

/// Counts of values of one field, bounded; values are keyed by a hash, so counting a value seen before
/// allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct TopValues(FxHashMap<u64, (String, u64)>);

fn hash(b: &[u8]) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(b)
}

impl TopValues {
    /// Count one value.
    pub fn add(&mut self, v: &str) {
        self.add_keyed(hash(v.as_bytes()), || v.to_string());
    }

    fn add_keyed(&mut self, key: u64, value: impl FnOnce() -> String) {
        if let Some((_, n)) = self.0.get_mut(&key) {
            *n += 1;
        } else if self.0.len() < DISTINCT {
            self.0.insert(key, (value(), 1));
        }
    }

    /// Fold in another count.
    pub fn merge(&mut self, other: TopValues) {
        for (k, (v, n)) in other.0 {
            let room = self.0.len() < DISTINCT;
            match self.0.get_mut(&k) {
                Some((_, m)) => *m += n,
                None if room => drop(self.0.insert(k, (v, n))),
                None => {}
            }
        }
    }

    /// The most frequent values, most frequent first (ties by value).
    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.0.values().map(|(k, n)| (k.as_str(), *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.truncate(n);
        v
    }

    fn distinct(&self) -> usize {
        self.0.len()
    }
}

/// What the records of one error status say.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Gateway records with this status.
    pub gateway: u64,
    /// … of which the gateway answered itself (no upstream attempt logged).
    pub gateway_made: u64,
    /// … of which an upstream attempt logged this same status.
    pub upstream_said: u64,
    /// … of which the upstream attempts took under 1 ms in all (refused or reset at once).
    pub upstream_instant: u64,
    /// … of which more than one upstream was tried.
    pub retried: u64,
    /// … of which a retry succeeded (a 2xx/3xx among the attempts).
    pub retry_saved: u64,
    /// Time spent on upstreams, for those that logged it.
    pub upstream_time: LatencyHistogram,
    /// Upstream service records with this status.
    pub service: u64,
    /// Proxy flags (Envoy response flags, HAProxy termination states).
    pub flags: TopValues,
    /// Clients.
    pub clients: TopValues,
    /// Consumers (API keys, users) as logged.
    pub consumers: TopValues,
    /// User agents.
    pub agents: TopValues,
    /// Routes (normalised paths) of gateway records.
    pub routes: TopValues,
    /// Methods of gateway records.
    pub methods: TopValues,
    /// Routes of service records.
    pub service_routes: TopValues,
    /// Methods of service records.
    pub service_methods: TopValues,
    /// Records whose request line was no HTTP request (garbage, TLS on the HTTP port, invalid methods).
    pub garbage: u64,
    /// … of which TLS handshakes.
    pub garbage_tls: u64,
    /// … and the clients that sent them.
    pub garbage_clients: TopValues,
    /// Upstream addresses tried.
    pub upstreams: TopValues,
    /// Messages of service records (and gateway error texts).
    pub messages: TopValues,
    /// Where the records came from: `ssh://` hosts, files, sources.
    pub nodes: TopValues,
    /// Causes the gateway's error log wrote for these requests (joined by client, request line and time).
    pub error_log: TopValues,
    /// First and last time seen, µs.
    pub span: Option<(i64, i64)>,
}

/// Evidence per error status.
#[derive(Clone, Debug, Default)]
pub struct EvidenceSet(pub FxHashMap<u16, Evidence>);

impl EvidenceSet {
    /// Whether a record with this status needs [`EvidenceSet::add`] (its method, client, consumer, flags or
    /// message say something) rather than the cheaper [`EvidenceSet::add_summary`].
    pub fn wants_record(status: u16) -> bool {
        matches!(status, 403 | 405 | 429)
    }

    /// Take in one record from a source of this role (records below 400 are ignored).
    pub fn add(&mut self, rec: &Record<'_>, role: Role) {
        let Some(status) = rec.status.filter(|s| *s >= 400) else { return };
        self.add_summary(&crate::format::summary::Summary::of(rec), role);
        let e = self.0.get_mut(&status).expect("added above");
        // nginx escapes the bytes it logs: a TLS ClientHello starts `\x16\x03`
        if rec.bad_request.as_deref().is_some_and(|b| b.starts_with("\\x16\\x03")) {
            e.garbage_tls += 1;
        }
        if let Some(f) = &rec.flags {
            e.flags.add(f);
        }
        if let Some(m) = &rec.method {
            match role {
                Role::Gateway => e.methods.add(m),
                Role::Upstream => e.service_methods.add(m),
            }
        }
        if let Some(m) = &rec.message {
            let m: String = m.chars().take(160).collect();
            e.messages.add(&m);
        }
    }

    /// Record the cause the error log wrote for one request answered `status` (its message, before
    /// `, client:`). Kept apart from the counts: the request itself was counted from the access log.
    pub fn add_error_log_cause(&mut self, status: u16, cause: &str) {
        let cause: String = cause.chars().take(160).collect();
        self.0.entry(status).or_default().error_log.add(&cause);
    }

    /// Record that one record with `status` came from `node` (after [`EvidenceSet::add`]).
    pub fn add_node(&mut self, status: u16, node: &str) {
        if let Some(e) = self.0.get_mut(&status) {
            e.nodes.add(node);
        }
    }

    /// Every node the records could have come from, so that one node behind every record of a status stands out
    /// among the others (which then count none).
    pub fn note_nodes<'a>(&mut self, nodes: impl Iterator<Item = &'a str> + Clone) {
        for e in self.0.values_mut() {
            for n in nodes.clone() {
                let key = hash(n.as_bytes());
                if !e.nodes.0.contains_key(&key) && e.nodes.0.len() < DISTINCT {
                    e.nodes.0.insert(key, (n.to_string(), 0));
                }
            }
        }
    }

    /// Every record taken in so far came from `node` (one source scanned on its own).
    pub fn set_node(&mut self, node: &str) {
        for e in self.0.values_mut() {
            e.nodes = TopValues::default();
            e.nodes.add_keyed(hash(node.as_bytes()), || node.to_string());
            if let Some((_, n)) = e.nodes.0.values_mut().next() {
                *n = e.gateway + e.service;
            }
        }
    }

    /// Take in what a summary of a record says (records below 400 are ignored).
    pub fn add_summary(&mut self, rec: &crate::format::summary::Summary<'_>, role: Role) {
        let Some(status) = rec.status.filter(|s| *s >= 400) else { return };
        let e = self.0.entry(status).or_default();
        if let Some(t) = rec.time {
            let (a, b) = e.span.unwrap_or((t.unix_us, t.unix_us));
            e.span = Some((a.min(t.unix_us), b.max(t.unix_us)));
        }
        match role {
            Role::Gateway => {
                e.gateway += 1;
                let attempts = rec.upstream_status.as_slice();
                if attempts.is_empty() {
                    e.gateway_made += 1;
                } else {
                    if attempts.last() == Some(&status) {
                        e.upstream_said += 1;
                    }
                    if attempts.len() > 1 {
                        e.retried += 1;
                        if attempts.iter().any(|s| (200..400).contains(s)) {
                            e.retry_saved += 1;
                        }
                    }
                    if let Some(us) = rec.upstream_us {
                        e.upstream_time.record(us);
                        if us < 1000 {
                            e.upstream_instant += 1;
                        }
                    }
                }
                if let Some(a) = rec.upstream_addr {
                    // the last attempt's address: the one that gave the final answer
                    let last = a.rsplit(|&c| c == b',' || c == b' ').find(|s| !s.is_empty() && *s != b":").unwrap_or(a);
                    let last = last.trim_ascii();
                    e.upstreams.add_keyed(hash(last), || String::from_utf8_lossy(last).into_owned());
                }
            }
            Role::Upstream => e.service += 1,
        }
        if rec.bad_request {
            e.garbage += 1;
            if let Some(c) = rec.client {
                e.garbage_clients.add_keyed(hash(c), || String::from_utf8_lossy(c).into_owned());
            }
        }
        // who asked: a retry storm or one batch job shows as one of these carrying most of a family
        for (values, v) in
            [(&mut e.clients, rec.client), (&mut e.consumers, rec.consumer), (&mut e.agents, rec.user_agent)]
        {
            if let Some(v) = v {
                values.add_keyed(hash(v), || String::from_utf8_lossy(v).into_owned());
            }
        }
        // routes are counted where the requests are: the gateway's records, else the service's
        let routes = match role {
            Role::Gateway => &mut e.routes,
            Role::Upstream => &mut e.service_routes,
        };
        if let Some(p) = rec.path {
            routes.add_keyed(crate::routes::route_key(p), || crate::routes::normalize_bytes(p));
        }
    }

    /// Fold in another set (from another block or source).
    pub fn merge(&mut self, other: EvidenceSet) {
        for (status, o) in other.0 {
            let e = self.0.entry(status).or_default();
            e.gateway += o.gateway;
            e.gateway_made += o.gateway_made;
            e.upstream_said += o.upstream_said;
            e.upstream_instant += o.upstream_instant;
            e.retried += o.retried;
            e.retry_saved += o.retry_saved;
            e.upstream_time.merge(&o.upstream_time);
            e.service += o.service;
            e.flags.merge(o.flags);
            e.clients.merge(o.clients);
            e.consumers.merge(o.consumers);
            e.agents.merge(o.agents);
            e.garbage += o.garbage;
            e.garbage_tls += o.garbage_tls;
            e.garbage_clients.merge(o.garbage_clients);
            e.routes.merge(o.routes);
            e.methods.merge(o.methods);
            e.service_routes.merge(o.service_routes);
            e.service_methods.merge(o.service_methods);
            e.upstreams.merge(o.upstreams);
            e.messages.merge(o.messages);
            e.nodes.merge(o.nodes);
            e.error_log.merge(o.error_log);
            e.span = match (e.span, o.span) {
                (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
                (x, y) => x.or(y),
            };
        }
    }
}

/// The playbook's answer for one error status.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnosis {
    /// The status.
    pub status: u16,
    /// Records with it (gateway records when there is a gateway log, else service records).
    pub count: u64,
    /// Who produced it: `gateway` (the gateway answered itself, or on the upstream's behalf after a failed
    /// connection or a timeout) or `upstream` (the service answered it).
    pub origin: &'static str,
    /// The likely cause.
    pub cause: String,
    /// What in the logs points there.
    pub evidence: Vec<String>,
    /// The first thing to check.
    pub first_check: String,
    /// The usual fix.
    pub fix: String,
    /// How often it came before the incident and during it, when the span allows a comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

/// The shortest baseline, and incident window, compared (seconds): a console opened on a live incident compares
/// the seconds it has.
pub const MIN_COMPARED_S: i64 = 20;

/// How often something came in a baseline span and in the incident window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// Per minute in the baseline.
    pub before_per_minute: f64,
    /// Per minute in the incident window.
    pub now_per_minute: f64,
    /// For people: `new: none before`, `up 57×`, `steady since 12:00, not new`, `down from 40/min`.
    pub note: String,
}

impl Change {
    /// `before` in `before_s` seconds against `now` in `now_s`; `since` is when the baseline starts (`12:00`).
    pub fn new(before: u64, before_s: i64, now: u64, now_s: i64, since: &str) -> Change {
        let per_min = |n: u64, s: i64| (n as f64 * 60.0 / s.max(1) as f64 * 10.0).round() / 10.0;
        let (b, n) = (per_min(before, before_s), per_min(now, now_s));
        let note = if before == 0 {
            "new: none before".to_string()
        } else if n > b * 1.5 {
            format!("up {:.0}×", (n / b.max(0.1)).max(2.0))
        } else if n < b * 0.5 {
            format!("down from {b}/min")
        } else {
            format!("steady since {since}, not new")
        };
        Change { before_per_minute: b, now_per_minute: n, note }
    }

    /// How much it rose, per minute (negative: fell).
    pub fn rise(&self) -> f64 {
        self.now_per_minute - self.before_per_minute
    }
}

/// Compare each diagnosis with a baseline (`count(status, in_baseline)`) and order them by how much they rose:
/// what changed comes first, what was always there last.
pub fn rank_by_change(list: &mut [Diagnosis], count: impl Fn(u16, bool) -> u64, spans: (i64, i64), since: &str) {
    for d in list.iter_mut() {
        d.change = Some(Change::new(count(d.status, true), spans.0, count(d.status, false), spans.1, since));
    }
    let rise = |d: &Diagnosis| d.change.as_ref().map_or(0.0, Change::rise);
    list.sort_by(|a, b| rise(b).total_cmp(&rise(a)).then(b.count.cmp(&a.count)).then(a.status.cmp(&b.status)));
}

/// `92% of 502s from node gw2`, when one value of several carries at least half of the records counted.
fn concentration(values: &TopValues, status: u16, what: &str) -> Option<String> {
    let total: u64 = values.0.values().map(|(_, n)| n).sum();
    let (top, n) = values.top(1).into_iter().next()?;
    (values.distinct() >= 2 && n * 2 >= total && total > 0)
        .then(|| format!("{} of {status}s from {what} {top} ({} of {})", pct(n, total), thousands(n), thousands(total)))
}

fn pct(n: u64, of: u64) -> String {
    if of == 0 { "0%".into() } else { format!("{:.0}%", n as f64 * 100.0 / of as f64) }
}

fn list(top: &[(&str, u64)]) -> String {
    top.iter().map(|(v, n)| format!("{v} ({})", thousands(*n))).collect::<Vec<_>>().join(", ")
}

fn ms(us: u64) -> String {
    if us >= 1_000_000 { format!("{:.1} s", us as f64 / 1e6) } else { format!("{:.1} ms", us as f64 / 1e3) }
}

/// The playbook over the evidence: one entry per error status present, most frequent first.
pub fn diagnose(ev: &EvidenceSet) -> Vec<Diagnosis> {
    let mut out: Vec<Diagnosis> = ev.0.iter().map(|(&status, e)| diagnose_one(status, e)).collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.status.cmp(&b.status)));
    out
}

fn diagnose_one(status: u16, e: &Evidence) -> Diagnosis {
    let count = if e.gateway > 0 { e.gateway } else { e.service };
    // the gateway's own answers: no upstream attempt; a connection refused or reset at once (502, 503); a timeout
    // (504: the gateway logs its own timeout as the upstream's status)
    let gateway_side = e.gateway_made
        + match status {
            502 | 503 => e.upstream_instant,
            504 | 499 => e.upstream_said, // nginx logs its own timeout, and a client's hang-up, as the upstream's
            _ => 0,
        };
    let (routes, methods) =
        if e.gateway > 0 { (&e.routes, &e.methods) } else { (&e.service_routes, &e.service_methods) };
    let origin = if e.gateway > 0 && gateway_side * 2 >= e.gateway { "gateway" } else { "upstream" };
    let mut evidence = Vec::new();
    if e.gateway > 0 {
        evidence.push(format!(
            "{} gateway records: {} with no upstream attempt, {} with the last upstream attempt logged as {status}",
            thousands(e.gateway),
            pct(e.gateway_made, e.gateway),
            pct(e.upstream_said, e.gateway)
        ));
    }
    if e.service > 0 {
        evidence.push(format!("{} service record(s) logged {status}", thousands(e.service)));
    }
    if e.garbage > 0 {
        let clients = e.garbage_clients.distinct();
        let tls = if e.garbage_tls > 0 {
            format!(", {} of them TLS handshakes sent to the plain HTTP port", thousands(e.garbage_tls))
        } else {
            String::new()
        };
        evidence.push(format!(
            "{} garbage request line(s) from {clients} client(s){tls}: not HTTP (binary, invalid methods, empty \
             requests): {}",
            thousands(e.garbage),
            list(&e.garbage_clients.top(3))
        ));
    }
    let top_routes = routes.top(3);
    if !top_routes.is_empty() {
        evidence.push(format!("routes: {}", list(&top_routes)));
    }
    // the gateway's own words for why, from its error log (joined to these requests)
    for (cause, n) in e.error_log.top(2) {
        let times = if n > 1 { format!(" ({} requests)", thousands(n)) } else { String::new() };
        evidence.push(format!("error log: {cause}{times}"));
    }
    // one node or one client behind most of them is the answer to "where?"
    for (values, what) in
        [(&e.nodes, "node"), (&e.clients, "client"), (&e.consumers, "consumer"), (&e.agents, "user agent")]
    {
        if let Some(line) = concentration(values, status, what) {
            evidence.push(line);
        }
    }
    let (mut cause, mut first_check, mut fix): (String, String, String) = match status {
        401 if origin == "gateway" => (
            "the gateway rejected the credentials (missing, expired or not yet valid token, wrong audience or issuer)"
                .into(),
            "decode a failing request's token: exp/nbf against the clock, aud/iss against the gateway's config; \
             a burst across all clients at once points at a key rotation"
                .into(),
            "refresh or re-issue tokens; if keys rotated, publish the new JWKS and let the gateway reload it".into(),
        ),
        401 => (
            "the service rejected the credentials the gateway passed on".into(),
            "compare the service's auth config (audience, issuer, keys) with the gateway's".into(),
            "align the service's token validation with the gateway's, or stop forwarding the header it rejects".into(),
        ),
        403 => (
            format!(
                "{} denied an authenticated request (permissions, IP allow-list, WAF rule)",
                if origin == "gateway" { "the gateway" } else { "the service" }
            ),
            "check the consumer's scopes/ACL and any IP or WAF rule on the route".into(),
            "grant the permission or fix the rule; 403s from one consumer only are usually a missing grant".into(),
        ),
        404 if origin == "gateway" => (
            "no route matched at the gateway".into(),
            format!(
                "compare the requested paths with the configured route prefixes{}",
                match top_routes.first() {
                    Some((r, _)) => format!(" (most missed: {r})"),
                    None => String::new(),
                }
            ),
            "add or fix the route (prefix, host, method); a deploy that renamed a path needs a redirect".into(),
        ),
        404 => (
            "the service has no such resource (the route matched, the object does not exist)".into(),
            "check the ids in the failing paths: deleted objects, or a client using stale ids".into(),
            "usually a client bug; a sudden burst after a deploy points at a changed service route".into(),
        ),
        405 => (
            "method not allowed on the route".into(),
            format!("methods used: {}", list(&methods.top(3))),
            "allow the method on the route, or fix the client".into(),
        ),
        413 => (
            "request body larger than the limit".into(),
            "compare the gateway's body limit (nginx client_max_body_size) with the failing requests' sizes".into(),
            "raise the limit for that route, or have the client upload in parts".into(),
        ),
        415 | 422 | 400 => (
            "the request was malformed or failed validation (payload, content type, parameters)".into(),
            "look at the failing requests' content type and body on the route with most errors".into(),
            "fix the client, or relax a validation that a deploy tightened".into(),
        ),
        429 => {
            let who = if e.consumers.distinct() > 0 { e.consumers.top(3) } else { e.clients.top(3) };
            let rate = match e.span {
                Some((a, b)) if b > a => format!(" over {}", ms((b - a) as u64)),
                _ => String::new(),
            };
            evidence.push(format!("limited: {}{rate}", list(&who)));
            (
                "rate limit reached".into(),
                "is it one client or consumer (a batch job, a retry loop) or everyone (the limit is too low)?".into(),
                "slow the client down (honour Retry-After, back off), or raise its quota".into(),
            )
        }
        499 => (
            "the client closed the connection before the answer (its own timeout)".into(),
            "compare the clients' timeout with this route's latency".into(),
            "make the route faster, or raise the client's timeout".into(),
        ),
        500 => {
            let msgs = e.messages.top(3);
            if !msgs.is_empty() {
                evidence.push(format!("service errors: {}", list(&msgs)));
            }
            (
                "the service failed while handling the request".into(),
                "read the service's error for a failing request id (trace view) and its recent deploys".into(),
                "fix the service bug, or roll back the deploy that started it".into(),
            )
        }
        502 => {
            if e.gateway > 0 {
                let upstreams = e.upstreams.top(3);
                let named =
                    if upstreams.is_empty() { String::new() } else { format!("; upstreams: {}", list(&upstreams)) };
                evidence.push(format!(
                    "{} of them with the upstream attempt taking under 1 ms (refused or reset at once){named}",
                    pct(e.upstream_instant, e.gateway),
                ));
            }
            push_flags(&mut evidence, e);
            refused("the upstream refused or reset the connection (down, restarting, or out of connections)", e)
        }
        503 => {
            push_flags(&mut evidence, e);
            // Envoy answers 503 where nginx answers 502: a connection to the upstream that failed or was reset
            let connect_failed = e
                .flags
                .top(1)
                .first()
                .is_some_and(|(f, _)| f.split([',', ' ']).any(|x| matches!(x, "UF" | "UC" | "URX" | "UR")));
            if connect_failed {
                refused(
                    "the gateway could not connect to the upstream, or the connection was reset (down, restarting, \
                     or out of connections)",
                    e,
                )
            } else {
                (
                    if e.gateway_made * 2 >= e.gateway.max(1) {
                        "no healthy upstream: the gateway had nowhere to send the request (or a circuit breaker is open)"
                        .into()
                    } else {
                        "the service is overloaded or in maintenance".into()
                    },
                    "check the upstream pool's health: how many instances are up".into(),
                    "restore capacity (scale up, fix the health check); shed load meanwhile".into(),
                )
            }
        }
        504 => {
            let p50 = e.upstream_time.quantile(0.5).unwrap_or(0);
            if p50 > 0 {
                evidence.push(format!(
                    "upstream time median {} (max {}): the gateway's upstream timeout is about {}",
                    ms(p50),
                    ms(e.upstream_time.max()),
                    ms(p50)
                ));
            }
            push_flags(&mut evidence, e);
            (
                "the upstream did not answer within the gateway's timeout".into(),
                format!(
                    "is {} slow or stuck (database, a downstream call)? Compare its latency with the timeout",
                    e.upstreams.top(1).first().map_or("the upstream", |(a, _)| *a)
                ),
                "fix the slow dependency; raise the timeout only if the work is legitimately that long".into(),
            )
        }
        s if s >= 500 => (
            "a server error".into(),
            "read the service's log for a failing request id".into(),
            "fix the failing component".into(),
        ),
        _ => (
            "a client error".into(),
            "look at the failing requests on the route with most errors".into(),
            "usually a client-side fix".into(),
        ),
    };
    // an HAProxy termination state behind most of the family says more than the status does
    if let Some((flag, n)) = e.flags.top(1).first().copied()
        && n * 2 >= e.gateway.max(1)
        && let Some(said) = haproxy_termination(flag)
    {
        cause = format!("{} (HAProxy termination state {flag})", said.cause);
        // `SC` with no server named (`backend/<NOSRV>`): nothing was tried, the backend had no server up
        if flag.starts_with("SC") && status == 503 && e.gateway_made * 2 >= e.gateway.max(1) {
            cause = format!(
                "no server was available in the backend: every server down or in maintenance (HAProxy `<NOSRV>`, \
                 termination state {flag})"
            );
        }
        if let Some((check, remedy)) = said.client_side {
            (first_check, fix) = (check.into(), remedy.into());
        }
    }
    if e.retried > 0 {
        evidence.push(format!(
            "{} retried on another upstream, {} of those still failed",
            e.retried,
            e.retried - e.retry_saved
        ));
    }
    if let Some(m) = methods.top(1).first()
        && m.0 == "OPTIONS"
    {
        evidence.push(format!("{} of them are OPTIONS preflights: a CORS rule is refusing the origin", thousands(m.1)));
    }
    Diagnosis { status, count, origin, cause, evidence, first_check, fix, change: None }
}

/// What an HAProxy termination state says of a failed request.
struct TerminationCause {
    cause: &'static str,
    /// The first check and fix when the client, not the server, ended the request.
    client_side: Option<(&'static str, &'static str)>,
}

/// Read an HAProxy termination state (`sH--`, `SC--`, tcplog's `CD`): its first character says who ended the
/// session (`C`/`S` an abort by the client/server side, `c`/`s` a timeout on that side, `P`/`p` the proxy, `R`
/// a resource, `I` an internal error), its second in which phase (`R` request, `Q` queue, `C` connect, `H` response
/// headers, `D` data). `None` for a state that ended normally and for other proxies' flags (Envoy's `UF`, `UT`).
fn haproxy_termination(flag: &str) -> Option<TerminationCause> {
    let b = flag.as_bytes();
    let shaped = match b.len() {
        2 => true,
        4 => b[2..].iter().all(|c| c.is_ascii_alphabetic() || *c == b'-'),
        _ => false,
    };
    if !shaped {
        return None;
    }
    const CLIENT: Option<(&str, &str)> = Some((
        "compare the clients' timeout (and `timeout client`) with this route's latency; is one client behind most?",
        "not the server's fault: make the route answer sooner, or raise the client's timeout",
    ));
    const CLIENT_REQUEST: Option<(&str, &str)> = Some((
        "which clients: a scanner, a broken client or a slow link (`timeout http-request`, `timeout client`)?",
        "not the server's fault: nothing to fix on the service; block or slow the client if it is abusive",
    ));
    let (cause, client_side) = match (b[0], b[1]) {
        (b's', b'H') => ("the server did not send headers within `timeout server`", None),
        (b'S', b'H') => ("the server aborted or reset the connection before sending its headers", None),
        (b'S', b'C') => ("the server refused or reset the connection", None),
        (b's', b'C') => ("the server did not accept the connection within `timeout connect`", None),
        (b's', b'Q') => ("the request waited in the queue past `timeout queue` (every server at its maxconn)", None),
        (b'S', b'D') => ("the server aborted while sending the response", None),
        (b's', b'D') => ("the server stopped sending data for longer than `timeout server`", None),
        (b'c' | b'C', b'R') => ("the client went away / timed out before sending a complete request", CLIENT_REQUEST),
        (b'c' | b'C', b'H' | b'D' | b'L' | b'T') => ("the client went away / timed out", CLIENT),
        // Envoy's `RL`, `LR`… are two letters too: the proxy-side states are read only in their 4-letter form
        (b'P' | b'p', _) if b.len() == 4 => {
            ("the proxy itself ended the request (a deny rule, a tarpit or a malformed response)", None)
        }
        (b'R', _) if b.len() == 4 => ("the proxy ran out of a resource (memory, sockets, ports)", None),
        (b'I', _) if b.len() == 4 => ("an internal error in the proxy", None),
        _ => return None,
    };
    Some(TerminationCause { cause, client_side })
}

/// The cause, first check and fix of a family the upstream refused or reset.
fn refused(cause: &str, e: &Evidence) -> (String, String, String) {
    (
        cause.into(),
        format!(
            "is {} up and listening? Check its health and recent restarts",
            e.upstreams.top(1).first().map_or("the upstream", |(a, _)| *a)
        ),
        "take the failing instance out of the pool (or fix its health check); enable retries on another upstream \
         for idempotent requests"
            .into(),
    )
}

fn push_flags(evidence: &mut Vec<String>, e: &Evidence) {
    let flags = e.flags.top(3);
    if !flags.is_empty() {
        evidence.push(format!("proxy flags: {}", list(&flags)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{LogTime, StatusList};

    /// A gateway record: status, upstream attempts (status, µs, address), flags, method, path, consumer.
    fn gw(status: u16, attempts: &[(u16, u64, &'static str)]) -> Record<'static> {
        let mut up = StatusList::new();
        for (s, _, _) in attempts {
            up.push(*s);
        }
        Record {
            time: Some(LogTime { unix_us: 1_714_564_800_000_000, offset_s: 0 }),
            method: Some("GET".into()),
            path: Some("/v1/orders/123".into()),
            status: Some(status),
            upstream_status: up,
            upstream_us: (!attempts.is_empty()).then(|| attempts.iter().map(|a| a.1).sum()),
            upstream_addr: (!attempts.is_empty())
                .then(|| attempts.iter().map(|a| a.2).collect::<Vec<_>>().join(", ").into()),
            client: Some("203.0.113.9".into()),
            ..Record::default()
        }
    }

    fn one(set: &EvidenceSet, status: u16) -> Diagnosis {
        diagnose(set).into_iter().find(|d| d.status == status).expect("a diagnosis for the status")
    }

    fn has(d: &Diagnosis, text: &str) -> bool {
        d.evidence.iter().any(|e| e.contains(text))
    }

    #[test]
    fn who_answered_decides_the_origin_of_401_403_404() {
        let mut set = EvidenceSet::default();
        for _ in 0..5 {
            set.add(&gw(401, &[]), Role::Gateway);
            set.add(&gw(404, &[]), Role::Gateway);
            set.add(&gw(403, &[(403, 12_000, "10.0.0.5:8080")]), Role::Gateway);
        }
        let d401 = one(&set, 401);
        assert_eq!((d401.origin, d401.count), ("gateway", 5));
        assert!(d401.cause.contains("credentials") && d401.first_check.contains("exp/nbf"));
        let d404 = one(&set, 404);
        assert_eq!(d404.origin, "gateway");
        assert!(d404.cause.contains("no route matched") && d404.first_check.contains("/v1/orders/{id}"));
        assert_eq!(one(&set, 403).origin, "upstream");
        let mut up = EvidenceSet::default();
        up.add(&gw(404, &[(404, 9_000, "10.0.0.5:8080")]), Role::Gateway);
        let d = one(&up, 404);
        assert_eq!(d.origin, "upstream");
        assert!(d.cause.contains("no such resource"));
    }

    #[test]
    fn haproxy_termination_states_name_the_cause() {
        let mut set = EvidenceSet::default();
        for _ in 0..4 {
            let mut r = gw(504, &[]);
            r.flags = Some("sH--".into());
            set.add(&r, Role::Gateway);
            let mut r = gw(503, &[]);
            r.flags = Some("SC--".into());
            set.add(&r, Role::Gateway);
            let mut r = gw(502, &[(502, 3_000, "srv1")]);
            r.flags = Some("CD--".into());
            set.add(&r, Role::Gateway);
        }
        let d = one(&set, 504);
        assert!(d.cause.contains("did not send headers within `timeout server`"), "{}", d.cause);
        assert!(has(&d, "proxy flags: sH-- (4)"));
        // `SC--` with no server named: the backend had none up
        assert!(one(&set, 503).cause.contains("no server was available in the backend"), "{}", one(&set, 503).cause);
        let mut refused = EvidenceSet::default();
        let mut r = gw(503, &[(503, 0, "srv1")]);
        r.flags = Some("SC--".into());
        refused.add(&r, Role::Gateway);
        assert!(one(&refused, 503).cause.contains("refused or reset the connection"));
        let d = one(&set, 502);
        assert!(d.cause.contains("client went away") && d.fix.contains("not the server's fault"), "{d:?}");
        // Envoy's flags keep the Envoy reading
        let mut envoy = EvidenceSet::default();
        let mut r = gw(504, &[]);
        r.flags = Some("UT".into());
        envoy.add(&r, Role::Gateway);
        let mut r = gw(429, &[]);
        r.flags = Some("RL".into());
        envoy.add(&r, Role::Gateway);
        assert!(one(&envoy, 429).cause.contains("rate limit"));
        assert!(one(&envoy, 504).cause.contains("gateway's timeout"));
    }

    #[test]
    fn refused_connections_timeouts_and_no_healthy_upstream() {
        let mut set = EvidenceSet::default();
        for _ in 0..10 {
            let mut r = gw(502, &[(502, 300, "10.0.0.7:8080")]);
            r.flags = Some("UF".into());
            set.add(&r, Role::Gateway);
            set.add(&gw(504, &[(504, 30_000_000, "10.0.0.8:8080")]), Role::Gateway);
            let mut r = gw(503, &[]);
            r.flags = Some("UH".into());
            set.add(&r, Role::Gateway);
        }
        let d = one(&set, 502);
        assert_eq!(d.origin, "gateway");
        assert!(d.cause.contains("refused"));
        assert!(has(&d, "100% of them with the upstream attempt taking under 1 ms") && has(&d, "10.0.0.7:8080 (10)"));
        assert!(has(&d, "proxy flags: UF (10)") && d.first_check.contains("10.0.0.7:8080"));
        let d = one(&set, 504);
        assert_eq!(d.origin, "gateway");
        assert!(has(&d, "timeout is about 30.0 s"), "{:?}", d.evidence);
        let d = one(&set, 503);
        assert!(d.cause.contains("no healthy upstream") && has(&d, "UH (10)"));
        // Envoy answers a refused connection with 503 UF
        let mut envoy = EvidenceSet::default();
        let mut r = gw(503, &[]);
        (r.flags, r.upstream_addr) = (Some("UF".into()), Some("10.0.0.7:8080".into()));
        envoy.add(&r, Role::Gateway);
        let d = one(&envoy, 503);
        assert!(d.cause.contains("could not connect") && d.first_check.contains("10.0.0.7:8080"), "{d:?}");
        // a gateway that logs no upstream address (Kong's 502s): the evidence names none
        let mut kong = EvidenceSet::default();
        let mut r = gw(502, &[(502, 300, "")]);
        r.upstream_addr = None;
        kong.add(&r, Role::Gateway);
        let d = one(&kong, 502);
        assert!(d.evidence.iter().all(|e| !e.contains("upstreams:")), "{:?}", d.evidence);
        assert!(d.first_check.contains("the upstream"), "{}", d.first_check);
    }

    #[test]
    fn rate_limits_name_who_and_errors_quote_the_service() {
        let mut set = EvidenceSet::default();
        for i in 0..12 {
            let mut r = gw(429, &[]);
            r.consumer = Some(if i < 10 { "batch-reports" } else { "mobile-app" }.into());
            set.add(&r, Role::Gateway);
        }
        let d = one(&set, 429);
        assert!(has(&d, "limited: batch-reports (10), mobile-app (2)"), "{:?}", d.evidence);
        let mut r = gw(500, &[]);
        r.message = Some("database connection pool exhausted".into());
        set.add(&r, Role::Upstream);
        let d = one(&set, 500);
        assert_eq!(d.origin, "upstream", "only the service logged it");
        assert!(has(&d, "service errors: database connection pool exhausted (1)"));
    }

    #[test]
    fn retries_and_cors_preflights_show_in_the_evidence() {
        let mut set = EvidenceSet::default();
        set.add(&gw(502, &[(502, 200, "10.0.0.7:8080"), (502, 300, "10.0.0.8:8080")]), Role::Gateway);
        let d = one(&set, 502);
        assert!(has(&d, "1 retried on another upstream, 1 of those still failed"));
        assert!(has(&d, "10.0.0.8:8080 (1)"), "the last attempt's address: {:?}", d.evidence);
        let mut r = gw(403, &[]);
        r.method = Some("OPTIONS".into());
        set.add(&r, Role::Gateway);
        assert!(has(&one(&set, 403), "OPTIONS preflights"));
        let mut r = gw(413, &[]);
        r.method = Some("POST".into());
        set.add(&r, Role::Gateway);
        assert!(one(&set, 413).first_check.contains("client_max_body_size"));
        set.add(&gw(405, &[]), Role::Gateway);
        assert!(one(&set, 405).first_check.contains("GET (1)"));
        set.add(&gw(200, &[]), Role::Gateway);
        assert!(diagnose(&set).iter().all(|d| d.status >= 400), "no diagnosis for successes");
    }

    #[test]
    fn one_client_and_one_user_agent_behind_most_429s_are_named() {
        let mut set = EvidenceSet::default();
        for i in 0..10 {
            let mut r = gw(429, &[]);
            if i < 7 {
                r.user_agent = Some("okhttp/4.12.0".into());
            } else {
                r.client = Some(format!("198.51.100.{i}").into());
                r.user_agent = Some("curl/8.5.0".into());
            }
            set.add(&r, Role::Gateway);
        }
        let d = one(&set, 429);
        assert!(has(&d, "70% of 429s from client 203.0.113.9 (7 of 10)"), "{:?}", d.evidence);
        assert!(has(&d, "70% of 429s from user agent okhttp/4.12.0 (7 of 10)"), "{:?}", d.evidence);
        // spread evenly: nothing to name
        let mut even = EvidenceSet::default();
        for i in 0..10 {
            let mut r = gw(429, &[]);
            r.user_agent = Some(format!("agent-{i}").into());
            r.client = Some(format!("198.51.100.{i}").into());
            even.add(&r, Role::Gateway);
        }
        assert!(!has(&one(&even, 429), "% of 429s from"), "{:?}", one(&even, 429).evidence);
    }

    #[test]
    fn sets_merge_as_one() {
        let (mut a, mut b, mut all) = (EvidenceSet::default(), EvidenceSet::default(), EvidenceSet::default());
        for i in 0..20u64 {
            let r = gw(502, &[(502, 100 + i, "10.0.0.7:8080")]);
            if i % 2 == 0 {
                a.add(&r, Role::Gateway)
            } else {
                b.add(&r, Role::Gateway)
            }
            all.add(&r, Role::Gateway);
        }
        a.merge(b);
        assert_eq!(diagnose(&a), diagnose(&all));
    }

    #[test]
    fn the_error_logs_cause_is_quoted() {
        let mut ev = EvidenceSet::default();
        let rec =
            Record { status: Some(502), upstream_status: crate::record::StatusList::one(502), ..Default::default() };
        ev.add(&rec, Role::Gateway);
        let d = diagnose(&ev);
        assert!(!d[0].evidence.iter().any(|e| e.starts_with("error log:")), "{:?}", d[0].evidence);
        ev.add_error_log_cause(502, "connect() failed (111: Connection refused) while connecting to upstream");
        let d = diagnose(&ev);
        assert_eq!(d.len(), 1);
        assert!(
            d[0].evidence
                .iter()
                .any(|e| e == "error log: connect() failed (111: Connection refused) while connecting to upstream"),
            "{:?}",
            d[0].evidence
        );
    }
}
