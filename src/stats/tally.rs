//! Per-source statistics accumulated record by record; partial tallies from parallel blocks merge.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::keyed::{Keyed, NO_TIME};
use super::keys::IdKeys;
use super::latency::LatencyHistogram;
use super::runs::KeyedRuns;
use super::timeline::{Digest, Keep, Point, Series, plausible};
use crate::format::summary::Summary;
use crate::record::{LogTime, Record, Role};

/// Time buckets kept for the alert rules: a file spanning up to 68 minutes keeps one-second buckets, a day one-minute ones.
const TIMELINE_BUCKETS: usize = 4096;

/// Seconds per bucket of a key's series, at the finest: the baseline and the incident window are compared over
/// 20 s or more, so finer buckets would cost time for nothing.
const KEY_RES: i64 = 10;
/// Buckets over time kept per route, upstream address and virtual host.
const KEY_BUCKETS: usize = 64;
/// Routes counted one by one (the rest together, as `(other)`).
const MAX_ROUTES: usize = 5_000;
/// Upstream addresses, virtual hosts and user agents counted one by one.
const MAX_NAMED: usize = 1_000;
/// Clients and consumers counted one by one.
const MAX_PARTIES: usize = 5_000;

/// Where an upstream's time went, for the requests whose last attempt it answered (as logged: nginx's
/// `$upstream_connect_time` and `$upstream_header_time`, HAProxy's `Tc` and `Tr`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Phases {
    /// Connecting.
    pub connect: Digest,
    /// From the start until the response headers came (connecting included).
    pub header: Digest,
    /// All of it (the upstream time).
    pub total: Digest,
}

impl Phases {
    /// Count one request's phases (each where logged).
    pub fn record(&mut self, connect: Option<u64>, header: Option<u64>, total: Option<u64>) {
        for (d, v) in [(&mut self.connect, connect), (&mut self.header, header), (&mut self.total, total)] {
            if let Some(v) = v {
                d.record(v);
            }
        }
    }

    /// Add another tally's phases (a block's, merged into the source's).
    pub fn absorb(&mut self, o: &Phases) {
        self.connect.absorb(&o.connect);
        self.header.absorb(&o.header);
        self.total.absorb(&o.total);
    }
}

/// Requests and errors in one minute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MinuteStat {
    /// Requests that ended in this minute.
    pub requests: u64,
    /// 4xx responses.
    pub client_errors: u64,
    /// 5xx responses.
    pub server_errors: u64,
}

impl MinuteStat {
    /// Add another count of the same minute.
    pub fn absorb(&mut self, other: &MinuteStat) {
        self.requests += other.requests;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
    }
}

/// A line that did not parse: where it is and how it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnparsedLine {
    /// Block sequence number and line index within it (resolved to a line number after the scan).
    pub at: (u64, u64),
    /// The first bytes of the line, lossily decoded.
    pub start: String,
}

/// How many unparsed lines are kept as examples.
pub const UNPARSED_EXAMPLES: usize = 5;

