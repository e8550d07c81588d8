//! Status codes and latency over log time, in time buckets: what the charts draw and the alert rules read.
//!
//! A record lands in the bucket of its own timestamp, so a file read from its start charts its real history and
//! late or out-of-order lines still count where they belong. A [`Series`] holds at most `cap` buckets:
//! - [`Keep::Recent`] keeps one-second buckets for the newest `cap` seconds and forgets older ones;
//! - [`Keep::All`] keeps everything since the first record, coarsening its buckets (1 s, 2 s, 10 s, 20 s, 1 min, …)
//!   whenever the span would need more than `cap`, so its memory is bounded whatever the session's length.

use std::collections::VecDeque;

/// Status classes: index 1..=5 for 1xx..5xx, 0 for any other status.
pub const CLASSES: usize = 6;
/// How many latency thresholds a series counts exactly (for alert rules on percentiles).
pub const MAX_THRESHOLDS: usize = 4;
/// Latency bins: below 16 µs, then four per power of two up to 2^40 µs (12 days).
const LAT_BINS: usize = 1 + 36 * 4;
/// Bucket widths in seconds; each divides the next, so coarsening never splits a bucket.
const RESOLUTIONS: [i64; 12] = [1, 2, 10, 20, 60, 120, 600, 1200, 3600, 7200, 21_600, 86_400];
/// How far from the first record a timestamp may be before it is taken for garbage (a year and a bit).
const MAX_REACH_S: i64 = 400 * 86_400;
/// Timestamps before 2000 are taken for garbage (an epoch-0 date, a parse of something else).
const EARLIEST_S: i64 = 946_684_800;
/// Timestamps more than a day ahead of the wall clock are taken for garbage.
const AHEAD_S: i64 = 86_400;

/// Whether a log time could be real: from 2000 on and not more than a day ahead of the clock.
pub fn plausible(sec: i64) -> bool {
    static LATEST: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let latest = *LATEST.get_or_init(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(i64::MAX / 2, |d| d.as_secs() as i64)
    });
    sec >= EARLIEST_S && sec <= latest + AHEAD_S
}

/// The class index of a status.
#[inline]
pub fn class_of(status: u16) -> usize {
    let c = (status / 100) as usize;
    if (1..=5).contains(&c) { c } else { 0 }
}

/// `a / b` rounded up, for `b > 0`.
fn ceil_div(a: i64, b: i64) -> i64 {
    -(-a).div_euclid(b)
}

#[inline]
fn lat_bin(us: u64) -> usize {
    if us < 16 {
        return 0;
    }
    let e = 63 - us.leading_zeros() as usize; // >= 4
    let sub = ((us >> (e - 2)) & 3) as usize;
    (1 + (e - 4) * 4 + sub).min(LAT_BINS - 1)
}

/// The middle of latency bin `i`, in µs (within 12% of any value in it).
fn lat_value(i: usize) -> u64 {
    if i == 0 {
        return 8;
    }
    let (e, sub) = ((i - 1) / 4 + 4, ((i - 1) % 4) as u64);
    let width = 1u64 << (e - 2);
    ((4 + sub) << (e - 2)) + width / 2
}

/// A small latency distribution (the bins of [`Bucket`]'s, within about 12%): for one route or upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Digest {
    bins: Option<Box<[u32; LAT_BINS]>>,
    n: u64,
    max: u64,
}

impl Digest {
    /// Count one duration, µs.
    #[inline]
    pub fn record(&mut self, us: u64) {
        let b = self.bins.get_or_insert_with(|| Box::new([0; LAT_BINS]));
        b[lat_bin(us)] = b[lat_bin(us)].saturating_add(1);
        self.n += 1;
        self.max = self.max.max(us);
    }

    /// Add another digest.
    pub fn absorb(&mut self, o: &Digest) {
        if let Some(ob) = &o.bins {
            let b = self.bins.get_or_insert_with(|| Box::new([0; LAT_BINS]));
            for (a, x) in b.iter_mut().zip(ob.iter()) {
                *a = a.saturating_add(*x);
            }
        }
        self.n += o.n;
        self.max = self.max.max(o.max);
    }

    /// Durations counted.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The duration at quantile `q` (0..=1), µs; `None` when empty.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        bins_quantile(self.bins.as_deref()?, self.n, self.max, q)
    }
}

