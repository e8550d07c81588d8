//! What the console holds: each source's lines, append-only, with compact parsed columns.

pub mod lines;
mod spill;

pub use lines::{Fields, LineMeta, LineStore};