/// Everything a report needs from one source, mergeable across blocks.
#[derive(Debug)]
pub struct Tally {
    /// The source's role.
    pub role: Role,
    /// Lines read, blank ones included.
    pub lines: u64,
    /// Empty lines.
    pub blank: u64,
    /// Lines that parsed.
    pub parsed: u64,
    /// Non-empty lines that did not parse (kept, counted, never dropped).
    pub unparsed: u64,
    /// The first few unparsed lines.
    pub unparsed_examples: Vec<UnparsedLine>,
    /// Lines that continue the record before them (a stack trace under an error line): neither records nor
    /// unparsed.
    pub continuation: u64,
    /// The exceptions the stack traces under error records name (`java.lang.IllegalStateException: …`).
    pub exceptions: crate::diagnose::TopValues,
    /// Earliest and latest timestamps.
    pub first: Option<LogTime>,
    /// Latest timestamp.
    pub last: Option<LogTime>,
    /// Count per status code (index = code).
    pub status: Box<[u64; 1000]>,
    /// Of those, error responses the gateway produced itself (no upstream status, or a different one).
    pub gateway_made: Box<[u64; 1000]>,
    /// Requests that logged anything of an upstream (status, time or address): none means the log's format
    /// cannot tell the gateway's own errors from the upstream's.
    pub upstream_logged: u64,
    /// Durations of all records that logged one.
    pub latency: LatencyHistogram,
    /// Durations by status class (1xx … 5xx).
    pub latency_by_class: [LatencyHistogram; 5],
    /// Time spent in upstreams.
    pub upstream_latency: LatencyHistogram,
    /// Per route, keyed by [`crate::routes::route_key`]: the requests' statuses and durations.
    pub routes: Keyed,
    /// Per upstream address: each attempt's status (an attempt without one counts as 502), and the time spent on
    /// the requests whose last attempt it answered (the upstream time logged, else the request's).
    pub addrs: Keyed,
    /// Per upstream address, where the time went: connecting, waiting for headers, all of it.
    pub phases: FxHashMap<u64, Phases>,
    /// Per virtual host (Host / authority).
    pub hosts: Keyed,
    /// Per client address (no durations).
    pub clients: KeyedRuns,
    /// Per user agent (no durations).
    pub user_agents: KeyedRuns,
    /// Per consumer / API key name (no durations).
    pub consumers: KeyedRuns,
    /// Lines announcing a change (a reload, a start), in the order read, at most [`crate::markers::MAX_MARKERS`].
    pub markers: Vec<crate::markers::Marker>,
    /// Per minute (epoch minutes).
    pub minutes: BTreeMap<i64, MinuteStat>,
    /// Count per level (application logs).
    pub levels: [u64; 6],
    /// Request/trace id keys for correlation.
    pub keys: IdKeys,
    /// What the error records say, for the diagnosis.
    pub evidence: crate::diagnose::EvidenceSet,
    /// Statuses and latency over log time, for the alert rules.
    pub timeline: Series,
    cur_minute: Option<(i64, MinuteStat)>,
}

impl Tally {
    /// An empty tally for a source of `role`, counting how many latencies exceed each of `thresholds_us` (the
    /// alert rules' limits) over time.
    pub fn new(role: Role, thresholds_us: &[u64]) -> Self {
        Tally {
            role,
            lines: 0,
            blank: 0,
            parsed: 0,
            unparsed: 0,
            unparsed_examples: Vec::new(),
            continuation: 0,
            exceptions: Default::default(),
            first: None,
            last: None,
            status: Box::new([0; 1000]),
            gateway_made: Box::new([0; 1000]),
            upstream_logged: 0,
            latency: LatencyHistogram::default(),
            latency_by_class: Default::default(),
            upstream_latency: LatencyHistogram::default(),
            routes: Keyed::new(MAX_ROUTES, Series::with_resolution(Keep::All, KEY_RES, KEY_BUCKETS, &[])),
            addrs: Keyed::new(MAX_NAMED, Series::with_resolution(Keep::All, KEY_RES, KEY_BUCKETS, &[])),
            phases: FxHashMap::default(),
            hosts: Keyed::new(MAX_NAMED, Series::with_resolution(Keep::All, KEY_RES, KEY_BUCKETS, &[])),
            clients: KeyedRuns::new(MAX_PARTIES),
            user_agents: KeyedRuns::new(MAX_NAMED),
            consumers: KeyedRuns::new(MAX_PARTIES),
            minutes: BTreeMap::new(),
            levels: [0; 6],
            keys: IdKeys::default(),
            evidence: Default::default(),
            timeline: Series::new(Keep::All, TIMELINE_BUCKETS, thresholds_us),
            cur_minute: None,
            markers: Vec::new(),
        }
    }

    /// Count a line that did not parse.
    pub fn add_unparsed(&mut self, at: (u64, u64), line: &[u8]) {
        self.unparsed += 1;
        if self.unparsed_examples.len() < UNPARSED_EXAMPLES {
            let start = &line[..line.len().min(120)];
            self.unparsed_examples.push(UnparsedLine { at, start: String::from_utf8_lossy(start).into_owned() });
        }
    }

    /// Count one parsed record.
    pub fn add_record(&mut self, rec: &Record<'_>) {
        self.add(&Summary::of(rec));
        self.evidence.add(rec, self.role);
        // log lines (no status) may announce a change
        if rec.status.is_none()
            && self.markers.len() < crate::markers::MAX_MARKERS
            && let (Some(t), Some(m)) = (rec.time, rec.message.as_deref())
            && let Some(kind) = crate::markers::kind_of(m)
        {
            let text = m.chars().take(crate::markers::MAX_TEXT).collect();
            self.markers.push(crate::markers::Marker { unix_us: t.unix_us, kind, text });
        }
    }

