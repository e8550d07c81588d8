//! What the console holds: each source's lines, append-only, with compact parsed columns.

pub mod backed;
pub mod lines;
mod spill;

pub use backed::{Backing, LineText, hash as chunk_hash};
pub use lines::{Fields, LineMeta, LineStore};

/// The size of the chunks a store's text is kept in (a longer line is a chunk of its own).
pub const CHUNK_BYTES: usize = spill::Sizes::DEFAULT.chunk;
