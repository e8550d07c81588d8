//! Request-id keys collected while scanning, and the correlation figures computed from them.
//!
//! Ids are hashed to 64-bit keys (see [`crate::ids::key`]) and kept in 256 bins by their top byte, so that
//! the final sort runs on cache-sized pieces, in parallel, and the gateway/upstream join is a linear merge.

const BINS: usize = 256;

fn bin_of(k: u64) -> usize {
    (k >> 56) as usize
}

/// The id keys of one role's records. A record's primary key is its request id (else its trace id);
/// records carrying both also keep the trace id as a secondary key.
#[derive(Debug)]
pub struct IdKeys {
    bins: Vec<Vec<u64>>,
    pairs: Vec<[u64; 2]>,
    without_id: u64,
}

impl Default for IdKeys {
    fn default() -> Self {
        IdKeys { bins: vec![Vec::new(); BINS], pairs: Vec::new(), without_id: 0 }
    }
}

impl IdKeys {
    /// Count a record with its request-id and trace-id keys (0 = absent).
    #[inline]
    pub fn add(&mut self, rid: u64, tid: u64) {
        match (rid, tid) {
            (0, 0) => self.without_id += 1,
            (k, 0) | (0, k) => self.bins[bin_of(k)].push(k),
            (r, t) => {
                self.bins[bin_of(r)].push(r);
                if r != t {
                    self.pairs.push([r, t]);
                }
            }
        }
    }

    /// Move another collection's keys into this one.
    pub fn merge(&mut self, other: IdKeys) {
        for (a, mut b) in self.bins.iter_mut().zip(other.bins) {
            if a.is_empty() {
                *a = b;
            } else {
                a.append(&mut b);
            }
        }
        self.pairs.extend(other.pairs);
        self.without_id += other.without_id;
    }

    /// Records counted that carried an id.
    pub fn with_id(&self) -> u64 {
        self.bins.iter().map(|b| b.len() as u64).sum()
    }

    /// Records counted without any id.
    pub fn without_id(&self) -> u64 {
        self.without_id
    }

    fn sort(&mut self) {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let per = self.bins.len().div_ceil(threads);
        std::thread::scope(|s| {
            for chunk in self.bins.chunks_mut(per) {
                s.spawn(move || chunk.iter_mut().for_each(|b| b.sort_unstable()));
            }
        });
    }

    fn contains(&self, k: u64) -> bool {
        self.bins[bin_of(k)].binary_search(&k).is_ok()
    }
}

/// How gateway requests and upstream records line up by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Correlation {
    /// Gateway records that are requests.
    pub gateway_requests: u64,
    /// Gateway requests with at least one upstream record sharing their request or trace id.
    pub with_upstream: u64,
    /// Distinct upstream ids that no gateway request carries.
    pub upstream_only: u64,
    /// Gateway requests that logged no id at all.
    pub gateway_without_id: u64,
    /// Distinct ids at the gateway.
    pub gateway_ids: u64,
    /// Gateway ids that occur on more than one gateway line (retries, replays, fixed ids).
    pub gateway_ids_repeated: u64,
    /// Distinct ids in upstream records.
    pub upstream_ids: u64,
    /// Upstream ids that occur on more than one upstream line.
    pub upstream_ids_repeated: u64,
}

fn sorted_secondaries(pairs: &[[u64; 2]]) -> Vec<u64> {
    let mut v: Vec<u64> = pairs.iter().map(|p| p[1]).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// (distinct, distinct that repeat) in a sorted slice.
fn distinct(sorted: &[u64]) -> (u64, u64) {
    let (mut n, mut rep) = (0, 0);
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        n += 1;
        rep += (j - i > 1) as u64;
        i = j;
    }
    (n, rep)
}

/// Join the gateway's keys with the upstreams' keys. Ids are never assumed unique.
pub fn correlate(mut gw: IdKeys, mut up: IdKeys) -> Correlation {
    gw.sort();
    up.sort();
    let up_sec = sorted_secondaries(&up.pairs);
    let gw_sec = sorted_secondaries(&gw.pairs);
    let in_up = |k: u64| up.contains(k) || up_sec.binary_search(&k).is_ok();
    let in_gw = |k: u64| gw.contains(k) || gw_sec.binary_search(&k).is_ok();

    let mut c = Correlation { gateway_without_id: gw.without_id, ..Default::default() };
    c.gateway_requests = gw.with_id() + gw.without_id;
    for (g, u) in gw.bins.iter().zip(&up.bins) {
        let (n, rep) = distinct(g);
        c.gateway_ids += n;
        c.gateway_ids_repeated += rep;
        let (n, rep) = distinct(u);
        c.upstream_ids += n;
        c.upstream_ids_repeated += rep;
        // linear merge: gateway records (with repeats) whose primary key some upstream record has
        let mut j = 0;
        for &k in g {
            while j < u.len() && u[j] < k {
                j += 1;
            }
            if (j < u.len() && u[j] == k) || (!up_sec.is_empty() && up_sec.binary_search(&k).is_ok()) {
                c.with_upstream += 1;
            }
        }
        // distinct upstream primaries no gateway record has as primary or secondary
        let mut i = 0;
        let mut last = None;
        for &k in u {
            if last == Some(k) {
                continue;
            }
            last = Some(k);
            while i < g.len() && g[i] < k {
                i += 1;
            }
            let in_g = (i < g.len() && g[i] == k) || (!gw_sec.is_empty() && gw_sec.binary_search(&k).is_ok());
            c.upstream_only += !in_g as u64;
        }
    }
    // records that matched only through their trace id
    for &[r, t] in &gw.pairs {
        if !in_up(r) && in_up(t) {
            c.with_upstream += 1;
        }
    }
    let mut rescued: Vec<u64> = up.pairs.iter().filter(|[r, t]| !in_gw(*r) && in_gw(*t)).map(|p| p[0]).collect();
    rescued.sort_unstable();
    rescued.dedup();
    c.upstream_only -= rescued.len() as u64;
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::key;

    fn keys(entries: &[(&str, &str)]) -> IdKeys {
        let mut k = IdKeys::default();
        for (r, t) in entries {
            let f = |s: &str| if s.is_empty() { 0 } else { key(s) };
            k.add(f(r), f(t));
        }
        k
    }

    #[test]
    fn joins_by_request_and_trace_id() {
        let gw = keys(&[("a", ""), ("b", ""), ("b", ""), ("c", "t1"), ("", ""), ("d", "")]);
        let up = keys(&[("a", ""), ("a", ""), ("b", ""), ("", "t1"), ("x", ""), ("y", "t9"), ("z", "d")]);
        let c = correlate(gw, up);
        assert_eq!(c.gateway_requests, 6);
        assert_eq!(c.gateway_without_id, 1);
        // a, b, b via request id; c via trace id t1; d because an upstream record carries d as its trace id
        assert_eq!(c.with_upstream, 5);
        // x and y have nothing at the gateway; z is rescued by its trace id d; t1 is a gateway secondary
        assert_eq!(c.upstream_only, 2);
        assert_eq!(c.gateway_ids, 4);
        assert_eq!(c.gateway_ids_repeated, 1);
        assert_eq!(c.upstream_ids_repeated, 1);
    }

    #[test]
    fn merge_keeps_everything() {
        let mut a = keys(&[("a", ""), ("", "")]);
        a.merge(keys(&[("b", "t")]));
        assert_eq!(a.with_id(), 2);
        assert_eq!(a.without_id(), 1);
        let c = correlate(a, keys(&[("", "t")]));
        assert_eq!(c.with_upstream, 1);
        assert_eq!(c.upstream_only, 0);
    }
}