    /// Count one parsed line, from what summaries read of it.
    pub fn add(&mut self, rec: &Summary<'_>) {
        self.parsed += 1;
        if let Some(t) = rec.time {
            if self.first.is_none_or(|f| t.unix_us < f.unix_us) {
                self.first = Some(t);
            }
            if self.last.is_none_or(|l| t.unix_us > l.unix_us) {
                self.last = Some(t);
            }
        }
        if let Some(l) = rec.level {
            self.levels[l as usize] += 1;
        }
        let rid = rec.request_id.map_or(0, crate::ids::key_bytes);
        let tid = rec.trace_id.map_or(0, crate::ids::key_bytes);
        let Some(status) = rec.status else {
            // an application log line, not a request: it still carries ids
            if self.role == Role::Upstream {
                self.keys.add(rid, tid);
            }
            if let (Some(t), Some(l)) = (rec.time, rec.level)
                && l >= crate::record::Level::Error
                && plausible(t.unix_us.div_euclid(1_000_000))
            {
                self.timeline.add(Point { unix_us: t.unix_us, error_level: true, ..Point::default() });
            }
            return;
        };
        self.keys.add(rid, tid);
        let code = status as usize;
        self.status[code] += 1;
        let class = code / 100;
        let (e4, e5) = ((class == 4) as u64, (class == 5) as u64);
        if self.role == Role::Gateway && class >= 4 && rec.upstream_status.last() != Some(status) {
            self.gateway_made[code] += 1;
        }
        self.upstream_logged +=
            (!rec.upstream_status.is_empty() || rec.upstream_us.is_some() || rec.upstream_addr.is_some()) as u64;
        if let Some(d) = rec.duration_us {
            self.latency.record(d);
            if (1..=5).contains(&class) {
                self.latency_by_class[class - 1].record(d);
            }
        }
        if let Some(u) = rec.upstream_us {
            self.upstream_latency.record(u);
        }
        if let Some(t) = rec.time {
            self.count_minute(t.unix_us.div_euclid(60_000_000), e4, e5);
            let error_level = rec.level.is_some_and(|l| l >= crate::record::Level::Error);
            // a garbage time (1970, 2099) would stretch the buckets over decades
            if plausible(t.unix_us.div_euclid(1_000_000)) {
                self.timeline.add(Point {
                    unix_us: t.unix_us,
                    status: Some(status),
                    latency_us: rec.duration_us,
                    error_level,
                });
            }
        }
        let at = match rec.time {
            Some(t) if plausible(t.unix_us.div_euclid(1_000_000)) => t.unix_us,
            _ => NO_TIME,
        };
        let p = Point { unix_us: at, status: Some(status), latency_us: rec.duration_us, error_level: false };
        if let Some(path) = rec.path {
            // the route string is built once per route, not once per line
            self.routes.entry(crate::routes::route_key(path), || crate::routes::normalize_bytes(path)).add(p);
        }
        // who asked: counts only
        let sec = (at != NO_TIME).then(|| at.div_euclid(1_000_000));
        for (keyed, value) in [
            (&mut self.clients, rec.client),
            (&mut self.user_agents, rec.user_agent),
            (&mut self.consumers, rec.consumer),
        ] {
            if let Some(v) = value {
                keyed.add(v, sec, status);
            }
        }
        if let Some(h) = rec.host {
            self.hosts.add(h, p);
        }
        if let Some(addrs) = rec.upstream_addr {
            let codes = rec.upstream_status.as_slice();
            let mut attempts = 0;
            for_each_upstream(addrs, codes, status, |_, _, _| attempts += 1);
            let us = rec.upstream_us.or(rec.duration_us);
            let mut i = 0;
            for_each_upstream(addrs, codes, status, |key, addr, got| {
                i += 1;
                // an attempt without an answer (refused, reset, timed out) counts as failed; the time is the last's
                let latency_us = if i == attempts { us } else { None };
                let attempt = Point { status: Some(got.unwrap_or(502)), latency_us, ..p };
                self.addrs.entry(key, || crate::text::escape_control(addr)).add(attempt);
                if i == attempts && (rec.upstream_connect_us.is_some() || rec.upstream_header_us.is_some()) {
                    // keyed as the address is among `addrs`
                    self.phases.entry(super::keyed::stored(key)).or_default().record(
                        rec.upstream_connect_us,
                        rec.upstream_header_us,
                        us,
                    );
                }
            });
        }
    }

