//! Requests and errors per key over time, for keys that can number in thousands (clients, user agents,
//! consumers): a short list of time runs per key instead of a full series, so counting a record costs a hash
//! lookup and an increment.

use rustc_hash::FxHashMap;

/// Seconds a run covers at first.
const SLOT_S: i64 = 10;
/// Runs kept per key: past this, neighbours are merged two by two.
const MAX_RUNS: usize = 32;

/// Requests, 4xx + 5xx, and 5xx.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests.
    pub requests: u64,
    /// 4xx and 5xx.
    pub errors: u64,
    /// 5xx.
    pub server_errors: u64,
}

impl Counts {
    #[inline]
    fn add(&mut self, status: u16) {
        self.requests += 1;
        self.errors += (status >= 400) as u64;
        self.server_errors += (status >= 500) as u64;
    }

    fn absorb(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.server_errors += o.server_errors;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    /// First second covered.
    from: i64,
    /// End, exclusive.
    to: i64,
    counts: Counts,
}

/// One key's counts: in all, and in time runs.
#[derive(Clone, Debug, Default)]
pub struct KeyRuns {
    /// The key as shown, escaped.
    pub name: String,
    /// Since the first record.
    pub total: Counts,
    /// Count per error status, for the most frequent.
    error_codes: Vec<(u16, u64)>,
    runs: Vec<Run>,
    /// Seconds each run covers now (0 until the first): [`SLOT_S`], doubled at each coarsening, so that runs
    /// stay aligned to their width and a coarser run is always a union of finer ones.
    width: i64,
}

impl KeyRuns {
    /// No counts yet, for the key `name`.
    pub fn named(name: String) -> Self {
        KeyRuns { name, ..KeyRuns::default() }
    }

    /// Count one record with `status` at second `sec` (`None`: no time to place it by).
    #[inline]
    pub fn add(&mut self, sec: Option<i64>, status: u16) {
        self.total.add(status);
        if status >= 400 {
            match self.error_codes.iter_mut().find(|(c, _)| *c == status) {
                Some((_, n)) => *n += 1,
                None => self.error_codes.push((status, 1)),
            }
        }
        let Some(s) = sec else { return };
        // records come nearly in time order: the newest run first, then back a few
        if let Some(r) = self.runs.iter_mut().rev().take(4).find(|r| (r.from..r.to).contains(&s)) {
            r.counts.add(status);
            return;
        }
        let w = self.width.max(SLOT_S);
        self.width = w;
        let from = s - s.rem_euclid(w);
        let mut counts = Counts::default();
        counts.add(status);
        self.runs.push(Run { from, to: from + w, counts });
        while self.runs.len() > MAX_RUNS {
            self.width *= 2;
            self.realign();
        }
    }

    /// Put the runs on the grid of the current width, merging those that land on the same slot.
    fn realign(&mut self) {
        let w = self.width.max(SLOT_S);
        self.runs.sort_by_key(|r| r.from);
        let mut out: Vec<Run> = Vec::with_capacity(self.runs.len());
        for r in &self.runs {
            let from = r.from - r.from.rem_euclid(w);
            match out.last_mut() {
                Some(last) if last.from == from => last.counts.absorb(&r.counts),
                _ => out.push(Run { from, to: from + w, counts: r.counts }),
            }
        }
        self.runs = out;
    }

    /// Add another count of the same key (a parallel worker's).
    pub fn absorb(&mut self, o: &KeyRuns) {
        self.total.absorb(&o.total);
        for &(c, n) in &o.error_codes {
            match self.error_codes.iter_mut().find(|(k, _)| *k == c) {
                Some((_, m)) => *m += n,
                None => self.error_codes.push((c, n)),
            }
        }
        self.runs.extend_from_slice(&o.runs);
        self.width = self.width.max(o.width);
        self.realign();
        while self.runs.len() > MAX_RUNS {
            self.width *= 2;
            self.realign();
        }
    }

    /// What came in `[from, to)`: each run counts where its middle falls.
    pub fn during(&self, (from, to): (i64, i64)) -> Counts {
        let mut c = Counts::default();
        for r in self.runs.iter().filter(|r| (from..to).contains(&(r.from + (r.to - r.from) / 2))) {
            c.absorb(&r.counts);
        }
        c
    }

    /// The most frequent error status (ties: the lower code).
    pub fn top_error(&self) -> Option<u16> {
        self.error_codes.iter().max_by_key(|(c, n)| (*n, std::cmp::Reverse(*c))).map(|(c, _)| *c)
    }
}

/// Every key of one dimension; past `max` keys, new ones are counted together under `(other)`.
#[derive(Clone, Debug)]
pub struct KeyedRuns {
    /// Per key hash (0 for the rest).
    pub keys: FxHashMap<u64, KeyRuns>,
    max: usize,
}

impl KeyedRuns {
    /// At most `max` keys.
    pub fn new(max: usize) -> Self {
        KeyedRuns { keys: FxHashMap::default(), max: max.max(1) }
    }

    fn entry(&mut self, key: u64, name: impl FnOnce() -> String) -> &mut KeyRuns {
        let k = if self.keys.len() >= self.max && !self.keys.contains_key(&key) { 0 } else { key };
        self.keys.entry(k).or_insert_with(|| KeyRuns::named(if k == 0 { "(other)".to_string() } else { name() }))
    }

    /// Count one record of `status` at second `sec` under the key `name`.
    #[inline]
    pub fn add(&mut self, name: &[u8], sec: Option<i64>, status: u16) {
        let key = super::keyed::stored(super::keyed::hash(name));
        self.entry(key, || crate::text::escape_control(name)).add(sec, status);
    }

    /// Add another dimension's counts (a parallel worker's).
    pub fn merge(&mut self, other: &KeyedRuns) {
        for (&k, kr) in &other.keys {
            let name = kr.name.clone();
            self.entry(k, || name).absorb(kr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_over_a_long_span_keeps_few_runs_and_splits_by_their_middles() {
        let mut k = KeyRuns::default();
        let t0 = 1_700_000_000;
        for s in 0..3600 {
            k.add(Some(t0 + s), if s >= 1800 { 502 } else { 200 });
        }
        assert!(k.runs.len() <= MAX_RUNS);
        assert_eq!(k.total, Counts { requests: 3600, errors: 1800, server_errors: 1800 });
        let (before, now) = (k.during((t0, t0 + 1800)), k.during((t0 + 1800, i64::MAX)));
        assert_eq!(before.requests + now.requests, 3600);
        assert_eq!((before.errors, now.errors), (0, 1800));
        assert_eq!(k.top_error(), Some(502));
    }

    #[test]
    fn merged_workers_give_the_totals_of_one() {
        let (mut a, mut b, mut one) = (KeyedRuns::new(10), KeyedRuns::new(10), KeyedRuns::new(10));
        for s in 0..600i64 {
            let name: &[u8] = if s % 3 == 0 { b"x" } else { b"y" };
            let status = if s % 5 == 0 { 429 } else { 200 };
            if s < 300 {
                a.add(name, Some(1_700_000_000 + s), status)
            } else {
                b.add(name, Some(1_700_000_000 + s), status)
            }
            one.add(name, Some(1_700_000_000 + s), status);
        }
        a.merge(&b);
        for (k, kr) in &one.keys {
            assert_eq!(a.keys[k].total, kr.total);
            let half = (1_700_000_000, 1_700_000_300);
            assert_eq!(a.keys[k].during(half), kr.during(half));
        }
    }
}
