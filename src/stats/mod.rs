//! Mergeable statistics over records: latency histograms, id keys, and per-source tallies.

pub mod keyed;
pub mod keys;
pub mod latency;
pub mod runs;
pub mod tally;
pub mod timeline;