    #[inline]
    fn count_minute(&mut self, minute: i64, e4: u64, e5: u64) {
        match &mut self.cur_minute {
            Some((m, s)) if *m == minute => {
                s.requests += 1;
                s.client_errors += e4;
                s.server_errors += e5;
            }
            cur => {
                if let Some((m, s)) = cur.take() {
                    add_minute(&mut self.minutes, m, s);
                }
                *cur = Some((minute, MinuteStat { requests: 1, client_errors: e4, server_errors: e5 }));
            }
        }
    }

    /// Flush cached state; call before reading `minutes`.
    pub fn finish(&mut self) {
        if let Some((m, s)) = self.cur_minute.take() {
            add_minute(&mut self.minutes, m, s);
        }
    }

    /// Add another tally of the same source into this one.
    pub fn merge(&mut self, mut other: Tally) {
        self.finish();
        other.finish();
        self.lines += other.lines;
        self.blank += other.blank;
        self.parsed += other.parsed;
        self.unparsed += other.unparsed;
        self.continuation += other.continuation;
        self.exceptions.merge(other.exceptions);
        self.unparsed_examples.extend(other.unparsed_examples);
        self.unparsed_examples.sort_by_key(|u| u.at);
        self.unparsed_examples.truncate(UNPARSED_EXAMPLES);
        self.first = [self.first, other.first].into_iter().flatten().min_by_key(|t| t.unix_us);
        self.last = [self.last, other.last].into_iter().flatten().max_by_key(|t| t.unix_us);
        for (a, b) in self.status.iter_mut().zip(other.status.iter()) {
            *a += b;
        }
        for (a, b) in self.gateway_made.iter_mut().zip(other.gateway_made.iter()) {
            *a += b;
        }
        self.upstream_logged += other.upstream_logged;
        self.latency.merge(&other.latency);
        for (a, b) in self.latency_by_class.iter_mut().zip(&other.latency_by_class) {
            a.merge(b);
        }
        self.upstream_latency.merge(&other.upstream_latency);
        for (mine, theirs) in
            [(&mut self.routes, &other.routes), (&mut self.addrs, &other.addrs), (&mut self.hosts, &other.hosts)]
        {
            mine.merge(theirs);
        }
        for (mine, theirs) in [
            (&mut self.clients, &other.clients),
            (&mut self.user_agents, &other.user_agents),
            (&mut self.consumers, &other.consumers),
        ] {
            mine.merge(theirs);
        }
        for (k, v) in other.phases {
            self.phases.entry(k).or_default().absorb(&v);
        }
        for (m, s) in other.minutes {
            add_minute(&mut self.minutes, m, s);
        }
        for (a, b) in self.levels.iter_mut().zip(other.levels) {
            *a += b;
        }
        self.keys.merge(other.keys);
        let room = crate::markers::MAX_MARKERS.saturating_sub(self.markers.len());
        self.markers.extend(other.markers.into_iter().take(room));
        self.evidence.merge(other.evidence);
        self.timeline.merge(&other.timeline);
    }

    /// Requests counted (records with a status).
    pub fn requests(&self) -> u64 {
        self.status.iter().sum()
    }
}

/// Call `f` for each upstream attempt of a response that ended with `status`: a key for its address, the address,
/// and the status the attempt got (`None`: no answer). Empty and `-` addresses are skipped. A log that records
/// upstream addresses but not their statuses (`codes` empty) lends each attempt the response's own status;
/// otherwise every attempt would look failed.
#[inline]
pub(crate) fn for_each_upstream(addrs: &[u8], codes: &[u16], status: u16, mut f: impl FnMut(u64, &[u8], Option<u16>)) {
    let own = codes.is_empty().then_some(status);
    for_each_attempt(addrs, |i, addr| {
        if addr.is_empty() || addr == b"-" {
            return;
        }
        let key = {
            use std::hash::Hasher;
            let mut h = rustc_hash::FxHasher::default();
            h.write(addr);
            h.finish()
        };
        f(key, addr, codes.get(i).copied().or(own));
    });
}

