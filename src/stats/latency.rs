//! A fixed log-scale latency histogram: constant memory, O(1) insert, mergeable, ~3% relative error.

/// Values below this are counted exactly (microseconds).
const LINEAR: u64 = 64;
/// Sub-buckets per power of two above `LINEAR`.
const SUB: u64 = 32;
/// Bucket count covering the whole `u64` range.
const BUCKETS: usize = (LINEAR + (64 - 6) * SUB) as usize;

/// `q`'s nearest rank among `n` values (1-based), robust to `q × n` landing a hair above a whole number in
/// floating point (`0.999 × 1000`).
pub fn rank(q: f64, n: u64) -> u64 {
    ((q.clamp(0.0, 1.0) * n as f64 - 1e-9).ceil() as u64).clamp(1, n.max(1))
}

/// A histogram of durations in microseconds.
#[derive(Clone)]
pub struct LatencyHistogram {
    counts: Box<[u32; BUCKETS]>,
    total: u64,
    max: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram { counts: Box::new([0; BUCKETS]), total: 0, max: 0 }
    }
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram").field("total", &self.total).field("max", &self.max).finish()
    }
}

fn index(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let e = 63 - v.leading_zeros() as u64; // >= 6
    let shift = e - 5;
    (LINEAR + (e - 6) * SUB + ((v >> shift) - SUB)) as usize
}

/// The middle of bucket `i`, the value reported for a quantile that falls in it.
fn value(i: usize) -> u64 {
    let i = i as u64;
    if i < LINEAR {
        return i;
    }
    let e = (i - LINEAR) / SUB + 6;
    let shift = e - 5;
    let low = (SUB + (i - LINEAR) % SUB) << shift;
    low + (1u64 << shift) / 2
}

impl LatencyHistogram {
    /// Count one duration.
    #[inline]
    pub fn record(&mut self, us: u64) {
        let i = index(us);
        self.counts[i] = self.counts[i].saturating_add(1);
        self.total += 1;
        self.max = self.max.max(us);
    }

    /// Add another histogram's counts.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a = a.saturating_add(*b);
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// How many durations were counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest duration counted (exact).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The duration at quantile `q` (0..=1), in microseconds; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = rank(q, self.total);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c as u64;
            if seen >= rank {
                return Some(value(i).min(self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_below_linear_range() {
        let mut h = LatencyHistogram::default();
        for v in 0..50 {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), Some(24));
        assert_eq!(h.quantile(1.0), Some(49));
    }

    #[test]
    fn empty_has_no_quantiles() {
        assert_eq!(LatencyHistogram::default().quantile(0.5), None);
    }

    proptest! {
        #[test]
        fn quantiles_within_relative_error(mut values in proptest::collection::vec(0u64..10_000_000_000, 1..400), q in 0.0f64..1.0) {
            let mut h = LatencyHistogram::default();
            for &v in &values {
                h.record(v);
            }
            values.sort_unstable();
            let rank = ((q * values.len() as f64).ceil() as usize).max(1);
            let exact = values[rank - 1];
            let got = h.quantile(q).unwrap();
            let err = (got as f64 - exact as f64).abs();
            prop_assert!(err <= exact as f64 / 32.0 + 1.0, "q={q} exact={exact} got={got}");
        }

        #[test]
        fn merge_equals_recording_all(a in proptest::collection::vec(0u64..1_000_000, 0..100), b in proptest::collection::vec(0u64..1_000_000, 0..100)) {
            let (mut ha, mut hb, mut hall) = (LatencyHistogram::default(), LatencyHistogram::default(), LatencyHistogram::default());
            a.iter().for_each(|&v| { ha.record(v); hall.record(v) });
            b.iter().for_each(|&v| { hb.record(v); hall.record(v) });
            ha.merge(&hb);
            for q in [0.5, 0.95, 0.99] {
                prop_assert_eq!(ha.quantile(q), hall.quantile(q));
            }
        }
    }
}
