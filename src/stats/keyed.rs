//! Counts per key of one dimension (route, upstream address, virtual host, client, user agent, consumer) over
//! time: enough to list the keys by count, and to compare a baseline span with the incident window per key.

use rustc_hash::FxHashMap;

use super::timeline::{Bucket, Point, Series};

/// The counts of one key over time.
#[derive(Clone, Debug)]
pub struct KeySeries {
    /// The key as shown (a route, an address, a client …), escaped where it came from a log.
    pub name: String,
    /// Over time.
    pub series: Series,
    /// Since the first record; while [`KeySeries::whole`], only the records the series could not place (see
    /// [`KeySeries::settle`]).
    pub total: Bucket,
    /// The series keeps everything (`Keep::All`): the total is summed from it once, at the end, instead of
    /// counting every record twice.
    whole: bool,
}

impl KeySeries {
    /// Count one record (over time too, unless its time is [`NO_TIME`]).
    #[inline]
    pub fn add(&mut self, p: Point) {
        let placed = p.unix_us != NO_TIME && self.series.add(p);
        if !(placed && self.whole) {
            self.total.count(&p, &[]);
        }
    }

    /// Make [`KeySeries::total`] whole (after the last record and merge of a series that keeps everything).
    pub fn settle(&mut self) {
        if self.whole {
            self.total.absorb(&self.series.total(i64::MIN, i64::MAX));
            self.whole = false;
        }
    }

    /// Add another count of the same key.
    pub fn absorb(&mut self, o: &KeySeries) {
        debug_assert_eq!(self.whole, o.whole, "settle both or neither");
        self.series.merge(&o.series);
        self.total.absorb(&o.total);
    }

    /// A key counted by a whole series (a source's timeline).
    pub fn whole(name: String, series: &Series) -> KeySeries {
        KeySeries { name, total: series.total(i64::MIN, i64::MAX), series: series.clone(), whole: false }
    }

    /// What came in `[from, to)`: each bucket counts where its middle falls, so a coarse bucket on the border of
    /// two spans counts once.
    pub fn during(&self, (from, to): (i64, i64)) -> Bucket {
        let res = self.series.resolution();
        self.series.buckets().filter(|(s, _)| (from..to).contains(&(s + res / 2))).map(|(_, b)| b).sum()
    }
}

/// A point's time when the record had none (or none that could be real): counted in the total only.
pub const NO_TIME: i64 = i64::MIN;

/// The key that collects what comes after [`Keyed`]'s limit of keys.
pub const OTHER: u64 = 0;

/// Every key of one dimension, each with its counts over time; past `max` keys, new ones are counted together
/// under `(other)`.
#[derive(Clone, Debug)]
pub struct Keyed {
    /// Per key hash ([`OTHER`] for the rest).
    pub keys: FxHashMap<u64, KeySeries>,
    max: usize,
    /// An empty series as each key's starts.
    template: Series,
}

impl Keyed {
    /// At most `max` keys, each counted over time in a copy of `template`.
    pub fn new(max: usize, template: Series) -> Self {
        Keyed { keys: FxHashMap::default(), max: max.max(1), template }
    }

    /// The counts of `key` (a caller's: see [`stored`]), made (named `name()`) if new; [`OTHER`]'s once the limit
    /// is reached.
    #[inline]
    pub fn entry(&mut self, key: u64, name: impl FnOnce() -> String) -> &mut KeySeries {
        self.slot(stored(key), name)
    }

    /// The counts under a key as stored ([`OTHER`] included).
    fn slot(&mut self, key: u64, name: impl FnOnce() -> String) -> &mut KeySeries {
        let k = if self.keys.len() >= self.max && !self.keys.contains_key(&key) { OTHER } else { key };
        let template = &self.template;
        self.keys.entry(k).or_insert_with(|| KeySeries {
            name: if k == OTHER { "(other)".to_string() } else { name() },
            series: template.clone(),
            total: Bucket::default(),
            whole: template.keeps_all(),
        })
    }

    /// Count one record under `key` (its bytes hashed), named from `name` if new.
    #[inline]
    pub fn add(&mut self, name: &[u8], p: Point) {
        self.entry(hash(name), || crate::text::escape_control(name)).add(p);
    }

    /// Add another dimension's counts (a parallel worker's).
    pub fn merge(&mut self, other: &Keyed) {
        for (&k, ks) in &other.keys {
            let name = ks.name.clone();
            self.slot(k, || name).absorb(ks);
        }
    }
}

/// How a caller's key is stored: [`OTHER`] is taken, so a key equal to it moves by one.
#[inline]
pub fn stored(key: u64) -> u64 {
    if key == OTHER { 1 } else { key }
}

/// The key of some bytes.
#[inline]
pub fn hash(b: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(b);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::timeline::Keep;

    fn at(sec: i64, status: u16) -> Point {
        Point { unix_us: sec * 1_000_000, status: Some(status), latency_us: Some(1000), ..Point::default() }
    }

    #[test]
    fn keys_past_the_limit_are_counted_together() {
        let mut k = Keyed::new(2, Series::new(Keep::All, 16, &[]));
        for (i, name) in ["a", "b", "c", "d", "a"].iter().enumerate() {
            k.add(name.as_bytes(), at(1_700_000_000 + i as i64, 200));
        }
        k.keys.values_mut().for_each(KeySeries::settle);
        let mut names: Vec<(&str, u64)> = k.keys.values().map(|s| (s.name.as_str(), s.total.requests())).collect();
        names.sort();
        assert_eq!(names, [("(other)", 2), ("a", 2), ("b", 1)]);
    }

    #[test]
    fn a_span_counts_each_bucket_once_by_its_middle() {
        // 16 buckets over 160 s: 10-second buckets
        let mut k = Keyed::new(10, Series::new(Keep::All, 16, &[]));
        let t0 = 1_700_000_000; // a multiple of 10
        for s in 0..160 {
            k.add(b"r", at(t0 + s, if s >= 100 { 502 } else { 200 }));
        }
        let ks = k.keys.values().next().unwrap();
        assert_eq!(ks.series.resolution(), 10);
        // a split at 104 s: the bucket [100, 110) is after it by its middle
        let (before, now) = (ks.during((t0, t0 + 104)), ks.during((t0 + 104, t0 + 160)));
        assert_eq!(before.requests() + now.requests(), 160);
        assert_eq!((before.count_codes(502, 502), now.count_codes(502, 502)), (0, 60));
    }

    #[test]
    fn merged_workers_give_the_counts_of_one() {
        let template = Series::new(Keep::All, 16, &[]);
        let (mut a, mut b, mut one) =
            (Keyed::new(10, template.clone()), Keyed::new(10, template.clone()), Keyed::new(10, template));
        for s in 0..300 {
            let p = at(1_700_000_000 + s, if s % 7 == 0 { 500 } else { 200 });
            let name: &[u8] = if s % 3 == 0 { b"x" } else { b"y" };
            if s < 150 {
                a.add(name, p)
            } else {
                b.add(name, p)
            }
            one.add(name, p);
        }
        a.merge(&b);
        a.keys.values_mut().chain(one.keys.values_mut()).for_each(KeySeries::settle);
        assert!(one.keys.values().all(|k| k.total.requests() > 0));
        for (k, ks) in &one.keys {
            let m = &a.keys[k];
            assert_eq!(m.total, ks.total);
            assert_eq!(m.during((1_700_000_000, 1_700_000_150)), ks.during((1_700_000_000, 1_700_000_150)));
        }
    }
}