/// Call `f` with the index and address of each attempt in an upstream address list: nginx separates attempts
/// with `, ` and internal redirects with ` : `.
#[inline]
fn for_each_attempt(addrs: &[u8], mut f: impl FnMut(usize, &[u8])) {
    if !has_comma_or_space(addrs) {
        f(0, addrs);
    } else if addrs.iter().all(|&c| c.is_ascii() && c != 0x0b) {
        // as below, on bytes with no string built: on ASCII without \x0B, `str::trim` trims what `trim_ascii` does
        let mut i = 0;
        for part in addrs.split(|&c| c == b',') {
            let mut rest = part;
            loop {
                let (addr, more) = match rest.windows(3).position(|w| w == b" : ") {
                    Some(p) => (&rest[..p], Some(&rest[p + 3..])),
                    None => (rest, None),
                };
                f(i, addr.trim_ascii());
                i += 1;
                match more {
                    Some(m) => rest = m,
                    None => break,
                }
            }
        }
    } else {
        let text = String::from_utf8_lossy(addrs);
        let attempts = text.split(',').flat_map(|a| a.split(" : ")).map(str::trim);
        for (i, addr) in attempts.enumerate() {
            f(i, addr.as_bytes());
        }
    }
}

/// True when `b` holds a `,` or a space. One address (`10.0.0.8:8080`) is 8 to 16 bytes: two overlapping words
/// test it in a few instructions where a byte loop takes ~90.
#[inline]
fn has_comma_or_space(b: &[u8]) -> bool {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // the high bit of each byte of `w` that equals `c` (exact: no carries cross bytes)
    let eq = |w: u64, c: u8| {
        let x = w ^ (0x0101_0101_0101_0101 * c as u64);
        !(((x & LO7) + LO7) | x) & !LO7
    };
    let n = b.len();
    if !(8..=16).contains(&n) {
        return b.iter().any(|&c| c == b',' || c == b' ');
    }
    let lo = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
    let hi = u64::from_le_bytes(b[n - 8..].try_into().expect("8 bytes"));
    (eq(lo, b',') | eq(lo, b' ') | eq(hi, b',') | eq(hi, b' ')) != 0
}

fn add_minute(map: &mut BTreeMap<i64, MinuteStat>, m: i64, s: MinuteStat) {
    map.entry(m).or_default().absorb(&s);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn attempts(addrs: &[u8]) -> Vec<(usize, Vec<u8>)> {
        let mut v = Vec::new();
        for_each_attempt(addrs, |i, a| v.push((i, a.to_vec())));
        v
    }

    /// How attempts were split before the byte fast path.
    fn reference(addrs: &[u8]) -> Vec<(usize, Vec<u8>)> {
        if memchr::memchr2(b',', b' ', addrs).is_none() {
            return vec![(0, addrs.to_vec())];
        }
        let text = String::from_utf8_lossy(addrs);
        text.split(',').flat_map(|a| a.split(" : ")).map(str::trim).map(|a| a.as_bytes().to_vec()).enumerate().collect()
    }

    #[test]
    fn attempts_split() {
        assert_eq!(attempts(b"10.0.0.1:80"), reference(b"10.0.0.1:80"));
        assert_eq!(attempts(b"a:1, b:2 : c:3"), vec![(0, b"a:1".to_vec()), (1, b"b:2".to_vec()), (2, b"c:3".to_vec())]);
        assert_eq!(attempts(b"a, \x0bb"), reference(b"a, \x0bb"));
    }

    proptest! {
        #[test]
        fn comma_or_space_as_bytewise(b in prop::collection::vec(prop::sample::select(&b", ,a1:\x2c\xac\xa0\x00\xff"[..]), 0..24)) {
            prop_assert_eq!(has_comma_or_space(&b), b.iter().any(|&c| c == b',' || c == b' '));
        }

        #[test]
        fn attempts_split_as_before(addrs in prop::collection::vec(prop::sample::select(&b",, : :a1.\t\x0b\r\xc2\xa0\xff"[..]), 0..24)) {
            prop_assert_eq!(attempts(&addrs), reference(&addrs));
        }
    }
}