/// The value at quantile `q` of `n` durations counted in `bins`, the longest being `max`: within about 12%.
fn bins_quantile(bins: &[u32; LAT_BINS], n: u64, max: u64, q: f64) -> Option<u64> {
    if n == 0 {
        return None;
    }
    let rank = super::latency::rank(q, n);
    let mut seen = 0u64;
    for (i, &c) in bins.iter().enumerate() {
        seen += c as u64;
        if seen >= rank {
            return Some(lat_value(i).min(max));
        }
    }
    None
}

/// What happened in one time bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Records with a status, per class (see [`CLASSES`]).
    pub classes: [u32; CLASSES],
    /// Count per status code, in order of first appearance.
    pub codes: Vec<(u16, u32)>,
    /// Records whose latency was above each of the series' thresholds.
    pub above: [u32; MAX_THRESHOLDS],
    /// Log lines at error level or worse (application logs, with or without a status).
    pub error_lines: u32,
    /// Records with a latency.
    pub timed: u32,
    /// The longest latency, µs (after [`Bucket::subtract`], possibly one that left the window).
    pub max_us: u64,
    latency: Option<Box<[u32; LAT_BINS]>>,
}

impl Bucket {
    /// Records with a status.
    pub fn requests(&self) -> u64 {
        self.classes.iter().map(|&n| n as u64).sum()
    }

    /// Records with a status in `lo..=hi` (e.g. 500..=599).
    pub fn count_codes(&self, lo: u16, hi: u16) -> u64 {
        self.codes.iter().filter(|(c, _)| (lo..=hi).contains(c)).map(|&(_, n)| n as u64).sum()
    }

    fn add_code(&mut self, code: u16, n: u32) {
        match self.codes.iter_mut().find(|(c, _)| *c == code) {
            Some((_, m)) => *m = m.saturating_add(n),
            None => self.codes.push((code, n)),
        }
    }

    /// Count one record; `thresholds` are the latency limits counted in [`Bucket::above`].
    #[inline]
    pub fn count(&mut self, p: &Point, thresholds: &[u64]) {
        if let Some(s) = p.status {
            self.classes[class_of(s)] += 1;
            self.add_code(s, 1);
            if let Some(us) = p.latency_us {
                self.timed += 1;
                self.max_us = self.max_us.max(us);
                let l = self.latency.get_or_insert_with(|| Box::new([0; LAT_BINS]));
                l[lat_bin(us)] += 1;
                for (a, &t) in self.above.iter_mut().zip(thresholds) {
                    *a += (us > t) as u32;
                }
            }
        }
        self.error_lines += p.error_level as u32;
    }

    /// Add another bucket's counts.
    pub fn absorb(&mut self, o: &Bucket) {
        for (a, b) in self.classes.iter_mut().zip(o.classes) {
            *a = a.saturating_add(b);
        }
        for &(c, n) in &o.codes {
            self.add_code(c, n);
        }
        for (a, b) in self.above.iter_mut().zip(o.above) {
            *a = a.saturating_add(b);
        }
        self.error_lines = self.error_lines.saturating_add(o.error_lines);
        self.timed = self.timed.saturating_add(o.timed);
        self.max_us = self.max_us.max(o.max_us);
        if let Some(ol) = &o.latency {
            let l = self.latency.get_or_insert_with(|| Box::new([0; LAT_BINS]));
            for (a, b) in l.iter_mut().zip(ol.iter()) {
                *a = a.saturating_add(*b);
            }
        }
    }

    /// Take away the counts of a bucket earlier added with [`Bucket::absorb`] (a sliding window's oldest).
    pub fn subtract(&mut self, o: &Bucket) {
        for (a, b) in self.classes.iter_mut().zip(o.classes) {
            *a = a.saturating_sub(b);
        }
        for &(c, n) in &o.codes {
            if let Some((_, m)) = self.codes.iter_mut().find(|(k, _)| *k == c) {
                *m = m.saturating_sub(n);
            }
        }
        self.codes.retain(|(_, n)| *n > 0);
        for (a, b) in self.above.iter_mut().zip(o.above) {
            *a = a.saturating_sub(b);
        }
        self.error_lines = self.error_lines.saturating_sub(o.error_lines);
        self.timed = self.timed.saturating_sub(o.timed);
        if let (Some(l), Some(ol)) = (&mut self.latency, &o.latency) {
            for (a, b) in l.iter_mut().zip(ol.iter()) {
                *a = a.saturating_sub(*b);
            }
        }
    }

