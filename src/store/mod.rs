//! What the console holds: each source's lines, append-only, with compact parsed columns.

pub mod lines;

pub use lines::{LineMeta, LineStore};