    /// The latency at quantile `q` (0..=1), in µs, within about 12% (and never above the longest); `None` without timed records.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        bins_quantile(self.latency.as_deref()?, self.timed as u64, self.max_us, q)
    }

    /// The codes, most frequent first (ties: lower code first).
    pub fn top_codes(&self) -> Vec<(u16, u32)> {
        let mut v = self.codes.clone();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// Nothing counted.
    pub fn is_empty(&self) -> bool {
        self.classes == [0; CLASSES] && self.error_lines == 0
    }
}

impl<'a> std::iter::Sum<&'a Bucket> for Bucket {
    /// Buckets summed into one (see [`Bucket::absorb`]).
    fn sum<I: Iterator<Item = &'a Bucket>>(buckets: I) -> Bucket {
        let mut t = Bucket::default();
        buckets.for_each(|b| t.absorb(b));
        t
    }
}

/// One record, as a series counts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Point {
    /// Log time, µs since the epoch.
    pub unix_us: i64,
    /// The status sent, if the line is a request.
    pub status: Option<u16>,
    /// Its latency, µs.
    pub latency_us: Option<u64>,
    /// An application line at error level or worse.
    pub error_level: bool,
}

/// How a series bounds its memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// One-second buckets for the newest `cap` seconds; older records are not kept.
    Recent,
    /// Everything since the first record, in buckets that grow as the span does.
    All,
}

/// Time buckets of one stream of records.
#[derive(Clone, Debug)]
pub struct Series {
    keep: Keep,
    cap: usize,
    /// Seconds per bucket.
    res: i64,
    /// Index (time / res) of `buckets[0]`.
    base: i64,
    buckets: VecDeque<Bucket>,
    thresholds: [u64; MAX_THRESHOLDS],
    n_thresholds: usize,
    /// The first record's second, which bounds how far garbage timestamps can stretch an `All` series.
    anchor: Option<i64>,
    /// Records not kept: older than a `Recent` series reaches, or timestamps too far off to be real.
    pub dropped: u64,
    /// Buckets a `Recent` series slid past, kept for [`Series::take_evicted`] when asked for.
    evicted: Option<Vec<(i64, Bucket)>>,
    /// The last bucket counted into: its span (µs) and index.
    hot: (i64, i64, usize),
}

impl Series {
    /// An empty series holding at most `cap` buckets, counting exactly how many latencies exceed each of
    /// `thresholds_us` (at most [`MAX_THRESHOLDS`]; more are ignored).
    pub fn new(keep: Keep, cap: usize, thresholds_us: &[u64]) -> Self {
        let mut thresholds = [u64::MAX; MAX_THRESHOLDS];
        let n_thresholds = thresholds_us.len().min(MAX_THRESHOLDS);
        thresholds[..n_thresholds].copy_from_slice(&thresholds_us[..n_thresholds]);
        Series {
            keep,
            cap: cap.max(2),
            res: 1,
            base: 0,
            buckets: VecDeque::new(),
            thresholds,
            n_thresholds,
            anchor: None,
            dropped: 0,
            evicted: None,
            hot: (0, 0, 0),
        }
    }

    /// Keep the buckets a `Recent` series slides past, for [`Series::take_evicted`] (so another series can hold
    /// the older history without counting every record twice).
    pub fn keeping_evicted(mut self) -> Self {
        self.evicted = Some(Vec::new());
        self
    }

    /// The buckets slid past since the last call, with their start second.
    #[inline]
    pub fn take_evicted(&mut self) -> Option<Vec<(i64, Bucket)>> {
        match &mut self.evicted {
            Some(v) if !v.is_empty() => Some(std::mem::take(v)),
            _ => None,
        }
    }

    /// An empty series whose buckets are `res` seconds wide from the start (a `Recent` series then covers
    /// `cap × res` seconds).
    pub fn with_resolution(keep: Keep, res: i64, cap: usize, thresholds_us: &[u64]) -> Self {
        Series { res: res.max(1), ..Series::new(keep, cap, thresholds_us) }
    }

    /// Whether it keeps everything since its first record ([`Keep::All`]).
    pub fn keeps_all(&self) -> bool {
        self.keep == Keep::All
    }

    /// Seconds per bucket.
    pub fn resolution(&self) -> i64 {
        self.res
    }

    /// The latency thresholds counted in [`Bucket::above`], µs.
    pub fn thresholds(&self) -> &[u64] {
        &self.thresholds[..self.n_thresholds]
    }

    /// The span covered, as (first second, end second exclusive); `None` when empty.
    pub fn span(&self) -> Option<(i64, i64)> {
        (!self.buckets.is_empty()).then(|| (self.base * self.res, (self.base + self.buckets.len() as i64) * self.res))
    }

    /// The buckets with their start second, oldest first.
    pub fn buckets(&self) -> impl Iterator<Item = (i64, &Bucket)> {
        self.buckets.iter().enumerate().map(|(i, b)| ((self.base + i as i64) * self.res, b))
    }

    /// The number (time / res) of the bucket holding second `sec`, whether or not the series holds it.
    #[inline]
    fn slot(&self, sec: i64) -> i64 {
        if self.res == 1 { sec } else { sec.div_euclid(self.res) }
    }

    /// The bucket starting at second `start`, if the series holds one there.
    pub fn bucket_at(&self, start: i64) -> Option<&Bucket> {
        let i = self.slot(start) - self.base;
        usize::try_from(i).ok().and_then(|i| self.buckets.get(i))
    }

    /// Count one record; false when it is not kept (see [`Series::dropped`]).
    #[inline]
    pub fn add(&mut self, p: Point) -> bool {
        if p.status.is_none() && !p.error_level {
            return true;
        }
        // most records land in the bucket the record before landed in
        let (from, to, hot) = self.hot;
        let i = if p.unix_us >= from && p.unix_us < to {
            hot
        } else {
            match self.locate(p.unix_us) {
                Some(i) => i,
                None => {
                    self.dropped += 1;
                    return false;
                }
            }
        };
        self.buckets[i].count(&p, &self.thresholds[..self.n_thresholds]);
        true
    }

    /// The index of the bucket for a time (µs), made if needed; it becomes the hot bucket.
    fn locate(&mut self, unix_us: i64) -> Option<usize> {
        let sec = unix_us.div_euclid(1_000_000);
        let i = self.slot(sec).wrapping_sub(self.base);
        let i = if (i as u64) < self.buckets.len() as u64 { i as usize } else { self.grow(sec)? };
        let start_us = (self.base + i as i64) * self.res * 1_000_000;
        self.hot = (start_us, start_us + self.res * 1_000_000, i);
        Some(i)
    }

    /// Add another series' buckets (e.g. a parallel worker's) into this one.
    pub fn merge(&mut self, other: &Series) {
        for (start, b) in other.buckets() {
            self.absorb_at(start, b);
        }
        self.dropped += other.dropped;
    }

    /// Add a bucket that starts at second `start`.
    pub fn absorb_at(&mut self, start: i64, b: &Bucket) {
        if b.is_empty() {
            return;
        }
        match self.grow(start) {
            Some(i) => self.buckets[i].absorb(b),
            None => self.dropped += b.requests(),
        }
    }

    /// The index of the bucket for second `sec`, growing, sliding or coarsening the series as needed; `None` when
    /// it is not kept.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, sec: i64) -> Option<usize> {
        self.hot = (0, 0, 0); // the buckets may move
        let anchor = *self.anchor.get_or_insert(sec);
        if sec.abs_diff(anchor) > MAX_REACH_S as u64 {
            return None;
        }
        if self.buckets.is_empty() {
            self.base = self.slot(sec);
            self.buckets.push_back(Bucket::default());
            return Some(0);
        }
        let end = self.base + self.buckets.len() as i64;
        let mut idx = self.slot(sec);
        if (idx < self.base || idx >= end) && self.keep == Keep::All {
            let (lo, hi) = (idx.min(self.base), idx.max(end - 1));
            if hi - lo + 1 > self.cap as i64 {
                self.coarsen(lo * self.res, (hi + 1) * self.res);
                idx = self.slot(sec);
            }
        }
        let end = self.base + self.buckets.len() as i64;
        if idx < self.base {
            if end - idx > self.cap as i64 {
                return None; // Recent: older than it reaches
            }
            for _ in idx..self.base {
                self.buckets.push_front(Bucket::default());
            }
            self.base = idx;
        } else if idx >= end {
            if idx - self.base >= self.cap as i64 {
                // Recent: slide, forgetting the oldest seconds
                let new_base = idx - self.cap as i64 + 1;
                let gone = ((new_base - self.base) as usize).min(self.buckets.len());
                let (base, res) = (self.base, self.res);
                let drained = self.buckets.drain(..gone).enumerate();
                match &mut self.evicted {
                    Some(keep) => {
                        keep.extend(drained.filter(|(_, b)| !b.is_empty()).map(|(k, b)| ((base + k as i64) * res, b)))
                    }
                    None => drop(drained),
                }
                self.base = new_base;
            }
            let end = self.base + self.buckets.len() as i64;
            for _ in end..=idx {
                self.buckets.push_back(Bucket::default());
            }
        }
        let i = (idx - self.base) as usize;
        (i < self.buckets.len()).then_some(i)
    }

    /// Widen the buckets so that `[first, end)` fits in `cap` of them.
    fn coarsen(&mut self, first: i64, end: i64) {
        let fits = |r: i64| (end - 1).div_euclid(r) - first.div_euclid(r) < self.cap as i64;
        let res =
            RESOLUTIONS.iter().copied().find(|&r| r > self.res && r % self.res == 0 && fits(r)).unwrap_or_else(|| {
                let mut r = self.res * 2;
                while !fits(r) {
                    r *= 2;
                }
                r
            });
        let base = first.div_euclid(res);
        let mut out: VecDeque<Bucket> = VecDeque::new();
        out.resize(((end - 1).div_euclid(res) - base + 1) as usize, Bucket::default());
        for (start, b) in self.buckets() {
            out[(start.div_euclid(res) - base) as usize].absorb(b);
        }
        (self.res, self.base, self.buckets) = (res, base, out);
    }

    /// The buckets of `[end - span, end)` summed into at most `columns` columns of equal width (a whole number of
    /// buckets each), oldest first, with each column's start second; the width in seconds is returned too.
    pub fn columns(&self, end: i64, span: i64, columns: usize) -> (i64, Vec<(i64, Bucket)>) {
        let width = column_width(span, columns, self.res);
        let n = ceil_div(span, width).max(1);
        // align column edges to the buckets so none is split between two columns
        let end = ceil_div(end, self.res) * self.res;
        (width, sum_columns(self.buckets(), end - n * width, width, n as usize))
    }

    /// Every bucket of `[from, end)` summed into one.
    pub fn total(&self, from: i64, end: i64) -> Bucket {
        self.buckets().filter(|(s, _)| s + self.res > from && *s < end).map(|(_, b)| b).sum()
    }
}

/// The width of columns that fit `span` seconds in at most `columns` of them, each a whole number of `res`-second
/// buckets (so no bucket is split between two columns).
pub fn column_width(span: i64, columns: usize, res: i64) -> i64 {
    let res = res.max(1);
    ceil_div(ceil_div(span, columns.max(1) as i64).max(1), res) * res
}

/// `buckets` summed into `n` columns of `width` seconds from second `start` (by each bucket's start).
pub fn sum_columns<'a>(
    buckets: impl Iterator<Item = (i64, &'a Bucket)>,
    start: i64,
    width: i64,
    n: usize,
) -> Vec<(i64, Bucket)> {
    let end = start + n as i64 * width;
    let mut out: Vec<(i64, Bucket)> = (0..n as i64).map(|i| (start + i * width, Bucket::default())).collect();
    for (s, b) in buckets {
        if s >= start && s < end {
            out[((s - start) / width) as usize].1.absorb(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(sec: i64, status: u16, ms: u64) -> Point {
        Point {
            unix_us: sec * 1_000_000 + 250_000,
            status: Some(status),
            latency_us: Some(ms * 1000),
            ..Point::default()
        }
    }

    #[test]
    fn out_of_order_lines_land_in_their_second() {
        let mut s = Series::new(Keep::All, 100, &[]);
        for (sec, st) in [(10, 200), (12, 502), (11, 504), (9, 429), (12, 200)] {
            s.add(at(sec, st, 5));
        }
        let got: Vec<_> = s.buckets().map(|(t, b)| (t, b.requests(), b.top_codes())).collect();
        assert_eq!(
            got,
            vec![
                (9, 1, vec![(429, 1)]),
                (10, 1, vec![(200, 1)]),
                (11, 1, vec![(504, 1)]),
                (12, 2, vec![(200, 1), (502, 1)])
            ]
        );
    }

    #[test]
    fn all_coarsens_and_keeps_every_count() {
        let mut s = Series::new(Keep::All, 64, &[]);
        for sec in 0..1000 {
            s.add(at(1_700_000_000 + sec, if sec % 10 == 0 { 500 } else { 200 }, 1));
        }
        assert!(s.buckets().count() <= 64);
        assert_eq!(s.resolution(), 20);
        let t = s.total(i64::MIN, i64::MAX);
        assert_eq!((t.requests(), t.classes[5], t.classes[2]), (1000, 100, 900));
    }

    #[test]
    fn recent_slides_and_drops_what_is_too_old() {
        let mut s = Series::new(Keep::Recent, 60, &[]);
        for sec in 0..200 {
            s.add(at(sec, 200, 1));
        }
        assert_eq!(s.span(), Some((140, 200)));
        s.add(at(100, 500, 1)); // too old
        s.add(at(150, 500, 1)); // late but kept
        assert_eq!(s.dropped, 1);
        assert_eq!(s.total(150, 151).classes[5], 1);
    }

    #[test]
    fn garbage_timestamps_do_not_stretch_the_series() {
        let mut s = Series::new(Keep::All, 64, &[]);
        s.add(at(1_700_000_000, 200, 1));
        s.add(at(0, 200, 1));
        s.add(at(1_700_000_001, 200, 1));
        assert_eq!((s.dropped, s.resolution()), (1, 1));
    }

    #[test]
    fn columns_sum_their_buckets() {
        let mut s = Series::new(Keep::Recent, 3600, &[]);
        for sec in 0..300 {
            for _ in 0..(sec % 3) {
                s.add(at(sec, 503, 1));
            }
        }
        let (width, cols) = s.columns(300, 300, 100);
        assert_eq!((width, cols.len()), (3, 100));
        assert!(cols.iter().all(|(_, b)| b.classes[5] == 3));
        assert_eq!(cols[0].0, 0);
        // wider than the data: empty columns before it
        let (width, cols) = s.columns(300, 600, 10);
        assert_eq!((width, cols.len()), (60, 10));
        assert_eq!(cols.iter().map(|(_, b)| b.requests()).sum::<u64>(), 300);
        assert_eq!(cols[4].1.requests(), 0);
    }

    #[test]
    fn thresholds_are_exact() {
        let mut s = Series::new(Keep::Recent, 60, &[2_000_000]);
        for ms in [1999, 2000, 2001, 5000] {
            s.add(at(5, 200, ms));
        }
        assert_eq!(s.total(0, 10).above[0], 2);
    }

    #[test]
    fn a_single_value_is_its_own_quantile_within_its_bin() {
        // the case proptest once shrank to: one record of 1 ms, q = 0.01
        let mut s = Series::new(Keep::Recent, 60, &[]);
        s.add(at(1, 200, 1));
        let got = s.total(0, 2).quantile_us(0.01).unwrap();
        assert!((got as f64 - 1000.0).abs() <= 130.0, "{got}");
    }

    proptest! {
        #[test]
        fn quantiles_within_bin_error(mut ms in proptest::collection::vec(1u64..100_000, 1..300), q in 0.01f64..1.0) {
            let mut s = Series::new(Keep::Recent, 60, &[]);
            for &m in &ms {
                s.add(at(1, 200, m));
            }
            ms.sort_unstable();
            let exact = ms[((q * ms.len() as f64).ceil() as usize).max(1) - 1] * 1000;
            let got = s.total(0, 2).quantile_us(q).unwrap();
            prop_assert!((got as f64 - exact as f64).abs() <= exact as f64 * 0.13, "exact {exact} got {got}");
        }

        #[test]
        fn merged_halves_equal_the_whole(secs in proptest::collection::vec(0i64..5000, 1..300)) {
            let (mut a, mut b, mut all) = (Series::new(Keep::All, 50, &[]), Series::new(Keep::All, 50, &[]), Series::new(Keep::All, 50, &[]));
            for (i, &sec) in secs.iter().enumerate() {
                let p = at(sec, 200 + (i % 4) as u16 * 100, 3);
                if i % 2 == 0 { a.add(p); } else { b.add(p); }
                all.add(p);
            }
            a.merge(&b);
            let t = |s: &Series| { let b = s.total(i64::MIN, i64::MAX); (b.requests(), b.classes, b.top_codes()) };
            prop_assert_eq!(t(&a), t(&all));
            let per_minute = |s: &Series| s.columns(6000, 6000, 100).1.iter().map(|(_, b)| b.requests()).collect::<Vec<_>>();
            prop_assert_eq!(per_minute(&a), per_minute(&all));
        }
    }
}
